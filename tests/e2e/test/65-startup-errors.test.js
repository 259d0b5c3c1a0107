// SPDX-License-Identifier: MIT
// Start-up errors (issue 6 part 5): a data folder the server cannot use — a regular file, a
// path under a file, a store that is a folder or not a database, a signing key that is a
// folder, a read-only folder (a read-only bind mount: chmod does not stop root), a full disk
// (a small tmpfs) — and a listen address already in use each give a clear "rtkd: …" error on
// stderr and a non-zero exit, not a crash and not a sanitizer report. Started on a full disk
// with its data already there, the server may either refuse (as above) or serve. When the disk
// fills up while it serves, reads still work, writes fail with 503 in the JSON envelope, no
// reply promises what was not stored (a `poll.voted` means the vote survives a restart), and it
// recovers when space returns. The mount cases need root and mount(2); where that is not
// allowed they are skipped, saying why.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, writeFile, rm, open } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after } from 'node:test';
import {
    test, start, tempDir, createAccount, createToken, http, RTKD_BIN,
    sqliteOnly,
} from '../lib/rtkd.js';
import { connect } from '../lib/peer.js';
import {
    run, CRASH_MARKS, canMount, mountTmpfsAt, fillDisk as fill,
} from '../lib/hardening.js';

sqliteOnly('a data folder the server cannot use is a SQLite store it cannot use');

const EXIT_WAIT_MS = 15000;
const cleanups = [];
const servers = [];

/* start() that remembers the server, so a failed test cannot leave it running (a live child
 * would keep node from exiting). */
async function startKept(opts) {
    const s = await start(opts);
    servers.push(s);
    return s;
}

after(async () => {
    for (const s of servers) if (!s.stopped) await s.kill();
    for (const fn of cleanups.reverse()) await fn().catch(() => {});
});

function childEnv() {
    const env = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('RTKD_')) env[k] = v;
    return env;
}

/**
 * Runs `rtkd serve ARGS` and waits until it exits or prints its listening line. Resolves
 * {started, code, signal, stdout, stderr}; a server that started is stopped (SIGTERM).
 */
function serveOutcome(args) {
    return new Promise((resolve) => {
        const child = spawn(RTKD_BIN, ['serve', ...args], { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        let started = false;
        child.stdout.on('data', (d) => {
            stdout += d;
            if (!started && /listening on/.test(stdout)) {
                started = true;
                child.kill('SIGTERM');
            }
        });
        child.stderr.on('data', (d) => { stderr += d; });
        const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_WAIT_MS);
        child.on('exit', (code, signal) => {
            clearTimeout(timer);
            resolve({ started, code, signal, stdout, stderr });
        });
    });
}

/* Asserts a refusal to start: non-zero exit (not a signal), an "rtkd: …" line matching WHAT on
 * stderr, and no crash or sanitizer report. */
function assertCleanFailure(r, what, mention, t) {
    const ctx = `${what}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
    assert.equal(r.started, false, `${what}: the server started: ${ctx}`);
    assert.equal(r.signal, null, `${what}: died of ${r.signal}: ${ctx}`);
    assert.ok(typeof r.code === 'number' && r.code !== 0, `${what}: exit code ${r.code}: ${ctx}`);
    assert.doesNotMatch(r.stderr, CRASH_MARKS, `${what}: a crash or sanitizer report: ${ctx}`);
    assert.match(r.stderr, /^rtkd: \S.*/m, `${what}: no "rtkd: …" error line: ${ctx}`);
    if (mention) assert.match(r.stderr, mention, `${what}: the error does not say what is wrong: ${ctx}`);
    t?.diagnostic(`${what}: exit ${r.code}: ${r.stderr.trim().split('\n').join(' | ')}`);
}

const serve = (dataDir) => ['--listen', '127.0.0.1:0', '--data', dataDir];

test('--data naming a regular file → clear error, non-zero exit', async (t) => {
    const dir = await tempDir('rtkd-e2e-start-');
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'a-file');
    await writeFile(file, 'not a folder');
    assertCleanFailure(await serveOutcome(serve(file)), 'data is a file', /a-file/, t);
    const under = path.join(file, 'data');
    assertCleanFailure(await serveOutcome(serve(under)), 'data under a file', /a-file/, t);
    const deep = path.join(dir, 'missing', 'deeper', 'data');
    assertCleanFailure(await serveOutcome(serve(deep)), 'data under a missing folder', /missing/, t);
});

test('a store that is a folder, or not a database; a signing key that is a folder → clear ' +
    'error, non-zero exit', async (t) => {
    const dir = await tempDir('rtkd-e2e-start-');
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const a = path.join(dir, 'db-is-dir');
    await mkdir(path.join(a, 'rtkd.db'), { recursive: true });
    assertCleanFailure(await serveOutcome(serve(a)), 'rtkd.db is a folder', /rtkd\.db|store/, t);

    const b = path.join(dir, 'db-is-junk');
    await mkdir(b);
    await writeFile(path.join(b, 'rtkd.db'), Buffer.alloc(8192, 0x5a));
    assertCleanFailure(await serveOutcome(serve(b)), 'rtkd.db is not a database', /rtkd\.db|store|database/, t);

    const c = path.join(dir, 'key-is-dir');
    await mkdir(c);
    await createAccount(c, 'k'); /* a valid store */
    await mkdir(path.join(c, 'signing.key'));
    assertCleanFailure(await serveOutcome(serve(c)), 'signing.key is a folder', /signing\.key/, t);

    const d = path.join(dir, 'key-short');
    await mkdir(d);
    await createAccount(d, 'k');
    await writeFile(path.join(d, 'signing.key'), Buffer.alloc(7));
    assertCleanFailure(await serveOutcome(serve(d)), 'signing.key is truncated', /signing\.key/, t);
});

test('the listen address already in use → clear error, non-zero exit, no leak report', async (t) => {
    const dir = await tempDir('rtkd-e2e-start-');
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const blocker = net.createServer();
    await new Promise((r) => blocker.listen(0, '127.0.0.1', r));
    const { port } = blocker.address();
    try {
        const r = await serveOutcome(['--listen', `127.0.0.1:${port}`, '--data', dir]);
        assertCleanFailure(r, 'port in use', /listen|in use/i, t);
    } finally {
        blocker.close();
    }
});

/* ---- mounts ---- */

async function mountTmpfs(dir, size) {
    cleanups.push(await mountTmpfsAt(dir, size));
}

async function bindReadOnly(src, dst) {
    let r = await run('mount', ['--bind', src, dst]);
    assert.equal(r.code, 0, `bind mount: ${r.stderr}`);
    cleanups.push(async () => { await run('umount', ['-l', dst]); });
    r = await run('mount', ['-o', 'remount,bind,ro', dst]);
    assert.equal(r.code, 0, `read-only remount: ${r.stderr}`);
}


test('a read-only data folder (fresh, and with an existing store) → clear error, non-zero exit',
    async (t) => {
        const m = await canMount();
        if (!m.ok) {
            t.skip(m.why);
            return;
        }
        const dir = await tempDir('rtkd-e2e-ro-');
        cleanups.push(() => rm(dir, { recursive: true, force: true }));
        /* fresh: an empty folder */
        const emptySrc = path.join(dir, 'empty-src');
        const empty = path.join(dir, 'empty');
        await mkdir(emptySrc);
        await mkdir(empty);
        await bindReadOnly(emptySrc, empty);
        await assert.rejects(writeFile(path.join(empty, 'probe'), 'x'), /EROFS/, 'the mount is read-only');
        assertCleanFailure(await serveOutcome(serve(empty)), 'a fresh read-only folder',
            /read-only|rtkd\.db|store|signing\.key|data/i, t);

        /* existing: a store a server has used, then made read-only */
        const usedSrc = path.join(dir, 'used-src');
        const used = path.join(dir, 'used');
        await mkdir(usedSrc);
        await mkdir(used);
        const acct = await createAccount(usedSrc, 'ro');
        await createToken(usedSrc, acct, 'ro');
        const s = await startKept({ dataDir: usedSrc });
        await s.stop({ keepData: true });
        await bindReadOnly(usedSrc, used);
        assertCleanFailure(await serveOutcome(serve(used)), 'an existing store, read-only',
            /read-only|rtkd\.db|store|data/i, t);
    });

test('a full disk with a fresh data folder → clear error, non-zero exit', async (t) => {
    const m = await canMount();
    if (!m.ok) {
        t.skip(m.why);
        return;
    }
    const dir = await tempDir('rtkd-e2e-full-');
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await mountTmpfs(dir, '256k');
    const data = path.join(dir, 'data');
    await mkdir(data);
    await fill(path.join(dir, 'filler'));
    assertCleanFailure(await serveOutcome(serve(data)), 'a full disk, fresh folder',
        /space|full|rtkd\.db|store|signing\.key/i, t);
    /* Also when only the folder has to be created. */
    assertCleanFailure(await serveOutcome(serve(path.join(dir, 'new'))), 'a full disk, no folder yet',
        /space|full|new|store/i, t);
});

test('a full disk under an existing store: refuse to start cleanly, or serve reads, answer ' +
    'writes 503 JSON and recover when space returns — never crash', async (t) => {
    const m = await canMount();
    if (!m.ok) {
        t.skip(m.why);
        return;
    }
    const dir = await tempDir('rtkd-e2e-full-');
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await mountTmpfs(dir, '8m');
    const data = path.join(dir, 'data');
    await mkdir(data);
    const accountId = await createAccount(data, 'full');
    const token = await createToken(data, accountId, 'full');
    let s = await startKept({ dataDir: data });
    const cf = s.client(token);
    const appId = (await cf.realtimeKit.apps.post({ account_id: accountId, name: 'full' })).data.app.id;
    const P = `/accounts/${accountId}/realtime/kit/${appId}`;
    const m1 = (await http(s, 'POST', `${P}/meetings`, { token, body: { title: 'before' } })).json.data;
    await s.stop({ keepData: true });

    const filler = path.join(dir, 'filler');
    await fill(filler);
    const child = spawn(RTKD_BIN, ['serve', ...serve(data)],
        { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
    const first = await Promise.race([
        exited.then((e) => ({ exited: e })),
        new Promise((r) => {
            const iv = setInterval(() => {
                const mm = out.match(/listening on (http:\/\/127\.0\.0\.1:(\d+))/);
                if (mm) {
                    clearInterval(iv);
                    r({ port: Number(mm[2]), rootURL: mm[1] });
                }
            }, 20);
            exited.then(() => clearInterval(iv));
        }),
    ]);
    if (first.exited) {
        t.diagnostic('the server refused to start on a full disk');
        assertCleanFailure({ started: false, ...first.exited, stdout: out, stderr: err },
            'an existing store on a full disk', /space|full|rtkd\.db|store/i, t);
        return;
    }
    t.diagnostic('the server started on a full disk');
    try {
        const srv = { rootURL: first.rootURL, baseURL: `${first.rootURL}/client/v4` };
        const got = await http(srv, 'GET', `${P}/meetings/${m1.id}`, { token });
        assert.equal(got.status, 200, `a read on a full disk: ${got.status} ${got.text}`);
        let refused = 0;
        for (let i = 0; i < 20; i++) {
            const w = await http(srv, 'POST', `${P}/meetings`, { token, body: { title: `full ${i}`, pad: 'x'.repeat(20000) } });
            assert.ok(w.status === 201 || w.status === 503,
                `a write on a full disk: ${w.status} ${w.text}`);
            if (w.status !== 201) {
                refused += 1;
                assert.equal(w.json?.success, false, `a refused write: ${w.text}`);
                assert.equal(w.json.error.code, w.status);
            }
        }
        assert.ok(refused > 0, 'no write failed although the disk is full');
        assert.equal((await http(srv, 'GET', '/healthz', { root: true })).status, 200);
        assert.equal(child.exitCode, null, `the server exited: ${err}`);
        /* Space returns: writes work again. */
        await rm(filler);
        const w = await http(srv, 'POST', `${P}/meetings`, { token, body: { title: 'after' } });
        assert.equal(w.status, 201, `a write once space returned: ${w.status} ${w.text}`);
    } finally {
        if (child.exitCode === null) child.kill('SIGTERM');
        const e = await exited;
        assert.deepEqual(e, { code: 0, signal: null }, `exit after SIGTERM\n--- stderr ---\n${err}`);
        assert.doesNotMatch(err, CRASH_MARKS, `a crash or sanitizer report:\n${err}`);
    }
    /* Everything written is there after a restart. */
    await rm(filler, { force: true });
    s = await startKept({ dataDir: data });
    const back = await http(s, 'GET', `${P}/meetings/${m1.id}`, { token });
    assert.equal(back.status, 200);
    await s.stop({ keepData: true });
});

test('the disk fills up while serving: reads still work, writes fail with 500 JSON (nothing ' +
    'acknowledged is lost), the server stays up and recovers when space returns', async (t) => {
    const m = await canMount();
    if (!m.ok) {
        t.skip(m.why);
        return;
    }
    const dir = await tempDir('rtkd-e2e-full-');
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await mountTmpfs(dir, '8m');
    const data = path.join(dir, 'data');
    await mkdir(data);
    const accountId = await createAccount(data, 'full');
    const token = await createToken(data, accountId, 'full');
    let s = await startKept({ dataDir: data });
    const api = (method, p, body) => http(s, method, `${P}${p}`, { token, body });
    const appId = (await s.client(token).realtimeKit.apps.post({ account_id: accountId, name: 'full' }))
        .data.app.id;
    const P = `/accounts/${accountId}/realtime/kit/${appId}`;
    const meeting = (await api('POST', '/meetings', { title: 'before' })).json.data;
    const voter = (await api('POST', `/meetings/${meeting.id}/participants`,
        { custom_participant_id: 'v', preset_name: 'group_call_participant' })).json.data;
    const peer = await connect(s, voter.token, { label: 'voter' });
    const poll = (await api('POST', `/meetings/${meeting.id}/active-session/poll`,
        { question: 'full?', options: ['a', 'b'] })).json.data.poll;

    const filler = path.join(dir, 'filler');
    await fill(filler);
    const acked = [];
    const got = await api('GET', `/meetings/${meeting.id}`);
    assert.equal(got.status, 200, `a read on a full disk: ${got.status} ${got.text}`);
    let refused = 0;
    for (let i = 0; i < 30; i++) {
        const w = await api('POST', '/meetings', { title: `full ${i}`, ai_config: { pad: 'x'.repeat(30000) } });
        assert.ok([201, 503].includes(w.status), `a write on a full disk: ${w.status} ${w.text}`);
        assert.equal(typeof w.json, 'object', `not JSON: ${w.text}`);
        if (w.status === 201) acked.push(w.json.data.id);
        else {
            refused += 1;
            assert.equal(w.json.success, false, w.text);
            assert.equal(w.json.error.code, w.status, w.text);
        }
    }
    t.diagnostic(`on a full disk: ${refused} of 30 writes refused, ${acked.length} acknowledged`);
    assert.ok(refused > 0, 'no write failed although the disk is full');
    /* A vote on a full disk: acknowledged only if stored (checked after the restart). */
    peer.send({ type: 'poll.vote', poll_id: poll.id, option: 1, ref: 'full-vote' });
    const reply = await peer.next((e) => e.ref === 'full-vote', 5000).catch((e) => ({ type: 'none', e }));
    t.diagnostic(`a vote on a full disk got: ${JSON.stringify(reply).slice(0, 200)}`);
    assert.equal((await http(s, 'GET', '/healthz', { root: true })).status, 200);
    assert.equal(s.child.exitCode, null, 'the server is still running');
    await peer.ping();

    /* Space returns: writes work again. */
    await rm(filler);
    const w = await api('POST', '/meetings', { title: 'after' });
    assert.equal(w.status, 201, `a write once space returned: ${w.status} ${w.text}`);
    acked.push(w.json.data.id);
    peer.terminate();
    await s.stop({ keepData: true });
    assert.doesNotMatch(s.stderr(), CRASH_MARKS, 'a crash or sanitizer report');

    s = await startKept({ dataDir: data });
    for (const id of [meeting.id, ...acked]) {
        const r = await api('GET', `/meetings/${id}`);
        assert.equal(r.status, 200, `acknowledged meeting ${id} lost: ${r.status}`);
    }
    if (reply.type === 'poll.voted') {
        const r = await api('GET', `/meetings/${meeting.id}/active-session/polls/${poll.id}`);
        assert.deepEqual(r.json?.data?.poll?.voted, [voter.id], `an acknowledged vote was lost: ${r.text}`);
    }
    await s.stop({ keepData: true });
});
