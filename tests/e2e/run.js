// SPDX-License-Identifier: MIT
// Runs the e2e test files one after another with node's built-in runner (each file starts its
// own rtkd servers). Arguments, if any, pick test files by substring: `npm test -- meetings`.

import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.join(here, 'test');
const wanted = process.argv.slice(2);
const files = readdirSync(dir)
    .filter((f) => f.endsWith('.test.js'))
    .filter((f) => wanted.length === 0 || wanted.some((w) => f.includes(w)))
    .sort()
    .map((f) => path.join('test', f));
if (files.length === 0) {
    console.error(`no test files match ${wanted.join(' ')}`);
    process.exit(2);
}

/* --test-concurrency exists from node 20.10 / 21; older runners get one process per file. */
const [major, minor] = process.versions.node.split('.').map(Number);
const hasConcurrency = major > 20 || (major === 20 && minor >= 10);
const runs = hasConcurrency
    ? [['--test', '--test-reporter=spec', '--test-concurrency=1', ...files]]
    : files.map((f) => ['--test', '--test-reporter=spec', f]);

let failed = false;
for (const args of runs) {
    const r = spawnSync(process.execPath, args, { cwd: here, stdio: 'inherit' });
    if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
