// SPDX-License-Identifier: MIT
// Webhook receivers for the e2e suite (../shared/WEBHOOKS.md): node:http servers on loopback
// that record every request (raw body, headers, time) and answer as a test tells them, and
// checks of both signatures against the keys rtkd publishes at /.well-known/webhooks.json.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';

/**
 * Starts a receiver. BEHAVE(req, n) decides each answer (n counts requests from 0): it returns
 * {status, headers, body} or {hang: true} (never answers) or {destroy: true} (closes the
 * socket mid-response); the default is 200. r.requests holds {n, at, headers, raw, json}.
 * r.port may be given to listen on a known port (after a restart of the receiver).
 */
export async function receiver(behave = () => ({ status: 200 }), { port = 0 } = {}) {
    const r = { requests: [], behave, waiters: [] };
    const sockets = new Set();
    r.server = http.createServer((req, res) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
            const raw = Buffer.concat(chunks).toString('utf8');
            let json = null;
            try {
                json = JSON.parse(raw);
            } catch {
                /* recorded as it came */
            }
            const rec = { n: r.requests.length, at: Date.now(), method: req.method, url: req.url,
                headers: req.headers, raw, json };
            r.requests.push(rec);
            const a = r.behave(rec, rec.n) || { status: 200 };
            for (const w of r.waiters.splice(0)) w();
            if (a.hang) return;
            if (a.destroy) {
                res.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial');
                res.socket.destroy();
                return;
            }
            res.writeHead(a.status ?? 200, a.headers || {});
            res.end(a.body ?? 'ok');
        });
    });
    r.server.on('connection', (s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
    });
    await new Promise((resolve) => r.server.listen(port, '127.0.0.1', resolve));
    r.port = r.server.address().port;
    r.url = `http://127.0.0.1:${r.port}/hook`;
    /* Resolves once PRED(requests) holds, or fails after MS. */
    r.until = async (pred, ms = 15000, what = 'the receiver') => {
        const deadline = Date.now() + ms;
        while (!pred(r.requests)) {
            const left = deadline - Date.now();
            if (left <= 0) {
                assert.fail(`${what}: condition not met within ${ms} ms; got ` +
                    JSON.stringify(r.requests.map((q) => [q.json?.event, q.headers['rtk-uuid']])));
            }
            await new Promise((resolve) => {
                const t = setTimeout(resolve, Math.min(left, 200));
                r.waiters.push(() => { clearTimeout(t); resolve(); });
            });
        }
        return r.requests;
    };
    r.close = () => new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        r.server.close(() => resolve());
    });
    return r;
}

/* The published keys: {publicKey (PEM), standardWebhooksPublicKey ("whpk_…"), ed (KeyObject)}. */
export async function publishedKeys(srv) {
    const res = await fetch(`${srv.rootURL}/.well-known/webhooks.json`);
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.success, true);
    assert.equal(body.message, '');
    const { publicKey, standardWebhooksPublicKey } = body.data;
    assert.match(publicKey, /^-----BEGIN PUBLIC KEY-----\n/);
    assert.match(standardWebhooksPublicKey, /^whpk_[A-Za-z0-9+/]{43}=$/);
    const raw = Buffer.from(standardWebhooksPublicKey.slice(5), 'base64');
    assert.equal(raw.length, 32);
    const ed = crypto.createPublicKey({
        key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk',
    });
    const rsa = crypto.createPublicKey(publicKey);
    assert.equal(rsa.asymmetricKeyType, 'rsa');
    assert.equal(rsa.asymmetricKeyDetails.modulusLength, 2048);
    return { publicKey, standardWebhooksPublicKey, ed, rsa };
}

/* Asserts REQ is a signed delivery: both signatures check against KEYS, the ids agree, and the
 * body is compact JSON as JSON.stringify writes it. */
export function assertSigned(req, keys, webhookId) {
    const h = req.headers;
    assert.equal(req.method, 'POST');
    assert.equal(h['content-type'], 'application/json');
    assert.match(h['user-agent'], /^rtkd\//);
    assert.equal(h['rtk-webhook-id'], webhookId);
    assert.ok(h['rtk-uuid'], 'rtk-uuid');
    assert.equal(h['webhook-id'], h['rtk-uuid']);
    assert.ok(req.json, `the body is JSON: ${req.raw}`);
    assert.equal(req.raw, JSON.stringify(req.json), 'the body is compact, as JSON.stringify');
    assert.ok(crypto.verify('sha256', Buffer.from(req.raw), keys.rsa,
        Buffer.from(h['rtk-signature'], 'base64')), 'rtk-signature verifies');
    const ts = h['webhook-timestamp'];
    assert.match(ts, /^\d+$/);
    assert.ok(Math.abs(Number(ts) - Date.now() / 1000) < 60, 'webhook-timestamp is now');
    const [scheme, sig] = h['webhook-signature'].split(',');
    assert.equal(scheme, 'v1a');
    assert.ok(crypto.verify(null, Buffer.from(`${h['webhook-id']}.${ts}.${req.raw}`), keys.ed,
        Buffer.from(sig, 'base64')), 'webhook-signature verifies');
}
