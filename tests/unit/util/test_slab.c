/* SPDX-License-Identifier: MIT */
/* test_slab.c - the slab of long-lived fixed-size objects (util/rtk_slab). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "util/rtk_slab.h"

typedef struct obj {
    void *a, *b;
    int64_t n;
    char name[37];
} obj;

/* Objects come zeroed, distinct and aligned, and a freed slot is handed out again. */
static void zeroed_distinct_and_reused(void **state)
{
    (void)state;
    rtk_slab s;
    rtk_slab_init(&s, sizeof(obj));
    obj *x = rtk_slab_calloc(&s), *y = rtk_slab_calloc(&s);
    assert_non_null(x);
    assert_ptr_not_equal(x, y);
    assert_int_equal((uintptr_t)x % 8, 0);
    assert_int_equal((uintptr_t)y % 8, 0);
    assert_true((char *)y >= (char *)(x + 1) || (char *)x >= (char *)(y + 1)); /* no overlap */
    const obj zero = {0};
    assert_memory_equal(x, &zero, sizeof(zero));
    memset(x, 0xab, sizeof(*x));
    rtk_slab_free(&s, x);
    obj *z = rtk_slab_calloc(&s);
    assert_ptr_equal(z, x);                      /* the freed slot first */
    assert_memory_equal(z, &zero, sizeof(zero)); /* and zeroed again */
    assert_int_equal(s.used, 2);
    rtk_slab_free(&s, y);
    rtk_slab_free(&s, z);
    rtk_slab_free(&s, NULL);
    assert_int_equal(s.used, 0);
    rtk_slab_fini(&s);
    assert_int_equal(s.blocks, 0);
}

/* Many objects take few blocks; freeing them all gives every block but one back, and a
 * later burst reuses what is left before mapping more. */
static void blocks_fill_and_are_returned(void **state)
{
    (void)state;
    enum { N = 20000 };
    rtk_slab s;
    rtk_slab_init(&s, 312);
    void **p = calloc(N, sizeof(*p));
    for (int i = 0; i < N; i++) {
        p[i] = rtk_slab_calloc(&s);
        memset(p[i], i & 0xff, 312); /* the whole object is ours */
    }
    assert_int_equal(s.used, N);
    size_t per = s.per, blocks = s.blocks;
    assert_true(per >= 150); /* 64 KiB blocks of 320-byte slots */
    assert_int_equal(blocks, (N + per - 1) / per);
    for (int i = 0; i < N; i++) /* each object kept its bytes: no slot overlaps another */
        assert_int_equal(((unsigned char *)p[i])[311], i & 0xff);
    for (int i = 0; i < N; i += 2) /* half, scattered: no block empties */
        rtk_slab_free(&s, p[i]);
    assert_int_equal(s.blocks, blocks);
    for (int i = 0; i < N; i += 2)
        p[i] = rtk_slab_calloc(&s);
    assert_int_equal(s.blocks, blocks); /* the holes were filled first */
    for (int i = 0; i < N; i++)
        rtk_slab_free(&s, p[i]);
    assert_int_equal(s.used, 0);
    assert_int_equal(s.blocks, 1); /* one kept for the next allocation */
    rtk_slab_fini(&s);
    assert_int_equal(s.blocks, 0);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(zeroed_distinct_and_reused),
        cmocka_unit_test(blocks_fill_and_are_returned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
