/* SPDX-License-Identifier: MIT */
/* rtk_db_sessions.c - sessions, their peers and kicks in SQLite. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/rtk_db.h"
#include "store/rtk_db_int.h"
#include "util/rtk_err.h"
#include "util/rtk_time.h"

static const char SQL_SESSION_INSERT[] =
    "INSERT INTO sessions(id,meeting_id,app_id,title,status,started_at,ended_at,updated_at,"
    "seen_at,peak,closed_ms) VALUES(?1,?2,?3,?4,'LIVE',?5,NULL,?6,?7,?8,?9)";
static const char SQL_SESSION_UPDATE[] =
    "UPDATE sessions SET status=?2, ended_at=?3, updated_at=?4, seen_at=?5, peak=?6,"
    " closed_ms=?7 WHERE id=?1";
static const char SQL_PEER_INSERT[] =
    "INSERT INTO session_peers(id,session_id,participant_id,custom_participant_id,"
    "display_name,preset_name,joined_at) VALUES(?,?,?,?,?,?,?)";
static const char SQL_PEER_LEFT[] = "UPDATE session_peers SET left_at=?2 WHERE id=?1";
static const char SQL_KICK_INSERT[] =
    "INSERT OR IGNORE INTO session_kicks(session_id,participant_id,kicked_at) VALUES(?,?,?)";

#define SESSION_COLS                                                                          \
    "id, meeting_id, app_id, title, status, started_at, ended_at, updated_at, seen_at, peak," \
    " closed_ms"

static void bind_session(sqlite3_stmt *st, const rtk_db_session *s)
{
    rtk_db__bind_text(st, 1, s->id);
    if (s->ended)
        sqlite3_bind_int64(st, 3, s->ended_ms);
    else
        sqlite3_bind_null(st, 3);
}

int rtk_db_session_insert(rtk_db *db, const rtk_db_session *s)
{
    sqlite3_stmt *st = rtk_db__prep(db, SQL_SESSION_INSERT);
    if (st == NULL)
        return RTK_EDB;
    rtk_db__bind_text(st, 1, s->id);
    rtk_db__bind_text(st, 2, s->meeting_id);
    rtk_db__bind_text(st, 3, s->app_id);
    rtk_db__bind_text(st, 4, s->title);
    sqlite3_bind_int64(st, 5, s->started_ms);
    sqlite3_bind_int64(st, 6, s->updated_ms);
    sqlite3_bind_int64(st, 7, s->seen_ms);
    sqlite3_bind_int64(st, 8, s->peak);
    sqlite3_bind_int64(st, 9, s->closed_ms);
    return rtk_db__step_batched(db, st);
}

int rtk_db_session_update(rtk_db *db, const rtk_db_session *s)
{
    sqlite3_stmt *st = rtk_db__prep(db, SQL_SESSION_UPDATE);
    if (st == NULL)
        return RTK_EDB;
    bind_session(st, s);
    rtk_db__bind_text(st, 2, s->ended ? "ENDED" : "LIVE");
    sqlite3_bind_int64(st, 4, s->updated_ms);
    sqlite3_bind_int64(st, 5, s->seen_ms);
    sqlite3_bind_int64(st, 6, s->peak);
    sqlite3_bind_int64(st, 7, s->closed_ms);
    return rtk_db__step_batched(db, st);
}

int rtk_db_peer_insert(rtk_db *db, const char *peer_id, const char *session_id,
                       const char *participant_id, const char *custom_id, const char *name,
                       const char *preset, int64_t joined_ms)
{
    sqlite3_stmt *st = rtk_db__prep(db, SQL_PEER_INSERT);
    if (st == NULL)
        return RTK_EDB;
    rtk_db__bind_text(st, 1, peer_id);
    rtk_db__bind_text(st, 2, session_id);
    rtk_db__bind_text(st, 3, participant_id);
    rtk_db__bind_text(st, 4, custom_id);
    rtk_db__bind_text(st, 5, name);
    rtk_db__bind_text(st, 6, preset);
    sqlite3_bind_int64(st, 7, joined_ms);
    return rtk_db__step_batched(db, st);
}

int rtk_db_peer_left(rtk_db *db, const char *peer_id, int64_t left_ms)
{
    sqlite3_stmt *st = rtk_db__prep(db, SQL_PEER_LEFT);
    if (st == NULL)
        return RTK_EDB;
    rtk_db__bind_text(st, 1, peer_id);
    sqlite3_bind_int64(st, 2, left_ms);
    return rtk_db__step_batched(db, st);
}

int rtk_db_session_peers_left(rtk_db *db, const char *session_id, int64_t left_ms)
{
    static const char SQL[] =
        "UPDATE session_peers SET left_at=?2 WHERE session_id=?1 AND left_at IS NULL";
    sqlite3_stmt *st = rtk_db__prep(db, SQL);
    if (st == NULL)
        return RTK_EDB;
    rtk_db__bind_text(st, 1, session_id);
    sqlite3_bind_int64(st, 2, left_ms);
    return rtk_db__step_batched(db, st);
}

int rtk_db_kick_insert(rtk_db *db, const char *session_id, const char *participant_id,
                       int64_t at_ms)
{
    sqlite3_stmt *st = rtk_db__prep(db, SQL_KICK_INSERT);
    if (st == NULL)
        return RTK_EDB;
    rtk_db__bind_text(st, 1, session_id);
    rtk_db__bind_text(st, 2, participant_id);
    sqlite3_bind_int64(st, 3, at_ms);
    /* Batched with the other kicks of the same request; the API flushes before replying. */
    return rtk_db__step_batched(db, st);
}

static void read_session(sqlite3_stmt *st, rtk_db_session *s)
{
    memset(s, 0, sizeof(*s));
    rtk_db__copy_text(st, 0, s->id, sizeof(s->id));
    rtk_db__copy_text(st, 1, s->meeting_id, sizeof(s->meeting_id));
    rtk_db__copy_text(st, 2, s->app_id, sizeof(s->app_id));
    if (sqlite3_column_type(st, 3) != SQLITE_NULL)
        s->title = rtk_xstrndup((const char *)sqlite3_column_text(st, 3),
                                (size_t)sqlite3_column_bytes(st, 3));
    s->ended = strcmp((const char *)sqlite3_column_text(st, 4), "ENDED") == 0;
    s->started_ms = sqlite3_column_int64(st, 5);
    s->ended_ms = sqlite3_column_int64(st, 6);
    s->updated_ms = sqlite3_column_int64(st, 7);
    s->seen_ms = sqlite3_column_int64(st, 8);
    s->peak = sqlite3_column_int64(st, 9);
    s->closed_ms = sqlite3_column_int64(st, 10);
}

void rtk_db_sessions_free(rtk_db_session *rows, size_t n)
{
    for (size_t i = 0; rows != NULL && i < n; i++)
        free(rows[i].title);
    free(rows);
}

int rtk_db_sessions_live(rtk_db *db, rtk_db_live_cb cb, void *arg)
{
    sqlite3_stmt *st = NULL, *kicks = NULL;
    rtk_db_session *rows = NULL;
    size_t n = 0, cap = 0;
    int rc = RTK_EDB;

    /* Peers still open belong to a server that stopped without recording their leave (a
     * crash): they count as having left when the server last knew they were there. */
    if (rtk_db__exec(db, "BEGIN IMMEDIATE") != 0)
        return RTK_EDB;
    if (rtk_db__exec(db,
                     "UPDATE session_peers SET left_at=(SELECT max(s.seen_at, joined_at) FROM"
                     " sessions s WHERE s.id=session_id) WHERE left_at IS NULL;"
                     "UPDATE sessions SET closed_ms=(SELECT coalesce(sum(left_at-joined_at),0)"
                     " FROM session_peers p WHERE p.session_id=sessions.id)"
                     " WHERE status='LIVE';") != 0 ||
        rtk_db__exec(db, "COMMIT") != 0) {
        rtk_db__exec(db, "ROLLBACK");
        return RTK_EDB;
    }
    if (sqlite3_prepare_v2(db->sq, "SELECT " SESSION_COLS " FROM sessions WHERE status='LIVE'",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db->sq, "SELECT participant_id FROM session_kicks WHERE session_id=?",
                           -1, &kicks, NULL) != SQLITE_OK) {
        rtk_db__fail(db, "live sessions");
        goto out;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            rows = rtk_xrealloc(rows, cap * sizeof(*rows));
        }
        read_session(st, &rows[n++]);
    }
    for (size_t i = 0; i < n; i++) {
        char **ids = NULL;
        size_t nk = 0, kcap = 0;
        sqlite3_reset(kicks);
        rtk_db__bind_text(kicks, 1, rows[i].id);
        while (sqlite3_step(kicks) == SQLITE_ROW) {
            if (nk == kcap) {
                kcap = kcap ? kcap * 2 : 8;
                ids = rtk_xrealloc(ids, kcap * sizeof(*ids));
            }
            ids[nk++] = rtk_xstrndup((const char *)sqlite3_column_text(kicks, 0),
                                     (size_t)sqlite3_column_bytes(kicks, 0));
        }
        cb(arg, &rows[i], (const char *const *)ids, nk);
        for (size_t k = 0; k < nk; k++)
            free(ids[k]);
        free(ids);
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    sqlite3_finalize(kicks);
    rtk_db_sessions_free(rows, n);
    return rc;
}

int rtk_db_session_list(rtk_db *db, const char *app_id, const char *status,
                        const char *meeting_id, rtk_page page, rtk_db_session **rows, size_t *n,
                        int64_t *total)
{
    static const char where[] = " FROM sessions WHERE app_id=?1 AND (?2 IS NULL OR status=?2)"
                                " AND (?3 IS NULL OR meeting_id=?3)";
    static const char SQL_COUNT[] = "SELECT count(*)";
    static const char SQL_LIST[] = "SELECT " SESSION_COLS;
    char sql[512];
    sqlite3_stmt *cnt = NULL, *st = NULL;
    int rc = RTK_EDB;
    *rows = NULL;
    *n = 0;
    snprintf(sql, sizeof(sql), "%s%s", SQL_COUNT, where);
    if (sqlite3_prepare_v2(db->sq, sql, -1, &cnt, NULL) != SQLITE_OK)
        goto out;
    snprintf(sql, sizeof(sql), "%s%s ORDER BY started_at DESC, id LIMIT ?4 OFFSET ?5", SQL_LIST,
             where);
    if (sqlite3_prepare_v2(db->sq, sql, -1, &st, NULL) != SQLITE_OK)
        goto out;
    for (int i = 0; i < 2; i++) {
        sqlite3_stmt *s = i ? st : cnt;
        rtk_db__bind_text(s, 1, app_id);
        rtk_db__bind_text(s, 2, status);
        rtk_db__bind_text(s, 3, meeting_id);
    }
    sqlite3_bind_int64(st, 4, page.limit);
    sqlite3_bind_int64(st, 5, page.offset);
    if ((rc = rtk_db__count(db, cnt, total)) != 0)
        goto out;
    *rows = rtk_xcalloc((size_t)page.limit, sizeof(**rows));
    while (sqlite3_step(st) == SQLITE_ROW && *n < (size_t)page.limit)
        read_session(st, &(*rows)[(*n)++]);
out:
    if (rc == RTK_EDB)
        rtk_db__fail(db, "session list");
    sqlite3_finalize(cnt);
    sqlite3_finalize(st);
    return rc;
}

int rtk_db_session_get(rtk_db *db, const char *app_id, const char *id, rtk_db_session *out)
{
    static const char SQL_GET[] = "SELECT " SESSION_COLS " FROM sessions WHERE id=? AND app_id=?";
    sqlite3_stmt *st = rtk_db__prep(db, SQL_GET);
    if (st == NULL)
        return RTK_EDB;
    rtk_db__bind_text(st, 1, id);
    rtk_db__bind_text(st, 2, app_id);
    int rc = RTK_ENOTFOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        read_session(st, out);
        rc = 0;
    }
    sqlite3_reset(st);
    return rc;
}

int rtk_db_session_peers(rtk_db *db, const char *session_id, int64_t now_ms, rtk_page page,
                         json_t **items, int64_t *total)
{
    static const char SQL_COUNT[] = "SELECT count(*) FROM session_peers WHERE session_id=?";
    static const char SQL_LIST[] =
        "SELECT id, participant_id, custom_participant_id, display_name, preset_name,"
        " joined_at, left_at FROM session_peers WHERE session_id=? ORDER BY joined_at, id"
        " LIMIT ? OFFSET ?";
    sqlite3_stmt *cnt = rtk_db__prep(db, SQL_COUNT);
    if (cnt == NULL)
        return RTK_EDB;
    rtk_db__bind_text(cnt, 1, session_id);
    int rc = rtk_db__count(db, cnt, total);
    if (rc != 0)
        return rc;
    sqlite3_stmt *st = rtk_db__prep(db, SQL_LIST);
    if (st == NULL)
        return RTK_EDB;
    rtk_db__bind_text(st, 1, session_id);
    sqlite3_bind_int64(st, 2, page.limit);
    sqlite3_bind_int64(st, 3, page.offset);
    json_t *arr = json_array();
    while (sqlite3_step(st) == SQLITE_ROW) {
        char joined[25], left[25];
        int64_t j = sqlite3_column_int64(st, 5);
        int open = sqlite3_column_type(st, 6) == SQLITE_NULL;
        int64_t l = open ? now_ms : sqlite3_column_int64(st, 6);
        rtk_time_iso(j, joined);
        rtk_time_iso(l, left);
        json_t *o = json_object();
        static const char *const keys[] = {"id", "user_id", "custom_participant_id",
                                           "display_name", "preset_name"};
        for (int c = 0; c < 5; c++) {
            const char *v = (const char *)sqlite3_column_text(st, c);
            json_object_set_new(o, keys[c], v ? json_string(v) : json_null());
        }
        json_object_set_new(o, "session_id", json_string(session_id));
        json_object_set_new(o, "joined_at", json_string(joined));
        json_object_set_new(o, "left_at", open ? json_null() : json_string(left));
        json_object_set_new(o, "duration", json_real((double)(l - j) / 60000.0));
        json_object_set_new(o, "created_at", json_string(joined));
        json_object_set_new(o, "updated_at", json_string(open ? joined : left));
        json_array_append_new(arr, o);
    }
    sqlite3_reset(st);
    *items = arr;
    return 0;
}

int rtk_db_poll_insert(rtk_db *db, const char *id, const char *session_id, const char *question,
                       const char *options_json, int anonymous, int hide_votes,
                       const char *created_by, int64_t created_ms)
{
    static const char SQL[] = "INSERT INTO polls(id,session_id,question,options,anonymous,"
                              "hide_votes,created_by,created_at) VALUES(?,?,?,?,?,?,?,?)";
    sqlite3_stmt *st = rtk_db__prep(db, SQL);
    if (st == NULL)
        return RTK_EDB;
    rtk_db__bind_text(st, 1, id);
    rtk_db__bind_text(st, 2, session_id);
    rtk_db__bind_text(st, 3, question);
    rtk_db__bind_text(st, 4, options_json);
    sqlite3_bind_int(st, 5, anonymous);
    sqlite3_bind_int(st, 6, hide_votes);
    rtk_db__bind_text(st, 7, created_by);
    sqlite3_bind_int64(st, 8, created_ms);
    return rtk_db__step_done(db, st);
}

int rtk_db_vote_insert(rtk_db *db, const char *poll_id, const char *participant_id, int option,
                       const char *name, int64_t at_ms, int64_t seq)
{
    static const char SQL[] = "INSERT INTO poll_votes(poll_id,participant_id,option,name,"
                              "voted_at,seq) VALUES(?,?,?,?,?,?)";
    sqlite3_stmt *st = rtk_db__prep(db, SQL);
    if (st == NULL)
        return RTK_EDB;
    rtk_db__bind_text(st, 1, poll_id);
    rtk_db__bind_text(st, 2, participant_id);
    sqlite3_bind_int(st, 3, option);
    rtk_db__bind_text(st, 4, name);
    sqlite3_bind_int64(st, 5, at_ms);
    sqlite3_bind_int64(st, 6, seq);
    return rtk_db__step_batched(db, st);
}

int rtk_db_polls_load(rtk_db *db, const char *session_id,
                      void (*on_poll)(void *arg, const rtk_db_poll_row *p),
                      void (*on_vote)(void *arg, const rtk_db_vote_row *v), void *arg)
{
    static const char SQL_POLLS[] =
        "SELECT id, question, options, anonymous, hide_votes, created_by, created_at FROM polls"
        " WHERE session_id=? ORDER BY created_at, rowid";
    static const char SQL_VOTES[] =
        "SELECT v.poll_id, v.participant_id, v.option, v.name, v.voted_at FROM poll_votes v"
        " JOIN polls p ON p.id=v.poll_id WHERE p.session_id=? ORDER BY v.seq, v.rowid";
    sqlite3_stmt *st = rtk_db__prep(db, SQL_POLLS);
    if (st == NULL)
        return RTK_EDB;
    rtk_db__bind_text(st, 1, session_id);
    while (sqlite3_step(st) == SQLITE_ROW) {
        rtk_db_poll_row r = {
            .id = (const char *)sqlite3_column_text(st, 0),
            .question = (const char *)sqlite3_column_text(st, 1),
            .options_json = (const char *)sqlite3_column_text(st, 2),
            .anonymous = sqlite3_column_int(st, 3),
            .hide_votes = sqlite3_column_int(st, 4),
            .created_by = (const char *)sqlite3_column_text(st, 5),
            .created_ms = sqlite3_column_int64(st, 6),
        };
        on_poll(arg, &r);
    }
    sqlite3_reset(st);
    st = rtk_db__prep(db, SQL_VOTES);
    if (st == NULL)
        return RTK_EDB;
    rtk_db__bind_text(st, 1, session_id);
    while (sqlite3_step(st) == SQLITE_ROW) {
        rtk_db_vote_row v = {
            .poll_id = (const char *)sqlite3_column_text(st, 0),
            .participant_id = (const char *)sqlite3_column_text(st, 1),
            .option = sqlite3_column_int(st, 2),
            .name = (const char *)sqlite3_column_text(st, 3),
            .at_ms = sqlite3_column_int64(st, 4),
        };
        on_vote(arg, &v);
    }
    sqlite3_reset(st);
    return 0;
}
