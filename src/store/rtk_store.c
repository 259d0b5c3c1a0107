/* SPDX-License-Identifier: MIT */
/* rtk_store.c - the store's front: operations built from calls, the done queue, the turn. */
#include "store/rtk_store_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/rtk_preset.h"
#include "util/rtk_err.h"
#include "util/rtk_log.h"
#include "util/rtk_id.h"
#include "util/rtk_metrics.h"

#define CHUNK_MIN 256 /* an operation's ids and short texts; results grow it */

/* ---- cells ------------------------------------------------------------------------------- */

static const rtk_store_val *cell(const rtk_store_set *set, size_t row, int col)
{
    if (set == NULL || row >= set->nrows || col < 0 || col >= set->ncols)
        return NULL;
    return &set->cells[row * (size_t)set->ncols + (size_t)col];
}

const char *rtk_store_text(const rtk_store_set *set, size_t row, int col, size_t *len)
{
    const rtk_store_val *v = cell(set, row, col);
    if (v == NULL || v->type != RTK_SV_TEXT) {
        if (len)
            *len = 0;
        return "";
    }
    if (len)
        *len = v->len;
    return v->s;
}

int64_t rtk_store_int(const rtk_store_set *set, size_t row, int col)
{
    const rtk_store_val *v = cell(set, row, col);
    if (v == NULL)
        return 0;
    if (v->type == RTK_SV_INT)
        return v->i;
    if (v->type == RTK_SV_TEXT)
        return strtoll(v->s, NULL, 10);
    return 0;
}

int rtk_store_is_null(const rtk_store_set *set, size_t row, int col)
{
    const rtk_store_val *v = cell(set, row, col);
    return v == NULL || v->type == RTK_SV_NULL;
}

void rtk_store_session_read(const rtk_store_set *set, size_t row, int col, rtk_store_session *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->id, sizeof(out->id), "%s", rtk_store_text(set, row, col, NULL));
    snprintf(out->meeting_id, sizeof(out->meeting_id), "%s",
             rtk_store_text(set, row, col + 1, NULL));
    snprintf(out->app_id, sizeof(out->app_id), "%s", rtk_store_text(set, row, col + 2, NULL));
    if (!rtk_store_is_null(set, row, col + 3)) {
        size_t n;
        const char *t = rtk_store_text(set, row, col + 3, &n);
        out->title = rtk_xstrndup(t, n);
    }
    out->ended = strcmp(rtk_store_text(set, row, col + 4, NULL), "ENDED") == 0;
    out->started_ms = rtk_store_int(set, row, col + 5);
    out->ended_ms = rtk_store_int(set, row, col + 6);
    out->updated_ms = rtk_store_int(set, row, col + 7);
    out->seen_ms = rtk_store_int(set, row, col + 8);
    out->peak = rtk_store_int(set, row, col + 9);
    out->closed_ms = rtk_store_int(set, row, col + 10);
}

void rtk_store_keep(void *arg, int status, const rtk_store_res *res)
{
    rtk_store_kept *k = arg;
    memset(k, 0, sizeof(*k));
    k->done = 1;
    k->status = status;
    if (status != 0 || res == NULL)
        return;
    /* One block: the cells of every set, then their texts. */
    size_t ncells = 0, text = 0;
    for (int i = 0; i < res->nsets; i++) {
        const rtk_store_set *set = &res->sets[i];
        size_t n = set->nrows * (size_t)set->ncols;
        ncells += n;
        for (size_t c = 0; c < n; c++)
            if (set->cells[c].type == RTK_SV_TEXT)
                text += set->cells[c].len + 1;
    }
    char *mem = rtk_xmalloc(ncells * sizeof(rtk_store_val) + text + 1);
    rtk_store_val *cells = (rtk_store_val *)(void *)mem;
    char *t = mem + ncells * sizeof(rtk_store_val);
    k->mem = mem;
    k->res = *res;
    for (int i = 0; i < res->nsets; i++) {
        const rtk_store_set *set = &res->sets[i];
        size_t n = set->nrows * (size_t)set->ncols;
        for (size_t c = 0; c < n; c++) {
            cells[c] = set->cells[c];
            if (cells[c].type == RTK_SV_TEXT) {
                memcpy(t, set->cells[c].s, set->cells[c].len);
                t[set->cells[c].len] = '\0';
                cells[c].s = t;
                t += set->cells[c].len + 1;
            } else {
                cells[c].s = "";
            }
        }
        k->res.sets[i].cells = cells;
        cells += n;
    }
}

void rtk_store_kept_free(rtk_store_kept *k)
{
    free(k->mem);
    memset(k, 0, sizeof(*k));
}

/* ---- operations -------------------------------------------------------------------------- */

static char *arena_alloc(rtk_store_op *op, size_t n)
{
    rtk_store_chunk *c = op->arena;
    if (c == NULL || c->cap - c->used < n) {
        size_t cap = n > CHUNK_MIN ? n : CHUNK_MIN;
        if (c != NULL && c->cap * 2 > cap)
            cap = c->cap * 2 > n ? c->cap * 2 : n;
        c = rtk_xmalloc(sizeof(*c) + cap);
        c->used = 0;
        c->cap = cap;
        c->next = op->arena;
        op->arena = c;
    }
    char *p = c->data + c->used;
    c->used += n;
    return p;
}

static const char *arena_copy(rtk_store_op *op, const char *s, size_t len)
{
    char *p = arena_alloc(op, len + 1);
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

static rtk_store_op *op_new(rtk_store *st, rtk_store_cb cb, void *arg)
{
    rtk_store_op *op = rtk_xcalloc(1, sizeof(*op));
    op->st = st;
    op->cb = cb;
    op->arg = arg;
    return op;
}

static void op_free(rtk_store_op *op)
{
    rtk_store_chunk *c = op->arena, *next;
    for (; c != NULL; c = next) {
        next = c->next;
        free(c);
    }
    for (int i = 0; i < RTK_STORE_MAX_SETS; i++)
        free(op->cells[i]);
    free(op);
}

rtk_store_stmt_call *rtk_store__stmt(rtk_store_op *op, int id)
{
    rtk_store_stmt_call *c = &op->stmts[op->nstmts++];
    c->id = id;
    c->nparams = 0;
    if (rtk_store__sql[id].flags & RTK_QF_WRITE)
        op->write = 1;
    return c;
}

void rtk_store__pnull(rtk_store_stmt_call *c)
{
    c->params[c->nparams++].type = RTK_SV_NULL;
}

void rtk_store__pint(rtk_store_stmt_call *c, int64_t v)
{
    rtk_store_param *p = &c->params[c->nparams++];
    p->type = RTK_SV_INT;
    p->i = v;
}

void rtk_store__ptext(rtk_store_op *op, rtk_store_stmt_call *c, const char *s)
{
    if (s == NULL) {
        rtk_store__pnull(c);
        return;
    }
    rtk_store_param *p = &c->params[c->nparams++];
    p->type = RTK_SV_TEXT;
    p->len = (uint32_t)strlen(s);
    p->s = arena_copy(op, s, p->len);
}

void rtk_store__pblob(rtk_store_op *op, rtk_store_stmt_call *c, const void *data, size_t len)
{
    rtk_store_param *p = &c->params[c->nparams++];
    p->type = RTK_SV_BLOB;
    p->len = (uint32_t)len;
    p->s = arena_copy(op, data, len);
}

void rtk_store__set_begin(rtk_store_op *op, int set, int ncols)
{
    if (op->res.nsets <= set)
        op->res.nsets = set + 1;
    op->res.sets[set].ncols = ncols;
    op->res.sets[set].nrows = 0;
}

rtk_store_val *rtk_store__row_add(rtk_store_op *op, int set)
{
    rtk_store_set *s = &op->res.sets[set];
    size_t need = (s->nrows + 1) * (size_t)s->ncols;
    if (need > op->cap[set]) {
        size_t cap = op->cap[set] ? op->cap[set] * 2 : (size_t)s->ncols * 8;
        while (cap < need)
            cap *= 2;
        op->cells[set] = rtk_xrealloc(op->cells[set], cap * sizeof(rtk_store_val));
        op->cap[set] = cap;
    }
    rtk_store_val *row = op->cells[set] + s->nrows * (size_t)s->ncols;
    memset(row, 0, (size_t)s->ncols * sizeof(*row));
    for (int i = 0; i < s->ncols; i++)
        row[i].s = "";
    s->nrows++;
    s->cells = op->cells[set];
    return row;
}

void rtk_store__cell_text(rtk_store_op *op, rtk_store_val *c, const char *s, size_t len)
{
    c->type = RTK_SV_TEXT;
    c->len = len;
    c->s = arena_copy(op, s, len);
}

void rtk_store__stmt_result(rtk_store_op *op, int idx, int status, int64_t changed, size_t rows)
{
    op->res.changes += changed;
    if (op->status != 0)
        return;
    if (status != 0) {
        op->status = status;
        return;
    }
    int flags = rtk_store__sql[op->stmts[idx].id].flags;
    if (((flags & RTK_QF_NEED_ROW) && rows == 0) || ((flags & RTK_QF_NEED_CHANGE) && changed == 0))
        op->status = RTK_ENOTFOUND;
    else if ((flags & RTK_QF_UNIQUE) && changed == 0)
        op->status = RTK_EEXIST;
}

void rtk_store__done(rtk_store_op *op, int status)
{
    rtk_store *st = op->st;
    if (status != 0)
        op->status = status;
    op->next = NULL;
    *st->done_tail = op;
    st->done_tail = &op->next;
}

void rtk_store__drain(rtk_store *st)
{
    if (st->draining)
        return; /* a callback's own calls complete in this same loop */
    st->draining = 1;
    rtk_store_op *op;
    while ((op = st->done_head) != NULL) {
        st->done_head = op->next;
        if (st->done_head == NULL)
            st->done_tail = &st->done_head;
        st->pending--;
        if (op->cb != NULL)
            op->cb(op->arg, op->status, op->status == 0 ? &op->res : NULL);
        op_free(op);
    }
    st->draining = 0;
}

static void submit(rtk_store_op *op)
{
    rtk_store *st = op->st;
    st->pending++;
    st->be->submit(st, op);
}

void rtk_store__bump_epoch(rtk_store *st)
{
    st->epoch++;
}

void rtk_store__presets_log(const rtk_store *st, long long n)
{
    /* Said even on the command line: the migration runs once, and this is its only trace. */
    rtk_store__log(st,
                   "presets: %lld participant%s whose preset_name was not one of their app's"
                   " presets now use%s " RTK_PRESET_FALLBACK,
                   n, n == 1 ? "" : "s", n == 1 ? "s" : "");
}

void rtk_store__log(const rtk_store *st, const char *fmt, ...)
{
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    (void)st;
    rtk_log(RTK_LOG_WARN, "store: %s", line); /* never blocks the loop */
}

/* ---- opening and the turn ---------------------------------------------------------------- */

void rtk_store_url_redacted(const char *url, char *out, size_t cap)
{
    const char *scheme = strstr(url, "://");
    const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
    const char *colon = at ? memchr(scheme + 3, ':', (size_t)(at - scheme - 3)) : NULL;
    if (colon == NULL) {
        snprintf(out, cap, "%s", url);
        return;
    }
    snprintf(out, cap, "%.*s:***%s", (int)(colon - url), url, at);
}

int rtk_store__open_backend(uv_loop_t *loop, const rtk_store_backend *be, const char *spec,
                            const rtk_store_config *cfg, rtk_store **out)
{
    *out = NULL;
    rtk_store *st = rtk_xcalloc(1, sizeof(*st));
    st->loop = loop;
    st->be = be;
    st->quiet = cfg->quiet;
    st->done_tail = &st->done_head;
    rtk_store_url_redacted(cfg->url, st->url, sizeof(st->url));
    int rc = be->open(st, spec, cfg);
    if (rc != 0) {
        free(st);
        return rc;
    }
    *out = st;
    return 0;
}

int rtk_store_open(uv_loop_t *loop, const rtk_store_config *cfg, rtk_store **out)
{
    const char *url = cfg->url;
    *out = NULL;
    if (strncmp(url, "sqlite:", 7) == 0)
        return rtk_store__open_backend(loop, &rtk_store__sqlite, url + 7, cfg, out);
    if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0)
        return rtk_store__open_backend(loop, &rtk_store__pg, url, cfg, out);
    fprintf(stderr, "rtkd: --store takes sqlite:DIR or postgres://USER[:PASS]@HOST:PORT/DB\n");
    return RTK_EINVAL;
}

void rtk_store_close(rtk_store *st)
{
    if (st == NULL)
        return;
    rtk_store_wait(st);
    st->be->close(st);
    rtk_store__drain(st);
    free(st);
}

void rtk_store_turn(rtk_store *st)
{
    st->turns++;
    /* Callbacks queue more work; SQLite completes it within this loop, PostgreSQL sends it. */
    for (;;) {
        rtk_store__drain(st);
        if (!st->be->flush(st) && st->done_head == NULL)
            break;
    }
}

int rtk_store_wait(rtk_store *st)
{
    while (st->pending > 0) {
        rtk_store_turn(st);
        if (st->pending == 0)
            break;
        uv_run(st->loop, UV_RUN_ONCE);
    }
    return st->be->ready(st) ? 0 : RTK_EUNAVAIL;
}

void rtk_store__committed(uint64_t start_ns, size_t writes, int failed)
{
    rtk_metrics_observe(RTK_MH_COMMIT, (double)(uv_hrtime() - start_ns) / 1e9);
    rtk_metrics_observe(RTK_MH_BATCH_WRITES, (double)writes);
    rtk_metrics_add(RTK_MC_STORE_BATCHES, 1);
    if (failed)
        rtk_metrics_add(RTK_MC_STORE_BATCHES_FAILED, 1);
}

size_t rtk_store_pending(const rtk_store *st)
{
    return st->pending;
}

int rtk_store_ready(const rtk_store *st)
{
    return st->be->ready(st);
}

uint64_t rtk_store_epoch(rtk_store *st)
{
    if (st->be->changed(st))
        st->epoch++;
    return st->epoch;
}

void rtk_store_barrier(rtk_store *st, rtk_store_cb cb, void *arg)
{
    rtk_store_op *op = op_new(st, cb, arg);
    op->write = 1; /* joins the batch: completes after its commit */
    submit(op);
}

/* ---- the operations ---------------------------------------------------------------------- */

/* One-statement operations: build, bind, submit. */
#define OP1(id)                                                                                    \
    rtk_store_op *op = op_new(st, cb, arg);                                                        \
    rtk_store_stmt_call *c = rtk_store__stmt(op, id)

void rtk_store_key(rtk_store *st, const char *name, size_t len, rtk_store_cb cb, void *arg)
{
    rtk_store_op *op = op_new(st, cb, arg);
    op->key_name = arena_copy(op, name, strlen(name));
    op->key_len = len;
    /* A random value that only the first insert stores, then what is stored. */
    uint8_t raw[64];
    char hex[129];
    static const char digits[] = "0123456789abcdef";
    size_t n = len > sizeof(raw) ? sizeof(raw) : len;
    if (rtk_random_bytes(raw, n) != 0)
        abort(); /* an unseeded CSPRNG: no key may be made from it */
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[raw[i] >> 4];
        hex[2 * i + 1] = digits[raw[i] & 15];
    }
    hex[2 * n] = '\0';
    rtk_store_stmt_call *c = rtk_store__stmt(op, RTK_Q_KEY_INSERT);
    rtk_store__ptext(op, c, name);
    rtk_store__ptext(op, c, hex);
    c = rtk_store__stmt(op, RTK_Q_KEY_GET);
    rtk_store__ptext(op, c, name);
    submit(op);
}

void rtk_store_account_create(rtk_store *st, const char *id, const char *name, int dev,
                              int64_t created_ms, rtk_store_cb cb, void *arg)
{
    OP1(RTK_Q_ACCOUNT_INSERT);
    rtk_store__ptext(op, c, id);
    rtk_store__ptext(op, c, name);
    rtk_store__pint(c, dev);
    rtk_store__pint(c, created_ms);
    submit(op);
}

void rtk_store_account_get(rtk_store *st, const char *id, rtk_store_cb cb, void *arg)
{
    OP1(RTK_Q_ACCOUNT_GET);
    rtk_store__ptext(op, c, id);
    submit(op);
}

void rtk_store_account_dev(rtk_store *st, rtk_store_cb cb, void *arg)
{
    OP1(RTK_Q_ACCOUNT_DEV);
    (void)c;
    submit(op);
}

void rtk_store_token_create(rtk_store *st, const char *id, const char *account_id, const char *name,
                            const uint8_t hash[32], int64_t created_ms, rtk_store_cb cb, void *arg)
{
    OP1(RTK_Q_TOKEN_INSERT);
    rtk_store__ptext(op, c, id);
    rtk_store__ptext(op, c, account_id);
    rtk_store__ptext(op, c, name);
    rtk_store__pblob(op, c, hash, 32);
    rtk_store__pint(c, created_ms);
    submit(op);
}

void rtk_store_token_find(rtk_store *st, const uint8_t hash[32], rtk_store_cb cb, void *arg)
{
    OP1(RTK_Q_TOKEN_FIND);
    rtk_store__pblob(op, c, hash, 32);
    submit(op);
}

void rtk_store_token_list(rtk_store *st, const char *account_id, rtk_store_cb cb, void *arg)
{
    OP1(RTK_Q_TOKEN_LIST);
    rtk_store__ptext(op, c, account_id);
    submit(op);
}

void rtk_store_token_revoke(rtk_store *st, const char *id, int64_t revoked_ms, rtk_store_cb cb,
                            void *arg)
{
    OP1(RTK_Q_TOKEN_REVOKE);
    rtk_store__ptext(op, c, id);
    rtk_store__pint(c, revoked_ms);
    submit(op);
}

static void bind_preset(rtk_store_op *op, rtk_store_stmt_call *c, const char *app_id,
                        const rtk_store_preset *p, int insert)
{
    rtk_store__ptext(op, c, p->id);
    rtk_store__ptext(op, c, app_id);
    rtk_store__ptext(op, c, p->name);
    if (insert)
        rtk_store__pint(c, p->created_ms);
    rtk_store__pint(c, p->updated_ms);
    rtk_store__ptext(op, c, p->config);
    rtk_store__ptext(op, c, p->permissions);
    rtk_store__ptext(op, c, p->ui);
}

void rtk_store_app_create(rtk_store *st, const char *id, const char *account_id, const char *name,
                          int64_t created_ms, rtk_store_cb cb, void *arg)
{
    OP1(RTK_Q_APP_INSERT);
    rtk_store__ptext(op, c, id);
    rtk_store__ptext(op, c, account_id);
    rtk_store__ptext(op, c, name);
    rtk_store__pint(c, created_ms);
    submit(op);
    /* The defaults join the same batch (one transaction with the app, on both backends): if
     * it fails, the app's own callback says so and nothing of it is stored. */
    for (int i = 0; i < RTK_PRESET_NDEFAULTS; i++) {
        const char *pname = rtk_preset_default_names[i];
        char pid[37];
        rtk_id_uuid4(pid);
        rtk_store_preset p = {.id = pid,
                              .name = pname,
                              .created_ms = created_ms,
                              .updated_ms = created_ms,
                              .config = rtk_preset_default_config(pname),
                              .permissions = rtk_preset_default_permissions(pname),
                              .ui = rtk_preset_default_ui(pname)};
        rtk_store_preset_put(st, id, &p, 1, NULL, NULL);
    }
}

void rtk_store_preset_put(rtk_store *st, const char *app_id, const rtk_store_preset *p, int insert,
                          rtk_store_cb cb, void *arg)
{
    rtk_store_op *op = op_new(st, cb, arg);
    if (!insert) {
        rtk_store_stmt_call *c = rtk_store__stmt(op, RTK_Q_PRESET_USERS);
        rtk_store__ptext(op, c, app_id);
        rtk_store__ptext(op, c, p->id);
        c = rtk_store__stmt(op, RTK_Q_PRESET_TAKEN);
        rtk_store__ptext(op, c, app_id);
        rtk_store__ptext(op, c, p->name);
        rtk_store__ptext(op, c, p->id);
    }
    rtk_store_stmt_call *c =
        rtk_store__stmt(op, insert ? RTK_Q_PRESET_INSERT : RTK_Q_PRESET_UPDATE);
    bind_preset(op, c, app_id, p, insert);
    submit(op);
}

void rtk_store_preset_get(rtk_store *st, const char *app_id, const char *key, int by_name,
                          rtk_store_cb cb, void *arg)
{
    OP1(by_name ? RTK_Q_PRESET_BY_NAME : RTK_Q_PRESET_GET);
    rtk_store__ptext(op, c, by_name ? app_id : key);
    rtk_store__ptext(op, c, by_name ? key : app_id);
    submit(op);
}

void rtk_store_preset_delete(rtk_store *st, const char *app_id, const char *id, rtk_store_cb cb,
                             void *arg)
{
    rtk_store_op *op = op_new(st, cb, arg);
    rtk_store_stmt_call *c = rtk_store__stmt(op, RTK_Q_PRESET_USERS);
    rtk_store__ptext(op, c, app_id);
    rtk_store__ptext(op, c, id);
    c = rtk_store__stmt(op, RTK_Q_PRESET_DELETE);
    rtk_store__ptext(op, c, id);
    rtk_store__ptext(op, c, app_id);
    submit(op);
}

void rtk_store_app_owner(rtk_store *st, const char *app_id, rtk_store_cb cb, void *arg)
{
    OP1(RTK_Q_APP_OWNER);
    rtk_store__ptext(op, c, app_id);
    submit(op);
}

void rtk_store_app_first(rtk_store *st, const char *account_id, rtk_store_cb cb, void *arg)
{
    OP1(RTK_Q_APP_FIRST);
    rtk_store__ptext(op, c, account_id);
    submit(op);
}

/* LIKE pattern for a user's search text: % and _ and \ are escaped, so the text is matched
 * literally (ESCAPE '\'). Returns a new string, or NULL for NULL. */
static char *like_pattern(const char *text)
{
    if (text == NULL)
        return NULL;
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

void rtk_store_app_list(rtk_store *st, const char *account_id, const char *search, int desc,
                        rtk_store_page page, rtk_store_cb cb, void *arg)
{
    rtk_store_op *op = op_new(st, cb, arg);
    char *pat = like_pattern(search);
    for (int k = 0; k < 2; k++) {
        rtk_store_stmt_call *c = rtk_store__stmt(op, k ? RTK_Q_APP_LIST : RTK_Q_APP_COUNT);
        rtk_store__ptext(op, c, account_id);
        rtk_store__ptext(op, c, pat);
        rtk_store__ptext(op, c, search);
        if (k) {
            rtk_store__pint(c, desc ? 1 : 0);
            rtk_store__pint(c, page.limit);
            rtk_store__pint(c, page.offset);
        }
    }
    free(pat);
    submit(op);
}

static void bind_meeting_doc(rtk_store_op *op, rtk_store_stmt_call *c, const char *app_id,
                             const rtk_store_doc *d, int insert)
{
    rtk_store__ptext(op, c, d->id);
    rtk_store__ptext(op, c, app_id);
    rtk_store__ptext(op, c, d->title);
    rtk_store__ptext(op, c, d->status);
    if (insert)
        rtk_store__pint(c, d->created_ms);
    rtk_store__pint(c, d->updated_ms);
    rtk_store__ptext(op, c, d->json);
}

void rtk_store_meeting_put(rtk_store *st, const char *app_id, const rtk_store_doc *doc, int insert,
                           rtk_store_cb cb, void *arg)
{
    OP1(insert ? RTK_Q_MEETING_INSERT : RTK_Q_MEETING_UPDATE);
    bind_meeting_doc(op, c, app_id, doc, insert);
    submit(op);
}

void rtk_store_meeting_get(rtk_store *st, const char *app_id, const char *id, rtk_store_cb cb,
                           void *arg)
{
    OP1(RTK_Q_MEETING_GET);
    rtk_store__ptext(op, c, id);
    rtk_store__ptext(op, c, app_id);
    submit(op);
}

void rtk_store_meeting_list(rtk_store *st, const char *app_id, const char *search,
                            const char *status, int64_t start_ms, int64_t end_ms,
                            rtk_store_page page, rtk_store_cb cb, void *arg)
{
    rtk_store_op *op = op_new(st, cb, arg);
    char *pat = like_pattern(search);
    for (int k = 0; k < 2; k++) {
        rtk_store_stmt_call *c = rtk_store__stmt(op, k ? RTK_Q_MEETING_LIST : RTK_Q_MEETING_COUNT);
        rtk_store__ptext(op, c, app_id);
        rtk_store__ptext(op, c, pat);
        rtk_store__ptext(op, c, search);
        rtk_store__ptext(op, c, status);
        rtk_store__pint(c, start_ms);
        rtk_store__pint(c, end_ms);
        if (k) {
            rtk_store__pint(c, page.limit);
            rtk_store__pint(c, page.offset);
        }
    }
    free(pat);
    submit(op);
}

void rtk_store_participant_put(rtk_store *st, const char *app_id, const char *meeting_id,
                               const rtk_store_doc *doc, int insert, rtk_store_cb cb, void *arg)
{
    rtk_store_op *op = op_new(st, cb, arg);
    rtk_store_stmt_call *c = rtk_store__stmt(op, RTK_Q_PRESET_EXISTS);
    rtk_store__ptext(op, c, app_id);
    rtk_store__ptext(op, c, doc->preset);
    c = rtk_store__stmt(op, insert ? RTK_Q_PART_INSERT : RTK_Q_PART_UPDATE);
    rtk_store__ptext(op, c, doc->id);
    rtk_store__ptext(op, c, meeting_id);
    if (insert) {
        rtk_store__ptext(op, c, doc->custom_id);
        rtk_store__pint(c, doc->created_ms);
    }
    rtk_store__ptext(op, c, doc->json);
    rtk_store__ptext(op, c, doc->preset);
    rtk_store__ptext(op, c, app_id);
    submit(op);
}

void rtk_store_participant_get(rtk_store *st, const char *meeting_id, const char *id, int by_custom,
                               rtk_store_cb cb, void *arg)
{
    OP1(by_custom ? RTK_Q_PART_BY_CUSTOM : RTK_Q_PART_GET);
    rtk_store__ptext(op, c, id);
    rtk_store__ptext(op, c, meeting_id);
    submit(op);
}

void rtk_store_participant_delete(rtk_store *st, const char *meeting_id, const char *id,
                                  rtk_store_cb cb, void *arg)
{
    OP1(RTK_Q_PART_DELETE);
    rtk_store__ptext(op, c, id);
    rtk_store__ptext(op, c, meeting_id);
    submit(op);
}

/* count + page operations keyed by one id */
static void paged_by_id(rtk_store *st, int count_id, int list_id, const char *id,
                        rtk_store_page page, rtk_store_cb cb, void *arg)
{
    rtk_store_op *op = op_new(st, cb, arg);
    rtk_store_stmt_call *c = rtk_store__stmt(op, count_id);
    rtk_store__ptext(op, c, id);
    c = rtk_store__stmt(op, list_id);
    rtk_store__ptext(op, c, id);
    rtk_store__pint(c, page.limit);
    rtk_store__pint(c, page.offset);
    submit(op);
}

void rtk_store_preset_list(rtk_store *st, const char *app_id, const char *search,
                           rtk_store_page page, rtk_store_cb cb, void *arg)
{
    rtk_store_op *op = op_new(st, cb, arg);
    char *pat = like_pattern(search);
    for (int k = 0; k < 2; k++) {
        rtk_store_stmt_call *c = rtk_store__stmt(op, k ? RTK_Q_PRESET_LIST : RTK_Q_PRESET_COUNT);
        rtk_store__ptext(op, c, app_id);
        rtk_store__ptext(op, c, pat);
        if (k) {
            rtk_store__pint(c, page.limit);
            rtk_store__pint(c, page.offset);
        }
    }
    free(pat);
    submit(op);
}

void rtk_store_participant_list(rtk_store *st, const char *meeting_id, rtk_store_page page,
                                rtk_store_cb cb, void *arg)
{
    paged_by_id(st, RTK_Q_PART_COUNT, RTK_Q_PART_LIST, meeting_id, page, cb, arg);
}

void rtk_store_session_put(rtk_store *st, const rtk_store_session *s, int insert, rtk_store_cb cb,
                           void *arg)
{
    OP1(insert ? RTK_Q_SESSION_INSERT : RTK_Q_SESSION_UPDATE);
    rtk_store__ptext(op, c, s->id);
    if (insert) {
        rtk_store__ptext(op, c, s->meeting_id);
        rtk_store__ptext(op, c, s->app_id);
        rtk_store__ptext(op, c, s->title);
        rtk_store__pint(c, s->started_ms);
    } else {
        rtk_store__ptext(op, c, s->ended ? "ENDED" : "LIVE");
        if (s->ended)
            rtk_store__pint(c, s->ended_ms);
        else
            rtk_store__pnull(c);
    }
    rtk_store__pint(c, s->updated_ms);
    rtk_store__pint(c, s->seen_ms);
    rtk_store__pint(c, s->peak);
    rtk_store__pint(c, s->closed_ms);
    submit(op);
}

void rtk_store_peer_joined(rtk_store *st, const rtk_store_peer *p, rtk_store_cb cb, void *arg)
{
    OP1(RTK_Q_PEER_INSERT);
    rtk_store__ptext(op, c, p->peer_id);
    rtk_store__ptext(op, c, p->session_id);
    rtk_store__ptext(op, c, p->participant_id);
    rtk_store__ptext(op, c, p->custom_id);
    rtk_store__ptext(op, c, p->name);
    rtk_store__ptext(op, c, p->preset);
    rtk_store__pint(c, p->joined_ms);
    submit(op);
}

void rtk_store_peer_left(rtk_store *st, const char *peer_id, int64_t left_ms, rtk_store_cb cb,
                         void *arg)
{
    OP1(RTK_Q_PEER_LEFT);
    rtk_store__ptext(op, c, peer_id);
    rtk_store__pint(c, left_ms);
    submit(op);
}

void rtk_store_session_end_others(rtk_store *st, const char *meeting_id, const char *session_id,
                                  int64_t now_ms, rtk_store_cb cb, void *arg)
{
    OP1(RTK_Q_SESSION_END_OTHERS_PEERS);
    rtk_store__ptext(op, c, meeting_id);
    rtk_store__ptext(op, c, session_id);
    c = rtk_store__stmt(op, RTK_Q_SESSION_END_OTHERS);
    rtk_store__ptext(op, c, meeting_id);
    rtk_store__ptext(op, c, session_id);
    rtk_store__pint(c, now_ms);
    submit(op);
}

void rtk_store_session_peers_left(rtk_store *st, const char *session_id, int64_t left_ms,
                                  rtk_store_cb cb, void *arg)
{
    OP1(RTK_Q_SESSION_PEERS_LEFT);
    rtk_store__ptext(op, c, session_id);
    rtk_store__pint(c, left_ms);
    submit(op);
}

void rtk_store_kick(rtk_store *st, const char *session_id, const char *participant_id,
                    int64_t at_ms, int refused, rtk_store_cb cb, void *arg)
{
    OP1(RTK_Q_KICK_INSERT);
    rtk_store__ptext(op, c, session_id);
    rtk_store__ptext(op, c, participant_id);
    rtk_store__pint(c, at_ms);
    rtk_store__pint(c, refused ? 1 : 0);
    submit(op);
}

/* Restoring takes two operations: the repair (a write, committed) and then the reads. */
typedef struct live_load {
    rtk_store *st;
    rtk_store_cb cb;
    void *arg;
} live_load;

static void on_repaired(void *arg, int status, const rtk_store_res *res)
{
    live_load *l = arg;
    (void)res;
    if (status != 0) {
        l->cb(l->arg, status, NULL);
        free(l);
        return;
    }
    rtk_store_op *op = op_new(l->st, l->cb, l->arg);
    rtk_store__stmt(op, RTK_Q_SESSIONS_LIVE);
    rtk_store__stmt(op, RTK_Q_KICKS_LIVE);
    free(l);
    submit(op);
}

void rtk_store_sessions_live(rtk_store *st, rtk_store_cb cb, void *arg)
{
    live_load *l = rtk_xmalloc(sizeof(*l));
    l->st = st;
    l->cb = cb;
    l->arg = arg;
    rtk_store_op *op = op_new(st, on_repaired, l);
    rtk_store__stmt(op, RTK_Q_CLOSE_OPEN_PEERS);
    rtk_store__stmt(op, RTK_Q_FIX_CLOSED_MS);
    submit(op);
}

void rtk_store_session_list(rtk_store *st, const char *app_id, const char *status,
                            const char *meeting_id, rtk_store_page page, rtk_store_cb cb, void *arg)
{
    rtk_store_op *op = op_new(st, cb, arg);
    for (int k = 0; k < 2; k++) {
        rtk_store_stmt_call *c = rtk_store__stmt(op, k ? RTK_Q_SESSION_LIST : RTK_Q_SESSION_COUNT);
        rtk_store__ptext(op, c, app_id);
        rtk_store__ptext(op, c, status);
        rtk_store__ptext(op, c, meeting_id);
        if (k) {
            rtk_store__pint(c, page.limit);
            rtk_store__pint(c, page.offset);
        }
    }
    submit(op);
}

void rtk_store_session_get(rtk_store *st, const char *app_id, const char *id, rtk_store_cb cb,
                           void *arg)
{
    OP1(RTK_Q_SESSION_GET);
    rtk_store__ptext(op, c, id);
    rtk_store__ptext(op, c, app_id);
    submit(op);
}

void rtk_store_session_days(rtk_store *st, const char *app_id, int64_t start_ms, int64_t end_ms,
                            rtk_store_cb cb, void *arg)
{
    rtk_store_op *op = op_new(st, cb, arg);
    for (int k = 0; k < 2; k++) {
        rtk_store_stmt_call *c =
            rtk_store__stmt(op, k ? RTK_Q_SESSION_LIVE_IN : RTK_Q_SESSION_DAYS);
        rtk_store__ptext(op, c, app_id);
        rtk_store__pint(c, start_ms);
        rtk_store__pint(c, end_ms);
    }
    submit(op);
}

void rtk_store_session_peers(rtk_store *st, const char *session_id, rtk_store_page page,
                             rtk_store_cb cb, void *arg)
{
    paged_by_id(st, RTK_Q_SESSION_PEERS_COUNT, RTK_Q_SESSION_PEERS_LIST, session_id, page, cb, arg);
}

void rtk_store_poll_create(rtk_store *st, const rtk_store_poll *p, rtk_store_cb cb, void *arg)
{
    OP1(RTK_Q_POLL_INSERT);
    rtk_store__ptext(op, c, p->id);
    rtk_store__ptext(op, c, p->session_id);
    rtk_store__ptext(op, c, p->question);
    rtk_store__ptext(op, c, p->options_json);
    rtk_store__pint(c, p->anonymous);
    rtk_store__pint(c, p->hide_votes);
    rtk_store__ptext(op, c, p->created_by);
    rtk_store__pint(c, p->created_ms);
    submit(op);
}

void rtk_store_vote(rtk_store *st, const char *poll_id, const char *participant_id, int option,
                    const char *name, int64_t at_ms, rtk_store_cb cb, void *arg)
{
    /* seq orders votes cast within one millisecond; it keeps growing across restarts. */
    int64_t base = at_ms * 1000;
    st->vote_seq = st->vote_seq >= base ? st->vote_seq + 1 : base;
    OP1(RTK_Q_VOTE_INSERT);
    rtk_store__ptext(op, c, poll_id);
    rtk_store__ptext(op, c, participant_id);
    rtk_store__pint(c, option);
    rtk_store__ptext(op, c, name);
    rtk_store__pint(c, at_ms);
    rtk_store__pint(c, st->vote_seq);
    submit(op);
}

void rtk_store_polls_load(rtk_store *st, const char *session_id, rtk_store_cb cb, void *arg)
{
    rtk_store_op *op = op_new(st, cb, arg);
    rtk_store_stmt_call *c = rtk_store__stmt(op, RTK_Q_POLLS_LOAD);
    rtk_store__ptext(op, c, session_id);
    c = rtk_store__stmt(op, RTK_Q_VOTES_LOAD);
    rtk_store__ptext(op, c, session_id);
    submit(op);
}

void rtk_store_key_text(rtk_store *st, const char *name, const char *value, rtk_store_cb cb,
                        void *arg)
{
    rtk_store_op *op = op_new(st, cb, arg);
    op->key_name = arena_copy(op, name, strlen(name));
    op->key_text = 1;
    rtk_store_stmt_call *c;
    if (value != NULL) {
        c = rtk_store__stmt(op, RTK_Q_KEY_INSERT);
        rtk_store__ptext(op, c, name);
        rtk_store__ptext(op, c, value);
    }
    c = rtk_store__stmt(op, RTK_Q_KEY_GET);
    rtk_store__ptext(op, c, name);
    submit(op);
}

/* ---- webhooks ---- */

void rtk_store_webhook_put(rtk_store *st, const char *app_id, const rtk_store_webhook *w,
                           int insert, rtk_store_cb cb, void *arg)
{
    OP1(insert ? RTK_Q_HOOK_INSERT : RTK_Q_HOOK_UPDATE);
    rtk_store__ptext(op, c, w->id);
    rtk_store__ptext(op, c, app_id);
    rtk_store__ptext(op, c, w->name);
    rtk_store__ptext(op, c, w->url);
    rtk_store__ptext(op, c, w->events);
    rtk_store__pint(c, w->enabled ? 1 : 0);
    if (insert)
        rtk_store__pint(c, w->created_ms);
    rtk_store__pint(c, w->updated_ms);
    submit(op);
}

void rtk_store_webhook_get(rtk_store *st, const char *app_id, const char *id, rtk_store_cb cb,
                           void *arg)
{
    OP1(RTK_Q_HOOK_GET);
    rtk_store__ptext(op, c, id);
    rtk_store__ptext(op, c, app_id);
    submit(op);
}

void rtk_store_webhook_list(rtk_store *st, const char *app_id, rtk_store_cb cb, void *arg)
{
    OP1(RTK_Q_HOOK_LIST);
    rtk_store__ptext(op, c, app_id);
    submit(op);
}

void rtk_store_webhook_delete(rtk_store *st, const char *app_id, const char *id, rtk_store_cb cb,
                              void *arg)
{
    static const int ids[] = {RTK_Q_HOOK_GET, RTK_Q_HOOK_DROP, RTK_Q_HOOK_DELETE};
    rtk_store_op *op = op_new(st, cb, arg);
    for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++) {
        rtk_store_stmt_call *c = rtk_store__stmt(op, ids[k]);
        rtk_store__ptext(op, c, id);
        rtk_store__ptext(op, c, app_id);
    }
    submit(op);
}

void rtk_store_hook_enqueue(rtk_store *st, const char *app_id, const char *meeting_id,
                            const char *event, const char *body, int64_t now_ms, rtk_store_cb cb,
                            void *arg)
{
    /* The events column is a JSON array of validated names, none of which holds a LIKE
     * wildcard or a quote, so the quoted name matches exactly one element. */
    char pat[96];
    snprintf(pat, sizeof(pat), "%%\"%s\"%%", event);
    OP1(RTK_Q_HOOK_ENQUEUE);
    rtk_store__ptext(op, c, app_id);
    rtk_store__ptext(op, c, meeting_id);
    rtk_store__ptext(op, c, event);
    rtk_store__ptext(op, c, body);
    rtk_store__pint(c, now_ms);
    rtk_store__ptext(op, c, pat);
    submit(op);
}

void rtk_store_hook_due(rtk_store *st, int64_t now_ms, int64_t limit, rtk_store_cb cb, void *arg)
{
    OP1(RTK_Q_HOOK_DUE);
    rtk_store__pint(c, now_ms);
    rtk_store__pint(c, limit);
    submit(op);
}

void rtk_store_hook_result(rtk_store *st, int64_t seq, const char *status, int code,
                           const char *error, int64_t delivered_ms, int64_t next_ms,
                           rtk_store_cb cb, void *arg)
{
    OP1(RTK_Q_HOOK_RESULT);
    rtk_store__pint(c, seq);
    rtk_store__ptext(op, c, status);
    if (code > 0)
        rtk_store__pint(c, code);
    else
        rtk_store__pnull(c);
    rtk_store__ptext(op, c, error);
    if (delivered_ms > 0)
        rtk_store__pint(c, delivered_ms);
    else
        rtk_store__pnull(c);
    if (next_ms > 0)
        rtk_store__pint(c, next_ms);
    else
        rtk_store__pnull(c);
    submit(op);
}

void rtk_store_hook_deliveries(rtk_store *st, const char *app_id, const char *webhook_id,
                               rtk_store_page page, rtk_store_cb cb, void *arg)
{
    rtk_store_op *op = op_new(st, cb, arg);
    rtk_store_stmt_call *c = rtk_store__stmt(op, RTK_Q_HOOK_GET);
    rtk_store__ptext(op, c, webhook_id);
    rtk_store__ptext(op, c, app_id);
    c = rtk_store__stmt(op, RTK_Q_HOOK_DCOUNT);
    rtk_store__ptext(op, c, webhook_id);
    c = rtk_store__stmt(op, RTK_Q_HOOK_DLIST);
    rtk_store__ptext(op, c, webhook_id);
    rtk_store__pint(c, page.limit);
    rtk_store__pint(c, page.offset);
    submit(op);
}

void rtk_store_hook_next(rtk_store *st, const char *webhook_id, const char *meeting_id,
                         int64_t now_ms, rtk_store_cb cb, void *arg)
{
    OP1(RTK_Q_HOOK_NEXT);
    rtk_store__ptext(op, c, webhook_id);
    rtk_store__ptext(op, c, meeting_id);
    rtk_store__pint(c, now_ms);
    submit(op);
}

void rtk_store_hook_apps(rtk_store *st, rtk_store_cb cb, void *arg)
{
    OP1(RTK_Q_HOOK_APPS);
    (void)c;
    submit(op);
}

void rtk_store_hook_app(rtk_store *st, const char *app_id, rtk_store_cb cb, void *arg)
{
    OP1(RTK_Q_HOOK_APP);
    rtk_store__ptext(op, c, app_id);
    submit(op);
}

void rtk_store_hook_retry(rtk_store *st, const char *app_id, const char *webhook_id, const char *id,
                          int64_t now_ms, rtk_store_cb cb, void *arg)
{
    rtk_store_op *op = op_new(st, cb, arg);
    rtk_store_stmt_call *c = rtk_store__stmt(op, RTK_Q_HOOK_DSTATUS);
    rtk_store__ptext(op, c, id);
    rtk_store__ptext(op, c, webhook_id);
    rtk_store__ptext(op, c, app_id);
    c = rtk_store__stmt(op, RTK_Q_HOOK_RETRY);
    rtk_store__ptext(op, c, id);
    rtk_store__ptext(op, c, webhook_id);
    rtk_store__ptext(op, c, app_id);
    rtk_store__pint(c, now_ms);
    submit(op);
}
