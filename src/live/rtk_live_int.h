/* SPDX-License-Identifier: MIT */
/* rtk_live_int.h - private structures of the live layer, shared by its .c files. */
#ifndef RTK_LIVE_INT_H
#define RTK_LIVE_INT_H

#include "live/rtk_live.h"
#include "util/rtk_map.h"
#include "util/rtk_slab.h"

typedef struct rtk_lmeeting rtk_lmeeting;
typedef struct rtk_poll rtk_poll;

#define RTK_LIVE_MAX_SINKS 4

/* A preset as peers hold it: interned (one per distinct name and permissions), counted. */
typedef struct rtk_lpreset {
    char *key; /* name, '\n', permissions: the intern map's key */
    const char *name;
    const char *permissions; /* JSON text */
    size_t permissions_len;
    rtk_perms perms;
    size_t refs;
} rtk_lpreset;

/* What a peer shows of its participant in lists: one allocation. */
typedef struct rtk_pinfo {
    const char *name;    /* may be NULL */
    const char *picture; /* may be NULL */
    char custom_id[];    /* then the name and the picture */
} rtk_pinfo;

/* RTK_PEER_REMOTE(_WAITING): cluster mode, a listed live (or a waiting) peer of another node,
 * as the bus told it: kept for this node's lists only (never sent to, never counted). */
enum { RTK_PEER_LIVE = 0, RTK_PEER_WAITING = 1, RTK_PEER_REMOTE = 2, RTK_PEER_REMOTE_WAITING = 3 };

/* One connected participant. Kept small: thousands of idle ones must stay cheap. */
struct rtk_peer {
    rtk_peer *prev, *next; /* the meeting's peer list (or its waiting list) */
    rtk_peer *drop_next;   /* on live->drops (or a heartbeat's local list) */
    rtk_lmeeting *m;
    void *conn; /* the channel's connection */
    int64_t joined_ms;
    int64_t heard_ms;  /* last frame of any kind from the peer */
    int64_t refill_ms; /* token bucket: last refill */
    double tokens;     /* token bucket: messages it may still send now */
    uint32_t excess;   /* refused messages since it last had a token */
    uint32_t delta_idx; /* 1 + its index in the meeting's roster (or waiting) joined list */
    uint8_t dropping;  /* a send failed: on live->drops, gets nothing more */
    uint8_t state;     /* RTK_PEER_LIVE or RTK_PEER_WAITING */
    uint8_t flags;     /* preset->perms.flags */
    uint8_t pinged;    /* heartbeat: 1 once pinged, 2 once judged silent (to be dropped) */
    uint32_t ping_at;  /* heartbeat: its last ping, ms after live->hb_epoch (modulo 2^32) */
    rtk_pinfo *info;   /* the participant at join; info->name also names its votes */
    rtk_lpreset *preset;
    char peer_id[37];
    char participant_id[37];
};

/* A peer that left while its session was ending (kick-all waiting for the store): its leave
 * is written only if the end is refused. */
typedef struct rtk_gone {
    struct rtk_gone *next;
    char peer_id[37];
    char participant_id[37];
    int64_t joined_ms, left_ms;
    int reason;
} rtk_gone;

/* The live session of a meeting. */
typedef struct rtk_lsession {
    char id[37];
    char *title;
    int64_t started_ms, updated_ms, seen_ms;
    int64_t peak;       /* max_concurrent_participants */
    int64_t closed_ms;  /* summed connected time of the peers that have left */
    int64_t live;       /* live peers */
    int64_t sum_joined; /* summed joined_ms of live peers */
    int ending;         /* a kick-all waits for the store to end it */
    rtk_gone *gone;     /* leaves while ending */
    rtk_map kicked;     /* participant ids kicked from this session (keys owned) */
    rtk_poll *polls;    /* oldest first */
    size_t npolls;      /* polls, those waiting to be stored included */
    size_t poll_bytes;  /* the view bounds of those polls, summed */
    rtk_map admitted;   /* participant ids admitted from the waiting room (keys owned) */
    rtk_map refused;    /* participant ids refused from it (keys owned) */
    /* Cluster mode: the cluster-wide counters the bus last told (g_set), shown in views. */
    int g_set;
    int64_t g_live, g_peak, g_closed, g_sum_rel, g_seen;
    /* Cluster mode: a share made for a peer that waits (or before its join completes) is not
     * told (SESSION_STARTED, with |started_reason|) until a peer of it joins here. */
    int quiet;
    int started_reason;
    int loaded; /* cluster mode: what the session held before this share was read into it */
} rtk_lsession;

/* Changes to a list of peers (the roster, the waiting room) since they were last sent: the
 * peers that came (each knows its index + 1 in |joined|) and the ids of those that went. */
typedef struct rtk_delta {
    rtk_peer **joined;
    size_t njoined, cap_joined;
    char (*left)[37];
    size_t nleft, cap_left;
} rtk_delta;

struct rtk_lmeeting {
    char id[37];
    char app_id[37];
    char *title;
    int64_t keep_alive_ms;
    rtk_lsession *session; /* NULL when no session is live */
    rtk_peer *peers;
    rtk_peer *waiting;           /* peers in the waiting room, newest first */
    rtk_peer *hb_next[2];        /* the heartbeat's sweep: the next of peers / waiting to visit */
    uint32_t hb_total[2];        /* peers of each list when the sweep began */
    uint32_t hb_done[2];         /* of those, visited so far */
    size_t nlisters;             /* live peers that see the participant list */
    size_t nacceptors;           /* live peers that see the waiting room */
    rtk_delta roster;            /* for participants.updated (kept while nlisters > 0) */
    rtk_delta wait;              /* for waiting.updated (kept while nacceptors > 0) */
    int64_t last_roster_ms;      /* last participants.updated sent */
    rtk_lmeeting *wait_next;     /* on live->wait_dirty */
    int wait_dirty;
    int64_t keep_alive_deadline; /* 0: none running */
    const rtk_join_info *joining; /* cluster mode: the join that may start the session */
    /* Cluster mode: the other nodes' listed live peers and waiting peers (RTK_PEER_REMOTE*),
     * by peer id in |remote| (a zeroed map is an empty one), for this node's lists. */
    rtk_peer *rpeers, *rwaiting;
    rtk_map remote;
    unsigned mirror; /* which of those this node keeps: RTK_MIRROR_* (while it has viewers) */
    int shares_pending; /* handshakes making this share: it is not forgotten meanwhile */
    int64_t last_update_ms;      /* last session.updated sent */
    int64_t last_poll_round_ms;  /* last poll.updated round, where the audience spaces them */
    int dirty;                   /* counters changed since then */
};

typedef struct rtk_live_sub {
    rtk_live_sink fn;
    void *arg;
    int durable;
} rtk_live_sub;

/* The least gap (ms) between two of |m|'s coalesced broadcasts to its live peers: a broadcast
 * costs about 10 µs per receiver here, so spacing them by cfg.audience_gap_us per receiver
 * keeps each kind under a tenth of the loop (docs/design.md, "Updates to large audiences"). */
int64_t rtk_live__audience_gap_ms(const rtk_live *live, const rtk_lmeeting *m);

struct rtk_live {
    uv_loop_t *loop;
    const rtk_live_transport *tr;
    rtk_live_config cfg;
    rtk_map meetings;       /* meeting id -> rtk_lmeeting */
    rtk_map by_participant; /* participant id -> its live rtk_peer */
    rtk_slab peer_slab;     /* every rtk_peer (util/rtk_slab.h: they outlive their joins) */
    rtk_slab pinfo_slab;    /* the peers' short rtk_pinfos */
    size_t npeers;
    rtk_peer *drops; /* peers whose send failed during the current operation */
    int64_t hb_start; /* when the heartbeat's current sweep over every peer began */
    int64_t hb_epoch; /* rtk_peer.ping_at counts from here */
    int64_t last_tick_ms;  /* when the tick timer last ran (to notice the loop stalled) */
    rtk_poll *voted_polls; /* polls holding poll.voted renderings of this loop turn */
    rtk_map presets;       /* rtk_lpreset.key -> rtk_lpreset */
    rtk_lmeeting *wait_dirty; /* meetings whose waiting room changed this loop turn */
    int clustered; /* rtk_live_set_clustered */
    int bus_counted; /* the peer going now is counted in the bus's counters already */
    rtk_live_cluster_poll_fn cluster_poll;
    void *cluster_poll_arg;
    rtk_live_cluster_kick_all_fn cluster_kick_all;
    void *cluster_kick_all_arg;
    rtk_live_cluster_wait_fn cluster_wait;
    void *cluster_wait_arg;
    void (*cluster_mirror)(void *arg, const char *meeting_id, int on);
    void *cluster_mirror_arg;
    rtk_live_sub subs[RTK_LIVE_MAX_SINKS];
    int nsubs;
    uv_timer_t tick;
    int handles_open;
    void (*shutdown_cb)(void *arg);
    void *shutdown_arg;
};

/* Sessions and peers (rtk_live.c). */
void rtk_live__session_view(const rtk_lmeeting *m, int64_t now, rtk_session_view *out);
/* Tells every subscriber |ev| (done/done_arg reach only the durable one). */
void rtk_live__emit(rtk_live *live, rtk_live_event *ev);
/* An event about |m|'s session: fills .session from its view. */
void rtk_live__emit_session(rtk_live *live, rtk_lmeeting *m, rtk_live_event *ev);
/* Sends |msg| to |p|; a peer whose send fails goes on live->drops (rtk_live__drain). */
void rtk_live__send(rtk_live *live, rtk_peer *p, rtk_live_msg *msg, const char *ref,
                    size_t ref_len);
/* Sends a one-off message (error or reply) to |p| and releases it. */
void rtk_live__send_error(rtk_live *live, rtk_peer *p, const char *code, const char *text,
                          const char *ref, size_t ref_len);
void rtk_live__drain(rtk_live *live);
/* A fan-out to a meeting's peers that began at uv_hrtime() |start_ns| is done: observed in
 * rtkd_broadcast_duration_seconds. */
void rtk_live__fanout_done(uint64_t start_ns);
/* 1 if |p| is a live peer holding |flag|; else it is sent `forbidden` (with |refusal|, or
 * the waiting room's text) and 0 is returned. */
int rtk_live__permits(rtk_live *live, rtk_peer *p, unsigned flag, const char *refusal,
                      const char *ref, size_t ref_len);
/* The view of |p| in lists. */
void rtk_live__peer_view(const rtk_peer *p, rtk_peer_view *out);
rtk_lmeeting *rtk_live__meeting(rtk_live *live, const char *id);

/* Polls (rtk_live_polls.c). */
void rtk_live__polls_free(rtk_live *live, rtk_lsession *s);
void rtk_live__polls_tick(rtk_live *live, int64_t now);
/* Releases the poll.voted renderings of this loop turn. */
void rtk_live__polls_turn_end(rtk_live *live);
/* Views of every poll of |s| and |participant_id|'s vote in each, for hello: fills *polls
 * and *votes with new arrays (the caller frees both) and returns their length. */
size_t rtk_live__poll_views(const rtk_lsession *s, const char *participant_id,
                            const rtk_poll_view ***polls, int **votes);
/* A poll from a peer (poll.create), answered to it with its ref. */
int rtk_live__poll_create(rtk_live *live, rtk_lmeeting *m, const rtk_poll_spec *spec,
                          const rtk_peer *creator, const char *ref, size_t ref_len,
                          rtk_live_poll_cb cb, void *arg);

#endif
