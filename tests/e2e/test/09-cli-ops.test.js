// SPDX-License-Identifier: MIT
// Command-line gaps found by trying rtkd as a new operator (issue 17, items 3 and 6): every
// command's --help, --listen by name and on IPv6, and --log-format json.

import assert from 'node:assert/strict';
import { test, start, tempDir, cli, http } from '../lib/rtkd.js';
import { rm } from 'node:fs/promises';

test('serve, account and token --help print that command\'s usage on stdout and exit 0',
    async () => {
        for (const [args, words] of [
            [['serve', '--help'], ['rtkd serve', '--listen', '--log-format', 'RTKD_LISTEN']],
            [['serve', '-h'], ['rtkd serve']],
            [['account', '--help'], ['rtkd account create', '--name']],
            [['account', 'create', '--help'], ['rtkd account create']],
            [['token', '--help'], ['rtkd token create', 'rtkd token revoke', '--id']],
            [['token', 'list', '--help'], ['rtkd token list']],
        ]) {
            const r = await cli(args);
            const what = `rtkd ${args.join(' ')}`;
            assert.equal(r.code, 0, `${what} exited ${r.code}: ${r.stderr}`);
            assert.equal(r.stderr, '', `${what} wrote on stderr`);
            for (const w of words) assert.ok(r.stdout.includes(w), `${what} lacks ${w}:\n${r.stdout}`);
        }
        /* One command's usage, not the others'. */
        assert.ok(!(await cli(['serve', '--help'])).stdout.includes('token revoke'));
        assert.ok(!(await cli(['token', '--help'])).stdout.includes('--heartbeat-ms'));
    });

test('--listen localhost:0 resolves the name; an unknown name is a clear error', async () => {
    const dir = await tempDir();
    const srv = await start({ dataDir: dir, args: ['serve', '--listen', 'localhost:0', '--data', dir] });
    try {
        const r = await http(srv, 'GET', '/healthz', { root: true });
        assert.equal(r.status, 200);
    } finally {
        await srv.stop();
    }
    const bad = await cli(['serve', '--listen', 'no-such-host.invalid:0', '--data', dir]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /cannot resolve --listen host no-such-host\.invalid/);
    await rm(dir, { recursive: true, force: true });
});

test('--listen [::1]:0 serves on IPv6 and logs the client as ::1', async () => {
    const dir = await tempDir();
    const srv = await start({ dataDir: dir, args: ['serve', '--listen', '[::1]:0', '--data', dir] });
    try {
        assert.match(srv.rootURL, /^http:\/\/\[::1\]:\d+$/);
        const r = await http(srv, 'GET', '/healthz', { root: true });
        assert.equal(r.status, 200);
    } finally {
        await srv.stop();
        await rm(dir, { recursive: true, force: true });
    }
    /* Read after the stop: the log is written by then. */
    assert.match(srv.stderr(), /access ip=::1 method=GET path=\/healthz status=200/);
});

test('--log-format json: every stderr line is one JSON object; text stays the default',
    async () => {
        const dir = await tempDir();
        const srv = await start({ dataDir: dir,
            args: ['serve', '--listen', '127.0.0.1:0', '--data', dir, '--log-format', 'json'] });
        await http(srv, 'GET', '/healthz?token=secret', { root: true });
        await http(srv, 'GET', '/no/such/route', { root: true });
        await srv.stop();
        const lines = srv.stderr().split('\n').filter(Boolean);
        const objs = lines.map((l) => {
            try {
                return JSON.parse(l);
            } catch {
                assert.fail(`not a JSON line: ${l}`);
            }
            return null;
        });
        for (const o of objs) {
            assert.match(o.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
            assert.ok(['info', 'warn', 'error'].includes(o.level), JSON.stringify(o));
            assert.equal(typeof o.msg, 'string');
        }
        const access = objs.filter((o) => o.msg === 'access');
        assert.equal(access.length, 2, lines.join('\n'));
        assert.deepEqual(Object.keys(access[0]),
            ['time', 'level', 'msg', 'ip', 'method', 'path', 'status', 'bytes', 'ms']);
        assert.equal(access[0].path, '/healthz');
        assert.equal(access[0].status, 200);
        assert.equal(access[1].status, 404);
        assert.ok(!srv.stderr().includes('secret'), 'the query stays out of the log');
        assert.ok(objs.some((o) => o.msg === 'SIGTERM received, stopping'));
        assert.ok(objs.some((o) => o.msg === 'stopped'));

        const bad = await cli(['serve', '--log-format', 'xml', '--data', dir]);
        assert.equal(bad.code, 2);
        assert.match(bad.stderr, /--log-format takes text or json/);
        await rm(dir, { recursive: true, force: true });
    });
