/* SPDX-License-Identifier: MIT */
/* rtk_http.h - HTTP/1.1 server connections on libuv (parsing: http/rtk_h1.h), upgrade hand-off. */
#ifndef RTK_HTTP_H
#define RTK_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <uv.h>

#include "http/rtk_proxy.h"
#include "http/rtk_req.h"

/*
 * One loop thread runs everything here: every function below must be called on the thread
 * that runs the loop given to rtk_http_server_start, and every callback runs on it.
 *
 * What the layer does: keep-alive and pipelining (responses leave strictly in request order,
 * even when handlers answer out of order), Content-Length and chunked request bodies,
 * HTTP/1.0, `Connection: close`, `Expect: 100-continue`, size limits and timeouts answered
 * with the RealtimeKit JSON error envelope, a lingering close after an early error (so the
 * client reads the answer instead of a reset), a graceful stop, and the hand-off of an
 * upgraded socket (WebSocket) to its new owner. Malformed requests get 400 and HTTP major
 * versions other than 1 get 505: RFC 9112 framing is enforced on top of http-parser, whose
 * Debian build is lenient (see scan_framing in http/rtk_h1.c). A connection stops being read
 * while 32 requests await answers or 256 KiB of answers wait unsent (a client that
 * pipelines without reading cannot make the server buffer without bound).
 *
 * The process must not die of SIGPIPE when a peer vanishes mid-write: rtk_http_server_start
 * sets SIGPIPE to SIG_IGN if it still has its default disposition.
 */

typedef struct rtk_http_server rtk_http_server;
typedef struct rtk_http_conn rtk_http_conn; /* opaque: one accepted TCP connection */

/* rtk_http_header, rtk_http_req, rtk_http_req_header and rtk_http_list_next are declared in
 * http/rtk_req.h (shared with the sans-I/O HTTP/1 layer, http/rtk_h1.h, which builds
 * requests). */

/* Called once per complete request, from the loop. The handler must eventually give exactly
 * one response: rtk_http_respond (now or from any later loop callback), or, for a request with
 * is_upgrade set, rtk_http_upgrade. */
typedef void (*rtk_http_handler)(rtk_http_req *req);

typedef struct rtk_http_config {
    size_t max_head;               /* request line + headers; default 16 KiB, over it → 431 */
    size_t max_body;               /* default 1 MiB; over it → 413 */
    uint64_t head_timeout_ms;      /* default 10000: a head not complete in time (also on a
                                    * connection that sent nothing, or a body with no byte
                                    * for that long) → 408 and close */
    uint64_t keepalive_timeout_ms; /* idle keep-alive connections closed after this (75000) */
    uint64_t linger_ms;            /* lingering close: read and discard for at most this long
                                    * after the last response (default 2000) */
    int access_log;                /* 1: one line per request on stderr */
    unsigned max_conns;            /* open connections in all (0: no cap); over it the new
                                    * connection gets 503 + Retry-After and is closed */
    unsigned max_conns_per_ip;     /* open connections per client address (0: no cap); over
                                    * it: 429 + Retry-After, closed */
    uint64_t body_timeout_ms;      /* default 30000: a request body not complete this long
                                    * after the end of its head → 408 and close, however
                                    * steadily its bytes arrive (head_timeout_ms still bounds
                                    * each wait between two reads) */
    size_t max_body_mem_per_ip;    /* default 8 MiB (SIZE_MAX: no cap): memory that the
                                    * request bodies still being read from one client address
                                    * may hold together. A declared Content-Length counts in
                                    * full from the end of the head, a chunked body as it
                                    * grows. A body that would go over it → 429 + Retry-After,
                                    * closed (the client is told to slow down) */
    size_t max_body_mem;           /* default 64 MiB (SIZE_MAX: no cap): the same for all
                                    * clients together → 503 + Retry-After, closed (the server
                                    * is busy); checked before the per-address cap */
    const rtk_proxy_trust *trust_proxy; /* borrowed, outlives the server; NULL: none. From
                                         * these peers X-Forwarded-For names the client
                                         * (req->remote_ip, the access log), and their
                                         * connections are not capped per address */
} rtk_http_config;

/* Starts an HTTP/1.1 server on the numeric address |host| ("127.0.0.1", "::", "0.0.0.0";
 * names are not resolved) and |port| (0: any free port, see rtk_http_server_port), running on
 * |loop|. |cfg| may be NULL; zero fields take their defaults. |handler| is called for every
 * request; |data| (borrowed) is copied into every request's server_data.
 * On success stores the new server in *out and returns 0; the server owns its sockets and is
 * freed by rtk_http_server_stop. Errors: RTK_EINVAL (bad host or port), or a negated errno
 * from socket/bind (-EADDRINUSE, -EACCES, ...), or a UV_* code from uv_listen; on failure
 * *out is NULL and nothing is left behind (except if libuv refuses the bound socket: its
 * handles are then released on the loop's next turn). */
int rtk_http_server_start(uv_loop_t *loop, const char *host, int port, const rtk_http_config *cfg,
                          rtk_http_handler handler, void *data, rtk_http_server **out);

/* Returns the port |srv| listens on (the real one when 0 was asked for). */
int rtk_http_server_port(const rtk_http_server *srv);

/* Stops |srv|: closes the listening socket, closes idle keep-alive connections, lets requests
 * already begun finish (their responses say `Connection: close` and flush), refuses new
 * requests on busy connections, and asks the owner of every upgraded connection to close it
 * (rtk_http_raw_cbs.on_stop, or closes it itself if that is NULL). Once every connection is
 * closed, |cb|(|arg|) runs (from the loop, never inside this call; |cb| may be NULL) and the
 * server is freed. A handler that never responds keeps the server from stopping. Call once. */
void rtk_http_server_stop(rtk_http_server *srv, void (*cb)(void *arg), void *arg);

/* Sends the response to |req|: status line, Server, Date, Content-Type (if |content_type| is
 * not NULL), Content-Length, Connection (keep-alive or close, as the request and the server's
 * state require), the extra raw header lines |headers| (each ending in "\r\n"; NULL for none),
 * then |len| bytes of |body| (copied; omitted for HEAD, 1xx, 204 and 304). May be called
 * inside the handler or later from any loop callback; responses leave in request order.
 * Exactly one response per request; |req| is invalid once this returns. If the client has
 * gone, the response is dropped silently. */
void rtk_http_respond(rtk_http_req *req, int status, const char *content_type, const char *headers,
                      const void *body, size_t len);

/* Status text for |status| ("Not Found"), from the one table; "Unknown" if not in it. */
const char *rtk_http_status_text(int status);

/*
 * Upgrade hand-off (WebSocket). Design: the connection stays the server's and switches to a
 * "raw" mode; the owner gets an rtk_http_conn handle, bytes through on_read, and writes and
 * closes with rtk_http_raw_*. Why: a raw connection is the server's struct and nothing else,
 * 312 bytes with libuv 1.44 on x86-64 (uv_tcp_t is 248 of them): no parser, no timer, no
 * buffers. Measured with 1,000 peers: 321 bytes of heap per idle upgraded connection, 341 per
 * idle keep-alive one (glibc chunk rounding and libuv's per-fd watcher slot). Reads land in the
 * server's shared 64 KiB buffer and are lent to on_read, so an idle peer holds no read buffer;
 * write buffers exist only while data waits. Handing the uv_tcp_t itself over would have saved
 * nothing (a live libuv handle cannot be moved, so it would need a dup'ed fd and a second handle)
 * and would split the shutdown logic in two places. Timeouts do not apply in raw mode: the owner
 * runs its own heartbeat.
 */
typedef struct rtk_http_raw_cbs {
    /* Bytes arrived: |nread| > 0 bytes at |data|, lent for the duration of the call: it is
     * the server's shared read buffer (or, for bytes read with the upgrade request, a heap
     * copy), writable, so the callee may rewrite it in place (WebSocket unmasking) but must
     * copy what must survive the call. Or the peer closed or failed:
     * |nread| < 0 is UV_EOF or another UV_* code and |data| is NULL; the server then closes the
     * connection (after queued writes flush, on UV_EOF) and on_close follows. Required. */
    void (*on_read)(rtk_http_conn *conn, void *user, ssize_t nread, const char *data);
    /* The connection is closed: the last callback; |conn| is freed when it returns. Required. */
    void (*on_close)(rtk_http_conn *conn, void *user);
    /* The server is stopping: the owner should say goodbye (e.g. WebSocket close 1001) and call
     * rtk_http_raw_close. If NULL, the server calls rtk_http_raw_close itself. */
    void (*on_stop)(rtk_http_conn *conn, void *user);
    /* Optional: for rtk_http_raw_close_awaiting. Returns 1 when the |len| bytes at |data|
     * (one read) are exactly the peer's last message (a WebSocket close frame), else 0. */
    int (*is_last)(const char *data, size_t len);
} rtk_http_raw_cbs;

/* Accepts the upgrade request |req| (is_upgrade set; call from its handler or later, instead
 * of rtk_http_respond): writes the |head_len| bytes of |head| (copied; the full response head,
 * e.g. "HTTP/1.1 101 Switching Protocols\r\n...\r\n\r\n"), stops HTTP parsing and switches the
 * connection to raw mode. Bytes the client sent after the request head are delivered through
 * |cbs|->on_read on a later loop turn, before any newer bytes. |cbs| (borrowed, must outlive
 * the connection: make it static) and |user| are passed to every callback.
 * Returns 0 and stores the connection in *out; on_close will run exactly once. Returns
 * UV_ENOTCONN if the client has already gone (*out = NULL, no callbacks), or a UV_* code if
 * the write failed at once (the connection is then being closed, *out = NULL, no callbacks).
 * Either way |req| is consumed and invalid once this returns. */
int rtk_http_upgrade(rtk_http_req *req, const void *head, size_t head_len,
                     const rtk_http_raw_cbs *cbs, void *user, rtk_http_conn **out);

/* Queues |len| bytes at |data| for sending on the raw connection |conn|. If |done| is NULL the
 * bytes are copied; otherwise they are borrowed until |done|(|arg|, status) runs from the loop
 * once the write completed (status 0) or failed or was cancelled by a close (a UV_* code),
 * which lets one prepared frame go to many peers without copies.
 * Returns 0, or UV_EPIPE if the connection is closing or closed (|done| is then not called),
 * or another UV_* code from uv_write (|done| not called). */
int rtk_http_raw_write(rtk_http_conn *conn, const void *data, size_t len,
                       void (*done)(void *arg, int status), void *arg);

/* Like rtk_http_raw_write with |done| set (required), for |n| borrowed buffers sent in order
 * by one write (one system call when the socket takes them): |done|(|arg|, status) runs once
 * for all of them: before this returns when the kernel took every byte at once, else from
 * the loop. Returns 0, UV_EPIPE (closing or closed; |done| not called) or a uv_write error
 * (|done| not called). */
int rtk_http_raw_writev(rtk_http_conn *conn, const uv_buf_t *bufs, unsigned n,
                        void (*done)(void *arg, int status), void *arg);

/* The socket of a raw connection on which nothing waits to be written, or -1 (closing, or
 * bytes queued: those must go first). The caller may send to it directly (rtk_sendpool: from
 * another thread, while the loop thread waits) and must then report what the kernel took with
 * rtk_http_raw_writev_sent before anything else is written to |conn|. */
int rtk_http_raw_direct_fd(const rtk_http_conn *conn);

/* The second half of rtk_http_raw_writev, for bytes sent on rtk_http_raw_direct_fd: |sent| is
 * what the kernel took of |bufs| (or a negative errno value: none), the rest is queued. Same
 * |done| and return rules as rtk_http_raw_writev. */
int rtk_http_raw_writev_sent(rtk_http_conn *conn, const uv_buf_t *bufs, unsigned n,
                             ssize_t sent, void (*done)(void *arg, int status), void *arg);

/* Bytes queued on |conn| and not yet handed to the kernel (for slow-consumer limits). */
size_t rtk_http_raw_write_queue_size(const rtk_http_conn *conn);

/* Stops (|paused| != 0) or resumes delivering reads on |conn|; bytes wait in the kernel. */
void rtk_http_raw_pause(rtk_http_conn *conn, int paused);

/* Closes the raw connection |conn| gracefully: no more on_read; queued writes flush, then the
 * write side is shut down and input is discarded until the peer closes or linger_ms passes
 * (bounded, so a slow consumer cannot hold it); then on_close runs (later, from the loop).
 * Safe to call more than once and from inside on_read. */
void rtk_http_raw_close(rtk_http_conn *conn);

/* Like rtk_http_raw_close, after a goodbye that the peer answers (a close frame the server
 * initiated): when every queued byte is already in the kernel and |cbs|->is_last is set, no
 * shutdown() is sent; reads go on, and the connection is closed at once (close() sends the
 * FIN) when a read is the peer's last message. Anything else falls back to rtk_http_raw_close
 * (shutdown, discard, linger), and a peer that stays silent is closed after linger_ms. Why: a
 * kick-all or a server stop closes thousands of peers in one loop turn, and a shutdown() per
 * peer (a syscall, an epoll change, one more segment) is a fifth of that turn. Not for
 * failures: a peer that broke the protocol may not answer, so rtk_http_raw_close it. */
void rtk_http_raw_close_awaiting(rtk_http_conn *conn);

/* Returns the size of the per-connection struct, for budgets and tests. */
size_t rtk_http_conn_size(void);

#endif
