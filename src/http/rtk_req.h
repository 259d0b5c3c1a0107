/* SPDX-License-Identifier: MIT */
/* rtk_req.h - an HTTP request as handlers see it, shared by the HTTP/1 parser and the server. */
#ifndef RTK_REQ_H
#define RTK_REQ_H

#include <stddef.h>

/*
 * These types belong to the public API of net/rtk_http.h, which includes this header; they
 * live here so that the sans-I/O HTTP/1 layer (http/rtk_h1.h), which builds requests, needs
 * neither libuv nor the server. Handlers include net/rtk_http.h.
 */

typedef struct rtk_http_header {
    const char *name; /* NUL-terminated, as received (not case-folded) */
    size_t name_len;
    const char *value; /* NUL-terminated, surrounding whitespace removed */
    size_t value_len;
} rtk_http_header;

/* A request, read-only for handlers. Valid from the handler call until the response to it has
 * been given (rtk_http_respond or rtk_http_upgrade); never free it. Every string is
 * NUL-terminated and its length excludes the NUL. Only the HTTP/1 layer creates requests: its
 * private state follows this struct in the same allocation (struct rtk_h1_req). */
typedef struct rtk_http_req {
    int method;             /* enum http_method from <http_parser.h> (HTTP_GET, ...) */
    const char *method_str; /* "GET", ... (static) */
    const char *path;       /* raw path, no query, NOT percent-decoded; "/" at least */
    size_t path_len;
    const char *query; /* after '?', without it; NULL/0 if none */
    size_t query_len;
    const char *body; /* whole body, de-chunked; NULL/0 if none */
    size_t body_len;
    const rtk_http_header *headers;
    size_t nheaders;
    int http_major;
    int http_minor;
    const char *remote_ip; /* numeric text form of the peer address ("-" if unknown) */
    int is_upgrade;        /* Upgrade + Connection: upgrade, and the parser stopped there */
    void *server_data;     /* the |data| given to rtk_http_server_start */
    int metrics_route;     /* the handler may set it: the route label its answer is counted
                            * under (util/rtk_metrics.h); 0: "unmatched" */
} rtk_http_req;

/* Case-insensitive lookup of the first header called |name| in |req|. Returns its value and
 * stores its length in *len (if |len| is not NULL), or returns NULL if absent. Borrowed:
 * valid as long as |req|. Any thread (it only reads |req|). */
const char *rtk_http_req_header(const rtk_http_req *req, const char *name, size_t *len);

/* Iterates the comma-separated elements of a header value |v| of |len| bytes (RFC 9110
 * 5.6.1): returns 1 and sets *elem and *elem_len (surrounding spaces and tabs removed) to the
 * next non-empty element, or 0 at the end. Start with *pos = 0. Any thread. */
int rtk_http_list_next(const char *v, size_t len, size_t *pos, const char **elem, size_t *elem_len);

#endif
