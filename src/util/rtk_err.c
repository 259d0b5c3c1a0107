/* SPDX-License-Identifier: MIT */
/* rtk_err.c - error strings and the aborting allocators. */
#include "rtk_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *rtk_strerror(int code)
{
    switch (code) {
    case 0: return "ok";
    case RTK_EAGAIN: return "need more input";
    case RTK_EPROTO: return "protocol error";
    case RTK_ENOMEM: return "out of memory";
    case RTK_EINVAL: return "invalid argument";
    case RTK_ETOOBIG: return "too large";
    case RTK_ENOTFOUND: return "not found";
    case RTK_EEXIST: return "already exists";
    case RTK_EDB: return "storage error";
    case RTK_EUNAVAIL: return "the store is unavailable";
    case RTK_EBUSY: return "busy";
    case RTK_EAUTH: return "authentication failed";
    case RTK_EEXPIRED: return "token expired";
    default:
        if (code < 0 && code > -1000)
            return strerror(-code);
        return "unknown error";
    }
}

static void oom(size_t n)
{
    fprintf(stderr, "rtkd: out of memory allocating %zu bytes\n", n);
    abort();
}

void *rtk_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        oom(n);
    return p;
}

void *rtk_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        oom(n * size);
    return p;
}

void *rtk_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        oom(n);
    return q;
}

char *rtk_xstrndup(const char *s, size_t n)
{
    char *d = rtk_xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}
