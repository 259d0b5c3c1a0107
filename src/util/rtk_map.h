/* SPDX-License-Identifier: MIT */
/* rtk_map.h - a string-keyed hash map of borrowed pointers (open addressing, linear probing).
 *
 * Keys are NOT copied: each key must stay valid and unchanged while its entry is in the map
 * (callers use a string inside the value itself, e.g. an id field). Grows at 70% load and
 * removes with backward-shift deletion, so there are no tombstones. */
#ifndef RTK_MAP_H
#define RTK_MAP_H

#include <stddef.h>

typedef struct rtk_map_slot {
    const char *key;
    void *value;
    unsigned hash;
} rtk_map_slot;

typedef struct rtk_map {
    rtk_map_slot *slots; /* private */
    size_t cap;          /* private: a power of two, or 0 */
    size_t count;        /* read-only */
} rtk_map;

void rtk_map_init(rtk_map *m);
void rtk_map_free(rtk_map *m); /* frees the table, not the values */
void *rtk_map_get(const rtk_map *m, const char *key);
/* Inserts or replaces; returns the value it replaced, or NULL. */
void *rtk_map_put(rtk_map *m, const char *key, void *value);
/* Removes |key|; returns its value, or NULL when absent. */
void *rtk_map_del(rtk_map *m, const char *key);
/* Iteration: for (size_t i = 0; rtk_map_next(m, &i, &k, &v);) ... ; the map must not change
 * during the loop. */
int rtk_map_next(const rtk_map *m, size_t *iter, const char **key, void **value);

#endif
