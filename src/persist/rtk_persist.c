/* SPDX-License-Identifier: MIT */
/* rtk_persist.c - live's events as store writes; live sessions restored at start-up. */
#include "persist/rtk_persist.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "chan/rtk_chan_msg.h"
#include "util/rtk_err.h"
#include "util/rtk_map.h"

struct rtk_persist {
    rtk_store *st;
    rtk_live *live;
    uint64_t failures;
    /* A live session's counters change with every join, leave and heartbeat round; its row is
     * written once per loop turn with the latest values (rtk_persist_turn), not once per
     * event: 15,000 joins in a turn are 15,000 peer rows and one session row, which is what
     * kept a burst of joins or leaves from queueing thousands of updates of one row in
     * PostgreSQL. Starts and ends are written at once. */
    rtk_map dirty; /* session id -> rtk_store_session (the key is its id field) */
};

/* A live done callback waiting for a store completion. */
typedef struct done_wait {
    rtk_persist *p;
    void (*done)(void *arg, int status);
    void *arg;
} done_wait;

static void on_done(void *arg, int status, const rtk_store_res *res)
{
    done_wait *w = arg;
    (void)res;
    if (status != 0 && status != RTK_EEXIST)
        w->p->failures++;
    w->done(w->arg, status);
    free(w);
}

static done_wait *wait_for(rtk_persist *p, const rtk_live_event *ev)
{
    done_wait *w = rtk_xmalloc(sizeof(*w));
    w->p = p;
    w->done = ev->done;
    w->arg = ev->done_arg;
    return w;
}

static void session_row(const rtk_session_view *v, rtk_store_session *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->id, sizeof(out->id), "%s", v->id);
    snprintf(out->meeting_id, sizeof(out->meeting_id), "%s", v->meeting_id);
    snprintf(out->app_id, sizeof(out->app_id), "%s", v->app_id);
    out->title = (char *)v->title;
    out->ended = v->ended;
    out->started_ms = v->started_ms;
    out->ended_ms = v->ended_ms;
    out->updated_ms = v->updated_ms;
    out->seen_ms = v->seen_ms;
    out->peak = v->peak;
    out->closed_ms = v->closed_ms;
}

static void put_session(rtk_persist *p, const rtk_session_view *v, int insert)
{
    rtk_store_session *row = rtk_map_get(&p->dirty, v->id);
    if (insert || v->ended) {
        if (row != NULL) { /* this write holds everything the pending one would */
            rtk_map_del(&p->dirty, v->id);
            free(row);
        }
        rtk_store_session now;
        session_row(v, &now);
        rtk_store_session_put(p->st, &now, insert, NULL, NULL);
        return;
    }
    if (row == NULL) {
        row = rtk_xmalloc(sizeof(*row));
        session_row(v, row);
        rtk_map_put(&p->dirty, row->id, row);
    } else {
        session_row(v, row);
    }
    row->title = NULL; /* an update does not write the title: nothing to keep alive */
}

void rtk_persist_turn(rtk_persist *p)
{
    if (p->dirty.count == 0)
        return;
    size_t it = 0;
    void *v;
    while (rtk_map_next(&p->dirty, &it, NULL, &v)) {
        rtk_store_session_put(p->st, v, 0, NULL, NULL);
        free(v);
    }
    rtk_map_free(&p->dirty);
    rtk_map_init(&p->dirty);
}

static void on_event(void *arg, const rtk_live_event *ev)
{
    rtk_persist *p = arg;
    const rtk_session_view *s = ev->session;
    switch (ev->type) {
    case RTK_LIVE_EV_SESSION_STARTED:
        /* Another node's session may not be stored yet when this node's peers are: every node
         * writes its row (the insert is idempotent), the one that began it first ends any
         * other LIVE session of the meeting. */
        if (ev->reason != RTK_LIVE_STARTED_ELSEWHERE)
            rtk_store_session_end_others(p->st, s->meeting_id, s->id, s->started_ms, NULL, NULL);
        put_session(p, s, 1);
        break;
    case RTK_LIVE_EV_SESSION_CHANGED: put_session(p, s, 0); break;
    case RTK_LIVE_EV_SESSION_ENDED:
        if (ev->all_left)
            rtk_store_session_peers_left(p->st, s->id, ev->at_ms, NULL, NULL);
        put_session(p, s, 0);
        break;
    case RTK_LIVE_EV_JOINED: {
        rtk_store_peer row = {
            .peer_id = ev->peer->peer_id,
            .session_id = s->id,
            .participant_id = ev->peer->participant_id,
            .custom_id = ev->peer->custom_id,
            .name = ev->peer->name,
            .preset = ev->peer->preset,
            .joined_ms = ev->peer->joined_ms,
        };
        rtk_store_peer_joined(p->st, &row, NULL, NULL);
        put_session(p, s, 0);
        break;
    }
    case RTK_LIVE_EV_LEFT:
        rtk_store_peer_left(p->st, ev->peer->peer_id, ev->at_ms, NULL, NULL);
        put_session(p, s, 0);
        break;
    case RTK_LIVE_EV_PEERS_LEFT:
        rtk_store_session_peers_left(p->st, s->id, ev->at_ms, NULL, NULL);
        put_session(p, s, 0);
        break;
    case RTK_LIVE_EV_KICK:
        rtk_store_kick(p->st, s->id, ev->participant_id, ev->at_ms,
                       ev->reason == RTK_LIVE_KICK_REFUSED, NULL, NULL);
        break;
    case RTK_LIVE_EV_POLL_CREATED: {
        const rtk_poll_view *v = ev->poll;
        json_t *opts = json_array();
        for (int i = 0; i < v->nopts; i++)
            json_array_append_new(opts, json_string(v->opts[i]));
        char *text = json_dumps(opts, JSON_COMPACT);
        json_decref(opts);
        if (text == NULL)
            abort(); /* OOM only: options passed the validators, so they are valid UTF-8 */
        rtk_store_poll row = {
            .id = v->id,
            .session_id = s->id,
            .question = v->question,
            .options_json = text,
            .anonymous = v->anonymous,
            .hide_votes = v->hide_votes,
            .created_by = v->created_by,
            .created_ms = v->created_ms,
        };
        rtk_store_poll_create(p->st, &row, NULL, NULL);
        free(text);
        break;
    }
    case RTK_LIVE_EV_VOTE:
        rtk_store_vote(p->st, ev->poll->id, ev->participant_id, ev->option, ev->name, ev->at_ms,
                       ev->done ? on_done : NULL, ev->done ? wait_for(p, ev) : NULL);
        return;
    default: break; /* RTK_LIVE_EV_BARRIER writes nothing of its own */
    }
    if (ev->done != NULL)
        rtk_store_barrier(p->st, on_done, wait_for(p, ev));
}

rtk_persist *rtk_persist_new(rtk_store *st, rtk_live *live)
{
    rtk_persist *p = rtk_xcalloc(1, sizeof(*p));
    p->st = st;
    p->live = live;
    rtk_map_init(&p->dirty);
    rtk_live_subscribe(live, on_event, p, 1);
    return p;
}

void rtk_persist_free(rtk_persist *p)
{
    if (p == NULL)
        return;
    size_t it = 0;
    void *v;
    while (rtk_map_next(&p->dirty, &it, NULL, &v))
        free(v);
    rtk_map_free(&p->dirty);
    free(p);
}

uint64_t rtk_persist_failures(const rtk_persist *p)
{
    return p->failures;
}

/* ---- restoring ---- */

typedef struct restore {
    rtk_persist *p;
    int status;
    rtk_store_session *rows;
    size_t n;
    char (*kicks)[2][37];
    int *refused;
    size_t nkicks;
} restore;

static void on_live_rows(void *arg, int status, const rtk_store_res *res)
{
    restore *r = arg;
    r->status = status;
    if (status != 0)
        return;
    const rtk_store_set *s = &res->sets[0], *k = &res->sets[1];
    r->n = s->nrows;
    r->rows = rtk_xcalloc(r->n ? r->n : 1, sizeof(*r->rows));
    for (size_t i = 0; i < r->n; i++)
        rtk_store_session_read(s, i, 0, &r->rows[i]);
    r->nkicks = k->nrows;
    r->kicks = rtk_xcalloc(r->nkicks ? r->nkicks : 1, sizeof(*r->kicks));
    r->refused = rtk_xcalloc(r->nkicks ? r->nkicks : 1, sizeof(*r->refused));
    for (size_t i = 0; i < r->nkicks; i++) {
        snprintf(r->kicks[i][0], 37, "%s", rtk_store_text(k, i, 0, NULL));
        snprintf(r->kicks[i][1], 37, "%s", rtk_store_text(k, i, 1, NULL));
        r->refused[i] = rtk_store_int(k, i, 2) != 0;
    }
}

typedef struct one {
    restore *r;
    const rtk_store_session *row;
    int status;
} one;

static void on_meeting(void *arg, int status, const rtk_store_res *res)
{
    one *o = arg;
    const rtk_store_session *row = o->row;
    int64_t keep_s = 60;
    json_t *doc = NULL;
    if (status == 0) {
        size_t len;
        const char *text = rtk_store_text(&res->sets[0], 0, 0, &len);
        doc = json_loadb(text, len, 0, NULL);
        json_t *k = json_object_get(doc, "session_keep_alive_time_in_secs");
        if (json_is_integer(k))
            keep_s = json_integer_value(k);
    } else if (status != RTK_ENOTFOUND) {
        o->status = status;
    }
    rtk_session_view v = {
        .id = row->id,
        .meeting_id = row->meeting_id,
        .app_id = row->app_id,
        .title = row->title,
        .started_ms = row->started_ms,
        .updated_ms = row->updated_ms,
        .seen_ms = row->seen_ms,
        .closed_ms = row->closed_ms,
        .peak = row->peak,
    };
    const char *title = json_string_value(json_object_get(doc, "title"));
    rtk_live_restore_session(o->r->p->live, &v, title, keep_s);
    json_decref(doc);
}

static void on_polls(void *arg, int status, const rtk_store_res *res)
{
    one *o = arg;
    if (status != 0) {
        o->status = status;
        return;
    }
    rtk_persist_polls_into(o->r->p->live, o->row->meeting_id, res);
}

void rtk_persist_polls_into(rtk_live *live, const char *meeting, const rtk_store_res *res)
{
    const rtk_store_set *ps = &res->sets[0], *vs = &res->sets[1];
    for (size_t i = 0; i < ps->nrows; i++) {
        size_t len;
        const char *text = rtk_store_text(ps, i, 2, &len);
        json_t *arr = json_loadb(text, len, 0, NULL);
        size_t n = json_array_size(arr);
        const char **opts = rtk_xcalloc(n ? n : 1, sizeof(*opts));
        for (size_t k = 0; k < n; k++)
            opts[k] = json_string_value(json_array_get(arr, k));
        rtk_poll_view v = {
            .id = rtk_store_text(ps, i, 0, NULL),
            .question = rtk_store_text(ps, i, 1, NULL),
            .anonymous = (int)rtk_store_int(ps, i, 3),
            .hide_votes = (int)rtk_store_int(ps, i, 4),
            .created_by = rtk_store_is_null(ps, i, 5) ? NULL : rtk_store_text(ps, i, 5, NULL),
            .created_ms = rtk_store_int(ps, i, 6),
            .nopts = (int)n,
            .opts = opts,
        };
        rtk_live_restore_poll(live, meeting, &v,
                              rtk_chan_msg_view_bound(v.question, opts, v.nopts, v.created_by));
        free(opts);
        json_decref(arr);
    }
    for (size_t i = 0; i < vs->nrows; i++)
        rtk_live_restore_vote(live, meeting, rtk_store_text(vs, i, 0, NULL),
                              rtk_store_text(vs, i, 1, NULL), (int)rtk_store_int(vs, i, 2),
                              rtk_store_is_null(vs, i, 3) ? NULL : rtk_store_text(vs, i, 3, NULL));
}

int rtk_persist_restore(rtk_persist *p)
{
    restore r = {.p = p};
    rtk_store_sessions_live(p->st, on_live_rows, &r);
    int rc = rtk_store_wait(p->st);
    if (rc == 0)
        rc = r.status;
    one *ones = rtk_xcalloc(r.n ? r.n : 1, sizeof(*ones));
    for (size_t i = 0; rc == 0 && i < r.n; i++) {
        ones[i] = (one){&r, &r.rows[i], 0};
        rtk_store_meeting_get(p->st, r.rows[i].app_id, r.rows[i].meeting_id, on_meeting, &ones[i]);
        rtk_store_polls_load(p->st, r.rows[i].id, on_polls, &ones[i]);
    }
    if (rc == 0)
        rc = rtk_store_wait(p->st);
    for (size_t i = 0; rc == 0 && i < r.n; i++)
        rc = ones[i].status;
    for (size_t i = 0; i < r.nkicks; i++)
        rtk_live_restore_kick(p->live, r.kicks[i][0], r.kicks[i][1], r.refused[i]);
    for (size_t i = 0; i < r.n; i++)
        free(r.rows[i].title);
    free(r.rows);
    free(r.kicks);
    free(r.refused);
    free(ones);
    return rc;
}
