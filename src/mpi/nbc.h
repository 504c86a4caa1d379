/* Collectives on derived datatypes (nbc_buf.c): the algorithms of
 * src/coll move contiguous bytes, so a buffer described by a derived
 * datatype is staged: packed into a temporary before the collective
 * (dir IN), unpacked from it afterwards (dir OUT).  Buffers of basic or
 * contiguous types are used in place and cost nothing.  A stage is created
 * on first need and holds a reference on each layout it will unpack, so a
 * nonblocking collective survives MPI_Type_free of its types. */
#ifndef TIDE_MPI_NBC_H
#define TIDE_MPI_NBC_H

#include "coll/coll.h"
#include "mpi/mpi_impl.h"

#include <stddef.h>

enum { TIDE_STAGE_IN = 1, TIDE_STAGE_OUT = 2, TIDE_STAGE_INOUT = 3 };

typedef struct tide_stage tide_stage_t;

/* n blocks: block i is counts[i] items of types[i] (types NULL: dt) at
 * buf + offs[i] bytes.  Gives a base address and, per block, its bytes and
 * its byte displacement from the base.  With `regular` the blocks come out
 * back to back (disp[i] = sum of bytes before i), or staged so they do.
 * *stp is created when a block needs staging.  Returns 0, -ENOMEM,
 * -EINVAL (no datatype) or -EPERM (not committed). */
int tide_stage_vec(tide_stage_t **stp, void *buf, int n, const int *counts, const ptrdiff_t *offs,
                   const MPI_Datatype *types, MPI_Datatype dt, int dir, int regular, char **base,
                   size_t *bytes, size_t *disp);
/* One buffer of count items of dt. */
int tide_stage_one(tide_stage_t **stp, void *buf, int count, MPI_Datatype dt, int dir, char **ptr,
                   size_t *bytes);
/* Unpack every OUT block into the user's buffers (after success). */
void tide_stage_out(tide_stage_t *st);
void tide_stage_free(tide_stage_t *st);

/* Reduction of `op` on count items of dt: *r and the number of elements
 * the algorithms combine (predefined operations on a derived type built
 * from one basic type combine its basic elements; user operations combine
 * whole items, unpacked for the call).  Reports errors for call fn. */
int tide_stage_red(const char *fn, MPI_Comm comm, MPI_Op op, MPI_Datatype dt, int count,
                   tide_coll_red_t *r, size_t *nelem);
/* Drop the layout reference a derived-type reduction holds. */
void tide_stage_red_done(tide_coll_red_t *r);

/* ---- one collective call (coll.c) ----
 * What a call holds while its arguments are checked and staged: blocking
 * when req is NULL, otherwise started as a schedule (src/coll/sched.h). */
typedef struct tide_cop {
    const char *fn;
    MPI_Comm comm;
    tide_comm_t *c;
    tide_coll_comm_t g;
    MPI_Request *req;
    tide_stage_t *st;
    tide_coll_red_t r;
    size_t *v; /* byte vectors (freed at the end) */
} tide_cop_t;

typedef enum {
    TIDE_CK_BARRIER,
    TIDE_CK_BCAST,
    TIDE_CK_GATHER,
    TIDE_CK_SCATTER,
    TIDE_CK_GATHERV,
    TIDE_CK_SCATTERV,
    TIDE_CK_ALLGATHER,
    TIDE_CK_ALLGATHERV,
    TIDE_CK_ALLTOALL,
    TIDE_CK_ALLTOALLV,
    TIDE_CK_REDUCE,
    TIDE_CK_ALLREDUCE,
    TIDE_CK_RSCATTER,
    TIDE_CK_SCAN,
    TIDE_CK_EXSCAN,
} tide_ckind_t;

/* The algorithm's arguments, in bytes (count: elements of reductions;
 * rb: element counts per rank for reduce-scatter). */
typedef struct tide_cargs {
    tide_ckind_t kind;
    const void *sbuf;
    void *rbuf;
    size_t blk, own, count;
    int root;
    const size_t *sb, *sd, *rb, *rd;
    int inter, role; /* intercommunicator: our role (nbc_inter.c) */
} tide_cargs_t;

/* Look comm up (and check request when req is given); MPI error class. */
int tide_cop_begin(tide_cop_t *o, const char *fn, MPI_Comm comm, MPI_Request *req);
/* Release what the call holds; returns rc. */
int tide_cop_end(tide_cop_t *o, int rc);
/* Run (blocking) or start (nonblocking) the collective a, then end. */
int tide_cop_run(tide_cop_t *o, const tide_cargs_t *a);
/* Argument checks and staging shared by the calls. */
int tide_cop_bytes(tide_cop_t *o, int count, MPI_Datatype dt, const char *cname, const char *tname,
                   size_t *out);
int tide_cop_buf(tide_cop_t *o, const void *buf, size_t bytes, const char *name);
int tide_cop_root(tide_cop_t *o, int root, int size);
int tide_cop_one(tide_cop_t *o, const void *buf, int count, MPI_Datatype dt, int dir,
                 const char *bname, const char *cname, const char *tname, char **p, size_t *bytes);
int tide_cop_regular(tide_cop_t *o, const void *buf, int n, int count, MPI_Datatype dt, int dir,
                     char **base);
int tide_cop_vector(tide_cop_t *o, const void *buf, int n, const int *counts, const int *displs,
                    const MPI_Datatype *types, MPI_Datatype dt, int dir, const char *cname,
                    const char *bname, char **base, size_t *v);
size_t *tide_cop_vec(tide_cop_t *o, size_t n);
int tide_coll_fail(const char *fn, MPI_Comm comm, int rc);

/* ---- intercommunicators (nbc_inter.c): blocking only; each ends the
 * call (tide_cop_end).  Counts of -1 select the v/w forms. ---- */
int tide_inter_bcast(tide_cop_t *o, void *buffer, int count, MPI_Datatype dt, int root);
int tide_inter_gather(tide_cop_t *o, const void *sendbuf, int sendcount, MPI_Datatype sendtype,
                      void *recvbuf, int recvcount, const int *recvcounts, const int *displs,
                      MPI_Datatype recvtype, int root);
int tide_inter_scatter(tide_cop_t *o, const void *sendbuf, int sendcount, const int *sendcounts,
                       const int *displs, MPI_Datatype sendtype, void *recvbuf, int recvcount,
                       MPI_Datatype recvtype, int root);
int tide_inter_allgather(tide_cop_t *o, const void *sendbuf, int sendcount, MPI_Datatype sendtype,
                         void *recvbuf, int recvcount, const int *recvcounts, const int *displs,
                         MPI_Datatype recvtype);
int tide_inter_alltoall(tide_cop_t *o, const void *sendbuf, int sendcount, const int *sendcounts,
                        const int *sdispls, const MPI_Datatype *sendtypes, MPI_Datatype sendtype,
                        void *recvbuf, int recvcount, const int *recvcounts, const int *rdispls,
                        const MPI_Datatype *recvtypes, MPI_Datatype recvtype);
int tide_inter_reduce(tide_cop_t *o, const void *sendbuf, void *recvbuf, int count, MPI_Datatype dt,
                      MPI_Op op, int root);
int tide_inter_allreduce(tide_cop_t *o, const void *sendbuf, void *recvbuf, int count,
                         MPI_Datatype dt, MPI_Op op);
int tide_inter_reduce_scatter(tide_cop_t *o, const void *sendbuf, void *recvbuf, const int *counts,
                              const int *block, MPI_Datatype dt, MPI_Op op);
/* Scan and Exscan: MPI_ERR_COMM. */
int tide_inter_scan(tide_cop_t *o);

#endif
