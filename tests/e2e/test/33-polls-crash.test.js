// SPDX-License-Identifier: MIT
// Durable votes (issue 4 item 5, PROTOCOL.md §3-§4): every vote that got poll.voted survives
// kill -9. After a restart on the same data folder, peers that reconnect within the keep-alive
// window continue the same session, and their hello, the REST routes and already_voted all
// agree with what was acknowledged before the crash.

import assert from 'node:assert/strict';
import { after } from 'node:test';
import { test } from '../lib/rtkd.js';
import {
    pollsFixture, PollModel, assertRest, assertViewer, assertVoted, okData, helloPoll, sendVote,
    reply, voteOk, voteErr,
} from '../lib/polls.js';

const N = 12;

let f;

after(async () => {
    if (f) await f.stop();
});

test('kill -9 after acknowledged votes: restart, reconnect, every acknowledged vote counted',
    async () => {
        f = await pollsFixture();
        const meeting = await f.meeting({ title: 'crash' });
        const parts = await f.participants(meeting.id, N, 'c');
        let peers = await f.connectAll(parts);
        const sid = peers[0].hello.session.id;

        const p1 = await f.createPoll(meeting.id, { question: 'Survive?', options: ['yes', 'no'] });
        const p2 = await f.createPoll(meeting.id, {
            question: 'Hidden?', options: ['a', 'b', 'c'], hide_votes: true,
        });
        const p3 = await f.createPoll(meeting.id, { question: 'In flight?', options: ['u', 'v'] });
        const m1 = new PollModel(p1, f.tokenId);
        const m2 = new PollModel(p2, f.tokenId);
        await Promise.all(peers.map((p) => p.next((e) => e.type === 'poll.created' &&
            e.poll.id === p3.id)));

        /* Every peer votes on p1 and half on p2, all in a burst; wait for every poll.voted. */
        const refs1 = peers.map((p, i) => sendVote(p, p1.id, i % 2));
        const refs2 = peers.slice(0, N / 2).map((p, i) => sendVote(p, p2.id, i % 3));
        const acks1 = await Promise.all(peers.map((p, i) => reply(p, refs1[i])));
        const acks2 = await Promise.all(peers.slice(0, N / 2).map((p, i) => reply(p, refs2[i])));
        for (const a of [...acks1, ...acks2]) assert.equal(a.type, 'poll.voted', JSON.stringify(a));
        parts.forEach((part, i) => m1.add(part, i % 2));
        parts.slice(0, N / 2).forEach((part, i) => m2.add(part, i % 3));

        /* p3: every peer votes; the server is killed as soon as the first poll.voted arrives. A
         * vote acknowledged at any point must survive; the others may or may not. */
        const acked3 = new Set();
        let killed = null;
        peers.forEach((p, i) => {
            p.ws.on('message', (data) => {
                let ev;
                try {
                    ev = JSON.parse(data.toString('utf8'));
                } catch {
                    return;
                }
                if (ev.type !== 'poll.voted' || ev.poll_id !== p3.id) return; /* protocol 2 */
                acked3.add(parts[i].id);
                if (!killed) killed = f.srv.kill();
            });
        });
        peers.forEach((p, i) => sendVote(p, p3.id, i % 2, `p3-${i}`));
        await Promise.all(peers.map((p) => p.closed(10000)));
        assert.ok(killed, 'no poll.voted for p3 arrived before the connections dropped');
        await killed;
        assert.ok(acked3.size >= 1);

        /* Restart on the same folder (the server is already dead: restart's kill is a no-op);
         * reconnect within the keep-alive window (60 s by default). */
        await f.restart({ kill: true });
        peers = await f.connectAll(parts);
        for (const [i, p] of peers.entries()) {
            assert.equal(p.hello.session.id, sid, `${p.label}: the same session continues`);
            assert.deepEqual(p.hello.polls.map((x) => x.id), [p1.id, p2.id, p3.id],
                `${p.label}: the session's polls after the restart`);
            assertViewer(helloPoll(p.hello, p1.id), m1, parts[i].id, `${p.label} hello p1`);
            assertViewer(helloPoll(p.hello, p2.id), m2, parts[i].id, `${p.label} hello p2`);
        }
        assert.equal((await f.active(meeting.id)).id, sid);

        /* p3 holds every acknowledged vote, and only votes that were sent. */
        const rest3 = okData(await f.pollRest(meeting.id, p3.id)).poll;
        const stored = new Set(rest3.voted);
        for (const id of acked3) {
            assert.ok(stored.has(id), `acknowledged vote of ${id} lost in the crash: ` +
                `acked ${[...acked3]}, stored ${[...stored]}`);
        }
        const m3 = new PollModel(p3, f.tokenId);
        parts.forEach((part, i) => { if (stored.has(part.id)) m3.add(part, i % 2); });
        assert.equal(stored.size, m3.votes.length, `unknown voters in ${JSON.stringify(rest3)}`);
        assertRest(rest3, m3, 'p3 after the crash');
        peers.forEach((p, i) => assertViewer(helloPoll(p.hello, p3.id), m3, parts[i].id,
            `${p.label} hello p3`));

        /* REST agrees with the hellos. */
        const list = okData(await f.pollsRest(meeting.id)).polls;
        assert.deepEqual(list.map((x) => x.id), [p1.id, p2.id, p3.id]);
        assertRest(list[0], m1, 'p1 after the crash');
        assertRest(list[1], m2, 'p2 after the crash');
        assertRest(list[2], m3, 'p3 after the crash (list)');
        assertRest(okData(await f.sessionPolls(sid)).polls[0], m1, 'session history p1');

        /* Votes are still one per participant; the rest can still vote. */
        await Promise.all(peers.map((p) => voteErr(p, p1.id, 0, 'already_voted')));
        for (let i = 0; i < N; i++) {
            if (i < N / 2) {
                await voteErr(peers[i], p2.id, 2, 'already_voted');
            } else {
                const v = await voteOk(peers[i], p2.id, 2);
                m2.add(parts[i], 2);
                assertVoted(v, m2, parts[i].id, `p2 vote after the restart #${i}`);
            }
            if (stored.has(parts[i].id)) {
                await voteErr(peers[i], p3.id, 0, 'already_voted');
            } else {
                const v = await voteOk(peers[i], p3.id, i % 2);
                m3.add(parts[i], i % 2);
                assertVoted(v, m3, parts[i].id, `p3 vote after the restart #${i}`);
            }
        }
        assertRest(okData(await f.pollRest(meeting.id, p1.id)).poll, m1, 'p1 unchanged');
        assertRest(okData(await f.pollRest(meeting.id, p2.id)).poll, m2, 'p2 complete');
        assertRest(okData(await f.pollRest(meeting.id, p3.id)).poll, m3, 'p3 complete');
        await Promise.all(peers.map((p) => p.close()));
    });
