/* SPDX-License-Identifier: MIT */
/* test_chan_msg.c - the channel's messages: each rendered from live's description as valid
 * JSON with the fields PROTOCOL.md §4 and §6 give, once per message (every receiver without a
 * ref shares one frame), with each receiver's ref spliced in; and client messages parsed into
 * what live acts on, or the error they get. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan/rtk_chan_msg.h"
#include "net/rtk_ws.h"
#include "util/rtk_jw.h"

/* The JSON payload of a server text frame. */
static json_t *payload(const rtk_frame *f)
{
    assert_int_equal(f->data[0], 0x80 | RTK_WS_OP_TEXT);
    size_t len = f->data[1] & 0x7f, hlen = 2;
    if (len == 126) {
        len = (size_t)f->data[2] << 8 | f->data[3];
        hlen = 4;
    } else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | f->data[2 + i];
        hlen = 10;
    }
    assert_int_equal(hlen + len, f->len);
    json_error_t err;
    json_t *j = json_loadb((const char *)f->data + hlen, len, JSON_REJECT_DUPLICATES, &err);
    if (j == NULL)
        fail_msg("not JSON: %s: %.*s", err.text, (int)len, f->data + hlen);
    return j;
}

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static const rtk_session_view session = {
    .id = "s-1",
    .meeting_id = "m-1",
    .app_id = "a-1",
    .title = "Quote\" back\\slash \x01 caf\xc3\xa9",
    .started_ms = 1000,
    .updated_ms = 2000,
    .live = 3,
    .peak = 4,
    .minutes = 1.5,
};

static void a_message_is_rendered_once_and_refs_are_spliced(void **state)
{
    (void)state;
    rtk_live_msg m = {.type = RTK_MSG_SESSION_UPDATED, .session = &session};
    rtk_frame *a = rtk_chan_msg_frame(&m, NULL, 0, 25000);
    rtk_frame *b = rtk_chan_msg_frame(&m, NULL, 0, 25000);
    assert_ptr_equal(a, b); /* one frame for every receiver without a ref */
    json_t *j = payload(a);
    assert_string_equal(str(j, "type"), "session.updated");
    json_t *s = json_object_get(j, "session");
    assert_string_equal(str(s, "id"), "s-1");
    assert_string_equal(str(s, "associated_id"), "m-1");
    assert_string_equal(str(s, "meeting_display_name"), session.title);
    assert_string_equal(str(s, "status"), "LIVE");
    assert_int_equal(json_integer_value(json_object_get(s, "live_participants")), 3);
    assert_int_equal(json_integer_value(json_object_get(s, "max_concurrent_participants")), 4);
    assert_true(json_real_value(json_object_get(s, "minutes_consumed")) == 1.5);
    assert_true(json_is_null(json_object_get(s, "ended_at")));
    assert_string_equal(str(s, "started_at"), "1970-01-01T00:00:01.000Z");
    json_decref(j);
    rtk_frame *c = rtk_chan_msg_frame(&m, "r\"1", 3, 25000);
    assert_ptr_not_equal(c, a);
    j = payload(c);
    assert_string_equal(str(j, "ref"), "r\"1");
    assert_string_equal(str(json_object_get(j, "session"), "id"), "s-1");
    json_decref(j);
    rtk_frame_unref(a);
    rtk_frame_unref(b);
    rtk_frame_unref(c);
    rtk_chan_msg_release(&m);
    assert_null(m.cache);
}

static void every_message_type_is_valid_json(void **state)
{
    (void)state;
    rtk_peer_view self = {.peer_id = "p", .participant_id = "u", .custom_id = "c",
                          .name = NULL, .preset = "group_call_host",
                          .permissions = "{\"kick_participant\":true}", .permissions_len = 25};
    rtk_peer_view people[2] = {
        {.peer_id = "p", .participant_id = "u", .custom_id = "c", .preset = "h", .joined_ms = 1},
        {.peer_id = "q", .participant_id = "w", .custom_id = "d", .name = "N\"", .picture = "x",
         .preset = "h", .joined_ms = 2000}};
    const char *left[] = {"gone-1", "gone-2"};
    const char *ids[] = {"u", "w"};
    rtk_live_msg msgs[] = {
        {.type = RTK_MSG_HELLO, .session = &session, .self = &self},
        {.type = RTK_MSG_HELLO, .waiting_state = 1, .self = &self},
        {.type = RTK_MSG_ADMITTED, .session = &session, .self = &self, .list = 1,
         .peers = people, .npeers = 2, .accept = 1},
        {.type = RTK_MSG_PARTICIPANTS_UPDATED, .peers = people, .npeers = 2, .left = left,
         .nleft = 2},
        {.type = RTK_MSG_WAITING_UPDATED, .waiting = people + 1, .nwaiting = 1},
        {.type = RTK_MSG_REFUSED},
        {.type = RTK_MSG_DONE, .action = "kick", .ids = ids, .nids = 2},
        {.type = RTK_MSG_KICKED, .reason = "kick_all"},
        {.type = RTK_MSG_PONG},
        {.type = RTK_MSG_ERROR, .code = "invalid_json", .text = "The message is not valid JSON"},
    };
    static const char *const types[] = {"hello", "hello", "admitted", "participants.updated",
                                        "waiting.updated", "refused", "done", "kicked", "pong",
                                        "error"};
    for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
        rtk_frame *f = rtk_chan_msg_frame(&msgs[i], "x", 1, 25000);
        json_t *j = payload(f);
        assert_string_equal(str(j, "type"), types[i]);
        assert_string_equal(str(j, "ref"), "x");
        if (msgs[i].type == RTK_MSG_HELLO || msgs[i].type == RTK_MSG_ADMITTED) {
            assert_int_equal(json_integer_value(json_object_get(j, "protocol")), 2);
            assert_int_equal(json_integer_value(json_object_get(j, "heartbeat_ms")), 25000);
            json_t *s = json_object_get(j, "self");
            assert_string_equal(str(s, "peer_id"), "p");
            assert_true(json_is_null(json_object_get(s, "name")));
            assert_true(json_is_true(
                json_object_get(json_object_get(s, "permissions"), "kick_participant")));
            assert_null(json_object_get(s, "picture"));
            if (msgs[i].waiting_state) {
                assert_string_equal(str(j, "state"), "waiting");
                assert_null(json_object_get(j, "session"));
                assert_null(json_object_get(j, "polls"));
            } else {
                assert_string_equal(str(j, "state"), "joined");
                assert_int_equal(json_array_size(json_object_get(j, "polls")), 0);
            }
            /* participants and waiting only for the peers allowed to see them */
            assert_int_equal(json_object_get(j, "participants") != NULL, msgs[i].list);
            assert_int_equal(json_object_get(j, "waiting") != NULL, msgs[i].accept);
        }
        if (msgs[i].type == RTK_MSG_ADMITTED) {
            json_t *q = json_array_get(json_object_get(j, "participants"), 1);
            assert_string_equal(str(q, "name"), "N\"");
            assert_string_equal(str(q, "picture"), "x");
            assert_string_equal(str(q, "joined_at"), "1970-01-01T00:00:02.000Z");
            assert_true(json_is_null(json_object_get(json_array_get(json_object_get(j,
                        "participants"), 0), "picture")));
            assert_int_equal(json_array_size(json_object_get(j, "waiting")), 0);
        }
        if (msgs[i].type == RTK_MSG_PARTICIPANTS_UPDATED) {
            assert_int_equal(json_array_size(json_object_get(j, "joined")), 2);
            assert_string_equal(json_string_value(json_array_get(json_object_get(j, "left"), 1)),
                                "gone-2");
        }
        if (msgs[i].type == RTK_MSG_WAITING_UPDATED) {
            json_t *q = json_array_get(json_object_get(j, "joined"), 0);
            assert_string_equal(str(q, "waiting_since"), "1970-01-01T00:00:02.000Z");
            assert_null(json_object_get(q, "joined_at"));
            assert_int_equal(json_array_size(json_object_get(j, "left")), 0);
        }
        if (msgs[i].type == RTK_MSG_DONE) {
            assert_string_equal(str(j, "action"), "kick");
            assert_int_equal(json_array_size(json_object_get(j, "participants")), 2);
        }
        if (msgs[i].type == RTK_MSG_ERROR) {
            assert_string_equal(str(j, "code"), "invalid_json");
            assert_string_equal(str(j, "message"), "The message is not valid JSON");
        }
        json_decref(j);
        rtk_frame_unref(f);
        rtk_chan_msg_release(&msgs[i]);
    }
    rtk_live_msg ping = {.type = RTK_MSG_PING};
    rtk_frame *f = rtk_chan_msg_frame(&ping, NULL, 0, 25000);
    assert_int_equal(f->len, 2);
    assert_int_equal(f->data[0], 0x80 | RTK_WS_OP_PING);
    rtk_frame_unref(f);
    rtk_chan_msg_release(&ping);
}

/* A poll with 30 votes for option 0 and 1 for option 1, votes cast in order. */
typedef struct poll_fixture {
    rtk_vote_view votes[31];
    const rtk_vote_view *ptrs[31];
    const char *opts[2];
    int64_t counts[2];
    rtk_poll_view p;
} poll_fixture;

static void make_poll(poll_fixture *f, int hide)
{
    memset(f, 0, sizeof(*f));
    for (int i = 0; i < 31; i++) {
        snprintf(f->votes[i].participant_id, sizeof(f->votes[i].participant_id), "v%02d", i);
        f->votes[i].option = i == 30 ? 1 : 0;
        f->votes[i].name = i % 2 ? "Odd" : NULL;
        f->ptrs[i] = &f->votes[i];
    }
    f->opts[0] = "yes";
    f->opts[1] = "no \"really\"";
    f->counts[0] = 30;
    f->counts[1] = 1;
    f->p = (rtk_poll_view){.id = "poll", .question = "Q?", .created_by = "tok", .created_ms = 5,
                           .hide_votes = hide, .nopts = 2, .opts = f->opts,
                           .counts = f->counts, .nvotes = 31, .votes = f->ptrs};
}

static void viewer_views_show_what_the_viewer_may_see(void **state)
{
    (void)state;
    poll_fixture f;
    make_poll(&f, 1);
    /* Hidden: the viewer has not voted in a hide_votes poll. */
    rtk_live_msg hidden = {.type = RTK_MSG_POLL_CREATED, .poll = &f.p, .my_vote = -1};
    rtk_frame *fr = rtk_chan_msg_frame(&hidden, NULL, 0, 1);
    json_t *j = payload(fr);
    json_t *p = json_object_get(j, "poll");
    json_t *o0 = json_array_get(json_object_get(p, "options"), 0);
    assert_true(json_is_null(json_object_get(o0, "count")));
    assert_int_equal(json_array_size(json_object_get(o0, "votes")), 0);
    assert_true(json_is_null(json_object_get(p, "total_votes")));
    assert_true(json_is_null(json_object_get(p, "my_vote")));
    assert_null(json_object_get(p, "voted"));
    json_decref(j);
    rtk_frame_unref(fr);
    rtk_chan_msg_release(&hidden);
    /* poll.voted in a hide_votes poll: the tallies, and the view once, now visible: counts
     * exact, at most 20 recent voters per option, newest first. */
    rtk_live_msg mine = {.type = RTK_MSG_POLL_VOTED, .poll = &f.p, .my_vote = 1};
    fr = rtk_chan_msg_frame(&mine, "ref", 3, 1);
    j = payload(fr);
    assert_string_equal(str(j, "poll_id"), "poll");
    assert_int_equal(json_integer_value(json_object_get(j, "my_vote")), 1);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "counts"), 0)), 30);
    assert_int_equal(json_integer_value(json_object_get(j, "total_votes")), 31);
    p = json_object_get(j, "poll");
    json_t *opts = json_object_get(p, "options");
    o0 = json_array_get(opts, 0);
    assert_int_equal(json_integer_value(json_object_get(o0, "count")), 30);
    json_t *votes = json_object_get(o0, "votes");
    assert_int_equal(json_array_size(votes), RTK_CHAN_RECENT_VOTERS);
    assert_string_equal(str(json_array_get(votes, 0), "id"), "v29");
    assert_string_equal(str(json_array_get(votes, 0), "name"), "Odd");
    assert_true(json_is_null(json_object_get(json_array_get(votes, 1), "name")));
    assert_string_equal(str(json_array_get(opts, 1), "text"), "no \"really\"");
    assert_int_equal(json_integer_value(json_object_get(p, "my_vote")), 1);
    assert_int_equal(json_integer_value(json_object_get(p, "total_votes")), 31);
    assert_string_equal(str(j, "ref"), "ref");
    json_decref(j);
    rtk_frame_unref(fr);
    rtk_chan_msg_release(&mine);
    /* poll.voted without hide_votes: small, no view. */
    f.p.hide_votes = 0;
    rtk_live_msg small = {.type = RTK_MSG_POLL_VOTED, .poll = &f.p, .my_vote = 0};
    fr = rtk_chan_msg_frame(&small, "r", 1, 1);
    j = payload(fr);
    assert_null(json_object_get(j, "poll"));
    assert_true(fr->len < 160);
    json_decref(j);
    rtk_frame_unref(fr);
    rtk_chan_msg_release(&small);
    /* poll.updated: the tallies and the voters given, oldest first. */
    const rtk_vote_view *since[2] = {&f.votes[29], &f.votes[30]};
    rtk_live_msg upd = {.type = RTK_MSG_POLL_UPDATED, .poll = &f.p, .voters = since, .nvoters = 2};
    fr = rtk_chan_msg_frame(&upd, NULL, 0, 1);
    j = payload(fr);
    assert_string_equal(str(j, "type"), "poll.updated");
    assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "counts"), 1)), 1);
    json_t *vs = json_object_get(j, "voters");
    assert_int_equal(json_array_size(vs), 2);
    assert_string_equal(str(json_array_get(vs, 0), "id"), "v29");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(vs, 1), "option")), 1);
    assert_null(json_object_get(j, "poll"));
    json_decref(j);
    rtk_frame_unref(fr);
    rtk_chan_msg_release(&upd);
    /* Anonymous: never a voter. */
    f.p.anonymous = 1;
    rtk_live_msg anon = {.type = RTK_MSG_POLL_CREATED, .poll = &f.p, .my_vote = -1};
    fr = rtk_chan_msg_frame(&anon, NULL, 0, 1);
    j = payload(fr);
    o0 = json_array_get(json_object_get(json_object_get(j, "poll"), "options"), 0);
    assert_int_equal(json_integer_value(json_object_get(o0, "count")), 30);
    assert_int_equal(json_array_size(json_object_get(o0, "votes")), 0);
    json_decref(j);
    rtk_frame_unref(fr);
    rtk_chan_msg_release(&anon);
    rtk_live_msg anon_upd = {.type = RTK_MSG_POLL_UPDATED, .poll = &f.p};
    fr = rtk_chan_msg_frame(&anon_upd, NULL, 0, 1);
    j = payload(fr);
    assert_null(json_object_get(j, "voters"));
    json_decref(j);
    rtk_frame_unref(fr);
    rtk_chan_msg_release(&anon_upd);
}

/* Hardening issue, item 4: 640 voters whose names are 256 characters of U+0001 (6 bytes each
 * once escaped) across 32 options made frames of about 1 MB, and most peers were dropped as
 * slow consumers. A view now holds names of at most RTK_CHAN_VIEW_NAME_MAX characters and at
 * most RTK_CHAN_VIEW_VOTERS_BYTES of voters, and every frame stays under the view bound. */
static void hostile_voters_cannot_make_a_view_big(void **state)
{
    (void)state;
    enum { NV = 640, NO = 32 };
    static rtk_vote_view votes[NV];
    static const rtk_vote_view *ptrs[NV];
    static char name[257];
    char opt_text[NO][257];
    const char *opts[NO];
    int64_t counts[NO] = {0};
    memset(name, 0x01, 256);
    name[256] = '\0';
    for (int i = 0; i < NO; i++) {
        memset(opt_text[i], 0x01, 256);
        opt_text[i][256] = '\0';
        opts[i] = opt_text[i];
    }
    for (int i = 0; i < NV; i++) {
        snprintf(votes[i].participant_id, sizeof(votes[i].participant_id),
                 "00000000-0000-4000-8000-%012d", i);
        votes[i].option = i % NO;
        votes[i].name = name;
        ptrs[i] = &votes[i];
        counts[i % NO]++;
    }
    char question[1025];
    memset(question, 0x01, 1024);
    question[1024] = '\0';
    rtk_poll_view p = {.id = "00000000-0000-4000-8000-000000000abc", .question = question,
                       .created_by = "0123456789abcdef0123456789abcdef", .nopts = NO,
                       .hide_votes = 1, /* so that poll.voted carries the whole view */
                       .opts = opts, .counts = counts, .nvotes = NV, .votes = ptrs};
    size_t bound = rtk_chan_msg_view_bound(question, opts, NO, p.created_by);
    rtk_live_msg m = {.type = RTK_MSG_POLL_VOTED, .poll = &p, .my_vote = 3};
    char ref[65];
    memset(ref, '"', 64);
    ref[64] = '\0';
    rtk_frame *f = rtk_chan_msg_frame(&m, ref, 64, 25000);
    assert_true(f->len <= bound);
    assert_true(bound < 80 * 1024);
    json_t *j = payload(f);
    json_t *o = json_object_get(json_object_get(j, "poll"), "options");
    size_t shown = 0;
    for (size_t i = 0; i < json_array_size(o); i++) {
        json_t *vs = json_object_get(json_array_get(o, i), "votes");
        shown += json_array_size(vs);
        for (size_t k = 0; k < json_array_size(vs); k++) {
            const char *nm = json_string_value(json_object_get(json_array_get(vs, k), "name"));
            assert_int_equal(strlen(nm), RTK_CHAN_VIEW_NAME_MAX); /* 64 one-byte characters */
        }
        assert_int_equal(json_integer_value(json_object_get(json_array_get(o, i), "count")),
                         NV / NO); /* counts stay exact */
    }
    assert_true(shown > 0 && shown < NV);
    /* The newest voter comes first. */
    json_t *first = json_array_get(json_object_get(json_array_get(o, (NV - 1) % NO), "votes"), 0);
    assert_string_equal(json_string_value(json_object_get(first, "id")),
                        votes[NV - 1].participant_id);
    json_decref(j);
    rtk_frame_unref(f);
    rtk_chan_msg_release(&m);
}

static void client_messages_are_parsed_or_answered(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int type;
        const char *code;
        const char *ref;
    } cases[] = {
        {"{\"type\":\"ping\",\"ref\":\"abc\"}", RTK_CREQ_PING, NULL, "abc"},
        {"{\"type\":\"poll.vote\",\"poll_id\":\"p\",\"option\":2}", RTK_CREQ_VOTE, NULL, NULL},
        {"not json", RTK_CREQ_INVALID, "invalid_json", NULL},
        {"[1,2]", RTK_CREQ_INVALID, "invalid_json", NULL},
        {"{\"type\":\"ping\",\"type\":\"ping\"}", RTK_CREQ_INVALID, "invalid_json", NULL},
        {"{\"ref\":\"x\"}", RTK_CREQ_INVALID, "invalid_message", "x"},
        {"{\"type\":7}", RTK_CREQ_INVALID, "invalid_message", NULL},
        {"{\"type\":\"dance\",\"ref\":\"q\"}", RTK_CREQ_INVALID, "unknown_type", "q"},
        {"{\"type\":\"ping\",\"ref\":5}", RTK_CREQ_INVALID, "invalid_message", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rtk_chan_req r;
        rtk_chan_req_parse(cases[i].text, strlen(cases[i].text), &r);
        assert_int_equal(r.type, cases[i].type);
        if (cases[i].code)
            assert_string_equal(r.error_code, cases[i].code);
        if (cases[i].ref) {
            assert_non_null(r.ref);
            assert_int_equal(r.ref_len, strlen(cases[i].ref));
            assert_memory_equal(r.ref, cases[i].ref, r.ref_len);
        } else {
            assert_null(r.ref);
        }
        if (r.type == RTK_CREQ_VOTE) {
            assert_string_equal(r.poll_id, "p");
            assert_int_equal(r.option, 2);
        }
        rtk_chan_req_free(&r);
    }
    /* A ref of 65 bytes is refused; one of 64 is fine. A non-integer option reads as -1. */
    char text[160];
    snprintf(text, sizeof(text), "{\"type\":\"ping\",\"ref\":\"%065d\"}", 0);
    rtk_chan_req r;
    rtk_chan_req_parse(text, strlen(text), &r);
    assert_string_equal(r.error_code, "invalid_message");
    rtk_chan_req_free(&r);
    snprintf(text, sizeof(text), "{\"type\":\"ping\",\"ref\":\"%064d\"}", 0);
    rtk_chan_req_parse(text, strlen(text), &r);
    assert_int_equal(r.type, RTK_CREQ_PING);
    rtk_chan_req_free(&r);
    const char *vote = "{\"type\":\"poll.vote\",\"poll_id\":3,\"option\":\"1\"}";
    rtk_chan_req_parse(vote, strlen(vote), &r);
    assert_int_equal(r.type, RTK_CREQ_VOTE);
    assert_null(r.poll_id);
    assert_int_equal(r.option, -1);
    rtk_chan_req_free(&r);
}

/* Host actions (PROTOCOL.md §5): parsed with the REST create-poll's validation, ids checked. */
static void host_messages_are_parsed_or_answered(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int type;
        const char *error_part; /* in error_text when RTK_CREQ_INVALID */
    } cases[] = {
        {"{\"type\":\"poll.create\",\"question\":\" Q \",\"options\":[\"a\",\"b\"],"
         "\"hide_votes\":true}",
         RTK_CREQ_POLL_CREATE, NULL},
        {"{\"type\":\"poll.create\",\"options\":[\"a\"]}", RTK_CREQ_INVALID, "\"question\""},
        {"{\"type\":\"poll.create\",\"question\":\"Q\",\"options\":[\"a\",\"\"]}",
         RTK_CREQ_INVALID, "\"options[1]\""},
        {"{\"type\":\"poll.create\",\"question\":\"Q\",\"options\":[\"a\"],\"anonymous\":1}",
         RTK_CREQ_INVALID, "\"anonymous\""},
        {"{\"type\":\"participant.kick\",\"participant_ids\":[\"a\"],"
         "\"custom_participant_ids\":[\"c1\",\"c2\"]}",
         RTK_CREQ_KICK, NULL},
        {"{\"type\":\"participant.kick\"}", RTK_CREQ_INVALID, "must name"},
        {"{\"type\":\"participant.kick\",\"participant_ids\":[7]}", RTK_CREQ_INVALID,
         "non-empty strings"},
        {"{\"type\":\"session.kick_all\",\"ref\":\"k\"}", RTK_CREQ_KICK_ALL, NULL},
        {"{\"type\":\"waiting.admit\",\"participant_ids\":[\"a\",\"b\"]}", RTK_CREQ_ADMIT,
         NULL},
        {"{\"type\":\"waiting.refuse\",\"participant_ids\":[]}", RTK_CREQ_REFUSE, NULL},
        {"{\"type\":\"waiting.refuse\"}", RTK_CREQ_INVALID, "\"participant_ids\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rtk_chan_req r;
        rtk_chan_req_parse(cases[i].text, strlen(cases[i].text), &r);
        assert_int_equal(r.type, cases[i].type);
        if (r.type == RTK_CREQ_INVALID) {
            assert_string_equal(r.error_code, "invalid_message");
            assert_non_null(strstr(r.error_text, cases[i].error_part));
        }
        if (r.type == RTK_CREQ_POLL_CREATE) {
            assert_string_equal(r.poll.spec.question, "Q"); /* trimmed */
            assert_int_equal(r.poll.spec.nopts, 2);
            assert_true(r.poll.spec.hide_votes);
            assert_false(r.poll.spec.anonymous);
            assert_true(r.poll.spec.view_bytes > 640);
        }
        if (r.type == RTK_CREQ_KICK) {
            assert_int_equal(r.nids, 3);
            assert_int_equal(r.ncustom, 2);
            assert_string_equal(r.ids[0], "a");
            assert_string_equal(r.ids[2], "c2");
        }
        if (r.type == RTK_CREQ_ADMIT)
            assert_int_equal(r.nids, 2);
        if (r.type == RTK_CREQ_KICK_ALL)
            assert_int_equal(r.ref_len, 1);
        rtk_chan_req_free(&r);
    }
}

static void frames_have_minimal_headers(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 125, 126, 65535, 65536, 70000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char *buf = calloc(1, sizes[i] + 1);
        rtk_frame *f = rtk_frame_new(RTK_WS_OP_TEXT, buf, sizes[i]);
        size_t hlen = sizes[i] < 126 ? 2 : sizes[i] < 65536 ? 4 : 10;
        assert_int_equal(f->len, hlen + sizes[i]);
        assert_int_equal(f->data[0], 0x81);
        assert_int_equal(f->data[1] & 0x80, 0); /* servers never mask */
        rtk_frame *g = rtk_frame_ref(f);
        assert_ptr_equal(g, f);
        rtk_frame_unref(g);
        rtk_frame_unref(f); /* the last reference frees it (ASan checks) */
        free(buf);
    }
    const char *parts[] = {"{\"a\":", "1}"};
    size_t lens[] = {5, 2};
    rtk_frame *f = rtk_frame_text_parts(parts, lens, 2);
    json_t *j = payload(f);
    assert_int_equal(json_integer_value(json_object_get(j, "a")), 1);
    json_decref(j);
    rtk_frame_unref(f);
    rtk_frame_unref(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_message_is_rendered_once_and_refs_are_spliced),
        cmocka_unit_test(every_message_type_is_valid_json),
        cmocka_unit_test(viewer_views_show_what_the_viewer_may_see),
        cmocka_unit_test(hostile_voters_cannot_make_a_view_big),
        cmocka_unit_test(client_messages_are_parsed_or_answered),
        cmocka_unit_test(host_messages_are_parsed_or_answered),
        cmocka_unit_test(frames_have_minimal_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
