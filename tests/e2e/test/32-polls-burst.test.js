// SPDX-License-Identifier: MIT
// Many votes on one poll (issue 4 item 3, PROTOCOL.md §4, §6): a burst of 30 votes gets 30
// acknowledgements but only a few coalesced poll.updated per peer (at most one per poll per
// 500 ms), the last one exact; and an option with more than 20 voters lists the 20 most
// recent in viewer views while REST lists them all. Protocol 2: poll.updated is a delta
// ({poll_id, counts, total_votes, voters}), applied to each peer's copy (ClientPoll).

import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { test, sleep } from '../lib/rtkd.js';
import {
    pollsFixture, PollModel, assertRest, assertViewer, okData, helloPoll, sendVote, reply,
    voteOk, RECENT_VOTERS, assertUpdated, assertVoted, ClientPoll,
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
        voters.forEach((_, i) => model.add(parts[i], i % 3));
        acks.forEach((ack, i) => {
            assert.equal(ack.type, 'poll.voted', `voter ${i}: ${JSON.stringify(ack)}`);
            assertVoted(ack, model, parts[i].id, `voter ${i}`, { ref: refs[i], exact: false });
        });
        const acked = Date.now() - t0;

        /* Each observer ends with the exact tallies, after only a few updates. */
        for (const o of observers) {
            await o.next((e) => e.type === 'poll.updated' && e.total_votes === VOTERS, 3000);
        }
        await sleep(COALESCE_MS + 400); /* anything still pending would come by now */
        const window = 1500;
        for (const p of peers) {
            const idx = peers.indexOf(p);
            const ups = stamps.get(p).filter((s) => s.ev.poll_id === poll.id);
            const who = `${parts[idx].custom_participant_id}`;
            const inWindow = ups.filter((s) => s.t - t0 <= window);
            assert.ok(inWindow.length <= 4, `${who} got ${inWindow.length} poll.updated within ` +
                `${window} ms for ${VOTERS} votes (coalescing: at most one per ${COALESCE_MS} ms): ` +
                JSON.stringify(ups.map((s) => [s.t - t0, s.ev.total_votes])));
            assert.ok(ups.length <= 5, `${who} got ${ups.length} poll.updated in all`);
            for (let k = 1; k < ups.length; k++) {
                const gap = ups[k].t - ups[k - 1].t;
                assert.ok(gap >= COALESCE_MS - 150, `${who}: poll.updated ${gap} ms apart: ` +
                    JSON.stringify(ups.map((s) => [s.t - t0, s.ev.total_votes])));
                assert.ok(ups[k].ev.total_votes >= ups[k - 1].ev.total_votes,
                    'tallies never go back');
            }
            for (const u of ups) assertUpdated(u.ev, model, `${who} poll.updated`, { counts: null, total: null });
            if (idx >= VOTERS) {
                /* Observers: the last update is exact. */
                assert.ok(ups.length >= 1, `${who} got no poll.updated`);
                const last = ups[ups.length - 1].ev;
                assertUpdated(last, model, `${who} last poll.updated`);
                assert.deepEqual(last.counts, [10, 10, 10]);
                /* Every vote is listed once in the updates (at most 20 per option each). */
                const listed = ups.flatMap((u) => u.ev.voters.map((v) => v.id)).sort();
                assert.deepEqual(listed, model.votes.map((v) => v.id).sort(),
                    `${who}: each vote in exactly one update's voters`);
            } else if (ups.length > 0) {
                /* Voters: the last update they get is exact. */
                const last = ups[ups.length - 1].ev;
                if (last.total_votes === VOTERS) assertUpdated(last, model, `${who} last poll.updated`);
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
        await obs.next((e) => e.type === 'poll.updated' && e.poll_id === poll.id &&
            e.total_votes === VOTERS, 3000);
        await sleep(COALESCE_MS + 400);
        const limit = Math.ceil(span / COALESCE_MS) + 2;
        for (const p of peers) {
            const idx = peers.indexOf(p);
            const who = parts[idx].custom_participant_id;
            const ups = stamps.get(p).filter((s) => s.ev.poll_id === poll.id);
            const timeline = JSON.stringify(ups.map((s) => [s.t - t0, s.ev.total_votes]));
            assert.ok(ups.length <= limit, `${who}: ${ups.length} poll.updated for votes over ` +
                `${span} ms (at most one per ${COALESCE_MS} ms): ${timeline}`);
            for (let k = 1; k < ups.length; k++) {
                assert.ok(ups[k].t - ups[k - 1].t >= COALESCE_MS - 150,
                    `${who}: poll.updated closer than ${COALESCE_MS} ms: ${timeline}`);
                assert.ok(ups[k].ev.total_votes > ups[k - 1].ev.total_votes,
                    `${who}: an update without new votes: ${timeline}`);
            }
            if (idx >= VOTERS) {
                /* Coalescing, not debouncing: the observers hear of votes while they come in. */
                assert.ok(ups.length >= 2, `${who}: ${ups.length} poll.updated while votes came ` +
                    `in for ${span} ms: ${timeline}`);
                assert.ok(ups[0].ev.total_votes < VOTERS, `${who}: ${timeline}`);
                assertUpdated(ups[ups.length - 1].ev, model, `${who} last poll.updated`);
                /* The observer's copy, rebuilt from poll.created and the deltas, is the view
                 * it would get in a fresh hello. */
                const created = p.all.find((e) => e.type === 'poll.created' && e.poll.id === poll.id);
                const copy = new ClientPoll(created.poll);
                for (const u of ups) copy.apply(u.ev);
                assertViewer(copy.view, model, parts[idx].id, `${who} rebuilt copy`);
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
            assertVoted(last, model, parts[i].id, `poll.voted #${i}`);
        }
        assert.deepEqual(last.counts, [25, 3]);
        const expectIds = parts.slice(5, 25).map((p) => p.id).sort();

        /* The observer's copy, from poll.created and every delta, lists the 20 most recent
         * voters of option 0 (each update lists at most 20 per option). */
        const obs = peers[VOTERS];
        await obs.next((e) => e.type === 'poll.updated' && e.poll_id === poll.id &&
            e.total_votes === 28, 3000);
        const created = obs.all.find((e) => e.type === 'poll.created' && e.poll.id === poll.id);
        const copy = new ClientPoll(created.poll);
        for (const e of obs.all.filter((x) => x.type === 'poll.updated' && x.poll_id === poll.id)) {
            assertUpdated(e, model, 'observer poll.updated', { counts: null, total: null });
            for (let o = 0; o < 2; o++) {
                assert.ok(e.voters.filter((v) => v.option === o).length <= RECENT_VOTERS,
                    `at most ${RECENT_VOTERS} voters per option in one update: ${JSON.stringify(e)}`);
            }
            copy.apply(e);
        }
        assertViewer(copy.view, model, parts[VOTERS].id, 'observer copy');
        assert.deepEqual(copy.view.options[0].votes.map((v) => v.id).sort(), expectIds,
            'the 20 most recent voters of option 0');
        assert.equal(copy.view.options[1].votes.length, 3);

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
