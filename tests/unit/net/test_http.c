/* SPDX-License-Identifier: MIT */
/* test_http.c - the HTTP/1.1 connection layer over real loopback sockets (parsing itself is
 * test_h1.c's, without sockets). */
#define _GNU_SOURCE /* memmem, strcasestr */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "net/rtk_http.h"
#include "net/rtk_http_int.h"
#include "support/http_fake.h"
#include "util/rtk_err.h"

/*
 * The server's loop runs in its own thread; the test thread is the client, with blocking
 * sockets and receive timeouts. The two talk only through fx_call/fx_request_stop (an
 * uv_async_t plus a mutex), and through what the loop thread leaves in the fixture, which
 * the test reads after joining it. cmocka assertions run on the test thread only.
 */

struct fx {
    uv_loop_t loop;
    uv_thread_t thread;
    uv_async_t async;
    uv_mutex_t mu;
    uv_cond_t cv;
    void (*call_fn)(struct fx *fx);
    int call_done;
    int stop_req;
    rtk_http_server *srv;
    int port;
    /* written by the loop thread */
    int stopped;
    int raw_closed;
    int raw_stopped;
    int writes_done;
    char order[256]; /* handlers' respond order, one letter per request */
    size_t idle_conns, idle_with_state, raw_conns, raw_with_state;
    int nbig;
    size_t max_unsent;
    int blocked;
    uint64_t trim_at;
};

/* ---- loop-thread side --------------------------------------------------------------------- */

static void note_order(struct fx *fx, const rtk_http_req *req)
{
    size_t n = strlen(fx->order);
    const char *p = req->path;
    if (n + 1 < sizeof(fx->order))
        fx->order[n] = p[req->path_len - 1]; /* last letter of the path */
}

static void respond_echo(rtk_http_req *req)
{
    struct fx *fx = req->server_data;
    unsigned sum = 0;
    for (size_t i = 0; i < req->body_len; i++)
        sum += (unsigned char)req->body[i];
    char body[512];
    int n = snprintf(body, sizeof(body), "%s %s %s %zu %u 1.%d", req->method_str, req->path,
                     req->query ? req->query : "-", req->body_len, sum, req->http_minor);
    note_order(fx, req);
    rtk_http_respond(req, 200, "text/plain", "X-Test: 1\r\n", body, (size_t)n);
}

struct later {
    uv_timer_t timer;
    rtk_http_req *req;
};

static void on_later_closed(uv_handle_t *h)
{
    free(h->data);
}

static void on_later(uv_timer_t *t)
{
    struct later *l = t->data;
    respond_echo(l->req);
    uv_close((uv_handle_t *)t, on_later_closed);
}

static unsigned query_ms(const rtk_http_req *req)
{
    const char *q = req->query ? strstr(req->query, "ms=") : NULL;
    return q ? (unsigned)atoi(q + 3) : 100;
}

static const char ws_head[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                              "Connection: Upgrade\r\n\r\n";

struct unpause {
    uv_timer_t timer;
    rtk_http_conn *conn;
};

static void on_unpause(uv_timer_t *t)
{
    struct unpause *u = t->data;
    rtk_http_raw_pause(u->conn, 0);
    uv_close((uv_handle_t *)t, on_later_closed);
}

#define BIGV_PART (3 * 1024 * 1024)
static unsigned char bigv_data[3 * BIGV_PART]; /* byte i is i % 251 */

static void on_bigv_written(void *arg, int status)
{
    struct fx *fx = arg;
    if (status == 0)
        fx->writes_done++;
}

static void raw_on_read(rtk_http_conn *conn, void *user, ssize_t nread, const char *data)
{
    struct fx *fx = user;
    if (nread <= 0)
        return;
    if (nread >= 5 && memcmp(data, "pause", 5) == 0) {
        /* Stop reading for 100 ms; what the client sends meanwhile waits in the kernel. */
        struct unpause *u = calloc(1, sizeof(*u));
        u->conn = conn;
        uv_timer_init(&fx->loop, &u->timer);
        u->timer.data = u;
        uv_timer_start(&u->timer, on_unpause, 100, 0);
        rtk_http_raw_pause(conn, 1);
        rtk_http_raw_write(conn, "paused", 6, NULL, NULL);
        return;
    }
    if (nread >= 4 && memcmp(data, "bigv", 4) == 0) {
        /* Three borrowed buffers in one writev, far more than the socket takes at once: the
         * rest is queued from the middle of a buffer and must follow in order. */
        uv_buf_t b[3];
        for (int i = 0; i < 3; i++)
            b[i] = uv_buf_init((char *)bigv_data + (size_t)i * BIGV_PART, BIGV_PART);
        assert_int_equal(rtk_http_raw_writev(conn, b, 3, on_bigv_written, fx), 0);
        return;
    }
    if (nread >= 5 && memcmp(data, "close", 5) == 0) {
        rtk_http_raw_close_awaiting(conn); /* as rtk_http_raw_close without is_last */
        return;
    }
    rtk_http_raw_write(conn, data, (size_t)nread, NULL, NULL); /* echo, copied */
}

static void raw_on_close(rtk_http_conn *conn, void *user)
{
    struct fx *fx = user;
    (void)conn;
    fx->raw_closed++;
}

static void raw_on_stop(rtk_http_conn *conn, void *user)
{
    struct fx *fx = user;
    fx->raw_stopped++;
    rtk_http_raw_write(conn, "bye", 3, NULL, NULL);
    rtk_http_raw_close(conn);
}

static const rtk_http_raw_cbs raw_cbs = {raw_on_read, raw_on_close, raw_on_stop, NULL};

/* For /ws-last: "LAST" is the peer's last message after our close (like a close frame). */
static int raw_is_last(const char *data, size_t len)
{
    return len == 4 && memcmp(data, "LAST", 4) == 0;
}

static const rtk_http_raw_cbs raw_cbs_last = {raw_on_read, raw_on_close, raw_on_stop, raw_is_last};

static void on_hello_written(void *arg, int status)
{
    struct fx *fx = arg;
    if (status == 0)
        fx->writes_done++;
}

/* Lists what the request carried: "path|query|ip|Host lookup|name=value|...". */
static void respond_headers(rtk_http_req *req)
{
    char body[2048];
    size_t host_len = 0;
    const char *host = rtk_http_req_header(req, "hOsT", &host_len);
    int n = snprintf(body, sizeof(body), "%s|%s|%s|%.*s|", req->path, req->query ? req->query : "-",
                     req->remote_ip, (int)host_len, host ? host : "");
    for (size_t i = 0; i < req->nheaders && n < (int)sizeof(body); i++) {
        const rtk_http_header *h = &req->headers[i];
        /* cmocka asserts only on the test thread: a wrong length shows in the body instead */
        int ok = strlen(h->name) == h->name_len && strlen(h->value) == h->value_len;
        n += snprintf(body + n, sizeof(body) - (size_t)n, "%s=%s|%s", h->name, h->value,
                      ok ? "" : "BAD-LENGTH|");
    }
    rtk_http_respond(req, 200, "text/plain", NULL, body, strlen(body));
}

static void handler(rtk_http_req *req)
{
    struct fx *fx = req->server_data;
    if (strncmp(req->path, "/hdrs", 5) == 0 || strcmp(req->path, "*") == 0) {
        respond_headers(req);
        return;
    }
    if ((strcmp(req->path, "/ws") == 0 || strcmp(req->path, "/ws-last") == 0) && req->is_upgrade) {
        rtk_http_conn *conn;
        const rtk_http_raw_cbs *cbs = req->path[3] == '-' ? &raw_cbs_last : &raw_cbs;
        if (rtk_http_upgrade(req, ws_head, sizeof(ws_head) - 1, cbs, fx, &conn) == 0) {
            static const char hello[] = "hello:"; /* borrowed, with a completion callback */
            rtk_http_raw_write(conn, hello, sizeof(hello) - 1, on_hello_written, fx);
        }
        return;
    }
    if (strcmp(req->path, "/ws-deny") == 0) {
        static const char err[] = "{\"success\":false,\"error\":{\"code\":401,\"message\":\"no\"}}";
        rtk_http_respond(req, 401, "application/json", NULL, err, sizeof(err) - 1);
        return;
    }
    if (strcmp(req->path, "/big") == 0) {
        size_t n = (size_t)atoi(req->query + 3) * 1024; /* kb=N */
        char *big = malloc(n);
        memset(big, 'z', n);
        fx->nbig++;
        rtk_http_respond(req, 200, "text/plain", NULL, big, n);
        free(big);
        return;
    }
    if (strncmp(req->path, "/slow", 5) == 0) {
        struct later *l = calloc(1, sizeof(*l));
        l->req = req;
        uv_timer_init(&fx->loop, &l->timer);
        l->timer.data = l;
        uv_timer_start(&l->timer, on_later, query_ms(req), 0);
        return;
    }
    respond_echo(req);
}

static void on_stopped(void *arg)
{
    struct fx *fx = arg;
    fx->stopped = 1;
}

static void on_async(uv_async_t *a)
{
    struct fx *fx = a->data;
    uv_mutex_lock(&fx->mu);
    void (*fn)(struct fx *) = fx->call_fn;
    int stop = fx->stop_req;
    fx->call_fn = NULL;
    fx->stop_req = 0;
    uv_mutex_unlock(&fx->mu);
    if (fn) {
        fn(fx);
        uv_mutex_lock(&fx->mu);
        fx->call_done = 1;
        uv_cond_signal(&fx->cv);
        uv_mutex_unlock(&fx->mu);
    }
    if (stop) {
        rtk_http_server_stop(fx->srv, on_stopped, fx);
        uv_close((uv_handle_t *)&fx->async, NULL);
    }
}

static void run_loop(void *arg)
{
    struct fx *fx = arg;
    uv_run(&fx->loop, UV_RUN_DEFAULT);
}

/* ---- test-thread side --------------------------------------------------------------------- */

static void fx_start_on(struct fx *fx, const char *host, const rtk_http_config *cfg)
{
    memset(fx, 0, sizeof(*fx));
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    uv_mutex_init(&fx->mu);
    uv_cond_init(&fx->cv);
    uv_async_init(&fx->loop, &fx->async, on_async);
    fx->async.data = fx;
    assert_int_equal(rtk_http_server_start(&fx->loop, host, 0, cfg, handler, fx, &fx->srv), 0);
    fx->port = rtk_http_server_port(fx->srv);
    assert_true(fx->port > 0);
    assert_int_equal(uv_thread_create(&fx->thread, run_loop, fx), 0);
}

static void fx_start(struct fx *fx, const rtk_http_config *cfg)
{
    fx_start_on(fx, "127.0.0.1", cfg);
}

/* Runs |fn| on the loop thread and waits for it. */
static void fx_call(struct fx *fx, void (*fn)(struct fx *))
{
    uv_mutex_lock(&fx->mu);
    fx->call_fn = fn;
    fx->call_done = 0;
    uv_mutex_unlock(&fx->mu);
    uv_async_send(&fx->async);
    uv_mutex_lock(&fx->mu);
    while (!fx->call_done)
        uv_cond_wait(&fx->cv, &fx->mu);
    uv_mutex_unlock(&fx->mu);
}

static void fx_request_stop(struct fx *fx)
{
    uv_mutex_lock(&fx->mu);
    fx->stop_req = 1;
    uv_mutex_unlock(&fx->mu);
    uv_async_send(&fx->async);
}

/* Waits for the loop to end (it ends once the server has stopped) and checks that nothing
 * was left open on it. */
static void fx_join(struct fx *fx)
{
    assert_int_equal(uv_thread_join(&fx->thread), 0);
    assert_int_equal(fx->stopped, 1);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    uv_mutex_destroy(&fx->mu);
    uv_cond_destroy(&fx->cv);
}

static void fx_stop(struct fx *fx)
{
    fx_request_stop(fx);
    fx_join(fx);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct client {
    int fd;
    size_t len;
    char buf[(1 << 16) + 1];
};

static int cli_connect(struct client *c, int port)
{
    c->len = 0;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        int e = errno;
        close(c->fd);
        c->fd = -1;
        return -e;
    }
    struct timeval tv = {5, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return 0;
}

/* Like cli_connect, from the loopback address |from| (127.0.0.0/8 is all loopback on Linux). */
static int cli_connect_from(struct client *c, int port, const char *from)
{
    c->len = 0;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in l = {.sin_family = AF_INET};
    inet_pton(AF_INET, from, &l.sin_addr);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (bind(c->fd, (struct sockaddr *)&l, sizeof(l)) != 0 ||
        connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        int e = errno;
        close(c->fd);
        c->fd = -1;
        return -e;
    }
    struct timeval tv = {5, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    return 0;
}

static void cli_send(struct client *c, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        assert_true(n > 0);
        p += n;
        len -= (size_t)n;
    }
}

static void cli_sends(struct client *c, const char *s)
{
    cli_send(c, s, strlen(s));
}

static ssize_t cli_fill(struct client *c)
{
    if (c->len == sizeof(c->buf) - 1)
        return -1;
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, 0);
    if (n > 0)
        c->len += (size_t)n;
    return n < 0 ? -errno : n;
}

static void cli_consume(struct client *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

static void cli_close(struct client *c)
{
    close(c->fd);
    c->fd = -1;
}

struct resp {
    int status;
    char head[4096];
    char body[8192];
    size_t body_len;
};

/* Reads one response. Returns 0, -1 on EOF before any byte, or another negative value (a
 * negated errno such as -ECONNRESET, or -2 for EOF inside the response). */
static int cli_response(struct client *c, struct resp *r)
{
    memset(r, 0, sizeof(*r));
    for (;;) {
        char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (end) {
            size_t hlen = (size_t)(end - c->buf) + 4;
            assert_true(hlen < sizeof(r->head));
            memcpy(r->head, c->buf, hlen);
            r->status = atoi(r->head + 9);
            const char *cl = strcasestr(r->head, "\r\nContent-Length:");
            size_t blen = cl ? (size_t)atol(cl + 17) : 0;
            assert_true(blen < sizeof(r->body));
            while (c->len < hlen + blen) {
                ssize_t n = cli_fill(c);
                if (n <= 0)
                    return n == 0 ? -2 : (int)n;
            }
            memcpy(r->body, c->buf + hlen, blen);
            r->body_len = blen;
            cli_consume(c, hlen + blen);
            return 0;
        }
        ssize_t n = cli_fill(c);
        if (n == 0)
            return c->len ? -2 : -1;
        if (n < 0)
            return (int)n;
    }
}

static int has_header(const struct resp *r, const char *line)
{
    return strcasestr(r->head, line) != NULL;
}

/* Expects the server to close: EOF with no further byte. */
static void expect_eof(struct client *c)
{
    assert_int_equal(c->len, 0);
    ssize_t n = cli_fill(c);
    assert_int_equal(n, 0);
}

static void get_ok(struct client *c, const char *path, const char *expect_body)
{
    char req[256];
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);
    cli_sends(c, req);
    struct resp r;
    assert_int_equal(cli_response(c, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, expect_body);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void http_simple_get(void **state)
{
    (void)state;
    struct fx fx;
    struct client c;
    fx_start(&fx, NULL);
    assert_int_equal(cli_connect(&c, fx.port), 0);
    cli_sends(&c, "GET /v1/hello?x=1&y=%20 HTTP/1.1\r\nHost: t\r\nX-Empty:\r\n\r\n");
    struct resp r;
    assert_int_equal(cli_response(&c, &r), 0);
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.head, "HTTP/1.1 200 OK\r\n", 17);
    assert_string_equal(r.body, "GET /v1/hello x=1&y=%20 0 0 1.1");
    assert_true(has_header(&r, "\r\nContent-Type: text/plain\r\n"));
    char cl[64];
    snprintf(cl, sizeof(cl), "\r\nContent-Length: %zu\r\n", strlen(r.body));
    assert_true(has_header(&r, cl));
    assert_true(has_header(&r, "\r\nConnection: keep-alive\r\n"));
    assert_true(has_header(&r, "\r\nServer: rtkd\r\n"));
    assert_true(has_header(&r, "\r\nDate: "));
    assert_true(has_header(&r, "\r\nX-Test: 1\r\n"));
    cli_close(&c);
    fx_stop(&fx);
}

static void http_keepalive_two_requests(void **state)
{
    (void)state;
    struct fx fx;
    struct client c;
    fx_start(&fx, NULL);
    assert_int_equal(cli_connect(&c, fx.port), 0);
    get_ok(&c, "/a", "GET /a - 0 0 1.1");
    get_ok(&c, "/b?q", "GET /b q 0 0 1.1");
    /* HEAD: the same head with its Content-Length, and no body, so the next response follows
     * the blank line directly. */
    cli_sends(&c, "HEAD /h HTTP/1.1\r\nHost: t\r\n\r\nGET /after HTTP/1.1\r\nHost: t\r\n\r\n");
    while (!memmem(c.buf, c.len, "GET /after - 0 0 1.1", 20))
        assert_true(cli_fill(&c) > 0);
    c.buf[c.len] = '\0';
    assert_non_null(strstr(c.buf, "Content-Length: 17\r\n"));
    assert_non_null(strstr(c.buf, "\r\n\r\nHTTP/1.1 200 OK\r\n"));
    cli_close(&c);
    fx_stop(&fx);
}

static void http_pipelined_in_order(void **state)
{
    (void)state;
    struct fx fx;
    struct client c;
    fx_start(&fx, NULL);
    assert_int_equal(cli_connect(&c, fx.port), 0);
    /* The first is answered 150 ms later, the other two at once: the wire order must still
     * be the request order. */
    cli_sends(&c, "GET /slow?ms=150 HTTP/1.1\r\nHost: t\r\n\r\n"
                  "POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
                  "GET /b HTTP/1.1\r\nHost: t\r\n\r\n");
    struct resp r;
    assert_int_equal(cli_response(&c, &r), 0);
    assert_string_equal(r.body, "GET /slow ms=150 0 0 1.1");
    assert_int_equal(cli_response(&c, &r), 0);
    assert_string_equal(r.body, "POST /a - 3 294 1.1");
    assert_int_equal(cli_response(&c, &r), 0);
    assert_string_equal(r.body, "GET /b - 0 0 1.1");
    get_ok(&c, "/c", "GET /c - 0 0 1.1");
    cli_close(&c);
    fx_stop(&fx);
    assert_string_equal(fx.order, "abwc"); /* handlers answered a, b before /slow */
}

static void http_pipeline_backpressure(void **state)
{
    (void)state;
    struct fx fx;
    struct client c;
    fx_start(&fx, NULL);
    assert_int_equal(cli_connect(&c, fx.port), 0);
    /* 80 deferred requests in one write: more than RTK_HTTP__MAX_PIPELINE, so the server must
     * stash the rest, stop reading and resume as answers drain. */
    char req[64], all[80 * 64];
    size_t len = 0;
    for (int i = 0; i < 80; i++) {
        int n =
            snprintf(req, sizeof(req), "GET /slow%d?ms=%d HTTP/1.1\r\nHost: t\r\n\r\n", i % 10, 20 - i % 7);
        memcpy(all + len, req, (size_t)n);
        len += (size_t)n;
    }
    cli_send(&c, all, len);
    for (int i = 0; i < 80; i++) {
        struct resp r;
        char want[64];
        assert_int_equal(cli_response(&c, &r), 0);
        snprintf(want, sizeof(want), "GET /slow%d ms=%d 0 0 1.1", i % 10, 20 - i % 7);
        assert_string_equal(r.body, want);
    }
    cli_close(&c);
    fx_stop(&fx);
}

static void http_chunked_body(void **state)
{
    (void)state;
    struct fx fx;
    struct client c;
    fx_start(&fx, NULL);
    assert_int_equal(cli_connect(&c, fx.port), 0);
    cli_sends(&c, "POST /chunk HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    sleep_ms(20);
    cli_sends(&c, "1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nTrailer: x\r\n\r\n");
    struct resp r;
    unsigned sum = 0;
    for (const char *p = "hello world!"; *p; p++)
        sum += (unsigned char)*p;
    char want[64];
    snprintf(want, sizeof(want), "POST /chunk - 12 %u 1.1", sum);
    assert_int_equal(cli_response(&c, &r), 0);
    assert_string_equal(r.body, want);
    get_ok(&c, "/next", "GET /next - 0 0 1.1");
    cli_close(&c);
    fx_stop(&fx);
}

static void expect_error(struct client *c, int status, const char *message)
{
    struct resp r;
    char want[160];
    assert_int_equal(cli_response(c, &r), 0);
    assert_int_equal(r.status, status);
    assert_true(has_header(&r, "\r\nContent-Type: application/json\r\n"));
    assert_true(has_header(&r, "\r\nConnection: close\r\n"));
    snprintf(want, sizeof(want), "{\"success\":false,\"error\":{\"code\":%d,\"message\":\"%s\"}}",
             status, message);
    assert_string_equal(r.body, want);
    expect_eof(c);
}

static void http_431_readable_while_client_sends(void **state)
{
    (void)state;
    struct fx fx;
    struct client c;
    fx_start(&fx, NULL);
    assert_int_equal(cli_connect(&c, fx.port), 0);
    cli_sends(&c, "GET / HTTP/1.1\r\nHost: t\r\nX-Big: ");
    /* Past the limit; then, once the server has surely answered, keep sending. A server that
     * closed right after answering would make these sends fail or reset the connection
     * before the client reads the answer; a lingering close drains them. */
    char junk[4096];
    memset(junk, 'a', sizeof(junk));
    for (int i = 0; i < 5; i++)
        cli_send(&c, junk, sizeof(junk));
    sleep_ms(100);
    for (int i = 0; i < 64; i++)
        cli_send(&c, junk, sizeof(junk));
    expect_error(&c, 431, "Request header fields too large");
    cli_close(&c);

    /* Many small headers past the limit too; a head under the limit in two pieces is fine. */
    assert_int_equal(cli_connect(&c, fx.port), 0);
    cli_sends(&c, "GET /ok HTTP/1.1\r\nHost: t\r\nX-A: ");
    memset(junk, 'b', 3000);
    cli_send(&c, junk, 3000);
    sleep_ms(10);
    cli_send(&c, junk, 3000);
    cli_sends(&c, "\r\n\r\n");
    struct resp r;
    assert_int_equal(cli_response(&c, &r), 0);
    assert_int_equal(r.status, 200);
    cli_sends(&c, "GET /many HTTP/1.1\r\nHost: t\r\n");
    for (int i = 0; i < 3000; i++)
        cli_sends(&c, "X: y\r\n");
    expect_error(&c, 431, "Request header fields too large");
    cli_close(&c);
    fx_stop(&fx);
}

static void http_413(void **state)
{
    (void)state;
    struct fx fx;
    struct client c;
    fx_start(&fx, NULL);
    /* Declared too large: refused before any body byte (and without a 100 Continue). */
    assert_int_equal(cli_connect(&c, fx.port), 0);
    cli_sends(&c, "POST /big HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 1048577\r\n\r\n");
    expect_error(&c, 413, "Request body too large");
    cli_close(&c);
    /* Declared too large and sent anyway (a client that does not wait for an answer): the
     * whole upload is drained while lingering, so the answer is still readable after it, not
     * destroyed by a reset (the sends here would fail with EPIPE first). 16 MiB: more than
     * loopback socket buffers hold, so the server must really read it. */
    assert_int_equal(cli_connect(&c, fx.port), 0);
    cli_sends(&c, "POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 16777216\r\n\r\n");
    static char body[1024 * 1024];
    memset(body, ' ', sizeof(body));
    for (int i = 0; i < 16; i++)
        cli_send(&c, body, sizeof(body));
    sleep_ms(200);
    expect_error(&c, 413, "Request body too large");
    cli_close(&c);
    /* Exactly the limit is fine. */
    assert_int_equal(cli_connect(&c, fx.port), 0);
    memset(body, 1, sizeof(body));
    cli_sends(&c, "POST /max HTTP/1.1\r\nHost: t\r\nContent-Length: 1048576\r\n\r\n");
    cli_send(&c, body, sizeof(body));
    struct resp r;
    assert_int_equal(cli_response(&c, &r), 0);
    assert_string_equal(r.body, "POST /max - 1048576 1048576 1.1");
    cli_close(&c);
    /* Chunked: refused as it accumulates past the limit. */
    assert_int_equal(cli_connect(&c, fx.port), 0);
    cli_sends(&c, "POST /chunks HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 5; i++) {
        cli_sends(&c, "40000\r\n"); /* 256 KiB */
        cli_send(&c, body, 0x40000);
        cli_sends(&c, "\r\n");
    }
    expect_error(&c, 413, "Request body too large");
    cli_close(&c);
    fx_stop(&fx);
}

static void http_expect_continue(void **state)
{
    (void)state;
    struct fx fx;
    struct client c;
    fx_start(&fx, NULL);
    assert_int_equal(cli_connect(&c, fx.port), 0);
    cli_sends(&c, "PUT /e HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
    struct resp r;
    assert_int_equal(cli_response(&c, &r), 0);
    assert_int_equal(r.status, 100);
    cli_sends(&c, "ok");
    assert_int_equal(cli_response(&c, &r), 0);
    assert_string_equal(r.body, "PUT /e - 2 218 1.1");
    cli_close(&c);
    fx_stop(&fx);
}

static void http_408_slow_head(void **state)
{
    (void)state;
    struct fx fx;
    struct client c;
    rtk_http_config cfg = {.head_timeout_ms = 200, .keepalive_timeout_ms = 300};
    fx_start(&fx, &cfg);
    assert_int_equal(cli_connect(&c, fx.port), 0);
    uint64_t t0 = now_ms();
    cli_sends(&c, "GET /slowloris HTTP/1.1\r\nHost: x\r\n");
    expect_error(&c, 408, "Request timeout");
    uint64_t took = now_ms() - t0;
    assert_true(took >= 150 && took < 2000);
    cli_close(&c);
    /* A body that stops arriving gets the same answer. */
    assert_int_equal(cli_connect(&c, fx.port), 0);
    cli_sends(&c, "POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
    expect_error(&c, 408, "Request timeout");
    cli_close(&c);
    /* A connection that never sends a byte gets the same answer after the head timeout. */
    assert_int_equal(cli_connect(&c, fx.port), 0);
    t0 = now_ms();
    expect_error(&c, 408, "Request timeout");
    took = now_ms() - t0;
    assert_true(took >= 150 && took < 2000);
    cli_close(&c);
    /* An idle keep-alive connection is closed after keepalive_timeout_ms, quietly. */
    assert_int_equal(cli_connect(&c, fx.port), 0);
    get_ok(&c, "/k", "GET /k - 0 0 1.1");
    t0 = now_ms();
    expect_eof(&c);
    took = now_ms() - t0;
    assert_true(took >= 250 && took < 2000);
    cli_close(&c);
    fx_stop(&fx);
}

/* A body that trickles in, one byte just before each head_timeout_ms, is still refused at
 * body_timeout_ms after its head: the deadline is total, not per read. Others are served
 * meanwhile and after. */
static void http_408_body_deadline(void **state)
{
    (void)state;
    struct fx fx;
    struct client c, other;
    rtk_http_config cfg = {.head_timeout_ms = 400, .body_timeout_ms = 1200};
    fx_start(&fx, &cfg);
    assert_int_equal(cli_connect(&c, fx.port), 0);
    assert_int_equal(cli_connect(&other, fx.port), 0);
    cli_sends(&c, "POST /trickle HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nab");
    uint64_t t0 = now_ms();
    int answered = 0;
    while (!answered && now_ms() - t0 < 4000) {
        struct pollfd p = {.fd = c.fd, .events = POLLIN};
        answered = poll(&p, 1, 250) == 1;
        if (!answered) {
            cli_sends(&c, "x"); /* a byte every 250 ms: never idle for head_timeout_ms */
            get_ok(&other, "/meanwhile", "GET /meanwhile - 0 0 1.1");
        }
    }
    uint64_t took = now_ms() - t0;
    assert_true(answered);
    expect_error(&c, 408, "Request timeout");
    assert_true(took >= 1000 && took < 2500);
    cli_close(&c);
    get_ok(&other, "/after", "GET /after - 0 0 1.1");
    cli_close(&other);
    /* A body that arrives within the deadline is served. */
    assert_int_equal(cli_connect(&c, fx.port), 0);
    cli_sends(&c, "POST /ok HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\na");
    sleep_ms(300);
    cli_sends(&c, "bc");
    struct resp r;
    assert_int_equal(cli_response(&c, &r), 0);
    assert_string_equal(r.body, "POST /ok - 3 294 1.1");
    cli_close(&c);
    fx_stop(&fx);
}

/* Starts a body of |declared| bytes on a new connection from |from| and sends its first
 * byte; the rest never comes unless the test sends it. */
static void start_body(struct fx *fx, struct client *c, const char *from, size_t declared)
{
    char head[128];
    assert_int_equal(cli_connect_from(c, fx->port, from), 0);
    snprintf(head, sizeof(head), "POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\nx",
             declared);
    cli_sends(c, head);
}

/* Sends the |declared| - 1 bytes start_body left out and reads the echo. */
static void finish_body(struct client *c, size_t declared)
{
    static char rest[100000];
    memset(rest, 'y', sizeof(rest));
    assert_true(declared - 1 <= sizeof(rest));
    cli_send(c, rest, declared - 1);
    struct resp r;
    char want[64];
    unsigned sum = 'x' + (unsigned)(declared - 1) * 'y';
    assert_int_equal(cli_response(c, &r), 0);
    snprintf(want, sizeof(want), "POST /b - %zu %u 1.1", declared, sum);
    assert_string_equal(r.body, want);
}

/* Expects a cap's refusal: |status| with Retry-After in the envelope, then the close. */
static void expect_busy(struct client *c, int status, const char *message)
{
    struct resp r;
    char want[160];
    assert_int_equal(cli_response(c, &r), 0);
    assert_int_equal(r.status, status);
    assert_true(has_header(&r, "\r\nRetry-After: 1\r\n"));
    assert_true(has_header(&r, "\r\nConnection: close\r\n"));
    snprintf(want, sizeof(want), "{\"success\":false,\"error\":{\"code\":%d,\"message\":\"%s\"}}",
             status, message);
    assert_string_equal(r.body, want);
    expect_eof(c);
}

/* Bodies still being read may hold max_body_mem_per_ip per client address and max_body_mem
 * in all: a body that would go over gets 429 (its address) or 503 (everyone), with
 * Retry-After; the others complete, and room is given back when a body completes. */
static void http_body_memory_caps(void **state)
{
    (void)state;
    struct fx fx;
    struct client a, b, c, d, e, g;
    rtk_http_config cfg = {.max_body_mem_per_ip = 100000, .max_body_mem = 250000};
    fx_start(&fx, &cfg);
    /* Per address: 40 + 40 KB declared fit, 40 more do not. */
    start_body(&fx, &a, "127.0.0.1", 40000);
    start_body(&fx, &b, "127.0.0.1", 40000);
    start_body(&fx, &c, "127.0.0.1", 40000);
    expect_busy(&c, 429, "Too many request bodies in progress from this address");
    cli_close(&c);
    /* Another address is not held back by it. */
    start_body(&fx, &d, "127.0.0.2", 90000);
    /* A chunked body counts as it grows: 64 KB more from 127.0.0.2 is over its cap. */
    assert_int_equal(cli_connect_from(&e, fx.port, "127.0.0.2"), 0);
    cli_sends(&e, "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n10000\r\n");
    static char chunk[0x10000];
    memset(chunk, 'z', sizeof(chunk));
    cli_send(&e, chunk, sizeof(chunk));
    expect_busy(&e, 429, "Too many request bodies in progress from this address");
    cli_close(&e);
    /* In all: 80 + 90 KB are held; 90 KB more from a third address is over 250 KB. */
    start_body(&fx, &g, "127.0.0.3", 90000);
    expect_busy(&g, 503, "Too many request bodies in progress");
    cli_close(&g);
    /* The bodies in progress complete; then there is room again. */
    finish_body(&a, 40000);
    finish_body(&b, 40000);
    finish_body(&d, 90000);
    start_body(&fx, &g, "127.0.0.3", 90000);
    finish_body(&g, 90000);
    start_body(&fx, &c, "127.0.0.1", 90000);
    finish_body(&c, 90000);
    get_ok(&a, "/still", "GET /still - 0 0 1.1");
    cli_close(&a);
    cli_close(&b);
    cli_close(&c);
    cli_close(&d);
    cli_close(&g);
    /* Closing a connection mid-body gives its room back too. */
    start_body(&fx, &a, "127.0.0.1", 90000);
    cli_close(&a);
    sleep_ms(100);
    start_body(&fx, &a, "127.0.0.1", 90000);
    finish_body(&a, 90000);
    cli_close(&a);
    fx_stop(&fx);
}

static void read_trim(struct fx *fx)
{
    fx->trim_at = fx->srv->trim_at;
}

/* Once several MiB of large body buffers have been freed, the connection layer gives the
 * memory back (malloc_trim, from its trim timer, at most once a second). */
static void http_gives_body_memory_back(void **state)
{
    (void)state;
    struct fx fx;
    struct client c;
    fx_start(&fx, NULL);
    fx_call(&fx, read_trim);
    assert_int_equal(fx.trim_at, 0);
    static char body[1024 * 1024];
    memset(body, 1, sizeof(body));
    assert_int_equal(cli_connect(&c, fx.port), 0);
    for (int i = 0; i < 5; i++) { /* 5 MiB of bodies, freed as they are answered */
        cli_sends(&c, "POST /max HTTP/1.1\r\nHost: t\r\nContent-Length: 1048576\r\n\r\n");
        cli_send(&c, body, sizeof(body));
        struct resp r;
        assert_int_equal(cli_response(&c, &r), 0);
        assert_string_equal(r.body, "POST /max - 1048576 1048576 1.1");
    }
    uint64_t t0 = now_ms();
    while (fx.trim_at == 0 && now_ms() - t0 < 3000) {
        sleep_ms(50);
        fx_call(&fx, read_trim);
    }
    assert_true(fx.trim_at != 0);
    get_ok(&c, "/after", "GET /after - 0 0 1.1");
    cli_close(&c);
    fx_stop(&fx);
}

/* A burst of connections calls for a trim too, once it has gone quiet: what each connection
 * keeps is in a slab, and the heap its setup went through is mostly free (util/rtk_slab.h). A
 * few connections do not. */
static void http_trims_after_a_burst_of_connections(void **state)
{
    (void)state;
    enum { FEW = 100, BURST = 300 };
    static struct client c[BURST];
    struct fx fx;
    fx_start(&fx, NULL);
    for (int i = 0; i < FEW; i++) {
        assert_int_equal(cli_connect(&c[i], fx.port), 0);
        get_ok(&c[i], "/a", "GET /a - 0 0 1.1");
    }
    sleep_ms(600);
    fx_call(&fx, read_trim);
    assert_int_equal(fx.trim_at, 0);
    for (int i = FEW; i < BURST; i++) {
        assert_int_equal(cli_connect(&c[i], fx.port), 0);
        get_ok(&c[i], "/a", "GET /a - 0 0 1.1");
    }
    uint64_t t0 = now_ms();
    while (fx.trim_at == 0 && now_ms() - t0 < 3000) {
        sleep_ms(20);
        fx_call(&fx, read_trim);
    }
    assert_true(fx.trim_at != 0);
    assert_true(now_ms() - t0 >= 200); /* not before the burst went quiet */
    for (int i = 0; i < BURST; i++)
        cli_close(&c[i]);
    fx_stop(&fx);
}

static void http_400_garbage(void **state)
{
    (void)state;
    struct fx fx;
    struct client c;
    fx_start(&fx, NULL);
    assert_int_equal(cli_connect(&c, fx.port), 0);
    cli_sends(&c, "\x01\x02garbage\r\n\r\n");
    expect_error(&c, 400, "Malformed request");
    cli_close(&c);
    assert_int_equal(cli_connect(&c, fx.port), 0);
    cli_sends(&c, "GET /x HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n");
    expect_error(&c, 400, "Malformed request");
    cli_close(&c);
    /* Request smuggling shape: both Content-Length and chunked. */
    assert_int_equal(cli_connect(&c, fx.port), 0);
    cli_sends(&c, "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n");
    expect_error(&c, 400, "Malformed request");
    cli_close(&c);
    /* An error after a good pipelined request: the good answer first, then the error. */
    assert_int_equal(cli_connect(&c, fx.port), 0);
    cli_sends(&c, "GET /slow?ms=50 HTTP/1.1\r\nHost: t\r\n\r\nBROKEN\r\n\r\n");
    struct resp r;
    assert_int_equal(cli_response(&c, &r), 0);
    assert_string_equal(r.body, "GET /slow ms=50 0 0 1.1");
    assert_true(has_header(&r, "\r\nConnection: keep-alive\r\n"));
    expect_error(&c, 400, "Malformed request");
    cli_close(&c);
    fx_stop(&fx);
}

static void http_10_and_connection_close(void **state)
{
    (void)state;
    struct fx fx;
    struct client c;
    fx_start(&fx, NULL);
    struct resp r;
    assert_int_equal(cli_connect(&c, fx.port), 0);
    cli_sends(&c, "GET /old HTTP/1.0\r\n\r\n");
    assert_int_equal(cli_response(&c, &r), 0);
    assert_string_equal(r.body, "GET /old - 0 0 1.0");
    assert_true(has_header(&r, "\r\nConnection: close\r\n"));
    expect_eof(&c);
    cli_close(&c);

    assert_int_equal(cli_connect(&c, fx.port), 0);
    cli_sends(&c, "GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_int_equal(cli_response(&c, &r), 0);
    assert_true(has_header(&r, "\r\nConnection: keep-alive\r\n"));
    cli_sends(&c, "GET /ka2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_int_equal(cli_response(&c, &r), 0);
    assert_string_equal(r.body, "GET /ka2 - 0 0 1.0");
    cli_close(&c);

    /* Connection: close on 1.1; a pipelined request after it is not served. */
    assert_int_equal(cli_connect(&c, fx.port), 0);
    cli_sends(&c, "GET /bye HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nGET /ignored HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(cli_response(&c, &r), 0);
    assert_string_equal(r.body, "GET /bye - 0 0 1.1");
    assert_true(has_header(&r, "\r\nConnection: close\r\n"));
    expect_eof(&c);
    cli_close(&c);

    /* A client that half-closes after its request still gets the answer. */
    assert_int_equal(cli_connect(&c, fx.port), 0);
    cli_sends(&c, "GET /slow?ms=30 HTTP/1.1\r\nHost: t\r\n\r\n");
    shutdown(c.fd, SHUT_WR);
    assert_int_equal(cli_response(&c, &r), 0);
    assert_string_equal(r.body, "GET /slow ms=30 0 0 1.1");
    assert_true(has_header(&r, "\r\nConnection: close\r\n"));
    expect_eof(&c);
    cli_close(&c);
    fx_stop(&fx);
}

static void count_states(struct fx *fx)
{
    rtk_http_server *srv = fx->srv;
    fx->idle_conns = fx->idle_with_state = fx->raw_conns = fx->raw_with_state = 0;
    for (rtk_http_conn *c = srv->lists[RTK_HTTP__L_IDLE].first; c; c = c->next) {
        fx->idle_conns++;
        if (c->u.http.ps || c->u.http.qhead)
            fx->idle_with_state++;
    }
    for (rtk_http_conn *c = srv->lists[RTK_HTTP__L_RAW].first; c; c = c->next) {
        fx->raw_conns++;
        if (c->t.leftover)
            fx->raw_with_state++;
    }
}

static void http_idle_holds_nothing(void **state)
{
    (void)state;
    struct fx fx;
    struct client c[4];
    fx_start(&fx, NULL);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(cli_connect(&c[i], fx.port), 0);
        cli_sends(&c[i], "POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n12345");
        struct resp r;
        assert_int_equal(cli_response(&c[i], &r), 0);
        assert_int_equal(r.status, 200);
    }
    fx_call(&fx, count_states);
    assert_int_equal(fx.idle_conns, 4);
    assert_int_equal(fx.idle_with_state, 0);
    print_message("per-connection struct: %zu bytes (uv_tcp_t %zu); parse state %zu; request "
                  "block %zu + %zu + %d string bytes; write %zu + bytes\n",
                  rtk_http_conn_size(), sizeof(uv_tcp_t), sizeof(struct rtk_http__ps),
                  sizeof(struct rtk_http__rq), sizeof(rtk_h1_req), 1024,
                  sizeof(struct rtk_http__wr));
    assert_true(rtk_http_conn_size() <= 320);
    for (int i = 0; i < 4; i++)
        cli_close(&c[i]);
    fx_stop(&fx);
}

/* Connects, upgrades at |path| (/ws or /ws-last) and reads the fixture's "hello:". */
static void raw_open(struct fx *fx, struct client *c, const char *path)
{
    struct resp r;
    char req[160];
    snprintf(req, sizeof(req),
             "GET %s HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", path);
    assert_int_equal(cli_connect(c, fx->port), 0);
    cli_sends(c, req);
    assert_int_equal(cli_response(c, &r), 0);
    assert_int_equal(r.status, 101);
    while (c->len < 6)
        assert_true(cli_fill(c) > 0);
    cli_consume(c, 6);
}

static void http_upgrade_raw(void **state)
{
    (void)state;
    struct fx fx;
    struct client c;
    fx_start(&fx, NULL);
    assert_int_equal(cli_connect(&c, fx.port), 0);
    /* Bytes sent right after the head must reach on_read first, then the live ones. */
    cli_sends(&c, "GET /ws?token=t HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\n\r\nEARLY");
    struct resp r;
    assert_int_equal(cli_response(&c, &r), 0);
    assert_int_equal(r.status, 101);
    while (c.len < 11)
        assert_true(cli_fill(&c) > 0);
    assert_memory_equal(c.buf, "hello:EARLY", 11);
    cli_consume(&c, 11);
    cli_sends(&c, "ping");
    while (c.len < 4)
        assert_true(cli_fill(&c) > 0);
    assert_memory_equal(c.buf, "ping", 4);
    cli_consume(&c, 4);
    fx_call(&fx, count_states);
    assert_int_equal(fx.raw_conns, 1);
    assert_int_equal(fx.raw_with_state, 0);
    cli_sends(&c, "close");
    expect_eof(&c);
    cli_close(&c);

    /* A refused upgrade is an ordinary response, and the connection closes after it. */
    assert_int_equal(cli_connect(&c, fx.port), 0);
    cli_sends(&c, "GET /ws-deny HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    assert_int_equal(cli_response(&c, &r), 0);
    assert_int_equal(r.status, 401);
    assert_true(has_header(&r, "\r\nConnection: close\r\n"));
    expect_eof(&c);
    cli_close(&c);

    /* An upgrade pipelined behind a slow request waits for it: the 101 never overtakes. */
    assert_int_equal(cli_connect(&c, fx.port), 0);
    cli_sends(&c, "GET /slow?ms=80 HTTP/1.1\r\nHost: t\r\n\r\n"
                  "GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    assert_int_equal(cli_response(&c, &r), 0);
    assert_string_equal(r.body, "GET /slow ms=80 0 0 1.1");
    assert_int_equal(cli_response(&c, &r), 0);
    assert_int_equal(r.status, 101);
    /* The peer goes away: on_read(UV_EOF), then on_close. */
    cli_close(&c);

    /* Stop: the owner is told (on_stop) and says goodbye before the close. */
    raw_open(&fx, &c, "/ws");
    fx_request_stop(&fx);
    while (c.len < 3)
        assert_true(cli_fill(&c) > 0);
    assert_memory_equal(c.buf, "bye", 3);
    cli_consume(&c, 3);
    expect_eof(&c);
    cli_close(&c);
    fx_join(&fx);
    assert_int_equal(fx.raw_closed, 3);
    assert_int_equal(fx.raw_stopped, 1);
    assert_int_equal(fx.writes_done, 3);
}

/* Waits up to |ms| for the socket to become readable; returns 1 if it did. */
static int cli_readable(struct client *c, int ms)
{
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    return poll(&p, 1, ms) == 1;
}

/* With is_last, a raw close whose bytes are all sent skips shutdown(): no FIN until the
 * peer's last message, then close() at once; anything else falls back to shutdown + linger. */
static void http_raw_close_waits_for_last(void **state)
{
    (void)state;
    struct fx fx;
    struct client c;
    fx_start(&fx, NULL);
    raw_open(&fx, &c, "/ws-last");
    cli_sends(&c, "close");
    assert_false(cli_readable(&c, 300)); /* no FIN yet: waiting for the peer's last message */
    cli_sends(&c, "LAST");
    assert_true(cli_readable(&c, 1000));
    expect_eof(&c);
    cli_close(&c);

    /* Something other than the last message: shutdown now, discard, EOF. */
    raw_open(&fx, &c, "/ws-last");
    cli_sends(&c, "close");
    assert_false(cli_readable(&c, 100));
    cli_sends(&c, "more data");
    assert_true(cli_readable(&c, 1000));
    expect_eof(&c);
    cli_close(&c);

    /* A peer that half-closes first: closed at once (it will send nothing more). */
    raw_open(&fx, &c, "/ws-last");
    shutdown(c.fd, SHUT_WR);
    assert_true(cli_readable(&c, 500));
    expect_eof(&c);
    cli_close(&c);

    /* A peer that never answers is closed when linger_ms (2 s by default) ends. */
    raw_open(&fx, &c, "/ws-last");
    cli_sends(&c, "close");
    assert_true(cli_readable(&c, 5000));
    expect_eof(&c);
    cli_close(&c);
    fx_stop(&fx);
    assert_int_equal(fx.raw_closed, 4);
}

static void http_graceful_stop(void **state)
{
    (void)state;
    struct fx fx;
    struct client idle, busy, late;
    fx_start(&fx, NULL);
    assert_int_equal(cli_connect(&idle, fx.port), 0);
    get_ok(&idle, "/i", "GET /i - 0 0 1.1");
    assert_int_equal(cli_connect(&busy, fx.port), 0);
    cli_sends(&busy, "GET /slow?ms=300 HTTP/1.1\r\nHost: t\r\n\r\n");
    sleep_ms(50); /* let the request reach its handler */
    fx_request_stop(&fx);
    /* The idle connection is closed; the request in flight is answered, then closed, and a
     * request begun after the stop on that connection is not served. */
    expect_eof(&idle);
    cli_sends(&busy, "GET /after-stop HTTP/1.1\r\nHost: t\r\n\r\n");
    struct resp r;
    assert_int_equal(cli_response(&busy, &r), 0);
    assert_string_equal(r.body, "GET /slow ms=300 0 0 1.1");
    assert_true(has_header(&r, "\r\nConnection: close\r\n"));
    expect_eof(&busy);
    /* Nothing listens any more. */
    assert_int_equal(cli_connect(&late, fx.port), -ECONNREFUSED);
    cli_close(&idle);
    cli_close(&busy);
    fx_join(&fx);
}

static void http_access_log(void **state)
{
    (void)state;
    char path[] = "/tmp/rtk_http_logXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    int saved = dup(2);
    dup2(fd, 2);
    struct fx fx;
    struct client c;
    rtk_http_config cfg = {.access_log = 1};
    fx_start(&fx, &cfg);
    assert_int_equal(cli_connect(&c, fx.port), 0);
    get_ok(&c, "/logged?token=secret", "GET /logged token=secret 0 0 1.1");
    cli_close(&c);
    fx_stop(&fx);
    dup2(saved, 2);
    close(saved);
    char buf[1024] = {0};
    assert_true(pread(fd, buf, sizeof(buf) - 1, 0) > 0);
    close(fd);
    unlink(path);
    assert_non_null(
        strstr(buf, "access ip=127.0.0.1 method=GET path=/logged status=200 bytes=32 ms="));
    assert_null(strstr(buf, "secret"));
}

static void http_start_errors(void **state)
{
    (void)state;
    uv_loop_t loop;
    rtk_http_server *a, *b;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(rtk_http_server_start(&loop, "localhost", 0, NULL, handler, NULL, &b),
                     RTK_EINVAL);
    assert_null(b);
    assert_int_equal(rtk_http_server_start(&loop, "127.0.0.1", 0, NULL, handler, NULL, &a), 0);
    assert_int_equal(
        rtk_http_server_start(&loop, "127.0.0.1", rtk_http_server_port(a), NULL, handler, NULL, &b),
        -EADDRINUSE);
    rtk_http_server_stop(a, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_string_equal(rtk_http_status_text(404), "Not Found");
    assert_string_equal(rtk_http_status_text(431), "Request Header Fields Too Large");
    assert_string_equal(rtk_http_status_text(799), "Unknown");
}

static void http_headers_and_targets(void **state)
{
    (void)state;
    struct fx fx;
    struct client c;
    struct resp r;
    fx_start(&fx, NULL);
    assert_int_equal(cli_connect(&c, fx.port), 0);
    cli_sends(&c, "GET /hdrs/a?b=c#frag HTTP/1.1\r\nHost: example.test\r\nX-Empty:\r\n"
                  "X-Fold: one\r\n  two\r\nx-lower:  padded  \r\n\r\n");
    assert_int_equal(cli_response(&c, &r), 0);
    assert_string_equal(r.body, "/hdrs/a|b=c|127.0.0.1|example.test|Host=example.test|X-Empty=|"
                                "X-Fold=one  two|x-lower=padded|");
    /* An HTTP/1.1 request without Host is refused (RFC 9112 3.2); HTTP/1.0 needs none. */
    cli_sends(&c, "GET /nohost HTTP/1.1\r\n\r\n");
    assert_int_equal(cli_response(&c, &r), 0);
    assert_int_equal(r.status, 400);
    cli_close(&c);
    assert_int_equal(cli_connect(&c, fx.port), 0);
    cli_sends(&c, "GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_int_equal(cli_response(&c, &r), 0);
    assert_int_equal(r.status, 200);
    /* Absolute-form and asterisk-form targets. */
    cli_sends(&c, "GET http://example.test:8080/hdrs/abs?q=1 HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(cli_response(&c, &r), 0);
    assert_string_equal(r.body, "/hdrs/abs|q=1|127.0.0.1|t|Host=t|");
    cli_sends(&c, "GET http://example.test HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(cli_response(&c, &r), 0);
    assert_string_equal(r.body, "GET / - 0 0 1.1");
    cli_sends(&c, "OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(cli_response(&c, &r), 0);
    assert_string_equal(r.body, "*|-|127.0.0.1|t|Host=t|");
    /* Chunked trailers are dropped, and do not disturb the head already parsed. */
    cli_sends(&c, "POST /hdrs/t HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "3\r\nabc\r\n0\r\n");
    for (int i = 0; i < 40; i++)
        cli_sends(&c, "X-Trailer-Field-With-A-Long-Name: and a value that takes some room\r\n");
    cli_sends(&c, "\r\n");
    assert_int_equal(cli_response(&c, &r), 0);
    assert_string_equal(r.body, "/hdrs/t|-|127.0.0.1|h|Host=h|Transfer-Encoding=chunked|");
    cli_close(&c);
    fx_stop(&fx);
}

static void http_client_resets_during_handler(void **state)
{
    (void)state;
    struct fx fx;
    struct client c;
    fx_start(&fx, NULL);
    assert_int_equal(cli_connect(&c, fx.port), 0);
    cli_sends(&c, "GET /slow?ms=100 HTTP/1.1\r\nHost: t\r\n\r\nGET /slow?ms=50 HTTP/1.1\r\nHost: t\r\n\r\n");
    sleep_ms(20);
    struct linger lg = {1, 0}; /* close with a reset */
    setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    cli_close(&c);
    sleep_ms(200); /* both handlers answer a connection that is gone: dropped, no leak */
    assert_int_equal(cli_connect(&c, fx.port), 0);
    get_ok(&c, "/still", "GET /still - 0 0 1.1");
    cli_close(&c);
    fx_stop(&fx);
    assert_string_equal(fx.order, "wwl");
}

/* rtk_http_raw_writev: what the kernel does not take at once is queued from where it
 * stopped (inside a buffer), in order, and |done| runs once when all of it is out. */
static void http_raw_writev_partial(void **state)
{
    (void)state;
    struct fx fx;
    struct client c;
    for (size_t i = 0; i < sizeof(bigv_data); i++)
        bigv_data[i] = (unsigned char)(i % 251);
    fx_start(&fx, NULL);
    raw_open(&fx, &c, "/ws");
    cli_sends(&c, "bigv");
    sleep_ms(100); /* the server has written what the socket takes and queued the rest */
    size_t got = 0;
    while (got < sizeof(bigv_data)) {
        if (c.len == 0)
            assert_true(cli_fill(&c) > 0);
        for (size_t i = 0; i < c.len; i++)
            if ((unsigned char)c.buf[i] != (unsigned char)((got + i) % 251))
                fail_msg("byte %zu is %u", got + i, (unsigned char)c.buf[i]);
        got += c.len;
        cli_consume(&c, c.len);
    }
    cli_close(&c);
    fx_stop(&fx);
    assert_int_equal(fx.writes_done, 2); /* the hello, and the three buffers once */
}

static void http_raw_pause(void **state)
{
    (void)state;
    struct fx fx;
    struct client c;
    fx_start(&fx, NULL);
    raw_open(&fx, &c, "/ws");
    cli_sends(&c, "pause");
    while (c.len < 6)
        assert_true(cli_fill(&c) > 0);
    assert_memory_equal(c.buf, "paused", 6);
    cli_consume(&c, 6);
    uint64_t t0 = now_ms();
    cli_sends(&c, "later");
    while (c.len < 5)
        assert_true(cli_fill(&c) > 0);
    assert_memory_equal(c.buf, "later", 5);
    cli_consume(&c, 5);
    assert_true(now_ms() - t0 >= 60);
    cli_close(&c);
    fx_stop(&fx);
    assert_int_equal(fx.raw_closed, 1);
}

static void http_ipv6(void **state)
{
    (void)state;
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    if (probe < 0 || bind(probe, (struct sockaddr *)&a, sizeof(a)) != 0) {
        if (probe >= 0)
            close(probe);
        skip(); /* no IPv6 loopback here */
    }
    close(probe);
    struct fx fx;
    fx_start_on(&fx, "::1", NULL);
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    a.sin6_port = htons((uint16_t)fx.port);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    struct client *c = calloc(1, sizeof(*c));
    c->fd = fd;
    cli_sends(c, "GET /hdrs6 HTTP/1.1\r\nHost: t\r\n\r\n");
    struct resp r;
    assert_int_equal(cli_response(c, &r), 0);
    assert_string_equal(r.body, "/hdrs6|-|::1|t|Host=t|");
    cli_close(c);
    free(c);
    fx_stop(&fx);
}

static void http_fake_requests(void **state)
{
    (void)state;
    struct fx fx; /* only as server_data: the handler reads fx->order */
    memset(&fx, 0, sizeof(fx));
    rtk_http_req *req;
    rtk_http_fake_resp out;
    assert_int_equal(
        rtk_http_fake_new("POST", "/v1/x?y=1", "Host: h\r\nX-A:  b \r\n", "hey", 3, &fx, &req), 0);
    assert_int_equal(req->method, HTTP_POST);
    assert_string_equal(req->path, "/v1/x");
    assert_string_equal(req->query, "y=1");
    assert_string_equal(req->body, "hey");
    assert_string_equal(req->remote_ip, "127.0.0.1");
    assert_string_equal(rtk_http_req_header(req, "x-a", NULL), "b");
    assert_ptr_equal(req->server_data, &fx);
    assert_int_equal(rtk_http_fake_response(req, &out), RTK_EAGAIN);
    handler(req);
    assert_int_equal(rtk_http_fake_response(req, &out), 0);
    assert_int_equal(out.status, 200);
    assert_int_equal(out.body_len, strlen("POST /v1/x y=1 3 326 1.1"));
    assert_memory_equal(out.body, "POST /v1/x y=1 3 326 1.1", out.body_len);
    assert_true(out.head_len > 17 && memcmp(out.head + out.head_len - 4, "\r\n\r\n", 4) == 0);
    rtk_http_fake_free(req);

    /* An upgrade handshake records the 101 head. */
    assert_int_equal(rtk_http_fake_new("GET", "/ws",
                                       "Upgrade: websocket\r\nConnection: Upgrade\r\n", NULL, 0,
                                       &fx, &req),
                     0);
    assert_int_equal(req->is_upgrade, 1);
    handler(req);
    assert_int_equal(rtk_http_fake_response(req, &out), 0);
    assert_int_equal(out.status, 101);
    assert_null(out.body);
    rtk_http_fake_free(req);

    /* Unanswered and bad ones. */
    assert_int_equal(rtk_http_fake_new("GET", "/", NULL, NULL, 0, NULL, &req), 0);
    rtk_http_fake_free(req);
    assert_int_equal(rtk_http_fake_new("GET", "/ bad", NULL, NULL, 0, NULL, &req), RTK_EPROTO);
    assert_null(req);
    assert_int_equal(rtk_http_fake_new("GET", "/", "Bad Header\r\n", NULL, 0, NULL, &req),
                     RTK_EPROTO);
    static char big[20000];
    memset(big, 'a', sizeof(big) - 1);
    big[0] = '/';
    assert_int_equal(rtk_http_fake_new("GET", big, NULL, NULL, 0, NULL, &req), RTK_ETOOBIG);
}

static void find_blocked(struct fx *fx)
{
    fx->max_unsent = 0;
    fx->blocked = 0;
    for (int l = 0; l < RTK_HTTP__NLISTS; l++) {
        for (rtk_http_conn *c = fx->srv->lists[l].first; c; c = c->next) {
            size_t u = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
            if (u > fx->max_unsent)
                fx->max_unsent = u;
            if (c->flags & RTK_HTTP__C_BLOCKED)
                fx->blocked++;
        }
    }
}

/* Reads one response with a body of any size, discarding the body. */
static int cli_skip_response(struct client *c, int *status, size_t *body_len)
{
    char *end;
    while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4)) == NULL)
        if (cli_fill(c) <= 0)
            return -1;
    size_t hlen = (size_t)(end - c->buf) + 4;
    c->buf[hlen - 1] = '\0';
    *status = atoi(c->buf + 9);
    const char *cl = strcasestr(c->buf, "\r\nContent-Length:");
    size_t left = cl ? (size_t)atol(cl + 17) : 0;
    *body_len = left;
    cli_consume(c, hlen);
    for (;;) {
        size_t take = left < c->len ? left : c->len;
        cli_consume(c, take);
        left -= take;
        if (left == 0)
            return 0;
        if (cli_fill(c) <= 0)
            return -1;
    }
}

static void http_write_backpressure(void **state)
{
    (void)state;
    struct fx fx;
    struct client c;
    fx_start(&fx, NULL);
    /* A small receive window, and 60 pipelined requests for 256 KiB each that the client does
     * not read: once ~4 MiB sit in the kernel, the answers would pile up in libuv. */
    c.len = 0;
    c.fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 32 * 1024;
    setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)fx.port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(c.fd, (struct sockaddr *)&a, sizeof(a)), 0);
    struct timeval tv = {5, 0};
    setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char all[60 * 40];
    size_t len = 0;
    for (int i = 0; i < 60; i++)
        len += (size_t)snprintf(all + len, sizeof(all) - len, "GET /big?kb=256 HTTP/1.1\r\nHost: t\r\n\r\n");
    cli_send(&c, all, len);
    sleep_ms(300);
    fx_call(&fx, find_blocked);
    assert_int_equal(fx.blocked, 1);
    assert_true(fx.max_unsent <= RTK_HTTP__WRITE_HIGH + 256 * 1024);
    assert_true(fx.nbig < 60); /* the rest wait unparsed (fx_call orders the memory) */
    print_message("write back-pressure: %d of 60 answered, %zu bytes unsent in libuv\n", fx.nbig,
                  fx.max_unsent);
    for (int i = 0; i < 60; i++) {
        int status;
        size_t blen;
        assert_int_equal(cli_skip_response(&c, &status, &blen), 0);
        assert_int_equal(status, 200);
        assert_int_equal(blen, 256 * 1024);
    }
    cli_close(&c);
    fx_stop(&fx);
    assert_int_equal(fx.nbig, 60);
}

static void http_strict_framing(void **state)
{
    (void)state;
    static const struct {
        const char *what, *raw;
        int status;
    } bad[] = {
        {"misspelt protocol", "GET /s HTTQ/1.1\r\nHost: x\r\n\r\n", 400},
        {"other protocol", "GET /s HXXP/1.1\r\n\r\n", 400},
        {"HTTP/0.9 form", "GET /s\r\n\r\n", 400},
        {"HTTP/0.9 with headers", "GET /s\r\nHost: x\r\n\r\n", 400},
        {"HTTP/2.0", "GET /s HTTP/2.0\r\nHost: x\r\n\r\n", 505},
        {"HTTP/3.1", "GET /s HTTP/3.1\r\n\r\n", 505},
        {"space before colon", "GET /s HTTP/1.1\r\nHost : x\r\n\r\n", 400},
        {"ESC first in a value", "GET /s HTTP/1.1\r\nHost: t\r\nX-A: \x1b[31mred\r\n\r\n", 400},
        {"DEL alone as a value", "GET /s HTTP/1.1\r\nHost: t\r\nX-A: \x7f\r\n\r\n", 400},
        {"control inside a value", "GET /s HTTP/1.1\r\nHost: t\r\nX-A: a\x01z\r\n\r\n", 400},
        {"CR then junk ends the head", "GET /s HTTP/1.1\r\nHost: x\r\n\rX", 400},
        {"chunk data then XX",
         "POST /s HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n", 400},
        {"chunk size CR then junk",
         "POST /s HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\rX{}\r\n0\r\n\r\n", 400},
        {"last chunk CR then junk",
         "POST /s HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\rX", 400},
        {"trailers CR then junk",
         "POST /s HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: b\r\n\rX", 400},
    };
    static const char *const messages[] = {
        [400] = "Malformed request", [505] = "HTTP version not supported"};
    struct fx fx;
    struct client c;
    fx_start(&fx, NULL);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        print_message("strict: %s\n", bad[i].what);
        assert_int_equal(cli_connect(&c, fx.port), 0);
        cli_sends(&c, bad[i].raw);
        expect_error(&c, bad[i].status, messages[bad[i].status]);
        cli_close(&c);
    }
    /* That the checks hold however the bytes are cut into reads is test_h1.c's: it feeds the
     * parser every split of these inputs without a socket. */

    /* What RFC 9112 lets a server accept is accepted: bare LF line ends, several spaces in the
     * request line, a higher minor version, obs-text in a value, a CR inside a body. */
    struct resp r;
    assert_int_equal(cli_connect(&c, fx.port), 0);
    cli_sends(&c, "GET /lf HTTP/1.1\nHost: x\n\n");
    assert_int_equal(cli_response(&c, &r), 0);
    assert_string_equal(r.body, "GET /lf - 0 0 1.1");
    cli_sends(&c, "GET  /spaces  HTTP/1.1\r\nHost: t\r\nX-Caf: caf\xc3\xa9\r\n\r\n");
    assert_int_equal(cli_response(&c, &r), 0);
    assert_string_equal(r.body, "GET /spaces - 0 0 1.1");
    cli_sends(&c, "GET /minor HTTP/1.2\r\nHost: t\r\n\r\n");
    assert_int_equal(cli_response(&c, &r), 0);
    assert_string_equal(r.body, "GET /minor - 0 0 1.2");
    static const char crbody[] =
        "POST /cr HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3\r\n\r\rX\r\n0\r\n\r\nPOST /cr2 HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n\r\r";
    cli_send(&c, crbody, sizeof(crbody) - 1);
    assert_int_equal(cli_response(&c, &r), 0);
    assert_string_equal(r.body, "POST /cr - 3 114 1.1");
    assert_int_equal(cli_response(&c, &r), 0);
    assert_string_equal(r.body, "POST /cr2 - 2 26 1.1");
    cli_close(&c);
    fx_stop(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(http_simple_get),
        cmocka_unit_test(http_keepalive_two_requests),
        cmocka_unit_test(http_pipelined_in_order),
        cmocka_unit_test(http_pipeline_backpressure),
        cmocka_unit_test(http_chunked_body),
        cmocka_unit_test(http_431_readable_while_client_sends),
        cmocka_unit_test(http_413),
        cmocka_unit_test(http_expect_continue),
        cmocka_unit_test(http_408_slow_head),
        cmocka_unit_test(http_408_body_deadline),
        cmocka_unit_test(http_body_memory_caps),
        cmocka_unit_test(http_gives_body_memory_back),
        cmocka_unit_test(http_trims_after_a_burst_of_connections),
        cmocka_unit_test(http_400_garbage),
        cmocka_unit_test(http_10_and_connection_close),
        cmocka_unit_test(http_idle_holds_nothing),
        cmocka_unit_test(http_upgrade_raw),
        cmocka_unit_test(http_raw_close_waits_for_last),
        cmocka_unit_test(http_graceful_stop),
        cmocka_unit_test(http_access_log),
        cmocka_unit_test(http_start_errors),
        cmocka_unit_test(http_headers_and_targets),
        cmocka_unit_test(http_client_resets_during_handler),
        cmocka_unit_test(http_raw_writev_partial),
        cmocka_unit_test(http_raw_pause),
        cmocka_unit_test(http_ipv6),
        cmocka_unit_test(http_fake_requests),
        cmocka_unit_test(http_write_backpressure),
        cmocka_unit_test(http_strict_framing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
