/* SPDX-License-Identifier: MIT */
/* h1_feed.c - the scripted feeder of the HTTP/1 layer shared by test_h1.c and fuzz_http.c. */
#include "support/h1_feed.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/rtk_err.h"

static void log_add(h1_log *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void log_add(h1_log *log, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = log->cap - log->len;
        int n = vsnprintf(log->text ? log->text + log->len : NULL, room, fmt, ap);
        va_end(ap);
        assert(n >= 0);
        if ((size_t)n < room) {
            log->len += (size_t)n;
            return;
        }
        log->cap = (log->cap + (size_t)n + 1) * 2;
        log->text = rtk_xrealloc(log->text, log->cap);
    }
}

/* Appends |len| bytes as C-escaped text. */
static void log_bytes(h1_log *log, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '\\' && ch != '"')
            log_add(log, "%c", ch);
        else
            log_add(log, "\\x%02x", ch);
    }
}

void h1_log_free(h1_log *log)
{
    free(log->text);
    memset(log, 0, sizeof(*log));
}

static uint64_t fnv1a(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static void log_request(h1_log *log, rtk_h1_req *r, size_t end)
{
    const rtk_http_req *q = &r->pub;
    log_add(log, "REQ @%zu %s ", end, q->method_str);
    log_bytes(log, q->path, q->path_len);
    if (q->query) {
        log_add(log, "?");
        log_bytes(log, q->query, q->query_len);
    }
    log_add(log, " HTTP/%d.%d%s%s%s\n", q->http_major, q->http_minor,
            (r->flags & RTK_H1_R_CLOSE) ? " close" : "",
            (r->flags & RTK_H1_R_STOPPED) ? " stopped" : "", q->is_upgrade ? " upgrade" : "");
    for (size_t i = 0; i < q->nheaders; i++) {
        const rtk_http_header *h = &q->headers[i];
        assert(strlen(h->name) == h->name_len && strlen(h->value) == h->value_len);
        log_add(log, "  ");
        log_bytes(log, h->name, h->name_len);
        log_add(log, ": ");
        log_bytes(log, h->value, h->value_len);
        log_add(log, "\n");
    }
    if (q->body) {
        assert(q->body[q->body_len] == '\0');
        if (q->body_len <= 64) {
            log_add(log, "  body %zu \"", q->body_len);
            log_bytes(log, q->body, q->body_len);
            log_add(log, "\"\n");
        } else {
            log_add(log, "  body %zu fnv=%016llx\n", q->body_len,
                    (unsigned long long)fnv1a(q->body, q->body_len));
        }
    }
}

/* Writes a response head for |r|, as a server would, and checks its size. */
static void answer(rtk_h1_req *r)
{
    static const char date[] = "Sun, 06 Nov 1994 08:49:37 GMT";
    rtk_h1_head h = {
        r->pub.http_minor ? 200 : 204,   date, "text/plain", "X-A: b\r\n", r->pub.body_len,
        (r->flags & RTK_H1_R_CLOSE) != 0};
    size_t n = rtk_h1_head_size(&h);
    char *buf = rtk_xmalloc(n);
    size_t w = rtk_h1_head_write(&h, buf);
    assert(w == n && memcmp(buf + n - 4, "\r\n\r\n", 4) == 0);
    (void)w;
    free(buf);
}

static uint64_t next_rand(uint64_t *s)
{
    /* splitmix64: cheap, and every seed gives a full-period sequence */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static size_t piece_len(h1_split *sp, size_t off, size_t left)
{
    size_t n = left;
    switch (sp->kind) {
    case H1_CHUNKS: n = sp->n; break;
    case H1_CUT: n = off < sp->n ? sp->n - off : left; break;
    case H1_RANDOM: n = 1 + (size_t)(next_rand(&sp->seed) % (sp->n ? sp->n : 1)); break;
    default: break;
    }
    return n == 0 || n > left ? left : n;
}

void h1_feed(const rtk_h1_config *cfg, const char *in, size_t len, h1_split split, int refuse_after,
             h1_log *log)
{
    rtk_h1 p;
    rtk_h1_init(&p, cfg, "192.0.2.1");
    int nreq = 0;
    if (refuse_after == 0)
        rtk_h1_refuse_new(&p);
    size_t off = 0;
    while (off < len) {
        size_t end = off + piece_len(&split, off, len - off);
        /* Feed this piece until it is used up or the parse ends. */
        while (off < end) {
            rtk_h1_event ev;
            ssize_t n = rtk_h1_feed(&p, in + off, end - off, &ev);
            if (n == RTK_EAGAIN) {
                off = end;
                break;
            }
            if (n == -ECANCELED) {
                log_add(log, "CANCEL\n");
                goto out;
            }
            if (n < 0) {
                log_add(log, "ERR %d %s\n", ev.status, n == RTK_ETOOBIG ? "ETOOBIG" : "EPROTO");
                goto out;
            }
            off += (size_t)n;
            if (ev.kind == RTK_H1_CONTINUE) {
                log_add(log, "100 @%zu\n", off);
                continue;
            }
            assert(ev.kind == RTK_H1_REQUEST && ev.req != NULL);
            rtk_h1_req *r = ev.req;
            log_request(log, r, off);
            answer(r);
            int stopped = (r->flags & RTK_H1_R_STOPPED) != 0;
            rtk_h1_req_free(r);
            if (++nreq == refuse_after)
                rtk_h1_refuse_new(&p);
            if (stopped) {
                log_add(log, "REST %zu\n", len - off);
                goto out;
            }
        }
    }
    log_add(log, "MORE %s\n", rtk_h1_busy(&p) ? "busy" : "idle");
out:
    rtk_h1_clear(&p);
    if (log->text == NULL)
        log_add(log, "%s", "");
}
