/* SPDX-License-Identifier: MIT */
/* rtk_dev.h - `serve --dev`: a ready-made account, app and API token for a local try-out. */
#ifndef RTK_DEV_H
#define RTK_DEV_H

#include "store/rtk_db.h"

/* Makes sure the data folder holds the dev account with one app and a working API token,
 * then (re)writes DIR/dev-credentials.json {"account_id","app_id","api_token","base_url"}
 * with mode 0600 and prints the same on stdout. A token is issued only when the file is
 * missing or its token no longer works. Errors: RTK_EDB, negated errno. */
int rtk_dev_setup(rtk_db *db, const char *dir, const char *base_url);

#endif
