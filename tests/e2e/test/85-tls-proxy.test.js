// SPDX-License-Identifier: MIT
// TLS behind nginx and --trust-proxy (issue 17, item 2). The nginx server block of
// docs/deploy.md runs as written (listen port, certificate and upstream port replaced) with a
// self-signed certificate made here by openssl. The SDK goes over https:// and a peer over
// wss:// through it. Clients come from two loopback addresses (127.0.0.2 and 127.0.0.3);
// nginx reaches rtkd from 127.0.0.1, the only trusted proxy. The per-IP handshake limit must
// apply to each client's address, not to nginx's: client A runs out, client B does not; a
// forged X-Forwarded-For from A changes nothing; the access log names the clients.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFile, writeFile, mkdir, rm } from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { after, before } from 'node:test';
import Cloudflare from 'cloudflare';
import WebSocket from 'ws';
import { test, start, tempDir, createAccount, createToken, REPO, sleep } from '../lib/rtkd.js';

const A = '127.0.0.2';
const B = '127.0.0.3';
const RATE = 3; /* --handshake-rate: 3 per second per client, bursts of 3 */

let skip = false;
let dir;
let srv;
let nginx;
let ca;
let port; /* nginx's */
const F = {};

function sh(cmd, args) {
    return new Promise((resolve, reject) => {
        execFile(cmd, args, (err, stdout, stderr) => (err ? reject(new Error(`${cmd}: ${stderr || err.message}`)) : resolve(stdout)));
    });
}

function freePort() {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => {
            const p = s.address().port;
            s.close(() => resolve(p));
        });
    });
}

/* The ```nginx block of docs/deploy.md with only what must differ here replaced. */
async function nginxBlock(rtkdPort, certDir) {
    const md = await readFile(path.join(REPO, 'docs', 'deploy.md'), 'utf8');
    const m = md.match(/^```nginx\n([\s\S]*?)^```$/m);
    assert.ok(m, 'docs/deploy.md has no ```nginx block');
    let conf = m[1];
    const swap = (from, to) => {
        assert.ok(conf.includes(from), `the nginx block no longer has "${from}"`);
        conf = conf.replace(from, to);
    };
    swap('server 127.0.0.1:8080;', `server 127.0.0.1:${rtkdPort};`);
    swap('listen 443 ssl;', `listen 127.0.0.1:${port} ssl;`);
    swap('/etc/ssl/certs/rtkd.example.com.pem', path.join(certDir, 'cert.pem'));
    swap('/etc/ssl/private/rtkd.example.com.key', path.join(certDir, 'key.pem'));
    return conf;
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
    for (const tool of ['nginx', 'openssl']) {
        try {
            await sh('sh', ['-c', `command -v ${tool} || test -x /usr/sbin/${tool}`]);
        } catch {
            skip = `${tool} is not installed (scripts/bootstrap.sh installs it)`;
            return;
        }
    }
    dir = await tempDir('rtkd-tls-');
    await sh('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
        '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
        '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')]);
    ca = await readFile(path.join(dir, 'cert.pem'));
    const data = path.join(dir, 'data');
    await mkdir(data);
    F.accountId = await createAccount(data);
    F.token = await createToken(data, F.accountId);
    srv = await start({ dataDir: data, args: ['serve', '--listen', '127.0.0.1:0', '--data', data,
        '--trust-proxy', '127.0.0.1', '--handshake-rate', String(RATE)] });
    port = await freePort();
    const conf = `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path ${dir}/body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
${await nginxBlock(srv.port, dir)}
}
`;
    await writeFile(path.join(dir, 'nginx.conf'), conf);
    const bin = await sh('sh', ['-c', 'command -v nginx || echo /usr/sbin/nginx']);
    nginx = spawn(bin.trim(), ['-p', dir, '-c', path.join(dir, 'nginx.conf')],
        { stdio: ['ignore', 'ignore', 'pipe'] });
    let nginxErr = '';
    nginx.stderr.on('data', (d) => { nginxErr += d; });
    /* Up once it accepts TLS connections. */
    for (let i = 0; ; i++) {
        const ok = await new Promise((resolve) => {
            const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
            s.on('error', () => resolve(false));
        });
        if (ok) break;
        if (nginx.exitCode !== null || i > 100) {
            throw new Error(`nginx did not start:\n${nginxErr}\n${await readFile(path.join(dir, 'error.log'), 'utf8').catch(() => '')}`);
        }
        await sleep(50);
    }
});

after(async () => {
    if (nginx && nginx.exitCode === null) {
        const exited = new Promise((r) => nginx.once('exit', r));
        nginx.kill('SIGQUIT');
        const t = setTimeout(() => nginx.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
    }
    if (srv) await srv.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
});

test('the SDK over https:// and a peer over wss:// through nginx; the per-IP handshake limit ' +
    'is per client, not per proxy', { timeout: 60000 }, async (t) => {
    if (skip) {
        t.skip(skip);
        return;
    }
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
    /* ...while client B, behind the same nginx, still has all of its own. */
    const fromB = await wss(B, bob.token);
    assert.equal(fromB.status, 101, 'client B was refused: the limit counted nginx, not the client');
    fromB.ws.close();

    await cf.realtimeKit.activeSession.kickAllParticipants(meeting.id, at).catch(() => {});
    await srv.stop();
    const log = srv.stderr();
    srv = null;
    assert.match(log, new RegExp(`access ip=${A.replaceAll('.', '\\.')} method=GET path=/v1/ws status=101`));
    assert.match(log, new RegExp(`access ip=${A.replaceAll('.', '\\.')} method=GET path=/v1/ws status=429`));
    assert.match(log, new RegExp(`access ip=${B.replaceAll('.', '\\.')} method=GET path=/v1/ws status=101`));
    assert.match(log, new RegExp(`access ip=${A.replaceAll('.', '\\.')} method=POST path=/client/v4/accounts/`));
    assert.doesNotMatch(log, /access ip=127\.0\.0\.1 /, 'a request was logged with nginx\'s address');
    assert.doesNotMatch(log, /access ip=198\.51\.100\./, 'a forged X-Forwarded-For was believed');
});
