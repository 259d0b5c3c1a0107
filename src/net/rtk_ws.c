/* SPDX-License-Identifier: MIT */
/* rtk_ws.c - sans-I/O RFC 6455 server-side codec: accept key, strict frame parser, builders. */
#include "net/rtk_ws.h"

#include <assert.h>
#include <string.h>

#include <openssl/evp.h>

#include "util/rtk_err.h"

/*
 * Client frame layout (RFC 6455 §5.2); every client frame is masked:
 *
 *   byte 0     FIN | RSV1 | RSV2 | RSV3 | opcode(4)
 *   byte 1     MASK | len7
 *   2 or 8     extended length, network order, when len7 is 126 or 127
 *   4          masking key
 *   len        payload, XORed with the key
 *
 * rtk_ws_parse() is stateless about the frame it is reading: it re-reads the header on every
 * call and touches nothing until the whole frame is in the buffer, so a caller that appends
 * bytes and calls again gets the same answer however the input was split. Only a complete
 * frame is unmasked (in place) and moves |st| forward.
 */

_Static_assert(sizeof(rtk_ws_state) <= 16, "per-peer parser state must stay tiny");
_Static_assert(RTK_WS_MAX_MESSAGE <= UINT32_MAX, "msg_len is 32 bits");

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_KEY_LEN 24 /* base64 of a 16-byte nonce: 22 characters and "==" */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/*
 * UTF-8 validation (RFC 3629 §4) as a small state machine whose state fits in one byte, so it
 * survives between the fragments of a message. Beside "how many continuation bytes are still
 * due", four states narrow the range of the first continuation byte: that is what rejects
 * overlong 3- and 4-byte forms (E0 80..9F, F0 80..8F), UTF-16 surrogates (ED A0..BF) and code
 * points above U+10FFFF (F4 90..BF). Lead bytes C0, C1 (overlong 2-byte forms) and F5..FF never
 * start a valid sequence.
 */
enum {
    U8_ACCEPT = 0, /* at a code point boundary */
    U8_NEED1,      /* one more continuation byte, 80..BF */
    U8_NEED2,      /* two more, the next one 80..BF */
    U8_NEED3,      /* three more, the next one 80..BF */
    U8_E0,         /* after E0: next A0..BF, then one more */
    U8_ED,         /* after ED: next 80..9F, then one more */
    U8_F0,         /* after F0: next 90..BF, then two more */
    U8_F4,         /* after F4: next 80..8F, then two more */
    U8_REJECT,
};

static uint8_t utf8_step(uint8_t s, uint8_t c)
{
    switch (s) {
    case U8_ACCEPT:
        if (c < 0x80)
            return U8_ACCEPT;
        if (c >= 0xc2 && c <= 0xdf)
            return U8_NEED1;
        if (c == 0xe0)
            return U8_E0;
        if (c == 0xed)
            return U8_ED;
        if (c >= 0xe1 && c <= 0xef)
            return U8_NEED2;
        if (c == 0xf0)
            return U8_F0;
        if (c >= 0xf1 && c <= 0xf3)
            return U8_NEED3;
        if (c == 0xf4)
            return U8_F4;
        return U8_REJECT;
    case U8_NEED1:
    case U8_NEED2:
    case U8_NEED3:
        return (c >= 0x80 && c <= 0xbf) ? (uint8_t)(s - 1) : U8_REJECT;
    case U8_E0: return (c >= 0xa0 && c <= 0xbf) ? U8_NEED1 : U8_REJECT;
    case U8_ED: return (c >= 0x80 && c <= 0x9f) ? U8_NEED1 : U8_REJECT;
    case U8_F0: return (c >= 0x90 && c <= 0xbf) ? U8_NEED2 : U8_REJECT;
    case U8_F4: return (c >= 0x80 && c <= 0x8f) ? U8_NEED2 : U8_REJECT;
    default: return U8_REJECT;
    }
}

/* Runs the validator from state |s| over |n| bytes and returns the state it ends in. */
static uint8_t utf8_run(uint8_t s, const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        /* JSON is mostly ASCII: at a boundary, skip eight ASCII bytes at a time. */
        if (s == U8_ACCEPT && n - i >= 8) {
            uint64_t w;
            memcpy(&w, p + i, sizeof(w));
            if ((w & UINT64_C(0x8080808080808080)) == 0) {
                i += 8;
                continue;
            }
        }
        s = utf8_step(s, p[i++]);
        if (s == U8_REJECT)
            return U8_REJECT;
    }
    return s;
}

/* Codes a client may put in a close frame, and that we may send (RFC 6455 §7.4.1, §7.4.2):
 * 1004 is reserved, 1005, 1006 and 1015 must never appear on the wire, 1016-2999 are reserved
 * for future RFCs, 3000-4999 belong to libraries and applications. 1012-1014 were registered
 * with IANA after the RFC and are accepted (see the header). */
static int close_code_valid(unsigned code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

static int b64_value(char c)
{
    const char *p = c != '\0' ? strchr(b64_alphabet, c) : NULL;
    return p != NULL ? (int)(p - b64_alphabet) : -1;
}

/* Encodes |n| bytes as padded base64 into |out| (4 * ceil(n / 3) characters and a NUL). */
static void b64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *out++ = b64_alphabet[v >> 18];
        *out++ = b64_alphabet[(v >> 12) & 63];
        *out++ = b64_alphabet[(v >> 6) & 63];
        *out++ = b64_alphabet[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
        *out++ = b64_alphabet[v >> 18];
        *out++ = b64_alphabet[(v >> 12) & 63];
        *out++ = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
        *out++ = '=';
    }
    *out = '\0';
}

int rtk_ws_accept_key(const char *key, size_t key_len, char out[RTK_WS_ACCEPT_LEN + 1])
{
    out[0] = '\0';
    if (key_len != WS_KEY_LEN || key[22] != '=' || key[23] != '=')
        return RTK_EINVAL;
    for (size_t i = 0; i < 22; i++) {
        int v = b64_value(key[i]);
        if (v < 0)
            return RTK_EINVAL;
        /* The 22nd character holds the last 2 bits of byte 16 and 4 padding bits, which a
         * real base64 encoder leaves zero (RFC 4648 §3.5). */
        if (i == 21 && (v & 0x0f) != 0)
            return RTK_EINVAL;
    }

    uint8_t buf[WS_KEY_LEN + sizeof(WS_GUID) - 1];
    memcpy(buf, key, WS_KEY_LEN);
    memcpy(buf + WS_KEY_LEN, WS_GUID, sizeof(WS_GUID) - 1);
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    if (EVP_Digest(buf, sizeof(buf), md, &md_len, EVP_sha1(), NULL) != 1 || md_len != 20)
        return RTK_ENOMEM;
    b64_encode(md, md_len, out);
    return 0;
}

void rtk_ws_state_init(rtk_ws_state *st)
{
    memset(st, 0, sizeof(*st));
}

static ssize_t fail(uint16_t *close_code, uint16_t code)
{
    *close_code = code;
    return RTK_EPROTO;
}

/* XORs |n| bytes at |p| with the 4-byte |key|, eight bytes at a time where possible. The key
 * is repeated in memory order, so the word mask is right whatever the host's byte order. */
static void unmask(uint8_t *p, size_t n, const uint8_t key[4])
{
    uint8_t k8[8] = {key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]};
    uint64_t k;
    memcpy(&k, k8, sizeof(k));
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, sizeof(w));
        w ^= k;
        memcpy(p + i, &w, sizeof(w));
    }
    for (; i < n; i++)
        p[i] ^= key[i & 3];
}

ssize_t rtk_ws_parse(rtk_ws_state *st, uint8_t *buf, size_t len, rtk_ws_frame *out,
                     uint16_t *close_code)
{
    if (len == 0)
        return RTK_EAGAIN;

    /* Byte 0. No extension is negotiated, so every RSV bit must be clear (§5.2). */
    uint8_t b0 = buf[0];
    int fin = b0 >> 7, op = b0 & 0x0f;
    if (b0 & 0x70)
        return fail(close_code, RTK_WS_CLOSE_PROTOCOL);
    switch (op) {
    case RTK_WS_OP_CONT:
        if (st->msg_op == 0)
            return fail(close_code, RTK_WS_CLOSE_PROTOCOL);
        break;
    case RTK_WS_OP_TEXT:
        /* §5.4: fragments of one message may only be interleaved with control frames. */
        if (st->msg_op != 0)
            return fail(close_code, RTK_WS_CLOSE_PROTOCOL);
        break;
    case RTK_WS_OP_BINARY: return fail(close_code, RTK_WS_CLOSE_UNSUPPORTED);
    case RTK_WS_OP_CLOSE:
    case RTK_WS_OP_PING:
    case RTK_WS_OP_PONG:
        if (!fin) /* §5.5: control frames must not be fragmented */
            return fail(close_code, RTK_WS_CLOSE_PROTOCOL);
        break;
    default: return fail(close_code, RTK_WS_CLOSE_PROTOCOL);
    }
    int control = op >= RTK_WS_OP_CLOSE;

    /* Byte 1. A server must close on an unmasked client frame (§5.1). */
    if (len < 2)
        return RTK_EAGAIN;
    uint8_t b1 = buf[1];
    if (!(b1 & 0x80))
        return fail(close_code, RTK_WS_CLOSE_PROTOCOL);
    uint64_t plen = b1 & 0x7f;
    if (control && plen > RTK_WS_MAX_CONTROL)
        return fail(close_code, RTK_WS_CLOSE_PROTOCOL);

    /* Extended length, checked byte by byte so that a length that is already certain to be
     * too big (the prefix times 256^remaining exceeds what the message may still hold) fails
     * without waiting for the rest of the header. Control frames never get here with 126/127. */
    size_t ext = plen == 126 ? 2 : plen == 127 ? 8 : 0;
    uint64_t limit = RTK_WS_MAX_MESSAGE - (uint64_t)(control ? 0 : st->msg_len);
    if (ext != 0) {
        size_t have = len - 2 < ext ? len - 2 : ext;
        plen = 0;
        for (size_t i = 0; i < have; i++) {
            /* §5.2: the most significant bit of a 64-bit length must be 0. */
            if (ext == 8 && i == 0 && (buf[2] & 0x80))
                return fail(close_code, RTK_WS_CLOSE_PROTOCOL);
            plen = plen << 8 | buf[2 + i];
            if (plen > limit >> (8 * (ext - i - 1)))
                return fail(close_code, RTK_WS_CLOSE_TOO_BIG);
            /* Six zero bytes of a 64-bit length: whatever the last two say, the length fits
             * 16 bits, so it is not minimal (below); say so now instead of waiting. */
            if (ext == 8 && i == 5 && plen == 0)
                return fail(close_code, RTK_WS_CLOSE_PROTOCOL);
        }
        if (have < ext)
            return RTK_EAGAIN;
        /* §5.2: "the minimal number of bytes MUST be used to encode the length". */
        if ((ext == 2 && plen < 126) || (ext == 8 && plen <= UINT16_MAX))
            return fail(close_code, RTK_WS_CLOSE_PROTOCOL);
    } else if (plen > limit) {
        return fail(close_code, RTK_WS_CLOSE_TOO_BIG);
    }

    size_t hlen = 2 + ext + 4;
    size_t n = (size_t)plen; /* at most RTK_WS_MAX_MESSAGE here */
    if (len < hlen || len - hlen < n)
        return RTK_EAGAIN;

    /* The whole frame is here: unmask it and check the payload. */
    uint8_t *payload = buf + hlen;
    unmask(payload, n, buf + hlen - 4);
    if (op == RTK_WS_OP_TEXT || op == RTK_WS_OP_CONT) {
        uint8_t u = utf8_run(op == RTK_WS_OP_CONT ? st->utf8 : U8_ACCEPT, payload, n);
        if (u == U8_REJECT || (fin && u != U8_ACCEPT))
            return fail(close_code, RTK_WS_CLOSE_INVALID_DATA);
        if (fin) {
            rtk_ws_state_init(st);
        } else {
            st->msg_op = RTK_WS_OP_TEXT;
            st->msg_len += (uint32_t)n;
            st->utf8 = u;
        }
    } else if (op == RTK_WS_OP_CLOSE) {
        if (rtk_ws_close_parse(payload, n, close_code) < 0)
            return RTK_EPROTO;
    }

    out->payload = payload;
    out->len = n;
    out->opcode = (uint8_t)op;
    out->fin = (uint8_t)fin;
    return (ssize_t)(hlen + n);
}

ssize_t rtk_ws_frame_size(const uint8_t *buf, size_t len)
{
    if (len < 2)
        return RTK_EAGAIN;
    uint64_t plen = buf[1] & 0x7f;
    size_t ext = plen == 126 ? 2 : plen == 127 ? 8 : 0;
    if (len < 2 + ext)
        return RTK_EAGAIN;
    if (ext != 0) {
        plen = 0;
        for (size_t i = 0; i < ext; i++)
            plen = plen << 8 | buf[2 + i];
    }
    if (plen > RTK_WS_MAX_MESSAGE)
        return RTK_ETOOBIG;
    size_t hlen = 2 + ext + ((buf[1] & 0x80) ? 4 : 0);
    return (ssize_t)(hlen + plen);
}

int rtk_ws_is_close_frame(const uint8_t *buf, size_t len)
{
    if (len < 6 || buf[0] != (0x80 | RTK_WS_OP_CLOSE) || !(buf[1] & 0x80))
        return 0;
    size_t plen = buf[1] & 0x7f;
    return plen <= RTK_WS_MAX_CONTROL && len == 6 + plen;
}

int rtk_ws_close_parse(const uint8_t *payload, size_t len, uint16_t *close_code)
{
    if (len == 0)
        return RTK_WS_CLOSE_NO_STATUS;
    if (len == 1 || len > RTK_WS_MAX_CONTROL)
        return (int)fail(close_code, RTK_WS_CLOSE_PROTOCOL);
    unsigned code = (unsigned)payload[0] << 8 | payload[1];
    if (!close_code_valid(code))
        return (int)fail(close_code, RTK_WS_CLOSE_PROTOCOL);
    /* §5.5.1: the body after the code is UTF-8; §8.1 makes invalid data a 1007. */
    if (utf8_run(U8_ACCEPT, payload + 2, len - 2) != U8_ACCEPT)
        return (int)fail(close_code, RTK_WS_CLOSE_INVALID_DATA);
    return (int)code;
}

size_t rtk_ws_frame_header(uint8_t out[10], int opcode, size_t len)
{
    assert(opcode == RTK_WS_OP_TEXT || opcode == RTK_WS_OP_BINARY || opcode == RTK_WS_OP_CLOSE ||
           opcode == RTK_WS_OP_PING || opcode == RTK_WS_OP_PONG);
    assert(opcode < RTK_WS_OP_CLOSE || len <= RTK_WS_MAX_CONTROL);
    out[0] = (uint8_t)(0x80 | opcode);
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= UINT16_MAX) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    uint64_t v = len;
    for (int i = 9; i >= 2; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
    return 10;
}

size_t rtk_ws_close_frame(uint8_t out[127], uint16_t code, const char *reason)
{
    assert(code == RTK_WS_CLOSE_NO_STATUS || close_code_valid(code));
    if (code == RTK_WS_CLOSE_NO_STATUS)
        return rtk_ws_frame_header(out, RTK_WS_OP_CLOSE, 0);

    size_t n = reason != NULL ? strnlen(reason, RTK_WS_MAX_CLOSE_REASON + 1) : 0;
    if (n > RTK_WS_MAX_CLOSE_REASON) {
        /* Cut before the code point that straddles the limit, never inside one, so the
         * reason we send stays valid UTF-8. */
        n = RTK_WS_MAX_CLOSE_REASON;
        while (n > 0 && ((uint8_t)reason[n] & 0xc0) == 0x80)
            n--;
    }
    size_t h = rtk_ws_frame_header(out, RTK_WS_OP_CLOSE, 2 + n);
    out[h] = (uint8_t)(code >> 8);
    out[h + 1] = (uint8_t)code;
    if (n > 0)
        memcpy(out + h + 2, reason, n);
    return h + 2 + n;
}
