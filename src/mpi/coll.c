/* The MPI collective operations (MPI 4.1 chapter 6) on intracommunicators,
 * blocking and nonblocking: argument checks (naming the call and the
 * argument), MPI_IN_PLACE, the translation of counts and datatypes to
 * bytes (derived types staged through nbc_buf.c), then either the blocking
 * algorithms of src/coll or a schedule of src/coll/nbc.c started as a
 * request (the MPI_I* forms).  Both run over point-to-point on the
 * communicator's collective context (ctx + 1).  Intercommunicators:
 * nbc_inter.c. */
#include "config.h"
#include "coll/sched.h"
#include "mpi/dtype.h"
#include "mpi/nbc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int tide_cop_begin(tide_cop_t *o, const char *fn, MPI_Comm comm, MPI_Request *req)
{
    memset(o, 0, sizeof(*o));
    o->fn = fn;
    o->comm = comm;
    o->req = req;
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_GET_COMM(fn, comm, o->c);
    if (fn[4] == 'I') /* MPI_I...: the nonblocking forms need a request */
        TIDE_MPI_CHECK_PTR(fn, comm, req, "request");
    tide_comm_t *c = o->c;
    o->g = (tide_coll_comm_t){c->rank, c->size, c->procs, c->self_proc, c->ctx + 1};
    return MPI_SUCCESS;
}

/* Release what a call holds; returns rc. */
int tide_cop_end(tide_cop_t *o, int rc)
{
    tide_stage_free(o->st);
    tide_stage_red_done(&o->r);
    free(o->v);
    o->st = NULL;
    o->v = NULL;
    return rc;
}

size_t *tide_cop_vec(tide_cop_t *o, size_t n)
{
    free(o->v);
    o->v = calloc(n ? n : 1, sizeof(size_t));
    return o->v;
}

/* Map an algorithm's failure to an MPI error. */
int tide_coll_fail(const char *fn, MPI_Comm comm, int rc)
{
    if (rc == 0)
        return MPI_SUCCESS;
    if (rc == -ENOMEM)
        return tide_mpi_error(comm, fn, MPI_ERR_NO_MEM,
                              "out of memory for the collective's temporary buffers");
    if (rc < 0)
        return tide_mpi_error(comm, fn, MPI_ERR_OTHER, "point-to-point failed (%s)", strerror(-rc));
    return tide_mpi_error(comm, fn, rc,
                          "a point-to-point transfer of the collective failed (error class %d): "
                          "check that every rank calls it with matching arguments",
                          rc);
}

/* Bytes of `count` items of dt, or an error reported. */
int tide_cop_bytes(tide_cop_t *o, int count, MPI_Datatype dt, const char *cname, const char *tname,
                   size_t *out)
{
    if (count < 0)
        return tide_mpi_error(o->comm, o->fn, MPI_ERR_COUNT, "argument %s (%d) is negative", cname,
                              count);
    tide_dt_msg_t m;
    int rc = tide_dt_msg(dt, count, &m);
    if (rc == -EPERM)
        return tide_mpi_error(o->comm, o->fn, MPI_ERR_TYPE,
                              "argument %s (handle 0x%x) is not committed; call MPI_Type_commit "
                              "first",
                              tname, (unsigned)dt);
    if (rc)
        return tide_mpi_error(o->comm, o->fn, MPI_ERR_TYPE,
                              "argument %s (handle 0x%x) is not a valid datatype", tname,
                              (unsigned)dt);
    *out = (size_t)m.bytes;
    return MPI_SUCCESS;
}

int tide_cop_buf(tide_cop_t *o, const void *buf, size_t bytes, const char *name)
{
    if (bytes > 0 && (buf == NULL || buf == MPI_IN_PLACE))
        return tide_mpi_error(o->comm, o->fn, MPI_ERR_BUFFER,
                              "argument %s is %s but data is to move", name,
                              buf ? "MPI_IN_PLACE" : "NULL");
    return MPI_SUCCESS;
}

int tide_cop_root(tide_cop_t *o, int root, int size)
{
    if (root < 0 || root >= size)
        return tide_mpi_error(o->comm, o->fn, MPI_ERR_ROOT,
                              "argument root (%d) is not a rank of the communicator (size %d)",
                              root, size);
    return MPI_SUCCESS;
}

/* Checked (count, dt) at buf, staged in direction dir: *p and *bytes. */
int tide_cop_one(tide_cop_t *o, const void *buf, int count, MPI_Datatype dt, int dir,
                 const char *bname, const char *cname, const char *tname, char **p, size_t *bytes)
{
    tide_dt_msg_t m = {0};
    int rc = tide_cop_bytes(o, count, dt, cname, tname, bytes);
    if (!rc)
        rc = tide_cop_buf(o, buf, *bytes, bname);
    if (!rc && (*bytes == 0 || (!tide_dt_msg(dt, count, &m) && !m.lay)))
        *p = (char *)buf + m.shift; /* basic or contiguous: no staging */
    else if (!rc && (rc = tide_stage_one(&o->st, (void *)buf, count, dt, dir, p, bytes)))
        rc = tide_coll_fail(o->fn, o->comm, rc);
    return rc;
}

/* n blocks of `count` items of dt, one extent apart, back to back. */
int tide_cop_regular(tide_cop_t *o, const void *buf, int n, int count, MPI_Datatype dt, int dir,
                     char **base)
{
    if (!tide_dtype_get(dt)) { /* basic: blocks back to back as they are */
        *base = (char *)buf;
        return MPI_SUCCESS;
    }
    MPI_Aint extent = 0;
    tide_dt_query(dt, NULL, NULL, &extent, NULL, NULL);
    ptrdiff_t *offs = malloc((size_t)n * (sizeof(ptrdiff_t) + 2 * sizeof(size_t) + sizeof(int)));
    if (!offs)
        return tide_coll_fail(o->fn, o->comm, -ENOMEM);
    size_t *bytes = (size_t *)(offs + n), *disp = bytes + n;
    int *counts = (int *)(disp + n);
    for (int i = 0; i < n; i++)
        counts[i] = count, offs[i] = (ptrdiff_t)i * count * extent;
    int rc =
        tide_stage_vec(&o->st, (void *)buf, n, counts, offs, NULL, dt, dir, 1, base, bytes, disp);
    free(offs);
    return rc ? tide_coll_fail(o->fn, o->comm, rc) : MPI_SUCCESS;
}

/* Per-rank counts (checked) and displacements in extents of dt (types
 * NULL) or bytes and types per block: byte sizes v[0..n) and offsets
 * v[n..2n) from *base. */
int tide_cop_vector(tide_cop_t *o, const void *buf, int n, const int *counts, const int *displs,
                    const MPI_Datatype *types, MPI_Datatype dt, int dir, const char *cname,
                    const char *bname, char **base, size_t *v)
{
    TIDE_MPI_CHECK_PTR(o->fn, o->comm, counts, cname);
    TIDE_MPI_CHECK_PTR(o->fn, o->comm, displs, "displs");
    MPI_Aint extent = 1;
    if (!types)
        tide_dt_query(dt, NULL, NULL, &extent, NULL, NULL);
    ptrdiff_t *offs = malloc((size_t)(n ? n : 1) * sizeof(*offs));
    if (!offs)
        return tide_coll_fail(o->fn, o->comm, -ENOMEM);
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        size_t b;
        offs[i] = (ptrdiff_t)displs[i] * extent;
        if (counts[i] < 0)
            rc = tide_mpi_error(o->comm, o->fn, MPI_ERR_COUNT, "argument %s[%d] (%d) is negative",
                                cname, i, counts[i]);
        else if (!(rc = tide_cop_bytes(o, counts[i], types ? types[i] : dt, cname,
                                       types ? "a datatype of the array" : "datatype", &b)))
            rc = tide_cop_buf(o, buf, b, bname);
    }
    if (!rc && (rc = tide_stage_vec(&o->st, (void *)buf, n, counts, offs, types, dt, dir, 0, base,
                                    v, v + n)))
        rc = tide_coll_fail(o->fn, o->comm, rc);
    free(offs);
    return rc;
}

/* ---- running the collective ---- */

static int tide_cargs_exec(const tide_coll_comm_t *g, const tide_cargs_t *a,
                           const tide_coll_red_t *r)
{
    switch (a->kind) {
    case TIDE_CK_BARRIER:
        return tide_coll_barrier(g->rank, g->size, g->procs, g->self_proc, g->ctx);
    case TIDE_CK_BCAST: return tide_coll_bcast(g, a->rbuf, a->blk, a->root);
    case TIDE_CK_GATHER: return tide_coll_gather(g, a->sbuf, a->rbuf, a->blk, a->root);
    case TIDE_CK_SCATTER: return tide_coll_scatter(g, a->sbuf, a->rbuf, a->blk, a->root);
    case TIDE_CK_GATHERV:
        return tide_coll_gatherv(g, a->sbuf, a->own, a->rbuf, a->rb, a->rd, a->root);
    case TIDE_CK_SCATTERV:
        return tide_coll_scatterv(g, a->sbuf, a->sb, a->sd, a->rbuf, a->own, a->root);
    case TIDE_CK_ALLGATHER: return tide_coll_allgather(g, a->rbuf, a->blk);
    case TIDE_CK_ALLGATHERV: return tide_coll_allgatherv(g, a->rbuf, a->rb, a->rd);
    case TIDE_CK_ALLTOALL: return tide_coll_alltoall(g, a->sbuf, a->rbuf, a->blk);
    case TIDE_CK_ALLTOALLV:
        return tide_coll_alltoallv(g, a->sbuf, a->sb, a->sd, a->rbuf, a->rb, a->rd);
    case TIDE_CK_REDUCE: return tide_coll_reduce(g, a->sbuf, a->rbuf, a->count, r, a->root);
    case TIDE_CK_ALLREDUCE: return tide_coll_allreduce(g, a->sbuf, a->rbuf, a->count, r);
    case TIDE_CK_RSCATTER: return tide_coll_reduce_scatter(g, a->sbuf, a->rbuf, a->rb, r);
    case TIDE_CK_SCAN:
    case TIDE_CK_EXSCAN:
        return tide_coll_scan(g, a->sbuf, a->rbuf, a->count, r, a->kind == TIDE_CK_EXSCAN);
    }
    return -EINVAL;
}

/* Regular blocks of blk bytes as byte vectors (sizes, offsets). */
static size_t *tide_cargs_regular(int p, size_t blk)
{
    size_t *v = malloc(2 * (size_t)p * sizeof(*v));
    for (int i = 0; v && i < p; i++)
        v[i] = blk, v[p + i] = blk * (size_t)i;
    return v;
}

/* Intercommunicator schedules (src/coll/nbc_inter.c). */
static int tide_cargs_build_inter(tide_sched_t *s, const tide_cargs_t *a)
{
    switch (a->kind) {
    case TIDE_CK_BARRIER: return tide_nbc_inter_barrier(s);
    case TIDE_CK_BCAST: return tide_nbc_inter_bcast(s, a->rbuf, a->blk, a->role, a->root);
    case TIDE_CK_REDUCE:
        return tide_nbc_inter_reduce(s, a->sbuf, a->rbuf, a->count, a->role, a->root);
    case TIDE_CK_ALLREDUCE: return tide_nbc_inter_allreduce(s, a->sbuf, a->rbuf, a->count, NULL);
    case TIDE_CK_RSCATTER: return tide_nbc_inter_allreduce(s, a->sbuf, a->rbuf, a->count, a->rb);
    case TIDE_CK_GATHERV:
        return tide_nbc_inter_gatherv(s, a->sbuf, a->own, a->rbuf, a->rb, a->rd, a->role, a->root);
    case TIDE_CK_SCATTERV:
        return tide_nbc_inter_scatterv(s, a->sbuf, a->sb, a->sd, a->rbuf, a->own, a->role, a->root);
    case TIDE_CK_ALLTOALLV:
        return tide_nbc_inter_exchange(s, a->sbuf, a->sb, a->sd, a->rbuf, a->rb, a->rd);
    default: return -EINVAL;
    }
}

static int tide_cargs_build(tide_sched_t *s, const tide_cargs_t *a)
{
    if (a->inter)
        return tide_cargs_build_inter(s, a);
    int p = tide_sched_comm(s)->size, rc;
    size_t *v = NULL;
    switch (a->kind) {
    case TIDE_CK_BARRIER: return tide_nbc_barrier(s);
    case TIDE_CK_BCAST: return tide_nbc_bcast(s, a->rbuf, a->blk, a->root);
    case TIDE_CK_GATHERV:
        return tide_nbc_gatherv(s, a->sbuf, a->own, a->rbuf, a->rb, a->rd, a->root);
    case TIDE_CK_SCATTERV:
        return tide_nbc_scatterv(s, a->sbuf, a->sb, a->sd, a->rbuf, a->own, a->root);
    case TIDE_CK_ALLGATHERV: return tide_nbc_allgatherv(s, a->rbuf, a->rb, a->rd);
    case TIDE_CK_ALLTOALLV:
        return tide_nbc_alltoallv(s, a->sbuf, a->sb, a->sd, a->rbuf, a->rb, a->rd);
    case TIDE_CK_REDUCE: return tide_nbc_reduce(s, a->sbuf, a->rbuf, a->count, a->root);
    case TIDE_CK_ALLREDUCE: return tide_nbc_allreduce(s, a->sbuf, a->rbuf, a->count);
    case TIDE_CK_RSCATTER: return tide_nbc_reduce_scatter(s, a->sbuf, a->rbuf, a->rb);
    case TIDE_CK_SCAN:
    case TIDE_CK_EXSCAN:
        return tide_nbc_scan(s, a->sbuf, a->rbuf, a->count, a->kind == TIDE_CK_EXSCAN);
    default: break;
    }
    if (!(v = tide_cargs_regular(p, a->blk))) /* regular ones as v variants */
        return -ENOMEM;
    int me = tide_sched_comm(s)->rank;
    switch (a->kind) {
    case TIDE_CK_GATHER:
        rc = a->blk ? tide_nbc_gatherv(s, a->sbuf, a->blk, a->rbuf, v, v + p, a->root) : 0;
        break;
    case TIDE_CK_SCATTER:
        rc = a->blk ? tide_nbc_scatterv(s, a->sbuf, v, v + p, a->rbuf, a->blk, a->root) : 0;
        break;
    case TIDE_CK_ALLGATHER: rc = tide_nbc_allgatherv(s, a->rbuf, v, v + p); break;
    default: rc = tide_nbc_alltoallv(s, a->sbuf, v, v + p, a->rbuf, v, v + p); break;
    }
    (void)me;
    free(v);
    return rc;
}

static void tide_cop_stage_out(void *arg, int err)
{
    (void)err;
    tide_stage_out(arg);
}

static void tide_cop_unref_lay(void *arg)
{
    tide_p2p_layout_unref(arg);
}

/* Build the schedule, hand it what the call holds, start it. */
static int tide_cop_start(tide_cop_t *o, const tide_cargs_t *a)
{
    uint32_t seq = __atomic_fetch_add(&o->c->nbc_seq, 1, __ATOMIC_RELAXED);
    int tag = (int)(TIDE_COLL_TAG_NBC | (seq & TIDE_COLL_NBC_MASK));
    tide_sched_t *s = tide_sched_new(&o->g, tag, &o->r);
    tide_mpi_req_t *r = s ? tide_mpi_req_new(TIDE_MPI_REQ_COLL, o->comm) : NULL;
    int rc = r ? 0 : -ENOMEM;
    if (!rc && o->c->is_inter) { /* the local group's communicator too */
        const tide_comm_t *l = o->c->local;
        tide_coll_comm_t gl = {l->rank, l->size, l->procs, l->self_proc, l->ctx + 1};
        rc = tide_sched_set_local(s, &gl);
    }
    if (!rc)
        rc = tide_cargs_build(s, a);
    if (!rc && o->st && !(rc = tide_sched_call(s, tide_cop_stage_out, o->st)) &&
        !(rc = tide_sched_on_free(s, (void (*)(void *))tide_stage_free, o->st)))
        o->st = NULL;
    if (!rc && o->r.lay && !(rc = tide_sched_on_free(s, tide_cop_unref_lay, o->r.lay)))
        o->r.lay = NULL;
    if (rc) {
        if (r)
            tide_mpi_req_release(r);
        tide_sched_free(s);
        return tide_cop_end(o, tide_coll_fail(o->fn, o->comm, rc));
    }
    r->sched = s;
    tide_sched_start(s);
    *o->req = r->handle;
    return tide_cop_end(o, MPI_SUCCESS);
}

int tide_cop_run(tide_cop_t *o, const tide_cargs_t *a)
{
    if (o->req)
        return tide_cop_start(o, a);
    int rc = tide_cargs_exec(&o->g, a, &o->r);
    if (!rc)
        tide_stage_out(o->st);
    return tide_cop_end(o, tide_coll_fail(o->fn, o->comm, rc));
}

/* ---- the calls ---- */

static int tide_bcast(const char *fn, void *buffer, int count, MPI_Datatype dt, int root,
                      MPI_Comm comm, MPI_Request *req)
{
    tide_cop_t o;
    int rc = tide_cop_begin(&o, fn, comm, req);
    if (rc)
        return rc;
    if (o.c->is_inter)
        return tide_inter_bcast(&o, buffer, count, dt, root);
    tide_cargs_t a = {.kind = TIDE_CK_BCAST, .root = root};
    rc = tide_cop_bytes(&o, count, dt, "count", "datatype", &a.blk);
    if (!rc)
        rc = tide_cop_root(&o, root, o.c->size);
    if (!rc)
        rc = tide_cop_one(&o, buffer, count, dt, o.c->rank == root ? TIDE_STAGE_IN : TIDE_STAGE_OUT,
                          "buffer", "count", "datatype", (char **)&a.rbuf, &a.blk);
    return rc ? tide_cop_end(&o, rc) : tide_cop_run(&o, &a);
}

int PMPI_Bcast(void *buffer, int count, MPI_Datatype datatype, int root, MPI_Comm comm)
{
    return tide_bcast("MPI_Bcast", buffer, count, datatype, root, comm, NULL);
}
TIDE_MPI_WEAK(MPI_Bcast);

int PMPI_Ibcast(void *buffer, int count, MPI_Datatype datatype, int root, MPI_Comm comm,
                MPI_Request *request)
{
    return tide_bcast("MPI_Ibcast", buffer, count, datatype, root, comm, request);
}
TIDE_MPI_WEAK(MPI_Ibcast);

int PMPI_Ibarrier(MPI_Comm comm, MPI_Request *request)
{
    tide_cop_t o;
    int rc = tide_cop_begin(&o, "MPI_Ibarrier", comm, request);
    if (rc)
        return rc;
    tide_cargs_t a = {.kind = TIDE_CK_BARRIER, .inter = o.c->is_inter};
    return tide_cop_run(&o, &a);
}
TIDE_MPI_WEAK(MPI_Ibarrier);

/* Gather and Scatter: `mine` is the per-rank side (send for gather), the
 * root has the p blocks. */
static int tide_gather(const char *fn, const void *sendbuf, int sendcount, MPI_Datatype sendtype,
                       void *recvbuf, int recvcount, MPI_Datatype recvtype, int root, MPI_Comm comm,
                       MPI_Request *req)
{
    tide_cop_t o;
    size_t sb = 0, rb = 0;
    int rc = tide_cop_begin(&o, fn, comm, req);
    if (rc)
        return rc;
    if (o.c->is_inter)
        return tide_inter_gather(&o, sendbuf, sendcount, sendtype, recvbuf, recvcount, NULL, NULL,
                                 recvtype, root);
    rc = tide_cop_root(&o, root, o.c->size);
    int isroot = o.c->rank == root, inplace = isroot && sendbuf == MPI_IN_PLACE;
    tide_cargs_t a = {.kind = TIDE_CK_GATHER, .root = root};
    if (!rc && !inplace)
        rc = tide_cop_one(&o, sendbuf, sendcount, sendtype, TIDE_STAGE_IN, "sendbuf", "sendcount",
                          "sendtype", (char **)&a.sbuf, &sb);
    if (!rc && isroot)
        rc = tide_cop_bytes(&o, recvcount, recvtype, "recvcount", "recvtype", &rb);
    if (!rc && isroot)
        rc = tide_cop_buf(&o, recvbuf, rb, "recvbuf");
    if (!rc && isroot && !inplace && sb != rb)
        rc = tide_mpi_error(comm, fn, MPI_ERR_TRUNCATE,
                            "the root's sendcount/sendtype (%zu bytes) and recvcount/recvtype "
                            "(%zu bytes) differ",
                            sb, rb);
    if (!rc && isroot && rb)
        rc = tide_cop_regular(&o, recvbuf, o.c->size, recvcount, recvtype,
                              inplace ? TIDE_STAGE_INOUT : TIDE_STAGE_OUT, (char **)&a.rbuf);
    a.blk = isroot ? rb : sb;
    return rc ? tide_cop_end(&o, rc) : tide_cop_run(&o, &a);
}

int PMPI_Gather(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf,
                int recvcount, MPI_Datatype recvtype, int root, MPI_Comm comm)
{
    return tide_gather("MPI_Gather", sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype,
                       root, comm, NULL);
}
TIDE_MPI_WEAK(MPI_Gather);

int PMPI_Igather(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf,
                 int recvcount, MPI_Datatype recvtype, int root, MPI_Comm comm,
                 MPI_Request *request)
{
    return tide_gather("MPI_Igather", sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype,
                       root, comm, request);
}
TIDE_MPI_WEAK(MPI_Igather);

static int tide_scatter(const char *fn, const void *sendbuf, int sendcount, MPI_Datatype sendtype,
                        void *recvbuf, int recvcount, MPI_Datatype recvtype, int root,
                        MPI_Comm comm, MPI_Request *req)
{
    tide_cop_t o;
    size_t sb = 0, rb = 0;
    int rc = tide_cop_begin(&o, fn, comm, req);
    if (rc)
        return rc;
    if (o.c->is_inter)
        return tide_inter_scatter(&o, sendbuf, sendcount, NULL, NULL, sendtype, recvbuf, recvcount,
                                  recvtype, root);
    rc = tide_cop_root(&o, root, o.c->size);
    int isroot = o.c->rank == root, inplace = isroot && recvbuf == MPI_IN_PLACE;
    tide_cargs_t a = {.kind = TIDE_CK_SCATTER, .root = root};
    if (!rc && !inplace)
        rc = tide_cop_one(&o, recvbuf, recvcount, recvtype, TIDE_STAGE_OUT, "recvbuf", "recvcount",
                          "recvtype", (char **)&a.rbuf, &rb);
    if (!rc && isroot)
        rc = tide_cop_bytes(&o, sendcount, sendtype, "sendcount", "sendtype", &sb);
    if (!rc && isroot)
        rc = tide_cop_buf(&o, sendbuf, sb, "sendbuf");
    if (!rc && isroot && !inplace && sb != rb)
        rc = tide_mpi_error(comm, fn, MPI_ERR_TRUNCATE,
                            "the root's sendcount/sendtype (%zu bytes) and recvcount/recvtype "
                            "(%zu bytes) differ",
                            sb, rb);
    if (!rc && isroot && sb)
        rc = tide_cop_regular(&o, sendbuf, o.c->size, sendcount, sendtype, TIDE_STAGE_IN,
                              (char **)&a.sbuf);
    a.blk = isroot ? sb : rb;
    return rc ? tide_cop_end(&o, rc) : tide_cop_run(&o, &a);
}

int PMPI_Scatter(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf,
                 int recvcount, MPI_Datatype recvtype, int root, MPI_Comm comm)
{
    return tide_scatter("MPI_Scatter", sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype,
                        root, comm, NULL);
}
TIDE_MPI_WEAK(MPI_Scatter);

int PMPI_Iscatter(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf,
                  int recvcount, MPI_Datatype recvtype, int root, MPI_Comm comm,
                  MPI_Request *request)
{
    return tide_scatter("MPI_Iscatter", sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype,
                        root, comm, request);
}
TIDE_MPI_WEAK(MPI_Iscatter);

static int tide_gatherv(const char *fn, const void *sendbuf, int sendcount, MPI_Datatype sendtype,
                        void *recvbuf, const int recvcounts[], const int displs[],
                        MPI_Datatype recvtype, int root, MPI_Comm comm, MPI_Request *req)
{
    tide_cop_t o;
    int rc = tide_cop_begin(&o, fn, comm, req);
    if (rc)
        return rc;
    if (o.c->is_inter)
        return tide_inter_gather(&o, sendbuf, sendcount, sendtype, recvbuf, -1, recvcounts, displs,
                                 recvtype, root);
    int p = o.c->size;
    rc = tide_cop_root(&o, root, p);
    int isroot = o.c->rank == root, inplace = isroot && sendbuf == MPI_IN_PLACE;
    tide_cargs_t a = {.kind = TIDE_CK_GATHERV, .root = root};
    if (!rc && !inplace)
        rc = tide_cop_one(&o, sendbuf, sendcount, sendtype, TIDE_STAGE_IN, "sendbuf", "sendcount",
                          "sendtype", (char **)&a.sbuf, &a.own);
    if (!rc && isroot) {
        size_t *v = tide_cop_vec(&o, 2 * (size_t)p);
        rc = v ? tide_cop_vector(&o, recvbuf, p, recvcounts, displs, NULL, recvtype,
                                 inplace ? TIDE_STAGE_INOUT : TIDE_STAGE_OUT, "recvcounts",
                                 "recvbuf", (char **)&a.rbuf, v)
               : tide_coll_fail(fn, comm, -ENOMEM);
        a.rb = v, a.rd = v + p;
        if (!rc && !inplace && a.own != v[root])
            rc = tide_mpi_error(comm, fn, MPI_ERR_TRUNCATE,
                                "the root's send (%zu bytes) and recvcounts[root] (%zu bytes) "
                                "differ",
                                a.own, v[root]);
    }
    return rc ? tide_cop_end(&o, rc) : tide_cop_run(&o, &a);
}

int PMPI_Gatherv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf,
                 const int recvcounts[], const int displs[], MPI_Datatype recvtype, int root,
                 MPI_Comm comm)
{
    return tide_gatherv("MPI_Gatherv", sendbuf, sendcount, sendtype, recvbuf, recvcounts, displs,
                        recvtype, root, comm, NULL);
}
TIDE_MPI_WEAK(MPI_Gatherv);

int PMPI_Igatherv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf,
                  const int recvcounts[], const int displs[], MPI_Datatype recvtype, int root,
                  MPI_Comm comm, MPI_Request *request)
{
    return tide_gatherv("MPI_Igatherv", sendbuf, sendcount, sendtype, recvbuf, recvcounts, displs,
                        recvtype, root, comm, request);
}
TIDE_MPI_WEAK(MPI_Igatherv);

static int tide_scatterv(const char *fn, const void *sendbuf, const int sendcounts[],
                         const int displs[], MPI_Datatype sendtype, void *recvbuf, int recvcount,
                         MPI_Datatype recvtype, int root, MPI_Comm comm, MPI_Request *req)
{
    tide_cop_t o;
    int rc = tide_cop_begin(&o, fn, comm, req);
    if (rc)
        return rc;
    if (o.c->is_inter)
        return tide_inter_scatter(&o, sendbuf, -1, sendcounts, displs, sendtype, recvbuf, recvcount,
                                  recvtype, root);
    int p = o.c->size;
    rc = tide_cop_root(&o, root, p);
    int isroot = o.c->rank == root, inplace = isroot && recvbuf == MPI_IN_PLACE;
    tide_cargs_t a = {.kind = TIDE_CK_SCATTERV, .root = root};
    if (!rc && !inplace)
        rc = tide_cop_one(&o, recvbuf, recvcount, recvtype, TIDE_STAGE_OUT, "recvbuf", "recvcount",
                          "recvtype", (char **)&a.rbuf, &a.own);
    if (!rc && isroot) {
        size_t *v = tide_cop_vec(&o, 2 * (size_t)p);
        rc = v ? tide_cop_vector(&o, sendbuf, p, sendcounts, displs, NULL, sendtype, TIDE_STAGE_IN,
                                 "sendcounts", "sendbuf", (char **)&a.sbuf, v)
               : tide_coll_fail(fn, comm, -ENOMEM);
        a.sb = v, a.sd = v + p;
        if (!rc && !inplace && a.own != v[root])
            rc = tide_mpi_error(comm, fn, MPI_ERR_TRUNCATE,
                                "the root's receive (%zu bytes) and sendcounts[root] (%zu bytes) "
                                "differ",
                                a.own, v[root]);
    }
    return rc ? tide_cop_end(&o, rc) : tide_cop_run(&o, &a);
}

int PMPI_Scatterv(const void *sendbuf, const int sendcounts[], const int displs[],
                  MPI_Datatype sendtype, void *recvbuf, int recvcount, MPI_Datatype recvtype,
                  int root, MPI_Comm comm)
{
    return tide_scatterv("MPI_Scatterv", sendbuf, sendcounts, displs, sendtype, recvbuf, recvcount,
                         recvtype, root, comm, NULL);
}
TIDE_MPI_WEAK(MPI_Scatterv);

int PMPI_Iscatterv(const void *sendbuf, const int sendcounts[], const int displs[],
                   MPI_Datatype sendtype, void *recvbuf, int recvcount, MPI_Datatype recvtype,
                   int root, MPI_Comm comm, MPI_Request *request)
{
    return tide_scatterv("MPI_Iscatterv", sendbuf, sendcounts, displs, sendtype, recvbuf, recvcount,
                         recvtype, root, comm, request);
}
TIDE_MPI_WEAK(MPI_Iscatterv);

static int tide_allgather(const char *fn, const void *sendbuf, int sendcount, MPI_Datatype sendtype,
                          void *recvbuf, int recvcount, MPI_Datatype recvtype, MPI_Comm comm,
                          MPI_Request *req)
{
    tide_cop_t o;
    size_t sb = 0, rb = 0;
    char *sp = NULL;
    int rc = tide_cop_begin(&o, fn, comm, req);
    if (rc)
        return rc;
    if (o.c->is_inter)
        return tide_inter_allgather(&o, sendbuf, sendcount, sendtype, recvbuf, recvcount, NULL,
                                    NULL, recvtype);
    int inplace = sendbuf == MPI_IN_PLACE;
    tide_cargs_t a = {.kind = TIDE_CK_ALLGATHER};
    rc = tide_cop_bytes(&o, recvcount, recvtype, "recvcount", "recvtype", &rb);
    if (!rc)
        rc = tide_cop_buf(&o, recvbuf, rb, "recvbuf");
    if (!rc && !inplace)
        rc = tide_cop_one(&o, sendbuf, sendcount, sendtype, TIDE_STAGE_IN, "sendbuf", "sendcount",
                          "sendtype", &sp, &sb);
    if (!rc && !inplace && sb != rb)
        rc = tide_mpi_error(comm, fn, MPI_ERR_TRUNCATE,
                            "sendcount/sendtype (%zu bytes) and recvcount/recvtype (%zu bytes) "
                            "differ",
                            sb, rb);
    if (!rc && rb)
        rc = tide_cop_regular(&o, recvbuf, o.c->size, recvcount, recvtype,
                              inplace ? TIDE_STAGE_INOUT : TIDE_STAGE_OUT, (char **)&a.rbuf);
    if (!rc && !inplace && rb) /* our block in place first */
        memcpy((char *)a.rbuf + rb * (size_t)o.c->rank, sp, rb);
    a.blk = rb;
    return rc ? tide_cop_end(&o, rc) : tide_cop_run(&o, &a);
}

int PMPI_Allgather(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf,
                   int recvcount, MPI_Datatype recvtype, MPI_Comm comm)
{
    return tide_allgather("MPI_Allgather", sendbuf, sendcount, sendtype, recvbuf, recvcount,
                          recvtype, comm, NULL);
}
TIDE_MPI_WEAK(MPI_Allgather);

int PMPI_Iallgather(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf,
                    int recvcount, MPI_Datatype recvtype, MPI_Comm comm, MPI_Request *request)
{
    return tide_allgather("MPI_Iallgather", sendbuf, sendcount, sendtype, recvbuf, recvcount,
                          recvtype, comm, request);
}
TIDE_MPI_WEAK(MPI_Iallgather);

static int tide_allgatherv(const char *fn, const void *sendbuf, int sendcount,
                           MPI_Datatype sendtype, void *recvbuf, const int recvcounts[],
                           const int displs[], MPI_Datatype recvtype, MPI_Comm comm,
                           MPI_Request *req)
{
    tide_cop_t o;
    size_t sb = 0, *v = NULL;
    char *sp = NULL;
    int rc = tide_cop_begin(&o, fn, comm, req);
    if (rc)
        return rc;
    if (o.c->is_inter)
        return tide_inter_allgather(&o, sendbuf, sendcount, sendtype, recvbuf, -1, recvcounts,
                                    displs, recvtype);
    int p = o.c->size, me = o.c->rank, inplace = sendbuf == MPI_IN_PLACE;
    tide_cargs_t a = {.kind = TIDE_CK_ALLGATHERV};
    if (!inplace)
        rc = tide_cop_one(&o, sendbuf, sendcount, sendtype, TIDE_STAGE_IN, "sendbuf", "sendcount",
                          "sendtype", &sp, &sb);
    if (!rc && !(v = tide_cop_vec(&o, 2 * (size_t)p)))
        rc = tide_coll_fail(fn, comm, -ENOMEM);
    if (!rc)
        rc = tide_cop_vector(&o, recvbuf, p, recvcounts, displs, NULL, recvtype,
                             inplace ? TIDE_STAGE_INOUT : TIDE_STAGE_OUT, "recvcounts", "recvbuf",
                             (char **)&a.rbuf, v);
    if (!rc && !inplace && sb != v[me])
        rc = tide_mpi_error(comm, fn, MPI_ERR_TRUNCATE,
                            "sendcount/sendtype (%zu bytes) and recvcounts[rank] (%zu bytes) "
                            "differ",
                            sb, v[me]);
    if (!rc && !inplace && sb)
        memcpy((char *)a.rbuf + v[p + me], sp, sb);
    a.rb = v, a.rd = v ? v + p : NULL;
    return rc ? tide_cop_end(&o, rc) : tide_cop_run(&o, &a);
}

int PMPI_Allgatherv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf,
                    const int recvcounts[], const int displs[], MPI_Datatype recvtype,
                    MPI_Comm comm)
{
    return tide_allgatherv("MPI_Allgatherv", sendbuf, sendcount, sendtype, recvbuf, recvcounts,
                           displs, recvtype, comm, NULL);
}
TIDE_MPI_WEAK(MPI_Allgatherv);

int PMPI_Iallgatherv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf,
                     const int recvcounts[], const int displs[], MPI_Datatype recvtype,
                     MPI_Comm comm, MPI_Request *request)
{
    return tide_allgatherv("MPI_Iallgatherv", sendbuf, sendcount, sendtype, recvbuf, recvcounts,
                           displs, recvtype, comm, request);
}
TIDE_MPI_WEAK(MPI_Iallgatherv);

static int tide_alltoall(const char *fn, const void *sendbuf, int sendcount, MPI_Datatype sendtype,
                         void *recvbuf, int recvcount, MPI_Datatype recvtype, MPI_Comm comm,
                         MPI_Request *req)
{
    tide_cop_t o;
    size_t sb = 0, rb = 0;
    int rc = tide_cop_begin(&o, fn, comm, req);
    if (rc)
        return rc;
    if (o.c->is_inter)
        return tide_inter_alltoall(&o, sendbuf, sendcount, NULL, NULL, NULL, sendtype, recvbuf,
                                   recvcount, NULL, NULL, NULL, recvtype);
    int p = o.c->size, inplace = sendbuf == MPI_IN_PLACE;
    tide_cargs_t a = {.kind = TIDE_CK_ALLTOALL};
    rc = tide_cop_bytes(&o, recvcount, recvtype, "recvcount", "recvtype", &rb);
    if (!rc)
        rc = tide_cop_buf(&o, recvbuf, rb, "recvbuf");
    if (!rc && !inplace)
        rc = tide_cop_bytes(&o, sendcount, sendtype, "sendcount", "sendtype", &sb);
    if (!rc && !inplace)
        rc = tide_cop_buf(&o, sendbuf, sb, "sendbuf");
    if (!rc && !inplace && sb != rb)
        rc = tide_mpi_error(comm, fn, MPI_ERR_TRUNCATE,
                            "sendcount/sendtype (%zu bytes) and recvcount/recvtype (%zu bytes) "
                            "differ",
                            sb, rb);
    if (!rc && !inplace && sb)
        rc = tide_cop_regular(&o, sendbuf, p, sendcount, sendtype, TIDE_STAGE_IN, (char **)&a.sbuf);
    if (!rc && rb)
        rc = tide_cop_regular(&o, recvbuf, p, recvcount, recvtype,
                              inplace ? TIDE_STAGE_INOUT : TIDE_STAGE_OUT, (char **)&a.rbuf);
    a.blk = rb;
    if (rc || (rb == 0 && !req))
        return tide_cop_end(&o, rc);
    return tide_cop_run(&o, &a);
}

int PMPI_Alltoall(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf,
                  int recvcount, MPI_Datatype recvtype, MPI_Comm comm)
{
    return tide_alltoall("MPI_Alltoall", sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype,
                         comm, NULL);
}
TIDE_MPI_WEAK(MPI_Alltoall);

int PMPI_Ialltoall(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf,
                   int recvcount, MPI_Datatype recvtype, MPI_Comm comm, MPI_Request *request)
{
    return tide_alltoall("MPI_Ialltoall", sendbuf, sendcount, sendtype, recvbuf, recvcount,
                         recvtype, comm, request);
}
TIDE_MPI_WEAK(MPI_Ialltoall);

/* Alltoallv and Alltoallw: types NULL means one type per side (v). */
static int tide_alltoallw(const char *fn, const void *sendbuf, const int sendcounts[],
                          const int sdispls[], const MPI_Datatype *sendtypes, MPI_Datatype sendtype,
                          void *recvbuf, const int recvcounts[], const int rdispls[],
                          const MPI_Datatype *recvtypes, MPI_Datatype recvtype, MPI_Comm comm,
                          MPI_Request *req)
{
    tide_cop_t o;
    size_t *v = NULL;
    int rc = tide_cop_begin(&o, fn, comm, req);
    if (rc)
        return rc;
    if (o.c->is_inter)
        return tide_inter_alltoall(&o, sendbuf, -1, sendcounts, sdispls, sendtypes, sendtype,
                                   recvbuf, -1, recvcounts, rdispls, recvtypes, recvtype);
    int p = o.c->size, me = o.c->rank, inplace = sendbuf == MPI_IN_PLACE,
        w = fn[strlen(fn) - 1] == 'w';
    tide_cargs_t a = {.kind = TIDE_CK_ALLTOALLV};
    if (w && !recvtypes)
        rc = tide_mpi_error(comm, fn, MPI_ERR_ARG, "argument recvtypes is a NULL pointer");
    if (!rc && w && !inplace && !sendtypes)
        rc = tide_mpi_error(comm, fn, MPI_ERR_ARG, "argument sendtypes is a NULL pointer");
    if (!rc && !(v = tide_cop_vec(&o, 4 * (size_t)p)))
        rc = tide_coll_fail(fn, comm, -ENOMEM);
    if (!rc)
        rc = tide_cop_vector(&o, recvbuf, p, recvcounts, rdispls, recvtypes, recvtype,
                             inplace ? TIDE_STAGE_INOUT : TIDE_STAGE_OUT, "recvcounts", "recvbuf",
                             (char **)&a.rbuf, v + 2 * p);
    if (!rc && !inplace)
        rc = tide_cop_vector(&o, sendbuf, p, sendcounts, sdispls, sendtypes, sendtype,
                             TIDE_STAGE_IN, "sendcounts", "sendbuf", (char **)&a.sbuf, v);
    if (!rc && !inplace && v[me] != v[2 * p + me])
        rc = tide_mpi_error(comm, fn, MPI_ERR_TRUNCATE,
                            "what we send to ourselves (%zu bytes) and receive from ourselves "
                            "(%zu bytes) differ",
                            v[me], v[2 * p + me]);
    if (v)
        a.sb = v, a.sd = v + p, a.rb = v + 2 * p, a.rd = v + 3 * p;
    return rc ? tide_cop_end(&o, rc) : tide_cop_run(&o, &a);
}

int PMPI_Alltoallv(const void *sendbuf, const int sendcounts[], const int sdispls[],
                   MPI_Datatype sendtype, void *recvbuf, const int recvcounts[],
                   const int rdispls[], MPI_Datatype recvtype, MPI_Comm comm)
{
    return tide_alltoallw("MPI_Alltoallv", sendbuf, sendcounts, sdispls, NULL, sendtype, recvbuf,
                          recvcounts, rdispls, NULL, recvtype, comm, NULL);
}
TIDE_MPI_WEAK(MPI_Alltoallv);

int PMPI_Ialltoallv(const void *sendbuf, const int sendcounts[], const int sdispls[],
                    MPI_Datatype sendtype, void *recvbuf, const int recvcounts[],
                    const int rdispls[], MPI_Datatype recvtype, MPI_Comm comm, MPI_Request *request)
{
    return tide_alltoallw("MPI_Ialltoallv", sendbuf, sendcounts, sdispls, NULL, sendtype, recvbuf,
                          recvcounts, rdispls, NULL, recvtype, comm, request);
}
TIDE_MPI_WEAK(MPI_Ialltoallv);

int PMPI_Alltoallw(const void *sendbuf, const int sendcounts[], const int sdispls[],
                   const MPI_Datatype sendtypes[], void *recvbuf, const int recvcounts[],
                   const int rdispls[], const MPI_Datatype recvtypes[], MPI_Comm comm)
{
    return tide_alltoallw("MPI_Alltoallw", sendbuf, sendcounts, sdispls, sendtypes, 0, recvbuf,
                          recvcounts, rdispls, recvtypes, 0, comm, NULL);
}
TIDE_MPI_WEAK(MPI_Alltoallw);

int PMPI_Ialltoallw(const void *sendbuf, const int sendcounts[], const int sdispls[],
                    const MPI_Datatype sendtypes[], void *recvbuf, const int recvcounts[],
                    const int rdispls[], const MPI_Datatype recvtypes[], MPI_Comm comm,
                    MPI_Request *request)
{
    return tide_alltoallw("MPI_Ialltoallw", sendbuf, sendcounts, sdispls, sendtypes, 0, recvbuf,
                          recvcounts, rdispls, recvtypes, 0, comm, request);
}
TIDE_MPI_WEAK(MPI_Ialltoallw);

/* ---- reductions ---- */

/* The reduction, the operands staged: *sb (send side, NULL when in
 * place and own_send is 0) and *rb (receive side, if need_recv). */
static int tide_cop_red(tide_cop_t *o, const void *sendbuf, void *recvbuf, int count,
                        MPI_Datatype dt, MPI_Op op, int need_recv, size_t *nelem, char **sb,
                        char **rb)
{
    int inplace = sendbuf == MPI_IN_PLACE;
    size_t bytes;
    if (count < 0)
        return tide_mpi_error(o->comm, o->fn, MPI_ERR_COUNT, "argument count (%d) is negative",
                              count);
    int rc = tide_stage_red(o->fn, o->comm, op, dt, count, &o->r, nelem);
    if (!rc && !inplace)
        rc = tide_cop_one(o, sendbuf, count, dt, TIDE_STAGE_IN, "sendbuf", "count", "datatype", sb,
                          &bytes);
    if (!rc && need_recv)
        rc = tide_cop_one(o, recvbuf, count, dt, inplace ? TIDE_STAGE_INOUT : TIDE_STAGE_OUT,
                          "recvbuf", "count", "datatype", rb, &bytes);
    if (!rc && inplace)
        *sb = *rb;
    return rc;
}

static int tide_reduce(const char *fn, const void *sendbuf, void *recvbuf, int count,
                       MPI_Datatype dt, MPI_Op op, int root, MPI_Comm comm, MPI_Request *req)
{
    tide_cop_t o;
    int rc = tide_cop_begin(&o, fn, comm, req);
    if (rc)
        return rc;
    if (o.c->is_inter)
        return tide_inter_reduce(&o, sendbuf, recvbuf, count, dt, op, root);
    tide_cargs_t a = {.kind = TIDE_CK_REDUCE, .root = root};
    rc = tide_cop_root(&o, root, o.c->size);
    int isroot = o.c->rank == root;
    if (!rc && !isroot && sendbuf == MPI_IN_PLACE)
        rc = tide_mpi_error(comm, fn, MPI_ERR_BUFFER,
                            "argument sendbuf is MPI_IN_PLACE on a rank other than the root");
    if (!rc)
        rc = tide_cop_red(&o, sendbuf, recvbuf, count, dt, op, isroot, &a.count, (char **)&a.sbuf,
                          (char **)&a.rbuf);
    return rc ? tide_cop_end(&o, rc) : tide_cop_run(&o, &a);
}

int PMPI_Reduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype, MPI_Op op,
                int root, MPI_Comm comm)
{
    return tide_reduce("MPI_Reduce", sendbuf, recvbuf, count, datatype, op, root, comm, NULL);
}
TIDE_MPI_WEAK(MPI_Reduce);

int PMPI_Ireduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype, MPI_Op op,
                 int root, MPI_Comm comm, MPI_Request *request)
{
    return tide_reduce("MPI_Ireduce", sendbuf, recvbuf, count, datatype, op, root, comm, request);
}
TIDE_MPI_WEAK(MPI_Ireduce);

/* Allreduce, Scan and Exscan. */
static int tide_allred(const char *fn, int kind, const void *sendbuf, void *recvbuf, int count,
                       MPI_Datatype dt, MPI_Op op, MPI_Comm comm, MPI_Request *req)
{
    tide_cop_t o;
    int rc = tide_cop_begin(&o, fn, comm, req);
    if (rc)
        return rc;
    if (o.c->is_inter)
        return kind == TIDE_CK_ALLREDUCE ? tide_inter_allreduce(&o, sendbuf, recvbuf, count, dt, op)
                                         : tide_inter_scan(&o);
    tide_cargs_t a = {.kind = kind};
    rc = tide_cop_red(&o, sendbuf, recvbuf, count, dt, op, 1, &a.count, (char **)&a.sbuf,
                      (char **)&a.rbuf);
    return rc ? tide_cop_end(&o, rc) : tide_cop_run(&o, &a);
}

int PMPI_Allreduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype, MPI_Op op,
                   MPI_Comm comm)
{
    return tide_allred("MPI_Allreduce", TIDE_CK_ALLREDUCE, sendbuf, recvbuf, count, datatype, op,
                       comm, NULL);
}
TIDE_MPI_WEAK(MPI_Allreduce);

int PMPI_Iallreduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype, MPI_Op op,
                    MPI_Comm comm, MPI_Request *request)
{
    return tide_allred("MPI_Iallreduce", TIDE_CK_ALLREDUCE, sendbuf, recvbuf, count, datatype, op,
                       comm, request);
}
TIDE_MPI_WEAK(MPI_Iallreduce);

int PMPI_Scan(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype, MPI_Op op,
              MPI_Comm comm)
{
    return tide_allred("MPI_Scan", TIDE_CK_SCAN, sendbuf, recvbuf, count, datatype, op, comm, NULL);
}
TIDE_MPI_WEAK(MPI_Scan);

int PMPI_Iscan(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype, MPI_Op op,
               MPI_Comm comm, MPI_Request *request)
{
    return tide_allred("MPI_Iscan", TIDE_CK_SCAN, sendbuf, recvbuf, count, datatype, op, comm,
                       request);
}
TIDE_MPI_WEAK(MPI_Iscan);

int PMPI_Exscan(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype, MPI_Op op,
                MPI_Comm comm)
{
    return tide_allred("MPI_Exscan", TIDE_CK_EXSCAN, sendbuf, recvbuf, count, datatype, op, comm,
                       NULL);
}
TIDE_MPI_WEAK(MPI_Exscan);

int PMPI_Iexscan(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype, MPI_Op op,
                 MPI_Comm comm, MPI_Request *request)
{
    return tide_allred("MPI_Iexscan", TIDE_CK_EXSCAN, sendbuf, recvbuf, count, datatype, op, comm,
                       request);
}
TIDE_MPI_WEAK(MPI_Iexscan);

/* Reduce_scatter(_block): counts[i] (or *block) items of dt go to rank i. */
static int tide_rscatter(const char *fn, const void *sendbuf, void *recvbuf, const int *counts,
                         const int *block, MPI_Datatype dt, MPI_Op op, MPI_Comm comm,
                         MPI_Request *req)
{
    tide_cop_t o;
    int rc = tide_cop_begin(&o, fn, comm, req);
    if (rc)
        return rc;
    if (o.c->is_inter)
        return tide_inter_reduce_scatter(&o, sendbuf, recvbuf, counts, block, dt, op);
    int p = o.c->size, me = o.c->rank, inplace = sendbuf == MPI_IN_PLACE;
    long total = 0;
    size_t per = 0, bytes, *v = tide_cop_vec(&o, (size_t)p);
    tide_cargs_t a = {.kind = TIDE_CK_RSCATTER, .rb = v};
    if (!v)
        return tide_cop_end(&o, tide_coll_fail(fn, comm, -ENOMEM));
    if (!counts && !block)
        rc = tide_mpi_error(comm, fn, MPI_ERR_ARG, "argument recvcounts is a NULL pointer");
    for (int i = 0; i < p && !rc; i++) {
        int n = counts ? counts[i] : *block;
        if (n < 0)
            rc = counts ? tide_mpi_error(comm, fn, MPI_ERR_COUNT,
                                         "argument recvcounts[%d] (%d) is negative", i, n)
                        : tide_mpi_error(comm, fn, MPI_ERR_COUNT,
                                         "argument recvcount (%d) is negative", n);
        total += n;
    }
    if (!rc && total > 0x7fffffff)
        rc = tide_mpi_error(comm, fn, MPI_ERR_COUNT,
                            "the counts add up to %ld items, more than an int holds", total);
    if (!rc)
        rc = tide_stage_red(fn, comm, op, dt, 1, &o.r, &per);
    for (int i = 0; i < p && !rc; i++)
        v[i] = per * (size_t)(counts ? counts[i] : *block);
    if (!rc && !inplace)
        rc = tide_cop_one(&o, sendbuf, (int)total, dt, TIDE_STAGE_IN, "sendbuf", "recvcounts",
                          "datatype", (char **)&a.sbuf, &bytes);
    if (!rc)
        rc = tide_cop_one(&o, recvbuf, inplace ? (int)total : (counts ? counts[me] : *block), dt,
                          inplace ? TIDE_STAGE_INOUT : TIDE_STAGE_OUT, "recvbuf", "recvcounts",
                          "datatype", (char **)&a.rbuf, &bytes);
    if (rc || (total == 0 && !req))
        return tide_cop_end(&o, rc);
    if (inplace)
        a.sbuf = NULL;
    return tide_cop_run(&o, &a);
}

int PMPI_Reduce_scatter(const void *sendbuf, void *recvbuf, const int recvcounts[],
                        MPI_Datatype datatype, MPI_Op op, MPI_Comm comm)
{
    return tide_rscatter("MPI_Reduce_scatter", sendbuf, recvbuf, recvcounts, NULL, datatype, op,
                         comm, NULL);
}
TIDE_MPI_WEAK(MPI_Reduce_scatter);

int PMPI_Ireduce_scatter(const void *sendbuf, void *recvbuf, const int recvcounts[],
                         MPI_Datatype datatype, MPI_Op op, MPI_Comm comm, MPI_Request *request)
{
    return tide_rscatter("MPI_Ireduce_scatter", sendbuf, recvbuf, recvcounts, NULL, datatype, op,
                         comm, request);
}
TIDE_MPI_WEAK(MPI_Ireduce_scatter);

int PMPI_Reduce_scatter_block(const void *sendbuf, void *recvbuf, int recvcount,
                              MPI_Datatype datatype, MPI_Op op, MPI_Comm comm)
{
    return tide_rscatter("MPI_Reduce_scatter_block", sendbuf, recvbuf, NULL, &recvcount, datatype,
                         op, comm, NULL);
}
TIDE_MPI_WEAK(MPI_Reduce_scatter_block);

int PMPI_Ireduce_scatter_block(const void *sendbuf, void *recvbuf, int recvcount,
                               MPI_Datatype datatype, MPI_Op op, MPI_Comm comm,
                               MPI_Request *request)
{
    return tide_rscatter("MPI_Ireduce_scatter_block", sendbuf, recvbuf, NULL, &recvcount, datatype,
                         op, comm, request);
}
TIDE_MPI_WEAK(MPI_Ireduce_scatter_block);
