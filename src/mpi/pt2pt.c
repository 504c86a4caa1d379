/* Point-to-point API (MPI 4.1 chapter 3): argument checks, then the p2p
 * layer.  Blocking calls are the nonblocking ones followed by a wait on
 * the calling thread, which drives progress while it waits. */
#include "config.h"
#include "coll/sched.h"
#include "mpi/dtype.h"
#include "mpi/ft.h"
#include "mpi/mpi_impl.h"
#include "p2p/p2p.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TIDE_TAG_UB 0x7fffffff

/* Check a message buffer and describe it (dtype.h): contiguous bytes at
 * buf + m->shift, or count items of a non-contiguous layout. */
static int tide_check_buf(const char *fn, MPI_Comm comm, const void *buf, int count,
                          MPI_Datatype dt, tide_dt_msg_t *m)
{
    if (count < 0)
        return tide_mpi_error(comm, fn, MPI_ERR_COUNT, "argument count (%d) is negative", count);
    int rc = tide_dt_msg(dt, count, m);
    if (rc)
        return tide_dt_msg_error(fn, comm, dt, rc);
    /* A derived type may address memory from MPI_BOTTOM (NULL). */
    if (!buf && m->bytes > 0 && !m->lay && !m->shift)
        return tide_mpi_error(comm, fn, MPI_ERR_BUFFER, "argument buf is NULL but count is %d",
                              count);
    return MPI_SUCCESS;
}

static int tide_check_dest(const char *fn, tide_comm_t *c, int dest, int tag)
{
    if (dest != MPI_PROC_NULL && (dest < 0 || dest >= c->size))
        return tide_mpi_error(c->handle, fn, MPI_ERR_RANK,
                              "argument dest (%d) is not a rank of %s (size %d)", dest, c->name,
                              c->size);
    if (tag < 0 || tag > TIDE_TAG_UB)
        return tide_mpi_error(c->handle, fn, MPI_ERR_TAG,
                              "argument tag (%d) is outside 0..MPI_TAG_UB (%d)", tag, TIDE_TAG_UB);
    return MPI_SUCCESS;
}

static int tide_check_src(const char *fn, tide_comm_t *c, int src, int tag)
{
    if (src != MPI_PROC_NULL && src != MPI_ANY_SOURCE && (src < 0 || src >= c->size))
        return tide_mpi_error(c->handle, fn, MPI_ERR_RANK,
                              "argument source (%d) is not a rank of %s (size %d), "
                              "MPI_ANY_SOURCE or MPI_PROC_NULL",
                              src, c->name, c->size);
    if (tag != MPI_ANY_TAG && (tag < 0 || tag > TIDE_TAG_UB))
        return tide_mpi_error(c->handle, fn, MPI_ERR_TAG,
                              "argument tag (%d) is outside 0..MPI_TAG_UB (%d) and not "
                              "MPI_ANY_TAG",
                              tag, TIDE_TAG_UB);
    return MPI_SUCCESS;
}

static int tide_p2p_err_class(const char *fn, MPI_Comm comm, int rc, int peer)
{
    if (rc == -ENOMEM)
        return tide_mpi_error(comm, fn, MPI_ERR_NO_MEM, "out of memory");
    return tide_mpi_error(comm, fn, MPI_ERR_OTHER, "cannot reach rank %d (%s)", peer,
                          strerror(-rc));
}

int tide_mpi_start_send(const char *fn, tide_comm_t *c, const void *buf, int count, MPI_Datatype dt,
                        int dest, int tag, tide_mpi_send_mode_t mode, tide_mpi_req_t *r)
{
    tide_dt_msg_t m;
    int rc = tide_check_buf(fn, c->handle, buf, count, dt, &m);
    if (rc || (rc = tide_check_dest(fn, c, dest, tag)))
        return rc;
    r->kind = TIDE_MPI_REQ_SEND;
    if (dest == MPI_PROC_NULL) {
        r->kind = TIDE_MPI_REQ_DONE;
        tide_mpi_status_empty(&r->done_status);
        r->done_status.MPI_SOURCE = MPI_PROC_NULL;
        return MPI_SUCCESS;
    }
    if (mode == TIDE_MPI_SEND_BUFFERED) {
        rc = tide_mpi_bsend_start(fn, c, buf, count, dt, dest, tag);
        r->kind = TIDE_MPI_REQ_DONE;
        tide_mpi_status_empty(&r->done_status);
        return rc;
    }
    tide_p2p_mode_t pm = mode == TIDE_MPI_SEND_SYNC    ? TIDE_P2P_MODE_SYNC
                         : mode == TIDE_MPI_SEND_READY ? TIDE_P2P_MODE_READY
                                                       : TIDE_P2P_MODE_STANDARD;
    if (__builtin_expect(m.lay != NULL, 0))
        rc = tide_p2p_isend_nc(buf, m.lay, (uint64_t)count, tide_comm_proc(c, dest), dest, c->rank,
                               c->ctx, tag, pm, &r->p2p);
    else
        rc = tide_p2p_isend((const char *)buf + m.shift, m.bytes, tide_comm_proc(c, dest), dest,
                            c->rank, c->ctx, tag, pm, &r->p2p);
    return rc ? tide_p2p_err_class(fn, c->handle, rc, dest) : MPI_SUCCESS;
}

int tide_mpi_start_recv(const char *fn, tide_comm_t *c, void *buf, int count, MPI_Datatype dt,
                        int src, int tag, tide_mpi_req_t *r)
{
    tide_dt_msg_t m;
    int rc = tide_check_buf(fn, c->handle, buf, count, dt, &m);
    if (rc || (rc = tide_check_src(fn, c, src, tag)))
        return rc;
    r->kind = TIDE_MPI_REQ_RECV;
    if (src == MPI_PROC_NULL) {
        r->kind = TIDE_MPI_REQ_DONE;
        tide_mpi_status_empty(&r->done_status);
        r->done_status.MPI_SOURCE = MPI_PROC_NULL;
        return MPI_SUCCESS;
    }
    int psrc = src == MPI_ANY_SOURCE ? TIDE_P2P_ANY_SOURCE : src;
    int ptag = tag == MPI_ANY_TAG ? TIDE_P2P_ANY_TAG : tag;
    if (__builtin_expect(m.lay != NULL, 0))
        rc = tide_p2p_irecv_nc(buf, m.lay, (uint64_t)count, psrc, c->ctx, ptag, &r->p2p);
    else
        rc = tide_p2p_irecv((char *)buf + m.shift, m.bytes, psrc, c->ctx, ptag, &r->p2p);
    if (!rc && psrc >= 0) /* fails with MPI_ERR_PROC_FAILED if that process dies */
        tide_p2p_recv_set_proc(r->p2p, tide_comm_proc(c, src));
    return rc ? tide_p2p_err_class(fn, c->handle, rc, src) : MPI_SUCCESS;
}

/* Nonblocking send of any mode: a new request, started. */
static int tide_isend_mode(const char *fn, const void *buf, int count, MPI_Datatype dt, int dest,
                           int tag, MPI_Comm comm, MPI_Request *request, tide_mpi_send_mode_t mode)
{
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    TIDE_MPI_CHECK_PTR(fn, comm, request, "request");
    tide_mpi_req_t *r = tide_mpi_req_new(TIDE_MPI_REQ_SEND, comm);
    if (!r)
        return tide_mpi_error(comm, fn, MPI_ERR_NO_MEM, "out of memory for a request");
    int rc = tide_mpi_start_send(fn, c, buf, count, dt, dest, tag, mode, r);
    if (rc) {
        tide_mpi_req_release(r);
        return rc;
    }
    *request = r->handle;
    return MPI_SUCCESS;
}

static int tide_send_mode(const char *fn, const void *buf, int count, MPI_Datatype dt, int dest,
                          int tag, MPI_Comm comm, tide_mpi_send_mode_t mode)
{
    MPI_Request req;
    int rc = tide_isend_mode(fn, buf, count, dt, dest, tag, comm, &req, mode);
    if (rc)
        return rc;
    rc = tide_mpi_wait_one(&req, MPI_STATUS_IGNORE);
    return rc ? tide_mpi_error(comm, fn, rc, "the send failed") : MPI_SUCCESS;
}

int PMPI_Send(const void *buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm)
{
    return tide_send_mode("MPI_Send", buf, count, datatype, dest, tag, comm,
                          TIDE_MPI_SEND_STANDARD);
}
TIDE_MPI_WEAK(MPI_Send);

int PMPI_Ssend(const void *buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm)
{
    return tide_send_mode("MPI_Ssend", buf, count, datatype, dest, tag, comm, TIDE_MPI_SEND_SYNC);
}
TIDE_MPI_WEAK(MPI_Ssend);

int PMPI_Rsend(const void *buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm)
{
    return tide_send_mode("MPI_Rsend", buf, count, datatype, dest, tag, comm, TIDE_MPI_SEND_READY);
}
TIDE_MPI_WEAK(MPI_Rsend);

int PMPI_Bsend(const void *buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm)
{
    return tide_send_mode("MPI_Bsend", buf, count, datatype, dest, tag, comm,
                          TIDE_MPI_SEND_BUFFERED);
}
TIDE_MPI_WEAK(MPI_Bsend);

int PMPI_Isend(const void *buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm,
               MPI_Request *request)
{
    return tide_isend_mode("MPI_Isend", buf, count, datatype, dest, tag, comm, request,
                           TIDE_MPI_SEND_STANDARD);
}
TIDE_MPI_WEAK(MPI_Isend);

int PMPI_Issend(const void *buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm,
                MPI_Request *request)
{
    return tide_isend_mode("MPI_Issend", buf, count, datatype, dest, tag, comm, request,
                           TIDE_MPI_SEND_SYNC);
}
TIDE_MPI_WEAK(MPI_Issend);

int PMPI_Irsend(const void *buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm,
                MPI_Request *request)
{
    return tide_isend_mode("MPI_Irsend", buf, count, datatype, dest, tag, comm, request,
                           TIDE_MPI_SEND_READY);
}
TIDE_MPI_WEAK(MPI_Irsend);

int PMPI_Ibsend(const void *buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm,
                MPI_Request *request)
{
    return tide_isend_mode("MPI_Ibsend", buf, count, datatype, dest, tag, comm, request,
                           TIDE_MPI_SEND_BUFFERED);
}
TIDE_MPI_WEAK(MPI_Ibsend);

int PMPI_Irecv(void *buf, int count, MPI_Datatype datatype, int source, int tag, MPI_Comm comm,
               MPI_Request *request)
{
    static const char fn[] = "MPI_Irecv";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    TIDE_MPI_CHECK_PTR(fn, comm, request, "request");
    tide_mpi_req_t *r = tide_mpi_req_new(TIDE_MPI_REQ_RECV, comm);
    if (!r)
        return tide_mpi_error(comm, fn, MPI_ERR_NO_MEM, "out of memory for a request");
    int rc = tide_mpi_start_recv(fn, c, buf, count, datatype, source, tag, r);
    if (rc) {
        tide_mpi_req_release(r);
        return rc;
    }
    *request = r->handle;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Irecv);

static int tide_recv_wait(const char *fn, MPI_Comm comm, MPI_Request req, MPI_Status *status)
{
    int rc = tide_mpi_wait_blocking(&req, status);
    if (rc == MPI_ERR_TRUNCATE)
        return tide_mpi_error(comm, fn, rc,
                              "the message was longer than the receive buffer (it was consumed; "
                              "status holds what was received)");
    if (rc == MPI_ERR_PROC_FAILED)
        return tide_mpi_error(comm, fn, rc,
                              "a process that could send the message has failed (a receive from "
                              "MPI_ANY_SOURCE stops while a failure is not acknowledged with "
                              "MPIX_Comm_failure_ack)");
    return rc ? tide_mpi_error(comm, fn, rc, "the receive failed") : MPI_SUCCESS;
}

int PMPI_Recv(void *buf, int count, MPI_Datatype datatype, int source, int tag, MPI_Comm comm,
              MPI_Status *status)
{
    static const char fn[] = "MPI_Recv";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    tide_mpi_req_t *r = tide_mpi_req_new(TIDE_MPI_REQ_RECV, comm);
    if (!r)
        return tide_mpi_error(comm, fn, MPI_ERR_NO_MEM, "out of memory for a request");
    int rc = tide_mpi_start_recv(fn, c, buf, count, datatype, source, tag, r);
    if (rc) {
        tide_mpi_req_release(r);
        return rc;
    }
    return tide_recv_wait(fn, comm, r->handle, status);
}
TIDE_MPI_WEAK(MPI_Recv);

int PMPI_Sendrecv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, int dest, int sendtag,
                  void *recvbuf, int recvcount, MPI_Datatype recvtype, int source, int recvtag,
                  MPI_Comm comm, MPI_Status *status)
{
    static const char fn[] = "MPI_Sendrecv";
    MPI_Request rreq, sreq;
    int rc = PMPI_Irecv(recvbuf, recvcount, recvtype, source, recvtag, comm, &rreq);
    if (rc)
        return rc;
    rc = PMPI_Isend(sendbuf, sendcount, sendtype, dest, sendtag, comm, &sreq);
    if (rc) {
        tide_mpi_req_t *r = tide_mpi_req_get(rreq);
        if (r && r->p2p)
            tide_p2p_cancel(r->p2p);
        tide_mpi_wait_one(&rreq, MPI_STATUS_IGNORE);
        return rc;
    }
    rc = tide_mpi_wait_one(&sreq, MPI_STATUS_IGNORE);
    int rrc = tide_recv_wait(fn, comm, rreq, status);
    return rc ? tide_mpi_error(comm, fn, rc, "the send failed") : rrc;
}
TIDE_MPI_WEAK(MPI_Sendrecv);

int PMPI_Sendrecv_replace(void *buf, int count, MPI_Datatype datatype, int dest, int sendtag,
                          int source, int recvtag, MPI_Comm comm, MPI_Status *status)
{
    static const char fn[] = "MPI_Sendrecv_replace";
    TIDE_MPI_CHECK_INIT(fn);
    tide_dt_msg_t m;
    if (count < 0 || tide_dt_msg(datatype, count, &m) != 0)
        return PMPI_Sendrecv(buf, count, datatype, dest, sendtag, buf, count, datatype, source,
                             recvtag, comm, status); /* reports the bad argument */
    size_t bytes = m.bytes;
    void *tmp = malloc(bytes ? bytes : 1);
    if (!tmp)
        return tide_mpi_error(comm, fn, MPI_ERR_NO_MEM, "cannot allocate %zu bytes", bytes);
    /* The outgoing copy, packed (a derived type is sent as its bytes). */
    if (bytes && !m.lay) {
        memcpy(tmp, (const char *)buf + m.shift, bytes);
    } else if (bytes) {
        tide_p2p_cur_t cur;
        tide_p2p_cur_init(&cur, buf, m.lay, (uint64_t)count, 0);
        tide_p2p_cur_pack(&cur, tmp, bytes);
    }
    int rc = bytes > 0x7fffffff
                 ? tide_mpi_error(comm, fn, MPI_ERR_COUNT, "message too large (%zu bytes)", bytes)
                 : PMPI_Sendrecv(tmp, (int)bytes, MPI_BYTE, dest, sendtag, buf, count, datatype,
                                 source, recvtag, comm, status);
    free(tmp);
    return rc;
}
TIDE_MPI_WEAK(MPI_Sendrecv_replace);

/* ---- MPI_Isendrecv, MPI_Isendrecv_replace (MPI 4.0) -------------------- */

/* The receive's request is the one the user gets; the send rides on it as
 * its second operation (tide_mpi_req_t.also), so the request completes when
 * both have, with the receive's status and the first error of the two.
 * `mem` (may be NULL) is freed with the request. */
static int tide_isendrecv_start(const char *fn, tide_comm_t *c, const void *sbuf, int scount,
                                MPI_Datatype stype, int dest, int stag, void *rbuf, int rcount,
                                MPI_Datatype rtype, int src, int rtag, void *mem,
                                MPI_Request *request)
{
    tide_dt_msg_t m;
    int rc = tide_check_buf(fn, c->handle, sbuf, scount, stype, &m);
    if (rc || (rc = tide_check_dest(fn, c, dest, stag))) /* before the receive is posted */
        return rc;
    tide_mpi_req_t *r = tide_mpi_req_new(TIDE_MPI_REQ_RECV, c->handle);
    tide_mpi_req_t *s = r ? tide_mpi_req_new(TIDE_MPI_REQ_SEND, c->handle) : NULL;
    if (!s) {
        if (r)
            tide_mpi_req_release(r);
        return tide_mpi_error(c->handle, fn, MPI_ERR_NO_MEM, "out of memory for a request");
    }
    rc = tide_mpi_start_recv(fn, c, rbuf, rcount, rtype, src, rtag, r);
    if (rc) {
        tide_mpi_req_release(s);
        tide_mpi_req_release(r);
        return rc;
    }
    rc = tide_mpi_start_send(fn, c, sbuf, scount, stype, dest, stag, TIDE_MPI_SEND_STANDARD, s);
    if (rc) { /* take the receive back */
        MPI_Request h = r->handle;
        if (r->p2p)
            tide_p2p_cancel(r->p2p);
        tide_mpi_wait_one(&h, MPI_STATUS_IGNORE);
        tide_mpi_req_release(s);
        return rc;
    }
    r->also = s;
    r->also_mem = mem;
    *request = r->handle;
    return MPI_SUCCESS;
}

int PMPI_Isendrecv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, int dest, int sendtag,
                   void *recvbuf, int recvcount, MPI_Datatype recvtype, int source, int recvtag,
                   MPI_Comm comm, MPI_Request *request)
{
    static const char fn[] = "MPI_Isendrecv";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    TIDE_MPI_CHECK_PTR(fn, comm, request, "request");
    return tide_isendrecv_start(fn, c, sendbuf, sendcount, sendtype, dest, sendtag, recvbuf,
                                recvcount, recvtype, source, recvtag, NULL, request);
}
TIDE_MPI_WEAK(MPI_Isendrecv);

/* The outgoing data is packed into memory of the request's own first, so
 * the receive may overwrite buf at once. */
int PMPI_Isendrecv_replace(void *buf, int count, MPI_Datatype datatype, int dest, int sendtag,
                           int source, int recvtag, MPI_Comm comm, MPI_Request *request)
{
    static const char fn[] = "MPI_Isendrecv_replace";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    TIDE_MPI_CHECK_PTR(fn, comm, request, "request");
    tide_dt_msg_t m;
    int rc = tide_check_buf(fn, comm, buf, count, datatype, &m);
    if (rc)
        return rc;
    if (m.bytes > 0x7fffffff)
        return tide_mpi_error(comm, fn, MPI_ERR_COUNT, "message too large (%llu bytes)",
                              (unsigned long long)m.bytes);
    void *tmp = malloc(m.bytes ? m.bytes : 1);
    if (!tmp)
        return tide_mpi_error(comm, fn, MPI_ERR_NO_MEM, "cannot allocate %llu bytes",
                              (unsigned long long)m.bytes);
    if (m.bytes && !m.lay) {
        memcpy(tmp, (const char *)buf + m.shift, m.bytes);
    } else if (m.bytes) {
        tide_p2p_cur_t cur;
        tide_p2p_cur_init(&cur, buf, m.lay, (uint64_t)count, 0);
        tide_p2p_cur_pack(&cur, tmp, m.bytes);
    }
    rc = tide_isendrecv_start(fn, c, tmp, (int)m.bytes, MPI_BYTE, dest, sendtag, buf, count,
                              datatype, source, recvtag, tmp, request);
    if (rc)
        free(tmp);
    return rc;
}
TIDE_MPI_WEAK(MPI_Isendrecv_replace);

/* ---- probe and matched receive --------------------------------------- */

static pthread_mutex_t tide_msg_lock = PTHREAD_MUTEX_INITIALIZER;
static tide_p2p_msg_t **tide_msg_table;
static int tide_msg_cap;

/* Message handles: 0 MPI_MESSAGE_NULL, 1 MPI_MESSAGE_NO_PROC, then slots. */
static MPI_Message tide_msg_register(tide_p2p_msg_t *m)
{
    pthread_mutex_lock(&tide_msg_lock);
    int i;
    for (i = 0; i < tide_msg_cap && tide_msg_table[i]; i++)
        ;
    if (i == tide_msg_cap) {
        int ncap = tide_msg_cap ? tide_msg_cap * 2 : 16;
        tide_p2p_msg_t **t = realloc(tide_msg_table, (size_t)ncap * sizeof(*t));
        if (!t) {
            pthread_mutex_unlock(&tide_msg_lock);
            return MPI_MESSAGE_NULL;
        }
        memset(t + tide_msg_cap, 0, (size_t)(ncap - tide_msg_cap) * sizeof(*t));
        tide_msg_table = t;
        tide_msg_cap = ncap;
    }
    tide_msg_table[i] = m;
    pthread_mutex_unlock(&tide_msg_lock);
    return (MPI_Message)(i + 2);
}

static tide_p2p_msg_t *tide_msg_take(MPI_Message h)
{
    tide_p2p_msg_t *m = NULL;
    pthread_mutex_lock(&tide_msg_lock);
    if (h >= 2 && h - 2 < tide_msg_cap) {
        m = tide_msg_table[h - 2];
        tide_msg_table[h - 2] = NULL;
    }
    pthread_mutex_unlock(&tide_msg_lock);
    return m;
}

/* A probe of MPI_PROC_NULL: source MPI_PROC_NULL, tag MPI_ANY_TAG, count 0;
 * MPI_ERROR is left as it was (single-completion calls never set it;
 * MPICH's pt2pt/mprobe checks). */
static void tide_status_proc_null(MPI_Status *st)
{
    if (!st)
        return;
    int err = st->MPI_ERROR;
    tide_mpi_status_empty(st);
    st->MPI_SOURCE = MPI_PROC_NULL;
    st->MPI_ERROR = err;
}

static void tide_status_from_probe(MPI_Status *st, const tide_p2p_status_t *ps)
{
    if (!st)
        return;
    st->MPI_SOURCE = ps->source;
    st->MPI_TAG = ps->tag;
    st->tide_cancelled = 0;
    st->tide_count = (MPI_Count)ps->bytes;
}

/* A probe with nothing to find fails (ULFM) when its source -- or, for
 * MPI_ANY_SOURCE, an unacknowledged member of the communicator -- has
 * failed. */
static int tide_probe_failed(const tide_comm_t *c, int src)
{
    if (src == TIDE_P2P_ANY_SOURCE)
        return tide_ft_anysrc_blocked(c->ctx);
    return tide_p2p_proc_dead(tide_comm_proc(c, src));
}

static int tide_probe(const char *fn, int source, int tag, MPI_Comm comm, int *flag,
                      MPI_Message *message, MPI_Status *status, int blocking)
{
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    int rc = tide_check_src(fn, c, source, tag);
    if (rc)
        return rc;
    if (source == MPI_PROC_NULL) {
        if (flag)
            *flag = 1;
        if (message)
            *message = MPI_MESSAGE_NO_PROC;
        tide_status_proc_null(status);
        return MPI_SUCCESS;
    }
    int src = source == MPI_ANY_SOURCE ? TIDE_P2P_ANY_SOURCE : source;
    int tg = tag == MPI_ANY_TAG ? TIDE_P2P_ANY_TAG : tag;
    tide_p2p_status_t ps;
    tide_p2p_msg_t *m = NULL;
    uint64_t epoch = 0;
    tide_p2p_idle_t idle = TIDE_P2P_IDLE_INIT;
    for (int events = 0;; tide_p2p_idle(&idle, events)) {
        events = tide_coll_progress(); /* schedules too: a peer may send after one */
        if (tide_p2p_iprobe(src, c->ctx, tg, message != NULL, &ps, &m))
            break;
        if (tide_ft_changed(&epoch) && tide_probe_failed(c, src))
            return tide_mpi_error(
                comm, fn, MPI_ERR_PROC_FAILED, "no message has arrived and %s has failed",
                src == TIDE_P2P_ANY_SOURCE ? "a process of the communicator (not acknowledged with "
                                             "MPIX_Comm_failure_ack)"
                                           : "the source");
        if (!blocking) {
            *flag = 0;
            if (message)
                *message = MPI_MESSAGE_NULL;
            return MPI_SUCCESS;
        }
    }
    if (flag)
        *flag = 1;
    tide_status_from_probe(status, &ps);
    if (message) {
        *message = tide_msg_register(m);
        if (*message == MPI_MESSAGE_NULL)
            return tide_mpi_error(comm, fn, MPI_ERR_NO_MEM, "out of memory for a message");
    }
    return MPI_SUCCESS;
}

int PMPI_Probe(int source, int tag, MPI_Comm comm, MPI_Status *status)
{
    return tide_probe("MPI_Probe", source, tag, comm, NULL, NULL, status, 1);
}
TIDE_MPI_WEAK(MPI_Probe);

int PMPI_Iprobe(int source, int tag, MPI_Comm comm, int *flag, MPI_Status *status)
{
    TIDE_MPI_CHECK_PTR("MPI_Iprobe", comm, flag, "flag");
    return tide_probe("MPI_Iprobe", source, tag, comm, flag, NULL, status, 0);
}
TIDE_MPI_WEAK(MPI_Iprobe);

int PMPI_Mprobe(int source, int tag, MPI_Comm comm, MPI_Message *message, MPI_Status *status)
{
    TIDE_MPI_CHECK_PTR("MPI_Mprobe", comm, message, "message");
    return tide_probe("MPI_Mprobe", source, tag, comm, NULL, message, status, 1);
}
TIDE_MPI_WEAK(MPI_Mprobe);

int PMPI_Improbe(int source, int tag, MPI_Comm comm, int *flag, MPI_Message *message,
                 MPI_Status *status)
{
    TIDE_MPI_CHECK_PTR("MPI_Improbe", comm, flag, "flag");
    TIDE_MPI_CHECK_PTR("MPI_Improbe", comm, message, "message");
    return tide_probe("MPI_Improbe", source, tag, comm, flag, message, status, 0);
}
TIDE_MPI_WEAK(MPI_Improbe);

int PMPI_Imrecv(void *buf, int count, MPI_Datatype datatype, MPI_Message *message,
                MPI_Request *request)
{
    static const char fn[] = "MPI_Imrecv";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, message, "message");
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, request, "request");
    tide_dt_msg_t dm;
    int rc = tide_check_buf(fn, MPI_COMM_NULL, buf, count, datatype, &dm);
    if (rc)
        return rc;
    tide_mpi_req_t *r = tide_mpi_req_new(TIDE_MPI_REQ_RECV, MPI_COMM_WORLD);
    if (!r)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_NO_MEM, "out of memory for a request");
    if (*message == MPI_MESSAGE_NO_PROC) {
        r->kind = TIDE_MPI_REQ_DONE;
        tide_mpi_status_empty(&r->done_status);
        r->done_status.MPI_SOURCE = MPI_PROC_NULL;
    } else {
        tide_p2p_msg_t *m = tide_msg_take(*message);
        if (!m) {
            tide_mpi_req_release(r);
            return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ARG,
                                  "argument message (handle %d) is not a matched message",
                                  (int)*message);
        }
        rc = dm.lay ? tide_p2p_mrecv_nc(m, buf, dm.lay, (uint64_t)count, &r->p2p)
                    : tide_p2p_mrecv(m, (char *)buf + dm.shift, dm.bytes, &r->p2p);
        if (rc) {
            tide_mpi_req_release(r);
            return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_NO_MEM, "out of memory");
        }
    }
    *message = MPI_MESSAGE_NULL;
    *request = r->handle;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Imrecv);

int PMPI_Mrecv(void *buf, int count, MPI_Datatype datatype, MPI_Message *message,
               MPI_Status *status)
{
    MPI_Request req;
    int rc = PMPI_Imrecv(buf, count, datatype, message, &req);
    if (rc)
        return rc;
    return tide_recv_wait("MPI_Mrecv", MPI_COMM_WORLD, req, status);
}
TIDE_MPI_WEAK(MPI_Mrecv);

/* ---- cancel ------------------------------------------------------------ */

int PMPI_Cancel(MPI_Request *request)
{
    static const char fn[] = "MPI_Cancel";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, request, "request");
    tide_mpi_req_t *r = tide_mpi_req_get(*request);
    if (!r)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_REQUEST,
                              "argument request (handle %d) is not a valid request", (int)*request);
    if (r->p2p)
        tide_p2p_cancel(r->p2p);
    else
        return tide_mpi_req_cancel(r); /* generalized and collective requests */
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Cancel);

int PMPI_Test_cancelled(const MPI_Status *status, int *flag)
{
    static const char fn[] = "MPI_Test_cancelled";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, status, "status");
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, flag, "flag");
    *flag = status->tide_cancelled != 0;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Test_cancelled);

/* ---- persistent requests ---------------------------------------------- */

static int tide_persistent_init(const char *fn, void *buf, int count, MPI_Datatype dt, int peer,
                                int tag, MPI_Comm comm, MPI_Request *request,
                                tide_mpi_req_kind_t kind, tide_mpi_send_mode_t mode)
{
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    TIDE_MPI_CHECK_PTR(fn, comm, request, "request");
    tide_dt_msg_t m;
    int rc = tide_check_buf(fn, comm, buf, count, dt, &m);
    if (rc || (rc = kind == TIDE_MPI_REQ_SEND ? tide_check_dest(fn, c, peer, tag)
                                              : tide_check_src(fn, c, peer, tag)))
        return rc;
    tide_mpi_req_t *r = tide_mpi_req_new(kind, comm);
    if (!r)
        return tide_mpi_error(comm, fn, MPI_ERR_NO_MEM, "out of memory for a request");
    r->persistent = 1;
    r->buf = buf;
    r->count = count;
    if ((rc = tide_mpi_req_keep_type(fn, r, dt))) { /* MPI_Start after MPI_Type_free works */
        tide_mpi_req_release(r);
        return rc;
    }
    r->peer = peer;
    r->tag = tag;
    r->mode = mode;
    *request = r->handle;
    return MPI_SUCCESS;
}

int PMPI_Send_init(const void *buf, int count, MPI_Datatype datatype, int dest, int tag,
                   MPI_Comm comm, MPI_Request *request)
{
    return tide_persistent_init("MPI_Send_init", (void *)buf, count, datatype, dest, tag, comm,
                                request, TIDE_MPI_REQ_SEND, TIDE_MPI_SEND_STANDARD);
}
TIDE_MPI_WEAK(MPI_Send_init);

int PMPI_Ssend_init(const void *buf, int count, MPI_Datatype datatype, int dest, int tag,
                    MPI_Comm comm, MPI_Request *request)
{
    return tide_persistent_init("MPI_Ssend_init", (void *)buf, count, datatype, dest, tag, comm,
                                request, TIDE_MPI_REQ_SEND, TIDE_MPI_SEND_SYNC);
}
TIDE_MPI_WEAK(MPI_Ssend_init);

int PMPI_Rsend_init(const void *buf, int count, MPI_Datatype datatype, int dest, int tag,
                    MPI_Comm comm, MPI_Request *request)
{
    return tide_persistent_init("MPI_Rsend_init", (void *)buf, count, datatype, dest, tag, comm,
                                request, TIDE_MPI_REQ_SEND, TIDE_MPI_SEND_READY);
}
TIDE_MPI_WEAK(MPI_Rsend_init);

int PMPI_Bsend_init(const void *buf, int count, MPI_Datatype datatype, int dest, int tag,
                    MPI_Comm comm, MPI_Request *request)
{
    return tide_persistent_init("MPI_Bsend_init", (void *)buf, count, datatype, dest, tag, comm,
                                request, TIDE_MPI_REQ_SEND, TIDE_MPI_SEND_BUFFERED);
}
TIDE_MPI_WEAK(MPI_Bsend_init);

int PMPI_Recv_init(void *buf, int count, MPI_Datatype datatype, int source, int tag, MPI_Comm comm,
                   MPI_Request *request)
{
    return tide_persistent_init("MPI_Recv_init", buf, count, datatype, source, tag, comm, request,
                                TIDE_MPI_REQ_RECV, TIDE_MPI_SEND_STANDARD);
}
TIDE_MPI_WEAK(MPI_Recv_init);

int PMPI_Start(MPI_Request *request)
{
    static const char fn[] = "MPI_Start";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, request, "request");
    tide_mpi_req_t *r = tide_mpi_req_get(*request);
    if (!r || !r->persistent)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_REQUEST,
                              "argument request (handle %d) is not a persistent request",
                              (int)*request);
    if (r->active)
        return tide_mpi_error(r->comm, fn, MPI_ERR_REQUEST,
                              "request %d is already active; complete it before starting it "
                              "again",
                              (int)*request);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, r->comm, c);
    int rc = r->is_recv
                 ? tide_mpi_start_recv(fn, c, r->buf, r->count, r->dt, r->peer, r->tag, r)
                 : tide_mpi_start_send(fn, c, r->buf, r->count, r->dt, r->peer, r->tag, r->mode, r);
    if (rc == MPI_SUCCESS)
        r->active = 1;
    return rc;
}
TIDE_MPI_WEAK(MPI_Start);

int PMPI_Startall(int count, MPI_Request array_of_requests[])
{
    static const char fn[] = "MPI_Startall";
    TIDE_MPI_CHECK_INIT(fn);
    if (count < 0)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_COUNT, "argument count (%d) is negative",
                              count);
    for (int i = 0; i < count; i++) {
        int rc = PMPI_Start(&array_of_requests[i]);
        if (rc)
            return rc;
    }
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Startall);
