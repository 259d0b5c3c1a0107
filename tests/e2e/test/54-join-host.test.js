// SPDX-License-Identifier: MIT
// The participant page follows the preset (issue 13, item 5; PROTOCOL.md §3a), in headless
// Chromium: a host (group_call_host) sees the participant list and kicks someone from it,
// starts a poll that shows on another participant's page (and sees the server's word on an
// invalid one next to the form), admits one waiting participant (webinar_viewer waits) and
// refuses another, and ends the session for everyone; a group_call_participant has none of
// the host tools; a preset without polls.can_vote shows results without vote buttons, one
// without polls.can_view shows no polls, one without show_participant_list no list.
// RTKD_DOC_SHOTS=1 also refreshes docs/img/join.png (a host's page).

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before } from 'node:test';
import { test, REPO, expectRtkError } from '../lib/rtkd.js';
import { liveFixture } from '../lib/peer.js';
import { presetBody } from '../lib/presets.js';
import { assertClean, launch, screenshot, skipReason, waitText, watch } from '../lib/browser.js';

const skip = skipReason() ?? false;
let f;
let browser;

before(async () => {
    if (skip) return;
    f = await liveFixture();
    browser = await launch();
});

after(async () => {
    if (browser) await browser.close();
    if (f) await f.stop();
});

/* Opens PART's join link in a fresh phone-sized context. */
async function openJoin(part, label = part.custom_participant_id) {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await ctx.newPage();
    const problems = watch(page, label);
    await page.goto(`${f.srv.rootURL}/join?token=${encodeURIComponent(part.token)}`);
    return { ctx, page, problems };
}

async function joined(p) {
    await waitText(p.page.locator('#conn'), 'Connected');
}

const person = (p, name) => p.page.locator('#people li', { hasText: name });
const waiter = (p, name) => p.page.locator('#waiting li', { hasText: name });

test('a host lists who joins and kicks them; a plain participant has no host tools', { skip }, async () => {
    const m = await f.meeting({ title: 'Host kicks' });
    const host = await openJoin(await f.participant(m.id, 'hana', { preset_name: 'group_call_host', name: 'Hana' }));
    await joined(host);
    await host.page.locator('#host').waitFor();
    await waitText(person(host, 'Hana'), 'you');
    await waitText(host.page.locator('#no-people'), 'Nobody else');
    assert.equal(await host.page.locator('#new-poll').isVisible(), true, 'the host may start polls');
    assert.equal(await host.page.locator('#waiting-room').isVisible(), true, 'the host sees the waiting room');
    assert.equal(await host.page.getByRole('button', { name: 'Kick Hana' }).count(), 0, 'no Kick for oneself');

    const bob = await openJoin(await f.participant(m.id, 'bob', { name: 'Bob' }));
    await joined(bob);
    /* participants.updated brings Bob to the host's list. */
    await host.page.getByRole('button', { name: 'Kick Bob' }).waitFor();
    assert.equal(await host.page.locator('#no-people').isVisible(), false);

    /* Bob (group_call_participant) sees the list, and no host tool at all. */
    await waitText(person(bob, 'Hana'), 'group_call_host');
    await waitText(person(bob, 'Bob'), 'you');
    assert.equal(await bob.page.locator('#host').isVisible(), false, 'no host controls');
    assert.equal(await bob.page.locator('#new-poll').isVisible(), false, 'no new-poll form');
    assert.equal(await bob.page.locator('#waiting-room').isVisible(), false, 'no waiting room');
    assert.equal(await bob.page.getByRole('button', { name: /Kick|End for everyone|Admit|Refuse/ }).count(), 0);

    await host.page.getByRole('button', { name: 'Kick Bob' }).click();
    await waitText(bob.page.locator('#notice-title'), 'You were removed from the meeting');
    await waitText(host.page.locator('#host-msg'), 'Bob was removed from the session.');
    await person(host, 'Bob').waitFor({ state: 'detached' });
    await waitText(host.page.locator('#no-people'), 'Nobody else');
    /* The server agrees: Bob is out, Hana is live. */
    assert.equal((await f.active(m.id)).live_participants, 1);
    await waitText(host.page.locator('#conn'), 'Connected');
    assertClean([...host.problems, ...bob.problems]);
    await host.ctx.close();
    await bob.ctx.close();
});

test('a host starts a poll that shows on a participant page, and ends the session for everyone', { skip }, async () => {
    const m = await f.meeting({ title: 'Host polls' });
    const host = await openJoin(await f.participant(m.id, 'hana', { preset_name: 'group_call_host', name: 'Hana' }));
    const ann = await openJoin(await f.participant(m.id, 'ann', { name: 'Ann' }));
    await joined(host);
    await joined(ann);

    /* An invalid poll: the server's invalid_message shows next to the form, nothing starts. */
    const form = host.page.locator('#poll-form');
    await form.getByLabel('Question').fill('Too many?');
    await form.getByLabel('Options, one per line').fill(Array.from({ length: 33 }, (_, i) => `o${i}`).join('\n'));
    await form.getByRole('button', { name: 'Start poll' }).click();
    await waitText(host.page.locator('#poll-form-msg'), /The poll was not started: .*options/);
    assert.equal(await host.page.locator('#poll-form-msg').getAttribute('data-kind'), 'error');

    await form.getByLabel('Options, one per line').fill('Tea\nCoffee\n');
    await form.getByLabel('Anonymous (no names)').check();
    await form.getByRole('button', { name: 'Start poll' }).click();
    await waitText(host.page.locator('#poll-form-msg'), 'Poll started: Too many?');
    assert.equal(await form.getByLabel('Question').inputValue(), '', 'the form is cleared');
    const annPoll = ann.page.locator('#polls li.poll', { hasText: 'Too many?' });
    await waitText(annPoll, 'anonymous');
    await annPoll.getByRole('button', { name: 'Coffee' }).click();
    await waitText(annPoll, 'You voted for “Coffee”');
    /* The host's copy follows the votes (poll.updated deltas). */
    const hostPoll = host.page.locator('#polls li.poll', { hasText: 'Too many?' });
    await waitText(hostPoll.locator('li.option', { hasText: 'Coffee' }).locator('.count'), '1 (100%)');
    assert.equal((await f.active(m.id)).live_participants, 2);

    /* End for everyone: pressed twice (the second press confirms). */
    const end = host.page.locator('#end-all');
    await end.click();
    await waitText(end, 'Confirm');
    await end.click();
    await waitText(ann.page.locator('#notice-title'), 'The session has ended');
    await waitText(ann.page.locator('#notice-text'), 'The organiser ended this session for everyone.');
    await waitText(host.page.locator('#notice-title'), 'The session has ended');
    await waitText(host.page.locator('#notice-text'), 'You ended this session for everyone.');
    assert.equal(await host.page.locator('#host').isVisible(), false, 'host tools gone once ended');
    await expectRtkError(f.activeP(m.id), 404);
    assertClean([...host.problems, ...ann.problems]);
    await host.ctx.close();
    await ann.ctx.close();
});

test('a host admits one waiting participant and refuses another', { skip }, async () => {
    const m = await f.meeting({ title: 'Weekly review' });
    const hostPart = await f.participant(m.id, 'hana', { preset_name: 'group_call_host', name: 'Hana' });
    const host = await openJoin(hostPart);
    await joined(host);
    await waitText(host.page.locator('#no-waiting'), 'Nobody is waiting');
    const bob = await openJoin(await f.participant(m.id, 'bob', { name: 'Bob' }));
    await joined(bob);

    const vera = await openJoin(await f.participant(m.id, 'vera', { preset_name: 'webinar_viewer', name: 'Vera' }));
    const walt = await openJoin(await f.participant(m.id, 'walt', { preset_name: 'webinar_viewer', name: 'Walt' }));
    for (const w of [vera, walt]) {
        await waitText(w.page.locator('#notice-title'), 'Waiting to be let in');
        await waitText(w.page.locator('#conn'), 'Waiting');
    }
    await host.page.getByRole('button', { name: 'Admit Vera' }).waitFor();
    await host.page.getByRole('button', { name: 'Refuse Walt' }).waitFor();
    await waitText(waiter(host, 'Walt'), 'waiting since');
    assert.equal(await host.page.locator('#no-waiting').isVisible(), false);

    if (process.env.RTKD_DOC_SHOTS) {
        /* The README's picture of the participant page: a host with the list, the waiting
         * room, a running poll and the new-poll form. */
        await f.cf.realtimeKit.activeSession.createPoll(m.id, f.at({
            question: 'Which day suits the next review?', options: ['Tuesday', 'Thursday'],
        }));
        await host.page.locator('#polls li.poll').waitFor();
        await person(host, 'Bob').waitFor();
        await host.page.locator('#poll-question').fill('Lunch order?');
        await host.page.locator('#poll-options').fill('Pizza\nSushi');
        await host.page.locator('#poll-options').blur();
        const dir = path.join(REPO, 'docs', 'img');
        await mkdir(dir, { recursive: true });
        await host.page.screenshot({ path: path.join(dir, 'join.png'), fullPage: true });
    }
    await screenshot(host.page, '54-join-host-waiting');

    await host.page.getByRole('button', { name: 'Admit Vera' }).click();
    await waitText(vera.page.locator('#conn'), 'Connected');
    await waitText(vera.page.locator('#page-msg'), 'You were let in.');
    assert.equal(await vera.page.locator('#notice').isVisible(), false);
    await waitText(host.page.locator('#host-msg'), 'Vera was let in.');
    /* webinar_viewer: no participant list, no host tools. */
    assert.equal(await vera.page.locator('#people-box').isVisible(), false, 'no list without show_participant_list');
    assert.equal(await vera.page.locator('#host').isVisible(), false);

    await host.page.getByRole('button', { name: 'Refuse Walt' }).click();
    await waitText(walt.page.locator('#notice-title'), 'You were not let in');
    await waitText(walt.page.locator('#conn'), 'Disconnected');
    await waitText(host.page.locator('#host-msg'), 'Walt was not let in.');
    await waiter(host, 'Walt').waitFor({ state: 'detached' });
    await waitText(host.page.locator('#no-waiting'), 'Nobody is waiting');
    /* Vera, admitted, reaches the host's list; Walt never does. */
    await person(host, 'Vera').waitFor();
    assert.equal(await person(host, 'Walt').count(), 0);
    assert.equal((await f.active(m.id)).live_participants, 3);
    assertClean([...host.problems, ...bob.problems, ...vera.problems, ...walt.problems]);
    for (const p of [host, bob, vera, walt]) await p.ctx.close();
});

test('without polls.can_vote the results show without vote buttons; without can_view no polls', { skip }, async () => {
    for (const [name, flags] of [['watcher', { vote: false }], ['blind', { view: false, list: false }]]) {
        const body = presetBody(name, flags);
        await f.cf.realtimeKit.presets.create(f.appId, { account_id: f.accountId, ...body });
    }
    const m = await f.meeting({ title: 'No vote' });
    const una = await openJoin(await f.participant(m.id, 'una', { preset_name: 'watcher', name: 'Una' }));
    const bea = await openJoin(await f.participant(m.id, 'bea', { preset_name: 'blind', name: 'Bea' }));
    const ann = await openJoin(await f.participant(m.id, 'ann', { name: 'Ann' }));
    for (const p of [una, bea, ann]) await joined(p);
    await f.cf.realtimeKit.activeSession.createPoll(m.id, f.at({ question: 'Snow day?', options: ['Yes', 'No'] }));

    const annPoll = ann.page.locator('#polls li.poll', { hasText: 'Snow day?' });
    await annPoll.getByRole('button', { name: 'Yes' }).click();
    await waitText(annPoll, 'You voted for “Yes”');
    const unaPoll = una.page.locator('#polls li.poll', { hasText: 'Snow day?' });
    await waitText(unaPoll.locator('li.option', { hasText: 'Yes' }).locator('.count'), '1 (100%)');
    await waitText(unaPoll.locator('.summary'), 'does not vote');
    assert.equal(await unaPoll.getByRole('button').count(), 0, 'no vote buttons without polls.can_vote');
    assert.equal(await unaPoll.locator('.vote').count(), 0);
    await waitText(unaPoll.locator('.voters'), 'Ann');

    await waitText(bea.page.locator('#no-polls'), 'Polls are not shown for your role');
    assert.equal(await bea.page.locator('#polls li').count(), 0, 'no polls without polls.can_view');
    assert.equal(await bea.page.locator('#people-box').isVisible(), false, 'no list without show_participant_list');
    await waitText(una.page.locator('#people li', { hasText: 'Ann' }), 'group_call_participant');
    await waitText(una.page.locator('#people'), 'Bea');
    assertClean([...una.problems, ...bea.problems, ...ann.problems]);
    for (const p of [una, bea, ann]) await p.ctx.close();
});
