/* MPI_Bcast over point-to-point.  Small messages (or two processes) go
 * down a binomial tree rooted at `root`: ceil(log2 p) rounds, the latency
 * optimum.  Large ones use van de Geijn's scatter + allgather: a binomial
 * scatter cuts the message into p pieces, then a ring allgather circulates
 * them, so each process sends and receives about 2n bytes instead of
 * n log p (Barnett et al. 1994; MPICH's bcast_scatter_ring_allgather). */
#include "config.h"
#include "coll/coll_impl.h"

static int tide_bcast_binomial(const tide_coll_comm_t *c, void *buf, size_t bytes, int root)
{
    int p = c->size, rel = (c->rank - root + p) % p, mask = 1, rc;
    while (mask < p) { /* receive from the parent: clear our lowest set bit */
        if (rel & mask) {
            int src = (c->rank - mask + p) % p;
            rc = tide_coll_recv(c, buf, bytes, src, TIDE_COLL_TAG_BCAST, NULL);
            if (rc)
                return rc;
            break;
        }
        mask <<= 1;
    }
    for (mask >>= 1; mask > 0; mask >>= 1) { /* then feed our subtree */
        if (rel + mask < p) {
            rc = tide_coll_send(c, buf, bytes, (c->rank + mask) % p, TIDE_COLL_TAG_BCAST);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* Bytes of piece j when `bytes` is cut into pieces of `piece`. */
static size_t tide_bcast_piece(size_t bytes, size_t piece, int j)
{
    size_t off = piece * (size_t)j;
    return off >= bytes ? 0 : (bytes - off < piece ? bytes - off : piece);
}

/* Binomial scatter: afterwards relative rank r holds piece r (and the
 * pieces of its subtree it forwarded). */
static int tide_bcast_scatter(const tide_coll_comm_t *c, char *buf, size_t bytes, size_t piece,
                              int root)
{
    int p = c->size, rel = (c->rank - root + p) % p, mask = 1, rc;
    size_t have = rel == 0 ? bytes : 0;
    while (mask < p) {
        if (rel & mask) {
            size_t off = piece * (size_t)rel, got = 0;
            if (off < bytes) {
                rc = tide_coll_recv(c, buf + off, bytes - off, (c->rank - mask + p) % p,
                                    TIDE_COLL_TAG_BCAST, &got);
                if (rc)
                    return rc;
            }
            have = got;
            break;
        }
        mask <<= 1;
    }
    for (mask >>= 1; mask > 0; mask >>= 1) {
        if (rel + mask >= p)
            continue;
        size_t keep = piece * (size_t)mask;
        if (have > keep) {
            size_t off = piece * (size_t)(rel + mask);
            rc = tide_coll_send(c, buf + off, have - keep, (c->rank + mask) % p,
                                TIDE_COLL_TAG_BCAST);
            if (rc)
                return rc;
            have = keep;
        }
    }
    return 0;
}

static int tide_bcast_scatter_ring(const tide_coll_comm_t *c, void *vbuf, size_t bytes, int root)
{
    int p = c->size;
    char *buf = vbuf;
    size_t piece = (bytes + (size_t)p - 1) / (size_t)p;
    int rc = tide_bcast_scatter(c, buf, bytes, piece, root);
    if (rc)
        return rc;
    int left = (c->rank - 1 + p) % p, right = (c->rank + 1) % p;
    int j = c->rank, jn = left;
    for (int i = 1; i < p; i++) {
        int sj = (j - root + p) % p, rj = (jn - root + p) % p;
        rc = tide_coll_sendrecv(c, buf + piece * (size_t)sj, tide_bcast_piece(bytes, piece, sj),
                                right, buf + piece * (size_t)rj, tide_bcast_piece(bytes, piece, rj),
                                left, TIDE_COLL_TAG_BCAST, NULL);
        if (rc)
            return rc;
        j = jn;
        jn = (jn - 1 + p) % p;
    }
    return 0;
}

int tide_coll_bcast(const tide_coll_comm_t *c, void *buf, size_t bytes, int root)
{
    if (c->size == 1 || bytes == 0)
        return 0;
    if (c->size >= 3 && bytes >= (size_t)tide_param_int(&tide_param_coll_bcast_long))
        return tide_bcast_scatter_ring(c, buf, bytes, root);
    return tide_bcast_binomial(c, buf, bytes, root);
}
