/* SPDX-License-Identifier: MIT */
/* rtk_metrics.c - fixed-size metric storage and the Prometheus text exposition (0.0.4).
 *
 * The text format (https://prometheus.io/docs/instrumenting/exposition_formats/): per metric
 * family a `# HELP name text` and a `# TYPE name counter|gauge|histogram` line, then one
 * `name{label="value",...} number` line per sample. A histogram is its cumulative buckets
 * `name_bucket{...,le="bound"}` ending with le="+Inf" (equal to the count), then `name_sum`
 * and `name_count`. Label values escape backslash, quote and newline. */
#include "util/rtk_metrics.h"

#include <stdio.h>
#include <string.h>

#include "util/rtk_jw.h"

/* Seconds: 100 µs (a REST read served from memory) up to 10 s (a stalled store). */
static const double duration_le[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                     0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
/* Writes per group commit: one, up to a burst of votes in one loop turn. */
static const double batch_le[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000};

#define NDUR (int)(sizeof(duration_le) / sizeof(duration_le[0]))
#define NBATCH (int)(sizeof(batch_le) / sizeof(batch_le[0]))

static const int statuses[RTK_METRICS_NSTATUS] = {101, 200, 201, 204, 304, 400, 401, 403, 404, 405,
                                                  408, 409, 410, 411, 412, 413, 414, 415, 417, 422,
                                                  426, 429, 431, 500, 501, 502, 503, 504, 505};

static const char *const ws_in_names[RTK_MWI_COUNT] = {
    "ping",          "poll.vote",      "poll.create", "participant.kick", "session.kick_all",
    "waiting.admit", "waiting.refuse", "invalid"};
static const char *const ws_out_names[RTK_MWO_COUNT] = {"hello",
                                                        "admitted",
                                                        "refused",
                                                        "session.updated",
                                                        "participants.updated",
                                                        "waiting.updated",
                                                        "poll.created",
                                                        "poll.updated",
                                                        "poll.voted",
                                                        "kicked",
                                                        "done",
                                                        "pong",
                                                        "error",
                                                        "ws.ping"};
static const char *const ws_close_names[RTK_MWC_COUNT] = {
    "left",     "kicked", "replaced", "removed", "timeout",
    "shutdown", "slow",   "flood",    "refused", "protocol"};

/* Everything in one struct, so a reset is one memset (the histograms' bounds are set again). */
static struct {
    uint64_t counters[RTK_MC_COUNT];
    int64_t gauges[RTK_MG_COUNT];
    rtk_metrics_histogram hist[RTK_MH_COUNT];
    uint64_t ws_in[RTK_MWI_COUNT];
    uint64_t ws_out[RTK_MWO_COUNT];
    uint64_t ws_close[RTK_MWC_COUNT];
    uint64_t refusals[RTK_METRICS_NSTATUS + 1];
    const char *routes[RTK_METRICS_ROUTES_MAX];
    int nroutes;
    uint64_t requests[RTK_METRICS_ROUTES_MAX][RTK_METRICS_NSTATUS + 1];
    rtk_metrics_histogram req_hist[RTK_METRICS_ROUTES_MAX];
    int ready;
} M;

static void init_hist(rtk_metrics_histogram *h, const double *le, int nb)
{
    h->le = le;
    h->nb = nb;
}

/* The fixed parts: bounds and the two route labels every server has. */
static void ensure_ready(void)
{
    if (M.ready)
        return;
    init_hist(&M.hist[RTK_MH_COMMIT], duration_le, NDUR);
    init_hist(&M.hist[RTK_MH_BATCH_WRITES], batch_le, NBATCH);
    init_hist(&M.hist[RTK_MH_BROADCAST], duration_le, NDUR);
    for (int i = 0; i < RTK_METRICS_ROUTES_MAX; i++)
        init_hist(&M.req_hist[i], duration_le, NDUR);
    M.routes[RTK_METRICS_ROUTE_UNMATCHED] = "unmatched";
    M.routes[RTK_METRICS_ROUTE_WEB] = "web";
    M.nroutes = 2;
    M.ready = 1;
}

void rtk_metrics_reset(void)
{
    memset(&M, 0, sizeof(M));
    ensure_ready();
}

void rtk_metrics_hist_observe(rtk_metrics_histogram *h, double v)
{
    int i = 0;
    while (i < h->nb && v > h->le[i])
        i++;
    h->counts[i]++;
    h->count++;
    h->sum += v;
}

void rtk_metrics_add(int c, uint64_t n)
{
    if (c >= 0 && c < RTK_MC_COUNT)
        M.counters[c] += n;
}

void rtk_metrics_gauge_add(int g, int64_t d)
{
    if (g >= 0 && g < RTK_MG_COUNT)
        M.gauges[g] += d;
}

void rtk_metrics_gauge_set(int g, int64_t v)
{
    if (g >= 0 && g < RTK_MG_COUNT)
        M.gauges[g] = v;
}

void rtk_metrics_observe(int h, double v)
{
    ensure_ready();
    if (h >= 0 && h < RTK_MH_COUNT)
        rtk_metrics_hist_observe(&M.hist[h], v);
}

void rtk_metrics_ws_in(int type)
{
    M.ws_in[type >= 0 && type < RTK_MWI_COUNT ? type : RTK_MWI_INVALID]++;
}

void rtk_metrics_ws_out(int type)
{
    if (type >= 0 && type < RTK_MWO_COUNT)
        M.ws_out[type]++;
}

void rtk_metrics_ws_close(int reason)
{
    if (reason >= 0 && reason < RTK_MWC_COUNT)
        M.ws_close[reason]++;
}

int rtk_metrics_status_index(int status)
{
    for (int i = 0; i < RTK_METRICS_NSTATUS; i++)
        if (statuses[i] == status)
            return i;
    return RTK_METRICS_NSTATUS;
}

void rtk_metrics_handshake_refused(int status)
{
    M.refusals[rtk_metrics_status_index(status)]++;
}

void rtk_metrics_http(int route, int status, double seconds)
{
    ensure_ready();
    if (route < 0 || route >= M.nroutes)
        route = RTK_METRICS_ROUTE_UNMATCHED;
    M.requests[route][rtk_metrics_status_index(status)]++;
    rtk_metrics_hist_observe(&M.req_hist[route], seconds);
}

int rtk_metrics_route_label(const char *pattern)
{
    ensure_ready();
    for (int i = 0; i < M.nroutes; i++)
        if (strcmp(M.routes[i], pattern) == 0)
            return i;
    if (M.nroutes >= RTK_METRICS_ROUTES_MAX)
        return RTK_METRICS_ROUTE_UNMATCHED;
    M.routes[M.nroutes] = pattern;
    return M.nroutes++;
}

/* ---- rendering ---- */

static void put(rtk_jw *w, const char *s)
{
    rtk_jw_raw(w, s, strlen(s));
}

static void family(rtk_jw *w, const char *name, const char *type, const char *help)
{
    put(w, "# HELP ");
    put(w, name);
    rtk_jw_raw(w, " ", 1);
    put(w, help);
    put(w, "\n# TYPE ");
    put(w, name);
    rtk_jw_raw(w, " ", 1);
    put(w, type);
    rtk_jw_raw(w, "\n", 1);
}

/* A label value, escaped as the format asks. */
static void label_value(rtk_jw *w, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            RTK_JW_LIT(w, "\\\\");
        else if (*v == '"')
            RTK_JW_LIT(w, "\\\"");
        else if (*v == '\n')
            RTK_JW_LIT(w, "\\n");
        else
            rtk_jw_raw(w, v, 1);
    }
}

/* Labels: |n| name/value pairs in |kv| (names are ours and need no escaping). */
static void labels(rtk_jw *w, const char *const *kv, int n)
{
    if (n == 0)
        return;
    rtk_jw_raw(w, "{", 1);
    for (int i = 0; i < n; i++) {
        if (i > 0)
            rtk_jw_raw(w, ",", 1);
        put(w, kv[2 * i]);
        RTK_JW_LIT(w, "=\"");
        label_value(w, kv[2 * i + 1]);
        rtk_jw_raw(w, "\"", 1);
    }
    rtk_jw_raw(w, "}", 1);
}

static void sample_u(rtk_jw *w, const char *name, const char *const *kv, int n, uint64_t v)
{
    char num[32];
    put(w, name);
    labels(w, kv, n);
    snprintf(num, sizeof(num), " %llu\n", (unsigned long long)v);
    put(w, num);
}

static void sample_i(rtk_jw *w, const char *name, const char *const *kv, int n, int64_t v)
{
    char num[32];
    put(w, name);
    labels(w, kv, n);
    snprintf(num, sizeof(num), " %lld\n", (long long)v);
    put(w, num);
}

static void sample_d(rtk_jw *w, const char *name, const char *const *kv, int n, double v)
{
    char num[40];
    put(w, name);
    labels(w, kv, n);
    snprintf(num, sizeof(num), " %.9g\n", v);
    put(w, num);
}

/* The samples of histogram |h| under |name| with |n| label pairs |kv| (at most 3). */
static void histogram(rtk_jw *w, const char *name, const char *const *kv, int n,
                      const rtk_metrics_histogram *h)
{
    char bname[96], le[32];
    const char *bkv[8];
    for (int i = 0; i < 2 * n; i++)
        bkv[i] = kv[i];
    bkv[2 * n] = "le";
    bkv[2 * n + 1] = le;
    snprintf(bname, sizeof(bname), "%s_bucket", name);
    uint64_t cum = 0;
    for (int i = 0; i < h->nb; i++) {
        cum += h->counts[i];
        snprintf(le, sizeof(le), "%g", h->le[i]);
        sample_u(w, bname, bkv, n + 1, cum);
    }
    snprintf(le, sizeof(le), "+Inf");
    sample_u(w, bname, bkv, n + 1, h->count);
    snprintf(bname, sizeof(bname), "%s_sum", name);
    sample_d(w, bname, kv, n, h->sum);
    snprintf(bname, sizeof(bname), "%s_count", name);
    sample_u(w, bname, kv, n, h->count);
}

static void status_text(int i, char out[8])
{
    if (i < RTK_METRICS_NSTATUS)
        snprintf(out, 8, "%d", statuses[i]);
    else
        snprintf(out, 8, "other");
}

static void render_http(rtk_jw *w)
{
    char st[8];
    family(w, "rtkd_http_requests_total", "counter",
           "HTTP requests answered, by route pattern and status.");
    for (int r = 0; r < M.nroutes; r++) {
        for (int s = 0; s <= RTK_METRICS_NSTATUS; s++) {
            if (M.requests[r][s] == 0)
                continue;
            status_text(s, st);
            const char *kv[] = {"route", M.routes[r], "status", st};
            sample_u(w, "rtkd_http_requests_total", kv, 2, M.requests[r][s]);
        }
    }
    family(w, "rtkd_http_request_duration_seconds", "histogram",
           "Time from a request's first byte to its answer, by route pattern.");
    for (int r = 0; r < M.nroutes; r++) {
        if (M.req_hist[r].count == 0)
            continue;
        const char *kv[] = {"route", M.routes[r]};
        histogram(w, "rtkd_http_request_duration_seconds", kv, 1, &M.req_hist[r]);
    }
}

static void render_conns(rtk_jw *w)
{
    static const struct {
        int g;
        const char *state;
    } states[] = {{RTK_MG_CONNS_READING, "reading"},
                  {RTK_MG_CONNS_IDLE, "idle"},
                  {RTK_MG_CONNS_CLOSING, "closing"},
                  {RTK_MG_CONNS_UPGRADED, "upgraded"}};
    family(w, "rtkd_connections", "gauge",
           "Open TCP connections by state (busy: a request is being answered).");
    int64_t rest = M.gauges[RTK_MG_CONNS_OPEN];
    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
        const char *kv[] = {"state", states[i].state};
        sample_i(w, "rtkd_connections", kv, 1, M.gauges[states[i].g]);
        rest -= M.gauges[states[i].g];
    }
    const char *busy[] = {"state", "busy"};
    sample_i(w, "rtkd_connections", busy, 1, rest > 0 ? rest : 0);
    family(w, "rtkd_connections_accepted_total", "counter", "TCP connections accepted.");
    sample_u(w, "rtkd_connections_accepted_total", NULL, 0, M.counters[RTK_MC_CONNS_ACCEPTED]);
    family(w, "rtkd_connections_refused_total", "counter",
           "Connections closed at accept by --max-connections (503) or "
           "--max-connections-per-ip (429).");
    const char *k429[] = {"status", "429"}, *k503[] = {"status", "503"};
    sample_u(w, "rtkd_connections_refused_total", k429, 1, M.counters[RTK_MC_CONNS_REFUSED_429]);
    sample_u(w, "rtkd_connections_refused_total", k503, 1, M.counters[RTK_MC_CONNS_REFUSED_503]);
    family(w, "rtkd_network_bytes_total", "counter",
           "Bytes read from and written to client connections, HTTP or WebSocket.");
    static const char *const dirs[2] = {"in", "out"}, *const protos[2] = {"http", "ws"};
    for (int d = 0; d < 2; d++) {
        for (int p = 0; p < 2; p++) {
            const char *kv[] = {"direction", dirs[d], "protocol", protos[p]};
            sample_u(w, "rtkd_network_bytes_total", kv, 2,
                     M.counters[RTK_MC_BYTES_IN_HTTP + 2 * d + p]);
        }
    }
    family(w, "rtkd_ws_batch_sends_total", "counter",
           "Writes to WebSocket peers made in a broadcast's batch, by the loop thread or a "
           "send helper (--send-threads).");
    const char *kloop[] = {"thread", "loop"}, *khelp[] = {"thread", "helper"};
    sample_u(w, "rtkd_ws_batch_sends_total", kloop, 1, M.counters[RTK_MC_WS_BATCH_LOOP]);
    sample_u(w, "rtkd_ws_batch_sends_total", khelp, 1, M.counters[RTK_MC_WS_BATCH_HELPER]);
}

static void render_ws(rtk_jw *w)
{
    char st[8];
    family(w, "rtkd_ws_messages_total", "counter",
           "Participant channel messages by direction and protocol message type.");
    for (int i = 0; i < RTK_MWI_COUNT; i++) {
        const char *kv[] = {"direction", "in", "type", ws_in_names[i]};
        sample_u(w, "rtkd_ws_messages_total", kv, 2, M.ws_in[i]);
    }
    for (int i = 0; i < RTK_MWO_COUNT; i++) {
        const char *kv[] = {"direction", "out", "type", ws_out_names[i]};
        sample_u(w, "rtkd_ws_messages_total", kv, 2, M.ws_out[i]);
    }
    family(w, "rtkd_ws_closes_total", "counter", "Peers closed by the server, by reason.");
    for (int i = 0; i < RTK_MWC_COUNT; i++) {
        const char *kv[] = {"reason", ws_close_names[i]};
        sample_u(w, "rtkd_ws_closes_total", kv, 1, M.ws_close[i]);
    }
    family(w, "rtkd_ws_handshake_refusals_total", "counter",
           "Participant channel handshakes refused, by HTTP status.");
    for (int s = 0; s <= RTK_METRICS_NSTATUS; s++) {
        if (M.refusals[s] == 0)
            continue;
        status_text(s, st);
        const char *kv[] = {"status", st};
        sample_u(w, "rtkd_ws_handshake_refusals_total", kv, 1, M.refusals[s]);
    }
    family(w, "rtkd_broadcast_duration_seconds", "histogram",
           "Time to hand one message to every receiver of a meeting (fan-out).");
    histogram(w, "rtkd_broadcast_duration_seconds", NULL, 0, &M.hist[RTK_MH_BROADCAST]);
}

static void render_store(rtk_jw *w, const rtk_metrics_snapshot *s)
{
    family(w, "rtkd_commit_duration_seconds", "histogram",
           "Group commit latency: SQLite's COMMIT, PostgreSQL's batch round trip.");
    histogram(w, "rtkd_commit_duration_seconds", NULL, 0, &M.hist[RTK_MH_COMMIT]);
    family(w, "rtkd_commit_batch_writes", "histogram", "Writes per group commit.");
    histogram(w, "rtkd_commit_batch_writes", NULL, 0, &M.hist[RTK_MH_BATCH_WRITES]);
    family(w, "rtkd_store_batches_total", "counter", "Group commits attempted.");
    sample_u(w, "rtkd_store_batches_total", NULL, 0, M.counters[RTK_MC_STORE_BATCHES]);
    family(w, "rtkd_store_batches_failed_total", "counter",
           "Group commits that failed (each of their writes was refused).");
    sample_u(w, "rtkd_store_batches_failed_total", NULL, 0,
             M.counters[RTK_MC_STORE_BATCHES_FAILED]);
    family(w, "rtkd_store_batches_in_flight", "gauge",
           "Batches sent to PostgreSQL and not yet answered.");
    sample_i(w, "rtkd_store_batches_in_flight", NULL, 0, M.gauges[RTK_MG_STORE_INFLIGHT]);
    family(w, "rtkd_store_operations_pending", "gauge",
           "Store operations issued and not yet answered.");
    sample_i(w, "rtkd_store_operations_pending", NULL, 0, s->store_pending);
    family(w, "rtkd_store_up", "gauge", "1 when the store is reachable (as /readyz says).");
    sample_i(w, "rtkd_store_up", NULL, 0, s->store_ready ? 1 : 0);
}

static void render_hooks(rtk_jw *w)
{
    static const struct {
        int c;
        const char *outcome;
    } o[] = {{RTK_MC_HOOK_DELIVERED, "delivered"},
             {RTK_MC_HOOK_RETRY, "retry"},
             {RTK_MC_HOOK_FAILED, "failed"}};
    family(w, "rtkd_webhook_attempts_total", "counter",
           "Webhook delivery attempts by outcome (retry: to be sent again later).");
    for (size_t i = 0; i < sizeof(o) / sizeof(o[0]); i++) {
        const char *kv[] = {"outcome", o[i].outcome};
        sample_u(w, "rtkd_webhook_attempts_total", kv, 1, M.counters[o[i].c]);
    }
}

char *rtk_metrics_render(const rtk_metrics_snapshot *s, size_t *len)
{
    ensure_ready();
    rtk_jw w;
    rtk_jw_init(&w, NULL, 0);
    family(&w, "rtkd_build_info", "gauge", "Always 1; the version is a label.");
    const char *ver[] = {"version", s->version ? s->version : "unknown"};
    sample_i(&w, "rtkd_build_info", ver, 1, 1);
    family(&w, "rtkd_start_time_seconds", "gauge", "When the server started (Unix time).");
    sample_i(&w, "rtkd_start_time_seconds", NULL, 0, s->start_time_s);
    family(&w, "rtkd_peers", "gauge", "Connected peers: live, or in a waiting room.");
    const char *live[] = {"state", "live"}, *waiting[] = {"state", "waiting"};
    sample_i(&w, "rtkd_peers", live, 1, s->peers_live);
    sample_i(&w, "rtkd_peers", waiting, 1, s->peers_waiting);
    family(&w, "rtkd_sessions_live", "gauge", "Live sessions (with or without peers).");
    sample_i(&w, "rtkd_sessions_live", NULL, 0, s->sessions_live);
    family(&w, "rtkd_meetings_with_peers", "gauge", "Meetings with at least one live peer.");
    sample_i(&w, "rtkd_meetings_with_peers", NULL, 0, s->meetings_with_peers);
    render_conns(&w);
    render_http(&w);
    render_ws(&w);
    render_store(&w, s);
    render_hooks(&w);
    family(&w, "rtkd_log_lines_total", "counter", "Log lines accepted (written or queued).");
    sample_u(&w, "rtkd_log_lines_total", NULL, 0, s->log_lines);
    family(&w, "rtkd_log_lines_dropped_total", "counter",
           "Log lines dropped because the log reader did not keep up.");
    sample_u(&w, "rtkd_log_lines_dropped_total", NULL, 0, s->log_dropped);
    family(&w, "rtkd_log_queue_bytes", "gauge", "Log bytes waiting for the reader.");
    sample_u(&w, "rtkd_log_queue_bytes", NULL, 0, s->log_queue_bytes);
    return rtk_jw_take(&w, len);
}
