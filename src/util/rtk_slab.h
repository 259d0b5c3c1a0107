/* SPDX-License-Identifier: MIT */
/* rtk_slab.h - fixed-size objects that live long, kept apart from the heap's short-lived ones.
 *
 * A server that accepts 15,000 WebSocket peers in a burst allocates, per peer, a few objects
 * that live as long as the connection (the HTTP connection, the channel, the live peer) in
 * the middle of far more that live for one request (parsed documents, store results, frames).
 * From malloc, the long-lived ones land in the holes the short-lived ones leave and pin them:
 * the process's resident memory after the burst then depends on how the joins fell into loop
 * turns (docs/design.md, "Memory per idle peer"). A slab keeps each kind of long-lived object
 * in blocks of its own, mapped from the kernel and unmapped when empty.
 *
 * Not thread-safe: one slab belongs to one loop thread. Objects are aligned to 8 bytes (the
 * structs kept here hold pointers and 64-bit integers). Under AddressSanitizer a free slot is
 * poisoned, so a use after free is still reported. */
#ifndef RTK_SLAB_H
#define RTK_SLAB_H

#include <stddef.h>
#include <stdint.h>

typedef struct rtk_slab_block rtk_slab_block;

typedef struct rtk_slab {
    size_t size;             /* bytes per object */
    size_t slot;             /* bytes per slot: the block pointer and the object */
    uint32_t per;            /* slots per block */
    rtk_slab_block *partial; /* blocks with a free slot, doubly linked */
    size_t blocks;           /* blocks mapped */
    size_t used;             /* objects handed out and not freed */
} rtk_slab;

/* Sets up |s| for objects of |size| bytes (at most a few KiB). Allocates nothing. */
void rtk_slab_init(rtk_slab *s, size_t size);

/* A zeroed object. Aborts on out-of-memory, like rtk_xcalloc. */
void *rtk_slab_calloc(rtk_slab *s);

/* Returns |p| (from rtk_slab_calloc of |s|; NULL is ignored) to its block. A block left empty
 * is unmapped, unless it is the only one with room. */
void rtk_slab_free(rtk_slab *s, void *p);

/* Unmaps the blocks left; every object must have been freed. */
void rtk_slab_fini(rtk_slab *s);

#endif
