/* One collective call, blocking or not (nbc.h): looking the communicator
 * up, the argument checks and staging every collective shares, and the
 * last step: run the blocking algorithm of src/coll, or build the
 * schedule (src/coll/nbc.c, nbc_inter.c), hand it what the call holds
 * (staged buffers, layout references) and start it as a request. */
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
    if (rc == -ECONNRESET || rc == -ETIMEDOUT || rc == -EPIPE) /* src/p2p/fail.c */
        return tide_mpi_error(comm, fn, MPI_ERR_PROC_FAILED,
                              "a process of the communicator has failed (%s): its collectives "
                              "fail from now on",
                              strerror(-rc));
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
    if (!rc && o->st && !(rc = tide_sched_fence(s)) && /* unpack what has arrived */
        !(rc = tide_sched_call(s, tide_cop_stage_out, o->st)) &&
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
