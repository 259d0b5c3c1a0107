/* SPDX-License-Identifier: MIT */
/* rtk_time.c - wall clock and ISO-8601 conversion on the proleptic Gregorian calendar. */
#include "util/rtk_time.h"

#include <time.h>

#include "util/rtk_err.h"

#define MS_PER_DAY INT64_C(86400000)

/* Day numbers relative to 1970-01-01 for the proleptic Gregorian calendar. The year is shifted
 * to start in March so the leap day falls at the end, which makes day-of-year a linear function
 * of the month (the 153/5 ratio spreads 31/30-day months across each five-month run), and the
 * calendar repeats every 400 years = 146097 days. 719468 is the day number of 1970-01-01 counted
 * from 0000-03-01. We do this ourselves instead of timegm() so results never depend on TZ. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                         /* [0, 399] */
    int64_t mp = m > 2 ? m - 3 : m + 9;                  /* March = 0 */
    int64_t doy = (153 * mp + 2) / 5 + d - 1;            /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil(). */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                                      /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                    /* [0, 11] */
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

int64_t rtk_time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes |v| as exactly |n| decimal digits, zero-padded; |v| is known to fit. */
static char *put_digits(char *p, int64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

void rtk_time_iso(int64_t ms, char out[25])
{
    const int64_t lo = days_from_civil(0, 1, 1) * MS_PER_DAY;
    const int64_t hi = days_from_civil(9999, 12, 31) * MS_PER_DAY + MS_PER_DAY - 1;

    if (ms < lo)
        ms = lo;
    if (ms > hi)
        ms = hi;
    /* Floor division so instants before 1970 land on the right day. */
    int64_t days = ms / MS_PER_DAY, rem = ms % MS_PER_DAY;
    if (rem < 0) {
        rem += MS_PER_DAY;
        days--;
    }
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);

    char *p = out;
    p = put_digits(p, y, 4);
    *p++ = '-';
    p = put_digits(p, m, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p++ = 'T';
    p = put_digits(p, rem / 3600000, 2);
    *p++ = ':';
    p = put_digits(p, rem / 60000 % 60, 2);
    *p++ = ':';
    p = put_digits(p, rem / 1000 % 60, 2);
    *p++ = '.';
    p = put_digits(p, rem % 1000, 3);
    *p++ = 'Z';
    *p = '\0';
}

/* Reads exactly |n| decimal digits at |s|[*|pos|] into *|out| and advances *|pos|.
 * Returns 0, or -1 when fewer than |n| digits are there. */
static int get_digits(const char *s, size_t len, size_t *pos, int n, int *out)
{
    int v = 0;

    if (len - *pos < (size_t)n)
        return -1;
    for (int i = 0; i < n; i++) {
        char c = s[*pos + (size_t)i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *pos += (size_t)n;
    *out = v;
    return 0;
}

/* Consumes the character |c| at |s|[*|pos|]. Returns 0, or -1 if it is not there. */
static int expect(const char *s, size_t len, size_t *pos, char c)
{
    if (*pos >= len || s[*pos] != c)
        return -1;
    (*pos)++;
    return 0;
}

int rtk_time_parse_iso(const char *s, size_t len, int64_t *out_ms)
{
    size_t pos = 0;
    int year, mon, day, hour = 0, min = 0, sec = 0, msec = 0;
    int64_t offset_ms = 0;

    if (s == NULL || len == 0)
        return RTK_EINVAL;
    if (get_digits(s, len, &pos, 4, &year) || expect(s, len, &pos, '-') ||
        get_digits(s, len, &pos, 2, &mon) || expect(s, len, &pos, '-') ||
        get_digits(s, len, &pos, 2, &day))
        return RTK_EINVAL;
    if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon))
        return RTK_EINVAL;

    if (pos < len) {
        if (s[pos] != 'T' && s[pos] != 't')
            return RTK_EINVAL;
        pos++;
        if (get_digits(s, len, &pos, 2, &hour) || expect(s, len, &pos, ':') ||
            get_digits(s, len, &pos, 2, &min))
            return RTK_EINVAL;
        if (pos < len && s[pos] == ':') {
            pos++;
            if (get_digits(s, len, &pos, 2, &sec))
                return RTK_EINVAL;
            if (pos < len && s[pos] == '.') {
                pos++;
                size_t first = pos;
                /* Keep the first three digits; the rest only need to be digits. */
                while (pos < len && s[pos] >= '0' && s[pos] <= '9') {
                    if (pos - first < 3)
                        msec = msec * 10 + (s[pos] - '0');
                    pos++;
                }
                if (pos == first)
                    return RTK_EINVAL;
                for (size_t n = pos - first; n < 3; n++)
                    msec *= 10;
            }
        }
        if (hour > 23 || min > 59 || sec > 59)
            return RTK_EINVAL;

        if (pos < len) {
            char z = s[pos++];
            if (z == 'Z' || z == 'z') {
                /* UTC, nothing to add. */
            } else if (z == '+' || z == '-') {
                int oh, om;
                if (get_digits(s, len, &pos, 2, &oh) || expect(s, len, &pos, ':') ||
                    get_digits(s, len, &pos, 2, &om) || oh > 23 || om > 59)
                    return RTK_EINVAL;
                offset_ms = ((int64_t)oh * 60 + om) * 60000;
                if (z == '-')
                    offset_ms = -offset_ms;
            } else {
                return RTK_EINVAL;
            }
        }
    }
    if (pos != len)
        return RTK_EINVAL;

    /* A local time with offset +hh:mm is that much ahead of UTC, so subtract it. */
    *out_ms = days_from_civil(year, mon, day) * MS_PER_DAY +
              (((int64_t)hour * 60 + min) * 60 + sec) * 1000 + msec - offset_ms;
    return 0;
}
