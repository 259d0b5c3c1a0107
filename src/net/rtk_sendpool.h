/* SPDX-License-Identifier: MIT */
/* rtk_sendpool.h - one loop turn's sends to many sockets, spread over helper threads.
 *
 * The loop thread owns every socket. rtk_sendpool_send lends it a batch: the descriptors and
 * the bytes for each, which the helper threads and the loop thread itself then send, taking
 * chunks of the batch in turn; it returns only when every send of the batch has finished. It
 * is a fork and a join inside one call, so before and after it only the loop thread touches a
 * socket or a frame, and the helpers never see anything else (docs/design.md, "Sending from
 * more than one core"). Each item is sent once with sendmsg(MSG_DONTWAIT | MSG_NOSIGNAL), as
 * uv_try_write would: what the kernel did not take is the caller's to queue. */
#ifndef RTK_SENDPOOL_H
#define RTK_SENDPOOL_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef struct rtk_send_item {
    int fd;
    int iovcnt;
    const struct iovec *iov; /* read by another thread during the call: not changed meanwhile */
    ssize_t res;             /* out: the bytes the kernel took, or -errno (-EAGAIN: none) */
} rtk_send_item;

/* Batches smaller than this are sent by the calling thread alone: waking a helper costs more
 * than it saves below a few hundred sends. */
#define RTK_SENDPOOL_MIN 256

/* Starts |threads| helper threads (0: none; at most 16). Returns 0, or an errno value when a
 * thread could not be started (then none runs). Call once, from the loop thread. */
int rtk_sendpool_start(unsigned threads);

/* Stops and joins the helpers. Safe to call when none were started. */
void rtk_sendpool_stop(void);

/* The helpers running. */
unsigned rtk_sendpool_threads(void);

/* Sends every item of |items| and sets its |res|. Loop thread only; blocks until the batch is
 * sent (each send is non-blocking, so this is bounded by the batch). */
void rtk_sendpool_send(rtk_send_item *items, size_t n);

/* Items of every batch so far that a helper (not the calling thread) sent: for tests and
 * metrics. */
unsigned long long rtk_sendpool_helped(void);

#endif
