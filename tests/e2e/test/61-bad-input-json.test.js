// SPDX-License-Identifier: MIT
// Hardening, REST layer (issue 6 parts 2 and 3; docs/api.md "Conventions"): invalid JSON and
// invalid UTF-8 bodies on every route that takes a body, nesting 10,000 deep, wrong types, huge
// numbers, duplicate keys, ids and text with SQL in them (data intact afterwards), `search`
// with `%`, `_`, `'` and `\` matching literally, paging edge cases, %-encoded junk in query
// strings, and the per-API-token rate limit (429 + Retry-After; 0 turns it off). Each bad
// input gets 400/404 in the RealtimeKit envelope — never a 500 — and the clients that were
// there before are still served afterwards.

import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { test, sleep, http, httpConn, createToken } from '../lib/rtkd.js';
import {
    hardFixture, NO_LIMITS, assertHttpError, okData,
} from '../lib/hardening.js';

let f;
let live; /* ids the body routes need: a meeting with a live session, a participant */

before(async () => {
    f = await hardFixture({ args: NO_LIMITS });
    /* The bystander peer keeps f.meeting's session live, so kick and poll reach their body
     * checks; an extra participant gives the participant routes a target. */
    const p = await f.participant(f.meeting.id, 'target');
    live = { meeting: f.meeting.id, participant: p.id };
});

after(async () => {
    if (f) await f.stop();
});

/* Every route that reads a JSON body, with a body it would accept. */
function bodyRoutes() {
    const A = `/accounts/${f.accountId}/realtime/kit`;
    const M = `/meetings/${live.meeting}`;
    return [
        { what: 'POST apps', method: 'POST', path: `${A}/apps`, abs: true, ok: { name: 'n' } },
        { what: 'POST meetings', method: 'POST', path: '/meetings', ok: { title: 't' } },
        { what: 'PATCH meeting', method: 'PATCH', path: M, ok: { title: 'bystanders' } },
        { what: 'PUT meeting', method: 'PUT', path: M, ok: { title: 'bystanders' } },
        { what: 'POST participants', method: 'POST', path: `${M}/participants`,
            ok: { custom_participant_id: 'c', preset_name: 'group_call_participant' } },
        { what: 'PATCH participant', method: 'PATCH', path: `${M}/participants/${live.participant}`,
            ok: { name: 'n' } },
        { what: 'POST kick', method: 'POST', path: `${M}/active-session/kick`,
            ok: { participant_ids: [live.participant] } },
        { what: 'POST poll', method: 'POST', path: `${M}/active-session/poll`,
            ok: { question: 'q', options: ['a'] } },
    ];
}

/* Sends RAW (string or Buffer) as the body of ROUTE with the fixture's token. */
function send(route, raw, { token = f.token } = {}) {
    if (route.abs) {
        return http(f.srv, route.method, route.path, {
            token, body: raw, headers: { 'content-type': 'application/json' },
        });
    }
    return f.api(route.method, route.path, { body: raw, headers: { 'content-type': 'application/json' } });
}

async function expect400(route, raw, what, field) {
    const r = await send(route, raw);
    return assertHttpError(r, 400, `${route.what} with ${what}`, field);
}

test('invalid JSON on every body route → 400 "Invalid JSON body: …" naming line and column',
    async () => {
        const bad = {
            'an unterminated object': '{',
            'a missing value': '{"title":}',
            'a trailing comma': '{"title":"x",}',
            'single quotes': "{'title':'x'}",
            'trailing garbage': '{"title":"x"} trailing',
            'two objects': '{}{}',
            'a bare word': 'nul',
            'NaN': '{"session_keep_alive_time_in_secs":NaN}',
            'a byte-order mark': '\ufeff{}',
            'an unterminated string': '{"title":"abc',
            'a raw control character in a string': '{"title":"a\u0001b"}',
            'a bad escape': '{"title":"\\q"}',
            'a comment': '{/* hi */}',
        };
        for (const route of bodyRoutes()) {
            for (const [what, raw] of Object.entries(bad)) {
                const msg = await expect400(route, raw, what);
                assert.match(msg, /^Invalid JSON body: .*line \d+, column \d+/,
                    `${route.what} with ${what}: message ${msg}`);
            }
        }
        await f.check('invalid JSON bodies');
    });

test('a JSON body that is not an object → 400 on every body route', async () => {
    for (const route of bodyRoutes()) {
        for (const raw of ['[]', '[{}]', '"a string"', '42', 'true', 'null']) {
            await expect400(route, raw, `the body ${raw}`);
        }
    }
    await f.check('non-object bodies');
});

test('invalid UTF-8 in JSON strings and keys → 400 on every body route', async () => {
    const enc = (s) => Buffer.from(s, 'latin1');
    const bad = {
        'byte 0xFF': enc('{"title":"a\xffb"}'),
        'an overlong "/" (C0 AF)': enc('{"title":"\xc0\xaf"}'),
        'a UTF-16 surrogate encoded in UTF-8 (ED A0 80)': enc('{"title":"\xed\xa0\x80"}'),
        'a truncated 3-byte sequence': enc('{"title":"\xe2\x82"}'),
        'a code point above U+10FFFF (F4 90 80 80)': enc('{"title":"\xf4\x90\x80\x80"}'),
        'a lone continuation byte': enc('{"title":"\x80"}'),
        'invalid UTF-8 in a key': enc('{"ti\xfftle":"x"}'),
        'a lone high surrogate escape': '{"title":"\\ud800"}',
        'a lone low surrogate escape': '{"title":"\\udc00x"}',
        'an escaped NUL': '{"title":"a\\u0000b"}',
        'a raw NUL byte': enc('{"title":"a\x00b"}'),
    };
    for (const route of bodyRoutes()) {
        for (const [what, raw] of Object.entries(bad)) await expect400(route, raw, what);
    }
    /* Valid non-ASCII text is fine and comes back as sent. */
    const title = 'Grüße, 会議, 🎉, \u2028';
    const m = okData(await f.api('POST', '/meetings', { body: { title } }), 'UTF-8 title', 201);
    assert.equal(m.title, title);
    await f.check('invalid UTF-8 bodies');
});

test('nesting 10,000 deep → 400 (arrays, objects, inside a field, unterminated); 100 deep is fine',
    async () => {
        const N = 10000;
        const deepArr = '['.repeat(N) + ']'.repeat(N);
        const deepObj = '{"a":'.repeat(N) + '1' + '}'.repeat(N);
        const cases = {
            'an array 10,000 deep': deepArr,
            'an object 10,000 deep': deepObj,
            'ai_config 10,000 deep': `{"ai_config":${deepObj}}`,
            'a title 10,000 deep': `{"title":${deepArr}}`,
            'participant_ids 10,000 deep': `{"participant_ids":${deepArr}}`,
            'unterminated, 10,000 deep': '['.repeat(N),
            'mixed, 100,000 deep': '[{"a":'.repeat(50000) + '1' + '}]'.repeat(50000),
        };
        for (const route of bodyRoutes()) {
            for (const [what, raw] of Object.entries(cases)) await expect400(route, raw, what);
        }
        /* A reasonable depth is kept and returned as given. */
        let cfg = { leaf: true };
        for (let i = 0; i < 100; i++) cfg = { k: cfg };
        const m = okData(await f.api('POST', '/meetings', { body: { ai_config: cfg } }),
            'ai_config 100 deep', 201);
        assert.deepEqual(m.ai_config, cfg);
        await f.check('deeply nested bodies');
    });

test('wrong types → 400 naming the field: numbers where strings belong, strings where ' +
    'booleans belong', async () => {
    const byRoute = new Map(bodyRoutes().map((r) => [r.what, r]));
    const cases = [
        ['POST apps', { name: 5 }, 'name'],
        ['POST meetings', { title: 5 }, 'title'],
        ['POST meetings', { title: ['t'] }, 'title'],
        ['POST meetings', { status: 1 }, 'status'],
        ['POST meetings', { record_on_start: 'true' }, 'record_on_start'],
        ['POST meetings', { persist_chat: 'false' }, 'persist_chat'],
        ['POST meetings', { transcribe_on_end: 1 }, 'transcribe_on_end'],
        ['POST meetings', { session_keep_alive_time_in_secs: '60' }, 'session_keep_alive_time_in_secs'],
        ['POST meetings', { ai_config: 'on' }, 'ai_config'],
        ['POST meetings', { recording_config: [1] }, 'recording_config'],
        ['PATCH meeting', { title: 42 }, 'title'],
        ['PATCH meeting', { live_stream_on_start: 'yes' }, 'live_stream_on_start'],
        ['PUT meeting', { summarize_on_end: 0 }, 'summarize_on_end'],
        ['POST participants', { custom_participant_id: 123, preset_name: 'group_call_participant' }, 'custom_participant_id'],
        ['POST participants', { custom_participant_id: 'c9', preset_name: 1.5 }, 'preset_name'],
        ['POST participants', { custom_participant_id: 'c9', preset_name: 'group_call_participant', name: 7 }, 'name'],
        ['POST participants', { custom_participant_id: 'c9', preset_name: 'group_call_participant', picture: {} }, 'picture'],
        ['PATCH participant', { name: true }, 'name'],
        ['PATCH participant', { preset_name: 3 }, 'preset_name'],
        ['POST kick', { participant_ids: [1] }, 'participant_ids'],
        ['POST kick', { participant_ids: 'abc' }, 'participant_ids'],
        ['POST kick', { custom_participant_ids: [null] }, 'custom_participant_ids'],
        ['POST poll', { question: 1, options: ['a'] }, 'question'],
        ['POST poll', { question: 'q', options: [1, 2] }, 'options'],
        ['POST poll', { question: 'q', options: 'a,b' }, 'options'],
        ['POST poll', { question: 'q', options: ['a'], anonymous: 'yes' }, 'anonymous'],
        ['POST poll', { question: 'q', options: ['a'], hide_votes: '1' }, 'hide_votes'],
    ];
    for (const [route, body, field] of cases) {
        await expect400(byRoute.get(route), JSON.stringify(body), JSON.stringify(body), field);
    }
    /* Nothing was changed by the refused PATCH/PUT. */
    const m = okData(await f.api('GET', `/meetings/${live.meeting}`), 'GET meeting');
    assert.equal(m.title, 'bystanders');
    assert.equal(m.live_stream_on_start, false);
    await f.check('wrong types');
});

test('huge and out-of-range numbers → 400 naming the field or the JSON error', async () => {
    const F = 'session_keep_alive_time_in_secs';
    const raws = {
        '1e400 (overflows a double)': `{"${F}":1e400}`,
        'a 23-digit integer': `{"${F}":99999999999999999999999}`,
        'INT64_MAX': `{"${F}":9223372036854775807}`,
        'INT64_MIN': `{"${F}":-9223372036854775808}`,
        'INT64_MAX + 1': `{"${F}":9223372036854775808}`,
        '86401': `{"${F}":86401}`,
        '-1': `{"${F}":-1}`,
        '1.5': `{"${F}":1.5}`,
        '-1e-400': `{"${F}":-1e-400}`,
        'a 5,000-digit number': `{"${F}":${'9'.repeat(5000)}}`,
    };
    const route = bodyRoutes().find((r) => r.what === 'POST meetings');
    for (const [what, raw] of Object.entries(raws)) {
        const r = await send(route, raw);
        const msg = assertHttpError(r, 400, `POST meetings with ${F} ${what}`);
        assert.ok(msg.includes(F) || msg.startsWith('Invalid JSON body'),
            `${what}: message names neither the field nor the JSON error: ${msg}`);
    }
    await f.check('huge numbers');
});

test('duplicate keys → 400 on every body route, also inside nested objects', async () => {
    const cases = {
        'a duplicate top-level key': '{"title":"a","title":"b"}',
        'a duplicate key inside ai_config': '{"ai_config":{"k":1,"k":2}}',
        'a duplicate key differing only by escaping': '{"title":"a","\\u0074itle":"b"}',
    };
    for (const route of bodyRoutes()) {
        for (const [what, raw] of Object.entries(cases)) {
            const msg = await expect400(route, raw, what);
            assert.match(msg, /duplicate/i, `${route.what} with ${what}: ${msg}`);
        }
    }
    await f.check('duplicate keys');
});

test('ids with SQL in them, in paths → 404 JSON; in bodies → stored literally or 404; data intact',
    async () => {
        const countMeetings = async () =>
            (await f.api('GET', '/meetings?per_page=1')).json.paging.total_count;
        const before = await countMeetings();
        const sqls = ["' OR 1=1 --", '"; DROP TABLE meetings;--', "1' OR '1'='1", '1; SELECT 1',
            "x') UNION SELECT * FROM api_tokens --", '%', '_', '*'];
        const M = `/meetings/${live.meeting}`;
        /* In paths (percent-encoded as a client would): never found, never a 500. */
        for (const s of sqls) {
            const e = encodeURIComponent(s);
            for (const p of [`/meetings/${e}`, `${M}/participants/${e}`, `${M}/participants/${e}/token`,
                `${M}/active-session/polls/${e}`, `/sessions/${e}`, `/sessions/${e}/participants`,
                `/sessions/${e}/polls`]) {
                const method = p.endsWith('/token') ? 'POST' : 'GET';
                const r = await f.api(method, p);
                assertHttpError(r, 404, `${method} ${p}`);
            }
            const r = await f.api('DELETE', `${M}/participants/${e}`);
            assertHttpError(r, 404, `DELETE participant ${s}`);
            const r2 = await f.api('PATCH', `/meetings/${e}`, { body: { title: 'pwned' } });
            assertHttpError(r2, 404, `PATCH meeting ${s}`);
        }
        /* Path-safe SQL-ish ids (only characters a route parameter may hold) reach the store. */
        for (const id of ['1--', 'meetings', '0.0', '_', '-1']) {
            assertHttpError(await f.api('GET', `/meetings/${id}`), 404, `GET meeting ${id}`,
                'No meeting found');
        }
        /* In bodies: text is data (a preset named with it, then a participant of that preset). */
        const created = [];
        const host = okData(await f.api('GET', '/presets?search=group_call_host'), 'presets')[0];
        const whole = okData(await f.api('GET', `/presets/${host.id}`), 'preset');
        for (const s of sqls) {
            const pr = okData(await f.api('POST', '/presets', { body: {
                name: s, config: whole.config, permissions: whole.permissions, ui: whole.ui } }),
            `preset ${s}`, 201);
            assert.equal(pr.name, s);
            const m = okData(await f.api('POST', '/meetings', { body: { title: s } }), `title ${s}`, 201);
            assert.equal(m.title, s);
            created.push(m);
            const p = okData(await f.api('POST', `/meetings/${m.id}/participants`, {
                body: {
                    custom_participant_id: s,
                    preset_name: s,
                    name: `Robert'); DROP TABLE participants;-- ${s}`,
                },
            }), `participant ${s}`, 201);
            assert.equal(p.custom_participant_id, s);
            const got = okData(await f.api('GET', `/meetings/${m.id}/participants/${p.id}`), 'GET participant');
            assert.equal(got.preset_name, s);
        }
        /* Kicks naming SQL → 404 No user found, and nobody is kicked. */
        for (const s of ["x' OR '1'='1", '" OR ""="', "'; DELETE FROM kicks; --"]) {
            for (const key of ['participant_ids', 'custom_participant_ids']) {
                const r = await f.api('POST', `${M}/active-session/kick`, { body: { [key]: [s] } });
                assertHttpError(r, 404, `kick ${key} ${s}`, 'No user found');
            }
        }
        /* Query parameters with SQL. */
        assertHttpError(await f.api('GET', `/meetings?status=${encodeURIComponent("ACTIVE' OR '1'='1")}`),
            400, 'status with SQL', 'status');
        const ses = okData(await f.api('GET',
            `/sessions?associated_id=${encodeURIComponent("' OR 1=1 --")}`), 'sessions by SQL id');
        assert.deepEqual(ses.sessions, []);
        const found = okData(await f.api('GET', `/meetings?search=${encodeURIComponent("' OR 1=1 --")}`),
            'search SQL');
        assert.deepEqual(found.map((m) => m.title), ["' OR 1=1 --"]);
        /* Intact: every meeting is still there, the count grew by exactly what was created. */
        assert.equal(await countMeetings(), before + created.length);
        for (const m of created) {
            assert.equal(okData(await f.api('GET', `/meetings/${m.id}`), 'GET').title, m.title);
        }
        await f.check('SQL in ids');
    });

test('search matches %, _, \' and \\ literally (meetings and apps)', async () => {
    const app = (await f.cf.realtimeKit.apps.post({ account_id: f.accountId, name: 'search-app' }))
        .data.app.id;
    const P = `/accounts/${f.accountId}/realtime/kit/${app}`;
    const titles = ['100% sure', '1000 sure', 'snake_case', 'snakeXcase', "it's here", 'its here',
        'back\\slash', 'backXslash', 'plain'];
    for (const title of titles) {
        okData(await http(f.srv, 'POST', `${P}/meetings`, { token: f.token, body: { title } }),
            `create ${title}`, 201);
    }
    const search = async (q) => {
        const r = await http(f.srv, 'GET', `${P}/meetings?per_page=100&search=${encodeURIComponent(q)}`,
            { token: f.token });
        return okData(r, `search ${q}`).map((m) => m.title).sort();
    };
    assert.deepEqual(await search('%'), ['100% sure']);
    assert.deepEqual(await search('0%'), ['100% sure']);
    assert.deepEqual(await search('_'), ['snake_case']);
    assert.deepEqual(await search('e_c'), ['snake_case']);
    assert.deepEqual(await search("'"), ["it's here"]);
    assert.deepEqual(await search("t's"), ["it's here"]);
    assert.deepEqual(await search('\\'), ['back\\slash']);
    assert.deepEqual(await search('%%'), []);
    assert.deepEqual(await search('__'), []);
    assert.deepEqual(await search("''"), []);
    assert.deepEqual(await search('\\%'), []);
    assert.deepEqual(await search('sure'), ['1000 sure', '100% sure'].sort());
    /* + in a query string is a space; %2B is a plus. */
    const r = await http(f.srv, 'GET', `${P}/meetings?search=its+here`, { token: f.token });
    assert.deepEqual(okData(r, 'search its+here').map((m) => m.title), ['its here']);

    /* apps: name contains, the same way. */
    for (const name of ['app 100% x', 'app 1000 x', 'app a_b', 'app axb', "app it's", 'app its']) {
        await f.cf.realtimeKit.apps.post({ account_id: f.accountId, name });
    }
    const apps = async (q) => {
        const rr = await http(f.srv, 'GET', `/accounts/${f.accountId}/realtime/kit/apps?per_page=100&search=` +
            encodeURIComponent(q), { token: f.token });
        return okData(rr, `apps search ${q}`).map((a) => a.name).sort();
    };
    assert.deepEqual(await apps('%'), ['app 100% x']);
    assert.deepEqual(await apps('_'), ['app a_b']);
    assert.deepEqual(await apps("'"), ["app it's"]);
    await f.check('literal search');
});

test('paging edge cases: beyond the last page, limits, junk values → 200 or 400 naming the field',
    async () => {
        const app = (await f.cf.realtimeKit.apps.post({ account_id: f.accountId, name: 'paging-app' }))
            .data.app.id;
        const P = `/accounts/${f.accountId}/realtime/kit/${app}`;
        for (let i = 0; i < 8; i++) {
            okData(await http(f.srv, 'POST', `${P}/meetings`, { token: f.token, body: { title: `p${i}` } }),
                'create', 201);
        }
        const get = (q) => http(f.srv, 'GET', `${P}/meetings?${q}`, { token: f.token });
        const page = async (q) => {
            const r = await get(q);
            okData(r, q);
            return { n: r.json.data.length, paging: r.json.paging };
        };
        assert.deepEqual(await page('per_page=3&page_no=1'),
            { n: 3, paging: { total_count: 8, start_offset: 1, end_offset: 3 } });
        assert.deepEqual(await page('per_page=3&page_no=3'),
            { n: 2, paging: { total_count: 8, start_offset: 7, end_offset: 8 } });
        assert.deepEqual(await page('per_page=3&page_no=4'),
            { n: 0, paging: { total_count: 8, start_offset: 0, end_offset: 0 } });
        assert.deepEqual(await page('per_page=100'),
            { n: 8, paging: { total_count: 8, start_offset: 1, end_offset: 8 } });
        assert.deepEqual(await page('per_page=1&page_no=8'),
            { n: 1, paging: { total_count: 8, start_offset: 8, end_offset: 8 } });
        assert.deepEqual(await page('page_no=1000000'),
            { n: 0, paging: { total_count: 8, start_offset: 0, end_offset: 0 } });
        assert.deepEqual(await page('per_page=%31&page_no=%32'), /* %-encoded digits */
            { n: 1, paging: { total_count: 8, start_offset: 2, end_offset: 2 } });
        assert.equal((await page('unknown=1&foo')).n, 8, 'unknown parameters are ignored');
        /* Huge page numbers: an empty page or a 400, never an overflow or a 500. */
        for (const q of ['page_no=9223372036854775807', 'page_no=4611686018427387904&per_page=100',
            'page_no=1000000001']) {
            const r = await get(q);
            assert.ok(r.status === 200 || r.status === 400, `${q}: ${r.status} ${r.text}`);
            if (r.status === 200) assert.equal(r.json.data.length, 0, q);
            else assertHttpError(r, 400, q, 'page_no');
        }
        const bad = {
            per_page: ['0', '101', '-1', '1.5', '1e2', '', '%20', '+1', '0x10', 'ten', '99999999999999999999',
                '%00', '1%00', '%'],
            page_no: ['0', '-1', '1.5', '1e3', '', 'one', '99999999999999999999', '%001', '%zz'],
        };
        for (const [param, values] of Object.entries(bad)) {
            for (const v of values) {
                for (const where of ['/meetings', `/meetings/${live.meeting}/participants`, '/sessions']) {
                    const r = await f.api('GET', `${where}?${param}=${v}`);
                    assertHttpError(r, 400, `GET ${where}?${param}=${v}`, param);
                }
            }
        }
        await f.check('paging edge cases');
    });

test('%-encoded junk in query strings → 400 naming the parameter or 200, never a 500', async () => {
    const four00 = [
        ['/meetings?search=%', 'search'],
        ['/meetings?search=%zz', 'search'],
        ['/meetings?search=%4', 'search'],
        ['/meetings?search=%00', 'search'],
        ['/meetings?search=a%00b', 'search'],
        [`/meetings?search=${'a'.repeat(300)}`, 'search'],
        ['/meetings?status=%', 'status'],
        ['/meetings?status=ACTIVE%00', 'status'],
        ['/meetings?status=active', 'status'],
        ['/meetings?start_time=%zz', 'start_time'],
        ['/meetings?start_time=2026-13-45T99:99:99.000Z', 'start_time'],
        ['/meetings?end_time=yesterday', 'end_time'],
        ['/sessions?status=%', 'status'],
        ['/sessions?status=LIVE%00', 'status'],
        ['/sessions?associated_id=%zz', 'associated_id'],
        ['/sessions?associated_id=%', 'associated_id'],
        /* Query values are text: bytes that are not UTF-8 are refused (PostgreSQL could not
         * even compare them), naming the parameter. */
        ['/meetings?search=%ff%fe', 'search'],
        ['/sessions?associated_id=%ff', 'associated_id'],
    ];
    for (const [p, field] of four00) assertHttpError(await f.api('GET', p), 400, `GET ${p}`, field);
    const ok = ['/meetings?&&&', '/meetings?=', '/meetings?==&=&search',
        '/meetings?search=%25%5F%27', '/meetings?a=%zz', `/meetings?x=${'%41'.repeat(3000)}`,
        '/meetings?search=%E2%80%AE'];
    for (const p of ok) {
        const r = await f.api('GET', p);
        assert.equal(r.status, 200, `GET ${p}: ${r.status} ${r.text}`);
        assert.equal(r.json.success, true);
    }
    /* The apps list takes the same parameters. */
    const A = `/accounts/${f.accountId}/realtime/kit/apps`;
    for (const q of ['search=%', 'search=%zz', 'per_page=0', 'page_no=%']) {
        const r = await http(f.srv, 'GET', `${A}?${q}`, { token: f.token });
        assertHttpError(r, 400, `GET apps?${q}`);
    }
    await f.check('query junk');
});

test('--api-rate-limit 0: a burst of 300 requests on one token is never refused', async () => {
    const conn = await httpConn(f.srv.port);
    try {
        const req = `GET /client/v4${f.P}/meetings?per_page=1 HTTP/1.1\r\nHost: x\r\n` +
            `Authorization: Bearer ${f.token}\r\n\r\n`;
        let n429 = 0;
        for (let i = 0; i < 300; i += 30) {
            conn.send(req.repeat(30)); /* pipelined bursts of 30 */
            for (let j = 0; j < 30; j++) {
                const r = await conn.next();
                if (r.status === 429) n429++;
                else assert.equal(r.status, 200, `request ${i + j}: ${r.status} ${r.body}`);
            }
        }
        assert.equal(n429, 0, `${n429} requests were refused with the limit off`);
    } finally {
        conn.close();
    }
    await f.check('300 requests with the limit off');
});

test('--api-rate-limit 20: the 21st request in a burst → 429 + Retry-After; per token; recovers',
    async () => {
        const g = await hardFixture({ args: ['--api-rate-limit', '20', '--handshake-rate', '0'] });
        try {
            const burst = await createToken(g.dataDir, g.accountId, 'burst');
            const other = await createToken(g.dataDir, g.accountId, 'other');
            const conn = await httpConn(g.srv.port);
            const req = (tok, extra = '') => `GET /client/v4${g.P}/meetings?per_page=1${extra} HTTP/1.1\r\n` +
                `Host: x\r\nAuthorization: Bearer ${tok}\r\n\r\n`;
            const statuses = [];
            for (let i = 0; i < 20; i++) {
                conn.send(req(burst));
                statuses.push((await conn.next()).status);
            }
            assert.deepEqual(statuses, Array(20).fill(200), 'the first 20 requests are served');
            conn.send(req(burst));
            const r = await conn.next();
            assert.equal(r.status, 429, `21st request: ${r.status} ${r.body}`);
            const retry = Number(r.headers['retry-after']);
            assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 10,
                `Retry-After: ${r.headers['retry-after']}`);
            assert.match(r.headers['content-type'], /application\/json/);
            const body = JSON.parse(r.body);
            assert.equal(body.success, false);
            assert.equal(body.error.code, 429);
            assert.equal(typeof body.error.message, 'string');
            /* A refused write is not executed. */
            const w = await http(g.srv, 'POST', `${g.P}/meetings`,
                { token: burst, body: { title: 'over the limit' } });
            assert.equal(w.status, 429, `a write over the limit: ${w.status} ${w.text}`);
            assert.ok(w.headers.get('retry-after'), 'Retry-After on the refused write');
            /* Another token of the same account, and unauthenticated probes, are not limited. */
            conn.send(req(other));
            assert.equal((await conn.next()).status, 200, 'another token is not limited');
            assert.equal((await http(g.srv, 'GET', '/healthz', { root: true })).status, 200);
            await g.check('a token over its rate limit');
            /* After Retry-After seconds the token is served again. */
            await sleep(retry * 1000 + 100);
            conn.send(req(burst));
            assert.equal((await conn.next()).status, 200, 'served again after Retry-After');
            const none = await http(g.srv, 'GET', `${g.P}/meetings?search=over%20the%20limit`, { token: other });
            assert.equal(none.json.paging.total_count, 0, 'the refused write did not happen');
            /* An unknown token is refused with 401, not counted against anyone. */
            assert.equal((await http(g.srv, 'GET', `${g.P}/meetings`, { token: 'x'.repeat(52) })).status, 401);
            conn.close();
        } finally {
            await g.stop();
        }
    });
