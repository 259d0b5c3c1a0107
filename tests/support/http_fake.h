/* SPDX-License-Identifier: MIT */
/* http_fake.h - requests that come from no socket, to drive HTTP handlers in tests. */
#ifndef RTK_TEST_HTTP_FAKE_H
#define RTK_TEST_HTTP_FAKE_H

#include <stddef.h>

#include "net/rtk_http.h"

/*
 * The text "|method| |target| HTTP/1.1\r\n" + |headers| + (Content-Length if |body| is not
 * NULL) + "\r\n" + |body| goes through the sans-I/O HTTP/1 layer (http/rtk_h1.h) with the
 * server's default limits, as real traffic does (Host is not required); remote_ip is
 * "127.0.0.1". rtk_http_respond on such a request records the response instead of sending
 * it, and the request stays valid until rtk_http_fake_free; rtk_http_upgrade records |head|
 * as the response and returns UV_ENOTCONN. Built on the request's owner (rtk_http_owner): no
 * server or connection exists. Single-threaded, like the handlers it drives.
 */
typedef struct rtk_http_fake_resp {
    int status;
    const char *head; /* status line and headers, up to and including the blank line */
    size_t head_len;
    const char *body; /* NULL/0 if none */
    size_t body_len;
} rtk_http_fake_resp;

/* Builds a fake request: |headers| is raw "Name: value\r\n" lines or NULL; |body| (copied)
 * may be NULL; |server_data| (borrowed) becomes req->server_data. Stores it in *out and
 * returns 0; free it with rtk_http_fake_free. Errors (*out is then NULL): RTK_EPROTO (the text
 * is not one well-formed request), RTK_ETOOBIG (over a default limit). */
int rtk_http_fake_new(const char *method, const char *target, const char *headers, const void *body,
                      size_t body_len, void *server_data, rtk_http_req **out);

/* Fills *out with the response recorded for the fake |req| (borrowed, valid until
 * rtk_http_fake_free) and returns 0, or returns RTK_EAGAIN if none was given yet. */
int rtk_http_fake_response(const rtk_http_req *req, rtk_http_fake_resp *out);

/* Frees the fake |req|, answered or not. NULL is allowed. */
void rtk_http_fake_free(rtk_http_req *req);

#endif
