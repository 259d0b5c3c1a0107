// SPDX-License-Identifier: MIT
// CLUSTER.md guarantee 9 with two nodes: PostgreSQL goes away (its own server, started and
// stopped by this file: tests/support/pgtmp.sh) while both nodes serve peers of one meeting.
// Writes answer 503 within 5 s at both nodes, votes `unavailable`, /readyz 503 "store
// unavailable", live peers stay connected; when PostgreSQL is back both recover by themselves.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rmdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, after } from 'node:test';
import { test, http, REPO, STORE } from '../lib/rtkd.js';
import { eventually } from '../lib/peer.js';
import { sendVote, reply } from '../lib/polls.js';
import { clusterFixture } from '../lib/cluster.js';

const PGTMP = path.join(REPO, 'tests', 'support', 'pgtmp.sh');
const opts = STORE === 'postgres' ? {}
    : { skip: 'a cluster needs PostgreSQL: this runs in the PostgreSQL pass of make test' };

function pgtmp(...args) {
    return new Promise((resolve, reject) => {
        execFile(PGTMP, args, (err, stdout, stderr) => {
            if (err) reject(new Error(`pgtmp.sh ${args.join(' ')}: ${stderr || err.message}`));
            else resolve(stdout.trim());
        });
    });
}

describe('PostgreSQL goes away under a cluster', opts, () => {
    let pgDir = null;
    let c = null;
    after(async () => {
        if (c) await c.stop();
        if (pgDir) await pgtmp('stop', pgDir).catch(() => {});
    });

    test('503 within 5 s at every node, peers stay, both recover by themselves', async () => {
        pgDir = await mkdtemp(path.join(os.tmpdir(), 'rtkd-e2e-cpg-'));
        await rmdir(pgDir); /* pgtmp.sh makes it, owned by the postgres user */
        const base = await pgtmp('start', pgDir);
        await pgtmp('createdb', pgDir, 'cluster');
        c = await clusterFixture({ nodes: 2, store: `${base}cluster` });
        const m = await c.meeting({ session_keep_alive_time_in_secs: 60 });
        const a = await c.participant(m.id, 'a');
        const b = await c.participant(m.id, 'b');
        const pa = await c.connect(0, a);
        const pb = await c.connect(1, b);
        const poll = (await c.cf(0).realtimeKit.activeSession.createPoll(m.id,
            c.at({ question: 'up?', options: ['yes', 'no'] }))).data.poll;
        await pb.next((e) => e.type === 'poll.created');
        const P = `/accounts/${c.accountId}/realtime/kit/${c.appId}`;
        const write = (i) => http(c.nodes[i], 'POST', `${P}/meetings`,
            { token: c.token, body: { title: 'while down' } });

        await pgtmp('halt', pgDir);
        for (const i of [0, 1]) {
            const t0 = Date.now();
            const w = await write(i);
            const took = Date.now() - t0;
            assert.equal(w.status, 503, `node ${i}: ${w.status} ${w.text}`);
            assert.ok(took < 5500, `node ${i}: the 503 took ${took} ms`);
            await eventually(async () => {
                const r = await http(c.nodes[i], 'GET', '/readyz', { root: true });
                assert.equal(r.status, 503, r.text);
                assert.equal(r.json.data.status, 'store unavailable');
            }, { ms: 5000 });
        }
        const ans = await reply(pb, sendVote(pb, poll.id, 0));
        assert.equal(ans.code, 'unavailable', JSON.stringify(ans));
        for (const p of [pa, pb]) {
            await p.ping();
            assert.equal(p.closeInfo, null, `${p.label} stayed connected`);
        }

        await pgtmp('resume', pgDir);
        for (const i of [0, 1]) {
            await eventually(async () => {
                const w = await write(i);
                assert.equal(w.status, 201, `node ${i}: ${w.text}`);
            }, { ms: 15000, every: 200 });
        }
        const ok = await reply(pb, sendVote(pb, poll.id, 1));
        assert.equal(ok.type, 'poll.voted', JSON.stringify(ok));
        await pa.next((e) => e.type === 'poll.updated' && e.total_votes === 1, 3000);
        assert.equal((await c.active(m.id, 0)).live_participants, 2);
        await Promise.all([pa.close(), pb.close()]);
    });
});
