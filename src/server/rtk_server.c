/* SPDX-License-Identifier: MIT */
/* rtk_server.c - the server's assembly, the one owner of the loop turn, and the stop order.
 *
 * The loop turn (Redis's beforeSleep). One uv_prepare handle runs once per loop iteration,
 * after the I/O callbacks of the turn and before the loop blocks for I/O again:
 *
 *     I/O callbacks (requests, frames) ──► prepare: 0. persistence adds the live sessions'
 *                                                    latest counters to the batch
 *                                                 1. the store commits the turn's batch
 *                                                    (SQLite) or sends it (PostgreSQL)
 *                                                 2. what waited on it is released: REST
 *                                                    replies, poll.voted, kicks, or their
 *                                                    failure answers
 *                                                    and live drops what it rendered for
 *                                                    the turn (shared poll.voted replies)
 *                                                 3. the channels write what peers were sent
 *                                                    (one writev per peer)
 *                                           ──► the loop blocks
 *
 * Nothing else in the server is a prepare handle, so the order is this one and no other. */
#include "server/rtk_server.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "api/rtk_api.h"
#include "api/rtk_dev.h"
#include "chan/rtk_chan.h"
#include "cluster/rtk_cluster.h"
#include "hook/rtk_hook.h"
#include "live/rtk_live.h"
#include "net/rtk_http.h"
#include "net/rtk_sendpool.h"
#include "persist/rtk_persist.h"
#include "store/rtk_store.h"
#include "util/rtk_err.h"
#include "util/rtk_log.h"
#include "util/rtk_jw.h"

typedef struct server {
    rtk_ctx ctx;
    rtk_persist *persist;
    rtk_hook_keys *hook_keys;
    rtk_hook *hook;
    rtk_http_server *http;
    rtk_http_server *metrics_http; /* --metrics-listen, or NULL */
    uv_prepare_t turn;
    uv_signal_t sigterm, sigint;
    int lock_fd;
    rtk_proxy_trust *trust_proxy; /* --trust-proxy, or NULL */
} server;

/* The cluster's webhook sender's lease, taken or lost. */
static void on_sender(void *arg, int on)
{
    rtk_hook_set_sender(arg, on);
}

/* Another node wrote an app's webhooks (NULL: news may have been missed). */
static void on_hooks_elsewhere(void *arg, const char *app_id)
{
    rtk_hook_app_changed(arg, app_id);
}

static void on_turn(uv_prepare_t *h)
{
    server *s = h->data;
    rtk_persist_turn(s->persist);
    rtk_store_turn(s->ctx.store);
    rtk_live_turn_end(s->ctx.live);
    rtk_chan_flush();
}

static void on_http_stopped(void *arg);

/* The metrics listener stops after the main one (a scrape may watch the stop). */
static void on_main_http_stopped(void *arg)
{
    server *s = arg;
    if (s->metrics_http != NULL) {
        rtk_http_server *m = s->metrics_http;
        s->metrics_http = NULL;
        rtk_http_server_stop(m, on_http_stopped, s);
        return;
    }
    on_http_stopped(s);
}

static void on_http_stopped(void *arg)
{
    server *s = arg;
    rtk_chan_stop();
    rtk_cluster_stop(s->ctx.cluster); /* after live's leaves went to the bus */
    s->ctx.cluster = NULL;
    rtk_log_detach(); /* what is logged from here on is written at once, waiting boundedly */
    rtk_hook_stop(s->hook);
    uv_close((uv_handle_t *)&s->turn, NULL);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    uv_close((uv_handle_t *)&s->sigint, NULL);
}

static void on_live_stopped(void *arg)
{
    server *s = arg;
    rtk_http_server_stop(s->http, on_main_http_stopped, s);
}

/* Stop order: live closes every peer with 1001 and records their leaves (sessions stay LIVE),
 * then the HTTP server stops accepting and finishes requests in flight (the loop turn keeps
 * committing for them), then the store commits what is left. */
static void on_signal(uv_signal_t *h, int signum)
{
    server *s = h->data;
    if (s->ctx.stopping)
        return;
    rtk_log(RTK_LOG_INFO, "%s received, stopping", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    s->ctx.stopping = 1;
    rtk_live_shutdown(s->ctx.live, on_live_stopped, s);
}

/* One server per data folder: an exclusive lock on DIR/rtkd.lock, held while serving. The
 * command-line tools do not take it, so they work beside a running server. */
static int lock_data_dir(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/rtkd.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "rtkd: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        if (errno == EWOULDBLOCK || errno == EAGAIN || n >= 0)
            fprintf(stderr, "rtkd: %s is in use by another rtkd (pid %s)\n", dir,
                    pid[0] ? pid : "unknown");
        else
            fprintf(stderr, "rtkd: cannot lock %s: %s\n", path, strerror(errno));
        close(fd);
        return -1;
    }
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        fprintf(stderr, "rtkd: cannot write %s: %s\n", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int hex_bytes(const char *hex, size_t len, uint8_t *out, size_t n)
{
    if (len != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = hex[2 * i + (size_t)k];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= (unsigned)(c - 'a' + 10);
            else
                return -1;
        }
        out[i] = (uint8_t)v;
    }
    return 0;
}

/* GET /.well-known/webhooks.json's body: RealtimeKit's shape plus the Ed25519 key. */
static char *webhook_keys_json(const rtk_hook_keys *k)
{
    rtk_jw w;
    rtk_jw_init(&w, NULL, 0);
    RTK_JW_LIT(&w, "{\"success\":true,\"data\":{\"publicKey\":");
    rtk_jw_str(&w, rtk_hook_keys_rsa_public(k));
    RTK_JW_LIT(&w, ",\"standardWebhooksPublicKey\":");
    rtk_jw_str(&w, rtk_hook_keys_ed_public(k));
    RTK_JW_LIT(&w, "},\"message\":\"\"}");
    return rtk_jw_take(&w, NULL);
}

/* The participant-token signing key, from the store (shared by every node of a cluster). */
static int load_signing_key(rtk_store *st, uint8_t key[32])
{
    rtk_store_kept k;
    rtk_store_key(st, "signing", 32, rtk_store_keep, &k);
    rtk_store_wait(st);
    int rc = k.done ? k.status : RTK_EUNAVAIL;
    if (rc == 0) {
        size_t len;
        const char *hex = rtk_store_text(&k.res.sets[k.res.nsets - 1], 0, 0, &len);
        if (hex_bytes(hex, len, key, 32) != 0)
            rc = RTK_EINVAL;
    }
    rtk_store_kept_free(&k);
    return rc;
}

int rtk_server_run(const rtk_server_config *cfg)
{
    server s;
    memset(&s, 0, sizeof(s));
    /* Until the loop runs, lines are written as they are (blocking is harmless then). */
    rtk_log_set_format(cfg->log_format);
    s.lock_fd = lock_data_dir(cfg->data_dir);
    if (s.lock_fd < 0)
        return 1;
    rtk_ctx *ctx = &s.ctx;
    ctx->loop = uv_default_loop();
    ctx->ptoken_ttl_s = cfg->ptoken_ttl_s;
    ctx->metrics_token = cfg->metrics_token;
    ctx->version = cfg->version;
    ctx->start_time_s = (int64_t)time(NULL);
    ctx->max_peers_per_meeting = cfg->max_peers_per_meeting;
    rtk_ratelimit_init(&ctx->api_rl, cfg->api_rate / 10.0, cfg->api_rate, 0);
    rtk_ratelimit_init(&ctx->ws_rl, cfg->handshake_rate, cfg->handshake_rate, 0);

    int exit_code = 1, rc;
    char url[512];
    rtk_store_url_redacted(cfg->store_url, url, sizeof(url));
    rtk_store_config scfg = {.url = cfg->store_url, .full_sync = cfg->full_sync};
    if (rtk_store_open(ctx->loop, &scfg, &ctx->store) != 0) {
        rtk_log(RTK_LOG_ERROR, "cannot open the store %s", url);
        goto out;
    }
    if ((rc = load_signing_key(ctx->store, ctx->signing_key)) != 0) {
        rtk_log(RTK_LOG_ERROR, "cannot load the signing key from %s: %s", url, rtk_strerror(rc));
        goto out;
    }
    if ((rc = rtk_hook_keys_load(ctx->store, &s.hook_keys)) != 0) {
        rtk_log(RTK_LOG_ERROR, "cannot load the webhook keys from %s: %s", url, rtk_strerror(rc));
        goto out;
    }
    ctx->webhook_keys_json = webhook_keys_json(s.hook_keys);
    rtk_live_config lcfg = {
        .heartbeat_ms = cfg->heartbeat_ms,
        .msg_rate = cfg->peer_msg_rate > 0 ? cfg->peer_msg_rate : -1,
        .msg_burst = cfg->peer_msg_rate > 0 ? 2.0 * cfg->peer_msg_rate : 0,
        .msg_excess_close = cfg->peer_msg_rate > 0 ? 2.0 * cfg->peer_msg_rate : 0,
    };
    rtk_live_new(ctx->loop, &lcfg, &rtk_chan_transport, &ctx->live);
    s.persist = rtk_persist_new(ctx->store, ctx->live);
    rtk_hook_config wcfg = {
        .retry_base_ms = cfg->webhook_retry_base_ms,
        .max_age_s = cfg->webhook_max_age_s,
        .max_inflight = cfg->webhook_max_inflight,
        .max_per_hook = cfg->webhook_max_per_hook,
    };
    s.hook = rtk_hook_new(ctx->loop, ctx->store, ctx->live, s.hook_keys, &wcfg);
    if (s.hook == NULL) {
        rtk_log(RTK_LOG_ERROR, "cannot start libcurl for webhooks");
        goto out;
    }
    ctx->hook = s.hook;
    if (cfg->bus_url != NULL) {
        rtk_cluster_config kcfg = {.bus_url = cfg->bus_url, .node_id = cfg->node_id};
        if (rtk_cluster_new(ctx->loop, &kcfg, ctx->live, &ctx->cluster) != 0) {
            rtk_log(RTK_LOG_ERROR, "--bus takes redis://HOST:PORT[/DB]: %s", cfg->bus_url);
            goto out;
        }
        rtk_cluster_on_hooks(ctx->cluster, on_hooks_elsewhere, s.hook);
        rtk_cluster_on_sender(ctx->cluster, on_sender, s.hook);
        rtk_log(RTK_LOG_INFO, "cluster node %s on the bus %s", cfg->node_id, cfg->bus_url);
    }
    /* A cluster's live sessions are the bus's: a node starts with none of its own. */
    if (ctx->cluster == NULL && (rc = rtk_persist_restore(s.persist)) != 0) {
        rtk_log(RTK_LOG_ERROR, "cannot restore live sessions from %s: %s", url, rtk_strerror(rc));
        goto out;
    }
    if (cfg->send_threads > 0 && (rc = rtk_sendpool_start(cfg->send_threads)) != 0)
        rtk_log(RTK_LOG_WARN, "no send helper threads (%s): the loop thread sends alone",
                strerror(rc));
    rtk_chan_config ccfg = {.heartbeat_ms = cfg->heartbeat_ms};
    rtk_chan_configure(&ccfg);
    rtk_chan_set_kick(rtk_api_chan_kick, ctx);
    if (cfg->trust_proxy != NULL && cfg->trust_proxy[0] != '\0' &&
        rtk_proxy_trust_parse(cfg->trust_proxy, &s.trust_proxy) != 0) {
        rtk_log(RTK_LOG_ERROR, "--trust-proxy takes CIDR blocks: %s", cfg->trust_proxy);
        goto out;
    }
    rtk_http_config hcfg = {
        .max_head = 16 * 1024,
        .max_body = 1024 * 1024,
        .head_timeout_ms = 10000,
        .keepalive_timeout_ms = 75000,
        .access_log = cfg->access_log,
        .max_conns = cfg->max_conns,
        .max_conns_per_ip = cfg->max_conns_per_ip,
        .trust_proxy = s.trust_proxy,
    };
    rc =
        rtk_http_server_start(ctx->loop, cfg->host, cfg->port, &hcfg, rtk_api_handle, ctx, &s.http);
    if (rc != 0) {
        rtk_log(RTK_LOG_ERROR, "cannot listen on %s:%d: %s", cfg->host, cfg->port,
                rtk_strerror(rc));
        goto out;
    }
    if (cfg->metrics_host != NULL) {
        /* The same connection limits; no proxy is trusted (it serves no per-IP limit). */
        rtk_http_config mcfg = hcfg;
        mcfg.trust_proxy = NULL;
        rc = rtk_http_server_start(ctx->loop, cfg->metrics_host, cfg->metrics_port, &mcfg,
                                   rtk_api_metrics_handle, ctx, &s.metrics_http);
        if (rc != 0) {
            rtk_log(RTK_LOG_ERROR, "cannot listen for metrics on %s:%d: %s", cfg->metrics_host,
                    cfg->metrics_port, rtk_strerror(rc));
            goto out;
        }
    }
    int port = rtk_http_server_port(s.http);
    char base[300];
    int v6 = strchr(cfg->host, ':') != NULL;
    snprintf(base, sizeof(base), "http://%s%s%s:%d", v6 ? "[" : "", cfg->host, v6 ? "]" : "", port);
    if (cfg->dev) {
        char api[340];
        snprintf(api, sizeof(api), "%s/client/v4", base);
        if ((rc = rtk_dev_setup(ctx->store, cfg->data_dir, api, ctx->signing_key)) != 0) {
            rtk_log(RTK_LOG_ERROR, "dev set-up failed: %s", rtk_strerror(rc));
            goto out; /* the listener is closed with the loop below */
        }
    }
    uv_prepare_init(ctx->loop, &s.turn);
    s.turn.data = &s;
    uv_prepare_start(&s.turn, on_turn);
    uv_unref((uv_handle_t *)&s.turn); /* never keeps the loop alive by itself */
    uv_signal_init(ctx->loop, &s.sigterm);
    uv_signal_init(ctx->loop, &s.sigint);
    s.sigterm.data = s.sigint.data = &s;
    uv_signal_start(&s.sigterm, on_signal, SIGTERM);
    uv_signal_start(&s.sigint, on_signal, SIGINT);
    printf("rtkd: listening on %s\n", base);
    if (cfg->metrics_host != NULL && s.metrics_http != NULL) {
        int v6m = strchr(cfg->metrics_host, ':') != NULL;
        printf("rtkd: metrics on http://%s%s%s:%d/metrics\n", v6m ? "[" : "", cfg->metrics_host,
               v6m ? "]" : "", rtk_http_server_port(s.metrics_http));
    }
    fflush(stdout);

    /* From here on the log goes through a bounded queue on the loop: a stalled reader costs
     * log lines, never answers (rtk_log.h). Opened after the last line on stdout: a socket
     * (journald's, shared by stdout and stderr) is made non-blocking. */
    if ((rc = rtk_log_open(STDERR_FILENO, cfg->log_format, 0)) != 0 ||
        (rc = rtk_log_attach(ctx->loop)) != 0)
        rtk_log(RTK_LOG_WARN, "the log stays blocking: %s", rtk_strerror(rc));
    uv_run(ctx->loop, UV_RUN_DEFAULT);
    exit_code = 0;
out:
    if (s.metrics_http != NULL && exit_code != 0) {
        rtk_http_server_stop(s.metrics_http, NULL, NULL);
        s.metrics_http = NULL;
    }
    if (s.http != NULL && exit_code != 0) {
        /* Started but not served (dev set-up failed): stop the listener on the loop. */
        rtk_http_server_stop(s.http, NULL, NULL);
        if (ctx->live != NULL)
            rtk_live_shutdown(ctx->live, NULL, NULL);
        uv_run(ctx->loop, UV_RUN_DEFAULT);
    } else if (ctx->live != NULL && exit_code != 0) {
        rtk_live_shutdown(ctx->live, NULL, NULL);
        uv_run(ctx->loop, UV_RUN_DEFAULT);
    }
    if (ctx->cluster != NULL) { /* not started: gives up its lease, closes on the loop */
        rtk_cluster_stop(ctx->cluster);
        ctx->cluster = NULL;
        uv_run(ctx->loop, UV_RUN_DEFAULT);
    }
    if (s.hook != NULL && exit_code != 0) {
        rtk_hook_stop(s.hook);
        uv_run(ctx->loop, UV_RUN_DEFAULT);
    }
    /* What the stop left batched (the last leaves) is committed here, and the callbacks that
     * waited on it run while live still exists. */
    if (s.persist != NULL)
        rtk_persist_turn(s.persist);
    rtk_store_close(ctx->store);
    rtk_hook_free(s.hook); /* after the store ran the callbacks of its result writes */
    rtk_hook_keys_free(s.hook_keys);
    free(ctx->webhook_keys_json);
    rtk_persist_free(s.persist);
    rtk_live_free(ctx->live);
    rtk_sendpool_stop();
    rtk_ratelimit_free(&ctx->api_rl);
    rtk_ratelimit_free(&ctx->ws_rl);
    rtk_api_ctx_free(ctx);
    rtk_proxy_trust_free(s.trust_proxy);
    rc = uv_loop_close(ctx->loop);
    if (rc != 0)
        rtk_log(RTK_LOG_ERROR, "loop closed with handles still open: %s", uv_strerror(rc));
    if (exit_code == 0)
        rtk_log(RTK_LOG_INFO, "stopped");
    rtk_log_close(1000);
    close(s.lock_fd);
    return exit_code;
}
