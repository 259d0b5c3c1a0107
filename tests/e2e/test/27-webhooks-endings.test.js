// SPDX-License-Identifier: MIT
// Webhooks, continued (issue 14, ../shared/WEBHOOKS.md): joins and leaves always pair up, also
// when a whole session ends at once: kick-all through REST and through the channel
// (`session.kick_all`) sends one meeting.participantLeft (reason `kicked`) per live peer, then
// meeting.ended (HOST_ENDED_MEETING); a SIGTERM sends one participantLeft (reason `shutdown`)
// per live peer, and the session's end follows after the restart. organizedBy is the app (id and
// name). And the outbox writer's filter (only apps with an enabled, subscribed webhook have
// their events written): an event right after a webhook's 2xx create, edit, replace or enable is
// delivered, none after disable or delete, and after a restart the filter read from the store
// lets events through with no API call in between.

import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { test, sleep } from '../lib/rtkd.js';
import { presetsFixture } from '../lib/presets.js';
import { doneWith } from '../lib/hosts.js';
import { receiver } from '../lib/webhooks.js';

const ALL = ['meeting.started', 'meeting.participantJoined', 'meeting.participantLeft',
    'meeting.ended'];

let f;
const receivers = [];

before(async () => {
    f = await presetsFixture({ args: ['--webhook-retry-base-ms', '300'] });
});

after(async () => {
    for (const r of receivers) await r.close();
    if (f) await f.stop();
});

const W = () => f.cf.realtimeKit.webhooks;
const create = async (body) => (await W().createWebhook(f.appId,
    { account_id: f.accountId, ...body })).data;
const remove = (id) => W().deleteWebhook(id, f.at());

async function startReceiver() {
    const r = await receiver();
    receivers.push(r);
    return r;
}

/* The bodies for meeting MID, once per delivery (at least once: an attempt in flight at a
 * SIGTERM is made again after the restart, with the same rtk-uuid). */
const of = (r, mid) => {
    const seen = new Set();
    return r.requests.filter((q) => q.json?.meeting?.id === mid && !seen.has(q.headers['rtk-uuid']) &&
        seen.add(q.headers['rtk-uuid'])).map((q) => q.json);
};
const names = (evs) => evs.map((e) => e.event);

/* A meeting with a host and N participants, all connected; returns {m, peers, sid}. */
async function fullMeeting(title, n, body = {}) {
    const m = await f.meeting({ title, ...body });
    const host = await f.as(m.id, `${title}-host`, 'group_call_host');
    const parts = [];
    for (let i = 0; i < n; i++) parts.push(await f.as(m.id, `${title}-${i}`, 'group_call_participant'));
    const peers = [];
    for (const p of [host, ...parts]) peers.push(await f.connect(p));
    return { m, peers, sid: peers[0].hello.session.id };
}

/* Asserts EVS (one meeting's events, in delivery order) pair up: started, the joins, then
 * one left per joined peer (with REASON), then ended (with ENDREASON, when given). */
function assertPaired(evs, n, reason, endReason) {
    const want = ['meeting.started', ...Array(n).fill('meeting.participantJoined'),
        ...Array(n).fill('meeting.participantLeft'), ...(endReason ? ['meeting.ended'] : [])];
    assert.deepEqual(names(evs), want, 'in order');
    const joined = evs.filter((e) => e.event === 'meeting.participantJoined')
        .map((e) => e.participant.peerId).sort();
    const left = evs.filter((e) => e.event === 'meeting.participantLeft');
    assert.deepEqual(left.map((e) => e.participant.peerId).sort(), joined, 'one leave per join');
    for (const e of left) {
        assert.equal(e.participant.reason, reason);
        assert.ok(Date.parse(e.participant.leftAt) >= Date.parse(e.participant.joinedAt));
    }
    if (endReason) {
        const ended = evs.at(-1);
        assert.equal(ended.reason, endReason);
        assert.equal(ended.meeting.status, 'ENDED');
    }
    for (const e of evs) {
        assert.deepEqual(e.meeting.organizedBy, { id: f.appId, name: 'live-app' }, 'organizedBy');
    }
}

test('kick-all through REST: a participantLeft (kicked) per live peer, then meeting.ended',
    async () => {
        const r = await startReceiver();
        const w = await create({ name: 'kick-all-rest', url: r.url, events: ALL });
        const { m, peers } = await fullMeeting('kar', 3);
        assert.equal((await f.kickAll(m.id)).action, 'kick_all');
        await r.until(() => of(r, m.id).some((e) => e.event === 'meeting.ended'));
        await sleep(300);
        assertPaired(of(r, m.id), 4, 'kicked', 'HOST_ENDED_MEETING');
        await Promise.all(peers.map((p) => p.close()));
        await remove(w.id);
    });

test('session.kick_all from the channel: the same pairs, then meeting.ended', async () => {
    const r = await startReceiver();
    const w = await create({ name: 'kick-all-chan', url: r.url, events: ALL });
    const { m, peers } = await fullMeeting('kac', 2);
    await doneWith(peers[0], { type: 'session.kick_all' }, 'kick_all',
        peers.map((p) => p.hello.self.participant_id));
    await r.until(() => of(r, m.id).some((e) => e.event === 'meeting.ended'));
    await sleep(300);
    assertPaired(of(r, m.id), 3, 'kicked', 'HOST_ENDED_MEETING');
    await Promise.all(peers.map((p) => p.close()));
    await remove(w.id);
});

test('the last peer leaving ends the session: every leave, then meeting.ended', async () => {
    const r = await startReceiver();
    const w = await create({ name: 'last-leave', url: r.url, events: ALL });
    const { m, peers } = await fullMeeting('ll', 2, { session_keep_alive_time_in_secs: 0 });
    for (const p of peers) await p.close();
    await r.until(() => of(r, m.id).some((e) => e.event === 'meeting.ended'));
    await sleep(300);
    assertPaired(of(r, m.id), 3, 'left', 'ALL_PARTICIPANTS_LEFT');
    await remove(w.id);
});

test('SIGTERM: a participantLeft (shutdown) per live peer; the end follows after the restart',
    async () => {
        const r = await startReceiver();
        const w = await create({ name: 'shutdown', url: r.url, events: ALL });
        const { m } = await fullMeeting('sd', 2, { session_keep_alive_time_in_secs: 1 });
        await r.until(() => of(r, m.id).length >= 4);
        await f.restart();
        await r.until(() => of(r, m.id).some((e) => e.event === 'meeting.ended'), 20000);
        await sleep(300);
        const evs = of(r, m.id);
        assert.deepEqual(names(evs.slice(-4)), ['meeting.participantLeft',
            'meeting.participantLeft', 'meeting.participantLeft', 'meeting.ended'],
        JSON.stringify(names(evs)));
        assertPaired(evs, 3, 'shutdown', 'ALL_PARTICIPANTS_LEFT');
        await remove(w.id);
    });

/* A meeting visited once by one participant (the session ends at the leave). */
async function visit(title) {
    const m = await f.meeting({ title, session_keep_alive_time_in_secs: 0 });
    const p = await f.connect(await f.as(m.id, `${title}-0`, 'group_call_participant'));
    await p.close();
    return m;
}

test('an event right after a 2xx create, edit, replace or enable is delivered; none after ' +
    'disable or delete; the filter survives a restart', async () => {
    const r = await startReceiver();
    /* Subscribed to meeting.ended only: joins and leaves are not written for it. */
    const w = await create({ name: 'filter', url: r.url, events: ['meeting.ended'] });
    const m1 = await visit('f1');
    await r.until(() => of(r, m1.id).length >= 1);
    await sleep(300);
    assert.deepEqual(names(of(r, m1.id)), ['meeting.ended']);

    /* PATCH the events: the next visit's every event arrives. */
    await W().editWebhook(w.id, f.at({ events: ALL }));
    const m2 = await visit('f2');
    await r.until(() => of(r, m2.id).length >= 4);
    assert.deepEqual(names(of(r, m2.id)), ALL);

    /* Disabled: nothing; enabled again: everything. */
    await W().editWebhook(w.id, f.at({ enabled: false }));
    const m3 = await visit('f3');
    await f.committed();
    await sleep(600);
    assert.deepEqual(of(r, m3.id), [], 'nothing for a disabled webhook');
    await W().editWebhook(w.id, f.at({ enabled: true }));
    const m4 = await visit('f4');
    await r.until(() => of(r, m4.id).length >= 4);

    /* After a restart, with no API call: the filter was read from the store. */
    await f.restart();
    const m5 = await visit('f5');
    await r.until(() => of(r, m5.id).length >= 4, 20000);
    assert.deepEqual(names(of(r, m5.id)), ALL);

    /* PUT to joins only, then delete; a new webhook's create lets the next join through. */
    await W().replaceWebhook(w.id, f.at({ name: 'filter', url: r.url,
        events: ['meeting.participantJoined'] }));
    const m6 = await visit('f6');
    await r.until(() => of(r, m6.id).length >= 1);
    await sleep(300);
    assert.deepEqual(names(of(r, m6.id)), ['meeting.participantJoined']);
    await remove(w.id);
    const m7 = await visit('f7');
    await f.committed();
    await sleep(600);
    assert.deepEqual(of(r, m7.id), [], 'nothing after delete');
    const w2 = await create({ name: 'filter-2', url: r.url, events: ['meeting.started'] });
    const m8 = await visit('f8');
    await r.until(() => of(r, m8.id).length >= 1);
    assert.deepEqual(names(of(r, m8.id)), ['meeting.started']);
    await remove(w2.id);
});

test('a new app\'s first webhook gets the join that follows its create at once', async () => {
    const r = await startReceiver();
    const app = (await f.cf.realtimeKit.apps.post({ account_id: f.accountId, name: 'second-app' }))
        .data.app.id;
    const at = { account_id: f.accountId, app_id: app };
    const m = (await f.cf.realtimeKit.meetings.create(app, { account_id: f.accountId,
        title: 'fresh' })).data;
    const part = (await f.cf.realtimeKit.meetings.addParticipant(m.id, { ...at,
        custom_participant_id: 'fresh-0', preset_name: 'group_call_participant', name: 'x' })).data;
    /* The create and the join race as closely as a client can make them. */
    const w = (await W().createWebhook(app, { account_id: f.accountId, name: 'fresh',
        url: r.url, events: ALL })).data;
    const p = await f.connect(part);
    await r.until(() => of(r, m.id).length >= 2);
    const evs = of(r, m.id);
    assert.deepEqual(names(evs), ['meeting.started', 'meeting.participantJoined']);
    assert.deepEqual(evs[0].meeting.organizedBy, { id: app, name: 'second-app' });
    await p.close();
    await W().deleteWebhook(w.id, at);
});

test('one meeting\'s events follow each other at once, not one per outbox poll', async () => {
    /* A kick-all queues 12 leaves and the end in one batch while the sender is busy with the
     * first. The outbox is read every 250 ms; each delivery's successor is read as soon as its
     * result commits, so the 13 take far less than 13 polls (3.25 s). */
    const r = await startReceiver();
    const w = await create({ name: 'stream', url: r.url, events: ALL });
    const { m, peers } = await fullMeeting('st', 11);
    await r.until(() => of(r, m.id).length >= 13);
    const t0 = Date.now();
    await f.kickAll(m.id);
    await r.until(() => of(r, m.id).length >= 26, 20000);
    const took = Date.now() - t0;
    assertPaired(of(r, m.id), 12, 'kicked', 'HOST_ENDED_MEETING');
    assert.ok(took < 2000, `the last of 13 events ${took} ms after the kick-all`);
    await Promise.all(peers.map((p) => p.close()));
    await remove(w.id);
});
