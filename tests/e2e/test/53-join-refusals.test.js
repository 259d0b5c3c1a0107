// SPDX-License-Identifier: MIT
// Why a join was refused (issue 17, item 6). A browser cannot read the answer to a failed
// WebSocket handshake, so the participant page asks GET /v1/ws/check?token=, which runs the
// handshake's checks and answers the handshake's status and message as a 200 verdict. This
// file checks the endpoint for every case against the real handshake's answer, then the page
// in headless Chromium: each case has its own title and what to do, and "Try again" only
// where trying again can help.

import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { test, http } from '../lib/rtkd.js';
import { liveFixture, reSign, refusal } from '../lib/peer.js';
import { assertClean, launch, skipReason, waitText, watch } from '../lib/browser.js';

const browserSkip = skipReason() ?? false;
let f;
let browser;
const T = {}; // the tokens of each case

before(async () => {
    f = await liveFixture();
    const now = Math.floor(Date.now() / 1000);
    const open = await f.meeting({ title: 'Open' });
    const ok = await f.participant(open.id, 'ok');
    T.ok = ok.token;
    T.malformed = `${ok.token.slice(0, -4)}AAAA`;
    T.expired = await reSign(f.dataDir, ok.token, (pl) => ({ ...pl, iat: now - 100, exp: now - 10 }));
    const gone = await f.participant(open.id, 'gone');
    await f.deleteParticipant(open.id, gone.id);
    T.deleted = gone.token;
    const kicked = await f.participant(open.id, 'kicked');
    const peer = await f.connect(kicked);
    await f.kick(open.id, { participant_ids: [kicked.id] });
    await peer.closed();
    T.kicked = kicked.token;
    /* Someone stays, so the session (and the kick's bar) lasts. */
    T.stayer = await f.connect(await f.participant(open.id, 'stayer'));
    const closed = await f.meeting({ title: 'Closed' });
    T.inactive = (await f.participant(closed.id, 'late')).token;
    await f.updateMeeting(closed.id, { status: 'INACTIVE' });
    if (!browserSkip) browser = await launch();
});

after(async () => {
    if (browser) await browser.close();
    if (T.stayer) await T.stayer.close();
    if (f) await f.stop();
});

const check = async (token) => {
    const q = token === undefined ? '' : `?token=${encodeURIComponent(token)}`;
    const r = await http(f.srv, 'GET', `/v1/ws/check${q}`, { root: true });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.success, true, r.text);
    return r.json.data;
};

test('GET /v1/ws/check answers what the handshake answers, for every case', async () => {
    assert.deepEqual(await check(T.ok), { joinable: true });
    for (const [name, token, status, message] of [
        ['no token', undefined, 401, /required/],
        ['malformed', T.malformed, 401, /not valid/],
        ['expired', T.expired, 401, /expired/],
        ['deleted participant', T.deleted, 401, /participant no longer exists/],
        ['kicked', T.kicked, 403, /kicked/],
        ['inactive', T.inactive, 403, /INACTIVE/],
    ]) {
        const v = await check(token);
        assert.equal(v.joinable, false, `${name}: ${JSON.stringify(v)}`);
        assert.equal(v.status, status, `${name}: ${JSON.stringify(v)}`);
        assert.match(v.message, message, name);
        if (token !== undefined) {
            /* The real handshake refuses with the same status and message. */
            const r = await refusal(f.srv, token);
            assert.equal(r.status, status, `${name}: handshake ${r.status} ${r.body}`);
            assert.equal(r.json.error.message, v.message, name);
        }
    }
    /* Checking joins nobody. */
    assert.equal((await f.active((await f.meeting({ title: 'x' })).id).catch(() => null)), null);
});

async function openJoin(token, label) {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await ctx.newPage();
    const problems = watch(page, label);
    await page.goto(`${f.srv.rootURL}/join${token ? `?token=${encodeURIComponent(token)}` : ''}`);
    return { ctx, page, problems };
}

for (const [name, key, title, text, again] of [
    ['no token in the link', null, 'No join link', 'ends in', false],
    ['a malformed token', 'malformed', 'This link is not valid', 'ask the organiser', false],
    ['an expired token', 'expired', 'This link has expired', 'new link', false],
    ['a deleted participant', 'deleted', 'You are no longer a participant', 'removed you', false],
    ['kicked from this session', 'kicked', 'You were removed from this session', 'next one', true],
    ['the meeting inactive', 'inactive', 'The meeting is not open', 'reopen', true],
]) {
    test(`the page names the case: ${name}`, { skip: browserSkip }, async () => {
        const p = await openJoin(key ? T[key] : null, key || 'none');
        await waitText(p.page.locator('#notice-title'), title);
        await waitText(p.page.locator('#notice-text'), text);
        assert.equal(await p.page.locator('#retry').isVisible(), again,
            `"Try again" ${again ? 'missing' : 'offered'} for ${name}`);
        if (again) assert.equal(await p.page.locator('#retry').textContent(), 'Try again');
        assertClean(p.problems);
        await p.ctx.close();
    });
}
