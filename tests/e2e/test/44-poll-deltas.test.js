// SPDX-License-Identifier: MIT
// Protocol 2 poll shapes (issue 13 item 3, PROTOCOL.md §4, §6): after a burst of votes, each
// peer's copy rebuilt on the client (the viewer view of poll.created, then the counts,
// total_votes and voters of every poll.updated and poll.voted) has the tallies of the REST
// view; poll.updated comes at most once per poll per 500 ms with the same bytes for every
// receiver, each vote listed in the voters of exactly one update; viewers for whom hide_votes
// hides the tallies get no poll.updated, and their one poll.voted carries the poll; anonymous
// polls' updates carry no voters.

import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { test } from '../lib/rtkd.js';
import {
    PollModel, assertRest, assertViewer, okData, sendVote, reply, assertUpdated, assertVoted,
    ClientPoll, RECENT_VOTERS,
} from '../lib/polls.js';
import { presetsFixture } from '../lib/presets.js';

const VOTERS = 36;
const COALESCE_MS = 500;
const SLACK_MS = 150;

let f;
let meeting;
let parts; /* VOTERS voters, then two observers that never vote */
let peers;

before(async () => {
    f = await presetsFixture();
    meeting = await f.meeting({ title: 'deltas' });
    parts = await f.participants(meeting.id, VOTERS + 2, 'd');
    peers = await f.connectAll(parts);
});

after(async () => {
    if (peers) await Promise.all(peers.map((p) => p.close()));
    if (f) await f.stop();
});

/* PEER's poll.updated and poll.voted of POLLID, in arrival order. */
const deltas = (peer, pollId) => peer.all.filter((e) =>
    (e.type === 'poll.updated' || e.type === 'poll.voted') && e.poll_id === pollId);
const updatesOf = (peer, pollId) => peer.all.filter((e) =>
    e.type === 'poll.updated' && e.poll_id === pollId);

/* PEER's copy of POLLID, rebuilt from its poll.created and every delta since. */
function rebuild(peer, pollId) {
    const created = peer.all.find((e) => e.type === 'poll.created' && e.poll.id === pollId);
    assert.ok(created, `${peer.label}: no poll.created for ${pollId}`);
    const copy = new ClientPoll(created.poll);
    for (const d of deltas(peer, pollId)) copy.apply(d);
    return copy;
}

/* Creates a poll through REST; resolves its model once every peer has its poll.created. */
async function newPoll(body) {
    const poll = await f.createPoll(meeting.id, body);
    await Promise.all(peers.map((p) => p.next((e) => e.type === 'poll.created' &&
        e.poll.id === poll.id)));
    return new PollModel(poll, f.tokenId);
}

/* Every voter I of VOTERS votes CHOICE(I) at once; resolves the replies (asserted poll.voted). */
async function burst(model, choice, n = VOTERS) {
    const refs = peers.slice(0, n).map((p, i) => sendVote(p, model.id, choice(i), `${model.id}-${i}`));
    const acks = await Promise.all(peers.slice(0, n).map((p, i) => reply(p, refs[i], 8000)));
    for (let i = 0; i < n; i++) model.add(parts[i], choice(i));
    acks.forEach((a, i) => {
        assert.equal(a.type, 'poll.voted', `voter ${i}: ${JSON.stringify(a)}`);
        assertVoted(a, model, parts[i].id, `voter ${i}`, { ref: refs[i], exact: false });
    });
    return acks;
}

/* Resolves once PEER has a poll.updated of MODEL's poll with every vote counted. */
const settled = (peer, model) => peer.waitUntil(() => (updatesOf(peer, model.id)
    .some((e) => e.total_votes === model.votes.length) ? true : undefined), 5000,
`poll.updated with ${model.votes.length} votes`);

test(`a burst of ${VOTERS} votes: every client's copy, rebuilt from the deltas, matches REST`,
    async () => {
        const model = await newPoll({ question: 'Rebuild?', options: ['a', 'b', 'c'] });
        const t0 = Date.now();
        await burst(model, (i) => i % 3);
        await Promise.all(peers.map((p) => settled(p, model)));
        const rest = okData(await f.pollRest(meeting.id, model.id)).poll;
        assertRest(rest, model, 'REST after the burst');
        const restCounts = rest.options.map((o) => o.count);
        assert.deepEqual(restCounts, [12, 12, 12]);

        peers.forEach((p, i) => {
            const copy = rebuild(p, model.id);
            const who = parts[i].custom_participant_id;
            assert.deepEqual(copy.counts(), restCounts, `${who}: rebuilt counts vs REST`);
            assert.equal(copy.view.total_votes, rest.voted.length, `${who}: rebuilt total`);
            assert.equal(copy.view.my_vote, i < VOTERS ? i % 3 : null, `${who}: my_vote`);
            /* Twelve voters per option, fewer than 20: the copy lists every one, as REST. */
            assertViewer(copy.view, model, parts[i].id, `${who}: rebuilt copy`);
            rest.options.forEach((o, k) => {
                assert.deepEqual(copy.view.options[k].votes.map((v) => v.id).sort(),
                    o.votes.map((v) => v.id).sort(), `${who}: option ${k} voters vs REST`);
            });
        });

        /* Coalesced: at most one per 500 ms, never going back, few for the burst. */
        const elapsed = Date.now() - t0;
        for (const p of peers) {
            const ups = updatesOf(p, model.id);
            assert.ok(ups.length >= 1 && ups.length <= Math.ceil(elapsed / (COALESCE_MS - SLACK_MS)) + 1,
                `${p.label}: ${ups.length} poll.updated in ${elapsed} ms`);
            for (let k = 1; k < ups.length; k++) {
                const gap = ups[k].receivedAt - ups[k - 1].receivedAt;
                assert.ok(gap >= COALESCE_MS - SLACK_MS, `${p.label}: poll.updated ${gap} ms apart`);
                assert.ok(ups[k].total_votes > ups[k - 1].total_votes, `${p.label}: no new votes`);
            }
            for (const u of ups) assertUpdated(u, model, p.label, { counts: null, total: null });
        }
        /* The same bytes for every receiver: every peer saw every update of this poll. */
        const texts = (p) => updatesOf(p, model.id).map((u) => u.rawText);
        const ref = texts(peers[VOTERS]);
        for (const p of peers) assert.deepEqual(texts(p), ref, `${p.label}: the same frames`);
        /* Each vote is in the voters of exactly one update (at most 20 per option there). */
        const listed = updatesOf(peers[VOTERS], model.id).flatMap((u) => u.voters);
        assert.deepEqual(listed.map((v) => v.id).sort(), model.votes.map((v) => v.id).sort(),
            'each vote in one update');
        for (const u of updatesOf(peers[VOTERS], model.id)) {
            for (let k = 0; k < 3; k++) {
                assert.ok(u.voters.filter((v) => v.option === k).length <= RECENT_VOTERS);
            }
        }
        assert.equal(new Set(listed.map((v) => v.id)).size, listed.length, 'no vote listed twice');
    });

test('hide_votes: viewers that have not voted get no poll.updated; each voter\'s reply carries ' +
    'the poll once, and its copy rebuilt from there matches REST', async () => {
    const model = await newPoll({ question: 'Hidden?', options: ['x', 'y'], hide_votes: true });
    const n = 12;
    const acks = await burst(model, (i) => i % 2, n);
    for (const a of acks) assert.equal(typeof a.poll, 'object', JSON.stringify(a));
    /* Voters (they can see the tallies now) end with every vote. */
    await Promise.all(peers.slice(0, n).map((p) => settled(p, model)));
    const rest = okData(await f.pollRest(meeting.id, model.id)).poll;
    assertRest(rest, model, 'REST hide_votes');
    for (let i = 0; i < n; i++) {
        const copy = rebuild(peers[i], model.id);
        assertViewer(copy.view, model, parts[i].id, `voter ${i}: rebuilt copy`);
        assert.deepEqual(copy.counts(), rest.options.map((o) => o.count));
        /* poll.voted carried the poll; no other delta did. */
        for (const d of deltas(peers[i], model.id)) {
            assert.equal('poll' in d, d.type === 'poll.voted', JSON.stringify(d));
        }
    }
    /* The non-voters heard nothing (a ping makes sure anything sent has arrived). */
    const quiet = peers.slice(n);
    await Promise.all(quiet.map((p) => p.ping()));
    for (const p of quiet) {
        assert.deepEqual(updatesOf(p, model.id), [], `${p.label}: hidden, yet got poll.updated`);
        const copy = rebuild(p, model.id);
        assert.deepEqual(copy.counts(), [null, null]);
        assert.equal(copy.view.total_votes, null);
    }
});

test('anonymous: poll.updated has no voters; the copies still rebuild the exact counts',
    async () => {
        const model = await newPoll({ question: 'Anon?', options: ['p', 'q', 'r'], anonymous: true });
        const n = 10;
        await burst(model, (i) => (i < 6 ? 0 : 2), n);
        await Promise.all(peers.map((p) => settled(p, model)));
        const rest = okData(await f.pollRest(meeting.id, model.id)).poll;
        assertRest(rest, model, 'REST anonymous');
        assert.deepEqual(rest.options.map((o) => o.count), [6, 0, 4]);
        for (const p of peers) {
            for (const u of updatesOf(p, model.id)) {
                assert.ok(!('voters' in u), `${p.label}: voters in an anonymous poll: ${u.rawText}`);
                assertUpdated(u, model, p.label, { counts: null, total: null });
            }
            const copy = rebuild(p, model.id);
            assert.deepEqual(copy.counts(), [6, 0, 4]);
            assert.deepEqual(copy.view.options.map((o) => o.votes), [[], [], []]);
        }
    });
