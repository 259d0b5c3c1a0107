/* SPDX-License-Identifier: MIT */
/* rtk_api_participants.c - add, list, get, edit, delete participants; refresh their tokens. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api/rtk_api.h"
#include "auth/rtk_token.h"
#include "http/rtk_reply.h"
#include "live/rtk_live.h"
#include "util/rtk_err.h"
#include "util/rtk_id.h"
#include "util/rtk_time.h"

#define CUSTOM_ID_MAX 256
#define PRESET_MAX 256
#define NAME_MAX_LEN 256
#define PICTURE_MAX 2048

/* Signs a fresh participant token for |participant_id| in the call's meeting. Returns a new
 * JSON string. */
static json_t *new_token(rtk_call *call, const char *meeting_id, const char *participant_id)
{
    rtk_ptoken claims;
    char *tok = NULL;
    memset(&claims, 0, sizeof(claims));
    snprintf(claims.app_id, sizeof(claims.app_id), "%s", call->app);
    snprintf(claims.meeting_id, sizeof(claims.meeting_id), "%s", meeting_id);
    snprintf(claims.participant_id, sizeof(claims.participant_id), "%s", participant_id);
    claims.iat = rtk_time_now_ms() / 1000;
    claims.exp = claims.iat + call->ctx->ptoken_ttl_s;
    rtk_ptoken_sign(call->ctx->signing_key, sizeof(call->ctx->signing_key), &claims, &tok);
    json_t *s = json_string(tok);
    free(tok);
    return s;
}

/* Checks the meeting exists; 0 or -1 after answering 404/500. */
static int check_meeting(rtk_call *call)
{
    json_t *m = NULL;
    if (rtk_api_load_meeting(call, call->m.params[2], &m) != 0)
        return -1;
    json_decref(m);
    return 0;
}

static int load_participant(rtk_call *call, json_t **doc)
{
    int rc = rtk_db_participant_get(call->ctx->db, call->m.params[2], call->m.params[3], doc);
    if (rc == RTK_ENOTFOUND) {
        rtk_reply_error(call->req, 404, "No participant found with id %s", call->m.params[3]);
        return -1;
    }
    if (rc != 0) {
        rtk_api_store_error(call, rc);
        return -1;
    }
    return 0;
}

/* Validates name, picture and preset_name of |body| and copies the given ones into |doc|. */
static int apply_fields(rtk_call *call, json_t *body, json_t *doc)
{
    const char *name = NULL, *picture = NULL, *preset = NULL;
    if (rtk_api_opt_string(call, body, "name", 1, NAME_MAX_LEN, &name) != 0 ||
        rtk_api_opt_string(call, body, "picture", 1, PICTURE_MAX, &picture) != 0 ||
        rtk_api_opt_string(call, body, "preset_name", 1, PRESET_MAX, &preset) != 0)
        return -1;
    if (json_is_string(json_object_get(body, "preset_name")) && preset[0] == '\0') {
        rtk_reply_error(call->req, 400, "\"preset_name\" must not be empty");
        return -1;
    }
    if (json_object_get(body, "name") != NULL)
        json_object_set_new(doc, "name", name ? json_string(name) : json_null());
    if (json_object_get(body, "picture") != NULL)
        json_object_set_new(doc, "picture", picture ? json_string(picture) : json_null());
    if (preset != NULL)
        json_object_set_new(doc, "preset_name", json_string(preset));
    return 0;
}

void rtk_api_participants_add(rtk_call *call)
{
    const char *meeting_id = call->m.params[2];
    json_t *body = NULL, *doc = NULL;
    const char *custom = NULL;
    if (check_meeting(call) != 0 || (body = rtk_api_body(call)) == NULL)
        return;
    if (rtk_api_opt_string(call, body, "custom_participant_id", 0, CUSTOM_ID_MAX, &custom) != 0)
        goto out;
    if (custom == NULL || custom[0] == '\0') {
        rtk_reply_error(call->req, 400, "\"custom_participant_id\" is required");
        goto out;
    }
    if (!json_is_string(json_object_get(body, "preset_name"))) {
        if (json_object_get(body, "preset_name") == NULL)
            rtk_reply_error(call->req, 400, "\"preset_name\" is required");
        else
            rtk_reply_error(call->req, 400, "\"preset_name\" must be a string");
        goto out;
    }
    char id[37], now[25];
    rtk_id_uuid4(id);
    rtk_time_iso(rtk_time_now_ms(), now);
    doc = json_pack("{s:s,s:s,s:n,s:n,s:s,s:s,s:s}", "id", id, "custom_participant_id", custom,
                    "name", "picture", "preset_name", "", "created_at", now, "updated_at", now);
    if (apply_fields(call, body, doc) != 0)
        goto out;
    int rc = rtk_db_participant_insert(call->ctx->db, meeting_id, doc);
    if (rc == RTK_EEXIST) {
        rtk_reply_error(call->req, 400,
                        "A participant with custom_participant_id \"%s\" already exists in "
                        "meeting %s",
                        custom, meeting_id);
        goto out;
    }
    if (rc != 0) {
        rtk_api_store_error(call, rc);
        goto out;
    }
    json_object_set_new(doc, "token", new_token(call, meeting_id, id));
    rtk_api_reply_committed(call, 201, json_incref(doc));
out:
    json_decref(doc);
    json_decref(body);
}

void rtk_api_participants_list(rtk_call *call)
{
    rtk_page page;
    json_t *items = NULL;
    int64_t total = 0;
    if (check_meeting(call) != 0 || rtk_api_paging(call, &page) != 0)
        return;
    int rc = rtk_db_participant_list(call->ctx->db, call->m.params[2], page, &items, &total);
    if (rc != 0) {
        rtk_api_store_error(call, rc);
        return;
    }
    json_t *paging = rtk_reply_paging(total, page.offset, json_array_size(items));
    rtk_reply_data(call->req, 200, items, paging);
}

void rtk_api_participant_get(rtk_call *call)
{
    json_t *doc = NULL;
    if (check_meeting(call) != 0 || load_participant(call, &doc) != 0)
        return;
    rtk_reply_data(call->req, 200, doc, NULL);
}

void rtk_api_participant_edit(rtk_call *call)
{
    json_t *doc = NULL, *body = NULL;
    if (check_meeting(call) != 0 || load_participant(call, &doc) != 0)
        return;
    if ((body = rtk_api_body(call)) == NULL || apply_fields(call, body, doc) != 0)
        goto out;
    rtk_api_touch(doc);
    int rc = rtk_db_participant_update(call->ctx->db, call->m.params[2], doc);
    if (rc != 0) {
        rtk_api_store_error(call, rc);
        goto out;
    }
    json_object_set_new(doc, "token", new_token(call, call->m.params[2], call->m.params[3]));
    rtk_api_reply_committed(call, 200, json_incref(doc));
out:
    json_decref(body);
    json_decref(doc);
}

void rtk_api_participant_delete(rtk_call *call)
{
    json_t *doc = NULL;
    if (check_meeting(call) != 0 || load_participant(call, &doc) != 0)
        return;
    int rc = rtk_db_participant_delete(call->ctx->db, call->m.params[2], call->m.params[3]);
    if (rc != 0) {
        json_decref(doc);
        rtk_api_store_error(call, rc);
        return;
    }
    if (call->ctx->live != NULL)
        rtk_live_participant_deleted(call->ctx->live, call->m.params[3]);
    /* Presets are not modelled: the preset's name stands in for its id. */
    json_t *data = json_pack("{s:O,s:O,s:O,s:O}", "custom_participant_id",
                             json_object_get(doc, "custom_participant_id"), "preset_id",
                             json_object_get(doc, "preset_name"), "created_at",
                             json_object_get(doc, "created_at"), "updated_at",
                             json_object_get(doc, "updated_at"));
    json_decref(doc);
    rtk_api_reply_committed(call, 200, data);
}

void rtk_api_participant_token(rtk_call *call)
{
    json_t *doc = NULL;
    if (check_meeting(call) != 0 || load_participant(call, &doc) != 0)
        return;
    json_decref(doc);
    json_t *data = json_pack("{s:o}", "token",
                             new_token(call, call->m.params[2], call->m.params[3]));
    rtk_reply_data(call->req, 200, data, NULL);
}
