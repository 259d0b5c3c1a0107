/* SPDX-License-Identifier: MIT */
/* fuzz_ptoken.c - libFuzzer harness: participant-token verification.
 *
 * Surface: the participant token of a channel handshake (?token= or Authorization: Bearer),
 * checked by rtk_ptoken_verify() (src/auth/rtk_token.h) before anything else is looked up.
 * Tokens up to RTK_PTOKEN_MAX bytes are verified; run with -max_len=4096 so longer ones are
 * tried too.
 *
 * The first input byte picks a mode:
 *   0  the rest is a token as received: verify must refuse it (the fuzzer cannot forge an
 *      HMAC) unless it is byte for byte a token signed with our key, which it cannot be.
 *   1  the rest is "header JSON" 0xff "payload JSON": the harness signs them with the key
 *      (base64url + HMAC-SHA256, as a legitimate signer would). verify must accept exactly
 *      when an independent check of the claims says they are well formed (header object with
 *      "alg":"HS256", "typ" absent or "JWT", no "crit"; payload object, no duplicate keys,
 *      canonical UUIDs appId/meetingId/participantId, integers iat/exp), answer RTK_EEXPIRED
 *      exactly when they are well formed but expired, and then return exactly those claims.
 *      Then one byte of the signed token is changed (position and xor from the input): the
 *      result must be refused.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/rtk_token.h"
#include "util/rtk_b64.h"
#include "util/rtk_err.h"
#include "util/rtk_id.h"

static const uint8_t key[32] = "rtkd-fuzz-ptoken-key-0123456789";
#define NOW 1700000000

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_ptoken: invariant broken: %s\n", what);
    abort();
}

/* The oracle: do |h| and |p| (raw JSON texts) make well-formed claims? Fills |c|. */
static int claims_ok(const uint8_t *h, size_t hl, const uint8_t *p, size_t pl, rtk_ptoken *c)
{
    int ok = 0;
    json_t *hj = json_loadb((const char *)h, hl, JSON_REJECT_DUPLICATES, NULL);
    json_t *pj = json_loadb((const char *)p, pl, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(hj) || !json_is_object(pj))
        goto out;
    json_t *alg = json_object_get(hj, "alg"), *typ = json_object_get(hj, "typ");
    if (!json_is_string(alg) || json_string_length(alg) != 5 ||
        memcmp(json_string_value(alg), "HS256", 5) != 0)
        goto out;
    if (typ != NULL && (!json_is_string(typ) || json_string_length(typ) != 3 ||
                        memcmp(json_string_value(typ), "JWT", 3) != 0))
        goto out;
    if (json_object_get(hj, "crit") != NULL)
        goto out;
    static const char *const ids[3] = {"appId", "meetingId", "participantId"};
    char *dst[3] = {c->app_id, c->meeting_id, c->participant_id};
    for (int i = 0; i < 3; i++) {
        json_t *v = json_object_get(pj, ids[i]);
        if (!json_is_string(v) || json_string_length(v) != 36)
            goto out;
        const char *s = json_string_value(v);
        for (int k = 0; k < 36; k++) {
            int dash = k == 8 || k == 13 || k == 18 || k == 23;
            int hex = (s[k] >= '0' && s[k] <= '9') || (s[k] >= 'a' && s[k] <= 'f') ||
                      (s[k] >= 'A' && s[k] <= 'F');
            if (dash ? s[k] != '-' : !hex)
                goto out;
        }
        memcpy(dst[i], s, 36);
        dst[i][36] = '\0';
    }
    json_t *iat = json_object_get(pj, "iat"), *exp = json_object_get(pj, "exp");
    if (!json_is_integer(iat) || !json_is_integer(exp))
        goto out;
    c->iat = json_integer_value(iat);
    c->exp = json_integer_value(exp);
    ok = 1;
out:
    json_decref(hj);
    json_decref(pj);
    return ok;
}

static void raw_token(const uint8_t *data, size_t size)
{
    rtk_ptoken out;
    memset(&out, 0x5a, sizeof(out));
    rtk_ptoken before = out;
    int rc = rtk_ptoken_verify(key, sizeof(key), (const char *)data, size, NOW, &out);
    if (rc == 0)
        fail("an unsigned token was accepted");
    if (rc != RTK_EAUTH && rc != RTK_EEXPIRED)
        fail("undocumented return value");
    if (memcmp(&out, &before, sizeof(out)) != 0)
        fail("*out written although the token was refused");
}

static void signed_token(const uint8_t *data, size_t size)
{
    const uint8_t *sep = memchr(data, 0xff, size);
    if (sep == NULL || size < 3)
        return;
    /* The last two bytes choose the tampering: position and (non-zero) xor. */
    uint8_t tpos = data[size - 2], txor = data[size - 1] ? data[size - 1] : 1;
    size -= 2;
    if (sep >= data + size)
        return;
    const uint8_t *h = data;
    size_t hl = (size_t)(sep - data);
    const uint8_t *p = sep + 1;
    size_t pl = size - hl - 1;

    size_t cap = RTK_B64_ENCODED_SIZE(hl) + RTK_B64_ENCODED_SIZE(pl) + RTK_B64_ENCODED_SIZE(32);
    char *tok = malloc(cap);
    if (tok == NULL)
        abort();
    size_t n = rtk_b64url_encode(h, hl, tok);
    tok[n++] = '.';
    n += rtk_b64url_encode(p, pl, tok + n);
    uint8_t sig[32];
    rtk_hmac_sha256(key, sizeof(key), tok, n, sig);
    tok[n++] = '.';
    n += rtk_b64url_encode(sig, sizeof(sig), tok + n);

    rtk_ptoken want, got;
    memset(&want, 0, sizeof(want));
    memset(&got, 0, sizeof(got));
    int ok = hl > 0 && pl > 0 && n <= RTK_PTOKEN_MAX && claims_ok(h, hl, p, pl, &want);
    int rc = rtk_ptoken_verify(key, sizeof(key), tok, n, NOW, &got);
    if (!ok && rc != RTK_EAUTH)
        fail("malformed claims were not refused with RTK_EAUTH");
    if (ok && want.exp <= NOW && rc != RTK_EEXPIRED)
        fail("well-formed expired claims did not give RTK_EEXPIRED");
    if (ok && want.exp > NOW) {
        if (rc != 0)
            fail("well-formed signed claims were refused");
        if (strcmp(got.app_id, want.app_id) != 0 || strcmp(got.meeting_id, want.meeting_id) ||
            strcmp(got.participant_id, want.participant_id) || got.iat != want.iat ||
            got.exp != want.exp)
            fail("verify returned other claims than were signed");
        if (!rtk_id_is_uuid(got.app_id, strlen(got.app_id)))
            fail("accepted app id is not a UUID");
    }

    /* Any change to a signed token breaks it. */
    size_t at = tpos % n;
    tok[at] = (char)(tok[at] ^ txor);
    rc = rtk_ptoken_verify(key, sizeof(key), tok, n, NOW, &got);
    if (rc != RTK_EAUTH)
        fail("a tampered token was not refused with RTK_EAUTH");
    free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        signed_token(data + 1, size - 1);
    else
        raw_token(data + 1, size - 1);
    return 0;
}
