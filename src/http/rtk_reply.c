/* SPDX-License-Identifier: MIT */
/* rtk_reply.c - JSON envelopes for REST responses. */
#include "http/rtk_reply.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rtk_reply_json(rtk_http_req *req, int status, const char *headers, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text == NULL) {
        static const char fallback[] =
            "{\"success\":false,\"error\":{\"code\":500,\"message\":\"Internal error\"}}";
        rtk_http_respond(req, 500, "application/json", NULL, fallback, sizeof(fallback) - 1);
        return;
    }
    rtk_http_respond(req, status, "application/json", headers, text, strlen(text));
    free(text);
}

void rtk_reply_data(rtk_http_req *req, int status, json_t *data, json_t *paging)
{
    json_t *body = json_pack("{s:b,s:o}", "success", 1, "data", data);
    if (paging != NULL)
        json_object_set_new(body, "paging", paging);
    rtk_reply_json(req, status, NULL, body);
}

static void verror(rtk_http_req *req, int status, const char *headers, const char *fmt,
                   va_list ap) __attribute__((format(printf, 4, 0)));

static void verror(rtk_http_req *req, int status, const char *headers, const char *fmt,
                   va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    /* Messages may quote client input: keep only valid UTF-8 so the JSON encoder accepts it. */
    json_t *m = json_string(msg);
    if (m == NULL)
        m = json_string("Bad request");
    json_t *body = json_pack("{s:b,s:{s:i,s:o}}", "success", 0, "error", "code", status,
                             "message", m);
    rtk_reply_json(req, status, headers, body);
}

void rtk_reply_error(rtk_http_req *req, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(req, status, NULL, fmt, ap);
    va_end(ap);
}

void rtk_reply_error_h(rtk_http_req *req, int status, const char *headers, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(req, status, headers, fmt, ap);
    va_end(ap);
}

void rtk_reply_auth_error(rtk_http_req *req, int status)
{
    static const char body[] = "{\"success\":false,\"errors\":[{\"code\":10000,\"message\":"
                               "\"Authentication error\"}],\"messages\":[],\"result\":null}";
    rtk_http_respond(req, status, "application/json", NULL, body, sizeof(body) - 1);
}

json_t *rtk_reply_paging(int64_t total, int64_t offset, size_t count)
{
    int64_t start = count ? offset + 1 : 0;
    int64_t end = count ? offset + (int64_t)count : 0;
    return json_pack("{s:I,s:I,s:I}", "total_count", (json_int_t)total, "start_offset",
                     (json_int_t)start, "end_offset", (json_int_t)end);
}
