// SPDX-License-Identifier: MIT
// TLS behind nginx or HAProxy and --trust-proxy (issue 17, item 2). The nginx server block and
// the HAProxy configuration of docs/deploy.md run as written (listen port, certificate and
// upstream port replaced) with a self-signed certificate made here by openssl. The SDK goes
// over https:// and a peer over wss:// through each. Clients come from two loopback addresses (127.0.0.2 and 127.0.0.3);
// nginx reaches rtkd from 127.0.0.1, the only trusted proxy. The per-IP handshake limit must
// apply to each client's address, not to nginx's: client A runs out, client B does not; a
// forged X-Forwarded-For from A changes nothing; the access log names the clients.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile, rm } from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import { after, before } from 'node:test';
import Cloudflare from 'cloudflare';
import WebSocket from 'ws';
import { test, start, tempDir, createAccount, createToken, sleep } from '../lib/rtkd.js';
import { freePort } from '../lib/cluster.js';
import { awaitListening, docBlock, sh, spawnNginx, stopChild, which } from '../lib/proxy.js';

const A = '127.0.0.2';
const B = '127.0.0.3';
const RATE = 3; /* --handshake-rate: 3 per second per client, bursts of 3 */

let dir;
let ca;
let port; /* the proxy's */
const F = {};
const children = new Set();

const PROXIES = {
    /* nginx in the foreground as one process, temp paths here. */
    async nginx(bin, rtkdPort) {
        const block = await docBlock('deploy.md', 'nginx', [
            ['server 127.0.0.1:8080;', `server 127.0.0.1:${rtkdPort};`],
            ['listen 443 ssl;', `listen 127.0.0.1:${port} ssl;`],
            ['/etc/ssl/certs/rtkd.example.com.pem', path.join(dir, 'cert.pem')],
            ['/etc/ssl/private/rtkd.example.com.key', path.join(dir, 'key.pem')],
        ]);
        return spawnNginx(bin, dir, block);
    },
    /* HAProxy in the foreground (-db); its certificate file is the certificate and the key. */
    async haproxy(bin, rtkdPort) {
        const pem = path.join(dir, 'haproxy.pem');
        await writeFile(pem, Buffer.concat([await readFile(path.join(dir, 'cert.pem')),
            await readFile(path.join(dir, 'key.pem'))]));
        const conf = await docBlock('deploy.md', 'haproxy', [
            ['server rtkd1 127.0.0.1:8080', `server rtkd1 127.0.0.1:${rtkdPort}`],
            ['bind :443 ssl crt /etc/haproxy/certs/rtkd.example.com.pem', `bind 127.0.0.1:${port} ssl crt ${pem}`],
        ]);
        await writeFile(path.join(dir, 'haproxy.cfg'), conf);
        return spawn(bin, ['-db', '-f', path.join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'ignore', 'pipe'] });
    },
};

/* Starts proxy NAME in front of rtkd on RTKDPORT; resolves once it accepts connections. */
async function startProxy(name, bin, rtkdPort) {
    port = await freePort();
    const child = await PROXIES[name](bin, rtkdPort);
    children.add(child);
    return awaitListening(child, name, port);
}

async function stopProxy(child) {
    await stopChild(child);
    children.delete(child);
}

/* fetch() over node:https from LOCAL, trusting only our CA: what the SDK is given. */
function fetchFrom(local) {
    return (url, init = {}) => new Promise((resolve, reject) => {
        const u = new URL(url);
        const headers = {};
        new Headers(init.headers || {}).forEach((v, k) => { headers[k] = v; });
        const req = https.request(u, { method: init.method || 'GET', headers, ca, localAddress: local },
            (res) => {
                const chunks = [];
                res.on('data', (c) => chunks.push(c));
                res.on('end', () => {
                    const h = new Headers();
                    for (const [k, v] of Object.entries(res.headers)) h.set(k, [].concat(v).join(', '));
                    resolve(new Response(res.statusCode === 204 ? null : Buffer.concat(chunks),
                        { status: res.statusCode, headers: h }));
                });
            });
        req.on('error', reject);
        if (init.signal) init.signal.addEventListener('abort', () => req.destroy(new Error('aborted')));
        if (init.body) req.end(init.body); else req.end();
    });
}

function sdk(local) {
    return new Cloudflare({
        apiToken: F.token, apiKey: null, apiEmail: null, userServiceKey: null,
        baseURL: `https://127.0.0.1:${port}/client/v4`, maxRetries: 0, timeout: 15000,
        fetch: fetchFrom(local),
    });
}

/* A wss:// handshake from LOCAL: resolves {status: 101, ws} or {status: N}. */
function wss(local, token, headers = {}) {
    return new Promise((resolve, reject) => {
        const ws = new WebSocket(`wss://127.0.0.1:${port}/v1/ws?token=${token}`,
            { ca, localAddress: local, headers, perMessageDeflate: false });
        ws.once('unexpected-response', (req, res) => {
            res.resume();
            resolve({ status: res.statusCode });
            req.destroy();
        });
        ws.once('message', (d) => {
            const msg = JSON.parse(d);
            resolve({ status: 101, ws, hello: msg });
        });
        ws.once('error', reject);
    });
}

before(async () => {
    if (!await which('openssl')) return;
    dir = await tempDir('rtkd-tls-');
    await sh('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
        '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
        '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')]);
    ca = await readFile(path.join(dir, 'cert.pem'));
});

after(async () => {
    for (const c of [...children]) await stopProxy(c);
    if (dir) await rm(dir, { recursive: true, force: true });
});

for (const name of Object.keys(PROXIES)) {
    test(`the SDK over https:// and a peer over wss:// through ${name}; the per-IP handshake limit ` +
        'is per client, not per proxy', { timeout: 60000 }, async (t) => {
        const bin = await which(name);
        if (!bin || !ca) {
            t.skip(`${bin ? 'openssl' : name} is not installed (scripts/bootstrap.sh installs it)`);
            return;
        }
        const data = await tempDir('rtkd-tls-data-');
        F.accountId = await createAccount(data);
        F.token = await createToken(data, F.accountId);
        let srv = await start({ dataDir: data, args: ['serve', '--listen', '127.0.0.1:0', '--data', data,
            '--trust-proxy', '127.0.0.1', '--handshake-rate', String(RATE)] });
        const proxy = await startProxy(name, bin, srv.port);
        try {
            const cf = sdk(A);
            const app = (await cf.realtimeKit.apps.post({ account_id: F.accountId, name: 'tls' })).data.app;
            const at = { account_id: F.accountId, app_id: app.id };
            const meeting = (await cf.realtimeKit.meetings.create(app.id, { account_id: F.accountId, title: 'TLS' })).data;
            const part = async (id) => (await cf.realtimeKit.meetings.addParticipant(meeting.id, {
                ...at, custom_participant_id: id, preset_name: 'group_call_participant', name: id })).data;
            const ann = await part('ann');
            const bob = await part('bob');

            /* A peer over wss:// joins, and the SDK over https:// sees it live. */
            const first = await wss(A, ann.token);
            assert.equal(first.status, 101);
            assert.equal(first.hello.type, 'hello');
            const live = (await cf.realtimeKit.activeSession.getActiveSession(meeting.id, at)).data;
            assert.equal(live.live_participants, 1);
            first.ws.close();

            /* Client A uses up its own handshakes (burst RATE), a forged X-Forwarded-For or not... */
            await sleep(1100); /* a full bucket again */
            const tries = await Promise.all(Array.from({ length: 2 * RATE + 2 }, (_, i) =>
                wss(A, ann.token, i % 2 ? { 'X-Forwarded-For': `198.51.100.${i}` } : {})));
            for (const r of tries) if (r.ws) r.ws.terminate();
            const refused = tries.filter((r) => r.status === 429).length;
            assert.ok(refused >= RATE, `client A: ${refused} of ${tries.length} handshakes refused with 429`);
            /* ...while client B, behind the same proxy, still has all of its own. */
            const fromB = await wss(B, bob.token);
            assert.equal(fromB.status, 101, 'client B was refused: the limit counted the proxy, not the client');
            fromB.ws.close();

            await cf.realtimeKit.activeSession.kickAllParticipants(meeting.id, at).catch(() => {});
            await srv.stop();
            const log = srv.stderr();
            srv = null;
            assert.match(log, new RegExp(`access ip=${A.replaceAll('.', '\\.')} method=GET path=/v1/ws status=101`));
            assert.match(log, new RegExp(`access ip=${A.replaceAll('.', '\\.')} method=GET path=/v1/ws status=429`));
            assert.match(log, new RegExp(`access ip=${B.replaceAll('.', '\\.')} method=GET path=/v1/ws status=101`));
            assert.match(log, new RegExp(`access ip=${A.replaceAll('.', '\\.')} method=POST path=/client/v4/accounts/`));
            assert.doesNotMatch(log, /access ip=127\.0\.0\.1 /, 'a request was logged with the proxy\'s address');
            assert.doesNotMatch(log, /access ip=198\.51\.100\./, 'a forged X-Forwarded-For was believed');
        } finally {
            await stopProxy(proxy);
            if (srv) await srv.stop();
            await rm(data, { recursive: true, force: true });
        }
    });
}
