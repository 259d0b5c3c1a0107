/* SPDX-License-Identifier: MIT */
/* rtk_http.c - HTTP/1.1 server connections: sockets, ordered responses, limits, upgrades. */
#include "net/rtk_http.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "http/rtk_envelope.h"
#include "http/rtk_h1.h"
#include "net/rtk_http_int.h"
#include "util/rtk_err.h"
#include "util/rtk_log.h"
#include "util/rtk_metrics.h"

#define CONTAINER_OF(ptr, type, field) ((type *)(void *)((char *)(ptr)-offsetof(type, field)))

#define ERR_QUIET (-1) /* fail(): stop parsing, answer nothing */

static_assert(RTK_H1_ADDR_MAX >= INET6_ADDRSTRLEN, "address buffer");

static void on_timer(uv_timer_t *t);
static void on_idle(uv_idle_t *h);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void begin_close(rtk_http_conn *c);
static void begin_close_ex(rtk_http_conn *c, int await_last);
static void close_now(rtk_http_conn *c);
static void start_shutdown(rtk_http_conn *c);
static void write_queue(rtk_http_conn *c);
static void maybe_finish_stop(rtk_http_server *srv);
static int under_limits(const rtk_http_conn *c);
static const rtk_http_owner conn_owner;

const char *rtk_http_status_text(int status)
{
    return rtk_h1_status_text(status);
}

/* The message of the errors this layer answers by itself, in the RealtimeKit envelope. */
static const char *error_message(int status)
{
    switch (status) {
    case 408: return "Request timeout";
    case 413: return "Request body too large";
    case 431: return "Request header fields too large";
    case 501: return "Transfer coding not implemented";
    case 505: return "HTTP version not supported";
    case 429: return "Too many request bodies in progress from this address";
    case 503: return "Too many request bodies in progress";
    default: return "Malformed request";
    }
}

static rtk_http_server *server_of(const rtk_http_conn *c)
{
    return c->tcp.data;
}

/* ---- connection lists and the one timer -------------------------------------------------- */

static uint64_t list_timeout(const rtk_http_server *srv, int id)
{
    switch (id) {
    case RTK_HTTP__L_HEAD: return srv->cfg.head_timeout_ms;
    case RTK_HTTP__L_IDLE: return srv->cfg.keepalive_timeout_ms;
    case RTK_HTTP__L_CLOSING: return srv->cfg.linger_ms;
    default: return 0;
    }
}

static int list_timed(int id)
{
    return id == RTK_HTTP__L_HEAD || id == RTK_HTTP__L_IDLE || id == RTK_HTTP__L_CLOSING;
}

static void arm_timer(rtk_http_server *srv, uint64_t deadline)
{
    if (uv_is_active((uv_handle_t *)&srv->timer) && srv->timer_due <= deadline)
        return;
    uint64_t now = uv_now(srv->loop);
    srv->timer_due = deadline;
    uv_timer_start(&srv->timer, on_timer, deadline > now ? deadline - now : 0, 0);
}

/* The rtkd_connections state gauge of list |id|, or -1 (busy: counted as the rest). */
static int list_gauge(int id)
{
    switch (id) {
    case RTK_HTTP__L_HEAD: return RTK_MG_CONNS_READING;
    case RTK_HTTP__L_IDLE: return RTK_MG_CONNS_IDLE;
    case RTK_HTTP__L_CLOSING: return RTK_MG_CONNS_CLOSING;
    case RTK_HTTP__L_RAW:
    case RTK_HTTP__L_STOPPING: return RTK_MG_CONNS_UPGRADED;
    default: return -1;
    }
}

static void list_remove(rtk_http_server *srv, rtk_http_conn *c)
{
    if (c->list == RTK_HTTP__L_NONE)
        return;
    rtk_metrics_gauge_add(list_gauge(c->list), -1);
    struct rtk_http__list *l = &srv->lists[c->list];
    if (c->prev)
        c->prev->next = c->next;
    else
        l->first = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l->last = c->prev;
    c->prev = c->next = NULL;
    c->list = RTK_HTTP__L_NONE;
}

/* Moves |c| to the tail of list |id|. On a timed list this sets a fresh deadline; the list
 * stays sorted because every member got the same timeout. */
static void list_put(rtk_http_server *srv, rtk_http_conn *c, int id)
{
    list_remove(srv, c);
    if (id == RTK_HTTP__L_NONE)
        return;
    struct rtk_http__list *l = &srv->lists[id];
    c->prev = l->last;
    c->next = NULL;
    if (l->last)
        l->last->next = c;
    else
        l->first = c;
    l->last = c;
    c->list = (uint8_t)id;
    rtk_metrics_gauge_add(list_gauge(id), 1);
    if (list_timed(id)) {
        c->t.deadline = uv_now(srv->loop) + list_timeout(srv, id);
        arm_timer(srv, c->t.deadline);
    } else if (id == RTK_HTTP__L_DEFER && !uv_is_active((uv_handle_t *)&srv->idle)) {
        uv_idle_start(&srv->idle, on_idle);
    }
}

/* ---- reading ----------------------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    rtk_http_server *srv = h->data;
    (void)suggested;
    /* One buffer for every connection: libuv calls alloc and read back to back for one
     * stream, and nothing here keeps a pointer into it after on_read returns. */
    buf->base = srv->rbuf;
    buf->len = sizeof(srv->rbuf);
}

static void read_start(rtk_http_conn *c)
{
    if (c->flags & (RTK_HTTP__C_READING | RTK_HTTP__C_CLOSED | RTK_HTTP__C_PEER_EOF))
        return;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
        c->flags |= RTK_HTTP__C_READING;
}

static void read_stop(rtk_http_conn *c)
{
    if (!(c->flags & RTK_HTTP__C_READING))
        return;
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->flags &= ~RTK_HTTP__C_READING;
}

static struct rtk_http__stash *stash_new(const char *data, size_t len)
{
    struct rtk_http__stash *s = rtk_xmalloc(sizeof(*s) + len);
    s->len = len;
    memcpy(s->data, data, len);
    return s;
}

/* ---- requests ---------------------------------------------------------------------------- */

static struct rtk_http__rq *rq_of(rtk_h1_req *r)
{
    return rtk_h1_req_user(r);
}

/* Makes |r| (from the parser, or blank) a request of |c|, begun at |start_ns|. */
static void rq_init(rtk_http_conn *c, rtk_h1_req *r, uint64_t start_ns)
{
    struct rtk_http__rq *q = rq_of(r);
    memset(q, 0, sizeof(*q));
    q->srv = server_of(c);
    q->conn = c;
    q->start_ns = start_ns;
    if (r->flags & RTK_H1_R_CLOSE)
        q->flags |= RTK_HTTP__R_CLOSE;
    r->owner = &conn_owner;
    r->pub.server_data = q->srv->data;
}

/*
 * Giving body memory back. glibc serves a large buffer with mmap only until one is freed; then
 * it raises its mmap threshold to that size, so later bodies of up to 1 MiB come from the heap,
 * and when many of them grow side by side and most are freed, the pages in the middle stay
 * resident while anything above them lives (measured: 990 clients trickling 1 MiB bodies, of
 * which all but 10 went, left about 50 MiB behind; docs/security.md). So the connection layer
 * counts the large body buffers it frees and, once TRIM_AFTER bytes of them are freed, calls
 * malloc_trim(0), which returns the free pages of every arena; at most once per TRIM_EVERY_MS
 * (it walks the heap), and always from a timer callback, never inside the free that crossed the
 * threshold.
 *
 * A burst of connections is the other case. Setting up each one (its request, the store's rows,
 * the parsed documents, a WebSocket's first frames) allocates some 40 KB that live for a few
 * loop turns, while what the connection keeps lives in slabs of its own (util/rtk_slab.h), so
 * once a burst ends most of the heap it went through is free, in pages no live object pins.
 * After TRIM_BURST connections, the trim runs once TRIM_QUIET_MS pass without a new one:
 * 15,000 WebSocket joins left 735-745 bytes per peer resident in ten runs this way, against
 * 869-1070 without the trim (the slabs alone) and 868-1070 before either (docs/design.md,
 * "Memory per idle peer"). The trim itself took under 1 ms there.
 */
#define TRIM_MIN_BUF (64 * 1024)     /* smaller buffers the allocator reuses: not counted */
#define TRIM_AFTER (4 * 1024 * 1024) /* bytes of large body buffers freed before a trim */
#define TRIM_EVERY_MS 1000
#define TRIM_BURST 256   /* connections accepted before a quiet spell calls for a trim */
#define TRIM_QUIET_MS 250

static void on_trim(uv_timer_t *t)
{
    rtk_http_server *srv = t->data;
    srv->trim_due = 0;
    srv->burst = 0;
    srv->trim_at = uv_now(srv->loop);
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

static void note_body_freed(rtk_http_server *srv, size_t bytes)
{
    if (bytes < TRIM_MIN_BUF)
        return;
    srv->trim_due += bytes;
    if (srv->trim_due < TRIM_AFTER || uv_is_active((uv_handle_t *)&srv->trim) ||
        uv_is_closing((uv_handle_t *)&srv->trim))
        return;
    uint64_t now = uv_now(srv->loop), next = srv->trim_at + TRIM_EVERY_MS;
    uv_timer_start(&srv->trim, on_trim, next > now ? next - now : 0, 0);
}

/* A connection was accepted: during a burst, (re)arms the trim for when it has gone quiet. */
static void note_accepted(rtk_http_server *srv)
{
    if (++srv->burst < TRIM_BURST || uv_is_closing((uv_handle_t *)&srv->trim))
        return;
    uint64_t now = uv_now(srv->loop), next = srv->trim_at + TRIM_EVERY_MS;
    uint64_t wait = next > now ? next - now : 0;
    uv_timer_start(&srv->trim, on_trim, wait > TRIM_QUIET_MS ? wait : TRIM_QUIET_MS, 0);
}

static void req_free(rtk_h1_req *r)
{
    if (r == NULL)
        return;
    struct rtk_http__rq *q = rq_of(r);
    note_body_freed(q->srv, rtk_h1_req_body_held(r));
    free(q->resp);
    rtk_h1_req_free(r);
}

/* ---- parse state ------------------------------------------------------------------------- */

static void peer_ip(rtk_http_conn *c, char *out, size_t size)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    snprintf(out, size, "-");
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)size);
    } else if (ss.ss_family == AF_INET6) {
        const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) /* a dual-stack listener: show the IPv4 form */
            inet_ntop(AF_INET, &a->s6_addr[12], out, (socklen_t)size);
        else
            inet_ntop(AF_INET6, a, out, (socklen_t)size);
    }
}

static struct rtk_http__ps *ps_new(rtk_http_conn *c)
{
    struct rtk_http__ps *ps = rtk_xcalloc(1, sizeof(*ps));
    char ip[RTK_H1_ADDR_MAX];
    peer_ip(c, ip, sizeof(ip));
    rtk_h1_init(&ps->h1, &server_of(c)->h1cfg, ip);
    ps->conn = c;
    c->u.http.ps = ps;
    return ps;
}

/* Takes |ps| off the bodies list (its body is complete, or it is going away). */
static void body_untrack(rtk_http_server *srv, struct rtk_http__ps *ps)
{
    if (!ps->on_bodies)
        return;
    if (ps->bprev)
        ps->bprev->bnext = ps->bnext;
    else
        srv->bodies.first = ps->bnext;
    if (ps->bnext)
        ps->bnext->bprev = ps->bprev;
    else
        srv->bodies.last = ps->bprev;
    ps->bprev = ps->bnext = NULL;
    ps->on_bodies = 0;
}

/* Once the head of the request being read is complete and its body is not, starts the body's
 * total deadline (once per body). */
static void body_track(rtk_http_server *srv, struct rtk_http__ps *ps)
{
    if (ps->on_bodies || !rtk_h1_in_body(&ps->h1))
        return;
    ps->body_deadline = uv_now(srv->loop) + srv->cfg.body_timeout_ms;
    ps->bprev = srv->bodies.last;
    ps->bnext = NULL;
    if (srv->bodies.last)
        srv->bodies.last->bnext = ps;
    else
        srv->bodies.first = ps;
    srv->bodies.last = ps;
    ps->on_bodies = 1;
    arm_timer(srv, ps->body_deadline);
}

/*
 * Body memory caps. A body being read is charged, against its client address and against the
 * server, what rtk_h1_body_mem says it holds or was announced to need; the charge is checked
 * after every parse of new bytes, before more is read, and is given back when the body is
 * complete (then its request waits for an answer, which the pipeline limit bounds) or when
 * the parse state goes. A declared length is charged in full from the end of its head, so a
 * client cannot start many bodies and fill them slowly; a chunked body is charged as its
 * buffer grows, so it is refused by the read that takes it over a cap (its buffer may have
 * doubled once by then, and is freed with the refusal). Returns 0, or the status
 * to answer: 503 when all bodies together would go over max_body_mem (checked first, like
 * max_conns), 429 when this address's would go over max_body_mem_per_ip.
 */
static int body_charge(rtk_http_conn *c, struct rtk_http__ps *ps)
{
    rtk_http_server *srv = server_of(c);
    size_t need = rtk_h1_body_mem(&ps->h1);
    if (need <= ps->body_mem)
        return 0;
    size_t more = need - ps->body_mem;
    if (more > srv->cfg.max_body_mem - srv->body_mem)
        return 503;
    if (c->ip != NULL && more > srv->cfg.max_body_mem_per_ip - c->ip->body_mem)
        return 429;
    srv->body_mem += more;
    if (c->ip != NULL)
        c->ip->body_mem += more;
    ps->body_mem = need;
    return 0;
}

static void body_release(rtk_http_conn *c, struct rtk_http__ps *ps)
{
    rtk_http_server *srv = server_of(c);
    srv->body_mem -= ps->body_mem;
    if (c->ip != NULL)
        c->ip->body_mem -= ps->body_mem;
    ps->body_mem = 0;
}

static void ps_free(rtk_http_conn *c)
{
    struct rtk_http__ps *ps = c->u.http.ps;
    if (ps == NULL)
        return;
    body_untrack(server_of(c), ps);
    body_release(c, ps);
    note_body_freed(server_of(c), rtk_h1_body_held(&ps->h1));
    rtk_h1_clear(&ps->h1);
    free(ps->stash);
    free(ps);
    c->u.http.ps = NULL;
}

/* 1 while a request is being read on |c|. */
static int reading_request(const rtk_http_conn *c)
{
    return c->u.http.ps != NULL && rtk_h1_busy(&c->u.http.ps->h1);
}

/* ---- responses --------------------------------------------------------------------------- */

static const char *http_date(rtk_http_server *srv)
{
    time_t now = time(NULL);
    if (now != srv->date_sec) {
        rtk_h1_format_date((int64_t)now, srv->date);
        srv->date_sec = now;
    }
    return srv->date;
}

static void access_log(rtk_h1_req *r, int status, size_t bytes)
{
    struct rtk_http__rq *q = rq_of(r);
    if (!q->srv->cfg.access_log)
        return;
    /* The path only: a query may hold a participant token. Bytes outside printable ASCII
     * are escaped so that a line stays one line. */
    char path[256];
    size_t n = 0;
    const char *p = r->pub.path ? r->pub.path : "-";
    size_t plen = r->pub.path ? r->pub.path_len : 1;
    for (size_t i = 0; i < plen && n + 4 < sizeof(path); i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch > 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
            path[n++] = (char)ch;
        else
            n += (size_t)snprintf(path + n, sizeof(path) - n, "%%%02X", ch);
    }
    path[n] = '\0';
    rtk_log_access_rec rec = {.ip = r->pub.remote_ip,
                              .method = r->pub.method_str,
                              .path = path,
                              .status = status,
                              .bytes = bytes,
                              .ms = (double)(uv_hrtime() - q->start_ns) / 1e6};
    rtk_log_access(&rec); /* never blocks: a stalled log reader costs lines, not the loop */
}

/* rtkd_http_requests_total and the latency histogram: a few adds, no allocation. */
static void count_request(rtk_h1_req *r, int status)
{
    double s = (double)(uv_hrtime() - rq_of(r)->start_ns) / 1e9;
    rtk_metrics_http(r->pub.metrics_route, status, s);
}

static struct rtk_http__wr *wr_new(size_t cap)
{
    struct rtk_http__wr *w = rtk_xmalloc(sizeof(*w) + cap);
    w->done = NULL;
    w->arg = NULL;
    w->len = 0;
    w->close_after = 0;
    return w;
}

static struct rtk_http__wr *wr_copy(const void *data, size_t len)
{
    struct rtk_http__wr *w = wr_new(len);
    memcpy(w->data, data, len);
    w->len = len;
    return w;
}

static struct rtk_http__wr *build_response(rtk_http_server *srv, const rtk_h1_req *r, int status,
                                           const char *ctype, const char *headers, const void *body,
                                           size_t len, int close)
{
    size_t send = rtk_h1_body_sent(r, status, len);
    rtk_h1_head h = {status, http_date(srv), ctype, headers, len, close};
    size_t hl = rtk_h1_head_size(&h);
    struct rtk_http__wr *w = wr_new(hl + send);
    rtk_h1_head_write(&h, w->data);
    if (send)
        memcpy(w->data + hl, body, send);
    w->len = hl + send;
    w->close_after = close;
    return w;
}

static void on_written(uv_write_t *req, int status)
{
    struct rtk_http__wr *w = CONTAINER_OF(req, struct rtk_http__wr, w);
    rtk_http_conn *c = req->data;
    void (*done)(void *, int) = w->done;
    void *arg = w->arg;
    free(w);
    if (done)
        done(arg, status);
    /* The connection is still allocated: libuv runs write callbacks before close callbacks. */
    if (status < 0 && status != UV_ECANCELED)
        close_now(c);
    else if (c->mode == RTK_HTTP__M_HTTP && (c->flags & RTK_HTTP__C_BLOCKED) &&
             !(c->flags & (RTK_HTTP__C_CLOSING | RTK_HTTP__C_CLOSED)) && under_limits(c))
        list_put(server_of(c), c, RTK_HTTP__L_DEFER); /* resume reading */
}

static void count_out(const rtk_http_conn *c, size_t n)
{
    rtk_metrics_add(c->mode == RTK_HTTP__M_RAW ? RTK_MC_BYTES_OUT_WS : RTK_MC_BYTES_OUT_HTTP, n);
}

/* Queues |w| on |c|; frees it and returns the error if libuv refuses it. */
static int submit_write(rtk_http_conn *c, struct rtk_http__wr *w, const char *base)
{
    uv_buf_t b = uv_buf_init((char *)base, (unsigned int)w->len);
    w->w.data = c;
    int rc = uv_write(&w->w, (uv_stream_t *)&c->tcp, &b, 1, on_written);
    if (rc != 0)
        free(w);
    else
        count_out(c, w->len);
    return rc;
}

static void send_continue(rtk_http_conn *c)
{
    static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";
    struct rtk_http__wr *w = wr_copy(msg, sizeof(msg) - 1);
    (void)submit_write(c, w, w->data); /* a failure shows up on the next write or read */
}

static void enqueue(rtk_http_conn *c, rtk_h1_req *r)
{
    rq_of(r)->next = NULL;
    if (c->u.http.qtail)
        rq_of(c->u.http.qtail)->next = r;
    else
        c->u.http.qhead = r;
    c->u.http.qtail = r;
    c->count++;
}

static size_t unsent(const rtk_http_conn *c)
{
    return uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp);
}

static int over_limits(const rtk_http_conn *c)
{
    return c->count >= RTK_HTTP__MAX_PIPELINE || unsent(c) > RTK_HTTP__WRITE_HIGH;
}

static int under_limits(const rtk_http_conn *c)
{
    return c->count <= RTK_HTTP__MAX_PIPELINE / 2 && unsent(c) <= RTK_HTTP__WRITE_HIGH / 4;
}

/* Stops reading on |c| until under_limits (see http_deferred). */
static void block(rtk_http_conn *c)
{
    c->flags |= RTK_HTTP__C_BLOCKED;
    read_stop(c);
}

/* Drops every queued request: those a handler still holds are detached (their response will
 * be dropped), the others are freed. */
static void detach_queue(rtk_http_conn *c)
{
    rtk_h1_req *r = c->u.http.qhead, *next;
    for (; r; r = next) {
        struct rtk_http__rq *q = rq_of(r);
        next = q->next;
        q->next = NULL;
        if ((q->flags & RTK_HTTP__R_DISPATCHED) && !(q->flags & RTK_HTTP__R_RESPONDED))
            q->conn = NULL;
        else
            req_free(r);
    }
    c->u.http.qhead = c->u.http.qtail = NULL;
    c->count = 0;
}

static void update_list(rtk_http_conn *c, int refresh_body);

/* Writes every response that is next in order, then decides what the connection does. */
static void write_queue(rtk_http_conn *c)
{
    rtk_h1_req *r;
    while ((r = c->u.http.qhead) != NULL && rq_of(r)->resp != NULL) {
        struct rtk_http__rq *q = rq_of(r);
        struct rtk_http__wr *w = q->resp;
        q->resp = NULL;
        c->u.http.qhead = q->next;
        if (c->u.http.qhead == NULL)
            c->u.http.qtail = NULL;
        c->count--;
        req_free(r);
        int close = w->close_after;
        if (submit_write(c, w, w->data) != 0) {
            close_now(c);
            return;
        }
        if (close) {
            begin_close(c);
            return;
        }
    }
    r = c->u.http.qhead;
    if (!(c->flags & (RTK_HTTP__C_BLOCKED | RTK_HTTP__C_NO_MORE)) &&
        unsent(c) > RTK_HTTP__WRITE_HIGH)
        block(c); /* the client does not read: stop taking requests from it */
    if ((r && !(rq_of(r)->flags & RTK_HTTP__R_DISPATCHED)) ||
        ((c->flags & RTK_HTTP__C_BLOCKED) && under_limits(c))) {
        /* Next turn: dispatch an upgrade request that reached the head, or resume reading. */
        list_put(server_of(c), c, RTK_HTTP__L_DEFER);
    } else if (c->count == 0 && (c->flags & (RTK_HTTP__C_NO_MORE | RTK_HTTP__C_PEER_EOF)) &&
               !reading_request(c)) {
        begin_close(c);
    } else {
        update_list(c, 0);
    }
}

/* rtk_http_respond for requests read from a connection (rtk_http_owner.respond). */
static void conn_respond(rtk_h1_req *r, int status, const char *content_type, const char *headers,
                         const void *body, size_t len)
{
    struct rtk_http__rq *q = rq_of(r);
    assert(!(q->flags & RTK_HTTP__R_RESPONDED) && "one response per request");
    assert(status >= 100 && status <= 999);
    q->flags |= RTK_HTTP__R_RESPONDED;
    access_log(r, status, len);
    count_request(r, status);
    rtk_http_conn *c = q->conn;
    if (c == NULL) { /* the client has gone */
        req_free(r);
        return;
    }
    rtk_http_server *srv = server_of(c);
    /* Close after this response if the request asked for it, or if nothing may follow it
     * (server stopping, peer half-closed, parsing stopped) and nothing is owed after it. */
    int last = q->next == NULL && !reading_request(c);
    int close =
        (q->flags & RTK_HTTP__R_CLOSE) ||
        (last && (srv->stopping || (c->flags & (RTK_HTTP__C_NO_MORE | RTK_HTTP__C_PEER_EOF))));
    q->resp = build_response(srv, r, status, content_type, headers, body, len, close);
    /* The request's data is no longer needed: free it now even if the response must wait. */
    note_body_freed(srv, rtk_h1_req_body_held(r));
    rtk_h1_req_drop_data(r);
    if (r == c->u.http.qhead)
        write_queue(c);
}

static void send_error(rtk_h1_req *r, int status)
{
    char body[RTK_ENVELOPE_SMALL];
    ssize_t n = rtk_envelope_error(body, sizeof(body), status, error_message(status));
    assert(n > 0);
    /* 429 and 503 are the body memory caps: the client may try again soon. */
    const char *headers = (status == 429 || status == 503) ? "Retry-After: 1\r\n" : NULL;
    conn_respond(r, status, "application/json", headers, body, (size_t)n);
}

/* ---- closing ----------------------------------------------------------------------------- */

static void on_conn_closed(uv_handle_t *h)
{
    rtk_http_conn *c = (rtk_http_conn *)h;
    rtk_http_server *srv = h->data;
    if (c->mode == RTK_HTTP__M_RAW) {
        if (!(c->flags & RTK_HTTP__C_CLOSING))
            free(c->t.leftover);
        if (c->u.raw.cbs)
            c->u.raw.cbs->on_close(c, c->u.raw.user);
    }
    if (c->ip != NULL && --c->ip->n == 0) {
        assert(c->ip->body_mem == 0); /* every parse state of its connections is gone */
        rtk_map_del(&srv->per_ip, c->ip->ip);
        free(c->ip);
    }
    rtk_slab_free(&srv->conn_slab, c);
    srv->nconns--;
    rtk_metrics_gauge_add(RTK_MG_CONNS_OPEN, -1);
    maybe_finish_stop(srv);
}

/* Closes at once: queued writes are cancelled. The struct is freed in on_conn_closed. */
static void close_now(rtk_http_conn *c)
{
    if (c->flags & RTK_HTTP__C_CLOSED)
        return;
    c->flags |= RTK_HTTP__C_CLOSED | RTK_HTTP__C_NO_MORE;
    c->flags &= ~RTK_HTTP__C_READING;
    list_remove(server_of(c), c);
    if (c->mode == RTK_HTTP__M_HTTP) {
        detach_queue(c);
        ps_free(c);
    }
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_shutdown(uv_shutdown_t *sr, int status)
{
    rtk_http_conn *c = CONTAINER_OF(sr->handle, rtk_http_conn, tcp);
    free(sr);
    if (c->flags & RTK_HTTP__C_CLOSED)
        return;
    if (status < 0 || (c->flags & RTK_HTTP__C_PEER_EOF)) {
        close_now(c);
        return;
    }
    /* Everything is written and the FIN is sent: linger from now on. */
    list_put(server_of(c), c, RTK_HTTP__L_CLOSING);
}

/* Graceful close (nginx's lingering close): shut down the write side once queued writes are
 * out, then keep reading and discarding until the peer closes, linger_ms passes or too much
 * arrives. Closing with unread input would make the kernel send a reset, which can destroy
 * the response before the client reads it (RFC 9112 9.6). */
static void begin_close(rtk_http_conn *c)
{
    begin_close_ex(c, 0);
}

/* begin_close, and with |await_last| a raw connection whose owner's goodbye is already in
 * the kernel waits for the peer's answer instead of shutting down (rtk_http_raw_cbs.is_last). */
static void begin_close_ex(rtk_http_conn *c, int await_last)
{
    if (c->flags & (RTK_HTTP__C_CLOSING | RTK_HTTP__C_CLOSED))
        return;
    rtk_http_server *srv = server_of(c);
    if (c->mode == RTK_HTTP__M_HTTP) {
        detach_queue(c);
        ps_free(c);
    } else {
        free(c->t.leftover);
        c->t.leftover = NULL;
    }
    c->flags |= RTK_HTTP__C_CLOSING | RTK_HTTP__C_NO_MORE;
    c->flags &= ~RTK_HTTP__C_PAUSED;
    c->count = 0;
    int drained = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0;
    if (drained && (c->flags & RTK_HTTP__C_PEER_EOF)) {
        close_now(c); /* nothing more will come, and all we wrote is in the kernel */
        return;
    }
    if (drained && await_last && c->mode == RTK_HTTP__M_RAW && c->u.raw.cbs->is_last != NULL) {
        c->flags |= RTK_HTTP__C_NO_SHUT; /* see rtk_http_raw_cbs.is_last */
        list_put(srv, c, RTK_HTTP__L_CLOSING);
        read_start(c);
        return;
    }
    start_shutdown(c);
}

/* Sends the FIN once queued writes are out (on_shutdown then lingers), reading meanwhile. */
static void start_shutdown(rtk_http_conn *c)
{
    rtk_http_server *srv = server_of(c);
    uv_shutdown_t *sr = rtk_xmalloc(sizeof(*sr));
    if (uv_shutdown(sr, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        free(sr);
        close_now(c);
        return;
    }
    list_put(srv, c, RTK_HTTP__L_CLOSING);
    read_start(c);
}

/* ---- the HTTP read path ------------------------------------------------------------------ */

/* Stops reading requests on |c| and answers |status| in order (0 or ERR_QUIET: no answer). */
static void fail(rtk_http_conn *c, int status)
{
    struct rtk_http__ps *ps = c->u.http.ps;
    c->flags |= RTK_HTTP__C_NO_MORE;
    read_stop(c);
    if (status <= 0) {
        ps_free(c);
        if (c->count == 0)
            begin_close(c);
        return;
    }
    /* The answer goes on the request being read, if any (the access log shows what of it was
     * read), else on a blank one. */
    rtk_h1_req *r;
    uint64_t start_ns;
    if (ps) {
        start_ns = rtk_h1_busy(&ps->h1) ? ps->start_ns : uv_hrtime();
        r = rtk_h1_take(&ps->h1);
    } else {
        char ip[RTK_H1_ADDR_MAX];
        peer_ip(c, ip, sizeof(ip));
        start_ns = uv_hrtime();
        r = rtk_h1_req_new(&server_of(c)->h1cfg, ip);
    }
    ps_free(c);
    rq_init(c, r, start_ns);
    rq_of(r)->flags |= RTK_HTTP__R_CLOSE | RTK_HTTP__R_DISPATCHED;
    enqueue(c, r);
    send_error(r, status);
}

static void dispatch(rtk_http_conn *c, rtk_h1_req *r)
{
    /* An upgrade request waits until everything before it has been answered, so that the
     * 101 and the raw bytes after it cannot overtake earlier responses. */
    if ((r->flags & RTK_H1_R_STOPPED) && r != c->u.http.qhead)
        return;
    rq_of(r)->flags |= RTK_HTTP__R_DISPATCHED;
    /* Behind a trusted proxy the client is the one X-Forwarded-For names (rtk_proxy.h):
     * handlers (per-IP handshake limit) and the access log see that address. */
    if (server_of(c)->cfg.trust_proxy != NULL)
        rtk_proxy_client_ip(server_of(c)->cfg.trust_proxy, &r->pub, r->remote_ip);
    server_of(c)->handler(&r->pub);
}

/* Parses |len| bytes at |data| on |c| and dispatches every request they complete. The
 * handler may do anything, including closing or upgrading |c|, so after each dispatch the
 * state is checked before the parse state is touched again. */
static void feed(rtk_http_conn *c, const char *data, size_t len)
{
    struct rtk_http__ps *ps = c->u.http.ps;
    rtk_http_server *srv = server_of(c);
    while (len > 0) {
        if (!rtk_h1_busy(&ps->h1))
            ps->start_ns = uv_hrtime(); /* a request may begin in these bytes */
        /* A request begun after rtk_http_server_stop is not served: the connection closes
         * once the answers already owed have left. */
        if (srv->stopping)
            rtk_h1_refuse_new(&ps->h1);
        rtk_h1_event ev;
        ssize_t n = rtk_h1_feed(&ps->h1, data, len, &ev);
        if (n == RTK_EAGAIN) {
            int st = body_charge(c, ps);
            if (st != 0) {
                fail(c, st);
                return;
            }
            body_track(srv, ps);
            return;
        }
        if (n < 0) {
            fail(c, n == -ECANCELED ? ERR_QUIET : ev.status);
            return;
        }
        data += n;
        len -= (size_t)n;
        if (ev.kind == RTK_H1_CONTINUE) {
            /* A body over a memory cap is refused before it is invited. */
            int st = body_charge(c, ps);
            if (st != 0) {
                fail(c, st);
                return;
            }
            /* RFC 9110 10.1.1: an interim answer must not overtake the answers to earlier
             * pipelined requests, so only when nothing is owed. */
            if (c->count == 0)
                send_continue(c);
            body_track(srv, ps);
            continue;
        }
        body_untrack(srv, ps); /* the body, if any, is complete */
        body_release(c, ps);
        rtk_h1_req *r = ev.req;
        rq_init(c, r, ps->start_ns);
        if (r->flags & RTK_H1_R_CLOSE) {
            /* Last request on this connection: Connection: close, HTTP/1.0 without
             * keep-alive, an upgrade or CONNECT. Bytes after an upgrade head belong to the
             * new protocol and are kept; after the others they are dropped. */
            c->flags |= RTK_HTTP__C_NO_MORE;
            read_stop(c);
            if (r->pub.is_upgrade && len > 0)
                ps->stash = stash_new(data, len);
            len = 0;
        }
        enqueue(c, r);
        dispatch(c, r);
        if (c->mode != RTK_HTTP__M_HTTP ||
            (c->flags & (RTK_HTTP__C_CLOSING | RTK_HTTP__C_CLOSED | RTK_HTTP__C_NO_MORE)))
            return;
        if (len > 0 && ((c->flags & RTK_HTTP__C_BLOCKED) || over_limits(c))) {
            /* Back-pressure: keep the rest aside and stop reading until answers drain. */
            ps->stash = stash_new(data, len);
            block(c);
            return;
        }
    }
}

/* Puts |c| on the list its state calls for. */
static void update_list(rtk_http_conn *c, int refresh_body)
{
    if (c->list == RTK_HTTP__L_DEFER)
        return; /* decided after the deferred work */
    struct rtk_http__ps *ps = c->u.http.ps;
    int target;
    if (reading_request(c))
        target = RTK_HTTP__L_HEAD;
    else if (c->count > 0 || (c->flags & RTK_HTTP__C_NO_MORE))
        target = RTK_HTTP__L_NONE;
    else if (server_of(c)->stopping) {
        /* Nothing owed and the server is stopping: no keep-alive wait (a response built
         * before the stop may have said keep-alive). Callers check the flags after this. */
        begin_close(c);
        return;
    } else {
        /* A fresh connection owes its first request within the head timeout. An idle one
         * (also one BLOCKED on unsent bytes: a client that never reads) is closed after
         * keepalive_timeout_ms. */
        target = (c->flags & RTK_HTTP__C_FRESH) ? RTK_HTTP__L_HEAD : RTK_HTTP__L_IDLE;
    }
    /* While a body arrives, the timeout counts from the last read (nginx client_body_timeout). */
    int refresh = refresh_body && target == RTK_HTTP__L_HEAD && ps && rtk_h1_in_body(&ps->h1);
    if (target != c->list || refresh)
        list_put(server_of(c), c, target);
}

/* Ends an event on an HTTP connection: frees the parse state if the parser is between
 * requests, and files the connection on the right list. */
static void settle(rtk_http_conn *c, int refresh_body)
{
    if (c->mode != RTK_HTTP__M_HTTP || (c->flags & (RTK_HTTP__C_CLOSED | RTK_HTTP__C_CLOSING)))
        return;
    struct rtk_http__ps *ps = c->u.http.ps;
    if (ps && !rtk_h1_busy(&ps->h1) && !ps->stash)
        ps_free(c);
    update_list(c, refresh_body);
}

static void raw_read(rtk_http_conn *c, ssize_t nread, const char *data)
{
    const rtk_http_raw_cbs *cbs = c->u.raw.cbs;
    if (nread > 0) {
        cbs->on_read(c, c->u.raw.user, nread, data);
        return;
    }
    c->flags &= ~RTK_HTTP__C_READING;
    if (nread == UV_EOF)
        c->flags |= RTK_HTTP__C_PEER_EOF;
    cbs->on_read(c, c->u.raw.user, nread, NULL);
    if (nread == UV_EOF)
        begin_close(c); /* flushes what the owner queued, then closes */
    else
        close_now(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    rtk_http_conn *c = (rtk_http_conn *)s;
    rtk_http_server *srv = server_of(c);
    if (nread == 0 || (c->flags & RTK_HTTP__C_CLOSED))
        return;
    if (nread > 0)
        rtk_metrics_add(c->mode == RTK_HTTP__M_RAW ? RTK_MC_BYTES_IN_WS : RTK_MC_BYTES_IN_HTTP,
                        (uint64_t)nread);
    if (c->flags & RTK_HTTP__C_CLOSING) { /* lingering: discard */
        if (nread < 0) {
            close_now(c);
            return;
        }
        if (c->flags & RTK_HTTP__C_NO_SHUT) {
            c->flags &= ~RTK_HTTP__C_NO_SHUT;
            if (c->u.raw.cbs->is_last(buf->base, (size_t)nread)) {
                close_now(c); /* its last bytes are read: close() sends a FIN, not a reset */
                return;
            }
            start_shutdown(c); /* something else: the default graceful close */
        }
        size_t kib = ((size_t)nread + 1023) / 1024;
        if (c->count + kib > RTK_HTTP__LINGER_MAX_KIB)
            close_now(c);
        else
            c->count = (uint16_t)(c->count + kib);
        return;
    }
    if (c->mode == RTK_HTTP__M_RAW) {
        raw_read(c, nread, buf->base);
        return;
    }
    if (nread < 0) {
        c->flags &= ~RTK_HTTP__C_READING;
        if (nread != UV_EOF) {
            close_now(c);
            return;
        }
        /* The peer half-closed: answer what was fully received, then close. A partial
         * request can never complete and is dropped. */
        c->flags |= RTK_HTTP__C_PEER_EOF | RTK_HTTP__C_NO_MORE;
        ps_free(c);
        if (c->count == 0)
            begin_close(c);
        settle(c, 0);
        return;
    }
    if (c->flags & RTK_HTTP__C_NO_MORE)
        return; /* input after the last request, read before reading stopped */
    c->flags &= ~RTK_HTTP__C_FRESH;
    if (c->u.http.ps == NULL)
        ps_new(c);
    if (c->list == RTK_HTTP__L_IDLE)
        list_put(srv, c, RTK_HTTP__L_HEAD); /* the head timeout starts at its first byte */
    feed(c, buf->base, (size_t)nread);
    settle(c, 1);
}

/* ---- deferred work (next loop turn) ------------------------------------------------------ */

static void tell_stop(rtk_http_conn *c)
{
    c->flags |= RTK_HTTP__C_STOP_TOLD;
    if (c->u.raw.cbs->on_stop)
        c->u.raw.cbs->on_stop(c, c->u.raw.user);
    else
        rtk_http_raw_close(c);
}

static void raw_deferred(rtk_http_conn *c)
{
    rtk_http_server *srv = server_of(c);
    if (c->flags & (RTK_HTTP__C_CLOSING | RTK_HTTP__C_CLOSED))
        return;
    list_put(srv, c, RTK_HTTP__L_RAW);
    if (c->t.leftover && !(c->flags & RTK_HTTP__C_PAUSED)) {
        struct rtk_http__stash *st = c->t.leftover;
        c->t.leftover = NULL;
        c->u.raw.cbs->on_read(c, c->u.raw.user, (ssize_t)st->len, st->data);
        free(st);
        if (c->flags & (RTK_HTTP__C_CLOSING | RTK_HTTP__C_CLOSED))
            return;
    }
    if (!c->t.leftover && !(c->flags & RTK_HTTP__C_PAUSED))
        read_start(c);
    if (srv->stopping && !(c->flags & RTK_HTTP__C_STOP_TOLD))
        tell_stop(c);
}

static void http_deferred(rtk_http_conn *c)
{
    if (c->flags & (RTK_HTTP__C_CLOSING | RTK_HTTP__C_CLOSED))
        return;
    rtk_h1_req *r = c->u.http.qhead;
    if (r && !(rq_of(r)->flags & RTK_HTTP__R_DISPATCHED)) {
        rq_of(r)->flags |= RTK_HTTP__R_DISPATCHED;
        server_of(c)->handler(&r->pub);
        settle(c, 0);
        return;
    }
    if ((c->flags & RTK_HTTP__C_BLOCKED) && under_limits(c)) {
        c->flags &= ~RTK_HTTP__C_BLOCKED;
        struct rtk_http__ps *ps = c->u.http.ps;
        struct rtk_http__stash *st = ps ? ps->stash : NULL;
        if (st) {
            ps->stash = NULL;
            feed(c, st->data, st->len);
            free(st);
        }
        if (c->mode == RTK_HTTP__M_HTTP &&
            !(c->flags & (RTK_HTTP__C_CLOSED | RTK_HTTP__C_CLOSING | RTK_HTTP__C_BLOCKED |
                          RTK_HTTP__C_NO_MORE)))
            read_start(c);
    }
    settle(c, 0);
}

static void on_idle(uv_idle_t *h)
{
    rtk_http_server *srv = h->data;
    struct rtk_http__list *l = &srv->lists[RTK_HTTP__L_DEFER];
    /* Take only what is queued now, one at a time from the head: work done here may
     * re-file any connection, including ones further down this list. */
    size_t n = 0;
    for (rtk_http_conn *c = l->first; c; c = c->next)
        n++;
    rtk_http_conn *c;
    while (n-- > 0 && (c = l->first) != NULL) {
        list_remove(srv, c);
        if (c->mode == RTK_HTTP__M_RAW)
            raw_deferred(c);
        else
            http_deferred(c);
    }
    if (l->first == NULL)
        uv_idle_stop(h);
}

/* ---- timeouts ---------------------------------------------------------------------------- */

static void expire(rtk_http_conn *c, int id)
{
    switch (id) {
    case RTK_HTTP__L_HEAD:
        /* A request begun, or a fresh connection that sent nothing at all: both owed a
         * request within the head timeout, and both are told why they are closed (a silent
         * client may just be slow to write). Blank lines alone move a connection to IDLE,
         * which closes quietly like any idle keep-alive connection. */
        if (reading_request(c) || (c->flags & RTK_HTTP__C_FRESH))
            fail(c, 408);
        else
            begin_close(c);
        settle(c, 0);
        break;
    case RTK_HTTP__L_IDLE: begin_close(c); break;
    default: close_now(c); break;
    }
}

static void on_timer(uv_timer_t *t)
{
    rtk_http_server *srv = t->data;
    static const int timed[] = {RTK_HTTP__L_HEAD, RTK_HTTP__L_IDLE, RTK_HTTP__L_CLOSING};
    uint64_t now = uv_now(srv->loop);
    for (size_t i = 0; i < sizeof(timed) / sizeof(timed[0]); i++) {
        rtk_http_conn *c;
        while ((c = srv->lists[timed[i]].first) != NULL && c->t.deadline <= now) {
            list_remove(srv, c);
            expire(c, timed[i]);
        }
    }
    struct rtk_http__ps *ps;
    while ((ps = srv->bodies.first) != NULL && ps->body_deadline <= now) {
        /* The body missed its total deadline: answered like a head that did (fail frees
         * the parse state, which unlinks it). */
        rtk_http_conn *c = ps->conn;
        fail(c, 408);
        settle(c, 0);
    }
    uint64_t next = srv->bodies.first ? srv->bodies.first->body_deadline : UINT64_MAX;
    for (size_t i = 0; i < sizeof(timed) / sizeof(timed[0]); i++) {
        rtk_http_conn *c = srv->lists[timed[i]].first;
        if (c && c->t.deadline < next)
            next = c->t.deadline;
    }
    if (next != UINT64_MAX)
        arm_timer(srv, next);
}

/* ---- server ------------------------------------------------------------------------------ */

/* Applies max_conns and max_conns_per_ip to the new connection |c|. Over a cap, writes a
 * canned answer without waiting for a request (the client may not have sent one yet), closes
 * the connection and returns 1. */
static int over_conn_caps(rtk_http_server *srv, rtk_http_conn *c)
{
    int status = 0;
    if (srv->cfg.max_conns && srv->nconns > srv->cfg.max_conns) {
        status = 503;
    } else if (srv->cfg.max_conns_per_ip || srv->cfg.max_body_mem_per_ip != SIZE_MAX) {
        char ip[INET6_ADDRSTRLEN];
        peer_ip(c, ip, sizeof(ip));
        struct rtk_http__ipcount *e = rtk_map_get(&srv->per_ip, ip);
        if (e == NULL) {
            size_t n = strlen(ip);
            e = rtk_xcalloc(1, sizeof(*e) + n + 1);
            memcpy(e->ip, ip, n + 1);
            rtk_map_put(&srv->per_ip, e->ip, e);
        }
        e->n++;
        c->ip = e;
        /* A trusted proxy carries many clients on its connections; they are capped by
         * address at the proxy, and by max_conns here. */
        if (srv->cfg.max_conns_per_ip && e->n > srv->cfg.max_conns_per_ip &&
            !rtk_proxy_trusts(srv->cfg.trust_proxy, ip))
            status = 429;
    }
    if (status == 0)
        return 0;
    rtk_metrics_add(status == 503 ? RTK_MC_CONNS_REFUSED_503 : RTK_MC_CONNS_REFUSED_429, 1);
    char body[RTK_ENVELOPE_SMALL], answer[400];
    ssize_t blen =
        rtk_envelope_error(body, sizeof(body), status,
                           status == 503 ? "Too many open connections"
                                         : "Too many open connections from this address");
    assert(blen > 0);
    /* No Date or Server here: the answer is written before any request, as short as it can. */
    int len = snprintf(answer, sizeof(answer),
                       "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
                       "Connection: close\r\nContent-Length: %zd\r\n\r\n%s",
                       status, rtk_h1_status_text(status), blen, body);
    uv_buf_t b = uv_buf_init(answer, (unsigned)len);
    (void)uv_try_write((uv_stream_t *)&c->tcp, &b, 1); /* best effort: fits any socket buffer */
    close_now(c);
    return 1;
}

static void on_connection(uv_stream_t *listener, int status)
{
    rtk_http_server *srv = listener->data;
    if (status < 0)
        return; /* e.g. EMFILE: libuv keeps the listener going */
    rtk_http_conn *c = rtk_slab_calloc(&srv->conn_slab);
    uv_tcp_init(srv->loop, &c->tcp);
    c->tcp.data = srv;
    srv->nconns++;
    rtk_metrics_gauge_add(RTK_MG_CONNS_OPEN, 1);
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        close_now(c);
        return;
    }
    note_accepted(srv);
    uv_tcp_nodelay(&c->tcp, 1); /* responses are small and must not wait for Nagle */
    rtk_metrics_add(RTK_MC_CONNS_ACCEPTED, 1);
    if (over_conn_caps(srv, c))
        return;
    c->flags = RTK_HTTP__C_FRESH;
    read_start(c);
    list_put(srv, c, RTK_HTTP__L_HEAD);
}

static int listen_socket(const char *host, int port, int *fd_out, int *port_out)
{
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        len = sizeof(*s4);
    } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        len = sizeof(*s6);
    } else {
        return RTK_EINVAL;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1, rc;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&ss, len) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    *port_out = ntohs(ss.ss_family == AF_INET ? s4->sin_port : s6->sin6_port);
    *fd_out = fd;
    return 0;
}

static void on_server_handle_closed(uv_handle_t *h)
{
    rtk_http_server *srv = h->data;
    srv->open_handles--;
    if (h == (uv_handle_t *)&srv->listener) {
        maybe_finish_stop(srv);
        return;
    }
    if (srv->open_handles == 0) {
        void (*cb)(void *) = srv->stop_cb;
        void *arg = srv->stop_arg;
        rtk_map_free(&srv->per_ip);
        rtk_slab_fini(&srv->conn_slab);
        free(srv);
        if (cb)
            cb(arg);
    }
}

static void maybe_finish_stop(rtk_http_server *srv)
{
    assert(srv->nconns > 0 || srv->body_mem == 0);
    if (!srv->stopping || srv->nconns > 0 || srv->open_handles != 3 ||
        uv_is_closing((uv_handle_t *)&srv->timer))
        return;
    uv_close((uv_handle_t *)&srv->timer, on_server_handle_closed);
    uv_close((uv_handle_t *)&srv->idle, on_server_handle_closed);
    uv_close((uv_handle_t *)&srv->trim, on_server_handle_closed);
}

int rtk_http_server_start(uv_loop_t *loop, const char *host, int port, const rtk_http_config *cfg,
                          rtk_http_handler handler, void *data, rtk_http_server **out)
{
    *out = NULL;
    if (loop == NULL || host == NULL || handler == NULL || port < 0 || port > 65535)
        return RTK_EINVAL;
    int fd = -1, bound = 0, rc;
    if ((rc = listen_socket(host, port, &fd, &bound)) != 0)
        return rc;
    rtk_http_server *srv = rtk_xcalloc(1, sizeof(*srv));
    if (cfg)
        srv->cfg = *cfg;
    if (srv->cfg.max_head == 0)
        srv->cfg.max_head = 16 * 1024;
    if (srv->cfg.max_body == 0)
        srv->cfg.max_body = 1024 * 1024;
    if (srv->cfg.head_timeout_ms == 0)
        srv->cfg.head_timeout_ms = 10000;
    if (srv->cfg.keepalive_timeout_ms == 0)
        srv->cfg.keepalive_timeout_ms = 75000;
    if (srv->cfg.linger_ms == 0)
        srv->cfg.linger_ms = 2000;
    if (srv->cfg.body_timeout_ms == 0)
        srv->cfg.body_timeout_ms = 30000;
    if (srv->cfg.max_body_mem_per_ip == 0)
        srv->cfg.max_body_mem_per_ip = 8 * 1024 * 1024;
    if (srv->cfg.max_body_mem == 0)
        srv->cfg.max_body_mem = 64 * 1024 * 1024;
    srv->h1cfg.max_head = srv->cfg.max_head;
    srv->h1cfg.max_body = srv->cfg.max_body;
    srv->h1cfg.user_size = sizeof(struct rtk_http__rq);
    srv->loop = loop;
    rtk_slab_init(&srv->conn_slab, sizeof(rtk_http_conn));
    srv->handler = handler;
    srv->data = data;
    srv->port = bound;
    if ((rc = uv_tcp_init(loop, &srv->listener)) != 0) {
        close(fd);
        free(srv);
        return rc;
    }
    srv->listener.data = srv;
    uv_timer_init(loop, &srv->timer);
    srv->timer.data = srv;
    uv_idle_init(loop, &srv->idle);
    srv->idle.data = srv;
    uv_timer_init(loop, &srv->trim);
    srv->trim.data = srv;
    srv->open_handles = 4;
    if ((rc = uv_tcp_open(&srv->listener, fd)) != 0)
        close(fd); /* not owned by the handle yet */
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&srv->listener, 511, on_connection);
    if (rc != 0) {
        /* The handles are live: they can only be released from the loop. */
        srv->stopping = 1;
        uv_close((uv_handle_t *)&srv->listener, on_server_handle_closed);
        return rc;
    }
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
    *out = srv;
    return 0;
}

int rtk_http_server_port(const rtk_http_server *srv)
{
    return srv->port;
}

void rtk_http_server_stop(rtk_http_server *srv, void (*cb)(void *arg), void *arg)
{
    assert(!srv->stopping && "rtk_http_server_stop called twice");
    srv->stopping = 1;
    srv->stop_cb = cb;
    srv->stop_arg = arg;
    uv_close((uv_handle_t *)&srv->listener, on_server_handle_closed);
    /* Connections with nothing owed and no request begun close now; begin_close only moves
     * the connection it is given, so the saved next pointer stays valid. */
    static const int lists[] = {RTK_HTTP__L_IDLE, RTK_HTTP__L_HEAD};
    for (size_t i = 0; i < 2; i++) {
        rtk_http_conn *c, *next;
        for (c = srv->lists[lists[i]].first; c; c = next) {
            next = c->next;
            if (c->count == 0 && !reading_request(c))
                begin_close(c);
        }
    }
    /* Raw connections: move them all aside first, then tell them one at a time from the
     * head, because an owner may close other connections from its callback. */
    rtk_http_conn *c;
    while ((c = srv->lists[RTK_HTTP__L_RAW].first) != NULL)
        list_put(srv, c, RTK_HTTP__L_STOPPING);
    while ((c = srv->lists[RTK_HTTP__L_STOPPING].first) != NULL) {
        list_put(srv, c, RTK_HTTP__L_RAW);
        tell_stop(c);
    }
}

/* ---- upgrade and raw mode ---------------------------------------------------------------- */

static int head_status(const char *head, size_t len)
{
    if (len >= 12 && memcmp(head, "HTTP/1.", 7) == 0 && head[8] == ' ') {
        int s = 0;
        for (int i = 9; i < 12; i++) {
            if (head[i] < '0' || head[i] > '9')
                return 101;
            s = s * 10 + (head[i] - '0');
        }
        return s;
    }
    return 101;
}

/* rtk_http_upgrade for requests read from a connection (rtk_http_owner.upgrade). */
static int conn_upgrade(rtk_h1_req *r, const void *head, size_t head_len,
                        const struct rtk_http_raw_cbs *cbs, void *user, rtk_http_conn **out)
{
    struct rtk_http__rq *q = rq_of(r);
    *out = NULL;
    assert(r->pub.is_upgrade && "rtk_http_upgrade needs an upgrade request");
    assert(!(q->flags & RTK_HTTP__R_RESPONDED) && "one response per request");
    assert(cbs && cbs->on_read && cbs->on_close);
    q->flags |= RTK_HTTP__R_RESPONDED;
    access_log(r, head_status(head, head_len), 0);
    count_request(r, head_status(head, head_len));
    rtk_http_conn *c = q->conn;
    if (c == NULL) {
        req_free(r);
        return UV_ENOTCONN;
    }
    rtk_http_server *srv = server_of(c);
    /* dispatch() held the request back until it was the oldest one, and the parser stopped
     * after it, so it is alone in the queue. */
    assert(c->u.http.qhead == r && q->next == NULL);
    c->u.http.qhead = c->u.http.qtail = NULL;
    c->count = 0;
    req_free(r);
    struct rtk_http__ps *ps = c->u.http.ps;
    struct rtk_http__stash *leftover = NULL;
    if (ps) {
        leftover = ps->stash;
        ps->stash = NULL;
        ps_free(c);
    }
    list_remove(srv, c);
    c->mode = RTK_HTTP__M_RAW;
    c->u.raw.cbs = NULL; /* no callbacks until this succeeds */
    c->u.raw.user = user;
    c->t.leftover = leftover;
    c->flags &= ~(RTK_HTTP__C_NO_MORE | RTK_HTTP__C_FRESH | RTK_HTTP__C_BLOCKED);
    struct rtk_http__wr *w = wr_copy(head, head_len);
    int rc = submit_write(c, w, w->data);
    if (rc != 0) {
        close_now(c);
        return rc;
    }
    c->u.raw.cbs = cbs;
    *out = c;
    if (leftover || srv->stopping)
        list_put(srv, c, RTK_HTTP__L_DEFER);
    else {
        list_put(srv, c, RTK_HTTP__L_RAW);
        read_start(c);
    }
    return 0;
}

int rtk_http_raw_write(rtk_http_conn *c, const void *data, size_t len,
                       void (*done)(void *arg, int status), void *arg)
{
    if (c->mode != RTK_HTTP__M_RAW || (c->flags & (RTK_HTTP__C_CLOSING | RTK_HTTP__C_CLOSED)))
        return UV_EPIPE;
    if (len > UINT32_MAX)
        return UV_EINVAL;
    struct rtk_http__wr *w = wr_new(done ? 0 : len);
    w->len = len;
    w->done = done;
    w->arg = arg;
    if (done == NULL)
        memcpy(w->data, data, len);
    return submit_write(c, w, done ? (const char *)data : w->data);
}

int rtk_http_raw_writev(rtk_http_conn *c, const uv_buf_t *bufs, unsigned n,
                        void (*done)(void *arg, int status), void *arg)
{
    if (c->mode != RTK_HTTP__M_RAW || (c->flags & (RTK_HTTP__C_CLOSING | RTK_HTTP__C_CLOSED)))
        return UV_EPIPE;
    /* Nothing waits before it (uv_try_write refuses otherwise): write now, without a request.
     * When the kernel takes it all, as it nearly always does, a broadcast to thousands of
     * peers allocates no write request per peer and leaves nothing for the next loop turn. */
    int sent = uv_try_write((uv_stream_t *)&c->tcp, bufs, n);
    return rtk_http_raw_writev_sent(c, bufs, n, sent, done, arg);
}

int rtk_http_raw_direct_fd(const rtk_http_conn *c)
{
    uv_os_fd_t fd;
    if (c->mode != RTK_HTTP__M_RAW || (c->flags & (RTK_HTTP__C_CLOSING | RTK_HTTP__C_CLOSED)) ||
        uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp) != 0 ||
        uv_fileno((const uv_handle_t *)&c->tcp, &fd) != 0)
        return -1;
    return fd;
}

int rtk_http_raw_writev_sent(rtk_http_conn *c, const uv_buf_t *bufs, unsigned n, ssize_t sent,
                             void (*done)(void *arg, int status), void *arg)
{
    if (c->mode != RTK_HTTP__M_RAW || (c->flags & (RTK_HTTP__C_CLOSING | RTK_HTTP__C_CLOSED)))
        return UV_EPIPE;
    size_t total = 0;
    for (unsigned i = 0; i < n; i++)
        total += bufs[i].len;
    count_out(c, total); /* all of it: what the kernel did not take is queued below */
    if (sent >= 0 && (size_t)sent == total) {
        done(arg, 0);
        return 0;
    }
    if (sent < 0)
        sent = 0; /* EAGAIN, or an error that uv_write reports the usual way */
    uv_buf_t stack[16];
    uv_buf_t *rest = n <= 16 ? stack : rtk_xmalloc(n * sizeof(*rest));
    unsigned k = 0;
    size_t skip = (size_t)sent;
    for (unsigned i = 0; i < n; i++) {
        size_t s = skip < bufs[i].len ? skip : bufs[i].len;
        skip -= s;
        if (bufs[i].len > s)
            rest[k++] = uv_buf_init(bufs[i].base + s, (unsigned)(bufs[i].len - s));
    }
    struct rtk_http__wr *w = wr_new(0);
    w->len = total - (size_t)sent;
    w->done = done;
    w->arg = arg;
    w->w.data = c;
    int rc = uv_write(&w->w, (uv_stream_t *)&c->tcp, rest, k, on_written);
    if (rest != stack)
        free(rest);
    if (rc != 0)
        free(w);
    return rc;
}

size_t rtk_http_raw_write_queue_size(const rtk_http_conn *c)
{
    return uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp);
}

void rtk_http_raw_pause(rtk_http_conn *c, int paused)
{
    if (c->mode != RTK_HTTP__M_RAW || (c->flags & (RTK_HTTP__C_CLOSING | RTK_HTTP__C_CLOSED)))
        return;
    if (paused) {
        c->flags |= RTK_HTTP__C_PAUSED;
        read_stop(c);
        return;
    }
    c->flags &= ~RTK_HTTP__C_PAUSED;
    if (c->list == RTK_HTTP__L_DEFER)
        return; /* raw_deferred starts reading after delivering what waits */
    if (c->t.leftover)
        list_put(server_of(c), c, RTK_HTTP__L_DEFER);
    else
        read_start(c);
}

void rtk_http_raw_close(rtk_http_conn *c)
{
    if (c->mode != RTK_HTTP__M_RAW)
        return;
    begin_close(c);
}

void rtk_http_raw_close_awaiting(rtk_http_conn *c)
{
    if (c->mode != RTK_HTTP__M_RAW)
        return;
    begin_close_ex(c, 1);
}

size_t rtk_http_conn_size(void)
{
    return sizeof(struct rtk_http_conn);
}

/* ---- who answers a request ---------------------------------------------------------------- */

static const rtk_http_owner conn_owner = {conn_respond, conn_upgrade};

void rtk_http_respond(rtk_http_req *req, int status, const char *content_type, const char *headers,
                      const void *body, size_t len)
{
    rtk_h1_req *r = rtk_h1_req_of(req);
    r->owner->respond(r, status, content_type, headers, body, len);
}

int rtk_http_upgrade(rtk_http_req *req, const void *head, size_t head_len,
                     const rtk_http_raw_cbs *cbs, void *user, rtk_http_conn **out)
{
    rtk_h1_req *r = rtk_h1_req_of(req);
    return r->owner->upgrade(r, head, head_len, cbs, user, out);
}
