/* A hash map from 64-bit keys to pointers: open addressing with linear
 * probing and backward-shift deletion, power-of-two capacity, grows at 70 %
 * load.  Used to find connections, peers and communicators by id. */
#ifndef TIDE_UTIL_HASH_H
#define TIDE_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct tide_hash_slot {
    uint64_t key;
    void *val; /* NULL marks an empty slot: values must not be NULL */
} tide_hash_slot_t;

typedef struct tide_hash {
    tide_hash_slot_t *slots;
    size_t cap; /* power of two, 0 before the first insert */
    size_t count;
} tide_hash_t;

void tide_hash_init(tide_hash_t *h);
void tide_hash_fini(tide_hash_t *h);
/* 0, or -ENOMEM; replaces the value of an existing key. */
int tide_hash_put(tide_hash_t *h, uint64_t key, void *val);
void *tide_hash_get(const tide_hash_t *h, uint64_t key);
/* Returns the removed value or NULL. */
void *tide_hash_del(tide_hash_t *h, uint64_t key);

/* Iterate: for (size_t i = 0; tide_hash_next(h, &i, &k, &v);) */
int tide_hash_next(const tide_hash_t *h, size_t *iter, uint64_t *key, void **val);

static inline uint64_t tide_hash_mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

#endif
