// SPDX-License-Identifier: MIT
// Session lifecycle (PROTOCOL.md §3): keep-alive 0 and 1 s, INACTIVE meetings, deleting a
// connected participant, restarts (SIGTERM and SIGKILL) with a live session, kicks surviving a
// crash, and the heartbeat dropping a silent peer.

import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { test, expectRtkError, sleep } from '../lib/rtkd.js';
import {
    liveFixture, expectRefused, assertSessionShape, eventually, CLOSE,
} from '../lib/peer.js';

let f;

before(async () => {
    f = await liveFixture();
});

after(async () => {
    if (f) await f.stop();
});

/* The stored peers of session SID (all pages). */
async function peersOf(sid) {
    const r = await f.sessionParticipants(sid, { per_page: 100 });
    return r.data.participants;
}

test('keep-alive 0: the session ends at the last leave', async () => {
    const { meeting, parts } = await f.meetingWith(2, { title: 'ka0',
        session_keep_alive_time_in_secs: 0 }, 'k0');
    const pa = await f.connect(parts[0]);
    const pb = await f.connect(parts[1]);
    const sid = pa.hello.session.id;
    await pa.close();
    const s = await f.active(meeting.id);
    assert.deepEqual([s.id, s.status, s.live_participants], [sid, 'LIVE', 1]);
    await pb.close();
    /* The close is answered after the leave is recorded: the session is over now. */
    await eventually(() => expectRtkError(f.activeP(meeting.id), 404), { ms: 1000, every: 20 });
    const ended = await f.session(sid);
    assertSessionShape(ended, { meeting, appId: f.appId, status: 'ENDED' });
    assert.equal(ended.max_concurrent_participants, 2);
    const peers = await peersOf(sid);
    const lastLeft = Math.max(...peers.map((p) => Date.parse(p.left_at)));
    const endedAt = Date.parse(ended.ended_at);
    assert.ok(endedAt >= lastLeft && endedAt - lastLeft < 250,
        `ended_at ${ended.ended_at} vs last left_at ${new Date(lastLeft).toISOString()}`);
    /* The next join starts a new session. */
    const pc = await f.connect(parts[0]);
    assert.notEqual(pc.hello.session.id, sid);
    await pc.close();
});

test('keep-alive 1 s: a rejoin within the window continues the session; after it, 404',
    async () => {
        const { meeting, parts } = await f.meetingWith(1, { title: 'ka1',
            session_keep_alive_time_in_secs: 1 }, 'k1');
        const p1 = await f.connect(parts[0]);
        const sid = p1.hello.session.id;
        await p1.close();
        await sleep(300);
        const mid = await f.active(meeting.id);
        assert.deepEqual([mid.id, mid.status, mid.live_participants], [sid, 'LIVE', 0]);
        const p2 = await f.connect(parts[0]);
        assert.equal(p2.hello.session.id, sid, 'the same session continues');
        assert.equal(p2.hello.session.live_participants, 1);
        /* The rejoin cancelled the first window: stay past where it would have ended. */
        await sleep(1000);
        assert.equal((await f.active(meeting.id)).live_participants, 1);
        await p2.close();
        const leftAt = Date.now();
        await sleep(500);
        assert.equal((await f.active(meeting.id)).status, 'LIVE', 'still inside the window');
        await eventually(() => expectRtkError(f.activeP(meeting.id), 404), { ms: 3000, every: 25 });
        const gone = Date.now() - leftAt;
        assert.ok(gone >= 950, `ended ${gone} ms after the last leave`);
        /* The server's own clock: ended_at is the window's end, within 250 ms. */
        const s = await f.session(sid);
        assert.equal(s.status, 'ENDED');
        const peers = await peersOf(sid);
        assert.equal(peers.length, 2);
        const lastLeft = Math.max(...peers.map((p) => Date.parse(p.left_at)));
        const late = Date.parse(s.ended_at) - (lastLeft + 1000);
        assert.ok(late >= 0 && late <= 250, `ended_at ${s.ended_at} is ${late} ms after the window`);
    });

test('changing session_keep_alive_time_in_secs during a live session applies to its end',
    async () => {
        const { meeting, parts } = await f.meetingWith(1, { title: 'ka change' }, 'kc');
        const p = await f.connect(parts[0]);
        const sid = p.hello.session.id;
        await f.updateMeeting(meeting.id, { session_keep_alive_time_in_secs: 0 });
        await p.close();
        await eventually(() => expectRtkError(f.activeP(meeting.id), 404), { ms: 1000, every: 20 });
        assert.equal((await f.session(sid)).status, 'ENDED');
    });

test('a meeting set INACTIVE refuses new joins (403); ACTIVE again admits them', async () => {
    const { meeting, parts } = await f.meetingWith(2, { title: 'inactive' }, 'ia');
    await f.updateMeeting(meeting.id, { status: 'INACTIVE' });
    const r = await expectRefused(f.srv, parts[0].token, 403);
    assert.ok(r.json.error.message.length > 0);
    await expectRefused(f.srv, parts[1].token, 403, { bearer: true });
    await expectRtkError(f.activeP(meeting.id), 404, 'No active session found');
    await f.updateMeeting(meeting.id, { status: 'ACTIVE' });
    const p = await f.connect(parts[0]);
    await f.updateMeeting(meeting.id, { status: 'INACTIVE' });
    await expectRefused(f.srv, parts[1].token, 403);
    await p.ping();
    await p.close();
    await f.kickAll(meeting.id);
});

test('deleting a connected participant closes its peer with 4003; its token then gets 401',
    async () => {
        const { meeting, parts } = await f.meetingWith(2, { title: 'delete' }, 'del');
        const [a, b] = parts;
        const pa = await f.connect(a);
        const pb = await f.connect(b);
        await f.deleteParticipant(meeting.id, a.id);
        const c = await pa.closed();
        assert.equal(c.code, CLOSE.DELETED, JSON.stringify(c));
        await expectRefused(f.srv, a.token, 401);
        await expectRefused(f.srv, a.token, 401, { bearer: true });
        const s = await f.active(meeting.id);
        assert.deepEqual([s.live_participants, s.max_concurrent_participants], [1, 2]);
        await pb.ping();
        /* Deleting one that is not connected is fine too; its token is dead. */
        await pb.close();
        await f.deleteParticipant(meeting.id, b.id);
        await expectRefused(f.srv, b.token, 401);
        await f.kickAll(meeting.id);
    });

test('SIGTERM closes peers with 1001; after a restart the session is LIVE and continues',
    async () => {
        const { meeting, parts } = await f.meetingWith(2, { title: 'restart term' }, 'rt');
        const pa = await f.connect(parts[0]);
        const pb = await f.connect(parts[1]);
        const sid = pa.hello.session.id;
        await sleep(100);
        const before = await f.active(meeting.id);
        await f.restart();
        assert.equal((await pa.closed()).code, CLOSE.GOING_AWAY);
        assert.equal((await pb.closed()).code, CLOSE.GOING_AWAY);

        const s = await f.active(meeting.id);
        assertSessionShape(s, { meeting, appId: f.appId });
        assert.equal(s.id, sid);
        assert.equal(s.live_participants, 0);
        assert.equal(s.max_concurrent_participants, 2);
        assert.ok(s.minutes_consumed >= before.minutes_consumed,
            `minutes ${s.minutes_consumed} kept (was ${before.minutes_consumed})`);
        assert.equal(s.started_at, before.started_at);

        const pa2 = await f.connect(parts[0]);
        assert.equal(pa2.hello.session.id, sid, 'a reconnect continues the session');
        assert.equal(pa2.hello.session.live_participants, 1);
        assert.equal(pa2.hello.session.max_concurrent_participants, 2);
        const peers = await peersOf(sid);
        assert.equal(peers.length, 3);
        assert.equal(peers.filter((p) => p.left_at === null).length, 1, JSON.stringify(peers));
        await pa2.close();
        await f.kickAll(meeting.id);
    });

test('SIGKILL with a live session: after the restart it is LIVE with nobody, and continues',
    async () => {
        const { meeting, parts } = await f.meetingWith(2, { title: 'restart kill' }, 'rk');
        const pa = await f.connect(parts[0]);
        const pb = await f.connect(parts[1]);
        const sid = pa.hello.session.id;
        await f.committed();
        await f.restart({ kill: true });
        await pa.closed();
        await pb.closed();

        const s = await f.active(meeting.id);
        assertSessionShape(s, { meeting, appId: f.appId });
        assert.deepEqual([s.id, s.live_participants, s.max_concurrent_participants], [sid, 0, 2]);
        /* The crashed peers were closed in the store; their time is not counted twice. */
        const peers = await peersOf(sid);
        assert.equal(peers.length, 2);
        for (const p of peers) assert.ok(p.left_at, `left_at recovered: ${JSON.stringify(p)}`);
        const s2 = await f.active(meeting.id);
        assert.equal(s2.minutes_consumed, s.minutes_consumed, 'no live peers, no growth');

        const pb2 = await f.connect(parts[1]);
        assert.equal(pb2.hello.session.id, sid);
        assert.equal((await f.active(meeting.id)).live_participants, 1);
        await pb2.close();
        await f.kickAll(meeting.id);
    });

test('after a restart the keep-alive window starts again, and ends the session', async () => {
    const { meeting, parts } = await f.meetingWith(1, { title: 'restart window',
        session_keep_alive_time_in_secs: 1 }, 'rw');
    const p = await f.connect(parts[0]);
    const sid = p.hello.session.id;
    await f.committed();
    await f.restart({ kill: true });
    const t0 = Date.now();
    const s = await f.active(meeting.id);
    assert.deepEqual([s.id, s.status, s.live_participants], [sid, 'LIVE', 0]);
    await eventually(() => expectRtkError(f.activeP(meeting.id), 404), { ms: 3000, every: 25 });
    assert.ok(Date.now() - t0 >= 700, 'the window ran from the restart');
    assert.equal((await f.session(sid)).status, 'ENDED');
});

test('a kick is stored before its reply: it survives a crash right after', async () => {
    const { meeting, parts } = await f.meetingWith(3, { title: 'kick durable' }, 'kd');
    const [a, b, c] = parts;
    const pa = await f.connect(a);
    const pc = await f.connect(c);
    const sid = pa.hello.session.id;
    const res = await f.kick(meeting.id, { participant_ids: [a.id, b.id] });
    assert.deepEqual(res.participants.map((x) => x.id), [a.id]);
    await f.restart({ kill: true });
    await pc.closed();
    assert.equal((await f.active(meeting.id)).id, sid);
    await expectRefused(f.srv, a.token, 403);
    await expectRefused(f.srv, b.token, 403);
    const pc2 = await f.connect(c);
    assert.equal(pc2.hello.session.id, sid);
    await pc2.close();
    await f.kickAll(meeting.id);
    const pa2 = await f.connect(a);
    assert.notEqual(pa2.hello.session.id, sid);
    await pa2.close();
    await f.kickAll(meeting.id);
});

test('heartbeat: a silent peer is dropped and the others see the count fall', async () => {
    const h = await liveFixture({ heartbeatMs: 300 });
    try {
        const { meeting, parts } = await h.meetingWith(3, { title: 'heartbeat' }, 'hb');
        const alive = await h.connect(parts[0], { label: 'alive' });
        assert.equal(alive.hello.heartbeat_ms, 300);
        /* Talks (app-level pings) but never answers WebSocket pings: heard, so kept. */
        const chatty = await h.rawConnect(parts[1], { label: 'chatty' });
        const silent = await h.connect(parts[2], { label: 'silent', autoPong: false });
        const sid = alive.hello.session.id;
        const joinedSilent = Date.now();
        const timer = setInterval(() => chatty.send({ type: 'ping', ref: 'c' }), 150);
        try {
            const up = await alive.next((e) => e.type === 'session.updated' &&
                e.session.live_participants === 2 && e.session.max_concurrent_participants === 3,
            5000);
            assert.equal(up.session.id, sid);
            const c = await silent.closed();
            assert.ok(Date.now() - joinedSilent >= 550, `dropped after ${Date.now() - joinedSilent} ms`);
            assert.notEqual(c.code, CLOSE.NORMAL, JSON.stringify(c));
            /* A few more rounds: the answering and the chatty peers stay. */
            await sleep(1000);
            assert.equal(alive.closeInfo, null);
            assert.equal(chatty.closeInfo, null);
            assert.ok(chatty.pings >= 2, `chatty got ${chatty.pings} WebSocket pings`);
            const s = await h.active(meeting.id);
            assert.deepEqual([s.live_participants, s.max_concurrent_participants], [2, 3]);
        } finally {
            clearInterval(timer);
        }
        /* The silent peer left when it was last heard from: at its join. */
        const peers = (await h.sessionParticipants(sid)).data.participants;
        const sp = peers.find((p) => p.user_id === parts[2].id);
        assert.ok(sp && sp.left_at, JSON.stringify(peers));
        const heardFor = Date.parse(sp.left_at) - Date.parse(sp.joined_at);
        assert.ok(heardFor >= 0 && heardFor < 300, `silent peer counted for ${heardFor} ms`);
        await alive.close();
        chatty.destroy();
        await h.kickAll(meeting.id).catch(() => {});
    } finally {
        await h.stop();
    }
});
