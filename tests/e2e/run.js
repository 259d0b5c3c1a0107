// SPDX-License-Identifier: MIT
// Runs the e2e test files one after another with node's built-in runner (each file starts its
// own rtkd servers). Arguments, if any, pick test files by substring: `npm test -- meetings`.
// With RTKD_E2E_STORE=postgres the whole run goes to a PostgreSQL server that this script
// starts for it (tests/support/pgtmp.sh: initdb in a temporary folder, a free loopback port)
// and stops afterwards, whatever happens; every data folder then gets a database of its own
// (lib/rtkd.js).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmdirSync } from 'node:fs';
import os from 'node:os';
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

const env = { ...process.env };
let pgDir = null;
const pgtmp = path.join(here, '..', 'support', 'pgtmp.sh');
function stopPg() {
    if (!pgDir) return;
    spawnSync(pgtmp, ['stop', pgDir], { stdio: 'inherit' });
    pgDir = null;
}
if (process.env.RTKD_E2E_STORE === 'postgres') {
    pgDir = mkdtempSync(path.join(os.tmpdir(), 'rtkd-e2e-pg-'));
    rmdirSync(pgDir); /* pgtmp.sh makes it, owned by the postgres user */
    const r = spawnSync(pgtmp, ['start', pgDir], { encoding: 'utf8' });
    if (r.status !== 0) {
        console.error(`run.js: could not start PostgreSQL: ${r.stderr}`);
        stopPg();
        process.exit(1);
    }
    env.RTKD_E2E_PG = r.stdout.trim();
    env.RTKD_E2E_PG_DIR = pgDir;
    console.log(`run.js: the suite runs on PostgreSQL at ${env.RTKD_E2E_PG}`);
    for (const sig of ['SIGINT', 'SIGTERM']) {
        process.on(sig, () => {
            stopPg();
            process.exit(1);
        });
    }
}

let failed = false;
try {
    for (const args of runs) {
        const r = spawnSync(process.execPath, args, { cwd: here, stdio: 'inherit', env });
        if (r.status !== 0) failed = true;
    }
} finally {
    stopPg();
}
process.exit(failed ? 1 : 0);
