/* SPDX-License-Identifier: MIT */
/* rtk_chan.c - WebSocket connections of peers: framing in, frames out, closes.
 *
 * Reads arrive in the HTTP layer's shared buffer. Whole frames are parsed (and unmasked) in
 * place and handed on without a copy; only the tail of an incomplete frame is copied into a
 * per-connection buffer, which is freed as soon as the frame completes. A fragmented message
 * is assembled in its own buffer, bounded at 64 KiB by the codec. An idle peer therefore holds
 * no buffers at all. */
#include "chan/rtk_chan.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan/rtk_chan_msg.h"
#include "net/rtk_sendpool.h"
#include "net/rtk_ws.h"
#include "util/rtk_err.h"
#include "util/rtk_metrics.h"
#include "util/rtk_slab.h"

/* Frames a connection is sent during one loop turn, written together by one writev. */
typedef struct outq {
    uint32_t n, cap;
    size_t bytes;
    rtk_frame *f[]; /* one reference each */
} outq;

typedef struct chan {
    rtk_http_conn *conn;
    rtk_live *live;
    rtk_peer *peer;         /* NULL once live has forgotten it (or before the join) */
    uint8_t *in;            /* bytes of an incomplete frame, or NULL */
    uint8_t *msg;           /* fragments of an incomplete message, or NULL */
    outq *out;              /* frames waiting for the end of this loop turn, or NULL */
    struct chan *dirty_next; /* on the list of connections with frames waiting */
    uint32_t in_len;
    uint32_t msg_len;
    rtk_ws_state ws;
    uint8_t closing;        /* a close frame was sent or the connection is going */
    uint8_t on_list;        /* on the dirty list (so it must outlive on_close until flushed) */
    uint8_t dead;           /* on_close ran while on the list: free at the next flush */
    uint8_t greeted;        /* the first frame (hello) is queued */
    uint8_t close_after;    /* CLOSE_*: a close frame waits on the list; close once it is out */
} chan;

/* The channels live as long as their connections: a slab keeps them apart from the heap's
 * short-lived allocations (util/rtk_slab.h). One loop thread, like dirty_head below. */
static rtk_slab chans;

static chan *chan_new(void)
{
    if (chans.slot == 0)
        rtk_slab_init(&chans, sizeof(chan));
    return rtk_slab_calloc(&chans);
}

static void chan_free(chan *c)
{
    rtk_slab_free(&chans, c);
}

enum { CLOSE_NONE, CLOSE_NOW, CLOSE_AWAITING };

/* Output coalescing. Everything a peer is sent during one loop turn (hello, pongs, the
 * coalesced updates of many polls, a poll.voted) goes out in one writev at the end of the turn:
 * one system call per peer per turn instead of one per frame. The loop-turn owner flushes
 * once per turn, after the store's commit released what waited on it and before the loop
 * blocks, so nothing waits past that point. */
static chan *dirty_head;

static rtk_chan_config config = {.max_outbound = 1024 * 1024, .heartbeat_ms = 25000};

void rtk_chan_configure(const rtk_chan_config *cfg)
{
    if (cfg->max_outbound)
        config.max_outbound = cfg->max_outbound;
    if (cfg->heartbeat_ms)
        config.heartbeat_ms = cfg->heartbeat_ms;
}

size_t rtk_chan_conn_size(void)
{
    return sizeof(chan);
}

static void batch_done(void *arg, int status)
{
    outq *q = arg;
    (void)status;
    for (uint32_t i = 0; i < q->n; i++)
        rtk_frame_unref(q->f[i]);
    free(q);
}

static void out_push(chan *c, rtk_frame *f)
{
    if (c->out == NULL) {
        c->out = rtk_xmalloc(sizeof(outq) + 4 * sizeof(rtk_frame *));
        c->out->n = 0;
        c->out->cap = 4;
        c->out->bytes = 0;
        if (!c->on_list) {
            c->on_list = 1;
            c->dirty_next = dirty_head;
            dirty_head = c;
        }
    } else if (c->out->n == c->out->cap) {
        c->out->cap *= 2;
        c->out = rtk_xrealloc(c->out, sizeof(outq) + c->out->cap * sizeof(rtk_frame *));
    }
    c->out->f[c->out->n++] = rtk_frame_ref(f);
    c->out->bytes += f->len;
}

/* Writes what waits for |c| in one writev. */
static void flush(chan *c)
{
    outq *q = c->out;
    if (q == NULL)
        return;
    c->out = NULL;
    uv_buf_t stack[16];
    uv_buf_t *bufs = q->n <= 16 ? stack : rtk_xmalloc(q->n * sizeof(*bufs));
    for (uint32_t i = 0; i < q->n; i++)
        bufs[i] = uv_buf_init((char *)q->f[i]->data, (unsigned)q->f[i]->len);
    if (rtk_http_raw_writev(c->conn, bufs, q->n, batch_done, q) != 0)
        batch_done(q, UV_EPIPE); /* not taken: the connection is going */
    if (bufs != stack)
        free(bufs);
}

/* Closes |c| once its close frame is written, when close_with left that to the flush. */
static void finish(chan *c)
{
    uint8_t how = c->close_after;
    c->close_after = CLOSE_NONE;
    if (how == CLOSE_AWAITING)
        rtk_http_raw_close_awaiting(c->conn);
    else if (how == CLOSE_NOW)
        rtk_http_raw_close(c->conn);
}

/* Pops the dirty list's head; frees it instead (and returns NULL) if on_close ran meanwhile. */
static chan *pop_dirty(void)
{
    chan *c = dirty_head;
    dirty_head = c->dirty_next;
    c->on_list = 0;
    if (c->dead) {
        free(c->out); /* emptied by close_with or on_close before */
        chan_free(c);
        return NULL;
    }
    return c;
}

/* A broadcast's flush: the sends of a batch, spread over the send pool's threads. */
typedef struct batch {
    rtk_send_item *items;
    outq **queues; /* the frames each item sends (one reference each) */
    chan **chans;
    uv_buf_t *bufs; /* every item's buffers, one after another */
    size_t n, cap, nbufs, bufs_cap;
} batch;

/* Kept between turns, so a broadcast allocates nothing once warm, and bounded: a broadcast to
 * more peers goes out in several batches of BATCH_MAX (about 100 KB of arrays, not 56 bytes
 * per peer of the largest meeting: at 15,000 peers that showed as 70 more bytes of idle
 * memory per peer). */
#define BATCH_MAX 2048
static batch big;

static void batch_add(chan *c, int fd)
{
    outq *q = c->out;
    c->out = NULL;
    if (big.n == big.cap) {
        big.cap = big.cap ? 2 * big.cap : 1024;
        big.items = rtk_xrealloc(big.items, big.cap * sizeof(*big.items));
        big.queues = rtk_xrealloc(big.queues, big.cap * sizeof(*big.queues));
        big.chans = rtk_xrealloc(big.chans, big.cap * sizeof(*big.chans));
    }
    while (big.nbufs + q->n > big.bufs_cap) {
        big.bufs_cap = big.bufs_cap ? 2 * big.bufs_cap : 2048;
        big.bufs = rtk_xrealloc(big.bufs, big.bufs_cap * sizeof(*big.bufs));
    }
    /* The item's iov is set once the batch is complete (big.bufs may still move). */
    big.items[big.n] = (rtk_send_item){.fd = fd, .iovcnt = (int)q->n, .iov = NULL, .res = 0};
    for (uint32_t i = 0; i < q->n; i++)
        big.bufs[big.nbufs++] = uv_buf_init((char *)q->f[i]->data, (unsigned)q->f[i]->len);
    big.queues[big.n] = q;
    big.chans[big.n] = c;
    big.n++;
}

/* uv_buf_t is laid out as struct iovec on Unix (libuv's promise): the same buffers serve both. */
_Static_assert(sizeof(uv_buf_t) == sizeof(struct iovec) &&
                   offsetof(uv_buf_t, base) == offsetof(struct iovec, iov_base) &&
                   offsetof(uv_buf_t, len) == offsetof(struct iovec, iov_len),
               "uv_buf_t is not a struct iovec");

static void batch_send(void)
{
    size_t first = 0; /* each item's buffers follow the previous item's */
    for (size_t i = 0; i < big.n; i++) {
        big.items[i].iov = (const struct iovec *)(const void *)&big.bufs[first];
        first += (size_t)big.items[i].iovcnt;
    }
    unsigned long long helped = rtk_sendpool_helped();
    rtk_sendpool_send(big.items, big.n);
    helped = rtk_sendpool_helped() - helped;
    rtk_metrics_add(RTK_MC_WS_BATCH_HELPER, helped);
    rtk_metrics_add(RTK_MC_WS_BATCH_LOOP, big.n - helped);
    for (size_t i = 0; i < big.n; i++) {
        const uv_buf_t *bufs = (const uv_buf_t *)(const void *)big.items[i].iov;
        if (rtk_http_raw_writev_sent(big.chans[i]->conn, bufs, (unsigned)big.items[i].iovcnt,
                                     big.items[i].res, batch_done, big.queues[i]) != 0)
            batch_done(big.queues[i], UV_EPIPE);
        finish(big.chans[i]);
    }
    big.n = 0;
    big.nbufs = 0;
}

static void flush_all(void)
{
    size_t waiting = 0;
    if (rtk_sendpool_threads() > 0)
        for (const chan *c = dirty_head; c != NULL && waiting < RTK_SENDPOOL_MIN; c = c->dirty_next)
            waiting++;
    if (waiting < RTK_SENDPOOL_MIN) {
        /* A few peers (or no helper): one writev each, here. */
        while (dirty_head != NULL) {
            chan *c = pop_dirty();
            if (c != NULL) {
                flush(c);
                finish(c);
            }
        }
        return;
    }
    /* Many: every peer that nothing else waits on goes into one batch for the send pool;
     * a peer with bytes still queued is written behind them as usual. */
    while (dirty_head != NULL) {
        chan *c = pop_dirty();
        if (c == NULL)
            continue;
        int fd = c->out != NULL ? rtk_http_raw_direct_fd(c->conn) : -1;
        if (fd >= 0) {
            batch_add(c, fd);
            if (big.n == BATCH_MAX)
                batch_send();
            continue;
        }
        flush(c);
        finish(c);
    }
    if (big.n > 0)
        batch_send();
}

void rtk_chan_flush(void)
{
    flush_all();
}

void rtk_chan_stop(void)
{
    flush_all();
}

/* Queues |f| unless that would put |c| over its outbound limit. The server's own first frame
 * never counts against it: a peer cannot be slow before it was sent anything (and the hello
 * fits the limit by construction anyway, rtk_live.h's poll bounds). */
static int queue_frame(chan *c, rtk_frame *f)
{
    if (c->closing)
        return RTK_ETOOBIG;
    size_t waiting = c->out ? c->out->bytes : 0;
    if (c->greeted && waiting > 0 &&
        rtk_http_raw_write_queue_size(c->conn) + waiting + f->len > config.max_outbound) {
        /* Much is sent in this turn (a long roster): what the kernel takes now is not unsent,
         * so write it before judging the peer slow. */
        flush(c);
        waiting = 0;
    }
    if (c->greeted &&
        rtk_http_raw_write_queue_size(c->conn) + waiting + f->len > config.max_outbound)
        return RTK_ETOOBIG;
    c->greeted = 1;
    out_push(c, f);
    return 0;
}

/* rtkd_ws_messages_total's type label of each message live sends. */
static const uint8_t out_type[] = {
    [RTK_MSG_HELLO] = RTK_MWO_HELLO,
    [RTK_MSG_ADMITTED] = RTK_MWO_ADMITTED,
    [RTK_MSG_REFUSED] = RTK_MWO_REFUSED,
    [RTK_MSG_SESSION_UPDATED] = RTK_MWO_SESSION_UPDATED,
    [RTK_MSG_PARTICIPANTS_UPDATED] = RTK_MWO_PARTICIPANTS_UPDATED,
    [RTK_MSG_WAITING_UPDATED] = RTK_MWO_WAITING_UPDATED,
    [RTK_MSG_POLL_CREATED] = RTK_MWO_POLL_CREATED,
    [RTK_MSG_POLL_UPDATED] = RTK_MWO_POLL_UPDATED,
    [RTK_MSG_POLL_VOTED] = RTK_MWO_POLL_VOTED,
    [RTK_MSG_KICKED] = RTK_MWO_KICKED,
    [RTK_MSG_DONE] = RTK_MWO_DONE,
    [RTK_MSG_PONG] = RTK_MWO_PONG,
    [RTK_MSG_ERROR] = RTK_MWO_ERROR,
    [RTK_MSG_PING] = RTK_MWO_WS_PING,
};

static int chan_send(void *conn, rtk_live_msg *msg, const char *ref, size_t ref_len)
{
    chan *c = conn;
    if (c->closing)
        return RTK_ETOOBIG;
    if (msg->type >= 0 && (size_t)msg->type < sizeof(out_type))
        rtk_metrics_ws_out(out_type[msg->type]);
    rtk_frame *f = rtk_chan_msg_frame(msg, ref, ref_len, config.heartbeat_ms);
    int rc = queue_frame(c, f);
    rtk_frame_unref(f);
    return rc;
}

/* Sends a close frame (after whatever waits) and closes; with |await|, a close we start
 * politely, waits for the client's answering close frame before closing the TCP connection
 * (RFC 6455 §7.1.1: the server closes it once both close frames have passed). With |later|,
 * the frame waits for the end of the loop turn like any other and the close follows its
 * write: a kick-all's thousands of close frames then leave in one batch (rtk_sendpool). The
 * peer (if any) must already be forgotten by live. */
static void close_with(chan *c, uint16_t code, const char *reason, int await, int later)
{
    uint8_t frame[127];
    if (c->closing)
        return;
    c->closing = 1;
    size_t n = rtk_ws_close_frame(frame, code, reason);
    rtk_frame *f = rtk_frame_new(RTK_WS_OP_CLOSE, frame + 2, n - 2);
    out_push(c, f);
    rtk_frame_unref(f);
    c->close_after = await ? CLOSE_AWAITING : CLOSE_NOW;
    if (later)
        return;
    flush(c);
    finish(c);
}

static void chan_close(void *conn, int why)
{
    static const struct {
        uint16_t code;
        const char *reason;
    } codes[] = {
        [RTK_LIVE_LEFT] = {RTK_WS_CLOSE_NORMAL, NULL},
        [RTK_LIVE_KICKED] = {4001, "kicked"},
        [RTK_LIVE_REPLACED] = {4002, "replaced"},
        [RTK_LIVE_REMOVED] = {4003, "participant deleted"},
        [RTK_LIVE_TIMEOUT] = {RTK_WS_CLOSE_GOING_AWAY, "heartbeat timeout"},
        [RTK_LIVE_SHUTDOWN] = {RTK_WS_CLOSE_GOING_AWAY, "server shutting down"},
        [RTK_LIVE_SLOW] = {RTK_WS_CLOSE_POLICY, "slow consumer"},
        [RTK_LIVE_FLOOD] = {RTK_WS_CLOSE_POLICY, "rate limit"},
        [RTK_LIVE_REFUSED] = {4004, "refused"},
        [RTK_LIVE_DRAINING] = {1012, "node draining"},
    };
    static const uint8_t reasons[] = {
        [RTK_LIVE_LEFT] = RTK_MWC_LEFT,         [RTK_LIVE_KICKED] = RTK_MWC_KICKED,
        [RTK_LIVE_REPLACED] = RTK_MWC_REPLACED, [RTK_LIVE_REMOVED] = RTK_MWC_REMOVED,
        [RTK_LIVE_TIMEOUT] = RTK_MWC_TIMEOUT,   [RTK_LIVE_SHUTDOWN] = RTK_MWC_SHUTDOWN,
        [RTK_LIVE_SLOW] = RTK_MWC_SLOW,         [RTK_LIVE_FLOOD] = RTK_MWC_FLOOD,
        [RTK_LIVE_REFUSED] = RTK_MWC_REFUSED,   [RTK_LIVE_DRAINING] = RTK_MWC_SHUTDOWN,
    };
    chan *c = conn;
    c->peer = NULL;
    if (why < 0 || why >= (int)(sizeof(codes) / sizeof(codes[0])))
        why = RTK_LIVE_LEFT;
    if (!c->closing)
        rtk_metrics_ws_close(reasons[why]);
    /* kicked, replaced, removed, going away: a client answers those; 1008 (flooding, too
     * slow) is a failure */
    /* A kick waits for the turn's flush; a server stop (whose connections the HTTP layer
     * closes next) and a failure close at once. */
    close_with(c, codes[why].code, codes[why].reason, codes[why].code != RTK_WS_CLOSE_POLICY,
               why == RTK_LIVE_KICKED);
}

const rtk_live_transport rtk_chan_transport = {
    .send = chan_send,
    .release = rtk_chan_msg_release,
    .close = chan_close,
};

/* The connection fails on our side: the peer leaves, and the client hears why. */
static void fail(chan *c, uint16_t code, const char *reason)
{
    if (!c->closing)
        rtk_metrics_ws_close(code == RTK_WS_CLOSE_GOING_AWAY ? RTK_MWC_SHUTDOWN
                             : code == RTK_WS_CLOSE_POLICY   ? RTK_MWC_SLOW
                                                             : RTK_MWC_PROTOCOL);
    if (c->peer != NULL) {
        rtk_peer *p = c->peer;
        c->peer = NULL;
        rtk_live_leave(c->live, p);
    }
    close_with(c, code, reason, code == RTK_WS_CLOSE_GOING_AWAY, 0);
}

static rtk_chan_kick_fn kick_fn;
static void *kick_arg;

void rtk_chan_set_kick(rtk_chan_kick_fn fn, void *arg)
{
    kick_fn = fn;
    kick_arg = arg;
}

int rtk_chan_dispatch(rtk_live *live, rtk_peer *peer, const char *text, size_t len)
{
    int rc = rtk_live_admit(live, peer);
    if (rc == RTK_ETOOBIG)
        return rc; /* dropped by the rate limit: live called the transport's close already */
    if (rc != 0)
        return 0; /* refused with rate_limited */
    static const uint8_t in_type[] = {
        [RTK_CREQ_INVALID] = RTK_MWI_INVALID, [RTK_CREQ_PING] = RTK_MWI_PING,
        [RTK_CREQ_VOTE] = RTK_MWI_VOTE,       [RTK_CREQ_POLL_CREATE] = RTK_MWI_POLL_CREATE,
        [RTK_CREQ_KICK] = RTK_MWI_KICK,       [RTK_CREQ_KICK_ALL] = RTK_MWI_KICK_ALL,
        [RTK_CREQ_ADMIT] = RTK_MWI_ADMIT,     [RTK_CREQ_REFUSE] = RTK_MWI_REFUSE,
    };
    rtk_chan_req req;
    rtk_chan_req_parse(text, len, &req);
    rtk_metrics_ws_in(req.type >= 0 && (size_t)req.type < sizeof(in_type) ? in_type[req.type]
                                                                          : RTK_MWI_INVALID);
    switch (req.type) {
    case RTK_CREQ_PING: rtk_live_ping(live, peer, req.ref, req.ref_len); break;
    case RTK_CREQ_VOTE:
        rtk_live_vote(live, peer, req.poll_id, req.option, req.ref, req.ref_len);
        break;
    case RTK_CREQ_POLL_CREATE:
        rtk_live_host_poll(live, peer, &req.poll.spec, req.ref, req.ref_len);
        break;
    case RTK_CREQ_KICK:
        if (rtk_live_may_kick(live, peer, req.ref, req.ref_len)) {
            if (kick_fn != NULL)
                kick_fn(kick_arg, live, peer, req.ids, req.nids, req.nids - req.ncustom, req.ref,
                        req.ref_len);
            else
                rtk_live_reject(live, peer, "unavailable", "Kicks are not served here", req.ref,
                                req.ref_len);
        }
        break;
    case RTK_CREQ_KICK_ALL: rtk_live_host_kick_all(live, peer, req.ref, req.ref_len); break;
    case RTK_CREQ_ADMIT:
    case RTK_CREQ_REFUSE:
        rtk_live_host_waiting(live, peer, req.type == RTK_CREQ_ADMIT, req.ids, req.nids, req.ref,
                              req.ref_len);
        break;
    default:
        rtk_live_reject(live, peer, req.error_code, req.error_text, req.ref, req.ref_len);
        break;
    }
    rtk_chan_req_free(&req);
    return 0;
}

static void deliver(chan *c, const uint8_t *text, size_t len)
{
    if (c->peer != NULL && rtk_chan_dispatch(c->live, c->peer, (const char *)text, len) != 0)
        c->peer = NULL;
}

/* Handles one parsed frame. Returns -1 when the connection is finished. */
static int on_frame(chan *c, const rtk_ws_frame *f)
{
    if (c->peer != NULL)
        rtk_live_heard(c->live, c->peer);
    switch (f->opcode) {
    case RTK_WS_OP_TEXT:
    case RTK_WS_OP_CONT:
        if (f->fin && f->opcode == RTK_WS_OP_TEXT) {
            deliver(c, f->payload, f->len);
            return 0;
        }
        /* A fragment: the codec has bounded the whole message at RTK_WS_MAX_MESSAGE. */
        c->msg = rtk_xrealloc(c->msg, c->msg_len + f->len + 1);
        memcpy(c->msg + c->msg_len, f->payload, f->len);
        c->msg_len += (uint32_t)f->len;
        if (f->fin) {
            deliver(c, c->msg, c->msg_len);
            free(c->msg);
            c->msg = NULL;
            c->msg_len = 0;
        }
        return 0;
    case RTK_WS_OP_PING: {
        rtk_frame *pong = rtk_frame_new(RTK_WS_OP_PONG, f->payload, f->len);
        if (queue_frame(c, pong) != 0) {
            rtk_frame_unref(pong);
            fail(c, RTK_WS_CLOSE_POLICY, "slow consumer");
            return -1;
        }
        rtk_frame_unref(pong);
        return 0;
    }
    case RTK_WS_OP_PONG:
        return 0;
    case RTK_WS_OP_CLOSE: {
        uint16_t code = RTK_WS_CLOSE_NORMAL;
        int rc = rtk_ws_close_parse(f->payload, f->len, &code);
        /* RFC 6455 §5.5.1: answer a close with a close (echoing its code), then close. */
        if (rc < 0) {
            fail(c, code, "bad close frame");
        } else {
            if (c->peer != NULL) {
                rtk_peer *p = c->peer;
                c->peer = NULL;
                rtk_live_leave(c->live, p);
            }
            close_with(c, (uint16_t)rc, NULL, 0, 0); /* the echo: the client has said all */
        }
        return -1;
    }
    default:
        fail(c, RTK_WS_CLOSE_PROTOCOL, "unexpected opcode");
        return -1;
    }
}

static const char *close_reason(uint16_t code)
{
    switch (code) {
    case RTK_WS_CLOSE_UNSUPPORTED: return "binary frames are not supported";
    case RTK_WS_CLOSE_INVALID_DATA: return "invalid UTF-8";
    case RTK_WS_CLOSE_TOO_BIG: return "message too big";
    default: return "protocol error";
    }
}

static void on_read(rtk_http_conn *conn, void *user, ssize_t nread, const char *data)
{
    chan *c = user;
    (void)conn;
    if (nread < 0) {
        /* The peer vanished (EOF or error): it leaves now. */
        if (c->peer != NULL) {
            rtk_peer *p = c->peer;
            c->peer = NULL;
            rtk_live_leave(c->live, p);
        }
        c->closing = 1;
        return;
    }
    if (c->closing)
        return; /* after our close frame, input is only drained */

    /* The shared read buffer is the server's writable memory, lent to us for this call; the
     * codec unmasks payloads in place there. */
    uint8_t *buf = (uint8_t *)data;
    size_t len = (size_t)nread;
    if (c->in != NULL) {
        c->in = rtk_xrealloc(c->in, c->in_len + len);
        memcpy(c->in + c->in_len, data, len);
        c->in_len += (uint32_t)len;
        buf = c->in;
        len = c->in_len;
    }
    size_t off = 0;
    while (off < len && !c->closing) {
        rtk_ws_frame f;
        uint16_t code = 0;
        ssize_t r = rtk_ws_parse(&c->ws, buf + off, len - off, &f, &code);
        if (r == RTK_EAGAIN)
            break;
        if (r < 0) {
            fail(c, code, close_reason(code));
            break;
        }
        off += (size_t)r;
        if (on_frame(c, &f) != 0)
            break;
    }
    /* Keep only the tail of an incomplete frame (bounded by the codec's early size checks). */
    size_t rest = c->closing ? 0 : len - off;
    if (rest == 0) {
        free(c->in);
        c->in = NULL;
        c->in_len = 0;
    } else if (buf == c->in) {
        memmove(c->in, c->in + off, rest);
        c->in_len = (uint32_t)rest;
    } else {
        c->in = rtk_xmalloc(rest);
        memcpy(c->in, buf + off, rest);
        c->in_len = (uint32_t)rest;
    }
}

static void on_close(rtk_http_conn *conn, void *user)
{
    chan *c = user;
    (void)conn;
    if (c->peer != NULL)
        rtk_live_leave(c->live, c->peer);
    free(c->in);
    free(c->msg);
    if (c->out != NULL) {
        batch_done(c->out, UV_ECANCELED);
        c->out = NULL;
    }
    if (c->on_list)
        c->dead = 1; /* flush_all frees it when it reaches it */
    else
        chan_free(c);
}

static void on_stop(rtk_http_conn *conn, void *user)
{
    chan *c = user;
    (void)conn;
    fail(c, RTK_WS_CLOSE_GOING_AWAY, "server shutting down");
}

static int is_last(const char *data, size_t len)
{
    return rtk_ws_is_close_frame((const uint8_t *)data, len);
}

static const rtk_http_raw_cbs chan_cbs = {
    .on_read = on_read,
    .on_close = on_close,
    .on_stop = on_stop,
    .is_last = is_last,
};

int rtk_chan_accept(rtk_http_req *req, const char *accept, rtk_live *live,
                    const rtk_join_info *ji)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                     accept);
    chan *c = chan_new();
    c->live = live;
    rtk_ws_state_init(&c->ws);
    int rc = rtk_http_upgrade(req, head, (size_t)n, &chan_cbs, c, &c->conn);
    if (rc != 0) {
        chan_free(c);
        return rc;
    }
    c->peer = rtk_live_join(live, ji, c);
    return 0;
}
