/* SPDX-License-Identifier: MIT */
/* rtk_store_pg.c - the PostgreSQL backend of the store: one libpq connection in pipeline mode,
 * non-blocking, on the loop thread.
 *
 * Design. libpq's non-blocking API sends commands without waiting for their results; the
 * connection's socket is watched with a uv_poll handle, and results are read as they arrive.
 * Every command sent is an item on the |sent| queue, in order, because a pipeline answers in
 * the order it was asked:
 *
 *     reads:   Q(stmt 0) Q(stmt 1) ... SYNC          sent at once
 *     a batch: Q(op a, stmt 0) ... Q(op z, ...) SYNC  one implicit transaction
 *
 * Group commit. Writes wait on |pending| for the loop turn's flush; at most MAX_INFLIGHT (2)
 * batches are in flight, and writes made meanwhile form the next one, sent as soon as one
 * commits. A slow commit (synchronous_commit on, an fsync) therefore makes the next batch
 * bigger instead of queueing commits: one round trip per loop turn at most, not per write.
 * Two, not one: while the loop answers the writes of one batch (thousands of poll.voted), the
 * server already runs the next, instead of waiting for the loop (votes on 15,000 peers: 15-18k/s
 * with one, 18-20k/s with two). The server runs them in order, each its own transaction, so a
 * batch that fails leaves the next one to succeed or fail on its own, as one sent later would;
 * what depended on the failed one (a row it inserted) fails the next one with it. A
 * statement that fails inside a pipeline aborts what follows it up to the SYNC, so inserts that
 * may meet a uniqueness rule say ON CONFLICT DO NOTHING (rtk_store_sql.c) and changing no row
 * is how a duplicate shows; a batch that fails anyway (a lost connection, a timeout, a refusal)
 * fails every write in it with RTK_EUNAVAIL: nothing of it was stored.
 *
 * Faults. No command waits longer than the store's timeout (statement_timeout on the server,
 * and the same bound on every round trip here): past it the connection counts as lost. While
 * the connection is down every operation fails at once with RTK_EUNAVAIL (the REST API answers
 * 503), rtk_store_ready says 0, and the backend reconnects by itself with an exponential,
 * jittered backoff (100 ms to 5 s). A reconnect, and every NOTIFY on rtkd_tokens (the
 * command line revoking a token, through a trigger), moves the store's epoch, so cached
 * authentication is dropped.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/rtk_store_int.h"
#include "util/rtk_err.h"
#include "util/rtk_id.h"
#include "util/rtk_map.h"
#include "util/rtk_metrics.h"
#include "util/rtk_time.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define MAX_INFLIGHT 2
#define MIGRATION_LOCK 727318 /* pg_advisory_lock key: "rtkd" migrations */

enum { PG_DOWN = 0, PG_CONNECTING, PG_READY };
enum { ITEM_QUERY = 0, ITEM_SYNC, ITEM_SETUP };

typedef struct pg_batch {
    rtk_store_op *ops, **tail; /* the writes in it, in order */
    size_t nops;
    int failed;       /* a command of it failed: nothing of it is stored */
    uint64_t sent_ns; /* uv_hrtime() when it was sent (rtkd_commit_duration_seconds) */
} pg_batch;

typedef struct pg_item {
    struct pg_item *next;
    int kind;
    rtk_store_op *op;     /* QUERY: its operation; SYNC of a read: the operation it completes */
    int stmt;             /* QUERY: the statement's index in op */
    int got;              /* QUERY: a result arrived (a NULL then ends it) */
    pg_batch *batch;      /* the batch it belongs to, or NULL for a read */
    rtk_store_op **group; /* QUERY of a grouped insert: the operations it stands for */
    size_t ngroup;
} pg_item;

static void item_free(pg_item *it)
{
    free(it->group);
    free(it);
}

typedef struct pg {
    rtk_store *st;
    char *url;
    int64_t timeout_ms;
    int state;
    PGconn *conn;
    uv_poll_t *poll; /* on PQsocket; a new one per connection */
    int poll_fd;
    int poll_events;
    uv_timer_t timer; /* reconnect backoff, or the round-trip deadline while busy */
    int timer_open;
    int64_t backoff_ms;
    uint64_t last_progress; /* loop time of the last result (or of sending into an idle pipe) */
    pg_item *sent, **sent_tail;
    rtk_store_op *pending, **pending_tail; /* writes of the next batch */
    size_t npending;
    int ninflight;   /* batches sent and not yet answered */
    int notified;    /* a NOTIFY or a reconnect since changed() was last asked */
    int logged_down; /* "unreachable" was logged for this outage */
} pg;

static pg *state(const rtk_store *st)
{
    return st->be_state;
}

static void update_poll(pg *p);
static void lost(pg *p, const char *why);
static void start_batch(pg *p);

/* ---- sending ---------------------------------------------------------------------------- */

static pg_item *push_item(pg *p, int kind, rtk_store_op *op, int stmt, pg_batch *b)
{
    pg_item *it = rtk_xcalloc(1, sizeof(*it));
    it->kind = kind;
    it->op = op;
    it->stmt = stmt;
    it->batch = b;
    if (p->sent == NULL)
        p->last_progress = uv_now(p->st->loop);
    *p->sent_tail = it;
    p->sent_tail = &it->next;
    return it;
}

/* Sends statement |idx| of |op|. Returns 0 or -1 (the connection is broken). */
static int send_stmt(pg *p, rtk_store_op *op, int idx, pg_batch *b)
{
    const rtk_store_stmt_call *c = &op->stmts[idx];
    const char *values[RTK_STORE_MAX_PARAMS];
    char *owned[RTK_STORE_MAX_PARAMS] = {0};
    char ints[RTK_STORE_MAX_PARAMS][24];
    for (int i = 0; i < c->nparams; i++) {
        const rtk_store_param *pr = &c->params[i];
        values[i] = NULL;
        if (pr->type == RTK_SV_TEXT) {
            values[i] = pr->s;
        } else if (pr->type == RTK_SV_INT) {
            snprintf(ints[i], sizeof(ints[i]), "%lld", (long long)pr->i);
            values[i] = ints[i];
        } else if (pr->type == RTK_SV_BLOB) {
            /* bytea's text input: \x and two hex digits a byte. */
            static const char hex[] = "0123456789abcdef";
            owned[i] = rtk_xmalloc(2 * pr->len + 3);
            owned[i][0] = '\\';
            owned[i][1] = 'x';
            for (size_t k = 0; k < pr->len; k++) {
                owned[i][2 + 2 * k] = hex[(unsigned char)pr->s[k] >> 4];
                owned[i][3 + 2 * k] = hex[(unsigned char)pr->s[k] & 15];
            }
            owned[i][2 + 2 * pr->len] = '\0';
            values[i] = owned[i];
        }
    }
    char name[16];
    snprintf(name, sizeof(name), "rtk%d", c->id);
    int ok = PQsendQueryPrepared(p->conn, name, c->nparams, values, NULL, NULL, 0);
    for (int i = 0; i < c->nparams; i++)
        free(owned[i]);
    if (!ok)
        return -1;
    push_item(p, ITEM_QUERY, op, idx, b);
    return 0;
}

/* ---- grouped votes ----------------------------------------------------------------------
 *
 * A burst of votes is thousands of one-row inserts in a batch, each a Bind and an Execute for
 * the server and a result for us. Consecutive votes of a batch go as one statement instead
 * (RTK_Q_VOTES_INSERT_MANY: each column as an array, unnest()ed), which returns the rows it
 * inserted: a vote it did not return was already there (RTK_EEXIST, as ON CONFLICT DO NOTHING
 * says for a single one). */

#define GROUP_MAX 4096 /* votes per statement: bounds one statement's text and work */

typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = rtk_xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

/* One element of an array literal: NULL, an integer, or a double-quoted text with \ before
 * every " and \. */
static void sb_elem(sbuf *b, const rtk_store_param *pr, int first)
{
    if (!first)
        sb_put(b, ",", 1);
    if (pr->type == RTK_SV_NULL) {
        sb_put(b, "NULL", 4);
    } else if (pr->type == RTK_SV_INT) {
        char n[24];
        int w = snprintf(n, sizeof(n), "%lld", (long long)pr->i);
        sb_put(b, n, (size_t)w);
    } else {
        sb_put(b, "\"", 1);
        size_t from = 0;
        for (size_t i = 0; i < pr->len; i++) {
            if (pr->s[i] == '"' || pr->s[i] == '\\') {
                sb_put(b, pr->s + from, i - from);
                sb_put(b, "\\", 1);
                from = i;
            }
        }
        sb_put(b, pr->s + from, pr->len - from);
        sb_put(b, "\"", 1);
    }
}

static int is_vote(const rtk_store_op *op)
{
    return op != NULL && op->nstmts == 1 && op->stmts[0].id == RTK_Q_VOTE_INSERT;
}

/* Sends |n| vote operations starting at |first| as one statement. */
static int send_votes(pg *p, rtk_store_op *first, size_t n, pg_batch *b)
{
    enum { NCOLS = 6 };
    sbuf cols[NCOLS];
    memset(cols, 0, sizeof(cols));
    rtk_store_op **ops = rtk_xcalloc(n, sizeof(*ops));
    rtk_store_op *op = first;
    for (size_t k = 0; k < n; k++, op = op->next) {
        ops[k] = op;
        rtk_store__set_begin(op, 0, 0);
        for (int c = 0; c < NCOLS; c++) {
            if (k == 0)
                sb_put(&cols[c], "{", 1);
            sb_elem(&cols[c], &op->stmts[0].params[c], k == 0);
        }
    }
    const char *values[NCOLS];
    for (int c = 0; c < NCOLS; c++) {
        sb_put(&cols[c], "}", 1);
        values[c] = cols[c].s;
    }
    char name[16];
    snprintf(name, sizeof(name), "rtk%d", RTK_Q_VOTES_INSERT_MANY);
    int ok = PQsendQueryPrepared(p->conn, name, NCOLS, values, NULL, NULL, 0);
    for (int c = 0; c < NCOLS; c++)
        free(cols[c].s);
    if (!ok) {
        free(ops);
        return -1;
    }
    pg_item *it = push_item(p, ITEM_QUERY, NULL, 0, b);
    it->group = ops;
    it->ngroup = n;
    return 0;
}

/* The grouped statement's outcome, told to each vote. */
static void group_result(pg_item *it, const PGresult *r, int status)
{
    rtk_map inserted;
    rtk_map_init(&inserted);
    char **keys = NULL;
    int nrows = status == 0 ? PQntuples(r) : 0;
    if (nrows > 0)
        keys = rtk_xcalloc((size_t)nrows, sizeof(*keys));
    for (int row = 0; row < nrows; row++) {
        size_t a = (size_t)PQgetlength(r, row, 0), c = (size_t)PQgetlength(r, row, 1);
        keys[row] = rtk_xmalloc(a + c + 2);
        memcpy(keys[row], PQgetvalue(r, row, 0), a);
        keys[row][a] = '\n';
        memcpy(keys[row] + a + 1, PQgetvalue(r, row, 1), c);
        keys[row][a + c + 1] = '\0';
        rtk_map_put(&inserted, keys[row], keys[row]);
    }
    for (size_t k = 0; k < it->ngroup; k++) {
        rtk_store_op *op = it->group[k];
        if (status != 0) {
            rtk_store__stmt_result(op, 0, status, 0, 0);
            continue;
        }
        const rtk_store_param *pp = op->stmts[0].params;
        char key[160];
        snprintf(key, sizeof(key), "%.*s\n%.*s", (int)pp[0].len, pp[0].s, (int)pp[1].len, pp[1].s);
        rtk_store__stmt_result(op, 0, 0, rtk_map_get(&inserted, key) != NULL, 0);
    }
    rtk_map_free(&inserted);
    for (int row = 0; row < nrows; row++)
        free(keys[row]);
    free(keys);
}

static int send_plain(pg *p, const char *sql, int kind, pg_batch *b)
{
    if (!PQsendQueryParams(p->conn, sql, 0, NULL, NULL, NULL, NULL, 0))
        return -1;
    push_item(p, kind, NULL, 0, b);
    return 0;
}

static int send_sync(pg *p, rtk_store_op *op, pg_batch *b)
{
    if (!PQpipelineSync(p->conn))
        return -1;
    push_item(p, ITEM_SYNC, op, 0, b);
    return 0;
}

static void send_read(pg *p, rtk_store_op *op)
{
    for (int i = 0; i < op->nstmts; i++) {
        rtk_store__set_begin(op, i, 0);
        if (send_stmt(p, op, i, NULL) != 0)
            goto broken;
    }
    if (send_sync(p, op, NULL) != 0)
        goto broken;
    update_poll(p);
    return;
broken:
    /* The op is referenced by items already queued: they fail it with everything else. */
    push_item(p, ITEM_SYNC, op, 0, NULL);
    lost(p, PQerrorMessage(p->conn));
}

/* Sends the pending writes as one transaction, unless one is in flight already. The
 * statements between two Syncs of a pipeline are one implicit transaction: the Sync commits it
 * when every statement succeeded and rolls it back when one failed (the rest are skipped), so
 * no BEGIN or COMMIT is needed, and a failed batch leaves no transaction open behind it. */
static void start_batch(pg *p)
{
    if (p->state != PG_READY || p->ninflight >= MAX_INFLIGHT || p->pending == NULL)
        return;
    pg_batch *b = rtk_xcalloc(1, sizeof(*b));
    b->ops = p->pending;
    b->tail = p->pending_tail;
    b->nops = p->npending;
    p->pending = NULL;
    p->pending_tail = &p->pending;
    p->npending = 0;
    int any = 0;
    for (rtk_store_op *op = b->ops; op != NULL; op = op->next)
        any |= op->nstmts > 0;
    if (!any) {
        /* Barriers only: what they wait for was answered before them. */
        for (rtk_store_op *op = b->ops, *next; op != NULL; op = next) {
            next = op->next;
            rtk_store__done(op, 0);
        }
        free(b);
        return;
    }
    p->ninflight++;
    rtk_metrics_gauge_set(RTK_MG_STORE_INFLIGHT, p->ninflight);
    b->sent_ns = uv_hrtime();
    for (rtk_store_op *op = b->ops; op != NULL; op = op->next) {
        if (is_vote(op) && is_vote(op->next)) {
            size_t n = 1;
            rtk_store_op *last = op;
            while (n < GROUP_MAX && is_vote(last->next)) {
                last = last->next;
                n++;
            }
            if (send_votes(p, op, n, b) != 0)
                goto broken;
            op = last;
            continue;
        }
        for (int i = 0; i < op->nstmts; i++) {
            rtk_store__set_begin(op, i, 0);
            if (send_stmt(p, op, i, b) != 0)
                goto broken;
        }
    }
    if (send_sync(p, NULL, b) != 0)
        goto broken;
    update_poll(p);
    return;
broken:
    push_item(p, ITEM_SYNC, NULL, 0, b);
    lost(p, PQerrorMessage(p->conn));
}

/* ---- receiving -------------------------------------------------------------------------- */

static int status_of(const PGresult *r)
{
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (state != NULL && strncmp(state, "23", 2) == 0)
        return RTK_EEXIST; /* integrity: a rule the statement did not expect */
    if (state != NULL && (strcmp(state, "57014") == 0 || strncmp(state, "08", 2) == 0 ||
                          strncmp(state, "57P", 3) == 0 || strncmp(state, "53", 2) == 0 ||
                          strncmp(state, "40", 2) == 0))
        return RTK_EUNAVAIL; /* cancelled (timeout), connection, shutdown, resources, retry */
    return RTK_EDB;
}

/* Copies the rows of |r| into result set |idx| of |op|. */
static void take_rows(rtk_store_op *op, int idx, const PGresult *r)
{
    int ncols = PQnfields(r), nrows = PQntuples(r);
    rtk_store__set_begin(op, idx, ncols);
    for (int row = 0; row < nrows; row++) {
        rtk_store_val *cells = rtk_store__row_add(op, idx);
        for (int c = 0; c < ncols; c++) {
            if (PQgetisnull(r, row, c))
                continue;
            const char *v = PQgetvalue(r, row, c);
            Oid t = PQftype(r, c);
            if (t == 20 || t == 21 || t == 23) { /* int8, int2, int4 */
                cells[c].type = RTK_SV_INT;
                cells[c].i = strtoll(v, NULL, 10);
            } else {
                rtk_store__cell_text(op, &cells[c], v, (size_t)PQgetlength(r, row, c));
            }
        }
    }
}

static void on_result(pg *p, pg_item *it, PGresult *r)
{
    ExecStatusType s = PQresultStatus(r);
    int ok = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
    if (!ok && s != PGRES_PIPELINE_ABORTED && s != PGRES_PIPELINE_SYNC)
        rtk_store__log(p->st, "%s", PQresultErrorMessage(r));
    if (it->batch != NULL && !ok && s != PGRES_PIPELINE_SYNC)
        it->batch->failed = 1;
    if (it->group != NULL) {
        group_result(it, r, ok ? 0 : s == PGRES_PIPELINE_ABORTED ? RTK_EUNAVAIL : status_of(r));
        return;
    }
    if (it->kind != ITEM_QUERY || it->op == NULL)
        return;
    if (ok) {
        const char *tuples = PQcmdTuples(r);
        int64_t changed = tuples[0] ? strtoll(tuples, NULL, 10) : 0;
        if (s == PGRES_TUPLES_OK)
            take_rows(it->op, it->stmt, r);
        rtk_store__stmt_result(it->op, it->stmt, 0, s == PGRES_TUPLES_OK ? 0 : changed,
                               (size_t)PQntuples(r));
    } else if (s == PGRES_PIPELINE_ABORTED) {
        rtk_store__stmt_result(it->op, it->stmt, RTK_EUNAVAIL, 0, 0);
    } else {
        rtk_store__stmt_result(it->op, it->stmt, status_of(r), 0, 0);
    }
}

/* A batch's SYNC arrived: its writes are answered. */
static void batch_done(pg *p, pg_batch *b)
{
    if (b->failed && b->nops > 0)
        rtk_store__log(p->st, "a batch of %zu writes could not be committed; each was refused",
                       b->nops);
    for (rtk_store_op *op = b->ops, *next; op != NULL; op = next) {
        next = op->next;
        /* A failed batch stored nothing: RTK_EUNAVAIL, unless the write itself was refused
         * (its own error is then the better answer). */
        rtk_store__done(
            op, b->failed && (op->status == 0 || op->status == RTK_EUNAVAIL) ? RTK_EUNAVAIL : 0);
    }
    p->ninflight--;
    rtk_metrics_gauge_set(RTK_MG_STORE_INFLIGHT, p->ninflight);
    rtk_store__committed(b->sent_ns, b->nops, b->failed);
    free(b);
}

static pg_item *pop(pg *p)
{
    pg_item *it = p->sent;
    p->sent = it->next;
    if (p->sent == NULL)
        p->sent_tail = &p->sent;
    return it;
}

static void read_results(pg *p)
{
    if (!PQconsumeInput(p->conn)) {
        lost(p, PQerrorMessage(p->conn));
        return;
    }
    PGnotify *n;
    while ((n = PQnotifies(p->conn)) != NULL) {
        p->notified = 1;
        PQfreemem(n);
    }
    int nulls = 0;
    while (p->sent != NULL && !PQisBusy(p->conn)) {
        PGresult *r = PQgetResult(p->conn);
        pg_item *it = p->sent;
        p->last_progress = uv_now(p->st->loop);
        if (r == NULL) {
            if (it->kind == ITEM_SYNC || !it->got) {
                if (++nulls > 1)
                    break; /* nothing more for now */
                continue;
            }
            item_free(pop(p)); /* the end of a command's results */
            continue;
        }
        nulls = 0;
        if (it->kind == ITEM_SYNC) {
            if (PQresultStatus(r) != PGRES_PIPELINE_SYNC) {
                PQclear(r);
                lost(p, "the pipeline is out of step");
                return;
            }
            PQclear(r);
            pop(p);
            if (it->batch != NULL)
                batch_done(p, it->batch);
            else if (it->op != NULL)
                rtk_store__done(it->op, 0);
            item_free(it);
            continue;
        }
        it->got = 1;
        on_result(p, it, r);
        PQclear(r);
    }
    if (PQstatus(p->conn) == CONNECTION_BAD) {
        lost(p, PQerrorMessage(p->conn));
        return;
    }
    start_batch(p); /* the next batch goes as soon as one has committed */
    rtk_store__drain(p->st);
    update_poll(p);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    pg *p = h->data;
    if (p == NULL || p->state == PG_DOWN)
        return;
    if (status < 0) {
        lost(p, uv_strerror(status));
        return;
    }
    if (p->state == PG_CONNECTING) {
        update_poll(p); /* drives PQconnectPoll */
        return;
    }
    if (events & UV_WRITABLE) {
        if (PQflush(p->conn) < 0) {
            lost(p, PQerrorMessage(p->conn));
            return;
        }
    }
    if (events & UV_READABLE)
        read_results(p);
    else
        update_poll(p);
}

static void poll_closed(uv_handle_t *h)
{
    free(h);
}

static void close_poll(pg *p)
{
    if (p->poll != NULL) {
        p->poll->data = NULL;
        uv_close((uv_handle_t *)p->poll, poll_closed);
        p->poll = NULL;
        p->poll_events = 0;
    }
}

static void watch(pg *p, int events)
{
    if (p->poll != NULL && p->poll_fd != PQsocket(p->conn))
        close_poll(p); /* libpq moved to another socket (another address of the host) */
    if (p->poll == NULL) {
        p->poll_fd = PQsocket(p->conn);
        p->poll = rtk_xcalloc(1, sizeof(*p->poll));
        if (uv_poll_init(p->st->loop, p->poll, PQsocket(p->conn)) != 0) {
            free(p->poll);
            p->poll = NULL;
            return;
        }
        p->poll->data = p;
    }
    if (events != p->poll_events) {
        uv_poll_start(p->poll, events, on_poll);
        p->poll_events = events;
    }
}

static void schedule_reconnect(pg *p);
static void connected(pg *p);

/* Chooses what to wait for on the socket, from libpq's state. */
static void update_poll(pg *p)
{
    if (p->state == PG_CONNECTING) {
        PostgresPollingStatusType s = PQconnectPoll(p->conn);
        if (s == PGRES_POLLING_FAILED) {
            lost(p, PQerrorMessage(p->conn));
            return;
        }
        if (s == PGRES_POLLING_OK) {
            connected(p);
            return;
        }
        watch(p, s == PGRES_POLLING_WRITING ? UV_WRITABLE : UV_READABLE);
        return;
    }
    if (p->state != PG_READY)
        return;
    int flush = PQflush(p->conn);
    if (flush < 0) {
        lost(p, PQerrorMessage(p->conn));
        return;
    }
    /* Always readable: results, NOTIFYs, and a server that goes away. */
    watch(p, UV_READABLE | (flush == 1 ? UV_WRITABLE : 0));
    /* The socket keeps the loop alive only while answers are owed: an idle connection must
     * not hold a stopping server (or a finished command) back. */
    if (p->poll != NULL) {
        if (p->sent != NULL || p->pending != NULL)
            uv_ref((uv_handle_t *)p->poll);
        else
            uv_unref((uv_handle_t *)p->poll);
    }
}

/* ---- the connection's life -------------------------------------------------------------- */

static void fail_all(pg *p)
{
    /* Everything sent is lost: each read fails at its SYNC, each batch fails whole. */
    pg_item *it = p->sent;
    p->sent = NULL;
    p->sent_tail = &p->sent;
    while (it != NULL) {
        pg_item *next = it->next;
        if (it->kind == ITEM_SYNC) {
            if (it->batch != NULL) {
                it->batch->failed = 1;
                batch_done(p, it->batch);
            } else if (it->op != NULL) {
                rtk_store__done(it->op, RTK_EUNAVAIL);
            }
        }
        item_free(it);
        it = next;
    }
    p->ninflight = 0;
    rtk_store_op *op = p->pending, *next;
    p->pending = NULL;
    p->pending_tail = &p->pending;
    p->npending = 0;
    for (; op != NULL; op = next) {
        next = op->next;
        rtk_store__done(op, RTK_EUNAVAIL);
    }
}

static void lost(pg *p, const char *why)
{
    if (!p->logged_down) {
        char msg[300];
        snprintf(msg, sizeof(msg), "%s", why ? why : "");
        msg[strcspn(msg, "\n")] = '\0';
        rtk_store__log(p->st, "%s is unreachable (%s); writes are refused until it is back",
                       p->st->url, msg);
        p->logged_down = 1;
    }
    p->state = PG_DOWN;
    close_poll(p);
    if (p->conn != NULL) {
        PQfinish(p->conn);
        p->conn = NULL;
    }
    fail_all(p);
    schedule_reconnect(p);
    rtk_store__drain(p->st);
}

static void on_timer(uv_timer_t *t);

static void arm(pg *p, int64_t ms)
{
    if (p->timer_open)
        uv_timer_start(&p->timer, on_timer, (uint64_t)(ms > 0 ? ms : 0), 0);
}

/* Server notices ("relation already exists, skipping") are not ours to print. */
static void quiet_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static void begin_connect(pg *p)
{
    p->conn = PQconnectStart(p->url);
    if (p->conn == NULL || PQstatus(p->conn) == CONNECTION_BAD) {
        lost(p, p->conn ? PQerrorMessage(p->conn) : "out of memory");
        return;
    }
    PQsetNoticeProcessor(p->conn, quiet_notices, NULL);
    p->state = PG_CONNECTING;
    arm(p, p->timeout_ms); /* a connection attempt is bounded too */
    update_poll(p);
}

static void schedule_reconnect(pg *p)
{
    uint8_t r = 0;
    rtk_random_bytes(&r, 1);
    /* Exponential with jitter: between 75 % and 125 % of the step. */
    int64_t ms = p->backoff_ms * (75 + (int64_t)(r % 51)) / 100;
    p->backoff_ms = p->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : p->backoff_ms * 2;
    arm(p, ms);
}

/* Every statement is prepared once per connection (named rtk<id>): a write then costs the
 * server a Bind and an Execute, not a parse and a plan each time. */
static int prepare_all(pg *p)
{
    for (int id = 0; id < RTK_Q_COUNT; id++) {
        if (rtk_store__sql[id].pg == NULL)
            continue; /* SQLite's own (PRAGMAs) */
        char name[16];
        snprintf(name, sizeof(name), "rtk%d", id);
        if (!PQsendPrepare(p->conn, name, rtk_store__sql[id].pg, 0, NULL))
            return -1;
        push_item(p, ITEM_SETUP, NULL, 0, NULL);
    }
    return 0;
}

static void connected(pg *p)
{
    if (PQsetnonblocking(p->conn, 1) != 0 || !PQenterPipelineMode(p->conn)) {
        lost(p, PQerrorMessage(p->conn));
        return;
    }
    char opt[64];
    snprintf(opt, sizeof(opt), "SET statement_timeout = %lld", (long long)p->timeout_ms);
    if (send_plain(p, opt, ITEM_SETUP, NULL) != 0 ||
        send_plain(p, "LISTEN rtkd_tokens", ITEM_SETUP, NULL) != 0 || prepare_all(p) != 0 ||
        send_sync(p, NULL, NULL) != 0) {
        lost(p, PQerrorMessage(p->conn));
        return;
    }
    if (p->logged_down)
        rtk_store__log(p->st, "%s is reachable again", p->st->url);
    p->logged_down = 0;
    p->state = PG_READY;
    p->backoff_ms = BACKOFF_MIN_MS;
    p->notified = 1; /* what changed meanwhile is unknown: caches start afresh */
    arm(p, 1000);
    update_poll(p);
    start_batch(p);
}

static void on_timer(uv_timer_t *t)
{
    pg *p = t->data;
    uint64_t now = uv_now(p->st->loop);
    switch (p->state) {
    case PG_DOWN: begin_connect(p); return;
    case PG_CONNECTING: lost(p, "the connection attempt timed out"); return;
    default: break;
    }
    if (p->sent != NULL && now - p->last_progress > (uint64_t)p->timeout_ms) {
        lost(p, "no answer within the store timeout");
        return;
    }
    arm(p, 1000);
}

/* ---- the backend interface ------------------------------------------------------------ */

static void pg_submit(rtk_store *st, rtk_store_op *op)
{
    pg *p = state(st);
    if (p->state != PG_READY) {
        rtk_store__done(op, RTK_EUNAVAIL);
        return;
    }
    if (!op->write) {
        send_read(p, op);
        return;
    }
    op->next = NULL;
    *p->pending_tail = op;
    p->pending_tail = &op->next;
    p->npending++;
    if (p->poll != NULL)
        uv_ref((uv_handle_t *)p->poll); /* until the batch is answered */
}

static int pg_flush(rtk_store *st)
{
    start_batch(state(st));
    return 0;
}

static int pg_idle(rtk_store *st)
{
    pg *p = state(st);
    return p->sent == NULL && p->pending == NULL;
}

static int pg_ready(const rtk_store *st)
{
    return state(st)->state == PG_READY;
}

static int pg_changed(rtk_store *st)
{
    pg *p = state(st);
    int c = p->notified;
    p->notified = 0;
    return c;
}

/* Runs |sql| on the blocking connection of start-up; 0 or -1 after a message. */
static int exec_blocking(rtk_store *st, PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        fprintf(stderr, "rtkd: store: %s: %s", st->url, PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    PQclear(r);
    return 0;
}

/* The data step of the presets migration (rtk_store_int.h), inside its transaction. */
static int presets_step(rtk_store *st, PGconn *c)
{
    char *seed, *count, *map;
    rtk_store__presets_sql(1, rtk_time_now_ms(), &seed, &count, &map);
    int rc = exec_blocking(st, c, seed);
    long long n = -1;
    if (rc == 0) {
        PGresult *r = PQexec(c, count);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
            n = atoll(PQgetvalue(r, 0, 0));
        else
            fprintf(stderr, "rtkd: store: %s: %s", st->url, PQresultErrorMessage(r));
        PQclear(r);
        rc = n < 0 ? -1 : exec_blocking(st, c, map);
    }
    if (rc == 0 && n > 0)
        rtk_store__presets_log(st, n);
    free(seed);
    free(count);
    free(map);
    return rc;
}

/* Versioned like SQLite's, in rtkd_schema, one transaction per step, under an advisory lock so
 * that nodes started together migrate once. */
static int migrate(rtk_store *st, PGconn *c)
{
    char sql[96];
    snprintf(sql, sizeof(sql), "SELECT pg_advisory_lock(%d)", MIGRATION_LOCK);
    if (exec_blocking(st, c, sql) != 0)
        return RTK_EDB;
    int rc = RTK_EDB;
    if (exec_blocking(st, c, "CREATE TABLE IF NOT EXISTS rtkd_schema(version INTEGER NOT NULL)") !=
        0)
        goto out;
    PGresult *r = PQexec(c, "SELECT version FROM rtkd_schema");
    int version = 0, rows = PQntuples(r);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && rows > 0)
        version = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (rows == 0 && exec_blocking(st, c, "INSERT INTO rtkd_schema(version) VALUES(0)") != 0)
        goto out;
    if (version > rtk_store__pg_nmigrations) {
        fprintf(stderr, "rtkd: store: %s is from a newer rtkd (schema %d > %d)\n", st->url, version,
                rtk_store__pg_nmigrations);
        goto out;
    }
    for (; version < rtk_store__pg_nmigrations; version++) {
        char bump[80];
        snprintf(bump, sizeof(bump), "UPDATE rtkd_schema SET version=%d", version + 1);
        if (exec_blocking(st, c, "BEGIN") != 0)
            goto out;
        if (exec_blocking(st, c, rtk_store__pg_migrations[version]) != 0 ||
            (version == RTK_STORE_PG_PRESETS_MIGRATION && presets_step(st, c) != 0) ||
            exec_blocking(st, c, bump) != 0 || exec_blocking(st, c, "COMMIT") != 0) {
            exec_blocking(st, c, "ROLLBACK");
            goto out;
        }
    }
    rc = 0;
out:
    snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(%d)", MIGRATION_LOCK);
    exec_blocking(st, c, sql);
    return rc;
}

static void pg_close(rtk_store *st)
{
    pg *p = state(st);
    if (p == NULL)
        return;
    close_poll(p);
    if (p->timer_open) {
        uv_timer_stop(&p->timer);
        uv_close((uv_handle_t *)&p->timer, NULL);
        p->timer_open = 0;
    }
    if (p->conn != NULL)
        PQfinish(p->conn);
    p->conn = NULL;
    fail_all(p);
    /* The handles close on the loop's next turn: run it so nothing is left open. */
    uv_run(st->loop, UV_RUN_NOWAIT);
    free(p->url);
    free(p);
    st->be_state = NULL;
}

static int pg_open(rtk_store *st, const char *url, const rtk_store_config *cfg)
{
    pg *p = rtk_xcalloc(1, sizeof(*p));
    st->be_state = p;
    p->st = st;
    p->url = rtk_xstrndup(url, strlen(url));
    p->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 5000;
    p->backoff_ms = BACKOFF_MIN_MS;
    p->sent_tail = &p->sent;
    p->pending_tail = &p->pending;
    /* Start-up blocks: the database must exist and answer, and the schema be current. */
    char opts[64];
    int64_t connect_s = p->timeout_ms / 1000 + 1;
    snprintf(opts, sizeof(opts), "%lld", (long long)connect_s);
    const char *keys[] = {"dbname", "connect_timeout", NULL};
    const char *vals[] = {url, opts, NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (c == NULL || PQstatus(c) != CONNECTION_OK) {
        char msg[300];
        snprintf(msg, sizeof(msg), "%s", c ? PQerrorMessage(c) : "out of memory");
        msg[strcspn(msg, "\n")] = '\0';
        fprintf(stderr, "rtkd: store: cannot connect to %s: %s\n", st->url, msg);
        PQfinish(c);
        free(p->url);
        free(p);
        st->be_state = NULL;
        return RTK_EUNAVAIL;
    }
    PQsetNoticeProcessor(c, quiet_notices, NULL);
    int rc = migrate(st, c);
    if (rc != 0) {
        PQfinish(c);
        free(p->url);
        free(p);
        st->be_state = NULL;
        return rc;
    }
    p->conn = c;
    uv_timer_init(st->loop, &p->timer);
    p->timer.data = p;
    p->timer_open = 1;
    uv_unref((uv_handle_t *)&p->timer); /* never keeps the loop alive by itself */
    connected(p);
    return p->state == PG_READY ? 0 : RTK_EUNAVAIL;
}

const rtk_store_backend rtk_store__pg = {
    .name = "postgres",
    .open = pg_open,
    .close = pg_close,
    .submit = pg_submit,
    .flush = pg_flush,
    .idle = pg_idle,
    .ready = pg_ready,
    .changed = pg_changed,
};
