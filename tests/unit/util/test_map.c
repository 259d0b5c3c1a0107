/* SPDX-License-Identifier: MIT */
/* test_map.c - the string map against a brute-force model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/rtk_map.h"

#define N 3000

static void matches_model_under_churn(void **state)
{
    (void)state;
    static char keys[N][16];
    static int present[N];
    rtk_map m;
    rtk_map_init(&m);
    for (int i = 0; i < N; i++)
        snprintf(keys[i], sizeof(keys[i]), "k%d", i);
    unsigned seed = 7;
    size_t live = 0;
    for (int step = 0; step < 60000; step++) {
        seed = seed * 1103515245u + 12345u;
        int k = (int)((seed >> 8) % N);
        if ((seed >> 4) & 1) {
            void *prev = rtk_map_put(&m, keys[k], &present[k]);
            assert_true(prev == (present[k] ? &present[k] : NULL));
            if (!present[k])
                live++;
            present[k] = 1;
        } else {
            void *v = rtk_map_del(&m, keys[k]);
            assert_true(v == (present[k] ? &present[k] : NULL));
            if (present[k])
                live--;
            present[k] = 0;
        }
        assert_int_equal(m.count, live);
    }
    for (int i = 0; i < N; i++)
        assert_true(rtk_map_get(&m, keys[i]) == (present[i] ? &present[i] : NULL));
    size_t it = 0, seen = 0;
    const char *k;
    void *v;
    while (rtk_map_next(&m, &it, &k, &v)) {
        assert_non_null(v);
        seen++;
    }
    assert_int_equal(seen, live);
    rtk_map_free(&m);
}

static void empty_map(void **state)
{
    (void)state;
    rtk_map m;
    rtk_map_init(&m);
    assert_null(rtk_map_get(&m, "x"));
    assert_null(rtk_map_del(&m, "x"));
    size_t it = 0;
    assert_int_equal(rtk_map_next(&m, &it, NULL, NULL), 0);
    rtk_map_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_model_under_churn),
        cmocka_unit_test(empty_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
