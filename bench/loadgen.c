/* SPDX-License-Identifier: MIT */
/* loadgen.c - the peer load generator: N participant-channel peers over K worker processes.
 *
 * Design. The parent reads the tokens, forks K workers and then only coordinates: it never
 * runs a libuv loop, so the workers' loops are created after the fork (libuv's rule). Each
 * worker owns a slice of the peers, binds them to its own source address 127.0.0.(B + w) so
 * that each worker has the whole ephemeral port range to itself, connects them with at most
 * --inflight handshakes outstanding, and answers pings, so held peers stay alive.
 *
 *   parent                         worker w (libuv loop)
 *   ------                         ---------------------
 *   fork ──────────────────────►   connect, upgrade, wait for hello
 *         ◄──── MSG_JOINED ─────   (all peers of the slice resolved: hello or failure)
 *   RSS, ready file
 *   trigger r (HTTP) ─ t0[r]       peers record the arrival (CLOCK_REALTIME µs) of the r-th
 *         ◄──── MSG_ROUND r ────   occurrence of the watched event; all seen (or closed)
 *   "go <poll ids>" ──────────►    vote mode: each peer votes once per poll, one at a time,
 *         ◄──── MSG_VOTED ──────   paced under the server's per-peer message limit
 *   "stop" ───────────────────►
 *         ◄──── MSG_FINAL, arrays, MSG_END
 *
 * Times are CLOCK_REALTIME microseconds so the processes agree; the parent turns them into
 * latencies against its trigger timestamps. Every wait is bounded (--timeout per phase, and
 * --duration for the whole run, which each worker also enforces on itself).
 *
 * Modes:
 *   join     connect all, report join time; hold until --hold, SIGTERM/SIGINT or --duration
 *   watch    join, then --rounds times: send the trigger request and time the arrival of
 *            --event at every peer (poll.created, close, kicked, ...)
 *   vote     join, then create --rounds polls with the trigger (or use --polls), wait for
 *            their poll.created everywhere, then every peer votes once on each poll
 *   mkpeers  create --peers participants over REST (--procs connections) and write their
 *            tokens and ids, one per line, in order
 *   nchan    the same peers against nginx + nchan (bench/nchan.sh): --peers WebSocket
 *            subscribers on --ws-path (no tokens; a peer counts as joined at its 101, nchan
 *            sends no hello), then --rounds times the parent publishes one message of
 *            --size bytes (lg_nchan_message: a JSON text typed poll.created) with the trigger
 *            (default "POST /pub") and every subscriber times its arrival, as in watch mode
 *   stats    `loadgen stats FILE...`: percentiles (lg_stats, nearest rank) of the latencies
 *            that --samples wrote (µs, one per line), so that runs can be pooled
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "lg_http.h"
#include "lg_proto.h"
#include "lg_stats.h"
#include "net/rtk_ws.h"
#include "util/rtk_err.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24 /* linux/in.h; glibc's netinet/in.h lacks it */
#endif

#define MAX_PROCS 64
#define MAX_ROUNDS 256
#define MAX_NODES 16 /* --ports and --server-pid lists */
#define HS_MAX 8192 /* bytes of an upgrade response head we accept */

enum { MODE_JOIN, MODE_WATCH, MODE_VOTE, MODE_MKPEERS, MODE_NCHAN };

typedef struct config {
    int mode;
    const char *host;
    int port;
    int ports[MAX_NODES]; /* --ports: worker w connects to ports[w % nports] (a cluster) */
    int nports;
    const char *tokens_path;
    size_t peers;
    int procs;
    int src_base;       /* last octet of worker 0's source address; 0 = do not bind */
    int inflight;       /* handshakes outstanding per worker */
    double duration_s;  /* hard bound of the whole run */
    double hold_s;      /* join: hold time once joined; 0 = until a signal or the duration */
    double timeout_s;   /* bound of each phase */
    int event;          /* watch: the event timed */
    int rounds;         /* watch/vote: number of triggers */
    double gap_s;       /* pause between rounds */
    double settle_s;    /* pause after every peer joined, before the first trigger */
    const char *trig_method;
    const char *trig_path;
    const char *trig_body;
    const char *auth;   /* "Bearer ..." for triggers and mkpeers */
    int options;        /* vote: options per poll */
    const char *polls;  /* vote: comma-separated ids of existing polls */
    double vote_rate;   /* vote: per-peer message rate cap (messages/s) */
    pid_t server_pid;
    pid_t server_pids[MAX_NODES]; /* --server-pid P1,P2,..: CPU and memory are their sums */
    int nserver_pids;
    const char *ready_file;
    const char *out_path;
    const char *cdf_path;
    const char *ids_path;   /* mkpeers */
    const char *post_path;  /* mkpeers: participants collection path */
    const char *prefix;     /* mkpeers: custom_participant_id prefix */
    const char *preset;     /* mkpeers: the participants' preset_name */
    const char *ws_path;    /* nchan: the subscriber location */
    size_t msg_size;        /* nchan: bytes of each published message */
    const char *samples_path; /* watch/nchan: every event latency, µs, one per line */
} config;

/* ---------------------------------------------------------------------------------------- */
/* Clock, pipes                                                                               */

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Worker → parent messages: a header and |n| int64 values. */
enum {
    MSG_JOINED = 1, /* ok, failed, t_first_start, t_last_hello */
    MSG_ROUND,      /* round index */
    MSG_VOTED,      /* nothing */
    MSG_FINAL,      /* FIN_COUNT values */
    MSG_JOIN_US,    /* per peer: hello - start, or -1 */
    MSG_EV_AT,      /* rounds x peers: absolute arrival, 0 = none */
    MSG_VOTE_LAT,   /* one latency per acknowledged vote */
    MSG_END,
};

typedef struct msg_hdr {
    uint32_t kind;
    uint32_t n;
} msg_hdr;

/* Final per-worker figures (MSG_FINAL), after the LG_EV_COUNT event counts. */
enum {
    FIN_JOINED,
    FIN_FAILED,
    FIN_FAIL_CONNECT,
    FIN_FAIL_STATUS,
    FIN_FAIL_CLOSED,
    FIN_FAIL_TIMEOUT,
    FIN_CLOSED_AFTER_JOIN,
    FIN_CLOSE_4001,
    FIN_CLOSE_OTHER,
    FIN_VOTES_SENT,
    FIN_VOTES_ACKED,
    FIN_VOTE_ERRORS,
    FIN_ERR_RATE_LIMITED,
    FIN_ERR_ALREADY_VOTED,
    FIN_T_FIRST_VOTE,
    FIN_T_LAST_ACK,
    FIN_LAST_STATUS,
    FIN_PROTO_ERRORS,
    FIN_N
};
#define FIN_BYTES (LG_EV_COUNT + FIN_N) /* then LG_EV_COUNT payload byte totals */
#define FIN_COUNT (2 * LG_EV_COUNT + FIN_N)

static int write_full(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads exactly |n| bytes. Returns 0, 1 on EOF before anything, or a negative errno. */
static int read_full(int fd, void *p, size_t n)
{
    char *c = p;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, c + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return got == 0 ? 1 : -EPIPE;
        got += (size_t)r;
    }
    return 0;
}

static int send_msg(int fd, uint32_t kind, const int64_t *v, size_t n)
{
    msg_hdr h = {kind, (uint32_t)n};
    int rc = write_full(fd, &h, sizeof(h));
    if (rc == 0 && n > 0)
        rc = write_full(fd, v, n * sizeof(*v));
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Worker                                                                                     */

enum { P_IDLE, P_CONNECTING, P_UPGRADING, P_OPEN, P_CLOSED };

typedef struct worker worker;

typedef struct peer {
    uv_tcp_t tcp;
    uv_connect_t creq;
    lg_reader rd;
    worker *w;
    char *hs;            /* upgrade response head so far, or NULL */
    int64_t t_start;
    int64_t t_hello;     /* 0 until hello */
    int64_t vote_sent;   /* send time of the outstanding vote, 0 = none */
    int64_t last_send;   /* last message sent, for pacing */
    uint32_t idx;        /* index in the worker's slice */
    uint32_t hs_len;
    uint16_t ev_seen;    /* occurrences of the watched event */
    uint16_t vote_next;  /* index of the next poll to vote on */
    uint8_t state;
    uint8_t handle_open; /* uv_tcp_init done and uv_close not yet called */
    uint8_t resolved;    /* counted in the join phase (hello or failure) */
    uint8_t queued;      /* on the pacing queue */
    uint8_t votes_done;
    uint8_t echo_pending; /* its close is counted; the echo and close() wait (flush_echoes) */
    uint16_t echo_code;
} peer;

struct worker {
    const config *cfg;
    uv_loop_t loop;
    uv_pipe_t cmd;
    uv_timer_t deadline;
    uv_timer_t pace;
    struct sockaddr_in dst;
    struct sockaddr_in src;
    int bind_src;
    int report_fd;
    char **tokens;
    size_t n;
    size_t first;        /* global index of peer 0 */
    peer *peers;
    size_t next;         /* next peer to start */
    int inflight;
    size_t resolved;
    int join_reported;
    int64_t fin[FIN_N];
    uint64_t counts[LG_EV_COUNT];
    uint64_t bytes[LG_EV_COUNT];
    int64_t *join_us;
    int64_t *ev_at;      /* rounds * n */
    size_t *round_hits;  /* per round: peers that saw it */
    size_t *missing_from; /* per round: joined peers that closed having seen fewer */
    int rounds_reported;
    int64_t *vote_lat;
    size_t vote_lat_n;
    size_t vote_lat_cap;
    char **poll_ids;
    int npolls;
    int voting;
    size_t voters;       /* joined and open when voting started */
    size_t voters_done;
    int voted_reported;
    peer **queue;        /* pacing queue */
    peer **echoes;       /* peers whose close frame is counted and not answered yet */
    size_t echoes_n;
    size_t queue_n;
    char cmdbuf[65536];
    size_t cmd_len;
    int finishing;
    uint8_t rbuf[65536]; /* the one read buffer of the worker */
};

static void peer_closed_cb(uv_handle_t *h)
{
    (void)h; /* peers live in the worker's array, freed after the loop ends */
}

static void check_progress(worker *w);

static void peer_close(peer *p)
{
    worker *w = p->w;
    if (p->handle_open && !p->echo_pending) {
        p->handle_open = 0;
        uv_close((uv_handle_t *)&p->tcp, peer_closed_cb);
    }
    for (int i = 0; i < LG_EV_COUNT; i++) {
        w->counts[i] += p->rd.counts[i];
        w->bytes[i] += p->rd.bytes[i];
    }
    memset(p->rd.counts, 0, sizeof(p->rd.counts));
    memset(p->rd.bytes, 0, sizeof(p->rd.bytes));
    lg_reader_free(&p->rd);
    free(p->hs);
    p->hs = NULL;
    p->state = P_CLOSED;
}

static void start_more(worker *w);

/* The peer failed before its hello. */
static void peer_fail(peer *p, int why, int status)
{
    worker *w = p->w;
    if (!p->resolved) {
        p->resolved = 1;
        w->resolved++;
        w->inflight--;
        w->fin[FIN_FAILED]++;
        w->fin[why]++;
        if (status)
            w->fin[FIN_LAST_STATUS] = status;
        w->join_us[p->idx] = -1;
    }
    peer_close(p);
    start_more(w);
    check_progress(w);
}

/* A joined peer has gone (close frame, EOF or error): the "close" event, if watched. */
static void peer_gone(peer *p, int64_t t, int code)
{
    worker *w = p->w;
    if (p->state == P_CLOSED)
        return;
    if (p->t_hello == 0) {
        peer_fail(p, FIN_FAIL_CLOSED, 0);
        return;
    }
    w->fin[FIN_CLOSED_AFTER_JOIN]++;
    w->fin[code == 4001 ? FIN_CLOSE_4001 : FIN_CLOSE_OTHER]++;
    int rounds = w->cfg->rounds;
    if (w->cfg->event == LG_EV_CLOSE && p->ev_seen < rounds) {
        w->ev_at[(size_t)p->ev_seen * w->n + p->idx] = t;
        w->round_hits[p->ev_seen]++;
        p->ev_seen++;
    }
    if (p->ev_seen < rounds)
        w->missing_from[p->ev_seen]++;
    if (w->voting && !p->votes_done) {
        p->votes_done = 1;
        w->voters_done++;
    }
    peer_close(p);
    check_progress(w);
}

typedef struct wreq {
    uv_write_t req;
    char data[];
} wreq;

static void write_done(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

/* Sends |len| bytes now if the socket takes them, else queues the rest. */
static int send_bytes(peer *p, void *data, size_t len)
{
    if (!p->handle_open)
        return -1;
    uv_buf_t b = uv_buf_init(data, (unsigned)len);
    int r = uv_try_write((uv_stream_t *)&p->tcp, &b, 1);
    if (r == (int)len)
        return 0;
    if (r < 0 && r != UV_EAGAIN)
        return r;
    size_t off = r > 0 ? (size_t)r : 0;
    wreq *wr = rtk_xmalloc(sizeof(*wr) + len - off);
    memcpy(wr->data, (const char *)data + off, len - off);
    b = uv_buf_init(wr->data, (unsigned)(len - off));
    r = uv_write(&wr->req, (uv_stream_t *)&p->tcp, &b, 1, write_done);
    if (r != 0)
        free(wr);
    return r;
}

static int send_frame(peer *p, int opcode, const void *payload, size_t len)
{
    uint8_t buf[1024];
    ssize_t n = lg_frame_build(buf, sizeof(buf), opcode, payload, len, (uint32_t)rand());
    if (n < 0)
        return (int)n;
    return send_bytes(p, buf, (size_t)n);
}

/* RFC 6455 §5.5.1: answers a close with |code| (1005: none), then lets the server end the
 * TCP connection. */
static void send_close_echo(peer *p, int code)
{
    uint8_t echo[2] = {(uint8_t)(code >> 8), (uint8_t)code};
    send_frame(p, RTK_WS_OP_CLOSE, echo, code == 1005 ? 0 : 2);
}

static void send_vote(peer *p, int64_t t);

static void pace_tick(uv_timer_t *t)
{
    worker *w = t->data;
    int64_t now = now_us(), gap = (int64_t)(1e6 / w->cfg->vote_rate);
    size_t keep = 0;
    for (size_t i = 0; i < w->queue_n; i++) {
        peer *p = w->queue[i];
        if (p->state != P_OPEN) {
            p->queued = 0;
        } else if (now - p->last_send >= gap) {
            p->queued = 0;
            send_vote(p, now);
        } else {
            w->queue[keep++] = p;
        }
    }
    /* send_vote() never queues from here (the gap has passed), so |keep| is exact. */
    w->queue_n = keep;
    if (keep == 0)
        uv_timer_stop(&w->pace);
}

static void send_vote(peer *p, int64_t t)
{
    worker *w = p->w;
    int64_t gap = (int64_t)(1e6 / w->cfg->vote_rate);
    if (p->vote_next >= w->npolls || p->state != P_OPEN)
        return;
    if (t - p->last_send < gap) {
        /* PROTOCOL.md §2: a peer may send 50 messages/s; stay under it. */
        if (!p->queued) {
            p->queued = 1;
            w->queue[w->queue_n++] = p;
            if (!uv_is_active((uv_handle_t *)&w->pace))
                uv_timer_start(&w->pace, pace_tick, 1, 1);
        }
        return;
    }
    char msg[256];
    size_t gidx = w->first + p->idx;
    int n = snprintf(msg, sizeof(msg),
                     "{\"type\":\"poll.vote\",\"poll_id\":\"%s\",\"option\":%d,\"ref\":\"%u\"}",
                     w->poll_ids[p->vote_next], (int)((gidx + p->vote_next) % w->cfg->options),
                     (unsigned)p->vote_next);
    p->vote_sent = t;
    p->last_send = t;
    if (w->fin[FIN_T_FIRST_VOTE] == 0 || t < w->fin[FIN_T_FIRST_VOTE])
        w->fin[FIN_T_FIRST_VOTE] = t;
    w->fin[FIN_VOTES_SENT]++;
    if (send_frame(p, RTK_WS_OP_TEXT, msg, (size_t)n) != 0)
        peer_gone(p, t, 0);
}

/* The reply to the outstanding vote: poll.voted (|ok|) or an error. */
static void vote_reply(peer *p, const lg_frame *f, int64_t t, int ok)
{
    worker *w = p->w;
    const char *ref, *code;
    size_t rl, cl;
    if (p->vote_sent == 0)
        return;
    if (lg_json_top_string((const char *)f->payload, f->len, "ref", &ref, &rl) != 0 ||
        (size_t)atoi(ref) != p->vote_next)
        return; /* not the reply to our vote */
    if (ok) {
        w->fin[FIN_VOTES_ACKED]++;
        if (t > w->fin[FIN_T_LAST_ACK])
            w->fin[FIN_T_LAST_ACK] = t;
        if (w->vote_lat_n == w->vote_lat_cap) {
            w->vote_lat_cap = w->vote_lat_cap ? 2 * w->vote_lat_cap : 4096;
            w->vote_lat = rtk_xrealloc(w->vote_lat, w->vote_lat_cap * sizeof(int64_t));
        }
        w->vote_lat[w->vote_lat_n++] = t - p->vote_sent;
    } else {
        w->fin[FIN_VOTE_ERRORS]++;
        if (lg_json_top_string((const char *)f->payload, f->len, "code", &code, &cl) == 0) {
            if (cl == 12 && memcmp(code, "rate_limited", 12) == 0)
                w->fin[FIN_ERR_RATE_LIMITED]++;
            else if (cl == 13 && memcmp(code, "already_voted", 13) == 0)
                w->fin[FIN_ERR_ALREADY_VOTED]++;
        }
    }
    p->vote_sent = 0;
    p->vote_next++;
    if (p->vote_next >= w->npolls) {
        if (!p->votes_done) {
            p->votes_done = 1;
            w->voters_done++;
            check_progress(w);
        }
        return;
    }
    send_vote(p, t);
}

/* The peer has joined: rtkd's hello, or nchan's 101 (nchan greets with nothing). */
static void peer_joined(peer *p, int64_t t)
{
    worker *w = p->w;
    if (p->t_hello != 0)
        return;
    p->t_hello = t;
    p->resolved = 1;
    w->resolved++;
    w->inflight--;
    w->fin[FIN_JOINED]++;
    w->join_us[p->idx] = t - p->t_start;
    start_more(w);
    check_progress(w);
}

static int on_frame(void *arg, lg_event ev, const lg_frame *f)
{
    peer *p = arg;
    worker *w = p->w;
    int64_t t = now_us();
    switch (ev) {
    case LG_EV_PING:
        send_frame(p, RTK_WS_OP_PONG, f->payload, f->len);
        break;
    case LG_EV_CLOSE: {
        int code = f->len >= 2 ? (f->payload[0] << 8 | f->payload[1]) : 1005;
        if (w->cfg->event == LG_EV_CLOSE && !w->finishing) {
            /* Closes are what is measured: answer them (flush_echoes) once every peer of this
             * worker has been counted. An echo and a close() per peer cost this process more
             * than reading the frame does; done at once, they would delay the reading of the
             * next peers' close frames and the figure would time the load generator. */
            p->echo_code = (uint16_t)code;
            p->echo_pending = 1;
            uv_read_stop((uv_stream_t *)&p->tcp);
            w->echoes[w->echoes_n++] = p;
        } else {
            send_close_echo(p, code);
        }
        peer_gone(p, t, code);
        return 1;
    }
    case LG_EV_HELLO:
        if (w->cfg->mode != MODE_NCHAN)
            peer_joined(p, t);
        break;
    case LG_EV_POLL_VOTED:
        vote_reply(p, f, t, 1);
        break;
    case LG_EV_ERROR:
        vote_reply(p, f, t, 0);
        break;
    default:
        break;
    }
    if ((int)ev == w->cfg->event && ev != LG_EV_CLOSE && p->ev_seen < w->cfg->rounds &&
        p->t_hello != 0) {
        w->ev_at[(size_t)p->ev_seen * w->n + p->idx] = t;
        w->round_hits[p->ev_seen]++;
        p->ev_seen++;
        check_progress(w);
    }
    return p->state == P_CLOSED; /* stop feeding: the reader's buffer is gone */
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    peer *p = h->data;
    (void)hint;
    *buf = uv_buf_init((char *)p->w->rbuf, sizeof(p->w->rbuf));
}

/* Handles the bytes of the upgrade response; returns the offset of the first frame byte in
 * p->hs once the head is complete (p->hs then holds the rest), 0 while incomplete, -1 after
 * failing the peer. */
static long take_head(peer *p, const char *data, size_t len)
{
    /* The bound is on the head only: one read may also bring the first frames after it (a
     * hello with a roster), which can be longer than any head. */
    p->hs = rtk_xrealloc(p->hs, p->hs_len + len + 1);
    memcpy(p->hs + p->hs_len, data, len);
    p->hs_len += (uint32_t)len;
    p->hs[p->hs_len] = '\0';
    char *end = strstr(p->hs, "\r\n\r\n");
    if (end == NULL || end - p->hs > HS_MAX) {
        if (end == NULL && p->hs_len <= HS_MAX)
            return 0;
        peer_fail(p, FIN_FAIL_STATUS, 0);
        return -1;
    }
    int status = 0;
    if (sscanf(p->hs, "HTTP/1.1 %d", &status) != 1 || status != 101) {
        peer_fail(p, FIN_FAIL_STATUS, status);
        return -1;
    }
    p->state = P_OPEN;
    return end + 4 - p->hs;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    peer *p = s->data;
    if (nread == 0)
        return;
    if (nread < 0) {
        peer_gone(p, now_us(), 0);
        return;
    }
    uint8_t *data = (uint8_t *)buf->base;
    size_t len = (size_t)nread;
    char *head = NULL;
    if (p->state == P_UPGRADING) {
        long off = take_head(p, (const char *)data, len);
        if (off <= 0)
            return;
        head = p->hs; /* frames that came with the head are fed from here */
        p->hs = NULL;
        data = (uint8_t *)head + off;
        len = p->hs_len - (size_t)off;
        p->hs_len = 0;
        if (p->w->cfg->mode == MODE_NCHAN)
            peer_joined(p, now_us());
    }
    if (len > 0) {
        int rc = lg_reader_feed(&p->rd, data, len, on_frame, p);
        if (rc < 0 && p->state != P_CLOSED) {
            p->w->fin[FIN_PROTO_ERRORS]++;
            peer_gone(p, now_us(), 0);
        }
    }
    free(head);
}

static void on_connect(uv_connect_t *req, int status)
{
    peer *p = req->data;
    if (p->state == P_CLOSED)
        return;
    if (status < 0) {
        peer_fail(p, FIN_FAIL_CONNECT, 0);
        return;
    }
    const config *cfg = p->w->cfg;
    char head[2048], target[1536];
    if (cfg->mode == MODE_NCHAN)
        snprintf(target, sizeof(target), "%s", cfg->ws_path);
    else
        snprintf(target, sizeof(target), "/v1/ws?token=%s", p->w->tokens[p->idx]);
    /* The key is a fixed valid nonce: we do not check the accept value, only the 101. */
    int n = snprintf(head, sizeof(head),
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     target, cfg->host, cfg->port);
    if (n <= 0 || (size_t)n >= sizeof(head)) {
        peer_fail(p, FIN_FAIL_STATUS, 0);
        return;
    }
    p->state = P_UPGRADING;
    if (uv_read_start((uv_stream_t *)&p->tcp, on_alloc, on_read) != 0 ||
        send_bytes(p, head, (size_t)n) != 0)
        peer_fail(p, FIN_FAIL_CONNECT, 0);
}

static void start_peer(worker *w, peer *p)
{
    p->t_start = now_us();
    p->state = P_CONNECTING;
    w->inflight++;
    if (uv_tcp_init_ex(&w->loop, &p->tcp, AF_INET) != 0) {
        p->handle_open = 0;
        peer_fail(p, FIN_FAIL_CONNECT, 0);
        return;
    }
    p->handle_open = 1;
    p->tcp.data = p;
    p->creq.data = p;
    if (w->bind_src) {
        /* Let connect() pick the port for the whole 4-tuple, not bind(): otherwise each
         * bound socket would hold a port exclusively and the range would run out sooner. */
        uv_os_fd_t fd;
        int one = 1;
        if (uv_fileno((uv_handle_t *)&p->tcp, &fd) == 0)
            setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        if (uv_tcp_bind(&p->tcp, (const struct sockaddr *)&w->src, 0) != 0) {
            peer_fail(p, FIN_FAIL_CONNECT, 0);
            return;
        }
    }
    if (uv_tcp_connect(&p->creq, &p->tcp, (const struct sockaddr *)&w->dst, on_connect) != 0)
        peer_fail(p, FIN_FAIL_CONNECT, 0);
}

static void start_more(worker *w)
{
    while (!w->finishing && w->inflight < w->cfg->inflight && w->next < w->n) {
        peer *p = &w->peers[w->next++];
        start_peer(w, p);
    }
}

/* Reports whatever phase has completed since the last call. */
/* Answers the close frames counted so far (RFC 6455 §5.5.1) and closes those sockets. */
static void flush_echoes(worker *w)
{
    for (size_t i = 0; i < w->echoes_n; i++) {
        peer *p = w->echoes[i];
        send_close_echo(p, p->echo_code);
        p->echo_pending = 0;
        peer_close(p);
    }
    w->echoes_n = 0;
}

static void check_progress(worker *w)
{
    if (w->finishing)
        return;
    if (!w->join_reported && w->resolved == w->n) {
        int64_t first = 0, last = 0;
        for (size_t i = 0; i < w->n; i++) {
            peer *p = &w->peers[i];
            if (p->t_hello == 0)
                continue;
            if (first == 0 || p->t_start < first)
                first = p->t_start;
            if (p->t_hello > last)
                last = p->t_hello;
        }
        int64_t v[4] = {w->fin[FIN_JOINED], w->fin[FIN_FAILED], first, last};
        w->join_reported = 1;
        send_msg(w->report_fd, MSG_JOINED, v, 4);
    }
    if (!w->join_reported)
        return;
    while (w->rounds_reported < w->cfg->rounds) {
        size_t done = w->round_hits[w->rounds_reported];
        for (int s = 0; s <= w->rounds_reported; s++)
            done += w->missing_from[s];
        if (done < (size_t)w->fin[FIN_JOINED])
            break;
        int64_t r = w->rounds_reported++;
        send_msg(w->report_fd, MSG_ROUND, &r, 1);
    }
    if (w->rounds_reported == w->cfg->rounds)
        flush_echoes(w);
    if (w->voting && !w->voted_reported && w->voters_done >= w->voters) {
        w->voted_reported = 1;
        send_msg(w->report_fd, MSG_VOTED, NULL, 0);
    }
}

static void start_votes(worker *w, char *ids)
{
    char *save = NULL;
    for (char *id = strtok_r(ids, " ", &save); id; id = strtok_r(NULL, " ", &save)) {
        w->poll_ids = rtk_xrealloc(w->poll_ids, (size_t)(w->npolls + 1) * sizeof(char *));
        w->poll_ids[w->npolls++] = rtk_xstrndup(id, strlen(id));
    }
    w->voting = 1;
    w->queue = rtk_xcalloc(w->n + 1, sizeof(peer *));
    int64_t t = now_us();
    for (size_t i = 0; i < w->n; i++) {
        peer *p = &w->peers[i];
        if (p->state != P_OPEN || p->t_hello == 0) {
            p->votes_done = 1;
            continue;
        }
        w->voters++;
        if (w->npolls == 0) {
            p->votes_done = 1;
            w->voters_done++;
        }
    }
    for (size_t i = 0; i < w->n; i++)
        if (!w->peers[i].votes_done)
            send_vote(&w->peers[i], t);
    check_progress(w);
}

static void finish(worker *w)
{
    if (w->finishing)
        return;
    for (size_t i = 0; i < w->n; i++) {
        peer *p = &w->peers[i];
        if (!p->resolved) { /* still connecting, or never started, at the deadline */
            p->resolved = 1;
            w->fin[FIN_FAILED]++;
            w->fin[FIN_FAIL_TIMEOUT]++;
            w->join_us[i] = -1;
        }
    }
    flush_echoes(w);
    w->finishing = 1;
    for (size_t i = 0; i < w->n; i++)
        peer_close(&w->peers[i]);
    int64_t fin[FIN_COUNT];
    for (int i = 0; i < LG_EV_COUNT; i++)
        fin[i] = (int64_t)w->counts[i];
    memcpy(fin + LG_EV_COUNT, w->fin, sizeof(w->fin));
    for (int i = 0; i < LG_EV_COUNT; i++)
        fin[FIN_BYTES + i] = (int64_t)w->bytes[i];
    send_msg(w->report_fd, MSG_FINAL, fin, FIN_COUNT);
    send_msg(w->report_fd, MSG_JOIN_US, w->join_us, w->n);
    if (w->cfg->rounds > 0)
        send_msg(w->report_fd, MSG_EV_AT, w->ev_at, w->n * (size_t)w->cfg->rounds);
    send_msg(w->report_fd, MSG_VOTE_LAT, w->vote_lat, w->vote_lat_n);
    send_msg(w->report_fd, MSG_END, NULL, 0);
    uv_close((uv_handle_t *)&w->cmd, NULL);
    uv_close((uv_handle_t *)&w->deadline, NULL);
    uv_close((uv_handle_t *)&w->pace, NULL);
}

static void on_deadline(uv_timer_t *t)
{
    finish(t->data);
}

static void on_cmd_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    worker *w = h->data;
    (void)hint;
    *buf = uv_buf_init(w->cmdbuf + w->cmd_len, (unsigned)(sizeof(w->cmdbuf) - w->cmd_len - 1));
}

static void on_cmd(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    worker *w = s->data;
    (void)buf;
    if (nread < 0) {
        finish(w); /* the parent has gone, or told us to stop */
        return;
    }
    w->cmd_len += (size_t)nread;
    w->cmdbuf[w->cmd_len] = '\0';
    char *nl;
    while (!w->finishing && (nl = strchr(w->cmdbuf, '\n')) != NULL) {
        *nl = '\0';
        if (strcmp(w->cmdbuf, "stop") == 0)
            finish(w);
        else if (strncmp(w->cmdbuf, "go", 2) == 0)
            start_votes(w, w->cmdbuf + 2);
        size_t used = (size_t)(nl + 1 - w->cmdbuf);
        memmove(w->cmdbuf, nl + 1, w->cmd_len - used + 1);
        w->cmd_len -= used;
    }
    if (w->cmd_len >= sizeof(w->cmdbuf) - 1)
        finish(w); /* a line longer than the buffer: not from our parent */
}

static int worker_main(const config *cfg, int wi, char **tokens, size_t first, size_t n,
                       int report_fd, int cmd_fd)
{
    worker *w = rtk_xcalloc(1, sizeof(*w));
    w->cfg = cfg;
    w->tokens = tokens + first;
    w->first = first;
    w->n = n;
    w->report_fd = report_fd;
    w->peers = rtk_xcalloc(n ? n : 1, sizeof(peer));
    w->echoes = rtk_xcalloc(n ? n : 1, sizeof(peer *));
    w->join_us = rtk_xcalloc(n ? n : 1, sizeof(int64_t));
    size_t rounds = (size_t)(cfg->rounds > 0 ? cfg->rounds : 0);
    w->ev_at = rtk_xcalloc(rounds * n + 1, sizeof(int64_t));
    w->round_hits = rtk_xcalloc(rounds + 1, sizeof(size_t));
    w->missing_from = rtk_xcalloc(rounds + 2, sizeof(size_t));
    for (size_t i = 0; i < n; i++) {
        w->peers[i].w = w;
        w->peers[i].idx = (uint32_t)i;
        lg_reader_init(&w->peers[i].rd);
    }
    srand((unsigned)(getpid() ^ now_us()));
    uv_ip4_addr(cfg->host, cfg->nports > 0 ? cfg->ports[wi % cfg->nports] : cfg->port, &w->dst);
    if (cfg->src_base > 0) {
        char src[32];
        snprintf(src, sizeof(src), "127.0.0.%d", cfg->src_base + wi);
        uv_ip4_addr(src, 0, &w->src);
        w->bind_src = 1;
    }
    uv_loop_init(&w->loop);
    uv_pipe_init(&w->loop, &w->cmd, 0);
    uv_pipe_open(&w->cmd, cmd_fd);
    w->cmd.data = w;
    uv_read_start((uv_stream_t *)&w->cmd, on_cmd_alloc, on_cmd);
    uv_timer_init(&w->loop, &w->deadline);
    w->deadline.data = w;
    uv_timer_start(&w->deadline, on_deadline, (uint64_t)(cfg->duration_s * 1000), 0);
    uv_timer_init(&w->loop, &w->pace);
    w->pace.data = w;
    start_more(w);
    check_progress(w);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_loop_close(&w->loop);
    for (int i = 0; i < w->npolls; i++)
        free(w->poll_ids[i]);
    free(w->poll_ids);
    free(w->queue);
    free(w->echoes);
    free(w->vote_lat);
    free(w->missing_from);
    free(w->round_hits);
    free(w->ev_at);
    free(w->join_us);
    free(w->peers);
    free(w);
    close(report_fd);
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Parent                                                                                     */

typedef struct wstate {
    size_t first;
    size_t n;
    pid_t pid;
    int report_fd;
    int cmd_fd;
    int dead;
    int joined;
    int rounds_done;
    int voted;
    int ended;
    int64_t join_msg[4];
    int64_t fin[FIN_COUNT];
    int64_t *join_us;
    int64_t *ev_at;
    size_t ev_at_n;
    int64_t *vote_lat;
    size_t vote_lat_n;
} wstate;

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    (void)sig;
    got_signal = 1;
}

static wstate ws[MAX_PROCS];
static int nws;

/* Reads one message of worker |s| and updates its state. */
static void read_one(wstate *s)
{
    msg_hdr h;
    int rc = read_full(s->report_fd, &h, sizeof(h));
    if (rc != 0) {
        s->dead = 1;
        return;
    }
    int64_t *v = rtk_xmalloc(((size_t)h.n + 1) * sizeof(int64_t));
    if (h.n > 0 && read_full(s->report_fd, v, (size_t)h.n * sizeof(int64_t)) != 0) {
        free(v);
        s->dead = 1;
        return;
    }
    switch (h.kind) {
    case MSG_JOINED:
        memcpy(s->join_msg, v, sizeof(s->join_msg));
        s->joined = 1;
        break;
    case MSG_ROUND:
        s->rounds_done = (int)v[0] + 1;
        break;
    case MSG_VOTED:
        s->voted = 1;
        break;
    case MSG_FINAL:
        memcpy(s->fin, v, sizeof(s->fin));
        break;
    case MSG_JOIN_US:
        free(s->join_us);
        s->join_us = v;
        v = NULL;
        break;
    case MSG_EV_AT:
        free(s->ev_at);
        s->ev_at = v;
        s->ev_at_n = h.n;
        v = NULL;
        break;
    case MSG_VOTE_LAT:
        free(s->vote_lat);
        s->vote_lat = v;
        s->vote_lat_n = h.n;
        v = NULL;
        break;
    case MSG_END:
        s->ended = 1;
        break;
    default:
        break;
    }
    free(v);
}

typedef int (*cond_fn)(const wstate *s, int arg);

static int cond_joined(const wstate *s, int arg)
{
    (void)arg;
    return s->joined;
}

static int cond_round(const wstate *s, int arg)
{
    return s->rounds_done > arg;
}

static int cond_voted(const wstate *s, int arg)
{
    (void)arg;
    return s->voted;
}

static int cond_ended(const wstate *s, int arg)
{
    (void)arg;
    return s->ended;
}

static int cond_never(const wstate *s, int arg)
{
    (void)s;
    (void)arg;
    return 0;
}

/* Waits until |cond| holds for every live worker, for at most |timeout_s| seconds or until a
 * signal (unless |ignore_signal|). Returns 0 when it holds, -1 on timeout or signal. */
static int wait_all(cond_fn cond, int arg, double timeout_s, int ignore_signal)
{
    int64_t end = now_us() + (int64_t)(timeout_s * 1e6);
    for (;;) {
        int all = 1;
        for (int i = 0; i < nws; i++)
            if (!ws[i].dead && !cond(&ws[i], arg))
                all = 0;
        if (all)
            return 0;
        int64_t left = end - now_us();
        if (left <= 0 || (got_signal && !ignore_signal))
            return -1;
        struct pollfd pf[MAX_PROCS];
        for (int i = 0; i < nws; i++) {
            pf[i].fd = ws[i].dead ? -1 : ws[i].report_fd;
            pf[i].events = POLLIN;
            pf[i].revents = 0;
        }
        int r = poll(pf, (nfds_t)nws, (int)(left / 1000 + 1));
        if (r < 0 && errno != EINTR)
            return -1;
        for (int i = 0; i < nws && r > 0; i++)
            if (pf[i].revents & (POLLIN | POLLHUP | POLLERR))
                read_one(&ws[i]);
    }
}

static void tell_all(const char *line)
{
    for (int i = 0; i < nws; i++)
        if (!ws[i].dead && ws[i].cmd_fd >= 0)
            write_full(ws[i].cmd_fd, line, strlen(line));
}

/* VmRSS of |pid| in KiB, or -1. */
static long read_rss_kib(pid_t pid)
{
    char path[64], line[256];
    long kib = -1;
    if (pid <= 0)
        return -1;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* CPU time used so far by |pid|'s threads, in seconds, from the scheduler's nanosecond
 * account (/proc/PID/task/TID/schedstat, first field), or -1. A fan-out to 1,000 peers takes
 * a few milliseconds: the clock ticks of /proc/PID/stat (10 ms here) cannot time it. */
static double read_sched_s(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    double s = 0;
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char f[320];
        unsigned long long ns = 0;
        snprintf(f, sizeof(f), "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
        FILE *fp = fopen(f, "r");
        if (fp == NULL)
            continue;
        if (fscanf(fp, "%llu", &ns) == 1) {
            s += (double)ns / 1e9;
            found = 1;
        }
        fclose(fp);
    }
    closedir(d);
    return found ? s : -1;
}

/* CPU time (user + system) used so far by |pid|, in seconds, or -1: the scheduler's
 * nanosecond account when the kernel keeps one, else the clock ticks of /proc/PID/stat. */
static double read_cpu_s(pid_t pid);

/* The sum over the --server-pid list (a cluster's nodes), or -1 when one cannot be read. */
static double servers_cpu_s(const config *cfg)
{
    double sum = 0;
    if (cfg->nserver_pids == 0)
        return -1;
    for (int i = 0; i < cfg->nserver_pids; i++) {
        double v = read_cpu_s(cfg->server_pids[i]);
        if (v < 0)
            return -1;
        sum += v;
    }
    return sum;
}

static long servers_rss_kib(const config *cfg)
{
    long sum = 0;
    if (cfg->nserver_pids == 0)
        return -1;
    for (int i = 0; i < cfg->nserver_pids; i++) {
        long v = read_rss_kib(cfg->server_pids[i]);
        if (v < 0)
            return -1;
        sum += v;
    }
    return sum;
}

static double read_cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    if (pid <= 0)
        return -1;
    double sched = read_sched_s(pid);
    if (sched >= 0)
        return sched;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields after the ")" that ends the command name: state is field 3, utime 14, stime 15. */
    char *p = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
                            &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static char **read_lines(const char *path, size_t *count)
{
    FILE *f = fopen(path, "r");
    char **v = NULL;
    size_t n = 0, cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    *count = 0;
    if (f == NULL)
        return NULL;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            v = rtk_xrealloc(v, cap * sizeof(char *));
        }
        v[n++] = rtk_xstrndup(line, (size_t)len);
    }
    free(line);
    fclose(f);
    *count = n;
    return v;
}

static FILE *out_file;

/* Prints "key value" to stdout and to the --out file. */
static void report(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void report(const char *key, const char *fmt, ...)
{
    char val[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(val, sizeof(val), fmt, ap);
    va_end(ap);
    printf("%-24s %s\n", key, val);
    if (out_file)
        fprintf(out_file, "%s %s\n", key, val);
}

static void report_summary(const char *prefix, const lg_summary *s)
{
    char k[64];
    snprintf(k, sizeof(k), "%s_n", prefix);
    report(k, "%zu", s->n);
    snprintf(k, sizeof(k), "%s_p50_ms", prefix);
    report(k, "%.3f", s->p50 / 1000.0);
    snprintf(k, sizeof(k), "%s_p90_ms", prefix);
    report(k, "%.3f", s->p90 / 1000.0);
    snprintf(k, sizeof(k), "%s_p99_ms", prefix);
    report(k, "%.3f", s->p99 / 1000.0);
    snprintf(k, sizeof(k), "%s_max_ms", prefix);
    report(k, "%.3f", s->max / 1000.0);
    snprintf(k, sizeof(k), "%s_mean_ms", prefix);
    report(k, "%.3f", s->mean / 1000.0);
}

/* Extracts data.poll.id from a create-poll response into |out| (37 bytes). */
static int poll_id_of(const char *body, char *out, size_t cap)
{
    json_error_t err;
    json_t *doc = json_loads(body, 0, &err);
    const char *id = json_string_value(
        json_object_get(json_object_get(json_object_get(doc, "data"), "poll"), "id"));
    int rc = -1;
    if (id != NULL && strlen(id) < cap) {
        snprintf(out, cap, "%s", id);
        rc = 0;
    }
    json_decref(doc);
    return rc;
}

static int run_peers(const config *cfg)
{
    size_t ntok = 0;
    char **tokens = NULL;
    if (cfg->mode == MODE_NCHAN) { /* nchan's subscribers need no token */
        ntok = cfg->peers;
        tokens = rtk_xcalloc(ntok + 1, sizeof(char *));
    } else {
        tokens = read_lines(cfg->tokens_path, &ntok);
    }
    if (tokens == NULL || ntok == 0) {
        fprintf(stderr, "loadgen: no tokens in %s\n", cfg->tokens_path);
        return 1;
    }
    size_t n = cfg->peers ? cfg->peers : ntok;
    if (n > ntok) {
        fprintf(stderr, "loadgen: %zu peers asked, %zu tokens in %s\n", n, ntok,
                cfg->tokens_path);
        return 1;
    }
    int procs = cfg->procs;
    if ((size_t)procs > n)
        procs = (int)n;
    long rss_before = servers_rss_kib(cfg);

    /* Results are written by the parent only; make sure the workers do not inherit
     * buffered output. */
    fflush(NULL);
    for (int i = 0; i < procs; i++) {
        int rep[2], cmd[2];
        if (pipe(rep) != 0 || pipe(cmd) != 0) {
            perror("loadgen: pipe");
            return 1;
        }
        size_t first = n * (size_t)i / (size_t)procs, last = n * (size_t)(i + 1) / (size_t)procs;
        pid_t pid = fork();
        if (pid < 0) {
            perror("loadgen: fork");
            return 1;
        }
        if (pid == 0) {
            signal(SIGINT, SIG_IGN); /* the parent decides when the workers stop */
            signal(SIGTERM, SIG_DFL);
            close(rep[0]);
            close(cmd[1]);
            for (int j = 0; j < i; j++) {
                close(ws[j].report_fd);
                close(ws[j].cmd_fd);
            }
            if (out_file)
                fclose(out_file);
            int rc = worker_main(cfg, i, tokens, first, last - first, rep[1], cmd[0]);
            _exit(rc);
        }
        close(rep[1]);
        close(cmd[0]);
        ws[i] = (wstate){.pid = pid, .report_fd = rep[0], .cmd_fd = cmd[1], .first = first,
                         .n = last - first};
        nws++;
    }
    signal(SIGPIPE, SIG_IGN);
    int64_t t_begin = now_us();
    double cpu_join0 = servers_cpu_s(cfg);
    double budget = cfg->duration_s;

    /* Phase 1: every peer joined or failed. */
    if (wait_all(cond_joined, 0, fmin(cfg->timeout_s, budget), 0) != 0)
        fprintf(stderr, "loadgen: join phase did not complete in time\n");
    int64_t first_start = 0, last_hello = 0, joined = 0, failed = 0;
    for (int i = 0; i < nws; i++) {
        if (!ws[i].joined)
            continue;
        joined += ws[i].join_msg[0];
        failed += ws[i].join_msg[1];
        if (ws[i].join_msg[2] && (first_start == 0 || ws[i].join_msg[2] < first_start))
            first_start = ws[i].join_msg[2];
        if (ws[i].join_msg[3] > last_hello)
            last_hello = ws[i].join_msg[3];
    }
    fprintf(stderr, "loadgen: %lld of %zu peers joined in %.1f ms (%lld failed)\n",
            (long long)joined, n, (last_hello - first_start) / 1000.0, (long long)failed);
    double cpu_join1 = servers_cpu_s(cfg);
    int64_t t_joined = now_us();
    long rss_after = -1;
    if (cfg->server_pid > 0) {
        usleep(500 * 1000); /* let the server finish its joins' bookkeeping */
        rss_after = servers_rss_kib(cfg);
    }
    if (cfg->ready_file) {
        FILE *rf = fopen(cfg->ready_file, "w");
        if (rf) {
            fprintf(rf, "%lld\n", (long long)joined);
            fclose(rf);
        }
    }

    /* Phase 2. */
    int64_t t0[MAX_ROUNDS] = {0};
    int trig_status[MAX_ROUNDS] = {0};
    int64_t trig_us[MAX_ROUNDS] = {0};
    char poll_ids[MAX_ROUNDS][40];
    int npolls = 0, rounds_done = 0;
    int64_t t_go = 0, t_voted = 0;
    double rounds_cpu = 0, rounds_wall = 0; /* server CPU and time from triggers to rounds' end */
    double cpu_go = -1, cpu_voted = -1;
    double left = budget - (now_us() - t_begin) / 1e6;
    char *nchan_body = NULL;
    if (cfg->mode == MODE_NCHAN) {
        nchan_body = rtk_xmalloc(cfg->msg_size + 1);
        if (lg_nchan_message(nchan_body, cfg->msg_size + 1, cfg->msg_size) < 0) {
            fprintf(stderr, "loadgen: --size must be at least %d\n", LG_NCHAN_MIN_MESSAGE);
            free(nchan_body);
            nchan_body = NULL;
        }
    }
    const char *trig_body = nchan_body ? nchan_body : cfg->trig_body;
    double cpu_phase0 = servers_cpu_s(cfg);
    int64_t t_phase0 = now_us();
    if (cfg->mode == MODE_JOIN) {
        double hold = cfg->hold_s > 0 ? fmin(cfg->hold_s, left) : left;
        wait_all(cond_never, 0, hold, 0);
    } else {
        lg_http *http = NULL;
        if (cfg->settle_s > 0 && cfg->mode != MODE_VOTE) /* what the joins caused goes out */
            wait_all(cond_never, 0, fmin(cfg->settle_s, left), 0);
        left = budget - (now_us() - t_begin) / 1e6;
        if (cfg->trig_path && lg_http_open(cfg->host, cfg->port, &http) != 0)
            fprintf(stderr, "loadgen: cannot connect for the trigger\n");
        for (int r = 0; r < cfg->rounds && !got_signal; r++) {
            char *resp = NULL;
            double cpu_r0 = servers_cpu_s(cfg);
            t0[r] = now_us();
            if (http != NULL)
                trig_status[r] = lg_http_request(http, cfg->trig_method, cfg->trig_path,
                                                 cfg->auth, trig_body, &resp);
            trig_us[r] = now_us() - t0[r];
            if (cfg->mode == MODE_VOTE && resp && poll_id_of(resp, poll_ids[npolls], 40) == 0)
                npolls++;
            if (trig_status[r] < 200 || trig_status[r] > 299)
                fprintf(stderr, "loadgen: trigger %d answered %d: %.200s\n", r, trig_status[r],
                        resp ? resp : "");
            free(resp);
            left = budget - (now_us() - t_begin) / 1e6;
            int late = wait_all(cond_round, r, fmin(cfg->timeout_s, left), 0) != 0;
            rounds_done = r + 1;
            if (cpu_r0 >= 0) {
                rounds_cpu += servers_cpu_s(cfg) - cpu_r0;
                rounds_wall += (now_us() - t0[r]) / 1e6;
            }
            if (late) {
                fprintf(stderr, "loadgen: round %d incomplete at the timeout\n", r);
                break;
            }
            if (cfg->gap_s > 0 && r + 1 < cfg->rounds)
                usleep((useconds_t)(cfg->gap_s * 1e6));
        }
        lg_http_close(http);
        free(nchan_body);
        if (cfg->mode == MODE_VOTE && cfg->polls) {
            char *list = rtk_xstrndup(cfg->polls, strlen(cfg->polls)), *save = NULL;
            for (char *id = strtok_r(list, ",", &save); id && npolls < MAX_ROUNDS;
                 id = strtok_r(NULL, ",", &save))
                snprintf(poll_ids[npolls++], 40, "%s", id);
            free(list);
        }
        if (cfg->mode == MODE_VOTE && !got_signal) {
            size_t cap = 8 + (size_t)npolls * 41;
            char *line = rtk_xmalloc(cap);
            size_t off = (size_t)snprintf(line, cap, "go");
            for (int i = 0; i < npolls; i++)
                off += (size_t)snprintf(line + off, cap - off, " %s", poll_ids[i]);
            snprintf(line + off, cap - off, "\n");
            cpu_go = servers_cpu_s(cfg);
            t_go = now_us();
            tell_all(line);
            free(line);
            left = budget - (now_us() - t_begin) / 1e6;
            if (wait_all(cond_voted, 0, fmin(cfg->timeout_s, left), 0) != 0)
                fprintf(stderr, "loadgen: votes incomplete at the timeout\n");
            cpu_voted = servers_cpu_s(cfg);
            t_voted = now_us();
        }
    }

    double cpu_phase1 = servers_cpu_s(cfg);
    int64_t t_phase1 = now_us();

    /* Phase 3: stop, collect. */
    tell_all("stop\n");
    if (wait_all(cond_ended, 0, 30, 1) != 0)
        fprintf(stderr, "loadgen: some workers did not report; killing them\n");
    for (int i = 0; i < nws; i++) {
        if (!ws[i].ended)
            kill(ws[i].pid, SIGKILL);
        close(ws[i].cmd_fd);
        close(ws[i].report_fd);
        waitpid(ws[i].pid, NULL, 0);
    }

    struct rusage ru;
    double lg_cpu = 0;
    if (getrusage(RUSAGE_CHILDREN, &ru) == 0)
        lg_cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;

    int64_t fin[FIN_COUNT] = {0};
    for (int i = 0; i < nws; i++)
        for (int k = 0; k < FIN_COUNT; k++) {
            if (k == LG_EV_COUNT + FIN_T_FIRST_VOTE) {
                if (ws[i].fin[k] && (fin[k] == 0 || ws[i].fin[k] < fin[k]))
                    fin[k] = ws[i].fin[k];
            } else if (k == LG_EV_COUNT + FIN_T_LAST_ACK || k == LG_EV_COUNT + FIN_LAST_STATUS) {
                if (ws[i].fin[k] > fin[k])
                    fin[k] = ws[i].fin[k];
            } else {
                fin[k] += ws[i].fin[k];
            }
        }
    const int64_t *F = fin + LG_EV_COUNT;

    static const char *const mode_names[] = {"join", "watch", "vote", "mkpeers", "nchan"};
    report("mode", "%s", mode_names[cfg->mode]);
    report("peers", "%zu", n);
    report("procs", "%d", nws);
    report("joined", "%lld", (long long)F[FIN_JOINED]);
    report("join_failed", "%lld", (long long)F[FIN_FAILED]);
    report("fail_connect", "%lld", (long long)F[FIN_FAIL_CONNECT]);
    report("fail_status", "%lld", (long long)F[FIN_FAIL_STATUS]);
    report("fail_last_status", "%lld", (long long)F[FIN_LAST_STATUS]);
    report("fail_closed", "%lld", (long long)F[FIN_FAIL_CLOSED]);
    report("fail_timeout", "%lld", (long long)F[FIN_FAIL_TIMEOUT]);
    report("join_all_ms", "%.1f", (last_hello - first_start) / 1000.0);
    int64_t *jv = rtk_xmalloc((n + 1) * sizeof(int64_t));
    size_t jn = 0;
    for (int i = 0; i < nws; i++)
        for (size_t k = 0; ws[i].join_us && k < ws[i].n; k++)
            if (ws[i].join_us[k] >= 0)
                jv[jn++] = ws[i].join_us[k];
    lg_summary js;
    lg_stats_summarize(jv, jn, &js);
    report_summary("join", &js);
    free(jv);
    report("loadgen_cpu_s", "%.2f", lg_cpu);
    report("run_s", "%.2f", (now_us() - t_begin) / 1e6);
    if (cpu_join0 >= 0 && t_joined > t_begin) {
        /* Server CPU use over a phase, in percent of one core: 100 means its one loop thread
         * was busy all along, i.e. the server, not the load generator, set the pace. */
        report("server_cpu_join_pct", "%.0f",
               100 * (cpu_join1 - cpu_join0) / ((t_joined - t_begin) / 1e6));
        if (t_phase1 > t_phase0 && cfg->mode != MODE_JOIN)
            report("server_cpu_phase_pct", "%.0f",
                   100 * (cpu_phase1 - cpu_phase0) / ((t_phase1 - t_phase0) / 1e6));
    }
    if (rss_before >= 0) {
        report("rss_before_kib", "%ld", rss_before);
        report("rss_after_kib", "%ld", rss_after);
        if (F[FIN_JOINED] > 0)
            report("rss_per_peer_bytes", "%.0f",
                   (double)(rss_after - rss_before) * 1024.0 / (double)F[FIN_JOINED]);
    }

    if (cfg->mode == MODE_WATCH || cfg->mode == MODE_VOTE || cfg->mode == MODE_NCHAN) {
        report("event", "%s", lg_event_name((lg_event)cfg->event));
        if (rounds_wall > 0) {
            report("server_cpu_rounds_pct", "%.0f", 100 * rounds_cpu / rounds_wall);
            /* CPU seconds from each trigger to its round's last arrival: ÷ deliveries is the
             * server's cost per delivery (the cost curve). */
            report("server_cpu_rounds_s", "%.6f", rounds_cpu);
        }
        report("rounds", "%d", rounds_done);
        size_t cap = n * (size_t)(rounds_done ? rounds_done : 1) + 1, an = 0;
        int64_t *all = rtk_xmalloc(cap * sizeof(int64_t));
        int64_t *one = rtk_xmalloc((n + 1) * sizeof(int64_t));
        size_t missing = 0;
        for (int r = 0; r < rounds_done; r++) {
            size_t on = 0;
            for (int i = 0; i < nws; i++) {
                for (size_t k = 0; k < ws[i].n; k++) {
                    size_t at = (size_t)r * ws[i].n + k;
                    if (ws[i].join_us == NULL || ws[i].join_us[k] < 0)
                        continue; /* never joined: not a missing event */
                    if (ws[i].ev_at == NULL || at >= ws[i].ev_at_n || ws[i].ev_at[at] == 0) {
                        missing++;
                        continue;
                    }
                    int64_t d = ws[i].ev_at[at] - t0[r];
                    one[on++] = d;
                    all[an++] = d;
                }
            }
            lg_summary rs;
            lg_stats_summarize(one, on, &rs);
            char k[32];
            snprintf(k, sizeof(k), "round%d", r);
            report(k, "status=%d request_ms=%.2f n=%zu p50_ms=%.2f p99_ms=%.2f max_ms=%.2f",
                   trig_status[r], trig_us[r] / 1000.0, rs.n, rs.p50 / 1000.0, rs.p99 / 1000.0,
                   rs.max / 1000.0);
        }
        lg_summary es;
        lg_stats_summarize(all, an, &es);
        report_summary("ev", &es);
        report("ev_missing", "%zu", missing);
        if (es.n > 0 && rounds_cpu > 0)
            report("server_cpu_per_delivery_us", "%.3f", 1e6 * rounds_cpu / (double)es.n);
        if (cfg->samples_path) {
            FILE *sf = fopen(cfg->samples_path, "w");
            for (size_t i = 0; sf && i < an; i++)
                fprintf(sf, "%lld\n", (long long)all[i]);
            if (sf == NULL || fclose(sf) != 0)
                fprintf(stderr, "loadgen: cannot write %s\n", cfg->samples_path);
        }
        if (cfg->cdf_path && an > 0) {
            FILE *cf = fopen(cfg->cdf_path, "w");
            if (cf) {
                /* At most ~2000 points: enough for a smooth curve, small enough to commit. */
                size_t step = an > 2000 ? an / 2000 : 1;
                for (size_t i = 0; i < an; i += step)
                    fprintf(cf, "%.3f %.5f\n", all[i] / 1000.0, (double)(i + 1) / (double)an);
                fprintf(cf, "%.3f %.5f\n", all[an - 1] / 1000.0, 1.0);
                fclose(cf);
            }
        }
        free(one);
        free(all);
    }
    if (cfg->mode == MODE_VOTE) {
        size_t vn = 0;
        for (int i = 0; i < nws; i++)
            vn += ws[i].vote_lat_n;
        int64_t *vl = rtk_xmalloc((vn + 1) * sizeof(int64_t));
        vn = 0;
        for (int i = 0; i < nws; i++)
            for (size_t k = 0; k < ws[i].vote_lat_n; k++)
                vl[vn++] = ws[i].vote_lat[k];
        lg_summary vs;
        lg_stats_summarize(vl, vn, &vs);
        free(vl);
        report("polls", "%d", npolls);
        report("votes_sent", "%lld", (long long)F[FIN_VOTES_SENT]);
        report("votes_acked", "%lld", (long long)F[FIN_VOTES_ACKED]);
        report("vote_errors", "%lld", (long long)F[FIN_VOTE_ERRORS]);
        report("vote_rate_limited", "%lld", (long long)F[FIN_ERR_RATE_LIMITED]);
        report("vote_already_voted", "%lld", (long long)F[FIN_ERR_ALREADY_VOTED]);
        double secs = F[FIN_T_LAST_ACK] > t_go ? (F[FIN_T_LAST_ACK] - t_go) / 1e6 : 0;
        report("votes_seconds", "%.3f", secs);
        report("votes_per_sec", "%.0f", secs > 0 ? (double)F[FIN_VOTES_ACKED] / secs : 0);
        report_summary("vote", &vs);
        if (cpu_go >= 0 && t_voted > t_go)
            report("server_cpu_votes_pct", "%.0f",
                   100 * (cpu_voted - cpu_go) / ((t_voted - t_go) / 1e6));
    }
    report("closed_after_join", "%lld", (long long)F[FIN_CLOSED_AFTER_JOIN]);
    report("closed_4001", "%lld", (long long)F[FIN_CLOSE_4001]);
    report("closed_other", "%lld", (long long)F[FIN_CLOSE_OTHER]);
    report("proto_errors", "%lld", (long long)F[FIN_PROTO_ERRORS]);
    for (int e = 0; e < LG_EV_COUNT; e++) {
        char k[48];
        snprintf(k, sizeof(k), "count_%s", lg_event_name((lg_event)e));
        report(k, "%lld", (long long)fin[e]);
        if (fin[e] > 0) {
            snprintf(k, sizeof(k), "avg_bytes_%s", lg_event_name((lg_event)e));
            report(k, "%.0f", (double)fin[FIN_BYTES + e] / (double)fin[e]);
        }
    }
    for (int i = 0; i < nws; i++) {
        free(ws[i].join_us);
        free(ws[i].ev_at);
        free(ws[i].vote_lat);
    }
    for (size_t i = 0; i < ntok; i++)
        free(tokens[i]);
    free(tokens);
    return F[FIN_JOINED] > 0 ? 0 : 1;
}

/* ---------------------------------------------------------------------------------------- */
/* mkpeers                                                                                    */

static int mk_slice(const config *cfg, size_t lo, size_t hi, const char *tok_out,
                    const char *id_out)
{
    lg_http *h = NULL;
    if (lg_http_open(cfg->host, cfg->port, &h) != 0)
        return 1;
    FILE *ft = fopen(tok_out, "w"), *fi = fopen(id_out, "w");
    int rc = ft && fi ? 0 : 1;
    for (size_t i = lo; i < hi && rc == 0; i++) {
        char body[512], *resp = NULL;
        snprintf(body, sizeof(body),
                 "{\"custom_participant_id\":\"%s%zu\",\"preset_name\":\"%s\","
                 "\"name\":\"Peer %zu\"}",
                 cfg->prefix, i, cfg->preset, i);
        int st = lg_http_request(h, "POST", cfg->post_path, cfg->auth, body, &resp);
        json_t *doc = st == 201 || st == 200 ? json_loads(resp, 0, NULL) : NULL;
        json_t *data = json_object_get(doc, "data");
        const char *tok = json_string_value(json_object_get(data, "token"));
        const char *id = json_string_value(json_object_get(data, "id"));
        if (tok == NULL || id == NULL) {
            fprintf(stderr, "loadgen: add participant %zu answered %d: %.200s\n", i, st,
                    resp ? resp : "");
            rc = 1;
        } else {
            fprintf(ft, "%s\n", tok);
            fprintf(fi, "%s\n", id);
        }
        json_decref(doc);
        free(resp);
    }
    if (ft)
        fclose(ft);
    if (fi)
        fclose(fi);
    lg_http_close(h);
    return rc;
}

static int append_file(FILE *dst, const char *path)
{
    FILE *f = fopen(path, "r");
    char buf[65536];
    size_t r;
    if (f == NULL)
        return -1;
    while ((r = fread(buf, 1, sizeof(buf), f)) > 0)
        fwrite(buf, 1, r, dst);
    fclose(f);
    unlink(path);
    return 0;
}

static int run_mkpeers(const config *cfg)
{
    size_t n = cfg->peers;
    int procs = cfg->procs, rc = 0;
    pid_t pids[MAX_PROCS];
    int64_t t = now_us();
    fflush(NULL);
    for (int i = 0; i < procs; i++) {
        char tp[4096], ip[4096];
        snprintf(tp, sizeof(tp), "%s.part%d", cfg->tokens_path, i);
        snprintf(ip, sizeof(ip), "%s.part%d", cfg->ids_path, i);
        pids[i] = fork();
        if (pids[i] == 0)
            _exit(mk_slice(cfg, n * (size_t)i / (size_t)procs,
                           n * (size_t)(i + 1) / (size_t)procs, tp, ip));
    }
    for (int i = 0; i < procs; i++) {
        int st = 0;
        if (pids[i] < 0 || waitpid(pids[i], &st, 0) < 0 || !WIFEXITED(st) ||
            WEXITSTATUS(st) != 0)
            rc = 1;
    }
    FILE *ft = fopen(cfg->tokens_path, "w"), *fi = fopen(cfg->ids_path, "w");
    if (ft == NULL || fi == NULL)
        rc = 1;
    for (int i = 0; i < procs; i++) {
        char tp[4096], ip[4096];
        snprintf(tp, sizeof(tp), "%s.part%d", cfg->tokens_path, i);
        snprintf(ip, sizeof(ip), "%s.part%d", cfg->ids_path, i);
        if (ft && fi && (append_file(ft, tp) != 0 || append_file(fi, ip) != 0))
            rc = 1;
    }
    if (ft)
        fclose(ft);
    if (fi)
        fclose(fi);
    double secs = (now_us() - t) / 1e6;
    fprintf(stderr, "loadgen: created %zu participants in %.2f s (%.0f/s)%s\n", n, secs,
            n / secs, rc ? " WITH ERRORS" : "");
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* stats                                                                                      */

/* Pools the latencies (µs, one per line) of |files| and reports them as watch mode reports
 * its own ("ev_n", "ev_p50_ms", ...). */
static int run_stats(int nfiles, char **files)
{
    int64_t *v = NULL;
    size_t n = 0, cap = 0;
    if (nfiles < 1) {
        fputs("Usage: loadgen stats FILE...\n", stderr);
        return 2;
    }
    for (int i = 0; i < nfiles; i++) {
        FILE *f = fopen(files[i], "r");
        long long x;
        if (f == NULL) {
            fprintf(stderr, "loadgen: cannot read %s\n", files[i]);
            free(v);
            return 1;
        }
        while (fscanf(f, "%lld", &x) == 1) {
            if (n == cap) {
                cap = cap ? 2 * cap : 65536;
                v = rtk_xrealloc(v, cap * sizeof(*v));
            }
            v[n++] = (int64_t)x;
        }
        fclose(f);
    }
    lg_summary s;
    lg_stats_summarize(v, n, &s);
    report_summary("ev", &s);
    free(v);
    return n > 0 ? 0 : 1;
}

/* ---------------------------------------------------------------------------------------- */
/* Command line                                                                               */

static const char usage[] =
    "Usage: loadgen MODE [options]\n"
    "Modes: join | watch | vote | mkpeers | nchan (see the top of bench/loadgen.c)\n"
    "       loadgen stats FILE...  percentiles of the latencies --samples wrote, pooled\n"
    "  --host IP            server address (default 127.0.0.1)\n"
    "  --port N             server port (required)\n"
    "  --tokens FILE        participant tokens, one per line (mkpeers: written)\n"
    "  --peers N            peers to open (default: one per token; mkpeers: to create)\n"
    "  --procs K            worker processes (default 4)\n"
    "  --src-base B         bind worker w to 127.0.0.(B+w) (default 2; 0: no bind)\n"
    "  --inflight N         handshakes in flight per worker (default 128)\n"
    "  --duration S         hard bound of the whole run (default 120)\n"
    "  --hold S             join: hold peers S seconds (default: until signal/duration)\n"
    "  --timeout S          bound of each phase (default 60)\n"
    "  --event TYPE         watch: event to time (hello, poll.created, kicked, close, ...)\n"
    "  --rounds R           watch/vote: triggers (default 1)\n"
    "  --gap S              pause between rounds (default 0.2)\n"
    "  --settle S           watch/nchan: pause after the last join before the first trigger,\n"
    "                       still reading (default 0)\n"
    "  --trigger 'M PATH'   request sent by the parent at each round's start\n"
    "  --body JSON          trigger body\n"
    "  --auth VALUE         Authorization header value, e.g. 'Bearer TOKEN'\n"
    "  --options N          vote: options per poll (default 2)\n"
    "  --polls ID,ID        vote: vote on these existing polls too\n"
    "  --vote-rate R        vote: per-peer messages/s cap (default 40; server allows 50)\n"
    "  --server-pid PID,..  read the server's VmRSS and CPU (a list: their sums)\n"
    "  --ports P1,P2,..     peers of worker w connect to port P[w mod n] (a cluster's nodes);\n"
    "                       triggers still go to --port\n"
    "  --ready-file F       written once every peer has joined or failed\n"
    "  --out F              also write the \"key value\" results to F\n"
    "  --cdf F              watch/vote: write the event latency CDF (ms fraction) to F\n"
    "  --ids FILE           mkpeers: participant ids, one per line (written)\n"
    "  --path P             mkpeers: .../meetings/{id}/participants path\n"
    "  --prefix S           mkpeers: custom_participant_id prefix (default \"bench-\")\n"
    "  --preset NAME        mkpeers: the participants' preset (default group_call_participant)\n"
    "  --ws-path P          nchan: the subscriber location (default /sub)\n"
    "  --size N             nchan: bytes of each published message (default 600)\n"
    "  --samples F          watch/nchan: write every event latency (µs, one per line) to F\n";

/* "P1,P2,...": up to |max| positive integers into |out|; their count, or -1. */
static int parse_int_list(const char *v, int *out, int max)
{
    int n = 0;
    while (*v != '\0') {
        char *end;
        long x = strtol(v, &end, 10);
        if (end == v || x <= 0 || x > 0x7fffffff || n == max || (*end != ',' && *end != '\0'))
            return -1;
        out[n++] = (int)x;
        v = *end == ',' ? end + 1 : end;
    }
    return n > 0 ? n : -1;
}

static int parse_args(int argc, char **argv, config *c)
{
    if (argc < 2)
        return -1;
    const char *m = argv[1];
    if (strcmp(m, "join") == 0)
        c->mode = MODE_JOIN;
    else if (strcmp(m, "watch") == 0)
        c->mode = MODE_WATCH;
    else if (strcmp(m, "vote") == 0)
        c->mode = MODE_VOTE;
    else if (strcmp(m, "mkpeers") == 0)
        c->mode = MODE_MKPEERS;
    else if (strcmp(m, "nchan") == 0)
        c->mode = MODE_NCHAN;
    else
        return -1;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) {
            fprintf(stderr, "loadgen: %s needs a value\n", a);
            return -1;
        }
        const char *v = argv[++i];
        if (strcmp(a, "--host") == 0)
            c->host = v;
        else if (strcmp(a, "--port") == 0)
            c->port = atoi(v);
        else if (strcmp(a, "--tokens") == 0)
            c->tokens_path = v;
        else if (strcmp(a, "--peers") == 0)
            c->peers = (size_t)strtoull(v, NULL, 10);
        else if (strcmp(a, "--procs") == 0)
            c->procs = atoi(v);
        else if (strcmp(a, "--src-base") == 0)
            c->src_base = atoi(v);
        else if (strcmp(a, "--inflight") == 0)
            c->inflight = atoi(v);
        else if (strcmp(a, "--duration") == 0)
            c->duration_s = atof(v);
        else if (strcmp(a, "--hold") == 0)
            c->hold_s = atof(v);
        else if (strcmp(a, "--timeout") == 0)
            c->timeout_s = atof(v);
        else if (strcmp(a, "--event") == 0)
            c->event = lg_event_from_name(v);
        else if (strcmp(a, "--rounds") == 0)
            c->rounds = atoi(v);
        else if (strcmp(a, "--gap") == 0)
            c->gap_s = atof(v);
        else if (strcmp(a, "--settle") == 0)
            c->settle_s = atof(v);
        else if (strcmp(a, "--trigger") == 0) {
            static char method[16];
            const char *sp = strchr(v, ' ');
            if (sp == NULL || sp - v >= (long)sizeof(method))
                return -1;
            memcpy(method, v, (size_t)(sp - v));
            method[sp - v] = '\0';
            c->trig_method = method;
            c->trig_path = sp + 1;
        } else if (strcmp(a, "--body") == 0)
            c->trig_body = v;
        else if (strcmp(a, "--auth") == 0)
            c->auth = v;
        else if (strcmp(a, "--options") == 0)
            c->options = atoi(v);
        else if (strcmp(a, "--polls") == 0)
            c->polls = v;
        else if (strcmp(a, "--vote-rate") == 0)
            c->vote_rate = atof(v);
        else if (strcmp(a, "--ports") == 0) {
            if ((c->nports = parse_int_list(v, c->ports, MAX_NODES)) <= 0)
                return -1;
        } else if (strcmp(a, "--server-pid") == 0) {
            int pids[MAX_NODES];
            if ((c->nserver_pids = parse_int_list(v, pids, MAX_NODES)) <= 0)
                return -1;
            for (int k = 0; k < c->nserver_pids; k++)
                c->server_pids[k] = (pid_t)pids[k];
            c->server_pid = c->server_pids[0];
        }
        else if (strcmp(a, "--ready-file") == 0)
            c->ready_file = v;
        else if (strcmp(a, "--out") == 0)
            c->out_path = v;
        else if (strcmp(a, "--cdf") == 0)
            c->cdf_path = v;
        else if (strcmp(a, "--ids") == 0)
            c->ids_path = v;
        else if (strcmp(a, "--path") == 0)
            c->post_path = v;
        else if (strcmp(a, "--prefix") == 0)
            c->prefix = v;
        else if (strcmp(a, "--preset") == 0)
            c->preset = v;
        else if (strcmp(a, "--ws-path") == 0)
            c->ws_path = v;
        else if (strcmp(a, "--size") == 0)
            c->msg_size = (size_t)strtoull(v, NULL, 10);
        else if (strcmp(a, "--samples") == 0)
            c->samples_path = v;
        else {
            fprintf(stderr, "loadgen: unknown option %s\n", a);
            return -1;
        }
    }
    if (c->mode == MODE_NCHAN) {
        /* One channel, no tokens; the published message is what every peer times. */
        if (c->peers == 0 || c->rounds < 1 || c->msg_size < LG_NCHAN_MIN_MESSAGE ||
            c->msg_size > LG_MAX_FRAME || c->ws_path[0] != '/')
            return -1;
        c->event = LG_EV_POLL_CREATED;
        if (c->trig_path == NULL) {
            c->trig_method = "POST";
            c->trig_path = "/pub";
        }
        if (c->tokens_path == NULL)
            c->tokens_path = "-";
    }
    if (c->port <= 0 || c->port > 65535 || c->tokens_path == NULL || c->procs < 1 ||
        c->procs > MAX_PROCS || c->inflight < 1 || c->duration_s <= 0 || c->timeout_s <= 0 ||
        c->options < 1 || c->vote_rate <= 0 || c->rounds < 0 || c->rounds > MAX_ROUNDS)
        return -1;
    if (c->mode == MODE_WATCH && (c->event < 0 || c->rounds < 1 || c->trig_path == NULL))
        return -1;
    if (c->mode == MODE_MKPEERS && (c->ids_path == NULL || c->post_path == NULL || !c->peers))
        return -1;
    if (c->mode == MODE_VOTE)
        c->event = LG_EV_POLL_CREATED;
    if (c->mode == MODE_VOTE && c->trig_path == NULL)
        c->rounds = 0;
    if (c->mode == MODE_JOIN)
        c->rounds = 0;
    return 0;
}

int main(int argc, char **argv)
{
    config cfg = {
        .host = "127.0.0.1",
        .procs = 4,
        .src_base = 2,
        .inflight = 128,
        .duration_s = 120,
        .timeout_s = 60,
        .event = -1,
        .rounds = 1,
        .gap_s = 0.2,
        .options = 2,
        .vote_rate = 40,
        .prefix = "bench-",
        .preset = "group_call_participant",
        .ws_path = "/sub",
        .msg_size = 600,
    };
    if (argc >= 2 && strcmp(argv[1], "stats") == 0)
        return run_stats(argc - 2, argv + 2);
    if (parse_args(argc, argv, &cfg) != 0) {
        fputs(usage, stderr);
        return 2;
    }
    /* Each worker holds up to N/K sockets: raise the soft limit to the hard one. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR and the wait ends */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (cfg.mode == MODE_MKPEERS)
        return run_mkpeers(&cfg);
    if (cfg.out_path && (out_file = fopen(cfg.out_path, "w")) == NULL) {
        perror("loadgen: --out");
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int rc = run_peers(&cfg);
    if (out_file)
        fclose(out_file);
    return rc;
}
