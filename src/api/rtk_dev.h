/* SPDX-License-Identifier: MIT */
/* rtk_dev.h - `serve --dev`: a ready-made account, app, API token and demo meeting. */
#ifndef RTK_DEV_H
#define RTK_DEV_H

#include <stdint.h>

#include "store/rtk_store.h"

/* Title of the demo meeting that dev mode keeps in the dev app. */
#define RTK_DEV_DEMO_TITLE "rtkd demo"

/* Lifetime of the demo join links printed at each start (30 days). */
#define RTK_DEV_LINK_TTL_S (30 * 24 * 3600)

/* Makes sure the data folder holds the dev account with one app and a working API token,
 * then (re)writes DIR/dev-credentials.json {"account_id","app_id","api_token","base_url"}
 * with mode 0600 and prints the same on stdout. A token is issued only when the file is
 * missing or its token no longer works.
 *
 * Then prints the operator console's URL (|base_url| without its "/client/v4" suffix, plus
 * "/"), and makes sure the dev app has the demo meeting (titled RTK_DEV_DEMO_TITLE) with two
 * participants, custom ids "demo-ann" and "demo-bob": they are created on the first start
 * and found again (the oldest meeting with exactly that title, then each participant by its
 * custom id) on later ones, so restarts add nothing. Prints a join link for each, with a
 * participant token signed with |key| (the server's signing key) and valid for
 * RTK_DEV_LINK_TTL_S.
 *
 * Runs on the loop thread before the server takes requests, waiting for the store (start-up
 * only). Errors: the store's (RTK_EDB, RTK_EUNAVAIL), negated errno (the file). */
int rtk_dev_setup(rtk_store *st, const char *dir, const char *base_url, const uint8_t key[32]);

#endif
