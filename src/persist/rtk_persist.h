/* SPDX-License-Identifier: MIT */
/* rtk_persist.h - persistence: the store's subscriber to live's events, and the restore.
 *
 * Runs on the loop thread. Persistence is live's durable subscriber: every event becomes the
 * store writes that record it (a join: the peer's row and the session's counters; a vote: its
 * row), all in the loop turn's batch, and the events live waits for (votes, barriers) are
 * answered from the store's completion of those writes. At start-up it reads the LIVE
 * sessions back into live. */
#ifndef RTK_PERSIST_H
#define RTK_PERSIST_H

#include "live/rtk_live.h"
#include "store/rtk_store.h"

typedef struct rtk_persist rtk_persist;

/* Subscribes to |live| as its durable subscriber, writing to |st| (both borrowed; they must
 * outlive the returned object). Call before any other subscriber. */
rtk_persist *rtk_persist_new(rtk_store *st, rtk_live *live);
void rtk_persist_free(rtk_persist *p);

/* Writes what was held back for the loop turn (each live session's latest counters) into the
 * store's batch. The loop-turn owner calls it just before rtk_store_turn. */
void rtk_persist_turn(rtk_persist *p);

/* Loads every LIVE session of the store into live, with the participants kicked from it, its
 * polls and their votes, and its meeting's title and keep-alive (peers still open in the
 * store count as having left at their session's seen_at). Blocks: start-up only. Returns 0,
 * or the store's error (RTK_EUNAVAIL, RTK_EDB). */
int rtk_persist_restore(rtk_persist *p);

/* Writes that failed since the start (for tests and /metrics). */
uint64_t rtk_persist_failures(const rtk_persist *p);

/* The polls and votes rtk_store_polls_load answered go into the live session of |meeting_id|
 * (at a restart; on a cluster, when a node takes its first share of a session). */
void rtk_persist_polls_into(rtk_live *live, const char *meeting_id, const rtk_store_res *res);

#endif
