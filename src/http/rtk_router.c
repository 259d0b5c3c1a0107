/* SPDX-License-Identifier: MIT */
/* rtk_router.c - a table of path patterns; ':' segments are parameters. */
#include "http/rtk_router.h"

#include <http_parser.h>
#include <stdio.h>
#include <string.h>

#include "util/rtk_err.h"

#define KIT "/accounts/:account/realtime/kit/:app"
#define AS KIT "/meetings/:meeting/active-session"

static const struct route {
    const char *pattern;
    int methods;
    const char *allow;
} routes[RTK_ROUTE_COUNT] = {
    [RTK_ROUTE_HEALTHZ] = {"/healthz", RTK_M_GET, "GET"},
    [RTK_ROUTE_READYZ] = {"/readyz", RTK_M_GET, "GET"},
    [RTK_ROUTE_APPS] = {"/accounts/:account/realtime/kit/apps", RTK_M_GET | RTK_M_POST,
                        "GET, POST"},
    [RTK_ROUTE_MEETINGS] = {KIT "/meetings", RTK_M_GET | RTK_M_POST, "GET, POST"},
    [RTK_ROUTE_MEETING] = {KIT "/meetings/:meeting", RTK_M_GET | RTK_M_PATCH | RTK_M_PUT,
                           "GET, PATCH, PUT"},
    [RTK_ROUTE_PARTICIPANTS] = {KIT "/meetings/:meeting/participants", RTK_M_GET | RTK_M_POST,
                                "GET, POST"},
    [RTK_ROUTE_PARTICIPANT] = {KIT "/meetings/:meeting/participants/:participant",
                               RTK_M_GET | RTK_M_PATCH | RTK_M_DELETE, "GET, PATCH, DELETE"},
    [RTK_ROUTE_PARTICIPANT_TOKEN] = {KIT "/meetings/:meeting/participants/:participant/token",
                                     RTK_M_POST, "POST"},
    [RTK_ROUTE_ACTIVE_SESSION] = {AS, RTK_M_GET, "GET"},
    [RTK_ROUTE_KICK] = {AS "/kick", RTK_M_POST, "POST"},
    [RTK_ROUTE_KICK_ALL] = {AS "/kick-all", RTK_M_POST, "POST"},
    [RTK_ROUTE_POLL] = {AS "/poll", RTK_M_POST, "POST"},
    [RTK_ROUTE_POLLS] = {AS "/polls", RTK_M_GET, "GET"},
    [RTK_ROUTE_POLL_ONE] = {AS "/polls/:poll", RTK_M_GET, "GET"},
    [RTK_ROUTE_SESSIONS] = {KIT "/sessions", RTK_M_GET, "GET"},
    [RTK_ROUTE_SESSION] = {KIT "/sessions/:session", RTK_M_GET, "GET"},
    [RTK_ROUTE_SESSION_PARTICIPANTS] = {KIT "/sessions/:session/participants", RTK_M_GET, "GET"},
    [RTK_ROUTE_SESSION_POLLS] = {KIT "/sessions/:session/polls", RTK_M_GET, "GET"},
    [RTK_ROUTE_WS] = {"/v1/ws", RTK_M_GET, "GET"},
};

static int param_byte_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.';
}

static int match_one(const char *pat, const char *p, const char *end, rtk_route_match *m)
{
    m->nparams = 0;
    while (*pat != '\0') {
        /* Both are at a '/' here. */
        if (p >= end || *p != '/')
            return 0;
        pat++;
        p++;
        const char *seg = p;
        while (p < end && *p != '/')
            p++;
        size_t seg_len = (size_t)(p - seg);
        const char *pseg = pat;
        while (*pat != '\0' && *pat != '/')
            pat++;
        size_t pseg_len = (size_t)(pat - pseg);
        if (pseg[0] == ':') {
            if (seg_len == 0 || seg_len > RTK_ROUTE_PARAM_MAX ||
                m->nparams == RTK_ROUTE_MAX_PARAMS)
                return 0;
            for (size_t i = 0; i < seg_len; i++)
                if (!param_byte_ok((unsigned char)seg[i]))
                    return 0;
            memcpy(m->params[m->nparams], seg, seg_len);
            m->params[m->nparams][seg_len] = '\0';
            m->nparams++;
        } else if (seg_len != pseg_len || memcmp(seg, pseg, seg_len) != 0) {
            return 0;
        }
    }
    return p == end;
}

int rtk_router_match(const char *path, size_t len, rtk_route_match *m)
{
    static const char prefix[] = "/client/v4";
    const size_t plen = sizeof(prefix) - 1;
    if (len >= plen && memcmp(path, prefix, plen) == 0 && (len == plen || path[plen] == '/')) {
        path += plen;
        len -= plen;
    }
    if (len > 1 && path[len - 1] == '/')
        len--;
    for (int r = 0; r < RTK_ROUTE_COUNT; r++) {
        if (match_one(routes[r].pattern, path, path + len, m)) {
            m->route = (rtk_route_id)r;
            return 0;
        }
    }
    return RTK_ENOTFOUND;
}

int rtk_router_methods(rtk_route_id route)
{
    return routes[route].methods;
}

const char *rtk_router_allow(rtk_route_id route)
{
    return routes[route].allow;
}

int rtk_router_method_bit(int http_method)
{
    switch (http_method) {
    case HTTP_GET: return RTK_M_GET;
    case HTTP_POST: return RTK_M_POST;
    case HTTP_PUT: return RTK_M_PUT;
    case HTTP_PATCH: return RTK_M_PATCH;
    case HTTP_DELETE: return RTK_M_DELETE;
    default: return 0;
    }
}
