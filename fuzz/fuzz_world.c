/* SPDX-License-Identifier: MIT */
/* fuzz_world.c - the in-process server shared by the stateful harnesses (see fuzz_world.h). */
#include "fuzz_world.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/rtk_preset.h"
#include "auth/rtk_token.h"
#include "chan/rtk_chan.h"
#include "store/rtk_store.h"
#include "util/rtk_id.h"
#include "util/rtk_ratelimit.h"
#include "util/rtk_time.h"

const uint8_t fuzz_world_key[32] = "rtkd-fuzz-signing-key-32-bytes!";

const char *const fuzz_world_parts[FW_NPART] = {FW_PART0, FW_PART1, FW_PART2};
static const char *const customs[FW_NPART] = {FW_CUSTOM0, FW_CUSTOM1, FW_CUSTOM2};
static const char *const names[FW_NPART] = {"Ann", "Bob", NULL};
static const char *const presets[FW_NPART] = {"group_call_host", "group_call_participant",
                                              "webinar_viewer"};

static void die(const char *what)
{
    fprintf(stderr, "fuzz_world: %s failed\n", what);
    abort();
}

static void make_dir(fuzz_world *w)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(w->dir, sizeof(w->dir), "%s/rtk-fuzz-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (mkdtemp(w->dir) == NULL)
        die("mkdtemp");
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* Waits for the store operation just issued; dies if it failed. */
static void must(fuzz_world *w, rtk_store_kept *k, const char *what)
{
    rtk_store_wait(w->ctx.store);
    if (!k->done || k->status != 0)
        die(what);
    rtk_store_kept_free(k);
}

static void put_doc(fuzz_world *w, const char *parent, json_t *doc, int meeting)
{
    rtk_store_doc row;
    rtk_store_kept k;
    rtk_api_doc_row(doc, &row);
    char *text = rtk_api_dump(doc);
    row.json = text;
    if (meeting)
        rtk_store_meeting_put(w->ctx.store, parent, &row, 1, rtk_store_keep, &k);
    else
        rtk_store_participant_put(w->ctx.store, w->app, parent, &row, 1, rtk_store_keep, &k);
    free(text);
    must(w, &k, meeting ? "meeting insert" : "participant insert");
}

static void add_meeting(fuzz_world *w)
{
    char now[25];
    rtk_time_iso(rtk_time_now_ms(), now);
    json_t *doc =
        json_pack("{s:s,s:s,s:s,s:b,s:b,s:b,s:b,s:b,s:i,s:n,s:n,s:s,s:s}", "id", FW_MEETING,
                  "title", "Fuzz standup", "status", "ACTIVE", "record_on_start", 0,
                  "live_stream_on_start", 0, "persist_chat", 0, "summarize_on_end", 0,
                  "transcribe_on_end", 0, "session_keep_alive_time_in_secs", 60, "ai_config",
                  "recording_config", "created_at", now, "updated_at", now);
    put_doc(w, w->app, doc, 1);
    json_decref(doc);
}

static void add_participant(fuzz_world *w, int i)
{
    char now[25];
    rtk_time_iso(rtk_time_now_ms(), now);
    json_t *doc = json_pack("{s:s,s:s,s:s?,s:n,s:s,s:s,s:s}", "id", fuzz_world_parts[i],
                            "custom_participant_id", customs[i], "name", names[i], "picture",
                            "preset_name", presets[i], "created_at", now, "updated_at", now);
    put_doc(w, FW_MEETING, doc, 0);
    json_decref(doc);

    rtk_ptoken claims;
    memset(&claims, 0, sizeof(claims));
    snprintf(claims.app_id, sizeof(claims.app_id), "%s", w->app);
    snprintf(claims.meeting_id, sizeof(claims.meeting_id), "%s", FW_MEETING);
    snprintf(claims.participant_id, sizeof(claims.participant_id), "%s", fuzz_world_parts[i]);
    claims.iat = rtk_time_now_ms() / 1000;
    claims.exp = claims.iat + 7 * 86400;
    if (rtk_ptoken_sign(fuzz_world_key, sizeof(fuzz_world_key), &claims, &w->ptoken[i]) != 0)
        die("ptoken sign");
}

static void on_turn(uv_prepare_t *h)
{
    fuzz_world *w = h->data;
    rtk_store_turn(w->ctx.store);
    rtk_live_turn_end(w->ctx.live);
    rtk_chan_flush();
}

void fuzz_world_open(fuzz_world *w, const rtk_live_transport *tr, int serve)
{
    memset(w, 0, sizeof(*w));
    make_dir(w);
    if (uv_loop_init(&w->loop) != 0)
        die("uv_loop_init");
    w->ctx.loop = &w->loop;
    memcpy(w->ctx.signing_key, fuzz_world_key, sizeof(fuzz_world_key));
    w->ctx.ptoken_ttl_s = 3600;
    rtk_ratelimit_init(&w->ctx.api_rl, 0, 0, 0);
    rtk_ratelimit_init(&w->ctx.ws_rl, 0, 0, 0);
    char url[300];
    snprintf(url, sizeof(url), "sqlite:%s", w->dir);
    rtk_store_config scfg = {.url = url, .quiet = 1};
    if (rtk_store_open(&w->loop, &scfg, &w->ctx.store) != 0)
        die("rtk_store_open");
    rtk_store_kept k;
    uint8_t hash[32];
    rtk_id_hex(w->account, 16);
    rtk_store_account_create(w->ctx.store, w->account, "fuzz", 0, rtk_time_now_ms(), rtk_store_keep,
                             &k);
    must(w, &k, "account create");
    rtk_token_mint(w->api_token, hash, w->token_id);
    rtk_store_token_create(w->ctx.store, w->token_id, w->account, "fuzz", hash, rtk_time_now_ms(),
                           rtk_store_keep, &k);
    must(w, &k, "token create");
    rtk_id_uuid4(w->app);
    rtk_store_app_create(w->ctx.store, w->app, w->account, "fuzz app", rtk_time_now_ms(),
                         rtk_store_keep, &k);
    must(w, &k, "app create");
    add_meeting(w);
    for (int i = 0; i < FW_NPART; i++)
        add_participant(w, i);

    rtk_live_config lcfg = {
        .heartbeat_ms = 25000,
        .tick_ms = 100,
        .msg_rate = -1, /* flood control off: the fuzzer must reach the handlers */
    };
    if (rtk_live_new(&w->loop, &lcfg, tr, &w->ctx.live) != 0)
        die("rtk_live_new");
    w->persist = rtk_persist_new(w->ctx.store, w->ctx.live);
    rtk_chan_set_kick(rtk_api_chan_kick, &w->ctx);
    if (serve) {
        /* The limits of `rtkd serve` (src/server/rtk_server.c). */
        rtk_http_config cfg = {
            .max_head = 16 * 1024,
            .max_body = 1024 * 1024,
            .head_timeout_ms = 10000,
            .keepalive_timeout_ms = 75000,
        };
        if (rtk_http_server_start(&w->loop, "127.0.0.1", 0, &cfg, rtk_api_handle, &w->ctx,
                                  &w->http) != 0)
            die("rtk_http_server_start");
        w->port = rtk_http_server_port(w->http);
    }
    uv_prepare_init(&w->loop, &w->turn);
    w->turn.data = w;
    uv_prepare_start(&w->turn, on_turn);
    uv_unref((uv_handle_t *)&w->turn);
}

static void set_flag(void *arg)
{
    *(int *)arg = 1;
}

void fuzz_world_close(fuzz_world *w)
{
    int done = 0;
    w->ctx.stopping = 1;
    if (w->http != NULL) {
        rtk_http_server_stop(w->http, set_flag, &done);
        while (!done)
            uv_run(&w->loop, UV_RUN_ONCE);
        w->http = NULL;
    }
    done = 0;
    rtk_live_shutdown(w->ctx.live, set_flag, &done);
    while (!done)
        uv_run(&w->loop, UV_RUN_ONCE);
    rtk_chan_stop();
    uv_close((uv_handle_t *)&w->turn, NULL);
    rtk_store_close(w->ctx.store);
    rtk_persist_free(w->persist);
    rtk_live_free(w->ctx.live);
    while (uv_loop_close(&w->loop) != 0)
        uv_run(&w->loop, UV_RUN_NOWAIT);
    rtk_ratelimit_free(&w->ctx.api_rl);
    rtk_ratelimit_free(&w->ctx.ws_rl);
    rtk_api_ctx_free(&w->ctx);
    for (int i = 0; i < FW_NPART; i++)
        free(w->ptoken[i]);
    remove_dir(w->dir);
    memset(w, 0, sizeof(*w));
}

rtk_peer *fuzz_world_join(fuzz_world *w, int i, void *conn)
{
    rtk_join_info ji = {
        .app_id = w->app,
        .meeting_id = FW_MEETING,
        .title = "Fuzz standup",
        .keep_alive_s = 60,
        .participant_id = fuzz_world_parts[i],
        .custom_id = customs[i],
        .name = names[i],
        .preset_name = presets[i],
        .permissions = rtk_preset_default_permissions(presets[i]),
    };
    ji.permissions_len = strlen(ji.permissions);
    rtk_perms_from_json(ji.permissions, ji.permissions_len, &ji.perms);
    return rtk_live_join(w->ctx.live, &ji, conn);
}

void fuzz_world_turn(fuzz_world *w)
{
    uv_run(&w->loop, UV_RUN_NOWAIT);
    rtk_store_turn(w->ctx.store);
    rtk_live_turn_end(w->ctx.live);
    rtk_chan_flush();
}

char *fuzz_expand(const uint8_t *in, size_t len, const char *const *keys, const char *const *vals,
                  size_t nkeys, size_t *out_len)
{
    size_t cap = len + 1, n = 0;
    char *out = malloc(cap);
    if (out == NULL)
        abort();
    for (size_t i = 0; i < len;) {
        const char *rep = NULL;
        size_t klen = 1;
        for (size_t k = 0; in[i] == '$' && k < nkeys && rep == NULL; k++) {
            size_t kl = strlen(keys[k]);
            if (len - i >= kl && memcmp(in + i, keys[k], kl) == 0) {
                rep = vals[k];
                klen = kl;
            }
        }
        size_t rl = rep ? strlen(rep) : 1;
        if (n + rl + 1 > cap) {
            cap = (n + rl + 1) * 2;
            out = realloc(out, cap);
            if (out == NULL)
                abort();
        }
        if (rep)
            memcpy(out + n, rep, rl);
        else
            out[n] = (char)in[i];
        n += rl;
        i += klen;
    }
    out[n] = '\0';
    *out_len = n;
    return out;
}

char *fuzz_world_expand(const fuzz_world *w, const uint8_t *in, size_t len, size_t *out_len)
{
    const char *const keys[] = {"$ACC", "$APP", "$TOK", "$PTK0", "$PTK1", "$PTK2"};
    const char *const vals[] = {w->account,   w->app,       w->api_token,
                                w->ptoken[0], w->ptoken[1], w->ptoken[2]};
    return fuzz_expand(in, len, keys, vals, sizeof(keys) / sizeof(keys[0]), out_len);
}
