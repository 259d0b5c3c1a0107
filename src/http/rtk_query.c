/* SPDX-License-Identifier: MIT */
/* rtk_query.c - query-string parsing. */
#include "http/rtk_query.h"

#include <string.h>

#include "util/rtk_err.h"
#include "util/rtk_utf8.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi, lo;
            if (i + 2 >= n) /* an escape needs two hex digits */
                return RTK_EINVAL;
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return RTK_EINVAL;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (c == '\0' || w + 1 >= cap)
            return RTK_EINVAL;
        out[w++] = c;
    }
    out[w] = '\0';
    return 1;
}

int rtk_query_get(const char *q, size_t len, const char *key, char *out, size_t cap)
{
    size_t klen = strlen(key);
    size_t i = 0;
    while (q != NULL && i < len) {
        size_t end = i;
        while (end < len && q[end] != '&')
            end++;
        const char *eq = memchr(q + i, '=', end - i);
        size_t name_len = eq ? (size_t)(eq - (q + i)) : end - i;
        if (name_len == klen && memcmp(q + i, key, klen) == 0) {
            const char *v = eq ? eq + 1 : q + end;
            int rc = decode(v, (size_t)(q + end - v), out, cap);
            /* Values are text: the store keeps only valid UTF-8 (PostgreSQL refuses the rest). */
            if (rc > 0 && !rtk_utf8_valid(out, strlen(out)))
                return RTK_EINVAL;
            return rc;
        }
        i = end + 1;
    }
    return 0;
}

int rtk_query_int(const char *q, size_t len, const char *key, int64_t min, int64_t max,
                  int64_t *v)
{
    char buf[24];
    int rc = rtk_query_get(q, len, key, buf, sizeof(buf));
    if (rc <= 0)
        return rc;
    if (buf[0] == '\0')
        return RTK_EINVAL;
    int64_t n = 0;
    for (const char *p = buf; *p; p++) {
        if (*p < '0' || *p > '9' || n > (INT64_MAX - 9) / 10)
            return RTK_EINVAL;
        n = n * 10 + (*p - '0');
    }
    if (n < min || n > max)
        return RTK_EINVAL;
    *v = n;
    return 1;
}

int rtk_query_paging(const char *q, size_t len, int64_t *page_no, int64_t *per_page,
                     const char **bad)
{
    *page_no = 1;
    *per_page = RTK_PER_PAGE_DEFAULT;
    /* Capped so that (page_no - 1) * per_page can never overflow. */
    if (rtk_query_int(q, len, "page_no", 1, 1000000000, page_no) < 0) {
        *bad = "page_no";
        return RTK_EINVAL;
    }
    if (rtk_query_int(q, len, "per_page", 1, RTK_PER_PAGE_MAX, per_page) < 0) {
        *bad = "per_page";
        return RTK_EINVAL;
    }
    return 0;
}
