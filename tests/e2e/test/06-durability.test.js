// SPDX-License-Identifier: MIT
// Durability and shutdown: acknowledged writes survive SIGKILL; SIGTERM and SIGINT exit 0.

import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import net from 'node:net';
import { test, start, startWithApp, tempDir, createAccount, createToken } from '../lib/rtkd.js';

test('data survives SIGKILL: restart on the same data folder finds everything', async () => {
    const f = await startWithApp();
    const M = f.cf.realtimeKit.meetings;
    const at = { account_id: f.accountId, app_id: f.appId };
    let meeting = (await M.create(f.appId, { account_id: f.accountId, title: 'durable',
        session_keep_alive_time_in_secs: 42, persist_chat: true,
        ai_config: { transcription: { language: 'de', keywords: ['k'] } } })).data;
    meeting = (await M.updateMeetingByID(meeting.id, { ...at, status: 'INACTIVE' })).data;
    const p = (await M.addParticipant(meeting.id, { ...at, custom_participant_id: 'dura-1',
        preset_name: 'group_call_host', name: 'Dura' })).data;
    const edited = (await M.editParticipant(p.id, { ...at, meeting_id: meeting.id, name: 'Dura 2' })).data;
    const gone = (await M.addParticipant(meeting.id, { ...at, custom_participant_id: 'dura-2',
        preset_name: 'webinar_viewer' })).data;
    await M.deleteMeetingParticipant(gone.id, { ...at, meeting_id: meeting.id });
    const app2 = (await f.cf.realtimeKit.apps.post({ account_id: f.accountId, name: 'second' })).data.app;

    await f.srv.kill();

    const srv2 = await start({ dataDir: f.srv.dataDir });
    try {
        const cf = srv2.client(f.token);
        const M2 = cf.realtimeKit.meetings;
        assert.deepEqual((await M2.getMeetingByID(meeting.id, at)).data, meeting);
        const { token, ...rest } = edited;
        assert.deepEqual((await M2.getMeetingParticipant(p.id, { ...at, meeting_id: meeting.id })).data, rest);
        const list = await M2.getMeetingParticipants(meeting.id, at);
        assert.deepEqual(list.data.map((x) => x.id), [p.id], 'the deleted participant stays deleted');
        const apps = await cf.realtimeKit.apps.get({ account_id: f.accountId });
        assert.deepEqual(apps.data.map((a) => a.id).sort(), [f.appId, app2.id].sort());
        /* custom_participant_id uniqueness survives as well. */
        let err;
        try {
            await M2.addParticipant(meeting.id, { ...at, custom_participant_id: 'dura-1', preset_name: 'group_call_participant' });
        } catch (e) {
            err = e;
        }
        assert.equal(err?.status, 400);
        /* And it keeps working: a write after the restart. */
        const m2 = (await M2.create(f.appId, { account_id: f.accountId, title: 'after restart' })).data;
        assert.equal((await M2.getMeetingByID(m2.id, at)).data.title, 'after restart');
    } finally {
        await srv2.stop();
        await rm(f.srv.dataDir, { recursive: true, force: true });
    }
});

test('every write acknowledged before a SIGKILL is there after restart', async () => {
    const f = await startWithApp();
    const creates = [];
    for (let i = 0; i < 30; i++) {
        creates.push(f.cf.realtimeKit.meetings.create(f.appId,
            { account_id: f.accountId, title: `burst ${i}` }));
    }
    const made = (await Promise.all(creates)).map((r) => r.data.id);
    await f.srv.kill();
    const srv2 = await start({ dataDir: f.srv.dataDir });
    try {
        const r = await srv2.client(f.token).realtimeKit.meetings.get(f.appId,
            { account_id: f.accountId, per_page: 100 });
        assert.equal(r.paging.total_count, 30);
        assert.deepEqual(r.data.map((m) => m.id).sort(), [...made].sort());
    } finally {
        await srv2.stop();
        await rm(f.srv.dataDir, { recursive: true, force: true });
    }
});

async function refused(port) {
    return new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.on('connect', () => { s.destroy(); resolve(false); });
        s.on('error', () => resolve(true));
    });
}

test('SIGTERM: the server exits 0 and stops listening', async () => {
    const srv = await start();
    await srv.stop();
    assert.ok(await refused(srv.port), 'port still accepts connections');
});

test('SIGINT: the server exits 0', async () => {
    const dataDir = await tempDir();
    try {
        const srv = await start({ dataDir });
        srv.stopped = true;
        srv.signal('SIGINT');
        const r = await Promise.race([srv.exited,
            new Promise((resolve) => setTimeout(() => resolve(null), 10000))]);
        if (r === null) srv.child.kill('SIGKILL');
        assert.deepEqual(r, { code: 0, signal: null }, `stderr:\n${srv.stderr()}`);
    } finally {
        await rm(dataDir, { recursive: true, force: true });
    }
});

test('SIGTERM right after a burst of requests: all answered requests are durable, exit 0',
    async () => {
        const dataDir = await tempDir();
        try {
            const account = await createAccount(dataDir, 'term');
            const token = await createToken(dataDir, account, 'term-token');
            const srv = await start({ dataDir });
            const cf = srv.client(token);
            const app = (await cf.realtimeKit.apps.post({ account_id: account, name: 'a' })).data.app.id;
            const pending = [];
            for (let i = 0; i < 20; i++) {
                pending.push(cf.realtimeKit.meetings.create(app, { account_id: account, title: `t${i}` })
                    .then((r) => r.data.id, () => null));
            }
            /* Let the requests reach the server, then stop it while some are in flight. */
            await new Promise((resolve) => setTimeout(resolve, 5));
            const stopping = srv.stop({ keepData: true });
            const ids = (await Promise.all(pending)).filter(Boolean);
            await stopping;
            const srv2 = await start({ dataDir });
            try {
                const r = await srv2.client(token).realtimeKit.meetings.get(app,
                    { account_id: account, per_page: 100 });
                const stored = new Set(r.data.map((m) => m.id));
                for (const id of ids) assert.ok(stored.has(id), `acknowledged meeting ${id} is lost`);
            } finally {
                await srv2.stop();
            }
        } finally {
            await rm(dataDir, { recursive: true, force: true });
        }
    });
