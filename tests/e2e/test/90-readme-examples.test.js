// SPDX-License-Identifier: MIT
// The README's worked examples run as written (issue 17, item 4). The curl block is taken out
// of README.md itself and run by bash in a shell that has only the `export` line a --dev
// server prints; when it stops to let the reader open Ann's join link, a real peer joins with
// that link's token and the test presses Enter. examples/quickstart.mjs runs the same way, and
// through scripts/example.sh (`make example`).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after } from 'node:test';
import { test, start, REPO, RTKD_BIN, UUID_V4 } from '../lib/rtkd.js';
import { connect } from '../lib/peer.js';

const children = new Set();
const servers = new Set(); /* every server started, stopped at the end even if a test failed */
let srv;
after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const s of servers) await s.stop();
});

/* Runs CMD ARGS; onOut(text so far, child) sees stdout as it grows. Resolves {code, out, err}. */
function run(cmd, args, { env = process.env, cwd = REPO, onOut, ms = 60000 } = {}) {
    return new Promise((resolve) => {
        const child = spawn(cmd, args, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
        children.add(child);
        let out = '';
        let err = '';
        const timer = setTimeout(() => child.kill('SIGKILL'), ms);
        child.stdout.setEncoding('utf8');
        child.stderr.setEncoding('utf8');
        child.stdout.on('data', (d) => { out += d; if (onOut) onOut(out, child); });
        child.stderr.on('data', (d) => { err += d; });
        child.once('close', (code, signal) => {
            clearTimeout(timer);
            children.delete(child);
            resolve({ code, signal, out, err });
        });
    });
}

/* The ```sh block under "### With curl" in README.md. */
async function readmeCurlBlock() {
    const md = await readFile(path.join(REPO, 'README.md'), 'utf8');
    const m = md.match(/^### With curl\n[\s\S]*?^```sh\n([\s\S]*?)^```$/m);
    assert.ok(m, 'README.md has no ```sh block under "### With curl"');
    return m[1];
}

/* The environment a newcomer has: ours (PATH for node, curl, jq) without RTKD_*, plus the
 * export line the server printed. */
async function devServer() {
    srv = await start({ dev: true });
    servers.add(srv);
    const line = srv.stdout().split('\n').find((l) => l.startsWith('export ACCOUNT='));
    assert.ok(line, `no export line in stdout:\n${srv.stdout()}`);
    assert.match(line, /^export ACCOUNT=[0-9a-f]{32} APP=\S+ TOKEN=rtk_\S+ BASE='http:\/\/127\.0\.0\.1:\d+\/client\/v4'$/);
    assert.ok(line.includes(`:${srv.port}/`), 'the export line uses the port the server was given');
    return line;
}

test('the README curl block runs as written from the export line', { timeout: 120000 }, async () => {
    const exportLine = await devServer();
    const block = await readmeCurlBlock();
    assert.ok(!/8080/.test(block), 'the curl block hard-codes a port');
    let peer = null;
    let joining = null;
    const r = await run('bash', ['-c', `set -euo pipefail\n${exportLine}\n${block}`], {
        onOut: (out, child) => {
            const m = out.match(/Ann's join link: (\S+)\n/);
            if (!m || joining) return;
            const token = new URL(m[1]).searchParams.get('token');
            joining = connect(srv, token, { label: 'ann' }).then((p) => {
                peer = p;
                child.stdin.write('\n'); /* "then press Enter" */
            });
        },
    });
    await joining;
    assert.equal(r.code, 0, `the curl block failed (${r.code}):\n${r.out}\n${r.err}`);
    const lines = r.out.trim().split('\n');
    assert.match(lines[0], /^No active session found/);
    assert.match(lines[1], /^Ann's join link: http:\/\/127\.0\.0\.1:\d+\/join\?token=ey/);
    assert.deepEqual(lines.slice(2, 3), ['1'], r.out);
    assert.match(lines[3], UUID_V4, `poll id: ${r.out}`);
    assert.equal(lines[4], 'true', r.out);
    assert.equal(lines.length, 5, r.out);
    /* Ann saw the poll, then the kick-all. */
    const created = await peer.next('poll.created');
    assert.equal(created.poll.question, 'Lunch?');
    const closed = await peer.closed();
    assert.equal(closed.code, 4001);
    await srv.stop();
    srv = null;
});

test('examples/quickstart.mjs runs from the export line and exits 0', { timeout: 120000 }, async () => {
    const exportLine = await devServer();
    const r = await run('bash', ['-c', `${exportLine}\nexec node quickstart.mjs`],
        { cwd: path.join(REPO, 'examples') });
    assert.equal(r.code, 0, `quickstart.mjs failed (${r.code}):\n${r.out}\n${r.err}`);
    assert.match(r.out, /^meeting [0-9a-f-]{36} created\nAnn joined\nlive participants: 1\n/);
    assert.match(r.out, /Ann was kicked \(close code 4001\)\n$/);
    await srv.stop();
    srv = null;
});

test('make example\'s script starts a server, runs quickstart.mjs and cleans up', { timeout: 120000 },
    async () => {
        const r = await run(path.join(REPO, 'scripts', 'example.sh'), [],
            { env: { ...process.env, RTKD_BIN } });
        assert.equal(r.code, 0, `scripts/example.sh failed (${r.code}):\n${r.out}\n${r.err}`);
        assert.match(r.out, /Ann was kicked \(close code 4001\)/);
    });
