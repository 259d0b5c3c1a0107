/* SPDX-License-Identifier: MIT */
/* main.c - the rtkd command line: serve, account and token commands, config and signals. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "auth/rtk_token.h"
#include "http/rtk_proxy.h"
#include "server/rtk_server.h"
#include "bus/rtk_bus.h"
#include "store/rtk_store.h"
#include "util/rtk_err.h"
#include "util/rtk_id.h"
#include "util/rtk_log.h"
#include "util/rtk_time.h"

#define RTKD_VERSION "0.1.0"

#define SERVE_SYNOPSIS                                                                             \
    "  rtkd serve [--listen ADDR:PORT] [--data DIR] [--store URL] [--dev]\n"                       \
    "             [--sync normal|full]\n"                                                          \
    "             [--access-log on|off] [--log-format text|json]\n"                                \
    "             [--token-ttl SECONDS] [--heartbeat-ms MS]\n"                                     \
    "             [--api-rate-limit N] [--handshake-rate N] [--peer-msg-rate N]\n"                 \
    "             [--max-peers-per-meeting N] [--max-connections N]\n"                             \
    "             [--max-connections-per-ip N] [--trust-proxy CIDR[,CIDR...]]\n"                 \
    "             [--webhook-retry-base-ms MS] [--webhook-max-age SECONDS]\n"                     \
    "             [--webhook-max-inflight N] [--webhook-max-per-webhook N]\n"                  \
    "             [--metrics-token TOKEN] [--metrics-listen ADDR:PORT]\n"                     \
    "             [--bus redis://HOST:PORT[/DB]] [--node-id NAME]\n"                          \
    "             [--send-threads N]\n"
#define ACCOUNT_SYNOPSIS "  rtkd account create (--data DIR | --store URL) --name NAME\n"
#define TOKEN_SYNOPSIS                                                                             \
    "  rtkd token create (--data DIR | --store URL) --account ID --name NAME\n"                    \
    "  rtkd token list (--data DIR | --store URL) [--account ID]\n"                                \
    "  rtkd token revoke (--data DIR | --store URL) --id TOKEN_ID\n"
#define STORE_OPTIONS                                                                              \
    "  --data DIR          RTKD_DATA        data folder (default ./var), created if missing;\n"    \
    "                                       one server per folder (DIR/rtkd.lock)\n"               \
    "  --store URL         RTKD_STORE       sqlite:DIR or postgres://USER[:PASS]@HOST:PORT/DB\n"   \
    "                                       (default sqlite: + the data folder); the database\n"   \
    "                                       must exist\n"
#define SERVE_OPTIONS                                                                              \
    "  --listen ADDR:PORT  RTKD_LISTEN      address to serve on (default 127.0.0.1:8080;\n"        \
    "                                       port 0 picks a free port; a name such as\n"            \
    "                                       localhost is resolved at start-up; [::1]:PORT\n"       \
    "                                       for IPv6)\n" STORE_OPTIONS                             \
    "  --dev               RTKD_DEV=1       create a dev account, app and API token on first\n"    \
    "                                       start; write DIR/dev-credentials.json (0600)\n"        \
    "  --sync MODE         RTKD_SYNC        normal: commits survive a crash of rtkd (kill -9);\n"  \
    "                                       full: also survive power loss (fsync per commit)\n"    \
    "  --access-log on|off RTKD_ACCESS_LOG  one line per request on stderr (default on)\n"         \
    "  --log-format FMT    RTKD_LOG_FORMAT  text (default) or json: one JSON object per line\n"    \
    "  --token-ttl SECONDS RTKD_TOKEN_TTL   participant token lifetime (default 2592000)\n"        \
    "  --heartbeat-ms MS   RTKD_HEARTBEAT_MS  WebSocket ping interval; a peer silent for two\n"    \
    "                                       intervals is dropped (default 25000)\n"                \
    "  --api-rate-limit N  RTKD_API_RATE_LIMIT  requests per 10 s per API token (default 250;\n"   \
    "                                       0 turns the limit off); over it: 429 + Retry-After\n"  \
    "  --handshake-rate N  RTKD_HANDSHAKE_RATE  channel handshakes per second per client IP\n"     \
    "                                       (default 50, bursts of the same; 0: off)\n"            \
    "  --peer-msg-rate N   RTKD_PEER_MSG_RATE   messages per second per peer (default 50,\n"       \
    "                                       bursts of 2N; 0: off)\n"                               \
    "  --max-peers-per-meeting N  RTKD_MAX_PEERS_PER_MEETING  connected peers per meeting\n"       \
    "                                       (default 50000; 0: no cap); over it: 429\n"            \
    "  --max-connections N  RTKD_MAX_CONNECTIONS  open connections in all (default: the open\n"    \
    "                                       file limit minus 64; 0: no cap); over it: 503\n"       \
    "  --max-connections-per-ip N  RTKD_MAX_CONNECTIONS_PER_IP  open connections per client\n"     \
    "                                       address (default 1000; 0: no cap); over it: 429\n"     \
    "  --trust-proxy CIDRS  RTKD_TRUST_PROXY  reverse proxies (CIDR blocks or addresses,\n"        \
    "                                       comma-separated): from them X-Forwarded-For\n"         \
    "                                       names the client (its right-most untrusted hop)\n"     \
    "                                       for per-IP limits and the access log; their own\n"     \
    "                                       connections are not capped per address (default\n"     \
    "                                       none: the header is ignored)\n"                        \
    "  --webhook-retry-base-ms MS  RTKD_WEBHOOK_RETRY_BASE_MS  wait before a webhook's first\n"   \
    "                                       retry, doubled per attempt (default 1000)\n"          \
    "  --webhook-max-age SECONDS  RTKD_WEBHOOK_MAX_AGE  a delivery still failing after this\n"    \
    "                                       is failed (default 86400)\n"                          \
    "  --webhook-max-inflight N  RTKD_WEBHOOK_MAX_INFLIGHT  webhook requests in flight in\n"      \
    "                                       all (default 64)\n"                                   \
    "  --webhook-max-per-webhook N  RTKD_WEBHOOK_MAX_PER_WEBHOOK  requests in flight per\n"       \
    "                                       webhook (default 8)\n"                               \
    "  --bus URL           RTKD_BUS         redis://HOST:PORT[/DB]: run as one node of a\n"      \
    "                                       cluster (needs a postgres:// store; see\n"           \
    "                                       docs/cluster.md); default off\n"                     \
    "  --node-id NAME      RTKD_NODE_ID     this node's name on the bus (default: host\n"        \
    "                                       name:port)\n"                                          \
    "  --metrics-token TOKEN  RTKD_METRICS_TOKEN  GET /metrics (Prometheus text) on the main\n" \
    "                                       listener answers only Authorization: Bearer TOKEN\n" \
    "                                       (401 otherwise); without it, 404 there\n"           \
    "  --metrics-listen ADDR:PORT  RTKD_METRICS_LISTEN  a second listener serving only\n"      \
    "                                       /metrics, without a token, and /healthz (default\n" \
    "                                       none; keep it on a private address)\n"             \
    "  --send-threads N    RTKD_SEND_THREADS  helper threads that share the sends of a\n"       \
    "                                       broadcast to many peers with the loop thread\n"    \
    "                                       (0-16; default 1 on 2 or more CPUs, else 0)\n"
#define ACCOUNT_COMMANDS "  account create   prints the new account id (32 hex characters)\n"
#define TOKEN_COMMANDS                                                                             \
    "  token create     prints the new API token secret (shown once; stored hashed)\n"             \
    "  token list       one line per token: id, account, name, created, active|revoked\n"          \
    "  token revoke     revokes a token by id; takes effect at once, also while serving\n"
#define SDK_NOTE                                                                                   \
    "The REST API is served at the root and under /client/v4, so\n"                                \
    "CLOUDFLARE_BASE_URL=http://ADDR:PORT/client/v4 points the official SDKs at rtkd.\n"           \
    "SIGTERM or SIGINT stops accepting, finishes requests in flight and exits 0.\n"

static const char usage[] =
    "rtkd " RTKD_VERSION " - self-hosted meeting session server (Cloudflare RealtimeKit API)\n"
    "\n"
    "Usage:\n" SERVE_SYNOPSIS ACCOUNT_SYNOPSIS TOKEN_SYNOPSIS "  rtkd serve|account|token --help\n"
    "  rtkd --help | --version\n"
    "\n"
    "Options (each also read from the environment variable shown; a flag wins):\n" SERVE_OPTIONS
    "\n"
    "Commands:\n" ACCOUNT_COMMANDS TOKEN_COMMANDS "\n" SDK_NOTE;

/* `rtkd serve --help`, `rtkd account --help`, `rtkd token --help`: one command's usage. */
static const char serve_usage[] =
    "Usage:\n" SERVE_SYNOPSIS "\n"
    "Serves the REST API and the participant channel until SIGTERM or SIGINT.\n"
    "\n"
    "Options (each also read from the environment variable shown; a flag wins):\n" SERVE_OPTIONS
    "\n" SDK_NOTE;
static const char account_usage[] =
    "Usage:\n" ACCOUNT_SYNOPSIS "\n"
    "Commands:\n" ACCOUNT_COMMANDS "\n"
    "Options:\n" STORE_OPTIONS "  --name NAME                          the account's name\n";
static const char token_usage[] =
    "Usage:\n" TOKEN_SYNOPSIS "\n"
    "Commands:\n" TOKEN_COMMANDS "\n"
    "Options:\n" STORE_OPTIONS
    "  --account ID                         the account (32 hex characters)\n"
    "  --name NAME                          the token's name\n"
    "  --id TOKEN_ID                        the token to revoke (from token list)\n";

typedef struct options {
    const char *listen;
    const char *data;
    const char *name;
    const char *account;
    const char *id;
    const char *sync;
    const char *access_log;
    const char *log_format;
    const char *token_ttl;
    const char *heartbeat_ms;
    const char *api_rate;
    const char *handshake_rate;
    const char *peer_msg_rate;
    const char *max_peers;
    const char *max_conns;
    const char *max_conns_ip;
    const char *store;
    const char *trust_proxy;
    const char *hook_base;
    const char *hook_age;
    const char *hook_inflight;
    const char *hook_per;
    const char *bus;
    const char *node_id;
    const char *metrics_token;
    const char *metrics_listen;
    const char *send_threads;
    int dev;
    int help; /* --help or -h among the flags */
} options;

static int fail_usage(const char *msg, const char *arg)
{
    fprintf(stderr, "rtkd: %s%s%s\nTry 'rtkd --help'.\n", msg, arg ? ": " : "", arg ? arg : "");
    return 2;
}

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

/* Parses flags from argv[i..]. Returns 0 or an exit status. */
static int parse_flags(int argc, char **argv, int i, options *o)
{
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (strcmp(a, "--dev") == 0) {
            o->dev = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            o->help = 1;
            continue;
        }
        if (strcmp(a, "--listen") == 0)
            slot = &o->listen;
        else if (strcmp(a, "--data") == 0)
            slot = &o->data;
        else if (strcmp(a, "--store") == 0)
            slot = &o->store;
        else if (strcmp(a, "--name") == 0)
            slot = &o->name;
        else if (strcmp(a, "--account") == 0)
            slot = &o->account;
        else if (strcmp(a, "--id") == 0)
            slot = &o->id;
        else if (strcmp(a, "--sync") == 0)
            slot = &o->sync;
        else if (strcmp(a, "--access-log") == 0)
            slot = &o->access_log;
        else if (strcmp(a, "--log-format") == 0)
            slot = &o->log_format;
        else if (strcmp(a, "--token-ttl") == 0)
            slot = &o->token_ttl;
        else if (strcmp(a, "--heartbeat-ms") == 0)
            slot = &o->heartbeat_ms;
        else if (strcmp(a, "--api-rate-limit") == 0)
            slot = &o->api_rate;
        else if (strcmp(a, "--handshake-rate") == 0)
            slot = &o->handshake_rate;
        else if (strcmp(a, "--peer-msg-rate") == 0)
            slot = &o->peer_msg_rate;
        else if (strcmp(a, "--max-peers-per-meeting") == 0)
            slot = &o->max_peers;
        else if (strcmp(a, "--max-connections") == 0)
            slot = &o->max_conns;
        else if (strcmp(a, "--max-connections-per-ip") == 0)
            slot = &o->max_conns_ip;
        else if (strcmp(a, "--trust-proxy") == 0)
            slot = &o->trust_proxy;
        else if (strcmp(a, "--webhook-retry-base-ms") == 0)
            slot = &o->hook_base;
        else if (strcmp(a, "--webhook-max-age") == 0)
            slot = &o->hook_age;
        else if (strcmp(a, "--webhook-max-inflight") == 0)
            slot = &o->hook_inflight;
        else if (strcmp(a, "--webhook-max-per-webhook") == 0)
            slot = &o->hook_per;
        else if (strcmp(a, "--bus") == 0)
            slot = &o->bus;
        else if (strcmp(a, "--node-id") == 0)
            slot = &o->node_id;
        else if (strcmp(a, "--metrics-token") == 0)
            slot = &o->metrics_token;
        else if (strcmp(a, "--metrics-listen") == 0)
            slot = &o->metrics_listen;
        else if (strcmp(a, "--send-threads") == 0)
            slot = &o->send_threads;
        else
            return fail_usage("unknown option", a);
        if (i + 1 >= argc)
            return fail_usage("option needs a value", a);
        *slot = argv[++i];
    }
    return 0;
}

static int is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

/* Prints one command's usage on stdout: asked for, so exit status 0. */
static int print_usage(const char *text)
{
    fputs(text, stdout);
    return 0;
}

static int make_data_dir(const char *dir)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "rtkd: cannot create data folder %s: %s\n", dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* Writes and syncs 64 KiB in |dir| and removes it again, so a read-only or full data folder
 * is reported at start-up rather than on the first acknowledged write. */
static int probe_writable(const char *dir)
{
    char path[4200];
    static const char block[65536];
    snprintf(path, sizeof(path), "%s/.rtkd-write-probe", dir);
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fwrite(block, 1, sizeof(block), f) == sizeof(block) && fflush(f) == 0 &&
             fsync(fileno(f)) == 0;
    int err = errno;
    if (f != NULL && fclose(f) != 0 && ok) {
        ok = 0;
        err = errno;
    }
    unlink(path);
    if (!ok) {
        fprintf(stderr, "rtkd: the data folder %s is not writable: %s\n", dir, strerror(err));
        return -1;
    }
    return 0;
}

/* The store URL: --store, or sqlite: + the data folder. */
static const char *store_url(const options *o, char *buf, size_t cap)
{
    if (o->store != NULL && o->store[0] != '\0')
        return o->store;
    snprintf(buf, cap, "sqlite:%s", o->data);
    return buf;
}

static int open_store(const options *o, uv_loop_t *loop, rtk_store **st)
{
    char buf[4200], shown[600];
    const char *url = store_url(o, buf, sizeof(buf));
    if (strncmp(url, "sqlite:", 7) == 0 && make_data_dir(url + 7) != 0)
        return -1;
    rtk_store_config cfg = {
        .url = url, .full_sync = o->sync && strcmp(o->sync, "full") == 0, .quiet = 1};
    if (rtk_store_open(loop, &cfg, st) != 0) {
        rtk_store_url_redacted(url, shown, sizeof(shown));
        fprintf(stderr, "rtkd: cannot open the store %s\n", shown);
        return -1;
    }
    return 0;
}

/* Waits for the store operation issued just before into *k; returns its status. */
static int wait_kept(rtk_store *st, rtk_store_kept *k)
{
    rtk_store_wait(st);
    return k->done ? k->status : RTK_EUNAVAIL;
}

static void store_failed(int rc)
{
    fprintf(stderr, "rtkd: the store failed: %s\n", rtk_strerror(rc));
}

static int cmd_account(int argc, char **argv, options *o)
{
    rtk_store *st = NULL;
    rtk_store_kept k;
    char id[33];
    if (argc >= 3 && is_help(argv[2]))
        return print_usage(account_usage);
    if (argc < 3 || strcmp(argv[2], "create") != 0)
        return fail_usage("expected: account create", NULL);
    int rc = parse_flags(argc, argv, 3, o);
    if (rc != 0)
        return rc;
    if (o->help)
        return print_usage(account_usage);
    if (o->name == NULL || o->name[0] == '\0')
        return fail_usage("account create needs --name", NULL);
    if (open_store(o, uv_default_loop(), &st) != 0)
        return 1;
    rtk_id_hex(id, 16);
    rtk_store_account_create(st, id, o->name, 0, rtk_time_now_ms(), rtk_store_keep, &k);
    rc = wait_kept(st, &k);
    rtk_store_kept_free(&k);
    rtk_store_close(st);
    if (rc != 0) {
        store_failed(rc);
        return 1;
    }
    printf("%s\n", id);
    return 0;
}

static int token_create(rtk_store *st, const options *o)
{
    rtk_store_kept k;
    rtk_store_account_get(st, o->account, rtk_store_keep, &k);
    int rc = wait_kept(st, &k);
    rtk_store_kept_free(&k);
    if (rc == RTK_ENOTFOUND) {
        fprintf(stderr, "rtkd: no account with id %s\n", o->account);
        return 1;
    }
    if (rc != 0) {
        store_failed(rc);
        return 1;
    }
    char secret[RTK_API_TOKEN_LEN + 1], id[33];
    uint8_t hash[32];
    rtk_token_mint(secret, hash, id);
    rtk_store_token_create(st, id, o->account, o->name, hash, rtk_time_now_ms(), rtk_store_keep,
                           &k);
    rc = wait_kept(st, &k);
    rtk_store_kept_free(&k);
    if (rc != 0) {
        store_failed(rc);
        return 1;
    }
    printf("%s\n", secret);
    return 0;
}

static int token_list(rtk_store *st, const options *o)
{
    rtk_store_kept k;
    rtk_store_token_list(st, o->account, rtk_store_keep, &k);
    int rc = wait_kept(st, &k);
    if (rc != 0) {
        rtk_store_kept_free(&k);
        store_failed(rc);
        return 1;
    }
    const rtk_store_set *rows = &k.res.sets[0];
    for (size_t i = 0; i < rows->nrows; i++) {
        char created[25];
        rtk_time_iso(rtk_store_int(rows, i, 3), created);
        printf("%s\t%s\t%s\t%s\t%s\n", rtk_store_text(rows, i, 0, NULL),
               rtk_store_text(rows, i, 1, NULL), rtk_store_text(rows, i, 2, NULL), created,
               rtk_store_is_null(rows, i, 4) ? "active" : "revoked");
    }
    rtk_store_kept_free(&k);
    return 0;
}

static int token_revoke(rtk_store *st, const options *o)
{
    rtk_store_kept k;
    rtk_store_token_revoke(st, o->id, rtk_time_now_ms(), rtk_store_keep, &k);
    int rc = wait_kept(st, &k);
    rtk_store_kept_free(&k);
    if (rc == RTK_ENOTFOUND) {
        fprintf(stderr, "rtkd: no active token with id %s\n", o->id);
        return 1;
    }
    if (rc != 0) {
        store_failed(rc);
        return 1;
    }
    return 0;
}

static int cmd_token(int argc, char **argv, options *o)
{
    rtk_store *st = NULL;
    if (argc >= 3 && is_help(argv[2]))
        return print_usage(token_usage);
    if (argc < 3)
        return fail_usage("expected: token create|list|revoke", NULL);
    const char *verb = argv[2];
    int rc = parse_flags(argc, argv, 3, o);
    if (rc != 0)
        return rc;
    if (o->help)
        return print_usage(token_usage);
    int (*run)(rtk_store *, const options *) = NULL;
    if (strcmp(verb, "create") == 0) {
        if (o->account == NULL || o->name == NULL || o->name[0] == '\0')
            return fail_usage("token create needs --account and --name", NULL);
        run = token_create;
    } else if (strcmp(verb, "list") == 0) {
        run = token_list;
    } else if (strcmp(verb, "revoke") == 0) {
        if (o->id == NULL)
            return fail_usage("token revoke needs --id", NULL);
        run = token_revoke;
    } else {
        return fail_usage("unknown token command", verb);
    }
    if (open_store(o, uv_default_loop(), &st) != 0)
        return 1;
    rc = run(st, o);
    rtk_store_close(st);
    return rc;
}

/* Splits "ADDR:PORT" (or "[v6]:PORT") into host and port. Returns 0 or -1. */
static int parse_listen(const char *s, char *host, size_t cap, int *port)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s)
        return -1;
    const char *h = s;
    size_t hlen = (size_t)(colon - s);
    if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= cap)
        return -1;
    char *end = NULL;
    long p = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || p < 0 || p > 65535)
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (int)p;
    return 0;
}

/* Replaces a host name in |host| by its first address (getaddrinfo's order, RFC 6724): at
 * start-up, before the loop runs, so the blocking resolver costs nothing while serving. A
 * numeric address is left as it is. Returns 0, or -1 after a message. */
static int resolve_listen(char *host, size_t cap)
{
    unsigned char probe[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, host, probe) == 1 || inet_pton(AF_INET6, host, probe) == 1)
        return 0;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0 || res == NULL) {
        fprintf(stderr, "rtkd: cannot resolve --listen host %s: %s\n", host,
                rc != 0 ? gai_strerror(rc) : "no address");
        return -1;
    }
    const void *addr = res->ai_family == AF_INET6
                           ? (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr
                           : (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr;
    char num[INET6_ADDRSTRLEN];
    int ok = inet_ntop(res->ai_family, addr, num, sizeof(num)) != NULL &&
             snprintf(host, cap, "%s", num) < (int)cap;
    freeaddrinfo(res);
    return ok ? 0 : -1;
}

static int cmd_serve(int argc, char **argv, options *o)
{
    char host[256];
    int port = 0, rc = parse_flags(argc, argv, 2, o);
    if (rc != 0)
        return rc;
    if (o->help)
        return print_usage(serve_usage);
    if (parse_listen(o->listen, host, sizeof(host), &port) != 0)
        return fail_usage("--listen takes ADDR:PORT", o->listen);
    if (resolve_listen(host, sizeof(host)) != 0)
        return 2;
    char mhost[256];
    int mport = 0;
    int metrics = o->metrics_listen != NULL && o->metrics_listen[0] != '\0';
    if (metrics && parse_listen(o->metrics_listen, mhost, sizeof(mhost), &mport) != 0)
        return fail_usage("--metrics-listen takes ADDR:PORT", o->metrics_listen);
    if (metrics && resolve_listen(mhost, sizeof(mhost)) != 0)
        return 2;
    if (o->sync && strcmp(o->sync, "full") != 0 && strcmp(o->sync, "normal") != 0)
        return fail_usage("--sync takes normal or full", o->sync);
    if (strcmp(o->access_log, "on") != 0 && strcmp(o->access_log, "off") != 0)
        return fail_usage("--access-log takes on or off", o->access_log);
    if (strcmp(o->log_format, "text") != 0 && strcmp(o->log_format, "json") != 0)
        return fail_usage("--log-format takes text or json", o->log_format);
    char *end = NULL;
    long long ttl = strtoll(o->token_ttl, &end, 10);
    if (*end != '\0' || ttl < 60 || ttl > 10LL * 365 * 86400)
        return fail_usage("--token-ttl takes seconds from 60 to 315360000", o->token_ttl);

    long long hb = strtoll(o->heartbeat_ms, &end, 10);
    if (*end != '\0' || hb < 50 || hb > 3600000)
        return fail_usage("--heartbeat-ms takes milliseconds from 50 to 3600000", o->heartbeat_ms);

    long long sthreads = strtoll(o->send_threads, &end, 10);
    if (o->send_threads[0] == '\0' || *end != '\0' || sthreads < 0 || sthreads > 16)
        return fail_usage("--send-threads takes a whole number from 0 to 16", o->send_threads);

    /* The webhook limits (the last four) start at 1; the concurrency ones end at 10000. */
    long long limits[10];
    const char *limit_args[10] = {
        o->api_rate,     o->handshake_rate, o->peer_msg_rate, o->max_peers,     o->max_conns,
        o->max_conns_ip, o->hook_base,      o->hook_age,      o->hook_inflight, o->hook_per};
    static const char *const limit_names[10] = {
        "--api-rate-limit",        "--handshake-rate",  "--peer-msg-rate",
        "--max-peers-per-meeting", "--max-connections", "--max-connections-per-ip",
        "--webhook-retry-base-ms", "--webhook-max-age", "--webhook-max-inflight",
        "--webhook-max-per-webhook"};
    for (int i = 0; i < 10; i++) {
        long long min = i >= 6 ? 1 : 0, max = i >= 8 ? 10000 : 100000000;
        limits[i] = strtoll(limit_args[i], &end, 10);
        if (limit_args[i][0] == '\0' || *end != '\0' || limits[i] < min || limits[i] > max)
            return fail_usage(i >= 8   ? "expected a whole number from 1 to 10000"
                              : i >= 6 ? "expected a whole number from 1 to 100000000"
                                       : "expected a whole number from 0 to 100000000",
                              limit_names[i]);
    }

    if (o->trust_proxy != NULL && o->trust_proxy[0] != '\0') {
        rtk_proxy_trust *t = NULL;
        if (rtk_proxy_trust_parse(o->trust_proxy, &t) != 0)
            return fail_usage("--trust-proxy takes CIDR blocks, e.g. 127.0.0.1,10.0.0.0/8",
                              o->trust_proxy);
        rtk_proxy_trust_free(t);
    }

    char buf[4200];
    const char *url = store_url(o, buf, sizeof(buf));
    char node_id[192];
    if (o->bus != NULL && o->bus[0] != '\0') {
        char bhost[256];
        int bport, bdb;
        if (rtk_bus_url_parse(o->bus, bhost, sizeof(bhost), &bport, &bdb) != 0)
            return fail_usage("--bus takes redis://HOST:PORT[/DB]", o->bus);
        if (strncmp(url, "postgres://", 11) != 0 && strncmp(url, "postgresql://", 13) != 0)
            return fail_usage("--bus needs a PostgreSQL store (--store postgres://...): several "
                              "nodes cannot share one SQLite file",
                              url);
        if (o->node_id != NULL && o->node_id[0] != '\0') {
            if (strlen(o->node_id) > 100 || strpbrk(o->node_id, " \t\r\n") != NULL)
                return fail_usage("--node-id takes a name of at most 100 characters without "
                                  "spaces",
                                  o->node_id);
            snprintf(node_id, sizeof(node_id), "%s", o->node_id);
        } else {
            char hn[128] = "rtkd";
            gethostname(hn, sizeof(hn) - 1);
            hn[sizeof(hn) - 1] = '\0';
            snprintf(node_id, sizeof(node_id), "%s:%d", hn, port);
        }
    }
    if (make_data_dir(o->data) != 0 || probe_writable(o->data) != 0)
        return 1;
    if (strncmp(url, "sqlite:", 7) == 0 && strcmp(url + 7, o->data) != 0 &&
        (make_data_dir(url + 7) != 0 || probe_writable(url + 7) != 0))
        return 1;
    rtk_server_config cfg = {
        .store_url = url,
        .data_dir = o->data,
        .full_sync = o->sync && strcmp(o->sync, "full") == 0,
        .host = host,
        .port = port,
        .dev = o->dev,
        .access_log = strcmp(o->access_log, "on") == 0,
        .log_format = strcmp(o->log_format, "json") == 0 ? RTK_LOG_JSON : RTK_LOG_TEXT,
        .ptoken_ttl_s = ttl,
        .heartbeat_ms = (uint64_t)hb,
        .api_rate = (double)limits[0],
        .handshake_rate = (double)limits[1],
        .peer_msg_rate = (double)limits[2],
        .max_peers_per_meeting = limits[3],
        .max_conns = (unsigned)limits[4],
        .max_conns_per_ip = (unsigned)limits[5],
        .trust_proxy = o->trust_proxy,
        .webhook_retry_base_ms = limits[6],
        .webhook_max_age_s = limits[7],
        .webhook_max_inflight = (int)limits[8],
        .webhook_max_per_hook = (int)limits[9],
        .bus_url = o->bus != NULL && o->bus[0] != '\0' ? o->bus : NULL,
        .node_id = node_id,
        .version = RTKD_VERSION,
        .metrics_token = o->metrics_token,
        .metrics_host = metrics ? mhost : NULL,
        .metrics_port = mport,
        .send_threads = (unsigned)sthreads,
    };
    return rtk_server_run(&cfg);
}

/* The open-file limit minus a reserve for the store, the listener and the log: past it
 * accept() fails anyway, so a clean 503 is better. */
static const char *default_max_conns(void)
{
    static char buf[24];
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur < 128)
        return "0";
    snprintf(buf, sizeof(buf), "%llu", (unsigned long long)rl.rlim_cur - 64);
    return buf;
}

/* One helper beside the loop thread where there is a second CPU: measured on 2 cores, a
 * second helper did not help there (bench/analysis.md). */
static const char *default_send_threads(void)
{
    return sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? "1" : "0";
}

int main(int argc, char **argv)
{
    options o = {
        .listen = env_or("RTKD_LISTEN", "127.0.0.1:8080"),
        .data = env_or("RTKD_DATA", "./var"),
        .sync = env_or("RTKD_SYNC", "normal"),
        .access_log = env_or("RTKD_ACCESS_LOG", "on"),
        .log_format = env_or("RTKD_LOG_FORMAT", "text"),
        .token_ttl = env_or("RTKD_TOKEN_TTL", "2592000"),
        .heartbeat_ms = env_or("RTKD_HEARTBEAT_MS", "25000"),
        .api_rate = env_or("RTKD_API_RATE_LIMIT", "250"),
        .handshake_rate = env_or("RTKD_HANDSHAKE_RATE", "50"),
        .peer_msg_rate = env_or("RTKD_PEER_MSG_RATE", "50"),
        .max_peers = env_or("RTKD_MAX_PEERS_PER_MEETING", "50000"),
        .max_conns = env_or("RTKD_MAX_CONNECTIONS", default_max_conns()),
        .max_conns_ip = env_or("RTKD_MAX_CONNECTIONS_PER_IP", "1000"),
        .store = env_or("RTKD_STORE", NULL),
        .trust_proxy = env_or("RTKD_TRUST_PROXY", NULL),
        .hook_base = env_or("RTKD_WEBHOOK_RETRY_BASE_MS", "1000"),
        .hook_age = env_or("RTKD_WEBHOOK_MAX_AGE", "86400"),
        .hook_inflight = env_or("RTKD_WEBHOOK_MAX_INFLIGHT", "64"),
        .hook_per = env_or("RTKD_WEBHOOK_MAX_PER_WEBHOOK", "8"),
        .bus = env_or("RTKD_BUS", NULL),
        .node_id = env_or("RTKD_NODE_ID", NULL),
        .metrics_token = env_or("RTKD_METRICS_TOKEN", NULL),
        .metrics_listen = env_or("RTKD_METRICS_LISTEN", NULL),
        .send_threads = env_or("RTKD_SEND_THREADS", default_send_threads()),
        .dev = strcmp(env_or("RTKD_DEV", "0"), "1") == 0,
    };
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("rtkd %s\n", RTKD_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "serve") == 0)
        return cmd_serve(argc, argv, &o);
    if (strcmp(argv[1], "account") == 0)
        return cmd_account(argc, argv, &o);
    if (strcmp(argv[1], "token") == 0)
        return cmd_token(argc, argv, &o);
    return fail_usage("unknown command", argv[1]);
}
