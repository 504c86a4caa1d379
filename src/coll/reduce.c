/* MPI_Reduce and MPI_Reduce_scatter(_block) over point-to-point.
 * Reduce: long vectors with commutative operations use Rabenseifner's
 * reduce-scatter + gather (allreduce.c); the rest a binomial tree; for commutative operations it is
 * rooted at the root, otherwise at rank 0 (each inner node combines its own, lower-rank partial
 * result with its child's, so the order of ranks is kept) and rank 0 passes the result to the root.
 * Reduce_scatter: commutative operations use pairwise exchange (p - 1 rounds; in round i we send
 * the block of rank + i and fold in the contribution of rank - i to ours), which moves each element
 * once; non-commutative ones reduce to rank 0 in order and scatter the result (MPICH's algorithms
 * for long messages). */
#include "config.h"
#include "coll/coll_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void tide_swap(char **a, char **b)
{
    char *t = *a;
    *a = *b;
    *b = t;
}

int tide_coll_reduce(const tide_coll_comm_t *c, const void *sbuf, void *rbuf, size_t count,
                     const tide_coll_red_t *r, int root)
{
    int p = c->size, lroot = r->commute ? root : 0, rel = (c->rank - lroot + p) % p, rc = 0;
    size_t bytes = count * r->esize;
    if (count == 0)
        return 0;
    if (p == 1) {
        if (sbuf != rbuf)
            memcpy(rbuf, sbuf, bytes);
        return 0;
    }
    if (r->commute && count >= (size_t)tide_coll_pof2(p) &&
        bytes >= (size_t)tide_param_int(&tide_param_coll_reduce_long))
        return tide_coll_reduce_rsg(c, sbuf, rbuf, count, r, root);
    char *acc = malloc(2 * bytes), *tmp = acc + bytes;
    if (!acc)
        return -ENOMEM;
    char *base = acc;
    memcpy(acc, sbuf, bytes);
    for (int mask = 1; mask < p && !rc; mask <<= 1) {
        if (rel & mask) {
            rc = tide_coll_send(c, acc, bytes, (rel - mask + lroot) % p, TIDE_COLL_TAG_REDUCE);
            break;
        }
        if (rel + mask < p) {
            rc =
                tide_coll_recv(c, tmp, bytes, (rel + mask + lroot) % p, TIDE_COLL_TAG_REDUCE, NULL);
            if (!rc) { /* ours covers the lower ranks: tmp = acc op tmp */
                tide_coll_apply(r, acc, tmp, count);
                tide_swap(&acc, &tmp);
            }
        }
    }
    if (!rc && lroot != root) { /* non-commutative with root != 0 */
        if (c->rank == 0)
            rc = tide_coll_send(c, acc, bytes, root, TIDE_COLL_TAG_REDUCE);
        else if (c->rank == root)
            rc = tide_coll_recv(c, rbuf, bytes, 0, TIDE_COLL_TAG_REDUCE, NULL);
    } else if (!rc && c->rank == root) {
        memcpy(rbuf, acc, bytes);
    }
    free(base);
    return rc;
}

static int tide_rscatter_pairwise(const tide_coll_comm_t *c, const char *sbuf, char *rbuf,
                                  const size_t *counts, const size_t *displs,
                                  const tide_coll_red_t *r)
{
    int p = c->size, me = c->rank, rc = 0;
    size_t es = r->esize, mine = counts[me];
    char *tmp = malloc(mine * es + 1);
    if (!tmp)
        return -ENOMEM;
    memmove(rbuf, sbuf + displs[me] * es, mine * es);
    for (int i = 1; i < p && !rc; i++) {
        int dst = (me + i) % p, src = (me - i + p) % p;
        rc = tide_coll_sendrecv(c, sbuf + displs[dst] * es, counts[dst] * es, dst, tmp, mine * es,
                                src, TIDE_COLL_TAG_RSCATTER, NULL);
        if (!rc)
            tide_coll_apply(r, tmp, rbuf, mine);
    }
    free(tmp);
    return rc;
}

static int tide_rscatter_reduce(const tide_coll_comm_t *c, const char *sbuf, char *rbuf,
                                const size_t *counts, const size_t *displs, size_t total,
                                const tide_coll_red_t *r)
{
    int p = c->size;
    size_t es = r->esize;
    char *all = c->rank == 0 ? malloc(total * es + 1) : NULL;
    size_t *v = malloc(2 * (size_t)p * sizeof(*v));
    int rc = (c->rank == 0 && !all) || !v ? -ENOMEM : 0;
    /* Every rank must take part even if one failed to allocate: the error
     * is reported but the peers may hang; allocations this small rarely fail. */
    if (!rc)
        rc = tide_coll_reduce(c, sbuf, all, total, r, 0);
    for (int i = 0; !rc && i < p; i++)
        v[i] = counts[i] * es, v[p + i] = displs[i] * es;
    if (!rc)
        rc = tide_coll_scatterv(c, all, v, v + p, rbuf, counts[c->rank] * es, 0);
    free(v);
    free(all);
    return rc;
}

int tide_coll_reduce_scatter(const tide_coll_comm_t *c, const void *sbuf, void *rbuf,
                             const size_t *counts, const tide_coll_red_t *r)
{
    int p = c->size, rc;
    size_t *displs = malloc((size_t)p * sizeof(*displs)), total = 0;
    if (!displs)
        return -ENOMEM;
    for (int i = 0; i < p; i++)
        displs[i] = total, total += counts[i];
    char *copy = NULL;
    if (!sbuf) { /* in place: the input vector is in rbuf */
        copy = malloc(total * r->esize + 1);
        if (!copy) {
            free(displs);
            return -ENOMEM;
        }
        memcpy(copy, rbuf, total * r->esize);
        sbuf = copy;
    }
    if (r->commute)
        rc = tide_rscatter_pairwise(c, sbuf, rbuf, counts, displs, r);
    else
        rc = tide_rscatter_reduce(c, sbuf, rbuf, counts, displs, total, r);
    free(copy);
    free(displs);
    return rc;
}
