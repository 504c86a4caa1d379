/* Nonblocking collective algorithms: each function appends the steps of
 * one collective to a schedule (sched.h), rounds separated by fences.  The
 * shapes follow the blocking algorithms, simplified where a schedule makes
 * it natural to post many transfers at once: dissemination barrier,
 * binomial broadcast and reduction (in rank order, so non-commutative
 * operations are fine), direct gather/scatter(v) and all-to-all(v), ring
 * allgather(v), allreduce by recursive doubling (short vectors) or reduce
 * + broadcast, reduce-scatter as reduce +
 * scatterv, recursive-doubling scan.  Temporaries live as long as the
 * schedule.  Returns 0 or -ENOMEM. */
#include "config.h"
#include "coll/coll_impl.h"
#include "coll/sched.h"

#include <errno.h>
#include <string.h>

/* Chain step calls, stopping at the first error. */
#define TRY(x)          \
    do {                \
        int rc_ = (x);  \
        if (rc_)        \
            return rc_; \
    } while (0)

int tide_nbc_barrier(tide_sched_t *s)
{
    const tide_coll_comm_t *c = tide_sched_comm(s);
    for (int dist = 1; dist < c->size; dist <<= 1) {
        TRY(tide_sched_recv(s, NULL, 0, (c->rank - dist + c->size) % c->size));
        TRY(tide_sched_send(s, NULL, 0, (c->rank + dist) % c->size));
        TRY(tide_sched_fence(s));
    }
    return 0;
}

int tide_nbc_bcast(tide_sched_t *s, void *buf, size_t bytes, int root)
{
    const tide_coll_comm_t *c = tide_sched_comm(s);
    int p = c->size, rel = (c->rank - root + p) % p, mask = 1;
    if (p == 1 || bytes == 0)
        return 0;
    while (mask < p) { /* the parent: clear our lowest set bit */
        if (rel & mask) {
            TRY(tide_sched_recv(s, buf, bytes, (c->rank - mask + p) % p));
            TRY(tide_sched_fence(s));
            break;
        }
        mask <<= 1;
    }
    for (mask >>= 1; mask > 0; mask >>= 1)
        if (rel + mask < p)
            TRY(tide_sched_send(s, buf, bytes, (c->rank + mask) % p));
    return tide_sched_fence(s);
}

int tide_nbc_gatherv(tide_sched_t *s, const void *sbuf, size_t own, void *rbuf, const size_t *bytes,
                     const size_t *displs, int root)
{
    const tide_coll_comm_t *c = tide_sched_comm(s);
    if (c->rank != root)
        return own ? tide_sched_send(s, sbuf, own, root) : 0;
    if (sbuf)
        TRY(tide_sched_copy(s, sbuf, (char *)rbuf + displs[root], bytes[root]));
    for (int i = 0; i < c->size; i++)
        if (i != root && bytes[i])
            TRY(tide_sched_recv(s, (char *)rbuf + displs[i], bytes[i], i));
    return tide_sched_fence(s);
}

int tide_nbc_scatterv(tide_sched_t *s, const void *sbuf, const size_t *bytes, const size_t *displs,
                      void *rbuf, size_t own, int root)
{
    const tide_coll_comm_t *c = tide_sched_comm(s);
    if (c->rank != root)
        return own ? tide_sched_recv(s, rbuf, own, root) : 0;
    if (rbuf)
        TRY(tide_sched_copy(s, (const char *)sbuf + displs[root], rbuf, bytes[root]));
    for (int i = 0; i < c->size; i++)
        if (i != root && bytes[i])
            TRY(tide_sched_send(s, (const char *)sbuf + displs[i], bytes[i], i));
    return tide_sched_fence(s);
}

int tide_nbc_allgatherv(tide_sched_t *s, void *vrbuf, const size_t *bytes, const size_t *displs)
{
    const tide_coll_comm_t *c = tide_sched_comm(s);
    int p = c->size, left = (c->rank - 1 + p) % p, right = (c->rank + 1) % p;
    char *rbuf = vrbuf;
    for (int i = 0; i < p - 1; i++) { /* ring: pass on what came last */
        int sb = (c->rank - i + p) % p, rb = (c->rank - i - 1 + p) % p;
        TRY(tide_sched_recv(s, rbuf + displs[rb], bytes[rb], left));
        TRY(tide_sched_send(s, rbuf + displs[sb], bytes[sb], right));
        TRY(tide_sched_fence(s));
    }
    return 0;
}

int tide_nbc_alltoallv(tide_sched_t *s, const void *sbuf, const size_t *sbytes,
                       const size_t *sdispls, void *rbuf, const size_t *rbytes,
                       const size_t *rdispls)
{
    const tide_coll_comm_t *c = tide_sched_comm(s);
    int p = c->size, me = c->rank;
    if (!sbuf) { /* in place: send from a copy taken when the schedule starts */
        size_t extent = 0;
        for (int i = 0; i < p; i++)
            if (rbytes[i] && rdispls[i] + rbytes[i] > extent)
                extent = rdispls[i] + rbytes[i];
        char *tmp = tide_sched_alloc(s, extent);
        if (!tmp)
            return -ENOMEM;
        TRY(tide_sched_copy(s, rbuf, tmp, extent));
        sbuf = tmp, sbytes = rbytes, sdispls = rdispls;
    }
    TRY(tide_sched_copy(s, (const char *)sbuf + sdispls[me], (char *)rbuf + rdispls[me],
                        rbytes[me]));
    for (int i = 1; i < p; i++) { /* everything at once, partners staggered */
        int src = (me - i + p) % p;
        TRY(tide_sched_recv(s, (char *)rbuf + rdispls[src], rbytes[src], src));
    }
    for (int i = 1; i < p; i++) {
        int dst = (me + i) % p;
        TRY(tide_sched_send(s, (const char *)sbuf + sdispls[dst], sbytes[dst], dst));
    }
    return tide_sched_fence(s);
}

/* Binomial reduction towards `lroot` in rank order: the partial result of
 * our subtree ends in *acc_out (a schedule temporary). */
static int tide_nbc_reduce_tree(tide_sched_t *s, const void *sbuf, size_t count, int lroot,
                                char **acc_out)
{
    const tide_coll_comm_t *c = tide_sched_comm(s);
    size_t bytes = count * tide_sched_red(s)->esize;
    int p = c->size, rel = (c->rank - lroot + p) % p, mask;
    char *acc = tide_sched_alloc(s, bytes);
    if (!acc)
        return -ENOMEM;
    TRY(tide_sched_copy(s, sbuf, acc, bytes));
    char *kid[32];
    int nkid = 0;
    for (mask = 1; mask < p && !(rel & mask); mask <<= 1) /* children: all at once */
        if (rel + mask < p) {
            if (!(kid[nkid] = tide_sched_alloc(s, bytes)))
                return -ENOMEM;
            TRY(tide_sched_recv(s, kid[nkid++], bytes, (rel + mask + lroot) % p));
        }
    TRY(tide_sched_fence(s));
    for (int k = 0; k < nkid; k++) { /* ours covers the lower ranks: kid = acc op kid */
        TRY(tide_sched_reduce(s, acc, kid[k], count));
        acc = kid[k];
    }
    if (mask < p) {
        TRY(tide_sched_send(s, acc, bytes, (rel - mask + lroot) % p));
        TRY(tide_sched_fence(s));
    }
    *acc_out = acc;
    return 0;
}

int tide_nbc_reduce(tide_sched_t *s, const void *sbuf, void *rbuf, size_t count, int root)
{
    const tide_coll_comm_t *c = tide_sched_comm(s);
    const tide_coll_red_t *r = tide_sched_red(s);
    size_t bytes = count * r->esize;
    int lroot = r->commute ? root : 0;
    char *acc;
    if (count == 0)
        return 0;
    TRY(tide_nbc_reduce_tree(s, sbuf, count, lroot, &acc));
    if (lroot == root)
        return c->rank == root ? tide_sched_copy(s, acc, rbuf, bytes) : 0;
    if (c->rank == lroot) /* non-commutative, root != 0: rank 0 forwards */
        TRY(tide_sched_send(s, acc, bytes, root));
    else if (c->rank == root)
        TRY(tide_sched_recv(s, rbuf, bytes, lroot));
    return tide_sched_fence(s);
}

/* Real rank of survivor nr after folding the first 2 * rem ranks. */
static int tide_nbc_real(int nr, int rem)
{
    return nr < rem ? nr * 2 + 1 : nr + rem;
}

/* Recursive doubling (as the blocking short Allreduce): the even ranks
 * below 2 * rem hand their vector to the odd one above and get the result
 * back at the end; operands are combined in rank order. */
static int tide_nbc_allreduce_recdbl(tide_sched_t *s, char *buf, size_t count)
{
    const tide_coll_comm_t *c = tide_sched_comm(s);
    const tide_coll_red_t *r = tide_sched_red(s);
    size_t bytes = count * r->esize;
    int pof2 = tide_coll_pof2(c->size), rem = c->size - pof2, me = c->rank;
    int nr = me < 2 * rem ? (me % 2 ? me / 2 : -1) : me - rem;
    char *tmp = tide_sched_alloc(s, bytes);
    if (!tmp)
        return -ENOMEM;
    if (me < 2 * rem && me % 2 == 0) { /* sit out */
        TRY(tide_sched_send(s, buf, bytes, me + 1));
        TRY(tide_sched_fence(s));
        TRY(tide_sched_recv(s, buf, bytes, me + 1));
        return tide_sched_fence(s);
    }
    if (me < 2 * rem) { /* lower rank first: buf = theirs op ours */
        TRY(tide_sched_recv(s, tmp, bytes, me - 1));
        TRY(tide_sched_fence(s));
        TRY(tide_sched_reduce(s, tmp, buf, count));
    }
    for (int mask = 1; mask < pof2; mask <<= 1) {
        int dst = tide_nbc_real(nr ^ mask, rem);
        TRY(tide_sched_recv(s, tmp, bytes, dst));
        TRY(tide_sched_send(s, buf, bytes, dst));
        TRY(tide_sched_fence(s));
        if (r->commute || dst < me) {
            TRY(tide_sched_reduce(s, tmp, buf, count));
        } else { /* ours op theirs */
            TRY(tide_sched_reduce(s, buf, tmp, count));
            TRY(tide_sched_copy(s, tmp, buf, bytes));
        }
    }
    if (me < 2 * rem)
        TRY(tide_sched_send(s, buf, bytes, me - 1));
    return tide_sched_fence(s);
}

int tide_nbc_allreduce(tide_sched_t *s, const void *sbuf, void *rbuf, size_t count)
{
    size_t bytes = count * tide_sched_red(s)->esize;
    if (count == 0)
        return 0;
    if (bytes < (size_t)tide_param_int(&tide_param_coll_allreduce_long)) {
        TRY(tide_sched_copy(s, sbuf, rbuf, bytes));
        return tide_nbc_allreduce_recdbl(s, rbuf, count);
    }
    TRY(tide_nbc_reduce(s, sbuf, rbuf, count, 0));
    TRY(tide_sched_fence(s));
    return tide_nbc_bcast(s, rbuf, bytes, 0);
}

int tide_nbc_reduce_scatter(tide_sched_t *s, const void *sbuf, void *rbuf, const size_t *counts)
{
    const tide_coll_comm_t *c = tide_sched_comm(s);
    size_t es = tide_sched_red(s)->esize, total = 0;
    int p = c->size;
    size_t *v = tide_sched_alloc(s, 2 * (size_t)p * sizeof(*v));
    if (!v)
        return -ENOMEM;
    for (int i = 0; i < p; i++)
        v[i] = counts[i] * es, v[p + i] = total * es, total += counts[i];
    if (total == 0)
        return 0;
    char *all = c->rank == 0 ? tide_sched_alloc(s, total * es) : NULL;
    if (c->rank == 0 && !all)
        return -ENOMEM;
    TRY(tide_nbc_reduce(s, sbuf ? sbuf : rbuf, all, total, 0));
    TRY(tide_sched_fence(s));
    return tide_nbc_scatterv(s, all, v, v + p, rbuf, v[c->rank], 0);
}

int tide_nbc_scan(tide_sched_t *s, const void *sbuf, void *rbuf, size_t count, int exclusive)
{
    const tide_coll_comm_t *c = tide_sched_comm(s);
    const tide_coll_red_t *r = tide_sched_red(s);
    size_t bytes = count * r->esize;
    int have = !exclusive; /* rbuf holds a prefix yet */
    if (count == 0)
        return 0;
    char *part = tide_sched_alloc(s, 2 * bytes), *tmp = part + bytes;
    if (!part)
        return -ENOMEM;
    TRY(tide_sched_copy(s, sbuf, part, bytes));
    if (!exclusive)
        TRY(tide_sched_copy(s, sbuf, rbuf, bytes));
    for (int mask = 1; mask < c->size; mask <<= 1) {
        int peer = c->rank ^ mask;
        if (peer >= c->size)
            continue;
        TRY(tide_sched_recv(s, tmp, bytes, peer));
        TRY(tide_sched_send(s, part, bytes, peer));
        TRY(tide_sched_fence(s));
        if (peer < c->rank) { /* theirs is below ours in rank order */
            if (have)
                TRY(tide_sched_reduce(s, tmp, rbuf, count));
            else
                TRY(tide_sched_copy(s, tmp, rbuf, bytes));
            have = 1;
            TRY(tide_sched_reduce(s, tmp, part, count));
        } else if (r->commute) {
            TRY(tide_sched_reduce(s, tmp, part, count));
        } else { /* part = part op tmp */
            TRY(tide_sched_reduce(s, part, tmp, count));
            TRY(tide_sched_copy(s, tmp, part, bytes));
        }
    }
    return 0;
}
