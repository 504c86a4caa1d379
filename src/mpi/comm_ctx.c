/* Internal exchanges of communicator construction and context-id
 * agreement.  A communicator's traffic is told apart by its context id;
 * new ids are agreed as in MPICH: every process keeps a bitmap of the
 * even ids it has free, the members AND-reduce their bitmaps (binomial
 * tree to a root, then a broadcast) and all take the lowest id that is
 * free everywhere.  Only one agreement per process may use the bitmap at
 * a time; a thread that finds it busy contributes an empty mask and every
 * member retries (MPICH's "mask in use" rule).  To make progress when
 * threads of several processes compete, the waiting agreement with the
 * lowest key (parent context, tag) has priority for the bitmap, as in
 * MPICH: every process sees the same concurrent agreements, so the same
 * one wins everywhere.  The messages go over
 * tide_p2p_* on the parent's collective context with internal tags. */
#include "config.h"
#include "mpi/comm_impl.h"
#include "p2p/p2p.h"
#include "util/log.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

enum {
    TIDE_CTX_WORDS = 64,                     /* 64 * 64 even ids: 0, 2, ... 8190 */
    TIDE_CTX_MSG_WORDS = TIDE_CTX_WORDS + 1, /* + "every member holds its mask" */
};

static pthread_mutex_t tide_ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t tide_ctx_free[TIDE_CTX_WORDS];
static int tide_ctx_inited, tide_ctx_busy;
enum { TIDE_CTX_MAX_WAITERS = 64 };
static uint64_t tide_ctx_waiters[TIDE_CTX_MAX_WAITERS]; /* keys of running agreements, 0: free */

/* Register (or with key 0 remove) a running agreement; the caller holds
 * the lock. */
static void tide_ctx_waiter_set(uint64_t old, uint64_t key)
{
    for (int i = 0; i < TIDE_CTX_MAX_WAITERS; i++) {
        if (tide_ctx_waiters[i] == old) {
            tide_ctx_waiters[i] = key;
            return;
        }
    }
}

/* Whether no other running agreement has a lower key. */
static int tide_ctx_has_priority(uint64_t key)
{
    for (int i = 0; i < TIDE_CTX_MAX_WAITERS; i++)
        if (tide_ctx_waiters[i] && tide_ctx_waiters[i] < key)
            return 0;
    return 1;
}

static void tide_ctx_init_locked(void)
{
    if (tide_ctx_inited)
        return;
    memset(tide_ctx_free, 0xff, sizeof(tide_ctx_free));
    tide_ctx_free[0] &= ~(uint64_t)3; /* ids 0 (WORLD) and 2 (SELF) */
    tide_ctx_inited = 1;
}

void tide_geom_of_comm(const tide_comm_t *c, tide_geom_t *g)
{
    g->rank = c->rank;
    g->size = c->size;
    g->self_proc = c->self_proc;
    g->procs = c->procs;
    g->pranks = NULL;
    g->my_prank = c->rank;
    g->ctx = c->ctx + 1;
}

static int tide_geom_proc(const tide_geom_t *g, int r)
{
    return g->procs ? g->procs[r] : (g->size == 1 ? g->self_proc : r);
}

static int tide_geom_prank(const tide_geom_t *g, int r)
{
    return g->pranks ? g->pranks[r] : r;
}

static int tide_p2p_to_class(int rc)
{
    return rc == -ENOMEM ? MPI_ERR_NO_MEM : MPI_ERR_OTHER;
}

/* Wait for a request and free it; its error class. */
static int tide_xchg_wait(tide_p2p_req_t *r)
{
    while (!tide_p2p_req_done(r))
        tide_p2p_progress();
    int err = r->status.error;
    if (err < 0) /* -errno of the p2p layer: a failed process (src/p2p/fail.c) or other */
        err = err == -EMSGSIZE                                           ? MPI_ERR_TRUNCATE
              : err == -ECONNRESET || err == -ETIMEDOUT || err == -EPIPE ? MPI_ERR_PROC_FAILED
                                                                         : MPI_ERR_OTHER;
    if (!err && r->kind == TIDE_P2P_REQ_RECV && r->status.bytes != r->bytes)
        err = MPI_ERR_TRUNCATE;
    tide_p2p_req_free(r);
    return err;
}

int tide_geom_send(const tide_geom_t *g, int to, const void *buf, size_t bytes, int tag)
{
    tide_p2p_req_t *r;
    int rc = tide_p2p_isend(buf, bytes, tide_geom_proc(g, to), tide_geom_prank(g, to), g->my_prank,
                            g->ctx, tag, TIDE_P2P_MODE_STANDARD, &r);
    if (rc) {
        tide_error("communicator construction: cannot send to process %d (%s)",
                   tide_geom_proc(g, to), strerror(-rc));
        return tide_p2p_to_class(rc);
    }
    return tide_xchg_wait(r);
}

int tide_geom_recv(const tide_geom_t *g, int from, void *buf, size_t bytes, int tag)
{
    tide_p2p_req_t *r;
    int rc = tide_p2p_irecv(buf, bytes, tide_geom_prank(g, from), g->ctx, tag, &r);
    if (rc) {
        tide_error("communicator construction: cannot post a receive (%s)", strerror(-rc));
        return tide_p2p_to_class(rc);
    }
    return tide_xchg_wait(r);
}

int tide_xchg_proc(uint32_t ctx, int my_prank, int proc, int prank, const void *sbuf, size_t sbytes,
                   void *rbuf, size_t rbytes, int tag)
{
    tide_p2p_req_t *rr, *sr;
    int rc = tide_p2p_irecv(rbuf, rbytes, prank, ctx, tag, &rr);
    if (rc)
        return tide_p2p_to_class(rc);
    rc = tide_p2p_isend(sbuf, sbytes, proc, prank, my_prank, ctx, tag, TIDE_P2P_MODE_STANDARD, &sr);
    if (rc) {
        tide_error("communicator construction: cannot send to process %d (%s)", proc,
                   strerror(-rc));
        tide_p2p_cancel(rr);
        tide_xchg_wait(rr);
        return tide_p2p_to_class(rc);
    }
    int e1 = tide_xchg_wait(sr), e2 = tide_xchg_wait(rr);
    return e1 ? e1 : e2;
}

/* Binomial tree rooted at `root`: relative rank v = (rank - root) mod size;
 * v's parent is v with its lowest set bit cleared. */
int tide_geom_bcast(const tide_geom_t *g, void *buf, size_t bytes, int root, int tag)
{
    int n = g->size, v = (g->rank - root + n) % n, mask = 1;
    while (mask < n && !(v & mask))
        mask <<= 1;
    if (v) {
        int rc = tide_geom_recv(g, (v - mask + root) % n, buf, bytes, tag);
        if (rc)
            return rc;
    }
    for (mask >>= 1; mask > 0; mask >>= 1) {
        if (v + mask < n) {
            int rc = tide_geom_send(g, (v + mask + root) % n, buf, bytes, tag);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* AND-reduce nwords words to root (binomial tree). */
static int tide_geom_reduce_band(const tide_geom_t *g, uint64_t *w, int nwords, int root, int tag)
{
    int n = g->size, v = (g->rank - root + n) % n;
    uint64_t in[TIDE_CTX_MSG_WORDS];
    size_t bytes = (size_t)nwords * sizeof(uint64_t);
    for (int mask = 1; mask < n; mask <<= 1) {
        if (v & mask)
            return tide_geom_send(g, (v - mask + root) % n, w, bytes, tag);
        if (v + mask < n) {
            int rc = tide_geom_recv(g, (v + mask + root) % n, in, bytes, tag);
            if (rc)
                return rc;
            for (int i = 0; i < nwords; i++)
                w[i] &= in[i];
        }
    }
    return 0;
}

int tide_geom_allgather(const tide_geom_t *g, const void *mine, size_t bytes, void *all, int tag)
{
    char *out = all;
    memcpy(out + (size_t)g->rank * bytes, mine, bytes);
    if (g->rank != 0) {
        int rc = tide_geom_send(g, 0, mine, bytes, tag);
        if (rc)
            return rc;
    } else {
        for (int r = 1; r < g->size; r++) {
            int rc = tide_geom_recv(g, r, out + (size_t)r * bytes, bytes, tag);
            if (rc)
                return rc;
        }
    }
    return tide_geom_bcast(g, all, bytes * (size_t)g->size, 0, tag);
}

/* Our contribution: the free mask if we hold the bitmap, all ones if we
 * only take part, nothing if another agreement holds it. */
static int tide_ctx_contribute(int member, uint64_t key, uint64_t *w)
{
    pthread_mutex_lock(&tide_ctx_lock);
    tide_ctx_init_locked();
    int took = 0;
    if (!member) {
        memset(w, 0xff, TIDE_CTX_WORDS * sizeof(uint64_t));
    } else if (!tide_ctx_busy && tide_ctx_has_priority(key)) {
        tide_ctx_busy = took = 1;
        memcpy(w, tide_ctx_free, sizeof(tide_ctx_free));
    } else {
        memset(w, 0, TIDE_CTX_WORDS * sizeof(uint64_t));
    }
    w[TIDE_CTX_WORDS] = (!member || took) ? ~(uint64_t)0 : 0;
    pthread_mutex_unlock(&tide_ctx_lock);
    return took;
}

/* Take the lowest id of the agreed mask (members reserve it); release the
 * bitmap.  1 if an id was found. */
static int tide_ctx_take(const uint64_t *w, int member, int took, uint64_t key, uint32_t *ctx)
{
    int found = 0;
    pthread_mutex_lock(&tide_ctx_lock);
    tide_ctx_waiter_set(key, 0);
    for (int i = 0; i < TIDE_CTX_WORDS && !found; i++) {
        if (w[i]) {
            int b = __builtin_ctzll(w[i]);
            *ctx = (uint32_t)(2 * (64 * i + b));
            if (member)
                tide_ctx_free[i] &= ~((uint64_t)1 << b);
            found = 1;
        }
    }
    if (took)
        tide_ctx_busy = 0;
    pthread_mutex_unlock(&tide_ctx_lock);
    return found;
}

/* A round failed: release the bitmap; done: also leave the waiters. */
static void tide_ctx_drop(int took, uint64_t key, int done)
{
    pthread_mutex_lock(&tide_ctx_lock);
    if (took)
        tide_ctx_busy = 0;
    if (done)
        tide_ctx_waiter_set(key, 0);
    pthread_mutex_unlock(&tide_ctx_lock);
}

int tide_ctx_agree(const tide_geom_t *g, int member, int root, tide_ctx_xchg_fn xchg, void *arg,
                   int tag_reduce, int tag_bcast, uint32_t *ctx)
{
    uint64_t w[TIDE_CTX_MSG_WORDS];
    uint64_t key = ((uint64_t)g->ctx << 32 | (uint32_t)tag_reduce) + 1; /* never 0 */
    pthread_mutex_lock(&tide_ctx_lock);
    tide_ctx_waiter_set(0, key); /* beyond 64 concurrent agreements: no priority */
    pthread_mutex_unlock(&tide_ctx_lock);
    for (;;) {
        int took = tide_ctx_contribute(member, key, w);
        int rc = tide_geom_reduce_band(g, w, TIDE_CTX_MSG_WORDS, root, tag_reduce);
        if (!rc && g->rank == root && xchg)
            rc = xchg(arg, w, TIDE_CTX_MSG_WORDS);
        if (!rc)
            rc = tide_geom_bcast(g, w, sizeof(w), root, tag_bcast);
        if (rc) {
            tide_ctx_drop(took, key, 1);
            return rc;
        }
        if (w[TIDE_CTX_WORDS]) {
            if (tide_ctx_take(w, member, took, key, ctx))
                return 0;
            tide_error("no free context id left for a new communicator (all %d in use); "
                       "free communicators that are no longer needed",
                       TIDE_CTX_WORDS * 64);
            return MPI_ERR_OTHER;
        }
        tide_ctx_drop(took, key, 0); /* someone's bitmap was busy: try again */
        sched_yield();
    }
}

void tide_ctx_release(uint32_t ctx)
{
    uint32_t id = ctx / 2;
    if (id < 2 || id >= TIDE_CTX_WORDS * 64)
        return;
    pthread_mutex_lock(&tide_ctx_lock);
    tide_ctx_free[id / 64] |= (uint64_t)1 << (id % 64);
    pthread_mutex_unlock(&tide_ctx_lock);
}
