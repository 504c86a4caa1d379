/* Process fault tolerance (ft.h; doc/reliability.md, "Process failure
 * beyond the named peer"), after the ULFM proposal and Open MPI's MPIX_
 * interface.  Every communicator registers its processes with the
 * point-to-point layer (src/p2p/fail.c), which revokes the communicator's
 * collective context as soon as a member is marked failed.  Here: the
 * registration, and the acknowledgement state of MPI_ANY_SOURCE receives:
 * while a member has failed and the program has not acknowledged it with
 * MPIX_Comm_failure_ack, a receive from MPI_ANY_SOURCE that no arrived
 * message matches is interrupted (request.c) -- a blocking one returns
 * MPI_ERR_PROC_FAILED, a nonblocking one's MPI_Wait/MPI_Test returns
 * MPI_ERR_PROC_FAILED_PENDING and the request stays pending.  Failures
 * only accumulate (a failed process never comes back), so the
 * acknowledged set is the failed members at the time of the last ack. */
#include "config.h"
#include "mpi/comm_impl.h"
#include "mpi/ft.h"
#include "p2p/p2p.h"
#include "util/hash.h"
#include "util/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

typedef struct tide_ft_acked {
    int n;
    int procs[]; /* the acknowledged failed processes */
} tide_ft_acked_t;

static pthread_mutex_t tide_ft_lock = PTHREAD_MUTEX_INITIALIZER;
static tide_hash_t tide_ft_acks; /* point-to-point ctx -> tide_ft_acked_t */

/* Register one intracommunicator-like group: n processes, rank i's from
 * proc_of(c, i); the identity is passed as NULL. */
static void tide_ft_register_group(uint32_t ctx, int n, const int *procs)
{
    if (tide_p2p_group_set(ctx, procs, n))
        tide_warn("out of memory registering communicator context %u for failure handling: "
                  "its collectives may wait for a failed process",
                  ctx);
}

void tide_ft_comm_register(const tide_comm_t *c)
{
    if (!c->is_inter) {
        if (c->size > 1)
            tide_ft_register_group(c->ctx, c->size, c->procs);
        return;
    }
    /* An intercommunicator's collectives involve both groups. */
    int n = c->size + c->local_size;
    int *procs = malloc((size_t)n * sizeof(int));
    if (!procs) {
        tide_warn("out of memory registering communicator %d for failure handling", c->handle);
        return;
    }
    for (int i = 0; i < c->size; i++)
        procs[i] = tide_comm_proc(c, i);
    for (int i = 0; i < c->local_size; i++)
        procs[c->size + i] = tide_comm_local_proc(c, i);
    tide_ft_register_group(c->ctx, n, procs);
    free(procs);
    if (c->local && c->local->size > 1)
        tide_ft_register_group(c->local->ctx, c->local->size, c->local->procs);
}

void tide_ft_comm_forget(const tide_comm_t *c)
{
    if (c->ctx < 4) /* MPI_COMM_WORLD, MPI_COMM_SELF, or never given an id */
        return;
    tide_p2p_group_clear(c->ctx);
    pthread_mutex_lock(&tide_ft_lock);
    free(tide_hash_del(&tide_ft_acks, c->ctx));
    pthread_mutex_unlock(&tide_ft_lock);
}

static int tide_ft_nacked(uint32_t ctx)
{
    pthread_mutex_lock(&tide_ft_lock);
    const tide_ft_acked_t *a = tide_hash_get(&tide_ft_acks, ctx);
    int n = a ? a->n : 0;
    pthread_mutex_unlock(&tide_ft_lock);
    return n;
}

int tide_ft_anysrc_blocked(uint32_t ctx)
{
    int nfailed = tide_p2p_group_failed(ctx, NULL, 0);
    return nfailed > 0 && nfailed > tide_ft_nacked(ctx);
}

int PMPIX_Comm_failure_ack(MPI_Comm comm)
{
    static const char fn[] = "MPIX_Comm_failure_ack";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    int n = tide_p2p_group_failed(c->ctx, NULL, 0);
    tide_ft_acked_t *a = malloc(sizeof(*a) + (size_t)(n ? n : 1) * sizeof(int));
    if (!a)
        return tide_mpi_error(comm, fn, MPI_ERR_NO_MEM, "out of memory");
    int now = tide_p2p_group_failed(c->ctx, a->procs, n);
    a->n = now < n ? now : n; /* a failure marked in between is not acknowledged */
    pthread_mutex_lock(&tide_ft_lock);
    free(tide_hash_del(&tide_ft_acks, c->ctx));
    int rc = tide_hash_put(&tide_ft_acks, c->ctx, a);
    pthread_mutex_unlock(&tide_ft_lock);
    if (rc) {
        free(a);
        return tide_mpi_error(comm, fn, MPI_ERR_NO_MEM, "out of memory");
    }
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPIX_Comm_failure_ack);

int PMPIX_Comm_failure_get_acked(MPI_Comm comm, MPI_Group *failedgrp)
{
    static const char fn[] = "MPIX_Comm_failure_get_acked";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    TIDE_MPI_CHECK_PTR(fn, comm, failedgrp, "failedgrp");
    pthread_mutex_lock(&tide_ft_lock);
    const tide_ft_acked_t *a = tide_hash_get(&tide_ft_acks, c->ctx);
    MPI_Group g = tide_group_make(a ? a->n : 0, a ? a->procs : NULL);
    pthread_mutex_unlock(&tide_ft_lock);
    if (g == MPI_GROUP_NULL)
        return tide_mpi_error(comm, fn, MPI_ERR_NO_MEM, "out of memory for the group");
    *failedgrp = g;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPIX_Comm_failure_get_acked);
