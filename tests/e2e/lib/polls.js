// SPDX-License-Identifier: MIT
// Helpers for the poll tests (issue 4, PROTOCOL.md §4-§6): a fixture on top of peer.js's
// liveFixture with create-poll and the poll REST routes, parallel participants and peers,
// votes that wait for their reply, and a model of a poll from which the expected REST view and
// each participant's viewer view are computed and compared.

import assert from 'node:assert/strict';
import { http, tokenIdByName } from './rtkd.js';
import { liveFixture } from './peer.js';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/* Voters listed per option in a viewer view (PROTOCOL.md §6). */
export const RECENT_VOTERS = 20;

/* Keys every poll view has; the REST view adds `voted`, the viewer view my_vote/total_votes. */
const COMMON_KEYS = ['id', 'question', 'options', 'anonymous', 'hide_votes', 'created_by'];

/**
 * liveFixture (peer.js) plus:
 *   f.tokenId                 id of the fixture's API token (`token list` first column)
 *   f.createPollP(m, body)    the SDK promise of createPoll (for expectRtkError)
 *   f.createPoll(m, body)     201 → the REST poll (asserts the envelope)
 *   f.pollsRest(m)            GET …/active-session/polls → {status, json}
 *   f.pollRest(m, id)         GET …/active-session/polls/{id} → {status, json}
 *   f.sessionPolls(sid)       GET …/sessions/{sid}/polls → {status, json}
 *   f.participants(m, n, pre) n participants added concurrently (custom ids pre-0 …)
 *   f.connectAll(parts)       a peer per participant, connected concurrently
 */
export async function pollsFixture(opts = {}) {
    const f = await liveFixture(opts);
    f.tokenId = await tokenIdByName(f.dataDir, 'live-token');
    const base = () => `/accounts/${f.accountId}/realtime/kit/${f.appId}`;
    f.createPollP = (meetingId, body) =>
        f.cf.realtimeKit.activeSession.createPoll(meetingId, f.at(body));
    f.createPoll = async (meetingId, body) => {
        const res = await f.createPollP(meetingId, body);
        assert.equal(res.success, true, JSON.stringify(res));
        assert.equal(res.data.action, 'create_poll', JSON.stringify(res));
        return res.data.poll;
    };
    const get = async (p) => {
        const r = await http(f.srv, 'GET', base() + p, { token: f.token });
        return { status: r.status, json: r.json, text: r.text };
    };
    f.pollsRest = (meetingId) => get(`/meetings/${meetingId}/active-session/polls`);
    f.pollRest = (meetingId, pollId) =>
        get(`/meetings/${meetingId}/active-session/polls/${encodeURIComponent(pollId)}`);
    f.sessionPolls = (sessionId) => get(`/sessions/${sessionId}/polls`);
    f.participants = (meetingId, n, prefix = 'p') =>
        Promise.all(Array.from({ length: n }, (_, i) => f.participant(meetingId, `${prefix}-${i}`)));
    f.connectAll = (parts) => Promise.all(parts.map((p) => f.connect(p)));
    return f;
}

/* Asserts an HTTP answer {status, json} is 200 with the success envelope; returns data. */
export function okData(r, what = 'response') {
    assert.equal(r.status, 200, `${what}: HTTP ${r.status}: ${r.text}`);
    assert.equal(r.json?.success, true, `${what}: ${r.text}`);
    return r.json.data;
}

/* Asserts an HTTP answer is STATUS with the RealtimeKit error envelope; returns the message. */
export function errMessage(r, status, what = 'response') {
    assert.equal(r.status, status, `${what}: expected HTTP ${status}, got ${r.status}: ${r.text}`);
    assert.equal(r.json?.success, false, `${what}: ${r.text}`);
    assert.equal(r.json.error?.code, status, `${what}: ${r.text}`);
    assert.equal(typeof r.json.error.message, 'string', `${what}: ${r.text}`);
    return r.json.error.message;
}

let refSeq = 0;
export function newRef(prefix = 'v') {
    refSeq += 1;
    return `${prefix}-${refSeq}`;
}

/* Sends poll.vote without waiting; returns the ref. */
export function sendVote(peer, pollId, option, ref = newRef()) {
    const msg = { type: 'poll.vote', poll_id: pollId, ref };
    if (option !== undefined) msg.option = option;
    peer.send(msg);
    return ref;
}

/* The reply (poll.voted or error) carrying REF. */
export function reply(peer, ref, ms) {
    return peer.next((e) => e.ref === ref && (e.type === 'poll.voted' || e.type === 'error'), ms);
}

/* Votes and returns the reply (poll.voted or error). */
export async function vote(peer, pollId, option, ref) {
    const r = sendVote(peer, pollId, option, ref);
    return reply(peer, r);
}

/* Votes and asserts poll.voted; returns it. */
export async function voteOk(peer, pollId, option) {
    const ev = await vote(peer, pollId, option);
    assert.equal(ev.type, 'poll.voted', `${peer.label}: vote ${option} on ${pollId}: ` +
        JSON.stringify(ev));
    return ev;
}

/* Votes and asserts an error with CODE (or one of CODES); returns it. */
export async function voteErr(peer, pollId, option, codes) {
    const ref = newRef('e');
    const ev = await vote(peer, pollId, option, ref);
    const want = [].concat(codes);
    assert.equal(ev.type, 'error', `${peer.label}: expected error ${want} for option ` +
        `${JSON.stringify(option)}, got ${JSON.stringify(ev)}`);
    assert.ok(want.includes(ev.code), `${peer.label}: expected error ${want}, got ` +
        JSON.stringify(ev));
    assert.equal(ev.ref, ref);
    assert.equal(typeof ev.message, 'string');
    return ev;
}

/**
 * A model of a poll: what the server should hold. votes are {id, name, option} in the order
 * cast.
 */
export class PollModel {
    constructor(rest, createdBy) {
        this.id = rest.id;
        this.question = rest.question;
        this.texts = rest.options.map((o) => o.text);
        this.anonymous = rest.anonymous;
        this.hide_votes = rest.hide_votes;
        this.created_by = createdBy;
        this.votes = [];
    }

    /* Records the vote of participant PART (an addParticipant data object) for OPTION. */
    add(part, option) {
        assert.ok(!this.votes.some((v) => v.id === part.id), `${part.id} voted twice in the model`);
        this.votes.push({ id: part.id, name: part.name, option });
    }

    counts() {
        const c = this.texts.map(() => 0);
        for (const v of this.votes) c[v.option] += 1;
        return c;
    }

    myVote(participantId) {
        const v = this.votes.find((x) => x.id === participantId);
        return v ? v.option : null;
    }
}

const byId = (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const sortVoters = (list) => [...list].sort(byId);

function checkCommon(view, model, what) {
    for (const k of COMMON_KEYS) assert.ok(k in view, `${what}: no "${k}" in ${JSON.stringify(view)}`);
    assert.equal(view.id, model.id, what);
    assert.equal(view.question, model.question, what);
    assert.equal(view.anonymous, model.anonymous, `${what}: anonymous`);
    assert.equal(view.hide_votes, model.hide_votes, `${what}: hide_votes`);
    assert.equal(view.created_by, model.created_by, `${what}: created_by`);
    assert.ok(Array.isArray(view.options), `${what}: options ${JSON.stringify(view.options)}`);
    assert.deepEqual(view.options.map((o) => o.text), model.texts, `${what}: option texts`);
    for (const o of view.options) {
        assert.ok(Array.isArray(o.votes), `${what}: votes ${JSON.stringify(o)}`);
        for (const v of o.votes) {
            assert.deepEqual(Object.keys(v).sort(), ['id', 'name'], `${what}: voter ${JSON.stringify(v)}`);
        }
    }
}

/* Asserts VIEW is the REST view of MODEL (full voter lists, voted[]). */
export function assertRest(view, model, what = 'REST view') {
    checkCommon(view, model, what);
    assert.ok(!('my_vote' in view), `${what}: has my_vote: ${JSON.stringify(view)}`);
    assert.ok(Array.isArray(view.voted), `${what}: voted ${JSON.stringify(view.voted)}`);
    assert.deepEqual([...view.voted].sort(), model.votes.map((v) => v.id).sort(), `${what}: voted`);
    const counts = model.counts();
    view.options.forEach((o, i) => {
        assert.equal(o.count, counts[i], `${what}: options[${i}].count in ${JSON.stringify(view)}`);
        const want = model.anonymous ? []
            : model.votes.filter((v) => v.option === i).map(({ id, name }) => ({ id, name }));
        assert.deepEqual(sortVoters(o.votes), sortVoters(want), `${what}: options[${i}].votes`);
    });
}

/* Asserts VIEW is the viewer view of MODEL for participant VIEWERID (PROTOCOL.md §6). */
export function assertViewer(view, model, viewerId, what = 'viewer view') {
    checkCommon(view, model, what);
    assert.ok(!('voted' in view), `${what}: a viewer view has no "voted": ${JSON.stringify(view)}`);
    assert.ok('my_vote' in view && 'total_votes' in view, `${what}: ${JSON.stringify(view)}`);
    const mine = model.myVote(viewerId);
    assert.equal(view.my_vote, mine, `${what}: my_vote in ${JSON.stringify(view)}`);
    const hidden = model.hide_votes && mine === null;
    assert.equal(view.total_votes, hidden ? null : model.votes.length,
        `${what}: total_votes in ${JSON.stringify(view)}`);
    const counts = model.counts();
    view.options.forEach((o, i) => {
        if (hidden) {
            assert.equal(o.count, null, `${what}: options[${i}].count must be hidden: ` +
                JSON.stringify(view));
            assert.deepEqual(o.votes, [], `${what}: options[${i}].votes must be hidden`);
            return;
        }
        assert.equal(o.count, counts[i], `${what}: options[${i}].count in ${JSON.stringify(view)}`);
        if (model.anonymous) {
            assert.deepEqual(o.votes, [], `${what}: anonymous options[${i}].votes`);
            return;
        }
        const recent = model.votes.filter((v) => v.option === i).slice(-RECENT_VOTERS)
            .map(({ id, name }) => ({ id, name }));
        assert.deepEqual(sortVoters(o.votes), sortVoters(recent),
            `${what}: options[${i}].votes must be the ${RECENT_VOTERS} most recent voters`);
    });
}

/* The poll with id POLLID in a hello's polls (asserting it is there exactly once). */
export function helloPoll(hello, pollId) {
    assert.ok(Array.isArray(hello.polls), `hello.polls: ${JSON.stringify(hello.polls)}`);
    const found = hello.polls.filter((p) => p.id === pollId);
    assert.equal(found.length, 1, `poll ${pollId} in hello.polls ${JSON.stringify(hello.polls)}`);
    return found[0];
}

/* ---- protocol 2 deltas (PROTOCOL.md §4, §6) ---- */

/**
 * Asserts EV is a poll.updated of MODEL's poll (protocol 2: {type, poll_id, counts,
 * total_votes, voters?}) with the model's exact tallies (pass counts/total to check others).
 * voters: omitted in an anonymous poll; else a list of {option, id, name} of voters of MODEL.
 */
export function assertUpdated(ev, model, what = 'poll.updated',
    { counts = model.counts(), total = model.votes.length } = {}) {
    const keys = model.anonymous ? ['counts', 'poll_id', 'total_votes', 'type']
        : ['counts', 'poll_id', 'total_votes', 'type', 'voters'];
    assert.deepEqual(Object.keys(ev).sort(), keys, `${what}: keys of ${JSON.stringify(ev)}`);
    assert.equal(ev.type, 'poll.updated');
    assert.equal(ev.poll_id, model.id, what);
    if (counts !== null) assert.deepEqual(ev.counts, counts, `${what}: counts in ${JSON.stringify(ev)}`);
    if (total !== null) assert.equal(ev.total_votes, total, `${what}: total_votes in ${JSON.stringify(ev)}`);
    assert.equal(ev.total_votes, ev.counts.reduce((a, b) => a + b, 0), `${what}: total = sum`);
    if (!model.anonymous) assertVoters(ev.voters, model, what);
    return ev;
}

/* Asserts VOTERS ({option, id, name}[]) are votes recorded in MODEL, each for its option. */
export function assertVoters(voters, model, what) {
    assert.ok(Array.isArray(voters), `${what}: voters ${JSON.stringify(voters)}`);
    for (const v of voters) {
        assert.deepEqual(Object.keys(v).sort(), ['id', 'name', 'option'], `${what}: voter ${JSON.stringify(v)}`);
        const m = model.votes.find((x) => x.id === v.id);
        assert.ok(m, `${what}: voter ${JSON.stringify(v)} did not vote in the model`);
        assert.deepEqual(v, { option: m.option, id: m.id, name: m.name }, `${what}: voter`);
    }
}

/**
 * Asserts EV is the poll.voted of VIEWERID on MODEL's poll (protocol 2: {type, ref, poll_id,
 * my_vote, counts, total_votes} and `poll`, the viewer view, only with hide_votes). The model
 * must already hold the vote. exact false: the tallies are only checked to include the vote
 * (votes cast concurrently may or may not be counted yet).
 */
export function assertVoted(ev, model, viewerId, what = 'poll.voted', { ref, exact = true } = {}) {
    /* ref: a string → echoed; null → the vote had none, so none (or null) in the reply. */
    const keys = ['counts', 'my_vote', 'poll_id', 'total_votes', 'type'];
    if (model.hide_votes) keys.push('poll');
    const got = Object.keys(ev).filter((k) => k !== 'ref');
    assert.deepEqual(got.sort(), keys.sort(), `${what}: keys of ${JSON.stringify(ev)}`);
    assert.equal(ev.type, 'poll.voted');
    if (typeof ref === 'string') assert.equal(ev.ref, ref, `${what}: ref`);
    else if (ref === null) assert.ok(ev.ref === undefined || ev.ref === null, `${what}: ref`);
    else assert.equal(typeof ev.ref, 'string', `${what}: ref in ${JSON.stringify(ev)}`);
    assert.equal(ev.poll_id, model.id, what);
    const mine = model.myVote(viewerId);
    assert.equal(ev.my_vote, mine, `${what}: my_vote`);
    assert.ok(Array.isArray(ev.counts) && ev.counts.length === model.texts.length, JSON.stringify(ev));
    assert.equal(ev.total_votes, ev.counts.reduce((a, b) => a + b, 0), `${what}: total = sum`);
    if (exact) {
        assert.deepEqual(ev.counts, model.counts(), `${what}: counts`);
        assert.equal(ev.total_votes, model.votes.length, `${what}: total_votes`);
    } else {
        assert.ok(ev.counts[mine] >= 1, `${what}: own vote not counted: ${JSON.stringify(ev)}`);
        assert.ok(ev.total_votes >= 1 && ev.total_votes <= model.votes.length, JSON.stringify(ev));
    }
    if (model.hide_votes) {
        if (exact) assertViewer(ev.poll, model, viewerId, `${what}: poll`);
        else {
            assert.equal(ev.poll.id, model.id);
            assert.equal(ev.poll.my_vote, mine);
            assert.deepEqual(ev.poll.options.map((o) => o.count), ev.counts, `${what}: poll vs counts`);
            assert.equal(ev.poll.total_votes, ev.total_votes);
        }
    }
    return ev;
}

/**
 * A client's own copy of a poll (PROTOCOL.md §6, last paragraph): starts from a viewer view
 * (hello, admitted, poll.created), then each poll.updated and poll.voted replaces counts and
 * total_votes and appends voters (each voter once: a participant votes once per poll; each
 * option keeps its RECENT_VOTERS most recent, as the viewer view does). poll.voted sets
 * my_vote, and its `poll` (hide_votes) replaces the copy first.
 */
export class ClientPoll {
    constructor(view) {
        assert.ok(view && typeof view.id === 'string', `viewer view ${JSON.stringify(view)}`);
        this.view = structuredClone(view);
        this.applied = 0;
    }

    apply(ev) {
        assert.equal(ev.poll_id, this.view.id, `delta for another poll: ${JSON.stringify(ev)}`);
        assert.ok(ev.type === 'poll.updated' || ev.type === 'poll.voted', JSON.stringify(ev));
        if (ev.type === 'poll.voted') {
            if (ev.poll) this.view = structuredClone(ev.poll);
            this.view.my_vote = ev.my_vote;
        }
        assert.equal(ev.counts.length, this.view.options.length, JSON.stringify(ev));
        ev.counts.forEach((c, i) => { this.view.options[i].count = c; });
        this.view.total_votes = ev.total_votes;
        for (const v of ev.voters ?? []) {
            const list = this.view.options[v.option].votes;
            if (this.view.options.some((o) => o.votes.some((x) => x.id === v.id))) continue;
            list.push({ id: v.id, name: v.name });
            if (list.length > RECENT_VOTERS) list.splice(0, list.length - RECENT_VOTERS);
        }
        this.applied += 1;
        return this;
    }

    counts() {
        return this.view.options.map((o) => o.count);
    }
}
