/* SPDX-License-Identifier: MIT */
/* test_hook_sign.c - webhook signatures (checked with OpenSSL against the published public
 * keys, as a receiver would), the backoff schedule and Retry-After. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hook/rtk_hook_sign.h"

static rtk_hook_keys *keys;

static int setup(void **state)
{
    (void)state;
    keys = rtk_hook_keys_generate();
    return keys == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    rtk_hook_keys_free(keys);
    return 0;
}

static int b64(const char *in, uint8_t *out, size_t cap)
{
    size_t n = strlen(in);
    if (n / 4 * 3 > cap)
        return -1;
    int len = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
    if (len < 0)
        return -1;
    while (n > 0 && in[n - 1] == '=') {
        n--;
        len--;
    }
    return len;
}

static int verify(EVP_PKEY *pub, const EVP_MD *md, const void *msg, size_t len, const char *sig)
{
    uint8_t raw[512];
    int n = b64(sig, raw, sizeof(raw));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = n > 0 && EVP_DigestVerifyInit(ctx, NULL, md, NULL, pub) == 1 &&
             EVP_DigestVerify(ctx, raw, (size_t)n, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

static EVP_PKEY *rsa_public(void)
{
    const char *pem = rtk_hook_keys_rsa_public(keys);
    BIO *b = BIO_new_mem_buf(pem, (int)strlen(pem));
    EVP_PKEY *k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
    BIO_free(b);
    return k;
}

static EVP_PKEY *ed_public(void)
{
    const char *s = rtk_hook_keys_ed_public(keys);
    assert_memory_equal(s, "whpk_", 5);
    uint8_t raw[48];
    assert_int_equal(b64(s + 5, raw, sizeof(raw)), 32);
    return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, 32);
}

static void rsa_signature_verifies_and_binds_the_body(void **state)
{
    (void)state;
    static const char body[] = "{\"event\":\"meeting.started\",\"meeting\":{\"id\":\"m\"}}";
    char sig[400];
    assert_int_equal(rtk_hook_sign_rsa(keys, body, strlen(body), sig, sizeof(sig)), 0);
    assert_int_equal(strlen(sig), 344); /* 256 bytes in base64 */
    EVP_PKEY *pub = rsa_public();
    assert_non_null(pub);
    assert_true(verify(pub, EVP_sha256(), body, strlen(body), sig));
    char other[sizeof(body)];
    memcpy(other, body, sizeof(body));
    other[3] ^= 1;
    assert_false(verify(pub, EVP_sha256(), other, strlen(other), sig));
    assert_int_not_equal(rtk_hook_sign_rsa(keys, body, strlen(body), sig, 100), 0);
    EVP_PKEY_free(pub);
}

static void ed25519_signature_covers_id_time_and_body(void **state)
{
    (void)state;
    static const char body[] = "{\"event\":\"meeting.ended\"}";
    static const char id[] = "8f1c2a9e-5b3d-4c1e-9a7f-0123456789ab";
    char sig[128];
    assert_int_equal(rtk_hook_sign_ed(keys, id, 1700000000, body, strlen(body), sig, sizeof(sig)),
                     0);
    assert_memory_equal(sig, "v1a,", 4);
    assert_int_equal(strlen(sig), 4 + 88); /* 64 bytes in base64 */
    EVP_PKEY *pub = ed_public();
    assert_non_null(pub);
    char msg[256];
    int n = snprintf(msg, sizeof(msg), "%s.%d.%s", id, 1700000000, body);
    assert_true(verify(pub, NULL, msg, (size_t)n, sig + 4));
    n = snprintf(msg, sizeof(msg), "%s.%d.%s", id, 1700000001, body);
    assert_false(verify(pub, NULL, msg, (size_t)n, sig + 4)); /* another time */
    n = snprintf(msg, sizeof(msg), "%s", body);
    assert_false(verify(pub, NULL, msg, (size_t)n, sig + 4)); /* the body alone */
    EVP_PKEY_free(pub);
}

static void backoff_doubles_with_jitter_and_a_cap(void **state)
{
    (void)state;
    for (int n = 1; n <= 30; n++) {
        double want = 1000.0;
        for (int i = 1; i < n; i++)
            want *= 2;
        int64_t lo = rtk_hook_backoff_ms(n, 1000, 0);
        int64_t mid = rtk_hook_backoff_ms(n, 1000, UINT32_MAX / 2);
        int64_t hi = rtk_hook_backoff_ms(n, 1000, UINT32_MAX);
        if (want * 0.9 >= RTK_HOOK_BACKOFF_CAP_MS) {
            assert_int_equal(lo, RTK_HOOK_BACKOFF_CAP_MS);
            assert_int_equal(hi, RTK_HOOK_BACKOFF_CAP_MS);
            continue;
        }
        assert_int_equal(lo, (int64_t)(want * 0.9));
        assert_in_range(mid, (int64_t)(want * 0.99), (int64_t)(want * 1.01));
        assert_true(hi <= RTK_HOOK_BACKOFF_CAP_MS);
        if (want * 1.1 < RTK_HOOK_BACKOFF_CAP_MS)
            assert_int_equal(hi, (int64_t)(want * 1.1));
    }
    assert_int_equal(rtk_hook_backoff_ms(1, 200, 0), 180);
    assert_int_equal(rtk_hook_backoff_ms(0, 200, 0), 180); /* n below 1 counts as 1 */
}

static void retry_after_seconds_dates_and_garbage(void **state)
{
    (void)state;
    int64_t now = 1700000000000LL;
    assert_int_equal(rtk_hook_retry_after_ms("2", now), 2000);
    assert_int_equal(rtk_hook_retry_after_ms(" 0\r\n", now), 0);
    assert_int_equal(rtk_hook_retry_after_ms("99999999999", now), RTK_HOOK_BACKOFF_CAP_MS);
    /* 1700000000 is Tue, 14 Nov 2023 22:13:20 GMT. */
    assert_int_equal(rtk_hook_retry_after_ms("Tue, 14 Nov 2023 22:13:50 GMT", now), 30000);
    assert_int_equal(rtk_hook_retry_after_ms("Tue, 14 Nov 2023 22:00:00 GMT", now), 0);
    assert_int_equal(rtk_hook_retry_after_ms("Tue, 14 Nov 2024 22:00:00 GMT", now),
                     RTK_HOOK_BACKOFF_CAP_MS);
    assert_int_equal(rtk_hook_retry_after_ms("soon", now), -1);
    assert_int_equal(rtk_hook_retry_after_ms("5x", now), -1);
    assert_int_equal(rtk_hook_retry_after_ms("", now), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rsa_signature_verifies_and_binds_the_body),
        cmocka_unit_test(ed25519_signature_covers_id_time_and_body),
        cmocka_unit_test(backoff_doubles_with_jitter_and_a_cap),
        cmocka_unit_test(retry_after_seconds_dates_and_garbage),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
