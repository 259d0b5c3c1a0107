/* SPDX-License-Identifier: MIT */
/* test_token.c - unit tests for util/rtk_b64 and auth/rtk_token (hashes, MACs, JWTs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/rtk_token.h"
#include "util/rtk_b64.h"
#include "util/rtk_err.h"
#include "util/rtk_id.h"

/* ---- base64 ---------------------------------------------------------------------------- */

static void b64url_round_trips_every_length(void **state)
{
    (void)state;
    uint8_t in[64], back[64 + 4];
    char enc[RTK_B64_ENCODED_SIZE(64)];
    for (int rep = 0; rep < 50; rep++) {
        assert_int_equal(rtk_random_bytes(in, sizeof(in)), 0);
        if (rep == 0)
            memset(in, 0xff, sizeof(in)); /* exercises '-' and '_' */
        for (size_t len = 0; len <= 64; len++) {
            memset(enc, '#', sizeof(enc));
            size_t n = rtk_b64url_encode(in, len, enc);
            size_t want = len / 3 * 4 + (len % 3 == 0 ? 0 : len % 3 + 1);
            assert_int_equal(n, want);
            assert_int_equal(strlen(enc), n);
            assert_true(n + 1 <= RTK_B64_ENCODED_SIZE(len));
            assert_null(strpbrk(enc, "+/="));
            /* Exact capacity works, one less does not. */
            assert_int_equal(rtk_b64url_decode(enc, n, back, len), (ssize_t)len);
            assert_memory_equal(back, in, len);
            if (len > 0)
                assert_int_equal(rtk_b64url_decode(enc, n, back, len - 1), RTK_EINVAL);
        }
    }
}

static void b64url_known_vectors(void **state)
{
    (void)state;
    /* RFC 4648 section 10 vectors, unpadded. */
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    static const char *const std[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                      "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char out[16];
        assert_int_equal(rtk_b64url_encode(plain[i], strlen(plain[i]), out), strlen(url[i]));
        assert_string_equal(out, url[i]);
        assert_int_equal(rtk_b64_encode(plain[i], strlen(plain[i]), out), strlen(std[i]));
        assert_string_equal(out, std[i]);
    }
    static const uint8_t hi[] = {0xfb, 0xff, 0xbf};
    char out[8];
    rtk_b64url_encode(hi, 3, out);
    assert_string_equal(out, "-_-_");
    rtk_b64_encode(hi, 3, out);
    assert_string_equal(out, "+/+/");
    uint8_t dec[3];
    assert_int_equal(rtk_b64url_decode("-_-_", 4, dec, 3), 3);
    assert_memory_equal(dec, hi, 3);
    assert_int_equal(rtk_b64url_decode(NULL, 0, NULL, 0), 0);
}

static void b64url_rejections(void **state)
{
    (void)state;
    uint8_t out[64];
    static const char *const bad[] = {
        "Zg==",  /* padding */
        "Zm8=",  /* padding */
        "Z",     /* len % 4 == 1 */
        "Zm9vY", /* len % 4 == 1 */
        "Zh",    /* trailing bits set: 'h' leaves 0001 */
        "Zm9",   /* trailing bits set: '9' leaves 01 */
        "Zm9v+g", "Zm9v/g", "Zm 9v", "Zm9v\n", "Zm.v", "Zm9v====", "====", "Zm9v=",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (rtk_b64url_decode(bad[i], strlen(bad[i]), out, sizeof(out)) != RTK_EINVAL)
            fail_msg("accepted \"%s\"", bad[i]);
    }
    assert_int_equal(rtk_b64url_decode("Zm\0v", 4, out, sizeof(out)), RTK_EINVAL);
    assert_int_equal(rtk_b64url_decode("Zm9v", 4, out, 2), RTK_EINVAL);
    assert_int_equal(rtk_b64url_decode("Zm9v", 4, NULL, 0), RTK_EINVAL);
    assert_int_equal(rtk_b64url_decode(NULL, 4, out, sizeof(out)), RTK_EINVAL);

    /* Every byte outside the alphabet is refused in every position of a group. */
    for (int c = 0; c < 256; c++) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_')
            continue;
        for (int pos = 0; pos < 4; pos++) {
            char s[4] = {'A', 'A', 'A', 'A'};
            s[pos] = (char)c;
            assert_int_equal(rtk_b64url_decode(s, 4, out, sizeof(out)), RTK_EINVAL);
        }
    }
    /* Exactly one of the 16 (2-char) or 4 (3-char) last-character choices is canonical. */
    int ok2 = 0, ok3 = 0;
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (int i = 0; i < 64; i++) {
        char two[2] = {'Q', alpha[i]}, three[3] = {'Q', 'Q', alpha[i]};
        ok2 += rtk_b64url_decode(two, 2, out, sizeof(out)) == 1;
        ok3 += rtk_b64url_decode(three, 3, out, sizeof(out)) == 2;
    }
    assert_int_equal(ok2, 4);  /* 64 choices / 16 per value of the 2 used bits */
    assert_int_equal(ok3, 16); /* 64 / 4 per value of the 4 used bits */
}

/* ---- hashes and MACs ------------------------------------------------------------------- */

static void sha256_abc(void **state)
{
    (void)state;
    static const uint8_t want[32] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde,
        0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
        0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
    };
    uint8_t out[32];
    rtk_token_hash("abc", 3, out);
    assert_memory_equal(out, want, 32);
    /* SHA-256 of the empty string. */
    static const uint8_t empty[32] = {
        0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8,
        0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c,
        0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
    };
    rtk_token_hash("", 0, out);
    assert_memory_equal(out, empty, 32);
    rtk_token_hash(NULL, 0, out);
    assert_memory_equal(out, empty, 32);
}

static void hmac_rfc4231_case2(void **state)
{
    (void)state;
    static const uint8_t want[32] = {
        0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24, 0x26,
        0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83,
        0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43,
    };
    static const char msg[] = "what do ya want for nothing?";
    uint8_t out[32];
    rtk_hmac_sha256((const uint8_t *)"Jefe", 4, msg, strlen(msg), out);
    assert_memory_equal(out, want, 32);

    /* Empty key and message (OpenSSL must not treat the NULL key as "reuse"). */
    static const uint8_t empty[32] = {
        0xb6, 0x13, 0x67, 0x9a, 0x08, 0x14, 0xd9, 0xec, 0x77, 0x2f, 0x95, 0xd7,
        0x78, 0xc3, 0x5f, 0xc5, 0xff, 0x16, 0x97, 0xc4, 0x93, 0x71, 0x56, 0x53,
        0xc6, 0xc7, 0x12, 0x14, 0x42, 0x92, 0xc5, 0xad,
    };
    rtk_hmac_sha256(NULL, 0, NULL, 0, out);
    assert_memory_equal(out, empty, 32);
    rtk_hmac_sha256((const uint8_t *)"", 0, "", 0, out);
    assert_memory_equal(out, empty, 32);
}

static void ct_equal(void **state)
{
    (void)state;
    uint8_t a[32], b[32];
    memset(a, 0x5a, sizeof(a));
    memcpy(b, a, sizeof(b));
    assert_int_equal(rtk_ct_equal(a, b, 32), 1);
    assert_int_equal(rtk_ct_equal(a, b, 0), 1);
    for (size_t i = 0; i < 32; i++) {
        b[i] ^= 0x01;
        assert_int_equal(rtk_ct_equal(a, b, 32), 0);
        b[i] ^= 0x01;
    }
}

/* ---- participant tokens ---------------------------------------------------------------- */

static const uint8_t key[] = "an example signing key of 32 b!!";
static const uint8_t other_key[] = "another example signing key 32!!";
#define NOW INT64_C(1790000000)

#define APP "8b1c7a8e-4a55-4c1e-9f3a-2d6e1f0c9b71"
#define MEET "bbb3b2a1-0c4e-4b7b-a1f3-6f0a2e9d8c55"
#define PART "0f0e0d0c-0b0a-4908-8706-050403020100"

static rtk_ptoken sample_claims(void)
{
    rtk_ptoken c;
    memset(&c, 0, sizeof(c));
    memcpy(c.app_id, APP, 37);
    memcpy(c.meeting_id, MEET, 37);
    memcpy(c.participant_id, PART, 37);
    c.iat = NOW - 60;
    c.exp = NOW + 3600;
    return c;
}

/* Builds "b64(header).b64(payload).b64(HMAC(k))" from raw JSON, as an attacker or another signer
 * could. Returns a malloc'd string. */
static char *forge(const uint8_t *k, size_t klen, const char *header, const char *payload)
{
    size_t hl = strlen(header), pl = strlen(payload);
    char *t = malloc(RTK_B64_ENCODED_SIZE(hl) + RTK_B64_ENCODED_SIZE(pl) + 64);
    assert_non_null(t);
    size_t n = rtk_b64url_encode(header, hl, t);
    t[n++] = '.';
    n += rtk_b64url_encode(payload, pl, t + n);
    uint8_t mac[32];
    rtk_hmac_sha256(k, klen, t, n, mac);
    t[n++] = '.';
    rtk_b64url_encode(mac, 32, t + n);
    return t;
}

#define HS256 "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define PAYLOAD_OK                                                                                 \
    "{\"appId\":\"" APP "\",\"meetingId\":\"" MEET "\",\"participantId\":\"" PART "\","            \
    "\"iat\":1789999940,\"exp\":1790003600}"

static int verify_str(const uint8_t *k, size_t klen, const char *tok, rtk_ptoken *out)
{
    return rtk_ptoken_verify(k, klen, tok, strlen(tok), NOW, out);
}

static void verify_forged(const char *header, const char *payload, int want)
{
    char *t = forge(key, sizeof(key) - 1, header, payload);
    rtk_ptoken out;
    int rc = verify_str(key, sizeof(key) - 1, t, &out);
    if (rc != want)
        fail_msg("header %s payload %s: got %d want %d", header, payload, rc, want);
    free(t);
}

static void ptoken_round_trip(void **state)
{
    (void)state;
    rtk_ptoken c = sample_claims(), out;
    char *tok = NULL;
    assert_int_equal(rtk_ptoken_sign(key, sizeof(key) - 1, &c, &tok), 0);
    assert_non_null(tok);
    assert_true(strlen(tok) <= RTK_PTOKEN_MAX);
    /* Header is exactly our constant one. */
    assert_int_equal(strncmp(tok, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37), 0);

    memset(&out, 0x55, sizeof(out));
    assert_int_equal(verify_str(key, sizeof(key) - 1, tok, &out), 0);
    assert_string_equal(out.app_id, APP);
    assert_string_equal(out.meeting_id, MEET);
    assert_string_equal(out.participant_id, PART);
    assert_int_equal(out.iat, c.iat);
    assert_int_equal(out.exp, c.exp);

    /* Signing is deterministic and matches a token built by hand from the documented JSON. */
    char *hand = forge(key, sizeof(key) - 1, HS256, PAYLOAD_OK);
    assert_string_equal(tok, hand);
    free(hand);
    free(tok);

    /* Random ids, uppercase ids, extreme integers and an empty key all round-trip. */
    rtk_id_uuid4(c.app_id);
    rtk_id_uuid4(c.meeting_id);
    memcpy(c.participant_id, "ABCDEF01-2345-4789-ABCD-EF0123456789", 37);
    c.iat = INT64_MIN;
    c.exp = INT64_MAX;
    assert_int_equal(rtk_ptoken_sign(NULL, 0, &c, &tok), 0);
    assert_int_equal(rtk_ptoken_verify(NULL, 0, tok, strlen(tok), NOW, &out), 0);
    assert_string_equal(out.app_id, c.app_id);
    assert_string_equal(out.participant_id, c.participant_id);
    assert_int_equal(out.iat, INT64_MIN);
    assert_int_equal(out.exp, INT64_MAX);
    free(tok);
}

static void ptoken_sign_rejects_bad_ids(void **state)
{
    (void)state;
    rtk_ptoken c = sample_claims();
    char *tok = (char *)1;
    memcpy(c.meeting_id, "not-a-uuid", 11);
    assert_int_equal(rtk_ptoken_sign(key, sizeof(key) - 1, &c, &tok), RTK_EINVAL);
    assert_null(tok);
    c = sample_claims();
    c.app_id[36] = 'x'; /* not NUL-terminated */
    assert_int_equal(rtk_ptoken_sign(key, sizeof(key) - 1, &c, &tok), RTK_EINVAL);
    assert_null(tok);
}

static void ptoken_verify_rejects_bad_signatures(void **state)
{
    (void)state;
    rtk_ptoken c = sample_claims(), out;
    char *tok = NULL;
    assert_int_equal(rtk_ptoken_sign(key, sizeof(key) - 1, &c, &tok), 0);
    size_t len = strlen(tok);

    /* Wrong key, and a key that is a prefix of the right one. */
    assert_int_equal(verify_str(other_key, sizeof(other_key) - 1, tok, &out), RTK_EAUTH);
    assert_int_equal(verify_str(key, sizeof(key) - 2, tok, &out), RTK_EAUTH);
    assert_int_equal(verify_str(NULL, 0, tok, &out), RTK_EAUTH);

    /* Flip every bit of every signature character (some give invalid base64, the rest a
     * different MAC), then every character of header and payload. */
    const char *sig = strrchr(tok, '.') + 1;
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 7; bit++) {
            char *t = strdup(tok);
            assert_non_null(t);
            t[i] ^= (char)(1 << bit);
            if (rtk_ptoken_verify(key, sizeof(key) - 1, t, len, NOW, &out) != RTK_EAUTH)
                fail_msg("accepted a token with byte %zu bit %d flipped (sig at %zu)", i, bit,
                         (size_t)(sig - tok));
            free(t);
        }
    }

    /* Tampered payload keeping the original signature. */
    char *evil = forge(key, sizeof(key) - 1, HS256,
                       "{\"appId\":\"" APP "\",\"meetingId\":\"" MEET "\",\"participantId\":\"" PART
                       "\",\"iat\":1789999940,\"exp\":9990003600}");
    char *spliced = malloc(len + 64);
    assert_non_null(spliced);
    const char *evil_sig = strrchr(evil, '.');
    memcpy(spliced, evil, (size_t)(evil_sig - evil));
    strcpy(spliced + (evil_sig - evil), strrchr(tok, '.'));
    assert_int_equal(verify_str(key, sizeof(key) - 1, spliced, &out), RTK_EAUTH);
    /* The same payload re-signed with another key. */
    free(evil);
    evil = forge(other_key, sizeof(other_key) - 1, HS256,
                 "{\"appId\":\"" APP "\",\"meetingId\":\"" MEET "\",\"participantId\":\"" PART
                 "\",\"iat\":1789999940,\"exp\":9990003600}");
    assert_int_equal(verify_str(key, sizeof(key) - 1, evil, &out), RTK_EAUTH);
    free(evil);
    free(spliced);

    /* Header swapped for alg none (with and without a signature), keeping the payload. */
    const char *p1 = strchr(tok, '.');
    char none[RTK_PTOKEN_MAX];
    size_t hn = rtk_b64url_encode("{\"alg\":\"none\",\"typ\":\"JWT\"}", 26, none);
    snprintf(none + hn, sizeof(none) - hn, "%.*s.", (int)(strrchr(tok, '.') - p1), p1);
    assert_int_equal(verify_str(key, sizeof(key) - 1, none, &out), RTK_EAUTH);
    snprintf(none + hn, sizeof(none) - hn, "%s", p1);
    assert_int_equal(verify_str(key, sizeof(key) - 1, none, &out), RTK_EAUTH);
    free(tok);
}

static void ptoken_verify_rejects_bad_headers(void **state)
{
    (void)state;
    /* Each is correctly HMAC'd with the right key, so only the header check can refuse it. */
    verify_forged(HS256, PAYLOAD_OK, 0);
    verify_forged("{\"typ\":\"JWT\",\"alg\":\"HS256\"}", PAYLOAD_OK, 0);
    verify_forged("{\"alg\":\"HS256\"}", PAYLOAD_OK, 0);
    verify_forged("{ \"alg\" : \"HS256\" , \"kid\" : \"k1\" }", PAYLOAD_OK, 0);
    verify_forged("{\"alg\":\"none\",\"typ\":\"JWT\"}", PAYLOAD_OK, RTK_EAUTH);
    verify_forged("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", PAYLOAD_OK, RTK_EAUTH);
    verify_forged("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", PAYLOAD_OK, RTK_EAUTH);
    verify_forged("{\"alg\":\"hs256\"}", PAYLOAD_OK, RTK_EAUTH);
    verify_forged("{\"alg\":\"HS256 \"}", PAYLOAD_OK, RTK_EAUTH);
    verify_forged("{\"alg\":\"HS256\\u0000\"}", PAYLOAD_OK, RTK_EAUTH);
    verify_forged("{\"alg\":null}", PAYLOAD_OK, RTK_EAUTH);
    verify_forged("{\"alg\":[\"HS256\"]}", PAYLOAD_OK, RTK_EAUTH);
    verify_forged("{\"typ\":\"JWT\"}", PAYLOAD_OK, RTK_EAUTH);
    verify_forged("{\"alg\":\"HS256\",\"alg\":\"none\"}", PAYLOAD_OK, RTK_EAUTH);
    verify_forged("{\"alg\":\"none\",\"alg\":\"HS256\"}", PAYLOAD_OK, RTK_EAUTH);
    verify_forged("{\"alg\":\"HS256\",\"typ\":\"JWE\"}", PAYLOAD_OK, RTK_EAUTH);
    verify_forged("{\"alg\":\"HS256\",\"typ\":1}", PAYLOAD_OK, RTK_EAUTH);
    verify_forged("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", PAYLOAD_OK, RTK_EAUTH);
    verify_forged("[\"HS256\"]", PAYLOAD_OK, RTK_EAUTH);
    verify_forged("\"HS256\"", PAYLOAD_OK, RTK_EAUTH);
    verify_forged("{\"alg\":\"HS256\"", PAYLOAD_OK, RTK_EAUTH);
    verify_forged("{\"alg\":\"HS256\"}x", PAYLOAD_OK, RTK_EAUTH);
    verify_forged("{\"alg\":\"HS256\"}{}", PAYLOAD_OK, RTK_EAUTH);
}

#define P3(a, m, p, rest)                                                                          \
    "{\"appId\":" a ",\"meetingId\":" m ",\"participantId\":" p rest "}"
#define QA "\"" APP "\""
#define QM "\"" MEET "\""
#define QP "\"" PART "\""
#define TIMES ",\"iat\":1,\"exp\":1790003600"

static void ptoken_verify_rejects_bad_payloads(void **state)
{
    (void)state;
    verify_forged(HS256, P3(QA, QM, QP, TIMES), 0);
    /* Extra claims are ignored, key order does not matter. */
    verify_forged(HS256, "{\"exp\":1790003600,\"iat\":1,\"participantId\":" QP ",\"meetingId\":" QM
                         ",\"appId\":" QA ",\"x\":{\"y\":[1,2]}}", 0);
    /* Missing claims. */
    verify_forged(HS256, P3(QA, QM, QP, ",\"iat\":1"), RTK_EAUTH);
    verify_forged(HS256, P3(QA, QM, QP, ",\"exp\":1790003600"), RTK_EAUTH);
    verify_forged(HS256, "{\"appId\":" QA ",\"meetingId\":" QM TIMES "}", RTK_EAUTH);
    verify_forged(HS256, "{\"appId\":" QA ",\"participantId\":" QP TIMES "}", RTK_EAUTH);
    verify_forged(HS256, "{\"meetingId\":" QM ",\"participantId\":" QP TIMES "}", RTK_EAUTH);
    verify_forged(HS256, "{}", RTK_EAUTH);
    /* Wrong types. */
    verify_forged(HS256, P3(QA, QM, QP, ",\"iat\":\"1\",\"exp\":1790003600"), RTK_EAUTH);
    verify_forged(HS256, P3(QA, QM, QP, ",\"iat\":1,\"exp\":\"1790003600\""), RTK_EAUTH);
    verify_forged(HS256, P3(QA, QM, QP, ",\"iat\":1,\"exp\":1790003600.0"), RTK_EAUTH);
    verify_forged(HS256, P3(QA, QM, QP, ",\"iat\":1,\"exp\":1.79e9"), RTK_EAUTH);
    verify_forged(HS256, P3(QA, QM, QP, ",\"iat\":1,\"exp\":null"), RTK_EAUTH);
    verify_forged(HS256, P3(QA, QM, QP, ",\"iat\":true,\"exp\":1790003600"), RTK_EAUTH);
    verify_forged(HS256, P3(QA, QM, QP, ",\"iat\":1,\"exp\":99999999999999999999"), RTK_EAUTH);
    verify_forged(HS256, P3("1", QM, QP, TIMES), RTK_EAUTH);
    verify_forged(HS256, P3(QA, "null", QP, TIMES), RTK_EAUTH);
    verify_forged(HS256, P3(QA, QM, "[" QP "]", TIMES), RTK_EAUTH);
    /* Ids that are not canonical UUIDs. */
    verify_forged(HS256, P3("\"abc\"", QM, QP, TIMES), RTK_EAUTH);
    verify_forged(HS256, P3("\"\"", QM, QP, TIMES), RTK_EAUTH);
    verify_forged(HS256, P3(QA, "\"bbb3b2a10c4e4b7ba1f36f0a2e9d8c55\"", QP, TIMES), RTK_EAUTH);
    verify_forged(HS256, P3(QA, QM, "\"0f0e0d0c-0b0a-4908-8706-05040302010g\"", TIMES), RTK_EAUTH);
    verify_forged(HS256, P3(QA, QM, "\"0f0e0d0c-0b0a-4908-8706-0504030201000\"", TIMES), RTK_EAUTH);
    verify_forged(HS256,
                  P3(QA, QM, "\"0f0e0d0c-0b0a-4908-8706-05040302010\\u0000\"", TIMES),
                  RTK_EAUTH);
    verify_forged(HS256, P3(QA, QM, "\"{0f0e0d0c-0b0a-4908-8706-0504030201}\"", TIMES), RTK_EAUTH);
    /* Duplicate claims (a second "exp" could otherwise extend the token). */
    verify_forged(HS256, P3(QA, QM, QP, ",\"iat\":1,\"exp\":1790003600,\"exp\":9990003600"),
                  RTK_EAUTH);
    /* Not an object, or not JSON at all. */
    verify_forged(HS256, "[1,2,3]", RTK_EAUTH);
    verify_forged(HS256, "null", RTK_EAUTH);
    verify_forged(HS256, "not json", RTK_EAUTH);
    verify_forged(HS256, PAYLOAD_OK " ", 0); /* trailing whitespace is valid JSON */
    verify_forged(HS256, PAYLOAD_OK "x", RTK_EAUTH);
}

static void ptoken_verify_rejects_bad_shapes(void **state)
{
    (void)state;
    rtk_ptoken c = sample_claims(), out;
    char *tok = NULL;
    assert_int_equal(rtk_ptoken_sign(key, sizeof(key) - 1, &c, &tok), 0);
    size_t len = strlen(tok);
    char buf[RTK_PTOKEN_MAX + 64];
    const char *d1 = strchr(tok, '.'), *d2 = strrchr(tok, '.');

    /* Empty, NULL, and every proper prefix. */
    assert_int_equal(rtk_ptoken_verify(key, sizeof(key) - 1, "", 0, NOW, &out), RTK_EAUTH);
    assert_int_equal(rtk_ptoken_verify(key, sizeof(key) - 1, NULL, 0, NOW, &out), RTK_EAUTH);
    for (size_t n = 0; n < len; n++) {
        char *p = malloc(n ? n : 1); /* exact size: ASan catches any over-read */
        assert_non_null(p);
        memcpy(p, tok, n);
        assert_int_equal(rtk_ptoken_verify(key, sizeof(key) - 1, p, n, NOW, &out), RTK_EAUTH);
        free(p);
    }
    /* Two parts: header.payload, and payload.signature. */
    snprintf(buf, sizeof(buf), "%.*s", (int)(d2 - tok), tok);
    assert_int_equal(verify_str(key, sizeof(key) - 1, buf, &out), RTK_EAUTH);
    assert_int_equal(verify_str(key, sizeof(key) - 1, d1 + 1, &out), RTK_EAUTH);
    /* Four parts: an extra segment at the end, in the middle, and an empty one. */
    snprintf(buf, sizeof(buf), "%s.%s", tok, d2 + 1);
    assert_int_equal(verify_str(key, sizeof(key) - 1, buf, &out), RTK_EAUTH);
    snprintf(buf, sizeof(buf), "%s.", tok);
    assert_int_equal(verify_str(key, sizeof(key) - 1, buf, &out), RTK_EAUTH);
    snprintf(buf, sizeof(buf), "%.*s.e30%s", (int)(d2 - tok), tok, d2);
    assert_int_equal(verify_str(key, sizeof(key) - 1, buf, &out), RTK_EAUTH);
    /* Empty parts. */
    assert_int_equal(verify_str(key, sizeof(key) - 1, "..", &out), RTK_EAUTH);
    assert_int_equal(verify_str(key, sizeof(key) - 1, ".", &out), RTK_EAUTH);
    snprintf(buf, sizeof(buf), ".%s", d1 + 1);
    assert_int_equal(verify_str(key, sizeof(key) - 1, buf, &out), RTK_EAUTH);
    snprintf(buf, sizeof(buf), "%.*s..%s", (int)(d1 - tok), tok, d2 + 1);
    assert_int_equal(verify_str(key, sizeof(key) - 1, buf, &out), RTK_EAUTH);
    /* Padding added to the signature. */
    snprintf(buf, sizeof(buf), "%s=", tok);
    assert_int_equal(verify_str(key, sizeof(key) - 1, buf, &out), RTK_EAUTH);
    /* An embedded NUL inside |len| is not skipped. */
    memcpy(buf, tok, len + 1);
    buf[len / 2] = '\0';
    assert_int_equal(rtk_ptoken_verify(key, sizeof(key) - 1, buf, len, NOW, &out), RTK_EAUTH);
    /* Still valid when |tok| is not NUL-terminated. */
    memcpy(buf, tok, len);
    buf[len] = '.';
    assert_int_equal(rtk_ptoken_verify(key, sizeof(key) - 1, buf, len, NOW, &out), 0);
    free(tok);

    /* Too long: a correctly signed token just over the bound is refused before any work, and
     * one exactly at the bound is accepted. Pad with an ignored claim. */
    for (int over = 0; over <= 1; over++) {
        char payload[RTK_PTOKEN_MAX];
        char *t = NULL;
        size_t target = RTK_PTOKEN_MAX + (size_t)over;
        for (size_t pad = 0; pad < RTK_PTOKEN_MAX; pad++) {
            snprintf(payload, sizeof(payload), "%.*s,\"pad\":\"%*s\"}",
                     (int)strlen(PAYLOAD_OK) - 1, PAYLOAD_OK, (int)pad, "");
            t = forge(key, sizeof(key) - 1, HS256, payload);
            if (strlen(t) >= target)
                break;
            free(t);
            t = NULL;
        }
        assert_non_null(t);
        size_t tl = strlen(t);
        /* Lengths step by 1 or 2 as the padding grows; skip a target that was jumped over. */
        if (tl == target)
            assert_int_equal(verify_str(key, sizeof(key) - 1, t, &out), over ? RTK_EAUTH : 0);
        else
            assert_int_equal(verify_str(key, sizeof(key) - 1, t, &out), RTK_EAUTH);
        free(t);
    }
    char *huge = malloc(100000);
    assert_non_null(huge);
    memset(huge, 'A', 100000);
    huge[10] = '.';
    huge[20] = '.';
    assert_int_equal(rtk_ptoken_verify(key, sizeof(key) - 1, huge, 100000, NOW, &out), RTK_EAUTH);
    free(huge);
}

static void ptoken_expiry(void **state)
{
    (void)state;
    rtk_ptoken c = sample_claims(), out;
    char *tok = NULL;

    c.exp = NOW - 1;
    assert_int_equal(rtk_ptoken_sign(key, sizeof(key) - 1, &c, &tok), 0);
    memset(&out, 0x77, sizeof(out));
    rtk_ptoken before = out;
    assert_int_equal(verify_str(key, sizeof(key) - 1, tok, &out), RTK_EEXPIRED);
    assert_memory_equal(&out, &before, sizeof(out)); /* untouched unless 0 is returned */
    /* An expired token with a bad signature is EAUTH, not EEXPIRED. */
    assert_int_equal(verify_str(other_key, sizeof(other_key) - 1, tok, &out), RTK_EAUTH);
    free(tok);

    /* exp == now is already expired; one second earlier it was valid. */
    c.exp = NOW;
    assert_int_equal(rtk_ptoken_sign(key, sizeof(key) - 1, &c, &tok), 0);
    assert_int_equal(rtk_ptoken_verify(key, sizeof(key) - 1, tok, strlen(tok), NOW, &out),
                     RTK_EEXPIRED);
    assert_int_equal(rtk_ptoken_verify(key, sizeof(key) - 1, tok, strlen(tok), NOW - 1, &out), 0);
    free(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(b64url_round_trips_every_length),
        cmocka_unit_test(b64url_known_vectors),
        cmocka_unit_test(b64url_rejections),
        cmocka_unit_test(sha256_abc),
        cmocka_unit_test(hmac_rfc4231_case2),
        cmocka_unit_test(ct_equal),
        cmocka_unit_test(ptoken_round_trip),
        cmocka_unit_test(ptoken_sign_rejects_bad_ids),
        cmocka_unit_test(ptoken_verify_rejects_bad_signatures),
        cmocka_unit_test(ptoken_verify_rejects_bad_headers),
        cmocka_unit_test(ptoken_verify_rejects_bad_payloads),
        cmocka_unit_test(ptoken_verify_rejects_bad_shapes),
        cmocka_unit_test(ptoken_expiry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
