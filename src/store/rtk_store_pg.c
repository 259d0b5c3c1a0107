/* SPDX-License-Identifier: MIT */
/* rtk_store_pg.c - the PostgreSQL backend of the store (not built yet). */
#include <stdio.h>

#include "store/rtk_store_int.h"
#include "util/rtk_err.h"

static int pg_open(rtk_store *st, const char *spec, const rtk_store_config *cfg)
{
    (void)spec;
    (void)cfg;
    fprintf(stderr, "rtkd: store: %s: PostgreSQL is not supported by this build\n", st->url);
    return RTK_EINVAL;
}

static void pg_close(rtk_store *st)
{
    (void)st;
}

static void pg_submit(rtk_store *st, rtk_store_op *op)
{
    (void)st;
    rtk_store__done(op, RTK_EUNAVAIL);
}

static int pg_flush(rtk_store *st)
{
    (void)st;
    return 0;
}

static int pg_idle(rtk_store *st)
{
    (void)st;
    return 1;
}

static int pg_ready(const rtk_store *st)
{
    (void)st;
    return 0;
}

static int pg_changed(rtk_store *st)
{
    (void)st;
    return 0;
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
