// SPDX-License-Identifier: MIT
// Peers for the participant channel (PROTOCOL.md): a `ws` client that queues what the server
// sends, a raw TCP client that does the handshake and frames (and masks) by hand, a probe for
// handshakes the server must refuse, and a fixture with helpers for meetings, participants and
// the Active Session and session-history APIs.

import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import WebSocket from 'ws';
import {
    start, tempDir, createAccount, createToken, sleep, assertRtkEnvelope, STORE, pgQuery,
} from './rtkd.js';

/* How long to wait for an event or a close before failing (generous for a sanitized build). */
export const WAIT_MS = 4000;

export const WS_PATH = '/v1/ws';

/* Close codes of PROTOCOL.md. */
export const CLOSE = {
    NORMAL: 1000,
    GOING_AWAY: 1001,
    PROTOCOL: 1002,
    UNSUPPORTED: 1003,
    INVALID_DATA: 1007,
    POLICY: 1008,
    TOO_BIG: 1009,
    KICKED: 4001,
    REPLACED: 4002,
    DELETED: 4003,
    WAITING_ENDED: 4004, /* refused from the waiting room, or the session ended while waiting */
};

/* The keys of the session object (GET …/active-session data, hello.session). */
export const SESSION_KEYS = [
    'associated_id', 'breakout_rooms', 'created_at', 'ended_at', 'id', 'live_participants',
    'max_concurrent_participants', 'meeting_display_name', 'meta', 'minutes_consumed',
    'organization_id', 'started_at', 'status', 'type', 'updated_at',
];

/**
 * Events (parsed text messages) and the close, shared by Peer and RawPeer. next() takes the
 * first queued event matching a type or predicate (leaving the others queued); closed()
 * resolves {code, reason} when the connection is over.
 */
class EventQueue {
    constructor(label) {
        this.label = label;
        this.queue = [];
        this.all = [];
        this.closeInfo = null;
        this.wakers = new Set();
    }

    push(ev) {
        /* When it arrived, for timing checks; not enumerable, so deepEqual ignores it. */
        if (typeof ev !== 'object' || ev === null) ev = { type: '<not an object>', raw: ev };
        Object.defineProperty(ev, 'receivedAt', { value: Date.now(), enumerable: false });
        this.queue.push(ev);
        this.all.push(ev);
        this.wake();
    }

    setClosed(info) {
        if (this.closeInfo) return;
        this.closeInfo = info;
        this.wake();
    }

    wake() {
        for (const w of [...this.wakers]) w();
    }

    /* Resolves when check() returns something other than undefined; rejects after ms. */
    waitUntil(check, ms, what) {
        return new Promise((resolve, reject) => {
            const tryIt = () => {
                let v;
                try {
                    v = check();
                } catch (e) {
                    done();
                    reject(e);
                    return true;
                }
                if (v === undefined) return false;
                done();
                resolve(v);
                return true;
            };
            const timer = setTimeout(() => {
                done();
                reject(new Error(`${this.label}: no ${what} within ${ms} ms; received ` +
                    `${JSON.stringify(this.all).slice(0, 2000)}; close ` +
                    `${JSON.stringify(this.closeInfo)}`));
            }, ms);
            const waker = () => { tryIt(); };
            const done = () => {
                clearTimeout(timer);
                this.wakers.delete(waker);
            };
            this.wakers.add(waker);
            tryIt();
        });
    }

    /**
     * The next event whose type is TYPE (a string) or which PRED accepts (a function); any
     * event when omitted. Fails if the connection closes first.
     */
    next(typeOrPred, ms = WAIT_MS) {
        const pred = typeof typeOrPred === 'function' ? typeOrPred
            : typeOrPred === undefined ? () => true : (e) => e.type === typeOrPred;
        return this.waitUntil(() => {
            const i = this.queue.findIndex(pred);
            if (i >= 0) return this.queue.splice(i, 1)[0];
            if (this.closeInfo) {
                throw new Error(`${this.label}: closed ${JSON.stringify(this.closeInfo)} ` +
                    `before the expected event; received ${JSON.stringify(this.all).slice(0, 2000)}`);
            }
            return undefined;
        }, ms, typeof typeOrPred === 'string' ? `"${typeOrPred}" event` : 'matching event');
    }

    /* Resolves {code, reason} once the connection is closed. */
    closed(ms = WAIT_MS) {
        return this.waitUntil(() => this.closeInfo ?? undefined, ms, 'close');
    }

    /* Asserts no event matching TYPE/PRED arrives within MS. */
    async none(typeOrPred, ms) {
        const pred = typeof typeOrPred === 'function' ? typeOrPred : (e) => e.type === typeOrPred;
        await sleep(ms);
        const got = this.queue.filter(pred);
        assert.equal(got.length, 0, `${this.label}: unexpected ${JSON.stringify(got)}`);
    }

    /* Drops every queued event. */
    drain() {
        this.queue.length = 0;
    }
}

function wsURL(srv, token, { path = WS_PATH, query = true } = {}) {
    const base = `ws://127.0.0.1:${srv.port}${path}`;
    return query && token !== undefined ? `${base}?token=${encodeURIComponent(token)}` : base;
}

/**
 * A participant connected with the `ws` library. Texts are parsed as JSON (a frame that is not
 * JSON is queued as {type:'<not json>', raw}); binary frames are queued as {type:'<binary>'}.
 */
export class Peer extends EventQueue {
    constructor(ws, label) {
        super(label);
        this.ws = ws;
        this.hello = null;
        ws.on('message', (data, isBinary) => {
            if (isBinary) {
                this.push({ type: '<binary>', raw: data });
                return;
            }
            const text = data.toString('utf8');
            let ev;
            try {
                ev = JSON.parse(text);
            } catch {
                this.push({ type: '<not json>', raw: text });
                return;
            }
            /* The frame's exact text, for "the same bytes for every receiver"; not enumerable,
             * so deepEqual ignores it. */
            if (typeof ev === 'object' && ev !== null) {
                Object.defineProperty(ev, 'rawText', { value: text, enumerable: false });
            }
            this.push(ev);
        });
        ws.on('close', (code, reason) => this.setClosed({ code, reason: reason.toString() }));
        ws.on('error', (e) => { this.error = e; });
    }

    /* Sends OBJ as JSON text (or a string as is). */
    send(obj) {
        this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
    }

    /* Sends a ping message and returns the pong. */
    async ping(ref = `r-${Math.random().toString(36).slice(2, 10)}`) {
        this.send({ type: 'ping', ref });
        const pong = await this.next((e) => e.type === 'pong' && e.ref === ref);
        return pong;
    }

    /* Closes from our side (1000) and waits for the server's close. */
    async close(code = CLOSE.NORMAL) {
        if (!this.closeInfo) this.ws.close(code);
        return this.closed();
    }

    /* Drops the TCP connection without a close handshake. */
    terminate() {
        this.ws.terminate();
    }
}

/**
 * Connects a participant with TOKEN and waits for `hello` (stored as peer.hello).
 * opts.path     the channel path (default /v1/ws; also /client/v4/v1/ws)
 * opts.bearer   send the token in Authorization: Bearer instead of ?token=
 * opts.autoPong answer WebSocket pings (default true; false makes a silent peer)
 * opts.label    a name for failure messages
 */
export async function connect(srv, token, opts = {}) {
    const { path = WS_PATH, bearer = false, autoPong = true, label = 'peer' } = opts;
    const headers = bearer ? { authorization: `Bearer ${token}` } : {};
    const ws = new WebSocket(wsURL(srv, token, { path, query: !bearer }),
        { headers, autoPong, maxPayload: 0, perMessageDeflate: false });
    const peer = new Peer(ws, label);
    await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('unexpected-response', (req, res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (d) => { body += d; });
            res.on('end', () => {
                reject(new Error(`${label}: handshake refused with HTTP ${res.statusCode}: ${body}`));
                req.destroy();
            });
        });
        ws.once('error', reject);
    });
    peer.hello = await peer.next('hello');
    return peer;
}

/**
 * Attempts a handshake that the server must refuse; resolves {status, headers, body, json}.
 * Fails if the upgrade succeeds. TOKEN undefined sends no token. Same opts as connect().
 */
export function refusal(srv, token, opts = {}) {
    const { path = WS_PATH, bearer = false, headers: extra = {} } = opts;
    const headers = { ...extra };
    if (bearer && token !== undefined) headers.authorization = `Bearer ${token}`;
    return new Promise((resolve, reject) => {
        const ws = new WebSocket(wsURL(srv, token, { path, query: !bearer }),
            { headers, perMessageDeflate: false });
        ws.once('open', () => {
            ws.terminate();
            reject(new Error(`handshake with token ${String(token).slice(0, 40)}… was accepted`));
        });
        ws.once('unexpected-response', (req, res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (d) => { body += d; });
            res.on('end', () => {
                let json;
                try {
                    json = JSON.parse(body);
                } catch {
                    json = undefined;
                }
                resolve({ status: res.statusCode, headers: res.headers, body, json });
                req.destroy();
            });
        });
        ws.once('error', (e) => reject(e));
    });
}

/* Asserts the handshake is refused with STATUS and the RealtimeKit error envelope. */
export async function expectRefused(srv, token, status, opts) {
    const r = await refusal(srv, token, opts);
    assert.equal(r.status, status, `handshake: expected HTTP ${status}, got ${r.status}: ${r.body}`);
    assertRtkEnvelope(r.json, status);
    assert.match(r.headers['content-type'] || '', /application\/json/);
    return r;
}

/* ---- raw frames ---- */

export const OP = { CONT: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 };

/**
 * One client frame: FIN (default true), OPCODE, PAYLOAD (Buffer or string), masked with a
 * random key unless mask is false; rsv sets the RSV bits (0-7).
 */
export function frame(opcode, payload = Buffer.alloc(0), { fin = true, mask = true, rsv = 0 } = {}) {
    const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
    const len = data.length;
    let head;
    if (len < 126) {
        head = Buffer.alloc(2);
        head[1] = len;
    } else if (len < 65536) {
        head = Buffer.alloc(4);
        head[1] = 126;
        head.writeUInt16BE(len, 2);
    } else {
        head = Buffer.alloc(10);
        head[1] = 127;
        head.writeBigUInt64BE(BigInt(len), 2);
    }
    head[0] = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f);
    if (!mask) return Buffer.concat([head, data]);
    head[1] |= 0x80;
    const key = randomBytes(4);
    const body = Buffer.alloc(len);
    for (let i = 0; i < len; i++) body[i] = data[i] ^ key[i & 3];
    return Buffer.concat([head, key, body]);
}

/* A close frame's payload: the code, then the UTF-8 reason. */
export function closePayload(code, reason = '') {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(code, 0);
    return Buffer.concat([b, Buffer.from(reason, 'utf8')]);
}

/**
 * A participant on a bare TCP socket: the handshake and every frame are written by hand, so
 * tests can send what `ws` refuses to (unmasked, invalid UTF-8, bad fragments). Server frames
 * are parsed: text → events, close → closeInfo ({code, reason}, code null if the TCP
 * connection ended without a close frame), pings → this.pings (never answered).
 * this.frames lists every server frame {fin, opcode, payload}.
 */
export class RawPeer extends EventQueue {
    constructor(sock, label) {
        super(label);
        this.sock = sock;
        this.buf = Buffer.alloc(0);
        this.frames = [];
        this.pings = 0;
        this.closeFrame = null;
        this.socketClosed = false;
    }

    write(bytes) {
        if (!this.sock.destroyed) this.sock.write(bytes);
    }

    sendFrame(opcode, payload, opts) {
        this.write(frame(opcode, payload, opts));
    }

    send(obj) {
        this.sendFrame(OP.TEXT, typeof obj === 'string' ? obj : JSON.stringify(obj));
    }

    onData(d) {
        this.buf = Buffer.concat([this.buf, d]);
        for (;;) {
            if (this.buf.length < 2) return;
            const b0 = this.buf[0];
            const b1 = this.buf[1];
            let len = b1 & 0x7f;
            let off = 2;
            if (len === 126) {
                if (this.buf.length < 4) return;
                len = this.buf.readUInt16BE(2);
                off = 4;
            } else if (len === 127) {
                if (this.buf.length < 10) return;
                len = Number(this.buf.readBigUInt64BE(2));
                off = 10;
            }
            if (b1 & 0x80) off += 4; /* servers must not mask; keep parsing anyway */
            if (this.buf.length < off + len) return;
            const payload = this.buf.subarray(off, off + len);
            this.buf = this.buf.subarray(off + len);
            const f = { fin: !!(b0 & 0x80), opcode: b0 & 0x0f, masked: !!(b1 & 0x80), payload };
            this.frames.push(f);
            if (f.opcode === OP.TEXT) {
                const text = payload.toString('utf8');
                try {
                    this.push(JSON.parse(text));
                } catch {
                    this.push({ type: '<not json>', raw: text });
                }
            } else if (f.opcode === OP.PING) {
                this.pings++;
            } else if (f.opcode === OP.CLOSE) {
                this.closeFrame = {
                    code: payload.length >= 2 ? payload.readUInt16BE(0) : null,
                    reason: payload.subarray(2).toString('utf8'),
                };
            }
        }
    }

    /* Resolves when the TCP connection is closed: {code, reason} of the server's close frame
     * (code null if there was none). */
    onClose() {
        this.socketClosed = true;
        this.setClosed(this.closeFrame ?? { code: null, reason: '' });
    }

    destroy() {
        this.sock.destroy();
    }
}

/**
 * Opens a RawPeer: writes the upgrade request by hand, checks the 101 and Sec-WebSocket-Accept
 * and waits for `hello`. opts.path as connect(); opts.hello false skips waiting for hello.
 */
export async function rawConnect(srv, token, { path = WS_PATH, hello = true, label = 'raw' } = {}) {
    const sock = net.connect(srv.port, '127.0.0.1');
    sock.setNoDelay(true);
    const peer = new RawPeer(sock, label);
    const key = randomBytes(16).toString('base64');
    await new Promise((resolve, reject) => {
        sock.once('connect', resolve);
        sock.once('error', reject);
    });
    sock.on('error', () => {});
    sock.write(`GET ${path}?token=${encodeURIComponent(token)} HTTP/1.1\r\n` +
        `Host: 127.0.0.1:${srv.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    const head = await new Promise((resolve, reject) => {
        let buf = Buffer.alloc(0);
        const timer = setTimeout(() => reject(new Error(`${label}: no handshake answer`)), WAIT_MS);
        const onData = (d) => {
            buf = Buffer.concat([buf, d]);
            const end = buf.indexOf('\r\n\r\n');
            if (end < 0) return;
            clearTimeout(timer);
            sock.off('data', onData);
            const rest = buf.subarray(end + 4);
            resolve({ text: buf.subarray(0, end).toString('latin1'), rest });
        };
        sock.on('data', onData);
        sock.once('close', () => reject(new Error(`${label}: closed during the handshake: ${buf}`)));
    });
    assert.match(head.text, /^HTTP\/1\.1 101 /, `${label}: handshake answer ${head.text}`);
    const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
        .digest('base64');
    assert.ok(head.text.toLowerCase().includes(`sec-websocket-accept: ${accept.toLowerCase()}`),
        `${label}: bad Sec-WebSocket-Accept in ${head.text}`);
    sock.on('data', (d) => peer.onData(d));
    sock.on('close', () => peer.onClose());
    if (head.rest.length) peer.onData(head.rest);
    if (hello) peer.hello = await peer.next('hello');
    return peer;
}

/* ---- tokens ---- */

/**
 * Re-signs participant token TOKEN with the server's own key (DATADIR/signing.key, HS256)
 * after applying EDIT to its payload (and HEADER over its header): lets a test make a token
 * that is well signed but expired, or names a participant that does not exist.
 */
export async function reSign(dataDir, token, edit, header = {}) {
    /* The key lives in the data folder on SQLite and in the database on PostgreSQL. */
    const key = STORE === 'postgres'
        ? Buffer.from(await pgQuery(dataDir, "SELECT value FROM keys WHERE name='signing'"), 'hex')
        : await readFile(`${dataDir}/signing.key`);
    const [h, p] = token.split('.');
    const dec = (x) => JSON.parse(Buffer.from(x, 'base64url').toString('utf8'));
    const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const head = enc({ ...dec(h), ...header });
    const body = enc(edit(dec(p)));
    const sig = createHmac('sha256', key).update(`${head}.${body}`).digest('base64url');
    return `${head}.${body}.${sig}`;
}

/* ---- polling ---- */

/**
 * Calls FN until it resolves without throwing (returning its value) or MS elapse (rethrowing
 * the last failure). Waits EVERY ms between tries.
 */
export async function eventually(fn, { ms = 3000, every = 50 } = {}) {
    const deadline = Date.now() + ms;
    for (;;) {
        try {
            return await fn();
        } catch (e) {
            if (Date.now() >= deadline) throw e;
        }
        await sleep(every);
    }
}

/* ---- fixture ---- */

/**
 * A server with one account, API token and app, plus helpers. opts.heartbeatMs adds
 * --heartbeat-ms, opts.args more serve flags; opts.dataDir reuses a data folder. f.stop() stops the server (asserting exit
 * 0) and removes the data folder; f.restart({kill}) restarts on the same folder (SIGTERM, or
 * SIGKILL when kill is true).
 */
export async function liveFixture(opts = {}) {
    const dataDir = opts.dataDir || await tempDir('rtkd-e2e-live-');
    const accountId = await createAccount(dataDir, 'live');
    const token = await createToken(dataDir, accountId, 'live-token');
    const serveArgs = () => ['serve', '--listen', '127.0.0.1:0', '--data', dataDir,
        ...(opts.heartbeatMs ? ['--heartbeat-ms', String(opts.heartbeatMs)] : []),
        ...(opts.args || [])];
    const f = {
        dataDir,
        accountId,
        token,
        srv: await start({ dataDir, args: serveArgs() }),
    };
    f.cf = f.srv.client(token);
    f.appId = (await f.cf.realtimeKit.apps.post({ account_id: accountId, name: 'live-app' }))
        .data.app.id;
    f.at = (extra = {}) => ({ account_id: accountId, app_id: f.appId, ...extra });
    const M = () => f.cf.realtimeKit.meetings;
    const A = () => f.cf.realtimeKit.activeSession;
    const S = () => f.cf.realtimeKit.sessions;

    /* Creates a meeting (title and fields in BODY); returns its data. */
    f.meeting = async (body = {}) =>
        (await M().create(f.appId, { account_id: accountId, title: 'live', ...body })).data;
    /* Adds a participant; returns its data (with token). */
    f.participant = async (meetingId, custom, extra = {}) =>
        (await M().addParticipant(meetingId, f.at({ custom_participant_id: custom,
            preset_name: 'group_call_participant', name: custom, ...extra }))).data;
    f.updateMeeting = async (meetingId, body) =>
        (await M().updateMeetingByID(meetingId, f.at(body))).data;
    f.deleteParticipant = async (meetingId, participantId) =>
        (await M().deleteMeetingParticipant(participantId, f.at({ meeting_id: meetingId }))).data;
    /* The active-session promise (for expectRtkError) and its data. */
    f.activeP = (meetingId) => A().getActiveSession(meetingId, f.at());
    f.active = async (meetingId) => (await f.activeP(meetingId)).data;
    f.kickP = (meetingId, body) => A().kickParticipants(meetingId, f.at(body));
    f.kick = async (meetingId, body) => (await f.kickP(meetingId, body)).data;
    f.kickAllP = (meetingId) => A().kickAllParticipants(meetingId, f.at());
    f.kickAll = async (meetingId) => (await f.kickAllP(meetingId)).data;
    f.sessions = (query = {}) => S().getSessions(f.appId, { account_id: accountId, ...query });
    f.sessionP = (sessionId) => S().getSessionDetails(sessionId, f.at());
    f.session = async (sessionId) => (await f.sessionP(sessionId)).data;
    f.sessionParticipants = (sessionId, query = {}) =>
        S().getSessionParticipants(sessionId, f.at(query));

    /* Resolves once everything the server did before it is stored. A peer's join reaches the
     * store with the group commit after its hello went out (events do not wait for the
     * commit, docs/design.md); a later write's reply comes after a later commit. Call it before a
     * kill -9 that must find the session stored. */
    f.committed = () => f.meeting({ title: 'commit barrier' });

    /* A meeting with N participants (custom ids PREFIX-0 …); returns {meeting, parts}. */
    f.meetingWith = async (n, body = {}, prefix = 'p') => {
        const meeting = await f.meeting(body);
        const parts = [];
        for (let i = 0; i < n; i++) parts.push(await f.participant(meeting.id, `${prefix}-${i}`));
        return { meeting, parts };
    };

    f.connect = (part, o = {}) => connect(f.srv, part.token ?? part,
        { label: part.custom_participant_id ?? 'peer', ...o });
    f.rawConnect = (part, o = {}) => rawConnect(f.srv, part.token ?? part,
        { label: `raw ${part.custom_participant_id ?? ''}`, ...o });

    f.restart = async ({ kill = false } = {}) => {
        if (kill) await f.srv.kill();
        else await f.srv.stop({ keepData: true });
        f.srv = await start({ dataDir, args: serveArgs() });
        f.cf = f.srv.client(token);
        return f.srv;
    };
    f.stop = async () => {
        await f.srv.stop({ keepData: true });
        if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    };
    return f;
}

/* Asserts S is a session object (PROTOCOL.md §4, reference §3.1) of MEETING in app APPID. */
export function assertSessionShape(s, { meeting, appId, status = 'LIVE' } = {}) {
    assert.deepEqual(Object.keys(s).sort(), SESSION_KEYS, `session keys: ${JSON.stringify(s)}`);
    assert.match(s.id, /^[0-9a-f-]{36}$/);
    if (meeting) {
        assert.equal(s.associated_id, meeting.id);
        assert.equal(s.meeting_display_name, meeting.title);
    }
    if (appId) assert.equal(s.organization_id, appId);
    assert.equal(s.type, 'meeting');
    assert.equal(s.status, status);
    assert.equal(typeof s.live_participants, 'number');
    assert.equal(typeof s.max_concurrent_participants, 'number');
    assert.equal(typeof s.minutes_consumed, 'number');
    assert.ok(s.max_concurrent_participants >= s.live_participants, JSON.stringify(s));
    assert.ok(s.minutes_consumed >= 0);
    for (const k of ['started_at', 'created_at', 'updated_at']) {
        assert.match(s[k], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, `${k} = ${s[k]}`);
    }
    assert.ok(Date.parse(s.updated_at) >= Date.parse(s.started_at), JSON.stringify(s));
    if (status === 'LIVE') {
        assert.equal(s.ended_at, null, `a LIVE session has no ended_at: ${JSON.stringify(s)}`);
    } else {
        assert.match(s.ended_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, `ended_at = ${s.ended_at}`);
        assert.ok(Date.parse(s.ended_at) >= Date.parse(s.started_at), JSON.stringify(s));
        assert.equal(s.live_participants, 0);
    }
    assert.deepEqual(s.breakout_rooms, []);
    assert.deepEqual(s.meta, {});
}
