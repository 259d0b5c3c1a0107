// SPDX-License-Identifier: MIT
// The participant channel (PROTOCOL.md §1, §2, §4, §5): the handshake and its refusals, hello,
// ping/pong, error events, frame rules and their close codes, the close handshake, and one
// live peer per participant (4002 on replace).

import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import {
    test, http, sleep, rawExchange, parseResponses, assertRtkEnvelope, UUID_V4,
} from '../lib/rtkd.js';
import {
    liveFixture, expectRefused, assertSessionShape, eventually, closePayload,
    frame, reSign, OP, CLOSE,
} from '../lib/peer.js';

let f;
let meeting;
let alice;

before(async () => {
    f = await liveFixture();
    meeting = await f.meeting({ title: 'Channel room' });
    alice = await f.participant(meeting.id, 'alice-c',
        { name: 'Alice', preset_name: 'group_call_host' });
});

after(async () => {
    if (f) await f.stop();
});

/* A fresh participant of the shared meeting. */
let seq = 0;
function someone() {
    seq += 1;
    return f.participant(meeting.id, `chan-${seq}`);
}

test('hello: protocol 2, joined, session, self with permissions, polls [], roster', async () => {
    /* The preset's permissions as REST returns them (issue 13: presets over REST). */
    const presets = (await f.cf.realtimeKit.presets.get(f.appId,
        { account_id: f.accountId, search: 'group_call_host', per_page: 100 })).data;
    const row = presets.find((x) => x.name === 'group_call_host');
    assert.ok(row, `no group_call_host preset: ${JSON.stringify(presets.map((x) => x.name))}`);
    const host = (await f.cf.realtimeKit.presets.getPresetByID(row.id, f.at())).data;
    assert.equal(host.permissions.kick_participant, true, JSON.stringify(host));
    const p = await f.connect(alice);
    try {
        const h = p.hello;
        /* group_call_host has show_participant_list and accept_waiting_requests. */
        assert.deepEqual(Object.keys(h).sort(),
            ['heartbeat_ms', 'participants', 'polls', 'protocol', 'self', 'session', 'state', 'type',
                'waiting'], JSON.stringify(h));
        assert.equal(h.type, 'hello');
        assert.equal(h.protocol, 2);
        assert.equal(h.state, 'joined');
        assert.equal(h.heartbeat_ms, 25000);
        assert.deepEqual(h.polls, []);
        assert.deepEqual(h.waiting, []);
        assert.deepEqual(h.self, {
            peer_id: h.self.peer_id,
            participant_id: alice.id,
            custom_participant_id: 'alice-c',
            name: 'Alice',
            preset_name: 'group_call_host',
            permissions: host.permissions,
        });
        assert.match(h.self.peer_id, UUID_V4);
        /* The list includes the receiving peer itself. */
        assert.deepEqual(h.participants, [{
            peer_id: h.self.peer_id, participant_id: alice.id, custom_participant_id: 'alice-c',
            name: 'Alice', picture: alice.picture ?? null, preset_name: 'group_call_host',
            joined_at: h.participants[0]?.joined_at,
        }]);
        assert.match(h.participants[0].joined_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        assertSessionShape(h.session, { meeting, appId: f.appId });
        assert.equal(h.session.live_participants, 1);
        assert.equal(h.session.max_concurrent_participants, 1);
        /* The same object GET …/active-session returns. */
        const s = await f.active(meeting.id);
        assertSessionShape(s, { meeting, appId: f.appId });
        assert.equal(s.id, h.session.id);
        for (const k of ['associated_id', 'meeting_display_name', 'type', 'status', 'organization_id',
            'started_at', 'created_at', 'live_participants', 'max_concurrent_participants']) {
            assert.deepEqual(s[k], h.session[k], `${k}: GET ${JSON.stringify(s)} hello ${JSON.stringify(h.session)}`);
        }
        assert.equal(p.all[0], h, `hello is the first frame: ${JSON.stringify(p.all)}`);
    } finally {
        await p.close();
    }
});

test('the channel is also served under /client/v4 and takes Authorization: Bearer', async () => {
    const b = await someone();
    const c = await someone();
    const pb = await f.connect(b, { path: '/client/v4/v1/ws' });
    const pc = await f.connect(c, { bearer: true });
    try {
        assert.equal(pb.hello.self.participant_id, b.id);
        assert.equal(pc.hello.self.participant_id, c.id);
        assert.equal(pb.hello.session.id, pc.hello.session.id);
    } finally {
        await pb.close();
        await pc.close();
    }
});

test('ping → pong echoing ref; a ping without ref gets a pong without one', async () => {
    const p = await f.connect(await someone());
    try {
        p.send({ type: 'ping', ref: 'abc-123' });
        assert.deepEqual(await p.next('pong'), { type: 'pong', ref: 'abc-123' });
        p.send({ type: 'ping' });
        assert.deepEqual(await p.next('pong'), { type: 'pong' });
        const ref64 = 'r'.repeat(64);
        p.send({ type: 'ping', ref: ref64 });
        assert.deepEqual(await p.next('pong'), { type: 'pong', ref: ref64 });
    } finally {
        await p.close();
    }
});

test('error events: invalid_json, invalid_message, unknown_type; the connection stays open',
    async () => {
        const p = await f.connect(await someone());
        try {
            const expectError = async (msg, code, ref) => {
                p.send(msg);
                const e = await p.next('error');
                assert.equal(e.code, code, `for ${JSON.stringify(msg)}: ${JSON.stringify(e)}`);
                assert.equal(typeof e.message, 'string');
                assert.ok(e.message.length > 0);
                if (ref === undefined) assert.equal(e.ref, undefined, JSON.stringify(e));
                else assert.equal(e.ref, ref, JSON.stringify(e));
                return e;
            };
            await expectError('this is not json', 'invalid_json');
            await expectError('{"type":"ping"', 'invalid_json');
            await expectError({ ref: 'no-type' }, 'invalid_message', 'no-type');
            await expectError({ type: 42, ref: 'num-type' }, 'invalid_message', 'num-type');
            await expectError({ type: 'dance', ref: 'what' }, 'unknown_type', 'what');
            await expectError({ type: 'dance' }, 'unknown_type');
            /* A ref that is too long or not a string is itself invalid. */
            p.send({ type: 'ping', ref: 'x'.repeat(65) });
            const long = await p.next((e) => e.type !== 'session.updated');
            assert.equal(long.type, 'error', JSON.stringify(long));
            assert.equal(long.code, 'invalid_message');
            /* Still open and answering. */
            await p.ping('still-here');
            assert.equal(p.closeInfo, null);
            const s = await f.active(meeting.id);
            assert.ok(s.live_participants >= 1);
        } finally {
            await p.close();
        }
    });

test('handshake: missing or garbage token → 401; not a WebSocket handshake → 400', async () => {
    await expectRefused(f.srv, undefined, 401);
    await expectRefused(f.srv, '', 401);
    await expectRefused(f.srv, 'garbage', 401);
    await expectRefused(f.srv, 'a.b.c', 401);
    await expectRefused(f.srv, 'garbage', 401, { bearer: true });
    await expectRefused(f.srv, undefined, 401, { path: '/client/v4/v1/ws' });
    /* A token over 2 KiB (hardening issue, item 7): there is one, and it is not valid. */
    const long = await expectRefused(f.srv, 'x'.repeat(3000), 401);
    assert.match(long.json.error.message, /not valid/, long.body);
    /* A real token with one character of its signature changed. */
    const t = alice.token;
    const last = t.at(-2) === 'A' ? 'B' : 'A';
    await expectRefused(f.srv, `${t.slice(0, -2)}${last}${t.at(-1)}`, 401);

    /* Plain HTTP GET (no Upgrade) on the channel path, with and without a token. */
    for (const path of ['/v1/ws', `/v1/ws?token=${encodeURIComponent(alice.token)}`]) {
        const r = await http(f.srv, 'GET', path, { root: true });
        assert.equal(r.status, 400, `GET ${path}: ${r.status} ${r.text}`);
        assert.equal(r.json?.success, false, r.text);
        assert.equal(r.json?.error?.code, 400, r.text);
    }
    /* Upgrades written by hand: wrong version, no key, not GET. */
    const q = `/v1/ws?token=${encodeURIComponent(alice.token)}`;
    const key = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
    const up = 'Upgrade: websocket\r\nConnection: Upgrade\r\n';
    for (const [what, raw] of [
        ['version 8', `GET ${q} HTTP/1.1\r\nHost: x\r\n${up}${key}Sec-WebSocket-Version: 8\r\n\r\n`],
        ['no key', `GET ${q} HTTP/1.1\r\nHost: x\r\n${up}Sec-WebSocket-Version: 13\r\n\r\n`],
        ['no Upgrade header', `GET ${q} HTTP/1.1\r\nHost: x\r\n${key}Sec-WebSocket-Version: 13\r\n\r\n`],
    ]) {
        const r = await rawExchange(f.srv.port, raw, { until: (b) => parseResponses(b).length > 0 });
        const [res] = parseResponses(r.data);
        assert.ok(res, `${what}: no HTTP response: ${JSON.stringify(r.data.toString())}`);
        assert.equal(res.status, 400, `${what}: ${res.status} ${res.body}`);
        assertRtkEnvelope(JSON.parse(res.body), 400);
    }
    /* None of these joined anyone. */
    const s = await f.activeP(meeting.id).then((r) => r.data, () => null);
    if (s) assert.equal(s.live_participants, 0, JSON.stringify(s));
});

test('a token signed by another server (other data folder) → 401', async () => {
    const other = await liveFixture();
    let foreign;
    try {
        const m = await other.meeting({ title: 'elsewhere' });
        foreign = await other.participant(m.id, 'stranger');
    } finally {
        await other.stop();
    }
    const r = await expectRefused(f.srv, foreign.token, 401);
    assert.ok(r.json.error.message.length > 0);
});

test('tokens signed with the right key: expired, unknown participant, alg none → 401',
    async () => {
        const now = Math.floor(Date.now() / 1000);
        /* Our re-signing reproduces a token the server accepts… */
        const same = await reSign(f.dataDir, alice.token, (pl) => pl);
        const ok = await f.connect(same);
        await ok.close();
        /* …so these are refused for what they say, not for their signature. */
        const expired = await reSign(f.dataDir, alice.token,
            (pl) => ({ ...pl, iat: now - 100, exp: now - 10 }));
        const r = await expectRefused(f.srv, expired, 401);
        assert.match(r.json.error.message, /expired/i, r.body);
        const nobody = await reSign(f.dataDir, alice.token, (pl) => JSON.parse(
            JSON.stringify(pl).replaceAll(alice.id, '11111111-2222-4333-8444-555555555555')));
        await expectRefused(f.srv, nobody, 401);
        const [h, p] = alice.token.split('.');
        const none = `${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(h, 'base64url')),
            alg: 'none' })).toString('base64url')}.${p}.`;
        await expectRefused(f.srv, none, 401);
        const hs512 = await reSign(f.dataDir, alice.token, (pl) => pl, { alg: 'HS512' });
        await expectRefused(f.srv, hs512, 401);
    });

test('a binary frame closes with 1003', async () => {
    const p = await f.connect(await someone());
    p.ws.send(Buffer.from('{"type":"ping"}'), { binary: true });
    const c = await p.closed();
    assert.equal(c.code, CLOSE.UNSUPPORTED, JSON.stringify(c));
});

test('a message over 64 KiB closes with 1009; one just under is handled', async () => {
    const p = await f.connect(await someone());
    /* 64 KiB minus a little: a ping with padding is still a ping. */
    const pad = 'x'.repeat(65536 - 64);
    p.send(`{"type":"ping","ref":"big","pad":"${pad}"}`.slice(0, 65536));
    const pong = await p.next('pong');
    assert.equal(pong.ref, 'big');
    p.send(`{"type":"ping","pad":"${'y'.repeat(65536)}"}`);
    const c = await p.closed();
    assert.equal(c.code, CLOSE.TOO_BIG, JSON.stringify(c));
});

test('a fragmented message over 64 KiB closes with 1009', async () => {
    const r = await f.rawConnect(await someone());
    const chunk = Buffer.alloc(20000, 'z');
    r.sendFrame(OP.TEXT, chunk, { fin: false });
    for (let i = 0; i < 3; i++) r.sendFrame(OP.CONT, chunk, { fin: false });
    r.sendFrame(OP.CONT, chunk, { fin: true });
    const c = await r.closed();
    assert.equal(c.code, CLOSE.TOO_BIG, JSON.stringify(c));
});

test('a frame header announcing more than 64 KiB closes with 1009 before any payload',
    async () => {
        const r = await f.rawConnect(await someone());
        const head = Buffer.alloc(14);
        head[0] = 0x81; /* FIN, text */
        head[1] = 0x80 | 127; /* masked, 64-bit length */
        head.writeBigUInt64BE(100000n, 2);
        r.write(head); /* …and no payload: the server must not wait for it */
        const c = await r.closed(2000);
        assert.equal(c.code, CLOSE.TOO_BIG, JSON.stringify(c));
    });

test('invalid UTF-8 in a text message closes with 1007', async () => {
    const r = await f.rawConnect(await someone());
    r.sendFrame(OP.TEXT, Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])); /* {"\xff\xfe"} */
    const c = await r.closed();
    assert.equal(c.code, CLOSE.INVALID_DATA, JSON.stringify(c));

    /* Also when the bad sequence is split across fragments (an overlong encoding here). */
    const r2 = await f.rawConnect(await someone());
    r2.sendFrame(OP.TEXT, Buffer.from([0x7b, 0x22, 0xc0]), { fin: false });
    r2.sendFrame(OP.CONT, Buffer.from([0xaf, 0x22, 0x7d]), { fin: true });
    const c2 = await r2.closed();
    assert.equal(c2.code, CLOSE.INVALID_DATA, JSON.stringify(c2));
});

test('protocol violations close with 1002: unmasked, bad control frames, stray continuation',
    async () => {
        const cases = [
            ['an unmasked frame', (r) => r.sendFrame(OP.TEXT, '{"type":"ping"}', { mask: false })],
            ['a fragmented ping', (r) => r.sendFrame(OP.PING, 'x', { fin: false })],
            ['a ping over 125 bytes', (r) => r.sendFrame(OP.PING, Buffer.alloc(126, 1))],
            ['a continuation with no message', (r) => r.sendFrame(OP.CONT, '{}')],
            ['a text frame inside a fragmented message', (r) => {
                r.sendFrame(OP.TEXT, '{"type":', { fin: false });
                r.sendFrame(OP.TEXT, '"ping"}');
            }],
            ['RSV bits set', (r) => r.sendFrame(OP.TEXT, '{"type":"ping"}', { rsv: 4 })],
            ['a reserved opcode', (r) => r.sendFrame(3, 'x')],
        ];
        for (const [what, act] of cases) {
            const r = await f.rawConnect(await someone());
            act(r);
            const c = await r.closed();
            assert.equal(c.code, CLOSE.PROTOCOL, `${what}: ${JSON.stringify(c)}`);
        }
    });

test('fragments are assembled, with a ping allowed between them', async () => {
    const r = await f.rawConnect(await someone());
    try {
        r.sendFrame(OP.TEXT, '{"type":"pi', { fin: false });
        r.sendFrame(OP.PING, 'hb');
        r.sendFrame(OP.CONT, 'ng","ref":"fr', { fin: false });
        r.sendFrame(OP.CONT, 'ag"}', { fin: true });
        assert.deepEqual(await r.next('pong'), { type: 'pong', ref: 'frag' });
        const pongFrame = r.frames.find((x) => x.opcode === OP.PONG);
        assert.ok(pongFrame, 'the WebSocket ping got a pong frame');
        assert.equal(pongFrame.payload.toString(), 'hb');
        assert.ok(r.frames.every((x) => !x.masked), 'server frames are not masked');
        /* The same message byte by byte on the wire. */
        const whole = Buffer.from(JSON.stringify({ type: 'ping', ref: 'bytes' }));
        for (const b of frame(OP.TEXT, whole)) r.write(Buffer.from([b]));
        assert.deepEqual(await r.next('pong'), { type: 'pong', ref: 'bytes' });
    } finally {
        r.destroy();
    }
});

test('close handshake: the server answers a close with a close and ends the connection',
    async () => {
        const r = await f.rawConnect(await someone());
        r.sendFrame(OP.CLOSE, closePayload(CLOSE.NORMAL, 'bye'));
        const c = await r.closed();
        assert.equal(c.code, CLOSE.NORMAL, JSON.stringify(c));
        assert.equal(r.socketClosed, true);

        /* A close with no body is answered too (1000 or no code). */
        const r2 = await f.rawConnect(await someone());
        r2.sendFrame(OP.CLOSE, Buffer.alloc(0));
        const c2 = await r2.closed();
        assert.ok(c2.code === null || c2.code === CLOSE.NORMAL, JSON.stringify(c2));
        assert.ok(r2.frames.some((x) => x.opcode === OP.CLOSE), 'a close frame came back');

        /* A close with an invalid code is a protocol error. */
        const r3 = await f.rawConnect(await someone());
        r3.sendFrame(OP.CLOSE, closePayload(1005));
        const c3 = await r3.closed();
        assert.equal(c3.code, CLOSE.PROTOCOL, JSON.stringify(c3));
    });

test('flood control: beyond the burst → rate_limited errors, then close 1008', async () => {
    const p = await f.connect(await someone());
    for (let i = 0; i < 300; i++) p.send({ type: 'ping', ref: `f${i}` });
    const c = await p.closed();
    assert.equal(c.code, CLOSE.POLICY, JSON.stringify(c));
    const pongs = p.all.filter((e) => e.type === 'pong');
    const limited = p.all.filter((e) => e.type === 'error' && e.code === 'rate_limited');
    assert.ok(pongs.length >= 90 && pongs.length < 150, `${pongs.length} pongs`);
    assert.ok(limited.length >= 50, `${limited.length} rate_limited errors`);
    assert.equal(pongs.length + limited.length < 300, true, 'not every message was answered');

    /* A peer that pauses after being limited is fine. */
    const q = await f.connect(await someone());
    for (let i = 0; i < 110; i++) q.send({ type: 'ping', ref: `g${i}` });
    await q.next((e) => e.type === 'error' && e.code === 'rate_limited');
    await sleep(400);
    await q.ping('after-pause');
    assert.equal(q.closeInfo, null);
    await q.close();
});

test('replace: a second connection of the same participant closes the first with 4002',
    async () => {
        const m = await f.meeting({ title: 'replace' });
        const bob = await f.participant(m.id, 'bob-r');
        const watcher = await f.connect(await f.participant(m.id, 'watch-r'), { label: 'watcher' });
        const first = await f.connect(bob, { label: 'first' });
        const second = await f.connect(bob, { label: 'second' });
        try {
            const c = await first.closed();
            assert.equal(c.code, CLOSE.REPLACED, JSON.stringify(c));
            assert.notEqual(second.hello.self.peer_id, first.hello.self.peer_id);
            assert.equal(second.hello.session.id, first.hello.session.id);
            /* Counts are the watcher plus bob, once. */
            assert.equal(second.hello.session.live_participants, 2, JSON.stringify(second.hello));
            assert.equal(second.hello.session.max_concurrent_participants, 2);
            const s = await f.active(m.id);
            assert.equal(s.live_participants, 2, JSON.stringify(s));
            assert.equal(s.max_concurrent_participants, 2, JSON.stringify(s));
            await second.ping();
            /* A third replaces the second, and bob is still never counted twice. */
            const third = await f.connect(bob, { label: 'third' });
            assert.equal((await second.closed()).code, CLOSE.REPLACED);
            const s2 = await f.active(m.id);
            assert.equal(s2.live_participants, 2);
            assert.equal(s2.max_concurrent_participants, 2);
            /* The watcher never saw bob counted twice. */
            await watcher.next((e) => e.type === 'session.updated' &&
                e.session.live_participants === 2, 3000);
            await sleep(1100);
            const seen = watcher.all.filter((e) => e.type === 'session.updated')
                .map((e) => [e.session.live_participants, e.session.max_concurrent_participants]);
            assert.ok(seen.every(([l, pk]) => l <= 2 && pk <= 2), JSON.stringify(seen));
            await third.close();
            await watcher.close();
            await eventually(async () => {
                assert.equal((await f.active(m.id)).live_participants, 0);
            });
        } finally {
            second.terminate();
        }
    });
