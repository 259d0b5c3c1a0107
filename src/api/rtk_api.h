/* SPDX-License-Identifier: MIT */
/* rtk_api.h - the REST API: request dispatch, authentication, and one handler per route.
 *
 * Runs on the loop thread. The flow is net -> router -> (auth, ownership) -> handler -> store;
 * handlers never touch sockets, they answer through rtk_reply_*. */
#ifndef RTK_API_H
#define RTK_API_H

#include <stdint.h>
#include <uv.h>

#include "http/rtk_router.h"
#include "net/rtk_http.h"
#include "store/rtk_db.h"
#include "util/rtk_ratelimit.h"

struct json_t;

typedef struct rtk_live rtk_live;

/* The server instance the handlers work on (one per process). */
typedef struct rtk_ctx {
    uv_loop_t *loop;
    rtk_db *db;
    rtk_live *live;          /* live sessions and peers; NULL until the channel starts */
    uint8_t signing_key[32]; /* HMAC key of participant tokens */
    int64_t ptoken_ttl_s;    /* lifetime of a participant token */
    int stopping;            /* set on SIGTERM: /readyz answers 503 */
    rtk_ratelimit api_rl;    /* requests per API token (250 per 10 s by default) */
    rtk_ratelimit ws_rl;     /* channel handshakes per client IP (50/s by default) */
    int64_t max_peers_per_meeting; /* 0: no cap */
    rtk_map auth_cache;      /* token SHA-256 (hex) -> its account and id (rtk_api.c) */
    rtk_map app_owner;       /* app id -> account id; apps never move or go away */
    int auth_recheck;        /* a new loop iteration began: check the caches are current */
    uv_prepare_t prepare;    /* sets auth_recheck once per loop iteration */
} rtk_ctx;

/* Starts (on ctx->loop) and stops the per-iteration cache check; rtk_api_ctx_free frees the
 * caches of |ctx| (the rest of it belongs to main). Loop thread only. */
void rtk_api_ctx_start(rtk_ctx *ctx);
void rtk_api_ctx_stop(rtk_ctx *ctx);
void rtk_api_ctx_free(rtk_ctx *ctx);

/* One routed, authenticated call. Path parameters are NUL-terminated copies. */
typedef struct rtk_call {
    rtk_http_req *req;
    rtk_ctx *ctx;
    rtk_route_match m;
    const char *account; /* m.params[0] for account routes */
    const char *app;     /* m.params[1] for app routes */
    char token_id[33];   /* id of the API token that authenticated the call */
} rtk_call;

/* The rtk_http_handler of the server: |req->server_data| is the rtk_ctx. */
void rtk_api_handle(rtk_http_req *req);

/* The credential of an "Authorization: Bearer …" header (scheme case-insensitive, spaces
 * trimmed), borrowed from |req|, with its length in *len; NULL when absent or empty. */
const char *rtk_api_bearer(const rtk_http_req *req, size_t *len);

/* Parses the request body as a JSON object. An empty body counts as {}. On success returns a
 * new reference; otherwise answers 400 and returns NULL. */
struct json_t *rtk_api_body(rtk_call *call);

/* Field validators for request objects. Each returns 0 when |key| is absent (leaving *out
 * alone) or valid (setting *out), and otherwise answers 400 naming the field and returns -1. */
int rtk_api_opt_string(rtk_call *call, struct json_t *obj, const char *key, int nullable,
                       size_t max_len, const char **out);
int rtk_api_opt_bool(rtk_call *call, struct json_t *obj, const char *key, int *out);
int rtk_api_opt_int(rtk_call *call, struct json_t *obj, const char *key, int64_t min,
                    int64_t max, int64_t *out);

/* Reads page_no/per_page; answers 400 and returns -1 when invalid. */
int rtk_api_paging(rtk_call *call, rtk_page *page);

/* Sets |doc|'s "updated_at" to now, or 1 ms past its current value when the clock has not
 * moved on, so every change is visible in updated_at. */
void rtk_api_touch(struct json_t *doc);

/* Answers {"success":true,"data":data} (takes ownership of |data|) once the writes made so
 * far are committed: at once when the store commits each write, else after the loop turn's
 * group commit (500 if that commit fails). Every 2xx to a write goes through here. */
void rtk_api_reply_committed(rtk_call *call, int status, struct json_t *data);

/* Answers 404 "No active session found for meeting_id …". */
void rtk_api_no_session(rtk_call *call, const char *meeting_id);

/* Answers 500 for a store failure. */
void rtk_api_store_error(rtk_call *call, int rc);

/* Handlers, one per route and method (rtk_api_apps.c, rtk_api_meetings.c, ...). */
void rtk_api_apps_list(rtk_call *call);
void rtk_api_apps_create(rtk_call *call);
void rtk_api_meetings_create(rtk_call *call);
void rtk_api_meetings_list(rtk_call *call);
void rtk_api_meeting_get(rtk_call *call);
void rtk_api_meeting_update(rtk_call *call, int replace);
void rtk_api_participants_add(rtk_call *call);
void rtk_api_participants_list(rtk_call *call);
void rtk_api_participant_get(rtk_call *call);
void rtk_api_participant_edit(rtk_call *call);
void rtk_api_participant_delete(rtk_call *call);
void rtk_api_participant_token(rtk_call *call);

void rtk_api_active_get(rtk_call *call);
void rtk_api_active_kick(rtk_call *call);
void rtk_api_active_kick_all(rtk_call *call);
void rtk_api_poll_create(rtk_call *call);
void rtk_api_polls_list(rtk_call *call);
void rtk_api_poll_get(rtk_call *call);
void rtk_api_session_polls(rtk_call *call);
void rtk_api_sessions_list(rtk_call *call);
void rtk_api_session_get(rtk_call *call);
void rtk_api_session_participants(rtk_call *call);
/* GET /v1/ws: validates the handshake and hands the connection to the channel. */
void rtk_api_ws(rtk_ctx *ctx, rtk_http_req *req);

/* Loads the meeting named by the call's meeting parameter into *doc (new reference). Answers
 * 404 ("No meeting found with id …") or 500 and returns -1 when it cannot. */
int rtk_api_load_meeting(rtk_call *call, const char *meeting_id, struct json_t **doc);

#endif
