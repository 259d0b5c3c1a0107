// SPDX-License-Identifier: MIT
// Session analytics (issue 13 item 4): GET P/analytics/daywise through the official SDK
// (client.realtimeKit.analytics.getOrgAnalytics): sessions and minutes per UTC day of their
// start, an ENDED session with its minutes and a LIVE one with its minutes so far,
// recording_stats zeros, the default range (31 days ending today), the bounds (366 days) and
// bad dates (400 naming the field); only the app's own sessions count.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { before, after } from 'node:test';
import { test, expectRtkError, sleep, STORE, pgQuery } from '../lib/rtkd.js';
import { liveFixture } from '../lib/peer.js';

const DAY = 86400000;
let f;

before(async () => {
    f = await liveFixture();
});

after(async () => {
    if (f) await f.stop();
});

const day = (ms) => new Date(ms).toISOString().slice(0, 10);
const daywise = (query = {}, appId = f.appId) =>
    f.cf.realtimeKit.analytics.getOrgAnalytics(appId, { account_id: f.accountId, ...query });

function sql(text) {
    if (STORE !== 'sqlite') return pgQuery(f.dataDir, text);
    return new Promise((resolve, reject) => {
        execFile('sqlite3', [path.join(f.dataDir, 'rtkd.db'), text], (err, stdout, stderr) => {
            if (err) reject(new Error(`sqlite3: ${stderr || err.message}`));
            else resolve(stdout.trim());
        });
    });
}

test('an app without sessions: 31 days of zeros ending today, recording_stats zeros', async () => {
    const res = await daywise();
    assert.equal(res.success, true);
    const { session_stats: s, recording_stats: r } = res.data;
    assert.equal(s.day_stats.length, 31);
    assert.equal(s.day_stats[30].day, day(Date.now()));
    assert.equal(s.day_stats[0].day, day(Date.now() - 30 * DAY));
    assert.ok(s.day_stats.every((d) => d.total_sessions === 0 && d.total_session_minutes === 0));
    assert.deepEqual([s.sessions_count, s.sessions_minutes_consumed], [0, 0]);
    assert.equal(r.day_stats.length, 31);
    assert.ok(r.day_stats.every((d) => d.total_recordings === 0 && d.total_recording_minutes === 0));
    assert.deepEqual([r.recording_count, r.recording_minutes_consumed], [0, 0]);
});

test('sessions count on the UTC day they started, ended ones with their minutes, a live one so far', async () => {
    const { meeting, parts } = await f.meetingWith(2, { title: 'analytics' }, 'an');
    /* An ended session. */
    const a = await f.connect(parts[0]);
    await sleep(300);
    await a.close();
    const ended = (await f.active(meeting.id)).id;
    await f.kickAll(meeting.id);
    const endedMin = (await f.session(ended)).minutes_consumed;
    assert.ok(endedMin > 0.004, `ended session minutes ${endedMin}`);
    /* A live one, growing. */
    const b = await f.connect(parts[1]);
    await sleep(300);
    const today = day(Date.now());
    const r1 = (await daywise()).data.session_stats;
    const t1 = r1.day_stats.find((d) => d.day === today);
    assert.equal(t1.total_sessions, 2);
    assert.ok(t1.total_session_minutes > endedMin + 0.004,
        `today ${t1.total_session_minutes} min counts the live session (ended ${endedMin})`);
    assert.equal(r1.sessions_count, 2);
    assert.ok(Math.abs(r1.sessions_minutes_consumed - t1.total_session_minutes) < 1e-9);
    await sleep(300);
    const t2 = (await daywise()).data.session_stats.day_stats.find((d) => d.day === today);
    assert.ok(t2.total_session_minutes > t1.total_session_minutes, 'the live one keeps growing');
    await b.close();
    await f.kickAll(meeting.id);
    /* Ended now: exactly the two sessions' stored minutes. */
    const list = (await f.sessions({ per_page: 100 })).data.sessions;
    const sum = list.reduce((acc, s) => acc + s.minutes_consumed, 0);
    const t3 = (await daywise()).data.session_stats.day_stats.find((d) => d.day === today);
    assert.equal(t3.total_sessions, list.length);
    assert.ok(Math.abs(t3.total_session_minutes - sum) < 1e-6, `${t3.total_session_minutes} vs ${sum}`);
});

test('a session of an earlier day counts on that day; ranges pick days; other apps do not count', async () => {
    /* A session row from five days ago, as rtkd would have stored it then (two minutes). */
    const started = Date.now() - 5 * DAY;
    const meeting = await f.meeting({ title: 'old' });
    await sql('INSERT INTO sessions(id, meeting_id, app_id, title, status, started_at, ended_at,' +
        ` updated_at, seen_at, peak, closed_ms) VALUES ('01d5e551-0000-4000-8000-000000000005',` +
        ` '${meeting.id}', '${f.appId}', 'old', 'ENDED', ${started}, ${started + 120000},` +
        ` ${started + 120000}, ${started + 120000}, 1, 120000)`);
    const d5 = day(started);
    const all = (await daywise()).data.session_stats;
    const old = all.day_stats.find((d) => d.day === d5);
    assert.deepEqual([old.total_sessions, old.total_session_minutes], [1, 2]);
    /* Exactly that day. */
    const one = (await daywise({ start_date: d5, end_date: d5 })).data;
    assert.deepEqual(one.session_stats.day_stats, [{ day: d5, total_sessions: 1, total_session_minutes: 2 }]);
    assert.deepEqual([one.session_stats.sessions_count, one.session_stats.sessions_minutes_consumed], [1, 2]);
    assert.equal(one.recording_stats.day_stats.length, 1);
    /* The day after: nothing. start_date alone gives 31 days from it. */
    const next = (await daywise({ start_date: day(started + DAY), end_date: day(started + DAY) })).data;
    assert.equal(next.session_stats.sessions_count, 0);
    const from = (await daywise({ start_date: d5 })).data.session_stats.day_stats;
    assert.equal(from.length, 31);
    assert.equal(from[0].day, d5);
    /* end_date alone: the 31 days ending then. */
    const until = (await daywise({ end_date: d5 })).data.session_stats.day_stats;
    assert.equal(until.length, 31);
    assert.equal(until[30].day, d5);
    assert.equal(until[30].total_sessions, 1);
    /* Another app of the same account sees none of it. */
    const other = (await f.cf.realtimeKit.apps.post({ account_id: f.accountId, name: 'o' })).data.app;
    assert.equal((await daywise({}, other.id)).data.session_stats.sessions_count, 0);
});

test('bounds and bad dates → 400 naming the field', async () => {
    const ok = (await daywise({ start_date: '2025-01-01', end_date: '2026-01-01' })).data;
    assert.equal(ok.session_stats.day_stats.length, 366);
    assert.equal(ok.session_stats.day_stats[365].day, '2026-01-01');
    await expectRtkError(daywise({ start_date: '2025-01-01', end_date: '2026-01-02' }), 400, 'end_date');
    await expectRtkError(daywise({ start_date: '2026-01-02', end_date: '2026-01-01' }), 400, 'end_date');
    for (const bad of ['yesterday', '2026-02-29', '2026-13-01', '2026-1-1', '2026-01-01T00:00:00Z', '']) {
        await expectRtkError(daywise({ start_date: bad }), 400, 'start_date');
        await expectRtkError(daywise({ end_date: bad }), 400, 'end_date');
    }
    const leap = (await daywise({ start_date: '2024-02-28', end_date: '2024-03-01' })).data;
    assert.deepEqual(leap.session_stats.day_stats.map((d) => d.day), ['2024-02-28', '2024-02-29', '2024-03-01']);
});
