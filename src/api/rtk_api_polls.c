/* SPDX-License-Identifier: MIT */
/* rtk_api_polls.c - POST …/active-session/poll, GET …/active-session/polls[/{id}],
 * GET …/sessions/{id}/polls. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api/rtk_api.h"
#include "http/rtk_reply.h"
#include "live/rtk_live.h"
#include "util/rtk_err.h"

#define QUESTION_MAX 1024
#define OPTION_MAX 256
#define OPTIONS_MAX 32

/* Characters (Unicode code points) in valid UTF-8 |s| of |len| bytes. */
static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xc0) != 0x80;
    return n;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

void rtk_api_poll_create(rtk_call *call)
{
    const char *meeting_id = call->m.params[2];
    json_t *m = NULL, *body = NULL, *rest = NULL;
    const char **opts = NULL;
    char *question = NULL;
    int anonymous = 0, hide_votes = 0;

    if (rtk_api_load_meeting(call, meeting_id, &m) != 0)
        return;
    json_decref(m);
    if ((body = rtk_api_body(call)) == NULL)
        return;

    json_t *q = json_object_get(body, "question");
    if (q == NULL || !json_is_string(q)) {
        rtk_reply_error(call->req, 400, "\"question\" %s",
                        q == NULL ? "is required" : "must be a string");
        goto out;
    }
    const char *qs = json_string_value(q);
    size_t qlen = json_string_length(q);
    if (strlen(qs) != qlen) {
        rtk_reply_error(call->req, 400, "\"question\" must not contain NUL characters");
        goto out;
    }
    while (qlen > 0 && is_space(*qs)) {
        qs++;
        qlen--;
    }
    while (qlen > 0 && is_space(qs[qlen - 1]))
        qlen--;
    size_t qchars = utf8_chars(qs, qlen);
    if (qchars < 1 || qchars > QUESTION_MAX) {
        rtk_reply_error(call->req, 400,
                        "\"question\" must be 1 to %d characters long after trimming",
                        QUESTION_MAX);
        goto out;
    }
    json_t *o = json_object_get(body, "options");
    if (o == NULL || !json_is_array(o) || json_array_size(o) < 1 ||
        json_array_size(o) > OPTIONS_MAX) {
        rtk_reply_error(call->req, 400, "\"options\" must be an array of 1 to %d strings",
                        OPTIONS_MAX);
        goto out;
    }
    size_t n = json_array_size(o);
    opts = rtk_xcalloc(n, sizeof(*opts));
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(o, i);
        size_t chars = json_is_string(e) ? utf8_chars(json_string_value(e), json_string_length(e))
                                         : 0;
        if (!json_is_string(e) || chars < 1 || chars > OPTION_MAX ||
            strlen(json_string_value(e)) != json_string_length(e)) {
            rtk_reply_error(call->req, 400,
                            "\"options[%zu]\" must be a string of 1 to %d characters", i,
                            OPTION_MAX);
            goto out;
        }
        opts[i] = json_string_value(e);
    }
    if (rtk_api_opt_bool(call, body, "anonymous", &anonymous) != 0 ||
        rtk_api_opt_bool(call, body, "hide_votes", &hide_votes) != 0)
        goto out;

    question = rtk_xstrndup(qs, qlen);
    int rc = rtk_live_poll_create(call->ctx->live, meeting_id, question, opts, (int)n,
                                  anonymous, hide_votes, call->token_id, &rest);
    if (rc == RTK_ENOTFOUND) {
        rtk_api_no_session(call, meeting_id);
        goto out;
    }
    if (rc != 0) {
        rtk_api_store_error(call, rc);
        goto out;
    }
    rtk_api_reply_committed(call, 201,
                            json_pack("{s:s,s:o}", "action", "create_poll", "poll", rest));
out:
    free(question);
    free(opts);
    json_decref(body);
}

void rtk_api_polls_list(rtk_call *call)
{
    const char *meeting_id = call->m.params[2];
    json_t *m = NULL;
    if (rtk_api_load_meeting(call, meeting_id, &m) != 0)
        return;
    json_decref(m);
    json_t *polls = rtk_live_polls_rest(call->ctx->live, meeting_id);
    if (polls == NULL) {
        rtk_api_no_session(call, meeting_id);
        return;
    }
    rtk_reply_data(call->req, 200, json_pack("{s:o}", "polls", polls), NULL);
}

void rtk_api_poll_get(rtk_call *call)
{
    const char *meeting_id = call->m.params[2], *poll_id = call->m.params[3];
    json_t *m = NULL;
    if (rtk_api_load_meeting(call, meeting_id, &m) != 0)
        return;
    json_decref(m);
    if (!rtk_live_has_session(call->ctx->live, meeting_id)) {
        rtk_api_no_session(call, meeting_id);
        return;
    }
    json_t *poll = rtk_live_poll_rest(call->ctx->live, meeting_id, poll_id);
    if (poll == NULL) {
        rtk_reply_error(call->req, 404, "No poll found with id %s", poll_id);
        return;
    }
    rtk_reply_data(call->req, 200, json_pack("{s:o}", "poll", poll), NULL);
}

void rtk_api_session_polls(rtk_call *call)
{
    rtk_db_session s;
    int rc = rtk_db_session_get(call->ctx->db, call->app, call->m.params[2], &s);
    if (rc == RTK_ENOTFOUND) {
        rtk_reply_error(call->req, 404, "No session found with id %s", call->m.params[2]);
        return;
    }
    if (rc != 0) {
        rtk_api_store_error(call, rc);
        return;
    }
    free(s.title);
    json_t *polls = rtk_live_session_polls(call->ctx->live, s.meeting_id, s.id);
    if (polls == NULL) {
        rtk_api_store_error(call, RTK_EDB);
        return;
    }
    rtk_reply_data(call->req, 200, json_pack("{s:o}", "polls", polls), NULL);
}
