/* SPDX-License-Identifier: MIT */
/* rtk_live.h - live sessions: meetings in memory, their peers, kicks, polls and votes.
 *
 * Runs on the loop thread and owns all live state (no locks). Live keeps state and decides;
 * it renders nothing and knows no socket, no JSON and no store:
 *   - the channel gives it connected peers and their (already parsed) messages, and live
 *     answers through a transport with messages as data (rtk_live_msg), which the channel
 *     renders into frames;
 *   - the REST API reads sessions and polls as views (structs that borrow live's memory) and
 *     renders them itself;
 *   - what happens is told to subscribers through an event sink (rtk_live_event): persistence
 *     first (it writes each event into the store's batch), webhooks and the cluster's bus
 *     later. Nothing else reaches into live to learn what happened.
 *
 * Session state machine (PROTOCOL.md §3), per meeting:
 *
 *     (none) --first join--> LIVE(peers>0) --last leave--> LIVE(peers=0, keep-alive deadline)
 *                               ^   |                          |           |
 *                               |   +--kick-all--> ENDING --stored--> ENDED <-- deadline
 *                               +--------------join-------------------------+
 *
 *   keep-alive 0 ends the session at the last leave. A kick-all ends it only once the end is
 *   stored: until then the session is ENDING (joins get RTK_EBUSY, votes `unavailable`); if
 *   the store refuses, the session goes on as if nothing had happened. A restart brings every
 *   LIVE session back with no peers and a fresh keep-alive deadline.
 *
 * Acknowledged operations (a vote, a kick, a kick-all, a poll) take effect in memory and on
 * the wire only after the durable subscriber says their writes are committed; votes change
 * the tallies at once (so a second vote in the same turn is `already_voted`) and are taken
 * back if the write fails.
 *
 * Counters are O(1): live peers, peak, the summed time of peers that left (closed_ms) and the
 * summed join times of live peers, so minutes = (closed + live * now - sum_joined) / 60000. */
#ifndef RTK_LIVE_H
#define RTK_LIVE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "auth/rtk_preset.h"

typedef struct rtk_live rtk_live;
typedef struct rtk_peer rtk_peer;

/* ---- views: borrowed from live, valid until live next changes (render them at once) ---- */

typedef struct rtk_session_view {
    const char *id;
    const char *meeting_id;
    const char *app_id;
    const char *title; /* may be NULL */
    int ended;
    int64_t started_ms;
    int64_t updated_ms;
    int64_t ended_ms;  /* 0 while live */
    int64_t seen_ms;   /* last time the server knew the session's peers were there */
    int64_t closed_ms; /* summed connected time of the peers that have left */
    int64_t live;      /* live peers */
    int64_t peak;      /* max_concurrent_participants */
    double minutes;    /* minutes_consumed, up to now */
} rtk_session_view;

typedef struct rtk_vote_view {
    char participant_id[37];
    int option;
    const char *name; /* the voter's name when it voted; may be NULL */
} rtk_vote_view;

typedef struct rtk_poll_view {
    const char *id;
    const char *question;
    const char *created_by; /* may be NULL */
    int64_t created_ms;
    int anonymous;
    int hide_votes;
    int nopts;
    const char *const *opts;
    const int64_t *counts;
    size_t nvotes;
    const rtk_vote_view *const *votes; /* in the order cast */
} rtk_poll_view;

/* A peer as hello's "self", the rosters and the waiting list show it (PROTOCOL.md §4). */
typedef struct rtk_peer_view {
    const char *peer_id;
    const char *participant_id;
    const char *custom_id;
    const char *name;    /* may be NULL */
    const char *picture; /* may be NULL */
    const char *preset;  /* may be NULL */
    int64_t joined_ms;   /* a waiting peer: when it began to wait */
    const char *permissions; /* "self" only: the preset's permissions object, JSON text */
    size_t permissions_len;
    int hidden; /* hidden_participant: never listed to others */
} rtk_peer_view;

/* Listed peers in one frame (a hello's lists, one participants.updated or waiting.updated):
 * at most this many bytes by rtk_live_peer_view_bound. A longer list goes in several. */
#define RTK_LIVE_LIST_BYTES (64 * 1024)
/* The bytes |v| takes in a list as the channel renders it, or more. */
size_t rtk_live_peer_view_bound(const rtk_peer_view *v);

/* ---- messages to peers, as data (the channel renders them) ---- */

enum rtk_live_msg_type {
    RTK_MSG_HELLO,                /* .session, .self, .polls/.my_votes/.npolls, .peers/.npeers
                                   * (with .list), .waiting/.nwaiting (with .accept); .waiting_state:
                                   * a waiting peer's hello (.self only) */
    RTK_MSG_ADMITTED,             /* as RTK_MSG_HELLO, state joined */
    RTK_MSG_REFUSED,              /* (then close 4004) */
    RTK_MSG_SESSION_UPDATED,      /* .session */
    RTK_MSG_PARTICIPANTS_UPDATED, /* .peers/.npeers joined, .left/.nleft */
    RTK_MSG_WAITING_UPDATED,      /* .waiting/.nwaiting joined, .left/.nleft */
    RTK_MSG_POLL_CREATED,         /* .poll, .my_vote (the receiver's viewer view) */
    RTK_MSG_POLL_UPDATED,         /* .poll (counts), .voters/.nvoters since the previous one */
    RTK_MSG_POLL_VOTED,           /* .poll, .my_vote (the voter's); the view when hide_votes */
    RTK_MSG_KICKED,               /* .reason ("kicked" or "kick_all") */
    RTK_MSG_DONE,                 /* .action, .ids/.nids */
    RTK_MSG_PONG,
    RTK_MSG_ERROR, /* .code, .text */
    RTK_MSG_PING   /* a WebSocket ping */
};

typedef struct rtk_live_msg {
    int type;
    int waiting_state; /* hello: the peer waits */
    int list;          /* hello: carries "participants" */
    int accept;        /* hello: carries "waiting" */
    const rtk_session_view *session;
    const rtk_peer_view *self;
    const rtk_poll_view *poll;
    int my_vote;
    const rtk_poll_view *const *polls; /* hello: every poll of the session */
    const int *my_votes;               /* hello: the receiver's vote in each, or -1 */
    size_t npolls;
    const rtk_peer_view *peers; /* hello: listed peers; participants.updated: joined */
    size_t npeers;
    const rtk_peer_view *waiting; /* hello: waiting peers; waiting.updated: joined */
    size_t nwaiting;
    const char *const *left; /* peer ids */
    size_t nleft;
    const rtk_vote_view *const *voters; /* poll.updated: oldest first */
    size_t nvoters;
    const char *action;            /* done */
    const char *const *ids;        /* done: participant ids */
    size_t nids;
    const char *reason;
    const char *code;
    const char *text;
    void *cache; /* the transport's rendering, shared by every send of this message */
} rtk_live_msg;

/* Why a peer is closed by live; also why it left (events). The channel maps each to a close
 * code (PROTOCOL.md §7). */
enum rtk_live_close {
    RTK_LIVE_LEFT = 0, /* the client went (close frame, EOF, error): not a close */
    RTK_LIVE_KICKED,   /* 4001 */
    RTK_LIVE_REPLACED, /* 4002 */
    RTK_LIVE_REMOVED,  /* 4003: participant deleted */
    RTK_LIVE_TIMEOUT,  /* 1001 heartbeat timeout */
    RTK_LIVE_SHUTDOWN, /* 1001 server shutting down */
    RTK_LIVE_SLOW,     /* 1008 slow consumer */
    RTK_LIVE_FLOOD,    /* 1008 rate limit */
    RTK_LIVE_REFUSED,  /* 4004: refused from the waiting room, or its session ended */
    RTK_LIVE_DRAINING, /* 1012: a cluster's node stopping: reconnect at once, to any node */
};

/* How live reaches connections. |conn| is the channel's handle for one peer. */
typedef struct rtk_live_transport {
    /* Queues |msg| for |conn|, with the client's |ref| (|ref_len| bytes, a JSON string's
     * content; NULL: none) spliced in. The transport renders |msg| on its first send into
     * msg->cache and reuses it. Returns 0, or RTK_ETOOBIG when the connection is over its
     * outbound limit or gone: live then drops the peer (RTK_LIVE_SLOW). Never calls back. */
    int (*send)(void *conn, rtk_live_msg *msg, const char *ref, size_t ref_len);
    /* Frees what send cached in |msg| (live calls it once it is done sending |msg|). */
    void (*release)(rtk_live_msg *msg);
    /* Closes |conn| for |why| (a close frame, then the socket). Live has already forgotten
     * the peer: the channel must not call rtk_live_leave for it. Never calls back. */
    void (*close)(void *conn, int why);
} rtk_live_transport;

/* ---- events ---- */

enum rtk_live_event_type {
    RTK_LIVE_EV_SESSION_STARTED, /* .session; .reason RTK_LIVE_STARTED_ELSEWHERE: a cluster's
                                  * session that another node began, now with peers here too */
    RTK_LIVE_EV_SESSION_CHANGED, /* .session: counters or seen_at changed */
    RTK_LIVE_EV_SESSION_ENDED,   /* .session, .reason (RTK_LIVE_END_*); with .all_left every
                                  * peer still open left at .at_ms with it */
    RTK_LIVE_EV_JOINED,          /* .session, .peer */
    RTK_LIVE_EV_LEFT,            /* .session, .peer, .reason (enum rtk_live_close), .at_ms */
    RTK_LIVE_EV_PEERS_LEFT,      /* .session, .reason, .at_ms: every open peer left (shutdown) */
    RTK_LIVE_EV_KICK,            /* .session, .participant_id: may not rejoin this session;
                                  * .reason RTK_LIVE_KICK_REFUSED: refused from its waiting room */
    RTK_LIVE_EV_POLL_CREATED,    /* .session, .poll */
    RTK_LIVE_EV_VOTE,            /* .session, .poll, .participant_id, .option, .name, .at_ms */
    RTK_LIVE_EV_VOTE_STORED,     /* the same, once committed (a cluster tells the other nodes) */
    RTK_LIVE_EV_BARRIER,         /* nothing happened: .done once what came before is durable */
    RTK_LIVE_EV_WAITING,         /* cluster mode: .session (id "" when this node holds none),
                                  * .peer: entered the waiting room here */
    RTK_LIVE_EV_WAIT_OUT,        /* cluster mode: the same, out of it (admitted, refused, gone) */
    RTK_LIVE_EV_LEFT_IN_BULK     /* .session, .peer, .reason, .at_ms: one of the peers that
                                  * leave together, told one by one just before the event that
                                  * records them all (a kick-all's SESSION_ENDED with .all_left,
                                  * a shutdown's PEERS_LEFT); for subscribers that tell peers
                                  * apart (webhooks), never stored by itself */
};

enum rtk_live_end { RTK_LIVE_END_KEEPALIVE = 1, RTK_LIVE_END_KICK_ALL, RTK_LIVE_END_EMPTY };
enum { RTK_LIVE_STARTED_ELSEWHERE = 1 };
enum { RTK_LIVE_KICK_REFUSED = 1 };

typedef struct rtk_live_event {
    int type;
    int reason;
    int all_left;
    int64_t at_ms;
    const rtk_session_view *session;
    const rtk_peer_view *peer;
    const char *participant_id;
    const rtk_poll_view *poll;
    int option;
    const char *name;
    /* Set on events live waits for. Only the durable subscriber sees it: it calls
     * |done|(|done_arg|, status) exactly once, later (never inside the event call), when what
     * it wrote for this event (and everything before it) is committed (0) or lost
     * (RTK_EUNAVAIL), or RTK_EEXIST when a vote met a vote already stored. */
    void (*done)(void *arg, int status);
    void *done_arg;
} rtk_live_event;

typedef void (*rtk_live_sink)(void *arg, const rtk_live_event *ev);

/* ---- lifecycle ---- */

typedef struct rtk_live_config {
    uint64_t heartbeat_ms;   /* ping interval; a peer silent for two is dropped (25000) */
    uint64_t tick_ms;        /* timer granularity for keep-alive ends and coalescing (100) */
    uint64_t update_min_ms;  /* at most one session.updated per meeting per this (1000) */
    uint64_t audience_gap_us; /* large audiences: a meeting's session.updated, and its
                               * poll.updated rounds, at least this × live peers apart (100) */
    double msg_rate;         /* messages per second a peer may send (50; < 0: no limit) */
    double msg_burst;        /* bucket size (100) */
    double msg_excess_close; /* refused messages within the window before 1008 (100) */
} rtk_live_config;

/* Creates the live state on |loop|; |cfg| may be NULL (defaults); |tr| is borrowed and must
 * outlive it. Restore sessions with rtk_live_restore_* before serving. */
int rtk_live_new(uv_loop_t *loop, const rtk_live_config *cfg, const rtk_live_transport *tr,
                 rtk_live **out);

/* Adds a subscriber (at most 4); they are told every event in the order they subscribed.
 * Exactly one must be |durable| (persistence): it alone gets the events' done callbacks. */
void rtk_live_subscribe(rtk_live *live, rtk_live_sink fn, void *arg, int durable);

/* Server shutdown: closes every peer with 1001 (one PEERS_LEFT event per session; sessions
 * stay LIVE) and stops the timer. |cb| runs from the loop once the timer is closed, after
 * which rtk_live_free may be called. */
void rtk_live_shutdown(rtk_live *live, void (*cb)(void *arg), void *arg);
void rtk_live_free(rtk_live *live);

/* The loop turn is over (the loop-turn owner calls it after the store's completions): live
 * releases what it rendered for the turn only (poll.voted replies shared by the voters of one
 * commit). */
void rtk_live_turn_end(rtk_live *live);

/* Restoring at start-up (persistence reads the store): a LIVE session of a meeting whose
 * title is |title| (may be NULL) and keep-alive |keep_alive_s|, with the participants kicked
 * from it; its keep-alive window starts now. Then its polls and their votes, oldest first.
 * A second LIVE session for the same meeting is ignored (returns RTK_EEXIST). */
int rtk_live_restore_session(rtk_live *live, const rtk_session_view *row, const char *title,
                             int64_t keep_alive_s);
void rtk_live_restore_kick(rtk_live *live, const char *session_id, const char *participant_id,
                           int refused);
void rtk_live_restore_poll(rtk_live *live, const char *meeting_id, const rtk_poll_view *poll,
                           size_t view_bytes);
void rtk_live_restore_vote(rtk_live *live, const char *meeting_id, const char *poll_id,
                           const char *participant_id, int option, const char *name);

/* ---- channel side ---- */

/* A poll to create (validated by the caller). Strings are copied. */
typedef struct rtk_poll_spec {
    const char *question;
    const char *const *opts;
    int nopts;
    int anonymous;
    int hide_votes;
    const char *created_by;
    size_t view_bytes; /* an upper bound of the bytes of any view of it (the channel's) */
} rtk_poll_spec;

/* What a joining peer is, read from the store by the handshake. Borrowed during the call. */
typedef struct rtk_join_info {
    const char *app_id;
    const char *meeting_id;
    const char *title; /* may be NULL */
    int64_t keep_alive_s;
    const char *participant_id;
    const char *custom_id;
    const char *name;    /* may be NULL */
    const char *picture; /* may be NULL */
    const char *preset_name;
    rtk_perms perms;         /* the preset's enforced permissions */
    const char *permissions; /* the preset's whole permissions object, JSON text */
    size_t permissions_len;
    /* Cluster mode only (rtk_live_set_clustered): the session the bus agreed on, its start,
     * whether this joiner is its starter (the first to join it at once: then this node
     * tells SESSION_STARTED), and its
     * cluster-wide counters before this join: live, peak, closed_ms, the live peers' summed
     * join times relative to the start, seen_ms (as rtk_live_cluster_counters). */
    const char *session_id;
    int64_t session_started_ms;
    int session_new;
    int session_created; /* this join's handshake created it (nothing to read into a share) */
    int64_t counters[5];
    int admitted; /* admitted from the waiting room once in that session (at any node) */
} rtk_join_info;

/* 0 if |participant_id| may join |meeting_id| now; RTK_EAUTH if it was kicked from the
 * session that is live now, RTK_EEXIST if it was refused from that session's waiting room;
 * RTK_EBUSY while that session is ending (try again). */
int rtk_live_may_join(rtk_live *live, const char *meeting_id, const char *participant_id);

/* Adds a connected peer: replaces (4002) the participant's previous peer (live or waiting);
 * then either puts it in the meeting's waiting room (its preset says it must wait: hello with
 * state "waiting") or starts or continues the session and sends `hello`. Returns the new peer (owned by live), or NULL when the join was
 * refused (rtk_live_may_join) or its hello could not be queued (the connection was closed). */
rtk_peer *rtk_live_join(rtk_live *live, const rtk_join_info *ji, void *conn);

/* The connection of |peer| is gone (peer closed, error, protocol violation): records the
 * leave at now and frees |peer|. */
void rtk_live_leave(rtk_live *live, rtk_peer *peer);

/* Any frame arrived from |peer| (including pongs): it is alive. */
void rtk_live_heard(rtk_live *live, rtk_peer *peer);

/* Flood control for one message from |peer| (PROTOCOL.md §2): 0 to act on it; RTK_EAGAIN
 * when it must be refused with `rate_limited`; RTK_ETOOBIG when the peer kept flooding and
 * was dropped (1008: it is gone, its transport close was called). */
int rtk_live_admit(rtk_live *live, rtk_peer *peer);

/* Client messages (already parsed and validated by the channel). |ref| (|ref_len| bytes) is
 * the client's ref, echoed in the reply; NULL for none. Replies go through the transport. */
void rtk_live_ping(rtk_live *live, rtk_peer *peer, const char *ref, size_t ref_len);
/* A message the channel could not accept (invalid JSON, unknown type...): |peer| gets an
 * `error` with |code| and |text|. */
void rtk_live_reject(rtk_live *live, rtk_peer *peer, const char *code, const char *text,
                     const char *ref, size_t ref_len);
void rtk_live_vote(rtk_live *live, rtk_peer *peer, const char *poll_id, int64_t option,
                   const char *ref, size_t ref_len);

/* Host actions (PROTOCOL.md §5). Each checks the peer's permissions (error `forbidden`),
 * acts, and answers `done` (or the poll.created of a poll.create) once what it did is
 * durable, or `unavailable`. */
/* poll.create: |spec| validated by the channel; created_by is the peer's participant. */
void rtk_live_host_poll(rtk_live *live, rtk_peer *peer, const rtk_poll_spec *spec,
                        const char *ref, size_t ref_len);
/* session.kick_all: the sender's done goes out before its kicked. */
void rtk_live_host_kick_all(rtk_live *live, rtk_peer *peer, const char *ref, size_t ref_len);
/* waiting.admit (|admit| 1) / waiting.refuse (0) of the waiting peers of |ids|; others are
 * ignored. */
void rtk_live_host_waiting(rtk_live *live, rtk_peer *peer, int admit, const char *const *ids,
                           size_t n, const char *ref, size_t ref_len);
/* participant.kick needs the store to resolve ids (the API layer does it): 1 if |peer| may
 * kick; else it was answered `forbidden` and 0 is returned. */
int rtk_live_may_kick(rtk_live *live, rtk_peer *peer, const char *ref, size_t ref_len);

/* A peer named by its ids, for answering it after an asynchronous step: NULL when it is gone
 * (left, or replaced by a newer peer of its participant). */
rtk_peer *rtk_live_peer_find(rtk_live *live, const char *participant_id, const char *peer_id);
const char *rtk_live_peer_id(const rtk_peer *peer);
const char *rtk_live_peer_participant(const rtk_peer *peer);
const char *rtk_live_peer_meeting(const rtk_peer *peer);
/* Sends `done` for |action| listing |ids| to |peer|, with its |ref|. */
void rtk_live_send_done(rtk_live *live, rtk_peer *peer, const char *action,
                        const char *const *ids, size_t n, const char *ref, size_t ref_len);
/* The same for |n| ids kept in rows of |stride| bytes from |rows| (char ids[n][stride]). */
void rtk_live_send_done_rows(rtk_live *live, rtk_peer *peer, const char *action,
                             const char *rows, size_t stride, size_t n, const char *ref,
                             size_t ref_len);

/* ---- API side ---- */

/* The live session of |meeting_id|: 0 and *out filled (borrowed), or RTK_ENOTFOUND. */
int rtk_live_session(rtk_live *live, const char *meeting_id, rtk_session_view *out);

/* 1 and *out filled with the live counters when |session_id| is the live session of
 * |meeting_id|, else 0. */
int rtk_live_session_if_live(rtk_live *live, const char *meeting_id, const char *session_id,
                             rtk_session_view *out);

/* Kicks |n| participants from the live session of |meeting_id| (PROTOCOL.md §3). Once the
 * kicks are stored, each participant is barred from the session, live and waiting ones get
 * `kicked` and close 4001, and |cb|(|arg|, 0, was_live) runs with was_live[i] telling which
 * had a live peer (1) or a waiting one (2); if the store refused, nothing happened and |cb| gets RTK_EUNAVAIL (was_live NULL).
 * Returns 0 (|cb| will run), or RTK_ENOTFOUND (no live session) / RTK_EBUSY (the session is
 * ending), and then |cb| never runs. |ids| are copied. */
typedef void (*rtk_live_kick_cb)(void *arg, int status, const int *was_live);
int rtk_live_kick(rtk_live *live, const char *meeting_id, const char *const *ids, size_t n,
                  rtk_live_kick_cb cb, void *arg);

/* Kicks every peer and ends the session, once the end is stored: |cb|(|arg|, 0, count of
 * peers kicked), or RTK_EUNAVAIL (the session goes on). Returns 0, RTK_ENOTFOUND or
 * RTK_EBUSY as rtk_live_kick. */
typedef void (*rtk_live_count_cb)(void *arg, int status, int64_t count);
int rtk_live_kick_all(rtk_live *live, const char *meeting_id, rtk_live_count_cb cb, void *arg);

/* Polls of one session, so that its hello (which carries every poll) fits the per-peer
 * limit by construction: at most RTK_LIVE_POLLS_MAX of them, whose views take at most
 * RTK_LIVE_POLL_BYTES_MAX together (each poll's bound is rtk_poll_spec.view_bytes). */
#define RTK_LIVE_POLLS_MAX 100
#define RTK_LIVE_POLL_BYTES_MAX (768 * 1024)

/* A new poll for the live session of |meeting_id| (validated by the caller). Once it is
 * stored it joins the session, every peer gets poll.created, and |cb|(|arg|, 0, poll) runs
 * (the view is borrowed during the call); RTK_EUNAVAIL when the store refused (no poll).
 * Returns 0, RTK_ENOTFOUND or RTK_EBUSY as rtk_live_kick, or RTK_ETOOBIG when the session
 * holds as many polls as it may. Strings are copied. */
typedef void (*rtk_live_poll_cb)(void *arg, int status, const rtk_poll_view *poll);
int rtk_live_poll_create(rtk_live *live, const char *meeting_id, const rtk_poll_spec *spec,
                         rtk_live_poll_cb cb, void *arg);

/* The polls of the live session of |meeting_id|: calls |fn| for each, oldest first, and
 * returns 0; RTK_ENOTFOUND when no session is live. */
int rtk_live_polls(rtk_live *live, const char *meeting_id,
                   void (*fn)(void *arg, const rtk_poll_view *poll), void *arg);
/* One poll: 0 and *out (borrowed); RTK_ENOTFOUND (no live session or no such poll). */
int rtk_live_poll(rtk_live *live, const char *meeting_id, const char *poll_id,
                  const rtk_poll_view **out);

/* The participant was deleted (and that is stored): its live peer closes with 4003. */
void rtk_live_participant_deleted(rtk_live *live, const char *participant_id);

/* The meeting changed (title, keep-alive), and that is stored. */
void rtk_live_meeting_changed(rtk_live *live, const char *meeting_id, const char *title,
                              int64_t keep_alive_s);

/* The app of |meeting_id| when live state knows the meeting (it has a session or peers),
 * else NULL. Borrowed. Lets hot reads skip the store. */
const char *rtk_live_meeting_app(rtk_live *live, const char *meeting_id);

/* 1 if |participant_id| has a live peer. */
int rtk_live_participant_is_live(rtk_live *live, const char *participant_id);

/* Live peers in |meeting_id| (0 when none). */
int64_t rtk_live_meeting_peers(rtk_live *live, const char *meeting_id);

/* ---- cluster mode (rtk_cluster drives these; CLUSTER.md) ----
 * A session spans nodes: what live holds of it here is this node's share (its peers, their
 * lists) plus the cluster-wide counters the bus last told. A session's life is decided by
 * the bus: a session without local peers is forgotten here quietly (it goes on elsewhere);
 * ends come from rtk_live_cluster_ended; no keep-alive deadline runs here; a shutdown tells
 * one LEFT per peer (not PEERS_LEFT, which would close other nodes' peers in the store). */
void rtk_live_set_clustered(rtk_live *live, int on);
/* The cluster-wide counters of session |session_id| of |meeting_id| (live, peak, closed_ms,
 * sum_joined relative to started_ms in .minutes' place: see rtk_cluster.c), as the bus told
 * them: hello and session.updated show them from now on. Ignored for another session. */
void rtk_live_cluster_counters(rtk_live *live, const char *meeting_id, const char *session_id,
                               int64_t n_live, int64_t peak, int64_t closed_ms,
                               int64_t sum_joined_rel, int64_t seen_ms);
/* The cluster ended session |v| (its final view). With |emit| this node tells subscribers
 * SESSION_ENDED (the one node that decided it); the session's peers here are closed (4004 for
 * waiting ones; live ones 4004, or `kicked` and 4001 when |reason| is a kick-all). */
void rtk_live_cluster_ended(rtk_live *live, const rtk_session_view *v, int reason, int emit);
/* A peer of another node left (that node died): subscribers are told LEFT for it. */
void rtk_live_cluster_left(rtk_live *live, const rtk_session_view *s, const rtk_peer_view *p,
                           int64_t at_ms);
/* Closes the peer |peer_id| of |participant_id| for |why| if it is connected here (another
 * node's newer peer replaced it: RTK_LIVE_REPLACED; a kick decided at any node:
 * RTK_LIVE_KICKED, after a `kicked` message). 1 if it was here. */
int rtk_live_cluster_close(rtk_live *live, const char *participant_id, const char *peer_id,
                           int why);
/* Tells subscribers |ev| (.session set by the caller) about a session this node may hold no
 * share of: the kicks and kick-alls a node decides for the whole cluster are stored (and
 * their webhooks sent) through this node's persistence. |ev->done| as for live's own. */
void rtk_live_cluster_tell(rtk_live *live, rtk_live_event *ev);

/* Cluster mode: a share of the cluster's session |session_id| of the meeting, made here
 * before this node's first peer of it joins (so that what the session already holds, its
 * lists, polls and votes, can be put into it first; rtk_live_join then continues it). The
 * meeting is as rtk_join_info says. SESSION_STARTED (RTK_LIVE_STARTED_ELSEWHERE) is told when
 * a peer of it first joins here. The share is kept until rtk_live_cluster_share_done, even
 * without peers. */
void rtk_live_cluster_share(rtk_live *live, const rtk_join_info *ji);
/* ... |loaded|: what it held was read into it (later joins need not read it again). */
void rtk_live_cluster_share_done(rtk_live *live, const char *meeting_id, const char *session_id,
                                 int loaded);
/* 1 if this node holds a share of |ji|'s session with what it held read into it, the lists
 * |ji|'s peer sees included (a node keeps the other nodes' listed and waiting peers only while
 * a peer of it sees them). */
int rtk_live_cluster_share_ready(rtk_live *live, const rtk_join_info *ji);
/* 1 if this node keeps the other nodes' listed (|waiting| 0) or waiting (1) peers of the
 * meeting: their news is worth reading. */
int rtk_live_cluster_mirrors(rtk_live *live, const char *meeting_id, int waiting);
/* Cluster mode: another node's listed live peer (|waiting| 0) or waiting peer (1) of session
 * |session_id|, as the bus told it: it joins this node's lists (participants.updated,
 * waiting.updated, hellos) if this node holds a share of that session and not this peer yet. */
void rtk_live_cluster_listed(rtk_live *live, const char *meeting_id, const char *session_id,
                             int waiting, const rtk_peer_view *v);
/* ... and goes from them. */
void rtk_live_cluster_unlisted(rtk_live *live, const char *meeting_id, const char *peer_id);
/* The cluster decided that this node's waiting peer |peer_id| is admitted (|admit| 1: it
 * joins, `admitted`) or refused (`refused`, 4004; the deciding node stored it). 1 if it was
 * here and waiting. */
int rtk_live_cluster_decide(rtk_live *live, const char *participant_id, const char *peer_id,
                            int admit);
/* What the cluster does for a host's waiting.admit / waiting.refuse in cluster mode (the
 * waiting room is the cluster's): 0, or the bus is down (live answers `unavailable`). The
 * cluster answers the host (`done`, or an error) itself. */
typedef int (*rtk_live_cluster_wait_fn)(void *arg, const char *meeting_id,
                                        const char *session_id, int admit,
                                        const char *const *ids, size_t n,
                                        const char *host_participant, const char *host_peer,
                                        const char *ref, size_t ref_len);
void rtk_live_set_cluster_wait(rtk_live *live, rtk_live_cluster_wait_fn fn, void *arg);
/* |fn| is told when this node starts (|on| 1) and stops keeping any of the other nodes' lists
 * of a meeting (rtk_live_cluster_mirrors): the cluster listens to the lists' news meanwhile. */
void rtk_live_set_cluster_mirror(rtk_live *live, void (*fn)(void *arg, const char *meeting_id,
                                                            int on),
                                 void *arg);
/* What the cluster does for a host's poll.create in cluster mode (the poll is the cluster's:
 * stored, then told to every node): 0, or an error live answers the creator with. */
typedef int (*rtk_live_cluster_poll_fn)(void *arg, const char *meeting_id,
                                        const rtk_poll_spec *spec, const char *creator_participant,
                                        const char *creator_peer, const char *ref,
                                        size_t ref_len);
void rtk_live_set_cluster_poll(rtk_live *live, rtk_live_cluster_poll_fn fn, void *arg);
/* ... and for a host's session.kick_all (the sender, answered `done` before its `kicked`). */
typedef int (*rtk_live_cluster_kick_all_fn)(void *arg, const char *meeting_id,
                                            const char *sender_participant,
                                            const char *sender_peer, const char *ref,
                                            size_t ref_len);
void rtk_live_set_cluster_kick_all(rtk_live *live, rtk_live_cluster_kick_all_fn fn, void *arg);
/* A poll the cluster stored joins this node's share of |session_id| if it holds one and not
 * this poll yet: its peers get poll.created; the creator's peer, when here, gets it with its
 * |ref|. */
void rtk_live_cluster_poll(rtk_live *live, const char *meeting_id, const char *session_id,
                           const rtk_poll_view *v, size_t view_bytes,
                           const char *creator_participant, const char *creator_peer,
                           const char *ref, size_t ref_len);
/* A vote stored at another node is counted here (poll.updated follows, coalesced). */
void rtk_live_cluster_vote(rtk_live *live, const char *meeting_id, const char *session_id,
                           const char *poll_id, const char *participant_id, int option,
                           const char *name);

/* Every live peer here, for republishing them on the bus: |fn| gets each with its meeting's
 * session (whose counters are this node's share). The callee must not change live. */
void rtk_live_each_peer(rtk_live *live,
                        void (*fn)(void *arg, const rtk_session_view *s, const rtk_peer_view *p),
                        void *arg);
/* The same for every waiting peer here whose meeting has a share of a session. */
void rtk_live_each_waiting(rtk_live *live,
                           void (*fn)(void *arg, const rtk_session_view *s,
                                      const rtk_peer_view *p),
                           void *arg);

/* What /metrics shows of live state. */
typedef struct rtk_live_stats {
    int64_t peers_live;          /* peers in a meeting's session */
    int64_t peers_waiting;       /* peers in a waiting room */
    int64_t sessions_live;       /* sessions not ended (with or without peers; ending ones too) */
    int64_t meetings_with_peers; /* meetings with at least one live peer */
} rtk_live_stats;

/* Fills *out. Walks the meetings live state knows (O(meetings), no allocation): for a
 * metrics scrape, not for a hot path. */
void rtk_live_stats_get(rtk_live *live, rtk_live_stats *out);

/* Counters for tests and benchmarks. */
size_t rtk_live_peer_count(const rtk_live *live);
size_t rtk_live_peer_size(void);

#endif
