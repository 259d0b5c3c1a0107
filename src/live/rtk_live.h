/* SPDX-License-Identifier: MIT */
/* rtk_live.h - live sessions: meetings in memory, their peers, kicks, and the events peers get.
 *
 * Runs on the loop thread and owns all live state (no locks). The channel (net side) gives it
 * connected peers and their messages; the REST API reads sessions and acts on them. Events
 * go back to peers through a narrow transport: "send this prepared frame to this connection",
 * "close this connection with this code".
 *
 * Session state machine (PROTOCOL.md §3), per meeting:
 *
 *     (none) --first join--> LIVE(peers>0) --last leave--> LIVE(peers=0, keep-alive deadline)
 *                               ^   |                          |           |
 *                               |   +--kick-all--> ENDED <-----+ deadline  |
 *                               +--------------join-------------------------+
 *
 *   keep-alive 0 ends the session at the last leave; kick-all ends it at once, from either
 *   LIVE state. A restart brings every LIVE session back with no peers and a fresh deadline.
 *
 * Counters are O(1): live peers, peak, the summed time of peers that left (closed_ms) and the
 * summed join times of live peers, so minutes = (closed + live * now - sum_joined) / 60000. */
#ifndef RTK_LIVE_H
#define RTK_LIVE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "live/rtk_frame.h"
#include "store/rtk_db.h"

struct json_t;

typedef struct rtk_live rtk_live;
typedef struct rtk_peer rtk_peer;

/* How live reaches connections. |conn| is the channel's handle for one peer. */
typedef struct rtk_live_transport {
    /* Queues |f| (the callee takes its own reference). Returns 0, or -1 when the connection
     * is over its outbound limit or gone: live then drops the peer with 1008. Must not call
     * back into live. */
    int (*send)(void *conn, rtk_frame *f);
    /* Sends a close frame with |code| and |reason| and closes. Live has already forgotten
     * the peer: the channel must not call rtk_live_leave for it. Must not call back. */
    void (*close)(void *conn, uint16_t code, const char *reason);
    /* Optional: writes out what send queued (the transport may hold frames until the end of
     * the loop turn). Live calls it after each group commit. May be NULL. */
    void (*flush)(void);
} rtk_live_transport;

typedef struct rtk_live_config {
    uint64_t heartbeat_ms;   /* ping interval; a peer silent for two is dropped (25000) */
    uint64_t tick_ms;        /* timer granularity for keep-alive ends and coalescing (100) */
    uint64_t update_min_ms;  /* at most one session.updated per meeting per this (1000) */
    double msg_rate;         /* messages per second a peer may send (50; < 0: no limit) */
    double msg_burst;        /* bucket size (100) */
    double msg_excess_close; /* refused messages within the window before 1008 (100) */
} rtk_live_config;

/* Creates the live state on |loop|, restoring every LIVE session from |db| (keep-alive
 * windows start now). |tr| and |db| are borrowed and must outlive it. Errors: RTK_EDB. */
int rtk_live_new(uv_loop_t *loop, rtk_db *db, const rtk_live_config *cfg,
                 const rtk_live_transport *tr, rtk_live **out);

/* Server shutdown: closes every peer with 1001 (recording its leave), keeps sessions LIVE in
 * the store, stops timers. |cb| runs from the loop once the timer handle is closed, after
 * which rtk_live_free may be called. */
void rtk_live_shutdown(rtk_live *live, void (*cb)(void *arg), void *arg);
void rtk_live_free(rtk_live *live);

/* --- channel side --- */

/* What a joining peer is, read from the store by the handshake. Borrowed during the call. */
typedef struct rtk_join_info {
    const char *app_id;
    const char *meeting_id;
    const char *title;          /* may be NULL */
    int64_t keep_alive_s;
    const char *participant_id;
    const char *custom_id;
    const char *name;           /* may be NULL */
    const char *preset_name;
} rtk_join_info;

/* 0 if |participant_id| may join |meeting_id| now; RTK_EPERM-like RTK_EAUTH if it was kicked
 * from the session that is live now. */
int rtk_live_may_join(rtk_live *live, const char *meeting_id, const char *participant_id);

/* Adds a connected peer: replaces (4002) the participant's previous peer, starts or continues
 * the session, sends `hello`. Returns the new peer (owned by live). */
rtk_peer *rtk_live_join(rtk_live *live, const rtk_join_info *ji, void *conn);

/* The connection of |peer| is gone (peer closed, error, protocol violation): records the
 * leave at now and frees |peer|. */
void rtk_live_leave(rtk_live *live, rtk_peer *peer);

/* Any frame arrived from |peer| (including pongs): it is alive. */
void rtk_live_heard(rtk_live *live, rtk_peer *peer);

/* A complete text message from |peer|. May drop the peer (rate limit): returns -1 then, and
 * the peer is gone (the transport's close was called). */
int rtk_live_message(rtk_live *live, rtk_peer *peer, const char *text, size_t len);

/* --- API side --- */

/* The live session of |meeting_id| as the REST object (new reference), or NULL if none. */
struct json_t *rtk_live_session_json(rtk_live *live, const char *meeting_id);

/* The whole REST answer {"success":true,"data":<session>} for the live session of
 * |meeting_id|, written into buf[cap] without allocating (the hot GET). Returns its length, 0
 * when no session is live, -1 when it does not fit. */
int rtk_live_session_reply(rtk_live *live, const char *meeting_id, char *buf, size_t cap);

/* 1 if |meeting_id| has a live session. */
int rtk_live_has_session(rtk_live *live, const char *meeting_id);

/* The same object for a stored session, merging live counters when it is the live one. */
struct json_t *rtk_live_session_json_db(rtk_live *live, const rtk_db_session *s);

/* Kicks |n| participants from the live session of |meeting_id|: each cannot rejoin it; the
 * live ones get `kicked` and close 4001. was_live[i] tells which had a live peer. The kicks
 * are written in the current batch: the caller flushes before replying.
 * Returns 0, or RTK_ENOTFOUND when no session is live. */
int rtk_live_kick(rtk_live *live, const char *meeting_id, const char *const *participant_ids,
                  size_t n, int *was_live);

/* Kicks every peer and ends the session. *count = peers kicked. 0 or RTK_ENOTFOUND. */
int rtk_live_kick_all(rtk_live *live, const char *meeting_id, int64_t *count);

/* Creates a poll in the live session of |meeting_id| (stored and committed before it
 * returns), sends poll.created to every live peer, and returns the REST view in *rest.
 * 0, RTK_ENOTFOUND (no live session), RTK_EDB. */
int rtk_live_poll_create(rtk_live *live, const char *meeting_id, const char *question,
                         const char *const *opts, int nopts, int anonymous, int hide_votes,
                         const char *created_by, struct json_t **rest);
/* REST views (full voter lists): every poll of the live session (NULL if none is live), or
 * one poll (NULL if no session is live or no such poll). New references. */
struct json_t *rtk_live_polls_rest(rtk_live *live, const char *meeting_id);
struct json_t *rtk_live_poll_rest(rtk_live *live, const char *meeting_id, const char *poll_id);
/* REST views of the polls of any session, live or stored. New reference, NULL on error. */
struct json_t *rtk_live_session_polls(rtk_live *live, const char *meeting_id,
                                      const char *session_id);

/* The participant was deleted: its live peer (if any) closes with 4003. */
void rtk_live_participant_deleted(rtk_live *live, const char *participant_id);

/* The meeting changed (title, status, keep-alive). */
void rtk_live_meeting_changed(rtk_live *live, const char *meeting_id, const char *title,
                              int64_t keep_alive_s);

/* The app of |meeting_id| when live state knows the meeting (it has a session or peers),
 * else NULL. Borrowed. Lets hot reads skip the store. */
const char *rtk_live_meeting_app(rtk_live *live, const char *meeting_id);

/* 1 if |participant_id| has a live peer. */
int rtk_live_participant_is_live(rtk_live *live, const char *participant_id);

/* Live peers in |meeting_id| (0 when none). */
int64_t rtk_live_meeting_peers(rtk_live *live, const char *meeting_id);

/* Counters for tests and benchmarks. */
size_t rtk_live_peer_count(const rtk_live *live);
size_t rtk_live_peer_size(void);

#endif
