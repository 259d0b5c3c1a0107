/* SPDX-License-Identifier: MIT */
/* rtk_api_sessions.c - session history: list, one session, its participants (peers). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api/rtk_api.h"
#include "api/rtk_api_view.h"
#include "http/rtk_query.h"
#include "http/rtk_reply.h"
#include "util/rtk_err.h"
#include "util/rtk_time.h"

typedef struct page_state {
    rtk_store_page page;
} page_state;

/* Appends session row |row| of |set|: live counters when it is the live session. */
static void add_session(rtk_call *call, rtk_jw *w, const rtk_store_set *set, size_t row)
{
    rtk_store_session s;
    rtk_session_view v;
    rtk_store_session_read(set, row, 0, &s);
    if (!rtk_live_session_if_live(call->ctx->live, s.meeting_id, s.id, &v))
        rtk_api_view_from_row(&s, &v);
    rtk_api_view_session(w, &v);
    free(s.title);
}

static void on_listed(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    page_state *ps = call->data;
    if (status != 0) {
        rtk_api_store_error(call, status);
        return;
    }
    const rtk_store_set *rows = &res->sets[1];
    rtk_jw w;
    char stack[8192];
    rtk_jw_init(&w, stack, sizeof(stack));
    RTK_JW_LIT(&w, "{\"success\":true,\"data\":{\"sessions\":[");
    for (size_t i = 0; i < rows->nrows; i++) {
        if (i)
            RTK_JW_LIT(&w, ",");
        add_session(call, &w, rows, i);
    }
    int64_t total = rtk_store_int(&res->sets[0], 0, 0);
    int64_t start = rows->nrows ? ps->page.offset + 1 : 0;
    int64_t end = rows->nrows ? ps->page.offset + (int64_t)rows->nrows : 0;
    RTK_JW_LIT(&w, "]},\"paging\":{\"total_count\":");
    rtk_jw_int(&w, total);
    RTK_JW_LIT(&w, ",\"start_offset\":");
    rtk_jw_int(&w, start);
    RTK_JW_LIT(&w, ",\"end_offset\":");
    rtk_jw_int(&w, end);
    RTK_JW_LIT(&w, "}}");
    rtk_api_reply_raw(call, 200, w.buf, w.len);
    rtk_jw_free(&w);
}

void rtk_api_sessions_list(rtk_call *call)
{
    rtk_http_req *req = call->req;
    char status[16], assoc[65];
    page_state *ps = rtk_xcalloc(1, sizeof(*ps));
    call->data = ps;
    if (rtk_api_paging(call, &ps->page) != 0)
        return;
    int has_status = rtk_query_get(req->query, req->query_len, "status", status, sizeof(status));
    if (has_status < 0 ||
        (has_status && strcmp(status, "LIVE") != 0 && strcmp(status, "ENDED") != 0)) {
        rtk_api_fail(call, 400, "\"status\" must be LIVE or ENDED");
        return;
    }
    int has_assoc =
        rtk_query_get(req->query, req->query_len, "associated_id", assoc, sizeof(assoc));
    if (has_assoc < 0) {
        rtk_api_fail(call, 400, "\"associated_id\" must be a meeting id");
        return;
    }
    rtk_store_session_list(call->ctx->store, call->app, has_status ? status : NULL,
                           has_assoc ? assoc : NULL, ps->page, on_listed, call);
}

/* The session named in the path: answers 404 or the store error and returns -1 when the
 * lookup failed. */
static int session_found(rtk_call *call, int status)
{
    if (status == RTK_ENOTFOUND) {
        rtk_api_fail(call, 404, "No session found with id %s", call->m.params[2]);
        return -1;
    }
    if (status != 0) {
        rtk_api_store_error(call, status);
        return -1;
    }
    return 0;
}

static void on_session(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    if (session_found(call, status) != 0)
        return;
    rtk_jw w;
    char stack[2048];
    rtk_jw_init(&w, stack, sizeof(stack));
    add_session(call, &w, &res->sets[0], 0);
    rtk_api_reply_text(call, 200, w.buf, w.len);
    rtk_jw_free(&w);
}

void rtk_api_session_get(rtk_call *call)
{
    rtk_store_session_get(call->ctx->store, call->app, call->m.params[2], on_session, call);
}

static void on_peers(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    page_state *ps = call->data;
    if (status != 0) {
        rtk_api_store_error(call, status);
        return;
    }
    const rtk_store_set *rows = &res->sets[1];
    int64_t now = rtk_time_now_ms();
    json_t *arr = json_array();
    static const char *const keys[] = {"id", "user_id", "custom_participant_id", "display_name",
                                       "preset_name"};
    for (size_t i = 0; i < rows->nrows; i++) {
        char joined[25], left[25];
        int64_t j = rtk_store_int(rows, i, 5);
        int open = rtk_store_is_null(rows, i, 6);
        int64_t l = open ? now : rtk_store_int(rows, i, 6);
        rtk_time_iso(j, joined);
        rtk_time_iso(l, left);
        json_t *o = json_object();
        for (int c = 0; c < 5; c++)
            json_object_set_new(o, keys[c],
                                rtk_store_is_null(rows, i, c)
                                    ? json_null()
                                    : json_string(rtk_store_text(rows, i, c, NULL)));
        json_object_set_new(o, "session_id", json_string(call->m.params[2]));
        json_object_set_new(o, "joined_at", json_string(joined));
        json_object_set_new(o, "left_at", open ? json_null() : json_string(left));
        json_object_set_new(o, "duration", json_real((double)(l - j) / 60000.0));
        json_object_set_new(o, "created_at", json_string(joined));
        json_object_set_new(o, "updated_at", json_string(open ? joined : left));
        json_array_append_new(arr, o);
    }
    int64_t total = rtk_store_int(&res->sets[0], 0, 0);
    rtk_api_reply(call, 200, json_pack("{s:o}", "participants", arr),
                  rtk_reply_paging(total, ps->page.offset, rows->nrows));
}

static void on_peers_session(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    page_state *ps = call->data;
    if (session_found(call, status) != 0)
        return;
    if (rtk_api_paging(call, &ps->page) != 0)
        return;
    (void)res;
    rtk_store_session_peers(call->ctx->store, call->m.params[2], ps->page, on_peers, call);
}

void rtk_api_session_participants(rtk_call *call)
{
    page_state *ps = rtk_xcalloc(1, sizeof(*ps));
    call->data = ps;
    /* The session first (404), then the paging (400), as the handlers always checked. */
    rtk_store_session_get(call->ctx->store, call->app, call->m.params[2], on_peers_session, call);
}
