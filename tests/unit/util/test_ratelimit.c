/* SPDX-License-Identifier: MIT */
/* test_ratelimit.c - keyed token buckets: bursts, refill, independence, the key bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "util/rtk_ratelimit.h"

static void burst_then_refill(void **state)
{
    (void)state;
    rtk_ratelimit rl;
    int retry = 0;
    rtk_ratelimit_init(&rl, 25, 250, 0); /* 250 per 10 s */
    for (int i = 0; i < 250; i++)
        assert_int_equal(rtk_ratelimit_take(&rl, "tok", 1000, &retry), 1);
    assert_int_equal(rtk_ratelimit_take(&rl, "tok", 1000, &retry), 0);
    assert_int_equal(retry, 1);
    assert_int_equal(rtk_ratelimit_take(&rl, "other", 1000, &retry), 1); /* independent */
    assert_int_equal(rtk_ratelimit_take(&rl, "tok", 1039, &retry), 0);   /* 0.975 tokens */
    assert_int_equal(rtk_ratelimit_take(&rl, "tok", 1041, &retry), 1);   /* 1.025 tokens */
    /* Ten seconds later the bucket is full again, never fuller. */
    for (int i = 0; i < 250; i++)
        assert_int_equal(rtk_ratelimit_take(&rl, "tok", 20000, &retry), 1);
    assert_int_equal(rtk_ratelimit_take(&rl, "tok", 20000, &retry), 0);
    rtk_ratelimit_free(&rl);
}

static void retry_after_rounds_up(void **state)
{
    (void)state;
    rtk_ratelimit rl;
    int retry = 0;
    rtk_ratelimit_init(&rl, 0.25, 1, 0); /* one per 4 s */
    assert_int_equal(rtk_ratelimit_take(&rl, "ip", 0, &retry), 1);
    assert_int_equal(rtk_ratelimit_take(&rl, "ip", 0, &retry), 0);
    assert_int_equal(retry, 4);
    assert_int_equal(rtk_ratelimit_take(&rl, "ip", 2500, &retry), 0);
    assert_int_equal(retry, 2);
    rtk_ratelimit_free(&rl);
}

static void disabled_allows_everything(void **state)
{
    (void)state;
    rtk_ratelimit rl;
    int retry = 0;
    rtk_ratelimit_init(&rl, 0, 1, 0);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(rtk_ratelimit_take(&rl, "k", 0, &retry), 1);
    assert_int_equal(rl.buckets.count, 0);
    rtk_ratelimit_free(&rl);
}

static void key_count_is_bounded(void **state)
{
    (void)state;
    rtk_ratelimit rl;
    int retry = 0;
    char key[32];
    rtk_ratelimit_init(&rl, 50, 50, 100);
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "10.0.0.%d", i);
        /* One token each, then time passes: earlier buckets are full again and forgettable. */
        assert_int_equal(rtk_ratelimit_take(&rl, key, (int64_t)i * 100, &retry), 1);
        assert_true(rl.buckets.count <= 100);
    }
    rtk_ratelimit_free(&rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(burst_then_refill),
        cmocka_unit_test(retry_after_rounds_up),
        cmocka_unit_test(disabled_allows_everything),
        cmocka_unit_test(key_count_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
