/* SPDX-License-Identifier: MIT */
/* rtk_bus.c - Redis on the loop: hiredis's async API through its libuv adapter.
 *
 * States: DOWN (waiting for the reconnect timer) -> RESOLVING (uv_getaddrinfo) -> CONNECTING
 * (both contexts connecting, then SELECT and SCRIPT LOAD on the command one) -> UP. Any
 * failure of either context drops both and goes back to DOWN with the next backoff delay, so
 * the two connections are always up or down together and the owner sees one state. */
#include "bus/rtk_bus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "util/rtk_err.h"
#include "util/rtk_log.h"
#include "util/rtk_map.h"
#include "util/rtk_time.h"

enum { DOWN, RESOLVING, CONNECTING, UP, CLOSING };

/* A caller of rtk_bus_when_subscribed, waiting for Redis to take a subscription. */
typedef struct sub_wait {
    struct sub_wait *next;
    void (*cb)(void *arg, int status);
    void *arg;
} sub_wait;

typedef struct held {
    size_t refs;
    int confirmed;     /* Redis confirmed the subscription on this connection */
    sub_wait *waiters; /* told once it does (or the bus goes first) */
    char name[];
} held;

/* Tells |w|'s callers |status| and frees them (they may hold and release channels). */
static void waiters_tell(sub_wait *w, int status)
{
    while (w != NULL) {
        sub_wait *next = w->next;
        w->cb(w->arg, status);
        free(w);
        w = next;
    }
}

/* One command in flight on the command connection (they answer in order). */
typedef struct pending {
    rtk_bus *bus;
    rtk_bus_cb cb;
    void *arg;
    int64_t sent_ms;
    int internal; /* SELECT / SCRIPT LOAD of the connect sequence */
    long script;  /* ... and which script it loads (-1: SELECT) */
} pending;

struct rtk_bus {
    uv_loop_t *loop;
    rtk_bus_config cfg;
    char host[256];
    int port, db;
    char ip[64];
    int state;
    redisAsyncContext *cmd, *sub;
    int cmd_connected, sub_connected;
    size_t scripts_left; /* SCRIPT LOADs of this connect still unanswered */
    char (*shas)[41];
    uv_timer_t timer; /* reconnect delay, then command time-outs while up */
    uv_getaddrinfo_t gai;
    int resolving;
    uint64_t backoff_ms;
    int64_t retry_at_ms; /* DOWN: when to try again */
    int64_t connect_ms;  /* when the current connect began */
    size_t npending;
    int64_t oldest_ms; /* send time of the oldest command in flight (they answer in order) */
    pending **fifo;    /* in-flight commands, oldest first: a ring */
    size_t fifo_head, fifo_cap;
    rtk_map channels; /* name -> held */
    int free_pending; /* closed while a look-up was running: it frees the bus */
};

int rtk_bus_url_parse(const char *url, char *host, size_t host_cap, int *port, int *db)
{
    const char *p = url;
    if (strncmp(p, "redis://", 8) != 0)
        return RTK_EINVAL;
    p += 8;
    const char *h = p, *he;
    if (*p == '[') {
        he = strchr(p, ']');
        if (he == NULL)
            return RTK_EINVAL;
        h = p + 1;
        p = he + 1;
    } else {
        while (*p && *p != ':' && *p != '/')
            p++;
        he = p;
    }
    size_t hl = (size_t)(he - h);
    if (hl == 0 || hl >= host_cap || *p != ':')
        return RTK_EINVAL;
    memcpy(host, h, hl);
    host[hl] = '\0';
    p++;
    long v = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9' && v <= 65535) {
        v = v * 10 + (*p++ - '0');
        digits++;
    }
    if (digits == 0 || v < 1 || v > 65535)
        return RTK_EINVAL;
    *port = (int)v;
    *db = 0;
    if (*p == '/') {
        p++;
        long d = 0;
        digits = 0;
        while (*p >= '0' && *p <= '9' && d < 100000) {
            d = d * 10 + (*p++ - '0');
            digits++;
        }
        if (digits == 0)
            return RTK_EINVAL;
        *db = (int)d;
    }
    return *p == '\0' ? 0 : RTK_EINVAL;
}

/* ---- hiredis on libuv ----
 * Our own adapter rather than hiredis's adapters/libuv.h: Debian 12's hiredis 0.14 adapter
 * drops a poll callback with an error status, and libuv reports a refused or reset
 * connection exactly that way (UV_EBADF after POLLERR), so a connect to a Redis that is not
 * up yet hung for ever (found by tests/e2e/test/75-cluster). Here an error is handed to
 * hiredis as readiness, and hiredis finds the socket's error itself. */

typedef struct uvev {
    redisAsyncContext *ac;
    uv_poll_t poll;
    int events;
} uvev;

static void ev_on_poll(uv_poll_t *h, int status, int events)
{
    uvev *e = h->data;
    if (status < 0)
        events = e->events; /* let hiredis see the error where it waits */
    if (e->ac != NULL && (events & UV_READABLE))
        redisAsyncHandleRead(e->ac);
    if (e->ac != NULL && (events & UV_WRITABLE))
        redisAsyncHandleWrite(e->ac);
}

static void ev_update(uvev *e, int events)
{
    e->events = events;
    if (events != 0)
        uv_poll_start(&e->poll, events, ev_on_poll);
    else
        uv_poll_stop(&e->poll);
}

static void ev_add_read(void *p)
{
    uvev *e = p;
    ev_update(e, e->events | UV_READABLE);
}

static void ev_del_read(void *p)
{
    uvev *e = p;
    ev_update(e, e->events & ~UV_READABLE);
}

static void ev_add_write(void *p)
{
    uvev *e = p;
    ev_update(e, e->events | UV_WRITABLE);
}

static void ev_del_write(void *p)
{
    uvev *e = p;
    ev_update(e, e->events & ~UV_WRITABLE);
}

static void ev_on_closed(uv_handle_t *h)
{
    free(h->data);
}

static void ev_cleanup(void *p)
{
    uvev *e = p;
    e->ac = NULL; /* hiredis is freeing the context */
    uv_close((uv_handle_t *)&e->poll, ev_on_closed);
}

static int ev_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
    uvev *e = rtk_xcalloc(1, sizeof(*e));
    if (uv_poll_init(loop, &e->poll, ac->c.fd) != 0) {
        free(e);
        return -1;
    }
    e->ac = ac;
    e->poll.data = e;
    ac->ev.data = e;
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    return 0;
}

/* ---- the in-flight ring ---- */

static void fifo_push(rtk_bus *b, pending *p)
{
    if (b->npending == b->fifo_cap) {
        size_t cap = b->fifo_cap ? 2 * b->fifo_cap : 64;
        pending **n = rtk_xcalloc(cap, sizeof(*n));
        for (size_t i = 0; i < b->npending; i++)
            n[i] = b->fifo[(b->fifo_head + i) % b->fifo_cap];
        free(b->fifo);
        b->fifo = n;
        b->fifo_cap = cap;
        b->fifo_head = 0;
    }
    b->fifo[(b->fifo_head + b->npending) % b->fifo_cap] = p;
    if (b->npending++ == 0)
        b->oldest_ms = p->sent_ms;
}

static void fifo_pop(rtk_bus *b, pending *p)
{
    /* Replies come in order; the callback of |p| is for the ring's head. */
    if (b->npending == 0 || b->fifo[b->fifo_head] != p)
        return; /* the ring was reset by a drop: |p| is being failed */
    b->fifo_head = (b->fifo_head + 1) % b->fifo_cap;
    if (--b->npending > 0)
        b->oldest_ms = b->fifo[b->fifo_head]->sent_ms;
}

/* ---- connection state ---- */

static void connect_start(rtk_bus *b);
static void free_bus(rtk_bus *b);
static void on_timer(uv_timer_t *t);

static void set_state(rtk_bus *b, int state)
{
    int was_up = b->state == UP;
    b->state = state;
    if (was_up != (state == UP) && b->cfg.on_state != NULL)
        b->cfg.on_state(b->cfg.arg, state == UP);
}

static void schedule_reconnect(rtk_bus *b)
{
    uint64_t d = b->backoff_ms;
    d = d / 2 + (uint64_t)rand() % (d / 2 + 1); /* jitter: [d/2, d] */
    b->backoff_ms =
        b->backoff_ms * 2 > b->cfg.backoff_max_ms ? b->cfg.backoff_max_ms : b->backoff_ms * 2;
    b->retry_at_ms = rtk_time_now_ms() + (int64_t)d;
}

/* The subscriber connection is gone: its subscriptions are made again on the next one, and
 * who waits for one hears RTK_EUNAVAIL now. */
static void subs_lost(rtk_bus *b)
{
    sub_wait *told = NULL;
    void *hv;
    for (size_t i = 0; rtk_map_next(&b->channels, &i, NULL, &hv);) {
        held *h = hv;
        h->confirmed = 0;
        while (h->waiters != NULL) {
            sub_wait *w = h->waiters;
            h->waiters = w->next;
            w->next = told;
            told = w;
        }
    }
    waiters_tell(told, RTK_EUNAVAIL);
}

/* Both contexts go; what was in flight completes with RTK_EUNAVAIL through hiredis. */
static void drop(rtk_bus *b, const char *why)
{
    if (b->state == DOWN || b->state == CLOSING)
        return;
    if (b->state == UP)
        rtk_log(RTK_LOG_WARN, "bus: lost %s:%d (%s); reconnecting", b->host, b->port, why);
    set_state(b, DOWN);
    b->npending = 0; /* the ring is reset: the callbacks hiredis runs now fail each command */
    b->fifo_head = 0;
    /* Freed, not disconnected: a graceful disconnect would wait for the answers that did not
     * come. hiredis runs every pending callback with no reply (RTK_EUNAVAIL to the caller);
     * inside one of its callbacks the free happens when the callback returns. */
    redisAsyncContext *c = b->cmd, *s = b->sub;
    b->cmd = b->sub = NULL;
    b->cmd_connected = b->sub_connected = 0;
    if (c != NULL)
        redisAsyncFree(c);
    if (s != NULL)
        redisAsyncFree(s);
    schedule_reconnect(b);
    subs_lost(b);
}

static void maybe_up(rtk_bus *b)
{
    if (b->state != CONNECTING || !b->cmd_connected || !b->sub_connected || b->scripts_left > 0)
        return;
    b->backoff_ms = b->cfg.backoff_min_ms;
    rtk_log(RTK_LOG_INFO, "bus: connected to %s:%d", b->host, b->port);
    set_state(b, UP);
}

static void on_sub_message(redisAsyncContext *c, void *reply, void *priv)
{
    rtk_bus *b = priv;
    redisReply *r = reply;
    if (r == NULL || b == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 3)
        return;
    redisReply *kind = r->element[0];
    if (kind->type == REDIS_REPLY_STRING && kind->len == 9 &&
        memcmp(kind->str, "subscribe", 9) == 0 && r->element[1]->type == REDIS_REPLY_STRING) {
        held *h = rtk_map_get(&b->channels, r->element[1]->str);
        if (h != NULL) {
            h->confirmed = 1;
            sub_wait *w = h->waiters;
            h->waiters = NULL;
            waiters_tell(w, 0);
        }
        return;
    }
    if (kind->type != REDIS_REPLY_STRING || kind->len != 7 || memcmp(kind->str, "message", 7) != 0)
        return;
    redisReply *ch = r->element[1], *msg = r->element[2];
    if (ch->type != REDIS_REPLY_STRING || msg->type != REDIS_REPLY_STRING)
        return;
    if (b->cfg.on_message != NULL)
        b->cfg.on_message(b->cfg.arg, ch->str, ch->len, msg->str, msg->len);
}

static void subscribe(rtk_bus *b, const char *name, int on)
{
    const char *argv[2] = {on ? "SUBSCRIBE" : "UNSUBSCRIBE", name};
    redisAsyncCommandArgv(b->sub, on ? on_sub_message : NULL, on ? b : NULL, 2, argv, NULL);
}

static void resubscribe(rtk_bus *b)
{
    const char *k;
    void *v;
    for (size_t i = 0; rtk_map_next(&b->channels, &i, &k, &v);)
        subscribe(b, k, 1);
}

static void on_cmd_reply(redisAsyncContext *c, void *reply, void *priv);

static void send_internal(rtk_bus *b, int argc, const char **argv, long idx)
{
    pending *p = rtk_xcalloc(1, sizeof(*p));
    p->bus = b;
    p->internal = 1;
    p->script = (long)idx;
    p->sent_ms = rtk_time_now_ms();
    if (redisAsyncCommandArgv(b->cmd, on_cmd_reply, p, argc, argv, NULL) != REDIS_OK) {
        free(p);
        return;
    }
    fifo_push(b, p);
}

static void load_scripts(rtk_bus *b)
{
    b->scripts_left = b->cfg.nscripts;
    for (size_t i = 0; i < b->cfg.nscripts; i++) {
        const char *argv[3] = {"SCRIPT", "LOAD", b->cfg.scripts[i]};
        send_internal(b, 3, argv, (long)i);
    }
}

static void on_connected(const redisAsyncContext *c, int status)
{
    rtk_bus *b = c->data;
    if (b == NULL)
        return;
    int is_cmd = c == b->cmd;
    if (status != REDIS_OK) {
        /* hiredis frees a context that failed to connect after this callback. */
        if (is_cmd)
            b->cmd = NULL;
        else
            b->sub = NULL;
        rtk_log(RTK_LOG_WARN, "bus: cannot connect to %s:%d: %s", b->host, b->port,
                c->errstr[0] ? c->errstr : "error");
        drop(b, "connect failed");
        return;
    }
    if (is_cmd) {
        b->cmd_connected = 1;
        if (b->db != 0) {
            char db[16];
            snprintf(db, sizeof(db), "%d", b->db);
            const char *argv[2] = {"SELECT", db};
            send_internal(b, 2, argv, -1);
        }
        load_scripts(b);
    } else {
        b->sub_connected = 1;
        if (b->db != 0) {
            char db[16];
            snprintf(db, sizeof(db), "%d", b->db);
            const char *argv[2] = {"SELECT", db};
            redisAsyncCommandArgv(b->sub, NULL, NULL, 2, argv, NULL);
        }
        resubscribe(b);
    }
    maybe_up(b);
}

static void on_disconnected(const redisAsyncContext *c, int status)
{
    rtk_bus *b = c->data;
    if (b == NULL)
        return;
    /* hiredis frees |c| after this: forget it first. */
    if (c == b->cmd) {
        b->cmd = NULL;
        b->cmd_connected = 0;
    } else if (c == b->sub) {
        b->sub = NULL;
        b->sub_connected = 0;
    } else {
        return;
    }
    drop(b, c->errstr[0] ? c->errstr : "closed");
}

static redisAsyncContext *open_ctx(rtk_bus *b)
{
    redisAsyncContext *c = redisAsyncConnect(b->ip, b->port);
    if (c == NULL)
        return NULL;
    if (c->err) {
        rtk_log(RTK_LOG_WARN, "bus: cannot connect to %s:%d: %s", b->host, b->port, c->errstr);
        redisAsyncFree(c);
        return NULL;
    }
    c->data = b;
    redisEnableKeepAlive(&c->c); /* a silent, dead pub/sub connection is noticed too */
    if (ev_attach(c, b->loop) != 0) {
        redisAsyncFree(c);
        return NULL;
    }
    redisAsyncSetConnectCallback(c, on_connected);
    redisAsyncSetDisconnectCallback(c, on_disconnected);
    return c;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    rtk_bus *b = req->data;
    b->resolving = 0;
    if (b->state == CLOSING) {
        uv_freeaddrinfo(res);
        if (b->free_pending)
            free_bus(b);
        return;
    }
    if (status != 0 || res == NULL) {
        rtk_log(RTK_LOG_WARN, "bus: cannot resolve %s: %s", b->host, uv_strerror(status));
        uv_freeaddrinfo(res);
        b->state = CONNECTING; /* so that drop() schedules the next try */
        drop(b, "resolve failed");
        return;
    }
    if (res->ai_family == AF_INET6)
        uv_ip6_name((struct sockaddr_in6 *)res->ai_addr, b->ip, sizeof(b->ip));
    else
        uv_ip4_name((struct sockaddr_in *)res->ai_addr, b->ip, sizeof(b->ip));
    uv_freeaddrinfo(res);
    b->state = CONNECTING;
    b->connect_ms = rtk_time_now_ms();
    b->cmd = open_ctx(b);
    b->sub = b->cmd != NULL ? open_ctx(b) : NULL;
    if (b->cmd == NULL || b->sub == NULL)
        drop(b, "connect failed");
}

static void connect_start(rtk_bus *b)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    char port[8];
    snprintf(port, sizeof(port), "%d", b->port);
    b->state = RESOLVING;
    b->connect_ms = rtk_time_now_ms();
    b->gai.data = b;
    if (uv_getaddrinfo(b->loop, &b->gai, on_resolved, b->host, port, &hints) != 0) {
        b->state = CONNECTING;
        drop(b, "resolve failed");
        return;
    }
    b->resolving = 1;
}

/* Every 100 ms: the reconnect when its delay is over, and the time-outs of a connect (a
 * black-holed address) and of the oldest command in flight (a stalled Redis). */
static void on_timer(uv_timer_t *t)
{
    rtk_bus *b = t->data;
    int64_t now = rtk_time_now_ms();
    if (b->state == DOWN && now >= b->retry_at_ms)
        connect_start(b);
    else if ((b->state == RESOLVING || b->state == CONNECTING) && !b->resolving &&
             (uint64_t)(now - b->connect_ms) > b->cfg.cmd_timeout_ms)
        drop(b, "connect timed out");
    else if (b->state == UP && b->npending > 0 &&
             (uint64_t)(now - b->oldest_ms) > b->cfg.cmd_timeout_ms)
        drop(b, "no answer in time");
}

/* ---- commands ---- */

static void on_cmd_reply(redisAsyncContext *c, void *reply, void *priv)
{
    pending *p = priv;
    rtk_bus *b = p->bus;
    redisReply *r = reply;
    fifo_pop(b, p);
    if (p->internal) {
        long idx = p->script;
        free(p);
        if (r == NULL)
            return; /* the connection went: drop() runs from the disconnect callback */
        if (r->type == REDIS_REPLY_ERROR) {
            rtk_log(RTK_LOG_ERROR, "bus: %s: %s", idx < 0 ? "SELECT" : "SCRIPT LOAD", r->str);
            drop(b, "set-up refused");
            return;
        }
        if (idx >= 0 && r->type == REDIS_REPLY_STRING && r->len == 40) {
            memcpy(b->shas[idx], r->str, 40);
            b->shas[idx][40] = '\0';
        }
        if (idx >= 0 && b->scripts_left > 0) {
            if (--b->scripts_left == 0)
                maybe_up(b);
        }
        return;
    }
    if (r != NULL && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0 &&
        b->cmd != NULL && b->scripts_left == 0)
        load_scripts(b); /* SCRIPT FLUSH behind our back: load them again for the next call */
    if (p->cb != NULL)
        p->cb(p->arg, r != NULL ? 0 : RTK_EUNAVAIL, (const rtk_bus_reply *)r);
    free(p);
}

int rtk_bus_cmd(rtk_bus *b, rtk_bus_cb cb, void *arg, int argc, const char *const *argv,
                const size_t *lens)
{
    if (b == NULL || b->state != UP || b->cmd == NULL)
        return RTK_EUNAVAIL;
    pending *p = rtk_xcalloc(1, sizeof(*p));
    p->bus = b;
    p->cb = cb;
    p->arg = arg;
    p->sent_ms = rtk_time_now_ms();
    if (redisAsyncCommandArgv(b->cmd, on_cmd_reply, p, argc, (const char **)argv, lens) !=
        REDIS_OK) {
        free(p);
        return RTK_EUNAVAIL;
    }
    fifo_push(b, p);
    return 0;
}

int rtk_bus_script(rtk_bus *b, size_t idx, rtk_bus_cb cb, void *arg, int nkeys, int argc,
                   const char *const *argv, const size_t *lens)
{
    if (b == NULL || idx >= b->cfg.nscripts || argc > 30)
        return RTK_EINVAL;
    const char *av[33];
    size_t lv[33];
    char nk[16];
    snprintf(nk, sizeof(nk), "%d", nkeys);
    av[0] = "EVALSHA";
    av[1] = b->shas[idx];
    av[2] = nk;
    lv[0] = 7;
    lv[1] = strlen(b->shas[idx]);
    lv[2] = strlen(nk);
    for (int i = 0; i < argc; i++) {
        av[3 + i] = argv[i];
        lv[3 + i] = lens != NULL ? lens[i] : strlen(argv[i]);
    }
    return rtk_bus_cmd(b, cb, arg, argc + 3, av, lv);
}

void rtk_bus_hold(rtk_bus *b, const char *channel)
{
    held *h = rtk_map_get(&b->channels, channel);
    if (h != NULL) {
        h->refs++;
        return;
    }
    size_t n = strlen(channel);
    h = rtk_xmalloc(sizeof(*h) + n + 1);
    h->refs = 1;
    h->confirmed = 0;
    h->waiters = NULL;
    memcpy(h->name, channel, n + 1);
    rtk_map_put(&b->channels, h->name, h);
    if (b->sub_connected && b->sub != NULL)
        subscribe(b, h->name, 1);
}

void rtk_bus_release(rtk_bus *b, const char *channel)
{
    held *h = rtk_map_get(&b->channels, channel);
    if (h == NULL || --h->refs > 0)
        return;
    rtk_map_del(&b->channels, h->name);
    if (b->sub_connected && b->sub != NULL)
        subscribe(b, h->name, 0);
    sub_wait *w = h->waiters;
    free(h);
    waiters_tell(w, RTK_EUNAVAIL);
}

int rtk_bus_when_subscribed(rtk_bus *b, const char *channel, void (*cb)(void *arg, int status),
                            void *arg)
{
    held *h = rtk_map_get(&b->channels, channel);
    if (h == NULL || b->state != UP)
        return RTK_EUNAVAIL;
    if (h->confirmed) {
        cb(arg, 0);
        return 0;
    }
    sub_wait *w = rtk_xmalloc(sizeof(*w));
    w->cb = cb;
    w->arg = arg;
    w->next = h->waiters;
    h->waiters = w;
    return 0;
}

int rtk_bus_up(const rtk_bus *b)
{
    return b != NULL && b->state == UP;
}

size_t rtk_bus_pending(const rtk_bus *b)
{
    return b != NULL ? b->npending : 0;
}

int rtk_bus_new(uv_loop_t *loop, const rtk_bus_config *cfg, rtk_bus **out)
{
    rtk_bus *b = rtk_xcalloc(1, sizeof(*b));
    if (rtk_bus_url_parse(cfg->url, b->host, sizeof(b->host), &b->port, &b->db) != 0) {
        free(b);
        return RTK_EINVAL;
    }
    b->loop = loop;
    b->cfg = *cfg;
    if (b->cfg.cmd_timeout_ms == 0)
        b->cfg.cmd_timeout_ms = 2000;
    if (b->cfg.backoff_min_ms == 0)
        b->cfg.backoff_min_ms = 100;
    if (b->cfg.backoff_max_ms == 0)
        b->cfg.backoff_max_ms = 2000;
    b->backoff_ms = b->cfg.backoff_min_ms;
    b->shas = rtk_xcalloc(cfg->nscripts ? cfg->nscripts : 1, sizeof(*b->shas));
    rtk_map_init(&b->channels);
    uv_timer_init(loop, &b->timer);
    b->timer.data = b;
    b->state = DOWN;
    uv_timer_start(&b->timer, on_timer, 100, 100);
    connect_start(b);
    *out = b;
    return 0;
}

static void free_bus(rtk_bus *b)
{
    const char *k;
    void *v;
    for (size_t i = 0; rtk_map_next(&b->channels, &i, &k, &v);)
        free(v);
    rtk_map_free(&b->channels);
    free(b->fifo);
    free(b->shas);
    free(b);
}

static void on_closed(uv_handle_t *h)
{
    rtk_bus *b = h->data;
    if (b->resolving) /* the cancelled look-up still calls back: it frees the bus */
        b->free_pending = 1;
    else
        free_bus(b);
}

void rtk_bus_close(rtk_bus *b)
{
    if (b == NULL)
        return;
    set_state(b, CLOSING);
    b->npending = 0;
    redisAsyncContext *c = b->cmd, *s = b->sub;
    b->cmd = b->sub = NULL;
    if (c != NULL) {
        c->data = NULL;
        redisAsyncFree(c); /* runs the pending callbacks with NULL: RTK_EUNAVAIL */
    }
    if (s != NULL) {
        s->data = NULL;
        redisAsyncFree(s);
    }
    subs_lost(b);
    if (b->resolving)
        uv_cancel((uv_req_t *)&b->gai); /* on_resolved sees CLOSING */
    uv_close((uv_handle_t *)&b->timer, on_closed);
}

/* ---- replies ---- */

int rtk_bus_reply_type(const rtk_bus_reply *rr)
{
    const redisReply *r = (const redisReply *)rr;
    if (r == NULL)
        return RTK_BUS_NIL;
    switch (r->type) {
    case REDIS_REPLY_INTEGER: return RTK_BUS_INT;
    case REDIS_REPLY_STRING: return RTK_BUS_STR;
    case REDIS_REPLY_ARRAY: return RTK_BUS_ARRAY;
    case REDIS_REPLY_ERROR: return RTK_BUS_ERR;
    case REDIS_REPLY_STATUS: return RTK_BUS_STATUS;
    default: return RTK_BUS_NIL;
    }
}

long long rtk_bus_reply_int(const rtk_bus_reply *rr)
{
    const redisReply *r = (const redisReply *)rr;
    return r != NULL && r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
}

const char *rtk_bus_reply_str(const rtk_bus_reply *rr, size_t *len)
{
    const redisReply *r = (const redisReply *)rr;
    if (r == NULL || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_ERROR &&
                      r->type != REDIS_REPLY_STATUS)) {
        if (len != NULL)
            *len = 0;
        return NULL;
    }
    if (len != NULL)
        *len = r->len;
    return r->str;
}

size_t rtk_bus_reply_len(const rtk_bus_reply *rr)
{
    const redisReply *r = (const redisReply *)rr;
    return r != NULL && r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
}

const rtk_bus_reply *rtk_bus_reply_at(const rtk_bus_reply *rr, size_t i)
{
    const redisReply *r = (const redisReply *)rr;
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || i >= r->elements)
        return NULL;
    return (const rtk_bus_reply *)r->element[i];
}

size_t rtk_bus_reply_copy_at(const rtk_bus_reply *r, size_t i, char *buf, size_t cap)
{
    size_t len = 0;
    const char *s = rtk_bus_reply_str(rtk_bus_reply_at(r, i), &len);
    size_t n = s != NULL ? (len < cap - 1 ? len : cap - 1) : 0;
    if (n > 0)
        memcpy(buf, s, n);
    buf[n] = '\0';
    return len;
}

long long rtk_bus_reply_int_at(const rtk_bus_reply *rr, size_t i, long long dflt)
{
    const redisReply *e = (const redisReply *)rtk_bus_reply_at(rr, i);
    if (e == NULL)
        return dflt;
    if (e->type == REDIS_REPLY_INTEGER)
        return e->integer;
    if (e->type == REDIS_REPLY_STRING && e->len > 0 && e->len < 24) {
        char buf[24];
        memcpy(buf, e->str, e->len);
        buf[e->len] = '\0';
        char *end;
        long long v = strtoll(buf, &end, 10);
        return *end == '\0' ? v : dflt;
    }
    return dflt;
}
