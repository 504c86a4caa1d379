/* Requests (MPI 4.1 section 3.7): the handle table, completion
 * (Wait/Test and their -all/-any/-some forms), Request_free,
 * Request_get_status and persistent requests' Start/Startall.  Waiting
 * drives the point-to-point progress engine on the calling thread.
 * Process failures (ft.c, ULFM): a receive from MPI_ANY_SOURCE still
 * waiting for a match while its communicator has an unacknowledged failed
 * member is interrupted -- Wait/Test return MPI_ERR_PROC_FAILED_PENDING
 * and leave it pending, a blocking receive withdraws it and returns
 * MPI_ERR_PROC_FAILED.  Collectives need nothing here: the point-to-point
 * layer fails their transfers once the context is revoked. */
#include "config.h"
#include "coll/sched.h"
#include "mpi/dtype.h"
#include "mpi/ft.h"
#include "mpi/mpi_impl.h"
#include "p2p/p2p.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Handles index a table of pointers; freed slots are reused through a
 * free list threaded through the table.  Handle 0 is MPI_REQUEST_NULL. */
static pthread_mutex_t tide_req_lock = PTHREAD_MUTEX_INITIALIZER;
static tide_mpi_req_t **tide_req_table;
static int tide_req_cap;
static int tide_req_free_head = -1;
static int *tide_req_next_free;

tide_mpi_req_t *tide_mpi_req_new(tide_mpi_req_kind_t kind, MPI_Comm comm)
{
    tide_mpi_req_t *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    pthread_mutex_lock(&tide_req_lock);
    if (tide_req_free_head < 0) {
        int ncap = tide_req_cap ? tide_req_cap * 2 : 64;
        tide_mpi_req_t **t = realloc(tide_req_table, (size_t)ncap * sizeof(*t));
        int *nf = t ? realloc(tide_req_next_free, (size_t)ncap * sizeof(*nf)) : NULL;
        if (t)
            tide_req_table = t;
        if (!nf) {
            pthread_mutex_unlock(&tide_req_lock);
            free(r);
            return NULL;
        }
        tide_req_next_free = nf;
        for (int i = ncap - 1; i >= tide_req_cap; i--) {
            tide_req_table[i] = NULL;
            tide_req_next_free[i] = tide_req_free_head;
            tide_req_free_head = i;
        }
        tide_req_cap = ncap;
    }
    int idx = tide_req_free_head;
    tide_req_free_head = tide_req_next_free[idx];
    tide_req_table[idx] = r;
    pthread_mutex_unlock(&tide_req_lock);
    r->handle = idx + 1;
    r->kind = kind;
    r->is_recv = kind == TIDE_MPI_REQ_RECV;
    r->comm = comm;
    return r;
}

tide_mpi_req_t *tide_mpi_req_get(MPI_Request h)
{
    tide_mpi_req_t *r = NULL;
    pthread_mutex_lock(&tide_req_lock);
    if (h >= 1 && h <= tide_req_cap)
        r = tide_req_table[h - 1];
    pthread_mutex_unlock(&tide_req_lock);
    return r;
}

void tide_mpi_req_release(tide_mpi_req_t *r)
{
    if (r->p2p)
        tide_p2p_req_free(r->p2p);
    if (r->sched)
        tide_sched_free(r->sched);
    if (r->greq)
        tide_greq_release(r);
    if (r->owns_dt)
        tide_dtype_free_handle(r->dt);
    if (r->also)
        tide_mpi_req_release(r->also);
    free(r->also_mem);
    pthread_mutex_lock(&tide_req_lock);
    int idx = r->handle - 1;
    tide_req_table[idx] = NULL;
    tide_req_next_free[idx] = tide_req_free_head;
    tide_req_free_head = idx;
    pthread_mutex_unlock(&tide_req_lock);
    free(r);
}

void tide_mpi_status_empty(MPI_Status *st)
{
    if (!st)
        return;
    st->MPI_SOURCE = MPI_ANY_SOURCE;
    st->MPI_TAG = MPI_ANY_TAG;
    st->MPI_ERROR = MPI_SUCCESS;
    st->tide_cancelled = 0;
    st->tide_count = 0;
}

static int tide_mpi_errno_class(int err)
{
    switch (err) {
    case 0: return MPI_SUCCESS;
    case -EMSGSIZE: return MPI_ERR_TRUNCATE;
    case -ENOMEM: return MPI_ERR_NO_MEM;
    case -ECONNRESET:
    case -ETIMEDOUT:
    case -EPIPE: return MPI_ERR_PROC_FAILED;
    default: return MPI_ERR_OTHER;
    }
}

static int tide_mpi_req_is_done(const tide_mpi_req_t *r)
{
    if (r->persistent && !r->active)
        return 1;
    if (r->also && !tide_mpi_req_is_done(r->also))
        return 0;
    if (r->kind == TIDE_MPI_REQ_COLL)
        return tide_sched_done(r->sched);
    if (r->kind == TIDE_MPI_REQ_GREQ)
        return tide_greq_done(r);
    return r->kind == TIDE_MPI_REQ_DONE || (r->p2p && tide_p2p_req_done(r->p2p));
}

/* A receive from MPI_ANY_SOURCE that a process failure interrupts: still
 * posted (no message matched it yet) and its communicator has a failed
 * member the program has not acknowledged.  Callers ask only after a
 * failure has been marked (tide_ft_changed). */
static int tide_mpi_req_interrupted(const tide_mpi_req_t *r)
{
    const tide_p2p_req_t *p = r->p2p;
    return r->kind == TIDE_MPI_REQ_RECV && p && p->peer == TIDE_P2P_ANY_SOURCE &&
           !tide_p2p_req_done(p) && tide_ft_anysrc_blocked(p->ctx) && tide_p2p_recv_posted(p);
}

/* Fill status from a completed request; return its error class.  The
 * MPI_ERROR field is left to the multiple-completion calls (MPI 4.1
 * section 3.2.5). */
static int tide_mpi_req_status_own(const tide_mpi_req_t *r, MPI_Status *st);

/* ... and the error of a second operation if the first had none. */
static int tide_mpi_req_status(const tide_mpi_req_t *r, MPI_Status *st)
{
    int err = tide_mpi_req_status_own(r, st);
    if (r->also) {
        int err2 = tide_mpi_req_status_own(r->also, NULL);
        err = err ? err : err2;
    }
    return err;
}

static int tide_mpi_req_status_own(const tide_mpi_req_t *r, MPI_Status *st)
{
    if (r->kind == TIDE_MPI_REQ_COLL) { /* empty status (MPI 4.1 section 6.12) */
        int err = tide_sched_error(r->sched);
        tide_mpi_status_empty(st);
        return err > 0 ? err : tide_mpi_errno_class(err);
    }
    if (r->kind == TIDE_MPI_REQ_GREQ) /* the application's query_fn */
        return tide_greq_query(r, st);
    if ((r->persistent && !r->active) || !r->p2p) {
        if (st && r->kind == TIDE_MPI_REQ_DONE && !(r->persistent && !r->active)) {
            int err = st->MPI_ERROR;
            *st = r->done_status;
            st->MPI_ERROR = err;
        } else {
            tide_mpi_status_empty(st);
        }
        return MPI_SUCCESS;
    }
    const tide_p2p_status_t *ps = &r->p2p->status;
    if (st) {
        if (r->kind == TIDE_MPI_REQ_RECV) {
            st->MPI_SOURCE = ps->source;
            st->MPI_TAG = ps->tag;
        }
        st->tide_cancelled = ps->cancelled;
        st->tide_count = (MPI_Count)ps->bytes;
    }
    return tide_mpi_errno_class(ps->error);
}

/* A completed request: report, then free or deactivate it. */
static int tide_mpi_req_finish(MPI_Request *h, tide_mpi_req_t *r, MPI_Status *st)
{
    int err = tide_mpi_req_status(r, st);
    if (r->greq) { /* free_fn's error is the call's if query_fn had none */
        int ferr = tide_greq_release(r);
        err = err ? err : ferr;
    }
    if (r->persistent) {
        if (r->p2p) {
            tide_p2p_req_free(r->p2p);
            r->p2p = NULL;
        }
        r->active = 0;
        if (r->free_when_done) {
            tide_mpi_req_release(r);
            *h = MPI_REQUEST_NULL;
        }
    } else {
        tide_mpi_req_release(r);
        *h = MPI_REQUEST_NULL;
    }
    return err;
}

/* Requests freed by MPI_Request_free while their operation is in flight
 * ("orphans") are released once it completes. */
static tide_mpi_req_t *tide_req_orphans;

static void tide_mpi_req_orphan(tide_mpi_req_t *r)
{
    pthread_mutex_lock(&tide_req_lock);
    r->next_orphan = tide_req_orphans;
    tide_req_orphans = r;
    pthread_mutex_unlock(&tide_req_lock);
}

static void tide_mpi_req_reap(void)
{
    if (!__atomic_load_n(&tide_req_orphans, __ATOMIC_RELAXED))
        return;
    pthread_mutex_lock(&tide_req_lock);
    tide_mpi_req_t *done = NULL, **pp = &tide_req_orphans;
    while (*pp) {
        tide_mpi_req_t *r = *pp;
        if (tide_mpi_req_is_done(r)) {
            *pp = r->next_orphan;
            r->next_orphan = done;
            done = r;
        } else {
            pp = &r->next_orphan;
        }
    }
    pthread_mutex_unlock(&tide_req_lock);
    while (done) {
        tide_mpi_req_t *next = done->next_orphan;
        tide_mpi_req_release(done);
        done = next;
    }
}

void tide_mpi_req_drain_orphans(void)
{
    tide_p2p_idle_t idle = TIDE_P2P_IDLE_INIT;
    tide_mpi_req_reap();
    while (__atomic_load_n(&tide_req_orphans, __ATOMIC_RELAXED)) {
        tide_p2p_idle(&idle, tide_coll_progress());
        tide_mpi_req_reap();
    }
}

/* One pass of a blocking wait: progress, then spin on or sleep (p2p.h). */
static void tide_mpi_progress_wait(tide_p2p_idle_t *idle)
{
    tide_mpi_req_reap();
    tide_p2p_idle(idle, tide_coll_progress());
}

int tide_mpi_test_one(MPI_Request *h, int *flag, MPI_Status *st)
{
    tide_mpi_req_reap(); /* requests freed in flight that have completed */
    if (*h == MPI_REQUEST_NULL) {
        *flag = 1;
        tide_mpi_status_empty(st);
        return MPI_SUCCESS;
    }
    tide_mpi_req_t *r = tide_mpi_req_get(*h);
    if (!r)
        return MPI_ERR_REQUEST;
    if (!tide_mpi_req_is_done(r)) {
        tide_coll_progress();
        if (!tide_mpi_req_is_done(r)) {
            uint64_t epoch = 0;
            *flag = 0;
            if (tide_ft_changed(&epoch) && tide_mpi_req_interrupted(r))
                return MPI_ERR_PROC_FAILED_PENDING;
            return MPI_SUCCESS;
        }
    }
    *flag = 1;
    return tide_mpi_req_finish(h, r, st);
}

int tide_mpi_wait_one(MPI_Request *h, MPI_Status *st)
{
    if (*h == MPI_REQUEST_NULL) {
        tide_mpi_status_empty(st);
        return MPI_SUCCESS;
    }
    tide_mpi_req_t *r = tide_mpi_req_get(*h);
    if (!r)
        return MPI_ERR_REQUEST;
    tide_p2p_idle_t idle = TIDE_P2P_IDLE_INIT;
    uint64_t epoch = 0;
    while (!tide_mpi_req_is_done(r)) {
        if (tide_ft_changed(&epoch) && tide_mpi_req_interrupted(r))
            return MPI_ERR_PROC_FAILED_PENDING; /* still pending (ULFM) */
        tide_mpi_progress_wait(&idle);
    }
    return tide_mpi_req_finish(h, r, st);
}

int tide_mpi_wait_blocking(MPI_Request *h, MPI_Status *st)
{
    for (;;) {
        int rc = tide_mpi_wait_one(h, st);
        if (rc != MPI_ERR_PROC_FAILED_PENDING)
            return rc;
        /* A blocking receive does not stay pending: withdraw it, unless a
         * message matched it meanwhile (then it completes normally). */
        tide_mpi_req_t *r = tide_mpi_req_get(*h);
        if (tide_p2p_cancel(r->p2p)) {
            tide_mpi_wait_one(h, MPI_STATUS_IGNORE); /* now complete: frees it */
            tide_mpi_status_empty(st);
            return MPI_ERR_PROC_FAILED;
        }
    }
}

/* Report the error of a single-completion call through the handler of the
 * request's communicator. */
static int tide_mpi_req_error(const char *fn, MPI_Comm comm, int err, MPI_Request h)
{
    if (err == MPI_SUCCESS)
        return MPI_SUCCESS;
    if (err == MPI_ERR_REQUEST)
        return tide_mpi_error(MPI_COMM_NULL, fn, err,
                              "argument request (handle %d) is not a valid request", (int)h);
    if (err == MPI_ERR_TRUNCATE)
        return tide_mpi_error(comm, fn, err,
                              "the message was longer than the receive buffer (it was "
                              "consumed; status holds what was received)");
    if (err == MPI_ERR_PROC_FAILED_PENDING)
        return tide_mpi_error(comm, fn, err,
                              "a process of the communicator failed while this MPI_ANY_SOURCE "
                              "receive (request %d) waited; it is still pending: "
                              "MPIX_Comm_failure_ack lets it wait again",
                              (int)h);
    if (err == MPI_ERR_PROC_FAILED)
        return tide_mpi_error(comm, fn, err, "a process the operation involves has failed");
    return tide_mpi_error(comm, fn, err, "the operation failed");
}

int PMPI_Wait(MPI_Request *request, MPI_Status *status)
{
    static const char fn[] = "MPI_Wait";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, request, "request");
    MPI_Request h = *request;
    tide_mpi_req_t *r = tide_mpi_req_get(h);
    MPI_Comm comm = r ? r->comm : MPI_COMM_NULL;
    return tide_mpi_req_error(fn, comm, tide_mpi_wait_one(request, status), h);
}
TIDE_MPI_WEAK(MPI_Wait);

int PMPI_Test(MPI_Request *request, int *flag, MPI_Status *status)
{
    static const char fn[] = "MPI_Test";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, request, "request");
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, flag, "flag");
    MPI_Request h = *request;
    tide_mpi_req_t *r = tide_mpi_req_get(h);
    MPI_Comm comm = r ? r->comm : MPI_COMM_NULL;
    return tide_mpi_req_error(fn, comm, tide_mpi_test_one(request, flag, status), h);
}
TIDE_MPI_WEAK(MPI_Test);

/* Check an array of requests before a multiple-completion call. */
static int tide_mpi_check_reqs(const char *fn, int count, MPI_Request *reqs)
{
    if (count < 0)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_COUNT, "argument count (%d) is negative",
                              count);
    if (count > 0 && !reqs)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ARG,
                              "argument array_of_requests is a NULL pointer");
    for (int i = 0; i < count; i++)
        if (reqs[i] != MPI_REQUEST_NULL && !tide_mpi_req_get(reqs[i]))
            return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_REQUEST,
                                  "array_of_requests[%d] (handle %d) is not a valid request", i,
                                  (int)reqs[i]);
    return MPI_SUCCESS;
}

static MPI_Status *tide_mpi_status_at(MPI_Status *sts, int i)
{
    return sts == MPI_STATUSES_IGNORE ? MPI_STATUS_IGNORE : &sts[i];
}

/* Complete every request in reqs; errors go into statuses (ERR_IN_STATUS). */
static int tide_mpi_finish_all(const char *fn, int count, MPI_Request *reqs, MPI_Status *sts)
{
    int any_err = 0;
    MPI_Comm comm = MPI_COMM_NULL;
    for (int i = 0; i < count; i++) {
        MPI_Status *st = tide_mpi_status_at(sts, i);
        tide_mpi_req_t *r = tide_mpi_req_get(reqs[i]);
        if (r && comm == MPI_COMM_NULL)
            comm = r->comm;
        int err = tide_mpi_wait_one(&reqs[i], st);
        if (st)
            st->MPI_ERROR = err;
        any_err |= err != MPI_SUCCESS;
    }
    if (any_err)
        return tide_mpi_error(comm, fn, MPI_ERR_IN_STATUS,
                              "at least one request failed; see the MPI_ERROR field of each "
                              "status");
    return MPI_SUCCESS;
}

int PMPI_Waitall(int count, MPI_Request array_of_requests[], MPI_Status array_of_statuses[])
{
    static const char fn[] = "MPI_Waitall";
    TIDE_MPI_CHECK_INIT(fn);
    int rc = tide_mpi_check_reqs(fn, count, array_of_requests);
    if (rc)
        return rc;
    return tide_mpi_finish_all(fn, count, array_of_requests, array_of_statuses);
}
TIDE_MPI_WEAK(MPI_Waitall);

int PMPI_Testall(int count, MPI_Request array_of_requests[], int *flag,
                 MPI_Status array_of_statuses[])
{
    static const char fn[] = "MPI_Testall";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, flag, "flag");
    int rc = tide_mpi_check_reqs(fn, count, array_of_requests);
    if (rc)
        return rc;
    tide_coll_progress();
    for (int i = 0; i < count; i++) {
        tide_mpi_req_t *r = tide_mpi_req_get(array_of_requests[i]);
        if (r && !tide_mpi_req_is_done(r)) {
            *flag = 0;
            return MPI_SUCCESS;
        }
    }
    *flag = 1;
    return tide_mpi_finish_all(fn, count, array_of_requests, array_of_statuses);
}
TIDE_MPI_WEAK(MPI_Testall);

/* Index of a completed active request, -1 if none is complete, or
 * MPI_UNDEFINED when no request is active. */
static int tide_mpi_find_done(int count, MPI_Request *reqs, int start)
{
    int active = 0, failures = tide_p2p_fail_epoch() != 0;
    for (int k = 0; k < count; k++) {
        int i = (start + k) % count;
        tide_mpi_req_t *r = tide_mpi_req_get(reqs[i]);
        if (!r || (r->persistent && !r->active))
            continue;
        active = 1;
        if (tide_mpi_req_is_done(r) || (failures && tide_mpi_req_interrupted(r)))
            return i; /* an interrupted one reports MPI_ERR_PROC_FAILED_PENDING */
    }
    return active ? -1 : MPI_UNDEFINED;
}

static int tide_mpi_any(const char *fn, int count, MPI_Request *reqs, int *index, int *flag,
                        MPI_Status *status, int blocking)
{
    static unsigned rr; /* rotate the start so no request starves */
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, index, "index");
    int rc = tide_mpi_check_reqs(fn, count, reqs);
    if (rc)
        return rc;
    tide_p2p_idle_t idle = TIDE_P2P_IDLE_INIT;
    int i;
    unsigned start = count ? __atomic_fetch_add(&rr, 1, __ATOMIC_RELAXED) % (unsigned)count : 0;
    while ((i = tide_mpi_find_done(count, reqs, (int)start)) == -1) {
        if (!blocking) {
            tide_coll_progress();
            if ((i = tide_mpi_find_done(count, reqs, (int)start)) == -1) {
                *flag = 0;
                *index = MPI_UNDEFINED;
                return MPI_SUCCESS;
            }
            break;
        }
        tide_mpi_progress_wait(&idle);
    }
    if (flag)
        *flag = 1;
    if (i == MPI_UNDEFINED) {
        *index = MPI_UNDEFINED;
        tide_mpi_status_empty(status);
        return MPI_SUCCESS;
    }
    *index = i;
    tide_mpi_req_t *r = tide_mpi_req_get(reqs[i]);
    MPI_Comm comm = r->comm;
    MPI_Request h = reqs[i];
    int err = tide_mpi_wait_one(&reqs[i], status);
    if (err == MPI_ERR_PROC_FAILED_PENDING && flag)
        *flag = 0; /* as MPI_Test: not complete */
    return tide_mpi_req_error(fn, comm, err, h);
}

int PMPI_Waitany(int count, MPI_Request array_of_requests[], int *index, MPI_Status *status)
{
    TIDE_MPI_CHECK_INIT("MPI_Waitany");
    return tide_mpi_any("MPI_Waitany", count, array_of_requests, index, NULL, status, 1);
}
TIDE_MPI_WEAK(MPI_Waitany);

int PMPI_Testany(int count, MPI_Request array_of_requests[], int *index, int *flag,
                 MPI_Status *status)
{
    TIDE_MPI_CHECK_INIT("MPI_Testany");
    TIDE_MPI_CHECK_PTR("MPI_Testany", MPI_COMM_NULL, flag, "flag");
    return tide_mpi_any("MPI_Testany", count, array_of_requests, index, flag, status, 0);
}
TIDE_MPI_WEAK(MPI_Testany);

static int tide_mpi_some(const char *fn, int incount, MPI_Request *reqs, int *outcount,
                         int *indices, MPI_Status *sts, int blocking)
{
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, outcount, "outcount");
    int rc = tide_mpi_check_reqs(fn, incount, reqs);
    if (rc)
        return rc;
    tide_p2p_idle_t idle = TIDE_P2P_IDLE_INIT;
    for (;;) {
        int n = 0, active = 0, any_err = 0, failures = tide_p2p_fail_epoch() != 0;
        MPI_Comm comm = MPI_COMM_NULL;
        for (int i = 0; i < incount; i++) {
            tide_mpi_req_t *r = tide_mpi_req_get(reqs[i]);
            if (!r || (r->persistent && !r->active))
                continue;
            active = 1;
            /* an interrupted receive is reported (MPI_ERR_PROC_FAILED_PENDING), not freed */
            if (!tide_mpi_req_is_done(r) && !(failures && tide_mpi_req_interrupted(r)))
                continue;
            comm = r->comm;
            MPI_Status *st = tide_mpi_status_at(sts, n);
            int err = tide_mpi_wait_one(&reqs[i], st);
            if (st)
                st->MPI_ERROR = err;
            any_err |= err != MPI_SUCCESS;
            indices[n++] = i;
        }
        if (!active) {
            *outcount = MPI_UNDEFINED;
            return MPI_SUCCESS;
        }
        if (n > 0 || !blocking) {
            *outcount = n;
            if (any_err)
                return tide_mpi_error(comm, fn, MPI_ERR_IN_STATUS,
                                      "at least one request failed; see the statuses");
            if (n == 0)
                tide_coll_progress();
            return MPI_SUCCESS;
        }
        tide_mpi_progress_wait(&idle);
    }
}

int PMPI_Waitsome(int incount, MPI_Request array_of_requests[], int *outcount,
                  int array_of_indices[], MPI_Status array_of_statuses[])
{
    TIDE_MPI_CHECK_INIT("MPI_Waitsome");
    return tide_mpi_some("MPI_Waitsome", incount, array_of_requests, outcount, array_of_indices,
                         array_of_statuses, 1);
}
TIDE_MPI_WEAK(MPI_Waitsome);

int PMPI_Testsome(int incount, MPI_Request array_of_requests[], int *outcount,
                  int array_of_indices[], MPI_Status array_of_statuses[])
{
    TIDE_MPI_CHECK_INIT("MPI_Testsome");
    return tide_mpi_some("MPI_Testsome", incount, array_of_requests, outcount, array_of_indices,
                         array_of_statuses, 0);
}
TIDE_MPI_WEAK(MPI_Testsome);

int tide_mpi_req_keep_type(const char *fn, tide_mpi_req_t *r, MPI_Datatype dt)
{
    tide_dtype_t *t = tide_dtype_get(dt);
    r->dt = dt;
    if (!t)
        return MPI_SUCCESS;
    MPI_Datatype own = tide_dtype_new_handle(t);
    if (own == MPI_DATATYPE_NULL)
        return tide_mpi_error(r->comm, fn, MPI_ERR_NO_MEM,
                              "out of datatype handles keeping the type of a persistent request");
    r->dt = own;
    r->owns_dt = 1;
    return MPI_SUCCESS;
}

int tide_mpi_req_cancel(tide_mpi_req_t *r)
{
    if (r->kind == TIDE_MPI_REQ_COLL)
        return tide_mpi_error(r->comm, "MPI_Cancel", MPI_ERR_REQUEST,
                              "request %d belongs to a nonblocking collective, which cannot be "
                              "cancelled (MPI 4.1 section 6.12)",
                              (int)r->handle);
    if (r->kind == TIDE_MPI_REQ_GREQ) {
        int rc = tide_greq_cancel(r);
        return rc ? tide_mpi_error(r->comm, "MPI_Cancel", rc,
                                   "the cancel_fn of generalized "
                                   "request %d failed",
                                   (int)r->handle)
                  : MPI_SUCCESS;
    }
    return MPI_SUCCESS;
}

int PMPI_Request_free(MPI_Request *request)
{
    static const char fn[] = "MPI_Request_free";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, request, "request");
    tide_mpi_req_t *r = tide_mpi_req_get(*request);
    if (!r)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_REQUEST,
                              "argument request (handle %d) is not a valid request", (int)*request);
    if (r->kind == TIDE_MPI_REQ_COLL)
        return tide_mpi_error(r->comm, fn, MPI_ERR_REQUEST,
                              "request %d belongs to a nonblocking collective, which cannot be "
                              "freed (MPI 4.1 section 6.12): complete it with MPI_Wait or MPI_Test",
                              (int)*request);
    /* An operation in flight still completes; its request goes away then. */
    if (tide_mpi_req_is_done(r) || (r->persistent && !r->active)) {
        tide_mpi_req_release(r);
    } else {
        tide_mpi_req_orphan(r);
    }
    *request = MPI_REQUEST_NULL;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Request_free);

int PMPI_Request_get_status(MPI_Request request, int *flag, MPI_Status *status)
{
    static const char fn[] = "MPI_Request_get_status";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, flag, "flag");
    if (request == MPI_REQUEST_NULL) {
        *flag = 1;
        tide_mpi_status_empty(status);
        return MPI_SUCCESS;
    }
    tide_mpi_req_t *r = tide_mpi_req_get(request);
    if (!r)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_REQUEST,
                              "argument request (handle %d) is not a valid request", (int)request);
    if (!tide_mpi_req_is_done(r))
        tide_coll_progress();
    *flag = tide_mpi_req_is_done(r);
    if (*flag)
        return tide_mpi_req_error(fn, r->comm, tide_mpi_req_status(r, status), request);
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Request_get_status);
