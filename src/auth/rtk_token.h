/* SPDX-License-Identifier: MIT */
/* rtk_token.h - API-token hashing, constant-time compare, and signed participant tokens (JWT). */
#ifndef RTK_TOKEN_H
#define RTK_TOKEN_H

#include <stddef.h>
#include <stdint.h>

/* Longest participant token we accept, checked before any other work. */
#define RTK_PTOKEN_MAX 2048

/* Stores SHA-256(|secret|[0..|len|)) in |out| (OpenSSL EVP). API tokens are kept at rest only
 * as this hash. Aborts the process if OpenSSL fails (it cannot for SHA-256 short of a broken
 * installation). Thread-safe. */
void rtk_token_hash(const char *secret, size_t len, uint8_t out[32]);

/* Length of an API token secret: "rtk_" and 48 hex characters. */
#define RTK_API_TOKEN_LEN 52

/* Mints a new API token: 24 random bytes as 48 hex characters behind a recognisable "rtk_"
 * prefix (so a leaked token is easy to spot in logs and secret scanners), written to
 * |secret| (RTK_API_TOKEN_LEN characters and a NUL), its SHA-256 to |hash| (all the store ever
 * keeps) and a new token id (32 hex) to |id|. Aborts if the CSPRNG fails. Thread-safe. */
void rtk_token_mint(char secret[RTK_API_TOKEN_LEN + 1], uint8_t hash[32], char id[33]);

/* Compares |a| and |b| over |n| bytes in time that depends only on |n| (CRYPTO_memcmp).
 * Returns 1 if equal, 0 if not. n == 0 returns 1. */
int rtk_ct_equal(const void *a, const void *b, size_t n);

/* Stores HMAC-SHA256 (RFC 2104) of |msg|[0..|len|) under |key|[0..|keylen|) in |out|. Either
 * pointer may be NULL when its length is 0. Aborts the process if OpenSSL fails. Thread-safe. */
void rtk_hmac_sha256(const uint8_t *key, size_t keylen, const void *msg, size_t len,
                     uint8_t out[32]);

/* The claims of a participant token. The ids are canonical UUIDs, NUL-terminated. */
typedef struct rtk_ptoken {
    char app_id[37];
    char meeting_id[37];
    char participant_id[37];
    int64_t iat; /* issued at, seconds since the epoch */
    int64_t exp; /* expires at, seconds since the epoch; invalid from this second on */
} rtk_ptoken;

/* Signs |claims| with |key| as a compact JWT (RFC 7519) using HS256: header
 * {"alg":"HS256","typ":"JWT"}, payload
 * {"appId":…,"meetingId":…,"participantId":…,"iat":…,"exp":…}. On success stores a new
 * NUL-terminated string in *|out| (the caller frees it with free()) and returns 0. Returns
 * RTK_EINVAL, with *|out| set to NULL, only if one of the three ids is not a NUL-terminated
 * canonical UUID (a programmer error: such a token could never verify). Thread-safe. */
int rtk_ptoken_sign(const uint8_t *key, size_t keylen, const rtk_ptoken *claims, char **out);

/* Verifies the compact JWT |tok|[0..|len|) (no NUL needed) against |key| at time |now_s|
 * (seconds since the epoch). In order: |len| must be 1..RTK_PTOKEN_MAX; the token must have
 * exactly three non-empty strict base64url parts with a 32-byte signature; the HMAC-SHA256 of
 * "header.payload" must match in constant time, before any JSON is parsed; the header must be
 * a JSON object with "alg":"HS256" ("none" and everything else is refused), "typ" absent or
 * "JWT" and no "crit"; the payload must be a JSON object without duplicate keys holding
 * "appId", "meetingId" and "participantId" as canonical UUID strings and "iat" and "exp" as
 * integers (other members are ignored). Returns:
 *   0             the token is valid: *|out| is filled;
 *   RTK_EAUTH     anything malformed, oversized or badly signed;
 *   RTK_EEXPIRED  well-formed and correctly signed, but |now_s| >= exp.
 * *|out| is written only when 0 is returned. Safe on arbitrary input; allocates only inside
 * jansson and frees it before returning. Thread-safe. */
int rtk_ptoken_verify(const uint8_t *key, size_t keylen, const char *tok, size_t len, int64_t now_s,
                      rtk_ptoken *out);

#endif
