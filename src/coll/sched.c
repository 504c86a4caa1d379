/* The schedule engine of nonblocking collectives (sched.h): building a
 * schedule step by step, and advancing every schedule in flight from
 * tide_coll_progress().  A round is the run of steps up to a fence: its
 * sends and receives are all posted at once on the collective context, its
 * local steps run in order as they are reached; the fence passes when all
 * transfers of the round are complete.  One lock serialises the advancing
 * (a thread that finds it taken leaves the work to its holder); the async
 * progress thread of src/p2p only completes transfers, which is all a
 * schedule waits for. */
#include "config.h"
#include "coll/coll_impl.h"
#include "coll/sched.h"
#include "p2p/p2p.h"
#include "util/list.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    TIDE_STEP_SEND,
    TIDE_STEP_RECV,
    TIDE_STEP_COPY,
    TIDE_STEP_REDUCE,
    TIDE_STEP_FENCE,
    TIDE_STEP_CALL,
} tide_step_kind_t;

typedef struct tide_step {
    tide_step_kind_t kind;
    int local; /* transfer on the local communicator (intercommunicators) */
    int peer;
    const void *src;
    void *dst;
    size_t n; /* bytes; elements for REDUCE */
    tide_sched_fn_t *fn;
} tide_step_t;

typedef struct tide_sched_mem {
    struct tide_sched_mem *next;
    void (*fn)(void *); /* NULL: the block itself is scratch memory */
    void *arg;
    _Alignas(16) char data[]; /* scratch, aligned for any element type */
} tide_sched_mem_t;

struct tide_sched {
    tide_coll_comm_t c, lc; /* the communicator; an intercommunicator's local one */
    int *procs, *lprocs;    /* our copies of the process maps */
    int cur;                /* steps being added go to lc */
    int tag;
    tide_coll_red_t red;
    tide_step_t *steps;
    size_t n, cap, next;
    tide_p2p_req_t **reqs; /* transfers of the current round */
    size_t nreq, reqcap;
    tide_sched_mem_t *mem;
    int err;
    int yield; /* tide_sched_goto: stop issuing until the next progress call */
    int done;  /* atomic */
    tide_list_t link;
};

static pthread_mutex_t tide_sched_lock = PTHREAD_MUTEX_INITIALIZER;
static tide_list_t tide_sched_active = TIDE_LIST_INIT(tide_sched_active);
static int tide_sched_nactive; /* atomic: lets progress skip the lock */

/* Copy c's process map into *own; c's procs then point there. */
static int tide_sched_copy_procs(tide_coll_comm_t *c, int **own)
{
    if (!c->procs)
        return 0;
    if (!(*own = malloc((size_t)c->size * sizeof(int))))
        return -ENOMEM;
    memcpy(*own, c->procs, (size_t)c->size * sizeof(int));
    c->procs = *own;
    return 0;
}

tide_sched_t *tide_sched_new(const tide_coll_comm_t *c, int tag, const tide_coll_red_t *r)
{
    tide_sched_t *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->c = *c;
    if (tide_sched_copy_procs(&s->c, &s->procs)) {
        free(s);
        return NULL;
    }
    s->tag = tag;
    if (r)
        s->red = *r;
    return s;
}

int tide_sched_set_local(tide_sched_t *s, const tide_coll_comm_t *l)
{
    s->lc = *l;
    return tide_sched_copy_procs(&s->lc, &s->lprocs);
}

void tide_sched_select(tide_sched_t *s, int local)
{
    s->cur = local;
}

static int tide_sched_add(tide_sched_t *s, tide_step_t st)
{
    st.local = s->cur;
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 16;
        tide_step_t *t = realloc(s->steps, ncap * sizeof(*t));
        if (!t)
            return -ENOMEM;
        s->steps = t;
        s->cap = ncap;
    }
    s->steps[s->n++] = st;
    return 0;
}

int tide_sched_send(tide_sched_t *s, const void *buf, size_t bytes, int peer)
{
    return tide_sched_add(
        s, (tide_step_t){.kind = TIDE_STEP_SEND, .peer = peer, .src = buf, .n = bytes});
}

int tide_sched_recv(tide_sched_t *s, void *buf, size_t bytes, int peer)
{
    return tide_sched_add(
        s, (tide_step_t){.kind = TIDE_STEP_RECV, .peer = peer, .dst = buf, .n = bytes});
}

int tide_sched_copy(tide_sched_t *s, const void *src, void *dst, size_t bytes)
{
    if (bytes == 0 || src == dst)
        return 0;
    return tide_sched_add(
        s, (tide_step_t){.kind = TIDE_STEP_COPY, .src = src, .dst = dst, .n = bytes});
}

int tide_sched_reduce(tide_sched_t *s, const void *in, void *inout, size_t count)
{
    if (count == 0)
        return 0;
    return tide_sched_add(
        s, (tide_step_t){.kind = TIDE_STEP_REDUCE, .src = in, .dst = inout, .n = count});
}

int tide_sched_fence(tide_sched_t *s)
{
    if (s->n && s->steps[s->n - 1].kind == TIDE_STEP_FENCE)
        return 0;
    return tide_sched_add(s, (tide_step_t){.kind = TIDE_STEP_FENCE});
}

int tide_sched_call(tide_sched_t *s, tide_sched_fn_t *fn, void *arg)
{
    return tide_sched_add(s, (tide_step_t){.kind = TIDE_STEP_CALL, .fn = fn, .dst = arg});
}

void *tide_sched_alloc(tide_sched_t *s, size_t bytes)
{
    tide_sched_mem_t *m = malloc(sizeof(*m) + (bytes ? bytes : 1));
    if (!m)
        return NULL;
    m->fn = NULL;
    m->next = s->mem;
    s->mem = m;
    return m->data;
}

int tide_sched_on_free(tide_sched_t *s, void (*fn)(void *), void *arg)
{
    tide_sched_mem_t *m = malloc(sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->fn = fn;
    m->arg = arg;
    m->next = s->mem;
    s->mem = m;
    return 0;
}

size_t tide_sched_nsteps(const tide_sched_t *s)
{
    return s->n;
}

void tide_sched_goto(tide_sched_t *s, size_t pos)
{
    s->next = pos;
    s->yield = 1;
}

void tide_sched_fail(tide_sched_t *s, int err)
{
    if (!s->err)
        s->err = err;
}

const tide_coll_comm_t *tide_sched_comm(const tide_sched_t *s)
{
    return s->cur ? &s->lc : &s->c;
}

const tide_coll_red_t *tide_sched_red(const tide_sched_t *s)
{
    return &s->red;
}

/* Post one transfer of the current round. */
static int tide_sched_post(tide_sched_t *s, const tide_step_t *st)
{
    if (s->nreq == s->reqcap) {
        size_t ncap = s->reqcap ? s->reqcap * 2 : 8;
        tide_p2p_req_t **t = realloc(s->reqs, ncap * sizeof(*t));
        if (!t)
            return -ENOMEM;
        s->reqs = t;
        s->reqcap = ncap;
    }
    tide_p2p_req_t **out = &s->reqs[s->nreq];
    const tide_coll_comm_t *c = st->local ? &s->lc : &s->c;
    int rc = st->kind == TIDE_STEP_SEND ? tide_coll_isend(c, st->src, st->n, st->peer, s->tag, out)
                                        : tide_coll_irecv(c, st->dst, st->n, st->peer, s->tag, out);
    if (!rc)
        s->nreq++;
    return rc;
}

/* 1 when the round's transfers are all complete (then released). */
static int tide_sched_round_done(tide_sched_t *s)
{
    for (size_t i = 0; i < s->nreq; i++)
        if (!tide_p2p_req_done(s->reqs[i]))
            return 0;
    for (size_t i = 0; i < s->nreq; i++) {
        if (!s->err)
            s->err = s->reqs[i]->status.error;
        tide_p2p_req_free(s->reqs[i]);
    }
    s->nreq = 0;
    return 1;
}

/* Issue steps up to the next fence; 0 or the first error. */
static int tide_sched_issue(tide_sched_t *s)
{
    while (s->next < s->n) {
        const tide_step_t *st = &s->steps[s->next++];
        int rc = 0;
        switch (st->kind) {
        case TIDE_STEP_SEND:
        case TIDE_STEP_RECV: rc = tide_sched_post(s, st); break;
        case TIDE_STEP_COPY: memmove(st->dst, st->src, st->n); break;
        case TIDE_STEP_REDUCE: tide_coll_apply(&s->red, st->src, st->dst, st->n); break;
        case TIDE_STEP_CALL: st->fn(st->dst, 0); break; /* may add steps: st is stale */
        case TIDE_STEP_FENCE: return 0;
        }
        if (rc)
            return rc;
        if (s->yield || s->err) /* tide_sched_goto, tide_sched_fail */
            return 0;
    }
    return 0;
}

/* Advance s as far as it goes without waiting; 1 once it is finished.
 * Called with tide_sched_lock held. */
static int tide_sched_advance(tide_sched_t *s)
{
    for (;;) {
        if (!tide_sched_round_done(s))
            return 0;
        if (s->err || s->next == s->n)
            return 1;
        int rc = tide_sched_issue(s);
        if (rc && !s->err)
            s->err = rc;
        if (s->yield && !s->err) { /* a loop goes on at the next call */
            s->yield = 0;
            return 0;
        }
        if (s->err) { /* stop: cancel what is posted, wait for it */
            for (size_t i = 0; i < s->nreq; i++)
                if (s->reqs[i]->kind == TIDE_P2P_REQ_RECV)
                    tide_p2p_cancel(s->reqs[i]);
        }
    }
}

/* Advance every schedule in flight; the caller holds tide_sched_lock. */
static int tide_sched_advance_all(void)
{
    int events = 0;
    tide_list_t *pos, *tmp;
    tide_list_for_each_safe(pos, tmp, &tide_sched_active)
    {
        tide_sched_t *s = tide_container_of(pos, tide_sched_t, link);
        if (tide_sched_advance(s)) {
            tide_list_del(&s->link);
            __atomic_sub_fetch(&tide_sched_nactive, 1, __ATOMIC_RELAXED);
            __atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
            events++;
        }
    }
    return events;
}

void tide_sched_start(tide_sched_t *s)
{
    pthread_mutex_lock(&tide_sched_lock);
    tide_list_push_back(&tide_sched_active, &s->link);
    __atomic_add_fetch(&tide_sched_nactive, 1, __ATOMIC_RELAXED);
    if (tide_sched_advance(s)) {
        tide_list_del(&s->link);
        __atomic_sub_fetch(&tide_sched_nactive, 1, __ATOMIC_RELAXED);
        __atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&tide_sched_lock);
}

int tide_sched_done(const tide_sched_t *s)
{
    return __atomic_load_n(&s->done, __ATOMIC_ACQUIRE);
}

int tide_sched_error(const tide_sched_t *s)
{
    return s->err;
}

void tide_sched_free(tide_sched_t *s)
{
    if (!s)
        return;
    while (s->mem) {
        tide_sched_mem_t *m = s->mem;
        s->mem = m->next;
        if (m->fn)
            m->fn(m->arg);
        free(m);
    }
    free(s->reqs);
    free(s->steps);
    free(s->procs);
    free(s->lprocs);
    free(s);
}

int tide_coll_progress(void)
{
    int events = tide_p2p_progress();
    if (__atomic_load_n(&tide_sched_nactive, __ATOMIC_RELAXED) == 0)
        return events;
    if (pthread_mutex_trylock(&tide_sched_lock) != 0)
        return events;
    events += tide_sched_advance_all();
    pthread_mutex_unlock(&tide_sched_lock);
    return events;
}
