// SPDX-License-Identifier: MIT
// Crash safety (issue 6 part 5; docs/api.md "Durability", PROTOCOL.md §3-§4): under a mixed
// load of writes (meetings, participants, meeting edits, polls), votes on the channel and
// kicks, the server is killed with SIGKILL at a random moment, several rounds in a row on the
// same data folder. After each crash:
//   - the store passes `PRAGMA integrity_check` and `foreign_key_check` (sqlite3 shell, run
//     on a copy of the files the crash left);
//   - after a restart, every acknowledged write is there: every 201/200 meeting and
//     participant, every edit answered 200 (an unanswered one may or may not have happened),
//     every poll answered 201, every vote answered `poll.voted` (counted once, for the
//     option chosen), and every participant named in a kick answered 200 is refused at the
//     handshake (403) of the session that is still live.
// The random seed is printed; RTKD_CRASH_SEED=N replays a run.

import assert from 'node:assert/strict';
import { after } from 'node:test';
import { rm } from 'node:fs/promises';
import {
    test, start, tempDir, createAccount, createToken, http, sleep, STORE,
} from '../lib/rtkd.js';
import { connect, refusal } from '../lib/peer.js';
import {
    NO_LIMITS, seededRng, mapLimit, haveSqlite3, integrityCheck, CRASH_MARKS,
} from '../lib/hardening.js';

const ROUNDS = 4;
const VOTERS = 8;
const LOAD_MS = [400, 1600]; /* the kill comes at a random moment in this window */

let dataDir;
let srv;

after(async () => {
    if (srv && !srv.stopped) await srv.kill();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test(`${ROUNDS} rounds of SIGKILL under load: every acknowledged write survives, the store ` +
    'stays consistent', async (t) => {
    const seed = Number(process.env.RTKD_CRASH_SEED) || (Date.now() % 2147483647);
    t.diagnostic(`crash seed ${seed} (RTKD_CRASH_SEED=${seed} replays it)`);
    const rng = seededRng(seed);
    /* The SQLite files' integrity is checked on SQLite; PostgreSQL checks its own. */
    const sqlite = STORE === 'sqlite' && await haveSqlite3();
    if (STORE === 'sqlite' && !sqlite) {
        t.diagnostic('sqlite3 shell not installed: PRAGMA integrity_check is SKIPPED ' +
            '(scripts/bootstrap.sh installs the Debian package sqlite3)');
    }

    dataDir = await tempDir('rtkd-e2e-crash-');
    const accountId = await createAccount(dataDir, 'crash');
    const token = await createToken(dataDir, accountId, 'crash-token');
    const args = ['serve', '--listen', '127.0.0.1:0', '--data', dataDir, ...NO_LIMITS];
    const api = (method, p, body) => http(srv, method, `${P}${p}`, { token, body });
    let P;

    /* What the server acknowledged, cumulated over the rounds. */
    const acked = {
        meetings: new Map(), /* id → Set of titles it may have (one once an edit is answered) */
        participants: [],    /* {meetingId, id} */
        polls: [],           /* {sessionId, id} */
        votes: [],           /* {sessionId, pollId, participantId, option} */
        kicks: [],           /* {participantId, token} (all in meeting K's session) */
    };
    const counts = () => `${acked.meetings.size} meetings, ${acked.participants.length} participants, ` +
        `${acked.polls.length} polls, ${acked.votes.length} votes, ${acked.kicks.length} kicks`;

    /* ---- the fixed world, created before the first crash ---- */
    srv = await start({ dataDir, args });
    const appId = (await srv.client(token).realtimeKit.apps.post({ account_id: accountId, name: 'crash' }))
        .data.app.id;
    P = `/accounts/${accountId}/realtime/kit/${appId}`;
    const mkMeeting = async (title) => {
        const r = await api('POST', '/meetings', { title });
        assert.equal(r.status, 201, r.text);
        acked.meetings.set(r.json.data.id, new Set([title]));
        return r.json.data.id;
    };
    const mkPart = async (meetingId, custom) => {
        const r = await api('POST', `/meetings/${meetingId}/participants`,
            { custom_participant_id: custom, preset_name: 'group_call_participant', name: custom });
        assert.equal(r.status, 201, r.text);
        acked.participants.push({ meetingId, id: r.json.data.id });
        return r.json.data;
    };
    const V = await mkMeeting('votes');
    const K = await mkMeeting('kicks');
    const voters = [];
    for (let i = 0; i < VOTERS; i++) voters.push(await mkPart(V, `voter-${i}`));
    const anchor = await mkPart(K, 'anchor'); /* keeps K's session live; never kicked */
    let sessionV = null;
    let sessionK = null;

    /* ---- checks ---- */
    async function verify(label) {
        /* meetings and participants */
        await mapLimit([...acked.meetings], 16, async ([id, titles]) => {
            const r = await api('GET', `/meetings/${id}`);
            assert.equal(r.status, 200, `${label}: acknowledged meeting ${id} is gone: ${r.status} ${r.text}`);
            assert.ok(titles.has(r.json.data.title),
                `${label}: meeting ${id} has title ${r.json.data.title}, acknowledged ${[...titles]}`);
        });
        await mapLimit(acked.participants, 16, async (p) => {
            const r = await api('GET', `/meetings/${p.meetingId}/participants/${p.id}`);
            assert.equal(r.status, 200, `${label}: acknowledged participant ${p.id} is gone: ${r.status}`);
        });
        /* polls and votes, through the session history (live or not) */
        const bySession = new Map();
        for (const s of new Set(acked.polls.map((p) => p.sessionId))) {
            const r = await api('GET', `/sessions/${s}/polls`);
            assert.equal(r.status, 200, `${label}: polls of session ${s}: ${r.status} ${r.text}`);
            bySession.set(s, new Map(r.json.data.polls.map((p) => [p.id, p])));
        }
        for (const p of acked.polls) {
            const poll = bySession.get(p.sessionId).get(p.id);
            assert.ok(poll, `${label}: acknowledged poll ${p.id} is gone`);
            const sum = poll.options.reduce((n, o) => n + o.count, 0);
            assert.equal(sum, poll.voted.length, `${label}: poll ${p.id} counts ${sum} votes, ` +
                `voted lists ${poll.voted.length}`);
            assert.equal(new Set(poll.voted).size, poll.voted.length, `${label}: a double vote in ${p.id}`);
        }
        for (const v of acked.votes) {
            const poll = bySession.get(v.sessionId)?.get(v.pollId);
            assert.ok(poll, `${label}: the poll of an acknowledged vote is gone (${v.pollId})`);
            assert.ok(poll.voted.includes(v.participantId),
                `${label}: acknowledged vote of ${v.participantId} on ${v.pollId} is missing`);
            assert.ok(poll.options[v.option].votes.some((x) => x.id === v.participantId),
                `${label}: vote of ${v.participantId} on ${v.pollId} is not on option ${v.option}`);
        }
        /* kicks: K's session is the same live session, and every kicked participant is barred */
        if (sessionK) {
            const r = await api('GET', `/meetings/${K}/active-session`);
            assert.equal(r.status, 200, `${label}: K's session is not live: ${r.text}`);
            assert.equal(r.json.data.id, sessionK, `${label}: K's session changed`);
        }
        await mapLimit(acked.kicks, 8, async (k) => {
            const ref = await refusal(srv, k.token).catch((e) => ({ status: 101, body: e.message }));
            assert.equal(ref.status, 403, `${label}: kicked participant ${k.participantId} was not ` +
                `refused: ${ref.status} ${ref.body}`);
        });
    }

    async function checkStore(label) {
        if (!sqlite) return;
        const ic = await integrityCheck(dataDir);
        assert.equal(ic.integrity, 'ok', `${label}: PRAGMA integrity_check: ${ic.integrity}`);
        assert.equal(ic.foreignKeys, '', `${label}: PRAGMA foreign_key_check: ${ic.foreignKeys}`);
    }

    /* ---- the load ---- */
    function startLoad(round) {
        const ctx = { stop: false, killing: false, errors: [] };
        /* Failures caused by the kill are expected; any failure before it is not. */
        const guard = (name, fn) => fn().catch((e) => {
            if (!ctx.killing) ctx.errors.push(`${name}: ${e.stack || e}`);
        });
        let n = 0;
        const writer = guard('writer', async () => {
            while (!ctx.stop) {
                n += 1;
                const title = `r${round}-m${n}`;
                const r = await api('POST', '/meetings', { title });
                if (r.status !== 201) throw new Error(`create meeting: ${r.status} ${r.text}`);
                const id = r.json.data.id;
                acked.meetings.set(id, new Set([title]));
                const pr = await api('POST', `/meetings/${id}/participants`,
                    { custom_participant_id: `c${n}`, preset_name: 'group_call_participant' });
                if (pr.status !== 201) throw new Error(`add participant: ${pr.status} ${pr.text}`);
                acked.participants.push({ meetingId: id, id: pr.json.data.id });
                if (n % 3 === 0) {
                    const edited = `${title}-edited`;
                    acked.meetings.get(id).add(edited); /* either, until the answer */
                    const er = await api('PATCH', `/meetings/${id}`, { title: edited });
                    if (er.status !== 200) throw new Error(`edit meeting: ${er.status} ${er.text}`);
                    acked.meetings.set(id, new Set([edited]));
                }
            }
        });
        const voting = guard('voters', async () => {
            const peers = await Promise.all(voters.map((v) =>
                connect(srv, v.token, { label: v.custom_participant_id })));
            ctx.peers = peers;
            const sid = peers[0].hello.session.id;
            if (sessionV === null) sessionV = sid;
            assert.equal(sid, sessionV, 'V continues the same session after a restart');
            let q = 0;
            while (!ctx.stop) {
                q += 1;
                const r = await api('POST', `/meetings/${V}/active-session/poll`,
                    { question: `r${round} q${q}?`, options: ['a', 'b', 'c'] });
                if (r.status === 400 && /as many polls as it may/.test(r.text)) {
                    /* The session's bound on polls (docs/security.md): nothing more to vote on. */
                    while (!ctx.stop) await sleep(20);
                    break;
                }
                if (r.status !== 201) throw new Error(`create poll: ${r.status} ${r.text}`);
                const pollId = r.json.data.poll.id;
                acked.polls.push({ sessionId: sid, id: pollId });
                await Promise.all(peers.map(async (peer, i) => {
                    const option = Math.floor(rng() * 3);
                    const ref = `r${round}-${q}-${i}`;
                    peer.send({ type: 'poll.vote', poll_id: pollId, option, ref });
                    const ev = await peer.next((e) => e.ref === ref &&
                        (e.type === 'poll.voted' || e.type === 'error'), 5000);
                    if (ev.type !== 'poll.voted') throw new Error(`vote: ${JSON.stringify(ev)}`);
                    acked.votes.push({ sessionId: sid, pollId, participantId: voters[i].id, option });
                }));
            }
        });
        let k = 0;
        const kicking = guard('kicker', async () => {
            const a = await connect(srv, anchor.token, { label: 'anchor' });
            ctx.anchor = a;
            if (sessionK === null) sessionK = a.hello.session.id;
            while (!ctx.stop) {
                k += 1;
                const pr = await api('POST', `/meetings/${K}/participants`,
                    { custom_participant_id: `r${round}-k${k}`, preset_name: 'group_call_participant' });
                if (pr.status !== 201) throw new Error(`add participant: ${pr.status} ${pr.text}`);
                const part = pr.json.data;
                acked.participants.push({ meetingId: K, id: part.id });
                let peer = null;
                if (rng() < 0.5) peer = await connect(srv, part.token, { label: `k${k}` });
                const kr = await api('POST', `/meetings/${K}/active-session/kick`, { participant_ids: [part.id] });
                if (kr.status !== 200) throw new Error(`kick: ${kr.status} ${kr.text}`);
                acked.kicks.push({ participantId: part.id, token: part.token });
                if (peer) {
                    const info = await peer.closed();
                    if (info.code !== 4001) throw new Error(`kicked peer closed with ${JSON.stringify(info)}`);
                }
            }
        });
        ctx.done = Promise.all([writer, voting, kicking]);
        return ctx;
    }

    /* ---- the rounds ---- */
    for (let round = 1; round <= ROUNDS; round++) {
        if (round > 1) {
            srv = await start({ dataDir, args });
            await verify(`after crash ${round - 1}`);
        }
        const ctx = startLoad(round);
        const loadMs = LOAD_MS[0] + Math.floor(rng() * (LOAD_MS[1] - LOAD_MS[0]));
        await sleep(loadMs);
        const killed = srv;
        ctx.killing = true;
        await killed.kill();
        ctx.stop = true;
        await ctx.done;
        for (const p of [...(ctx.peers || []), ctx.anchor].filter(Boolean)) p.terminate();
        assert.deepEqual(ctx.errors, [], `round ${round}: the load failed before the kill`);
        assert.equal(killed.child.signalCode, 'SIGKILL');
        assert.doesNotMatch(killed.stderr(), CRASH_MARKS, `round ${round}: the server reported a crash`);
        t.diagnostic(`round ${round}: killed after ${loadMs} ms; acknowledged so far: ${counts()}`);
        await checkStore(`after crash ${round}`);
    }

    /* Last restart: everything is there, and a clean stop exits 0. */
    srv = await start({ dataDir, args });
    await verify(`after crash ${ROUNDS}`);
    assert.ok(acked.votes.length > 0 && acked.kicks.length > 0 && acked.meetings.size > 10,
        `the load did too little to prove anything: ${counts()}`);
    await srv.stop({ keepData: true });
    await checkStore('after the final clean stop');
});
