/* SPDX-License-Identifier: MIT */
/* test_jw.c - the JSON text writer: escapes, numbers as jansson writes them, growth from the
 * stack to the heap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "util/rtk_jw.h"

static void strings_are_escaped_into_valid_json(void **state)
{
    (void)state;
    char stack[8];
    rtk_jw w;
    rtk_jw_init(&w, stack, sizeof(stack));
    static const char nasty[] = "q\" b\\ \n\r\t\b\f \x01\x1f caf\xc3\xa9 \xf0\x9f\x98\x80 /";
    RTK_JW_LIT(&w, "[");
    rtk_jw_strn(&w, nasty, sizeof(nasty) - 1);
    RTK_JW_LIT(&w, ",");
    rtk_jw_str(&w, NULL);
    RTK_JW_LIT(&w, "]");
    json_t *j = json_loadb(w.buf, w.len, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_array_get(j, 0)), nasty);
    assert_true(json_is_null(json_array_get(j, 1)));
    json_decref(j);
    assert_ptr_not_equal(w.buf, stack); /* it outgrew the stack buffer */
    /* A string with a NUL keeps its length. */
    rtk_jw_free(&w);
    rtk_jw_init(&w, NULL, 0);
    rtk_jw_strn(&w, "a\0b", 3);
    assert_int_equal(w.len, 10);
    assert_memory_equal(w.buf, "\"a\\u0000b\"", 10);
    size_t n;
    char *s = rtk_jw_take(&w, &n);
    assert_int_equal(n, 10);
    assert_int_equal(s[10], '\0');
    free(s);
}

static void numbers_as_jansson_writes_them(void **state)
{
    (void)state;
    static const double reals[] = {0.0, 1.0, 1.5, 1e-7, 123456789.125, 2.0 / 3.0};
    for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
        rtk_jw w;
        rtk_jw_init(&w, NULL, 0);
        rtk_jw_real(&w, reals[i]);
        json_t *r = json_real(reals[i]);
        char *want = json_dumps(r, JSON_ENCODE_ANY | JSON_COMPACT);
        assert_int_equal(w.len, strlen(want));
        assert_memory_equal(w.buf, want, w.len);
        free(want);
        json_decref(r);
        rtk_jw_free(&w);
    }
    rtk_jw w;
    rtk_jw_init(&w, NULL, 0);
    rtk_jw_int(&w, INT64_MIN);
    RTK_JW_LIT(&w, " ");
    rtk_jw_bool(&w, 1);
    RTK_JW_LIT(&w, " ");
    rtk_jw_time(&w, 1700000000123);
    char *s = rtk_jw_take(&w, NULL);
    assert_string_equal(s, "-9223372036854775808 true \"2023-11-14T22:13:20.123Z\"");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strings_are_escaped_into_valid_json),
        cmocka_unit_test(numbers_as_jansson_writes_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
