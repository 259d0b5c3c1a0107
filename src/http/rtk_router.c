/* SPDX-License-Identifier: MIT */
/* rtk_router.c - matching a path against a route table; ':' segments are parameters. */
#include "http/rtk_router.h"

#include <http_parser.h>
#include <stdio.h>
#include <string.h>

#include "util/rtk_err.h"

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

int rtk_router_match(const rtk_route *table, size_t n, const char *path, size_t len, int method,
                     rtk_route_match *m, int *allow)
{
    static const char prefix[] = "/client/v4";
    const size_t plen = sizeof(prefix) - 1;
    if (len >= plen && memcmp(path, prefix, plen) == 0 && (len == plen || path[plen] == '/')) {
        path += plen;
        len -= plen;
    }
    if (len > 1 && path[len - 1] == '/')
        len--;
    *allow = 0;
    for (size_t r = 0; r < n; r++) {
        if (!match_one(table[r].pattern, path, path + len, m))
            continue;
        /* Every row with this pattern: the one for |method|, or what Allow lists. */
        const char *pattern = table[r].pattern;
        for (size_t k = r; k < n; k++) {
            if (strcmp(table[k].pattern, pattern) != 0)
                continue;
            if (table[k].methods & method) {
                m->route = &table[k];
                return 0;
            }
            *allow |= table[k].methods;
        }
        return RTK_EINVAL;
    }
    return RTK_ENOTFOUND;
}

void rtk_router_allow(int methods, char *out, size_t cap)
{
    static const struct {
        int bit;
        const char *name;
    } names[] = {{RTK_M_GET, "GET"},     {RTK_M_POST, "POST"},    {RTK_M_PUT, "PUT"},
                 {RTK_M_PATCH, "PATCH"}, {RTK_M_DELETE, "DELETE"}};
    size_t off = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!(methods & names[i].bit))
            continue;
        int w = snprintf(out + off, cap - off, "%s%s", off ? ", " : "", names[i].name);
        if (w < 0 || (size_t)w >= cap - off)
            return;
        off += (size_t)w;
    }
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
