/* SPDX-License-Identifier: MIT */
/* rtk_keyfile.h - secret keys kept as files in the SQLite data folder. */
#ifndef RTK_KEYFILE_H
#define RTK_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

/* Loads DIR/NAME.key (exactly |len| bytes, 1..64) into |key|, creating it with |len| random
 * bytes and mode 0600 on first use. Blocks (a few file system calls). Errors: negated errno,
 * RTK_EINVAL (a file of the wrong size, a name or path too long). */
int rtk_keyfile_load(const char *dir, const char *name, uint8_t *key, size_t len);

/* Text keys (PEM): with |value|, creates DIR/NAME.pem holding it (mode 0600) unless the file
 * exists; then, or with |value| NULL, reads the file into |out| (at most |cap| - 1 bytes, NUL
 * added), its length in *len. Creation writes a temporary file and link(2)s it into place, so
 * of two racing writers exactly one wins and both read the winner's key. Blocks. Errors:
 * negated errno (-ENOENT: no file and no |value|), RTK_EINVAL (too long, a bad name). */
int rtk_keyfile_text(const char *dir, const char *name, const char *value, char *out, size_t cap,
                     size_t *len);

#endif
