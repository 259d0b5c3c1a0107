// SPDX-License-Identifier: MIT
// One data folder, one server (store issue, item 4). Found when tried as a new user would: a
// second `rtkd serve` on the same folder started, rewrote dev-credentials.json under the first
// one and marked its live sessions ENDED. The server holds an exclusive lock on its folder; a
// second one exits 1 saying who has it, and touches nothing; the command-line tools still work
// beside a running server.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after } from 'node:test';
import {
    test, start, tempDir, cli, childEnv, RTKD_BIN, STORE, storeFor,
} from '../lib/rtkd.js';
import { connect } from '../lib/peer.js';

const dirs = [];
after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function serveOnce(dir) {
    return new Promise((resolve) => {
        const go = async () => {
            const env = STORE === 'postgres' ? { RTKD_STORE: await storeFor(dir) } : {};
            const child = spawn(RTKD_BIN, ['serve', '--dev', '--listen', '127.0.0.1:0', '--data',
                dir], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
            let out = '';
            let err = '';
            child.stdout.on('data', (d) => { out += d; });
            child.stderr.on('data', (d) => { err += d; });
            const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
            child.on('exit', (code) => {
                clearTimeout(timer);
                resolve({ code, out, err });
            });
        };
        go();
    });
}

test('a second server on the same data folder exits 1 naming the first; tools still work',
    async () => {
        const dir = await tempDir('rtkd-e2e-lock-');
        dirs.push(dir);
        const first = await start({ dataDir: dir, dev: true });
        const creds = await readFile(path.join(dir, 'dev-credentials.json'), 'utf8');
        const c = JSON.parse(creds);
        const cf = first.client(c.api_token);
        const m = (await cf.realtimeKit.meetings.create(c.app_id, { account_id: c.account_id,
            title: 'kept live' })).data;
        const p = (await cf.realtimeKit.meetings.addParticipant(m.id, { account_id: c.account_id,
            app_id: c.app_id, custom_participant_id: 'x', preset_name: 'group_call_participant' })).data;
        const peer = await connect(first, p.token);

        const second = await serveOnce(dir);
        assert.equal(second.code, 1, `second server: ${second.out}${second.err}`);
        assert.ok(second.err.includes(`rtkd: ${dir} is in use by another rtkd (pid ` +
            `${first.child.pid})`), second.err);
        assert.doesNotMatch(second.out, /listening/);
        assert.equal(await readFile(path.join(dir, 'dev-credentials.json'), 'utf8'), creds,
            'the second server rewrote the credentials');
        const s = (await cf.realtimeKit.activeSession.getActiveSession(m.id, {
            account_id: c.account_id, app_id: c.app_id })).data;
        assert.equal(s.status, 'LIVE');
        assert.equal(s.live_participants, 1);
        await peer.ping();

        /* The command-line tools beside the running server. */
        const r = await cli(['account', 'create', '--data', dir, '--name', 'beside']);
        assert.equal(r.code, 0, r.stderr);
        peer.terminate();
        await first.stop({ keepData: true });

        /* Once it is gone, the folder is free. */
        const third = await start({ dataDir: dir, dev: true });
        await third.stop({ keepData: true });
    });
