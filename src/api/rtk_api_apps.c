/* SPDX-License-Identifier: MIT */
/* rtk_api_apps.c - GET/POST /accounts/{account}/realtime/kit/apps. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api/rtk_api.h"
#include "http/rtk_query.h"
#include "http/rtk_reply.h"
#include "util/rtk_err.h"
#include "util/rtk_id.h"
#include "util/rtk_time.h"

#define APP_NAME_MAX 256

static json_t *app_json(const char *id, const char *name, int64_t created_ms)
{
    char created[25];
    rtk_time_iso(created_ms, created);
    return json_pack("{s:s,s:s,s:s}", "id", id, "name", name, "created_at", created);
}

typedef struct list_state {
    rtk_store_page page;
} list_state;

static void on_listed(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    list_state *ls = call->data;
    if (status != 0) {
        rtk_api_store_error(call, status);
        return;
    }
    const rtk_store_set *rows = &res->sets[1];
    json_t *items = json_array();
    for (size_t i = 0; i < rows->nrows; i++)
        json_array_append_new(items, app_json(rtk_store_text(rows, i, 0, NULL),
                                              rtk_store_text(rows, i, 1, NULL),
                                              rtk_store_int(rows, i, 2)));
    int64_t total = rtk_store_int(&res->sets[0], 0, 0);
    rtk_api_reply(call, 200, items, rtk_reply_paging(total, ls->page.offset, rows->nrows));
}

void rtk_api_apps_list(rtk_call *call)
{
    rtk_http_req *req = call->req;
    char search[257], order[8];
    list_state *ls = rtk_xcalloc(1, sizeof(*ls));
    call->data = ls;
    if (rtk_api_paging(call, &ls->page) != 0)
        return;
    int has_search = rtk_query_get(req->query, req->query_len, "search", search, sizeof(search));
    if (has_search < 0) {
        rtk_api_fail(call, 400, "\"search\" must be at most 256 bytes of valid text");
        return;
    }
    int has_order = rtk_query_get(req->query, req->query_len, "sort_order", order, sizeof(order));
    if (has_order < 0 || (has_order && strcmp(order, "ASC") != 0 && strcmp(order, "DESC") != 0)) {
        rtk_api_fail(call, 400, "\"sort_order\" must be ASC or DESC");
        return;
    }
    rtk_store_app_list(call->ctx->store, call->account, has_search ? search : NULL,
                       has_order && strcmp(order, "DESC") == 0, ls->page, on_listed, call);
}

typedef struct create_state {
    char id[37];
    int64_t created_ms;
} create_state;

static void on_created(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    create_state *cs = call->data;
    (void)res;
    if (status != 0) {
        rtk_api_store_error(call, status);
        return;
    }
    const char *name = json_string_value(json_object_get(call->body, "name"));
    rtk_api_reply(call, 201, json_pack("{s:o}", "app", app_json(cs->id, name, cs->created_ms)),
                  NULL);
}

void rtk_api_apps_create(rtk_call *call)
{
    const char *name = NULL;
    if (rtk_api_body(call) != 0)
        return;
    if (rtk_api_opt_string(call, call->body, "name", 0, APP_NAME_MAX, &name) != 0)
        return;
    if (name == NULL || name[0] == '\0') {
        rtk_api_fail(call, 400, "\"name\" is required");
        return;
    }
    create_state *cs = rtk_xcalloc(1, sizeof(*cs));
    call->data = cs;
    rtk_id_uuid4(cs->id);
    cs->created_ms = rtk_time_now_ms();
    rtk_store_app_create(call->ctx->store, cs->id, call->account, name, cs->created_ms,
                         on_created, call);
}
