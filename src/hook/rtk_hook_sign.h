/* SPDX-License-Identifier: MIT */
/* rtk_hook_sign.h - webhook signing keys, the two signatures, and the retry schedule.
 *
 * Runs on the loop thread (key loading blocks: start-up only). The RSA-2048 key signs the
 * raw body for RealtimeKit's `rtk-signature` (RSA-SHA256, PKCS#1 v1.5); the Ed25519 key signs
 * "<webhook-id>.<webhook-timestamp>.<body>" for Standard Webhooks' `webhook-signature`. Both
 * are made at first start and kept in the store (rtk_store_key_text), so every node of one
 * database signs alike. */
#ifndef RTK_HOOK_SIGN_H
#define RTK_HOOK_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "store/rtk_store.h"

typedef struct rtk_hook_keys rtk_hook_keys;

/* Loads the two keys from |st|, making and storing them when there are none (blocks: runs
 * |st|'s loop until done). On success stores them in *out and returns 0. Errors: the store's
 * (RTK_EUNAVAIL, RTK_EDB), RTK_EINVAL (a stored key that does not parse). */
int rtk_hook_keys_load(rtk_store *st, rtk_hook_keys **out);

/* Keys made in memory (tests). Returns NULL when OpenSSL fails. */
rtk_hook_keys *rtk_hook_keys_generate(void);
void rtk_hook_keys_free(rtk_hook_keys *k);

/* The RSA public key (PEM, SubjectPublicKeyInfo) and "whpk_<base64 of the 32-byte Ed25519
 * key>". Borrowed from |k|. */
const char *rtk_hook_keys_rsa_public(const rtk_hook_keys *k);
const char *rtk_hook_keys_ed_public(const rtk_hook_keys *k);

/* Base64 RSA-SHA256 signature of |len| bytes at |body|, NUL-terminated in |out| (|cap| >= 345).
 * Returns 0, or RTK_EINVAL when OpenSSL fails or |cap| is too small. */
int rtk_hook_sign_rsa(const rtk_hook_keys *k, const char *body, size_t len, char *out, size_t cap);

/* "v1a,<base64 Ed25519 signature of "<id>.<ts>.<body>">", NUL-terminated in |out| (|cap| >=
 * 93). Returns 0 or RTK_EINVAL. */
int rtk_hook_sign_ed(const rtk_hook_keys *k, const char *id, int64_t ts, const char *body,
                     size_t len, char *out, size_t cap);

#define RTK_HOOK_BACKOFF_CAP_MS (10 * 60 * 1000)

/* The wait after attempt |n| (1 for the first) failed: |base_ms| x 2^(n-1), moved by up to
 * +/-10 % by |rnd| (uniform 32 random bits), capped at RTK_HOOK_BACKOFF_CAP_MS. */
int64_t rtk_hook_backoff_ms(int n, int64_t base_ms, uint32_t rnd);

/* A Retry-After header value (delta-seconds or an HTTP-date) as a wait in milliseconds from
 * |now_ms|, capped at RTK_HOOK_BACKOFF_CAP_MS; -1 when it is neither. */
int64_t rtk_hook_retry_after_ms(const char *value, int64_t now_ms);

#endif
