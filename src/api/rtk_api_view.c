/* SPDX-License-Identifier: MIT */
/* rtk_api_view.c - the session object and the REST poll view as JSON text. */
#include "api/rtk_api_view.h"

#include <stdlib.h>
#include <string.h>

#include "util/rtk_err.h"

void rtk_api_view_session(rtk_jw *w, const rtk_session_view *s)
{
    RTK_JW_LIT(w, "{\"id\":");
    rtk_jw_str(w, s->id);
    RTK_JW_LIT(w, ",\"associated_id\":");
    rtk_jw_str(w, s->meeting_id);
    RTK_JW_LIT(w, ",\"meeting_display_name\":");
    rtk_jw_str(w, s->title);
    RTK_JW_LIT(w, ",\"type\":\"meeting\",\"status\":");
    if (s->ended)
        RTK_JW_LIT(w, "\"ENDED\"");
    else
        RTK_JW_LIT(w, "\"LIVE\"");
    RTK_JW_LIT(w, ",\"live_participants\":");
    rtk_jw_int(w, s->live);
    RTK_JW_LIT(w, ",\"max_concurrent_participants\":");
    rtk_jw_int(w, s->peak);
    RTK_JW_LIT(w, ",\"minutes_consumed\":");
    rtk_jw_real(w, s->minutes);
    RTK_JW_LIT(w, ",\"organization_id\":");
    rtk_jw_str(w, s->app_id);
    RTK_JW_LIT(w, ",\"started_at\":");
    rtk_jw_time(w, s->started_ms);
    RTK_JW_LIT(w, ",\"created_at\":");
    rtk_jw_time(w, s->started_ms);
    RTK_JW_LIT(w, ",\"updated_at\":");
    rtk_jw_time(w, s->updated_ms);
    RTK_JW_LIT(w, ",\"ended_at\":");
    if (s->ended)
        rtk_jw_time(w, s->ended_ms);
    else
        RTK_JW_LIT(w, "null");
    RTK_JW_LIT(w, ",\"breakout_rooms\":[],\"meta\":{}}");
}

void rtk_api_view_from_row(const rtk_store_session *row, rtk_session_view *out)
{
    memset(out, 0, sizeof(*out));
    out->id = row->id;
    out->meeting_id = row->meeting_id;
    out->app_id = row->app_id;
    out->title = row->title;
    out->ended = row->ended;
    out->started_ms = row->started_ms;
    out->updated_ms = row->updated_ms;
    out->ended_ms = row->ended_ms;
    out->seen_ms = row->seen_ms;
    out->closed_ms = row->closed_ms;
    out->peak = row->peak;
    out->minutes = (double)row->closed_ms / 60000.0;
}

static void voter(rtk_jw *w, const rtk_vote_view *v)
{
    RTK_JW_LIT(w, "{\"id\":");
    rtk_jw_str(w, v->participant_id);
    RTK_JW_LIT(w, ",\"name\":");
    rtk_jw_str(w, v->name);
    RTK_JW_LIT(w, "}");
}

void rtk_api_view_poll(rtk_jw *w, const rtk_poll_view *p)
{
    /* The voters of each option in the order cast, grouped in one pass (a counting sort). */
    size_t *start = rtk_xcalloc((size_t)p->nopts + 1, sizeof(*start));
    const rtk_vote_view **by_opt = rtk_xcalloc(p->nvotes ? p->nvotes : 1, sizeof(*by_opt));
    for (size_t k = 0; k < p->nvotes; k++)
        start[p->votes[k]->option + 1]++;
    for (int i = 0; i < p->nopts; i++)
        start[i + 1] += start[i];
    size_t *fill = rtk_xcalloc((size_t)p->nopts + 1, sizeof(*fill));
    for (size_t k = 0; k < p->nvotes; k++) {
        int o = p->votes[k]->option;
        by_opt[start[o] + fill[o]++] = p->votes[k];
    }
    free(fill);
    RTK_JW_LIT(w, "{\"id\":");
    rtk_jw_str(w, p->id);
    RTK_JW_LIT(w, ",\"question\":");
    rtk_jw_str(w, p->question);
    RTK_JW_LIT(w, ",\"options\":[");
    for (int i = 0; i < p->nopts; i++) {
        if (i)
            RTK_JW_LIT(w, ",");
        RTK_JW_LIT(w, "{\"text\":");
        rtk_jw_str(w, p->opts[i]);
        RTK_JW_LIT(w, ",\"count\":");
        rtk_jw_int(w, p->counts[i]);
        RTK_JW_LIT(w, ",\"votes\":[");
        for (size_t k = start[i]; !p->anonymous && k < start[i + 1]; k++) {
            if (k > start[i])
                RTK_JW_LIT(w, ",");
            voter(w, by_opt[k]);
        }
        RTK_JW_LIT(w, "]}");
    }
    RTK_JW_LIT(w, "],\"anonymous\":");
    rtk_jw_bool(w, p->anonymous);
    RTK_JW_LIT(w, ",\"hide_votes\":");
    rtk_jw_bool(w, p->hide_votes);
    RTK_JW_LIT(w, ",\"created_by\":");
    rtk_jw_str(w, p->created_by);
    RTK_JW_LIT(w, ",\"voted\":[");
    for (size_t k = 0; k < p->nvotes; k++) {
        if (k)
            RTK_JW_LIT(w, ",");
        rtk_jw_str(w, p->votes[k]->participant_id);
    }
    RTK_JW_LIT(w, "],\"created_at\":");
    rtk_jw_time(w, p->created_ms);
    RTK_JW_LIT(w, "}");
    free(by_opt);
    free(start);
}
