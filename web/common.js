// SPDX-License-Identifier: MIT
// Shared helpers for the console and the participant page: DOM building without innerHTML
// (every value from the server goes in as text), formatting, and poll rendering.

/**
 * Creates an element. ATTRS: plain attributes, plus `class`, `text` (textContent), `on`
 * ({event: handler}) and `dataset`. CHILDREN: nodes, strings (text), or null/false (skipped).
 */
export function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
        if (v === null || v === undefined || v === false) continue;
        if (k === 'class') node.className = v;
        else if (k === 'text') node.textContent = v;
        else if (k === 'on') for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
        else if (k === 'dataset') Object.assign(node.dataset, v);
        else if (v === true) node.setAttribute(k, '');
        else node.setAttribute(k, String(v));
    }
    append(node, children);
    return node;
}

function append(node, children) {
    for (const c of children.flat()) {
        if (c === null || c === undefined || c === false) continue;
        node.append(typeof c === 'string' || typeof c === 'number' ? String(c) : c);
    }
}

/* Replaces every child of NODE. */
export function fill(node, ...children) {
    node.replaceChildren();
    append(node, children);
}

export function $(id) {
    return document.getElementById(id);
}

/* Shows TEXT in NODE (a role=status or role=alert element); empty text hides it. */
export function say(node, text, kind = 'info') {
    node.textContent = text || '';
    node.hidden = !text;
    node.dataset.kind = kind;
}

/* A button that asks to be pressed twice (within 5 s) before it acts. */
export function confirmButton(label, confirmLabel, cls, action) {
    const b = el('button', { type: 'button', class: cls }, label);
    let armed = null;
    b.addEventListener('click', async () => {
        if (!armed) {
            b.textContent = confirmLabel;
            b.classList.add('armed');
            armed = setTimeout(() => {
                armed = null;
                b.textContent = label;
                b.classList.remove('armed');
            }, 5000);
            return;
        }
        clearTimeout(armed);
        armed = null;
        b.disabled = true;
        try {
            await action();
        } finally {
            b.disabled = false;
            b.textContent = label;
            b.classList.remove('armed');
        }
    });
    return b;
}

/* Fractional minutes as "12.3". */
export function fmtMinutes(m) {
    if (typeof m !== 'number' || !Number.isFinite(m)) return '–';
    return m < 10 ? m.toFixed(2) : m.toFixed(1);
}

/* An ISO-8601 time as local "HH:MM:SS" today, or "YYYY-MM-DD HH:MM" otherwise. */
export function fmtTime(iso) {
    if (!iso) return '–';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso;
    const pad = (n) => String(n).padStart(2, '0');
    const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    const now = new Date();
    if (d.toDateString() === now.toDateString()) return time;
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time.slice(0, 5)}`;
}

export function plural(n, one, many) {
    return `${n} ${n === 1 ? one : many}`;
}

/**
 * Renders one poll's results as a list: for each option its text, count, a bar, and the names
 * of its voters when the poll shows them. Works for both views: the REST view (count always
 * set, `voted` list) and the participant's viewer view (count null while hidden, my_vote).
 * ACTIONS, if given, is (index) => element placed in each row (the participant's vote button).
 */
export function pollOptions(poll, actions) {
    const total = poll.options.reduce((s, o) => s + (typeof o.count === 'number' ? o.count : 0), 0);
    return el('ol', { class: 'options' }, poll.options.map((o, i) => {
        const shown = typeof o.count === 'number';
        const pct = shown && total > 0 ? Math.round((o.count / total) * 100) : 0;
        const bar = el('span', { class: 'bar', 'aria-hidden': 'true' }, el('span', { class: 'fill' }));
        // CSSOM, not a style attribute: the Content-Security-Policy forbids inline styles.
        bar.firstChild.style.width = `${pct}%`;
        const mine = poll.my_vote === i;
        const names = !poll.anonymous && Array.isArray(o.votes) && o.votes.length > 0
            ? el('p', { class: 'voters', text: o.votes.map((v) => v.name || v.id).join(', ') })
            : null;
        return el('li', { class: mine ? 'option mine' : 'option', dataset: { option: String(i) } },
            el('div', { class: 'option-head' },
                actions ? actions(i) : el('span', { class: 'option-text', text: o.text }),
                shown
                    ? el('span', { class: 'count', text: `${o.count} (${pct}%)` })
                    : null,
                mine ? el('span', { class: 'badge', text: 'your vote' }) : null),
            shown ? bar : null,
            names);
    }));
}

/* The small badges under a poll's question; VIEWER words them for a participant. */
export function pollBadges(poll, viewer = false) {
    const hidden = viewer ? 'results shown once you vote' : 'results hidden from participants until they vote';
    return el('p', { class: 'badges' },
        poll.anonymous ? el('span', { class: 'badge', text: 'anonymous' }) : null,
        poll.hide_votes ? el('span', { class: 'badge', text: hidden }) : null);
}
