/* SPDX-License-Identifier: MIT */
/* fuzz_time.c - libFuzzer harness: ISO-8601 date-times from clients.
 *
 * Surface: rtk_time_parse_iso() (src/util/rtk_time.h) reads the start_time and end_time query
 * parameters of the meeting list (decoded into a 64-byte buffer there, so -max_len=64) and the
 * updated_at of stored documents. Checked:
 *   - it accepts exactly what a reference accepts (the grammar and ranges of rtk_time.h, the
 *     Gregorian leap rule written out here) and gives the instant glibc's timegm() gives;
 *   - a parse either fails or gives an instant within a day of 0000-01-01..9999-12-31 (the
 *     widest zone offset is under a day);
 *   - rtk_time_iso() of that instant is 24 characters of the form YYYY-MM-DDTHH:MM:SS.mmmZ,
 *     and parsing it back gives the same instant (when it is inside the clamping bounds),
 *     also with 't' and 'z' in lower case;
 *   - the input's first 8 bytes, read as an instant, format and parse back the same way
 *     (clamped to the bounds).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/rtk_err.h"
#include "util/rtk_time.h"

#define MS_PER_DAY INT64_C(86400000)
/* 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z in ms since the epoch. */
#define LO INT64_C(-62167219200000)
#define HI INT64_C(253402300799999)

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_time: invariant broken: %s\n", what);
    abort();
}

static int digits(const char *s, size_t n, size_t at, int k, int *out)
{
    int v = 0;
    if (at + (size_t)k > n)
        return 0;
    for (int i = 0; i < k; i++) {
        if (s[at + (size_t)i] < '0' || s[at + (size_t)i] > '9')
            return 0;
        v = v * 10 + (s[at + (size_t)i] - '0');
    }
    *out = v;
    return 1;
}

/* The reference: the grammar of rtk_time.h, field by field, with the range checks done
 * independently and the instant from glibc's timegm() (proleptic Gregorian, UTC). */
static int ref_parse(const char *s, size_t n, int64_t *out)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, oh = 0, om = 0, sign = 0;
    if (n < 10 || !digits(s, n, 0, 4, &y) || s[4] != '-' || !digits(s, n, 5, 2, &mo) ||
        s[7] != '-' || !digits(s, n, 8, 2, &d))
        return 0;
    size_t pos = 10;
    if (pos < n) {
        if ((s[pos] != 'T' && s[pos] != 't') || !digits(s, n, 11, 2, &h) || n < 14 ||
            s[13] != ':' || !digits(s, n, 14, 2, &mi))
            return 0;
        pos = 16;
        if (pos < n && s[pos] == ':') {
            if (!digits(s, n, pos + 1, 2, &sec))
                return 0;
            pos += 3;
            if (pos < n && s[pos] == '.') {
                size_t k = 0;
                while (pos + 1 + k < n && s[pos + 1 + k] >= '0' && s[pos + 1 + k] <= '9') {
                    if (k < 3)
                        ms = ms * 10 + (s[pos + 1 + k] - '0');
                    k++;
                }
                if (k == 0)
                    return 0;
                for (size_t i = k; i < 3; i++)
                    ms *= 10;
                pos += 1 + k;
            }
        }
        if (pos < n) {
            char z = s[pos];
            if (z == 'Z' || z == 'z') {
                pos++;
            } else if (z == '+' || z == '-') {
                if (!digits(s, n, pos + 1, 2, &oh) || pos + 3 >= n || s[pos + 3] != ':' ||
                    !digits(s, n, pos + 4, 2, &om))
                    return 0;
                sign = z == '+' ? 1 : -1;
                pos += 6;
            } else {
                return 0;
            }
        }
    }
    if (pos != n)
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || d > dim[mo - 1] + (mo == 2 && leap) || h > 23 || mi > 59 ||
        sec > 59 || oh > 23 || om > 59)
        return 0;
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    int64_t secs = (int64_t)timegm(&tm);
    *out = secs * 1000 + ms - (int64_t)sign * ((int64_t)oh * 60 + om) * 60000;
    return 1;
}

static void check_iso(int64_t ms)
{
    char iso[25];
    memset(iso, 'x', sizeof(iso));
    rtk_time_iso(ms, iso);
    if (iso[24] != '\0' || strlen(iso) != 24)
        fail("rtk_time_iso did not write 24 characters and a NUL");
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    for (int i = 0; i < 24; i++) {
        if (shape[i] == 'd' ? (iso[i] < '0' || iso[i] > '9') : iso[i] != shape[i])
            fail("rtk_time_iso output is not YYYY-MM-DDTHH:MM:SS.mmmZ");
    }
    int64_t back = 0;
    if (rtk_time_parse_iso(iso, 24, &back) != 0)
        fail("rtk_time_iso output does not parse");
    int64_t want = ms < LO ? LO : ms > HI ? HI : ms;
    if (back != want)
        fail("rtk_time_iso and rtk_time_parse_iso do not round-trip");
    iso[10] = 't';
    iso[23] = 'z';
    if (rtk_time_parse_iso(iso, 24, &back) != 0 || back != want)
        fail("lower-case t and z parse differently");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t ms = INT64_MIN + 7;
    int64_t before = ms;
    int rc = rtk_time_parse_iso((const char *)data, size, &ms);
    if (rc != 0 && rc != RTK_EINVAL)
        fail("undocumented return value");
    if (rc != 0 && ms != before)
        fail("*out_ms written on failure");
    int64_t want = 0;
    int ok = ref_parse((const char *)data, size, &want);
    if (ok != (rc == 0)) {
        fprintf(stderr, "fuzz_time: \"%.*s\": rtk_time_parse_iso %s, the reference %s\n", (int)size,
                (const char *)data, rc == 0 ? "accepts" : "refuses", ok ? "accepts" : "refuses");
        fail("rtk_time_parse_iso and the reference disagree on what is valid");
    }
    if (rc == 0 && ms != want)
        fail("rtk_time_parse_iso and timegm() disagree on the instant");
    if (rc == 0) {
        if (ms < LO - MS_PER_DAY || ms > HI + MS_PER_DAY)
            fail("parsed instant outside the representable years");
        if (size < 10)
            fail("accepted something shorter than YYYY-MM-DD");
        check_iso(ms);
    }
    if (size >= 8) {
        uint64_t u = 0;
        for (int i = 0; i < 8; i++)
            u = u << 8 | data[i];
        check_iso((int64_t)u);
    }
    return 0;
}
