// SPDX-License-Identifier: MIT
// The waiting room (issue 13 item 3, PROTOCOL.md §3a, §4, §5, §7), each mode: SKIP joins at
// once; ON_PRIVILEGED_USER_ENTRY (webinar_viewer) gets hello {state:"waiting"} without session,
// polls, participants or waiting, is not counted, may only ping (anything else → forbidden),
// and when admitted gets `admitted` with hello's fields and is counted; it waits again on its
// next join; refused → `refused`, close 4004, then 403 at the handshake for the rest of the
// session; SKIP_ON_ACCEPT waits until admitted once per session. Hosts (accept_waiting_requests)
// get hello.waiting and waiting.updated, and admit/refuse with done listing those acted on
// (ids not waiting left out). A waiting peer starts no session, is closed 4004 when the
// session ends (kick-all), and 4001 when a kick names it.

import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { test, expectRtkError } from '../lib/rtkd.js';
import { expectRefused, CLOSE } from '../lib/peer.js';
import { PollModel, assertViewer, helloPoll, voteOk } from '../lib/polls.js';
import { presetsFixture } from '../lib/presets.js';
import {
    ask, doneWith, refusedWith, assertWaitingHello, assertWaitingEntry, NOBODY,
} from '../lib/hosts.js';

let f;

before(async () => {
    f = await presetsFixture();
    await f.preset('once', { wait: 'SKIP_ON_ACCEPT', list: false });
});

after(async () => {
    if (f) await f.stop();
});

/* The next waiting.updated at HOST that PRED accepts. */
const waitingUpdate = (host, pred) => host.next((e) => e.type === 'waiting.updated' && pred(e));
const joinedHas = (peerId) => (e) => e.joined.some((w) => w.peer_id === peerId);
const leftHas = (peerId) => (e) => e.left.includes(peerId);

/* The keys of hello/admitted for a webinar_viewer (no list, no waiting room powers). */
const VIEWER_HELLO_KEYS = ['heartbeat_ms', 'polls', 'protocol', 'self', 'session', 'state', 'type'];

test('ON_PRIVILEGED_USER_ENTRY: waits uncounted, may only ping; admitted → admitted with ' +
    'hello\'s fields, counted; waits again on its next join', async () => {
    const m = await f.meeting({ title: 'webinar' });
    const host = await f.as(m.id, 'wr-host', 'group_call_host');
    const viewer = await f.as(m.id, 'wr-viewer', 'webinar_viewer', { name: 'Vera' });
    const plain = await f.as(m.id, 'wr-plain', 'group_call_participant');
    const ph = await f.connect(host);
    const pp = await f.connect(plain); /* SKIP: joins at once */
    assert.equal(pp.hello.state, 'joined');
    const sid = ph.hello.session.id;
    const poll = await f.createPoll(m.id, { question: 'Seen?', options: ['y', 'n'] });
    const model = new PollModel(poll, f.tokenId);
    const pw = await f.connect(viewer);
    let pw2;
    try {
        assertWaitingHello(pw.hello, viewer);
        assert.equal(pw.hello.self.permissions.waiting_room_type, 'ON_PRIVILEGED_USER_ENTRY');
        /* The host hears of it; so does a host that joins now, in its hello. */
        const wu = await waitingUpdate(ph, joinedHas(pw.hello.self.peer_id));
        assert.deepEqual(wu.left, []);
        assert.equal(wu.joined.length, 1, JSON.stringify(wu));
        assertWaitingEntry(wu.joined[0], viewer, pw.hello.self.peer_id, 'waiting.updated joined');
        const host2 = await f.as(m.id, 'wr-host2', 'group_call_host');
        const ph2 = await f.connect(host2);
        assert.equal(ph2.hello.waiting.length, 1, JSON.stringify(ph2.hello.waiting));
        assertWaitingEntry(ph2.hello.waiting[0], viewer, pw.hello.self.peer_id, 'hello.waiting');
        /* Not counted, not listed. */
        const s = await f.active(m.id);
        assert.equal(s.live_participants, 3, 'host, plain and host2; the waiting peer is not counted');
        assert.ok(!ph2.hello.participants.some((p) => p.participant_id === viewer.id),
            'a waiting peer is not a listed peer');

        /* Only ping. */
        await pw.ping();
        await refusedWith(pw, { type: 'poll.vote', poll_id: poll.id, option: 0 });
        await refusedWith(pw, { type: 'poll.create', question: 'q', options: ['a'] });
        await refusedWith(pw, { type: 'participant.kick', participant_ids: [plain.id] });
        await refusedWith(pw, { type: 'session.kick_all' });
        await refusedWith(pw, { type: 'waiting.admit', participant_ids: [viewer.id] });
        /* It takes part in nothing: no poll.created, session.updated, participants.updated. */
        await f.createPoll(m.id, { question: 'Unseen?', options: ['a'] });
        await pp.next('poll.created');
        await pw.ping();
        assert.deepEqual(pw.all.map((e) => e.type).filter((t) => t !== 'pong' && t !== 'error'),
            ['hello'], `a waiting peer gets nothing but replies: ${JSON.stringify(pw.all)}`);
        assert.equal(pp.closeInfo, null);

        /* Without accept_waiting_requests: no hello.waiting, no waiting.updated, and neither
         * admit nor refuse. */
        assert.ok(!('waiting' in pp.hello), JSON.stringify(pp.hello));
        await refusedWith(pp, { type: 'waiting.admit', participant_ids: [viewer.id] });
        await refusedWith(pp, { type: 'waiting.refuse', participant_ids: [viewer.id] });
        assert.deepEqual(pp.all.filter((e) => e.type === 'waiting.updated'), []);
        assert.equal(pw.closeInfo, null, 'still waiting');

        /* Admitted (an id that is not waiting is left out of done). */
        await doneWith(ph, { type: 'waiting.admit', participant_ids: [viewer.id, plain.id, NOBODY] },
            'admit', [viewer.id]);
        const adm = await pw.next('admitted');
        assert.deepEqual(Object.keys(adm).sort(), VIEWER_HELLO_KEYS, JSON.stringify(adm));
        assert.equal(adm.type, 'admitted');
        assert.equal(adm.state, 'joined');
        assert.equal(adm.protocol, 2);
        assert.equal(adm.heartbeat_ms, pw.hello.heartbeat_ms);
        assert.deepEqual(adm.self, pw.hello.self);
        assert.equal(adm.session.id, sid);
        assert.equal(adm.session.live_participants, 4);
        assert.equal(adm.polls.length, 2);
        assertViewer(helloPoll(adm, poll.id), model, viewer.id, 'admitted poll');
        /* Both hosts see it leave the waiting room. */
        for (const h of [ph, ph2]) await waitingUpdate(h, leftHas(pw.hello.self.peer_id));
        assert.equal((await f.active(m.id)).live_participants, 4, 'counted once admitted');
        /* It joined exactly as if it had just connected: it votes. */
        await voteOk(pw, poll.id, 1);

        /* Its next join waits again (the mode, not the session, decides). */
        await pw.close();
        pw2 = await f.connect(viewer);
        assertWaitingHello(pw2.hello, viewer, 'second join');
        assert.equal((await f.active(m.id)).live_participants, 3);
        await ph2.close();
    } finally {
        await Promise.all([ph, pp, pw, pw2].filter(Boolean).map((p) => p.close()));
    }
});

test('refused → refused, close 4004, then 403 for the rest of the session; the next session ' +
    'lets it wait again', async () => {
    const m = await f.meeting({ title: 'refuse' });
    const host = await f.as(m.id, 'rf-host', 'group_call_host');
    const [v1, v2] = await Promise.all(['rf-v1', 'rf-v2']
        .map((id) => f.as(m.id, id, 'webinar_viewer')));
    const ph = await f.connect(host);
    const [pw1, pw2] = await Promise.all([f.connect(v1), f.connect(v2)]);
    let pw3;
    try {
        await doneWith(ph, { type: 'waiting.refuse', participant_ids: [v1.id, host.id] },
            'refuse', [v1.id]);
        assert.deepEqual(await pw1.next('refused'), { type: 'refused' });
        assert.equal((await pw1.closed()).code, CLOSE.WAITING_ENDED);
        await waitingUpdate(ph, leftHas(pw1.hello.self.peer_id));
        await expectRefused(f.srv, v1.token, 403);
        await expectRefused(f.srv, v1.token, 403);
        /* The other waiting peer is untouched. */
        await pw2.ping();
        assert.equal(pw2.closeInfo, null);
        /* Refusing an id that is not waiting (v1 is gone) does nothing. */
        await doneWith(ph, { type: 'waiting.refuse', participant_ids: [v1.id] }, 'refuse', []);

        /* The session ends (kick-all): v2, still waiting, is closed 4004; v1 may wait again. */
        await f.kickAll(m.id);
        assert.equal((await pw2.closed()).code, CLOSE.WAITING_ENDED);
        assert.equal((await ph.closed()).code, CLOSE.KICKED);
        pw3 = await f.connect(v1);
        assertWaitingHello(pw3.hello, v1, 'refused last session, waits in the next');
    } finally {
        await Promise.all([ph, pw1, pw2, pw3].filter(Boolean).map((p) => p.close()));
    }
});

test('a refusal outlives a restart of the server (kill -9): still 403 in that session',
    async () => {
        const m = await f.meeting({ title: 'refuse-restart', session_keep_alive_time_in_secs: 60 });
        const host = await f.as(m.id, 'rr-host', 'group_call_host');
        const v = await f.as(m.id, 'rr-v', 'webinar_viewer');
        const ph = await f.connect(host);
        const pw = await f.connect(v);
        /* `done` comes once the refusal is stored. */
        await doneWith(ph, { type: 'waiting.refuse', participant_ids: [v.id] }, 'refuse', [v.id]);
        assert.equal((await pw.closed()).code, CLOSE.WAITING_ENDED);
        await f.restart({ kill: true });
        ph.terminate();
        const r = await expectRefused(f.srv, v.token, 403);
        assert.match(r.json.error.message, /refused from the waiting room/);
        /* The host is not barred: it joins the same session again. */
        const again = await f.connect(host);
        await again.close();
    });

test('SKIP_ON_ACCEPT: waits until admitted once; a later join in the session skips the wait; ' +
    'the next session waits again', async () => {
    const m = await f.meeting({ title: 'once', session_keep_alive_time_in_secs: 30 });
    const host = await f.as(m.id, 'so-host', 'group_call_host');
    const s = await f.as(m.id, 'so-s', 'once');
    const ph = await f.connect(host);
    const p1 = await f.connect(s);
    const open = [ph, p1];
    try {
        assertWaitingHello(p1.hello, s);
        assert.equal(p1.hello.self.permissions.waiting_room_type, 'SKIP_ON_ACCEPT');
        await doneWith(ph, { type: 'waiting.admit', participant_ids: [s.id] }, 'admit', [s.id]);
        const adm = await p1.next('admitted');
        assert.equal(adm.state, 'joined');
        assert.equal(adm.session.id, ph.hello.session.id);
        await p1.close();

        /* Same session: joins at once. */
        const p2 = await f.connect(s);
        open.push(p2);
        assert.equal(p2.hello.state, 'joined');
        assert.equal(p2.hello.session.id, ph.hello.session.id);
        assert.equal((await f.active(m.id)).live_participants, 2);
        /* A replacing connection too. */
        const p3 = await f.connect(s);
        open.push(p3);
        assert.equal(p3.hello.state, 'joined');
        assert.equal((await p2.closed()).code, CLOSE.REPLACED);

        /* Next session: waits again. */
        const { ev } = await ask(ph, { type: 'session.kick_all' });
        assert.equal(ev.type, 'done', JSON.stringify(ev));
        await p3.closed();
        const ph2 = await f.connect(host);
        open.push(ph2);
        assert.notEqual(ph2.hello.session.id, ph.hello.session.id);
        const p4 = await f.connect(s);
        open.push(p4);
        assertWaitingHello(p4.hello, s, 'a new session');
    } finally {
        await Promise.all(open.map((p) => p.close()));
    }
});

test('a waiting peer starts no session; a kick naming it closes it 4001 and done lists it; ' +
    'a host\'s kick-all closes the others 4004', async () => {
    const m = await f.meeting({ title: 'nobody live' });
    const host = await f.as(m.id, 'wn-host', 'group_call_host');
    const [v1, v2] = await Promise.all(['wn-v1', 'wn-v2']
        .map((id) => f.as(m.id, id, 'webinar_viewer')));
    const [pw1, pw2] = await Promise.all([f.connect(v1), f.connect(v2)]);
    let ph;
    try {
        assertWaitingHello(pw1.hello, v1);
        assertWaitingHello(pw2.hello, v2);
        await expectRtkError(f.activeP(m.id), 404);
        assert.deepEqual((await f.sessions({ associated_id: m.id })).data.sessions, [],
            'no session was started');

        /* A host joins: the session starts with one live peer; it sees both waiting. */
        ph = await f.connect(host);
        assert.equal(ph.hello.session.live_participants, 1);
        assert.deepEqual(ph.hello.waiting.map((w) => w.participant_id).sort(),
            [v1.id, v2.id].sort());

        /* A kick naming a waiting participant closes it 4001; it is refused afterwards. */
        await doneWith(ph, { type: 'participant.kick', participant_ids: [v1.id] }, 'kick', [v1.id]);
        assert.equal((await pw1.closed()).code, CLOSE.KICKED);
        await waitingUpdate(ph, leftHas(pw1.hello.self.peer_id));
        await expectRefused(f.srv, v1.token, 403);

        /* The host's kick-all: v2 (waiting) closed 4004. done lists every participant kicked,
         * the sender included; PROTOCOL.md does not say whether a waiting one counts as kicked
         * (it is closed 4004, not 4001), so either is accepted. */
        const { ev: done } = await ask(ph, { type: 'session.kick_all' });
        assert.equal(done.type, 'done', JSON.stringify(done));
        assert.equal(done.action, 'kick_all');
        assert.ok(done.participants.includes(host.id), JSON.stringify(done));
        assert.ok(done.participants.every((id) => id === host.id || id === v2.id),
            JSON.stringify(done));
        assert.equal((await pw2.closed()).code, CLOSE.WAITING_ENDED);
        assert.equal((await ph.closed()).code, CLOSE.KICKED);
        await expectRtkError(f.activeP(m.id), 404);
    } finally {
        await Promise.all([pw1, pw2, ph].filter(Boolean).map((p) => p.close()));
    }
});
