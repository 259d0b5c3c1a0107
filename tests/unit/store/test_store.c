/* SPDX-License-Identifier: MIT */
/* test_store.c - the store's asynchronous interface: with a fake backend that completes out of
 * order (callbacks never run inside the call, each runs once, in completion order), and with
 * the real SQLite backend (writes answered only after their batch's commit; a failed commit
 * fails every write of its batch and stores nothing; the statuses each operation promises). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "support/fault_vfs.h"
#include "auth/rtk_preset.h"
#include "store/rtk_store.h"
#include "store/rtk_store_int.h"
#include "util/rtk_err.h"
#include "util/rtk_id.h"
#include "util/rtk_time.h"

/* ---- a fake backend: holds every operation until the test completes it ---- */

static rtk_store_op *held[16];
static int nheld;
static int in_submit;

static int fb_open(rtk_store *st, const char *spec, const rtk_store_config *cfg)
{
    (void)st;
    (void)spec;
    (void)cfg;
    nheld = 0;
    return 0;
}

static void fb_close(rtk_store *st)
{
    (void)st;
}

static void fb_submit(rtk_store *st, rtk_store_op *op)
{
    (void)st;
    in_submit = 1;
    assert_true(nheld < 16);
    held[nheld++] = op;
    in_submit = 0;
}

static int fb_flush(rtk_store *st)
{
    (void)st;
    return 0;
}

static int fb_idle(rtk_store *st)
{
    (void)st;
    return nheld == 0;
}

static int fb_ready(const rtk_store *st)
{
    (void)st;
    return 1;
}

static int fb_changed(rtk_store *st)
{
    (void)st;
    return 0;
}

static const rtk_store_backend fake_backend = {
    .name = "fake",
    .open = fb_open,
    .close = fb_close,
    .submit = fb_submit,
    .flush = fb_flush,
    .idle = fb_idle,
    .ready = fb_ready,
    .changed = fb_changed,
};

/* Completes held operation |i| with one row holding |text|. */
static void complete(int i, const char *text, int status)
{
    rtk_store_op *op = held[i];
    held[i] = NULL;
    rtk_store__set_begin(op, 0, 1);
    rtk_store__cell_text(op, rtk_store__row_add(op, 0), text, strlen(text));
    rtk_store__stmt_result(op, 0, 0, 0, 1);
    rtk_store__done(op, status);
}

static char order[16];
static int ncalls;

static void on_read(void *arg, int status, const rtk_store_res *res)
{
    assert_false(in_submit); /* never inside the call that registered it */
    char tag = *(const char *)arg;
    order[ncalls++] = tag;
    if (status == 0) {
        char want[2] = {tag, '\0'};
        assert_string_equal(rtk_store_text(&res->sets[0], 0, 0, NULL), want);
    } else {
        assert_null(res);
    }
}

static void fake_backend_completes_out_of_order(void **state)
{
    (void)state;
    uv_loop_t loop;
    rtk_store *st = NULL;
    rtk_store_config cfg = {.url = "fake:", .quiet = 1};
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(rtk_store__open_backend(&loop, &fake_backend, "", &cfg, &st), 0);
    ncalls = 0;
    memset(order, 0, sizeof(order));
    static const char a = 'a', b = 'b', c = 'c';
    rtk_store_meeting_get(st, "app", "1", on_read, (void *)&a);
    rtk_store_meeting_get(st, "app", "2", on_read, (void *)&b);
    rtk_store_participant_get(st, "m", "3", 0, on_read, (void *)&c);
    assert_int_equal(nheld, 3);
    rtk_store_turn(st);
    assert_int_equal(ncalls, 0); /* nothing completed yet */
    complete(2, "c", 0);
    complete(0, "a", 0);
    assert_int_equal(ncalls, 0); /* completed, but callbacks wait for the drain */
    rtk_store_turn(st);
    assert_string_equal(order, "ca");
    complete(1, "b", RTK_EUNAVAIL);
    rtk_store_turn(st);
    assert_string_equal(order, "cab");
    assert_int_equal(ncalls, 3);
    rtk_store_turn(st);
    assert_int_equal(ncalls, 3); /* each callback runs exactly once */
    rtk_store_close(st);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- the SQLite backend ---- */

typedef struct fixture {
    char dir[64];
    uv_loop_t loop;
    rtk_store *st;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    fault_vfs_install();
    fault_vfs_fail_wal(0);
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/rtk-test-store-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    char url[128];
    snprintf(url, sizeof(url), "sqlite:%s", fx->dir);
    rtk_store_config cfg = {.url = url, .quiet = 1};
    assert_int_equal(rtk_store_open(&fx->loop, &cfg, &fx->st), 0);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    fault_vfs_fail_wal(0);
    rtk_store_close(fx->st);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

typedef struct seen {
    int called;
    int status;
    int64_t changes;
    int64_t first; /* set 0, row 0, column 0 */
} seen;

static void on_status(void *arg, int status, const rtk_store_res *res)
{
    seen *s = arg;
    s->called++;
    s->status = status;
    s->changes = res ? res->changes : 0;
    s->first = res && res->nsets > 0 ? rtk_store_int(&res->sets[0], 0, 0) : 0;
}

#define APP "14a396e7-ca44-4937-bf1f-050a69118543"
#define ACC "0123456789abcdef0123456789abcdef"

static void setup_app(fixture *fx)
{
    seen a = {0}, b = {0};
    rtk_store_account_create(fx->st, ACC, "acc", 0, 1, on_status, &a);
    rtk_store_app_create(fx->st, APP, ACC, "app", 1, on_status, &b);
    rtk_store_wait(fx->st);
    assert_int_equal(a.status, 0);
    assert_int_equal(b.status, 0);
}

static void put_meeting(fixture *fx, const char *id, const char *title, int insert, seen *s)
{
    char json[256];
    snprintf(json, sizeof(json), "{\"id\":\"%s\",\"title\":\"%s\"}", id, title);
    rtk_store_doc d = {.id = id, .title = title, .status = "ACTIVE", .created_ms = 5,
                       .updated_ms = 6, .json = json};
    rtk_store_meeting_put(fx->st, APP, &d, insert, on_status, s);
}

static int meeting_count(fixture *fx)
{
    rtk_store_kept k;
    rtk_store_page page = {0, 100};
    rtk_store_meeting_list(fx->st, APP, NULL, NULL, INT64_MIN, INT64_MAX, page, rtk_store_keep,
                           &k);
    rtk_store_wait(fx->st);
    assert_int_equal(k.status, 0);
    int n = (int)rtk_store_int(&k.res.sets[0], 0, 0);
    assert_int_equal((int)k.res.sets[1].nrows, n);
    rtk_store_kept_free(&k);
    return n;
}

static void writes_are_answered_after_their_commit(void **state)
{
    fixture *fx = *state;
    setup_app(fx);
    seen w = {0};
    put_meeting(fx, "m1", "one", 1, &w);
    assert_int_equal(w.called, 0); /* not inside the call, not before the commit */
    rtk_store_turn(fx->st);
    assert_int_equal(w.called, 1);
    assert_int_equal(w.status, 0);
    assert_int_equal(meeting_count(fx), 1);
}

static void reads_issued_by_callbacks_complete_in_the_same_turn(void **state)
{
    fixture *fx = *state;
    setup_app(fx);
    seen w = {0};
    put_meeting(fx, "m1", "one", 1, &w);
    rtk_store_turn(fx->st);
    rtk_store_kept k;
    memset(&k, 0, sizeof(k));
    rtk_store_meeting_get(fx->st, APP, "m1", rtk_store_keep, &k);
    rtk_store_turn(fx->st); /* one turn: no loop run needed for SQLite */
    assert_true(k.done);
    assert_int_equal(k.status, 0);
    assert_non_null(strstr(rtk_store_text(&k.res.sets[0], 0, 0, NULL), "\"one\""));
    rtk_store_kept_free(&k);
}

static void a_failed_commit_fails_every_write_of_its_batch(void **state)
{
    fixture *fx = *state;
    setup_app(fx);
    seen w1 = {0}, w2 = {0}, bar = {0}, w3 = {0};
    put_meeting(fx, "m0", "before", 1, &w3);
    rtk_store_wait(fx->st);
    assert_int_equal(w3.status, 0);
    fault_vfs_fail_wal(1);
    put_meeting(fx, "m1", "one", 1, &w1);
    put_meeting(fx, "m0", "renamed", 0, &w2);
    rtk_store_barrier(fx->st, on_status, &bar);
    rtk_store_turn(fx->st);
    fault_vfs_fail_wal(0);
    assert_int_equal(w1.status, RTK_EUNAVAIL);
    assert_int_equal(w2.status, RTK_EUNAVAIL);
    assert_int_equal(bar.status, RTK_EUNAVAIL);
    /* Nothing of the batch is there; the store works again. */
    assert_int_equal(meeting_count(fx), 1);
    rtk_store_kept k;
    rtk_store_meeting_get(fx->st, APP, "m0", rtk_store_keep, &k);
    rtk_store_wait(fx->st);
    assert_non_null(strstr(rtk_store_text(&k.res.sets[0], 0, 0, NULL), "before"));
    rtk_store_kept_free(&k);
    put_meeting(fx, "m1", "one", 1, &w1);
    rtk_store_wait(fx->st);
    assert_int_equal(w1.status, 0);
    assert_int_equal(meeting_count(fx), 2);
}

static void statuses_each_operation_promises(void **state)
{
    fixture *fx = *state;
    setup_app(fx);
    seen s = {0};
    put_meeting(fx, "m1", "one", 1, &s);
    rtk_store_wait(fx->st);
    /* The same id again: RTK_EEXIST, and the rest of the batch is not harmed. */
    seen dup = {0}, other = {0};
    put_meeting(fx, "m1", "again", 1, &dup);
    put_meeting(fx, "m2", "two", 1, &other);
    rtk_store_wait(fx->st);
    assert_int_equal(dup.status, RTK_EEXIST);
    assert_int_equal(other.status, 0);
    /* An update of nothing, a read of nothing. */
    seen upd = {0}, get = {0};
    put_meeting(fx, "m9", "nine", 0, &upd);
    rtk_store_meeting_get(fx->st, APP, "m9", on_status, &get);
    rtk_store_wait(fx->st);
    assert_int_equal(upd.status, RTK_ENOTFOUND);
    assert_int_equal(get.status, RTK_ENOTFOUND);
    /* A participant's custom id is unique per meeting; its preset must be one of the app's
     * (the app got the defaults with it). Neither writes anything: "changed no row". */
    rtk_store_doc p = {
        .id = "p1", .custom_id = "c", .preset = "group_call_host", .created_ms = 1, .json = "{}"};
    seen p1 = {0}, p2 = {0}, p3 = {0}, del = {0}, del2 = {0};
    rtk_store_participant_put(fx->st, APP, "m1", &p, 1, on_status, &p1);
    p.id = "p2";
    rtk_store_participant_put(fx->st, APP, "m1", &p, 1, on_status, &p2);
    p.id = "p3";
    p.custom_id = "c3";
    p.preset = "no-such-preset";
    rtk_store_participant_put(fx->st, APP, "m1", &p, 1, on_status, &p3);
    rtk_store_wait(fx->st);
    assert_int_equal(p1.status, 0);
    assert_int_equal(p1.changes, 1);
    assert_int_equal(p2.status, 0);
    assert_int_equal(p2.changes, 0);
    assert_int_equal(p2.first, 1); /* the preset is there: the custom id is taken */
    assert_int_equal(p3.status, 0);
    assert_int_equal(p3.changes, 0);
    assert_int_equal(p3.first, 0); /* no such preset */
    rtk_store_participant_delete(fx->st, "m1", "p1", on_status, &del);
    rtk_store_participant_delete(fx->st, "m1", "p1", on_status, &del2);
    rtk_store_wait(fx->st);
    assert_int_equal(del.status, 0);
    assert_int_equal(del2.status, RTK_ENOTFOUND);
    /* A token found by its hash; revoked once. */
    uint8_t hash[32];
    memset(hash, 0xab, sizeof(hash));
    seen t = {0}, r1 = {0}, r2 = {0}, f = {0};
    rtk_store_token_create(fx->st, "tok", ACC, "t", hash, 1, on_status, &t);
    rtk_store_kept k;
    rtk_store_token_find(fx->st, hash, rtk_store_keep, &k);
    rtk_store_wait(fx->st);
    assert_int_equal(k.status, 0);
    assert_string_equal(rtk_store_text(&k.res.sets[0], 0, 0, NULL), ACC);
    assert_string_equal(rtk_store_text(&k.res.sets[0], 0, 2, NULL),
                        "abababababababababababababababababababababababababababababababab");
    rtk_store_kept_free(&k);
    rtk_store_token_revoke(fx->st, "tok", 2, on_status, &r1);
    rtk_store_token_revoke(fx->st, "tok", 3, on_status, &r2);
    rtk_store_token_find(fx->st, hash, on_status, &f);
    rtk_store_wait(fx->st);
    assert_int_equal(r1.status, 0);
    assert_int_equal(r2.status, RTK_ENOTFOUND);
    assert_int_equal(f.status, RTK_ENOTFOUND);
}

static void a_search_is_matched_literally(void **state)
{
    fixture *fx = *state;
    setup_app(fx);
    seen s = {0};
    put_meeting(fx, "m1", "50% off_sale", 1, &s);
    put_meeting(fx, "m2", "500 offXsale", 1, &s);
    rtk_store_wait(fx->st);
    static const struct {
        const char *search;
        int want;
    } cases[] = {{"50%", 1}, {"off_", 1}, {"OFF", 2}, {"m2", 1}, {"%", 1}, {"zzz", 0}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rtk_store_kept k;
        rtk_store_page page = {0, 10};
        rtk_store_meeting_list(fx->st, APP, cases[i].search, NULL, INT64_MIN, INT64_MAX, page,
                               rtk_store_keep, &k);
        rtk_store_wait(fx->st);
        assert_int_equal(rtk_store_int(&k.res.sets[0], 0, 0), cases[i].want);
        rtk_store_kept_free(&k);
    }
}

/* An app comes with the four defaults, whose permissions the handshake reads by name
 * (RTK_STORE_PRESET_PERMISSIONS); a preset in use is neither deleted nor renamed, and says by how many. */
static void presets_of_an_app(void **state)
{
    fixture *fx = *state;
    setup_app(fx);
    for (int i = 0; i < RTK_PRESET_NDEFAULTS; i++) {
        const char *name = rtk_preset_default_names[i];
        rtk_store_kept k;
        rtk_store_preset_get(fx->st, APP, name, 1, rtk_store_keep, &k);
        rtk_store_wait(fx->st);
        assert_int_equal(k.status, 0);
        assert_int_equal(k.res.sets[0].ncols, RTK_STORE_PRESET_COLS);
        assert_string_equal(rtk_store_text(&k.res.sets[0], 0, RTK_STORE_PRESET_NAME, NULL), name);
        assert_string_equal(rtk_store_text(&k.res.sets[0], 0, RTK_STORE_PRESET_CONFIG, NULL),
                            rtk_preset_default_config(name));
        assert_string_equal(rtk_store_text(&k.res.sets[0], 0, RTK_STORE_PRESET_PERMISSIONS, NULL),
                            rtk_preset_default_permissions(name));
        assert_string_equal(rtk_store_text(&k.res.sets[0], 0, RTK_STORE_PRESET_UI, NULL),
                            rtk_preset_default_ui(name));
        rtk_store_kept_free(&k);
    }
    seen m = {0}, p = {0};
    put_meeting(fx, "m1", "one", 1, &m);
    rtk_store_doc d = {.id = "p1",
                       .custom_id = "c",
                       .preset = "mine",
                       .created_ms = 1,
                       .json = "{}"};
    rtk_store_preset mine = {.id = "pr1",
                             .name = "mine",
                             .created_ms = 1,
                             .updated_ms = 1,
                             .config = "{}",
                             .permissions = "{}",
                             .ui = "{}"};
    seen ins = {0}, dup = {0};
    rtk_store_preset_put(fx->st, APP, &mine, 1, on_status, &ins);
    mine.id = "pr2";
    rtk_store_preset_put(fx->st, APP, &mine, 1, on_status, &dup);
    rtk_store_participant_put(fx->st, APP, "m1", &d, 1, on_status, &p);
    rtk_store_wait(fx->st);
    assert_int_equal(ins.status, 0);
    assert_int_equal(dup.status, RTK_EEXIST); /* names are unique in an app */
    assert_int_equal(p.changes, 1);
    seen del = {0}, ren = {0}, edit = {0};
    mine.id = "pr1";
    rtk_store_preset_delete(fx->st, APP, "pr1", on_status, &del);
    mine.name = "renamed";
    rtk_store_preset_put(fx->st, APP, &mine, 0, on_status, &ren);
    rtk_store_wait(fx->st);
    assert_int_equal(del.changes, 0);
    assert_int_equal(del.first, 1); /* one participant uses it */
    assert_int_equal(ren.changes, 0);
    assert_int_equal(ren.first, 1);
    mine.name = "mine";
    mine.permissions = "{\"kick_participant\":true}";
    rtk_store_preset_put(fx->st, APP, &mine, 0, on_status, &edit);
    rtk_store_wait(fx->st);
    assert_int_equal(edit.changes, 1); /* no rename: fine while in use */
    seen gone = {0}, del2 = {0};
    rtk_store_participant_delete(fx->st, "m1", "p1", on_status, &gone);
    rtk_store_preset_delete(fx->st, APP, "pr1", on_status, &del2);
    rtk_store_wait(fx->st);
    assert_int_equal(del2.changes, 1);
}

static void keys_are_made_once(void **state)
{
    fixture *fx = *state;
    rtk_store_kept a, b;
    rtk_store_key(fx->st, "signing", 32, rtk_store_keep, &a);
    rtk_store_key(fx->st, "signing", 32, rtk_store_keep, &b);
    rtk_store_wait(fx->st);
    assert_int_equal(a.status, 0);
    const char *ka = rtk_store_text(&a.res.sets[a.res.nsets - 1], 0, 0, NULL);
    const char *kb = rtk_store_text(&b.res.sets[b.res.nsets - 1], 0, 0, NULL);
    assert_int_equal(strlen(ka), 64);
    assert_string_equal(ka, kb);
    rtk_store_kept_free(&a);
    rtk_store_kept_free(&b);
    char path[128];
    struct stat sb;
    snprintf(path, sizeof(path), "%s/signing.key", fx->dir);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(sb.st_size, 32);
}

static void restart_closes_peers_left_open(void **state)
{
    fixture *fx = *state;
    setup_app(fx);
    rtk_store_session s = {.id = "s1", .meeting_id = "m1", .app_id = APP, .started_ms = 1000,
                           .updated_ms = 1000, .seen_ms = 5000, .peak = 1};
    rtk_store_peer p = {.peer_id = "peer1", .session_id = "s1", .participant_id = "p1",
                        .custom_id = "c", .joined_ms = 2000};
    rtk_store_session_put(fx->st, &s, 1, NULL, NULL);
    rtk_store_peer_joined(fx->st, &p, NULL, NULL);
    rtk_store_kick(fx->st, "s1", "bad", 3000, 0, NULL, NULL);
    rtk_store_kept k;
    rtk_store_sessions_live(fx->st, rtk_store_keep, &k);
    rtk_store_wait(fx->st);
    assert_int_equal(k.status, 0);
    assert_int_equal(k.res.sets[0].nrows, 1);
    rtk_store_session got;
    rtk_store_session_read(&k.res.sets[0], 0, 0, &got);
    assert_string_equal(got.id, "s1");
    assert_int_equal(got.closed_ms, 3000); /* the open peer left at seen_at: 5000 - 2000 */
    free(got.title);
    assert_int_equal(k.res.sets[1].nrows, 1);
    assert_string_equal(rtk_store_text(&k.res.sets[1], 0, 1, NULL), "bad");
    rtk_store_kept_free(&k);
    /* An ENDED session stays ENDED, whatever a late update says. */
    s.ended = 1;
    s.ended_ms = 6000;
    rtk_store_session_put(fx->st, &s, 0, NULL, NULL);
    s.ended = 0;
    rtk_store_session_put(fx->st, &s, 0, NULL, NULL);
    rtk_store_session_get(fx->st, APP, "s1", rtk_store_keep, &k);
    rtk_store_wait(fx->st);
    rtk_store_session_read(&k.res.sets[0], 0, 0, &got);
    assert_int_equal(got.ended, 1);
    assert_int_equal(got.ended_ms, 6000);
    free(got.title);
    rtk_store_kept_free(&k);
}

static void url_passwords_are_hidden(void **state)
{
    (void)state;
    char out[128];
    rtk_store_url_redacted("postgres://rtk:s3cret@127.0.0.1:5432/db", out, sizeof(out));
    assert_string_equal(out, "postgres://rtk:***@127.0.0.1:5432/db");
    rtk_store_url_redacted("postgres://rtk@h:1/db", out, sizeof(out));
    assert_string_equal(out, "postgres://rtk@h:1/db");
    rtk_store_url_redacted("sqlite:/var/x", out, sizeof(out));
    assert_string_equal(out, "sqlite:/var/x");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fake_backend_completes_out_of_order),
        T(writes_are_answered_after_their_commit),
        T(reads_issued_by_callbacks_complete_in_the_same_turn),
        T(a_failed_commit_fails_every_write_of_its_batch),
        T(statuses_each_operation_promises),
        T(a_search_is_matched_literally),
        T(keys_are_made_once),
        T(restart_closes_peers_left_open),
        T(presets_of_an_app),
        cmocka_unit_test(url_passwords_are_hidden),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
