/* Internal exchanges of communicator construction and context-id
 * agreement.  A communicator's traffic is told apart by its context id;
 * new ids are agreed as in MPICH: every process keeps a bitmap of the
 * even ids it has free, the members AND-reduce their bitmaps (binomial
 * tree to a root, then a broadcast) and all take the lowest id that is
 * free everywhere.  The first round of an agreement uses only the small
 * "eager" segment of the bitmap and never waits for another agreement;
 * it also tells that every member has joined.  Only then does the
 * agreement register and use the rest of the bitmap, one agreement per
 * process at a time: one that finds that part busy contributes an empty
 * mask and every member retries (MPICH's "mask in use" rule); the waiting
 * agreement with the lowest key (parent context, tag) has priority, so
 * the same one wins everywhere.  So an agreement whose members have not
 * all arrived (a nonblocking one, MPI_Comm_idup) never holds up another.
 * Blocking agreements (tide_ctx_agree) run the rounds over tide_p2p_* on
 * the parent's collective context with internal tags, driving pending
 * schedules meanwhile; nonblocking ones (tide_ctx_iagree) are loops of
 * steps on a schedule of src/coll/sched.c with the tag of a nonblocking
 * collective. */
#include "config.h"
#include "coll/sched.h"
#include "mpi/comm_impl.h"
#include "p2p/p2p.h"
#include "util/list.h"
#include "util/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum {
    TIDE_CTX_WORDS = 64,                     /* 64 * 64 even ids: 0, 2, ... 8190 */
    TIDE_CTX_EAGER = 32,                     /* words 0-31: the first round's segment */
    TIDE_CTX_MSG_WORDS = TIDE_CTX_WORDS + 1, /* + "every member holds its segment" */
    TIDE_CTX_RETRY = -1,
};

static pthread_mutex_t tide_ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t tide_ctx_free[TIDE_CTX_WORDS];
static int tide_ctx_inited, tide_ctx_eager_busy, tide_ctx_busy;
/* Agreements past their first round, competing for the main segment. */
static tide_list_t tide_ctx_waiters = TIDE_LIST_INIT(tide_ctx_waiters);

/* One agreement as it runs. */
typedef struct tide_ctx_run {
    tide_list_t link; /* in tide_ctx_waiters while registered */
    uint64_t key;     /* priority: lower first; never 0 */
    int member;       /* reserves the id (else only takes part) */
    int round;        /* 0: the eager round */
    int took;         /* segment held this round: 0, 1 eager, 2 main */
    int registered;
} tide_ctx_run_t;

static void tide_ctx_run_init(tide_ctx_run_t *a, uint32_t pctx, int tag, int member)
{
    memset(a, 0, sizeof(*a));
    a->key = ((uint64_t)pctx << 32 | (uint32_t)tag) + 1;
    a->member = member;
}

/* Whether no other registered agreement has a lower key (lock held). */
static int tide_ctx_has_priority(uint64_t key)
{
    tide_list_t *pos;
    tide_list_for_each(pos, &tide_ctx_waiters)
    {
        if (tide_container_of(pos, tide_ctx_run_t, link)->key < key)
            return 0;
    }
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

/* The words a round looks at: the eager segment first, then the rest. */
static void tide_ctx_segment(const tide_ctx_run_t *a, int *lo, int *hi)
{
    *lo = a->round ? TIDE_CTX_EAGER : 0;
    *hi = a->round ? TIDE_CTX_WORDS : TIDE_CTX_EAGER;
}

/* Our contribution to a round: the free part of the round's segment if we
 * may hold it, all ones if we only take part, nothing otherwise. */
static void tide_ctx_contribute(tide_ctx_run_t *a, uint64_t *w)
{
    int lo, hi;
    tide_ctx_segment(a, &lo, &hi);
    memset(w, a->member ? 0 : 0xff, TIDE_CTX_MSG_WORDS * sizeof(uint64_t));
    a->took = 0;
    if (!a->member)
        return;
    pthread_mutex_lock(&tide_ctx_lock);
    tide_ctx_init_locked();
    int *busy = a->round ? &tide_ctx_busy : &tide_ctx_eager_busy;
    if (!*busy && (!a->round || tide_ctx_has_priority(a->key))) {
        *busy = 1;
        a->took = a->round ? 2 : 1;
        memcpy(w + lo, tide_ctx_free + lo, (size_t)(hi - lo) * sizeof(uint64_t));
        w[TIDE_CTX_WORDS] = ~(uint64_t)0;
    }
    pthread_mutex_unlock(&tide_ctx_lock);
}

/* Give back the segment held this round; leave the waiters (lock held). */
static void tide_ctx_put_back(tide_ctx_run_t *a, int leave)
{
    if (a->took == 1)
        tide_ctx_eager_busy = 0;
    else if (a->took == 2)
        tide_ctx_busy = 0;
    a->took = 0;
    if (leave && a->registered) {
        tide_list_del(&a->link);
        a->registered = 0;
    }
}

/* The lowest id of w's segment [lo, hi) (members reserve it); 0 or -1. */
static int tide_ctx_pick(const uint64_t *w, int lo, int hi, int member, uint32_t *ctx)
{
    for (int i = lo; i < hi; i++) {
        if (w[i]) {
            int b = __builtin_ctzll(w[i]);
            *ctx = (uint32_t)(2 * (64 * i + b));
            if (member)
                tide_ctx_free[i] &= ~((uint64_t)1 << b);
            return 0;
        }
    }
    return -1;
}

/* After a round (w: the reduced result every member has): 0 with *ctx,
 * TIDE_CTX_RETRY, or MPI_ERR_OTHER when no id is left.  Every member
 * decides the same. */
static int tide_ctx_decide(tide_ctx_run_t *a, const uint64_t *w, uint32_t *ctx)
{
    int lo, hi, rc = TIDE_CTX_RETRY;
    tide_ctx_segment(a, &lo, &hi);
    pthread_mutex_lock(&tide_ctx_lock);
    if (w[TIDE_CTX_WORDS] && tide_ctx_pick(w, lo, hi, a->member, ctx) == 0)
        rc = 0;
    else if (w[TIDE_CTX_WORDS] && a->round)
        rc = MPI_ERR_OTHER;
    tide_ctx_put_back(a, rc != TIDE_CTX_RETRY);
    if (rc == TIDE_CTX_RETRY && a->member && !a->registered) { /* everyone has joined */
        tide_list_push_back(&tide_ctx_waiters, &a->link);
        a->registered = 1;
    }
    a->round++;
    pthread_mutex_unlock(&tide_ctx_lock);
    if (rc == MPI_ERR_OTHER)
        tide_error("no free context id left for a new communicator (all %d in use); "
                   "free communicators that are no longer needed",
                   TIDE_CTX_WORDS * 64);
    return rc;
}

/* An agreement stopped by an error. */
static void tide_ctx_abort(tide_ctx_run_t *a)
{
    pthread_mutex_lock(&tide_ctx_lock);
    tide_ctx_put_back(a, 1);
    pthread_mutex_unlock(&tide_ctx_lock);
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

/* Wait for a request and free it; its error class.  Schedules in flight
 * go on meanwhile: a member we wait for may first need one of them, e.g.
 * an MPI_Comm_idup, to complete here. */
static int tide_xchg_wait(tide_p2p_req_t *r)
{
    tide_p2p_idle_t idle = TIDE_P2P_IDLE_INIT;
    while (!tide_p2p_req_done(r))
        tide_p2p_idle(&idle, tide_coll_progress());
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

int tide_ctx_agree(const tide_geom_t *g, int member, int root, tide_ctx_xchg_fn xchg, void *arg,
                   int tag_reduce, int tag_bcast, uint32_t *ctx)
{
    return tide_ctx_agree_key(g, g->ctx, member, root, xchg, arg, tag_reduce, tag_bcast, ctx);
}

int tide_ctx_agree_key(const tide_geom_t *g, uint32_t key_ctx, int member, int root,
                       tide_ctx_xchg_fn xchg, void *arg, int tag_reduce, int tag_bcast,
                       uint32_t *ctx)
{
    uint64_t w[TIDE_CTX_MSG_WORDS];
    tide_ctx_run_t a;
    tide_ctx_run_init(&a, key_ctx, tag_reduce, member);
    tide_p2p_idle_t idle = TIDE_P2P_IDLE_INIT;
    for (;;) {
        tide_ctx_contribute(&a, w);
        int rc = tide_geom_reduce_band(g, w, TIDE_CTX_MSG_WORDS, root, tag_reduce);
        if (!rc && g->rank == root && xchg)
            rc = xchg(arg, w, TIDE_CTX_MSG_WORDS);
        if (!rc)
            rc = tide_geom_bcast(g, w, sizeof(w), root, tag_bcast);
        if (rc) {
            tide_ctx_abort(&a);
            return rc;
        }
        rc = tide_ctx_decide(&a, w, ctx);
        if (rc != TIDE_CTX_RETRY)
            return rc;
        if (w[TIDE_CTX_WORDS]) /* the eager segment is full: on to the rest at once */
            continue;
        /* a segment was busy: an idup holding it goes on */
        tide_p2p_idle(&idle, tide_coll_progress());
    }
}

/* ---- nonblocking agreement: a loop of schedule steps ---- */

typedef struct tide_ctx_ia {
    tide_ctx_run_t run;
    tide_sched_t *s;
    size_t loop; /* the step that starts a round */
    uint32_t *ctx;
    tide_ctx_done_fn *done;
    void *arg;
    uint64_t w[TIDE_CTX_MSG_WORDS], in[TIDE_CTX_MSG_WORDS];
} tide_ctx_ia_t;

static void tide_ctx_ia_contribute(void *arg, int err)
{
    (void)err;
    tide_ctx_ia_t *a = arg;
    tide_ctx_contribute(&a->run, a->w);
}

/* Leaders of two groups: AND the remote group's result into ours. */
static void tide_ctx_ia_and(void *arg, int err)
{
    (void)err;
    tide_ctx_ia_t *a = arg;
    for (int i = 0; i < TIDE_CTX_MSG_WORDS; i++)
        a->w[i] &= a->in[i];
}

static void tide_ctx_ia_decide(void *arg, int err)
{
    (void)err;
    tide_ctx_ia_t *a = arg;
    int rc = tide_ctx_decide(&a->run, a->w, a->ctx);
    if (rc == TIDE_CTX_RETRY)
        tide_sched_goto(a->s, a->loop);
    else if (rc)
        tide_sched_fail(a->s, rc);
    else if (a->done)
        a->done(a->arg);
}

/* The schedule is freed: an agreement stopped midway lets go. */
static void tide_ctx_ia_free(void *arg)
{
    tide_ctx_abort(&((tide_ctx_ia_t *)arg)->run);
}

tide_sched_t *tide_ctx_sched_new(const tide_comm_t *c, int tag)
{
    tide_coll_red_t band = {.kernel = tide_coll_kernel((int)MPI_BAND, (int)MPI_UINT64_T),
                            .commute = 1,
                            .esize = sizeof(uint64_t)};
    tide_coll_comm_t cc = {c->rank, c->size, c->procs, c->self_proc, c->ctx + 1};
    tide_sched_t *s = tide_sched_new(&cc, tag, &band);
    if (s && c->is_inter) {
        const tide_comm_t *l = c->local;
        tide_coll_comm_t lc = {l->rank, l->size, l->procs, l->self_proc, l->ctx + 1};
        if (tide_sched_set_local(s, &lc)) {
            tide_sched_free(s);
            return NULL;
        }
    }
    return s;
}

/* A round's transfers: reduce to local rank 0, leaders swap (inter),
 * broadcast. */
static int tide_ctx_ia_round(tide_sched_t *s, tide_ctx_ia_t *a, int inter)
{
    size_t bytes = sizeof(a->w);
    int rc = tide_nbc_reduce(s, a->w, a->w, TIDE_CTX_MSG_WORDS, 0);
    if (!rc)
        rc = tide_sched_fence(s);
    if (!rc && inter && tide_sched_comm(s)->rank == 0) {
        tide_sched_select(s, 0);
        if (!(rc = tide_sched_send(s, a->w, bytes, 0)) &&
            !(rc = tide_sched_recv(s, a->in, bytes, 0)) && !(rc = tide_sched_fence(s)))
            rc = tide_sched_call(s, tide_ctx_ia_and, a);
        tide_sched_select(s, 1);
    }
    if (!rc)
        rc = tide_nbc_bcast(s, a->w, bytes, 0);
    return rc ? rc : tide_sched_fence(s);
}

int tide_ctx_iagree(tide_sched_t *s, uint32_t pctx, int tag, int how, uint32_t *ctx,
                    tide_ctx_done_fn *done, void *arg)
{
    tide_ctx_ia_t *a = tide_sched_alloc(s, sizeof(*a));
    if (!a)
        return -ENOMEM;
    memset(a, 0, sizeof(*a));
    tide_ctx_run_init(&a->run, pctx, tag, 1);
    a->s = s;
    a->ctx = ctx;
    a->done = done;
    a->arg = arg;
    int rc = tide_sched_on_free(s, tide_ctx_ia_free, a);
    tide_sched_select(s, how != TIDE_CTX_IA_INTRA);
    a->loop = tide_sched_nsteps(s);
    if (!rc)
        rc = tide_sched_call(s, tide_ctx_ia_contribute, a);
    if (!rc)
        rc = tide_ctx_ia_round(s, a, how == TIDE_CTX_IA_INTER);
    if (!rc)
        rc = tide_sched_call(s, tide_ctx_ia_decide, a);
    tide_sched_select(s, 0);
    return rc;
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
