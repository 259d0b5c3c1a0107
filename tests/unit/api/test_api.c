/* SPDX-License-Identifier: MIT */
/* test_api.c - REST handlers driven with fake requests over a real SQLite store: authentication,
 * body validation (each field named in its 400), paging, the answer envelopes, and writes whose
 * group commit fails (answered 503, nothing stored). */
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

#include "api/rtk_api.h"
#include "auth/rtk_token.h"
#include "net/rtk_http.h"
#include "persist/rtk_persist.h"
#include "store/rtk_store.h"
#include "support/fault_vfs.h"
#include "support/http_fake.h"
#include "util/rtk_err.h"
#include "util/rtk_id.h"
#include "util/rtk_time.h"

typedef struct fixture {
    char dir[64];
    uv_loop_t loop;
    rtk_ctx ctx;
    char account[33];
    char other_account[33];
    char token[RTK_API_TOKEN_LEN + 1];
    char other_token[RTK_API_TOKEN_LEN + 1];
    char app[37];
    char prefix[160]; /* /accounts/A/realtime/kit/APP */
    char auth[128];
    rtk_persist *persist;
} fixture;

static int wait_ok(fixture *fx, rtk_store_kept *k)
{
    rtk_store_wait(fx->ctx.store);
    assert_true(k->done);
    int st = k->status;
    rtk_store_kept_free(k);
    return st;
}

static void make_account(fixture *fx, char id[33], char token[RTK_API_TOKEN_LEN + 1])
{
    rtk_store_kept k;
    uint8_t hash[32];
    char tid[33];
    rtk_id_hex(id, 16);
    rtk_store_account_create(fx->ctx.store, id, "a", 0, rtk_time_now_ms(), rtk_store_keep, &k);
    assert_int_equal(wait_ok(fx, &k), 0);
    rtk_token_mint(token, hash, tid);
    rtk_store_token_create(fx->ctx.store, tid, id, "t", hash, rtk_time_now_ms(), rtk_store_keep,
                           &k);
    assert_int_equal(wait_ok(fx, &k), 0);
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    fault_vfs_install();
    fault_vfs_fail_wal(0);
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/rtk-test-api-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    char url[128];
    snprintf(url, sizeof(url), "sqlite:%s", fx->dir);
    rtk_store_config cfg = {.url = url, .quiet = 1};
    assert_int_equal(rtk_store_open(&fx->loop, &cfg, &fx->ctx.store), 0);
    fx->ctx.loop = &fx->loop;
    memset(fx->ctx.signing_key, 7, sizeof(fx->ctx.signing_key));
    fx->ctx.ptoken_ttl_s = 3600;
    rtk_ratelimit_init(&fx->ctx.api_rl, 0, 1, 0);
    make_account(fx, fx->account, fx->token);
    make_account(fx, fx->other_account, fx->other_token);
    rtk_store_kept k;
    rtk_id_uuid4(fx->app);
    rtk_store_app_create(fx->ctx.store, fx->app, fx->account, "app", rtk_time_now_ms(),
                         rtk_store_keep, &k);
    assert_int_equal(wait_ok(fx, &k), 0);
    assert_int_equal(rtk_live_new(&fx->loop, NULL, NULL, &fx->ctx.live), 0);
    fx->persist = rtk_persist_new(fx->ctx.store, fx->ctx.live);
    snprintf(fx->prefix, sizeof(fx->prefix), "/client/v4/accounts/%s/realtime/kit/%s", fx->account,
             fx->app);
    snprintf(fx->auth, sizeof(fx->auth), "Authorization: Bearer %s\r\n", fx->token);
    *state = fx;
    return 0;
}

static void on_live_closed(void *arg)
{
    *(int *)arg = 1;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    char cmd[128];
    int closed = 0;
    fault_vfs_fail_wal(0);
    rtk_live_shutdown(fx->ctx.live, on_live_closed, &closed);
    while (!closed)
        uv_run(&fx->loop, UV_RUN_ONCE);
    rtk_store_close(fx->ctx.store);
    rtk_persist_free(fx->persist);
    rtk_live_free(fx->ctx.live);
    rtk_ratelimit_free(&fx->ctx.api_rl);
    rtk_api_ctx_free(&fx->ctx);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

/* Runs one request through rtk_api_handle and the loop turns that answer it (the store's
 * completions and commit, as the server's turn owner runs them); returns the status and the
 * parsed body. */
static int call(fixture *fx, const char *method, const char *target, const char *headers,
                const char *body, json_t **out)
{
    rtk_http_req *req = NULL;
    rtk_http_fake_resp resp;
    assert_int_equal(
        rtk_http_fake_new(method, target, headers, body, body ? strlen(body) : 0, &fx->ctx, &req),
        0);
    rtk_api_handle(req);
    for (int i = 0; i < 100 && rtk_http_fake_response(req, &resp) != 0; i++) {
        rtk_persist_turn(fx->persist);
        rtk_store_turn(fx->ctx.store);
    }
    assert_int_equal(rtk_http_fake_response(req, &resp), 0);
    json_error_t err;
    json_t *j = json_loadb(resp.body, resp.body_len, 0, &err);
    assert_non_null(j); /* every answer, success or error, is JSON */
    int status = resp.status;
    rtk_http_fake_free(req);
    if (out)
        *out = j;
    else
        json_decref(j);
    return status;
}

static int api(fixture *fx, const char *method, const char *path, const char *body, json_t **out)
{
    char target[512];
    snprintf(target, sizeof(target), "%s%s", fx->prefix, path);
    return call(fx, method, target, fx->auth, body, out);
}

static const char *err_message(json_t *j)
{
    return json_string_value(json_object_get(json_object_get(j, "error"), "message"));
}

static void auth_missing_unknown_other_account(void **state)
{
    fixture *fx = *state;
    json_t *j = NULL;
    char target[256], h[160];
    snprintf(target, sizeof(target), "%s/meetings", fx->prefix);
    assert_int_equal(call(fx, "GET", target, NULL, NULL, &j), 401);
    assert_int_equal(json_integer_value(
                         json_object_get(json_array_get(json_object_get(j, "errors"), 0), "code")),
                     10000);
    assert_true(json_is_null(json_object_get(j, "result")));
    json_decref(j);
    assert_int_equal(call(fx, "GET", target, "Authorization: Bearer nope\r\n", NULL, NULL), 401);
    assert_int_equal(call(fx, "GET", target, "Authorization: Basic abc\r\n", NULL, NULL), 401);
    snprintf(h, sizeof(h), "Authorization: Bearer %s\r\n", fx->other_token);
    assert_int_equal(call(fx, "GET", target, h, NULL, NULL), 403);
    /* An app of this account that does not exist. */
    snprintf(target, sizeof(target),
             "/accounts/%s/realtime/kit/00000000-0000-4000-8000-000000000000/meetings",
             fx->account);
    assert_int_equal(call(fx, "GET", target, fx->auth, NULL, &j), 404);
    assert_non_null(strstr(err_message(j), "No app found"));
    json_decref(j);
}

static void meeting_validation_names_the_field(void **state)
{
    fixture *fx = *state;
    static const struct {
        const char *body;
        const char *field;
    } bad[] = {
        {"{\"title\":5}", "title"},
        {"{\"status\":\"PAUSED\"}", "status"},
        {"{\"record_on_start\":\"yes\"}", "record_on_start"},
        {"{\"persist_chat\":1}", "persist_chat"},
        {"{\"session_keep_alive_time_in_secs\":-1}", "session_keep_alive_time_in_secs"},
        {"{\"session_keep_alive_time_in_secs\":1.5}", "session_keep_alive_time_in_secs"},
        {"{\"session_keep_alive_time_in_secs\":86401}", "session_keep_alive_time_in_secs"},
        {"{\"ai_config\":[]}", "ai_config"},
        {"{\"recording_config\":\"x\"}", "recording_config"},
        {"{\"title\":\"a\",\"title\":\"b\"}", "Invalid JSON"},
        {"[1]", "JSON object"},
        {"{", "Invalid JSON"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *j = NULL;
        assert_int_equal(api(fx, "POST", "/meetings", bad[i].body, &j), 400);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
                         400);
        assert_non_null(strstr(err_message(j), bad[i].field));
        json_decref(j);
    }
    /* Nothing was created by the refused bodies. */
    json_t *list = NULL;
    assert_int_equal(api(fx, "GET", "/meetings", NULL, &list), 200);
    assert_int_equal(json_array_size(json_object_get(list, "data")), 0);
    json_decref(list);
}

static void meeting_defaults_patch_and_put(void **state)
{
    fixture *fx = *state;
    json_t *j = NULL;
    assert_int_equal(api(fx, "POST", "/meetings", "{\"title\":\"T\",\"unknown\":1}", &j), 201);
    json_t *m = json_object_get(j, "data");
    char id[37], path[128];
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(m, "id")));
    assert_string_equal(json_string_value(json_object_get(m, "status")), "ACTIVE");
    assert_int_equal(json_integer_value(json_object_get(m, "session_keep_alive_time_in_secs")), 60);
    assert_true(json_is_false(json_object_get(m, "record_on_start")));
    assert_null(json_object_get(m, "unknown"));
    json_decref(j);

    snprintf(path, sizeof(path), "/meetings/%s", id);
    assert_int_equal(
        api(fx, "PATCH", path, "{\"record_on_start\":true,\"status\":\"INACTIVE\"}", &j), 200);
    m = json_object_get(j, "data");
    assert_string_equal(json_string_value(json_object_get(m, "title")), "T"); /* kept */
    assert_true(json_is_true(json_object_get(m, "record_on_start")));
    assert_string_equal(json_string_value(json_object_get(m, "status")), "INACTIVE");
    assert_string_not_equal(json_string_value(json_object_get(m, "updated_at")),
                            json_string_value(json_object_get(m, "created_at")));
    json_decref(j);

    assert_int_equal(api(fx, "PUT", path, "{\"title\":\"U\"}", &j), 200);
    m = json_object_get(j, "data");
    assert_string_equal(json_string_value(json_object_get(m, "title")), "U");
    assert_true(json_is_false(json_object_get(m, "record_on_start"))); /* back to default */
    assert_string_equal(json_string_value(json_object_get(m, "status")), "ACTIVE");
    json_decref(j);

    assert_int_equal(api(fx, "GET", "/meetings/00000000-0000-4000-8000-00000000abcd", NULL, &j),
                     404);
    assert_string_equal(err_message(j),
                        "No meeting found with id 00000000-0000-4000-8000-00000000abcd");
    json_decref(j);
    assert_int_equal(api(fx, "DELETE", path, NULL, &j), 405);
    json_decref(j);
}

static void participant_validation_and_token(void **state)
{
    fixture *fx = *state;
    json_t *j = NULL;
    char path[160];
    assert_int_equal(api(fx, "POST", "/meetings", "{}", &j), 201);
    snprintf(path, sizeof(path), "/meetings/%s/participants",
             json_string_value(json_object_get(json_object_get(j, "data"), "id")));
    json_decref(j);
    static const struct {
        const char *body;
        const char *field;
    } bad[] = {
        {"{\"preset_name\":\"group_call_host\"}", "custom_participant_id"},
        {"{\"custom_participant_id\":\"\",\"preset_name\":\"group_call_host\"}",
         "custom_participant_id"},
        {"{\"custom_participant_id\":7,\"preset_name\":\"group_call_host\"}",
         "custom_participant_id"},
        {"{\"custom_participant_id\":\"c\"}", "preset_name"},
        {"{\"custom_participant_id\":\"c\",\"preset_name\":\"\"}", "preset_name"},
        {"{\"custom_participant_id\":\"c\",\"preset_name\":\"group_call_host\",\"name\":[]}",
         "name"},
        {"{\"custom_participant_id\":\"c\",\"preset_name\":\"group_call_host\",\"picture\":false}",
         "picture"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(api(fx, "POST", path, bad[i].body, &j), 400);
        assert_non_null(strstr(err_message(j), bad[i].field));
        json_decref(j);
    }
    const char *good =
        "{\"custom_participant_id\":\"c\",\"preset_name\":\"group_call_host\",\"name\":\"Ann\"}";
    assert_int_equal(api(fx, "POST", path, good, &j), 201);
    json_t *p = json_object_get(j, "data");
    const char *tok = json_string_value(json_object_get(p, "token"));
    rtk_ptoken claims;
    assert_int_equal(rtk_ptoken_verify(fx->ctx.signing_key, sizeof(fx->ctx.signing_key), tok,
                                       strlen(tok), rtk_time_now_ms() / 1000, &claims),
                     0);
    assert_string_equal(claims.participant_id, json_string_value(json_object_get(p, "id")));
    assert_string_equal(claims.app_id, fx->app);
    assert_true(claims.exp - claims.iat == 3600);
    json_decref(j);
    /* The same custom id twice in one meeting is refused. */
    assert_int_equal(api(fx, "POST", path, good, &j), 400);
    assert_non_null(strstr(err_message(j), "already exists"));
    json_decref(j);
    /* A preset the app does not have is refused, and nothing is written. */
    const char *unknown = "{\"custom_participant_id\":\"d\",\"preset_name\":\"nope\"}";
    assert_int_equal(api(fx, "POST", path, unknown, &j), 400);
    assert_string_equal(err_message(j), "No preset found with name nope");
    json_decref(j);
    const char *known = "{\"custom_participant_id\":\"d\",\"preset_name\":\"webinar_viewer\"}";
    assert_int_equal(api(fx, "POST", path, known, &j), 201);
    json_decref(j);
}

static void paging_offsets_and_limits(void **state)
{
    fixture *fx = *state;
    json_t *j = NULL;
    for (int i = 0; i < 7; i++) {
        char body[64];
        snprintf(body, sizeof(body), "{\"title\":\"m%d\"}", i);
        assert_int_equal(api(fx, "POST", "/meetings", body, NULL), 201);
    }
    assert_int_equal(api(fx, "GET", "/meetings?page_no=2&per_page=3", NULL, &j), 200);
    json_t *paging = json_object_get(j, "paging");
    assert_int_equal(json_integer_value(json_object_get(paging, "total_count")), 7);
    assert_int_equal(json_integer_value(json_object_get(paging, "start_offset")), 4);
    assert_int_equal(json_integer_value(json_object_get(paging, "end_offset")), 6);
    assert_int_equal(json_array_size(json_object_get(j, "data")), 3);
    json_decref(j);
    assert_int_equal(api(fx, "GET", "/meetings?page_no=3&per_page=3", NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "data")), 1);
    json_decref(j);
    assert_int_equal(api(fx, "GET", "/meetings?page_no=9", NULL, &j), 200);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(j, "paging"), "start_offset")), 0);
    json_decref(j);
    assert_int_equal(api(fx, "GET", "/meetings?search=m%25", NULL, &j), 200); /* literal % */
    assert_int_equal(json_array_size(json_object_get(j, "data")), 0);
    json_decref(j);
    assert_int_equal(api(fx, "GET", "/meetings?search=m3", NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "data")), 1);
    json_decref(j);
    assert_int_equal(api(fx, "GET", "/meetings?per_page=101", NULL, &j), 400);
    assert_non_null(strstr(err_message(j), "per_page"));
    json_decref(j);
    assert_int_equal(api(fx, "GET", "/meetings?page_no=0", NULL, &j), 400);
    assert_non_null(strstr(err_message(j), "page_no"));
    json_decref(j);
    assert_int_equal(api(fx, "GET", "/meetings?status=LIVE", NULL, &j), 400);
    assert_non_null(strstr(err_message(j), "status"));
    json_decref(j);
}

/* Preset writes and app creation (with its default presets) on a failed commit: 503 and
 * nothing stored. */
static void preset_writes_on_a_failed_commit(void **state)
{
    fixture *fx = *state;
    json_t *j = NULL;
    assert_int_equal(api(fx, "GET", "/presets?search=webinar_viewer", NULL, &j), 200);
    char path[128];
    snprintf(path, sizeof(path), "/presets/%s",
             json_string_value(
                 json_object_get(json_array_get(json_object_get(j, "data"), 0), "id")));
    json_decref(j);
    char apps[160];
    snprintf(apps, sizeof(apps), "/accounts/%s/realtime/kit/apps", fx->account);
    fault_vfs_fail_wal(1);
    assert_int_equal(api(fx, "PATCH", path, "{\"name\":\"renamed\"}", &j), 503);
    json_decref(j);
    assert_int_equal(api(fx, "DELETE", path, NULL, &j), 503);
    json_decref(j);
    assert_int_equal(call(fx, "POST", apps, fx->auth, "{\"name\":\"lost\"}", &j), 503);
    json_decref(j);
    fault_vfs_fail_wal(0);
    assert_int_equal(api(fx, "GET", path, NULL, &j), 200);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "data"), "name")), "webinar_viewer");
    json_decref(j);
    assert_int_equal(call(fx, "GET", apps, fx->auth, NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "data")), 1); /* no "lost" app */
    json_decref(j);
    assert_int_equal(api(fx, "GET", "/presets", NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "data")), 4);
    json_decref(j);
    /* Once space is back, the same writes go through. */
    assert_int_equal(call(fx, "POST", apps, fx->auth, "{\"name\":\"kept\"}", &j), 201);
    json_decref(j);
    assert_int_equal(api(fx, "PATCH", path, "{\"name\":\"renamed\"}", &j), 200);
    json_decref(j);
}

static void routing_404_405_and_health(void **state)
{
    fixture *fx = *state;
    json_t *j = NULL;
    assert_int_equal(call(fx, "GET", "/healthz", NULL, NULL, NULL), 200);
    assert_int_equal(call(fx, "GET", "/client/v4/readyz", NULL, NULL, NULL), 200);
    fx->ctx.stopping = 1;
    assert_int_equal(call(fx, "GET", "/readyz", NULL, NULL, NULL), 503);
    fx->ctx.stopping = 0;
    assert_int_equal(call(fx, "GET", "/nowhere", NULL, NULL, &j), 404);
    assert_false(json_is_true(json_object_get(j, "success")));
    json_decref(j);
    assert_int_equal(call(fx, "DELETE", "/healthz", NULL, NULL, NULL), 405);
}

/* A failed group commit (the disk filled up: every WAL write is refused) answers the waiting
 * writes 503 and stores nothing; once space is back, writes are stored again. */
static void failed_commit_answers_503_and_stores_nothing(void **state)
{
    fixture *fx = *state;
    json_t *j = NULL;
    assert_int_equal(api(fx, "POST", "/meetings", "{\"title\":\"kept\"}", &j), 201);
    char id[37], path[128];
    snprintf(id, sizeof(id), "%s",
             json_string_value(json_object_get(json_object_get(j, "data"), "id")));
    json_decref(j);
    snprintf(path, sizeof(path), "/meetings/%s", id);

    unsigned refused = fault_vfs_refused();
    fault_vfs_fail_wal(1);
    assert_int_equal(api(fx, "POST", "/meetings", "{\"title\":\"lost\"}", &j), 503);
    assert_non_null(strstr(err_message(j), "nothing was written"));
    json_decref(j);
    assert_int_equal(api(fx, "PATCH", path, "{\"title\":\"renamed\"}", &j), 503);
    json_decref(j);
    assert_true(fault_vfs_refused() > refused); /* the commit itself was refused */
    fault_vfs_fail_wal(0);

    /* Nothing of it is stored: one meeting, still called "kept". */
    assert_int_equal(api(fx, "GET", "/meetings", NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "data")), 1);
    json_decref(j);
    assert_int_equal(api(fx, "GET", path, NULL, &j), 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "data"), "title")),
                        "kept");
    json_decref(j);
    assert_int_equal(api(fx, "PATCH", path, "{\"title\":\"renamed\"}", &j), 200);
    json_decref(j);
}

/* A revoked token stops working at once, even when the revocation comes from another process
 * (the command line): the store's epoch moves and the cache is dropped. */
static void revocation_elsewhere_reaches_the_cache(void **state)
{
    fixture *fx = *state;
    json_t *j = NULL;
    assert_int_equal(api(fx, "GET", "/meetings", NULL, NULL), 200); /* cached now */
    char url[128];
    snprintf(url, sizeof(url), "sqlite:%s", fx->dir);
    rtk_store_config cfg = {.url = url, .quiet = 1};
    uv_loop_t loop;
    rtk_store *other = NULL;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(rtk_store_open(&loop, &cfg, &other), 0);
    rtk_store_kept k;
    rtk_store_token_list(other, fx->account, rtk_store_keep, &k);
    rtk_store_wait(other);
    char tid[33];
    snprintf(tid, sizeof(tid), "%s", rtk_store_text(&k.res.sets[0], 0, 0, NULL));
    rtk_store_kept_free(&k);
    rtk_store_token_revoke(other, tid, rtk_time_now_ms(), rtk_store_keep, &k);
    rtk_store_wait(other);
    assert_int_equal(k.status, 0);
    rtk_store_kept_free(&k);
    rtk_store_close(other);
    assert_int_equal(uv_loop_close(&loop), 0);
    rtk_persist_turn(fx->persist);
    rtk_store_turn(fx->ctx.store); /* a new loop turn */
    assert_int_equal(api(fx, "GET", "/meetings", NULL, &j), 401);
    json_decref(j);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(auth_missing_unknown_other_account),
        T(meeting_validation_names_the_field),
        T(meeting_defaults_patch_and_put),
        T(participant_validation_and_token),
        T(paging_offsets_and_limits),
        T(routing_404_405_and_health),
        T(failed_commit_answers_503_and_stores_nothing),
        T(preset_writes_on_a_failed_commit),
        T(revocation_elsewhere_reaches_the_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
