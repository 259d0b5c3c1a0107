/* SPDX-License-Identifier: MIT */
/* rtk_h1.h - sans-I/O HTTP/1.1 server side: request bytes in, requests and errors out. */
#ifndef RTK_H1_H
#define RTK_H1_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <http_parser.h>

#include "http/rtk_req.h"

/*
 * Design.
 *
 * This layer turns the bytes a client sends into requests (RFC 9112), and writes response
 * heads. It does no I/O, keeps no clock and never logs: the connection layer (net/rtk_http.c)
 * reads sockets, runs timers and decides what to send; unit tests and fuzzers feed it bytes
 * directly. It is http-parser 2.9 plus the checks its lenient Debian build skips (see
 * scan_framing in rtk_h1.c), the size limits, the target split and the keep-alive decision.
 *
 *     rtk_h1_feed(p, bytes) ─┬─► n >= 0 and ev.kind = RTK_H1_REQUEST   a request is complete:
 *                            │                                          ev.req is the caller's
 *                            ├─► n >= 0 and ev.kind = RTK_H1_CONTINUE  its head asked for
 *                            │                                          100-continue: send one
 *                            ├─► RTK_EAGAIN                             every byte taken in,
 *                            │                                          nothing complete yet
 *                            ├─► RTK_EPROTO / RTK_ETOOBIG              answer ev.status, close
 *                            └─► -ECANCELED                             rtk_h1_refuse_new: a
 *                                                                       request began; no answer
 *
 * One event per call: the caller feeds what is left after |n| bytes again. The outcome, the
 * events and the offsets at which they occur are the same whether the input arrives whole,
 * one byte at a time or split anywhere (tests/unit/test_h1.c and fuzz/fuzz_http.c check it).
 * Errors are sticky: once feed failed, it fails again with the same code and status.
 *
 * Memory. The parser state (rtk_h1) lives in caller memory and owns nothing between requests.
 * A request is one block from its first byte: the caller's user area (rtk_h1_config.user_size
 * bytes, zeroed, for whoever answers the request), struct rtk_h1_req, then the request line
 * and header strings; the header array and the body are two more allocations, each grown
 * with what arrives (a declared Content-Length is never allocated up front). The block may
 * move until the head is complete, which is why requests are only handed out complete.
 *
 * Threads: none of its own. A parser and its requests are used by one thread at a time.
 */

#define RTK_H1_DEFAULT_MAX_HEAD (16 * 1024)
#define RTK_H1_DEFAULT_MAX_BODY (1024 * 1024)
#define RTK_H1_ADDR_MAX 46 /* INET6_ADDRSTRLEN: the longest numeric address, with its NUL */
#define RTK_H1_DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 5.6.7) */

typedef struct rtk_h1_config {
    size_t max_head;   /* request line + headers, and trailers; over it → 431 */
    size_t max_body;   /* de-chunked body; a larger declared Content-Length or a chunked body
                        * growing past it → 413 */
    size_t user_size;  /* bytes reserved in front of every request (rtk_h1_req_user) */
    int host_optional; /* 1: accept HTTP/1.1 without Host (requests built by test fakes) */
} rtk_h1_config;

struct rtk_h1_req;
struct rtk_http_raw_cbs;
struct rtk_http_conn;

/* Who answers a request. rtk_http_respond and rtk_http_upgrade (net/rtk_http.h) call these
 * with the request; the connection layer is one owner, the test fakes (tests/support) are
 * another. The arguments and their contracts are those of the two public functions. */
typedef struct rtk_http_owner {
    void (*respond)(struct rtk_h1_req *r, int status, const char *content_type, const char *headers,
                    const void *body, size_t len);
    int (*upgrade)(struct rtk_h1_req *r, const void *head, size_t head_len,
                   const struct rtk_http_raw_cbs *cbs, void *user, struct rtk_http_conn **out);
} rtk_http_owner;

enum rtk_h1_req_flag {
    RTK_H1_R_HEAD_DONE = 1 << 0, /* the head was parsed: method, target, headers are set */
    RTK_H1_R_CLOSE = 1 << 1,     /* no request may follow: close after answering it */
    RTK_H1_R_STOPPED = 1 << 2,   /* the parser stopped after it (Upgrade or CONNECT): what
                                  * follows is another protocol's */
};

/* Header being built: offsets into the request's string area, converted in place to
 * rtk_http_header pointers once the head is complete and the block can no longer move. */
union rtk_h1__hdr {
    struct {
        size_t name, name_len, value, value_len;
    } off;
    rtk_http_header h;
};

typedef struct rtk_h1_req {
    rtk_http_req pub;            /* public: what handlers see; must stay first */
    const rtk_http_owner *owner; /* public: who answers it; set by whoever takes the request
                                  * from the parser, never read by this layer */
    uint16_t flags;              /* read-only: enum rtk_h1_req_flag */
    /* private */
    uint16_t user_off;       /* bytes from the block's start to this struct */
    size_t head_bytes;       /* head (and trailer) size as counted against max_head */
    union rtk_h1__hdr *hdrs; /* header array (own allocation) */
    size_t hdr_cap;
    char *body; /* own allocation, NUL-terminated */
    size_t body_cap;
    char remote_ip[RTK_H1_ADDR_MAX];
    size_t str_len, str_cap; /* bytes used and available in str[] */
    char str[];              /* url, then header names and values, each NUL-terminated */
} rtk_h1_req;

/* Parser state. Transparent so that callers can embed it (the connection layer keeps it with
 * its own per-request state in one allocation); every field is private: use the functions. */
typedef struct rtk_h1 {
    http_parser parser;       /* parser.data is this struct */
    const rtk_h1_config *cfg; /* borrowed */
    rtk_h1_req *cur;          /* request being read */
    rtk_h1_req *done;         /* request completed by the last execute call */
    int status;               /* sticky error: the status to answer (0: refused) */
    int rc;                   /* sticky error: what feed returns (0: none) */
    const char *err_at;       /* a callback's error: the first byte it refused */
    uint8_t last;             /* last data callback: url, header field or header value */
    uint8_t pause;            /* why a callback paused the parser */
    uint8_t trailers;         /* the last chunk was read: trailer fields follow */
    uint8_t refuse;           /* rtk_h1_refuse_new was called */
    /* Framing checks that a lenient http-parser build skips (see scan_framing). */
    uint8_t scan;          /* request line position */
    uint8_t scan_i;        /* bytes of "HTTP/" matched */
    uint8_t pending_cr;    /* the last framing byte was a CR */
    uint8_t expect_crlf;   /* chunk data ended: this many bytes of CRLF must follow */
    const char *scan_from; /* first byte of the current input not yet scanned */
    char remote_ip[RTK_H1_ADDR_MAX];
} rtk_h1;

enum rtk_h1_event_kind {
    RTK_H1_NONE = 0,
    RTK_H1_REQUEST,  /* ev.req: a complete request, now the caller's (rtk_h1_req_free) */
    RTK_H1_CONTINUE, /* the head of the request being read asks for 100-continue, its body is
                      * wanted and its version allows an interim answer (RFC 9110 10.1.1):
                      * the caller may send "100 Continue" now, if nothing is owed before */
};

typedef struct rtk_h1_event {
    int kind;        /* enum rtk_h1_event_kind (RTK_H1_NONE on errors and RTK_EAGAIN) */
    int status;      /* on RTK_EPROTO / RTK_ETOOBIG: the status to answer */
    rtk_h1_req *req; /* RTK_H1_REQUEST only */
} rtk_h1_event;

/* Prepares |p| to read requests from the client at |remote_ip| (numeric text, copied,
 * truncated to RTK_H1_ADDR_MAX - 1 bytes; NULL for "-") under |cfg| (borrowed: it must
 * outlive |p|; max_head and max_body must not be 0). Cannot fail; allocates nothing. */
void rtk_h1_init(rtk_h1 *p, const rtk_h1_config *cfg, const char *remote_ip);

/* Frees what |p| holds (a request being read). |p| may then be initialised again. */
void rtk_h1_clear(rtk_h1 *p);

/* Parses up to |len| bytes at |data| and stops after the first event (see the design above).
 * Returns:
 *   n >= 0        the first |n| bytes were consumed and *ev holds one event (REQUEST or
 *                 CONTINUE); feed the rest again. A request with RTK_H1_R_STOPPED is the
 *                 last: the bytes after it are not HTTP (after an upgrade they belong to the
 *                 new protocol), and feeding again fails with RTK_EPROTO / 400.
 *   RTK_EAGAIN    all |len| bytes were taken in (copied as needed: |data| is not kept) and
 *                 no event is complete; also for |len| == 0, which is not an end of input.
 *   RTK_EPROTO    malformed, ev->status 400; or a transfer coding before chunked, which we
 *                 do not implement ("gzip, chunked"), 501; or an HTTP major version other
 *                 than 1, 505.
 *   RTK_ETOOBIG   ev->status 431 (head or trailers over max_head) or 413 (body over
 *                 max_body, declared or as it arrives).
 *   -ECANCELED    after rtk_h1_refuse_new, a new request began (ev->status 0).
 * On an error the request being read stays in |p| (rtk_h1_take hands it over). */
ssize_t rtk_h1_feed(rtk_h1 *p, const char *data, size_t len, rtk_h1_event *ev);

/* Returns 1 while a request has begun and is not complete (its first byte was consumed; blank
 * lines before a request do not count), else 0. */
int rtk_h1_busy(const rtk_h1 *p);

/* Returns 1 while the head of the request being read is complete and its body is not. */
int rtk_h1_in_body(const rtk_h1 *p);

/* The memory the body being read holds or is announced to need: for a Content-Length, the
 * whole declared length from the end of the head on (it is never over max_body: a larger one
 * was refused with 413); for a chunked body, what its buffer holds now. 0 outside a body. */
size_t rtk_h1_body_mem(const rtk_h1 *p);

/* The bytes allocated for the body of the request being read (0 if none). */
size_t rtk_h1_body_held(const rtk_h1 *p);

/* The bytes allocated for the body of |r| (0 once rtk_h1_req_drop_data freed it). */
size_t rtk_h1_req_body_held(const rtk_h1_req *r);

/* From now on the first byte of a new request makes rtk_h1_feed fail with -ECANCELED: a
 * server that stops serves no new request (the one being read completes normally). */
void rtk_h1_refuse_new(rtk_h1 *p);

/* Hands over the request being read, as far as it got (after an error, to answer it in
 * order), or, if none, a new blank one (method_str "-", no path) with |p|'s remote address.
 * The caller owns it (rtk_h1_req_free). Use |p| only for rtk_h1_clear afterwards. */
rtk_h1_req *rtk_h1_take(rtk_h1 *p);

/* A new blank request (method_str "-", no path, no headers) for an answer given without a
 * request, e.g. a timeout before any byte. |cfg| gives user_size; |remote_ip| as in
 * rtk_h1_init. Returns a new request (aborts on out-of-memory, like every allocation here). */
rtk_h1_req *rtk_h1_req_new(const rtk_h1_config *cfg, const char *remote_ip);

/* Frees |r| (NULL is allowed). The owner frees what its user area points to first. */
void rtk_h1_req_free(rtk_h1_req *r);

/* The request behind a handler's |req| (every rtk_http_req is the first member of one). */
rtk_h1_req *rtk_h1_req_of(rtk_http_req *req);

/* The user area of |r|: rtk_h1_config.user_size bytes, zeroed at creation, 16-byte aligned,
 * as long-lived as |r|. */
void *rtk_h1_req_user(rtk_h1_req *r);

/* Frees the headers and the body of |r| once its answer is built (pub.headers, pub.body and
 * their counts become NULL/0); the rest (method, path, query, flags) stays valid. */
void rtk_h1_req_drop_data(rtk_h1_req *r);

/* Status text for |status| ("Not Found"), from the one table; "Unknown" if not in it. */
const char *rtk_h1_status_text(int status);

/* Writes the IMF-fixdate of |unix_s| (RFC 9110 5.6.7) into |out|: RTK_H1_DATE_LEN bytes and a
 * NUL. */
void rtk_h1_format_date(int64_t unix_s, char out[RTK_H1_DATE_LEN + 1]);

/* A response head to serialise. */
typedef struct rtk_h1_head {
    int status;               /* 100..999 */
    const char *date;         /* Date value (rtk_h1_format_date) */
    const char *content_type; /* NULL: no Content-Type */
    const char *headers;      /* extra raw lines, each ending in "\r\n"; NULL: none */
    size_t content_length;    /* the body's length (also for HEAD, whose body is not sent) */
    int close;                /* Connection: close (1) or keep-alive (0) */
} rtk_h1_head;

/* The exact size of the head rtk_h1_head_write writes for |h|. */
size_t rtk_h1_head_size(const rtk_h1_head *h);

/* Writes the head for |h| into |buf| (rtk_h1_head_size(h) bytes; no NUL) and returns its
 * length: the status line, Server, Date, then Content-Type and Content-Length unless the
 * status has no body (1xx, 204, 304), Connection, the extra lines and the blank line. */
size_t rtk_h1_head_write(const rtk_h1_head *h, char *buf);

/* How many of the |len| body bytes of a |status| answer to |r| go on the wire: none for HEAD
 * requests and for 1xx, 204 and 304 answers, else |len|. */
size_t rtk_h1_body_sent(const rtk_h1_req *r, int status, size_t len);

#endif
