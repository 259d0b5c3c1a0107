/* SPDX-License-Identifier: MIT */
/* rtk_id.c - random identifiers from the OpenSSL CSPRNG. */
#include "util/rtk_id.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/rand.h>

#include "util/rtk_err.h"

static const char hexdigits[] = "0123456789abcdef";

int rtk_random_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;

    if (n == 0)
        return 0;
    if (buf == NULL)
        return RTK_EINVAL;
    /* RAND_bytes takes an int count, so very large requests go in chunks. */
    while (n > 0) {
        int chunk = n > INT_MAX ? INT_MAX : (int)n;
        if (RAND_bytes(p, chunk) != 1)
            return RTK_EINVAL;
        p += chunk;
        n -= (size_t)chunk;
    }
    return 0;
}

static void must_random(void *buf, size_t n)
{
    if (rtk_random_bytes(buf, n) != 0) {
        fprintf(stderr, "rtkd: the OpenSSL CSPRNG failed; refusing to make predictable ids\n");
        abort();
    }
}

void rtk_id_uuid4(char out[37])
{
    uint8_t b[16];
    size_t o = 0;

    must_random(b, sizeof(b));
    /* RFC 9562 section 5.4: the high nibble of octet 6 is the version (4), the two high bits of
     * octet 8 are the variant (binary 10). */
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    for (size_t i = 0; i < sizeof(b); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hexdigits[b[i] >> 4];
        out[o++] = hexdigits[b[i] & 0x0f];
    }
    out[o] = '\0';
}

void rtk_id_hex(char *out, size_t nbytes)
{
    uint8_t b[64];
    size_t o = 0;

    /* Draw in fixed-size batches so any length works without a VLA or an allocation. */
    while (nbytes > 0) {
        size_t chunk = nbytes > sizeof(b) ? sizeof(b) : nbytes;
        must_random(b, chunk);
        for (size_t i = 0; i < chunk; i++) {
            out[o++] = hexdigits[b[i] >> 4];
            out[o++] = hexdigits[b[i] & 0x0f];
        }
        nbytes -= chunk;
    }
    out[o] = '\0';
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int rtk_id_is_uuid(const char *s, size_t len)
{
    if (s == NULL || len != 36)
        return 0;
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!is_hex(s[i])) {
            return 0;
        }
    }
    return 1;
}

int rtk_id_is_hex32(const char *s, size_t len)
{
    if (s == NULL || len != 32)
        return 0;
    for (size_t i = 0; i < 32; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return 1;
}
