/* MPI_Scan and MPI_Exscan over point-to-point: recursive doubling
 * (MPICH's algorithm).  In round k we swap our partial result (the
 * reduction of a block of 2^k ranks containing ours) with rank ^ 2^k; a
 * partner below us contributes to our prefix too.  Operands are combined
 * in rank order, so non-commutative operations are fine; ceil(log2 p)
 * rounds. */
#include "config.h"
#include "coll/coll_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int tide_coll_scan(const tide_coll_comm_t *c, const void *sbuf, void *rbuf, size_t count,
                   const tide_coll_red_t *r, int exclusive)
{
    size_t bytes = count * r->esize;
    int rc = 0, have = !exclusive; /* rbuf holds a prefix yet */
    if (count == 0)
        return 0;
    char *part = malloc(2 * bytes), *tmp = part + bytes;
    if (!part)
        return -ENOMEM;
    memcpy(part, sbuf, bytes);
    if (!exclusive && sbuf != rbuf)
        memcpy(rbuf, sbuf, bytes);
    for (int mask = 1; mask < c->size && !rc; mask <<= 1) {
        int peer = c->rank ^ mask;
        if (peer >= c->size)
            continue;
        rc = tide_coll_sendrecv(c, part, bytes, peer, tmp, bytes, peer, TIDE_COLL_TAG_SCAN, NULL);
        if (rc)
            break;
        if (peer < c->rank) { /* theirs is below ours in rank order */
            if (have)
                tide_coll_apply(r, tmp, rbuf, count);
            else
                memcpy(rbuf, tmp, bytes), have = 1;
            tide_coll_apply(r, tmp, part, count);
        } else if (r->commute) {
            tide_coll_apply(r, tmp, part, count);
        } else { /* part = part op tmp */
            tide_coll_apply(r, part, tmp, count);
            memcpy(part, tmp, bytes);
        }
    }
    free(part);
    return rc;
}
