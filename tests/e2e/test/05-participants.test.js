// SPDX-License-Identifier: MIT
// Participants: add (201 + token), required fields, per-meeting uniqueness of
// custom_participant_id, list with paging, get, PATCH (new token), DELETE, token refresh.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, after } from 'node:test';
import {
    test, startWithApp, http, expectRtkError, assertRecentTime, decodeJwt, sleep, UUID_V4,
} from '../lib/rtkd.js';

let f;
let M;
let m1;
let m2;

before(async () => {
    f = await startWithApp();
    M = f.cf.realtimeKit.meetings;
    m1 = (await M.create(f.appId, { account_id: f.accountId, title: 'one' })).data.id;
    m2 = (await M.create(f.appId, { account_id: f.accountId, title: 'two' })).data.id;
});

after(async () => {
    if (f) await f.srv.stop();
});

function at(meetingId) {
    return { account_id: f.accountId, app_id: f.appId, meeting_id: meetingId };
}

function add(meetingId, body) {
    return M.addParticipant(meetingId, { account_id: f.accountId, app_id: f.appId, ...body });
}

/* Asserts TOKEN is an HS256 JWT for participant P of meeting MEETING (claim names are the
 * server's choice; their values must be there) with sane iat/exp. Returns the payload. */
function assertParticipantToken(token, meetingId, participantId) {
    const { header, payload } = decodeJwt(token);
    assert.equal(header.alg, 'HS256', `JWT header ${JSON.stringify(header)}`);
    assert.equal(typeof payload.iat, 'number', `JWT payload ${JSON.stringify(payload)}`);
    assert.equal(typeof payload.exp, 'number', `JWT payload ${JSON.stringify(payload)}`);
    assert.ok(payload.exp > payload.iat, 'exp after iat');
    assert.ok(Math.abs(payload.iat - Date.now() / 1000) < 60, `iat ${payload.iat} is not now`);
    const values = JSON.stringify(payload);
    for (const [what, id] of [['app', f.appId], ['meeting', meetingId], ['participant', participantId]]) {
        assert.ok(values.includes(id), `JWT payload lacks the ${what} id ${id}: ${values}`);
    }
    return payload;
}

let alice; // the add response for alice in m1

test('POST participants → 201 with the participant and a signed JWT token', async () => {
    const { data: res, response } = await add(m1, { custom_participant_id: 'alice-1',
        preset_name: 'group_call_host', name: 'Alice', picture: 'https://example.invalid/a.png' })
        .withResponse();
    assert.equal(response.status, 201);
    assert.equal(res.success, true);
    const p = res.data;
    assert.match(p.id, UUID_V4);
    assert.equal(p.custom_participant_id, 'alice-1');
    assert.equal(p.preset_name, 'group_call_host');
    assert.equal(p.name, 'Alice');
    assert.equal(p.picture, 'https://example.invalid/a.png');
    assertRecentTime(p.created_at, 'created_at');
    assertRecentTime(p.updated_at, 'updated_at');
    assertParticipantToken(p.token, m1, p.id);
    alice = p;
});

test('name and picture are optional and come back null', async () => {
    const p = (await add(m1, { custom_participant_id: 'anon-1', preset_name: 'webinar_viewer' })).data;
    assert.equal(p.name ?? null, null);
    assert.equal(p.picture ?? null, null);
    assertParticipantToken(p.token, m1, p.id);
});

test('custom_participant_id and preset_name are required → 400 naming the field', async () => {
    await expectRtkError(add(m1, { preset_name: 'group_call_participant' }), 400, 'custom_participant_id');
    await expectRtkError(add(m1, { custom_participant_id: 'x-1' }), 400, 'preset_name');
    await expectRtkError(add(m1, { custom_participant_id: 'x-1', preset_name: '' }), 400, 'preset_name');
    await expectRtkError(add(m1, { custom_participant_id: 7, preset_name: 'group_call_participant' }), 400, 'custom_participant_id');
    await expectRtkError(add(m1, { custom_participant_id: 'x-1', preset_name: ['p'] }), 400, 'preset_name');
    await expectRtkError(add(m1, { custom_participant_id: 'x-1', preset_name: 'group_call_participant', name: 5 }), 400, 'name');
    await expectRtkError(add(m1, { custom_participant_id: 'x-1', preset_name: 'group_call_participant', picture: {} }), 400, 'picture');
    /* None of those was stored. */
    const list = await M.getMeetingParticipants(m1, { account_id: f.accountId, app_id: f.appId });
    assert.ok(!list.data.some((p) => p.custom_participant_id === 'x-1'));
});

test('unknown JSON fields on participants are ignored', async () => {
    const p = (await add(m1, { custom_participant_id: 'extra-1', preset_name: 'webinar_viewer',
        client_specific_id: 'legacy', role: 'x', id: 'mine' })).data;
    assert.match(p.id, UUID_V4, 'a client-supplied id is not used');
    assert.ok(!('client_specific_id' in p) && !('role' in p), JSON.stringify(p));
    const e = (await M.editParticipant(p.id, { ...at(m1), name: 'E', frobnicate: true })).data;
    assert.equal(e.name, 'E');
    assert.ok(!('frobnicate' in e));
});

test('invalid JSON on POST participants → 400', async () => {
    const r = await http(f.srv, 'POST',
        `/accounts/${f.accountId}/realtime/kit/${f.appId}/meetings/${m1}/participants`,
        { token: f.token, body: '{"custom_participant_id":', headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json?.error?.code, 400, r.text);
});

test('a custom_participant_id is unique within a meeting (400) but may repeat in another', async () => {
    await expectRtkError(add(m1, { custom_participant_id: 'alice-1', preset_name: 'group_call_participant' }), 400,
        'custom_participant_id');
    const again = (await add(m2, { custom_participant_id: 'alice-1', preset_name: 'webinar_viewer' })).data;
    assert.notEqual(again.id, alice.id);
    assertParticipantToken(again.token, m2, again.id);
});

test('adding to an unknown meeting → 404 "No meeting found with id <id>"', async () => {
    const id = randomUUID();
    const e = await expectRtkError(add(id, { custom_participant_id: 'z', preset_name: 'group_call_participant' }), 404);
    assert.equal(e.error.error.message, `No meeting found with id ${id}`);
    await expectRtkError(M.getMeetingParticipants(id, { account_id: f.accountId, app_id: f.appId }), 404);
});

test('GET participant returns it (without a token)', async () => {
    const r = await M.getMeetingParticipant(alice.id, at(m1));
    assert.equal(r.success, true);
    const { token, ...rest } = alice;
    assert.ok(!('token' in r.data), 'GET does not hand out the token');
    assert.deepEqual(r.data, rest);
});

test('GET participants lists them with paging', async () => {
    const meeting = (await M.create(f.appId, { account_id: f.accountId, title: 'crowd' })).data.id;
    const added = [];
    for (let i = 0; i < 5; i++) {
        added.push((await add(meeting, { custom_participant_id: `crowd-${i}`, preset_name: 'webinar_viewer',
            name: `Guest ${i}` })).data);
    }
    const q = { account_id: f.accountId, app_id: f.appId };
    const all = await M.getMeetingParticipants(meeting, q);
    assert.equal(all.success, true);
    assert.equal(all.data.length, 5);
    assert.deepEqual(all.paging, { total_count: 5, start_offset: 1, end_offset: 5 });
    for (const p of added) {
        const { token, ...rest } = p;
        const entry = all.data.find((x) => x.id === p.id);
        assert.ok(entry, `participant ${p.id} is listed`);
        assert.ok(!('token' in entry), 'a list entry has no token');
        assert.deepEqual(entry, rest);
    }
    const seen = [];
    for (const [page, count, start, end] of [[1, 2, 1, 2], [2, 2, 3, 4], [3, 1, 5, 5]]) {
        const r = await M.getMeetingParticipants(meeting, { ...q, page_no: page, per_page: 2 });
        assert.equal(r.data.length, count, `page ${page}`);
        assert.deepEqual(r.paging, { total_count: 5, start_offset: start, end_offset: end }, `page ${page}`);
        seen.push(...r.data.map((p) => p.id));
    }
    assert.deepEqual([...seen].sort(), added.map((p) => p.id).sort());
    const past = await M.getMeetingParticipants(meeting, { ...q, page_no: 9, per_page: 2 });
    assert.deepEqual(past.data, []);
    assert.equal(past.paging.total_count, 5);

    await expectRtkError(M.getMeetingParticipants(meeting, { ...q, per_page: 101 }), 400, 'per_page');
    await expectRtkError(M.getMeetingParticipants(meeting, { ...q, page_no: 0 }), 400, 'page_no');
});

test('PATCH participant updates the given fields and returns a new token', async () => {
    const p = (await add(m1, { custom_participant_id: 'bob-1', preset_name: 'webinar_viewer', name: 'Bob' })).data;
    await sleep(15);
    const res = await M.editParticipant(p.id, { ...at(m1), name: 'Robert', preset_name: 'group_call_host' });
    assert.equal(res.success, true);
    const e = res.data;
    assert.equal(e.id, p.id);
    assert.equal(e.name, 'Robert');
    assert.equal(e.preset_name, 'group_call_host');
    assert.equal(e.custom_participant_id, 'bob-1');
    assert.equal(e.created_at, p.created_at);
    assert.ok(e.updated_at > p.updated_at, `updated_at ${e.updated_at} not after ${p.updated_at}`);
    assertParticipantToken(e.token, m1, p.id);

    const got = (await M.getMeetingParticipant(p.id, at(m1))).data;
    assert.equal(got.name, 'Robert');
    assert.equal(got.preset_name, 'group_call_host');

    const pic = (await M.editParticipant(p.id, { ...at(m1), picture: 'https://example.invalid/b.png' })).data;
    assert.equal(pic.picture, 'https://example.invalid/b.png');
    assert.equal(pic.name, 'Robert', 'name kept');
    assert.equal(pic.preset_name, 'group_call_host', 'preset_name kept');
});

test('PATCH participant with bad fields → 400 naming the field', async () => {
    await expectRtkError(M.editParticipant(alice.id, { ...at(m1), name: 5 }), 400, 'name');
    await expectRtkError(M.editParticipant(alice.id, { ...at(m1), preset_name: 5 }), 400, 'preset_name');
    await expectRtkError(M.editParticipant(alice.id, { ...at(m1), preset_name: '' }), 400, 'preset_name');
    await expectRtkError(M.editParticipant(alice.id, { ...at(m1), picture: false }), 400, 'picture');
    const got = (await M.getMeetingParticipant(alice.id, at(m1))).data;
    assert.equal(got.name, 'Alice');
    assert.equal(got.preset_name, 'group_call_host');
});

test('POST …/participants/{id}/token returns a fresh token', async () => {
    const before1 = decodeJwt(alice.token).payload;
    /* Cross a second boundary so that a new iat must differ. */
    await sleep(1100);
    const res = await M.refreshParticipantToken(alice.id, at(m1));
    assert.equal(res.success, true);
    const payload = assertParticipantToken(res.data.token, m1, alice.id);
    assert.notEqual(res.data.token, alice.token);
    assert.ok(payload.iat > before1.iat, 'the refreshed token was issued later');
    assert.ok(payload.exp > before1.exp, 'and expires later');
});

test('DELETE participant → 200, then it is gone (GET/PATCH/refresh/DELETE 404)', async () => {
    const p = (await add(m1, { custom_participant_id: 'carol-1', preset_name: 'webinar_viewer' })).data;
    const q = { account_id: f.accountId, app_id: f.appId };
    const before2 = (await M.getMeetingParticipants(m1, q)).paging.total_count;
    const { data: res, response } = await M.deleteMeetingParticipant(p.id, at(m1)).withResponse();
    assert.equal(response.status, 200);
    assert.equal(res.success, true);
    assert.equal(res.data.custom_participant_id, 'carol-1');
    assert.equal(res.data.created_at, p.created_at);
    const presets = (await f.cf.realtimeKit.presets.get(f.appId, { account_id: f.accountId })).data;
    assert.equal(res.data.preset_id, presets.find((x) => x.name === 'webinar_viewer').id,
        'preset_id is the id of its preset');
    await expectRtkError(M.getMeetingParticipant(p.id, at(m1)), 404);
    await expectRtkError(M.editParticipant(p.id, { ...at(m1), name: 'x' }), 404);
    await expectRtkError(M.refreshParticipantToken(p.id, at(m1)), 404);
    await expectRtkError(M.deleteMeetingParticipant(p.id, at(m1)), 404);
    const list = await M.getMeetingParticipants(m1, q);
    assert.ok(!list.data.some((x) => x.id === p.id));
    assert.equal(list.paging.total_count, before2 - 1);
});

test('unknown participant id → 404 on GET, PATCH, DELETE and token refresh', async () => {
    const id = randomUUID();
    await expectRtkError(M.getMeetingParticipant(id, at(m1)), 404);
    await expectRtkError(M.editParticipant(id, { ...at(m1), name: 'x' }), 404);
    await expectRtkError(M.deleteMeetingParticipant(id, at(m1)), 404);
    await expectRtkError(M.refreshParticipantToken(id, at(m1)), 404);
});

test('a participant is reached only through its own meeting', async () => {
    await expectRtkError(M.getMeetingParticipant(alice.id, at(m2)), 404);
    await expectRtkError(M.editParticipant(alice.id, { ...at(m2), name: 'x' }), 404);
    await expectRtkError(M.refreshParticipantToken(alice.id, at(m2)), 404);
    await expectRtkError(M.deleteMeetingParticipant(alice.id, at(m2)), 404);
    await expectRtkError(M.getMeetingParticipant(alice.id, at(randomUUID())), 404);
    /* Still there in its own meeting. */
    assert.equal((await M.getMeetingParticipant(alice.id, at(m1))).data.id, alice.id);
});
