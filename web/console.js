// SPDX-License-Identifier: MIT
// The operator console (/): drives the REST API (docs/api.md) with an API token the operator
// pastes. The token and account id live in sessionStorage (this tab only) and never in a URL;
// the address bar carries only the app and meeting ids (#app=…&meeting=…).
//
// The live session is polled about once a second: GET active-session (404 = none), the
// session's peers (GET sessions/{id}/participants: left_at null = live) and
// GET active-session/polls. Three requests a second stay far below the server's default limit
// of 250 requests per 10 s per token. Lists are redrawn only when their data changed, so the
// keyboard focus on a button survives the refresh.

import { $, confirmButton, el, fill, fmtMinutes, fmtTime, plural, pollBadges, pollOptions, say } from './common.js';

const CREDS_KEY = 'rtkd.console';
const REFRESH_MS = 1000;
const SLOW_REFRESH_MS = 5000; // after a 429 or a network error
const HISTORY_EVERY = 10;     // refresh ended sessions every this many live refreshes

const S = {
    account: null,
    token: null,
    apps: [],
    app: null,        // app id
    meeting: null,    // meeting object
    links: new Map(), // participant id -> join URL, for this page's lifetime
    timer: null,
    ticks: 0,
    sessionId: null,  // id of the live session last seen
    sigs: {},         // section -> JSON of what it shows, to redraw only on change
};

class ApiError extends Error {
    constructor(status, message) {
        super(message);
        this.status = status;
    }
}

/* Calls the REST API; resolves the JSON body, or throws ApiError with the server's message. */
async function api(method, path, body) {
    const res = await fetch(`/client/v4/accounts/${S.account}/realtime/kit${path}`, {
        method,
        headers: {
            Authorization: `Bearer ${S.token}`,
            ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
    });
    let json = null;
    try {
        json = await res.json();
    } catch {
        json = null;
    }
    if (!res.ok) {
        const msg = json?.error?.message || json?.errors?.[0]?.message || res.statusText;
        const err = new ApiError(res.status, msg);
        if (res.status === 401 || (res.status === 403 && path === '/apps')) signOut(
            `The server refused this token (${res.status}: ${msg}).`);
        throw err;
    }
    return json;
}

const P = (path = '') => `/${S.app}${path}`;
const M = (path = '') => P(`/meetings/${S.meeting.id}${path}`);

function toast(text, kind = 'info') {
    say($('toast'), text, kind);
    clearTimeout(toast.t);
    toast.t = setTimeout(() => say($('toast'), ''), 6000);
}

function errorText(e) {
    if (e instanceof ApiError) return `${e.message} (HTTP ${e.status})`;
    return `Cannot reach the server: ${e.message}`;
}

/* Redraws section NAME with RENDER(data) only when DATA differs from what it shows. */
function changed(name, data) {
    const sig = JSON.stringify(data);
    if (S.sigs[name] === sig) return false;
    S.sigs[name] = sig;
    return true;
}

/* ---- hash: #app=…&meeting=… ---- */

function readHash() {
    const h = new URLSearchParams(location.hash.slice(1));
    return { app: h.get('app'), meeting: h.get('meeting') };
}

function writeHash() {
    const h = new URLSearchParams();
    if (S.app) h.set('app', S.app);
    if (S.meeting) h.set('meeting', S.meeting.id);
    const next = `#${h}`;
    if (location.hash !== next) history.replaceState(null, '', next);
}

/* ---- sign in ---- */

function signOut(message) {
    sessionStorage.removeItem(CREDS_KEY);
    stopLive();
    S.account = S.token = S.app = S.meeting = null;
    S.sigs = {};
    $('app').hidden = true;
    $('signin').hidden = false;
    $('signout').hidden = true;
    $('whoami').textContent = '';
    say($('signin-msg'), message || '', 'error');
    $('token').value = '';
}

async function signIn(account, token) {
    S.account = account;
    S.token = token;
    let apps;
    try {
        apps = await loadApps();
    } catch (e) {
        if (!(e instanceof ApiError && e.status === 401)) say($('signin-msg'), errorText(e), 'error');
        S.account = S.token = null;
        return false;
    }
    sessionStorage.setItem(CREDS_KEY, JSON.stringify({ account, token }));
    $('signin').hidden = true;
    $('app').hidden = false;
    $('signout').hidden = false;
    $('whoami').textContent = `account ${account}`;
    const want = readHash();
    const app = apps.find((a) => a.id === want.app) || apps[0];
    if (app) await selectApp(app.id, want.meeting);
    else renderNoApp();
    return true;
}

/* ---- apps and meetings ---- */

async function loadApps() {
    const r = await api('GET', '/apps?per_page=100');
    S.apps = r.data;
    const sel = $('app-select');
    fill(sel, S.apps.map((a) => el('option', { value: a.id, text: `${a.name} (${a.id.slice(0, 8)})` })));
    if (S.app) sel.value = S.app;
    return S.apps;
}

function renderNoApp() {
    fill($('meetings'));
    $('meetings-empty').hidden = false;
    $('meetings-empty').textContent = 'This account has no app yet: create one first.';
    $('meeting-form').querySelector('button').disabled = true;
}

async function selectApp(appId, meetingId) {
    S.app = appId;
    $('app-select').value = appId;
    $('meeting-form').querySelector('button').disabled = false;
    closeMeeting();
    closePresetEditor();
    closeDeliveries();
    await Promise.all([loadMeetings(), loadPresets(), loadWebhooks()]);
    if (meetingId) await openMeeting(meetingId);
    writeHash();
}

async function loadMeetings() {
    let r;
    try {
        r = await api('GET', P('/meetings?per_page=100'));
    } catch (e) {
        toast(errorText(e), 'error');
        return;
    }
    const list = r.data;
    $('meetings-empty').textContent = 'No meetings yet.';
    $('meetings-empty').hidden = list.length > 0;
    fill($('meetings'), list.map((m) => el('li', {},
        el('a', {
            href: `#app=${S.app}&meeting=${m.id}`,
            class: S.meeting && S.meeting.id === m.id ? 'current' : null,
            'aria-current': S.meeting && S.meeting.id === m.id ? 'page' : null,
            on: { click: (ev) => { ev.preventDefault(); openMeeting(m.id); } },
        },
        el('span', { class: 'title', text: m.title || '(untitled)' }),
        el('span', { class: 'muted small', text: `${m.status.toLowerCase()} · ${fmtTime(m.created_at)}` })))));
}

async function createMeeting(title) {
    const r = await api('POST', P('/meetings'), { title });
    toast(`Meeting “${title}” created.`);
    await loadMeetings();
    await openMeeting(r.data.id);
}

/* ---- presets ---- */

const DEFAULT_PRESETS = ['group_call_host', 'group_call_participant', 'webinar_presenter', 'webinar_viewer'];

function getPath(obj, path) {
    let v = obj;
    for (const k of path.split('.')) v = v?.[k];
    return v;
}

function setPath(obj, path, value) {
    const keys = path.split('.');
    let o = obj;
    for (const k of keys.slice(0, -1)) o = o[k] ??= {};
    o[keys.at(-1)] = value;
}

async function loadPresets() {
    const app = S.app;
    const out = [];
    for (let page = 1; page <= 20; page++) {
        let r;
        try {
            r = await api('GET', P(`/presets?per_page=100&page_no=${page}`));
        } catch (e) {
            say($('presets-msg'), errorText(e), 'error');
            return;
        }
        out.push(...r.data);
        if (!r.paging || r.paging.end_offset >= r.paging.total_count) break;
    }
    if (app !== S.app) return;
    S.presets = out;
    renderPresets();
}

function renderPresets() {
    const list = S.presets || [];
    fill($('presets'), list.map((p) => el('li', { dataset: { presetId: p.id } },
        el('div', { class: 'person' },
            el('strong', { text: p.name }),
            DEFAULT_PRESETS.includes(p.name) ? el('span', { class: 'muted small', text: ' default' }) : null),
        el('div', { class: 'acts' },
            el('button', {
                type: 'button',
                class: 'ghost small',
                'aria-label': `Edit ${p.name}`,
                on: { click: () => editPreset(p.id) },
            }, 'Edit'),
            confirmButton('Delete', 'Confirm delete', 'ghost danger small', () => deletePreset(p))))));
    if (list.length === 0) $('presets').append(el('li', { class: 'muted', text: 'No presets: create one below.' }));
    /* New presets start from one of the four defaults the app still has. */
    fill($('preset-base'), list.filter((p) => DEFAULT_PRESETS.includes(p.name))
        .map((p) => el('option', { value: p.id, text: p.name })));
    /* The participant form offers the app's presets. */
    const sel = $('p-preset');
    const prev = sel.value;
    fill(sel, list.map((p) => el('option', { value: p.name, text: p.name })));
    const names = list.map((p) => p.name);
    sel.value = names.includes(prev) ? prev
        : names.includes('group_call_participant') ? 'group_call_participant' : (names[0] ?? '');
}

function closePresetEditor() {
    S.editing = null;
    $('preset-edit').hidden = true;
}

async function editPreset(id) {
    say($('presets-msg'), '');
    let r;
    try {
        r = await api('GET', P(`/presets/${id}`));
    } catch (e) {
        say($('presets-msg'), errorText(e), 'error');
        return;
    }
    const p = r.data;
    S.editing = p;
    $('preset-edit-h').textContent = `Permissions of ${p.name}`;
    for (const box of $('preset-edit').querySelectorAll('input[data-perm]')) {
        box.checked = getPath(p.permissions, box.dataset.perm) === true;
    }
    $('perm-waiting_room_type').value = p.permissions?.waiting_room_type || 'SKIP';
    $('preset-edit').hidden = false;
    $('perm-polls-can_view').focus();
}

/* PATCH merges objects field by field: only the enforced permissions are sent. */
async function savePreset() {
    const p = S.editing;
    if (!p) return;
    const permissions = {};
    for (const box of $('preset-edit').querySelectorAll('input[data-perm]')) {
        setPath(permissions, box.dataset.perm, box.checked);
    }
    permissions.waiting_room_type = $('perm-waiting_room_type').value;
    say($('presets-msg'), '');
    try {
        const r = await api('PATCH', P(`/presets/${p.id}`), { permissions });
        S.editing = r.data;
        toast(`Permissions of “${r.data.name}” saved: they apply from each participant's next join.`);
    } catch (e) {
        say($('presets-msg'), errorText(e), 'error');
        return;
    }
    await loadPresets();
}

async function createPreset(form) {
    say($('presets-msg'), '');
    const name = $('preset-name').value.trim();
    let r;
    try {
        const base = (await api('GET', P(`/presets/${$('preset-base').value}`))).data;
        r = await api('POST', P('/presets'), {
            name, config: base.config, permissions: base.permissions, ui: base.ui,
        });
        toast(`Preset “${name}” created from ${base.name}.`);
    } catch (e) {
        say($('presets-msg'), errorText(e), 'error');
        return;
    }
    form.reset();
    form.closest('details').open = false;
    await loadPresets();
    await editPreset(r.data.id);
}

/* ---- webhooks ---- */

async function loadWebhooks() {
    const app = S.app;
    let r;
    try {
        r = await api('GET', P('/webhooks'));
    } catch (e) {
        say($('webhooks-msg'), errorText(e), 'error');
        return;
    }
    if (app !== S.app) return;
    S.webhooks = r.data;
    renderWebhooks();
}

function renderWebhooks() {
    const list = S.webhooks || [];
    fill($('webhooks'), list.map((w) => el('li', { dataset: { webhookId: w.id } },
        el('div', { class: 'person' },
            el('strong', { text: w.name }),
            el('span', { class: w.enabled ? 'badge' : 'badge off', text: w.enabled ? 'enabled' : 'disabled' }),
            el('div', { class: 'muted small url', text: w.url }),
            el('div', { class: 'muted small', text: w.events.join(', ') })),
        el('div', { class: 'acts' },
            el('button', {
                type: 'button',
                class: 'ghost small',
                'aria-label': `${w.enabled ? 'Disable' : 'Enable'} ${w.name}`,
                on: { click: () => setWebhookEnabled(w, !w.enabled) },
            }, w.enabled ? 'Disable' : 'Enable'),
            el('button', {
                type: 'button',
                class: 'ghost small',
                'aria-label': `Deliveries of ${w.name}`,
                on: { click: () => openDeliveries(w) },
            }, 'Deliveries'),
            confirmButton('Delete', 'Confirm delete', 'ghost danger small', () => deleteWebhook(w))))));
    if (list.length === 0) $('webhooks').append(el('li', { class: 'muted', text: 'No webhooks: add one below.' }));
}

async function createWebhook(form) {
    say($('webhooks-msg'), '');
    const events = [...form.querySelectorAll('input[data-event]')].filter((b) => b.checked)
        .map((b) => b.dataset.event);
    if (events.length === 0) {
        say($('webhooks-msg'), 'Pick at least one event.', 'error');
        return;
    }
    const name = $('webhook-name').value.trim();
    try {
        await api('POST', P('/webhooks'), { name, url: $('webhook-url').value.trim(), events });
    } catch (e) {
        say($('webhooks-msg'), errorText(e), 'error');
        return;
    }
    toast(`Webhook “${name}” created.`);
    form.reset();
    form.closest('details').open = false;
    await loadWebhooks();
}

async function setWebhookEnabled(w, enabled) {
    say($('webhooks-msg'), '');
    try {
        await api('PATCH', P(`/webhooks/${w.id}`), { enabled });
    } catch (e) {
        say($('webhooks-msg'), errorText(e), 'error');
        return;
    }
    toast(`Webhook “${w.name}” ${enabled ? 'enabled' : 'disabled'}.`);
    await loadWebhooks();
}

async function deleteWebhook(w) {
    say($('webhooks-msg'), '');
    try {
        await api('DELETE', P(`/webhooks/${w.id}`));
    } catch (e) {
        say($('webhooks-msg'), errorText(e), 'error');
        return;
    }
    toast(`Webhook “${w.name}” deleted; its undelivered events are dropped.`);
    if (S.deliveriesOf && S.deliveriesOf.id === w.id) closeDeliveries();
    await loadWebhooks();
}

function closeDeliveries() {
    S.deliveriesOf = null;
    $('deliveries-box').hidden = true;
}

async function openDeliveries(w) {
    S.deliveriesOf = w;
    $('deliveries-h').textContent = `Recent deliveries of ${w.name}`;
    $('deliveries-box').hidden = false;
    await loadDeliveries();
    $('deliveries-h').focus();
}

/* The newest 20 deliveries of the open webhook, each with its state and a Retry when failed. */
async function loadDeliveries() {
    const w = S.deliveriesOf;
    if (!w) return;
    let r;
    try {
        r = await api('GET', P(`/webhooks/${w.id}/deliveries?per_page=20`));
    } catch (e) {
        say($('webhooks-msg'), errorText(e), 'error');
        return;
    }
    if (S.deliveriesOf !== w) return;
    $('deliveries-empty').hidden = r.data.length > 0;
    fill($('deliveries'), r.data.map((d) => el('li', { dataset: { deliveryId: d.id, status: d.status } },
        el('div', { class: 'person' },
            el('strong', { text: d.event }),
            el('span', { class: `badge ${d.status}`, text: d.status }),
            el('div', { class: 'muted small', text: deliveryText(d) })),
        d.status === 'failed'
            ? el('div', { class: 'acts' }, el('button', {
                type: 'button',
                class: 'ghost small',
                'aria-label': `Retry ${d.event} of ${fmtTime(d.created_at)}`,
                on: { click: () => retryDelivery(w, d) },
            }, 'Retry'))
            : null)));
}

function deliveryText(d) {
    const parts = [fmtTime(d.created_at), plural(d.attempts, 'attempt', 'attempts')];
    if (d.last_status_code !== null) parts.push(`HTTP ${d.last_status_code}`);
    if (d.last_error && d.last_error !== `HTTP ${d.last_status_code}`) parts.push(d.last_error);
    if (d.status === 'pending' && d.next_attempt_at) parts.push(`next ${fmtTime(d.next_attempt_at)}`);
    return parts.join(' · ');
}

async function retryDelivery(w, d) {
    say($('webhooks-msg'), '');
    try {
        await api('POST', P(`/webhooks/${w.id}/deliveries/${d.id}/retry`));
    } catch (e) {
        say($('webhooks-msg'), errorText(e), 'error');
        return;
    }
    toast(`${d.event} queued again.`);
    await loadDeliveries();
}

async function deletePreset(p) {
    say($('presets-msg'), '');
    try {
        await api('DELETE', P(`/presets/${p.id}`));
    } catch (e) {
        say($('presets-msg'), errorText(e), 'error');
        return;
    }
    toast(`Preset “${p.name}” deleted.`);
    if (S.editing && S.editing.id === p.id) closePresetEditor();
    await loadPresets();
}

/* ---- one meeting ---- */

function closeMeeting() {
    stopLive();
    S.meeting = null;
    S.sessionId = null;
    S.sigs = {};
    $('meeting').hidden = true;
    $('pick').hidden = false;
}

async function openMeeting(id) {
    let r;
    try {
        r = await api('GET', P(`/meetings/${id}`));
    } catch (e) {
        toast(errorText(e), 'error');
        return;
    }
    closeMeeting();
    S.meeting = r.data;
    writeHash();
    $('pick').hidden = true;
    $('meeting').hidden = false;
    $('meeting-h').textContent = S.meeting.title || '(untitled meeting)';
    $('meeting-meta').textContent = `${S.meeting.status} · id ${S.meeting.id} · keep-alive ` +
        `${S.meeting.session_keep_alive_time_in_secs} s`;
    for (const a of $('meetings').querySelectorAll('a')) {
        const cur = a.getAttribute('href').endsWith(id);
        a.classList.toggle('current', cur);
        if (cur) a.setAttribute('aria-current', 'page');
        else a.removeAttribute('aria-current');
    }
    fill($('history-detail'));
    await Promise.all([loadParticipants(), loadHistory()]);
    startLive();
}

/* ---- participants and join links ---- */

function joinUrl(token) {
    return `${location.origin}/join?token=${encodeURIComponent(token)}`;
}

async function loadParticipants() {
    const m = S.meeting;
    let r;
    try {
        r = await api('GET', M('/participants?per_page=100'));
    } catch (e) {
        toast(errorText(e), 'error');
        return;
    }
    if (m !== S.meeting) return;
    renderParticipants(r.data);
}

function linkBox(p) {
    const url = S.links.get(p.id);
    const label = `Join link for ${p.name || p.custom_participant_id}`;
    if (!url) {
        return el('button', {
            type: 'button',
            class: 'ghost',
            on: { click: () => refreshLink(p) },
        }, 'Get join link');
    }
    const input = el('input', { readonly: true, value: url, 'aria-label': label, class: 'link', spellcheck: 'false' });
    input.addEventListener('focus', () => input.select());
    return el('div', { class: 'linkbox' },
        input,
        el('button', {
            type: 'button',
            class: 'ghost',
            on: {
                click: async () => {
                    try {
                        await navigator.clipboard.writeText(url);
                        toast('Link copied.');
                    } catch {
                        input.focus();
                        toast('Select the link and copy it (Ctrl+C).');
                    }
                },
            },
        }, 'Copy'),
        el('a', { href: url, target: '_blank', rel: 'noopener noreferrer', class: 'button ghost' }, 'Open'));
}

function renderParticipants(list) {
    S.participants = list;
    fill($('participants'), list.map((p) => el('li', { dataset: { participantId: p.id } },
        el('div', { class: 'person' },
            el('strong', { text: p.name || p.custom_participant_id }),
            el('span', { class: 'muted small', text: ` ${p.custom_participant_id} · ${p.preset_name}` })),
        confirmButton('Remove', 'Confirm remove', 'ghost danger small', () => removeParticipant(p)),
        linkBox(p))));
    if (list.length === 0) $('participants').append(el('li', { class: 'muted', text: 'No participants yet.' }));
}

async function refreshLink(p) {
    try {
        const r = await api('POST', M(`/participants/${p.id}/token`));
        S.links.set(p.id, joinUrl(r.data.token));
        renderParticipants(S.participants);
    } catch (e) {
        toast(errorText(e), 'error');
    }
}

async function removeParticipant(p) {
    try {
        await api('DELETE', M(`/participants/${p.id}`));
        S.links.delete(p.id);
        toast(`${p.name || p.custom_participant_id} was removed from the meeting.`);
        await loadParticipants();
        refreshNow();
    } catch (e) {
        toast(errorText(e), 'error');
    }
}

function slug(s) {
    const base = s.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
    const rand = crypto.getRandomValues(new Uint8Array(3));
    return `${base || 'p'}-${[...rand].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

async function addParticipant(name, custom, preset) {
    const r = await api('POST', M('/participants'), {
        name,
        custom_participant_id: custom || slug(name),
        preset_name: preset,
    });
    S.links.set(r.data.id, joinUrl(r.data.token));
    toast(`${name} added: share the join link.`);
    await loadParticipants();
}

/* ---- live session ---- */

function stopLive() {
    clearTimeout(S.timer);
    S.timer = null;
    S.live = null;
}

function startLive() {
    stopLive();
    S.ticks = 0;
    const run = { meeting: S.meeting };
    S.live = run;
    const tick = async () => {
        let wait = REFRESH_MS;
        try {
            await refreshLive(run);
        } catch (e) {
            if (run !== S.live) return;
            wait = SLOW_REFRESH_MS;
            $('live-state').textContent = errorText(e);
        }
        if (run !== S.live) return;
        if (++S.ticks % HISTORY_EVERY === 0) loadHistory();
        S.timer = setTimeout(tick, wait);
    };
    tick();
}

/* Runs a refresh now instead of waiting for the next tick (after a kick or a new poll). */
function refreshNow() {
    if (S.meeting) startLive();
}

/* GET that answers null on 404 (no live session). */
async function getOr404(path) {
    try {
        return await api('GET', path);
    } catch (e) {
        if (e instanceof ApiError && e.status === 404) return null;
        throw e;
    }
}

/* Every peer of a session (all pages); the live ones have left_at null. */
async function sessionPeers(sessionId) {
    const out = [];
    for (let page = 1; page <= 20; page++) {
        const r = await api('GET', P(`/sessions/${sessionId}/participants?per_page=100&page_no=${page}`));
        out.push(...r.data.participants);
        if (!r.paging || r.paging.end_offset >= r.paging.total_count) break;
    }
    return out;
}

async function refreshLive(run) {
    const r = await getOr404(M('/active-session'));
    if (run !== S.live) return;
    const s = r ? r.data : null;
    renderSession(s);
    if (!s) {
        if (S.sessionId) loadHistory(); // it just ended
        S.sessionId = null;
        renderPeers([]);
        renderPolls([]);
        return;
    }
    if (S.sessionId && S.sessionId !== s.id) loadHistory();
    S.sessionId = s.id;
    const [peers, polls] = await Promise.all([sessionPeers(s.id), getOr404(M('/active-session/polls'))]);
    if (run !== S.live) return;
    renderPeers(peers.filter((p) => p.left_at === null));
    renderPolls(polls ? polls.data.polls : []);
}

function renderSession(s) {
    const stats = $('live-stats');
    $('kick-all').disabled = !s;
    if (!s) {
        stats.hidden = true;
        $('live-state').textContent = 'No live session. It starts when the first participant joins.';
        return;
    }
    stats.hidden = false;
    $('live-state').textContent = `Live since ${fmtTime(s.started_at)} · session ${s.id.slice(0, 8)}`;
    $('live-count').textContent = String(s.live_participants);
    $('live-peak').textContent = String(s.max_concurrent_participants);
    $('live-minutes').textContent = fmtMinutes(s.minutes_consumed);
}

function renderPeers(peers) {
    const data = peers.map((p) => [p.id, p.user_id, p.display_name, p.custom_participant_id]);
    if (!changed('peers', data)) return;
    $('peers-empty').hidden = peers.length > 0;
    fill($('peers'), peers.map((p) => {
        const who = p.display_name || p.custom_participant_id;
        return el('li', { dataset: { userId: p.user_id } },
            el('div', { class: 'person' },
                el('strong', { text: who }),
                el('span', { class: 'muted small', text: ` joined ${fmtTime(p.joined_at)}` })),
            el('button', {
                type: 'button',
                class: 'danger small',
                'aria-label': `Kick ${who}`,
                on: { click: (ev) => kick(p, ev.currentTarget) },
            }, 'Kick'));
    }));
}

async function kick(peer, button) {
    button.disabled = true;
    const who = peer.display_name || peer.custom_participant_id;
    try {
        const r = await api('POST', M('/active-session/kick'), { participant_ids: [peer.user_id] });
        toast(r.data.participants.length ? `${who} was kicked.` : `${who} had already left; they cannot rejoin this session.`);
        refreshNow();
    } catch (e) {
        button.disabled = false;
        toast(errorText(e), 'error');
    }
}

async function kickAll() {
    try {
        const r = await api('POST', M('/active-session/kick-all'));
        toast(`Session ended; ${plural(r.data.kicked_participants_count, 'participant', 'participants')} kicked.`);
    } catch (e) {
        toast(errorText(e), 'error');
    }
    refreshNow();
}

function renderPolls(polls) {
    if (!changed('polls', polls)) return;
    $('polls-empty').hidden = polls.length > 0;
    fill($('polls'), polls.map((p) => el('li', { class: 'poll', dataset: { pollId: p.id } },
        el('h3', { text: p.question }),
        pollBadges(p),
        pollOptions(p),
        el('p', { class: 'muted small summary', text: `${plural(p.voted.length, 'vote', 'votes')} · created ${fmtTime(p.created_at)}` }))));
}

async function createPoll(form) {
    const options = $('poll-options').value.split('\n').map((s) => s.trim()).filter(Boolean);
    if (options.length === 0) {
        toast('Give at least one option.', 'error');
        return false;
    }
    try {
        await api('POST', M('/active-session/poll'), {
            question: $('poll-question').value.trim(),
            options,
            anonymous: $('poll-anonymous').checked,
            hide_votes: $('poll-hide').checked,
        });
    } catch (e) {
        if (e instanceof ApiError && e.status === 404 && /active session/i.test(e.message)) {
            toast('There is no live session: a participant has to join before a poll can start.', 'error');
        } else {
            toast(errorText(e), 'error');
        }
        return false;
    }
    toast('Poll started.');
    form.reset();
    refreshNow();
    return true;
}

/* ---- ended sessions ---- */

async function loadHistory() {
    const m = S.meeting;
    if (!m) return;
    let r;
    try {
        r = await api('GET', P(`/sessions?associated_id=${m.id}&status=ENDED&per_page=20`));
    } catch (e) {
        return;
    }
    if (m !== S.meeting) return;
    const list = r.data.sessions;
    if (!changed('history', list)) return;
    $('history-empty').hidden = list.length > 0;
    fill($('history'), list.map((s) => el('li', {},
        el('div', {},
            el('strong', { text: `${fmtTime(s.started_at)} – ${fmtTime(s.ended_at)}` }),
            el('span', { class: 'muted small', text: ` peak ${s.max_concurrent_participants} · ${fmtMinutes(s.minutes_consumed)} min` })),
        el('button', { type: 'button', class: 'ghost small', on: { click: () => showSession(s) } }, 'Details'))));
}

async function showSession(s) {
    const box = $('history-detail');
    try {
        const [peers, polls] = await Promise.all([
            sessionPeers(s.id),
            api('GET', P(`/sessions/${s.id}/polls`)),
        ]);
        fill(box, el('section', { class: 'sub', 'aria-label': 'Session details' },
            el('h3', { text: `Session ${s.id.slice(0, 8)} (${fmtTime(s.started_at)} – ${fmtTime(s.ended_at)})` }),
            el('h4', { text: 'Who was there' }),
            peers.length
                ? el('ul', { class: 'list compact' }, peers.map((p) => el('li', {},
                    el('span', { text: p.display_name || p.custom_participant_id }),
                    el('span', { class: 'muted small', text: ` ${fmtTime(p.joined_at)} – ${fmtTime(p.left_at)} · ${fmtMinutes(p.duration)} min` }))))
                : el('p', { class: 'muted', text: 'Nobody joined.' }),
            el('h4', { text: 'Polls' }),
            polls.data.polls.length
                ? el('ol', { class: 'polls' }, polls.data.polls.map((p) => el('li', { class: 'poll' },
                    el('h5', { text: p.question }), pollBadges(p), pollOptions(p))))
                : el('p', { class: 'muted', text: 'No polls.' })));
    } catch (e) {
        toast(errorText(e), 'error');
    }
}

/* ---- wiring ---- */

/* Runs ACTION for a form's submit with its button disabled meanwhile. */
function onSubmit(id, action) {
    const form = $(id);
    form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const button = form.querySelector('button[type=submit]');
        button.disabled = true;
        try {
            await action(form);
        } catch (e) {
            toast(errorText(e), 'error');
        } finally {
            button.disabled = false;
        }
    });
}

function wire() {
    onSubmit('signin-form', async () => {
        say($('signin-msg'), '');
        const ok = await signIn($('account').value.trim(), $('token').value.trim());
        if (ok) $('token').value = '';
    });
    onSubmit('app-form', async (form) => {
        const r = await api('POST', '/apps', { name: $('app-name').value.trim() });
        form.reset();
        form.closest('details').open = false;
        await loadApps();
        await selectApp(r.data.app.id);
        toast(`App “${r.data.app.name}” created.`);
    });
    onSubmit('meeting-form', async (form) => {
        const title = $('meeting-title').value.trim();
        await createMeeting(title);
        form.reset();
    });
    onSubmit('participant-form', async (form) => {
        await addParticipant($('p-name').value.trim(), $('p-custom').value.trim(), $('p-preset').value.trim());
        $('p-name').value = '';
        $('p-custom').value = '';
        void form;
    });
    onSubmit('poll-form', (form) => createPoll(form));
    onSubmit('preset-form', (form) => createPreset(form));
    onSubmit('preset-edit', () => savePreset());
    $('preset-edit-close').addEventListener('click', closePresetEditor);
    onSubmit('webhook-form', (form) => createWebhook(form));
    $('deliveries-refresh').addEventListener('click', loadDeliveries);
    $('deliveries-close').addEventListener('click', closeDeliveries);
    $('app-select').addEventListener('change', (ev) => selectApp(ev.target.value));
    $('signout').addEventListener('click', () => signOut('Signed out.'));
    const ka = confirmButton('Kick everyone', 'Confirm: kick everyone and end the session', 'danger', kickAll);
    ka.id = 'kick-all';
    ka.disabled = true;
    $('kick-all').replaceWith(ka);
    window.addEventListener('hashchange', () => {
        const h = readHash();
        if (!S.token) return;
        if (h.app && h.app !== S.app) selectApp(h.app, h.meeting);
        else if (h.meeting && (!S.meeting || S.meeting.id !== h.meeting)) openMeeting(h.meeting);
    });
}

async function main() {
    wire();
    let saved = null;
    try {
        saved = JSON.parse(sessionStorage.getItem(CREDS_KEY) || 'null');
    } catch {
        saved = null;
    }
    if (saved && saved.account && saved.token) {
        $('account').value = saved.account;
        if (!(await signIn(saved.account, saved.token))) $('signin').hidden = false;
    } else {
        $('signin').hidden = false;
    }
}

main();
