// SPDX-License-Identifier: MIT
// The participant page (/join?token=…): joins the meeting over the channel (docs/protocol.md),
// shows the live session and its polls, lets the participant vote, and says plainly why the
// connection ended: kicked (4001), replaced by another tab (4002), removed (4003), server
// restarting (1001 "server shutting down"), network lost (no close frame, or 1001 "heartbeat
// timeout"), or refused at the handshake.
//
// Reconnects (with backoff) only where rejoining makes sense: after 1001 and after a lost
// network. After 1012 (a cluster's node restarting or draining, PROTOCOL.md §7) it reconnects
// at once (a jitter of up to 250 ms, so that a node's peers do not all arrive in the same
// instant) through the same address, which a load balancer sends to another node, and says
// so briefly; a second 1012 within 10 s takes the backoff instead. A refused handshake cannot be told apart in the browser: the WebSocket API hides
// the HTTP status. So after a connect that never reached hello the page asks
// GET /v1/ws/check?token= (docs/protocol.md), which runs the handshake's checks and answers
// the status and message the handshake gave: unreachable means the network (retry), 503 the
// server restarting (retry), and a refusal is named (malformed or expired link, removed
// participant, deleted meeting, kicked from this session, meeting inactive, too many
// attempts), each with what to do; "Try again" is offered only where trying again can help.
//
// What the page offers follows the preset (hello's self.permissions, docs/protocol.md §3a):
// the participant list (show_participant_list), Kick buttons and "End for everyone"
// (kick_participant), the waiting room with Admit and Refuse (accept_waiting_requests), a
// new-poll form (polls.can_create), vote buttons (polls.can_vote) and the polls themselves
// (polls.can_view). A participant whose preset makes it wait is told so until it is admitted.

import { $, confirmButton, el, fill, fmtMinutes, fmtTime, plural, pollBadges, pollOptions, say } from './common.js';

const TOKEN_KEY = 'rtkd.join.token';
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 15000;
const MOVE_JITTER_MS = 250;   // the at-once reconnect after 1012 waits 0..this
const MOVE_AGAIN_MS = 10000;  // a 1012 sooner than this after the last one: backoff instead
const MOVED_SHOWN_MS = 5000;  // how long "Reconnected after a server restart" stays

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
    people: new Map(),   // peer id -> listed peer (show_participant_list)
    waiting: new Map(),  // peer id -> waiting peer (accept_waiting_requests)
    acts: new Map(),     // ref of a host action in flight -> {action, names: {participant id: name}}
    endedByMe: false,    // this page sent the kick_all that ended the session
    movedAt: -Infinity,  // when the last 1012 made the page reconnect at once (ms)
    moving: false,       // that reconnect has not reached hello yet
    movedTimer: null,
};

/* One permission of the preset, by dotted path ("polls.can_vote"); undefined when absent. */
function perm(path) {
    let v = state.self?.permissions;
    for (const k of path.split('.')) v = v?.[k];
    return v;
}

/* Polls are viewable and votable unless the preset says otherwise (protocol 1 had no
 * permissions at all); the host tools need an explicit true. */
const canViewPolls = () => perm('polls.can_view') !== false;
const canVote = () => perm('polls.can_vote') !== false;
const allowed = (path) => perm(path) === true;

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
            if (!state.session) $('title').textContent = 'Waiting room';
            $('polls-box').hidden = true;
            renderWho();
            renderRole();
            notice('Waiting to be let in', 'The organiser will admit you to the meeting shortly.');
            break;
        }
        state.helloed = true;
        state.attempt = 0;
        state.self = msg.self;
        state.polls = new Map((msg.polls || []).map((p) => [p.id, p]));
        state.people = new Map((msg.participants || []).map((p) => [p.peer_id, p]));
        state.waiting = new Map((msg.waiting || []).map((p) => [p.peer_id, p]));
        state.acts.clear();
        setSession(msg.session);
        clearNotice();
        $('stats').classList.remove('stale');
        $('polls-box').hidden = false;
        setConn('live', 'Connected');
        if (msg.type === 'admitted') say($('page-msg'), 'You were let in.');
        if (state.moving) {
            state.moving = false;
            say($('page-msg'), 'Reconnected after a server restart.');
            clearTimeout(state.movedTimer);
            state.movedTimer = setTimeout(() => say($('page-msg'), ''), MOVED_SHOWN_MS);
        }
        renderWho();
        renderRole();
        renderPolls();
        break;
    case 'participants.updated':
        applyRoster(state.people, msg);
        renderPeople();
        break;
    case 'waiting.updated':
        applyRoster(state.waiting, msg);
        renderWaiting();
        break;
    case 'done':
        onDone(msg);
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
    if (msg.type === 'poll.created' && typeof msg.ref === 'string' && msg.ref.startsWith('newpoll:')) {
        $('poll-form').reset();
        say($('poll-form-msg'), `Poll started: ${msg.poll?.question ?? ''}`);
    }
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

/* What a host action's error means, in plain words. */
const HOST_WORDS = {
    forbidden: 'Your role does not allow that.',
    not_found: 'That participant is not part of this meeting any more.',
    unavailable: 'The server could not do that just now, so nothing changed. Try again in a moment.',
    rate_limited: 'Too many messages at once: wait a moment and try again.',
};

function onError(msg) {
    const ref = typeof msg.ref === 'string' ? msg.ref : '';
    if (ref.startsWith('newpoll:')) {
        const words = {
            invalid_message: `The poll was not started: ${(msg.message || 'a field is not valid').replace(/\.$/, '')}.`,
            forbidden: 'Your role cannot start polls.',
            unavailable: 'The server could not store the poll just now, so it was not started. Try again.',
            rate_limited: HOST_WORDS.rate_limited,
        };
        say($('poll-form-msg'), words[msg.code] || `The poll was not started: ${msg.message || msg.code}`, 'error');
        return;
    }
    if (state.acts.has(ref)) {
        state.acts.delete(ref);
        say($('host-msg'), HOST_WORDS[msg.code] || `The server said: ${msg.message || msg.code}`, 'error');
        renderPeople();
        renderWaiting();
        return;
    }
    const pollId = ref.startsWith('vote:') ? ref.split(':')[1] : null;
    if (pollId) {
        state.pending.delete(pollId);
        const p = state.polls.get(pollId);
        if (p) renderPoll(p);
    }
    const words = {
        already_voted: 'You have already voted in this poll.',
        poll_not_found: 'That poll is no longer there.',
        invalid_option: 'That option is not part of the poll.',
        forbidden: 'Your role cannot vote in polls.',
        unavailable: 'Your vote could not be stored just now: try again.',
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
    const mayVote = canVote();
    const live = !voted && state.helloed && !state.ended;
    const actions = voted || !mayVote ? null : (i) => el('button', {
        type: 'button',
        class: 'vote',
        disabled: !live || pending,
        on: { click: () => vote(p.id, i) },
    }, p.options[i].text);
    let summary;
    if (voted) {
        summary = `You voted for “${p.options[p.my_vote]?.text ?? '?'}”. ` +
            `${plural(p.total_votes ?? 0, 'vote', 'votes')} in all.`;
    } else if (!mayVote) {
        summary = hidden
            ? 'The results are shown to those who have voted; your role does not vote.'
            : `Your role sees the results but does not vote. ${plural(p.total_votes ?? 0, 'vote', 'votes')} so far.`;
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
    if (!canViewPolls()) {
        fill($('polls'));
        $('no-polls').textContent = 'Polls are not shown for your role in this meeting.';
        $('no-polls').hidden = false;
        return;
    }
    $('no-polls').textContent = 'No polls yet. They appear here as soon as the organiser starts one.';
    fill($('polls'), [...state.polls.values()].map(pollItem));
    $('no-polls').hidden = state.polls.size > 0;
}

/* ---- what the preset allows: participant list, waiting room, host actions, new polls ---- */

/* Shows the sections this participant's preset allows, while it is in the session. */
function renderRole() {
    const live = state.helloed && !state.ended;
    const kick = allowed('kick_participant');
    const accept = allowed('accept_waiting_requests');
    $('host').hidden = !live || !(kick || accept);
    $('host-kick-all').hidden = !kick;
    $('waiting-room').hidden = !live || !accept;
    $('people-box').hidden = !live || !allowed('show_participant_list');
    $('new-poll').hidden = !live || !allowed('polls.can_create');
    if (!live) say($('host-msg'), '');
    renderPeople();
    renderWaiting();
}

/* participants.updated / waiting.updated: joined is an upsert by peer id, left removes
 * (a peer never seen is ignored). */
function applyRoster(map, msg) {
    for (const p of msg.joined || []) if (p && p.peer_id) map.set(p.peer_id, p);
    for (const id of msg.left || []) map.delete(id);
}

const personName = (p) => p.name || p.custom_participant_id || p.participant_id;

/* Refills LIST with ITEMS; a focused button inside comes back focused (same aria-label),
 * or else the focus goes to the section's heading, so keyboard users keep their place. */
function refill(list, items, heading) {
    const had = list.contains(document.activeElement) ? document.activeElement.getAttribute('aria-label') : null;
    fill(list, items);
    if (had === null) return;
    const again = [...list.querySelectorAll('button')].find((b) => b.getAttribute('aria-label') === had);
    if (again && !again.disabled) again.focus();
    else heading.focus();
}

/* Sends a host action for the participants in PEOPLE (listed or waiting peers). */
function act(type, action, people, button) {
    const ref = `${action}:${++state.refSeq}`;
    const names = Object.fromEntries(people.map((p) => [p.participant_id, personName(p)]));
    const body = { type, ref };
    if (people.length) body.participant_ids = people.map((p) => p.participant_id);
    if (!send(body)) {
        say($('host-msg'), 'Not connected: nothing was sent.', 'error');
        return;
    }
    state.acts.set(ref, { action, names });
    if (button) button.disabled = true;
}

function onDone(msg) {
    const a = state.acts.get(msg.ref);
    state.acts.delete(msg.ref);
    const ids = Array.isArray(msg.participants) ? msg.participants : [];
    const asked = a ? Object.values(a.names).join(', ') : '';
    const did = ids.map((id) => a?.names[id] || state.self?.participant_id === id && 'you' || id).join(', ');
    let text;
    switch (msg.action) {
    case 'kick':
        text = ids.length ? `${did} ${ids.length === 1 ? 'was' : 'were'} removed from the session.`
            : `${asked || 'They'} had already left; they cannot rejoin this session.`;
        break;
    case 'kick_all':
        state.endedByMe = true;
        text = 'The session was ended for everyone.';
        break;
    case 'admit':
        text = ids.length ? `${did} ${ids.length === 1 ? 'was' : 'were'} let in.`
            : `${asked || 'They'} had stopped waiting.`;
        break;
    case 'refuse':
        text = ids.length ? `${did} ${ids.length === 1 ? 'was' : 'were'} not let in.`
            : `${asked || 'They'} had stopped waiting.`;
        break;
    default:
        text = 'Done.';
    }
    say($('host-msg'), text);
    renderPeople();
    renderWaiting();
}

function renderPeople() {
    if ($('people-box').hidden) return;
    const me = state.self?.participant_id;
    const kick = allowed('kick_participant') && state.helloed && !state.ended;
    const list = [...state.people.values()];
    refill($('people'), list.map((p) => {
        const who = personName(p);
        const self = p.participant_id === me;
        return el('li', { dataset: { peerId: p.peer_id, participantId: p.participant_id } },
            el('div', { class: 'person' },
                el('strong', { text: who }),
                self ? el('span', { class: 'badge', text: 'you' }) : null,
                el('span', { class: 'muted small', text: ` ${p.preset_name || ''}` })),
            kick && !self ? el('button', {
                type: 'button',
                class: 'danger small',
                'aria-label': `Kick ${who}`,
                on: { click: (ev) => act('participant.kick', 'kick', [p], ev.currentTarget) },
            }, 'Kick') : null);
    }), $('people-h'));
    $('no-people').hidden = list.some((p) => p.participant_id !== me);
}

function renderWaiting() {
    if ($('waiting-room').hidden) return;
    const live = state.helloed && !state.ended;
    const list = [...state.waiting.values()];
    refill($('waiting'), list.map((p) => {
        const who = personName(p);
        return el('li', { dataset: { peerId: p.peer_id, participantId: p.participant_id } },
            el('div', { class: 'person' },
                el('strong', { text: who }),
                el('span', { class: 'muted small', text: ` waiting since ${fmtTime(p.waiting_since)}` })),
            el('div', { class: 'acts' }, el('button', {
                type: 'button',
                class: 'small',
                disabled: !live,
                'aria-label': `Admit ${who}`,
                on: { click: (ev) => act('waiting.admit', 'admit', [p], ev.currentTarget) },
            }, 'Admit'),
            el('button', {
                type: 'button',
                class: 'ghost danger small',
                disabled: !live,
                'aria-label': `Refuse ${who}`,
                on: { click: (ev) => act('waiting.refuse', 'refuse', [p], ev.currentTarget) },
            }, 'Refuse')));
    }), $('waiting-h'));
    $('no-waiting').hidden = list.length > 0;
}

function createPoll(ev) {
    ev.preventDefault();
    const options = $('poll-options').value.split('\n').map((x) => x.trim()).filter(Boolean);
    if (options.length === 0) {
        say($('poll-form-msg'), 'Give at least one option, one per line.', 'error');
        return;
    }
    const sent = send({
        type: 'poll.create',
        question: $('poll-question').value.trim(),
        options,
        anonymous: $('poll-anonymous').checked,
        hide_votes: $('poll-hide').checked,
        ref: `newpoll:${++state.refSeq}`,
    });
    say($('poll-form-msg'), sent ? 'Starting the poll…' : 'Not connected: the poll was not sent.', sent ? 'info' : 'error');
}

function finish(title, text, button = null) {
    state.ended = true;
    clearTimers();
    setConn('ended', 'Disconnected');
    if (!state.session) $('title').textContent = 'Not connected';
    tickMinutes();
    renderPolls(); // vote buttons off
    renderRole();  // host tools off
    notice(title, text, button);
}

/* After 1012: reconnects at once (after a small jitter), unless the last such move was less
 * than MOVE_AGAIN_MS ago (a node restarting over and over): then the backoff. */
function moveNow() {
    const now = Date.now();
    if (now - state.movedAt < MOVE_AGAIN_MS) {
        retry('The server is restarting', 'This happens during an update and takes a moment.');
        return;
    }
    state.movedAt = now;
    state.moving = true;
    state.ended = false;
    state.attempt = 0;
    clearTimers();
    setConn('reconnecting', 'Reconnecting');
    tickMinutes();
    renderPolls();
    renderRole();
    notice('Moving you to another server', 'The server you were on is restarting. Reconnecting now…');
    state.retryTimer = setTimeout(connect, Math.round(Math.random() * MOVE_JITTER_MS));
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
    renderRole();
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
            finish('The session has ended', state.endedByMe
                ? 'You ended this session for everyone.'
                : 'The organiser ended this session for everyone.');
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
    if (code === 1012) {
        moveNow();
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
    const end = confirmButton('End for everyone', 'Confirm: end the session for everyone', 'danger',
        async () => act('session.kick_all', 'kick_all', [], null));
    end.id = 'end-all';
    $('end-all').replaceWith(end);
    $('poll-form').addEventListener('submit', createPoll);
    setInterval(tickMinutes, 1000);
    connect();
}

start();
