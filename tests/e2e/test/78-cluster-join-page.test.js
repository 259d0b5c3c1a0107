// SPDX-License-Identifier: MIT
// The participant page on a cluster (issue 15, item 3): headless Chromium opens /join through
// nginx (docs/cluster.md's block) in front of two nodes. When the node holding the page's
// channel is stopped (SIGTERM), the channel closes with 1012 and the page reconnects at once
// through the same address (no backoff countdown), nginx sends it to the other node, and it is
// in the same session again; it says briefly what happened. What the page showed is recorded
// in the page as it happens (a MutationObserver), since the move takes a few milliseconds.

import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { test, STORE } from '../lib/rtkd.js';
import { assertClean, launch, screenshot, skipReason, waitText, watch } from '../lib/browser.js';
import { clusterFixture, clusterNginx } from '../lib/cluster.js';

const skip = STORE !== 'postgres'
    ? 'a cluster needs PostgreSQL: this runs in the PostgreSQL pass of make test'
    : skipReason() ?? false;

let c;
let nginx;
let browser;

before(async () => {
    if (skip) return;
    c = await clusterFixture({ nodes: 2, args: ['--trust-proxy', '127.0.0.1'] });
    nginx = await clusterNginx(c.nodes.map((n) => n.port));
    assert.ok(nginx, 'nginx is not installed (scripts/bootstrap.sh installs nginx-light)');
    browser = await launch();
});

after(async () => {
    if (browser) await browser.close();
    if (nginx) await nginx.stop();
    if (c) await c.stop();
});

/* Handshakes (101) each node has served, from its access log. */
const upgrades = () => c.nodes.map((n) => (n.stderr().match(/ method=GET path=\/v1\/ws status=101/g) || []).length);

/* Records every text #conn, #notice-title, #notice-text and #page-msg take (and when),
 * into window.__seen. */
function record() {
    window.__seen = [];
    for (const id of ['conn', 'notice-title', 'notice-text', 'page-msg']) {
        const node = document.getElementById(id);
        new MutationObserver(() => {
            window.__seen.push({ id, text: node.textContent, hidden: node.closest('[hidden]') !== null, t: Date.now() });
        }).observe(node, { childList: true, characterData: true, subtree: true, attributes: true });
    }
}

test('a node stopped under the page (1012): it reconnects at once through nginx to the other '
    + 'node, into the same session, and says so', { skip, timeout: 60000 }, async () => {
    const m = await c.meeting({ session_keep_alive_time_in_secs: 60 });
    const part = await c.participant(m.id, 'zoe');
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await ctx.newPage();
    const problems = watch(page, 'join');
    const before1 = upgrades();
    await page.goto(`http://127.0.0.1:${nginx.port}/join?token=${part.token}`);
    await waitText(page.locator('#conn'), 'Connected');
    const gained = upgrades().map((v, k) => v - before1[k]);
    const k = gained.indexOf(1);
    assert.ok(k >= 0 && gained.reduce((a, b) => a + b, 0) === 1, `the page's channel: ${gained}`);
    const other = 1 - k;
    const first = await c.active(m.id, other);
    assert.equal(first.live_participants, 1);

    await page.evaluate(record);
    const atOther = upgrades()[other];
    await c.nodes[k].stop({ keepData: true }); /* SIGTERM; asserts exit 0 */
    await waitText(page.locator('#page-msg'), 'Reconnected after a server restart');
    await waitText(page.locator('#conn'), 'Connected');
    await screenshot(page, '78-join-moved');
    assert.equal(await page.locator('#notice').isVisible(), false);
    assert.equal(upgrades()[other], atOther + 1, 'the page joined at the other node');

    const seen = await page.evaluate(() => window.__seen);
    const titles = seen.filter((s) => s.id === 'notice-title' && s.text).map((s) => s.text);
    assert.deepEqual([...new Set(titles)], ['Moving you to another server'], JSON.stringify(seen));
    /* At once: no backoff countdown was ever shown. */
    assert.ok(!seen.some((s) => /Reconnecting in/.test(s.text)), JSON.stringify(seen));
    const moved = seen.find((s) => s.id === 'notice-title' && s.text).t;
    const back = seen.find((s) => s.id === 'conn' && s.text === 'Connected' && s.t >= moved).t;
    process.stdout.write(`# 1012 to joined again: ${back - moved} ms\n`);

    const again = await c.active(m.id, other);
    assert.equal(again.id, first.id, 'the same session goes on');
    assert.equal(again.live_participants, 1);
    await waitText(page.locator('#live'), /^1$/);
    /* The message goes away by itself. */
    await page.locator('#page-msg').waitFor({ state: 'hidden', timeout: 8000 });
    assertClean(problems);
    await ctx.close();
});
