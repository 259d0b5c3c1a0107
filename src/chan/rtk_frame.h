/* SPDX-License-Identifier: MIT */
/* rtk_frame.h - prepared, reference-counted WebSocket frames shared by many peers. */
#ifndef RTK_FRAME_H
#define RTK_FRAME_H

#include <stddef.h>
#include <stdint.h>

/* One complete server frame (header and payload). A broadcast serialises its message once
 * and every peer's write borrows the same bytes, holding one reference until it completes. */
typedef struct rtk_frame {
    unsigned refs;   /* private */
    size_t len;      /* read-only: bytes in data */
    uint8_t data[];  /* read-only */
} rtk_frame;

/* A frame of |opcode| with |len| payload bytes. Returns a new frame with one reference. */
rtk_frame *rtk_frame_new(int opcode, const void *payload, size_t len);
/* A text frame whose payload is the |n| pieces |parts|/|lens| one after another (e.g. a shared
 * serialised prefix and a per-recipient suffix). Returns a new frame with one reference. */
rtk_frame *rtk_frame_text_parts(const char *const *parts, const size_t *lens, size_t n);
rtk_frame *rtk_frame_ref(rtk_frame *f);
void rtk_frame_unref(rtk_frame *f); /* frees at zero; NULL is fine */

#endif
