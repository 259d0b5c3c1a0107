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
void rtk_db_close(rtk_db *db);

/* Accounts. |id_out| receives 32 lowercase hex chars. */
int rtk_db_account_create(rtk_db *db, const char *name, int dev, char id_out[33]);
/* 1 if the account exists, 0 if not. */
int rtk_db_account_exists(rtk_db *db, const char *id);
/* Finds the dev account (created by --dev). 0, RTK_ENOTFOUND. */
int rtk_db_account_dev(rtk_db *db, char id_out[33]);

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
int rtk_db_participant_delete(rtk_db *db, const char *meeting_id, const char *id);
int rtk_db_participant_list(rtk_db *db, const char *meeting_id, rtk_page page,
                            struct json_t **items, int64_t *total);

#endif
