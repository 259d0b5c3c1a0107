// SPDX-License-Identifier: MIT
// Presets on the channel (issue 13 item 3, PROTOCOL.md §3a, §4, §5): the poll permissions,
// each allowed and refused: polls.can_view false (no poll events, hello.polls []),
// polls.can_vote false (poll.vote → forbidden), polls.can_create (poll.create → poll.created
// with the ref to the creator and without it to the others, created_by the participant,
// invalid fields → invalid_message naming them, forbidden without it); self.permissions is the
// stored preset's, fixed at join: a preset edited later applies from the next join.

import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { test } from '../lib/rtkd.js';
import {
    PollModel, assertRest, assertViewer, okData, helloPoll, voteOk, voteErr, newRef, assertUpdated,
} from '../lib/polls.js';
import { presetsFixture, presetPermissions } from '../lib/presets.js';
import { ask, refusedWith } from '../lib/hosts.js';

let f;

before(async () => {
    f = await presetsFixture();
});

after(async () => {
    if (f) await f.stop();
});

/* The poll events (poll.*) PEER has received so far. */
const pollEvents = (peer) => peer.all.filter((e) => typeof e.type === 'string' &&
    e.type.startsWith('poll.'));

test('polls.can_view false: hello.polls [] and no poll event, while others see every one',
    async () => {
        await f.preset('blind', { view: false });
        const m = await f.meeting({ title: 'blind' });
        const host = await f.as(m.id, 'cv-host', 'group_call_host');
        const viewer = await f.as(m.id, 'cv-viewer', 'group_call_participant');
        const blind = await f.as(m.id, 'cv-blind', 'blind');
        const ph = await f.connect(host);
        const before1 = await f.createPoll(m.id, { question: 'Before?', options: ['a', 'b'] });
        const [pv, pb] = await Promise.all([f.connect(viewer), f.connect(blind)]);
        try {
            assert.equal(helloPoll(pv.hello, before1.id).id, before1.id);
            assert.deepEqual(pb.hello.polls, [], 'can_view false: hello.polls is []');
            assert.equal(pb.hello.self.permissions.polls.can_view, false);

            /* A REST poll, a vote and a channel poll: the others hear of each. */
            const rest = await f.createPoll(m.id, { question: 'REST?', options: ['x', 'y'] });
            await pv.next((e) => e.type === 'poll.created' && e.poll.id === rest.id);
            const model = new PollModel(rest, f.tokenId);
            await voteOk(pv, rest.id, 1);
            model.add(viewer, 1);
            assertUpdated(await ph.next((e) => e.type === 'poll.updated' && e.poll_id === rest.id),
                model, 'host poll.updated');
            const { ev: created } = await ask(ph, { type: 'poll.create', question: 'Channel?',
                options: ['p', 'q'] });
            assert.equal(created.type, 'poll.created', JSON.stringify(created));
            await pv.next((e) => e.type === 'poll.created' && e.poll.id === created.poll.id);

            /* Everything sent to the blind peer before its pong has arrived: no poll event. */
            await pb.ping();
            assert.deepEqual(pollEvents(pb), [], 'can_view false: no poll events');
            /* A new hello still lists no poll. */
            await pb.close();
            const again = await f.connect(blind);
            assert.deepEqual(again.hello.polls, []);
            await again.close();
        } finally {
            await Promise.all([ph, pv, pb].map((p) => p.close()));
        }
    });

test('polls.can_vote false: poll.vote → forbidden and nothing counted; it still sees the polls',
    async () => {
        await f.preset('mute-voter', { vote: false });
        const m = await f.meeting({ title: 'no vote' });
        const mute = await f.as(m.id, 'nv-mute', 'mute-voter');
        const other = await f.as(m.id, 'nv-other', 'group_call_participant');
        const [pm, po] = await Promise.all([f.connect(mute), f.connect(other)]);
        try {
            assert.equal(pm.hello.self.permissions.polls.can_vote, false);
            const poll = await f.createPoll(m.id, { question: 'Vote?', options: ['a', 'b'] });
            const model = new PollModel(poll, f.tokenId);
            const ev = await pm.next('poll.created');
            assertViewer(ev.poll, model, mute.id, 'poll.created to a non-voter');
            await voteErr(pm, poll.id, 0, 'forbidden');
            await voteErr(pm, poll.id, 1, 'forbidden');
            assertRest(okData(await f.pollRest(m.id, poll.id)).poll, model, 'nothing counted');
            /* The others vote as usual, and the non-voter sees the tallies. */
            await voteOk(po, poll.id, 1);
            model.add(other, 1);
            assertUpdated(await pm.next('poll.updated'), model, 'poll.updated to a non-voter');
            await voteErr(pm, poll.id, 1, 'forbidden');
            assertRest(okData(await f.pollRest(m.id, poll.id)).poll, model, 'one vote');
        } finally {
            await Promise.all([pm, po].map((p) => p.close()));
        }
    });

test('polls.can_create: poll.create → poll.created with the ref to the creator, to the others ' +
    'without; created_by is the participant', async () => {
    const m = await f.meeting({ title: 'create' });
    const host = await f.as(m.id, 'pc-host', 'group_call_host', { name: 'Hostess' });
    const a = await f.as(m.id, 'pc-a', 'group_call_participant');
    const [ph, pa] = await Promise.all([f.connect(host), f.connect(a)]);
    try {
        const ref = newRef('create');
        ph.send({ type: 'poll.create', question: 'Lunch?', options: ['soup', 'salad', 'none'],
            anonymous: false, hide_votes: true, ref });
        const mine = await ph.next('poll.created');
        assert.deepEqual(Object.keys(mine).sort(), ['poll', 'ref', 'type'], JSON.stringify(mine));
        assert.equal(mine.ref, ref);
        const theirs = await pa.next('poll.created');
        assert.deepEqual(Object.keys(theirs).sort(), ['poll', 'type'], 'no ref to the others');

        const rest = okData(await f.pollsRest(m.id)).polls;
        assert.equal(rest.length, 1);
        assert.equal(rest[0].created_by, host.id, 'created_by is the participant id');
        const model = new PollModel(rest[0], host.id);
        assertRest(rest[0], model, 'REST view');
        assert.equal(rest[0].question, 'Lunch?');
        assert.equal(rest[0].hide_votes, true);
        assertViewer(mine.poll, model, host.id, 'creator poll.created');
        assertViewer(theirs.poll, model, a.id, 'other poll.created');
        assert.equal(mine.poll.id, rest[0].id);

        /* It is an ordinary poll: the others vote on it. */
        await voteOk(pa, mine.poll.id, 2);
        model.add(a, 2);
        assertRest(okData(await f.pollRest(m.id, mine.poll.id)).poll, model, 'after a vote');

        /* The defaults of the optional fields are the REST create's. */
        const { ev: plain } = await ask(ph, { type: 'poll.create', question: 'Plain?',
            options: ['y'] });
        assert.equal(plain.type, 'poll.created', JSON.stringify(plain));
        assert.equal(plain.poll.anonymous, false);
        assert.equal(plain.poll.hide_votes, false);
        assert.equal(plain.poll.created_by, host.id);
    } finally {
        await Promise.all([ph, pa].map((p) => p.close()));
    }
});

test('poll.create: invalid fields → invalid_message naming the field, nothing created; ' +
    'without can_create → forbidden', async () => {
    const m = await f.meeting({ title: 'create errors' });
    const host = await f.as(m.id, 'pe-host', 'group_call_host');
    const a = await f.as(m.id, 'pe-a', 'group_call_participant');
    const [ph, pa] = await Promise.all([f.connect(host), f.connect(a)]);
    try {
        const bad = [
            [{ options: ['a'] }, 'question'],
            [{ question: 42, options: ['a'] }, 'question'],
            [{ question: '   ', options: ['a'] }, 'question'],
            [{ question: 'q'.repeat(1025), options: ['a'] }, 'question'],
            [{ question: 'q' }, 'options'],
            [{ question: 'q', options: [] }, 'options'],
            [{ question: 'q', options: 'a' }, 'options'],
            [{ question: 'q', options: ['a', 7] }, 'options'],
            [{ question: 'q', options: ['a'], anonymous: 'yes' }, 'anonymous'],
            [{ question: 'q', options: ['a'], hide_votes: 1 }, 'hide_votes'],
        ];
        for (const [body, field] of bad) {
            const e = await refusedWith(ph, { type: 'poll.create', ...body }, 'invalid_message');
            assert.ok(e.message.includes(field),
                `the error for ${JSON.stringify(body).slice(0, 80)} must name "${field}": ${e.message}`);
        }
        /* Without polls.can_create. */
        await refusedWith(pa, { type: 'poll.create', question: 'Mine?', options: ['a', 'b'] });
        /* Nothing was created, and nobody heard of a poll. */
        assert.deepEqual(okData(await f.pollsRest(m.id)).polls, []);
        await Promise.all([ph.ping(), pa.ping()]);
        assert.deepEqual([...pollEvents(ph), ...pollEvents(pa)], []);
        /* Both connections are still usable. */
        const { ev } = await ask(ph, { type: 'poll.create', question: 'Fine?', options: ['a'] });
        assert.equal(ev.type, 'poll.created', JSON.stringify(ev));
    } finally {
        await Promise.all([ph, pa].map((p) => p.close()));
    }
});

test('self.permissions is the stored preset\'s, taken at join: an edit applies from the next join',
    async () => {
        const preset = await f.preset('editable', { create: false, list: false });
        const m = await f.meeting({ title: 'edit' });
        const e = await f.as(m.id, 'ed-1', 'editable');
        const p1 = await f.connect(e);
        try {
            assert.deepEqual(p1.hello.self.permissions, preset.permissions);
            assert.equal(p1.hello.self.preset_name, 'editable');
            assert.ok(!('participants' in p1.hello), 'no participant list without the permission');
            await refusedWith(p1, { type: 'poll.create', question: 'q', options: ['a'] });

            /* PATCH the preset: can_create on. The live peer keeps what it joined with. */
            const perms = presetPermissions({ create: true, list: false });
            const upd = await f.cf.realtimeKit.presets.update(preset.id,
                { ...f.at(), permissions: perms });
            assert.equal(upd.data.permissions.polls.can_create, true, JSON.stringify(upd.data));
            await refusedWith(p1, { type: 'poll.create', question: 'q', options: ['a'] });

            /* The next join has the new permissions. */
            await p1.close();
            const p2 = await f.connect(e);
            try {
                assert.deepEqual(p2.hello.self.permissions, perms);
                const { ev } = await ask(p2, { type: 'poll.create', question: 'Now?', options: ['a'] });
                assert.equal(ev.type, 'poll.created', JSON.stringify(ev));
                assert.equal(ev.poll.created_by, e.id);
            } finally {
                await p2.close();
            }
        } finally {
            await p1.close();
        }
    });
