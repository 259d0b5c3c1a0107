/* SPDX-License-Identifier: MIT */
/* fuzz_query.c - libFuzzer harness: request paths and query strings.
 *
 * Surface: the request target of every REST call and of the channel handshake. The HTTP layer
 * splits it at the first '?'; the path goes to rtk_router_match() (src/http/rtk_router.h) and
 * the query to rtk_query_get(), rtk_query_int() and rtk_query_paging()
 * (src/http/rtk_query.h) with the keys and buffer sizes the handlers use. The head limit
 * (16 KiB) bounds a target, so -max_len=16384.
 *
 * Checked against small reference implementations written here from the headers' contracts:
 *   - rtk_query_get finds the first exact key, decodes '+' and %XX, refuses bad escapes, NUL
 *     bytes and values that do not fit, and its output is the reference's, NUL-terminated
 *     within the buffer;
 *   - rtk_query_int accepts exactly the in-range decimal integers;
 *   - rtk_query_paging gives page_no >= 1 and per_page in 1..100 (their product cannot
 *     overflow) or names the bad parameter;
 *   - rtk_router_match: a match names a valid route whose methods are known, with 1..64-byte
 *     parameters of [A-Za-z0-9-_.] that appear in the path, and the same path with a trailing
 *     '/' or the "/client/v4" prefix matches the same route.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/rtk_query.h"
#include "api/rtk_api.h"
#include "http/rtk_router.h"
#include "util/rtk_err.h"

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_query: invariant broken: %s\n", what);
    abort();
}

static int hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The reference rtk_query_get. */
/* UTF-8 by decoding each code point and checking it: no overlong form, no surrogate, nothing
 * past U+10FFFF (a model written apart from src/util/rtk_utf8.c). */
static int ref_utf8(const unsigned char *s)
{
    while (*s) {
        unsigned cp;
        int n;
        if (*s < 0x80) {
            s++;
            continue;
        } else if ((*s & 0xe0) == 0xc0) {
            cp = *s & 0x1f;
            n = 1;
        } else if ((*s & 0xf0) == 0xe0) {
            cp = *s & 0x0f;
            n = 2;
        } else if ((*s & 0xf8) == 0xf0) {
            cp = *s & 0x07;
            n = 3;
        } else {
            return 0;
        }
        static const unsigned least[] = {0, 0x80, 0x800, 0x10000};
        for (int i = 1; i <= n; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i] & 0x3f);
        }
        if (cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        s += n + 1;
    }
    return 1;
}

static int ref_get(const char *q, size_t len, const char *key, char *out, size_t cap)
{
    size_t klen = strlen(key), i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && q[end] != '&')
            end++;
        size_t eq = i;
        while (eq < end && q[eq] != '=')
            eq++;
        if (eq - i == klen && memcmp(q + i, key, klen) == 0) {
            size_t v = eq < end ? eq + 1 : end, w = 0;
            for (size_t k = v; k < end; k++) {
                int c = (unsigned char)q[k];
                if (c == '+') {
                    c = ' ';
                } else if (c == '%') {
                    if (end - k < 3 || hex(q[k + 1]) < 0 || hex(q[k + 2]) < 0)
                        return RTK_EINVAL;
                    c = hex(q[k + 1]) * 16 + hex(q[k + 2]);
                    k += 2;
                }
                if (c == 0 || w + 1 >= cap)
                    return RTK_EINVAL;
                out[w++] = (char)c;
            }
            out[w] = '\0';
            return ref_utf8((const unsigned char *)out) ? 1 : RTK_EINVAL;
        }
        i = end + 1;
    }
    return 0;
}

static void check_get(const char *q, size_t len, const char *key, size_t cap)
{
    char got[4096], want[4096];
    memset(got, 0x7f, sizeof(got));
    int rc = rtk_query_get(q, len, key, got, cap);
    int ref = ref_get(q, len, key, want, cap);
    if (rc != ref)
        fail("rtk_query_get's result differs from the reference");
    if (rc == 1) {
        size_t n = strnlen(got, cap);
        if (n >= cap)
            fail("value not NUL-terminated within the buffer");
        if (strcmp(got, want) != 0)
            fail("rtk_query_get decoded another value than the reference");
    }
    if (got[cap] != 0x7f)
        fail("rtk_query_get wrote past its buffer");
}

static void check_int(const char *q, size_t len, const char *key, int64_t min, int64_t max)
{
    int64_t v = -42;
    int rc = rtk_query_int(q, len, key, min, max, &v);
    /* rtk_query_int decodes into a 24-byte buffer; |max| is far below 10^18 here, so a
     * saturating reading decides the range. */
    char buf[24];
    int ref = ref_get(q, len, key, buf, sizeof(buf));
    int64_t n = 0;
    if (ref == 1) {
        int ok = buf[0] != '\0';
        for (const char *p = buf; ok && *p; p++) {
            if (*p < '0' || *p > '9')
                ok = 0;
            else
                n = n > INT64_C(100000000000000000) ? INT64_C(1000000000000000000)
                                                    : n * 10 + (*p - '0');
        }
        ref = ok && n >= min && n <= max ? 1 : RTK_EINVAL;
    }
    if (rc != ref)
        fail("rtk_query_int's result differs from the reference");
    if (rc == 1 && v != n)
        fail("rtk_query_int read another number");
    if (rc != 1 && v != -42)
        fail("rtk_query_int wrote *v without success");
}

static void check_paging(const char *q, size_t len)
{
    int64_t page_no = 0, per_page = 0;
    const char *bad = NULL;
    int rc = rtk_query_paging(q, len, &page_no, &per_page, &bad);
    if (rc == 0) {
        if (page_no < 1 || page_no > 1000000000 || per_page < 1 || per_page > RTK_PER_PAGE_MAX)
            fail("paging out of range");
        if ((page_no - 1) > INT64_MAX / per_page)
            fail("paging offset would overflow");
    } else if (rc != RTK_EINVAL || bad == NULL ||
               (strcmp(bad, "page_no") != 0 && strcmp(bad, "per_page") != 0)) {
        fail("paging error without the bad parameter's name");
    }
}

static int param_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
}

static int route_match(const char *path, size_t len, int method, rtk_route_match *m, int *allow)
{
    return rtk_router_match(rtk_api_routes, rtk_api_nroutes, path, len, method, m, allow);
}

static void check_router(const char *path, size_t len, int method)
{
    rtk_route_match m;
    int allow = -1;
    memset(&m, 0, sizeof(m));
    int rc = route_match(path, len, method, &m, &allow);
    if (rc != 0 && rc != RTK_ENOTFOUND && rc != RTK_EINVAL)
        fail("rtk_router_match returned an undocumented value");
    if (rc == RTK_EINVAL && (allow == 0 || (allow & method)))
        fail("405 without an Allow that excludes the method");
    if (rc != 0)
        return;
    if (m.route < rtk_api_routes || m.route >= rtk_api_routes + rtk_api_nroutes)
        fail("no such route");
    if ((m.route->methods & method) == 0 || m.route->handler == NULL)
        fail("a row that does not take the method");
    if (m.nparams < 0 || m.nparams > RTK_ROUTE_MAX_PARAMS)
        fail("parameter count out of range");
    for (int i = 0; i < m.nparams; i++) {
        size_t n = strnlen(m.params[i], sizeof(m.params[i]));
        if (n == 0 || n > RTK_ROUTE_PARAM_MAX)
            fail("parameter length out of range");
        for (size_t k = 0; k < n; k++)
            if (!param_ok((unsigned char)m.params[i][k]))
                fail("parameter holds a byte outside [A-Za-z0-9-_.]");
        int found = 0;
        for (size_t k = 0; k + n <= len && !found; k++)
            found = memcmp(path + k, m.params[i], n) == 0;
        if (!found)
            fail("parameter not taken from the path");
    }
    /* The same route with a trailing slash (when there is none) and under /client/v4. */
    char *alt = malloc(len + 16);
    if (alt == NULL)
        abort();
    rtk_route_match m2;
    if (len > 0 && path[len - 1] != '/') {
        memcpy(alt, path, len);
        alt[len] = '/';
        if (route_match(alt, len + 1, method, &m2, &allow) != 0 || m2.route != m.route)
            fail("a trailing slash changed the route");
    }
    if (len > 0 && path[0] == '/' && !(len >= 10 && memcmp(path, "/client/v4", 10) == 0)) {
        memcpy(alt, "/client/v4", 10);
        memcpy(alt + 10, path, len);
        if (route_match(alt, len + 10, method, &m2, &allow) != 0 || m2.route != m.route ||
            m2.nparams != m.nparams)
            fail("the /client/v4 prefix changed the match");
        for (int i = 0; i < m.nparams; i++)
            if (strcmp(m2.params[i], m.params[i]) != 0)
                fail("the /client/v4 prefix changed a parameter");
    }
    free(alt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* First byte: the capacity of rtk_query_get's output (1..4095). */
    static const size_t caps[] = {1, 2, 8, 16, 24, 64, 257, 2049, 4095};
    size_t cap = caps[data[0] % (sizeof(caps) / sizeof(caps[0]))];
    const char *s = (const char *)data + 1;
    size_t len = size - 1;
    const char *qm = memchr(s, '?', len);
    size_t path_len = qm ? (size_t)(qm - s) : len;
    const char *q = qm ? qm + 1 : NULL;
    size_t qlen = qm ? len - path_len - 1 : 0;

    static const int methods[] = {RTK_M_GET, RTK_M_POST, RTK_M_PUT, RTK_M_PATCH, RTK_M_DELETE, 0};
    check_router(s, path_len, methods[data[0] % 6]);

    static const char *const keys[] = {"search",   "status",    "sort_order", "start_time",
                                       "end_time", "token",     "page_no",    "per_page",
                                       "",         "search_key"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        check_get(q, qlen, keys[i], cap);
    check_int(q, qlen, "page_no", 1, 1000000000);
    check_int(q, qlen, "per_page", 1, RTK_PER_PAGE_MAX);
    check_int(q, qlen, "n", 0, 86400);
    check_paging(q, qlen);
    return 0;
}
