// SPDX-License-Identifier: MIT
// p2.mjs - the protocol 2 benchmarks that need a few scripted peers rather than thousands
// (bench/run.sh runs them; the thousands come from bench/loadgen):
//
//   node bench/p2.mjs hosts   --url ws://127.0.0.1:PORT --tokens FILE --ready FILE
//       connects every token of FILE (host peers, which see the participant list), writes
//       FILE --ready once all have their hello, and counts what they receive until SIGTERM;
//       then prints "hosts N", "host_bytes_avg B", "host_frames_avg F", "roster_msgs_avg M".
//   node bench/p2.mjs waiting --url ws://127.0.0.1:PORT --tokens FILE --ids FILE --host TOKEN
//       connects every token of FILE (peers whose preset makes them wait), then the host;
//       once all wait, the host admits them all in one waiting.admit; prints the time from
//       sending it to the last `admitted` ("admit_last_ms"), the median ("admit_p50_ms") and
//       to the host's `done` ("admit_done_ms").
// Every wait is bounded (60 s); a failure exits 1 with a message.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'tests', 'e2e', 'package.json'));
const WebSocket = require('ws');

const args = process.argv.slice(2);
const mode = args[0];
const opt = (name) => {
    const i = args.indexOf(`--${name}`);
    return i > 0 ? args[i + 1] : undefined;
};
const lines = (f) => readFileSync(f, 'utf8').split('\n').filter((l) => l.length > 0);
const fail = (why) => {
    console.error(`p2.mjs: ${why}`);
    process.exit(1);
};
setTimeout(() => fail('timed out after 120 s'), 120000).unref();

function open(url, token, onMessage) {
    return new Promise((resolve, reject) => {
        const ws = new WebSocket(`${url}/v1/ws?token=${encodeURIComponent(token)}`,
            { perMessageDeflate: false });
        ws.on('message', (data) => onMessage(ws, data));
        ws.on('unexpected-response', (_req, res) => reject(new Error(`handshake ${res.statusCode}`)));
        ws.on('error', reject);
        ws.on('open', () => resolve(ws));
    });
}

function deadline(promise, ms, what) {
    return Promise.race([promise, new Promise((_, rej) => setTimeout(() => rej(new Error(`${what}: no answer within ${ms} ms`)), ms))]);
}

async function hosts() {
    const url = opt('url');
    const tokens = lines(opt('tokens'));
    const stats = tokens.map(() => ({ bytes: 0, frames: 0, roster: 0, hello: null }));
    const hellos = tokens.map((t, i) => new Promise((resolve) => {
        open(url, t, (_ws, data) => {
            const s = stats[i];
            s.bytes += data.length;
            s.frames++;
            const text = data.toString();
            if (text.startsWith('{"type":"participants.updated"')) s.roster++;
            if (s.hello === null && text.startsWith('{"type":"hello"')) {
                s.hello = JSON.parse(text);
                resolve();
            }
        }).catch((e) => fail(`host ${i}: ${e.message}`));
    }));
    await deadline(Promise.all(hellos), 60000, 'host hellos');
    if (!stats.every((s) => s.hello.self.permissions.show_participant_list))
        fail('a host cannot see the participant list: wrong preset');
    writeFileSync(opt('ready'), 'ready\n');
    await new Promise((resolve) => process.once('SIGTERM', resolve));
    const avg = (k) => Math.round(stats.reduce((a, s) => a + s[k], 0) / stats.length);
    console.log(`hosts ${stats.length}`);
    console.log(`host_bytes_avg ${avg('bytes')}`);
    console.log(`host_frames_avg ${avg('frames')}`);
    console.log(`roster_msgs_avg ${avg('roster')}`);
    process.exit(0);
}

async function waiting() {
    const url = opt('url');
    const tokens = lines(opt('tokens'));
    const ids = lines(opt('ids'));
    let t0 = 0;
    const admittedAt = [];
    let waitingCount = 0;
    let allWaiting;
    const allWaitingP = new Promise((r) => { allWaiting = r; });
    let allAdmitted;
    const allAdmittedP = new Promise((r) => { allAdmitted = r; });
    await Promise.all(tokens.map((t, i) => open(url, t, (_ws, data) => {
        const text = data.toString();
        if (text.startsWith('{"type":"hello"')) {
            if (JSON.parse(text).state !== 'waiting') fail(`peer ${i} did not wait: wrong preset`);
            if (++waitingCount === tokens.length) allWaiting();
        } else if (text.startsWith('{"type":"admitted"')) {
            admittedAt.push(performance.now() - t0);
            if (admittedAt.length === tokens.length) allAdmitted();
        }
    }).catch((e) => fail(`waiting peer ${i}: ${e.message}`))));
    await deadline(allWaitingP, 60000, 'waiting hellos');
    let doneAt = 0;
    let hostReady;
    const hostReadyP = new Promise((r) => { hostReady = r; });
    let hostDone;
    const hostDoneP = new Promise((r) => { hostDone = r; });
    const host = await open(url, opt('host'), (_ws, data) => {
        const text = data.toString();
        if (text.startsWith('{"type":"hello"')) hostReady(JSON.parse(text));
        else if (text.startsWith('{"type":"done"')) {
            doneAt = performance.now() - t0;
            hostDone(JSON.parse(text));
        }
    });
    const hello = await deadline(hostReadyP, 60000, 'host hello');
    if (!hello.self.permissions.accept_waiting_requests) fail('the host cannot admit: wrong preset');
    t0 = performance.now();
    host.send(JSON.stringify({ type: 'waiting.admit', participant_ids: ids, ref: 'admit' }));
    await deadline(allAdmittedP, 60000, 'admitted');
    const done = await deadline(hostDoneP, 60000, 'done');
    if (done.participants.length !== ids.length)
        fail(`done lists ${done.participants.length} of ${ids.length}`);
    admittedAt.sort((a, b) => a - b);
    console.log(`waiting ${tokens.length}`);
    console.log(`admit_p50_ms ${admittedAt[Math.floor(admittedAt.length / 2)].toFixed(1)}`);
    console.log(`admit_last_ms ${admittedAt[admittedAt.length - 1].toFixed(1)}`);
    console.log(`admit_done_ms ${doneAt.toFixed(1)}`);
    process.exit(0);
}

if (mode === 'hosts') hosts().catch((e) => fail(e.message));
else if (mode === 'waiting') waiting().catch((e) => fail(e.message));
else fail('usage: p2.mjs hosts|waiting ... (see the head of this file)');
