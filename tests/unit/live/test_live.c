/* SPDX-License-Identifier: MIT */
/* test_live.c - the session state machine, kicks, polls and votes, heartbeat and flood
 * control, driven through a recording transport and a fake durable subscriber whose
 * completions the test decides (committed, or lost), on a real libuv loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "live/rtk_live.h"
#include "util/rtk_err.h"
#include "util/rtk_time.h"

/* ---- a transport that records what live sends ---- */

#define MAXMSG 256

typedef struct fake_msg {
    int type;
    int my_vote;
    char code[32];
    char reason[16];
    char ref[72];
    int has_ref;
    int64_t live; /* session messages: live_participants */
    int nvotes;   /* poll messages: the poll's votes when the message was rendered */
    int waiting_state, list, accept;
    int npeers, nwaiting, nleft, nvoters, nids, npolls;
    char first_id[40]; /* done: the first participant id */
} fake_msg;

typedef struct fake_conn {
    int closed;
    int why;
    int fail_sends; /* 1: every send fails (a slow consumer) */
    int answered;   /* pings answered so far (run_answering) */
    int n;
    fake_msg m[MAXMSG];
} fake_conn;

/* Like the channel, the fake "renders" a message on its first send into msg->cache (here: the
 * poll's vote count at that moment) and reuses that for every later send of it. */
typedef struct fake_render {
    int nvotes;
} fake_render;
static int renders;

static int fake_send(void *conn, rtk_live_msg *msg, const char *ref, size_t ref_len)
{
    fake_conn *c = conn;
    if (msg->cache == NULL) {
        fake_render *r = calloc(1, sizeof(*r));
        r->nvotes = msg->poll != NULL ? (int)msg->poll->nvotes : -1;
        msg->cache = r;
        renders++;
    }
    assert_false(c->closed); /* live never sends to a connection it closed */
    if (c->fail_sends)
        return RTK_ETOOBIG;
    fake_msg *m = &c->m[c->n < MAXMSG ? c->n : MAXMSG - 1];
    memset(m, 0, sizeof(*m));
    m->type = msg->type;
    m->my_vote = msg->my_vote;
    if (msg->code)
        snprintf(m->code, sizeof(m->code), "%s", msg->code);
    if (msg->reason)
        snprintf(m->reason, sizeof(m->reason), "%s", msg->reason);
    if (ref) {
        m->has_ref = 1;
        snprintf(m->ref, sizeof(m->ref), "%.*s", (int)ref_len, ref);
    }
    if (msg->session)
        m->live = msg->session->live;
    m->nvotes = ((fake_render *)msg->cache)->nvotes;
    m->waiting_state = msg->waiting_state;
    m->list = msg->list;
    m->accept = msg->accept;
    m->npeers = (int)msg->npeers;
    m->nwaiting = (int)msg->nwaiting;
    m->nleft = (int)msg->nleft;
    m->nvoters = (int)msg->nvoters;
    m->nids = (int)msg->nids;
    m->npolls = (int)msg->npolls;
    if (msg->nids)
        snprintf(m->first_id, sizeof(m->first_id), "%s", msg->ids[0]);
    c->n++;
    return 0;
}

static void fake_release(rtk_live_msg *msg)
{
    free(msg->cache);
    msg->cache = NULL;
}

static void fake_close(void *conn, int why)
{
    fake_conn *c = conn;
    assert_false(c->closed);
    c->closed = 1;
    c->why = why;
}

static const rtk_live_transport fake = {
    .send = fake_send, .release = fake_release, .close = fake_close};

static int count_type(const fake_conn *c, int type)
{
    int n = 0;
    for (int i = 0; i < c->n && i < MAXMSG; i++)
        n += c->m[i].type == type;
    return n;
}

static const fake_msg *last(const fake_conn *c)
{
    assert_true(c->n > 0);
    return &c->m[(c->n < MAXMSG ? c->n : MAXMSG) - 1];
}

/* ---- a durable subscriber whose commits the test decides ---- */

#define MAXEV 256

typedef struct pending_done {
    void (*done)(void *arg, int status);
    void *arg;
    int type;
} pending_done;

typedef struct fake_sink {
    int nev;
    int types[MAXEV];
    int reasons[MAXEV];
    int npending;
    pending_done pending[256];
} fake_sink;

static void on_event(void *arg, const rtk_live_event *ev)
{
    fake_sink *s = arg;
    if (s->nev < MAXEV) {
        s->types[s->nev] = ev->type;
        s->reasons[s->nev] = ev->reason;
    }
    s->nev++;
    if (ev->done != NULL) {
        assert_true(s->npending < 256);
        s->pending[s->npending++] = (pending_done){ev->done, ev->done_arg, ev->type};
    }
}

static int count_ev(const fake_sink *s, int type)
{
    int n = 0;
    for (int i = 0; i < s->nev && i < MAXEV; i++)
        n += s->types[i] == type;
    return n;
}

/* Completes every event live waits for with |status|, in order (as a store would, after its
 * commit or its failure). Returns how many. */
static int settle(fake_sink *s, int status)
{
    int n = 0;
    while (s->npending > 0) {
        pending_done p = s->pending[0];
        memmove(&s->pending[0], &s->pending[1], (size_t)(s->npending - 1) * sizeof(p));
        s->npending--;
        p.done(p.arg, status);
        n++;
    }
    return n;
}

/* Completes only the oldest event live waits for. */
static void settle_one(fake_sink *s, int status)
{
    assert_true(s->npending > 0);
    pending_done p = s->pending[0];
    memmove(&s->pending[0], &s->pending[1], (size_t)(s->npending - 1) * sizeof(p));
    s->npending--;
    p.done(p.arg, status);
}

/* ---- fixture ---- */

typedef struct fixture {
    uv_loop_t loop;
    rtk_live *live;
    rtk_live_config cfg;
    fake_sink sink;
    fake_conn c[4]; /* outlive each test: teardown's shutdown closes them */
} fixture;

#define APP "14a396e7-ca44-4937-bf1f-050a69118543"
#define MTG "182bd5e5-6e1a-4fe4-a799-aa6d9a6ab26e"
#define P1 "00000000-0000-4000-8000-000000000001"
#define P2 "00000000-0000-4000-8000-000000000002"
#define P3 "00000000-0000-4000-8000-000000000003"
#define P4 "00000000-0000-4000-8000-000000000004"

static void open_live(fixture *fx)
{
    assert_int_equal(rtk_live_new(&fx->loop, &fx->cfg, &fake, &fx->live), 0);
    rtk_live_subscribe(fx->live, on_event, &fx->sink, 1);
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    assert_int_equal(uv_loop_init(&fx->loop), 0);
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
    settle(&fx->sink, 0);
    rtk_live_free(fx->live);
    fx->live = NULL;
}

/* Starts live again with fx->cfg as the test has set it. */
static void reopen_live(fixture *fx)
{
    close_live(fx);
    open_live(fx);
}

static int teardown(void **state)
{
    fixture *fx = *state;
    if (fx->live != NULL)
        close_live(fx);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    free(fx);
    return 0;
}

/* Joins |participant| with the default preset |preset|'s permissions. */
static rtk_peer *join_preset(fixture *fx, const char *participant, const char *name,
                             const char *preset, int64_t keep_alive_s, fake_conn *c)
{
    rtk_join_info ji = {
        .app_id = APP,
        .meeting_id = MTG,
        .title = "Standup",
        .keep_alive_s = keep_alive_s,
        .participant_id = participant,
        .custom_id = participant + 30,
        .name = name,
        .preset_name = preset,
        .permissions = rtk_preset_default_permissions(preset),
    };
    ji.permissions_len = strlen(ji.permissions);
    assert_int_equal(rtk_perms_from_json(ji.permissions, ji.permissions_len, &ji.perms), 0);
    return rtk_live_join(fx->live, &ji, c);
}

static rtk_peer *join_as(fixture *fx, const char *participant, const char *name,
                         int64_t keep_alive_s, fake_conn *c)
{
    return join_preset(fx, participant, name, "group_call_host", keep_alive_s, c);
}

static rtk_peer *join(fixture *fx, const char *participant, int64_t keep_alive_s, fake_conn *c)
{
    return join_as(fx, participant, "Ann", keep_alive_s, c);
}

static int has_session(fixture *fx, rtk_session_view *v)
{
    rtk_session_view tmp;
    return rtk_live_session(fx->live, MTG, v ? v : &tmp) == 0;
}

static void run_for(fixture *fx, int ms)
{
    int64_t end = rtk_time_now_ms() + ms;
    while (rtk_time_now_ms() < end) {
        uv_run(&fx->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
}

/* ---- sessions ---- */

static void first_join_starts_session_and_counts(void **state)
{
    fixture *fx = *state;
    fake_conn *c = fx->c;
    assert_false(has_session(fx, NULL));
    rtk_peer *a = join(fx, P1, 60, &c[0]);
    assert_non_null(a);
    assert_int_equal(c[0].m[0].type, RTK_MSG_HELLO);
    assert_int_equal(c[0].m[0].live, 1);
    assert_int_equal(fx->sink.types[0], RTK_LIVE_EV_SESSION_STARTED);
    assert_int_equal(fx->sink.types[1], RTK_LIVE_EV_JOINED);

    rtk_session_view v;
    assert_true(has_session(fx, &v));
    char sid[37];
    snprintf(sid, sizeof(sid), "%s", v.id);
    assert_string_equal(v.meeting_id, MTG);
    assert_string_equal(v.app_id, APP);
    assert_string_equal(v.title, "Standup");

    rtk_peer *b = join(fx, P2, 60, &c[1]);
    join(fx, P3, 60, &c[2]);
    assert_true(has_session(fx, &v));
    assert_int_equal(v.live, 3);
    assert_int_equal(v.peak, 3);
    assert_string_equal(v.id, sid);
    assert_int_equal(count_ev(&fx->sink, RTK_LIVE_EV_SESSION_STARTED), 1);

    rtk_live_leave(fx->live, b);
    rtk_live_leave(fx->live, a);
    assert_true(has_session(fx, &v));
    assert_int_equal(v.live, 1);
    assert_int_equal(v.peak, 3);
    assert_int_equal(count_ev(&fx->sink, RTK_LIVE_EV_LEFT), 2);

    /* Coalesced session.updated reaches the remaining peer. */
    run_for(fx, 50);
    assert_true(count_type(&c[2], RTK_MSG_SESSION_UPDATED) >= 1);
    assert_int_equal(last(&c[2])->live, 1);
}

static void minutes_grow_with_time(void **state)
{
    fixture *fx = *state;
    join(fx, P1, 60, &fx->c[0]);
    join(fx, P2, 60, &fx->c[1]);
    usleep(120 * 1000);
    rtk_session_view v;
    assert_true(has_session(fx, &v));
    /* Two peers for at least 120 ms: at least 0.004 minutes, and not absurdly more. */
    assert_true(v.minutes >= 2 * 0.12 / 60.0);
    assert_true(v.minutes < 2 * 5.0 / 60.0);
}

static void replace_closes_old_with_4002_and_never_counts_both(void **state)
{
    fixture *fx = *state;
    fake_conn *c = fx->c;
    join(fx, P1, 0, &c[0]);
    assert_non_null(join(fx, P1, 0, &c[1]));
    assert_true(c[0].closed);
    assert_int_equal(c[0].why, RTK_LIVE_REPLACED);
    rtk_session_view v;
    assert_true(has_session(fx, &v)); /* keep-alive 0, yet the swap did not end the session */
    assert_int_equal(v.live, 1);
    assert_int_equal(v.peak, 1);
    assert_int_equal(rtk_live_peer_count(fx->live), 1);
}

static void keep_alive_zero_ends_at_last_leave(void **state)
{
    fixture *fx = *state;
    rtk_peer *p = join(fx, P1, 0, &fx->c[0]);
    rtk_live_leave(fx->live, p);
    assert_false(has_session(fx, NULL));
    assert_int_equal(fx->sink.types[fx->sink.nev - 1], RTK_LIVE_EV_SESSION_ENDED);
    assert_int_equal(fx->sink.reasons[fx->sink.nev - 1], RTK_LIVE_END_EMPTY);
}

static void keep_alive_window_continues_then_ends(void **state)
{
    fixture *fx = *state;
    fake_conn *c = fx->c;
    rtk_peer *p = join(fx, P1, 1, &c[0]);
    rtk_session_view v;
    assert_true(has_session(fx, &v));
    char sid[37];
    snprintf(sid, sizeof(sid), "%s", v.id);
    rtk_live_leave(fx->live, p);
    assert_true(has_session(fx, &v));
    assert_int_equal(v.live, 0);
    /* A join inside the window continues the same session. */
    p = join(fx, P2, 1, &c[1]);
    assert_true(has_session(fx, &v));
    assert_string_equal(v.id, sid);
    rtk_live_leave(fx->live, p);
    run_for(fx, 700);
    assert_true(has_session(fx, NULL));
    run_for(fx, 600); /* past 1 s: ended, within a tick */
    assert_false(has_session(fx, NULL));
    assert_int_equal(count_ev(&fx->sink, RTK_LIVE_EV_SESSION_ENDED), 1);
    assert_int_equal(fx->sink.reasons[fx->sink.nev - 1], RTK_LIVE_END_KEEPALIVE);
}

/* ---- kicks: nothing happens before the store says it is committed ---- */

typedef struct kick_result {
    int called;
    int status;
    int was_live[4];
    int64_t count;
} kick_result;

static void on_kick(void *arg, int status, const int *was_live)
{
    kick_result *r = arg;
    r->called++;
    r->status = status;
    for (int i = 0; was_live != NULL && i < 2; i++)
        r->was_live[i] = was_live[i];
}

static void on_count(void *arg, int status, int64_t count)
{
    kick_result *r = arg;
    r->called++;
    r->status = status;
    r->count = count;
}

static void kick_waits_for_the_store_then_blocks_rejoin(void **state)
{
    fixture *fx = *state;
    fake_conn *c = fx->c;
    join(fx, P1, 60, &c[0]);
    join(fx, P2, 60, &c[1]);
    const char *ids[] = {P1, P3}; /* P3 is a participant that is not live */
    kick_result r = {0};
    assert_int_equal(rtk_live_kick(fx->live, MTG, ids, 2, on_kick, &r), 0);
    assert_int_equal(count_ev(&fx->sink, RTK_LIVE_EV_KICK), 2);
    /* Not stored yet: nobody is closed, nobody is barred. */
    assert_int_equal(r.called, 0);
    assert_false(c[0].closed);
    assert_int_equal(rtk_live_may_join(fx->live, MTG, P1), 0);
    assert_int_equal(settle(&fx->sink, 0), 1);
    assert_int_equal(r.called, 1);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.was_live[0], 1);
    assert_int_equal(r.was_live[1], 0);
    assert_true(c[0].closed);
    assert_int_equal(c[0].why, RTK_LIVE_KICKED);
    assert_int_equal(last(&c[0])->type, RTK_MSG_KICKED);
    assert_string_equal(last(&c[0])->reason, "kicked");
    assert_false(c[1].closed);
    assert_int_equal(rtk_live_may_join(fx->live, MTG, P1), RTK_EAUTH);
    assert_int_equal(rtk_live_may_join(fx->live, MTG, P3), RTK_EAUTH);
    assert_int_equal(rtk_live_may_join(fx->live, MTG, P2), 0);
}

static void kick_refused_by_the_store_does_nothing(void **state)
{
    fixture *fx = *state;
    fake_conn *c = fx->c;
    join(fx, P1, 60, &c[0]);
    const char *ids[] = {P1};
    kick_result r = {0};
    assert_int_equal(rtk_live_kick(fx->live, MTG, ids, 1, on_kick, &r), 0);
    settle(&fx->sink, RTK_EUNAVAIL);
    assert_int_equal(r.called, 1);
    assert_int_equal(r.status, RTK_EUNAVAIL);
    assert_false(c[0].closed);
    assert_int_equal(rtk_live_may_join(fx->live, MTG, P1), 0);
    rtk_session_view v;
    assert_true(has_session(fx, &v));
    assert_int_equal(v.live, 1);
}

static void kick_all_waits_for_the_store_then_ends(void **state)
{
    fixture *fx = *state;
    fake_conn *c = fx->c;
    join(fx, P1, 60, &c[0]);
    join(fx, P2, 60, &c[1]);
    kick_result r = {0};
    int before = fx->sink.nev;
    assert_int_equal(rtk_live_kick_all(fx->live, MTG, on_count, &r), 0);
    assert_int_equal(count_ev(&fx->sink, RTK_LIVE_EV_SESSION_ENDED), 1);
    /* Each live peer is told as leaving, kicked, just before the end that records them. */
    assert_true(fx->sink.nev >= before + 3); /* and the barrier the end waits on */
    for (int i = before; i < before + 2; i++) {
        assert_int_equal(fx->sink.types[i], RTK_LIVE_EV_LEFT_IN_BULK);
        assert_int_equal(fx->sink.reasons[i], RTK_LIVE_KICKED);
    }
    assert_int_equal(fx->sink.types[before + 2], RTK_LIVE_EV_SESSION_ENDED);
    /* Ending: nothing closed yet; joins wait; a second kick-all or kick is refused. */
    assert_false(c[0].closed);
    assert_int_equal(rtk_live_may_join(fx->live, MTG, P3), RTK_EBUSY);
    assert_int_equal(rtk_live_kick_all(fx->live, MTG, on_count, &r), RTK_EBUSY);
    const char *ids[] = {P1};
    assert_int_equal(rtk_live_kick(fx->live, MTG, ids, 1, on_kick, &r), RTK_EBUSY);
    settle(&fx->sink, 0);
    assert_int_equal(r.called, 1);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.count, 2);
    for (int i = 0; i < 2; i++) {
        assert_true(c[i].closed);
        assert_int_equal(c[i].why, RTK_LIVE_KICKED);
        assert_string_equal(last(&c[i])->reason, "kick_all");
    }
    assert_false(has_session(fx, NULL));
    assert_int_equal(rtk_live_kick_all(fx->live, MTG, on_count, &r), RTK_ENOTFOUND);
    /* The kicked participants may join the next session. */
    assert_int_equal(rtk_live_may_join(fx->live, MTG, P1), 0);
    assert_non_null(join(fx, P1, 60, &c[2]));
}

static void kick_all_refused_by_the_store_goes_on(void **state)
{
    fixture *fx = *state;
    fake_conn *c = fx->c;
    rtk_peer *a = join(fx, P1, 60, &c[0]);
    join(fx, P2, 60, &c[1]);
    rtk_session_view v;
    assert_true(has_session(fx, &v));
    char sid[37];
    snprintf(sid, sizeof(sid), "%s", v.id);
    kick_result r = {0};
    assert_int_equal(rtk_live_kick_all(fx->live, MTG, on_count, &r), 0);
    int left_before = count_ev(&fx->sink, RTK_LIVE_EV_LEFT);
    rtk_live_leave(fx->live, a); /* leaves while the end waits: held back */
    assert_int_equal(count_ev(&fx->sink, RTK_LIVE_EV_LEFT), left_before);
    settle(&fx->sink, RTK_EUNAVAIL);
    assert_int_equal(r.status, RTK_EUNAVAIL);
    assert_false(c[1].closed);
    assert_true(has_session(fx, &v));
    assert_string_equal(v.id, sid);
    assert_int_equal(v.live, 1);
    assert_int_equal(rtk_live_may_join(fx->live, MTG, P3), 0);
    /* The held-back leave is recorded now. */
    assert_int_equal(count_ev(&fx->sink, RTK_LIVE_EV_LEFT), left_before + 1);
}

static void shutdown_tells_each_peer_then_peers_left(void **state)
{
    fixture *fx = *state;
    join(fx, P1, 60, &fx->c[0]);
    join(fx, P2, 60, &fx->c[1]);
    int before = fx->sink.nev;
    close_live(fx);
    assert_int_equal(count_ev(&fx->sink, RTK_LIVE_EV_LEFT_IN_BULK), 2);
    int i = before;
    while (i < fx->sink.nev && fx->sink.types[i] != RTK_LIVE_EV_LEFT_IN_BULK)
        i++;
    assert_true(i + 2 < fx->sink.nev);
    assert_int_equal(fx->sink.types[i], RTK_LIVE_EV_LEFT_IN_BULK);
    assert_int_equal(fx->sink.reasons[i], RTK_LIVE_SHUTDOWN);
    assert_int_equal(fx->sink.types[i + 1], RTK_LIVE_EV_LEFT_IN_BULK);
    assert_int_equal(fx->sink.types[i + 2], RTK_LIVE_EV_PEERS_LEFT);
    assert_int_equal(count_ev(&fx->sink, RTK_LIVE_EV_LEFT), 0);
}

static void kick_all_in_empty_keep_alive_window(void **state)
{
    fixture *fx = *state;
    rtk_peer *p = join(fx, P1, 60, &fx->c[0]);
    rtk_live_leave(fx->live, p);
    kick_result r = {0};
    assert_int_equal(rtk_live_kick_all(fx->live, MTG, on_count, &r), 0);
    settle(&fx->sink, 0);
    assert_int_equal(r.count, 0);
    assert_false(has_session(fx, NULL));
}

static void participant_deleted_closes_4003(void **state)
{
    fixture *fx = *state;
    join(fx, P1, 60, &fx->c[0]);
    rtk_live_participant_deleted(fx->live, P1);
    assert_true(fx->c[0].closed);
    assert_int_equal(fx->c[0].why, RTK_LIVE_REMOVED);
    rtk_live_participant_deleted(fx->live, P1); /* nothing left to close */
}

/* ---- liveness and flood control ---- */

static void silent_peer_dropped_by_heartbeat(void **state)
{
    fixture *fx = *state;
    fx->cfg.heartbeat_ms = 60;
    reopen_live(fx);
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
    assert_int_equal(c[0].why, RTK_LIVE_TIMEOUT);
    assert_true(count_type(&c[0], RTK_MSG_PING) >= 1);
    assert_false(c[1].closed);
    rtk_session_view v;
    assert_true(has_session(fx, &v));
    assert_int_equal(v.live, 1);
}

/* The pings of one interval are spread over it: 4 peers and 6 ticks per interval (60 ms,
 * 10 ms ticks) make about one ping per tick, never all four at once, and every peer still
 * gets one per interval. */
static void heartbeat_spreads_the_pings(void **state)
{
    fixture *fx = *state;
    fx->cfg.heartbeat_ms = 60;
    reopen_live(fx);
    fake_conn *c = fx->c;
    const char *who[4] = {P1, P2, P3, P4};
    rtk_peer *p[4];
    for (int i = 0; i < 4; i++)
        p[i] = join(fx, who[i], 60, &c[i]);
    int seen = 0, most = 0;
    int64_t end = rtk_time_now_ms() + 400;
    while (rtk_time_now_ms() < end) {
        for (int i = 0; i < 4; i++)
            rtk_live_heard(fx->live, p[i]);
        uv_run(&fx->loop, UV_RUN_NOWAIT); /* at most one tick is due per 2 ms step */
        int now = 0;
        for (int i = 0; i < 4; i++)
            now += count_type(&c[i], RTK_MSG_PING);
        if (now - seen > most)
            most = now - seen;
        seen = now;
        usleep(2000);
    }
    assert_true(most >= 1 && most <= 2); /* a late tick may catch up one more */
    for (int i = 0; i < 4; i++) {
        assert_false(c[i].closed);
        assert_true(count_type(&c[i], RTK_MSG_PING) >= 3); /* about 5 intervals after the first */
    }
}

/* Peers that join in the middle of a sweep and answer every ping are never dropped, even when
 * the ticks come late and unevenly (a busy loop): a sweep follows the clock, not the count of
 * its ticks, and no peer is judged before it has been pinged. A silent one still goes, two
 * intervals or more after it was last heard. */
static void heartbeat_keeps_answering_peers_of_a_busy_loop(void **state)
{
    fixture *fx = *state;
    fx->cfg.heartbeat_ms = 60;
    reopen_live(fx);
    fake_conn *c = fx->c;
    const char *who[4] = {P1, P2, P3, P4};
    const int64_t join_after[4] = {0, 25, 45, 70}; /* ms; P4 never answers */
    const int naps[5] = {2000, 27000, 3000, 33000, 31000}; /* µs: ticks up to 3 late */
    rtk_peer *p[4] = {0};
    int answered[4] = {0};
    int64_t joined[4] = {0}, gone_at = 0;
    int64_t t0 = rtk_time_now_ms(), end = t0 + 700;
    for (int step = 0; rtk_time_now_ms() < end; step++) {
        int64_t now = rtk_time_now_ms();
        for (int i = 0; i < 4; i++) {
            if (p[i] == NULL && now - t0 >= join_after[i]) {
                p[i] = join(fx, who[i], 60, &c[i]);
                joined[i] = rtk_time_now_ms();
            }
            int pings = p[i] ? count_type(&c[i], RTK_MSG_PING) : 0;
            if (i < 3 && pings > answered[i]) { /* the pong of each new ping */
                answered[i] = pings;
                rtk_live_heard(fx->live, p[i]);
            }
        }
        uv_run(&fx->loop, UV_RUN_NOWAIT);
        if (gone_at == 0 && c[3].closed)
            gone_at = rtk_time_now_ms();
        usleep((useconds_t)naps[step % 5]);
    }
    for (int i = 0; i < 3; i++) {
        assert_false(c[i].closed);
        assert_true(count_type(&c[i], RTK_MSG_PING) >= 4);
    }
    assert_true(c[3].closed);
    assert_int_equal(c[3].why, RTK_LIVE_TIMEOUT);
    assert_true(gone_at - joined[3] >= 120);
}

/* Steps the loop for |ms|, each peer of |p| answering each new ping at once. */
static void run_answering(fixture *fx, rtk_peer **p, int n, int ms)
{
    int64_t end = rtk_time_now_ms() + ms;
    while (rtk_time_now_ms() < end) {
        uv_run(&fx->loop, UV_RUN_NOWAIT);
        for (int i = 0; i < n; i++)
            if (p[i] != NULL && count_type(&fx->c[i], RTK_MSG_PING) > fx->c[i].answered) {
                fx->c[i].answered = count_type(&fx->c[i], RTK_MSG_PING);
                rtk_live_heard(fx->live, p[i]);
            }
        usleep(1000);
    }
}

/* A peer's place in the sweep moves when others join: P1, alone, is pinged at the start of
 * one sweep; three peers join, and in the next sweep (which a busy loop begins late) P1 is
 * the last one visited, more than two intervals after its first ping. It answered that ping,
 * so it stays: silence is counted from what the peer could answer. */
static void heartbeat_keeps_a_peer_whose_place_moved(void **state)
{
    fixture *fx = *state;
    fx->cfg.heartbeat_ms = 100;
    reopen_live(fx);
    fake_conn *c = fx->c;
    rtk_peer *p[4] = {join(fx, P1, 60, &c[0])};
    while (count_type(&c[0], RTK_MSG_PING) == 0)
        run_answering(fx, p, 1, 1);
    int64_t first = rtk_time_now_ms();
    p[1] = join(fx, P2, 60, &c[1]);
    p[2] = join(fx, P3, 60, &c[2]);
    p[3] = join(fx, P4, 60, &c[3]);
    run_answering(fx, p, 4, 95);
    usleep(50000); /* the tick that begins the next sweep comes 40 ms late */
    run_answering(fx, p, 4, 200);
    assert_true(count_type(&c[0], RTK_MSG_PING) >= 2);
    assert_false(c[0].closed);
    for (int i = 1; i < 4; i++)
        assert_false(c[i].closed);
    assert_true(rtk_time_now_ms() - first >= 300);
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
    assert_int_equal(c[1].why, RTK_LIVE_SLOW);
    assert_false(c[0].closed);
}

static void flood_gets_rate_limited_then_closed(void **state)
{
    fixture *fx = *state;
    fake_conn *c1 = fx->c;
    rtk_peer *p = join(fx, P1, 60, c1);
    int i, limited = 0, rc = 0;
    for (i = 0; i < 1000; i++) {
        rc = rtk_live_admit(fx->live, p);
        if (rc == RTK_ETOOBIG)
            break;
        if (rc == RTK_EAGAIN) {
            limited++;
            assert_string_equal(last(c1)->code, "rate_limited");
        } else {
            assert_int_equal(rc, 0);
        }
    }
    assert_int_equal(rc, RTK_ETOOBIG);
    assert_true(c1->closed);
    assert_int_equal(c1->why, RTK_LIVE_FLOOD);
    assert_true(limited >= 90);
    assert_true(i >= 199 && i <= 215); /* 100 burst + ~100 refused (plus a few refills) */
}

static void ping_pong_and_reject_echo_the_ref(void **state)
{
    fixture *fx = *state;
    fake_conn *c1 = fx->c;
    rtk_peer *p = join(fx, P1, 60, c1);
    rtk_live_ping(fx->live, p, "abc", 3);
    assert_int_equal(last(c1)->type, RTK_MSG_PONG);
    assert_true(last(c1)->has_ref);
    assert_string_equal(last(c1)->ref, "abc");
    rtk_live_ping(fx->live, p, NULL, 0);
    assert_false(last(c1)->has_ref);
    rtk_live_reject(fx->live, p, "unknown_type", "Unknown message type", "q", 1);
    assert_int_equal(last(c1)->type, RTK_MSG_ERROR);
    assert_string_equal(last(c1)->code, "unknown_type");
    assert_string_equal(last(c1)->ref, "q");
}

/* ---- polls and votes ---- */

typedef struct poll_result {
    int called;
    int status;
    char id[37];
} poll_result;

static void on_poll(void *arg, int status, const rtk_poll_view *poll)
{
    poll_result *r = arg;
    r->called++;
    r->status = status;
    if (poll != NULL)
        snprintf(r->id, sizeof(r->id), "%s", poll->id);
}

static void make_poll(fixture *fx, poll_result *r)
{
    const char *opts[] = {"yes", "no"};
    rtk_poll_spec spec = {.question = "Q?", .opts = opts, .nopts = 2};
    assert_int_equal(rtk_live_poll_create(fx->live, MTG, &spec, on_poll, r), 0);
}

static void poll_joins_the_session_once_stored(void **state)
{
    fixture *fx = *state;
    fake_conn *c = fx->c;
    join(fx, P1, 60, &c[0]);
    poll_result r = {0};
    make_poll(fx, &r);
    assert_int_equal(count_ev(&fx->sink, RTK_LIVE_EV_POLL_CREATED), 1);
    assert_int_equal(count_type(&c[0], RTK_MSG_POLL_CREATED), 0); /* not before the commit */
    const rtk_poll_view *pv;
    assert_int_equal(r.called, 0);
    settle(&fx->sink, 0);
    assert_int_equal(r.called, 1);
    assert_int_equal(r.status, 0);
    assert_int_equal(count_type(&c[0], RTK_MSG_POLL_CREATED), 1);
    assert_int_equal(rtk_live_poll(fx->live, MTG, r.id, &pv), 0);

    /* A refused poll is nowhere. */
    poll_result r2 = {0};
    make_poll(fx, &r2);
    settle(&fx->sink, RTK_EUNAVAIL);
    assert_int_equal(r2.status, RTK_EUNAVAIL);
    assert_int_equal(count_type(&c[0], RTK_MSG_POLL_CREATED), 1);
    int n = 0;
    for (size_t i = 0; i < 2; i++)
        n += rtk_live_poll(fx->live, MTG, i ? r.id : "nope", &pv) == 0;
    assert_int_equal(n, 1);
}

/* Hardening issue, item 3: a session holds at most RTK_LIVE_POLLS_MAX polls whose views take
 * at most RTK_LIVE_POLL_BYTES_MAX together, so its hello fits the per-peer limit; a refused
 * (not stored) poll gives its place back. */
static void a_session_holds_a_bounded_number_of_polls(void **state)
{
    fixture *fx = *state;
    join(fx, P1, 60, &fx->c[0]);
    const char *opts[] = {"a", "b"};
    rtk_poll_spec spec = {.question = "Q", .opts = opts, .nopts = 2, .view_bytes = 100};
    poll_result r = {0};
    for (int i = 0; i < RTK_LIVE_POLLS_MAX; i++)
        assert_int_equal(rtk_live_poll_create(fx->live, MTG, &spec, on_poll, &r), 0);
    assert_int_equal(rtk_live_poll_create(fx->live, MTG, &spec, on_poll, &r), RTK_ETOOBIG);
    settle(&fx->sink, RTK_EUNAVAIL); /* refused by the store: their places are free again */
    assert_int_equal(r.called, RTK_LIVE_POLLS_MAX);
    spec.view_bytes = RTK_LIVE_POLL_BYTES_MAX / 2;
    assert_int_equal(rtk_live_poll_create(fx->live, MTG, &spec, on_poll, &r), 0);
    assert_int_equal(rtk_live_poll_create(fx->live, MTG, &spec, on_poll, &r), 0);
    spec.view_bytes = 1;
    assert_int_equal(rtk_live_poll_create(fx->live, MTG, &spec, on_poll, &r), RTK_ETOOBIG);
    settle(&fx->sink, 0);
    assert_int_equal(rtk_live_poll_create(fx->live, MTG, &spec, on_poll, &r), RTK_ETOOBIG);
}

static void votes_are_answered_after_the_commit_and_taken_back_when_lost(void **state)
{
    fixture *fx = *state;
    fake_conn *c = fx->c;
    rtk_peer *a = join_as(fx, P1, "Ann", 60, &c[0]);
    rtk_peer *b = join_as(fx, P2, "Bob", 60, &c[1]);
    poll_result r = {0};
    make_poll(fx, &r);
    settle(&fx->sink, 0);
    const rtk_poll_view *pv;
    assert_int_equal(rtk_live_poll(fx->live, MTG, r.id, &pv), 0);

    /* A vote counts at once (a second one is already_voted), and is answered after its
     * commit. */
    rtk_live_vote(fx->live, a, r.id, 0, "v1", 2);
    assert_int_equal(pv->counts[0], 1);
    assert_int_equal(count_type(&c[0], RTK_MSG_POLL_VOTED), 0);
    rtk_live_vote(fx->live, a, r.id, 1, "v2", 2);
    assert_string_equal(last(&c[0])->code, "already_voted");
    settle(&fx->sink, 0);
    assert_int_equal(last(&c[0])->type, RTK_MSG_POLL_VOTED);
    assert_string_equal(last(&c[0])->ref, "v1");
    assert_int_equal(last(&c[0])->my_vote, 0);

    /* A lost vote is taken back and its voter told `unavailable`. */
    rtk_live_vote(fx->live, b, r.id, 1, "v3", 2);
    assert_int_equal(pv->counts[1], 1);
    settle(&fx->sink, RTK_EUNAVAIL);
    assert_int_equal(pv->counts[1], 0);
    assert_int_equal(pv->nvotes, 1);
    assert_string_equal(last(&c[1])->code, "unavailable");
    assert_string_equal(last(&c[1])->ref, "v3");

    /* A vote the store already had (another node's, in a cluster) is already_voted. */
    rtk_live_vote(fx->live, b, r.id, 1, NULL, 0);
    settle(&fx->sink, RTK_EEXIST);
    assert_int_equal(pv->counts[1], 0);
    assert_string_equal(last(&c[1])->code, "already_voted");

    /* Bad votes are answered at once and cost no write. */
    int before = fx->sink.nev;
    rtk_live_vote(fx->live, b, "no-such-poll", 0, NULL, 0);
    assert_string_equal(last(&c[1])->code, "poll_not_found");
    rtk_live_vote(fx->live, b, r.id, 7, NULL, 0);
    assert_string_equal(last(&c[1])->code, "invalid_option");
    rtk_live_vote(fx->live, b, r.id, -1, NULL, 0);
    assert_string_equal(last(&c[1])->code, "invalid_option");
    assert_int_equal(fx->sink.nev, before);
}

/* The voters of one commit share one rendering per option (a poll.voted is a whole viewer
 * view: rendering it per voter cost most of the vote benchmark's CPU), and a change of the
 * tallies between two replies of one loop turn is seen by the later one. */
static void voters_of_one_commit_share_a_rendering_of_the_current_tallies(void **state)
{
    fixture *fx = *state;
    fake_conn *c = fx->c;
    rtk_peer *a = join_as(fx, P1, "Ann", 60, &c[0]);
    rtk_peer *b = join_as(fx, P2, "Bob", 60, &c[1]);
    rtk_peer *cc = join_as(fx, P3, "Cy", 60, &c[2]);
    rtk_peer *d = join_as(fx, P4, "Di", 60, &c[3]);
    poll_result r = {0};
    make_poll(fx, &r);
    settle(&fx->sink, 0);
    rtk_live_turn_end(fx->live);

    rtk_live_vote(fx->live, a, r.id, 0, "a", 1);
    rtk_live_vote(fx->live, b, r.id, 0, "b", 1);
    int before = renders;
    settle(&fx->sink, 0);
    assert_int_equal(renders - before, 1);
    assert_int_equal(last(&c[0])->type, RTK_MSG_POLL_VOTED);
    assert_int_equal(last(&c[1])->type, RTK_MSG_POLL_VOTED);
    assert_string_equal(last(&c[0])->ref, "a");
    assert_string_equal(last(&c[1])->ref, "b");
    assert_int_equal(last(&c[0])->nvotes, 2);
    assert_int_equal(last(&c[1])->nvotes, 2);

    /* Same option, same turn, but a vote in between: the later reply shows it. */
    rtk_live_vote(fx->live, cc, r.id, 1, NULL, 0);
    settle_one(&fx->sink, 0);
    assert_int_equal(last(&c[2])->nvotes, 3);
    rtk_live_vote(fx->live, d, r.id, 1, NULL, 0);
    settle_one(&fx->sink, 0);
    assert_int_equal(last(&c[3])->type, RTK_MSG_POLL_VOTED);
    assert_int_equal(last(&c[3])->nvotes, 4);
    rtk_live_turn_end(fx->live);
}

static void vote_waiting_while_its_peer_leaves_is_not_answered(void **state)
{
    fixture *fx = *state;
    fake_conn *c = fx->c;
    rtk_peer *a = join(fx, P1, 0, &c[0]);
    poll_result r = {0};
    make_poll(fx, &r);
    settle(&fx->sink, 0);
    rtk_live_vote(fx->live, a, r.id, 0, NULL, 0);
    rtk_live_leave(fx->live, a); /* keep-alive 0: the session ends with it */
    assert_false(has_session(fx, NULL));
    int n = c[0].n;
    settle(&fx->sink, 0); /* no poll, no peer: nothing to answer, nothing to crash on */
    assert_int_equal(c[0].n, n);
}


/* ---- protocol 2: permissions, the waiting room, rosters, host actions, poll deltas ---- */

static const fake_msg *find_type(const fake_conn *c, int type)
{
    for (int i = c->n < MAXMSG ? c->n : MAXMSG; i-- > 0;)
        if (c->m[i].type == type)
            return &c->m[i];
    return NULL;
}

static void permissions_decide_what_a_peer_may_do(void **state)
{
    fixture *fx = *state;
    fake_conn *c = fx->c;
    rtk_peer *host = join_as(fx, P1, "Host", 60, &c[0]);
    rtk_peer *guest = join_preset(fx, P2, "Guest", "group_call_participant", 60, &c[1]);
    /* A participant may not create polls, kick or admit: forbidden, nothing written. */
    int before = fx->sink.nev;
    const char *opts[] = {"a", "b"};
    rtk_poll_spec spec = {.question = "Q", .opts = opts, .nopts = 2, .view_bytes = 100};
    rtk_live_host_poll(fx->live, guest, &spec, "p1", 2);
    assert_string_equal(last(&c[1])->code, "forbidden");
    assert_int_equal(rtk_live_may_kick(fx->live, guest, NULL, 0), 0);
    assert_string_equal(last(&c[1])->code, "forbidden");
    rtk_live_host_kick_all(fx->live, guest, NULL, 0);
    assert_string_equal(last(&c[1])->code, "forbidden");
    const char *ids[] = {P3};
    rtk_live_host_waiting(fx->live, guest, 1, ids, 1, NULL, 0);
    assert_string_equal(last(&c[1])->code, "forbidden");
    assert_int_equal(fx->sink.nev, before);
    /* A host may: its poll.created carries its ref, the guest's does not. */
    assert_int_equal(rtk_live_may_kick(fx->live, host, NULL, 0), 1);
    rtk_live_host_poll(fx->live, host, &spec, "p2", 2);
    assert_int_equal(count_type(&c[0], RTK_MSG_POLL_CREATED), 0); /* after the commit */
    settle(&fx->sink, 0);
    assert_string_equal(find_type(&c[0], RTK_MSG_POLL_CREATED)->ref, "p2");
    assert_int_equal(find_type(&c[1], RTK_MSG_POLL_CREATED)->has_ref, 0);
    /* A viewer without polls.can_view gets no poll events and no polls in its hello; without
     * polls.can_vote a vote is forbidden. */
    assert_non_null(join_preset(fx, P3, "V", "webinar_viewer", 60, &c[2])); /* waits */
    assert_int_equal(last(&c[2])->waiting_state, 1);
}

static void waiting_room_admits_refuses_and_closes_4004(void **state)
{
    fixture *fx = *state;
    fake_conn *c = fx->c;
    /* A waiting peer starts no session and is not counted. */
    rtk_peer *w = join_preset(fx, P2, "Wait", "webinar_viewer", 60, &c[1]);
    assert_non_null(w);
    assert_int_equal(last(&c[1])->type, RTK_MSG_HELLO);
    assert_int_equal(last(&c[1])->waiting_state, 1);
    assert_false(has_session(fx, NULL));
    assert_int_equal(count_ev(&fx->sink, RTK_LIVE_EV_JOINED), 0);
    /* It may only ping. */
    rtk_live_vote(fx->live, w, "x", 0, "r", 1);
    assert_string_equal(last(&c[1])->code, "forbidden");
    /* The host's hello lists it; a second waiting peer reaches the host in waiting.updated at
     * the end of the loop turn. */
    rtk_peer *host = join_as(fx, P1, "Host", 60, &c[0]);
    const fake_msg *hello = find_type(&c[0], RTK_MSG_HELLO);
    assert_true(hello->accept && hello->list);
    assert_int_equal(hello->nwaiting, 1);
    assert_int_equal(hello->npeers, 1); /* itself */
    rtk_peer *w2 = join_preset(fx, P3, "Wait2", "webinar_viewer", 60, &c[2]);
    assert_non_null(w2);
    assert_null(find_type(&c[0], RTK_MSG_WAITING_UPDATED));
    rtk_live_turn_end(fx->live);
    assert_int_equal(find_type(&c[0], RTK_MSG_WAITING_UPDATED)->nwaiting, 1);
    /* Admit one (and an id that is not waiting, ignored): admitted at once, counted; done
     * after the commit, listing the one admitted. */
    rtk_session_view v;
    const char *ids[] = {P2, P4};
    rtk_live_host_waiting(fx->live, host, 1, ids, 2, "a", 1);
    assert_int_equal(last(&c[1])->type, RTK_MSG_ADMITTED);
    assert_true(has_session(fx, &v));
    assert_int_equal(v.live, 2);
    assert_null(find_type(&c[0], RTK_MSG_DONE));
    settle(&fx->sink, 0);
    const fake_msg *done = find_type(&c[0], RTK_MSG_DONE);
    assert_int_equal(done->nids, 1);
    assert_string_equal(done->first_id, P2);
    /* Refuse the other: refused, 4004, and refused at the handshake for the session. */
    const char *ids2[] = {P3};
    rtk_live_host_waiting(fx->live, host, 0, ids2, 1, NULL, 0);
    assert_int_equal(last(&c[2])->type, RTK_MSG_REFUSED);
    assert_true(c[2].closed);
    assert_int_equal(c[2].why, RTK_LIVE_REFUSED);
    assert_int_equal(rtk_live_may_join(fx->live, MTG, P3), RTK_EEXIST);
    settle(&fx->sink, 0);
    /* A waiting peer is closed 4004 when the session ends. */
    memset(&c[3], 0, sizeof(c[3]));
    assert_non_null(join_preset(fx, P4, "W4", "webinar_viewer", 60, &c[3]));
    rtk_live_host_kick_all(fx->live, host, "k", 1);
    settle(&fx->sink, 0);
    assert_true(c[3].closed);
    assert_int_equal(c[3].why, RTK_LIVE_REFUSED);
    /* The host's done came before its kicked, and named both live participants. */
    int di = -1, ki = -1;
    for (int i = 0; i < c[0].n; i++) {
        if (c[0].m[i].type == RTK_MSG_DONE && c[0].m[i].has_ref)
            di = i;
        if (c[0].m[i].type == RTK_MSG_KICKED)
            ki = i;
    }
    assert_true(di >= 0 && ki > di);
    assert_int_equal(c[0].m[di].nids, 2);
    assert_false(has_session(fx, NULL));
}

static void rosters_list_changes_and_never_hidden_peers(void **state)
{
    fixture *fx = *state;
    fake_conn *c = fx->c;
    join_as(fx, P1, "Host", 60, &c[0]);
    /* A participant without the list permission gets no roster. */
    join_preset(fx, P2, "Guest", "group_call_participant", 60, &c[1]);
    assert_true(find_type(&c[1], RTK_MSG_HELLO)->list); /* group_call_participant lists */
    join_preset(fx, P3, "Viewer", "webinar_viewer", 60, &c[2]); /* waits */
    run_for(fx, 30);
    const fake_msg *u = find_type(&c[0], RTK_MSG_PARTICIPANTS_UPDATED);
    assert_non_null(u);
    assert_int_equal(u->npeers, 1); /* P2 (P1 was in its own hello; P3 is waiting) */
    /* A peer that joins and leaves between two rounds is in neither. */
    int before = count_type(&c[0], RTK_MSG_PARTICIPANTS_UPDATED);
    rtk_peer *p4 = join_preset(fx, P4, "Brief", "group_call_participant", 60, &c[3]);
    rtk_live_leave(fx->live, p4);
    run_for(fx, 30);
    assert_int_equal(count_type(&c[0], RTK_MSG_PARTICIPANTS_UPDATED), before);
}

static void poll_updated_carries_only_the_votes_since_the_last(void **state)
{
    fixture *fx = *state;
    fake_conn *c = fx->c;
    rtk_peer *a = join_as(fx, P1, "Ann", 60, &c[0]);
    rtk_peer *b = join_as(fx, P2, "Bob", 60, &c[1]);
    poll_result r = {0};
    make_poll(fx, &r);
    settle(&fx->sink, 0);
    rtk_live_vote(fx->live, a, r.id, 0, NULL, 0);
    settle(&fx->sink, 0);
    run_for(fx, 20);
    const fake_msg *u = find_type(&c[1], RTK_MSG_POLL_UPDATED);
    assert_non_null(u);
    assert_int_equal(u->nvoters, 1);
    run_for(fx, 600); /* the next may come 500 ms later */
    rtk_live_vote(fx->live, b, r.id, 1, NULL, 0);
    settle(&fx->sink, 0);
    run_for(fx, 20);
    u = find_type(&c[0], RTK_MSG_POLL_UPDATED);
    assert_int_equal(u->nvoters, 1); /* Bob's only: Ann's was in the previous one */
    assert_int_equal(u->nvotes, 2);
}

/* A meeting's session.updated is spaced by its audience: here 100 ms per live peer (the
 * default is 100 µs: 1.5 s at 15,000 peers), so with 3-4 live peers and a peer coming and
 * going every 20 ms, two updates are 300 ms or more apart, where update_min_ms alone (1 ms in
 * these tests) would send one every tick. */
static void large_audience_spaces_session_updated(void **state)
{
    fixture *fx = *state;
    fx->cfg.audience_gap_us = 100000;
    reopen_live(fx);
    fake_conn *c = fx->c;
    join(fx, P1, 60, &c[0]);
    join(fx, P2, 60, &c[1]);
    join(fx, P3, 60, &c[2]);
    run_for(fx, 500);
    int seen = count_type(&c[0], RTK_MSG_SESSION_UPDATED), updates = 0;
    int64_t last = 0, least = INT64_MAX, end = rtk_time_now_ms() + 1500;
    rtk_peer *p4 = NULL;
    for (int step = 0; rtk_time_now_ms() < end; step++) {
        if (step % 20 == 0) { /* every 20 ms */
            if (p4 == NULL) {
                memset(&c[3], 0, sizeof(c[3]));
                p4 = join(fx, P4, 60, &c[3]);
            } else {
                rtk_live_leave(fx->live, p4);
                p4 = NULL;
            }
        }
        uv_run(&fx->loop, UV_RUN_NOWAIT);
        int now_seen = count_type(&c[0], RTK_MSG_SESSION_UPDATED);
        if (now_seen > seen) {
            int64_t t = rtk_time_now_ms();
            if (last != 0 && t - last < least)
                least = t - last;
            last = t;
            updates += now_seen - seen;
            seen = now_seen;
        }
        usleep(1000);
    }
    if (p4 != NULL)
        rtk_live_leave(fx->live, p4);
    assert_true(updates >= 3);
    assert_true(least >= 280);
}

/* For a large audience the poll.updated rounds of a meeting are spaced too, one poll per
 * round, the one that waited longest: two polls voted on at once make two rounds, 600 ms
 * apart (300 ms per live peer here, 2 peers), not two at once. */
static void large_audience_makes_one_poll_round_per_gap(void **state)
{
    fixture *fx = *state;
    fx->cfg.audience_gap_us = 300000;
    reopen_live(fx);
    fake_conn *c = fx->c;
    rtk_peer *a = join_as(fx, P1, "Ann", 60, &c[0]);
    join_as(fx, P2, "Bob", 60, &c[1]);
    poll_result r1 = {0}, r2 = {0};
    make_poll(fx, &r1);
    make_poll(fx, &r2);
    settle(&fx->sink, 0);
    run_for(fx, 700);
    int before = count_type(&c[1], RTK_MSG_POLL_UPDATED);
    rtk_live_vote(fx->live, a, r1.id, 0, NULL, 0);
    rtk_live_vote(fx->live, a, r2.id, 1, NULL, 0);
    settle(&fx->sink, 0);
    run_for(fx, 150);
    assert_int_equal(count_type(&c[1], RTK_MSG_POLL_UPDATED) - before, 1);
    run_for(fx, 300);
    assert_int_equal(count_type(&c[1], RTK_MSG_POLL_UPDATED) - before, 1);
    run_for(fx, 500);
    assert_int_equal(count_type(&c[1], RTK_MSG_POLL_UPDATED) - before, 2);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(first_join_starts_session_and_counts),
        T(minutes_grow_with_time),
        T(replace_closes_old_with_4002_and_never_counts_both),
        T(keep_alive_zero_ends_at_last_leave),
        T(keep_alive_window_continues_then_ends),
        T(kick_waits_for_the_store_then_blocks_rejoin),
        T(kick_refused_by_the_store_does_nothing),
        T(kick_all_waits_for_the_store_then_ends),
        T(kick_all_refused_by_the_store_goes_on),
        T(kick_all_in_empty_keep_alive_window),
        T(shutdown_tells_each_peer_then_peers_left),
        T(participant_deleted_closes_4003),
        T(silent_peer_dropped_by_heartbeat),
        T(heartbeat_spreads_the_pings),
        T(heartbeat_keeps_answering_peers_of_a_busy_loop),
        T(heartbeat_keeps_a_peer_whose_place_moved),
        T(slow_consumer_closed_1008),
        T(flood_gets_rate_limited_then_closed),
        T(ping_pong_and_reject_echo_the_ref),
        T(poll_joins_the_session_once_stored),
        T(a_session_holds_a_bounded_number_of_polls),
        T(votes_are_answered_after_the_commit_and_taken_back_when_lost),
        T(voters_of_one_commit_share_a_rendering_of_the_current_tallies),
        T(vote_waiting_while_its_peer_leaves_is_not_answered),
        T(permissions_decide_what_a_peer_may_do),
        T(waiting_room_admits_refuses_and_closes_4004),
        T(rosters_list_changes_and_never_hidden_peers),
        T(poll_updated_carries_only_the_votes_since_the_last),
        T(large_audience_spaces_session_updated),
        T(large_audience_makes_one_poll_round_per_gap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
