/* SPDX-License-Identifier: MIT */
/* rtk_router.h - maps a request to one row of a route table: method set, path pattern and
 * handler in one row; `Allow` is derived from the rows that share a pattern. */
#ifndef RTK_ROUTER_H
#define RTK_ROUTER_H

#include <stddef.h>

#define RTK_ROUTE_MAX_PARAMS 4
#define RTK_ROUTE_PARAM_MAX 64 /* longer segments never name anything we store */

/* Method bits. */
enum {
    RTK_M_GET = 1,
    RTK_M_POST = 2,
    RTK_M_PUT = 4,
    RTK_M_PATCH = 8,
    RTK_M_DELETE = 16,
};

struct rtk_call;

/* One row. Rows with the same pattern (the same string) answer different methods. */
typedef struct rtk_route {
    int methods;         /* RTK_M_* bits this row answers */
    int flags;           /* the table owner's (the API's authentication level) */
    const char *pattern; /* "/segment/:param/...": ':' segments are parameters */
    void (*handler)(struct rtk_call *call);
} rtk_route;

typedef struct rtk_route_match {
    const rtk_route *route;
    int nparams;
    char params[RTK_ROUTE_MAX_PARAMS][RTK_ROUTE_PARAM_MAX + 1]; /* NUL-terminated, in order */
} rtk_route_match;

/* Matches |path| (no query), with or without the "/client/v4" prefix and with at most one
 * trailing slash, and |method| (an RTK_M_* bit, 0 for methods no row takes) against the |n|
 * rows of |table|. Returns 0 with m->route set; RTK_ENOTFOUND when no pattern matches; or
 * RTK_EINVAL when a pattern matches but no row of it takes |method|, with *allow set to the
 * methods its rows take. A parameter segment longer than RTK_ROUTE_PARAM_MAX or holding bytes
 * outside [A-Za-z0-9-_.] is no match. */
int rtk_router_match(const rtk_route *table, size_t n, const char *path, size_t len, int method,
                     rtk_route_match *m, int *allow);

/* "GET, POST" for the bits of |methods|, into out[cap]. */
void rtk_router_allow(int methods, char *out, size_t cap);

/* The RTK_M_* bit of an http_parser method, or 0 for methods no route takes. */
int rtk_router_method_bit(int http_method);

#endif
