/* SPDX-License-Identifier: MIT */
/* rtk_sendpool.c - helper threads for the sends of one loop turn's flush (rtk_sendpool.h).
 *
 * One job at a time: the loop thread publishes the batch under the mutex, bumps the job's
 * generation and wakes the helpers; every thread, the loop thread included, then takes chunks
 * of CHUNK items from an atomic cursor until none is left. Each helper counts itself out under
 * the mutex, and the loop thread waits for the last one, so the helpers' results (and their
 * use of the frames) happen before the call returns. A helper that wakes late finds the
 * cursor past the end and counts itself out at once. */
#include "net/rtk_sendpool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>

#define CHUNK 32
#define MAX_THREADS 16

static struct {
    pthread_mutex_t mu;
    pthread_cond_t go;   /* a new job, or stop */
    pthread_cond_t done; /* the last helper left the job */
    pthread_t th[MAX_THREADS];
    unsigned nth;
    unsigned running; /* helpers still in the current job */
    unsigned long long gen;
    int stop;
    rtk_send_item *items;
    size_t n;
    atomic_size_t next;
    atomic_ullong helped;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER,
          .go = PTHREAD_COND_INITIALIZER,
          .done = PTHREAD_COND_INITIALIZER};

static void send_one(rtk_send_item *it)
{
    struct msghdr mh = {.msg_iov = (struct iovec *)it->iov, .msg_iovlen = (size_t)it->iovcnt};
    ssize_t r;
    do
        r = sendmsg(it->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (r < 0 && errno == EINTR);
    it->res = r < 0 ? -(ssize_t)errno : r;
}

/* Sends chunks of the current job until none is left; returns how many items it sent. */
static size_t work(rtk_send_item *items, size_t n)
{
    size_t sent = 0;
    for (;;) {
        size_t i = atomic_fetch_add_explicit(&pool.next, CHUNK, memory_order_relaxed);
        if (i >= n)
            return sent;
        size_t end = n - i < CHUNK ? n : i + CHUNK;
        for (; i < end; i++, sent++)
            send_one(&items[i]);
    }
}

static void *helper(void *arg)
{
    (void)arg;
    unsigned long long seen = 0;
    pthread_mutex_lock(&pool.mu);
    for (;;) {
        while (!pool.stop && pool.gen == seen)
            pthread_cond_wait(&pool.go, &pool.mu);
        if (pool.stop)
            break;
        seen = pool.gen;
        rtk_send_item *items = pool.items;
        size_t n = pool.n;
        pthread_mutex_unlock(&pool.mu);
        size_t k = work(items, n);
        atomic_fetch_add_explicit(&pool.helped, k, memory_order_relaxed);
        pthread_mutex_lock(&pool.mu);
        if (--pool.running == 0)
            pthread_cond_signal(&pool.done);
    }
    pthread_mutex_unlock(&pool.mu);
    return NULL;
}

int rtk_sendpool_start(unsigned threads)
{
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    /* The helpers take no signals: libuv's handlers and the process's dispositions stay the
     * loop thread's business. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = 0;
    for (unsigned i = 0; i < threads; i++) {
        rc = pthread_create(&pool.th[i], NULL, helper, NULL);
        if (rc != 0)
            break;
        pool.nth++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        rtk_sendpool_stop();
    return rc;
}

void rtk_sendpool_stop(void)
{
    pthread_mutex_lock(&pool.mu);
    pool.stop = 1;
    pthread_cond_broadcast(&pool.go);
    pthread_mutex_unlock(&pool.mu);
    for (unsigned i = 0; i < pool.nth; i++)
        pthread_join(pool.th[i], NULL);
    pthread_mutex_lock(&pool.mu);
    pool.nth = 0;
    pool.stop = 0;
    pthread_mutex_unlock(&pool.mu);
}

unsigned rtk_sendpool_threads(void)
{
    return pool.nth;
}

unsigned long long rtk_sendpool_helped(void)
{
    return atomic_load_explicit(&pool.helped, memory_order_relaxed);
}

void rtk_sendpool_send(rtk_send_item *items, size_t n)
{
    if (pool.nth == 0 || n < RTK_SENDPOOL_MIN) {
        for (size_t i = 0; i < n; i++)
            send_one(&items[i]);
        return;
    }
    pthread_mutex_lock(&pool.mu);
    pool.items = items;
    pool.n = n;
    atomic_store_explicit(&pool.next, 0, memory_order_relaxed);
    pool.running = pool.nth;
    pool.gen++;
    pthread_cond_broadcast(&pool.go);
    pthread_mutex_unlock(&pool.mu);
    work(items, n);
    pthread_mutex_lock(&pool.mu);
    while (pool.running > 0)
        pthread_cond_wait(&pool.done, &pool.mu);
    pool.items = NULL;
    pool.n = 0;
    pthread_mutex_unlock(&pool.mu);
}
