/* SPDX-License-Identifier: MIT */
/* rtk_hook.c - the outbox writer (a live subscriber) and the sender (libcurl multi on libuv).
 *
 * Sender states of one delivery (the store's status column):
 *
 *     pending ──attempt──► 2xx ──────────────────────────────► delivered
 *        ▲                 4xx (not 408/429) ────────────────► failed
 *        │                 3xx, 5xx, 408, 429, time-out, network error:
 *        └── next_attempt_at = now + backoff (or Retry-After) ─┘ past max age ► failed
 *
 * The sender reads due deliveries (rtk_store_hook_due: each the oldest pending one of its
 * webhook and meeting, so a later event waits for an earlier one) every poll_ms, as soon as
 * an enqueue is committed while nothing is in flight, and when a result frees a slot a due
 * row waited for. That read scans every pending row, so a chain is followed by itself: once
 * a delivery's result is committed, the chain's next one is read by an index probe
 * (rtk_store_hook_next) and started at once. A delivery is in flight from its request until its
 * result is committed; while in flight it is skipped by later reads, and the next one of its
 * chain stays blocked (it is still pending). At most max_inflight requests run, at most
 * max_per_hook per webhook; each is bounded by timeout_ms, its answer by RESPONSE_MAX bytes. */
#include "hook/rtk_hook.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/rtk_err.h"
#include "util/rtk_id.h"
#include "util/rtk_jw.h"
#include "util/rtk_log.h"
#include "util/rtk_map.h"
#include "util/rtk_metrics.h"
#include "util/rtk_time.h"

#ifndef RTK_VERSION
#define RTK_VERSION "0.1"
#endif

#define RESPONSE_MAX (64 * 1024)
#define DUE_BATCH 256

typedef struct sockctx {
    uv_poll_t poll;
    curl_socket_t fd;
    struct rtk_hook *h;
    struct sockctx *prev, *next;
} sockctx;

typedef struct hook_count {
    char id[40];
    int n;
} hook_count;

typedef struct xfer {
    struct rtk_hook *h;
    CURL *easy;
    struct curl_slist *headers;
    int64_t seq;
    char key[24]; /* seq as text: the in-flight map's key */
    char id[40];
    char meeting_id[40];
    int advanced; /* its result ends it (delivered, failed): the chain's next may go */
    hook_count *count;
    char *body;
    int attempts; /* before this one */
    int64_t created_ms;
    size_t got;          /* response bytes read (and discarded) */
    int64_t retry_after; /* ms, or -1 */
} xfer;

struct rtk_hook {
    uv_loop_t *loop;
    rtk_store *st;
    const rtk_hook_keys *keys;
    rtk_hook_config cfg;
    CURLM *multi;
    uv_timer_t curl_timer; /* libcurl's timeout */
    uv_timer_t poll_timer; /* the next read of the outbox */
    int closes;            /* handles whose close callback has not run */
    int stopped;
    int reading;    /* a due read is in flight */
    int reread;     /* read again when it completes */
    int capped;     /* a due row waited for a free slot: a result reads again */
    int paused;     /* a cluster's node without the sender's lease: it sends nothing */
    int inflight;   /* requests running or waiting for their result's commit */
    rtk_map xfers;  /* seq -> xfer */
    rtk_map counts; /* webhook id -> hook_count */
    rtk_map apps;   /* app id -> app_hooks: which apps' events go to the outbox */
    int all_apps;   /* the start-up read failed: every event goes to the outbox */
    int reloading;  /* a cluster's bus came back: the whole list is being read again */
    sockctx *socks;
};

/* What the outbox writer knows of one app's webhooks (see "which apps" below). */
typedef struct app_hooks {
    char *app_id;
    char *name;    /* the app's name (organizedBy.name), or NULL until read */
    unsigned mask; /* EV_BIT()s its enabled webhooks subscribe to, as last read */
    int busy;      /* webhook writes, and the reads that follow them, in flight */
    unsigned gen;  /* moves when a write begins or ends: older reads are stale */
} app_hooks;

typedef struct app_read {
    rtk_hook *h;
    char *app_id;
    unsigned gen;
    int after_write; /* counted in busy */
} app_read;

static void read_due(rtk_hook *h);

/* ---- the outbox writer ------------------------------------------------------------------- */

static const char *left_reason(int why)
{
    switch (why) {
    case RTK_LIVE_KICKED: return "kicked";
    case RTK_LIVE_REPLACED: return "replaced";
    case RTK_LIVE_REMOVED: return "removed";
    case RTK_LIVE_TIMEOUT: return "timeout";
    case RTK_LIVE_SHUTDOWN:
    case RTK_LIVE_DRAINING: return "shutdown";
    case RTK_LIVE_SLOW:
    case RTK_LIVE_FLOOD: return "kicked";
    default: return "left";
    }
}

/* RealtimeKit's meeting object. createdAt is the session's start: live does not know when
 * the meeting row was made, and the outbox row must be written in the same turn. */
static void put_meeting(rtk_jw *w, const rtk_session_view *s, int ended, const char *app_name)
{
    RTK_JW_LIT(w, "\"meeting\":{\"id\":");
    rtk_jw_str(w, s->meeting_id);
    RTK_JW_LIT(w, ",\"sessionId\":");
    rtk_jw_str(w, s->id);
    RTK_JW_LIT(w, ",\"title\":");
    rtk_jw_str(w, s->title != NULL ? s->title : "");
    RTK_JW_LIT(w, ",\"roomName\":\"\",\"status\":");
    rtk_jw_str(w, ended ? "ENDED" : "LIVE");
    RTK_JW_LIT(w, ",\"createdAt\":");
    rtk_jw_time(w, s->started_ms);
    RTK_JW_LIT(w, ",\"startedAt\":");
    rtk_jw_time(w, s->started_ms);
    if (ended) {
        RTK_JW_LIT(w, ",\"endedAt\":");
        rtk_jw_time(w, s->ended_ms > 0 ? s->ended_ms : rtk_time_now_ms());
    }
    RTK_JW_LIT(w, ",\"organizedBy\":{\"id\":");
    rtk_jw_str(w, s->app_id);
    RTK_JW_LIT(w, ",\"name\":");
    rtk_jw_str(w, app_name != NULL ? app_name : "");
    RTK_JW_LIT(w, "}}");
}

static void put_participant(rtk_jw *w, const rtk_peer_view *p, int left, int64_t at_ms, int why)
{
    RTK_JW_LIT(w, ",\"participant\":{\"peerId\":");
    rtk_jw_str(w, p->peer_id);
    RTK_JW_LIT(w, ",\"userDisplayName\":");
    rtk_jw_str(w, p->name != NULL ? p->name : "");
    RTK_JW_LIT(w, ",\"customParticipantId\":");
    rtk_jw_str(w, p->custom_id != NULL ? p->custom_id : "");
    RTK_JW_LIT(w, ",\"participantId\":");
    rtk_jw_str(w, p->participant_id);
    RTK_JW_LIT(w, ",\"presetName\":");
    rtk_jw_str(w, p->preset != NULL ? p->preset : "");
    RTK_JW_LIT(w, ",\"joinedAt\":");
    rtk_jw_time(w, p->joined_ms);
    if (left) {
        RTK_JW_LIT(w, ",\"leftAt\":");
        rtk_jw_time(w, at_ms);
        RTK_JW_LIT(w, ",\"reason\":");
        rtk_jw_str(w, left_reason(why));
    }
    RTK_JW_LIT(w, "}");
}

static void on_enqueued(void *arg, int status, const rtk_store_res *res)
{
    rtk_hook *h = arg;
    (void)res;
    /* A busy sender finds it by following its chain or at the next poll: a read of every
     * pending row per committed event would cost a burst more than its deliveries. */
    if (status == 0 && !h->stopped && h->inflight == 0)
        read_due(h);
}

/* ---- which apps: the outbox writer's filter --------------------------------------------
 *
 * Rendering an event and adding its INSERT…SELECT to the batch costs the hot path (a join)
 * as much as the join's own record, so it is done only for apps that may have a webhook
 * subscribed to the event. h->apps says which: read from the store at start (every enabled
 * webhook), then kept by the webhooks API, which calls rtk_hook_app_writing in the loop turn
 * it issues a write (the entry is busy: every event of the app is written, so an event
 * after the write's reply meets the SELECT after the write) and rtk_hook_app_written from the
 * write's callback, which reads the app's webhooks again. A read's answer is kept only when
 * no write began or ended since it was issued (gen); the app stays busy until every read
 * that followed a write has answered. Wrong in one direction only: an app may be written
 * for without a webhook (the SELECT then inserts nothing), never skipped with one. */

enum { EV_STARTED = 1u, EV_ENDED = 2u, EV_JOINED = 4u, EV_LEFT = 8u, EV_ALL = 15u };

static unsigned events_mask(const char *events)
{
    /* The API wrote a JSON array of known names: a quoted name matches one element. */
    unsigned m = 0;
    if (strstr(events, "\"meeting.started\"") != NULL)
        m |= EV_STARTED;
    if (strstr(events, "\"meeting.ended\"") != NULL)
        m |= EV_ENDED;
    if (strstr(events, "\"meeting.participantJoined\"") != NULL)
        m |= EV_JOINED;
    if (strstr(events, "\"meeting.participantLeft\"") != NULL)
        m |= EV_LEFT;
    return m;
}

static app_hooks *app_get(rtk_hook *h, const char *app_id)
{
    app_hooks *a = rtk_map_get(&h->apps, app_id);
    if (a == NULL) {
        a = rtk_xcalloc(1, sizeof(*a));
        a->app_id = rtk_xstrndup(app_id, strlen(app_id));
        rtk_map_put(&h->apps, a->app_id, a);
    }
    return a;
}

static void app_set_name(app_hooks *a, const char *name)
{
    if (a->name == NULL || strcmp(a->name, name) != 0) {
        free(a->name);
        a->name = rtk_xstrndup(name, strlen(name));
    }
}

static void on_app_read(void *arg, int status, const rtk_store_res *res)
{
    app_read *r = arg;
    app_hooks *a = rtk_map_get(&r->h->apps, r->app_id);
    if (a != NULL) {
        const rtk_store_set *rows = status == 0 ? &res->sets[0] : NULL;
        if (rows != NULL && rows->nrows > 0)
            app_set_name(a, rtk_store_text(rows, 0, 0, NULL));
        if (r->after_write) {
            a->busy--;
            if (r->gen == a->gen) {
                unsigned m = status == 0 ? 0 : EV_ALL; /* unread: assume subscribed */
                for (size_t i = 0; rows != NULL && i < rows->nrows; i++)
                    if (!rtk_store_is_null(rows, i, 1))
                        m |= events_mask(rtk_store_text(rows, i, 1, NULL));
                a->mask = m;
            }
        }
    }
    free(r->app_id);
    free(r);
}

static void app_read_issue(rtk_hook *h, app_hooks *a, int after_write)
{
    app_read *r = rtk_xcalloc(1, sizeof(*r));
    r->h = h;
    r->app_id = rtk_xstrndup(a->app_id, strlen(a->app_id));
    r->gen = a->gen;
    r->after_write = after_write;
    rtk_store_hook_app(h->st, a->app_id, on_app_read, r);
}

void rtk_hook_app_writing(rtk_hook *h, const char *app_id)
{
    if (h == NULL)
        return;
    app_hooks *a = app_get(h, app_id);
    a->busy++;
    a->gen++;
    if (a->name == NULL) /* the name for the events written while the write is in flight */
        app_read_issue(h, a, 0);
}

void rtk_hook_app_written(rtk_hook *h, const char *app_id)
{
    if (h == NULL)
        return;
    app_hooks *a = app_get(h, app_id);
    a->gen++;
    app_read_issue(h, a, 1); /* takes over the write's busy count */
}

static void on_apps_read(void *arg, int status, const rtk_store_res *res);

void rtk_hook_app_changed(rtk_hook *h, const char *app_id)
{
    if (h == NULL)
        return;
    if (app_id == NULL) { /* any app may have changed: all events go out until read again */
        h->all_apps = 1;
        h->reloading = 1;
        rtk_store_hook_apps(h->st, on_apps_read, h);
        return;
    }
    app_hooks *a = app_get(h, app_id);
    a->busy++;
    a->gen++;
    app_read_issue(h, a, 1);
}

static void on_apps_read(void *arg, int status, const rtk_store_res *res)
{
    rtk_hook *h = arg;
    if (status != 0) {
        rtk_log(RTK_LOG_WARN, "cannot read which apps have webhooks (%s): all events go out",
                rtk_strerror(status));
        h->all_apps = 1;
        h->reloading = 0;
        return;
    }
    if (h->reloading) { /* a reread replaces what was known (writes in flight keep theirs) */
        const char *k;
        void *v;
        for (size_t it = 0; rtk_map_next(&h->apps, &it, &k, &v);) {
            app_hooks *a = v;
            if (a->busy == 0)
                a->mask = 0;
        }
        h->reloading = 0;
        h->all_apps = 0;
    }
    const rtk_store_set *rows = &res->sets[0];
    for (size_t i = 0; i < rows->nrows; i++) {
        app_hooks *a = app_get(h, rtk_store_text(rows, i, 0, NULL));
        app_set_name(a, rtk_store_text(rows, i, 1, NULL));
        a->mask |= events_mask(rtk_store_text(rows, i, 2, NULL));
    }
}

/* The app's entry when its events of kind |bit| go to the outbox, else NULL (and with
 * all_apps, possibly NULL though they do: check all_apps first). */
static const app_hooks *app_wants(const rtk_hook *h, const char *app_id, unsigned bit)
{
    const app_hooks *a = rtk_map_get(&h->apps, app_id);
    if (a == NULL || (a->busy == 0 && (a->mask & bit) == 0))
        return NULL;
    return a;
}

static void on_event(void *arg, const rtk_live_event *ev)
{
    rtk_hook *h = arg;
    const rtk_session_view *s = ev->session;
    const char *name;
    if (ev->type == RTK_LIVE_EV_SESSION_STARTED && ev->reason == RTK_LIVE_STARTED_ELSEWHERE)
        return; /* a cluster's session: the node that began it tells meeting.started */
    unsigned bit;
    switch (ev->type) {
    case RTK_LIVE_EV_SESSION_STARTED: name = "meeting.started", bit = EV_STARTED; break;
    case RTK_LIVE_EV_SESSION_ENDED: name = "meeting.ended", bit = EV_ENDED; break;
    case RTK_LIVE_EV_JOINED: name = "meeting.participantJoined", bit = EV_JOINED; break;
    case RTK_LIVE_EV_LEFT:
    case RTK_LIVE_EV_LEFT_IN_BULK: name = "meeting.participantLeft", bit = EV_LEFT; break;
    default: return;
    }
    const app_hooks *app = app_wants(h, s->app_id, bit);
    if (app == NULL && !h->all_apps)
        return; /* no webhook of the app subscribes to it: the hot path's common case */
    int left = bit == EV_LEFT;
    char stack[1024];
    rtk_jw w;
    rtk_jw_init(&w, stack, sizeof(stack));
    RTK_JW_LIT(&w, "{\"event\":");
    rtk_jw_str(&w, name);
    RTK_JW_LIT(&w, ",");
    put_meeting(&w, s, bit == EV_ENDED, app != NULL ? app->name : NULL);
    if (bit == EV_JOINED || left)
        put_participant(&w, ev->peer, left, ev->at_ms, ev->reason);
    if (bit == EV_ENDED) {
        RTK_JW_LIT(&w, ",\"reason\":");
        rtk_jw_str(&w, ev->reason == RTK_LIVE_END_KICK_ALL ? "HOST_ENDED_MEETING"
                                                           : "ALL_PARTICIPANTS_LEFT");
    }
    RTK_JW_LIT(&w, "}");
    RTK_JW_LIT(&w, "\0");
    rtk_store_hook_enqueue(h->st, s->app_id, s->meeting_id, name, w.buf, rtk_time_now_ms(),
                           on_enqueued, h);
    rtk_jw_free(&w);
}

/* ---- libcurl on the loop ----------------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *handle)
{
    rtk_hook *h = handle->data;
    h->closes--;
}

static void on_sock_closed(uv_handle_t *handle)
{
    sockctx *c = handle->data;
    c->h->closes--;
    free(c);
}

static void sock_close(sockctx *c)
{
    rtk_hook *h = c->h;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        h->socks = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    uv_poll_stop(&c->poll);
    h->closes++;
    uv_close((uv_handle_t *)&c->poll, on_sock_closed);
}

static void finish(rtk_hook *h);

static void on_poll(uv_poll_t *p, int status, int events)
{
    sockctx *c = p->data;
    rtk_hook *h = c->h;
    int flags = 0, running;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(h->multi, c->fd, flags, &running);
    finish(h);
}

static int on_socket(CURL *easy, curl_socket_t fd, int action, void *userp, void *socketp)
{
    rtk_hook *h = userp;
    sockctx *c = socketp;
    (void)easy;
    if (action == CURL_POLL_REMOVE) {
        if (c != NULL) {
            curl_multi_assign(h->multi, fd, NULL);
            sock_close(c);
        }
        return 0;
    }
    if (c == NULL) {
        c = rtk_xcalloc(1, sizeof(*c));
        if (uv_poll_init_socket(h->loop, &c->poll, fd) != 0) {
            free(c);
            return -1;
        }
        c->fd = fd;
        c->h = h;
        c->poll.data = c;
        c->next = h->socks;
        if (h->socks != NULL)
            h->socks->prev = c;
        h->socks = c;
        curl_multi_assign(h->multi, fd, c);
    }
    int ev =
        ((action & CURL_POLL_IN) ? UV_READABLE : 0) | ((action & CURL_POLL_OUT) ? UV_WRITABLE : 0);
    uv_poll_start(&c->poll, ev, on_poll);
    return 0;
}

static void on_curl_timeout(uv_timer_t *t)
{
    rtk_hook *h = t->data;
    int running;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    finish(h);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    rtk_hook *h = userp;
    (void)multi;
    /* libcurl asks not to be called back from inside this function: a 0 wait runs on the
     * next loop iteration. */
    if (timeout_ms < 0)
        uv_timer_stop(&h->curl_timer);
    else
        uv_timer_start(&h->curl_timer, on_curl_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    xfer *x = arg;
    (void)data;
    x->got += size * n;
    return x->got > RESPONSE_MAX ? 0 : size * n; /* past the bound: stop reading */
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    xfer *x = arg;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof(name) - 1 && len < 256 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
        char v[256];
        memcpy(v, data + sizeof(name) - 1, len - (sizeof(name) - 1));
        v[len - (sizeof(name) - 1)] = '\0';
        x->retry_after = rtk_hook_retry_after_ms(v, rtk_time_now_ms());
    } else if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        x->retry_after = -1; /* a new response (after a 100 Continue) */
    }
    return len;
}

/* ---- attempts ---------------------------------------------------------------------------- */

static void xfer_free(xfer *x)
{
    if (x->easy != NULL)
        curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    free(x->body);
    free(x);
}

static void release(rtk_hook *h, xfer *x)
{
    rtk_map_del(&h->xfers, x->key);
    h->inflight--;
    if (--x->count->n == 0) {
        rtk_map_del(&h->counts, x->count->id);
        free(x->count);
    }
    xfer_free(x);
}

static void on_next(void *arg, int status, const rtk_store_res *res);

/* A result is committed: the chain's next delivery is read at once (one index probe, not
 * the scan of every pending row that read_due is), so one meeting's events stream one after
 * the other. Other chains start from read_due: when a slot was missing, at an enqueue into
 * an idle sender, and every poll_ms. */
static void on_result(void *arg, int status, const rtk_store_res *res)
{
    xfer *x = arg;
    rtk_hook *h = x->h;
    (void)res;
    /* A lost result leaves the delivery pending: it is sent again. */
    if (!h->stopped && status == 0 && x->advanced)
        rtk_store_hook_next(h->st, x->count->id, x->meeting_id, rtk_time_now_ms(), on_next, h);
    release(h, x);
    if (!h->stopped && h->capped) {
        h->capped = 0;
        read_due(h);
    }
}

static void attempt_done(rtk_hook *h, xfer *x, CURLcode cc)
{
    long code = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
    curl_multi_remove_handle(h->multi, x->easy);
    curl_easy_cleanup(x->easy);
    x->easy = NULL;
    int64_t now = rtk_time_now_ms();
    int n = x->attempts + 1;
    char err[160] = "";
    const char *status;
    int64_t next = 0, delivered = 0;
    /* A response cut at RESPONSE_MAX still has its status line. */
    int answered = (cc == CURLE_OK || cc == CURLE_WRITE_ERROR) && code >= 100;
    if (answered && code >= 200 && code < 300) {
        status = "delivered";
        delivered = now;
    } else if (answered && code >= 400 && code < 500 && code != 408 && code != 429) {
        status = "failed";
        snprintf(err, sizeof(err), "HTTP %ld", code);
    } else {
        if (answered)
            snprintf(err, sizeof(err), "HTTP %ld", code);
        else
            snprintf(err, sizeof(err), "%s", curl_easy_strerror(cc));
        uint32_t rnd = 0;
        (void)rtk_random_bytes(&rnd, sizeof(rnd));
        int64_t wait = answered && x->retry_after >= 0
                           ? x->retry_after
                           : rtk_hook_backoff_ms(n, h->cfg.retry_base_ms, rnd);
        if (now + wait - x->created_ms > h->cfg.max_age_s * 1000) {
            status = "failed";
        } else {
            status = "pending";
            next = now + wait;
        }
    }
    rtk_metrics_add(delivered ? RTK_MC_HOOK_DELIVERED
                    : next    ? RTK_MC_HOOK_RETRY
                              : RTK_MC_HOOK_FAILED,
                    1);
    x->advanced = next == 0;
    rtk_store_hook_result(h->st, x->seq, status, answered ? (int)code : 0, err[0] ? err : NULL,
                          delivered, next, on_result, x);
}

static void finish(rtk_hook *h)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        xfer *x = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        attempt_done(h, x, m->data.result);
    }
}

static void start(rtk_hook *h, const rtk_store_set *rows, size_t i, hook_count *count)
{
    xfer *x = rtk_xcalloc(1, sizeof(*x));
    x->h = h;
    x->seq = rtk_store_int(rows, i, 0);
    snprintf(x->key, sizeof(x->key), "%lld", (long long)x->seq);
    snprintf(x->id, sizeof(x->id), "%s", rtk_store_text(rows, i, 1, NULL));
    snprintf(x->meeting_id, sizeof(x->meeting_id), "%s", rtk_store_text(rows, i, 7, NULL));
    const char *hook_id = rtk_store_text(rows, i, 2, NULL);
    const char *url = rtk_store_text(rows, i, 3, NULL);
    size_t blen;
    const char *body = rtk_store_text(rows, i, 4, &blen);
    x->attempts = (int)rtk_store_int(rows, i, 5);
    x->created_ms = rtk_store_int(rows, i, 6);
    x->retry_after = -1;
    x->body = rtk_xmalloc(blen + 1);
    memcpy(x->body, body, blen + 1);
    x->count = count;
    count->n++;
    h->inflight++;
    rtk_map_put(&h->xfers, x->key, x);

    char line[512], sig[400];
    int64_t ts = rtk_time_now_ms() / 1000;
    struct curl_slist *hd = NULL;
    hd = curl_slist_append(hd, "Content-Type: application/json");
    hd = curl_slist_append(hd, "Expect:");
    if (rtk_hook_sign_rsa(h->keys, x->body, blen, sig, sizeof(sig)) == 0) {
        snprintf(line, sizeof(line), "rtk-signature: %s", sig);
        hd = curl_slist_append(hd, line);
    }
    snprintf(line, sizeof(line), "rtk-uuid: %s", x->id);
    hd = curl_slist_append(hd, line);
    snprintf(line, sizeof(line), "rtk-webhook-id: %s", hook_id);
    hd = curl_slist_append(hd, line);
    snprintf(line, sizeof(line), "webhook-id: %s", x->id);
    hd = curl_slist_append(hd, line);
    snprintf(line, sizeof(line), "webhook-timestamp: %lld", (long long)ts);
    hd = curl_slist_append(hd, line);
    if (rtk_hook_sign_ed(h->keys, x->id, ts, x->body, blen, sig, sizeof(sig)) == 0) {
        snprintf(line, sizeof(line), "webhook-signature: %s", sig);
        hd = curl_slist_append(hd, line);
    }
    x->headers = hd;

    CURL *e = curl_easy_init();
    x->easy = e;
    if (e == NULL) {
        attempt_done(h, x, CURLE_FAILED_INIT); /* reads no handle: x->easy is NULL */
        return;
    }
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)h->cfg.timeout_ms);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "rtkd/" RTK_VERSION);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    if (curl_multi_add_handle(h->multi, e) != CURLM_OK)
        attempt_done(h, x, CURLE_FAILED_INIT);
}

/* Starts the due |rows| that are not in flight, within the limits. */
static void start_rows(rtk_hook *h, const rtk_store_set *rows)
{
    for (size_t i = 0; i < rows->nrows; i++) {
        char key[24];
        snprintf(key, sizeof(key), "%lld", (long long)rtk_store_int(rows, i, 0));
        if (rtk_map_get(&h->xfers, key) != NULL)
            continue; /* in flight, or its result not yet committed */
        const char *hook_id = rtk_store_text(rows, i, 2, NULL);
        hook_count *c = rtk_map_get(&h->counts, hook_id);
        if (h->inflight >= h->cfg.max_inflight || (c != NULL && c->n >= h->cfg.max_per_hook)) {
            h->capped = 1;
            continue;
        }
        if (c == NULL) {
            c = rtk_xcalloc(1, sizeof(*c));
            snprintf(c->id, sizeof(c->id), "%s", hook_id);
            rtk_map_put(&h->counts, c->id, c);
        }
        start(h, rows, i, c);
    }
}

static void on_next(void *arg, int status, const rtk_store_res *res)
{
    rtk_hook *h = arg;
    if (!h->stopped && !h->paused && status == 0)
        start_rows(h, &res->sets[0]);
}

static void on_due(void *arg, int status, const rtk_store_res *res)
{
    rtk_hook *h = arg;
    h->reading = 0;
    if (h->stopped || h->paused)
        return;
    if (status == 0)
        start_rows(h, &res->sets[0]);
    if (h->reread) {
        h->reread = 0;
        read_due(h);
    }
}

static void read_due(rtk_hook *h)
{
    if (h->paused)
        return;
    if (h->reading) {
        h->reread = 1;
        return;
    }
    if (h->inflight >= h->cfg.max_inflight) {
        h->capped = 1; /* a result's commit reads again */
        return;
    }
    h->reading = 1;
    rtk_store_hook_due(h->st, rtk_time_now_ms(), DUE_BATCH, on_due, h);
}

static void on_poll_timer(uv_timer_t *t)
{
    read_due(t->data);
}

void rtk_hook_set_sender(rtk_hook *h, int on)
{
    if (h == NULL || h->paused == !on)
        return;
    h->paused = !on;
    rtk_log(RTK_LOG_INFO, "webhooks: %s",
            on ? "this node sends the deliveries (it holds the cluster's sender lease)"
               : "this node does not send the deliveries (the cluster's sender lease is "
                 "another node's, or the bus is away)");
    if (on && !h->stopped)
        read_due(h);
}

/* ---- lifecycle --------------------------------------------------------------------------- */

rtk_hook *rtk_hook_new(uv_loop_t *loop, rtk_store *st, rtk_live *live, const rtk_hook_keys *keys,
                       const rtk_hook_config *cfg)
{
    static const rtk_hook_config defaults = {
        .retry_base_ms = 1000,
        .max_age_s = 86400,
        .max_inflight = 64,
        .max_per_hook = 8,
        .timeout_ms = 10000,
        .poll_ms = 250,
    };
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return NULL;
    rtk_hook *h = rtk_xcalloc(1, sizeof(*h));
    h->loop = loop;
    h->st = st;
    h->keys = keys;
    h->cfg = defaults;
    if (cfg != NULL) {
        if (cfg->retry_base_ms > 0)
            h->cfg.retry_base_ms = cfg->retry_base_ms;
        if (cfg->max_age_s > 0)
            h->cfg.max_age_s = cfg->max_age_s;
        if (cfg->max_inflight > 0)
            h->cfg.max_inflight = cfg->max_inflight;
        if (cfg->max_per_hook > 0)
            h->cfg.max_per_hook = cfg->max_per_hook;
        if (cfg->timeout_ms > 0)
            h->cfg.timeout_ms = cfg->timeout_ms;
        if (cfg->poll_ms > 0)
            h->cfg.poll_ms = cfg->poll_ms;
    }
    h->multi = curl_multi_init();
    if (h->multi == NULL) {
        free(h);
        curl_global_cleanup();
        return NULL;
    }
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)h->cfg.max_inflight);
    rtk_map_init(&h->xfers);
    rtk_map_init(&h->counts);
    uv_timer_init(loop, &h->curl_timer);
    uv_timer_init(loop, &h->poll_timer);
    h->curl_timer.data = h->poll_timer.data = h;
    uv_timer_start(&h->poll_timer, on_poll_timer, 0, (uint64_t)h->cfg.poll_ms);
    uv_unref((uv_handle_t *)&h->poll_timer); /* the outbox never keeps the loop alive */
    rtk_map_init(&h->apps);
    rtk_store_hook_apps(st, on_apps_read, h);
    rtk_store_wait(st); /* start-up: before the first event and the first API call */
    rtk_live_subscribe(live, on_event, h, 0);
    return h;
}

void rtk_hook_stop(rtk_hook *h)
{
    if (h == NULL || h->stopped)
        return;
    h->stopped = 1;
    size_t it = 0;
    void *v;
    while (rtk_map_next(&h->xfers, &it, NULL, &v)) {
        xfer *x = v;
        if (x->easy != NULL) {
            curl_multi_remove_handle(h->multi, x->easy);
            curl_easy_cleanup(x->easy);
            x->easy = NULL;
        }
    }
    curl_multi_cleanup(h->multi);
    h->multi = NULL;
    while (h->socks != NULL)
        sock_close(h->socks);
    h->closes += 2;
    uv_close((uv_handle_t *)&h->curl_timer, on_handle_closed);
    uv_close((uv_handle_t *)&h->poll_timer, on_handle_closed);
}

void rtk_hook_free(rtk_hook *h)
{
    if (h == NULL)
        return;
    /* Abandoned attempts whose result was never written: their deliveries stay pending. */
    size_t it = 0;
    void *v;
    while (rtk_map_next(&h->xfers, &it, NULL, &v)) {
        xfer *x = v;
        if (x->easy != NULL)
            continue; /* cannot happen after rtk_hook_stop */
        if (--x->count->n == 0)
            free(x->count);
        xfer_free(x);
    }
    rtk_map_free(&h->xfers);
    rtk_map_free(&h->counts);
    it = 0;
    while (rtk_map_next(&h->apps, &it, NULL, &v)) {
        app_hooks *a = v;
        free(a->name);
        free(a->app_id);
        free(a);
    }
    rtk_map_free(&h->apps);
    free(h);
    curl_global_cleanup();
}
