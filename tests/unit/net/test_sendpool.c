/* SPDX-License-Identifier: MIT */
/* test_sendpool.c - the send pool: every item sent once, in order per socket, by the helpers
 * as well as the caller; errors and partial sends reported per item as sendmsg gives them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/rtk_sendpool.h"

#define PAIRS 1000

static int wr[PAIRS], rd[PAIRS];

static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < PAIRS; i++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
            return -1;
        wr[i] = sv[0];
        rd[i] = sv[1];
        fcntl(rd[i], F_SETFL, fcntl(rd[i], F_GETFL) | O_NONBLOCK);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rtk_sendpool_stop();
    for (int i = 0; i < PAIRS; i++) {
        close(wr[i]);
        close(rd[i]);
    }
    return 0;
}

/* Reads what waits on |fd| into |buf| (at most |cap| bytes). */
static size_t drain(int fd, char *buf, size_t cap)
{
    size_t got = 0;
    ssize_t r;
    while (got < cap && (r = read(fd, buf + got, cap - got)) > 0)
        got += (size_t)r;
    return got;
}

/* One batch over every pair, each item two buffers naming its batch and socket. */
static void send_batch(int batch, size_t n, char (*heads)[32], struct iovec (*iov)[2],
                       rtk_send_item *items)
{
    static const char tail[] = "|shared frame bytes|";
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(heads[i], sizeof(heads[i]), "b%d:s%zu", batch, i);
        iov[i][0] = (struct iovec){.iov_base = heads[i], .iov_len = (size_t)len};
        iov[i][1] = (struct iovec){.iov_base = (void *)tail, .iov_len = sizeof(tail) - 1};
        items[i] = (rtk_send_item){.fd = wr[i], .iovcnt = 2, .iov = iov[i], .res = -1};
    }
    rtk_sendpool_send(items, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(items[i].res, (ssize_t)(iov[i][0].iov_len + iov[i][1].iov_len));
}

static char heads[PAIRS][32];
static struct iovec iovs[PAIRS][2];
static rtk_send_item items[PAIRS];

/* Batches through one helper: every byte arrives once and in order on its own socket, and the
 * helper did part of the sending. */
static void every_item_once_in_order(void **state)
{
    (void)state;
    assert_int_equal(rtk_sendpool_start(1), 0);
    assert_int_equal(rtk_sendpool_threads(), 1);
    unsigned long long helped0 = rtk_sendpool_helped();
    int batches = 0;
    /* The helper may wake after the caller took every chunk; it cannot do so every time. */
    while (batches < 5 || (rtk_sendpool_helped() == helped0 && batches < 200)) {
        send_batch(batches, PAIRS, heads, iovs, items);
        batches++;
        if (batches % 5 == 0) { /* keep the socket buffers from filling */
            for (int i = 0; i < PAIRS; i++) {
                char buf[4096], want[4096];
                size_t w = 0;
                for (int b = batches - 5; b < batches; b++)
                    w += (size_t)snprintf(want + w, sizeof(want) - w, "b%d:s%d|shared frame bytes|",
                                          b, i);
                size_t got = drain(rd[i], buf, sizeof(buf));
                assert_int_equal(got, w);
                assert_memory_equal(buf, want, w);
            }
        }
    }
    assert_true(rtk_sendpool_helped() > helped0);
    for (int i = 0; i < PAIRS; i++) { /* what the last, partial group left */
        char buf[4096];
        drain(rd[i], buf, sizeof(buf));
    }
    rtk_sendpool_stop();
    assert_int_equal(rtk_sendpool_threads(), 0);
}

/* A batch below RTK_SENDPOOL_MIN is the caller's alone. */
static void small_batch_is_the_callers(void **state)
{
    (void)state;
    assert_int_equal(rtk_sendpool_start(2), 0);
    unsigned long long helped0 = rtk_sendpool_helped();
    for (int b = 0; b < 20; b++)
        send_batch(b, RTK_SENDPOOL_MIN - 1, heads, iovs, items);
    assert_true(rtk_sendpool_helped() == helped0);
    for (int i = 0; i < RTK_SENDPOOL_MIN - 1; i++) {
        char buf[8192];
        size_t got = drain(rd[i], buf, sizeof(buf));
        assert_true(got > 0);
    }
    rtk_sendpool_stop();
}

/* What sendmsg says is what the item says, whichever thread sent it and with or without
 * helpers: -EPIPE to a closed peer (and no SIGPIPE), -EAGAIN to a full socket, a part of a
 * large send. */
static void errors_and_partial_sends(void **state)
{
    (void)state;
    int sv[2][2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[0]), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[1]), 0);
    close(sv[0][1]); /* sv[0][0]: its peer is gone */
    int small = 4096;
    setsockopt(sv[1][0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    static char big[1 << 20];
    memset(big, 'x', sizeof(big));
    struct iovec bigv = {.iov_base = big, .iov_len = sizeof(big)};
    static const char one[] = "x";
    struct iovec onev = {.iov_base = (void *)one, .iov_len = 1};
    for (int threads = 0; threads <= 1; threads++) {
        assert_int_equal(rtk_sendpool_start((unsigned)threads), 0);
        size_t n = 2 * RTK_SENDPOOL_MIN;
        rtk_send_item *it = calloc(n, sizeof(*it));
        assert_non_null(it);
        for (size_t i = 0; i < n; i++)
            it[i] = (rtk_send_item){.fd = wr[i], .iovcnt = 1, .iov = &onev};
        it[7] = (rtk_send_item){.fd = sv[0][0], .iovcnt = 1, .iov = &onev};
        it[n - 3] = (rtk_send_item){.fd = sv[1][0], .iovcnt = 1, .iov = &bigv};
        it[n - 2] = (rtk_send_item){.fd = sv[1][0], .iovcnt = 1, .iov = &bigv};
        it[n - 1] = (rtk_send_item){.fd = -1, .iovcnt = 1, .iov = &onev};
        rtk_sendpool_send(it, n);
        assert_int_equal(it[7].res, -EPIPE);
        assert_true(it[n - 3].res > 0 && it[n - 3].res < (ssize_t)sizeof(big));
        assert_int_equal(it[n - 2].res, -EAGAIN);
        assert_int_equal(it[n - 1].res, -EBADF);
        assert_int_equal(it[0].res, 1);
        assert_int_equal(it[n - 4].res, 1);
        free(it);
        char buf[1 << 16];
        while (read(sv[1][1], buf, sizeof(buf)) == sizeof(buf))
            ;
        for (size_t i = 0; i < PAIRS; i++)
            drain(rd[i], buf, sizeof(buf));
        rtk_sendpool_stop();
    }
    for (int k = 0; k < 2; k++) {
        close(sv[k][0]);
        if (k == 1)
            close(sv[k][1]);
    }
}

/* Stop without a start, twice, and a start again after a stop. */
static void stop_and_restart(void **state)
{
    (void)state;
    rtk_sendpool_stop();
    rtk_sendpool_stop();
    assert_int_equal(rtk_sendpool_start(3), 0);
    assert_int_equal(rtk_sendpool_threads(), 3);
    rtk_sendpool_stop();
    assert_int_equal(rtk_sendpool_start(1), 0);
    send_batch(0, PAIRS, heads, iovs, items);
    rtk_sendpool_stop();
    for (int i = 0; i < PAIRS; i++) {
        char buf[4096];
        assert_true(drain(rd[i], buf, sizeof(buf)) > 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_item_once_in_order),
        cmocka_unit_test(small_batch_is_the_callers),
        cmocka_unit_test(errors_and_partial_sends),
        cmocka_unit_test(stop_and_restart),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
