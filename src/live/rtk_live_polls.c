/* SPDX-License-Identifier: MIT */
/* rtk_live_polls.c - polls of a live session (issue #4: not built yet; votes are refused). */
#include "live/rtk_live_int.h"

void rtk_live__polls_free(rtk_lsession *s)
{
    (void)s;
}

json_t *rtk_live__polls_view_all(rtk_lsession *s, const char *participant_id)
{
    (void)s;
    (void)participant_id;
    return json_array();
}

void rtk_live__poll_vote(rtk_live *live, rtk_peer *p, json_t *msg, json_t *ref)
{
    (void)msg;
    json_t *e = json_pack("{s:s,s:s,s:s}", "type", "error", "code", "poll_not_found", "message",
                          "No such poll in this session");
    if (ref != NULL)
        json_object_set(e, "ref", ref);
    rtk_frame *f = rtk_frame_json(e);
    json_decref(e);
    if (live->tr->send(p->conn, f) != 0 && !p->dropping) {
        p->dropping = 1;
        p->drop_next = live->drops;
        live->drops = p;
    }
    rtk_frame_unref(f);
}

void rtk_live__polls_tick(rtk_live *live, int64_t now)
{
    (void)live;
    (void)now;
}

void rtk_live__polls_restore(rtk_live *live, rtk_lsession *s)
{
    (void)live;
    (void)s;
}

void rtk_live__votes_committed(rtk_live *live)
{
    (void)live;
}
