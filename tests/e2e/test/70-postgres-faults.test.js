// SPDX-License-Identifier: MIT
// PostgreSQL faults (store issue, items 2 and 3), against a private PostgreSQL server this
// file starts (tests/support/pgtmp.sh) and stops again, in the PostgreSQL pass of the suite:
//   - a missing or unreachable database at start-up exits 1 with a message naming the URL,
//     its password hidden;
//   - PostgreSQL stopped while serving: writes answer 503 within 5 s (never a hang, never a
//     2xx), votes get `unavailable`, /readyz answers 503, live peers stay connected, and the
//     node reconnects by itself and serves again once PostgreSQL is back;
//   - a statement that waits on a lock is bounded by the statement timeout: 503, not a hang.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, rmdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import {
    test, start, tempDir, cli, http, sleep, REPO, STORE, childEnv, RTKD_BIN,
} from '../lib/rtkd.js';
import { connect, eventually } from '../lib/peer.js';
import { sendVote, reply } from '../lib/polls.js';

const PGTMP = path.join(REPO, 'tests', 'support', 'pgtmp.sh');
const skip = STORE === 'postgres' ? false : 'runs in the PostgreSQL pass of the suite';

function pgtmp(...args) {
    return new Promise((resolve, reject) => {
        execFile(PGTMP, args, (err, stdout, stderr) => {
            if (err) reject(new Error(`pgtmp.sh ${args.join(' ')}: ${stderr || err.message}`));
            else resolve(stdout.trim());
        });
    });
}

let pgDir = null;
let base = null;
const servers = [];
const dirs = [];

async function privatePg() {
    if (base) return base;
    pgDir = await mkdtemp(path.join(os.tmpdir(), 'rtkd-e2e-pgf-'));
    await rmdir(pgDir);
    base = await pgtmp('start', pgDir);
    return base;
}

after(async () => {
    for (const s of servers) if (!s.stopped) await s.kill();
    if (pgDir) await pgtmp('stop', pgDir).catch(() => {});
    for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/* Runs `rtkd serve` that must fail at start-up; resolves {code, stderr}. */
function failingServe(args) {
    return new Promise((resolve) => {
        const child = spawn(RTKD_BIN, ['serve', '--listen', '127.0.0.1:0', ...args],
            { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
        let err = '';
        child.stderr.on('data', (d) => { err += d; });
        const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
        child.on('exit', (code) => {
            clearTimeout(timer);
            resolve({ code, stderr: err });
        });
    });
}

test('a missing or unreachable database at start-up: exit 1, the URL named, its password hidden',
    { skip }, async () => {
        const url = await privatePg();
        const data = await tempDir('rtkd-e2e-pgf-');
        dirs.push(data);
        const missing = url.replace('postgres@', 'postgres:s3cret@') + 'no_such_db';
        let r = await failingServe(['--data', data, '--store', missing]);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /postgres:\*\*\*@127\.0\.0\.1:\d+\/no_such_db/);
        assert.doesNotMatch(r.stderr, /s3cret/);
        assert.match(r.stderr, /does not exist/);
        r = await failingServe(['--data', data, '--store', 'postgres://u:pw@127.0.0.1:1/db']);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/db/);
        assert.doesNotMatch(r.stderr, /:pw@/);
        /* The command-line tools too. */
        const c = await cli(['account', 'create', '--store', missing, '--name', 'x']);
        assert.equal(c.code, 1);
        assert.match(c.stderr, /\*\*\*@/);
    });

/* A server on its own database of the private PostgreSQL, with an account, token and app. */
async function serveOnPrivate(name) {
    const url = await privatePg();
    await pgtmp('createdb', pgDir, name);
    const store = url + name;
    const data = await tempDir('rtkd-e2e-pgf-');
    dirs.push(data);
    const acc = (await cli(['account', 'create', '--store', store, '--name', name])).stdout.trim();
    const tok = (await cli(['token', 'create', '--store', store, '--account', acc, '--name', 't']))
        .stdout.trim();
    const srv = await start({ dataDir: data, args: ['serve', '--listen', '127.0.0.1:0', '--data',
        data, '--store', store, '--api-rate-limit', '0', '--handshake-rate', '0'] });
    servers.push(srv);
    const cf = srv.client(tok);
    const app = (await cf.realtimeKit.apps.post({ account_id: acc, name })).data.app.id;
    const P = `/accounts/${acc}/realtime/kit/${app}`;
    const api = (method, p, body) => http(srv, method, `${P}${p}`, { token: tok, body });
    return { srv, api };
}

test('PostgreSQL stopped while serving: 503 within 5 s, votes unavailable, peers stay, and it ' +
    'recovers by itself', { skip }, async () => {
    const { srv, api } = await serveOnPrivate('faults');
    const meeting = (await api('POST', '/meetings', { title: 'pg down' })).json.data;
    const part = (await api('POST', `/meetings/${meeting.id}/participants`,
        { custom_participant_id: 'v', preset_name: 'group_call_participant' })).json.data;
    const peer = await connect(srv, part.token, { label: 'voter' });
    const poll = (await api('POST', `/meetings/${meeting.id}/active-session/poll`,
        { question: 'up?', options: ['yes', 'no'] })).json.data.poll;
    assert.equal((await http(srv, 'GET', '/readyz', { root: true })).status, 200);

    await pgtmp('halt', pgDir);
    const t0 = Date.now();
    const w = await api('POST', '/meetings', { title: 'lost' });
    const took = Date.now() - t0;
    assert.equal(w.status, 503, `a write with PostgreSQL down: ${w.status} ${w.text}`);
    assert.match(w.json.error.message, /store is unavailable/);
    assert.ok(took < 5500, `the 503 took ${took} ms`);
    await eventually(async () => {
        const r = await http(srv, 'GET', '/readyz', { root: true });
        assert.equal(r.status, 503, r.text);
    }, { ms: 5000 });
    const ans = await reply(peer, sendVote(peer, poll.id, 0));
    assert.equal(ans.code, 'unavailable', JSON.stringify(ans));
    await peer.ping(); /* the peer is still connected */
    assert.equal(peer.closeInfo, null);

    await pgtmp('resume', pgDir);
    await eventually(async () => {
        const r = await api('POST', '/meetings', { title: 'back' });
        assert.equal(r.status, 201, r.text);
    }, { ms: 15000, every: 200 });
    assert.equal((await http(srv, 'GET', '/readyz', { root: true })).status, 200);
    const ok = await reply(peer, sendVote(peer, poll.id, 1));
    assert.equal(ok.type, 'poll.voted', JSON.stringify(ok));
    peer.terminate();
    await srv.stop();
});

test('a statement waiting on a lock is bounded by the statement timeout: 503, then it serves',
    { skip }, async () => {
        const { srv, api } = await serveOnPrivate('locks');
        await api('POST', '/meetings', { title: 'before' });
        /* Another session holds every lock on meetings for 7 s, past the 5 s timeout. */
        const port = base.match(/:(\d+)\/$/)[1];
        const holder = spawn('psql', ['-X', '-q', '-h', '127.0.0.1', '-p', port, '-U', 'postgres',
            'locks'], { stdio: ['pipe', 'ignore', 'ignore'] });
        holder.stdin.end('BEGIN; LOCK TABLE meetings IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(7);' +
            ' COMMIT;\n');
        await sleep(500);
        try {
            const t0 = Date.now();
            const r = await api('POST', '/meetings', { title: 'blocked' });
            const took = Date.now() - t0;
            assert.equal(r.status, 503, `${r.status} ${r.text}`);
            assert.ok(took < 8000, `the answer took ${took} ms`);
        } catch (e) {
            holder.kill('SIGKILL');
            throw e;
        }
        await eventually(async () => {
            const r = await api('POST', '/meetings', { title: 'after' });
            assert.equal(r.status, 201, r.text);
        }, { ms: 15000, every: 200 });
        await new Promise((resolve) => (holder.exitCode !== null ? resolve() : holder.on('exit', resolve)));
        await srv.stop();
    });
