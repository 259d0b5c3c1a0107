/* SPDX-License-Identifier: MIT */
/* rtk_chan.h - the participant channel: WebSocket connections carrying PROTOCOL.md between
 * peers and the live layer.
 *
 * Runs on the loop thread. Frames in: parsed by the codec (net/rtk_ws.h) in place, text
 * messages parsed (rtk_chan_msg.h) and handed to live. Messages out: live's descriptions,
 * rendered once per message and queued per connection; everything a connection is sent in
 * one loop turn leaves in one writev when the loop-turn owner calls rtk_chan_flush. */
#ifndef RTK_CHAN_H
#define RTK_CHAN_H

#include <stddef.h>
#include <stdint.h>

#include "live/rtk_live.h"
#include "net/rtk_http.h"

typedef struct rtk_chan_config {
    size_t max_outbound;   /* unsent bytes per peer before it is closed with 1008 (1 MiB) */
    uint64_t heartbeat_ms; /* what hello announces (live's ping interval) */
} rtk_chan_config;

/* The transport live uses to reach channel connections. */
extern const rtk_live_transport rtk_chan_transport;

void rtk_chan_configure(const rtk_chan_config *cfg);

/* Writes what every connection was sent since the last call, one writev each. The loop-turn
 * owner calls it once per turn, after the store's commit. */
void rtk_chan_flush(void);

/* Final flush, after every channel connection is closed (after rtk_http_server_stop's
 * callback): frees what closed connections left on the flush list. */
void rtk_chan_stop(void);

/* Completes the WebSocket handshake of |req| (already validated: |accept| is the computed
 * Sec-WebSocket-Accept value) and joins the peer described by |ji| to |live|. |req| is
 * consumed. Returns 0, or a UV_* code when the client had already gone. */
int rtk_chan_accept(rtk_http_req *req, const char *accept, rtk_live *live,
                    const rtk_join_info *ji);

/* One complete text message |text| (|len| bytes, valid UTF-8) from |peer|: flood control
 * first (a flood costs no parsing), then the message parsed and handed to live (PROTOCOL.md
 * §5), or answered with an `error`. Returns 0, or RTK_ETOOBIG when flood control dropped the
 * peer (it is gone). */
int rtk_chan_dispatch(rtk_live *live, rtk_peer *peer, const char *text, size_t len);

/* participant.kick from a peer allowed to kick (PROTOCOL.md §5): the ids (|n|; the first
 * |nplain| are participant ids, the rest custom ones) must be resolved through the store, so
 * the API layer does it, answering the peer itself (rtk_live_peer_find, rtk_live_send_done).
 * |peer| is valid during the call only. */
typedef void (*rtk_chan_kick_fn)(void *arg, rtk_live *live, rtk_peer *peer,
                                 const char *const *ids, size_t n, size_t nplain,
                                 const char *ref, size_t ref_len);
void rtk_chan_set_kick(rtk_chan_kick_fn fn, void *arg);

/* Bytes of channel state per connection (not counting the HTTP layer's). */
size_t rtk_chan_conn_size(void);

#endif
