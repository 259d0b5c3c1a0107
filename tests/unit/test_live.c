/* SPDX-License-Identifier: MIT */
/* test_live.c - the session state machine, kicks, heartbeat and flood control, driven through
 * a recording transport, a real SQLite store in a temporary folder and a real libuv loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "live/rtk_live.h"
#include "net/rtk_ws.h"
#include "store/rtk_db.h"
#include "util/rtk_err.h"
#include "util/rtk_time.h"

/* ---- a transport that records what live sends ---- */

typedef struct fake_conn {
    int closed;
    uint16_t code;
    int fail_sends; /* 1: every send fails (a slow consumer) */
    int nframes;
    char types[64][24]; /* "type" of each JSON frame, "(ping)" for pings */
    json_t *last;       /* last JSON message */
} fake_conn;

static int fake_send(void *conn, rtk_frame *f)
{
    fake_conn *c = conn;
    assert_false(c->closed); /* live never sends to a connection it closed */
    if (c->fail_sends)
        return -1;
    size_t hlen = (f->data[1] & 0x7f) == 126 ? 4 : (f->data[1] & 0x7f) == 127 ? 10 : 2;
    int i = c->nframes < 64 ? c->nframes : 63;
    if ((f->data[0] & 0x0f) == RTK_WS_OP_PING) {
        snprintf(c->types[i], sizeof(c->types[i]), "(ping)");
    } else {
        json_t *m = json_loadb((const char *)f->data + hlen, f->len - hlen, 0, NULL);
        assert_non_null(m);
        snprintf(c->types[i], sizeof(c->types[i]), "%s",
                 json_string_value(json_object_get(m, "type")));
        json_decref(c->last);
        c->last = m;
    }
    c->nframes++;
    return 0;
}

static void fake_close(void *conn, uint16_t code, const char *reason)
{
    fake_conn *c = conn;
    (void)reason;
    assert_false(c->closed);
    c->closed = 1;
    c->code = code;
}

static const rtk_live_transport fake = {.send = fake_send, .close = fake_close};

static int count_type(const fake_conn *c, const char *type)
{
    int n = 0;
    for (int i = 0; i < c->nframes && i < 64; i++)
        n += strcmp(c->types[i], type) == 0;
    return n;
}

/* ---- fixture ---- */

typedef struct fixture {
    char dir[64];
    uv_loop_t loop;
    rtk_db *db;
    rtk_live *live;
    rtk_live_config cfg;
    fake_conn c[4]; /* outlive each test: teardown's shutdown closes them */
} fixture;

#define APP "14a396e7-ca44-4937-bf1f-050a69118543"
#define MTG "182bd5e5-6e1a-4fe4-a799-aa6d9a6ab26e"
#define P1 "00000000-0000-4000-8000-000000000001"
#define P2 "00000000-0000-4000-8000-000000000002"
#define P3 "00000000-0000-4000-8000-000000000003"

static void open_live(fixture *fx)
{
    assert_int_equal(rtk_live_new(&fx->loop, fx->db, &fx->cfg, &fake, &fx->live), 0);
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/rtk-test-live-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    assert_int_equal(rtk_db_open(fx->dir, 0, &fx->db), 0);
    fx->cfg.heartbeat_ms = 60000;
    fx->cfg.tick_ms = 10;
    fx->cfg.update_min_ms = 1;
    open_live(fx);
    *state = fx;
    return 0;
}

static void on_shutdown(void *arg)
{
    *(int *)arg = 1;
}

static void close_live(fixture *fx)
{
    int done = 0;
    rtk_live_shutdown(fx->live, on_shutdown, &done);
    while (!done)
        uv_run(&fx->loop, UV_RUN_ONCE);
    rtk_live_free(fx->live);
    fx->live = NULL;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    if (fx->live != NULL)
        close_live(fx);
    for (int i = 0; i < 4; i++)
        json_decref(fx->c[i].last);
    rtk_db_close(fx->db);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

static rtk_peer *join(fixture *fx, const char *participant, int64_t keep_alive_s, fake_conn *c)
{
    rtk_join_info ji = {
        .app_id = APP,
        .meeting_id = MTG,
        .title = "Standup",
        .keep_alive_s = keep_alive_s,
        .participant_id = participant,
        .custom_id = participant + 30,
        .name = "Ann",
        .preset_name = "group_call_host",
    };
    return rtk_live_join(fx->live, &ji, c);
}

static json_t *session(fixture *fx)
{
    return rtk_live_session_json(fx->live, MTG);
}

static int64_t jint(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static void run_for(fixture *fx, int ms)
{
    int64_t end = rtk_time_now_ms() + ms;
    while (rtk_time_now_ms() < end)
        uv_run(&fx->loop, UV_RUN_NOWAIT), usleep(1000);
}

static void release(fake_conn *c, int n)
{
    (void)c;
    (void)n; /* the teardown releases every connection's last message */
}

/* ---- tests ---- */

static void first_join_starts_session_and_counts(void **state)
{
    fixture *fx = *state;
    fake_conn *c = fx->c;
    assert_null(session(fx));
    rtk_peer *a = join(fx, P1, 60, &c[0]);
    assert_non_null(a);
    assert_string_equal(c[0].types[0], "hello");
    json_t *hs = json_object_get(c[0].last, "session");
    assert_string_equal(json_string_value(json_object_get(hs, "status")), "LIVE");
    assert_int_equal(jint(hs, "live_participants"), 1);

    json_t *s = session(fx);
    const char *id = json_string_value(json_object_get(s, "id"));
    char sid[37];
    snprintf(sid, sizeof(sid), "%s", id);
    assert_string_equal(json_string_value(json_object_get(s, "associated_id")), MTG);
    assert_string_equal(json_string_value(json_object_get(s, "organization_id")), APP);
    assert_string_equal(json_string_value(json_object_get(s, "meeting_display_name")), "Standup");
    json_decref(s);

    rtk_peer *b = join(fx, P2, 60, &c[1]);
    join(fx, P3, 60, &c[2]);
    s = session(fx);
    assert_int_equal(jint(s, "live_participants"), 3);
    assert_int_equal(jint(s, "max_concurrent_participants"), 3);
    assert_string_equal(json_string_value(json_object_get(s, "id")), sid);
    json_decref(s);

    rtk_live_leave(fx->live, b);
    rtk_live_leave(fx->live, a);
    s = session(fx);
    assert_int_equal(jint(s, "live_participants"), 1);
    assert_int_equal(jint(s, "max_concurrent_participants"), 3);
    json_decref(s);

    /* Coalesced session.updated reaches the remaining peer. */
    run_for(fx, 50);
    assert_true(count_type(&c[2], "session.updated") >= 1);
    assert_int_equal(jint(json_object_get(c[2].last, "session"), "live_participants"), 1);
    release(c, 3);
}

static void minutes_grow_with_time(void **state)
{
    fixture *fx = *state;
    fake_conn *c = fx->c;
    join(fx, P1, 60, &c[0]);
    join(fx, P2, 60, &c[1]);
    usleep(120 * 1000);
    json_t *s = session(fx);
    double m = json_real_value(json_object_get(s, "minutes_consumed"));
    /* Two peers for at least 120 ms: at least 0.004 minutes, and not absurdly more. */
    assert_true(m >= 2 * 0.12 / 60.0);
    assert_true(m < 2 * 5.0 / 60.0);
    json_decref(s);
    release(c, 2);
}

static void replace_closes_old_with_4002_and_never_counts_both(void **state)
{
    fixture *fx = *state;
    fake_conn *c = fx->c;
    join(fx, P1, 0, &c[0]);
    assert_non_null(join(fx, P1, 0, &c[1]));
    assert_true(c[0].closed);
    assert_int_equal(c[0].code, 4002);
    json_t *s = session(fx);
    assert_non_null(s); /* keep-alive 0, yet the swap did not end the session */
    assert_int_equal(jint(s, "live_participants"), 1);
    assert_int_equal(jint(s, "max_concurrent_participants"), 1);
    json_decref(s);
    assert_int_equal(rtk_live_peer_count(fx->live), 1);
    release(c, 2);
}

static void keep_alive_zero_ends_at_last_leave(void **state)
{
    fixture *fx = *state;
    fake_conn *c1 = fx->c;
    rtk_peer *p = join(fx, P1, 0, c1);
    rtk_live_leave(fx->live, p);
    assert_null(session(fx));
    release(c1, 1);
}

static void keep_alive_window_continues_then_ends(void **state)
{
    fixture *fx = *state;
    fake_conn *c = fx->c;
    rtk_peer *p = join(fx, P1, 1, &c[0]);
    json_t *s = session(fx);
    char sid[37];
    snprintf(sid, sizeof(sid), "%s", json_string_value(json_object_get(s, "id")));
    json_decref(s);
    rtk_live_leave(fx->live, p);
    s = session(fx);
    assert_non_null(s);
    assert_int_equal(jint(s, "live_participants"), 0);
    json_decref(s);
    /* A join inside the window continues the same session. */
    p = join(fx, P2, 1, &c[1]);
    s = session(fx);
    assert_string_equal(json_string_value(json_object_get(s, "id")), sid);
    json_decref(s);
    rtk_live_leave(fx->live, p);
    run_for(fx, 700);
    assert_non_null((s = session(fx)));
    json_decref(s);
    run_for(fx, 600); /* past 1 s: ended, within a tick */
    assert_null(session(fx));

    /* The stored session is ENDED with an ended_at. */
    rtk_db_session *rows = NULL;
    size_t n = 0;
    int64_t total = 0;
    rtk_page page = {0, 10};
    assert_int_equal(rtk_db_session_list(fx->db, APP, "ENDED", MTG, page, &rows, &n, &total), 0);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].id, sid);
    assert_true(rows[0].ended_ms >= rows[0].started_ms);
    rtk_db_sessions_free(rows, n);
    release(c, 2);
}

static void kick_blocks_rejoin_live_or_not(void **state)
{
    fixture *fx = *state;
    fake_conn *c = fx->c;
    join(fx, P1, 60, &c[0]);
    join(fx, P2, 60, &c[1]);
    const char *ids[] = {P1, P3}; /* P3 is a participant that is not live */
    int was_live[2];
    assert_int_equal(rtk_live_kick(fx->live, MTG, ids, 2, was_live), 0);
    assert_int_equal(was_live[0], 1);
    assert_int_equal(was_live[1], 0);
    assert_true(c[0].closed);
    assert_int_equal(c[0].code, 4001);
    assert_string_equal(json_string_value(json_object_get(c[0].last, "type")), "kicked");
    assert_string_equal(json_string_value(json_object_get(c[0].last, "reason")), "kicked");
    assert_false(c[1].closed);
    assert_int_equal(rtk_live_may_join(fx->live, MTG, P1), RTK_EAUTH);
    assert_int_equal(rtk_live_may_join(fx->live, MTG, P3), RTK_EAUTH);
    assert_int_equal(rtk_live_may_join(fx->live, MTG, P2), 0);
    release(c, 2);
}

static void kick_all_ends_session_and_next_session_admits(void **state)
{
    fixture *fx = *state;
    fake_conn *c = fx->c;
    join(fx, P1, 60, &c[0]);
    join(fx, P2, 60, &c[1]);
    const char *ids[] = {P1};
    int was_live[1];
    assert_int_equal(rtk_live_kick(fx->live, MTG, ids, 1, was_live), 0);
    int64_t count = -1;
    assert_int_equal(rtk_live_kick_all(fx->live, MTG, &count), 0);
    assert_int_equal(count, 1);
    assert_int_equal(c[1].code, 4001);
    assert_string_equal(json_string_value(json_object_get(c[1].last, "reason")), "kick_all");
    assert_null(session(fx));
    assert_int_equal(rtk_live_kick_all(fx->live, MTG, &count), RTK_ENOTFOUND);
    assert_int_equal(rtk_live_kick(fx->live, MTG, ids, 1, was_live), RTK_ENOTFOUND);
    /* The kicked participant may join the next session. */
    assert_int_equal(rtk_live_may_join(fx->live, MTG, P1), 0);
    assert_non_null(join(fx, P1, 60, &c[2]));
    release(c, 3);
}

static void kick_all_in_empty_keep_alive_window(void **state)
{
    fixture *fx = *state;
    fake_conn *c1 = fx->c;
    rtk_peer *p = join(fx, P1, 60, c1);
    rtk_live_leave(fx->live, p);
    int64_t count = -1;
    assert_int_equal(rtk_live_kick_all(fx->live, MTG, &count), 0);
    assert_int_equal(count, 0);
    assert_null(session(fx));
    release(c1, 1);
}

static void participant_deleted_closes_4003(void **state)
{
    fixture *fx = *state;
    fake_conn *c1 = fx->c;
    join(fx, P1, 60, c1);
    rtk_live_participant_deleted(fx->live, P1);
    assert_true(c1->closed);
    assert_int_equal(c1->code, 4003);
    rtk_live_participant_deleted(fx->live, P1); /* nothing left to close */
    release(c1, 1);
}

static void silent_peer_dropped_by_heartbeat(void **state)
{
    fixture *fx = *state;
    close_live(fx);
    fx->cfg.heartbeat_ms = 60;
    open_live(fx);
    fake_conn *c = fx->c;
    join(fx, P1, 60, &c[0]);
    rtk_peer *talker = join(fx, P2, 60, &c[1]);
    int64_t end = rtk_time_now_ms() + 400;
    while (rtk_time_now_ms() < end) {
        rtk_live_heard(fx->live, talker); /* P2 keeps answering */
        uv_run(&fx->loop, UV_RUN_NOWAIT);
        usleep(2000);
    }
    assert_true(c[0].closed);
    assert_int_equal(c[0].code, 1001);
    assert_true(count_type(&c[0], "(ping)") >= 1);
    assert_false(c[1].closed);
    json_t *s = session(fx);
    assert_int_equal(jint(s, "live_participants"), 1);
    json_decref(s);
    release(c, 2);
}

static void slow_consumer_closed_1008(void **state)
{
    fixture *fx = *state;
    fake_conn *c = fx->c;
    join(fx, P1, 60, &c[0]);
    join(fx, P2, 60, &c[1]);
    c[1].fail_sends = 1;
    run_for(fx, 30); /* a session.updated goes out to both */
    assert_true(c[1].closed);
    assert_int_equal(c[1].code, 1008);
    assert_false(c[0].closed);
    release(c, 2);
}

static void flood_gets_rate_limited_then_closed(void **state)
{
    fixture *fx = *state;
    fake_conn *c1 = fx->c;
    rtk_peer *p = join(fx, P1, 60, c1);
    const char ping[] = "{\"type\":\"ping\",\"ref\":\"r\"}";
    int i, limited = 0, rc = 0;
    for (i = 0; i < 1000 && rc == 0; i++) {
        rc = rtk_live_message(fx->live, p, ping, sizeof(ping) - 1);
        if (rc == 0 && strcmp(json_string_value(json_object_get(c1->last, "type")), "error") == 0)
            limited++;
    }
    assert_int_equal(rc, -1);
    assert_true(c1->closed);
    assert_int_equal(c1->code, 1008);
    assert_true(limited >= 90);
    assert_true(i >= 200 && i <= 215); /* 100 burst + ~100 refused (plus a few refills) */
    release(c1, 1);
}

static void messages_get_errors_and_pong(void **state)
{
    fixture *fx = *state;
    fake_conn *c1 = fx->c;
    rtk_peer *p = join(fx, P1, 60, c1);
    static const struct {
        const char *msg;
        const char *type;
        const char *code;
    } cases[] = {
        {"{\"type\":\"ping\",\"ref\":\"abc\"}", "pong", NULL},
        {"not json", "error", "invalid_json"},
        {"[1,2]", "error", "invalid_json"},
        {"{\"ref\":\"x\"}", "error", "invalid_message"},
        {"{\"type\":7}", "error", "invalid_message"},
        {"{\"type\":\"dance\",\"ref\":\"q\"}", "error", "unknown_type"},
        {"{\"type\":\"ping\",\"ref\":5}", "error", "invalid_message"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(rtk_live_message(fx->live, p, cases[i].msg, strlen(cases[i].msg)), 0);
        assert_string_equal(json_string_value(json_object_get(c1->last, "type")), cases[i].type);
        if (cases[i].code)
            assert_string_equal(json_string_value(json_object_get(c1->last, "code")),
                                cases[i].code);
    }
    rtk_live_message(fx->live, p, cases[0].msg, strlen(cases[0].msg));
    assert_string_equal(json_string_value(json_object_get(c1->last, "ref")), "abc");
    rtk_live_message(fx->live, p, cases[5].msg, strlen(cases[5].msg));
    assert_string_equal(json_string_value(json_object_get(c1->last, "ref")), "q");
    release(c1, 1);
}

static void live_session_survives_restart(void **state)
{
    fixture *fx = *state;
    fake_conn *c = fx->c;
    join(fx, P1, 60, &c[0]);
    join(fx, P2, 60, &c[1]);
    const char *ids[] = {P2};
    int was_live[1];
    rtk_live_kick(fx->live, MTG, ids, 1, was_live);
    rtk_db_flush(fx->db);
    usleep(20 * 1000); /* give the peers connected time to count */
    json_t *s = session(fx);
    char sid[37];
    snprintf(sid, sizeof(sid), "%s", json_string_value(json_object_get(s, "id")));
    json_decref(s);

    close_live(fx); /* peers closed 1001, session stays LIVE */
    assert_int_equal(c[0].code, 1001);
    open_live(fx);
    s = session(fx);
    assert_non_null(s);
    assert_string_equal(json_string_value(json_object_get(s, "id")), sid);
    assert_int_equal(jint(s, "live_participants"), 0);
    assert_int_equal(jint(s, "max_concurrent_participants"), 2);
    assert_true(json_real_value(json_object_get(s, "minutes_consumed")) > 0);
    json_decref(s);
    /* The kick survived too; the other participant continues the same session. */
    assert_int_equal(rtk_live_may_join(fx->live, MTG, P2), RTK_EAUTH);
    join(fx, P1, 60, &c[2]);
    s = session(fx);
    assert_string_equal(json_string_value(json_object_get(s, "id")), sid);
    json_decref(s);
    release(c, 3);
}

static void fast_reply_matches_json_object(void **state)
{
    fixture *fx = *state;
    fake_conn *c = fx->c;
    rtk_join_info ji = {
        .app_id = APP,
        .meeting_id = MTG,
        .title = "Stand\"up\\ \x01 caf\xc3\xa9 \xf0\x9f\x98\x80",
        .keep_alive_s = 60,
        .participant_id = P1,
        .custom_id = "c",
        .name = "Ann",
        .preset_name = "p",
    };
    char buf[4096];
    assert_int_equal(rtk_live_session_reply(fx->live, MTG, buf, sizeof(buf)), 0); /* none */
    assert_non_null(rtk_live_join(fx->live, &ji, &c[0]));
    int n = rtk_live_session_reply(fx->live, MTG, buf, sizeof(buf));
    assert_true(n > 0);
    json_error_t err;
    json_t *fast = json_loadb(buf, (size_t)n, 0, &err);
    assert_non_null(fast);
    json_t *slow = session(fx);
    json_t *data = json_object_get(fast, "data");
    assert_true(json_is_true(json_object_get(fast, "success")));
    double a = json_real_value(json_object_get(data, "minutes_consumed"));
    double b = json_real_value(json_object_get(slow, "minutes_consumed"));
    assert_true(a >= 0 && b >= a && b - a < 0.01);
    json_object_del(data, "minutes_consumed");
    json_object_del(slow, "minutes_consumed");
    assert_true(json_equal(data, slow));
    json_decref(fast);
    json_decref(slow);
    assert_int_equal(rtk_live_session_reply(fx->live, MTG, buf, 100), -1); /* too small */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(first_join_starts_session_and_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(minutes_grow_with_time, setup, teardown),
        cmocka_unit_test_setup_teardown(replace_closes_old_with_4002_and_never_counts_both,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(keep_alive_zero_ends_at_last_leave, setup, teardown),
        cmocka_unit_test_setup_teardown(keep_alive_window_continues_then_ends, setup, teardown),
        cmocka_unit_test_setup_teardown(kick_blocks_rejoin_live_or_not, setup, teardown),
        cmocka_unit_test_setup_teardown(kick_all_ends_session_and_next_session_admits, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(kick_all_in_empty_keep_alive_window, setup, teardown),
        cmocka_unit_test_setup_teardown(participant_deleted_closes_4003, setup, teardown),
        cmocka_unit_test_setup_teardown(silent_peer_dropped_by_heartbeat, setup, teardown),
        cmocka_unit_test_setup_teardown(slow_consumer_closed_1008, setup, teardown),
        cmocka_unit_test_setup_teardown(flood_gets_rate_limited_then_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(messages_get_errors_and_pong, setup, teardown),
        cmocka_unit_test_setup_teardown(live_session_survives_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(fast_reply_matches_json_object, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
