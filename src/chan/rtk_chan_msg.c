/* SPDX-License-Identifier: MIT */
/* rtk_chan_msg.c - channel messages: rendering (one serialiser per object) and parsing. */
#include "chan/rtk_chan_msg.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/rtk_api_view.h"
#include "net/rtk_ws.h"
#include "util/rtk_err.h"
#include "util/rtk_jw.h"

typedef struct msg_cache {
    char *text; /* the message without its closing brace */
    size_t len;
    rtk_frame *shared; /* the whole message, for receivers without a ref */
} msg_cache;

/* The bytes a voter takes in a view: {"id":"…","name":"…"} and a comma. */
static size_t voter_len(const rtk_vote_view *v)
{
    size_t n = 0, chars = 0;
    if (v->name != NULL)
        for (; v->name[n] != '\0'; n++)
            if (((unsigned char)v->name[n] & 0xc0) != 0x80 && chars++ == RTK_CHAN_VIEW_NAME_MAX)
                break;
    return 18 + rtk_jw_str_len(v->participant_id, strlen(v->participant_id)) +
           (v->name ? rtk_jw_str_len(v->name, n) : 4);
}

size_t rtk_chan_msg_view_bound(const char *question, const char *const *opts, int nopts,
                               const char *created_by)
{
    /* The envelope and fixed fields (type, ids, flags, counts as 20 digits each, times, and
     * poll.voted's poll_id, my_vote and total_votes), a 64-byte ref escaped at worst, and
     * what the texts take escaped. */
    size_t n = 640 + rtk_jw_str_len(question, strlen(question)) + RTK_CHAN_VIEW_VOTERS_BYTES;
    if (created_by != NULL)
        n += rtk_jw_str_len(created_by, strlen(created_by));
    /* each option: its keys and count in the view, and its count again in the tallies a
     * poll.voted carries beside the view */
    for (int i = 0; i < nopts; i++)
        n += 64 + 24 + rtk_jw_str_len(opts[i], strlen(opts[i]));
    return n;
}

void rtk_chan_msg_viewer_view(rtk_jw *w, const rtk_poll_view *p, int my_vote)
{
    int hidden = p->hide_votes && my_vote < 0;
    /* The most recent voters of each option, newest first, at most RTK_CHAN_RECENT_VOTERS
     * each and RTK_CHAN_VIEW_VOTERS_BYTES in all. */
    size_t nopts = (size_t)p->nopts;
    const rtk_vote_view **recent = rtk_xcalloc(nopts * RTK_CHAN_RECENT_VOTERS, sizeof(*recent));
    int *nrecent = rtk_xcalloc(nopts, sizeof(*nrecent));
    if (!hidden && !p->anonymous) {
        size_t full = 0, bytes = 0;
        for (size_t i = p->nvotes; i-- > 0 && full < nopts;) {
            int o = p->votes[i]->option;
            if (nrecent[o] == RTK_CHAN_RECENT_VOTERS)
                continue;
            size_t len = voter_len(p->votes[i]);
            if (bytes + len > RTK_CHAN_VIEW_VOTERS_BYTES)
                break;
            bytes += len;
            recent[(size_t)o * RTK_CHAN_RECENT_VOTERS + (size_t)nrecent[o]++] = p->votes[i];
            if (nrecent[o] == RTK_CHAN_RECENT_VOTERS)
                full++;
        }
    }
    RTK_JW_LIT(w, "{\"id\":");
    rtk_jw_str(w, p->id);
    RTK_JW_LIT(w, ",\"question\":");
    rtk_jw_str(w, p->question);
    RTK_JW_LIT(w, ",\"options\":[");
    for (size_t i = 0; i < nopts; i++) {
        if (i)
            RTK_JW_LIT(w, ",");
        RTK_JW_LIT(w, "{\"text\":");
        rtk_jw_str(w, p->opts[i]);
        RTK_JW_LIT(w, ",\"count\":");
        if (hidden)
            RTK_JW_LIT(w, "null");
        else
            rtk_jw_int(w, p->counts[i]);
        RTK_JW_LIT(w, ",\"votes\":[");
        for (int k = 0; k < nrecent[i]; k++) {
            const rtk_vote_view *v = recent[i * RTK_CHAN_RECENT_VOTERS + (size_t)k];
            if (k)
                RTK_JW_LIT(w, ",");
            RTK_JW_LIT(w, "{\"id\":");
            rtk_jw_str(w, v->participant_id);
            RTK_JW_LIT(w, ",\"name\":");
            rtk_jw_str_trunc(w, v->name, RTK_CHAN_VIEW_NAME_MAX);
            RTK_JW_LIT(w, "}");
        }
        RTK_JW_LIT(w, "]}");
    }
    RTK_JW_LIT(w, "],\"anonymous\":");
    rtk_jw_bool(w, p->anonymous);
    RTK_JW_LIT(w, ",\"hide_votes\":");
    rtk_jw_bool(w, p->hide_votes);
    RTK_JW_LIT(w, ",\"created_by\":");
    rtk_jw_str(w, p->created_by);
    RTK_JW_LIT(w, ",\"my_vote\":");
    if (my_vote < 0)
        RTK_JW_LIT(w, "null");
    else
        rtk_jw_int(w, my_vote);
    RTK_JW_LIT(w, ",\"total_votes\":");
    if (hidden)
        RTK_JW_LIT(w, "null");
    else
        rtk_jw_int(w, (int64_t)p->nvotes);
    RTK_JW_LIT(w, ",\"created_at\":");
    rtk_jw_time(w, p->created_ms);
    RTK_JW_LIT(w, "}");
    free(recent);
    free(nrecent);
}

/* A peer in a list (PROTOCOL.md §4): a live one with joined_at, a waiting one with
 * waiting_since; "self" also with its permissions. */
static void render_peer(rtk_jw *w, const rtk_peer_view *s, const char *time_key)
{
    RTK_JW_LIT(w, "{\"peer_id\":");
    rtk_jw_str(w, s->peer_id);
    RTK_JW_LIT(w, ",\"participant_id\":");
    rtk_jw_str(w, s->participant_id);
    RTK_JW_LIT(w, ",\"custom_participant_id\":");
    rtk_jw_str(w, s->custom_id);
    RTK_JW_LIT(w, ",\"name\":");
    rtk_jw_str(w, s->name);
    if (time_key != NULL) {
        RTK_JW_LIT(w, ",\"picture\":");
        rtk_jw_str(w, s->picture);
    }
    RTK_JW_LIT(w, ",\"preset_name\":");
    rtk_jw_str(w, s->preset);
    if (time_key == NULL) {
        RTK_JW_LIT(w, ",\"permissions\":");
        if (s->permissions_len)
            rtk_jw_raw(w, s->permissions, s->permissions_len);
        else
            RTK_JW_LIT(w, "{}");
    } else {
        rtk_jw_raw(w, time_key, strlen(time_key));
        rtk_jw_time(w, s->joined_ms);
    }
    RTK_JW_LIT(w, "}");
}

static void render_peers(rtk_jw *w, const rtk_peer_view *v, size_t n, const char *time_key)
{
    RTK_JW_LIT(w, "[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            RTK_JW_LIT(w, ",");
        render_peer(w, &v[i], time_key);
    }
    RTK_JW_LIT(w, "]");
}

static void render_ids(rtk_jw *w, const char *const *ids, size_t n)
{
    RTK_JW_LIT(w, "[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            RTK_JW_LIT(w, ",");
        rtk_jw_str(w, ids[i]);
    }
    RTK_JW_LIT(w, "]");
}

#define JOINED_AT ",\"joined_at\":"
#define WAITING_SINCE ",\"waiting_since\":"

/* hello and admitted (PROTOCOL.md §3a, §4). */
static void render_hello(rtk_jw *w, const rtk_live_msg *msg, uint64_t heartbeat_ms)
{
    if (msg->type == RTK_MSG_ADMITTED)
        RTK_JW_LIT(w, "{\"type\":\"admitted\",\"protocol\":2,\"heartbeat_ms\":");
    else
        RTK_JW_LIT(w, "{\"type\":\"hello\",\"protocol\":2,\"heartbeat_ms\":");
    rtk_jw_int(w, (int64_t)heartbeat_ms);
    if (msg->waiting_state) {
        RTK_JW_LIT(w, ",\"state\":\"waiting\",\"self\":");
        render_peer(w, msg->self, NULL);
        return;
    }
    RTK_JW_LIT(w, ",\"state\":\"joined\",\"session\":");
    rtk_api_view_session(w, msg->session);
    RTK_JW_LIT(w, ",\"self\":");
    render_peer(w, msg->self, NULL);
    RTK_JW_LIT(w, ",\"polls\":[");
    for (size_t i = 0; i < msg->npolls; i++) {
        if (i)
            RTK_JW_LIT(w, ",");
        rtk_chan_msg_viewer_view(w, msg->polls[i], msg->my_votes[i]);
    }
    RTK_JW_LIT(w, "]");
    if (msg->list) {
        RTK_JW_LIT(w, ",\"participants\":");
        render_peers(w, msg->peers, msg->npeers, JOINED_AT);
    }
    if (msg->accept) {
        RTK_JW_LIT(w, ",\"waiting\":");
        render_peers(w, msg->waiting, msg->nwaiting, WAITING_SINCE);
    }
}

/* The tallies of |p|: "counts":[…],"total_votes":N. */
static void render_tallies(rtk_jw *w, const rtk_poll_view *p)
{
    RTK_JW_LIT(w, ",\"counts\":[");
    for (int i = 0; i < p->nopts; i++) {
        if (i)
            RTK_JW_LIT(w, ",");
        rtk_jw_int(w, p->counts[i]);
    }
    RTK_JW_LIT(w, "],\"total_votes\":");
    rtk_jw_int(w, (int64_t)p->nvotes);
}

/* poll.updated (PROTOCOL.md §4): the tallies and the voters since the previous one. */
static void render_poll_updated(rtk_jw *w, const rtk_live_msg *msg)
{
    const rtk_poll_view *p = msg->poll;
    RTK_JW_LIT(w, "{\"type\":\"poll.updated\",\"poll_id\":");
    rtk_jw_str(w, p->id);
    render_tallies(w, p);
    if (p->anonymous)
        return;
    RTK_JW_LIT(w, ",\"voters\":[");
    for (size_t i = 0; i < msg->nvoters; i++) {
        const rtk_vote_view *v = msg->voters[i];
        if (i)
            RTK_JW_LIT(w, ",");
        RTK_JW_LIT(w, "{\"option\":");
        rtk_jw_int(w, v->option);
        RTK_JW_LIT(w, ",\"id\":");
        rtk_jw_str(w, v->participant_id);
        RTK_JW_LIT(w, ",\"name\":");
        rtk_jw_str_trunc(w, v->name, RTK_CHAN_VIEW_NAME_MAX);
        RTK_JW_LIT(w, "}");
    }
    RTK_JW_LIT(w, "]");
}

/* poll.voted (PROTOCOL.md §4): the voter's vote and the tallies; the whole view once when the
 * tallies were hidden from it until now. */
static void render_poll_voted(rtk_jw *w, const rtk_live_msg *msg)
{
    const rtk_poll_view *p = msg->poll;
    RTK_JW_LIT(w, "{\"type\":\"poll.voted\",\"poll_id\":");
    rtk_jw_str(w, p->id);
    RTK_JW_LIT(w, ",\"my_vote\":");
    rtk_jw_int(w, msg->my_vote);
    render_tallies(w, p);
    if (p->hide_votes) {
        RTK_JW_LIT(w, ",\"poll\":");
        rtk_chan_msg_viewer_view(w, p, msg->my_vote);
    }
}

/* Writes |msg| without its closing brace. */
static void render(rtk_jw *w, const rtk_live_msg *msg, uint64_t heartbeat_ms)
{
    switch (msg->type) {
    case RTK_MSG_HELLO:
    case RTK_MSG_ADMITTED: render_hello(w, msg, heartbeat_ms); break;
    case RTK_MSG_REFUSED: RTK_JW_LIT(w, "{\"type\":\"refused\""); break;
    case RTK_MSG_SESSION_UPDATED:
        RTK_JW_LIT(w, "{\"type\":\"session.updated\",\"session\":");
        rtk_api_view_session(w, msg->session);
        break;
    case RTK_MSG_PARTICIPANTS_UPDATED:
        RTK_JW_LIT(w, "{\"type\":\"participants.updated\",\"joined\":");
        render_peers(w, msg->peers, msg->npeers, JOINED_AT);
        RTK_JW_LIT(w, ",\"left\":");
        render_ids(w, msg->left, msg->nleft);
        break;
    case RTK_MSG_WAITING_UPDATED:
        RTK_JW_LIT(w, "{\"type\":\"waiting.updated\",\"joined\":");
        render_peers(w, msg->waiting, msg->nwaiting, WAITING_SINCE);
        RTK_JW_LIT(w, ",\"left\":");
        render_ids(w, msg->left, msg->nleft);
        break;
    case RTK_MSG_POLL_CREATED:
        RTK_JW_LIT(w, "{\"type\":\"poll.created\",\"poll\":");
        rtk_chan_msg_viewer_view(w, msg->poll, msg->my_vote);
        break;
    case RTK_MSG_POLL_UPDATED: render_poll_updated(w, msg); break;
    case RTK_MSG_POLL_VOTED: render_poll_voted(w, msg); break;
    case RTK_MSG_KICKED:
        RTK_JW_LIT(w, "{\"type\":\"kicked\",\"reason\":");
        rtk_jw_str(w, msg->reason);
        break;
    case RTK_MSG_DONE:
        RTK_JW_LIT(w, "{\"type\":\"done\",\"action\":");
        rtk_jw_str(w, msg->action);
        RTK_JW_LIT(w, ",\"participants\":");
        render_ids(w, msg->ids, msg->nids);
        break;
    case RTK_MSG_PONG: RTK_JW_LIT(w, "{\"type\":\"pong\""); break;
    case RTK_MSG_ERROR:
    default:
        RTK_JW_LIT(w, "{\"type\":\"error\",\"code\":");
        rtk_jw_str(w, msg->code);
        RTK_JW_LIT(w, ",\"message\":");
        rtk_jw_str(w, msg->text);
        break;
    }
}

rtk_frame *rtk_chan_msg_frame(rtk_live_msg *msg, const char *ref, size_t ref_len,
                              uint64_t heartbeat_ms)
{
    if (msg->type == RTK_MSG_PING) {
        if (msg->cache == NULL) {
            msg_cache *c = rtk_xcalloc(1, sizeof(*c));
            c->shared = rtk_frame_new(RTK_WS_OP_PING, NULL, 0);
            msg->cache = c;
        }
        return rtk_frame_ref(((msg_cache *)msg->cache)->shared);
    }
    msg_cache *c = msg->cache;
    if (c == NULL) {
        rtk_jw w;
        char stack[1024];
        rtk_jw_init(&w, stack, sizeof(stack));
        render(&w, msg, heartbeat_ms);
        c = rtk_xcalloc(1, sizeof(*c));
        c->text = rtk_jw_take(&w, &c->len);
        msg->cache = c;
    }
    if (ref == NULL) {
        if (c->shared == NULL) {
            const char *parts[2] = {c->text, "}"};
            size_t lens[2] = {c->len, 1};
            c->shared = rtk_frame_text_parts(parts, lens, 2);
        }
        return rtk_frame_ref(c->shared);
    }
    rtk_jw w;
    char stack[160];
    rtk_jw_init(&w, stack, sizeof(stack));
    RTK_JW_LIT(&w, ",\"ref\":");
    rtk_jw_strn(&w, ref, ref_len);
    RTK_JW_LIT(&w, "}");
    const char *parts[2] = {c->text, w.buf};
    size_t lens[2] = {c->len, w.len};
    rtk_frame *f = rtk_frame_text_parts(parts, lens, 2);
    rtk_jw_free(&w);
    return f;
}

void rtk_chan_msg_release(rtk_live_msg *msg)
{
    msg_cache *c = msg->cache;
    if (c == NULL)
        return;
    rtk_frame_unref(c->shared);
    free(c->text);
    free(c);
    msg->cache = NULL;
}

/* ---- polls to create ---- */

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

static int opt_bool(rtk_poll_input *in, json_t *obj, const char *key, int *out)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return 0;
    if (!json_is_boolean(v)) {
        snprintf(in->error, sizeof(in->error), "\"%s\" must be a boolean", key);
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

int rtk_poll_input_parse(json_t *obj, rtk_poll_input *in)
{
    memset(in, 0, sizeof(*in));
    json_t *q = json_object_get(obj, "question");
    if (q == NULL || !json_is_string(q)) {
        snprintf(in->error, sizeof(in->error), "\"question\" %s",
                 q == NULL ? "is required" : "must be a string");
        return -1;
    }
    const char *qs = json_string_value(q);
    size_t qlen = json_string_length(q);
    if (strlen(qs) != qlen) {
        snprintf(in->error, sizeof(in->error), "\"question\" must not contain NUL characters");
        return -1;
    }
    while (qlen > 0 && is_space(*qs)) {
        qs++;
        qlen--;
    }
    while (qlen > 0 && is_space(qs[qlen - 1]))
        qlen--;
    size_t qchars = utf8_chars(qs, qlen);
    if (qchars < 1 || qchars > RTK_POLL_QUESTION_MAX) {
        snprintf(in->error, sizeof(in->error),
                 "\"question\" must be 1 to %d characters long after trimming",
                 RTK_POLL_QUESTION_MAX);
        return -1;
    }
    json_t *o = json_object_get(obj, "options");
    if (o == NULL || !json_is_array(o) || json_array_size(o) < 1 ||
        json_array_size(o) > RTK_POLL_OPTIONS_MAX) {
        snprintf(in->error, sizeof(in->error), "\"options\" must be an array of 1 to %d strings",
                 RTK_POLL_OPTIONS_MAX);
        return -1;
    }
    size_t n = json_array_size(o);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(o, i);
        size_t chars =
            json_is_string(e) ? utf8_chars(json_string_value(e), json_string_length(e)) : 0;
        if (!json_is_string(e) || chars < 1 || chars > RTK_POLL_OPTION_MAX ||
            strlen(json_string_value(e)) != json_string_length(e)) {
            snprintf(in->error, sizeof(in->error),
                     "\"options[%zu]\" must be a string of 1 to %d characters", i,
                     RTK_POLL_OPTION_MAX);
            return -1;
        }
        in->opts[i] = json_string_value(e);
    }
    int anonymous = 0, hide_votes = 0;
    if (opt_bool(in, obj, "anonymous", &anonymous) != 0 ||
        opt_bool(in, obj, "hide_votes", &hide_votes) != 0)
        return -1;
    in->question = rtk_xstrndup(qs, qlen);
    in->spec = (rtk_poll_spec){
        .question = in->question,
        .opts = in->opts,
        .nopts = (int)n,
        .anonymous = anonymous,
        .hide_votes = hide_votes,
        /* created_by: an API token's id or a participant's, both 36 characters */
        .view_bytes = rtk_chan_msg_view_bound(in->question, in->opts, (int)n,
                                              "00000000-0000-0000-0000-000000000000"),
    };
    return 0;
}

void rtk_poll_input_free(rtk_poll_input *in)
{
    free(in->question);
    in->question = NULL;
}

/* ---- parsing ---- */

/* An optional array of non-empty id strings under |key| of |msg|, appended to req->ids.
 * Returns its length, or -1 after setting the error. */
static int parse_ids(json_t *msg, const char *key, rtk_chan_req *req)
{
    json_t *v = json_object_get(msg, key);
    if (v == NULL || json_is_null(v))
        return 0;
    size_t n = json_is_array(v) ? json_array_size(v) : 0;
    if (!json_is_array(v) || req->nids + n > RTK_CHAN_IDS_MAX) {
        req->error_code = "invalid_message";
        req->error_text = json_is_array(v) ? "A host action may name at most 1000 participants"
                                           : "Participant ids must be an array of strings";
        return -1;
    }
    req->ids = rtk_xrealloc(req->ids, (req->nids + n + 1) * sizeof(*req->ids));
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(v, i);
        if (!json_is_string(e) || json_string_length(e) == 0 || json_string_length(e) > 256) {
            req->error_code = "invalid_message";
            req->error_text = "Participant ids must be non-empty strings of at most 256 bytes";
            return -1;
        }
        req->ids[req->nids++] = json_string_value(e);
    }
    return (int)n;
}

static void parse_host(json_t *msg, const char *type, rtk_chan_req *out)
{
    if (strcmp(type, "poll.create") == 0) {
        out->type = RTK_CREQ_POLL_CREATE;
        if (rtk_poll_input_parse(msg, &out->poll) != 0) {
            out->type = RTK_CREQ_INVALID;
            out->error_code = "invalid_message";
            out->error_text = out->poll.error;
        }
    } else if (strcmp(type, "participant.kick") == 0) {
        out->type = RTK_CREQ_KICK;
        int nc;
        if (parse_ids(msg, "participant_ids", out) < 0 ||
            (nc = parse_ids(msg, "custom_participant_ids", out)) < 0) {
            out->type = RTK_CREQ_INVALID;
            return;
        }
        out->ncustom = (size_t)nc;
        if (out->nids == 0) {
            out->type = RTK_CREQ_INVALID;
            out->error_code = "invalid_message";
            out->error_text =
                "\"participant_ids\" or \"custom_participant_ids\" must name a participant";
        }
    } else if (strcmp(type, "session.kick_all") == 0) {
        out->type = RTK_CREQ_KICK_ALL;
    } else {
        out->type = strcmp(type, "waiting.admit") == 0 ? RTK_CREQ_ADMIT : RTK_CREQ_REFUSE;
        if (parse_ids(msg, "participant_ids", out) < 0) {
            out->type = RTK_CREQ_INVALID;
        } else if (!json_is_array(json_object_get(msg, "participant_ids"))) {
            out->type = RTK_CREQ_INVALID;
            out->error_code = "invalid_message";
            out->error_text = "\"participant_ids\" must be an array of strings";
        }
    }
}

void rtk_chan_req_parse(const char *text, size_t len, rtk_chan_req *out)
{
    memset(out, 0, sizeof(*out));
    out->option = -1;
    json_error_t err;
    json_t *msg = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    out->doc = msg;
    if (msg == NULL || !json_is_object(msg)) {
        out->error_code = "invalid_json";
        out->error_text = msg ? "A message must be a JSON object" : "The message is not valid JSON";
        return;
    }
    json_t *ref = json_object_get(msg, "ref");
    if (ref != NULL && (!json_is_string(ref) || json_string_length(ref) > 64)) {
        out->error_code = "invalid_message";
        out->error_text = "\"ref\" must be a string of at most 64 bytes";
        return;
    }
    if (ref != NULL) {
        out->ref = json_string_value(ref);
        out->ref_len = json_string_length(ref);
    }
    const char *type = json_string_value(json_object_get(msg, "type"));
    if (type == NULL) {
        out->error_code = "invalid_message";
        out->error_text = "A message needs a string \"type\"";
    } else if (strcmp(type, "ping") == 0) {
        out->type = RTK_CREQ_PING;
    } else if (strcmp(type, "poll.vote") == 0) {
        out->type = RTK_CREQ_VOTE;
        out->poll_id = json_string_value(json_object_get(msg, "poll_id"));
        json_t *opt = json_object_get(msg, "option");
        if (json_is_integer(opt) && json_integer_value(opt) >= 0)
            out->option = json_integer_value(opt);
    } else if (strcmp(type, "poll.create") == 0 || strcmp(type, "participant.kick") == 0 ||
               strcmp(type, "session.kick_all") == 0 || strcmp(type, "waiting.admit") == 0 ||
               strcmp(type, "waiting.refuse") == 0) {
        parse_host(msg, type, out);
    } else {
        out->error_code = "unknown_type";
        out->error_text = "Unknown message type";
    }
}

void rtk_chan_req_free(rtk_chan_req *req)
{
    rtk_poll_input_free(&req->poll);
    free(req->ids);
    req->ids = NULL;
    json_decref(req->doc);
    req->doc = NULL;
}
