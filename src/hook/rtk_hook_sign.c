/* SPDX-License-Identifier: MIT */
/* rtk_hook_sign.c - webhook signing keys (OpenSSL 3), signatures, and the retry schedule. */
#include "hook/rtk_hook_sign.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/rtk_b64.h"
#include "util/rtk_err.h"

struct rtk_hook_keys {
    EVP_PKEY *rsa;
    EVP_PKEY *ed;
    char *rsa_public;   /* PEM */
    char ed_public[64]; /* whpk_... */
};

void rtk_hook_keys_free(rtk_hook_keys *k)
{
    if (k == NULL)
        return;
    EVP_PKEY_free(k->rsa);
    EVP_PKEY_free(k->ed);
    free(k->rsa_public);
    free(k);
}

static char *pem_private(EVP_PKEY *key)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *out = NULL;
    if (b != NULL && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) == 1) {
        char *p;
        long n = BIO_get_mem_data(b, &p);
        out = rtk_xmalloc((size_t)n + 1);
        memcpy(out, p, (size_t)n);
        out[n] = '\0';
    }
    BIO_free(b);
    return out;
}

static EVP_PKEY *parse_private(const char *pem, size_t len)
{
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *key = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    return key;
}

/* Fills the public forms of both keys. 0 or RTK_EINVAL. */
static int publics(rtk_hook_keys *k)
{
    if (EVP_PKEY_get_base_id(k->rsa) != EVP_PKEY_RSA || EVP_PKEY_get_bits(k->rsa) < 2048 ||
        EVP_PKEY_get_base_id(k->ed) != EVP_PKEY_ED25519)
        return RTK_EINVAL;
    BIO *b = BIO_new(BIO_s_mem());
    if (b == NULL || PEM_write_bio_PUBKEY(b, k->rsa) != 1) {
        BIO_free(b);
        return RTK_EINVAL;
    }
    char *p;
    long n = BIO_get_mem_data(b, &p);
    k->rsa_public = rtk_xmalloc((size_t)n + 1);
    memcpy(k->rsa_public, p, (size_t)n);
    k->rsa_public[n] = '\0';
    BIO_free(b);
    uint8_t raw[32];
    size_t rlen = sizeof(raw);
    if (EVP_PKEY_get_raw_public_key(k->ed, raw, &rlen) != 1 || rlen != 32)
        return RTK_EINVAL;
    memcpy(k->ed_public, "whpk_", 5);
    rtk_b64_encode(raw, rlen, k->ed_public + 5);
    return 0;
}

rtk_hook_keys *rtk_hook_keys_generate(void)
{
    rtk_hook_keys *k = rtk_xcalloc(1, sizeof(*k));
    k->rsa = EVP_RSA_gen(2048);
    k->ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (k->rsa == NULL || k->ed == NULL || publics(k) != 0) {
        rtk_hook_keys_free(k);
        return NULL;
    }
    return k;
}

/* The private key called |name|: the stored one, or a new one (made by |make|) stored first.
 * Whichever node stores first wins; every node then reads that one. */
static int load_one(rtk_store *st, const char *name, EVP_PKEY *(*make)(void), EVP_PKEY **out)
{
    for (int round = 0; round < 2; round++) {
        char *pem = NULL;
        if (round == 1) {
            EVP_PKEY *fresh = make();
            pem = fresh != NULL ? pem_private(fresh) : NULL;
            EVP_PKEY_free(fresh);
            if (pem == NULL)
                return RTK_EINVAL;
        }
        rtk_store_kept kept;
        rtk_store_key_text(st, name, pem, rtk_store_keep, &kept);
        rtk_store_wait(st);
        free(pem);
        int rc = kept.done ? kept.status : RTK_EUNAVAIL;
        if (rc == 0) {
            size_t len;
            const char *text = rtk_store_text(&kept.res.sets[kept.res.nsets - 1], 0, 0, &len);
            *out = parse_private(text, len);
            rc = *out != NULL ? 0 : RTK_EINVAL;
        }
        rtk_store_kept_free(&kept);
        if (rc != RTK_ENOTFOUND)
            return rc;
    }
    return RTK_EINVAL;
}

static EVP_PKEY *make_rsa(void)
{
    return EVP_RSA_gen(2048);
}

static EVP_PKEY *make_ed(void)
{
    return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
}

int rtk_hook_keys_load(rtk_store *st, rtk_hook_keys **out)
{
    rtk_hook_keys *k = rtk_xcalloc(1, sizeof(*k));
    int rc = load_one(st, "webhook-rsa", make_rsa, &k->rsa);
    if (rc == 0)
        rc = load_one(st, "webhook-ed25519", make_ed, &k->ed);
    if (rc == 0)
        rc = publics(k);
    if (rc != 0) {
        rtk_hook_keys_free(k);
        *out = NULL;
        return rc;
    }
    *out = k;
    return 0;
}

const char *rtk_hook_keys_rsa_public(const rtk_hook_keys *k)
{
    return k->rsa_public;
}

const char *rtk_hook_keys_ed_public(const rtk_hook_keys *k)
{
    return k->ed_public;
}

/* Signs |len| bytes with |key| (|md| NULL for Ed25519) into base64 at |out|. */
static int sign(EVP_PKEY *key, const EVP_MD *md, const void *msg, size_t len, char *out, size_t cap)
{
    uint8_t sig[512];
    size_t slen = sizeof(sig);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestSignInit(ctx, NULL, md, NULL, key) == 1 &&
             EVP_DigestSign(ctx, sig, &slen, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok || cap < RTK_B64_ENCODED_SIZE(slen))
        return RTK_EINVAL;
    rtk_b64_encode(sig, slen, out);
    return 0;
}

int rtk_hook_sign_rsa(const rtk_hook_keys *k, const char *body, size_t len, char *out, size_t cap)
{
    return sign(k->rsa, EVP_sha256(), body, len, out, cap);
}

int rtk_hook_sign_ed(const rtk_hook_keys *k, const char *id, int64_t ts, const char *body,
                     size_t len, char *out, size_t cap)
{
    char head[128];
    int hn = snprintf(head, sizeof(head), "%s.%lld.", id, (long long)ts);
    if (hn < 0 || (size_t)hn >= sizeof(head) || cap < 5)
        return RTK_EINVAL;
    char *msg = rtk_xmalloc((size_t)hn + len);
    memcpy(msg, head, (size_t)hn);
    memcpy(msg + hn, body, len);
    memcpy(out, "v1a,", sizeof("v1a,")); /* the signature follows the comma */
    int rc = sign(k->ed, NULL, msg, (size_t)hn + len, out + 4, cap - 4);
    free(msg);
    return rc;
}

int64_t rtk_hook_backoff_ms(int n, int64_t base_ms, uint32_t rnd)
{
    if (n < 1)
        n = 1;
    double wait = (double)base_ms;
    for (int i = 1; i < n && wait < RTK_HOOK_BACKOFF_CAP_MS; i++)
        wait *= 2;
    /* Jitter of +/-10 %, so that receivers that failed together are not retried together. */
    wait *= 0.9 + 0.2 * ((double)rnd / 4294967295.0);
    if (wait > RTK_HOOK_BACKOFF_CAP_MS)
        wait = RTK_HOOK_BACKOFF_CAP_MS;
    return (int64_t)wait;
}

int64_t rtk_hook_retry_after_ms(const char *value, int64_t now_ms)
{
    while (*value == ' ' || *value == '\t')
        value++;
    int64_t wait;
    if (*value >= '0' && *value <= '9') {
        char *end;
        unsigned long long s = strtoull(value, &end, 10);
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
            end++;
        if (*end != '\0')
            return -1;
        wait = s > RTK_HOOK_BACKOFF_CAP_MS / 1000 ? RTK_HOOK_BACKOFF_CAP_MS : (int64_t)s * 1000;
    } else {
        time_t t = curl_getdate(value, NULL);
        if (t < 0)
            return -1;
        wait = (int64_t)t * 1000 - now_ms;
        if (wait < 0)
            wait = 0;
    }
    return wait > RTK_HOOK_BACKOFF_CAP_MS ? RTK_HOOK_BACKOFF_CAP_MS : wait;
}
