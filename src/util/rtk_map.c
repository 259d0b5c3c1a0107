/* SPDX-License-Identifier: MIT */
/* rtk_map.c - open-addressing string map. */
#include "util/rtk_map.h"

#include <stdlib.h>
#include <string.h>

#include "util/rtk_err.h"

static unsigned hash_str(const char *s)
{
    unsigned h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

void rtk_map_init(rtk_map *m)
{
    memset(m, 0, sizeof(*m));
}

void rtk_map_free(rtk_map *m)
{
    free(m->slots);
    rtk_map_init(m);
}

static size_t find(const rtk_map *m, const char *key, unsigned h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const rtk_map_slot *s = &m->slots[i];
        if (s->key == NULL || (s->hash == h && strcmp(s->key, key) == 0))
            return i;
    }
}

void *rtk_map_get(const rtk_map *m, const char *key)
{
    if (m->count == 0)
        return NULL;
    size_t i = find(m, key, hash_str(key));
    return m->slots[i].key ? m->slots[i].value : NULL;
}

static void grow(rtk_map *m)
{
    rtk_map old = *m;
    m->cap = old.cap ? old.cap * 2 : 16;
    m->slots = rtk_xcalloc(m->cap, sizeof(*m->slots));
    for (size_t i = 0; i < old.cap; i++) {
        if (old.slots[i].key != NULL)
            m->slots[find(m, old.slots[i].key, old.slots[i].hash)] = old.slots[i];
    }
    free(old.slots);
}

void *rtk_map_put(rtk_map *m, const char *key, void *value)
{
    if ((m->count + 1) * 10 > m->cap * 7)
        grow(m);
    unsigned h = hash_str(key);
    rtk_map_slot *s = &m->slots[find(m, key, h)];
    if (s->key != NULL) {
        void *prev = s->value;
        s->key = key; /* the new value's own key string */
        s->value = value;
        return prev;
    }
    s->key = key;
    s->value = value;
    s->hash = h;
    m->count++;
    return NULL;
}

void *rtk_map_del(rtk_map *m, const char *key)
{
    if (m->count == 0)
        return NULL;
    size_t mask = m->cap - 1;
    size_t i = find(m, key, hash_str(key));
    if (m->slots[i].key == NULL)
        return NULL;
    void *value = m->slots[i].value;
    /* Backward-shift deletion (Knuth 6.4 algorithm R): move later members of the probe run
     * into the hole unless their home slot lies cyclically in (hole, j]. */
    size_t j = i;
    for (;;) {
        m->slots[i].key = NULL;
        for (;;) {
            j = (j + 1) & mask;
            if (m->slots[j].key == NULL) {
                m->count--;
                return value;
            }
            size_t home = m->slots[j].hash & mask;
            if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
                continue;
            break;
        }
        m->slots[i] = m->slots[j];
        i = j;
    }
}

int rtk_map_next(const rtk_map *m, size_t *iter, const char **key, void **value)
{
    for (; *iter < m->cap; (*iter)++) {
        if (m->slots[*iter].key != NULL) {
            if (key)
                *key = m->slots[*iter].key;
            if (value)
                *value = m->slots[*iter].value;
            (*iter)++;
            return 1;
        }
    }
    return 0;
}
