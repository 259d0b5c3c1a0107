/* SPDX-License-Identifier: MIT */
/* rtk_live_int.h - private structures of the live layer, shared by its .c files. */
#ifndef RTK_LIVE_INT_H
#define RTK_LIVE_INT_H

#include <jansson.h>

#include "live/rtk_live.h"
#include "util/rtk_map.h"

typedef struct rtk_lmeeting rtk_lmeeting;
typedef struct rtk_poll rtk_poll;

/* One connected participant. Kept small: thousands of idle ones must stay cheap. */
struct rtk_peer {
    rtk_peer *prev, *next; /* the meeting's peer list */
    rtk_peer *drop_next;   /* on live->drops (or a heartbeat's local list) */
    rtk_lmeeting *m;
    void *conn;            /* the channel's connection */
    int64_t joined_ms;
    int64_t heard_ms;      /* last frame of any kind from the peer */
    int64_t refill_ms;     /* token bucket: last refill */
    double tokens;         /* token bucket: messages it may still send now */
    uint32_t excess;       /* refused messages since it last had a token */
    uint8_t dropping;      /* a send failed: on live->drops, gets nothing more */
    char *name;            /* the participant's name at join (for poll voter lists) */
    char peer_id[37];
    char participant_id[37];
};

/* The live session of a meeting. */
typedef struct rtk_lsession {
    rtk_db_session db;  /* id, counters and times, as stored */
    int64_t live;       /* live peers */
    int64_t sum_joined; /* summed joined_ms of live peers */
    rtk_map kicked;     /* participant ids kicked from this session (keys owned) */
    rtk_poll *polls;    /* newest first */
    size_t npolls;
} rtk_lsession;

struct rtk_lmeeting {
    char id[37];
    char app_id[37];
    char *title;
    int64_t keep_alive_ms;
    rtk_lsession *session;      /* NULL when no session is live */
    rtk_peer *peers;
    int64_t keep_alive_deadline; /* 0: none running */
    int64_t last_update_ms;      /* last session.updated sent */
    int dirty;                   /* counters changed since then */
};

struct rtk_live {
    uv_loop_t *loop;
    rtk_db *db;
    const rtk_live_transport *tr;
    rtk_live_config cfg;
    rtk_map meetings;       /* meeting id -> rtk_lmeeting */
    rtk_map by_participant; /* participant id -> its live rtk_peer */
    size_t npeers;
    rtk_peer *drops;        /* peers whose send failed during the current operation */
    rtk_frame *ping;        /* the heartbeat's shared ping frame */
    int64_t next_heartbeat;
    int need_flush;         /* writes are waiting for the group commit */
    int bulk_leave;         /* every peer of a session is leaving: one store update at the end */
    uv_timer_t tick;
    uv_prepare_t prepare;
    int handles_open;
    void (*shutdown_cb)(void *arg);
    void *shutdown_arg;
    struct rtk_vote_wait *votes_waiting; /* votes whose replies wait for the commit */
    struct rtk_vote_wait **votes_tail;
    uint64_t vote_seq;                   /* orders votes in the store */
};

double rtk_live__minutes(const rtk_lsession *s, int64_t now);
/* Sends |f| to |p|; one that fails goes on live->drops (rtk_live__drain drops them 1008). */
void rtk_live__send(rtk_live *live, rtk_peer *p, rtk_frame *f);
void rtk_live__drain(rtk_live *live);
/* Sends an `error` event with |code|, |message| and (if not NULL) the client's |ref|. */
void rtk_live__send_error(rtk_live *live, rtk_peer *p, const char *code, const char *message,
                          json_t *ref);
void rtk_live__broadcast(rtk_live *live, rtk_lmeeting *m, rtk_frame *f);
rtk_lsession *rtk_live__session(rtk_live *live, const char *meeting_id);
/* Commits the batch now (group commit) and releases the replies that waited for it. */
void rtk_live__commit(rtk_live *live);

/* Polls (rtk_live_polls.c). */
void rtk_live__polls_free(rtk_lsession *s);
json_t *rtk_live__polls_view_all(rtk_lsession *s, const char *participant_id);
void rtk_live__poll_vote(rtk_live *live, rtk_peer *p, json_t *msg, json_t *ref);
void rtk_live__polls_tick(rtk_live *live, int64_t now);
void rtk_live__polls_restore(rtk_live *live, rtk_lsession *s);
/* Releases the replies of the votes waiting for the commit: poll.voted when |stored|, else
 * the votes are taken back and their voters get an `unavailable` error. */
void rtk_live__votes_committed(rtk_live *live, int stored);
void rtk_live__votes_peer_gone(rtk_live *live, rtk_peer *peer);

#endif
