/* SPDX-License-Identifier: MIT */
/* rtk_channel.h - the participant channel: WebSocket connections carrying protocol 1
 * (PROTOCOL.md) between peers and the live layer. */
#ifndef RTK_CHANNEL_H
#define RTK_CHANNEL_H

#include <stddef.h>

#include "live/rtk_live.h"
#include "net/rtk_http.h"

typedef struct rtk_channel_config {
    size_t max_outbound; /* unsent bytes per peer before it is closed with 1008 (1 MiB) */
} rtk_channel_config;

/* The transport live uses to reach channel connections. */
extern const rtk_live_transport rtk_channel_transport;

void rtk_channel_configure(const rtk_channel_config *cfg);

/* Starts and stops the end-of-loop-turn flush of queued frames on |loop|. Stop after every
 * channel connection is closed (after rtk_http_server_stop's callback). */
void rtk_channel_start(uv_loop_t *loop);
void rtk_channel_stop(void);

/* Completes the WebSocket handshake of |req| (already validated: |accept| is the computed
 * Sec-WebSocket-Accept value) and joins the peer described by |ji| to |live|. |req| is
 * consumed. Returns 0, or a UV_* code when the client had already gone. */
int rtk_channel_accept(rtk_http_req *req, const char *accept, rtk_live *live,
                       const rtk_join_info *ji);

/* Bytes of channel state per connection (not counting the HTTP layer's). */
size_t rtk_channel_conn_size(void);

#endif
