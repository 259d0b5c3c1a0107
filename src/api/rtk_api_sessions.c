/* SPDX-License-Identifier: MIT */
/* rtk_api_sessions.c - session history: list, one session, its participants (peers). */
#include <jansson.h>
#include <string.h>

#include "api/rtk_api.h"
#include "http/rtk_query.h"
#include "http/rtk_reply.h"
#include "live/rtk_live.h"
#include "util/rtk_err.h"
#include "util/rtk_time.h"

void rtk_api_sessions_list(rtk_call *call)
{
    rtk_http_req *req = call->req;
    rtk_page page;
    char status[16], assoc[65];
    rtk_db_session *rows = NULL;
    size_t n = 0;
    int64_t total = 0;
    if (rtk_api_paging(call, &page) != 0)
        return;
    int has_status = rtk_query_get(req->query, req->query_len, "status", status, sizeof(status));
    if (has_status < 0 ||
        (has_status && strcmp(status, "LIVE") != 0 && strcmp(status, "ENDED") != 0)) {
        rtk_reply_error(req, 400, "\"status\" must be LIVE or ENDED");
        return;
    }
    int has_assoc = rtk_query_get(req->query, req->query_len, "associated_id", assoc,
                                  sizeof(assoc));
    if (has_assoc < 0) {
        rtk_reply_error(req, 400, "\"associated_id\" must be a meeting id");
        return;
    }
    int rc = rtk_db_session_list(call->ctx->db, call->app, has_status ? status : NULL,
                                 has_assoc ? assoc : NULL, page, &rows, &n, &total);
    if (rc != 0) {
        rtk_api_store_error(call, rc);
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, rtk_live_session_json_db(call->ctx->live, &rows[i]));
    rtk_db_sessions_free(rows, n);
    rtk_reply_data(req, 200, json_pack("{s:o}", "sessions", list),
                   rtk_reply_paging(total, page.offset, n));
}

/* Loads the session named in the path; answers 404 and returns -1 when it is not there. */
static int load_session(rtk_call *call, rtk_db_session *s)
{
    int rc = rtk_db_session_get(call->ctx->db, call->app, call->m.params[2], s);
    if (rc == RTK_ENOTFOUND) {
        rtk_reply_error(call->req, 404, "No session found with id %s", call->m.params[2]);
        return -1;
    }
    if (rc != 0) {
        rtk_api_store_error(call, rc);
        return -1;
    }
    return 0;
}

void rtk_api_session_get(rtk_call *call)
{
    rtk_db_session s;
    if (load_session(call, &s) != 0)
        return;
    json_t *o = rtk_live_session_json_db(call->ctx->live, &s);
    free(s.title);
    rtk_reply_data(call->req, 200, o, NULL);
}

void rtk_api_session_participants(rtk_call *call)
{
    rtk_db_session s;
    rtk_page page;
    json_t *items = NULL;
    int64_t total = 0;
    if (load_session(call, &s) != 0)
        return;
    free(s.title);
    if (rtk_api_paging(call, &page) != 0)
        return;
    int rc = rtk_db_session_peers(call->ctx->db, s.id, rtk_time_now_ms(), page, &items, &total);
    if (rc != 0) {
        rtk_api_store_error(call, rc);
        return;
    }
    json_t *paging = rtk_reply_paging(total, page.offset, json_array_size(items));
    rtk_reply_data(call->req, 200, json_pack("{s:o}", "participants", items), paging);
}
