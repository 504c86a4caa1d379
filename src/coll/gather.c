/* MPI_Gather/Scatter and their v variants over point-to-point.  Regular
 * gathers and scatters of small totals use a binomial tree (ceil(log2 p)
 * rounds; inner nodes forward their whole subtree's blocks, kept in
 * relative-rank order in a temporary buffer).  Large totals and the v
 * variants talk to the root directly, all messages posted at once so the
 * root's link stays busy (MPICH does the same). */
#include "config.h"
#include "coll/coll_impl.h"
#include "p2p/p2p.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int tide_gather_use_tree(const tide_coll_comm_t *c, size_t blk)
{
    return blk * (size_t)c->size < (size_t)tide_param_int(&tide_param_coll_gather_short);
}

/* Root posts a receive per peer, everyone else sends: the shared shape of
 * the linear gather(v) (recv = 1) and scatter(v) (recv = 0). */
static int tide_coll_linear(const tide_coll_comm_t *c, char *rootbuf, const size_t *bytes,
                            const size_t *displs, int root, int recv, int tag)
{
    int p = c->size;
    tide_p2p_req_t **reqs = calloc((size_t)p, sizeof(*reqs));
    if (!reqs)
        return -ENOMEM;
    int rc = 0;
    for (int i = 0; i < p && !rc; i++) {
        if (i == root || bytes[i] == 0) /* both sides skip empty blocks */
            continue;
        char *b = rootbuf + displs[i];
        rc = recv ? tide_coll_irecv(c, b, bytes[i], i, tag, &reqs[i])
                  : tide_coll_isend(c, b, bytes[i], i, tag, &reqs[i]);
    }
    int w = tide_coll_waitall(reqs, p);
    free(reqs);
    return rc ? rc : w;
}

static int tide_gather_binomial(const tide_coll_comm_t *c, const void *sbuf, void *rbuf, size_t blk,
                                int root)
{
    int p = c->size, rel = (c->rank - root + p) % p, rc = 0;
    char *tmp = malloc(blk * (size_t)p);
    if (!tmp)
        return -ENOMEM;
    memcpy(tmp, sbuf ? sbuf : (char *)rbuf + blk * (size_t)root, blk);
    size_t have = 1;
    for (int mask = 1; mask < p && !rc; mask <<= 1) {
        if (rel & mask) {
            rc = tide_coll_send(c, tmp, have * blk, (c->rank - mask + p) % p, TIDE_COLL_TAG_GATHER);
            break;
        }
        if (rel + mask < p) {
            size_t n = (size_t)(p - rel - mask < mask ? p - rel - mask : mask);
            rc = tide_coll_recv(c, tmp + (size_t)mask * blk, n * blk, (c->rank + mask) % p,
                                TIDE_COLL_TAG_GATHER, NULL);
            have += n;
        }
    }
    if (!rc && rel == 0) /* relative order back to rank order */
        for (int i = 0; i < p; i++)
            memcpy((char *)rbuf + blk * (size_t)((i + root) % p), tmp + blk * (size_t)i, blk);
    free(tmp);
    return rc;
}

int tide_coll_gather(const tide_coll_comm_t *c, const void *sbuf, void *rbuf, size_t blk, int root)
{
    int p = c->size;
    if (blk == 0)
        return 0;
    if (p > 1 && tide_gather_use_tree(c, blk))
        return tide_gather_binomial(c, sbuf, rbuf, blk, root);
    if (c->rank != root)
        return tide_coll_send(c, sbuf, blk, root, TIDE_COLL_TAG_GATHER);
    if (sbuf)
        memcpy((char *)rbuf + blk * (size_t)root, sbuf, blk);
    size_t *v = malloc(2 * (size_t)p * sizeof(*v));
    if (!v)
        return -ENOMEM;
    for (int i = 0; i < p; i++)
        v[i] = blk, v[p + i] = blk * (size_t)i;
    int rc = tide_coll_linear(c, rbuf, v, v + p, root, 1, TIDE_COLL_TAG_GATHER);
    free(v);
    return rc;
}

static int tide_scatter_binomial(const tide_coll_comm_t *c, const void *sbuf, void *rbuf,
                                 size_t blk, int root)
{
    int p = c->size, rel = (c->rank - root + p) % p, rc = 0, mask = 1;
    char *tmp = malloc(blk * (size_t)p);
    if (!tmp)
        return -ENOMEM;
    if (rel == 0) /* rank order to relative order */
        for (int i = 0; i < p; i++)
            memcpy(tmp + blk * (size_t)i, (const char *)sbuf + blk * (size_t)((i + root) % p), blk);
    for (; mask < p; mask <<= 1) {
        if (rel & mask) {
            size_t n = (size_t)(p - rel < mask ? p - rel : mask);
            rc = tide_coll_recv(c, tmp, n * blk, (c->rank - mask + p) % p, TIDE_COLL_TAG_SCATTER,
                                NULL);
            break;
        }
    }
    for (mask >>= 1; mask > 0 && !rc; mask >>= 1) {
        if (rel + mask < p) {
            size_t n = (size_t)(p - rel - mask < mask ? p - rel - mask : mask);
            rc = tide_coll_send(c, tmp + (size_t)mask * blk, n * blk, (c->rank + mask) % p,
                                TIDE_COLL_TAG_SCATTER);
        }
    }
    if (!rc && rbuf)
        memcpy(rbuf, tmp, blk);
    free(tmp);
    return rc;
}

int tide_coll_scatter(const tide_coll_comm_t *c, const void *sbuf, void *rbuf, size_t blk, int root)
{
    int p = c->size;
    if (blk == 0)
        return 0;
    if (p > 1 && tide_gather_use_tree(c, blk))
        return tide_scatter_binomial(c, sbuf, rbuf, blk, root);
    if (c->rank != root)
        return tide_coll_recv(c, rbuf, blk, root, TIDE_COLL_TAG_SCATTER, NULL);
    if (rbuf)
        memcpy(rbuf, (const char *)sbuf + blk * (size_t)root, blk);
    size_t *v = malloc(2 * (size_t)p * sizeof(*v));
    if (!v)
        return -ENOMEM;
    for (int i = 0; i < p; i++)
        v[i] = blk, v[p + i] = blk * (size_t)i;
    int rc = tide_coll_linear(c, (char *)sbuf, v, v + p, root, 0, TIDE_COLL_TAG_SCATTER);
    free(v);
    return rc;
}

int tide_coll_gatherv(const tide_coll_comm_t *c, const void *sbuf, size_t own, void *rbuf,
                      const size_t *bytes, const size_t *displs, int root)
{
    if (c->rank != root)
        return own ? tide_coll_send(c, sbuf, own, root, TIDE_COLL_TAG_GATHER) : 0;
    if (sbuf && bytes[root])
        memcpy((char *)rbuf + displs[root], sbuf, bytes[root]);
    return tide_coll_linear(c, rbuf, bytes, displs, root, 1, TIDE_COLL_TAG_GATHER);
}

int tide_coll_scatterv(const tide_coll_comm_t *c, const void *sbuf, const size_t *bytes,
                       const size_t *displs, void *rbuf, size_t own, int root)
{
    if (c->rank != root)
        return own ? tide_coll_recv(c, rbuf, own, root, TIDE_COLL_TAG_SCATTER, NULL) : 0;
    if (rbuf && bytes[root])
        memcpy(rbuf, (const char *)sbuf + displs[root], bytes[root]);
    return tide_coll_linear(c, (char *)sbuf, bytes, displs, root, 0, TIDE_COLL_TAG_SCATTER);
}
