// SPDX-License-Identifier: MIT
// Valid polls cannot make a meeting unjoinable (hardening issue, item 3). A hello carries every
// poll of the session, so a session holds a bounded number of polls whose views fit the
// per-peer limit (1 MiB) together; past it, POST …/poll answers 400 saying so. Found with 20
// polls of a 1,024-character question and 32 options of 256 characters of U+0001 (6 bytes
// each once escaped), and with 110 maximum-size ASCII polls: every new or reconnecting peer
// then got 101 and at once 1008 "slow consumer".

import assert from 'node:assert/strict';
import { after } from 'node:test';
import { test, sleep } from '../lib/rtkd.js';
import { pollsFixture } from '../lib/polls.js';

let f;

after(async () => {
    if (f) await f.stop();
});

/* Creates polls of BODY until one is refused (or N were made); returns how many were made and
 * the refusal. */
async function fill(meetingId, body, n) {
    let made = 0;
    for (; made < n; made++) {
        try {
            await f.createPoll(meetingId, body);
        } catch (e) {
            return { made, refusal: e };
        }
    }
    return { made, refusal: null };
}

async function joinsAndStays(part, polls, what) {
    const p = await f.connect(part);
    assert.equal(p.hello.polls.length, polls, `${what}: hello carries every poll`);
    await sleep(300);
    assert.equal(p.closeInfo, null, `${what}: closed ${JSON.stringify(p.closeInfo)}`);
    await p.ping();
    return p;
}

for (const [label, body, n] of [
    ['control characters (escaped 6 bytes each)',
        { question: '\u0001'.repeat(1024), options: Array(32).fill('\u0001'.repeat(256)) }, 20],
    ['maximum-size ASCII',
        { question: 'q'.repeat(1024), options: Array.from({ length: 32 }, (_, i) =>
            `${i}`.padEnd(256, 'o')) }, 110],
]) {
    test(`polls of ${label}: refused past the session's bound, and the meeting stays joinable`,
        async () => {
            f = f || await pollsFixture();
            const meeting = await f.meeting({ title: label });
            const [pa, pb] = await f.participants(meeting.id, 2, 'bound');
            const a = await f.connect(pa);
            const { made, refusal } = await fill(meeting.id, body, n);
            assert.ok(refusal, `all ${n} polls were accepted`);
            assert.equal(refusal.status, 400, String(refusal));
            assert.match(refusal.error.error.message, /as many polls as it may/);
            assert.ok(made >= 5, `only ${made} polls fit`);
            /* A new peer, and the old one reconnecting, get a hello with every poll. */
            const b = await joinsAndStays(pb, made, 'a new peer');
            a.terminate();
            const again = await joinsAndStays(pa, made, 'a reconnecting peer');
            b.terminate();
            again.terminate();
        });
}
