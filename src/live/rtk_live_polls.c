/* SPDX-License-Identifier: MIT */
/* rtk_live_polls.c - polls of a live session: creation, votes with durable replies, views.
 *
 * A vote changes memory at once (so a second vote in the same loop turn is already_voted),
 * is written in the loop turn's batch, and its poll.voted reply waits in live->votes_waiting
 * until the group commit returns (rtk_live__commit). Other peers get poll.updated, coalesced
 * per poll to one per 500 ms; each distinct view (hidden, or visible with a given my_vote) is
 * serialised once per update and shared by every peer that sees it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live/rtk_live_int.h"
#include "util/rtk_err.h"
#include "util/rtk_id.h"
#include "util/rtk_time.h"

#define RECENT_VOTERS 20
#define UPDATE_MIN_MS 500

typedef struct rtk_vote {
    char participant_id[37];
    int option;
    char *name; /* the voter's name when it voted, or NULL */
} rtk_vote;

struct rtk_poll {
    rtk_poll *next;
    char id[37];
    char *question;
    char *created_by;
    int64_t created_ms;
    int anonymous;
    int hide_votes;
    int nopts;
    char **opts;
    int64_t *counts;
    rtk_vote **votes; /* in the order cast */
    size_t nvotes, cap;
    rtk_map voters;   /* participant id -> rtk_vote */
    int dirty;        /* votes since the last poll.updated */
    int64_t last_update_ms;
};

typedef struct rtk_vote_wait {
    struct rtk_vote_wait *next;
    rtk_peer *peer; /* NULL once the peer is gone */
    rtk_poll *poll;
    rtk_vote *vote; /* taken back if the commit fails */
    json_t *ref;
} rtk_vote_wait;

/* ---- building and freeing ---- */

static rtk_poll *poll_new(const char *id, const char *question, const char *const *opts,
                          int nopts, int anonymous, int hide_votes, const char *created_by,
                          int64_t created_ms)
{
    rtk_poll *p = rtk_xcalloc(1, sizeof(*p));
    snprintf(p->id, sizeof(p->id), "%s", id);
    p->question = rtk_xstrndup(question, strlen(question));
    p->created_by = created_by ? rtk_xstrndup(created_by, strlen(created_by)) : NULL;
    p->created_ms = created_ms;
    p->anonymous = anonymous;
    p->hide_votes = hide_votes;
    p->nopts = nopts;
    p->opts = rtk_xcalloc((size_t)nopts, sizeof(*p->opts));
    p->counts = rtk_xcalloc((size_t)nopts, sizeof(*p->counts));
    for (int i = 0; i < nopts; i++)
        p->opts[i] = rtk_xstrndup(opts[i], strlen(opts[i]));
    rtk_map_init(&p->voters);
    return p;
}

static void poll_free(rtk_poll *p)
{
    for (int i = 0; i < p->nopts; i++)
        free(p->opts[i]);
    for (size_t i = 0; i < p->nvotes; i++) {
        free(p->votes[i]->name);
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

static void polls_free_list(rtk_poll *p)
{
    while (p != NULL) {
        rtk_poll *next = p->next;
        poll_free(p);
        p = next;
    }
}

void rtk_live__polls_free(rtk_lsession *s)
{
    polls_free_list(s->polls);
    s->polls = NULL;
    s->npolls = 0;
}

static void poll_append(rtk_poll **list, rtk_poll *p)
{
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

static void add_vote(rtk_poll *p, const char *participant_id, int option, const char *name)
{
    rtk_vote *v = rtk_xcalloc(1, sizeof(*v));
    snprintf(v->participant_id, sizeof(v->participant_id), "%s", participant_id);
    v->option = option;
    v->name = name ? rtk_xstrndup(name, strlen(name)) : NULL;
    if (p->nvotes == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->votes = rtk_xrealloc(p->votes, p->cap * sizeof(*p->votes));
    }
    p->votes[p->nvotes++] = v;
    p->counts[option]++;
    rtk_map_put(&p->voters, v->participant_id, v);
}

/* Takes back |v| (a vote whose batch was not stored). */
static void remove_vote(rtk_poll *p, rtk_vote *v)
{
    for (size_t i = p->nvotes; i-- > 0;) {
        if (p->votes[i] == v) {
            memmove(&p->votes[i], &p->votes[i + 1], (p->nvotes - i - 1) * sizeof(*p->votes));
            p->nvotes--;
            break;
        }
    }
    p->counts[v->option]--;
    rtk_map_del(&p->voters, v->participant_id);
    p->dirty = 1;
    free(v->name);
    free(v);
}

/* ---- views (PROTOCOL.md §6) ---- */

static json_t *voter(const rtk_vote *v)
{
    return json_pack("{s:s,s:s?}", "id", v->participant_id, "name", v->name);
}

/* The REST view: full voter lists (empty when anonymous) and who voted. */
static json_t *rest_view(const rtk_poll *p)
{
    json_t *options = json_array(), *voted = json_array();
    json_t **lists = rtk_xcalloc((size_t)p->nopts, sizeof(*lists));
    for (int i = 0; i < p->nopts; i++)
        lists[i] = json_array();
    for (size_t i = 0; i < p->nvotes; i++) {
        json_array_append_new(voted, json_string(p->votes[i]->participant_id));
        if (!p->anonymous)
            json_array_append_new(lists[p->votes[i]->option], voter(p->votes[i]));
    }
    for (int i = 0; i < p->nopts; i++)
        json_array_append_new(options, json_pack("{s:s,s:I,s:o}", "text", p->opts[i], "count",
                                                 (json_int_t)p->counts[i], "votes", lists[i]));
    free(lists);
    char created[25];
    rtk_time_iso(p->created_ms, created);
    return json_pack("{s:s,s:s,s:o,s:b,s:b,s:s?,s:o,s:s}", "id", p->id, "question", p->question,
                     "options", options, "anonymous", p->anonymous, "hide_votes", p->hide_votes,
                     "created_by", p->created_by, "voted", voted, "created_at", created);
}

/* The view of a participant whose vote is |my_vote| (-1: none). */
static json_t *viewer_view(const rtk_poll *p, int my_vote)
{
    int hidden = p->hide_votes && my_vote < 0;
    json_t *options = json_array();
    json_t **lists = rtk_xcalloc((size_t)p->nopts, sizeof(*lists));
    for (int i = 0; i < p->nopts; i++)
        lists[i] = json_array();
    if (!hidden && !p->anonymous) {
        /* The most recent voters of each option, newest first, at most RECENT_VOTERS. */
        int full = 0;
        for (size_t i = p->nvotes; i-- > 0 && full < p->nopts;) {
            json_t *l = lists[p->votes[i]->option];
            if (json_array_size(l) < RECENT_VOTERS) {
                json_array_append_new(l, voter(p->votes[i]));
                if (json_array_size(l) == RECENT_VOTERS)
                    full++;
            }
        }
    }
    for (int i = 0; i < p->nopts; i++) {
        json_t *count = hidden ? json_null() : json_integer(p->counts[i]);
        json_array_append_new(options, json_pack("{s:s,s:o,s:o}", "text", p->opts[i], "count",
                                                 count, "votes", lists[i]));
    }
    free(lists);
    char created[25];
    rtk_time_iso(p->created_ms, created);
    return json_pack("{s:s,s:s,s:o,s:b,s:b,s:s?,s:o,s:o,s:s}", "id", p->id, "question",
                     p->question, "options", options, "anonymous", p->anonymous, "hide_votes",
                     p->hide_votes, "created_by", p->created_by, "my_vote",
                     my_vote < 0 ? json_null() : json_integer(my_vote), "total_votes",
                     hidden ? json_null() : json_integer((json_int_t)p->nvotes), "created_at",
                     created);
}

static int my_vote(const rtk_poll *p, const char *participant_id)
{
    const rtk_vote *v = rtk_map_get(&p->voters, participant_id);
    return v ? v->option : -1;
}

json_t *rtk_live__polls_view_all(rtk_lsession *s, const char *participant_id)
{
    json_t *arr = json_array();
    for (rtk_poll *p = s->polls; p != NULL; p = p->next)
        json_array_append_new(arr, viewer_view(p, my_vote(p, participant_id)));
    return arr;
}

/* Sends |type| with each peer's view of |p| to every peer of |m|, serialising each distinct
 * view once: index 0 hidden, 1 visible without a vote, 2 + k for my_vote k. */
static void broadcast_views(rtk_live *live, rtk_lmeeting *m, rtk_poll *p, const char *type)
{
    size_t nviews = (size_t)p->nopts + 2;
    rtk_frame **cache = rtk_xcalloc(nviews, sizeof(*cache));
    for (rtk_peer *peer = m->peers; peer != NULL; peer = peer->next) {
        int mine = my_vote(p, peer->participant_id);
        size_t k = mine >= 0 ? (size_t)mine + 2 : p->hide_votes ? 0 : 1;
        if (cache[k] == NULL) {
            json_t *msg = json_pack("{s:s,s:o}", "type", type, "poll", viewer_view(p, mine));
            cache[k] = rtk_frame_json(msg);
            json_decref(msg);
        }
        rtk_live__send(live, peer, cache[k]);
    }
    for (size_t i = 0; i < nviews; i++)
        rtk_frame_unref(cache[i]);
    free(cache);
}

/* ---- creation (REST) ---- */

int rtk_live_poll_create(rtk_live *live, const char *meeting_id, const char *question,
                         const char *const *opts, int nopts, int anonymous, int hide_votes,
                         const char *created_by, json_t **rest)
{
    rtk_lmeeting *m = rtk_map_get(&live->meetings, meeting_id);
    if (m == NULL || m->session == NULL)
        return RTK_ENOTFOUND;
    rtk_lsession *s = m->session;
    char id[37];
    rtk_id_uuid4(id);
    int64_t now = rtk_time_now_ms();
    json_t *optj = json_array();
    for (int i = 0; i < nopts; i++)
        json_array_append_new(optj, json_string(opts[i]));
    char *opts_text = json_dumps(optj, JSON_COMPACT);
    json_decref(optj);
    /* Acknowledged write: the caller answers once it is committed. */
    int rc = rtk_db_poll_insert(live->db, id, s->db.id, question, opts_text, anonymous,
                                hide_votes, created_by, now);
    free(opts_text);
    if (rc != 0)
        return rc;
    rtk_poll *p = poll_new(id, question, opts, nopts, anonymous, hide_votes, created_by, now);
    poll_append(&s->polls, p);
    s->npolls++;
    broadcast_views(live, m, p, "poll.created");
    *rest = rest_view(p);
    rtk_live__drain(live);
    return 0;
}

json_t *rtk_live_polls_rest(rtk_live *live, const char *meeting_id)
{
    rtk_lmeeting *m = rtk_map_get(&live->meetings, meeting_id);
    if (m == NULL || m->session == NULL)
        return NULL;
    json_t *arr = json_array();
    for (rtk_poll *p = m->session->polls; p != NULL; p = p->next)
        json_array_append_new(arr, rest_view(p));
    return arr;
}

json_t *rtk_live_poll_rest(rtk_live *live, const char *meeting_id, const char *poll_id)
{
    rtk_lmeeting *m = rtk_map_get(&live->meetings, meeting_id);
    if (m == NULL || m->session == NULL)
        return NULL;
    rtk_poll *p = poll_find(m->session->polls, poll_id);
    return p ? rest_view(p) : NULL;
}

/* ---- votes (channel) ---- */

void rtk_live__poll_vote(rtk_live *live, rtk_peer *peer, json_t *msg, json_t *ref)
{
    rtk_lsession *s = peer->m->session;
    const char *poll_id = json_string_value(json_object_get(msg, "poll_id"));
    rtk_poll *p = (s && poll_id) ? poll_find(s->polls, poll_id) : NULL;
    if (p == NULL) {
        rtk_live__send_error(live, peer, "poll_not_found", "No such poll in this session", ref);
        return;
    }
    json_t *opt = json_object_get(msg, "option");
    if (!json_is_integer(opt) || json_integer_value(opt) < 0 ||
        json_integer_value(opt) >= p->nopts) {
        rtk_live__send_error(live, peer, "invalid_option",
                             "\"option\" must be a valid 0-based index", ref);
        return;
    }
    if (rtk_map_get(&p->voters, peer->participant_id) != NULL) {
        rtk_live__send_error(live, peer, "already_voted",
                             "You have already voted in this poll", ref);
        return;
    }
    int option = (int)json_integer_value(opt);
    if (rtk_db_vote_insert(live->db, p->id, peer->participant_id, option, peer->name,
                           rtk_time_now_ms(), (int64_t)++live->vote_seq) != 0) {
        rtk_live__send_error(live, peer, "unavailable",
                             "The vote could not be stored; try again", ref);
        return;
    }
    add_vote(p, peer->participant_id, option, peer->name);
    live->need_flush = 1;
    p->dirty = 1;
    /* poll.voted waits for the group commit of this loop turn. */
    rtk_vote_wait *w = rtk_xcalloc(1, sizeof(*w));
    w->peer = peer;
    w->poll = p;
    w->vote = rtk_map_get(&p->voters, peer->participant_id);
    w->ref = ref ? json_incref(ref) : NULL;
    *live->votes_tail = w;
    live->votes_tail = &w->next;
}

/* poll.voted replies of one commit, serialised once per (poll, my_vote): every voter of the
 * same option on the same poll sees the same view, so only the "ref" differs. The cached text
 * is the message without its closing brace; each reply appends ,"ref":… and the brace. */
typedef struct voted_view {
    const rtk_poll *poll;
    int option;
    char *prefix;
    size_t len;
} voted_view;

static const voted_view *voted_prefix(voted_view **cache, size_t *n, size_t *cap,
                                      const rtk_poll *p, int option)
{
    for (size_t i = 0; i < *n; i++)
        if ((*cache)[i].poll == p && (*cache)[i].option == option)
            return &(*cache)[i];
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        *cache = rtk_xrealloc(*cache, *cap * sizeof(**cache));
    }
    json_t *msg = json_pack("{s:s,s:o}", "type", "poll.voted", "poll", viewer_view(p, option));
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (text == NULL)
        abort(); /* OOM only: our views are valid UTF-8 */
    voted_view *v = &(*cache)[(*n)++];
    v->poll = p;
    v->option = option;
    v->prefix = text;
    v->len = strlen(text) - 1; /* without the closing '}' */
    return v;
}

void rtk_live__votes_committed(rtk_live *live, int stored)
{
    rtk_vote_wait *w = live->votes_waiting;
    voted_view *cache = NULL;
    size_t ncache = 0, cap = 0;
    live->votes_waiting = NULL;
    live->votes_tail = &live->votes_waiting;
    while (w != NULL) {
        rtk_vote_wait *next = w->next;
        if (!stored) {
            remove_vote(w->poll, w->vote);
            if (w->peer != NULL)
                rtk_live__send_error(live, w->peer, "unavailable",
                           "The vote could not be stored; nothing was counted; try again",
                           w->ref);
        } else if (w->peer != NULL) {
            const voted_view *v = voted_prefix(&cache, &ncache, &cap, w->poll, w->vote->option);
            char *ref = w->ref ? json_dumps(w->ref, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
            const char *parts[4] = {v->prefix, ref ? ",\"ref\":" : "", ref ? ref : "", "}"};
            size_t lens[4] = {v->len, ref ? 7 : 0, ref ? strlen(ref) : 0, 1};
            rtk_frame *f = rtk_frame_text_parts(parts, lens, 4);
            free(ref);
            rtk_live__send(live, w->peer, f);
            rtk_frame_unref(f);
        }
        json_decref(w->ref);
        free(w);
        w = next;
    }
    for (size_t i = 0; cache != NULL && i < ncache; i++)
        free(cache[i].prefix);
    free(cache);
    rtk_live__drain(live);
}

void rtk_live__votes_peer_gone(rtk_live *live, rtk_peer *peer)
{
    for (rtk_vote_wait *w = live->votes_waiting; w != NULL; w = w->next)
        if (w->peer == peer)
            w->peer = NULL;
}

void rtk_live__polls_tick(rtk_live *live, int64_t now)
{
    size_t it = 0;
    void *v;
    while (rtk_map_next(&live->meetings, &it, NULL, &v)) {
        rtk_lmeeting *m = v;
        if (m->session == NULL)
            continue;
        for (rtk_poll *p = m->session->polls; p != NULL; p = p->next) {
            if (!p->dirty || now - p->last_update_ms < UPDATE_MIN_MS)
                continue;
            p->dirty = 0;
            p->last_update_ms = now;
            broadcast_views(live, m, p, "poll.updated");
        }
    }
}

/* ---- loading from the store (restart, history) ---- */

typedef struct load_ctx {
    rtk_poll *list;
} load_ctx;

static void load_poll(void *arg, const rtk_db_poll_row *r)
{
    load_ctx *lc = arg;
    json_t *arr = json_loads(r->options_json, 0, NULL);
    size_t n = json_array_size(arr);
    const char **opts = rtk_xcalloc(n ? n : 1, sizeof(*opts));
    for (size_t i = 0; i < n; i++)
        opts[i] = json_string_value(json_array_get(arr, i));
    if (n > 0)
        poll_append(&lc->list, poll_new(r->id, r->question, opts, (int)n, r->anonymous,
                                        r->hide_votes, r->created_by, r->created_ms));
    free(opts);
    json_decref(arr);
}

static void load_vote(void *arg, const rtk_db_vote_row *v)
{
    load_ctx *lc = arg;
    rtk_poll *p = poll_find(lc->list, v->poll_id);
    if (p != NULL && v->option >= 0 && v->option < p->nopts &&
        rtk_map_get(&p->voters, v->participant_id) == NULL)
        add_vote(p, v->participant_id, v->option, v->name);
}

void rtk_live__polls_restore(rtk_live *live, rtk_lsession *s)
{
    load_ctx lc = {NULL};
    if (rtk_db_polls_load(live->db, s->db.id, load_poll, load_vote, &lc) != 0)
        fprintf(stderr, "rtkd: live: could not load the polls of session %s\n", s->db.id);
    s->polls = lc.list;
    for (rtk_poll *p = s->polls; p != NULL; p = p->next)
        s->npolls++;
}

json_t *rtk_live_session_polls(rtk_live *live, const char *meeting_id, const char *session_id)
{
    rtk_lmeeting *m = rtk_map_get(&live->meetings, meeting_id);
    if (m != NULL && m->session != NULL && strcmp(m->session->db.id, session_id) == 0)
        return rtk_live_polls_rest(live, meeting_id);
    load_ctx lc = {NULL};
    if (rtk_db_polls_load(live->db, session_id, load_poll, load_vote, &lc) != 0)
        return NULL;
    json_t *arr = json_array();
    for (rtk_poll *p = lc.list; p != NULL; p = p->next)
        json_array_append_new(arr, rest_view(p));
    polls_free_list(lc.list);
    return arr;
}
