// SPDX-License-Identifier: MIT
// The participant page (/join?token=…): joins the meeting over the channel (docs/protocol.md),
// shows the live session and its polls, lets the participant vote, and says plainly why the
// connection ended: kicked (4001), replaced by another tab (4002), removed (4003), server
// restarting (1001 "server shutting down"), network lost (no close frame, or 1001 "heartbeat
// timeout"), or refused at the handshake.
//
// Reconnects (with backoff) only where rejoining makes sense: after 1001 and after a lost
// network. A refused handshake cannot be told apart in the browser: the WebSocket API hides
// the HTTP status. So after a connect that never reached hello the page asks
// GET /v1/ws/check?token= (docs/protocol.md), which runs the handshake's checks and answers
// the status and message the handshake gave: unreachable means the network (retry), 503 the
// server restarting (retry), and a refusal is named (malformed or expired link, removed
// participant, deleted meeting, kicked from this session, meeting inactive, too many
// attempts), each with what to do; "Try again" is offered only where trying again can help.

import { $, el, fill, fmtMinutes, plural, pollBadges, pollOptions } from './common.js';

const TOKEN_KEY = 'rtkd.join.token';
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 15000;

const state = {
    token: null,
    ws: null,
    helloed: false,      // the current connection got its hello
    attempt: 0,          // failed attempts since the last hello (for the backoff)
    retryTimer: null,
    countdownTimer: null,
    kickReason: null,    // from the `kicked` event that precedes close 4001
    self: null,
    session: null,
    sessionAt: 0,        // when `session` arrived (ms), to advance the minutes locally
    polls: new Map(),    // poll id -> viewer view, in creation order
    pending: new Set(),  // poll ids with a vote in flight
    ended: false,        // a final state: no reconnect
    refSeq: 0,
};

/* Reads the token once, keeps it for this tab only, and takes it out of the address bar so
 * it is not left in the history, in bookmarks or on a shared screen. */
function takeToken() {
    const url = new URL(location.href);
    const fromUrl = url.searchParams.get('token');
    if (fromUrl) {
        sessionStorage.setItem(TOKEN_KEY, fromUrl);
        url.searchParams.delete('token');
        history.replaceState(null, '', url.pathname + url.search + url.hash);
        return fromUrl;
    }
    return sessionStorage.getItem(TOKEN_KEY);
}

function setConn(stateName, text) {
    const pill = $('conn');
    pill.dataset.state = stateName;
    pill.textContent = text;
}

function notice(title, text, button = null) {
    $('notice-title').textContent = title;
    $('notice-text').textContent = text;
    const b = $('retry');
    b.hidden = !button;
    if (button) b.textContent = button;
    $('notice').hidden = false;
    $('notice').dataset.kind = state.ended ? 'final' : 'retry';
}

function clearNotice() {
    $('notice').hidden = true;
    $('retry').hidden = true;
}

function clearTimers() {
    clearTimeout(state.retryTimer);
    clearInterval(state.countdownTimer);
    state.retryTimer = state.countdownTimer = null;
}

function connect() {
    clearTimers();
    state.helloed = false;
    state.kickReason = null;
    setConn('connecting', state.attempt ? 'Reconnecting…' : 'Connecting…');
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}/v1/ws?token=${encodeURIComponent(state.token)}`);
    state.ws = ws;
    ws.addEventListener('message', (ev) => {
        if (ws !== state.ws) return;
        let msg;
        try {
            msg = JSON.parse(ev.data);
        } catch {
            return;
        }
        onMessage(msg);
    });
    ws.addEventListener('close', (ev) => {
        if (ws !== state.ws) return;
        state.ws = null;
        state.pending.clear();
        onClose(ev.code, ev.reason);
    });
}

function send(obj) {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) {
        state.ws.send(JSON.stringify(obj));
        return true;
    }
    return false;
}

function onMessage(msg) {
    switch (msg.type) {
    case 'hello':
    case 'admitted':
        if (msg.state === 'waiting') {
            state.attempt = 0;
            state.self = msg.self;
            setConn('waiting', 'Waiting');
            notice('Waiting to be let in', 'The organiser will admit you to the meeting shortly.');
            break;
        }
        state.helloed = true;
        state.attempt = 0;
        state.self = msg.self;
        state.polls = new Map((msg.polls || []).map((p) => [p.id, p]));
        setSession(msg.session);
        clearNotice();
        $('stats').classList.remove('stale');
        setConn('live', 'Connected');
        renderWho();
        renderPolls();
        break;
    case 'session.updated':
        setSession(msg.session);
        break;
    case 'poll.created':
    case 'poll.voted':
        onPoll(msg);
        break;
    case 'poll.updated':
        onPollDelta(msg);
        break;
    case 'refused':
        state.refused = true;
        break;
    case 'kicked':
        state.kickReason = msg.reason;
        break;
    case 'error':
        onError(msg);
        break;
    default:
        break;
    }
}

/* Protocol 2: poll.updated (and poll.voted without a view) carry the tallies and the votes
 * since the previous update; the page applies them to its copy of the viewer view, keeping
 * the 20 most recent voters of each option, newest first. */
function applyTallies(p, msg) {
    if (Array.isArray(msg.counts)) msg.counts.forEach((c, i) => { if (p.options[i]) p.options[i].count = c; });
    if (typeof msg.total_votes === 'number') p.total_votes = msg.total_votes;
    for (const v of msg.voters || []) {
        const o = p.options[v.option];
        if (!o) continue;
        o.votes = [{ id: v.id, name: v.name }, ...(o.votes || []).filter((x) => x.id !== v.id)].slice(0, 20);
    }
}

function onPollDelta(msg) {
    const p = state.polls.get(msg.poll_id);
    if (!p) return;
    applyTallies(p, msg);
    renderPoll(p);
}

function onPoll(msg) {
    if (msg.type === 'poll.voted' && !msg.poll) {
        const p = state.polls.get(msg.poll_id);
        state.pending.delete(msg.poll_id);
        if (!p) return;
        p.my_vote = msg.my_vote;
        applyTallies(p, msg);
        flash(`Your vote on “${p.question}” was counted.`);
        renderPoll(p);
        return;
    }
    const p = msg.poll;
    if (!p || !p.id) return;
    const isNew = !state.polls.has(p.id);
    state.polls.set(p.id, p);
    if (msg.type === 'poll.voted') {
        state.pending.delete(p.id);
        flash(`Your vote on “${p.question}” was counted.`);
    } else if (isNew) {
        flash(`New poll: ${p.question}`);
    }
    renderPoll(p);
}

function onError(msg) {
    const pollId = msg.ref && msg.ref.startsWith('vote:') ? msg.ref.split(':')[1] : null;
    if (pollId) {
        state.pending.delete(pollId);
        const p = state.polls.get(pollId);
        if (p) renderPoll(p);
    }
    const words = {
        already_voted: 'You have already voted in this poll.',
        poll_not_found: 'That poll is no longer there.',
        invalid_option: 'That option is not part of the poll.',
        rate_limited: 'Too many messages at once: wait a moment and try again.',
    };
    flash(words[msg.code] || `The server said: ${msg.message || msg.code}`);
}

function flash(text) {
    const m = $('poll-msg');
    m.textContent = text;
    m.hidden = false;
}

function setSession(s) {
    if (!s) return;
    state.session = s;
    state.sessionAt = Date.now();
    $('title').textContent = s.meeting_display_name || 'Meeting';
    document.title = `${s.meeting_display_name || 'Meeting'} · rtkd`;
    $('live').textContent = String(s.live_participants);
    $('peak').textContent = String(s.max_concurrent_participants);
    tickMinutes();
}

/* The server sends the minutes when the live count changes; in between they grow by one
 * minute per live participant per minute, so the page advances them itself. */
function currentMinutes() {
    const s = state.session;
    const live = state.helloed ? s.live_participants : 0;
    return s.minutes_consumed + (live * (Date.now() - state.sessionAt)) / 60000;
}

function tickMinutes() {
    if (state.session) $('minutes').textContent = fmtMinutes(currentMinutes());
}

function renderWho() {
    const me = state.self;
    if (!me) return;
    const name = me.name || me.custom_participant_id;
    $('who').textContent = `You are ${name}${me.preset_name ? ` (${me.preset_name})` : ''}.`;
}

function vote(pollId, option) {
    if (state.pending.has(pollId)) return;
    const ref = `vote:${pollId}:${++state.refSeq}`;
    if (!send({ type: 'poll.vote', poll_id: pollId, option, ref })) {
        flash('Not connected: your vote was not sent.');
        return;
    }
    state.pending.add(pollId);
    renderPoll(state.polls.get(pollId));
}

function pollItem(p) {
    const voted = typeof p.my_vote === 'number';
    const pending = state.pending.has(p.id);
    const hidden = p.options.some((o) => o.count === null);
    const canVote = !voted && state.helloed && !state.ended;
    const actions = voted ? null : (i) => el('button', {
        type: 'button',
        class: 'vote',
        disabled: !canVote || pending,
        on: { click: () => vote(p.id, i) },
    }, p.options[i].text);
    let summary;
    if (voted) {
        summary = `You voted for “${p.options[p.my_vote]?.text ?? '?'}”. ` +
            `${plural(p.total_votes ?? 0, 'vote', 'votes')} in all.`;
    } else if (pending) {
        summary = 'Sending your vote…';
    } else if (hidden) {
        summary = 'Choose an option to vote. The results are shown once you have voted.';
    } else {
        summary = `Choose an option to vote. ${plural(p.total_votes ?? 0, 'vote', 'votes')} so far.`;
    }
    return el('li', { class: 'poll card', id: `poll-${p.id}`, dataset: { pollId: p.id } },
        el('h3', { tabindex: '-1', text: p.question }),
        pollBadges(p, true),
        pollOptions(p, actions),
        el('p', { class: 'muted summary', text: summary }));
}

/* Replaces one poll in place; when it replaced the element holding the focus (a vote
 * button), the focus moves to the poll's heading so keyboard users keep their place. */
function renderPoll(p) {
    const list = $('polls');
    const old = document.getElementById(`poll-${p.id}`);
    const hadFocus = old && old.contains(document.activeElement);
    const item = pollItem(p);
    if (old) old.replaceWith(item);
    else list.append(item);
    $('no-polls').hidden = true;
    if (hadFocus) item.querySelector('h3').focus();
}

function renderPolls() {
    fill($('polls'), [...state.polls.values()].map(pollItem));
    $('no-polls').hidden = state.polls.size > 0;
}

function finish(title, text, button = null) {
    state.ended = true;
    clearTimers();
    setConn('ended', 'Disconnected');
    if (!state.session) $('title').textContent = 'Not connected';
    tickMinutes();
    renderPolls(); // vote buttons off
    notice(title, text, button);
}

/* Schedules a reconnect with exponential backoff and jitter, counting down on screen. */
function retry(title, text) {
    state.ended = false;
    clearTimers();
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** state.attempt);
    const delay = Math.round(base * (0.75 + Math.random() * 0.5));
    state.attempt++;
    const due = Date.now() + delay;
    setConn('reconnecting', 'Reconnecting');
    tickMinutes();
    renderPolls();
    const show = () => {
        const s = Math.max(1, Math.ceil((due - Date.now()) / 1000));
        notice(title, `${text} Reconnecting in ${s} s…`, 'Reconnect now');
    };
    show();
    state.countdownTimer = setInterval(show, 1000);
    state.retryTimer = setTimeout(connect, delay);
}

function onClose(code, reason) {
    const wasJoined = state.helloed;
    if (wasJoined && state.session) {
        // Keep the minutes where they got to: they no longer grow for this page.
        state.session = { ...state.session, minutes_consumed: currentMinutes() };
        state.sessionAt = Date.now();
    }
    state.helloed = false;
    $('stats').classList.add('stale');
    if (code === 4001) {
        if (state.kickReason === 'kick_all') {
            finish('The session has ended', 'The organiser ended this session for everyone.');
        } else {
            finish('You were removed from the meeting',
                'The organiser removed you from this session, so you cannot rejoin it. ' +
                'You may be invited to a later one.');
        }
        return;
    }
    if (code === 4002) {
        finish('Opened somewhere else',
            'You joined this meeting from another tab or device, so this tab was disconnected.',
            'Use this tab instead');
        return;
    }
    if (code === 4004) {
        if (state.refused) {
            finish('You were not let in', 'The organiser declined your request to join this session.');
        } else {
            finish('The session has ended', 'The session ended while you were waiting to be let in.');
        }
        return;
    }
    if (code === 4003) {
        finish('You are no longer a participant',
            'The organiser removed you from this meeting, so this link no longer works.');
        return;
    }
    if (code === 1001 && /heartbeat/i.test(reason)) {
        // The server stopped hearing from this page (a sleeping laptop, a stalled network).
        retry('Connection lost', 'The server stopped hearing from this page.');
        return;
    }
    if (code === 1001) {
        retry('The server is restarting', 'This happens during an update and takes a moment.');
        return;
    }
    if (wasJoined) {
        retry('Connection lost',
            `The connection dropped${reason ? ` (${reason})` : ''}. Check your network.`);
        return;
    }
    probe();
}

/* A connection that never reached hello: ask the server why (GET /v1/ws/check). Resolves
 * {reach: 'down'|'http', status, message} without throwing. */
async function askWhy() {
    try {
        const res = await fetch(`/v1/ws/check?token=${encodeURIComponent(state.token)}`,
            { cache: 'no-store' });
        const body = await res.json().catch(() => null);
        const v = res.ok && body && body.data;
        if (v && v.joinable) return { reach: 'http', status: 101, message: '' };
        if (v) return { reach: 'http', status: v.status, message: v.message || '' };
        return { reach: 'http', status: res.status, message: body?.error?.message || '' };
    } catch {
        return { reach: 'down', status: 0, message: '' };
    }
}

/* Which case a refused join is in, from the handshake's status and message (the messages are
 * stable: docs/protocol.md, "Refused handshakes"). */
function refusalCase({ reach, status, message }) {
    if (reach === 'down') return 'unreachable';
    if (status === 101) return 'transient';  // joinable now: the failure was passing
    if (status === 503) return 'restarting';
    if (status === 429) return 'busy';
    if (status === 401 && /expired/i.test(message)) return 'expired';
    if (status === 401 && /participant no longer exists/i.test(message)) return 'deleted';
    if (status === 401 && /meeting no longer exists/i.test(message)) return 'meeting-gone';
    if (status === 401) return 'malformed';
    if (status === 403 && /kicked/i.test(message)) return 'kicked';
    if (status === 403 && /refused/i.test(message)) return 'refused';
    if (status === 403 && /inactive/i.test(message)) return 'inactive';
    return 'unknown';
}

/* Title, what to do, and whether "Try again" can help; null for the cases that retry by
 * themselves. */
const REFUSALS = {
    expired: ['This link has expired',
        'Join links are valid for a limited time. Ask the organiser for a new link.', false],
    malformed: ['This link is not valid',
        'The link is incomplete or was changed on the way. Open it again from the ' +
        'organiser\'s message, or ask the organiser for a new one.', false],
    deleted: ['You are no longer a participant',
        'The organiser removed you from this meeting, so this link no longer works. ' +
        'Ask the organiser if you should be invited again.', false],
    'meeting-gone': ['This meeting no longer exists',
        'The meeting was deleted. Ask the organiser for a link to the new one.', false],
    kicked: ['You were removed from this session',
        'The organiser removed you from the session that is running, so you cannot rejoin ' +
        'it. Once it has ended you can join the next one: try again then.', true],
    refused: ['You were not let in',
        'The organiser declined your request to join the session that is running. Once it ' +
        'has ended you can ask to join the next one: try again then.', true],
    inactive: ['The meeting is not open',
        'The organiser has closed this meeting for now. Try again once they reopen it.', true],
    unknown: ['This link was not accepted',
        'The server did not let this link join. Ask the organiser for a new link, or try ' +
        'again in a moment.', true],
};

function showRefusal(why) {
    const c = refusalCase(why);
    if (c === 'unreachable') {
        retry('Cannot reach the server', 'The network or the server is down.');
    } else if (c === 'restarting') {
        retry('The server is restarting', 'This happens during an update and takes a moment.');
    } else if (c === 'busy') {
        retry('Too many attempts', 'Too many joins came from your network at once.');
    } else if (c === 'transient') {
        retry('Connection failed', 'The connection could not be opened.');
    } else {
        const [title, text, again] = REFUSALS[c];
        $('notice').dataset.refusal = c;
        finish(title, text, again ? 'Try again' : null);
    }
}

async function probe() {
    showRefusal(await askWhy());
}

function start() {
    state.token = takeToken();
    if (!state.token) {
        state.ended = true;
        setConn('ended', 'Not connected');
        $('title').textContent = 'No join link';
        $('notice').dataset.refusal = 'no-token';
        notice('No join link',
            'This page needs the link the organiser sent you, which ends in “/join?token=…”. ' +
            'Open that link, or ask the organiser to send it again.');
        return;
    }
    $('retry').addEventListener('click', () => {
        delete $('notice').dataset.refusal;
        state.ended = false;
        state.attempt = 0;
        clearNotice();
        connect();
    });
    // Back online: no need to wait for the backoff.
    window.addEventListener('online', () => {
        if (!state.ended && !state.ws) connect();
    });
    setInterval(tickMinutes, 1000);
    connect();
}

start();
