// SPDX-License-Identifier: MIT
// Isolation matrix (issue 6 part 4): for EVERY route of docs/api.md (the list is read from the
// document, so a new route without a row here fails the test):
//   - an API token of account B on account A's resources → 403 (v4 envelope), nothing changed;
//   - an app of another account in the path, with a valid token of the path's account → 404
//     "No app found";
//   - a meeting of another app (same account, and another account) → 404 "No meeting found";
//     a participant or poll of meeting N through meeting M's routes → 404; kicking meeting
//     N's participants through meeting M → 404 "No user found", nobody kicked;
//   - a session of another app → 404;
//   - participant tokens: a token of meeting M only ever joins M; altered or forged tokens,
//     participant tokens on REST and API tokens on the channel → 401.
// At the end every resource of both accounts is exactly as it was and every peer is live.

import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { createHmac, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
    test, http, createAccount, createToken, REPO, V4_AUTH_ERROR, decodeJwt,
} from '../lib/rtkd.js';
import { connect, expectRefused } from '../lib/peer.js';
import { hardFixture, NO_LIMITS, assertHttpError, okData } from '../lib/hardening.js';

let f;
let A; /* account A: {acc, token, apps: {A1: world, A2: world}} */
let B; /* account B */

/* Every route of docs/api.md but the health probes and the channel, as the document writes
 * it (parameters as {}), with what a legitimate call sends. LEVEL says which ids it uses. */
const ROUTES = [
    { doc: 'GET A/apps', level: 'account' },
    { doc: 'POST A/apps', level: 'account', body: { name: 'intruder app' } },
    { doc: 'GET P/meetings', level: 'app' },
    { doc: 'POST P/meetings', level: 'app', body: { title: 'intruder meeting' } },
    { doc: 'GET P/meetings/{}', level: 'meeting' },
    { doc: 'PATCH P/meetings/{}', level: 'meeting', body: { title: 'pwned' } },
    { doc: 'PUT P/meetings/{}', level: 'meeting', body: { title: 'pwned', status: 'INACTIVE' } },
    { doc: 'GET P/meetings/{}/participants', level: 'meeting' },
    { doc: 'POST P/meetings/{}/participants', level: 'meeting',
        body: { custom_participant_id: 'intruder', preset_name: 'group_call_host' } },
    { doc: 'GET P/meetings/{}/participants/{}', level: 'participant' },
    { doc: 'PATCH P/meetings/{}/participants/{}', level: 'participant', body: { name: 'pwned' } },
    { doc: 'DELETE P/meetings/{}/participants/{}', level: 'participant' },
    { doc: 'POST P/meetings/{}/participants/{}/token', level: 'participant' },
    { doc: 'GET P/meetings/{}/active-session', level: 'meeting' },
    { doc: 'POST P/meetings/{}/active-session/kick', level: 'meeting', kick: true },
    { doc: 'POST P/meetings/{}/active-session/kick-all', level: 'meeting' },
    { doc: 'POST P/meetings/{}/active-session/poll', level: 'meeting',
        body: { question: 'intruder?', options: ['yes'] } },
    { doc: 'GET P/meetings/{}/active-session/polls', level: 'meeting' },
    { doc: 'GET P/meetings/{}/active-session/polls/{}', level: 'poll' },
    { doc: 'GET P/sessions', level: 'app' },
    { doc: 'GET P/sessions/{}', level: 'session' },
    { doc: 'GET P/sessions/{}/participants', level: 'session' },
    { doc: 'GET P/sessions/{}/polls', level: 'session' },
    { doc: 'GET P/presets', level: 'app' },
    { doc: 'POST P/presets', level: 'app', body: { name: 'intruder preset' } },
    { doc: 'GET P/presets/{}', level: 'preset' },
    { doc: 'PATCH P/presets/{}', level: 'preset', body: { name: 'pwned' } },
    { doc: 'PUT P/presets/{}', level: 'preset', body: { name: 'pwned' } },
    { doc: 'DELETE P/presets/{}', level: 'preset' },
    { doc: 'GET P/analytics/daywise', level: 'app' },
];

/* The concrete path of ROUTE for ids X = {acc, app, m, p, poll, s}. */
function pathOf(route, x) {
    const [, tpl] = route.doc.split(' ');
    const ids = {
        meeting: [x.m], participant: [x.m, x.p], poll: [x.m, x.poll], session: [x.s], preset: [x.pr],
    }[route.level] || [];
    let i = 0;
    return tpl
        .replace(/^A\//, `/accounts/${x.acc}/realtime/kit/`)
        .replace(/^P\//, `/accounts/${x.acc}/realtime/kit/${x.app}/`)
        .replace(/\{\}/g, () => ids[i++]);
}

/* The ROUTES entry for DOC ('GET P/meetings'). */
function R(doc) {
    const r = ROUTES.find((x) => x.doc === doc);
    assert.ok(r, doc);
    return r;
}

function call(route, x, token, { root = false } = {}) {
    const [method] = route.doc.split(' ');
    let body = route.body;
    if (route.kick) body = { participant_ids: [x.p] };
    return http(f.srv, method, pathOf(route, x), { token, body, root });
}

/* One app's world: a meeting with a live peer and a poll, a second participant (not live). */
async function makeWorld(accountId, token, appName) {
    const cf = f.srv.client(token);
    const app = (await cf.realtimeKit.apps.post({ account_id: accountId, name: appName })).data.app.id;
    const at = { account_id: accountId, app_id: app };
    const mk = async (title, custom) => {
        const m = (await cf.realtimeKit.meetings.create(app, { account_id: accountId, title })).data;
        const live = (await cf.realtimeKit.meetings.addParticipant(m.id, { ...at,
            custom_participant_id: `${custom}-live`, preset_name: 'group_call_participant', name: custom })).data;
        const idle = (await cf.realtimeKit.meetings.addParticipant(m.id, { ...at,
            custom_participant_id: `${custom}-idle`, preset_name: 'group_call_participant', name: custom })).data;
        const peer = await connect(f.srv, live.token, { label: `${appName}/${title}` });
        const poll = (await cf.realtimeKit.activeSession.createPoll(m.id, { ...at,
            question: `${title}?`, options: ['a', 'b'] })).data.poll;
        return { m, live, idle, peer, poll, s: peer.hello.session.id };
    };
    const w = { acc: accountId, token, app, cf };
    w.M = await mk(`${appName}-M`, `${appName}-m`);
    w.N = await mk(`${appName}-N`, `${appName}-n`);
    /* ids for the route table: meeting M, its idle participant, its poll, its session */
    /* its preset: webinar_presenter, which no participant uses (so DELETE could succeed) */
    const presets = (await cf.realtimeKit.presets.get(app, { account_id: accountId })).data;
    const pr = presets.find((p) => p.name === 'webinar_presenter').id;
    w.x = { acc: accountId, app, m: w.M.m.id, p: w.M.idle.id, poll: w.M.poll.id, s: w.M.s, pr };
    return w;
}

/* Everything a world holds, as the REST API shows it to its owner. */
async function snapshot(w) {
    const get = async (p) => okData(await http(f.srv, 'GET', `/accounts/${w.acc}/realtime/kit/${w.app}${p}`,
        { token: w.token }), `snapshot ${p}`);
    const out = { apps: (await okData(await http(f.srv, 'GET', `/accounts/${w.acc}/realtime/kit/apps?per_page=100`,
        { token: w.token }), 'apps')).map((a) => a.id).sort() };
    out.meetings = (await get('/meetings?per_page=100')).map((m) => JSON.stringify(m)).sort();
    for (const k of ['M', 'N']) {
        const m = w[k].m.id;
        out[`${k}.participants`] = (await get(`/meetings/${m}/participants?per_page=100`))
            .map((p) => JSON.stringify(p)).sort();
        const s = await get(`/meetings/${m}/active-session`);
        out[`${k}.session`] = [s.id, s.status, s.live_participants];
        out[`${k}.polls`] = JSON.stringify((await get(`/meetings/${m}/active-session/polls`)).polls);
    }
    out.sessions = (await get('/sessions?per_page=100')).sessions.map((s) => s.id).sort();
    out.presets = [];
    for (const p of await get('/presets?per_page=100')) {
        out.presets.push(JSON.stringify(await get(`/presets/${p.id}`)));
    }
    return out;
}

async function assertAllLive() {
    for (const w of [A.A1, A.A2, B.B1]) {
        for (const k of ['M', 'N']) {
            assert.equal(w[k].peer.closeInfo, null,
                `${w[k].peer.label} was closed: ${JSON.stringify(w[k].peer.closeInfo)}`);
            await w[k].peer.ping();
        }
    }
}

let snapBefore;

before(async () => {
    f = await hardFixture({ args: NO_LIMITS, peer: false });
    A = { acc: f.accountId, token: f.token };
    A.A1 = await makeWorld(A.acc, A.token, 'A1');
    A.A2 = await makeWorld(A.acc, A.token, 'A2');
    B = { acc: await createAccount(f.dataDir, 'account-b') };
    B.token = await createToken(f.dataDir, B.acc, 'b-token');
    B.B1 = await makeWorld(B.acc, B.token, 'B1');
    snapBefore = await Promise.all([A.A1, A.A2, B.B1].map(snapshot));
});

after(async () => {
    for (const w of [A?.A1, A?.A2, B?.B1]) {
        for (const k of ['M', 'N']) if (w?.[k]?.peer) w[k].peer.terminate();
    }
    if (f) await f.stop();
});

test('the route table covers every route of docs/api.md', async () => {
    const doc = await readFile(path.join(REPO, 'docs', 'api.md'), 'utf8');
    const documented = [...doc.matchAll(/^\| (GET|POST|PATCH|PUT|DELETE) \| `([^`]+)` \|/gm)]
        .map(([, m, p]) => `${m} ${p.replace(/\{[^}]*\}/g, '{}')}`)
        .filter((r) => !/ \/(healthz|readyz|v1\/ws)/.test(r));
    assert.ok(documented.length >= 20, `only ${documented.length} routes parsed from docs/api.md`);
    assert.deepEqual(documented.sort(), ROUTES.map((r) => r.doc).sort());
});

test('account B\'s token on account A\'s resources → 403 on every route (both prefixes), ' +
    'and the other way round', async () => {
    for (const [owner, intruder] of [[A.A1, B], [B.B1, A]]) {
        for (const route of ROUTES) {
            for (const root of [false, true]) {
                const r = await call(route, owner.x, intruder.token, { root });
                assert.equal(r.status, 403, `${route.doc} on ${owner === A.A1 ? 'A' : 'B'}'s ` +
                    `resources with the other account's token (${root ? 'root' : '/client/v4'}): ` +
                    `${r.status} ${r.text}`);
                assert.deepEqual(r.json, V4_AUTH_ERROR, `${route.doc}: body ${r.text}`);
            }
        }
    }
    await assertAllLive();
});

test('an app of another account in the path, with the path account\'s own token → 404 ' +
    '"No app found" on every app route', async () => {
    const cases = [
        /* account A's path and token, account B's app (and B's real ids under it) */
        { x: { ...B.B1.x, acc: A.acc }, token: A.token, app: B.B1.app },
        /* account B's path and token, account A's app */
        { x: { ...A.A1.x, acc: B.acc }, token: B.token, app: A.A1.app },
    ];
    for (const c of cases) {
        for (const route of ROUTES.filter((r) => r.level !== 'account')) {
            const r = await call(route, c.x, c.token);
            const msg = assertHttpError(r, 404, `${route.doc} with another account's app`);
            assert.equal(msg, `No app found with id ${c.app}`, `${route.doc}: ${msg}`);
        }
    }
    /* An account's app list shows its own apps only, also when searched by a foreign id. */
    const list = okData(await http(f.srv, 'GET', `/accounts/${A.acc}/realtime/kit/apps?search=${B.B1.app}`,
        { token: A.token }), 'apps search by a foreign id');
    assert.deepEqual(list, []);
    await assertAllLive();
});

test('a meeting of another app (same account, other account) → 404 "No meeting found" on ' +
    'every meeting route', async () => {
    for (const other of [A.A2, B.B1]) {
        /* A1's path, A's token, the other app's meeting and its participant/poll ids */
        const x = { ...A.A1.x, m: other.M.m.id, p: other.M.idle.id, poll: other.M.poll.id };
        for (const route of ROUTES.filter((r) => ['meeting', 'participant', 'poll'].includes(r.level))) {
            const r = await call(route, x, A.token);
            const msg = assertHttpError(r, 404, `${route.doc} with a meeting of another app`);
            assert.equal(msg, `No meeting found with id ${other.M.m.id}`, `${route.doc}: ${msg}`);
        }
        /* Lists: the app's own meetings only, also when searched by the foreign id. */
        const found = okData(await http(f.srv, 'GET',
            `${pathOf(R('GET P/meetings'), A.A1.x)}?search=${other.M.m.id}`,
            { token: A.token }), 'search a foreign meeting id');
        assert.deepEqual(found, []);
        const ses = okData(await http(f.srv, 'GET',
            `${pathOf(R('GET P/sessions'), A.A1.x)}?associated_id=${other.M.m.id}`,
            { token: A.token }), 'sessions of a foreign meeting');
        assert.deepEqual(ses.sessions, []);
    }
    await assertAllLive();
});

test('a preset of another app (same account, other account) → 404 "No preset found" on ' +
    'every preset route', async () => {
    for (const other of [A.A2, B.B1]) {
        const x = { ...A.A1.x, pr: other.x.pr };
        for (const route of ROUTES.filter((r) => r.level === 'preset')) {
            const r = await call(route, x, A.token);
            const msg = assertHttpError(r, 404, `${route.doc} with a preset of another app`);
            assert.equal(msg, `No preset found with id ${other.x.pr}`, `${route.doc}: ${msg}`);
        }
        /* A participant of A1 cannot take the other app's custom preset either. */
        const name = `only-${other.app.slice(0, 8)}`;
        const whole = okData(await http(f.srv, 'GET', pathOf(R('GET P/presets/{}'), other.x),
            { token: other.token }), 'preset');
        okData(await http(f.srv, 'POST', pathOf(R('POST P/presets'), other.x), { token: other.token,
            body: { name, config: whole.config, permissions: whole.permissions, ui: whole.ui } }),
        'preset of the other app', 201);
        const r = await http(f.srv, 'POST', pathOf(R('POST P/meetings/{}/participants'), A.A1.x),
            { token: A.token, body: { custom_participant_id: 'thief', preset_name: name } });
        assert.equal(assertHttpError(r, 400, 'a preset of another app'), `No preset found with name ${name}`);
        /* Its snapshot must not see the new preset: drop it again (nobody uses it). */
        const list = okData(await http(f.srv, 'GET', `${pathOf(R('GET P/presets'), other.x)}?search=${name}`,
            { token: other.token }), 'presets');
        okData(await http(f.srv, 'DELETE', pathOf(R('DELETE P/presets/{}'), { ...other.x, pr: list[0].id }),
            { token: other.token }), 'delete it');
    }
    await assertAllLive();
});

test('participants and polls of meeting N through meeting M\'s routes → 404; kicking N\'s ' +
    'participants through M → 404 "No user found", nobody kicked', async () => {
    for (const w of [A.A1, A.A2, B.B1]) {
        const N = w.N;
        for (const pid of [N.idle.id, N.live.id]) {
            const x = { ...w.x, p: pid };
            for (const route of ROUTES.filter((r) => r.level === 'participant')) {
                const r = await call(route, x, w.token);
                const msg = assertHttpError(r, 404, `${route.doc} with a participant of another meeting`);
                assert.equal(msg, `No participant found with id ${pid}`, `${route.doc}: ${msg}`);
            }
        }
        const pollRoute = ROUTES.find((r) => r.level === 'poll');
        const r = await call(pollRoute, { ...w.x, poll: N.poll.id }, w.token);
        assert.equal(assertHttpError(r, 404, 'a poll of another meeting'), `No poll found with id ${N.poll.id}`);
        const kick = pathOf(R('POST P/meetings/{}/active-session/kick'), w.x);
        const bodies = [
            { participant_ids: [N.live.id] },
            { participant_ids: [N.idle.id] },
            { custom_participant_ids: [N.live.custom_participant_id] },
            /* one of M's own plus one of N's: refused as a whole, M's participant not kicked */
            { participant_ids: [w.M.live.id, N.live.id] },
            { participant_ids: [w.M.idle.id], custom_participant_ids: [N.idle.custom_participant_id] },
        ];
        for (const body of bodies) {
            const k = await http(f.srv, 'POST', kick, { token: w.token, body });
            const msg = assertHttpError(k, 404, `kick ${JSON.stringify(body)} through M`);
            assert.match(msg, /^No user found with id /, msg);
        }
        /* Session-level ids of another meeting in the same app are the app's own: allowed. */
        okData(await http(f.srv, 'GET', pathOf(R('GET P/sessions/{}'), { ...w.x, s: N.s }), { token: w.token }),
            'a session of another meeting of the same app');
    }
    await assertAllLive();
    /* M's participants can still join (none of them was barred by a refused kick). */
    for (const w of [A.A1, A.A2, B.B1]) {
        const p = await connect(f.srv, w.M.idle.token, { label: 'M idle' });
        assert.equal(p.hello.session.id, w.M.s);
        await p.close();
    }
});

test('a session of another app → 404 "No session found" on every session route', async () => {
    for (const other of [A.A2, B.B1]) {
        for (const s of [other.M.s, other.N.s]) {
            for (const route of ROUTES.filter((r) => r.level === 'session')) {
                const r = await call(route, { ...A.A1.x, s }, A.token);
                const msg = assertHttpError(r, 404, `${route.doc} with a session of another app`);
                assert.equal(msg, `No session found with id ${s}`, `${route.doc}: ${msg}`);
            }
        }
    }
    await assertAllLive();
});

function b64url(obj) {
    return Buffer.from(typeof obj === 'string' ? obj : JSON.stringify(obj)).toString('base64url');
}

test('participant tokens: a token of meeting M joins M only; altered or forged tokens → 401; ' +
    'participant tokens on REST and API tokens on the channel → 401', async () => {
    for (const w of [A.A1, A.A2, B.B1]) {
        for (const k of ['M', 'N']) {
            const part = w[k].idle;
            const p = await connect(f.srv, part.token, { label: `${k} idle` });
            assert.equal(p.hello.session.associated_id, w[k].m.id, 'joined its own meeting');
            assert.equal(p.hello.session.organization_id, w.app, 'in its own app');
            assert.equal(p.hello.session.id, w[k].s);
            assert.equal(p.hello.self.participant_id, part.id);
            await p.close();
        }
    }
    const tok = A.A1.M.idle.token;
    const { header, payload, parts } = decodeJwt(tok);
    const other = A.A1.N;
    const swaps = {
        'meetingId of another meeting': { ...payload, meetingId: other.m.id },
        'participantId of another meeting\'s participant': { ...payload, participantId: other.live.id },
        'both of another meeting': { ...payload, meetingId: other.m.id, participantId: other.live.id },
        'appId of another account\'s app': { ...payload, appId: B.B1.app },
        'a later exp': { ...payload, exp: payload.exp + 86400 },
    };
    for (const [what, pl] of Object.entries(swaps)) {
        /* the original signature on altered claims */
        await expectRefused(f.srv, `${parts[0]}.${b64url(pl)}.${parts[2]}`, 401);
        /* claims re-signed with a key that is not the server's */
        const body = `${b64url(header)}.${b64url(pl)}`;
        const sig = createHmac('sha256', randomBytes(32)).update(body).digest('base64url');
        await expectRefused(f.srv, `${body}.${sig}`, 401).catch((e) => {
            throw new Error(`${what}, re-signed: ${e.message}`);
        });
    }
    const none = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ ...payload, meetingId: other.m.id })}.`;
    await expectRefused(f.srv, none, 401);
    await expectRefused(f.srv, `${b64url({ alg: 'HS512', typ: 'JWT' })}.${parts[1]}.${parts[2]}`, 401);
    /* A participant token is not an API token, and an API token is not a participant token. */
    const r = await http(f.srv, 'GET', pathOf(R('GET P/meetings'), A.A1.x), { token: tok });
    assert.equal(r.status, 401, `a participant token on REST: ${r.status}`);
    assert.deepEqual(r.json, V4_AUTH_ERROR);
    await expectRefused(f.srv, A.token, 401);
    await expectRefused(f.srv, A.token, 401, { bearer: true });
    await assertAllLive();
});

test('after the whole matrix, both accounts hold exactly what they held before', async () => {
    const snapAfter = await Promise.all([A.A1, A.A2, B.B1].map(snapshot));
    for (let i = 0; i < snapBefore.length; i++) {
        for (const key of Object.keys(snapBefore[i])) {
            assert.deepEqual(snapAfter[i][key], snapBefore[i][key], `world ${i}: ${key} changed`);
        }
    }
    await assertAllLive();
});
