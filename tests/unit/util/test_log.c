/* SPDX-License-Identifier: MIT */
/* test_log.c - unit tests for util/rtk_log: a stalled reader costs lines, never a blocked
 * caller; lines stay whole; the dropped count is reported once the reader is back; JSON. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include <cmocka.h>

#include "util/rtk_log.h"

#define LINES 20000

/* Reads what is in the pipe now (non-blocking) and appends it to |acc|. */
static size_t read_some(int fd, char *acc, size_t at, size_t cap)
{
    for (;;) {
        ssize_t n = read(fd, acc + at, cap - at - 1);
        if (n <= 0)
            break;
        at += (size_t)n;
    }
    acc[at] = '\0';
    return at;
}

static void on_keep(uv_timer_t *t)
{
    (void)t;
}

static void stalled_reader_drops_and_reports(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(rtk_log_open(p[1], RTK_LOG_TEXT, 16 * 1024), 0);
    /* The descriptor handed in stays blocking: a reopened description carries O_NONBLOCK. */
    assert_int_equal(fcntl(p[1], F_GETFL) & O_NONBLOCK, 0);
    assert_int_equal(rtk_log_attach(&loop), 0);
    alarm(20); /* a blocking write would hang here: fail instead */
    for (int i = 0; i < LINES; i++) {
        rtk_log_access_rec r = {.ip = "127.0.0.1",
                                .method = "GET",
                                .path = "/healthz",
                                .status = 200,
                                .bytes = (size_t)i,
                                .ms = 0.5};
        rtk_log_access(&r);
    }
    alarm(0);
    rtk_log_stats st;
    rtk_log_get_stats(&st);
    assert_true(st.lines_dropped > 0);
    assert_int_equal(st.lines_written + st.lines_dropped, LINES);
    assert_true(st.queue_bytes > 0 && st.queue_bytes <= st.queue_cap);

    /* The reader is back: the loop drains the queue, then says how many were dropped. */
    size_t cap = 8 << 20, len = 0;
    char *acc = malloc(cap);
    assert_non_null(acc);
    acc[0] = '\0';
    /* The log's poll handle does not keep a loop alive; the server's listener does. */
    uv_timer_t keep;
    uv_timer_init(&loop, &keep);
    uv_timer_start(&keep, on_keep, 60000, 0);
    char want[128];
    snprintf(want, sizeof(want), "rtkd: log: %llu lines dropped",
             (unsigned long long)st.lines_dropped);
    for (int turns = 0; turns < 10000; turns++) {
        len = read_some(p[0], acc, len, cap);
        uv_run(&loop, UV_RUN_NOWAIT);
        len = read_some(p[0], acc, len, cap);
        if (strstr(acc, want) != NULL)
            break;
    }
    assert_non_null(strstr(acc, want));
    /* Every line read is whole. */
    size_t lines = 0;
    for (char *l = acc, *nl; (nl = strchr(l, '\n')) != NULL; l = nl + 1, lines++) {
        if (strncmp(l, "access ip=127.0.0.1 method=GET path=/healthz status=200 bytes=", 62) != 0 &&
            strncmp(l, "rtkd: log: ", 11) != 0)
            fail_msg("torn line: %.*s", (int)(nl - l), l);
    }
    assert_int_equal(lines, st.lines_written + 1);
    rtk_log_get_stats(&st);
    assert_int_equal(st.queue_bytes, 0);

    /* Later lines go straight through again. */
    rtk_log(RTK_LOG_INFO, "after %d", 1);
    len = read_some(p[0], acc, 0, cap);
    assert_string_equal(acc, "rtkd: after 1\n");

    rtk_log_detach();
    uv_close((uv_handle_t *)&keep, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    rtk_log_close(0);
    free(acc);
    close(p[0]);
    close(p[1]);
}

static void json_lines(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(rtk_log_open(p[1], RTK_LOG_JSON, 0), 0);
    rtk_log(RTK_LOG_ERROR, "a \"quoted\"\tword\\ %s\n", "x");
    rtk_log_access_rec r = {
        .ip = "::1", .method = "POST", .path = "/v1/ws", .status = 101, .bytes = 0, .ms = 1.25};
    rtk_log_access(&r);
    rtk_log_close(100);
    char buf[2048] = {0};
    assert_true(read(p[0], buf, sizeof(buf) - 1) > 0);
    char *second = strchr(buf, '\n');
    assert_non_null(second);
    *second++ = '\0';
    assert_non_null(strstr(buf, "{\"time\":\""));
    assert_non_null(
        strstr(buf, "\",\"level\":\"error\",\"msg\":\"a \\\"quoted\\\"\\u0009word\\\\ x\"}"));
    assert_non_null(strstr(second, "\"level\":\"info\",\"msg\":\"access\",\"ip\":\"::1\","
                                   "\"method\":\"POST\",\"path\":\"/v1/ws\",\"status\":101,"
                                   "\"bytes\":0,\"ms\":1.250}\n"));
    close(p[0]);
    close(p[1]);
}

static void reader_gone_drops(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(rtk_log_open(p[1], RTK_LOG_TEXT, 0), 0);
    rtk_log_stats before, after;
    rtk_log_get_stats(&before);
    close(p[0]);
    rtk_log(RTK_LOG_INFO, "nobody reads this");
    rtk_log(RTK_LOG_INFO, "nor this");
    rtk_log_get_stats(&after);
    assert_int_equal(after.lines_dropped - before.lines_dropped, 2);
    rtk_log_close(0);
    close(p[1]);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stalled_reader_drops_and_reports),
        cmocka_unit_test(json_lines),
        cmocka_unit_test(reader_gone_drops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
