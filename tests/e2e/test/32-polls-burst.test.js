// SPDX-License-Identifier: MIT
// Many votes on one poll (issue 4 item 3, PROTOCOL.md §4, §6): a burst of 30 votes gets 30
// acknowledgements but only a few coalesced poll.updated per peer (at most one per poll per
// 500 ms), the last one exact, each in its peer's own view; and an option with more than 20
// voters lists the 20 most recent in viewer views while REST lists them all.

import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { test, sleep } from '../lib/rtkd.js';
import {
    pollsFixture, PollModel, assertRest, assertViewer, okData, helloPoll, sendVote, reply,
    voteOk, RECENT_VOTERS,
} from '../lib/polls.js';

const VOTERS = 30;
const COALESCE_MS = 500;

let f;
let meeting;
let parts;      /* VOTERS voters, then two observers */
let peers;
let stamps;     /* peer → [{t, ev}] of every poll.updated it received */

/* Records when each poll.updated arrives at PEER. */
function stamp(peer) {
    const list = [];
    peer.ws.on('message', (data, isBinary) => {
        if (isBinary) return;
        let ev;
        try {
            ev = JSON.parse(data.toString('utf8'));
        } catch {
            return;
        }
        if (ev.type === 'poll.updated') list.push({ t: Date.now(), ev });
    });
    return list;
}

before(async () => {
    f = await pollsFixture();
    meeting = await f.meeting({ title: 'burst' });
    parts = await f.participants(meeting.id, VOTERS + 2, 'b');
    peers = await f.connectAll(parts);
    stamps = new Map(peers.map((p) => [p, stamp(p)]));
});

after(async () => {
    if (peers) await Promise.all(peers.map((p) => p.close()));
    if (f) await f.stop();
});

test(`a burst of ${VOTERS} votes: every vote acknowledged, few poll.updated, the last exact`,
    async () => {
        const poll = await f.createPoll(meeting.id, {
            question: 'Burst?', options: ['a', 'b', 'c'],
        });
        const model = new PollModel(poll, f.tokenId);
        await Promise.all(peers.map((p) => p.next('poll.created')));
        const observers = peers.slice(VOTERS);
        const voters = peers.slice(0, VOTERS);

        const t0 = Date.now();
        const refs = voters.map((p, i) => sendVote(p, poll.id, i % 3, `burst-${i}`));
        const acks = await Promise.all(voters.map((p, i) => reply(p, refs[i])));
        acks.forEach((ack, i) => {
            assert.equal(ack.type, 'poll.voted', `voter ${i}: ${JSON.stringify(ack)}`);
            assert.equal(ack.poll.my_vote, i % 3);
            assert.ok(ack.poll.total_votes >= 1 && ack.poll.total_votes <= VOTERS);
            assert.ok(ack.poll.options[i % 3].count >= 1);
        });
        voters.forEach((_, i) => model.add(parts[i], i % 3));
        const acked = Date.now() - t0;

        /* Each observer ends with the exact tallies, after only a few updates. */
        for (const o of observers) {
            await o.next((e) => e.type === 'poll.updated' && e.poll.total_votes === VOTERS, 3000);
        }
        await sleep(COALESCE_MS + 400); /* anything still pending would come by now */
        const window = 1500;
        for (const p of peers) {
            const idx = peers.indexOf(p);
            const ups = stamps.get(p).filter((s) => s.ev.poll.id === poll.id);
            const who = `${parts[idx].custom_participant_id}`;
            const inWindow = ups.filter((s) => s.t - t0 <= window);
            assert.ok(inWindow.length <= 4, `${who} got ${inWindow.length} poll.updated within ` +
                `${window} ms for ${VOTERS} votes (coalescing: at most one per ${COALESCE_MS} ms): ` +
                JSON.stringify(ups.map((s) => [s.t - t0, s.ev.poll.total_votes])));
            assert.ok(ups.length <= 5, `${who} got ${ups.length} poll.updated in all`);
            for (let k = 1; k < ups.length; k++) {
                const gap = ups[k].t - ups[k - 1].t;
                assert.ok(gap >= COALESCE_MS - 150, `${who}: poll.updated ${gap} ms apart: ` +
                    JSON.stringify(ups.map((s) => [s.t - t0, s.ev.poll.total_votes])));
                assert.ok(ups[k].ev.poll.total_votes >= ups[k - 1].ev.poll.total_votes,
                    'tallies never go back');
            }
            if (idx >= VOTERS) {
                /* Observers: the last update is exact, in the non-voter view. */
                assert.ok(ups.length >= 1, `${who} got no poll.updated`);
                const last = ups[ups.length - 1].ev.poll;
                assertViewer(last, model, parts[idx].id, `${who} last poll.updated`);
                assert.deepEqual(last.options.map((o) => o.count), [10, 10, 10]);
                assert.equal(last.options.reduce((n, o) => n + o.count, 0), VOTERS);
            } else if (ups.length > 0) {
                /* Voters: whatever update they get after their poll.voted shows their vote; the
                 * last one they get is exact. */
                const last = ups[ups.length - 1].ev.poll;
                if (last.total_votes === VOTERS) {
                    assertViewer(last, model, parts[idx].id, `${who} last poll.updated`);
                }
                assert.ok(last.my_vote === null || last.my_vote === idx % 3, JSON.stringify(last));
            }
        }
        assertRest(okData(await f.pollRest(meeting.id, poll.id)).poll, model, 'REST after burst');
        assert.ok(acked < 4000, `${VOTERS} votes acknowledged in ${acked} ms`);
    });

test(`${VOTERS} votes spread over 1.5 s: poll.updated at most once per 500 ms, latest tallies`,
    async () => {
        const poll = await f.createPoll(meeting.id, { question: 'Trickle?', options: ['x', 'y'] });
        const model = new PollModel(poll, f.tokenId);
        await Promise.all(peers.map((p) => p.next((e) => e.type === 'poll.created' &&
            e.poll.id === poll.id)));
        const spacing = 50;
        const t0 = Date.now();
        const pending = [];
        for (let i = 0; i < VOTERS; i++) {
            const ref = sendVote(peers[i], poll.id, i % 2, `trickle-${i}`);
            pending.push(reply(peers[i], ref));
            model.add(parts[i], i % 2);
            await sleep(spacing);
        }
        const acks = await Promise.all(pending);
        acks.forEach((a, i) => assert.equal(a.type, 'poll.voted', `voter ${i}: ${JSON.stringify(a)}`));
        const span = Date.now() - t0;
        const obs = peers[VOTERS];
        await obs.next((e) => e.type === 'poll.updated' && e.poll.id === poll.id &&
            e.poll.total_votes === VOTERS, 3000);
        await sleep(COALESCE_MS + 400);
        const limit = Math.ceil(span / COALESCE_MS) + 2;
        for (const p of peers) {
            const idx = peers.indexOf(p);
            const who = parts[idx].custom_participant_id;
            const ups = stamps.get(p).filter((s) => s.ev.poll.id === poll.id);
            const timeline = JSON.stringify(ups.map((s) => [s.t - t0, s.ev.poll.total_votes]));
            assert.ok(ups.length <= limit, `${who}: ${ups.length} poll.updated for votes over ` +
                `${span} ms (at most one per ${COALESCE_MS} ms): ${timeline}`);
            for (let k = 1; k < ups.length; k++) {
                assert.ok(ups[k].t - ups[k - 1].t >= COALESCE_MS - 150,
                    `${who}: poll.updated closer than ${COALESCE_MS} ms: ${timeline}`);
                assert.ok(ups[k].ev.poll.total_votes > ups[k - 1].ev.poll.total_votes,
                    `${who}: an update without new votes: ${timeline}`);
            }
            if (idx >= VOTERS) {
                /* Coalescing, not debouncing: the observers hear of votes while they come in. */
                assert.ok(ups.length >= 2, `${who}: ${ups.length} poll.updated while votes came ` +
                    `in for ${span} ms: ${timeline}`);
                assert.ok(ups[0].ev.poll.total_votes < VOTERS, `${who}: ${timeline}`);
                assertViewer(ups[ups.length - 1].ev.poll, model, parts[idx].id,
                    `${who} last poll.updated`);
            }
        }
    });

test('more than 20 voters on one option: viewer views list the 20 most recent, REST all',
    async () => {
        const poll = await f.createPoll(meeting.id, {
            question: 'Crowded?', options: ['popular', 'niche'],
        });
        const model = new PollModel(poll, f.tokenId);
        await Promise.all(peers.map((p) => p.next((e) => e.type === 'poll.created' &&
            e.poll.id === poll.id)));
        /* 25 votes for option 0 and 3 for option 1, one after another so "recent" is defined. */
        const choice = (i) => (i >= 25 ? 1 : 0);
        let last;
        for (let i = 0; i < 28; i++) {
            last = await voteOk(peers[i], poll.id, choice(i));
            model.add(parts[i], choice(i));
            assertViewer(last.poll, model, parts[i].id, `poll.voted #${i}`);
        }
        assert.equal(last.poll.options[0].count, 25);
        assert.equal(last.poll.options[0].votes.length, RECENT_VOTERS);
        const expectIds = parts.slice(5, 25).map((p) => p.id).sort();
        assert.deepEqual(last.poll.options[0].votes.map((v) => v.id).sort(), expectIds,
            'the 20 most recent voters of option 0');
        assert.equal(last.poll.options[1].votes.length, 3);

        /* The observers' poll.updated. */
        const obs = peers[VOTERS];
        const u = await obs.next((e) => e.type === 'poll.updated' && e.poll.id === poll.id &&
            e.poll.total_votes === 28, 3000);
        assertViewer(u.poll, model, parts[VOTERS].id, 'observer poll.updated');
        assert.equal(u.poll.options[0].votes.length, RECENT_VOTERS);

        /* REST lists all 25. */
        const rest = okData(await f.pollRest(meeting.id, poll.id)).poll;
        assertRest(rest, model, 'REST with 25 voters');
        assert.equal(rest.options[0].votes.length, 25);
        assert.equal(rest.voted.length, 28);
        const all = okData(await f.pollsRest(meeting.id)).polls.find((p) => p.id === poll.id);
        assert.equal(all.options[0].votes.length, 25);

        /* A reconnecting observer's hello has the same 20. */
        const obs2 = peers[VOTERS + 1];
        await obs2.close();
        peers[VOTERS + 1] = await f.connect(parts[VOTERS + 1]);
        const h = helloPoll(peers[VOTERS + 1].hello, poll.id);
        assertViewer(h, model, parts[VOTERS + 1].id, 'hello with 25 voters');
        assert.equal(h.options[0].votes.length, RECENT_VOTERS);
    });
