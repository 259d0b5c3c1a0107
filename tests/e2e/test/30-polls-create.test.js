// SPDX-License-Identifier: MIT
// POST …/active-session/poll over REST (issue 4 item 1): the call shown in the RealtimeKit docs,
// the REST view of PROTOCOL.md §6, the order of the answers (unknown meeting 404, validation
// 400 naming the field, no live session 404), every validation rule at and beyond its limits,
// and the poll REST routes of item 4 (list, one, unknown poll, no session).

import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { test, expectRtkError, assertRecentTime } from '../lib/rtkd.js';
import {
    pollsFixture, PollModel, assertRest, okData, errMessage, UUID,
} from '../lib/polls.js';

const UNKNOWN_MEETING = '5b7c4f2e-2f1a-4c7e-9a55-0d4c1b2e3f40';

let f;
let live;   /* a meeting with a live session (one peer connected) */
let quiet;  /* a meeting that never had a session */
let peer;

before(async () => {
    f = await pollsFixture();
    live = await f.meeting({ title: 'poll room' });
    quiet = await f.meeting({ title: 'quiet room' });
    const part = await f.participant(live.id, 'host');
    peer = await f.connect(part);
});

after(async () => {
    if (f) await f.stop();
});

const noSession = (id) => `No active session found for meeting_id ${id}`;

test('the documented example call succeeds: 201 with the REST view', async () => {
    const res = await f.cf.realtimeKit.activeSession.createPoll(live.id, {
        account_id: f.accountId,
        app_id: f.appId,
        options: ['string'],
        question: 'question',
    });
    assert.equal(res.success, true);
    assert.equal(res.data.action, 'create_poll');
    const poll = res.data.poll;
    assert.match(poll.id, UUID);
    assert.equal(poll.created_by, f.tokenId, 'created_by is the id of the API token');
    assert.match(f.tokenId, /^[0-9a-f]{32}$/);
    assert.deepEqual(poll.options, [{ text: 'string', count: 0, votes: [] }]);
    assert.equal(poll.anonymous, false, 'anonymous defaults to false');
    assert.equal(poll.hide_votes, false, 'hide_votes defaults to false');
    assert.deepEqual(poll.voted, []);
    assertRest(poll, new PollModel({ ...poll, question: 'question' }, f.tokenId));
    if ('created_at' in poll) assertRecentTime(poll.created_at, 'created_at');

    /* The raw status is 201 (the SDK hides it). */
    const raw = await f.cf.realtimeKit.activeSession.createPoll(live.id,
        f.at({ options: ['string'], question: 'question' })).asResponse();
    assert.equal(raw.status, 201);
    const body = await raw.json();
    assert.equal(body.success, true);
    assert.equal(body.data.action, 'create_poll');

    /* The peer in the session got both. */
    const c1 = await peer.next('poll.created');
    const c2 = await peer.next('poll.created');
    assert.equal(c1.poll.id, poll.id);
    assert.equal(c2.poll.id, body.data.poll.id);
});

test('anonymous and hide_votes are stored as given; the poll is listed over REST', async () => {
    const poll = await f.createPoll(live.id, {
        question: 'Lunch?', options: ['pizza', 'sushi', 'salad'], anonymous: true, hide_votes: true,
    });
    assert.equal(poll.anonymous, true);
    assert.equal(poll.hide_votes, true);
    const model = new PollModel(poll, f.tokenId);
    assert.deepEqual(model.texts, ['pizza', 'sushi', 'salad']);
    assertRest(poll, model, 'create response');

    const one = okData(await f.pollRest(live.id, poll.id), 'GET polls/{id}');
    assertRest(one.poll, model, 'GET polls/{id}');
    const list = okData(await f.pollsRest(live.id), 'GET polls');
    assert.ok(Array.isArray(list.polls));
    const mine = list.polls.filter((p) => p.id === poll.id);
    assert.equal(mine.length, 1, JSON.stringify(list.polls));
    assertRest(mine[0], model, 'GET polls');
    /* Earlier polls of this session are there too, each once. */
    const ids = list.polls.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, `duplicate polls: ${ids}`);
    assert.ok(ids.length >= 3, `polls of this session: ${ids}`);

    await peer.next((e) => e.type === 'poll.created' && e.poll.id === poll.id);
});

test('unknown meeting → 404 first (even with an invalid body)', async () => {
    await expectRtkError(f.createPollP(UNKNOWN_MEETING, { question: 'q', options: ['a'] }), 404);
    await expectRtkError(f.createPollP(UNKNOWN_MEETING, { question: '', options: [] }), 404);
    await expectRtkError(f.createPollP(UNKNOWN_MEETING, { options: 'x', anonymous: 3 }), 404);
    errMessage(await f.pollsRest(UNKNOWN_MEETING), 404, 'GET polls, unknown meeting');
    errMessage(await f.pollRest(UNKNOWN_MEETING, UNKNOWN_MEETING), 404,
        'GET polls/{id}, unknown meeting');
});

test('no live session → 404 naming the meeting, after validation (400 first)', async () => {
    const e = await expectRtkError(f.createPollP(quiet.id, { question: 'q', options: ['a', 'b'] }),
        404);
    assert.equal(e.error.error.message, noSession(quiet.id));
    /* The documented call too. */
    const e2 = await expectRtkError(f.createPollP(quiet.id, { options: ['string'], question: 'question' }), 404);
    assert.equal(e2.error.error.message, noSession(quiet.id));
    /* Validation comes before the session check. */
    await expectRtkError(f.createPollP(quiet.id, { question: '  ', options: ['a'] }), 400, 'question');
    await expectRtkError(f.createPollP(quiet.id, { question: 'q', options: [] }), 400, 'options');
    await expectRtkError(f.createPollP(quiet.id, { question: 'q', options: ['a'], hide_votes: 'no' }),
        400, 'hide_votes');
    /* The poll routes answer 404 without a session, like every active-session route. */
    assert.equal(errMessage(await f.pollsRest(quiet.id), 404, 'GET polls'), noSession(quiet.id));
    assert.equal(errMessage(await f.pollRest(quiet.id, UNKNOWN_MEETING), 404, 'GET polls/{id}'),
        noSession(quiet.id));
});

test('GET polls/{poll_id}: unknown poll → 404', async () => {
    errMessage(await f.pollRest(live.id, UNKNOWN_MEETING), 404, 'unknown poll id');
    errMessage(await f.pollRest(live.id, 'not-a-uuid'), 404, 'malformed poll id');
});

test('question: missing, not a string, empty after trimming or over 1024 characters → 400',
    async () => {
        const bad = [
            {}, { question: null }, { question: 42 }, { question: true }, { question: ['q'] },
            { question: { text: 'q' } }, { question: '' }, { question: ' ' },
            { question: ' \t\n\r ' }, { question: 'x'.repeat(1025) },
            { question: 'é'.repeat(1025) }, { question: '😀'.repeat(1025) },
            { question: ` ${'y'.repeat(1025)} ` },
        ];
        for (const b of bad) {
            const body = { options: ['a', 'b'], ...b };
            if (!('question' in b)) delete body.question;
            await expectRtkError(f.createPollP(live.id, body), 400, 'question');
        }
    });

test('question: 1 and 1024 characters are accepted (characters, not bytes or UTF-16 units)',
    async () => {
        const good = [
            'q', 'x'.repeat(1024), 'é'.repeat(1024), '😀'.repeat(1024), '中'.repeat(1024),
            `  ${'z'.repeat(1024)}  `, ' ? ',
        ];
        for (const q of good) {
            const poll = await f.createPoll(live.id, { question: q, options: ['a'] });
            assert.ok(poll.question === q || poll.question === q.trim(),
                `question stored as ${JSON.stringify(poll.question).slice(0, 80)}`);
            assert.ok([...poll.question].length <= [...q].length);
            const got = okData(await f.pollRest(live.id, poll.id)).poll;
            assert.equal(got.question, poll.question, 'the question round-trips intact');
        }
    });

test('options: missing, not an array, empty, 33 items, a non-string, "" or 257 characters → 400',
    async () => {
        const strs = (n) => Array.from({ length: n }, (_, i) => `option ${i}`);
        const bad = [
            undefined, null, 'a', 1, { 0: 'a' }, [], strs(33), strs(100), [1], ['a', 2],
            ['a', null], ['a', ['b']], ['a', { text: 'b' }], ['a', true], [''], ['a', ''],
            ['x'.repeat(257)], ['a', 'é'.repeat(257)], ['😀'.repeat(257)],
        ];
        for (const o of bad) {
            const body = { question: 'q' };
            if (o !== undefined) body.options = o;
            await expectRtkError(f.createPollP(live.id, body), 400, 'options');
        }
    });

test('options: 1 and 32 options, 1 and 256 characters are accepted, order and text kept',
    async () => {
        const opts32 = Array.from({ length: 32 }, (_, i) => `choice #${i}`);
        const goods = [
            ['a'], opts32, ['x'.repeat(256)], ['é'.repeat(256), '😀'.repeat(256), '中'.repeat(256)],
            ['same', 'same'], [' padded ', 'ü'],
        ];
        for (const options of goods) {
            const poll = await f.createPoll(live.id, { question: 'q', options });
            assert.deepEqual(poll.options.map((o) => o.text), options);
            assert.deepEqual(poll.options.map((o) => o.count), options.map(() => 0));
            const got = okData(await f.pollRest(live.id, poll.id)).poll;
            assert.deepEqual(got.options.map((o) => o.text), options, 'round-trip');
        }
    });

test('anonymous and hide_votes must be booleans → 400 naming the field', async () => {
    for (const field of ['anonymous', 'hide_votes']) {
        for (const v of ['true', 1, 0, 'false', [], {}, 'yes']) {
            await expectRtkError(f.createPollP(live.id, { question: 'q', options: ['a'], [field]: v }),
                400, field);
        }
        for (const v of [true, false]) {
            const poll = await f.createPoll(live.id, { question: 'q', options: ['a'], [field]: v });
            assert.equal(poll[field], v);
        }
    }
});

test('rejected creations create nothing; every accepted one is listed', async () => {
    const m = await f.meeting({ title: 'count room' });
    const p = await f.connect(await f.participant(m.id, 'solo'));
    await expectRtkError(f.createPollP(m.id, { question: '', options: ['a'] }), 400, 'question');
    await expectRtkError(f.createPollP(m.id, { question: 'q', options: [''] }), 400, 'options');
    assert.deepEqual(okData(await f.pollsRest(m.id)).polls, []);
    const a = await f.createPoll(m.id, { question: 'one', options: ['a'] });
    const b = await f.createPoll(m.id, { question: 'two', options: ['b'] });
    const polls = okData(await f.pollsRest(m.id)).polls;
    assert.deepEqual(polls.map((x) => x.id).sort(), [a.id, b.id].sort());
    await p.next((e) => e.type === 'poll.created' && e.poll.id === a.id);
    await p.next((e) => e.type === 'poll.created' && e.poll.id === b.id);
    await p.close();
});
