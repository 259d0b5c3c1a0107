/* SPDX-License-Identifier: MIT */
/* fuzz_http.c - libFuzzer harness: the sans-I/O HTTP/1 layer fed a client's raw bytes.
 *
 * Surface: what http/rtk_h1.c does with the bytes of a connection before any handler runs:
 * the request line and headers (http-parser 2.9.4, our strict framing scan, the name and value
 * checks, Host, the version), Content-Length and chunked bodies with their trailers, the head
 * and body limits, Expect: 100-continue, keep-alive, upgrades and CONNECT, the target split,
 * pipelining, and the response heads written for each request. The connection layer around it
 * (sockets, order, back-pressure, timeouts) and the handlers behind it are fuzz_server's.
 *
 * Sans-I/O: no socket, no loop; the parser is fed from memory by tests/support/h1_feed.c, the
 * same feeder as tests/unit/http/test_h1.c, which logs every event (tests/support/h1_feed.h).
 *
 * Input: any bytes, read as one client's stream. The cut points come from a hash of the input
 * itself rather than from prefix bytes, so every HTTP seed is a valid input as it stands, and
 * a reproducer is the stream itself.
 *
 * Checked: the stream fed whole, byte by byte (up to BYTEWISE_MAX bytes), cut in two at a
 * hashed offset, and in two random splits gives the same log - the same requests, bodies,
 * 100-continue events at the same offsets, the same final error status - with the server's
 * limits (16 KiB head, 1 MiB body) and with small ones (SMALL_HEAD, SMALL_BODY) that bring the
 * limit checks within reach of short inputs; the same holds with rtk_h1_refuse_new after the
 * first request. Every request and parser is freed: LeakSanitizer runs after every input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/rtk_h1.h"
#include "support/h1_feed.h"

#define BYTEWISE_MAX 4096
#define SMALL_HEAD 512
#define SMALL_BODY 256

static const rtk_h1_config server_cfg = {
    .max_head = RTK_H1_DEFAULT_MAX_HEAD, .max_body = RTK_H1_DEFAULT_MAX_BODY, .user_size = 40};
static const rtk_h1_config small_cfg = {
    .max_head = SMALL_HEAD, .max_body = SMALL_BODY, .user_size = 8};

static uint64_t fnv1a(const uint8_t *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

static void compare(const char *what, const h1_log *whole, const h1_log *other)
{
    if (strcmp(whole->text, other->text) == 0)
        return;
    fprintf(stderr,
            "fuzz_http: invariant broken: fed %s, the events differ from fed whole\n"
            "--- whole:\n%.2000s\n--- %s:\n%.2000s\n",
            what, whole->text, what, other->text);
    abort();
}

static void run(const rtk_h1_config *cfg, const char *in, size_t len, uint64_t h, int refuse_after)
{
    h1_log whole = {0}, other = {0};
    h1_feed(cfg, in, len, (h1_split){H1_WHOLE, 0, 0}, refuse_after, &whole);
    if (len <= BYTEWISE_MAX) {
        h1_feed(cfg, in, len, (h1_split){H1_CHUNKS, 1, 0}, refuse_after, &other);
        compare("byte by byte", &whole, &other);
        h1_log_free(&other);
    }
    if (len > 1) {
        h1_feed(cfg, in, len, (h1_split){H1_CUT, 1 + h % (len - 1), 0}, refuse_after, &other);
        compare("cut in two", &whole, &other);
        h1_log_free(&other);
    }
    h1_feed(cfg, in, len, (h1_split){H1_RANDOM, 1 + len / 8, h}, refuse_after, &other);
    compare("in random pieces", &whole, &other);
    h1_log_free(&other);
    h1_feed(cfg, in, len, (h1_split){H1_RANDOM, 16, h ^ 0x5bd1e995}, refuse_after, &other);
    compare("in pieces of 1..16", &whole, &other);
    h1_log_free(&other);
    h1_log_free(&whole);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    uint64_t h = fnv1a(data, size);
    run(&server_cfg, in, size, h, -1);
    run(&small_cfg, in, size, h >> 7, -1);
    run(&small_cfg, in, size, h >> 13, 1);
    return 0;
}
