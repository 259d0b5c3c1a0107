// SPDX-License-Identifier: MIT
// A stalled server does not blame its peers (hardening issue, item 6). With a 2 s heartbeat, a
// peer may stay silent for two intervals (4 s). The server is stopped (SIGSTOP) for 3 s, after
// a peer had been silent for 1.5 s and while it sends pings: on SIGCONT the 4.5 s since it was
// last *read* include 3 s the server was not running, so it must stay connected and get its
// pongs. A peer that really says nothing is still dropped (1001) once it has been silent for
// two intervals of time the server was running.

import assert from 'node:assert/strict';
import { after } from 'node:test';
import { test, sleep } from '../lib/rtkd.js';
import { liveFixture, CLOSE } from '../lib/peer.js';

let f;

after(async () => {
    if (f) {
        f.srv.signal('SIGCONT');
        await f.stop();
    }
});

test('a 3 s SIGSTOP with a 2 s heartbeat: the peer that was talking stays, the silent one goes',
    async () => {
        f = await liveFixture({ heartbeatMs: 2000 });
        const meeting = await f.meeting({ title: 'stall' });
        const talker = await f.participant(meeting.id, 'talker');
        const mute = await f.participant(meeting.id, 'mute');
        /* No automatic pongs: only what the test sends counts as hearing from a peer. */
        const a = await f.connect(talker, { autoPong: false });
        const b = await f.connect(mute, { autoPong: false });
        await sleep(1500);

        f.srv.signal('SIGSTOP');
        const stoppedAt = Date.now();
        for (let i = 0; i < 3; i++) {
            await sleep(900);
            a.send({ type: 'ping', ref: `stall-${i}` });
        }
        await sleep(3000 - (Date.now() - stoppedAt));
        f.srv.signal('SIGCONT');

        for (let i = 0; i < 3; i++) {
            const pong = await a.next((e) => e.type === 'pong' && e.ref === `stall-${i}`, 3000);
            assert.equal(pong.ref, `stall-${i}`);
        }
        /* From now on the talker keeps talking, as a real client would. */
        let n = 0;
        const talking = setInterval(() => a.send({ type: 'ping', ref: `keep-${n++}` }), 1000);
        after(() => clearInterval(talking));
        await sleep(1000);
        assert.equal(a.closeInfo, null, 'the talking peer was dropped after the stall');
        assert.equal(b.closeInfo, null,
            'the silent peer was dropped before two intervals of running time had passed');

        /* The silent one goes once it has really been silent for two intervals. */
        const closed = await b.closed(8000);
        assert.equal(closed.code, CLOSE.GOING_AWAY);
        assert.equal(closed.reason, 'heartbeat timeout');
        clearInterval(talking);
        a.send({ type: 'ping', ref: 'after' });
        await a.next((e) => e.type === 'pong' && e.ref === 'after');
        assert.equal(a.closeInfo, null);
    });
