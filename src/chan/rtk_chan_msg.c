/* SPDX-License-Identifier: MIT */
/* rtk_chan_msg.c - channel messages: rendering (one serialiser per object) and parsing. */
#include "chan/rtk_chan_msg.h"

#include <jansson.h>
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
    /* The envelope and fixed fields (type, ids, flags, counts as 20 digits each, times), a
     * 64-byte ref escaped at worst, and what the texts take escaped. */
    size_t n = 640 + rtk_jw_str_len(question, strlen(question)) + RTK_CHAN_VIEW_VOTERS_BYTES;
    if (created_by != NULL)
        n += rtk_jw_str_len(created_by, strlen(created_by));
    for (int i = 0; i < nopts; i++)
        n += 64 + rtk_jw_str_len(opts[i], strlen(opts[i]));
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

static void render_self(rtk_jw *w, const rtk_peer_view *s)
{
    RTK_JW_LIT(w, "{\"peer_id\":");
    rtk_jw_str(w, s->peer_id);
    RTK_JW_LIT(w, ",\"participant_id\":");
    rtk_jw_str(w, s->participant_id);
    RTK_JW_LIT(w, ",\"custom_participant_id\":");
    rtk_jw_str(w, s->custom_id);
    RTK_JW_LIT(w, ",\"name\":");
    rtk_jw_str(w, s->name);
    RTK_JW_LIT(w, ",\"preset_name\":");
    rtk_jw_str(w, s->preset);
    RTK_JW_LIT(w, "}");
}

/* Writes |msg| without its closing brace. */
static void render(rtk_jw *w, const rtk_live_msg *msg, uint64_t heartbeat_ms)
{
    switch (msg->type) {
    case RTK_MSG_HELLO:
        RTK_JW_LIT(w, "{\"type\":\"hello\",\"protocol\":1,\"heartbeat_ms\":");
        rtk_jw_int(w, (int64_t)heartbeat_ms);
        RTK_JW_LIT(w, ",\"session\":");
        rtk_api_view_session(w, msg->session);
        RTK_JW_LIT(w, ",\"self\":");
        render_self(w, msg->self);
        RTK_JW_LIT(w, ",\"polls\":[");
        for (size_t i = 0; i < msg->npolls; i++) {
            if (i)
                RTK_JW_LIT(w, ",");
            rtk_chan_msg_viewer_view(w, msg->polls[i], msg->my_votes[i]);
        }
        RTK_JW_LIT(w, "]");
        break;
    case RTK_MSG_SESSION_UPDATED:
        RTK_JW_LIT(w, "{\"type\":\"session.updated\",\"session\":");
        rtk_api_view_session(w, msg->session);
        break;
    case RTK_MSG_POLL_CREATED:
    case RTK_MSG_POLL_UPDATED:
    case RTK_MSG_POLL_VOTED:
        if (msg->type == RTK_MSG_POLL_CREATED)
            RTK_JW_LIT(w, "{\"type\":\"poll.created\",\"poll\":");
        else if (msg->type == RTK_MSG_POLL_UPDATED)
            RTK_JW_LIT(w, "{\"type\":\"poll.updated\",\"poll\":");
        else
            RTK_JW_LIT(w, "{\"type\":\"poll.voted\",\"poll\":");
        rtk_chan_msg_viewer_view(w, msg->poll, msg->my_vote);
        break;
    case RTK_MSG_KICKED:
        RTK_JW_LIT(w, "{\"type\":\"kicked\",\"reason\":");
        rtk_jw_str(w, msg->reason);
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

/* ---- parsing ---- */

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
    } else {
        out->error_code = "unknown_type";
        out->error_text = "Unknown message type";
    }
}

void rtk_chan_req_free(rtk_chan_req *req)
{
    json_decref(req->doc);
    req->doc = NULL;
}
