/* SPDX-License-Identifier: MIT */
/* fuzz_ws.c - libFuzzer harness: the WebSocket frame and message path of the participant
 * channel.
 *
 * Surface: every byte a connected participant sends after the handshake. src/net/rtk_ws.h's
 * rtk_ws_parse() turns them into frames; src/chan/rtk_chan.c keeps the tail of an incomplete
 * frame between reads and assembles fragmented text messages. This harness replays that,
 * sans-I/O, with the codec's real limits (RTK_WS_MAX_MESSAGE, RTK_WS_MAX_FRAME).
 *
 * Input: two bytes choose a split point, the rest is the client's byte stream. The stream is
 * fed three ways: in one read, in two reads cut at the split point, and (for short inputs) one
 * byte per read, each through the channel's keep-the-tail logic. Checked:
 *   - consumed bytes are > 0 and never more than offered; payloads lie inside the frame;
 *   - only text, continuation, close, ping and pong frames come out; control frames are
 *     final and at most 125 bytes; a close frame's payload passes rtk_ws_close_parse();
 *   - errors carry a close code of 1002, 1003, 1007 or 1009;
 *   - every assembled message is at most RTK_WS_MAX_MESSAGE bytes of valid UTF-8 (checked
 *     by an independent decoder here);
 *   - after RTK_EAGAIN, rtk_ws_frame_size() is RTK_EAGAIN or a size larger than what is kept
 *     and within RTK_WS_MAX_FRAME;
 *   - the three feedings see exactly the same frames, messages and outcome (rtk_ws.h promises
 *     the result never depends on how the input was split);
 *   - and they are what a reference model expects: a plain, whole-buffer classifier written
 *     here from RFC 6455 §5 and the policy in rtk_ws.h (every header rule, including that a
 *     header violation the bytes so far can decide fails at once; payload rules once the
 *     frame is complete; close codes; UTF-8 across fragments).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/rtk_ws.h"
#include "util/rtk_err.h"

#define MAX_EVENTS 4096

/* What one feeding observed. Frames and messages are logged as a hash of their content. */
typedef struct event {
    uint8_t kind; /* 'F' frame, 'M' message, 'E' error, 'A' ended waiting for more, 'C' close */
    uint8_t opcode, fin;
    uint16_t code;
    size_t len;
    uint64_t hash;
} event;

typedef struct trace {
    event ev[MAX_EVENTS];
    size_t n;
    int overflow;
} trace;

/* The channel's per-connection state, as rtk_chan.c keeps it. */
typedef struct conn {
    rtk_ws_state ws;
    uint8_t *in; /* tail of an incomplete frame */
    size_t in_len;
    uint8_t *msg; /* fragments of an incomplete message */
    size_t msg_len;
    int done; /* an error or a close frame ended the connection */
    trace *t;
} conn;

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_ws: invariant broken: %s\n", what);
    abort();
}

static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

static void log_ev(trace *t, uint8_t kind, uint8_t op, uint8_t fin, uint16_t code, const uint8_t *p,
                   size_t len)
{
    if (t->n == MAX_EVENTS) {
        t->overflow = 1;
        return;
    }
    event *e = &t->ev[t->n++];
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    e->opcode = op;
    e->fin = fin;
    e->code = code;
    e->len = len;
    e->hash = p ? fnv(p, len) : 0;
}

/* An independent UTF-8 check (RFC 3629): decode each code point and test its range. */
static int utf8_ok(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint32_t c = s[i], cp;
        size_t k;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            k = 1, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3, cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        static const uint32_t min_cp[4] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[k] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += k + 1;
    }
    return 1;
}

static int close_code_ok(unsigned c)
{
    return c == 1005 || (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) ||
           (c >= 3000 && c <= 4999);
}

static void deliver(conn *c, const uint8_t *text, size_t len)
{
    if (len > RTK_WS_MAX_MESSAGE)
        fail("message over RTK_WS_MAX_MESSAGE");
    if (!utf8_ok(text, len))
        fail("message is not valid UTF-8");
    log_ev(c->t, 'M', 0, 1, 0, text, len);
}

/* One frame, handled the way rtk_chan.c's on_frame does. */
static void on_frame(conn *c, const rtk_ws_frame *f)
{
    log_ev(c->t, 'F', f->opcode, f->fin, 0, f->payload, f->len);
    switch (f->opcode) {
    case RTK_WS_OP_TEXT:
    case RTK_WS_OP_CONT:
        if (f->fin && f->opcode == RTK_WS_OP_TEXT) {
            if (c->msg_len != 0)
                fail("a whole text frame while a message was in progress");
            deliver(c, f->payload, f->len);
            return;
        }
        if (f->opcode == RTK_WS_OP_TEXT && c->msg != NULL)
            fail("a new fragmented message while one was in progress");
        if (f->opcode == RTK_WS_OP_CONT && c->msg == NULL)
            fail("a continuation with no message in progress");
        if (c->msg_len + f->len > RTK_WS_MAX_MESSAGE)
            fail("fragments add up to more than RTK_WS_MAX_MESSAGE");
        c->msg = realloc(c->msg, c->msg_len + f->len + 1);
        if (c->msg == NULL)
            abort();
        if (f->len)
            memcpy(c->msg + c->msg_len, f->payload, f->len);
        c->msg_len += f->len;
        if (f->fin) {
            deliver(c, c->msg, c->msg_len);
            free(c->msg);
            c->msg = NULL;
            c->msg_len = 0;
        }
        return;
    case RTK_WS_OP_PING:
    case RTK_WS_OP_PONG:
        if (!f->fin || f->len > RTK_WS_MAX_CONTROL)
            fail("bad control frame accepted");
        return;
    case RTK_WS_OP_CLOSE: {
        uint16_t code = 0;
        if (!f->fin || f->len > RTK_WS_MAX_CONTROL)
            fail("bad close frame accepted");
        int rc = rtk_ws_close_parse(f->payload, f->len, &code);
        if (rc < 0)
            fail("close frame accepted whose payload rtk_ws_close_parse refuses");
        if (!close_code_ok((unsigned)rc))
            fail("close code outside the documented set");
        log_ev(c->t, 'C', 0, 1, (uint16_t)rc, NULL, 0);
        c->done = 1; /* the channel stops reading after a close frame */
        return;
    }
    default: fail("a frame with an opcode the codec must refuse");
    }
}

/* One read of |n| bytes at |data|, through the channel's buffering (rtk_chan.c on_read). */
static void on_read(conn *c, const uint8_t *data, size_t n)
{
    if (c->done || n == 0)
        return;
    /* The server lends its (writable) read buffer; a copy stands in for it. */
    uint8_t *lent = malloc(n);
    if (lent == NULL)
        abort();
    memcpy(lent, data, n);
    uint8_t *buf = lent;
    size_t len = n;
    if (c->in != NULL) {
        c->in = realloc(c->in, c->in_len + n);
        if (c->in == NULL)
            abort();
        memcpy(c->in + c->in_len, data, n);
        c->in_len += n;
        buf = c->in;
        len = c->in_len;
    }
    size_t off = 0;
    while (off < len && !c->done) {
        rtk_ws_frame f;
        uint16_t code = 0;
        ssize_t r = rtk_ws_parse(&c->ws, buf + off, len - off, &f, &code);
        if (r == RTK_EAGAIN) {
            ssize_t need = rtk_ws_frame_size(buf + off, len - off);
            if (need != RTK_EAGAIN && (need <= (ssize_t)(len - off) || need > RTK_WS_MAX_FRAME))
                fail("rtk_ws_frame_size disagrees with RTK_EAGAIN");
            if (need == RTK_EAGAIN && len - off >= RTK_WS_MAX_HEADER)
                fail("rtk_ws_frame_size wants more than a whole header");
            break;
        }
        if (r < 0) {
            if (r != RTK_EPROTO)
                fail("rtk_ws_parse returned an undocumented error");
            if (code != 1002 && code != 1003 && code != 1007 && code != 1009)
                fail("close code outside {1002, 1003, 1007, 1009}");
            log_ev(c->t, 'E', 0, 0, code, NULL, 0);
            c->done = 1;
            break;
        }
        if (r == 0 || (size_t)r > len - off)
            fail("consumed 0 bytes or more than offered");
        if (f.len > 0 && (f.payload < buf + off || f.payload + f.len > buf + off + (size_t)r))
            fail("payload outside the consumed frame");
        if (f.len > RTK_WS_MAX_MESSAGE)
            fail("frame payload over RTK_WS_MAX_MESSAGE");
        off += (size_t)r;
        on_frame(c, &f);
    }
    size_t rest = c->done ? 0 : len - off;
    if (rest > RTK_WS_MAX_FRAME)
        fail("kept more than one frame's bytes");
    if (rest == 0) {
        free(c->in);
        c->in = NULL;
        c->in_len = 0;
    } else if (buf == c->in) {
        memmove(c->in, c->in + off, rest);
        c->in_len = rest;
    } else {
        c->in = malloc(rest);
        if (c->in == NULL)
            abort();
        memcpy(c->in, buf + off, rest);
        c->in_len = rest;
    }
    free(lent);
}

static void finish(conn *c)
{
    if (!c->done)
        log_ev(c->t, 'A', 0, 0, 0, NULL, c->in_len);
    free(c->in);
    free(c->msg);
}

/* ---- the reference: RFC 6455 and the policy of rtk_ws.h, written independently ---- */

/* 1 if |s|[0..|n|) is valid UTF-8 (|final|) or a prefix of valid UTF-8 (!|final|): every
 * sequence is complete, except that a non-final text may end inside one whose bytes so far
 * are right (RFC 3629 §4 table: E0 A0-BF, ED 80-9F, F0 90-BF, F4 80-8F as second bytes). */
static int ref_utf8(const uint8_t *s, size_t n, int final)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t k;
        uint8_t lo = 0x80, hi = 0xbf; /* range of the second byte */
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            lo = c == 0xe0 ? 0xa0 : 0x80;
            hi = c == 0xed ? 0x9f : 0xbf;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            lo = c == 0xf0 ? 0x90 : 0x80;
            hi = c == 0xf4 ? 0x8f : 0xbf;
        } else {
            return 0;
        }
        for (size_t j = 1; j <= k; j++) {
            if (i + j >= n)
                return !final; /* cut short: fine only before the last fragment */
            uint8_t b = s[i + j];
            if (j == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xbf))
                return 0;
        }
        i += k + 1;
    }
    return 1;
}

typedef struct ref_state {
    int in_msg;   /* a fragmented text message is open */
    uint8_t *msg; /* its bytes so far */
    size_t msg_len;
} ref_state;

/* Classifies the frame at |p|[0..|n|): returns 1 with *used, *op, *fin, *plen and the payload
 * unmasked in |p| after the header at *hlen; 0 when more bytes are needed; -1 with *code. */
static int ref_frame(const ref_state *st, uint8_t *p, size_t n, size_t *used, size_t *hlen,
                     uint64_t *plen, int *op, int *fin, uint16_t *code)
{
    if (n < 1)
        return 0;
    *fin = p[0] >> 7;
    *op = p[0] & 0x0f;
    int control = *op >= 8;
    *code = 1002;
    if (p[0] & 0x70)
        return -1;
    if ((*op >= 3 && *op <= 7) || *op >= 11)
        return -1;
    if ((*op == 0 && !st->in_msg) || (*op == 1 && st->in_msg))
        return -1;
    if (*op == 2) {
        *code = 1003;
        return -1;
    }
    if (control && !*fin)
        return -1;
    if (n < 2)
        return 0;
    if (!(p[1] & 0x80))
        return -1;
    uint64_t len7 = p[1] & 0x7f;
    if (control && len7 > 125)
        return -1;
    uint64_t room = RTK_WS_MAX_MESSAGE - (control ? 0 : st->msg_len);
    size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
    uint64_t len = len7;
    if (ext) {
        size_t have = n - 2 < ext ? n - 2 : ext;
        if (ext == 8 && have >= 1 && (p[2] & 0x80))
            return -1;
        /* The smallest length the bytes so far allow (the rest all zero). */
        uint64_t least = 0;
        for (size_t i = 0; i < ext; i++)
            least = least << 8 | (i < have ? p[2 + i] : 0);
        if (least > room) {
            *code = 1009;
            return -1;
        }
        /* Not minimal: decided as soon as the bytes so far leave no minimal length possible. */
        if (ext == 2 && have == 2 && least < 126)
            return -1;
        if (ext == 8) {
            /* Six zero bytes already make it so (tests/unit/test_regress_fuzz.c). */
            int high_zero = have >= 6;
            for (size_t i = 0; i < have && i < 6; i++)
                high_zero &= p[2 + i] == 0;
            if (high_zero)
                return -1;
        }
        if (have < ext)
            return 0;
        len = least;
    } else if (len > room) {
        *code = 1009;
        return -1;
    }
    *hlen = 2 + ext + 4;
    if (n < *hlen || n - *hlen < len)
        return 0;
    const uint8_t *key = p + 2 + ext;
    for (uint64_t i = 0; i < len; i++)
        p[*hlen + i] ^= key[i & 3];
    *used = *hlen + (size_t)len;
    *plen = len;
    return 1;
}

static int ref_close_code_ok(unsigned c)
{
    return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}

/* The events the reference expects for the whole stream |data|[0..|n|). */
static void ref_trace(const uint8_t *data, size_t n, trace *t)
{
    uint8_t *buf = malloc(n ? n : 1);
    if (buf == NULL)
        abort();
    if (n)
        memcpy(buf, data, n);
    ref_state st = {0, NULL, 0};
    size_t off = 0;
    for (;;) {
        size_t used = 0, hlen = 0;
        uint64_t plen = 0;
        int op = 0, fin = 0;
        uint16_t code = 0;
        int r =
            off < n ? ref_frame(&st, buf + off, n - off, &used, &hlen, &plen, &op, &fin, &code) : 0;
        if (r == 0) {
            log_ev(t, 'A', 0, 0, 0, NULL, n - off);
            break;
        }
        if (r < 0) {
            log_ev(t, 'E', 0, 0, code, NULL, 0);
            break;
        }
        const uint8_t *pl = buf + off + hlen;
        off += used;
        if (op <= 1) {
            size_t total = st.msg_len + (size_t)plen;
            st.msg = realloc(st.msg, total ? total : 1);
            if (st.msg == NULL)
                abort();
            if (plen)
                memcpy(st.msg + st.msg_len, pl, (size_t)plen);
            if (!ref_utf8(st.msg, total, fin)) {
                log_ev(t, 'E', 0, 0, 1007, NULL, 0);
                break;
            }
            log_ev(t, 'F', (uint8_t)op, (uint8_t)fin, 0, pl, (size_t)plen);
            if (fin) {
                log_ev(t, 'M', 0, 1, 0, st.msg, total);
                st.in_msg = 0;
                st.msg_len = 0;
            } else {
                st.in_msg = 1;
                st.msg_len = total;
            }
            continue;
        }
        if (op == 8) {
            unsigned cc = 1005;
            if (plen == 1) {
                log_ev(t, 'E', 0, 0, 1002, NULL, 0);
                break;
            }
            if (plen >= 2) {
                cc = (unsigned)pl[0] << 8 | pl[1];
                if (!ref_close_code_ok(cc)) {
                    log_ev(t, 'E', 0, 0, 1002, NULL, 0);
                    break;
                }
                if (!ref_utf8(pl + 2, (size_t)plen - 2, 1)) {
                    log_ev(t, 'E', 0, 0, 1007, NULL, 0);
                    break;
                }
            }
            log_ev(t, 'F', 8, 1, 0, pl, (size_t)plen);
            log_ev(t, 'C', 0, 1, (uint16_t)cc, NULL, 0);
            break; /* nothing after a close frame is parsed */
        }
        log_ev(t, 'F', (uint8_t)op, 1, 0, pl, (size_t)plen);
    }
    free(st.msg);
    free(buf);
}

static trace t_whole, t_split, t_bytes, t_ref;

static void same(const trace *a, const trace *b, const char *what)
{
    if (a->overflow || b->overflow)
        return;
    if (a->n != b->n || memcmp(a->ev, b->ev, a->n * sizeof(event)) != 0) {
        fprintf(stderr, "fuzz_ws: %s: %zu vs %zu events\n", what, a->n, b->n);
        for (size_t i = 0; i < a->n || i < b->n; i++) {
            const event *x = i < a->n ? &a->ev[i] : NULL, *y = i < b->n ? &b->ev[i] : NULL;
            fprintf(stderr,
                    "  %zu: %c op=%d fin=%d code=%d len=%zu | %c op=%d fin=%d code=%d "
                    "len=%zu\n",
                    i, x ? x->kind : '-', x ? x->opcode : 0, x ? x->fin : 0, x ? x->code : 0,
                    x ? x->len : 0, y ? y->kind : '-', y ? y->opcode : 0, y ? y->fin : 0,
                    y ? y->code : 0, y ? y->len : 0);
        }
        fail(what);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t split = ((size_t)data[0] | (size_t)data[1] << 8) % (size - 1);
    data += 2;
    size -= 2;

    conn c;
    memset(&c, 0, sizeof(c));
    rtk_ws_state_init(&c.ws);
    memset(&t_whole, 0, sizeof(t_whole));
    c.t = &t_whole;
    on_read(&c, data, size);
    finish(&c);

    memset(&t_ref, 0, sizeof(t_ref));
    ref_trace(data, size, &t_ref);
    same(&t_ref, &t_whole, "rtk_ws_parse disagrees with the reference (reference vs whole)");

    memset(&c, 0, sizeof(c));
    rtk_ws_state_init(&c.ws);
    memset(&t_split, 0, sizeof(t_split));
    c.t = &t_split;
    on_read(&c, data, split);
    on_read(&c, data + split, size - split);
    finish(&c);
    same(&t_whole, &t_split, "the outcome depends on the split point (whole vs split)");

    if (size <= 512) {
        memset(&c, 0, sizeof(c));
        rtk_ws_state_init(&c.ws);
        memset(&t_bytes, 0, sizeof(t_bytes));
        c.t = &t_bytes;
        for (size_t i = 0; i < size; i++)
            on_read(&c, data + i, 1);
        finish(&c);
        same(&t_whole, &t_bytes, "the outcome depends on the split (whole vs byte by byte)");
    }
    return 0;
}
