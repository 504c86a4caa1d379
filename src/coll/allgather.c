/* MPI_Allgather(v) over point-to-point, on the receive buffer in place
 * (the caller has put our own block at its slot).  Small totals: recursive
 * doubling when p is a power of two (log2 p rounds, doubling blocks), else
 * Bruck's concatenation (ceil(log2 p) rounds, one rotation at the end).
 * Large totals and every Allgatherv: a ring, p - 1 rounds in which each
 * process passes on the block it received last; bandwidth-optimal (Thakur,
 * Rabenseifner and Gropp 2005). */
#include "config.h"
#include "coll/coll_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int tide_allgather_recdbl(const tide_coll_comm_t *c, char *rbuf, size_t blk)
{
    for (int mask = 1; mask < c->size; mask <<= 1) {
        int peer = c->rank ^ mask;
        size_t mine = (size_t)(c->rank & ~(mask - 1)), theirs = (size_t)(peer & ~(mask - 1));
        int rc =
            tide_coll_sendrecv(c, rbuf + mine * blk, (size_t)mask * blk, peer, rbuf + theirs * blk,
                               (size_t)mask * blk, peer, TIDE_COLL_TAG_ALLGATHER, NULL);
        if (rc)
            return rc;
    }
    return 0;
}

static int tide_allgather_bruck(const tide_coll_comm_t *c, char *rbuf, size_t blk)
{
    int p = c->size, rc = 0;
    char *tmp = malloc(blk * (size_t)p);
    if (!tmp)
        return -ENOMEM;
    memcpy(tmp, rbuf + blk * (size_t)c->rank, blk);
    for (int k = 1; k < p && !rc; k <<= 1) {
        size_t n = (size_t)(p - k < k ? p - k : k);
        rc = tide_coll_sendrecv(c, tmp, n * blk, (c->rank - k + p) % p, tmp + (size_t)k * blk,
                                n * blk, (c->rank + k) % p, TIDE_COLL_TAG_ALLGATHER, NULL);
    }
    if (!rc)
        for (int i = 0; i < p; i++)
            memcpy(rbuf + blk * (size_t)((c->rank + i) % p), tmp + blk * (size_t)i, blk);
    free(tmp);
    return rc;
}

int tide_coll_allgatherv(const tide_coll_comm_t *c, void *vrbuf, const size_t *bytes,
                         const size_t *displs)
{
    int p = c->size, left = (c->rank - 1 + p) % p, right = (c->rank + 1) % p;
    char *rbuf = vrbuf;
    for (int i = 0; i < p - 1; i++) {
        int sb = (c->rank - i + p) % p, rb = (c->rank - i - 1 + p) % p;
        int rc = tide_coll_sendrecv(c, rbuf + displs[sb], bytes[sb], right, rbuf + displs[rb],
                                    bytes[rb], left, TIDE_COLL_TAG_ALLGATHER, NULL);
        if (rc)
            return rc;
    }
    return 0;
}

int tide_coll_allgather(const tide_coll_comm_t *c, void *rbuf, size_t blk)
{
    int p = c->size;
    if (p == 1 || blk == 0)
        return 0;
    if (blk * (size_t)p < (size_t)tide_param_int(&tide_param_coll_allgather_long))
        return (p & (p - 1)) == 0 ? tide_allgather_recdbl(c, rbuf, blk)
                                  : tide_allgather_bruck(c, rbuf, blk);
    size_t *v = malloc(2 * (size_t)p * sizeof(*v));
    if (!v)
        return -ENOMEM;
    for (int i = 0; i < p; i++)
        v[i] = blk, v[p + i] = blk * (size_t)i;
    int rc = tide_coll_allgatherv(c, rbuf, v, v + p);
    free(v);
    return rc;
}
