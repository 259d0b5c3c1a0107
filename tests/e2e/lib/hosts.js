// SPDX-License-Identifier: MIT
// Host actions and waiting-room helpers for the protocol 2 tests (PROTOCOL.md §3a, §4, §5):
// send a message with a fresh ref and take the reply that carries it, assert `done` and
// `forbidden`, and the shapes of listed and waiting peers.

import assert from 'node:assert/strict';
import { newRef } from './polls.js';

export const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/* Sends MSG with a fresh ref; resolves {ev, ref} with the first event carrying that ref. */
export async function ask(peer, msg, ms) {
    const ref = newRef('ask');
    peer.send({ ...msg, ref });
    const ev = await peer.next((e) => e.ref === ref, ms);
    return { ev, ref };
}

/* Asserts MSG from PEER gets `error` CODE (default forbidden) with its ref; returns it. */
export async function refusedWith(peer, msg, code = 'forbidden') {
    const { ev, ref } = await ask(peer, msg);
    assert.equal(ev.type, 'error', `${peer.label}: ${JSON.stringify(msg)} → ${JSON.stringify(ev)}`);
    assert.equal(ev.code, code, `${peer.label}: ${JSON.stringify(msg)} → ${JSON.stringify(ev)}`);
    assert.equal(ev.ref, ref);
    assert.equal(typeof ev.message, 'string');
    assert.ok(ev.message.length > 0);
    return ev;
}

/*
 * Sends host action MSG and asserts `done` {type, ref, action: ACTION, participants} with
 * exactly the participant ids IDS (in any order); returns the done event.
 */
export async function doneWith(peer, msg, action, ids) {
    const { ev, ref } = await ask(peer, msg);
    assert.equal(ev.type, 'done', `${peer.label}: ${JSON.stringify(msg)} → ${JSON.stringify(ev)}`);
    assert.deepEqual(Object.keys(ev).sort(), ['action', 'participants', 'ref', 'type'],
        JSON.stringify(ev));
    assert.equal(ev.ref, ref);
    assert.equal(ev.action, action, JSON.stringify(ev));
    assert.ok(Array.isArray(ev.participants), JSON.stringify(ev));
    assert.deepEqual([...ev.participants].sort(), [...ids].sort(),
        `${action}: participants acted on in ${JSON.stringify(ev)}`);
    assert.equal(new Set(ev.participants).size, ev.participants.length, 'each id once');
    return ev;
}

/* A listed peer (PROTOCOL.md §4) of participant PART with peer id PEERID. */
export function assertListed(entry, part, peerId, what = 'listed peer') {
    assert.deepEqual(Object.keys(entry).sort(), ['custom_participant_id', 'joined_at', 'name',
        'participant_id', 'peer_id', 'picture', 'preset_name'], `${what}: ${JSON.stringify(entry)}`);
    assert.deepEqual({ ...entry, joined_at: undefined }, {
        peer_id: peerId, participant_id: part.id, custom_participant_id: part.custom_participant_id,
        name: part.name, picture: part.picture ?? null, preset_name: part.preset_name,
        joined_at: undefined,
    }, what);
    assert.match(entry.joined_at, ISO, `${what}: joined_at`);
}

/* A waiting peer (PROTOCOL.md §4): a listed peer with waiting_since instead of joined_at. */
export function assertWaitingEntry(entry, part, peerId, what = 'waiting peer') {
    assert.deepEqual(Object.keys(entry).sort(), ['custom_participant_id', 'name', 'participant_id',
        'peer_id', 'picture', 'preset_name', 'waiting_since'], `${what}: ${JSON.stringify(entry)}`);
    assert.deepEqual({ ...entry, waiting_since: undefined }, {
        peer_id: peerId, participant_id: part.id, custom_participant_id: part.custom_participant_id,
        name: part.name, picture: part.picture ?? null, preset_name: part.preset_name,
        waiting_since: undefined,
    }, what);
    assert.match(entry.waiting_since, ISO, `${what}: waiting_since`);
}

/* The keys of a waiting peer's hello (PROTOCOL.md §3a: session, polls, participants and
 * waiting omitted). */
export const WAITING_HELLO_KEYS = ['heartbeat_ms', 'protocol', 'self', 'state', 'type'];

/* Asserts HELLO is a waiting hello for participant PART. */
export function assertWaitingHello(hello, part, what = 'waiting hello') {
    assert.deepEqual(Object.keys(hello).sort(), WAITING_HELLO_KEYS, `${what}: ${JSON.stringify(hello)}`);
    assert.equal(hello.type, 'hello');
    assert.equal(hello.protocol, 2);
    assert.equal(hello.state, 'waiting');
    assert.equal(hello.self.participant_id, part.id, what);
    assert.equal(hello.self.preset_name, part.preset_name, what);
    assert.equal(typeof hello.self.permissions, 'object', what);
}

/* Events of TYPE that PEER has received so far. */
export const received = (peer, type) => peer.all.filter((e) => e.type === type);

/* A UUID no participant has. */
export const NOBODY = '0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d';
