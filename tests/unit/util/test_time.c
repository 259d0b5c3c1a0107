/* SPDX-License-Identifier: MIT */
/* test_time.c - unit tests for util/rtk_time: ISO-8601 formatting and parsing, clock sanity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "util/rtk_err.h"
#include "util/rtk_time.h"

static void iso_is(int64_t ms, const char *want)
{
    char out[25];
    memset(out, 'x', sizeof(out));
    rtk_time_iso(ms, out);
    assert_string_equal(out, want);
}

static int64_t parse_ok(const char *s)
{
    int64_t ms = 0;
    int rc = rtk_time_parse_iso(s, strlen(s), &ms);
    if (rc != 0)
        fail_msg("rtk_time_parse_iso(\"%s\") = %d, want 0", s, rc);
    return ms;
}

static void parse_bad(const char *s)
{
    int64_t ms = 12345;
    int rc = rtk_time_parse_iso(s, strlen(s), &ms);
    if (rc != RTK_EINVAL)
        fail_msg("rtk_time_parse_iso(\"%s\") = %d, want RTK_EINVAL", s, rc);
    assert_int_equal(ms, 12345); /* untouched on failure */
}

static void now_is_sane(void **state)
{
    (void)state;
    int64_t a = rtk_time_now_ms();
    int64_t b = (int64_t)time(NULL) * 1000;
    assert_true(a > INT64_C(1700000000000)); /* after November 2023 */
    assert_true(a - b < 2000 && b - a < 2000);
}

static void iso_known_instants(void **state)
{
    (void)state;
    iso_is(0, "1970-01-01T00:00:00.000Z");
    iso_is(1, "1970-01-01T00:00:00.001Z");
    iso_is(INT64_C(1709210096789), "2024-02-29T12:34:56.789Z"); /* leap day */
    iso_is(INT64_C(1709251199999), "2024-02-29T23:59:59.999Z");
    iso_is(INT64_C(1709251200000), "2024-03-01T00:00:00.000Z");
    iso_is(INT64_C(946684799999), "1999-12-31T23:59:59.999Z");
    iso_is(INT64_C(946684800000), "2000-01-01T00:00:00.000Z");
    iso_is(INT64_C(951782400000), "2000-02-29T00:00:00.000Z"); /* 400-year leap */
    iso_is(INT64_C(1795681179123), "2026-11-26T08:19:39.123Z");
    iso_is(INT64_C(4107542400000), "2100-03-01T00:00:00.000Z"); /* 2100 is not leap */
    /* Before the epoch the day is floored, not truncated. */
    iso_is(-1, "1969-12-31T23:59:59.999Z");
    iso_is(INT64_C(-62167219200000), "0000-01-01T00:00:00.000Z");
    /* Out of the 4-digit-year range: clamped so the 25-byte buffer always fits. */
    iso_is(INT64_C(253402300799999), "9999-12-31T23:59:59.999Z");
    iso_is(INT64_C(253402300800000), "9999-12-31T23:59:59.999Z");
    iso_is(INT64_MAX, "9999-12-31T23:59:59.999Z");
    iso_is(INT64_MIN, "0000-01-01T00:00:00.000Z");
}

/* Cross-check against the C library's gmtime_r (UTC, so TZ-independent) over many instants. */
static void iso_matches_gmtime(void **state)
{
    (void)state;
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t ms = (int64_t)(x % UINT64_C(253402300800000)); /* 1970 .. 9999 */
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        assert_non_null(gmtime_r(&t, &tm));
        char want[64], got[25];
        snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
        rtk_time_iso(ms, got);
        assert_string_equal(got, want);
        int64_t back = 0;
        assert_int_equal(rtk_time_parse_iso(got, 24, &back), 0);
        assert_int_equal(back, ms);
    }
}

static void parse_round_trips(void **state)
{
    (void)state;
    static const int64_t instants[] = {
        0, 1, 999, 1000, INT64_C(946684799999), INT64_C(951782400000), INT64_C(1709210096789),
        INT64_C(1795681179123), INT64_C(253402300799999), -1, INT64_C(-62167219200000),
    };
    for (size_t i = 0; i < sizeof(instants) / sizeof(instants[0]); i++) {
        char s[25];
        rtk_time_iso(instants[i], s);
        assert_int_equal(parse_ok(s), instants[i]);
    }
    /* Every day of a leap and a common year. */
    for (int64_t d = 19358; d < 19358 + 366 + 365; d++) { /* 2023-01-01 .. 2024-12-31 */
        char s[25];
        rtk_time_iso(d * 86400000 + 43200123, s);
        assert_int_equal(parse_ok(s), d * 86400000 + 43200123);
    }
}

static void parse_forms_and_zones(void **state)
{
    (void)state;
    const int64_t leap = INT64_C(1709210096789); /* 2024-02-29T12:34:56.789Z */
    assert_int_equal(parse_ok("2024-02-29"), INT64_C(1709164800000));
    assert_int_equal(parse_ok("2024-02-29T12:34"), INT64_C(1709210040000));
    assert_int_equal(parse_ok("2024-02-29T12:34Z"), INT64_C(1709210040000));
    assert_int_equal(parse_ok("2024-02-29T12:34:56"), INT64_C(1709210096000));
    assert_int_equal(parse_ok("2024-02-29T12:34:56Z"), INT64_C(1709210096000));
    assert_int_equal(parse_ok("2024-02-29T12:34:56.789Z"), leap);
    assert_int_equal(parse_ok("2024-02-29T12:34:56.789"), leap);
    assert_int_equal(parse_ok("2024-02-29t12:34:56.789z"), leap);
    assert_int_equal(parse_ok("2024-02-29T12:34:56.789+00:00"), leap);
    assert_int_equal(parse_ok("2024-02-29T12:34:56.789-00:00"), leap);
    /* Fractions: one digit means tenths, extra digits are truncated. */
    assert_int_equal(parse_ok("2024-02-29T12:34:56.7Z"), leap - 89);
    assert_int_equal(parse_ok("2024-02-29T12:34:56.78Z"), leap - 9);
    assert_int_equal(parse_ok("2024-02-29T12:34:56.789999999Z"), leap);
    assert_int_equal(parse_ok("2024-02-29T12:34:56.000001Z"), leap - 789);
    /* Offsets: +hh:mm is ahead of UTC. */
    assert_int_equal(parse_ok("2024-02-29T14:34:56.789+02:00"), leap);
    assert_int_equal(parse_ok("2024-02-29T07:04:56.789-05:30"), leap);
    assert_int_equal(parse_ok("2024-03-01T01:30:00+02:30"), INT64_C(1709247600000));
    assert_int_equal(parse_ok("2024-03-01T00:00:00+23:59"), INT64_C(1709251200000) - 86340000);
    /* Offsets may cross the day, month and year. */
    assert_int_equal(parse_ok("2000-01-01T00:30:00+01:00"), INT64_C(946684800000) - 1800000);
    assert_int_equal(parse_ok("1999-12-31T23:00:00-01:00"), INT64_C(946684800000));
    /* Edges of each field. */
    assert_int_equal(parse_ok("2023-12-31T23:59:59.999Z"), INT64_C(1704067199999));
    assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parse_ok("0000-01-01"), INT64_C(-62167219200000));
    assert_int_equal(parse_ok("9999-12-31T23:59:59.999Z"), INT64_C(253402300799999));
    assert_int_equal(parse_ok("2000-02-29"), INT64_C(951782400000));
    assert_int_equal(parse_ok("2023-04-30"), INT64_C(1682812800000));

    /* No NUL needed: only |len| bytes are read. */
    int64_t ms = 0;
    assert_int_equal(rtk_time_parse_iso("2024-02-29T12:34:56.789Zjunk", 24, &ms), 0);
    assert_int_equal(ms, leap);
    assert_int_equal(rtk_time_parse_iso("2024-02-29T12:34junk", 10, &ms), 0);
    assert_int_equal(ms, INT64_C(1709164800000));
}

static void parse_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", " ", "garbage", "2024", "2024-02", "2024-2-29", "24-02-29", "20240229",
        "2023-02-29",            /* not a leap year */
        "1900-02-29",            /* century, not leap */
        "2024-02-30", "2024-04-31", "2024-06-31", "2024-09-31", "2024-11-31", "2024-01-32",
        "2024-13-01", "2024-00-10", "2024-01-00", "2024-99-99",
        "2024-01-01T24:00",      /* 24:00 is not accepted */
        "2024-01-01T24:00:00Z", "2024-01-01T23:60", "2024-01-01T23:59:60Z", "2024-01-01T23:59:99",
        "2024-01-01T", "2024-01-01T1", "2024-01-01T12", "2024-01-01T12:", "2024-01-01T12:3",
        "2024-01-01T12:34:", "2024-01-01T12:34:5", "2024-01-01T12:34:56.", "2024-01-01T12:34:56.Z",
        "2024-01-01T12:34:56,123Z", "2024-01-01 12:34:56Z", "2024-01-01X12:34:56Z",
        "2024-01-01Z",           /* zone without a time */
        "2024-01-01T12:34:56+02", "2024-01-01T12:34:56+0200", "2024-01-01T12:34:56+2:00",
        "2024-01-01T12:34:56+24:00", "2024-01-01T12:34:56+01:60", "2024-01-01T12:34:56UTC",
        "2024-01-01T12:34:56ZZ", "2024-01-01T12:34:56Z ", "2024-01-01T12:34:56.123Zjunk",
        "2024-01-01junk", "2024-01-01T12:34:56+02:00x", " 2024-01-01", "+2024-01-01",
        "-2024-01-01", "2024-01-01T-1:00", "2024-01-01T12:-1", "2024-0a-01", "２０２４-01-01",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        parse_bad(bad[i]);

    int64_t ms = 7;
    assert_int_equal(rtk_time_parse_iso(NULL, 0, &ms), RTK_EINVAL);
    assert_int_equal(rtk_time_parse_iso("2024-01-01", 0, &ms), RTK_EINVAL);
    assert_int_equal(rtk_time_parse_iso("2024-01-01", 9, &ms), RTK_EINVAL); /* truncated */
    /* An embedded NUL is just another bad character. */
    assert_int_equal(rtk_time_parse_iso("2024-01-01\0T00:00", 16, &ms), RTK_EINVAL);
    assert_int_equal(ms, 7);
}

/* Every prefix of a valid timestamp is either a valid shorter form or rejected, never read past
 * its length (ASan checks the latter since each prefix is copied to an exact-size buffer). */
static void parse_every_prefix(void **state)
{
    (void)state;
    static const char full[] = "2024-02-29T12:34:56.789+05:30";
    for (size_t n = 0; n <= sizeof(full) - 1; n++) {
        char *p = malloc(n ? n : 1);
        assert_non_null(p);
        memcpy(p, full, n);
        int64_t ms = 0;
        int rc = rtk_time_parse_iso(p, n, &ms);
        int valid = n == 10 || n == 16 || n == 19 || n == 21 || n == 22 || n == 23 || n == 29;
        assert_int_equal(rc, valid ? 0 : RTK_EINVAL);
        free(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(now_is_sane),
        cmocka_unit_test(iso_known_instants),
        cmocka_unit_test(iso_matches_gmtime),
        cmocka_unit_test(parse_round_trips),
        cmocka_unit_test(parse_forms_and_zones),
        cmocka_unit_test(parse_rejects),
        cmocka_unit_test(parse_every_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
