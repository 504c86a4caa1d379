/* Process fault tolerance in the MPI layer (ft.c; doc/reliability.md,
 * "Process failure beyond the named peer"): communicators registered with
 * the point-to-point layer's failure bookkeeping, and ULFM's rules for
 * receives from MPI_ANY_SOURCE. */
#ifndef TIDE_MPI_FT_H
#define TIDE_MPI_FT_H

#include "mpi/mpi_impl.h"
#include "p2p/p2p.h"

#include <stdint.h>

/* A communicator enters the table / is destroyed (comm.c): its processes
 * are registered on its context (an intercommunicator's local
 * communicator too) / forgotten. */
void tide_ft_comm_register(const tide_comm_t *c);
void tide_ft_comm_forget(const tide_comm_t *c);

/* Whether a receive from MPI_ANY_SOURCE on point-to-point context ctx is
 * to be interrupted: a member of its communicator is known failed and the
 * program has not acknowledged it (MPIX_Comm_failure_ack). */
int tide_ft_anysrc_blocked(uint32_t ctx);

/* tide_mpi_wait_one for a blocking receive (MPI_Recv, MPI_Sendrecv): an
 * interrupted MPI_ANY_SOURCE receive is withdrawn and gives
 * MPI_ERR_PROC_FAILED instead of staying pending (request.c). */
int tide_mpi_wait_blocking(MPI_Request *h, MPI_Status *st);

/* For a waiting loop: look again only when a new failure has been marked
 * since *epoch (start it at 0). */
static inline int tide_ft_changed(uint64_t *epoch)
{
    uint64_t e = tide_p2p_fail_epoch();
    if (e == *epoch)
        return 0;
    *epoch = e;
    return 1;
}

#endif
