/* SPDX-License-Identifier: MIT */
/* rtk_token.c - SHA-256 token hashes and HS256-signed participant tokens. */
#include "auth/rtk_token.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util/rtk_b64.h"
#include "util/rtk_err.h"
#include "util/rtk_id.h"

#define SIG_LEN 32
#define SIG_B64_LEN 43 /* 32 bytes as unpadded base64url */

/* The only header we emit; verify parses headers rather than comparing bytes so that key order
 * and whitespace from other HS256 signers do not matter. */
static const char jwt_header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

static void crypto_failed(const char *what)
{
    fprintf(stderr, "rtkd: OpenSSL %s failed\n", what);
    abort();
}

void rtk_token_mint(char secret[RTK_API_TOKEN_LEN + 1], uint8_t hash[32], char id[33])
{
    char raw[49];
    rtk_id_hex(raw, 24);
    snprintf(secret, RTK_API_TOKEN_LEN + 1, "rtk_%s", raw);
    rtk_token_hash(secret, RTK_API_TOKEN_LEN, hash);
    rtk_id_hex(id, 16);
}

void rtk_token_hash(const char *secret, size_t len, uint8_t out[32])
{
    unsigned int n = 0;

    if (secret == NULL)
        secret = "";
    /* Fetched once: with OpenSSL 3, EVP_sha256() makes every EVP_Digest look the algorithm up
     * again (EVP_MD_fetch), which showed in the per-request profile. The loop thread is the
     * only caller on the hot path; the fetch itself is thread-safe. */
    static EVP_MD *sha256;
    if (sha256 == NULL && (sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
        crypto_failed("SHA-256 fetch");
    if (EVP_Digest(secret, len, out, &n, sha256, NULL) != 1 || n != 32)
        crypto_failed("SHA-256");
}

int rtk_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

void rtk_hmac_sha256(const uint8_t *key, size_t keylen, const void *msg, size_t len,
                     uint8_t out[32])
{
    static const uint8_t empty[1];
    uint8_t hashed[32];
    unsigned int n = 0;

    /* HMAC() takes an int key length. RFC 2104 section 2 replaces keys longer than the block
     * with their hash anyway, so doing that ourselves gives the same MAC for any length. */
    if (keylen > INT_MAX) {
        rtk_token_hash((const char *)key, keylen, hashed);
        key = hashed;
        keylen = sizeof(hashed);
    }
    /* OpenSSL treats a NULL key as "reuse the previous key"; pass a real empty one instead. */
    if (key == NULL)
        key = empty;
    if (msg == NULL)
        msg = empty;
    if (HMAC(EVP_sha256(), key, (int)keylen, msg, len, out, &n) == NULL || n != 32)
        crypto_failed("HMAC-SHA256");
}

/* Returns 1 if |id| holds a NUL-terminated canonical UUID within its 37 bytes. */
static int claim_id_ok(const char id[37])
{
    size_t n = strnlen(id, 37);
    return n == 36 && rtk_id_is_uuid(id, n);
}

int rtk_ptoken_sign(const uint8_t *key, size_t keylen, const rtk_ptoken *claims, char **out)
{
    char payload[256];

    *out = NULL;
    if (!claim_id_ok(claims->app_id) || !claim_id_ok(claims->meeting_id) ||
        !claim_id_ok(claims->participant_id))
        return RTK_EINVAL;
    /* The ids are plain hex and dashes, so they need no JSON escaping. The longest payload
     * (two 20-character integers) is about 180 bytes. */
    int plen = snprintf(payload, sizeof(payload),
                        "{\"appId\":\"%s\",\"meetingId\":\"%s\",\"participantId\":\"%s\","
                        "\"iat\":%" PRId64 ",\"exp\":%" PRId64 "}",
                        claims->app_id, claims->meeting_id, claims->participant_id, claims->iat,
                        claims->exp);
    if (plen < 0 || (size_t)plen >= sizeof(payload))
        abort(); /* cannot happen with the bounds above */

    size_t hlen = sizeof(jwt_header) - 1;
    size_t cap = RTK_B64_ENCODED_SIZE(hlen) + RTK_B64_ENCODED_SIZE((size_t)plen) +
                 RTK_B64_ENCODED_SIZE((size_t)SIG_LEN);
    char *tok = rtk_xmalloc(cap);
    size_t n = rtk_b64url_encode(jwt_header, hlen, tok);
    tok[n++] = '.';
    n += rtk_b64url_encode(payload, (size_t)plen, tok + n);

    uint8_t sig[SIG_LEN];
    rtk_hmac_sha256(key, keylen, tok, n, sig);
    tok[n++] = '.';
    rtk_b64url_encode(sig, sizeof(sig), tok + n);
    *out = tok;
    return 0;
}

/* Decodes the base64url part |b64|[0..|n|) and parses it as a JSON object, rejecting duplicate
 * keys. Returns a new reference, or NULL if either step fails. */
static json_t *load_object(const char *b64, size_t n)
{
    /* A part is at most RTK_PTOKEN_MAX characters, so it decodes to fewer bytes than that. */
    uint8_t buf[RTK_PTOKEN_MAX];
    ssize_t blen = rtk_b64url_decode(b64, n, buf, sizeof(buf));
    if (blen <= 0)
        return NULL;
    json_error_t err;
    json_t *j = json_loadb((const char *)buf, (size_t)blen, JSON_REJECT_DUPLICATES, &err);
    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static int header_ok(const json_t *h)
{
    const json_t *alg = json_object_get(h, "alg");
    const json_t *typ = json_object_get(h, "typ");

    if (!json_is_string(alg) || strcmp(json_string_value(alg), "HS256") != 0 ||
        json_string_length(alg) != 5)
        return 0;
    if (typ != NULL && (!json_is_string(typ) || strcmp(json_string_value(typ), "JWT") != 0 ||
                        json_string_length(typ) != 3))
        return 0;
    /* RFC 7515 section 4.1.11: extensions listed in "crit" must be understood; we know none. */
    return json_object_get(h, "crit") == NULL;
}

/* Copies the UUID string member |name| of |obj| into |dst|. Returns 0, or -1 if it is missing,
 * not a string or not a canonical UUID. */
static int get_uuid(const json_t *obj, const char *name, char dst[37])
{
    const json_t *v = json_object_get(obj, name);

    if (!json_is_string(v) || !rtk_id_is_uuid(json_string_value(v), json_string_length(v)))
        return -1;
    memcpy(dst, json_string_value(v), 36);
    dst[36] = '\0';
    return 0;
}

static int get_int(const json_t *obj, const char *name, int64_t *dst)
{
    const json_t *v = json_object_get(obj, name);

    if (!json_is_integer(v))
        return -1;
    *dst = (int64_t)json_integer_value(v);
    return 0;
}

int rtk_ptoken_verify(const uint8_t *key, size_t keylen, const char *tok, size_t len, int64_t now_s,
                      rtk_ptoken *out)
{
    if (tok == NULL || len == 0 || len > RTK_PTOKEN_MAX)
        return RTK_EAUTH;

    const char *dot1 = memchr(tok, '.', len);
    if (dot1 == NULL)
        return RTK_EAUTH;
    const char *dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - tok));
    if (dot2 == NULL)
        return RTK_EAUTH;
    const char *sig_b64 = dot2 + 1;
    size_t sig_b64_len = len - (size_t)(sig_b64 - tok);
    size_t hlen = (size_t)(dot1 - tok), plen = (size_t)(dot2 - dot1 - 1);
    /* A third '.' would have to be inside the signature part, which only holds base64url
     * characters, so decoding it rejects four or more parts. */
    if (hlen == 0 || plen == 0 || sig_b64_len != SIG_B64_LEN)
        return RTK_EAUTH;

    uint8_t sig[SIG_LEN], mac[SIG_LEN];
    if (rtk_b64url_decode(sig_b64, sig_b64_len, sig, sizeof(sig)) != SIG_LEN)
        return RTK_EAUTH;
    /* Authenticate first: nothing the signer did not write reaches the JSON parser. */
    rtk_hmac_sha256(key, keylen, tok, (size_t)(dot2 - tok), mac);
    if (!rtk_ct_equal(sig, mac, SIG_LEN))
        return RTK_EAUTH;

    int rc = RTK_EAUTH;
    json_t *payload = NULL;
    json_t *header = load_object(tok, hlen);
    if (header == NULL || !header_ok(header))
        goto fail;
    payload = load_object(dot1 + 1, plen);
    if (payload == NULL)
        goto fail;

    rtk_ptoken c;
    if (get_uuid(payload, "appId", c.app_id) || get_uuid(payload, "meetingId", c.meeting_id) ||
        get_uuid(payload, "participantId", c.participant_id) || get_int(payload, "iat", &c.iat) ||
        get_int(payload, "exp", &c.exp))
        goto fail;
    if (now_s >= c.exp) {
        rc = RTK_EEXPIRED;
        goto fail;
    }
    *out = c;
    rc = 0;
fail:
    json_decref(header);
    json_decref(payload);
    return rc;
}
