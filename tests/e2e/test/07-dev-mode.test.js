// SPDX-License-Identifier: MIT
// --dev: first start creates account, token and app and writes dev-credentials.json (0600);
// restarts keep the ids; a deleted file yields a new token for the same account and app.

import assert from 'node:assert/strict';
import { readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { before, after } from 'node:test';
import { test, start, tempDir, ACCOUNT_ID, UUID_V4 } from '../lib/rtkd.js';

let dataDir;
let credsPath;
let first; // credentials after the first start
let meetingId;

before(async () => {
    dataDir = await tempDir();
    credsPath = path.join(dataDir, 'dev-credentials.json');
});

after(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function readCreds() {
    const st = await stat(credsPath);
    assert.equal(st.mode & 0o777, 0o600, `dev-credentials.json mode is ${(st.mode & 0o777).toString(8)}`);
    return JSON.parse(await readFile(credsPath, 'utf8'));
}

function assertPrinted(srv, creds) {
    const line = srv.stdout().split('\n').find((l) => l.includes('CLOUDFLARE_API_TOKEN='));
    assert.ok(line, `no CLOUDFLARE_API_TOKEN line in stdout:\n${srv.stdout()}`);
    assert.ok(line.includes(`CLOUDFLARE_BASE_URL=${creds.base_url}`),
        `the line lacks CLOUDFLARE_BASE_URL=${creds.base_url}: ${line}`);
    assert.ok(line.includes(`CLOUDFLARE_API_TOKEN=${creds.api_token}`),
        `the line lacks CLOUDFLARE_API_TOKEN=<the file's token>: ${line}`);
    for (const v of [creds.account_id, creds.app_id]) {
        assert.ok(srv.stdout().includes(v), `stdout does not show ${v}:\n${srv.stdout()}`);
    }
}

test('first --dev start creates account, token and app and writes dev-credentials.json (0600)',
    async () => {
        const srv = await start({ dataDir, dev: true });
        try {
            const creds = await readCreds();
            assert.deepEqual(Object.keys(creds).sort(), ['account_id', 'api_token', 'app_id', 'base_url']);
            assert.match(creds.account_id, ACCOUNT_ID);
            assert.match(creds.app_id, UUID_V4);
            assert.equal(typeof creds.api_token, 'string');
            assert.ok(creds.api_token.length >= 16);
            assert.equal(creds.base_url, srv.baseURL, 'base_url has the real port and /client/v4');
            assertPrinted(srv, creds);

            /* The credentials drive the SDK as they are. */
            const cf = srv.client(creds.api_token, { baseURL: creds.base_url });
            const apps = await cf.realtimeKit.apps.get({ account_id: creds.account_id });
            assert.deepEqual(apps.data.map((a) => a.id), [creds.app_id]);
            meetingId = (await cf.realtimeKit.meetings.create(creds.app_id,
                { account_id: creds.account_id, title: 'dev meeting' })).data.id;
            first = creds;
        } finally {
            await srv.stop();
        }
    });

test('a --dev restart keeps account_id, app_id and api_token and rewrites base_url', async () => {
    assert.ok(first, 'needs the first test');
    const srv = await start({ dataDir, dev: true });
    try {
        const creds = await readCreds();
        assert.equal(creds.account_id, first.account_id);
        assert.equal(creds.app_id, first.app_id);
        assert.equal(creds.api_token, first.api_token);
        assert.equal(creds.base_url, srv.baseURL);
        assertPrinted(srv, creds);
        const cf = srv.client(creds.api_token);
        const m = await cf.realtimeKit.meetings.getMeetingByID(meetingId,
            { account_id: creds.account_id, app_id: creds.app_id });
        assert.equal(m.data.title, 'dev meeting');
        const apps = await cf.realtimeKit.apps.get({ account_id: creds.account_id });
        assert.deepEqual(apps.data.map((a) => a.id), [first.app_id], 'no second dev app');
    } finally {
        await srv.stop();
    }
});

test('with dev-credentials.json deleted, a restart keeps account and app and issues a new token',
    async () => {
        assert.ok(first, 'needs the first test');
        await rm(credsPath);
        const srv = await start({ dataDir, dev: true });
        try {
            const creds = await readCreds();
            assert.equal(creds.account_id, first.account_id);
            assert.equal(creds.app_id, first.app_id);
            assert.notEqual(creds.api_token, first.api_token, 'a new token');
            assert.equal(creds.base_url, srv.baseURL);
            assertPrinted(srv, creds);
            const cf = srv.client(creds.api_token);
            const m = await cf.realtimeKit.meetings.getMeetingByID(meetingId,
                { account_id: creds.account_id, app_id: creds.app_id });
            assert.equal(m.data.title, 'dev meeting');
            const apps = await cf.realtimeKit.apps.get({ account_id: creds.account_id });
            assert.deepEqual(apps.data.map((a) => a.id), [first.app_id], 'no second dev app');
        } finally {
            await srv.stop();
        }
    });

test('serve without --dev writes no credentials file and prints no token', async () => {
    const dir = await tempDir();
    const srv = await start({ dataDir: dir });
    try {
        await assert.rejects(stat(path.join(dir, 'dev-credentials.json')), { code: 'ENOENT' });
        assert.ok(!srv.stdout().includes('CLOUDFLARE_API_TOKEN'), srv.stdout());
    } finally {
        await srv.stop();
        await rm(dir, { recursive: true, force: true });
    }
});
