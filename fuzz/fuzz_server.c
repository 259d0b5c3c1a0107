/* SPDX-License-Identifier: MIT */
/* fuzz_server.c - libFuzzer harness: raw bytes on a fresh connection to the real server.
 *
 * Surface: everything a client can send on a TCP connection before and up to routing: the
 * request line and headers (http/rtk_h1.c on http-parser 2.9.4, with our limits),
 * Content-Length and chunked bodies, pipelining, Expect, Connection and Upgrade handling, then
 * rtk_api_handle (routing, authentication, every handler, the web pages) and, when the bytes
 * make a valid WebSocket handshake, the channel behind it.
 *
 * Not sans-I/O, on purpose: the parser alone is fuzz_http's (fed without sockets); this harness
 * covers the connection layer around it (src/net/rtk_http.c: pipelining, back-pressure,
 * upgrades, lingering closes) and everything behind it. It starts the real server in-process
 * on 127.0.0.1 (an ephemeral port) with the limits of `rtkd serve` (16 KiB head, 1 MiB body)
 * and drives its libuv loop itself. Each input is
 * written to a new connection, the write side is then shut down (so an incomplete request
 * ends at once instead of waiting for the 10 s head timeout), and the loop runs until the
 * server closes the connection or TIMEOUT_MS pass. Placeholders in the input ("$ACC", "$APP",
 * "$TOK", "$PTK0".."$PTK2", see fuzz_world.h) become the world's account, app, API token and
 * participant tokens, so inputs can reach the authenticated handlers and the channel; "$BRK"
 * is not sent but makes the server read what came before it first, so a head or body can
 * arrive in pieces.
 *
 * Checked: no response is a 5xx (except 505, the answer to an "HTTP/2.0" request line, and
 * the 501 for a transfer coding before chunked); the server keeps serving (GET /healthz
 * answers 200 on a new connection every HEALTH_EVERY inputs, and at the end); timeouts are
 * counted and reported. The whole world is rebuilt
 * every WORLD_EVERY inputs to keep the store bounded.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_world.h"
#include "chan/rtk_chan.h"

#define TIMEOUT_MS 50
#define HEALTH_EVERY 256
#define WORLD_EVERY 8192
#define RESP_KEEP (256 * 1024) /* bytes of answers kept for the status scan */
#define BRK "$BRK"             /* in an input: let the server read what came before */

static fuzz_world world;
static unsigned runs, timeouts;
static char resp[RESP_KEEP];

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_server: invariant broken: %s\n", what);
    abort();
}

static int64_t now_ms(void)
{
    return (int64_t)(uv_hrtime() / 1000000);
}

static int connect_server(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        fail("socket");
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)world.port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* Loopback: the kernel completes the handshake from the listen backlog, so a blocking
     * connect returns before the server (same thread) has accepted. */
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        /* Interrupted (libFuzzer's timers use signals): the connect goes on; wait for it. */
        int err = errno;
        if (err == EINTR) {
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            socklen_t elen = sizeof(err);
            while (poll(&pf, 1, 1000) < 0 && errno == EINTR)
                continue;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
                err = errno;
        }
        if (err != 0) {
            fprintf(stderr, "fuzz_server: connect: %s\n", strerror(err));
            fail("connect to the server");
        }
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* The offset of the first BRK marker in |p|[0..|n|), or |n|. */
static size_t find_brk(const char *p, size_t n)
{
    const size_t k = sizeof(BRK) - 1;
    for (size_t i = 0; i + k <= n; i++)
        if (p[i] == '$' && memcmp(p + i, BRK, k) == 0)
            return i;
    return n;
}

/* Lets the server take in what was just sent (loopback delivers within send()): a few loop
 * turns accept the connection if need be, register it, and read. */
static void pump(void)
{
    for (int i = 0; i < 3; i++)
        uv_run(&world.loop, UV_RUN_NOWAIT);
}

/* Sends |len| bytes on a new connection, half-closes, and collects the answer until the
 * server closes or |timeout_ms| pass after the last byte went out. Each BRK marker in the
 * bytes is not sent: the bytes before it are, and the server reads them, before the rest
 * goes out, so one request can arrive in several reads. Returns the bytes kept in resp[]
 * (*closed: the server closed the connection). */
static size_t exchange(const char *data, size_t len, int timeout_ms, int *closed)
{
    int fd = connect_server();
    size_t off = 0, got = 0;
    int wr_done = 0;
    int64_t deadline = INT64_MAX;
    *closed = 0;
    if (len == 0) {
        shutdown(fd, SHUT_WR);
        wr_done = 1;
        deadline = now_ms() + timeout_ms;
    }
    for (;;) {
        while (!wr_done) {
            size_t limit = off + find_brk(data + off, len - off);
            ssize_t w = limit > off ? send(fd, data + off, limit - off, MSG_NOSIGNAL) : 0;
            if (w > 0)
                off += (size_t)w;
            else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                off = len; /* the server is gone: stop sending */
            if (off == len) {
                shutdown(fd, SHUT_WR);
                wr_done = 1;
                deadline = now_ms() + timeout_ms;
            } else if (off == limit) {
                pump();
                off += sizeof(BRK) - 1;
                continue;
            }
            break;
        }
        for (;;) {
            char tmp[16384];
            ssize_t r = recv(fd, tmp, sizeof(tmp), 0);
            if (r > 0) {
                size_t keep = got < RESP_KEEP ? RESP_KEEP - got : 0;
                memcpy(resp + got, tmp, (size_t)r < keep ? (size_t)r : keep);
                got += (size_t)r < keep ? (size_t)r : keep;
                continue;
            }
            if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
                *closed = 1; /* EOF, or a reset */
            break;
        }
        if (*closed)
            break;
        uv_run(&world.loop, UV_RUN_NOWAIT);
        int64_t left = deadline - now_ms();
        if (wr_done && left <= 0)
            break;
        int t = uv_backend_timeout(&world.loop);
        if (t < 0 || t > 10)
            t = 10;
        if (wr_done && left < t)
            t = (int)left;
        struct pollfd pf[2] = {
            {.fd = fd, .events = (short)(POLLIN | (wr_done ? 0 : POLLOUT))},
            {.fd = uv_backend_fd(&world.loop), .events = POLLIN},
        };
        poll(pf, 2, t);
    }
    /* An abortive close (RST): hundreds of thousands of connections must not leave as many
     * TIME_WAIT sockets behind, which would use up the ephemeral ports. The server has
     * answered and closed (or timed out) by now. */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
    /* Let the server see the close and free the connection. */
    uv_run(&world.loop, UV_RUN_NOWAIT);
    return got;
}

static int starts_http(const char *p, size_t n)
{
    return n >= 7 && memcmp(p, "HTTP/1.", 7) == 0;
}

/* 1 if |text| occurs in the first 512 bytes of |r|[0..|n|) (an answer's head and short body). */
static int has_text(const char *r, size_t n, const char *text)
{
    size_t k = strlen(text);
    for (size_t i = 0; i + k <= n && i < 512; i++)
        if (memcmp(r + i, text, k) == 0)
            return 1;
    return 0;
}

/* Walks the responses in r[0..n) and fails on a 5xx. Stops at a 101 (WebSocket bytes follow)
 * or at anything it cannot follow. */
static void scan(const char *r, size_t n)
{
    size_t p = 0;
    while (p < n && starts_http(r + p, n - p) && n - p >= 12) {
        int status = (r[p + 9] - '0') * 100 + (r[p + 10] - '0') * 10 + (r[p + 11] - '0');
        /* 505 is the deliberate answer to an HTTP/2+ request line, 501 to a transfer coding
         * before chunked ("gzip, chunked"): the client's doing, not a server fault. */
        int deliberate =
            status == 505 ||
            (status == 501 && has_text(r + p, n - p, "\"Transfer coding not implemented\""));
        if (status >= 500 && !deliberate) {
            fprintf(stderr, "fuzz_server: answer: %.*s\n", (int)(n - p > 600 ? 600 : n - p), r + p);
            fail("a 5xx answer");
        }
        if (status == 101)
            return;
        const char *end = NULL;
        for (size_t i = p; i + 4 <= n; i++)
            if (memcmp(r + i, "\r\n\r\n", 4) == 0) {
                end = r + i;
                break;
            }
        if (end == NULL)
            return;
        size_t hend = (size_t)(end - r) + 4, cl = 0;
        for (size_t i = p; i + 16 <= hend; i++)
            if ((i == p || r[i - 1] == '\n') && strncasecmp(r + i, "content-length:", 15) == 0)
                cl = strtoul(r + i + 15, NULL, 10);
        if (hend + cl <= n && (hend + cl == n || starts_http(r + hend + cl, n - hend - cl)))
            p = hend + cl;
        else if (starts_http(r + hend, n - hend)) /* an answer to HEAD: no body */
            p = hend;
        else
            return;
    }
}

static void health(void)
{
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: fuzz\r\n\r\n";
    int closed = 0;
    size_t n = exchange(req, sizeof(req) - 1, 2000, &closed);
    if (n < 12 || memcmp(resp, "HTTP/1.1 200", 12) != 0)
        fail("the server stopped answering GET /healthz");
}

static void cleanup(void)
{
    if (world.ctx.live != NULL) {
        health();
        fprintf(stderr, "fuzz_server: %u inputs, %u timed out (no close within %d ms)\n", runs,
                timeouts, TIMEOUT_MS);
        fuzz_world_close(&world);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_world_open(&world, &rtk_chan_transport, 1);
    health();
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    runs++;
    if (runs % WORLD_EVERY == 0) {
        fuzz_world_close(&world);
        fuzz_world_open(&world, &rtk_chan_transport, 1);
    }
    size_t len = 0;
    char *req = fuzz_world_expand(&world, data, size, &len);
    int closed = 0;
    size_t n = exchange(req, len, TIMEOUT_MS, &closed);
    free(req);
    if (!closed)
        timeouts++;
    scan(resp, n);
    if (runs % HEALTH_EVERY == 0)
        health();
    return 0;
}
