/* SPDX-License-Identifier: MIT */
/* rtk_query.h - query-string lookup (application/x-www-form-urlencoded) and paging parameters. */
#ifndef RTK_QUERY_H
#define RTK_QUERY_H

#include <stddef.h>
#include <stdint.h>

#define RTK_PER_PAGE_DEFAULT 25
#define RTK_PER_PAGE_MAX 100

/* Finds the first |key| in |q| (without '?') and percent-decodes its value ('+' is a space)
 * into out[cap] with a NUL. Returns 1 when found, 0 when absent, RTK_EINVAL when the value
 * has a bad escape, a NUL byte, is not valid UTF-8, or does not fit in |cap| - 1 bytes. Never reads past |len|. */
int rtk_query_get(const char *q, size_t len, const char *key, char *out, size_t cap);

/* Parses an optional non-negative decimal integer parameter. Returns 1 and sets *v when
 * present, 0 when absent, RTK_EINVAL when not an integer in [min, max]. */
int rtk_query_int(const char *q, size_t len, const char *key, int64_t min, int64_t max,
                  int64_t *v);

/* page_no (>= 1, default 1) and per_page (1..100, default 25). On RTK_EINVAL, *bad names the
 * offending parameter. */
int rtk_query_paging(const char *q, size_t len, int64_t *page_no, int64_t *per_page,
                     const char **bad);

#endif
