/* SPDX-License-Identifier: MIT */
/* rtk_api_metrics.c - GET /metrics: the Prometheus text of util/rtk_metrics.h with what live,
 * the store and the log know at the moment of the scrape (docs/metrics.md). */
#include <stdlib.h>
#include <string.h>

#include "api/rtk_api.h"
#include "auth/rtk_token.h"
#include "util/rtk_log.h"
#include "util/rtk_metrics.h"

static void serve(rtk_call *call)
{
    rtk_ctx *ctx = call->ctx;
    rtk_metrics_snapshot snap = {.version = ctx->version, .start_time_s = ctx->start_time_s};
    if (ctx->live != NULL) {
        rtk_live_stats ls;
        rtk_live_stats_get(ctx->live, &ls);
        snap.peers_live = ls.peers_live;
        snap.peers_waiting = ls.peers_waiting;
        snap.sessions_live = ls.sessions_live;
        snap.meetings_with_peers = ls.meetings_with_peers;
    }
    if (ctx->store != NULL) {
        snap.store_pending = (int64_t)rtk_store_pending(ctx->store);
        snap.store_ready = rtk_store_ready(ctx->store);
    }
    rtk_log_stats lst;
    rtk_log_get_stats(&lst);
    snap.log_lines = lst.lines_written;
    snap.log_dropped = lst.lines_dropped;
    snap.log_queue_bytes = lst.queue_bytes;
    size_t len = 0;
    char *text = rtk_metrics_render(&snap, &len);
    rtk_http_respond(call->req, 200, RTK_METRICS_CONTENT_TYPE, "Cache-Control: no-store\r\n", text,
                     len);
    free(text);
    rtk_api_done(call);
}

void rtk_api_metrics(rtk_call *call)
{
    const char *want = call->ctx->metrics_token;
    if (want == NULL || want[0] == '\0') {
        /* As if the route did not exist: without a token the main listener serves no
         * metrics (docs/metrics.md). */
        rtk_api_fail(call, 404,
                     "No route for GET /metrics (start rtkd with --metrics-token "
                     "or --metrics-listen)");
        return;
    }
    size_t len = 0, n = strlen(want);
    const char *got = rtk_api_bearer(call->req, &len);
    if (got == NULL || len != n || !rtk_ct_equal(got, want, n)) {
        rtk_api_fail_h(call, 401, "WWW-Authenticate: Bearer realm=\"rtkd metrics\"\r\n",
                       "GET /metrics needs Authorization: Bearer <the --metrics-token>");
        return;
    }
    serve(call);
}

void rtk_api_metrics_open(rtk_call *call)
{
    serve(call);
}
