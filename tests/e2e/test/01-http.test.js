// SPDX-License-Identifier: MIT
// HTTP layer: health probes, the two route prefixes, 404/405, keep-alive, pipelining, chunked
// bodies and the size/time limits (413, 431, 408), all with JSON bodies.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, after } from 'node:test';
import {
    test, startWithApp, http, rawExchange, parseResponses, httpConn, expectRtkError,
} from '../lib/rtkd.js';

let f;
let slowHead;
let slowHeadStarted;

before(async () => {
    f = await startWithApp();
    /* Opened first so that the 10 s head timeout runs while the other tests do. */
    slowHeadStarted = Date.now();
    slowHead = rawExchange(f.srv.port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n',
        { ms: 20000 });
});

after(async () => {
    if (f) await f.srv.stop();
});

function assertJsonResponse(r, status, what) {
    assert.equal(r.status, status, `${what}: status ${r.status}, body ${r.text ?? r.body}`);
    const ct = r.headers.get ? r.headers.get('content-type') : r.headers['content-type'];
    assert.match(ct || '', /application\/json/, `${what}: content-type ${ct}`);
    const json = r.json ?? JSON.parse(r.body);
    assert.equal(typeof json, 'object', `${what}: body is not a JSON object`);
    return json;
}

function meetingsPath() {
    return `/accounts/${f.accountId}/realtime/kit/${f.appId}/meetings`;
}

test('GET /healthz and /readyz answer 200 JSON without a token, at the root and under /client/v4',
    async () => {
        for (const p of ['/healthz', '/readyz']) {
            for (const root of [true, false]) {
                const r = await http(f.srv, 'GET', p, { root });
                assertJsonResponse(r, 200, `${root ? '' : '/client/v4'}${p}`);
            }
        }
    });

test('API routes are served both at the root and under /client/v4', async () => {
    const appsPath = `/accounts/${f.accountId}/realtime/kit/apps`;
    for (const root of [true, false]) {
        const r = await http(f.srv, 'GET', appsPath, { token: f.token, root });
        const json = assertJsonResponse(r, 200, `GET ${root ? '' : '/client/v4'}${appsPath}`);
        assert.equal(json.success, true);
        assert.ok(json.data.some((a) => a.id === f.appId), 'the app is listed');
    }
    /* The SDK pointed at the bare root works too. */
    const rootClient = f.srv.client(f.token, { baseURL: f.srv.rootURL });
    const m = await rootClient.realtimeKit.meetings.create(f.appId,
        { account_id: f.accountId, title: 'via root' });
    assert.equal(m.data.title, 'via root');
    const got = await f.cf.realtimeKit.meetings.getMeetingByID(m.data.id,
        { account_id: f.accountId, app_id: f.appId });
    assert.equal(got.data.id, m.data.id);
});

test('an unknown route answers 404 with a JSON body', async () => {
    for (const p of ['/nope', '/client/v4/nope']) {
        const r = await http(f.srv, 'GET', p, { token: f.token, root: true });
        const json = assertJsonResponse(r, 404, `GET ${p}`);
        assert.equal(json.success, false);
    }
    const deeper = `/accounts/${f.accountId}/realtime/kit/${f.appId}/no-such-thing`;
    const r = await http(f.srv, 'GET', deeper, { token: f.token });
    assert.equal(assertJsonResponse(r, 404, `GET ${deeper}`).success, false);
});

test('a wrong method on a known path answers 405 with a JSON body', async () => {
    const cases = [
        ['POST', '/healthz'],
        ['DELETE', `/accounts/${f.accountId}/realtime/kit/apps`],
        ['DELETE', meetingsPath()],
        ['PUT', `${meetingsPath()}/${randomUUID()}/participants`],
    ];
    for (const [method, p] of cases) {
        const r = await http(f.srv, method, p, { token: f.token });
        const json = assertJsonResponse(r, 405, `${method} ${p}`);
        assert.equal(json.success, false, `${method} ${p}`);
        assert.ok(r.headers.get('allow'), `${method} ${p}: a 405 names the allowed methods (Allow)`);
    }
    const r = await http(f.srv, 'DELETE', `/accounts/${f.accountId}/realtime/kit/apps`, { token: f.token });
    assert.match(r.headers.get('allow'), /GET/);
    assert.match(r.headers.get('allow'), /POST/);
});

test('Connection: close is honoured: the server answers, then closes', async () => {
    const r = await rawExchange(f.srv.port,
        'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', { ms: 5000 });
    const rs = parseResponses(r.data);
    assert.equal(rs.length, 1, JSON.stringify(r.data.toString()));
    assert.equal(rs[0].status, 200);
    assert.equal(r.closed, true, 'the server closed the connection');
});

test('every request leaves one access-log line on stderr', async () => {
    const marker = `/nope-${Date.now()}`;
    const before = f.srv.stderr().length;
    await http(f.srv, 'GET', marker, { root: true });
    await http(f.srv, 'GET', marker, { root: true });
    /* The log line may be written just after the response. */
    for (let i = 0; i < 50 && f.srv.stderr().slice(before).split(marker).length < 3; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const lines = f.srv.stderr().slice(before).split('\n').filter((l) => l.includes(marker));
    assert.equal(lines.length, 2, `access log:\n${f.srv.stderr().slice(before)}`);
    assert.ok(lines.every((l) => l.includes('404')), lines.join('\n'));
});

test('keep-alive: several requests in sequence on one connection', async () => {
    const c = await httpConn(f.srv.port);
    try {
        for (let i = 0; i < 3; i++) {
            c.send('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
            const r = await c.next();
            assert.equal(r.status, 200, `request ${i + 1} on the same connection`);
            JSON.parse(r.body);
        }
        /* An authenticated API call on the same connection as well. */
        c.send(`GET /client/v4${meetingsPath()} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
            `Authorization: Bearer ${f.token}\r\n\r\n`);
        const r = await c.next();
        assert.equal(r.status, 200, r.body);
        assert.equal(JSON.parse(r.body).success, true);
        assert.equal(c.closed, false, 'the server kept the connection open');
    } finally {
        c.close();
    }
});

test('pipelining: two requests in one write get two responses, in order', async () => {
    const unknown = randomUUID();
    const raw =
        `GET /client/v4${meetingsPath()}/${unknown} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
        `Authorization: Bearer ${f.token}\r\n\r\n` +
        'GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    const c = await httpConn(f.srv.port);
    try {
        c.send(raw);
        const r1 = await c.next();
        const r2 = await c.next();
        assert.equal(r1.status, 404, r1.body);
        assert.equal(JSON.parse(r1.body).error.message, `No meeting found with id ${unknown}`);
        assert.equal(r2.status, 200, r2.body);
    } finally {
        c.close();
    }
});

test('a chunked request body is accepted', async () => {
    const body = JSON.stringify({ title: 'chunked meeting', session_keep_alive_time_in_secs: 90 });
    const a = body.slice(0, 10);
    const b = body.slice(10);
    const raw =
        `POST /client/v4${meetingsPath()} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
        `Authorization: Bearer ${f.token}\r\nContent-Type: application/json\r\n` +
        'Transfer-Encoding: chunked\r\n\r\n' +
        `${a.length.toString(16)}\r\n${a}\r\n${b.length.toString(16)}\r\n${b}\r\n0\r\n\r\n`;
    const c = await httpConn(f.srv.port);
    try {
        c.send(raw);
        const r = await c.next();
        assert.equal(r.status, 201, r.body);
        const json = JSON.parse(r.body);
        assert.equal(json.data.title, 'chunked meeting');
        assert.equal(json.data.session_keep_alive_time_in_secs, 90);
    } finally {
        c.close();
    }
});

test('a body over 1 MiB answers 413 with JSON, and the client reads it (no reset)', async () => {
    const size = 2 * 1024 * 1024;
    const head =
        `POST /client/v4${meetingsPath()} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
        `Authorization: Bearer ${f.token}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${size}\r\n\r\n`;
    const body = Buffer.alloc(size, 'a');
    const r = await rawExchange(f.srv.port, [head, body], { ms: 10000 });
    const rs = parseResponses(r.data);
    assert.ok(rs.length >= 1,
        `no response read (socket error: ${r.error?.code}); got ${JSON.stringify(r.data.toString())}`);
    assert.equal(rs[0].status, 413, rs[0].body);
    const json = JSON.parse(rs[0].body);
    assert.equal(json.success, false);
});

test('a declared Content-Length over 1 MiB is refused with 413 without waiting for the body',
    async () => {
        const head =
            `POST /client/v4${meetingsPath()} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
            `Authorization: Bearer ${f.token}\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${5 * 1024 * 1024}\r\n\r\n`;
        const r = await rawExchange(f.srv.port, head,
            { ms: 5000, until: (b) => parseResponses(b).length > 0 });
        const rs = parseResponses(r.data);
        assert.equal(rs.length, 1, `no answer within 5 s; got ${JSON.stringify(r.data.toString())}`);
        assert.equal(rs[0].status, 413);
        assert.equal(JSON.parse(rs[0].body).success, false);
    });

test('SDK: a meeting whose JSON body exceeds 1 MiB fails with HTTP 413 (read, not a reset)',
    async () => {
        let err;
        try {
            await f.cf.realtimeKit.meetings.create(f.appId,
                { account_id: f.accountId, title: 'x'.repeat(1100 * 1024) });
        } catch (e) {
            err = e;
        }
        assert.ok(err, 'the create did not fail');
        assert.equal(err.status, 413, `expected 413, got ${err.status}: ${err.message}`);
        assert.equal(err.error?.success, false, `body: ${JSON.stringify(err.error)}`);
        /* And the server is still fine afterwards. */
        const r = await http(f.srv, 'GET', '/healthz');
        assert.equal(r.status, 200);
    });

test('a request head over 16 KiB answers 431 with JSON', async () => {
    const head = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
        `X-Filler: ${'f'.repeat(20 * 1024)}\r\n\r\n`;
    const r = await rawExchange(f.srv.port, head,
        { ms: 5000, until: (b) => parseResponses(b).length > 0 });
    const rs = parseResponses(r.data);
    assert.equal(rs.length, 1, `no answer; got ${JSON.stringify(r.data.toString().slice(0, 300))}`);
    assert.equal(rs[0].status, 431);
    assert.equal(JSON.parse(rs[0].body).success, false);
});

test('SDK: 404 for an unknown meeting id carries the RealtimeKit envelope', async () => {
    const id = randomUUID();
    const err = await expectRtkError(f.cf.realtimeKit.meetings.getMeetingByID(id,
        { account_id: f.accountId, app_id: f.appId }), 404);
    assert.equal(err.error.error.message, `No meeting found with id ${id}`);
});

test('a request head not complete within 10 s answers 408 and the server closes', async () => {
    const r = await slowHead;
    const rs = parseResponses(r.data);
    assert.equal(rs.length, 1,
        `no 408 within ${r.elapsed} ms; got ${JSON.stringify(r.data.toString())}`);
    assert.equal(rs[0].status, 408);
    assert.equal(JSON.parse(rs[0].body).success, false);
    assert.equal(r.closed, true, 'the server closed the connection');
    const waited = Date.now() - slowHeadStarted;
    assert.ok(r.elapsed >= 9000, `408 came after only ${r.elapsed} ms (limit is 10 s)`);
    assert.ok(waited < 20000);
});
