/* SPDX-License-Identifier: MIT */
/* rtk_ratelimit.c - keyed token buckets with a bounded number of keys. */
#include "util/rtk_ratelimit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/rtk_err.h"

typedef struct bucket {
    double tokens;
    int64_t at_ms; /* when |tokens| was computed */
    char key[];
} bucket;

void rtk_ratelimit_init(rtk_ratelimit *rl, double rate, double burst, size_t max_keys)
{
    rl->rate = rate;
    rl->burst = burst < 1 ? 1 : burst;
    rl->max_keys = max_keys ? max_keys : 100000;
    rtk_map_init(&rl->buckets);
}

void rtk_ratelimit_free(rtk_ratelimit *rl)
{
    size_t it = 0;
    void *v;
    while (rtk_map_next(&rl->buckets, &it, NULL, &v))
        free(v);
    rtk_map_free(&rl->buckets);
}

static double level(const rtk_ratelimit *rl, const bucket *b, int64_t now_ms)
{
    double t = b->tokens + (double)(now_ms - b->at_ms) * rl->rate / 1000.0;
    return t > rl->burst ? rl->burst : t;
}

/* Forgets every bucket that has refilled completely (it behaves exactly like a new one). If
 * none has, forgets an arbitrary one: memory stays bounded even when many keys are busy. */
static void purge(rtk_ratelimit *rl, int64_t now_ms)
{
    size_t it = 0, n = 0;
    void *v;
    bucket **dead = rtk_xcalloc(rl->buckets.count + 1, sizeof(*dead));
    while (rtk_map_next(&rl->buckets, &it, NULL, &v)) {
        if (level(rl, v, now_ms) >= rl->burst)
            dead[n++] = v;
    }
    if (n == 0) {
        it = 0;
        if (rtk_map_next(&rl->buckets, &it, NULL, &v))
            dead[n++] = v;
    }
    for (size_t i = 0; i < n; i++) {
        rtk_map_del(&rl->buckets, dead[i]->key);
        free(dead[i]);
    }
    free(dead);
}

int rtk_ratelimit_take(rtk_ratelimit *rl, const char *key, int64_t now_ms, int *retry_after)
{
    if (rl->rate <= 0)
        return 1;
    bucket *b = rtk_map_get(&rl->buckets, key);
    if (b == NULL) {
        if (rl->buckets.count >= rl->max_keys)
            purge(rl, now_ms);
        size_t n = strlen(key);
        b = rtk_xmalloc(sizeof(*b) + n + 1);
        memcpy(b->key, key, n + 1);
        b->tokens = rl->burst;
        b->at_ms = now_ms;
        rtk_map_put(&rl->buckets, b->key, b);
    }
    b->tokens = level(rl, b, now_ms);
    b->at_ms = now_ms;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return 1;
    }
    double wait = (1.0 - b->tokens) / rl->rate;
    *retry_after = (int)ceil(wait);
    if (*retry_after < 1)
        *retry_after = 1;
    return 0;
}
