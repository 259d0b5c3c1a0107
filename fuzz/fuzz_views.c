/* SPDX-License-Identifier: MIT */
/* fuzz_views.c - libFuzzer harness: the channel's messages and the REST views, rendered from
 * hostile data of every size the validators let through.
 *
 * Surface: rtk_chan_msg_frame() for hello, poll.created (the viewer view), poll.voted (the
 * tallies; the view too in a hide_votes poll), poll.updated (the tallies and voters) and
 * the REST poll and session objects (rtk_api_view_*): what a peer or a client reads back of
 * text that other participants chose (names, questions, options, titles, refs). Sans-I/O: the
 * views are built directly from the input, the way live hands them out.
 *
 * Input: byte 0 picks my_vote and flags, byte 1 the number of options (1..32), byte 2 and 3
 * the number of votes (0..1023); the rest is cut into strings at 0xff bytes: the question, the
 * options, the voter names, the session title, the self name and the ref, each cut to its
 * validated maximum (1024, 256, 256, 1024, 256 characters; a ref of 64 bytes) and made valid
 * UTF-8 (what the JSON validators guarantee: invalid bytes become '?').
 *
 * Checked: every frame is one server text frame whose payload is valid JSON (jansson, strict)
 * with the message's type and the ref as given; a viewer view shows exact counts, at most 20
 * voters per option, the newest first, names of at most RTK_CHAN_VIEW_NAME_MAX characters,
 * nothing of an anonymous poll's voters and nothing of a hidden one's tallies, and the frame
 * that carries it is no longer than rtk_chan_msg_view_bound() says; a hello with up to 16
 * such polls and the REST objects parse too.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/rtk_api_view.h"
#include "chan/rtk_chan_msg.h"
#include "net/rtk_ws.h"

#define MAX_VOTES 1024

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_views: invariant broken: %s\n", what);
    abort();
}

/* Next string of |in| up to a 0xff byte, at most |max_chars| characters, as valid UTF-8. */
static char *take(const uint8_t **in, const uint8_t *end, size_t max_chars)
{
    const uint8_t *p = *in;
    size_t cap = max_chars * 4 + 1, n = 0, chars = 0;
    char *out = malloc(cap);
    if (out == NULL)
        abort();
    while (p < end && *p != 0xff && chars < max_chars) {
        uint8_t c = *p;
        size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
                                  : (c & 0xf8) == 0xf0 ? 4 : 0;
        int ok = len > 0 && (size_t)(end - p) >= len && c != 0;
        for (size_t i = 1; ok && i < len; i++)
            ok = (p[i] & 0xc0) == 0x80;
        /* RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF. */
        if (ok && len == 2 && c < 0xc2)
            ok = 0;
        if (ok && len == 3 && ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f)))
            ok = 0;
        if (ok && len == 4 && ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f) || c > 0xf4))
            ok = 0;
        if (ok) {
            memcpy(out + n, p, len);
            n += len;
            p += len;
        } else {
            out[n++] = '?';
            p++;
        }
        chars++;
    }
    while (p < end && *p != 0xff)
        p++; /* the rest of an overlong string */
    if (p < end)
        p++;
    out[n] = '\0';
    *in = p;
    return out;
}

static json_t *payload(const rtk_frame *f)
{
    if (f->len < 2 || f->data[0] != (0x80 | RTK_WS_OP_TEXT) || (f->data[1] & 0x80))
        fail("not a final unmasked text frame");
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
    if (hlen + len != f->len)
        fail("the frame's length is not its header's");
    json_t *j = json_loadb((const char *)f->data + hlen, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(j))
        fail("a message that is not a JSON object");
    return j;
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static void check_view(json_t *v, const rtk_poll_view *p, int my_vote)
{
    int hidden = p->hide_votes && my_vote < 0;
    json_t *opts = json_object_get(v, "options");
    if (json_array_size(opts) != (size_t)p->nopts)
        fail("the wrong number of options");
    for (int i = 0; i < p->nopts; i++) {
        json_t *o = json_array_get(opts, (size_t)i);
        if (strcmp(json_string_value(json_object_get(o, "text")), p->opts[i]) != 0)
            fail("an option's text changed");
        json_t *count = json_object_get(o, "count");
        if (hidden ? !json_is_null(count) : json_integer_value(count) != p->counts[i])
            fail("a count that is not exact, or shown while hidden");
        json_t *votes = json_object_get(o, "votes");
        size_t nv = json_array_size(votes);
        if (nv > RTK_CHAN_RECENT_VOTERS || ((hidden || p->anonymous) && nv > 0))
            fail("too many voters, or voters of a hidden or anonymous poll");
        for (size_t k = 0; k < nv; k++) {
            const char *nm = json_string_value(json_object_get(json_array_get(votes, k), "name"));
            if (nm != NULL && utf8_chars(nm) > RTK_CHAN_VIEW_NAME_MAX)
                fail("a name longer than a view shows");
        }
    }
    json_t *mv = json_object_get(v, "my_vote");
    if (my_vote < 0 ? !json_is_null(mv) : json_integer_value(mv) != my_vote)
        fail("my_vote is not the viewer's");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    const uint8_t *in = data + 4, *end = data + size;
    int nopts = data[1] % 32 + 1;
    size_t nvotes = ((size_t)data[2] << 8 | data[3]) % MAX_VOTES;
    int my_vote = (data[0] & 0x3f) % (nopts + 1) - 1;
    char *question = take(&in, end, 1024);
    char *opts[32];
    int64_t counts[32] = {0};
    for (int i = 0; i < nopts; i++)
        opts[i] = take(&in, end, 256);
    char *names[8];
    for (int i = 0; i < 8; i++)
        names[i] = take(&in, end, 256);
    char *title = take(&in, end, 1024);
    char *self_name = take(&in, end, 256);
    char *ref = take(&in, end, 64);
    static rtk_vote_view votes[MAX_VOTES];
    static const rtk_vote_view *ptrs[MAX_VOTES];
    for (size_t i = 0; i < nvotes; i++) {
        snprintf(votes[i].participant_id, sizeof(votes[i].participant_id),
                 "00000000-0000-4000-8000-%012zu", i);
        votes[i].option = (int)((i * 7 + data[0]) % (size_t)nopts);
        votes[i].name = (i % 9 == 8) ? NULL : names[i % 8];
        ptrs[i] = &votes[i];
        counts[votes[i].option]++;
    }
    rtk_poll_view p = {
        .id = "00000000-0000-4000-8000-0000000000aa",
        .question = question,
        .created_by = (data[0] & 0x40) ? NULL : "0123456789abcdef0123456789abcdef",
        .created_ms = 1700000000000,
        .anonymous = (data[0] & 0x80) != 0,
        .hide_votes = (data[0] & 0x40) != 0,
        .nopts = nopts,
        .opts = (const char *const *)opts,
        .counts = counts,
        .nvotes = nvotes,
        .votes = ptrs,
    };
    size_t bound = rtk_chan_msg_view_bound(question, p.opts, nopts, p.created_by);

    /* poll.created (the viewer view), poll.voted (the voter's vote and the tallies; the view
     * when hide_votes) and poll.updated (the tallies and the newest voters given). */
    static const int types[] = {RTK_MSG_POLL_CREATED, RTK_MSG_POLL_VOTED, RTK_MSG_POLL_UPDATED};
    size_t nvoters = nvotes < 20 ? nvotes : 20;
    for (size_t t = 0; t < 3; t++) {
        int voter = types[t] == RTK_MSG_POLL_VOTED;
        int mv = voter && my_vote < 0 ? 0 : my_vote; /* a voter has a vote */
        rtk_live_msg m = {.type = types[t], .poll = &p, .my_vote = mv};
        if (types[t] == RTK_MSG_POLL_UPDATED) {
            m.voters = ptrs + (nvotes - nvoters);
            m.nvoters = nvoters;
        }
        /* poll.updated: counts, a ref escaped at worst, voters named as a view names them */
        size_t ubound = 256 + 6 * 64 + 16 + 21 * (size_t)nopts +
                        nvoters * (120 + 6 * RTK_CHAN_VIEW_NAME_MAX);
        for (int with_ref = 0; with_ref < 2; with_ref++) {
            rtk_frame *f = rtk_chan_msg_frame(&m, with_ref ? ref : NULL, strlen(ref), 25000);
            if (f->len > (types[t] == RTK_MSG_POLL_UPDATED ? ubound : bound))
                fail("a poll message longer than its bound");
            json_t *j = payload(f);
            const char *r = json_string_value(json_object_get(j, "ref"));
            if (with_ref ? (r == NULL || strcmp(r, ref) != 0) : r != NULL)
                fail("the ref is not the one given");
            if (types[t] == RTK_MSG_POLL_CREATED || (voter && p.hide_votes)) {
                check_view(json_object_get(j, "poll"), &p, mv);
            } else if (json_object_get(j, "poll") != NULL) {
                fail("a whole poll where a delta belongs");
            }
            if (types[t] != RTK_MSG_POLL_CREATED) {
                json_t *counts_j = json_object_get(j, "counts");
                if (json_array_size(counts_j) != (size_t)nopts ||
                    json_integer_value(json_object_get(j, "total_votes")) != (json_int_t)nvotes)
                    fail("tallies that are not the poll's");
                for (int i = 0; i < nopts; i++)
                    if (json_integer_value(json_array_get(counts_j, (size_t)i)) != counts[i])
                        fail("a count that is not exact");
            }
            if (types[t] == RTK_MSG_POLL_UPDATED) {
                json_t *vs = json_object_get(j, "voters");
                if (p.anonymous ? vs != NULL : json_array_size(vs) != nvoters)
                    fail("voters of an anonymous poll, or not those given");
            }
            json_decref(j);
            rtk_frame_unref(f);
        }
        rtk_chan_msg_release(&m);
    }

    /* A hello with the session's limit of such polls. */
    rtk_session_view s = {.id = "s", .meeting_id = "m", .app_id = "a", .title = title,
                          .started_ms = 1, .updated_ms = 2, .live = 1, .peak = 1,
                          .minutes = 0.5};
    rtk_peer_view self = {.peer_id = "p", .participant_id = "u", .custom_id = ref,
                          .name = self_name, .preset = "group_call_host"};
    enum { NPOLLS = 16 };
    const rtk_poll_view *polls[NPOLLS];
    int mine[NPOLLS];
    for (int i = 0; i < NPOLLS; i++) {
        polls[i] = &p;
        mine[i] = (i % (nopts + 1)) - 1;
    }
    rtk_live_msg hello = {.type = RTK_MSG_HELLO, .session = &s, .self = &self, .polls = polls,
                          .my_votes = mine, .npolls = (size_t)(data[0] % NPOLLS) + 1};
    rtk_frame *f = rtk_chan_msg_frame(&hello, NULL, 0, 25000);
    json_t *j = payload(f);
    if (strcmp(json_string_value(json_object_get(json_object_get(j, "session"),
                                                 "meeting_display_name")),
               title) != 0)
        fail("the session's title changed");
    if (json_array_size(json_object_get(j, "polls")) != hello.npolls)
        fail("hello lost a poll");
    json_decref(j);
    rtk_frame_unref(f);
    rtk_chan_msg_release(&hello);

    /* The REST objects. */
    rtk_jw w;
    rtk_jw_init(&w, NULL, 0);
    rtk_api_view_poll(&w, &p);
    RTK_JW_LIT(&w, ",");
    rtk_api_view_session(&w, &s);
    char *text = rtk_jw_take(&w, NULL);
    size_t tlen = strlen(text);
    char *arr = malloc(tlen + 3);
    if (arr == NULL)
        abort();
    arr[0] = '[';
    memcpy(arr + 1, text, tlen);
    memcpy(arr + 1 + tlen, "]", 2);
    j = json_loads(arr, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_array(j) || json_array_size(j) != 2)
        fail("the REST views are not JSON");
    json_t *voted = json_object_get(json_array_get(j, 0), "voted");
    if (json_array_size(voted) != nvotes)
        fail("the REST view does not list every voter");
    json_decref(j);
    free(arr);
    free(text);

    free(question);
    for (int i = 0; i < nopts; i++)
        free(opts[i]);
    for (int i = 0; i < 8; i++)
        free(names[i]);
    free(title);
    free(self_name);
    free(ref);
    return 0;
}
