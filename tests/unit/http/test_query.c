/* SPDX-License-Identifier: MIT */
/* test_query.c - query-string decoding and paging parameters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "http/rtk_query.h"
#include "util/rtk_err.h"

static int get(const char *q, const char *key, char *out, size_t cap)
{
    return rtk_query_get(q, strlen(q), key, out, cap);
}

static void finds_and_decodes(void **state)
{
    (void)state;
    char v[64];
    assert_int_equal(get("a=1&search=hello+w%6Frld&b=2", "search", v, sizeof(v)), 1);
    assert_string_equal(v, "hello world");
    assert_int_equal(get("a=1&b=2", "search", v, sizeof(v)), 0);
    assert_int_equal(get("search", "search", v, sizeof(v)), 1);
    assert_string_equal(v, "");
    assert_int_equal(get("searchx=1&search=2", "search", v, sizeof(v)), 1);
    assert_string_equal(v, "2");
    assert_int_equal(get("s=%25%27", "s", v, sizeof(v)), 1);
    assert_string_equal(v, "%'");
    assert_int_equal(rtk_query_get(NULL, 0, "s", v, sizeof(v)), 0);
}

static void rejects_bad_escapes_and_overflow(void **state)
{
    (void)state;
    char v[8];
    assert_int_equal(get("s=%", "s", v, sizeof(v)), RTK_EINVAL);
    assert_int_equal(get("s=%4", "s", v, sizeof(v)), RTK_EINVAL);
    assert_int_equal(get("s=%zz", "s", v, sizeof(v)), RTK_EINVAL);
    assert_int_equal(get("s=%00", "s", v, sizeof(v)), RTK_EINVAL);
    assert_int_equal(get("s=12345678", "s", v, sizeof(v)), RTK_EINVAL);
    assert_int_equal(get("s=1234567", "s", v, sizeof(v)), 1);
}

static void never_reads_past_length(void **state)
{
    (void)state;
    char v[8];
    const char q[] = "s=ab%41";
    /* Cut inside the escape: the bytes after |len| must not be used. */
    assert_int_equal(rtk_query_get(q, 5, "s", v, sizeof(v)), RTK_EINVAL);
    assert_int_equal(rtk_query_get(q, 4, "s", v, sizeof(v)), 1);
    assert_string_equal(v, "ab");
}

static void paging_defaults_and_limits(void **state)
{
    (void)state;
    int64_t page, per;
    const char *bad = NULL;
    assert_int_equal(rtk_query_paging(NULL, 0, &page, &per, &bad), 0);
    assert_int_equal(page, 1);
    assert_int_equal(per, 25);
    const char *ok = "page_no=3&per_page=100";
    assert_int_equal(rtk_query_paging(ok, strlen(ok), &page, &per, &bad), 0);
    assert_int_equal(page, 3);
    assert_int_equal(per, 100);
    static const struct {
        const char *q;
        const char *field;
    } bads[] = {
        {"page_no=0", "page_no"},   {"page_no=-1", "page_no"},
        {"page_no=abc", "page_no"}, {"page_no=", "page_no"},
        {"page_no=1e3", "page_no"}, {"page_no=99999999999999999999999", "page_no"},
        {"per_page=0", "per_page"}, {"per_page=101", "per_page"},
        {"per_page=1.5", "per_page"},
    };
    for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        bad = NULL;
        assert_int_equal(rtk_query_paging(bads[i].q, strlen(bads[i].q), &page, &per, &bad),
                         RTK_EINVAL);
        assert_string_equal(bad, bads[i].field);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(finds_and_decodes),
        cmocka_unit_test(rejects_bad_escapes_and_overflow),
        cmocka_unit_test(never_reads_past_length),
        cmocka_unit_test(paging_defaults_and_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
