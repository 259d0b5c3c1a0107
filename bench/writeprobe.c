/* SPDX-License-Identifier: MIT */
/* writeprobe.c - the floor of a fan-out here: what one write() of a small frame to a loopback
 * TCP socket costs on this machine, with a reader draining the other end.
 *
 * A forked reader accepts K + 1 loopback connections and drains them (epoll, 64 KiB reads)
 * until they close. The writer (this process, TCP_NODELAY as rtkd's sockets) then times:
 *   one     N writes of a --size-byte WebSocket text frame to one socket;
 *   many    the same N writes spread round-robin over K sockets, one frame per socket per
 *           round: the pattern of a broadcast, where every write goes to another socket
 *           (another sock, another wake-up of the reader) and nothing stays in cache.
 * For each it reports the writer's CPU time per write (CLOCK_PROCESS_CPUTIME_ID: the kernel's
 * loopback path, which runs the receive side in the sender's context, is included, as it is
 * in rtkd's figure) and the wall time per write. bench/run.sh sets rtkd's CPU per poll.created
 * delivery beside it as a multiple. Output: "key value" lines.
 *
 *   writeprobe [--size 100] [--writes 200000] [--sockets 1000] [--check]
 * --check exits 1 unless every figure is positive and every byte reached the reader (the
 * unit test). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static double now_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The reader: drains every socket until all have closed; writes the byte total to |rep|. */
static int drain(const int *fds, int n, int rep)
{
    int ep = epoll_create1(0);
    if (ep < 0)
        return 1;
    for (int i = 0; i < n; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fds[i]};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) != 0)
            return 1;
    }
    static char buf[65536];
    long long total = 0;
    int open = n;
    while (open > 0) {
        struct epoll_event evs[256];
        int k = epoll_wait(ep, evs, 256, 10000);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return 1; /* nothing for 10 s: the writer is gone */
        for (int i = 0; i < k; i++) {
            ssize_t r;
            while ((r = read(evs[i].data.fd, buf, sizeof(buf))) > 0)
                total += r;
            if (r == 0) {
                epoll_ctl(ep, EPOLL_CTL_DEL, evs[i].data.fd, NULL);
                close(evs[i].data.fd);
                open--;
            } else if (errno != EAGAIN && errno != EINTR) {
                return 1;
            }
        }
    }
    if (write(rep, &total, sizeof(total)) != (ssize_t)sizeof(total))
        return 1;
    return 0;
}

/* Writes all |len| bytes of |frame| to |fd|; when the reader has fallen behind (EAGAIN) it
 * sleeps 50 µs and counts a stall. Returns 0 or -1. */
static int write_frame(int fd, const char *frame, size_t len, long *stalls)
{
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, frame + off, len - off);
        if (w > 0) {
            off += (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            (*stalls)++;
            usleep(50);
        } else {
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    size_t size = 100;
    long writes = 200000;
    int sockets = 1000, check = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--check") == 0)
            check = 1;
        else if (i + 1 < argc && strcmp(argv[i], "--size") == 0)
            size = (size_t)strtoul(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(argv[i], "--writes") == 0)
            writes = strtol(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(argv[i], "--sockets") == 0)
            sockets = atoi(argv[++i]);
        else {
            fputs("usage: writeprobe [--size N] [--writes N] [--sockets K] [--check]\n", stderr);
            return 2;
        }
    }
    if (size < 1 || size > 125 || writes < 1 || sockets < 1 || sockets > 8000) {
        fputs("writeprobe: --size 1..125 (one-byte WebSocket length), --sockets 1..8000\n",
              stderr);
        return 2;
    }
    /* A text frame of |size| payload bytes, as a server sends it (unmasked, 2-byte header). */
    size_t flen = size + 2;
    char *frame = malloc(flen);
    int *cfd = NULL, *sfd = NULL, rc = 1;
    pid_t pid = -1;
    if (frame == NULL)
        return 1;
    frame[0] = (char)0x81;
    frame[1] = (char)size;
    memset(frame + 2, 'x', size);

    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(lfd, 4096) != 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &al) != 0) {
        perror("writeprobe: listen");
        goto fail;
    }
    int n = sockets + 1; /* socket 0 for "one", 1..K for "many" */
    cfd = calloc((size_t)n, sizeof(int));
    sfd = calloc((size_t)n, sizeof(int));
    if (cfd == NULL || sfd == NULL)
        goto fail;
    for (int i = 0; i < n; i++) {
        cfd[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (cfd[i] < 0 || connect(cfd[i], (struct sockaddr *)&a, sizeof(a)) != 0 ||
            (sfd[i] = accept(lfd, NULL, NULL)) < 0) {
            perror("writeprobe: connect");
            goto fail;
        }
        setsockopt(cfd[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    close(lfd);
    int rep[2];
    if (pipe(rep) != 0)
        goto fail;
    pid = fork();
    if (pid < 0)
        goto fail;
    if (pid == 0) {
        /* Non-blocking reads, so that one epoll_wait drains everything that is ready. */
        for (int i = 0; i < n; i++) {
            close(cfd[i]);
            if (set_nonblock(sfd[i]) != 0)
                _exit(1);
        }
        close(rep[0]);
        _exit(drain(sfd, n, rep[1]));
    }
    close(rep[1]);
    for (int i = 0; i < n; i++)
        close(sfd[i]);
    for (int i = 0; i < n; i++)
        if (set_nonblock(cfd[i]) != 0)
            goto fail;

    long stalls = 0;
    /* Warm-up: every socket once, and a few thousand writes to the first. */
    for (int i = 0; i < n; i++)
        if (write_frame(cfd[i], frame, flen, &stalls) != 0)
            goto fail;
    for (int i = 0; i < 5000; i++)
        if (write_frame(cfd[0], frame, flen, &stalls) != 0)
            goto fail;
    long warm = n + 5000;

    double c0 = now_s(CLOCK_PROCESS_CPUTIME_ID), w0 = now_s(CLOCK_MONOTONIC);
    for (long i = 0; i < writes; i++)
        if (write_frame(cfd[0], frame, flen, &stalls) != 0)
            goto fail;
    double c1 = now_s(CLOCK_PROCESS_CPUTIME_ID), w1 = now_s(CLOCK_MONOTONIC);
    long rounds = (writes + sockets - 1) / sockets, many = rounds * sockets;
    for (long r = 0; r < rounds; r++)
        for (int i = 1; i < n; i++)
            if (write_frame(cfd[i], frame, flen, &stalls) != 0)
                goto fail;
    double c2 = now_s(CLOCK_PROCESS_CPUTIME_ID), w2 = now_s(CLOCK_MONOTONIC);
    for (int i = 0; i < n; i++)
        close(cfd[i]);
    long long got = 0;
    int st = 0;
    ssize_t rr = read(rep[0], &got, sizeof(got));
    waitpid(pid, &st, 0);
    long long want = (long long)(warm + writes + many) * (long long)flen;

    double one_cpu = 1e9 * (c1 - c0) / (double)writes, one_wall = 1e9 * (w1 - w0) / (double)writes;
    double many_cpu = 1e9 * (c2 - c1) / (double)many, many_wall = 1e9 * (w2 - w1) / (double)many;
    printf("frame_bytes %zu\n", flen);
    printf("writes %ld\n", writes);
    printf("one_socket_cpu_ns %.0f\n", one_cpu);
    printf("one_socket_wall_ns %.0f\n", one_wall);
    printf("sockets %d\n", sockets);
    printf("many_sockets_writes %ld\n", many);
    printf("many_sockets_cpu_ns %.0f\n", many_cpu);
    printf("many_sockets_wall_ns %.0f\n", many_wall);
    printf("stalls %ld\n", stalls);
    printf("reader_bytes %lld\n", rr == (ssize_t)sizeof(got) ? got : -1);
    printf("expected_bytes %lld\n", want);
    rc = 0;
    if (check && !(one_cpu > 0 && many_cpu > 0 && one_wall > 0 && many_wall > 0 &&
                   rr == (ssize_t)sizeof(got) && got == want && WIFEXITED(st) &&
                   WEXITSTATUS(st) == 0)) {
        fputs("writeprobe: check failed\n", stderr);
        rc = 1;
    }
fail:
    if (rc != 0 && pid > 0) /* failed while the reader runs: it would wait 10 s for us */
        kill(pid, SIGKILL);
    free(frame);
    free(cfd);
    free(sfd);
    return rc;
}
