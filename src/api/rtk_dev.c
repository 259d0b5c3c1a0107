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

#include "auth/rtk_keyfile.h"
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

/* Finds the demo meeting of |app| (the oldest with exactly the demo title) or creates it, a
 * meeting with the defaults the REST API gives one. Writes its id to |id|. */
static int demo_meeting(rtk_db *db, const char *app, char id[37])
{
    rtk_page page = {.offset = 0, .limit = 100};
    json_t *items = NULL;
    int64_t total = 0;
    int rc = rtk_db_meeting_list(db, app, RTK_DEV_DEMO_TITLE, NULL, INT64_MIN, INT64_MAX, page,
                                 &items, &total);
    if (rc != 0)
        return rc;
    /* The list is newest first, and "contains" matches: take the last exact title. */
    id[0] = '\0';
    size_t i;
    json_t *m;
    json_array_foreach(items, i, m) {
        const char *title = json_string_value(json_object_get(m, "title"));
        if (title != NULL && strcmp(title, RTK_DEV_DEMO_TITLE) == 0)
            snprintf(id, 37, "%s", json_string_value(json_object_get(m, "id")));
    }
    json_decref(items);
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
    rc = rtk_db_meeting_insert(db, app, doc);
    json_decref(doc);
    return rc;
}

/* Finds or adds the demo participant |who| of |meeting|; writes its id to |id|. */
static int demo_participant(rtk_db *db, const char *meeting, const char *const who[3],
                            char id[37])
{
    json_t *doc = NULL;
    int rc = rtk_db_participant_by_custom(db, meeting, who[0], &doc);
    if (rc == 0) {
        snprintf(id, 37, "%s", json_string_value(json_object_get(doc, "id")));
        json_decref(doc);
        return 0;
    }
    if (rc != RTK_ENOTFOUND)
        return rc;
    char now[25];
    rtk_id_uuid4(id);
    rtk_time_iso(rtk_time_now_ms(), now);
    doc = json_pack("{s:s,s:s,s:s,s:n,s:s,s:s,s:s}", "id", id, "custom_participant_id", who[0],
                    "name", who[1], "picture", "preset_name", who[2], "created_at", now,
                    "updated_at", now);
    rc = rtk_db_participant_insert(db, meeting, doc);
    json_decref(doc);
    return rc;
}

/* Prints the console URL and the demo meeting's join links (see rtk_dev.h). */
static int demo_setup(rtk_db *db, const char *dir, const char *app, const char *base_url)
{
    static const char api_suffix[] = "/client/v4";
    size_t n = strlen(base_url), sl = sizeof(api_suffix) - 1;
    int root_len = (int)(n >= sl && strcmp(base_url + n - sl, api_suffix) == 0 ? n - sl : n);
    char meeting[37];
    uint8_t key[32];
    int rc;

    if ((rc = rtk_keyfile_load(dir, key)) != 0)
        return rc;
    if ((rc = demo_meeting(db, app, meeting)) != 0)
        return rc;
    printf("rtkd: console: %.*s/  (sign in with account_id and api_token above)\n", root_len,
           base_url);
    printf("rtkd: demo meeting \"%s\" (%s): open each join link in its own browser tab\n",
           RTK_DEV_DEMO_TITLE, meeting);
    for (size_t i = 0; i < N_DEMO_PEOPLE; i++) {
        rtk_ptoken claims;
        char *tok = NULL;
        memset(&claims, 0, sizeof(claims));
        if ((rc = demo_participant(db, meeting, demo_people[i], claims.participant_id)) != 0)
            return rc;
        snprintf(claims.app_id, sizeof(claims.app_id), "%s", app);
        snprintf(claims.meeting_id, sizeof(claims.meeting_id), "%s", meeting);
        claims.iat = rtk_time_now_ms() / 1000;
        claims.exp = claims.iat + RTK_DEV_LINK_TTL_S;
        if ((rc = rtk_ptoken_sign(key, sizeof(key), &claims, &tok)) != 0)
            return rc;
        printf("  %s: %.*s/join?token=%s\n", demo_people[i][1], root_len, base_url, tok);
        free(tok);
    }
    fflush(stdout);
    return 0;
}

int rtk_dev_setup(rtk_db *db, const char *dir, const char *base_url)
{
    char account[33], app[37], token_id[33], path[4096];
    char *token = NULL;
    json_t *app_obj = NULL, *old = NULL;
    int rc;

    snprintf(path, sizeof(path), "%s/dev-credentials.json", dir);
    if ((rc = rtk_db_account_dev(db, account)) == RTK_ENOTFOUND)
        rc = rtk_db_account_create(db, "dev", 1, account);
    if (rc != 0)
        return rc;
    if ((rc = rtk_db_app_first(db, account, app)) == RTK_ENOTFOUND) {
        if ((rc = rtk_db_app_create(db, account, "dev app", &app_obj)) != 0)
            return rc;
        snprintf(app, sizeof(app), "%s", json_string_value(json_object_get(app_obj, "id")));
        json_decref(app_obj);
    } else if (rc != 0) {
        return rc;
    }

    /* Keep the token of an earlier start when the file still has one that works. */
    old = json_load_file(path, 0, NULL);
    const char *prev = json_string_value(json_object_get(old, "api_token"));
    char owner[33];
    if (prev != NULL && rtk_db_token_check(db, prev, strlen(prev), owner, NULL) == 0 &&
        strcmp(owner, account) == 0)
        token = rtk_xstrndup(prev, strlen(prev));
    json_decref(old);
    if (token == NULL && (rc = rtk_db_token_create(db, account, "dev", &token, token_id)) != 0)
        return rc;

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
        fflush(stdout);
    }
    free(text);
    free(token);
    if (rc == 0)
        rc = demo_setup(db, dir, app, base_url);
    return rc;
}
