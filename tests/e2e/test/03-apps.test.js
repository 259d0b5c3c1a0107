// SPDX-License-Identifier: MIT
// Apps: create (201, data.app), list with paging and search, bad bodies.

import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import {
    test, start, tempDir, createAccount, createToken, http, expectRtkError, assertRecentTime,
    UUID_V4,
} from '../lib/rtkd.js';

let srv;
let account;
let token;
let cf;

before(async () => {
    const dataDir = await tempDir();
    account = await createAccount(dataDir, 'apps');
    token = await createToken(dataDir, account, 'apps-token');
    srv = await start({ dataDir });
    cf = srv.client(token);
});

after(async () => {
    if (srv) await srv.stop();
});

const created = [];

test('POST apps → 201 with data.app {id (UUIDv4), name, created_at}', async () => {
    const { data: res, response } = await cf.realtimeKit.apps
        .post({ account_id: account, name: 'first app' }).withResponse();
    assert.equal(response.status, 201);
    assert.match(response.headers.get('content-type'), /application\/json/);
    assert.equal(res.success, true);
    const app = res.data.app;
    assert.match(app.id, UUID_V4);
    assert.equal(app.name, 'first app');
    assertRecentTime(app.created_at, 'created_at');
    created.push(app);
});

test('GET apps lists the created apps with paging', async () => {
    for (const name of ['second app', 'third app', 'gamma one', 'gamma two']) {
        created.push((await cf.realtimeKit.apps.post({ account_id: account, name })).data.app);
    }
    const all = await cf.realtimeKit.apps.get({ account_id: account });
    assert.equal(all.success, true);
    assert.equal(all.data.length, 5);
    assert.deepEqual(all.paging, { total_count: 5, start_offset: 1, end_offset: 5 });
    const first = all.data.find((a) => a.id === created[0].id);
    assert.ok(first, 'the first app is listed');
    assert.equal(first.name, 'first app');
    assert.equal(first.created_at, created[0].created_at);

    const seen = [];
    const expect = [[1, 2, 1, 2], [2, 2, 3, 4], [3, 1, 5, 5]];
    for (const [page, count, startOffset, endOffset] of expect) {
        const r = await cf.realtimeKit.apps.get({ account_id: account, page_no: page, per_page: 2 });
        assert.equal(r.data.length, count, `page ${page}`);
        assert.deepEqual(r.paging, { total_count: 5, start_offset: startOffset, end_offset: endOffset },
            `page ${page}`);
        seen.push(...r.data.map((a) => a.id));
    }
    assert.deepEqual([...seen].sort(), created.map((a) => a.id).sort(), 'pages cover every app once');

    const past = await cf.realtimeKit.apps.get({ account_id: account, page_no: 4, per_page: 2 });
    assert.deepEqual(past.data, []);
    assert.equal(past.paging.total_count, 5);
});

test('GET apps?search= filters by name', async () => {
    const r = await cf.realtimeKit.apps.get({ account_id: account, search: 'gamma' });
    assert.deepEqual(r.data.map((a) => a.name).sort(), ['gamma one', 'gamma two']);
    assert.equal(r.paging.total_count, 2);
});

test('POST apps without a name → 400 naming "name"', async () => {
    await expectRtkError(cf.realtimeKit.apps.post({ account_id: account }), 400, 'name');
});

test('POST apps with a non-string name → 400 naming "name"', async () => {
    await expectRtkError(cf.realtimeKit.apps.post({ account_id: account, name: 42 }), 400, 'name');
    await expectRtkError(cf.realtimeKit.apps.post({ account_id: account, name: null }), 400, 'name');
});

test('POST apps with invalid JSON → 400 with the RealtimeKit envelope', async () => {
    const r = await http(srv, 'POST', `/accounts/${account}/realtime/kit/apps`,
        { token, body: '{"name": ', headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json?.success, false, r.text);
    assert.equal(r.json.error.code, 400);
});

test('paging parameters out of range on apps → 400 naming the field', async () => {
    await expectRtkError(cf.realtimeKit.apps.get({ account_id: account, per_page: 101 }), 400, 'per_page');
    await expectRtkError(cf.realtimeKit.apps.get({ account_id: account, page_no: 0 }), 400, 'page_no');
});
