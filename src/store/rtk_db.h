/* SPDX-License-Identifier: MIT */
/* rtk_db.h - the durable store: accounts, API tokens, apps, meetings, participants (SQLite, WAL).
 *
 * Runs on the loop thread. Every write is its own transaction and is committed before the
 * function returns, so a caller that replies after the call never acknowledges anything that a
 * crash could take back. WAL with synchronous=NORMAL survives kill -9 of the process (the WAL is
 * in the OS page cache); `--sync full` also survives power loss (see docs/design.md).
 *
 * Meetings and participants are stored as a JSON document next to the columns we filter and
 * page on, so every documented field round-trips without a migration per field. */
#ifndef RTK_DB_H
#define RTK_DB_H

#include <stddef.h>
#include <stdint.h>

typedef struct rtk_db rtk_db;
struct json_t;

typedef struct rtk_page {
    int64_t offset; /* rows to skip */
    int64_t limit;  /* rows to return */
} rtk_page;

/* Opens (creating if needed) DIR/rtkd.db, sets WAL mode and runs pending migrations. |full_sync|
 * selects synchronous=FULL. Errors: RTK_EDB (message on stderr). */
int rtk_db_open(const char *dir, int full_sync, rtk_db **out);
/* Commits the writes batched since the last flush (rtk_db_close does too). Runs once per
 * loop turn from the server, which is what makes group commit. 0 or RTK_EDB. */
int rtk_db_flush(rtk_db *db);
void rtk_db_close(rtk_db *db);
/* Server mode (group commit for REST writes too): from now on every acknowledged write joins
 * the open batch instead of committing at once, and whoever acknowledges it must wait for
 * rtk_db_on_commit. The server flushes once per loop turn. */
void rtk_db_defer_commits(rtk_db *db, int on);
int rtk_db_deferring(const rtk_db *db);

/* Runs |cb|(|arg|, ok) right after the next rtk_db_flush: ok is 1 when everything written
 * before it is committed, 0 when that batch was lost. Loop thread only. */
void rtk_db_on_commit(rtk_db *db, void (*cb)(void *arg, int ok), void *arg);

/* 1 if a batch failed to commit (and was rolled back) since the last call; clears the flag.
 * Whoever promised replies on that batch must withdraw them. */
int rtk_db_batch_lost(rtk_db *db);

/* Accounts. |id_out| receives 32 lowercase hex chars. */
int rtk_db_account_create(rtk_db *db, const char *name, int dev, char id_out[33]);
/* 1 if the account exists, 0 if not. */
int rtk_db_account_exists(rtk_db *db, const char *id);
/* Finds the dev account (created by --dev). 0, RTK_ENOTFOUND. */
int rtk_db_account_dev(rtk_db *db, char id_out[33]);

/* 1 if another connection (the CLI) committed a change since the last call, else 0. Cheap:
 * SQLite compares a counter in the shared WAL index. */
int rtk_db_changed_elsewhere(rtk_db *db);

/* API tokens. Creates a token and stores a new malloc'd secret in *secret (caller frees). */
int rtk_db_token_create(rtk_db *db, const char *account_id, const char *name, char **secret,
                        char id_out[33]);
/* Finds the live (not revoked) token whose secret is |secret|; 0 with its account in
 * |account_out| and its id in |id_out| (either may be NULL), or RTK_ENOTFOUND. */
int rtk_db_token_check(rtk_db *db, const char *secret, size_t len, char account_out[33],
                       char id_out[33]);
/* Writes one line per token to stdout. */
int rtk_db_token_list(rtk_db *db, const char *account_id);
/* 0, RTK_ENOTFOUND (no such token, or already revoked). */
int rtk_db_token_revoke(rtk_db *db, const char *id);

/* Apps. rtk_db_app_create returns a new reference to {id,name,created_at} in *out. */
int rtk_db_app_create(rtk_db *db, const char *account_id, const char *name, struct json_t **out);
/* 0 if app |app_id| exists and belongs to |account_id|; RTK_ENOTFOUND otherwise. */
int rtk_db_app_check(rtk_db *db, const char *account_id, const char *app_id);
/* First app of an account (oldest). 0, RTK_ENOTFOUND. */
int rtk_db_app_first(rtk_db *db, const char *account_id, char id_out[37]);
/* Lists apps; *items is a new array reference, *total the count before paging. */
int rtk_db_app_list(rtk_db *db, const char *account_id, const char *search, int desc,
                    rtk_page page, struct json_t **items, int64_t *total);

/* Meetings. |doc| is the whole meeting object (borrowed); id, status, title, created_at and
 * updated_at are read from it. */
int rtk_db_meeting_insert(rtk_db *db, const char *app_id, struct json_t *doc);
int rtk_db_meeting_update(rtk_db *db, const char *app_id, struct json_t *doc);
/* 0 with a new reference in *doc, or RTK_ENOTFOUND. */
int rtk_db_meeting_get(rtk_db *db, const char *app_id, const char *id, struct json_t **doc);
int rtk_db_meeting_list(rtk_db *db, const char *app_id, const char *search, const char *status,
                        int64_t start_ms, int64_t end_ms, rtk_page page, struct json_t **items,
                        int64_t *total);

/* Participants (documents without the token). Insert returns RTK_EEXIST when the meeting
 * already has this custom_participant_id. */
int rtk_db_participant_insert(rtk_db *db, const char *meeting_id, struct json_t *doc);
int rtk_db_participant_update(rtk_db *db, const char *meeting_id, struct json_t *doc);
int rtk_db_participant_get(rtk_db *db, const char *meeting_id, const char *id,
                           struct json_t **doc);
/* Finds a meeting's participant by its custom_participant_id. 0 or RTK_ENOTFOUND. */
int rtk_db_participant_by_custom(rtk_db *db, const char *meeting_id, const char *custom_id,
                                 struct json_t **doc);
int rtk_db_participant_delete(rtk_db *db, const char *meeting_id, const char *id);
int rtk_db_participant_list(rtk_db *db, const char *meeting_id, rtk_page page,
                            struct json_t **items, int64_t *total);

/* Sessions. One row per session; live counters are kept in memory by the live layer and
 * written here as they change (batched: committed by the next rtk_db_flush). */
typedef struct rtk_db_session {
    char id[37];
    char meeting_id[37];
    char app_id[37];
    char *title;        /* owned by whoever filled the struct; may be NULL */
    int ended;          /* 0 = LIVE, 1 = ENDED */
    int64_t started_ms;
    int64_t ended_ms;   /* 0 while LIVE */
    int64_t updated_ms;
    int64_t seen_ms;    /* last time the server knew the session's peers were there */
    int64_t peak;       /* max_concurrent_participants */
    int64_t closed_ms;  /* summed connected time of the peers that have left */
} rtk_db_session;

int rtk_db_session_insert(rtk_db *db, const rtk_db_session *s);
/* Writes status, ended_at, updated_at, seen_at, peak and closed_ms. */
int rtk_db_session_update(rtk_db *db, const rtk_db_session *s);
int rtk_db_peer_insert(rtk_db *db, const char *peer_id, const char *session_id,
                       const char *participant_id, const char *custom_id, const char *name,
                       const char *preset, int64_t joined_ms);
int rtk_db_peer_left(rtk_db *db, const char *peer_id, int64_t left_ms);
/* Every peer of |session_id| still open leaves at |left_ms| (kick-all, shutdown): one
 * statement instead of one per peer. */
int rtk_db_session_peers_left(rtk_db *db, const char *session_id, int64_t left_ms);
/* Records that |participant_id| was kicked from |session_id|; committed on return. */
int rtk_db_kick_insert(rtk_db *db, const char *session_id, const char *participant_id,
                       int64_t at_ms);

/* Calls |cb| for every LIVE session (after closing its peers that were still open when the
 * server stopped: they count as having left at the session's seen_at), with the ids of the
 * participants kicked from it. |s| and |kicked| are valid during the call only. */
typedef void (*rtk_db_live_cb)(void *arg, const rtk_db_session *s, const char *const *kicked,
                               size_t nkicked);
int rtk_db_sessions_live(rtk_db *db, rtk_db_live_cb cb, void *arg);

/* History. Rows are returned in *rows (caller frees with rtk_db_sessions_free). */
int rtk_db_session_list(rtk_db *db, const char *app_id, const char *status,
                        const char *meeting_id, rtk_page page, rtk_db_session **rows, size_t *n,
                        int64_t *total);
int rtk_db_session_get(rtk_db *db, const char *app_id, const char *id, rtk_db_session *out);
void rtk_db_sessions_free(rtk_db_session *rows, size_t n);
/* The peers of a session as JSON objects (id, user_id, custom_participant_id, display_name,
 * preset_name, joined_at, left_at, duration in minutes up to |now_ms| for open peers). */
int rtk_db_session_peers(rtk_db *db, const char *session_id, int64_t now_ms, rtk_page page,
                         struct json_t **items, int64_t *total);

/* Polls. |options_json| is the JSON array of option texts. The insert is acknowledged
 * (committed on return); votes are batched (committed by the next rtk_db_flush). */
int rtk_db_poll_insert(rtk_db *db, const char *id, const char *session_id, const char *question,
                       const char *options_json, int anonymous, int hide_votes,
                       const char *created_by, int64_t created_ms);
int rtk_db_vote_insert(rtk_db *db, const char *poll_id, const char *participant_id, int option,
                       const char *name, int64_t at_ms, int64_t seq);

typedef struct rtk_db_poll_row {
    const char *id, *question, *options_json, *created_by;
    int anonymous, hide_votes;
    int64_t created_ms;
} rtk_db_poll_row;
typedef struct rtk_db_vote_row {
    const char *poll_id, *participant_id, *name;
    int option;
    int64_t at_ms;
} rtk_db_vote_row;
/* Calls |on_poll| for each poll of |session_id| (oldest first), then |on_vote| for each vote
 * of those polls in the order they were cast. Rows are valid during the call only. */
int rtk_db_polls_load(rtk_db *db, const char *session_id,
                      void (*on_poll)(void *arg, const rtk_db_poll_row *p),
                      void (*on_vote)(void *arg, const rtk_db_vote_row *v), void *arg);

#endif
