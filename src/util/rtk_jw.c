/* SPDX-License-Identifier: MIT */
/* rtk_jw.c - the JSON text writer. */
#include "util/rtk_jw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/rtk_err.h"
#include "util/rtk_time.h"

void rtk_jw_init(rtk_jw *w, char *stack, size_t cap)
{
    w->buf = stack;
    w->len = 0;
    w->cap = stack ? cap : 0;
    w->heap = 0;
}

void rtk_jw_free(rtk_jw *w)
{
    if (w->heap)
        free(w->buf);
    rtk_jw_init(w, NULL, 0);
}

static void grow(rtk_jw *w, size_t need)
{
    size_t cap = w->cap ? w->cap * 2 : 256;
    while (cap < need)
        cap *= 2;
    if (w->heap) {
        w->buf = rtk_xrealloc(w->buf, cap);
    } else {
        char *b = rtk_xmalloc(cap);
        if (w->len)
            memcpy(b, w->buf, w->len);
        w->buf = b;
        w->heap = 1;
    }
    w->cap = cap;
}

static inline void reserve(rtk_jw *w, size_t n)
{
    if (w->cap - w->len < n)
        grow(w, w->len + n);
}

char *rtk_jw_take(rtk_jw *w, size_t *len)
{
    reserve(w, 1);
    w->buf[w->len] = '\0';
    char *out = w->buf;
    if (!w->heap)
        out = rtk_xstrndup(w->buf, w->len);
    if (len)
        *len = w->len;
    rtk_jw_init(w, NULL, 0);
    return out;
}

void rtk_jw_raw(rtk_jw *w, const char *s, size_t n)
{
    reserve(w, n);
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

void rtk_jw_strn(rtk_jw *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    reserve(w, n + 2);
    w->buf[w->len++] = '"';
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        rtk_jw_raw(w, s + start, i - start);
        start = i + 1;
        char esc[6] = {'\\', (char)c, 0, 0, 0, 0};
        size_t elen = 2;
        switch (c) {
        case '"':
        case '\\': break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            elen = 6;
        }
        rtk_jw_raw(w, esc, elen);
    }
    rtk_jw_raw(w, s + start, n - start);
    rtk_jw_raw(w, "\"", 1);
}

void rtk_jw_str(rtk_jw *w, const char *s)
{
    if (s == NULL)
        RTK_JW_LIT(w, "null");
    else
        rtk_jw_strn(w, s, strlen(s));
}

void rtk_jw_str_trunc(rtk_jw *w, const char *s, size_t max_chars)
{
    if (s == NULL) {
        RTK_JW_LIT(w, "null");
        return;
    }
    size_t n = 0, chars = 0;
    for (; s[n] != '\0'; n++) {
        /* A lead byte starts a character: stop before the one past the limit. */
        if (((unsigned char)s[n] & 0xc0) != 0x80 && chars++ == max_chars)
            break;
    }
    rtk_jw_strn(w, s, n);
}

size_t rtk_jw_str_len(const char *s, size_t n)
{
    size_t len = 2;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' ||
            c == '\f')
            len += 2;
        else if (c < 0x20)
            len += 6;
        else
            len++;
    }
    return len;
}

void rtk_jw_int(rtk_jw *w, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%lld", (long long)v);
    rtk_jw_raw(w, tmp, (size_t)n);
}

void rtk_jw_real(rtk_jw *w, double v)
{
    char tmp[40];
    int n = snprintf(tmp, sizeof(tmp) - 2, "%.17g", v);
    if (n <= 0)
        return;
    /* jansson drops a '+' and the leading zeros of the exponent (1e-07 is written 1e-7). */
    char *e = strchr(tmp, 'e');
    if (e != NULL) {
        char *d = e + 1, *src = e + 1;
        if (*src == '-')
            *d++ = *src++;
        else if (*src == '+')
            src++;
        while (*src == '0' && src[1] != '\0')
            src++;
        memmove(d, src, strlen(src) + 1);
        n = (int)strlen(tmp);
    } else if (strchr(tmp, '.') == NULL && strcmp(tmp, "inf") != 0 && strcmp(tmp, "nan") != 0) {
        memcpy(tmp + n, ".0", 3);
        n += 2;
    }
    rtk_jw_raw(w, tmp, (size_t)n);
}

void rtk_jw_bool(rtk_jw *w, int v)
{
    if (v)
        RTK_JW_LIT(w, "true");
    else
        RTK_JW_LIT(w, "false");
}

void rtk_jw_time(rtk_jw *w, int64_t ms)
{
    char iso[27];
    iso[0] = '"';
    rtk_time_iso(ms, iso + 1);
    iso[25] = '"';
    rtk_jw_raw(w, iso, 26);
}
