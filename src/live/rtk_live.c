/* SPDX-License-Identifier: MIT */
/* rtk_live.c - live meetings, sessions and peers; events to peers; kicks. */
#include "live/rtk_live.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live/rtk_live_int.h"
#include "net/rtk_ws.h"
#include "util/rtk_err.h"
#include "util/rtk_id.h"
#include "util/rtk_time.h"

/* ---- helpers ---- */

static void session_touch(rtk_lsession *s, int64_t now)
{
    s->db.updated_ms = now > s->db.updated_ms ? now : s->db.updated_ms + 1;
    s->db.seen_ms = now;
}

static void store_session(rtk_live *live, rtk_lsession *s)
{
    if (rtk_db_session_update(live->db, &s->db) != 0)
        fprintf(stderr, "rtkd: live: could not store session %s\n", s->db.id);
    live->need_flush = 1;
}

double rtk_live__minutes(const rtk_lsession *s, int64_t now)
{
    int64_t ms = s->db.closed_ms + s->live * now - s->sum_joined;
    return (double)ms / 60000.0;
}

static json_t *session_json(const rtk_db_session *s, int64_t live_count, double minutes)
{
    char started[25], updated[25], ended[25];
    rtk_time_iso(s->started_ms, started);
    rtk_time_iso(s->updated_ms, updated);
    rtk_time_iso(s->ended_ms, ended);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(s->id));
    json_object_set_new(o, "associated_id", json_string(s->meeting_id));
    json_object_set_new(o, "meeting_display_name", s->title ? json_string(s->title) : json_null());
    json_object_set_new(o, "type", json_string("meeting"));
    json_object_set_new(o, "status", json_string(s->ended ? "ENDED" : "LIVE"));
    json_object_set_new(o, "live_participants", json_integer(live_count));
    json_object_set_new(o, "max_concurrent_participants", json_integer(s->peak));
    json_object_set_new(o, "minutes_consumed", json_real(minutes));
    json_object_set_new(o, "organization_id", json_string(s->app_id));
    json_object_set_new(o, "started_at", json_string(started));
    json_object_set_new(o, "created_at", json_string(started));
    json_object_set_new(o, "updated_at", json_string(updated));
    json_object_set_new(o, "ended_at", s->ended ? json_string(ended) : json_null());
    json_object_set_new(o, "breakout_rooms", json_array());
    json_object_set_new(o, "meta", json_object());
    return o;
}

static json_t *lsession_json(const rtk_lsession *s, int64_t now)
{
    return session_json(&s->db, s->live, rtk_live__minutes(s, now));
}

/* Sends |f| to |p|; a peer over its outbound limit is put on the drop list. */
void rtk_live__send(rtk_live *live, rtk_peer *p, rtk_frame *f)
{
    if (p->dropping)
        return;
    if (live->tr->send(p->conn, f) != 0) {
        p->dropping = 1;
        p->drop_next = live->drops;
        live->drops = p;
    }
}

static void send_json(rtk_live *live, rtk_peer *p, json_t *msg)
{
    rtk_frame *f = rtk_frame_json(msg);
    json_decref(msg);
    rtk_live__send(live, p, f);
    rtk_frame_unref(f);
}

void rtk_live__broadcast(rtk_live *live, rtk_lmeeting *m, rtk_frame *f)
{
    for (rtk_peer *p = m->peers; p != NULL; p = p->next)
        rtk_live__send(live, p, f);
}

/* ---- meetings ---- */

static rtk_lmeeting *meeting_get(rtk_live *live, const char *id)
{
    return rtk_map_get(&live->meetings, id);
}

static rtk_lmeeting *meeting_open(rtk_live *live, const char *id, const char *app_id,
                                  const char *title, int64_t keep_alive_s)
{
    rtk_lmeeting *m = meeting_get(live, id);
    if (m == NULL) {
        m = rtk_xcalloc(1, sizeof(*m));
        snprintf(m->id, sizeof(m->id), "%s", id);
        snprintf(m->app_id, sizeof(m->app_id), "%s", app_id);
        rtk_map_put(&live->meetings, m->id, m);
    }
    free(m->title);
    m->title = title ? rtk_xstrndup(title, strlen(title)) : NULL;
    m->keep_alive_ms = keep_alive_s * 1000;
    return m;
}

static void meeting_free(rtk_lmeeting *m)
{
    free(m->title);
    free(m);
}

/* Frees meetings with neither a session nor peers; run from the tick, never mid-operation. */
static void meetings_gc(rtk_live *live)
{
    for (;;) {
        size_t it = 0;
        void *v;
        rtk_lmeeting *dead = NULL;
        while (rtk_map_next(&live->meetings, &it, NULL, &v)) {
            rtk_lmeeting *m = v;
            if (m->session == NULL && m->peers == NULL && !m->dirty) {
                dead = m;
                break;
            }
        }
        if (dead == NULL)
            return;
        rtk_map_del(&live->meetings, dead->id);
        meeting_free(dead);
    }
}

/* ---- sessions ---- */

static void lsession_free(rtk_lsession *s)
{
    if (s == NULL)
        return;
    size_t it = 0;
    const char *k;
    while (rtk_map_next(&s->kicked, &it, &k, NULL))
        free((char *)k);
    rtk_map_free(&s->kicked);
    rtk_live__polls_free(s);
    free(s->db.title);
    free(s);
}

static rtk_lsession *session_start(rtk_live *live, rtk_lmeeting *m, int64_t now)
{
    rtk_lsession *s = rtk_xcalloc(1, sizeof(*s));
    rtk_id_uuid4(s->db.id);
    snprintf(s->db.meeting_id, sizeof(s->db.meeting_id), "%s", m->id);
    snprintf(s->db.app_id, sizeof(s->db.app_id), "%s", m->app_id);
    s->db.title = m->title ? rtk_xstrndup(m->title, strlen(m->title)) : NULL;
    s->db.started_ms = s->db.updated_ms = s->db.seen_ms = now;
    rtk_map_init(&s->kicked);
    if (rtk_db_session_insert(live->db, &s->db) != 0)
        fprintf(stderr, "rtkd: live: could not store new session %s\n", s->db.id);
    live->need_flush = 1;
    m->session = s;
    return s;
}

static void session_end(rtk_live *live, rtk_lmeeting *m, int64_t now)
{
    rtk_lsession *s = m->session;
    s->db.ended = 1;
    s->db.ended_ms = now;
    session_touch(s, now);
    store_session(live, s);
    rtk_live__commit(live); /* votes waiting on this session's polls get their replies */
    m->session = NULL;
    m->keep_alive_deadline = 0;
    m->dirty = 0;
    lsession_free(s);
}

static void mark_dirty(rtk_lmeeting *m)
{
    m->dirty = 1;
}

/* ---- peers ---- */

static void peer_unlink(rtk_live *live, rtk_peer *p)
{
    rtk_lmeeting *m = p->m;
    if (p->prev)
        p->prev->next = p->next;
    else
        m->peers = p->next;
    if (p->next)
        p->next->prev = p->prev;
    if (rtk_map_get(&live->by_participant, p->participant_id) == p)
        rtk_map_del(&live->by_participant, p->participant_id);
    live->npeers--;
}

/* Records that |p| left at |at| and frees it. |replacing|: a new peer of the same participant
 * joins right after, so an empty session must not start its keep-alive or end. */
static void peer_gone(rtk_live *live, rtk_peer *p, int64_t at, int replacing)
{
    rtk_lmeeting *m = p->m;
    rtk_lsession *s = m->session;
    int64_t now = rtk_time_now_ms();
    peer_unlink(live, p);
    if (at < p->joined_ms)
        at = p->joined_ms;
    s->live--;
    s->sum_joined -= p->joined_ms;
    s->db.closed_ms += at - p->joined_ms;
    session_touch(s, now);
    if (!live->bulk_leave && rtk_db_peer_left(live->db, p->peer_id, at) != 0)
        fprintf(stderr, "rtkd: live: could not store leave of peer %s\n", p->peer_id);
    if (!live->bulk_leave) /* a bulk leave stores the session once, at its end */
        store_session(live, s);
    mark_dirty(m);
    rtk_live__votes_peer_gone(live, p);
    free(p->name);
    free(p);
    if (s->live == 0 && !replacing) {
        if (m->keep_alive_ms == 0)
            session_end(live, m, now);
        else
            m->keep_alive_deadline = now + m->keep_alive_ms;
    }
}

/* Server-side removal: tell the channel to close |p| with |code|, then forget it. */
static void peer_drop(rtk_live *live, rtk_peer *p, uint16_t code, const char *reason, int64_t at,
                      int replacing)
{
    live->tr->close(p->conn, code, reason);
    peer_gone(live, p, at, replacing);
}

/* Drops the peers that failed a send (slow consumers) during the last operation. */
void rtk_live__drain(rtk_live *live)
{
    while (live->drops != NULL) {
        rtk_peer *p = live->drops;
        live->drops = p->drop_next;
        peer_drop(live, p, RTK_WS_CLOSE_POLICY, "slow consumer", rtk_time_now_ms(), 0);
    }
}

int rtk_live_may_join(rtk_live *live, const char *meeting_id, const char *participant_id)
{
    rtk_lmeeting *m = meeting_get(live, meeting_id);
    if (m != NULL && m->session != NULL && rtk_map_get(&m->session->kicked, participant_id))
        return RTK_EAUTH;
    return 0;
}

rtk_peer *rtk_live_join(rtk_live *live, const rtk_join_info *ji, void *conn)
{
    int64_t now = rtk_time_now_ms();
    rtk_lmeeting *m = meeting_open(live, ji->meeting_id, ji->app_id, ji->title, ji->keep_alive_s);
    rtk_peer *old = rtk_map_get(&live->by_participant, ji->participant_id);
    if (old != NULL) {
        /* Old and new swap in one step: the live count and the peak never count both. */
        if (old->m == m && m->session != NULL)
            peer_drop(live, old, 4002, "replaced", now, 1);
        else
            peer_drop(live, old, 4002, "replaced", now, 0);
    }
    rtk_lsession *s = m->session ? m->session : session_start(live, m, now);
    m->keep_alive_deadline = 0;

    rtk_peer *p = rtk_xcalloc(1, sizeof(*p));
    rtk_id_uuid4(p->peer_id);
    snprintf(p->participant_id, sizeof(p->participant_id), "%s", ji->participant_id);
    p->name = ji->name ? rtk_xstrndup(ji->name, strlen(ji->name)) : NULL;
    p->m = m;
    p->conn = conn;
    p->joined_ms = p->heard_ms = now;
    p->tokens = live->cfg.msg_burst;
    p->refill_ms = now;
    p->next = m->peers;
    if (m->peers)
        m->peers->prev = p;
    m->peers = p;
    rtk_map_put(&live->by_participant, p->participant_id, p);
    live->npeers++;

    s->live++;
    s->sum_joined += now;
    if (s->live > s->db.peak)
        s->db.peak = s->live;
    session_touch(s, now);
    if (rtk_db_peer_insert(live->db, p->peer_id, s->db.id, ji->participant_id, ji->custom_id,
                           ji->name, ji->preset_name, now) != 0)
        fprintf(stderr, "rtkd: live: could not store join of peer %s\n", p->peer_id);
    store_session(live, s);
    mark_dirty(m);

    json_t *self = json_pack("{s:s,s:s,s:s,s:s?,s:s}", "peer_id", p->peer_id, "participant_id",
                             ji->participant_id, "custom_participant_id", ji->custom_id, "name",
                             ji->name, "preset_name", ji->preset_name);
    json_t *hello = json_pack("{s:s,s:i,s:I,s:o,s:o,s:o}", "type", "hello", "protocol", 1,
                              "heartbeat_ms", (json_int_t)live->cfg.heartbeat_ms, "session",
                              lsession_json(s, now), "self", self, "polls",
                              rtk_live__polls_view_all(s, p->participant_id));
    send_json(live, p, hello);
    int failed = p->dropping;
    rtk_live__drain(live);
    return failed ? NULL : p; /* a failed hello dropped (and freed) the new peer */
}

void rtk_live_leave(rtk_live *live, rtk_peer *peer)
{
    peer_gone(live, peer, rtk_time_now_ms(), 0);
}

void rtk_live_heard(rtk_live *live, rtk_peer *peer)
{
    peer->heard_ms = rtk_time_now_ms();
}

/* Token bucket per peer (PROTOCOL.md §2). Returns 1 when the message may be acted on. */
static int take_token(rtk_live *live, rtk_peer *p, int64_t now)
{
    if (live->cfg.msg_rate < 0)
        return 1; /* flood control turned off (benchmarks) */
    double add = (double)(now - p->refill_ms) * live->cfg.msg_rate / 1000.0;
    p->refill_ms = now;
    p->tokens += add;
    if (p->tokens > live->cfg.msg_burst)
        p->tokens = live->cfg.msg_burst;
    if (p->tokens >= 1.0) {
        p->tokens -= 1.0;
        p->excess = 0;
        return 1;
    }
    p->excess++;
    return 0;
}

void rtk_live__send_error(rtk_live *live, rtk_peer *p, const char *code, const char *message,
                          json_t *ref)
{
    json_t *e = json_pack("{s:s,s:s,s:s}", "type", "error", "code", code, "message", message);
    if (ref != NULL)
        json_object_set(e, "ref", ref);
    send_json(live, p, e);
}

int rtk_live_message(rtk_live *live, rtk_peer *p, const char *text, size_t len)
{
    int64_t now = rtk_time_now_ms();
    p->heard_ms = now;
    if (!take_token(live, p, now)) {
        if (p->excess > live->cfg.msg_excess_close) {
            peer_drop(live, p, RTK_WS_CLOSE_POLICY, "rate limit", now, 0);
            rtk_live__drain(live);
            return -1;
        }
        rtk_live__send_error(live, p, "rate_limited", "Too many messages; slow down", NULL);
        rtk_live__drain(live);
        return 0;
    }
    json_error_t err;
    json_t *msg = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (msg == NULL || !json_is_object(msg)) {
        rtk_live__send_error(live, p, "invalid_json", msg ? "A message must be a JSON object"
                                                : "The message is not valid JSON",
                   NULL);
        json_decref(msg);
        rtk_live__drain(live);
        return 0;
    }
    json_t *ref = json_object_get(msg, "ref");
    if (ref != NULL && (!json_is_string(ref) || json_string_length(ref) > 64)) {
        rtk_live__send_error(live, p, "invalid_message",
                             "\"ref\" must be a string of at most 64 bytes", NULL);
        goto out;
    }
    const char *type = json_string_value(json_object_get(msg, "type"));
    if (type == NULL) {
        rtk_live__send_error(live, p, "invalid_message", "A message needs a string \"type\"", ref);
    } else if (strcmp(type, "ping") == 0) {
        json_t *pong = json_pack("{s:s}", "type", "pong");
        if (ref)
            json_object_set(pong, "ref", ref);
        send_json(live, p, pong);
    } else if (strcmp(type, "poll.vote") == 0) {
        rtk_live__poll_vote(live, p, msg, ref);
    } else {
        rtk_live__send_error(live, p, "unknown_type", "Unknown message type", ref);
    }
out:
    json_decref(msg);
    rtk_live__drain(live);
    return 0;
}

/* ---- API side ---- */

json_t *rtk_live_session_json(rtk_live *live, const char *meeting_id)
{
    rtk_lmeeting *m = meeting_get(live, meeting_id);
    if (m == NULL || m->session == NULL)
        return NULL;
    return lsession_json(m->session, rtk_time_now_ms());
}

const char *rtk_live_meeting_app(rtk_live *live, const char *meeting_id)
{
    rtk_lmeeting *m = meeting_get(live, meeting_id);
    return m ? m->app_id : NULL;
}

int rtk_live_participant_is_live(rtk_live *live, const char *participant_id)
{
    return rtk_map_get(&live->by_participant, participant_id) != NULL;
}

int64_t rtk_live_meeting_peers(rtk_live *live, const char *meeting_id)
{
    rtk_lmeeting *m = meeting_get(live, meeting_id);
    return m && m->session ? m->session->live : 0;
}

/* Appends |s| as a JSON string literal to buf[*off..cap); returns -1 if it does not fit.
 * |s| is valid UTF-8 (it came through the JSON validators): only quotes, backslashes and
 * control characters need escaping. */
static int put_json_string(char *buf, size_t cap, size_t *off, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = *off;
    if (o >= cap)
        return -1;
    buf[o++] = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (o + 6 >= cap)
            return -1;
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c < 0x20) {
            buf[o++] = '\\';
            buf[o++] = 'u';
            buf[o++] = '0';
            buf[o++] = '0';
            buf[o++] = hex[c >> 4];
            buf[o++] = hex[c & 15];
        } else {
            buf[o++] = (char)c;
        }
    }
    if (o + 1 >= cap)
        return -1;
    buf[o++] = '"';
    *off = o;
    return 0;
}

int rtk_live_session_reply(rtk_live *live, const char *meeting_id, char *buf, size_t cap)
{
    rtk_lmeeting *m = meeting_get(live, meeting_id);
    if (m == NULL || m->session == NULL)
        return 0;
    const rtk_lsession *s = m->session;
    char started[25], updated[25], minutes[40];
    rtk_time_iso(s->db.started_ms, started);
    rtk_time_iso(s->db.updated_ms, updated);
    /* Same text as jansson's json_real: %.17g, and ".0" when that looks like an integer. */
    int mlen = snprintf(minutes, sizeof(minutes) - 2, "%.17g",
                        rtk_live__minutes(s, rtk_time_now_ms()));
    if (mlen > 0 && strpbrk(minutes, ".eE") == NULL)
        memcpy(minutes + mlen, ".0", 3);
    size_t off = 0;
    int n = snprintf(buf, cap,
                     "{\"success\":true,\"data\":{\"id\":\"%s\",\"associated_id\":\"%s\","
                     "\"meeting_display_name\":",
                     s->db.id, s->db.meeting_id);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    off = (size_t)n;
    if (s->db.title != NULL) {
        if (put_json_string(buf, cap, &off, s->db.title) != 0)
            return -1;
    } else {
        if (off + 4 >= cap)
            return -1;
        memcpy(buf + off, "null", 4);
        off += 4;
    }
    n = snprintf(buf + off, cap - off,
                 ",\"type\":\"meeting\",\"status\":\"LIVE\",\"live_participants\":%lld,"
                 "\"max_concurrent_participants\":%lld,\"minutes_consumed\":%s,"
                 "\"organization_id\":\"%s\",\"started_at\":\"%s\",\"created_at\":\"%s\","
                 "\"updated_at\":\"%s\",\"ended_at\":null,\"breakout_rooms\":[],\"meta\":{}}}",
                 (long long)s->live, (long long)s->db.peak, minutes, s->db.app_id, started, started,
                 updated);
    if (n < 0 || (size_t)n >= cap - off)
        return -1;
    return (int)(off + (size_t)n);
}

int rtk_live_has_session(rtk_live *live, const char *meeting_id)
{
    rtk_lmeeting *m = meeting_get(live, meeting_id);
    return m != NULL && m->session != NULL;
}

json_t *rtk_live_session_json_db(rtk_live *live, const rtk_db_session *s)
{
    rtk_lmeeting *m = meeting_get(live, s->meeting_id);
    if (m != NULL && m->session != NULL && strcmp(m->session->db.id, s->id) == 0)
        return lsession_json(m->session, rtk_time_now_ms());
    return session_json(s, 0, (double)s->closed_ms / 60000.0);
}

rtk_lsession *rtk_live__session(rtk_live *live, const char *meeting_id)
{
    rtk_lmeeting *m = meeting_get(live, meeting_id);
    return m ? m->session : NULL;
}

static void send_kicked(rtk_live *live, rtk_peer *p, const char *reason)
{
    send_json(live, p, json_pack("{s:s,s:s}", "type", "kicked", "reason", reason));
}

int rtk_live_kick(rtk_live *live, const char *meeting_id, const char *const *ids, size_t n,
                  int *was_live)
{
    rtk_lmeeting *m = meeting_get(live, meeting_id);
    if (m == NULL || m->session == NULL)
        return RTK_ENOTFOUND;
    rtk_lsession *s = m->session;
    int64_t now = rtk_time_now_ms();
    for (size_t i = 0; i < n; i++) {
        was_live[i] = 0;
        if (rtk_map_get(&s->kicked, ids[i]) == NULL) {
            char *key = rtk_xstrndup(ids[i], strlen(ids[i]));
            rtk_map_put(&s->kicked, key, key);
            if (rtk_db_kick_insert(live->db, s->db.id, ids[i], now) != 0)
                fprintf(stderr, "rtkd: live: could not store kick of %s\n", ids[i]);
        }
        rtk_peer *p = rtk_map_get(&live->by_participant, ids[i]);
        if (p != NULL && p->m == m) {
            was_live[i] = 1;
            send_kicked(live, p, "kicked");
            peer_drop(live, p, 4001, "kicked", now, 0);
            if (m->session == NULL) /* keep-alive 0: the last kick ended it */
                break;
        }
    }
    live->need_flush = 1;
    rtk_live__drain(live);
    return 0;
}

int rtk_live_kick_all(rtk_live *live, const char *meeting_id, int64_t *count)
{
    rtk_lmeeting *m = meeting_get(live, meeting_id);
    if (m == NULL || m->session == NULL)
        return RTK_ENOTFOUND;
    int64_t now = rtk_time_now_ms();
    json_t *msg = json_pack("{s:s,s:s}", "type", "kicked", "reason", "kick_all");
    rtk_frame *f = rtk_frame_json(msg);
    json_decref(msg);
    *count = 0;
    live->bulk_leave = 1;
    /* Keep the session while its peers go, so the last leave does not start a keep-alive. */
    for (rtk_peer *p = m->peers, *next; p != NULL; p = next) {
        next = p->next; /* peer_gone frees p only */
        rtk_live__send(live, p, f);
        live->tr->close(p->conn, 4001, "kicked");
        if (p->dropping) { /* failed the send: it is on the drop list; take it off */
            rtk_peer **pp = &live->drops;
            while (*pp != p)
                pp = &(*pp)->drop_next;
            *pp = p->drop_next;
        }
        peer_gone(live, p, now, 1);
        (*count)++;
    }
    rtk_frame_unref(f);
    live->bulk_leave = 0;
    if (rtk_db_session_peers_left(live->db, m->session->db.id, now) != 0)
        fprintf(stderr, "rtkd: live: could not store the leaves of a kick-all\n");
    session_end(live, m, now);
    live->need_flush = 1;
    rtk_live__drain(live);
    return 0;
}

void rtk_live_participant_deleted(rtk_live *live, const char *participant_id)
{
    rtk_peer *p = rtk_map_get(&live->by_participant, participant_id);
    if (p != NULL) {
        peer_drop(live, p, 4003, "participant deleted", rtk_time_now_ms(), 0);
        rtk_live__drain(live);
    }
}

void rtk_live_meeting_changed(rtk_live *live, const char *meeting_id, const char *title,
                              int64_t keep_alive_s)
{
    rtk_lmeeting *m = meeting_get(live, meeting_id);
    if (m == NULL)
        return;
    free(m->title);
    m->title = title ? rtk_xstrndup(title, strlen(title)) : NULL;
    m->keep_alive_ms = keep_alive_s * 1000;
}

size_t rtk_live_peer_count(const rtk_live *live)
{
    return live->npeers;
}

size_t rtk_live_peer_size(void)
{
    return sizeof(rtk_peer);
}

/* ---- timers ---- */

static void heartbeat(rtk_live *live, int64_t now)
{
    int64_t limit = now - 2 * (int64_t)live->cfg.heartbeat_ms;
    size_t it = 0;
    void *v;
    rtk_peer *dead = NULL;
    while (rtk_map_next(&live->meetings, &it, NULL, &v)) {
        rtk_lmeeting *m = v;
        if (m->session != NULL && m->peers != NULL) {
            /* After a crash, open peers count as having left at seen_at: keep it recent. */
            m->session->db.seen_ms = now;
            store_session(live, m->session);
        }
        for (rtk_peer *p = m->peers; p != NULL; p = p->next) {
            if (p->heard_ms < limit) {
                p->drop_next = dead; /* not on live->drops: this list is ours */
                dead = p;
            } else {
                rtk_live__send(live, p, live->ping);
            }
        }
    }
    while (dead != NULL) {
        rtk_peer *p = dead;
        dead = p->drop_next;
        if (p->dropping) /* also failed the ping: drain_drops owns it */
            continue;
        /* It counts as having left when it was last heard from. */
        peer_drop(live, p, RTK_WS_CLOSE_GOING_AWAY, "heartbeat timeout", p->heard_ms, 0);
    }
    rtk_live__drain(live);
}

static void flush_updates(rtk_live *live, int64_t now)
{
    size_t it = 0;
    void *v;
    while (rtk_map_next(&live->meetings, &it, NULL, &v)) {
        rtk_lmeeting *m = v;
        if (m->session != NULL && m->keep_alive_deadline && now >= m->keep_alive_deadline &&
            m->peers == NULL)
            session_end(live, m, now);
        if (!m->dirty || now - m->last_update_ms < (int64_t)live->cfg.update_min_ms)
            continue;
        m->dirty = 0;
        if (m->session == NULL || m->peers == NULL)
            continue;
        m->last_update_ms = now;
        json_t *msg = json_pack("{s:s,s:o}", "type", "session.updated", "session",
                                lsession_json(m->session, now));
        rtk_frame *f = rtk_frame_json(msg);
        json_decref(msg);
        rtk_live__broadcast(live, m, f);
        rtk_frame_unref(f);
    }
    rtk_live__polls_tick(live, now);
    rtk_live__drain(live);
}

static void on_tick(uv_timer_t *t)
{
    rtk_live *live = t->data;
    int64_t now = rtk_time_now_ms();
    flush_updates(live, now);
    if (now >= live->next_heartbeat) {
        live->next_heartbeat = now + (int64_t)live->cfg.heartbeat_ms;
        heartbeat(live, now);
    }
    meetings_gc(live);
}

/* Group commit: everything live wrote during this loop turn is committed in one transaction
 * before the loop blocks for I/O again. */
static void on_prepare(uv_prepare_t *h)
{
    rtk_live *live = h->data;
    rtk_live__commit(live);
    /* Replies released by the commit, and what the timers sent, leave before the loop
     * blocks. */
    if (live->tr->flush != NULL)
        live->tr->flush();
}

void rtk_live__commit(rtk_live *live)
{
    if (!live->need_flush)
        return;
    live->need_flush = 0;
    /* A batch may also have been lost by an acknowledged write's commit since the last turn
     * (rtk_db_flush from the API): votes waiting on it were not stored either. */
    int ok = rtk_db_flush(live->db) == 0;
    if (rtk_db_batch_lost(live->db))
        ok = 0;
    if (!ok)
        fprintf(stderr, "rtkd: live: group commit failed; waiting votes are refused\n");
    rtk_live__votes_committed(live, ok);
}

/* ---- lifecycle ---- */

typedef struct restore_ctx {
    rtk_live *live;
    int64_t now;
} restore_ctx;

static void restore_one(void *arg, const rtk_db_session *row, const char *const *kicked,
                        size_t nkicked)
{
    restore_ctx *rc = arg;
    rtk_live *live = rc->live;
    json_t *doc = NULL;
    int64_t keep_s = 60;
    if (rtk_db_meeting_get(live->db, row->app_id, row->meeting_id, &doc) == 0) {
        json_t *k = json_object_get(doc, "session_keep_alive_time_in_secs");
        if (json_is_integer(k))
            keep_s = json_integer_value(k);
    }
    const char *title = json_string_value(json_object_get(doc, "title"));
    rtk_lmeeting *m = meeting_open(live, row->meeting_id, row->app_id, title, keep_s);
    json_decref(doc);
    if (m->session != NULL) /* two LIVE sessions for one meeting: keep the first */
        return;
    rtk_lsession *s = rtk_xcalloc(1, sizeof(*s));
    s->db = *row;
    s->db.title = row->title ? rtk_xstrndup(row->title, strlen(row->title)) : NULL;
    rtk_map_init(&s->kicked);
    for (size_t i = 0; i < nkicked; i++) {
        char *key = rtk_xstrndup(kicked[i], strlen(kicked[i]));
        rtk_map_put(&s->kicked, key, key);
    }
    m->session = s;
    rtk_live__polls_restore(live, s);
    /* The keep-alive window starts at the restart (PROTOCOL.md §3). */
    m->keep_alive_deadline = rc->now + m->keep_alive_ms;
}

static const rtk_live_config defaults = {
    .heartbeat_ms = 25000,
    .tick_ms = 100,
    .update_min_ms = 1000,
    .msg_rate = 50,
    .msg_burst = 100,
    .msg_excess_close = 100,
};

int rtk_live_new(uv_loop_t *loop, rtk_db *db, const rtk_live_config *cfg,
                 const rtk_live_transport *tr, rtk_live **out)
{
    rtk_live *live = rtk_xcalloc(1, sizeof(*live));
    live->loop = loop;
    live->db = db;
    live->tr = tr;
    live->cfg = defaults;
    if (cfg != NULL) {
        if (cfg->heartbeat_ms)
            live->cfg.heartbeat_ms = cfg->heartbeat_ms;
        if (cfg->tick_ms)
            live->cfg.tick_ms = cfg->tick_ms;
        if (cfg->update_min_ms)
            live->cfg.update_min_ms = cfg->update_min_ms;
        if (cfg->msg_rate != 0)
            live->cfg.msg_rate = cfg->msg_rate;
        if (cfg->msg_burst > 0)
            live->cfg.msg_burst = cfg->msg_burst;
        if (cfg->msg_excess_close > 0)
            live->cfg.msg_excess_close = cfg->msg_excess_close;
    }
    rtk_map_init(&live->meetings);
    rtk_map_init(&live->by_participant);
    live->votes_tail = &live->votes_waiting;
    live->ping = rtk_frame_new(RTK_WS_OP_PING, NULL, 0);
    restore_ctx rc = {live, rtk_time_now_ms()};
    if (rtk_db_sessions_live(db, restore_one, &rc) != 0) {
        rtk_live_free(live);
        return RTK_EDB;
    }
    live->next_heartbeat = rc.now + (int64_t)live->cfg.heartbeat_ms;
    uv_timer_init(loop, &live->tick);
    live->tick.data = live;
    uv_timer_start(&live->tick, on_tick, live->cfg.tick_ms, live->cfg.tick_ms);
    uv_prepare_init(loop, &live->prepare);
    live->prepare.data = live;
    uv_prepare_start(&live->prepare, on_prepare);
    live->handles_open = 2;
    *out = live;
    return 0;
}

static void on_handle_closed(uv_handle_t *h)
{
    rtk_live *live = h->data;
    if (--live->handles_open == 0 && live->shutdown_cb)
        live->shutdown_cb(live->shutdown_arg);
}

void rtk_live_shutdown(rtk_live *live, void (*cb)(void *arg), void *arg)
{
    int64_t now = rtk_time_now_ms();
    size_t it = 0;
    void *v;
    while (rtk_map_next(&live->meetings, &it, NULL, &v)) {
        rtk_lmeeting *m = v;
        live->bulk_leave = 1;
        for (rtk_peer *p = m->peers, *next; p != NULL; p = next) {
            next = p->next; /* peer_drop frees p only */
            /* Leaving through shutdown must not end the session: it stays LIVE for peers
             * that reconnect after the restart. */
            peer_drop(live, p, RTK_WS_CLOSE_GOING_AWAY, "server shutting down", now, 1);
        }
        live->bulk_leave = 0;
        if (m->session != NULL) {
            if (rtk_db_session_peers_left(live->db, m->session->db.id, now) != 0)
                fprintf(stderr, "rtkd: live: could not store the leaves at shutdown\n");
            session_touch(m->session, now);
            store_session(live, m->session);
        }
    }
    live->drops = NULL;
    rtk_live__commit(live);
    live->shutdown_cb = cb;
    live->shutdown_arg = arg;
    uv_timer_stop(&live->tick);
    uv_prepare_stop(&live->prepare);
    uv_close((uv_handle_t *)&live->tick, on_handle_closed);
    uv_close((uv_handle_t *)&live->prepare, on_handle_closed);
}

void rtk_live_free(rtk_live *live)
{
    if (live == NULL)
        return;
    size_t it = 0;
    void *v;
    while (rtk_map_next(&live->meetings, &it, NULL, &v)) {
        rtk_lmeeting *m = v;
        while (m->peers != NULL) {
            rtk_peer *p = m->peers;
            m->peers = p->next;
            free(p->name);
            free(p);
        }
        lsession_free(m->session);
        meeting_free(m);
    }
    rtk_map_free(&live->meetings);
    rtk_map_free(&live->by_participant);
    rtk_frame_unref(live->ping);
    free(live);
}
