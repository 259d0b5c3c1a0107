// SPDX-License-Identifier: MIT
// A broadcast to more peers than RTK_SENDPOOL_MIN (256) leaves in one batch that the loop
// thread and its send helper (--send-threads, docs/design.md "Sending from more than one
// core") share: each peer still gets every frame once and in order, a vote burst's replies
// and updates arrive whole, and a kick-all's kicked + close frames (written in the batch, the
// close after them) reach every peer. Also the flag's checks.

import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { test, cli, http } from '../lib/rtkd.js';
import { CLOSE } from '../lib/peer.js';
import { pollsFixture, sendVote, reply, PollModel, ClientPoll } from '../lib/polls.js';

const PEERS = 320;

let f;
let meeting;
let parts;
let peers;

before(async () => {
    f = await pollsFixture({ args: ['--handshake-rate', '0', '--api-rate-limit', '0',
        '--send-threads', '1', '--metrics-token', 'batch-metrics'] });
    meeting = await f.meeting({ title: 'batch' });
    parts = await f.participants(meeting.id, PEERS, 'b');
    peers = [];
    for (let i = 0; i < PEERS; i += 40) peers.push(...await f.connectAll(parts.slice(i, i + 40)));
});

after(async () => {
    if (peers) await Promise.all(peers.map((p) => p.close()));
    if (f) await f.stop();
});

/* rtkd_ws_batch_sends_total by thread: {loop, helper}. */
async function batchSends() {
    const r = await http(f.srv, 'GET', '/metrics', { token: 'batch-metrics' });
    assert.equal(r.status, 200, r.text);
    const get = (t) => Number((r.text.match(new RegExp(
        `^rtkd_ws_batch_sends_total\\{thread="${t}"\\} (\\d+)$`, 'm')) ?? [])[1]);
    return { loop: get('loop'), helper: get('helper') };
}

const ofPoll = (peer, id) => peer.all.filter((e) => (e.type === 'poll.created' &&
    e.poll.id === id) || ((e.type === 'poll.updated' || e.type === 'poll.voted') &&
    e.poll_id === id));

test(`a poll to ${PEERS} peers: one poll.created each, the same bytes, after the hello`, async () => {
    const m0 = await batchSends();
    const polls = [];
    for (let k = 0; k < 3; k++) {
        polls.push(await f.createPoll(meeting.id, { question: `batch ${k}?`,
            options: ['a', 'b', 'c'] }));
    }
    await Promise.all(peers.map((p) => p.waitUntil(() => (polls.every((poll) =>
        p.all.some((e) => e.type === 'poll.created' && e.poll.id === poll.id)) ? true : undefined),
    8000, 'every poll.created')));
    for (const poll of polls) {
        const texts = new Set();
        for (const p of peers) {
            const got = p.all.filter((e) => e.type === 'poll.created' && e.poll.id === poll.id);
            assert.equal(got.length, 1, `${p.label}: ${got.length} poll.created of ${poll.id}`);
            texts.add(got[0].rawText);
        }
        assert.equal(texts.size, 1, `${poll.id}: ${texts.size} different texts`);
    }
    for (const p of peers) {
        assert.equal(p.all[0].type, 'hello', p.label);
        /* in the order they were created */
        const order = p.all.filter((e) => e.type === 'poll.created').map((e) => e.poll.id);
        assert.deepEqual(order.slice(-3), polls.map((x) => x.id), p.label);
    }
    /* They went out in batches, and the helper sent part of them. */
    const m1 = await batchSends();
    assert.ok(m1.loop + m1.helper - m0.loop - m0.helper >= 3 * PEERS, JSON.stringify([m0, m1]));
    assert.ok(m1.helper > m0.helper, JSON.stringify([m0, m1]));
});

test(`${PEERS} votes at once: every reply carries its ref, every copy ends at the REST tallies`,
    async () => {
        const poll = await f.createPoll(meeting.id, { question: 'burst?', options: ['x', 'y', 'z'] });
        await Promise.all(peers.map((p) => p.next((e) => e.type === 'poll.created' &&
            e.poll.id === poll.id, 8000)));
        const model = new PollModel(poll, f.tokenId);
        const refs = peers.map((p, i) => sendVote(p, poll.id, i % 3, `burst-${i}`));
        const acks = await Promise.all(peers.map((p, i) => reply(p, refs[i], 10000)));
        acks.forEach((a, i) => {
            assert.equal(a.type, 'poll.voted', `${i}: ${JSON.stringify(a)}`);
            assert.equal(a.my_vote, i % 3);
            model.add(parts[i], i % 3);
        });
        const want = model.counts();
        await Promise.all(peers.map((p) => p.waitUntil(() => (p.all.some((e) =>
            e.type === 'poll.updated' && e.poll_id === poll.id && e.total_votes === PEERS)
            ? true : undefined), 8000, 'the last poll.updated')));
        for (const p of peers) {
            const evs = ofPoll(p, poll.id);
            assert.equal(evs[0].type, 'poll.created', p.label);
            const copy = new ClientPoll(evs[0].poll);
            for (const e of evs.slice(1)) copy.apply(e);
            assert.deepEqual(copy.counts(), want, p.label);
        }
    });

test(`kick-all of ${PEERS}: each peer's last message is kicked, then close 4001`, async () => {
    const m0 = await batchSends();
    const res = await f.kickAll(meeting.id);
    assert.deepEqual(res, { action: 'kick_all', kicked_participants_count: PEERS });
    const closes = await Promise.all(peers.map((p) => p.closed()));
    closes.forEach((c, i) => {
        assert.equal(c.code, CLOSE.KICKED, `${peers[i].label}: ${JSON.stringify(c)}`);
        const last = peers[i].all[peers[i].all.length - 1];
        assert.deepEqual(last, { type: 'kicked', reason: 'kick_all' }, peers[i].label);
    });
    const m1 = await batchSends();
    assert.ok(m1.loop + m1.helper - m0.loop - m0.helper >= PEERS, JSON.stringify([m0, m1]));
    const s = await f.activeP(meeting.id).catch((e) => e);
    assert.ok(s instanceof Error || s.data?.live_participants === 0, 'the session ended');
});

test('--send-threads takes 0 to 16', async () => {
    for (const bad of ['17', '-1', 'two', '']) {
        const r = await cli(['serve', '--listen', '127.0.0.1:0', '--data', f.dataDir,
            '--send-threads', bad]);
        assert.equal(r.code, 2, `${bad}: ${JSON.stringify(r)}`);
        assert.match(r.stderr, /--send-threads takes a whole number from 0 to 16/);
    }
});
