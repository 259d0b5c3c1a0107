/* SPDX-License-Identifier: MIT */
/* rtk_db.c - SQLite backend of the durable store. */
#include "store/rtk_db.h"
#include "store/rtk_db_int.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/rtk_token.h"
#include "util/rtk_err.h"
#include "util/rtk_id.h"
#include "util/rtk_time.h"

/* Each migration moves user_version from its index to index+1, inside one transaction. */
static const char *const migrations[] = {
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
};

enum {
    ST_ACCOUNT_INSERT,
    ST_ACCOUNT_EXISTS,
    ST_ACCOUNT_DEV,
    ST_TOKEN_INSERT,
    ST_TOKEN_CHECK,
    ST_TOKEN_REVOKE,
    ST_APP_INSERT,
    ST_APP_CHECK,
    ST_APP_FIRST,
    ST_MEETING_INSERT,
    ST_MEETING_UPDATE,
    ST_MEETING_GET,
    ST_PART_INSERT,
    ST_PART_UPDATE,
    ST_PART_GET,
    ST_PART_DELETE,
    ST_PART_BY_CUSTOM,
    ST_PART_LIST,
    ST_PART_COUNT,
    ST_COUNT
};
_Static_assert(ST_COUNT <= RTK_DB_FIXED_STMTS, "raise RTK_DB_FIXED_STMTS");

static const char *const statements[ST_COUNT] = {
    [ST_ACCOUNT_INSERT] = "INSERT INTO accounts(id,name,dev,created_at) VALUES(?,?,?,?)",
    [ST_ACCOUNT_EXISTS] = "SELECT 1 FROM accounts WHERE id=?",
    [ST_ACCOUNT_DEV] = "SELECT id FROM accounts WHERE dev=1 ORDER BY created_at LIMIT 1",
    [ST_TOKEN_INSERT] =
        "INSERT INTO api_tokens(id,account_id,name,hash,created_at) VALUES(?,?,?,?,?)",
    [ST_TOKEN_CHECK] =
        "SELECT account_id, id, hash FROM api_tokens WHERE hash=? AND revoked_at IS NULL",
    [ST_TOKEN_REVOKE] = "UPDATE api_tokens SET revoked_at=? WHERE id=? AND revoked_at IS NULL",
    [ST_APP_INSERT] = "INSERT INTO apps(id,account_id,name,created_at) VALUES(?,?,?,?)",
    [ST_APP_CHECK] = "SELECT 1 FROM apps WHERE id=? AND account_id=?",
    [ST_APP_FIRST] = "SELECT id FROM apps WHERE account_id=? ORDER BY created_at LIMIT 1",
    [ST_MEETING_INSERT] = "INSERT INTO meetings(id,app_id,title,status,created_at,updated_at,doc)"
                          " VALUES(?,?,?,?,?,?,?)",
    [ST_MEETING_UPDATE] = "UPDATE meetings SET title=?3, status=?4, updated_at=?6, doc=?7"
                          " WHERE id=?1 AND app_id=?2",
    [ST_MEETING_GET] = "SELECT doc FROM meetings WHERE id=? AND app_id=?",
    [ST_PART_INSERT] = "INSERT INTO participants(id,meeting_id,custom_participant_id,created_at,"
                       "doc) VALUES(?,?,?,?,?)",
    [ST_PART_UPDATE] = "UPDATE participants SET doc=?3 WHERE id=?1 AND meeting_id=?2",
    [ST_PART_GET] = "SELECT doc FROM participants WHERE id=? AND meeting_id=?",
    [ST_PART_BY_CUSTOM] =
        "SELECT doc FROM participants WHERE custom_participant_id=? AND meeting_id=?",
    [ST_PART_DELETE] = "DELETE FROM participants WHERE id=? AND meeting_id=?",
    [ST_PART_LIST] = "SELECT doc FROM participants WHERE meeting_id=? ORDER BY created_at, id"
                     " LIMIT ? OFFSET ?",
    [ST_PART_COUNT] = "SELECT count(*) FROM participants WHERE meeting_id=?",
};

int rtk_db__fail(rtk_db *db, const char *what)
{
    fprintf(stderr, "rtkd: store: %s: %s\n", what, sqlite3_errmsg(db->sq));
    return RTK_EDB;
}

int rtk_db__exec(rtk_db *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db->sq, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "rtkd: store: %s\n", err ? err : "exec failed");
        sqlite3_free(err);
        return RTK_EDB;
    }
    return 0;
}

static int migrate(rtk_db *db)
{
    sqlite3_stmt *st = NULL;
    int version = 0;
    if (sqlite3_prepare_v2(db->sq, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return rtk_db__fail(db, "user_version");
    if (sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    int count = (int)(sizeof(migrations) / sizeof(migrations[0]));
    if (version > count) {
        fprintf(stderr, "rtkd: store: data folder is from a newer rtkd (schema %d > %d)\n",
                version, count);
        return RTK_EDB;
    }
    for (; version < count; version++) {
        char bump[64];
        snprintf(bump, sizeof(bump), "PRAGMA user_version=%d", version + 1);
        if (rtk_db__exec(db, "BEGIN IMMEDIATE") != 0)
            return RTK_EDB;
        if (rtk_db__exec(db, migrations[version]) != 0 || rtk_db__exec(db, bump) != 0) {
            rtk_db__exec(db, "ROLLBACK");
            return RTK_EDB;
        }
        if (rtk_db__exec(db, "COMMIT") != 0)
            return RTK_EDB;
    }
    return 0;
}

int rtk_db_open(const char *dir, int full_sync, rtk_db **out)
{
    rtk_db *db = rtk_xcalloc(1, sizeof(*db));
    char path[4096];
    int rc = RTK_EDB;
    *out = NULL;
    if (snprintf(path, sizeof(path), "%s/rtkd.db", dir) >= (int)sizeof(path)) {
        fprintf(stderr, "rtkd: store: data path too long\n");
        goto fail;
    }
    if (sqlite3_open_v2(path, &db->sq, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        rtk_db__fail(db, path);
        goto fail;
    }
    /* Another process (the CLI) may write while the server runs: wait for its lock. */
    sqlite3_busy_timeout(db->sq, 5000);
    if (rtk_db__exec(db, "PRAGMA journal_mode=WAL") != 0 || rtk_db__exec(db, "PRAGMA foreign_keys=ON") != 0)
        goto fail;
    if (rtk_db__exec(db, full_sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL") != 0)
        goto fail;
    if ((rc = migrate(db)) != 0)
        goto fail;
    rc = RTK_EDB;
    for (int i = 0; i < ST_COUNT; i++) {
        if (sqlite3_prepare_v3(db->sq, statements[i], -1, SQLITE_PREPARE_PERSISTENT, &db->st[i],
                               NULL) != SQLITE_OK) {
            rtk_db__fail(db, statements[i]);
            goto fail;
        }
    }
    *out = db;
    return 0;
fail:
    rtk_db_close(db);
    return rc;
}

void rtk_db_close(rtk_db *db)
{
    if (db == NULL)
        return;
    rtk_db_flush(db);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(db->st[i]);
    for (int i = 0; i < RTK_DB_CACHED_STMTS; i++)
        sqlite3_finalize(db->cache[i].st);
    sqlite3_close(db->sq); /* NULL is a harmless no-op */
    free(db);
}

sqlite3_stmt *rtk_db__stmt(rtk_db *db, int which)
{
    sqlite3_stmt *st = db->st[which];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

void rtk_db__bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s == NULL)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

int rtk_db__step_done(rtk_db *db, sqlite3_stmt *st)
{
    if (db->defer_commits)
        return rtk_db__step_batched(db, st);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return rtk_db_flush(db);
    if (rc == SQLITE_CONSTRAINT)
        return RTK_EEXIST;
    return rtk_db__fail(db, sqlite3_sql(st));
}

int rtk_db__step_batched(rtk_db *db, sqlite3_stmt *st)
{
    if (!db->in_tx) {
        if (rtk_db__exec(db, "BEGIN") != 0)
            return RTK_EDB;
        db->in_tx = 1;
    }
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc == SQLITE_CONSTRAINT)
        return RTK_EEXIST;
    return rtk_db__fail(db, sqlite3_sql(st));
}

struct rtk_db_waiter {
    struct rtk_db_waiter *next;
    void (*cb)(void *arg, int ok);
    void *arg;
};

void rtk_db_defer_commits(rtk_db *db, int on)
{
    db->defer_commits = on;
}

int rtk_db_deferring(const rtk_db *db)
{
    return db->defer_commits;
}

void rtk_db_on_commit(rtk_db *db, void (*cb)(void *arg, int ok), void *arg)
{
    struct rtk_db_waiter *w = rtk_xmalloc(sizeof(*w));
    w->next = NULL;
    w->cb = cb;
    w->arg = arg;
    if (db->waiters == NULL)
        db->waiters_tail = &db->waiters;
    *db->waiters_tail = w;
    db->waiters_tail = &w->next;
}

int rtk_db_flush(rtk_db *db)
{
    int rc = 0;
    if (db->in_tx) {
        db->in_tx = 0;
        if (rtk_db__exec(db, "COMMIT") != 0) {
            /* SQLite may already have rolled back (e.g. SQLITE_FULL): then this one fails
             * harmlessly. Either way nothing of the batch is stored. */
            if (!sqlite3_get_autocommit(db->sq))
                rtk_db__exec(db, "ROLLBACK");
            db->batch_lost = 1;
            rc = RTK_EDB;
        }
    }
    /* Callbacks may write again (a new batch): take the list first. */
    struct rtk_db_waiter *w = db->waiters;
    db->waiters = NULL;
    while (w != NULL) {
        struct rtk_db_waiter *next = w->next;
        w->cb(w->arg, rc == 0);
        free(w);
        w = next;
    }
    return rc;
}

int rtk_db_batch_lost(rtk_db *db)
{
    int lost = db->batch_lost;
    db->batch_lost = 0;
    return lost;
}

sqlite3_stmt *rtk_db__prep(rtk_db *db, const char *sql)
{
    size_t i;
    for (i = 0; i < RTK_DB_CACHED_STMTS && db->cache[i].sql != NULL; i++) {
        if (db->cache[i].sql == sql) {
            sqlite3_reset(db->cache[i].st);
            sqlite3_clear_bindings(db->cache[i].st);
            return db->cache[i].st;
        }
    }
    if (i == RTK_DB_CACHED_STMTS) {
        fprintf(stderr, "rtkd: store: statement cache full\n");
        return NULL;
    }
    if (sqlite3_prepare_v3(db->sq, sql, -1, SQLITE_PREPARE_PERSISTENT, &db->cache[i].st, NULL) !=
        SQLITE_OK) {
        rtk_db__fail(db, sql);
        return NULL;
    }
    db->cache[i].sql = sql;
    return db->cache[i].st;
}

int rtk_db__copy_text(sqlite3_stmt *st, int col, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    if (t == NULL || n >= cap)
        return RTK_EDB;
    memcpy(out, t, n);
    out[n] = '\0';
    return 0;
}

int rtk_db_changed_elsewhere(rtk_db *db)
{
    static const char SQL[] = "PRAGMA data_version";
    sqlite3_stmt *st = rtk_db__prep(db, SQL);
    if (st == NULL || sqlite3_step(st) != SQLITE_ROW)
        return 1; /* cannot tell: assume it changed */
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    int changed = db->data_version != 0 && v != db->data_version;
    db->data_version = v;
    return changed;
}

int rtk_db_account_create(rtk_db *db, const char *name, int dev, char id_out[33])
{
    sqlite3_stmt *st = rtk_db__stmt(db, ST_ACCOUNT_INSERT);
    rtk_id_hex(id_out, 16);
    rtk_db__bind_text(st, 1, id_out);
    rtk_db__bind_text(st, 2, name);
    sqlite3_bind_int(st, 3, dev);
    sqlite3_bind_int64(st, 4, rtk_time_now_ms());
    return rtk_db__step_done(db, st);
}

int rtk_db_account_exists(rtk_db *db, const char *id)
{
    sqlite3_stmt *st = rtk_db__stmt(db, ST_ACCOUNT_EXISTS);
    rtk_db__bind_text(st, 1, id);
    int found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    return found;
}

int rtk_db_account_dev(rtk_db *db, char id_out[33])
{
    sqlite3_stmt *st = rtk_db__stmt(db, ST_ACCOUNT_DEV);
    int rc = RTK_ENOTFOUND;
    if (sqlite3_step(st) == SQLITE_ROW)
        rc = rtk_db__copy_text(st, 0, id_out, 33);
    sqlite3_reset(st);
    return rc;
}

int rtk_db_token_create(rtk_db *db, const char *account_id, const char *name, char **secret,
                        char id_out[33])
{
    /* 24 random bytes as 48 hex characters behind a recognisable prefix, so a leaked token
     * is easy to spot in logs and secret scanners. */
    char raw[49];
    uint8_t hash[32];
    rtk_id_hex(raw, 24);
    size_t n = strlen("rtk_") + 48;
    char *s = rtk_xmalloc(n + 1);
    snprintf(s, n + 1, "rtk_%s", raw);
    rtk_token_hash(s, n, hash);
    rtk_id_hex(id_out, 16);

    sqlite3_stmt *st = rtk_db__stmt(db, ST_TOKEN_INSERT);
    rtk_db__bind_text(st, 1, id_out);
    rtk_db__bind_text(st, 2, account_id);
    rtk_db__bind_text(st, 3, name);
    sqlite3_bind_blob(st, 4, hash, sizeof(hash), SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, rtk_time_now_ms());
    int rc = rtk_db__step_done(db, st);
    if (rc != 0) {
        free(s);
        return rc;
    }
    *secret = s;
    return 0;
}

int rtk_db_token_check(rtk_db *db, const char *secret, size_t len, char account_out[33],
                       char id_out[33])
{
    uint8_t hash[32];
    int rc = RTK_ENOTFOUND;
    rtk_token_hash(secret, len, hash);
    sqlite3_stmt *st = rtk_db__stmt(db, ST_TOKEN_CHECK);
    sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const void *stored = sqlite3_column_blob(st, 2);
        /* The index lookup found the row by hash; compare the whole digest in constant time
         * anyway, so correctness never rests on the index alone. */
        if (stored != NULL && sqlite3_column_bytes(st, 2) == 32 && rtk_ct_equal(stored, hash, 32)) {
            rc = 0;
            if (account_out != NULL && rtk_db__copy_text(st, 0, account_out, 33) != 0)
                rc = RTK_EDB;
            if (id_out != NULL && rtk_db__copy_text(st, 1, id_out, 33) != 0)
                rc = RTK_EDB;
        }
    }
    sqlite3_reset(st);
    return rc;
}

int rtk_db_token_list(rtk_db *db, const char *account_id)
{
    sqlite3_stmt *st = NULL;
    const char *sql = "SELECT id, account_id, name, created_at, revoked_at FROM api_tokens"
                      " WHERE ?1 IS NULL OR account_id=?1 ORDER BY created_at";
    if (sqlite3_prepare_v2(db->sq, sql, -1, &st, NULL) != SQLITE_OK)
        return rtk_db__fail(db, "token list");
    rtk_db__bind_text(st, 1, account_id);
    while (sqlite3_step(st) == SQLITE_ROW) {
        char created[25];
        rtk_time_iso(sqlite3_column_int64(st, 3), created);
        printf("%s\t%s\t%s\t%s\t%s\n", (const char *)sqlite3_column_text(st, 0),
               (const char *)sqlite3_column_text(st, 1), (const char *)sqlite3_column_text(st, 2),
               created, sqlite3_column_type(st, 4) == SQLITE_NULL ? "active" : "revoked");
    }
    sqlite3_finalize(st);
    return 0;
}

int rtk_db_token_revoke(rtk_db *db, const char *id)
{
    sqlite3_stmt *st = rtk_db__stmt(db, ST_TOKEN_REVOKE);
    sqlite3_bind_int64(st, 1, rtk_time_now_ms());
    rtk_db__bind_text(st, 2, id);
    int rc = rtk_db__step_done(db, st);
    if (rc == 0 && sqlite3_changes(db->sq) == 0)
        rc = RTK_ENOTFOUND;
    return rc;
}

int rtk_db_app_create(rtk_db *db, const char *account_id, const char *name, json_t **out)
{
    char id[37], created[25];
    int64_t now = rtk_time_now_ms();
    rtk_id_uuid4(id);
    rtk_time_iso(now, created);
    sqlite3_stmt *st = rtk_db__stmt(db, ST_APP_INSERT);
    rtk_db__bind_text(st, 1, id);
    rtk_db__bind_text(st, 2, account_id);
    rtk_db__bind_text(st, 3, name);
    sqlite3_bind_int64(st, 4, now);
    int rc = rtk_db__step_done(db, st);
    if (rc != 0)
        return rc;
    *out = json_pack("{s:s,s:s,s:s}", "id", id, "name", name, "created_at", created);
    return 0;
}

int rtk_db_app_check(rtk_db *db, const char *account_id, const char *app_id)
{
    sqlite3_stmt *st = rtk_db__stmt(db, ST_APP_CHECK);
    rtk_db__bind_text(st, 1, app_id);
    rtk_db__bind_text(st, 2, account_id);
    int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : RTK_ENOTFOUND;
    sqlite3_reset(st);
    return rc;
}

int rtk_db_app_first(rtk_db *db, const char *account_id, char id_out[37])
{
    sqlite3_stmt *st = rtk_db__stmt(db, ST_APP_FIRST);
    rtk_db__bind_text(st, 1, account_id);
    int rc = RTK_ENOTFOUND;
    if (sqlite3_step(st) == SQLITE_ROW)
        rc = rtk_db__copy_text(st, 0, id_out, 37);
    sqlite3_reset(st);
    return rc;
}

/* LIKE pattern for a user's search text: % and _ and \ are escaped, so the text is matched
 * literally (ESCAPE '\'). Returns a new string. */
static char *like_pattern(const char *text)
{
    size_t n = strlen(text);
    char *p = rtk_xmalloc(2 * n + 3), *w = p;
    *w++ = '%';
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '%' || text[i] == '_' || text[i] == '\\')
            *w++ = '\\';
        *w++ = text[i];
    }
    *w++ = '%';
    *w = '\0';
    return p;
}

int rtk_db__count(rtk_db *db, sqlite3_stmt *st, int64_t *total)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return rtk_db__fail(db, "count");
    }
    *total = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return 0;
}

int rtk_db__collect(rtk_db *db, sqlite3_stmt *st, json_t **items)
{
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *doc = json_loadb((const char *)sqlite3_column_text(st, 0),
                                 (size_t)sqlite3_column_bytes(st, 0), 0, NULL);
        if (doc == NULL) {
            json_decref(arr);
            sqlite3_reset(st);
            fprintf(stderr, "rtkd: store: corrupt document\n");
            return RTK_EDB;
        }
        json_array_append_new(arr, doc);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return rtk_db__fail(db, "list");
    }
    *items = arr;
    return 0;
}

/* Runs a paged listing of JSON documents: "SELECT count(*) FROM_WHERE" for the total and
 * "SELECT COLS FROM_WHERE ORDER LIMIT ?n+1 OFFSET ?n+2" for the page, with |args| bound as
 * ?1..?n in both. COLS must yield one JSON text per row. */
typedef struct paged_arg {
    const char *text; /* bound as text (NULL binds NULL) unless |is_int| */
    int64_t num;
    int is_int;
} paged_arg;

static int paged_docs(rtk_db *db, const char *cols, const char *from_where, const char *order,
                      const paged_arg *args, int nargs, rtk_page page, json_t **items,
                      int64_t *total)
{
    char sql[768];
    sqlite3_stmt *cnt = NULL, *st = NULL;
    int rc = RTK_EDB;
    snprintf(sql, sizeof(sql), "SELECT count(*)%s", from_where);
    if (sqlite3_prepare_v2(db->sq, sql, -1, &cnt, NULL) != SQLITE_OK)
        goto out;
    snprintf(sql, sizeof(sql), "SELECT %s%s ORDER BY %s LIMIT ?%d OFFSET ?%d", cols, from_where,
             order, nargs + 1, nargs + 2);
    if (sqlite3_prepare_v2(db->sq, sql, -1, &st, NULL) != SQLITE_OK)
        goto out;
    for (int k = 0; k < 2; k++) {
        sqlite3_stmt *q = k ? st : cnt;
        for (int i = 0; i < nargs; i++) {
            if (args[i].is_int)
                sqlite3_bind_int64(q, i + 1, args[i].num);
            else
                rtk_db__bind_text(q, i + 1, args[i].text);
        }
    }
    sqlite3_bind_int64(st, nargs + 1, page.limit);
    sqlite3_bind_int64(st, nargs + 2, page.offset);
    if ((rc = rtk_db__count(db, cnt, total)) == 0)
        rc = rtk_db__collect(db, st, items);
out:
    if (cnt == NULL || st == NULL)
        rtk_db__fail(db, "paged list");
    sqlite3_finalize(cnt);
    sqlite3_finalize(st);
    return rc;
}

int rtk_db_app_list(rtk_db *db, const char *account_id, const char *search, int desc,
                    rtk_page page, json_t **items, int64_t *total)
{
    char *pat = search ? like_pattern(search) : NULL;
    const paged_arg args[] = {{account_id, 0, 0}, {pat, 0, 0}, {search, 0, 0}};
    int rc = paged_docs(db,
                        "json_object('id',id,'name',name,'created_at',"
                        "strftime('%Y-%m-%dT%H:%M:%fZ',created_at/1000.0,'unixepoch'))",
                        " FROM apps WHERE account_id=?1 AND (?2 IS NULL OR name LIKE ?2 ESCAPE"
                        " '\\' OR id=?3)",
                        desc ? "created_at DESC, id" : "created_at ASC, id", args, 3, page, items,
                        total);
    free(pat);
    return rc;
}

static char *dump_doc(json_t *doc)
{
    char *s = json_dumps(doc, JSON_COMPACT);
    if (s == NULL)
        abort(); /* only fails on OOM or invalid UTF-8, which the validators exclude */
    return s;
}

static int meeting_write(rtk_db *db, int which, const char *app_id, json_t *doc)
{
    int64_t created = 0, updated = 0;
    const char *ca = json_string_value(json_object_get(doc, "created_at"));
    const char *ua = json_string_value(json_object_get(doc, "updated_at"));
    if (ca == NULL || ua == NULL || rtk_time_parse_iso(ca, strlen(ca), &created) != 0 ||
        rtk_time_parse_iso(ua, strlen(ua), &updated) != 0)
        return RTK_EINVAL;
    char *text = dump_doc(doc);
    sqlite3_stmt *st = rtk_db__stmt(db, which);
    rtk_db__bind_text(st, 1, json_string_value(json_object_get(doc, "id")));
    rtk_db__bind_text(st, 2, app_id);
    rtk_db__bind_text(st, 3, json_string_value(json_object_get(doc, "title")));
    rtk_db__bind_text(st, 4, json_string_value(json_object_get(doc, "status")));
    sqlite3_bind_int64(st, 5, created);
    sqlite3_bind_int64(st, 6, updated);
    sqlite3_bind_text(st, 7, text, -1, free);
    int rc = rtk_db__step_done(db, st);
    if (rc == 0 && which == ST_MEETING_UPDATE && sqlite3_changes(db->sq) == 0)
        rc = RTK_ENOTFOUND;
    return rc;
}

int rtk_db_meeting_insert(rtk_db *db, const char *app_id, json_t *doc)
{
    return meeting_write(db, ST_MEETING_INSERT, app_id, doc);
}

int rtk_db_meeting_update(rtk_db *db, const char *app_id, json_t *doc)
{
    return meeting_write(db, ST_MEETING_UPDATE, app_id, doc);
}

static int get_doc(rtk_db *db, int which, const char *a, const char *b, json_t **doc)
{
    sqlite3_stmt *st = rtk_db__stmt(db, which);
    int rc = RTK_ENOTFOUND;
    rtk_db__bind_text(st, 1, a);
    rtk_db__bind_text(st, 2, b);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        *doc = json_loadb((const char *)sqlite3_column_text(st, 0),
                          (size_t)sqlite3_column_bytes(st, 0), 0, NULL);
        rc = *doc ? 0 : RTK_EDB;
    } else if (s != SQLITE_DONE) {
        rc = rtk_db__fail(db, "get");
    }
    sqlite3_reset(st);
    return rc;
}

int rtk_db_meeting_get(rtk_db *db, const char *app_id, const char *id, json_t **doc)
{
    return get_doc(db, ST_MEETING_GET, id, app_id, doc);
}

int rtk_db_meeting_list(rtk_db *db, const char *app_id, const char *search, const char *status,
                        int64_t start_ms, int64_t end_ms, rtk_page page, json_t **items,
                        int64_t *total)
{
    char *pat = search ? like_pattern(search) : NULL;
    const paged_arg args[] = {{app_id, 0, 0},  {pat, 0, 0},      {search, 0, 0},
                              {status, 0, 0},  {NULL, start_ms, 1}, {NULL, end_ms, 1}};
    int rc = paged_docs(db, "doc",
                        " FROM meetings WHERE app_id=?1 AND (?2 IS NULL OR title LIKE ?2 ESCAPE"
                        " '\\' OR id=?3) AND (?4 IS NULL OR status=?4) AND created_at>=?5"
                        " AND created_at<=?6",
                        "created_at DESC, id", args, 6, page, items, total);
    free(pat);
    return rc;
}

int rtk_db_participant_insert(rtk_db *db, const char *meeting_id, json_t *doc)
{
    int64_t created = 0;
    const char *ca = json_string_value(json_object_get(doc, "created_at"));
    if (ca == NULL || rtk_time_parse_iso(ca, strlen(ca), &created) != 0)
        return RTK_EINVAL;
    sqlite3_stmt *st = rtk_db__stmt(db, ST_PART_INSERT);
    rtk_db__bind_text(st, 1, json_string_value(json_object_get(doc, "id")));
    rtk_db__bind_text(st, 2, meeting_id);
    rtk_db__bind_text(st, 3, json_string_value(json_object_get(doc, "custom_participant_id")));
    sqlite3_bind_int64(st, 4, created);
    sqlite3_bind_text(st, 5, dump_doc(doc), -1, free);
    return rtk_db__step_done(db, st);
}

int rtk_db_participant_update(rtk_db *db, const char *meeting_id, json_t *doc)
{
    sqlite3_stmt *st = rtk_db__stmt(db, ST_PART_UPDATE);
    rtk_db__bind_text(st, 1, json_string_value(json_object_get(doc, "id")));
    rtk_db__bind_text(st, 2, meeting_id);
    sqlite3_bind_text(st, 3, dump_doc(doc), -1, free);
    int rc = rtk_db__step_done(db, st);
    if (rc == 0 && sqlite3_changes(db->sq) == 0)
        rc = RTK_ENOTFOUND;
    return rc;
}

int rtk_db_participant_get(rtk_db *db, const char *meeting_id, const char *id, json_t **doc)
{
    return get_doc(db, ST_PART_GET, id, meeting_id, doc);
}

int rtk_db_participant_by_custom(rtk_db *db, const char *meeting_id, const char *custom_id,
                                 json_t **doc)
{
    return get_doc(db, ST_PART_BY_CUSTOM, custom_id, meeting_id, doc);
}

int rtk_db_participant_delete(rtk_db *db, const char *meeting_id, const char *id)
{
    sqlite3_stmt *st = rtk_db__stmt(db, ST_PART_DELETE);
    rtk_db__bind_text(st, 1, id);
    rtk_db__bind_text(st, 2, meeting_id);
    int rc = rtk_db__step_done(db, st);
    if (rc == 0 && sqlite3_changes(db->sq) == 0)
        rc = RTK_ENOTFOUND;
    return rc;
}

int rtk_db_participant_list(rtk_db *db, const char *meeting_id, rtk_page page, json_t **items,
                            int64_t *total)
{
    sqlite3_stmt *cnt = rtk_db__stmt(db, ST_PART_COUNT);
    rtk_db__bind_text(cnt, 1, meeting_id);
    int rc = rtk_db__count(db, cnt, total);
    if (rc != 0)
        return rc;
    sqlite3_stmt *st = rtk_db__stmt(db, ST_PART_LIST);
    rtk_db__bind_text(st, 1, meeting_id);
    sqlite3_bind_int64(st, 2, page.limit);
    sqlite3_bind_int64(st, 3, page.offset);
    return rtk_db__collect(db, st, items);
}
