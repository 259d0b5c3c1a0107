// SPDX-License-Identifier: MIT
// CLUSTER.md: several nodes on one PostgreSQL and one Redis (real servers, real nodes on
// loopback ports). The command line, the bus's readiness, a meeting's peers on different
// nodes with exact counters, one live peer per participant across nodes, a node's death,
// one session at a time (the lists and the waiting room: 75-cluster-rooms).

import assert from 'node:assert/strict';
import { describe, after } from 'node:test';
import {
    test, cli, start, tempDir, sleep, STORE, storeFor, pgQuery, http,
} from '../lib/rtkd.js';
import { CLOSE, eventually, expectRefused } from '../lib/peer.js';
import { clusterFixture, startRedis, freePort } from '../lib/cluster.js';
import { receiver } from '../lib/webhooks.js';

const NEEDS_PG = STORE === 'postgres' ? {}
    : { skip: 'a cluster needs PostgreSQL: these run in the PostgreSQL pass of make test' };

describe('the command line', () => {
    test('--bus with the SQLite store exits 2 saying why', async () => {
        const dir = await tempDir();
        const r = await cli(['serve', '--listen', '127.0.0.1:0', '--data', dir, '--store',
            `sqlite:${dir}`, '--bus', 'redis://127.0.0.1:6390']);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /--bus needs a PostgreSQL store/);
        assert.match(r.stderr, /SQLite/);
    });

    test('--bus takes redis://HOST:PORT[/DB]', async () => {
        const dir = await tempDir();
        for (const bad of ['http://x:1', 'redis://', 'redis://h', 'redis://h:0', 'redis://h:1/x',
            'redis://h:99999', 'redis://[::1:5']) {
            const r = await cli(['serve', '--listen', '127.0.0.1:0', '--data', dir, '--store',
                'postgres://u@127.0.0.1:1/db', '--bus', bad]);
            assert.equal(r.code, 2, `${bad}: ${r.stderr}`);
            assert.match(r.stderr, /--bus takes redis:\/\/HOST:PORT\[\/DB\]/, bad);
        }
    });

    test('--node-id refuses spaces and overlong names', async () => {
        const dir = await tempDir();
        for (const bad of ['a b', 'x'.repeat(101)]) {
            const r = await cli(['serve', '--listen', '127.0.0.1:0', '--data', dir, '--store',
                'postgres://u@127.0.0.1:1/db', '--bus', 'redis://127.0.0.1:1', '--node-id', bad]);
            assert.equal(r.code, 2, r.stderr);
            assert.match(r.stderr, /--node-id/);
        }
    });
});

describe('a cluster', NEEDS_PG, () => {
    let c;
    after(async () => { if (c) await c.stop(); });

    test('/readyz says "bus unavailable" until Redis is there; joins answer 503 meanwhile',
        async () => {
            const port = await freePort();
            const home = await tempDir('rtkd-e2e-cluster-');
            const dir = await tempDir('rtkd-e2e-node-');
            const srv = await start({ dataDir: dir, args: ['serve', '--listen', '127.0.0.1:0',
                '--data', dir, '--store', await storeFor(home), '--bus',
                `redis://127.0.0.1:${port}`, '--node-id', 'lonely', '--dev'], dev: true });
            try {
                const r = await fetch(`${srv.rootURL}/readyz`);
                assert.equal(r.status, 503);
                assert.equal((await r.json()).data.status, 'bus unavailable');
                assert.equal((await fetch(`${srv.rootURL}/healthz`)).status, 200);
                const redis = await startRedis(port);
                try {
                    await eventually(async () => {
                        const ok = await fetch(`${srv.rootURL}/readyz`);
                        assert.equal(ok.status, 200);
                    }, { ms: 8000 });
                } finally {
                    await redis.stop();
                }
                /* Redis gone again: not ready, within the reconnect's detection. */
                await eventually(async () => {
                    const down = await fetch(`${srv.rootURL}/readyz`);
                    assert.equal(down.status, 503);
                }, { ms: 8000 });
            } finally {
                await srv.stop();
            }
        });

    test('one meeting\'s peers on two nodes: one session, counters of the whole cluster at '
        + 'either node', async () => {
        c = await clusterFixture({ nodes: 2 });
        const m = await c.meeting({ session_keep_alive_time_in_secs: 60 });
        const a = await c.participant(m.id, 'a');
        const b = await c.participant(m.id, 'b');
        const pa = await c.connect(0, a);
        const pb = await c.connect(1, b);
        assert.equal(pa.hello.session.id, pb.hello.session.id, 'one session for both nodes');
        for (const i of [0, 1]) {
            await eventually(async () => {
                const s = await c.active(m.id, i);
                assert.equal(s.id, pa.hello.session.id);
                assert.equal(s.live_participants, 2, `node ${i}`);
                assert.equal(s.max_concurrent_participants, 2, `node ${i}`);
            }, { ms: 1000 });
        }
        /* The peer at node 0 hears the cluster's count in session.updated. */
        await pa.next((e) => e.type === 'session.updated' && e.session.live_participants === 2);
        await pb.close();
        for (const i of [0, 1]) {
            await eventually(async () => {
                const s = await c.active(m.id, i);
                assert.equal(s.live_participants, 1, `node ${i} after the leave`);
                assert.equal(s.max_concurrent_participants, 2);
                assert.ok(s.minutes_consumed > 0);
            }, { ms: 1000 });
        }
        await pa.close();
    });

    test('a participant joining at another node replaces its peer there (4002); counted once',
        async () => {
            const m = await c.meeting({ session_keep_alive_time_in_secs: 60 });
            const a = await c.participant(m.id, 'mover');
            const first = await c.connect(0, a);
            const second = await c.connect(1, a);
            const closed = await first.closed();
            assert.equal(closed.code, CLOSE.REPLACED);
            assert.equal(first.hello.session.id, second.hello.session.id);
            for (const i of [0, 1]) {
                await eventually(async () => {
                    const s = await c.active(m.id, i);
                    assert.equal(s.live_participants, 1, `node ${i}`);
                    assert.equal(s.max_concurrent_participants, 1, `node ${i}: never both`);
                }, { ms: 1000 });
            }
            await second.close();
        });

    test('first joins at two nodes at the same instant start one session (20 meetings)',
        async () => {
            const ids = [];
            for (let k = 0; k < 20; k++) {
                const m = await c.meeting({ session_keep_alive_time_in_secs: 60 });
                const a = await c.participant(m.id, 'x');
                const b = await c.participant(m.id, 'y');
                const [pa, pb] = await Promise.all([c.connect(0, a), c.connect(1, b)]);
                assert.equal(pa.hello.session.id, pb.hello.session.id, `meeting ${k}`);
                ids.push(m.id);
                await Promise.all([pa.close(), pb.close()]);
            }
            /* The store agrees: one session per meeting, and both peers in it (the node that
             * did not begin it may write its peer before the other's row is committed). */
            await eventually(async () => {
                const rows = await pgQuery(c.home, 'SELECT s.meeting_id, count(DISTINCT s.id), '
                    + 'count(p.id) FROM sessions s LEFT JOIN session_peers p ON p.session_id = '
                    + `s.id WHERE s.meeting_id IN (${ids.map((i) => `'${i}'`).join(',')}) `
                    + 'GROUP BY s.meeting_id');
                const lines = rows.split('\n');
                assert.equal(lines.length, 20, rows);
                for (const l of lines) assert.match(l, /\|1\|2$/, rows);
            }, { ms: 3000 });
        });

    test('the session ends once, when its last peer anywhere has left and the keep-alive ran '
        + 'out', async () => {
        const m = await c.meeting({ session_keep_alive_time_in_secs: 0 });
        const a = await c.participant(m.id, 'a');
        const b = await c.participant(m.id, 'b');
        const pa = await c.connect(0, a);
        const pb = await c.connect(1, b);
        const sid = pa.hello.session.id;
        await pa.close();
        /* One peer is still there (at the other node): the session goes on. */
        await sleep(1500);
        assert.equal((await c.active(m.id, 0)).id, sid);
        await pb.close();
        await eventually(async () => {
            const rows = await pgQuery(c.home,
                `SELECT status, ended_at IS NOT NULL FROM sessions WHERE meeting_id = '${m.id}'`);
            assert.equal(rows, 'ENDED|t');
        }, { ms: 4000 });
        for (const i of [0, 1]) {
            await assert.rejects(c.activeP(m.id, i), (e) => e.status === 404);
        }
    });

    test('kill -9 of a node: its peers leave within 10 s; the session goes on at the other',
        async () => {
            const m = await c.meeting({ session_keep_alive_time_in_secs: 60 });
            const a = await c.participant(m.id, 'stays');
            const b = await c.participant(m.id, 'lost');
            const pa = await c.connect(0, a);
            const pb = await c.connect(1, b);
            await eventually(async () => {
                assert.equal((await c.active(m.id, 0)).live_participants, 2);
            }, { ms: 1000 });
            const killedAt = Date.now();
            await c.nodes[1].kill();
            await pb.closed();
            await eventually(async () => {
                assert.equal((await c.active(m.id, 0)).live_participants, 1);
            }, { ms: 10000, every: 200 });
            assert.ok(Date.now() - killedAt < 10000);
            /* The lost peer's leave is stored (by the node that noticed). */
            await eventually(async () => {
                const open = await pgQuery(c.home, `SELECT count(*) FROM session_peers p JOIN `
                    + `sessions s ON s.id = p.session_id WHERE s.meeting_id = '${m.id}' `
                    + 'AND p.left_at IS NULL');
                assert.equal(open, '1');
            }, { ms: 3000 });
            /* It reconnects to the node that is left and continues the same session. */
            const again = await c.connect(0, b);
            assert.equal(again.hello.session.id, pa.hello.session.id);
            await Promise.all([pa.close(), again.close()]);
            await c.node(1);
        });

    test('SIGTERM of a node drains it: its peers get 1012 and leave at once, they reconnect '
        + 'to another node into the same session, it exits 0', async () => {
        const m = await c.meeting({ session_keep_alive_time_in_secs: 60 });
        const a = await c.participant(m.id, 'a');
        const b = await c.participant(m.id, 'b');
        const pa = await c.connect(0, a);
        const pb = await c.connect(1, b);
        await eventually(async () => {
            assert.equal((await c.active(m.id, 0)).live_participants, 2);
        }, { ms: 1000 });
        await c.nodes[1].stop({ keepData: true });
        assert.equal((await pb.closed()).code, 1012);
        await eventually(async () => {
            assert.equal((await c.active(m.id, 0)).live_participants, 1);
        }, { ms: 1000 });
        const again = await c.connect(0, b);
        assert.equal(again.hello.session.id, pa.hello.session.id);
        assert.equal(again.hello.session.max_concurrent_participants, 2);
        await Promise.all([pa.close(), again.close()]);
        await c.node(1);
    });

    test('a kick at one node closes the peer at another (4001) before the reply, and bars '
        + 'the participant at every node', async () => {
        const m = await c.meeting({ session_keep_alive_time_in_secs: 60 });
        const a = await c.participant(m.id, 'a');
        const b = await c.participant(m.id, 'b');
        const idle = await c.participant(m.id, 'idle');
        const pa = await c.connect(0, a);
        const pb = await c.connect(1, b);
        const A = c.cf(0).realtimeKit.activeSession;
        const r = await A.kickParticipants(m.id, c.at({ participant_ids: [b.id, idle.id] }));
        assert.deepEqual(r.data.participants.map((x) => x.id), [b.id], 'only b had a live peer');
        /* Its node closed it before it answered the kick's node, so its frames (one loopback
         * hop) are here by the time the reply (through Redis and the other node) is. */
        assert.ok(pb.all.some((e) => e.type === 'kicked'), 'kicked before the reply');
        const kicked = await pb.next((e) => e.type === 'kicked');
        assert.equal(kicked.reason, 'kicked');
        assert.equal((await pb.closed()).code, CLOSE.KICKED);
        for (const i of [0, 1]) {
            await expectRefused(c.nodes[i], b.token, 403);
            assert.equal((await c.active(m.id, i)).live_participants, 1, `node ${i}`);
        }
        assert.equal(pa.closeInfo, null);
        /* A host's participant.kick on the channel goes through the cluster too. */
        const host = await c.participant(m.id, 'host', 0, 'group_call_host');
        const ph = await c.connect(1, host);
        ph.send({ type: 'participant.kick', participant_ids: [a.id], ref: 'k1' });
        const done = await ph.next((e) => e.type === 'done' && e.ref === 'k1');
        assert.deepEqual(done.participants, [a.id]);
        assert.equal((await pa.closed()).code, CLOSE.KICKED);
        await ph.close();
    });

    test('kick-all at one node ends the session at every node: every peer gets kicked and '
        + '4001, the count in the reply, the end stored', async () => {
        const m = await c.meeting({ session_keep_alive_time_in_secs: 60 });
        const parts = [];
        for (let i = 0; i < 4; i++) parts.push(await c.participant(m.id, `p${i}`));
        const peers = [];
        for (let i = 0; i < 4; i++) peers.push(await c.connect(i % 2, parts[i]));
        const sid = peers[0].hello.session.id;
        await eventually(async () => {
            assert.equal((await c.active(m.id, 0)).live_participants, 4);
        }, { ms: 1000 });
        const r = await c.cf(1).realtimeKit.activeSession.kickAllParticipants(m.id, c.at());
        assert.equal(r.data.kicked_participants_count, 4);
        for (const p of peers) {
            assert.ok(p.all.some((e) => e.type === 'kicked'), `${p.label}: kicked before the reply`);
        }
        for (const p of peers) {
            const k = await p.next((e) => e.type === 'kicked', 1000);
            assert.equal(k.reason, 'kick_all');
            assert.equal((await p.closed()).code, CLOSE.KICKED);
        }
        assert.equal(await pgQuery(c.home, `SELECT status FROM sessions WHERE id = '${sid}'`),
            'ENDED');
        assert.equal(await pgQuery(c.home, 'SELECT count(*) FROM session_peers WHERE '
            + `session_id = '${sid}' AND left_at IS NULL`), '0');
        for (const i of [0, 1]) {
            await assert.rejects(c.activeP(m.id, i), (e) => e.status === 404);
        }
        /* A new join starts a new session. */
        const again = await c.connect(0, parts[0]);
        assert.notEqual(again.hello.session.id, sid);
        /* A host's session.kick_all on the channel: `done` listing everyone, then `kicked`. */
        const host = await c.participant(m.id, 'host', 0, 'group_call_host');
        const ph = await c.connect(1, host);
        ph.send({ type: 'session.kick_all', ref: 'ka' });
        const done = await ph.next((e) => e.type === 'done' && e.ref === 'ka');
        assert.deepEqual([...done.participants].sort(), [parts[0].id, host.id].sort());
        await ph.next((e) => e.type === 'kicked');
        const order = ph.all.map((e) => e.type);
        assert.ok(order.indexOf('done') < order.indexOf('kicked'), order.join());
        assert.equal((await ph.closed()).code, CLOSE.KICKED);
        assert.equal((await again.closed()).code, CLOSE.KICKED);
    });

    test('a webhook created at one node gets the events of every node (its cache is told)',
        async () => {
            const rec = await receiver();
            try {
                const m = await c.meeting({ session_keep_alive_time_in_secs: 0 });
                /* Node 1 first learns that the app has no webhook (an event it skips). */
                const warm = await c.participant(m.id, 'warm');
                const pw = await c.connect(1, warm);
                await pw.close();
                const hook = (await c.cf(0).realtimeKit.webhooks.createWebhook(c.appId, {
                    account_id: c.accountId, name: 'c', url: rec.url,
                    events: ['meeting.participantJoined', 'meeting.participantLeft'],
                })).data;
                const a = await c.participant(m.id, 'a');
                const pa = await c.connect(1, a);
                await pa.close();
                await rec.until((reqs) => reqs.filter((q) => q.json?.participant?.peerId
                    === pa.hello.self.peer_id).length === 2, 15000, 'join and leave at node 1');
                await c.cf(0).realtimeKit.webhooks.deleteWebhook(hook.id, c.at());
            } finally {
                await rec.close();
            }
        });

    test('the votes of one commit reach the other nodes in one notice, each counted there',
        async () => {
            const m = await c.meeting({ session_keep_alive_time_in_secs: 60 });
            const watcher = await c.connect(1, await c.participant(m.id, 'watcher'));
            const voters = [];
            for (let i = 0; i < 30; i++) {
                voters.push(await c.connect(0, await c.participant(m.id, `voter${i}`)));
            }
            const poll = (await c.cf(0).realtimeKit.activeSession.createPoll(m.id,
                c.at({ question: 'Which?', options: ['a', 'b'] }))).data.poll;
            await watcher.next((e) => e.type === 'poll.created');
            for (const v of voters) await v.next((e) => e.type === 'poll.created');
            const before = await c.redis.calls('publish');
            /* All at once: a few commits at node 0, so a few notices, not 30. */
            voters.forEach((v, i) => v.send({ type: 'poll.vote', poll_id: poll.id,
                option: i % 3 === 0 ? 1 : 0, ref: `v${i}` }));
            for (const v of voters) await v.next((e) => e.type === 'poll.voted');
            const upd = await watcher.next((e) => e.type === 'poll.updated'
                && e.total_votes === 30, 3000);
            assert.deepEqual(upd.counts, [20, 10]);
            assert.equal(upd.voters.length, 30, 'every vote, with its voter');
            assert.ok(upd.voters.every((x) => /^voter\d+$/.test(x.name)), JSON.stringify(upd.voters));
            const notices = (await c.redis.calls('publish')) - before;
            assert.ok(notices < 15, `${notices} publishes for 30 votes`);
            await Promise.all([watcher.close(), ...voters.map((v) => v.close())]);
        });

    test('polls span nodes: created at one node, shown at every node; votes decided by the '
        + 'store, counted at every node; a later joiner elsewhere sees them in hello', async () => {
        const m = await c.meeting({ session_keep_alive_time_in_secs: 60 });
        const a = await c.participant(m.id, 'a');
        const b = await c.participant(m.id, 'b');
        const pa = await c.connect(0, a);
        const pb = await c.connect(1, b);
        const res = await c.cf(1).realtimeKit.activeSession.createPoll(m.id,
            c.at({ question: 'Where?', options: ['here', 'there'] }));
        const poll = res.data.poll;
        for (const p of [pa, pb]) {
            const ev = await p.next((e) => e.type === 'poll.created');
            assert.equal(ev.poll.id, poll.id, p.label);
        }
        /* A vote at node 1 is acknowledged after the store took it and counted at node 0. */
        pb.send({ type: 'poll.vote', poll_id: poll.id, option: 1, ref: 'v1' });
        const voted = await pb.next((e) => e.type === 'poll.voted' && e.ref === 'v1');
        assert.deepEqual(voted.counts, [0, 1]);
        const rest = await http(c.nodes[0], 'GET', `/accounts/${c.accountId}/realtime/kit/`
            + `${c.appId}/meetings/${m.id}/active-session/polls/${poll.id}`, { token: c.token });
        assert.equal(rest.status, 200, rest.text);
        assert.deepEqual(rest.json.data.poll.options.map((o) => o.count), [0, 1],
            'REST at the other node includes the vote at once');
        const upd = await pa.next((e) => e.type === 'poll.updated' && e.total_votes === 1, 3000);
        assert.deepEqual(upd.counts, [0, 1]);
        pb.send({ type: 'poll.vote', poll_id: poll.id, option: 0, ref: 'v2' });
        assert.equal((await pb.next((e) => e.type === 'error' && e.ref === 'v2')).code,
            'already_voted');
        /* A host at node 0 creates one on the channel: poll.created with its ref, everywhere. */
        const host = await c.participant(m.id, 'host', 0, 'group_call_host');
        const ph = await c.connect(0, host);
        ph.send({ type: 'poll.create', question: 'Now?', options: ['yes', 'no'], ref: 'pc' });
        const mine = await ph.next((e) => e.type === 'poll.created' && e.ref === 'pc');
        assert.equal((await pb.next((e) => e.type === 'poll.created' && e.poll.id
            === mine.poll.id)).poll.question, 'Now?');
        /* A participant joining at a node with no share yet sees both polls and the vote. */
        const late = await c.participant(m.id, 'late');
        await Promise.all([pb.close(), ph.close()]);
        await sleep(1500); /* node 1 forgets its share once its last peer left */
        const pl = await c.connect(1, late);
        const polls = pl.hello.polls;
        assert.deepEqual(polls.map((x) => x.id), [poll.id, mine.poll.id]);
        assert.equal(polls[0].total_votes, 1);
        await Promise.all([pa.close(), pl.close()]);
    });

    test('one node sends the deliveries: every event once, in order per meeting, whichever '
        + 'node it happened at', async () => {
        const rec = await receiver();
        try {
            const hook = (await c.cf(1).realtimeKit.webhooks.createWebhook(c.appId, {
                account_id: c.accountId, name: 'once', url: rec.url,
                events: ['meeting.participantJoined', 'meeting.participantLeft'],
            })).data;
            const m = await c.meeting({ session_keep_alive_time_in_secs: 60 });
            const peers = [];
            for (let i = 0; i < 8; i++) {
                const part = await c.participant(m.id, `w${i}`);
                peers.push(await c.connect(i % 2, part));
            }
            for (const p of peers) await p.close();
            const mine = (reqs) => reqs.filter((q) => q.json?.meeting?.id === m.id);
            await rec.until((reqs) => mine(reqs).length >= 16, 15000, '16 deliveries');
            await sleep(1500); /* a second sender would have sent its copies by now */
            const got = mine(rec.requests);
            assert.equal(got.length, 16, 'each event once');
            assert.equal(new Set(got.map((q) => q.headers['rtk-uuid'])).size, 16);
            /* In order per meeting: each peer's leave after its join. */
            const at = new Map(got.map((q, i) => [`${q.json.event}:${q.json.participant.peerId}`, i]));
            for (const p of peers) {
                assert.ok(at.get(`meeting.participantJoined:${p.hello.self.peer_id}`)
                    < at.get(`meeting.participantLeft:${p.hello.self.peer_id}`));
            }
            /* A kick-all at node 0: every node's peers leave with the end, each told once, with
             * its participant. */
            const kicked = [];
            for (let i = 0; i < 4; i++) {
                const part = await c.participant(m.id, `k${i}`);
                kicked.push(await c.connect(i % 2, part));
            }
            await c.cf(0).realtimeKit.activeSession.kickAllParticipants(m.id, c.at());
            await rec.until((reqs) => mine(reqs).length >= 24, 15000, '24 deliveries');
            await sleep(1500);
            const left = mine(rec.requests).slice(16)
                .filter((q) => q.json.event === 'meeting.participantLeft');
            assert.deepEqual(left.map((q) => q.json.participant.peerId).sort(),
                kicked.map((p) => p.hello.self.peer_id).sort(), 'each kicked peer\'s leave once');
            for (const q of left) assert.match(q.json.participant.userDisplayName, /^k\d$/);
            await c.cf(1).realtimeKit.webhooks.deleteWebhook(hook.id, c.at());
        } finally {
            await rec.close();
        }
    });

    test('garbage on the bus changes nothing and crashes no node', async () => {
        const m = await c.meeting({ session_keep_alive_time_in_secs: 60 });
        const a = await c.participant(m.id, 'a');
        const pa = await c.connect(0, a);
        const sid = pa.hello.session.id;
        const junk = ['x', 'c', `c ${sid}`, `c ${sid} a b c d e`, `c ${sid} -5 -5 -5 -5 -5`,
            'p', `p ${sid}`, `p ${sid} {"id":1}`, `p ${sid} {bad json`, 'v', `v ${sid} p q z`,
            'e', 'x a b', `r ${a.id}`, 'k a b c', 'a', 'h', `${'z'.repeat(5000)}`,
            /* (\\n: a newline, as Redis reads a quoted argument) */
            'V', `V ${sid}`, `V ${sid}\\nq r 0 99999 x\\n`, `V ${sid}\\nq r x 1 a\\n`,
            `V ${sid}\\n${'p'.repeat(300)}`, `V ${sid}\\nq r 0 3 ab`,
            `V ${sid}\\nq r 0 18446744073709551615 ab\\n`, 'rj', `rj ${sid}`,
            `rj ${sid} node-9 {bad`, `rj ${sid} node-9 {"peer_id":5}`, 'rl', 'wl x',
            `wj ${sid} node-9 {}`, 'wa', `wa ${m.id} ${a.id} nope`,
            `wf ${m.id} ${a.id} ${pa.hello.self.peer_id}`, `wa ${m.id} ${a.id} ${pa.hello.self.peer_id}`];
        for (const chan of [`rtkd:m:${m.id}`, 'rtkd:n:node-0', 'rtkd:n:node-1', 'rtkd:hooks']) {
            for (const msg of junk) {
                const r = await c.redis.command(`PUBLISH ${chan} "${msg.replace(/"/g, '\\"')}"`);
                assert.match(r, /^:\d+/, r);
            }
        }
        for (const i of [0, 1]) {
            assert.equal((await fetch(`${c.nodes[i].rootURL}/readyz`)).status, 200);
            const s = await c.active(m.id, i);
            assert.equal(s.id, sid);
            assert.equal(s.live_participants, 1);
        }
        assert.equal((await pa.ping()).type, 'pong');
        assert.equal(pa.closeInfo, null);
        await pa.close();
    });

    test('the bus going away: peers stay connected, joins get 503, counts come back', async () => {
        const m = await c.meeting({ session_keep_alive_time_in_secs: 60 });
        const a = await c.participant(m.id, 'a');
        const b = await c.participant(m.id, 'b');
        const pa = await c.connect(0, a);
        await c.redis.stop(); /* its contents are lost, as in a crash */
        await eventually(async () => {
            assert.equal((await fetch(`${c.nodes[1].rootURL}/readyz`)).status, 503);
        }, { ms: 8000, every: 100 });
        const refused = await expectRefused(c.nodes[1], b.token, 503);
        assert.match(refused.json.error.message, /bus/);
        await c.redis.restart(); /* empty */
        /* Within 15 s every node republished its own peers. */
        await eventually(async () => {
            assert.equal((await c.active(m.id, 1)).live_participants, 1);
        }, { ms: 15000, every: 250 });
        const pb = await c.connect(1, b);
        assert.equal(pb.hello.session.id, pa.hello.session.id, 'the same session goes on');
        assert.equal(pa.closeInfo, null, 'the peer stayed connected');
        await eventually(async () => {
            assert.equal((await c.active(m.id, 0)).live_participants, 2);
        }, { ms: 1000 });
        await Promise.all([pa.close(), pb.close()]);
    });
});
