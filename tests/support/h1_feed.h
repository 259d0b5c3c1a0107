/* SPDX-License-Identifier: MIT */
/* h1_feed.h - feeds scripted bytes to the sans-I/O HTTP/1 layer in pieces and logs its events. */
#ifndef RTK_TEST_H1_FEED_H
#define RTK_TEST_H1_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "http/rtk_h1.h"

/*
 * The log is text, one line per event, so that tests can compare it with what they expect
 * and the outcomes of different splits with each other:
 *
 *   REQ @<end> <method> <path>[?<query>] HTTP/<major>.<minor>[ close][ stopped][ upgrade]
 *     <name>: <value>                      one line per header
 *     body <len> "<text>"                  (or body <len> fnv=<hash> past 64 bytes)
 *   100 @<end>                             RTK_H1_CONTINUE
 *   ERR <status> <EPROTO|ETOOBIG>          and nothing after it
 *   CANCEL                                 -ECANCELED (after rtk_h1_refuse_new)
 *   REST <n>                               after a request with RTK_H1_R_STOPPED: the n bytes
 *                                          that follow belong to another protocol
 *   MORE <busy|idle>                       the input ended with no error
 *
 * <end> is the offset in the whole input just after the bytes the event consumed.
 */

typedef struct h1_log {
    char *text; /* NUL-terminated; owned (h1_log_free) */
    size_t len, cap;
} h1_log;

enum h1_split_kind {
    H1_WHOLE,  /* one piece */
    H1_CHUNKS, /* pieces of |n| bytes (1: byte by byte) */
    H1_CUT,    /* two pieces, cut after |n| bytes */
    H1_RANDOM, /* pieces of 1..|n| bytes, sizes from |seed| */
};

typedef struct h1_split {
    int kind; /* enum h1_split_kind */
    size_t n;
    uint64_t seed;
} h1_split;

/* Feeds |len| bytes at |in| to a new parser under |cfg| (remote address "192.0.2.1"), cut as
 * |split| says, appending the events to |log|. After the |refuse_after|-th request (counting
 * from 1; 0: before any, -1: never) it calls rtk_h1_refuse_new. Each request also gets its
 * response head written (checked against rtk_h1_head_size) and is freed. */
void h1_feed(const rtk_h1_config *cfg, const char *in, size_t len, h1_split split, int refuse_after,
             h1_log *log);

/* Frees |log|'s text and empties it. */
void h1_log_free(h1_log *log);

#endif
