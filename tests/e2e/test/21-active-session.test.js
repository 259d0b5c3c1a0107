// SPDX-License-Identifier: MIT
// GET …/active-session (PROTOCOL.md §3): the session object, 404s, live count and peak with
// joins and leaves, session.updated to the other peers (coalesced, carrying the latest
// values), and minutes_consumed growing with connected time.

import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { test, expectRtkError, sleep } from '../lib/rtkd.js';
import { liveFixture, assertSessionShape, eventually } from '../lib/peer.js';

let f;

before(async () => {
    f = await liveFixture();
});

after(async () => {
    if (f) await f.stop();
});

test('GET active-session: unknown meeting → 404; no live session → 404 naming the meeting',
    async () => {
        const unknown = '5b7c4f2e-2f1a-4c7e-9a55-0d4c1b2e3f40';
        await expectRtkError(f.activeP(unknown), 404);
        const m = await f.meeting({ title: 'quiet' });
        const e = await expectRtkError(f.activeP(m.id), 404);
        assert.equal(e.error.error.message, `No active session found for meeting_id ${m.id}`);
        /* Under the account/app of another app the meeting does not exist either. */
        const app2 = (await f.cf.realtimeKit.apps.post({ account_id: f.accountId, name: 'other' }))
            .data.app.id;
        await expectRtkError(f.cf.realtimeKit.activeSession.getActiveSession(m.id,
            { account_id: f.accountId, app_id: app2 }), 404);
    });

test('live count and peak follow joins and leaves; the session object is complete', async () => {
    const { meeting, parts } = await f.meetingWith(4, { title: 'Counting room' }, 'cnt');
    const [a, b, c, d] = parts;
    const pa = await f.connect(a);
    const sid = pa.hello.session.id;
    let s = await f.active(meeting.id);
    assertSessionShape(s, { meeting, appId: f.appId });
    assert.equal(s.id, sid);
    assert.deepEqual([s.live_participants, s.max_concurrent_participants], [1, 1]);
    const started = Date.parse(s.started_at);
    assert.ok(Math.abs(started - Date.now()) < 10000, `started_at ${s.started_at} is about now`);
    assert.equal(s.created_at, s.started_at);

    const pb = await f.connect(b);
    const pc = await f.connect(c);
    assert.equal(pb.hello.session.id, sid);
    assert.equal(pc.hello.session.id, sid);
    assert.equal(pc.hello.session.live_participants, 3, 'hello carries the count with self');
    s = await f.active(meeting.id);
    assert.deepEqual([s.live_participants, s.max_concurrent_participants], [3, 3], JSON.stringify(s));

    await pb.close();
    s = await f.active(meeting.id);
    assert.deepEqual([s.live_participants, s.max_concurrent_participants], [2, 3], JSON.stringify(s));

    /* A peer that just drops its TCP connection leaves too. */
    pc.terminate();
    await eventually(async () => {
        const x = await f.active(meeting.id);
        assert.deepEqual([x.live_participants, x.max_concurrent_participants], [1, 3],
            JSON.stringify(x));
    });

    const pd = await f.connect(d);
    const pb2 = await f.connect(b);
    s = await f.active(meeting.id);
    assert.deepEqual([s.live_participants, s.max_concurrent_participants], [3, 3], JSON.stringify(s));
    const pc2 = await f.connect(c);
    s = await f.active(meeting.id);
    assert.deepEqual([s.live_participants, s.max_concurrent_participants], [4, 4], JSON.stringify(s));
    assert.equal(s.id, sid, 'one session all along');
    assert.equal(s.started_at, new Date(started).toISOString());
    assert.ok(Date.parse(s.updated_at) >= started);

    for (const p of [pa, pd, pb2, pc2]) await p.close();
    s = await f.active(meeting.id); /* default keep-alive 60 s: still LIVE, with nobody */
    assertSessionShape(s, { meeting, appId: f.appId });
    assert.deepEqual([s.live_participants, s.max_concurrent_participants], [0, 4], JSON.stringify(s));
    await f.kickAll(meeting.id);
});

test('session.updated reaches the other peers, coalesced, carrying the latest count', async () => {
    const { meeting, parts } = await f.meetingWith(5, { title: 'updates' }, 'upd');
    const watcher = await f.connect(parts[0], { label: 'watcher' });
    const t0 = Date.now();
    /* A burst of changes: four joins and one leave, as fast as we can. */
    const others = [];
    for (const p of parts.slice(1)) others.push(await f.connect(p));
    await others[3].close();
    const burstEnd = Date.now();

    /* Eventually an update carries the final values: 4 live, peak 5. */
    const last = await watcher.next((e) => e.type === 'session.updated' &&
        e.session.live_participants === 4 && e.session.max_concurrent_participants === 5, 5000);
    assertSessionShape(last.session, { meeting, appId: f.appId });
    assert.equal(last.session.id, watcher.hello.session.id);
    assert.equal(last.session.max_concurrent_participants, 5);
    const s = await f.active(meeting.id);
    assert.equal(s.live_participants, 4);

    /* Coalesced: at most one per second, so a burst of ~5 changes in BURST ms cannot produce
     * more than ceil(elapsed / 1000) + 1 updates. */
    await sleep(1200); /* let any trailing update arrive */
    const ups = watcher.all.filter((e) => e.type === 'session.updated');
    const elapsed = Date.now() - t0;
    assert.ok(ups.length >= 1);
    assert.ok(ups.length <= Math.ceil(elapsed / 1000) + 1,
        `${ups.length} updates in ${elapsed} ms (burst took ${burstEnd - t0} ms)`);
    for (let i = 1; i < ups.length; i++) {
        const gap = ups[i].receivedAt - ups[i - 1].receivedAt;
        assert.ok(gap >= 700, `updates ${i - 1} and ${i} arrived ${gap} ms apart`);
    }
    /* The last one received carries the latest values. */
    const final = ups.at(-1).session;
    assert.deepEqual([final.live_participants, final.max_concurrent_participants], [4, 5],
        JSON.stringify(final));

    /* The peers that joined later heard about later changes as well. */
    const late = others[0];
    const lu = late.all.filter((e) => e.type === 'session.updated');
    assert.ok(lu.length >= 1, 'a peer gets updates about others');
    assert.equal(lu.at(-1).session.live_participants, 4);

    /* Nothing changes → nothing is sent. */
    const before = watcher.all.length;
    await sleep(1200);
    assert.deepEqual(watcher.all.slice(before), [], 'no update without a change');

    for (const p of [watcher, ...others.slice(0, 3)]) await p.close();
    await f.kickAll(meeting.id);
});

test('minutes_consumed is the summed connected time of the peers and grows with time',
    async () => {
        const { meeting, parts } = await f.meetingWith(2, { title: 'minutes' }, 'min');
        const t0 = Date.now();
        const pa = await f.connect(parts[0]);
        const ta = Date.now();
        const pb = await f.connect(parts[1]);
        const tb = Date.now();
        await sleep(400);
        const q1 = Date.now();
        const s1 = await f.active(meeting.id);
        const q1end = Date.now();
        /* Each peer's time is between (request start − its open) and (response − before its
         * connect), give or take clock rounding. */
        const lo = (q1 - ta) + (q1 - tb) - 20;
        const hi = (q1end - t0) + (q1end - ta) + 20;
        const ms1 = s1.minutes_consumed * 60000;
        assert.ok(ms1 >= lo && ms1 <= hi, `minutes_consumed ${s1.minutes_consumed} = ${ms1} ms, ` +
            `expected ${lo}..${hi} ms`);

        await sleep(300);
        const s2 = await f.active(meeting.id);
        assert.ok(s2.minutes_consumed > s1.minutes_consumed,
            `${s2.minutes_consumed} > ${s1.minutes_consumed}`);
        /* Two peers: about 2 × 300 ms more. */
        const grew = (s2.minutes_consumed - s1.minutes_consumed) * 60000;
        assert.ok(grew >= 2 * 300 - 40, `grew by ${grew} ms`);

        /* After everyone left it stops growing. */
        await pa.close();
        await pb.close();
        const s3 = await f.active(meeting.id);
        await sleep(300);
        const s4 = await f.active(meeting.id);
        assert.equal(s4.minutes_consumed, s3.minutes_consumed, 'no peers, no minutes');
        assert.ok(s3.minutes_consumed >= s2.minutes_consumed);
        await f.kickAll(meeting.id);
    });
