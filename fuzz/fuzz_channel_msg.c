/* SPDX-License-Identifier: MIT */
/* fuzz_channel_msg.c - libFuzzer harness: one complete text message from a participant into
 * the live layer.
 *
 * Surface: rtk_chan_dispatch(), which the channel calls with every complete text message a
 * peer sends (at most RTK_WS_MAX_MESSAGE bytes: run with -max_len=65536): the channel's parser
 * of client messages, then the live layer acting on protocol 2's messages (ping, poll.vote,
 * and the host actions poll.create, participant.kick, session.kick_all, waiting.admit and
 * waiting.refuse, which reach the store through the API layer's kick); everything else gets
 * an error message. Peer 0 is a host (group_call_host), peer 1 a participant, peer 2 a
 * webinar_viewer, which waits in the waiting room until the host admits it. Every reply is rendered by the channel's own serialiser
 * (rtk_chan_msg_frame) and checked as a client would read it.
 *
 * The world (fuzz_world.c) is a real live layer on a temporary SQLite store with persistence,
 * with a recording transport instead of sockets. Three participants are connected to the meeting; the input is
 * sent by the one its first byte picks (peers differ in name and voting history). The live
 * session has polls (anonymous, hidden, plain); their ids are random, so "$POLL0".."$POLL3" in
 * the input stand for them and poll.vote reaches its accept path; "$PART0".."$PART2" stand for
 * the participants' ids, so host actions reach theirs. A host action that closes peers (a
 * kick, a kick-all, a refusal) is followed by a fresh session with everyone back. A fresh
 * session with fresh polls replaces it every RESET_EVERY inputs, which keeps memory and the
 * store bounded. Flood control is off (msg_rate -1): the fuzzer is never just rate-limited.
 *
 * Checked after each message, with a loop turn for the group commit and the vote replies:
 *   - rtk_chan_dispatch returns 0 and no peer is closed, unless the host's kick, kick-all or
 *     refusal closed it;
 *   - every frame sent is a server text frame (or ping) whose payload is a JSON object with a
 *     string "type"; an "error" carries a string "code" and "message";
 *   - the sender, and only the sender, gets exactly one reply (pong, error, poll.voted, done,
 *     or the poll.created of its poll.create; those that wait for the store within a few loop
 *     turns), and it is the one PROTOCOL.md §2, §4 and §5 give for the message: pong for ping,
 *     poll.voted or poll_not_found, invalid_option, already_voted or forbidden for a vote,
 *     done, poll.created or forbidden, invalid_message, not_found for a host action,
 *     invalid_json, invalid_message or unknown_type otherwise, carrying the message's "ref"
 *     when it had a valid one.
 */
#define _GNU_SOURCE /* memmem */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan/rtk_chan.h"
#include "chan/rtk_chan_msg.h"
#include "fuzz_world.h"
#include "live/rtk_live.h"
#include "net/rtk_ws.h"

#define RESET_EVERY 4096
#define NPOLLS 4

typedef struct fake_conn {
    int closed;
    int expect_created; /* its message was a poll.create: its poll.created is its reply */
    unsigned frames;  /* frames received since the counter was last reset */
    unsigned replies; /* of which replies: pong, error or poll.voted */
    json_t *reply;    /* the last reply */
} fake_conn;

static fuzz_world world;
static fake_conn conns[FW_NPART];
static rtk_peer *peers[FW_NPART];
static unsigned runs;
static char poll_ids[NPOLLS][37];
static int npolls;

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_channel_msg: invariant broken: %s\n", what);
    abort();
}

static int check_frame(fake_conn *c, const rtk_frame *f)
{
    if (f->len < 2 || (f->data[0] & 0xf0) != 0x80 || (f->data[1] & 0x80))
        fail("not a final, unmasked server frame");
    int op = f->data[0] & 0x0f;
    size_t plen = f->data[1] & 0x7f, hlen = 2;
    if (plen == 126) {
        plen = (size_t)f->data[2] << 8 | f->data[3];
        hlen = 4;
    } else if (plen == 127) {
        plen = 0;
        for (int i = 0; i < 8; i++)
            plen = plen << 8 | f->data[2 + i];
        hlen = 10;
    }
    if (hlen + plen != f->len)
        fail("frame length does not match its header");
    if (op == RTK_WS_OP_TEXT) {
        json_error_t err;
        json_t *m = json_loadb((const char *)f->data + hlen, plen, 0, &err);
        if (!json_is_object(m) || !json_is_string(json_object_get(m, "type")))
            fail("a server message that is not a JSON object with a string \"type\"");
        const char *type = json_string_value(json_object_get(m, "type"));
        if (strcmp(type, "error") == 0 && (!json_is_string(json_object_get(m, "code")) ||
                                           !json_is_string(json_object_get(m, "message"))))
            fail("an error message without a string code and message");
        if (strcmp(type, "pong") == 0 || strcmp(type, "error") == 0 ||
            strcmp(type, "poll.voted") == 0 || strcmp(type, "done") == 0 ||
            (c->expect_created && strcmp(type, "poll.created") == 0)) {
            c->replies++;
            json_decref(c->reply);
            c->reply = m;
        } else {
            json_decref(m);
        }
    } else if (op != RTK_WS_OP_PING) {
        fail("a server frame that is neither text nor ping");
    }
    c->frames++;
    return 0;
}

static int fake_send(void *conn, rtk_live_msg *msg, const char *ref, size_t ref_len)
{
    fake_conn *c = conn;
    if (c->closed)
        fail("a frame sent to a closed connection");
    rtk_frame *f = rtk_chan_msg_frame(msg, ref, ref_len, 25000);
    int rc = check_frame(c, f);
    rtk_frame_unref(f);
    return rc;
}

static int is_host_action(const char *type, const char *const types[5])
{
    for (int i = 0; i < 5; i++)
        if (strcmp(type, types[i]) == 0)
            return 1;
    return 0;
}

/* PROTOCOL.md §2, §4, §5: the one reply a message must get, given the message alone. */
static void check_reply(const char *text, size_t len, const json_t *reply)
{
    static const char *const vote_errors[] = {"poll_not_found", "invalid_option", "already_voted",
                                              "forbidden"};
    static const char *const host_errors[] = {"forbidden", "invalid_message", "not_found"};
    static const char *const host_types[] = {"poll.create", "participant.kick",
                                             "session.kick_all", "waiting.admit",
                                             "waiting.refuse"};
    json_t *msg = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    const char *rtype = json_string_value(json_object_get(reply, "type"));
    const char *code = json_string_value(json_object_get(reply, "code"));
    const json_t *ref = json_object_get(msg, "ref"), *rref = json_object_get(reply, "ref");
    int ref_ok = json_is_string(ref) && json_string_length(ref) <= 64;
    const char *type = json_string_value(json_object_get(msg, "type"));
    const char *want = NULL; /* the error code expected, or NULL for a non-error reply */
    int echo = 1;            /* the reply must carry the message's ref */
    if (!json_is_object(msg)) {
        want = "invalid_json";
        echo = 0;
    } else if (ref != NULL && !ref_ok) {
        want = "invalid_message";
        echo = 0;
    } else if (type == NULL) {
        want = "invalid_message";
    } else if (strcmp(type, "ping") == 0) {
        if (strcmp(rtype, "pong") != 0)
            fail("a ping was not answered with pong");
    } else if (strcmp(type, "poll.vote") == 0) {
        int ok = strcmp(rtype, "poll.voted") == 0;
        for (size_t i = 0; !ok && code != NULL && i < 4; i++)
            ok = strcmp(code, vote_errors[i]) == 0;
        if (!ok)
            fail("a vote answered with neither poll.voted nor a documented vote error");
    } else if (is_host_action(type, host_types)) {
        int ok = strcmp(rtype, "done") == 0 || strcmp(rtype, "poll.created") == 0;
        for (size_t i = 0; !ok && code != NULL && i < 3; i++)
            ok = strcmp(code, host_errors[i]) == 0;
        if (!ok)
            fail("a host action answered with neither done, poll.created nor a documented "
                 "error");
    } else {
        want = "unknown_type";
    }
    if (want != NULL && (strcmp(rtype, "error") != 0 || strcmp(code, want) != 0)) {
        fprintf(stderr, "fuzz_channel_msg: expected error %s, got %s %s\n", want, rtype,
                code ? code : "");
        fail("the wrong reply");
    }
    if (echo && ref != NULL ? !json_equal(ref, rref) : rref != NULL)
        fail("the reply's ref is not the message's");
    json_decref(msg);
}

static void fake_close(void *conn, int why)
{
    fake_conn *c = conn;
    (void)why;
    c->closed = 1;
}

static const rtk_live_transport fake = {
    .send = fake_send, .release = rtk_chan_msg_release, .close = fake_close};

static void on_poll(void *arg, int status, const rtk_poll_view *poll)
{
    (void)arg;
    if (status != 0)
        fail("a poll was not stored");
    snprintf(poll_ids[npolls++], sizeof(poll_ids[0]), "%s", poll->id);
}

static void make_poll(const char *question, const char *const *opts, int n, int anonymous, int hide)
{
    rtk_poll_spec spec = {.question = question, .opts = opts, .nopts = n, .anonymous = anonymous,
                          .hide_votes = hide, .created_by = world.token_id};
    if (rtk_live_poll_create(world.ctx.live, FW_MEETING, &spec, on_poll, NULL) != 0)
        fail("rtk_live_poll_create");
    fuzz_world_turn(&world); /* stored: the poll joins the session */
}

/* Starts a session: every peer joins, and the session gets its polls. */
static void start_session(void)
{
    for (int i = 0; i < FW_NPART; i++)
        json_decref(conns[i].reply);
    memset(conns, 0, sizeof(conns));
    npolls = 0;
    for (int i = 0; i < FW_NPART; i++)
        if ((peers[i] = fuzz_world_join(&world, i, &conns[i])) == NULL)
            fail("join");
    static const char *const yn[] = {"Yes", "No"};
    static const char *const many[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    static const char *const one[] = {"only"};
    make_poll("Ship it?", yn, 2, 0, 0);
    make_poll("Secret ballot", many, 8, 1, 1);
    make_poll("Hidden", yn, 2, 0, 1);
    make_poll("Single", one, 1, 1, 0);
    fuzz_world_turn(&world);
}

static void on_count(void *arg, int status, int64_t count)
{
    (void)arg;
    (void)count;
    if (status != 0)
        fail("kick-all was not stored");
}

static void end_session(void)
{
    /* Not found when the host's kick-all ended it already. */
    (void)rtk_live_kick_all(world.ctx.live, FW_MEETING, on_count, NULL);
    fuzz_world_turn(&world);
}

static void cleanup(void)
{
    if (world.ctx.live != NULL) {
        end_session();
        fuzz_world_close(&world);
    }
    for (int i = 0; i < FW_NPART; i++)
        json_decref(conns[i].reply);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_world_open(&world, &fake, 0);
    start_session();
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > RTK_WS_MAX_MESSAGE + 1)
        return 0;
    if (++runs % RESET_EVERY == 0) {
        end_session();
        start_session();
    }
    int who = data[0] % FW_NPART;
    for (int i = 0; i < FW_NPART; i++) {
        conns[i].frames = conns[i].replies = 0;
        conns[i].expect_created = 0;
        rtk_live_heard(world.ctx.live, peers[i]); /* no peer misses its heartbeat */
    }
    static const char *const keys[NPOLLS + FW_NPART] = {"$POLL0", "$POLL1", "$POLL2",
                                                         "$POLL3", "$PART0", "$PART1",
                                                         "$PART2"};
    const char *vals[NPOLLS + FW_NPART] = {poll_ids[0], poll_ids[1], poll_ids[2], poll_ids[3],
                                          fuzz_world_parts[0], fuzz_world_parts[1],
                                          fuzz_world_parts[2]};
    size_t len = 0;
    char *text = fuzz_expand(data + 1, size - 1, keys, vals, NPOLLS + FW_NPART, &len);
    if (len > RTK_WS_MAX_MESSAGE) { /* the codec never lets such a message through */
        free(text);
        return 0;
    }
    conns[who].expect_created = memmem(text, len, "poll.create", 11) != NULL;
    int rc = rtk_chan_dispatch(world.ctx.live, peers[who], text, len);
    if (rc != 0)
        fail("rtk_chan_dispatch dropped a peer with flood control off");
    /* A host action's reply waits for the store: a few loop turns at most. */
    for (int turn = 0; turn < 8 && conns[who].replies == 0; turn++)
        fuzz_world_turn(&world);
    int closed = 0;
    for (int i = 0; i < FW_NPART; i++) {
        closed |= conns[i].closed;
        if (i != who && conns[i].replies != 0)
            fail("another peer got a reply");
    }
    if (conns[who].replies != 1)
        fail("a message did not get exactly one reply");
    if (closed && (who != 0 || (memmem(text, len, "kick", 4) == NULL &&
                                memmem(text, len, "waiting.refuse", 14) == NULL)))
        fail("a peer was closed by something other than the host's kick or refusal");
    check_reply(text, len, conns[who].reply);
    free(text);
    if (closed) { /* everyone back, in a new session */
        end_session();
        start_session();
    }
    return 0;
}
