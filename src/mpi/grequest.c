/* Generalized requests (MPI 4.1 section 13.2): MPI_Grequest_start hands
 * out a request whose operation the application runs itself and ends with
 * MPI_Grequest_complete.  The completion calls of request.c see it done
 * once complete is set; they then call query_fn to fill the status and,
 * when the request is freed, free_fn.  MPI_Cancel calls cancel_fn
 * (tide_mpi_req_cancel). */
#include "config.h"
#include "mpi/mpi_impl.h"

#include <stdlib.h>

typedef struct tide_greq {
    MPI_Grequest_query_function *query;
    MPI_Grequest_free_function *free_fn;
    MPI_Grequest_cancel_function *cancel;
    void *extra;
    int complete; /* atomic */
} tide_greq_t;

int tide_greq_done(const tide_mpi_req_t *r)
{
    return __atomic_load_n(&r->greq->complete, __ATOMIC_ACQUIRE);
}

int tide_greq_query(const tide_mpi_req_t *r, MPI_Status *st)
{
    MPI_Status tmp;
    MPI_Status *s = st ? st : &tmp;
    int err = s->MPI_ERROR;
    tide_mpi_status_empty(s);
    s->MPI_ERROR = err;
    return r->greq->query ? r->greq->query(r->greq->extra, s) : MPI_SUCCESS;
}

int tide_greq_cancel(const tide_mpi_req_t *r)
{
    tide_greq_t *g = r->greq;
    return g->cancel ? g->cancel(g->extra, tide_greq_done(r)) : MPI_SUCCESS;
}

int tide_greq_release(tide_mpi_req_t *r)
{
    tide_greq_t *g = r->greq;
    int rc = g->free_fn ? g->free_fn(g->extra) : MPI_SUCCESS;
    free(g);
    r->greq = NULL;
    return rc;
}

int PMPI_Grequest_start(MPI_Grequest_query_function *query_fn, MPI_Grequest_free_function *free_fn,
                        MPI_Grequest_cancel_function *cancel_fn, void *extra_state,
                        MPI_Request *request)
{
    static const char fn[] = "MPI_Grequest_start";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, request, "request");
    tide_greq_t *g = calloc(1, sizeof(*g));
    tide_mpi_req_t *r = g ? tide_mpi_req_new(TIDE_MPI_REQ_GREQ, MPI_COMM_SELF) : NULL;
    if (!r) {
        free(g);
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_NO_MEM, "out of memory for a request");
    }
    *g = (tide_greq_t){query_fn, free_fn, cancel_fn, extra_state, 0};
    r->greq = g;
    *request = r->handle;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Grequest_start);

int PMPI_Grequest_complete(MPI_Request request)
{
    static const char fn[] = "MPI_Grequest_complete";
    TIDE_MPI_CHECK_INIT(fn);
    tide_mpi_req_t *r = tide_mpi_req_get(request);
    if (!r || r->kind != TIDE_MPI_REQ_GREQ)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_REQUEST,
                              "argument request (handle %d) is not a generalized request",
                              (int)request);
    if (__atomic_exchange_n(&r->greq->complete, 1, __ATOMIC_ACQ_REL))
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_REQUEST,
                              "generalized request %d is already complete", (int)request);
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Grequest_complete);
