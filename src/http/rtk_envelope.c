/* SPDX-License-Identifier: MIT */
/* rtk_envelope.c - the RealtimeKit JSON error envelope without an allocation. */
#include "http/rtk_envelope.h"

#include <stdio.h>
#include <string.h>

#include "util/rtk_err.h"

/* A bounded writer: |len| counts what would have been written, so a short buffer is seen at
 * the end, once. */
struct out {
    char *buf;
    size_t cap, len;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->len < o->cap) {
        size_t room = o->cap - o->len;
        memcpy(o->buf + o->len, s, n < room ? n : room);
    }
    o->len += n;
}

#define HEAD "{\"success\":false,\"error\":{\"code\":"
#define MID ",\"message\":\""
#define TAIL "\"}}"

ssize_t rtk_envelope_error(char *buf, size_t cap, int status, const char *message)
{
    struct out o = {buf, cap, 0};
    char num[32];
    int n = snprintf(num, sizeof(num), "%d", status);
    put(&o, HEAD, sizeof(HEAD) - 1);
    put(&o, num, (size_t)n);
    put(&o, MID, sizeof(MID) - 1);
    for (const unsigned char *m = (const unsigned char *)message; *m; m++) {
        char esc[8];
        if (*m == '"' || *m == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*m;
            put(&o, esc, 2);
        } else if (*m < 0x20) { /* RFC 8259 7: control characters must be escaped */
            n = snprintf(esc, sizeof(esc), "\\u%04X", *m);
            put(&o, esc, (size_t)n);
        } else {
            put(&o, (const char *)m, 1);
        }
    }
    put(&o, TAIL, sizeof(TAIL) - 1);
    if (o.len + 1 > cap) {
        if (cap > 0)
            buf[cap - 1] = '\0';
        return RTK_ETOOBIG;
    }
    buf[o.len] = '\0';
    return (ssize_t)o.len;
}
