/* SPDX-License-Identifier: MIT */
/* rtk_api_analytics.c - GET P/analytics/daywise: sessions and their minutes per UTC day.
 *
 * From the session history: a session counts on the UTC day it started, with all its
 * minutes (an ENDED session's summed connected time; a LIVE one's so far, from live state).
 * Recordings do not exist here: recording_stats are zeros. The range is whole UTC days,
 * start_date to end_date inclusive (YYYY-MM-DD): by default the 31 days ending today, at most
 * ANALYTICS_MAX_DAYS. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/rtk_api.h"
#include "api/rtk_api_view.h"
#include "http/rtk_query.h"
#include "util/rtk_err.h"
#include "util/rtk_time.h"

#define DAY_MS 86400000LL
#define ANALYTICS_MAX_DAYS 366
#define ANALYTICS_DEFAULT_DAYS 31

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int rtk_api_parse_day(const char *s, int64_t *day)
{
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return RTK_EINVAL;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return RTK_EINVAL;
    int64_t y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int64_t m = (s[5] - '0') * 10 + (s[6] - '0');
    int64_t d = (s[8] - '0') * 10 + (s[9] - '0');
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return RTK_EINVAL;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m == 2 && d == 29 && !leap)
        return RTK_EINVAL;
    *day = days_from_civil(y, m, d);
    return 0;
}

/* YYYY-MM-DD of day |day| since the epoch. */
static void day_name(int64_t day, char out[11])
{
    char iso[25];
    rtk_time_iso(day * DAY_MS, iso);
    memcpy(out, iso, 10);
    out[10] = '\0';
}

typedef struct days_state {
    int64_t first, ndays; /* the range: days first .. first + ndays - 1 */
} days_state;

static void on_days(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    days_state *ds = call->data;
    if (status != 0) {
        rtk_api_store_error(call, status);
        return;
    }
    int64_t *count = rtk_xcalloc((size_t)ds->ndays, sizeof(*count));
    double *minutes = rtk_xcalloc((size_t)ds->ndays, sizeof(*minutes));
    const rtk_store_set *ended = &res->sets[0], *live = &res->sets[1];
    for (size_t i = 0; i < ended->nrows; i++) {
        int64_t k = rtk_store_int(ended, i, 0) - ds->first;
        if (k < 0 || k >= ds->ndays)
            continue;
        count[k] += rtk_store_int(ended, i, 1);
        minutes[k] += (double)rtk_store_int(ended, i, 2) / 60000.0;
    }
    for (size_t i = 0; i < live->nrows; i++) {
        rtk_store_session s;
        rtk_session_view v;
        rtk_store_session_read(live, i, 0, &s);
        if (!rtk_live_session_if_live(call->ctx->live, s.meeting_id, s.id, &v))
            rtk_api_view_from_row(&s, &v);
        int64_t k = s.started_ms / DAY_MS - ds->first;
        if (k >= 0 && k < ds->ndays) {
            count[k]++;
            minutes[k] += v.minutes;
        }
        free(s.title);
    }
    json_t *sessions = json_array(), *recordings = json_array();
    int64_t total = 0;
    double total_minutes = 0;
    for (int64_t k = 0; k < ds->ndays; k++) {
        char day[11];
        day_name(ds->first + k, day);
        json_array_append_new(sessions,
                              json_pack("{s:s,s:I,s:f}", "day", day, "total_sessions",
                                        (json_int_t)count[k], "total_session_minutes", minutes[k]));
        json_array_append_new(recordings, json_pack("{s:s,s:i,s:i}", "day", day, "total_recordings",
                                                    0, "total_recording_minutes", 0));
        total += count[k];
        total_minutes += minutes[k];
    }
    free(count);
    free(minutes);
    json_t *data =
        json_pack("{s:{s:o,s:I,s:f},s:{s:o,s:i,s:i}}", "session_stats", "day_stats", sessions,
                  "sessions_count", (json_int_t)total, "sessions_minutes_consumed", total_minutes,
                  "recording_stats", "day_stats", recordings, "recording_count", 0,
                  "recording_minutes_consumed", 0);
    rtk_api_reply(call, 200, data, NULL);
}

void rtk_api_analytics_daywise(rtk_call *call)
{
    rtk_http_req *req = call->req;
    static const char *const names[] = {"start_date", "end_date"};
    int64_t day[2];
    int given[2];
    for (int i = 0; i < 2; i++) {
        char v[16];
        given[i] = rtk_query_get(req->query, req->query_len, names[i], v, sizeof(v));
        if (given[i] < 0 || (given[i] > 0 && rtk_api_parse_day(v, &day[i]) != 0)) {
            rtk_api_fail(call, 400, "\"%s\" must be a date as YYYY-MM-DD", names[i]);
            return;
        }
    }
    if (!given[1])
        day[1] = given[0] ? day[0] + ANALYTICS_DEFAULT_DAYS - 1 : rtk_time_now_ms() / DAY_MS;
    if (!given[0])
        day[0] = day[1] - (ANALYTICS_DEFAULT_DAYS - 1);
    if (day[0] > day[1]) {
        rtk_api_fail(call, 400, "\"end_date\" must not be before \"start_date\"");
        return;
    }
    if (day[1] - day[0] + 1 > ANALYTICS_MAX_DAYS) {
        rtk_api_fail(call, 400, "\"end_date\" must be at most %d days after \"start_date\"",
                     ANALYTICS_MAX_DAYS - 1);
        return;
    }
    days_state *ds = rtk_xcalloc(1, sizeof(*ds));
    call->data = ds;
    ds->first = day[0];
    ds->ndays = day[1] - day[0] + 1;
    rtk_store_session_days(call->ctx->store, call->app, day[0] * DAY_MS, (day[1] + 1) * DAY_MS,
                           on_days, call);
}
