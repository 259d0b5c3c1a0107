/* SPDX-License-Identifier: MIT */
/* rtk_live_polls.c - polls of a live session: creation, votes with durable replies, updates.
 *
 * A vote changes the tallies at once (so a second vote in the same loop turn is
 * already_voted) and is told to subscribers; persistence writes it into the turn's batch, and
 * its poll.voted reply waits for the write to be committed (or the vote is taken back with
 * `unavailable` when it is not). A waiting vote names its peer, session and poll by id and
 * finds them again when the store answers, so nothing has to be told when a peer or a
 * session goes away meanwhile (that cost a walk over every waiting vote per leave). The
 * voters of one commit share one poll.voted rendering per option.
 *
 * Other peers get poll.updated, coalesced per poll to one per 500 ms; each distinct view
 * (hidden, or visible with a given my_vote) is one message, which the transport renders once
 * for every peer that sees it. A poll joins the session only once it is stored. */
#include <stdlib.h>
#include <string.h>

#include "live/rtk_live_int.h"
#include "util/rtk_err.h"
#include "util/rtk_id.h"
#include "util/rtk_time.h"

#define UPDATE_MIN_MS 500

struct rtk_poll {
    rtk_poll_view view; /* kept current: points into the fields below */
    rtk_poll *next;
    size_t view_bytes; /* the bound it counts for in its session */
    char id[37];
    char *question;
    char *created_by;
    char **opts;
    int64_t *counts;
    rtk_vote_view **votes; /* in the order cast; names owned */
    size_t cap;
    rtk_map voters; /* participant id -> its rtk_vote_view */
    int dirty;      /* votes since the last poll.updated */
    size_t sent;    /* votes[0..sent) were in a poll.updated (or before any was due) */
    int64_t last_update_ms;
    /* poll.voted, rendered once per option for every voter answered in the same loop turn
     * (the view differs only by my_vote; the ref is spliced in per reply). Valid while
     * |version| (bumped by every change of the tallies) equals |voted_version|; released at
     * the end of the turn (rtk_live_turn_end). */
    uint64_t version, voted_version;
    rtk_live_msg *voted;                 /* nopts messages, or NULL */
    rtk_poll *voted_next, **voted_pprev; /* on live->voted_polls while |voted| is set */
};

typedef struct rtk_vote_wait {
    rtk_live *live;
    rtk_poll *poll;      /* valid while the session named below is live */
    rtk_vote_view *vote; /* taken back if the write fails */
    char meeting_id[37];
    char session_id[37];
    char participant_id[37];
    char peer_id[37]; /* the peer that voted: the reply goes to it only */
    char ref[65];
    size_t ref_len;
    int has_ref;
} rtk_vote_wait;

/* ---- building and freeing ---- */

static void view_sync(rtk_poll *p)
{
    p->view.id = p->id;
    p->view.question = p->question;
    p->view.created_by = p->created_by;
    p->view.opts = (const char *const *)p->opts;
    p->view.counts = p->counts;
    p->view.votes = (const rtk_vote_view *const *)p->votes;
}

static rtk_poll *poll_new(const char *id, const char *question, const char *const *opts, int nopts,
                          int anonymous, int hide_votes, const char *created_by, int64_t created_ms)
{
    rtk_poll *p = rtk_xcalloc(1, sizeof(*p));
    snprintf(p->id, sizeof(p->id), "%s", id);
    p->question = rtk_xstrndup(question, strlen(question));
    p->created_by = created_by ? rtk_xstrndup(created_by, strlen(created_by)) : NULL;
    p->view.created_ms = created_ms;
    p->view.anonymous = anonymous;
    p->view.hide_votes = hide_votes;
    p->view.nopts = nopts;
    p->opts = rtk_xcalloc((size_t)nopts, sizeof(*p->opts));
    p->counts = rtk_xcalloc((size_t)nopts, sizeof(*p->counts));
    for (int i = 0; i < nopts; i++)
        p->opts[i] = rtk_xstrndup(opts[i], strlen(opts[i]));
    rtk_map_init(&p->voters);
    view_sync(p);
    return p;
}

static void voted_release(rtk_live *live, rtk_poll *p)
{
    if (p->voted == NULL)
        return;
    for (int i = 0; i < p->view.nopts; i++)
        live->tr->release(&p->voted[i]);
    free(p->voted);
    p->voted = NULL;
    *p->voted_pprev = p->voted_next;
    if (p->voted_next != NULL)
        p->voted_next->voted_pprev = p->voted_pprev;
}

/* The poll.voted message of |p| for a voter of |option|, shared within the loop turn. */
static rtk_live_msg *voted_msg(rtk_live *live, rtk_poll *p, int option)
{
    if (p->voted != NULL && p->voted_version != p->version)
        voted_release(live, p);
    if (p->voted == NULL) {
        p->voted = rtk_xcalloc((size_t)p->view.nopts, sizeof(*p->voted));
        for (int i = 0; i < p->view.nopts; i++)
            p->voted[i] =
                (rtk_live_msg){.type = RTK_MSG_POLL_VOTED, .poll = &p->view, .my_vote = i};
        p->voted_version = p->version;
        p->voted_next = live->voted_polls;
        if (p->voted_next != NULL)
            p->voted_next->voted_pprev = &p->voted_next;
        p->voted_pprev = &live->voted_polls;
        live->voted_polls = p;
    }
    return &p->voted[option];
}

void rtk_live__polls_turn_end(rtk_live *live)
{
    while (live->voted_polls != NULL)
        voted_release(live, live->voted_polls);
}

static void poll_free(rtk_poll *p)
{
    for (int i = 0; i < p->view.nopts; i++)
        free(p->opts[i]);
    for (size_t i = 0; i < p->view.nvotes; i++) {
        free((char *)p->votes[i]->name);
        free(p->votes[i]);
    }
    rtk_map_free(&p->voters);
    free(p->votes);
    free(p->opts);
    free(p->counts);
    free(p->question);
    free(p->created_by);
    free(p);
}

void rtk_live__polls_free(rtk_live *live, rtk_lsession *s)
{
    rtk_poll *p = s->polls;
    while (p != NULL) {
        rtk_poll *next = p->next;
        voted_release(live, p);
        poll_free(p);
        p = next;
    }
    s->polls = NULL;
    s->npolls = 0;
}

/* Adds |p| to the list of |s| (its place in the limits is already taken). */
static void poll_append(rtk_lsession *s, rtk_poll *p)
{
    rtk_poll **list = &s->polls;
    while (*list != NULL)
        list = &(*list)->next;
    *list = p;
}

static rtk_poll *poll_find(rtk_poll *list, const char *id)
{
    for (; list != NULL; list = list->next)
        if (strcmp(list->id, id) == 0)
            return list;
    return NULL;
}

static rtk_vote_view *add_vote(rtk_poll *p, const char *participant_id, int option,
                               const char *name)
{
    rtk_vote_view *v = rtk_xcalloc(1, sizeof(*v));
    snprintf(v->participant_id, sizeof(v->participant_id), "%s", participant_id);
    v->option = option;
    v->name = name ? rtk_xstrndup(name, strlen(name)) : NULL;
    if (p->view.nvotes == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->votes = rtk_xrealloc(p->votes, p->cap * sizeof(*p->votes));
    }
    p->votes[p->view.nvotes++] = v;
    p->counts[option]++;
    p->version++;
    rtk_map_put(&p->voters, v->participant_id, v);
    view_sync(p);
    return v;
}

/* Takes back |v| (a vote whose write was not stored). */
static void remove_vote(rtk_poll *p, rtk_vote_view *v)
{
    size_t n = p->view.nvotes;
    for (size_t i = n; i-- > 0;) {
        if (p->votes[i] == v) {
            memmove(&p->votes[i], &p->votes[i + 1], (n - i - 1) * sizeof(*p->votes));
            p->view.nvotes--;
            if (i < p->sent)
                p->sent--;
            break;
        }
    }
    p->counts[v->option]--;
    p->version++;
    rtk_map_del(&p->voters, v->participant_id);
    p->dirty = 1;
    free((char *)v->name);
    free(v);
}

static int my_vote(const rtk_poll *p, const char *participant_id)
{
    const rtk_vote_view *v = rtk_map_get(&p->voters, participant_id);
    return v ? v->option : -1;
}

size_t rtk_live__poll_views(const rtk_lsession *s, const char *participant_id,
                            const rtk_poll_view ***polls, int **votes)
{
    *polls = rtk_xcalloc(s->npolls ? s->npolls : 1, sizeof(**polls));
    *votes = rtk_xcalloc(s->npolls ? s->npolls : 1, sizeof(**votes));
    size_t n = 0;
    for (const rtk_poll *p = s->polls; p != NULL; p = p->next, n++) {
        (*polls)[n] = &p->view;
        (*votes)[n] = my_vote(p, participant_id);
    }
    return n;
}

/* 1 if |peer| sees the tallies of |p| (PROTOCOL.md §6: hidden until it votes in a hide_votes
 * poll). */
static int sees_tallies(const rtk_poll *p, const rtk_peer *peer)
{
    return (peer->flags & RTK_PERM_POLLS_VIEW) &&
           (!p->view.hide_votes || rtk_map_get(&p->voters, peer->participant_id) != NULL);
}

/* poll.created to every peer of |m| that can view polls, and to |creator| (a peer's
 * poll.create) with its ref: one message per distinct view (hidden, or visible: nobody has
 * voted yet), each rendered once by the transport. */
static void broadcast_created(rtk_live *live, rtk_lmeeting *m, rtk_poll *p, const char *creator,
                              const char *ref, size_t ref_len)
{
    rtk_live_msg msg = {.type = RTK_MSG_POLL_CREATED, .poll = &p->view, .my_vote = -1};
    uint64_t t0 = uv_hrtime();
    for (rtk_peer *peer = m->peers; peer != NULL; peer = peer->next) {
        int mine = creator != NULL && strcmp(peer->peer_id, creator) == 0;
        if (mine)
            rtk_live__send(live, peer, &msg, ref, ref_len);
        else if (peer->flags & RTK_PERM_POLLS_VIEW)
            rtk_live__send(live, peer, &msg, NULL, 0);
    }
    live->tr->release(&msg);
    rtk_live__fanout_done(t0);
}

/* Recent voters per option a poll.updated lists (as many as a viewer view shows). */
#define UPDATE_VOTERS_PER_OPTION 20

/* poll.updated: the tallies and the votes since the previous one (at most the 20 most recent
 * of each option; none in an anonymous poll), the same bytes to every peer that sees the
 * tallies. */
static void broadcast_update(rtk_live *live, rtk_lmeeting *m, rtk_poll *p)
{
    size_t from = p->sent, n = p->view.nvotes;
    const rtk_vote_view **voters = NULL;
    size_t nv = 0;
    if (!p->view.anonymous && n > from) {
        int *per = rtk_xcalloc((size_t)p->view.nopts, sizeof(*per));
        voters = rtk_xmalloc((n - from) * sizeof(*voters));
        /* newest first, then reversed: oldest first */
        for (size_t i = n; i-- > from;) {
            const rtk_vote_view *v = p->votes[i];
            if (per[v->option] < UPDATE_VOTERS_PER_OPTION) {
                per[v->option]++;
                voters[nv++] = v;
            }
        }
        for (size_t a = 0, b = nv ? nv - 1 : 0; a < b; a++, b--) {
            const rtk_vote_view *t = voters[a];
            voters[a] = voters[b];
            voters[b] = t;
        }
        free(per);
    }
    p->sent = n;
    rtk_live_msg msg = {.type = RTK_MSG_POLL_UPDATED,
                        .poll = &p->view,
                        .voters = (const rtk_vote_view *const *)voters,
                        .nvoters = nv};
    uint64_t t0 = uv_hrtime();
    for (rtk_peer *peer = m->peers; peer != NULL; peer = peer->next)
        if (sees_tallies(p, peer))
            rtk_live__send(live, peer, &msg, NULL, 0);
    live->tr->release(&msg);
    rtk_live__fanout_done(t0);
    free(voters);
}

/* ---- creation ---- */

typedef struct poll_wait {
    rtk_live *live;
    size_t view_bytes;
    char meeting_id[37];
    char session_id[37];
    rtk_poll *poll;
    rtk_live_poll_cb cb; /* NULL for a peer's poll.create */
    void *arg;
    /* a peer's poll.create: its poll.created carries the ref; errors go to it */
    char creator_participant[37];
    char creator_peer[37];
    char ref[65];
    size_t ref_len;
    int has_ref;
} poll_wait;

/* Answers a peer's poll.create that failed. */
static void creator_error(rtk_live *live, poll_wait *w, const char *code, const char *text)
{
    rtk_peer *p = rtk_live_peer_find(live, w->creator_participant, w->creator_peer);
    if (p != NULL)
        rtk_live_reject(live, p, code, text, w->has_ref ? w->ref : NULL, w->ref_len);
}

static void poll_stored(void *arg, int status)
{
    poll_wait *w = arg;
    rtk_live *live = w->live;
    rtk_poll *p = w->poll;
    rtk_lmeeting *m = rtk_live__meeting(live, w->meeting_id);
    int joined = m != NULL && m->session != NULL && strcmp(m->session->id, w->session_id) == 0;
    if (status != 0) {
        if (joined) { /* its place in the session's limits is free again */
            m->session->npolls--;
            m->session->poll_bytes -= w->view_bytes;
        }
        if (w->cb != NULL)
            w->cb(w->arg, RTK_EUNAVAIL, NULL);
        else
            creator_error(live, w, "unavailable",
                          "The poll could not be stored; nothing was created; try again");
        poll_free(p);
        free(w);
        return;
    }
    if (joined) {
        poll_append(m->session, p);
        rtk_peer *creator = rtk_live_peer_find(live, w->creator_participant, w->creator_peer);
        broadcast_created(live, m, p, creator ? creator->peer_id : NULL,
                          w->has_ref ? w->ref : NULL, w->ref_len);
    }
    if (w->cb != NULL)
        w->cb(w->arg, 0, &p->view);
    if (!joined) /* stored for a session that ended meanwhile: nobody holds it */
        poll_free(p);
    rtk_live__drain(live);
    free(w);
}

int rtk_live__poll_create(rtk_live *live, rtk_lmeeting *m, const rtk_poll_spec *spec,
                          const rtk_peer *creator, const char *ref, size_t ref_len,
                          rtk_live_poll_cb cb, void *arg)
{
    if (m == NULL || m->session == NULL)
        return RTK_ENOTFOUND;
    rtk_lsession *s = m->session;
    if (s->ending)
        return RTK_EBUSY;
    if (s->npolls >= RTK_LIVE_POLLS_MAX || spec->view_bytes > RTK_LIVE_POLL_BYTES_MAX ||
        s->poll_bytes + spec->view_bytes > RTK_LIVE_POLL_BYTES_MAX)
        return RTK_ETOOBIG;
    s->npolls++;
    s->poll_bytes += spec->view_bytes;
    char id[37];
    rtk_id_uuid4(id);
    rtk_poll *p = poll_new(id, spec->question, spec->opts, spec->nopts, spec->anonymous,
                           spec->hide_votes, spec->created_by, rtk_time_now_ms());
    rtk_live_event ev = {
        .type = RTK_LIVE_EV_POLL_CREATED, .at_ms = p->view.created_ms, .poll = &p->view};
    rtk_live__emit_session(live, m, &ev);
    poll_wait *w = rtk_xcalloc(1, sizeof(*w));
    w->live = live;
    memcpy(w->meeting_id, m->id, sizeof(w->meeting_id));
    memcpy(w->session_id, m->session->id, sizeof(w->session_id));
    w->poll = p;
    w->view_bytes = p->view_bytes = spec->view_bytes;
    w->cb = cb;
    w->arg = arg;
    if (creator != NULL) {
        memcpy(w->creator_participant, creator->participant_id, sizeof(w->creator_participant));
        memcpy(w->creator_peer, creator->peer_id, sizeof(w->creator_peer));
        if (ref != NULL) {
            w->has_ref = 1;
            w->ref_len = ref_len < 64 ? ref_len : 64;
            memcpy(w->ref, ref, w->ref_len);
        }
    }
    rtk_live_event b = {.type = RTK_LIVE_EV_BARRIER, .done = poll_stored, .done_arg = w};
    rtk_live__emit(live, &b);
    return 0;
}

int rtk_live_poll_create(rtk_live *live, const char *meeting_id, const rtk_poll_spec *spec,
                         rtk_live_poll_cb cb, void *arg)
{
    return rtk_live__poll_create(live, rtk_live__meeting(live, meeting_id), spec, NULL, NULL, 0,
                                 cb, arg);
}

void rtk_live_host_poll(rtk_live *live, rtk_peer *peer, const rtk_poll_spec *spec,
                        const char *ref, size_t ref_len)
{
    if (rtk_live__permits(live, peer, RTK_PERM_POLLS_CREATE,
                          "The participant's preset does not allow creating polls", ref,
                          ref_len)) {
        rtk_poll_spec own = *spec;
        own.created_by = peer->participant_id;
        int rc = live->clustered && live->cluster_poll != NULL
                     ? live->cluster_poll(live->cluster_poll_arg, peer->m->id, &own,
                                          peer->participant_id, peer->peer_id, ref, ref_len)
                     : rtk_live__poll_create(live, peer->m, &own, peer, ref, ref_len, NULL, NULL);
        if (rc == RTK_ETOOBIG)
            rtk_live__send_error(live, peer, "invalid_message",
                                 "The live session holds as many polls as it may", ref, ref_len);
        else if (rc != 0)
            rtk_live__send_error(live, peer, "unavailable",
                                 "The session is ending; nothing was created", ref, ref_len);
    }
    rtk_live__drain(live);
}

int rtk_live_polls(rtk_live *live, const char *meeting_id,
                   void (*fn)(void *arg, const rtk_poll_view *poll), void *arg)
{
    rtk_lmeeting *m = rtk_live__meeting(live, meeting_id);
    if (m == NULL || m->session == NULL)
        return RTK_ENOTFOUND;
    for (const rtk_poll *p = m->session->polls; p != NULL; p = p->next)
        fn(arg, &p->view);
    return 0;
}

int rtk_live_poll(rtk_live *live, const char *meeting_id, const char *poll_id,
                  const rtk_poll_view **out)
{
    rtk_lmeeting *m = rtk_live__meeting(live, meeting_id);
    if (m == NULL || m->session == NULL)
        return RTK_ENOTFOUND;
    rtk_poll *p = poll_find(m->session->polls, poll_id);
    if (p == NULL)
        return RTK_ENOTFOUND;
    *out = &p->view;
    return 0;
}

/* ---- votes (channel) ---- */

static void vote_stored(void *arg, int status)
{
    rtk_vote_wait *w = arg;
    rtk_live *live = w->live;
    const char *ref = w->has_ref ? w->ref : NULL;
    rtk_lmeeting *m = rtk_live__meeting(live, w->meeting_id);
    rtk_peer *peer = rtk_map_get(&live->by_participant, w->participant_id);
    if (peer != NULL && strcmp(peer->peer_id, w->peer_id) != 0)
        peer = NULL; /* the participant's peer was replaced: the vote's peer is gone */
    if (m == NULL || m->session == NULL || strcmp(m->session->id, w->session_id) != 0) {
        /* The session ended before the write returned: nobody is left to answer. */
    } else if (status == 0) {
        if (peer != NULL)
            rtk_live__send(live, peer, voted_msg(live, w->poll, w->vote->option), ref, w->ref_len);
        if (live->clustered) { /* the other nodes count it too */
            rtk_live_event ev = {.type = RTK_LIVE_EV_VOTE_STORED,
                                 .poll = &w->poll->view,
                                 .participant_id = w->participant_id,
                                 .option = w->vote->option,
                                 .name = w->vote->name};
            rtk_live__emit_session(live, m, &ev);
        }
    } else {
        int dup = status == RTK_EEXIST;
        remove_vote(w->poll, w->vote);
        if (peer != NULL)
            rtk_live__send_error(live, peer, dup ? "already_voted" : "unavailable",
                                 dup ? "You have already voted in this poll"
                                     : "The vote could not be stored; nothing was counted; "
                                       "try again",
                                 ref, w->ref_len);
    }
    free(w);
    rtk_live__drain(live);
}

void rtk_live_vote(rtk_live *live, rtk_peer *peer, const char *poll_id, int64_t option,
                   const char *ref, size_t ref_len)
{
    rtk_lsession *s = peer->m->session;
    rtk_poll *p = (s && poll_id) ? poll_find(s->polls, poll_id) : NULL;
    if (!rtk_live__permits(live, peer, RTK_PERM_POLLS_VOTE,
                           "The participant's preset does not allow voting", ref, ref_len)) {
        /* answered */
    } else if (p == NULL) {
        rtk_live__send_error(live, peer, "poll_not_found", "No such poll in this session", ref,
                             ref_len);
    } else if (option < 0 || option >= p->view.nopts) {
        rtk_live__send_error(live, peer, "invalid_option",
                             "\"option\" must be a valid 0-based index", ref, ref_len);
    } else if (rtk_map_get(&p->voters, peer->participant_id) != NULL) {
        rtk_live__send_error(live, peer, "already_voted", "You have already voted in this poll",
                             ref, ref_len);
    } else if (s->ending) {
        rtk_live__send_error(live, peer, "unavailable",
                             "The session is ending; nothing was counted", ref, ref_len);
    } else {
        int64_t now = rtk_time_now_ms();
        rtk_vote_wait *w = rtk_xcalloc(1, sizeof(*w));
        w->live = live;
        w->poll = p;
        memcpy(w->meeting_id, peer->m->id, sizeof(w->meeting_id));
        memcpy(w->session_id, s->id, sizeof(w->session_id));
        memcpy(w->participant_id, peer->participant_id, sizeof(w->participant_id));
        memcpy(w->peer_id, peer->peer_id, sizeof(w->peer_id));
        w->vote = add_vote(p, peer->participant_id, (int)option, peer->info->name);
        if (ref != NULL) {
            w->has_ref = 1;
            w->ref_len = ref_len < sizeof(w->ref) ? ref_len : sizeof(w->ref) - 1;
            memcpy(w->ref, ref, w->ref_len);
        }
        p->dirty = 1;
        rtk_live_event ev = {.type = RTK_LIVE_EV_VOTE,
                             .at_ms = now,
                             .poll = &p->view,
                             .participant_id = peer->participant_id,
                             .option = (int)option,
                             .name = peer->info->name,
                             .done = vote_stored,
                             .done_arg = w};
        rtk_live__emit_session(live, peer->m, &ev);
    }
    rtk_live__drain(live);
}

/* |p| has votes its viewers were not told of, and its last poll.updated is UPDATE_MIN_MS old. */
static int update_due(const rtk_poll *p, int64_t now)
{
    return p->dirty && now - p->last_update_ms >= UPDATE_MIN_MS;
}

void rtk_live__polls_tick(rtk_live *live, int64_t now)
{
    size_t it = 0;
    void *v;
    while (rtk_map_next(&live->meetings, &it, NULL, &v)) {
        rtk_lmeeting *m = v;
        if (m->session == NULL)
            continue;
        int64_t gap = rtk_live__audience_gap_ms(live, m);
        if (gap > UPDATE_MIN_MS) {
            /* A large audience: one round per gap, for the poll that has waited longest. */
            if (now - m->last_poll_round_ms < gap)
                continue;
            rtk_poll *due = NULL;
            for (rtk_poll *p = m->session->polls; p != NULL; p = p->next)
                if (update_due(p, now) && (due == NULL || p->last_update_ms < due->last_update_ms))
                    due = p;
            if (due == NULL)
                continue;
            due->dirty = 0;
            due->last_update_ms = m->last_poll_round_ms = now;
            broadcast_update(live, m, due);
            continue;
        }
        for (rtk_poll *p = m->session->polls; p != NULL; p = p->next) {
            if (!update_due(p, now))
                continue;
            p->dirty = 0;
            p->last_update_ms = now;
            broadcast_update(live, m, p);
        }
    }
}

/* ---- cluster mode ---- */

void rtk_live_cluster_poll(rtk_live *live, const char *meeting_id, const char *session_id,
                           const rtk_poll_view *v, size_t view_bytes,
                           const char *creator_participant, const char *creator_peer,
                           const char *ref, size_t ref_len)
{
    rtk_lmeeting *m = rtk_live__meeting(live, meeting_id);
    if (m == NULL || m->session == NULL || strcmp(m->session->id, session_id) != 0 ||
        v->nopts < 1 || poll_find(m->session->polls, v->id) != NULL)
        return;
    rtk_poll *p = poll_new(v->id, v->question, v->opts, v->nopts, v->anonymous, v->hide_votes,
                           v->created_by, v->created_ms);
    p->view_bytes = view_bytes;
    m->session->npolls++;
    m->session->poll_bytes += view_bytes;
    poll_append(m->session, p);
    rtk_peer *creator = creator_participant != NULL
                            ? rtk_live_peer_find(live, creator_participant, creator_peer)
                            : NULL;
    broadcast_created(live, m, p, creator ? creator->peer_id : NULL, ref, ref_len);
    rtk_live__drain(live);
}

void rtk_live_cluster_vote(rtk_live *live, const char *meeting_id, const char *session_id,
                           const char *poll_id, const char *participant_id, int option,
                           const char *name)
{
    rtk_lmeeting *m = rtk_live__meeting(live, meeting_id);
    if (m == NULL || m->session == NULL || strcmp(m->session->id, session_id) != 0)
        return;
    rtk_poll *p = poll_find(m->session->polls, poll_id);
    if (p == NULL || option < 0 || option >= p->view.nopts ||
        rtk_map_get(&p->voters, participant_id) != NULL)
        return;
    add_vote(p, participant_id, option, name);
    p->dirty = 1; /* poll.updated, coalesced as for this node's own votes */
}

/* ---- restoring ---- */

void rtk_live_restore_poll(rtk_live *live, const char *meeting_id, const rtk_poll_view *v,
                           size_t view_bytes)
{
    rtk_lmeeting *m = rtk_live__meeting(live, meeting_id);
    /* (a cluster's share may have heard of it on the bus while it was read) */
    if (m == NULL || m->session == NULL || v->nopts < 1 || poll_find(m->session->polls, v->id))
        return;
    rtk_poll *p = poll_new(v->id, v->question, v->opts, v->nopts, v->anonymous, v->hide_votes,
                           v->created_by, v->created_ms);
    p->view_bytes = view_bytes;
    m->session->npolls++;
    m->session->poll_bytes += view_bytes;
    poll_append(m->session, p);
}

void rtk_live_restore_vote(rtk_live *live, const char *meeting_id, const char *poll_id,
                           const char *participant_id, int option, const char *name)
{
    rtk_lmeeting *m = rtk_live__meeting(live, meeting_id);
    rtk_poll *p = m && m->session ? poll_find(m->session->polls, poll_id) : NULL;
    if (p != NULL && option >= 0 && option < p->view.nopts &&
        rtk_map_get(&p->voters, participant_id) == NULL) {
        add_vote(p, participant_id, option, name);
        p->sent = p->view.nvotes; /* what a restart brings back is in every hello */
    }
}
