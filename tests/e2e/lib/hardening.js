// SPDX-License-Identifier: MIT
// Helpers for the hardening matrices (issue 6, tests 60-69): a server fixture that takes extra
// serve flags, "bystanders" (a keep-alive HTTP client and a live peer connected before the bad
// input) whose check() proves the server still serves everyone else, raw HTTP exchanges with
// assertions on the JSON error envelope, a seeded random generator and SQLite integrity checks.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { copyFile, mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
    start, tempDir, createAccount, createToken, http, httpConn, rawExchange, parseResponses,
    assertRtkEnvelope,
} from './rtkd.js';
import { connect, RawPeer, WAIT_MS, WS_PATH } from './peer.js';

export { RawPeer };

/* Serve flags that turn every rate limit off (for tests that do many requests on purpose). */
export const NO_LIMITS = ['--api-rate-limit', '0', '--handshake-rate', '0', '--peer-msg-rate', '0'];

/**
 * A server with one account, API token and app, a meeting with one participant connected as
 * a live peer, and a keep-alive HTTP connection opened before any test runs.
 *
 * opts.args     extra `rtkd serve` flags (e.g. ['--api-rate-limit', '20'])
 * opts.dataDir  reuse this data folder (kept by stop())
 * opts.peer     false: no live bystander peer (default true)
 *
 * Returns f with: srv, dataDir, accountId, token, appId, cf (SDK client), P (path prefix
 * /accounts/A/realtime/kit/APP), meeting, participant, peer, check(what), stop(), and
 * api(method, path, opts) = http() with the token, relative to P.
 */
export async function hardFixture(opts = {}) {
    const ownDir = !opts.dataDir;
    const dataDir = opts.dataDir || await tempDir('rtkd-e2e-hard-');
    const accountId = await createAccount(dataDir, 'hard');
    const token = await createToken(dataDir, accountId, 'hard-token');
    const args = ['serve', '--listen', '127.0.0.1:0', '--data', dataDir, ...(opts.args || [])];
    const srv = await start({ dataDir, args });
    const f = { srv, dataDir, accountId, token, args };
    f.cf = srv.client(token);
    f.appId = (await f.cf.realtimeKit.apps.post({ account_id: accountId, name: 'hard-app' }))
        .data.app.id;
    f.P = `/accounts/${accountId}/realtime/kit/${f.appId}`;
    f.api = (method, p, o = {}) => http(f.srv, method, f.P + p, { token, ...o });
    f.meeting = (await f.cf.realtimeKit.meetings.create(f.appId,
        { account_id: accountId, title: 'bystanders' })).data;
    f.participant = async (meetingId, custom, extra = {}) =>
        (await f.cf.realtimeKit.meetings.addParticipant(meetingId, {
            account_id: accountId, app_id: f.appId, custom_participant_id: custom,
            preset_name: 'group_call_participant', name: custom, ...extra,
        })).data;
    f.newMeeting = async (body = {}) => (await f.cf.realtimeKit.meetings.create(f.appId,
        { account_id: accountId, title: 'm', ...body })).data;
    f.bystanderPart = await f.participant(f.meeting.id, 'bystander');
    if (opts.peer !== false) f.peer = await connect(srv, f.bystanderPart.token, { label: 'bystander' });
    f.conn = await httpConn(srv.port);
    f.check = (what) => checkBystanders(f, what);
    f.stop = async () => {
        if (f.peer && !f.peer.closeInfo) f.peer.terminate();
        f.conn.close();
        await f.srv.stop({ keepData: true });
        if (ownDir) await rm(dataDir, { recursive: true, force: true });
    };
    return f;
}

/**
 * Proves that the server still serves the clients that were there before WHAT happened:
 * the keep-alive connection opened at the start answers GET /healthz and an authenticated GET
 * of the bystander meeting, the live peer still answers a ping with a pong, and a fresh
 * connection gets /readyz.
 */
export async function checkBystanders(f, what) {
    const label = `after ${what}`;
    assert.ok(!f.conn.closed, `${label}: the bystander keep-alive connection was closed`);
    f.conn.send('GET /healthz HTTP/1.1\r\nHost: bystander\r\n\r\n');
    let r;
    try {
        r = await f.conn.next();
    } catch (e) {
        assert.fail(`${label}: the bystander keep-alive connection got no /healthz answer: ${e.message}`);
    }
    assert.equal(r.status, 200, `${label}: bystander /healthz → ${r.status} ${r.body}`);
    f.conn.send(`GET /client/v4${f.P}/meetings/${f.meeting.id} HTTP/1.1\r\nHost: bystander\r\n` +
        `Authorization: Bearer ${f.token}\r\n\r\n`);
    r = await f.conn.next();
    assert.equal(r.status, 200, `${label}: bystander GET meeting → ${r.status} ${r.body}`);
    assert.equal(JSON.parse(r.body).data.id, f.meeting.id, label);
    if (f.peer) {
        assert.equal(f.peer.closeInfo, null,
            `${label}: the bystander peer was closed: ${JSON.stringify(f.peer.closeInfo)}`);
        await f.peer.ping(`by-${Math.random().toString(36).slice(2, 8)}`);
    }
    const fresh = await http(f.srv, 'GET', '/readyz', { root: true });
    assert.equal(fresh.status, 200, `${label}: fresh /readyz → ${fresh.status} ${fresh.text}`);
    assert.equal(f.srv.child.exitCode, null, `${label}: the server exited`);
    assert.equal(f.srv.child.signalCode, null, `${label}: the server died of ${f.srv.child.signalCode}`);
}

/**
 * Sends RAW (string in latin1, Buffer, or an array of them) on a fresh connection and waits
 * until the server closes it (or ms pass). Returns {responses, closed, data, elapsed}.
 */
export async function rawRequest(port, raw, { ms = 5000, until } = {}) {
    const parts = [].concat(raw).map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p, 'latin1')));
    const r = await rawExchange(port, parts, { ms, until });
    return { ...r, responses: parseResponses(r.data) };
}

/**
 * Asserts that a raw response RES (from parseResponses) is STATUS with a JSON body in the
 * RealtimeKit error envelope; returns the parsed body.
 */
export function assertRawError(res, status, what) {
    assert.ok(res, `${what}: no response`);
    assert.equal(res.status, status, `${what}: expected ${status}, got ${res.status}: ${res.body}`);
    assert.match(res.headers['content-type'] || '', /application\/json/,
        `${what}: content-type ${res.headers['content-type']}`);
    let json;
    try {
        json = JSON.parse(res.body);
    } catch {
        assert.fail(`${what}: body is not JSON: ${JSON.stringify(res.body)}`);
    }
    assertRtkEnvelope(json, status);
    return json;
}

/* Asserts an http() answer {status, json, text} is STATUS in the RealtimeKit envelope whose
 * message contains FIELD when given; returns the message. */
export function assertHttpError(r, status, what, field) {
    assert.equal(r.status, status, `${what}: expected HTTP ${status}, got ${r.status}: ${r.text}`);
    assert.ok(r.json, `${what}: body is not JSON: ${r.text}`);
    assertRtkEnvelope(r.json, status, field);
    return r.json.error.message;
}

/* Asserts an http() answer is 2xx with the success envelope; returns data. */
export function okData(r, what, status = 200) {
    assert.equal(r.status, status, `${what}: expected HTTP ${status}, got ${r.status}: ${r.text}`);
    assert.equal(r.json?.success, true, `${what}: ${r.text}`);
    return r.json.data;
}

/* ---- raw WebSocket upgrade ---- */

/**
 * Writes an upgrade request for TOKEN followed at once (same write) by the bytes AFTER, then
 * returns a RawPeer (peer.js) once the 101 arrived. opts.hello: wait for hello (default true
 * when AFTER is empty).
 */
export async function rawUpgrade(srv, token, after = Buffer.alloc(0), { label = 'raw', hello,
    localAddress } = {}) {
    const sock = net.connect({ port: srv.port, host: '127.0.0.1', localAddress });
    sock.setNoDelay(true);
    const peer = new RawPeer(sock, label);
    await new Promise((resolve, reject) => {
        sock.once('connect', resolve);
        sock.once('error', reject);
    });
    sock.on('error', () => {});
    const key = randomBytes(16).toString('base64');
    sock.write(Buffer.concat([Buffer.from(
        `GET ${WS_PATH}?token=${encodeURIComponent(token)} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
        'Upgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`, 'latin1'), after]));
    const head = await new Promise((resolve, reject) => {
        let buf = Buffer.alloc(0);
        const timer = setTimeout(() => reject(new Error(`${label}: no handshake answer`)), WAIT_MS);
        const onData = (d) => {
            buf = Buffer.concat([buf, d]);
            const end = buf.indexOf('\r\n\r\n');
            if (end < 0) return;
            clearTimeout(timer);
            sock.off('data', onData);
            resolve({ text: buf.subarray(0, end).toString('latin1'), rest: buf.subarray(end + 4) });
        };
        sock.on('data', onData);
        sock.once('close', () => reject(new Error(`${label}: closed during the handshake: ${buf}`)));
    });
    assert.match(head.text, /^HTTP\/1\.1 101 /, `${label}: handshake answer ${head.text}`);
    const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
        .digest('base64');
    assert.ok(head.text.includes(accept), `${label}: bad Sec-WebSocket-Accept in ${head.text}`);
    sock.on('data', (d) => peer.onData(d));
    sock.on('close', () => peer.onClose());
    if (head.rest.length) peer.onData(head.rest);
    if (hello ?? after.length === 0) peer.hello = await peer.next('hello');
    return peer;
}

/* ---- misc ---- */

/* A small seeded PRNG (mulberry32): rng() in [0, 1). */
export function seededRng(seed) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

/* Runs FN over ITEMS with at most N in flight; resolves the results in order. */
export async function mapLimit(items, n, fn) {
    const out = new Array(items.length);
    let next = 0;
    const worker = async () => {
        while (next < items.length) {
            const i = next++;
            out[i] = await fn(items[i], i);
        }
    };
    await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
    return out;
}

/* Runs a command; resolves {code, stdout, stderr, error} (never rejects). */
export function run(cmd, args, { timeout = 20000, env } = {}) {
    return new Promise((resolve) => {
        execFile(cmd, args, { timeout, env: env ?? process.env, maxBuffer: 16 << 20 },
            (err, stdout, stderr) => {
                resolve({
                    code: err ? (typeof err.code === 'number' ? err.code : null) : 0,
                    signal: err?.signal ?? null,
                    stdout,
                    stderr,
                    error: err && typeof err.code !== 'number' ? err : null,
                });
            });
    });
}

/* True when the sqlite3 command-line shell is installed. */
export async function haveSqlite3() {
    const r = await run('sqlite3', ['-version']);
    return r.code === 0;
}

/**
 * Copies DATADIR/rtkd.db with its -wal and -shm files (as a crash left them) into a fresh
 * folder and runs `PRAGMA integrity_check` and `PRAGMA foreign_key_check` on the copy, so the
 * check does not touch the server's files. Returns {integrity, foreignKeys} (trimmed stdout).
 */
export async function integrityCheck(dataDir) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rtkd-e2e-icheck-'));
    try {
        for (const name of await readdir(dataDir)) {
            if (!name.startsWith('rtkd.db')) continue;
            await copyFile(path.join(dataDir, name), path.join(dir, name));
        }
        await stat(path.join(dir, 'rtkd.db'));
        const db = path.join(dir, 'rtkd.db');
        const ic = await run('sqlite3', [db, 'PRAGMA integrity_check;']);
        assert.equal(ic.code, 0, `sqlite3 integrity_check failed: ${ic.stderr}`);
        const fk = await run('sqlite3', [db, 'PRAGMA foreign_key_check;']);
        assert.equal(fk.code, 0, `sqlite3 foreign_key_check failed: ${fk.stderr}`);
        return { integrity: ic.stdout.trim(), foreignKeys: fk.stdout.trim() };
    } finally {
        await rm(dir, { recursive: true, force: true });
    }
}

/* Number of open file descriptors of process PID (Linux /proc), or null if unknown. */
export async function openFds(pid) {
    try {
        return (await readdir(`/proc/${pid}/fd`)).length;
    } catch {
        return null;
    }
}

/* Matches what AddressSanitizer, UBSan or a fatal signal print on stderr. */
export const CRASH_MARKS =
    /AddressSanitizer|LeakSanitizer|runtime error:|Segmentation fault|Aborted|core dumped|SUMMARY: /;

/* ---- mounts (the suite runs as root; where mount(2) is not permitted, callers say why) ---- */

let mountProbe = null;
/* {ok: true} when this process may mount a tmpfs, else {ok: false, why}. */
export async function canMount() {
    if (mountProbe) return mountProbe;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rtkd-e2e-mnt-'));
    const r = await run('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
    if (r.code === 0) await run('umount', [dir]);
    await rm(dir, { recursive: true, force: true });
    mountProbe = r.code === 0 ? { ok: true }
        : { ok: false, why: `mount(2) is not permitted here (${(r.stderr || r.error?.message || '').trim()})` };
    return mountProbe;
}

/* Mounts a tmpfs of SIZE ("8m") on DIR; returns the function that unmounts it. */
export async function mountTmpfsAt(dir, size) {
    const r = await run('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
    assert.equal(r.code, 0, `mount tmpfs: ${r.stderr}`);
    return async () => { await run('umount', ['-l', dir]); };
}

/* Writes zeros to FILE until the file system is full (the last partial block included). */
export async function fillDisk(file) {
    for (const size of [64 * 1024, 512]) {
        const fh = await open(file, 'a');
        const block = Buffer.alloc(size);
        try {
            for (;;) await fh.write(block);
        } catch (e) {
            if (e.code !== 'ENOSPC') throw e;
        } finally {
            await fh.close();
        }
    }
}
