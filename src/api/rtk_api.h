/* SPDX-License-Identifier: MIT */
/* rtk_api.h - the REST API: the route table, authentication, and one handler per route.
 *
 * Runs on the loop thread. The flow is net -> router -> (auth, ownership) -> handler -> store
 * and live; handlers never touch sockets. Handlers are continuations: a handler that needs
 * the store issues the call and returns; the store's callback continues it, and every path
 * ends in exactly one reply (rtk_api_reply*, rtk_api_fail*), which also frees the call. A 2xx
 * to a write is sent from the write's own callback, which runs only once the write is
 * committed (rtk_store.h), so nothing acknowledged can be lost. */
#ifndef RTK_API_H
#define RTK_API_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "http/rtk_router.h"
#include "live/rtk_live.h"
#include "net/rtk_http.h"
#include "store/rtk_store.h"
#include "util/rtk_map.h"
#include "util/rtk_ratelimit.h"

struct json_t;

/* The server instance the handlers work on (one per process). */
typedef struct rtk_ctx {
    uv_loop_t *loop;
    rtk_store *store;
    rtk_live *live;                /* live sessions and peers; NULL until the channel starts */
    struct rtk_cluster *cluster;   /* --bus: the other nodes (NULL: a single node) */
    uint8_t signing_key[32];       /* HMAC key of participant tokens */
    int64_t ptoken_ttl_s;          /* lifetime of a participant token */
    int stopping;                  /* set on SIGTERM: /readyz answers 503 */
    rtk_ratelimit api_rl;          /* requests per API token (250 per 10 s by default) */
    rtk_ratelimit ws_rl;           /* channel handshakes per client IP (50/s by default) */
    int64_t max_peers_per_meeting; /* 0: no cap */
    rtk_map auth_cache;            /* token SHA-256 (hex) -> its account and id (rtk_api.c) */
    rtk_map app_owner;             /* app id -> account id; apps never move or go away */
    uint64_t auth_epoch;           /* the store's epoch when auth_cache was last valid */
    char *webhook_keys_json;       /* GET /.well-known/webhooks.json's body (the server's) */
    const char *metrics_token;     /* --metrics-token: GET /metrics on the main listener needs
                                    * it as a Bearer token; NULL: /metrics answers 404 there */
    const char *version;           /* rtkd_build_info{version} */
    int64_t start_time_s;          /* rtkd_start_time_seconds */
    struct rtk_hook *hook;         /* told of webhook writes (rtk_hook.h); NULL: none */
} rtk_ctx;

/* Frees the caches of |ctx| (the rest of it belongs to the server). */
void rtk_api_ctx_free(rtk_ctx *ctx);

/* Authentication levels of route rows (rtk_route.flags). */
enum { RTK_AUTH_NONE = 0, RTK_AUTH_ACCOUNT, RTK_AUTH_APP };

/* One routed request while it is being answered. Path parameters are NUL-terminated copies
 * (m.params: account, app, then the route's own). Owned by the API: freed by the reply. */
typedef struct rtk_call {
    rtk_http_req *req;
    rtk_ctx *ctx;
    rtk_route_match m;
    const char *account;                 /* m.params[0] for account routes */
    const char *app;                     /* m.params[1] for app routes */
    char token_id[33];                   /* id of the API token that authenticated the call */
    struct json_t *body;                 /* the parsed body (rtk_api_body), freed with the call */
    struct json_t *doc;                  /* a document the handler loaded, freed with the call */
    struct json_t *extra;                /* a second one, freed with the call */
    void *data;                          /* handler state, free()d with the call */
    void (*next)(struct rtk_call *call); /* where a shared loader continues */
} rtk_call;

/* The route table (rtk_api_routes.c). */
extern const rtk_route rtk_api_routes[];
extern const size_t rtk_api_nroutes;

/* The rtk_http_handler of the server: |req->server_data| is the rtk_ctx. */
void rtk_api_handle(rtk_http_req *req);

/* The rtk_http_handler of the --metrics-listen listener: GET /metrics without a token and
 * GET /healthz; every other request gets 404. |req->server_data| is the rtk_ctx. */
void rtk_api_metrics_handle(rtk_http_req *req);
/* Its route table (rtk_api_routes.c). */
extern const rtk_route rtk_api_metrics_routes[];
extern const size_t rtk_api_metrics_nroutes;

/* The credential of an "Authorization: Bearer …" header (scheme case-insensitive, spaces
 * trimmed), borrowed from |req|, with its length in *len; NULL when absent or empty. */
const char *rtk_api_bearer(const rtk_http_req *req, size_t *len);

/* ---- replies: each ends the call (frees it); the handler must not touch it afterwards ---- */

/* {"success":true,"data":data[,"paging":paging]}; takes ownership of both (paging may be
 * NULL). */
void rtk_api_reply(rtk_call *call, int status, struct json_t *data, struct json_t *paging);
/* {"success":true,"data":<|len| bytes of JSON text>}. */
void rtk_api_reply_text(rtk_call *call, int status, const char *data, size_t len);
/* Ends a call whose request was consumed otherwise (an upgrade). */
void rtk_api_done(rtk_call *call);
/* The whole answer body |body| (|len| bytes of JSON) as it is. */
void rtk_api_reply_raw(rtk_call *call, int status, const char *body, size_t len);
/* The RealtimeKit error envelope with a formatted message. */
void rtk_api_fail(rtk_call *call, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same, with extra raw header lines (each ending in CRLF). */
void rtk_api_fail_h(rtk_call *call, int status, const char *headers, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The answer to a store failure: 503 (RTK_EUNAVAIL: "the store is unavailable; nothing was
 * written", Retry-After) or 500 (anything else). */
void rtk_api_store_error(rtk_call *call, int status);
/* 404 "No active session found for meeting_id …". */
void rtk_api_no_session(rtk_call *call, const char *meeting_id);
/* The answer to what a live operation returned when it refused at once: RTK_ENOTFOUND is
 * no live session (404), RTK_EBUSY an ending one (503). */
void rtk_api_live_refused(rtk_call *call, const char *meeting_id, int rc);

/* ---- request helpers (each answers and returns -1 on failure, which ends the call) ---- */

/* Parses the request body into call->body (an empty body counts as {}). 0, or -1 after 400. */
int rtk_api_body(rtk_call *call);

/* Field validators for request objects. Each returns 0 when |key| is absent (leaving *out
 * alone) or valid (setting *out), and otherwise answers 400 naming the field and returns -1. */
int rtk_api_opt_string(rtk_call *call, struct json_t *obj, const char *key, int nullable,
                       size_t max_len, const char **out);
int rtk_api_opt_bool(rtk_call *call, struct json_t *obj, const char *key, int *out);
int rtk_api_opt_int(rtk_call *call, struct json_t *obj, const char *key, int64_t min, int64_t max,
                    int64_t *out);

/* Reads page_no/per_page; answers 400 and returns -1 when invalid. */
int rtk_api_paging(rtk_call *call, rtk_store_page *page);

/* Sets |doc|'s "updated_at" to now, or 1 ms past its current value when the clock has not
 * moved on, so every change is visible in updated_at. */
void rtk_api_touch(struct json_t *doc);

/* Loads the meeting of the path (m.params[2]) of the call's app into call->doc and continues
 * with |next|; answers 404 ("No meeting found with id …") or the store error otherwise. */
void rtk_api_load_meeting(rtk_call *call, void (*next)(rtk_call *call));


/* A store result's single document (set 0, row 0, column 0) parsed: a new reference, or NULL
 * when it is not valid JSON. */
struct json_t *rtk_api_doc(const rtk_store_res *res);

/* A page of documents (set 0: count, set 1: one JSON text per row) as the reply's data and
 * paging. */
void rtk_api_reply_docs(rtk_call *call, const rtk_store_res *res, rtk_store_page page);

/* Store rows of a meeting or participant from its document |doc|. Borrows |doc|. */
void rtk_api_doc_row(struct json_t *doc, rtk_store_doc *out);

/* The JSON text of |doc| (compact); the caller frees it. Aborts on OOM. */
char *rtk_api_dump(struct json_t *doc);

/* Handlers, one per route row (rtk_api_apps.c, rtk_api_meetings.c, ...). */
void rtk_api_healthz(rtk_call *call);
/* GET /metrics (rtk_api_metrics.c): on the main listener only to the --metrics-token bearer
 * (401 otherwise; 404 when no token is set); rtk_api_metrics_open serves it unasked, on the
 * metrics listener. */
void rtk_api_metrics(rtk_call *call);
void rtk_api_metrics_open(rtk_call *call);
void rtk_api_readyz(rtk_call *call);
void rtk_api_apps_list(rtk_call *call);
void rtk_api_apps_create(rtk_call *call);
void rtk_api_meetings_create(rtk_call *call);
void rtk_api_meetings_list(rtk_call *call);
void rtk_api_meeting_get(rtk_call *call);
void rtk_api_meeting_update(rtk_call *call); /* PATCH merges, PUT replaces */
void rtk_api_participants_add(rtk_call *call);
void rtk_api_participants_list(rtk_call *call);
void rtk_api_participant_get(rtk_call *call);
void rtk_api_participant_edit(rtk_call *call);
void rtk_api_participant_delete(rtk_call *call);
void rtk_api_participant_token(rtk_call *call);
void rtk_api_active_get(rtk_call *call);
void rtk_api_active_kick(rtk_call *call);
void rtk_api_active_kick_all(rtk_call *call);
/* participant.kick from the channel (rtk_chan_kick_fn; |arg| is the rtk_ctx): resolves the
 * ids as the REST kick does and answers the peer `done`, `not_found` or `unavailable`. */
void rtk_api_chan_kick(void *arg, rtk_live *live, rtk_peer *peer, const char *const *ids,
                       size_t n, size_t nplain, const char *ref, size_t ref_len);
void rtk_api_poll_create(rtk_call *call);
void rtk_api_polls_list(rtk_call *call);
void rtk_api_poll_get(rtk_call *call);
void rtk_api_session_polls(rtk_call *call);
void rtk_api_sessions_list(rtk_call *call);
void rtk_api_session_get(rtk_call *call);
void rtk_api_session_participants(rtk_call *call);
void rtk_api_presets_create(rtk_call *call);
void rtk_api_presets_list(rtk_call *call);
void rtk_api_preset_get(rtk_call *call);
void rtk_api_preset_update(rtk_call *call); /* PATCH merges field by field, PUT replaces */
void rtk_api_preset_delete(rtk_call *call);
void rtk_api_analytics_daywise(rtk_call *call);
void rtk_api_webhooks_create(rtk_call *call);
void rtk_api_webhooks_list(rtk_call *call);
void rtk_api_webhook_get(rtk_call *call);
void rtk_api_webhook_update(rtk_call *call); /* PATCH merges, PUT replaces */
void rtk_api_webhook_delete(rtk_call *call);
void rtk_api_webhook_deliveries(rtk_call *call);
void rtk_api_webhook_retry(rtk_call *call);
void rtk_api_webhooks_keys(rtk_call *call); /* GET /.well-known/webhooks.json */

/* Checks a webhook body |body| (an object; rtk_api_webhooks.c): with |whole|, name, url and
 * events are required (POST, PUT); without, any subset (PATCH). Returns 0, or -1 with a
 * message naming the first bad field in msg[cap]. */
int rtk_api_webhook_check(struct json_t *body, int whole, char *msg, size_t cap);

/* Checks a preset body |body| against the SDK's Preset shapes (rtk_api_presets.c): with
 * |whole|, every required field must be there (POST, PUT); without, any subset (PATCH).
 * Returns 0, or -1 with a message naming the first bad field (dotted path) in msg[cap]. */
int rtk_api_preset_check(struct json_t *body, int whole, char *msg, size_t cap);
/* Merges the checked PATCH body |body| into preset |doc| field by field. Borrows both. */
void rtk_api_preset_merge(struct json_t *doc, struct json_t *body);
/* Parses a YYYY-MM-DD date into days since 1970-01-01 (UTC) in *day. 0 or RTK_EINVAL. */
int rtk_api_parse_day(const char *s, int64_t *day);

/* GET /v1/ws: validates the handshake and hands the connection to the channel. */
void rtk_api_ws(rtk_call *call);
/* GET /v1/ws/check?token=: the handshake's decision without the upgrade (200 joinable). */
void rtk_api_ws_check(rtk_call *call);

#endif
