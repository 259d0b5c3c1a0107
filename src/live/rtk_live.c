/* SPDX-License-Identifier: MIT */
/* rtk_live.c - live meetings, sessions and peers; events; kicks; the tick timer. */
#include "live/rtk_live.h"

#include <stdlib.h>
#include <string.h>

#include "live/rtk_live_int.h"
#include "util/rtk_err.h"
#include "util/rtk_id.h"
#include "util/rtk_jw.h"
#include "util/rtk_metrics.h"
#include "util/rtk_time.h"

/* ---- events ---- */

void rtk_live_subscribe(rtk_live *live, rtk_live_sink fn, void *arg, int durable)
{
    if (live->nsubs == RTK_LIVE_MAX_SINKS)
        abort(); /* a programmer error: the subscribers are fixed at start-up */
    live->subs[live->nsubs++] = (rtk_live_sub){fn, arg, durable};
}

void rtk_live__emit(rtk_live *live, rtk_live_event *ev)
{
    void (*done)(void *, int) = ev->done;
    void *done_arg = ev->done_arg;
    for (int i = 0; i < live->nsubs; i++) {
        ev->done = live->subs[i].durable ? done : NULL;
        ev->done_arg = live->subs[i].durable ? done_arg : NULL;
        live->subs[i].fn(live->subs[i].arg, ev);
    }
    ev->done = done;
    ev->done_arg = done_arg;
}

void rtk_live__session_view(const rtk_lmeeting *m, int64_t now, rtk_session_view *out)
{
    const rtk_lsession *s = m->session;
    memset(out, 0, sizeof(*out));
    out->id = s->id;
    out->meeting_id = m->id;
    out->app_id = m->app_id;
    out->title = s->title;
    out->started_ms = s->started_ms;
    out->updated_ms = s->updated_ms;
    out->seen_ms = s->seen_ms;
    out->closed_ms = s->closed_ms;
    out->live = s->live;
    out->peak = s->peak;
    out->minutes = (double)(s->closed_ms + s->live * now - s->sum_joined) / 60000.0;
    if (s->g_set) { /* cluster mode: the whole cluster's counters, as the bus last told */
        out->closed_ms = s->g_closed;
        out->live = s->g_live;
        out->peak = s->g_peak;
        out->seen_ms = s->g_seen > s->seen_ms ? s->g_seen : s->seen_ms;
        out->minutes =
            (double)(s->g_closed + s->g_live * (now - s->started_ms) - s->g_sum_rel) / 60000.0;
    }
}

void rtk_live__emit_session(rtk_live *live, rtk_lmeeting *m, rtk_live_event *ev)
{
    rtk_session_view v;
    rtk_live__session_view(m, rtk_time_now_ms(), &v);
    ev->session = &v;
    rtk_live__emit(live, ev);
    ev->session = NULL;
}

/* The session's counters changed: persistence writes its row (not while it is ending, when
 * the stored row is the end's). */
static void session_changed(rtk_live *live, rtk_lmeeting *m)
{
    if (m->session->ending)
        return;
    rtk_live_event ev = {.type = RTK_LIVE_EV_SESSION_CHANGED};
    rtk_live__emit_session(live, m, &ev);
}

static void session_touch(rtk_lsession *s, int64_t now)
{
    s->updated_ms = now > s->updated_ms ? now : s->updated_ms + 1;
    s->seen_ms = now;
}

/* ---- sending ---- */

void rtk_live__send(rtk_live *live, rtk_peer *p, rtk_live_msg *msg, const char *ref, size_t ref_len)
{
    if (p->dropping)
        return;
    if (live->tr->send(p->conn, msg, ref, ref_len) != 0) {
        p->dropping = 1;
        p->drop_next = live->drops;
        live->drops = p;
    }
}

static void send_one(rtk_live *live, rtk_peer *p, rtk_live_msg *msg, const char *ref,
                     size_t ref_len)
{
    rtk_live__send(live, p, msg, ref, ref_len);
    live->tr->release(msg);
}

void rtk_live__send_error(rtk_live *live, rtk_peer *p, const char *code, const char *text,
                          const char *ref, size_t ref_len)
{
    rtk_live_msg msg = {.type = RTK_MSG_ERROR, .code = code, .text = text};
    send_one(live, p, &msg, ref, ref_len);
}

void rtk_live__fanout_done(uint64_t start_ns)
{
    rtk_metrics_observe(RTK_MH_BROADCAST, (double)(uv_hrtime() - start_ns) / 1e9);
}

/* Sends |msg| to every live peer of |m| whose flags hold all of |need| (0: every peer). */
static void broadcast(rtk_live *live, rtk_lmeeting *m, rtk_live_msg *msg, unsigned need)
{
    uint64_t t0 = uv_hrtime();
    for (rtk_peer *p = m->peers; p != NULL; p = p->next)
        if ((p->flags & need) == need)
            rtk_live__send(live, p, msg, NULL, 0);
    live->tr->release(msg);
    rtk_live__fanout_done(t0);
}

void rtk_live_send_done(rtk_live *live, rtk_peer *peer, const char *action,
                        const char *const *ids, size_t n, const char *ref, size_t ref_len)
{
    rtk_live_msg msg = {.type = RTK_MSG_DONE, .action = action, .ids = ids, .nids = n};
    send_one(live, peer, &msg, ref, ref_len);
    rtk_live__drain(live);
}

void rtk_live_send_done_rows(rtk_live *live, rtk_peer *peer, const char *action,
                             const char *rows, size_t stride, size_t n, const char *ref,
                             size_t ref_len)
{
    const char **ids = rtk_xmalloc((n ? n : 1) * sizeof(*ids));
    for (size_t i = 0; i < n; i++)
        ids[i] = rows + i * stride;
    rtk_live_send_done(live, peer, action, ids, n, ref, ref_len);
    free(ids);
}

rtk_peer *rtk_live_peer_find(rtk_live *live, const char *participant_id, const char *peer_id)
{
    rtk_peer *p = rtk_map_get(&live->by_participant, participant_id);
    return p != NULL && !p->dropping && strcmp(p->peer_id, peer_id) == 0 ? p : NULL;
}

const char *rtk_live_peer_id(const rtk_peer *peer)
{
    return peer->peer_id;
}

const char *rtk_live_peer_participant(const rtk_peer *peer)
{
    return peer->participant_id;
}

const char *rtk_live_peer_meeting(const rtk_peer *peer)
{
    return peer->m->id;
}

static size_t str_bound(const char *s)
{
    return s ? rtk_jw_str_len(s, strlen(s)) : 4;
}

size_t rtk_live_peer_view_bound(const rtk_peer_view *v)
{
    /* keys, quotes, commas and a time: 160 bytes; the ids are 36 characters */
    return 160 + 2 * 38 + str_bound(v->custom_id) + str_bound(v->name) + str_bound(v->picture) +
           str_bound(v->preset);
}

/* ---- presets and participant cards, as peers hold them ---- */

/* The interned preset of a joining peer: "name\npermissions" is the key, and the name is
 * kept again after it, NUL-terminated. */
static rtk_lpreset *preset_get(rtk_live *live, const rtk_join_info *ji)
{
    const char *name = ji->preset_name ? ji->preset_name : "";
    size_t nlen = strlen(name), plen = ji->permissions_len, klen = nlen + 1 + plen;
    char *key = rtk_xmalloc(klen + 1 + nlen + 1);
    memcpy(key, name, nlen);
    key[nlen] = '\n';
    if (plen)
        memcpy(key + nlen + 1, ji->permissions, plen);
    key[klen] = '\0';
    rtk_lpreset *lp = rtk_map_get(&live->presets, key);
    if (lp != NULL) {
        free(key);
        lp->refs++;
        return lp;
    }
    memcpy(key + klen + 1, name, nlen + 1);
    lp = rtk_xcalloc(1, sizeof(*lp));
    lp->key = key;
    lp->name = key + klen + 1;
    lp->permissions = key + nlen + 1;
    lp->permissions_len = plen;
    lp->perms = ji->perms;
    lp->refs = 1;
    rtk_map_put(&live->presets, lp->key, lp);
    return lp;
}

static void preset_put(rtk_live *live, rtk_lpreset *lp)
{
    if (--lp->refs > 0)
        return;
    rtk_map_del(&live->presets, lp->key);
    free(lp->key);
    free(lp);
}

/* The participant infos of up to PINFO_SMALL bytes (nearly all) come from a slab, like the
 * peers; a longer one (a long name or a picture URL) from malloc. */
#define PINFO_SMALL 56

static void pinfo_free(rtk_live *live, rtk_pinfo *info)
{
    size_t size = sizeof(*info) + strlen(info->custom_id) + 1 +
                  (info->name ? strlen(info->name) + 1 : 0) +
                  (info->picture ? strlen(info->picture) + 1 : 0);
    if (size <= PINFO_SMALL) /* where pinfo_new took it from */
        rtk_slab_free(&live->pinfo_slab, info);
    else
        free(info);
}

static rtk_pinfo *pinfo_new(rtk_live *live, const rtk_join_info *ji)
{
    const char *cid = ji->custom_id ? ji->custom_id : "";
    size_t c = strlen(cid) + 1, n = ji->name ? strlen(ji->name) + 1 : 0,
           pic = ji->picture ? strlen(ji->picture) + 1 : 0;
    size_t size = sizeof(rtk_pinfo) + c + n + pic;
    rtk_pinfo *info =
        size <= PINFO_SMALL ? rtk_slab_calloc(&live->pinfo_slab) : rtk_xmalloc(size);
    memcpy(info->custom_id, cid, c);
    info->name = NULL;
    info->picture = NULL;
    if (n) {
        memcpy(info->custom_id + c, ji->name, n);
        info->name = info->custom_id + c;
    }
    if (pic) {
        memcpy(info->custom_id + c + n, ji->picture, pic);
        info->picture = info->custom_id + c + n;
    }
    return info;
}

/* ---- meetings ---- */

rtk_lmeeting *rtk_live__meeting(rtk_live *live, const char *id)
{
    return rtk_map_get(&live->meetings, id);
}

static void set_title(char **slot, const char *title)
{
    free(*slot);
    *slot = title ? rtk_xstrndup(title, strlen(title)) : NULL;
}

static rtk_lmeeting *meeting_open(rtk_live *live, const char *id, const char *app_id,
                                  const char *title, int64_t keep_alive_s)
{
    rtk_lmeeting *m = rtk_live__meeting(live, id);
    if (m == NULL) {
        m = rtk_xcalloc(1, sizeof(*m));
        snprintf(m->id, sizeof(m->id), "%s", id);
        snprintf(m->app_id, sizeof(m->app_id), "%s", app_id);
        rtk_map_put(&live->meetings, m->id, m);
    }
    set_title(&m->title, title);
    m->keep_alive_ms = keep_alive_s * 1000;
    return m;
}

static void delta_free(rtk_delta *d)
{
    free(d->joined);
    free(d->left);
    memset(d, 0, sizeof(*d));
}

static void meeting_free(rtk_lmeeting *m)
{
    delta_free(&m->roster);
    delta_free(&m->wait);
    rtk_map_free(&m->remote); /* (empty: the other nodes' peers went with the share) */
    free(m->title);
    free(m);
}

/* ---- deltas: what came and went since a list was last sent ---- */

static void delta_join(rtk_delta *d, rtk_peer *p)
{
    if (d->njoined == d->cap_joined) {
        d->cap_joined = d->cap_joined ? d->cap_joined * 2 : 8;
        d->joined = rtk_xrealloc(d->joined, d->cap_joined * sizeof(*d->joined));
    }
    d->joined[d->njoined++] = p;
    p->delta_idx = (uint32_t)d->njoined;
}

/* |p| goes: a peer never sent is only taken out of |joined|. */
static void delta_leave(rtk_delta *d, rtk_peer *p)
{
    if (p->delta_idx != 0) {
        size_t i = p->delta_idx - 1;
        rtk_peer *last = d->joined[--d->njoined];
        d->joined[i] = last;
        last->delta_idx = (uint32_t)i + 1;
        p->delta_idx = 0;
        return;
    }
    if (d->nleft == d->cap_left) {
        d->cap_left = d->cap_left ? d->cap_left * 2 : 8;
        d->left = rtk_xrealloc(d->left, d->cap_left * sizeof(*d->left));
    }
    memcpy(d->left[d->nleft++], p->peer_id, sizeof(d->left[0]));
}

/* Forgets the changes (sent, or nobody is left to send them to). */
static void delta_reset(rtk_delta *d)
{
    for (size_t i = 0; i < d->njoined; i++)
        d->joined[i]->delta_idx = 0;
    d->njoined = d->nleft = 0;
    if (d->cap_joined > 1024 || d->cap_left > 1024) /* a burst is over: give it back */
        delta_free(d);
}

static int delta_empty(const rtk_delta *d)
{
    return d->njoined == 0 && d->nleft == 0;
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
            if (m->session == NULL && m->peers == NULL && m->waiting == NULL && !m->dirty &&
                m->shares_pending == 0 &&
                !m->wait_dirty) {
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

static void gone_free(rtk_gone *g)
{
    while (g != NULL) {
        rtk_gone *next = g->next;
        free(g);
        g = next;
    }
}

/* Frees a set of owned keys. */
static void key_set_free(rtk_map *set)
{
    size_t it = 0;
    const char *k;
    while (rtk_map_next(set, &it, &k, NULL))
        free((char *)k);
    rtk_map_free(set);
}

static void key_set_add(rtk_map *set, const char *id)
{
    if (rtk_map_get(set, id) == NULL) {
        char *key = rtk_xstrndup(id, strlen(id));
        rtk_map_put(set, key, key);
    }
}

static void lsession_free(rtk_live *live, rtk_lsession *s)
{
    if (s == NULL)
        return;
    key_set_free(&s->kicked);
    key_set_free(&s->admitted);
    key_set_free(&s->refused);
    rtk_live__polls_free(live, s);
    gone_free(s->gone);
    free(s->title);
    free(s);
}

static rtk_lsession *lsession_new(const char *id, const char *title)
{
    rtk_lsession *s = rtk_xcalloc(1, sizeof(*s));
    snprintf(s->id, sizeof(s->id), "%s", id);
    s->title = title ? rtk_xstrndup(title, strlen(title)) : NULL;
    rtk_map_init(&s->kicked);
    rtk_map_init(&s->admitted);
    rtk_map_init(&s->refused);
    return s;
}

/* Starts |m|'s session (cluster mode: this node's share of the cluster's, m->joining's).
 * |quiet|: SESSION_STARTED waits for a peer of it to join here (session_announce). */
static rtk_lsession *session_start(rtk_live *live, rtk_lmeeting *m, int64_t now, int quiet)
{
    const rtk_join_info *ji = live->clustered ? m->joining : NULL;
    char id[37];
    if (ji != NULL && ji->session_id != NULL)
        snprintf(id, sizeof(id), "%s", ji->session_id);
    else
        rtk_id_uuid4(id);
    rtk_lsession *s = lsession_new(id, m->title);
    s->started_ms = s->updated_ms = s->seen_ms = now;
    m->session = s;
    rtk_live_event ev = {.type = RTK_LIVE_EV_SESSION_STARTED};
    if (ji != NULL && ji->session_id != NULL) {
        /* The session may have begun at another node: it is told as this node's share. */
        s->started_ms = ji->session_started_ms;
        s->g_set = 1;
        s->g_live = ji->counters[0];
        s->g_peak = ji->counters[1];
        s->g_closed = ji->counters[2];
        s->g_sum_rel = ji->counters[3];
        s->g_seen = ji->counters[4];
        if (!ji->session_new)
            ev.reason = RTK_LIVE_STARTED_ELSEWHERE;
    }
    s->started_reason = ev.reason;
    s->quiet = quiet;
    s->loaded = ji == NULL || ji->session_created; /* else read in by the handshake */
    if (!quiet)
        rtk_live__emit_session(live, m, &ev);
    return s;
}

static void session_announce(rtk_live *live, rtk_lmeeting *m)
{
    if (!m->session->quiet)
        return;
    m->session->quiet = 0;
    rtk_live_event ev = {.type = RTK_LIVE_EV_SESSION_STARTED, .reason = m->session->started_reason};
    rtk_live__emit_session(live, m, &ev);
}

static void waiting_close_all(rtk_live *live, rtk_lmeeting *m);

/* Ends the session of |m| in memory, after telling subscribers (unless |told|: a kick-all's
 * end was told when it began). */
static void session_end(rtk_live *live, rtk_lmeeting *m, int64_t now, int reason, int told)
{
    rtk_lsession *s = m->session;
    if (!told) {
        session_touch(s, now);
        rtk_session_view v;
        rtk_live__session_view(m, now, &v);
        v.ended = 1;
        v.ended_ms = now;
        rtk_live_event ev = {
            .type = RTK_LIVE_EV_SESSION_ENDED, .reason = reason, .at_ms = now, .session = &v};
        rtk_live__emit(live, &ev);
    }
    m->session = NULL;
    m->keep_alive_deadline = 0;
    m->dirty = 0;
    lsession_free(live, s);
    waiting_close_all(live, m);
}

static void mark_dirty(rtk_lmeeting *m)
{
    m->dirty = 1;
}

/* ---- peers ---- */

void rtk_live__peer_view(const rtk_peer *p, rtk_peer_view *out)
{
    memset(out, 0, sizeof(*out));
    out->peer_id = p->peer_id;
    out->participant_id = p->participant_id;
    out->custom_id = p->info->custom_id;
    out->name = p->info->name;
    out->picture = p->info->picture;
    out->preset = p->preset->name;
    out->joined_ms = p->joined_ms;
    out->hidden = (p->flags & RTK_PERM_HIDDEN) != 0;
}

/* The peer itself, with its permissions (hello's "self"). */
static void self_view(const rtk_peer *p, rtk_peer_view *out)
{
    rtk_live__peer_view(p, out);
    out->permissions = p->preset->permissions;
    out->permissions_len = p->preset->permissions_len;
}

static int listed(const rtk_peer *p)
{
    return !(p->flags & RTK_PERM_HIDDEN);
}

static void peer_unlink(rtk_live *live, rtk_peer *p)
{
    rtk_lmeeting *m = p->m;
    rtk_peer **head = p->state == RTK_PEER_WAITING          ? &m->waiting
                      : p->state == RTK_PEER_REMOTE         ? &m->rpeers
                      : p->state == RTK_PEER_REMOTE_WAITING ? &m->rwaiting
                                                            : &m->peers;
    for (int list = 0; list < 2; list++) /* the heartbeat's sweep steps past it */
        if (m->hb_next[list] == p)
            m->hb_next[list] = p->next;
    if (p->prev)
        p->prev->next = p->next;
    else
        *head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->prev = p->next = NULL;
    if (rtk_map_get(&live->by_participant, p->participant_id) == p)
        rtk_map_del(&live->by_participant, p->participant_id);
}

static void peer_link(rtk_peer *p, rtk_peer **head)
{
    p->prev = NULL;
    p->next = *head;
    if (*head)
        (*head)->prev = p;
    *head = p;
}

static void peer_free(rtk_live *live, rtk_peer *p)
{
    preset_put(live, p->preset);
    pinfo_free(live, p->info);
    rtk_slab_free(&live->peer_slab, p);
}

static void wait_mark(rtk_live *live, rtk_lmeeting *m)
{
    if (!m->wait_dirty) {
        m->wait_dirty = 1;
        m->wait_next = live->wait_dirty;
        live->wait_dirty = m;
    }
}

/* Cluster mode: WAITING or WAIT_OUT for |p| (the bus keeps the cluster's waiting room). */
static void emit_wait(rtk_live *live, rtk_peer *p, int type)
{
    rtk_lmeeting *m = p->m;
    if (!live->clustered)
        return;
    rtk_peer_view pv;
    rtk_live__peer_view(p, &pv);
    rtk_live_event ev = {.type = type, .at_ms = p->joined_ms, .peer = &pv};
    if (m->session != NULL) {
        rtk_live__emit_session(live, m, &ev);
        return;
    }
    rtk_session_view none = {.id = "", .meeting_id = m->id, .app_id = m->app_id};
    ev.session = &none;
    rtk_live__emit(live, &ev);
}

/* |p| is no longer in the waiting room (admitted, refused, gone); |tell|: WAIT_OUT now (an
 * admitted peer tells it once it is live, so that its node never stops hearing the meeting). */
static void waiting_out(rtk_live *live, rtk_peer *p, int tell)
{
    rtk_lmeeting *m = p->m;
    peer_unlink(live, p);
    if (m->nacceptors > 0) {
        delta_leave(&m->wait, p);
        wait_mark(live, m);
    }
    if (tell)
        emit_wait(live, p, RTK_LIVE_EV_WAIT_OUT);
}

/* ---- other nodes' peers in this node's lists (cluster mode) ---- */

/* The other nodes' lists a node keeps only while a peer here sees them (a large audience
 * that sees no list costs nothing per join elsewhere). */
enum { RTK_MIRROR_LIST = 1, RTK_MIRROR_WAIT = 2 };

static unsigned mirror_wants(const rtk_join_info *ji)
{
    return ((ji->perms.flags & RTK_PERM_LIST) ? RTK_MIRROR_LIST : 0u) |
           ((ji->perms.flags & RTK_PERM_ACCEPT_WAITING) ? RTK_MIRROR_WAIT : 0u);
}

static rtk_peer *remote_new(rtk_live *live, rtk_lmeeting *m, const rtk_peer_view *v, int waiting)
{
    rtk_join_info ji = {.custom_id = v->custom_id,
                        .name = v->name,
                        .picture = v->picture,
                        .preset_name = v->preset,
                        .permissions = "",
                        .permissions_len = 0};
    rtk_peer *p = rtk_slab_calloc(&live->peer_slab);
    snprintf(p->peer_id, sizeof(p->peer_id), "%s", v->peer_id);
    snprintf(p->participant_id, sizeof(p->participant_id), "%s", v->participant_id);
    p->info = pinfo_new(live, &ji);
    p->preset = preset_get(live, &ji);
    p->joined_ms = v->joined_ms;
    p->state = waiting ? RTK_PEER_REMOTE_WAITING : RTK_PEER_REMOTE;
    p->m = m;
    return p;
}

/* |p| goes from |m|'s lists (and the next delta says so). */
static void remote_out(rtk_live *live, rtk_lmeeting *m, rtk_peer *p)
{
    int waiting = p->state == RTK_PEER_REMOTE_WAITING;
    rtk_map_del(&m->remote, p->peer_id);
    peer_unlink(live, p); /* (never in by_participant: that holds this node's peers) */
    if (waiting && m->nacceptors > 0) {
        delta_leave(&m->wait, p);
        wait_mark(live, m);
    } else if (!waiting && m->nlisters > 0) {
        delta_leave(&m->roster, p);
    }
    peer_free(live, p);
}

/* Which lists of the other nodes |m| keeps; the cluster hears when it starts and stops
 * keeping any (it listens to the lists' news only meanwhile). */
static void mirror_set(rtk_live *live, rtk_lmeeting *m, unsigned bits)
{
    unsigned was = m->mirror;
    m->mirror = bits;
    if ((was == 0) != (bits == 0) && live->cluster_mirror != NULL)
        live->cluster_mirror(live->cluster_mirror_arg, m->id, bits != 0);
}

/* The share of |m|'s session is gone here: so are the other nodes' peers it listed. */
static void remote_clear(rtk_live *live, rtk_lmeeting *m)
{
    mirror_set(live, m, 0);
    while (m->rpeers != NULL)
        remote_out(live, m, m->rpeers);
    while (m->rwaiting != NULL)
        remote_out(live, m, m->rwaiting);
    rtk_map_free(&m->remote);
}

/* Nobody here sees a list any more: the other nodes' entries of it go (a later viewer's
 * handshake reads them again). Not while a handshake is reading them. */
static void mirror_trim(rtk_live *live, rtk_lmeeting *m)
{
    if (m->shares_pending > 0)
        return;
    if ((m->mirror & RTK_MIRROR_LIST) && m->nlisters == 0) {
        mirror_set(live, m, m->mirror & ~(unsigned)RTK_MIRROR_LIST);
        while (m->rpeers != NULL)
            remote_out(live, m, m->rpeers);
    }
    if ((m->mirror & RTK_MIRROR_WAIT) && m->nacceptors == 0) {
        mirror_set(live, m, m->mirror & ~(unsigned)RTK_MIRROR_WAIT);
        while (m->rwaiting != NULL)
            remote_out(live, m, m->rwaiting);
    }
}

/* A live peer stops counting in the meeting's lists. */
static void lists_out(rtk_lmeeting *m, rtk_peer *p)
{
    if (p->flags & RTK_PERM_LIST && --m->nlisters == 0)
        delta_reset(&m->roster);
    if (p->flags & RTK_PERM_ACCEPT_WAITING && --m->nacceptors == 0)
        delta_reset(&m->wait);
    if (listed(p) && m->nlisters > 0)
        delta_leave(&m->roster, p);
}

static void lists_in(rtk_lmeeting *m, rtk_peer *p)
{
    /* the listers already there hear of it (a new lister has itself in its hello) */
    if (listed(p) && m->nlisters > 0)
        delta_join(&m->roster, p);
    if (p->flags & RTK_PERM_LIST)
        m->nlisters++;
    if (p->flags & RTK_PERM_ACCEPT_WAITING)
        m->nacceptors++;
}

/* Records that |p| left at |at| for |reason| and frees it. |replacing|: a new peer of the
 * same participant joins right after, so an empty session must not start its keep-alive or
 * end. |quiet|: no LEFT event (a kick-all's end covers every peer). */
static void peer_gone(rtk_live *live, rtk_peer *p, int64_t at, int reason, int replacing, int quiet)
{
    rtk_lmeeting *m = p->m;
    live->npeers--;
    if (p->state == RTK_PEER_WAITING) { /* not a live peer: nothing is counted or stored */
        waiting_out(live, p, 1);
        peer_free(live, p);
        return;
    }
    rtk_lsession *s = m->session;
    int64_t now = rtk_time_now_ms();
    peer_unlink(live, p);
    lists_out(m, p);
    if (at < p->joined_ms)
        at = p->joined_ms;
    s->live--;
    s->sum_joined -= p->joined_ms;
    s->closed_ms += at - p->joined_ms;
    session_touch(s, now);
    if (s->ending && !quiet) {
        /* Stored only if the end is refused (the end counts it as leaving with everyone). */
        rtk_gone *g = rtk_xcalloc(1, sizeof(*g));
        memcpy(g->peer_id, p->peer_id, sizeof(g->peer_id));
        memcpy(g->participant_id, p->participant_id, sizeof(g->participant_id));
        g->joined_ms = p->joined_ms;
        g->left_ms = at;
        g->reason = reason;
        g->next = s->gone;
        s->gone = g;
    } else if (!quiet) {
        rtk_peer_view pv;
        rtk_live__peer_view(p, &pv);
        rtk_live_event ev = {.type = RTK_LIVE_EV_LEFT, .reason = reason, .at_ms = at, .peer = &pv};
        rtk_live__emit_session(live, m, &ev);
    }
    if (s->g_set && s->g_live > 0 && !live->bus_counted)
        s->g_live--; /* until the bus tells the cluster's count */
    mark_dirty(m);
    peer_free(live, p);
    if (s->live == 0 && !replacing && !s->ending && !live->clustered) {
        if (m->keep_alive_ms == 0)
            session_end(live, m, now, RTK_LIVE_END_EMPTY, 0);
        else
            m->keep_alive_deadline = now + m->keep_alive_ms;
    }
}

/* Server-side removal: tell the channel to close |p| for |why|, then forget it. */
static void peer_drop(rtk_live *live, rtk_peer *p, int why, int64_t at, int replacing)
{
    live->tr->close(p->conn, why);
    peer_gone(live, p, at, why, replacing, 0);
}

/* Drops the peers that failed a send (slow consumers) during the last operation. */
void rtk_live__drain(rtk_live *live)
{
    while (live->drops != NULL) {
        rtk_peer *p = live->drops;
        live->drops = p->drop_next;
        peer_drop(live, p, RTK_LIVE_SLOW, rtk_time_now_ms(), 0);
    }
}

/* |p| failed a send: it is taken off the drop list (it goes now, another way). */
static void undrop(rtk_live *live, rtk_peer *p)
{
    if (!p->dropping)
        return;
    rtk_peer **pp = &live->drops;
    while (*pp != p)
        pp = &(*pp)->drop_next;
    *pp = p->drop_next;
}

/* A session ended: nobody waits for it any more (PROTOCOL.md §3a: closed with 4004). */
static void waiting_close_all(rtk_live *live, rtk_lmeeting *m)
{
    for (rtk_peer *p = m->waiting, *next; p != NULL; p = next) {
        next = p->next; /* peer_drop frees p only */
        undrop(live, p);
        peer_drop(live, p, RTK_LIVE_REFUSED, rtk_time_now_ms(), 0);
    }
}

int rtk_live_may_join(rtk_live *live, const char *meeting_id, const char *participant_id)
{
    rtk_lmeeting *m = rtk_live__meeting(live, meeting_id);
    if (m == NULL || m->session == NULL)
        return 0;
    if (m->session->ending)
        return RTK_EBUSY;
    if (rtk_map_get(&m->session->kicked, participant_id))
        return RTK_EAUTH;
    if (rtk_map_get(&m->session->refused, participant_id))
        return RTK_EEXIST;
    return 0;
}

/* Listed peers of |m| for a hello: at most RTK_LIVE_LIST_BYTES of them by their bound; the
 * rest (returned through *rest, a new array the caller frees with its count) follow in
 * participants.updated frames right after it. */
static size_t list_views(rtk_peer *head, rtk_peer *remote, int only_listed, rtk_peer_view **out,
                         size_t *nout, rtk_peer_view **rest)
{
    size_t n = 0, cap = 16, bytes = 0, nrest = 0, caprest = 0;
    rtk_peer_view *v = rtk_xmalloc(cap * sizeof(*v));
    *rest = NULL;
    /* this node's peers, then (cluster mode) the other nodes' */
    for (rtk_peer *p = head ? head : remote; p != NULL;
         p = p->next ? p->next : p->state < RTK_PEER_REMOTE ? remote : NULL) {
        if (only_listed && !listed(p))
            continue;
        rtk_peer_view pv;
        rtk_live__peer_view(p, &pv);
        bytes += rtk_live_peer_view_bound(&pv);
        if (bytes <= RTK_LIVE_LIST_BYTES) {
            if (n == cap)
                v = rtk_xrealloc(v, (cap *= 2) * sizeof(*v));
            v[n++] = pv;
        } else {
            if (nrest == caprest)
                *rest = rtk_xrealloc(*rest, (caprest = caprest ? caprest * 2 : 64) *
                                                sizeof(**rest));
            (*rest)[nrest++] = pv;
        }
    }
    *out = v;
    *nout = n;
    return nrest;
}

/* A peer id in a "left" list: quotes and a comma. */
#define LEFT_ID_BYTES 39

/* Sends |views| (|n|) as the joined lists, and |left| (|nleft| ids), of |type| messages of
 * at most RTK_LIVE_LIST_BYTES each, to |p| alone (|p| non-NULL) or to every live peer of |m|
 * holding |need|. */
static void send_joined(rtk_live *live, rtk_lmeeting *m, rtk_peer *p, int type, unsigned need,
                        const rtk_peer_view *views, size_t n, const char *const *left,
                        size_t nleft)
{
    size_t i = 0, li = 0;
    do {
        size_t start = i, lstart = li, bytes = 0;
        for (; i < n; i++) {
            size_t b = rtk_live_peer_view_bound(&views[i]);
            if (i > start && bytes + b > RTK_LIVE_LIST_BYTES)
                break;
            bytes += b;
        }
        while (li < nleft && bytes + LEFT_ID_BYTES <= RTK_LIVE_LIST_BYTES) {
            bytes += LEFT_ID_BYTES;
            li++;
        }
        rtk_live_msg msg = {.type = type, .left = left + lstart, .nleft = li - lstart};
        if (type == RTK_MSG_WAITING_UPDATED) {
            msg.waiting = views + start;
            msg.nwaiting = i - start;
        } else {
            msg.peers = views + start;
            msg.npeers = i - start;
        }
        if (p != NULL)
            send_one(live, p, &msg, NULL, 0);
        else
            broadcast(live, m, &msg, need);
    } while (i < n || li < nleft);
}

/* Sends the changes |d| of |m|'s roster (|type| participants.updated) or waiting room
 * (waiting.updated) to the live peers holding |need|, and forgets them. */
static void delta_send(rtk_live *live, rtk_lmeeting *m, rtk_delta *d, int type, unsigned need)
{
    rtk_peer_view *views = rtk_xmalloc((d->njoined ? d->njoined : 1) * sizeof(*views));
    const char **left = rtk_xmalloc((d->nleft ? d->nleft : 1) * sizeof(*left));
    for (size_t i = 0; i < d->njoined; i++)
        rtk_live__peer_view(d->joined[i], &views[i]);
    for (size_t i = 0; i < d->nleft; i++)
        left[i] = d->left[i];
    send_joined(live, m, NULL, type, need, views, d->njoined, left, d->nleft);
    free(views);
    free(left);
    delta_reset(d);
}

/* hello (or admitted) for a live peer |p|. */
static void send_hello(rtk_live *live, rtk_peer *p, int type, int64_t now)
{
    rtk_lmeeting *m = p->m;
    rtk_session_view sv;
    rtk_peer_view self;
    rtk_live__session_view(m, now, &sv);
    self_view(p, &self);
    const rtk_poll_view **polls = NULL;
    int *votes = NULL;
    size_t n = 0;
    if (p->flags & RTK_PERM_POLLS_VIEW)
        n = rtk_live__poll_views(m->session, p->participant_id, &polls, &votes);
    rtk_peer_view *people = NULL, *waiting = NULL, *more_people = NULL, *more_waiting = NULL;
    size_t npeople = 0, nwaiting = 0, nmore_people = 0, nmore_waiting = 0;
    if (p->flags & RTK_PERM_LIST)
        nmore_people = list_views(m->peers, m->rpeers, 1, &people, &npeople, &more_people);
    if (p->flags & RTK_PERM_ACCEPT_WAITING)
        nmore_waiting =
            list_views(m->waiting, m->rwaiting, 0, &waiting, &nwaiting, &more_waiting);
    rtk_live_msg hello = {.type = type,
                          .session = &sv,
                          .self = &self,
                          .polls = polls,
                          .my_votes = votes,
                          .npolls = n,
                          .list = (p->flags & RTK_PERM_LIST) != 0,
                          .peers = people,
                          .npeers = npeople,
                          .accept = (p->flags & RTK_PERM_ACCEPT_WAITING) != 0,
                          .waiting = waiting,
                          .nwaiting = nwaiting};
    send_one(live, p, &hello, NULL, 0);
    if (nmore_people)
        send_joined(live, m, p, RTK_MSG_PARTICIPANTS_UPDATED, 0, more_people, nmore_people, NULL,
                    0);
    if (nmore_waiting)
        send_joined(live, m, p, RTK_MSG_WAITING_UPDATED, 0, more_waiting, nmore_waiting, NULL, 0);
    free(polls);
    free(votes);
    free(people);
    free(waiting);
    free(more_people);
    free(more_waiting);
}

/* |p| (new, or admitted from the waiting room) becomes a live peer of |m|'s session, which
 * it starts if there is none. */
static void enter_live(rtk_live *live, rtk_peer *p, int64_t now)
{
    rtk_lmeeting *m = p->m;
    rtk_lsession *s = m->session ? m->session : session_start(live, m, now, 0);
    session_announce(live, m);
    m->keep_alive_deadline = 0;
    p->state = RTK_PEER_LIVE;
    p->joined_ms = now;
    peer_link(p, &m->peers);
    lists_in(m, p);
    s->live++;
    s->sum_joined += now;
    if (s->live > s->peak)
        s->peak = s->live;
    if (s->g_set && ++s->g_live > s->g_peak) /* until the bus tells the cluster's count */
        s->g_peak = s->g_live;
    session_touch(s, now);
    rtk_peer_view pv;
    rtk_live__peer_view(p, &pv);
    rtk_live_event ev = {.type = RTK_LIVE_EV_JOINED, .at_ms = now, .peer = &pv};
    rtk_live__emit_session(live, m, &ev);
    mark_dirty(m);
}

/* 1 if a peer of |ji|'s preset must wait before it joins |m| (PROTOCOL.md §3a). */
static int must_wait(const rtk_lmeeting *m, const rtk_join_info *ji)
{
    switch (ji->perms.waiting) {
    case RTK_WAIT_ON_PRIVILEGED: return 1;
    case RTK_WAIT_SKIP_ON_ACCEPT:
        /* (cluster mode: admitted at any node, as the bus told the handshake) */
        return !ji->admitted && (m->session == NULL ||
                                 rtk_map_get(&m->session->admitted, ji->participant_id) == NULL);
    default: return 0;
    }
}

/* Cluster mode: what this node holds of |m| is of a session other than |session_id|, one the
 * cluster has ended without this node hearing it: its peers go (4004), it is forgotten. */
static void forget_stale_share(rtk_live *live, rtk_lmeeting *m, const char *session_id,
                               int64_t now)
{
    if (m->session == NULL || m->session->ending || strcmp(m->session->id, session_id) == 0)
        return;
    for (rtk_peer *q = m->peers, *next; q != NULL; q = next) {
        next = q->next; /* peer_drop frees q only */
        peer_drop(live, q, RTK_LIVE_REFUSED, now, 1);
    }
    rtk_lsession *old_s = m->session;
    m->session = NULL;
    lsession_free(live, old_s);
    remote_clear(live, m);
    waiting_close_all(live, m);
}

rtk_peer *rtk_live_join(rtk_live *live, const rtk_join_info *ji, void *conn)
{
    int rc = rtk_live_may_join(live, ji->meeting_id, ji->participant_id);
    if (rc != 0) {
        live->tr->close(conn, rc == RTK_EEXIST ? RTK_LIVE_REFUSED : RTK_LIVE_KICKED);
        return NULL;
    }
    int64_t now = rtk_time_now_ms();
    rtk_lmeeting *m = meeting_open(live, ji->meeting_id, ji->app_id, ji->title, ji->keep_alive_s);
    if (live->clustered && ji->session_id != NULL)
        forget_stale_share(live, m, ji->session_id, now);
    m->joining = ji;
    if (live->clustered)
        mirror_set(live, m, m->mirror | mirror_wants(ji)); /* read in by the handshake (or
                                                           * nothing to read yet) */
    int wait = must_wait(m, ji);
    rtk_peer *old = rtk_map_get(&live->by_participant, ji->participant_id);
    if (old != NULL) {
        /* Old and new swap in one step: the live count and the peak never count both. An
         * old peer in another meeting's ending session leaves that one normally. */
        int same = old->m == m && m->session != NULL && !wait;
        peer_drop(live, old, RTK_LIVE_REPLACED, now, same);
    }

    rtk_peer *p = rtk_slab_calloc(&live->peer_slab);
    rtk_id_uuid4(p->peer_id);
    snprintf(p->participant_id, sizeof(p->participant_id), "%s", ji->participant_id);
    p->info = pinfo_new(live, ji);
    p->preset = preset_get(live, ji);
    p->flags = ji->perms.flags;
    p->m = m;
    p->conn = conn;
    p->joined_ms = p->heard_ms = now;
    p->tokens = live->cfg.msg_burst;
    p->refill_ms = now;
    rtk_map_put(&live->by_participant, p->participant_id, p);
    live->npeers++;

    if (wait) {
        /* Cluster mode: the node of a waiting peer holds a share of the session (quiet until
         * a peer of it joins here), so that it hears the session's news and its end, and
         * admits the peer into it (the bus keeps the waiting room). */
        if (live->clustered && m->session == NULL && ji->session_id != NULL)
            session_start(live, m, now, 1);
        p->state = RTK_PEER_WAITING;
        peer_link(p, &m->waiting);
        if (m->nacceptors > 0) {
            delta_join(&m->wait, p);
            wait_mark(live, m);
        }
        emit_wait(live, p, RTK_LIVE_EV_WAITING);
        rtk_peer_view self;
        self_view(p, &self);
        rtk_live_msg hello = {.type = RTK_MSG_HELLO, .waiting_state = 1, .self = &self};
        send_one(live, p, &hello, NULL, 0);
    } else {
        enter_live(live, p, now);
        send_hello(live, p, RTK_MSG_HELLO, now);
    }
    m->joining = NULL;
    int failed = p->dropping;
    rtk_live__drain(live);
    return failed ? NULL : p; /* a failed hello dropped (and freed) the new peer */
}

void rtk_live_leave(rtk_live *live, rtk_peer *peer)
{
    peer_gone(live, peer, rtk_time_now_ms(), RTK_LIVE_LEFT, 0, 0);
}

void rtk_live_heard(rtk_live *live, rtk_peer *peer)
{
    (void)live;
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

int rtk_live_admit(rtk_live *live, rtk_peer *p)
{
    int64_t now = rtk_time_now_ms();
    p->heard_ms = now;
    if (take_token(live, p, now))
        return 0;
    if (p->excess > live->cfg.msg_excess_close) {
        peer_drop(live, p, RTK_LIVE_FLOOD, now, 0);
        rtk_live__drain(live);
        return RTK_ETOOBIG;
    }
    rtk_live__send_error(live, p, "rate_limited", "Too many messages; slow down", NULL, 0);
    rtk_live__drain(live);
    return RTK_EAGAIN;
}

void rtk_live_ping(rtk_live *live, rtk_peer *p, const char *ref, size_t ref_len)
{
    rtk_live_msg pong = {.type = RTK_MSG_PONG};
    send_one(live, p, &pong, ref, ref_len);
    rtk_live__drain(live);
}

void rtk_live_reject(rtk_live *live, rtk_peer *p, const char *code, const char *text,
                     const char *ref, size_t ref_len)
{
    rtk_live__send_error(live, p, code, text, ref, ref_len);
    rtk_live__drain(live);
}

/* ---- API side ---- */

int rtk_live_session(rtk_live *live, const char *meeting_id, rtk_session_view *out)
{
    rtk_lmeeting *m = rtk_live__meeting(live, meeting_id);
    if (m == NULL || m->session == NULL)
        return RTK_ENOTFOUND;
    rtk_live__session_view(m, rtk_time_now_ms(), out);
    return 0;
}

int rtk_live_session_if_live(rtk_live *live, const char *meeting_id, const char *session_id,
                             rtk_session_view *out)
{
    rtk_lmeeting *m = rtk_live__meeting(live, meeting_id);
    if (m == NULL || m->session == NULL || strcmp(m->session->id, session_id) != 0)
        return 0;
    rtk_live__session_view(m, rtk_time_now_ms(), out);
    return 1;
}

const char *rtk_live_meeting_app(rtk_live *live, const char *meeting_id)
{
    rtk_lmeeting *m = rtk_live__meeting(live, meeting_id);
    return m ? m->app_id : NULL;
}

int rtk_live_participant_is_live(rtk_live *live, const char *participant_id)
{
    return rtk_map_get(&live->by_participant, participant_id) != NULL;
}

int64_t rtk_live_meeting_peers(rtk_live *live, const char *meeting_id)
{
    rtk_lmeeting *m = rtk_live__meeting(live, meeting_id);
    return m && m->session ? m->session->live : 0;
}

static void send_kicked(rtk_live *live, rtk_peer *p, const char *reason)
{
    rtk_live_msg msg = {.type = RTK_MSG_KICKED, .reason = reason};
    send_one(live, p, &msg, NULL, 0);
}

/* A kick waiting for its writes to be stored. */
typedef struct kick_wait {
    rtk_live *live;
    char meeting_id[37];
    char session_id[37];
    size_t n;
    char (*ids)[257];
    rtk_live_kick_cb cb;
    void *arg;
} kick_wait;

static void kick_stored(void *arg, int status)
{
    kick_wait *w = arg;
    rtk_live *live = w->live;
    int *was_live = NULL;
    rtk_lmeeting *m = NULL;
    if (status == 0) {
        was_live = rtk_xcalloc(w->n ? w->n : 1, sizeof(*was_live));
        m = rtk_live__meeting(live, w->meeting_id);
        if (m == NULL || m->session == NULL || strcmp(m->session->id, w->session_id) != 0)
            m = NULL; /* the session ended meanwhile: nobody of it is left to close */
        for (size_t i = 0; m != NULL && i < w->n; i++) {
            key_set_add(&m->session->kicked, w->ids[i]);
            rtk_peer *p = rtk_map_get(&live->by_participant, w->ids[i]);
            if (p != NULL && p->m == m)
                was_live[i] = p->state == RTK_PEER_WAITING ? 2 : 1;
        }
    }
    /* The answer first: a host that kicked itself hears `done` before its `kicked`. */
    w->cb(w->arg, status == 0 ? 0 : RTK_EUNAVAIL, was_live);
    int64_t now = rtk_time_now_ms();
    for (size_t i = 0; m != NULL && i < w->n; i++) {
        rtk_peer *p = was_live[i] ? rtk_map_get(&live->by_participant, w->ids[i]) : NULL;
        if (p == NULL || p->m != m)
            continue;
        send_kicked(live, p, "kicked");
        if (!p->dropping) /* else the drain closes it (slow consumer) */
            peer_drop(live, p, RTK_LIVE_KICKED, now, 0);
    }
    rtk_live__drain(live);
    free(was_live);
    free(w->ids);
    free(w);
}

/* Emits a barrier whose done is |done|(|arg|): "everything so far is durable". */
static void barrier(rtk_live *live, void (*done)(void *, int), void *arg)
{
    rtk_live_event ev = {.type = RTK_LIVE_EV_BARRIER, .done = done, .done_arg = arg};
    rtk_live__emit(live, &ev);
}

static rtk_lmeeting *acting_on(rtk_live *live, const char *meeting_id, int *rc)
{
    rtk_lmeeting *m = rtk_live__meeting(live, meeting_id);
    *rc = 0;
    if (m == NULL || m->session == NULL)
        *rc = RTK_ENOTFOUND;
    else if (m->session->ending)
        *rc = RTK_EBUSY;
    return *rc == 0 ? m : NULL;
}

int rtk_live_kick(rtk_live *live, const char *meeting_id, const char *const *ids, size_t n,
                  rtk_live_kick_cb cb, void *arg)
{
    int rc;
    rtk_lmeeting *m = acting_on(live, meeting_id, &rc);
    if (m == NULL)
        return rc;
    rtk_lsession *s = m->session;
    kick_wait *w = rtk_xcalloc(1, sizeof(*w));
    w->live = live;
    memcpy(w->meeting_id, m->id, sizeof(w->meeting_id));
    memcpy(w->session_id, s->id, sizeof(w->session_id));
    w->n = n;
    w->ids = rtk_xcalloc(n ? n : 1, sizeof(*w->ids));
    w->cb = cb;
    w->arg = arg;
    int64_t now = rtk_time_now_ms();
    for (size_t i = 0; i < n; i++) {
        snprintf(w->ids[i], sizeof(w->ids[i]), "%s", ids[i]);
        if (rtk_map_get(&s->kicked, ids[i]) != NULL)
            continue;
        rtk_live_event ev = {.type = RTK_LIVE_EV_KICK, .at_ms = now, .participant_id = ids[i]};
        rtk_live__emit_session(live, m, &ev);
    }
    barrier(live, kick_stored, w);
    return 0;
}

typedef struct end_wait {
    rtk_live *live;
    char meeting_id[37];
    char session_id[37];
    rtk_live_count_cb cb; /* NULL for a host's session.kick_all */
    void *arg;
    /* a host's session.kick_all: the sender, answered `done` before its `kicked` */
    char sender_participant[37];
    char sender_peer[37];
    char ref[65];
    size_t ref_len;
    int has_ref;
} end_wait;

/* Answers the kick-all's requester: the REST callback, or the host peer's error. */
static void end_answer(end_wait *w, int status, int64_t count)
{
    if (w->cb != NULL) {
        w->cb(w->arg, status, count);
    } else if (status != 0) {
        rtk_peer *p = rtk_live_peer_find(w->live, w->sender_participant, w->sender_peer);
        if (p != NULL)
            rtk_live_reject(w->live, p, "unavailable",
                            "The store could not take the kick-all; nothing was done",
                            w->has_ref ? w->ref : NULL, w->ref_len);
    }
}

/* A host's done for its kick-all: every participant kicked, the sender included. */
static void end_done(rtk_live *live, end_wait *w, rtk_lmeeting *m)
{
    rtk_peer *sender = rtk_live_peer_find(live, w->sender_participant, w->sender_peer);
    if (sender == NULL)
        return;
    size_t n = 0;
    for (rtk_peer *p = m->peers; p != NULL; p = p->next)
        n++;
    const char **ids = rtk_xmalloc((n ? n : 1) * sizeof(*ids));
    n = 0;
    for (rtk_peer *p = m->peers; p != NULL; p = p->next)
        ids[n++] = p->participant_id;
    rtk_live_msg msg = {.type = RTK_MSG_DONE, .action = "kick_all", .ids = ids, .nids = n};
    send_one(live, sender, &msg, w->has_ref ? w->ref : NULL, w->ref_len);
    free(ids);
}

/* The kick-all's end is stored (or refused). */
static void end_stored(void *arg, int status)
{
    end_wait *w = arg;
    rtk_live *live = w->live;
    rtk_lmeeting *m = rtk_live__meeting(live, w->meeting_id);
    int64_t count = 0;
    if (m == NULL || m->session == NULL || strcmp(m->session->id, w->session_id) != 0) {
        end_answer(w, status == 0 ? 0 : RTK_EUNAVAIL, 0); /* cannot happen: it was ending */
        free(w);
        return;
    }
    rtk_lsession *s = m->session;
    int64_t now = rtk_time_now_ms();
    if (status != 0) {
        /* Refused: the session goes on. The leaves held back while it was ending are
         * recorded now, and its counters. */
        s->ending = 0;
        rtk_gone *g = s->gone;
        s->gone = NULL;
        for (rtk_gone *e = g; e != NULL; e = e->next) {
            rtk_peer_view pv = {.peer_id = e->peer_id,
                                .participant_id = e->participant_id,
                                .joined_ms = e->joined_ms};
            rtk_live_event ev = {
                .type = RTK_LIVE_EV_LEFT, .reason = e->reason, .at_ms = e->left_ms, .peer = &pv};
            rtk_live__emit_session(live, m, &ev);
        }
        gone_free(g);
        session_changed(live, m);
        if (s->live == 0) {
            if (m->keep_alive_ms == 0)
                session_end(live, m, now, RTK_LIVE_END_EMPTY, 0);
            else if (m->keep_alive_deadline == 0)
                m->keep_alive_deadline = now + m->keep_alive_ms;
        }
        end_answer(w, RTK_EUNAVAIL, 0);
        free(w);
        return;
    }
    if (w->cb == NULL)
        end_done(live, w, m);
    rtk_live_msg msg = {.type = RTK_MSG_KICKED, .reason = "kick_all"};
    for (rtk_peer *p = m->peers, *next; p != NULL; p = next) {
        next = p->next; /* peer_gone frees p only */
        rtk_live__send(live, p, &msg, NULL, 0);
        live->tr->close(p->conn, RTK_LIVE_KICKED);
        if (p->dropping) { /* failed the send: it is on the drop list; take it off */
            rtk_peer **pp = &live->drops;
            while (*pp != p)
                pp = &(*pp)->drop_next;
            *pp = p->drop_next;
        }
        peer_gone(live, p, now, RTK_LIVE_KICKED, 1, 1);
        count++;
    }
    live->tr->release(&msg);
    session_end(live, m, now, RTK_LIVE_END_KICK_ALL, 1);
    rtk_live__drain(live);
    end_answer(w, 0, count);
    free(w);
}

/* Tells subscribers that every live peer of |m| leaves at |now| for |reason|, with the
 * others (RTK_LIVE_EV_LEFT_IN_BULK), before the event that records them all. */
static void left_in_bulk(rtk_live *live, rtk_lmeeting *m, int reason, int64_t now)
{
    rtk_session_view v;
    rtk_live__session_view(m, now, &v);
    for (const rtk_peer *p = m->peers; p != NULL; p = p->next) {
        rtk_peer_view pv;
        rtk_live__peer_view(p, &pv);
        rtk_live_event ev = {.type = RTK_LIVE_EV_LEFT_IN_BULK,
                             .reason = reason,
                             .at_ms = now,
                             .session = &v,
                             .peer = &pv};
        rtk_live__emit(live, &ev);
    }
}

/* Starts the kick-all of |m|'s session (live and not ending), answered through |w|. */
static void kick_all_start(rtk_live *live, rtk_lmeeting *m, end_wait *w)
{
    rtk_lsession *s = m->session;
    int64_t now = rtk_time_now_ms();
    /* The end as it will be stored: every peer leaves now. */
    rtk_session_view v;
    rtk_live__session_view(m, now, &v);
    v.ended = 1;
    v.ended_ms = now;
    v.closed_ms = s->closed_ms + s->live * now - s->sum_joined;
    v.updated_ms = now > s->updated_ms ? now : s->updated_ms + 1;
    v.seen_ms = now;
    v.live = 0;
    left_in_bulk(live, m, RTK_LIVE_KICKED, now);
    rtk_live_event ev = {.type = RTK_LIVE_EV_SESSION_ENDED,
                         .reason = RTK_LIVE_END_KICK_ALL,
                         .all_left = 1,
                         .at_ms = now,
                         .session = &v};
    rtk_live__emit(live, &ev);
    s->ending = 1;
    m->keep_alive_deadline = 0;
    w->live = live;
    memcpy(w->meeting_id, m->id, sizeof(w->meeting_id));
    memcpy(w->session_id, s->id, sizeof(w->session_id));
    barrier(live, end_stored, w);
}

int rtk_live_kick_all(rtk_live *live, const char *meeting_id, rtk_live_count_cb cb, void *arg)
{
    int rc;
    rtk_lmeeting *m = acting_on(live, meeting_id, &rc);
    if (m == NULL)
        return rc;
    end_wait *w = rtk_xcalloc(1, sizeof(*w));
    w->cb = cb;
    w->arg = arg;
    kick_all_start(live, m, w);
    return 0;
}

/* Copies a client's ref (at most 64 bytes, as the channel checked) into |buf|. */
static size_t copy_ref(char buf[65], int *has, const char *ref, size_t ref_len)
{
    *has = ref != NULL;
    if (ref == NULL)
        return 0;
    size_t n = ref_len < 64 ? ref_len : 64;
    memcpy(buf, ref, n);
    buf[n] = '\0';
    return n;
}

int rtk_live__permits(rtk_live *live, rtk_peer *p, unsigned flag, const char *refusal,
                      const char *ref, size_t ref_len)
{
    if (p->state == RTK_PEER_LIVE && (p->flags & flag))
        return 1;
    rtk_live__send_error(live, p, "forbidden",
                         p->state == RTK_PEER_WAITING
                             ? "A peer in the waiting room may only send ping"
                             : refusal,
                         ref, ref_len);
    return 0;
}

/* rtk_live__permits for a host action, drained. */
static int allowed(rtk_live *live, rtk_peer *p, unsigned flag, const char *ref, size_t ref_len)
{
    int ok = rtk_live__permits(live, p, flag, "The participant's preset does not allow this", ref,
                               ref_len);
    rtk_live__drain(live);
    return ok;
}

int rtk_live_may_kick(rtk_live *live, rtk_peer *peer, const char *ref, size_t ref_len)
{
    return allowed(live, peer, RTK_PERM_KICK, ref, ref_len);
}

/* The session of a host's action: 1, or 0 after answering `unavailable` (it is ending). */
static int host_session(rtk_live *live, rtk_peer *p, const char *ref, size_t ref_len)
{
    if (p->m->session != NULL && !p->m->session->ending)
        return 1;
    rtk_live_reject(live, p, "unavailable", "The session is ending; nothing was done", ref,
                    ref_len);
    return 0;
}

void rtk_live_host_kick_all(rtk_live *live, rtk_peer *peer, const char *ref, size_t ref_len)
{
    if (!allowed(live, peer, RTK_PERM_KICK, ref, ref_len) ||
        !host_session(live, peer, ref, ref_len))
        return;
    if (live->clustered && live->cluster_kick_all != NULL) { /* the whole cluster's session */
        if (live->cluster_kick_all(live->cluster_kick_all_arg, peer->m->id, peer->participant_id,
                                   peer->peer_id, ref, ref_len) != 0)
            rtk_live_reject(live, peer, "unavailable",
                            "The cluster's bus is unavailable; nothing was done", ref, ref_len);
        return;
    }
    end_wait *w = rtk_xcalloc(1, sizeof(*w));
    memcpy(w->sender_participant, peer->participant_id, sizeof(w->sender_participant));
    memcpy(w->sender_peer, peer->peer_id, sizeof(w->sender_peer));
    w->ref_len = copy_ref(w->ref, &w->has_ref, ref, ref_len);
    kick_all_start(live, peer->m, w);
}

/* A host's waiting.admit or waiting.refuse, answered once what came before is durable. */
typedef struct wait_done {
    rtk_live *live;
    char participant_id[37];
    char peer_id[37];
    char ref[65];
    size_t ref_len;
    int has_ref;
    int admit;
    size_t n;
    char (*ids)[37];
} wait_done;

static void waiting_stored(void *arg, int status)
{
    wait_done *w = arg;
    rtk_peer *p = rtk_live_peer_find(w->live, w->participant_id, w->peer_id);
    if (p != NULL && status != 0) {
        rtk_live_reject(w->live, p, "unavailable", "The store could not take it; try again",
                        w->has_ref ? w->ref : NULL, w->ref_len);
    } else if (p != NULL) {
        rtk_live_send_done_rows(w->live, p, w->admit ? "admit" : "refuse", w->ids[0],
                                sizeof(w->ids[0]), w->n, w->has_ref ? w->ref : NULL, w->ref_len);
    }
    free(w->ids);
    free(w);
}

/* The waiting peer |p| joins its session (`admitted`). */
static void admit_one(rtk_live *live, rtk_peer *p, int64_t now)
{
    key_set_add(&p->m->session->admitted, p->participant_id);
    waiting_out(live, p, 0);
    rtk_map_put(&live->by_participant, p->participant_id, p);
    enter_live(live, p, now);
    emit_wait(live, p, RTK_LIVE_EV_WAIT_OUT);
    send_hello(live, p, RTK_MSG_ADMITTED, now);
}

/* The waiting peer |p| is refused (`refused`, 4004); |store|: the refusal is stored here
 * (with the next barrier's batch: still refused after a restart). */
static void refuse_one(rtk_live *live, rtk_peer *p, int64_t now, int store)
{
    rtk_lmeeting *m = p->m;
    key_set_add(&m->session->refused, p->participant_id);
    if (store) {
        rtk_live_event ev = {.type = RTK_LIVE_EV_KICK,
                             .reason = RTK_LIVE_KICK_REFUSED,
                             .at_ms = now,
                             .participant_id = p->participant_id};
        rtk_live__emit_session(live, m, &ev);
    }
    rtk_live_msg msg = {.type = RTK_MSG_REFUSED};
    send_one(live, p, &msg, NULL, 0);
    if (!p->dropping)
        peer_drop(live, p, RTK_LIVE_REFUSED, now, 0);
}

void rtk_live_host_waiting(rtk_live *live, rtk_peer *peer, int admit, const char *const *ids,
                           size_t n, const char *ref, size_t ref_len)
{
    if (!allowed(live, peer, RTK_PERM_ACCEPT_WAITING, ref, ref_len) ||
        !host_session(live, peer, ref, ref_len))
        return;
    rtk_lmeeting *m = peer->m;
    int64_t now = rtk_time_now_ms();
    if (live->clustered && live->cluster_wait != NULL) { /* the cluster's waiting room */
        if (live->cluster_wait(live->cluster_wait_arg, m->id, m->session->id, admit, ids, n,
                               peer->participant_id, peer->peer_id, ref, ref_len) != 0)
            rtk_live_reject(live, peer, "unavailable",
                            "The cluster's bus is unavailable; nothing was done", ref, ref_len);
        return;
    }
    wait_done *w = rtk_xcalloc(1, sizeof(*w));
    w->live = live;
    memcpy(w->participant_id, peer->participant_id, sizeof(w->participant_id));
    memcpy(w->peer_id, peer->peer_id, sizeof(w->peer_id));
    w->ref_len = copy_ref(w->ref, &w->has_ref, ref, ref_len);
    w->admit = admit;
    w->ids = rtk_xcalloc(n ? n : 1, sizeof(*w->ids));
    for (size_t i = 0; i < n; i++) {
        rtk_peer *p = rtk_map_get(&live->by_participant, ids[i]);
        if (p == NULL || p->m != m || p->state != RTK_PEER_WAITING || p->dropping)
            continue; /* not waiting here: ignored */
        memcpy(w->ids[w->n++], p->participant_id, sizeof(w->ids[0]));
        if (admit)
            admit_one(live, p, now);
        else
            refuse_one(live, p, now, 1);
    }
    barrier(live, waiting_stored, w);
    rtk_live__drain(live);
}

void rtk_live_participant_deleted(rtk_live *live, const char *participant_id)
{
    rtk_peer *p = rtk_map_get(&live->by_participant, participant_id);
    if (p != NULL) {
        peer_drop(live, p, RTK_LIVE_REMOVED, rtk_time_now_ms(), 0);
        rtk_live__drain(live);
    }
}

void rtk_live_meeting_changed(rtk_live *live, const char *meeting_id, const char *title,
                              int64_t keep_alive_s)
{
    rtk_lmeeting *m = rtk_live__meeting(live, meeting_id);
    if (m == NULL)
        return;
    set_title(&m->title, title);
    m->keep_alive_ms = keep_alive_s * 1000;
}

void rtk_live_turn_end(rtk_live *live)
{
    /* waiting.updated: once per loop turn (a host waits for nobody) */
    while (live->wait_dirty != NULL) {
        rtk_lmeeting *m = live->wait_dirty;
        live->wait_dirty = m->wait_next;
        m->wait_dirty = 0;
        if (!delta_empty(&m->wait))
            delta_send(live, m, &m->wait, RTK_MSG_WAITING_UPDATED, RTK_PERM_ACCEPT_WAITING);
    }
    rtk_live__drain(live);
    rtk_live__polls_turn_end(live);
}

void rtk_live_stats_get(rtk_live *live, rtk_live_stats *out)
{
    memset(out, 0, sizeof(*out));
    size_t it = 0;
    void *v;
    while (rtk_map_next(&live->meetings, &it, NULL, &v)) {
        const rtk_lmeeting *m = v;
        if (m->session != NULL) {
            out->sessions_live++;
            out->peers_live += m->session->live;
        }
        if (m->peers != NULL)
            out->meetings_with_peers++;
    }
    /* live->npeers counts both kinds. */
    out->peers_waiting = (int64_t)live->npeers - out->peers_live;
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

/* The heartbeat. Every peer is pinged once per heartbeat interval, but not all at once: a
 * sweep over each meeting's peers spans the interval, and each tick visits the share of them
 * that the time gone since the sweep began calls for (at 15,000 peers a ping to all at once
 * was a 15,000-write broadcast every 25 s, and a poll or a kick that met it took twice as
 * long, bench/analysis.md). The share follows the clock, not a count of ticks, so a late tick
 * visits more and a sweep never takes much longer than its interval. New peers are linked at
 * the head of their list, behind the sweep: the next one reaches them.
 *
 * A visit pings the peer, or drops it when it has sent nothing for two intervals (it counts
 * as having left when last heard), but only a peer that was pinged at an earlier visit, at
 * least half an interval ago, and has not been heard since that ping. A peer's place in the
 * sweep moves when others join or leave, so two visits may be up to two intervals apart: a
 * peer that answers its pings is still never dropped, and a silent one goes at the first
 * visit two intervals after it was last heard, give or take half an interval. */
typedef struct hb_turn {
    int64_t limit;
    uint32_t now, heard_grace; /* ms after live->hb_epoch; half an interval */
    rtk_peer *dead;            /* not on live->drops: this list is ours */
    rtk_live_msg ping;
} hb_turn;

static int hb_silent(const rtk_live *live, const rtk_peer *p, const hb_turn *t)
{
    if (p->pinged != 1 || p->heard_ms >= t->limit)
        return 0;
    uint32_t heard = (uint32_t)(p->heard_ms - live->hb_epoch);
    return (int32_t)(heard - p->ping_at) < 0 && t->now - p->ping_at >= t->heard_grace;
}

static void hb_visit(rtk_live *live, rtk_lmeeting *m, int list, uint32_t upto, hb_turn *t)
{
    rtk_peer *p;
    while (m->hb_done[list] < upto && (p = m->hb_next[list]) != NULL) {
        m->hb_next[list] = p->next;
        m->hb_done[list]++;
        if (p->pinged == 2) /* judged already in this tick (a sweep that fell behind) */
            continue;
        if (hb_silent(live, p, t)) {
            p->pinged = 2;
            p->drop_next = t->dead;
            t->dead = p;
        } else {
            p->pinged = 1;
            p->ping_at = t->now;
            rtk_live__send(live, p, &t->ping, NULL, 0);
        }
    }
}

static void heartbeat(rtk_live *live, int64_t now)
{
    int64_t iv = (int64_t)live->cfg.heartbeat_ms;
    int begin = now - live->hb_start >= iv;
    if (begin)
        live->hb_start = now;
    /* Through the end of this tick: the last tick of a sweep visits whatever is left. */
    int64_t span = now - live->hb_start + (int64_t)live->cfg.tick_ms;
    if (span > iv)
        span = iv;
    hb_turn t = {.limit = now - 2 * iv,
                 .now = (uint32_t)(now - live->hb_epoch),
                 .heard_grace = (uint32_t)(iv / 2),
                 .ping = {.type = RTK_MSG_PING}};
    size_t it = 0;
    void *v;
    while (rtk_map_next(&live->meetings, &it, NULL, &v)) {
        rtk_lmeeting *m = v;
        if (begin) {
            for (int list = 0; list < 2; list++) { /* a sweep that fell behind ends first */
                hb_visit(live, m, list, UINT32_MAX, &t);
                uint32_t n = 0;
                for (rtk_peer *p = list ? m->waiting : m->peers; p != NULL; p = p->next)
                    n++;
                m->hb_next[list] = list ? m->waiting : m->peers;
                m->hb_total[list] = n;
                m->hb_done[list] = 0;
            }
            if (m->session != NULL && m->peers != NULL && !m->session->ending) {
                /* After a crash, open peers count as having left at seen_at: keep it recent. */
                m->session->seen_ms = now;
                session_changed(live, m);
            }
        }
        for (int list = 0; list < 2; list++) {
            uint64_t due = ((uint64_t)m->hb_total[list] * (uint64_t)span + (uint64_t)iv - 1) /
                           (uint64_t)iv;
            hb_visit(live, m, list, (uint32_t)due, &t);
        }
    }
    live->tr->release(&t.ping);
    while (t.dead != NULL) {
        rtk_peer *p = t.dead;
        t.dead = p->drop_next;
        if (p->dropping) /* also failed the ping: drain owns it */
            continue;
        peer_drop(live, p, RTK_LIVE_TIMEOUT, p->heard_ms, 0);
    }
    rtk_live__drain(live);
}

int64_t rtk_live__audience_gap_ms(const rtk_live *live, const rtk_lmeeting *m)
{
    int64_t n = m->session != NULL ? m->session->live : 0;
    return n * (int64_t)live->cfg.audience_gap_us / 1000;
}

static void flush_updates(rtk_live *live, int64_t now)
{
    size_t it = 0;
    void *v;
    while (rtk_map_next(&live->meetings, &it, NULL, &v)) {
        rtk_lmeeting *m = v;
        if (m->session != NULL && !m->session->ending && m->keep_alive_deadline &&
            now >= m->keep_alive_deadline && m->peers == NULL && !live->clustered)
            session_end(live, m, now, RTK_LIVE_END_KEEPALIVE, 0);
        if (live->clustered && m->session != NULL && !m->session->ending && m->peers == NULL &&
            m->waiting == NULL && !m->dirty && m->shares_pending == 0) {
            /* Its share here is gone; the session goes on at other nodes, or ends by the bus. */
            lsession_free(live, m->session);
            m->session = NULL;
            remote_clear(live, m);
        }
        if (live->clustered && m->mirror != 0)
            mirror_trim(live, m);
        if (!delta_empty(&m->roster) &&
            now - m->last_roster_ms >= (int64_t)live->cfg.update_min_ms) {
            m->last_roster_ms = now;
            delta_send(live, m, &m->roster, RTK_MSG_PARTICIPANTS_UPDATED, RTK_PERM_LIST);
        }
        if (!m->dirty)
            continue;
        int64_t gap = rtk_live__audience_gap_ms(live, m);
        if (gap < (int64_t)live->cfg.update_min_ms)
            gap = (int64_t)live->cfg.update_min_ms;
        if (now - m->last_update_ms < gap)
            continue;
        m->dirty = 0;
        if (m->session == NULL || m->peers == NULL || m->session->ending)
            continue;
        m->last_update_ms = now;
        rtk_session_view sv;
        rtk_live__session_view(m, now, &sv);
        rtk_live_msg msg = {.type = RTK_MSG_SESSION_UPDATED, .session = &sv};
        broadcast(live, m, &msg, 0);
    }
    rtk_live__polls_tick(live, now);
    rtk_live__drain(live);
}

/* A stall of the server itself (SIGSTOP, a frozen VM, a swap storm) is not the peers'
 * silence: they may have sent plenty that waits, unread, in the kernel. Silence is measured
 * only over the time the loop was running, so when the tick comes |gap| ms late, every peer's
 * last-heard time moves forward by what the loop missed, and the peers' waiting bytes are
 * read (and heard) before anyone is judged by it. */
#define STALL_MIN_MS 500

static int forgive_stall(rtk_live *live, int64_t now)
{
    int64_t gap = now - live->last_tick_ms - (int64_t)live->cfg.tick_ms;
    live->last_tick_ms = now;
    if (gap < STALL_MIN_MS)
        return 0;
    size_t it = 0;
    void *v;
    while (rtk_map_next(&live->meetings, &it, NULL, &v)) {
        rtk_lmeeting *m = v;
        for (int list = 0; list < 2; list++) {
            for (rtk_peer *p = list ? m->waiting : m->peers; p != NULL; p = p->next) {
                p->heard_ms += gap;
                if (p->heard_ms > now)
                    p->heard_ms = now;
            }
        }
    }
    return 1;
}

static void on_tick(uv_timer_t *t)
{
    rtk_live *live = t->data;
    int64_t now = rtk_time_now_ms();
    int stalled = forgive_stall(live, now);
    flush_updates(live, now);
    if (!stalled) /* after this turn's reads: a stalled loop judges no one before them */
        heartbeat(live, now);
    meetings_gc(live);
}

/* ---- lifecycle ---- */

int rtk_live_restore_session(rtk_live *live, const rtk_session_view *row, const char *title,
                             int64_t keep_alive_s)
{
    rtk_lmeeting *m = meeting_open(live, row->meeting_id, row->app_id, title, keep_alive_s);
    if (m->session != NULL) /* two LIVE sessions for one meeting: keep the first */
        return RTK_EEXIST;
    rtk_lsession *s = lsession_new(row->id, row->title);
    s->started_ms = row->started_ms;
    s->updated_ms = row->updated_ms;
    s->seen_ms = row->seen_ms;
    s->peak = row->peak;
    s->closed_ms = row->closed_ms;
    m->session = s;
    /* The keep-alive window starts at the restart (PROTOCOL.md §3). */
    m->keep_alive_deadline = rtk_time_now_ms() + m->keep_alive_ms;
    return 0;
}

void rtk_live_restore_kick(rtk_live *live, const char *session_id, const char *participant_id,
                           int refused)
{
    size_t it = 0;
    void *v;
    while (rtk_map_next(&live->meetings, &it, NULL, &v)) {
        rtk_lmeeting *m = v;
        if (m->session != NULL && strcmp(m->session->id, session_id) == 0) {
            rtk_map *set = refused ? &m->session->refused : &m->session->kicked;
            if (rtk_map_get(set, participant_id) == NULL)
                key_set_add(set, participant_id);
            return;
        }
    }
}

static const rtk_live_config defaults = {
    .heartbeat_ms = 25000,
    .tick_ms = 100,
    .update_min_ms = 1000,
    .audience_gap_us = 100,
    .msg_rate = 50,
    .msg_burst = 100,
    .msg_excess_close = 100,
};

int rtk_live_new(uv_loop_t *loop, const rtk_live_config *cfg, const rtk_live_transport *tr,
                 rtk_live **out)
{
    rtk_live *live = rtk_xcalloc(1, sizeof(*live));
    live->loop = loop;
    live->tr = tr;
    live->cfg = defaults;
    if (cfg != NULL) {
        if (cfg->heartbeat_ms)
            live->cfg.heartbeat_ms = cfg->heartbeat_ms;
        if (cfg->tick_ms)
            live->cfg.tick_ms = cfg->tick_ms;
        if (cfg->update_min_ms)
            live->cfg.update_min_ms = cfg->update_min_ms;
        if (cfg->audience_gap_us)
            live->cfg.audience_gap_us = cfg->audience_gap_us;
        if (cfg->msg_rate != 0)
            live->cfg.msg_rate = cfg->msg_rate;
        if (cfg->msg_burst > 0)
            live->cfg.msg_burst = cfg->msg_burst;
        if (cfg->msg_excess_close > 0)
            live->cfg.msg_excess_close = cfg->msg_excess_close;
    }
    rtk_map_init(&live->meetings);
    rtk_map_init(&live->by_participant);
    rtk_slab_init(&live->peer_slab, sizeof(rtk_peer));
    rtk_slab_init(&live->pinfo_slab, PINFO_SMALL);
    rtk_map_init(&live->presets);
    live->last_tick_ms = rtk_time_now_ms();
    live->hb_start = live->hb_epoch = live->last_tick_ms; /* the first sweep: one interval in */
    uv_timer_init(loop, &live->tick);
    live->tick.data = live;
    uv_timer_start(&live->tick, on_tick, live->cfg.tick_ms, live->cfg.tick_ms);
    live->handles_open = 1;
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
        for (rtk_peer *p = m->waiting, *next; p != NULL; p = next) {
            next = p->next; /* peer_gone frees p only */
            live->tr->close(p->conn, live->clustered ? RTK_LIVE_DRAINING : RTK_LIVE_SHUTDOWN);
            peer_gone(live, p, now, RTK_LIVE_SHUTDOWN, 1, 1);
        }
        if (m->session == NULL)
            continue;
        int had_peers = m->peers != NULL;
        /* (An ending one told its kick-all's leaves; a cluster's node tells one LEFT per
         * peer below.) */
        if (had_peers && !m->session->ending && !live->clustered)
            left_in_bulk(live, m, RTK_LIVE_SHUTDOWN, now);
        for (rtk_peer *p = m->peers, *next; p != NULL; p = next) {
            next = p->next; /* peer_gone frees p only */
            /* Leaving through shutdown must not end the session: it stays LIVE for peers
             * that reconnect after the restart. */
            /* A cluster's node drains: its peers reconnect to another node at once. */
            int why = live->clustered ? RTK_LIVE_DRAINING : RTK_LIVE_SHUTDOWN;
            live->tr->close(p->conn, why);
            peer_gone(live, p, now, why, 1, live->clustered ? 0 : 1);
        }
        if (had_peers && !m->session->ending && !live->clustered) {
            rtk_live_event ev = {
                .type = RTK_LIVE_EV_PEERS_LEFT, .reason = RTK_LIVE_SHUTDOWN, .at_ms = now};
            rtk_live__emit_session(live, m, &ev);
        }
    }
    live->drops = NULL;
    live->shutdown_cb = cb;
    live->shutdown_arg = arg;
    uv_timer_stop(&live->tick);
    uv_close((uv_handle_t *)&live->tick, on_handle_closed);
}

void rtk_live_free(rtk_live *live)
{
    if (live == NULL)
        return;
    live->cluster_mirror = NULL; /* the cluster is gone before live */
    size_t it = 0;
    void *v;
    while (rtk_map_next(&live->meetings, &it, NULL, &v)) {
        rtk_lmeeting *m = v;
        for (int list = 0; list < 2; list++) {
            rtk_peer **head = list ? &m->waiting : &m->peers;
            while (*head != NULL) {
                rtk_peer *p = *head;
                *head = p->next;
                peer_free(live, p);
            }
        }
        lsession_free(live, m->session);
        remote_clear(live, m);
        meeting_free(m);
    }
    rtk_map_free(&live->meetings);
    rtk_map_free(&live->by_participant);
    rtk_map_free(&live->presets); /* empty: every peer gave its preset back */
    rtk_slab_fini(&live->peer_slab);
    rtk_slab_fini(&live->pinfo_slab);
    free(live);
}

/* ---- cluster mode ---- */

void rtk_live_set_clustered(rtk_live *live, int on)
{
    live->clustered = on;
}

void rtk_live_cluster_counters(rtk_live *live, const char *meeting_id, const char *session_id,
                               int64_t n_live, int64_t peak, int64_t closed_ms,
                               int64_t sum_joined_rel, int64_t seen_ms)
{
    rtk_lmeeting *m = rtk_live__meeting(live, meeting_id);
    if (m == NULL || m->session == NULL || strcmp(m->session->id, session_id) != 0)
        return;
    rtk_lsession *s = m->session;
    s->g_set = 1;
    s->g_live = n_live;
    s->g_peak = peak;
    s->g_closed = closed_ms;
    s->g_sum_rel = sum_joined_rel;
    s->g_seen = seen_ms;
    mark_dirty(m);
}

void rtk_live_cluster_ended(rtk_live *live, const rtk_session_view *v, int reason, int emit)
{
    if (emit) {
        rtk_live_event ev = {
            .type = RTK_LIVE_EV_SESSION_ENDED, .reason = reason, .at_ms = v->ended_ms, .session = v};
        rtk_live__emit(live, &ev);
    }
    rtk_lmeeting *m = rtk_live__meeting(live, v->meeting_id);
    if (m == NULL || m->session == NULL || strcmp(m->session->id, v->id) != 0)
        return;
    int64_t now = rtk_time_now_ms();
    int why = reason == RTK_LIVE_END_KICK_ALL ? RTK_LIVE_KICKED : RTK_LIVE_REFUSED;
    if (m->peers != NULL) {
        /* Every peer here leaves with the end, as on one node: told one by one (webhooks),
         * stored in one statement (the deciding node's end stored the others' already), and
         * nothing for the bus (the session is gone from Redis). */
        left_in_bulk(live, m, why, now);
        rtk_live_msg msg = {.type = RTK_MSG_KICKED, .reason = "kick_all"}; /* rendered once */
        for (rtk_peer *p = m->peers, *next; p != NULL; p = next) {
            next = p->next; /* peer_gone frees p only */
            if (reason == RTK_LIVE_END_KICK_ALL)
                rtk_live__send(live, p, &msg, NULL, 0);
            undrop(live, p);
            live->tr->close(p->conn, why);
            peer_gone(live, p, now, why, 1, 1);
        }
        live->tr->release(&msg);
        rtk_live_event ev = {.type = RTK_LIVE_EV_PEERS_LEFT, .reason = why, .at_ms = now};
        rtk_live__emit_session(live, m, &ev);
    }
    rtk_lsession *s = m->session;
    m->session = NULL;
    m->keep_alive_deadline = 0;
    m->dirty = 0;
    lsession_free(live, s);
    remote_clear(live, m);
    waiting_close_all(live, m);
    rtk_live__drain(live);
}

void rtk_live_cluster_left(rtk_live *live, const rtk_session_view *s, const rtk_peer_view *p,
                           int64_t at_ms)
{
    rtk_live_event ev = {
        .type = RTK_LIVE_EV_LEFT, .reason = RTK_LIVE_TIMEOUT, .at_ms = at_ms, .session = s, .peer = p};
    rtk_live__emit(live, &ev);
}

int rtk_live_cluster_close(rtk_live *live, const char *participant_id, const char *peer_id,
                           int why)
{
    rtk_peer *p = rtk_live_peer_find(live, participant_id, peer_id);
    if (p == NULL) /* gone already (or failing a send: it goes with the drops) */
        return 0;
    if (why == RTK_LIVE_KICKED)
        send_kicked(live, p, "kicked");
    /* A kick or a replace was counted by the script that decided it (its counters' notice
     * came first, on the same connection): this node's share does not count it again. */
    live->bus_counted = 1;
    if (!p->dropping) /* else the drain closes it (slow consumer) */
        peer_drop(live, p, why, rtk_time_now_ms(), 0);
    rtk_live__drain(live);
    live->bus_counted = 0;
    return 1;
}

void rtk_live_cluster_tell(rtk_live *live, rtk_live_event *ev)
{
    rtk_live__emit(live, ev);
}

void rtk_live_cluster_share(rtk_live *live, const rtk_join_info *ji)
{
    rtk_lmeeting *m = meeting_open(live, ji->meeting_id, ji->app_id, ji->title, ji->keep_alive_s);
    m->shares_pending++; /* not forgotten before its first peer joins */
    mirror_set(live, m, m->mirror | mirror_wants(ji)); /* the lists its joiner sees: kept */
    if (m->session != NULL && strcmp(m->session->id, ji->session_id) == 0)
        return;
    forget_stale_share(live, m, ji->session_id, rtk_time_now_ms());
    if (m->session != NULL)
        return;
    m->joining = ji;
    session_start(live, m, rtk_time_now_ms(), 1);
    m->joining = NULL;
}

void rtk_live_cluster_share_done(rtk_live *live, const char *meeting_id, const char *session_id,
                                 int loaded)
{
    rtk_lmeeting *m = rtk_live__meeting(live, meeting_id);
    if (m != NULL && m->shares_pending > 0)
        m->shares_pending--;
    if (m != NULL && loaded && m->session != NULL && strcmp(m->session->id, session_id) == 0)
        m->session->loaded = 1;
}

int rtk_live_cluster_share_ready(rtk_live *live, const rtk_join_info *ji)
{
    rtk_lmeeting *m = rtk_live__meeting(live, ji->meeting_id);
    return m != NULL && m->session != NULL && m->session->loaded &&
           strcmp(m->session->id, ji->session_id) == 0 &&
           (mirror_wants(ji) & ~m->mirror) == 0;
}

int rtk_live_cluster_mirrors(rtk_live *live, const char *meeting_id, int waiting)
{
    rtk_lmeeting *m = rtk_live__meeting(live, meeting_id);
    return m != NULL && (m->mirror & (waiting ? RTK_MIRROR_WAIT : RTK_MIRROR_LIST)) != 0;
}

void rtk_live_cluster_listed(rtk_live *live, const char *meeting_id, const char *session_id,
                             int waiting, const rtk_peer_view *v)
{
    rtk_lmeeting *m = rtk_live__meeting(live, meeting_id);
    if (m == NULL || m->session == NULL || m->session->ending ||
        !(m->mirror & (waiting ? RTK_MIRROR_WAIT : RTK_MIRROR_LIST)) ||
        strcmp(m->session->id, session_id) != 0 || v->peer_id == NULL ||
        v->participant_id == NULL || strlen(v->peer_id) > 36 || strlen(v->participant_id) > 36)
        return;
    if (rtk_map_get(&m->remote, v->peer_id) != NULL)
        return;
    rtk_peer *p = remote_new(live, m, v, waiting);
    rtk_map_put(&m->remote, p->peer_id, p);
    if (waiting) {
        peer_link(p, &m->rwaiting);
        if (m->nacceptors > 0) {
            delta_join(&m->wait, p);
            wait_mark(live, m);
        }
    } else {
        peer_link(p, &m->rpeers);
        if (m->nlisters > 0)
            delta_join(&m->roster, p);
    }
}

void rtk_live_cluster_unlisted(rtk_live *live, const char *meeting_id, const char *peer_id)
{
    rtk_lmeeting *m = rtk_live__meeting(live, meeting_id);
    rtk_peer *p = m != NULL ? rtk_map_get(&m->remote, peer_id) : NULL;
    if (p != NULL)
        remote_out(live, m, p);
}

int rtk_live_cluster_decide(rtk_live *live, const char *participant_id, const char *peer_id,
                            int admit)
{
    rtk_peer *p = rtk_live_peer_find(live, participant_id, peer_id);
    if (p == NULL || p->state != RTK_PEER_WAITING || p->m->session == NULL ||
        p->m->session->ending)
        return 0;
    if (admit)
        admit_one(live, p, rtk_time_now_ms());
    else
        refuse_one(live, p, rtk_time_now_ms(), 0);
    rtk_live__drain(live);
    return 1;
}

void rtk_live_set_cluster_mirror(rtk_live *live, void (*fn)(void *arg, const char *meeting_id,
                                                            int on),
                                 void *arg)
{
    live->cluster_mirror = fn;
    live->cluster_mirror_arg = arg;
}

void rtk_live_set_cluster_wait(rtk_live *live, rtk_live_cluster_wait_fn fn, void *arg)
{
    live->cluster_wait = fn;
    live->cluster_wait_arg = arg;
}

void rtk_live_set_cluster_poll(rtk_live *live, rtk_live_cluster_poll_fn fn, void *arg)
{
    live->cluster_poll = fn;
    live->cluster_poll_arg = arg;
}

void rtk_live_set_cluster_kick_all(rtk_live *live, rtk_live_cluster_kick_all_fn fn, void *arg)
{
    live->cluster_kick_all = fn;
    live->cluster_kick_all_arg = arg;
}

/* |fn| for every live (|waiting| 0) or waiting peer of a meeting with a share here. */
static void each_in(rtk_live *live, int waiting,
                    void (*fn)(void *arg, const rtk_session_view *s, const rtk_peer_view *p),
                    void *arg)
{
    int64_t now = rtk_time_now_ms();
    size_t it = 0;
    void *v;
    while (rtk_map_next(&live->meetings, &it, NULL, &v)) {
        rtk_lmeeting *m = v;
        if (m->session == NULL || m->session->ending)
            continue;
        rtk_session_view sv;
        rtk_live__session_view(m, now, &sv);
        for (rtk_peer *p = waiting ? m->waiting : m->peers; p != NULL; p = p->next) {
            rtk_peer_view pv;
            rtk_live__peer_view(p, &pv);
            fn(arg, &sv, &pv);
        }
    }
}

void rtk_live_each_peer(rtk_live *live,
                        void (*fn)(void *arg, const rtk_session_view *s, const rtk_peer_view *p),
                        void *arg)
{
    each_in(live, 0, fn, arg);
}

void rtk_live_each_waiting(rtk_live *live,
                           void (*fn)(void *arg, const rtk_session_view *s,
                                      const rtk_peer_view *p),
                           void *arg)
{
    each_in(live, 1, fn, arg);
}
