/* SPDX-License-Identifier: MIT */
/* rtk_http.c - HTTP/1.1 server connections: parsing, ordered responses, limits, upgrades. */
#include "net/rtk_http.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/rtk_http_int.h"
#include "util/rtk_err.h"

#define CONTAINER_OF(ptr, type, field) ((type *)(void *)((char *)(ptr)-offsetof(type, field)))

enum { LAST_NONE, LAST_URL, LAST_FIELD, LAST_VALUE };

/* The header array is built as offsets and read as rtk_http_header: both views must have the
 * same element size for the public array to be walkable. */
static_assert(sizeof(union rtk_http__hdr) == sizeof(rtk_http_header), "header layout");

/* Head bytes that the kept strings do not show: the request line's method, spaces and
 * version, and each header's ": " and CRLF. Counted so that max_head is close to the size
 * on the wire while only what is kept costs memory. */
#define REQ_LINE_OVERHEAD 12
#define HEADER_OVERHEAD 4
#define REQ_INITIAL_STR 1024 /* string area of a new request; most API heads fit */
#define ERR_QUIET (-1)       /* ps->err: stop parsing, answer nothing */

typedef struct rtk_http__req req_t;
typedef struct rtk_http__ps ps_t;
typedef struct rtk_http__wr wr_t;

static void on_timer(uv_timer_t *t);
static void on_idle(uv_idle_t *h);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void begin_close(rtk_http_conn *c);
static void begin_close_ex(rtk_http_conn *c, int await_last);
static void close_now(rtk_http_conn *c);
static void start_shutdown(rtk_http_conn *c);
static void write_queue(rtk_http_conn *c);
static void maybe_finish_stop(rtk_http_server *srv);
static int under_limits(const rtk_http_conn *c);

/* ---- status table ------------------------------------------------------------------------ */

const char *rtk_http_status_text(int status)
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

/* The message of the errors this layer answers by itself, in the RealtimeKit envelope. */
static const char *error_message(int status)
{
    switch (status) {
    case 408: return "Request timeout";
    case 413: return "Request body too large";
    case 431: return "Request header fields too large";
    case 505: return "HTTP version not supported";
    default: return "Malformed request";
    }
}

static rtk_http_server *server_of(const rtk_http_conn *c)
{
    return c->tcp.data;
}

/* ---- connection lists and the one timer -------------------------------------------------- */

static uint64_t list_timeout(const rtk_http_server *srv, int id)
{
    switch (id) {
    case RTK_HTTP__L_HEAD: return srv->cfg.head_timeout_ms;
    case RTK_HTTP__L_IDLE: return srv->cfg.keepalive_timeout_ms;
    case RTK_HTTP__L_CLOSING: return srv->cfg.linger_ms;
    default: return 0;
    }
}

static int list_timed(int id)
{
    return id == RTK_HTTP__L_HEAD || id == RTK_HTTP__L_IDLE || id == RTK_HTTP__L_CLOSING;
}

static void arm_timer(rtk_http_server *srv, uint64_t deadline)
{
    if (uv_is_active((uv_handle_t *)&srv->timer) && srv->timer_due <= deadline)
        return;
    uint64_t now = uv_now(srv->loop);
    srv->timer_due = deadline;
    uv_timer_start(&srv->timer, on_timer, deadline > now ? deadline - now : 0, 0);
}

static void list_remove(rtk_http_server *srv, rtk_http_conn *c)
{
    if (c->list == RTK_HTTP__L_NONE)
        return;
    struct rtk_http__list *l = &srv->lists[c->list];
    if (c->prev)
        c->prev->next = c->next;
    else
        l->first = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l->last = c->prev;
    c->prev = c->next = NULL;
    c->list = RTK_HTTP__L_NONE;
}

/* Moves |c| to the tail of list |id|. On a timed list this sets a fresh deadline; the list
 * stays sorted because every member got the same timeout. */
static void list_put(rtk_http_server *srv, rtk_http_conn *c, int id)
{
    list_remove(srv, c);
    if (id == RTK_HTTP__L_NONE)
        return;
    struct rtk_http__list *l = &srv->lists[id];
    c->prev = l->last;
    c->next = NULL;
    if (l->last)
        l->last->next = c;
    else
        l->first = c;
    l->last = c;
    c->list = (uint8_t)id;
    if (list_timed(id)) {
        c->t.deadline = uv_now(srv->loop) + list_timeout(srv, id);
        arm_timer(srv, c->t.deadline);
    } else if (id == RTK_HTTP__L_DEFER && !uv_is_active((uv_handle_t *)&srv->idle)) {
        uv_idle_start(&srv->idle, on_idle);
    }
}

/* ---- reading ----------------------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    rtk_http_server *srv = h->data;
    (void)suggested;
    /* One buffer for every connection: libuv calls alloc and read back to back for one
     * stream, and nothing here keeps a pointer into it after on_read returns. */
    buf->base = srv->rbuf;
    buf->len = sizeof(srv->rbuf);
}

static void read_start(rtk_http_conn *c)
{
    if (c->flags & (RTK_HTTP__C_READING | RTK_HTTP__C_CLOSED | RTK_HTTP__C_PEER_EOF))
        return;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
        c->flags |= RTK_HTTP__C_READING;
}

static void read_stop(rtk_http_conn *c)
{
    if (!(c->flags & RTK_HTTP__C_READING))
        return;
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->flags &= ~RTK_HTTP__C_READING;
}

static struct rtk_http__stash *stash_new(const char *data, size_t len)
{
    struct rtk_http__stash *s = rtk_xmalloc(sizeof(*s) + len);
    s->len = len;
    memcpy(s->data, data, len);
    return s;
}

/* ---- requests ---------------------------------------------------------------------------- */

static req_t *req_new(rtk_http_conn *c, const ps_t *ps)
{
    req_t *r = rtk_xmalloc(sizeof(*r) + REQ_INITIAL_STR);
    memset(r, 0, sizeof(*r));
    r->srv = server_of(c);
    r->conn = c;
    r->start_ns = uv_hrtime();
    r->str_cap = REQ_INITIAL_STR;
    r->head_bytes = REQ_LINE_OVERHEAD;
    r->pub.method_str = "-";
    r->pub.server_data = r->srv->data;
    snprintf(r->remote_ip, sizeof(r->remote_ip), "%s", ps ? ps->remote_ip : "-");
    r->pub.remote_ip = r->remote_ip;
    return r;
}

static void req_free(req_t *r)
{
    if (r == NULL)
        return;
    free(r->resp);
    free(r->hdrs);
    free(r->body);
    free(r);
}

/* Appends |len| bytes to the current request's string area, counting them against
 * max_head. The block may move: ps->cur is updated. */
static int str_append(ps_t *ps, const char *at, size_t len)
{
    req_t *r = ps->cur;
    r->head_bytes += len;
    if (r->head_bytes > r->srv->cfg.max_head) {
        ps->err = 431;
        return -1;
    }
    size_t need = r->str_len + len + 1;
    if (need > r->str_cap) {
        size_t cap = r->str_cap * 2;
        if (cap < need)
            cap = need;
        r = rtk_xrealloc(r, sizeof(*r) + cap);
        r->str_cap = cap;
        r->pub.remote_ip = r->remote_ip;
        ps->cur = r;
    }
    memcpy(r->str + r->str_len, at, len);
    r->str_len += len;
    return 0;
}

/* Ends the string the last data callback was building: records its length and writes its
 * NUL. */
static int str_finish(ps_t *ps)
{
    req_t *r = ps->cur;
    size_t n = r->pub.nheaders;
    switch (ps->last) {
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
    if (str_append(ps, "", 1) != 0)
        return -1;
    ps->last = LAST_NONE;
    return 0;
}

/* Splits the request target at the start of the string area into path and query, in place:
 * the '?' and '#' become NULs. Absolute-form targets keep only their path. */
static void split_target(req_t *r)
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

int rtk_http_list_next(const char *v, size_t len, size_t *pos, const char **elem,
                       size_t *elem_len)
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

/* ---- parse state ------------------------------------------------------------------------- */

static void peer_ip(rtk_http_conn *c, char *out, size_t size)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    snprintf(out, size, "-");
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)size);
    } else if (ss.ss_family == AF_INET6) {
        const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) /* a dual-stack listener: show the IPv4 form */
            inet_ntop(AF_INET, &a->s6_addr[12], out, (socklen_t)size);
        else
            inet_ntop(AF_INET6, a, out, (socklen_t)size);
    }
}

static ps_t *ps_new(rtk_http_conn *c)
{
    ps_t *ps = rtk_xcalloc(1, sizeof(*ps));
    http_parser_init(&ps->parser, HTTP_REQUEST);
    ps->parser.data = c;
    peer_ip(c, ps->remote_ip, sizeof(ps->remote_ip));
    c->u.http.ps = ps;
    return ps;
}

static void ps_free(rtk_http_conn *c)
{
    ps_t *ps = c->u.http.ps;
    if (ps == NULL)
        return;
    req_free(ps->cur);
    req_free(ps->done);
    free(ps->stash);
    free(ps);
    c->u.http.ps = NULL;
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

static void scan_reset(ps_t *ps)
{
    ps->scan = SC_START;
    ps->scan_i = 0;
    ps->pending_cr = 0;
    ps->expect_crlf = 0;
}

/* Checks the framing bytes [from, to) of the current message (never body data): a CR is only
 * ever followed by LF (RFC 9112 2.2), the request line is "method SP target SP HTTP/..."
 * (RFC 9112 3), and chunk data is followed by exactly CRLF (RFC 9112 7.1). The parser checks
 * the rest. Returns 0, or -1 on a violation. */
static int scan_framing(ps_t *ps, const char *from, const char *to)
{
    for (const char *q = from; q < to; q++) {
        char ch = *q;
        if (ps->expect_crlf) {
            if (ch != (ps->expect_crlf == 2 ? '\r' : '\n'))
                return -1;
            ps->expect_crlf--;
            continue;
        }
        if (ps->pending_cr) {
            if (ch != '\n')
                return -1;
            ps->pending_cr = 0;
        } else if (ch == '\r') {
            ps->pending_cr = 1;
            continue;
        }
        switch (ps->scan) {
        case SC_START: /* empty lines before a request are allowed (RFC 9112 2.2) */
            if (ch != '\n')
                ps->scan = SC_METHOD;
            break;
        case SC_METHOD:
        case SC_TARGET:
            if (ch == '\n')
                return -1; /* a request line without a version: HTTP/0.9 is not spoken */
            if (ch == ' ')
                ps->scan++;
            break;
        case SC_SP1:
            if (ch == '\n')
                return -1;
            if (ch != ' ')
                ps->scan = SC_TARGET;
            break;
        case SC_SP2:
            if (ch == ' ')
                break;
            ps->scan = SC_VERSION;
            ps->scan_i = 0;
            /* fall through */
        case SC_VERSION:
            if (ps->scan_i < 5) {
                if (ch != "HTTP/"[ps->scan_i])
                    return -1;
                ps->scan_i++;
            } else if (ch == '\n') {
                ps->scan = SC_REST;
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

/* ---- http-parser callbacks --------------------------------------------------------------- */

static ps_t *ps_of(http_parser *p)
{
    rtk_http_conn *c = p->data;
    return c->u.http.ps;
}

static int on_message_begin(http_parser *p)
{
    rtk_http_conn *c = p->data;
    ps_t *ps = c->u.http.ps;
    if (server_of(c)->stopping) {
        /* A request begun after rtk_http_server_stop is not served: the connection closes
         * once the answers already owed have left. */
        ps->err = ERR_QUIET;
        return -1;
    }
    ps->cur = req_new(c, ps);
    ps->last = LAST_NONE;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    ps_t *ps = ps_of(p);
    ps->last = LAST_URL;
    return str_append(ps, at, len);
}

/* Trailer fields after a chunked body arrive through the header callbacks again, once the
 * head's strings have become pointers that must not move. They are counted against max_head
 * and dropped (RFC 9112 7.1.2 lets a recipient discard them). */
static int skip_trailer(ps_t *ps, size_t len)
{
    req_t *r = ps->cur;
    r->head_bytes += len + HEADER_OVERHEAD / 2;
    if (r->head_bytes > r->srv->cfg.max_head) {
        ps->err = 431;
        return -1;
    }
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    ps_t *ps = ps_of(p);
    for (size_t i = 0; i < len; i++) {
        if (!is_tchar((unsigned char)at[i])) { /* e.g. "Host : x" (RFC 9112 5.1) */
            ps->err = 400;
            return -1;
        }
    }
    if (ps->cur->flags & RTK_HTTP__R_HEADERS_DONE)
        return skip_trailer(ps, len);
    if (ps->last != LAST_FIELD) {
        if (str_finish(ps) != 0)
            return -1;
        req_t *r = ps->cur;
        r->head_bytes += HEADER_OVERHEAD;
        if (r->pub.nheaders == r->hdr_cap) {
            r->hdr_cap = r->hdr_cap ? r->hdr_cap * 2 : 16;
            r->hdrs = rtk_xrealloc(r->hdrs, r->hdr_cap * sizeof(*r->hdrs));
        }
        union rtk_http__hdr *h = &r->hdrs[r->pub.nheaders++];
        memset(h, 0, sizeof(*h));
        h->off.name = r->str_len;
        ps->last = LAST_FIELD;
    }
    return str_append(ps, at, len);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    ps_t *ps = ps_of(p);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)at[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) { /* RFC 9110 5.5: no CTL but HTAB */
            ps->err = 400;
            return -1;
        }
    }
    if (ps->cur->flags & RTK_HTTP__R_HEADERS_DONE)
        return skip_trailer(ps, len);
    if (ps->last != LAST_VALUE) {
        if (str_finish(ps) != 0)
            return -1;
        req_t *r = ps->cur;
        r->hdrs[r->pub.nheaders - 1].off.value = r->str_len;
        ps->last = LAST_VALUE;
    }
    return str_append(ps, at, len);
}

static void send_continue(rtk_http_conn *c);

static int on_headers_complete(http_parser *p)
{
    rtk_http_conn *c = p->data;
    ps_t *ps = c->u.http.ps;
    int was_field = ps->last == LAST_FIELD;
    if (str_finish(ps) != 0)
        return -1;
    req_t *r = ps->cur;
    if (was_field) { /* a header with no value callback: give it an empty value */
        r->hdrs[r->pub.nheaders - 1].off.value = r->str_len;
        if (str_append(ps, "", 1) != 0)
            return -1;
        r = ps->cur;
    }
    /* The head is complete: the block no longer moves, so offsets become pointers. */
    for (size_t i = 0; i < r->pub.nheaders; i++) {
        union rtk_http__hdr *h = &r->hdrs[i];
        size_t name = h->off.name, name_len = h->off.name_len;
        size_t value = h->off.value, value_len = h->off.value_len;
        h->h.name = r->str + name;
        h->h.name_len = name_len;
        h->h.value = r->str + value;
        h->h.value_len = value_len;
    }
    r->pub.headers = r->pub.nheaders ? &r->hdrs[0].h : NULL;
    r->pub.method = p->method;
    r->pub.method_str = http_method_str((enum http_method)p->method);
    r->pub.http_major = p->http_major;
    r->pub.http_minor = p->http_minor;
    r->pub.remote_ip = r->remote_ip;
    split_target(r);
    r->flags |= RTK_HTTP__R_HEADERS_DONE;
    if (p->http_major != 1) { /* 0.9 has no headers or version; 2 and later are not HTTP/1 */
        ps->err = p->http_major == 0 ? 400 : 505;
        return -1;
    }
    /* RFC 9112 3.2: an HTTP/1.1 request without a Host header gets 400. */
    if (p->http_minor >= 1 && !(c->flags & RTK_HTTP__C_FAKE) &&
        rtk_http_req_header(&r->pub, "Host", NULL) == NULL) {
        ps->err = 400;
        return -1;
    }

    /* Refuse a declared body over the limit before a byte of it is read (and before a
     * 100 Continue invites it). */
    int has_length = p->content_length != ULLONG_MAX && !(p->flags & F_CHUNKED);
    if (has_length && p->content_length > r->srv->cfg.max_body) {
        ps->err = 413;
        return -1;
    }
    int expects_body = (p->flags & F_CHUNKED) || (has_length && p->content_length > 0);
    size_t vlen;
    const char *v = rtk_http_req_header(&r->pub, "Expect", &vlen);
    /* RFC 9110 10.1.1: answer 100 only if the body is wanted and nothing is owed before it
     * (an interim response must not overtake the answers to earlier pipelined requests). */
    if (v && vlen == 12 && strncasecmp(v, "100-continue", 12) == 0 && expects_body &&
        p->http_major == 1 && p->http_minor >= 1 && c->count == 0 && !(c->flags & RTK_HTTP__C_FAKE))
        send_continue(c);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    ps_t *ps = ps_of(p);
    /* Framing before this data is scanned now; the data itself never is. */
    if (scan_framing(ps, ps->scan_from, at) != 0) {
        ps->err = 400;
        return -1;
    }
    ps->scan_from = at + len;
    if ((p->flags & F_CHUNKED) && p->content_length == 0)
        ps->expect_crlf = 2; /* the chunk's data is complete */
    req_t *r = ps->cur;
    size_t max = r->srv->cfg.max_body;
    if (len > max - r->pub.body_len) {
        ps->err = 413; /* chunked bodies are checked here, as they accumulate */
        return -1;
    }
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

static int on_message_complete(http_parser *p)
{
    ps_t *ps = ps_of(p);
    req_t *r = ps->cur;
    ps->cur = NULL;
    ps->done = r;
    r->pub.body = r->body;
    if (!http_should_keep_alive(p))
        r->flags |= RTK_HTTP__R_CLOSE;
    if (p->upgrade) {
        /* The parser stops here: what follows is another protocol (or a CONNECT tunnel). If
         * the handler answers with an ordinary response instead of upgrading, the
         * connection closes after it, as those bytes cannot be read as HTTP. */
        r->flags |= RTK_HTTP__R_PARSER_UP | RTK_HTTP__R_CLOSE;
        r->pub.is_upgrade = p->method != HTTP_CONNECT;
    }
    /* Pause so that the handler runs outside http_parser_execute (see feed). */
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* Runs the parser over |len| bytes at |data| and scans the framing it consumed. Returns the
 * bytes consumed; a framing violation leaves the parser's errno alone and sets *bad. */
static size_t run_parser(ps_t *ps, const char *data, size_t len, int *bad)
{
    ps->scan_from = data;
    size_t n = http_parser_execute(&ps->parser, &parser_settings, data, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&ps->parser);
    *bad = 0;
    if ((e == HPE_OK || e == HPE_PAUSED) && scan_framing(ps, ps->scan_from, data + n) != 0)
        *bad = 1;
    if (e == HPE_PAUSED)
        scan_reset(ps); /* a message ended: the next one starts with its request line */
    return n;
}

/* ---- responses --------------------------------------------------------------------------- */

static const char *http_date(rtk_http_server *srv)
{
    time_t now = time(NULL);
    if (now != srv->date_sec) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(srv->date, sizeof(srv->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        srv->date_sec = now;
    }
    return srv->date;
}

static void access_log(const req_t *r, int status, size_t bytes)
{
    if (!r->srv->cfg.access_log)
        return;
    /* The path only: a query may hold a participant token. Bytes outside printable ASCII
     * are escaped so that a line stays one line. */
    char path[256];
    size_t n = 0;
    const char *p = r->pub.path ? r->pub.path : "-";
    size_t plen = r->pub.path ? r->pub.path_len : 1;
    for (size_t i = 0; i < plen && n + 4 < sizeof(path); i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch > 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
            path[n++] = (char)ch;
        else
            n += (size_t)snprintf(path + n, sizeof(path) - n, "%%%02X", ch);
    }
    path[n] = '\0';
    double ms = (double)(uv_hrtime() - r->start_ns) / 1e6;
    char line[512];
    int len =
        snprintf(line, sizeof(line), "access ip=%s method=%s path=%s status=%d bytes=%zu ms=%.3f\n",
                 r->remote_ip, r->pub.method_str, path, status, bytes, ms);
    if (len > (int)sizeof(line) - 1)
        len = (int)sizeof(line) - 1;
    fwrite(line, 1, (size_t)len, stderr);
}

static wr_t *wr_new(size_t cap)
{
    wr_t *w = rtk_xmalloc(sizeof(*w) + cap);
    w->done = NULL;
    w->arg = NULL;
    w->len = 0;
    w->close_after = 0;
    return w;
}

static void wr_add(wr_t *w, size_t cap, const char *s, size_t len)
{
    assert(w->len + len <= cap);
    (void)cap;
    memcpy(w->data + w->len, s, len);
    w->len += len;
}

static wr_t *build_response(rtk_http_server *srv, const req_t *r, int status, const char *ctype,
                            const char *headers, const void *body, size_t len, int close)
{
    int bodyless = (status >= 100 && status < 200) || status == 204 || status == 304;
    int head_only = (r->flags & RTK_HTTP__R_HEADERS_DONE) && r->pub.method == HTTP_HEAD;
    size_t send = (bodyless || head_only) ? 0 : len;
    size_t clen = ctype ? strlen(ctype) : 0, hlen = headers ? strlen(headers) : 0;
    assert(hlen == 0 || (hlen >= 2 && memcmp(headers + hlen - 2, "\r\n", 2) == 0));
    size_t cap = 192 + strlen(rtk_http_status_text(status)) + clen + hlen + send;
    wr_t *w = wr_new(cap);
    char line[160]; /* the longest status text and a Date fit with room to spare */
    int n = snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\nServer: rtkd\r\nDate: %s\r\n", status,
                     rtk_http_status_text(status), http_date(srv));
    assert(n > 0 && (size_t)n < sizeof(line));
    wr_add(w, cap, line, (size_t)n);
    if (ctype && !bodyless) {
        wr_add(w, cap, "Content-Type: ", 14);
        wr_add(w, cap, ctype, clen);
        wr_add(w, cap, "\r\n", 2);
    }
    if (!bodyless) {
        n = snprintf(line, sizeof(line), "Content-Length: %zu\r\n", len);
        wr_add(w, cap, line, (size_t)n);
    }
    if (close)
        wr_add(w, cap, "Connection: close\r\n", 19);
    else
        wr_add(w, cap, "Connection: keep-alive\r\n", 24);
    if (hlen)
        wr_add(w, cap, headers, hlen);
    wr_add(w, cap, "\r\n", 2);
    if (send)
        wr_add(w, cap, body, send);
    w->close_after = close;
    return w;
}

static void on_written(uv_write_t *req, int status)
{
    wr_t *w = CONTAINER_OF(req, wr_t, w);
    rtk_http_conn *c = req->data;
    void (*done)(void *, int) = w->done;
    void *arg = w->arg;
    free(w);
    if (done)
        done(arg, status);
    /* The connection is still allocated: libuv runs write callbacks before close callbacks. */
    if (status < 0 && status != UV_ECANCELED)
        close_now(c);
    else if (c->mode == RTK_HTTP__M_HTTP && (c->flags & RTK_HTTP__C_BLOCKED) &&
             !(c->flags & (RTK_HTTP__C_CLOSING | RTK_HTTP__C_CLOSED)) && under_limits(c))
        list_put(server_of(c), c, RTK_HTTP__L_DEFER); /* resume reading */
}

/* Queues |w| on |c|; frees it and returns the error if libuv refuses it. */
static int submit_write(rtk_http_conn *c, wr_t *w, const char *base)
{
    uv_buf_t b = uv_buf_init((char *)base, (unsigned int)w->len);
    w->w.data = c;
    int rc = uv_write(&w->w, (uv_stream_t *)&c->tcp, &b, 1, on_written);
    if (rc != 0)
        free(w);
    return rc;
}

static void send_continue(rtk_http_conn *c)
{
    static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";
    wr_t *w = wr_new(sizeof(msg) - 1);
    wr_add(w, sizeof(msg) - 1, msg, sizeof(msg) - 1);
    (void)submit_write(c, w, w->data); /* a failure shows up on the next write or read */
}

static void enqueue(rtk_http_conn *c, req_t *r)
{
    r->next = NULL;
    if (c->u.http.qtail)
        c->u.http.qtail->next = r;
    else
        c->u.http.qhead = r;
    c->u.http.qtail = r;
    c->count++;
}

static size_t unsent(const rtk_http_conn *c)
{
    return uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp);
}

static int over_limits(const rtk_http_conn *c)
{
    return c->count >= RTK_HTTP__MAX_PIPELINE || unsent(c) > RTK_HTTP__WRITE_HIGH;
}

static int under_limits(const rtk_http_conn *c)
{
    return c->count <= RTK_HTTP__MAX_PIPELINE / 2 && unsent(c) <= RTK_HTTP__WRITE_HIGH / 4;
}

/* Stops reading on |c| until under_limits (see http_deferred). */
static void block(rtk_http_conn *c)
{
    c->flags |= RTK_HTTP__C_BLOCKED;
    read_stop(c);
}

/* Drops every queued request: those a handler still holds are detached (their response will
 * be dropped), the others are freed. */
static void detach_queue(rtk_http_conn *c)
{
    req_t *r = c->u.http.qhead, *next;
    for (; r; r = next) {
        next = r->next;
        r->next = NULL;
        if ((r->flags & RTK_HTTP__R_DISPATCHED) && !(r->flags & RTK_HTTP__R_RESPONDED))
            r->conn = NULL;
        else
            req_free(r);
    }
    c->u.http.qhead = c->u.http.qtail = NULL;
    c->count = 0;
}

static void update_list(rtk_http_conn *c, int refresh_body);

/* Writes every response that is next in order, then decides what the connection does. */
static void write_queue(rtk_http_conn *c)
{
    req_t *r;
    while ((r = c->u.http.qhead) != NULL && r->resp != NULL) {
        wr_t *w = r->resp;
        r->resp = NULL;
        c->u.http.qhead = r->next;
        if (c->u.http.qhead == NULL)
            c->u.http.qtail = NULL;
        c->count--;
        req_free(r);
        int close = w->close_after;
        if (submit_write(c, w, w->data) != 0) {
            close_now(c);
            return;
        }
        if (close) {
            begin_close(c);
            return;
        }
    }
    ps_t *ps = c->u.http.ps;
    r = c->u.http.qhead;
    if (!(c->flags & (RTK_HTTP__C_BLOCKED | RTK_HTTP__C_NO_MORE)) &&
        unsent(c) > RTK_HTTP__WRITE_HIGH)
        block(c); /* the client does not read: stop taking requests from it */
    if ((r && !(r->flags & RTK_HTTP__R_DISPATCHED)) ||
        ((c->flags & RTK_HTTP__C_BLOCKED) && under_limits(c))) {
        /* Next turn: dispatch an upgrade request that reached the head, or resume reading. */
        list_put(server_of(c), c, RTK_HTTP__L_DEFER);
    } else if (c->count == 0 && (c->flags & (RTK_HTTP__C_NO_MORE | RTK_HTTP__C_PEER_EOF)) &&
               !(ps && ps->cur)) {
        begin_close(c);
    } else {
        update_list(c, 0);
    }
}

void rtk_http_respond(rtk_http_req *req, int status, const char *content_type, const char *headers,
                      const void *body, size_t len)
{
    req_t *r = (req_t *)req;
    assert(!(r->flags & RTK_HTTP__R_RESPONDED) && "one response per request");
    assert(status >= 100 && status <= 999);
    r->flags |= RTK_HTTP__R_RESPONDED;
    access_log(r, status, len);
    if (r->flags & RTK_HTTP__R_FAKE) {
        r->resp = build_response(r->srv, r, status, content_type, headers, body, len,
                                 (r->flags & RTK_HTTP__R_CLOSE) != 0);
        return;
    }
    rtk_http_conn *c = r->conn;
    if (c == NULL) { /* the client has gone */
        req_free(r);
        return;
    }
    rtk_http_server *srv = server_of(c);
    ps_t *ps = c->u.http.ps;
    /* Close after this response if the request asked for it, or if nothing may follow it
     * (server stopping, peer half-closed, parsing stopped) and nothing is owed after it. */
    int last = r->next == NULL && !(ps && ps->cur);
    int close =
        (r->flags & RTK_HTTP__R_CLOSE) ||
        (last && (srv->stopping || (c->flags & (RTK_HTTP__C_NO_MORE | RTK_HTTP__C_PEER_EOF))));
    r->resp = build_response(srv, r, status, content_type, headers, body, len, close);
    /* The request's data is no longer needed: free it now even if the response must wait. */
    free(r->body);
    r->body = NULL;
    free(r->hdrs);
    r->hdrs = NULL;
    r->pub.headers = NULL;
    r->pub.nheaders = 0;
    r->pub.body = NULL;
    if (r == c->u.http.qhead)
        write_queue(c);
}

static void send_error(req_t *r, int status)
{
    char body[160];
    int n = snprintf(body, sizeof(body),
                     "{\"success\":false,\"error\":{\"code\":%d,\"message\":\"%s\"}}", status,
                     error_message(status));
    rtk_http_respond(&r->pub, status, "application/json", NULL, body, (size_t)n);
}

/* ---- closing ----------------------------------------------------------------------------- */

static void on_conn_closed(uv_handle_t *h)
{
    rtk_http_conn *c = (rtk_http_conn *)h;
    rtk_http_server *srv = h->data;
    if (c->mode == RTK_HTTP__M_RAW) {
        if (!(c->flags & RTK_HTTP__C_CLOSING))
            free(c->t.leftover);
        if (c->u.raw.cbs)
            c->u.raw.cbs->on_close(c, c->u.raw.user);
    }
    if (c->ip != NULL && --c->ip->n == 0) {
        rtk_map_del(&srv->per_ip, c->ip->ip);
        free(c->ip);
    }
    free(c);
    srv->nconns--;
    maybe_finish_stop(srv);
}

/* Closes at once: queued writes are cancelled. The struct is freed in on_conn_closed. */
static void close_now(rtk_http_conn *c)
{
    if (c->flags & RTK_HTTP__C_CLOSED)
        return;
    c->flags |= RTK_HTTP__C_CLOSED | RTK_HTTP__C_NO_MORE;
    c->flags &= ~RTK_HTTP__C_READING;
    list_remove(server_of(c), c);
    if (c->mode == RTK_HTTP__M_HTTP) {
        detach_queue(c);
        ps_free(c);
    }
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_shutdown(uv_shutdown_t *sr, int status)
{
    rtk_http_conn *c = CONTAINER_OF(sr->handle, rtk_http_conn, tcp);
    free(sr);
    if (c->flags & RTK_HTTP__C_CLOSED)
        return;
    if (status < 0 || (c->flags & RTK_HTTP__C_PEER_EOF)) {
        close_now(c);
        return;
    }
    /* Everything is written and the FIN is sent: linger from now on. */
    list_put(server_of(c), c, RTK_HTTP__L_CLOSING);
}

/* Graceful close (nginx's lingering close): shut down the write side once queued writes are
 * out, then keep reading and discarding until the peer closes, linger_ms passes or too much
 * arrives. Closing with unread input would make the kernel send a reset, which can destroy
 * the response before the client reads it (RFC 9112 9.6). */
static void begin_close(rtk_http_conn *c)
{
    begin_close_ex(c, 0);
}

/* begin_close, and with |await_last| a raw connection whose owner's goodbye is already in
 * the kernel waits for the peer's answer instead of shutting down (rtk_http_raw_cbs.is_last). */
static void begin_close_ex(rtk_http_conn *c, int await_last)
{
    if (c->flags & (RTK_HTTP__C_CLOSING | RTK_HTTP__C_CLOSED))
        return;
    rtk_http_server *srv = server_of(c);
    if (c->mode == RTK_HTTP__M_HTTP) {
        detach_queue(c);
        ps_free(c);
    } else {
        free(c->t.leftover);
        c->t.leftover = NULL;
    }
    c->flags |= RTK_HTTP__C_CLOSING | RTK_HTTP__C_NO_MORE;
    c->flags &= ~RTK_HTTP__C_PAUSED;
    c->count = 0;
    int drained = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0;
    if (drained && (c->flags & RTK_HTTP__C_PEER_EOF)) {
        close_now(c); /* nothing more will come, and all we wrote is in the kernel */
        return;
    }
    if (drained && await_last && c->mode == RTK_HTTP__M_RAW && c->u.raw.cbs->is_last != NULL) {
        c->flags |= RTK_HTTP__C_NO_SHUT; /* see rtk_http_raw_cbs.is_last */
        list_put(srv, c, RTK_HTTP__L_CLOSING);
        read_start(c);
        return;
    }
    start_shutdown(c);
}

/* Sends the FIN once queued writes are out (on_shutdown then lingers), reading meanwhile. */
static void start_shutdown(rtk_http_conn *c)
{
    rtk_http_server *srv = server_of(c);
    uv_shutdown_t *sr = rtk_xmalloc(sizeof(*sr));
    if (uv_shutdown(sr, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        free(sr);
        close_now(c);
        return;
    }
    list_put(srv, c, RTK_HTTP__L_CLOSING);
    read_start(c);
}

/* ---- the HTTP read path ------------------------------------------------------------------ */

/* Stops reading requests on |c| and answers |status| in order (0 or ERR_QUIET: no answer). */
static void fail(rtk_http_conn *c, int status)
{
    ps_t *ps = c->u.http.ps;
    req_t *r = ps ? ps->cur : NULL;
    if (ps)
        ps->cur = NULL;
    c->flags |= RTK_HTTP__C_NO_MORE;
    read_stop(c);
    if (status <= 0) {
        req_free(r);
        ps_free(c);
        if (c->count == 0)
            begin_close(c);
        return;
    }
    if (r == NULL)
        r = req_new(c, ps);
    ps_free(c);
    r->flags |= RTK_HTTP__R_CLOSE | RTK_HTTP__R_DISPATCHED;
    r->pub.remote_ip = r->remote_ip;
    enqueue(c, r);
    send_error(r, status);
}

static void dispatch(rtk_http_conn *c, req_t *r)
{
    /* An upgrade request waits until everything before it has been answered, so that the
     * 101 and the raw bytes after it cannot overtake earlier responses. */
    if ((r->flags & RTK_HTTP__R_PARSER_UP) && r != c->u.http.qhead)
        return;
    r->flags |= RTK_HTTP__R_DISPATCHED;
    server_of(c)->handler(&r->pub);
}

/* Parses |len| bytes at |data| on |c| and dispatches every request they complete. The
 * handler may do anything, including closing or upgrading |c|, so after each dispatch the
 * state is checked before the parse state is touched again. */
static void feed(rtk_http_conn *c, const char *data, size_t len)
{
    ps_t *ps = c->u.http.ps;
    while (len > 0) {
        int bad;
        size_t n = run_parser(ps, data, len, &bad);
        enum http_errno e = HTTP_PARSER_ERRNO(&ps->parser);
        data += n;
        len -= n;
        if (bad) {
            fail(c, 400);
            return;
        }
        if (e == HPE_OK) {
            if (n == 0) { /* cannot happen for requests; do not spin if it does */
                fail(c, 400);
                return;
            }
            continue;
        }
        if (e != HPE_PAUSED) {
            int st = ps->err ? ps->err : (e == HPE_HEADER_OVERFLOW ? 431 : 400);
            fail(c, st);
            return;
        }
        http_parser_pause(&ps->parser, 0);
        req_t *r = ps->done;
        ps->done = NULL;
        assert(r != NULL);
        if (r->flags & RTK_HTTP__R_CLOSE) {
            /* Last request on this connection: Connection: close, HTTP/1.0 without
             * keep-alive, an upgrade or CONNECT. Bytes after an upgrade head belong to the
             * new protocol and are kept; after the others they are dropped. */
            c->flags |= RTK_HTTP__C_NO_MORE;
            read_stop(c);
            if (r->pub.is_upgrade && len > 0)
                ps->stash = stash_new(data, len);
            len = 0;
        }
        enqueue(c, r);
        dispatch(c, r);
        if (c->mode != RTK_HTTP__M_HTTP ||
            (c->flags & (RTK_HTTP__C_CLOSING | RTK_HTTP__C_CLOSED | RTK_HTTP__C_NO_MORE)))
            return;
        if (len > 0 && ((c->flags & RTK_HTTP__C_BLOCKED) || over_limits(c))) {
            /* Back-pressure: keep the rest aside and stop reading until answers drain. */
            ps->stash = stash_new(data, len);
            block(c);
            return;
        }
    }
}

/* Puts |c| on the list its state calls for. */
static void update_list(rtk_http_conn *c, int refresh_body)
{
    if (c->list == RTK_HTTP__L_DEFER)
        return; /* decided after the deferred work */
    ps_t *ps = c->u.http.ps;
    int target;
    if (ps && ps->cur)
        target = RTK_HTTP__L_HEAD;
    else if (c->count > 0 || (c->flags & RTK_HTTP__C_NO_MORE))
        target = RTK_HTTP__L_NONE;
    else if (server_of(c)->stopping) {
        /* Nothing owed and the server is stopping: no keep-alive wait (a response built
         * before the stop may have said keep-alive). Callers check the flags after this. */
        begin_close(c);
        return;
    } else {
        /* A fresh connection owes its first request within the head timeout. An idle one
         * (also one BLOCKED on unsent bytes: a client that never reads) is closed after
         * keepalive_timeout_ms. */
        target = (c->flags & RTK_HTTP__C_FRESH) ? RTK_HTTP__L_HEAD : RTK_HTTP__L_IDLE;
    }
    /* While a body arrives, the timeout counts from the last read (nginx client_body_timeout). */
    int refresh = refresh_body && target == RTK_HTTP__L_HEAD && ps && ps->cur &&
                  (ps->cur->flags & RTK_HTTP__R_HEADERS_DONE);
    if (target != c->list || refresh)
        list_put(server_of(c), c, target);
}

/* Ends an event on an HTTP connection: frees the parse state if the parser is between
 * requests, and files the connection on the right list. */
static void settle(rtk_http_conn *c, int refresh_body)
{
    if (c->mode != RTK_HTTP__M_HTTP || (c->flags & (RTK_HTTP__C_CLOSED | RTK_HTTP__C_CLOSING)))
        return;
    ps_t *ps = c->u.http.ps;
    if (ps && !ps->cur && !ps->stash && !ps->done) {
        free(ps);
        c->u.http.ps = NULL;
    }
    update_list(c, refresh_body);
}

static void raw_read(rtk_http_conn *c, ssize_t nread, const char *data)
{
    const rtk_http_raw_cbs *cbs = c->u.raw.cbs;
    if (nread > 0) {
        cbs->on_read(c, c->u.raw.user, nread, data);
        return;
    }
    c->flags &= ~RTK_HTTP__C_READING;
    if (nread == UV_EOF)
        c->flags |= RTK_HTTP__C_PEER_EOF;
    cbs->on_read(c, c->u.raw.user, nread, NULL);
    if (nread == UV_EOF)
        begin_close(c); /* flushes what the owner queued, then closes */
    else
        close_now(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    rtk_http_conn *c = (rtk_http_conn *)s;
    rtk_http_server *srv = server_of(c);
    if (nread == 0 || (c->flags & RTK_HTTP__C_CLOSED))
        return;
    if (c->flags & RTK_HTTP__C_CLOSING) { /* lingering: discard */
        if (nread < 0) {
            close_now(c);
            return;
        }
        if (c->flags & RTK_HTTP__C_NO_SHUT) {
            c->flags &= ~RTK_HTTP__C_NO_SHUT;
            if (c->u.raw.cbs->is_last(buf->base, (size_t)nread)) {
                close_now(c); /* its last bytes are read: close() sends a FIN, not a reset */
                return;
            }
            start_shutdown(c); /* something else: the default graceful close */
        }
        size_t kib = ((size_t)nread + 1023) / 1024;
        if (c->count + kib > RTK_HTTP__LINGER_MAX_KIB)
            close_now(c);
        else
            c->count = (uint16_t)(c->count + kib);
        return;
    }
    if (c->mode == RTK_HTTP__M_RAW) {
        raw_read(c, nread, buf->base);
        return;
    }
    if (nread < 0) {
        c->flags &= ~RTK_HTTP__C_READING;
        if (nread != UV_EOF) {
            close_now(c);
            return;
        }
        /* The peer half-closed: answer what was fully received, then close. A partial
         * request can never complete and is dropped. */
        c->flags |= RTK_HTTP__C_PEER_EOF | RTK_HTTP__C_NO_MORE;
        ps_free(c);
        if (c->count == 0)
            begin_close(c);
        settle(c, 0);
        return;
    }
    if (c->flags & RTK_HTTP__C_NO_MORE)
        return; /* input after the last request, read before reading stopped */
    c->flags &= ~RTK_HTTP__C_FRESH;
    if (c->u.http.ps == NULL)
        ps_new(c);
    if (c->list == RTK_HTTP__L_IDLE)
        list_put(srv, c, RTK_HTTP__L_HEAD); /* the head timeout starts at its first byte */
    feed(c, buf->base, (size_t)nread);
    settle(c, 1);
}

/* ---- deferred work (next loop turn) ------------------------------------------------------ */

static void tell_stop(rtk_http_conn *c)
{
    c->flags |= RTK_HTTP__C_STOP_TOLD;
    if (c->u.raw.cbs->on_stop)
        c->u.raw.cbs->on_stop(c, c->u.raw.user);
    else
        rtk_http_raw_close(c);
}

static void raw_deferred(rtk_http_conn *c)
{
    rtk_http_server *srv = server_of(c);
    if (c->flags & (RTK_HTTP__C_CLOSING | RTK_HTTP__C_CLOSED))
        return;
    list_put(srv, c, RTK_HTTP__L_RAW);
    if (c->t.leftover && !(c->flags & RTK_HTTP__C_PAUSED)) {
        struct rtk_http__stash *st = c->t.leftover;
        c->t.leftover = NULL;
        c->u.raw.cbs->on_read(c, c->u.raw.user, (ssize_t)st->len, st->data);
        free(st);
        if (c->flags & (RTK_HTTP__C_CLOSING | RTK_HTTP__C_CLOSED))
            return;
    }
    if (!c->t.leftover && !(c->flags & RTK_HTTP__C_PAUSED))
        read_start(c);
    if (srv->stopping && !(c->flags & RTK_HTTP__C_STOP_TOLD))
        tell_stop(c);
}

static void http_deferred(rtk_http_conn *c)
{
    if (c->flags & (RTK_HTTP__C_CLOSING | RTK_HTTP__C_CLOSED))
        return;
    req_t *r = c->u.http.qhead;
    if (r && !(r->flags & RTK_HTTP__R_DISPATCHED)) {
        r->flags |= RTK_HTTP__R_DISPATCHED;
        server_of(c)->handler(&r->pub);
        settle(c, 0);
        return;
    }
    if ((c->flags & RTK_HTTP__C_BLOCKED) && under_limits(c)) {
        c->flags &= ~RTK_HTTP__C_BLOCKED;
        ps_t *ps = c->u.http.ps;
        struct rtk_http__stash *st = ps ? ps->stash : NULL;
        if (st) {
            ps->stash = NULL;
            feed(c, st->data, st->len);
            free(st);
        }
        if (c->mode == RTK_HTTP__M_HTTP &&
            !(c->flags & (RTK_HTTP__C_CLOSED | RTK_HTTP__C_CLOSING | RTK_HTTP__C_BLOCKED |
                          RTK_HTTP__C_NO_MORE)))
            read_start(c);
    }
    settle(c, 0);
}

static void on_idle(uv_idle_t *h)
{
    rtk_http_server *srv = h->data;
    struct rtk_http__list *l = &srv->lists[RTK_HTTP__L_DEFER];
    /* Take only what is queued now, one at a time from the head: work done here may
     * re-file any connection, including ones further down this list. */
    size_t n = 0;
    for (rtk_http_conn *c = l->first; c; c = c->next)
        n++;
    rtk_http_conn *c;
    while (n-- > 0 && (c = l->first) != NULL) {
        list_remove(srv, c);
        if (c->mode == RTK_HTTP__M_RAW)
            raw_deferred(c);
        else
            http_deferred(c);
    }
    if (l->first == NULL)
        uv_idle_stop(h);
}

/* ---- timeouts ---------------------------------------------------------------------------- */

static void expire(rtk_http_conn *c, int id)
{
    switch (id) {
    case RTK_HTTP__L_HEAD:
        if (c->u.http.ps && c->u.http.ps->cur)
            fail(c, 408);
        else
            begin_close(c); /* not a byte of a request yet: nothing to answer */
        settle(c, 0);
        break;
    case RTK_HTTP__L_IDLE: begin_close(c); break;
    default: close_now(c); break;
    }
}

static void on_timer(uv_timer_t *t)
{
    rtk_http_server *srv = t->data;
    static const int timed[] = {RTK_HTTP__L_HEAD, RTK_HTTP__L_IDLE, RTK_HTTP__L_CLOSING};
    uint64_t now = uv_now(srv->loop);
    for (size_t i = 0; i < sizeof(timed) / sizeof(timed[0]); i++) {
        rtk_http_conn *c;
        while ((c = srv->lists[timed[i]].first) != NULL && c->t.deadline <= now) {
            list_remove(srv, c);
            expire(c, timed[i]);
        }
    }
    uint64_t next = UINT64_MAX;
    for (size_t i = 0; i < sizeof(timed) / sizeof(timed[0]); i++) {
        rtk_http_conn *c = srv->lists[timed[i]].first;
        if (c && c->t.deadline < next)
            next = c->t.deadline;
    }
    if (next != UINT64_MAX)
        arm_timer(srv, next);
}

/* ---- server ------------------------------------------------------------------------------ */

/* Applies max_conns and max_conns_per_ip to the new connection |c|. Over a cap, writes a
 * canned answer without waiting for a request (the client may not have sent one yet), closes
 * the connection and returns 1. */
static int over_conn_caps(rtk_http_server *srv, rtk_http_conn *c)
{
    int status = 0;
    if (srv->cfg.max_conns && srv->nconns > srv->cfg.max_conns) {
        status = 503;
    } else if (srv->cfg.max_conns_per_ip) {
        char ip[INET6_ADDRSTRLEN];
        peer_ip(c, ip, sizeof(ip));
        struct rtk_http__ipcount *e = rtk_map_get(&srv->per_ip, ip);
        if (e == NULL) {
            size_t n = strlen(ip);
            e = rtk_xcalloc(1, sizeof(*e) + n + 1);
            memcpy(e->ip, ip, n + 1);
            rtk_map_put(&srv->per_ip, e->ip, e);
        }
        e->n++;
        c->ip = e;
        if (e->n > srv->cfg.max_conns_per_ip)
            status = 429;
    }
    if (status == 0)
        return 0;
    char body[160], answer[400];
    int blen = snprintf(body, sizeof(body),
                        "{\"success\":false,\"error\":{\"code\":%d,\"message\":\"%s\"}}", status,
                        status == 503 ? "Too many open connections"
                                      : "Too many open connections from this address");
    int len = snprintf(answer, sizeof(answer),
                       "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
                       "Connection: close\r\nContent-Length: %d\r\n\r\n%s",
                       status, rtk_http_status_text(status), blen, body);
    uv_buf_t b = uv_buf_init(answer, (unsigned)len);
    (void)uv_try_write((uv_stream_t *)&c->tcp, &b, 1); /* best effort: fits any socket buffer */
    close_now(c);
    return 1;
}

static void on_connection(uv_stream_t *listener, int status)
{
    rtk_http_server *srv = listener->data;
    if (status < 0)
        return; /* e.g. EMFILE: libuv keeps the listener going */
    rtk_http_conn *c = rtk_xcalloc(1, sizeof(*c));
    uv_tcp_init(srv->loop, &c->tcp);
    c->tcp.data = srv;
    srv->nconns++;
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        close_now(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1); /* responses are small and must not wait for Nagle */
    if (over_conn_caps(srv, c))
        return;
    c->flags = RTK_HTTP__C_FRESH;
    read_start(c);
    list_put(srv, c, RTK_HTTP__L_HEAD);
}

static int listen_socket(const char *host, int port, int *fd_out, int *port_out)
{
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        len = sizeof(*s4);
    } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        len = sizeof(*s6);
    } else {
        return RTK_EINVAL;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1, rc;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&ss, len) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    *port_out = ntohs(ss.ss_family == AF_INET ? s4->sin_port : s6->sin6_port);
    *fd_out = fd;
    return 0;
}

static void on_server_handle_closed(uv_handle_t *h)
{
    rtk_http_server *srv = h->data;
    srv->open_handles--;
    if (h == (uv_handle_t *)&srv->listener) {
        maybe_finish_stop(srv);
        return;
    }
    if (srv->open_handles == 0) {
        void (*cb)(void *) = srv->stop_cb;
        void *arg = srv->stop_arg;
        rtk_map_free(&srv->per_ip);
        free(srv);
        if (cb)
            cb(arg);
    }
}

static void maybe_finish_stop(rtk_http_server *srv)
{
    if (!srv->stopping || srv->nconns > 0 || srv->open_handles != 2 ||
        uv_is_closing((uv_handle_t *)&srv->timer))
        return;
    uv_close((uv_handle_t *)&srv->timer, on_server_handle_closed);
    uv_close((uv_handle_t *)&srv->idle, on_server_handle_closed);
}

int rtk_http_server_start(uv_loop_t *loop, const char *host, int port, const rtk_http_config *cfg,
                          rtk_http_handler handler, void *data, rtk_http_server **out)
{
    *out = NULL;
    if (loop == NULL || host == NULL || handler == NULL || port < 0 || port > 65535)
        return RTK_EINVAL;
    int fd = -1, bound = 0, rc;
    if ((rc = listen_socket(host, port, &fd, &bound)) != 0)
        return rc;
    rtk_http_server *srv = rtk_xcalloc(1, sizeof(*srv));
    if (cfg)
        srv->cfg = *cfg;
    if (srv->cfg.max_head == 0)
        srv->cfg.max_head = 16 * 1024;
    if (srv->cfg.max_body == 0)
        srv->cfg.max_body = 1024 * 1024;
    if (srv->cfg.head_timeout_ms == 0)
        srv->cfg.head_timeout_ms = 10000;
    if (srv->cfg.keepalive_timeout_ms == 0)
        srv->cfg.keepalive_timeout_ms = 75000;
    if (srv->cfg.linger_ms == 0)
        srv->cfg.linger_ms = 2000;
    srv->loop = loop;
    srv->handler = handler;
    srv->data = data;
    srv->port = bound;
    if ((rc = uv_tcp_init(loop, &srv->listener)) != 0) {
        close(fd);
        free(srv);
        return rc;
    }
    srv->listener.data = srv;
    uv_timer_init(loop, &srv->timer);
    srv->timer.data = srv;
    uv_idle_init(loop, &srv->idle);
    srv->idle.data = srv;
    srv->open_handles = 3;
    if ((rc = uv_tcp_open(&srv->listener, fd)) != 0)
        close(fd); /* not owned by the handle yet */
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&srv->listener, 511, on_connection);
    if (rc != 0) {
        /* The handles are live: they can only be released from the loop. */
        srv->stopping = 1;
        uv_close((uv_handle_t *)&srv->listener, on_server_handle_closed);
        return rc;
    }
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
    *out = srv;
    return 0;
}

int rtk_http_server_port(const rtk_http_server *srv)
{
    return srv->port;
}

void rtk_http_server_stop(rtk_http_server *srv, void (*cb)(void *arg), void *arg)
{
    assert(!srv->stopping && "rtk_http_server_stop called twice");
    srv->stopping = 1;
    srv->stop_cb = cb;
    srv->stop_arg = arg;
    uv_close((uv_handle_t *)&srv->listener, on_server_handle_closed);
    /* Connections with nothing owed and no request begun close now; begin_close only moves
     * the connection it is given, so the saved next pointer stays valid. */
    static const int lists[] = {RTK_HTTP__L_IDLE, RTK_HTTP__L_HEAD};
    for (size_t i = 0; i < 2; i++) {
        rtk_http_conn *c, *next;
        for (c = srv->lists[lists[i]].first; c; c = next) {
            next = c->next;
            if (c->count == 0 && !(c->u.http.ps && c->u.http.ps->cur))
                begin_close(c);
        }
    }
    /* Raw connections: move them all aside first, then tell them one at a time from the
     * head, because an owner may close other connections from its callback. */
    rtk_http_conn *c;
    while ((c = srv->lists[RTK_HTTP__L_RAW].first) != NULL)
        list_put(srv, c, RTK_HTTP__L_STOPPING);
    while ((c = srv->lists[RTK_HTTP__L_STOPPING].first) != NULL) {
        list_put(srv, c, RTK_HTTP__L_RAW);
        tell_stop(c);
    }
}

/* ---- upgrade and raw mode ---------------------------------------------------------------- */

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

int rtk_http_upgrade(rtk_http_req *req, const void *head, size_t head_len,
                     const rtk_http_raw_cbs *cbs, void *user, rtk_http_conn **out)
{
    req_t *r = (req_t *)req;
    *out = NULL;
    assert(req->is_upgrade && "rtk_http_upgrade needs an upgrade request");
    assert(!(r->flags & RTK_HTTP__R_RESPONDED) && "one response per request");
    assert(cbs && cbs->on_read && cbs->on_close);
    r->flags |= RTK_HTTP__R_RESPONDED;
    access_log(r, head_status(head, head_len), 0);
    if (r->flags & RTK_HTTP__R_FAKE) {
        r->resp = wr_new(head_len);
        wr_add(r->resp, head_len, head, head_len);
        return UV_ENOTCONN;
    }
    rtk_http_conn *c = r->conn;
    if (c == NULL) {
        req_free(r);
        return UV_ENOTCONN;
    }
    rtk_http_server *srv = server_of(c);
    /* dispatch() held the request back until it was the oldest one, and the parser stopped
     * after it, so it is alone in the queue. */
    assert(c->u.http.qhead == r && r->next == NULL);
    c->u.http.qhead = c->u.http.qtail = NULL;
    c->count = 0;
    req_free(r);
    ps_t *ps = c->u.http.ps;
    struct rtk_http__stash *leftover = NULL;
    if (ps) {
        leftover = ps->stash;
        ps->stash = NULL;
        ps_free(c);
    }
    list_remove(srv, c);
    c->mode = RTK_HTTP__M_RAW;
    c->u.raw.cbs = NULL; /* no callbacks until this succeeds */
    c->u.raw.user = user;
    c->t.leftover = leftover;
    c->flags &= ~(RTK_HTTP__C_NO_MORE | RTK_HTTP__C_FRESH | RTK_HTTP__C_BLOCKED);
    wr_t *w = wr_new(head_len);
    wr_add(w, head_len, head, head_len);
    int rc = submit_write(c, w, w->data);
    if (rc != 0) {
        close_now(c);
        return rc;
    }
    c->u.raw.cbs = cbs;
    *out = c;
    if (leftover || srv->stopping)
        list_put(srv, c, RTK_HTTP__L_DEFER);
    else {
        list_put(srv, c, RTK_HTTP__L_RAW);
        read_start(c);
    }
    return 0;
}

int rtk_http_raw_write(rtk_http_conn *c, const void *data, size_t len,
                       void (*done)(void *arg, int status), void *arg)
{
    if (c->mode != RTK_HTTP__M_RAW || (c->flags & (RTK_HTTP__C_CLOSING | RTK_HTTP__C_CLOSED)))
        return UV_EPIPE;
    if (len > UINT32_MAX)
        return UV_EINVAL;
    wr_t *w = wr_new(done ? 0 : len);
    w->len = len;
    w->done = done;
    w->arg = arg;
    if (done == NULL)
        memcpy(w->data, data, len);
    return submit_write(c, w, done ? (const char *)data : w->data);
}

int rtk_http_raw_writev(rtk_http_conn *c, const uv_buf_t *bufs, unsigned n,
                        void (*done)(void *arg, int status), void *arg)
{
    if (c->mode != RTK_HTTP__M_RAW || (c->flags & (RTK_HTTP__C_CLOSING | RTK_HTTP__C_CLOSED)))
        return UV_EPIPE;
    size_t total = 0;
    for (unsigned i = 0; i < n; i++)
        total += bufs[i].len;
    /* Nothing waits before it (uv_try_write refuses otherwise): write now, without a request.
     * When the kernel takes it all, as it nearly always does, a broadcast to thousands of
     * peers allocates no write request per peer and leaves nothing for the next loop turn. */
    int sent = uv_try_write((uv_stream_t *)&c->tcp, bufs, n);
    if (sent >= 0 && (size_t)sent == total) {
        done(arg, 0);
        return 0;
    }
    if (sent < 0)
        sent = 0; /* EAGAIN, or an error that uv_write reports the usual way */
    uv_buf_t stack[16];
    uv_buf_t *rest = n <= 16 ? stack : rtk_xmalloc(n * sizeof(*rest));
    unsigned k = 0;
    size_t skip = (size_t)sent;
    for (unsigned i = 0; i < n; i++) {
        size_t s = skip < bufs[i].len ? skip : bufs[i].len;
        skip -= s;
        if (bufs[i].len > s)
            rest[k++] = uv_buf_init(bufs[i].base + s, (unsigned)(bufs[i].len - s));
    }
    wr_t *w = wr_new(0);
    w->len = total - (size_t)sent;
    w->done = done;
    w->arg = arg;
    w->w.data = c;
    int rc = uv_write(&w->w, (uv_stream_t *)&c->tcp, rest, k, on_written);
    if (rest != stack)
        free(rest);
    if (rc != 0)
        free(w);
    return rc;
}

size_t rtk_http_raw_write_queue_size(const rtk_http_conn *c)
{
    return uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp);
}

void rtk_http_raw_pause(rtk_http_conn *c, int paused)
{
    if (c->mode != RTK_HTTP__M_RAW || (c->flags & (RTK_HTTP__C_CLOSING | RTK_HTTP__C_CLOSED)))
        return;
    if (paused) {
        c->flags |= RTK_HTTP__C_PAUSED;
        read_stop(c);
        return;
    }
    c->flags &= ~RTK_HTTP__C_PAUSED;
    if (c->list == RTK_HTTP__L_DEFER)
        return; /* raw_deferred starts reading after delivering what waits */
    if (c->t.leftover)
        list_put(server_of(c), c, RTK_HTTP__L_DEFER);
    else
        read_start(c);
}

void rtk_http_raw_close(rtk_http_conn *c)
{
    if (c->mode != RTK_HTTP__M_RAW)
        return;
    begin_close(c);
}

void rtk_http_raw_close_awaiting(rtk_http_conn *c)
{
    if (c->mode != RTK_HTTP__M_RAW)
        return;
    begin_close_ex(c, 1);
}

size_t rtk_http_conn_size(void)
{
    return sizeof(struct rtk_http_conn);
}

/* ---- test support ------------------------------------------------------------------------ */

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
    size_t len = (size_t)n + (body ? body_len : 0);

    /* A server and a connection that only exist to run the parser callbacks: no handles. */
    rtk_http_server *srv = rtk_xcalloc(1, sizeof(*srv));
    srv->cfg.max_head = 16 * 1024;
    srv->cfg.max_body = 1024 * 1024;
    srv->data = server_data;
    rtk_http_conn *c = rtk_xcalloc(1, sizeof(*c));
    c->tcp.data = srv;
    c->flags = RTK_HTTP__C_FAKE;
    ps_t *ps = rtk_xcalloc(1, sizeof(*ps));
    http_parser_init(&ps->parser, HTTP_REQUEST);
    ps->parser.data = c;
    snprintf(ps->remote_ip, sizeof(ps->remote_ip), "127.0.0.1");
    c->u.http.ps = ps;
    int bad;
    size_t used = run_parser(ps, text, len, &bad);
    enum http_errno e = HTTP_PARSER_ERRNO(&ps->parser);
    req_t *r = ps->done;
    ps->done = NULL;
    int rc = 0;
    if (bad || e != HPE_PAUSED || r == NULL || used != len)
        rc = (ps->err == 413 || ps->err == 431 || e == HPE_HEADER_OVERFLOW) ? RTK_ETOOBIG
                                                                            : RTK_EPROTO;
    ps_free(c);
    free(c);
    free(text);
    if (rc != 0) {
        req_free(r);
        free(srv);
        return rc;
    }
    r->conn = NULL;
    r->flags |= RTK_HTTP__R_FAKE | RTK_HTTP__R_DISPATCHED;
    *out = &r->pub;
    return 0;
}

int rtk_http_fake_response(const rtk_http_req *req, rtk_http_fake_resp *out)
{
    const req_t *r = (const req_t *)req;
    assert(r->flags & RTK_HTTP__R_FAKE);
    memset(out, 0, sizeof(*out));
    if (r->resp == NULL)
        return RTK_EAGAIN;
    const char *p = r->resp->data;
    size_t hl = 0;
    while (hl + 4 <= r->resp->len && memcmp(p + hl, "\r\n\r\n", 4) != 0)
        hl++;
    out->status = head_status(p, r->resp->len);
    out->head = p;
    out->head_len = hl + 4 <= r->resp->len ? hl + 4 : r->resp->len;
    if (out->head_len < r->resp->len) {
        out->body = p + out->head_len;
        out->body_len = r->resp->len - out->head_len;
    }
    return 0;
}

void rtk_http_fake_free(rtk_http_req *req)
{
    if (req == NULL)
        return;
    req_t *r = (req_t *)req;
    assert(r->flags & RTK_HTTP__R_FAKE);
    rtk_http_server *srv = r->srv;
    req_free(r);
    free(srv);
}
