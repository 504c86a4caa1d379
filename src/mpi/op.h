/* Reduction operations of the MPI layer (op.c): predefined MPI_Op handles
 * map to the kernels of src/coll/op.c, user operations (MPI_Op_create) to
 * their function.  Shared by the collectives in coll.c. */
#ifndef TIDE_MPI_OP_H
#define TIDE_MPI_OP_H

#include "coll/coll.h"
#include "mpi/mpi_impl.h"

/* Describe `op` applied to `dt` for the algorithms; on failure reports the
 * error for call fn on comm (MPI_ERR_OP, MPI_ERR_TYPE) and returns it. */
int tide_op_red(const char *fn, MPI_Comm comm, MPI_Op op, MPI_Datatype dt, tide_coll_red_t *out);

#endif
