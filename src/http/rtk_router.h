/* SPDX-License-Identifier: MIT */
/* rtk_router.h - maps a request path to a route and its path parameters. */
#ifndef RTK_ROUTER_H
#define RTK_ROUTER_H

#include <stddef.h>

#define RTK_ROUTE_MAX_PARAMS 4
#define RTK_ROUTE_PARAM_MAX 64 /* longer segments never name anything we store */

typedef enum rtk_route_id {
    RTK_ROUTE_HEALTHZ,
    RTK_ROUTE_READYZ,
    RTK_ROUTE_APPS,
    RTK_ROUTE_MEETINGS,
    RTK_ROUTE_MEETING,
    RTK_ROUTE_PARTICIPANTS,
    RTK_ROUTE_PARTICIPANT,
    RTK_ROUTE_PARTICIPANT_TOKEN,
    RTK_ROUTE_ACTIVE_SESSION,
    RTK_ROUTE_KICK,
    RTK_ROUTE_KICK_ALL,
    RTK_ROUTE_POLL,
    RTK_ROUTE_POLLS,
    RTK_ROUTE_POLL_ONE,
    RTK_ROUTE_SESSIONS,
    RTK_ROUTE_SESSION,
    RTK_ROUTE_SESSION_PARTICIPANTS,
    RTK_ROUTE_SESSION_POLLS,
    RTK_ROUTE_WS,
    RTK_ROUTE_COUNT
} rtk_route_id;

/* Method bits for rtk_router_methods. */
enum {
    RTK_M_GET = 1,
    RTK_M_POST = 2,
    RTK_M_PUT = 4,
    RTK_M_PATCH = 8,
    RTK_M_DELETE = 16,
};

typedef struct rtk_route_match {
    rtk_route_id route;
    int nparams;
    char params[RTK_ROUTE_MAX_PARAMS][RTK_ROUTE_PARAM_MAX + 1]; /* NUL-terminated, in order */
} rtk_route_match;

/* Matches |path| (no query), with or without the "/client/v4" prefix and with at most one
 * trailing slash. Returns 0 and fills *m, or RTK_ENOTFOUND. A parameter segment longer than
 * RTK_ROUTE_PARAM_MAX or holding bytes outside [A-Za-z0-9-_.] is no match. */
int rtk_router_match(const char *path, size_t len, rtk_route_match *m);

/* Allowed methods of |route| as RTK_M_* bits, and as an "Allow" header value. */
int rtk_router_methods(rtk_route_id route);
const char *rtk_router_allow(rtk_route_id route);

/* The RTK_M_* bit of an http_parser method, or 0 for methods no route takes. */
int rtk_router_method_bit(int http_method);

#endif
