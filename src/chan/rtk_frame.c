/* SPDX-License-Identifier: MIT */
/* rtk_frame.c - reference-counted prepared frames. */
#include "chan/rtk_frame.h"

#include <stdlib.h>
#include <string.h>

#include "net/rtk_ws.h"
#include "util/rtk_err.h"

rtk_frame *rtk_frame_new(int opcode, const void *payload, size_t len)
{
    uint8_t head[10];
    size_t hlen = rtk_ws_frame_header(head, opcode, len);
    rtk_frame *f = rtk_xmalloc(sizeof(*f) + hlen + len);
    f->refs = 1;
    f->len = hlen + len;
    memcpy(f->data, head, hlen);
    if (len)
        memcpy(f->data + hlen, payload, len);
    return f;
}

rtk_frame *rtk_frame_text_parts(const char *const *parts, const size_t *lens, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += lens[i];
    uint8_t head[10];
    size_t hlen = rtk_ws_frame_header(head, RTK_WS_OP_TEXT, len);
    rtk_frame *f = rtk_xmalloc(sizeof(*f) + hlen + len);
    f->refs = 1;
    f->len = hlen + len;
    memcpy(f->data, head, hlen);
    uint8_t *w = f->data + hlen;
    for (size_t i = 0; i < n; i++) {
        memcpy(w, parts[i], lens[i]);
        w += lens[i];
    }
    return f;
}

rtk_frame *rtk_frame_ref(rtk_frame *f)
{
    f->refs++;
    return f;
}

void rtk_frame_unref(rtk_frame *f)
{
    if (f != NULL && --f->refs == 0)
        free(f);
}
