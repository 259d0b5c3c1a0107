// SPDX-License-Identifier: MIT
// Meetings: create with defaults, get, list (paging, search, status), PATCH, PUT, and every
// kind of bad request.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, after } from 'node:test';
import {
    test, startWithApp, http, expectRtkError, assertRecentTime, sleep, UUID_V4,
} from '../lib/rtkd.js';

let f;
let M; // f.cf.realtimeKit.meetings
let ids; // {account_id, app_id}

before(async () => {
    f = await startWithApp();
    M = f.cf.realtimeKit.meetings;
    ids = { account_id: f.accountId, app_id: f.appId };
});

after(async () => {
    if (f) await f.srv.stop();
});

const DEFAULTS = {
    status: 'ACTIVE',
    session_keep_alive_time_in_secs: 60,
    record_on_start: false,
    live_stream_on_start: false,
    persist_chat: false,
    summarize_on_end: false,
    transcribe_on_end: false,
};

const FULL = {
    title: 'Full meeting',
    record_on_start: true,
    live_stream_on_start: true,
    persist_chat: true,
    summarize_on_end: true,
    transcribe_on_end: true,
    session_keep_alive_time_in_secs: 300,
    ai_config: {
        summarization: { summary_type: 'team_meeting', text_format: 'markdown', word_limit: 250 },
        transcription: { keywords: ['rtkd', 'libuv'], language: 'en-US', profanity_filter: true },
    },
    recording_config: {
        file_name_prefix: 'rec-',
        max_seconds: 3600,
        audio_config: { channel: 'stereo', codec: 'AAC', export_file: true },
        video_config: { codec: 'H264', height: 720, width: 1280, export_file: true },
        realtimekit_bucket_config: { enabled: true },
        live_streaming_config: { rtmp_url: 'rtmp://example.invalid/live' },
    },
};

function meetingPath(id) {
    return `/accounts/${f.accountId}/realtime/kit/${f.appId}/meetings${id ? `/${id}` : ''}`;
}

function assertMeetingShape(m) {
    assert.match(m.id, UUID_V4, `id ${m.id}`);
    assertRecentTime(m.created_at, 'created_at');
    assertRecentTime(m.updated_at, 'updated_at');
    for (const k of ['title', 'ai_config', 'recording_config', ...Object.keys(DEFAULTS)]) {
        assert.ok(k in m, `meeting lacks field ${k}: ${JSON.stringify(m)}`);
    }
}

function pick(obj, keys) {
    return Object.fromEntries(keys.map((k) => [k, obj[k]]));
}

test('POST meetings with an empty body → 201 with every documented field at its default',
    async () => {
        const { data: res, response } = await M.create(f.appId, { account_id: f.accountId })
            .withResponse();
        assert.equal(response.status, 201);
        assert.equal(res.success, true);
        const m = res.data;
        assertMeetingShape(m);
        assert.deepEqual(pick(m, Object.keys(DEFAULTS)), DEFAULTS);
        assert.equal(m.title, null, 'title defaults to null');
        assert.equal(m.created_at, m.updated_at, 'a new meeting was never updated');
    });

test('POST meetings keeps and returns every field it is given', async () => {
    const res = await M.create(f.appId, { account_id: f.accountId, ...FULL });
    const m = res.data;
    assertMeetingShape(m);
    assert.deepEqual(pick(m, Object.keys(FULL)), FULL);
    assert.equal(m.status, 'ACTIVE');
    const got = await M.getMeetingByID(m.id, ids);
    assert.equal(got.success, true);
    assert.deepEqual(got.data, m, 'GET returns what create returned');
});

test('two meetings get different UUIDv4 ids', async () => {
    const a = (await M.create(f.appId, { account_id: f.accountId, title: 'a' })).data;
    const b = (await M.create(f.appId, { account_id: f.accountId, title: 'a' })).data;
    assert.notEqual(a.id, b.id);
});

test('unknown meeting id → 404 "No meeting found with id <id>" on GET, PATCH and PUT', async () => {
    const id = randomUUID();
    const want = `No meeting found with id ${id}`;
    let e = await expectRtkError(M.getMeetingByID(id, ids), 404);
    assert.equal(e.error.error.message, want);
    e = await expectRtkError(M.updateMeetingByID(id, { ...ids, title: 'x' }), 404);
    assert.equal(e.error.error.message, want);
    e = await expectRtkError(M.replaceMeetingByID(id, { ...ids, title: 'x' }), 404);
    assert.equal(e.error.error.message, want);
});

test('a meeting id that is not a UUID → 400 or 404 in the RealtimeKit envelope', async () => {
    const r = await http(f.srv, 'GET', meetingPath('not-a-uuid'), { token: f.token });
    assert.ok(r.status === 400 || r.status === 404, `status ${r.status}: ${r.text}`);
    assert.deepEqual(Object.keys(r.json).sort(), ['error', 'success']);
    assert.equal(r.json.error.code, r.status);
});

test('invalid JSON → 400 on POST, PATCH and PUT', async () => {
    const m = (await M.create(f.appId, { account_id: f.accountId, title: 'json' })).data;
    const bad = ['{"title": "x"', '{title: "x"}', '{"title": "x"} trailing', '\xff\xfe'];
    for (const [method, p] of [['POST', meetingPath()], ['PATCH', meetingPath(m.id)],
        ['PUT', meetingPath(m.id)]]) {
        for (const body of bad) {
            const r = await http(f.srv, method, p, { token: f.token, body,
                headers: { 'content-type': 'application/json' } });
            assert.equal(r.status, 400, `${method} ${JSON.stringify(body)}: ${r.status} ${r.text}`);
            assert.equal(r.json?.success, false, r.text);
            assert.equal(r.json.error.code, 400);
        }
    }
    /* Nothing changed. */
    assert.equal((await M.getMeetingByID(m.id, ids)).data.title, 'json');
});

test('a JSON body that is not an object → 400', async () => {
    for (const body of ['[]', '"title"', '42', 'null', '[{"title":"x"}]']) {
        const r = await http(f.srv, 'POST', meetingPath(), { token: f.token, body,
            headers: { 'content-type': 'application/json' } });
        assert.equal(r.status, 400, `${body}: ${r.status} ${r.text}`);
        assert.equal(r.json?.error?.code, 400, r.text);
    }
});

const WRONG_TYPES = [
    ['title', 123],
    ['title', true],
    ['record_on_start', 'yes'],
    ['live_stream_on_start', 1],
    ['persist_chat', 'true'],
    ['summarize_on_end', {}],
    ['transcribe_on_end', []],
    ['session_keep_alive_time_in_secs', 'sixty'],
    ['session_keep_alive_time_in_secs', true],
    ['ai_config', 'smart'],
    ['recording_config', 5],
];

test('wrong types on POST meetings → 400 whose message names the field', async () => {
    for (const [field, value] of WRONG_TYPES) {
        await expectRtkError(M.create(f.appId, { account_id: f.accountId, [field]: value }), 400, field);
    }
});

test('wrong types on PATCH and PUT meetings → 400 naming the field, meeting unchanged', async () => {
    const m = (await M.create(f.appId, { account_id: f.accountId, title: 'typed' })).data;
    for (const [field, value] of [...WRONG_TYPES, ['status', 'PAUSED'], ['status', 1]]) {
        await expectRtkError(M.updateMeetingByID(m.id, { ...ids, [field]: value }), 400, field);
    }
    for (const [field, value] of WRONG_TYPES) {
        await expectRtkError(M.replaceMeetingByID(m.id, { ...ids, [field]: value }), 400, field);
    }
    assert.deepEqual((await M.getMeetingByID(m.id, ids)).data, m);
});

test('unknown JSON fields are ignored (201/200, not echoed)', async () => {
    const res = await M.create(f.appId, { account_id: f.accountId, title: 'extra',
        preferred_region: 'us-east-1', frobnicate: { deep: [1, 2] }, id: 'mine', zzz: null });
    const m = res.data;
    assert.equal(m.title, 'extra');
    assert.match(m.id, UUID_V4, 'a client-supplied id is not used');
    assert.ok(!('frobnicate' in m) && !('zzz' in m), JSON.stringify(m));
    const p = await M.updateMeetingByID(m.id, { ...ids, title: 'extra 2', frobnicate: 1 });
    assert.equal(p.data.title, 'extra 2');
    assert.ok(!('frobnicate' in p.data));
});

test('PATCH changes only the given fields and bumps updated_at', async () => {
    const m = (await M.create(f.appId, { account_id: f.accountId, ...FULL })).data;
    await sleep(15);
    const res = await M.updateMeetingByID(m.id, { ...ids, status: 'INACTIVE' });
    assert.equal(res.success, true);
    const p = res.data;
    assert.equal(p.status, 'INACTIVE');
    assert.equal(p.id, m.id);
    assert.equal(p.created_at, m.created_at);
    assert.ok(p.updated_at > m.updated_at, `updated_at ${p.updated_at} not after ${m.updated_at}`);
    assertRecentTime(p.updated_at, 'updated_at');
    assert.deepEqual(pick(p, Object.keys(FULL)), FULL, 'other fields unchanged');

    const p2 = (await M.updateMeetingByID(m.id, { ...ids, title: 'renamed',
        session_keep_alive_time_in_secs: 5, record_on_start: false })).data;
    assert.equal(p2.title, 'renamed');
    assert.equal(p2.session_keep_alive_time_in_secs, 5);
    assert.equal(p2.record_on_start, false);
    assert.equal(p2.status, 'INACTIVE', 'status kept');
    assert.equal(p2.persist_chat, true, 'persist_chat kept');
    assert.deepEqual(p2.ai_config, FULL.ai_config, 'ai_config kept');

    const p3 = (await M.updateMeetingByID(m.id, { ...ids, status: 'ACTIVE' })).data;
    assert.equal(p3.status, 'ACTIVE');

    assert.deepEqual((await M.getMeetingByID(m.id, ids)).data, p3, 'GET sees the PATCHed meeting');
});

test('PATCH with an empty body leaves the meeting as it was', async () => {
    const m = (await M.create(f.appId, { account_id: f.accountId, ...FULL })).data;
    const p = (await M.updateMeetingByID(m.id, ids)).data;
    assert.deepEqual(pick(p, [...Object.keys(FULL), 'id', 'created_at', 'status']),
        pick(m, [...Object.keys(FULL), 'id', 'created_at', 'status']));
});

test('PATCH title to null clears it', async () => {
    const m = (await M.create(f.appId, { account_id: f.accountId, title: 'to clear' })).data;
    const p = (await M.updateMeetingByID(m.id, { ...ids, title: null })).data;
    assert.equal(p.title, null);
});

test('PUT replaces: fields not given return to their defaults', async () => {
    const m = (await M.create(f.appId, { account_id: f.accountId, ...FULL })).data;
    await sleep(15);
    const res = await M.replaceMeetingByID(m.id, { ...ids, title: 'replaced', persist_chat: true });
    assert.equal(res.success, true);
    const r = res.data;
    assert.equal(r.id, m.id);
    assert.equal(r.created_at, m.created_at);
    assert.ok(r.updated_at > m.updated_at, 'updated_at moved');
    assert.equal(r.title, 'replaced');
    assert.equal(r.persist_chat, true);
    assert.deepEqual(pick(r, Object.keys(DEFAULTS)), { ...DEFAULTS, persist_chat: true },
        'everything not given is back at its default');
    assert.notDeepEqual(r.ai_config, FULL.ai_config, 'ai_config was reset');
    assert.notDeepEqual(r.recording_config, FULL.recording_config, 'recording_config was reset');
    assert.deepEqual((await M.getMeetingByID(m.id, ids)).data, r, 'GET sees the replacement');

    const r2 = (await M.replaceMeetingByID(m.id, ids)).data;
    assert.equal(r2.title, null, 'a PUT without title clears it');
    assert.deepEqual(pick(r2, Object.keys(DEFAULTS)), DEFAULTS);
});

test('PUT with the full body sets every field, as create does', async () => {
    const m = (await M.create(f.appId, { account_id: f.accountId })).data;
    const r = (await M.replaceMeetingByID(m.id, { ...ids, ...FULL })).data;
    assert.deepEqual(pick(r, Object.keys(FULL)), FULL);
});

test('PUT without status returns an INACTIVE meeting to the default ACTIVE', async () => {
    const m = (await M.create(f.appId, { account_id: f.accountId, title: 'inactive' })).data;
    await M.updateMeetingByID(m.id, { ...ids, status: 'INACTIVE' });
    const r = (await M.replaceMeetingByID(m.id, { ...ids, title: 'put' })).data;
    assert.equal(r.status, 'ACTIVE');
});

/* ---- listing ---- */

let listApp;
let listed; // meetings in listApp, oldest first

async function listIn(app, query = {}) {
    return M.get(app, { account_id: f.accountId, ...query });
}

test('GET meetings lists an app\'s meetings with paging {total_count,start_offset,end_offset}',
    async () => {
        listApp = (await f.cf.realtimeKit.apps.post({ account_id: f.accountId, name: 'list app' }))
            .data.app.id;
        listed = [];
        const titles = ['alpha standup', 'bravo review', 'charlie sync', 'delta retro',
            'echo planning', 'bravo followup', 'golf demo'];
        for (const title of titles) {
            listed.push((await M.create(listApp, { account_id: f.accountId, title })).data);
        }
        const r = await listIn(listApp);
        assert.equal(r.success, true);
        assert.equal(r.data.length, 7);
        assert.deepEqual(r.paging, { total_count: 7, start_offset: 1, end_offset: 7 });
        for (const m of listed) {
            const entry = r.data.find((x) => x.id === m.id);
            assert.deepEqual(entry, m, 'a list entry is the full meeting');
        }
        /* The main app's meetings do not leak into this list. */
        const main = await listIn(f.appId);
        assert.ok(!main.data.some((x) => listed.some((m) => m.id === x.id)));
    });

test('GET meetings pages with page_no (from 1) and per_page', async () => {
    const seen = [];
    for (const [page, count, start, end] of [[1, 3, 1, 3], [2, 3, 4, 6], [3, 1, 7, 7]]) {
        const r = await listIn(listApp, { page_no: page, per_page: 3 });
        assert.equal(r.data.length, count, `page ${page}`);
        assert.deepEqual(r.paging, { total_count: 7, start_offset: start, end_offset: end },
            `page ${page}`);
        seen.push(...r.data.map((m) => m.id));
    }
    assert.equal(new Set(seen).size, 7, 'no meeting on two pages');
    assert.deepEqual([...seen].sort(), listed.map((m) => m.id).sort());

    const past = await listIn(listApp, { page_no: 4, per_page: 3 });
    assert.deepEqual(past.data, []);
    assert.equal(past.paging.total_count, 7);

    const big = await listIn(listApp, { per_page: 100 });
    assert.equal(big.data.length, 7);
});

test('GET meetings?status= filters by status', async () => {
    await M.updateMeetingByID(listed[1].id, { ...ids, app_id: listApp, status: 'INACTIVE' });
    await M.updateMeetingByID(listed[4].id, { ...ids, app_id: listApp, status: 'INACTIVE' });
    const inactive = await listIn(listApp, { status: 'INACTIVE' });
    assert.deepEqual(inactive.data.map((m) => m.id).sort(), [listed[1].id, listed[4].id].sort());
    assert.equal(inactive.paging.total_count, 2);
    assert.ok(inactive.data.every((m) => m.status === 'INACTIVE'));
    const active = await listIn(listApp, { status: 'ACTIVE' });
    assert.equal(active.data.length, 5);
    assert.equal(active.paging.total_count, 5);
    assert.ok(active.data.every((m) => m.status === 'ACTIVE'));
});

test('GET meetings?search= matches the title, and combines with status and paging', async () => {
    const r = await listIn(listApp, { search: 'bravo' });
    assert.deepEqual(r.data.map((m) => m.title).sort(), ['bravo followup', 'bravo review']);
    assert.equal(r.paging.total_count, 2);

    const both = await listIn(listApp, { search: 'bravo', status: 'ACTIVE' });
    assert.deepEqual(both.data.map((m) => m.title), ['bravo followup']);

    const paged = await listIn(listApp, { search: 'bravo', per_page: 1, page_no: 2 });
    assert.equal(paged.data.length, 1);
    assert.deepEqual(paged.paging, { total_count: 2, start_offset: 2, end_offset: 2 });

    const none = await listIn(listApp, { search: 'no such title anywhere' });
    assert.deepEqual(none.data, []);
    assert.equal(none.paging.total_count, 0);
});

test('GET meetings defaults to 25 per page', async () => {
    const app = (await f.cf.realtimeKit.apps.post({ account_id: f.accountId, name: 'many' }))
        .data.app.id;
    for (let i = 0; i < 26; i++) await M.create(app, { account_id: f.accountId, title: `m${i}` });
    const r = await listIn(app);
    assert.equal(r.data.length, 25);
    assert.deepEqual(r.paging, { total_count: 26, start_offset: 1, end_offset: 25 });
    const p2 = await listIn(app, { page_no: 2 });
    assert.equal(p2.data.length, 1);
    assert.deepEqual(p2.paging, { total_count: 26, start_offset: 26, end_offset: 26 });
});

test('GET meetings with per_page 101 or page_no 0 → 400 naming the field', async () => {
    await expectRtkError(listIn(listApp, { per_page: 101 }), 400, 'per_page');
    await expectRtkError(listIn(listApp, { page_no: 0 }), 400, 'page_no');
    await expectRtkError(listIn(listApp, { page_no: -1 }), 400, 'page_no');
});

test('GET meetings with non-numeric paging or an unknown status → 400 naming the field',
    async () => {
        const base = `/accounts/${f.accountId}/realtime/kit/${listApp}/meetings`;
        for (const [q, field] of [['per_page=abc', 'per_page'], ['page_no=1x', 'page_no'],
            ['status=PAUSED', 'status']]) {
            const r = await http(f.srv, 'GET', `${base}?${q}`, { token: f.token });
            assert.equal(r.status, 400, `?${q}: ${r.status} ${r.text}`);
            assert.equal(r.json?.error?.code, 400, r.text);
            assert.ok(r.json.error.message.includes(field), `?${q}: ${r.json.error.message}`);
        }
    });
