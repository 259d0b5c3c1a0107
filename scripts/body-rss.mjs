#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// body-rss.mjs - what incomplete request bodies cost a running rtkd in resident memory.
//
//   node scripts/body-rss.mjs [RTKD_BIN] [--conns N] [--addrs A] [--size BYTES] [--hold MS]
//                             [--keep K]
//
// Starts RTKD_BIN (default build/rtkd) on 127.0.0.1 with a fresh data folder, opens N
// connections (default 990) from A loopback addresses (127.0.0.1 up, default 1), and on each
// sends a head declaring Content-Length: SIZE (default 1 MiB) and SIZE - 100 bytes of body,
// 64 KiB to each connection in turn (as slow clients would send them side by side), then
// waits HOLD ms (default 3000) with every body incomplete. It prints the server's VmRSS
// before, while the bodies are held, 3 s after all but the last K connections whose bodies
// are still being read (default 10) are closed, and 3 s after those are closed too, with the
// answers the server gave (a cap answers 429 or 503 at once) and whether it still serves.
// Use a release build (make build): sanitizers distort RSS. docs/security.md has figures.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
    const i = args.indexOf(name);
    if (i < 0) return dflt;
    const v = Number(args[i + 1]);
    args.splice(i, 2);
    return v;
};
const conns = opt('--conns', 990);
const size = opt('--size', 1024 * 1024);
const holdMs = opt('--hold', 3000);
const keep = Math.min(opt('--keep', 10), conns);
const addrs = opt('--addrs', 1);
const bin = args[0] || 'build/rtkd';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function rssKiB(pid) {
    const s = await readFile(`/proc/${pid}/status`, 'utf8');
    return Number(s.match(/^VmRSS:\s+(\d+)/m)[1]);
}

function get(port, p) {
    return new Promise((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1', () =>
            s.write(`GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
        let d = '';
        s.on('data', (x) => { d += x; });
        s.on('end', () => resolve(Number(d.split(' ')[1])));
        s.on('error', reject);
    });
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'rtkd-body-rss-'));
const child = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--data', dir],
    { stdio: ['ignore', 'pipe', 'ignore'] });
const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
        out += d;
        const m = out.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
        if (m) resolve(Number(m[1]));
    });
    child.once('exit', (c) => reject(new Error(`rtkd exited (${c})`)));
});
await get(port, '/healthz');
await sleep(200);
const before = await rssKiB(child.pid);

/* The bodies grow side by side, a piece of each in turn, as they would from slow clients:
 * that is what interleaves their buffers in the server's heap. */
const piece = Buffer.alloc(64 * 1024, 0x61);
const answers = {};
const sockets = [];
for (let i = 0; i < conns; i++) {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: `127.0.0.${1 + (i % addrs)}` });
    s.on('error', () => {});
    s.on('data', (d) => {
        const st = d.toString('latin1').split(' ')[1];
        answers[st] = (answers[st] || 0) + 1;
        s.answered = true;
    });
    s.write(`POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`);
    sockets.push(s);
}
for (let sent = 0; sent < size - 100;) {
    const n = Math.min(piece.length, size - 100 - sent);
    for (const s of sockets) if (!s.destroyed) s.write(piece.subarray(0, n));
    sent += n;
    await sleep(50); /* let the server read */
}
await sleep(holdMs);
const held = await rssKiB(child.pid);
/* Most clients go, a few whose bodies are still being read stay (the last ones opened): their
 * buffers, above the others in the heap, keep glibc from giving the freed space back by
 * itself. */
const open = sockets.filter((s) => !s.answered && !s.destroyed);
const stay = new Set(open.slice(Math.max(0, open.length - keep)));
for (const s of sockets) if (!stay.has(s)) s.destroy();
await sleep(3000);
const most = await rssKiB(child.pid);
for (const s of sockets) s.destroy();
await sleep(3000);
const after = await rssKiB(child.pid);
const health = await get(port, '/healthz');
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
await rm(dir, { recursive: true, force: true });

const mib = (k) => `${(k / 1024).toFixed(1)} MiB`;
console.log(`rtkd ${bin}: ${conns} connections from ${addrs} address(es), each ` +
    `${size - 100} of ${size} body bytes`);
console.log(`  RSS before ${mib(before)}; bodies held ${mib(held)}; 3 s after all but ${stay.size} ` +
    `bodies in progress closed ${mib(most)}; 3 s after all closed ${mib(after)}`);
console.log(`  answers while held: ${JSON.stringify(answers)}; GET /healthz afterwards: ${health}`);
