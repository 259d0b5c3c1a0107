/* SPDX-License-Identifier: MIT */
/* rtk_http_int.h - private structures of the HTTP/1.1 connection layer, shared with its tests. */
#ifndef RTK_HTTP_INT_H
#define RTK_HTTP_INT_H

#include <netinet/in.h>
#include <time.h>

#include "http/rtk_h1.h"
#include "net/rtk_http.h"
#include "util/rtk_map.h"
#include "util/rtk_slab.h"

/* One client address: its open connections (max_conns_per_ip) and the memory its request
 * bodies being read hold (max_body_mem_per_ip). Freed with its last connection. */
struct rtk_http__ipcount {
    unsigned n;
    size_t body_mem;
    char ip[];
};

/*
 * Design.
 *
 * Parsing is the sans-I/O layer's (http/rtk_h1.h): this layer feeds it what it reads and acts
 * on the events it returns (a request to queue and dispatch, a 100 Continue to send, an
 * error to answer), so everything below is about sockets, order, time and memory.
 *
 * Memory. A connection is one struct (rtk_http_conn) holding its uv_tcp_t. Everything else
 * exists only while it is needed:
 *   - a parse state (rtk_http__ps: the rtk_h1 parser, unparsed bytes) from the first byte of
 *     a request until the parser is between requests again;
 *   - one block per request (an rtk_h1_req, whose user area is this layer's rtk_http__rq:
 *     connection, queue link, response; then the head strings, the header array in a second
 *     allocation and the body in a third) from its first byte until its response has been
 *     written (or dropped);
 *   - one block per write (rtk_http__wr: the uv_write_t and the bytes) until the write
 *     callback.
 * Reads land in the server's one 64 KiB buffer; only a partial head, a body being
 * accumulated, or bytes that could not be parsed yet are copied out of it. An idle
 * keep-alive connection and an idle upgraded connection hold nothing but the struct.
 *
 * Timeouts. No per-connection timer: each connection is on at most one server list, and
 * every list with a timeout has one fixed timeout, so appending at the tail keeps it sorted
 * by deadline (nginx and h2o use the same trick). One server timer fires at the earliest
 * deadline among the list heads.
 *
 *     list      who is on it                                 timeout          on expiry
 *     HEAD      fresh connection; request partly read       head_timeout_ms  408
 *     IDLE      keep-alive, nothing queued, nothing read     keepalive        close
 *     CLOSING   graceful close: shutdown + lingering read    linger_ms        close at once
 *     DEFER     work for the next loop turn (uv_idle)        -                -
 *     RAW       upgraded connections                         -                -
 *     STOPPING  raw, during rtk_http_server_stop only        -                -
 *     (none)    busy: requests queued, waiting for answers   -                -
 *
 * A request body also has a total deadline, body_timeout_ms after the end of its head: a
 * connection on HEAD whose body arrives a byte at a time keeps refreshing its HEAD deadline,
 * so the body deadline is kept apart, on the parse state, which sits on the server's bodies
 * list (one fixed timeout again, so appending keeps it sorted) until the body is complete.
 * The same timer serves it; on expiry: 408.
 *
 * Connection life (HTTP mode):
 *
 *     accept ─► HEAD ─► parse ─► queue ─► handler ─► respond ─► write (in order)
 *                 ▲                                               │
 *                 └──── IDLE ◄─── keep-alive, queue empty ◄───────┤
 *                                                                 ▼ close needed
 *     upgrade ─► RAW                              CLOSING (shutdown, discard input)
 *                                                                 ▼ EOF or linger_ms
 *                                                               uv_close ─► freed
 *
 * Pipelining: rtk_h1_feed returns at the end of every message, so handlers never run inside
 * the parser; the request is queued and dispatched, then parsing resumes.
 * At most RTK_HTTP__MAX_PIPELINE requests wait per connection, and at most about
 * RTK_HTTP__WRITE_HIGH bytes of answers wait unsent; past either, the unparsed rest is copied
 * aside and reading stops until both have drained to half / a quarter (BLOCKED).
 */

#define RTK_HTTP__READ_BUF (64 * 1024)
#define RTK_HTTP__MAX_PIPELINE 32
/* While lingering, discard at most this much input (and for at most linger_ms): a client that
 * keeps sending a body we refused (413 from the head of a 2 MiB upload) must be drained, or
 * the reset that closing with unread input causes can destroy the answer before it is read.
 * The counter is 16 bits of KiB. */
#define RTK_HTTP__LINGER_MAX_KIB 65535
/* Reading stops while more than this waits unsent in libuv, and resumes under a quarter of
 * it: a client that pipelines but does not read cannot make responses pile up. */
#define RTK_HTTP__WRITE_HIGH (256 * 1024)

enum rtk_http__list_id {
    RTK_HTTP__L_NONE = 0,
    RTK_HTTP__L_HEAD,
    RTK_HTTP__L_IDLE,
    RTK_HTTP__L_CLOSING,
    RTK_HTTP__L_DEFER,
    RTK_HTTP__L_RAW,
    RTK_HTTP__L_STOPPING, /* raw connections not yet told that the server stops */
    RTK_HTTP__NLISTS
};

enum rtk_http__conn_flag {
    RTK_HTTP__C_READING = 1 << 0,   /* uv_read_start is in effect */
    RTK_HTTP__C_FRESH = 1 << 1,     /* no byte received yet */
    RTK_HTTP__C_NO_MORE = 1 << 2,   /* no further request will be parsed */
    RTK_HTTP__C_PEER_EOF = 1 << 3,  /* the peer shut down its write side */
    RTK_HTTP__C_BLOCKED = 1 << 4,   /* reading stopped: too many requests or bytes queued */
    RTK_HTTP__C_CLOSING = 1 << 5,   /* graceful close begun (shutdown requested) */
    RTK_HTTP__C_CLOSED = 1 << 6,    /* uv_close called */
    RTK_HTTP__C_PAUSED = 1 << 7,    /* raw: the owner paused reads */
    RTK_HTTP__C_STOP_TOLD = 1 << 8, /* raw: on_stop already called */
    RTK_HTTP__C_NO_SHUT = 1 << 9    /* raw, closing: waiting for the peer's last message */
};

enum rtk_http__mode { RTK_HTTP__M_HTTP = 0, RTK_HTTP__M_RAW };

struct rtk_http__ps;

/* Bytes kept aside: unparsed input, or input that arrived after an upgrade head. */
struct rtk_http__stash {
    size_t len;
    char data[];
};

struct rtk_http_conn {
    uv_tcp_t tcp;                      /* tcp.data is the server; must stay first */
    struct rtk_http_conn *prev, *next; /* links in srv->lists[list] */
    union {
        uint64_t deadline;                /* loop time (ms) of expiry, on a list with a timeout */
        struct rtk_http__stash *leftover; /* raw: bytes read after the upgrade head */
    } t;
    uint8_t list;                 /* enum rtk_http__list_id */
    uint8_t mode;                 /* enum rtk_http__mode */
    uint16_t flags;               /* enum rtk_http__conn_flag */
    uint16_t count;               /* HTTP: requests queued; closing: KiB discarded */
    struct rtk_http__ipcount *ip; /* this address's open-connection count, or NULL */
    union {
        struct {
            struct rtk_http__ps *ps;   /* NULL between requests */
            rtk_h1_req *qhead, *qtail; /* parsed, response not yet written */
        } http;
        struct {
            const rtk_http_raw_cbs *cbs;
            void *user;
        } raw;
    } u;
};

/* Parse state: exists from a request's first byte until the parser is idle again. */
struct rtk_http__ps {
    rtk_h1 h1;                          /* the sans-I/O parser */
    struct rtk_http__stash *stash;      /* unparsed bytes kept while reading is stopped */
    uint64_t start_ns;                  /* uv_hrtime() when the request being read began */
    rtk_http_conn *conn;                /* whose parse state this is */
    struct rtk_http__ps *bprev, *bnext; /* links in srv->bodies while a body is read */
    uint64_t body_deadline;             /* loop time (ms) by which the body must be complete */
    size_t body_mem;                    /* what its body is charged against the memory caps */
    uint8_t on_bodies;                  /* linked in srv->bodies */
};

/* Parse states reading a body, in order of their total deadline (body_timeout_ms after the
 * head, the same for all, so appending keeps the order). */
struct rtk_http__bodies {
    struct rtk_http__ps *first, *last;
};

enum rtk_http__rq_flag {
    RTK_HTTP__R_DISPATCHED = 1 << 0,
    RTK_HTTP__R_RESPONDED = 1 << 1,
    RTK_HTTP__R_CLOSE = 1 << 2, /* close the connection after this response */
};

/* This layer's part of a request: the user area of its rtk_h1_req. */
struct rtk_http__rq {
    rtk_http_server *srv;
    rtk_http_conn *conn;       /* NULL once the connection is gone */
    rtk_h1_req *next;          /* queue order */
    struct rtk_http__wr *resp; /* response built, waiting for the earlier ones */
    uint64_t start_ns;         /* uv_hrtime() at the first byte */
    uint16_t flags;            /* enum rtk_http__rq_flag */
};

/* One write: the request and the bytes in one allocation, freed in the write callback. */
struct rtk_http__wr {
    uv_write_t w;                        /* w.data is the connection */
    void (*done)(void *arg, int status); /* raw writes of borrowed bytes */
    void *arg;
    size_t len;
    int close_after; /* HTTP: close once this is on its way */
    char data[];
};

struct rtk_http__list {
    struct rtk_http_conn *first, *last;
};

struct rtk_http_server {
    uv_tcp_t listener;
    uv_timer_t timer; /* fires at the earliest deadline of the timed lists */
    uv_idle_t idle;   /* runs the DEFER list on the next loop turn */
    uv_timer_t trim;  /* gives freed body memory back to the system (see note_body_freed) */
    uv_loop_t *loop;
    rtk_http_config cfg; /* defaults applied */
    rtk_h1_config h1cfg; /* the parser's limits, from cfg */
    rtk_http_handler handler;
    void *data;
    int port;
    unsigned nconns;
    rtk_slab conn_slab; /* the connections (util/rtk_slab.h: they outlive their requests) */
    rtk_map per_ip;   /* client address -> struct rtk_http__ipcount */
    size_t body_mem;  /* what all bodies being read are charged (max_body_mem) */
    size_t trim_due;  /* large body buffers freed since the last trim (bytes) */
    uint64_t trim_at; /* loop time (ms) of the last trim */
    unsigned burst;   /* connections accepted since the last trim */
    int stopping;
    int open_handles; /* listener, timer, idle, trim: counted down while stopping */
    uint64_t timer_due;
    void (*stop_cb)(void *arg);
    void *stop_arg;
    struct rtk_http__list lists[RTK_HTTP__NLISTS];
    struct rtk_http__bodies bodies; /* see rtk_http__bodies: the body deadlines */
    time_t date_sec;
    char date[40];
    char rbuf[RTK_HTTP__READ_BUF]; /* the shared read buffer */
};

#endif
