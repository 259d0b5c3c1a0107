// SPDX-License-Identifier: MIT
// The participant page in headless Chromium, for every way its connection can end: replaced
// by another tab (4002, and taking the meeting back), removed (4003), kick-all, refused at the
// handshake (a kicked participant reloading the page), no token at all, the server restarting
// (1001: the page reconnects by itself to the same session), and the connection lost without
// a close frame (server killed: the page reconnects once it is back).

import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before } from 'node:test';
import { test, start, tempDir, createAccount, createToken } from '../lib/rtkd.js';
import { assertClean, launch, screenshot, skipReason, waitText, watch } from '../lib/browser.js';

const skip = skipReason() ?? false;
const RECONNECT_MS = 30000; // backoff tops out at 15 s; a sanitized server restarts in a few

let browser;
const F = {}; // dataDir, accountId, token, appId, srv, port

function serveArgs(port) {
    return ['serve', '--listen', `127.0.0.1:${port}`, '--data', F.dataDir];
}

before(async () => {
    if (skip) return;
    F.dataDir = await tempDir();
    F.accountId = await createAccount(F.dataDir);
    F.token = await createToken(F.dataDir, F.accountId);
    F.srv = await start({ dataDir: F.dataDir, args: serveArgs(0) });
    F.port = F.srv.port;
    F.appId = (await F.srv.client(F.token).realtimeKit.apps.post({ account_id: F.accountId, name: 'web' }))
        .data.app.id;
    browser = await launch();
});

after(async () => {
    if (browser) await browser.close();
    if (F.srv) await F.srv.stop();
    if (F.dataDir) await rm(F.dataDir, { recursive: true, force: true });
});

/* Restarts rtkd on the same port and data folder: SIGTERM (clean, peers get 1001) or SIGKILL. */
async function restart({ kill = false, pause = 0 } = {}) {
    if (kill) await F.srv.kill();
    else await F.srv.stop();
    if (pause) await new Promise((r) => setTimeout(r, pause));
    F.srv = await start({ dataDir: F.dataDir, args: serveArgs(F.port) });
}

const cf = () => F.srv.client(F.token);
const at = (extra = {}) => ({ account_id: F.accountId, app_id: F.appId, ...extra });

/* A meeting with one participant; returns {meeting, part, url}. */
async function meetingWithOne(title, keepAlive = 60) {
    const meeting = (await cf().realtimeKit.meetings.create(F.appId,
        { account_id: F.accountId, title, session_keep_alive_time_in_secs: keepAlive })).data;
    const part = (await cf().realtimeKit.meetings.addParticipant(meeting.id, at({
        custom_participant_id: 'zoe', preset_name: 'group_call_participant', name: 'Zoe',
    }))).data;
    return { meeting, part, url: `${F.srv.rootURL}/join?token=${part.token}` };
}

async function openJoin(url, label) {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await ctx.newPage();
    const problems = watch(page, label);
    await page.goto(url);
    return { ctx, page, problems };
}

test('another tab takes over (4002); "Use this tab instead" takes it back', { skip }, async () => {
    const { meeting, url } = await meetingWithOne('Two tabs');
    const a = await openJoin(url, 'tab A');
    await waitText(a.page.locator('#conn'), 'Connected');
    /* The second tab shares nothing with the first (another context), only the link. */
    const b = await openJoin(url, 'tab B');
    await waitText(b.page.locator('#conn'), 'Connected');
    await waitText(a.page.locator('#notice-title'), 'Opened somewhere else');
    await waitText(a.page.locator('#conn'), 'Disconnected');
    const take = a.page.getByRole('button', { name: 'Use this tab instead' });
    await take.waitFor();
    await screenshot(a.page, '52-join-replaced');
    /* The live count never counted both. */
    const s = (await cf().realtimeKit.activeSession.getActiveSession(meeting.id, at())).data;
    assert.equal(s.live_participants, 1);
    assert.equal(s.max_concurrent_participants, 1);

    await take.click();
    await waitText(a.page.locator('#conn'), 'Connected');
    assert.equal(await a.page.locator('#notice').isVisible(), false);
    await waitText(b.page.locator('#notice-title'), 'Opened somewhere else');
    assertClean([...a.problems, ...b.problems]);
    await a.ctx.close();
    await b.ctx.close();
});

test('a removed participant is told so (4003) and the page stops', { skip }, async () => {
    const { meeting, part, url } = await meetingWithOne('Removal');
    const p = await openJoin(url, 'removed');
    await waitText(p.page.locator('#conn'), 'Connected');
    await cf().realtimeKit.meetings.deleteMeetingParticipant(part.id, at({ meeting_id: meeting.id }));
    await waitText(p.page.locator('#notice-title'), 'You are no longer a participant');
    await waitText(p.page.locator('#conn'), 'Disconnected');
    assert.equal(await p.page.locator('#retry').isVisible(), false);
    assertClean(p.problems);
    await p.ctx.close();
});

test('kick-all ends the session for everyone', { skip }, async () => {
    const { meeting, url } = await meetingWithOne('Kick all');
    const p = await openJoin(url, 'kick-all');
    await waitText(p.page.locator('#conn'), 'Connected');
    await cf().realtimeKit.activeSession.kickAllParticipants(meeting.id, at());
    await waitText(p.page.locator('#notice-title'), 'The session has ended');
    await waitText(p.page.locator('#notice-text'), 'for everyone');
    assertClean(p.problems);
    await p.ctx.close();
});

test('a kicked participant who reloads is refused at the handshake and told why', { skip }, async () => {
    const { meeting, part, url } = await meetingWithOne('Refused');
    const p = await openJoin(url, 'refused');
    await waitText(p.page.locator('#conn'), 'Connected');
    assert.equal(new URL(p.page.url()).search, '', 'the token left the address bar');
    await cf().realtimeKit.activeSession.kickParticipants(meeting.id, at({ participant_ids: [part.id] }));
    await waitText(p.page.locator('#notice-title'), 'You were removed from the meeting');

    /* A reload keeps the token (sessionStorage of this tab) and tries again: 403. */
    await p.page.reload();
    await waitText(p.page.locator('#notice-title'), 'You were removed from this session');
    await waitText(p.page.locator('#notice-text'), 'join the next one');
    await p.page.getByRole('button', { name: 'Try again' }).waitFor();
    await screenshot(p.page, '52-join-refused');
    assertClean(p.problems);
    await p.ctx.close();
});

test('a join page without a token says what is missing', { skip }, async () => {
    const p = await openJoin(`${F.srv.rootURL}/join`, 'no token');
    await waitText(p.page.locator('#notice-title'), 'No join link');
    assertClean(p.problems);
    await p.ctx.close();
});

test('a server restart (1001): the page says so and rejoins the same session', { skip }, async () => {
    const { meeting, url } = await meetingWithOne('Restart');
    const p = await openJoin(url, 'restart');
    await waitText(p.page.locator('#conn'), 'Connected');
    const before1 = (await cf().realtimeKit.activeSession.getActiveSession(meeting.id, at())).data;

    await restart({ pause: 500 });
    await waitText(p.page.locator('#notice-title'), /The server is restarting|Cannot reach the server/);
    await waitText(p.page.locator('#conn'), 'Connected', RECONNECT_MS);
    assert.equal(await p.page.locator('#notice').isVisible(), false);
    await waitText(p.page.locator('#live'), /^1$/);
    const after1 = (await cf().realtimeKit.activeSession.getActiveSession(meeting.id, at())).data;
    assert.equal(after1.id, before1.id, 'the same session continues');
    assert.equal(after1.live_participants, 1);
    assertClean(p.problems.filter((x) => !/readyz|ERR_CONNECTION_REFUSED/.test(x)));
    await p.ctx.close();
});

test('the connection lost without a close frame: the page reconnects when it can', { skip }, async () => {
    const { url } = await meetingWithOne('Lost');
    const p = await openJoin(url, 'lost');
    await waitText(p.page.locator('#conn'), 'Connected');

    await F.srv.kill();
    await waitText(p.page.locator('#notice-title'), 'Connection lost');
    await waitText(p.page.locator('#notice-text'), 'Reconnecting in');
    await waitText(p.page.locator('#conn'), 'Reconnecting');
    await screenshot(p.page, '52-join-lost');
    F.srv = await start({ dataDir: F.dataDir, args: serveArgs(F.port) });
    await waitText(p.page.locator('#conn'), 'Connected', RECONNECT_MS);
    assert.equal(await p.page.locator('#notice').isVisible(), false);
    // While the server was down the page's fetch of /readyz failed: expected, not a fault.
    assertClean(p.problems.filter((x) => !/readyz|ERR_CONNECTION_REFUSED/.test(x)));
    await p.ctx.close();
});
