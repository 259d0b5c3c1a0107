/* SPDX-License-Identifier: MIT */
/* rtk_ratelimit.h - token buckets keyed by a string (API token id, client IP). */
#ifndef RTK_RATELIMIT_H
#define RTK_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "util/rtk_map.h"

typedef struct rtk_ratelimit {
    double rate;     /* tokens per second; 0 disables the limit */
    double burst;    /* bucket size */
    size_t max_keys; /* memory bound: buckets that are full again are forgotten past this */
    rtk_map buckets; /* private */
} rtk_ratelimit;

/* |rate| per second with bursts of |burst|; rate 0 turns the limiter off. */
void rtk_ratelimit_init(rtk_ratelimit *rl, double rate, double burst, size_t max_keys);
void rtk_ratelimit_free(rtk_ratelimit *rl);

/* Takes one token for |key| at |now_ms|. Returns 1 if allowed; 0 if not, with the seconds
 * until a token is back in *retry_after (rounded up, at least 1). */
int rtk_ratelimit_take(rtk_ratelimit *rl, const char *key, int64_t now_ms, int *retry_after);

#endif
