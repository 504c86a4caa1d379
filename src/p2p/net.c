/* The network path of point-to-point messaging: MPI messages as frames in
 * Tide streams (include/tide/stream.h) between processes.
 *
 * Connections.  Each process listens on TIDE_P2P_PORT of its wire endpoint
 * and publishes the endpoint's address through the runtime (PMIx).  The
 * first message to a peer looks the address up and connects; the stream so
 * made carries everything this process sends to that peer, in order, so MPI's
 * non-overtaking rule holds per (source, communicator).  What a peer sends
 * to us arrives on the stream it opened to us (its first frame, HELLO, names
 * it).  So each pair of processes that talk both ways has two streams, one
 * per direction; control replies (CTS, match acks) travel on the replying
 * side's own stream.
 *
 * Frames.  A fixed 40-byte header (tide_p2p_frame_t), then for EAGER and
 * DATA a payload.  EAGER: header + payload copied into the stream; the send
 * completes once the stream has taken the bytes (or at the receiver's match
 * acknowledgement, ACK, for a synchronous send).  Rendezvous: RTS; the
 * receiver matches and answers CTS with how much it wants (less than the
 * message when it truncates); the sender then sends DATA chunks of at most
 * TIDE_P2P_CHUNK bytes zero-copy from the user's buffer and completes when
 * the stream reports every chunk acknowledged.  Between chunks other frames
 * to the same peer go first, so small messages do not wait behind a huge one.
 *
 * Input.  Each incoming stream is parsed by a small state machine: header,
 * then payload received straight into the matched user buffer (or into an
 * unexpected-message buffer when no receive is posted yet).
 *
 * Non-contiguous buffers (a tide_p2p_layout_t, derived datatypes) take the
 * same frames; only the copies differ (doc/datatypes.md).  EAGER: the
 * user's blocks go to tide_stream_sendv as iovecs, TIDE_P2P_IOV at a time.
 * DATA: each chunk is copied into the stream the same way (header, then the
 * chunk's blocks as iovecs) instead of zero-copy, so the stream's send
 * buffer is the only staging memory and the send completes once the last
 * chunk is in the stream.  Receiving: pieces of at least TIDE_P2P_NC_DIRECT
 * bytes are received straight into the user's blocks; smaller ones through
 * a bounded bounce buffer, unpacked as they arrive.  Frames that do
 * not parse, or name requests we do not have, are dropped, counted and the
 * stream is closed: they are never trusted.
 *
 * Everything here runs with tide_p2p_lock held. */
#include "config.h"
#include "p2p/auth.h"
#include "p2p/frame.h"
#include "p2p/p2p_impl.h"
#include "tide/stream.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/param.h"
#include "wire/wire.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

TIDE_PARAM_DEFINE(p2p_chunk, TIDE_PARAM_SIZE, "P2P_CHUNK", "256k",
                  "Size of the rendezvous DATA chunks: other messages to the same peer may go "
                  "between two chunks");
TIDE_PARAM_DEFINE(p2p_port, TIDE_PARAM_INT, "P2P_PORT", "4242",
                  "Stream port on which every rank listens for its peers' connections");

TIDE_PARAM_DEFINE(async_progress, TIDE_PARAM_BOOL, "ASYNC_PROGRESS", "1",
                  "Run a progress thread that keeps acknowledgements, retransmissions and "
                  "rendezvous moving while the application computes outside MPI; it sleeps in "
                  "the kernel when there is nothing to do");

TIDE_PARAM_DEFINE(p2p_peer_timeout, TIDE_PARAM_TIME, "P2P_PEER_TIMEOUT", "10s",
                  "A peer whose streams stay silent this long (keepalive probes unanswered, "
                  "data unacknowledged) is failed: calls to it return MPI_ERR_PROC_FAILED "
                  "(0: never; needs the peer's progress thread or MPI calls to answer)");
TIDE_PARAM_DEFINE(p2p_unexp_max, TIDE_PARAM_SIZE, "P2P_UNEXPECTED_MAX", "64m",
                  "Memory for unexpected messages (payload plus bookkeeping) beyond which "
                  "this rank stops reading its peers' streams until receives drain it: the "
                  "stream windows close and the senders block (flow control)");

#define TIDE_P2P_ADDR_KEY "tide.p2p.addr"
/* How often progress looks at the state of every peer's streams. */
#define TIDE_P2P_CHECK_NS 100000000ull

/* Non-contiguous buffers: iovecs per tide_stream_sendv call; pieces
 * received directly into the user's blocks from this size up (smaller ones
 * through the bounce buffer of TIDE_P2P_BOUNCE bytes). */
#define TIDE_P2P_IOV       64
#define TIDE_P2P_NC_DIRECT 256
#define TIDE_P2P_BOUNCE    16384

/* One item of a connection's output queue. */
typedef struct tide_p2p_out {
    tide_list_t link;
    tide_p2p_frame_t hdr;
    const char *payload; /* EAGER: copied; DATA: sent zero-copy by chunks */
    uint64_t len;        /* payload bytes */
    uint64_t done;       /* header+payload bytes written (EAGER), or payload bytes queued (DATA) */
    tide_p2p_req_t *req; /* EAGER standard: complete when written; DATA: the send */
    /* non-contiguous payload (lay != NULL): where the next byte comes from */
    const tide_p2p_layout_t *lay;
    tide_p2p_cur_t cur;
    tide_p2p_frame_t chdr; /* DATA: header of the chunk being written */
    uint64_t chdr_done;    /* its bytes written */
    uint64_t chunk_left;   /* payload bytes of that chunk still to write */
} tide_p2p_out_t;

/* A zero-copy chunk in flight. */
typedef struct tide_p2p_zc {
    tide_stream_zc_t zc;
    tide_p2p_req_t *req;
    int last;
} tide_p2p_zc_t;

typedef enum {
    TIDE_P2P_IN_HDR = 0,
    TIDE_P2P_IN_PAYLOAD = 1,
} tide_p2p_in_state_t;

/* A peer process: our stream to it and its stream to us. */
typedef struct tide_p2p_peer {
    int proc;
    tide_stream_t *out;  /* we send on this one (NULL until first use) */
    int out_ready;       /* established */
    int out_error;       /* -errno: the stream died */
    uint64_t connect_ns; /* when our stream's connection attempt began */
    int failed;          /* -errno: the process is gone (every call to it fails) */
    tide_list_t outq;    /* tide_p2p_out_t */
    tide_list_t active;  /* in tide_p2p_net.busy while outq is not empty */
    /* input side */
    tide_stream_t *in;
    tide_p2p_in_state_t in_state;
    tide_p2p_frame_t in_hdr;
    size_t in_hgot;
    char *in_dst;                    /* where payload goes (NULL: discard) */
    uint64_t in_left;                /* payload bytes still to read into in_dst */
    uint64_t in_discard;             /* then bytes to throw away (truncation) */
    tide_p2p_req_t *in_req;          /* matched receive being filled */
    tide_p2p_msg_t *in_msg;          /* unexpected message being filled */
    const tide_p2p_layout_t *in_lay; /* in_req's buffer is non-contiguous: fill in_cur */
    tide_p2p_cur_t in_cur;
    int in_held; /* the header read is held back (flow control) */
    int in_rdv;  /* rendezvous receives from this peer waiting for DATA */
} tide_p2p_peer_t;

typedef struct tide_p2p_net {
    tide_wire_t *wire;
    tide_stream_stack_t *stack;
    tide_stream_t *listener;
    int my_proc, nprocs;
    tide_p2p_peer_t **peers; /* by process number, created on first contact */
    tide_stream_t **pending; /* accepted streams whose HELLO has not arrived */
    int npending, cap_pending;
    tide_list_t busy;  /* peers with output queued */
    tide_hash_t sreqs; /* id -> sender request waiting for CTS/ACK */
    tide_hash_t rreqs; /* id -> receive request waiting for DATA */
    uint64_t next_id;
    uint64_t chunk;
    tide_p2p_rte_ops_t rte;
    tide_p2p_out_t *out_free;
    uint64_t drops;               /* malformed frames (counted, stream closed) */
    uint64_t next_check;          /* next look at the peers' stream states (ns) */
    uint64_t unexp_max;           /* TIDE_P2P_UNEXPECTED_MAX */
    uint64_t stalls;              /* frames held back for the unexpected bound */
    int nfailed;                  /* processes marked failed */
    char bounce[TIDE_P2P_BOUNCE]; /* small pieces of non-contiguous receives */
    pthread_t thread;
    int thread_running;
    int thread_stop; /* atomic */
} tide_p2p_net_t;

static tide_p2p_net_t net;

/* When an application thread last drove progress (see the progress thread). */
uint64_t tide_p2p_app_progress_ns;

static tide_p2p_out_t *tide_p2p_out_alloc(void)
{
    tide_p2p_out_t *o = net.out_free;
    if (o)
        net.out_free = (tide_p2p_out_t *)o->link.next;
    else if (!(o = malloc(sizeof(*o))))
        return NULL;
    memset(o, 0, sizeof(*o));
    o->hdr.magic = TIDE_P2P_MAGIC;
    tide_list_init(&o->link);
    return o;
}

static void tide_p2p_out_free(tide_p2p_out_t *o)
{
    o->link.next = (tide_list_t *)net.out_free;
    net.out_free = o;
}

/* ---- connections ------------------------------------------------------ */

static tide_p2p_peer_t *tide_p2p_peer_get(int proc)
{
    if (proc < 0 || proc >= net.nprocs)
        return NULL;
    tide_p2p_peer_t *p = net.peers[proc];
    if (p)
        return p;
    p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->proc = proc;
    tide_list_init(&p->outq);
    tide_list_init(&p->active);
    net.peers[proc] = p;
    return p;
}

TIDE_PARAM_DEFINE(p2p_lowlat, TIDE_PARAM_BOOL, "P2P_LOWLAT", "0",
                  "1: acknowledge every segment at once on MPI streams; 0: only while a "
                  "rendezvous receive from that peer waits for DATA (its sender completes "
                  "on the ACK), delayed ACKs otherwise (an eager send completes at the copy)");

/* Peer failure bound: keepalive probes start after the stream has heard
 * nothing for timeout - KEEPCNT * interval, and the stream fails (ETIMEDOUT)
 * when KEEPCNT probes at `interval` stay unanswered -- data outstanding or
 * not, since the probe timer counts from the last segment received. */
#define TIDE_P2P_KEEPCNT 4
static void tide_p2p_keepalive(tide_stream_t *s)
{
    int64_t t = tide_param_int(&tide_param_p2p_peer_timeout);
    if (t <= 0)
        return;
    int64_t intvl = t / (2 * TIDE_P2P_KEEPCNT);
    if (intvl > 1000000000)
        intvl = 1000000000;
    tide_stream_setopt(s, TIDE_SO_KEEPIDLE, t - TIDE_P2P_KEEPCNT * intvl);
    tide_stream_setopt(s, TIDE_SO_KEEPINTVL, intvl);
    tide_stream_setopt(s, TIDE_SO_KEEPCNT, TIDE_P2P_KEEPCNT);
    tide_stream_setopt(s, TIDE_SO_KEEPALIVE, 1);
}

static void tide_p2p_stream_opts(tide_stream_t *s)
{
    tide_stream_setopt(s, TIDE_SO_NODELAY, 1);
    if (tide_param_int(&tide_param_p2p_lowlat))
        tide_stream_setopt(s, TIDE_SO_LOWLAT, 1);
    tide_p2p_keepalive(s);
}

/* A pure ACK per eager message would cost a frame (a syscall) on the path
 * of every ping-pong, as each direction has its own stream and nothing can
 * carry the ACK back.  Only a rendezvous sender waits for ACKs, so p's
 * stream to us acknowledges at once while we wait for DATA from p. */
static void tide_p2p_in_rdv(tide_p2p_peer_t *p, int delta)
{
    int before = p->in_rdv;
    p->in_rdv += delta;
    if (p->in && !tide_param_int(&tide_param_p2p_lowlat) && !before != !p->in_rdv)
        tide_stream_setopt(p->in, TIDE_SO_LOWLAT, p->in_rdv > 0);
}

/* Open our stream to p: look its address up (direct modex), connect without
 * waiting, and queue HELLO as the first frame. */
static int tide_p2p_connect(tide_p2p_peer_t *p)
{
    tide_wire_addr_t addr;
    size_t len = sizeof(addr);
    int rc = net.rte.lookup(p->proc, TIDE_P2P_ADDR_KEY, &addr, &len);
    if (rc) {
        tide_error("cannot find the address of process %d through the runtime (%s)", p->proc,
                   strerror(-rc));
        return rc;
    }
    rc = tide_stream_open(net.stack, &p->out);
    if (rc)
        return rc;
    tide_p2p_stream_opts(p->out);
    rc = tide_stream_connect(p->out, &addr, (uint16_t)tide_param_int(&tide_param_p2p_port),
                             TIDE_STREAM_DONTWAIT);
    if (rc && rc != -EINPROGRESS) {
        char a[96];
        tide_error("cannot connect to process %d at %s: %s", p->proc,
                   tide_wire_addr_str(&addr, a, sizeof(a)), strerror(-rc));
        tide_stream_close(p->out);
        p->out = NULL;
        return rc;
    }
    p->connect_ns = tide_time_ns();
    tide_p2p_out_t *o = tide_p2p_out_alloc();
    if (!o)
        return -ENOMEM;
    o->hdr.kind = TIDE_P2P_F_HELLO;
    o->hdr.id = (uint64_t)net.my_proc;
    tide_list_push_front(&p->outq, &o->link);
    return 0;
}

static int tide_p2p_enqueue(tide_p2p_peer_t *p, tide_p2p_out_t *o)
{
    if (p->out_error)
        return p->out_error;
    if (!p->out) {
        int rc = tide_p2p_connect(p);
        if (rc) {
            p->out_error = rc;
            return rc;
        }
    }
    tide_list_push_back(&p->outq, &o->link);
    if (tide_list_empty(&p->active))
        tide_list_push_back(&net.busy, &p->active);
    return 0;
}

/* ---- output ----------------------------------------------------------- */

static void tide_p2p_zc_done(tide_stream_zc_t *zc, void *arg)
{
    tide_p2p_zc_t *z = arg;
    (void)zc;
    /* A stream is only aborted for a failed peer: report that failure. */
    if (z->zc.status && !z->req->status.error)
        z->req->status.error = z->zc.status == -ECONNABORTED ? -ECONNRESET : z->zc.status;
    if (z->last)
        tide_p2p_req_complete(z->req);
    free(z);
}

/* Write as much of an EAGER/control item as the stream takes; 1 when the
 * item is fully written, 0 when the stream is full, -errno on error. */
static int tide_p2p_write_copy(tide_p2p_peer_t *p, tide_p2p_out_t *o)
{
    uint64_t total = sizeof(o->hdr) + o->len;
    while (o->done < total) {
        struct iovec iov[2];
        int n = 0;
        if (o->done < sizeof(o->hdr)) {
            iov[n].iov_base = (char *)&o->hdr + o->done;
            iov[n++].iov_len = sizeof(o->hdr) - o->done;
            if (o->len) {
                iov[n].iov_base = (void *)o->payload;
                iov[n++].iov_len = o->len;
            }
        } else {
            uint64_t off = o->done - sizeof(o->hdr);
            iov[n].iov_base = (void *)(o->payload + off);
            iov[n++].iov_len = o->len - off;
        }
        ssize_t w = tide_stream_sendv(p->out, iov, n, TIDE_STREAM_DONTWAIT);
        if (w == -EAGAIN || w == 0)
            return 0;
        if (w < 0)
            return (int)w;
        o->done += (uint64_t)w;
    }
    return 1;
}

/* Header bytes not yet written ([hdr + *done, hdr + len)) as the first
 * iovec, then the payload's next blocks up to `left` bytes. */
static int tide_p2p_nc_iov(struct iovec *iov, const void *hdr, uint64_t hlen, uint64_t hdone,
                           const tide_p2p_cur_t *cur, uint64_t left)
{
    int n = 0;
    if (hdone < hlen) {
        iov[n].iov_base = (char *)hdr + hdone;
        iov[n++].iov_len = hlen - hdone;
    }
    uint64_t got;
    return n + tide_p2p_cur_iov(cur, iov + n, TIDE_P2P_IOV - n, left, &got);
}

/* tide_p2p_write_copy for a non-contiguous payload: the user's blocks go
 * into the stream as iovecs, a batch per call. */
static int tide_p2p_write_copy_nc(tide_p2p_peer_t *p, tide_p2p_out_t *o)
{
    uint64_t total = sizeof(o->hdr) + o->len;
    while (o->done < total) {
        struct iovec iov[TIDE_P2P_IOV];
        int n = tide_p2p_nc_iov(iov, &o->hdr, sizeof(o->hdr), o->done, &o->cur, total - o->done);
        ssize_t w = tide_stream_sendv(p->out, iov, n, TIDE_STREAM_DONTWAIT);
        if (w == -EAGAIN || w == 0)
            return 0;
        if (w < 0)
            return (int)w;
        uint64_t h = o->done < sizeof(o->hdr) ? sizeof(o->hdr) - o->done : 0;
        h = h < (uint64_t)w ? h : (uint64_t)w;
        tide_p2p_cur_skip(&o->cur, (uint64_t)w - h);
        o->done += (uint64_t)w;
    }
    return 1;
}

/* The next DATA chunk of a non-contiguous rendezvous send, copied into the
 * stream (header, then the chunk's blocks as iovecs); a chunk may take
 * several calls when the stream is full, and nothing else is written to the
 * stream until it is whole.  1 when the last chunk is written, 0 to come
 * back (the stream is full, or a chunk is done and others may go first). */
static int tide_p2p_write_chunk_nc(tide_p2p_peer_t *p, tide_p2p_out_t *o)
{
    if (o->chunk_left == 0 && o->chdr_done == sizeof(o->chdr))
        o->chdr_done = 0; /* the previous chunk is whole: start the next */
    if (o->chunk_left == 0 && o->chdr_done == 0) {
        uint64_t n = o->len - o->done < net.chunk ? o->len - o->done : net.chunk;
        o->chdr = o->hdr;
        o->chdr.len = n;
        o->chdr.id = o->done; /* offset */
        o->chunk_left = n;
    }
    while (o->chunk_left || o->chdr_done < sizeof(o->chdr)) {
        struct iovec iov[TIDE_P2P_IOV];
        int n =
            tide_p2p_nc_iov(iov, &o->chdr, sizeof(o->chdr), o->chdr_done, &o->cur, o->chunk_left);
        ssize_t w = tide_stream_sendv(p->out, iov, n, TIDE_STREAM_DONTWAIT);
        if (w == -EAGAIN || w == 0)
            return 0;
        if (w < 0)
            return (int)w;
        uint64_t h = sizeof(o->chdr) - o->chdr_done;
        h = h < (uint64_t)w ? h : (uint64_t)w;
        o->chdr_done += h;
        tide_p2p_cur_skip(&o->cur, (uint64_t)w - h);
        o->chunk_left -= (uint64_t)w - h;
        o->done += (uint64_t)w - h;
    }
    return o->done == o->len;
}

/* Queue the next DATA chunk of a rendezvous send: its header copied, its
 * payload zero-copy.  1 when the last chunk is queued, 0 to come back. */
static int tide_p2p_write_chunk(tide_p2p_peer_t *p, tide_p2p_out_t *o)
{
    uint64_t n = o->len - o->done < net.chunk ? o->len - o->done : net.chunk;
    tide_p2p_frame_t h = o->hdr;
    h.len = n;
    h.id = o->done; /* offset */
    tide_p2p_zc_t *z = malloc(sizeof(*z));
    if (!z)
        return -ENOMEM;
    z->zc.buf = o->payload + o->done;
    z->zc.len = n;
    z->zc.cb = tide_p2p_zc_done;
    z->zc.arg = z;
    z->zc.done = 0;
    z->zc.status = 0;
    z->req = o->req;
    z->last = o->done + n == o->len;
    /* The header must go in whole, with the chunk right behind it. */
    ssize_t w = tide_stream_send(p->out, &h, sizeof(h), TIDE_STREAM_DONTWAIT);
    if (w == -EAGAIN || w == 0) {
        free(z);
        return 0;
    }
    if (w < 0 || (size_t)w != sizeof(h)) {
        free(z);
        return w < 0 ? (int)w : -EIO;
    }
    int rc;
    while ((rc = tide_stream_send_zc(p->out, &z->zc)) == -EAGAIN)
        tide_stream_stack_progress(net.stack);
    if (rc) {
        free(z);
        return rc;
    }
    o->done += n;
    return o->done == o->len;
}

/* Fail every request queued to a peer whose stream died. */
static void tide_p2p_peer_fail(tide_p2p_peer_t *p, int err)
{
    if (!p->out_error)
        tide_error("the stream to process %d failed (%s); its pending sends fail", p->proc,
                   strerror(-err));
    p->out_error = err;
    tide_list_t *n;
    while ((n = tide_list_pop_front(&p->outq))) {
        tide_p2p_out_t *o = tide_container_of(n, tide_p2p_out_t, link);
        if (o->req && !tide_p2p_req_done(o->req)) {
            o->req->status.error = err;
            tide_p2p_req_complete(o->req);
        }
        tide_p2p_out_free(o);
    }
    /* Sends to it still waiting for a CTS or a match acknowledgement. */
    size_t it = 0;
    uint64_t id;
    void *v;
    while (tide_hash_next(&net.sreqs, &it, &id, &v)) {
        tide_p2p_req_t *s = v;
        if (s->peer_proc != p->proc)
            continue;
        tide_hash_del(&net.sreqs, id);
        it = 0; /* deletion moves slots: start again */
        s->status.error = err;
        tide_p2p_req_complete(s);
    }
}

/* Processes reported gone from another thread (the runtime's event
 * handler) or by a peer's notice, applied by the next progress; and the
 * processes marked failed (read without the lock).  Kept for the life of
 * the process: a late event must never touch freed memory. */
static int *tide_p2p_dead_note;
static int *tide_p2p_dead_mark;
static int tide_p2p_dead_nprocs;
static int tide_p2p_dead_any;
static uint64_t tide_p2p_dead_epoch; /* processes marked failed so far */

TIDE_PARAM_DEFINE(p2p_failure_events, TIDE_PARAM_BOOL, "P2P_FAILURE_EVENTS", "1",
                  "Act on the runtime's process-failure events (PMIx, mpirun "
                  "--enable-recovery); 0: only on this process's own detection "
                  "(TIDE_P2P_PEER_TIMEOUT) and its peers' failure notices");

int tide_p2p_proc_dead(int proc)
{
    int *mark = __atomic_load_n(&tide_p2p_dead_mark, __ATOMIC_ACQUIRE);
    return mark && proc >= 0 && proc < tide_p2p_dead_nprocs &&
           __atomic_load_n(&mark[proc], __ATOMIC_ACQUIRE);
}

uint64_t tide_p2p_fail_epoch(void)
{
    return __atomic_load_n(&tide_p2p_dead_epoch, __ATOMIC_ACQUIRE);
}

static void tide_p2p_queue_ctrl(int proc, int kind, uint64_t id, uint64_t id2, uint64_t len,
                                int pump);

/* Tell every other live process of the job that proc failed (a FAILED
 * frame), so that those which never talked to it -- and so would never
 * time it out -- fail their collectives too.  Only for failures this
 * process found itself: the runtime's event reaches everyone anyway, and
 * a notice is not passed on (one hop from the detector). */
static void tide_p2p_notify_failed(int proc)
{
    int sent = 0;
    for (int i = 0; i < net.nprocs; i++) {
        if (i == net.my_proc || i == proc || tide_p2p_proc_dead(i))
            continue;
        /* queued only: the next progress writes it (no failure of another
         * peer from inside this one's) */
        tide_p2p_queue_ctrl(i, TIDE_P2P_F_FAILED, (uint64_t)proc, 0, 0, 0);
        sent++;
    }
    tide_info("told %d processes that process %d failed", sent, proc);
}

/* Receives waiting for DATA from process proc fail with err. */
static void tide_p2p_fail_rreqs(int proc, int err)
{
    size_t it = 0;
    uint64_t id;
    void *v;
    while (tide_hash_next(&net.rreqs, &it, &id, &v)) {
        tide_p2p_req_t *r = v;
        if (r->peer_proc != proc)
            continue;
        tide_hash_del(&net.rreqs, id);
        it = 0;
        r->status.error = err;
        tide_p2p_req_complete(r);
    }
}

/* The input side of a failed process: a receive being filled fails, a
 * half-arrived unexpected message is thrown away, the stream is closed. */
static void tide_p2p_fail_input(tide_p2p_peer_t *p, int err)
{
    if (p->in_state == TIDE_P2P_IN_PAYLOAD && p->in_hdr.kind == TIDE_P2P_F_EAGER) {
        if (p->in_req) {
            p->in_req->status.error = err;
            tide_p2p_req_complete(p->in_req);
        } else if (p->in_msg) {
            free(p->in_msg->data);
            free(p->in_msg);
        }
    }
    p->in_req = NULL;
    p->in_msg = NULL;
    p->in_state = TIDE_P2P_IN_HDR;
    p->in_hgot = 0;
    if (p->in) {
        tide_stream_abort(p->in);
        p->in = NULL;
    }
}

/* Why a peer was declared gone, for whoever reads the log: each of its
 * streams' state (in the spirit of `ss -i`) and the wire's counters -- a
 * peer that never answered looks different from a wire that stopped
 * delivering (kernel ring drops) or a window that never opened. */
static void tide_p2p_diag_stream(const tide_p2p_peer_t *p, const char *dir, tide_stream_t *s)
{
    tide_stream_info_t i;
    if (!s || tide_stream_get_info(s, &i))
        return;
    tide_warn("process %d, stream %s: %s flight %u cwnd %u snd_wnd %u rcv_wnd %u rto %u us "
              "backoff %u srtt %u us; %llu segs out, %llu in, %llu retransmitted, %llu RTOs, "
              "%llu window probes, %llu bytes acked, %llu received",
              p->proc, dir, tide_stream_state_name(i.state), i.flight, i.cwnd, i.snd_wnd, i.rcv_wnd,
              i.rto_us, i.backoff, i.srtt_us, (unsigned long long)i.segs_out,
              (unsigned long long)i.segs_in, (unsigned long long)i.retrans_segs,
              (unsigned long long)i.rto_fires, (unsigned long long)i.window_probes,
              (unsigned long long)i.bytes_acked, (unsigned long long)i.bytes_received);
}

static void tide_p2p_diag(const tide_p2p_peer_t *p)
{
    tide_p2p_diag_stream(p, "to it", p->out);
    tide_p2p_diag_stream(p, "from it", p->in);
    if (net.wire->ops->update_stats)
        net.wire->ops->update_stats(net.wire);
    const tide_wire_stats_t *w = &net.wire->stats;
    const tide_stream_stats_t *st = tide_stream_stack_stats(net.stack);
    tide_warn("this process: wire %s rx %llu frames (%llu dropped by the kernel, %llu bad), "
              "tx %llu (%llu errors); stack %llu keepalive probes, %llu backlog drops, %llu "
              "key drops, %llu CRC errors, %llu for no connection",
              net.wire->ops->name, (unsigned long long)w->rx_frames,
              (unsigned long long)w->rx_dropped_kernel, (unsigned long long)w->rx_dropped_bad,
              (unsigned long long)w->tx_frames, (unsigned long long)w->tx_errors,
              (unsigned long long)st->keepalive_probes, (unsigned long long)st->backlog_drops,
              (unsigned long long)st->key_drops, (unsigned long long)st->crc_errors,
              (unsigned long long)st->no_conn_drops);
}

/* Process p is gone (its stream failed; or, told, the runtime or a peer
 * said so): every pending and later operation with it completes with err,
 * which the MPI layer reports as MPI_ERR_PROC_FAILED, and the collective
 * contexts of its communicators are revoked (fail.c).  Messages it sent
 * that arrived whole stay receivable. */
static void tide_p2p_proc_fail_how(tide_p2p_peer_t *p, int err, int told)
{
    if (p->failed)
        return;
    tide_error("process %d is gone (%s): operations with it fail", p->proc,
               told ? "reported by the runtime or a peer" : strerror(-err));
    if (!told)
        tide_p2p_diag(p);
    p->failed = err;
    net.nfailed++;
    if (tide_p2p_dead_mark)
        __atomic_store_n(&tide_p2p_dead_mark[p->proc], 1, __ATOMIC_RELEASE);
    __atomic_add_fetch(&tide_p2p_dead_epoch, 1, __ATOMIC_ACQ_REL);
    p->out_error = err; /* logged above */
    tide_p2p_peer_fail(p, err);
    if (!tide_list_empty(&p->active))
        tide_list_del(&p->active);
    if (p->out) {
        tide_stream_abort(p->out);
        p->out = NULL;
    }
    tide_p2p_fail_input(p, err);
    tide_p2p_fail_rreqs(p->proc, err);
    tide_p2p_match_fail_proc(p->proc, err);
    tide_p2p_groups_proc_failed(p->proc, err);
    if (!told)
        tide_p2p_notify_failed(p->proc);
}

static void tide_p2p_proc_fail(tide_p2p_peer_t *p, int err)
{
    tide_p2p_proc_fail_how(p, err, 0);
}

static void tide_p2p_note_dead(int proc)
{
    int *note = __atomic_load_n(&tide_p2p_dead_note, __ATOMIC_ACQUIRE);
    if (!note || proc < 0 || proc >= tide_p2p_dead_nprocs)
        return;
    __atomic_store_n(&note[proc], 1, __ATOMIC_RELEASE);
    __atomic_store_n(&tide_p2p_dead_any, 1, __ATOMIC_RELEASE);
}

void tide_p2p_proc_failed(int proc)
{
    if (tide_param_int(&tide_param_p2p_failure_events))
        tide_p2p_note_dead(proc);
}

/* A connection attempt is bounded like a silent peer, by
 * TIDE_P2P_PEER_TIMEOUT: the stream's own SYN retries (a first message to
 * a process that died before we ever talked) would take ~13 s.  Signed:
 * an attempt begun after `now` was read (a failure notice sent from this
 * very pass) is not late. */
static int tide_p2p_connect_late(const tide_p2p_peer_t *p, uint64_t now)
{
    int64_t t = tide_param_int(&tide_param_p2p_peer_timeout);
    return t > 0 && (int64_t)(now - p->connect_ns) > t;
}

/* Streams that died while idle (keepalive) and failures the runtime
 * reported: looked at every TIDE_P2P_CHECK_NS. */
static void tide_p2p_check_peers(void)
{
    uint64_t now = tide_time_ns();
    int notes = __atomic_exchange_n(&tide_p2p_dead_any, 0, __ATOMIC_ACQ_REL);
    if (!notes && now < net.next_check)
        return;
    net.next_check = now + TIDE_P2P_CHECK_NS;
    for (int i = 0; i < net.nprocs; i++) {
        if (notes && __atomic_exchange_n(&tide_p2p_dead_note[i], 0, __ATOMIC_ACQ_REL)) {
            tide_p2p_peer_t *p = i != net.my_proc ? tide_p2p_peer_get(i) : NULL;
            if (p)
                tide_p2p_proc_fail_how(p, -ECONNRESET, 1);
            continue;
        }
        tide_p2p_peer_t *p = net.peers[i];
        int64_t st = 0, err = 0;
        if (!p || !p->out || p->failed)
            continue;
        tide_stream_getopt(p->out, TIDE_SO_STATE, &st);
        if (st == TIDE_STREAM_SYN_SENT && tide_p2p_connect_late(p, now)) {
            tide_p2p_proc_fail(p, -ETIMEDOUT);
            continue;
        }
        if (st != TIDE_STREAM_CLOSED)
            continue;
        tide_stream_getopt(p->out, TIDE_SO_ERROR, &err);
        if (err)
            tide_p2p_proc_fail(p, (int)err);
    }
}

/* A receive learns which process its named source is (the MPI layer knows
 * the communicator); if that process is already gone and the receive is
 * still waiting for a message, it fails now. */
void tide_p2p_recv_set_proc(tide_p2p_req_t *r, int proc)
{
    pthread_mutex_lock(&tide_p2p_lock);
    if (!tide_p2p_req_done(r) && r->peer_proc < 0) {
        r->peer_proc = proc;
        tide_p2p_peer_t *p = net.peers && proc >= 0 && proc < net.nprocs ? net.peers[proc] : NULL;
        if (p && p->failed) {
            tide_list_del(&r->link);
            r->status.error = p->failed;
            tide_p2p_req_complete(r);
        }
    }
    pthread_mutex_unlock(&tide_p2p_lock);
}

static void tide_p2p_pump_out(tide_p2p_peer_t *p)
{
    if (!p->out_ready) {
        int64_t st = 0, err = 0;
        tide_stream_getopt(p->out, TIDE_SO_STATE, &st);
        if (st != TIDE_STREAM_ESTABLISHED && st != TIDE_STREAM_CLOSE_WAIT) {
            tide_stream_getopt(p->out, TIDE_SO_ERROR, &err);
            if (err)
                tide_p2p_proc_fail(p, (int)err);
            return;
        }
        p->out_ready = 1;
    }
    int budget = 64;
    while (!tide_list_empty(&p->outq) && budget-- > 0) {
        tide_p2p_out_t *o = tide_list_first(&p->outq, tide_p2p_out_t, link);
        int rc;
        if (__builtin_expect(o->lay != NULL, 0))
            rc = o->hdr.kind == TIDE_P2P_F_DATA ? tide_p2p_write_chunk_nc(p, o)
                                                : tide_p2p_write_copy_nc(p, o);
        else
            rc = o->hdr.kind == TIDE_P2P_F_DATA ? tide_p2p_write_chunk(p, o)
                                                : tide_p2p_write_copy(p, o);
        if (rc < 0) {
            if (rc == -ENOMEM)
                tide_p2p_peer_fail(p, rc);
            else
                tide_p2p_proc_fail(p, rc);
            return;
        }
        if (rc == 0)
            return; /* the stream is full: come back later */
        tide_list_del(&o->link);
        if (o->hdr.kind == TIDE_P2P_F_DATA) {
            if (o->lay) /* copied into the stream: the user's buffer is free */
                tide_p2p_req_complete(o->req);
            tide_p2p_out_free(o);
            continue;
        }
        if (o->req)
            tide_p2p_req_complete(o->req);
        tide_p2p_out_free(o);
    }
    /* A partly sent DATA item goes behind whatever else is queued. */
    tide_p2p_out_t *o = tide_list_first(&p->outq, tide_p2p_out_t, link);
    if (o && o->hdr.kind == TIDE_P2P_F_DATA && o->done && o->link.next != &p->outq &&
        o->chunk_left == 0 && (!o->lay || o->chdr_done == sizeof(o->chdr))) {
        tide_list_del(&o->link);
        tide_list_push_back(&p->outq, &o->link);
    }
}

/* ---- sends --------------------------------------------------------------- */

int tide_p2p_net_send(tide_p2p_req_t *s)
{
    tide_p2p_peer_t *p = tide_p2p_peer_get(s->peer_proc);
    if (p && p->failed) { /* completes at once with the failure */
        s->status.error = p->failed;
        tide_p2p_req_complete(s);
        return 0;
    }
    tide_p2p_out_t *o = p ? tide_p2p_out_alloc() : NULL;
    if (!o)
        return -ENOMEM;
    o->hdr.ctx = s->ctx;
    o->hdr.src = s->my_rank;
    o->hdr.tag = s->tag;
    o->hdr.len = s->bytes;
    int eager = s->bytes <= tide_p2p_eager_limit() || s->mode == TIDE_P2P_MODE_READY;
    if (eager) {
        o->hdr.kind = TIDE_P2P_F_EAGER;
        o->payload = s->buf;
        o->len = s->bytes;
        if (s->lay) {
            o->lay = s->lay;
            tide_p2p_cur_init(&o->cur, s->buf, s->lay, s->lay_count, 0);
        }
        if (s->mode == TIDE_P2P_MODE_SYNC) {
            o->hdr.flags = TIDE_P2P_FLAG_SYNC;
            o->hdr.id = ++net.next_id;
            tide_hash_put(&net.sreqs, o->hdr.id, s);
        } else {
            o->req = s; /* complete once written */
        }
    } else {
        o->hdr.kind = TIDE_P2P_F_RTS;
        o->hdr.id = ++net.next_id;
        tide_hash_put(&net.sreqs, o->hdr.id, s);
    }
    uint64_t id = o->hdr.id;
    int rc = tide_p2p_enqueue(p, o);
    if (rc) {
        if (id)
            tide_hash_del(&net.sreqs, id);
        tide_p2p_out_free(o);
        return rc;
    }
    tide_p2p_pump_out(p);
    return 0;
}

/* Queue a control frame; with pump, start writing it now. */
static void tide_p2p_queue_ctrl(int proc, int kind, uint64_t id, uint64_t id2, uint64_t len,
                                int pump)
{
    tide_p2p_peer_t *p = tide_p2p_peer_get(proc);
    tide_p2p_out_t *o = p ? tide_p2p_out_alloc() : NULL;
    if (!o) {
        tide_error("out of memory for a control frame to process %d", proc);
        return;
    }
    o->hdr.kind = (uint8_t)kind;
    o->hdr.id = id;
    o->hdr.id2 = id2;
    o->hdr.len = len;
    if (tide_p2p_enqueue(p, o))
        tide_p2p_out_free(o);
    else if (pump)
        tide_p2p_pump_out(p);
}

static void tide_p2p_send_ctrl(int proc, int kind, uint64_t id, uint64_t id2, uint64_t len)
{
    tide_p2p_queue_ctrl(proc, kind, id, id2, len, 1);
}

/* A receive matched a remote RTS: register it for DATA and answer CTS. */
void tide_p2p_net_rts_matched(tide_p2p_msg_t *m, tide_p2p_req_t *r)
{
    uint64_t want = m->bytes < r->bytes ? m->bytes : r->bytes;
    r->status.source = m->src;
    r->status.tag = m->tag;
    r->status.bytes = want;
    r->status.error = m->bytes > r->bytes ? -EMSGSIZE : 0;
    r->rdv_left = want;
    r->peer_proc = m->src_proc;
    tide_p2p_peer_t *p = tide_p2p_peer_get(m->src_proc);
    if (p && p->failed) { /* the data will never come */
        r->status.error = p->failed;
        tide_p2p_req_complete(r);
    } else if (want == 0) {
        tide_p2p_send_ctrl(m->src_proc, TIDE_P2P_F_CTS, m->sid, 0, 0);
        tide_p2p_req_complete(r);
    } else {
        uint64_t rid = ++net.next_id;
        tide_hash_put(&net.rreqs, rid, r);
        if (p)
            tide_p2p_in_rdv(p, 1);
        tide_p2p_send_ctrl(m->src_proc, TIDE_P2P_F_CTS, m->sid, rid, want);
    }
    free(m);
}

void tide_p2p_net_ack_matched(tide_p2p_msg_t *m)
{
    tide_p2p_send_ctrl(m->src_proc, TIDE_P2P_F_ACK, m->sid, 0, 0);
}

/* Queued, not written here: this runs inside a process failure, maybe
 * in the middle of another peer's output (the next progress writes it). */
void tide_p2p_net_msg_refuse(const tide_p2p_msg_t *m)
{
    tide_p2p_peer_t *p = tide_p2p_peer_get(m->src_proc);
    if (!p || p->failed)
        return;
    if (m->rts)
        tide_p2p_queue_ctrl(m->src_proc, TIDE_P2P_F_CTS, m->sid, 0, 0, 0);
    else if (m->ack_on_match)
        tide_p2p_queue_ctrl(m->src_proc, TIDE_P2P_F_ACK, m->sid, 0, 0, 0);
}

/* ---- input --------------------------------------------------------------- */

static int tide_p2p_bad_frame(tide_p2p_peer_t *p, const char *why)
{
    net.drops++;
    tide_warn("dropping a malformed frame from process %d (%s); closing its stream", p->proc, why);
    tide_stream_close(p->in);
    p->in = NULL;
    return -EPROTO;
}

/* Start the payload of an EAGER frame: match now, so the bytes go straight
 * into the user's buffer when a receive is posted. */
static int tide_p2p_in_eager(tide_p2p_peer_t *p)
{
    tide_p2p_frame_t *h = &p->in_hdr;
    tide_p2p_queues_t *q = tide_p2p_queues(h->ctx);
    if (!q)
        return -ENOMEM;
    tide_p2p_req_t *r = tide_p2p_match_posted(q, h->src, h->tag);
    p->in_req = NULL;
    p->in_msg = NULL;
    if (r) {
        uint64_t take = h->len < r->bytes ? h->len : r->bytes;
        r->status.source = h->src;
        r->status.tag = h->tag;
        r->status.bytes = take;
        r->status.error = h->len > r->bytes ? -EMSGSIZE : 0;
        p->in_req = r;
        p->in_dst = r->buf;
        p->in_left = take;
        p->in_discard = h->len - take;
        p->in_lay = r->lay;
        if (r->lay)
            tide_p2p_cur_init(&p->in_cur, r->buf, r->lay, r->lay_count, 0);
    } else {
        tide_p2p_msg_t *m = calloc(1, sizeof(*m));
        if (!m || (h->len && !(m->data = malloc(h->len)))) {
            free(m);
            return -ENOMEM;
        }
        m->ctx = h->ctx;
        m->src = h->src;
        m->tag = h->tag;
        m->bytes = h->len;
        m->owns_data = 1;
        m->src_proc = p->proc;
        tide_list_init(&m->link);
        p->in_msg = m;
        p->in_dst = m->data;
        p->in_left = h->len;
        p->in_discard = 0;
        p->in_lay = NULL;
    }
    p->in_state = TIDE_P2P_IN_PAYLOAD;
    return 0;
}

/* The whole EAGER payload is in: complete or queue it. */
static void tide_p2p_in_eager_done(tide_p2p_peer_t *p)
{
    tide_p2p_frame_t *h = &p->in_hdr;
    int sync = h->flags & TIDE_P2P_FLAG_SYNC;
    if (p->in_req) {
        if (sync)
            tide_p2p_send_ctrl(p->proc, TIDE_P2P_F_ACK, h->id, 0, 0);
        tide_p2p_req_complete(p->in_req);
    } else {
        tide_p2p_msg_t *m = p->in_msg;
        if (sync)
            m->sid = h->id;
        m->ack_on_match = sync;
        tide_p2p_arrive_remote(m);
    }
    p->in_req = NULL;
    p->in_msg = NULL;
}

static int tide_p2p_in_frame(tide_p2p_peer_t *p)
{
    tide_p2p_frame_t *h = &p->in_hdr;
    const char *why;
    if (tide_p2p_frame_check(h, tide_p2p_eager_limit(), &why))
        return tide_p2p_bad_frame(p, why);
    switch (h->kind) {
    case TIDE_P2P_F_EAGER: return tide_p2p_in_eager(p);
    case TIDE_P2P_F_RTS: {
        tide_p2p_msg_t *m = calloc(1, sizeof(*m));
        if (!m)
            return -ENOMEM;
        m->ctx = h->ctx;
        m->src = h->src;
        m->tag = h->tag;
        m->bytes = h->len;
        m->rts = 1;
        m->sid = h->id;
        m->src_proc = p->proc;
        tide_list_init(&m->link);
        tide_p2p_arrive_remote(m);
        return 0;
    }
    case TIDE_P2P_F_CTS: {
        tide_p2p_req_t *s = tide_hash_del(&net.sreqs, h->id);
        if (!s)
            return tide_p2p_bad_frame(p, "CTS for an unknown send");
        tide_p2p_peer_t *dst = tide_p2p_peer_get(s->peer_proc);
        if (h->len == 0 || h->len > s->bytes) {
            if (h->len > s->bytes)
                return tide_p2p_bad_frame(p, "CTS asks for more than the message");
            tide_p2p_req_complete(s);
            return 0;
        }
        tide_p2p_out_t *o = tide_p2p_out_alloc();
        if (!o)
            return -ENOMEM;
        o->hdr.kind = TIDE_P2P_F_DATA;
        o->hdr.id2 = h->id2;
        o->payload = s->buf;
        o->len = h->len;
        o->req = s;
        if (s->lay) {
            o->lay = s->lay;
            tide_p2p_cur_init(&o->cur, s->buf, s->lay, s->lay_count, 0);
            o->chdr_done = sizeof(o->chdr); /* no chunk started */
        }
        if (tide_p2p_enqueue(dst, o)) {
            tide_p2p_out_free(o);
            s->status.error = dst->out_error;
            tide_p2p_req_complete(s);
        }
        return 0;
    }
    case TIDE_P2P_F_DATA: {
        tide_p2p_req_t *r = tide_hash_get(&net.rreqs, h->id2);
        if (!r || tide_p2p_frame_data_fits(h, r->status.bytes, r->rdv_left))
            return tide_p2p_bad_frame(p, "DATA for an unknown receive or out of its bounds");
        p->in_req = r;
        p->in_msg = NULL;
        p->in_dst = (char *)r->buf + h->id;
        p->in_left = h->len;
        p->in_discard = 0;
        p->in_lay = r->lay;
        if (r->lay)
            tide_p2p_cur_init(&p->in_cur, r->buf, r->lay, r->lay_count, h->id);
        p->in_state = TIDE_P2P_IN_PAYLOAD;
        return 0;
    }
    case TIDE_P2P_F_ACK: {
        tide_p2p_req_t *s = tide_hash_del(&net.sreqs, h->id);
        if (!s)
            return tide_p2p_bad_frame(p, "ACK for an unknown send");
        tide_p2p_req_complete(s);
        return 0;
    }
    case TIDE_P2P_F_FAILED: /* a peer's notice: applied by the next check */
        if (h->id >= (uint64_t)net.nprocs)
            return tide_p2p_bad_frame(p, "failure notice about no process of the job");
        if (h->id != (uint64_t)net.my_proc && !tide_p2p_proc_dead((int)h->id)) {
            tide_warn("process %d says process %d failed", p->proc, (int)h->id);
            tide_p2p_note_dead((int)h->id);
        }
        return 0;
    default: return tide_p2p_bad_frame(p, "unknown frame kind");
    }
}

static void tide_p2p_in_payload_done(tide_p2p_peer_t *p)
{
    p->in_state = TIDE_P2P_IN_HDR;
    p->in_hgot = 0;
    if (p->in_hdr.kind == TIDE_P2P_F_EAGER) {
        tide_p2p_in_eager_done(p);
        return;
    }
    tide_p2p_req_t *r = p->in_req; /* DATA */
    r->rdv_left -= p->in_hdr.len;
    if (r->rdv_left == 0) {
        tide_hash_del(&net.rreqs, p->in_hdr.id2);
        tide_p2p_in_rdv(p, -1);
        tide_p2p_req_complete(r);
    }
    p->in_req = NULL;
}

/* Payload for a non-contiguous receive: a large piece straight into the
 * user's block, small ones through the bounce buffer.  Returns as
 * tide_stream_recv; in_cur has moved past what was read. */
static ssize_t tide_p2p_recv_nc(tide_p2p_peer_t *p)
{
    char *dst;
    uint64_t len = tide_p2p_cur_peek(&p->in_cur, p->in_left, &dst);
    ssize_t n;
    if (len >= TIDE_P2P_NC_DIRECT || len == p->in_left) {
        n = tide_stream_recv(p->in, dst, len, TIDE_STREAM_DONTWAIT);
        if (n > 0)
            tide_p2p_cur_skip(&p->in_cur, (uint64_t)n);
        return n;
    }
    size_t want = p->in_left < sizeof(net.bounce) ? p->in_left : sizeof(net.bounce);
    n = tide_stream_recv(p->in, net.bounce, want, TIDE_STREAM_DONTWAIT);
    if (n > 0)
        tide_p2p_cur_unpack(&p->in_cur, net.bounce, (uint64_t)n);
    return n;
}

/* Flow control: while unexpected messages hold more than
 * TIDE_P2P_UNEXPECTED_MAX, a frame that would add one (an EAGER or RTS no
 * posted receive matches) stays at the head of its stream (header read,
 * not acted on), so that stream's window closes and its sender blocks.
 * Frames for posted receives, rendezvous DATA and control frames, and every
 * other stream, go on.  1: hold the frame. */
static int tide_p2p_in_hold(tide_p2p_peer_t *p)
{
    const tide_p2p_frame_t *h = &p->in_hdr;
    int hold = tide_p2p_unexpected_bytes > net.unexp_max && h->magic == TIDE_P2P_MAGIC &&
               (h->kind == TIDE_P2P_F_EAGER || h->kind == TIDE_P2P_F_RTS);
    if (hold) {
        tide_p2p_queues_t *q = tide_p2p_queues(h->ctx);
        hold = q && !tide_p2p_posted_matches(q, h->src, h->tag);
    }
    if (hold && !p->in_held)
        net.stalls++;
    p->in_held = hold;
    return hold;
}

/* Read what the stream has for us; returns events handled. */
static int tide_p2p_pump_in(tide_p2p_peer_t *p)
{
    int events = 0;
    char scratch[4096];
    while (p->in) {
        ssize_t n;
        if (p->in_state == TIDE_P2P_IN_HDR && p->in_hgot == sizeof(p->in_hdr)) {
            if (tide_p2p_in_hold(p))
                break; /* flow control: the frame and the rest wait in the stream */
            if (tide_p2p_in_frame(p) != 0)
                break;
            events++;
            if (p->in_state == TIDE_P2P_IN_HDR)
                p->in_hgot = 0;
            continue;
        }
        if (p->in_state == TIDE_P2P_IN_HDR) {
            n = tide_stream_recv(p->in, (char *)&p->in_hdr + p->in_hgot,
                                 sizeof(p->in_hdr) - p->in_hgot, TIDE_STREAM_DONTWAIT);
        } else if (p->in_left) {
            if (__builtin_expect(p->in_lay != NULL, 0))
                n = tide_p2p_recv_nc(p);
            else
                n = tide_stream_recv(p->in, p->in_dst, p->in_left, TIDE_STREAM_DONTWAIT);
        } else if (p->in_discard) {
            size_t want = p->in_discard < sizeof(scratch) ? p->in_discard : sizeof(scratch);
            n = tide_stream_recv(p->in, scratch, want, TIDE_STREAM_DONTWAIT);
        } else {
            tide_p2p_in_payload_done(p);
            events++;
            continue;
        }
        if (n == -EAGAIN)
            break;
        if (n <= 0) {
            if (n < 0 || p->in_state != TIDE_P2P_IN_HDR || p->in_hgot) {
                tide_warn("the stream from process %d ended (%s)", p->proc,
                          n < 0 ? strerror((int)-n) : "closed in the middle of a frame");
                tide_p2p_proc_fail(p, n < 0 ? (int)n : -ECONNRESET);
                break;
            }
            tide_stream_close(p->in);
            p->in = NULL;
            break;
        }
        if (p->in_state == TIDE_P2P_IN_HDR) {
            p->in_hgot += (size_t)n; /* a whole header is handled at the top */
        } else if (p->in_left) {
            p->in_dst += n;
            p->in_left -= (uint64_t)n;
        } else {
            p->in_discard -= (uint64_t)n;
        }
    }
    return events;
}

/* An accepted stream names its peer in its first frame. */
static int tide_p2p_pump_hello(int i)
{
    tide_stream_t *s = net.pending[i];
    tide_p2p_frame_t h;
    ssize_t n = tide_stream_recv(s, &h, sizeof(h), TIDE_STREAM_DONTWAIT | TIDE_STREAM_PEEK);
    if (n == -EAGAIN || (n >= 0 && n < (ssize_t)sizeof(h) && n != 0))
        return 0;
    net.pending[i] = net.pending[--net.npending];
    if (n <= 0) {
        tide_stream_close(s);
        return 1;
    }
    tide_stream_recv(s, &h, sizeof(h), TIDE_STREAM_DONTWAIT);
    tide_p2p_peer_t *p = NULL;
    if (h.magic == TIDE_P2P_MAGIC && h.kind == TIDE_P2P_F_HELLO && h.id < (uint64_t)net.nprocs)
        p = tide_p2p_peer_get((int)h.id);
    if (!p || p->in) {
        net.drops++;
        tide_warn("dropping a stream that did not introduce itself properly");
        tide_stream_close(s);
        return 1;
    }
    p->in = s;
    tide_p2p_stream_opts(s);
    p->in_state = TIDE_P2P_IN_HDR;
    p->in_hgot = 0;
    return 1;
}

static int tide_p2p_accept_all(void)
{
    int events = 0;
    tide_stream_t *s;
    while (tide_stream_accept(net.listener, &s, TIDE_STREAM_DONTWAIT) == 0) {
        if (net.npending == net.cap_pending) {
            int ncap = net.cap_pending ? net.cap_pending * 2 : 8;
            tide_stream_t **t = realloc(net.pending, (size_t)ncap * sizeof(*t));
            if (!t) {
                tide_stream_close(s);
                continue;
            }
            net.pending = t;
            net.cap_pending = ncap;
        }
        net.pending[net.npending++] = s;
        events++;
    }
    for (int i = net.npending - 1; i >= 0; i--)
        events += tide_p2p_pump_hello(i);
    return events;
}

int tide_p2p_net_progress(void)
{
    if (!net.stack)
        return 0;
    int events = tide_stream_stack_progress(net.stack);
    if (events < 0)
        events = 0;
    events += tide_p2p_accept_all();
    tide_p2p_check_peers();
    tide_list_t *pos, *tmp;
    tide_list_for_each_safe(pos, tmp, &net.busy)
    {
        tide_p2p_peer_t *p = tide_container_of(pos, tide_p2p_peer_t, active);
        tide_p2p_pump_out(p);
        if (tide_list_empty(&p->outq))
            tide_list_del(&p->active);
    }
    for (int i = 0; i < net.nprocs; i++)
        if (net.peers[i] && net.peers[i]->in)
            events += tide_p2p_pump_in(net.peers[i]);
    return events;
}

/* ---- idle waiting ------------------------------------------------------------ */

/* Sleep in poll(2) on the wire until a frame arrives, the stack's next
 * protocol timer is due or max_ns pass (tide_p2p_idle).  Called without
 * tide_p2p_lock, like the progress thread: the wire and the stack live from
 * tide_p2p_net_init to tide_p2p_net_finalize and the stack locks itself. */
void tide_p2p_net_wait(uint64_t max_ns)
{
    uint64_t wait = max_ns;
    int fd = -1;
    if (net.stack) {
        fd = tide_wire_get_fd(net.wire);
        uint64_t next = tide_stream_stack_next_timer(net.stack);
        uint64_t now = tide_clock_now(net.wire->clock);
        if (next != UINT64_MAX && next <= now)
            return;
        if (next != UINT64_MAX && next - now < wait)
            wait = next - now;
    }
    struct timespec ts = {(time_t)(wait / 1000000000u), (long)(wait % 1000000000u)};
    if (fd >= 0) {
        struct pollfd pfd = {fd, POLLIN, 0};
        ppoll(&pfd, 1, &ts, NULL);
    } else {
        nanosleep(&ts, NULL);
    }
}

/* ---- the asynchronous progress thread --------------------------------------- */

/* Sleeps in poll(2) on the wire until a frame arrives or the next protocol
 * timer is due, then progresses if no other thread is doing so already.
 * While an application thread is spinning inside a blocking call (it
 * progressed within the last millisecond) the thread stays out of the way:
 * waking it for every frame would cost a ~60 us wakeup and a core. */
static void *tide_p2p_thread_main(void *arg)
{
    (void)arg;
    int fd = tide_wire_get_fd(net.wire);
    while (!__atomic_load_n(&net.thread_stop, __ATOMIC_ACQUIRE)) {
        uint64_t last = __atomic_load_n(&tide_p2p_app_progress_ns, __ATOMIC_RELAXED);
        if (tide_time_ns() - last < 1000000) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
            continue;
        }
        uint64_t next = tide_stream_stack_next_timer(net.stack);
        uint64_t now = tide_clock_now(net.wire->clock);
        int timeout_ms = 10;
        if (next != UINT64_MAX && next > now && (next - now) / 1000000 < 10)
            timeout_ms = (int)((next - now) / 1000000);
        else if (next != UINT64_MAX && next <= now)
            timeout_ms = 0;
        if (fd >= 0) {
            struct pollfd pfd = {fd, POLLIN, 0};
            poll(&pfd, 1, timeout_ms ? timeout_ms : 1);
        } else {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        if (pthread_mutex_trylock(&tide_p2p_lock) == 0) {
            /* Keep going while there is work, and spin a little after it
             * dries up: during a transfer the next frame is microseconds
             * away, much closer than another ~60 us wake-up. */
            uint64_t idle_since = 0;
            for (;;) {
                if (tide_p2p_net_progress() > 0) {
                    idle_since = 0;
                    continue;
                }
                uint64_t t = tide_time_ns();
                if (!idle_since)
                    idle_since = t;
                else if (t - idle_since > 50000)
                    break;
            }
            pthread_mutex_unlock(&tide_p2p_lock);
        }
    }
    return NULL;
}

static void tide_p2p_thread_start(void)
{
    if (!tide_param_int(&tide_param_async_progress))
        return;
    net.thread_stop = 0;
    if (pthread_create(&net.thread, NULL, tide_p2p_thread_main, NULL) == 0)
        net.thread_running = 1;
    else
        tide_warn("cannot start the progress thread; progress happens only inside MPI calls");
}

/* Called without tide_p2p_lock held (the thread takes it). */
void tide_p2p_net_stop_thread(void)
{
    if (!net.thread_running)
        return;
    __atomic_store_n(&net.thread_stop, 1, __ATOMIC_RELEASE);
    pthread_join(net.thread, NULL);
    net.thread_running = 0;
}

/* ---- start and stop -------------------------------------------------------- */

int tide_p2p_net_init(int my_proc, int nprocs, const tide_p2p_rte_ops_t *rte)
{
    memset(&net, 0, sizeof(net));
    net.my_proc = my_proc;
    net.nprocs = nprocs;
    net.rte = *rte;
    net.chunk = (uint64_t)tide_param_int(&tide_param_p2p_chunk);
    net.unexp_max = (uint64_t)tide_param_int(&tide_param_p2p_unexp_max);
    if (net.chunk < 4096)
        net.chunk = 4096;
    tide_list_init(&net.busy);
    tide_hash_init(&net.sreqs);
    tide_hash_init(&net.rreqs);
    if (nprocs == 1)
        return 0; /* a singleton talks only to itself */
    net.peers = calloc((size_t)nprocs, sizeof(*net.peers));
    if (!net.peers)
        return -ENOMEM;
    if (!tide_p2p_dead_note) {
        int *note = calloc((size_t)nprocs, sizeof(*note));
        if (!note)
            return -ENOMEM;
        int *mark = calloc((size_t)nprocs, sizeof(*mark));
        if (!mark) {
            free(note);
            return -ENOMEM;
        }
        tide_p2p_dead_nprocs = nprocs;
        __atomic_store_n(&tide_p2p_dead_mark, mark, __ATOMIC_RELEASE);
        __atomic_store_n(&tide_p2p_dead_note, note, __ATOMIC_RELEASE);
    }
    tide_wire_config_t cfg = {0};
    cfg.local_rank = rte->local_rank;
    cfg.single_host = rte->local_size == nprocs;
    int rc = tide_wire_open(&cfg, &net.wire);
    if (rc)
        return rc;
    tide_stream_stack_opts_t so = {0};
    so.key = (uint32_t)(rte->jobkey ^ (rte->jobkey >> 32));
    if (!so.key)
        so.key = 1;
    uint8_t mac_key[TIDE_P2P_AUTH_KEY_LEN]; /* TIDE_STREAM_MAC: the job's secret */
    if ((rc = tide_p2p_auth_setup(rte, my_proc, mac_key)) < 0)
        goto fail_wire;
    so.mac_key = rc ? mac_key : NULL;
    rc = tide_stream_stack_create(net.wire, &so, &net.stack);
    memset(mac_key, 0, sizeof(mac_key)); /* the stack keeps its copy */
    if (rc)
        goto fail_wire;
    if ((rc = tide_stream_open(net.stack, &net.listener)) ||
        (rc = tide_stream_listen(net.listener, (uint16_t)tide_param_int(&tide_param_p2p_port),
                                 nprocs + 16)))
        goto fail_stack;
    rc = net.rte.publish(TIDE_P2P_ADDR_KEY, &net.wire->addr, sizeof(net.wire->addr));
    if (rc)
        goto fail_stack;
    tide_p2p_thread_start();
    return 0;
fail_stack:
    tide_stream_stack_destroy(net.stack);
    net.stack = NULL;
fail_wire:
    tide_wire_close(net.wire);
    net.wire = NULL;
    return rc;
}

/* 1 while anything we promised a peer is still on its way. */
int tide_p2p_net_busy(void)
{
    return !tide_list_empty(&net.busy) || net.sreqs.count > 0;
}

/* Finish sending: FIN after the queued data on every stream we opened, and
 * progress until the peers have acknowledged it all (or the stream died).
 * Called before the final fence, so no rank leaves with data in flight. */
void tide_p2p_net_flush(void)
{
    if (!net.stack)
        return;
    for (int i = 0; i < net.nprocs; i++)
        if (net.peers[i] && net.peers[i]->out && !net.peers[i]->out_error)
            tide_stream_shutdown(net.peers[i]->out, TIDE_STREAM_SHUT_WR);
    tide_p2p_idle_t idle = TIDE_P2P_IDLE_INIT;
    for (;;) {
        int waiting = 0;
        for (int i = 0; i < net.nprocs; i++) {
            tide_p2p_peer_t *p = net.peers[i];
            int64_t st = TIDE_STREAM_CLOSED;
            if (!p || !p->out || p->out_error || p->failed)
                continue;
            tide_stream_getopt(p->out, TIDE_SO_STATE, &st);
            waiting += st == TIDE_STREAM_ESTABLISHED || st == TIDE_STREAM_SYN_SENT ||
                       st == TIDE_STREAM_FIN_WAIT_1 || st == TIDE_STREAM_CLOSING ||
                       st == TIDE_STREAM_LAST_ACK || st == TIDE_STREAM_CLOSE_WAIT;
        }
        if (!waiting)
            break;
        tide_p2p_idle(&idle, tide_p2p_net_progress());
    }
}

TIDE_PARAM_DEFINE(p2p_report, TIDE_PARAM_BOOL, "P2P_REPORT", "0",
                  "MPI_Finalize prints this rank's resource figures on one line to stderr "
                  "(unexpected-message peak, flow-control stalls, failed peers, streams and "
                  "their buffers, injected wire faults)");

/* One line of resource figures (TIDE_P2P_REPORT=1); called unlocked. */
void tide_p2p_net_report(void)
{
    if (!tide_param_int(&tide_param_p2p_report))
        return;
    tide_p2p_res_t r;
    tide_p2p_get_res(&r);
    fprintf(stderr,
            "tide-p2p-report proc=%d unexpected_peak=%llu input_stalls=%llu procs_failed=%llu "
            "peers=%llu streams=%llu stream_buf_bytes=%llu peer_bytes=%llu fault_drop=%llu "
            "fault_dup=%llu fault_reorder=%llu fault_corrupt=%llu wire_drops=%llu\n",
            net.my_proc, (unsigned long long)r.unexpected_peak, (unsigned long long)r.input_stalls,
            (unsigned long long)r.procs_failed, (unsigned long long)r.peers,
            (unsigned long long)r.streams, (unsigned long long)r.stream_buf_bytes,
            (unsigned long long)r.peer_bytes, (unsigned long long)r.fault_drop,
            (unsigned long long)r.fault_dup, (unsigned long long)r.fault_reorder,
            (unsigned long long)r.fault_corrupt, (unsigned long long)r.wire_drops);
}

void tide_p2p_net_finalize(void)
{
    if (net.stack) {
        for (int i = 0; i < net.nprocs; i++) {
            tide_p2p_peer_t *p = net.peers[i];
            if (!p)
                continue;
            if (p->out)
                tide_stream_close(p->out);
            if (p->in)
                tide_stream_close(p->in);
        }
        for (int i = 0; i < net.npending; i++)
            tide_stream_close(net.pending[i]);
        if (net.listener)
            tide_stream_close(net.listener);
        tide_stream_stack_destroy(net.stack);
        tide_wire_close(net.wire);
    }
    for (int i = 0; net.peers && i < net.nprocs; i++)
        free(net.peers[i]);
    free(net.peers);
    free(net.pending);
    while (net.out_free) {
        tide_p2p_out_t *o = net.out_free;
        net.out_free = (tide_p2p_out_t *)o->link.next;
        free(o);
    }
    tide_hash_fini(&net.sreqs);
    tide_hash_fini(&net.rreqs);
    memset(&net, 0, sizeof(net));
}

/* ---- counters for MPI_T ----------------------------------------------------- */

const tide_stream_stats_t *tide_p2p_stream_stats(void)
{
    return net.stack ? tide_stream_stack_stats(net.stack) : NULL;
}

uint64_t tide_p2p_srtt_max_us(void)
{
    uint64_t max = 0;
    pthread_mutex_lock(&tide_p2p_lock);
    for (int i = 0; net.peers && i < net.nprocs; i++) {
        tide_p2p_peer_t *p = net.peers[i];
        tide_stream_info_t info;
        if (p && p->out && tide_stream_get_info(p->out, &info) == 0 && info.srtt_us > max)
            max = info.srtt_us;
    }
    pthread_mutex_unlock(&tide_p2p_lock);
    return max;
}

uint64_t tide_p2p_frames_dropped(void)
{
    return __atomic_load_n(&net.drops, __ATOMIC_RELAXED);
}

void tide_p2p_get_res(tide_p2p_res_t *r)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_lock(&tide_p2p_lock);
    r->unexpected_bytes = tide_p2p_unexpected_bytes;
    r->unexpected_msgs = tide_p2p_unexpected_msgs;
    r->unexpected_peak = tide_p2p_unexpected_peak;
    r->input_stalls = net.stalls;
    r->procs_failed = (uint64_t)net.nfailed;
    for (int i = 0; net.peers && i < net.nprocs; i++) {
        tide_p2p_peer_t *p = net.peers[i];
        if (!p)
            continue;
        r->peers++;
        tide_stream_t *ss[2] = {p->out, p->in};
        for (int k = 0; k < 2; k++) {
            int64_t sb = 0, rb = 0;
            if (!ss[k])
                continue;
            r->streams++;
            tide_stream_getopt(ss[k], TIDE_SO_SNDBUF, &sb);
            tide_stream_getopt(ss[k], TIDE_SO_RCVBUF, &rb);
            r->stream_buf_bytes += (uint64_t)(sb + rb);
        }
    }
    r->peer_bytes = r->peers * sizeof(tide_p2p_peer_t);
    if (net.wire) {
        if (net.wire->ops->update_stats)
            net.wire->ops->update_stats(net.wire);
        r->fault_drop = net.wire->stats.fault_drop;
        r->fault_dup = net.wire->stats.fault_dup;
        r->fault_reorder = net.wire->stats.fault_reorder;
        r->fault_corrupt = net.wire->stats.fault_corrupt;
        r->wire_drops = net.wire->stats.rx_dropped_kernel;
    }
    pthread_mutex_unlock(&tide_p2p_lock);
}
