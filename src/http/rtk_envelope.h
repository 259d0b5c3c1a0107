/* SPDX-License-Identifier: MIT */
/* rtk_envelope.h - the RealtimeKit JSON error envelope, written into a caller's buffer. */
#ifndef RTK_ENVELOPE_H
#define RTK_ENVELOPE_H

#include <stddef.h>
#include <sys/types.h>

/* Room for any envelope of a message up to 64 bytes (after escaping): the answers the HTTP
 * layer gives by itself fit with room to spare. */
#define RTK_ENVELOPE_SMALL 160

/* Writes {"success":false,"error":{"code":|status|,"message":"|message|"}} into |buf| of |cap|
 * bytes, NUL-terminated, and returns its length without the NUL. |message| is escaped for a
 * JSON string ('"', '\\' and control characters); it must be valid UTF-8 (not checked: the
 * callers pass fixed text). Returns RTK_ETOOBIG if it does not fit (|buf| then holds a
 * truncated, NUL-terminated prefix, or nothing if |cap| is 0). No allocation; any thread. */
ssize_t rtk_envelope_error(char *buf, size_t cap, int status, const char *message);

#endif
