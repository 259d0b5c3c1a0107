// SPDX-License-Identifier: MIT
// A stalled log reader does not stall the server (issue 17, item 5). Measured before the fix:
// with stderr on a pipe whose reader stopped, rtkd blocked in write(2) on the access log once
// the pipe was full (about 880 /healthz requests) and then answered nothing. Here the test
// stops reading the server's stderr, drives 20,000 requests (about 1.6 MB of access log, far
// past the pipe's 64 KiB and node's buffer), and checks that every one was answered; once it
// reads again, one line says how many log lines were dropped.

import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after } from 'node:test';
import { test, start, sleep, tempDir, childEnv, RTKD_BIN } from '../lib/rtkd.js';

const TOTAL = 20000;
const CONNS = 8;
const BATCH = 100; /* pipelined requests in flight per connection */

let srv;
let fifoChild;
after(async () => {
    if (srv) {
        srv.child.stderr.resume();
        await srv.stop();
    }
    if (fifoChild && fifoChild.exitCode === null) fifoChild.kill('SIGKILL');
});

/* Sends N pipelined GET /healthz on one keep-alive connection, BATCH at a time; resolves the
 * number of 200 answers. Rejects if the server goes quiet for 10 s. */
function drive(port, n) {
    return new Promise((resolve, reject) => {
        const sock = net.connect(port, '127.0.0.1');
        const req = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
        let sent = 0;
        let answered = 0;
        let tail = '';
        let timer;
        const quiet = () => {
            clearTimeout(timer);
            timer = setTimeout(() => {
                sock.destroy();
                reject(new Error(`no answer for 10 s after ${answered} of ${n} on this connection`));
            }, 10000);
        };
        const sendBatch = () => {
            const k = Math.min(BATCH, n - sent);
            sock.write(req.repeat(k));
            sent += k;
        };
        sock.setEncoding('latin1');
        sock.on('connect', () => { quiet(); sendBatch(); });
        sock.on('data', (d) => {
            quiet();
            /* Count status lines; keep a tail so that one split across reads counts once. */
            const MARK = 'HTTP/1.1 200 ';
            tail += d;
            let from = 0;
            for (let i; (i = tail.indexOf(MARK, from)) >= 0;) {
                answered++;
                from = i + MARK.length;
            }
            tail = tail.slice(Math.max(from, tail.length - (MARK.length - 1)));
            if (answered >= sent && sent < n) sendBatch();
            if (answered >= n) {
                clearTimeout(timer);
                sock.end();
                resolve(answered);
            }
        });
        sock.on('error', (e) => { clearTimeout(timer); reject(e); });
    });
}

function checkLog(log) {
    const m = log.match(/rtkd: log: (\d+) lines dropped/);
    assert.ok(m, 'no "lines dropped" line after the reader came back');
    const dropped = Number(m[1]);
    const logged = log.split('\n').filter((l) => l.startsWith('access ')).length;
    assert.ok(dropped > 0 && dropped < TOTAL, `dropped ${dropped}`);
    assert.ok(logged + dropped >= TOTAL, `logged ${logged} + dropped ${dropped} < ${TOTAL}`);
    /* Every line that did arrive is whole. */
    for (const l of log.split('\n').filter(Boolean)) {
        assert.match(l, /^(access ip=127\.0\.0\.1 method=GET path=\/healthz status=200 bytes=\d+ ms=[\d.]+|rtkd: .*)$/);
    }
}

test('stderr not read: 20,000 requests are all answered, the dropped lines are counted',
    { timeout: 180000 }, async () => {
        srv = await start();
        /* Stop reading stderr: node stops reading the pipe once its buffer is full. */
        srv.child.stderr.pause();
        const per = TOTAL / CONNS;
        const counts = await Promise.all(Array.from({ length: CONNS }, () => drive(srv.port, per)));
        assert.equal(counts.reduce((a, b) => a + b, 0), TOTAL);

        /* The reader is back: the queue drains and one line tells how many were dropped. */
        srv.child.stderr.resume();
        let m;
        for (let i = 0; i < 100 && !m; i++) {
            await sleep(100);
            m = srv.stderr().match(/rtkd: log: (\d+) lines dropped/);
        }
        checkLog(srv.stderr());
        const s = srv;
        srv = null;
        await s.stop();
    });

/* The same with stderr on a real pipe (a FIFO, S_ISFIFO), as under a shell pipeline or a log
 * shipper; node's own child pipes are socket pairs. */
test('stderr a pipe that is not read: 20,000 requests are all answered', { timeout: 180000 },
    async () => {
        const dir = await tempDir();
        const fifo = path.join(dir, 'stderr.fifo');
        execFileSync('mkfifo', [fifo]);
        const rfd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
        const wfd = fs.openSync(fifo, fs.constants.O_WRONLY);
        const child = spawn(RTKD_BIN, ['serve', '--listen', '127.0.0.1:0', '--data', dir],
            { env: childEnv(), stdio: ['ignore', 'pipe', wfd] });
        fifoChild = child;
        fs.closeSync(wfd);
        let out = '';
        child.stdout.setEncoding('utf8');
        const port = await new Promise((resolve, reject) => {
            const t = setTimeout(() => reject(new Error('no listening line')), 20000);
            child.stdout.on('data', (d) => {
                out += d;
                const m = out.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
                if (m) { clearTimeout(t); resolve(Number(m[1])); }
            });
            child.once('exit', () => { clearTimeout(t); reject(new Error('rtkd exited')); });
        });
        const readAll = () => {
            const chunks = [];
            const buf = Buffer.alloc(65536);
            for (;;) {
                let n;
                try {
                    n = fs.readSync(rfd, buf, 0, buf.length, null);
                } catch (e) {
                    if (e.code === 'EAGAIN') break;
                    throw e;
                }
                if (n <= 0) break;
                chunks.push(Buffer.from(buf.subarray(0, n)));
            }
            return Buffer.concat(chunks).toString('utf8');
        };
        try {
            const per = TOTAL / CONNS;
            const counts = await Promise.all(Array.from({ length: CONNS }, () => drive(port, per)));
            assert.equal(counts.reduce((a, b) => a + b, 0), TOTAL);
            let log = '';
            for (let i = 0; i < 100 && !/lines dropped/.test(log); i++) {
                log += readAll();
                await sleep(50);
            }
            checkLog(log);
            const exited = new Promise((r) => child.once('exit', (code, sig) => r({ code, sig })));
            child.kill('SIGTERM');
            const drain = setInterval(readAll, 20);
            const r = await exited;
            clearInterval(drain);
            assert.deepEqual(r, { code: 0, sig: null });
        } finally {
            if (child.exitCode === null) child.kill('SIGKILL');
            fs.closeSync(rfd);
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
