/* SPDX-License-Identifier: MIT */
/* rtk_id.h - random identifiers (UUIDv4, hex secrets) from the OpenSSL CSPRNG, and their checks. */
#ifndef RTK_ID_H
#define RTK_ID_H

#include <stddef.h>

/* Fills |buf| with |n| bytes from the OpenSSL CSPRNG (RAND_bytes). n == 0 is a no-op.
 * Returns 0, or RTK_EINVAL when |buf| is NULL with n > 0 or the CSPRNG fails (not seeded).
 * Thread-safe; callable from any thread. */
int rtk_random_bytes(void *buf, size_t n);

/* Writes a random (version 4, RFC 9562 variant) UUID into |out| as 36 lowercase characters in
 * the 8-4-4-4-12 form plus a NUL. Aborts the process if the CSPRNG fails: an id we cannot make
 * unpredictable must not be handed out. Thread-safe. */
void rtk_id_uuid4(char out[37]);

/* Writes |nbytes| random bytes as 2*|nbytes| lowercase hex characters plus a NUL into |out|,
 * which must hold 2*nbytes+1 bytes. Aborts the process if the CSPRNG fails. Thread-safe. */
void rtk_id_hex(char *out, size_t nbytes);

/* Returns 1 if |s|[0..|len|) is a canonical UUID: exactly 36 characters, hex digits of either
 * case in the 8-4-4-4-12 groups separated by '-'. Version and variant bits are not checked.
 * Returns 0 otherwise (also for s == NULL). */
int rtk_id_is_uuid(const char *s, size_t len);

/* Returns 1 if |s|[0..|len|) is exactly 32 lowercase hex characters ([0-9a-f]), else 0
 * (also for s == NULL). */
int rtk_id_is_hex32(const char *s, size_t len);

#endif
