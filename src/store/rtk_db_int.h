/* SPDX-License-Identifier: MIT */
/* rtk_db_int.h - private parts of the store shared by its .c files. */
#ifndef RTK_DB_INT_H
#define RTK_DB_INT_H

#include <jansson.h>
#include <sqlite3.h>

#include "store/rtk_db.h"

#define RTK_DB_FIXED_STMTS 32
#define RTK_DB_CACHED_STMTS 48

struct rtk_db {
    sqlite3 *sq;
    sqlite3_stmt *st[RTK_DB_FIXED_STMTS]; /* prepared at open, indexed by rtk_db.c's enum */
    struct {
        const char *sql; /* identity of the statement: a static string's address */
        sqlite3_stmt *st;
    } cache[RTK_DB_CACHED_STMTS]; /* prepared on first use by rtk_db__prep */
    int in_tx;                     /* a batch transaction is open (rtk_db__step_batched) */
    int64_t data_version;          /* last PRAGMA data_version seen */
    int defer_commits;             /* server mode: acknowledged writes join the batch */
    struct rtk_db_waiter *waiters, **waiters_tail; /* run after the next commit */
    int batch_lost;                /* a batch failed to commit since rtk_db_batch_lost() */
};

int rtk_db__fail(rtk_db *db, const char *what);
int rtk_db__exec(rtk_db *db, const char *sql);
sqlite3_stmt *rtk_db__stmt(rtk_db *db, int which);
/* Returns the cached statement for the static string |sql|, reset and unbound; NULL after
 * logging when it cannot be prepared. */
sqlite3_stmt *rtk_db__prep(rtk_db *db, const char *sql);
void rtk_db__bind_text(sqlite3_stmt *st, int i, const char *s);
/* Runs an acknowledged write. Normally it commits at once (with any open batch), so the write
 * is durable on return; with rtk_db_defer_commits it joins the batch instead, and the caller
 * answers from an rtk_db_on_commit callback. 0, RTK_EEXIST (constraint), RTK_EDB. */
int rtk_db__step_done(rtk_db *db, sqlite3_stmt *st);
/* Runs a write inside the open batch (opening one if needed); committed by rtk_db_flush. */
int rtk_db__step_batched(rtk_db *db, sqlite3_stmt *st);
int rtk_db__copy_text(sqlite3_stmt *st, int col, char *out, size_t cap);
int rtk_db__count(rtk_db *db, sqlite3_stmt *st, int64_t *total);
int rtk_db__collect(rtk_db *db, sqlite3_stmt *st, json_t **items);

#endif
