/* SPDX-License-Identifier: MIT */
/* rtk_store_sql.c - the store's statements and migrations, for SQLite and PostgreSQL.
 *
 * One SQL text serves both backends where the dialects agree (parameters are written $N;
 * SQLite reads them as ?N). Where they differ, each has its own: LIKE is case-insensitive in
 * SQLite and ILIKE says so in PostgreSQL; blobs come back as hex from both; polls are ordered
 * by SQLite's rowid or PostgreSQL's sequence. Inserts that may meet a uniqueness rule say ON
 * CONFLICT DO NOTHING, because a statement that fails inside a PostgreSQL pipeline aborts the
 * whole batch it is in: a duplicate must change no row instead (RTK_QF_UNIQUE reads that as
 * RTK_EEXIST). */
#include "store/rtk_store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/rtk_preset.h"
#include "util/rtk_err.h"

#define SESSION_COLS                                                                               \
    "id, meeting_id, app_id, title, status, started_at, ended_at, updated_at, seen_at, peak, "     \
    "closed_ms"

#define APP_WHERE_SQLITE                                                                           \
    " FROM apps WHERE account_id=$1 AND ($2 IS NULL OR name LIKE $2 ESCAPE '\\' OR id=$3)"
#define APP_WHERE_PG                                                                               \
    " FROM apps WHERE account_id=$1 AND (CAST($2 AS TEXT) IS NULL OR name ILIKE $2 ESCAPE '\\'"    \
    " OR id=$3)"
#define MEETING_WHERE_SQLITE                                                                       \
    " FROM meetings WHERE app_id=$1 AND ($2 IS NULL OR title LIKE $2 ESCAPE '\\' OR id=$3)"        \
    " AND ($4 IS NULL OR status=$4) AND created_at>=$5 AND created_at<=$6"
#define MEETING_WHERE_PG                                                                           \
    " FROM meetings WHERE app_id=$1 AND (CAST($2 AS TEXT) IS NULL OR title ILIKE $2 ESCAPE"        \
    " '\\' OR id=$3) AND (CAST($4 AS TEXT) IS NULL OR status=$4) AND created_at>=$5"               \
    " AND created_at<=$6"
#define SESSION_WHERE                                                                              \
    " FROM sessions WHERE app_id=$1 AND (CAST($2 AS TEXT) IS NULL OR status=$2)"                   \
    " AND (CAST($3 AS TEXT) IS NULL OR meeting_id=$3)"

#define PRESET_COLS "id, name, created_at, updated_at, config, permissions, ui"
#define PRESET_WHERE_SQLITE                                                                        \
    " FROM presets WHERE app_id=$1 AND ($2 IS NULL OR name LIKE $2 ESCAPE '\\')"
#define PRESET_WHERE_PG                                                                            \
    " FROM presets WHERE app_id=$1 AND (CAST($2 AS TEXT) IS NULL OR name ILIKE $2 ESCAPE '\\')"
/* Participants of app $2 use the preset of the row being changed. */
#define PRESET_USED                                                                                \
    " (SELECT 1 FROM participants p JOIN meetings m ON m.id=p.meeting_id WHERE m.app_id=$2 AND"    \
    " p.preset_name=presets.name)"

#define HOOK_COLS "id, name, url, events, enabled, created_at, updated_at"
#define DELIVERY_COLS                                                                              \
    "id, event, status, attempts, last_status_code, last_error, created_at, delivered_at,"         \
    " next_attempt_at"
/* A version 4 UUID made by the database, one per row. */
#define UUID_SQLITE                                                                                \
    "lower(hex(randomblob(4))||'-'||hex(randomblob(2))||'-4'||substr(hex(randomblob(2)),2)"        \
    "||'-'||substr('89ab',1+(abs(random())%4),1)||substr(hex(randomblob(2)),2)||'-'||"             \
    "hex(randomblob(6)))"
#define UUID_PG "CAST(gen_random_uuid() AS TEXT)"
#define HOOK_ENQUEUE(UUID)                                                                         \
    "INSERT INTO webhook_deliveries(id,webhook_id,meeting_id,event,body,status,attempts,"          \
    "created_at,next_attempt_at) SELECT " UUID ", id, $2, $3, $4, 'pending', 0, $5, $5 FROM"       \
    " webhooks WHERE app_id=$1 AND enabled=1 AND events LIKE $6 ORDER BY created_at, id"
/* A delivery is due when its time has come and no earlier delivery of the same webhook and
 * meeting is still pending (in order per meeting and webhook, WEBHOOKS.md promise 4). */
#define HOOK_DUE                                                                                   \
    "SELECT d.seq, d.id, d.webhook_id, w.url, d.body, d.attempts, d.created_at, d.meeting_id FROM" \
    " webhook_deliveries d JOIN webhooks w ON w.id=d.webhook_id WHERE d.status='pending' AND"      \
    " w.enabled=1 AND d.next_attempt_at<=$1 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e"    \
    " WHERE e.webhook_id=d.webhook_id AND e.meeting_id=d.meeting_id AND e.status='pending' AND"    \
    " e.seq<d.seq) ORDER BY d.seq LIMIT $2"

const rtk_store_sql rtk_store__sql[RTK_Q_COUNT] = {
    [RTK_Q_ACCOUNT_INSERT] = {NULL,
                              "INSERT INTO accounts(id,name,dev,created_at)"
                              " VALUES($1,$2,$3,$4)",
                              RTK_QF_WRITE},
    [RTK_Q_ACCOUNT_GET] = {NULL, "SELECT id FROM accounts WHERE id=$1", RTK_QF_NEED_ROW},
    [RTK_Q_ACCOUNT_DEV] = {NULL, "SELECT id FROM accounts WHERE dev=1 ORDER BY created_at LIMIT 1",
                           RTK_QF_NEED_ROW},
    [RTK_Q_TOKEN_INSERT] = {NULL,
                            "INSERT INTO api_tokens(id,account_id,name,hash,created_at)"
                            " VALUES($1,$2,$3,$4,$5)",
                            RTK_QF_WRITE},
    [RTK_Q_TOKEN_FIND] = {"SELECT account_id, id, lower(hex(hash)) FROM api_tokens"
                          " WHERE hash=$1 AND revoked_at IS NULL",
                          "SELECT account_id, id, encode(hash,'hex') FROM api_tokens"
                          " WHERE hash=$1 AND revoked_at IS NULL",
                          RTK_QF_NEED_ROW},
    [RTK_Q_TOKEN_LIST] = {NULL,
                          "SELECT id, account_id, name, created_at, revoked_at FROM api_tokens"
                          " WHERE CAST($1 AS TEXT) IS NULL OR account_id=$1"
                          " ORDER BY created_at, id",
                          0},
    [RTK_Q_TOKEN_REVOKE] = {NULL,
                            "UPDATE api_tokens SET revoked_at=$2 WHERE id=$1"
                            " AND revoked_at IS NULL",
                            RTK_QF_WRITE | RTK_QF_NEED_CHANGE},
    [RTK_Q_APP_INSERT] = {NULL,
                          "INSERT INTO apps(id,account_id,name,created_at)"
                          " VALUES($1,$2,$3,$4)",
                          RTK_QF_WRITE},
    [RTK_Q_APP_OWNER] = {NULL, "SELECT account_id FROM apps WHERE id=$1", RTK_QF_NEED_ROW},
    [RTK_Q_APP_FIRST] = {NULL,
                         "SELECT id FROM apps WHERE account_id=$1 ORDER BY created_at, id"
                         " LIMIT 1",
                         RTK_QF_NEED_ROW},
    [RTK_Q_APP_COUNT] = {"SELECT count(*)" APP_WHERE_SQLITE, "SELECT count(*)" APP_WHERE_PG, 0},
    [RTK_Q_APP_LIST] = {"SELECT id, name, created_at" APP_WHERE_SQLITE
                        " ORDER BY CASE WHEN $4=1 THEN -created_at ELSE created_at END, id"
                        " LIMIT $5 OFFSET $6",
                        "SELECT id, name, created_at" APP_WHERE_PG
                        " ORDER BY CASE WHEN $4=1 THEN -created_at ELSE created_at END, id"
                        " LIMIT $5 OFFSET $6",
                        0},
    [RTK_Q_MEETING_INSERT] = {NULL,
                              "INSERT INTO meetings(id,app_id,title,status,created_at,"
                              "updated_at,doc) VALUES($1,$2,$3,$4,$5,$6,$7)"
                              " ON CONFLICT DO NOTHING",
                              RTK_QF_WRITE | RTK_QF_UNIQUE},
    [RTK_Q_MEETING_UPDATE] = {NULL,
                              "UPDATE meetings SET title=$3, status=$4, updated_at=$5,"
                              " doc=$6 WHERE id=$1 AND app_id=$2",
                              RTK_QF_WRITE | RTK_QF_NEED_CHANGE},
    [RTK_Q_MEETING_GET] = {NULL, "SELECT doc FROM meetings WHERE id=$1 AND app_id=$2",
                           RTK_QF_NEED_ROW},
    [RTK_Q_MEETING_COUNT] = {"SELECT count(*)" MEETING_WHERE_SQLITE,
                             "SELECT count(*)" MEETING_WHERE_PG, 0},
    [RTK_Q_MEETING_LIST] = {"SELECT doc" MEETING_WHERE_SQLITE
                            " ORDER BY created_at DESC, id LIMIT $7 OFFSET $8",
                            "SELECT doc" MEETING_WHERE_PG
                            " ORDER BY created_at DESC, id LIMIT $7 OFFSET $8",
                            0},
    /* A participant is written only with a preset of its app (checked in the statement, so
     * a preset deleted meanwhile cannot be missed); "changed no row" is read by the caller
     * together with RTK_Q_PRESET_EXISTS, run just before in the same operation. */
    [RTK_Q_PART_INSERT] = {NULL,
                           "INSERT INTO participants(id,meeting_id,custom_participant_id,"
                           "created_at,doc,preset_name) SELECT $1,$2,$3,CAST($4 AS BIGINT),$5,$6"
                           " WHERE EXISTS (SELECT 1 FROM presets WHERE app_id=$7 AND name=$6)"
                           " ON CONFLICT DO NOTHING",
                           RTK_QF_WRITE},
    [RTK_Q_PART_UPDATE] = {NULL,
                           "UPDATE participants SET doc=$3, preset_name=$4 WHERE id=$1 AND"
                           " meeting_id=$2 AND EXISTS (SELECT 1 FROM presets WHERE app_id=$5"
                           " AND name=$4)",
                           RTK_QF_WRITE},
    [RTK_Q_PART_GET] = {NULL, "SELECT doc FROM participants WHERE id=$1 AND meeting_id=$2",
                        RTK_QF_NEED_ROW},
    [RTK_Q_PART_BY_CUSTOM] = {NULL,
                              "SELECT doc FROM participants WHERE custom_participant_id=$1"
                              " AND meeting_id=$2",
                              RTK_QF_NEED_ROW},
    [RTK_Q_PART_DELETE] = {NULL, "DELETE FROM participants WHERE id=$1 AND meeting_id=$2",
                           RTK_QF_WRITE | RTK_QF_NEED_CHANGE},
    [RTK_Q_PART_COUNT] = {NULL, "SELECT count(*) FROM participants WHERE meeting_id=$1", 0},
    [RTK_Q_PART_LIST] = {NULL,
                         "SELECT doc FROM participants WHERE meeting_id=$1"
                         " ORDER BY created_at, id LIMIT $2 OFFSET $3",
                         0},
    [RTK_Q_SESSION_INSERT] = {NULL,
                              "INSERT INTO sessions(" SESSION_COLS ") VALUES($1,$2,$3,$4,"
                              "'LIVE',$5,NULL,$6,$7,$8,$9) ON CONFLICT(id) DO NOTHING",
                              RTK_QF_WRITE},
    /* ENDED is final: a late update of the counters never brings a session back. */
    [RTK_Q_SESSION_UPDATE] = {NULL,
                              "UPDATE sessions SET status=CASE WHEN status='ENDED' THEN"
                              " 'ENDED' ELSE CAST($2 AS TEXT) END,"
                              " ended_at=coalesce(ended_at, $3), updated_at=$4, seen_at=$5,"
                              " peak=$6, closed_ms=$7 WHERE id=$1",
                              RTK_QF_WRITE},
    [RTK_Q_PEER_INSERT] = {NULL,
                           "INSERT INTO session_peers(id,session_id,participant_id,"
                           "custom_participant_id,display_name,preset_name,joined_at)"
                           " VALUES($1,$2,$3,$4,$5,$6,$7)",
                           RTK_QF_WRITE},
    [RTK_Q_PEER_LEFT] = {NULL, "UPDATE session_peers SET left_at=$2 WHERE id=$1", RTK_QF_WRITE},
    /* A meeting's new session ends any other still LIVE: left by a cluster whose Redis
     * forgot it (CLUSTER.md), whose open peers leave with it at its last sign of life. */
    [RTK_Q_SESSION_END_OTHERS_PEERS] = {NULL,
                                        "UPDATE session_peers SET left_at=(SELECT CASE WHEN"
                                        " s.seen_at > session_peers.joined_at THEN s.seen_at"
                                        " ELSE session_peers.joined_at END FROM sessions s"
                                        " WHERE s.id=session_peers.session_id) WHERE left_at IS"
                                        " NULL AND session_id IN (SELECT id FROM sessions WHERE"
                                        " meeting_id=$1 AND status='LIVE' AND id<>$2)",
                                        RTK_QF_WRITE},
    [RTK_Q_SESSION_END_OTHERS] = {NULL,
                                  "UPDATE sessions SET status='ENDED', ended_at=seen_at,"
                                  " updated_at=$3 WHERE meeting_id=$1 AND status='LIVE' AND"
                                  " id<>$2",
                                  RTK_QF_WRITE},
    [RTK_Q_SESSION_PEERS_LEFT] = {NULL,
                                  "UPDATE session_peers SET left_at=$2 WHERE session_id=$1"
                                  " AND left_at IS NULL",
                                  RTK_QF_WRITE},
    [RTK_Q_KICK_INSERT] = {NULL,
                           "INSERT INTO session_kicks(session_id,participant_id,kicked_at,"
                           "refused) VALUES($1,$2,$3,$4) ON CONFLICT DO NOTHING",
                           RTK_QF_WRITE},
    [RTK_Q_CLOSE_OPEN_PEERS] = {NULL,
                                "UPDATE session_peers SET left_at=(SELECT CASE WHEN"
                                " s.seen_at > session_peers.joined_at THEN s.seen_at ELSE"
                                " session_peers.joined_at END FROM sessions s WHERE"
                                " s.id=session_peers.session_id) WHERE left_at IS NULL",
                                RTK_QF_WRITE},
    [RTK_Q_FIX_CLOSED_MS] = {NULL,
                             "UPDATE sessions SET closed_ms=(SELECT"
                             " coalesce(sum(left_at-joined_at),0) FROM session_peers p"
                             " WHERE p.session_id=sessions.id) WHERE status='LIVE'",
                             RTK_QF_WRITE},
    [RTK_Q_SESSIONS_LIVE] = {NULL,
                             "SELECT " SESSION_COLS " FROM sessions WHERE status='LIVE'"
                             " ORDER BY started_at, id",
                             0},
    [RTK_Q_KICKS_LIVE] = {NULL,
                          "SELECT k.session_id, k.participant_id, k.refused FROM session_kicks k"
                          " JOIN sessions s ON s.id=k.session_id WHERE s.status='LIVE'",
                          0},
    [RTK_Q_SESSION_COUNT] = {NULL, "SELECT count(*)" SESSION_WHERE, 0},
    [RTK_Q_SESSION_LIST] = {NULL,
                            "SELECT " SESSION_COLS SESSION_WHERE
                            " ORDER BY started_at DESC, id LIMIT $4 OFFSET $5",
                            0},
    [RTK_Q_SESSION_GET] = {NULL, "SELECT " SESSION_COLS " FROM sessions WHERE id=$1 AND app_id=$2",
                           RTK_QF_NEED_ROW},
    [RTK_Q_SESSION_PEERS_COUNT] = {NULL, "SELECT count(*) FROM session_peers WHERE session_id=$1",
                                   0},
    [RTK_Q_SESSION_PEERS_LIST] = {NULL,
                                  "SELECT id, participant_id, custom_participant_id,"
                                  " display_name, preset_name, joined_at, left_at FROM"
                                  " session_peers WHERE session_id=$1 ORDER BY joined_at,"
                                  " id LIMIT $2 OFFSET $3",
                                  0},
    [RTK_Q_POLL_INSERT] = {NULL,
                           "INSERT INTO polls(id,session_id,question,options,anonymous,"
                           "hide_votes,created_by,created_at)"
                           " VALUES($1,$2,$3,$4,$5,$6,$7,$8)",
                           RTK_QF_WRITE},
    [RTK_Q_VOTE_INSERT] = {NULL,
                           "INSERT INTO poll_votes(poll_id,participant_id,option,name,"
                           "voted_at,seq) VALUES($1,$2,$3,$4,$5,$6) ON CONFLICT DO NOTHING",
                           RTK_QF_WRITE | RTK_QF_UNIQUE},
    /* The PostgreSQL backend sends a batch's consecutive votes as this one statement (arrays of
     * each column); the rows it returns are the votes that were new. */
    [RTK_Q_VOTES_INSERT_MANY] = {"SELECT 'PostgreSQL only'",
                                 "INSERT INTO poll_votes(poll_id,participant_id,option,name,"
                                 "voted_at,seq) SELECT * FROM unnest(CAST($1 AS TEXT[]),"
                                 " CAST($2 AS TEXT[]), CAST($3 AS INTEGER[]), CAST($4 AS TEXT[]),"
                                 " CAST($5 AS BIGINT[]), CAST($6 AS BIGINT[]))"
                                 " ON CONFLICT DO NOTHING RETURNING poll_id, participant_id",
                                 RTK_QF_WRITE},
    [RTK_Q_POLLS_LOAD] = {"SELECT id, question, options, anonymous, hide_votes, created_by,"
                          " created_at FROM polls WHERE session_id=$1 ORDER BY created_at, rowid",
                          "SELECT id, question, options, anonymous, hide_votes, created_by,"
                          " created_at FROM polls WHERE session_id=$1 ORDER BY created_at, seq",
                          0},
    [RTK_Q_VOTES_LOAD] = {NULL,
                          "SELECT v.poll_id, v.participant_id, v.option, v.name,"
                          " v.voted_at FROM poll_votes v JOIN polls p ON p.id=v.poll_id"
                          " WHERE p.session_id=$1 ORDER BY v.seq, v.voted_at",
                          0},
    [RTK_Q_KEY_INSERT] = {NULL,
                          "INSERT INTO keys(name,value) VALUES($1,$2)"
                          " ON CONFLICT DO NOTHING",
                          RTK_QF_WRITE},
    [RTK_Q_KEY_GET] = {NULL, "SELECT value FROM keys WHERE name=$1", RTK_QF_NEED_ROW},
    [RTK_Q_PRESET_INSERT] = {NULL,
                             "INSERT INTO presets(id,app_id,name,created_at,updated_at,config,"
                             "permissions,ui) VALUES($1,$2,$3,$4,$5,$6,$7,$8)"
                             " ON CONFLICT DO NOTHING",
                             RTK_QF_WRITE | RTK_QF_UNIQUE},
    /* A rename never takes another preset's name, nor a name participants use: both are
     * checked here (a failing statement would abort a PostgreSQL batch), and the caller reads
     * RTK_Q_PRESET_USERS and RTK_Q_PRESET_TAKEN, run just before, to say why nothing changed. */
    [RTK_Q_PRESET_UPDATE] = {NULL,
                             "UPDATE presets SET name=$3, updated_at=$4, config=$5,"
                             " permissions=$6, ui=$7 WHERE id=$1 AND app_id=$2 AND NOT EXISTS"
                             " (SELECT 1 FROM presets q WHERE q.app_id=$2 AND q.name=$3 AND"
                             " q.id<>$1) AND (name=$3 OR NOT EXISTS" PRESET_USED ")",
                             RTK_QF_WRITE},
    [RTK_Q_PRESET_DELETE] =
        {NULL, "DELETE FROM presets WHERE id=$1 AND app_id=$2 AND NOT EXISTS" PRESET_USED,
         RTK_QF_WRITE},
    [RTK_Q_PRESET_GET] = {NULL, "SELECT " PRESET_COLS " FROM presets WHERE id=$1 AND app_id=$2",
                          RTK_QF_NEED_ROW},
    [RTK_Q_PRESET_BY_NAME] = {NULL,
                              "SELECT " PRESET_COLS " FROM presets WHERE app_id=$1 AND name=$2",
                              RTK_QF_NEED_ROW},
    [RTK_Q_PRESET_COUNT] = {"SELECT count(*)" PRESET_WHERE_SQLITE,
                            "SELECT count(*)" PRESET_WHERE_PG, 0},
    [RTK_Q_PRESET_LIST] = {"SELECT id, name, created_at, updated_at" PRESET_WHERE_SQLITE
                           " ORDER BY created_at, name LIMIT $3 OFFSET $4",
                           "SELECT id, name, created_at, updated_at" PRESET_WHERE_PG
                           " ORDER BY created_at, name LIMIT $3 OFFSET $4",
                           0},
    [RTK_Q_PRESET_USERS] = {NULL,
                            "SELECT count(*) FROM participants p JOIN meetings m ON"
                            " m.id=p.meeting_id WHERE m.app_id=$1 AND p.preset_name=(SELECT name"
                            " FROM presets WHERE id=$2 AND app_id=$1)",
                            0},
    [RTK_Q_PRESET_TAKEN] = {NULL,
                            "SELECT count(*) FROM presets WHERE app_id=$1 AND name=$2 AND id<>$3",
                            0},
    [RTK_Q_PRESET_EXISTS] = {NULL, "SELECT count(*) FROM presets WHERE app_id=$1 AND name=$2", 0},
    /* A session counts on the UTC day it started. */
    [RTK_Q_SESSION_DAYS] = {NULL,
                            "SELECT started_at/86400000, count(*), coalesce(sum(closed_ms),0)"
                            " FROM sessions WHERE app_id=$1 AND status='ENDED' AND"
                            " started_at>=$2 AND started_at<$3 GROUP BY 1 ORDER BY 1",
                            0},
    [RTK_Q_SESSION_LIVE_IN] = {NULL,
                               "SELECT " SESSION_COLS " FROM sessions WHERE app_id=$1 AND"
                               " status='LIVE' AND started_at>=$2 AND started_at<$3",
                               0},
    [RTK_Q_HOOK_INSERT] = {NULL,
                           "INSERT INTO webhooks(id,app_id,name,url,events,enabled,created_at,"
                           "updated_at) VALUES($1,$2,$3,$4,$5,$6,$7,$8)",
                           RTK_QF_WRITE},
    [RTK_Q_HOOK_UPDATE] = {NULL,
                           "UPDATE webhooks SET name=$3, url=$4, events=$5, enabled=$6,"
                           " updated_at=$7 WHERE id=$1 AND app_id=$2",
                           RTK_QF_WRITE | RTK_QF_NEED_CHANGE},
    [RTK_Q_HOOK_GET] = {NULL, "SELECT " HOOK_COLS " FROM webhooks WHERE id=$1 AND app_id=$2",
                        RTK_QF_NEED_ROW},
    [RTK_Q_HOOK_LIST] = {NULL,
                         "SELECT " HOOK_COLS " FROM webhooks WHERE app_id=$1"
                         " ORDER BY created_at, id",
                         0},
    [RTK_Q_HOOK_DELETE] = {NULL, "DELETE FROM webhooks WHERE id=$1 AND app_id=$2",
                           RTK_QF_WRITE | RTK_QF_NEED_CHANGE},
    [RTK_Q_HOOK_DROP] = {NULL,
                         "UPDATE webhook_deliveries SET status='dropped', next_attempt_at=NULL"
                         " WHERE webhook_id=$1 AND status='pending' AND EXISTS (SELECT 1 FROM"
                         " webhooks WHERE id=$1 AND app_id=$2)",
                         RTK_QF_WRITE},
    [RTK_Q_HOOK_ENQUEUE] = {HOOK_ENQUEUE(UUID_SQLITE), HOOK_ENQUEUE(UUID_PG), RTK_QF_WRITE},
    [RTK_Q_HOOK_DUE] = {NULL, HOOK_DUE, 0},
    [RTK_Q_HOOK_RESULT] = {NULL,
                           "UPDATE webhook_deliveries SET status=$2, attempts=attempts+1,"
                           " last_status_code=$3, last_error=$4, delivered_at=$5,"
                           " next_attempt_at=$6 WHERE seq=$1 AND status='pending'",
                           RTK_QF_WRITE},
    [RTK_Q_HOOK_DCOUNT] = {NULL, "SELECT count(*) FROM webhook_deliveries WHERE webhook_id=$1", 0},
    [RTK_Q_HOOK_DLIST] = {NULL,
                          "SELECT " DELIVERY_COLS " FROM webhook_deliveries WHERE webhook_id=$1"
                          " ORDER BY seq DESC LIMIT $2 OFFSET $3",
                          0},
    [RTK_Q_HOOK_DSTATUS] = {NULL,
                            "SELECT status FROM webhook_deliveries WHERE id=$1 AND webhook_id=$2"
                            " AND EXISTS (SELECT 1 FROM webhooks WHERE id=$2 AND app_id=$3)",
                            0},
    [RTK_Q_HOOK_RETRY] = {NULL,
                          "UPDATE webhook_deliveries SET status='pending', next_attempt_at=$4"
                          " WHERE id=$1 AND webhook_id=$2 AND status='failed' AND EXISTS"
                          " (SELECT 1 FROM webhooks WHERE id=$2 AND app_id=$3)",
                          RTK_QF_WRITE},
    /* The head of one chain, when it is due: two index probes (webhook_deliveries_chain). */
    [RTK_Q_HOOK_NEXT] = {NULL,
                         "SELECT d.seq, d.id, d.webhook_id, w.url, d.body, d.attempts,"
                         " d.created_at, d.meeting_id FROM webhook_deliveries d JOIN webhooks w"
                         " ON w.id=d.webhook_id WHERE d.seq=(SELECT min(seq) FROM"
                         " webhook_deliveries WHERE webhook_id=$1 AND meeting_id=$2 AND"
                         " status='pending') AND w.enabled=1 AND d.next_attempt_at<=$3",
                         0},
    [RTK_Q_HOOK_APPS] = {NULL,
                         "SELECT w.app_id, a.name, w.events FROM webhooks w JOIN apps a ON"
                         " a.id=w.app_id WHERE w.enabled=1",
                         0},
    [RTK_Q_HOOK_APP] = {NULL,
                        "SELECT a.name, w.events FROM apps a LEFT JOIN webhooks w ON"
                        " w.app_id=a.id AND w.enabled=1 WHERE a.id=$1",
                        0},
};

#define PRESETS_TABLE(INT)                                                                         \
    "CREATE TABLE presets("                                                                        \
    "  id TEXT PRIMARY KEY, app_id TEXT NOT NULL REFERENCES apps(id), name TEXT NOT NULL,"         \
    "  created_at " INT " NOT NULL, updated_at " INT " NOT NULL, config TEXT NOT NULL,"            \
    "  permissions TEXT NOT NULL, ui TEXT NOT NULL, UNIQUE(app_id, name));"                        \
    "CREATE INDEX presets_by_app ON presets(app_id, created_at);"                                  \
    "ALTER TABLE participants ADD COLUMN preset_name TEXT;"
/* Webhooks and their outbox (WEBHOOKS.md): one row per delivery, ordered by seq. */
#define WEBHOOKS_TABLES(INT, SEQ)                                                                  \
    "CREATE TABLE webhooks("                                                                       \
    "  id TEXT PRIMARY KEY, app_id TEXT NOT NULL REFERENCES apps(id), name TEXT NOT NULL,"         \
    "  url TEXT NOT NULL, events TEXT NOT NULL, enabled INTEGER NOT NULL,"                         \
    "  created_at " INT " NOT NULL, updated_at " INT " NOT NULL);"                                 \
    "CREATE INDEX webhooks_by_app ON webhooks(app_id, created_at);"                                \
    "CREATE TABLE webhook_deliveries("                                                             \
    "  seq " SEQ ", id TEXT NOT NULL UNIQUE, webhook_id TEXT NOT NULL,"                            \
    "  meeting_id TEXT NOT NULL, event TEXT NOT NULL, body TEXT NOT NULL, status TEXT NOT NULL,"   \
    "  attempts INTEGER NOT NULL, last_status_code INTEGER, last_error TEXT,"                      \
    "  created_at " INT " NOT NULL, delivered_at " INT ", next_attempt_at " INT ");"               \
    "CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at)"           \
    "  WHERE status='pending';"                                                                    \
    "CREATE INDEX webhook_deliveries_chain ON webhook_deliveries(webhook_id, meeting_id, seq)"     \
    "  WHERE status='pending';"                                                                    \
    "CREATE INDEX webhook_deliveries_by_hook ON webhook_deliveries(webhook_id, seq);"
#define PRESETS_INDEX                                                                              \
    "CREATE INDEX participants_by_preset ON participants(preset_name, meeting_id);"

/* SQLite: user_version moves from each index to the next, inside one transaction. The first
 * three are the schema of the first releases and never change. */
/* A kick's row also records a refusal from the waiting room (refused 1): both bar the
 * participant from the session, and both must outlive a restart. */
#define REFUSALS_COLUMN "ALTER TABLE session_kicks ADD COLUMN refused INTEGER NOT NULL DEFAULT 0;"

const char *const rtk_store__sqlite_migrations[] = {
    "CREATE TABLE accounts("
    "  id TEXT PRIMARY KEY, name TEXT NOT NULL, dev INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE api_tokens("
    "  id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id),"
    "  name TEXT NOT NULL, hash BLOB NOT NULL UNIQUE, created_at INTEGER NOT NULL,"
    "  revoked_at INTEGER);"
    "CREATE TABLE apps("
    "  id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id),"
    "  name TEXT NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE INDEX apps_by_account ON apps(account_id, created_at);"
    "CREATE TABLE meetings("
    "  id TEXT PRIMARY KEY, app_id TEXT NOT NULL REFERENCES apps(id), title TEXT,"
    "  status TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
    "  doc TEXT NOT NULL);"
    "CREATE INDEX meetings_by_app ON meetings(app_id, created_at);"
    "CREATE TABLE participants("
    "  id TEXT PRIMARY KEY, meeting_id TEXT NOT NULL REFERENCES meetings(id),"
    "  custom_participant_id TEXT NOT NULL, created_at INTEGER NOT NULL, doc TEXT NOT NULL,"
    "  UNIQUE(meeting_id, custom_participant_id));"
    "CREATE INDEX participants_by_meeting ON participants(meeting_id, created_at);",

    /* 2: live sessions, every peer's join and leave, and kicks. */
    "CREATE TABLE sessions("
    "  id TEXT PRIMARY KEY, meeting_id TEXT NOT NULL, app_id TEXT NOT NULL, title TEXT,"
    "  status TEXT NOT NULL, started_at INTEGER NOT NULL, ended_at INTEGER,"
    "  updated_at INTEGER NOT NULL, seen_at INTEGER NOT NULL, peak INTEGER NOT NULL,"
    "  closed_ms INTEGER NOT NULL);"
    "CREATE INDEX sessions_by_app ON sessions(app_id, started_at);"
    "CREATE INDEX sessions_by_meeting ON sessions(meeting_id, started_at);"
    "CREATE INDEX sessions_live ON sessions(status) WHERE status='LIVE';"
    "CREATE TABLE session_peers("
    "  id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES sessions(id),"
    "  participant_id TEXT NOT NULL, custom_participant_id TEXT, display_name TEXT,"
    "  preset_name TEXT, joined_at INTEGER NOT NULL, left_at INTEGER);"
    "CREATE INDEX session_peers_by_session ON session_peers(session_id, joined_at);"
    "CREATE TABLE session_kicks("
    "  session_id TEXT NOT NULL REFERENCES sessions(id), participant_id TEXT NOT NULL,"
    "  kicked_at INTEGER NOT NULL, PRIMARY KEY(session_id, participant_id));",

    /* 3: polls of a session and their votes. */
    "CREATE TABLE polls("
    "  id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES sessions(id),"
    "  question TEXT NOT NULL, options TEXT NOT NULL, anonymous INTEGER NOT NULL,"
    "  hide_votes INTEGER NOT NULL, created_by TEXT, created_at INTEGER NOT NULL);"
    "CREATE INDEX polls_by_session ON polls(session_id, created_at);"
    "CREATE TABLE poll_votes("
    "  poll_id TEXT NOT NULL REFERENCES polls(id), participant_id TEXT NOT NULL,"
    "  option INTEGER NOT NULL, name TEXT, voted_at INTEGER NOT NULL, seq INTEGER NOT NULL,"
    "  PRIMARY KEY(poll_id, participant_id));",

    /* 4: presets, and each participant's preset name as a column (to count a preset's
     * users). The default presets and the mapping of unknown names follow in C
     * (rtk_store__presets_sql). */
    PRESETS_TABLE("INTEGER") "UPDATE participants SET preset_name=json_extract(doc,"
                             "'$.preset_name');" PRESETS_INDEX,

    /* 5: webhooks and the outbox of their deliveries. */
    WEBHOOKS_TABLES("INTEGER", "INTEGER PRIMARY KEY AUTOINCREMENT"),

    /* 6: participants refused from a session's waiting room stay refused after a restart. */
    REFUSALS_COLUMN,
};
const int rtk_store__sqlite_nmigrations =
    (int)(sizeof(rtk_store__sqlite_migrations) / sizeof(rtk_store__sqlite_migrations[0]));

/* PostgreSQL: rtkd_schema.version moves from each index to the next, in one transaction,
 * under an advisory lock. */
const char *const rtk_store__pg_migrations[] = {
    "CREATE TABLE accounts("
    "  id TEXT PRIMARY KEY, name TEXT NOT NULL, dev INTEGER NOT NULL DEFAULT 0,"
    "  created_at BIGINT NOT NULL);"
    "CREATE TABLE api_tokens("
    "  id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id),"
    "  name TEXT NOT NULL, hash BYTEA NOT NULL UNIQUE, created_at BIGINT NOT NULL,"
    "  revoked_at BIGINT);"
    "CREATE TABLE apps("
    "  id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id),"
    "  name TEXT NOT NULL, created_at BIGINT NOT NULL);"
    "CREATE INDEX apps_by_account ON apps(account_id, created_at);"
    "CREATE TABLE meetings("
    "  id TEXT PRIMARY KEY, app_id TEXT NOT NULL REFERENCES apps(id), title TEXT,"
    "  status TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
    "  doc TEXT NOT NULL);"
    "CREATE INDEX meetings_by_app ON meetings(app_id, created_at);"
    "CREATE TABLE participants("
    "  id TEXT PRIMARY KEY, meeting_id TEXT NOT NULL REFERENCES meetings(id),"
    "  custom_participant_id TEXT NOT NULL, created_at BIGINT NOT NULL, doc TEXT NOT NULL,"
    "  UNIQUE(meeting_id, custom_participant_id));"
    "CREATE INDEX participants_by_meeting ON participants(meeting_id, created_at);"
    "CREATE TABLE sessions("
    "  id TEXT PRIMARY KEY, meeting_id TEXT NOT NULL, app_id TEXT NOT NULL, title TEXT,"
    "  status TEXT NOT NULL, started_at BIGINT NOT NULL, ended_at BIGINT,"
    "  updated_at BIGINT NOT NULL, seen_at BIGINT NOT NULL, peak BIGINT NOT NULL,"
    "  closed_ms BIGINT NOT NULL);"
    "CREATE INDEX sessions_by_app ON sessions(app_id, started_at);"
    "CREATE INDEX sessions_by_meeting ON sessions(meeting_id, started_at);"
    "CREATE INDEX sessions_live ON sessions(status) WHERE status='LIVE';"
    "CREATE TABLE session_peers("
    "  id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES sessions(id),"
    "  participant_id TEXT NOT NULL, custom_participant_id TEXT, display_name TEXT,"
    "  preset_name TEXT, joined_at BIGINT NOT NULL, left_at BIGINT);"
    "CREATE INDEX session_peers_by_session ON session_peers(session_id, joined_at);"
    "CREATE TABLE session_kicks("
    "  session_id TEXT NOT NULL REFERENCES sessions(id), participant_id TEXT NOT NULL,"
    "  kicked_at BIGINT NOT NULL, PRIMARY KEY(session_id, participant_id));"
    "CREATE TABLE polls("
    "  id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES sessions(id),"
    "  question TEXT NOT NULL, options TEXT NOT NULL, anonymous INTEGER NOT NULL,"
    "  hide_votes INTEGER NOT NULL, created_by TEXT, created_at BIGINT NOT NULL,"
    "  seq BIGSERIAL);"
    "CREATE INDEX polls_by_session ON polls(session_id, created_at);"
    "CREATE TABLE poll_votes("
    "  poll_id TEXT NOT NULL REFERENCES polls(id), participant_id TEXT NOT NULL,"
    "  option INTEGER NOT NULL, name TEXT, voted_at BIGINT NOT NULL, seq BIGINT NOT NULL,"
    "  PRIMARY KEY(poll_id, participant_id));"
    "CREATE TABLE keys(name TEXT PRIMARY KEY, value TEXT NOT NULL);"
    /* A revoked token must stop working on every node at once: a change to the tokens
     * notifies every listening server, which drops its cache. */
    "CREATE FUNCTION rtkd_tokens_changed() RETURNS trigger LANGUAGE plpgsql AS"
    " $$ BEGIN PERFORM pg_notify('rtkd_tokens', ''); RETURN NULL; END $$;"
    "CREATE TRIGGER rtkd_tokens_changed AFTER UPDATE OR DELETE ON api_tokens"
    " FOR EACH STATEMENT EXECUTE FUNCTION rtkd_tokens_changed();",

    /* 2: presets (as SQLite's 4). */
    PRESETS_TABLE("BIGINT") "UPDATE participants SET preset_name=CAST(doc AS jsonb)->>"
                            "'preset_name';" PRESETS_INDEX,

    /* 3: webhooks (as SQLite's 5). */
    WEBHOOKS_TABLES("BIGINT", "BIGSERIAL PRIMARY KEY"),

    /* 4: refusals (as SQLite's 6). */
    REFUSALS_COLUMN,

    /* 5: a session's end sets left_at on every open peer row at once (15,000 in one UPDATE
     * for a kick-all); room in each page lets those be HOT updates, which skip both indexes
     * (left_at is in neither): 124 ms instead of 205 ms for 15,000 rows on the bench machine
     * (docs/design.md). New pages only; the table grows by the free room. */
    "ALTER TABLE session_peers SET (fillfactor = 60);",
};
const int rtk_store__pg_nmigrations =
    (int)(sizeof(rtk_store__pg_migrations) / sizeof(rtk_store__pg_migrations[0]));

/* ---- the presets migration's data step ------------------------------------------------- */

typedef struct text {
    char *s;
    size_t len, cap;
} text;

static void put(text *t, const char *s)
{
    size_t n = strlen(s);
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->s = rtk_xrealloc(t->s, t->cap);
    }
    memcpy(t->s + t->len, s, n + 1);
    t->len += n;
}

/* |s| as an SQL string literal ('' for every '). */
static void put_literal(text *t, const char *s)
{
    put(t, "'");
    for (; *s != '\0'; s++) {
        char c[3] = {*s, *s == '\'' ? '\'' : '\0', '\0'};
        put(t, c);
    }
    put(t, "'");
}

/* A participant whose preset_name is not one of its app's presets. */
#define UNKNOWN_PRESET                                                                             \
    " WHERE preset_name IS NULL OR NOT EXISTS (SELECT 1 FROM presets p JOIN meetings m ON"         \
    " m.app_id=p.app_id WHERE m.id=participants.meeting_id AND p.name=participants.preset_name)"

void rtk_store__presets_sql(int pg, int64_t now_ms, char **seed, char **count, char **map)
{
    static const char uuid_sqlite[] = UUID_SQLITE, uuid_pg[] = UUID_PG;
    char now[24];
    snprintf(now, sizeof(now), "%lld", (long long)now_ms);
    text t = {0};
    for (int i = 0; i < RTK_PRESET_NDEFAULTS; i++) {
        const char *name = rtk_preset_default_names[i];
        put(&t, "INSERT INTO presets(id,app_id,name,created_at,updated_at,config,permissions,ui)"
                " SELECT ");
        put(&t, pg ? uuid_pg : uuid_sqlite);
        put(&t, ", id, ");
        put_literal(&t, name);
        put(&t, ", ");
        put(&t, now);
        put(&t, ", ");
        put(&t, now);
        put(&t, ", ");
        put_literal(&t, rtk_preset_default_config(name));
        put(&t, ", ");
        put_literal(&t, rtk_preset_default_permissions(name));
        put(&t, ", ");
        put_literal(&t, rtk_preset_default_ui(name));
        put(&t, " FROM apps WHERE NOT EXISTS (SELECT 1 FROM presets q WHERE q.app_id=apps.id AND"
                " q.name=");
        put_literal(&t, name);
        put(&t, ");");
    }
    *seed = t.s;
    text m = {0};
    put(&m, "UPDATE participants SET preset_name='" RTK_PRESET_FALLBACK "', doc=");
    put(&m, pg ? "CAST(jsonb_set(CAST(doc AS jsonb),'{preset_name}','\"" RTK_PRESET_FALLBACK
                 "\"') AS TEXT)"
               : "json_set(doc,'$.preset_name','" RTK_PRESET_FALLBACK "')");
    put(&m, UNKNOWN_PRESET);
    *map = m.s;
    text c = {0};
    put(&c, "SELECT count(*) FROM participants" UNKNOWN_PRESET);
    *count = c.s;
}
