/* SPDX-License-Identifier: MIT */
/* rtk_dev.c - dev-mode credentials, the console URL and the demo meeting's join links. */
#include "api/rtk_dev.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/rtk_api.h"
#include "auth/rtk_token.h"
#include "util/rtk_err.h"
#include "util/rtk_id.h"
#include "util/rtk_time.h"

/* The demo's two participants: custom id, name, preset. */
static const char *const demo_people[][3] = {
    {"demo-ann", "Ann", "group_call_host"},
    {"demo-bob", "Bob", "group_call_participant"},
};
#define N_DEMO_PEOPLE (sizeof(demo_people) / sizeof(demo_people[0]))

static int write_file_0600(const char *path, const char *text)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    size_t n = strlen(text);
    ssize_t w = write(fd, text, n);
    int rc = (w == (ssize_t)n && fsync(fd) == 0) ? 0 : -EIO;
    close(fd);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    return rc;
}

/* Waits for the operation issued just before; its result is in *k (free it). */
static int wait_kept(rtk_store *st, rtk_store_kept *k)
{
    rtk_store_wait(st);
    return k->done ? k->status : RTK_EUNAVAIL;
}

/* The first cell of the kept result's first set, into out[cap]. */
static void first_text(const rtk_store_kept *k, char *out, size_t cap)
{
    snprintf(out, cap, "%s", rtk_store_text(&k->res.sets[0], 0, 0, NULL));
}

static int put_doc(rtk_store *st, const char *app, const char *parent, json_t *doc, int meeting)
{
    rtk_store_doc row;
    rtk_store_kept k;
    rtk_api_doc_row(doc, &row);
    char *text = rtk_api_dump(doc);
    row.json = text;
    if (meeting)
        rtk_store_meeting_put(st, parent, &row, 1, rtk_store_keep, &k);
    else
        rtk_store_participant_put(st, app, parent, &row, 1, rtk_store_keep, &k);
    free(text);
    int rc = wait_kept(st, &k);
    if (rc == 0 && !meeting && k.res.changes == 0)
        rc = RTK_EINVAL; /* the app lacks the demo's preset (every app has the defaults) */
    rtk_store_kept_free(&k);
    return rc;
}

/* Finds the demo meeting of |app| (the oldest with exactly the demo title) or creates it, a
 * meeting with the defaults the REST API gives one. Writes its id to |id|. */
static int demo_meeting(rtk_store *st, const char *app, char id[37])
{
    rtk_store_page page = {.offset = 0, .limit = 100};
    rtk_store_kept k;
    rtk_store_meeting_list(st, app, RTK_DEV_DEMO_TITLE, NULL, INT64_MIN, INT64_MAX, page,
                           rtk_store_keep, &k);
    int rc = wait_kept(st, &k);
    if (rc != 0)
        return rc;
    /* The list is newest first, and "contains" matches: take the last exact title. */
    id[0] = '\0';
    const rtk_store_set *rows = &k.res.sets[1];
    for (size_t i = 0; i < rows->nrows; i++) {
        size_t len;
        const char *text = rtk_store_text(rows, i, 0, &len);
        json_t *m = json_loadb(text, len, 0, NULL);
        const char *title = json_string_value(json_object_get(m, "title"));
        if (title != NULL && strcmp(title, RTK_DEV_DEMO_TITLE) == 0)
            snprintf(id, 37, "%s", json_string_value(json_object_get(m, "id")));
        json_decref(m);
    }
    rtk_store_kept_free(&k);
    if (id[0] != '\0')
        return 0;

    char now[25];
    rtk_id_uuid4(id);
    rtk_time_iso(rtk_time_now_ms(), now);
    json_t *doc = json_pack("{s:s,s:s,s:s,s:b,s:b,s:b,s:b,s:b,s:i,s:n,s:n,s:s,s:s}", "id", id,
                            "title", RTK_DEV_DEMO_TITLE, "status", "ACTIVE", "record_on_start", 0,
                            "live_stream_on_start", 0, "persist_chat", 0, "summarize_on_end", 0,
                            "transcribe_on_end", 0, "session_keep_alive_time_in_secs", 60,
                            "ai_config", "recording_config", "created_at", now, "updated_at", now);
    rc = put_doc(st, app, app, doc, 1);
    json_decref(doc);
    return rc;
}

/* Finds or adds the demo participant |who| of |meeting|; writes its id to |id|. */
static int demo_participant(rtk_store *st, const char *app, const char *meeting,
                            const char *const who[3], char id[37])
{
    rtk_store_kept k;
    rtk_store_participant_get(st, meeting, who[0], 1, rtk_store_keep, &k);
    int rc = wait_kept(st, &k);
    if (rc == 0) {
        json_t *doc = NULL;
        size_t len;
        const char *text = rtk_store_text(&k.res.sets[0], 0, 0, &len);
        doc = json_loadb(text, len, 0, NULL);
        snprintf(id, 37, "%s", json_string_value(json_object_get(doc, "id")));
        json_decref(doc);
        rtk_store_kept_free(&k);
        return 0;
    }
    if (rc != RTK_ENOTFOUND)
        return rc;
    char now[25];
    rtk_id_uuid4(id);
    rtk_time_iso(rtk_time_now_ms(), now);
    json_t *doc = json_pack("{s:s,s:s,s:s,s:n,s:s,s:s,s:s}", "id", id, "custom_participant_id",
                            who[0], "name", who[1], "picture", "preset_name", who[2],
                            "created_at", now, "updated_at", now);
    rc = put_doc(st, app, meeting, doc, 0);
    json_decref(doc);
    return rc;
}

/* Prints the console URL and the demo meeting's join links (see rtk_dev.h). */
static int demo_setup(rtk_store *st, const char *app, const char *base_url, const uint8_t key[32])
{
    static const char api_suffix[] = "/client/v4";
    size_t n = strlen(base_url), sl = sizeof(api_suffix) - 1;
    int root_len = (int)(n >= sl && strcmp(base_url + n - sl, api_suffix) == 0 ? n - sl : n);
    char meeting[37];
    int rc;

    if ((rc = demo_meeting(st, app, meeting)) != 0)
        return rc;
    printf("rtkd: console: %.*s/  (sign in with account_id and api_token above)\n", root_len,
           base_url);
    printf("rtkd: demo meeting \"%s\" (%s): open each join link in its own browser tab\n",
           RTK_DEV_DEMO_TITLE, meeting);
    for (size_t i = 0; i < N_DEMO_PEOPLE; i++) {
        rtk_ptoken claims;
        char *tok = NULL;
        memset(&claims, 0, sizeof(claims));
        if ((rc = demo_participant(st, app, meeting, demo_people[i], claims.participant_id)) != 0)
            return rc;
        snprintf(claims.app_id, sizeof(claims.app_id), "%s", app);
        snprintf(claims.meeting_id, sizeof(claims.meeting_id), "%s", meeting);
        claims.iat = rtk_time_now_ms() / 1000;
        claims.exp = claims.iat + RTK_DEV_LINK_TTL_S;
        if ((rc = rtk_ptoken_sign(key, 32, &claims, &tok)) != 0)
            return rc;
        printf("  %s: %.*s/join?token=%s\n", demo_people[i][1], root_len, base_url, tok);
        free(tok);
    }
    fflush(stdout);
    return 0;
}

/* 1 when |token| is a live token of |account|. */
static int token_works(rtk_store *st, const char *token, const char *account)
{
    uint8_t hash[32];
    rtk_store_kept k;
    rtk_token_hash(token, strlen(token), hash);
    rtk_store_token_find(st, hash, rtk_store_keep, &k);
    int ok =
        wait_kept(st, &k) == 0 && strcmp(rtk_store_text(&k.res.sets[0], 0, 0, NULL), account) == 0;
    rtk_store_kept_free(&k);
    return ok;
}

int rtk_dev_setup(rtk_store *st, const char *dir, const char *base_url, const uint8_t key[32])
{
    char account[33], app[37], path[4096];
    char token[RTK_API_TOKEN_LEN + 1] = "";
    rtk_store_kept k;
    int rc;

    snprintf(path, sizeof(path), "%s/dev-credentials.json", dir);
    rtk_store_account_dev(st, rtk_store_keep, &k);
    rc = wait_kept(st, &k);
    if (rc == 0)
        first_text(&k, account, sizeof(account));
    rtk_store_kept_free(&k);
    if (rc == RTK_ENOTFOUND) {
        rtk_id_hex(account, 16);
        rtk_store_account_create(st, account, "dev", 1, rtk_time_now_ms(), rtk_store_keep, &k);
        rc = wait_kept(st, &k);
        rtk_store_kept_free(&k);
    }
    if (rc != 0)
        return rc;
    rtk_store_app_first(st, account, rtk_store_keep, &k);
    rc = wait_kept(st, &k);
    if (rc == 0)
        first_text(&k, app, sizeof(app));
    rtk_store_kept_free(&k);
    if (rc == RTK_ENOTFOUND) {
        rtk_id_uuid4(app);
        rtk_store_app_create(st, app, account, "dev app", rtk_time_now_ms(), rtk_store_keep, &k);
        rc = wait_kept(st, &k);
        rtk_store_kept_free(&k);
    }
    if (rc != 0)
        return rc;

    /* Keep the token of an earlier start when the file still has one that works. */
    json_t *old = json_load_file(path, 0, NULL);
    const char *prev = json_string_value(json_object_get(old, "api_token"));
    if (prev != NULL && strlen(prev) == RTK_API_TOKEN_LEN && token_works(st, prev, account))
        memcpy(token, prev, sizeof(token));
    json_decref(old);
    if (token[0] == '\0') {
        uint8_t hash[32];
        char token_id[33];
        rtk_token_mint(token, hash, token_id);
        rtk_store_token_create(st, token_id, account, "dev", hash, rtk_time_now_ms(),
                               rtk_store_keep, &k);
        rc = wait_kept(st, &k);
        rtk_store_kept_free(&k);
        if (rc != 0)
            return rc;
    }

    json_t *creds = json_pack("{s:s,s:s,s:s,s:s}", "account_id", account, "app_id", app,
                              "api_token", token, "base_url", base_url);
    char *text = json_dumps(creds, JSON_INDENT(2));
    json_decref(creds);
    size_t n = strlen(text);
    text = rtk_xrealloc(text, n + 2);
    memcpy(text + n, "\n", 2);
    rc = write_file_0600(path, text);
    if (rc == 0) {
        printf("rtkd: dev mode: credentials in %s\n%s", path, text);
        printf("rtkd: try it:\n  CLOUDFLARE_BASE_URL=%s CLOUDFLARE_API_TOKEN=%s\n", base_url,
               token);
        printf("  curl -H 'Authorization: Bearer %s' %s/accounts/%s/realtime/kit/%s/meetings\n",
               token, base_url, account, app);
        /* The README's examples (curl, examples/quickstart.mjs) start from these. */
        printf("rtkd: paste to follow the README's examples:\n"
               "export ACCOUNT=%s APP=%s TOKEN=%s BASE='%s'\n",
               account, app, token, base_url);
        fflush(stdout);
    }
    free(text);
    if (rc == 0)
        rc = demo_setup(st, app, base_url, key);
    return rc;
}
