// SPDX-License-Identifier: MIT
// Headless Chromium for the browser tests: Debian's `chromium` driven by playwright-core (no
// browser download), plus helpers to wait for text, collect page errors and take screenshots.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));

export const CHROMIUM = process.env.RTKD_CHROMIUM || '/usr/bin/chromium';
/* Screenshots land here (gitignored). */
export const OUT_DIR = path.resolve(here, '..', 'out');

/* Headless, no sandbox (we may run as root), and nothing that talks to the network on its own
 * (updates, sync, QUIC probes), so the only traffic is to the rtkd under test. */
export const CHROMIUM_ARGS = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
];

/* Why the browser tests cannot run here, or null. Under CI a missing browser is a failure,
 * not a skip: scripts/bootstrap.sh installs it. */
export function skipReason() {
    if (existsSync(CHROMIUM)) return null;
    const why = `${CHROMIUM} is missing: run scripts/bootstrap.sh (installs Debian's chromium)`;
    if (process.env.CI) throw new Error(why);
    return why;
}

/**
 * Launches Chromium. Playwright gives every launch a fresh temporary profile (its own
 * --user-data-dir, deleted on close), and every newContext() is a further isolated
 * profile: the console and a participant never share storage or cookies.
 */
export async function launch() {
    return chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
        timeout: 30000,
    });
}

/**
 * Records what would show in the page's devtools as a problem: uncaught exceptions, console
 * errors (a Content-Security-Policy violation is one) and failed requests. Returns the list;
 * assertClean(list) fails the test if anything is in it.
 */
export function watch(page, label) {
    const problems = [];
    page.on('pageerror', (e) => problems.push(`${label}: uncaught ${e.message}`));
    page.on('console', (m) => {
        if (m.type() !== 'error') return;
        const text = m.text();
        // A refused handshake or a closed socket is logged by Chromium itself; the page
        // handles both on purpose.
        if (/WebSocket connection to .* failed/.test(text)) return;
        // Expected 404s (no live session yet) are answers, not faults.
        if (/Failed to load resource: the server responded with a status of 404/.test(text)) return;
        problems.push(`${label}: console error: ${text}`);
    });
    page.on('requestfailed', (r) => {
        if (r.url().includes('/v1/ws')) return;
        problems.push(`${label}: request failed: ${r.url()} ${r.failure()?.errorText}`);
    });
    return problems;
}

export function assertClean(problems) {
    assert.deepEqual(problems, [], `the pages reported problems:\n${problems.join('\n')}`);
}

/* Waits until LOCATOR's text matches RE (a RegExp or a substring). */
export async function waitText(locator, re, timeout = 10000) {
    const want = re instanceof RegExp ? re : new RegExp(re.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    try {
        await locator.filter({ hasText: want }).first().waitFor({ state: 'visible', timeout });
    } catch (e) {
        let got;
        try {
            got = await locator.first().textContent({ timeout: 500 });
        } catch {
            got = '(no such element)';
        }
        throw new Error(`waited ${timeout} ms for ${locator} to show ${want}; it shows ` +
            `${JSON.stringify(got)}\n${e.message}`);
    }
}

/* Saves a full-page screenshot as OUT_DIR/NAME.png and returns its path. */
export async function screenshot(page, name) {
    await mkdir(OUT_DIR, { recursive: true });
    const file = path.join(OUT_DIR, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
}
