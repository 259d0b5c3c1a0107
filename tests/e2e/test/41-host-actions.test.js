// SPDX-License-Identifier: MIT
// Host actions from the channel (issue 13 item 3, PROTOCOL.md §3, §3a, §4, §5): with
// kick_participant, participant.kick (by participant and custom ids) → done listing those that
// had a peer, the kicked peer gets kicked + 4001 and every named participant is refused (403)
// for the rest of the session; an unknown id → not_found and nobody kicked; session.kick_all →
// done before the sender's own kicked, everyone closed 4001, the session ended (REST 404);
// without kick_participant both are forbidden and change nothing.

import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { test, expectRtkError } from '../lib/rtkd.js';
import { expectRefused, CLOSE } from '../lib/peer.js';
import { presetsFixture } from '../lib/presets.js';
import { doneWith, refusedWith, received, NOBODY } from '../lib/hosts.js';

let f;

before(async () => {
    f = await presetsFixture();
});

after(async () => {
    if (f) await f.stop();
});

/* Asserts PEER got exactly one `kicked` {reason: REASON} and was closed 4001. */
async function assertKicked(peer, reason) {
    const closed = await peer.closed();
    assert.equal(closed.code, CLOSE.KICKED, `${peer.label}: close ${JSON.stringify(closed)}`);
    const k = received(peer, 'kicked');
    assert.deepEqual(k, [{ type: 'kicked', reason }], `${peer.label}: ${JSON.stringify(peer.all)}`);
}

test('participant.kick by participant and custom ids: done lists those with a peer; kicked + 4001; ' +
    'every named participant refused (403) for the session', async () => {
    const m = await f.meeting({ title: 'kick' });
    const host = await f.as(m.id, 'hk-host', 'group_call_host');
    const [a, b, c, away] = await Promise.all(['hk-a', 'hk-b', 'hk-c', 'hk-away']
        .map((id) => f.as(m.id, id, 'group_call_participant')));
    const [ph, pa, pb, pc] = await Promise.all([host, a, b, c].map((p) => f.connect(p)));
    try {
        const sid = ph.hello.session.id;
        /* a by id and `away` (no peer) by custom id: done lists a only. */
        await doneWith(ph, { type: 'participant.kick', participant_ids: [a.id],
            custom_participant_ids: ['hk-away'] }, 'kick', [a.id]);
        await assertKicked(pa, 'kicked');
        /* The others stay. */
        await Promise.all([ph.ping(), pb.ping(), pc.ping()]);
        assert.equal((await f.active(m.id)).live_participants, 3);
        /* Both are refused for the rest of this session. */
        await expectRefused(f.srv, a.token, 403);
        await expectRefused(f.srv, away.token, 403);

        /* b by custom id, c by id and named twice: each listed once. */
        await doneWith(ph, { type: 'participant.kick', participant_ids: [c.id, c.id],
            custom_participant_ids: ['hk-b', 'hk-c'] }, 'kick', [b.id, c.id]);
        await Promise.all([assertKicked(pb, 'kicked'), assertKicked(pc, 'kicked')]);
        await expectRefused(f.srv, b.token, 403);
        await ph.ping();
        const s = await f.active(m.id);
        assert.equal(s.id, sid, 'a kick does not end the session');
        assert.equal(s.live_participants, 1);
        /* The host got no kicked. */
        assert.deepEqual(received(ph, 'kicked'), []);
    } finally {
        await Promise.all([ph, pa, pb, pc].map((p) => p.close()));
    }
});

test('participant.kick: an unknown id or one of another meeting → not_found, nobody kicked',
    async () => {
        const m = await f.meeting({ title: 'kick unknown' });
        const elsewhere = await f.meeting({ title: 'kick elsewhere' });
        const host = await f.as(m.id, 'hu-host', 'group_call_host');
        const a = await f.as(m.id, 'hu-a', 'group_call_participant');
        const stranger = await f.as(elsewhere.id, 'hu-stranger', 'group_call_participant');
        const [ph, pa] = await Promise.all([f.connect(host), f.connect(a)]);
        try {
            for (const msg of [
                { participant_ids: [a.id, NOBODY] },
                { participant_ids: [a.id], custom_participant_ids: ['nobody-here'] },
                { participant_ids: [stranger.id, a.id] },
            ]) {
                await refusedWith(ph, { type: 'participant.kick', ...msg }, 'not_found');
            }
            await pa.ping();
            assert.deepEqual(received(pa, 'kicked'), []);
            assert.equal(pa.closeInfo, null);
            assert.equal((await f.active(m.id)).live_participants, 2);
            /* a was not barred: a new connection replaces its peer. */
            const pa2 = await f.connect(a);
            assert.equal((await pa.closed()).code, CLOSE.REPLACED);
            await pa2.close();
        } finally {
            await Promise.all([ph, pa].map((p) => p.close()));
        }
    });

test('without kick_participant: participant.kick and session.kick_all → forbidden, nothing done',
    async () => {
        const m = await f.meeting({ title: 'no kick' });
        const [a, b] = await Promise.all(['nk-a', 'nk-b']
            .map((id) => f.as(m.id, id, 'group_call_participant')));
        const [pa, pb] = await Promise.all([f.connect(a), f.connect(b)]);
        try {
            const sid = pa.hello.session.id;
            await refusedWith(pa, { type: 'participant.kick', participant_ids: [b.id] });
            await refusedWith(pa, { type: 'participant.kick', custom_participant_ids: ['nk-b'] });
            await refusedWith(pa, { type: 'session.kick_all' });
            await pb.ping();
            assert.deepEqual([...received(pa, 'kicked'), ...received(pb, 'kicked')], []);
            const s = await f.active(m.id);
            assert.equal(s.id, sid);
            assert.equal(s.live_participants, 2);
        } finally {
            await Promise.all([pa, pb].map((p) => p.close()));
        }
    });

test('session.kick_all: done (every participant, the sender too) before the sender\'s kicked; ' +
    'all closed 4001; the session ended', async () => {
    const m = await f.meeting({ title: 'kick all' });
    const host = await f.as(m.id, 'ka-host', 'group_call_host');
    const parts = await Promise.all(['ka-a', 'ka-b', 'ka-c']
        .map((id) => f.as(m.id, id, 'group_call_participant')));
    const ph = await f.connect(host);
    const peers = await Promise.all(parts.map((p) => f.connect(p)));
    const sid = ph.hello.session.id;
    try {
        await doneWith(ph, { type: 'session.kick_all' }, 'kick_all',
            [host.id, ...parts.map((p) => p.id)]);
        await Promise.all([ph, ...peers].map((p) => assertKicked(p, 'kick_all')));
        const iDone = ph.all.findIndex((e) => e.type === 'done');
        const iKicked = ph.all.findIndex((e) => e.type === 'kicked');
        assert.ok(iDone >= 0 && iDone < iKicked, `done before kicked: ${JSON.stringify(ph.all)}`);
        /* Ended at once, no keep-alive. */
        const e = await expectRtkError(f.activeP(m.id), 404);
        assert.match(e.error.error.message, /No active session/);
        assert.equal((await f.session(sid)).status, 'ENDED');
        /* The next join starts the meeting's next session. */
        const again = await f.connect(parts[0]);
        assert.notEqual(again.hello.session.id, sid);
        await again.close();
    } finally {
        await Promise.all([ph, ...peers].map((p) => p.close()));
    }
});
