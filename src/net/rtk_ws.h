/* SPDX-License-Identifier: MIT */
/* rtk_ws.h - sans-I/O RFC 6455 WebSocket codec, server side: handshake, parser, builders. */
#ifndef RTK_WS_H
#define RTK_WS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The codec does no I/O and allocates nothing. The connection layer reads socket bytes into a
 * buffer, calls rtk_ws_parse() until it returns RTK_EAGAIN, and keeps only the leftover bytes of
 * the one incomplete frame (at most RTK_WS_MAX_FRAME, see rtk_ws_frame_size()). Per-connection
 * state is a tiny rtk_ws_state embedded in the peer.
 *
 * Policy (PROTOCOL.md §2, RFC 6455 §5 and §7.4). rtk_ws_parse() fails with RTK_EPROTO and sets
 * the close code the server must send:
 *   1002  RSV1/2/3 set (no extension is ever negotiated); reserved opcode (3-7, 0xB-0xF);
 *         control frame with FIN clear or payload over 125; continuation with no message in
 *         progress; text frame while a fragmented message is in progress; client frame not
 *         masked; 64-bit length with its most significant bit set; a length not encoded in
 *         the minimal number of bytes (RFC 6455 §5.2 says MUST; we enforce it, so 126 with a
 *         16-bit value under 126, or 127 with a 64-bit value under 65536, is rejected); a
 *         close payload of 1 byte or with a code a client may not send (see rtk_ws_close_parse).
 *   1003  binary frame (the channel is text only).
 *   1007  a text message that is not valid UTF-8 (checked per fragment, so a code point may
 *         straddle fragments, and the final fragment must end on a code point boundary);
 *         a close reason that is not valid UTF-8.
 *   1009  a message whose length (the sum of its fragments) exceeds RTK_WS_MAX_MESSAGE. This
 *         is decided from the frame header and the length accumulated so far, before any of
 *         the payload has arrived.
 * Checks run in wire order (byte 0, then byte 1, then the extended length, then the payload),
 * and every check that the bytes received so far can decide fails at once, so the result
 * never depends on how the input was split, and a header violation never waits for more bytes.
 */

#define RTK_WS_MAX_MESSAGE (64 * 1024) /* PROTOCOL.md §2: a larger message closes with 1009 */
#define RTK_WS_MAX_HEADER 14           /* 2 + 8 (64-bit length) + 4 (mask key) */
#define RTK_WS_MAX_FRAME (RTK_WS_MAX_HEADER + RTK_WS_MAX_MESSAGE) /* largest frame we accept */
#define RTK_WS_MAX_CONTROL 125         /* RFC 6455 §5.5: control frame payload limit */
#define RTK_WS_MAX_CLOSE_REASON 123    /* 125 minus the 2-byte status code */
#define RTK_WS_ACCEPT_LEN 28           /* strlen of a Sec-WebSocket-Accept value */

enum {
    RTK_WS_OP_CONT = 0,
    RTK_WS_OP_TEXT = 1,
    RTK_WS_OP_BINARY = 2,
    RTK_WS_OP_CLOSE = 8,
    RTK_WS_OP_PING = 9,
    RTK_WS_OP_PONG = 10,
};

/* Close codes (RFC 6455 §7.4.1) the server sends. 1005 is never sent on the wire: passing it
 * to rtk_ws_close_frame() builds a close frame with an empty payload. */
enum {
    RTK_WS_CLOSE_NORMAL = 1000,
    RTK_WS_CLOSE_GOING_AWAY = 1001,
    RTK_WS_CLOSE_PROTOCOL = 1002,
    RTK_WS_CLOSE_UNSUPPORTED = 1003,
    RTK_WS_CLOSE_NO_STATUS = 1005,
    RTK_WS_CLOSE_INVALID_DATA = 1007,
    RTK_WS_CLOSE_POLICY = 1008,
    RTK_WS_CLOSE_TOO_BIG = 1009,
    RTK_WS_CLOSE_INTERNAL = 1011,
};

/* Computes the Sec-WebSocket-Accept value for the client's Sec-WebSocket-Key |key| (|key_len|
 * bytes, not NUL-terminated, surrounding whitespace already trimmed by the HTTP layer):
 * base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")), RFC 6455 §4.2.2. Writes 28
 * characters and a NUL into |out|. Pure function, any thread.
 * Errors: RTK_EINVAL if |key| is not the canonical base64 of a 16-byte nonce (exactly 24
 * characters: 22 from the base64 alphabet, the last of which carries no stray low bits, then
 * "=="); RTK_ENOMEM if OpenSSL fails to compute the digest. On error |out| is an empty string. */
int rtk_ws_accept_key(const char *key, size_t key_len, char out[RTK_WS_ACCEPT_LEN + 1]);

/* Message-assembly state of one connection, embedded in the peer struct (8 bytes). It records
 * whether a fragmented text message is in progress, its length so far and where the UTF-8
 * check stands, so a code point split across fragments is validated correctly. All fields are
 * private. */
typedef struct rtk_ws_state {
    uint32_t msg_len; /* private: payload bytes of the unfinished message so far */
    uint8_t msg_op;   /* private: RTK_WS_OP_TEXT while a fragmented message is open, else 0 */
    uint8_t utf8;     /* private: UTF-8 decoder state after the last fragment */
    uint8_t pad[2];   /* private: unused, keeps the size explicit */
} rtk_ws_state;

/* Puts |st| in its initial state (no message in progress). Call once per connection. */
void rtk_ws_state_init(rtk_ws_state *st);

/* One parsed frame. |payload| points into the caller's buffer (borrowed: valid while the
 * buffer is) and is already unmasked. |opcode| is the frame's own opcode, so the fragments of
 * a fragmented message after the first carry RTK_WS_OP_CONT; the message ends with the frame
 * whose |fin| is 1. Control frames (close, ping, pong) may arrive between fragments. */
typedef struct rtk_ws_frame {
    const uint8_t *payload;
    size_t len;
    uint8_t opcode;
    uint8_t fin;
} rtk_ws_frame;

/* Parses one client frame from the start of |buf| (|len| bytes). |buf| is writable because the
 * payload is unmasked in place.
 * Returns the number of bytes consumed (> 0), fills |*out| and updates |st|: a data frame has
 * been checked against every rule in the policy above (UTF-8 included) and a close frame's
 * payload has been checked by rtk_ws_close_parse().
 * Returns RTK_EAGAIN (not an error) when |buf| holds only part of a frame and no rule is broken
 * so far: keep the bytes and call again, with the same bytes at the start and more after them.
 * |st|, |*out| and |buf| are left untouched. rtk_ws_frame_size() tells how many bytes are
 * needed. |len| == 0 also returns RTK_EAGAIN.
 * Returns RTK_EPROTO when the client broke the protocol, with |*close_code| set to the code to
 * send (1002, 1003, 1007 or 1009); the connection must be closed and |st| and the payload
 * bytes in |buf| are then unspecified.
 * Frames after a close frame are not the codec's business: the caller stops parsing.
 * Runs on the loop thread that owns |st|; never allocates, never logs. */
ssize_t rtk_ws_parse(rtk_ws_state *st, uint8_t *buf, size_t len, rtk_ws_frame *out,
                     uint16_t *close_code);

/* Returns the total size (header + payload) of the frame that starts at |buf| once |len|
 * covers its length field, so the caller can size the buffer that keeps a partial frame.
 * Returns RTK_EAGAIN when the length field is not complete yet (the whole header is at most
 * RTK_WS_MAX_HEADER bytes, so a buffer of that size suffices until then), or RTK_ETOOBIG when
 * the declared frame exceeds RTK_WS_MAX_FRAME. Does not validate anything else: call it after
 * rtk_ws_parse() returned RTK_EAGAIN for the same bytes, which guarantees it never returns
 * RTK_ETOOBIG and that its result is larger than |len|. */
ssize_t rtk_ws_frame_size(const uint8_t *buf, size_t len);

/* Returns 1 when |buf| holds exactly one complete masked client close frame (FIN set, no
 * RSV bits, payload at most 125 bytes) and nothing else, 0 otherwise. For a server that has
 * sent its close frame and waits for the answer: those bytes are the client's last. */
int rtk_ws_is_close_frame(const uint8_t *buf, size_t len);

/* Checks the payload of a close frame received from a client (RFC 6455 §5.5.1, §7.4).
 * A payload of 0 bytes means "no status code" and returns 1005. Otherwise the first two bytes
 * are the code (network order) and the rest a UTF-8 reason; returns the code, which the
 * server echoes (rtk_ws_close_frame() accepts 1005 too and then sends an empty close).
 * Accepted codes: 1000-1003, 1007-1014, 3000-4999. 1012-1014 (service restart, try again
 * later, bad gateway) were registered with IANA after RFC 6455 and the `ws` library accepts
 * them, so we do too.
 * Errors: RTK_EPROTO with |*close_code| = 1002 for a 1-byte payload, a payload over 125 bytes,
 * or any other code (0-999, 1004-1006, 1015-2999, 5000+: reserved or never sent on the wire);
 * RTK_EPROTO with |*close_code| = 1007 for a reason that is not valid UTF-8. */
int rtk_ws_close_parse(const uint8_t *payload, size_t len, uint16_t *close_code);

/* Writes the header of an unmasked server frame with FIN set, opcode |opcode| and payload
 * length |len| into |out|, using the minimal length encoding; returns the header length (2, 4
 * or 10). The payload follows the header unchanged. |opcode| must be one of RTK_WS_OP_* other
 * than CONT, and a control frame's |len| at most 125 (asserted: programmer errors). */
size_t rtk_ws_frame_header(uint8_t out[10], int opcode, size_t len);

/* Writes a complete close frame into |out| and returns its length (2 to 127 bytes). |code| is
 * the status code; 1005 (RTK_WS_CLOSE_NO_STATUS) writes a close with an empty payload, which
 * is how a close that carried no code is echoed. |reason| is an optional NUL-terminated UTF-8
 * string (NULL for none, ignored with 1005); one longer than RTK_WS_MAX_CLOSE_REASON bytes is
 * cut at the last code point boundary that fits. |code| must be one a server may send
 * (1000-1003, 1007-1014, 3000-4999) or 1005 (asserted). */
size_t rtk_ws_close_frame(uint8_t out[127], uint16_t code, const char *reason);

#endif
