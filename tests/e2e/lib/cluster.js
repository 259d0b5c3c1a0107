// SPDX-License-Identifier: MIT
// A cluster for tests (CLUSTER.md): a real redis-server on a free loopback port, the suite's
// PostgreSQL (the PostgreSQL pass; tests/e2e/run.js starts it), and rtkd nodes that share
// both, each with its own data folder.

import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import net from 'node:net';
import {
    start, tempDir, cliOk, storeFor, PG_BASE, sleep,
} from './rtkd.js';
import { connect } from './peer.js';
import { docBlock, spawnNginx, awaitListening, stopChild, which } from './proxy.js';

const redisServers = [];
process.on('exit', () => {
    for (const r of redisServers) if (r.child.exitCode === null) r.child.kill('SIGKILL');
});

/* A port nothing listens on now. */
export function freePort() {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => {
            const { port } = s.address();
            s.close(() => resolve(port));
        });
    });
}

/* redis-server --save '' --appendonly no on PORT (a free one by default). r.stop() kills it
 * (SIGKILL: its contents are lost, as in a crash); r.restart() starts it again empty on the
 * same port. */
export async function startRedis(port) {
    const r = { port: port || await freePort() };
    r.url = `redis://127.0.0.1:${r.port}`;
    const launch = async () => {
        const child = spawn('redis-server', ['--port', String(r.port), '--bind', '127.0.0.1',
            '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'],
        { stdio: ['ignore', 'pipe', 'pipe'] });
        r.child = child;
        redisServers.push(r);
        r.exited = new Promise((resolve) => child.once('exit', resolve));
        /* Ready once it accepts a PING. */
        const deadline = Date.now() + 10000;
        for (;;) {
            if (await ping(r.port)) return;
            if (Date.now() > deadline || child.exitCode !== null) {
                throw new Error(`redis-server on port ${r.port} did not start`);
            }
            await sleep(50);
        }
    };
    await launch();
    r.stop = async () => {
        if (r.child.exitCode !== null || r.child.signalCode !== null) return;
        r.child.kill('SIGKILL');
        await r.exited;
    };
    r.restart = async () => {
        await r.stop();
        await launch();
    };
    /* One command (inline protocol), its raw reply. */
    r.command = (line) => rawCommand(r.port, line);
    /* How many times Redis ran COMMAND (lower case) since it started (INFO commandstats). */
    r.calls = async (command) => {
        const m = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(
            await r.command('INFO commandstats'));
        return m ? Number(m[1]) : 0;
    };
    return r;
}

function rawCommand(port, line) {
    return new Promise((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1');
        let buf = '';
        s.setEncoding('utf8');
        s.once('error', reject);
        s.on('data', (d) => {
            buf += d;
            /* A bulk reply ($LEN) is whole once LEN bytes and its CRLF are here. */
            const bulk = /^\$(\d+)\r\n/.exec(buf);
            const whole = bulk ? Buffer.byteLength(buf) >= bulk[0].length + Number(bulk[1]) + 2
                : buf.endsWith('\r\n');
            if (whole) {
                s.end();
                resolve(buf);
            }
        });
        s.write(`${line}\r\n`);
    });
}

async function ping(port) {
    try {
        return (await rawCommand(port, 'PING')).startsWith('+PONG');
    } catch {
        return false;
    }
}

/**
 * N nodes on one PostgreSQL database and one Redis, an account, a token and an app.
 * opts.nodes (2), opts.args (more serve flags for every node), opts.redis (an existing one).
 * c.nodes[i] are servers as start() returns them; c.node(i) starts node i again;
 * c.stop() stops everything (each node must exit 0).
 */
export async function clusterFixture(opts = {}) {
    if (!PG_BASE) throw new Error('a cluster needs the PostgreSQL pass (RTKD_E2E_STORE=postgres)');
    const home = await tempDir('rtkd-e2e-cluster-');
    /* opts.store: a database of the caller's own PostgreSQL (one it may stop). */
    const store = opts.store || await storeFor(home);
    const env = opts.store ? { env: { RTKD_STORE: opts.store } } : undefined;
    const accountId = await cliOk(['account', 'create', '--data', home, '--name', 'cluster'],
        env);
    const token = await cliOk(['token', 'create', '--data', home, '--account', accountId,
        '--name', 'cluster-token'], env);
    const redis = opts.redis || await startRedis();
    const c = { home, store, accountId, token, redis, nodes: [], dirs: [] };
    c.argsFor = (i) => ['serve', '--listen', '127.0.0.1:0', '--data', c.dirs[i],
        '--store', store, '--bus', redis.url, '--node-id', `node-${i}`,
        ...(opts.args || [])];
    c.node = async (i) => {
        if (!c.dirs[i]) c.dirs[i] = await tempDir(`rtkd-e2e-node${i}-`);
        c.nodes[i] = await start({ dataDir: c.dirs[i], args: c.argsFor(i) });
        await c.ready(i);
        return c.nodes[i];
    };
    /* Waits for /readyz 200 at node I (its bus is up). */
    c.ready = async (i, ms = 10000) => {
        const deadline = Date.now() + ms;
        for (;;) {
            const r = await fetch(`${c.nodes[i].rootURL}/readyz`).catch(() => null);
            if (r && r.status === 200) return;
            if (Date.now() > deadline) throw new Error(`node ${i} not ready: ${r && r.status}`);
            await sleep(50);
        }
    };
    for (let i = 0; i < (opts.nodes || 2); i++) await c.node(i);
    c.cf = (i) => c.nodes[i].client(token);
    c.appId = (await c.cf(0).realtimeKit.apps.post({ account_id: accountId, name: 'c-app' }))
        .data.app.id;
    c.at = (extra = {}) => ({ account_id: accountId, app_id: c.appId, ...extra });
    c.meeting = async (body = {}, i = 0) => (await c.cf(i).realtimeKit.meetings.create(c.appId,
        { account_id: accountId, title: 'cluster', ...body })).data;
    c.participant = async (meetingId, custom, i = 0, preset = 'group_call_participant') =>
        (await c.cf(i).realtimeKit.meetings.addParticipant(meetingId, c.at({
            custom_participant_id: custom, preset_name: preset, name: custom,
        }))).data;
    c.activeP = (meetingId, i) => c.cf(i).realtimeKit.activeSession.getActiveSession(meetingId,
        c.at());
    c.active = async (meetingId, i) => (await c.activeP(meetingId, i)).data;
    c.connect = (i, part, o = {}) => connect(c.nodes[i], part.token,
        { label: `${part.custom_participant_id}@node-${i}`, ...o });
    c.stop = async () => {
        for (const n of c.nodes) if (n && !n.stopped) await n.stop({ keepData: true });
        for (const d of c.dirs) if (d) await rm(d, { recursive: true, force: true });
        await rm(home, { recursive: true, force: true });
        if (!opts.redis) await redis.stop();
    };
    return c;
}

/**
 * nginx in front of PORTS (the nodes' ports), configured with docs/cluster.md's nginx block
 * ("Behind a load balancer") as written: only the upstream servers' addresses (one line per
 * node, with the block's parameters) and the listen address are replaced. Resolves
 * {port, child, stop()}, or null when nginx is not installed. n.stop() is idempotent.
 */
export async function clusterNginx(ports) {
    const bin = await which('nginx');
    if (!bin) return null;
    const dir = await tempDir('rtkd-e2e-nginx-');
    const port = await freePort();
    const servers = /^( +)server 10\.0\.0\.11:8080( [^;]*)?;\n\1server 10\.0\.0\.12:8080[^;]*;\n\1server 10\.0\.0\.13:8080[^;]*;\n/m;
    const block = await docBlock('cluster.md', 'nginx', [
        [servers, (_, indent, params = '') => ports.map((p) => `${indent}server 127.0.0.1:${p}${params};\n`).join('')],
        ['listen 80;', `listen 127.0.0.1:${port};`],
    ]);
    const child = await spawnNginx(bin, dir, block);
    const n = { port, child, dir };
    n.stop = async () => {
        await stopChild(child);
        await rm(dir, { recursive: true, force: true });
    };
    try {
        await awaitListening(child, 'nginx', port);
    } catch (e) {
        await n.stop();
        throw e;
    }
    return n;
}
