/* Communicators: the predefined MPI_COMM_WORLD and MPI_COMM_SELF, rank and
 * size queries, and MPI_Barrier (src/coll, over point-to-point). */
#include "config.h"
#include "mpi/mpi_impl.h"
#include "coll/coll.h"
#include "rte/rte.h"

#include <errno.h>

#include <string.h>

enum { TIDE_COMM_TABLE_SIZE = 3 };
static tide_comm_t tide_comm_table[TIDE_COMM_TABLE_SIZE];

void tide_comm_init_predefined(void)
{
    tide_comm_t *w = &tide_comm_table[MPI_COMM_WORLD];
    w->handle = MPI_COMM_WORLD;
    w->rank = tide_rte.rank;
    w->size = tide_rte.size;
    w->ctx = 0;
    w->self_proc = tide_rte.rank;
    w->errhandler = MPI_ERRORS_ARE_FATAL;
    strcpy(w->name, "MPI_COMM_WORLD");
    tide_comm_t *s = &tide_comm_table[MPI_COMM_SELF];
    s->handle = MPI_COMM_SELF;
    s->rank = 0;
    s->size = 1;
    s->ctx = 2;
    s->self_proc = tide_rte.rank;
    s->errhandler = MPI_ERRORS_ARE_FATAL;
    strcpy(s->name, "MPI_COMM_SELF");
}

tide_comm_t *tide_comm_get(MPI_Comm comm)
{
    if (comm <= MPI_COMM_NULL || comm >= TIDE_COMM_TABLE_SIZE)
        return NULL;
    tide_comm_t *c = &tide_comm_table[comm];
    return c->handle == comm ? c : NULL;
}

int PMPI_Comm_rank(MPI_Comm comm, int *rank)
{
    static const char fn[] = "MPI_Comm_rank";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    TIDE_MPI_CHECK_PTR(fn, comm, rank, "rank");
    *rank = c->rank;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Comm_rank);

int PMPI_Comm_size(MPI_Comm comm, int *size)
{
    static const char fn[] = "MPI_Comm_size";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    TIDE_MPI_CHECK_PTR(fn, comm, size, "size");
    *size = c->size;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Comm_size);

int PMPI_Barrier(MPI_Comm comm)
{
    static const char fn[] = "MPI_Barrier";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    if (c->size == 1)
        return MPI_SUCCESS;
    int rc = tide_coll_barrier(c->rank, c->size, c->procs, c->self_proc, c->ctx + 1);
    if (rc)
        return tide_mpi_error(comm, fn, rc == -ENOMEM ? MPI_ERR_NO_MEM : MPI_ERR_PROC_FAILED,
                              "a peer could not be reached (%s)", strerror(-rc));
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Barrier);
