/* SPDX-License-Identifier: MIT */
/* http_fake.c - fake requests for handler tests: the real parser, a recording owner. */
#include "support/http_fake.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/rtk_h1.h"
#include "util/rtk_err.h"

/* The fake's part of a request (its user area): the recorded response. */
struct fake_rec {
    int answered;
    char *resp; /* head and body, as they would have been sent */
    size_t len;
};

static const rtk_h1_config fake_cfg = {
    .max_head = RTK_H1_DEFAULT_MAX_HEAD,
    .max_body = RTK_H1_DEFAULT_MAX_BODY,
    .user_size = sizeof(struct fake_rec),
    .host_optional = 1,
};

static struct fake_rec *rec_of(rtk_h1_req *r)
{
    assert(r->user_off >= sizeof(struct fake_rec));
    return rtk_h1_req_user(r);
}

static void fake_respond(rtk_h1_req *r, int status, const char *content_type, const char *headers,
                         const void *body, size_t len)
{
    struct fake_rec *f = rec_of(r);
    assert(!f->answered && "one response per request");
    assert(status >= 100 && status <= 999);
    f->answered = 1;
    char date[RTK_H1_DATE_LEN + 1];
    rtk_h1_format_date((int64_t)time(NULL), date);
    rtk_h1_head h = {status, date, content_type, headers, len, (r->flags & RTK_H1_R_CLOSE) != 0};
    size_t hl = rtk_h1_head_size(&h), send = rtk_h1_body_sent(r, status, len);
    f->resp = rtk_xmalloc(hl + send);
    rtk_h1_head_write(&h, f->resp);
    if (send)
        memcpy(f->resp + hl, body, send);
    f->len = hl + send;
}

static int fake_upgrade(rtk_h1_req *r, const void *head, size_t head_len,
                        const struct rtk_http_raw_cbs *cbs, void *user, rtk_http_conn **out)
{
    struct fake_rec *f = rec_of(r);
    (void)cbs;
    (void)user;
    assert(r->pub.is_upgrade && "rtk_http_upgrade needs an upgrade request");
    assert(!f->answered && "one response per request");
    *out = NULL;
    f->answered = 1;
    f->resp = rtk_xmalloc(head_len ? head_len : 1);
    memcpy(f->resp, head, head_len);
    f->len = head_len;
    return UV_ENOTCONN;
}

static const rtk_http_owner fake_owner = {fake_respond, fake_upgrade};

int rtk_http_fake_new(const char *method, const char *target, const char *headers, const void *body,
                      size_t body_len, void *server_data, rtk_http_req **out)
{
    *out = NULL;
    size_t hlen = headers ? strlen(headers) : 0;
    size_t cap = strlen(method) + strlen(target) + hlen + body_len + 64;
    char *text = rtk_xmalloc(cap);
    int n = snprintf(text, cap, "%s %s HTTP/1.1\r\n%s", method, target, headers ? headers : "");
    if (body)
        n += snprintf(text + n, cap - (size_t)n, "Content-Length: %zu\r\n", body_len);
    n += snprintf(text + n, cap - (size_t)n, "\r\n");
    if (body)
        memcpy(text + n, body, body_len);
    size_t len = (size_t)n + (body ? body_len : 0), off = 0;

    rtk_h1 p;
    rtk_h1_init(&p, &fake_cfg, "127.0.0.1");
    rtk_h1_req *r = NULL;
    ssize_t rc;
    do { /* a CONTINUE event (Expect: 100-continue) is not answered here: go on */
        rtk_h1_event ev;
        rc = rtk_h1_feed(&p, text + off, len - off, &ev);
        if (rc >= 0) {
            off += (size_t)rc;
            r = ev.req;
        }
    } while (rc >= 0 && r == NULL);
    rtk_h1_clear(&p);
    free(text);
    if (r == NULL || off != len) { /* incomplete, malformed, or more than one request */
        rtk_h1_req_free(r);
        return rc == RTK_ETOOBIG ? RTK_ETOOBIG : RTK_EPROTO;
    }
    r->owner = &fake_owner;
    r->pub.server_data = server_data;
    *out = &r->pub;
    return 0;
}

static int head_status(const char *head, size_t len)
{
    if (len >= 12 && memcmp(head, "HTTP/1.", 7) == 0 && head[8] == ' ') {
        int s = 0;
        for (int i = 9; i < 12; i++) {
            if (head[i] < '0' || head[i] > '9')
                return 101;
            s = s * 10 + (head[i] - '0');
        }
        return s;
    }
    return 101;
}

int rtk_http_fake_response(const rtk_http_req *req, rtk_http_fake_resp *out)
{
    struct fake_rec *f = rec_of(rtk_h1_req_of((rtk_http_req *)req));
    assert(rtk_h1_req_of((rtk_http_req *)req)->owner == &fake_owner);
    memset(out, 0, sizeof(*out));
    if (!f->answered)
        return RTK_EAGAIN;
    const char *p = f->resp;
    size_t hl = 0;
    while (hl + 4 <= f->len && memcmp(p + hl, "\r\n\r\n", 4) != 0)
        hl++;
    out->status = head_status(p, f->len);
    out->head = p;
    out->head_len = hl + 4 <= f->len ? hl + 4 : f->len;
    if (out->head_len < f->len) {
        out->body = p + out->head_len;
        out->body_len = f->len - out->head_len;
    }
    return 0;
}

void rtk_http_fake_free(rtk_http_req *req)
{
    if (req == NULL)
        return;
    rtk_h1_req *r = rtk_h1_req_of(req);
    assert(r->owner == &fake_owner);
    free(rec_of(r)->resp);
    rtk_h1_req_free(r);
}
