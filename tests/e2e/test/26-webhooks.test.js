// SPDX-License-Identifier: MIT
// Webhooks (issue 14, ../shared/WEBHOOKS.md): the resource through the official SDK
// (client.realtimeKit.webhooks.*) with its 400s naming the field, the published keys, and real
// receivers (node:http on loopback) that check both signatures and misbehave on purpose:
// 5xx then 2xx with the same rtk-uuid, Retry-After obeyed, a 4xx final and retried by hand,
// in order per meeting while another meeting is not held up, and a kill -9 with deliveries
// pending that are sent after the restart with the ids seen before.

import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { test, expectRtkError, http, UUID_V4, ISO_MS_UTC, sleep } from '../lib/rtkd.js';
import { liveFixture } from '../lib/peer.js';
import { receiver, publishedKeys, assertSigned } from '../lib/webhooks.js';

const ALL = ['meeting.started', 'meeting.participantJoined', 'meeting.participantLeft',
    'meeting.ended'];
const BASE_MS = 300;

let f;
let keys;
const receivers = [];

before(async () => {
    f = await liveFixture({ args: ['--webhook-retry-base-ms', String(BASE_MS)] });
    keys = await publishedKeys(f.srv);
});

after(async () => {
    for (const r of receivers) await r.close();
    if (f) await f.stop();
});

const W = () => f.cf.realtimeKit.webhooks;
const create = async (body) => (await W().createWebhook(f.appId,
    { account_id: f.accountId, ...body })).data;
const remove = (id) => W().deleteWebhook(id, f.at());
const deliveries = async (hookId, q = '') => {
    const r = await http(f.srv, 'GET',
        `/accounts/${f.accountId}/realtime/kit/${f.appId}/webhooks/${hookId}/deliveries${q}`,
        { token: f.token });
    assert.equal(r.status, 200, r.text);
    return r.json;
};
const retry = (hookId, id) => http(f.srv, 'POST',
    `/accounts/${f.accountId}/realtime/kit/${f.appId}/webhooks/${hookId}/deliveries/${id}/retry`,
    { token: f.token });

async function startReceiver(behave) {
    const r = await receiver(behave);
    receivers.push(r);
    return r;
}

/* Requests for meeting MID only (other tests' meetings may reach the same app's hooks). */
const of = (r, mid) => r.requests.filter((q) => q.json?.meeting?.id === mid);

/* A meeting whose session ends at the last leave; one peer joins and leaves. */
async function oneVisit(title) {
    const { meeting, parts } = await f.meetingWith(1, { title,
        session_keep_alive_time_in_secs: 0 }, title);
    const p = await f.connect(parts[0]);
    const sid = p.hello.session.id;
    await p.close();
    return { meeting, part: parts[0], sid };
}

function assertWebhook(w, body) {
    assert.deepEqual(Object.keys(w).sort(),
        ['created_at', 'enabled', 'events', 'id', 'name', 'updated_at', 'url']);
    assert.match(w.id, UUID_V4);
    assert.match(w.created_at, ISO_MS_UTC);
    assert.match(w.updated_at, ISO_MS_UTC);
    for (const k of ['name', 'url', 'events', 'enabled']) {
        if (k in body) assert.deepEqual(w[k], body[k], k);
    }
}

test('the resource through the SDK: create, list, get, edit, replace, delete', async () => {
    const body = { name: 'crud', url: 'https://example.invalid/hook',
        events: ['meeting.started', 'meeting.chatSynced'] };
    const w = await create(body);
    assertWebhook(w, { ...body, enabled: true });
    const w2 = await create({ name: 'second', url: 'http://127.0.0.1:9/x',
        events: ['meeting.ended'], enabled: false });
    assert.equal(w2.enabled, false);

    const list = (await W().getWebhooks(f.appId, { account_id: f.accountId })).data;
    const ids = list.map((x) => x.id);
    assert.ok(ids.indexOf(w.id) >= 0 && ids.indexOf(w.id) < ids.indexOf(w2.id), 'oldest first');
    assert.deepEqual(list.find((x) => x.id === w.id), w);
    assert.deepEqual((await W().getWebhookByID(w.id, f.at())).data, w);

    const edited = (await W().editWebhook(w.id, f.at({ enabled: false, name: 'renamed' }))).data;
    assertWebhook(edited, { ...body, name: 'renamed', enabled: false });
    assert.equal(edited.created_at, w.created_at);
    assert.ok(Date.parse(edited.updated_at) > Date.parse(w.updated_at), 'updated_at moves');

    /* PUT replaces: enabled goes back to its default. */
    const replaced = (await W().replaceWebhook(w.id, f.at({ name: 'put',
        url: 'http://example.invalid/other', events: ['meeting.ended'] }))).data;
    assertWebhook(replaced, { name: 'put', url: 'http://example.invalid/other',
        events: ['meeting.ended'], enabled: true });

    const deleted = (await remove(w.id)).data;
    assert.deepEqual(deleted, replaced, 'DELETE answers the deleted webhook');
    const e = await expectRtkError(W().getWebhookByID(w.id, f.at()), 404);
    assert.equal(e.error.error.message, `No webhook found with id ${w.id}`);
    await expectRtkError(remove(w.id), 404);
    await expectRtkError(W().editWebhook(w.id, f.at({ name: 'x' })), 404);
    await remove(w2.id);
});

test('every bad input is a 400 naming the field', async () => {
    const ok = { name: 'bad', url: 'http://127.0.0.1:9/x', events: ['meeting.started'] };
    const cases = [
        [{ ...ok, url: 'ftp://example.com/x' }, 'url'],
        [{ ...ok, url: 'javascript:alert(1)' }, 'url'],
        [{ ...ok, url: `http://x/${'a'.repeat(2048)}` }, 'url'],
        [{ ...ok, url: 'http://' }, 'url'],
        [{ ...ok, events: ['meeting.nope'] }, 'events'],
        [{ ...ok, events: [] }, 'events'],
        [{ ...ok, events: 'meeting.started' }, 'events'],
        [{ ...ok, name: 'n'.repeat(257) }, 'name'],
        [{ ...ok, name: '' }, 'name'],
        [{ ...ok, enabled: 'yes' }, 'enabled'],
        [{ url: ok.url, events: ok.events }, 'name'],
        [{ name: 'x', events: ok.events }, 'url'],
        [{ name: 'x', url: ok.url }, 'events'],
        [{ ...ok, colour: 'red' }, 'colour'],
    ];
    for (const [body, field] of cases) await expectRtkError(create(body), 400, field);
    /* 256 bytes is allowed. */
    const w = await create({ ...ok, name: 'n'.repeat(256) });
    await expectRtkError(W().editWebhook(w.id, f.at({ events: ['x'] })), 400, 'events');
    await expectRtkError(W().replaceWebhook(w.id, f.at({ name: 'only' })), 400, 'url');
    await remove(w.id);
});

test('events reach a receiver signed twice, compact, in order, with delivery records',
    async () => {
        const r = await startReceiver();
        const w = await create({ name: 'signed', url: r.url, events: ALL });
        const { meeting, part, sid } = await oneVisit('signed');
        await r.until((q) => of(r, meeting.id).length >= 4);
        await sleep(300);
        const got = of(r, meeting.id);
        assert.deepEqual(got.map((q) => q.json.event), ALL, 'each event once, in order');
        for (const q of got) {
            assertSigned(q, keys, w.id);
            assert.equal(q.json.meeting.id, meeting.id);
            assert.equal(q.json.meeting.sessionId, sid);
            assert.equal(q.json.meeting.title, 'signed');
            assert.equal(q.json.meeting.roomName, '');
            assert.equal(q.json.meeting.organizedBy.id, f.appId);
        }
        assert.equal(new Set(got.map((q) => q.headers['rtk-uuid'])).size, 4);
        const [started, joined, left, ended] = got.map((q) => q.json);
        assert.equal(started.meeting.status, 'LIVE');
        assert.deepEqual(Object.keys(joined.participant).sort(), ['customParticipantId',
            'joinedAt', 'participantId', 'peerId', 'presetName', 'userDisplayName']);
        assert.equal(joined.participant.participantId, part.id);
        assert.equal(joined.participant.customParticipantId, part.custom_participant_id);
        assert.equal(joined.participant.presetName, 'group_call_participant');
        assert.equal(left.participant.reason, 'left');
        assert.match(left.participant.leftAt, ISO_MS_UTC);
        assert.equal(left.participant.peerId, joined.participant.peerId);
        assert.equal(ended.reason, 'ALL_PARTICIPANTS_LEFT');
        assert.equal(ended.meeting.status, 'ENDED');
        assert.match(ended.meeting.endedAt, ISO_MS_UTC);

        const d = await deliveries(w.id);
        assert.equal(d.success, true);
        assert.equal(d.paging.total_count, 4);
        assert.deepEqual(d.data.map((x) => x.event), [...ALL].reverse(), 'newest first');
        for (const x of d.data) {
            assert.equal(x.status, 'delivered');
            assert.equal(x.attempts, 1);
            assert.equal(x.last_status_code, 200);
            assert.equal(x.last_error, null);
            assert.match(x.delivered_at, ISO_MS_UTC);
            assert.equal(x.next_attempt_at, null);
        }
        assert.deepEqual(new Set(d.data.map((x) => x.id)),
            new Set(got.map((q) => q.headers['rtk-uuid'])));
        const page = await deliveries(w.id, '?per_page=1&page_no=2');
        assert.equal(page.data.length, 1);
        assert.equal(page.data[0].event, ALL[2]);

        /* Only subscribed events go to a webhook; a disabled one gets nothing. */
        await W().editWebhook(w.id, f.at({ events: ['meeting.ended'] }));
        const off = await create({ name: 'off', url: r.url, events: ALL, enabled: false });
        const v2 = await oneVisit('subscribed');
        await r.until(() => of(r, v2.meeting.id).length >= 1);
        await sleep(600);
        assert.deepEqual(of(r, v2.meeting.id).map((q) => [q.json.event, q.headers['rtk-webhook-id']]),
            [['meeting.ended', w.id]]);
        await remove(off.id);
        await remove(w.id);
    });

test('5xx and 429 are retried with the same rtk-uuid, backing off, Retry-After obeyed',
    async () => {
        const answers = [
            { status: 500 },
            { status: 503 },
            { status: 429, headers: { 'retry-after': '2' } },
            { destroy: true },
            { status: 302, headers: { location: 'http://127.0.0.1:9/' } },
            { status: 200 },
        ];
        let n = 0;
        const r = await startReceiver(() => answers[Math.min(n++, answers.length - 1)]);
        const w = await create({ name: 'retries', url: r.url, events: ['meeting.started'] });
        const { meeting } = await oneVisit('retries');
        await r.until(() => of(r, meeting.id).length >= answers.length, 30000);
        const got = of(r, meeting.id);
        assert.equal(new Set(got.map((q) => q.headers['rtk-uuid'])).size, 1, 'one delivery id');
        for (const q of got) assertSigned(q, keys, w.id);
        const gaps = got.slice(1).map((q, i) => q.at - got[i].at);
        /* base x 2^(n-1) +/- 10 %: 300, 600, then Retry-After 2 s, then 2400, 4800. */
        assert.ok(gaps[0] >= BASE_MS * 0.9 - 50 && gaps[0] < BASE_MS * 1.1 + 600, `gap 1 ${gaps}`);
        assert.ok(gaps[1] >= 2 * BASE_MS * 0.9 - 50 && gaps[1] < 2 * BASE_MS * 1.1 + 600,
            `gap 2 ${gaps}`);
        assert.ok(gaps[2] >= 1950 && gaps[2] < 2700, `Retry-After 2 s: gap 3 ${gaps}`);
        assert.ok(gaps[3] >= 8 * BASE_MS * 0.9 - 50, `gap 4 ${gaps}`);
        const d = (await deliveries(w.id)).data;
        assert.equal(d.length, 1);
        assert.equal(d[0].status, 'delivered');
        assert.equal(d[0].attempts, answers.length);
        assert.equal(d[0].last_status_code, 200);
        assert.equal(got.length, answers.length, 'no attempt after the 2xx');
        await remove(w.id);
    });

test('a 4xx is final; retry queues it again with the same id', async () => {
    let fail = true;
    const r = await startReceiver(() => ({ status: fail ? 400 : 204 }));
    const w = await create({ name: 'final', url: r.url, events: ['meeting.started'] });
    const { meeting } = await oneVisit('final');
    await r.until(() => of(r, meeting.id).length >= 1);
    await sleep(BASE_MS * 5);
    assert.equal(of(r, meeting.id).length, 1, 'no retry after a 400');
    const [d] = (await deliveries(w.id)).data;
    assert.equal(d.status, 'failed');
    assert.equal(d.attempts, 1);
    assert.equal(d.last_status_code, 400);
    assert.equal(d.next_attempt_at, null);
    const notFound = await retry(w.id, '00000000-0000-4000-8000-000000000000');
    assert.equal(notFound.status, 404);
    fail = false;
    const res = await retry(w.id, d.id);
    assert.equal(res.status, 202, res.text);
    await r.until(() => of(r, meeting.id).length >= 2);
    const got = of(r, meeting.id);
    assert.equal(got[1].headers['rtk-uuid'], d.id);
    await sleep(200);
    const [d2] = (await deliveries(w.id)).data;
    assert.equal(d2.status, 'delivered');
    assert.equal(d2.attempts, 2);
    assert.equal((await retry(w.id, d.id)).status, 400, 'a delivered one is not retried');
    await remove(w.id);
});

test('in order per meeting and webhook; another meeting is not held up', async () => {
    /* Meeting A's first event fails three times; B's events go through meanwhile, and A's
     * later events wait for its first. */
    const fails = new Map();
    let aId = null;
    const r = await startReceiver((q) => {
        if (q.json?.meeting?.id === aId && q.json.event === 'meeting.started') {
            const k = (fails.get(q.headers['rtk-uuid']) ?? 0) + 1;
            fails.set(q.headers['rtk-uuid'], k);
            if (k <= 3) return { status: 500 };
        }
        return { status: 200 };
    });
    const w = await create({ name: 'order', url: r.url, events: ALL });
    const a = await f.meetingWith(3, { title: 'A', session_keep_alive_time_in_secs: 0 }, 'oa');
    aId = a.meeting.id;
    const b = await f.meetingWith(1, { title: 'B', session_keep_alive_time_in_secs: 0 }, 'ob');
    const peersA = [];
    for (const part of a.parts) peersA.push(await f.connect(part));
    for (const p of peersA) await p.close();
    const pb = await f.connect(b.parts[0]);
    await pb.close();
    await r.until(() => of(r, b.meeting.id).length >= 4);
    const firstA = of(r, aId).filter((q) => q.json.event === 'meeting.started');
    assert.ok(of(r, aId).every((q) => q.json.event === 'meeting.started'),
        'nothing of A overtook its failing first event');
    assert.ok(firstA.length <= 3);
    /* 3 joins, 3 leaves, start and end. */
    await r.until(() => of(r, aId).filter((q) => q.json.event !== 'meeting.started').length >= 7,
        20000);
    const okA = of(r, aId).filter((q, i, all) => q.json.event !== 'meeting.started' ||
        i === all.map((x) => x.json.event).lastIndexOf('meeting.started'));
    assert.deepEqual(okA.map((q) => q.json.event), ['meeting.started',
        ...Array(3).fill('meeting.participantJoined'), ...Array(3).fill('meeting.participantLeft'),
        'meeting.ended']);
    assert.deepEqual(okA.slice(1, 4).map((q) => q.json.participant.participantId),
        a.parts.map((p) => p.id));
    await remove(w.id);
});

test('kill -9 with deliveries pending: after the restart every event arrives, same ids',
    async () => {
        let up = false;
        const r = await startReceiver(() => ({ status: up ? 200 : 503 }));
        const w = await create({ name: 'crash', url: r.url, events: ALL });
        const { meeting } = await oneVisit('crash');
        await r.until(() => of(r, meeting.id).length >= 1);
        await f.committed();
        const before = new Set(of(r, meeting.id).map((q) => q.headers['rtk-uuid']));
        await f.restart({ kill: true });
        up = true;
        await r.until(() => of(r, meeting.id).filter((q) => q.json.event === 'meeting.ended')
            .length >= 1, 20000);
        const after = of(r, meeting.id);
        const ok = new Map();
        for (const q of after) ok.set(q.headers['rtk-uuid'], q.json.event);
        assert.deepEqual([...ok.values()], ALL, 'every event, in order');
        for (const id of before) assert.ok(ok.has(id), `delivery ${id} kept its id`);
        await sleep(300);
        const d = (await deliveries(w.id)).data;
        assert.deepEqual(d.map((x) => x.status), Array(4).fill('delivered'));
        keys = await publishedKeys(f.srv);
        for (const q of after.slice(-1)) assertSigned(q, keys, w.id);
        await remove(w.id);
    });

test('a receiver that never answers does not stall the server', async () => {
    const r = await startReceiver(() => ({ hang: true }));
    const w = await create({ name: 'hang', url: r.url, events: ALL });
    const { meeting } = await oneVisit('hang');
    await r.until(() => of(r, meeting.id).length >= 1);
    const t0 = Date.now();
    for (let i = 0; i < 5; i++) await f.meeting({ title: `while hanging ${i}` });
    assert.ok(Date.now() - t0 < 3000, `REST answered in ${Date.now() - t0} ms`);
    assert.equal(of(r, meeting.id).length, 1, 'the next event waits for the hanging one');
    await remove(w.id);
});

test('at most 8 requests in flight per webhook, one per meeting chain', async () => {
    const open = [];
    const r = await startReceiver(() => ({ hang: true }));
    const w = await create({ name: 'bounded', url: r.url, events: ['meeting.started'] });
    const visits = [];
    for (let i = 0; i < 10; i++) visits.push(await oneVisit(`bounded-${i}`));
    const mine = () => r.requests.filter((q) => q.headers['rtk-webhook-id'] === w.id);
    await r.until(() => mine().length >= 8);
    await sleep(1500);
    open.push(...mine());
    assert.equal(open.length, 8, 'the ninth and tenth wait for a free slot');
    assert.equal(new Set(open.map((q) => q.json.meeting.id)).size, 8, 'one per meeting');
    await remove(w.id);
});
