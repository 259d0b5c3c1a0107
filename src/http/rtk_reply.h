/* SPDX-License-Identifier: MIT */
/* rtk_reply.h - JSON responses in the two envelopes the RealtimeKit API uses. */
#ifndef RTK_REPLY_H
#define RTK_REPLY_H

#include "net/rtk_http.h"

struct json_t;

/* Sends |body| (takes ownership) serialised compactly with Content-Type application/json.
 * |headers| are extra raw header lines ending in CRLF, or NULL. */
void rtk_reply_json(rtk_http_req *req, int status, const char *headers, struct json_t *body);

/* {"success":true,"data":data[,"paging":paging]}; takes ownership of both (paging may be NULL). */
void rtk_reply_data(rtk_http_req *req, int status, struct json_t *data, struct json_t *paging);

/* The RealtimeKit error envelope {"success":false,"error":{"code":status,"message":…}}. */
void rtk_reply_error(rtk_http_req *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Same, with extra raw header lines (e.g. "Allow: GET, POST\r\n"). */
void rtk_reply_error_h(rtk_http_req *req, int status, const char *headers, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Cloudflare's v4 gateway envelope for authentication failures:
 * {"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[],
 *  "result":null}. */
void rtk_reply_auth_error(rtk_http_req *req, int status);

/* Paging object {total_count,start_offset,end_offset}: offsets are 1-based positions of the
 * first and last item on the page, both 0 for an empty page. Returns a new reference. */
struct json_t *rtk_reply_paging(int64_t total, int64_t offset, size_t count);

#endif
