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

#endif
