/* SPDX-License-Identifier: MIT */
/* rtk_api_apps.c - GET/POST /accounts/{account}/realtime/kit/apps. */
#include <jansson.h>
#include <string.h>

#include "api/rtk_api.h"
#include "http/rtk_query.h"
#include "http/rtk_reply.h"
#include "util/rtk_err.h"

#define APP_NAME_MAX 256

void rtk_api_apps_list(rtk_call *call)
{
    rtk_http_req *req = call->req;
    rtk_page page;
    char search[257], order[8];
    int has_search, has_order;
    json_t *items = NULL;
    int64_t total = 0;

    if (rtk_api_paging(call, &page) != 0)
        return;
    has_search = rtk_query_get(req->query, req->query_len, "search", search, sizeof(search));
    if (has_search < 0) {
        rtk_reply_error(req, 400, "\"search\" must be at most 256 bytes of valid text");
        return;
    }
    has_order = rtk_query_get(req->query, req->query_len, "sort_order", order, sizeof(order));
    if (has_order < 0 || (has_order && strcmp(order, "ASC") != 0 && strcmp(order, "DESC") != 0)) {
        rtk_reply_error(req, 400, "\"sort_order\" must be ASC or DESC");
        return;
    }
    int rc = rtk_db_app_list(call->ctx->db, call->account, has_search ? search : NULL,
                             has_order && strcmp(order, "DESC") == 0, page, &items, &total);
    if (rc != 0) {
        rtk_api_store_error(call, rc);
        return;
    }
    json_t *paging = rtk_reply_paging(total, page.offset, json_array_size(items));
    rtk_reply_data(req, 200, items, paging);
}

void rtk_api_apps_create(rtk_call *call)
{
    json_t *body = rtk_api_body(call), *app = NULL;
    const char *name = NULL;
    if (body == NULL)
        return;
    if (rtk_api_opt_string(call, body, "name", 0, APP_NAME_MAX, &name) != 0)
        goto out;
    if (name == NULL || name[0] == '\0') {
        rtk_reply_error(call->req, 400, "\"name\" is required");
        goto out;
    }
    int rc = rtk_db_app_create(call->ctx->db, call->account, name, &app);
    if (rc != 0) {
        rtk_api_store_error(call, rc);
        goto out;
    }
    rtk_api_reply_committed(call, 201, json_pack("{s:o}", "app", app));
out:
    json_decref(body);
}
