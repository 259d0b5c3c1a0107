// SPDX-License-Identifier: MIT
// Hardening, participant channel (issue 6 parts 2 and 3; PROTOCOL.md §1-§2, docs/protocol.md
// §7): unmasked frames (1002), binary frames (1003), oversized messages (1009, also a declared
// 2^40 length), fragmented or oversized control frames (1002), continuations out of order
// (1002), invalid UTF-8 (1007), reserved bits and opcodes (1002), bad close frames, garbage
// after the upgrade, bad JSON messages (error events, connection kept), message floods
// (rate_limited, then 1008), the per-IP handshake rate (429 + Retry-After) and the cap on
// peers per meeting (429). After each, a peer connected before, in the same meeting, still
// gets its pong and the REST API still answers.

import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { test, sleep, parseResponses, rawExchange } from '../lib/rtkd.js';
import {
    connect, rawConnect, frame, closePayload, OP, CLOSE, WAIT_MS, eventually,
} from '../lib/peer.js';
import { hardFixture, rawUpgrade, assertRawError } from '../lib/hardening.js';

let f;
let seq = 0;

before(async () => {
    /* The handshake rate has its own tests below; here every case needs a fresh peer. */
    f = await hardFixture({ args: ['--handshake-rate', '0'] });
});

after(async () => {
    if (f) await f.stop();
});

/* A fresh participant of the bystanders' meeting, connected on a raw socket (hello read). */
async function badPeer(what) {
    seq += 1;
    const part = await f.participant(f.meeting.id, `bad-${seq}`);
    const peer = await rawConnect(f.srv, part.token, { label: what });
    peer.part = part;
    return peer;
}

/* Asserts the server sends a close frame with CODE and ends the TCP connection; then checks
 * that everyone else is still served. */
async function expectClose(peer, code, what) {
    const info = await peer.closed(WAIT_MS);
    const codes = [].concat(code);
    assert.ok(codes.includes(info.code), `${what}: expected close ${codes.join(' or ')}, got ` +
        `${JSON.stringify(info)}; frames ` +
        JSON.stringify(peer.frames.map((x) => [x.opcode, x.payload.toString('utf8').slice(0, 80)])));
    assert.ok(peer.socketClosed, `${what}: the TCP connection stays open`);
    await f.check(what);
}

/* Sends BYTES (frames) on a fresh bad peer and expects a close with CODE. */
async function closesWith(bytes, code, what) {
    const peer = await badPeer(what);
    peer.write(Buffer.concat([].concat(bytes)));
    await expectClose(peer, code, what);
}

const text = (s, o) => frame(OP.TEXT, s, o);
const ping = JSON.stringify({ type: 'ping', ref: 'x' });

test('an unmasked client frame → 1002 (text, ping, close, continuation)', async () => {
    await closesWith(text(ping, { mask: false }), CLOSE.PROTOCOL, 'an unmasked text frame');
    await closesWith(frame(OP.PING, 'p', { mask: false }), CLOSE.PROTOCOL, 'an unmasked ping');
    await closesWith(frame(OP.CLOSE, closePayload(1000), { mask: false }), CLOSE.PROTOCOL,
        'an unmasked close');
    await closesWith([text('{"type":', { fin: false }), frame(OP.CONT, '"ping"}', { mask: false })],
        CLOSE.PROTOCOL, 'an unmasked continuation');
});

test('a binary frame → 1003 (also as the start of a fragmented message, also empty)', async () => {
    await closesWith(frame(OP.BINARY, Buffer.from(ping)), CLOSE.UNSUPPORTED, 'a binary frame');
    await closesWith(frame(OP.BINARY, Buffer.from('{"ty'), { fin: false }), CLOSE.UNSUPPORTED,
        'a fragmented binary message');
    await closesWith(frame(OP.BINARY, Buffer.alloc(0)), CLOSE.UNSUPPORTED, 'an empty binary frame');
});

test('messages over 64 KiB → 1009: one frame, fragments, declared 2^40 and 2^32 lengths', async () => {
    const big = JSON.stringify({ type: 'ping', pad: 'x'.repeat(65 * 1024) });
    await closesWith(text(big), CLOSE.TOO_BIG, 'a 65 KiB text frame');
    const half = 'x'.repeat(33 * 1024);
    await closesWith([text(`{"type":"ping","a":"${half}`, { fin: false }),
        frame(OP.CONT, `${half}"}`)], CLOSE.TOO_BIG, '66 KiB in two fragments');
    /* Only a header announcing 2^40 bytes (then nothing): refused without waiting. */
    const head = (len) => {
        const h = Buffer.alloc(14);
        h[0] = 0x81;
        h[1] = 0x80 | 127;
        h.writeBigUInt64BE(BigInt(len), 2);
        randomBytes(4).copy(h, 10);
        return h;
    };
    await closesWith(head(2 ** 40), CLOSE.TOO_BIG, 'a declared length of 2^40');
    await closesWith(head(2 ** 32 + 5), CLOSE.TOO_BIG, 'a declared length of 2^32 + 5');
    /* Just the first 3 bytes of such a header: the length is already certain to be too big. */
    await closesWith(Buffer.from([0x81, 0xff, 0x00, 0x00, 0x01]), CLOSE.TOO_BIG,
        'a partial header whose length is already over the limit');
    /* A 64-bit length with its top bit set is a protocol error (RFC 6455 §5.2). */
    const top = head(0);
    top[2] = 0x80;
    const c = await badPeer('a 64-bit length with the top bit set');
    c.write(top);
    const info = await c.closed();
    assert.ok(info.code === CLOSE.PROTOCOL || info.code === CLOSE.TOO_BIG,
        `top bit set: close ${JSON.stringify(info)}`);
    await f.check('a 64-bit length with the top bit set');
});

test('control frames: fragmented (FIN=0) or over 125 bytes → 1002', async () => {
    await closesWith(frame(OP.PING, 'p', { fin: false }), CLOSE.PROTOCOL, 'a fragmented ping');
    await closesWith(frame(OP.PONG, 'p', { fin: false }), CLOSE.PROTOCOL, 'a fragmented pong');
    await closesWith(frame(OP.CLOSE, closePayload(1000), { fin: false }), CLOSE.PROTOCOL,
        'a fragmented close');
    await closesWith(frame(OP.PING, Buffer.alloc(126, 0x61)), CLOSE.PROTOCOL, 'a 126-byte ping');
    await closesWith(frame(OP.PONG, Buffer.alloc(4000, 0x61)), CLOSE.PROTOCOL, 'a 4000-byte pong');
    await closesWith([text('{"type":', { fin: false }), frame(OP.PING, 'p', { fin: false })],
        CLOSE.PROTOCOL, 'a fragmented ping inside a fragmented message');
});

test('continuation frames out of order → 1002', async () => {
    await closesWith(frame(OP.CONT, ping), CLOSE.PROTOCOL, 'a continuation with no message begun');
    await closesWith(frame(OP.CONT, '{"type"', { fin: false }), CLOSE.PROTOCOL,
        'a non-final continuation with no message begun');
    await closesWith([text(ping), frame(OP.CONT, 'x')], CLOSE.PROTOCOL,
        'a continuation after a complete message');
    await closesWith([text('{"type":', { fin: false }), text('"ping"}')], CLOSE.PROTOCOL,
        'a new text frame before the final fragment');
    await closesWith([text('{"type":', { fin: false }), frame(OP.BINARY, 'x')],
        [CLOSE.PROTOCOL, CLOSE.UNSUPPORTED], 'a binary frame inside a fragmented text message');
});

test('invalid UTF-8 in text → 1007 (whole, split, truncated, overlong, surrogate, > U+10FFFF); ' +
    'a code point split across fragments is fine', async () => {
    const b = (s) => Buffer.from(s, 'latin1');
    const cases = {
        'byte 0xFF': b('{"type":"ping","ref":"\xff"}'),
        'an overlong "/"': b('{"type":"ping","ref":"\xc0\xaf"}'),
        'an overlong 3-byte form': b('{"type":"ping","ref":"\xe0\x80\xaf"}'),
        'a UTF-16 surrogate': b('{"type":"ping","ref":"\xed\xa0\x80"}'),
        'above U+10FFFF': b('{"type":"ping","ref":"\xf4\x90\x80\x80"}'),
        'a lone continuation byte': b('{"type":"ping","ref":"\x80"}'),
        'a truncated sequence at the end': b('{"type":"ping"}\xe2\x82'),
    };
    for (const [what, payload] of Object.entries(cases)) {
        await closesWith(text(payload), CLOSE.INVALID_DATA, `invalid UTF-8: ${what}`);
    }
    await closesWith([text(b('{"type":"ping","ref":"\xe2'), { fin: false }),
        frame(OP.CONT, b('\x28\xa1"}'))], CLOSE.INVALID_DATA, 'an invalid sequence across fragments');
    await closesWith([text(b('{"type":"ping","ref":"a"}\xe2\x82'), { fin: false }),
        frame(OP.CONT, Buffer.alloc(0))], CLOSE.INVALID_DATA, 'a message ending inside a code point');
    /* Valid: "é" (C3 A9) split across two fragments, with a ping frame between them. */
    const peer = await badPeer('split code point');
    peer.write(Buffer.concat([text(b('{"type":"ping","ref":"caf\xc3'), { fin: false }),
        frame(OP.PING, 'between'), frame(OP.CONT, b('\xa9"}'))]));
    const pong = await peer.next('pong');
    assert.equal(pong.ref, 'café');
    peer.destroy();
    await f.check('a code point split across fragments');
});

test('reserved bits and reserved opcodes → 1002; non-minimal lengths → 1002', async () => {
    for (const rsv of [1, 2, 4, 7]) {
        await closesWith(text(ping, { rsv }), CLOSE.PROTOCOL, `RSV bits ${rsv} on a text frame`);
    }
    await closesWith(frame(OP.PING, 'p', { rsv: 4 }), CLOSE.PROTOCOL, 'RSV1 on a ping');
    for (const op of [3, 7, 0xb, 0xf]) {
        await closesWith(frame(op, 'x'), CLOSE.PROTOCOL, `reserved opcode 0x${op.toString(16)}`);
    }
    /* Length 5 written with the 16-bit form. */
    const nm = Buffer.concat([Buffer.from([0x81, 0x80 | 126, 0x00, 0x05]), Buffer.alloc(4), Buffer.from('{"a":')]);
    await closesWith(nm, CLOSE.PROTOCOL, 'a 16-bit length of 5');
    const nm64 = Buffer.alloc(14 + 200);
    nm64[0] = 0x81;
    nm64[1] = 0x80 | 127;
    nm64.writeBigUInt64BE(200n, 2);
    await closesWith(nm64, CLOSE.PROTOCOL, 'a 64-bit length of 200');
});

test('bad close frames: 1-byte payload or reserved codes → 1002; bad reason UTF-8 → 1007; ' +
    'good codes are echoed', async () => {
    await closesWith(frame(OP.CLOSE, Buffer.from([0x03])), CLOSE.PROTOCOL, 'a 1-byte close payload');
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535]) {
        await closesWith(frame(OP.CLOSE, closePayload(code)), CLOSE.PROTOCOL, `close code ${code}`);
    }
    await closesWith(frame(OP.CLOSE, Buffer.concat([closePayload(1000), Buffer.from([0xff])])),
        CLOSE.INVALID_DATA, 'a close reason that is not UTF-8');
    for (const code of [1000, 1001, 3000, 4999]) {
        await closesWith(frame(OP.CLOSE, closePayload(code, 'bye')), code, `close ${code} echoed`);
    }
});

test('garbage after the upgrade → 1002 (in the same packet as the upgrade, and later)', async () => {
    const cases = {
        'an HTTP request': Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
        'a TLS ClientHello': Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]),
        'text': Buffer.from('hello, world\n'),
        'zero bytes': Buffer.alloc(16),
    };
    for (const [what, bytes] of Object.entries(cases)) {
        seq += 1;
        const part = await f.participant(f.meeting.id, `garbage-${seq}`);
        const early = await rawUpgrade(f.srv, part.token, bytes, { label: `${what} with the upgrade` });
        await expectClose(early, CLOSE.PROTOCOL, `${what} in the upgrade packet`);
        await closesWith(bytes, CLOSE.PROTOCOL, `${what} after hello`);
    }
    /* Random bytes: whatever the code, the server closes with an error code and stays up. */
    for (let i = 0; i < 10; i++) {
        const peer = await badPeer(`random garbage #${i}`);
        const junk = randomBytes(256);
        junk[0] |= 0x40; /* an RSV bit: certain to be a protocol error */
        peer.write(junk);
        const info = await peer.closed();
        assert.ok([1002, 1003, 1007, 1009].includes(info.code), `random garbage: ${JSON.stringify(info)}`);
    }
    await f.check('random garbage');
});

test('a frame trickled one byte at a time is assembled; the peer is served', async () => {
    const peer = await badPeer('byte by byte');
    const fr = text(JSON.stringify({ type: 'ping', ref: 'slow' }));
    for (const byte of fr) {
        peer.write(Buffer.from([byte]));
        await sleep(2);
    }
    assert.equal((await peer.next('pong')).ref, 'slow');
    peer.destroy();
    await f.check('a trickled frame');
});

test('bad JSON messages get error events (documented codes) and the connection stays open', async () => {
    const poll = (await f.cf.realtimeKit.activeSession.createPoll(f.meeting.id, {
        account_id: f.accountId, app_id: f.appId, question: 'q?', options: ['a', 'b'],
    })).data.poll;
    const peer = await badPeer('bad JSON messages');
    const N = 10000;
    const cases = [
        ['{"type":', 'invalid_json'],
        ['[1,2,3]', 'invalid_json'],
        ['"ping"', 'invalid_json'],
        ['{"type":"ping","type":"ping"}', null],
        ['['.repeat(N) + ']'.repeat(N), 'invalid_json'],
        [`{"type":"ping","a":${'{"b":'.repeat(N)}1${'}'.repeat(N)}}`, 'invalid_json'],
        ['{"type":5}', 'invalid_message'],
        ['{"type":null}', 'invalid_message'],
        ['{"ref":"r"}', 'invalid_message'],
        [`{"type":"ping","ref":"${'r'.repeat(65)}"}`, 'invalid_message'],
        ['{"type":"ping","ref":12}', 'invalid_message'],
        ['{"type":"nope"}', 'unknown_type'],
        ['{"type":"poll.vote"}', null],
        [`{"type":"poll.vote","poll_id":"' OR 1=1 --","option":0}`, 'poll_not_found'],
        [`{"type":"poll.vote","poll_id":"${poll.id}","option":1e400}`, null],
        [`{"type":"poll.vote","poll_id":"${poll.id}","option":9007199254740993}`, null],
        [`{"type":"poll.vote","poll_id":"${poll.id}","option":-1}`, 'invalid_option'],
        [`{"type":"poll.vote","poll_id":"${poll.id}","option":"0"}`, null],
        [`{"type":"poll.vote","poll_id":"${poll.id}","option":0.5}`, null],
        [`{"type":"poll.vote","poll_id":["${poll.id}"],"option":0}`, null],
    ];
    const codes = ['invalid_json', 'invalid_message', 'unknown_type', 'poll_not_found',
        'invalid_option', 'already_voted', 'rate_limited'];
    for (const [msg, code] of cases) {
        peer.drain();
        peer.send(msg);
        const ev = await peer.next((e) => e.type === 'error' || e.type === 'pong' || e.type === 'poll.voted');
        const what = `message ${msg.slice(0, 80)}`;
        if (msg.includes('"type":"ping","type"')) {
            /* duplicate keys: either refused as invalid_json or treated as one ping */
            assert.ok(ev.type === 'pong' || ev.code === 'invalid_json', `${what}: ${JSON.stringify(ev)}`);
            continue;
        }
        assert.equal(ev.type, 'error', `${what}: ${JSON.stringify(ev)}`);
        assert.ok(codes.includes(ev.code), `${what}: undocumented code ${ev.code}`);
        if (code) assert.equal(ev.code, code, `${what}: ${JSON.stringify(ev)}`);
        assert.equal(typeof ev.message, 'string');
    }
    assert.equal(peer.closeInfo, null, 'the connection stayed open');
    peer.send(ping);
    await peer.next('pong');
    /* None of the bad votes counted. */
    const polls = await f.api('GET', `/meetings/${f.meeting.id}/active-session/polls`);
    const p = polls.json.data.polls.find((x) => x.id === poll.id);
    assert.deepEqual(p.voted, [], `bad votes were counted: ${JSON.stringify(p)}`);
    peer.destroy();
    await f.check('bad JSON messages');
});

test('a message flood → rate_limited errors (not acted on), then close 1008; others unaffected',
    async () => {
        const peer = await badPeer('flood');
        const frames = [];
        for (let i = 0; i < 400; i++) frames.push(text(JSON.stringify({ type: 'ping', ref: `f${i}` })));
        peer.write(Buffer.concat(frames));
        const info = await peer.closed(WAIT_MS * 2);
        assert.equal(info.code, CLOSE.POLICY, `flood: close ${JSON.stringify(info)}`);
        const pongs = peer.all.filter((e) => e.type === 'pong');
        const limited = peer.all.filter((e) => e.type === 'error' && e.code === 'rate_limited');
        assert.ok(pongs.length >= 100 && pongs.length <= 110,
            `${pongs.length} pings acted on (burst 100)`);
        assert.ok(limited.length >= 1, 'rate_limited errors were sent');
        assert.ok(pongs.length + limited.length <= 400);
        /* The burst is the first 100 messages, in order; what follows is refused, not queued. */
        assert.deepEqual(pongs.slice(0, 100).map((p) => p.ref), pongs.slice(0, 100).map((_, i) => `f${i}`));
        await f.check('a flood');
        /* A flood of votes: only the burst is acted on; one vote per participant still holds. */
        const poll = (await f.cf.realtimeKit.activeSession.createPoll(f.meeting.id, {
            account_id: f.accountId, app_id: f.appId, question: 'flood?', options: ['a', 'b'],
        })).data.poll;
        const voter = await badPeer('vote flood');
        const votes = [];
        for (let i = 0; i < 400; i++) {
            votes.push(text(JSON.stringify({ type: 'poll.vote', poll_id: poll.id, option: i % 2, ref: `v${i}` })));
        }
        voter.write(Buffer.concat(votes));
        assert.equal((await voter.closed(WAIT_MS * 2)).code, CLOSE.POLICY);
        const got = await f.api('GET', `/meetings/${f.meeting.id}/active-session/polls/${poll.id}`);
        assert.deepEqual(got.json.data.poll.voted, [voter.part.id]);
        assert.deepEqual(got.json.data.poll.options.map((o) => o.count), [1, 0]);
        await f.check('a vote flood');
    });

/* A raw upgrade request from LOCALADDRESS; resolves {status, headers, body} or {status: 101}. */
function rawHandshake(port, token, localAddress = '127.0.0.1') {
    return new Promise((resolve, reject) => {
        const sock = net.connect({ port, host: '127.0.0.1', localAddress });
        let buf = Buffer.alloc(0);
        const timer = setTimeout(() => { sock.destroy(); reject(new Error('no handshake answer')); }, WAIT_MS);
        sock.on('connect', () => sock.write(`GET /v1/ws?token=${encodeURIComponent(token)} HTTP/1.1\r\n` +
            'Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`));
        sock.on('data', (d) => {
            buf = Buffer.concat([buf, d]);
            if (/^HTTP\/1\.1 101 /.test(buf.toString('latin1')) && buf.includes('\r\n\r\n')) {
                clearTimeout(timer);
                sock.destroy();
                resolve({ status: 101 });
                return;
            }
            const rs = parseResponses(buf);
            if (rs.length) {
                clearTimeout(timer);
                sock.destroy();
                resolve(rs[0]);
            }
        });
        sock.on('error', (e) => { clearTimeout(timer); reject(e); });
    });
}

test('--handshake-rate 5: a burst of handshakes from one IP → some 429 + Retry-After; ' +
    'another IP, live peers and REST unaffected; recovers', async () => {
    const g = await hardFixture({ args: ['--handshake-rate', '5'] });
    try {
        const parts = [];
        for (let i = 0; i < 20; i++) parts.push(await g.participant(g.meeting.id, `burst-${i}`));
        await sleep(1200); /* refill after the fixture's own handshake */
        const answers = await Promise.all(parts.map((p) => rawHandshake(g.srv.port, p.token)));
        const ok = answers.filter((a) => a.status === 101).length;
        const limited = answers.filter((a) => a.status === 429);
        assert.ok(limited.length >= 10, `only ${limited.length} of 20 were refused (${ok} accepted)`);
        assert.ok(ok >= 5 && ok <= 7, `${ok} of 20 accepted with a rate of 5/s`);
        assert.equal(ok + limited.length, 20, `other answers: ${JSON.stringify(answers.map((a) => a.status))}`);
        for (const a of limited) {
            assertRawError(a, 429, 'a handshake over the rate');
            const retry = Number(a.headers['retry-after']);
            assert.ok(Number.isInteger(retry) && retry >= 1, `Retry-After: ${a.headers['retry-after']}`);
        }
        /* While 127.0.0.1 is limited, 127.0.0.2 is not (the limit is per IP). */
        const fromOther = await rawHandshake(g.srv.port, parts[19].token, '127.0.0.2');
        assert.equal(fromOther.status, 101, `from 127.0.0.2: ${fromOther.status} ${fromOther.body}`);
        await g.check('a handshake burst');
        /* Recovers after a second. */
        await sleep(1100);
        const again = await rawHandshake(g.srv.port, parts[0].token);
        assert.equal(again.status, 101, `after waiting: ${again.status} ${again.body}`);
    } finally {
        await g.stop();
    }
});

test('--handshake-rate 0: a burst of 60 handshakes from one IP is never refused', async () => {
    const g = await hardFixture({ args: ['--handshake-rate', '0'] });
    try {
        const parts = await Promise.all(Array.from({ length: 60 }, (_, i) =>
            g.participant(g.meeting.id, `h0-${i}`)));
        const answers = await Promise.all(parts.map((p) => rawHandshake(g.srv.port, p.token)));
        assert.deepEqual([...new Set(answers.map((a) => a.status))], [101]);
        await g.check('60 handshakes with the limit off');
    } finally {
        await g.stop();
    }
});

test('--max-peers-per-meeting 2: the third peer → 429 + Retry-After; other meetings unaffected; ' +
    'a freed place can be taken', async () => {
    const g = await hardFixture({ args: ['--max-peers-per-meeting', '2'] });
    try {
        const m = await g.newMeeting({ title: 'capped' });
        const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((x) => g.participant(m.id, x)));
        const pa = await connect(g.srv, a.token, { label: 'a' });
        const pb = await connect(g.srv, b.token, { label: 'b' });
        const r = await rawHandshake(g.srv.port, c.token);
        assert.equal(r.status, 429, `third peer: ${r.status} ${r.body}`);
        assertRawError(r, 429, 'the third peer');
        assert.ok(Number(r.headers['retry-after']) >= 1, `Retry-After: ${r.headers['retry-after']}`);
        /* The bystanders' meeting has one peer: a second one joins there. */
        const other = await g.participant(g.meeting.id, 'second-in-bystanders');
        const po = await connect(g.srv, other.token, { label: 'other meeting' });
        await pa.ping();
        await pb.ping();
        await g.check('a full meeting');
        /* a leaves: c gets in. */
        await pa.close();
        const pc = await eventually(() => connect(g.srv, c.token, { label: 'c' }), { ms: 3000 });
        assert.equal(pc.hello.self.participant_id, c.id);
        const active = await g.api('GET', `/meetings/${m.id}/active-session`);
        assert.equal(active.json.data.live_participants, 2);
        for (const p of [pb, pc, po]) p.terminate();
    } finally {
        await g.stop();
    }
});

test('--max-peers-per-meeting 2: a participant reconnecting at the cap replaces its old peer ' +
    '(4002), it is not refused', async () => {
    const g = await hardFixture({ args: ['--max-peers-per-meeting', '2'] });
    try {
        const m = await g.newMeeting({ title: 'capped' });
        const [a, b] = await Promise.all(['a', 'b'].map((x) => g.participant(m.id, x)));
        const pa = await connect(g.srv, a.token, { label: 'a' });
        const pb = await connect(g.srv, b.token, { label: 'b' });
        const r = await rawHandshake(g.srv.port, b.token);
        assert.equal(r.status, 101,
            `b reconnecting while the meeting is at its cap: ${r.status} ${r.body ?? ''}`);
        assert.equal((await pb.closed()).code, CLOSE.REPLACED);
        pa.terminate();
    } finally {
        await g.stop();
    }
});

test('a WebSocket handshake with junk headers → 400 JSON; the server keeps serving', async () => {
    seq += 1;
    const part = await f.participant(f.meeting.id, `hs-${seq}`);
    const base = `GET /v1/ws?token=${encodeURIComponent(part.token)} HTTP/1.1\r\nHost: x\r\n`;
    const key = `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n`;
    const cases = {
        'no Upgrade header': `${base}Connection: Upgrade\r\n${key}Sec-WebSocket-Version: 13\r\n\r\n`,
        'a key of 15 bytes': `${base}Upgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(15).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        'a key that is not base64': `${base}Upgrade: websocket\r\nConnection: Upgrade\r\n` +
            'Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        'version 8': `${base}Upgrade: websocket\r\nConnection: Upgrade\r\n${key}Sec-WebSocket-Version: 8\r\n\r\n`,
        /* Hardening issue, item 7: which key would the accept hash answer? */
        'two Sec-WebSocket-Key headers': `${base}Upgrade: websocket\r\nConnection: Upgrade\r\n` +
            `${key}Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
            'Sec-WebSocket-Version: 13\r\n\r\n',
        'a POST upgrade': `POST /v1/ws?token=${part.token} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n` +
            `Connection: Upgrade\r\n${key}Sec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n`,
        'HTTP/1.0': `GET /v1/ws?token=${part.token} HTTP/1.0\r\nUpgrade: websocket\r\n` +
            `Connection: Upgrade\r\n${key}Sec-WebSocket-Version: 13\r\n\r\n`,
    };
    for (const [what, raw] of Object.entries(cases)) {
        const r = await rawExchange(f.srv.port, raw, {
            ms: 3000,
            until: (buf) => {
                const rs = parseResponses(buf);
                return rs.length > 0 && rs[0].headers.connection !== 'close';
            },
        });
        const res = parseResponses(r.data)[0];
        if (res?.headers.connection === 'close') assert.ok(r.closed, `${what}: not closed`);
        assert.ok(res, `${what}: no answer`);
        assert.ok(res.status === 400 || res.status === 405, `${what}: ${res.status} ${res.body}`);
        assertRawError(res, res.status, what);
        await f.check(`a handshake with ${what}`);
    }
    /* The participant can still connect properly afterwards. */
    const ok = await connect(f.srv, part.token, { label: 'after junk handshakes' });
    ok.terminate();
});

test('a ws client at the protocol level: the library refuses nothing the server sends', async () => {
    /* A well-behaved client (the ws library, which validates every server frame) exchanges
     * messages, pings and a clean close: no 1002 from either side. */
    seq += 1;
    const part = await f.participant(f.meeting.id, `ws-${seq}`);
    const p = await connect(f.srv, part.token, { label: 'ws' });
    for (let i = 0; i < 20; i++) await p.ping(`w${i}`);
    p.ws.ping('hi');
    const info = await p.close(CLOSE.NORMAL);
    assert.equal(info.code, CLOSE.NORMAL);
    assert.ok(!p.error, `ws error: ${p.error}`);
    assert.equal(WebSocket.CLOSED, p.ws.readyState);
    await f.check('a clean ws client');
});
