// SPDX-License-Identifier: MIT
// The whole story in headless Chromium: the console signs in, creates a meeting and a
// participant; a second browser context opens the join link and shows the live count; the
// console starts a poll; the participant votes and the console shows the result; the console
// kicks the participant and the participant page says it was removed. Screenshots of both
// pages at each step go to tests/e2e/out/.

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before } from 'node:test';
import { test, startWithApp, REPO } from '../lib/rtkd.js';
import { assertClean, launch, screenshot, skipReason, waitText, watch } from '../lib/browser.js';

const skip = skipReason() ?? false;
let browser;
let fx; // {srv, accountId, token, appId, cf}

before(async () => {
    if (skip) return;
    browser = await launch();
    fx = await startWithApp();
});

after(async () => {
    if (browser) await browser.close();
    if (fx) await fx.srv.stop();
});

/* RTKD_DOC_SHOTS=1 also refreshes the README's picture of the console, docs/img/console.png,
 * with a preset's permissions open in the Presets panel, a webhook in the Webhooks panel
 * (added through its form) and without the passing notification
 * (54-join-host takes docs/img/join.png, a host's participant page). */
async function docShots(op) {
    const dir = path.join(REPO, 'docs', 'img');
    await mkdir(dir, { recursive: true });
    const hooks = op.locator('#webhooks-box');
    await hooks.getByText('New webhook').click();
    await hooks.getByLabel('Webhook name').fill('backend');
    await hooks.getByLabel('URL').fill('https://backend.example/rtk-events');
    await hooks.getByRole('button', { name: 'Create webhook' }).click();
    await hooks.getByRole('button', { name: 'Deliveries of backend' }).waitFor();
    await op.getByRole('button', { name: 'Edit group_call_participant' }).click();
    await waitText(op.locator('#preset-edit-h'), 'Permissions of group_call_participant');
    await op.evaluate(() => { document.getElementById('toast').hidden = true; });
    await op.screenshot({ path: path.join(dir, 'console.png'), fullPage: true });
}

test('console and participant page: meeting, join, poll, vote, kick', { skip }, async () => {
    const { srv, accountId, token } = fx;
    const shots = [];

    /* The operator's browser: a desktop-sized window. */
    const opCtx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const op = await opCtx.newPage();
    const opProblems = watch(op, 'console page');
    await op.goto(`${srv.rootURL}/`);
    assert.equal(await op.title(), 'Console · rtkd');
    await op.getByLabel('Account id').fill(accountId);
    await op.getByLabel('API token').fill(token);
    await op.getByRole('button', { name: 'Open the console' }).click();
    await op.getByLabel('Current app').waitFor();
    assert.ok(!op.url().includes(token), `the token is in the console's URL: ${op.url()}`);
    const stored = await op.evaluate(() => sessionStorage.getItem('rtkd.console'));
    assert.equal(JSON.parse(stored).token, token, 'the token is kept in sessionStorage');

    /* A meeting and a participant; the console shows the participant's join link. */
    await op.getByLabel('New meeting title').fill('Browser story');
    await op.getByRole('button', { name: 'Create meeting' }).click();
    await waitText(op.locator('#meeting-h'), 'Browser story');
    await waitText(op.locator('#meetings'), 'Browser story');
    await waitText(op.locator('#live-state'), 'No live session');
    await op.getByLabel('Name', { exact: true }).fill('Ann');
    await op.getByRole('button', { name: 'Add participant' }).click();
    const linkBox = op.getByLabel('Join link for Ann');
    await linkBox.waitFor();
    const joinUrl = await linkBox.inputValue();
    assert.match(joinUrl, new RegExp(`^${srv.rootURL}/join\\?token=[A-Za-z0-9_.-]+$`));
    assert.ok(!op.url().includes('token='), `a token leaked into the console's URL: ${op.url()}`);
    shots.push(await screenshot(op, '50-console-1-participant'));

    /* The participant's browser: another context (separate storage), phone-sized. */
    const pCtx = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const part = await pCtx.newPage();
    const partProblems = watch(part, 'participant page');
    await part.goto(joinUrl);
    await waitText(part.locator('#conn'), 'Connected');
    await waitText(part.locator('#title'), 'Browser story');
    await waitText(part.locator('#live'), /^1$/);
    await waitText(part.locator('#peak'), /^1$/);
    await waitText(part.locator('#who'), 'You are Ann');
    assert.equal(new URL(part.url()).search, '', `the token is still in the address bar: ${part.url()}`);
    shots.push(await screenshot(part, '50-join-1-live'));

    /* The console sees the live session and Ann among the live peers. */
    await waitText(op.locator('#live-count'), /^1$/);
    await op.getByRole('button', { name: 'Kick Ann' }).waitFor();

    /* A poll with hidden results: the participant sees no tallies before voting. */
    await op.getByLabel('Question').fill('Lunch?');
    await op.getByLabel('Options, one per line').fill('Pizza\nSushi\n');
    await op.getByLabel('Hide results until a participant votes').check();
    await op.getByRole('button', { name: 'Create poll' }).click();
    const opPoll = op.locator('#polls li.poll', { hasText: 'Lunch?' });
    await opPoll.waitFor();
    const pPoll = part.locator('#polls li.poll', { hasText: 'Lunch?' });
    await pPoll.waitFor();
    await waitText(pPoll, 'results are shown once you have voted');
    assert.equal(await pPoll.locator('.count').count(), 0, 'tallies are hidden before voting');
    shots.push(await screenshot(part, '50-join-2-poll'));

    /* Ann votes; her page shows her vote and the tallies, the console shows the result. */
    await pPoll.getByRole('button', { name: 'Sushi' }).click();
    await waitText(pPoll, 'You voted for “Sushi”');
    await waitText(pPoll.locator('li.option', { hasText: 'Sushi' }).locator('.count'), '1 (100%)');
    await waitText(part.locator('#poll-msg'), 'was counted');
    const opSushi = opPoll.locator('li.option', { hasText: 'Sushi' });
    await waitText(opSushi.locator('.count'), '1 (100%)');
    await waitText(opSushi.locator('.voters'), 'Ann');
    await waitText(opPoll.locator('.summary'), '1 vote');
    shots.push(await screenshot(part, '50-join-3-voted'));
    shots.push(await screenshot(op, '50-console-2-result'));
    if (process.env.RTKD_DOC_SHOTS) await docShots(op);

    /* The console kicks Ann; her page says she was removed and stops. */
    await op.getByRole('button', { name: 'Kick Ann' }).click();
    await waitText(part.locator('#notice-title'), 'You were removed from the meeting');
    await waitText(part.locator('#conn'), 'Disconnected');
    assert.equal(await part.locator('#retry').isVisible(), false, 'no reconnect after a kick');
    await waitText(op.locator('#toast'), 'Ann was kicked');
    await waitText(op.locator('#peers-empty'), 'Nobody is connected');
    await waitText(op.locator('#live-count'), /^0$/);
    shots.push(await screenshot(part, '50-join-4-kicked'));
    shots.push(await screenshot(op, '50-console-3-kicked'));

    /* The REST view agrees with what the pages showed. */
    const cf = srv.client(token);
    const meetings = await cf.realtimeKit.meetings.get(fx.appId, { account_id: accountId, search: 'Browser story' });
    assert.equal(meetings.data.length, 1);

    assertClean([...opProblems, ...partProblems]);
    await opCtx.close();
    await pCtx.close();
    process.stdout.write(`# screenshots:\n${shots.map((s) => `#   ${s}`).join('\n')}\n`);
});
