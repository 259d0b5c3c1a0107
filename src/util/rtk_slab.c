/* SPDX-License-Identifier: MIT */
/* rtk_slab.c - see rtk_slab.h. A block is one mapping of RTK_SLAB_BLOCK bytes: a header, then
 * slots of [owning block][object]. Slots never handed out are taken in order (so a block's
 * pages are touched only as it fills); freed ones go on the block's free list. */
#include "util/rtk_slab.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define RTK_SLAB_BLOCK (64 * 1024)

struct rtk_slab_block {
    rtk_slab_block *prev, *next; /* on the slab's partial list while it has room */
    void *free;                  /* a freed slot's object; its first word links the next */
    uint32_t nfree;              /* freed slots on |free| plus slots never handed out */
    uint32_t fresh;              /* slots handed out at least once, from the first */
};

#define HDR ((sizeof(rtk_slab_block) + 7) & ~(size_t)7)

void rtk_slab_init(rtk_slab *s, size_t size)
{
    memset(s, 0, sizeof(*s));
    if (size < sizeof(void *))
        size = sizeof(void *);
    s->size = size;
    s->slot = (sizeof(rtk_slab_block *) + size + 7) & ~(size_t)7;
    assert(s->slot * 8 <= RTK_SLAB_BLOCK - HDR);
    s->per = (uint32_t)((RTK_SLAB_BLOCK - HDR) / s->slot);
}

static void partial_link(rtk_slab *s, rtk_slab_block *b)
{
    b->prev = NULL;
    b->next = s->partial;
    if (s->partial)
        s->partial->prev = b;
    s->partial = b;
}

static void partial_unlink(rtk_slab *s, rtk_slab_block *b)
{
    if (b->prev)
        b->prev->next = b->next;
    else
        s->partial = b->next;
    if (b->next)
        b->next->prev = b->prev;
    b->prev = b->next = NULL;
}

static rtk_slab_block *block_new(rtk_slab *s)
{
    void *m =
        mmap(NULL, RTK_SLAB_BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        fprintf(stderr, "rtkd: out of memory (a slab block)\n");
        abort();
    }
    rtk_slab_block *b = m;
    b->nfree = s->per; /* the mapping is zeroed: no free list, nothing handed out */
    POISON((char *)m + HDR, (size_t)s->per * s->slot);
    s->blocks++;
    partial_link(s, b);
    return b;
}

void *rtk_slab_calloc(rtk_slab *s)
{
    rtk_slab_block *b = s->partial ? s->partial : block_new(s);
    char *obj;
    if (b->free != NULL) {
        obj = b->free;
        UNPOISON(obj - sizeof(rtk_slab_block *), s->slot);
        b->free = *(void **)obj;
    } else {
        char *slot = (char *)b + HDR + (size_t)b->fresh++ * s->slot;
        UNPOISON(slot, s->slot);
        *(rtk_slab_block **)slot = b;
        obj = slot + sizeof(rtk_slab_block *);
    }
    if (--b->nfree == 0)
        partial_unlink(s, b);
    s->used++;
    memset(obj, 0, s->size);
    return obj;
}

void rtk_slab_free(rtk_slab *s, void *p)
{
    if (p == NULL)
        return;
    char *obj = p;
    rtk_slab_block *b = *(rtk_slab_block **)(obj - sizeof(rtk_slab_block *));
    *(void **)obj = b->free;
    b->free = obj;
    POISON(obj - sizeof(rtk_slab_block *), s->slot);
    s->used--;
    if (b->nfree++ == 0)
        partial_link(s, b);
    if (b->nfree == s->per && (b->prev != NULL || b->next != NULL)) {
        partial_unlink(s, b); /* empty, and another block has room: give it back */
        munmap(b, RTK_SLAB_BLOCK);
        s->blocks--;
    }
}

void rtk_slab_fini(rtk_slab *s)
{
    assert(s->used == 0);
    while (s->partial != NULL) {
        rtk_slab_block *b = s->partial;
        partial_unlink(s, b);
        munmap(b, RTK_SLAB_BLOCK);
        s->blocks--;
    }
    assert(s->blocks == 0);
}
