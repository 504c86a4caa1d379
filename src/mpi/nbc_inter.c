/* Collectives on intercommunicators (MPI 4.1 section 6.2.2).
 * Data flows between the two groups: rooted operations from the root to
 * every process of the other group (Bcast, Scatter(v)) or back (Reduce,
 * Gather(v)); the all-to-all ones both ways, each process receiving the
 * other group's data.  They are composed of the intracommunicator
 * algorithms on each group's local communicator (its own context) and
 * point-to-point across the groups on the intercommunicator's collective
 * context: broadcast and reductions go through the leaders (local rank 0),
 * gathers, scatters and all-to-alls are direct messages.  The root group
 * marks the root with MPI_ROOT and its other members with MPI_PROC_NULL;
 * the other group names the root's rank in the remote group.  MPI_IN_PLACE
 * has no meaning here.  Scan and Exscan are not defined (MPI_ERR_COMM).
 * The nonblocking forms check and stage the same way, then start the
 * schedules of src/coll/nbc_inter.c (tide_cop_run). */
#include "config.h"
#include "coll/coll_impl.h"
#include "mpi/dtype.h"
#include "mpi/nbc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Our role in a rooted operation: 1 root, 0 idle root-group member, -1 in
 * the other group (root = a remote rank); or an error reported. */
static int tide_inter_role(tide_cop_t *o, int root, int *role)
{
    if (root == MPI_ROOT)
        *role = 1;
    else if (root == MPI_PROC_NULL)
        *role = 0;
    else if (root >= 0 && root < o->c->size)
        *role = -1;
    else
        return tide_mpi_error(o->comm, o->fn, MPI_ERR_ROOT,
                              "argument root (%d) is neither MPI_ROOT, MPI_PROC_NULL nor a rank "
                              "of the remote group (size %d)",
                              root, o->c->size);
    return MPI_SUCCESS;
}

static tide_coll_comm_t tide_inter_local(const tide_comm_t *c)
{
    const tide_comm_t *l = c->local;
    return (tide_coll_comm_t){l->rank, l->size, l->procs, l->self_proc, l->ctx + 1};
}

static int tide_inter_finish(tide_cop_t *o, int rc)
{
    if (!rc)
        tide_stage_out(o->st);
    return tide_cop_end(o, tide_coll_fail(o->fn, o->comm, rc));
}

int tide_inter_bcast(tide_cop_t *o, void *buffer, int count, MPI_Datatype dt, int root)
{
    int role = 0, rc = MPI_SUCCESS;
    char *p = NULL;
    size_t bytes = 0;
    if (!rc)
        rc = tide_inter_role(o, root, &role);
    if (!rc && role)
        rc = tide_cop_one(o, buffer, count, dt, role > 0 ? TIDE_STAGE_IN : TIDE_STAGE_OUT, "buffer",
                          "count", "datatype", &p, &bytes);
    if (!rc && o->req) {
        tide_cargs_t a = {
            .kind = TIDE_CK_BCAST, .inter = 1, .role = role, .root = root, .rbuf = p, .blk = bytes};
        return tide_cop_run(o, &a);
    }
    if (rc || !role || !bytes)
        return tide_cop_end(o, rc);
    tide_coll_comm_t gl = tide_inter_local(o->c);
    if (role > 0)
        rc = tide_coll_send(&o->g, p, bytes, 0, TIDE_COLL_TAG_BCAST);
    else if (gl.rank == 0)
        rc = tide_coll_recv(&o->g, p, bytes, root, TIDE_COLL_TAG_BCAST, NULL);
    if (!rc && role < 0)
        rc = tide_coll_bcast(&gl, p, bytes, 0);
    return tide_inter_finish(o, rc);
}

/* The root's p blocks: regular (count >= 0) or v (count -1, counts and
 * displacements in extents); byte sizes v[0..p), offsets v[p..2p). */
static int tide_inter_root_blocks(tide_cop_t *o, const void *buf, int count, const int *counts,
                                  const int *displs, MPI_Datatype dt, int dir, const char *cname,
                                  const char *bname, char **base, size_t *v)
{
    int p = o->c->size, rc;
    size_t b = 0;
    if (count < 0)
        return tide_cop_vector(o, buf, p, counts, displs, NULL, dt, dir, cname, bname, base, v);
    rc = tide_cop_bytes(o, count, dt, cname, "datatype", &b);
    if (!rc)
        rc = tide_cop_buf(o, buf, b, bname);
    if (!rc && b)
        rc = tide_cop_regular(o, buf, p, count, dt, dir, base);
    for (int i = 0; i < p; i++)
        v[i] = b, v[p + i] = b * (size_t)i;
    return rc;
}

/* Gather (recvcount >= 0: regular blocks) and Gatherv (recvcount -1) to a root of the
 * other group: every sender talks to the root directly. */
int tide_inter_gather(tide_cop_t *o, const void *sendbuf, int sendcount, MPI_Datatype sendtype,
                      void *recvbuf, int recvcount, const int *recvcounts, const int *displs,
                      MPI_Datatype recvtype, int root)
{
    int role = 0, rc = MPI_SUCCESS, p = o->c->size;
    char *sp = NULL, *base = NULL;
    size_t sb = 0, *v = NULL;
    if (!rc)
        rc = tide_inter_role(o, root, &role);
    if (!rc && role < 0)
        rc = tide_cop_one(o, sendbuf, sendcount, sendtype, TIDE_STAGE_IN, "sendbuf", "sendcount",
                          "sendtype", &sp, &sb);
    if (!rc && role > 0 && !(v = tide_cop_vec(o, 2 * (size_t)p)))
        rc = tide_coll_fail(o->fn, o->comm, -ENOMEM);
    if (!rc && role > 0)
        rc = tide_inter_root_blocks(o, recvbuf, recvcount, recvcounts, displs, recvtype,
                                    TIDE_STAGE_OUT, "recvcounts", "recvbuf", &base, v);
    tide_cargs_t a = {.kind = TIDE_CK_GATHERV,
                      .inter = 1,
                      .role = role,
                      .root = root,
                      .sbuf = sp,
                      .own = sb,
                      .rbuf = base,
                      .rb = v,
                      .rd = v ? v + p : NULL};
    if (!rc && o->req)
        return tide_cop_run(o, &a);
    if (!rc && role < 0)
        rc = sb ? tide_coll_send(&o->g, sp, sb, root, TIDE_COLL_TAG_GATHER) : 0;
    if (rc || role <= 0)
        return role < 0 ? tide_inter_finish(o, rc) : tide_cop_end(o, rc);
    tide_p2p_req_t **reqs = rc ? NULL : calloc((size_t)p, sizeof(*reqs));
    if (!rc && !reqs)
        rc = tide_coll_fail(o->fn, o->comm, -ENOMEM);
    if (rc)
        return tide_cop_end(o, rc);
    for (int i = 0; i < p && !rc; i++)
        if (v[i])
            rc = tide_coll_irecv(&o->g, base + v[p + i], v[i], i, TIDE_COLL_TAG_GATHER, &reqs[i]);
    int w = tide_coll_waitall(reqs, p);
    free(reqs);
    return tide_inter_finish(o, rc ? rc : w);
}

/* Scatter and Scatterv (sendcount -1) from a root of the other group,
 * directly. */
int tide_inter_scatter(tide_cop_t *o, const void *sendbuf, int sendcount, const int *sendcounts,
                       const int *displs, MPI_Datatype sendtype, void *recvbuf, int recvcount,
                       MPI_Datatype recvtype, int root)
{
    int role = 0, rc = MPI_SUCCESS, p = o->c->size;
    char *rp = NULL, *base = NULL;
    size_t rb = 0, *v = NULL;
    if (!rc)
        rc = tide_inter_role(o, root, &role);
    if (!rc && role < 0)
        rc = tide_cop_one(o, recvbuf, recvcount, recvtype, TIDE_STAGE_OUT, "recvbuf", "recvcount",
                          "recvtype", &rp, &rb);
    if (!rc && role > 0 && !(v = tide_cop_vec(o, 2 * (size_t)p)))
        rc = tide_coll_fail(o->fn, o->comm, -ENOMEM);
    if (!rc && role > 0)
        rc = tide_inter_root_blocks(o, sendbuf, sendcount, sendcounts, displs, sendtype,
                                    TIDE_STAGE_IN, "sendcounts", "sendbuf", &base, v);
    tide_cargs_t a = {.kind = TIDE_CK_SCATTERV,
                      .inter = 1,
                      .role = role,
                      .root = root,
                      .rbuf = rp,
                      .own = rb,
                      .sbuf = base,
                      .sb = v,
                      .sd = v ? v + p : NULL};
    if (!rc && o->req)
        return tide_cop_run(o, &a);
    if (!rc && role < 0)
        rc = rb ? tide_coll_recv(&o->g, rp, rb, root, TIDE_COLL_TAG_SCATTER, NULL) : 0;
    if (rc || role <= 0)
        return role < 0 ? tide_inter_finish(o, rc) : tide_cop_end(o, rc);
    tide_p2p_req_t **reqs = rc ? NULL : calloc((size_t)p, sizeof(*reqs));
    if (!rc && !reqs)
        rc = tide_coll_fail(o->fn, o->comm, -ENOMEM);
    if (rc)
        return tide_cop_end(o, rc);
    for (int i = 0; i < p && !rc; i++)
        if (v[i])
            rc = tide_coll_isend(&o->g, base + v[p + i], v[i], i, TIDE_COLL_TAG_SCATTER, &reqs[i]);
    int w = tide_coll_waitall(reqs, p);
    free(reqs);
    return tide_inter_finish(o, rc ? rc : w);
}

/* Every process sends sb[i] bytes at sbase + sd[i] to remote rank i and
 * receives rb[i] bytes from it at rbase + rd[i] (all posted at once). */
static int tide_inter_exchange(tide_cop_t *o, const char *sbase, const size_t *sb, const size_t *sd,
                               char *rbase, const size_t *rb, const size_t *rd, int tag)
{
    int p = o->c->size, rc = 0;
    tide_p2p_req_t **reqs = calloc(2 * (size_t)p, sizeof(*reqs));
    if (!reqs)
        return -ENOMEM;
    for (int k = 0; k < p && !rc; k++) {
        int i = (o->c->rank + k) % p; /* staggered partners */
        if (rb[i])
            rc = tide_coll_irecv(&o->g, rbase + rd[i], rb[i], i, tag, &reqs[i]);
        if (!rc && sb[i])
            rc = tide_coll_isend(&o->g, sbase + sd[i], sb[i], i, tag, &reqs[p + i]);
    }
    int w = tide_coll_waitall(reqs, 2 * p);
    free(reqs);
    return rc ? rc : w;
}

/* Allgather(v) (recvcount -1): our block to every remote process, theirs
 * to us. */
int tide_inter_allgather(tide_cop_t *o, const void *sendbuf, int sendcount, MPI_Datatype sendtype,
                         void *recvbuf, int recvcount, const int *recvcounts, const int *displs,
                         MPI_Datatype recvtype)
{
    int rc = MPI_SUCCESS, p = o->c->size;
    char *sp = NULL, *base = NULL;
    size_t sb = 0, rb = 0, *v = rc ? NULL : tide_cop_vec(o, 4 * (size_t)p);
    if (!rc && !v)
        rc = tide_coll_fail(o->fn, o->comm, -ENOMEM);
    if (!rc)
        rc = tide_cop_one(o, sendbuf, sendcount, sendtype, TIDE_STAGE_IN, "sendbuf", "sendcount",
                          "sendtype", &sp, &sb);
    if (!rc && recvcount < 0) {
        rc = tide_cop_vector(o, recvbuf, p, recvcounts, displs, NULL, recvtype, TIDE_STAGE_OUT,
                             "recvcounts", "recvbuf", &base, v + 2 * p);
    } else if (!rc) {
        rc = tide_cop_bytes(o, recvcount, recvtype, "recvcount", "recvtype", &rb);
        if (!rc)
            rc = tide_cop_buf(o, recvbuf, rb, "recvbuf");
        if (!rc && rb)
            rc = tide_cop_regular(o, recvbuf, p, recvcount, recvtype, TIDE_STAGE_OUT, &base);
        for (int i = 0; i < p; i++)
            v[2 * p + i] = rb, v[3 * p + i] = rb * (size_t)i;
    }
    if (rc)
        return tide_cop_end(o, rc);
    for (int i = 0; i < p; i++)
        v[i] = sb, v[p + i] = 0;
    tide_cargs_t a = {.kind = TIDE_CK_ALLTOALLV,
                      .inter = 1,
                      .sbuf = sp,
                      .rbuf = base,
                      .sb = v,
                      .sd = v + p,
                      .rb = v + 2 * p,
                      .rd = v + 3 * p};
    if (o->req)
        return tide_cop_run(o, &a);
    return tide_inter_finish(o, tide_inter_exchange(o, sp, v, v + p, base, v + 2 * p, v + 3 * p,
                                                    TIDE_COLL_TAG_ALLGATHER));
}

/* Alltoall, Alltoallv, Alltoallw (counts -1: the v/w forms; types NULL:
 * one type a side, displacements in its extents). */
int tide_inter_alltoall(tide_cop_t *o, const void *sendbuf, int sendcount, const int *sendcounts,
                        const int *sdispls, const MPI_Datatype *sendtypes, MPI_Datatype sendtype,
                        void *recvbuf, int recvcount, const int *recvcounts, const int *rdispls,
                        const MPI_Datatype *recvtypes, MPI_Datatype recvtype)
{
    int rc = MPI_SUCCESS, p = o->c->size;
    char *sbase = NULL, *rbase = NULL;
    size_t sb = 0, rb = 0, *v = rc ? NULL : tide_cop_vec(o, 4 * (size_t)p);
    if (!rc && !v)
        rc = tide_coll_fail(o->fn, o->comm, -ENOMEM);
    if (!rc && sendcount < 0) {
        rc = tide_cop_vector(o, sendbuf, p, sendcounts, sdispls, sendtypes, sendtype, TIDE_STAGE_IN,
                             "sendcounts", "sendbuf", &sbase, v);
    } else if (!rc) {
        rc = tide_cop_bytes(o, sendcount, sendtype, "sendcount", "sendtype", &sb);
        if (!rc)
            rc = tide_cop_buf(o, sendbuf, sb, "sendbuf");
        if (!rc && sb)
            rc = tide_cop_regular(o, sendbuf, p, sendcount, sendtype, TIDE_STAGE_IN, &sbase);
        for (int i = 0; i < p; i++)
            v[i] = sb, v[p + i] = sb * (size_t)i;
    }
    if (!rc && recvcount < 0) {
        rc = tide_cop_vector(o, recvbuf, p, recvcounts, rdispls, recvtypes, recvtype,
                             TIDE_STAGE_OUT, "recvcounts", "recvbuf", &rbase, v + 2 * p);
    } else if (!rc) {
        rc = tide_cop_bytes(o, recvcount, recvtype, "recvcount", "recvtype", &rb);
        if (!rc)
            rc = tide_cop_buf(o, recvbuf, rb, "recvbuf");
        if (!rc && rb)
            rc = tide_cop_regular(o, recvbuf, p, recvcount, recvtype, TIDE_STAGE_OUT, &rbase);
        for (int i = 0; i < p; i++)
            v[2 * p + i] = rb, v[3 * p + i] = rb * (size_t)i;
    }
    if (rc)
        return tide_cop_end(o, rc);
    tide_cargs_t a = {.kind = TIDE_CK_ALLTOALLV,
                      .inter = 1,
                      .sbuf = sbase,
                      .rbuf = rbase,
                      .sb = v,
                      .sd = v + p,
                      .rb = v + 2 * p,
                      .rd = v + 3 * p};
    if (o->req)
        return tide_cop_run(o, &a);
    return tide_inter_finish(o, tide_inter_exchange(o, sbase, v, v + p, rbase, v + 2 * p, v + 3 * p,
                                                    TIDE_COLL_TAG_ALLTOALL));
}

/* Reduce our group's vectors to our leader (into a temporary there). */
static int tide_inter_local_reduce(tide_cop_t *o, const char *sp, size_t count, char **acc)
{
    tide_coll_comm_t gl = tide_inter_local(o->c);
    size_t bytes = count * o->r.esize;
    *acc = NULL;
    if (gl.rank == 0 && !(*acc = malloc(bytes ? bytes : 1)))
        return -ENOMEM;
    return tide_coll_reduce(&gl, sp, *acc, count, &o->r, 0);
}

int tide_inter_reduce(tide_cop_t *o, const void *sendbuf, void *recvbuf, int count, MPI_Datatype dt,
                      MPI_Op op, int root)
{
    int role = 0, rc = MPI_SUCCESS;
    char *sp = NULL, *rp = NULL, *acc = NULL;
    size_t n = 0, bytes;
    if (!rc)
        rc = tide_inter_role(o, root, &role);
    if (!rc && count < 0)
        rc =
            tide_mpi_error(o->comm, o->fn, MPI_ERR_COUNT, "argument count (%d) is negative", count);
    if (!rc)
        rc = tide_stage_red(o->fn, o->comm, op, dt, count, &o->r, &n);
    if (!rc && role < 0)
        rc = tide_cop_one(o, sendbuf, count, dt, TIDE_STAGE_IN, "sendbuf", "count", "datatype", &sp,
                          &bytes);
    if (!rc && role > 0)
        rc = tide_cop_one(o, recvbuf, count, dt, TIDE_STAGE_OUT, "recvbuf", "count", "datatype",
                          &rp, &bytes);
    if (!rc && o->req) {
        tide_cargs_t a = {.kind = TIDE_CK_REDUCE,
                          .inter = 1,
                          .role = role,
                          .root = root,
                          .sbuf = sp,
                          .rbuf = rp,
                          .count = n};
        return tide_cop_run(o, &a);
    }
    if (rc || !role || n == 0)
        return tide_cop_end(o, rc);
    bytes = n * o->r.esize;
    if (role > 0)
        return tide_inter_finish(o,
                                 tide_coll_recv(&o->g, rp, bytes, 0, TIDE_COLL_TAG_REDUCE, NULL));
    rc = tide_inter_local_reduce(o, sp, n, &acc);
    if (!rc && o->c->local->rank == 0)
        rc = tide_coll_send(&o->g, acc, bytes, root, TIDE_COLL_TAG_REDUCE);
    free(acc);
    return tide_inter_finish(o, rc);
}

/* Start the nonblocking Allreduce / Reduce_scatter(_block). */
static int tide_inter_allred_start(tide_cop_t *o, char *sp, char *rp, size_t n, size_t per,
                                   const int *counts, const int *block)
{
    int lp = o->c->local->size;
    size_t *v = NULL;
    if ((counts || block) && !(v = tide_cop_vec(o, (size_t)lp)))
        return tide_cop_end(o, tide_coll_fail(o->fn, o->comm, -ENOMEM));
    for (int i = 0; v && i < lp; i++)
        v[i] = per * (size_t)(counts ? counts[i] : *block);
    tide_cargs_t a = {.kind = v ? TIDE_CK_RSCATTER : TIDE_CK_ALLREDUCE,
                      .inter = 1,
                      .sbuf = sp,
                      .rbuf = rp,
                      .count = n,
                      .rb = v};
    return tide_cop_run(o, &a);
}

/* Allreduce and Reduce_scatter(_block) (counts or *block: items per local
 * rank of the result of the other group's reduction). */
static int tide_inter_allred(tide_cop_t *o, const void *sendbuf, void *recvbuf, int count,
                             const int *counts, const int *block, MPI_Datatype dt, MPI_Op op)
{
    int rc = MPI_SUCCESS, lp = o->c->local->size, me = o->c->local->rank;
    char *sp = NULL, *rp = NULL, *acc = NULL, *res = NULL;
    size_t n = 0, per = 0, bytes;
    long total = count;
    if (!rc && count >= 0 && (counts || block)) { /* reduce-scatter: total items */
        total = 0;
        for (int i = 0; i < lp; i++)
            total += counts ? counts[i] : *block;
    }
    if (!rc && (count < 0 || (block && *block < 0)))
        rc = tide_mpi_error(o->comm, o->fn, MPI_ERR_COUNT, "argument count (%d) is negative",
                            block ? *block : count);
    for (int i = 0; !rc && counts && i < lp; i++)
        if (counts[i] < 0)
            rc = tide_mpi_error(o->comm, o->fn, MPI_ERR_COUNT,
                                "argument recvcounts[%d] (%d) is negative", i, counts[i]);
    if (!rc)
        rc = tide_stage_red(o->fn, o->comm, op, dt, 1, &o->r, &per);
    n = per * (size_t)total;
    int mine = counts ? counts[me] : block ? *block : (int)total;
    if (!rc)
        rc = tide_cop_one(o, sendbuf, (int)total, dt, TIDE_STAGE_IN, "sendbuf", "count", "datatype",
                          &sp, &bytes);
    if (!rc)
        rc = tide_cop_one(o, recvbuf, mine, dt, TIDE_STAGE_OUT, "recvbuf", "count", "datatype", &rp,
                          &bytes);
    if (!rc && o->req)
        return tide_inter_allred_start(o, sp, rp, n, per, counts, block);
    if (rc || n == 0)
        return tide_cop_end(o, rc);
    bytes = n * o->r.esize;
    tide_coll_comm_t gl = tide_inter_local(o->c);
    rc = tide_inter_local_reduce(o, sp, n, &acc);
    if (!rc && me == 0 && !(res = malloc(bytes)))
        rc = -ENOMEM;
    if (!rc && me == 0) /* leaders swap their groups' results */
        rc = tide_coll_sendrecv(&o->g, acc, bytes, 0, res, bytes, 0, TIDE_COLL_TAG_ALLREDUCE, NULL);
    if (!rc && !counts && !block) {
        if (me == 0)
            memcpy(rp, res, bytes);
        rc = tide_coll_bcast(&gl, rp, bytes, 0);
    } else if (!rc) {
        size_t *v = malloc(2 * (size_t)lp * sizeof(*v)), off = 0;
        for (int i = 0; v && i < lp; i++)
            v[i] = per * (size_t)(counts ? counts[i] : *block) * o->r.esize, v[lp + i] = off,
            off += v[i];
        rc = v ? tide_coll_scatterv(&gl, res, v, v + lp, rp, v[me], 0) : -ENOMEM;
        free(v);
    }
    free(acc);
    free(res);
    return tide_inter_finish(o, rc);
}

int tide_inter_allreduce(tide_cop_t *o, const void *sendbuf, void *recvbuf, int count,
                         MPI_Datatype dt, MPI_Op op)
{
    return tide_inter_allred(o, sendbuf, recvbuf, count, NULL, NULL, dt, op);
}

int tide_inter_reduce_scatter(tide_cop_t *o, const void *sendbuf, void *recvbuf, const int *counts,
                              const int *block, MPI_Datatype dt, MPI_Op op)
{
    if (!counts && !block)
        return tide_cop_end(o, tide_mpi_error(o->comm, o->fn, MPI_ERR_ARG,
                                              "argument recvcounts is a NULL pointer"));
    return tide_inter_allred(o, sendbuf, recvbuf, 0, counts, block, dt, op);
}

int tide_inter_scan(tide_cop_t *o)
{
    return tide_cop_end(o, tide_mpi_error(o->comm, o->fn, MPI_ERR_COMM,
                                          "argument comm (%s) is an intercommunicator; %s is "
                                          "defined on intracommunicators only (MPI 4.1 section "
                                          "6.11)",
                                          o->c->name, o->fn));
}
