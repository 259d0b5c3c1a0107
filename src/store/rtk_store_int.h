/* SPDX-License-Identifier: MIT */
/* rtk_store_int.h - the store's private parts: operations, statements, the backend interface.
 *
 * Design. An operation (rtk_store_op) is what one call of rtk_store.h asked for: up to
 * RTK_STORE_MAX_SETS statements, each a statement id (an index into the SQL tables of
 * rtk_store_sql.c) and its parameters, copied into the operation so that a backend may send
 * them later. The front (rtk_store.c) builds operations and hands them to the backend; the
 * backend runs the statements, appends each statement's rows to the operation's result, and
 * gives the operation back with rtk_store__done (reads: at once; writes: when their batch has
 * committed or failed). Completed operations wait in a queue that rtk_store_turn (and the
 * backends' I/O callbacks) drain, so a callback never runs inside the call that issued it.
 *
 *     caller ──op──► front ──submit──► backend ──(rows)──► op.res
 *        ▲                                 │
 *        └──cb◄── drain ◄── done queue ◄───┘ (writes: after their batch's COMMIT)
 */
#ifndef RTK_STORE_INT_H
#define RTK_STORE_INT_H

#include "store/rtk_store.h"

#define RTK_STORE_MAX_PARAMS 12

/* Statement ids: one per SQL text of rtk_store_sql.c. */
enum rtk_store_stmt {
    RTK_Q_NONE = 0, /* a barrier: no statement */
    RTK_Q_ACCOUNT_INSERT,
    RTK_Q_ACCOUNT_GET,
    RTK_Q_ACCOUNT_DEV,
    RTK_Q_TOKEN_INSERT,
    RTK_Q_TOKEN_FIND,
    RTK_Q_TOKEN_LIST,
    RTK_Q_TOKEN_REVOKE,
    RTK_Q_APP_INSERT,
    RTK_Q_APP_OWNER,
    RTK_Q_APP_FIRST,
    RTK_Q_APP_COUNT,
    RTK_Q_APP_LIST,
    RTK_Q_MEETING_INSERT,
    RTK_Q_MEETING_UPDATE,
    RTK_Q_MEETING_GET,
    RTK_Q_MEETING_COUNT,
    RTK_Q_MEETING_LIST,
    RTK_Q_PART_INSERT,
    RTK_Q_PART_UPDATE,
    RTK_Q_PART_GET,
    RTK_Q_PART_BY_CUSTOM,
    RTK_Q_PART_DELETE,
    RTK_Q_PART_COUNT,
    RTK_Q_PART_LIST,
    RTK_Q_SESSION_INSERT,
    RTK_Q_SESSION_UPDATE,
    RTK_Q_PEER_INSERT,
    RTK_Q_PEER_LEFT,
    RTK_Q_SESSION_PEERS_LEFT,
    RTK_Q_SESSION_END_OTHERS,
    RTK_Q_SESSION_END_OTHERS_PEERS,
    RTK_Q_KICK_INSERT,
    RTK_Q_CLOSE_OPEN_PEERS,
    RTK_Q_FIX_CLOSED_MS,
    RTK_Q_SESSIONS_LIVE,
    RTK_Q_KICKS_LIVE,
    RTK_Q_SESSION_COUNT,
    RTK_Q_SESSION_LIST,
    RTK_Q_SESSION_GET,
    RTK_Q_SESSION_PEERS_COUNT,
    RTK_Q_SESSION_PEERS_LIST,
    RTK_Q_POLL_INSERT,
    RTK_Q_VOTE_INSERT,
    RTK_Q_VOTES_INSERT_MANY, /* PostgreSQL only: a run of RTK_Q_VOTE_INSERTs in one statement */
    RTK_Q_POLLS_LOAD,
    RTK_Q_VOTES_LOAD,
    RTK_Q_KEY_INSERT,
    RTK_Q_KEY_GET,
    RTK_Q_PRESET_INSERT,
    RTK_Q_PRESET_UPDATE,
    RTK_Q_PRESET_DELETE,
    RTK_Q_PRESET_GET,
    RTK_Q_PRESET_BY_NAME,
    RTK_Q_PRESET_COUNT,
    RTK_Q_PRESET_LIST,
    RTK_Q_PRESET_USERS,    /* participants of the app using preset $2 (by id) */
    RTK_Q_PRESET_TAKEN,    /* other presets of the app named $2 */
    RTK_Q_PRESET_EXISTS,   /* presets of the app named $2 (0 or 1) */
    RTK_Q_SESSION_DAYS,    /* ENDED sessions started in a range, per UTC day */
    RTK_Q_SESSION_LIVE_IN, /* LIVE sessions started in a range */
    RTK_Q_HOOK_INSERT,
    RTK_Q_HOOK_UPDATE,
    RTK_Q_HOOK_GET,
    RTK_Q_HOOK_LIST,
    RTK_Q_HOOK_DELETE,
    RTK_Q_HOOK_DROP,    /* a webhook's pending deliveries become dropped */
    RTK_Q_HOOK_ENQUEUE, /* the outbox: one delivery per subscribed, enabled webhook */
    RTK_Q_HOOK_DUE,     /* deliveries due, each the oldest pending of its chain */
    RTK_Q_HOOK_RESULT,  /* an attempt's outcome */
    RTK_Q_HOOK_DCOUNT,  /* deliveries of a webhook */
    RTK_Q_HOOK_DLIST,   /* a page of them, newest first */
    RTK_Q_HOOK_DSTATUS, /* one delivery's status */
    RTK_Q_HOOK_RETRY,   /* a failed delivery queued again */
    RTK_Q_HOOK_NEXT,    /* one chain's head, when due */
    RTK_Q_HOOK_APPS,    /* every enabled webhook's app, app name and events */
    RTK_Q_HOOK_APP,     /* one app's name and its enabled webhooks' events */
    RTK_Q_COUNT
};

/* How a statement's outcome maps to the operation's status. */
enum {
    RTK_QF_WRITE = 1 << 0,       /* goes into the batch */
    RTK_QF_NEED_ROW = 1 << 1,    /* no row: RTK_ENOTFOUND */
    RTK_QF_NEED_CHANGE = 1 << 2, /* changed no row: RTK_ENOTFOUND */
    RTK_QF_UNIQUE = 1 << 3,      /* changed no row (ON CONFLICT DO NOTHING): RTK_EEXIST */
};

/* A statement's SQL per dialect and its flags. Parameters are written $1, $2, ... (SQLite
 * reads them as ?1, ?2, ...: rtk_store_sqlite.c rewrites them once at start-up). */
typedef struct rtk_store_sql {
    const char *sqlite; /* NULL: same as pg */
    const char *pg;
    int flags;
} rtk_store_sql;

extern const rtk_store_sql rtk_store__sql[RTK_Q_COUNT];

/* Migrations: each moves the schema version from its index to index + 1. */
extern const char *const rtk_store__sqlite_migrations[];
extern const int rtk_store__sqlite_nmigrations;
extern const char *const rtk_store__pg_migrations[];
extern const int rtk_store__pg_nmigrations;

/* The migration (index into the arrays above) that adds presets. After its SQL, the backend
 * runs, in the same transaction, rtk_store__presets_sql's three texts: |seed| gives every
 * app the default presets; |count| (one integer) counts the participants whose preset_name
 * is not one of their app's presets, which the backend logs (when not 0); |map| gives those
 * RTK_PRESET_FALLBACK. */
#define RTK_STORE_SQLITE_PRESETS_MIGRATION 3
#define RTK_STORE_PG_PRESETS_MIGRATION 1

/* The SQL of that step for the dialect (|pg| 0: SQLite), stamped with |now_ms|; each text
 * newly allocated (free them). */
void rtk_store__presets_sql(int pg, int64_t now_ms, char **seed, char **count, char **map);

/* The log line of that step (|n| participants mapped). */
void rtk_store__presets_log(const rtk_store *st, long long n);

/* A parameter value. Texts are copied into the operation. */
typedef struct rtk_store_param {
    uint32_t type; /* RTK_SV_NULL, RTK_SV_INT, RTK_SV_TEXT, RTK_SV_BLOB */
    uint32_t len;  /* TEXT, BLOB */
    union {
        int64_t i;     /* INT */
        const char *s; /* TEXT, BLOB: inside the operation's arena */
    };
} rtk_store_param; /* 16 bytes: an operation holds RTK_STORE_MAX_SETS x MAX_PARAMS of them */

typedef struct rtk_store_stmt_call {
    int id; /* enum rtk_store_stmt */
    int nparams;
    rtk_store_param params[RTK_STORE_MAX_PARAMS];
} rtk_store_stmt_call;

/* Bytes of text kept by an operation: parameters first, then result cells. Chunks never
 * move, so pointers into them stay valid. */
typedef struct rtk_store_chunk {
    struct rtk_store_chunk *next;
    size_t used, cap;
    char data[];
} rtk_store_chunk;

typedef struct rtk_store_op {
    struct rtk_store_op *next; /* in the queue it is on (backend batch, done queue) */
    rtk_store *st;
    rtk_store_cb cb;
    void *arg;
    int write;  /* any statement is RTK_QF_WRITE */
    int status; /* the first failing statement's status, else 0 */
    int nstmts;
    rtk_store_stmt_call stmts[RTK_STORE_MAX_SETS];
    rtk_store_res res;
    rtk_store_val *cells[RTK_STORE_MAX_SETS]; /* growing row arrays behind res.sets */
    size_t cap[RTK_STORE_MAX_SETS];
    rtk_store_chunk *arena;
    const char *key_name; /* RTK_Q_KEY_*: the key's name, for the SQLite file backend */
    size_t key_len;
    int key_text; /* rtk_store_key_text: a text value (DIR/NAME.pem for SQLite) */
} rtk_store_op;

/* The backend interface. Every function runs on the loop thread. */
typedef struct rtk_store_backend {
    const char *name;
    /* Opens and migrates (blocking). 0 or an RTK_E* code after a message on stderr. */
    int (*open)(rtk_store *st, const char *spec, const rtk_store_config *cfg);
    /* Commits, waits for what is in flight (blocking) and frees the backend's state. */
    void (*close)(rtk_store *st);
    /* Takes |op|: runs or queues its statements; gives it back with rtk_store__done. */
    void (*submit)(rtk_store *st, rtk_store_op *op);
    /* Once per turn: commit or send the batch. Returns 1 when it completed operations now
     * (the front drains again), else 0. */
    int (*flush)(rtk_store *st);
    /* 1 when nothing is in flight or batched. */
    int (*idle)(rtk_store *st);
    int (*ready)(const rtk_store *st);
    /* 1 when an outside change may have made caches stale since the last call. */
    int (*changed)(rtk_store *st);
} rtk_store_backend;

struct rtk_store {
    uv_loop_t *loop;
    const rtk_store_backend *be;
    void *be_state;
    rtk_store_op *done_head, **done_tail; /* completed, callbacks not yet run */
    size_t pending;                       /* operations issued and not yet called back */
    uint64_t epoch;
    int64_t vote_seq; /* last seq given to a vote */
    uint64_t turns;   /* rtk_store_turn calls, for once-per-turn checks */
    int draining;
    int quiet;
    char url[512]; /* redacted, for messages */
};

extern const rtk_store_backend rtk_store__sqlite;
extern const rtk_store_backend rtk_store__pg;

/* rtk_store_open with a given backend (tests bring their own). */
int rtk_store__open_backend(uv_loop_t *loop, const rtk_store_backend *be, const char *spec,
                            const rtk_store_config *cfg, rtk_store **out);

/* Appends a statement of |op|; returns it for rtk_store__p* calls. */
rtk_store_stmt_call *rtk_store__stmt(rtk_store_op *op, int id);
void rtk_store__pnull(rtk_store_stmt_call *c);
void rtk_store__pint(rtk_store_stmt_call *c, int64_t v);
void rtk_store__ptext(rtk_store_op *op, rtk_store_stmt_call *c, const char *s); /* NULL: NULL */
void rtk_store__pblob(rtk_store_op *op, rtk_store_stmt_call *c, const void *p, size_t len);

/* Result building (backends): starts statement |set|'s row set with |ncols| columns, then
 * adds rows cell by cell. Text is copied. */
void rtk_store__set_begin(rtk_store_op *op, int set, int ncols);
rtk_store_val *rtk_store__row_add(rtk_store_op *op, int set);
void rtk_store__cell_text(rtk_store_op *op, rtk_store_val *cell, const char *s, size_t len);

/* Records the outcome of statement |idx| of |op|: |status| (the first failure wins), the rows
 * it |changed| and the |rows| it returned, read through the statement's RTK_QF_* flags. */
void rtk_store__stmt_result(rtk_store_op *op, int idx, int status, int64_t changed, size_t rows);

/* The backend is done with |op| (|status| overrides its own when not 0, e.g. a batch that
 * failed): it joins the done queue. */
void rtk_store__done(rtk_store_op *op, int status);

/* A group commit of |writes| writes that began at uv_hrtime() |start_ns| is over (|failed|:
 * nothing of it was stored): the rtkd_commit_* and rtkd_store_batches_* metrics. */
void rtk_store__committed(uint64_t start_ns, size_t writes, int failed);

/* Runs the callbacks of completed operations (not re-entrantly). */
void rtk_store__drain(rtk_store *st);

/* The outside-change counter moved (PostgreSQL: NOTIFY, reconnect). */
void rtk_store__bump_epoch(rtk_store *st);

/* A log line "rtkd: store: ..." (rate-limited per message kind by the caller). */
void rtk_store__log(const rtk_store *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
