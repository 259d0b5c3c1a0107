/* SPDX-License-Identifier: MIT */
/* rtk_store.h - the durable store: one asynchronous interface, two backends (SQLite, PostgreSQL).
 *
 * Everything here runs on the loop thread given to rtk_store_open, and every callback runs on
 * it. No call blocks the loop while serving: each operation takes a completion callback that
 * runs later (never inside the call that registered it), from rtk_store_turn or from the
 * backend's I/O callbacks. Opening, migrating and rtk_store_wait block: they are for start-up,
 * shutdown and the command line, never for a request.
 *
 * Group commit. Every write of a loop turn goes into one transaction ("the batch"), committed
 * by rtk_store_turn, which the loop-turn owner calls once per turn. A write's callback runs
 * only once its batch has committed (status 0) or failed (RTK_EUNAVAIL: nothing of the batch
 * was stored), so whoever acknowledges a write from its callback never acknowledges anything
 * a crash could take back. SQLite commits on the loop thread (WAL, synchronous=NORMAL: a few
 * microseconds); PostgreSQL pipelines the batch (the writes, then a Sync: one transaction) on a
 * non-blocking connection, with at most two batches in flight, so a slow commit makes the next
 * batch bigger instead of queueing commits (docs/design.md).
 *
 * Order. Operations complete in any order (a backend may answer a later read first); a
 * caller that needs one result before another issues the second from the first's callback.
 *
 * Results. Reads and writes answer with a result: one row set per statement of the operation
 * (rtk_store_res), each cell an integer, a text or NULL. Each operation below documents its
 * sets and columns. A result is borrowed: valid during the callback only; copy what must
 * survive. Documents (meetings, participants) are stored as JSON text beside the columns that
 * are filtered and paged on; the store never parses them.
 *
 * Status codes reaching callbacks: 0; RTK_ENOTFOUND (a read found no row, or an update or
 * delete changed none); RTK_EEXIST (an insert hit a uniqueness rule); RTK_EUNAVAIL (the store
 * is unreachable, or the batch failed to commit: nothing was stored, try later); RTK_EDB (the
 * store answered with an error for this statement). Writes with a NULL callback are the live
 * layer's records: their failures are logged once per failed batch.
 */
#ifndef RTK_STORE_H
#define RTK_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct rtk_store rtk_store;

/* One cell of a result. */
typedef struct rtk_store_val {
    int type;      /* RTK_SV_NULL, RTK_SV_INT or RTK_SV_TEXT (blobs come back as text) */
    int64_t i;     /* RTK_SV_INT */
    const char *s; /* RTK_SV_TEXT: NUL-terminated; also NUL-terminated "" for NULL */
    size_t len;
} rtk_store_val;

enum { RTK_SV_NULL = 0, RTK_SV_INT, RTK_SV_TEXT, RTK_SV_BLOB };

typedef struct rtk_store_set {
    size_t nrows;
    int ncols;
    const rtk_store_val *cells; /* row-major: cells[row * ncols + col] */
} rtk_store_set;

#define RTK_STORE_MAX_SETS 3

typedef struct rtk_store_res {
    int nsets;
    rtk_store_set sets[RTK_STORE_MAX_SETS];
    int64_t changes; /* rows a write changed (all its statements together) */
} rtk_store_res;

/* |res| is NULL when |status| is not 0. */
typedef void (*rtk_store_cb)(void *arg, int status, const rtk_store_res *res);

/* Cell accessors: NULL cells read as "" and 0. */
const char *rtk_store_text(const rtk_store_set *set, size_t row, int col, size_t *len);
int64_t rtk_store_int(const rtk_store_set *set, size_t row, int col);
int rtk_store_is_null(const rtk_store_set *set, size_t row, int col);

/* --- opening ------------------------------------------------------------------------------ */

typedef struct rtk_store_config {
    const char *url;    /* "sqlite:DIR" or "postgres://USER[:PASS]@HOST:PORT/DB" */
    int full_sync;      /* SQLite: synchronous=FULL (survives power loss) */
    int64_t timeout_ms; /* PostgreSQL: statement timeout and the bound on every round
                         * trip before the connection counts as lost (default 5000) */
    int quiet;          /* 1: no informational lines on stderr (command line) */
} rtk_store_config;

/* Opens the store named by |cfg|->url on |loop| (borrowed; must outlive the store), creating
 * the SQLite file or connecting to PostgreSQL, and runs pending migrations (PostgreSQL: under
 * an advisory lock, so nodes started together migrate once). Blocks: call at start-up only.
 * On success stores the store in *out and returns 0. Errors: RTK_EINVAL (an URL of neither
 * form), RTK_EUNAVAIL (the database is missing or unreachable), RTK_EDB (migration failed, or
 * the data is from a newer rtkd); a message naming the URL (password hidden) is on stderr. */
int rtk_store_open(uv_loop_t *loop, const rtk_store_config *cfg, rtk_store **out);

/* Commits what is batched, waits for everything in flight, runs the remaining callbacks and
 * frees |st|. Blocks (shutdown only). NULL is allowed. */
void rtk_store_close(rtk_store *st);

/* The loop-turn owner calls this once per turn, before the loop blocks: it runs completed
 * callbacks, commits the batch (SQLite) or sends it (PostgreSQL), runs the callbacks that
 * waited for the commit, and repeats while callbacks queue more work (bounded by what
 * requests asked for). */
void rtk_store_turn(rtk_store *st);

/* Runs |st|'s loop until every operation issued so far has completed and its callback ran.
 * For start-up and the command line only (it blocks). Returns 0, or RTK_EUNAVAIL when the
 * store is unreachable (every pending callback then got RTK_EUNAVAIL). */
int rtk_store_wait(rtk_store *st);

/* Operations issued and not yet called back (rtkd_store_operations_pending). */
size_t rtk_store_pending(const rtk_store *st);

/* 1 while the store can take work (PostgreSQL connected), else 0 (/readyz answers 503). */
int rtk_store_ready(const rtk_store *st);

/* A counter that moves when something outside this process may have changed what callers
 * cache (API tokens revoked by the command line): SQLite compares PRAGMA data_version at
 * most once per loop turn; PostgreSQL counts NOTIFYs and reconnects. Cheap. */
uint64_t rtk_store_epoch(rtk_store *st);

/* "sqlite:DIR" or "postgres://USER:***@HOST:PORT/DB": |url| with any password hidden, for
 * messages. Writes at most |cap| bytes with a NUL. */
void rtk_store_url_redacted(const char *url, char *out, size_t cap);

/* The secret called |name| ("signing" for participant tokens), |len| random bytes made at
 * first use and the same for every server sharing the store: SQLite keeps it in the data
 * folder (DIR/NAME.key, mode 0600), PostgreSQL in the database (an insert that only the first
 * node wins, then a read). One set: (value) as 2*|len| hex characters. */
void rtk_store_key(rtk_store *st, const char *name, size_t len, rtk_store_cb cb, void *arg);

/* A text secret called |name| (the webhook signing keys, PEM): stores |value| unless one is
 * stored already, then reads what is stored; with |value| NULL only reads (RTK_ENOTFOUND when
 * there is none). SQLite keeps it in the data folder (DIR/NAME.pem, mode 0600, created once
 * with link(2), so a racing second writer loses), PostgreSQL in the keys table. The last
 * set is (value). */
void rtk_store_key_text(rtk_store *st, const char *name, const char *value, rtk_store_cb cb,
                        void *arg);

/* For start-up and the command line: rtk_store_keep is a callback that keeps a copy of the
 * result in the rtk_store_kept given as its argument, to read after rtk_store_wait. */
typedef struct rtk_store_kept {
    int done; /* the callback ran */
    int status;
    rtk_store_res res; /* valid when status is 0, until rtk_store_kept_free */
    void *mem;         /* private */
} rtk_store_kept;
void rtk_store_keep(void *arg, int status, const rtk_store_res *res);
void rtk_store_kept_free(rtk_store_kept *k);

/* A callback after everything written so far is committed (status 0) or lost (RTK_EUNAVAIL):
 * a write with no statement of its own. |res| is NULL. */
void rtk_store_barrier(rtk_store *st, rtk_store_cb cb, void *arg);

/* --- accounts and API tokens ---------------------------------------------------------------- */

/* Writes. |id| is made by the caller (32 hex); times are milliseconds since the epoch. */
void rtk_store_account_create(rtk_store *st, const char *id, const char *name, int dev,
                              int64_t created_ms, rtk_store_cb cb, void *arg);
/* One set: (id) of the account |id|; RTK_ENOTFOUND when there is none. */
void rtk_store_account_get(rtk_store *st, const char *id, rtk_store_cb cb, void *arg);
/* One set: (id) of the oldest dev account; RTK_ENOTFOUND when there is none. */
void rtk_store_account_dev(rtk_store *st, rtk_store_cb cb, void *arg);

/* Stores a token by the SHA-256 |hash| of its secret (auth/ mints secrets and hashes them;
 * the store never sees a secret). */
void rtk_store_token_create(rtk_store *st, const char *id, const char *account_id, const char *name,
                            const uint8_t hash[32], int64_t created_ms, rtk_store_cb cb, void *arg);
/* One set: (account_id, id, hash) of the live token with |hash|; RTK_ENOTFOUND. The caller
 * compares the hash again in constant time. */
void rtk_store_token_find(rtk_store *st, const uint8_t hash[32], rtk_store_cb cb, void *arg);
/* One set: (id, account_id, name, created_ms, revoked_ms or NULL), oldest first; every
 * account's when |account_id| is NULL. */
void rtk_store_token_list(rtk_store *st, const char *account_id, rtk_store_cb cb, void *arg);
/* RTK_ENOTFOUND when there is no such token or it is already revoked. */
void rtk_store_token_revoke(rtk_store *st, const char *id, int64_t revoked_ms, rtk_store_cb cb,
                            void *arg);

/* --- apps ------------------------------------------------------------------------------------ */

/* Writes app |id| and, in the same batch, its four default presets (auth/rtk_preset.h), so an
 * app is never stored without them. */
void rtk_store_app_create(rtk_store *st, const char *id, const char *account_id, const char *name,
                          int64_t created_ms, rtk_store_cb cb, void *arg);
/* One set: (account_id) owning app |app_id|; RTK_ENOTFOUND. */
void rtk_store_app_owner(rtk_store *st, const char *app_id, rtk_store_cb cb, void *arg);
/* One set: (id) of the account's oldest app; RTK_ENOTFOUND. */
void rtk_store_app_first(rtk_store *st, const char *account_id, rtk_store_cb cb, void *arg);

typedef struct rtk_store_page {
    int64_t offset; /* rows to skip */
    int64_t limit;  /* rows to return */
} rtk_store_page;

/* Sets: [0] (count), [1] (id, name, created_ms) of the page, by creation (|desc|: newest
 * first). |search| (may be NULL) matches a name containing it (case-insensitive, literally:
 * % and _ are not wildcards) or an exact id. */
void rtk_store_app_list(rtk_store *st, const char *account_id, const char *search, int desc,
                        rtk_store_page page, rtk_store_cb cb, void *arg);

/* --- meetings and participants ----------------------------------------------------------------
 * A document row: its id, the columns filtered on, and the whole JSON text. */
typedef struct rtk_store_doc {
    const char *id;
    const char *title;     /* meetings: may be NULL */
    const char *status;    /* meetings: "ACTIVE" / "INACTIVE" */
    const char *custom_id; /* participants: custom_participant_id */
    const char *preset;    /* participants: preset_name */
    int64_t created_ms;
    int64_t updated_ms;
    const char *json; /* the document */
} rtk_store_doc;

/* Insert (RTK_EEXIST if the id exists) or update (RTK_ENOTFOUND if it does not) a meeting of
 * |app_id|. */
void rtk_store_meeting_put(rtk_store *st, const char *app_id, const rtk_store_doc *doc, int insert,
                           rtk_store_cb cb, void *arg);
/* One set: (json) of meeting |id| of |app_id|; RTK_ENOTFOUND. */
void rtk_store_meeting_get(rtk_store *st, const char *app_id, const char *id, rtk_store_cb cb,
                           void *arg);
/* Sets: [0] (count), [1] (json) newest first. |search| (NULL: any) matches a title containing
 * it or an exact id; |status| (NULL: any); created within [start_ms, end_ms]. */
void rtk_store_meeting_list(rtk_store *st, const char *app_id, const char *search,
                            const char *status, int64_t start_ms, int64_t end_ms,
                            rtk_store_page page, rtk_store_cb cb, void *arg);

/* Insert or update participant doc->id of |meeting_id| (of app |app_id|), only if the app has
 * a preset named doc->preset (checked in the same statement). Sets: [0] (1 when the app has
 * that preset, else 0), [1] none. res->changes is 0 when nothing was written: the preset is
 * missing (set 0 says 0), or else the meeting already has doc->custom_id (insert) or there is
 * no such participant (update). */
void rtk_store_participant_put(rtk_store *st, const char *app_id, const char *meeting_id,
                               const rtk_store_doc *doc, int insert, rtk_store_cb cb, void *arg);
/* One set: (json); RTK_ENOTFOUND. By id, or (|by_custom|) by custom_participant_id. */
void rtk_store_participant_get(rtk_store *st, const char *meeting_id, const char *id, int by_custom,
                               rtk_store_cb cb, void *arg);
/* RTK_ENOTFOUND when there was no such participant. */
void rtk_store_participant_delete(rtk_store *st, const char *meeting_id, const char *id,
                                  rtk_store_cb cb, void *arg);
/* Sets: [0] (count), [1] (json) oldest first. */
void rtk_store_participant_list(rtk_store *st, const char *meeting_id, rtk_store_page page,
                                rtk_store_cb cb, void *arg);

/* --- presets ----------------------------------------------------------------------------------
 * A preset row: its config, permissions and ui objects are JSON texts the store never parses. */
typedef struct rtk_store_preset {
    const char *id;
    const char *name;
    int64_t created_ms;
    int64_t updated_ms;
    const char *config;
    const char *permissions;
    const char *ui;
} rtk_store_preset;

/* Columns of a preset row in results (RTK_STORE_PRESET_COLS of them, in this order). */
enum {
    RTK_STORE_PRESET_ID = 0,
    RTK_STORE_PRESET_NAME,
    RTK_STORE_PRESET_CREATED,
    RTK_STORE_PRESET_UPDATED,
    RTK_STORE_PRESET_CONFIG,
    RTK_STORE_PRESET_PERMISSIONS,
    RTK_STORE_PRESET_UI,
    RTK_STORE_PRESET_COLS
};

/* Insert: RTK_EEXIST when the app has a preset of that name already. Update (name, updated_ms,
 * config, permissions, ui of preset p->id): sets [0] (participants of the app using the
 * preset, by its name before the update), [1] (other presets of the app named p->name), [2]
 * none; res->changes is 0 when nothing was written: the name is taken (set 1), the preset is
 * renamed while participants use it (set 0), or there is no such preset. */
void rtk_store_preset_put(rtk_store *st, const char *app_id, const rtk_store_preset *p, int insert,
                          rtk_store_cb cb, void *arg);
/* One set: a preset row, by id or (|by_name|) by name; RTK_ENOTFOUND. */
void rtk_store_preset_get(rtk_store *st, const char *app_id, const char *key, int by_name,
                          rtk_store_cb cb, void *arg);
/* Deletes preset |id| unless participants use it. Sets: [0] (participants of the app using
 * it), [1] none; res->changes is 0 when nothing was deleted (in use, or no such preset). */
void rtk_store_preset_delete(rtk_store *st, const char *app_id, const char *id, rtk_store_cb cb,
                             void *arg);
/* Sets: [0] (count), [1] (id, name, created_ms, updated_ms) oldest first (then by name); |search|
 * (NULL: any) matches a name containing it (case-insensitive, literally). */
void rtk_store_preset_list(rtk_store *st, const char *app_id, const char *search,
                           rtk_store_page page, rtk_store_cb cb, void *arg);

/* --- sessions, their peers, kicks ------------------------------------------------------------ */

/* A session row. */
typedef struct rtk_store_session {
    char id[37];
    char meeting_id[37];
    char app_id[37];
    char *title; /* owned by whoever filled the struct; may be NULL */
    int ended;   /* 0 = LIVE, 1 = ENDED */
    int64_t started_ms;
    int64_t ended_ms; /* 0 while LIVE */
    int64_t updated_ms;
    int64_t seen_ms;   /* last time the server knew the session's peers were there */
    int64_t peak;      /* max_concurrent_participants */
    int64_t closed_ms; /* summed connected time of the peers that have left */
} rtk_store_session;

/* Columns of a session row in results (RTK_STORE_SESSION_COLS of them, in this order):
 * id, meeting_id, app_id, title, status, started_ms, ended_ms, updated_ms, seen_ms, peak,
 * closed_ms. rtk_store_session_read decodes row |row| of |set| starting at column |col| into
 * *out (title newly allocated: free it). */
#define RTK_STORE_SESSION_COLS 11
void rtk_store_session_read(const rtk_store_set *set, size_t row, int col, rtk_store_session *out);

/* Writes a new session, or its status, ended_at, updated_at, seen_at, peak and closed_ms. An
 * ENDED session never becomes LIVE again. */
void rtk_store_session_put(rtk_store *st, const rtk_store_session *s, int insert, rtk_store_cb cb,
                           void *arg);

typedef struct rtk_store_peer {
    const char *peer_id;
    const char *session_id;
    const char *participant_id;
    const char *custom_id;
    const char *name;   /* may be NULL */
    const char *preset; /* may be NULL */
    int64_t joined_ms;
} rtk_store_peer;

void rtk_store_peer_joined(rtk_store *st, const rtk_store_peer *p, rtk_store_cb cb, void *arg);
void rtk_store_peer_left(rtk_store *st, const char *peer_id, int64_t left_ms, rtk_store_cb cb,
                         void *arg);
/* Every other session of |meeting_id| still LIVE ends (at its seen_at, with its open peers):
 * written before a new session's row, so that a meeting has one LIVE session in the store even
 * when a cluster's Redis forgot one (CLUSTER.md). */
void rtk_store_session_end_others(rtk_store *st, const char *meeting_id, const char *session_id,
                                  int64_t now_ms, rtk_store_cb cb, void *arg);
/* Every peer of |session_id| still open leaves at |left_ms| (one statement). */
void rtk_store_session_peers_left(rtk_store *st, const char *session_id, int64_t left_ms,
                                  rtk_store_cb cb, void *arg);
/* Participant |participant_id| may not rejoin |session_id|: it was kicked, or (|refused|)
 * refused from its waiting room. */
void rtk_store_kick(rtk_store *st, const char *session_id, const char *participant_id,
                    int64_t at_ms, int refused, rtk_store_cb cb, void *arg);

/* Start-up: peers still open in LIVE sessions (a server that stopped without recording their
 * leave) leave at their session's seen_at; then sets: [0] every LIVE session (session
 * columns), [1] (session_id, participant_id, refused) of their kicks and refusals. */
void rtk_store_sessions_live(rtk_store *st, rtk_store_cb cb, void *arg);

/* History. Sets: [0] (count), [1] session columns, newest first; |status| and |meeting_id| may
 * be NULL (any). */
void rtk_store_session_list(rtk_store *st, const char *app_id, const char *status,
                            const char *meeting_id, rtk_store_page page, rtk_store_cb cb,
                            void *arg);
/* One set: session columns; RTK_ENOTFOUND. */
void rtk_store_session_get(rtk_store *st, const char *app_id, const char *id, rtk_store_cb cb,
                           void *arg);
/* Analytics: sessions of |app_id| started in [start_ms, end_ms). Sets: [0] (day, sessions,
 * summed closed_ms) of the ENDED ones per UTC day (day = started_ms / 86400000), by day;
 * [1] session columns of the LIVE ones (their minutes so far are live state's). */
void rtk_store_session_days(rtk_store *st, const char *app_id, int64_t start_ms, int64_t end_ms,
                            rtk_store_cb cb, void *arg);
/* Sets: [0] (count), [1] (peer_id, participant_id, custom_id, name, preset, joined_ms,
 * left_ms or NULL) by join time. */
void rtk_store_session_peers(rtk_store *st, const char *session_id, rtk_store_page page,
                             rtk_store_cb cb, void *arg);

/* --- polls ------------------------------------------------------------------------------------ */

typedef struct rtk_store_poll {
    const char *id;
    const char *session_id;
    const char *question;
    const char *options_json; /* JSON array of the option texts */
    int anonymous;
    int hide_votes;
    const char *created_by; /* may be NULL */
    int64_t created_ms;
} rtk_store_poll;

void rtk_store_poll_create(rtk_store *st, const rtk_store_poll *p, rtk_store_cb cb, void *arg);
/* RTK_EEXIST when |participant_id| has already voted in |poll_id|. */
void rtk_store_vote(rtk_store *st, const char *poll_id, const char *participant_id, int option,
                    const char *name, int64_t at_ms, rtk_store_cb cb, void *arg);
/* Sets: [0] (id, question, options_json, anonymous, hide_votes, created_by, created_ms)
 * oldest first; [1] (poll_id, participant_id, option, name, voted_ms) in the order cast. */
void rtk_store_polls_load(rtk_store *st, const char *session_id, rtk_store_cb cb, void *arg);

/* --- webhooks and their outbox (WEBHOOKS.md) ----------------------------------------------- */

typedef struct rtk_store_webhook {
    const char *id;
    const char *name;
    const char *url;
    const char *events; /* JSON array of event names, as the API wrote it */
    int enabled;
    int64_t created_ms;
    int64_t updated_ms;
} rtk_store_webhook;

/* Columns of a webhook row in results, in this order. */
enum {
    RTK_STORE_HOOK_ID = 0,
    RTK_STORE_HOOK_NAME,
    RTK_STORE_HOOK_URL,
    RTK_STORE_HOOK_EVENTS,
    RTK_STORE_HOOK_ENABLED,
    RTK_STORE_HOOK_CREATED,
    RTK_STORE_HOOK_UPDATED,
    RTK_STORE_HOOK_COLS
};

/* Insert, or update (name, url, events, enabled, updated_ms of webhook w->id; RTK_ENOTFOUND
 * when the app has no such webhook). */
void rtk_store_webhook_put(rtk_store *st, const char *app_id, const rtk_store_webhook *w,
                           int insert, rtk_store_cb cb, void *arg);
/* One set: a webhook row; RTK_ENOTFOUND. */
void rtk_store_webhook_get(rtk_store *st, const char *app_id, const char *id, rtk_store_cb cb,
                           void *arg);
/* One set: every webhook row of |app_id|, oldest first. */
void rtk_store_webhook_list(rtk_store *st, const char *app_id, rtk_store_cb cb, void *arg);
/* Sets: [0] the webhook row (RTK_ENOTFOUND when there is none), [1] none (its pending
 * deliveries become dropped), [2] none (the row deleted). */
void rtk_store_webhook_delete(rtk_store *st, const char *app_id, const char *id, rtk_store_cb cb,
                              void *arg);

/* The outbox: writes, in the turn's batch, one pending delivery of |body| (the event's JSON
 * text) for each enabled webhook of |app_id| subscribed to |event|, due at |now_ms|. */
void rtk_store_hook_enqueue(rtk_store *st, const char *app_id, const char *meeting_id,
                            const char *event, const char *body, int64_t now_ms, rtk_store_cb cb,
                            void *arg);
/* Deliveries due at |now_ms|, each the oldest pending one of its webhook and meeting, oldest
 * first, at most |limit|. One set: (seq, id, webhook_id, url, body, attempts, created_ms,
 * meeting_id). Costs a scan of the pending rows. */
void rtk_store_hook_due(rtk_store *st, int64_t now_ms, int64_t limit, rtk_store_cb cb, void *arg);
/* The oldest pending delivery of |webhook_id| and |meeting_id| if it is due at |now_ms| (and
 * its webhook enabled), in rtk_store_hook_due's columns: 0 or 1 row, in O(log n). */
void rtk_store_hook_next(rtk_store *st, const char *webhook_id, const char *meeting_id,
                         int64_t now_ms, rtk_store_cb cb, void *arg);
/* Records an attempt of the pending delivery |seq|: its new |status| ("pending", "delivered",
 * "failed"), the answer's |code| (0: none), |error| (NULL: none), |delivered_ms| (0: not) and
 * |next_ms| (0: none). */
void rtk_store_hook_result(rtk_store *st, int64_t seq, const char *status, int code,
                           const char *error, int64_t delivered_ms, int64_t next_ms,
                           rtk_store_cb cb, void *arg);
/* Sets: [0] the webhook row (RTK_ENOTFOUND), [1] (count), [2] (id, event, status, attempts,
 * last_status_code, last_error, created_ms, delivered_ms, next_attempt_ms) newest first. */
void rtk_store_hook_deliveries(rtk_store *st, const char *app_id, const char *webhook_id,
                               rtk_store_page page, rtk_store_cb cb, void *arg);
/* Queues failed delivery |id| of webhook |webhook_id| again, due at |now_ms|. Sets: [0]
 * (status) of the delivery before (no row: no such delivery), [1] none; res->changes 0 when
 * it was not failed. */
void rtk_store_hook_retry(rtk_store *st, const char *app_id, const char *webhook_id, const char *id,
                          int64_t now_ms, rtk_store_cb cb, void *arg);
/* What the hook keeps in memory to skip the outbox for apps without webhooks (rtk_hook.c).
 * rtk_store_hook_apps: one set, (app_id, app name, events) for each enabled webhook.
 * rtk_store_hook_app: one set, (app name, events) for each enabled webhook of |app_id|, or
 * one row with NULL events when it has none; no row when there is no such app. */
void rtk_store_hook_apps(rtk_store *st, rtk_store_cb cb, void *arg);
void rtk_store_hook_app(rtk_store *st, const char *app_id, rtk_store_cb cb, void *arg);

#endif
