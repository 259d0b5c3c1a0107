/* SPDX-License-Identifier: MIT */
/* rtk_chan_msg.h - the participant channel's messages (PROTOCOL.md §4) rendered from live's
 * message descriptions, and client messages parsed for live.
 *
 * Runs on the loop thread. A message is rendered once, on its first send, into msg->cache:
 * its JSON text without the closing brace, so that each receiver's `ref` can be spliced in,
 * and a frame shared by every receiver without a ref. */
#ifndef RTK_CHAN_MSG_H
#define RTK_CHAN_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "chan/rtk_frame.h"
#include "live/rtk_live.h"

/* Recent voters per option shown in a viewer view (PROTOCOL.md §6: "at most the 20 most
 * recent"). */
#define RTK_CHAN_RECENT_VOTERS 20
/* A voter's name in a viewer view: at most this many characters (full names stay in REST). */
#define RTK_CHAN_VIEW_NAME_MAX 64
/* The voters of one viewer view take at most this many bytes of JSON: the newest first, so
 * every view, and every frame that carries one, has a size known in advance. */
#define RTK_CHAN_VIEW_VOTERS_BYTES 8192

/* An upper bound of the bytes of any viewer view of a poll with these texts (votes, counts and
 * a message's envelope and ref included). */
size_t rtk_chan_msg_view_bound(const char *question, const char *const *opts, int nopts,
                               const char *created_by);

/* The frame of |msg| for a receiver whose message carried |ref| (NULL: none). Returns a new
 * reference. |heartbeat_ms| is what hello announces. */
rtk_frame *rtk_chan_msg_frame(rtk_live_msg *msg, const char *ref, size_t ref_len,
                              uint64_t heartbeat_ms);

/* Frees msg->cache. */
void rtk_chan_msg_release(rtk_live_msg *msg);

/* Appends the viewer view of |p| for a participant whose vote is |my_vote| (-1: none). */
struct rtk_jw;
void rtk_chan_msg_viewer_view(struct rtk_jw *w, const rtk_poll_view *p, int my_vote);

/* Limits of a poll (REST create-poll and the channel's poll.create alike). */
#define RTK_POLL_QUESTION_MAX 1024 /* characters, after trimming */
#define RTK_POLL_OPTION_MAX 256
#define RTK_POLL_OPTIONS_MAX 32

/* A poll to create, validated from a JSON object (a REST body or a poll.create). */
typedef struct rtk_poll_input {
    rtk_poll_spec spec; /* created_by left NULL; view_bytes set for created_by NULL + 36 */
    const char *opts[RTK_POLL_OPTIONS_MAX];
    char *question; /* trimmed copy */
    char error[160]; /* why it was refused */
} rtk_poll_input;

/* Validates |obj|'s question, options, anonymous and hide_votes. Returns 0 and fills *in
 * (strings borrow from |obj|, which must outlive it), or -1 with in->error set naming the
 * field. Free with rtk_poll_input_free either way. */
struct json_t;
int rtk_poll_input_parse(struct json_t *obj, rtk_poll_input *in);
void rtk_poll_input_free(rtk_poll_input *in);

/* Ids a host action names (participant.kick, waiting.admit/refuse): at most this many. */
#define RTK_CHAN_IDS_MAX 1000

/* A client message, parsed. Strings borrow from the parser's document. */
typedef struct rtk_chan_req {
    int type;        /* RTK_CREQ_* */
    const char *ref; /* NULL when absent */
    size_t ref_len;
    const char *poll_id;    /* poll.vote: NULL when absent or not a string */
    int64_t option;         /* poll.vote: -1 when absent or not an integer */
    rtk_poll_input poll;    /* poll.create */
    const char **ids;       /* participant.kick: participant_ids then custom ones;
                             * waiting.*: participant_ids */
    size_t nids, ncustom;   /* ids[nids - ncustom ..] are custom_participant_ids */
    const char *error_code; /* RTK_CREQ_INVALID: the error to answer */
    const char *error_text;
    void *doc; /* private: the parsed document */
} rtk_chan_req;

enum {
    RTK_CREQ_INVALID = 0,
    RTK_CREQ_PING,
    RTK_CREQ_VOTE,
    RTK_CREQ_POLL_CREATE,
    RTK_CREQ_KICK,
    RTK_CREQ_KICK_ALL,
    RTK_CREQ_ADMIT,
    RTK_CREQ_REFUSE
};

/* Parses the text message |text| (|len| bytes, valid UTF-8 as the codec checked). Always
 * fills *out; release it with rtk_chan_req_free. */
void rtk_chan_req_parse(const char *text, size_t len, rtk_chan_req *out);
void rtk_chan_req_free(rtk_chan_req *req);

#endif
