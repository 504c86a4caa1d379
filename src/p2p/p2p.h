/* The point-to-point layer: MPI messaging semantics on top of byte streams.
 *
 * Messages are identified by their envelope (context id, source rank in the
 * communicator, tag).  Receives are matched in posting order against
 * arriving messages in arrival order (MPI 4.1 section 3.5: non-overtaking
 * per source and communicator).  Two queues per context hold what is not
 * yet matched: the posted-receive queue and the unexpected-message queue.
 *
 * Protocols (doc/design.md): a message of at most TIDE_EAGER_LIMIT bytes is
 * copied and the send completes at once (eager); a larger one is only
 * referenced and the send completes when the receiver has taken it
 * (rendezvous).  Synchronous sends complete when the receive has matched.
 *
 * The layer is thread-safe: one lock (tide_p2p_lock) guards the queues and
 * requests; callers of the functions below must not hold it. */
#ifndef TIDE_P2P_P2P_H
#define TIDE_P2P_P2P_H

#include <stddef.h>
#include <stdint.h>

#include "util/list.h"

typedef enum {
    TIDE_P2P_MODE_STANDARD = 0,
    TIDE_P2P_MODE_SYNC = 1,
    TIDE_P2P_MODE_READY = 2,
} tide_p2p_mode_t;

typedef enum {
    TIDE_P2P_REQ_SEND = 1,
    TIDE_P2P_REQ_RECV = 2,
} tide_p2p_req_kind_t;

#define TIDE_P2P_ANY_SOURCE (-1)
#define TIDE_P2P_ANY_TAG    (-1)

/* What a completed receive reports (copied into MPI_Status above). */
typedef struct tide_p2p_status {
    int source;
    int tag;
    int error; /* MPI error class, 0 for success */
    int cancelled;
    uint64_t bytes; /* bytes delivered */
} tide_p2p_status_t;

typedef struct tide_p2p_msg tide_p2p_msg_t;

/* Non-contiguous buffers (derived datatypes; doc/datatypes.md).  A layout
 * is one instance of a datatype flattened into blocks, in the order their
 * bytes are packed: block j holds blks[j].len (> 0) bytes at blks[j].off
 * from the instance's start; instance i starts at i * extent; pre[j] is the
 * packed offset of block j inside an instance (binary search when seeking).
 * The MPI layer builds layouts (src/mpi/dtype.c); this layer only reads
 * them.  A send or receive holds a reference while it is in flight
 * (refs, atomic); the last reference calls release. */
typedef struct tide_p2p_blk {
    int64_t off;
    int64_t len;
} tide_p2p_blk_t;

typedef struct tide_p2p_layout {
    int refs;
    uint64_t nblks;
    const tide_p2p_blk_t *blks;
    const uint64_t *pre;
    uint64_t size;  /* bytes of one instance */
    int64_t extent; /* distance between instances */
    void (*release)(struct tide_p2p_layout *lay);
} tide_p2p_layout_t;

static inline void tide_p2p_layout_ref(tide_p2p_layout_t *lay)
{
    __atomic_add_fetch(&lay->refs, 1, __ATOMIC_RELAXED);
}

static inline void tide_p2p_layout_unref(tide_p2p_layout_t *lay)
{
    if (__atomic_sub_fetch(&lay->refs, 1, __ATOMIC_ACQ_REL) == 0)
        lay->release(lay);
}

/* A position in `count` instances of a layout at `base`; lay NULL: count
 * contiguous bytes at base.  Pieces are contiguous runs of the buffer. */
typedef struct tide_p2p_cur {
    char *base;
    const tide_p2p_layout_t *lay;
    uint64_t count;
    uint64_t inst, blk, boff; /* boff: bytes of block blk already passed */
} tide_p2p_cur_t;

/* Start at packed byte `offset` of the buffer. */
void tide_p2p_cur_init(tide_p2p_cur_t *c, const void *base, const tide_p2p_layout_t *lay,
                       uint64_t count, uint64_t offset);
/* The current piece, at most max bytes: its length (0 at the end) and address. */
uint64_t tide_p2p_cur_peek(const tide_p2p_cur_t *c, uint64_t max, char **ptr);
void tide_p2p_cur_skip(tide_p2p_cur_t *c, uint64_t n);
/* Up to max iovecs of the next maxbytes bytes, without moving; returns the
 * number of iovecs and their total in *bytes. */
struct iovec;
int tide_p2p_cur_iov(const tide_p2p_cur_t *c, struct iovec *iov, int max, uint64_t maxbytes,
                     uint64_t *bytes);
/* Gather n bytes from the buffer into dst / scatter n bytes of src into it. */
void tide_p2p_cur_pack(tide_p2p_cur_t *c, void *dst, uint64_t n);
void tide_p2p_cur_unpack(tide_p2p_cur_t *c, const void *src, uint64_t n);
/* Copy n bytes from one buffer to another, both possibly non-contiguous. */
void tide_p2p_cur_copy(tide_p2p_cur_t *dst, tide_p2p_cur_t *src, uint64_t n);

typedef struct tide_p2p_req {
    tide_p2p_req_kind_t kind;
    int complete; /* set with release semantics once the request is done */
    int cancel_requested;
    tide_p2p_mode_t mode;
    uint32_t ctx;
    int peer;      /* send: destination comm rank; recv: source or ANY */
    int peer_proc; /* send: destination process (world rank); recv: source process, -1 unknown */
    int my_rank;   /* send: our rank in the communicator (the envelope's source) */
    int tag;
    void *buf;
    uint64_t bytes;         /* send: message length; recv: buffer capacity */
    tide_p2p_layout_t *lay; /* non-contiguous buf (NULL: contiguous); a reference held */
    uint64_t lay_count;     /* instances of lay at buf */
    tide_p2p_status_t status;
    tide_p2p_msg_t *msg; /* send: our message while it waits to be matched */
    tide_list_t link;    /* posted-receive queue */
    uint64_t seq;        /* posting order within the context */
    uint64_t rdv_left;   /* recv: rendezvous DATA bytes still to come */
    void (*on_complete)(struct tide_p2p_req *r, void *arg); /* internal users */
    void *on_complete_arg;
} tide_p2p_req_t;

/* An arrived (or self-sent) message not yet received. */
struct tide_p2p_msg {
    tide_list_t link;  /* the context's unexpected queue (arrival order) */
    tide_list_t slink; /* its source's unexpected queue */
    uint32_t ctx;
    int src;
    int tag;
    uint64_t bytes;
    void *data;                   /* eager copy (owned), or the sender's buffer */
    const tide_p2p_layout_t *lay; /* the sender's buffer is non-contiguous (self path) */
    uint64_t lay_count;
    int owns_data;        /* data was allocated for this message */
    tide_p2p_req_t *sreq; /* sender request to complete at match (sync, large) */
    int claimed;          /* taken by MPI_Mprobe, out of the queue */
    /* from another process: */
    int src_proc;     /* the sending process */
    int rts;          /* rendezvous: only announced, the data comes after CTS */
    int ack_on_match; /* synchronous eager: acknowledge the match */
    uint64_t sid;     /* the sender's request id (RTS, synchronous eager) */
};

/* What the point-to-point layer needs from the runtime (given by src/mpi,
 * which owns the runtime): publish our wire address, look a peer's up. */
typedef struct tide_p2p_rte_ops {
    int (*publish)(const char *key, const void *data, size_t len);
    int (*lookup)(int proc, const char *key, void *data, size_t *len);
    int local_rank;
    uint64_t jobkey;
    int local_size; /* ranks of the job on this host (== nprocs: one node) */
} tide_p2p_rte_ops_t;

int tide_p2p_init(int my_proc, int nprocs, const tide_p2p_rte_ops_t *rte);
/* Complete everything this process still owes its peers (MPI_Finalize,
 * before the final fence). */
void tide_p2p_flush(void);
void tide_p2p_finalize(void);

/* Start a send of `bytes` contiguous bytes to process `dest_proc` which is
 * rank `dest` in the communicator with context `ctx` where we are rank
 * `my_rank`.  Returns 0 and the request, or -errno (-ENOMEM, -ENOTCONN if
 * the destination cannot be reached). */
int tide_p2p_isend(const void *buf, uint64_t bytes, int dest_proc, int dest, int my_rank,
                   uint32_t ctx, int tag, tide_p2p_mode_t mode, tide_p2p_req_t **out);
/* Post a receive; src may be TIDE_P2P_ANY_SOURCE, tag TIDE_P2P_ANY_TAG. */
int tide_p2p_irecv(void *buf, uint64_t capacity, int src, uint32_t ctx, int tag,
                   tide_p2p_req_t **out);
/* The same for `count` instances of a non-contiguous layout at buf: sent
 * and received through the same eager/rendezvous paths, gathered and
 * scattered piecewise (never a whole-message copy above the eager limit).
 * The request holds a reference on lay until tide_p2p_req_free. */
int tide_p2p_isend_nc(const void *buf, tide_p2p_layout_t *lay, uint64_t count, int dest_proc,
                      int dest, int my_rank, uint32_t ctx, int tag, tide_p2p_mode_t mode,
                      tide_p2p_req_t **out);
int tide_p2p_irecv_nc(void *buf, tide_p2p_layout_t *lay, uint64_t count, int src, uint32_t ctx,
                      int tag, tide_p2p_req_t **out);
int tide_p2p_mrecv_nc(tide_p2p_msg_t *msg, void *buf, tide_p2p_layout_t *lay, uint64_t count,
                      tide_p2p_req_t **out);
/* Probe: 1 and the envelope if a matching message has arrived, else 0.
 * With claim, the message is taken out of the queue (MPI_Mprobe). */
int tide_p2p_iprobe(int src, uint32_t ctx, int tag, int claim, tide_p2p_status_t *st,
                    tide_p2p_msg_t **msg_out);
/* Receive a message taken by a claiming probe. */
int tide_p2p_mrecv(tide_p2p_msg_t *msg, void *buf, uint64_t capacity, tide_p2p_req_t **out);
/* Try to cancel: 1 if cancelled (the request completes as cancelled). */
int tide_p2p_cancel(tide_p2p_req_t *r);
void tide_p2p_req_free(tide_p2p_req_t *r);

static inline int tide_p2p_req_done(const tide_p2p_req_t *r)
{
    return __atomic_load_n(&r->complete, __ATOMIC_ACQUIRE);
}

/* Make progress on everything outstanding; returns events handled. */
int tide_p2p_progress(void);

/* Idle waiting, for every loop that waits on progress (MPI_Wait, blocking
 * collectives, probes, runtime fences): after each pass call
 * tide_p2p_idle(&st, events).  While events come, or for TIDE_IDLE_SPIN
 * after the last one, it returns at once (the caller keeps spinning: the
 * next frame of a transfer is microseconds away, a wake-up ~60 us); after
 * that it blocks in poll(2) on the wire until a frame arrives, a protocol
 * timer is due or TIDE_IDLE_BLOCK passes, then grants a fresh spin.  A
 * waiting process so leaves its core to the others: sched_yield() does not,
 * across the scheduler groups (sessions) of two jobs or hosts sharing a
 * core, and a starting peer starved that way is declared gone.  Start with
 * st = TIDE_P2P_IDLE_INIT. */
typedef struct tide_p2p_idle {
    uint64_t since; /* start of the current idle spin, 0: not idle */
} tide_p2p_idle_t;
#define TIDE_P2P_IDLE_INIT \
    {                      \
        0                  \
    }
void tide_p2p_idle(tide_p2p_idle_t *st, int events);

/* Transport counters for MPI_T: the stream stack's counters (NULL before
 * the network is up), the largest smoothed RTT among our streams (us), and
 * frames this layer dropped as malformed. */
const struct tide_stream_stats *tide_p2p_stream_stats(void);
uint64_t tide_p2p_srtt_max_us(void);
uint64_t tide_p2p_frames_dropped(void);

/* Resource use of this layer (doc/reliability.md): unexpected messages
 * (bytes = payload + bookkeeping, now and at the peak), times input stopped
 * at TIDE_P2P_UNEXPECTED_MAX, processes marked failed, peers known, their
 * streams and the buffers those hold (send + receive, allocated per
 * stream), the peer records, and the wire's injected faults.  With
 * TIDE_P2P_REPORT=1 MPI_Finalize prints them on one line to stderr. */
typedef struct tide_p2p_res {
    uint64_t unexpected_bytes, unexpected_msgs, unexpected_peak;
    uint64_t input_stalls, procs_failed;
    uint64_t peers, streams, stream_buf_bytes, peer_bytes;
    /* faults the wire injected (TIDE_WIRE_FAULTS), kernel drops */
    uint64_t fault_drop, fault_dup, fault_reorder, fault_corrupt, wire_drops;
} tide_p2p_res_t;
void tide_p2p_get_res(tide_p2p_res_t *r);

/* Process `proc` is gone (e.g. the runtime's failure event).  Safe from any
 * thread, does not block; the next progress fails every pending and later
 * operation with it (-ECONNRESET: MPI_ERR_PROC_FAILED). */
void tide_p2p_proc_failed(int proc);
/* Tell a receive naming its source which process that is (the MPI layer
 * knows the communicator), so it fails when that process is gone -- at
 * once if it already is and no message from it is waiting. */
void tide_p2p_recv_set_proc(tide_p2p_req_t *r, int proc);

/* Process failure beyond the named peer (fail.c, doc/reliability.md).
 * The MPI layer registers each communicator's processes (procs NULL: the
 * identity 0..n-1) on its point-to-point context ctx; once a member is
 * marked failed, the collective context ctx + 1 is revoked: its pending
 * and later operations fail (-ECONNRESET), what arrives on it is dropped.
 * group_set returns 0 or -ENOMEM; group_clear (the communicator is freed)
 * forgets the group and un-revokes ctx + 1 for the next owner of the id.
 * group_failed: members of the group known failed, their processes
 * written to procs (up to max; procs may be NULL). */
int tide_p2p_group_set(uint32_t ctx, const int *procs, int n);
void tide_p2p_group_clear(uint32_t ctx);
int tide_p2p_group_failed(uint32_t ctx, int *procs, int max);
/* Processes marked failed so far by this process (only grows): callers
 * waiting in a loop look again only when it has changed. */
uint64_t tide_p2p_fail_epoch(void);
/* 1 if process proc is marked failed; safe without the lock. */
int tide_p2p_proc_dead(int proc);
/* 1 while a receive waits in the posted queue (no message matched it). */
int tide_p2p_recv_posted(const tide_p2p_req_t *r);

/* The largest message sent eagerly (TIDE_EAGER_LIMIT). */
uint64_t tide_p2p_eager_limit(void);

#endif
