/* SPDX-License-Identifier: MIT */
/* rtk_log.h - the server's log (stderr): text or JSON lines through a bounded queue that never
 * blocks the loop.
 *
 * A log reader that stops reading (a stuck journald, a log shipper, a parent busy elsewhere)
 * must not stop the server. When the log is a pipe, a socket or a terminal, lines are written
 * without blocking; what the reader does not take at once waits in a bounded queue (whole
 * lines only) that a uv_poll handle drains when the descriptor is writable again. A line that
 * does not fit is dropped and counted; once the queue has drained, one line says how many were
 * dropped. A regular file or /dev/null is written directly (a write there does not wait for a
 * reader). Design notes: docs/design.md, "Logging". */
#ifndef RTK_LOG_H
#define RTK_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef enum { RTK_LOG_TEXT = 0, RTK_LOG_JSON = 1 } rtk_log_format;
typedef enum { RTK_LOG_INFO = 0, RTK_LOG_WARN = 1, RTK_LOG_ERROR = 2 } rtk_log_level;

/* The log's counters, served at /metrics (rtkd_log_*). Plain integers written only by the loop
 * thread; keeping them costs no allocation. */
typedef struct rtk_log_stats {
    uint64_t lines_written; /* lines accepted (written or queued) */
    uint64_t lines_dropped; /* rtkd_log_lines_dropped_total: queue full or reader gone */
    uint64_t queue_bytes;   /* bytes waiting for the reader now */
    uint64_t queue_cap;     /* the queue's capacity in bytes */
} rtk_log_stats;

/* One line of the access log; every string borrowed and already safe to print (no quote,
 * backslash, control or non-ASCII byte: the caller escapes the path). */
typedef struct rtk_log_access_rec {
    const char *ip;
    const char *method;
    const char *path;
    int status;
    size_t bytes;
    double ms;
} rtk_log_access_rec;

/* Makes descriptor |fd| (normally 2) the log, in |fmt|, with a queue of |queue_cap| bytes
 * (0: the default, 256 KiB). For a pipe or a terminal, a new open file description of the same
 * object is opened non-blocking (/proc/self/fd/N), so that fd |fd| itself, which the parent
 * may share, stays as it was; for a socket fd |fd| is used and set non-blocking (so is every
 * descriptor sharing its description: journald's stdout). Call once, before the loop runs;
 * until then, and without it, lines go to stderr as they are. Returns 0,
 * or a negative errno (the log then stays on plain stderr). Not thread-safe. */
int rtk_log_open(int fd, rtk_log_format fmt, size_t queue_cap);

/* Starts draining the queue on |loop| (an unreferenced uv_poll handle: it never keeps the loop
 * alive). Without it lines are written at once, waiting at most a short bounded time for a
 * stalled reader (start-up and shutdown). Returns 0 or a negative UV_* code. Loop thread. */
int rtk_log_attach(uv_loop_t *loop);

/* Stops using the loop: closes the poll handle (its close callback runs in the loop); later
 * lines are written at once as before rtk_log_attach. Accepts being called when not attached.
 * Loop thread. */
void rtk_log_detach(void);

/* Writes what is still queued, waiting at most |wait_ms| for a stalled reader, and frees the
 * queue; later lines go to stderr as they are. Call after rtk_log_detach and after the loop
 * has run the close callback. */
void rtk_log_close(int wait_ms);

/* Logs one message line: text "rtkd: MSG", JSON {"time","level","msg"}. |fmt| is printf's;
 * the message is cut at 1000 bytes. Never blocks the loop. Loop thread (or the only thread). */
void rtk_log(rtk_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Logs one access line: text "access ip=… method=… path=… status=… bytes=… ms=…", JSON
 * {"time","level":"info","msg":"access","ip",…}. Never blocks the loop. Loop thread. */
void rtk_log_access(const rtk_log_access_rec *rec);

/* Copies the counters into *|out|. */
void rtk_log_get_stats(rtk_log_stats *out);

/* Sets the format of the lines written before rtk_log_open (start-up). */
void rtk_log_set_format(rtk_log_format fmt);

/* The format in use (RTK_LOG_TEXT unless set). */
rtk_log_format rtk_log_get_format(void);

#endif
