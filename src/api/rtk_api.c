/* SPDX-License-Identifier: MIT */
/* rtk_api.c - REST dispatch: routing, method check, authentication, app ownership. */
#include "api/rtk_api.h"

#include <ctype.h>
#include <http_parser.h>
#include <jansson.h>
#include <string.h>
#include <strings.h>

#include "http/rtk_query.h"
#include "http/rtk_reply.h"
#include "auth/rtk_token.h"
#include "util/rtk_err.h"
#include "util/rtk_time.h"
#include "web/rtk_web.h"

#define API_TOKEN_MAX 256 /* our secrets are 52 bytes; anything this long is not one of ours */

/* Authentication cache. Every request used to hash its token and look it up in SQLite; the
 * cache keeps the answer for tokens seen before, so the hot path touches no database. The CLI
 * creates and revokes tokens from another process: once per loop iteration (before the first
 * request it serves) the server asks SQLite whether anyone else committed (PRAGMA
 * data_version, about 1.5 us) and drops the cache if so. A request sent after a revocation
 * finished therefore never sees the old answer. */
#define AUTH_CACHE_MAX 10000
#define APP_CACHE_MAX 100000

typedef struct auth_entry {
    char account[33];
    char token_id[33];
    char key[65]; /* hex SHA-256 of the secret */
} auth_entry;

static void clear_map(rtk_map *m)
{
    size_t it = 0;
    void *v;
    while (rtk_map_next(m, &it, NULL, &v))
        free(v);
    rtk_map_free(m);
}

void rtk_api_ctx_free(rtk_ctx *ctx)
{
    clear_map(&ctx->auth_cache);
    clear_map(&ctx->app_owner);
}

static void recheck_caches(rtk_ctx *ctx)
{
    if (ctx->loop != NULL && !ctx->auth_recheck)
        return;
    ctx->auth_recheck = 0;
    if (rtk_db_changed_elsewhere(ctx->db) || ctx->loop == NULL)
        clear_map(&ctx->auth_cache);
}

/* Once per loop iteration, before the loop blocks: the group commit of the REST writes made
 * during the last turn (their replies wait for it), and the cache check. */
static void on_prepare(uv_prepare_t *h)
{
    rtk_ctx *ctx = h->data;
    ctx->auth_recheck = 1;
    if (rtk_db_flush(ctx->db) != 0)
        fprintf(stderr, "rtkd: api: group commit failed; its writes are answered 500\n");
}

void rtk_api_ctx_start(rtk_ctx *ctx)
{
    uv_prepare_init(ctx->loop, &ctx->prepare);
    ctx->prepare.data = ctx;
    uv_prepare_start(&ctx->prepare, on_prepare);
    uv_unref((uv_handle_t *)&ctx->prepare); /* never keeps the loop alive by itself */
}

void rtk_api_ctx_stop(rtk_ctx *ctx)
{
    uv_close((uv_handle_t *)&ctx->prepare, NULL);
}

/* Finds the account and id of the live token |secret|: 0, RTK_ENOTFOUND, RTK_EDB. */
static int lookup_token(rtk_ctx *ctx, const char *secret, size_t len, char account[33],
                        char token_id[33])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t hash[32];
    char key[65];
    rtk_token_hash(secret, len, hash);
    for (int i = 0; i < 32; i++) {
        key[2 * i] = hex[hash[i] >> 4];
        key[2 * i + 1] = hex[hash[i] & 15];
    }
    key[64] = '\0';
    recheck_caches(ctx);
    auth_entry *e = rtk_map_get(&ctx->auth_cache, key);
    if (e == NULL) {
        int rc = rtk_db_token_check(ctx->db, secret, len, account, token_id);
        if (rc != 0)
            return rc;
        if (ctx->auth_cache.count >= AUTH_CACHE_MAX)
            clear_map(&ctx->auth_cache);
        e = rtk_xcalloc(1, sizeof(*e));
        memcpy(e->account, account, 33);
        memcpy(e->token_id, token_id, 33);
        memcpy(e->key, key, 65);
        rtk_map_put(&ctx->auth_cache, e->key, e);
        return 0;
    }
    memcpy(account, e->account, 33);
    memcpy(token_id, e->token_id, 33);
    return 0;
}

/* 0 if |app| is an app of |account|; RTK_ENOTFOUND; RTK_EDB. Owners are cached: an app never
 * changes account and is never deleted. */
static int check_app(rtk_ctx *ctx, const char *account, const char *app)
{
    const char *owner = rtk_map_get(&ctx->app_owner, app);
    if (owner != NULL)
        return strcmp(owner + RTK_ROUTE_PARAM_MAX + 1, account) == 0 ? 0 : RTK_ENOTFOUND;
    int rc = rtk_db_app_check(ctx->db, account, app);
    if (rc != 0)
        return rc;
    if (ctx->app_owner.count >= APP_CACHE_MAX)
        clear_map(&ctx->app_owner);
    /* "app id\0" padded to a path parameter's size, then "account id\0". */
    char *entry = rtk_xcalloc(1, RTK_ROUTE_PARAM_MAX + 1 + 33);
    snprintf(entry, RTK_ROUTE_PARAM_MAX + 1, "%s", app);
    snprintf(entry + RTK_ROUTE_PARAM_MAX + 1, 33, "%s", account);
    rtk_map_put(&ctx->app_owner, entry, entry);
    return 0;
}

const char *rtk_api_bearer(const rtk_http_req *req, size_t *len)
{
    size_t n = 0;
    const char *v = rtk_http_req_header(req, "authorization", &n);
    if (v == NULL || n < 7 || strncasecmp(v, "Bearer ", 7) != 0)
        return NULL;
    v += 7;
    n -= 7;
    while (n > 0 && v[0] == ' ') {
        v++;
        n--;
    }
    while (n > 0 && v[n - 1] == ' ')
        n--;
    *len = n;
    return n > 0 ? v : NULL;
}

/* Authenticates the Bearer token and checks it belongs to the path's account. Answers 401 or
 * 403 and returns -1 on failure. */
static int authenticate(rtk_call *call)
{
    size_t len = 0;
    const char *v = rtk_api_bearer(call->req, &len);
    char account[33];
    if (v == NULL || len > API_TOKEN_MAX) {
        rtk_reply_auth_error(call->req, 401);
        return -1;
    }
    int rc = lookup_token(call->ctx, v, len, account, call->token_id);
    if (rc == RTK_ENOTFOUND) {
        rtk_reply_auth_error(call->req, 401);
        return -1;
    }
    if (rc != 0) {
        rtk_api_store_error(call, rc);
        return -1;
    }
    if (strcmp(account, call->account) != 0) {
        rtk_reply_auth_error(call->req, 403);
        return -1;
    }
    int retry = 0;
    if (!rtk_ratelimit_take(&call->ctx->api_rl, call->token_id, rtk_time_now_ms(), &retry)) {
        char h[48];
        snprintf(h, sizeof(h), "Retry-After: %d\r\n", retry);
        rtk_reply_error_h(call->req, 429, h,
                          "Rate limit exceeded for this API token: at most %.0f requests per "
                          "10 seconds",
                          call->ctx->api_rl.rate * 10);
        return -1;
    }
    return 0;
}

static void health(rtk_call *call, int ready)
{
    int ok = !ready || !call->ctx->stopping;
    json_t *data = json_pack("{s:s}", "status", ok ? "ok" : "stopping");
    rtk_reply_data(call->req, ok ? 200 : 503, data, NULL);
}

static void dispatch(rtk_call *call, int method)
{
    switch (call->m.route) {
    case RTK_ROUTE_APPS:
        if (method == RTK_M_GET)
            rtk_api_apps_list(call);
        else
            rtk_api_apps_create(call);
        return;
    case RTK_ROUTE_MEETINGS:
        if (method == RTK_M_GET)
            rtk_api_meetings_list(call);
        else
            rtk_api_meetings_create(call);
        return;
    case RTK_ROUTE_MEETING:
        if (method == RTK_M_GET)
            rtk_api_meeting_get(call);
        else
            rtk_api_meeting_update(call, method == RTK_M_PUT);
        return;
    case RTK_ROUTE_PARTICIPANTS:
        if (method == RTK_M_GET)
            rtk_api_participants_list(call);
        else
            rtk_api_participants_add(call);
        return;
    case RTK_ROUTE_PARTICIPANT:
        if (method == RTK_M_GET)
            rtk_api_participant_get(call);
        else if (method == RTK_M_PATCH)
            rtk_api_participant_edit(call);
        else
            rtk_api_participant_delete(call);
        return;
    case RTK_ROUTE_PARTICIPANT_TOKEN:
        rtk_api_participant_token(call);
        return;
    case RTK_ROUTE_ACTIVE_SESSION:
        rtk_api_active_get(call);
        return;
    case RTK_ROUTE_KICK:
        rtk_api_active_kick(call);
        return;
    case RTK_ROUTE_KICK_ALL:
        rtk_api_active_kick_all(call);
        return;
    case RTK_ROUTE_POLL:
        rtk_api_poll_create(call);
        return;
    case RTK_ROUTE_POLLS:
        rtk_api_polls_list(call);
        return;
    case RTK_ROUTE_POLL_ONE:
        rtk_api_poll_get(call);
        return;
    case RTK_ROUTE_SESSION_POLLS:
        rtk_api_session_polls(call);
        return;
    case RTK_ROUTE_SESSIONS:
        rtk_api_sessions_list(call);
        return;
    case RTK_ROUTE_SESSION:
        rtk_api_session_get(call);
        return;
    case RTK_ROUTE_SESSION_PARTICIPANTS:
        rtk_api_session_participants(call);
        return;
    case RTK_ROUTE_HEALTHZ:
    case RTK_ROUTE_READYZ:
    case RTK_ROUTE_WS:
    case RTK_ROUTE_COUNT:
        break;
    }
}

void rtk_api_handle(rtk_http_req *req)
{
    rtk_call call;
    memset(&call, 0, sizeof(call));
    call.req = req;
    call.ctx = req->server_data;

    /* The console and participant pages (GET /, /join, /ui/...) sit outside the REST API. */
    if (rtk_web_handle(req))
        return;

    if (rtk_router_match(req->path, req->path_len, &call.m) != 0) {
        rtk_reply_error(req, 404, "No route for %s %.*s", req->method_str,
                        (int)(req->path_len > 200 ? 200 : req->path_len), req->path);
        return;
    }
    int method = rtk_router_method_bit(req->method);
    if ((method & rtk_router_methods(call.m.route)) == 0) {
        char allow[64];
        snprintf(allow, sizeof(allow), "Allow: %s\r\n", rtk_router_allow(call.m.route));
        rtk_reply_error_h(req, 405, allow, "Method %s not allowed here; allowed: %s",
                          req->method_str, rtk_router_allow(call.m.route));
        return;
    }
    switch (call.m.route) {
    case RTK_ROUTE_HEALTHZ:
        health(&call, 0);
        return;
    case RTK_ROUTE_READYZ:
        health(&call, 1);
        return;
    case RTK_ROUTE_WS:
        rtk_api_ws(call.ctx, req);
        return;
    default:
        break;
    }

    /* Every other route starts with /accounts/:account. */
    call.account = call.m.params[0];
    if (authenticate(&call) != 0)
        return;
    if (call.m.route != RTK_ROUTE_APPS) {
        call.app = call.m.params[1];
        int rc = check_app(call.ctx, call.account, call.app);
        if (rc == RTK_ENOTFOUND) {
            rtk_reply_error(req, 404, "No app found with id %s", call.app);
            return;
        }
        if (rc != 0) {
            rtk_api_store_error(&call, rc);
            return;
        }
    }
    dispatch(&call, method);
}

json_t *rtk_api_body(rtk_call *call)
{
    rtk_http_req *req = call->req;
    size_t n = req->body_len;
    const char *b = req->body;
    while (n > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n')) {
        b++;
        n--;
    }
    if (n == 0)
        return json_object();
    json_error_t err;
    json_t *v = json_loadb(b, n, JSON_REJECT_DUPLICATES, &err);
    if (v == NULL) {
        rtk_reply_error(req, 400, "Invalid JSON body: %s (line %d, column %d)", err.text,
                        err.line, err.column);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        rtk_reply_error(req, 400, "The request body must be a JSON object");
        return NULL;
    }
    return v;
}

int rtk_api_opt_string(rtk_call *call, json_t *obj, const char *key, int nullable,
                       size_t max_len, const char **out)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return 0;
    if (json_is_null(v) && nullable) {
        *out = NULL;
        return 0;
    }
    if (!json_is_string(v)) {
        rtk_reply_error(call->req, 400, "\"%s\" must be a string%s", key,
                        nullable ? " or null" : "");
        return -1;
    }
    if (json_string_length(v) > max_len) {
        rtk_reply_error(call->req, 400, "\"%s\" must be at most %zu bytes long", key, max_len);
        return -1;
    }
    if (strlen(json_string_value(v)) != json_string_length(v)) {
        rtk_reply_error(call->req, 400, "\"%s\" must not contain NUL characters", key);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

int rtk_api_opt_bool(rtk_call *call, json_t *obj, const char *key, int *out)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return 0;
    if (!json_is_boolean(v)) {
        rtk_reply_error(call->req, 400, "\"%s\" must be a boolean", key);
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

int rtk_api_opt_int(rtk_call *call, json_t *obj, const char *key, int64_t min, int64_t max,
                    int64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        rtk_reply_error(call->req, 400, "\"%s\" must be an integer from %lld to %lld", key,
                        (long long)min, (long long)max);
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

int rtk_api_paging(rtk_call *call, rtk_page *page)
{
    int64_t page_no, per_page;
    const char *bad = NULL;
    if (rtk_query_paging(call->req->query, call->req->query_len, &page_no, &per_page, &bad) !=
        0) {
        if (strcmp(bad, "per_page") == 0)
            rtk_reply_error(call->req, 400, "\"per_page\" must be an integer from 1 to %d",
                            RTK_PER_PAGE_MAX);
        else
            rtk_reply_error(call->req, 400, "\"page_no\" must be an integer of at least 1");
        return -1;
    }
    page->limit = per_page;
    page->offset = (page_no - 1) * per_page;
    return 0;
}

void rtk_api_touch(json_t *doc)
{
    int64_t now = rtk_time_now_ms(), prev = 0;
    const char *old = json_string_value(json_object_get(doc, "updated_at"));
    if (old != NULL && rtk_time_parse_iso(old, strlen(old), &prev) == 0 && now <= prev)
        now = prev + 1;
    char iso[25];
    rtk_time_iso(now, iso);
    json_object_set_new(doc, "updated_at", json_string(iso));
}

typedef struct deferred_reply {
    rtk_http_req *req;
    int status;
    json_t *data;
} deferred_reply;

static void on_committed(void *arg, int ok)
{
    deferred_reply *d = arg;
    if (ok) {
        rtk_reply_data(d->req, d->status, d->data, NULL);
    } else {
        json_decref(d->data);
        rtk_reply_error(d->req, 500, "Internal error: the write could not be stored");
    }
    free(d);
}

void rtk_api_reply_committed(rtk_call *call, int status, json_t *data)
{
    if (!rtk_db_deferring(call->ctx->db)) {
        rtk_reply_data(call->req, status, data, NULL);
        return;
    }
    deferred_reply *d = rtk_xmalloc(sizeof(*d));
    d->req = call->req;
    d->status = status;
    d->data = data;
    rtk_db_on_commit(call->ctx->db, on_committed, d);
}

void rtk_api_no_session(rtk_call *call, const char *meeting_id)
{
    rtk_reply_error(call->req, 404, "No active session found for meeting_id %s", meeting_id);
}

void rtk_api_store_error(rtk_call *call, int rc)
{
    rtk_reply_error(call->req, 500, "Internal error: %s", rtk_strerror(rc));
}

int rtk_api_load_meeting(rtk_call *call, const char *meeting_id, json_t **doc)
{
    int rc = rtk_db_meeting_get(call->ctx->db, call->app, meeting_id, doc);
    if (rc == RTK_ENOTFOUND) {
        rtk_reply_error(call->req, 404, "No meeting found with id %s", meeting_id);
        return -1;
    }
    if (rc != 0) {
        rtk_api_store_error(call, rc);
        return -1;
    }
    return 0;
}
