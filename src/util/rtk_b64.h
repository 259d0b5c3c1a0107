/* SPDX-License-Identifier: MIT */
/* rtk_b64.h - base64url (RFC 4648 section 5, unpadded, strict) and standard base64 encoding. */
#ifndef RTK_B64_H
#define RTK_B64_H

#include <stddef.h>
#include <sys/types.h>

/* Worst-case output size (with the NUL) for encoding |len| bytes with either encoder. */
#define RTK_B64_ENCODED_SIZE(len) (4 * (((len) + 2) / 3) + 1)

/* Encodes |in|[0..|len|) as unpadded base64url (alphabet A-Z a-z 0-9 - _) into |out| and
 * NUL-terminates it. |out| must hold RTK_B64_ENCODED_SIZE(len) = 4*((len+2)/3)+1 bytes.
 * Returns the number of characters written, not counting the NUL. Cannot fail. */
size_t rtk_b64url_encode(const void *in, size_t len, char *out);

/* Decodes the unpadded base64url text |in|[0..|len|) into |out| (capacity |cap|). Strict: rejects
 * '=' padding, characters outside the base64url alphabet (including '+', '/', whitespace and
 * NUL), impossible lengths (len % 4 == 1) and encodings whose unused trailing bits are not zero,
 * so every byte string has exactly one accepted encoding. Returns the number of bytes written
 * (len == 0 gives 0), or RTK_EINVAL for bad input or when the result would exceed |cap|; on
 * error the contents of |out| are unspecified. */
ssize_t rtk_b64url_decode(const char *in, size_t len, void *out, size_t cap);

/* Encodes |in|[0..|len|) as standard base64 (alphabet A-Z a-z 0-9 + /) WITH '=' padding into
 * |out| and NUL-terminates it. |out| must hold RTK_B64_ENCODED_SIZE(len) bytes. Returns the
 * number of characters written (always 4*((len+2)/3)), not counting the NUL. Cannot fail. */
size_t rtk_b64_encode(const void *in, size_t len, char *out);

#endif
