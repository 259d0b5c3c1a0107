/* SPDX-License-Identifier: MIT */
/* rtk_h1.c - sans-I/O HTTP/1.1 request parsing on http-parser, strict framing, response heads. */
#include "http/rtk_h1.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/rtk_err.h"

#ifdef UV_H
#error "rtk_h1.c is sans-I/O: it must not see libuv"
#endif

enum { LAST_NONE, LAST_URL, LAST_FIELD, LAST_VALUE };
enum { PAUSE_NONE, PAUSE_MESSAGE, PAUSE_CONTINUE, PAUSE_TRAILERS };

/* The header array is built as offsets and read as rtk_http_header: both views must have the
 * same element size for the public array to be walkable. */
static_assert(sizeof(union rtk_h1__hdr) == sizeof(rtk_http_header), "header layout");
/* The user area in front of a request is a multiple of this, so the request stays aligned
 * (malloc returns blocks aligned for any type, 16 bytes on the platforms we build for). */
#define USER_ALIGN 16
static_assert(alignof(rtk_h1_req) <= USER_ALIGN, "request alignment");

/* Head bytes that the kept strings do not show: the request line's method, spaces and
 * version, and each header's ": " and CRLF. Counted so that max_head is close to the size
 * on the wire while only what is kept costs memory. */
#define REQ_LINE_OVERHEAD 12
#define HEADER_OVERHEAD 4
#define REQ_INITIAL_STR 1024 /* string area of a new request; most API heads fit */
/* See head_budget: what one head byte can add to head_bytes at most (a header "a:" LF is
 * three bytes and counts 1 + 1 + 1 + 4), and a margin for what the callbacks still owe from
 * before the call (the NUL of the last string and the overhead of a header). */
#define BUDGET_PER_BYTE 4
#define BUDGET_MARGIN 16

/* ---- status table ------------------------------------------------------------------------ */

const char *rtk_h1_status_text(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

/* ---- requests ---------------------------------------------------------------------------- */

static size_t user_off(const rtk_h1_config *cfg)
{
    size_t u = (cfg->user_size + USER_ALIGN - 1) / USER_ALIGN * USER_ALIGN;
    assert(u <= UINT16_MAX);
    return u;
}

static rtk_h1_req *at_offset(char *block, size_t off)
{
    return (rtk_h1_req *)(void *)(block + off);
}

rtk_h1_req *rtk_h1_req_new(const rtk_h1_config *cfg, const char *remote_ip)
{
    size_t u = user_off(cfg);
    char *block = rtk_xmalloc(u + sizeof(rtk_h1_req) + REQ_INITIAL_STR);
    memset(block, 0, u + sizeof(rtk_h1_req));
    rtk_h1_req *r = at_offset(block, u);
    r->user_off = (uint16_t)u;
    r->str_cap = REQ_INITIAL_STR;
    r->head_bytes = REQ_LINE_OVERHEAD;
    r->pub.method_str = "-";
    snprintf(r->remote_ip, sizeof(r->remote_ip), "%s", remote_ip ? remote_ip : "-");
    r->pub.remote_ip = r->remote_ip;
    return r;
}

void rtk_h1_req_free(rtk_h1_req *r)
{
    if (r == NULL)
        return;
    free(r->hdrs);
    free(r->body);
    free((char *)r - r->user_off);
}

rtk_h1_req *rtk_h1_req_of(rtk_http_req *req)
{
    return (rtk_h1_req *)(void *)req;
}

void *rtk_h1_req_user(rtk_h1_req *r)
{
    return (char *)r - r->user_off;
}

void rtk_h1_req_drop_data(rtk_h1_req *r)
{
    free(r->body);
    r->body = NULL;
    r->body_cap = 0;
    free(r->hdrs);
    r->hdrs = NULL;
    r->hdr_cap = 0;
    r->pub.headers = NULL;
    r->pub.nheaders = 0;
    r->pub.body = NULL;
}

/* Fails the parse from a callback with |status|; |at| is the first byte refused (see
 * run_parser: framing before it is still checked, so the earliest fault wins). */
static int cb_fail(rtk_h1 *p, int status, const char *at)
{
    p->status = status;
    p->err_at = at;
    return -1;
}

/* Appends |len| bytes at |src| to the current request's string area, counting them against
 * max_head; |pos| is where they are in the input (NULL: not known) for an error. The block
 * may move: p->cur is updated. */
static int str_add(rtk_h1 *p, const char *src, size_t len, const char *pos)
{
    rtk_h1_req *r = p->cur;
    r->head_bytes += len;
    if (r->head_bytes > p->cfg->max_head)
        return cb_fail(p, 431, pos);
    size_t need = r->str_len + len + 1;
    if (need > r->str_cap) {
        size_t cap = r->str_cap * 2, off = r->user_off;
        if (cap < need)
            cap = need;
        r = at_offset(rtk_xrealloc((char *)r - off, off + sizeof(*r) + cap), off);
        r->str_cap = cap;
        r->pub.remote_ip = r->remote_ip;
        p->cur = r;
    }
    memcpy(r->str + r->str_len, src, len);
    r->str_len += len;
    return 0;
}

static int str_append(rtk_h1 *p, const char *at, size_t len)
{
    return str_add(p, at, len, at);
}

/* Ends the string the last data callback was building: records its length and writes its
 * NUL. |at| is where the byte that ended it was seen (for an error). */
static int str_finish(rtk_h1 *p, const char *at)
{
    rtk_h1_req *r = p->cur;
    size_t n = r->pub.nheaders;
    switch (p->last) {
    case LAST_URL: r->pub.path_len = r->str_len; break; /* the whole target, split later */
    case LAST_FIELD: r->hdrs[n - 1].off.name_len = r->str_len - r->hdrs[n - 1].off.name; break;
    case LAST_VALUE:
        /* http-parser drops leading whitespace only; RFC 9110 5.5: OWS is not part of it. */
        while (r->str_len > r->hdrs[n - 1].off.value &&
               (r->str[r->str_len - 1] == ' ' || r->str[r->str_len - 1] == '\t'))
            r->str_len--;
        r->hdrs[n - 1].off.value_len = r->str_len - r->hdrs[n - 1].off.value;
        break;
    default: return 0;
    }
    if (str_add(p, "", 1, at) != 0)
        return -1;
    p->last = LAST_NONE;
    return 0;
}

/* Splits the request target at the start of the string area into path and query, in place:
 * the '?' and '#' become NULs. Absolute-form targets keep only their path. */
static void split_target(rtk_h1_req *r)
{
    char *u = r->str;
    size_t n = r->pub.path_len, start = 0, end, qend = 0;
    int has_query = 0;
    if (r->pub.method == HTTP_CONNECT || (n > 0 && u[0] == '*')) {
        r->pub.path = u; /* authority-form or asterisk-form: kept whole */
        return;
    }
    if (n > 0 && u[0] != '/') {
        struct http_parser_url pu;
        http_parser_url_init(&pu);
        if (http_parser_parse_url(u, n, 0, &pu) != 0 || !(pu.field_set & (1 << UF_PATH))) {
            r->pub.path = "/";
            r->pub.path_len = 1;
            if (http_parser_parse_url(u, n, 0, &pu) == 0 && (pu.field_set & (1 << UF_QUERY))) {
                start = pu.field_data[UF_QUERY].off;
                u[start + pu.field_data[UF_QUERY].len] = '\0';
                r->pub.query = u + start;
                r->pub.query_len = pu.field_data[UF_QUERY].len;
            }
            return;
        }
        start = pu.field_data[UF_PATH].off;
    }
    for (end = start; end < n && u[end] != '?' && u[end] != '#'; end++)
        ;
    if (end < n && u[end] == '?') {
        has_query = 1;
        for (qend = end + 1; qend < n && u[qend] != '#'; qend++)
            ;
        u[qend] = '\0';
    }
    u[end] = '\0';
    r->pub.path = u + start;
    r->pub.path_len = end - start;
    if (r->pub.path_len == 0) {
        r->pub.path = "/";
        r->pub.path_len = 1;
    }
    if (has_query) {
        r->pub.query = u + end + 1;
        r->pub.query_len = qend - end - 1;
    }
}

int rtk_http_list_next(const char *v, size_t len, size_t *pos, const char **elem, size_t *elem_len)
{
    size_t i = *pos;
    for (;;) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        if (i >= len) {
            *pos = i;
            return 0;
        }
        size_t start = i;
        while (i < len && v[i] != ',')
            i++;
        size_t end = i;
        while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
            end--;
        if (end > start) {
            *pos = i;
            *elem = v + start;
            *elem_len = end - start;
            return 1;
        }
    }
}

const char *rtk_http_req_header(const rtk_http_req *req, const char *name, size_t *len)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < req->nheaders; i++) {
        const rtk_http_header *h = &req->headers[i];
        if (h->name_len == n && strncasecmp(h->name, name, n) == 0) {
            if (len)
                *len = h->value_len;
            return h->value;
        }
    }
    return NULL;
}

/* ---- strictness that a lenient http-parser build lacks ----------------------------------- */

/*
 * Debian builds http-parser with HTTP_PARSER_STRICT=0, which skips several checks: the letters
 * of "HTTP/" in the request line, the LF after a CR at the end of the head, of a chunk-size
 * line and of the trailers, and the CRLF after chunk data ("2\r\n{}XX0\r\n" is read as a valid
 * body). Its header-value fast path also lets the first byte of a value through unchecked,
 * and its field-name check admits spaces. Framing that two parsers read differently is how
 * requests get smuggled past a proxy, so rtkd enforces RFC 9112 itself: the callbacks check
 * names, values and the version, and scan_framing checks every byte that is not body data.
 */

enum { SC_START, SC_METHOD, SC_SP1, SC_TARGET, SC_SP2, SC_VERSION, SC_REST };

static void scan_reset(rtk_h1 *p)
{
    p->scan = SC_START;
    p->scan_i = 0;
    p->pending_cr = 0;
    p->expect_crlf = 0;
}

/* Checks the framing bytes [from, to) of the current message (never body data): a CR is only
 * ever followed by LF (RFC 9112 2.2), the request line is "method SP target SP HTTP/..."
 * (RFC 9112 3), and chunk data is followed by exactly CRLF (RFC 9112 7.1). The parser checks
 * the rest. Returns 0, or -1 on a violation. */
static int scan_framing(rtk_h1 *p, const char *from, const char *to)
{
    for (const char *q = from; q < to; q++) {
        char ch = *q;
        if (p->expect_crlf) {
            if (ch != (p->expect_crlf == 2 ? '\r' : '\n'))
                return -1;
            p->expect_crlf--;
            continue;
        }
        if (p->pending_cr) {
            if (ch != '\n')
                return -1;
            p->pending_cr = 0;
        } else if (ch == '\r') {
            p->pending_cr = 1;
            continue;
        }
        switch (p->scan) {
        case SC_START: /* empty lines before a request are allowed (RFC 9112 2.2) */
            if (ch != '\n')
                p->scan = SC_METHOD;
            break;
        case SC_METHOD:
        case SC_TARGET:
            if (ch == '\n')
                return -1; /* a request line without a version: HTTP/0.9 is not spoken */
            if (ch == ' ')
                p->scan++;
            break;
        case SC_SP1:
            if (ch == '\n')
                return -1;
            if (ch != ' ')
                p->scan = SC_TARGET;
            break;
        case SC_SP2:
            if (ch == ' ')
                break;
            p->scan = SC_VERSION;
            p->scan_i = 0;
            /* fall through */
        case SC_VERSION:
            if (p->scan_i < 5) {
                if (ch != "HTTP/"[p->scan_i])
                    return -1;
                p->scan_i++;
            } else if (ch == '\n') {
                p->scan = SC_REST;
            }
            break;
        default: break;
        }
    }
    return 0;
}

/* RFC 9110 5.6.2: tchar. */
static int is_tchar(unsigned char ch)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
        return 1;
    return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* RFC 9110 5.5: a field value holds no CTL but HTAB. */
static int is_ctl(unsigned char ch)
{
    return (ch < 0x20 && ch != '\t') || ch == 0x7f;
}

/* ---- http-parser callbacks --------------------------------------------------------------- */

static rtk_h1 *h1_of(http_parser *hp)
{
    return hp->data;
}

static int on_message_begin(http_parser *hp)
{
    rtk_h1 *p = h1_of(hp);
    if (p->refuse) {
        p->rc = -ECANCELED;
        p->status = 0;
        return -1;
    }
    p->cur = rtk_h1_req_new(p->cfg, p->remote_ip);
    p->last = LAST_NONE;
    p->trailers = 0;
    return 0;
}

static int on_url(http_parser *hp, const char *at, size_t len)
{
    rtk_h1 *p = h1_of(hp);
    p->last = LAST_URL;
    return str_append(p, at, len);
}

/* Trailer fields after a chunked body arrive through the header callbacks again, once the
 * head's strings have become pointers that must not move. They are counted against max_head
 * (each field's bytes and one HEADER_OVERHEAD, however the bytes arrive) and dropped
 * (RFC 9112 7.1.2 lets a recipient discard them). */
static int skip_trailer(rtk_h1 *p, int what, const char *at, size_t len)
{
    rtk_h1_req *r = p->cur;
    if (what == LAST_FIELD && p->last != LAST_FIELD)
        r->head_bytes += HEADER_OVERHEAD;
    p->last = (uint8_t)what;
    r->head_bytes += len;
    if (r->head_bytes > p->cfg->max_head)
        return cb_fail(p, 431, at);
    return 0;
}

/* The first byte of |at|[0..|len|) that |bad| refuses, or |len|. */
static size_t first_bad(const char *at, size_t len, int (*bad)(unsigned char))
{
    size_t i = 0;
    while (i < len && !bad((unsigned char)at[i]))
        i++;
    return i;
}

static int not_tchar(unsigned char ch)
{
    return !is_tchar(ch);
}

static int on_header_field(http_parser *hp, const char *at, size_t len)
{
    rtk_h1 *p = h1_of(hp);
    /* Bytes before the first bad one still count, so that a head that is both too large and
     * malformed gets the answer for whichever fault comes first on the wire. */
    size_t ok = first_bad(at, len, not_tchar); /* e.g. "Host : x" (RFC 9112 5.1) */
    int rc;
    if (p->cur->flags & RTK_H1_R_HEAD_DONE) {
        rc = skip_trailer(p, LAST_FIELD, at, ok);
    } else {
        if (p->last != LAST_FIELD) {
            if (str_finish(p, at) != 0)
                return -1;
            rtk_h1_req *r = p->cur;
            r->head_bytes += HEADER_OVERHEAD;
            if (r->pub.nheaders == r->hdr_cap) {
                r->hdr_cap = r->hdr_cap ? r->hdr_cap * 2 : 16;
                r->hdrs = rtk_xrealloc(r->hdrs, r->hdr_cap * sizeof(*r->hdrs));
            }
            union rtk_h1__hdr *h = &r->hdrs[r->pub.nheaders++];
            memset(h, 0, sizeof(*h));
            h->off.name = r->str_len;
            p->last = LAST_FIELD;
        }
        rc = str_append(p, at, ok);
    }
    if (rc != 0)
        return rc;
    return ok < len ? cb_fail(p, 400, at + ok) : 0;
}

static int on_header_value(http_parser *hp, const char *at, size_t len)
{
    rtk_h1 *p = h1_of(hp);
    size_t ok = first_bad(at, len, is_ctl);
    int rc;
    if (p->cur->flags & RTK_H1_R_HEAD_DONE) {
        rc = skip_trailer(p, LAST_VALUE, at, ok);
    } else {
        if (p->last != LAST_VALUE) {
            if (str_finish(p, at) != 0)
                return -1;
            rtk_h1_req *r = p->cur;
            r->hdrs[r->pub.nheaders - 1].off.value = r->str_len;
            p->last = LAST_VALUE;
        }
        rc = str_append(p, at, ok);
    }
    if (rc != 0)
        return rc;
    return ok < len ? cb_fail(p, 400, at + ok) : 0;
}

/* Checks the transfer codings of a body that http-parser reads as chunked. RFC 9110 5.3: the
 * Transfer-Encoding lines of a message make one list; http-parser looks at each line alone,
 * so "chunked" on one line and "gzip" on a later one is chunked to it. RFC 9112 6.3: the
 * final coding must be chunked, else the length is unknown (400); 6.1: chunked is applied
 * once (400); and a coding before it that the server does not implement gets 501 - we
 * implement none (gzip, deflate, compress...). Returns 0 or the status to answer. */
static int check_codings(const rtk_http_req *q)
{
    size_t codings = 0, chunked = 0;
    int last_chunked = 0;
    for (size_t i = 0; i < q->nheaders; i++) {
        const rtk_http_header *h = &q->headers[i];
        if (h->name_len != 17 || strncasecmp(h->name, "Transfer-Encoding", 17) != 0)
            continue;
        size_t pos = 0, len;
        const char *e;
        while (rtk_http_list_next(h->value, h->value_len, &pos, &e, &len)) {
            codings++;
            last_chunked = len == 7 && strncasecmp(e, "chunked", 7) == 0;
            chunked += (size_t)last_chunked;
        }
    }
    if (!last_chunked || chunked > 1)
        return 400;
    return codings > 1 ? 501 : 0;
}

static int on_headers_complete(http_parser *hp)
{
    rtk_h1 *p = h1_of(hp);
    int was_field = p->last == LAST_FIELD;
    /* A notify callback sees no position: errors here are placed at the parser's stop (see
     * run_parser, err_at NULL). */
    if (str_finish(p, NULL) != 0)
        return -1;
    rtk_h1_req *r = p->cur;
    if (was_field) { /* a header with no value callback: give it an empty value */
        r->hdrs[r->pub.nheaders - 1].off.value = r->str_len;
        if (str_add(p, "", 1, NULL) != 0)
            return -1;
        r = p->cur;
    }
    /* The head is complete: the block no longer moves, so offsets become pointers. */
    for (size_t i = 0; i < r->pub.nheaders; i++) {
        union rtk_h1__hdr *h = &r->hdrs[i];
        size_t name = h->off.name, name_len = h->off.name_len;
        size_t value = h->off.value, value_len = h->off.value_len;
        h->h.name = r->str + name;
        h->h.name_len = name_len;
        h->h.value = r->str + value;
        h->h.value_len = value_len;
    }
    r->pub.headers = r->pub.nheaders ? &r->hdrs[0].h : NULL;
    r->pub.method = hp->method;
    r->pub.method_str = http_method_str((enum http_method)hp->method);
    r->pub.http_major = hp->http_major;
    r->pub.http_minor = hp->http_minor;
    r->pub.remote_ip = r->remote_ip;
    split_target(r);
    r->flags |= RTK_H1_R_HEAD_DONE;
    p->last = LAST_NONE;
    if (hp->http_major != 1) /* 0.9 has no headers or version; 2 and later are not HTTP/1 */
        return cb_fail(p, hp->http_major == 0 ? 400 : 505, NULL);
    /* RFC 9112 3.2: an HTTP/1.1 request without a Host header gets 400, and so does any
     * request with more than one Host line (two proxies may each read a different one). */
    size_t hosts = 0;
    for (size_t i = 0; i < r->pub.nheaders; i++)
        if (r->pub.headers[i].name_len == 4 && strncasecmp(r->pub.headers[i].name, "Host", 4) == 0)
            hosts++;
    if (hosts > 1 || (hosts == 0 && hp->http_minor >= 1 && !p->cfg->host_optional))
        return cb_fail(p, 400, NULL);

    int st = (hp->flags & F_CHUNKED) ? check_codings(&r->pub) : 0;
    if (st != 0)
        return cb_fail(p, st, NULL);

    /* Refuse a declared body over the limit before a byte of it is read (and before a
     * 100 Continue invites it). */
    int has_length = hp->content_length != ULLONG_MAX && !(hp->flags & F_CHUNKED);
    if (has_length && hp->content_length > p->cfg->max_body)
        return cb_fail(p, 413, NULL);
    int expects_body = (hp->flags & F_CHUNKED) || (has_length && hp->content_length > 0);
    size_t vlen;
    const char *v = rtk_http_req_header(&r->pub, "Expect", &vlen);
    /* RFC 9110 10.1.1: a 100 only if the body is wanted and the client speaks 1.1; whether
     * nothing is owed before it is the caller's to decide. Pausing here stops the parser
     * before the body, so the caller can answer before reading any of it. */
    if (v && vlen == 12 && strncasecmp(v, "100-continue", 12) == 0 && expects_body &&
        hp->http_minor >= 1) {
        p->pause = PAUSE_CONTINUE;
        http_parser_pause(hp, 1);
    }
    return 0;
}

static int on_body(http_parser *hp, const char *at, size_t len)
{
    rtk_h1 *p = h1_of(hp);
    /* Framing before this data is scanned now; the data itself never is. */
    if (scan_framing(p, p->scan_from, at) != 0)
        return cb_fail(p, 400, at);
    p->scan_from = at + len;
    if ((hp->flags & F_CHUNKED) && hp->content_length == 0)
        p->expect_crlf = 2; /* the chunk's data is complete */
    rtk_h1_req *r = p->cur;
    size_t max = p->cfg->max_body;
    if (len > max - r->pub.body_len)
        return cb_fail(p, 413, at); /* chunked bodies are checked here, as they accumulate */
    size_t need = r->pub.body_len + len + 1;
    if (need > r->body_cap) {
        /* Grow with what arrives rather than trusting Content-Length with one big
         * allocation: a client that announces 1 MiB and sends 10 bytes costs 4 KiB. */
        size_t cap = r->body_cap ? r->body_cap * 2 : 4096;
        if (cap < need)
            cap = need;
        if (cap > max + 1)
            cap = max + 1;
        r->body = rtk_xrealloc(r->body, cap);
        r->body_cap = cap;
    }
    memcpy(r->body + r->pub.body_len, at, len);
    r->pub.body_len += len;
    r->body[r->pub.body_len] = '\0';
    return 0;
}

static int on_chunk_header(http_parser *hp)
{
    rtk_h1 *p = h1_of(hp);
    if (hp->content_length == 0) {
        /* The last chunk: trailer fields follow, and count against max_head again. Pause, so
         * that rtk_h1_feed budgets what follows (see head_budget). */
        p->trailers = 1;
        p->pause = PAUSE_TRAILERS;
        http_parser_pause(hp, 1);
    }
    return 0;
}

static int on_message_complete(http_parser *hp)
{
    rtk_h1 *p = h1_of(hp);
    rtk_h1_req *r = p->cur;
    p->cur = NULL;
    p->done = r;
    r->pub.body = r->body;
    if (!http_should_keep_alive(hp))
        r->flags |= RTK_H1_R_CLOSE;
    if (hp->upgrade) {
        /* The parser stops here: what follows is another protocol (or a CONNECT tunnel). If
         * the handler answers with an ordinary response instead of upgrading, the
         * connection closes after it, as those bytes cannot be read as HTTP. */
        r->flags |= RTK_H1_R_STOPPED | RTK_H1_R_CLOSE;
        r->pub.is_upgrade = hp->method != HTTP_CONNECT;
    }
    /* Pause so that the caller handles the request outside http_parser_execute. */
    p->pause = PAUSE_MESSAGE;
    http_parser_pause(hp, 1);
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_chunk_header = on_chunk_header,
    .on_message_complete = on_message_complete,
};

/* ---- feeding ----------------------------------------------------------------------------- */

void rtk_h1_init(rtk_h1 *p, const rtk_h1_config *cfg, const char *remote_ip)
{
    assert(cfg->max_head > 0 && cfg->max_body > 0);
    memset(p, 0, sizeof(*p));
    http_parser_init(&p->parser, HTTP_REQUEST);
    p->parser.data = p;
    p->cfg = cfg;
    snprintf(p->remote_ip, sizeof(p->remote_ip), "%s", remote_ip ? remote_ip : "-");
}

void rtk_h1_clear(rtk_h1 *p)
{
    rtk_h1_req_free(p->cur);
    rtk_h1_req_free(p->done);
    p->cur = p->done = NULL;
}

int rtk_h1_busy(const rtk_h1 *p)
{
    return p->cur != NULL;
}

int rtk_h1_in_body(const rtk_h1 *p)
{
    return p->cur != NULL && (p->cur->flags & RTK_H1_R_HEAD_DONE);
}

size_t rtk_h1_body_mem(const rtk_h1 *p)
{
    if (!rtk_h1_in_body(p))
        return 0;
    const rtk_h1_req *r = p->cur;
    size_t mem = r->body_cap;
    const http_parser *hp = &p->parser;
    if (!(hp->flags & F_CHUNKED) && hp->content_length != ULLONG_MAX) {
        /* http-parser counts down what is left; body_len is what was delivered. Its buffer
         * will hold the sum and a NUL. */
        size_t declared = r->pub.body_len + (size_t)hp->content_length + 1;
        if (declared > mem)
            mem = declared;
    }
    return mem;
}

size_t rtk_h1_body_held(const rtk_h1 *p)
{
    return p->cur ? p->cur->body_cap : 0;
}

size_t rtk_h1_req_body_held(const rtk_h1_req *r)
{
    return r->body_cap;
}

void rtk_h1_refuse_new(rtk_h1 *p)
{
    p->refuse = 1;
}

rtk_h1_req *rtk_h1_take(rtk_h1 *p)
{
    rtk_h1_req *r = p->cur;
    p->cur = NULL;
    if (r == NULL)
        r = rtk_h1_req_new(p->cfg, p->remote_ip);
    r->pub.remote_ip = r->remote_ip;
    return r;
}

/*
 * How many bytes the next http_parser_execute call may see. The head limit is checked in the
 * data callbacks, which http-parser calls at the end of a string or of its input; a fault it
 * finds itself inside a string (a bad byte in a long header name) ends the call before the
 * callback for that string. So with the input cut in different places, a head that is both
 * too large and malformed could get 431 or 400 depending on where the cuts fell. To make the
 * answer depend on the bytes only, a call in the head (or the trailers) gets at most a
 * quarter of what is left of max_head, less a margin: no such call can go over the limit,
 * so its faults come first whatever the cuts; only the last few bytes before the limit are
 * parsed one call each, and there the callback runs for every byte. Normal heads (under a
 * quarter of the limit) are one call; bodies are not budgeted.
 */
static size_t head_budget(const rtk_h1 *p)
{
    const rtk_h1_req *r = p->cur;
    if (r != NULL && (r->flags & RTK_H1_R_HEAD_DONE) && !p->trailers)
        return SIZE_MAX;
    size_t used = r ? r->head_bytes : 0, max = p->cfg->max_head;
    if (used + BUDGET_MARGIN + BUDGET_PER_BYTE > max)
        return 1;
    return (max - used - BUDGET_MARGIN) / BUDGET_PER_BYTE;
}

static ssize_t fail(rtk_h1 *p, int status, rtk_h1_event *ev)
{
    p->status = status;
    p->rc = (status == 413 || status == 431) ? RTK_ETOOBIG : RTK_EPROTO;
    ev->kind = RTK_H1_NONE;
    ev->status = status;
    return p->rc;
}

/* Runs http-parser over |len| bytes at |data|, then scans the framing bytes it consumed, also
 * when it stopped on an error: a framing fault before the error is the first fault and wins
 * (answered 400). Returns the bytes consumed; sets *bad on a framing fault. */
static size_t run_parser(rtk_h1 *p, const char *data, size_t len, int *bad)
{
    p->scan_from = data;
    p->err_at = NULL;
    size_t n = http_parser_execute(&p->parser, &parser_settings, data, len);
    const char *end = data + n;
    if (p->err_at != NULL && p->err_at < end)
        end = p->err_at; /* a data callback refused this byte: scan up to it */
    if (end < p->scan_from)
        end = p->scan_from;
    *bad = scan_framing(p, p->scan_from, end) != 0;
    return n;
}

ssize_t rtk_h1_feed(rtk_h1 *p, const char *data, size_t len, rtk_h1_event *ev)
{
    ev->kind = RTK_H1_NONE;
    ev->status = p->status;
    ev->req = NULL;
    if (p->rc != 0)
        return p->rc;
    size_t off = 0;
    while (off < len) {
        size_t chunk = len - off, budget = head_budget(p);
        if (chunk > budget)
            chunk = budget;
        int bad;
        p->pause = PAUSE_NONE;
        p->status = 0;
        size_t n = run_parser(p, data + off, chunk, &bad);
        enum http_errno e = HTTP_PARSER_ERRNO(&p->parser);
        off += n;
        if (bad)
            return fail(p, 400, ev);
        if (e == HPE_OK) {
            if (n == 0) /* cannot happen for requests; do not spin if it does */
                return fail(p, 400, ev);
            continue;
        }
        if (e != HPE_PAUSED) {
            if (p->rc == -ECANCELED) {
                ev->status = 0;
                return p->rc;
            }
            return fail(p, p->status ? p->status : (e == HPE_HEADER_OVERFLOW ? 431 : 400), ev);
        }
        http_parser_pause(&p->parser, 0);
        switch (p->pause) {
        case PAUSE_CONTINUE: ev->kind = RTK_H1_CONTINUE; return (ssize_t)off;
        case PAUSE_MESSAGE:
            /* A message ended: the next one starts with its request line. */
            scan_reset(p);
            ev->kind = RTK_H1_REQUEST;
            ev->req = p->done;
            p->done = NULL;
            if (ev->req->flags & RTK_H1_R_STOPPED) {
                /* Nothing after it is HTTP: feeding again is refused. */
                p->status = 400;
                p->rc = RTK_EPROTO;
            }
            return (ssize_t)off;
        default: break; /* PAUSE_TRAILERS: go on, budgeted from here */
        }
    }
    return RTK_EAGAIN;
}

/* ---- responses --------------------------------------------------------------------------- */

void rtk_h1_format_date(int64_t unix_s, char out[RTK_H1_DATE_LEN + 1])
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, RTK_H1_DATE_LEN + 1, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static int bodyless(int status)
{
    return (status >= 100 && status < 200) || status == 204 || status == 304;
}

static size_t digits(size_t v)
{
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

#define LIT(s) (sizeof(s) - 1)

size_t rtk_h1_head_size(const rtk_h1_head *h)
{
    size_t n = LIT("HTTP/1.1 000 \r\nServer: rtkd\r\nDate: \r\n") +
               strlen(rtk_h1_status_text(h->status)) + strlen(h->date);
    if (!bodyless(h->status)) {
        if (h->content_type)
            n += LIT("Content-Type: \r\n") + strlen(h->content_type);
        n += LIT("Content-Length: \r\n") + digits(h->content_length);
    }
    n += h->close ? LIT("Connection: close\r\n") : LIT("Connection: keep-alive\r\n");
    if (h->headers)
        n += strlen(h->headers);
    return n + 2;
}

static char *put(char *w, const char *s, size_t len)
{
    memcpy(w, s, len);
    return w + len;
}

size_t rtk_h1_head_write(const rtk_h1_head *h, char *buf)
{
    assert(h->status >= 100 && h->status <= 999);
    const char *text = rtk_h1_status_text(h->status);
    char *w = buf;
    char num[24];
    int n = snprintf(num, sizeof(num), "%d", h->status);
    w = put(w, "HTTP/1.1 ", LIT("HTTP/1.1 "));
    w = put(w, num, (size_t)n);
    w = put(w, " ", 1);
    w = put(w, text, strlen(text));
    w = put(w, "\r\nServer: rtkd\r\nDate: ", LIT("\r\nServer: rtkd\r\nDate: "));
    w = put(w, h->date, strlen(h->date));
    w = put(w, "\r\n", 2);
    if (!bodyless(h->status)) {
        if (h->content_type) {
            w = put(w, "Content-Type: ", LIT("Content-Type: "));
            w = put(w, h->content_type, strlen(h->content_type));
            w = put(w, "\r\n", 2);
        }
        n = snprintf(num, sizeof(num), "%zu", h->content_length);
        w = put(w, "Content-Length: ", LIT("Content-Length: "));
        w = put(w, num, (size_t)n);
        w = put(w, "\r\n", 2);
    }
    if (h->close)
        w = put(w, "Connection: close\r\n", LIT("Connection: close\r\n"));
    else
        w = put(w, "Connection: keep-alive\r\n", LIT("Connection: keep-alive\r\n"));
    if (h->headers) {
        size_t hl = strlen(h->headers);
        assert(hl == 0 || (hl >= 2 && memcmp(h->headers + hl - 2, "\r\n", 2) == 0));
        w = put(w, h->headers, hl);
    }
    w = put(w, "\r\n", 2);
    assert((size_t)(w - buf) == rtk_h1_head_size(h));
    return (size_t)(w - buf);
}

size_t rtk_h1_body_sent(const rtk_h1_req *r, int status, size_t len)
{
    int head_only = (r->flags & RTK_H1_R_HEAD_DONE) && r->pub.method == HTTP_HEAD;
    return (bodyless(status) || head_only) ? 0 : len;
}
