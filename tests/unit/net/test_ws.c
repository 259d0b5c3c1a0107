/* SPDX-License-Identifier: MIT */
/* test_ws.c - RFC 6455 codec tests: scripted client bytes fed whole, byte by byte, and split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/rtk_ws.h"
#include "util/rtk_err.h"

#define FIN 0x80
#define TEXT RTK_WS_OP_TEXT
#define CONT RTK_WS_OP_CONT
#define BIN RTK_WS_OP_BINARY
#define CLOSE RTK_WS_OP_CLOSE
#define PING RTK_WS_OP_PING
#define PONG RTK_WS_OP_PONG

#define SCRIPT_CAP (4 * RTK_WS_MAX_FRAME)
#define MAX_FRAMES 64
#define FULL_SPLIT_LIMIT 2048 /* inputs up to this size are tried with every chunk and split */

/* ---- script builder: client frames, masked as a browser would -------------------------- */

typedef struct script {
    uint8_t *b;
    size_t len;
} script;

static uint32_t key_seed = 0x37fa213d;

/* A different masking key for every frame, so unmasking with the wrong key or offset shows. */
static void next_key(uint8_t key[4])
{
    key_seed = key_seed * 1103515245u + 12345u;
    key[0] = (uint8_t)(key_seed >> 24);
    key[1] = (uint8_t)(key_seed >> 16);
    key[2] = (uint8_t)(key_seed >> 8);
    key[3] = (uint8_t)(key_seed | 1); /* never an all-zero key */
}

static script *sc_new(void)
{
    script *sc = calloc(1, sizeof(*sc));
    assert_non_null(sc);
    sc->b = malloc(SCRIPT_CAP);
    assert_non_null(sc->b);
    return sc;
}

static void sc_free(script *sc)
{
    free(sc->b);
    free(sc);
}

enum { LEN_MIN = 0, LEN_7 = 7, LEN_16 = 16, LEN_64 = 64 };

/* Appends a frame header with first byte |b0|, declared payload length |declared| in length
 * encoding |form| (LEN_MIN picks the minimal one), mask bit and key when |masked|. Returns a
 * pointer to the masking key (NULL when unmasked). */
static uint8_t *sc_header(script *sc, uint8_t b0, uint64_t declared, int form, int masked)
{
    uint8_t *o = sc->b + sc->len;
    size_t h = 0;
    uint8_t mbit = masked ? 0x80 : 0;
    if (form == LEN_MIN)
        form = declared < 126 ? LEN_7 : declared <= 0xffff ? LEN_16 : LEN_64;
    o[h++] = b0;
    if (form == LEN_7) {
        o[h++] = (uint8_t)(mbit | declared);
    } else if (form == LEN_16) {
        o[h++] = mbit | 126;
        o[h++] = (uint8_t)(declared >> 8);
        o[h++] = (uint8_t)declared;
    } else {
        o[h++] = mbit | 127;
        for (int i = 7; i >= 0; i--)
            o[h++] = (uint8_t)(declared >> (8 * i));
    }
    uint8_t *key = NULL;
    if (masked) {
        key = o + h;
        next_key(key);
        h += 4;
    }
    sc->len += h;
    assert_true(sc->len <= SCRIPT_CAP);
    return key;
}

static void sc_frame_ex(script *sc, uint8_t b0, const void *payload, size_t n, int form,
                        int masked)
{
    uint8_t *key = sc_header(sc, b0, n, form, masked);
    assert_true(sc->len + n <= SCRIPT_CAP);
    const uint8_t *p = payload;
    for (size_t i = 0; i < n; i++)
        sc->b[sc->len + i] = key != NULL ? (uint8_t)(p[i] ^ key[i & 3]) : p[i];
    sc->len += n;
}

static void sc_frame(script *sc, uint8_t b0, const void *payload, size_t n)
{
    sc_frame_ex(sc, b0, payload, n, LEN_MIN, 1);
}

static void sc_str(script *sc, uint8_t b0, const char *s)
{
    sc_frame(sc, b0, s, strlen(s));
}

static void sc_close(script *sc, uint16_t code, const char *reason, size_t reason_len)
{
    uint8_t p[200];
    p[0] = (uint8_t)(code >> 8);
    p[1] = (uint8_t)code;
    memcpy(p + 2, reason, reason_len);
    sc_frame(sc, FIN | CLOSE, p, 2 + reason_len);
}

/* Turns an unmasked server frame into the masked client frame a peer would send: sets the
 * mask bit, inserts a key after the length, masks the payload. Returns the new length. */
static size_t mask_frame(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t len7 = in[1] & 0x7f;
    size_t h = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0);
    assert_true(n >= h);
    memcpy(out, in, h);
    out[1] |= 0x80;
    uint8_t *key = out + h;
    next_key(key);
    for (size_t i = 0; i < n - h; i++)
        out[h + 4 + i] = (uint8_t)(in[h + i] ^ key[i & 3]);
    return n + 4;
}

/* ---- feeding: the connection layer in miniature ----------------------------------------- */

typedef struct frame_rec {
    uint8_t opcode, fin;
    size_t len, off; /* off: where its payload starts in outcome.data */
} frame_rec;

typedef struct outcome {
    ssize_t rc;          /* RTK_EPROTO; RTK_EAGAIN when bytes were left over; else 0 */
    uint16_t close_code; /* meaningful when rc == RTK_EPROTO */
    size_t nframes;
    frame_rec f[MAX_FRAMES];
    uint8_t *data; /* every payload, concatenated */
    size_t data_len;
    size_t pending; /* bytes the caller still held at the end */
} outcome;

static void outcome_free(outcome *o)
{
    if (o != NULL)
        free(o->data);
    free(o);
}

/* Feeds |in| to a fresh parser in pieces: of |chunk| bytes, or, when |split| is nonzero, as
 * [0, split) then [split, n). Between pieces it does what the connection layer does: parse
 * until RTK_EAGAIN, then keep only the leftover bytes. It checks the codec's contract on
 * every RTK_EAGAIN: state and bytes untouched, rtk_ws_frame_size() consistent. */
static outcome *feed(const uint8_t *in, size_t n, size_t chunk, size_t split)
{
    outcome *o = calloc(1, sizeof(*o));
    assert_non_null(o);
    o->data = malloc(n + 1);
    /* The caller's buffer, exactly as long as the input, so that ASan catches a read past
     * the end of the last frame. */
    uint8_t *w = malloc(n > 0 ? n : 1);
    assert_non_null(o->data);
    assert_non_null(w);

    rtk_ws_state st;
    rtk_ws_state_init(&st);
    size_t fed = 0, start = 0, end = 0, consumed_total = 0;
    ssize_t expect_size = -1; /* what rtk_ws_frame_size() promised for the pending frame */
    while (fed < n && o->rc != RTK_EPROTO) {
        size_t piece = split != 0 ? (fed == 0 ? split : n - split) : chunk;
        if (piece > n - fed)
            piece = n - fed;
        memcpy(w + end, in + fed, piece);
        end += piece;
        fed += piece;
        for (;;) {
            rtk_ws_state before = st;
            rtk_ws_frame fr;
            memset(&fr, 0xa5, sizeof(fr));
            uint16_t code = 0;
            ssize_t r = rtk_ws_parse(&st, w + start, end - start, &fr, &code);
            if (r == RTK_EPROTO) {
                o->rc = RTK_EPROTO;
                o->close_code = code;
                break;
            }
            size_t left = end - start;
            if (r == RTK_EAGAIN) {
                assert_memory_equal(&before, &st, sizeof(st));
                /* The parser must not touch an incomplete frame: spot-check its two ends. */
                size_t k = left < 64 ? left : 64;
                assert_memory_equal(w + start, in + consumed_total, k);
                assert_memory_equal(w + end - k, in + consumed_total + left - k, k);
                ssize_t sz = rtk_ws_frame_size(w + start, left);
                if (sz == RTK_EAGAIN) {
                    assert_true(left < RTK_WS_MAX_HEADER);
                } else {
                    assert_true(sz > (ssize_t)left);
                    assert_true(sz <= RTK_WS_MAX_FRAME);
                    if (expect_size >= 0)
                        assert_int_equal(sz, expect_size);
                    expect_size = sz;
                }
                /* Keep only the leftover, as the connection layer copies it aside. */
                if (start != 0)
                    memmove(w, w + start, left);
                start = 0;
                end = left;
                break;
            }
            assert_true(r > 0);
            assert_true((size_t)r <= left);
            if (expect_size >= 0)
                assert_int_equal(r, expect_size);
            assert_int_equal(rtk_ws_frame_size(w + start, left), r);
            expect_size = -1;
            assert_true(fr.payload >= w + start && fr.payload + fr.len <= w + start + r);
            assert_true(o->nframes < MAX_FRAMES);
            frame_rec *rec = &o->f[o->nframes++];
            rec->opcode = fr.opcode;
            rec->fin = fr.fin;
            rec->len = fr.len;
            rec->off = o->data_len;
            memcpy(o->data + o->data_len, fr.payload, fr.len);
            o->data_len += fr.len;
            start += (size_t)r;
            consumed_total += (size_t)r;
        }
    }
    o->pending = end - start;
    if (o->rc == 0 && o->pending != 0)
        o->rc = RTK_EAGAIN;
    free(w);
    return o;
}

static void assert_same_outcome(const outcome *a, const outcome *b)
{
    assert_int_equal(a->rc, b->rc);
    if (a->rc == RTK_EPROTO)
        assert_int_equal(a->close_code, b->close_code);
    else
        assert_int_equal(a->pending, b->pending);
    assert_int_equal(a->nframes, b->nframes);
    for (size_t i = 0; i < a->nframes; i++) {
        assert_int_equal(a->f[i].opcode, b->f[i].opcode);
        assert_int_equal(a->f[i].fin, b->f[i].fin);
        assert_int_equal(a->f[i].len, b->f[i].len);
    }
    assert_int_equal(a->data_len, b->data_len);
    if (a->data_len > 0)
        assert_memory_equal(a->data, b->data, a->data_len);
}

static void check_variant(const uint8_t *in, size_t n, const outcome *ref, size_t chunk,
                          size_t split)
{
    outcome *o = feed(in, n, chunk, split);
    assert_same_outcome(ref, o);
    outcome_free(o);
}

/* Feeds |in| whole, then one byte at a time, in every chunk size and split at every boundary
 * (large inputs: a selection, since that is quadratic), and asserts all runs agree. Returns
 * the outcome of the whole-input run for the test to check. */
static outcome *run_all(const uint8_t *in, size_t n)
{
    outcome *ref = feed(in, n, n > 0 ? n : 1, 0);
    if (n <= FULL_SPLIT_LIMIT) {
        for (size_t chunk = 1; chunk < n; chunk++)
            check_variant(in, n, ref, chunk, 0);
        for (size_t split = 1; split < n; split++)
            check_variant(in, n, ref, 0, split);
        return ref;
    }
    static const size_t chunks[] = {1, 2, 3, 5, 7, 8, 13, 64, 127, 1000, 4096, 65536};
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++)
        check_variant(in, n, ref, chunks[i], 0);
    for (size_t split = 1; split < n; split++) {
        if (split < 64 || n - split < 64 || split % 997 == 0)
            check_variant(in, n, ref, 0, split);
    }
    return ref;
}

static void expect_fail(const script *sc, uint16_t code, size_t frames_before)
{
    outcome *o = run_all(sc->b, sc->len);
    assert_int_equal(o->rc, RTK_EPROTO);
    assert_int_equal(o->close_code, code);
    assert_int_equal(o->nframes, frames_before);
    outcome_free(o);
}

static void assert_frame(const outcome *o, size_t i, uint8_t opcode, uint8_t fin,
                         const void *payload, size_t len)
{
    assert_true(i < o->nframes);
    assert_int_equal(o->f[i].opcode, opcode);
    assert_int_equal(o->f[i].fin, fin);
    assert_int_equal(o->f[i].len, len);
    if (len > 0)
        assert_memory_equal(o->data + o->f[i].off, payload, len);
}

static outcome *expect_ok(const script *sc, size_t nframes)
{
    outcome *o = run_all(sc->b, sc->len);
    assert_int_equal(o->rc, 0);
    assert_int_equal(o->nframes, nframes);
    return o;
}

/* ---- handshake -------------------------------------------------------------------------- */

static void ws_state_is_tiny(void **state)
{
    (void)state;
    /* rtk_ws.h promises 8 bytes: it is embedded in every peer's connection. */
    assert_int_equal(sizeof(rtk_ws_state), 8);
}

static void ws_accept_key_vectors(void **state)
{
    /* RFC 6455 §1.3 and §4.2.2, then two independently computed keys. */
    static const char *const vec[][2] = {
        {"dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="},
        {"x3JJHMbDL1EzLkh9GBhXDw==", "HSmrc0sMlYUkAGmm5OPpG2HaGWk="},
        {"wDqumtseNBJdhkihL6PW7w==", "0FFP+2nmNIf/h+4BP36k9uzrYGk="},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        char out[RTK_WS_ACCEPT_LEN + 1];
        memset(out, 'x', sizeof(out));
        assert_int_equal(rtk_ws_accept_key(vec[i][0], strlen(vec[i][0]), out), 0);
        assert_string_equal(out, vec[i][1]);
    }
}

static void ws_accept_key_rejects_bad_nonces(void **state)
{
    static const char *const bad[] = {
        "",
        "dGhlIHNhbXBsZSBub25jZQ=",   /* 23 characters */
        "dGhlIHNhbXBsZSBub25jZQ===", /* 25 */
        "dGhlIHNhbXBsZSBub25jZQAA",  /* no padding: 18 bytes, not 16 */
        "dGhlIHNhbXBsZSBub25jZQA=",  /* one '=': 17 bytes */
        "dGhlIHNhbXBsZSBub25jZ===",  /* padding too early */
        "dGhlIHNhbXBsZSBub25j=Q==",  /* '=' inside */
        "dGhlIHNhbXBsZSBub25jZR==",  /* stray low bits in the last character */
        "dGhlIHNhbXBsZSBub25jZf==",
        "dGhlIHNhbXBsZSBub25jZ-==", /* base64url alphabet */
        "dGhlIHNhbXBs_SBub25jZQ==",
        "dGhlIHNhbXBs*SBub25jZQ==",
        "dGhlIHNhbXBsZSBub25jZQ= ",
        " dGhlIHNhbXBsZSBub25jZQ=",
        "dGhlIHNhbXBsZSBub25jZQ==dGhl",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char out[RTK_WS_ACCEPT_LEN + 1] = "junk";
        assert_int_equal(rtk_ws_accept_key(bad[i], strlen(bad[i]), out), RTK_EINVAL);
        assert_string_equal(out, "");
    }
    /* An embedded NUL, and a key whose length is passed shorter than its string. */
    char out[RTK_WS_ACCEPT_LEN + 1];
    assert_int_equal(rtk_ws_accept_key("dGhlIHNhbXBsZSBub2\0jZQ==", 24, out), RTK_EINVAL);
    assert_int_equal(rtk_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 23, out), RTK_EINVAL);
    /* Every canonical last character is accepted. */
    static const char last[] = "AQgw";
    for (size_t i = 0; i < 4; i++) {
        char key[] = "dGhlIHNhbXBsZSBub25jZQ==";
        key[21] = last[i];
        assert_int_equal(rtk_ws_accept_key(key, 24, out), 0);
        assert_int_equal(strlen(out), RTK_WS_ACCEPT_LEN);
    }
}

/* ---- RFC 6455 §5.7 examples ----------------------------------------------------------- */

static void ws_rfc_examples(void **state)
{
    /* A single-frame masked text message "Hello". */
    static const uint8_t hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f,
                                    0x9f, 0x4d, 0x51, 0x58};
    /* Masked pong "Hello" (the RFC's example of a masked pong). */
    static const uint8_t pong[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f,
                                   0x9f, 0x4d, 0x51, 0x58};
    /* The RFC's unmasked frames are what a server sends: a client sending them is a 1002. */
    static const uint8_t unmasked_hello[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    static const uint8_t unmasked_ping[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    /* 256 bytes and 64 KiB binary messages: only their headers, which already decide. */
    static const uint8_t bin256[] = {0x82, 0x7e, 0x01, 0x00};
    static const uint8_t bin64k[] = {0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0};
    (void)state;

    outcome *o = run_all(hello, sizeof(hello));
    assert_int_equal(o->rc, 0);
    assert_int_equal(o->nframes, 1);
    assert_frame(o, 0, TEXT, 1, "Hello", 5);
    outcome_free(o);

    o = run_all(pong, sizeof(pong));
    assert_int_equal(o->rc, 0);
    assert_frame(o, 0, PONG, 1, "Hello", 5);
    outcome_free(o);

    const struct {
        const uint8_t *b;
        size_t n;
        uint16_t code;
    } bad[] = {
        {unmasked_hello, sizeof(unmasked_hello), 1002},
        {unmasked_ping, sizeof(unmasked_ping), 1002},
        {bin256, sizeof(bin256), 1003},
        {bin64k, sizeof(bin64k), 1003},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        o = run_all(bad[i].b, bad[i].n);
        assert_int_equal(o->rc, RTK_EPROTO);
        assert_int_equal(o->close_code, bad[i].code);
        outcome_free(o);
    }

    /* The fragmented "Hel" + "lo", masked as a client must. */
    script *sc = sc_new();
    sc_str(sc, TEXT, "Hel");
    sc_str(sc, FIN | CONT, "lo");
    o = expect_ok(sc, 2);
    assert_frame(o, 0, TEXT, 0, "Hel", 3);
    assert_frame(o, 1, CONT, 1, "lo", 2);
    outcome_free(o);
    sc_free(sc);
}

/* ---- header rules: each fails as soon as the bytes decide ------------------------------- */

static void ws_rejects_unmasked(void **state)
{
    (void)state;
    static const uint8_t ops[] = {TEXT, PING, PONG, CLOSE};
    for (size_t i = 0; i < sizeof(ops); i++) {
        script *sc = sc_new();
        sc_frame_ex(sc, FIN | ops[i], "abc", 3, LEN_MIN, 0);
        expect_fail(sc, 1002, 0);
        sc->len = 2; /* the first two bytes already decide */
        expect_fail(sc, 1002, 0);
        sc_free(sc);
    }
    /* Unmasked continuation inside a message; unmasked 16-bit-length frame. */
    script *sc = sc_new();
    sc_str(sc, TEXT, "a");
    sc_frame_ex(sc, FIN | CONT, "b", 1, LEN_MIN, 0);
    expect_fail(sc, 1002, 1);
    sc_free(sc);
    uint8_t big[300];
    memset(big, 'x', sizeof(big));
    sc = sc_new();
    sc_frame_ex(sc, FIN | TEXT, big, sizeof(big), LEN_MIN, 0);
    expect_fail(sc, 1002, 0);
    sc_free(sc);
}

static void ws_rejects_rsv_bits(void **state)
{
    (void)state;
    static const uint8_t rsv[] = {0x40, 0x20, 0x10, 0x70};
    static const uint8_t ops[] = {FIN | TEXT, TEXT, FIN | PING, FIN | CLOSE, FIN | CONT};
    for (size_t i = 0; i < sizeof(rsv); i++) {
        for (size_t j = 0; j < sizeof(ops); j++) {
            script *sc = sc_new();
            sc_str(sc, (uint8_t)(ops[j] | rsv[i]), "hi");
            expect_fail(sc, 1002, 0);
            sc->len = 1;
            expect_fail(sc, 1002, 0);
            sc_free(sc);
        }
    }
    /* RSV on a binary frame is still a 1002: byte 0 checks RSV before the opcode. */
    script *sc = sc_new();
    sc_str(sc, FIN | 0x40 | BIN, "x");
    expect_fail(sc, 1002, 0);
    sc_free(sc);
}

static void ws_rejects_reserved_opcodes(void **state)
{
    (void)state;
    static const uint8_t ops[] = {3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf};
    for (size_t i = 0; i < sizeof(ops); i++) {
        for (int fin = 0; fin < 2; fin++) {
            script *sc = sc_new();
            sc_str(sc, (uint8_t)(fin ? FIN | ops[i] : ops[i]), "x");
            expect_fail(sc, 1002, 0);
            sc->len = 1;
            expect_fail(sc, 1002, 0);
            sc_free(sc);
        }
    }
}

static void ws_rejects_binary_1003(void **state)
{
    (void)state;
    script *sc = sc_new();
    sc_str(sc, FIN | BIN, "\x01\x02\x03");
    expect_fail(sc, 1003, 0);
    sc->len = 1;
    expect_fail(sc, 1003, 0);
    sc_free(sc);

    /* A fragmented binary message: its first fragment already fails. */
    sc = sc_new();
    sc_str(sc, BIN, "ab");
    sc_str(sc, FIN | CONT, "cd");
    expect_fail(sc, 1003, 0);
    sc_free(sc);

    /* After good text, and in the middle of a fragmented text message. */
    sc = sc_new();
    sc_str(sc, FIN | TEXT, "{}");
    sc_str(sc, TEXT, "{");
    sc_frame(sc, FIN | BIN, NULL, 0);
    expect_fail(sc, 1003, 2);
    sc_free(sc);
}

static void ws_rejects_fragmented_control(void **state)
{
    (void)state;
    static const uint8_t ops[] = {PING, PONG, CLOSE};
    for (size_t i = 0; i < sizeof(ops); i++) {
        script *sc = sc_new();
        sc_frame(sc, ops[i], NULL, 0);
        expect_fail(sc, 1002, 0);
        sc->len = 1;
        expect_fail(sc, 1002, 0);
        sc_free(sc);
    }
    /* A ping with FIN clear in the middle of a fragmented text message. */
    script *sc = sc_new();
    sc_str(sc, TEXT, "a");
    sc_str(sc, PING, "p");
    sc_str(sc, FIN | CONT, "b");
    expect_fail(sc, 1002, 1);
    sc_free(sc);
}

static void ws_control_payload_limit(void **state)
{
    (void)state;
    uint8_t p[RTK_WS_MAX_CONTROL + 1];
    memset(p, 'p', sizeof(p));
    p[0] = 0x03; /* a close code of 1000 for the close frames below */
    p[1] = 0xe8;
    static const uint8_t ops[] = {PING, PONG, CLOSE};
    for (size_t i = 0; i < sizeof(ops); i++) {
        /* 125 bytes is the limit and fine. */
        script *sc = sc_new();
        sc_frame(sc, FIN | ops[i], p, RTK_WS_MAX_CONTROL);
        outcome *o = expect_ok(sc, 1);
        assert_frame(o, 0, ops[i], 1, p, RTK_WS_MAX_CONTROL);
        outcome_free(o);
        sc_free(sc);

        /* 126 bytes (16-bit length) and 127-form lengths fail at byte 1. */
        sc = sc_new();
        sc_frame(sc, FIN | ops[i], p, RTK_WS_MAX_CONTROL + 1);
        expect_fail(sc, 1002, 0);
        sc->len = 2;
        expect_fail(sc, 1002, 0);
        sc_free(sc);

        sc = sc_new();
        sc_frame_ex(sc, FIN | ops[i], p, 5, LEN_64, 1);
        expect_fail(sc, 1002, 0);
        sc->len = 2;
        expect_fail(sc, 1002, 0);
        sc_free(sc);

        /* A control frame with a non-minimal 16-bit length still trips the 125 rule first. */
        sc = sc_new();
        sc_frame_ex(sc, FIN | ops[i], p, 5, LEN_16, 1);
        expect_fail(sc, 1002, 0);
        sc_free(sc);
    }
}

static void ws_rejects_continuation_out_of_order(void **state)
{
    (void)state;
    for (int fin = 0; fin < 2; fin++) {
        script *sc = sc_new();
        sc_str(sc, (uint8_t)(fin ? FIN | CONT : CONT), "x");
        expect_fail(sc, 1002, 0);
        sc->len = 1;
        expect_fail(sc, 1002, 0);
        sc_free(sc);
    }
    /* After a complete message, a continuation has nothing to continue. */
    script *sc = sc_new();
    sc_str(sc, TEXT, "a");
    sc_str(sc, FIN | CONT, "b");
    sc_str(sc, FIN | CONT, "c");
    expect_fail(sc, 1002, 2);
    sc_free(sc);
    /* A control frame does not open a message. */
    sc = sc_new();
    sc_str(sc, FIN | PING, "a");
    sc_str(sc, FIN | CONT, "b");
    expect_fail(sc, 1002, 1);
    sc_free(sc);
}

static void ws_rejects_new_message_inside_fragmented(void **state)
{
    (void)state;
    for (int fin = 0; fin < 2; fin++) {
        script *sc = sc_new();
        sc_str(sc, TEXT, "a");
        sc_str(sc, CONT, "b");
        sc_str(sc, (uint8_t)(fin ? FIN | TEXT : TEXT), "c");
        expect_fail(sc, 1002, 2);
        sc_free(sc);
    }
}

/* ---- fragmentation, interleaved control frames, several frames per buffer -------------- */

static void ws_fragmented_with_controls_between(void **state)
{
    (void)state;
    script *sc = sc_new();
    sc_str(sc, TEXT, "{\"type\":");
    sc_str(sc, FIN | PING, "p1");
    sc_frame(sc, FIN | PONG, NULL, 0);
    sc_frame(sc, CONT, NULL, 0);
    sc_str(sc, CONT, "\"ping\"");
    sc_close(sc, 1000, "bye", 3);
    sc_str(sc, FIN | CONT, "}");
    sc_str(sc, FIN | TEXT, "{}");
    outcome *o = expect_ok(sc, 8);
    assert_frame(o, 0, TEXT, 0, "{\"type\":", 8);
    assert_frame(o, 1, PING, 1, "p1", 2);
    assert_frame(o, 2, PONG, 1, NULL, 0);
    assert_frame(o, 3, CONT, 0, NULL, 0);
    assert_frame(o, 4, CONT, 0, "\"ping\"", 6);
    assert_frame(o, 5, CLOSE, 1, "\x03\xe8" "bye", 5);
    assert_frame(o, 6, CONT, 1, "}", 1);
    assert_frame(o, 7, TEXT, 1, "{}", 2);
    outcome_free(o);
    sc_free(sc);
}

static void ws_many_frames_in_one_buffer(void **state)
{
    (void)state;
    uint8_t mid[300];
    for (size_t i = 0; i < sizeof(mid); i++)
        mid[i] = (uint8_t)('a' + i % 26);
    script *sc = sc_new();
    sc_str(sc, FIN | TEXT, "{\"type\":\"ping\",\"ref\":\"1\"}");
    sc_frame(sc, FIN | TEXT, mid, sizeof(mid)); /* 16-bit length */
    sc_str(sc, FIN | PING, "");
    sc_str(sc, FIN | TEXT, "x");
    sc_frame(sc, FIN | TEXT, mid, 126); /* the smallest 16-bit length */
    sc_frame(sc, FIN | TEXT, mid, 125); /* the largest 7-bit length */
    sc_str(sc, FIN | PONG, "hb");
    sc_close(sc, 1001, "", 0);
    outcome *o = expect_ok(sc, 8);
    assert_frame(o, 0, TEXT, 1, "{\"type\":\"ping\",\"ref\":\"1\"}", 25);
    assert_frame(o, 1, TEXT, 1, mid, sizeof(mid));
    assert_frame(o, 2, PING, 1, NULL, 0);
    assert_frame(o, 3, TEXT, 1, "x", 1);
    assert_frame(o, 4, TEXT, 1, mid, 126);
    assert_frame(o, 5, TEXT, 1, mid, 125);
    assert_frame(o, 6, PONG, 1, "hb", 2);
    assert_frame(o, 7, CLOSE, 1, "\x03\xe9", 2);
    outcome_free(o);

    /* The same stream with its last frame cut short: everything before it is delivered and
     * the caller is left holding the partial frame. */
    sc->len -= 1;
    o = run_all(sc->b, sc->len);
    assert_int_equal(o->rc, RTK_EAGAIN);
    assert_int_equal(o->nframes, 7);
    assert_int_equal(o->pending, 7);
    outcome_free(o);
    sc_free(sc);
}

static void ws_zero_length_frames(void **state)
{
    (void)state;
    script *sc = sc_new();
    sc_frame(sc, FIN | TEXT, NULL, 0);
    sc_frame(sc, TEXT, NULL, 0);
    sc_frame(sc, CONT, NULL, 0);
    sc_frame(sc, FIN | CONT, NULL, 0);
    sc_frame(sc, FIN | PING, NULL, 0);
    sc_frame(sc, FIN | PONG, NULL, 0);
    sc_frame(sc, FIN | CLOSE, NULL, 0);
    outcome *o = expect_ok(sc, 7);
    assert_frame(o, 0, TEXT, 1, NULL, 0);
    assert_frame(o, 1, TEXT, 0, NULL, 0);
    assert_frame(o, 2, CONT, 0, NULL, 0);
    assert_frame(o, 3, CONT, 1, NULL, 0);
    assert_frame(o, 6, CLOSE, 1, NULL, 0);
    assert_int_equal(o->data_len, 0);
    outcome_free(o);
    sc_free(sc);

    /* A lone 6-byte empty frame parses with nothing after it in the buffer. */
    uint8_t buf[6] = {0x81, 0x80, 1, 2, 3, 4};
    rtk_ws_state st;
    rtk_ws_state_init(&st);
    rtk_ws_frame fr;
    uint16_t code = 0;
    assert_int_equal(rtk_ws_parse(&st, buf, sizeof(buf), &fr, &code), 6);
    assert_int_equal(fr.len, 0);
    assert_ptr_equal(fr.payload, buf + 6);
    assert_int_equal(rtk_ws_parse(&st, buf, 0, &fr, &code), RTK_EAGAIN);
}

/* ---- lengths: encodings, minimality, the 64 KiB limit ----------------------------------- */

static void ws_length_forms(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 125, 126, 127, 1000, 65535, 65536};
    uint8_t *p = malloc(RTK_WS_MAX_MESSAGE);
    assert_non_null(p);
    for (size_t i = 0; i < RTK_WS_MAX_MESSAGE; i++)
        p[i] = (uint8_t)(' ' + i % 95);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        script *sc = sc_new();
        sc_frame(sc, FIN | TEXT, p, sizes[i]);
        outcome *o = expect_ok(sc, 1);
        assert_frame(o, 0, TEXT, 1, p, sizes[i]);
        outcome_free(o);
        sc_free(sc);
    }
    free(p);
}

static void ws_rejects_non_minimal_lengths(void **state)
{
    (void)state;
    uint8_t p[300];
    memset(p, 'n', sizeof(p));
    /* 16-bit form for lengths that fit in 7 bits; 64-bit form for lengths that fit in 16. */
    static const struct {
        int form;
        size_t len;
    } bad[] = {{LEN_16, 0}, {LEN_16, 1}, {LEN_16, 125}, {LEN_64, 0}, {LEN_64, 125},
               {LEN_64, 126}, {LEN_64, 300}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        script *sc = sc_new();
        sc_frame_ex(sc, FIN | TEXT, p, bad[i].len, bad[i].form, 1);
        expect_fail(sc, 1002, 0);
        /* The length field alone decides: no need for the mask key or the payload. */
        sc->len = bad[i].form == LEN_16 ? 4 : 10;
        expect_fail(sc, 1002, 0);
        sc_free(sc);
    }
    /* 64-bit form for 65535 bytes: header only, it fails before any payload. */
    script *sc = sc_new();
    sc_header(sc, FIN | TEXT, 65535, LEN_64, 1);
    expect_fail(sc, 1002, 0);
    sc_free(sc);
}

static void ws_rejects_64bit_msb(void **state)
{
    (void)state;
    script *sc = sc_new();
    sc_header(sc, FIN | TEXT, UINT64_C(0x8000000000000005), LEN_64, 1);
    expect_fail(sc, 1002, 0);
    sc->len = 3; /* the first length byte decides */
    expect_fail(sc, 1002, 0);
    sc_free(sc);

    sc = sc_new();
    sc_header(sc, FIN | TEXT, UINT64_MAX, LEN_64, 1);
    expect_fail(sc, 1002, 0);
    sc_free(sc);
}

static void ws_message_over_64k_fails_from_header(void **state)
{
    (void)state;
    /* One frame one byte over: the 10-byte header is enough (no key, no payload). */
    script *sc = sc_new();
    sc_header(sc, FIN | TEXT, RTK_WS_MAX_MESSAGE + 1, LEN_64, 1);
    expect_fail(sc, 1009, 0);
    sc->len = 10;
    expect_fail(sc, 1009, 0);
    sc_free(sc);

    /* Huge lengths are refused from the first nonzero length byte that proves them. */
    sc = sc_new();
    sc_header(sc, FIN | TEXT, UINT64_C(1) << 32, LEN_64, 1);
    sc->len = 6; /* 0x81 0xff 00 00 00 01: at least 2^32 already */
    expect_fail(sc, 1009, 0);
    sc_free(sc);

    sc = sc_new();
    sc_header(sc, FIN | TEXT, UINT64_C(0x7fffffffffffffff), LEN_64, 1);
    sc->len = 3;
    expect_fail(sc, 1009, 0);
    sc_free(sc);

    /* 0x00 0x00 0x00 0x00 0x00 0x01 0x00 0x01 = 65537: decided at the last length byte. */
    sc = sc_new();
    sc_header(sc, FIN | TEXT, RTK_WS_MAX_MESSAGE + 1, LEN_64, 1);
    sc->len = 9;
    outcome *o = run_all(sc->b, sc->len);
    assert_int_equal(o->rc, RTK_EAGAIN);
    outcome_free(o);
    sc_free(sc);
}

static void ws_fragmented_message_limit(void **state)
{
    (void)state;
    uint8_t *p = malloc(RTK_WS_MAX_MESSAGE);
    assert_non_null(p);
    memset(p, 'f', RTK_WS_MAX_MESSAGE);

    /* Exactly 64 KiB across fragments, with a ping between, is fine. */
    script *sc = sc_new();
    sc_frame(sc, TEXT, p, 30000);
    sc_str(sc, FIN | PING, "keepalive");
    sc_frame(sc, CONT, p, 35000);
    sc_frame(sc, FIN | CONT, p, 536);
    outcome *o = expect_ok(sc, 4);
    assert_int_equal(o->data_len, 65536 + 9);
    outcome_free(o);
    sc_free(sc);

    /* A full 64 KiB first fragment and an empty final one. */
    sc = sc_new();
    sc_frame(sc, TEXT, p, RTK_WS_MAX_MESSAGE);
    sc_frame(sc, FIN | CONT, NULL, 0);
    o = expect_ok(sc, 2);
    outcome_free(o);
    sc_free(sc);

    /* 40000 + 30000: the second header fails before its payload is sent. */
    sc = sc_new();
    sc_frame(sc, TEXT, p, 40000);
    sc_header(sc, FIN | CONT, 30000, LEN_MIN, 1);
    expect_fail(sc, 1009, 1);
    sc->len -= 4; /* without even the mask key */
    expect_fail(sc, 1009, 1);
    sc_free(sc);

    /* One byte over in a 7-bit continuation, and with a ping in between. */
    sc = sc_new();
    sc_frame(sc, TEXT, p, RTK_WS_MAX_MESSAGE);
    sc_frame(sc, FIN | PING, NULL, 0);
    sc_header(sc, FIN | CONT, 1, LEN_MIN, 1);
    expect_fail(sc, 1009, 2);
    sc_free(sc);

    /* A 16-bit continuation whose first length byte already overflows what is left. */
    sc = sc_new();
    sc_frame(sc, TEXT, p, 65000);
    sc_header(sc, FIN | CONT, 0x0300, LEN_16, 1);
    sc->len -= 5; /* up to and including the first length byte */
    expect_fail(sc, 1009, 1);
    sc_free(sc);

    /* A continuation that fits exactly, after one that does not leave room for more. */
    sc = sc_new();
    sc_frame(sc, TEXT, p, 65000);
    sc_frame(sc, FIN | CONT, p, 536);
    sc_frame(sc, FIN | TEXT, p, RTK_WS_MAX_MESSAGE); /* the next message starts from zero */
    o = expect_ok(sc, 3);
    outcome_free(o);
    sc_free(sc);
    free(p);
}

/* ---- close frames ----------------------------------------------------------------------- */

static void ws_close_codes(void **state)
{
    (void)state;
    static const uint16_t good[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
                                    1012, 1013, 1014, 3000, 3999, 4000, 4001, 4999};
    static const uint16_t bad[] = {0,    1,    999,  1004, 1005, 1006, 1015, 1016,
                                   1100, 2000, 2999, 5000, 5001, 65535};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        script *sc = sc_new();
        sc_close(sc, good[i], "ok", 2);
        outcome *o = expect_ok(sc, 1);
        uint16_t code = 0;
        assert_int_equal(rtk_ws_close_parse(o->data, o->data_len, &code), good[i]);
        outcome_free(o);
        sc_free(sc);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        script *sc = sc_new();
        sc_close(sc, bad[i], "", 0);
        expect_fail(sc, 1002, 0);
        sc_free(sc);
        uint8_t p[2] = {(uint8_t)(bad[i] >> 8), (uint8_t)bad[i]};
        uint16_t code = 0;
        assert_int_equal(rtk_ws_close_parse(p, 2, &code), RTK_EPROTO);
        assert_int_equal(code, 1002);
    }
}

static void ws_close_payloads(void **state)
{
    (void)state;
    /* Empty: no status code; echoed as an empty close. */
    uint16_t code = 0;
    assert_int_equal(rtk_ws_close_parse(NULL, 0, &code), 1005);

    /* One byte is never a valid close payload. */
    script *sc = sc_new();
    sc_frame(sc, FIN | CLOSE, "\x03", 1);
    expect_fail(sc, 1002, 0);
    sc_free(sc);

    /* Reason text: valid UTF-8 up to 123 bytes, invalid UTF-8 is 1007. */
    char reason[RTK_WS_MAX_CLOSE_REASON];
    memset(reason, 'r', sizeof(reason));
    memcpy(reason + 100, "\xf0\x9f\x98\x80", 4);
    sc = sc_new();
    sc_close(sc, 1000, reason, sizeof(reason));
    outcome *o = expect_ok(sc, 1);
    assert_int_equal(o->f[0].len, 125);
    assert_memory_equal(o->data + 2, reason, sizeof(reason));
    outcome_free(o);
    sc_free(sc);

    static const char *const bad_reasons[] = {"\xff", "ab\xc3", "\xed\xa0\x80", "\xc0\xaf",
                                              "\xf4\x90\x80\x80", "ok\x80"};
    for (size_t i = 0; i < sizeof(bad_reasons) / sizeof(bad_reasons[0]); i++) {
        sc = sc_new();
        sc_close(sc, 1000, bad_reasons[i], strlen(bad_reasons[i]));
        expect_fail(sc, 1007, 0);
        sc_free(sc);
    }
    /* A reason does not make a bad code acceptable, and the code is checked first. */
    sc = sc_new();
    sc_close(sc, 1005, "\xff", 1);
    expect_fail(sc, 1002, 0);
    sc_free(sc);

    /* rtk_ws_close_parse() on its own: oversized payloads are refused. */
    uint8_t big[RTK_WS_MAX_CONTROL + 1];
    memset(big, 'a', sizeof(big));
    big[0] = 0x03;
    big[1] = 0xe8;
    assert_int_equal(rtk_ws_close_parse(big, sizeof(big), &code), RTK_EPROTO);
    assert_int_equal(code, 1002);
    assert_int_equal(rtk_ws_close_parse(big, sizeof(big) - 1, &code), 1000);
    assert_int_equal(rtk_ws_close_parse(big, 1, &code), RTK_EPROTO);
    assert_int_equal(code, 1002);
}

/* ---- UTF-8 ------------------------------------------------------------------------------ */

typedef struct bytes {
    const char *s;
    size_t n;
} bytes;
#define B(lit) {lit, sizeof(lit) - 1}

static const bytes utf8_good[] = {
    B(""),
    B("hello"),
    B("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"), /* κόσμε */
    B("\xc2\x80"),                                     /* U+0080 */
    B("\xdf\xbf"),                                     /* U+07FF */
    B("\xe0\xa0\x80"),                                 /* U+0800 */
    B("\xed\x9f\xbf"),                                 /* U+D7FF, just below surrogates */
    B("\xee\x80\x80"),                                 /* U+E000, just above them */
    B("\xef\xbf\xbd"),                                 /* U+FFFD */
    B("\xef\xbf\xbf"),                                 /* U+FFFF */
    B("\xf0\x90\x80\x80"),                             /* U+10000 */
    B("\xf4\x8f\xbf\xbf"),                             /* U+10FFFF, the last code point */
    B("\xf0\x9f\x98\x80"),                             /* U+1F600 */
    B("\x00\x7f"),
    B("{\"type\":\"ping\",\"ref\":\"\xe2\x82\xac\xf0\x9f\x98\x80\"} trailing ascii"),
};

static const bytes utf8_bad[] = {
    B("\x80"),                             /* lone continuation bytes */
    B("\xbf"),
    B("a\x80"
      "b"),
    B("\xc0\x80"), /* overlong 2-byte forms */
    B("\xc0\xaf"),
    B("\xc1\xbf"),
    B("\xe0\x80\xaf"), /* overlong 3-byte */
    B("\xe0\x9f\xbf"),
    B("\xf0\x80\x80\xaf"), /* overlong 4-byte */
    B("\xf0\x8f\xbf\xbf"),
    B("\xed\xa0\x80"), /* UTF-16 surrogates U+D800..DFFF */
    B("\xed\xad\xbf"),
    B("\xed\xae\x80"),
    B("\xed\xbf\xbf"),
    B("\xed\xa0\x80\xed\xb0\x80"), /* a surrogate pair, CESU-8 style */
    B("\xf4\x90\x80\x80"),         /* U+110000 */
    B("\xf5\x80\x80\x80"),
    B("\xf7\xbf\xbf\xbf"),
    B("\xf8\x88\x80\x80\x80"), /* 5- and 6-byte forms */
    B("\xfc\x84\x80\x80\x80\x80"),
    B("\xfe"),
    B("\xff"),
    B("\xc2"), /* truncated at the end of the message */
    B("\xe2\x82"),
    B("\xf0\x9f\x98"),
    B("ab\xe2\x82"),
    B("\xe2\x28\xa1"), /* a non-continuation where a continuation is due */
    B("\xc2\x41"),
    B("\xf0\x9f\x41\x80"),
    B("\xe2\x82\xac\x80"), /* one continuation too many */
};

static void ws_utf8_single_frame(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(utf8_good) / sizeof(utf8_good[0]); i++) {
        script *sc = sc_new();
        sc_frame(sc, FIN | TEXT, utf8_good[i].s, utf8_good[i].n);
        outcome *o = expect_ok(sc, 1);
        assert_frame(o, 0, TEXT, 1, utf8_good[i].s, utf8_good[i].n);
        outcome_free(o);
        sc_free(sc);
    }
    for (size_t i = 0; i < sizeof(utf8_bad) / sizeof(utf8_bad[0]); i++) {
        script *sc = sc_new();
        sc_frame(sc, FIN | TEXT, utf8_bad[i].s, utf8_bad[i].n);
        expect_fail(sc, 1007, 0);
        sc_free(sc);
    }
}

/* Every message split into two fragments at every byte, with a ping between them: a code
 * point cut in two must validate exactly like the whole one. */
static void ws_utf8_across_fragments(void **state)
{
    (void)state;
    for (int good = 1; good >= 0; good--) {
        const bytes *v = good ? utf8_good : utf8_bad;
        size_t nv = good ? sizeof(utf8_good) / sizeof(utf8_good[0])
                         : sizeof(utf8_bad) / sizeof(utf8_bad[0]);
        for (size_t i = 0; i < nv; i++) {
            for (size_t cut = 0; cut <= v[i].n; cut++) {
                script *sc = sc_new();
                sc_frame(sc, TEXT, v[i].s, cut);
                sc_str(sc, FIN | PING, "");
                sc_frame(sc, FIN | CONT, v[i].s + cut, v[i].n - cut);
                outcome *o = run_all(sc->b, sc->len);
                if (good) {
                    assert_int_equal(o->rc, 0);
                    assert_int_equal(o->nframes, 3);
                } else {
                    assert_int_equal(o->rc, RTK_EPROTO);
                    assert_int_equal(o->close_code, 1007);
                }
                outcome_free(o);
                sc_free(sc);
            }
        }
    }
}

static void ws_utf8_four_byte_split(void **state)
{
    (void)state;
    static const char smile[] = "\xf0\x9f\x98\x80";
    /* One byte per fragment, with control frames wedged between. */
    script *sc = sc_new();
    sc_frame(sc, TEXT, smile, 1);
    sc_frame(sc, CONT, smile + 1, 1);
    sc_str(sc, FIN | PONG, "x");
    sc_frame(sc, CONT, smile + 2, 1);
    sc_frame(sc, CONT, NULL, 0);
    sc_frame(sc, FIN | CONT, smile + 3, 1);
    outcome *o = expect_ok(sc, 6);
    outcome_free(o);
    sc_free(sc);

    /* A non-final fragment with an invalid byte fails at once, without waiting for FIN. */
    sc = sc_new();
    sc_frame(sc, TEXT, "ok", 2);
    sc_frame(sc, CONT, "\xf0\x9f", 2);
    sc_frame(sc, CONT, "\x41", 1);
    expect_fail(sc, 1007, 2);
    sc_free(sc);

    /* A final fragment that stops inside the code point is 1007, even with a split start. */
    sc = sc_new();
    sc_frame(sc, TEXT, "\xf0", 1);
    sc_frame(sc, FIN | CONT, "\x9f\x98", 2);
    expect_fail(sc, 1007, 1);
    sc_free(sc);

    /* The decoder state resets with each message: a dangling lead byte in one message does
     * not leak into the next (the first message already failed), and a complete message
     * leaves none behind for the next one to inherit. */
    sc = sc_new();
    sc_frame(sc, TEXT, "\xe2\x82", 2);
    sc_frame(sc, FIN | CONT, "\xac", 1);
    sc_frame(sc, FIN | TEXT, "\x80", 1);
    expect_fail(sc, 1007, 2);
    sc_free(sc);
}

/* The 8-byte ASCII fast path: a bad byte at each position of a longer message. */
static void ws_utf8_bad_byte_at_every_offset(void **state)
{
    (void)state;
    char msg[40];
    for (size_t pos = 0; pos < sizeof(msg); pos++) {
        memset(msg, 'a', sizeof(msg));
        msg[pos] = (char)0xff;
        script *sc = sc_new();
        sc_frame(sc, FIN | TEXT, msg, sizeof(msg));
        outcome *o = feed(sc->b, sc->len, sc->len, 0);
        assert_int_equal(o->rc, RTK_EPROTO);
        assert_int_equal(o->close_code, 1007);
        outcome_free(o);
        sc_free(sc);

        /* And a valid 3-byte character at each position. */
        memset(msg, 'a', sizeof(msg));
        if (pos + 3 <= sizeof(msg))
            memcpy(msg + pos, "\xe2\x82\xac", 3);
        sc = sc_new();
        sc_frame(sc, FIN | TEXT, msg, sizeof(msg));
        o = feed(sc->b, sc->len, sc->len, 0);
        assert_int_equal(o->rc, 0);
        assert_frame(o, 0, TEXT, 1, msg, sizeof(msg));
        outcome_free(o);
        sc_free(sc);
    }
}

/* ---- server frame builders -------------------------------------------------------------- */

static void ws_frame_header_lengths(void **state)
{
    (void)state;
    static const struct {
        size_t len;
        size_t hlen;
        uint8_t hdr[10];
    } vec[] = {
        {0, 2, {0x81, 0}},
        {1, 2, {0x81, 1}},
        {125, 2, {0x81, 125}},
        {126, 4, {0x81, 126, 0x00, 0x7e}},
        {65535, 4, {0x81, 126, 0xff, 0xff}},
        {65536, 10, {0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
        {0x123456789a, 10, {0x81, 127, 0, 0, 0x00, 0x12, 0x34, 0x56, 0x78, 0x9a}},
    };
    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        uint8_t out[10];
        memset(out, 0xee, sizeof(out));
        size_t h = rtk_ws_frame_header(out, RTK_WS_OP_TEXT, vec[i].len);
        assert_int_equal(h, vec[i].hlen);
        assert_memory_equal(out, vec[i].hdr, h);
    }
    uint8_t out[10];
    assert_int_equal(rtk_ws_frame_header(out, RTK_WS_OP_PING, 0), 2);
    assert_memory_equal(out, "\x89\x00", 2);
    assert_int_equal(rtk_ws_frame_header(out, RTK_WS_OP_PONG, 125), 2);
    assert_memory_equal(out, "\x8a\x7d", 2);
    assert_int_equal(rtk_ws_frame_header(out, RTK_WS_OP_BINARY, 3), 2);
    assert_memory_equal(out, "\x82\x03", 2);
}

/* A server frame, masked by the test helper as a client would send it, parses back. */
static void ws_builders_round_trip(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 125, 126, 65535, 65536};
    uint8_t *srv = malloc(RTK_WS_MAX_FRAME);
    uint8_t *cli = malloc(RTK_WS_MAX_FRAME + 4);
    assert_non_null(srv);
    assert_non_null(cli);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t h = rtk_ws_frame_header(srv, RTK_WS_OP_TEXT, sizes[i]);
        for (size_t j = 0; j < sizes[i]; j++)
            srv[h + j] = (uint8_t)('0' + j % 10);
        size_t n = mask_frame(srv, h + sizes[i], cli);
        outcome *o = run_all(cli, n);
        assert_int_equal(o->rc, 0);
        assert_int_equal(o->nframes, 1);
        assert_frame(o, 0, TEXT, 1, srv + h, sizes[i]);
        outcome_free(o);
    }
    free(srv);
    free(cli);
}

static void ws_close_frame_builder(void **state)
{
    (void)state;
    uint8_t out[127];
    assert_int_equal(rtk_ws_close_frame(out, 1000, NULL), 4);
    assert_memory_equal(out, "\x88\x02\x03\xe8", 4);
    assert_int_equal(rtk_ws_close_frame(out, 4002, "replaced"), 12);
    assert_memory_equal(out, "\x88\x0a\x0f\xa2replaced", 12);
    assert_int_equal(rtk_ws_close_frame(out, 1009, ""), 4);
    assert_memory_equal(out, "\x88\x02\x03\xf1", 4);
    /* 1005 echoes a close that carried no code: an empty payload, never 1005 on the wire. */
    assert_int_equal(rtk_ws_close_frame(out, RTK_WS_CLOSE_NO_STATUS, "ignored"), 2);
    assert_memory_equal(out, "\x88\x00", 2);

    /* 123 bytes of reason fit exactly; longer ones are cut to 123. */
    char reason[200];
    memset(reason, 'z', sizeof(reason));
    reason[RTK_WS_MAX_CLOSE_REASON] = '\0';
    assert_int_equal(rtk_ws_close_frame(out, 1008, reason), 127);
    assert_memory_equal(out, "\x88\x7d\x03\xf0", 4);
    assert_memory_equal(out + 4, reason, RTK_WS_MAX_CLOSE_REASON);
    reason[RTK_WS_MAX_CLOSE_REASON] = 'z';
    reason[sizeof(reason) - 1] = '\0';
    assert_int_equal(rtk_ws_close_frame(out, 1008, reason), 127);

    /* A multi-byte character straddling the limit is dropped whole, not cut in half. */
    memset(reason, 'z', sizeof(reason));
    memcpy(reason + 121, "\xf0\x9f\x98\x80", 4); /* bytes 121..124 */
    reason[130] = '\0';
    size_t n = rtk_ws_close_frame(out, 1001, reason);
    assert_int_equal(n, 4 + 121);
    assert_int_equal(out[1], 2 + 121);
    uint16_t code = 0;
    assert_int_equal(rtk_ws_close_parse(out + 2, n - 2, &code), 1001);

    /* Every close the server builds is one the parser accepts from a client. */
    static const uint16_t codes[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1011,
                                     4001, 4002, 4003, RTK_WS_CLOSE_NO_STATUS};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        uint8_t cli[131];
        size_t len = rtk_ws_close_frame(out, codes[i], "r\xc3\xa9sum\xc3\xa9");
        size_t cl = mask_frame(out, len, cli);
        outcome *o = run_all(cli, cl);
        assert_int_equal(o->rc, 0);
        assert_int_equal(o->nframes, 1);
        assert_int_equal(o->f[0].opcode, CLOSE);
        assert_int_equal(rtk_ws_close_parse(o->data, o->data_len, &code), codes[i]);
        outcome_free(o);
    }
}

/* rtk_ws_is_close_frame: exactly one complete masked close frame, nothing more or less. */
static void ws_is_close_frame(void **state)
{
    (void)state;
    /* masked close with code 1000: 0x88, 0x80|2, mask(4), payload(2) */
    uint8_t f[8 + 200] = {0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xe8 ^ 2};
    assert_int_equal(rtk_ws_is_close_frame(f, 8), 1);
    for (size_t n = 0; n < 8; n++)
        assert_int_equal(rtk_ws_is_close_frame(f, n), 0); /* incomplete */
    assert_int_equal(rtk_ws_is_close_frame(f, 9), 0); /* more after it */
    uint8_t empty[6] = {0x88, 0x80, 9, 9, 9, 9};
    assert_int_equal(rtk_ws_is_close_frame(empty, 6), 1);
    uint8_t unmasked[4] = {0x88, 0x02, 0x03, 0xe8};
    assert_int_equal(rtk_ws_is_close_frame(unmasked, 4), 0);
    uint8_t text[8] = {0x81, 0x82, 1, 2, 3, 4, 'h', 'i'};
    assert_int_equal(rtk_ws_is_close_frame(text, 8), 0);
    uint8_t nofin[8] = {0x08, 0x82, 1, 2, 3, 4, 0, 0};
    assert_int_equal(rtk_ws_is_close_frame(nofin, 8), 0);
    uint8_t rsv[8] = {0xc8, 0x82, 1, 2, 3, 4, 0, 0};
    assert_int_equal(rtk_ws_is_close_frame(rsv, 8), 0);
    /* 126 (extended length) is never a control frame's length */
    f[1] = 0x80 | 126;
    assert_int_equal(rtk_ws_is_close_frame(f, sizeof(f)), 0);
    f[1] = 0x80 | 125;
    assert_int_equal(rtk_ws_is_close_frame(f, 6 + 125), 1);
}

static void ws_frame_size_helper(void **state)
{
    (void)state;
    static const uint8_t h7[] = {0x81, 0x85};
    static const uint8_t h16[] = {0x81, 0xfe, 0x01, 0x00};
    static const uint8_t h64[] = {0x81, 0xff, 0, 0, 0, 0, 0, 1, 0, 0};
    static const uint8_t h64big[] = {0x81, 0xff, 0, 0, 0, 0, 0, 1, 0, 1};
    static const uint8_t huge[] = {0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(rtk_ws_frame_size(h7, 0), RTK_EAGAIN);
    assert_int_equal(rtk_ws_frame_size(h7, 1), RTK_EAGAIN);
    assert_int_equal(rtk_ws_frame_size(h7, 2), 2 + 4 + 5);
    /* An unmasked frame (which rtk_ws_parse() refuses) is sized as declared: no key. */
    assert_int_equal(rtk_ws_frame_size((const uint8_t *)"\x81\x05", 2), 2 + 5);
    assert_int_equal(rtk_ws_frame_size(h16, 3), RTK_EAGAIN);
    assert_int_equal(rtk_ws_frame_size(h16, 4), 4 + 4 + 256);
    assert_int_equal(rtk_ws_frame_size(h64, 9), RTK_EAGAIN);
    assert_int_equal(rtk_ws_frame_size(h64, 10), RTK_WS_MAX_FRAME);
    assert_int_equal(rtk_ws_frame_size(h64big, 10), RTK_ETOOBIG);
    assert_int_equal(rtk_ws_frame_size(huge, 10), RTK_ETOOBIG);
}

/* The parser keeps no partial-frame state: the same incomplete bytes give RTK_EAGAIN again
 * and again, and an EAGAIN never writes to |out| or the buffer. */
static void ws_eagain_is_idempotent(void **state)
{
    (void)state;
    script *sc = sc_new();
    sc_str(sc, FIN | TEXT, "abcdefgh");
    uint8_t copy[64];
    memcpy(copy, sc->b, sc->len);
    rtk_ws_state st;
    rtk_ws_state_init(&st);
    for (size_t len = 0; len < sc->len; len++) {
        for (int again = 0; again < 3; again++) {
            rtk_ws_frame fr;
            memset(&fr, 0x5a, sizeof(fr));
            rtk_ws_frame untouched = fr;
            uint16_t code = 7;
            assert_int_equal(rtk_ws_parse(&st, sc->b, len, &fr, &code), RTK_EAGAIN);
            assert_memory_equal(&fr, &untouched, sizeof(fr));
            assert_int_equal(code, 7);
            assert_memory_equal(sc->b, copy, sc->len);
        }
    }
    rtk_ws_frame fr;
    uint16_t code = 0;
    assert_int_equal(rtk_ws_parse(&st, sc->b, sc->len, &fr, &code), (ssize_t)sc->len);
    assert_memory_equal(fr.payload, "abcdefgh", 8);
    sc_free(sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ws_state_is_tiny),
        cmocka_unit_test(ws_accept_key_vectors),
        cmocka_unit_test(ws_accept_key_rejects_bad_nonces),
        cmocka_unit_test(ws_rfc_examples),
        cmocka_unit_test(ws_rejects_unmasked),
        cmocka_unit_test(ws_rejects_rsv_bits),
        cmocka_unit_test(ws_rejects_reserved_opcodes),
        cmocka_unit_test(ws_rejects_binary_1003),
        cmocka_unit_test(ws_rejects_fragmented_control),
        cmocka_unit_test(ws_control_payload_limit),
        cmocka_unit_test(ws_rejects_continuation_out_of_order),
        cmocka_unit_test(ws_rejects_new_message_inside_fragmented),
        cmocka_unit_test(ws_fragmented_with_controls_between),
        cmocka_unit_test(ws_many_frames_in_one_buffer),
        cmocka_unit_test(ws_zero_length_frames),
        cmocka_unit_test(ws_length_forms),
        cmocka_unit_test(ws_rejects_non_minimal_lengths),
        cmocka_unit_test(ws_rejects_64bit_msb),
        cmocka_unit_test(ws_message_over_64k_fails_from_header),
        cmocka_unit_test(ws_fragmented_message_limit),
        cmocka_unit_test(ws_close_codes),
        cmocka_unit_test(ws_close_payloads),
        cmocka_unit_test(ws_utf8_single_frame),
        cmocka_unit_test(ws_utf8_across_fragments),
        cmocka_unit_test(ws_utf8_four_byte_split),
        cmocka_unit_test(ws_utf8_bad_byte_at_every_offset),
        cmocka_unit_test(ws_frame_header_lengths),
        cmocka_unit_test(ws_builders_round_trip),
        cmocka_unit_test(ws_close_frame_builder),
        cmocka_unit_test(ws_frame_size_helper),
        cmocka_unit_test(ws_is_close_frame),
        cmocka_unit_test(ws_eagain_is_idempotent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
