// SPDX-License-Identifier: MIT
// Presets (issue 13 items 1-2): every route through the official SDK (create, list with paging
// and search, getPresetByID, update = PATCH merging field by field, replacePresetByID = PUT
// replacing, delete), the field-by-field validation, unique names, the four defaults of every
// new app, participants only with a preset of their app, presets in use neither deleted nor
// renamed, the handshake with a stored preset, and the migration of a store from before
// presets (defaults for existing apps, unknown names mapped to group_call_participant).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { before, after } from 'node:test';
import {
    test, http, expectRtkError, assertRecentTime, UUID_V4, STORE, pgQuery, start,
} from '../lib/rtkd.js';
import { liveFixture } from '../lib/peer.js';

const DEFAULTS = ['group_call_host', 'group_call_participant', 'webinar_presenter', 'webinar_viewer'];

let f;
let P; // client.realtimeKit.presets

before(async () => {
    f = await liveFixture();
    P = f.cf.realtimeKit.presets;
});

after(async () => {
    if (f) await f.stop();
});

const at = (extra = {}) => ({ account_id: f.accountId, app_id: f.appId, ...extra });
const list = (query = {}) => P.get(f.appId, { account_id: f.accountId, ...query });
const byName = async (name) => {
    const items = (await list({ search: name, per_page: 100 })).data;
    const row = items.find((p) => p.name === name);
    assert.ok(row, `no preset ${name} in ${JSON.stringify(items)}`);
    return (await P.getPresetByID(row.id, at())).data;
};

/* A whole preset body: the default group_call_participant's objects under NAME. */
async function wholeBody(name) {
    const d = await byName('group_call_participant');
    return { name, config: structuredClone(d.config), permissions: structuredClone(d.permissions),
        ui: structuredClone(d.ui) };
}

function assertPresetShape(p) {
    assert.match(p.id, UUID_V4);
    assert.equal(typeof p.name, 'string');
    for (const k of ['config', 'permissions', 'ui']) assert.equal(typeof p[k], 'object', k);
    assertRecentTime(p.created_at, 'created_at', 24 * 3600e3);
    assertRecentTime(p.updated_at, 'updated_at', 24 * 3600e3);
    for (const k of ['view_type', 'max_video_streams', 'max_screenshare_count', 'media']) {
        assert.ok(k in p.config, `config.${k}: ${JSON.stringify(p.config)}`);
    }
    for (const k of ['polls', 'chat', 'media', 'plugins', 'waiting_room_type', 'kick_participant',
        'show_participant_list', 'hidden_participant', 'accept_waiting_requests', 'recorder_type']) {
        assert.ok(k in p.permissions, `permissions.${k}`);
    }
    assert.equal(typeof p.ui.design_tokens?.colors?.brand?.['500'], 'string', JSON.stringify(p.ui));
}

test('a new app has the four default presets, with their documented permissions', async () => {
    const res = await list();
    assert.equal(res.success, true);
    assert.deepEqual(res.data.map((p) => p.name), DEFAULTS, 'in creation order');
    assert.equal(res.paging.total_count, 4);
    const want = {
        group_call_host: { view: 'GROUP_CALL', vote: true, create: true, kick: true, list: true,
            accept: true, hidden: false, wait: 'SKIP' },
        group_call_participant: { view: 'GROUP_CALL', vote: true, create: false, kick: false,
            list: true, accept: false, hidden: false, wait: 'SKIP' },
        webinar_presenter: { view: 'WEBINAR', vote: true, create: true, kick: true, list: true,
            accept: true, hidden: false, wait: 'SKIP' },
        webinar_viewer: { view: 'WEBINAR', vote: true, create: false, kick: false, list: false,
            accept: false, hidden: false, wait: 'ON_PRIVILEGED_USER_ENTRY' },
    };
    for (const name of DEFAULTS) {
        const p = await byName(name);
        assertPresetShape(p);
        const w = want[name];
        const pm = p.permissions;
        assert.equal(p.config.view_type, w.view, name);
        assert.deepEqual([pm.polls.can_view, pm.polls.can_vote, pm.polls.can_create, pm.kick_participant,
            pm.show_participant_list, pm.accept_waiting_requests, pm.hidden_participant,
            pm.waiting_room_type], [true, w.vote, w.create, w.kick, w.list, w.accept, w.hidden, w.wait],
        name);
    }
    /* Another app has its own four. */
    const other = (await f.cf.realtimeKit.apps.post({ account_id: f.accountId, name: 'other' })).data.app;
    const theirs = (await P.get(other.id, { account_id: f.accountId })).data;
    assert.deepEqual(theirs.map((p) => p.name), DEFAULTS);
    const mine = new Set(res.data.map((p) => p.id));
    assert.ok(theirs.every((p) => !mine.has(p.id)), 'distinct presets per app');
});

let custom; // created below

test('create → 201 with the whole preset; getPresetByID returns it', async () => {
    const body = await wholeBody('moderator');
    body.permissions.kick_participant = true;
    body.config.view_type = 'AUDIO_ROOM';
    body.ui.design_tokens.theme = 'light';
    const { data: res, response } = await P.create(f.appId, { account_id: f.accountId, ...body })
        .withResponse();
    assert.equal(response.status, 201);
    assert.equal(res.success, true);
    const p = res.data;
    assertPresetShape(p);
    assertRecentTime(p.created_at, 'created_at');
    assert.equal(p.created_at, p.updated_at);
    assert.equal(p.name, 'moderator');
    assert.deepEqual(p.permissions, body.permissions);
    assert.deepEqual(p.config, body.config);
    assert.deepEqual(p.ui, body.ui);
    const got = (await P.getPresetByID(p.id, at())).data;
    assert.deepEqual(got, p);
    custom = p;
});

test('list: the paged envelope, page_no/per_page, search by name (literal, case-insensitive)', async () => {
    const all = await list({ per_page: 100 });
    assert.equal(all.paging.total_count, 5);
    assert.deepEqual(Object.keys(all.data[0]).sort(), ['created_at', 'id', 'name', 'updated_at']);
    const p2 = await list({ page_no: 2, per_page: 2 });
    assert.deepEqual(p2.data.map((p) => p.name), DEFAULTS.slice(2, 4));
    assert.deepEqual(p2.paging, { total_count: 5, start_offset: 3, end_offset: 4 });
    const web = await list({ search: 'WEBINAR' });
    assert.deepEqual(web.data.map((p) => p.name), ['webinar_presenter', 'webinar_viewer']);
    assert.equal(web.paging.total_count, 2);
    assert.equal((await list({ search: '%' })).paging.total_count, 0, '% is no wildcard');
    assert.equal((await list({ search: 'call_p' })).data[0].name, 'group_call_participant');
    await expectRtkError(list({ per_page: 0 }), 400, 'per_page');
});

test('bad bodies → 400 naming the field (dotted path); nothing is stored', async () => {
    const good = await wholeBody('never');
    const cases = [
        [{ ...good, name: undefined }, 'name'],
        [{ ...good, name: '' }, 'name'],
        [{ ...good, name: 7 }, 'name'],
        [{ ...good, config: undefined }, 'config'],
        [{ ...good, ui: 'dark' }, 'ui'],
        [{ ...good, permissions: { ...good.permissions, polls: { can_view: true, can_vote: 'yes', can_create: false } } },
            'permissions.polls.can_vote'],
        [{ ...good, permissions: { ...good.permissions, polls: { can_view: true, can_vote: true } } },
            'permissions.polls.can_create'],
        [{ ...good, permissions: { ...good.permissions, waiting_room_type: 'LATER' } },
            'permissions.waiting_room_type'],
        [{ ...good, permissions: { ...good.permissions, superpower: true } }, 'permissions.superpower'],
        [{ ...good, config: { ...good.config, max_video_streams: { desktop: 1000, mobile: 1 } } },
            'config.max_video_streams.desktop'],
        [{ ...good, config: { ...good.config, media: { ...good.config.media, video: { quality: 'hd' } } } },
            'config.media.video.frame_rate'],
        [{ ...good, ui: { design_tokens: { ...good.ui.design_tokens, theme: 'neon' } } },
            'ui.design_tokens.theme'],
    ];
    for (const [body, field] of cases) {
        await expectRtkError(P.create(f.appId, { account_id: f.accountId, ...body }), 400, field);
    }
    /* An unknown top-level field (the SDK sends only known ones; a raw client may not). */
    const r = await http(f.srv, 'POST', `/accounts/${f.accountId}/realtime/kit/${f.appId}/presets`,
        { token: f.token, body: { ...good, id: 'mine' } });
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.error.message, /"id"/);
    const r2 = await http(f.srv, 'POST', `/accounts/${f.accountId}/realtime/kit/${f.appId}/presets`,
        { token: f.token, body: '{"name":' });
    assert.equal(r2.status, 400, r2.text);
    assert.equal(r2.json.success, false);
    assert.equal((await list({ search: 'never' })).paging.total_count, 0);
});

test('names are unique within an app: create, PATCH and PUT to a taken name → 400', async () => {
    const body = await wholeBody('group_call_host');
    const e = await expectRtkError(P.create(f.appId, { account_id: f.accountId, ...body }), 400);
    assert.match(e.error.error.message, /already exists/);
    await expectRtkError(P.update(custom.id, at({ name: 'webinar_viewer' })), 400);
    await expectRtkError(P.replacePresetByID(custom.id, at({ ...body, name: 'webinar_viewer' })), 400);
    assert.equal((await P.getPresetByID(custom.id, at())).data.name, 'moderator');
    /* The same name in another app is fine. */
    const other = (await f.cf.realtimeKit.apps.post({ account_id: f.accountId, name: 'o2' })).data.app;
    const theirs = await P.create(other.id, { account_id: f.accountId, ...body, name: 'moderator' });
    assert.equal(theirs.data.name, 'moderator');
});

test('PATCH merges field by field: a nested field not given keeps its value', async () => {
    const before = (await P.getPresetByID(custom.id, at())).data;
    const res = await P.update(custom.id, at({
        permissions: { polls: { can_create: true }, chat: { public: { files: false } } },
        config: { media: { video: { frame_rate: 24 } } },
    }));
    assert.equal(res.success, true);
    const p = res.data;
    assert.equal(p.permissions.polls.can_create, true);
    assert.equal(p.permissions.polls.can_vote, before.permissions.polls.can_vote, 'can_vote kept');
    assert.equal(p.permissions.polls.can_view, before.permissions.polls.can_view, 'can_view kept');
    assert.equal(p.permissions.chat.public.files, false);
    assert.equal(p.permissions.chat.public.text, before.permissions.chat.public.text, 'chat.public.text kept');
    assert.deepEqual(p.permissions.chat.private, before.permissions.chat.private);
    assert.equal(p.permissions.kick_participant, true, 'kick_participant kept');
    assert.equal(p.config.media.video.frame_rate, 24);
    assert.equal(p.config.media.video.quality, before.config.media.video.quality, 'quality kept');
    assert.equal(p.config.view_type, 'AUDIO_ROOM');
    assert.deepEqual(p.ui, before.ui);
    assert.equal(p.name, 'moderator');
    assert.equal(p.created_at, before.created_at);
    assert.ok(Date.parse(p.updated_at) > Date.parse(before.updated_at), 'updated_at moved');
    assert.deepEqual((await P.getPresetByID(custom.id, at())).data, p, 'stored as answered');
    /* A rename alone, and a PATCH with a bad field changes nothing. */
    assert.equal((await P.update(custom.id, at({ name: 'mod' }))).data.name, 'mod');
    await expectRtkError(P.update(custom.id, at({ name: 'moderator', permissions: { polls: { can_vote: 1 } } })),
        400, 'permissions.polls.can_vote');
    const after = (await P.getPresetByID(custom.id, at())).data;
    assert.equal(after.name, 'mod');
    assert.equal(after.permissions.polls.can_vote, before.permissions.polls.can_vote);
});

test('PUT replaces the whole preset, and needs every required field', async () => {
    const body = await wholeBody('replaced');
    body.permissions.polls = { can_create: false, can_view: false, can_vote: false };
    delete body.config.media.audio; /* optional: gone after a replace */
    const p = (await P.replacePresetByID(custom.id, at(body))).data;
    assert.equal(p.id, custom.id);
    assert.equal(p.name, 'replaced');
    assert.deepEqual(p.permissions, body.permissions);
    assert.deepEqual(p.config, body.config);
    assert.ok(!('audio' in p.config.media));
    assert.equal(p.permissions.kick_participant, false, 'not kept from before');
    assert.deepEqual((await P.getPresetByID(custom.id, at())).data, p);
    const partial = { name: 'x', config: body.config, ui: body.ui };
    await expectRtkError(P.replacePresetByID(custom.id, at(partial)), 400, 'permissions');
    custom = p;
});

test('participants need a preset of their app: unknown → 400 "No preset found with name …"', async () => {
    const m = await f.meeting();
    const M = f.cf.realtimeKit.meetings;
    const e = await expectRtkError(M.addParticipant(m.id, at({ custom_participant_id: 'u1',
        preset_name: 'made-up' })), 400);
    assert.equal(e.error.error.message, 'No preset found with name made-up');
    /* A preset of another app is not one of this app's. */
    const other = (await f.cf.realtimeKit.apps.post({ account_id: f.accountId, name: 'o3' })).data.app;
    await P.create(other.id, { account_id: f.accountId, ...(await wholeBody('only-there')) });
    await expectRtkError(M.addParticipant(m.id, at({ custom_participant_id: 'u1',
        preset_name: 'only-there' })), 400, 'only-there');
    assert.equal((await M.getMeetingParticipants(m.id, at())).data.length, 0, 'nothing stored');
    const p = (await M.addParticipant(m.id, at({ custom_participant_id: 'u1', preset_name: 'replaced' }))).data;
    assert.equal(p.preset_name, 'replaced');
    const e2 = await expectRtkError(M.editParticipant(p.id, at({ meeting_id: m.id, preset_name: 'nope' })), 400);
    assert.equal(e2.error.error.message, 'No preset found with name nope');
    assert.equal((await M.getMeetingParticipant(p.id, at({ meeting_id: m.id }))).data.preset_name, 'replaced');
    assert.equal((await M.editParticipant(p.id, at({ meeting_id: m.id, preset_name: 'webinar_viewer' })))
        .data.preset_name, 'webinar_viewer');
});

test('a preset in use can be neither deleted nor renamed (400 with the count); then DELETE returns it', async () => {
    const body = await wholeBody('busy');
    const busy = (await P.create(f.appId, { account_id: f.accountId, ...body })).data;
    const M = f.cf.realtimeKit.meetings;
    const m1 = await f.meeting();
    const m2 = await f.meeting();
    const a = (await M.addParticipant(m1.id, at({ custom_participant_id: 'a', preset_name: 'busy' }))).data;
    const b = (await M.addParticipant(m2.id, at({ custom_participant_id: 'b', preset_name: 'busy' }))).data;
    let e = await expectRtkError(P.delete(busy.id, at()), 400);
    assert.match(e.error.error.message, /used by 2 participants/);
    e = await expectRtkError(P.update(busy.id, at({ name: 'idle' })), 400);
    assert.match(e.error.error.message, /used by 2 participants.*renamed/);
    e = await expectRtkError(P.replacePresetByID(busy.id, at({ ...body, name: 'idle' })), 400);
    assert.match(e.error.error.message, /renamed/);
    /* Editing it without a rename is fine. */
    const edited = (await P.update(busy.id, at({ permissions: { kick_participant: true } }))).data;
    assert.equal(edited.permissions.kick_participant, true);
    await M.deleteMeetingParticipant(a.id, at({ meeting_id: m1.id }));
    e = await expectRtkError(P.delete(busy.id, at()), 400);
    assert.match(e.error.error.message, /used by 1 participant;/);
    await M.editParticipant(b.id, at({ meeting_id: m2.id, preset_name: 'group_call_participant' }));
    const del = await P.delete(busy.id, at());
    assert.equal(del.success, true);
    assert.deepEqual(del.data, edited, 'DELETE returns the deleted preset');
    const gone = await expectRtkError(P.getPresetByID(busy.id, at()), 404);
    assert.equal(gone.error.error.message, `No preset found with id ${busy.id}`);
    await expectRtkError(P.delete(busy.id, at()), 404);
    await expectRtkError(P.update(busy.id, at({ name: 'x' })), 404);
    /* Its name is free again, and nothing can join with it. */
    await expectRtkError(M.addParticipant(m1.id, at({ custom_participant_id: 'c', preset_name: 'busy' })), 400);
});

test('presets of another app are not reachable by id (404)', async () => {
    const other = (await f.cf.realtimeKit.apps.post({ account_id: f.accountId, name: 'o4' })).data.app;
    await expectRtkError(P.getPresetByID(custom.id, { account_id: f.accountId, app_id: other.id }), 404);
    await expectRtkError(P.delete(custom.id, { account_id: f.accountId, app_id: other.id }), 404);
    await expectRtkError(P.update(custom.id, { account_id: f.accountId, app_id: other.id, name: 'y' }), 404);
    assert.equal((await P.getPresetByID(custom.id, at())).data.name, 'replaced');
});

test('a peer joins with its stored preset, and with the fallback if the preset row is gone', async () => {
    const m = await f.meeting();
    const M = f.cf.realtimeKit.meetings;
    const p = (await M.addParticipant(m.id, at({ custom_participant_id: 'j1', preset_name: 'replaced',
        name: 'J' }))).data;
    const peer = await f.connect(p);
    assert.equal(peer.hello.self?.preset_name ?? p.preset_name, 'replaced');
    if (peer.hello.self?.permissions) {
        assert.deepEqual(peer.hello.self.permissions, custom.permissions, 'the stored permissions');
    }
    await peer.close();
    /* Only a store edited behind rtkd's back can lose a preset in use. */
    if (STORE === 'sqlite') {
        await sqlite(f.dataDir, `DELETE FROM presets WHERE id='${custom.id}'`);
    } else {
        await pgQuery(f.dataDir, `DELETE FROM presets WHERE id='${custom.id}'`);
    }
    const again = await f.connect(p);
    assert.equal(again.hello.type, 'hello');
    await again.close();
});

function sqlite(dir, sql) {
    return new Promise((resolve, reject) => {
        execFile('sqlite3', [path.join(dir, 'rtkd.db'), sql], (err, stdout, stderr) => {
            if (err) reject(new Error(`sqlite3: ${stderr || err.message}`));
            else resolve(stdout.trim());
        });
    });
}

test('a store from before presets: its apps get the defaults, unknown names become group_call_participant', async () => {
    /* Make the store look like one from before presets: no table, no column, made-up names. */
    const m = await f.meeting();
    const M = f.cf.realtimeKit.meetings;
    const legacy = (await M.addParticipant(m.id, at({ custom_participant_id: 'old-1',
        preset_name: 'group_call_host' }))).data;
    const kept = (await M.addParticipant(m.id, at({ custom_participant_id: 'old-2',
        preset_name: 'webinar_viewer' }))).data;
    await f.srv.stop({ keepData: true });
    if (STORE === 'sqlite') {
        await sqlite(f.dataDir, 'DROP INDEX participants_by_preset; ALTER TABLE participants DROP' +
            ' COLUMN preset_name; DROP TABLE presets;' +
            ` UPDATE participants SET doc=json_set(doc,'$.preset_name','host') WHERE id='${legacy.id}';` +
            ' DROP TABLE webhook_deliveries; DROP TABLE webhooks;' +
            ' ALTER TABLE session_kicks DROP COLUMN refused; PRAGMA user_version=3;');
    } else {
        await pgQuery(f.dataDir, 'DROP INDEX participants_by_preset; ALTER TABLE participants DROP' +
            ' COLUMN preset_name; DROP TABLE presets;' +
            ` UPDATE participants SET doc=CAST(jsonb_set(CAST(doc AS jsonb),'{preset_name}','"host"')` +
            ` AS TEXT) WHERE id='${legacy.id}'; DROP TABLE webhook_deliveries; DROP TABLE webhooks;` +
            ' ALTER TABLE session_kicks DROP COLUMN refused; UPDATE rtkd_schema SET version=1;');
    }
    f.srv = await start({ dataDir: f.dataDir,
        args: ['serve', '--listen', '127.0.0.1:0', '--data', f.dataDir] });
    f.cf = f.srv.client(f.token);
    P = f.cf.realtimeKit.presets;
    const lines = f.srv.stderr().split('\n').filter((l) => /presets:/.test(l));
    assert.equal(lines.length, 1, f.srv.stderr());
    /* old-1 ("host"), and j1 of the test above, whose preset row was deleted behind rtkd. */
    assert.match(lines[0], /presets: 2 participants whose preset_name .* now use group_call_participant/);
    assert.deepEqual((await list()).data.map((p) => p.name), DEFAULTS);
    const apps = (await f.cf.realtimeKit.apps.get({ account_id: f.accountId, per_page: 100 })).data;
    for (const app of apps) {
        const names = (await P.get(app.id, { account_id: f.accountId })).data.map((p) => p.name);
        assert.deepEqual(names, DEFAULTS, `app ${app.name}`);
    }
    const M2 = f.cf.realtimeKit.meetings;
    const got = (await M2.getMeetingParticipant(legacy.id, at({ meeting_id: m.id }))).data;
    assert.equal(got.preset_name, 'group_call_participant');
    assert.equal(got.custom_participant_id, 'old-1');
    assert.equal((await M2.getMeetingParticipant(kept.id, at({ meeting_id: m.id }))).data.preset_name,
        'webinar_viewer');
    /* The mapped participant joins, and its preset now counts as in use. */
    const tok = (await M2.refreshParticipantToken(legacy.id, at({ meeting_id: m.id }))).data.token;
    const peer = await f.connect(tok);
    await peer.close();
    const gcp = (await list({ search: 'group_call_participant' })).data[0];
    await expectRtkError(P.delete(gcp.id, at()), 400);
    /* A second start migrates nothing more. */
    await f.srv.stop({ keepData: true });
    f.srv = await start({ dataDir: f.dataDir,
        args: ['serve', '--listen', '127.0.0.1:0', '--data', f.dataDir] });
    assert.doesNotMatch(f.srv.stderr(), /presets:/);
});
