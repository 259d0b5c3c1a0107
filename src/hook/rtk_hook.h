/* SPDX-License-Identifier: MIT */
/* rtk_hook.h - webhooks: live's events into the store's outbox, and their delivery.
 *
 * Runs on the loop thread. The hook subscribes to live after persistence: each session start
 * and end and each join and leave becomes, in the same loop turn's batch (the same
 * transaction as the change), one pending delivery per subscribed, enabled webhook of the
 * app (rtk_store_hook_enqueue). A sender reads due deliveries from the store and POSTs them
 * with libcurl's multi interface driven by the loop (uv_poll per socket, one uv_timer): no
 * thread of ours and no blocking call. Each attempt's outcome is written back to the store;
 * a delivery is "pending" until it is delivered or failed, so one interrupted by a crash is
 * sent again after the restart with the same id (WEBHOOKS.md). */
#ifndef RTK_HOOK_H
#define RTK_HOOK_H

#include <stdint.h>
#include <uv.h>

#include "hook/rtk_hook_sign.h"
#include "live/rtk_live.h"
#include "store/rtk_store.h"

typedef struct rtk_hook rtk_hook;

typedef struct rtk_hook_config {
    int64_t retry_base_ms; /* the first retry's wait (1000) */
    int64_t max_age_s;     /* a delivery still failing after this is failed (86400) */
    int max_inflight;      /* requests in flight in all (64) */
    int max_per_hook;      /* requests in flight per webhook (8) */
    int64_t timeout_ms;    /* an attempt without a complete answer by then failed (10000) */
    int64_t poll_ms;       /* how often the outbox is read for due deliveries (250) */
} rtk_hook_config;

/* Subscribes to |live| (after persistence) and starts the sender on |loop|, writing to |st|
 * and signing with |keys| (all borrowed: they must outlive the hook). |cfg| may be NULL
 * (defaults). Returns NULL when libcurl cannot start. */
rtk_hook *rtk_hook_new(uv_loop_t *loop, rtk_store *st, rtk_live *live, const rtk_hook_keys *keys,
                       const rtk_hook_config *cfg);

/* Stops sending: requests in flight are abandoned (their deliveries stay pending and are sent
 * again after a restart) and every handle is closed; events are still written to the outbox.
 * Idempotent. */
void rtk_hook_stop(rtk_hook *h);

/* Which apps' events are written to the outbox (rtk_hook.c, "which apps"). The webhooks API
 * calls rtk_hook_app_writing in the loop turn it issues any write to |app_id|'s webhooks
 * (create, edit, replace, delete), and rtk_hook_app_written from that write's callback,
 * whatever its status. rtk_hook_app_changed is for a change made elsewhere: a cluster node
 * (CLUSTER.md) calls it when another node tells it that |app_id|'s webhooks changed, and with
 * NULL when it may have missed such news (its bus was away). |h| may be NULL (no hook: nothing to do). */
void rtk_hook_app_writing(rtk_hook *h, const char *app_id);
void rtk_hook_app_written(rtk_hook *h, const char *app_id);
void rtk_hook_app_changed(rtk_hook *h, const char *app_id); /* NULL: any app (reread all) */

/* On a cluster one node sends the deliveries (in order per meeting and webhook, WEBHOOKS.md):
 * the one holding the sender's lease (rtk_cluster). Off: nothing new is sent (transfers in
 * flight finish); events are still written to the outbox. On by default. */
void rtk_hook_set_sender(rtk_hook *h, int on);

/* Frees |h| after rtk_hook_stop and after the loop ran the closes. NULL is allowed. */
void rtk_hook_free(rtk_hook *h);

#endif
