/* SPDX-License-Identifier: MIT */
/* rtk_api_polls.c - POST …/active-session/poll, GET …/active-session/polls[/{id}],
 * GET …/sessions/{id}/polls. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api/rtk_api.h"
#include "api/rtk_api_view.h"
#include "chan/rtk_chan_msg.h"
#include "cluster/rtk_cluster.h"
#include "util/rtk_err.h"

static void poll_full(rtk_call *call)
{
    rtk_api_fail(call, 400,
                 "The live session holds as many polls as it may: at most %d, whose views take "
                 "at most %d KiB together",
                 RTK_LIVE_POLLS_MAX, RTK_LIVE_POLL_BYTES_MAX / 1024);
}

static void on_created(void *arg, int status, const rtk_poll_view *poll)
{
    rtk_call *call = arg;
    if (status == RTK_ENOTFOUND) { /* a cluster's: no live session anywhere */
        rtk_api_no_session(call, call->m.params[2]);
        return;
    }
    if (status == RTK_ETOOBIG) {
        poll_full(call);
        return;
    }
    if (status != 0) {
        rtk_api_store_error(call, status);
        return;
    }
    rtk_jw w;
    char stack[2048];
    rtk_jw_init(&w, stack, sizeof(stack));
    RTK_JW_LIT(&w, "{\"action\":\"create_poll\",\"poll\":");
    rtk_api_view_poll(&w, poll);
    RTK_JW_LIT(&w, "}");
    rtk_api_reply_text(call, 201, w.buf, w.len);
    rtk_jw_free(&w);
}

static void create_checked(rtk_call *call)
{
    const char *meeting_id = call->m.params[2];
    if (rtk_api_body(call) != 0)
        return;
    rtk_poll_input in;
    if (rtk_poll_input_parse(call->body, &in) != 0) {
        rtk_api_fail(call, 400, "%s", in.error);
        rtk_poll_input_free(&in);
        return;
    }
    in.spec.created_by = call->token_id;
    in.spec.view_bytes =
        rtk_chan_msg_view_bound(in.question, in.opts, in.spec.nopts, call->token_id);
    if (call->ctx->cluster != NULL) {
        int crc = rtk_cluster_poll_create(call->ctx->cluster, meeting_id, &in.spec, NULL, NULL,
                                          NULL, 0, on_created, call);
        if (crc == RTK_ETOOBIG)
            poll_full(call);
        else if (crc != 0)
            rtk_api_fail_h(call, 503, "Retry-After: 1\r\n",
                           "The cluster's bus is unavailable; nothing was created");
        rtk_poll_input_free(&in);
        return;
    }
    int rc = rtk_live_poll_create(call->ctx->live, meeting_id, &in.spec, on_created, call);
    if (rc == RTK_ETOOBIG)
        rtk_api_fail(call, 400,
                     "The live session holds as many polls as it may: at most %d, whose views "
                     "take at most %d KiB together (this one needs up to %zu bytes)",
                     RTK_LIVE_POLLS_MAX, RTK_LIVE_POLL_BYTES_MAX / 1024, in.spec.view_bytes);
    else if (rc != 0)
        rtk_api_live_refused(call, meeting_id, rc);
    rtk_poll_input_free(&in);
}

void rtk_api_poll_create(rtk_call *call)
{
    rtk_api_load_meeting(call, create_checked);
}

typedef struct polls_text {
    rtk_jw *w;
    int n;
} polls_text;

static void add_poll(void *arg, const rtk_poll_view *poll)
{
    polls_text *pt = arg;
    if (pt->n++)
        RTK_JW_LIT(pt->w, ",");
    rtk_api_view_poll(pt->w, poll);
}

static void on_stored_polls(void *arg, int status, const rtk_store_res *res);

/* A cluster's live session may have no share here: its polls and votes are read from the
 * store (every vote acknowledged is there). call->data: the poll asked for, or NULL. */
static int cluster_polls(rtk_call *call, const char *poll_id)
{
    if (call->ctx->cluster == NULL)
        return 0;
    if (poll_id != NULL)
        call->data = rtk_xstrndup(poll_id, strlen(poll_id));
    if (rtk_cluster_polls(call->ctx->cluster, call->ctx->store, call->m.params[2],
                          on_stored_polls, call) != 0)
        rtk_api_fail_h(call, 503, "Retry-After: 1\r\n", "The cluster's bus is unavailable");
    return 1;
}

/* Answers {"polls":[...]} with the polls of the live session of the path's meeting. */
static void list_checked(rtk_call *call)
{
    if (cluster_polls(call, NULL))
        return;
    rtk_jw w;
    char stack[4096];
    rtk_jw_init(&w, stack, sizeof(stack));
    RTK_JW_LIT(&w, "{\"polls\":[");
    polls_text pt = {&w, 0};
    if (rtk_live_polls(call->ctx->live, call->m.params[2], add_poll, &pt) != 0) {
        rtk_jw_free(&w);
        rtk_api_no_session(call, call->m.params[2]);
        return;
    }
    RTK_JW_LIT(&w, "]}");
    rtk_api_reply_text(call, 200, w.buf, w.len);
    rtk_jw_free(&w);
}

void rtk_api_polls_list(rtk_call *call)
{
    rtk_api_load_meeting(call, list_checked);
}

static void get_checked(rtk_call *call)
{
    const char *meeting_id = call->m.params[2], *poll_id = call->m.params[3];
    if (cluster_polls(call, poll_id))
        return;
    rtk_session_view v;
    if (rtk_live_session(call->ctx->live, meeting_id, &v) != 0) {
        rtk_api_no_session(call, meeting_id);
        return;
    }
    const rtk_poll_view *poll = NULL;
    if (rtk_live_poll(call->ctx->live, meeting_id, poll_id, &poll) != 0) {
        rtk_api_fail(call, 404, "No poll found with id %s", poll_id);
        return;
    }
    rtk_jw w;
    char stack[2048];
    rtk_jw_init(&w, stack, sizeof(stack));
    RTK_JW_LIT(&w, "{\"poll\":");
    rtk_api_view_poll(&w, poll);
    RTK_JW_LIT(&w, "}");
    rtk_api_reply_text(call, 200, w.buf, w.len);
    rtk_jw_free(&w);
}

void rtk_api_poll_get(rtk_call *call)
{
    rtk_api_load_meeting(call, get_checked);
}

/* ---- polls of any session: live ones from memory, ended ones from the store ---- */

static void on_stored_polls(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    const char *only = call->data; /* one poll (GET …/polls/{id}), or all */
    if (status == RTK_ENOTFOUND && call->ctx->cluster != NULL) {
        rtk_api_no_session(call, call->m.params[2]);
        return;
    }
    if (status != 0) {
        rtk_api_store_error(call, status);
        return;
    }
    const rtk_store_set *ps = &res->sets[0], *vs = &res->sets[1];
    rtk_jw w;
    char stack[4096];
    rtk_jw_init(&w, stack, sizeof(stack));
    if (only != NULL)
        RTK_JW_LIT(&w, "{\"poll\":");
    else
        RTK_JW_LIT(&w, "{\"polls\":[");
    /* Votes come in the order cast across polls: each poll takes its own, in that order. */
    rtk_vote_view *votes = rtk_xcalloc(vs->nrows ? vs->nrows : 1, sizeof(*votes));
    const rtk_vote_view **mine = rtk_xcalloc(vs->nrows ? vs->nrows : 1, sizeof(*mine));
    int written = 0;
    for (size_t i = 0; i < ps->nrows; i++) {
        const char *id = rtk_store_text(ps, i, 0, NULL);
        if (only != NULL && strcmp(id, only) != 0)
            continue;
        size_t len;
        const char *text = rtk_store_text(ps, i, 2, &len);
        json_t *arr = json_loadb(text, len, 0, NULL);
        int nopts = (int)json_array_size(arr);
        if (nopts < 1) {
            json_decref(arr);
            continue;
        }
        const char *opts[RTK_POLL_OPTIONS_MAX];
        int64_t counts[RTK_POLL_OPTIONS_MAX] = {0};
        for (int k = 0; k < nopts && k < RTK_POLL_OPTIONS_MAX; k++)
            opts[k] = json_string_value(json_array_get(arr, (size_t)k));
        if (nopts > RTK_POLL_OPTIONS_MAX)
            nopts = RTK_POLL_OPTIONS_MAX;
        size_t nv = 0;
        for (size_t k = 0; k < vs->nrows; k++) {
            int opt = (int)rtk_store_int(vs, k, 2);
            if (strcmp(rtk_store_text(vs, k, 0, NULL), id) != 0 || opt < 0 || opt >= nopts)
                continue;
            rtk_vote_view *v = &votes[nv];
            snprintf(v->participant_id, sizeof(v->participant_id), "%s",
                     rtk_store_text(vs, k, 1, NULL));
            v->option = opt;
            v->name = rtk_store_is_null(vs, k, 3) ? NULL : rtk_store_text(vs, k, 3, NULL);
            mine[nv++] = v;
            counts[opt]++;
        }
        rtk_poll_view pv = {
            .id = id,
            .question = rtk_store_text(ps, i, 1, NULL),
            .anonymous = (int)rtk_store_int(ps, i, 3),
            .hide_votes = (int)rtk_store_int(ps, i, 4),
            .created_by = rtk_store_is_null(ps, i, 5) ? NULL : rtk_store_text(ps, i, 5, NULL),
            .created_ms = rtk_store_int(ps, i, 6),
            .nopts = nopts,
            .opts = opts,
            .counts = counts,
            .nvotes = nv,
            .votes = (const rtk_vote_view *const *)mine,
        };
        if (written++)
            RTK_JW_LIT(&w, ",");
        rtk_api_view_poll(&w, &pv);
        json_decref(arr);
    }
    free(votes);
    free(mine);
    if (only != NULL && written == 0) {
        rtk_jw_free(&w);
        rtk_api_fail(call, 404, "No poll found with id %s", only);
        return;
    }
    if (only != NULL)
        RTK_JW_LIT(&w, "}");
    else
        RTK_JW_LIT(&w, "]}");
    rtk_api_reply_text(call, 200, w.buf, w.len);
    rtk_jw_free(&w);
}

static void on_session(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    if (status == RTK_ENOTFOUND) {
        rtk_api_fail(call, 404, "No session found with id %s", call->m.params[2]);
        return;
    }
    if (status != 0) {
        rtk_api_store_error(call, status);
        return;
    }
    rtk_store_session s;
    rtk_store_session_read(&res->sets[0], 0, 0, &s);
    free(s.title);
    rtk_session_view v;
    if (rtk_live_session_if_live(call->ctx->live, s.meeting_id, s.id, &v)) {
        /* The live session: its polls are in memory (and may have votes not yet stored). */
        snprintf(call->m.params[2], sizeof(call->m.params[2]), "%s", s.meeting_id);
        list_checked(call);
        return;
    }
    rtk_store_polls_load(call->ctx->store, s.id, on_stored_polls, call);
}

void rtk_api_session_polls(rtk_call *call)
{
    rtk_store_session_get(call->ctx->store, call->app, call->m.params[2], on_session, call);
}
