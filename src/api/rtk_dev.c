/* SPDX-License-Identifier: MIT */
/* rtk_dev.c - dev-mode credentials. */
#include "api/rtk_dev.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/rtk_err.h"

static int write_file_0600(const char *path, const char *text)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    size_t n = strlen(text);
    ssize_t w = write(fd, text, n);
    int rc = (w == (ssize_t)n && fsync(fd) == 0) ? 0 : -EIO;
    close(fd);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    return rc;
}

int rtk_dev_setup(rtk_db *db, const char *dir, const char *base_url)
{
    char account[33], app[37], token_id[33], path[4096];
    char *token = NULL;
    json_t *app_obj = NULL, *old = NULL;
    int rc;

    snprintf(path, sizeof(path), "%s/dev-credentials.json", dir);
    if ((rc = rtk_db_account_dev(db, account)) == RTK_ENOTFOUND)
        rc = rtk_db_account_create(db, "dev", 1, account);
    if (rc != 0)
        return rc;
    if ((rc = rtk_db_app_first(db, account, app)) == RTK_ENOTFOUND) {
        if ((rc = rtk_db_app_create(db, account, "dev app", &app_obj)) != 0)
            return rc;
        snprintf(app, sizeof(app), "%s", json_string_value(json_object_get(app_obj, "id")));
        json_decref(app_obj);
    } else if (rc != 0) {
        return rc;
    }

    /* Keep the token of an earlier start when the file still has one that works. */
    old = json_load_file(path, 0, NULL);
    const char *prev = json_string_value(json_object_get(old, "api_token"));
    char owner[33];
    if (prev != NULL && rtk_db_token_check(db, prev, strlen(prev), owner, NULL) == 0 &&
        strcmp(owner, account) == 0)
        token = rtk_xstrndup(prev, strlen(prev));
    json_decref(old);
    if (token == NULL && (rc = rtk_db_token_create(db, account, "dev", &token, token_id)) != 0)
        return rc;

    json_t *creds = json_pack("{s:s,s:s,s:s,s:s}", "account_id", account, "app_id", app,
                              "api_token", token, "base_url", base_url);
    char *text = json_dumps(creds, JSON_INDENT(2));
    json_decref(creds);
    size_t n = strlen(text);
    text = rtk_xrealloc(text, n + 2);
    memcpy(text + n, "\n", 2);
    rc = write_file_0600(path, text);
    if (rc == 0) {
        printf("rtkd: dev mode: credentials in %s\n%s", path, text);
        printf("rtkd: try it:\n  CLOUDFLARE_BASE_URL=%s CLOUDFLARE_API_TOKEN=%s\n", base_url,
               token);
        printf("  curl -H 'Authorization: Bearer %s' %s/accounts/%s/realtime/kit/%s/meetings\n",
               token, base_url, account, app);
        fflush(stdout);
    }
    free(text);
    free(token);
    return rc;
}
