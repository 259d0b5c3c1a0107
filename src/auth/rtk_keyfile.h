/* SPDX-License-Identifier: MIT */
/* rtk_keyfile.h - the participant-token signing key kept in the data folder. */
#ifndef RTK_KEYFILE_H
#define RTK_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

/* Loads DIR/signing.key into key[32], creating it with 32 random bytes and mode 0600 on first
 * start. Errors: negated errno, RTK_EINVAL (file of the wrong size). */
int rtk_keyfile_load(const char *dir, uint8_t key[32]);

#endif
