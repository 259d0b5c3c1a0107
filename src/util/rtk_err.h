/* SPDX-License-Identifier: MIT */
/* rtk_err.h - error codes shared by every rtkd module, and the aborting allocators. */
#ifndef RTK_ERR_H
#define RTK_ERR_H

#include <stddef.h>

/* Functions return 0 or a negative code. System errors stay negated errno (so libuv's UV_*
 * codes pass through unchanged); project codes start at -1000, grouped by hundreds. */
enum {
    RTK_EAGAIN = -1000,  /* parser needs more input: not an error */
    RTK_EPROTO = -1001,  /* the peer broke the protocol */
    RTK_ENOMEM = -1002,  /* allocation failed (only where we do not abort) */
    RTK_EINVAL = -1003,  /* bad argument or bad input value */
    RTK_ETOOBIG = -1004, /* a size limit was exceeded */
    RTK_ENOTFOUND = -1005,
    RTK_EEXIST = -1006,
    RTK_EDB = -1100,      /* the store answered this statement with an error */
    RTK_EUNAVAIL = -1101, /* the store is unreachable or the batch failed: nothing stored */
    RTK_EBUSY = -1102,    /* not now: the object is in the middle of a change; try again */
    RTK_EAUTH = -1200,    /* bad signature, malformed or expired token */
    RTK_EEXPIRED = -1201, /* token signature fine but past its expiry */
};

/* Returns a static description of |code| (project codes and negated errno alike). */
const char *rtk_strerror(int code);

/* Allocators that abort the process on out-of-memory (h2o's h2o_mem_alloc rule): callers never
 * check for NULL. Every size that came from the network is bounded before these are called. */
void *rtk_xmalloc(size_t n);
void *rtk_xcalloc(size_t n, size_t size);
void *rtk_xrealloc(void *p, size_t n);
char *rtk_xstrndup(const char *s, size_t n);

#endif
