/* SPDX-License-Identifier: MIT */
/* fuzz_json_api.c - libFuzzer harness: every REST route that reads a JSON body, through the
 * real dispatch and handlers.
 *
 * Surface: the request body of POST apps, POST meetings, PATCH and PUT of a meeting, POST
 * participants, PATCH of a participant, POST kick and POST poll: rtk_api_body() and each
 * handler's field validators, then the store and the live layer for what they accept.
 *
 * Sans-I/O: each input becomes one request built with rtk_http_fake_new()
 * (tests/support/http_fake.h), which runs the real parser (http/rtk_h1.h) with the server's
 * default limits (16 KiB head, 1 MiB body), and goes to rtk_api_handle() with an
 * authenticated API token, exactly as a socket's request would; the response is recorded
 * instead of sent. No socket, so it runs fast and reproduces exactly. The world (fuzz_world.c)
 * holds the account, app, the meeting FW_MEETING with participants FW_PART0..2 (custom ids
 * fuzz-ann, fuzz-bob, fuzz-cy), of which 0 and 1 are connected to its live session (so kicks and
 * polls reach their live paths).
 *
 * Also the preset bodies: POST presets, PATCH and PUT of the app's default webinar_presenter
 * (which no participant uses, so renames go through), against the preset schema, the merge
 * and the store's uniqueness and in-use rules.
 *
 * And the webhook bodies (../shared/WEBHOOKS.md): POST webhooks, PATCH and PUT of one webhook
 * made with the world, against the field checks (rtk_api_webhook_check) and the merge.
 *
 * Input: the first byte picks the route (bits 0-2), which participant a PATCH names (bits 3-4;
 * for route 0, bits 3-4 pick POST apps, POST presets, PATCH or PUT of the preset; for route 6,
 * the kick or POST webhooks, PATCH or PUT of the webhook),
 * whether the meeting's live session is ended first (bits 5 and 6 both set: the "no active
 * session" answers; rarer, as ending and rejoining costs store writes) and the "/client/v4"
 * prefix (bit 7); the rest is the body.
 *
 * Checked: the handler answers within the loop turns that complete its store calls (SQLite
 * answers within the turn); the status is 2xx or 4xx, never 5xx; the body is a
 * JSON object whose "success" is true exactly for 2xx; after a 2xx that wrote a meeting or a
 * participant or a preset or a webhook, GET gives back exactly the object the write answered
 * (token aside), and a preset written by a PATCH merge is still a whole preset of the schema,
 * a webhook still a whole webhook. Live peers
 * are only ever sent valid JSON text frames.
 *
 * Bounded: a kicked peer ends the session and everyone rejoins a fresh one; the session is
 * renewed every SESSION_EVERY inputs (polls pile up in it) and the whole world, store
 * included, every WORLD_EVERY inputs.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/rtk_api.h"
#include "chan/rtk_chan_msg.h"
#include "fuzz_world.h"
#include "support/http_fake.h"
#include "net/rtk_ws.h"
#include "util/rtk_err.h"
#include "util/rtk_id.h"

#define SESSION_EVERY 1024
#define WORLD_EVERY 16384
#define NJOINED 2

typedef struct fake_conn {
    int closed;
} fake_conn;

static fuzz_world world;
static char preset_id[37]; /* the world app's webinar_presenter */
static char hook_id[37];   /* a webhook of the world app */
static fake_conn conns[NJOINED];
static unsigned runs;

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_json_api: invariant broken: %s\n", what);
    abort();
}

static int fake_send(void *conn, rtk_live_msg *msg, const char *ref, size_t ref_len)
{
    fake_conn *c = conn;
    if (c->closed)
        fail("a frame sent to a closed connection");
    rtk_frame *f = rtk_chan_msg_frame(msg, ref, ref_len, 25000);
    int op = f->data[0] & 0x0f;
    size_t plen = f->data[1] & 0x7f, hlen = 2;
    if (plen == 126) {
        plen = (size_t)f->data[2] << 8 | f->data[3];
        hlen = 4;
    } else if (plen == 127) {
        plen = 0;
        for (int i = 0; i < 8; i++)
            plen = plen << 8 | f->data[2 + i];
        hlen = 10;
    }
    if (hlen + plen != f->len)
        fail("frame length does not match its header");
    if (op == RTK_WS_OP_TEXT) {
        json_t *m = json_loadb((const char *)f->data + hlen, plen, 0, NULL);
        if (!json_is_object(m) || !json_is_string(json_object_get(m, "type")))
            fail("a server message that is not a JSON object with a string \"type\"");
        json_decref(m);
    } else if (op != RTK_WS_OP_PING) {
        fail("a server frame that is neither text nor ping");
    }
    rtk_frame_unref(f);
    return 0;
}

static void fake_close(void *conn, int why)
{
    fake_conn *c = conn;
    (void)why;
    c->closed = 1;
}

static const rtk_live_transport fake = {
    .send = fake_send, .release = rtk_chan_msg_release, .close = fake_close};

static void on_count(void *arg, int status, int64_t count)
{
    (void)arg;
    (void)count;
    if (status != 0)
        fail("kick-all was not stored");
}

static void kick_all(void)
{
    rtk_live_kick_all(world.ctx.live, FW_MEETING, on_count, NULL);
    fuzz_world_turn(&world);
}

static void join_all(void)
{
    memset(conns, 0, sizeof(conns));
    for (int i = 0; i < NJOINED; i++)
        if (fuzz_world_join(&world, i, &conns[i]) == NULL)
            fail("join");
    fuzz_world_turn(&world);
}

static void new_session(void)
{
    kick_all();
    join_all();
}

static void new_world(void)
{
    if (world.ctx.live != NULL)
        fuzz_world_close(&world);
    fuzz_world_open(&world, &fake, 0);
    rtk_store_kept k;
    rtk_store_preset_get(world.ctx.store, world.app, "webinar_presenter", 1, rtk_store_keep, &k);
    rtk_store_wait(world.ctx.store);
    if (!k.done || k.status != 0)
        fail("the app has no default webinar_presenter");
    snprintf(preset_id, sizeof(preset_id), "%s", rtk_store_text(&k.res.sets[0], 0, 0, NULL));
    rtk_store_kept_free(&k);
    rtk_id_uuid4(hook_id);
    rtk_store_webhook w = {.id = hook_id,
                           .name = "fuzz",
                           .url = "http://127.0.0.1:9/hook",
                           .events = "[\"meeting.started\"]",
                           .enabled = 1,
                           .created_ms = 1,
                           .updated_ms = 1};
    rtk_store_webhook_put(world.ctx.store, world.app, &w, 1, rtk_store_keep, &k);
    rtk_store_wait(world.ctx.store);
    if (!k.done || k.status != 0)
        fail("the world's webhook was not stored");
    rtk_store_kept_free(&k);
    join_all();
}

static void cleanup(void)
{
    if (world.ctx.live != NULL)
        fuzz_world_close(&world);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    new_world();
    atexit(cleanup);
    return 0;
}

/* The route of selector |sel| as method and target. */
static const char *route(uint8_t sel, char *target, size_t cap)
{
    const char *base = (sel & 0x80) ? "/client/v4/accounts" : "/accounts";
    const char *part = fuzz_world_parts[((sel >> 3) & 3) % FW_NPART];
    const char *method = "POST";
    int n = snprintf(target, cap, "%s/%s/realtime/kit/", base, world.account);
    switch (sel & 7) {
    case 0:
        switch ((sel >> 3) & 3) {
        case 0: snprintf(target + n, cap - (size_t)n, "apps"); break;
        case 1: snprintf(target + n, cap - (size_t)n, "%s/presets", world.app); break;
        default:
            method = ((sel >> 3) & 3) == 2 ? "PATCH" : "PUT";
            snprintf(target + n, cap - (size_t)n, "%s/presets/%s", world.app, preset_id);
            break;
        }
        break;
    case 1: snprintf(target + n, cap - (size_t)n, "%s/meetings", world.app); break;
    case 2:
    case 3:
        method = (sel & 7) == 2 ? "PATCH" : "PUT";
        snprintf(target + n, cap - (size_t)n, "%s/meetings/%s", world.app, FW_MEETING);
        break;
    case 4:
        snprintf(target + n, cap - (size_t)n, "%s/meetings/%s/participants", world.app, FW_MEETING);
        break;
    case 5:
        method = "PATCH";
        snprintf(target + n, cap - (size_t)n, "%s/meetings/%s/participants/%s", world.app,
                 FW_MEETING, part);
        break;
    case 6:
        switch ((sel >> 3) & 3) {
        case 0:
            snprintf(target + n, cap - (size_t)n, "%s/meetings/%s/active-session/kick", world.app,
                     FW_MEETING);
            break;
        case 1: snprintf(target + n, cap - (size_t)n, "%s/webhooks", world.app); break;
        default:
            method = ((sel >> 3) & 3) == 2 ? "PATCH" : "PUT";
            snprintf(target + n, cap - (size_t)n, "%s/webhooks/%s", world.app, hook_id);
            break;
        }
        break;
    default:
        snprintf(target + n, cap - (size_t)n, "%s/meetings/%s/active-session/poll", world.app,
                 FW_MEETING);
        break;
    }
    return method;
}

/* Sends one request and returns its answer's parsed body (new reference) and *status, after
 * the checks every answer must pass. */
static json_t *call(const char *method, const char *target, const void *body, size_t len,
                    int *status)
{
    char headers[512];
    snprintf(headers, sizeof(headers),
             "Authorization: Bearer %s\r\nContent-Type: application/json\r\n", world.api_token);
    rtk_http_req *req = NULL;
    if (rtk_http_fake_new(method, target, headers, body, len, &world.ctx, &req) != 0)
        fail("rtk_http_fake_new refused a well-formed request");
    rtk_api_handle(req);
    rtk_http_fake_resp resp;
    for (int i = 0; i < 8 && rtk_http_fake_response(req, &resp) != 0; i++)
        rtk_store_turn(world.ctx.store);
    if (rtk_http_fake_response(req, &resp) != 0)
        fail("the handler did not answer");
    if (resp.status >= 500 || resp.status < 200 || (resp.status >= 300 && resp.status < 400)) {
        fprintf(stderr, "fuzz_json_api: %s %s -> %d\n%.*s\n", method, target, resp.status,
                (int)resp.body_len, resp.body ? resp.body : "");
        fail("an answer that is neither 2xx nor 4xx");
    }
    json_t *j = json_loadb(resp.body ? resp.body : "", resp.body_len, 0, NULL);
    json_t *success = json_object_get(j, "success");
    if (!json_is_boolean(success) || json_is_true(success) != (resp.status < 300)) {
        fprintf(stderr, "fuzz_json_api: %d %.*s\n", resp.status, (int)resp.body_len,
                resp.body ? resp.body : "");
        fail("the body is not a JSON envelope that matches the status");
    }
    *status = resp.status;
    rtk_http_fake_free(req);
    return j;
}

/* What a write answered is what a read gives back: GET the meeting, participant or preset
 * the answer |data| describes and compare (a participant's answer also carries a fresh
 * token). A preset must still be a whole one. */
static void check_stored(int route_no, const json_t *data)
{
    char target[512];
    int n = snprintf(target, sizeof(target), "/accounts/%s/realtime/kit/%s/%s/", world.account,
                     world.app,
                     route_no == 0   ? "presets"
                     : route_no == 6 ? "webhooks"
                                     : "meetings");
    const char *id = json_string_value(json_object_get(data, "id"));
    if (id == NULL)
        fail("a 2xx answer without the object's id");
    if (route_no == 0) {
        json_t *whole = json_deep_copy(data);
        json_object_del(whole, "id");
        json_object_del(whole, "created_at");
        json_object_del(whole, "updated_at");
        char msg[640];
        if (rtk_api_preset_check(whole, 1, msg, sizeof(msg)) != 0) {
            fprintf(stderr, "fuzz_json_api: %s\n", msg);
            fail("a stored preset is not a whole preset");
        }
        json_decref(whole);
    }
    if (route_no == 6) {
        json_t *whole = json_deep_copy(data);
        json_object_del(whole, "id");
        json_object_del(whole, "created_at");
        json_object_del(whole, "updated_at");
        char msg[160];
        if (rtk_api_webhook_check(whole, 1, msg, sizeof(msg)) != 0) {
            fprintf(stderr, "fuzz_json_api: %s\n", msg);
            fail("a stored webhook is not a whole webhook");
        }
        json_decref(whole);
    }
    if (route_no <= 3 || route_no == 6)
        snprintf(target + n, sizeof(target) - (size_t)n, "%s", id);
    else
        snprintf(target + n, sizeof(target) - (size_t)n, "%s/participants/%s", FW_MEETING, id);
    int status = 0;
    json_t *got = call("GET", target, NULL, 0, &status);
    json_t *want = json_deep_copy(data);
    json_object_del(want, "token");
    if (status != 200 || !json_equal(json_object_get(got, "data"), want)) {
        char *a = json_dumps(want, JSON_COMPACT), *b = json_dumps(got, JSON_COMPACT);
        fprintf(stderr, "fuzz_json_api: answered %s\nstored   %s\n", a, b);
        fail("GET does not give back what the write answered");
    }
    json_decref(want);
    json_decref(got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    runs++;
    if (runs % WORLD_EVERY == 0)
        new_world();
    else if (runs % SESSION_EVERY == 0)
        new_session();

    int no_session = (data[0] & 0x60) == 0x60;
    if (no_session)
        kick_all();
    char target[512];
    const char *method = route(data[0], target, sizeof(target));
    int status = 0;
    json_t *body = call(method, target, data + 1, size - 1, &status);
    int route_no = data[0] & 7;
    int preset = route_no == 0 && (data[0] & 0x18) != 0;
    int hook = route_no == 6 && (data[0] & 0x18) != 0;
    if (status < 300 && ((route_no >= 1 && route_no <= 5) || preset || hook))
        check_stored(route_no, json_object_get(body, "data"));
    json_decref(body);

    fuzz_world_turn(&world);
    if (no_session)
        join_all();
    for (int i = 0; i < NJOINED; i++)
        if (conns[i].closed) {
            new_session();
            break;
        }
    return 0;
}
