// SPDX-License-Identifier: MIT
// The console's Presets panel (issue 13, item 5) in headless Chromium: it lists the app's
// presets, creates one from a default (the default's config, permissions and ui copied),
// edits the enforced permissions (a PATCH of the permissions object only: checked through
// REST), refuses to delete a preset in use with the server's message, deletes one that is
// not, and the participant form picks its preset from the app's presets.

import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { test, startWithApp } from '../lib/rtkd.js';
import { DEFAULT_PRESETS } from '../lib/presets.js';
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

const P = () => fx.cf.realtimeKit.presets;
async function storedPreset(name) {
    const row = (await P().get(fx.appId, { account_id: fx.accountId, per_page: 100 })).data
        .find((p) => p.name === name);
    if (!row) return null;
    return (await P().getPresetByID(row.id, { account_id: fx.accountId, app_id: fx.appId })).data;
}

test('the Presets panel creates, edits and deletes presets; participants pick one', { skip }, async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const op = await ctx.newPage();
    const problems = watch(op, 'console');
    await op.goto(`${fx.srv.rootURL}/`);
    await op.getByLabel('Account id').fill(fx.accountId);
    await op.getByLabel('API token').fill(fx.token);
    await op.getByRole('button', { name: 'Open the console' }).click();
    const panel = op.locator('#presets-box');
    for (const name of DEFAULT_PRESETS) await panel.getByRole('button', { name: `Edit ${name}` }).waitFor();

    /* Create "moderator" from webinar_presenter: its config, permissions and ui copied. */
    await panel.getByText('New preset').click();
    await panel.getByLabel('Start from').selectOption({ label: 'webinar_presenter' });
    assert.deepEqual(await panel.locator('#preset-base option').allTextContents(), DEFAULT_PRESETS);
    await panel.getByLabel('Preset name').fill('moderator');
    await panel.getByRole('button', { name: 'Create preset' }).click();
    await panel.getByRole('button', { name: 'Edit moderator' }).waitFor();
    const base = await storedPreset('webinar_presenter');
    let mod = await storedPreset('moderator');
    assert.ok(mod, 'the preset is stored');
    assert.deepEqual(mod.config, base.config);
    assert.deepEqual(mod.permissions, base.permissions);
    assert.deepEqual(mod.ui, base.ui);

    /* The editor opened on it, showing its permissions; turn voting off, make it wait. */
    await waitText(op.locator('#preset-edit-h'), 'Permissions of moderator');
    const edit = op.locator('#preset-edit');
    assert.equal(await edit.getByLabel('Votes in polls').isChecked(), true);
    assert.equal(await edit.getByLabel('Starts polls').isChecked(), true);
    assert.equal(await edit.getByLabel('Hidden from the participant list').isChecked(), false);
    await edit.getByLabel('Votes in polls').uncheck();
    await edit.getByLabel('Hidden from the participant list').check();
    await edit.getByLabel('Waiting room', { exact: true }).selectOption('SKIP_ON_ACCEPT');
    await edit.getByRole('button', { name: 'Save permissions' }).click();
    await waitText(op.locator('#toast'), 'Permissions of “moderator” saved');
    mod = await storedPreset('moderator');
    assert.equal(mod.permissions.polls.can_vote, false);
    assert.equal(mod.permissions.polls.can_view, true);
    assert.equal(mod.permissions.polls.can_create, true);
    assert.equal(mod.permissions.hidden_participant, true);
    assert.equal(mod.permissions.waiting_room_type, 'SKIP_ON_ACCEPT');
    /* Only the enforced permissions changed: the rest is the default's, config and ui too. */
    assert.deepEqual({ ...mod.permissions, polls: null, hidden_participant: null, waiting_room_type: null },
        { ...base.permissions, polls: null, hidden_participant: null, waiting_room_type: null });
    assert.deepEqual(mod.config, base.config);
    /* Reopening the editor shows what is stored. */
    await edit.getByRole('button', { name: 'Close' }).click();
    assert.equal(await edit.isVisible(), false);
    await panel.getByRole('button', { name: 'Edit moderator' }).click();
    await waitText(op.locator('#preset-edit-h'), 'Permissions of moderator');
    assert.equal(await edit.getByLabel('Votes in polls').isChecked(), false);
    assert.equal(await edit.getByLabel('Waiting room', { exact: true }).inputValue(), 'SKIP_ON_ACCEPT');

    /* The participant form offers the app's presets; a participant gets "moderator". */
    await op.getByLabel('New meeting title').fill('Presets');
    await op.getByRole('button', { name: 'Create meeting' }).click();
    await waitText(op.locator('#meeting-h'), 'Presets');
    const select = op.getByLabel('Preset', { exact: true });
    assert.deepEqual(await select.locator('option').allTextContents(), [...DEFAULT_PRESETS, 'moderator']);
    assert.equal(await select.inputValue(), 'group_call_participant', 'the default choice');
    await op.getByLabel('Name', { exact: true }).fill('Mo');
    await select.selectOption('moderator');
    await op.getByRole('button', { name: 'Add participant' }).click();
    await op.getByLabel('Join link for Mo').waitFor();
    await waitText(op.locator('#participants'), 'moderator');
    const meetingId = await op.evaluate(() => new URLSearchParams(location.hash.slice(1)).get('meeting'));
    const parts = (await fx.cf.realtimeKit.meetings.getMeetingParticipants(meetingId,
        { account_id: fx.accountId, app_id: fx.appId })).data;
    assert.deepEqual(parts.map((p) => [p.name, p.preset_name]), [['Mo', 'moderator']]);
    await screenshot(op, '55-console-presets');

    /* In use: the delete is refused and the server's message shown; nothing is deleted. */
    const modRow = panel.locator('#presets li', { hasText: 'moderator' });
    await modRow.getByRole('button', { name: 'Delete' }).click();
    await modRow.getByRole('button', { name: 'Confirm delete' }).click();
    await waitText(op.locator('#presets-msg'), /Preset "moderator" is used by 1 participant.*HTTP 400/);
    assert.ok(await storedPreset('moderator'), 'still there');

    /* A preset nobody uses goes, from the panel and from the server. */
    await panel.getByText('New preset').click();
    await panel.getByLabel('Start from').selectOption({ label: 'group_call_participant' });
    await panel.getByLabel('Preset name').fill('scratch');
    await panel.getByRole('button', { name: 'Create preset' }).click();
    const scratchRow = panel.locator('#presets li', { hasText: 'scratch' });
    await scratchRow.waitFor();
    assert.ok(await storedPreset('scratch'));
    assert.ok((await select.locator('option').allTextContents()).includes('scratch'));
    await scratchRow.getByRole('button', { name: 'Delete' }).click();
    await scratchRow.getByRole('button', { name: 'Confirm delete' }).click();
    await waitText(op.locator('#toast'), 'Preset “scratch” deleted');
    await scratchRow.waitFor({ state: 'detached' });
    assert.equal(await storedPreset('scratch'), null, 'deleted on the server');
    assert.equal(await edit.isVisible(), false, 'the editor of a deleted preset closes');
    assert.ok(!(await select.locator('option').allTextContents()).includes('scratch'));
    assertClean(problems.filter((x) => !/status of 400/.test(x)));
    await ctx.close();
});
