/* MPI_Allreduce over point-to-point (Thakur, Rabenseifner and Gropp 2005;
 * MPICH's algorithms).  A non-power-of-two p is folded first: of the first
 * 2*rem ranks (rem = p - pof2) each even one hands its vector to the odd
 * one above it and waits; the result comes back at the end.  The pof2
 * survivors then run either recursive doubling (log2 pof2 exchanges of the
 * whole vector; combining in rank order, so fine for non-commutative
 * operations) or, for long vectors and commutative operations,
 * Rabenseifner's reduce-scatter by recursive halving followed by an
 * allgather by recursive doubling, which moves about 2n bytes instead of
 * n log p.  Long commutative MPI_Reduce uses the same halving followed by
 * a gather of the reduced blocks to the root (tide_coll_reduce_rsg). */
#include "config.h"
#include "coll/coll_impl.h"
#include "p2p/p2p.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct tide_allred {
    const tide_coll_comm_t *c;
    const tide_coll_red_t *r;
    char *buf, *tmp;
    size_t count;
    int pof2, rem, newrank;
    size_t *cnts, *disps;   /* Rabenseifner: pof2 blocks (elements) */
    int send_idx, last_idx; /* after halving: the block we hold */
} tide_allred_t;

/* The real rank of folded rank nr. */
static int tide_allred_real(const tide_allred_t *a, int nr)
{
    return nr < a->rem ? nr * 2 + 1 : nr + a->rem;
}

static int tide_allred_recdbl(tide_allred_t *a)
{
    size_t bytes = a->count * a->r->esize;
    for (int mask = 1; mask < a->pof2; mask <<= 1) {
        int dst = tide_allred_real(a, a->newrank ^ mask);
        int rc = tide_coll_sendrecv(a->c, a->buf, bytes, dst, a->tmp, bytes, dst,
                                    TIDE_COLL_TAG_ALLREDUCE, NULL);
        if (rc)
            return rc;
        if (a->r->commute || dst < a->c->rank) {
            tide_coll_apply(a->r, a->tmp, a->buf, a->count); /* theirs op ours */
        } else {
            tide_coll_apply(a->r, a->buf, a->tmp, a->count); /* ours op theirs */
            memcpy(a->buf, a->tmp, bytes);
        }
    }
    return 0;
}

static size_t tide_sum(const size_t *v, int from, int to)
{
    size_t s = 0;
    for (int i = from; i < to; i++)
        s += v[i];
    return s;
}

/* One exchange of Rabenseifner's algorithm: send blocks [si, si + sn),
 * receive blocks [ri, ri + rn) into `into`; reduce them into buf if red. */
static int tide_allred_step(tide_allred_t *a, const size_t *cnts, const size_t *disps, int dst,
                            int si, int se, int ri, int re, char *into, int red)
{
    size_t es = a->r->esize, sn = tide_sum(cnts, si, se), rn = tide_sum(cnts, ri, re);
    int rc = tide_coll_sendrecv(a->c, a->buf + disps[si] * es, sn * es, dst, into + disps[ri] * es,
                                rn * es, dst, TIDE_COLL_TAG_ALLREDUCE, NULL);
    if (!rc && red)
        tide_coll_apply(a->r, a->tmp + disps[ri] * es, a->buf + disps[ri] * es, rn);
    return rc;
}

/* Cut the vector into pof2 blocks (a->cnts, a->disps, in elements). */
static int tide_allred_blocks(tide_allred_t *a)
{
    int pof2 = a->pof2;
    if (!(a->cnts = malloc(2 * (size_t)pof2 * sizeof(*a->cnts))))
        return -ENOMEM;
    a->disps = a->cnts + pof2;
    for (int i = 0; i < pof2; i++)
        a->cnts[i] = a->count / (size_t)pof2 + ((size_t)i < a->count % (size_t)pof2);
    for (int i = 0; i < pof2; i++)
        a->disps[i] = i ? a->disps[i - 1] + a->cnts[i - 1] : 0;
    return 0;
}

/* Reduce-scatter by recursive halving: afterwards block a->send_idx of
 * buf holds the reduction of that block over all processes. */
static int tide_allred_halving(tide_allred_t *a)
{
    int pof2 = a->pof2, nr = a->newrank, rc = 0, recv_idx = 0;
    a->send_idx = 0, a->last_idx = pof2;
    for (int mask = 1; mask < pof2 && !rc; mask <<= 1) {
        int nd = nr ^ mask, dst = tide_allred_real(a, nd), half = pof2 / (mask * 2);
        if (nr < nd) {
            a->send_idx = recv_idx + half;
            rc = tide_allred_step(a, a->cnts, a->disps, dst, a->send_idx, a->last_idx, recv_idx,
                                  a->send_idx, a->tmp, 1);
        } else {
            recv_idx = a->send_idx + half;
            rc = tide_allred_step(a, a->cnts, a->disps, dst, a->send_idx, recv_idx, recv_idx,
                                  a->last_idx, a->tmp, 1);
        }
        a->send_idx = recv_idx;
        if (mask * 2 < pof2)
            a->last_idx = recv_idx + pof2 / (mask * 2);
    }
    return rc;
}

static int tide_allred_rabenseifner(tide_allred_t *a)
{
    int pof2 = a->pof2, nr = a->newrank, rc = tide_allred_blocks(a);
    if (!rc)
        rc = tide_allred_halving(a);
    int send_idx = a->send_idx, last_idx = a->last_idx, recv_idx;
    for (int mask = pof2 / 2; mask > 0 && !rc; mask >>= 1) { /* allgather: recursive doubling */
        int nd = nr ^ mask, dst = tide_allred_real(a, nd), half = pof2 / (mask * 2);
        if (nr < nd) {
            if (mask != pof2 / 2)
                last_idx += half;
            recv_idx = send_idx + half;
            rc = tide_allred_step(a, a->cnts, a->disps, dst, send_idx, recv_idx, recv_idx, last_idx,
                                  a->buf, 0);
        } else {
            recv_idx = send_idx - half;
            rc = tide_allred_step(a, a->cnts, a->disps, dst, send_idx, last_idx, recv_idx, send_idx,
                                  a->buf, 0);
            send_idx = recv_idx;
        }
    }
    free(a->cnts);
    return rc;
}

/* Fold the first 2*rem ranks (before) or hand the result back (after). */
static int tide_allred_fold(tide_allred_t *a, int after)
{
    int rank = a->c->rank;
    size_t bytes = a->count * a->r->esize;
    if (rank >= 2 * a->rem)
        return 0;
    if (after)
        return rank % 2
                   ? tide_coll_send(a->c, a->buf, bytes, rank - 1, TIDE_COLL_TAG_ALLREDUCE)
                   : tide_coll_recv(a->c, a->buf, bytes, rank + 1, TIDE_COLL_TAG_ALLREDUCE, NULL);
    if (rank % 2 == 0)
        return tide_coll_send(a->c, a->buf, bytes, rank + 1, TIDE_COLL_TAG_ALLREDUCE);
    int rc = tide_coll_recv(a->c, a->tmp, bytes, rank - 1, TIDE_COLL_TAG_ALLREDUCE, NULL);
    if (!rc)
        tide_coll_apply(a->r, a->tmp, a->buf, a->count); /* lower rank first */
    return rc;
}

int tide_coll_allreduce(const tide_coll_comm_t *c, const void *sbuf, void *rbuf, size_t count,
                        const tide_coll_red_t *r)
{
    size_t bytes = count * r->esize;
    if (sbuf != rbuf && bytes)
        memcpy(rbuf, sbuf, bytes);
    if (c->size == 1 || count == 0)
        return 0;
    tide_allred_t a = {.c = c, .r = r, .buf = rbuf, .count = count};
    a.pof2 = tide_coll_pof2(c->size);
    a.rem = c->size - a.pof2;
    a.newrank = c->rank < 2 * a.rem ? (c->rank % 2 ? c->rank / 2 : -1) : c->rank - a.rem;
    if (!(a.tmp = malloc(bytes)))
        return -ENOMEM;
    int rc = tide_allred_fold(&a, 0);
    if (!rc && a.newrank >= 0) {
        int long_ok = r->commute && count >= (size_t)a.pof2 &&
                      bytes >= (size_t)tide_param_int(&tide_param_coll_allreduce_long);
        rc = long_ok ? tide_allred_rabenseifner(&a) : tide_allred_recdbl(&a);
    }
    if (!rc)
        rc = tide_allred_fold(&a, 1);
    free(a.tmp);
    return rc;
}

/* Which block survivor nr holds after recursive halving: the lowest bit of
 * nr picked the half first, so the index is nr's bits reversed. */
static int tide_allred_bitrev(int nr, int pof2)
{
    int r = 0;
    for (int m = 1; m < pof2; m <<= 1, nr >>= 1)
        r = (r << 1) | (nr & 1);
    return r;
}

/* The root collects the pof2 reduced blocks (posted all at once). */
static int tide_allred_gather(tide_allred_t *a, void *rbuf, int root)
{
    const tide_coll_comm_t *c = a->c;
    size_t es = a->r->esize;
    if (c->rank != root) {
        int b = a->send_idx;
        return a->newrank < 0 || !a->cnts[b]
                   ? 0
                   : tide_coll_send(c, a->buf + a->disps[b] * es, a->cnts[b] * es, root,
                                    TIDE_COLL_TAG_REDUCE);
    }
    tide_p2p_req_t **reqs = calloc((size_t)a->pof2, sizeof(*reqs));
    if (!reqs)
        return -ENOMEM;
    int rc = 0;
    for (int nr = 0; nr < a->pof2 && !rc; nr++) {
        int b = tide_allred_bitrev(nr, a->pof2), from = tide_allred_real(a, nr);
        char *dst = (char *)rbuf + a->disps[b] * es;
        if (!a->cnts[b])
            continue;
        if (from == c->rank)
            memcpy(dst, a->buf + a->disps[b] * es, a->cnts[b] * es);
        else
            rc = tide_coll_irecv(c, dst, a->cnts[b] * es, from, TIDE_COLL_TAG_REDUCE, &reqs[nr]);
    }
    int w = tide_coll_waitall(reqs, a->pof2);
    free(reqs);
    return rc ? rc : w;
}

int tide_coll_reduce_rsg(const tide_coll_comm_t *c, const void *sbuf, void *rbuf, size_t count,
                         const tide_coll_red_t *r, int root)
{
    size_t bytes = count * r->esize;
    tide_allred_t a = {.c = c, .r = r, .count = count};
    a.pof2 = tide_coll_pof2(c->size);
    a.rem = c->size - a.pof2;
    a.newrank = c->rank < 2 * a.rem ? (c->rank % 2 ? c->rank / 2 : -1) : c->rank - a.rem;
    if (!(a.buf = malloc(2 * bytes)))
        return -ENOMEM;
    a.tmp = a.buf + bytes;
    memcpy(a.buf, sbuf, bytes);
    int rc = tide_allred_fold(&a, 0);
    if (!rc)
        rc = tide_allred_blocks(&a);
    if (!rc && a.newrank >= 0)
        rc = tide_allred_halving(&a);
    if (!rc)
        rc = tide_allred_gather(&a, rbuf, root);
    free(a.cnts);
    free(a.buf);
    return rc;
}
