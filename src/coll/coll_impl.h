/* Helpers shared by the collective algorithms in src/coll: blocking
 * send/receive/exchange over tide_p2p_* on the collective context, the
 * tags that tell collectives apart, and the tunables choosing algorithms.
 * All receives name their source, so MPI's non-overtaking order keeps
 * consecutive collectives on one communicator apart. */
#ifndef TIDE_COLL_COLL_IMPL_H
#define TIDE_COLL_COLL_IMPL_H

#include "coll/coll.h"
#include "util/param.h"

#include <stddef.h>

/* Tags below TIDE_COMM_TAG_BASE (src/mpi/mpi_impl.h); 0 is the barrier. */
enum {
    TIDE_COLL_TAG_BCAST = 1,
    TIDE_COLL_TAG_GATHER = 2,
    TIDE_COLL_TAG_SCATTER = 3,
    TIDE_COLL_TAG_ALLGATHER = 4,
    TIDE_COLL_TAG_ALLTOALL = 5,
    TIDE_COLL_TAG_REDUCE = 6,
    TIDE_COLL_TAG_ALLREDUCE = 7,
    TIDE_COLL_TAG_RSCATTER = 8,
    TIDE_COLL_TAG_SCAN = 9,
};

TIDE_PARAM_EXTERN(coll_bcast_long);
TIDE_PARAM_EXTERN(coll_allreduce_long);
TIDE_PARAM_EXTERN(coll_allgather_long);
TIDE_PARAM_EXTERN(coll_alltoall_short);
TIDE_PARAM_EXTERN(coll_gather_short);
TIDE_PARAM_EXTERN(coll_reduce_long);

static inline int tide_coll_proc(const tide_coll_comm_t *c, int r)
{
    return c->procs ? c->procs[r] : (c->size == 1 ? c->self_proc : r);
}

/* Blocking point-to-point on the collective context; 0, -errno or an MPI
 * error class.  `got` (may be NULL) receives the bytes delivered. */
int tide_coll_send(const tide_coll_comm_t *c, const void *buf, size_t bytes, int dst, int tag);
int tide_coll_recv(const tide_coll_comm_t *c, void *buf, size_t cap, int src, int tag, size_t *got);
int tide_coll_sendrecv(const tide_coll_comm_t *c, const void *sbuf, size_t sbytes, int dst,
                       void *rbuf, size_t cap, int src, int tag, size_t *got);

/* Nonblocking pieces for algorithms that post many operations at once. */
struct tide_p2p_req;
int tide_coll_isend(const tide_coll_comm_t *c, const void *buf, size_t bytes, int dst, int tag,
                    struct tide_p2p_req **out);
int tide_coll_irecv(const tide_coll_comm_t *c, void *buf, size_t cap, int src, int tag,
                    struct tide_p2p_req **out);
/* Wait for and free n requests (NULL entries skipped); first error. */
int tide_coll_waitall(struct tide_p2p_req **reqs, int n);

/* Long commutative MPI_Reduce: Rabenseifner's reduce-scatter + gather
 * (allreduce.c). */
int tide_coll_reduce_rsg(const tide_coll_comm_t *c, const void *sbuf, void *rbuf, size_t count,
                         const tide_coll_red_t *r, int root);

/* Largest power of two <= n (n >= 1). */
static inline int tide_coll_pof2(int n)
{
    int p = 1;
    while (p * 2 <= n)
        p *= 2;
    return p;
}

#endif
