// SPDX-License-Identifier: MIT
// `make cluster` (scripts/cluster.sh, CLUSTER.md "Set-up for a try-out"): the script starts
// PostgreSQL, Redis and three dev nodes in a temporary folder and prints their addresses and
// node 1's credentials. With those printed credentials a meeting is made at node 1, peers join
// at nodes 2 and 3, and node 1 counts both. SIGINT (Ctrl-C) then stops everything: every
// process the script started is gone, the nodes exited 0, their peers got 1012, and the
// folder is removed. The script starts its own PostgreSQL; it runs in the PostgreSQL pass
// with the other cluster tests.

import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after } from 'node:test';
import Cloudflare from 'cloudflare';
import { test, REPO, RTKD_BIN, STORE, childEnv, sleep } from '../lib/rtkd.js';
import { connect, eventually } from '../lib/peer.js';
import { freePort } from '../lib/cluster.js';

const skip = STORE === 'postgres' ? false
    : 'cluster tests run in the PostgreSQL pass of make test';

let child = null;
let out = '';
let err = '';
const printed = {}; // dir, pids: every pid the script printed

/* Whether process PID runs. A zombie does not: it has exited, and only waits for its parent
 * to reap it (the postmaster's parent is init once pg_ctl has exited, which may reap late). */
function alive(pid) {
    try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
    } catch {
        return false;
    }
}

function cmdline(pid) {
    try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
        return '(gone)';
    }
}

/* The children of PID (PostgreSQL's backends and workers), from /proc. */
function childrenOf(pid) {
    const kids = [];
    for (const d of readdirSync('/proc')) {
        if (!/^\d+$/.test(d)) continue;
        try {
            const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
            const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
            if (ppid === pid) kids.push(Number(d));
        } catch { /* gone meanwhile */ }
    }
    return kids;
}

/* Processes whose command line names the script's folder (the nodes, the postmaster). */
function usingDir(dir) {
    const found = [];
    for (const d of readdirSync('/proc')) {
        if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
        try {
            if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(dir)) found.push(Number(d));
        } catch { /* gone meanwhile */ }
    }
    return found;
}

function refused(port) {
    return new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(false); });
        s.on('error', () => resolve(true));
    });
}

after(async () => {
    /* A failed test: stop the script (which stops the rest), else everything by hand. */
    if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 20000);
        await exited;
        clearTimeout(t);
    }
    for (const pid of printed.pids || []) if (alive(pid)) process.kill(pid, 'SIGKILL');
    if (printed.dir && existsSync(printed.dir)) {
        if (existsSync(path.join(printed.dir, 'pg'))) {
            try {
                execFileSync(path.join(REPO, 'tests', 'support', 'pgtmp.sh'),
                    ['stop', path.join(printed.dir, 'pg')]);
            } catch { /* best effort */ }
        }
        execFileSync('rm', ['-rf', printed.dir]);
    }
});

test('make cluster: three nodes on one PostgreSQL and Redis; SIGINT stops every part and '
    + 'removes the folder', { skip, timeout: 90000 }, async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    child = spawn(path.join(REPO, 'scripts', 'cluster.sh'), [], {
        cwd: REPO,
        env: childEnv({ RTKD_BIN, RTKD_CLUSTER_PORTS: ports.join(' ') }),
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
    const why = () => `--- cluster.sh stdout ---\n${out}\n--- stderr ---\n${err}`;

    /* Its folder is known from the first line, so that after() can clean up even if the
     * rest never comes. */
    const deadline = Date.now() + 60000;
    while (!/^cluster: running;/m.test(out)) {
        const dir = out.match(/^cluster: starting in (\S+)$/m);
        if (dir) printed.dir = dir[1];
        assert.ok(child.exitCode === null, `cluster.sh exited before it was running\n${why()}`);
        assert.ok(Date.now() < deadline, `cluster.sh not running within 60 s\n${why()}`);
        await sleep(100);
    }
    printed.dir = out.match(/^cluster: starting in (\S+)$/m)[1];
    const nodes = [...out.matchAll(/^cluster: (node-\d)\s+(http:\/\/127\.0\.0\.1:(\d+))\s+\(pid (\d+)/mg)]
        .map((m) => ({ name: m[1], url: m[2], port: Number(m[3]), pid: Number(m[4]) }));
    assert.deepEqual(nodes.map((n) => n.name), ['node-1', 'node-2', 'node-3'], why());
    assert.deepEqual(nodes.map((n) => n.port), ports, 'the ports given in RTKD_CLUSTER_PORTS');
    const redisPid = Number(out.match(/^cluster: Redis\s+redis:\/\/127\.0\.0\.1:(\d+)\s+\(pid (\d+)\)/m)[2]);
    const pg = out.match(/^cluster: PostgreSQL\s+postgres:\/\/\S+:(\d+)\/rtkd\s+\(pid (\d+)\)/m);
    const pgPid = Number(pg[2]);
    const pgPort = Number(pg[1]);
    const redisPort = Number(out.match(/redis:\/\/127\.0\.0\.1:(\d+)/)[1]);
    printed.pids = [...nodes.map((n) => n.pid), redisPid, pgPid];
    for (const pid of printed.pids) assert.ok(alive(pid), `pid ${pid} is not running`);

    /* The printed credentials (node 1's file) work at node 1... */
    const creds = JSON.parse(out.match(/^\{\n[\s\S]*?\n\}$/m)[0]);
    assert.equal(creds.base_url, `${nodes[0].url}/client/v4`);
    const cf = new Cloudflare({
        apiToken: creds.api_token, apiKey: null, apiEmail: null, userServiceKey: null,
        baseURL: creds.base_url, maxRetries: 0, timeout: 15000,
    });
    const at = { account_id: creds.account_id, app_id: creds.app_id };
    const meeting = (await cf.realtimeKit.meetings.create(creds.app_id,
        { account_id: creds.account_id, title: 'make cluster', session_keep_alive_time_in_secs: 60 })).data;
    const part = async (id) => (await cf.realtimeKit.meetings.addParticipant(meeting.id, {
        ...at, custom_participant_id: id, preset_name: 'group_call_participant', name: id })).data;
    const ann = await part('ann');
    const bob = await part('bob');
    /* ...and each other node wrote its own, for the same account and app. */
    for (const n of nodes.slice(1)) {
        const own = JSON.parse(readFileSync(path.join(printed.dir, n.name, 'dev-credentials.json'), 'utf8'));
        assert.equal(own.account_id, creds.account_id);
        assert.equal(own.app_id, creds.app_id);
        assert.equal(own.base_url, `${n.url}/client/v4`);
    }

    /* Peers at nodes 2 and 3; node 1 counts both. */
    const pa = await connect({ port: nodes[1].port }, ann.token, { label: 'ann@node-2' });
    const pb = await connect({ port: nodes[2].port }, bob.token, { label: 'bob@node-3' });
    assert.equal(pa.hello.session.id, pb.hello.session.id);
    await eventually(async () => {
        const s = (await cf.realtimeKit.activeSession.getActiveSession(meeting.id, at)).data;
        assert.equal(s.live_participants, 2);
    }, { ms: 2000 });
    const pgKids = childrenOf(pgPid);
    assert.ok(pgKids.length > 0, 'PostgreSQL has its backends');

    /* Ctrl-C. */
    child.kill('SIGINT');
    const t = setTimeout(() => child.kill('SIGKILL'), 30000);
    const r = await exited;
    clearTimeout(t);
    assert.deepEqual(r, { code: 0, signal: null }, why());
    assert.match(out, /^cluster: stopped;/m, why());
    assert.doesNotMatch(err, /exited with status|did not stop/, 'every node and Redis exited 0');
    assert.equal((await pa.closed()).code, 1012, 'the nodes drained (SIGTERM)');
    assert.equal((await pb.closed()).code, 1012);
    for (const pid of [...printed.pids, ...pgKids]) {
        assert.ok(!alive(pid), `pid ${pid} is still there: ${cmdline(pid)}`);
    }
    assert.deepEqual(usingDir(printed.dir), [], 'a process still names the folder');
    for (const p of [...ports, redisPort, pgPort]) assert.ok(await refused(p), `port ${p} still accepts`);
    assert.ok(!existsSync(printed.dir), `${printed.dir} was not removed`);
});
