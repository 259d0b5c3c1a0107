// SPDX-License-Identifier: MIT
// Auth: missing, malformed, unknown and revoked tokens (401), another account's token (403),
// both in Cloudflare's v4 envelope; an app outside the path account (404, RealtimeKit envelope).

import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { before, after } from 'node:test';
import {
    test, start, tempDir, createAccount, createToken, tokenIdByName, revokeToken, http,
    expectAuthError, expectRtkError, V4_AUTH_ERROR,
} from '../lib/rtkd.js';

let srv;
let dataDir;
const A = {};
const B = {};

before(async () => {
    dataDir = await tempDir();
    A.account = await createAccount(dataDir, 'alpha');
    A.token = await createToken(dataDir, A.account, 'alpha-token');
    B.account = await createAccount(dataDir, 'beta');
    B.token = await createToken(dataDir, B.account, 'beta-token');
    assert.notEqual(A.account, B.account);
    srv = await start({ dataDir });
    A.cf = srv.client(A.token);
    B.cf = srv.client(B.token);
    A.app = (await A.cf.realtimeKit.apps.post({ account_id: A.account, name: 'alpha-app' })).data.app.id;
    B.app = (await B.cf.realtimeKit.apps.post({ account_id: B.account, name: 'beta-app' })).data.app.id;
    A.meeting = (await A.cf.realtimeKit.meetings.create(A.app,
        { account_id: A.account, title: 'alpha meeting' })).data.id;
});

after(async () => {
    if (srv) await srv.stop();
});

function assertV4(r, status, what) {
    assert.equal(r.status, status, `${what}: status ${r.status}, body ${r.text}`);
    assert.match(r.headers.get('content-type') || '', /application\/json/, what);
    assert.deepEqual(r.json, V4_AUTH_ERROR, `${what}: body ${r.text}`);
}

test('no Authorization header → 401 with the v4 envelope (code 10000)', async () => {
    const paths = [
        ['GET', `/accounts/${A.account}/realtime/kit/apps`],
        ['POST', `/accounts/${A.account}/realtime/kit/apps`],
        ['GET', `/accounts/${A.account}/realtime/kit/${A.app}/meetings`],
        ['GET', `/accounts/${A.account}/realtime/kit/${A.app}/meetings/${A.meeting}`],
        ['POST', `/accounts/${A.account}/realtime/kit/${A.app}/meetings/${A.meeting}/participants`],
    ];
    for (const [method, p] of paths) {
        const body = method === 'POST' ? { name: 'x', custom_participant_id: 'c', preset_name: 'group_call_participant' } : undefined;
        assertV4(await http(srv, method, p, { body }), 401, `${method} ${p}`);
        assertV4(await http(srv, method, p, { body, root: true }), 401, `${method} (root) ${p}`);
    }
});

test('a malformed Authorization header → 401', async () => {
    const p = `/accounts/${A.account}/realtime/kit/apps`;
    for (const value of ['Basic ' + Buffer.from('a:b').toString('base64'), 'Bearer', 'Bearer ',
        A.token, `Token ${A.token}`]) {
        const r = await http(srv, 'GET', p, { headers: { authorization: value } });
        assertV4(r, 401, `Authorization: ${value}`);
    }
});

test('an unknown token → 401 AuthenticationError through the SDK', async () => {
    const bogus = srv.client(randomBytes(24).toString('hex'));
    await expectAuthError(bogus.realtimeKit.apps.get({ account_id: A.account }), 401);
    await expectAuthError(bogus.realtimeKit.meetings.create(A.app, { account_id: A.account }), 401);
    await expectAuthError(bogus.realtimeKit.meetings.getMeetingByID(A.meeting,
        { account_id: A.account, app_id: A.app }), 401);
    /* A near miss of a real token is just as unknown. */
    const nearMiss = A.token.slice(0, -1) + (A.token.endsWith('a') ? 'b' : 'a');
    await expectAuthError(srv.client(nearMiss).realtimeKit.apps.get({ account_id: A.account }), 401);
});

test('a revoked token → 401', async () => {
    const token = await createToken(dataDir, A.account, 'alpha-revoke-me');
    const cf = srv.client(token);
    const ok = await cf.realtimeKit.apps.get({ account_id: A.account });
    assert.equal(ok.success, true);
    await revokeToken(dataDir, await tokenIdByName(dataDir, 'alpha-revoke-me'));
    await expectAuthError(cf.realtimeKit.apps.get({ account_id: A.account }), 401);
    await expectAuthError(cf.realtimeKit.meetings.getMeetingByID(A.meeting,
        { account_id: A.account, app_id: A.app }), 401);
    /* The account's other token is untouched. */
    assert.equal((await A.cf.realtimeKit.apps.get({ account_id: A.account })).success, true);
});

test("another account's token on this account's path → 403 with the v4 envelope", async () => {
    await expectAuthError(B.cf.realtimeKit.apps.get({ account_id: A.account }), 403);
    await expectAuthError(B.cf.realtimeKit.apps.post({ account_id: A.account, name: 'intruder' }), 403);
    await expectAuthError(B.cf.realtimeKit.meetings.create(A.app, { account_id: A.account }), 403);
    await expectAuthError(B.cf.realtimeKit.meetings.get(A.app, { account_id: A.account }), 403);
    await expectAuthError(B.cf.realtimeKit.meetings.getMeetingByID(A.meeting,
        { account_id: A.account, app_id: A.app }), 403);
    await expectAuthError(B.cf.realtimeKit.meetings.addParticipant(A.meeting,
        { account_id: A.account, app_id: A.app, custom_participant_id: 'x', preset_name: 'group_call_participant' }), 403);
    /* Also when B names its own app under A's account. */
    await expectAuthError(B.cf.realtimeKit.meetings.get(B.app, { account_id: A.account }), 403);
    /* An account that does not exist at all. */
    await expectAuthError(A.cf.realtimeKit.apps.get({ account_id: randomBytes(16).toString('hex') }), 403);
    /* Nothing was created by the refused calls. */
    const apps = await A.cf.realtimeKit.apps.get({ account_id: A.account });
    assert.ok(!apps.data.some((a) => a.name === 'intruder'));
});

test("an app that is not the path account's → 404 with the RealtimeKit envelope", async () => {
    await expectRtkError(A.cf.realtimeKit.meetings.create(B.app, { account_id: A.account }), 404);
    await expectRtkError(A.cf.realtimeKit.meetings.get(B.app, { account_id: A.account }), 404);
    await expectRtkError(A.cf.realtimeKit.meetings.getMeetingByID(A.meeting,
        { account_id: A.account, app_id: B.app }), 404);
    /* An app id that exists nowhere. */
    await expectRtkError(A.cf.realtimeKit.meetings.get(randomUUID(), { account_id: A.account }), 404);
});

test("a token only lists its own account's apps", async () => {
    const a = await A.cf.realtimeKit.apps.get({ account_id: A.account });
    const b = await B.cf.realtimeKit.apps.get({ account_id: B.account });
    assert.deepEqual(a.data.map((x) => x.id), [A.app]);
    assert.deepEqual(b.data.map((x) => x.id), [B.app]);
});
