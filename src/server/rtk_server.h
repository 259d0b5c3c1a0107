/* SPDX-License-Identifier: MIT */
/* rtk_server.h - `rtkd serve`: assembles the store, live, persistence, the channel and the HTTP
 * server on one loop, owns the loop turn, and stops it all in order. */
#ifndef RTK_SERVER_H
#define RTK_SERVER_H

#include <stdint.h>

typedef struct rtk_server_config {
    const char *store_url; /* "sqlite:DIR" or "postgres://..." */
    const char *data_dir;  /* local files: the lock, dev credentials */
    int full_sync;
    const char *host; /* numeric address */
    int port;
    int dev;
    int access_log;
    int log_format; /* rtk_log_format: RTK_LOG_TEXT or RTK_LOG_JSON */
    int64_t ptoken_ttl_s;
    uint64_t heartbeat_ms;
    double api_rate;       /* requests per 10 s per API token; 0: off */
    double handshake_rate; /* per second per IP; 0: off */
    double peer_msg_rate;  /* per second per peer; 0: off */
    int64_t max_peers_per_meeting;
    unsigned max_conns;
    unsigned max_conns_per_ip;
    const char *trust_proxy; /* CIDR list (rtk_proxy_trust_parse), NULL or "": none */
    int64_t webhook_retry_base_ms; /* WEBHOOKS.md: backoff base, max age, concurrency */
    int64_t webhook_max_age_s;
    int webhook_max_inflight;
    int webhook_max_per_hook;
    const char *bus_url; /* --bus redis://HOST:PORT[/DB], or NULL: a single node */
    const char *node_id; /* --node-id: this node's name on the bus */
    const char *version;       /* rtkd_build_info{version} */
    const char *metrics_token; /* --metrics-token: GET /metrics on the main listener; NULL or
                                * "": 404 there */
    const char *metrics_host;  /* --metrics-listen: a second listener serving only /metrics
                                * (no token) and /healthz; NULL: none */
    int metrics_port;
    unsigned send_threads; /* --send-threads: helpers for a broadcast's sends (rtk_sendpool) */
} rtk_server_config;

/* Runs the server until SIGTERM or SIGINT and returns the process's exit status: 0 after a
 * clean stop, 1 when it could not start (a message on stderr says why). Blocks. */
int rtk_server_run(const rtk_server_config *cfg);

#endif
