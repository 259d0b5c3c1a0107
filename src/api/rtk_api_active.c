/* SPDX-License-Identifier: MIT */
/* rtk_api_active.c - the Active Session endpoints: get, kick, kick-all (polls: rtk_api_polls.c).
 *
 * Checks run in one order for all of them: unknown meeting 404, bad body 400, no live session
 * 404, then the request's own checks. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api/rtk_api.h"
#include "http/rtk_reply.h"
#include "live/rtk_live.h"
#include "util/rtk_err.h"

#define KICK_MAX_IDS 1000

void rtk_api_active_get(rtk_call *call)
{
    const char *meeting_id = call->m.params[2];
    json_t *m = NULL;
    /* Hot path: a live meeting of this app is answered from memory, without the store. */
    const char *app = rtk_live_meeting_app(call->ctx->live, meeting_id);
    if (app != NULL && strcmp(app, call->app) == 0) {
        char buf[4096]; /* a title is at most 1024 bytes, escaped at most 6 times that... */
        int n = rtk_live_session_reply(call->ctx->live, meeting_id, buf, sizeof(buf));
        if (n > 0) {
            rtk_http_respond(call->req, 200, "application/json", NULL, buf, (size_t)n);
            return;
        }
        json_t *s = n < 0 ? rtk_live_session_json(call->ctx->live, meeting_id) : NULL;
        if (s != NULL) { /* ...so a long title with many escapes takes the general path */
            rtk_reply_data(call->req, 200, s, NULL);
            return;
        }
    }
    if (rtk_api_load_meeting(call, meeting_id, &m) != 0)
        return;
    json_decref(m);
    json_t *s = rtk_live_session_json(call->ctx->live, meeting_id);
    if (s == NULL) {
        rtk_api_no_session(call, meeting_id);
        return;
    }
    rtk_reply_data(call->req, 200, s, NULL);
}

/* Validates an optional array of id strings. Returns its size (0 when absent) or -1. */
static int id_list(rtk_call *call, json_t *body, const char *key)
{
    json_t *v = json_object_get(body, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_array(v)) {
        rtk_reply_error(call->req, 400, "\"%s\" must be an array of strings", key);
        return -1;
    }
    if (json_array_size(v) > KICK_MAX_IDS) {
        rtk_reply_error(call->req, 400, "\"%s\" may hold at most %d ids", key, KICK_MAX_IDS);
        return -1;
    }
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        if (!json_is_string(e) || json_string_length(e) == 0 || json_string_length(e) > 256) {
            rtk_reply_error(call->req, 400, "\"%s\" must be an array of non-empty strings", key);
            return -1;
        }
    }
    return (int)json_array_size(v);
}

void rtk_api_active_kick(rtk_call *call)
{
    const char *meeting_id = call->m.params[2];
    json_t *m = NULL, *body = NULL, *docs = NULL;
    const char **ids = NULL;
    int *was_live = NULL;
    if (rtk_api_load_meeting(call, meeting_id, &m) != 0)
        return;
    json_decref(m);
    if ((body = rtk_api_body(call)) == NULL)
        return;
    int np = id_list(call, body, "participant_ids");
    int nc = np < 0 ? -1 : id_list(call, body, "custom_participant_ids");
    if (np < 0 || nc < 0)
        goto out;
    if (np + nc == 0) {
        rtk_reply_error(call->req, 400,
                        "\"participant_ids\" or \"custom_participant_ids\" must name at least "
                        "one participant");
        goto out;
    }
    if (!rtk_live_has_session(call->ctx->live, meeting_id)) {
        rtk_api_no_session(call, meeting_id);
        goto out;
    }
    /* Resolve every id first: one unknown id refuses the whole kick. */
    docs = json_array();
    static const char *const keys[] = {"participant_ids", "custom_participant_ids"};
    for (int k = 0; k < 2; k++) {
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(body, keys[k]), i, e) {
            json_t *doc = NULL;
            const char *id = json_string_value(e);
            int rc = k == 0 ? rtk_db_participant_get(call->ctx->db, meeting_id, id, &doc)
                            : rtk_db_participant_by_custom(call->ctx->db, meeting_id, id, &doc);
            if (rc == RTK_ENOTFOUND) {
                rtk_reply_error(call->req, 404, "No user found with id %s", id);
                goto out;
            }
            if (rc != 0) {
                rtk_api_store_error(call, rc);
                goto out;
            }
            /* The same participant named twice (by both ids) is kicked and listed once. */
            const char *pid = json_string_value(json_object_get(doc, "id"));
            size_t j;
            json_t *d;
            int dup = 0;
            json_array_foreach(docs, j, d) {
                if (strcmp(json_string_value(json_object_get(d, "id")), pid) == 0)
                    dup = 1;
            }
            if (dup)
                json_decref(doc);
            else
                json_array_append_new(docs, doc);
        }
    }
    size_t n = json_array_size(docs);
    ids = rtk_xcalloc(n, sizeof(*ids));
    was_live = rtk_xcalloc(n, sizeof(*was_live));
    for (size_t i = 0; i < n; i++)
        ids[i] = json_string_value(json_object_get(json_array_get(docs, i), "id"));
    if (rtk_live_kick(call->ctx->live, meeting_id, ids, n, was_live) != 0) {
        rtk_api_no_session(call, meeting_id);
        goto out;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        if (!was_live[i])
            continue;
        json_t *d = json_array_get(docs, i);
        json_array_append_new(
            list, json_pack("{s:O,s:O,s:O,s:O,s:n,s:O}", "id", json_object_get(d, "id"),
                            "created_at", json_object_get(d, "created_at"), "updated_at",
                            json_object_get(d, "updated_at"), "name", json_object_get(d, "name"),
                            "email", "picture", json_object_get(d, "picture")));
    }
    /* The reply promises the kick is stored: it waits for the commit. */
    rtk_api_reply_committed(call, 200,
                            json_pack("{s:s,s:o}", "action", "kick", "participants", list));
out:
    free(ids);
    free(was_live);
    json_decref(docs);
    json_decref(body);
}

void rtk_api_active_kick_all(rtk_call *call)
{
    const char *meeting_id = call->m.params[2];
    json_t *m = NULL;
    int64_t count = 0;
    if (rtk_api_load_meeting(call, meeting_id, &m) != 0)
        return;
    json_decref(m);
    if (rtk_live_kick_all(call->ctx->live, meeting_id, &count) != 0) {
        rtk_api_no_session(call, meeting_id);
        return;
    }
    rtk_api_reply_committed(call, 200,
                            json_pack("{s:s,s:I}", "action", "kick_all",
                                      "kicked_participants_count", (json_int_t)count));
}
