/* Collective operations built on the point-to-point layer (src/p2p).
 * Each takes the communicator's geometry (our rank, size, the map from its
 * ranks to processes: NULL for the identity) and its collective context.
 * Data is contiguous bytes (basic datatypes); reductions carry a
 * tide_coll_red_t that knows the element size and how to combine.
 * Functions return 0, a negative errno (local failure, e.g. -ENOMEM) or a
 * positive MPI error class reported by a point-to-point request.
 * Algorithms and thresholds: doc/coll.md. */
#ifndef TIDE_COLL_COLL_H
#define TIDE_COLL_COLL_H

#include <stddef.h>
#include <stdint.h>

/* 0 or -errno. */
int tide_coll_barrier(int rank, int size, const int *procs, int self_proc, uint32_t ctx);

/* The communicator as the algorithms see it. */
typedef struct tide_coll_comm {
    int rank, size;
    const int *procs; /* rank -> process; NULL: identity */
    int self_proc;
    uint32_t ctx; /* collective context (the communicator's ctx + 1) */
} tide_coll_comm_t;

/* ---- reductions (op.c) ---- */
/* inout[i] = in[i] op inout[i] for n elements (MPI's order: `in` holds the
 * contribution of the lower ranks). */
typedef void tide_coll_kernel_t(const void *in, void *inout, size_t n);
/* MPI_User_function with the datatype handle as an int. */
typedef void tide_coll_user_fn_t(void *in, void *inout, int *len, int *dt);

typedef struct tide_coll_red {
    tide_coll_kernel_t *kernel; /* predefined operation, or NULL */
    tide_coll_user_fn_t *user;  /* user operation (MPI_Op_create) */
    int dt;                     /* datatype handle passed to `user` */
    int commute;
    size_t esize; /* element size in bytes */
    /* A user operation on a derived datatype: elements are packed items
     * (esize = the type's size), unpacked into the type's layout for the
     * call.  lay NULL otherwise. */
    struct tide_p2p_layout *lay;
    int64_t extent, true_lb, true_ext;
} tide_coll_red_t;

/* The kernel of predefined op `op` (mpi.h MPI_MAX...) on basic type `dt`,
 * or NULL if the standard does not define that combination. */
tide_coll_kernel_t *tide_coll_kernel(int op, int dt);
/* inout = in op inout over n elements. */
void tide_coll_apply(const tide_coll_red_t *r, const void *in, void *inout, size_t n);

/* ---- data movement (bcast.c, gather.c, allgather.c, alltoall.c) ---- */
int tide_coll_bcast(const tide_coll_comm_t *c, void *buf, size_t bytes, int root);
/* rbuf/sbuf NULL where the argument does not apply; `in_place` as MPI_IN_PLACE. */
int tide_coll_gather(const tide_coll_comm_t *c, const void *sbuf, void *rbuf, size_t blk, int root);
int tide_coll_scatter(const tide_coll_comm_t *c, const void *sbuf, void *rbuf, size_t blk,
                      int root);
/* v variants: counts/displs in bytes (root only); `own` our block size. */
int tide_coll_gatherv(const tide_coll_comm_t *c, const void *sbuf, size_t own, void *rbuf,
                      const size_t *bytes, const size_t *displs, int root);
int tide_coll_scatterv(const tide_coll_comm_t *c, const void *sbuf, const size_t *bytes,
                       const size_t *displs, void *rbuf, size_t own, int root);
/* Allgather in place: our block is already at rbuf + rank * blk. */
int tide_coll_allgather(const tide_coll_comm_t *c, void *rbuf, size_t blk);
int tide_coll_allgatherv(const tide_coll_comm_t *c, void *rbuf, const size_t *bytes,
                         const size_t *displs);
/* sbuf NULL: in place (blocks exchanged within rbuf). */
int tide_coll_alltoall(const tide_coll_comm_t *c, const void *sbuf, void *rbuf, size_t blk);
/* Byte counts and displacements per peer; sbuf NULL: in place (then the
 * send layout is the receive layout). */
int tide_coll_alltoallv(const tide_coll_comm_t *c, const void *sbuf, const size_t *sbytes,
                        const size_t *sdispls, void *rbuf, const size_t *rbytes,
                        const size_t *rdispls);

/* ---- reductions (reduce.c, allreduce.c, scan.c) ---- */
/* rbuf significant at the root only; sbuf == rbuf allowed (in place). */
int tide_coll_reduce(const tide_coll_comm_t *c, const void *sbuf, void *rbuf, size_t count,
                     const tide_coll_red_t *r, int root);
int tide_coll_allreduce(const tide_coll_comm_t *c, const void *sbuf, void *rbuf, size_t count,
                        const tide_coll_red_t *r);
/* counts[i] elements of the result go to rank i; sbuf == NULL: in place
 * (rbuf holds the whole input vector). */
int tide_coll_reduce_scatter(const tide_coll_comm_t *c, const void *sbuf, void *rbuf,
                             const size_t *counts, const tide_coll_red_t *r);
int tide_coll_scan(const tide_coll_comm_t *c, const void *sbuf, void *rbuf, size_t count,
                   const tide_coll_red_t *r, int exclusive);

#endif
