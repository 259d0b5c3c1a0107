/* SPDX-License-Identifier: MIT */
/* rtk_api_meetings.c - create, list, get, PATCH and PUT meetings. */
#include <http_parser.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api/rtk_api.h"
#include "http/rtk_query.h"
#include "http/rtk_reply.h"
#include "live/rtk_live.h"
#include "util/rtk_err.h"
#include "util/rtk_id.h"
#include "util/rtk_time.h"

#define TITLE_MAX 1024
#define KEEP_ALIVE_DEFAULT 60
#define KEEP_ALIVE_MAX 86400

static const char *const bool_fields[] = {
    "record_on_start", "live_stream_on_start", "persist_chat", "summarize_on_end",
    "transcribe_on_end",
};
#define N_BOOL_FIELDS (sizeof(bool_fields) / sizeof(bool_fields[0]))

/* Sets every field a meeting has to its default, keeping nothing. */
static void set_defaults(json_t *doc)
{
    json_object_set_new(doc, "title", json_null());
    json_object_set_new(doc, "status", json_string("ACTIVE"));
    for (size_t i = 0; i < N_BOOL_FIELDS; i++)
        json_object_set_new(doc, bool_fields[i], json_false());
    json_object_set_new(doc, "session_keep_alive_time_in_secs", json_integer(KEEP_ALIVE_DEFAULT));
    json_object_set_new(doc, "ai_config", json_null());
    json_object_set_new(doc, "recording_config", json_null());
}

/* Validates every field of |body| first, then copies the given ones into |doc|, so a
 * rejected request changes nothing. Returns 0, or -1 after answering 400. */
static int apply_fields(rtk_call *call, json_t *body, json_t *doc)
{
    const char *title = NULL, *status = NULL;
    int flags[N_BOOL_FIELDS];
    int64_t keep = -1;

    if (rtk_api_opt_string(call, body, "title", 1, TITLE_MAX, &title) != 0)
        return -1;
    if (rtk_api_opt_string(call, body, "status", 0, 16, &status) != 0)
        return -1;
    if (status != NULL && strcmp(status, "ACTIVE") != 0 && strcmp(status, "INACTIVE") != 0) {
        rtk_api_fail(call, 400, "\"status\" must be ACTIVE or INACTIVE");
        return -1;
    }
    for (size_t i = 0; i < N_BOOL_FIELDS; i++) {
        flags[i] = -1;
        /* The SDK types allow null for some flags: null means the default (false). */
        if (json_is_null(json_object_get(body, bool_fields[i])))
            flags[i] = 0;
        else if (rtk_api_opt_bool(call, body, bool_fields[i], &flags[i]) != 0)
            return -1;
    }
    if (rtk_api_opt_int(call, body, "session_keep_alive_time_in_secs", 0, KEEP_ALIVE_MAX,
                        &keep) != 0)
        return -1;
    static const char *const objects[] = {"ai_config", "recording_config"};
    for (size_t i = 0; i < 2; i++) {
        json_t *v = json_object_get(body, objects[i]);
        if (v != NULL && !json_is_object(v) && !json_is_null(v)) {
            rtk_api_fail(call, 400, "\"%s\" must be an object", objects[i]);
            return -1;
        }
    }

    if (json_object_get(body, "title") != NULL)
        json_object_set_new(doc, "title", title ? json_string(title) : json_null());
    if (status != NULL)
        json_object_set_new(doc, "status", json_string(status));
    for (size_t i = 0; i < N_BOOL_FIELDS; i++)
        if (flags[i] >= 0)
            json_object_set_new(doc, bool_fields[i], json_boolean(flags[i]));
    if (keep >= 0)
        json_object_set_new(doc, "session_keep_alive_time_in_secs", json_integer(keep));
    for (size_t i = 0; i < 2; i++) {
        json_t *v = json_object_get(body, objects[i]);
        if (v != NULL)
            json_object_set(doc, objects[i], v);
    }
    return 0;
}

/* The meeting in call->doc was written: answer with it. */
static void on_written(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    (void)res;
    if (status == RTK_ENOTFOUND) {
        rtk_api_fail(call, 404, "No meeting found with id %s", call->m.params[2]);
        return;
    }
    if (status != 0) {
        rtk_api_store_error(call, status);
        return;
    }
    json_t *doc = call->doc;
    int created = call->m.route->methods == RTK_M_POST;
    if (!created && call->ctx->live != NULL)
        rtk_live_meeting_changed(
            call->ctx->live, json_string_value(json_object_get(doc, "id")),
            json_string_value(json_object_get(doc, "title")),
            json_integer_value(json_object_get(doc, "session_keep_alive_time_in_secs")));
    call->doc = NULL;
    rtk_api_reply(call, created ? 201 : 200, doc, NULL);
}

static void write_meeting(rtk_call *call, int insert)
{
    rtk_store_doc row;
    rtk_api_doc_row(call->doc, &row);
    char *text = rtk_api_dump(call->doc);
    row.json = text;
    rtk_store_meeting_put(call->ctx->store, call->app, &row, insert, on_written, call);
    free(text);
}

void rtk_api_meetings_create(rtk_call *call)
{
    if (rtk_api_body(call) != 0)
        return;
    json_t *doc = json_object();
    char id[37], now[25];
    rtk_id_uuid4(id);
    rtk_time_iso(rtk_time_now_ms(), now);
    json_object_set_new(doc, "id", json_string(id));
    set_defaults(doc);
    json_object_set_new(doc, "created_at", json_string(now));
    json_object_set_new(doc, "updated_at", json_string(now));
    call->doc = doc;
    if (apply_fields(call, call->body, doc) != 0)
        return;
    write_meeting(call, 1);
}

typedef struct list_state {
    rtk_store_page page;
} list_state;

static void on_listed(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    if (status != 0) {
        rtk_api_store_error(call, status);
        return;
    }
    rtk_api_reply_docs(call, res, ((list_state *)call->data)->page);
}

void rtk_api_meetings_list(rtk_call *call)
{
    rtk_http_req *req = call->req;
    char search[257], status[16], when[64];
    int64_t start = INT64_MIN, end = INT64_MAX;
    list_state *ls = rtk_xcalloc(1, sizeof(*ls));
    call->data = ls;
    if (rtk_api_paging(call, &ls->page) != 0)
        return;
    int has_search = rtk_query_get(req->query, req->query_len, "search", search, sizeof(search));
    if (has_search < 0) {
        rtk_api_fail(call, 400, "\"search\" must be at most 256 bytes of valid text");
        return;
    }
    int has_status = rtk_query_get(req->query, req->query_len, "status", status, sizeof(status));
    if (has_status < 0 ||
        (has_status && strcmp(status, "ACTIVE") != 0 && strcmp(status, "INACTIVE") != 0)) {
        rtk_api_fail(call, 400, "\"status\" must be ACTIVE or INACTIVE");
        return;
    }
    static const char *const bounds[] = {"start_time", "end_time"};
    for (int i = 0; i < 2; i++) {
        int has = rtk_query_get(req->query, req->query_len, bounds[i], when, sizeof(when));
        if (has == 0)
            continue;
        if (has < 0 || rtk_time_parse_iso(when, strlen(when), i ? &end : &start) != 0) {
            rtk_api_fail(call, 400, "\"%s\" must be an ISO-8601 date-time", bounds[i]);
            return;
        }
    }
    rtk_store_meeting_list(call->ctx->store, call->app, has_search ? search : NULL,
                           has_status ? status : NULL, start, end, ls->page, on_listed, call);
}

static void reply_doc(rtk_call *call)
{
    json_t *doc = call->doc;
    call->doc = NULL;
    rtk_api_reply(call, 200, doc, NULL);
}

void rtk_api_meeting_get(rtk_call *call)
{
    rtk_api_load_meeting(call, reply_doc);
}

static void update_loaded(rtk_call *call)
{
    if (rtk_api_body(call) != 0)
        return;
    if (call->req->method == HTTP_PUT)
        set_defaults(call->doc);
    if (apply_fields(call, call->body, call->doc) != 0)
        return;
    rtk_api_touch(call->doc);
    write_meeting(call, 0);
}

void rtk_api_meeting_update(rtk_call *call)
{
    rtk_api_load_meeting(call, update_loaded);
}
