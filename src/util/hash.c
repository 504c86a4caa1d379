/* Hash map: see hash.h. */
#include "config.h"
#include "util/hash.h"

#include <errno.h>
#include <stdlib.h>

void tide_hash_init(tide_hash_t *h)
{
    h->slots = NULL;
    h->cap = 0;
    h->count = 0;
}

void tide_hash_fini(tide_hash_t *h)
{
    free(h->slots);
    tide_hash_init(h);
}

static size_t tide_hash_find(const tide_hash_t *h, uint64_t key)
{
    size_t mask = h->cap - 1;
    size_t i = tide_hash_mix(key) & mask;
    while (h->slots[i].val && h->slots[i].key != key)
        i = (i + 1) & mask;
    return i;
}

static int tide_hash_grow(tide_hash_t *h)
{
    size_t ncap = h->cap ? h->cap * 2 : 16;
    tide_hash_slot_t *old = h->slots;
    size_t ocap = h->cap;
    h->slots = calloc(ncap, sizeof(*h->slots));
    if (!h->slots) {
        h->slots = old;
        return -ENOMEM;
    }
    h->cap = ncap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].val)
            h->slots[tide_hash_find(h, old[i].key)] = old[i];
    free(old);
    return 0;
}

int tide_hash_put(tide_hash_t *h, uint64_t key, void *val)
{
    if ((h->count + 1) * 10 > h->cap * 7) {
        int rc = tide_hash_grow(h);
        if (rc)
            return rc;
    }
    size_t i = tide_hash_find(h, key);
    if (!h->slots[i].val)
        h->count++;
    h->slots[i].key = key;
    h->slots[i].val = val;
    return 0;
}

void *tide_hash_get(const tide_hash_t *h, uint64_t key)
{
    if (!h->cap)
        return NULL;
    return h->slots[tide_hash_find(h, key)].val;
}

void *tide_hash_del(tide_hash_t *h, uint64_t key)
{
    if (!h->cap)
        return NULL;
    size_t mask = h->cap - 1;
    size_t i = tide_hash_find(h, key);
    void *val = h->slots[i].val;
    if (!val)
        return NULL;
    /* Backward-shift deletion keeps probe chains unbroken without tombstones. */
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!h->slots[j].val)
            break;
        size_t home = tide_hash_mix(h->slots[j].key) & mask;
        /* Move j back to i if its home is not in (i, j] cyclically. */
        int in_range = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!in_range) {
            h->slots[i] = h->slots[j];
            i = j;
        }
    }
    h->slots[i].val = NULL;
    h->count--;
    return val;
}

int tide_hash_next(const tide_hash_t *h, size_t *iter, uint64_t *key, void **val)
{
    for (; *iter < h->cap; (*iter)++) {
        if (h->slots[*iter].val) {
            if (key)
                *key = h->slots[*iter].key;
            if (val)
                *val = h->slots[*iter].val;
            (*iter)++;
            return 1;
        }
    }
    return 0;
}
