/* SPDX-License-Identifier: MIT */
/* rtk_api_ws.c - GET /v1/ws: the participant channel's handshake (PROTOCOL.md §1), and
 * GET /v1/ws/check: the same decision without the upgrade.
 *
 * Every refusal is an ordinary HTTP answer before the upgrade, in the RealtimeKit envelope:
 * 400 bad handshake, 401 bad or expired token or deleted participant, 403 INACTIVE meeting or
 * kicked from the live session, 503 shutting down. A browser cannot read the answer to a
 * failed WebSocket handshake, so the participant page asks /v1/ws/check?token= after one: it
 * takes the same token, the same rate limit and the same checks, and answers 200 with the
 * verdict: {"joinable":true} where the handshake would have upgraded, else {"joinable":false,
 * "status":N,"message":"…"} with the status and message the handshake answers. (A 200 either
 * way: an expected refusal is not an error in the browser's console.) */
#include <http_parser.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/rtk_api.h"
#include "auth/rtk_preset.h"
#include "auth/rtk_token.h"
#include "http/rtk_query.h"
#include "http/rtk_reply.h"
#include "chan/rtk_chan.h"
#include "cluster/rtk_cluster.h"
#include "net/rtk_ws.h"
#include "persist/rtk_persist.h"
#include "util/rtk_err.h"
#include "util/rtk_metrics.h"
#include "util/rtk_time.h"

/* 1 if the comma-separated header value |v| holds |token| (case-insensitive). */
static int header_has_token(const char *v, size_t len, const char *token)
{
    size_t pos = 0, n, tlen = strlen(token);
    const char *e;
    while (rtk_http_list_next(v, len, &pos, &e, &n))
        if (n == tlen && strncasecmp(e, token, tlen) == 0)
            return 1;
    return 0;
}

/* How many headers of |req| are called |name| (case-insensitive). */
static int header_count(const rtk_http_req *req, const char *name)
{
    size_t n = strlen(name);
    int count = 0;
    for (size_t i = 0; i < req->nheaders; i++)
        count += req->headers[i].name_len == n && strncasecmp(req->headers[i].name, name, n) == 0;
    return count;
}

/* Checks the RFC 6455 §4.2.1 handshake; fills |accept|. 0, or -1 after answering 400. Two
 * keys are refused: the accept value could only answer one of them. */
static int check_handshake(rtk_call *call, char accept[RTK_WS_ACCEPT_LEN + 1])
{
    rtk_http_req *req = call->req;
    size_t len = 0;
    const char *v;
    if (req->method != HTTP_GET || !req->is_upgrade || req->http_major != 1 || req->http_minor < 1)
        goto bad;
    if ((v = rtk_http_req_header(req, "upgrade", &len)) == NULL ||
        !header_has_token(v, len, "websocket"))
        goto bad;
    if ((v = rtk_http_req_header(req, "connection", &len)) == NULL ||
        !header_has_token(v, len, "upgrade"))
        goto bad;
    if ((v = rtk_http_req_header(req, "sec-websocket-version", &len)) == NULL || len != 2 ||
        memcmp(v, "13", 2) != 0) {
        rtk_metrics_handshake_refused(400);
        rtk_api_fail_h(call, 400, "Sec-WebSocket-Version: 13\r\n",
                       "Not a valid WebSocket handshake: version 13 is required");
        return -1;
    }
    if (header_count(req, "sec-websocket-key") != 1 ||
        (v = rtk_http_req_header(req, "sec-websocket-key", &len)) == NULL ||
        rtk_ws_accept_key(v, len, accept) != 0)
        goto bad;
    return 0;
bad:
    rtk_metrics_handshake_refused(400);
    rtk_api_fail(call, 400, "Not a valid WebSocket handshake");
    return -1;
}

/* The participant token from ?token= or Authorization: Bearer. Returns its length and
 * points *tok at it (|buf| holds the decoded query value); 0 when there is none; -1 when the
 * query has one that cannot be a token (over RTK_PTOKEN_MAX, or a bad escape). */
static ssize_t find_token(rtk_http_req *req, char *buf, size_t cap, const char **tok)
{
    int rc = rtk_query_get(req->query, req->query_len, "token", buf, cap);
    if (rc > 0) {
        *tok = buf;
        return (ssize_t)strlen(buf);
    }
    if (rc < 0)
        return -1;
    size_t len = 0;
    *tok = rtk_api_bearer(req, &len);
    return *tok ? (ssize_t)len : 0;
}

/* The handshake while the participant and the meeting are read. */
typedef struct ws_state {
    char accept[RTK_WS_ACCEPT_LEN + 1];
    rtk_ptoken claims;
    int check; /* GET /v1/ws/check: answer instead of upgrading */
    rtk_cluster_sess cs; /* a cluster's session, while its polls are read */
    size_t permissions_len;
    char permissions[]; /* a cluster's handshake: kept while the bus agrees on the session */
} ws_state;

/* Refuses the handshake with |status| and the formatted message; for /v1/ws/check, answers
 * 200 with that verdict instead. |headers| (raw lines) may be NULL. */
__attribute__((format(printf, 4, 5))) static void refuse(rtk_call *call, int status,
                                                         const char *headers, const char *fmt, ...)
{
    ws_state *ws = call->data;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (ws != NULL && ws->check) {
        rtk_api_reply(call, 200,
                      json_pack("{s:b,s:i,s:s}", "joinable", 0, "status", status, "message", msg),
                      NULL);
        return;
    }
    rtk_metrics_handshake_refused(status);
    if (headers != NULL)
        rtk_api_fail_h(call, status, headers, "%s", msg);
    else
        rtk_api_fail(call, status, "%s", msg);
}

static void upgrade(rtk_call *call, const char *permissions, size_t permissions_len,
                    const rtk_cluster_sess *cs);
static void join_info(rtk_call *call, const char *permissions, size_t permissions_len,
                      const rtk_cluster_sess *cs, rtk_join_info *ji);

/* The session's polls and votes are read into this node's new share of it: the peer joins. */
static void on_share_polls(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    ws_state *ws = call->data;
    rtk_ctx *ctx = call->ctx;
    char mid[40], sid[40];
    snprintf(mid, sizeof(mid), "%s", ws->claims.meeting_id);
    snprintf(sid, sizeof(sid), "%s", ws->cs.id);
    if (status == 0)
        rtk_persist_polls_into(ctx->live, mid, res);
    if (status != 0)
        rtk_api_store_error(call, status);
    else if (ctx->stopping)
        refuse(call, 503, "Retry-After: 1\r\n", "The server is shutting down");
    else
        upgrade(call, ws->permissions, ws->permissions_len, &ws->cs);
    /* The share is the peer's now (its join holds the channel), or forgotten. */
    rtk_cluster_share_end(ctx->cluster, mid, sid, status == 0);
}

/* The other nodes' listed and waiting peers are in the share: its polls next. */
static void on_share_lists(void *arg, int status)
{
    rtk_call *call = arg;
    ws_state *ws = call->data;
    if (status != 0) {
        rtk_cluster_share_end(call->ctx->cluster, ws->claims.meeting_id, ws->cs.id, 0);
        refuse(call, 503, "Retry-After: 1\r\n", "The cluster's bus is unavailable; try again");
        return;
    }
    rtk_store_polls_load(call->ctx->store, ws->cs.id, on_share_polls, call);
}

static void on_cluster_session(void *arg, int status, const rtk_cluster_sess *cs)
{
    rtk_call *call = arg;
    ws_state *ws = call->data;
    if (status != 0) {
        refuse(call, 503, "Retry-After: 1\r\n", "The cluster's bus is unavailable; try again");
        return;
    }
    if (call->ctx->stopping) {
        refuse(call, 503, "Retry-After: 1\r\n", "The server is shutting down");
        return;
    }
    if (cs->kicked) {
        refuse(call, 403, NULL, "This participant was kicked from the live session");
        return;
    }
    if (cs->refused) {
        refuse(call, 403, NULL,
               "This participant was refused from the waiting room of the live session");
        return;
    }
    ws->cs = *cs;
    rtk_join_info ji;
    join_info(call, ws->permissions, ws->permissions_len, &ws->cs, &ji);
    if (!cs->created && !rtk_live_cluster_share_ready(call->ctx->live, &ji)) {
        /* This node's first peer of a session begun elsewhere (or its first that sees a list):
         * what the session holds comes first (the other nodes' lists, then its polls and
         * votes), into a share made now. */
        rtk_live_cluster_share(call->ctx->live, &ji);
        if (rtk_cluster_share_load(call->ctx->cluster, ws->claims.meeting_id, cs->id,
                                   on_share_lists, call) != 0)
            on_share_lists(call, RTK_EUNAVAIL);
        return;
    }
    upgrade(call, ws->permissions, ws->permissions_len, cs);
}

/* The participant (call->extra), the meeting (call->doc) and the preset's permissions are
 * read: the live checks and the upgrade. */
static void join(rtk_call *call, const char *permissions, size_t permissions_len)
{
    rtk_ctx *ctx = call->ctx;
    ws_state *ws = call->data;
    if (ctx->stopping || ctx->live == NULL) {
        refuse(call, 503, "Retry-After: 1\r\n", "The server is shutting down");
        return;
    }
    /* Decided now, in the same callback as the upgrade: nothing can change in between. */
    int rc = rtk_live_may_join(ctx->live, ws->claims.meeting_id, ws->claims.participant_id);
    if (rc == RTK_EBUSY) {
        refuse(call, 503, "Retry-After: 1\r\n", "The live session is ending; try again");
        return;
    }
    if (rc == RTK_EEXIST) {
        refuse(call, 403, NULL,
               "This participant was refused from the waiting room of the live session");
        return;
    }
    if (rc != 0) {
        refuse(call, 403, NULL, "This participant was kicked from the live session");
        return;
    }
    /* A participant that is live already replaces its own peer: that adds nobody. */
    if (ctx->max_peers_per_meeting > 0 &&
        rtk_live_meeting_peers(ctx->live, ws->claims.meeting_id) >= ctx->max_peers_per_meeting &&
        !rtk_live_participant_is_live(ctx->live, ws->claims.participant_id)) {
        refuse(call, 429, "Retry-After: 5\r\n",
               "The meeting has reached its limit of %lld connected participants",
               (long long)ctx->max_peers_per_meeting);
        return;
    }
    if (ws->check) {
        rtk_api_reply(call, 200, json_pack("{s:b}", "joinable", 1), NULL);
        return;
    }
    if (ctx->cluster != NULL) {
        /* The session is the cluster's: agreed on the bus before the hello. */
        ws = rtk_xrealloc(ws, sizeof(*ws) + permissions_len + 1);
        call->data = ws;
        memcpy(ws->permissions, permissions, permissions_len);
        ws->permissions[permissions_len] = '\0';
        ws->permissions_len = permissions_len;
        rtk_join_info ji; /* (for its waiting_room_type: a peer that waits starts nothing) */
        join_info(call, ws->permissions, ws->permissions_len, NULL, &ji);
        if (rtk_cluster_session(ctx->cluster, ws->claims.app_id, ws->claims.meeting_id,
                                json_string_value(json_object_get(call->doc, "title")),
                                ws->claims.participant_id,
                                json_integer_value(json_object_get(
                                    call->doc, "session_keep_alive_time_in_secs")),
                                ji.perms.waiting, on_cluster_session, call) != 0)
            refuse(call, 503, "Retry-After: 1\r\n",
                   "The cluster's bus is unavailable; try again");
        return;
    }
    upgrade(call, permissions, permissions_len, NULL);
}

/* What the joining peer is (borrowing from the call's documents and |permissions|). */
static void join_info(rtk_call *call, const char *permissions, size_t permissions_len,
                      const rtk_cluster_sess *cs, rtk_join_info *ji)
{
    ws_state *ws = call->data;
    json_t *meeting = call->doc;
    json_t *part = call->extra;
    *ji = (rtk_join_info){
        .app_id = ws->claims.app_id,
        .meeting_id = ws->claims.meeting_id,
        .title = json_string_value(json_object_get(meeting, "title")),
        .keep_alive_s =
            json_integer_value(json_object_get(meeting, "session_keep_alive_time_in_secs")),
        .participant_id = ws->claims.participant_id,
        .custom_id = json_string_value(json_object_get(part, "custom_participant_id")),
        .name = json_string_value(json_object_get(part, "name")),
        .picture = json_string_value(json_object_get(part, "picture")),
        .preset_name = json_string_value(json_object_get(part, "preset_name")),
        .permissions = permissions,
        .permissions_len = permissions_len,
    };
    if (cs != NULL) {
        ji->session_id = cs->id;
        ji->session_started_ms = cs->started_ms;
        ji->session_new = cs->starter;
        ji->session_created = cs->created;
        ji->admitted = cs->admitted;
        memcpy(ji->counters, cs->counters, sizeof(ji->counters));
    }
    /* Stored permissions were checked on the way in (rtk_api_presets.c); should the text not
     * parse anyway, the peer gets the fallback's rights, never more. */
    if (rtk_perms_from_json(ji->permissions, ji->permissions_len, &ji->perms) != 0) {
        ji->permissions = rtk_preset_default_permissions(RTK_PRESET_FALLBACK);
        ji->permissions_len = strlen(ji->permissions);
        rtk_perms_from_json(ji->permissions, ji->permissions_len, &ji->perms);
    }
}

/* The checks passed: the peer joins (|cs|: the cluster's session, or NULL). */
static void upgrade(rtk_call *call, const char *permissions, size_t permissions_len,
                    const rtk_cluster_sess *cs)
{
    ws_state *ws = call->data;
    rtk_join_info ji;
    join_info(call, permissions, permissions_len, cs, &ji);
    rtk_http_req *req = call->req;
    call->req = NULL; /* consumed by the upgrade */
    rtk_chan_accept(req, ws->accept, call->ctx->live, &ji);
    rtk_api_done(call);
}

/* The participant's preset, read by app and name: its permissions decide what the peer may
 * do (PROTOCOL.md §3a), as stored now; an edit applies from the next join. */
static void on_preset(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    if (status != 0 && status != RTK_ENOTFOUND) {
        rtk_api_store_error(call, status);
        return;
    }
    if (status == RTK_ENOTFOUND) {
        /* Not after the presets migration (it maps unknown names, and a preset in use cannot
         * be deleted or renamed); should it happen, the fallback's defaults apply. */
        const char *fb = rtk_preset_default_permissions(RTK_PRESET_FALLBACK);
        join(call, fb, strlen(fb));
        return;
    }
    size_t len;
    const char *perms = rtk_store_text(&res->sets[0], 0, RTK_STORE_PRESET_PERMISSIONS, &len);
    join(call, perms, len);
}

static void on_meeting(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    ws_state *ws = call->data;
    if (status == RTK_ENOTFOUND) {
        refuse(call, 401, NULL, "The meeting no longer exists");
        return;
    }
    if (status != 0) {
        rtk_api_store_error(call, status);
        return;
    }
    json_t *meeting = call->doc = rtk_api_doc(res);
    const char *st = json_string_value(json_object_get(meeting, "status"));
    if (st == NULL || strcmp(st, "ACTIVE") != 0) {
        refuse(call, 403, NULL, "The meeting is INACTIVE");
        return;
    }
    const char *preset = json_string_value(json_object_get(call->extra, "preset_name"));
    rtk_store_preset_get(call->ctx->store, ws->claims.app_id, preset ? preset : "", 1, on_preset,
                         call);
}

static void on_participant(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    ws_state *ws = call->data;
    if (status == RTK_ENOTFOUND) {
        refuse(call, 401, NULL, "The participant no longer exists");
        return;
    }
    if (status != 0) {
        rtk_api_store_error(call, status);
        return;
    }
    call->extra = rtk_api_doc(res);
    rtk_store_meeting_get(call->ctx->store, ws->claims.app_id, ws->claims.meeting_id, on_meeting,
                          call);
}

static void handshake(rtk_call *call, int check)
{
    rtk_ctx *ctx = call->ctx;
    rtk_http_req *req = call->req;
    char buf[RTK_PTOKEN_MAX + 1];
    const char *tok = NULL;
    ws_state *ws = rtk_xcalloc(1, sizeof(*ws));
    call->data = ws;
    ws->check = check;
    if (ctx->stopping || ctx->live == NULL) {
        refuse(call, 503, "Retry-After: 1\r\n", "The server is shutting down");
        return;
    }
    int retry = 0;
    if (!rtk_ratelimit_take(&ctx->ws_rl, req->remote_ip, rtk_time_now_ms(), &retry)) {
        char h[48];
        snprintf(h, sizeof(h), "Retry-After: %d\r\n", retry);
        refuse(call, 429, h, "Too many handshakes from this address; retry later");
        return;
    }
    if (!check && check_handshake(call, ws->accept) != 0)
        return;
    ssize_t len = find_token(req, buf, sizeof(buf), &tok);
    if (len == 0) {
        refuse(call, 401, NULL, "A participant token is required");
        return;
    }
    int rc = len < 0 ? RTK_EAUTH
                     : rtk_ptoken_verify(ctx->signing_key, sizeof(ctx->signing_key), tok,
                                         (size_t)len, rtk_time_now_ms() / 1000, &ws->claims);
    if (rc == RTK_EEXPIRED) {
        refuse(call, 401, NULL, "The participant token has expired");
        return;
    }
    if (rc != 0) {
        refuse(call, 401, NULL, "The participant token is not valid");
        return;
    }
    rtk_store_participant_get(ctx->store, ws->claims.meeting_id, ws->claims.participant_id, 0,
                              on_participant, call);
}

void rtk_api_ws(rtk_call *call)
{
    handshake(call, 0);
}

void rtk_api_ws_check(rtk_call *call)
{
    handshake(call, 1);
}
