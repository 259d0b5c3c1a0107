/* SPDX-License-Identifier: MIT */
/* rtk_api_active.c - the Active Session endpoints: get, kick, kick-all (polls: rtk_api_polls.c).
 *
 * Checks run in one order for all of them: unknown meeting 404, bad body 400, no live session
 * 404, then the request's own checks. A kick or kick-all is answered once what it did is
 * stored; if the store refuses, it did nothing (503) and every peer stays connected. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/rtk_api.h"
#include "api/rtk_api_view.h"
#include "cluster/rtk_cluster.h"
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

static void on_cluster_active(void *arg, int status, const rtk_session_view *v)
{
    rtk_call *call = arg;
    if (status == RTK_ENOTFOUND) {
        rtk_api_no_session(call, call->m.params[2]);
        return;
    }
    if (status != 0) {
        rtk_api_fail_h(call, 503, "Retry-After: 1\r\n",
                       "The cluster's bus is unavailable; try again");
        return;
    }
    rtk_session_view w = *v;
    w.title = json_string_value(json_object_get(call->doc, "title"));
    reply_session(call, &w);
}

/* A cluster's live session: its counters are the whole cluster's, read from the bus. */
static void get_cluster(rtk_call *call)
{
    if (rtk_cluster_active(call->ctx->cluster, call->m.params[2], on_cluster_active, call) != 0)
        rtk_api_fail_h(call, 503, "Retry-After: 1\r\n",
                       "The cluster's bus is unavailable; try again");
}

void rtk_api_active_get(rtk_call *call)
{
    const char *meeting_id = call->m.params[2];
    if (call->ctx->cluster != NULL) {
        rtk_api_load_meeting(call, get_cluster);
        return;
    }
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

/* A kick's ids being resolved to participants of the meeting: for a REST kick (|call|) or a
 * host's participant.kick on the channel (the peer named by its ids, answered with `done`). */
typedef struct kick_state {
    rtk_ctx *ctx;
    rtk_call *call;   /* REST, or NULL */
    size_t n;         /* ids named (both lists) */
    size_t nplain;    /* the first nplain are participant ids, the rest custom ones */
    size_t pending;   /* lookups not answered yet */
    char **names;     /* the ids as named (copies) */
    json_t **docs;    /* the participant of each id, in order */
    int *status;      /* each lookup's status */
    const char **ids; /* the participant ids kicked, after de-duplication */
    json_t **kicked;  /* their documents */
    size_t nkicked;
    char meeting_id[37];
    /* the channel's sender */
    char participant_id[37];
    char peer_id[37];
    char ref[65];
    size_t ref_len;
    int has_ref;
} kick_state;

static void kick_state_free(kick_state *ks)
{
    for (size_t i = 0; i < ks->n; i++) {
        json_decref(ks->docs[i]);
        free(ks->names[i]);
    }
    free(ks->names);
    free(ks->docs);
    free(ks->status);
    free(ks->ids);
    free(ks->kicked);
    free(ks);
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

static void on_kicked(void *arg, int status, const int *was_live)
{
    kick_state *ks = arg;
    rtk_call *call = ks->call;
    if (status == RTK_ENOTFOUND) { /* a cluster's: no live session anywhere */
        kick_state_free(ks);
        rtk_api_no_session(call, call->m.params[2]);
        return;
    }
    if (status != 0) {
        kick_state_free(ks);
        rtk_api_store_error(call, status);
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < ks->nkicked; i++) {
        if (was_live[i] != 1) /* REST lists those that had a live peer */
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

/* The channel's sender of |ks|, if it is still connected. */
static rtk_peer *kick_sender(kick_state *ks)
{
    return rtk_live_peer_find(ks->ctx->live, ks->participant_id, ks->peer_id);
}

static void chan_kick_error(kick_state *ks, const char *code, const char *text)
{
    rtk_peer *p = kick_sender(ks);
    if (p != NULL)
        rtk_live_reject(ks->ctx->live, p, code, text, ks->has_ref ? ks->ref : NULL, ks->ref_len);
}

static void on_chan_kicked(void *arg, int status, const int *was_live)
{
    kick_state *ks = arg;
    rtk_peer *p = kick_sender(ks);
    if (status == RTK_ENOTFOUND) {
        chan_kick_error(ks, "unavailable", "The session has ended; nobody was kicked");
    } else if (status != 0) {
        chan_kick_error(ks, "unavailable", "The kick could not be stored; nobody was kicked");
    } else if (p != NULL) {
        const char **ids = rtk_xcalloc(ks->nkicked ? ks->nkicked : 1, sizeof(*ids));
        size_t n = 0;
        for (size_t i = 0; i < ks->nkicked; i++)
            if (was_live[i]) /* a live or a waiting peer */
                ids[n++] = ks->ids[i];
        rtk_live_send_done(ks->ctx->live, p, "kick", ids, n, ks->has_ref ? ks->ref : NULL,
                           ks->ref_len);
        free(ids);
    }
    kick_state_free(ks);
}

/* Every id is resolved: one unknown id refuses the whole kick. */
static void kick_resolved(kick_state *ks)
{
    rtk_call *call = ks->call;
    for (size_t i = 0; i < ks->n; i++) {
        int st = ks->status[i];
        if (st == 0)
            continue;
        if (call == NULL) {
            char text[320];
            snprintf(text, sizeof(text), "No participant found with id %s in this meeting",
                     ks->names[i]);
            if (st == RTK_ENOTFOUND)
                chan_kick_error(ks, "not_found", text);
            else
                chan_kick_error(ks, "unavailable", "The store could not be read; nobody was "
                                                   "kicked");
            kick_state_free(ks);
        } else if (st == RTK_ENOTFOUND) {
            rtk_api_fail(call, 404, "No user found with id %s", ks->names[i]);
            kick_state_free(ks);
        } else {
            kick_state_free(ks);
            rtk_api_store_error(call, st);
        }
        return;
    }
    /* The same participant named twice (by both ids) is kicked and listed once. */
    ks->ids = rtk_xcalloc(ks->n ? ks->n : 1, sizeof(*ks->ids));
    ks->kicked = rtk_xcalloc(ks->n ? ks->n : 1, sizeof(*ks->kicked));
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
    int rc = ks->ctx->cluster != NULL
                 ? rtk_cluster_kick(ks->ctx->cluster, ks->meeting_id, ks->ids, ks->nkicked,
                                    call != NULL, call ? on_kicked : on_chan_kicked, ks)
                 : rtk_live_kick(ks->ctx->live, ks->meeting_id, ks->ids, ks->nkicked,
                                 call ? on_kicked : on_chan_kicked, ks);
    if (rc == 0)
        return;
    if (call != NULL && rc == RTK_EUNAVAIL) { /* a cluster's bus is down */
        kick_state_free(ks);
        rtk_api_fail_h(call, 503, "Retry-After: 1\r\n",
                       "The cluster's bus is unavailable; nobody was kicked");
    } else if (call != NULL) {
        kick_state_free(ks);
        rtk_api_live_refused(call, call->m.params[2], rc);
    } else {
        chan_kick_error(ks, "unavailable", "The session is ending; nobody was kicked");
        kick_state_free(ks);
    }
}

typedef struct lookup {
    kick_state *ks;
    size_t i;
} lookup;

static void on_lookup(void *arg, int status, const rtk_store_res *res)
{
    lookup *l = arg;
    kick_state *ks = l->ks;
    ks->status[l->i] = status;
    if (status == 0) {
        ks->docs[l->i] = rtk_api_doc(res);
        if (ks->docs[l->i] == NULL)
            ks->status[l->i] = RTK_EDB;
    }
    free(l);
    if (--ks->pending == 0)
        kick_resolved(ks);
}

/* Resolves the |n| ids of |ks| (the first |nplain| participant ids), then kicks. */
static void kick_start(kick_state *ks, const char *meeting_id, const char *const *ids,
                       size_t n, size_t nplain)
{
    snprintf(ks->meeting_id, sizeof(ks->meeting_id), "%s", meeting_id);
    ks->n = ks->pending = n;
    ks->nplain = nplain;
    ks->names = rtk_xcalloc(n, sizeof(*ks->names));
    ks->docs = rtk_xcalloc(n, sizeof(*ks->docs));
    ks->status = rtk_xcalloc(n, sizeof(*ks->status));
    for (size_t i = 0; i < n; i++)
        ks->names[i] = rtk_xstrndup(ids[i], strlen(ids[i]));
    /* Every lookup at once: on PostgreSQL they share the round trips of one pipeline. */
    for (size_t i = 0; i < n; i++) {
        lookup *l = rtk_xmalloc(sizeof(*l));
        l->ks = ks;
        l->i = i;
        rtk_store_participant_get(ks->ctx->store, ks->meeting_id, ks->names[i], i >= nplain,
                                  on_lookup, l);
    }
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
    /* (A cluster's session may have no share here: the cluster's kick says 404 itself.) */
    if (call->ctx->cluster == NULL && rtk_live_session(call->ctx->live, meeting_id, &v) != 0) {
        rtk_api_no_session(call, meeting_id);
        return;
    }
    size_t n = (size_t)np + (size_t)nc;
    const char **ids = rtk_xcalloc(n, sizeof(*ids));
    json_t *p = json_object_get(call->body, "participant_ids");
    json_t *c = json_object_get(call->body, "custom_participant_ids");
    for (size_t i = 0; i < n; i++)
        ids[i] = json_string_value(i < (size_t)np ? json_array_get(p, i)
                                                  : json_array_get(c, i - (size_t)np));
    kick_state *ks = rtk_xcalloc(1, sizeof(*ks));
    ks->ctx = call->ctx;
    ks->call = call;
    kick_start(ks, meeting_id, ids, n, (size_t)np);
    free(ids);
}

void rtk_api_active_kick(rtk_call *call)
{
    rtk_api_load_meeting(call, kick_checked);
}

void rtk_api_chan_kick(void *arg, rtk_live *live, rtk_peer *peer, const char *const *ids,
                       size_t n, size_t nplain, const char *ref, size_t ref_len)
{
    kick_state *ks = rtk_xcalloc(1, sizeof(*ks));
    (void)live;
    ks->ctx = arg;
    snprintf(ks->participant_id, sizeof(ks->participant_id), "%s",
             rtk_live_peer_participant(peer));
    snprintf(ks->peer_id, sizeof(ks->peer_id), "%s", rtk_live_peer_id(peer));
    if (ref != NULL) {
        ks->has_ref = 1;
        ks->ref_len = ref_len < 64 ? ref_len : 64;
        memcpy(ks->ref, ref, ks->ref_len);
    }
    kick_start(ks, rtk_live_peer_meeting(peer), ids, n, nplain);
}

/* ---- kick-all ---- */

static void on_kicked_all(void *arg, int status, int64_t count)
{
    rtk_call *call = arg;
    if (status == RTK_ENOTFOUND) { /* a cluster's: no live session anywhere */
        rtk_api_no_session(call, call->m.params[2]);
        return;
    }
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
    if (call->ctx->cluster != NULL) {
        if (rtk_cluster_kick_all(call->ctx->cluster, call->m.params[2], on_kicked_all, call) != 0)
            rtk_api_fail_h(call, 503, "Retry-After: 1\r\n",
                           "The cluster's bus is unavailable; nobody was kicked");
        return;
    }
    int rc = rtk_live_kick_all(call->ctx->live, call->m.params[2], on_kicked_all, call);
    if (rc != 0)
        rtk_api_live_refused(call, call->m.params[2], rc);
}

void rtk_api_active_kick_all(rtk_call *call)
{
    rtk_api_load_meeting(call, kick_all_checked);
}
