/* MPI_Alltoall(v/w) over point-to-point.  Small blocks: Bruck's algorithm
 * (ceil(log2 p) rounds; in round k every block whose index has bit k set
 * moves k ranks on, packed into one message; a rotation before and after).
 * Larger blocks and the v/w variants: pairwise exchange, p - 1 rounds of
 * one send and one receive (partner rank XOR i for power-of-two p, else
 * rank +- i), so no process is flooded.  In place: the receive buffer is
 * first copied aside and used as the send buffer. */
#include "config.h"
#include "coll/coll_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int tide_alltoall_bruck(const tide_coll_comm_t *c, const char *sbuf, char *rbuf, size_t blk)
{
    int p = c->size, r = c->rank, rc = 0;
    char *tmp = malloc(blk * (size_t)p * 2);
    if (!tmp)
        return -ENOMEM;
    char *pk = tmp + blk * (size_t)p; /* packed blocks of one round; received in place */
    for (int i = 0; i < p; i++)
        memcpy(tmp + blk * (size_t)i, sbuf + blk * (size_t)((r + i) % p), blk);
    for (int k = 1; k < p && !rc; k <<= 1) {
        size_t n = 0;
        for (int i = 0; i < p; i++)
            if (i & k)
                memcpy(pk + blk * n++, tmp + blk * (size_t)i, blk);
        rc = tide_coll_sendrecv(c, pk, n * blk, (r + k) % p, rbuf, n * blk, (r - k + p) % p,
                                TIDE_COLL_TAG_ALLTOALL, NULL);
        n = 0;
        for (int i = 0; i < p && !rc; i++)
            if (i & k)
                memcpy(tmp + blk * (size_t)i, rbuf + blk * n++, blk);
    }
    if (!rc)
        for (int i = 0; i < p; i++)
            memcpy(rbuf + blk * (size_t)((r - i + p) % p), tmp + blk * (size_t)i, blk);
    free(tmp);
    return rc;
}

/* Partners of round i (1 <= i < p). */
static void tide_alltoall_peers(const tide_coll_comm_t *c, int i, int *dst, int *src)
{
    int p = c->size;
    if ((p & (p - 1)) == 0)
        *dst = *src = c->rank ^ i;
    else
        *dst = (c->rank + i) % p, *src = (c->rank - i + p) % p;
}

static int tide_alltoallv_pairwise(const tide_coll_comm_t *c, const char *sbuf,
                                   const size_t *sbytes, const size_t *sdispls, char *rbuf,
                                   const size_t *rbytes, const size_t *rdispls)
{
    int r = c->rank;
    if (rbytes[r])
        memmove(rbuf + rdispls[r], sbuf + sdispls[r], rbytes[r]);
    for (int i = 1; i < c->size; i++) {
        int dst, src;
        tide_alltoall_peers(c, i, &dst, &src);
        int rc = tide_coll_sendrecv(c, sbuf + sdispls[dst], sbytes[dst], dst, rbuf + rdispls[src],
                                    rbytes[src], src, TIDE_COLL_TAG_ALLTOALL, NULL);
        if (rc)
            return rc;
    }
    return 0;
}

int tide_coll_alltoallv(const tide_coll_comm_t *c, const void *sbuf, const size_t *sbytes,
                        const size_t *sdispls, void *rbuf, const size_t *rbytes,
                        const size_t *rdispls)
{
    if (sbuf)
        return tide_alltoallv_pairwise(c, sbuf, sbytes, sdispls, rbuf, rbytes, rdispls);
    size_t extent = 0; /* in place: send from a copy of the receive buffer */
    for (int i = 0; i < c->size; i++)
        if (rbytes[i] && rdispls[i] + rbytes[i] > extent)
            extent = rdispls[i] + rbytes[i];
    char *tmp = malloc(extent ? extent : 1);
    if (!tmp)
        return -ENOMEM;
    memcpy(tmp, rbuf, extent);
    int rc = tide_alltoallv_pairwise(c, tmp, rbytes, rdispls, rbuf, rbytes, rdispls);
    free(tmp);
    return rc;
}

int tide_coll_alltoall(const tide_coll_comm_t *c, const void *sbuf, void *rbuf, size_t blk)
{
    int p = c->size, rc;
    if (blk == 0)
        return 0;
    char *copy = NULL;
    if (!sbuf) {
        if (!(copy = malloc(blk * (size_t)p)))
            return -ENOMEM;
        memcpy(copy, rbuf, blk * (size_t)p);
        sbuf = copy;
    }
    if (p > 2 && blk <= (size_t)tide_param_int(&tide_param_coll_alltoall_short)) {
        rc = tide_alltoall_bruck(c, sbuf, rbuf, blk);
    } else {
        size_t *v = malloc(2 * (size_t)p * sizeof(*v));
        rc = v ? 0 : -ENOMEM;
        for (int i = 0; v && i < p; i++)
            v[i] = blk, v[p + i] = blk * (size_t)i;
        if (v)
            rc = tide_alltoallv_pairwise(c, sbuf, v, v + p, rbuf, v, v + p);
        free(v);
    }
    free(copy);
    return rc;
}
