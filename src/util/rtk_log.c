/* SPDX-License-Identifier: MIT */
/* rtk_log.c - the server's log: whole lines through a bounded queue that never blocks the loop.
 *
 *   rtk_log()/rtk_log_access() ─► format into a stack buffer (text or JSON)
 *        │
 *        ├─ regular file, /dev/null: write(2) at once (no reader to wait for)
 *        └─ pipe, socket, tty (non-blocking descriptor):
 *             queue empty ─► write now; what the reader did not take is queued
 *             queue busy  ─► appended if the whole line fits, else dropped and counted
 *             uv_poll(UV_WRITABLE) drains the queue; when it is empty, one line tells how many
 *             lines were dropped ("rtkd: log: N lines dropped …")
 *
 * Measured before this existed: with stderr on a pipe whose reader stopped, the access log's
 * write(2) blocked once the pipe's 64 KiB were full and the server answered nothing more. */
#include "util/rtk_log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/rtk_err.h"
#include "util/rtk_time.h"

#define DEFAULT_CAP (256 * 1024)
#define MSG_MAX 1000
#define LINE_MAX_BYTES 8192 /* a JSON line of a 1000-byte message escaped at worst 6x fits */

static struct {
    int open;         /* rtk_log_open succeeded */
    int fd;           /* the descriptor written */
    int own_fd;       /* fd was opened here: close it */
    int queued;       /* fd is non-blocking: lines go through the queue */
    int sock;         /* fd is a socket: send(MSG_NOSIGNAL) */
    int broken;       /* a write failed for good (the reader is gone): drop everything */
    int sync_stalled; /* a bounded wait timed out while detached: do not wait again */
    int attached;     /* the poll handle is initialised */
    int polling;      /* the poll handle watches for UV_WRITABLE */
    rtk_log_format fmt;
    char *buf; /* the queue: bytes [off, len) wait for the reader */
    size_t cap, off, len;
    uint64_t unreported; /* lines dropped since the last "dropped" line */
    uv_poll_t poll;
    rtk_log_stats st;
} L;

static ssize_t try_write(const char *p, size_t n)
{
    for (;;) {
        ssize_t w = L.sock ? send(L.fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT) : write(L.fd, p, n);
        if (w >= 0 || errno != EINTR)
            return w < 0 ? -errno : w;
    }
}

static size_t count_lines(const char *p, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += p[i] == '\n';
    return k;
}

static void drop_lines(uint64_t k)
{
    L.st.lines_dropped += k;
    L.unreported += k;
}

/* The reader is gone (EPIPE, EBADF…): what is queued is lost too. */
static void mark_broken(void)
{
    L.broken = 1;
    drop_lines(count_lines(L.buf + L.off, L.len - L.off));
    L.st.lines_written -= count_lines(L.buf + L.off, L.len - L.off);
    L.off = L.len = 0;
    L.st.queue_bytes = 0;
}

/* Appends |n| bytes to the queue if they fit (compacting first when that makes room). */
static int enqueue(const char *p, size_t n)
{
    if (L.cap - L.len < n && L.off > 0) {
        memmove(L.buf, L.buf + L.off, L.len - L.off);
        L.len -= L.off;
        L.off = 0;
    }
    if (L.cap - L.len < n)
        return -1;
    memcpy(L.buf + L.len, p, n);
    L.len += n;
    L.st.queue_bytes = L.len - L.off;
    return 0;
}

static size_t format_note(char *out, size_t cap);

/* Queues the "N lines dropped" line once there is room for it (it is never dropped itself). */
static void enqueue_note(void)
{
    if (L.unreported == 0)
        return;
    char note[256];
    size_t n = format_note(note, sizeof(note));
    if (enqueue(note, n) == 0) {
        L.unreported = 0;
        L.st.lines_written++;
    }
}

/* Writes from the queue until it is empty or the reader stops taking bytes. */
static void drain(void)
{
    for (;;) {
        while (L.off < L.len) {
            ssize_t w = try_write(L.buf + L.off, L.len - L.off);
            if (w == -EAGAIN || w == -EWOULDBLOCK)
                goto out;
            if (w < 0) {
                mark_broken();
                return;
            }
            L.off += (size_t)w;
        }
        L.off = L.len = 0;
        if (L.unreported == 0)
            break;
        enqueue_note();
    }
out:
    L.st.queue_bytes = L.len - L.off;
}

static void on_writable(uv_poll_t *h, int status, int events)
{
    (void)h;
    (void)events;
    /* An error (EPOLLERR: the reader closed) shows as a failing write in drain(). */
    (void)status;
    drain();
    if ((L.off == L.len || L.broken) && L.polling) {
        uv_poll_stop(&L.poll);
        L.polling = 0;
    }
}

/* Not attached (start-up, shutdown): waits for the reader at most |wait_ms| in all. */
static void sync_flush(int wait_ms)
{
    uint64_t deadline = uv_hrtime() + (uint64_t)wait_ms * 1000000u;
    drain();
    while (L.off < L.len && !L.broken) {
        uint64_t now = uv_hrtime();
        if (now >= deadline) {
            L.sync_stalled = 1;
            return;
        }
        struct pollfd p = {.fd = L.fd, .events = POLLOUT};
        int ms = (int)((deadline - now) / 1000000u) + 1;
        if (poll(&p, 1, ms) < 0 && errno != EINTR)
            return;
        drain();
    }
}

static void emit(const char *line, size_t n)
{
    if (!L.open) {
        fwrite(line, 1, n, stderr);
        return;
    }
    if (!L.queued) {
        size_t done = 0;
        while (done < n) {
            ssize_t w = try_write(line + done, n - done);
            if (w <= 0)
                break;
            done += (size_t)w;
        }
        if (done == n)
            L.st.lines_written++;
        else
            L.st.lines_dropped++;
        return;
    }
    if (L.broken) {
        drop_lines(1);
        return;
    }
    if (L.off == L.len && L.unreported == 0) {
        /* Nothing waits: write now, queue what the reader did not take. */
        ssize_t w = try_write(line, n);
        if (w == (ssize_t)n) {
            L.st.lines_written++;
            return;
        }
        if (w < 0 && w != -EAGAIN && w != -EWOULDBLOCK) {
            L.broken = 1;
            drop_lines(1);
            return;
        }
        size_t done = w > 0 ? (size_t)w : 0;
        (void)enqueue(line + done, n - done); /* fits: the queue is empty and n < cap */
        L.st.lines_written++;
    } else {
        enqueue_note();
        if (L.unreported == 0 && enqueue(line, n) == 0)
            L.st.lines_written++;
        else
            drop_lines(1);
    }
    if (L.attached) {
        if (!L.polling && L.off < L.len) {
            uv_poll_start(&L.poll, UV_WRITABLE, on_writable);
            L.polling = 1;
        }
    } else {
        sync_flush(L.sync_stalled ? 0 : 500);
    }
}

/* ---- formatting ----------------------------------------------------------------------------- */

static const char *level_name(rtk_log_level lv)
{
    return lv == RTK_LOG_ERROR ? "error" : lv == RTK_LOG_WARN ? "warn" : "info";
}

/* Appends |s| escaped as JSON string content; stops short of |cap|. */
static size_t json_escape(char *out, size_t at, size_t cap, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    for (; *s != '\0' && at + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[at++] = '\\';
            out[at++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            out[at++] = '\\';
            out[at++] = 'u';
            out[at++] = '0';
            out[at++] = '0';
            out[at++] = hex[c >> 4];
            out[at++] = hex[c & 15];
        } else {
            out[at++] = (char)c;
        }
    }
    return at;
}

/* The head of a JSON line: {"time":"…","level":"…","msg":" */
static size_t json_head(char *out, size_t cap, rtk_log_level lv)
{
    char ts[25];
    rtk_time_iso(rtk_time_now_ms(), ts);
    int n = snprintf(out, cap, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"", ts, level_name(lv));
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static size_t format_msg(char *out, size_t cap, rtk_log_level lv, const char *msg)
{
    size_t n;
    if (L.fmt == RTK_LOG_JSON) {
        n = json_head(out, cap, lv);
        n = json_escape(out, n, cap - 3, msg);
        out[n++] = '"';
        out[n++] = '}';
    } else {
        int k = snprintf(out, cap - 1, "rtkd: %s", msg);
        n = k < 0 ? 0 : (size_t)k < cap - 1 ? (size_t)k : cap - 2;
    }
    out[n++] = '\n';
    return n;
}

static size_t format_note(char *out, size_t cap)
{
    if (L.fmt == RTK_LOG_JSON) {
        size_t n = json_head(out, cap, RTK_LOG_WARN);
        int k = snprintf(out + n, cap - n, "log lines dropped\",\"dropped\":%llu}\n",
                         (unsigned long long)L.unreported);
        return n + (size_t)k;
    }
    int k =
        snprintf(out, cap, "rtkd: log: %llu lines dropped while the log reader was not reading\n",
                 (unsigned long long)L.unreported);
    return (size_t)k;
}

void rtk_log(rtk_log_level level, const char *fmt, ...)
{
    char msg[MSG_MAX + 1], line[LINE_MAX_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* Messages from libraries (libpq) may end in a newline of their own. */
    size_t m = strlen(msg);
    while (m > 0 && (msg[m - 1] == '\n' || msg[m - 1] == '\r'))
        msg[--m] = '\0';
    emit(line, format_msg(line, sizeof(line), level, msg));
}

void rtk_log_access(const rtk_log_access_rec *a)
{
    char line[1024];
    int n;
    if (L.fmt == RTK_LOG_JSON) {
        size_t h = json_head(line, sizeof(line), RTK_LOG_INFO);
        n = snprintf(line + h, sizeof(line) - h,
                     "access\",\"ip\":\"%s\",\"method\":\"%s\",\"path\":\"%s\",\"status\":%d,"
                     "\"bytes\":%zu,\"ms\":%.3f}\n",
                     a->ip, a->method, a->path, a->status, a->bytes, a->ms);
        n = n < 0 ? 0 : n + (int)h;
    } else {
        n = snprintf(line, sizeof(line),
                     "access ip=%s method=%s path=%s status=%d bytes=%zu ms=%.3f\n", a->ip,
                     a->method, a->path, a->status, a->bytes, a->ms);
    }
    if (n > (int)sizeof(line) - 1) {
        n = (int)sizeof(line) - 1;
        line[n - 1] = '\n';
    }
    emit(line, (size_t)n);
}

/* ---- life cycle ------------------------------------------------------------------------------ */

int rtk_log_open(int fd, rtk_log_format fmt, size_t queue_cap)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return -errno;
    memset(&L, 0, sizeof(L));
    L.fmt = fmt;
    L.fd = fd;
    L.cap = queue_cap ? queue_cap : DEFAULT_CAP;
    if (L.cap < LINE_MAX_BYTES)
        L.cap = LINE_MAX_BYTES;
    L.st.queue_cap = L.cap;
    if (S_ISFIFO(sb.st_mode) || isatty(fd)) {
        /* A new open file description of the same pipe or terminal: O_NONBLOCK on it leaves
         * the descriptor the parent shares (a shell's terminal) blocking. */
        char path[64];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        int nfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (nfd >= 0) {
            L.fd = nfd;
            L.own_fd = 1;
        } else {
            int fl = fcntl(fd, F_GETFL);
            if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
                return -errno;
        }
        L.queued = 1;
    } else if (S_ISSOCK(sb.st_mode)) {
        /* A socket cannot be reopened; uv_poll sets it non-blocking anyway. */
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
            return -errno;
        L.queued = 1;
        L.sock = 1;
    }
    if (L.queued)
        L.buf = rtk_xmalloc(L.cap);
    L.open = 1;
    return 0;
}

int rtk_log_attach(uv_loop_t *loop)
{
    if (!L.open || !L.queued || L.attached)
        return 0;
    int rc = uv_poll_init(loop, &L.poll, L.fd);
    if (rc != 0)
        return rc;
    uv_unref((uv_handle_t *)&L.poll);
    L.attached = 1;
    L.sync_stalled = 0;
    if (L.off < L.len) {
        uv_poll_start(&L.poll, UV_WRITABLE, on_writable);
        L.polling = 1;
    }
    return 0;
}

void rtk_log_detach(void)
{
    if (!L.attached)
        return;
    if (L.polling)
        uv_poll_stop(&L.poll);
    uv_close((uv_handle_t *)&L.poll, NULL);
    L.attached = L.polling = 0;
}

void rtk_log_close(int wait_ms)
{
    if (!L.open)
        return;
    if (L.queued && !L.broken) {
        if (L.unreported > 0 && L.off == L.len)
            enqueue_note();
        sync_flush(wait_ms);
    }
    free(L.buf);
    if (L.own_fd)
        close(L.fd);
    rtk_log_stats keep = L.st;
    rtk_log_format fmt = L.fmt;
    memset(&L, 0, sizeof(L));
    L.st = keep;
    L.st.queue_bytes = 0;
    L.fmt = fmt;
}

void rtk_log_get_stats(rtk_log_stats *out)
{
    *out = L.st;
}

void rtk_log_set_format(rtk_log_format fmt)
{
    L.fmt = fmt;
}

rtk_log_format rtk_log_get_format(void)
{
    return L.fmt;
}
