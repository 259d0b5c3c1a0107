// SPDX-License-Identifier: MIT
// A cluster behind nginx (issue 15, item 4): a real nginx, configured with docs/cluster.md's
// block ("Behind a load balancer", only addresses and the listen port replaced), in front of
// three nodes on one PostgreSQL and one Redis. The official SDK and the peers talk only to
// nginx. Round robin spreads one meeting's peers over the nodes (each node's access log says
// which it served), active-session through nginx counts them all, a participant reconnecting
// replaces its old peer wherever that was (4002), and a node stopped with SIGTERM sends its
// peers 1012: they reconnect through nginx at once, nginx sends none of them to the stopping
// node, and the count is whole again in the same session. A node that cannot reach Redis
// answers handshakes and live reads 503: nginx passes them on to a node that can.

import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import Cloudflare from 'cloudflare';
import { rm } from 'node:fs/promises';
import { test, STORE, start, tempDir } from '../lib/rtkd.js';
import { CLOSE, connect, eventually } from '../lib/peer.js';
import { clusterFixture, clusterNginx, freePort } from '../lib/cluster.js';

const PEERS = 9;
const skip = STORE === 'postgres' ? false
    : 'a cluster needs PostgreSQL: these run in the PostgreSQL pass of make test';

let c;
let nginx;
let cut; // a node without its bus, and an nginx in front of it and node 0
let cf; // the SDK, through nginx
let meeting;
const parts = [];
const peers = []; // peers[i]: participant i's current peer, through nginx
const where = []; // where[i]: the node index that served participant i's current peer

/* Handshakes (101) each node has served so far, from its access log. */
const upgrades = () => c.nodes.map((n) => (n.stderr().match(/ method=GET path=\/v1\/ws status=101/g) || []).length);

/* Connects participant I through nginx and finds the node that took it: the one whose access
 * log gained a 101 (connections are made one at a time). */
async function join(i) {
    const before1 = upgrades();
    const p = await connect({ port: nginx.port }, parts[i].token, { label: `p${i}` });
    const node = await eventually(() => {
        const now = upgrades();
        const gained = now.map((v, k) => v - before1[k]);
        assert.equal(gained.reduce((a, b) => a + b, 0), 1, `one new 101 in all: ${gained}`);
        return gained.indexOf(1);
    }, { ms: 2000 });
    peers[i] = p;
    where[i] = node;
    return p;
}

const active = async () => (await cf.realtimeKit.activeSession.getActiveSession(meeting.id, c.at())).data;

before(async () => {
    if (skip) return;
    c = await clusterFixture({ nodes: 3, args: ['--trust-proxy', '127.0.0.1'] });
    nginx = await clusterNginx(c.nodes.map((n) => n.port));
    assert.ok(nginx, 'nginx is not installed (scripts/bootstrap.sh installs nginx-light)');
    cf = new Cloudflare({
        apiToken: c.token, apiKey: null, apiEmail: null, userServiceKey: null,
        baseURL: `http://127.0.0.1:${nginx.port}/client/v4`, maxRetries: 0, timeout: 15000,
    });
});

after(async () => {
    for (const p of peers) if (p && !p.closeInfo) p.terminate();
    if (nginx) await nginx.stop();
    if (cut?.nginx) await cut.nginx.stop();
    if (cut?.node) await cut.node.stop();
    if (cut?.dir) await rm(cut.dir, { recursive: true, force: true });
    if (c) await c.stop();
});

describe('three nodes behind nginx', { skip }, () => {
    test('the SDK through nginx: every node serves REST calls, each answer is the cluster\'s',
        async () => {
            const posts = () => c.nodes.map((n) => (n.stderr().match(/ method=POST path=\/client\/v4\/accounts\//g) || []).length);
            const before1 = posts();
            meeting = (await cf.realtimeKit.meetings.create(c.appId, { account_id: c.accountId,
                title: 'behind nginx', session_keep_alive_time_in_secs: 60 })).data;
            for (let i = 0; i < PEERS; i++) {
                parts.push((await cf.realtimeKit.meetings.addParticipant(meeting.id, c.at({
                    custom_participant_id: `p${i}`, preset_name: 'group_call_participant', name: `P ${i}`,
                }))).data);
            }
            const served = posts().map((v, k) => v - before1[k]);
            for (const [k, n] of served.entries()) assert.ok(n >= 1, `node ${k} served no POST: ${served}`);
            /* A read right after the writes, at whichever node nginx picks, sees them all. */
            const list = await cf.realtimeKit.meetings.getMeetingParticipants(meeting.id, c.at({ per_page: 50 }));
            assert.equal(list.data.length, PEERS);
            /* The access log names the client, not nginx (--trust-proxy). */
            for (const n of c.nodes) assert.match(n.stderr(), /access ip=127\.0\.0\.1 method=POST/);
        });

    test(`${PEERS} peers of one meeting land on all three nodes; active-session through nginx `
        + 'counts them all', async () => {
        for (let i = 0; i < PEERS; i++) await join(i);
        const per = [0, 1, 2].map((k) => where.filter((w) => w === k).length);
        for (const [k, n] of per.entries()) assert.ok(n >= 2, `node ${k} got ${n} of the peers: ${per}`);
        const sid = peers[0].hello.session.id;
        for (const p of peers) assert.equal(p.hello.session.id, sid, 'one session on every node');
        /* Three reads: round robin asks each node once. */
        for (let k = 0; k < 3; k++) {
            await eventually(async () => {
                const s = await active();
                assert.equal(s.live_participants, PEERS);
                assert.equal(s.max_concurrent_participants, PEERS);
            }, { ms: 1000 });
        }
    });

    test('a participant reconnecting through nginx replaces its old peer, on whichever node '
        + 'it was (4002); counted once', async () => {
        /* Round robin moves on at every request: within three reconnects the participant
         * lands on another node than the peer it replaces (perhaps first on the same one). */
        let moved = false;
        for (let n = 0; n < 3 && !moved; n++) {
            const old = peers[0];
            const was = where[0];
            await join(0);
            assert.equal((await old.closed()).code, CLOSE.REPLACED, `reconnect ${n}: the old peer`);
            assert.equal(peers[0].hello.session.id, old.hello.session.id);
            moved = where[0] !== was;
        }
        assert.ok(moved, 'no reconnect landed on another node');
        await eventually(async () => {
            const s = await active();
            assert.equal(s.live_participants, PEERS);
            assert.equal(s.max_concurrent_participants, PEERS, 'never counted twice');
        }, { ms: 1000 });
    });

    test('SIGTERM of a node: its peers get 1012, reconnect through nginx at once to the others, '
        + 'and the count is whole again in the same session', async () => {
        const k = where[0];
        const mine = where.map((w, i) => (w === k ? i : -1)).filter((i) => i >= 0);
        assert.ok(mine.length >= 2, `node ${k} has ${mine.length} peers`);
        const sid = peers[0].hello.session.id;
        /* Each of its peers reconnects as soon as its channel closes with 1012. */
        const rejoined = mine.map((i) => peers[i].closed().then(async (closed) => {
            assert.equal(closed.code, 1012, `p${i}: ${JSON.stringify(closed)}`);
            const p = await connect({ port: nginx.port }, parts[i].token, { label: `p${i} again` });
            peers[i] = p;
            return p;
        }));
        const stoppedAt = Date.now();
        const stopping = c.nodes[k].stop({ keepData: true }); /* asserts exit 0 */
        const again = await Promise.all(rejoined);
        await stopping;
        for (const p of again) assert.equal(p.hello.session.id, sid, 'the same session goes on');
        await eventually(async () => {
            const s = await active();
            assert.equal(s.id, sid);
            assert.equal(s.live_participants, PEERS);
        }, { ms: 2000 });
        assert.ok(Date.now() - stoppedAt < 5000, 'the count came back within 5 s');
        /* The others stayed where they were. */
        for (const [i, p] of peers.entries()) {
            if (!mine.includes(i)) assert.equal(p.closeInfo, null, `p${i} was disturbed`);
        }
        /* And the stopped node took none of the reconnects (its log ends with its stop). */
        assert.doesNotMatch(c.nodes[k].stderr().split(/SIGTERM received/)[1] || '',
            / path=\/v1\/ws status=101/);
    });

    test('a node that cannot reach Redis answers joins and live reads 503: nginx sends them '
        + 'to a node that can', async () => {
        cut = { dir: await tempDir('rtkd-e2e-nobus-') };
        cut.node = await start({ dataDir: cut.dir, args: ['serve', '--listen', '127.0.0.1:0',
            '--data', cut.dir, '--store', c.store, '--bus', `redis://127.0.0.1:${await freePort()}`,
            '--node-id', 'cut-off', '--trust-proxy', '127.0.0.1'] });
        const ready = await fetch(`${cut.node.rootURL}/readyz`);
        assert.equal(ready.status, 503);
        assert.equal((await ready.json()).data.status, 'bus unavailable');
        const other = c.nodes.findIndex((n) => !n.stopped);
        cut.nginx = await clusterNginx([c.nodes[other].port, cut.node.port]);
        const viaCut = { port: cut.nginx.port };
        const sdk = new Cloudflare({
            apiToken: c.token, apiKey: null, apiEmail: null, userServiceKey: null,
            baseURL: `http://127.0.0.1:${cut.nginx.port}/client/v4`, maxRetries: 0, timeout: 15000,
        });
        const m = (await sdk.realtimeKit.meetings.create(c.appId, { account_id: c.accountId,
            title: 'one node cut off', session_keep_alive_time_in_secs: 60 })).data;
        const qs = [];
        for (let i = 0; i < 4; i++) {
            qs.push((await sdk.realtimeKit.meetings.addParticipant(m.id, c.at({
                custom_participant_id: `q${i}`, preset_name: 'group_call_participant', name: `Q ${i}`,
            }))).data);
        }
        /* Handshakes in a row: round robin offers one of them to the cut-off node. */
        const ps = [];
        for (const [i, q] of qs.entries()) ps.push(await connect(viaCut, q.token, { label: `q${i}` }));
        for (let i = 0; i < 2; i++) {
            const s = (await sdk.realtimeKit.activeSession.getActiveSession(m.id, c.at())).data;
            assert.equal(s.live_participants, 4);
        }
        /* The cut-off node was asked and refused; nginx went on to the other. */
        await eventually(() => assert.match(cut.node.stderr(), / path=\/v1\/ws status=503/));
        assert.doesNotMatch(cut.node.stderr(), / path=\/v1\/ws status=101/);
        await Promise.all(ps.map((p) => p.close()));
    });
});
