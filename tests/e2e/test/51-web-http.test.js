// SPDX-License-Identifier: MIT
// The web pages over plain HTTP: content types, the Content-Security-Policy and the other
// security headers, caching (ETag, 304, no-cache pages, cacheable assets), HEAD, 405 and 404;
// no inline script or style in the pages; and what `serve --dev` adds: the console URL and a
// demo meeting with two working join links, kept across restarts.

import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before } from 'node:test';
import WebSocket from 'ws';
import { test, start, tempDir } from '../lib/rtkd.js';

const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
    "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const PAGES = [
    ['/', 'text/html; charset=utf-8'],
    ['/join', 'text/html; charset=utf-8'],
];
const ASSETS = [
    ['/ui/console.js', 'text/javascript; charset=utf-8'],
    ['/ui/join.js', 'text/javascript; charset=utf-8'],
    ['/ui/common.js', 'text/javascript; charset=utf-8'],
    ['/ui/style.css', 'text/css; charset=utf-8'],
    ['/ui/icon.svg', 'image/svg+xml'],
];

let srv;

before(async () => {
    srv = await start();
});

after(async () => {
    if (srv) await srv.stop();
});

function assertSecurity(res, what) {
    assert.equal(res.headers.get('content-security-policy'), CSP, `${what}: CSP`);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff', `${what}: nosniff`);
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer', `${what}: Referrer-Policy`);
    assert.equal(res.headers.get('x-frame-options'), 'DENY', `${what}: X-Frame-Options`);
}

test('pages and assets: 200 with the right type, security headers and cache headers', async () => {
    for (const [p, type] of [...PAGES, ...ASSETS]) {
        const res = await fetch(`${srv.rootURL}${p}`);
        const body = await res.text();
        assert.equal(res.status, 200, `${p}: ${body}`);
        assert.equal(res.headers.get('content-type'), type, `${p}: Content-Type`);
        assertSecurity(res, p);
        const etag = res.headers.get('etag');
        assert.match(etag, /^"[0-9a-f]{16}"$/, `${p}: ETag`);
        const page = PAGES.some(([q]) => q === p);
        assert.equal(res.headers.get('cache-control'), page ? 'no-cache' : 'public, max-age=300',
            `${p}: Cache-Control`);
        assert.equal(Number(res.headers.get('content-length')), Buffer.byteLength(body), `${p}: length`);
        assert.ok(body.length > 100, `${p} is too short to be real`);

        /* Revalidation: the same ETag (also weak, also in a list) gets 304 and no body. */
        for (const inm of [etag, `W/${etag}`, `"nope", ${etag}`, '*']) {
            const again = await fetch(`${srv.rootURL}${p}`, { headers: { 'If-None-Match': inm } });
            assert.equal(again.status, 304, `${p} with If-None-Match ${inm}`);
            assert.equal(await again.text(), '');
            assert.equal(again.headers.get('etag'), etag);
            assertSecurity(again, `${p} (304)`);
        }
        const stale = await fetch(`${srv.rootURL}${p}`, { headers: { 'If-None-Match': '"0000000000000000"' } });
        assert.equal(stale.status, 200, `${p} with a stale ETag`);
        await stale.text();

        /* HEAD: the same headers, no body. */
        const head = await fetch(`${srv.rootURL}${p}`, { method: 'HEAD' });
        assert.equal(head.status, 200);
        assert.equal(head.headers.get('content-length'), String(Buffer.byteLength(body)));
        assert.equal(head.headers.get('content-type'), type);
        assert.equal(await head.text(), '');
    }
});

test('other methods get 405 with Allow; unknown assets get 404; the API is untouched', async () => {
    for (const p of ['/', '/join', '/ui/console.js']) {
        for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
            const res = await fetch(`${srv.rootURL}${p}`, { method });
            assert.equal(res.status, 405, `${method} ${p}`);
            assert.equal(res.headers.get('allow'), 'GET, HEAD');
            const body = await res.json();
            assert.equal(body.success, false);
            assert.equal(body.error.code, 405);
        }
    }
    for (const p of ['/ui/nope.js', '/ui/', '/ui/index.html', '/ui/join.html', '/ui/%2e%2e/index.html',
        '/join/', '/index.html', '/client/v4/', '/client/v4/join']) {
        const res = await fetch(`${srv.rootURL}${p}`);
        assert.equal(res.status, 404, `GET ${p}`);
        assert.equal((await res.json()).success, false);
    }
    const health = await fetch(`${srv.rootURL}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(health.headers.get('content-security-policy'), null, 'API answers keep their headers');
});

test('the pages use no inline script, style or handler, and every asset they name exists', async () => {
    for (const [p] of PAGES) {
        const html = await (await fetch(`${srv.rootURL}${p}`)).text();
        assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, `${p}: inline <script>`);
        assert.doesNotMatch(html, /<style/i, `${p}: <style>`);
        assert.doesNotMatch(html, /\sstyle=/i, `${p}: style attribute`);
        assert.doesNotMatch(html, /\son[a-z]+=/i, `${p}: inline event handler`);
        assert.match(html, /<meta name="viewport"/, `${p}: viewport for phones`);
        const refs = [...html.matchAll(/\b(?:src|href)="([^"#]+)"/g)].map((m) => m[1]);
        assert.ok(refs.length >= 3, `${p}: refs ${refs}`);
        for (const ref of refs) {
            assert.match(ref, /^\/ui\//, `${p} names ${ref} outside /ui/`);
            const res = await fetch(`${srv.rootURL}${ref}`);
            assert.equal(res.status, 200, `${p} names ${ref}`);
            await res.arrayBuffer();
        }
        /* Every form control has a label. */
        const ids = [...html.matchAll(/<(?:input|select|textarea)\b[^>]*\bid="([^"]+)"/g)].map((m) => m[1]);
        for (const id of ids) {
            const labelled = html.includes(`for="${id}"`) ||
                new RegExp(`<label>\\s*<input id="${id}"`).test(html);
            assert.ok(labelled, `${p}: control #${id} has no label`);
        }
    }
    /* The scripts import only from /ui/ (relative module paths). */
    for (const f of ['console.js', 'join.js', 'common.js']) {
        const js = await (await fetch(`${srv.rootURL}/ui/${f}`)).text();
        for (const m of js.matchAll(/^import .* from '([^']+)';$/gm)) {
            assert.match(m[1], /^\.\/[a-z]+\.js$/, `${f} imports ${m[1]}`);
        }
        assert.doesNotMatch(js, /\.(?:inner|outer)HTML\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function\(/,
            `${f}: HTML from strings, or eval`);
    }
});

/* Opens a channel connection with TOKEN and resolves its hello (then closes it). */
function hello(rootURL, token) {
    return new Promise((resolve, reject) => {
        const ws = new WebSocket(`${rootURL.replace('http', 'ws')}/v1/ws?token=${encodeURIComponent(token)}`);
        const timer = setTimeout(() => { ws.terminate(); reject(new Error('no hello')); }, 5000);
        ws.on('message', (d) => {
            clearTimeout(timer);
            const msg = JSON.parse(d.toString());
            ws.close(1000);
            resolve(msg);
        });
        ws.on('error', (e) => { clearTimeout(timer); reject(e); });
    });
}

function demoLinks(stdout, rootURL) {
    const links = {};
    for (const m of stdout.matchAll(/^ {2}(Ann|Bob): (\S+)$/gm)) links[m[1]] = m[2];
    for (const url of Object.values(links)) {
        assert.ok(url.startsWith(`${rootURL}/join?token=`), `join link ${url}`);
    }
    return links;
}

test('serve --dev prints the console URL and a demo meeting with two join links, once', async () => {
    const dir = await tempDir();
    try {
        const ids = [];
        for (let run = 0; run < 2; run++) {
            const dev = await start({ dataDir: dir, dev: true });
            try {
                const out = dev.stdout();
                assert.ok(out.includes(`rtkd: console: ${dev.rootURL}/`), `no console URL in:\n${out}`);
                const m = out.match(/rtkd: demo meeting "rtkd demo" \(([0-9a-f-]{36})\)/);
                assert.ok(m, `no demo meeting line in:\n${out}`);
                ids.push(m[1]);
                const links = demoLinks(out, dev.rootURL);
                assert.deepEqual(Object.keys(links).sort(), ['Ann', 'Bob']);

                /* The links join the demo meeting as Ann and Bob. */
                for (const [name, url] of Object.entries(links)) {
                    const token = new URL(url).searchParams.get('token');
                    const h = await hello(dev.rootURL, token);
                    assert.equal(h.type, 'hello');
                    assert.equal(h.self.name, name);
                    assert.equal(h.session.meeting_display_name, 'rtkd demo');
                    assert.equal(h.session.associated_id, m[1]);
                }

                /* The page serves in dev mode like anywhere else. */
                const page = await fetch(`${dev.rootURL}/`);
                assert.equal(page.status, 200);
                await page.text();

                /* Exactly one demo meeting with exactly two participants. */
                const creds = JSON.parse(out.slice(out.indexOf('{'), out.indexOf('}') + 1));
                const cf = dev.client(creds.api_token);
                const list = await cf.realtimeKit.meetings.get(creds.app_id,
                    { account_id: creds.account_id, search: 'rtkd demo' });
                assert.deepEqual(list.data.map((x) => x.id), [m[1]]);
                const people = await cf.realtimeKit.meetings.getMeetingParticipants(m[1],
                    { account_id: creds.account_id, app_id: creds.app_id });
                assert.deepEqual(people.data.map((p) => p.custom_participant_id).sort(),
                    ['demo-ann', 'demo-bob']);
            } finally {
                await dev.stop();
            }
        }
        assert.equal(ids[0], ids[1], 'a restart keeps the demo meeting');
    } finally {
        await rm(dir, { recursive: true, force: true });
    }
});
