/* SPDX-License-Identifier: MIT */
/* test_loadgen.c - unit tests of the load generator: percentile math, the server-frame
 * reader's event counts under every way of splitting the stream, client frame masking, and
 * the message the nchan mode publishes (the mode itself runs against a real nginx + nchan in
 * test_loadgen_nchan.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "lg_proto.h"
#include "lg_stats.h"
#include "net/rtk_ws.h"
#include "util/rtk_err.h"

/* ---- percentiles ---- */

static void percentile_of_1_to_100(void **state)
{
    (void)state;
    int64_t v[100];
    for (int i = 0; i < 100; i++)
        v[i] = 100 - i; /* unsorted on purpose */
    lg_summary s;
    lg_stats_summarize(v, 100, &s);
    assert_int_equal(s.n, 100);
    assert_int_equal(s.min, 1);
    assert_int_equal(s.p50, 50);
    assert_int_equal(s.p90, 90);
    assert_int_equal(s.p99, 99);
    assert_int_equal(s.max, 100);
    assert_true(s.mean > 50.49 && s.mean < 50.51);
    assert_int_equal(lg_stats_percentile(v, 100, 0), 1);
    assert_int_equal(lg_stats_percentile(v, 100, 1), 1);
    assert_int_equal(lg_stats_percentile(v, 100, 1.5), 2);
    assert_int_equal(lg_stats_percentile(v, 100, 99.9), 100);
    assert_int_equal(lg_stats_percentile(v, 100, 100), 100);
    assert_int_equal(lg_stats_percentile(v, 100, 250), 100);
    assert_int_equal(lg_stats_percentile(v, 100, -3), 1);
}

static void percentile_nearest_rank_small_sets(void **state)
{
    (void)state;
    int64_t ten[10] = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100};
    /* ceil(0.5 * 10) = 5th, ceil(0.99 * 10) = 10th, ceil(0.9 * 10) = 9th. */
    assert_int_equal(lg_stats_percentile(ten, 10, 50), 50);
    assert_int_equal(lg_stats_percentile(ten, 10, 51), 60);
    assert_int_equal(lg_stats_percentile(ten, 10, 90), 90);
    assert_int_equal(lg_stats_percentile(ten, 10, 99), 100);
    int64_t one[1] = {7};
    lg_summary s;
    lg_stats_summarize(one, 1, &s);
    assert_int_equal(s.p50, 7);
    assert_int_equal(s.p99, 7);
    assert_int_equal(s.max, 7);
    assert_int_equal(s.min, 7);
    lg_stats_summarize(NULL, 0, &s);
    assert_int_equal(s.n, 0);
    assert_int_equal(s.p99, 0);
    assert_int_equal(lg_stats_percentile(NULL, 0, 50), 0);
}

static void percentile_large_set_and_ties(void **state)
{
    (void)state;
    enum { N = 15000 };
    int64_t *v = malloc(N * sizeof(*v));
    /* 15,000 samples: 14,850 of 1 ms and 150 (exactly 1 %) of 100 ms, shuffled. */
    for (int i = 0; i < N; i++)
        v[i] = i < 150 ? 100000 : 1000;
    srand(42);
    for (int i = N - 1; i > 0; i--) {
        int j = rand() % (i + 1);
        int64_t t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
    lg_summary s;
    lg_stats_summarize(v, N, &s);
    assert_int_equal(s.p50, 1000);
    assert_int_equal(s.p99, 1000);   /* rank 14,850 is the last 1 ms sample */
    assert_int_equal(lg_stats_percentile(v, N, 99.01), 100000);
    assert_int_equal(s.max, 100000);
    free(v);
    int64_t w[1000];
    for (int i = 0; i < 1000; i++)
        w[i] = i + 1;
    assert_int_equal(lg_stats_percentile(w, 1000, 99), 990);
    assert_int_equal(lg_stats_percentile(w, 1000, 99.9), 999);
    assert_int_equal(lg_stats_percentile(w, 1000, 50), 500);
}

static void median_odd_even(void **state)
{
    (void)state;
    double odd[] = {3, 1, 2};
    double even[] = {40, 10, 30, 20};
    assert_true(lg_stats_median(odd, 3) == 2);
    assert_true(lg_stats_median(even, 4) == 25);
    assert_true(lg_stats_median(NULL, 0) == 0);
}

/* ---- JSON type scanning ---- */

static void top_level_type_only(void **state)
{
    (void)state;
    const char *hello = "{\"session\":{\"type\":\"meeting\",\"x\":[{\"type\":\"poll.created\"}]},"
                        "\"type\":\"hello\"}";
    assert_int_equal(lg_event_classify(hello, strlen(hello)), LG_EV_HELLO);
    const char *esc = "{\"q\":\"a \\\"type\\\":\\\"kicked\\\" b\", \"type\" : \"poll.voted\"}";
    assert_int_equal(lg_event_classify(esc, strlen(esc)), LG_EV_POLL_VOTED);
    const char *num = "{\"type\":1}";
    assert_int_equal(lg_event_classify(num, strlen(num)), LG_EV_OTHER);
    const char *none = "{\"t\":\"hello\"}";
    assert_int_equal(lg_event_classify(none, strlen(none)), LG_EV_OTHER);
    const char *arr = "[\"type\",\"hello\"]";
    assert_int_equal(lg_event_classify(arr, strlen(arr)), LG_EV_OTHER);
    const char *cut = "{\"type\":\"hel";
    assert_int_equal(lg_event_classify(cut, strlen(cut)), LG_EV_OTHER);
    const char *ref = "{\"type\":\"error\",\"code\":\"rate_limited\",\"ref\":\"12\"}";
    const char *v;
    size_t vl;
    assert_int_equal(lg_json_top_string(ref, strlen(ref), "ref", &v, &vl), 0);
    assert_int_equal(vl, 2);
    assert_memory_equal(v, "12", 2);
    assert_int_equal(lg_json_top_string(ref, strlen(ref), "code", &v, &vl), 0);
    assert_int_equal(vl, 12);
    assert_int_equal(lg_json_top_string(ref, strlen(ref), "poll", &v, &vl), -1);
    for (int e = 0; e < LG_EV_COUNT; e++)
        assert_int_equal(lg_event_from_name(lg_event_name((lg_event)e)), e);
    assert_int_equal(lg_event_from_name("nope"), -1);
}

/* ---- frames ---- */

static const char *const types[] = {"hello", "session.updated", "poll.created", "poll.updated",
                                    "poll.voted", "kicked", "pong", "error", "whatever"};
static const lg_event type_ev[] = {LG_EV_HELLO, LG_EV_SESSION_UPDATED, LG_EV_POLL_CREATED,
                                   LG_EV_POLL_UPDATED, LG_EV_POLL_VOTED, LG_EV_KICKED,
                                   LG_EV_PONG, LG_EV_ERROR, LG_EV_OTHER};

typedef struct stream {
    uint8_t *buf;
    size_t len;
    size_t cap;
    uint64_t want[LG_EV_COUNT];
    uint64_t want_bytes[LG_EV_COUNT];
    size_t nmsg;
    lg_event order[4096];
} stream;

static void put(stream *s, const void *p, size_t n)
{
    if (n == 0)
        return;
    if (s->len + n > s->cap) {
        s->cap = (s->len + n) * 2;
        s->buf = rtk_xrealloc(s->buf, s->cap);
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
}

/* Appends one server frame built with the server codec's own header writer. */
static void server_frame(stream *s, int opcode, const char *payload, size_t len)
{
    uint8_t hdr[10];
    size_t h = rtk_ws_frame_header(hdr, opcode, len);
    put(s, hdr, h);
    put(s, payload, len);
}

/* A text event whose payload is padded to |size| bytes, so all three length encodings occur. */
static void event_frame(stream *s, int t, size_t size)
{
    char *p = malloc(size + 64);
    int n = snprintf(p, size + 64, "{\"type\":\"%s\",\"pad\":\"", types[t]);
    size_t len = (size_t)n;
    while (len < size)
        p[len++] = 'x';
    p[len++] = '"';
    p[len++] = '}';
    server_frame(s, RTK_WS_OP_TEXT, p, len);
    free(p);
    s->want[type_ev[t]]++;
    s->want_bytes[type_ev[t]] += len;
    s->order[s->nmsg++] = type_ev[t];
}

/* Builds the script: every event type at sizes 0..125 (7-bit length), 126..65535 (16-bit) and
 * 65536+ (64-bit), pings, pongs, a fragmented message with a ping in the middle, and a close. */
static void build_stream(stream *s, unsigned seed)
{
    memset(s, 0, sizeof(*s));
    srand(seed);
    static const size_t sizes[] = {0, 40, 100, 126, 300, 4000, 65535, 70000};
    for (int round = 0; round < 3; round++) {
        for (int t = 0; t < (int)(sizeof(types) / sizeof(types[0])); t++) {
            size_t sz = sizes[(size_t)rand() % (sizeof(sizes) / sizeof(sizes[0]))];
            if (round == 0 && sz > 4000)
                sz = 20; /* keep the byte-by-byte run reasonable */
            event_frame(s, t, sz);
        }
        server_frame(s, RTK_WS_OP_PING, "hb", 2);
        s->want[LG_EV_PING]++;
        s->want_bytes[LG_EV_PING] += 2;
        s->order[s->nmsg++] = LG_EV_PING;
        server_frame(s, RTK_WS_OP_PONG, "", 0);
        s->want[LG_EV_WSPONG]++;
        s->order[s->nmsg++] = LG_EV_WSPONG;
    }
    /* A fragmented poll.updated: TEXT(fin=0) + PING + CONT(fin=0) + CONT(fin=1). */
    uint8_t h[2];
    const char *a = "{\"type\":\"poll.up", *b = "dated\",\"po", *c = "ll\":{}}";
    h[0] = RTK_WS_OP_TEXT;
    h[1] = (uint8_t)strlen(a);
    put(s, h, 2);
    put(s, a, strlen(a));
    server_frame(s, RTK_WS_OP_PING, "", 0);
    s->want[LG_EV_PING]++;
    s->order[s->nmsg++] = LG_EV_PING;
    h[0] = RTK_WS_OP_CONT;
    h[1] = (uint8_t)strlen(b);
    put(s, h, 2);
    put(s, b, strlen(b));
    h[0] = 0x80 | RTK_WS_OP_CONT;
    h[1] = (uint8_t)strlen(c);
    put(s, h, 2);
    put(s, c, strlen(c));
    /* Classified from the first fragment, which holds only part of the type: the reader
     * counts it, as "other" (it cannot know better without assembling). */
    s->want[LG_EV_OTHER]++;
    s->want_bytes[LG_EV_OTHER] += strlen(c); /* bytes of the last fragment, as documented */
    s->order[s->nmsg++] = LG_EV_OTHER;
    event_frame(s, 5, 10); /* kicked */
    uint8_t close[127];
    size_t cl = rtk_ws_close_frame(close, 4001, "kicked");
    put(s, close, cl);
    s->want[LG_EV_CLOSE]++;
    s->want_bytes[LG_EV_CLOSE] += cl - 2;
    s->order[s->nmsg++] = LG_EV_CLOSE;
}

typedef struct seen {
    size_t n;
    const stream *s;
    int out_of_order;
} seen;

static int on_frame(void *arg, lg_event ev, const lg_frame *f)
{
    seen *sn = arg;
    (void)f;
    if (sn->n >= sn->s->nmsg || sn->s->order[sn->n] != ev)
        sn->out_of_order++;
    sn->n++;
    return 0;
}

/* Feeds |s| in chunks whose sizes come from |next| and checks every count and the order. */
static void feed_and_check(const stream *s, size_t (*next)(size_t off, void *ctx), void *ctx)
{
    uint8_t *copy = malloc(s->len);
    memcpy(copy, s->buf, s->len);
    lg_reader r;
    lg_reader_init(&r);
    seen sn = {.s = s};
    size_t off = 0;
    while (off < s->len) {
        size_t n = next(off, ctx);
        if (n > s->len - off)
            n = s->len - off;
        assert_int_equal(lg_reader_feed(&r, copy + off, n, on_frame, &sn), 0);
        off += n;
    }
    for (int e = 0; e < LG_EV_COUNT; e++) {
        assert_int_equal(r.counts[e], s->want[e]);
        assert_int_equal(r.bytes[e], s->want_bytes[e]);
    }
    assert_int_equal(sn.n, s->nmsg);
    assert_int_equal(sn.out_of_order, 0);
    assert_null(r.part); /* nothing left over after the last frame */
    lg_reader_free(&r);
    free(copy);
}

static size_t chunk_whole(size_t off, void *ctx)
{
    (void)off;
    (void)ctx;
    return SIZE_MAX;
}

static size_t chunk_fixed(size_t off, void *ctx)
{
    (void)off;
    return *(size_t *)ctx;
}

static size_t chunk_random(size_t off, void *ctx)
{
    (void)off;
    (void)ctx;
    /* Mostly small pieces, sometimes large, so frames split everywhere: in the 2-byte head,
     * in the extended length, and in the payload. */
    return (size_t)(rand() % 4 == 0 ? 1 + rand() % 70000 : 1 + rand() % 17);
}

typedef struct split_at {
    size_t at;
} split_at;

static size_t chunk_split(size_t off, void *ctx)
{
    split_at *sp = ctx;
    return off < sp->at ? sp->at - off : SIZE_MAX;
}

static void reader_counts_every_event_whole_and_random(void **state)
{
    (void)state;
    for (unsigned seed = 1; seed <= 20; seed++) {
        stream s;
        build_stream(&s, seed);
        feed_and_check(&s, chunk_whole, NULL);
        srand(seed * 7919);
        feed_and_check(&s, chunk_random, NULL);
        size_t k = 1 + seed % 13;
        feed_and_check(&s, chunk_fixed, &k);
        free(s.buf);
    }
}

static void reader_counts_every_event_byte_by_byte(void **state)
{
    (void)state;
    stream s;
    build_stream(&s, 3);
    size_t one = 1;
    feed_and_check(&s, chunk_fixed, &one);
    free(s.buf);
}

static void reader_counts_when_split_at_every_boundary(void **state)
{
    (void)state;
    /* Small frames only, so every split point of the whole stream can be tried. */
    stream s;
    memset(&s, 0, sizeof(s));
    srand(5);
    for (int i = 0; i < 40; i++)
        event_frame(&s, i % 9, (size_t)(i * 7) % 200); /* crosses the 126 boundary */
    server_frame(&s, RTK_WS_OP_PING, "x", 1);
    s.want[LG_EV_PING]++;
    s.want_bytes[LG_EV_PING]++;
    s.order[s.nmsg++] = LG_EV_PING;
    for (size_t at = 1; at < s.len; at++) {
        split_at sp = {at};
        feed_and_check(&s, chunk_split, &sp);
    }
    free(s.buf);
}

static void reader_rejects_what_no_server_sends(void **state)
{
    (void)state;
    static const uint8_t rsv[] = {0x81 | 0x40, 0x00};
    static const uint8_t big_ping[] = {0x89, 126, 0x00, 0x7E};
    static const uint8_t frag_ping[] = {0x09, 0x00};
    static const uint8_t bad_op[] = {0x83, 0x00};
    static const uint8_t lone_cont[] = {0x80, 0x00};
    const uint8_t *cases[] = {rsv, big_ping, frag_ping, bad_op, lone_cont};
    const size_t lens[] = {sizeof(rsv), sizeof(big_ping), sizeof(frag_ping), sizeof(bad_op),
                           sizeof(lone_cont)};
    for (size_t i = 0; i < 5; i++) {
        uint8_t buf[8];
        memcpy(buf, cases[i], lens[i]);
        lg_reader r;
        lg_reader_init(&r);
        assert_int_equal(lg_reader_feed(&r, buf, lens[i], NULL, NULL), RTK_EPROTO);
        lg_reader_free(&r);
    }
    /* A declared length over LG_MAX_FRAME fails from the header alone. */
    uint8_t huge[10] = {0x81, 127, 0, 0, 0, 0, 0x10, 0, 0, 0};
    lg_frame f;
    assert_int_equal(lg_frame_parse(huge, sizeof(huge), &f), RTK_EPROTO);
    assert_int_equal(lg_frame_parse(huge, 1, &f), RTK_EAGAIN);
}

static int stop_after_first(void *arg, lg_event ev, const lg_frame *f)
{
    (void)ev;
    (void)f;
    (*(int *)arg)++;
    return 1;
}

static void reader_stops_when_asked(void **state)
{
    (void)state;
    stream s;
    memset(&s, 0, sizeof(s));
    event_frame(&s, 0, 10);
    event_frame(&s, 1, 10);
    int calls = 0;
    lg_reader r;
    lg_reader_init(&r);
    assert_int_equal(lg_reader_feed(&r, s.buf, s.len - 3, stop_after_first, &calls), 1);
    assert_int_equal(calls, 1);
    assert_null(r.part); /* the rest of the input is dropped */
    lg_reader_free(&r);
    free(s.buf);
}

/* ---- client frames ---- */

static void client_frames_are_masked_and_parse_back(void **state)
{
    (void)state;
    static const size_t lens[] = {0, 1, 125, 126, 1000, 65535, 65536, 70000};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        size_t n = lens[i];
        uint8_t *payload = malloc(n + 1), *out = malloc(n + RTK_WS_MAX_HEADER);
        for (size_t k = 0; k < n; k++)
            payload[k] = (uint8_t)(k * 31 + 7);
        ssize_t fl = lg_frame_build(out, n + RTK_WS_MAX_HEADER, RTK_WS_OP_TEXT, payload, n,
                                    0xA1B2C3D4u);
        assert_true(fl > 0);
        assert_int_equal(out[0], 0x81);
        assert_true(out[1] & 0x80); /* MASK bit */
        /* The server's own codec reads the same frame size from the header. */
        if (n <= RTK_WS_MAX_MESSAGE)
            assert_int_equal(rtk_ws_frame_size(out, (size_t)fl), fl);
        lg_frame f;
        assert_int_equal(lg_frame_parse(out, (size_t)fl, &f), fl);
        assert_int_equal(f.len, n);
        assert_memory_equal(f.payload, payload, n);
        free(payload);
        free(out);
    }
    uint8_t small[4];
    assert_int_equal(lg_frame_build(small, sizeof(small), RTK_WS_OP_TEXT, "abc", 3, 1),
                     RTK_ETOOBIG);
}

static void client_vote_frame_accepted_by_server_codec(void **state)
{
    (void)state;
    const char *vote = "{\"type\":\"poll.vote\",\"poll_id\":\"p\",\"option\":0,\"ref\":\"1\"}";
    uint8_t out[256];
    ssize_t fl = lg_frame_build(out, sizeof(out), RTK_WS_OP_TEXT, vote, strlen(vote), 0x01020304);
    rtk_ws_state st;
    rtk_ws_state_init(&st);
    rtk_ws_frame f;
    uint16_t code = 0;
    assert_int_equal(rtk_ws_parse(&st, out, (size_t)fl, &f, &code), fl);
    assert_int_equal(f.len, strlen(vote));
    assert_memory_equal(f.payload, vote, strlen(vote));
    uint8_t pong[64];
    fl = lg_frame_build(pong, sizeof(pong), RTK_WS_OP_PONG, "hb", 2, 0xFFFFFFFF);
    assert_int_equal(rtk_ws_parse(&st, pong, (size_t)fl, &f, &code), fl);
    assert_int_equal(f.opcode, RTK_WS_OP_PONG);
}

/* ---- nchan mode ---- */

static void nchan_message_has_the_size_and_type_asked(void **state)
{
    (void)state;
    static const size_t sizes[] = {LG_NCHAN_MIN_MESSAGE, 42, 100, 125, 126, 650, 4000, 70000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = sizes[i];
        char *m = malloc(n + 1);
        assert_int_equal(lg_nchan_message(m, n + 1, n), (ssize_t)n);
        assert_int_equal(strlen(m), n);
        /* What the subscribers' reader times in nchan mode, and valid JSON. */
        assert_int_equal(lg_event_classify(m, n), LG_EV_POLL_CREATED);
        json_error_t err;
        json_t *doc = json_loads(m, 0, &err);
        assert_non_null(doc);
        assert_string_equal(json_string_value(json_object_get(doc, "type")), "poll.created");
        json_decref(doc);
        /* No room for the NUL, or smaller than the fixed part: refused, nothing written. */
        assert_int_equal(lg_nchan_message(m, n, n), RTK_EINVAL);
        free(m);
    }
    char small[64];
    assert_int_equal(lg_nchan_message(small, sizeof(small), LG_NCHAN_MIN_MESSAGE - 1),
                     RTK_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(percentile_of_1_to_100),
        cmocka_unit_test(percentile_nearest_rank_small_sets),
        cmocka_unit_test(percentile_large_set_and_ties),
        cmocka_unit_test(median_odd_even),
        cmocka_unit_test(top_level_type_only),
        cmocka_unit_test(reader_counts_every_event_whole_and_random),
        cmocka_unit_test(reader_counts_every_event_byte_by_byte),
        cmocka_unit_test(reader_counts_when_split_at_every_boundary),
        cmocka_unit_test(reader_rejects_what_no_server_sends),
        cmocka_unit_test(reader_stops_when_asked),
        cmocka_unit_test(client_frames_are_masked_and_parse_back),
        cmocka_unit_test(client_vote_frame_accepted_by_server_codec),
        cmocka_unit_test(nchan_message_has_the_size_and_type_asked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
