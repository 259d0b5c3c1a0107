/* SPDX-License-Identifier: MIT */
/* rtk_store_sqlite.c - the SQLite backend of the store: one connection on the loop thread.
 *
 * Statements run as they are submitted; a write opens the batch transaction if none is open.
 * Reads complete at once (their callbacks still wait for the next drain); writes wait on the
 * batch list for rtk_store_turn, which commits once per loop turn and completes them. A WAL
 * commit with synchronous=NORMAL takes microseconds and survives kill -9 of the process, so
 * the loop thread commits by itself (docs/design.md). When a statement fails in a way that
 * makes SQLite roll the transaction back (disk full, I/O error), every write of the batch so
 * far is lost: they complete with RTK_EUNAVAIL, and nothing of them is acknowledged. */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/rtk_keyfile.h"
#include "store/rtk_store_int.h"
#include "util/rtk_err.h"
#include "util/rtk_metrics.h"
#include "util/rtk_time.h"

typedef struct sq {
    sqlite3 *db;
    char dir[4096];
    sqlite3_stmt *stmts[RTK_Q_COUNT];  /* prepared on first use */
    int in_tx;                         /* the batch transaction is open */
    rtk_store_op *batch, **batch_tail; /* writes waiting for its commit */
    size_t nbatch;
    int64_t data_version;
    uint64_t checked_turn; /* the turn data_version was last read */
} sq;

static sq *state(const rtk_store *st)
{
    return st->be_state;
}

static int exec(rtk_store *st, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(state(st)->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        rtk_store__log(st, "%s", err ? err : "exec failed");
        sqlite3_free(err);
        return RTK_EDB;
    }
    return 0;
}

/* Our SQL writes parameters as $N; SQLite numbers them in order of appearance unless they are
 * written ?N. */
static char *sqlite_text(const char *sql)
{
    size_t n = strlen(sql);
    char *out = rtk_xmalloc(n + 1);
    for (size_t i = 0; i <= n; i++)
        out[i] = (sql[i] == '$' && sql[i + 1] >= '0' && sql[i + 1] <= '9') ? '?' : sql[i];
    return out;
}

static sqlite3_stmt *stmt(rtk_store *st, int id)
{
    sq *s = state(st);
    if (s->stmts[id] != NULL) {
        sqlite3_reset(s->stmts[id]);
        sqlite3_clear_bindings(s->stmts[id]);
        return s->stmts[id];
    }
    const rtk_store_sql *q = &rtk_store__sql[id];
    char *text = sqlite_text(q->sqlite ? q->sqlite : q->pg);
    if (sqlite3_prepare_v3(s->db, text, -1, SQLITE_PREPARE_PERSISTENT, &s->stmts[id], NULL) !=
        SQLITE_OK) {
        rtk_store__log(st, "cannot prepare %s: %s", text, sqlite3_errmsg(s->db));
        s->stmts[id] = NULL;
    }
    free(text);
    return s->stmts[id];
}

static void bind_params(sqlite3_stmt *q, const rtk_store_stmt_call *c)
{
    for (int i = 0; i < c->nparams; i++) {
        const rtk_store_param *p = &c->params[i];
        switch (p->type) {
        case RTK_SV_INT: sqlite3_bind_int64(q, i + 1, p->i); break;
        case RTK_SV_TEXT: sqlite3_bind_text(q, i + 1, p->s, (int)p->len, SQLITE_STATIC); break;
        case RTK_SV_BLOB: sqlite3_bind_blob(q, i + 1, p->s, (int)p->len, SQLITE_STATIC); break;
        default: sqlite3_bind_null(q, i + 1); break;
        }
    }
}

/* Every write of the open batch is lost (SQLite rolled the transaction back, or COMMIT
 * failed): each completes with RTK_EUNAVAIL. */
static void batch_lost(rtk_store *st, const char *why)
{
    sq *s = state(st);
    if (s->nbatch > 0)
        rtk_store__log(st, "a batch of %zu writes could not be stored (%s); each was refused",
                       s->nbatch, why);
    rtk_store_op *op = s->batch, *next;
    s->batch = NULL;
    s->batch_tail = &s->batch;
    s->nbatch = 0;
    s->in_tx = 0;
    for (; op != NULL; op = next) {
        next = op->next;
        rtk_store__done(op, RTK_EUNAVAIL);
    }
}

/* Runs statement |idx| of |op|, collecting its rows into result set |idx|. Returns 0, or
 * RTK_EUNAVAIL when the failure rolled the batch back. */
static int run(rtk_store *st, rtk_store_op *op, int idx)
{
    sq *s = state(st);
    const rtk_store_stmt_call *c = &op->stmts[idx];
    sqlite3_stmt *q = stmt(st, c->id);
    if (q == NULL) {
        rtk_store__stmt_result(op, idx, RTK_EDB, 0, 0);
        return 0;
    }
    bind_params(q, c);
    int ncols = sqlite3_column_count(q);
    rtk_store__set_begin(op, idx, ncols);
    size_t rows = 0;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        rtk_store_val *row = rtk_store__row_add(op, idx);
        rows++;
        for (int i = 0; i < ncols; i++) {
            switch (sqlite3_column_type(q, i)) {
            case SQLITE_INTEGER:
                row[i].type = RTK_SV_INT;
                row[i].i = sqlite3_column_int64(q, i);
                break;
            case SQLITE_NULL: break;
            default: {
                const char *t = (const char *)(sqlite3_column_type(q, i) == SQLITE_BLOB
                                                   ? sqlite3_column_blob(q, i)
                                                   : (const void *)sqlite3_column_text(q, i));
                rtk_store__cell_text(op, &row[i], t ? t : "", (size_t)sqlite3_column_bytes(q, i));
            }
            }
        }
    }
    int64_t changed = (rc == SQLITE_DONE && !sqlite3_stmt_readonly(q)) ? sqlite3_changes(s->db) : 0;
    if (rc == SQLITE_DONE) {
        sqlite3_reset(q);
        rtk_store__stmt_result(op, idx, 0, changed, rows);
        return 0;
    }
    const char *msg = sqlite3_errmsg(s->db);
    rtk_store__log(st, "%s: %s", sqlite3_sql(q), msg);
    sqlite3_reset(q);
    if (s->in_tx && sqlite3_get_autocommit(s->db)) {
        /* SQLite rolled the whole transaction back (SQLITE_FULL, SQLITE_IOERR, ...). */
        rtk_store__stmt_result(op, idx, RTK_EUNAVAIL, 0, 0);
        return RTK_EUNAVAIL;
    }
    int status = (rc & 0xff) == SQLITE_CONSTRAINT ? RTK_EEXIST
                 : ((rc & 0xff) == SQLITE_FULL || (rc & 0xff) == SQLITE_IOERR ||
                    (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_READONLY)
                     ? RTK_EUNAVAIL
                     : RTK_EDB;
    rtk_store__stmt_result(op, idx, status, 0, 0);
    return 0;
}

/* Keys live in the data folder: DIR/NAME.key. */
static void run_key(rtk_store *st, rtk_store_op *op)
{
    sq *s = state(st);
    uint8_t key[64];
    size_t n = op->key_len > sizeof(key) ? sizeof(key) : op->key_len;
    int rc = rtk_keyfile_load(s->dir, op->key_name, key, n);
    if (rc != 0) {
        rtk_store__log(st, "cannot load %s/%s.key: %s", s->dir, op->key_name, rtk_strerror(rc));
        rtk_store__done(op, RTK_EDB);
        return;
    }
    static const char digits[] = "0123456789abcdef";
    char hex[129];
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[key[i] >> 4];
        hex[2 * i + 1] = digits[key[i] & 15];
    }
    rtk_store__set_begin(op, 0, 0);
    rtk_store__set_begin(op, 1, 1);
    rtk_store__cell_text(op, rtk_store__row_add(op, 1), hex, 2 * n);
    rtk_store__done(op, 0);
}

/* Text keys too: DIR/NAME.pem. */
static void run_key_text(rtk_store *st, rtk_store_op *op)
{
    sq *s = state(st);
    const char *value = op->stmts[0].id == RTK_Q_KEY_INSERT ? op->stmts[0].params[1].s : NULL;
    char *buf = rtk_xmalloc(16384);
    size_t len = 0;
    int rc = rtk_keyfile_text(s->dir, op->key_name, value, buf, 16384, &len);
    if (rc != 0) {
        free(buf);
        if (rc == -ENOENT && value == NULL) {
            rtk_store__done(op, RTK_ENOTFOUND);
            return;
        }
        rtk_store__log(st, "cannot load %s/%s.pem: %s", s->dir, op->key_name, rtk_strerror(rc));
        rtk_store__done(op, RTK_EDB);
        return;
    }
    int set = op->nstmts - 1;
    for (int i = 0; i < set; i++)
        rtk_store__set_begin(op, i, 0);
    rtk_store__set_begin(op, set, 1);
    rtk_store__cell_text(op, rtk_store__row_add(op, set), buf, len);
    free(buf);
    rtk_store__done(op, 0);
}

static void sq_submit(rtk_store *st, rtk_store_op *op)
{
    sq *s = state(st);
    if (op->key_text) {
        run_key_text(st, op);
        return;
    }
    if (op->nstmts > 0 && op->stmts[0].id == RTK_Q_KEY_INSERT) {
        run_key(st, op);
        return;
    }
    if (op->write && op->nstmts > 0 && !s->in_tx) {
        if (exec(st, "BEGIN") != 0) {
            rtk_store__done(op, RTK_EUNAVAIL);
            return;
        }
        s->in_tx = 1;
    }
    for (int i = 0; i < op->nstmts; i++) {
        if (run(st, op, i) != 0) {
            if (s->in_tx) { /* the turn's batch is rolled back before its COMMIT: it failed */
                rtk_metrics_add(RTK_MC_STORE_BATCHES, 1);
                rtk_metrics_add(RTK_MC_STORE_BATCHES_FAILED, 1);
            }
            batch_lost(st, sqlite3_errmsg(s->db));
            rtk_store__done(op, RTK_EUNAVAIL);
            return;
        }
    }
    if (!op->write) {
        rtk_store__done(op, 0);
        return;
    }
    op->next = NULL;
    *s->batch_tail = op;
    s->batch_tail = &op->next;
    s->nbatch++;
}

static int sq_flush(rtk_store *st)
{
    sq *s = state(st);
    if (s->batch == NULL && !s->in_tx)
        return 0;
    if (s->in_tx) {
        uint64_t t0 = uv_hrtime();
        int rc = exec(st, "COMMIT");
        rtk_store__committed(t0, s->nbatch, rc != 0);
        if (rc != 0) {
            /* SQLite may have rolled back already (SQLITE_FULL): then ROLLBACK fails
             * harmlessly. Either way nothing of the batch is stored. */
            if (!sqlite3_get_autocommit(s->db))
                exec(st, "ROLLBACK");
            batch_lost(st, sqlite3_errmsg(s->db));
            return 1;
        }
        s->in_tx = 0;
    }
    rtk_store_op *op = s->batch, *next;
    s->batch = NULL;
    s->batch_tail = &s->batch;
    s->nbatch = 0;
    for (; op != NULL; op = next) {
        next = op->next;
        rtk_store__done(op, 0);
    }
    return 1;
}

static int sq_idle(rtk_store *st)
{
    return !state(st)->in_tx && state(st)->batch == NULL;
}

static int sq_ready(const rtk_store *st)
{
    (void)st;
    return 1;
}

static int sq_changed(rtk_store *st)
{
    sq *s = state(st);
    if (s->checked_turn == st->turns && s->data_version != 0)
        return 0;
    s->checked_turn = st->turns;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db, "PRAGMA data_version", -1, &q, NULL) != SQLITE_OK)
        return 1;
    int64_t v = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : -1;
    sqlite3_finalize(q);
    int changed = s->data_version != 0 && v != s->data_version;
    s->data_version = v;
    return changed || v < 0;
}

/* The data step of the presets migration (rtk_store_int.h), inside its transaction. */
static int presets_step(rtk_store *st)
{
    char *seed, *count, *map;
    rtk_store__presets_sql(0, rtk_time_now_ms(), &seed, &count, &map);
    int rc = exec(st, seed);
    long long n = -1;
    sqlite3_stmt *q = NULL;
    if (rc == 0 && sqlite3_prepare_v2(state(st)->db, count, -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    if (rc == 0 && n < 0) {
        rtk_store__log(st, "%s", sqlite3_errmsg(state(st)->db));
        rc = RTK_EDB;
    }
    if (rc == 0)
        rc = exec(st, map);
    if (rc == 0 && n > 0)
        rtk_store__presets_log(st, n);
    free(seed);
    free(count);
    free(map);
    return rc;
}

static int migrate(rtk_store *st)
{
    sq *s = state(st);
    sqlite3_stmt *q = NULL;
    int version = 0;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &q, NULL) != SQLITE_OK)
        return RTK_EDB;
    if (sqlite3_step(q) == SQLITE_ROW)
        version = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    int count = rtk_store__sqlite_nmigrations;
    if (version > count) {
        fprintf(stderr, "rtkd: store: %s is from a newer rtkd (schema %d > %d)\n", st->url, version,
                count);
        return RTK_EDB;
    }
    for (; version < count; version++) {
        char bump[64];
        snprintf(bump, sizeof(bump), "PRAGMA user_version=%d", version + 1);
        if (exec(st, "BEGIN IMMEDIATE") != 0)
            return RTK_EDB;
        if (exec(st, rtk_store__sqlite_migrations[version]) != 0 ||
            (version == RTK_STORE_SQLITE_PRESETS_MIGRATION && presets_step(st) != 0) ||
            exec(st, bump) != 0) {
            exec(st, "ROLLBACK");
            return RTK_EDB;
        }
        if (exec(st, "COMMIT") != 0)
            return RTK_EDB;
    }
    return 0;
}

static void sq_close(rtk_store *st)
{
    sq *s = state(st);
    if (s == NULL)
        return;
    sq_flush(st);
    for (int i = 0; i < RTK_Q_COUNT; i++)
        sqlite3_finalize(s->stmts[i]);
    sqlite3_close(s->db); /* NULL is a harmless no-op */
    free(s);
    st->be_state = NULL;
}

static int sq_open(rtk_store *st, const char *dir, const rtk_store_config *cfg)
{
    sq *s = rtk_xcalloc(1, sizeof(*s));
    char path[4200];
    st->be_state = s;
    s->batch_tail = &s->batch;
    if (dir[0] == '\0' || strlen(dir) >= sizeof(s->dir)) {
        fprintf(stderr, "rtkd: store: sqlite:DIR needs a data folder\n");
        goto fail;
    }
    snprintf(s->dir, sizeof(s->dir), "%s", dir);
    snprintf(path, sizeof(path), "%s/rtkd.db", dir);
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        fprintf(stderr, "rtkd: store: cannot open %s: %s\n", path,
                s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    /* Another process (the command line) may write while the server runs: wait for its
     * lock, which it holds for microseconds. */
    sqlite3_busy_timeout(s->db, 5000);
    if (exec(st, "PRAGMA journal_mode=WAL") != 0 || exec(st, "PRAGMA foreign_keys=ON") != 0 ||
        exec(st, cfg->full_sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL") != 0)
        goto fail;
    if (migrate(st) != 0)
        goto fail;
    sq_changed(st); /* the first reading of data_version */
    return 0;
fail:
    sq_close(st);
    return RTK_EDB;
}

const rtk_store_backend rtk_store__sqlite = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .submit = sq_submit,
    .flush = sq_flush,
    .idle = sq_idle,
    .ready = sq_ready,
    .changed = sq_changed,
};
