// SPDX-License-Identifier: MIT
// The participant list and the waiting room of one meeting spread over two nodes (PROTOCOL.md
// §3a, §4, §5 on a cluster, docs/cluster.md): every node lists every node's listed peers
// (hello.participants, participants.updated; hidden ones never), and its waiting peers
// (hello.waiting, waiting.updated); a host at one node admits or refuses a peer waiting at
// another (done lists those acted on, once, even when two hosts decide at once); a refusal
// holds at every node's handshake (403), an admission (SKIP_ON_ACCEPT) at every node's; kicks
// and kick-alls reach waiting peers elsewhere (4001, 4004); a waiting peer whose node dies
// leaves the lists; a peer that waits before any host keeps waiting past the keep-alive.
// Real PostgreSQL, real Redis, real nodes.

import assert from 'node:assert/strict';
import { describe, before, after } from 'node:test';
import { test, STORE, sleep } from '../lib/rtkd.js';
import { CLOSE, eventually, expectRefused } from '../lib/peer.js';
import { clusterFixture } from '../lib/cluster.js';
import { presetBody } from '../lib/presets.js';
import { receiver } from '../lib/webhooks.js';
import {
    ask, doneWith, assertListed, assertWaitingHello, assertWaitingEntry, NOBODY,
} from '../lib/hosts.js';

const NEEDS_PG = STORE === 'postgres' ? {}
    : { skip: 'a cluster needs PostgreSQL: these run in the PostgreSQL pass of make test' };

/* The peer ids PEER lists now in KEY ('participants' or 'waiting'): its hello's list with
 * every update of that list applied, in the order received. */
function listed(peer, key) {
    const type = key === 'participants' ? 'participants.updated' : 'waiting.updated';
    const ids = new Map((peer.hello[key] || []).map((e) => [e.peer_id, e]));
    for (const e of peer.all) {
        if (e.type !== type) continue;
        for (const id of e.left) ids.delete(id);
        for (const j of e.joined) ids.set(j.peer_id, j);
    }
    return ids;
}

/* Waits until PEER's KEY list holds exactly the peer ids WANT. */
async function listsExactly(peer, key, want, ms = 4000) {
    await eventually(async () => {
        assert.deepEqual([...listed(peer, key).keys()].sort(), [...want].sort(),
            `${peer.label} ${key}`);
    }, { ms, every: 50 });
}

describe('lists and the waiting room across nodes', NEEDS_PG, () => {
    let c;
    before(async () => {
        c = await clusterFixture({ nodes: 2 });
        const P = c.cf(0).realtimeKit.presets;
        for (const [name, flags] of [['ghost', { hidden: true }],
            ['once', { wait: 'SKIP_ON_ACCEPT', list: false }], ['quiet', { list: false }]]) {
            const res = await P.create(c.appId, { account_id: c.accountId, ...presetBody(name, flags) });
            assert.equal(res.success, true, JSON.stringify(res));
        }
    });
    after(async () => { if (c) await c.stop(); });

    test('every node lists every node\'s listed peers: hello, updates, leaves, replaces; ' +
        'hidden ones never', async () => {
        const m = await c.meeting();
        const a = await c.participant(m.id, 'ann', 0, 'group_call_host');
        const b = await c.participant(m.id, 'bob', 0, 'group_call_participant');
        const g = await c.participant(m.id, 'ghost', 0, 'ghost');
        const d = await c.participant(m.id, 'dan', 0, 'group_call_participant');
        const pa = await c.connect(0, a);
        const pg = await c.connect(1, g); /* counted, never listed */
        const pb = await c.connect(1, b);
        const idA = pa.hello.self.peer_id;
        const idB = pb.hello.self.peer_id;
        /* bob's node took its share after ann's join: its hello lists ann (from Redis). */
        assert.deepEqual([...listed(pb, 'participants').keys()].sort(), [idA, idB].sort(),
            JSON.stringify(pb.hello.participants));
        assertListed(listed(pb, 'participants').get(idA), a, idA, 'ann at bob\'s node');
        /* ann hears of bob (participants.updated, at most one per second). */
        await listsExactly(pa, 'participants', [idA, idB], 3000);
        assertListed(listed(pa, 'participants').get(idB), b, idB, 'bob at ann\'s node');
        /* A later joiner at node 0 lists both nodes' peers in its hello. */
        const pd = await c.connect(0, d);
        const idD = pd.hello.self.peer_id;
        assert.deepEqual([...listed(pd, 'participants').keys()].sort(), [idA, idB, idD].sort());
        await listsExactly(pb, 'participants', [idA, idB, idD], 3000);
        assert.equal((await c.active(m.id, 1)).live_participants, 4, 'the ghost is counted');
        /* bob moves to node 0 (replaced at node 1, 4002): every list swaps his peers. */
        const pb2 = await c.connect(0, b);
        assert.equal((await pb.closed()).code, CLOSE.REPLACED);
        const idB2 = pb2.hello.self.peer_id;
        for (const p of [pa, pd]) await listsExactly(p, 'participants', [idA, idB2, idD], 3000);
        assert.deepEqual([...listed(pb2, 'participants').keys()].sort(), [idA, idB2, idD].sort());
        /* dan leaves: gone from the other node's lists too. */
        await pd.close();
        await listsExactly(pa, 'participants', [idA, idB2], 3000);
        await Promise.all([pa.close(), pb2.close(), pg.close()]);
    });

    test('a burst of joins at one node reaches the other\'s peers as a few counters\' notices, ' +
        'the last one exact', async () => {
        const m = await c.meeting();
        const w = await c.participant(m.id, 'watcher', 0, 'group_call_participant');
        const pw = await c.connect(1, w);
        const parts = [];
        for (let i = 0; i < 30; i++) parts.push(await c.participant(m.id, `g${i}`, 0, 'ghost'));
        const before = await c.redis.calls('publish');
        const peers = await Promise.all(parts.map((p) => c.connect(0, p)));
        /* (ghosts are never listed: no list notices either) */
        const upd = await pw.next((e) => e.type === 'session.updated'
            && e.session.live_participants === 31, 4000);
        assert.equal(upd.session.max_concurrent_participants, 31);
        const notices = (await c.redis.calls('publish')) - before;
        assert.ok(notices < 15, `${notices} publishes for 30 joins`);
        await Promise.all([pw.close(), ...peers.map((p) => p.close())]);
    });

    test('a kick and a replace decided elsewhere leave this node\'s counts right ' +
        '(session.updated)', async () => {
        const m = await c.meeting({ session_keep_alive_time_in_secs: 60 });
        const w = await c.participant(m.id, 'watch', 0, 'group_call_participant');
        const k = await c.participant(m.id, 'kicked', 0, 'group_call_participant');
        const r = await c.participant(m.id, 'moves', 0, 'group_call_participant');
        const pw = await c.connect(1, w);
        const pk = await c.connect(1, k);
        const pr = await c.connect(1, r);
        const p0 = await c.connect(0, await c.participant(m.id, 'other', 0, 'ghost'));
        const live = () => {
            const ups = pw.all.filter((e) => e.type === 'session.updated');
            return ups.length ? ups[ups.length - 1].session.live_participants : null;
        };
        await eventually(async () => assert.equal(live(), 4), { ms: 3000 });
        await c.cf(0).realtimeKit.activeSession.kickParticipants(m.id,
            c.at({ participant_ids: [k.id] }));
        const pr2 = await c.connect(0, r); /* replaces its peer at node 1 (4002) */
        assert.equal((await pr.closed()).code, CLOSE.REPLACED);
        await sleep(2500); /* two coalescing periods: the last session.updated is the count */
        assert.equal(live(), 3, JSON.stringify(pw.all.filter((e) => e.type === 'session.updated')
            .map((e) => e.session.live_participants)));
        assert.equal((await c.active(m.id, 1)).live_participants, 3);
        await Promise.all([pw.close(), pr2.close(), p0.close()]);
    });

    test('a node whose peers see no list keeps none; its first peer that does gets the whole ' +
        'list in its hello, and so does the next one after it left', async () => {
        const m = await c.meeting();
        const a = await c.participant(m.id, 'ann', 0, 'group_call_host');
        const q = await c.participant(m.id, 'quinn', 0, 'quiet');
        const b = await c.participant(m.id, 'bob', 0, 'group_call_participant');
        const d = await c.participant(m.id, 'dan', 0, 'group_call_participant');
        const e = await c.participant(m.id, 'eve', 0, 'group_call_participant');
        /* How many nodes hear the meeting's list news (only those that keep a list). */
        const listeners = async () => Number(/:(\d+)\r\n$/.exec(
            await c.redis.command(`PUBSUB NUMSUB rtkd:l:${m.id}`))[1]);
        const pa = await c.connect(0, a);
        const pq = await c.connect(1, q); /* node 1 keeps no list for it */
        assert.equal(pq.hello.participants, undefined);
        assert.equal(await listeners(), 1, 'node 0 only');
        const pb = await c.connect(0, b);
        const ids = [pa, pq, pb].map((p) => p.hello.self.peer_id);
        await listsExactly(pa, 'participants', ids, 3000);
        const pd = await c.connect(1, d);
        assert.deepEqual([...listed(pd, 'participants').keys()].sort(),
            [...ids, pd.hello.self.peer_id].sort(), 'read when its first lister joined');
        assert.equal(await listeners(), 2);
        /* While it has a lister, node 1 follows the others' changes. */
        await pb.close();
        await listsExactly(pd, 'participants', [ids[0], ids[1], pd.hello.self.peer_id], 3000);
        await pd.close();
        await sleep(300); /* node 1 forgets the list (its tick) */
        assert.equal(await listeners(), 1, 'node 1 no longer hears it');
        const pb2 = await c.connect(0, b);
        const pe = await c.connect(1, e);
        assert.deepEqual([...listed(pe, 'participants').keys()].sort(),
            [ids[0], ids[1], pb2.hello.self.peer_id, pe.hello.self.peer_id].sort());
        await Promise.all([pa.close(), pq.close(), pb2.close(), pe.close()]);
    });

    test('a host at one node sees, admits and refuses peers waiting at another', async () => {
        const m = await c.meeting();
        const h = await c.participant(m.id, 'host', 0, 'group_call_host');
        const v = await c.participant(m.id, 'vera', 0, 'webinar_viewer');
        const w = await c.participant(m.id, 'walt', 0, 'webinar_viewer');
        const ph = await c.connect(0, h);
        const pv = await c.connect(1, v);
        const pw = await c.connect(1, w);
        assertWaitingHello(pv.hello, v);
        assertWaitingHello(pw.hello, w);
        const idV = pv.hello.self.peer_id;
        const idW = pw.hello.self.peer_id;
        await listsExactly(ph, 'waiting', [idV, idW]);
        assertWaitingEntry(listed(ph, 'waiting').get(idV), v, idV, 'vera at the host\'s node');
        assert.equal((await c.active(m.id, 1)).live_participants, 1, 'waiting peers not counted');
        /* A second host, at the waiting peers' node, lists them in its hello. */
        const h2 = await c.participant(m.id, 'host2', 0, 'group_call_host');
        const ph2 = await c.connect(1, h2);
        assert.deepEqual([...listed(ph2, 'waiting').keys()].sort(), [idV, idW].sort());

        /* Admitted from node 0: vera joins at node 1, in the same session, counted. */
        await doneWith(ph, { type: 'waiting.admit', participant_ids: [v.id, NOBODY, h.id] },
            'admit', [v.id]);
        const adm = await pv.next('admitted');
        assert.equal(adm.state, 'joined');
        assert.equal(adm.session.id, ph.hello.session.id);
        await eventually(async () => {
            assert.equal((await c.active(m.id, 0)).live_participants, 3);
        }, { ms: 2000 });
        for (const p of [ph, ph2]) await listsExactly(p, 'waiting', [idW]);
        await listsExactly(ph, 'participants',
            [ph.hello.self.peer_id, ph2.hello.self.peer_id, idV], 3000);
        /* Admitted once: a second admission of her acts on nobody. */
        await doneWith(ph2, { type: 'waiting.admit', participant_ids: [v.id] }, 'admit', []);

        /* Refused from node 0: walt gets `refused`, 4004, and 403 at every node after. */
        await doneWith(ph, { type: 'waiting.refuse', participant_ids: [w.id] }, 'refuse', [w.id]);
        await pw.next('refused');
        assert.equal((await pw.closed()).code, CLOSE.WAITING_ENDED);
        for (const p of [ph, ph2]) await listsExactly(p, 'waiting', []);
        for (const i of [0, 1]) {
            const r = await expectRefused(c.nodes[i], w.token, 403);
            assert.match(r.json.error.message, /refused from the waiting room/, `node ${i}`);
        }
        await Promise.all([ph.close(), ph2.close(), pv.close()]);
    });

    test('two hosts at two nodes admit the same peer at once: it is admitted once', async () => {
        const m = await c.meeting();
        const h0 = await c.participant(m.id, 'h0', 0, 'group_call_host');
        const h1 = await c.participant(m.id, 'h1', 0, 'group_call_host');
        const v = await c.participant(m.id, 'v', 0, 'webinar_viewer');
        const p0 = await c.connect(0, h0);
        const p1 = await c.connect(1, h1);
        const pv = await c.connect(1, v);
        await listsExactly(p0, 'waiting', [pv.hello.self.peer_id]);
        const msg = { type: 'waiting.admit', participant_ids: [v.id] };
        const [d0, d1] = await Promise.all([ask(p0, msg), ask(p1, msg)]);
        const acted = [d0.ev, d1.ev].map((e) => {
            assert.equal(e.type, 'done', JSON.stringify(e));
            return e.participants;
        });
        assert.deepEqual(acted.flat(), [v.id], JSON.stringify(acted));
        await pv.next('admitted');
        await sleep(300);
        assert.equal(pv.all.filter((e) => e.type === 'admitted').length, 1);
        await Promise.all([p0.close(), p1.close(), pv.close()]);
    });

    test('SKIP_ON_ACCEPT: admitted at one node, it skips the wait at the other', async () => {
        const m = await c.meeting();
        const h = await c.participant(m.id, 'host', 0, 'group_call_host');
        const o = await c.participant(m.id, 'olga', 0, 'once');
        const ph = await c.connect(0, h);
        const po = await c.connect(1, o);
        assertWaitingHello(po.hello, o);
        await listsExactly(ph, 'waiting', [po.hello.self.peer_id]);
        await doneWith(ph, { type: 'waiting.admit', participant_ids: [o.id] }, 'admit', [o.id]);
        await po.next('admitted');
        await po.close();
        const again = await c.connect(0, o);
        assert.equal(again.hello.state, 'joined', 'admitted once in this session, at node 1');
        assert.equal(again.hello.session.id, ph.hello.session.id);
        await Promise.all([ph.close(), again.close()]);
    });

    test('kick and kick-all reach peers waiting at another node (4001, then 4004)', async () => {
        const m = await c.meeting();
        const h = await c.participant(m.id, 'host', 0, 'group_call_host');
        const k = await c.participant(m.id, 'kim', 0, 'webinar_viewer');
        const e = await c.participant(m.id, 'eve', 0, 'webinar_viewer');
        const ph = await c.connect(0, h);
        const pk = await c.connect(1, k);
        const pe = await c.connect(1, e);
        await listsExactly(ph, 'waiting', [pk.hello.self.peer_id, pe.hello.self.peer_id]);
        await doneWith(ph, { type: 'participant.kick', participant_ids: [k.id] }, 'kick', [k.id]);
        assert.equal((await pk.closed()).code, CLOSE.KICKED);
        await listsExactly(ph, 'waiting', [pe.hello.self.peer_id]);
        await expectRefused(c.nodes[1], k.token, 403);
        /* REST lists only those that had a live peer (as a single node's), and closes it too. */
        const r = c.participant(m.id, 'rex', 0, 'webinar_viewer');
        const pr = await c.connect(1, await r);
        await listsExactly(ph, 'waiting', [pe.hello.self.peer_id, pr.hello.self.peer_id]);
        const res = await c.cf(0).realtimeKit.activeSession.kickParticipants(m.id,
            c.at({ participant_ids: [(await r).id] }));
        assert.deepEqual(res.data.participants, [], 'a waiting peer is not a live one');
        assert.equal((await pr.closed()).code, CLOSE.KICKED);
        await doneWith(ph, { type: 'session.kick_all' }, 'kick_all', [h.id]);
        assert.equal((await pe.closed()).code, CLOSE.WAITING_ENDED);
        assert.equal((await ph.closed()).code, CLOSE.KICKED);
    });

    test('a peer that waits before any host keeps waiting past the keep-alive; the first ' +
        'host at another node sees it and admits it', async () => {
        const rec = await receiver();
        const hook = (await c.cf(0).realtimeKit.webhooks.createWebhook(c.appId, {
            account_id: c.accountId, name: 'started', url: rec.url,
            events: ['meeting.started'],
        })).data;
        try {
            const m = await c.meeting({ session_keep_alive_time_in_secs: 1 });
            const mine = (reqs) => reqs.filter((q) => q.json?.meeting?.id === m.id);
            const v = await c.participant(m.id, 'early', 0, 'webinar_viewer');
            const h = await c.participant(m.id, 'late-host', 0, 'group_call_host');
            const pv = await c.connect(1, v);
            assertWaitingHello(pv.hello, v);
            await sleep(11500); /* past the session's reaping (keep-alive, at least 10 s) */
            assert.equal(pv.closeInfo, null, 'still waiting');
            assert.equal(mine(rec.requests).length, 0, 'a waiting peer starts no session');
            const ph = await c.connect(0, h);
            assert.deepEqual([...listed(ph, 'waiting').keys()], [pv.hello.self.peer_id]);
            /* The host is the first to join it: its node tells meeting.started, once. */
            await rec.until((reqs) => mine(reqs).length >= 1, 5000, 'meeting.started');
            assert.equal(mine(rec.requests)[0].json.meeting.sessionId, ph.hello.session.id);
            await doneWith(ph, { type: 'waiting.admit', participant_ids: [v.id] }, 'admit', [v.id]);
            const adm = await pv.next('admitted');
            assert.equal(adm.session.id, ph.hello.session.id);
            await eventually(async () => {
                assert.equal((await c.active(m.id, 1)).live_participants, 2);
            }, { ms: 2000 });
            await sleep(1500);
            assert.equal(mine(rec.requests).length, 1, 'meeting.started once');
            await Promise.all([ph.close(), pv.close()]);
        } finally {
            await c.cf(0).realtimeKit.webhooks.deleteWebhook(hook.id, c.at());
            await rec.close();
        }
    });

    test('Redis restarted empty: the nodes put their waiting and listed peers back; the host ' +
        'still lists them and admits the waiting one', async () => {
        const m = await c.meeting({ session_keep_alive_time_in_secs: 60 });
        const h = await c.participant(m.id, 'host', 0, 'group_call_host');
        const v = await c.participant(m.id, 'patient', 0, 'webinar_viewer');
        const b = await c.participant(m.id, 'bea', 0, 'group_call_participant');
        const ph = await c.connect(0, h);
        const pv = await c.connect(1, v);
        const pb = await c.connect(1, b);
        const idV = pv.hello.self.peer_id;
        const idB = pb.hello.self.peer_id;
        await listsExactly(ph, 'waiting', [idV]);
        await listsExactly(ph, 'participants', [ph.hello.self.peer_id, idB]);
        await c.redis.restart(); /* empty */
        await eventually(async () => {
            assert.equal((await c.active(m.id, 0)).live_participants, 2);
        }, { ms: 15000, every: 250 });
        await sleep(500);
        await listsExactly(ph, 'waiting', [idV]);
        await listsExactly(ph, 'participants', [ph.hello.self.peer_id, idB]);
        /* A host joining now at node 1 reads the lists back from Redis. */
        const h2 = await c.participant(m.id, 'host2', 0, 'group_call_host');
        const ph2 = await c.connect(1, h2);
        assert.deepEqual([...listed(ph2, 'waiting').keys()], [idV]);
        await doneWith(ph, { type: 'waiting.admit', participant_ids: [v.id] }, 'admit', [v.id]);
        await pv.next('admitted');
        await Promise.all([ph.close(), pv.close(), pb.close(), ph2.close()]);
    });

    test('a node dies: its waiting peer leaves the host\'s waiting list, its live peer the ' +
        'list, and the live one\'s participantLeft webhook names it (lease)', async () => {
        const rec = await receiver();
        try {
            const hook = (await c.cf(0).realtimeKit.webhooks.createWebhook(c.appId, {
                account_id: c.accountId, name: 'lost', url: rec.url,
                events: ['meeting.participantLeft'],
            })).data;
            const m = await c.meeting({ session_keep_alive_time_in_secs: 60 });
            const h = await c.participant(m.id, 'host', 0, 'group_call_host');
            const v = await c.participant(m.id, 'lost', 0, 'webinar_viewer');
            const l = await c.participant(m.id, 'lost-live', 0, 'group_call_participant');
            const ph = await c.connect(0, h);
            const pv = await c.connect(1, v);
            const pl = await c.connect(1, l);
            await listsExactly(ph, 'waiting', [pv.hello.self.peer_id]);
            await listsExactly(ph, 'participants', [ph.hello.self.peer_id, pl.hello.self.peer_id]);
            await c.nodes[1].kill();
            await listsExactly(ph, 'waiting', [], 10000);
            await listsExactly(ph, 'participants', [ph.hello.self.peer_id], 3000);
            const mine = (reqs) => reqs.filter((q) => q.json?.meeting?.id === m.id);
            await rec.until((reqs) => mine(reqs).length >= 1, 8000, 'the lost peer\'s leave');
            const left = mine(rec.requests)[0].json.participant;
            assert.equal(left.peerId, pl.hello.self.peer_id);
            assert.equal(left.userDisplayName, 'lost-live');
            assert.equal(left.customParticipantId, 'lost-live');
            assert.equal(left.presetName, 'group_call_participant');
            await ph.close();
            await c.cf(0).realtimeKit.webhooks.deleteWebhook(hook.id, c.at());
        } finally {
            await rec.close();
        }
        await c.node(1);
    });
});
