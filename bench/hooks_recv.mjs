// SPDX-License-Identifier: MIT
// bench/hooks_recv.mjs - the webhook benchmark's receiver (bench/hooks.sh): a node:http server
// on 127.0.0.1 that answers every request 200 at once and counts them.
//
//   node bench/hooks_recv.mjs PORT-FILE OUT-FILE
//
// Writes its port to PORT-FILE once listening. On SIGTERM writes to OUT-FILE, one "key value"
// a line: received (requests), unique (distinct rtk-uuid), first_ms and last_ms (arrival
// times, Unix ms), then exits. While running, every 50 ms it rewrites PORT-FILE.count with
// "<distinct deliveries so far> <the last one's arrival, Unix ms>", so the script can time them.
import http from 'node:http';
import { writeFileSync, renameSync } from 'node:fs';

const [portFile, outFile] = process.argv.slice(2);
let received = 0;
let first = 0;
let last = 0;
const ids = new Set();
const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
        const now = Date.now();
        received++;
        if (!first) first = now;
        last = now;
        ids.add(req.headers['rtk-uuid']);
        res.writeHead(200, { 'content-length': '2' });
        res.end('ok');
    });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => writeFileSync(portFile, `${server.address().port}\n`));
const tick = setInterval(() => {
    writeFileSync(`${portFile}.count.tmp`, `${ids.size} ${last}\n`);
    renameSync(`${portFile}.count.tmp`, `${portFile}.count`);
}, 50);
process.on('SIGTERM', () => {
    clearInterval(tick);
    writeFileSync(outFile, `received ${received}\nunique ${ids.size}\nfirst_ms ${first}\n` +
        `last_ms ${last}\n`);
    process.exit(0);
});
