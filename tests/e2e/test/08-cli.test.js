// SPDX-License-Identifier: MIT
// Command line: --help, account/token create/list/revoke (also while the server runs), RTKD_*
// environment variables, and bad invocations.

import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { before, after } from 'node:test';
import {
    test, start, tempDir, cli, createAccount, createToken, listTokens, tokenIdByName, revokeToken,
    expectAuthError, ACCOUNT_ID,
} from '../lib/rtkd.js';

let dataDir;

before(async () => {
    dataDir = await tempDir();
});

after(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test('rtkd --help documents the commands and flags', async () => {
    const r = await cli(['--help']);
    assert.equal(r.code, 0, r.stderr);
    const text = r.stdout + r.stderr;
    for (const word of ['serve', 'account', 'token', '--listen', '--data', '--dev', 'RTKD_']) {
        assert.ok(text.includes(word), `--help does not mention ${word}:\n${text}`);
    }
});

test('an unknown command or flag exits non-zero', async () => {
    assert.notEqual((await cli(['frobnicate'])).code, 0);
    assert.notEqual((await cli(['serve', '--no-such-flag'])).code, 0);
    assert.notEqual((await cli(['account', 'create', '--data', dataDir])).code, 0, 'missing --name');
});

test('account create prints only a new 32-hex id', async () => {
    const r = await cli(['account', 'create', '--data', dataDir, '--name', 'first']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^[0-9a-f]{32}\n?$/, `stdout: ${JSON.stringify(r.stdout)}`);
    const other = await createAccount(dataDir, 'second');
    assert.notEqual(other, r.stdout.trim());
});

test('token create prints only the secret; token list shows it without the secret', async () => {
    const account = await createAccount(dataDir, 'listing');
    const r = await cli(['token', 'create', '--data', dataDir, '--account', account, '--name', 'ci-token']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\S+\n?$/, `stdout: ${JSON.stringify(r.stdout)}`);
    const secret = r.stdout.trim();
    const secret2 = await createToken(dataDir, account, 'ci-token-2');
    assert.notEqual(secret, secret2);

    const rows = await listTokens(dataDir);
    const row = rows.find((cols) => cols.includes('ci-token'));
    assert.ok(row, `ci-token not listed: ${JSON.stringify(rows)}`);
    assert.ok(row.length >= 5, `expected id, account, name, created, status: ${row.join(' ')}`);
    assert.ok(row.includes(account), `the row names the account: ${row.join(' ')}`);
    const listing = rows.map((c) => c.join(' ')).join('\n');
    assert.ok(!listing.includes(secret) && !listing.includes(secret2), 'token list leaks a secret');
});

test('token create for an unknown account fails, and revoke of an unknown id fails', async () => {
    const r = await cli(['token', 'create', '--data', dataDir, '--account', 'f'.repeat(32), '--name', 'x']);
    assert.notEqual(r.code, 0, `stdout: ${r.stdout}`);
    const r2 = await cli(['token', 'revoke', '--data', dataDir, '--id', 'no-such-token-id']);
    assert.notEqual(r2.code, 0, `stdout: ${r2.stdout}`);
});

test('while the server runs: a CLI-created account and token work at once; revoke bites at once',
    async () => {
        const srv = await start({ dataDir });
        try {
            const account = await createAccount(dataDir, 'live');
            assert.match(account, ACCOUNT_ID);
            const token = await createToken(dataDir, account, 'live-token');
            const cf = srv.client(token);
            const app = await cf.realtimeKit.apps.post({ account_id: account, name: 'live app' });
            assert.equal(app.success, true);
            const appId = app.data.app.id;
            const m = await cf.realtimeKit.meetings.create(appId, { account_id: account, title: 'live' });
            assert.equal(m.success, true);

            const second = await createToken(dataDir, account, 'live-token-2');
            assert.equal((await srv.client(second).realtimeKit.apps.get({ account_id: account })).success, true);

            const id = await tokenIdByName(dataDir, 'live-token');
            await revokeToken(dataDir, id);
            await expectAuthError(cf.realtimeKit.apps.get({ account_id: account }), 401);
            await expectAuthError(cf.realtimeKit.meetings.getMeetingByID(m.data.id,
                { account_id: account, app_id: appId }), 401);
            const row = (await listTokens(dataDir)).find((cols) => cols[0] === id);
            assert.ok(row && /revoked/i.test(row.join(' ')), `token list after revoke: ${row?.join(' ')}`);
            /* The other token of the account still works. */
            assert.equal((await srv.client(second).realtimeKit.apps.get({ account_id: account })).success, true);
        } finally {
            await srv.stop();
        }
    });

test('RTKD_LISTEN and RTKD_DATA configure serve when no flags are given', async () => {
    const dir = await tempDir();
    try {
        const account = await createAccount(dir, 'envy');
        const token = await createToken(dir, account, 'envy-token');
        const srv = await start({ dataDir: dir, args: ['serve'],
            env: { RTKD_LISTEN: '127.0.0.1:0', RTKD_DATA: dir } });
        try {
            const r = await srv.client(token).realtimeKit.apps.get({ account_id: account });
            assert.equal(r.success, true, 'the server uses the data folder from RTKD_DATA');
        } finally {
            await srv.stop();
        }
    } finally {
        await rm(dir, { recursive: true, force: true });
    }
});
