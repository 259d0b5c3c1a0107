/* SPDX-License-Identifier: MIT */
/* rtk_b64.c - base64url and base64 codecs (RFC 4648). */
#include "util/rtk_b64.h"

#include <limits.h>
#include <stdint.h>

#include "util/rtk_err.h"

static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Shared encoder: whole 3-byte groups become 4 characters; a final group of 1 or 2 bytes
 * becomes 2 or 3 characters, followed by '=' up to 4 when |pad| is set. */
static size_t encode(const char *alphabet, int pad, const void *in, size_t len, char *out)
{
    const uint8_t *p = in;
    size_t o = 0, i = 0;

    for (; len - i >= 3; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = alphabet[v >> 6 & 63];
        out[o++] = alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        if (pad) {
            out[o++] = '=';
            out[o++] = '=';
        }
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = alphabet[v >> 6 & 63];
        if (pad)
            out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

size_t rtk_b64url_encode(const void *in, size_t len, char *out)
{
    return encode(url_alphabet, 0, in, len, out);
}

size_t rtk_b64_encode(const void *in, size_t len, char *out)
{
    return encode(std_alphabet, 1, in, len, out);
}

/* Returns the 6-bit value of base64url character |c|, or -1 if it is not in the alphabet. */
static int url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

ssize_t rtk_b64url_decode(const char *in, size_t len, void *out, size_t cap)
{
    uint8_t *dst = out;
    size_t rem = len % 4;

    if (len == 0)
        return 0;
    if (in == NULL || rem == 1)
        return RTK_EINVAL;
    /* A final group of 2 or 3 characters carries 1 or 2 bytes. Computed without 4*n/3 so it
     * cannot overflow. */
    size_t need = len / 4 * 3 + (rem == 0 ? 0 : rem - 1);
    if (need > cap || need > SSIZE_MAX)
        return RTK_EINVAL;

    size_t o = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < len; i++) {
        int v = url_value((unsigned char)in[i]);
        if (v < 0)
            return RTK_EINVAL;
        acc = acc << 6 | (uint32_t)v;
        if (i % 4 == 3) {
            dst[o++] = (uint8_t)(acc >> 16);
            dst[o++] = (uint8_t)(acc >> 8);
            dst[o++] = (uint8_t)acc;
            acc = 0;
        }
    }
    /* RFC 4648 section 3.5: the bits of the last character beyond the final byte must be zero,
     * otherwise two different strings would decode to the same bytes. */
    if (rem == 2) {
        if (acc & 0x0f)
            return RTK_EINVAL;
        dst[o++] = (uint8_t)(acc >> 4);
    } else if (rem == 3) {
        if (acc & 0x03)
            return RTK_EINVAL;
        dst[o++] = (uint8_t)(acc >> 10);
        dst[o++] = (uint8_t)(acc >> 2);
    }
    return (ssize_t)o;
}
