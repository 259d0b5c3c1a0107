/* SPDX-License-Identifier: MIT */
/* test_id.c - unit tests for util/rtk_id: UUIDv4 and hex ids from the CSPRNG, and their checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/rtk_err.h"
#include "util/rtk_id.h"

#define MANY 20000

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static void uuid4_has_canonical_lowercase_form(void **state)
{
    (void)state;
    for (int i = 0; i < 1000; i++) {
        char id[37];
        memset(id, 'x', sizeof(id));
        rtk_id_uuid4(id);
        assert_int_equal(strlen(id), 36);
        assert_int_equal(rtk_id_is_uuid(id, 36), 1);
        for (size_t k = 0; k < 36; k++) {
            if (k == 8 || k == 13 || k == 18 || k == 23)
                assert_int_equal(id[k], '-');
            else
                assert_in_range(hexval(id[k]), 0, 15); /* lowercase hex only */
        }
    }
}

static void uuid4_sets_version_and_variant(void **state)
{
    (void)state;
    int seen_variant[4] = {0};
    for (int i = 0; i < 1000; i++) {
        char id[37];
        rtk_id_uuid4(id);
        assert_int_equal(id[14], '4'); /* version nibble: first digit of group 3 */
        int v = hexval(id[19]);        /* variant: top two bits of group 4 are binary 10 */
        assert_int_equal(v & 0xc, 0x8);
        seen_variant[v & 3] = 1;
    }
    /* The two low bits of that nibble stay random. */
    for (int k = 0; k < 4; k++)
        assert_int_equal(seen_variant[k], 1);
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void uuid4_is_unique(void **state)
{
    (void)state;
    char (*ids)[37] = calloc(MANY, sizeof(*ids));
    assert_non_null(ids);
    for (int i = 0; i < MANY; i++)
        rtk_id_uuid4(ids[i]);
    qsort(ids, MANY, sizeof(*ids), cmp_id);
    for (int i = 1; i < MANY; i++)
        assert_string_not_equal(ids[i - 1], ids[i]);
    free(ids);
}

static void hex_ids(void **state)
{
    (void)state;
    char a[33], b[33];
    rtk_id_hex(a, 16);
    rtk_id_hex(b, 16);
    assert_int_equal(strlen(a), 32);
    assert_int_equal(rtk_id_is_hex32(a, 32), 1);
    assert_int_equal(rtk_id_is_hex32(b, 32), 1);
    assert_string_not_equal(a, b);

    /* Zero bytes give an empty string; odd and multi-batch lengths are exact. */
    char z[1] = {'x'};
    rtk_id_hex(z, 0);
    assert_int_equal(z[0], '\0');
    for (size_t n = 1; n <= 200; n += 7) {
        char buf[2 * 200 + 2];
        memset(buf, 'x', sizeof(buf));
        rtk_id_hex(buf, n);
        assert_int_equal(strlen(buf), 2 * n);
        assert_int_equal(buf[2 * n + 1], 'x'); /* nothing written past the NUL */
        for (size_t k = 0; k < 2 * n; k++)
            assert_in_range(hexval(buf[k]), 0, 15);
    }

    /* Every hex digit shows up over many ids (no stuck nibble). */
    int seen[16] = {0};
    for (int i = 0; i < 100; i++) {
        rtk_id_hex(a, 16);
        for (int k = 0; k < 32; k++)
            seen[hexval(a[k])] = 1;
    }
    for (int k = 0; k < 16; k++)
        assert_int_equal(seen[k], 1);
}

static void random_bytes(void **state)
{
    (void)state;
    uint8_t a[32] = {0}, b[32] = {0}, zero[32] = {0};
    assert_int_equal(rtk_random_bytes(a, sizeof(a)), 0);
    assert_int_equal(rtk_random_bytes(b, sizeof(b)), 0);
    assert_memory_not_equal(a, zero, sizeof(a));
    assert_memory_not_equal(a, b, sizeof(a));
    assert_int_equal(rtk_random_bytes(NULL, 0), 0);
    assert_int_equal(rtk_random_bytes(a, 0), 0);
    assert_int_equal(rtk_random_bytes(NULL, 1), RTK_EINVAL);
}

static void is_uuid_edge_cases(void **state)
{
    (void)state;
    static const char ok_lower[] = "123e4567-e89b-12d3-a456-426614174000";
    static const char ok_upper[] = "123E4567-E89B-12D3-A456-426614174000";
    static const char ok_mixed[] = "AbCdEf01-2345-6789-aBcD-eF0123456789";
    assert_int_equal(rtk_id_is_uuid(ok_lower, 36), 1);
    assert_int_equal(rtk_id_is_uuid(ok_upper, 36), 1);
    assert_int_equal(rtk_id_is_uuid(ok_mixed, 36), 1);
    assert_int_equal(rtk_id_is_uuid("00000000-0000-0000-0000-000000000000", 36), 1);

    /* Length must be exactly 36: the same prefix is not enough, and neither is extra. */
    assert_int_equal(rtk_id_is_uuid(ok_lower, 35), 0);
    assert_int_equal(rtk_id_is_uuid("123e4567-e89b-12d3-a456-4266141740000", 37), 0);
    assert_int_equal(rtk_id_is_uuid("", 0), 0);
    assert_int_equal(rtk_id_is_uuid(NULL, 0), 0);
    assert_int_equal(rtk_id_is_uuid(NULL, 36), 0);

    /* Any single non-hex or misplaced character is refused, at every position. */
    for (size_t i = 0; i < 36; i++) {
        static const char bad[] = {'g', 'G', '-', ' ', '\0', '{', 'z', '_'};
        for (size_t k = 0; k < sizeof(bad); k++) {
            char s[37];
            memcpy(s, ok_lower, sizeof(s));
            int dash = i == 8 || i == 13 || i == 18 || i == 23;
            if (dash && bad[k] == '-')
                continue;
            s[i] = bad[k];
            assert_int_equal(rtk_id_is_uuid(s, 36), 0);
        }
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            char s[37];
            memcpy(s, ok_lower, sizeof(s));
            s[i] = 'a'; /* hex where a dash belongs */
            assert_int_equal(rtk_id_is_uuid(s, 36), 0);
        }
    }
    /* Braced, URN and dashless forms are not canonical. */
    assert_int_equal(rtk_id_is_uuid("{23e4567-e89b-12d3-a456-42661417400}", 36), 0);
    assert_int_equal(rtk_id_is_uuid("123e4567e89b12d3a456426614174000", 32), 0);
    assert_int_equal(rtk_id_is_uuid("123e4567-e89b12d3-a456-4266141740000", 36), 0);
}

static void is_hex32_edge_cases(void **state)
{
    (void)state;
    static const char ok[] = "0123456789abcdef0123456789abcdef";
    assert_int_equal(rtk_id_is_hex32(ok, 32), 1);
    assert_int_equal(rtk_id_is_hex32(ok, 31), 0);
    assert_int_equal(rtk_id_is_hex32("0123456789abcdef0123456789abcdef0", 33), 0);
    assert_int_equal(rtk_id_is_hex32("", 0), 0);
    assert_int_equal(rtk_id_is_hex32(NULL, 32), 0);
    assert_int_equal(rtk_id_is_hex32("0123456789ABCDEF0123456789abcdef", 32), 0); /* uppercase */
    for (size_t i = 0; i < 32; i++) {
        char s[33];
        memcpy(s, ok, sizeof(s));
        s[i] = 'g';
        assert_int_equal(rtk_id_is_hex32(s, 32), 0);
        s[i] = '\0';
        assert_int_equal(rtk_id_is_hex32(s, 32), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(uuid4_has_canonical_lowercase_form),
        cmocka_unit_test(uuid4_sets_version_and_variant),
        cmocka_unit_test(uuid4_is_unique),
        cmocka_unit_test(hex_ids),
        cmocka_unit_test(random_bytes),
        cmocka_unit_test(is_uuid_edge_cases),
        cmocka_unit_test(is_hex32_edge_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
