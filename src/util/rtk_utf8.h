/* SPDX-License-Identifier: MIT */
/* rtk_utf8.h - UTF-8 validation (RFC 3629): what every text the store keeps must be. */
#ifndef RTK_UTF8_H
#define RTK_UTF8_H

#include <stddef.h>

/* 1 if |s|[0..|n|) is valid UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF),
 * else 0. */
int rtk_utf8_valid(const char *s, size_t n);

#endif
