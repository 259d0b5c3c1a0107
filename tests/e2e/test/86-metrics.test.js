// SPDX-License-Identifier: MIT
// GET /metrics scraped by a real Prometheus (issue 17, item 1). rtkd runs with --metrics-token
// and --metrics-listen; Prometheus (Debian's `prometheus`, started here on a free loopback
// port with a temporary storage folder) runs the scrape configuration of docs/deploy.md as
// written (targets, the token file and a 1 s interval swapped in) plus a job that scrapes the
// main listener without the token. Peers join; rtkd_peers{state="live"} read back through
// Prometheus's query API must equal the number joined (through both jobs), and follow a leave;
// request counters must count the requests made; the tokenless job must be refused (up 0,
// counted as 401). Without --metrics-token, /metrics on the main listener is 404.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFile, writeFile, rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before } from 'node:test';
import { test, start, tempDir, REPO, sleep } from '../lib/rtkd.js';
import { liveFixture, eventually } from '../lib/peer.js';

const METRICS_TOKEN = 'metrics-e2e-secret-0123456789';
const MEETINGS_ROUTE = '/accounts/:account/realtime/kit/:app/meetings';

let F; /* the live fixture: rtkd with both ways of serving /metrics */
let metricsPort; /* its --metrics-listen port */
let prom; /* {child, port, dir, err()} */

function which(tool) {
    return new Promise((resolve) => {
        execFile('sh', ['-c', `command -v ${tool}`], (err, stdout) => resolve(err ? null : stdout.trim()));
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

/* docs/deploy.md's ```yaml block with only SWAPS ([from, to]) made. */
async function deployYaml(swaps) {
    const md = await readFile(path.join(REPO, 'docs', 'deploy.md'), 'utf8');
    const m = md.match(/^```yaml\n([\s\S]*?)^```$/m);
    assert.ok(m, 'docs/deploy.md has no ```yaml block');
    let conf = m[1];
    for (const [from, to] of swaps) {
        assert.ok(conf.includes(from), `the yaml block no longer has "${from}"`);
        conf = conf.replace(from, to);
    }
    return conf;
}

async function startPrometheus(bin, rtkdPort) {
    const dir = await tempDir('rtkd-prom-');
    const port = await freePort();
    const tokenFile = path.join(dir, 'token');
    await writeFile(tokenFile, METRICS_TOKEN, { mode: 0o600 });
    let conf = await deployYaml([
        ['scrape_interval: 15s', 'scrape_interval: 1s\n  scrape_timeout: 1s'],
        ['/etc/prometheus/rtkd-metrics-token', tokenFile],
        ["'rtkd.internal:8080'", `'127.0.0.1:${rtkdPort}'`],
        ["'10.0.0.5:9464'", `'127.0.0.1:${metricsPort}'`],
    ]);
    /* And the main listener without the token: every scrape must be refused. */
    conf += `  - job_name: rtkd-no-token
    static_configs:
      - targets: ['127.0.0.1:${rtkdPort}']
`;
    await writeFile(path.join(dir, 'prometheus.yml'), conf);
    const child = spawn(bin, [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => { err += d; });
    prom = { child, port, dir, err: () => err };
    for (let i = 0; ; i++) {
        const ready = await fetch(`http://127.0.0.1:${port}/-/ready`).then((r) => r.ok, () => false);
        if (ready) return;
        if (child.exitCode !== null || i > 300) throw new Error(`prometheus did not start:\n${err}`);
        await sleep(100);
    }
}

async function stopPrometheus() {
    if (!prom) return;
    const { child, dir } = prom;
    prom = null;
    if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
    }
    await rm(dir, { recursive: true, force: true });
}

/* The samples of the PromQL instant query Q: [{metric, value: Number}]. */
async function query(q) {
    const res = await fetch(`http://127.0.0.1:${prom.port}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = await res.json();
    assert.equal(body.status, 'success', `query ${q}: ${JSON.stringify(body)}`);
    return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}

/* Waits until Q has exactly one sample equal to WANT (a Prometheus scrape is 1 s apart). */
async function expectValue(q, want, ms = 20000) {
    let last;
    try {
        await eventually(async () => {
            last = await query(q);
            assert.equal(last.length, 1, `${q}: ${JSON.stringify(last)}`);
            assert.equal(last[0].value, want, `${q}`);
        }, { ms, every: 250 });
    } catch (e) {
        e.message += `\nlast answer of ${q}: ${JSON.stringify(last)}\n--- prometheus ---\n${prom.err()}`;
        throw e;
    }
}

async function scrape(port, token) {
    const headers = token ? { authorization: `Bearer ${token}` } : {};
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers });
    return { status: res.status, headers: res.headers, text: await res.text() };
}

const bin = await which('prometheus');
const children = new Set();

before(async () => {
    if (!bin) return;
    F = await liveFixture({ args: ['--metrics-token', METRICS_TOKEN, '--metrics-listen', '127.0.0.1:0'] });
    await eventually(() => {
        const m = F.srv.stdout().match(/rtkd: metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/);
        assert.ok(m, `no metrics line in:\n${F.srv.stdout()}`);
        metricsPort = Number(m[1]);
    });
});

after(async () => {
    for (const c of [...children]) await c.close().catch(() => {});
    await stopPrometheus();
    if (F) await F.stop();
});

const skipWhy = bin ? false : 'prometheus is not installed (scripts/bootstrap.sh installs it)';

test('the main listener serves /metrics only to the --metrics-token bearer', { skip: skipWhy }, async () => {
    const none = await scrape(F.srv.port);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') || '', /^Bearer/);
    assert.equal((await scrape(F.srv.port, 'wrong-token')).status, 401);
    assert.equal((await scrape(F.srv.port, `${METRICS_TOKEN}x`)).status, 401);
    const ok = await scrape(F.srv.port, METRICS_TOKEN);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    assert.match(ok.text, /^# TYPE rtkd_peers gauge$/m);
    assert.match(ok.text, /^rtkd_build_info\{version="[^"]+"\} 1$/m);
    assert.match(ok.text, /^rtkd_http_requests_total\{route="\/metrics",status="401"\} [1-9]\d*$/m);
});

test('--metrics-listen serves /metrics without a token, /healthz, and nothing else', { skip: skipWhy }, async () => {
    const ok = await scrape(metricsPort);
    assert.equal(ok.status, 200);
    assert.match(ok.text, /^rtkd_sessions_live \d+$/m);
    assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).status, 200);
    for (const p of ['/readyz', '/v1/ws', `/accounts/${F.accountId}/realtime/kit/apps`, '/']) {
        const res = await fetch(`http://127.0.0.1:${metricsPort}${p}`);
        assert.equal(res.status, 404, `${p} on the metrics listener`);
        await res.arrayBuffer();
    }
});

test('docs/metrics.md lists every metric the server renders, with its type, and no other', { skip: skipWhy }, async () => {
    const { text } = await scrape(metricsPort);
    const served = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
    assert.ok(served.size >= 25, `families served: ${[...served.keys()]}`);
    const md = await readFile(path.join(REPO, 'docs', 'metrics.md'), 'utf8');
    const documented = new Map([...md.matchAll(/^\| `(rtkd_[a-z_]+)` \| (counter|gauge|histogram) \|/gm)]
        .map((m) => [m[1], m[2]]));
    for (const [name, type] of served) {
        assert.equal(documented.get(name), type, `docs/metrics.md: ${name} should be a row of type ${type}`);
    }
    for (const name of documented.keys()) assert.ok(served.has(name), `documented but not served: ${name}`);
});

test('without --metrics-token, /metrics on the main listener is 404', { skip: skipWhy }, async () => {
    const srv = await start();
    try {
        const res = await scrape(srv.port, METRICS_TOKEN);
        assert.equal(res.status, 404);
    } finally {
        await srv.stop();
    }
});

test('Prometheus scrapes both ways and reads the live peers back', { skip: skipWhy }, async () => {
    await startPrometheus(bin, F.srv.port);
    const a = await F.meetingWith(2, {}, 'a');
    const b = await F.meetingWith(1, {}, 'b');
    const peers = [];
    for (const p of [...a.parts, ...b.parts]) {
        const peer = await F.connect(p);
        children.add(peer);
        peers.push(peer);
    }
    for (const job of ['rtkd', 'rtkd-metrics-listen']) {
        await expectValue(`up{job="${job}"}`, 1);
        await expectValue(`rtkd_peers{job="${job}",state="live"}`, peers.length);
        await expectValue(`rtkd_peers{job="${job}",state="waiting"}`, 0);
        await expectValue(`rtkd_sessions_live{job="${job}"}`, 2);
        await expectValue(`rtkd_meetings_with_peers{job="${job}"}`, 2);
        await expectValue(`rtkd_connections{job="${job}",state="upgraded"}`, peers.length);
    }
    /* The one in meeting b leaves: its meeting has nobody left. */
    await peers[2].close();
    children.delete(peers[2]);
    await expectValue('rtkd_peers{job="rtkd",state="live"}', 2);
    await expectValue('rtkd_meetings_with_peers{job="rtkd"}', 1);
    /* Each hello went out once, and the joins came through the handshake route. */
    await expectValue('rtkd_ws_messages_total{job="rtkd",direction="out",type="hello"}', 3);
    await expectValue('rtkd_http_requests_total{job="rtkd",route="/v1/ws",status="101"}', 3);

    /* The scrape without the token is refused, and counted. */
    await expectValue('up{job="rtkd-no-token"}', 0);
    await eventually(async () => {
        const r = await query('rtkd_http_requests_total{job="rtkd",route="/metrics",status="401"}');
        assert.equal(r.length, 1);
        assert.ok(r[0].value >= 2, `401s counted: ${r[0].value}`);
    }, { ms: 20000, every: 250 });
});

test('request counters count what was asked, by route pattern', { skip: skipWhy }, async () => {
    const q = `rtkd_http_requests_total{job="rtkd-metrics-listen",route="${MEETINGS_ROUTE}",status="201"}`;
    /* The meetings created so far (two in the test before, and the fixture's none). */
    await expectValue(q, 2);
    for (let i = 0; i < 5; i++) await F.meeting({ title: `counted ${i}` });
    await expectValue(q, 7);
    /* The route label is the pattern: no meeting id, nor any other raw path, is a label. */
    const all = await query('rtkd_http_requests_total{job="rtkd"}');
    for (const s of all) {
        assert.ok(!/[0-9a-f]{8}-[0-9a-f]{4}-/.test(s.metric.route), `raw path as a label: ${s.metric.route}`);
    }
    /* From the same scrape as the count of 7 above (the other job's may be older). */
    const hist = await query(`rtkd_http_request_duration_seconds_count{job="rtkd-metrics-listen",route="${MEETINGS_ROUTE}"}`);
    assert.ok(hist.length === 1 && hist[0].value >= 7, JSON.stringify(hist));
    const commits = await query('rtkd_commit_duration_seconds_count{job="rtkd-metrics-listen"}');
    assert.ok(commits.length === 1 && commits[0].value >= 7, `group commits: ${JSON.stringify(commits)}`);
});
