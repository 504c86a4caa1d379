/* Internal state and helpers of the MPI layer (src/mpi): library state,
 * communicator objects, argument checking and error reporting.  Every
 * public MPI_X is defined as PMPI_X and aliased weakly (TIDE_MPI_WEAK). */
#ifndef TIDE_MPI_IMPL_H
#define TIDE_MPI_IMPL_H

/* The whole MPI API is exported; everything else in libmpi is hidden. */
#pragma GCC visibility push(default)
#include "mpi.h"
#pragma GCC visibility pop

#include <pthread.h>
#include <stdint.h>

#define TIDE_MPI_WEAK(name) extern __typeof__(P##name) name __attribute__((weak, alias("P" #name)))

typedef enum {
    TIDE_MPI_STATE_NONE = 0,
    TIDE_MPI_STATE_INIT = 1,
    TIDE_MPI_STATE_FINALIZED = 2,
} tide_mpi_state_t;

typedef struct tide_mpi_global {
    int state; /* tide_mpi_state_t, read atomically */
    int thread_level;
    pthread_t main_thread;
} tide_mpi_global_t;

extern tide_mpi_global_t tide_mpi;

/* ---- communicators (comm.c, comm_create.c, group.c, attr.c) ----
 *
 * A communicator is an object in a handle table (handles are small ints:
 * MPI_COMM_WORLD = 1, MPI_COMM_SELF = 2, created ones from 3 up).  Its
 * context id `ctx` is even: point-to-point traffic uses ctx, collective
 * traffic ctx + 1 (WORLD 0/1, SELF 2/3).  Ids are agreed by the members
 * as MPICH does: each process keeps a bitmap of free ids, the members
 * AND-reduce their bitmaps and all take the lowest id free everywhere
 * (doc/comm.md).
 *
 * `rank`, `size` and `procs` describe the ranks point-to-point addresses:
 * on an intracommunicator the group itself; on an intercommunicator
 * (is_inter) `size`/`procs` are the REMOTE group (destinations and
 * sources), `rank` is our rank in the local group (the envelope's source)
 * and local_size/local_procs describe the local group.  MPI_Comm_size
 * returns local_size.  tide_comm_proc() maps a point-to-point rank to the
 * process (world rank).
 *
 * Internal exchanges of communicator construction run over tide_p2p_* on
 * the parent's collective context (ctx + 1) with tags from
 * TIDE_COMM_TAG_BASE (0x40000000) up; user-visible collectives must use
 * tags below it on that context. */
#define TIDE_COMM_TAG_BASE    0x40000000 /* 0x40000000..0x4fffffff: fixed internal tags */
#define TIDE_COMM_TAG_ICREATE 0x50000000 /* | (tag & 0x0fffffff): MPI_Intercomm_create */
#define TIDE_COMM_TAG_CGROUP  0x60000000 /* | (tag & 0x1fffffff): MPI_Comm_create_group */

struct tide_attr;
struct tide_topo;

typedef struct tide_comm {
    MPI_Comm handle;
    int rank, size;
    uint32_t ctx;     /* context id of point-to-point traffic */
    int self_proc;    /* our process (world rank) */
    const int *procs; /* p2p rank -> world rank; NULL: identity */
    MPI_Errhandler errhandler;
    char name[MPI_MAX_OBJECT_NAME];
    /* owned by comm.c */
    int is_inter;
    int local_size;          /* == size on an intracommunicator */
    const int *local_procs;  /* local group rank -> world rank; NULL: as procs */
    struct tide_comm *local; /* intercommunicator: internal intracommunicator of the local group */
    int *owned;              /* the arrays procs/local_procs point into (freed with us) */
    struct tide_attr *attrs; /* cached attributes, in the order they were set */
    MPI_Info info;           /* hints given by MPI_Comm_set_info (MPI_INFO_NULL: none) */
    int named;               /* name set by the user (or predefined) */
    uint32_t nbc_seq;        /* nonblocking collectives started (their tags; coll.c) */
    struct tide_topo *topo;  /* process topology (topo.c; shared by duplicates), or NULL */
} tide_comm_t;

/* NULL if the handle names no live communicator. */
tide_comm_t *tide_comm_get(MPI_Comm comm);
void tide_comm_init_predefined(void);
/* MPI_Finalize: delete the attributes of MPI_COMM_SELF, then those of
 * MPI_COMM_WORLD (their delete callbacks run, MPI 4.1 section 11.2.2). */
void tide_comm_finalize(void);

/* Report an error detected by MPI call `fn` on `comm` (MPI_COMM_NULL: no
 * communicator is involved, the MPI_COMM_SELF handler applies, as MPI 4.1
 * section 9.3 says).  Formats "fn: message", applies the error handler and
 * returns errclass if the handler returns. */
int tide_mpi_error(MPI_Comm comm, const char *fn, int errclass, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The process behind point-to-point rank `rank` of c (intercommunicators:
 * a rank of the remote group). */
static inline int tide_comm_proc(const tide_comm_t *c, int rank)
{
    return c->procs ? c->procs[rank] : (c->size == 1 ? c->self_proc : rank);
}

/* The process behind local group rank r (intercommunicators: local group). */
static inline int tide_comm_local_proc(const tide_comm_t *c, int r)
{
    const int *p = c->is_inter ? c->local_procs : c->procs;
    return p ? p[r] : (c->local_size == 1 ? c->self_proc : r);
}

/* ---- process topologies (topo.c): a reference more, one less ---- */
struct tide_topo *tide_topo_ref(struct tide_topo *t);
void tide_topo_unref(struct tide_topo *t);

/* ---- attributes (attr.c) ---- */
/* Copy c's attributes to the new communicator n (Comm_dup); delete them all
 * (Comm_free).  Return an MPI error class (the callbacks' code). */
int tide_attr_comm_copy(tide_comm_t *c, tide_comm_t *n);
int tide_attr_comm_delete_all(tide_comm_t *c);
/* For datatype constructors: MPI_Type_dup copies, MPI_Type_free deletes. */
int tide_attr_type_copy(MPI_Datatype oldtype, MPI_Datatype newtype);
int tide_attr_type_delete_all(MPI_Datatype type);

/* ---- error handlers (errhandler.c) ---- */
/* 1 if eh names a live error handler. */
int tide_errh_valid(MPI_Errhandler eh);
void tide_errh_ref(MPI_Errhandler eh);
void tide_errh_unref(MPI_Errhandler eh);
/* Call the user function of a created handler for comm; 0 if eh is
 * predefined (nothing called), 1 if called. */
int tide_errh_call_user(MPI_Errhandler eh, MPI_Comm comm, int code);
/* The largest error code in use (MPI_LASTUSEDCODE). */
int tide_err_lastused(void);
/* The string of a code added with MPI_Add_error_code/class, or NULL; its
 * class in *cls. */
const char *tide_err_user(int code, int *cls);

/* ---- info (info.c) ---- */
int tide_info_valid(MPI_Info info);
int tide_info_dup_internal(MPI_Info in, MPI_Info *out);
void tide_info_free_internal(MPI_Info info);

/* ---- datatypes (datatype.c) ---- */
/* Size in bytes of a valid datatype, or -1 if dt is not one. */
int tide_dt_size(MPI_Datatype dt);

/* ---- requests (request.c) ---- */
struct tide_p2p_req;
typedef enum {
    TIDE_MPI_REQ_SEND = 1,
    TIDE_MPI_REQ_RECV = 2,
    TIDE_MPI_REQ_DONE = 3, /* completed at creation (PROC_NULL, buffered) */
    TIDE_MPI_REQ_COLL = 4, /* a nonblocking collective: `sched` (src/coll/sched.h) */
    TIDE_MPI_REQ_GREQ = 5, /* a generalized request: `greq` (grequest.c) */
} tide_mpi_req_kind_t;

typedef enum {
    TIDE_MPI_SEND_STANDARD = 0,
    TIDE_MPI_SEND_SYNC = 1,
    TIDE_MPI_SEND_READY = 2,
    TIDE_MPI_SEND_BUFFERED = 3,
} tide_mpi_send_mode_t;

typedef struct tide_mpi_req {
    MPI_Request handle;
    tide_mpi_req_kind_t kind;
    struct tide_p2p_req *p2p; /* the operation in flight, or NULL */
    MPI_Status done_status;   /* for TIDE_MPI_REQ_DONE */
    MPI_Comm comm;
    int is_recv; /* a receive (kind changes to DONE for MPI_PROC_NULL) */
    int persistent, active, free_when_done;
    /* persistent requests: the arguments to start again */
    void *buf;
    int count;
    MPI_Datatype dt;
    int peer, tag;
    tide_mpi_send_mode_t mode;
    struct tide_mpi_req *next_orphan; /* freed while in flight */
    struct tide_sched *sched;         /* TIDE_MPI_REQ_COLL */
    struct tide_greq *greq;           /* TIDE_MPI_REQ_GREQ */
    int owns_dt;                      /* dt is our own handle (tide_mpi_req_keep_type) */
    /* A second operation that completes with this one, and memory freed
     * with it: MPI_Isendrecv's send, MPI_Isendrecv_replace's packed copy. */
    struct tide_mpi_req *also;
    void *also_mem;
} tide_mpi_req_t;

tide_mpi_req_t *tide_mpi_req_new(tide_mpi_req_kind_t kind, MPI_Comm comm);
tide_mpi_req_t *tide_mpi_req_get(MPI_Request h);
void tide_mpi_req_release(tide_mpi_req_t *r);
void tide_mpi_status_empty(MPI_Status *st);
/* Complete every request freed while in flight (MPI_Finalize). */
void tide_mpi_req_drain_orphans(void);
/* Start a send/recv on a validated communicator (used by pt2pt and
 * persistent requests); returns an MPI error class. */
int tide_mpi_start_send(const char *fn, tide_comm_t *c, const void *buf, int count, MPI_Datatype dt,
                        int dest, int tag, tide_mpi_send_mode_t mode, tide_mpi_req_t *r);
int tide_mpi_start_recv(const char *fn, tide_comm_t *c, void *buf, int count, MPI_Datatype dt,
                        int src, int tag, tide_mpi_req_t *r);
/* Wait for one request; fills status (may be MPI_STATUS_IGNORE); frees a
 * non-persistent request and sets *h to MPI_REQUEST_NULL.  Returns the
 * operation's error class. */
int tide_mpi_wait_one(MPI_Request *h, MPI_Status *st);
/* Test one: *flag set if complete (then as wait_one). */
int tide_mpi_test_one(MPI_Request *h, int *flag, MPI_Status *st);
/* Persistent requests (call fn, e.g. MPI_Send_init): keep datatype dt for
 * later MPI_Start in r->dt (a handle of our own on a derived type, so
 * MPI_Type_free does not end it; released with the request).  Returns an
 * MPI error class. */
int tide_mpi_req_keep_type(const char *fn, tide_mpi_req_t *r, MPI_Datatype dt);
/* MPI_Cancel of a request that has no point-to-point operation (p2p
 * NULL): calls a generalized request's cancel_fn; a nonblocking collective
 * cannot be cancelled (MPI_ERR_REQUEST).  Returns an MPI error class. */
int tide_mpi_req_cancel(tide_mpi_req_t *r);
/* Generalized requests (grequest.c). */
int tide_greq_done(const tide_mpi_req_t *r);
int tide_greq_query(const tide_mpi_req_t *r, MPI_Status *st);
int tide_greq_cancel(const tide_mpi_req_t *r);
int tide_greq_release(tide_mpi_req_t *r);
/* Buffered sends (bsend.c): copy into the attached buffer and send. */
int tide_mpi_bsend_start(const char *fn, tide_comm_t *c, const void *buf, int count,
                         MPI_Datatype dt, int dest, int tag);

/* Argument checks shared by every call. */
int tide_mpi_check_init(const char *fn);
#define TIDE_MPI_CHECK_INIT(fn)                                                                \
    do {                                                                                       \
        if (__builtin_expect(                                                                  \
                __atomic_load_n(&tide_mpi.state, __ATOMIC_ACQUIRE) != TIDE_MPI_STATE_INIT, 0)) \
            return tide_mpi_check_init(fn);                                                    \
    } while (0)

#define TIDE_MPI_CHECK_PTR(fn, comm, ptr, argname)                                            \
    do {                                                                                      \
        if (__builtin_expect((ptr) == NULL, 0))                                               \
            return tide_mpi_error((comm), (fn), MPI_ERR_ARG, "argument %s is a NULL pointer", \
                                  (argname));                                                 \
    } while (0)

/* Look up comm or return MPI_ERR_COMM through the world's handler. */
#define TIDE_MPI_GET_COMM(fn, comm, out)                                                   \
    do {                                                                                   \
        (out) = tide_comm_get(comm);                                                       \
        if (__builtin_expect((out) == NULL, 0))                                            \
            return tide_mpi_error(MPI_COMM_NULL, (fn), MPI_ERR_COMM,                       \
                                  "argument comm (handle %d) is not a valid communicator", \
                                  (int)(comm));                                            \
    } while (0)

#endif
