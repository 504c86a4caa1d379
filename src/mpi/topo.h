/* Process topologies (MPI 3.1 chapter 7): the topology a communicator
 * carries.  A topology is immutable once built, so MPI_Comm_dup shares it
 * (a reference count) and MPI_Comm_free drops the reference.  Cartesian,
 * graph and distributed-graph topologies keep what their queries return;
 * the neighbourhood collectives (topo_coll.c) read their neighbour lists
 * through tide_topo_neighbors(). */
#ifndef TIDE_MPI_TOPO_H
#define TIDE_MPI_TOPO_H

#include "mpi/mpi_impl.h"

typedef struct tide_topo {
    int refs;
    int kind; /* MPI_CART, MPI_GRAPH or MPI_DIST_GRAPH */
    /* MPI_CART: ndims dimensions, periodicity, our coordinates */
    int ndims;
    int *dims, *periods, *coords;
    /* MPI_GRAPH: the whole graph as given to MPI_Graph_create */
    int nnodes, nedges;
    int *index, *edges;
    /* MPI_DIST_GRAPH: our in- and out-edges, weights (weighted) */
    int indeg, outdeg, weighted;
    int *src, *srcw, *dst, *dstw;
    int mem[]; /* every array above points in here */
} tide_topo_t;

/* A topology of `kind` with room for n ints in mem (zeroed); NULL if out
 * of memory. */
tide_topo_t *tide_topo_new(int kind, size_t n);
/* The topology of comm (NULL: none). */
tide_topo_t *tide_topo_of(MPI_Comm comm);
/* Attach t to the new communicator comm (takes our reference). */
void tide_topo_attach(MPI_Comm comm, tide_topo_t *t);

/* Neighbours in the order of the neighbourhood collectives (MPI 3.1
 * section 7.6): in-neighbours (receive from) and out-neighbours (send to),
 * MPI_PROC_NULL included for Cartesian edges.  *in and *out point into t
 * or into scratch (room for 2 * ndims ints each, Cartesian only). */
void tide_topo_neighbors(const tide_topo_t *t, const tide_comm_t *c, int *scratch, const int **in,
                         int *nin, const int **out, int *nout);

/* A new communicator of comm's first n processes (others: MPI_COMM_NULL),
 * ranks kept, to carry a topology; for call fn.  MPI error class (the
 * failure is reported by MPI_Comm_split, which detects it). */
int tide_topo_comm(const char *fn, tide_comm_t *c, int n, MPI_Comm *out);
/* MPI_ERR_COMM for intercommunicators. */
int tide_topo_check_intra(const char *fn, const tide_comm_t *c);

#endif
