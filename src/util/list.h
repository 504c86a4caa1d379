/* Intrusive doubly linked lists (circular, with a sentinel head), the shape
 * Linux's list_head made familiar.  Embed a tide_list_t in the object; get
 * the object back with tide_container_of. */
#ifndef TIDE_UTIL_LIST_H
#define TIDE_UTIL_LIST_H

#include <stddef.h>

#define tide_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

typedef struct tide_list {
    struct tide_list *next, *prev;
} tide_list_t;

#define TIDE_LIST_INIT(name) \
    {                        \
        &(name), &(name)     \
    }

static inline void tide_list_init(tide_list_t *h)
{
    h->next = h->prev = h;
}

static inline int tide_list_empty(const tide_list_t *h)
{
    return h->next == h;
}

static inline void tide_list_insert_between(tide_list_t *n, tide_list_t *prev, tide_list_t *next)
{
    n->next = next;
    n->prev = prev;
    prev->next = n;
    next->prev = n;
}

static inline void tide_list_push_back(tide_list_t *h, tide_list_t *n)
{
    tide_list_insert_between(n, h->prev, h);
}

static inline void tide_list_push_front(tide_list_t *h, tide_list_t *n)
{
    tide_list_insert_between(n, h, h->next);
}

/* Insert n after position pos (pos may be the head: then at the front). */
static inline void tide_list_insert_after(tide_list_t *pos, tide_list_t *n)
{
    tide_list_insert_between(n, pos, pos->next);
}

static inline void tide_list_del(tide_list_t *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->next = n->prev = n;
}

static inline tide_list_t *tide_list_pop_front(tide_list_t *h)
{
    if (tide_list_empty(h))
        return NULL;
    tide_list_t *n = h->next;
    tide_list_del(n);
    return n;
}

#define tide_list_first(h, type, member) \
    (tide_list_empty(h) ? NULL : tide_container_of((h)->next, type, member))

#define tide_list_for_each(pos, h) for ((pos) = (h)->next; (pos) != (h); (pos) = (pos)->next)

/* Safe against removal of pos. */
#define tide_list_for_each_safe(pos, tmp, h) \
    for ((pos) = (h)->next, (tmp) = (pos)->next; (pos) != (h); (pos) = (tmp), (tmp) = (pos)->next)

#endif
