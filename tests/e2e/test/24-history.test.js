// SPDX-License-Identifier: MIT
// Session history (issue 3 §4): GET …/sessions with status and associated_id filters and
// paging, GET …/sessions/{id} (the same session object), and GET …/sessions/{id}/participants
// (one entry per peer with joined_at, left_at, duration in minutes and who it was).

import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { test, expectRtkError, sleep, UUID_V4 } from '../lib/rtkd.js';
import { liveFixture, assertSessionShape } from '../lib/peer.js';

let f;
let m1;
let m2;
let a;
let b;
let c;
let s1; /* m1, ENDED by kick-all: a and b */
let s2; /* m1, LIVE: a */
let s3; /* m2, ENDED at the last leave (keep-alive 0): c */
const peerIds = {};

before(async () => {
    f = await liveFixture();
    m1 = await f.meeting({ title: 'History one' });
    m2 = await f.meeting({ title: 'History two', session_keep_alive_time_in_secs: 0 });
    a = await f.participant(m1.id, 'hist-a', { name: 'Ada', preset_name: 'group_call_host' });
    b = await f.participant(m1.id, 'hist-b', { name: 'Bob', preset_name: 'webinar_presenter' });
    c = await f.participant(m2.id, 'hist-c');

    const pa = await f.connect(a);
    const pb = await f.connect(b);
    s1 = pa.hello.session.id;
    peerIds.a1 = pa.hello.self.peer_id;
    peerIds.b1 = pb.hello.self.peer_id;
    await sleep(150);
    await pa.close();
    await sleep(100);
    await f.kickAll(m1.id);
    await pb.closed();

    await sleep(20);
    const pa2 = await f.connect(a);
    s2 = pa2.hello.session.id;
    peerIds.a2 = pa2.hello.self.peer_id;
    f.keep = pa2; /* stays live for the whole file */

    await sleep(20);
    const pc = await f.connect(c);
    s3 = pc.hello.session.id;
    peerIds.c3 = pc.hello.self.peer_id;
    await sleep(50);
    await pc.close();
    /* keep-alive 0: ended once the leave is processed */
    for (let i = 0; i < 40; i++) {
        if ((await f.session(s3)).status === 'ENDED') break;
        await sleep(25);
    }
});

after(async () => {
    if (f) {
        await f.keep?.close();
        await f.stop();
    }
});

const ids = (r) => r.data.sessions.map((s) => s.id);

test('GET sessions lists every session of the app with the session object', async () => {
    const r = await f.sessions();
    assert.equal(r.success, true);
    assert.deepEqual(ids(r).sort(), [s1, s2, s3].sort());
    assert.deepEqual(r.paging, { total_count: 3, start_offset: 1, end_offset: 3 });
    const by = Object.fromEntries(r.data.sessions.map((s) => [s.id, s]));
    assertSessionShape(by[s1], { meeting: m1, appId: f.appId, status: 'ENDED' });
    assertSessionShape(by[s2], { meeting: m1, appId: f.appId, status: 'LIVE' });
    assertSessionShape(by[s3], { meeting: m2, appId: f.appId, status: 'ENDED' });
    assert.equal(by[s1].max_concurrent_participants, 2);
    assert.equal(by[s2].live_participants, 1);
    assert.equal(by[s3].max_concurrent_participants, 1);
    /* Newest first. */
    assert.deepEqual(ids(r), [s3, s2, s1]);
});

test('GET sessions filters by status and associated_id', async () => {
    assert.deepEqual(ids(await f.sessions({ status: 'LIVE' })), [s2]);
    assert.deepEqual(ids(await f.sessions({ status: 'ENDED' })).sort(), [s1, s3].sort());
    assert.deepEqual(ids(await f.sessions({ associated_id: m1.id })).sort(), [s1, s2].sort());
    assert.deepEqual(ids(await f.sessions({ associated_id: m2.id })), [s3]);
    const both = await f.sessions({ associated_id: m1.id, status: 'ENDED' });
    assert.deepEqual(ids(both), [s1]);
    assert.equal(both.paging.total_count, 1);
    const none = await f.sessions({ associated_id: '7f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b' });
    assert.deepEqual(none.data.sessions, []);
    assert.equal(none.paging.total_count, 0);
    await expectRtkError(f.sessions({ status: 'SLEEPING' }), 400, 'status');
});

test('GET sessions pages with page_no and per_page', async () => {
    const all = ids(await f.sessions());
    const p1 = await f.sessions({ per_page: 2, page_no: 1 });
    const p2 = await f.sessions({ per_page: 2, page_no: 2 });
    assert.deepEqual(p1.paging, { total_count: 3, start_offset: 1, end_offset: 2 });
    assert.deepEqual(p2.paging, { total_count: 3, start_offset: 3, end_offset: 3 });
    assert.deepEqual([...ids(p1), ...ids(p2)], all);
    const p3 = await f.sessions({ per_page: 2, page_no: 3 });
    assert.deepEqual(p3.data.sessions, []);
    assert.equal(p3.paging.total_count, 3);
    const one = await f.sessions({ per_page: 1, page_no: 2, status: 'ENDED' });
    assert.equal(one.data.sessions.length, 1);
    assert.deepEqual(one.paging, { total_count: 2, start_offset: 2, end_offset: 2 });
    await expectRtkError(f.sessions({ per_page: 0 }), 400, 'per_page');
    await expectRtkError(f.sessions({ page_no: 0 }), 400, 'page_no');
});

test('GET sessions/{id} returns the same object as the list and as active-session', async () => {
    const list = await f.sessions();
    for (const s of list.data.sessions) {
        const one = await f.session(s.id);
        if (s.status === 'ENDED') {
            assert.deepEqual(one, s);
        } else {
            /* Live: the counters move on between the two requests. */
            const { minutes_consumed: x1, updated_at: u1, ...rest1 } = one;
            const { minutes_consumed: x2, updated_at: u2, ...rest2 } = s;
            assert.deepEqual(rest1, rest2);
            assert.ok(x1 >= x2);
            const act = await f.active(m1.id);
            const { minutes_consumed: x3, updated_at: u3, ...rest3 } = act;
            assert.deepEqual(rest3, rest1);
        }
    }
    await expectRtkError(f.sessionP('6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d'), 404);
    /* Another app of the same account does not see them. */
    const app2 = (await f.cf.realtimeKit.apps.post({ account_id: f.accountId, name: 'other' }))
        .data.app.id;
    const S = f.cf.realtimeKit.sessions;
    await expectRtkError(S.getSessionDetails(s1, { account_id: f.accountId, app_id: app2 }), 404);
    const other = await S.getSessions(app2, { account_id: f.accountId });
    assert.deepEqual(other.data.sessions, []);
});

test('an ENDED session: ended_at, live 0, minutes = the summed peer durations', async () => {
    const s = await f.session(s1);
    assertSessionShape(s, { meeting: m1, appId: f.appId, status: 'ENDED' });
    const peers = (await f.sessionParticipants(s1)).data.participants;
    const sum = peers.reduce((acc, p) => acc + p.duration, 0);
    assert.ok(Math.abs(sum - s.minutes_consumed) < 1e-6,
        `minutes_consumed ${s.minutes_consumed} vs summed durations ${sum}`);
    const lastLeft = Math.max(...peers.map((p) => Date.parse(p.left_at)));
    assert.ok(Math.abs(Date.parse(s.ended_at) - lastLeft) < 50,
        `kick-all ended it with its last peer: ${s.ended_at} vs ${new Date(lastLeft).toISOString()}`);
});

test('GET sessions/{id}/participants: one entry per peer, with times and who it was', async () => {
    const r = await f.sessionParticipants(s1);
    assert.equal(r.success, true);
    const list = r.data.participants;
    assert.equal(list.length, 2);
    const byId = Object.fromEntries(list.map((p) => [p.id, p]));
    const pa = byId[peerIds.a1];
    const pb = byId[peerIds.b1];
    assert.ok(pa && pb, `entries are keyed by peer id: ${JSON.stringify(list)}`);
    assert.match(pa.id, UUID_V4);
    for (const [e, part, name, preset] of [[pa, a, 'Ada', 'group_call_host'],
        [pb, b, 'Bob', 'webinar_presenter']]) {
        assert.equal(e.user_id, part.id);
        assert.equal(e.custom_participant_id, part.custom_participant_id);
        assert.equal(e.display_name, name);
        assert.equal(e.preset_name, preset);
        assert.match(e.joined_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        assert.match(e.left_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        const ms = Date.parse(e.left_at) - Date.parse(e.joined_at);
        assert.ok(Math.abs(e.duration * 60000 - ms) < 1,
            `duration ${e.duration} min vs ${ms} ms between joined_at and left_at`);
        assert.ok(ms >= 100, `connected ${ms} ms`);
    }
    /* a left before b was kicked. */
    assert.ok(Date.parse(pa.left_at) < Date.parse(pb.left_at));
    assert.ok(pb.duration > pa.duration);
    /* Paging. */
    const p1 = await f.sessionParticipants(s1, { per_page: 1, page_no: 1 });
    const p2 = await f.sessionParticipants(s1, { per_page: 1, page_no: 2 });
    assert.equal(p1.data.participants.length, 1);
    assert.equal(p2.data.participants.length, 1);
    assert.notEqual(p1.data.participants[0].id, p2.data.participants[0].id);
    if (p1.paging) assert.equal(p1.paging.total_count, 2);

    await expectRtkError(f.sessionParticipants('6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d'), 404);
});

test('a live peer has no left_at; the keep-alive-0 session lists its one peer', async () => {
    const live = (await f.sessionParticipants(s2)).data.participants;
    assert.equal(live.length, 1);
    assert.equal(live[0].id, peerIds.a2);
    assert.equal(live[0].user_id, a.id);
    assert.equal(live[0].left_at ?? null, null);
    assert.ok(live[0].duration >= 0);

    const ended = (await f.sessionParticipants(s3)).data.participants;
    assert.equal(ended.length, 1);
    assert.equal(ended[0].id, peerIds.c3);
    assert.equal(ended[0].custom_participant_id, 'hist-c');
    assert.equal(ended[0].display_name, 'hist-c');
    assert.equal(ended[0].preset_name, 'group_call_participant');
    assert.ok(ended[0].left_at);
    const s = await f.session(s3);
    assert.equal(s.status, 'ENDED');
    assert.ok(Math.abs(ended[0].duration - s.minutes_consumed) < 1e-6);
});
