// SPDX-License-Identifier: MIT
// Polls on the participant channel (issue 4 items 2-4, PROTOCOL.md §4-§6): poll.created fan-out
// to every live peer, poll.vote with its reply and each error, poll.updated to the others,
// hide_votes and anonymous views for voters, non-voters and REST, the late joiner's hello,
// a poll created during the keep-alive window, and the session history after kick-all.
// Protocol 2: poll.voted is {ref, poll_id, my_vote, counts, total_votes} (plus the viewer view
// with hide_votes) and poll.updated the delta {poll_id, counts, total_votes, voters?}; peers for
// whom the tallies are hidden get no poll.updated.

import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { test, expectRtkError } from '../lib/rtkd.js';
import {
    pollsFixture, PollModel, assertRest, assertViewer, okData, errMessage, helloPoll,
    sendVote, reply, voteOk, voteErr, newRef, assertUpdated, assertVoted,
} from '../lib/polls.js';

let f;

before(async () => {
    f = await pollsFixture();
});

after(async () => {
    if (f) await f.stop();
});

/* The next poll.updated of POLLID at PEER that PRED accepts (default: any). */
const updated = (peer, pollId, pred = () => true) =>
    peer.next((e) => e.type === 'poll.updated' && e.poll_id === pollId && pred(e));
/* Every poll.updated of POLLID that PEER received so far. */
const allUpdates = (peer, pollId) =>
    peer.all.filter((e) => e.type === 'poll.updated' && e.poll_id === pollId);
const voter = (part, option) => ({ option, id: part.id, name: part.name });

test('poll.created reaches every live peer at once, each in its viewer view', async () => {
    const m = await f.meeting({ title: 'fan-out' });
    const other = await f.meeting({ title: 'elsewhere' });
    const parts = await f.participants(m.id, 20, 'fan');
    const peers = await f.connectAll(parts);
    const outsider = await f.connect(await f.participant(other.id, 'outsider'));
    for (const p of peers) assert.deepEqual(p.hello.polls, [], `${p.label}: no polls yet`);

    const t0 = Date.now();
    const poll = await f.createPoll(m.id, { question: 'Ship it?', options: ['yes', 'no', 'later'] });
    const model = new PollModel(poll, f.tokenId);
    assertRest(poll, model, 'create response');
    const events = await Promise.all(peers.map((p) => p.next('poll.created')));
    const elapsed = Date.now() - t0;
    events.forEach((ev, i) => {
        assert.deepEqual(Object.keys(ev).sort(), ['poll', 'type']);
        assertViewer(ev.poll, model, parts[i].id, `${parts[i].custom_participant_id} poll.created`);
    });
    assert.ok(elapsed < 2000, `20 peers held poll.created ${elapsed} ms after the request`);
    /* Exactly one each; nobody outside the meeting hears of it. */
    await Promise.all([...peers, outsider].map((p) => p.none('poll.created', 150)));
    await Promise.all([...peers, outsider].map((p) => p.close()));
});

test('poll.vote: poll.voted with the ref and the tallies; every viewer gets the poll.updated delta',
    async () => {
    const m = await f.meeting({ title: 'votes' });
    const [a, b, c] = await f.participants(m.id, 3, 'vt');
    const [pa, pb, pc] = await f.connectAll([a, b, c]);
    const poll = await f.createPoll(m.id, { question: 'Colour?', options: ['red', 'green', 'blue'] });
    const model = new PollModel(poll, f.tokenId);
    await Promise.all([pa, pb, pc].map((p) => p.next('poll.created')));

    const ref = newRef('a');
    sendVote(pa, poll.id, 2, ref);
    const voted = await reply(pa, ref);
    assert.equal(voted.type, 'poll.voted', JSON.stringify(voted));
    assert.equal(voted.ref, ref, 'the ref is echoed');
    model.add(a, 2);
    assertVoted(voted, model, a.id, 'poll.voted', { ref });
    assert.deepEqual(voted, { type: 'poll.voted', ref, poll_id: poll.id, my_vote: 2,
        counts: [0, 0, 1], total_votes: 1 }, 'no whole poll without hide_votes');

    /* Everyone who views the tallies, the voter included, gets the same small delta, listing
     * the one vote since the previous update. */
    for (const [peer, part] of [[pa, a], [pb, b], [pc, c]]) {
        const u = await updated(peer, poll.id, (e) => e.total_votes === 1);
        assertUpdated(u, model, `${part.custom_participant_id} poll.updated`);
        assert.deepEqual(u, { type: 'poll.updated', poll_id: poll.id, counts: [0, 0, 1],
            total_votes: 1, voters: [voter(a, 2)] });
    }

    const vb = await voteOk(pb, poll.id, 0);
    model.add(b, 0);
    assertVoted(vb, model, b.id, 'b poll.voted');
    /* The next update lists only the vote cast since the previous one. */
    const uc = await updated(pc, poll.id, (e) => e.total_votes === 2);
    assertUpdated(uc, model, 'c poll.updated after 2 votes');
    assert.deepEqual(uc.voters, [voter(b, 0)], 'voters since the previous poll.updated');
    assert.deepEqual(uc.counts, [1, 0, 1]);
    const ua = await updated(pa, poll.id, (e) => e.total_votes === 2);
    assert.deepEqual(ua, uc, 'the same update for every receiver');

    /* A vote without a ref is answered without one. */
    pc.send({ type: 'poll.vote', poll_id: poll.id, option: 2 });
    const vc = await pc.next('poll.voted');
    assert.ok(!('ref' in vc) || vc.ref === null, JSON.stringify(vc));
    model.add(c, 2);
    assertVoted(vc, model, c.id, 'c poll.voted', { ref: null });
    assert.deepEqual(vc.counts, [1, 0, 2]);

    assertRest(okData(await f.pollRest(m.id, poll.id)).poll, model, 'GET polls/{id}');
    const list = okData(await f.pollsRest(m.id)).polls;
    assert.equal(list.length, 1);
    assertRest(list[0], model, 'GET polls');
    await Promise.all([pa, pb, pc].map((p) => p.close()));
});

test('poll.vote errors: poll_not_found, invalid_option, already_voted; none of them counts',
    async () => {
        const m = await f.meeting({ title: 'errors' });
        const m2 = await f.meeting({ title: 'other errors' });
        const [a, b] = await f.participants(m.id, 2, 'er');
        const [pa, pb] = await f.connectAll([a, b]);
        const x = await f.connect(await f.participant(m2.id, 'x'));
        const poll = await f.createPoll(m.id, { question: 'Two?', options: ['one', 'two'] });
        const foreign = await f.createPoll(m2.id, { question: 'Foreign', options: ['f'] });
        const model = new PollModel(poll, f.tokenId);
        await pa.next('poll.created');

        /* poll_not_found: an unknown id, and a poll of another meeting's session. */
        await voteErr(pa, '3f1e2d4c-5b6a-4978-8a9b-0c1d2e3f4a5b', 0, 'poll_not_found');
        await voteErr(pa, foreign.id, 0, 'poll_not_found');
        await voteErr(x, poll.id, 0, 'poll_not_found');
        await voteErr(pa, '', 0, ['poll_not_found', 'invalid_message']);

        /* invalid_option: out of range; a non-integer option may also be invalid_message. */
        for (const o of [2, 3, -1, 99, 2 ** 40]) await voteErr(pa, poll.id, o, 'invalid_option');
        for (const o of ['0', 0.5, null, true, [0], { i: 0 }, undefined]) {
            await voteErr(pa, poll.id, o, ['invalid_option', 'invalid_message']);
        }
        const rest0 = okData(await f.pollRest(m.id, poll.id)).poll;
        assertRest(rest0, model, 'no vote counted after errors');
        await pb.none((e) => e.type === 'poll.updated', 600);

        /* The errors did not use up the vote. */
        const ok = await voteOk(pa, poll.id, 1);
        model.add(a, 1);
        assertVoted(ok, model, a.id);

        /* already_voted, for the same and for another option, changes nothing. */
        await voteErr(pa, poll.id, 1, 'already_voted');
        await voteErr(pa, poll.id, 0, 'already_voted');
        /* Two votes in one go: one poll.voted, then already_voted. */
        const r1 = sendVote(pb, poll.id, 0);
        const r2 = sendVote(pb, poll.id, 1);
        const [e1, e2] = [await reply(pb, r1), await reply(pb, r2)];
        assert.equal(e1.type, 'poll.voted', JSON.stringify(e1));
        assert.equal(e2.type, 'error', JSON.stringify(e2));
        assert.equal(e2.code, 'already_voted');
        model.add(b, 0);
        assertVoted(e1, model, b.id);
        await voteErr(pb, poll.id, 1, 'already_voted');

        assertRest(okData(await f.pollRest(m.id, poll.id)).poll, model, 'after already_voted');
        const last = await updated(pa, poll.id, (e) => e.total_votes === 2);
        assertUpdated(last, model);
        /* No update ever counted a refused vote. */
        for (const u of allUpdates(pa, poll.id)) assert.ok(u.total_votes <= 2, JSON.stringify(u));
        /* The connection stays usable after the errors. */
        await pa.ping();
        await Promise.all([pa, pb, x].map((p) => p.close()));
    });

test('hide_votes: non-voters get no poll.updated and hidden views; a vote reveals the poll once',
    async () => {
        const m = await f.meeting({ title: 'hidden' });
        const [a, b, c, late] = await f.participants(m.id, 4, 'hv');
        const [pa, pb, pc] = await f.connectAll([a, b, c]);
        const poll = await f.createPoll(m.id, {
            question: 'Secret ballot?', options: ['aye', 'nay'], hide_votes: true,
        });
        const model = new PollModel(poll, f.tokenId);
        assertRest(poll, model);
        for (const [p, part] of [[pa, a], [pb, b], [pc, c]]) {
            const ev = await p.next('poll.created');
            assertViewer(ev.poll, model, part.id, 'hidden poll.created');
            assert.equal(ev.poll.total_votes, null);
            assert.deepEqual(ev.poll.options.map((o) => o.count), [null, null]);
        }

        const va = await voteOk(pa, poll.id, 0);
        model.add(a, 0);
        /* The tallies just became visible to a: the reply carries the poll, in a's view. */
        assertVoted(va, model, a.id, 'voter reply with the poll');
        assert.equal(va.poll.options[0].count, 1);
        assert.deepEqual(va.poll.options[0].votes, [{ id: a.id, name: a.name }]);
        assert.deepEqual(va.counts, [1, 0]);

        const vb = await voteOk(pb, poll.id, 1);
        model.add(b, 1);
        assertVoted(vb, model, b.id, 'second voter sees everything');
        assert.deepEqual(vb.poll.options.map((o) => o.count), [1, 1]);
        assert.deepEqual(vb.poll.options[0].votes, [{ id: a.id, name: a.name }],
            'the poll in the reply has the votes cast before this viewer could see them');
        /* a (a voter) hears of b's vote; c never hears of either vote, and b heard nothing
         * while it had not voted. */
        const ua = await updated(pa, poll.id, (e) => e.total_votes === 2);
        assertUpdated(ua, model, 'voter a poll.updated');
        assert.deepEqual(allUpdates(pc, poll.id), [], 'c has not voted: no poll.updated');
        for (const u of allUpdates(pb, poll.id)) {
            assert.equal(u.total_votes, 2, `b got an update while hidden: ${JSON.stringify(u)}`);
        }
        await pc.ping(); /* anything sent to c before the pong has arrived */
        assert.deepEqual(allUpdates(pc, poll.id), [], 'c has not voted: no poll.updated');

        /* REST shows everything. */
        assertRest(okData(await f.pollRest(m.id, poll.id)).poll, model, 'REST hide_votes');

        /* A late joiner that has not voted gets it hidden in hello; a voter that reconnects
         * sees its vote and the tallies. */
        const pl = await f.connect(late);
        assertViewer(helloPoll(pl.hello, poll.id), model, late.id, 'late hello');
        await pa.close();
        const pa2 = await f.connect(a);
        assertViewer(helloPoll(pa2.hello, poll.id), model, a.id, 'voter hello');
        await Promise.all([pa2, pb, pc, pl].map((p) => p.close()));
    });

test('anonymous: no voter identities for anyone, counts exact; REST keeps voted ids', async () => {
    const m = await f.meeting({ title: 'anon' });
    const parts = await f.participants(m.id, 4, 'an');
    const peers = await f.connectAll(parts);
    const poll = await f.createPoll(m.id, {
        question: 'Anonymous?', options: ['x', 'y'], anonymous: true,
    });
    const both = await f.createPoll(m.id, {
        question: 'Anonymous and hidden?', options: ['x', 'y'], anonymous: true, hide_votes: true,
    });
    const model = new PollModel(poll, f.tokenId);
    const model2 = new PollModel(both, f.tokenId);
    for (let i = 0; i < 3; i++) {
        const v = await voteOk(peers[i], poll.id, i % 2);
        model.add(parts[i], i % 2);
        assertVoted(v, model, parts[i].id, 'anonymous poll.voted');
        const v2 = await voteOk(peers[i], both.id, 1);
        model2.add(parts[i], 1);
        assertVoted(v2, model2, parts[i].id, 'anonymous+hidden poll.voted');
        assert.deepEqual(v2.poll.options.map((o) => o.votes), [[], []]);
        assert.equal(v2.poll.total_votes, i + 1);
    }
    /* The non-voter's updates: counts without voters for the anonymous poll; nothing for the
     * hidden one, while the voters get its updates (without voters either). */
    const u = await updated(peers[3], poll.id, (e) => e.total_votes === 3);
    assertUpdated(u, model, 'anonymous non-voter poll.updated');
    assert.ok(!('voters' in u), JSON.stringify(u));
    const w = await updated(peers[0], both.id, (e) => e.total_votes === 3);
    assertUpdated(w, model2, 'anonymous+hidden voter poll.updated');
    for (const p of peers) {
        for (const e of p.all.filter((x) => x.type === 'poll.updated')) {
            assert.ok(!('voters' in e), `${p.label}: voters in an anonymous poll: ${JSON.stringify(e)}`);
        }
    }
    await peers[3].ping();
    assert.deepEqual(allUpdates(peers[3], both.id), [], 'hidden non-voter: no poll.updated');
    /* REST: counts, empty voter lists, voted ids. */
    const rest = okData(await f.pollsRest(m.id)).polls;
    const r1 = rest.find((p) => p.id === poll.id);
    const r2 = rest.find((p) => p.id === both.id);
    assertRest(r1, model, 'REST anonymous');
    assertRest(r2, model2, 'REST anonymous+hidden');
    assert.deepEqual(r1.options.map((o) => o.votes), [[], []]);
    assert.deepEqual(r1.options.map((o) => o.count), [2, 1]);
    /* A late joiner's hello. */
    await peers[3].close();
    const again = await f.connect(parts[3]);
    assertViewer(helloPoll(again.hello, poll.id), model, parts[3].id, 'anonymous hello');
    assertViewer(helloPoll(again.hello, both.id), model2, parts[3].id, 'anon+hidden hello');
    await Promise.all([...peers.slice(0, 3), again].map((p) => p.close()));
});

test('late joiner: hello carries every poll of the session in its view, in creation order',
    async () => {
        const m = await f.meeting({ title: 'late' });
        const [a, b, late] = await f.participants(m.id, 3, 'lj');
        const [pa, pb] = await f.connectAll([a, b]);
        const sid = pa.hello.session.id;
        const p1 = await f.createPoll(m.id, { question: 'First', options: ['1', '2'] });
        const p2 = await f.createPoll(m.id, { question: 'Second', options: ['a', 'b', 'c'] });
        const m1 = new PollModel(p1, f.tokenId);
        const m2 = new PollModel(p2, f.tokenId);
        await voteOk(pa, p1.id, 1);
        m1.add(a, 1);
        await voteOk(pb, p1.id, 1);
        m1.add(b, 1);
        await voteOk(pb, p2.id, 2);
        m2.add(b, 2);

        const pl = await f.connect(late);
        assert.equal(pl.hello.session.id, sid);
        assert.deepEqual(pl.hello.polls.map((p) => p.id), [p1.id, p2.id]);
        assertViewer(pl.hello.polls[0], m1, late.id, 'late hello poll 1');
        assertViewer(pl.hello.polls[1], m2, late.id, 'late hello poll 2');
        /* The late joiner votes like anyone else. */
        const v = await voteOk(pl, p2.id, 0);
        m2.add(late, 0);
        assertVoted(v, m2, late.id);

        /* Everyone leaves; the session waits (keep-alive). A poll created now is stored with
         * it and shown to the next peer. */
        await Promise.all([pa, pb, pl].map((p) => p.close()));
        const p3 = await f.createPoll(m.id, { question: 'While empty', options: ['ok'] });
        const m3 = new PollModel(p3, f.tokenId);
        const pb2 = await f.connect(b);
        assert.equal(pb2.hello.session.id, sid, 'same session within keep-alive');
        assert.deepEqual(pb2.hello.polls.map((p) => p.id), [p1.id, p2.id, p3.id]);
        assertViewer(pb2.hello.polls[0], m1, b.id);
        assertViewer(pb2.hello.polls[1], m2, b.id);
        assertViewer(pb2.hello.polls[2], m3, b.id);
        await pb2.close();
    });

test('after kick-all the session history keeps the polls and results', async () => {
    const m = await f.meeting({ title: 'history' });
    const parts = await f.participants(m.id, 3, 'hi');
    const peers = await f.connectAll(parts);
    const sid = peers[0].hello.session.id;
    const poll = await f.createPoll(m.id, { question: 'Keep me?', options: ['yes', 'no'] });
    const hidden = await f.createPoll(m.id, {
        question: 'Anon', options: ['p', 'q'], anonymous: true, hide_votes: true,
    });
    const model = new PollModel(poll, f.tokenId);
    const model2 = new PollModel(hidden, f.tokenId);
    for (let i = 0; i < 3; i++) {
        await voteOk(peers[i], poll.id, i === 2 ? 1 : 0);
        model.add(parts[i], i === 2 ? 1 : 0);
    }
    await voteOk(peers[0], hidden.id, 1);
    model2.add(parts[0], 1);

    /* While live, the history route answers too. */
    const during = okData(await f.sessionPolls(sid), 'sessions/{id}/polls while live').polls;
    assert.deepEqual(during.map((p) => p.id), [poll.id, hidden.id]);
    assertRest(during[0], model);

    await f.kickAll(m.id);
    await Promise.all(peers.map((p) => p.closed()));
    const e = await expectRtkError(f.activeP(m.id), 404);
    assert.match(e.error.error.message, /No active session/);
    assert.equal(errMessage(await f.pollsRest(m.id), 404), `No active session found for meeting_id ${m.id}`);
    errMessage(await f.pollRest(m.id, poll.id), 404, 'GET polls/{id} after the end');
    const late = await expectRtkError(f.createPollP(m.id, { question: 'Too late', options: ['a'] }), 404);
    assert.equal(late.error.error.message, `No active session found for meeting_id ${m.id}`);

    const ended = okData(await f.sessionPolls(sid), 'sessions/{id}/polls after the end').polls;
    assert.deepEqual(ended.map((p) => p.id), [poll.id, hidden.id]);
    assertRest(ended[0], model, 'history poll');
    assertRest(ended[1], model2, 'history anonymous poll');
    assert.deepEqual(ended[0].options.map((o) => o.count), [2, 1]);

    /* The next session starts without polls; the old one's are still in its history. */
    const p0 = await f.connect(parts[0]);
    assert.notEqual(p0.hello.session.id, sid);
    assert.deepEqual(p0.hello.polls, []);
    assert.deepEqual(okData(await f.pollsRest(m.id)).polls, []);
    await voteErr(p0, poll.id, 0, 'poll_not_found');
    assert.deepEqual(okData(await f.sessionPolls(p0.hello.session.id)).polls, []);
    assert.deepEqual(okData(await f.sessionPolls(sid)).polls.map((p) => p.id), [poll.id, hidden.id]);
    errMessage(await f.sessionPolls('0f0e0d0c-0b0a-4908-8706-050403020100'), 404, 'unknown session');
    await p0.close();
});
