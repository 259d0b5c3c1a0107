// SPDX-License-Identifier: MIT
// Hardening, HTTP layer (issue 6 part 2; docs/api.md "HTTP"): malformed request lines, bad
// header bytes, conflicting or duplicate framing headers, bad chunks, oversized heads (431) and
// bodies (413), slow or silent senders (408, slot freed), pipelines with a bad request in the
// middle.
// Every answer is the documented status with the JSON error envelope, never a 500 or a crash,
// and after each one the clients that were there before (a keep-alive connection and a live
// peer) are still served. stop() at the end asserts exit 0 under ASan.

import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import net from 'node:net';
import { test, sleep, parseResponses } from '../lib/rtkd.js';
import {
    hardFixture, rawRequest, assertRawError, openFds,
} from '../lib/hardening.js';

let f;
let slow; /* the slow-sender experiments, started in before() so their 10 s run alongside */

const HEAD_TIMEOUT_MS = 10000;
const SLACK_MS = 2500; /* a sanitized server, a loaded machine */

/* A connection that sends BYTES, then one more byte every EVERY ms until the server answers
 * or closes. Resolves {data, closed, elapsed, answeredAt}. */
function trickle(port, first, { every = 700, drip = 'X', limitMs = HEAD_TIMEOUT_MS + 6000 } = {}) {
    return new Promise((resolve) => {
        const t0 = Date.now();
        let data = Buffer.alloc(0);
        let answeredAt = null;
        const sock = net.connect(port, '127.0.0.1');
        let timer;
        const stop = setTimeout(() => finish(false), limitMs);
        const finish = (closed) => {
            clearInterval(timer);
            clearTimeout(stop);
            sock.destroy();
            resolve({ data, closed, elapsed: Date.now() - t0, answeredAt });
        };
        sock.on('connect', () => {
            if (first) sock.write(first);
            if (drip) timer = setInterval(() => { if (!sock.destroyed) sock.write(drip); }, every);
        });
        sock.on('data', (d) => {
            if (answeredAt === null) answeredAt = Date.now() - t0;
            data = Buffer.concat([data, d]);
        });
        sock.on('error', () => {});
        sock.on('close', () => finish(true));
    });
}

before(async () => {
    f = await hardFixture();
    const port = f.srv.port;
    const fdsBefore = await openFds(f.srv.child.pid);
    const t0 = Date.now();
    slow = {
        fdsBefore,
        t0,
        /* slowloris: the head trickles in, one header byte at a time, never completing */
        headDrip: trickle(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ', { every: 500 }),
        /* the head is complete, the declared body stalls after 10 of 100 bytes */
        bodyStall: trickle(port, `POST /client/v4${f.P}/meetings HTTP/1.1\r\nHost: x\r\n` +
            `Authorization: Bearer ${f.token}\r\nContent-Type: application/json\r\n` +
            'Content-Length: 100\r\n\r\n{"title":"', { drip: null }),
        /* a connection that never sends a byte: 408 like a slow head, then the close */
        silent: trickle(port, null, { drip: null }),
        /* forty slow heads at once: all get 408 and their slots are freed */
        many: Promise.all(Array.from({ length: 40 }, (_, i) =>
            trickle(port, `GET /healthz HTTP/1.1\r\nHost: many-${i}\r\n`, { drip: null }))),
        /* latency seen by a normal client while the slow ones hang on */
        latencies: (async () => {
            const out = [];
            await sleep(300);
            while (Date.now() - t0 < HEAD_TIMEOUT_MS - 500) {
                const s = Date.now();
                const r = await fetch(`${f.srv.rootURL}/healthz`);
                await r.text();
                out.push({ status: r.status, ms: Date.now() - s });
                await sleep(400);
            }
            return out;
        })(),
    };
});

after(async () => {
    if (f) await f.stop();
});

/* Sends RAW on a fresh connection and asserts one answer STATUS in the JSON envelope, after
 * which the server closes the connection; then checks the bystanders. */
async function expectRejected(raw, status, what, { ms = 5000 } = {}) {
    /* Stop early when the answer does not announce a close (a wrong answer: no need to wait
     * for a keep-alive timeout to report it). */
    const until = (buf) => {
        const rs = parseResponses(buf);
        return rs.length >= 1 && rs[0].headers.connection !== 'close';
    };
    const r = await rawRequest(f.srv.port, raw, { ms, until });
    assert.ok(r.responses.length >= 1,
        `${what}: no HTTP response; received ${JSON.stringify(r.data.toString('latin1').slice(0, 300))}`);
    assertRawError(r.responses[0], status, what);
    assert.equal(r.responses[0].headers.connection, 'close', `${what}: Connection header`);
    assert.equal(r.responses.length, 1, `${what}: more than one response`);
    assert.ok(r.closed, `${what}: the server did not close the connection after ${status}`);
    await f.check(what);
    return r;
}

const GOOD_TAIL = 'Host: x\r\n\r\n';

test('malformed request lines → 400 JSON, then close', async () => {
    const cases = {
        'garbage': 'GARBAGE\r\n\r\n',
        'binary garbage': '\x00\x01\x02\xff\xfe\r\n\r\n',
        'method only': 'GET\r\n\r\n',
        'no target': 'GET  HTTP/1.1\r\n\r\n',
        'lower-case method': 'get /healthz HTTP/1.1\r\n' + GOOD_TAIL,
        'unknown method': 'FETCH /healthz HTTP/1.1\r\n' + GOOD_TAIL,
        'huge method (20 KB)': `${'A'.repeat(20000)} /healthz HTTP/1.1\r\n` + GOOD_TAIL,
        'huge known-prefix method': `${'GET'.repeat(5000)} /healthz HTTP/1.1\r\n` + GOOD_TAIL,
        'HTTP/2 connection preface': 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
        'version without digits': 'GET /healthz HTTP/x.y\r\n' + GOOD_TAIL,
        'control character in the target': 'GET /heal\x01thz HTTP/1.1\r\n' + GOOD_TAIL,
        'two spaces and junk after the version': 'GET /healthz HTTP/1.1 junk\r\n' + GOOD_TAIL,
    };
    for (const [what, raw] of Object.entries(cases)) await expectRejected(raw, 400, what);
});

test('a request line without an HTTP version (HTTP/0.9 form) → 400', async () => {
    /* RFC 9112 §3: HTTP/1.1 request lines carry a version; rtkd does not speak HTTP/0.9. */
    await expectRejected('GET /healthz\r\n\r\n', 400, 'missing version');
    await expectRejected('GET /healthz\r\nHost: x\r\n\r\n', 400, 'missing version, with headers');
});

test('a misspelt protocol name in the request line (HTTQ/1.1, HXXP/1.1) → 400', async () => {
    await expectRejected('GET /healthz HTTQ/1.1\r\n' + GOOD_TAIL, 400, 'HTTQ/1.1');
    await expectRejected('GET /healthz HXXP/1.1\r\n' + GOOD_TAIL, 400, 'HXXP/1.1');
});

test('an HTTP/2.0 (or other major version) request line is refused (400 or 505), not served', async () => {
    for (const v of ['HTTP/2.0', 'HTTP/3.1', 'HTTP/9.9']) {
        const r = await rawRequest(f.srv.port, `GET /healthz ${v}\r\n${GOOD_TAIL}`,
            { ms: 3000, until: (buf) => parseResponses(buf).length >= 1 });
        const res = r.responses[0];
        assert.ok(res, `${v}: no response`);
        assert.ok(res.status === 400 || res.status === 505,
            `${v} request line: expected 400 or 505, got ${res.status} ${res.body}`);
        assertRawError(res, res.status, `${v} request line`);
        await f.check(`${v} request line`);
    }
});

test('bad header bytes → 400 JSON: NUL, bare CR, no colon, control characters, DEL', async () => {
    const L = 'GET /healthz HTTP/1.1\r\n';
    const cases = {
        'NUL in a header value': `${L}Host: x\r\nX-A: a\x00b\r\n\r\n`,
        'NUL in a header name': `${L}Host: x\r\nX-\x00A: b\r\n\r\n`,
        'bare CR inside a header value': `${L}Host: x\r\nX-A: a\rb\r\n\r\n`,
        'bare CR ending a header line': `${L}Host: x\rX-B: c\r\n\r\n`,
        'header line without a colon': `${L}Host: x\r\nNoColonHere\r\n\r\n`,
        'header name with a space, no colon': `${L}Host x\r\n\r\n`,
        'control character in a header name': `${L}Host: x\r\nX\x01A: b\r\n\r\n`,
        'control character in a header value': `${L}Host: x\r\nX-A: a\x01b\r\n\r\n`,
        'DEL in a header value': `${L}Host: x\r\nX-A: a\x7fb\r\n\r\n`,
        'ESC inside a header value': `${L}Host: x\r\nX-A: red\x1b[0m\r\n\r\n`,
        'empty header name': `${L}Host: x\r\n: nameless\r\n\r\n`,
        'separator in a header name': `${L}Host: x\r\nX(A): b\r\n\r\n`,
    };
    for (const [what, raw] of Object.entries(cases)) await expectRejected(raw, 400, what);
});

test('NUL or a control character as the FIRST byte of a header value → 400 like anywhere else',
    async () => {
        const L = 'GET /healthz HTTP/1.1\r\nHost: x\r\n';
        await expectRejected(`${L}X-A: \x00b\r\n\r\n`, 400, 'NUL first in a header value');
        await expectRejected(`${L}Authorization: \x00Bearer x\r\n\r\n`, 400,
            'NUL first in Authorization');
        await expectRejected(`${L}X-A: \x1b[31mred\r\n\r\n`, 400, 'ESC first in a header value');
        await expectRejected(`${L}X-A: \x01b\r\n\r\n`, 400, '0x01 first in a header value');
        await expectRejected(`${L}X-A: \x7f\r\n\r\n`, 400, 'DEL first in a header value');
    });

test('whitespace between a header name and its colon → 400 (RFC 9112 §5.1 MUST)', async () => {
    await expectRejected('GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n', 400, 'space before colon');
    await expectRejected('GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length\t: 0\r\n\r\n', 400,
        'tab before colon');
});

test('two Host header lines → 400 (RFC 9112 §3.2), also with the same value or on HTTP/1.0',
    async () => {
        await expectRejected('GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400,
            'two Host headers');
        await expectRejected('GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: b\r\nhost: x\r\n\r\n', 400,
            'two Host headers with the same value');
        await expectRejected('GET /healthz HTTP/1.0\r\nHost: a\r\nHOST: b\r\n\r\n', 400,
            'two Host headers on HTTP/1.0');
    });

test('Content-Length together with Transfer-Encoding: chunked → 400 (both orders)', async () => {
    const P = `POST /client/v4${f.P}/meetings HTTP/1.1\r\nHost: x\r\n` +
        `Authorization: Bearer ${f.token}\r\n`;
    await expectRejected(`${P}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n` +
        '2\r\n{}\r\n0\r\n\r\n', 400, 'CL then TE');
    await expectRejected(`${P}Transfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n` +
        '2\r\n{}\r\n0\r\n\r\n', 400, 'TE then CL');
    await expectRejected(`${P}Content-Length: 4\r\nTransfer-Encoding: identity\r\n\r\n{}{}`, 400,
        'CL with a non-chunked TE');
});

test('two Content-Length headers, or a bad one → 400', async () => {
    const P = 'POST /healthz HTTP/1.1\r\nHost: x\r\n';
    const cases = {
        'two different Content-Length': `${P}Content-Length: 1\r\nContent-Length: 2\r\n\r\nab`,
        'a Content-Length list': `${P}Content-Length: 2, 3\r\n\r\nabc`,
        'negative Content-Length': `${P}Content-Length: -1\r\n\r\n`,
        'non-numeric Content-Length': `${P}Content-Length: abc\r\n\r\n`,
        'hex Content-Length': `${P}Content-Length: 0x10\r\n\r\n`,
        'Content-Length overflowing 64 bits': `${P}Content-Length: 99999999999999999999999\r\n\r\n`,
    };
    for (const [what, raw] of Object.entries(cases)) await expectRejected(raw, 400, what);
});

test('Transfer-Encoding whose final coding is not chunked → 400 (RFC 9112 §6.3)', async () => {
    const P = 'POST /healthz HTTP/1.1\r\nHost: x\r\n';
    await expectRejected(`${P}Transfer-Encoding: gzip\r\n\r\nabc`, 400, 'TE gzip');
    await expectRejected(`${P}Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n`, 400,
        'TE chunked, gzip');
});

test('a transfer coding before chunked → 501 (RFC 9112 §6.1: not implemented), not read as chunked',
    async () => {
        const P = 'POST /healthz HTTP/1.1\r\nHost: x\r\n';
        await expectRejected(`${P}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`, 501,
            'TE gzip, chunked');
        await expectRejected(`${P}Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n` +
            '0\r\n\r\n', 501, 'TE gzip, then TE chunked');
        /* Framing the message cannot have is still 400. */
        await expectRejected(`${P}Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n` +
            '0\r\n\r\n', 400, 'TE chunked, then TE gzip');
        await expectRejected(`${P}Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n`, 400,
            'TE chunked twice');
    });

test('bad chunk sizes and chunk framing → 400', async () => {
    const P = `POST /client/v4${f.P}/meetings HTTP/1.1\r\nHost: x\r\n` +
        `Authorization: Bearer ${f.token}\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const cases = {
        'non-hex chunk size': `${P}zz\r\n{}\r\n0\r\n\r\n`,
        'negative chunk size': `${P}-2\r\n{}\r\n0\r\n\r\n`,
        'empty chunk-size line': `${P}\r\n{}\r\n0\r\n\r\n`,
        'chunk size overflowing 64 bits': `${P}fffffffffffffffffffff\r\n{}\r\n0\r\n\r\n`,
        'space inside the chunk size': `${P}1 1\r\n{}\r\n0\r\n\r\n`,
    };
    for (const [what, raw] of Object.entries(cases)) await expectRejected(raw, 400, what);
});

test('chunk data not followed by CRLF → 400 (RFC 9112 §7.1), not a silently re-framed body',
    async () => {
        const P = `POST /client/v4${f.P}/meetings HTTP/1.1\r\nHost: x\r\n` +
            `Authorization: Bearer ${f.token}\r\nTransfer-Encoding: chunked\r\n\r\n`;
        await expectRejected(`${P}2\r\n{}XX0\r\n\r\n`, 400, 'chunk data followed by XX');
        await expectRejected(`${P}2\r\n{}0\r\n\r\n`, 400, 'chunk data followed by the next size');
    });

test('a head over 16 KiB → 431 JSON: a long target, one huge header, many headers', async () => {
    const cases = {
        'a 17 KiB target': `GET /healthz?x=${'a'.repeat(17 * 1024)} HTTP/1.1\r\n${GOOD_TAIL}`,
        'one 17 KiB header': `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(17 * 1024)}\r\n\r\n`,
        '3000 small headers': `GET /healthz HTTP/1.1\r\nHost: x\r\n${'X-N: v\r\n'.repeat(3000)}\r\n`,
        'a 17 KiB header name': `GET /healthz HTTP/1.1\r\nHost: x\r\n${'N'.repeat(17 * 1024)}: v\r\n\r\n`,
    };
    for (const [what, raw] of Object.entries(cases)) await expectRejected(raw, 431, what);
    /* A head that never ends (no blank line) but grows past the limit: 431, not a wait. */
    await expectRejected(`GET /healthz HTTP/1.1\r\nHost: x\r\n${'X-Y: z\r\n'.repeat(4000)}`, 431,
        'an endless head');
});

test('a body over 1 MiB → 413 JSON: declared, and chunked; exactly 1 MiB is accepted', async () => {
    const base = `POST /client/v4${f.P}/meetings HTTP/1.1\r\nHost: x\r\n` +
        `Authorization: Bearer ${f.token}\r\nContent-Type: application/json\r\n`;
    const MiB = 1024 * 1024;
    /* declared: refused from the head, without waiting for a byte of it */
    await expectRejected(`${base}Content-Length: ${MiB + 1}\r\n\r\n`, 413, 'declared 1 MiB + 1');
    await expectRejected(`${base}Content-Length: 1099511627776\r\n\r\n`, 413, 'declared 1 TiB');
    /* declared and sent */
    await expectRejected([`${base}Content-Length: ${2 * MiB}\r\n\r\n`, Buffer.alloc(2 * MiB, 0x20)],
        413, 'sent 2 MiB');
    /* chunked, many small chunks adding up past the limit */
    const chunk = `${(64 * 1024).toString(16)}\r\n${' '.repeat(64 * 1024)}\r\n`;
    await expectRejected([`${base}Transfer-Encoding: chunked\r\n\r\n`, chunk.repeat(17)], 413,
        'chunked, 17 × 64 KiB');
    /* chunked, one chunk announcing more than the limit */
    await expectRejected([`${base}Transfer-Encoding: chunked\r\n\r\n`,
        `${(4 * MiB).toString(16)}\r\n`, Buffer.alloc(MiB + 10, 0x20)], 413, 'chunked, one 4 MiB chunk');
    /* Exactly at the limit: a valid meeting body padded with spaces → 201. */
    const json = '{"title":"exactly one MiB"}';
    const body = json + ' '.repeat(MiB - json.length);
    const r = await rawRequest(f.srv.port,
        [`${base}Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`, body], { ms: 8000 });
    assert.equal(r.responses[0]?.status, 201, `1 MiB body: ${r.responses[0]?.status} ${r.responses[0]?.body}`);
    await f.check('a 1 MiB body');
});

test('pipelined requests with a malformed one in the middle: the good one before is answered, ' +
    'then 400 and close; nothing after the bad one is served', async () => {
    const good = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';
    const writeAfter = `POST /client/v4${f.P}/meetings HTTP/1.1\r\nHost: x\r\n` +
        `Authorization: Bearer ${f.token}\r\nContent-Length: 31\r\n\r\n{"title":"after the bad one!!"}`;
    const r = await rawRequest(f.srv.port, good + good + 'BAD REQUEST\r\n\r\n' + writeAfter);
    assert.deepEqual(r.responses.map((x) => x.status), [200, 200, 400],
        `statuses: ${JSON.stringify(r.responses.map((x) => x.status))}`);
    assertRawError(r.responses[2], 400, 'the bad pipelined request');
    assert.ok(r.closed, 'connection closed after the 400');
    const list = await f.api('GET', '/meetings?search=after%20the%20bad%20one');
    assert.equal(list.json.paging.total_count, 0, 'the request after the bad one was not executed');
    await f.check('a bad request in a pipeline');

    /* Bad header bytes in the middle request behave the same. */
    const r2 = await rawRequest(f.srv.port,
        good + 'GET /healthz HTTP/1.1\r\nX-A: a\x00b\r\n\r\n' + good);
    assert.deepEqual(r2.responses.map((x) => x.status), [200, 400]);
    assert.ok(r2.closed);
    await f.check('bad header bytes in a pipeline');
});

test('pipelined requests with an invalid JSON body in the middle: 200, 400, 200 on one ' +
    'connection that stays open', async () => {
    const post = (body) => `POST /client/v4${f.P}/meetings HTTP/1.1\r\nHost: x\r\n` +
        `Authorization: Bearer ${f.token}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const r = await rawRequest(f.srv.port,
        'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' + post('{"title":') + post('{"title":"pipe ok"}'),
        { ms: 3000, until: (buf) => parseResponses(buf).length >= 3 });
    assert.deepEqual(r.responses.map((x) => x.status), [200, 400, 201]);
    assertRawError(r.responses[1], 400, 'invalid JSON in a pipeline');
    assert.equal(r.responses[1].headers.connection, 'keep-alive');
    assert.ok(!r.closed, 'an application-level 400 keeps the connection');
    await f.check('invalid JSON in a pipeline');
});

test('slow senders: 408 JSON within ~10 s then close; others served meanwhile; slots freed',
    async () => {
        const lim = HEAD_TIMEOUT_MS + SLACK_MS;
        const check408 = (r, what) => {
            const rs = parseAll(r.data);
            assert.ok(rs.length >= 1, `${what}: no answer within ${r.elapsed} ms; got ` +
                JSON.stringify(r.data.toString('latin1').slice(0, 200)));
            assertRawError(rs[0], 408, what);
            assert.ok(r.answeredAt >= HEAD_TIMEOUT_MS - 1000 && r.answeredAt <= lim,
                `${what}: 408 after ${r.answeredAt} ms (limit ${HEAD_TIMEOUT_MS} ms)`);
            assert.ok(r.closed, `${what}: not closed after the 408`);
        };
        const [headDrip, bodyStall, silent, many, latencies] = await Promise.all([
            slow.headDrip, slow.bodyStall, slow.silent, slow.many, slow.latencies]);
        check408(headDrip, 'a head trickling one byte every 500 ms (slowloris)');
        check408(bodyStall, 'a declared body that stalls');
        check408(silent, 'a connection that never sends a byte');
        many.forEach((r, i) => check408(r, `slow head #${i}`));
        /* Meanwhile, a normal client was answered promptly every time. */
        assert.ok(latencies.length >= 5, `only ${latencies.length} probes ran`);
        for (const l of latencies) {
            assert.equal(l.status, 200);
            assert.ok(l.ms < 1000, `a /healthz took ${l.ms} ms while slow senders hung on`);
        }
        /* Slots freed: the server's open descriptors are back to about what they were. */
        await sleep(300);
        const fdsAfter = await openFds(f.srv.child.pid);
        if (slow.fdsBefore !== null && fdsAfter !== null) {
            assert.ok(fdsAfter <= slow.fdsBefore + 10,
                `open fds: ${slow.fdsBefore} before the slow senders, ${fdsAfter} after they were answered`);
        }
        await f.check('slow senders');
    });

function parseAll(buf) {
    const out = [];
    let rest = buf;
    for (;;) {
        const i = rest.indexOf('\r\n\r\n');
        if (i < 0) break;
        const head = rest.subarray(0, i).toString('latin1').split('\r\n');
        const headers = {};
        for (const l of head.slice(1)) {
            const c = l.indexOf(':');
            headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
        }
        const n = Number(headers['content-length'] || 0);
        out.push({ status: Number(head[0].split(' ')[1]), headers,
            body: rest.subarray(i + 4, i + 4 + n).toString('utf8') });
        rest = rest.subarray(i + 4 + n);
    }
    return out;
}

test('odd but valid requests are served, and junk targets get 404 JSON, never 500', async () => {
    const cases = [
        ['GET /healthz%00 HTTP/1.1\r\n' + GOOD_TAIL, 404],
        ['GET /he\xffalthz HTTP/1.1\r\n' + GOOD_TAIL, 404],
        ['GET /%%%%%zz HTTP/1.1\r\n' + GOOD_TAIL, 404],
        [`GET /client/v4${f.P}/meetings/${'%27%20OR%201=1%20--'} HTTP/1.1\r\n` + GOOD_TAIL, 404],
        ['OPTIONS * HTTP/1.1\r\n' + GOOD_TAIL, 404],
        ['GET /healthz HTTP/1.1\r\nHost: x\r\nX-Empty:\r\n\r\n', 200],
        ['GET /healthz HTTP/1.1\r\nHost: x\r\nX-Utf8: h\xc3\xa9llo \xff\r\n\r\n', 200],
    ];
    for (const [raw, status] of cases) {
        const r = await rawRequest(f.srv.port, raw,
            { ms: 3000, until: (buf) => parseResponses(buf).length >= 1 });
        const what = JSON.stringify(raw.slice(0, 60));
        assert.equal(r.responses[0]?.status, status, `${what}: ${r.responses[0]?.status} ${r.responses[0]?.body}`);
        if (status >= 400) assertRawError(r.responses[0], status, what);
    }
    await f.check('junk targets');
});
