// SPDX-License-Identifier: MIT
// A failed group commit on a real full disk (groundwork issue, item 1; hardening issue, items 1
// and 2). The data folder is a small tmpfs that the test mounts (the suite runs as root) and
// fills; every write of a loop turn is then refused by SQLite at COMMIT. Nothing may be
// acknowledged that is not stored: waiting REST writes answer 5xx, waiting votes are taken back
// with `unavailable`, and a kick or kick-all does nothing at all (no close, no end) when its
// end cannot be stored. Once space is back, everything works again, and a kill -9 loses
// nothing that was acknowledged.

import assert from 'node:assert/strict';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { test, sleep, sqliteOnly } from '../lib/rtkd.js';
import { canMount, mountTmpfsAt, fillDisk } from '../lib/hardening.js';
import { pollsFixture, okData, sendVote, reply } from '../lib/polls.js';

sqliteOnly('the full disk is the data folder, which holds the store only on SQLite');

let mnt;
let unmount;
let f;

/* A fixture on a fresh 8 MiB tmpfs (room for the store and its WAL; a filler takes the rest
 * when the test wants the disk full). Returns null, after skipping T, where mount(2) is not
 * permitted. */
async function fullDiskFixture(t) {
    const m = await canMount();
    if (!m.ok) {
        t.skip(m.why);
        return null;
    }
    mnt = await mkdtemp(path.join(os.tmpdir(), 'rtkd-e2e-full-'));
    unmount = await mountTmpfsAt(mnt, '8m');
    f = await pollsFixture({ dataDir: mnt });
    return f;
}

const fill = () => fillDisk(path.join(mnt, 'filler'));
const unfill = () => unlink(path.join(mnt, 'filler'));

after(async () => {
    try {
        if (f) await f.stop();
    } finally {
        if (unmount) await unmount();
        if (mnt) await rm(mnt, { recursive: true, force: true });
    }
});

async function expect5xx(promise, what) {
    let status;
    try {
        await promise;
    } catch (e) {
        status = e.status;
    }
    assert.ok(status >= 500 && status <= 503, `${what}: expected 500 or 503, got ${status}`);
}

test('disk full: REST writes answer 5xx and store nothing; votes are taken back; then it recovers',
    async (t) => {
        if (!await fullDiskFixture(t)) return;
        const meeting = await f.meeting({ title: 'full' });
        const [pa, pb] = await f.participants(meeting.id, 2, 'full');
        const [a, b] = await f.connectAll([pa, pb]);
        const poll = await f.createPoll(meeting.id, { question: 'Space?', options: ['yes', 'no'] });
        await Promise.all([a, b].map((p) => p.next((e) => e.type === 'poll.created')));
        await f.committed();

        await fill();
        await expect5xx(f.meeting({ title: 'lost' }), 'POST meetings on a full disk');
        await expect5xx(f.participant(meeting.id, 'lost-part'), 'POST participants');
        await expect5xx(f.updateMeeting(meeting.id, { title: 'renamed' }), 'PATCH meeting');
        const ref = sendVote(a, poll.id, 0);
        const ans = await reply(a, ref);
        assert.equal(ans.type, 'error', JSON.stringify(ans));
        assert.equal(ans.code, 'unavailable', JSON.stringify(ans));

        /* Nothing of it is visible: the meeting keeps its title, the vote is not counted, and
         * nobody called "lost" exists. */
        const m = (await f.cf.realtimeKit.meetings.getMeetingByID(meeting.id, f.at())).data;
        assert.equal(m.title, 'full');
        const view = okData(await f.pollRest(meeting.id, poll.id)).poll;
        assert.deepEqual(view.options.map((o) => o.count), [0, 0]);
        assert.deepEqual(view.voted, []);
        const list = await f.cf.realtimeKit.meetings.getMeetingParticipants(meeting.id, f.at());
        assert.equal(list.data.length, 2);

        await unfill();
        const again = await f.meeting({ title: 'after' });
        assert.ok(again.id);
        const ref2 = sendVote(a, poll.id, 1);
        const ok = await reply(a, ref2);
        assert.equal(ok.type, 'poll.voted', JSON.stringify(ok));
        await sleep(100);
        assert.equal(b.closeInfo, null, 'the other peer stayed connected throughout');
    });

/* Hardening issue, items 1 and 2: a kick or a kick-all whose writes cannot be stored does
 * nothing at all (rule: no 2xx for a write that was not committed, and nothing the request did
 * is visible, in memory or on the wire), and after a kill -9 the store agrees with what was
 * acknowledged. */
test('disk full: kick and kick-all answer 503 and do nothing; acknowledged ones survive kill -9',
    async (t) => {
        if (!f && !await fullDiskFixture(t)) return;
        const meeting = await f.meeting({ title: 'kicks' });
        const [pa, pb] = await f.participants(meeting.id, 2, 'kick');
        const [a, b] = await f.connectAll([pa, pb]);
        const sid = a.hello.session.id;
        await f.committed();

        await fill();
        await expect5xx(f.kickP(meeting.id, { participant_ids: [pa.id] }), 'kick on a full disk');
        await expect5xx(f.kickAllP(meeting.id), 'kick-all on a full disk');
        await sleep(300);
        assert.equal(a.closeInfo, null, 'a refused kick closed nobody');
        assert.equal(b.closeInfo, null, 'a refused kick-all closed nobody');
        assert.equal(a.all.filter((e) => e.type === 'kicked').length, 0, 'nobody was told kicked');
        const live = await f.active(meeting.id);
        assert.equal(live.id, sid);
        assert.equal(live.live_participants, 2);
        await a.ping();
        await unfill();

        /* With space back: the kick is stored, then acknowledged; a rejoin is refused. */
        const kicked = await f.kick(meeting.id, { participant_ids: [pa.id] });
        assert.deepEqual(kicked.participants.map((p) => p.id), [pa.id]);
        assert.equal((await a.closed()).code, 4001);
        const all = await f.kickAll(meeting.id);
        assert.equal(all.kicked_participants_count, 1);
        assert.equal((await b.closed()).code, 4001);

        /* kill -9: the ended session stays ended, and the next one starts fresh. */
        await f.restart({ kill: true });
        const r = await f.activeP(meeting.id).catch((e) => e);
        assert.equal(r.status, 404, 'the session ended by the acknowledged kick-all is not live');
        const again = await f.connect(pb);
        assert.notEqual(again.hello.session.id, sid);
        again.terminate();
    });
