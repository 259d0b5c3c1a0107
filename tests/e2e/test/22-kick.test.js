// SPDX-License-Identifier: MIT
// POST …/active-session/kick and …/kick-all (PROTOCOL.md §3, reference §3.2, §3.3): kicks by
// participant id and by custom id, the reply shape, unknown ids, participants that are not
// live, rejoin refused in the same session and allowed in the next, request checks and their
// order, and kick-all ending the session (also from an empty keep-alive window).

import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { test, expectRtkError, http } from '../lib/rtkd.js';
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

const UNKNOWN = '0d3f9a5e-8c1b-4e2a-9f7d-6b5a4c3d2e1f';

/* The kick reply's entry for participant P (as returned by add participant). */
function listed(p) {
    return {
        id: p.id,
        created_at: p.created_at,
        updated_at: p.updated_at,
        name: p.name ?? null,
        email: null,
        picture: p.picture ?? null,
    };
}

/* Asserts PEER got {"type":"kicked","reason":REASON} as its last event, then close 4001. */
async function assertKicked(peer, reason) {
    const ev = await peer.next('kicked');
    assert.deepEqual(ev, { type: 'kicked', reason });
    const c = await peer.closed();
    assert.equal(c.code, CLOSE.KICKED, `${peer.label}: ${JSON.stringify(c)}`);
    assert.equal(peer.all.at(-1), ev, `${peer.label}: nothing after kicked: ${JSON.stringify(peer.all)}`);
}

test('kick by participant_ids: reply {action, participants}, kicked + 4001, rejoin → 403',
    async () => {
        const m = await f.meeting({ title: 'kick by id' });
        const a = await f.participant(m.id, 'ka', { name: 'Kay', picture: 'https://example.invalid/k.png' });
        const b = await f.participant(m.id, 'kb');
        const c = await f.participant(m.id, 'kc');
        const [pa, pb, pc] = [await f.connect(a), await f.connect(b), await f.connect(c)];
        const sid = pa.hello.session.id;

        const res = await f.kickP(m.id, { participant_ids: [a.id] });
        assert.equal(res.success, true);
        assert.deepEqual(res.data, { action: 'kick', participants: [listed(a)] });
        assert.deepEqual(Object.keys(res.data.participants[0]).sort(),
            ['created_at', 'email', 'id', 'name', 'picture', 'updated_at']);
        await assertKicked(pa, 'kicked');

        const s = await f.active(m.id);
        assert.equal(s.id, sid);
        assert.deepEqual([s.live_participants, s.max_concurrent_participants], [2, 3]);
        /* The others are untouched and hear the new count. */
        await pb.ping();
        await pc.ping();
        const up = await pb.next((e) => e.type === 'session.updated' &&
            e.session.live_participants === 2, 3000);
        assert.equal(up.session.id, sid);

        /* a cannot come back into this session, with either path or auth style. */
        const r = await expectRefused(f.srv, a.token, 403);
        assert.ok(r.json.error.message.length > 0);
        await expectRefused(f.srv, a.token, 403, { bearer: true, path: '/client/v4/v1/ws' });
        /* A fresh token for a does not help. */
        const fresh = (await f.cf.realtimeKit.meetings.refreshParticipantToken(a.id,
            f.at({ meeting_id: m.id }))).data.token;
        await expectRefused(f.srv, fresh, 403);
        assert.equal((await f.active(m.id)).live_participants, 2);

        /* Kicking a again (no longer live) is fine and lists nobody. */
        assert.deepEqual(await f.kick(m.id, { participant_ids: [a.id] }),
            { action: 'kick', participants: [] });

        /* Next session: after kick-all, a may join again, into a new session. */
        const all = await f.kickAll(m.id);
        assert.deepEqual(all, { action: 'kick_all', kicked_participants_count: 2 });
        const pa2 = await f.connect(a);
        assert.notEqual(pa2.hello.session.id, sid, 'a new session');
        assert.equal(pa2.hello.session.live_participants, 1);
        await pa2.close();
        await f.kickAll(m.id);
    });

test('kick by custom_participant_ids', async () => {
    const m = await f.meeting({ title: 'kick by custom id' });
    const a = await f.participant(m.id, 'cust-a', { name: 'Ann' });
    const b = await f.participant(m.id, 'cust-b');
    const [pa, pb] = [await f.connect(a), await f.connect(b)];
    const res = await f.kick(m.id, { custom_participant_ids: ['cust-a'] });
    assert.deepEqual(res, { action: 'kick', participants: [listed(a)] });
    await assertKicked(pa, 'kicked');
    await expectRefused(f.srv, a.token, 403);
    await pb.ping();
    assert.equal((await f.active(m.id)).live_participants, 1);
    await pb.close();
    await f.kickAll(m.id);
});

test('both lists together; a participant named twice is kicked and listed once', async () => {
    const m = await f.meeting({ title: 'kick both' });
    const a = await f.participant(m.id, 'both-a');
    const b = await f.participant(m.id, 'both-b');
    const c = await f.participant(m.id, 'both-c');
    const [pa, pb, pc] = [await f.connect(a), await f.connect(b), await f.connect(c)];
    const res = await f.kick(m.id, {
        participant_ids: [a.id, a.id, b.id],
        custom_participant_ids: ['both-a', 'both-b'],
    });
    assert.equal(res.action, 'kick');
    assert.deepEqual(res.participants.map((p) => p.id).sort(), [a.id, b.id].sort());
    await assertKicked(pa, 'kicked');
    await assertKicked(pb, 'kicked');
    await pc.ping();
    const s = await f.active(m.id);
    assert.deepEqual([s.live_participants, s.max_concurrent_participants], [1, 3]);
    await pc.close();
    await f.kickAll(m.id);
});

test('an unknown id → 404 "No user found with id …" and nobody is kicked', async () => {
    const m = await f.meeting({ title: 'kick unknown' });
    const other = await f.meeting({ title: 'elsewhere' });
    const x = await f.participant(m.id, 'unk-x');
    const y = await f.participant(m.id, 'unk-y');
    const stranger = await f.participant(other.id, 'unk-stranger');
    const [px, py] = [await f.connect(x), await f.connect(y)];

    let e = await expectRtkError(f.kickP(m.id, { participant_ids: [x.id, UNKNOWN] }), 404);
    assert.equal(e.error.error.message, `No user found with id ${UNKNOWN}`);
    e = await expectRtkError(f.kickP(m.id, { participant_ids: [x.id],
        custom_participant_ids: ['unk-y', 'nobody-here'] }), 404);
    assert.equal(e.error.error.message, 'No user found with id nobody-here');
    /* A participant of another meeting is not a participant of this one. */
    e = await expectRtkError(f.kickP(m.id, { participant_ids: [stranger.id] }), 404);
    assert.equal(e.error.error.message, `No user found with id ${stranger.id}`);
    e = await expectRtkError(f.kickP(m.id, { custom_participant_ids: ['unk-stranger'] }), 404);
    assert.equal(e.error.error.message, 'No user found with id unk-stranger');

    /* A deleted participant is no longer one. */
    const gone = await f.participant(m.id, 'unk-gone');
    await f.deleteParticipant(m.id, gone.id);
    e = await expectRtkError(f.kickP(m.id, { participant_ids: [gone.id] }), 404);
    assert.equal(e.error.error.message, `No user found with id ${gone.id}`);
    e = await expectRtkError(f.kickP(m.id, { custom_participant_ids: ['unk-gone'] }), 404);
    assert.equal(e.error.error.message, 'No user found with id unk-gone');

    /* Nobody was kicked: both are still live, and neither was barred. */
    await px.ping();
    await py.ping();
    assert.equal(px.closeInfo, null);
    assert.equal(py.closeInfo, null);
    assert.ok(!px.all.some((ev) => ev.type === 'kicked'));
    const s = await f.active(m.id);
    assert.equal(s.live_participants, 2);
    await px.close();
    const px2 = await f.connect(x);
    assert.equal(px2.hello.session.id, s.id, 'x may rejoin: it was never kicked');
    await px2.close();
    await py.close();
    await f.kickAll(m.id);
});

test('kicking a participant that is not live: 200, not listed, then refused at the handshake',
    async () => {
        const m = await f.meeting({ title: 'kick absent' });
        const live = await f.participant(m.id, 'abs-live');
        const never = await f.participant(m.id, 'abs-never');
        const left = await f.participant(m.id, 'abs-left');
        const pl = await f.connect(live);
        const pleft = await f.connect(left);
        await pleft.close();

        const res = await f.kick(m.id, { participant_ids: [never.id],
            custom_participant_ids: ['abs-left'] });
        assert.deepEqual(res, { action: 'kick', participants: [] });
        await expectRefused(f.srv, never.token, 403);
        await expectRefused(f.srv, left.token, 403);
        await pl.ping();
        assert.equal((await f.active(m.id)).live_participants, 1);

        /* Mixed: the live one is listed, the other is not, both are barred. */
        const other = await f.participant(m.id, 'abs-other');
        const res2 = await f.kick(m.id, { participant_ids: [other.id, live.id] });
        assert.deepEqual(res2, { action: 'kick', participants: [listed(live)] });
        await assertKicked(pl, 'kicked');
        await expectRefused(f.srv, other.token, 403);
        await expectRefused(f.srv, live.token, 403);
        await f.kickAll(m.id);
    });

test('a kick during an empty keep-alive window bars the participant from that session',
    async () => {
        const m = await f.meeting({ title: 'kick in window', session_keep_alive_time_in_secs: 30 });
        const a = await f.participant(m.id, 'kw-a');
        const b = await f.participant(m.id, 'kw-b');
        const pa = await f.connect(a);
        const sid = pa.hello.session.id;
        await pa.close();
        assert.deepEqual(await f.kick(m.id, { participant_ids: [a.id] }),
            { action: 'kick', participants: [] });
        const s = await f.active(m.id);
        assert.deepEqual([s.id, s.status, s.live_participants], [sid, 'LIVE', 0]);
        await expectRefused(f.srv, a.token, 403);
        const pb = await f.connect(b);
        assert.equal(pb.hello.session.id, sid, 'others continue the session');
        await expectRefused(f.srv, a.token, 403);
        await pb.close();
        await f.kickAll(m.id);
    });

test('a kicked participant joins the next session after a keep-alive end', async () => {
    const m = await f.meeting({ title: 'kick then end', session_keep_alive_time_in_secs: 0 });
    const a = await f.participant(m.id, 'ke-a');
    const b = await f.participant(m.id, 'ke-b');
    const [pa, pb] = [await f.connect(a), await f.connect(b)];
    const sid = pa.hello.session.id;
    await f.kick(m.id, { participant_ids: [a.id] });
    await assertKicked(pa, 'kicked');
    await expectRefused(f.srv, a.token, 403);
    await pb.close(); /* the last leave ends the session (keep-alive 0) */
    await eventually(() => expectRtkError(f.activeP(m.id), 404), { ms: 2000 });
    const pa2 = await f.connect(a);
    assert.notEqual(pa2.hello.session.id, sid);
    await pa2.close();
    await eventually(() => expectRtkError(f.activeP(m.id), 404), { ms: 2000 });

    /* Kicking every live peer of a keep-alive-0 meeting ends the session at once. */
    const [qa, qb] = [await f.connect(a), await f.connect(b)];
    const sid2 = qa.hello.session.id;
    const res = await f.kick(m.id, { participant_ids: [a.id, b.id] });
    assert.deepEqual(res.participants.map((p) => p.id).sort(), [a.id, b.id].sort());
    await assertKicked(qa, 'kicked');
    await assertKicked(qb, 'kicked');
    await expectRtkError(f.activeP(m.id), 404);
    const ended = await f.session(sid2);
    assert.equal(ended.status, 'ENDED');
    const qa2 = await f.connect(a);
    assert.notEqual(qa2.hello.session.id, sid2);
    await qa2.close();
});

test('kick: bad bodies → 400; checks run unknown meeting, bad body, no live session', async () => {
    const m = await f.meeting({ title: 'kick checks' });
    const a = await f.participant(m.id, 'chk-a');
    const bad = [
        {},
        { participant_ids: [] },
        { custom_participant_ids: [] },
        { participant_ids: [], custom_participant_ids: [] },
        { participant_ids: null, custom_participant_ids: null },
        { participant_ids: a.id },
        { participant_ids: [42] },
        { custom_participant_ids: [''] },
        { custom_participant_ids: { a: 1 } },
    ];
    /* Unknown meeting first: 404 whatever the body. */
    await expectRtkError(f.kickP(UNKNOWN, {}), 404);
    await expectRtkError(f.kickP(UNKNOWN, { participant_ids: [a.id] }), 404);
    /* No session yet: a bad body is still 400. */
    for (const body of bad) {
        await expectRtkError(f.kickP(m.id, body), 400).catch((e) => {
            e.message += ` (body ${JSON.stringify(body)})`;
            throw e;
        });
    }
    /* An id over 256 bytes (hardening issue, item 7): the message says what is wrong. */
    const long = await expectRtkError(f.kickP(m.id, { participant_ids: [a.id, 'x'.repeat(257)] }),
        400);
    assert.match(long.error.error.message, /participant_ids\[1\].*longer than 256 bytes/,
        JSON.stringify(long.error));
    const path = `/accounts/${f.accountId}/realtime/kit/${f.appId}/meetings/${m.id}/active-session/kick`;
    for (const body of ['not json', '[]', '']) {
        const r = await http(f.srv, 'POST', path, { token: f.token, body,
            headers: { 'content-type': 'application/json' } });
        assert.equal(r.status, 400, `body ${JSON.stringify(body)}: ${r.status} ${r.text}`);
        assert.equal(r.json?.error?.code, 400, r.text);
    }
    /* A good body (even one naming an unknown id) with no live session → 404 no session. */
    for (const body of [{ participant_ids: [a.id] }, { participant_ids: [UNKNOWN] }]) {
        const e = await expectRtkError(f.kickP(m.id, body), 404);
        assert.equal(e.error.error.message, `No active session found for meeting_id ${m.id}`);
    }
    /* …and a's later join is not refused: nothing was recorded. */
    const pa = await f.connect(a);
    /* With a live session, a bad body is still 400 and kicks nobody. */
    for (const body of bad) await expectRtkError(f.kickP(m.id, body), 400);
    await pa.ping();
    assert.equal(pa.closeInfo, null);
    await pa.close();
    await f.kickAll(m.id);
});

test('kick-all: every peer gets kicked (kick_all) + 4001 and the session ends at once',
    async () => {
        const { meeting, parts } = await f.meetingWith(3, { title: 'kick all' }, 'ka');
        const peers = [];
        for (const p of parts) peers.push(await f.connect(p));
        const sid = peers[0].hello.session.id;

        const res = await f.kickAllP(meeting.id);
        assert.deepEqual(res, { success: true,
            data: { action: 'kick_all', kicked_participants_count: 3 } });
        /* Ended at once: no keep-alive, no waiting. */
        const e = await expectRtkError(f.activeP(meeting.id), 404);
        assert.equal(e.error.error.message, `No active session found for meeting_id ${meeting.id}`);
        for (const p of peers) await assertKicked(p, 'kick_all');

        const s = await f.session(sid);
        assertSessionShape(s, { meeting, appId: f.appId, status: 'ENDED' });
        assert.equal(s.max_concurrent_participants, 3);
        assert.ok(Date.now() - Date.parse(s.ended_at) < 10000, `ended_at ${s.ended_at} is now`);
        const list = await f.sessions({ associated_id: meeting.id });
        assert.deepEqual(list.data.sessions.map((x) => [x.id, x.status]), [[sid, 'ENDED']]);

        /* Again: nothing is live → 404; unknown meeting → 404. */
        const e2 = await expectRtkError(f.kickAllP(meeting.id), 404);
        assert.equal(e2.error.error.message, `No active session found for meeting_id ${meeting.id}`);
        await expectRtkError(f.kickAllP(UNKNOWN), 404);
        await expectRtkError(f.kickP(meeting.id, { participant_ids: [parts[0].id] }), 404);

        /* Everyone may join the next session. */
        const p0 = await f.connect(parts[0]);
        assert.notEqual(p0.hello.session.id, sid);
        await p0.close();
        await f.kickAll(meeting.id);
    });

test('kick-all during an empty keep-alive window → 200 with count 0 and ends the session',
    async () => {
        const { meeting, parts } = await f.meetingWith(1, { title: 'empty window',
            session_keep_alive_time_in_secs: 30 }, 'ew');
        const p = await f.connect(parts[0]);
        const sid = p.hello.session.id;
        await p.close();
        const live = await f.active(meeting.id);
        assert.deepEqual([live.id, live.status, live.live_participants], [sid, 'LIVE', 0]);
        assert.deepEqual(await f.kickAll(meeting.id),
            { action: 'kick_all', kicked_participants_count: 0 });
        await expectRtkError(f.activeP(meeting.id), 404);
        const s = await f.session(sid);
        assert.equal(s.status, 'ENDED');
        assert.ok(s.ended_at);
        await expectRtkError(f.kickAllP(meeting.id), 404);
    });

test('kick-all with no session ever → 404 naming the meeting', async () => {
    const m = await f.meeting({ title: 'never live' });
    const e = await expectRtkError(f.kickAllP(m.id), 404);
    assert.equal(e.error.error.message, `No active session found for meeting_id ${m.id}`);
});
