/* SPDX-License-Identifier: MIT */
/* lg_proto.c - server frame parser, masked client frames, event classification, frame reader.
 *
 * This is the client's mirror of src/net/rtk_ws.c: the server codec rejects unmasked frames,
 * which is exactly what a server sends, so the load generator parses server frames here and
 * borrows only the header builder from the server codec. */
#include "lg_proto.h"

#include <stdlib.h>
#include <string.h>

#include "net/rtk_ws.h"
#include "util/rtk_err.h"

static const char *const event_names[LG_EV_COUNT] = {
    [LG_EV_HELLO] = "hello",
    [LG_EV_SESSION_UPDATED] = "session.updated",
    [LG_EV_POLL_CREATED] = "poll.created",
    [LG_EV_POLL_UPDATED] = "poll.updated",
    [LG_EV_POLL_VOTED] = "poll.voted",
    [LG_EV_KICKED] = "kicked",
    [LG_EV_PONG] = "pong",
    [LG_EV_ERROR] = "error",
    [LG_EV_OTHER] = "other",
    [LG_EV_CLOSE] = "close",
    [LG_EV_PING] = "ping",
    [LG_EV_WSPONG] = "ws.pong",
};

const char *lg_event_name(lg_event ev)
{
    return (unsigned)ev < LG_EV_COUNT ? event_names[ev] : "?";
}

int lg_event_from_name(const char *name)
{
    for (int i = 0; i < LG_EV_COUNT; i++)
        if (strcmp(name, event_names[i]) == 0)
            return i;
    return -1;
}

ssize_t lg_frame_parse(uint8_t *buf, size_t len, lg_frame *out)
{
    if (len < 2)
        return RTK_EAGAIN;
    uint8_t b0 = buf[0], b1 = buf[1];
    uint8_t op = b0 & 0x0F;
    if (b0 & 0x70)
        return RTK_EPROTO; /* RSV bits: no extension is ever negotiated */
    if ((op > RTK_WS_OP_BINARY && op < RTK_WS_OP_CLOSE) || op > RTK_WS_OP_PONG)
        return RTK_EPROTO;
    int control = op >= RTK_WS_OP_CLOSE;
    size_t hdr = 2;
    uint64_t plen = b1 & 0x7F;
    if (plen == 126) {
        if (len < 4)
            return RTK_EAGAIN;
        plen = (uint64_t)buf[2] << 8 | buf[3];
        hdr = 4;
    } else if (plen == 127) {
        if (len < 10)
            return RTK_EAGAIN;
        plen = 0;
        for (int i = 0; i < 8; i++)
            plen = plen << 8 | buf[2 + i];
        hdr = 10;
    }
    if (control && (plen > RTK_WS_MAX_CONTROL || !(b0 & 0x80)))
        return RTK_EPROTO; /* RFC 6455 §5.5 */
    int masked = (b1 & 0x80) != 0;
    if (plen > LG_MAX_FRAME)
        return RTK_EPROTO;
    size_t total = hdr + (masked ? 4 : 0) + (size_t)plen;
    if (len < total)
        return RTK_EAGAIN;
    uint8_t *payload = buf + hdr + (masked ? 4 : 0);
    if (masked) {
        const uint8_t *key = buf + hdr;
        for (size_t i = 0; i < plen; i++)
            payload[i] ^= key[i & 3];
    }
    out->payload = payload;
    out->len = (size_t)plen;
    out->opcode = op;
    out->fin = (b0 & 0x80) != 0;
    return (ssize_t)total;
}

ssize_t lg_frame_build(uint8_t *out, size_t cap, int opcode, const void *payload, size_t len,
                       uint32_t mask_key)
{
    if (cap < len + RTK_WS_MAX_HEADER)
        return RTK_ETOOBIG;
    size_t hdr = rtk_ws_frame_header(out, opcode, len);
    out[1] |= 0x80; /* RFC 6455 §5.3: every client frame is masked */
    uint8_t *key = out + hdr;
    key[0] = (uint8_t)(mask_key >> 24);
    key[1] = (uint8_t)(mask_key >> 16);
    key[2] = (uint8_t)(mask_key >> 8);
    key[3] = (uint8_t)mask_key;
    uint8_t *dst = key + 4;
    const uint8_t *src = payload;
    for (size_t i = 0; i < len; i++)
        dst[i] = src[i] ^ key[i & 3];
    return (ssize_t)(hdr + 4 + len);
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Skips the rest of a string whose opening quote is at s[i - 1]; returns the index of its
 * closing quote, or |len| when the string does not end within the text. */
static size_t string_end(const char *s, size_t len, size_t i)
{
    while (i < len && s[i] != '"')
        i += s[i] == '\\' ? 2 : 1;
    return i < len ? i : len;
}

int lg_json_top_string(const char *s, size_t len, const char *key, const char **val,
                       size_t *vlen)
{
    size_t klen = strlen(key), i = 0;
    while (i < len && is_ws(s[i]))
        i++;
    if (i >= len || s[i] != '{')
        return -1;
    i++;
    int depth = 1, want_key = 1;
    while (i < len) {
        char c = s[i];
        if (c == '"') {
            size_t start = i + 1, end = string_end(s, len, start);
            if (end >= len)
                return -1;
            i = end + 1;
            if (depth != 1 || !want_key)
                continue;
            while (i < len && is_ws(s[i]))
                i++;
            if (i >= len || s[i] != ':')
                return -1;
            i++;
            want_key = 0;
            if (end - start != klen || memcmp(s + start, key, klen) != 0)
                continue;
            while (i < len && is_ws(s[i]))
                i++;
            if (i < len && s[i] == '"') {
                size_t vend = string_end(s, len, i + 1);
                if (vend >= len)
                    return -1;
                *val = s + i + 1;
                *vlen = vend - (i + 1);
                return 0;
            }
            continue; /* the key is there but its value is not a string */
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth == 0)
                return -1;
        } else if (c == ',' && depth == 1) {
            want_key = 1;
        }
        i++;
    }
    return -1;
}

ssize_t lg_nchan_message(char *out, size_t cap, size_t size)
{
    static const char head[] = "{\"type\":\"poll.created\",\"poll\":{\"pad\":\"";
    static const char tail[] = "\"}}";
    size_t hl = sizeof(head) - 1, tl = sizeof(tail) - 1;
    if (size < LG_NCHAN_MIN_MESSAGE || cap <= size)
        return RTK_EINVAL;
    memcpy(out, head, hl);
    memset(out + hl, 'x', size - hl - tl);
    memcpy(out + size - tl, tail, tl);
    out[size] = '\0';
    return (ssize_t)size;
}

lg_event lg_event_classify(const char *json, size_t len)
{
    const char *t;
    size_t tl;
    if (lg_json_top_string(json, len, "type", &t, &tl) != 0)
        return LG_EV_OTHER;
    for (int i = 0; i <= LG_EV_ERROR; i++) {
        size_t nl = strlen(event_names[i]);
        if (nl == tl && memcmp(t, event_names[i], nl) == 0)
            return (lg_event)i;
    }
    return LG_EV_OTHER;
}

void lg_reader_init(lg_reader *r)
{
    memset(r, 0, sizeof(*r));
    r->frag_ev = -1;
}

void lg_reader_free(lg_reader *r)
{
    free(r->part);
    r->part = NULL;
    r->part_len = 0;
    r->part_cap = 0;
}

/* Decides the class of a complete frame; returns 0 when the frame is a fragment that does not
 * end a message (nothing to report yet), 1 when |*ev| is set, or RTK_EPROTO. */
static int frame_class(lg_reader *r, const lg_frame *f, lg_event *ev)
{
    switch (f->opcode) {
    case RTK_WS_OP_TEXT:
    case RTK_WS_OP_BINARY: {
        if (r->frag_ev >= 0)
            return RTK_EPROTO; /* a new message while a fragmented one is open */
        lg_event e = f->opcode == RTK_WS_OP_TEXT
                         ? lg_event_classify((const char *)f->payload, f->len)
                         : LG_EV_OTHER;
        if (!f->fin) {
            r->frag_ev = (int8_t)e;
            return 0;
        }
        *ev = e;
        return 1;
    }
    case RTK_WS_OP_CONT:
        if (r->frag_ev < 0)
            return RTK_EPROTO;
        if (!f->fin)
            return 0;
        *ev = (lg_event)r->frag_ev;
        r->frag_ev = -1;
        return 1;
    case RTK_WS_OP_CLOSE:
        *ev = LG_EV_CLOSE;
        return 1;
    case RTK_WS_OP_PING:
        *ev = LG_EV_PING;
        return 1;
    default:
        *ev = LG_EV_WSPONG;
        return 1;
    }
}

int lg_reader_feed(lg_reader *r, uint8_t *data, size_t len, lg_frame_cb cb, void *arg)
{
    uint8_t *buf = data;
    size_t n = len;
    if (r->part != NULL) {
        if ((size_t)r->part_len + len > r->part_cap) {
            size_t cap = 2 * (size_t)r->part_cap;
            if (cap < (size_t)r->part_len + len)
                cap = (size_t)r->part_len + len;
            r->part = rtk_xrealloc(r->part, cap);
            r->part_cap = (uint32_t)cap;
        }
        memcpy(r->part + r->part_len, data, len);
        r->part_len += (uint32_t)len;
        buf = r->part;
        n = r->part_len;
    }
    size_t off = 0;
    int rc = 0;
    while (off < n) {
        lg_frame f;
        ssize_t k = lg_frame_parse(buf + off, n - off, &f);
        if (k == RTK_EAGAIN)
            break;
        if (k < 0) {
            rc = RTK_EPROTO;
            break;
        }
        off += (size_t)k;
        lg_event ev = LG_EV_OTHER;
        int c = frame_class(r, &f, &ev);
        if (c < 0) {
            rc = c;
            break;
        }
        if (c == 0)
            continue;
        r->counts[ev]++;
        r->bytes[ev] += f.len; /* a fragmented message: its last fragment only */
        if (cb != NULL && cb(arg, ev, &f) != 0) {
            rc = 1;
            break;
        }
    }
    size_t rest = rc != 0 ? 0 : n - off;
    if (rest == 0) {
        lg_reader_free(r);
    } else if (r->part != NULL && buf == r->part) {
        memmove(r->part, r->part + off, rest);
        r->part_len = (uint32_t)rest;
    } else {
        r->part = rtk_xmalloc(rest);
        memcpy(r->part, buf + off, rest);
        r->part_len = (uint32_t)rest;
        r->part_cap = (uint32_t)rest;
    }
    return rc;
}
