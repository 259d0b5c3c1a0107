/* SPDX-License-Identifier: MIT */
/* rtk_time.h - wall-clock time in milliseconds and ISO-8601 / RFC 3339 formatting and parsing. */
#ifndef RTK_TIME_H
#define RTK_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Returns the wall clock (CLOCK_REALTIME) in milliseconds since the Unix epoch. Thread-safe. */
int64_t rtk_time_now_ms(void);

/* Formats |ms| (milliseconds since the Unix epoch) as UTC "YYYY-MM-DDTHH:MM:SS.mmmZ", 24
 * characters plus a NUL, into |out|. Instants before 0000-01-01T00:00:00.000Z or after
 * 9999-12-31T23:59:59.999Z are clamped to those bounds so the output always fits. Uses the
 * proleptic Gregorian calendar; never consults TZ or the locale. Thread-safe. */
void rtk_time_iso(int64_t ms, char out[25]);

/* Parses the ISO-8601 / RFC 3339 date-time in |s|[0..|len|) (no NUL needed) into milliseconds
 * since the Unix epoch, stored in *|out_ms|. Accepted forms:
 *   YYYY-MM-DD                                    (midnight UTC)
 *   YYYY-MM-DDTHH:MM[:SS[.f...]][zone]            zone: "Z", "+hh:mm", "-hh:mm", or none (= UTC)
 * 'T' and 'Z' may be lowercase (RFC 3339 section 5.6). Fractions take one or more digits and
 * are truncated to milliseconds. Every field is range-checked: month 01-12, day within the month
 * (leap years included), hour 00-23, minute 00-59, second 00-59 (leap second 60 is rejected),
 * zone hours 00-23 and minutes 00-59. Not TZ- or locale-dependent. Returns 0, or RTK_EINVAL
 * for anything else (empty, NULL, out of range, trailing characters); *out_ms is written only
 * on success. Thread-safe. */
int rtk_time_parse_iso(const char *s, size_t len, int64_t *out_ms);

#endif
