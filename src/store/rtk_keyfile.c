/* SPDX-License-Identifier: MIT */
/* rtk_keyfile.c - create-once, read-always key files. */
#include "store/rtk_keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/rtk_err.h"
#include "util/rtk_id.h"

static int read_all(int fd, uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return RTK_EINVAL;
        got += (size_t)r;
    }
    uint8_t extra;
    return read(fd, &extra, 1) == 0 ? 0 : RTK_EINVAL;
}

int rtk_keyfile_load(const char *dir, const char *name, uint8_t *key, size_t len)
{
    char path[4096];
    if (len == 0 || len > 64 ||
        snprintf(path, sizeof(path), "%s/%s.key", dir, name) >= (int)sizeof(path))
        return RTK_EINVAL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        /* First start: write to a temporary name and rename, so a crash never leaves a short
         * key file behind. O_EXCL on the temporary makes a racing second start fail loudly. */
        char tmp[4200];
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        unlink(tmp);
        int w = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (w < 0)
            return -errno;
        if (rtk_random_bytes(key, len) != 0) {
            close(w);
            return RTK_EINVAL;
        }
        ssize_t n = write(w, key, len);
        int rc = (n == (ssize_t)len && fsync(w) == 0) ? 0 : (n < 0 ? -errno : RTK_EINVAL);
        close(w);
        if (rc == 0 && rename(tmp, path) != 0)
            rc = -errno;
        return rc;
    }
    if (fd < 0)
        return -errno;
    int rc = read_all(fd, key, len);
    close(fd);
    return rc;
}

int rtk_keyfile_text(const char *dir, const char *name, const char *value, char *out, size_t cap,
                     size_t *len)
{
    char path[4096], tmp[4200];
    if (cap == 0 || snprintf(path, sizeof(path), "%s/%s.pem", dir, name) >= (int)sizeof(path))
        return RTK_EINVAL;
    if (value != NULL && access(path, F_OK) != 0) {
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        unlink(tmp);
        int w = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (w < 0)
            return -errno;
        size_t n = strlen(value);
        ssize_t wr = write(w, value, n);
        int rc = (wr == (ssize_t)n && fsync(w) == 0) ? 0 : (wr < 0 ? -errno : RTK_EINVAL);
        close(w);
        if (rc == 0 && link(tmp, path) != 0 && errno != EEXIST)
            rc = -errno;
        unlink(tmp);
        if (rc != 0)
            return rc;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, out + got, cap - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int rc = -errno;
            close(fd);
            return rc;
        }
        if (r == 0)
            break;
        got += (size_t)r;
        if (got == cap - 1) {
            close(fd);
            return RTK_EINVAL;
        }
    }
    close(fd);
    out[got] = '\0';
    *len = got;
    return 0;
}
