/* SPDX-License-Identifier: MIT */
/* lg_proto.h - the client side of the participant channel for the load generator: server
 * frame parser, masked client frames, event classification and a per-peer frame reader. */
#ifndef LG_PROTO_H
#define LG_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Server frames are never masked (RFC 6455 §5.1) and rtkd never fragments, but the parser
 * accepts both masked and fragmented frames so that it counts what it is sent whatever it is.
 * Frames up to LG_MAX_FRAME bytes are accepted; larger ones are a protocol error for us. */
#define LG_MAX_FRAME (1024 * 1024)

/* What a frame or a message is, as counted by the reader. The text events are the |type| of
 * the JSON object (PROTOCOL.md §4); the last three are WebSocket control frames. */
typedef enum lg_event {
    LG_EV_HELLO,
    LG_EV_SESSION_UPDATED,
    LG_EV_POLL_CREATED,
    LG_EV_POLL_UPDATED,
    LG_EV_POLL_VOTED,
    LG_EV_KICKED,
    LG_EV_PONG,
    LG_EV_ERROR,
    LG_EV_OTHER, /* a text message with another or no type */
    LG_EV_CLOSE, /* close frame */
    LG_EV_PING,  /* ping frame */
    LG_EV_WSPONG, /* pong frame */
    LG_EV_COUNT
} lg_event;

/* The names used on the command line and in reports ("hello", "poll.created", "close", ...). */
const char *lg_event_name(lg_event ev);

/* Returns the event named |name|, or -1 for an unknown name. */
int lg_event_from_name(const char *name);

/* One frame as parsed. |payload| points into the caller's buffer and is unmasked in place. */
typedef struct lg_frame {
    const uint8_t *payload;
    size_t len;
    uint8_t opcode;
    uint8_t fin;
} lg_frame;

/* Parses one frame from |buf| (|len| bytes; writable because a masked payload is unmasked in
 * place). Returns the bytes consumed and fills |*out|; RTK_EAGAIN when |buf| holds only part
 * of a frame (nothing is changed then); RTK_EPROTO for a frame that no WebSocket server may
 * send (RSV bits, reserved opcode, control frame over 125 bytes or fragmented) or one larger
 * than LG_MAX_FRAME. Pure apart from the unmasking; never allocates. */
ssize_t lg_frame_parse(uint8_t *buf, size_t len, lg_frame *out);

/* Builds a client frame (FIN set, masked with |mask_key| as RFC 6455 §5.3 requires) of opcode
 * |opcode| around |payload| (|len| bytes) in |out| (|cap| bytes). The header comes from the
 * server codec's rtk_ws_frame_header(); the mask bit and key are added here. Returns the frame
 * length, or RTK_ETOOBIG when |cap| < len + 14. A control frame's |len| must be <= 125. */
ssize_t lg_frame_build(uint8_t *out, size_t cap, int opcode, const void *payload, size_t len,
                       uint32_t mask_key);

/* Finds the top-level key |key| of the JSON object text |json| (|len| bytes) whose value is a
 * string, and points |*val| / |*vlen| at the raw (still escaped) characters between its quotes.
 * Nested objects are skipped, so "type" inside "session" is not mistaken for the message's
 * own. Returns 0, or -1 when there is no such key (or the text is not an object). Stops at the
 * first match, so it costs little when the key comes first, as rtkd writes "type". */
int lg_json_top_string(const char *json, size_t len, const char *key, const char **val,
                       size_t *vlen);

/* Writes into |out| (|cap| bytes) a JSON text of exactly |size| bytes (NUL not counted) that
 * the reader classifies as poll.created: {"type":"poll.created","poll":{"pad":"xxx…"}}. The
 * nchan benchmark publishes it so that nchan's subscribers receive a message of the size of
 * rtkd's poll.created. Returns |size|, or RTK_EINVAL when |size| < LG_NCHAN_MIN_MESSAGE or
 * |cap| <= |size|. Pure function. */
#define LG_NCHAN_MIN_MESSAGE 41
ssize_t lg_nchan_message(char *out, size_t cap, size_t size);

/* Classifies a text message by its top-level "type". */
lg_event lg_event_classify(const char *json, size_t len);

typedef struct lg_reader lg_reader;

/* Called once per complete frame, control frames included; |ev| is the frame's class (for a
 * fragmented text message: on its last fragment, classified from its first). |f->payload| is
 * valid during the call only. Return 0 to go on, non-zero to stop feeding (the reader then
 * drops what is left of this call's input); a callback that frees the reader
 * (lg_reader_free) must return non-zero. */
typedef int (*lg_frame_cb)(void *arg, lg_event ev, const lg_frame *f);

/* Per-peer reader state: counts and the tail of an incomplete frame (heap, only while a frame
 * is incomplete, so an idle peer holds no buffer). */
struct lg_reader {
    uint64_t counts[LG_EV_COUNT]; /* read-only: frames/messages seen per class */
    uint64_t bytes[LG_EV_COUNT];  /* read-only: their payload bytes (for a fragmented
                                   * message, those of its last fragment) */
    uint8_t *part;                /* private: bytes of an incomplete frame */
    uint32_t part_len;            /* private */
    uint32_t part_cap;            /* private: grows geometrically while a frame trickles in */
    int8_t frag_ev;               /* private: class of an open fragmented message, or -1 */
};

/* Initialises |r| (all counts zero). */
void lg_reader_init(lg_reader *r);

/* Frees the buffered tail of |r|; |r| may be reused after lg_reader_init(). */
void lg_reader_free(lg_reader *r);

/* Feeds |len| bytes received from the server (|data| is writable: payloads are unmasked in
 * place). Counts and reports every complete frame in order through |cb|. Bytes of a frame
 * that is not complete yet are kept until the next call.
 * Returns 0, 1 when |cb| asked to stop, or RTK_EPROTO when the stream broke the protocol
 * (see lg_frame_parse; also a continuation with no message open). */
int lg_reader_feed(lg_reader *r, uint8_t *data, size_t len, lg_frame_cb cb, void *arg);

#endif
