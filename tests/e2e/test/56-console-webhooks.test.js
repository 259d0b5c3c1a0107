// SPDX-License-Identifier: MIT
// The console's Webhooks panel (issue 14, item 5) in headless Chromium, against a real receiver
// (node:http on loopback): it adds a webhook for the events ticked (checked through REST),
// shows each webhook's recent deliveries with their status, the answer's code and a Retry
// button on a failed one, which sends it again (the receiver sees the same rtk-uuid twice, the
// row turns delivered), disables and enables a webhook (REST's `enabled` follows) and deletes
// one after a confirmation.

import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { test, startWithApp } from '../lib/rtkd.js';
import { connect } from '../lib/peer.js';
import { receiver } from '../lib/webhooks.js';
import { assertClean, launch, screenshot, skipReason, waitText, watch } from '../lib/browser.js';

const skip = skipReason() ?? false;
let browser;
let fx; // {srv, accountId, token, appId, cf}
let recv;

before(async () => {
    if (skip) return;
    browser = await launch();
    fx = await startWithApp({ env: { RTKD_WEBHOOK_RETRY_BASE_MS: '200' } });
    /* The first request is refused for good (a 4xx is final); every later one is taken. */
    recv = await receiver((req, n) => ({ status: n === 0 ? 400 : 200 }));
});

after(async () => {
    if (browser) await browser.close();
    if (recv) await recv.close();
    if (fx) await fx.srv.stop();
});

const at = () => ({ account_id: fx.accountId, app_id: fx.appId });
const stored = async () => (await fx.cf.realtimeKit.webhooks.getWebhooks(fx.appId,
    { account_id: fx.accountId })).data;

/* One participant joins and leaves a new meeting (its session starts and ends). */
async function visit() {
    const m = (await fx.cf.realtimeKit.meetings.create(fx.appId, { account_id: fx.accountId,
        title: 'hooked', session_keep_alive_time_in_secs: 0 })).data;
    const part = (await fx.cf.realtimeKit.meetings.addParticipant(m.id, { ...at(),
        custom_participant_id: 'v-0', preset_name: 'group_call_participant', name: 'V' })).data;
    const p = await connect(fx.srv, part.token, { label: 'visitor' });
    await p.close();
    return m;
}

test('the Webhooks panel adds, shows deliveries, retries, disables, enables and deletes',
    { skip }, async () => {
        const ctx = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
        const op = await ctx.newPage();
        const problems = watch(op, 'console');
        await op.goto(`${fx.srv.rootURL}/`);
        await op.getByLabel('Account id').fill(fx.accountId);
        await op.getByLabel('API token').fill(fx.token);
        await op.getByRole('button', { name: 'Open the console' }).click();
        const panel = op.locator('#webhooks-box');
        await waitText(panel.locator('#webhooks'), 'No webhooks');

        /* Add one for meeting.started only. */
        await panel.getByText('New webhook').click();
        await panel.getByLabel('Webhook name').fill('backend');
        await panel.getByLabel('URL').fill(recv.url);
        for (const e of ['meeting.participantJoined', 'meeting.participantLeft', 'meeting.ended']) {
            await panel.getByLabel(e).uncheck();
        }
        await panel.getByRole('button', { name: 'Create webhook' }).click();
        await waitText(op.locator('#toast'), 'Webhook “backend” created');
        const row = panel.locator('#webhooks li', { hasText: 'backend' });
        await waitText(row, 'enabled');
        await waitText(row, recv.url);
        let [w] = await stored();
        assert.deepEqual([w.name, w.url, w.events, w.enabled],
            ['backend', recv.url, ['meeting.started'], true]);

        /* A session starts: the receiver refuses it (400, final). */
        const m = await visit();
        await recv.until((q) => q.length >= 1);
        await row.getByRole('button', { name: 'Deliveries of backend' }).click();
        const list = panel.locator('#deliveries');
        const item = list.locator('li', { hasText: 'meeting.started' });
        for (let i = 0; i < 50 && !(await item.textContent()).includes('failed'); i++) {
            await panel.getByRole('button', { name: 'Refresh' }).click();
            await op.waitForTimeout(100);
        }
        await waitText(item, 'failed');
        await waitText(item, 'HTTP 400');
        await waitText(item, '1 attempt');
        await screenshot(op, '56-console-webhooks-failed');

        /* Retry: queued again, sent with the same id, delivered. */
        await item.getByRole('button', { name: /^Retry meeting\.started/ }).click();
        await waitText(op.locator('#toast'), 'meeting.started queued again');
        await recv.until((q) => q.length >= 2);
        assert.equal(recv.requests[1].headers['rtk-uuid'], recv.requests[0].headers['rtk-uuid']);
        assert.equal(recv.requests[1].json.meeting.id, m.id);
        for (let i = 0; i < 50 && !(await item.textContent()).includes('delivered'); i++) {
            await panel.getByRole('button', { name: 'Refresh' }).click();
            await op.waitForTimeout(100);
        }
        await waitText(item, 'delivered');
        await waitText(item, 'HTTP 200');
        assert.equal(await item.getByRole('button', { name: /^Retry/ }).count(), 0,
            'no Retry on a delivered one');

        /* Disable, then enable again: REST follows. */
        await row.getByRole('button', { name: 'Disable backend' }).click();
        await waitText(op.locator('#toast'), 'Webhook “backend” disabled');
        await waitText(row, 'disabled');
        [w] = await stored();
        assert.equal(w.enabled, false);
        await row.getByRole('button', { name: 'Enable backend' }).click();
        await waitText(op.locator('#toast'), 'Webhook “backend” enabled');
        [w] = await stored();
        assert.equal(w.enabled, true);
        await screenshot(op, '56-console-webhooks');

        /* Delete asks twice; the webhook and its deliveries list go. */
        await row.getByRole('button', { name: 'Delete' }).click();
        await row.getByRole('button', { name: 'Confirm delete' }).click();
        await waitText(op.locator('#toast'), 'Webhook “backend” deleted');
        await row.waitFor({ state: 'detached' });
        assert.deepEqual(await stored(), []);
        assert.equal(await panel.locator('#deliveries-box').isVisible(), false);
        assertClean(problems);
        await ctx.close();
    });
