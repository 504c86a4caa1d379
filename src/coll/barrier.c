/* MPI_Barrier over point-to-point: the dissemination algorithm (Hensgen,
 * Finkel and Manber 1988), ceil(log2 p) rounds of zero-byte messages; in
 * round k rank r signals r + 2^k and waits for r - 2^k.  Collective traffic
 * uses the communicator's collective context (ctx + 1) so it never matches
 * user point-to-point messages. */
#include "config.h"
#include "coll/coll.h"
#include "coll/sched.h"
#include "p2p/p2p.h"

#include <errno.h>

int tide_coll_barrier(int rank, int size, const int *procs, int self_proc, uint32_t ctx)
{
    for (int dist = 1; dist < size; dist <<= 1) {
        int to = (rank + dist) % size, from = (rank - dist + size) % size;
        tide_p2p_req_t *rr, *sr;
        int rc = tide_p2p_irecv(NULL, 0, from, ctx, 0, &rr);
        if (rc)
            return rc;
        int to_proc = procs ? procs[to] : (size == 1 ? self_proc : to);
        rc = tide_p2p_isend(NULL, 0, to_proc, to, rank, ctx, 0, TIDE_P2P_MODE_STANDARD, &sr);
        if (rc) {
            tide_p2p_cancel(rr);
            tide_p2p_req_free(rr);
            return rc;
        }
        tide_p2p_idle_t idle = TIDE_P2P_IDLE_INIT;
        while (!tide_p2p_req_done(rr) || !tide_p2p_req_done(sr))
            tide_p2p_idle(&idle, tide_coll_progress());
        int err = rr->status.error ? rr->status.error : sr->status.error;
        tide_p2p_req_free(rr);
        tide_p2p_req_free(sr);
        if (err)
            return err;
    }
    return 0;
}
