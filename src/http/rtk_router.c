/* SPDX-License-Identifier: MIT */
/* rtk_router.c - matching a path against a route table; ':' segments are parameters. */
#include "http/rtk_router.h"

#include <http_parser.h>
#include <stdio.h>
#include <string.h>

#include "util/rtk_err.h"

static int param_byte_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
}

/* The path cut into segments once per request; a segment's fitness as a parameter is decided
 * at most once, however many rows look at it (most rows share the account and app prefix). */
#define MAX_SEGS 16

typedef struct segs {
    int n;
    const char *s[MAX_SEGS];
    size_t len[MAX_SEGS];
    signed char param_ok[MAX_SEGS]; /* -1: not decided yet */
} segs;

static int split(const char *p, const char *end, segs *out)
{
    out->n = 0;
    if (p >= end || *p != '/')
        return -1;
    while (p < end) {
        if (out->n == MAX_SEGS)
            return -1;
        const char *seg = ++p; /* past the '/' */
        while (p < end && *p != '/')
            p++;
        out->s[out->n] = seg;
        out->len[out->n] = (size_t)(p - seg);
        out->param_ok[out->n] = -1;
        out->n++;
    }
    return 0;
}

static int param_ok(segs *g, int i)
{
    if (g->param_ok[i] < 0) {
        int ok = g->len[i] > 0 && g->len[i] <= RTK_ROUTE_PARAM_MAX;
        for (size_t k = 0; ok && k < g->len[i]; k++)
            ok = param_byte_ok((unsigned char)g->s[i][k]);
        g->param_ok[i] = (signed char)ok;
    }
    return g->param_ok[i];
}

/* Whether |pat| matches the segments; fails at the first literal that differs. */
static int match_one(const char *pat, segs *g)
{
    int i = 0, nparams = 0;
    while (*pat != '\0') {
        pat++; /* the '/' */
        const char *pseg = pat;
        while (*pat != '\0' && *pat != '/')
            pat++;
        size_t pseg_len = (size_t)(pat - pseg);
        if (i == g->n)
            return 0;
        if (pseg[0] == ':') {
            if (++nparams > RTK_ROUTE_MAX_PARAMS || !param_ok(g, i))
                return 0;
        } else if (g->len[i] != pseg_len || memcmp(g->s[i], pseg, pseg_len) != 0) {
            return 0;
        }
        i++;
    }
    return i == g->n;
}

static void take_params(const char *pat, const segs *g, rtk_route_match *m)
{
    m->nparams = 0;
    for (int i = 0; *pat != '\0'; i++) {
        pat++;
        if (*pat == ':') {
            memcpy(m->params[m->nparams], g->s[i], g->len[i]);
            m->params[m->nparams][g->len[i]] = '\0';
            m->nparams++;
        }
        while (*pat != '\0' && *pat != '/')
            pat++;
    }
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
    m->nparams = 0;
    segs g;
    if (split(path, path + len, &g) != 0)
        return RTK_ENOTFOUND;
    for (size_t r = 0; r < n; r++) {
        if (!match_one(table[r].pattern, &g))
            continue;
        /* Every row with this pattern: the one for |method|, or what Allow lists. */
        const char *pattern = table[r].pattern;
        for (size_t k = r; k < n; k++) {
            if (table[k].pattern != pattern && strcmp(table[k].pattern, pattern) != 0)
                continue;
            if (table[k].methods & method) {
                m->route = &table[k];
                take_params(pattern, &g, m);
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
    } names[] = {{RTK_M_GET, "GET"},
                 {RTK_M_POST, "POST"},
                 {RTK_M_PUT, "PUT"},
                 {RTK_M_PATCH, "PATCH"},
                 {RTK_M_DELETE, "DELETE"}};
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
