/* SPDX-License-Identifier: MIT */
/* test_store_pg.c - the PostgreSQL backend against a real server the test starts itself
 * (tests/support/pgtmp.sh: initdb in a temporary folder, a free loopback port):
 *   - a batch's consecutive votes go as one statement (arrays, unnest): every text, however
 *     it is quoted or escaped, arrives as it was sent, NULL stays NULL, and a vote that was
 *     already stored is RTK_EEXIST while the others in the same statement are stored;
 *   - two batches in flight complete in the order they were sent, each on its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "store/rtk_store.h"
#include "util/rtk_err.h"

#ifndef RTK_SOURCE_DIR
#error "RTK_SOURCE_DIR must name the source tree (CMakeLists.txt defines it)"
#endif

static char pgdir[64];
static char url[256];

static int start_pg(void **state)
{
    (void)state;
    snprintf(pgdir, sizeof(pgdir), "/tmp/rtk-test-pg-XXXXXX");
    if (mkdtemp(pgdir) == NULL)
        return -1;
    char cmd[512];
    /* pgtmp.sh makes the folder itself, owned by the postgres user. */
    snprintf(cmd, sizeof(cmd), "rmdir %s && %s/tests/support/pgtmp.sh start %s", pgdir,
             RTK_SOURCE_DIR, pgdir);
    FILE *f = popen(cmd, "r");
    if (f == NULL || fgets(url, sizeof(url) - 16, f) == NULL) {
        if (f != NULL)
            pclose(f);
        return -1;
    }
    if (pclose(f) != 0)
        return -1;
    url[strcspn(url, "\n")] = '\0';
    snprintf(cmd, sizeof(cmd), "%s/tests/support/pgtmp.sh createdb %s t", RTK_SOURCE_DIR, pgdir);
    if (system(cmd) != 0)
        return -1;
    strcat(url, "t");
    return 0;
}

static int stop_pg(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s/tests/support/pgtmp.sh stop %s", RTK_SOURCE_DIR, pgdir);
    return system(cmd) == 0 ? 0 : -1;
}

typedef struct fixture {
    uv_loop_t loop;
    rtk_store *st;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    rtk_store_config cfg = {.url = url, .quiet = 1};
    assert_int_equal(rtk_store_open(&fx->loop, &cfg, &fx->st), 0);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    rtk_store_close(fx->st);
    uv_run(&fx->loop, UV_RUN_NOWAIT);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    free(fx);
    return 0;
}

typedef struct seen {
    int called;
    int status;
    int order; /* when it was called, among all callbacks */
} seen;

static int calls;

static void on_status(void *arg, int status, const rtk_store_res *res)
{
    seen *s = arg;
    (void)res;
    s->called++;
    s->status = status;
    s->order = ++calls;
}

/* Runs the loop (and the loop turn) until |n| callbacks of |s| ran, at most 10 s. */
static void wait_for(fixture *fx, seen *s, int n)
{
    for (int i = 0; i < 10000; i++) {
        int done = 0;
        for (int k = 0; k < n; k++)
            done += s[k].called;
        if (done == n)
            return;
        rtk_store_turn(fx->st);
        uv_run(&fx->loop, UV_RUN_NOWAIT);
        if (i > 0)
            uv_sleep(1);
    }
    fail_msg("the store did not answer within 10 s");
}

#define SESSION "5e55104e-0000-4000-8000-000000000001"
#define POLL "9011a000-0000-4000-8000-000000000001"

static void make_poll(fixture *fx, const char *session_id, const char *poll_id)
{
    rtk_store_session s = {.started_ms = 1, .updated_ms = 1, .seen_ms = 1};
    snprintf(s.id, sizeof(s.id), "%s", session_id);
    snprintf(s.meeting_id, sizeof(s.meeting_id), "m");
    snprintf(s.app_id, sizeof(s.app_id), "a");
    rtk_store_poll p = {.id = poll_id,
                        .session_id = session_id,
                        .question = "Q?",
                        .options_json = "[\"a\",\"b\",\"c\"]",
                        .created_ms = 2};
    seen w[2] = {{0}};
    rtk_store_session_put(fx->st, &s, 1, on_status, &w[0]);
    rtk_store_poll_create(fx->st, &p, on_status, &w[1]);
    wait_for(fx, w, 2);
    assert_int_equal(w[0].status, 0);
    assert_int_equal(w[1].status, 0);
}

static const char *const names[] = {
    "He said \"hi\" \\ back", NULL, "{braces}, commas; and \\\"both\\\"", "Zoë 🎉 NULL", "", "\\",
};
#define NNAMES (sizeof(names) / sizeof(names[0]))

static void votes_of_a_batch_go_as_one_statement_and_keep_every_byte(void **state)
{
    fixture *fx = *state;
    make_poll(fx, SESSION, POLL);
    /* One vote stored alone first: the same participant again later is a duplicate. */
    seen first = {0};
    rtk_store_vote(fx->st, POLL, "p-dup", 2, "Dee", 3, on_status, &first);
    wait_for(fx, &first, 1);
    assert_int_equal(first.status, 0);

    seen w[NNAMES + 1];
    memset(w, 0, sizeof(w));
    for (size_t i = 0; i < NNAMES; i++) {
        char pid[16];
        snprintf(pid, sizeof(pid), "p-%zu", i);
        rtk_store_vote(fx->st, POLL, pid, (int)(i % 3), names[i], 10 + (int64_t)i, on_status,
                       &w[i]);
    }
    rtk_store_vote(fx->st, POLL, "p-dup", 0, "Dee again", 99, on_status, &w[NNAMES]);
    wait_for(fx, w, NNAMES + 1);
    for (size_t i = 0; i < NNAMES; i++)
        assert_int_equal(w[i].status, 0);
    assert_int_equal(w[NNAMES].status, RTK_EEXIST);

    rtk_store_kept k = {0};
    rtk_store_polls_load(fx->st, SESSION, rtk_store_keep, &k);
    assert_int_equal(rtk_store_wait(fx->st), 0);
    assert_true(k.done);
    assert_int_equal(k.status, 0);
    const rtk_store_set *v = &k.res.sets[1];
    assert_int_equal(v->nrows, NNAMES + 1);
    for (size_t i = 0; i < NNAMES; i++) {
        char pid[16];
        snprintf(pid, sizeof(pid), "p-%zu", i);
        size_t row = 0;
        while (row < v->nrows && strcmp(rtk_store_text(v, row, 1, NULL), pid) != 0)
            row++;
        assert_true(row < v->nrows);
        assert_int_equal(rtk_store_int(v, row, 2), (int64_t)(i % 3));
        if (names[i] == NULL) {
            assert_true(rtk_store_is_null(v, row, 3));
        } else {
            assert_false(rtk_store_is_null(v, row, 3));
            assert_string_equal(rtk_store_text(v, row, 3, NULL), names[i]);
        }
    }
    rtk_store_kept_free(&k);
}

/* Batch after batch while the first is still in flight: each completes, in order. */
static void batches_in_flight_complete_in_order(void **state)
{
    fixture *fx = *state;
    make_poll(fx, "5e55104e-0000-4000-8000-000000000002", "9011a000-0000-4000-8000-000000000002");
    enum { N = 6 };
    seen w[N];
    memset(w, 0, sizeof(w));
    calls = 0;
    for (int i = 0; i < N; i++) {
        char pid[16];
        snprintf(pid, sizeof(pid), "q-%d", i);
        rtk_store_vote(fx->st, "9011a000-0000-4000-8000-000000000002", pid, 0, "x", i, on_status,
                       &w[i]);
        rtk_store_turn(fx->st); /* each vote its own batch */
    }
    wait_for(fx, w, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(w[i].status, 0);
        assert_int_equal(w[i].order, i + 1);
    }
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(votes_of_a_batch_go_as_one_statement_and_keep_every_byte),
        T(batches_in_flight_complete_in_order),
    };
    return cmocka_run_group_tests(tests, start_pg, stop_pg);
}
