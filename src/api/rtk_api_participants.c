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

/* Validates name, picture and preset_name of |body| and copies the given ones into |doc|. */
static int apply_fields(rtk_call *call, json_t *body, json_t *doc)
{
    const char *name = NULL, *picture = NULL, *preset = NULL;
    if (rtk_api_opt_string(call, body, "name", 1, NAME_MAX_LEN, &name) != 0 ||
        rtk_api_opt_string(call, body, "picture", 1, PICTURE_MAX, &picture) != 0 ||
        rtk_api_opt_string(call, body, "preset_name", 1, PRESET_MAX, &preset) != 0)
        return -1;
    if (json_is_string(json_object_get(body, "preset_name")) && preset[0] == '\0') {
        rtk_api_fail(call, 400, "\"preset_name\" must not be empty");
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

/* Loads participant m.params[3] of the meeting into call->extra, then call->next. */
static void on_participant(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    void (*next)(rtk_call *) = call->next;
    call->next = NULL;
    if (status == RTK_ENOTFOUND) {
        rtk_api_fail(call, 404, "No participant found with id %s", call->m.params[3]);
        return;
    }
    if (status != 0) {
        rtk_api_store_error(call, status);
        return;
    }
    call->extra = rtk_api_doc(res);
    if (call->extra == NULL) {
        rtk_api_store_error(call, RTK_EDB);
        return;
    }
    next(call);
}

/* A step after the meeting was found (call->doc): load the participant, then |next|. */
#define WITH_PARTICIPANT(name, next_step)                                                          \
    static void name(rtk_call *call)                                                               \
    {                                                                                              \
        call->next = next_step;                                                                    \
        rtk_store_participant_get(call->ctx->store, call->m.params[2], call->m.params[3], 0,       \
                                  on_participant, call);                                           \
    }

/* A participant write changed nothing because its preset is not one of the app's: answers
 * 400 and returns 1; else 0. */
static int no_preset(rtk_call *call, const rtk_store_res *res)
{
    if (res->changes != 0 || rtk_store_int(&res->sets[0], 0, 0) != 0)
        return 0;
    rtk_api_fail(call, 400, "No preset found with name %s",
                 json_string_value(json_object_get(call->extra, "preset_name")));
    return 1;
}

/* ---- add ---- */

static void on_added(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    json_t *doc = call->extra;
    if (status == 0 && no_preset(call, res))
        return;
    if (status == 0 && res->changes == 0)
        status = RTK_EEXIST; /* the preset is there: the custom id is taken */
    if (status == RTK_EEXIST) {
        rtk_api_fail(call, 400,
                     "A participant with custom_participant_id \"%s\" already exists in "
                     "meeting %s",
                     json_string_value(json_object_get(doc, "custom_participant_id")),
                     call->m.params[2]);
        return;
    }
    if (status != 0) {
        rtk_api_store_error(call, status);
        return;
    }
    call->extra = NULL;
    json_object_set_new(
        doc, "token",
        new_token(call, call->m.params[2], json_string_value(json_object_get(doc, "id"))));
    rtk_api_reply(call, 201, doc, NULL);
}

static void write_participant(rtk_call *call, int insert, rtk_store_cb done)
{
    rtk_store_doc row;
    rtk_api_doc_row(call->extra, &row);
    char *text = rtk_api_dump(call->extra);
    row.json = text;
    rtk_store_participant_put(call->ctx->store, call->app, call->m.params[2], &row, insert, done,
                              call);
    free(text);
}

static void add_checked(rtk_call *call)
{
    const char *custom = NULL;
    if (rtk_api_body(call) != 0)
        return;
    json_t *body = call->body;
    if (rtk_api_opt_string(call, body, "custom_participant_id", 0, CUSTOM_ID_MAX, &custom) != 0)
        return;
    if (custom == NULL || custom[0] == '\0') {
        rtk_api_fail(call, 400, "\"custom_participant_id\" is required");
        return;
    }
    if (!json_is_string(json_object_get(body, "preset_name"))) {
        if (json_object_get(body, "preset_name") == NULL)
            rtk_api_fail(call, 400, "\"preset_name\" is required");
        else
            rtk_api_fail(call, 400, "\"preset_name\" must be a string");
        return;
    }
    char id[37], now[25];
    rtk_id_uuid4(id);
    rtk_time_iso(rtk_time_now_ms(), now);
    call->extra =
        json_pack("{s:s,s:s,s:n,s:n,s:s,s:s,s:s}", "id", id, "custom_participant_id", custom,
                  "name", "picture", "preset_name", "", "created_at", now, "updated_at", now);
    if (apply_fields(call, body, call->extra) != 0)
        return;
    write_participant(call, 1, on_added);
}

void rtk_api_participants_add(rtk_call *call)
{
    rtk_api_load_meeting(call, add_checked);
}

/* ---- list ---- */

typedef struct list_state {
    rtk_store_page page;
} list_state;

static void on_listed(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    if (status != 0) {
        rtk_api_store_error(call, status);
        return;
    }
    rtk_api_reply_docs(call, res, ((list_state *)call->data)->page);
}

static void list_checked(rtk_call *call)
{
    list_state *ls = rtk_xcalloc(1, sizeof(*ls));
    call->data = ls;
    if (rtk_api_paging(call, &ls->page) != 0)
        return;
    rtk_store_participant_list(call->ctx->store, call->m.params[2], ls->page, on_listed, call);
}

void rtk_api_participants_list(rtk_call *call)
{
    rtk_api_load_meeting(call, list_checked);
}

/* ---- get ---- */

static void get_loaded(rtk_call *call)
{
    json_t *doc = call->extra;
    call->extra = NULL;
    rtk_api_reply(call, 200, doc, NULL);
}

WITH_PARTICIPANT(get_checked, get_loaded)

void rtk_api_participant_get(rtk_call *call)
{
    rtk_api_load_meeting(call, get_checked);
}

/* ---- edit ---- */

static void on_edited(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    if (status == 0 && no_preset(call, res))
        return;
    if (status == 0 && res->changes == 0)
        status = RTK_ENOTFOUND; /* deleted since it was read */
    if (status == RTK_ENOTFOUND) {
        rtk_api_fail(call, 404, "No participant found with id %s", call->m.params[3]);
        return;
    }
    if (status != 0) {
        rtk_api_store_error(call, status);
        return;
    }
    json_t *doc = call->extra;
    call->extra = NULL;
    json_object_set_new(doc, "token", new_token(call, call->m.params[2], call->m.params[3]));
    rtk_api_reply(call, 200, doc, NULL);
}

static void edit_loaded(rtk_call *call)
{
    if (rtk_api_body(call) != 0 || apply_fields(call, call->body, call->extra) != 0)
        return;
    rtk_api_touch(call->extra);
    write_participant(call, 0, on_edited);
}

WITH_PARTICIPANT(edit_checked, edit_loaded)

void rtk_api_participant_edit(rtk_call *call)
{
    rtk_api_load_meeting(call, edit_checked);
}

/* ---- delete ---- */

static void on_deleted(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    (void)res;
    if (status == RTK_ENOTFOUND) {
        rtk_api_fail(call, 404, "No participant found with id %s", call->m.params[3]);
        return;
    }
    if (status != 0) {
        rtk_api_store_error(call, status);
        return;
    }
    /* Stored: now its live peer goes (4003), and its token no longer opens the channel. */
    if (call->ctx->live != NULL)
        rtk_live_participant_deleted(call->ctx->live, call->m.params[3]);
    json_t *doc = call->extra;
    const char *preset_id = call->data; /* NULL: the preset's row is missing */
    json_t *data = json_pack("{s:O,s:o,s:O,s:O}", "custom_participant_id",
                             json_object_get(doc, "custom_participant_id"), "preset_id",
                             preset_id ? json_string(preset_id)
                                       : json_copy(json_object_get(doc, "preset_name")),
                             "created_at", json_object_get(doc, "created_at"), "updated_at",
                             json_object_get(doc, "updated_at"));
    rtk_api_reply(call, 200, data, NULL);
}

/* The participant's preset id, for the answer: read before the delete, while the participant
 * still holds the preset (a preset in use is never deleted or renamed). */
static void on_delete_preset(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    if (status != 0 && status != RTK_ENOTFOUND) {
        rtk_api_store_error(call, status);
        return;
    }
    if (status == 0) {
        size_t len;
        const char *id = rtk_store_text(&res->sets[0], 0, RTK_STORE_PRESET_ID, &len);
        call->data = rtk_xstrndup(id, len);
    }
    rtk_store_participant_delete(call->ctx->store, call->m.params[2], call->m.params[3], on_deleted,
                                 call);
}

static void delete_loaded(rtk_call *call)
{
    const char *preset = json_string_value(json_object_get(call->extra, "preset_name"));
    rtk_store_preset_get(call->ctx->store, call->app, preset ? preset : "", 1, on_delete_preset,
                         call);
}

WITH_PARTICIPANT(delete_checked, delete_loaded)

void rtk_api_participant_delete(rtk_call *call)
{
    rtk_api_load_meeting(call, delete_checked);
}

/* ---- token ---- */

static void token_loaded(rtk_call *call)
{
    rtk_api_reply(
        call, 200,
        json_pack("{s:o}", "token", new_token(call, call->m.params[2], call->m.params[3])), NULL);
}

WITH_PARTICIPANT(token_checked, token_loaded)

void rtk_api_participant_token(rtk_call *call)
{
    rtk_api_load_meeting(call, token_checked);
}
