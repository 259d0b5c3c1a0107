/* SPDX-License-Identifier: MIT */
/* rtk_api.c - REST dispatch: routing, authentication, app ownership, replies, helpers. */
#include "api/rtk_api.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/rtk_token.h"
#include "cluster/rtk_cluster.h"
#include "http/rtk_query.h"
#include "http/rtk_reply.h"
#include "util/rtk_err.h"
#include "util/rtk_metrics.h"
#include "util/rtk_time.h"
#include "web/rtk_web.h"

#define API_TOKEN_MAX 256 /* our secrets are 52 bytes; anything this long is not one of ours */

/* Authentication cache. Every request used to hash its token and look it up in the store;
 * the cache keeps the answer for tokens seen before, so the hot path touches no database.
 * The command line revokes tokens from another process: the store's epoch moves when anyone
 * else may have changed them (rtk_store_epoch: at most one cheap check per loop turn), and
 * the cache is dropped then, so a request sent after a revocation finished never sees the old
 * answer. */
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

/* ---- the call and its replies ---- */

static void call_free(rtk_call *call)
{
    json_decref(call->body);
    json_decref(call->doc);
    json_decref(call->extra);
    free(call->data);
    free(call);
}

void rtk_api_reply(rtk_call *call, int status, json_t *data, json_t *paging)
{
    rtk_reply_data(call->req, status, data, paging);
    call_free(call);
}

void rtk_api_reply_text(rtk_call *call, int status, const char *data, size_t len)
{
    static const char head[] = "{\"success\":true,\"data\":";
    size_t n = sizeof(head) - 1 + len + 1;
    char stack[2048];
    char *body = n <= sizeof(stack) ? stack : rtk_xmalloc(n);
    memcpy(body, head, sizeof(head) - 1);
    memcpy(body + sizeof(head) - 1, data, len);
    body[n - 1] = '}';
    rtk_http_respond(call->req, status, "application/json", NULL, body, n);
    if (body != stack)
        free(body);
    call_free(call);
}

void rtk_api_done(rtk_call *call)
{
    call_free(call);
}

void rtk_api_reply_raw(rtk_call *call, int status, const char *body, size_t len)
{
    rtk_http_respond(call->req, status, "application/json", NULL, body, len);
    call_free(call);
}

void rtk_api_fail(rtk_call *call, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    rtk_reply_error(call->req, status, "%s", msg);
    call_free(call);
}

void rtk_api_fail_h(rtk_call *call, int status, const char *headers, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    rtk_reply_error_h(call->req, status, headers, "%s", msg);
    call_free(call);
}

void rtk_api_store_error(rtk_call *call, int status)
{
    if (status == RTK_EUNAVAIL)
        rtk_api_fail_h(call, 503, "Retry-After: 1\r\n",
                       "The store is unavailable: nothing was written; try again");
    else
        rtk_api_fail(call, 500, "Internal error: %s", rtk_strerror(status));
}

void rtk_api_no_session(rtk_call *call, const char *meeting_id)
{
    rtk_api_fail(call, 404, "No active session found for meeting_id %s", meeting_id);
}

void rtk_api_live_refused(rtk_call *call, const char *meeting_id, int rc)
{
    if (rc == RTK_EBUSY)
        rtk_api_fail_h(call, 503, "Retry-After: 1\r\n",
                       "The session of meeting %s is ending; try again", meeting_id);
    else
        rtk_api_no_session(call, meeting_id);
}

/* ---- authentication ---- */

static void hex32(const uint8_t hash[32], char out[65])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[hash[i] >> 4];
        out[2 * i + 1] = hex[hash[i] & 15];
    }
    out[64] = '\0';
}

static void authorized(rtk_call *call, const char *account);

typedef struct token_wait {
    rtk_call *call;
    uint64_t epoch; /* the store's epoch when the lookup was sent */
    char key[65];
} token_wait;

static void on_token(void *arg, int status, const rtk_store_res *res)
{
    token_wait *w = arg;
    rtk_call *call = w->call;
    rtk_ctx *ctx = call->ctx;
    if (status == RTK_ENOTFOUND) {
        free(w);
        rtk_reply_auth_error(call->req, 401);
        call_free(call);
        return;
    }
    if (status != 0) {
        free(w);
        rtk_api_store_error(call, status);
        return;
    }
    const rtk_store_set *s = &res->sets[0];
    size_t hlen;
    const char *stored = rtk_store_text(s, 0, 2, &hlen);
    /* The lookup found the row by hash; compare the whole digest in constant time anyway, so
     * correctness never rests on the index alone. */
    if (hlen != 64 || !rtk_ct_equal(stored, w->key, 64)) {
        free(w);
        rtk_reply_auth_error(call->req, 401);
        call_free(call);
        return;
    }
    /* The answer may predate a revocation that moved the epoch while it was on its way: it
     * authorizes this request (sent before the revocation finished) but is not cached. */
    if (rtk_store_epoch(ctx->store) != w->epoch || ctx->auth_epoch != w->epoch) {
        char account[sizeof(((auth_entry *)0)->account)];
        snprintf(account, sizeof(account), "%s", rtk_store_text(s, 0, 0, NULL));
        snprintf(call->token_id, sizeof(call->token_id), "%s", rtk_store_text(s, 0, 1, NULL));
        free(w);
        authorized(call, account);
        return;
    }
    /* Another request with the same token may have filled the entry meanwhile. */
    auth_entry *e = rtk_map_get(&ctx->auth_cache, w->key);
    if (e == NULL) {
        if (ctx->auth_cache.count >= AUTH_CACHE_MAX)
            clear_map(&ctx->auth_cache);
        e = rtk_xcalloc(1, sizeof(*e));
        snprintf(e->account, sizeof(e->account), "%s", rtk_store_text(s, 0, 0, NULL));
        snprintf(e->token_id, sizeof(e->token_id), "%s", rtk_store_text(s, 0, 1, NULL));
        memcpy(e->key, w->key, sizeof(e->key));
        rtk_map_put(&ctx->auth_cache, e->key, e);
    }
    free(w);
    memcpy(call->token_id, e->token_id, sizeof(call->token_id));
    authorized(call, e->account);
}

/* Authenticates the Bearer token, then continues in authorized(). */
static void authenticate(rtk_call *call)
{
    rtk_ctx *ctx = call->ctx;
    size_t len = 0;
    const char *v = rtk_api_bearer(call->req, &len);
    if (v == NULL || len > API_TOKEN_MAX) {
        rtk_reply_auth_error(call->req, 401);
        call_free(call);
        return;
    }
    uint8_t hash[32];
    char key[65];
    rtk_token_hash(v, len, hash);
    hex32(hash, key);
    uint64_t epoch = rtk_store_epoch(ctx->store);
    if (epoch != ctx->auth_epoch) {
        clear_map(&ctx->auth_cache);
        ctx->auth_epoch = epoch;
    }
    auth_entry *e = rtk_map_get(&ctx->auth_cache, key);
    if (e != NULL) {
        memcpy(call->token_id, e->token_id, sizeof(call->token_id));
        authorized(call, e->account);
        return;
    }
    token_wait *w = rtk_xmalloc(sizeof(*w));
    w->call = call;
    w->epoch = epoch;
    memcpy(w->key, key, sizeof(w->key));
    rtk_store_token_find(ctx->store, hash, on_token, w);
}

static void app_checked(rtk_call *call, const char *owner)
{
    if (strcmp(owner, call->account) != 0) {
        rtk_api_fail(call, 404, "No app found with id %s", call->app);
        return;
    }
    call->m.route->handler(call);
}

static void on_app_owner(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    rtk_ctx *ctx = call->ctx;
    if (status == RTK_ENOTFOUND) {
        rtk_api_fail(call, 404, "No app found with id %s", call->app);
        return;
    }
    if (status != 0) {
        rtk_api_store_error(call, status);
        return;
    }
    /* Another request for the same app may have filled the entry meanwhile. */
    char *entry = rtk_map_get(&ctx->app_owner, call->app);
    if (entry == NULL) {
        if (ctx->app_owner.count >= APP_CACHE_MAX)
            clear_map(&ctx->app_owner);
        /* "app id\0" padded to a path parameter's size, then "account id\0". */
        entry = rtk_xcalloc(1, RTK_ROUTE_PARAM_MAX + 1 + 33);
        snprintf(entry, RTK_ROUTE_PARAM_MAX + 1, "%s", call->app);
        snprintf(entry + RTK_ROUTE_PARAM_MAX + 1, 33, "%s",
                 rtk_store_text(&res->sets[0], 0, 0, NULL));
        rtk_map_put(&ctx->app_owner, entry, entry);
    }
    app_checked(call, entry + RTK_ROUTE_PARAM_MAX + 1);
}

static void authorized(rtk_call *call, const char *account)
{
    rtk_ctx *ctx = call->ctx;
    if (strcmp(account, call->account) != 0) {
        rtk_reply_auth_error(call->req, 403);
        call_free(call);
        return;
    }
    int retry = 0;
    if (!rtk_ratelimit_take(&ctx->api_rl, call->token_id, rtk_time_now_ms(), &retry)) {
        char h[48];
        snprintf(h, sizeof(h), "Retry-After: %d\r\n", retry);
        rtk_api_fail_h(call, 429, h,
                       "Rate limit exceeded for this API token: at most %.0f requests per "
                       "10 seconds",
                       ctx->api_rl.rate * 10);
        return;
    }
    if (call->m.route->flags != RTK_AUTH_APP) {
        call->m.route->handler(call);
        return;
    }
    call->app = call->m.params[1];
    /* Owners are cached: an app never changes account and is never deleted. */
    const char *owner = rtk_map_get(&ctx->app_owner, call->app);
    if (owner != NULL) {
        app_checked(call, owner + RTK_ROUTE_PARAM_MAX + 1);
        return;
    }
    rtk_store_app_owner(ctx->store, call->app, on_app_owner, call);
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

/* ---- dispatch ---- */

/* The metrics route label of each row of the main table, plus one (0: not registered yet):
 * registered on first use, so that counting a request is an index, not a lookup. */
static uint8_t row_label[RTK_METRICS_ROUTES_MAX];

static int route_label(const rtk_route *table, const rtk_route *row)
{
    size_t i = (size_t)(row - table);
    if (table != rtk_api_routes || i >= RTK_METRICS_ROUTES_MAX)
        return rtk_metrics_route_label(row->pattern);
    if (row_label[i] == 0)
        row_label[i] = (uint8_t)(rtk_metrics_route_label(row->pattern) + 1);
    return row_label[i] - 1;
}

/* Routes |req| through the |n| rows of |table| to a handler. */
static void dispatch(rtk_http_req *req, const rtk_route *table, size_t n)
{
    rtk_call *call = rtk_xcalloc(1, sizeof(*call));
    call->req = req;
    call->ctx = req->server_data;
    int allow = 0;
    int rc = rtk_router_match(table, n, req->path, req->path_len,
                              rtk_router_method_bit(req->method), &call->m, &allow);
    if (rc == RTK_ENOTFOUND) {
        rtk_api_fail(call, 404, "No route for %s %.*s", req->method_str,
                     (int)(req->path_len > 200 ? 200 : req->path_len), req->path);
        return;
    }
    if (rc != 0) { /* 405: counted as "unmatched" (no row took the method) */
        char methods[64], h[80];
        rtk_router_allow(allow, methods, sizeof(methods));
        snprintf(h, sizeof(h), "Allow: %s\r\n", methods);
        rtk_api_fail_h(call, 405, h, "Method %s not allowed here; allowed: %s", req->method_str,
                       methods);
        return;
    }
    req->metrics_route = route_label(table, call->m.route);
    if (call->m.route->flags == RTK_AUTH_NONE) {
        call->m.route->handler(call);
        return;
    }
    /* Every other route starts with /accounts/:account. */
    call->account = call->m.params[0];
    authenticate(call);
}

void rtk_api_handle(rtk_http_req *req)
{
    /* The console and participant pages (GET /, /join, /ui/...) sit outside the REST API. */
    req->metrics_route = RTK_METRICS_ROUTE_WEB;
    if (rtk_web_handle(req))
        return;
    req->metrics_route = RTK_METRICS_ROUTE_UNMATCHED;
    dispatch(req, rtk_api_routes, rtk_api_nroutes);
}

void rtk_api_metrics_handle(rtk_http_req *req)
{
    dispatch(req, rtk_api_metrics_routes, rtk_api_metrics_nroutes);
}

void rtk_api_healthz(rtk_call *call)
{
    rtk_api_reply(call, 200, json_pack("{s:s}", "status", "ok"), NULL);
}

void rtk_api_readyz(rtk_call *call)
{
    rtk_ctx *ctx = call->ctx;
    const char *status = ctx->stopping                  ? "stopping"
                         : !rtk_store_ready(ctx->store) ? "store unavailable"
                         : ctx->cluster != NULL && !rtk_cluster_up(ctx->cluster)
                             ? "bus unavailable"
                             : "ok";
    rtk_api_reply(call, strcmp(status, "ok") == 0 ? 200 : 503, json_pack("{s:s}", "status", status),
                  NULL);
}

/* ---- request helpers ---- */

int rtk_api_body(rtk_call *call)
{
    rtk_http_req *req = call->req;
    size_t n = req->body_len;
    const char *b = req->body;
    while (n > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n')) {
        b++;
        n--;
    }
    if (n == 0) {
        call->body = json_object();
        return 0;
    }
    json_error_t err;
    json_t *v = json_loadb(b, n, JSON_REJECT_DUPLICATES, &err);
    if (v == NULL) {
        rtk_api_fail(call, 400, "Invalid JSON body: %s (line %d, column %d)", err.text, err.line,
                     err.column);
        return -1;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        rtk_api_fail(call, 400, "The request body must be a JSON object");
        return -1;
    }
    call->body = v;
    return 0;
}

int rtk_api_opt_string(rtk_call *call, json_t *obj, const char *key, int nullable, size_t max_len,
                       const char **out)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return 0;
    if (json_is_null(v) && nullable) {
        *out = NULL;
        return 0;
    }
    if (!json_is_string(v)) {
        rtk_api_fail(call, 400, "\"%s\" must be a string%s", key, nullable ? " or null" : "");
        return -1;
    }
    if (json_string_length(v) > max_len) {
        rtk_api_fail(call, 400, "\"%s\" must be at most %zu bytes long", key, max_len);
        return -1;
    }
    if (strlen(json_string_value(v)) != json_string_length(v)) {
        rtk_api_fail(call, 400, "\"%s\" must not contain NUL characters", key);
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
        rtk_api_fail(call, 400, "\"%s\" must be a boolean", key);
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
        rtk_api_fail(call, 400, "\"%s\" must be an integer from %lld to %lld", key, (long long)min,
                     (long long)max);
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

int rtk_api_paging(rtk_call *call, rtk_store_page *page)
{
    int64_t page_no, per_page;
    const char *bad = NULL;
    if (rtk_query_paging(call->req->query, call->req->query_len, &page_no, &per_page, &bad) != 0) {
        if (strcmp(bad, "per_page") == 0)
            rtk_api_fail(call, 400, "\"per_page\" must be an integer from 1 to %d",
                         RTK_PER_PAGE_MAX);
        else
            rtk_api_fail(call, 400, "\"page_no\" must be an integer of at least 1");
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

json_t *rtk_api_doc(const rtk_store_res *res)
{
    size_t len;
    const char *text = rtk_store_text(&res->sets[0], 0, 0, &len);
    return json_loadb(text, len, 0, NULL);
}

char *rtk_api_dump(json_t *doc)
{
    char *s = json_dumps(doc, JSON_COMPACT);
    if (s == NULL)
        abort(); /* only fails on OOM or invalid UTF-8, which the validators exclude */
    return s;
}

void rtk_api_doc_row(json_t *doc, rtk_store_doc *out)
{
    memset(out, 0, sizeof(*out));
    out->id = json_string_value(json_object_get(doc, "id"));
    out->title = json_string_value(json_object_get(doc, "title"));
    out->status = json_string_value(json_object_get(doc, "status"));
    out->custom_id = json_string_value(json_object_get(doc, "custom_participant_id"));
    out->preset = json_string_value(json_object_get(doc, "preset_name"));
    const char *ca = json_string_value(json_object_get(doc, "created_at"));
    const char *ua = json_string_value(json_object_get(doc, "updated_at"));
    if (ca != NULL)
        rtk_time_parse_iso(ca, strlen(ca), &out->created_ms);
    if (ua != NULL)
        rtk_time_parse_iso(ua, strlen(ua), &out->updated_ms);
}

static void on_meeting(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    void (*next)(rtk_call *) = call->next;
    call->next = NULL;
    if (status == RTK_ENOTFOUND) {
        rtk_api_fail(call, 404, "No meeting found with id %s", call->m.params[2]);
        return;
    }
    if (status != 0) {
        rtk_api_store_error(call, status);
        return;
    }
    json_decref(call->doc);
    call->doc = rtk_api_doc(res);
    if (call->doc == NULL) {
        rtk_api_store_error(call, RTK_EDB);
        return;
    }
    next(call);
}

void rtk_api_load_meeting(rtk_call *call, void (*next)(rtk_call *call))
{
    call->next = next;
    rtk_store_meeting_get(call->ctx->store, call->app, call->m.params[2], on_meeting, call);
}

void rtk_api_reply_docs(rtk_call *call, const rtk_store_res *res, rtk_store_page page)
{
    const rtk_store_set *rows = &res->sets[1];
    json_t *items = json_array();
    for (size_t i = 0; i < rows->nrows; i++) {
        size_t len;
        const char *text = rtk_store_text(rows, i, 0, &len);
        json_t *doc = json_loadb(text, len, 0, NULL);
        if (doc == NULL) {
            json_decref(items);
            rtk_api_store_error(call, RTK_EDB);
            return;
        }
        json_array_append_new(items, doc);
    }
    int64_t total = rtk_store_int(&res->sets[0], 0, 0);
    rtk_api_reply(call, 200, items, rtk_reply_paging(total, page.offset, rows->nrows));
}
