/* SPDX-License-Identifier: MIT */
/* fanprobe.c - the floor of a broadcast here: a bare C loop that writes one frame to each of
 * K loopback TCP sockets, read by R processes as the load generator reads rtkd's peers.
 *
 * R forked readers connect K/R sockets each to this process and drain them (epoll); after
 * every round each reports, in CLOCK_MONOTONIC (one clock for all processes), when its last
 * byte of the round arrived. The writer (TCP_NODELAY, non-blocking, as rtkd's sockets) runs
 * rounds of one --size-byte WebSocket text frame to every socket, in each configuration in
 * turn (A B A B ...): one thread; T threads taking chunks of 32 sockets from a shared cursor
 * (rtkd's send helpers); and, when built with liburing, one thread submitting every send of
 * the round to io_uring in batches of 4096 (one io_uring_enter per batch). For each it prints
 * the median over the rounds of: the round's write time, the time to the last arrival, and
 * the writer's CPU per write (CLOCK_PROCESS_CPUTIME_ID: every thread, and the loopback
 * receive path, which runs in the sender's context). Output: "key value" lines.
 *
 *   fanprobe [--sockets 15000] [--readers 4] [--size 386] [--rounds 5] [--threads 2]
 *            [--check]
 * --check exits 1 unless every figure is positive and every byte reached the readers. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef RTK_HAVE_LIBURING
#include <liburing.h>
#endif

#define MAX_READERS 16
#define CHUNK 32

static int nsock, *fds;
static char *frame;
static size_t flen;
static atomic_int cursor;
static atomic_int failed;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* All of the frame to |fd|; a full socket (the reader behind) is retried after 50 µs. */
static void write_all(int fd)
{
    size_t off = 0;
    while (off < flen) {
        ssize_t w = send(fd, frame + off, flen - off, MSG_NOSIGNAL);
        if (w > 0)
            off += (size_t)w;
        else if (w < 0 && (errno == EAGAIN || errno == EINTR))
            usleep(50);
        else {
            atomic_store(&failed, 1);
            return;
        }
    }
}

static void *sender(void *arg)
{
    (void)arg;
    for (;;) {
        int i = atomic_fetch_add(&cursor, CHUNK);
        if (i >= nsock)
            return NULL;
        int end = i + CHUNK < nsock ? i + CHUNK : nsock;
        for (; i < end; i++)
            write_all(fds[i]);
    }
}

static void round_threads(int threads)
{
    pthread_t th[16];
    atomic_store(&cursor, 0);
    for (int t = 1; t < threads; t++)
        pthread_create(&th[t], NULL, sender, NULL);
    sender(NULL);
    for (int t = 1; t < threads; t++)
        pthread_join(th[t], NULL);
}

#ifdef RTK_HAVE_LIBURING
static struct io_uring ring;
static void round_uring(void)
{
    int i = 0;
    while (i < nsock) {
        int batch = 0;
        for (; i < nsock && batch < 4096; i++, batch++)
            io_uring_prep_send(io_uring_get_sqe(&ring), fds[i], frame, flen, MSG_DONTWAIT);
        io_uring_submit_and_wait(&ring, (unsigned)batch);
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe)
        {
            if (cqe->res != (int)flen) /* a short or refused send: finish it by hand */
                write_all(fds[i - batch + (int)seen]);
            seen++;
        }
        io_uring_cq_advance(&ring, seen);
    }
}
#endif

/* A reader: connects its sockets, then reports each round's last arrival on |rep|. */
static int reader(const struct sockaddr_in *a, int count, int rounds, int rep)
{
    int ep = epoll_create1(0);
    if (ep < 0)
        return 1;
    for (int i = 0; i < count; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (const struct sockaddr *)a, sizeof(*a)) != 0)
            return 1;
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
            return 1;
    }
    static char buf[65536];
    for (int r = 0; r < rounds; r++) {
        long long want = (long long)count * (long long)flen, got = 0;
        while (got < want) {
            struct epoll_event evs[256];
            int k = epoll_wait(ep, evs, 256, 10000);
            if (k <= 0 && errno != EINTR)
                return 1; /* nothing for 10 s: the writer is gone */
            for (int j = 0; j < k; j++) {
                ssize_t m;
                while ((m = read(evs[j].data.fd, buf, sizeof(buf))) > 0)
                    got += m;
            }
        }
        double t = mono();
        if (got != want || write(rep, &t, sizeof(t)) != (ssize_t)sizeof(t))
            return 1;
    }
    return 0;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    int readers = 4, rounds = 5, threads = 2, check = 0;
    size_t size = 386;
    nsock = 15000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--check") == 0)
            check = 1;
        else if (i + 1 < argc && strcmp(argv[i], "--sockets") == 0)
            nsock = atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--readers") == 0)
            readers = atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--size") == 0)
            size = (size_t)strtoul(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(argv[i], "--rounds") == 0)
            rounds = atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--threads") == 0)
            threads = atoi(argv[++i]);
        else {
            fputs("usage: fanprobe [--sockets K] [--readers R] [--size N] [--rounds N] "
                  "[--threads T] [--check]\n",
                  stderr);
            return 2;
        }
    }
    if (nsock < readers || readers < 1 || readers > MAX_READERS || rounds < 1 || threads < 2 ||
        threads > 16 || size < 126 || size > 65535) {
        fputs("fanprobe: --readers 1..16 <= --sockets, --threads 2..16, --size 126..65535\n",
              stderr);
        return 2;
    }
    /* A text frame of |size| payload bytes, as a server sends it (unmasked, 4-byte header). */
    flen = size + 4;
    frame = malloc(flen);
    fds = calloc((size_t)nsock, sizeof(int));
    if (frame == NULL || fds == NULL)
        return 1;
    frame[0] = (char)0x81;
    frame[1] = 126;
    frame[2] = (char)(size >> 8);
    frame[3] = (char)(size & 0xff);
    memset(frame + 4, 'x', size);

    int nconf = 2;
#ifdef RTK_HAVE_LIBURING
    nconf = 3;
    if (io_uring_queue_init(4096, &ring, 0) != 0)
        nconf = 2; /* io_uring refused here (a seccomp filter, say): that row is left out */
#endif
    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(lfd, 4096) != 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &al) != 0) {
        perror("fanprobe: listen");
        return 1;
    }
    int rep[2];
    if (pipe(rep) != 0)
        return 1;
    pid_t pids[MAX_READERS];
    for (int r = 0; r < readers; r++) {
        pids[r] = fork();
        if (pids[r] < 0)
            return 1;
        if (pids[r] == 0) {
            close(lfd);
            close(rep[0]);
            int lo = nsock * r / readers, hi = nsock * (r + 1) / readers;
            _exit(reader(&a, hi - lo, rounds * nconf, rep[1]));
        }
    }
    close(rep[1]);
    int rc = 1;
    double *wr = NULL, *last = NULL, *per = NULL; /* per configuration and round */
    for (int i = 0; i < nsock; i++) {
        fds[i] = accept(lfd, NULL, NULL);
        if (fds[i] < 0) {
            perror("fanprobe: accept");
            goto out;
        }
        setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
    }
    static const char *const names[3] = {"one_thread", "threads", "io_uring"};
    wr = calloc((size_t)(nconf * rounds), sizeof(double));
    last = calloc((size_t)(nconf * rounds), sizeof(double));
    per = calloc((size_t)(nconf * rounds), sizeof(double));
    if (wr == NULL || last == NULL || per == NULL)
        goto out;
    for (int r = 0; r < rounds; r++) {
        for (int c = 0; c < nconf; c++) {
            usleep(200000); /* the readers are idle again */
            double c0 = cpu(), t0 = mono();
            if (c == 0)
                round_threads(1);
            else if (c == 1)
                round_threads(threads);
#ifdef RTK_HAVE_LIBURING
            else
                round_uring();
#endif
            double t1 = mono(), c1 = cpu(), end = 0;
            for (int k = 0; k < readers; k++) {
                double t;
                if (read(rep[0], &t, sizeof(t)) != (ssize_t)sizeof(t)) {
                    fputs("fanprobe: a reader failed\n", stderr);
                    goto out;
                }
                end = t > end ? t : end;
            }
            wr[c * rounds + r] = 1e3 * (t1 - t0);
            last[c * rounds + r] = 1e3 * (end - t0);
            per[c * rounds + r] = 1e9 * (c1 - c0) / nsock;
        }
    }
    printf("sockets %d\nreaders %d\nframe_bytes %zu\nrounds %d\nthreads %d\n", nsock, readers, flen,
           rounds, threads);
    int ok = !atomic_load(&failed);
    for (int c = 0; c < nconf; c++) {
        double w = median(wr + c * rounds, rounds), l = median(last + c * rounds, rounds);
        double p = median(per + c * rounds, rounds);
        printf("%s_write_ms %.1f\n%s_last_ms %.1f\n%s_cpu_ns %.0f\n", names[c], w, names[c], l,
               names[c], p);
        ok = ok && w > 0 && l > 0 && p > 0;
    }
    rc = check && !ok ? 1 : 0;
    if (rc)
        fputs("fanprobe: check failed\n", stderr);
out:
    for (int i = 0; i < nsock; i++)
        if (fds[i] > 0)
            close(fds[i]);
    for (int r = 0; r < readers; r++) {
        int st = 0;
        if (rc != 0)
            kill(pids[r], SIGKILL);
        waitpid(pids[r], &st, 0);
        if (check && rc == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
            fputs("fanprobe: a reader failed\n", stderr);
            rc = 1;
        }
    }
    free(wr);
    free(last);
    free(per);
    free(fds);
    free(frame);
    return rc;
}
