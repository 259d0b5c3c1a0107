/* SPDX-License-Identifier: MIT */
/* rtk_metrics.h - the server's metrics: fixed counters, gauges and histograms, and their
 * Prometheus text rendering (GET /metrics; docs/metrics.md lists every metric).
 *
 * Design. Every metric is a plain integer (or a histogram of them) in arrays sized at compile
 * time and indexed by the enums below: keeping a metric is an add to a static variable, with no
 * allocation, no lookup by name and no lock (everything runs on the loop thread, like the
 * rest of the server). Label values are fixed sets: the enums here, the statuses of
 * rtk_metrics_status_index, and the route labels registered once at start-up
 * (rtk_metrics_route_label, bounded by RTK_METRICS_ROUTES_MAX). Only rendering allocates: the
 * text is built on the heap when a scrape asks for it. What the server already knows as a
 * count (live peers, sessions, the store's pending operations, the log's drops) is not kept
 * twice: the caller passes it in at render time (rtk_metrics_snapshot).
 *
 * Loop thread only. The registry is process-wide (one server per process). */
#ifndef RTK_METRICS_H
#define RTK_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* ---- plain counters ---- */
enum rtk_metrics_counter {
    RTK_MC_BYTES_IN_HTTP = 0, /* rtkd_network_bytes_total{direction="in",protocol="http"} */
    RTK_MC_BYTES_IN_WS,
    RTK_MC_BYTES_OUT_HTTP,
    RTK_MC_BYTES_OUT_WS,
    RTK_MC_CONNS_ACCEPTED,       /* rtkd_connections_accepted_total */
    RTK_MC_CONNS_REFUSED_429,    /* rtkd_connections_refused_total{status="429"} (per address) */
    RTK_MC_CONNS_REFUSED_503,    /* ... {status="503"} (all connections) */
    RTK_MC_STORE_BATCHES,        /* rtkd_store_batches_total */
    RTK_MC_STORE_BATCHES_FAILED, /* rtkd_store_batches_failed_total */
    RTK_MC_HOOK_DELIVERED,       /* rtkd_webhook_attempts_total{outcome="delivered"} */
    RTK_MC_HOOK_RETRY,           /* ... {outcome="retry"} */
    RTK_MC_HOOK_FAILED,          /* ... {outcome="failed"} */
    RTK_MC_WS_BATCH_LOOP,        /* rtkd_ws_batch_sends_total{thread="loop"} */
    RTK_MC_WS_BATCH_HELPER,      /* ... {thread="helper"} */
    RTK_MC_COUNT
};

/* ---- gauges kept here (those others know are passed in rtk_metrics_snapshot) ---- */
enum rtk_metrics_gauge {
    RTK_MG_CONNS_OPEN = 0, /* every open TCP connection; "busy" = open - the states below */
    RTK_MG_CONNS_READING,  /* rtkd_connections{state="reading"}: a request head or body */
    RTK_MG_CONNS_IDLE,     /* keep-alive, nothing owed */
    RTK_MG_CONNS_CLOSING,  /* lingering close */
    RTK_MG_CONNS_UPGRADED, /* WebSocket */
    RTK_MG_STORE_INFLIGHT, /* rtkd_store_batches_in_flight (PostgreSQL; SQLite commits in
                            * the loop turn, so 0 between turns) */
    RTK_MG_COUNT
};

/* ---- WebSocket messages (rtkd_ws_messages_total{direction,type}) ---- */
enum rtk_metrics_ws_in {
    RTK_MWI_PING = 0, /* "ping" */
    RTK_MWI_VOTE,     /* "poll.vote" */
    RTK_MWI_POLL_CREATE,
    RTK_MWI_KICK,
    RTK_MWI_KICK_ALL,
    RTK_MWI_ADMIT,
    RTK_MWI_REFUSE,
    RTK_MWI_INVALID, /* "invalid": not JSON, no type, an unknown type, bad fields */
    RTK_MWI_COUNT
};
enum rtk_metrics_ws_out {
    RTK_MWO_HELLO = 0,
    RTK_MWO_ADMITTED,
    RTK_MWO_REFUSED,
    RTK_MWO_SESSION_UPDATED,
    RTK_MWO_PARTICIPANTS_UPDATED,
    RTK_MWO_WAITING_UPDATED,
    RTK_MWO_POLL_CREATED,
    RTK_MWO_POLL_UPDATED,
    RTK_MWO_POLL_VOTED,
    RTK_MWO_KICKED,
    RTK_MWO_DONE,
    RTK_MWO_PONG,
    RTK_MWO_ERROR,
    RTK_MWO_WS_PING, /* "ws.ping": the heartbeat's WebSocket ping frame */
    RTK_MWO_COUNT
};

/* ---- why the server closed a peer (rtkd_ws_closes_total{reason}) ---- */
enum rtk_metrics_ws_close {
    RTK_MWC_LEFT = 0,
    RTK_MWC_KICKED,
    RTK_MWC_REPLACED,
    RTK_MWC_REMOVED,
    RTK_MWC_TIMEOUT,
    RTK_MWC_SHUTDOWN,
    RTK_MWC_SLOW,  /* slow consumer: its outbound queue went over the limit */
    RTK_MWC_FLOOD, /* over its message rate */
    RTK_MWC_REFUSED,
    RTK_MWC_PROTOCOL, /* a frame or close the codec refused */
    RTK_MWC_COUNT
};

/* ---- histograms ---- */
enum rtk_metrics_hist {
    RTK_MH_COMMIT = 0,   /* rtkd_commit_duration_seconds */
    RTK_MH_BATCH_WRITES, /* rtkd_commit_batch_writes */
    RTK_MH_BROADCAST,    /* rtkd_broadcast_duration_seconds */
    RTK_MH_COUNT
};

/* Route labels: 0 and 1 are fixed, the route table's patterns follow. */
#define RTK_METRICS_ROUTES_MAX 64
#define RTK_METRICS_ROUTE_UNMATCHED                                                                \
    0                           /* no route: unknown path, or answered by the connection           \
                                 * layer itself (400, 408, 413, 431, ...) */
#define RTK_METRICS_ROUTE_WEB 1 /* the embedded pages (/, /join, /ui/...) */

/* Statuses counted by their own label value; any other is counted as "other". */
#define RTK_METRICS_NSTATUS 29

/* The buckets of every histogram, at most this many bounds (then +Inf). */
#define RTK_METRICS_BUCKETS_MAX 16

/* A histogram with |nb| upper bounds |le| (ascending; +Inf implied). Transparent so tests and
 * the renderer can read it; change it only through rtk_metrics_hist_observe. */
typedef struct rtk_metrics_histogram {
    const double *le;
    int nb;
    uint64_t counts[RTK_METRICS_BUCKETS_MAX + 1]; /* per bucket, not cumulative; last: +Inf */
    uint64_t count;
    double sum;
} rtk_metrics_histogram;

/* Adds |v| to |h|: one comparison per bound, no allocation. */
void rtk_metrics_hist_observe(rtk_metrics_histogram *h, double v);

/* Adds |n| to counter |c| (an rtk_metrics_counter). */
void rtk_metrics_add(int c, uint64_t n);
/* Adds |d| (may be negative) to gauge |g|, or sets it (rtk_metrics_gauge). */
void rtk_metrics_gauge_add(int g, int64_t d);
void rtk_metrics_gauge_set(int g, int64_t v);
/* Observes |v| in histogram |h| (rtk_metrics_hist): seconds for durations. */
void rtk_metrics_observe(int h, double v);
/* One channel message in (rtk_metrics_ws_in) or out (rtk_metrics_ws_out); one close. */
void rtk_metrics_ws_in(int type);
void rtk_metrics_ws_out(int type);
void rtk_metrics_ws_close(int reason);
/* A channel handshake refused with HTTP |status|. */
void rtk_metrics_handshake_refused(int status);
/* A request of route label |route| answered |status| after |seconds|. An out-of-range route
 * counts as RTK_METRICS_ROUTE_UNMATCHED. */
void rtk_metrics_http(int route, int status, double seconds);

/* The label index of HTTP |status| (0 .. RTK_METRICS_NSTATUS-1), RTK_METRICS_NSTATUS for
 * "other". */
int rtk_metrics_status_index(int status);

/* Registers the route label |pattern| (borrowed: a string literal of the route table) and
 * returns its index; a pattern already registered gets its old index. Past
 * RTK_METRICS_ROUTES_MAX labels it returns RTK_METRICS_ROUTE_UNMATCHED. Called at start-up. */
int rtk_metrics_route_label(const char *pattern);

/* What the server knows by itself, read when a scrape asks. */
typedef struct rtk_metrics_snapshot {
    const char *version;         /* rtkd_build_info{version} */
    int64_t start_time_s;        /* rtkd_start_time_seconds (Unix time) */
    int64_t peers_live;          /* rtkd_peers{state="live"} */
    int64_t peers_waiting;       /* rtkd_peers{state="waiting"} */
    int64_t sessions_live;       /* rtkd_sessions_live */
    int64_t meetings_with_peers; /* rtkd_meetings_with_peers */
    int64_t store_pending;       /* rtkd_store_operations_pending */
    int store_ready;             /* rtkd_store_up */
    uint64_t log_lines;          /* rtkd_log_lines_total */
    uint64_t log_dropped;        /* rtkd_log_lines_dropped_total */
    uint64_t log_queue_bytes;    /* rtkd_log_queue_bytes */
} rtk_metrics_snapshot;

/* Renders every metric in the Prometheus text exposition format 0.0.4 (the Content-Type to
 * send is RTK_METRICS_CONTENT_TYPE). Returns a new NUL-terminated heap string (the caller
 * frees it) and its length in *len. Aborts on OOM. */
char *rtk_metrics_render(const rtk_metrics_snapshot *snap, size_t *len);
#define RTK_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Zeroes every counter, gauge and histogram and forgets the route labels (tests). */
void rtk_metrics_reset(void);

#endif
