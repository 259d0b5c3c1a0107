/* SPDX-License-Identifier: MIT */
/* rtk_jw.h - a JSON text writer: values appended to a buffer that starts on the caller's
 * stack and moves to the heap only when it outgrows it.
 *
 * For the objects rtkd serialises on hot paths (the session object, poll views, channel
 * messages): no tree is built, so one serialisation costs one pass over the data. Strings
 * must be valid UTF-8 (everything rtkd stores passed the JSON validators); they are escaped
 * so that the output is valid JSON: quote, backslash and control characters. */
#ifndef RTK_JW_H
#define RTK_JW_H

#include <stddef.h>
#include <stdint.h>

typedef struct rtk_jw {
    char *buf;  /* read-only */
    size_t len; /* read-only: bytes written */
    size_t cap; /* private */
    int heap;   /* private: buf was allocated here */
} rtk_jw;

/* Starts writing into |stack| (|cap| bytes, may be 0 with NULL). */
void rtk_jw_init(rtk_jw *w, char *stack, size_t cap);
/* Frees the heap buffer, if any. */
void rtk_jw_free(rtk_jw *w);
/* Hands the text over as a NUL-terminated heap string (the caller frees it); |w| is empty. */
char *rtk_jw_take(rtk_jw *w, size_t *len);

void rtk_jw_raw(rtk_jw *w, const char *s, size_t n);
/* rtk_jw_raw of a string literal. */
#define RTK_JW_LIT(w, lit) rtk_jw_raw((w), (lit), sizeof(lit) - 1)
/* A JSON string (quoted, escaped), or null when |s| is NULL. */
void rtk_jw_str(rtk_jw *w, const char *s);
void rtk_jw_strn(rtk_jw *w, const char *s, size_t n);
/* A JSON string of at most |max_chars| characters (code points) of |s|: a longer one is cut
 * at a character boundary. NULL writes null. */
void rtk_jw_str_trunc(rtk_jw *w, const char *s, size_t max_chars);
/* The length rtk_jw_strn would write for |s| (|n| bytes), quotes included. */
size_t rtk_jw_str_len(const char *s, size_t n);
void rtk_jw_int(rtk_jw *w, int64_t v);
/* As jansson writes a real: %.17g without a "+" or leading zeros in the exponent, and with
 * ".0" when that would read as an integer. */
void rtk_jw_real(rtk_jw *w, double v);
void rtk_jw_bool(rtk_jw *w, int v);
/* An ISO-8601 UTC time in quotes (rtk_time_iso). */
void rtk_jw_time(rtk_jw *w, int64_t ms);

#endif
