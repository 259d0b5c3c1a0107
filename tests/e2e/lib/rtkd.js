// SPDX-License-Identifier: MIT
// Harness for the e2e suite: runs the real rtkd binary (CLI and server) and wraps node:test so
// that a failing test prints what the server logged while it ran.

import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test as nodeTest } from 'node:test';
import Cloudflare from 'cloudflare';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '..', '..', '..');
export const RTKD_BIN = process.env.RTKD_BIN || path.join(REPO, 'build', 'rtkd');

/* How long a sanitized server may take to come up or go down. */
const START_TIMEOUT_MS = 20000;
const STOP_TIMEOUT_MS = 10000;
const CLI_TIMEOUT_MS = 20000;

export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const ISO_MS_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const ACCOUNT_ID = /^[0-9a-f]{32}$/;

/*
 * The store the suite runs on. `make test` runs the whole suite twice: on SQLite (the data
 * folder), and with RTKD_E2E_PG set by run.js to the URL of a PostgreSQL server it started
 * (postgres://postgres@127.0.0.1:PORT/). Then every data folder a test uses gets a database of
 * its own, made on first use, and every rtkd started with `--data DIR` gets `RTKD_STORE` for
 * it: the tests stay unchanged, and each sees a fresh store as it would with a fresh folder.
 */
export const PG_BASE = process.env.RTKD_E2E_PG || '';
export const STORE = PG_BASE ? 'postgres' : 'sqlite';
const PG_DIR = process.env.RTKD_E2E_PG_DIR || '';
const databases = new Map();

function pgTool(args) {
    return new Promise((resolve, reject) => {
        execFile(path.join(REPO, 'tests', 'support', 'pgtmp.sh'), args, (err, stdout, stderr) => {
            if (err) reject(new Error(`pgtmp.sh ${args.join(' ')}: ${stderr || err.message}`));
            else resolve(stdout);
        });
    });
}

/* The store URL of data folder DIR (its database is made on first use); null on SQLite. */
export async function storeFor(dir) {
    if (!PG_BASE) return null;
    const key = path.resolve(dir);
    let url = databases.get(key);
    if (!url) {
        const name = `rtk_${createHash('sha1').update(key).digest('hex').slice(0, 24)}`;
        url = `${PG_BASE}${name}`;
        databases.set(key, url);
        await pgTool(['createdb', PG_DIR, name]).catch((e) => {
            if (!/already exists/.test(e.message)) throw e;
        });
    }
    return url;
}

/* Runs SQL on the database of data folder DIR (psql, unaligned, no headers): its stdout. */
export async function pgQuery(dir, sql) {
    const url = await storeFor(dir);
    return new Promise((resolve, reject) => {
        execFile('psql', ['-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql, url],
            (err, stdout, stderr) => {
                if (err) reject(new Error(`psql: ${stderr || err.message}`));
                else resolve(stdout.trim());
            });
    });
}

/* The environment for the rtkd run with ARGS: RTKD_STORE for its data folder on PostgreSQL. */
async function storeEnv(args, env = {}) {
    const i = args.indexOf('--data');
    const dir = i >= 0 ? args[i + 1] : env.RTKD_DATA;
    if (!PG_BASE || !dir || args.includes('--store') || env.RTKD_STORE) return env;
    return { ...env, RTKD_STORE: await storeFor(dir) };
}

/* Marks the calling test file as one that only makes sense on SQLite (it is about the data
 * folder as the store): on PostgreSQL its tests are skipped, saying why. */
let sqliteOnlyWhy = null;
export function sqliteOnly(why) {
    if (STORE !== 'sqlite') sqliteOnlyWhy = `SQLite only: ${why}`;
}

/* The environment for every rtkd child: ours minus RTKD_* (so a developer's RTKD_DEV=1 or
 * RTKD_DATA cannot leak into the tests), plus what the caller adds. */
export function childEnv(extra = {}) {
    const env = {};
    for (const [k, v] of Object.entries(process.env)) {
        if (!k.startsWith('RTKD_')) env[k] = v;
    }
    return { ...env, ...extra };
}

/* Every server started in this process, so a failing test can print their logs. */
const servers = [];

export async function tempDir(prefix = 'rtkd-e2e-') {
    return mkdtemp(path.join(os.tmpdir(), prefix));
}

/**
 * Runs `rtkd ARGS...` to completion. Resolves {code, stdout, stderr}; never rejects on a
 * non-zero exit (callers assert on code).
 */
export async function cli(args, { env } = {}) {
    const full = await storeEnv(args, env);
    return new Promise((resolve, reject) => {
        execFile(RTKD_BIN, args, { env: childEnv(full), timeout: CLI_TIMEOUT_MS },
            (err, stdout, stderr) => {
                if (err && typeof err.code !== 'number') {
                    reject(new Error(`rtkd ${args.join(' ')}: ${err.message}\n${stderr}`));
                    return;
                }
                resolve({ code: err ? err.code : 0, stdout, stderr });
            });
    });
}

/* Runs the CLI and asserts it exited 0; returns trimmed stdout. */
export async function cliOk(args, opts) {
    const r = await cli(args, opts);
    assert.equal(r.code, 0,
        `rtkd ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r.stdout.trim();
}

export async function createAccount(dataDir, name = 'acct') {
    const id = await cliOk(['account', 'create', '--data', dataDir, '--name', name]);
    assert.match(id, ACCOUNT_ID, `account create printed ${JSON.stringify(id)}`);
    return id;
}

export async function createToken(dataDir, accountId, name = 'tok') {
    const secret = await cliOk(['token', 'create', '--data', dataDir, '--account', accountId,
        '--name', name]);
    assert.ok(secret.length >= 16 && !/\s/.test(secret),
        `token create printed ${JSON.stringify(secret)}`);
    return secret;
}

/* `rtkd token list` as rows of whitespace-separated columns (id, account, name, created,
 * status). */
export async function listTokens(dataDir) {
    const out = await cliOk(['token', 'list', '--data', dataDir]);
    return out.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => l.split(/\s+/));
}

export async function revokeToken(dataDir, tokenId) {
    return cliOk(['token', 'revoke', '--data', dataDir, '--id', tokenId]);
}

/* Finds the id of the token named NAME in `token list`. */
export async function tokenIdByName(dataDir, name) {
    const rows = await listTokens(dataDir);
    const row = rows.find((cols) => cols.includes(name));
    assert.ok(row, `token ${name} not in token list:\n${rows.map((r) => r.join(' ')).join('\n')}`);
    return row[0];
}

function waitExit(child, ms) {
    if (child.exitCode !== null || child.signalCode !== null) {
        return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
    }
    return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(null), ms);
        child.once('exit', (code, signal) => {
            clearTimeout(timer);
            resolve({ code, signal });
        });
    });
}

/**
 * Starts `rtkd serve --listen 127.0.0.1:0 --data DIR [--dev]` and waits for its
 * "rtkd: listening on http://127.0.0.1:PORT" line.
 *
 * opts.dataDir  reuse this data folder (else a fresh temp folder, removed by stop())
 * opts.dev      pass --dev and also wait for the CLOUDFLARE_API_TOKEN line
 * opts.args     replace the serve arguments entirely (opts.env supplies the rest)
 * opts.env      extra environment
 *
 * Returns {baseURL, rootURL, port, dataDir, stdout(), stderr(), client(token), stop(), kill(),
 * signal(sig) , exited}.
 */
export async function start(opts = {}) {
    const ownDir = !opts.dataDir;
    const dataDir = opts.dataDir || await tempDir();
    const args = opts.args ||
        ['serve', '--listen', '127.0.0.1:0', '--data', dataDir, ...(opts.dev ? ['--dev'] : [])];
    const child = spawn(RTKD_BIN, args, { env: childEnv(await storeEnv(args, opts.env)),
        stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => { err += d; });
    const srv = {
        dataDir,
        child,
        stdout: () => out,
        stderr: () => err,
        stopped: false,
    };
    servers.push(srv);
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    srv.exited = exited;

    const ready = new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(
            `rtkd did not print its listening line within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
        const check = () => {
            const m = out.match(/rtkd: listening on (http:\/\/(?:127\.0\.0\.1|\[::1\]):(\d+))/);
            if (!m) return;
            if (opts.dev && !/CLOUDFLARE_API_TOKEN=\S+/.test(out)) return;
            clearTimeout(timer);
            resolve(m);
        };
        child.stdout.on('data', (d) => { out += d; check(); });
        child.once('error', (e) => { clearTimeout(timer); reject(e); });
        exited.then(({ code, signal }) => {
            clearTimeout(timer);
            reject(new Error(`rtkd exited early (code ${code}, signal ${signal})`));
        });
    });
    let m;
    try {
        m = await ready;
    } catch (e) {
        child.kill('SIGKILL');
        e.message += `\n--- rtkd stdout ---\n${out}\n--- rtkd stderr ---\n${err}`;
        throw e;
    }
    srv.rootURL = m[1];
    srv.port = Number(m[2]);
    srv.baseURL = `${m[1]}/client/v4`;
    srv.client = (token, extra = {}) => new Cloudflare({
        apiToken: token,
        apiKey: null,
        apiEmail: null,
        userServiceKey: null,
        baseURL: srv.baseURL,
        maxRetries: 0,
        timeout: 15000,
        ...extra,
    });
    srv.signal = (sig) => child.kill(sig);

    /* SIGTERM, then assert a clean exit 0 (under ASan a leak makes the exit code non-zero). */
    srv.stop = async ({ keepData = false } = {}) => {
        if (srv.stopped) return;
        srv.stopped = true;
        child.kill('SIGTERM');
        const r = await waitExit(child, STOP_TIMEOUT_MS);
        if (r === null) {
            child.kill('SIGKILL');
            await exited;
            assert.fail(`rtkd did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM\n` +
                `--- rtkd stderr ---\n${err}`);
        }
        assert.deepEqual(r, { code: 0, signal: null },
            `rtkd did not exit cleanly after SIGTERM\n--- rtkd stderr ---\n${err}`);
        if (ownDir && !keepData) await rm(dataDir, { recursive: true, force: true });
    };
    /* SIGKILL (no cleanup, simulates a crash); keeps the data folder. */
    srv.kill = async () => {
        srv.stopped = true;
        child.kill('SIGKILL');
        await exited;
    };
    return srv;
}

/**
 * A fresh server with one account, one API token and one app: the usual fixture.
 * Returns {srv, accountId, token, appId, cf} where cf is the SDK client.
 */
export async function startWithApp(opts = {}) {
    const dataDir = await tempDir();
    const accountId = await createAccount(dataDir, 'main');
    const token = await createToken(dataDir, accountId, 'main-token');
    const srv = await start({ ...opts, dataDir });
    const ownStop = srv.stop;
    srv.stop = async (o = {}) => {
        await ownStop(o);
        if (!o.keepData) await rm(dataDir, { recursive: true, force: true });
    };
    const cf = srv.client(token);
    const res = await cf.realtimeKit.apps.post({ account_id: accountId, name: 'main-app' });
    const appId = res.data.app.id;
    return { srv, accountId, token, appId, cf };
}

/**
 * node:test's test() with one addition: when the test fails, the stderr (access log) that
 * every rtkd server wrote while it ran is printed, and so is the tail of stdout.
 */
export function test(name, optsOrFn, maybeFn) {
    const fn = typeof optsOrFn === 'function' ? optsOrFn : maybeFn;
    const opts = typeof optsOrFn === 'function' ? {} : { ...optsOrFn };
    if (sqliteOnlyWhy && !opts.skip) opts.skip = sqliteOnlyWhy;
    return nodeTest(name, opts, async (t) => {
        const marks = new Map(servers.map((s) => [s, s.stderr().length]));
        try {
            await fn(t);
        } catch (e) {
            for (const s of servers) {
                const from = marks.get(s) ?? 0;
                const log = s.stderr().slice(from);
                if (!log) continue;
                const where = s.port ? `port ${s.port}` : 'not started';
                process.stderr.write(`\n--- rtkd (${where}, ${s.dataDir}) stderr during ` +
                    `"${name}" ---\n${log}\n`);
            }
            throw e;
        }
    });
}

/* Kills any server a failed test left running, so node does not wait on it. */
process.on('exit', () => {
    for (const s of servers) {
        if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
    }
});

/**
 * Awaits an SDK call that must fail with STATUS and the RealtimeKit error envelope
 * {"success":false,"error":{"code":STATUS,"message":"…"}}. If FIELD is given, the message must
 * name it. Returns the APIError.
 */
export async function expectRtkError(promise, status, field) {
    let err;
    try {
        const res = await promise;
        assert.fail(`expected HTTP ${status}, got success: ${JSON.stringify(res)}`);
    } catch (e) {
        if (e instanceof assert.AssertionError) throw e;
        err = e;
    }
    assert.ok(err instanceof Cloudflare.APIError, `expected an APIError, got ${err}`);
    assert.equal(err.status, status, `expected HTTP ${status}, got ${err.status}: ${err.message}`);
    assertRtkEnvelope(err.error, status, field);
    return err;
}

export function assertRtkEnvelope(body, status, field) {
    assert.equal(typeof body, 'object', `error body is not JSON: ${JSON.stringify(body)}`);
    assert.equal(body.success, false, `body: ${JSON.stringify(body)}`);
    assert.equal(typeof body.error, 'object', `no error object: ${JSON.stringify(body)}`);
    assert.equal(body.error.code, status, `error.code: ${JSON.stringify(body)}`);
    assert.equal(typeof body.error.message, 'string', `error.message: ${JSON.stringify(body)}`);
    assert.ok(body.error.message.length > 0, 'error.message is empty');
    if (field) {
        assert.ok(body.error.message.includes(field),
            `error message should name "${field}": ${JSON.stringify(body.error.message)}`);
    }
}

export const V4_AUTH_ERROR = {
    success: false,
    errors: [{ code: 10000, message: 'Authentication error' }],
    messages: [],
    result: null,
};

/* Awaits an SDK call that must fail with STATUS (401/403) and the exact v4 auth envelope. */
export async function expectAuthError(promise, status) {
    let err;
    try {
        const res = await promise;
        assert.fail(`expected HTTP ${status}, got success: ${JSON.stringify(res)}`);
    } catch (e) {
        if (e instanceof assert.AssertionError) throw e;
        err = e;
    }
    assert.ok(err instanceof Cloudflare.APIError, `expected an APIError, got ${err}`);
    assert.equal(err.status, status, `expected HTTP ${status}, got ${err.status}: ${err.message}`);
    assert.deepEqual(err.error, V4_AUTH_ERROR);
    return err;
}

/**
 * fetch() against the server with an optional bearer token. Returns {status, headers, text,
 * json} where json is the parsed body or undefined.
 */
export async function http(srv, method, urlPath, { token, body, headers = {}, root = false } = {}) {
    const base = root ? srv.rootURL : srv.baseURL;
    const h = { ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    let payload = body;
    if (body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array)) {
        payload = JSON.stringify(body);
        h['content-type'] ??= 'application/json';
    }
    const res = await fetch(base + urlPath, { method, headers: h, body: payload });
    const text = await res.text();
    let json;
    try {
        json = JSON.parse(text);
    } catch {
        json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
}

/**
 * Writes RAW bytes on a fresh TCP connection to the server and collects everything it sends
 * back until it closes (or until `until(buffer)` is true, or ms elapse). Resolves
 * {data (Buffer), closed (bool), error (write/read error or null), elapsed}.
 */
export function rawExchange(port, raw, { until, ms = 5000, halfClose = false } = {}) {
    return new Promise((resolve) => {
        const t0 = Date.now();
        const chunks = [];
        let error = null;
        let done = false;
        const sock = net.connect(port, '127.0.0.1');
        const finish = (closed) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            sock.destroy();
            resolve({ data: Buffer.concat(chunks), closed, error, elapsed: Date.now() - t0 });
        };
        const timer = setTimeout(() => finish(false), ms);
        sock.on('connect', () => {
            for (const part of [].concat(raw)) sock.write(part);
            if (halfClose) sock.end();
        });
        sock.on('data', (d) => {
            chunks.push(d);
            if (until && until(Buffer.concat(chunks))) finish(false);
        });
        sock.on('error', (e) => { error = e; });
        sock.on('close', () => finish(true));
    });
}

/**
 * Parses consecutive HTTP/1.1 responses (Content-Length or chunked bodies) out of BUF.
 * Returns [{status, headers (lower-case keys), body (string), end (byte offset after it)}]; an
 * incomplete tail is ignored.
 */
export function parseResponses(buf) {
    const out = [];
    let off = 0;
    while (off < buf.length) {
        const headEnd = buf.indexOf('\r\n\r\n', off);
        if (headEnd < 0) break;
        const head = buf.subarray(off, headEnd).toString('latin1').split('\r\n');
        const status = Number(head[0].split(' ')[1]);
        const headers = {};
        for (const line of head.slice(1)) {
            const i = line.indexOf(':');
            headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
        }
        let p = headEnd + 4;
        let body;
        if (/chunked/i.test(headers['transfer-encoding'] || '')) {
            const parts = [];
            for (;;) {
                const le = buf.indexOf('\r\n', p);
                if (le < 0) return out;
                const n = parseInt(buf.subarray(p, le).toString('latin1'), 16);
                p = le + 2;
                if (n === 0) {
                    const te = buf.indexOf('\r\n', p);
                    p = te < 0 ? buf.length : te + 2;
                    break;
                }
                parts.push(buf.subarray(p, p + n));
                p += n + 2;
            }
            body = Buffer.concat(parts).toString('utf8');
        } else {
            const n = Number(headers['content-length'] || 0);
            if (p + n > buf.length) break;
            body = buf.subarray(p, p + n).toString('utf8');
            p += n;
        }
        out.push({ status, headers, body, end: p });
        off = p;
    }
    return out;
}

/* Decodes a JWT without verifying it: {header, payload, parts}. */
export function decodeJwt(token) {
    assert.equal(typeof token, 'string', `token is ${typeof token}`);
    const parts = token.split('.');
    assert.equal(parts.length, 3, `token is not a 3-part JWT: ${token}`);
    for (const p of parts) assert.match(p, /^[A-Za-z0-9_-]+$/, `JWT part is not base64url: ${p}`);
    const dec = (p) => JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    return { header: dec(parts[0]), payload: dec(parts[1]), parts };
}

export function sleep(ms) {
    return new Promise((r) => setTimeout(r, ms));
}

/* Asserts an ISO-8601 UTC time with milliseconds, within SLACK ms of now. */
export function assertRecentTime(value, what, slackMs = 60000) {
    assert.match(value, ISO_MS_UTC, `${what} = ${JSON.stringify(value)}`);
    const d = Date.parse(value);
    assert.ok(Math.abs(Date.now() - d) < slackMs, `${what} = ${value} is not about now`);
}

/**
 * A persistent raw HTTP/1.1 connection: send(raw) writes bytes; next() resolves the next
 * complete response (see parseResponses) or rejects if the server closes first or ms elapse.
 */
export async function httpConn(port, { ms = 5000 } = {}) {
    const sock = net.connect(port, '127.0.0.1');
    await new Promise((resolve, reject) => {
        sock.once('connect', resolve);
        sock.once('error', reject);
    });
    let buf = Buffer.alloc(0);
    let closed = false;
    let wake = null;
    sock.on('data', (d) => { buf = Buffer.concat([buf, d]); if (wake) wake(); });
    sock.on('close', () => { closed = true; if (wake) wake(); });
    sock.on('error', () => {});
    return {
        send(raw) { sock.write(raw); },
        get closed() { return closed; },
        async next() {
            const deadline = Date.now() + ms;
            for (;;) {
                const rs = parseResponses(buf);
                if (rs.length > 0) {
                    buf = buf.subarray(rs[0].end);
                    return rs[0];
                }
                if (closed) throw new Error(`connection closed; received ${JSON.stringify(buf.toString())}`);
                const left = deadline - Date.now();
                if (left <= 0) throw new Error(`no response within ${ms} ms; received ${JSON.stringify(buf.toString())}`);
                await new Promise((resolve) => {
                    const t = setTimeout(resolve, left);
                    wake = () => { clearTimeout(t); wake = null; resolve(); };
                });
            }
        },
        close() { sock.destroy(); },
    };
}

