// SPDX-License-Identifier: MIT
// Rosters (issue 13 item 3, PROTOCOL.md §3a, §4): with show_participant_list a peer gets
// hello.participants (itself included unless hidden) and participants.updated {joined, left},
// coalesced to at most one per second per meeting with the same bytes for every receiver;
// peers without it get neither; hidden participants are counted in live_participants but
// never listed, in a hello or an update, joining or leaving. A lister's copy rebuilt from its
// hello and the updates (joined applied as an upsert: a peer may be in a hello and again in
// the next joined) is the list a fresh hello carries.

import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { test } from '../lib/rtkd.js';
import { presetsFixture } from '../lib/presets.js';
import { assertListed, received } from '../lib/hosts.js';

const COALESCE_MS = 1000;
const SLACK_MS = 150;

let f;

before(async () => {
    f = await presetsFixture();
    await f.preset('nolist', { list: false });
    await f.preset('ghost', { hidden: true, list: true });
});

after(async () => {
    if (f) await f.stop();
});

const updates = (peer) => received(peer, 'participants.updated');
const pid = (peer) => peer.hello.self.peer_id;

/* The next participants.updated at PEER whose joined has peer JOINED / whose left has LEFT. */
const joinedAt = (peer, joined) => peer.next((e) => e.type === 'participants.updated' &&
    e.joined.some((x) => x.peer_id === joined), 4000);
const leftAt = (peer, left) => peer.next((e) => e.type === 'participants.updated' &&
    e.left.includes(left), 4000);

/* Asserts the shape of every participants.updated PEER got, and that they came at most one
 * per COALESCE_MS. */
function assertUpdates(peer) {
    const ups = updates(peer);
    for (const u of ups) {
        assert.deepEqual(Object.keys(u).sort(), ['joined', 'left', 'type'], JSON.stringify(u));
        assert.ok(Array.isArray(u.joined) && Array.isArray(u.left), JSON.stringify(u));
        for (const id of u.left) assert.equal(typeof id, 'string');
    }
    for (let i = 1; i < ups.length; i++) {
        const gap = ups[i].receivedAt - ups[i - 1].receivedAt;
        assert.ok(gap >= COALESCE_MS - SLACK_MS, `${peer.label}: participants.updated ${gap} ms ` +
            `apart (at most one per second): ${JSON.stringify(ups.map((u) => u.receivedAt))}`);
    }
}

/* PEER's roster rebuilt from its hello and updates: peer_id → entry. */
function rebuild(peer) {
    const roster = new Map(peer.hello.participants.map((e) => [e.peer_id, e]));
    for (const u of updates(peer)) {
        for (const e of u.joined) roster.set(e.peer_id, e);
        for (const id of u.left) roster.delete(id);
    }
    return roster;
}

/* Every peer id and participant id mentioned in the roster events PEER received. */
function mentioned(peer) {
    const ids = new Set();
    for (const e of peer.hello.participants ?? []) ids.add(e.peer_id).add(e.participant_id);
    for (const u of updates(peer)) {
        for (const e of u.joined) ids.add(e.peer_id).add(e.participant_id);
        for (const id of u.left) ids.add(id);
    }
    return ids;
}

test('show_participant_list: hello lists itself, updates bring joins and leaves; no list → ' +
    'neither; hidden: counted, never listed', async () => {
    const m = await f.meeting({ title: 'roster' });
    const host = await f.as(m.id, 'ro-host', 'group_call_host', { name: 'Host' });
    const part = await f.as(m.id, 'ro-part', 'group_call_participant',
        { name: 'Part', picture: 'https://example.invalid/p.png' });
    const blind = await f.as(m.id, 'ro-blind', 'nolist');
    const ghost = await f.as(m.id, 'ro-ghost', 'ghost');
    const late = await f.as(m.id, 'ro-late', 'group_call_participant');
    const open = [];
    const conn = async (p) => { const c = await f.connect(p); open.push(c); return c; };
    try {
        const l1 = await conn(host);
        assert.equal(l1.hello.participants.length, 1);
        assertListed(l1.hello.participants[0], host, pid(l1), 'host lists itself');

        const l2 = await conn(part);
        const byPeer = new Map(l2.hello.participants.map((e) => [e.peer_id, e]));
        assert.equal(byPeer.size, 2, JSON.stringify(l2.hello.participants));
        assertListed(byPeer.get(pid(l1)), host, pid(l1), 'the host in l2 hello');
        assertListed(byPeer.get(pid(l2)), part, pid(l2), 'l2 itself');
        const u = await joinedAt(l1, pid(l2));
        assertListed(u.joined.find((e) => e.peer_id === pid(l2)), part, pid(l2), 'joined entry');

        /* Without the permission: no list in hello and no update; it is listed to others. */
        const nb = await conn(blind);
        assert.ok(!('participants' in nb.hello), JSON.stringify(nb.hello));
        await Promise.all([joinedAt(l1, pid(nb)), joinedAt(l2, pid(nb))]);

        /* Hidden: counted, sees the others but not itself, never listed. */
        const g = await conn(ghost);
        assert.deepEqual(g.hello.participants.map((e) => e.peer_id).sort(),
            [pid(l1), pid(l2), pid(nb)].sort(), 'a hidden lister sees the others, not itself');
        assert.equal((await f.active(m.id)).live_participants, 4, 'the hidden peer is counted');
        const pl = await conn(late);
        /* l1 and l2 have had the update with the late joiner: a hidden join would be in it or
         * before it. */
        await Promise.all([joinedAt(l1, pid(pl)), joinedAt(l2, pid(pl))]);
        assert.deepEqual(pl.hello.participants.map((e) => e.peer_id).sort(),
            [pid(l1), pid(l2), pid(nb), pid(pl)].sort(), 'a fresh hello: every listed live peer');

        /* Leaves: the hidden peer's never shows; the blind one's does. */
        await g.close();
        await nb.close();
        await Promise.all([leftAt(l1, pid(nb)), leftAt(l2, pid(nb))]);
        await pl.close();
        await Promise.all([leftAt(l1, pid(pl)), leftAt(l2, pid(pl))]);
        assert.equal((await f.active(m.id)).live_participants, 2);

        for (const l of [l1, l2, pl]) {
            const ids = mentioned(l);
            assert.ok(!ids.has(pid(g)) && !ids.has(ghost.id),
                `${l.label}: the hidden participant was listed: ${JSON.stringify(l.all)}`);
        }
        assert.deepEqual(updates(nb), [], 'no participants.updated without the permission');
        assert.deepEqual(updates(g).flatMap((x) => x.joined).filter((e) => e.peer_id === pid(g)),
            [], 'not even to itself');
        for (const l of [l1, l2]) assertUpdates(l);
        /* The copies rebuilt from hello + updates are the live listed peers. */
        for (const l of [l1, l2]) {
            assert.deepEqual([...rebuild(l).keys()].sort(), [pid(l1), pid(l2)].sort(),
                `${l.label}: rebuilt roster`);
        }
        /* Every update l2 got, l1 got with the same bytes. */
        const l1Texts = updates(l1).map((x) => x.rawText);
        for (const x of updates(l2)) {
            assert.ok(l1Texts.includes(x.rawText), `l2 got an update l1 did not: ${x.rawText}`);
        }
    } finally {
        await Promise.all(open.map((p) => p.close()));
    }
});

test('a burst of joins and leaves: at most one participants.updated per second, the same bytes ' +
    'for every lister, hidden peers counted and never listed', async () => {
    const m = await f.meeting({ title: 'roster burst' });
    const listers = await Promise.all([0, 1, 2].map((i) =>
        f.as(m.id, `rb-l${i}`, i === 0 ? 'group_call_host' : 'group_call_participant')));
    const crowd = await Promise.all(Array.from({ length: 10 }, (_, i) =>
        f.as(m.id, `rb-c${i}`, 'group_call_participant')));
    const ghosts = await Promise.all([0, 1].map((i) => f.as(m.id, `rb-g${i}`, 'ghost')));
    const open = [];
    try {
        const ls = [];
        for (const l of listers) {
            const p = await f.connect(l);
            open.push(p);
            ls.push(p);
        }
        /* The last lister's join has reached every earlier lister. */
        await Promise.all(ls.slice(0, 2).map((l) => joinedAt(l, pid(ls[2]))));
        const t0 = Date.now();
        const cps = await Promise.all([...crowd, ...ghosts].map((p) => f.connect(p)));
        open.push(...cps);
        const cs = cps.slice(0, 10);
        const gs = cps.slice(10);
        assert.equal((await f.active(m.id)).live_participants, 15, 'hidden peers are counted');
        /* Every lister learns of all ten. */
        const crowdIds = new Set(cs.map(pid));
        await Promise.all(ls.map((l) => l.waitUntil(() => {
            const seen = new Set(updates(l).flatMap((u) => u.joined.map((e) => e.peer_id)));
            return [...crowdIds].every((id) => seen.has(id)) ? true : undefined;
        }, 5000, 'every crowd join')));
        await Promise.all(cs.map((p) => p.close()));
        await Promise.all(ls.map((l) => l.waitUntil(() => {
            const gone = new Set(updates(l).flatMap((u) => u.left));
            return [...crowdIds].every((id) => gone.has(id)) ? true : undefined;
        }, 5000, 'every crowd leave')));
        const elapsed = Date.now() - t0;

        /* The updates about the crowd: the same frames, in the same order, at every lister. */
        const about = (l) => updates(l).filter((u) => u.joined.some((e) => crowdIds.has(e.peer_id)) ||
            u.left.some((id) => crowdIds.has(id))).map((u) => u.rawText);
        const ref = about(ls[0]);
        assert.ok(ref.length >= 2, `joins and leaves in ${ref.length} update(s)`);
        assert.ok(ref.length <= Math.ceil(elapsed / (COALESCE_MS - SLACK_MS)) + 1,
            `${ref.length} updates in ${elapsed} ms: coalesced to one per second?`);
        for (const l of ls.slice(1)) assert.deepEqual(about(l), ref, `${l.label}: the same bytes`);
        for (const l of ls) {
            assertUpdates(l);
            const ids = mentioned(l);
            for (const g of gs) assert.ok(!ids.has(pid(g)), `${l.label}: a hidden peer was listed`);
            for (const g of ghosts) assert.ok(!ids.has(g.id), `${l.label}: a hidden participant`);
            assert.deepEqual([...rebuild(l).keys()].sort(), ls.map(pid).sort(),
                `${l.label}: rebuilt roster`);
        }
        assert.equal((await f.active(m.id)).live_participants, 5);
    } finally {
        await Promise.all(open.map((p) => p.close()));
    }
});
