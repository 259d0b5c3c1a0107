/* SPDX-License-Identifier: MIT */
/* test_persist.c - live's events as store writes, against the real SQLite backend: a live
 * session's row is written once per loop turn with its latest counters however many joins and
 * leaves the turn had, its start and end at once, and nothing held back is lost at a turn's end.
 * A trigger of the test's own counts the session row's updates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "live/rtk_live.h"
#include "persist/rtk_persist.h"
#include "store/rtk_store.h"

/* ---- a transport that accepts everything ---- */

static int ok_send(void *conn, rtk_live_msg *msg, const char *ref, size_t ref_len)
{
    (void)conn;
    (void)msg;
    (void)ref;
    (void)ref_len;
    return 0;
}

static void ok_release(rtk_live_msg *msg)
{
    (void)msg;
}

static void ok_close(void *conn, int why)
{
    (void)conn;
    (void)why;
}

static const rtk_live_transport accept_all = {
    .send = ok_send, .release = ok_release, .close = ok_close};

typedef struct fixture {
    char dir[64];
    uv_loop_t loop;
    rtk_store *st;
    rtk_live *live;
    rtk_persist *persist;
    sqlite3 *db; /* the test's own connection: setup and checks */
    int conns[64];
} fixture;

#define APP "14a396e7-ca44-4937-bf1f-050a69118543"
#define MTG "182bd5e5-6e1a-4fe4-a799-aa6d9a6ab26e"

static void sql(fixture *fx, const char *text)
{
    char *err = NULL;
    if (sqlite3_exec(fx->db, text, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", text, err);
}

static int64_t one_int(fixture *fx, const char *text)
{
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(fx->db, text, -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/rtk-test-persist-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    char url[128];
    snprintf(url, sizeof(url), "sqlite:%s", fx->dir);
    rtk_store_config cfg = {.url = url, .quiet = 1};
    assert_int_equal(rtk_store_open(&fx->loop, &cfg, &fx->st), 0);
    char path[128];
    snprintf(path, sizeof(path), "%s/rtkd.db", fx->dir);
    assert_int_equal(sqlite3_open(path, &fx->db), SQLITE_OK);
    sqlite3_busy_timeout(fx->db, 2000);
    sql(fx, "CREATE TABLE test_updates(n INTEGER NOT NULL); INSERT INTO test_updates VALUES(0);"
            "CREATE TRIGGER test_count AFTER UPDATE ON sessions"
            " BEGIN UPDATE test_updates SET n = n + 1; END;");
    rtk_live_config lcfg = {.heartbeat_ms = 60000, .msg_rate = -1};
    assert_int_equal(rtk_live_new(&fx->loop, &lcfg, &accept_all, &fx->live), 0);
    fx->persist = rtk_persist_new(fx->st, fx->live);
    *state = fx;
    return 0;
}

static void on_stopped(void *arg)
{
    *(int *)arg = 1;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    int done = 0;
    rtk_live_shutdown(fx->live, on_stopped, &done);
    while (!done)
        uv_run(&fx->loop, UV_RUN_ONCE);
    rtk_persist_turn(fx->persist);
    rtk_store_close(fx->st);
    rtk_persist_free(fx->persist);
    rtk_live_free(fx->live);
    sqlite3_close(fx->db);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

/* The loop-turn owner's order (server/rtk_server.c). */
static void turn(fixture *fx)
{
    rtk_persist_turn(fx->persist);
    rtk_store_turn(fx->st);
    rtk_live_turn_end(fx->live);
}

static rtk_peer *join(fixture *fx, int i, int64_t keep_alive_s)
{
    char pid[37];
    snprintf(pid, sizeof(pid), "00000000-0000-4000-8000-%012d", i);
    rtk_join_info ji = {
        .app_id = APP,
        .meeting_id = MTG,
        .title = "Standup",
        .keep_alive_s = keep_alive_s,
        .participant_id = pid,
        .custom_id = pid + 24,
        .name = "Ann",
        .preset_name = "group_call_participant",
    };
    return rtk_live_join(fx->live, &ji, &fx->conns[i]);
}

static void joins_of_one_turn_write_the_session_row_once(void **state)
{
    fixture *fx = *state;
    rtk_peer *peers[50];
    for (int i = 0; i < 50; i++)
        assert_non_null(peers[i] = join(fx, i, 60));
    turn(fx);
    assert_int_equal(one_int(fx, "SELECT count(*) FROM session_peers"), 50);
    assert_int_equal(one_int(fx, "SELECT peak FROM sessions"), 50);
    /* The start is an insert; the 49 other joins changed the counters: one update. */
    assert_int_equal(one_int(fx, "SELECT n FROM test_updates"), 1);

    for (int i = 0; i < 20; i++)
        rtk_live_leave(fx->live, peers[i]);
    turn(fx);
    assert_int_equal(one_int(fx, "SELECT n FROM test_updates"), 2);
    assert_int_equal(one_int(fx, "SELECT count(*) FROM session_peers WHERE left_at IS NULL"), 30);
    assert_true(one_int(fx, "SELECT closed_ms FROM sessions") >= 0);
    assert_int_equal(one_int(fx, "SELECT status='LIVE' FROM sessions"), 1);

    /* A turn with nothing new writes nothing. */
    turn(fx);
    assert_int_equal(one_int(fx, "SELECT n FROM test_updates"), 2);
}

/* Joins, leaves and the end in one turn: the end is written at once and no update held back
 * from earlier in the turn follows it. */
static void an_end_in_the_same_turn_is_the_last_word(void **state)
{
    fixture *fx = *state;
    rtk_peer *a = join(fx, 1, 0), *b = join(fx, 2, 0);
    rtk_live_leave(fx->live, a);
    rtk_live_leave(fx->live, b); /* keep-alive 0: the session ends with the last leave */
    turn(fx);
    assert_int_equal(one_int(fx, "SELECT status='ENDED' FROM sessions"), 1);
    assert_int_equal(one_int(fx, "SELECT peak FROM sessions"), 2);
    assert_int_equal(one_int(fx, "SELECT ended_at IS NOT NULL FROM sessions"), 1);
    assert_int_equal(one_int(fx, "SELECT count(*) FROM session_peers WHERE left_at IS NULL"), 0);
    /* Only the end updated the row (the counters of the leave before it were not written). */
    assert_int_equal(one_int(fx, "SELECT n FROM test_updates"), 1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(joins_of_one_turn_write_the_session_row_once),
        T(an_end_in_the_same_turn_is_the_last_word),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
