/* Blocking and batched point-to-point for the collective algorithms: each
 * operation goes straight to tide_p2p_* on the collective context and the
 * caller spins tide_p2p_progress() until its requests are done, as the
 * blocking MPI calls do.  Also the algorithm-selection tunables. */
#include "config.h"
#include "coll/coll_impl.h"
#include "coll/sched.h"
#include "p2p/p2p.h"

#include <errno.h>

TIDE_PARAM_DEFINE(coll_bcast_long, TIDE_PARAM_SIZE, "COLL_BCAST_LONG", "64k",
                  "MPI_Bcast: messages of at least this many bytes (and 3+ processes) use "
                  "scatter + ring allgather (van de Geijn) instead of a binomial tree");
TIDE_PARAM_DEFINE(coll_allreduce_long, TIDE_PARAM_SIZE, "COLL_ALLREDUCE_LONG", "16k",
                  "MPI_Allreduce: commutative reductions of at least this many bytes use "
                  "reduce-scatter + allgather (Rabenseifner) instead of recursive doubling");
TIDE_PARAM_DEFINE(coll_reduce_long, TIDE_PARAM_SIZE, "COLL_REDUCE_LONG", "64k",
                  "MPI_Reduce: commutative reductions of at least this many bytes use "
                  "reduce-scatter + gather (Rabenseifner) instead of a binomial tree");
TIDE_PARAM_DEFINE(coll_allgather_long, TIDE_PARAM_SIZE, "COLL_ALLGATHER_LONG", "64k",
                  "MPI_Allgather: totals of at least this many bytes use a ring; smaller ones "
                  "recursive doubling (power-of-two sizes) or Bruck");
TIDE_PARAM_DEFINE(coll_alltoall_short, TIDE_PARAM_SIZE, "COLL_ALLTOALL_SHORT", "256",
                  "MPI_Alltoall: blocks of at most this many bytes use Bruck's algorithm "
                  "(log p rounds), larger ones pairwise exchange");
TIDE_PARAM_DEFINE(coll_gather_short, TIDE_PARAM_SIZE, "COLL_GATHER_SHORT", "32k",
                  "MPI_Gather/MPI_Scatter: totals below this many bytes use a binomial tree, "
                  "larger ones direct messages to/from the root");

int tide_coll_isend(const tide_coll_comm_t *c, const void *buf, size_t bytes, int dst, int tag,
                    tide_p2p_req_t **out)
{
    return tide_p2p_isend(buf, bytes, tide_coll_proc(c, dst), dst, c->rank, c->ctx, tag,
                          TIDE_P2P_MODE_STANDARD, out);
}

int tide_coll_irecv(const tide_coll_comm_t *c, void *buf, size_t cap, int src, int tag,
                    tide_p2p_req_t **out)
{
    return tide_p2p_irecv(buf, cap, src, c->ctx, tag, out);
}

/* Progress until r is done (nonblocking collectives in flight advance
 * too), sleeping on the wire when idle as the blocking MPI calls do. */
static void tide_coll_wait(tide_p2p_req_t *r)
{
    tide_p2p_idle_t idle = TIDE_P2P_IDLE_INIT;
    while (!tide_p2p_req_done(r))
        tide_p2p_idle(&idle, tide_coll_progress());
}

int tide_coll_waitall(tide_p2p_req_t **reqs, int n)
{
    int err = 0;
    for (int i = 0; i < n; i++) {
        if (!reqs[i])
            continue;
        tide_coll_wait(reqs[i]);
        if (!err)
            err = reqs[i]->status.error;
        tide_p2p_req_free(reqs[i]);
        reqs[i] = NULL;
    }
    return err;
}

int tide_coll_sendrecv(const tide_coll_comm_t *c, const void *sbuf, size_t sbytes, int dst,
                       void *rbuf, size_t cap, int src, int tag, size_t *got)
{
    tide_p2p_req_t *r[2] = {NULL, NULL};
    int rc = 0;
    if (src >= 0)
        rc = tide_coll_irecv(c, rbuf, cap, src, tag, &r[0]);
    if (!rc && dst >= 0)
        rc = tide_coll_isend(c, sbuf, sbytes, dst, tag, &r[1]);
    if (rc && r[0]) {
        tide_p2p_cancel(r[0]);
        tide_coll_waitall(r, 1);
        return rc;
    }
    if (got && r[0]) {
        tide_coll_wait(r[0]);
        *got = r[0]->status.bytes;
    }
    return rc ? rc : tide_coll_waitall(r, 2);
}

int tide_coll_send(const tide_coll_comm_t *c, const void *buf, size_t bytes, int dst, int tag)
{
    return tide_coll_sendrecv(c, buf, bytes, dst, NULL, 0, -1, tag, NULL);
}

int tide_coll_recv(const tide_coll_comm_t *c, void *buf, size_t cap, int src, int tag, size_t *got)
{
    return tide_coll_sendrecv(c, NULL, 0, -1, buf, cap, src, tag, got);
}
