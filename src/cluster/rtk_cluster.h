/* SPDX-License-Identifier: MIT */
/* rtk_cluster.h - several rtkd nodes serving the same meetings (CLUSTER.md), over the bus.
 *
 * Redis holds what is live, changed only by Lua scripts so that joins, replaces and leaves at
 * different nodes cannot interleave badly (rtk_cluster.c lists the keys):
 *   - per meeting: its live session (id, start, keep-alive, cluster-wide counters), the
 *     participant -> node/peer map, the kicked set;
 *   - per node: a lease (the time it last renewed it) and the set of its peers;
 *   - the sessions left without peers, by the time their keep-alive runs out.
 * The cluster is live's subscriber (joins and leaves at this node go to Redis) and drives
 * live's cluster mode (counters told by the bus, sessions ended by the bus, peers replaced or
 * retired from other nodes). PostgreSQL stays the durable record: every node writes what it
 * did through persistence, as a single node does. */
#ifndef RTK_CLUSTER_H
#define RTK_CLUSTER_H

#include <stdint.h>
#include <uv.h>

#include "live/rtk_live.h"
#include "store/rtk_store.h"

typedef struct rtk_cluster rtk_cluster;

typedef struct rtk_cluster_config {
    const char *bus_url; /* redis://HOST:PORT[/DB] */
    const char *node_id; /* this node's name on the bus */
    uint64_t lease_ms;   /* a node silent this long is dead and its peers leave (5000) */
} rtk_cluster_config;

/* Creates the cluster on |loop| over |live| (which it subscribes to and puts in cluster
 * mode) and starts connecting. 0, or RTK_EINVAL for a bad bus URL. */
int rtk_cluster_new(uv_loop_t *loop, const rtk_cluster_config *cfg, rtk_live *live,
                    rtk_cluster **out);

/* 1 while the bus is up: joins and live operations need it (503 otherwise). */
int rtk_cluster_up(const rtk_cluster *c);
const char *rtk_cluster_node(const rtk_cluster *c);

/* A joining participant's session, agreed cluster-wide before its hello: the meeting's live
 * session, created now (|created|) when it has none. */
typedef struct rtk_cluster_sess {
    char id[37];
    int64_t started_ms;
    int created;
    int kicked;          /* the participant was kicked from it: 403 */
    int refused;         /* ... or refused from its waiting room: 403 */
    int admitted;        /* ... or admitted from it once (SKIP_ON_ACCEPT skips the wait) */
    int starter;         /* the first to join it at once: this node tells it started */
    int64_t counters[5]; /* as rtk_join_info.counters */
} rtk_cluster_sess;
typedef void (*rtk_cluster_session_cb)(void *arg, int status, const rtk_cluster_sess *s);
/* 0 (|cb| runs later with 0 or RTK_EUNAVAIL), or RTK_EUNAVAIL at once when the bus is down. */
/* |waiting|: the joiner's waiting_room_type (rtk_perms.waiting). */
int rtk_cluster_session(rtk_cluster *c, const char *app_id, const char *meeting_id,
                        const char *title, const char *participant_id, int64_t keep_alive_s,
                        int waiting, rtk_cluster_session_cb cb, void *arg);

/* The live session of |meeting_id| with the cluster-wide counters: |cb| gets 0 and the view
 * (title NULL: the caller knows the meeting), RTK_ENOTFOUND, or RTK_EUNAVAIL. Returns 0 or
 * RTK_EUNAVAIL (bus down: |cb| never runs). */
typedef void (*rtk_cluster_view_cb)(void *arg, int status, const rtk_session_view *v);
int rtk_cluster_active(rtk_cluster *c, const char *meeting_id, rtk_cluster_view_cb cb, void *arg);

/* Kicks |n| participants (ids of the meeting's participants, resolved by the caller) from
 * the meeting's live session at every node: stored first (as a single node's kick), then
 * barred cluster-wide, then their live peers are closed (4001) wherever they are; |cb| runs
 * once the nodes that had them said they closed them (or 2 s passed: a silent node is being
 * retired by its lease), with was_live[i] 1 for those that had a live peer (2: a waiting
 * one). Status 0,
 * RTK_ENOTFOUND (no live session: nothing done) or RTK_EUNAVAIL (the store or the bus
 * failed: nobody was kicked unless the bus failed after the store). |ids| are copied. */
typedef void (*rtk_cluster_kick_cb)(void *arg, int status, const int *was_live);
/* |answer_last|: |cb| runs after this node's own kicked peers are closed and their frames
 * written (a REST call: "closed before the reply"); else before them (a host on the channel
 * may have kicked itself, and hears `done` first). */
int rtk_cluster_kick(rtk_cluster *c, const char *meeting_id, const char *const *ids, size_t n,
                     int answer_last, rtk_cluster_kick_cb cb, void *arg);
/* Kick-all: the session's end is stored, then it ends at every node (peers get `kicked` and
 * 4001); |cb| gets the number of live peers it had, as rtk_cluster_kick. */
typedef void (*rtk_cluster_count_cb)(void *arg, int status, int64_t count);
int rtk_cluster_kick_all(rtk_cluster *c, const char *meeting_id, rtk_cluster_count_cb cb,
                         void *arg);

/* A poll for the meeting's live session, for the whole cluster (validated by the caller):
 * a place in the session's poll limits is taken in Redis, the poll is stored, then every node
 * with peers in the session shows it (poll.created). REST: |cb| gets 0 and the view (borrowed
 * during the call), RTK_ENOTFOUND (no live session), RTK_ETOOBIG (as many polls as it may)
 * or RTK_EUNAVAIL. A host's poll.create (|cb| NULL): the creator's peer gets poll.created
 * with its |ref|, or the error. Returns 0, RTK_ETOOBIG (too big for any session) or
 * RTK_EUNAVAIL (bus down: nothing runs later). */
typedef void (*rtk_cluster_poll_cb)(void *arg, int status, const rtk_poll_view *poll);
int rtk_cluster_poll_create(rtk_cluster *c, const char *meeting_id, const rtk_poll_spec *spec,
                            const char *creator_participant, const char *creator_peer,
                            const char *ref, size_t ref_len, rtk_cluster_poll_cb cb, void *arg);
/* The polls (and votes) of the meeting's live session, from the store, as
 * rtk_store_polls_load answers; RTK_ENOTFOUND with no live session, RTK_EUNAVAIL. Returns 0
 * or RTK_EUNAVAIL (bus down: |cb| never runs). */
int rtk_cluster_polls(rtk_cluster *c, rtk_store *st, const char *meeting_id, rtk_store_cb cb,
                      void *arg);

/* This node's first share of |session_id| (rtk_live_cluster_share made it): the channels of
 * the meeting are held and, once Redis confirmed them (what is published from then on is
 * heard), the other nodes' listed and waiting peers are put into the share; |cb| gets 0 or
 * RTK_EUNAVAIL (it may run inside this call). Returns 0, or RTK_EUNAVAIL (bus down: |cb|
 * never runs). Either way rtk_cluster_share_end follows, once the joining peer joined (or
 * failed to). */
int rtk_cluster_share_load(rtk_cluster *c, const char *meeting_id, const char *session_id,
                           void (*cb)(void *arg, int status), void *arg);
void rtk_cluster_share_end(rtk_cluster *c, const char *meeting_id, const char *session_id,
                           int loaded);

/* Webhooks of |app_id| were written here (their write committed): every other node rereads
 * which events that app's webhooks want, before their next event. */
void rtk_cluster_hooks_changed(rtk_cluster *c, const char *app_id);
/* What another node's webhook write (or, with NULL, a bus outage that may have hidden some)
 * means here: |fn| rereads (rtk_hook_app_changed). */
void rtk_cluster_on_hooks(rtk_cluster *c, void (*fn)(void *arg, const char *app_id), void *arg);

/* The webhook sender's lease (one node of the cluster sends the outbox, so that each
 * meeting's deliveries go in order): |fn| is told when this node takes it (1) or loses it
 * (0: it could not renew it, or it stops); it starts without it. */
void rtk_cluster_on_sender(rtk_cluster *c, void (*fn)(void *arg, int on), void *arg);

/* Shutdown, after live's: this node's lease is given up (the other nodes need not wait for
 * it to run out) once its peers' leaves are through, then the bus and the timer close and the
 * cluster frees itself on the loop. */
void rtk_cluster_stop(rtk_cluster *c);

#endif
