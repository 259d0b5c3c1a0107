/* SPDX-License-Identifier: MIT */
/* rtk_api_active.c - the Active Session endpoints: get, kick, kick-all (polls: rtk_api_polls.c).
 *
 * Checks run in one order for all of them: unknown meeting 404, bad body 400, no live session
 * 404, then the request's own checks. A kick or kick-all is answered once what it did is
 * stored; if the store refuses, it did nothing (503) and every peer stays connected. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api/rtk_api.h"
#include "api/rtk_api_view.h"
#include "util/rtk_err.h"

#define KICK_MAX_IDS 1000

static void reply_session(rtk_call *call, const rtk_session_view *v)
{
    rtk_jw w;
    char stack[2048];
    rtk_jw_init(&w, stack, sizeof(stack));
    rtk_api_view_session(&w, v);
    rtk_api_reply_text(call, 200, w.buf, w.len);
    rtk_jw_free(&w);
}

static void get_checked(rtk_call *call)
{
    rtk_session_view v;
    if (rtk_live_session(call->ctx->live, call->m.params[2], &v) != 0) {
        rtk_api_no_session(call, call->m.params[2]);
        return;
    }
    reply_session(call, &v);
}

void rtk_api_active_get(rtk_call *call)
{
    const char *meeting_id = call->m.params[2];
    /* Hot path: a live meeting of this app is answered from memory, without the store. */
    const char *app = rtk_live_meeting_app(call->ctx->live, meeting_id);
    rtk_session_view v;
    if (app != NULL && strcmp(app, call->app) == 0 &&
        rtk_live_session(call->ctx->live, meeting_id, &v) == 0) {
        reply_session(call, &v);
        return;
    }
    rtk_api_load_meeting(call, get_checked);
}

/* ---- kick ---- */

typedef struct kick_state {
    size_t n;         /* ids named in the body (both lists) */
    size_t pending;   /* lookups not answered yet */
    json_t **docs;    /* the participant of each id, in body order */
    int *status;      /* each lookup's status */
    const char **ids; /* the participant ids kicked, after de-duplication */
    json_t **kicked;  /* their documents */
    size_t nkicked;
} kick_state;

static void kick_state_free(void *p)
{
    kick_state *ks = p;
    for (size_t i = 0; i < ks->n; i++)
        json_decref(ks->docs[i]);
    free(ks->docs);
    free(ks->status);
    free(ks->ids);
    free(ks->kicked);
}

/* Validates an optional array of id strings. Returns its size (0 when absent) or -1. */
static int id_list(rtk_call *call, const char *key)
{
    json_t *v = json_object_get(call->body, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_array(v)) {
        rtk_api_fail(call, 400, "\"%s\" must be an array of strings", key);
        return -1;
    }
    if (json_array_size(v) > KICK_MAX_IDS) {
        rtk_api_fail(call, 400, "\"%s\" may hold at most %d ids", key, KICK_MAX_IDS);
        return -1;
    }
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e) || json_string_length(e) == 0) {
            rtk_api_fail(call, 400, "\"%s\" must be an array of non-empty strings", key);
            return -1;
        }
        if (json_string_length(e) > 256) {
            rtk_api_fail(call, 400,
                         "\"%s[%zu]\" is longer than 256 bytes: no participant has "
                         "such an id",
                         key, i);
            return -1;
        }
    }
    return (int)json_array_size(v);
}

static const char *body_id(rtk_call *call, size_t i)
{
    json_t *p = json_object_get(call->body, "participant_ids");
    size_t np = json_is_array(p) ? json_array_size(p) : 0;
    if (i < np)
        return json_string_value(json_array_get(p, i));
    return json_string_value(
        json_array_get(json_object_get(call->body, "custom_participant_ids"), i - np));
}

static void on_kicked(void *arg, int status, const int *was_live)
{
    rtk_call *call = arg;
    kick_state *ks = call->data;
    if (status != 0) {
        kick_state_free(ks);
        rtk_api_store_error(call, status);
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < ks->nkicked; i++) {
        if (!was_live[i])
            continue;
        json_t *d = ks->kicked[i];
        json_array_append_new(
            list, json_pack("{s:O,s:O,s:O,s:O,s:n,s:O}", "id", json_object_get(d, "id"),
                            "created_at", json_object_get(d, "created_at"), "updated_at",
                            json_object_get(d, "updated_at"), "name", json_object_get(d, "name"),
                            "email", "picture", json_object_get(d, "picture")));
    }
    kick_state_free(ks);
    rtk_api_reply(call, 200, json_pack("{s:s,s:o}", "action", "kick", "participants", list), NULL);
}

/* Every id is resolved: one unknown id refuses the whole kick. */
static void kick_resolved(rtk_call *call)
{
    kick_state *ks = call->data;
    for (size_t i = 0; i < ks->n; i++) {
        if (ks->status[i] == RTK_ENOTFOUND) {
            kick_state_free(ks); /* before the reply, which frees the call and ks with it */
            rtk_api_fail(call, 404, "No user found with id %s", body_id(call, i));
            return;
        }
        if (ks->status[i] != 0) {
            int st = ks->status[i];
            kick_state_free(ks);
            rtk_api_store_error(call, st);
            return;
        }
    }
    /* The same participant named twice (by both ids) is kicked and listed once. */
    ks->ids = rtk_xcalloc(ks->n, sizeof(*ks->ids));
    ks->kicked = rtk_xcalloc(ks->n, sizeof(*ks->kicked));
    for (size_t i = 0; i < ks->n; i++) {
        const char *pid = json_string_value(json_object_get(ks->docs[i], "id"));
        int dup = 0;
        for (size_t k = 0; k < ks->nkicked && !dup; k++)
            dup = strcmp(ks->ids[k], pid) == 0;
        if (dup)
            continue;
        ks->ids[ks->nkicked] = pid;
        ks->kicked[ks->nkicked++] = ks->docs[i];
    }
    int rc =
        rtk_live_kick(call->ctx->live, call->m.params[2], ks->ids, ks->nkicked, on_kicked, call);
    if (rc != 0) {
        kick_state_free(ks);
        rtk_api_live_refused(call, call->m.params[2], rc);
    }
}

typedef struct lookup {
    rtk_call *call;
    size_t i;
} lookup;

static void on_lookup(void *arg, int status, const rtk_store_res *res)
{
    lookup *l = arg;
    rtk_call *call = l->call;
    kick_state *ks = call->data;
    ks->status[l->i] = status;
    if (status == 0) {
        ks->docs[l->i] = rtk_api_doc(res);
        if (ks->docs[l->i] == NULL)
            ks->status[l->i] = RTK_EDB;
    }
    free(l);
    if (--ks->pending == 0)
        kick_resolved(call);
}

static void kick_checked(rtk_call *call)
{
    if (rtk_api_body(call) != 0)
        return;
    int np = id_list(call, "participant_ids");
    if (np < 0)
        return;
    int nc = id_list(call, "custom_participant_ids");
    if (nc < 0)
        return;
    if (np + nc == 0) {
        rtk_api_fail(call, 400,
                     "\"participant_ids\" or \"custom_participant_ids\" must name at least one "
                     "participant");
        return;
    }
    const char *meeting_id = call->m.params[2];
    rtk_session_view v;
    if (rtk_live_session(call->ctx->live, meeting_id, &v) != 0) {
        rtk_api_no_session(call, meeting_id);
        return;
    }
    kick_state *ks = rtk_xcalloc(1, sizeof(*ks));
    call->data = ks;
    ks->n = ks->pending = (size_t)np + (size_t)nc;
    ks->docs = rtk_xcalloc(ks->n, sizeof(*ks->docs));
    ks->status = rtk_xcalloc(ks->n, sizeof(*ks->status));
    /* Every lookup at once: on PostgreSQL they share the round trips of one pipeline. */
    for (size_t i = 0; i < ks->n; i++) {
        lookup *l = rtk_xmalloc(sizeof(*l));
        l->call = call;
        l->i = i;
        rtk_store_participant_get(call->ctx->store, meeting_id, body_id(call, i), i >= (size_t)np,
                                  on_lookup, l);
    }
}

void rtk_api_active_kick(rtk_call *call)
{
    rtk_api_load_meeting(call, kick_checked);
}

/* ---- kick-all ---- */

static void on_kicked_all(void *arg, int status, int64_t count)
{
    rtk_call *call = arg;
    if (status != 0) {
        rtk_api_store_error(call, status);
        return;
    }
    rtk_api_reply(call, 200,
                  json_pack("{s:s,s:I}", "action", "kick_all", "kicked_participants_count",
                            (json_int_t)count),
                  NULL);
}

static void kick_all_checked(rtk_call *call)
{
    int rc = rtk_live_kick_all(call->ctx->live, call->m.params[2], on_kicked_all, call);
    if (rc != 0)
        rtk_api_live_refused(call, call->m.params[2], rc);
}

void rtk_api_active_kick_all(rtk_call *call)
{
    rtk_api_load_meeting(call, kick_all_checked);
}
