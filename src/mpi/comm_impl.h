/* Private interface of the communicator code (comm*.c, group.c): groups,
 * the "geometry" internal exchanges run on, and context-id agreement.
 * Construction of a communicator talks only to the members of its parent
 * over tide_p2p_* on the parent's collective context, so it depends on no
 * collective algorithm of src/coll. */
#ifndef TIDE_MPI_COMM_IMPL_H
#define TIDE_MPI_COMM_IMPL_H

#include "mpi/mpi_impl.h"

#include <stddef.h>
#include <stdint.h>

/* Fixed internal tags on a parent's collective context (mpi_impl.h). */
enum {
    TIDE_TAG_CTX_REDUCE = TIDE_COMM_TAG_BASE + 1,
    TIDE_TAG_CTX_BCAST = TIDE_COMM_TAG_BASE + 2,
    TIDE_TAG_CTX_XCHG = TIDE_COMM_TAG_BASE + 3, /* leader <-> remote leader */
    TIDE_TAG_SPLIT = TIDE_COMM_TAG_BASE + 4,
    TIDE_TAG_GROUPINFO = TIDE_COMM_TAG_BASE + 5,
    TIDE_TAG_MERGE = TIDE_COMM_TAG_BASE + 6,
    TIDE_TAG_IBARRIER = TIDE_COMM_TAG_BASE + 7,
};

/* ---- groups (group.c) ---- */
typedef struct tide_group {
    int refs;
    int size;
    int rank;    /* ours, or MPI_UNDEFINED */
    int procs[]; /* group rank -> process (world rank) */
} tide_group_t;

tide_group_t *tide_group_get(MPI_Group g);
/* A new group of `size` processes (copied); MPI_GROUP_NULL if out of
 * memory.  size 0 gives MPI_GROUP_EMPTY. */
MPI_Group tide_group_make(int size, const int *procs);
/* Group rank of process proc, or MPI_UNDEFINED. */
int tide_group_rank_of(const tide_group_t *g, int proc);

/* ---- geometry: who takes part in an internal exchange ---- */
typedef struct tide_geom {
    int rank, size;
    int self_proc;
    const int *procs;  /* geometry rank -> process; NULL: identity (size 1: self) */
    const int *pranks; /* geometry rank -> rank on ctx's communicator; NULL: same */
    int my_prank;      /* our rank on ctx's communicator */
    uint32_t ctx;
} tide_geom_t;

/* The geometry of an intracommunicator's group on its collective context. */
void tide_geom_of_comm(const tide_comm_t *c, tide_geom_t *g);

/* Blocking point-to-point inside a geometry (0 or an MPI error class). */
int tide_geom_send(const tide_geom_t *g, int to, const void *buf, size_t bytes, int tag);
int tide_geom_recv(const tide_geom_t *g, int from, void *buf, size_t bytes, int tag);
/* Blocking send to and receive from process `proc` which is rank `prank`
 * on context ctx where we are my_prank (leaders talking across groups). */
int tide_xchg_proc(uint32_t ctx, int my_prank, int proc, int prank, const void *sbuf, size_t sbytes,
                   void *rbuf, size_t rbytes, int tag);
int tide_geom_bcast(const tide_geom_t *g, void *buf, size_t bytes, int root, int tag);
/* Every rank's `bytes` bytes, in rank order, to every rank. */
int tide_geom_allgather(const tide_geom_t *g, const void *mine, size_t bytes, void *all, int tag);

/* ---- context ids (comm_ctx.c) ---- */
/* Combine our group's reduced mask with the remote group's (leader only). */
typedef int (*tide_ctx_xchg_fn)(void *arg, uint64_t *words, int nwords);

/* Agree on a fresh context id with the members of geometry g: members
 * reserve it (non-members only take part).  With xchg, g's rank `root`
 * calls xchg between the reduction and the broadcast, so that two groups
 * agree (intercommunicators).  0 and *ctx, or an MPI error class. */
int tide_ctx_agree(const tide_geom_t *g, int member, int root, tide_ctx_xchg_fn xchg, void *arg,
                   int tag_reduce, int tag_bcast, uint32_t *ctx);
/* The same with the context of the priority key given: an agreement of
 * two groups needs one both groups know (an intercommunicator's own), or
 * the groups could rank concurrent agreements differently and retry for
 * ever. */
int tide_ctx_agree_key(const tide_geom_t *g, uint32_t key_ctx, int member, int root,
                       tide_ctx_xchg_fn xchg, void *arg, int tag_reduce, int tag_bcast,
                       uint32_t *ctx);
void tide_ctx_release(uint32_t ctx);
/* Nonblocking agreement (MPI_Comm_idup): a schedule on c's collective
 * context (an intercommunicator's: also its local group's) that reduces
 * with bitwise AND on 64-bit words; then tide_ctx_iagree appends the
 * steps of one agreement (`how`: TIDE_CTX_IA_*; the two groups talk through
 * their leaders) to it.  Key: parent context pctx and the schedule's
 * tag.  When agreed, *ctx is set and done(arg) runs (may be NULL); a
 * schedule error when no id is left.  0 or -ENOMEM. */
struct tide_sched;
typedef void tide_ctx_done_fn(void *arg);
struct tide_sched *tide_ctx_sched_new(const tide_comm_t *c, int tag);
enum {
    TIDE_CTX_IA_INTRA = 0, /* the members of c */
    TIDE_CTX_IA_LOCAL = 1, /* c's local group only */
    TIDE_CTX_IA_INTER = 2, /* both groups of c */
};
int tide_ctx_iagree(struct tide_sched *s, uint32_t pctx, int tag, int how, uint32_t *ctx,
                    tide_ctx_done_fn *done, void *arg);

/* ---- communicator objects (comm.c) ---- */
/* A new communicator object, not yet in the handle table. */
tide_comm_t *tide_comm_alloc(void);
/* Enter it in the table: sets c->handle; MPI error class. */
int tide_comm_register(tide_comm_t *c);
/* Undo everything of a communicator (attributes already deleted). */
void tide_comm_destroy(tide_comm_t *c);
/* Fill an intracommunicator from a list of processes (copied) */
int tide_comm_set_procs(tide_comm_t *c, int n, const int *procs, int rank);
/* Inherit what a child takes from its parent: error handler. */
void tide_comm_inherit(tide_comm_t *n, const tide_comm_t *parent);
/* Context id of a new intercommunicator beside c (both groups agree). */
int tide_comm_agree_inter(tide_comm_t *c, uint32_t *ctx);
/* Fill n as a duplicate of intracommunicator c (new context id). */
int tide_comm_dup_intra(const tide_comm_t *c, tide_comm_t *n);
/* Our position in a list of processes, or -1. */
int tide_procs_find(const int *procs, int n, int proc);

#endif
