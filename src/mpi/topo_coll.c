/* Neighbourhood collectives (MPI 3.1 section 7.6): MPI_Neighbor_allgather(v)
 * and alltoall(v,w) and their MPI_Ineighbor_* forms on Cartesian, graph and
 * distributed-graph communicators.  Each call checks its arguments, stages
 * derived datatypes (nbc_buf.c) and compiles one schedule (src/coll/sched.h):
 * a receive from every in-neighbour and a send to every out-neighbour,
 * posted at once on the collective context with the call's own tag; the
 * blocking forms start the same schedule and wait for it.  Several edges
 * between one pair of processes match in the order of the neighbour lists
 * (point-to-point's non-overtaking rule).  On a Cartesian grid the block
 * for the + neighbour of a dimension is sent before the one for the -
 * neighbour, so that with 1 or 2 processes in a periodic dimension (both
 * neighbours the same process) what a process sends "up" still lands in its
 * neighbour's "from below" block (MPI 4.1 section 8.6, the ordering rule
 * for Cartesian neighbourhoods). */
#include "config.h"
#include "coll/sched.h"
#include "mpi/dtype.h"
#include "mpi/nbc.h"
#include "mpi/topo.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* The count argument of the v and w forms (they have counts arrays). */
#define TIDE_NCALL_V INT_MIN

/* One side of a neighbourhood collective: n blocks, block i is counts[i]
 * items of types[i] (types NULL: dt) at buf + offs[i] bytes. */
typedef struct tide_nside {
    const void *buf;
    int n;
    const int *counts;
    const ptrdiff_t *offs;
    const MPI_Datatype *types;
    MPI_Datatype dt;
    const char *bname, *cname, *tname;
} tide_nside_t;

/* What a call holds while it is built. */
typedef struct tide_ncall {
    tide_cop_t o;
    const int *in, *out;
    int nin, nout, cart;
    int most;     /* room in counts/offs for each side */
    int *scratch; /* Cartesian neighbour lists */
    int *counts;  /* regular blocks: the count repeated */
    ptrdiff_t *offs;
} tide_ncall_t;

static int tide_ncall_end(tide_ncall_t *k, int rc)
{
    free(k->scratch);
    free(k->counts);
    free(k->offs);
    return tide_cop_end(&k->o, rc);
}

static int tide_ncall_begin(tide_ncall_t *k, const char *fn, MPI_Comm comm, MPI_Request *req)
{
    memset(k, 0, sizeof(*k));
    int rc = tide_cop_begin(&k->o, fn, comm, req);
    if (rc)
        return rc;
    const tide_topo_t *t = k->o.c->topo;
    if (!t)
        return tide_mpi_error(comm, fn, MPI_ERR_TOPOLOGY,
                              "argument comm (%s) has no process topology (neighbourhood "
                              "collectives need a Cartesian, graph or distributed graph one)",
                              k->o.c->name);
    k->cart = t->kind == MPI_CART;
    k->scratch = malloc((2 * (size_t)t->ndims + 1) * sizeof(int));
    size_t most = (size_t)(t->indeg > t->outdeg ? t->indeg : t->outdeg) + 2 * (size_t)t->ndims +
                  (size_t)t->nedges + 1;
    k->most = (int)most;
    k->counts = malloc(2 * most * sizeof(int));
    k->offs = malloc(2 * most * sizeof(ptrdiff_t));
    if (!k->scratch || !k->counts || !k->offs)
        return tide_ncall_end(k, tide_coll_fail(fn, comm, -ENOMEM));
    tide_topo_neighbors(t, k->o.c, k->scratch, &k->in, &k->nin, &k->out, &k->nout);
    return MPI_SUCCESS;
}

/* n regular blocks of count items of dt, one extent apart (offs from
 * offset `at` of k->offs). */
static void tide_ncall_regular(tide_ncall_t *k, tide_nside_t *s, int count, int at)
{
    MPI_Aint extent = 0;
    if (count > 0 && tide_dt_query(s->dt, NULL, NULL, &extent, NULL, NULL))
        extent = 0; /* not a datatype: tide_ncall_side reports it */
    for (int i = 0; i < s->n; i++) {
        k->counts[at + i] = count;
        k->offs[at + i] = (ptrdiff_t)i * count * extent;
    }
    s->counts = k->counts + at;
    s->offs = k->offs + at;
}

/* Check and stage one side: base and per-block sizes v[0..n), offsets
 * v[n..2n). */
static int tide_ncall_side(tide_ncall_t *k, const tide_nside_t *s, int dir, char **base, size_t *v)
{
    tide_cop_t *o = &k->o;
    for (int i = 0; i < s->n; i++) {
        size_t b;
        if (s->counts[i] < 0)
            return tide_mpi_error(o->comm, o->fn, MPI_ERR_COUNT, "argument %s[%d] (%d) is negative",
                                  s->cname, i, s->counts[i]);
        int rc =
            tide_cop_bytes(o, s->counts[i], s->types ? s->types[i] : s->dt, s->cname, s->tname, &b);
        if (!rc)
            rc = tide_cop_buf(o, s->buf, b, s->bname);
        if (rc)
            return rc;
    }
    if (s->n == 0)
        return MPI_SUCCESS;
    /* no block for MPI_PROC_NULL: its part of the buffer stays untouched */
    const int *peer = dir == TIDE_STAGE_OUT ? k->in : k->out;
    int *cnt = malloc((size_t)s->n * sizeof(int)), rc = cnt ? 0 : -ENOMEM;
    for (int i = 0; cnt && i < s->n; i++)
        cnt[i] = peer[i] == MPI_PROC_NULL ? 0 : s->counts[i];
    if (!rc)
        rc = tide_stage_vec(&o->st, (void *)s->buf, s->n, cnt, s->offs, s->types, s->dt, dir, 0,
                            base, v, v + s->n);
    free(cnt);
    return rc ? tide_coll_fail(o->fn, o->comm, rc) : MPI_SUCCESS;
}

/* The schedule's transfers: every receive, then every send (Cartesian:
 * + before - in each dimension).  A send of `one` bytes from sb when sv
 * is NULL (allgather). */
static int tide_ncall_steps(tide_ncall_t *k, tide_sched_t *s, char *rb, const size_t *rv, char *sb,
                            const size_t *sv, size_t one)
{
    int rc = 0;
    for (int i = 0; i < k->nin && !rc; i++)
        if (k->in[i] != MPI_PROC_NULL)
            rc = tide_sched_recv(s, rb + rv[k->nin + i], rv[i], k->in[i]);
    for (int j = 0; j < k->nout && !rc; j++) {
        int b = k->cart ? j ^ 1 : j;
        if (k->out[b] == MPI_PROC_NULL)
            continue;
        rc = sv ? tide_sched_send(s, sb + sv[k->nout + b], sv[b], k->out[b])
                : tide_sched_send(s, sb, one, k->out[b]);
    }
    return rc;
}

static void tide_ncall_stage_out(void *arg, int err)
{
    (void)err;
    tide_stage_out(arg);
}

/* Build the schedule, start it as a request; blocking calls wait. */
static int tide_ncall_run(tide_ncall_t *k, char *rb, const size_t *rv, char *sb, const size_t *sv,
                          size_t one)
{
    tide_cop_t *o = &k->o;
    uint32_t seq = __atomic_fetch_add(&o->c->nbc_seq, 1, __ATOMIC_RELAXED);
    int tag = (int)(TIDE_COLL_TAG_NBC | (seq & TIDE_COLL_NBC_MASK));
    tide_sched_t *s = tide_sched_new(&o->g, tag, NULL);
    tide_mpi_req_t *r = s ? tide_mpi_req_new(TIDE_MPI_REQ_COLL, o->comm) : NULL;
    int rc = r ? tide_ncall_steps(k, s, rb, rv, sb, sv, one) : -ENOMEM;
    if (!rc && o->st && !(rc = tide_sched_fence(s)) &&
        !(rc = tide_sched_call(s, tide_ncall_stage_out, o->st)) &&
        !(rc = tide_sched_on_free(s, (void (*)(void *))tide_stage_free, o->st)))
        o->st = NULL;
    if (rc) {
        if (r)
            tide_mpi_req_release(r);
        tide_sched_free(s);
        return tide_ncall_end(k, tide_coll_fail(o->fn, o->comm, rc));
    }
    r->sched = s;
    tide_sched_start(s);
    if (o->req) {
        *o->req = r->handle;
        return tide_ncall_end(k, MPI_SUCCESS);
    }
    MPI_Request h = r->handle;
    rc = tide_mpi_wait_one(&h, MPI_STATUS_IGNORE);
    return tide_ncall_end(k, tide_coll_fail(o->fn, o->comm, rc));
}

/* Both sides described: check, stage, run.  snd.n < 0: allgather (one
 * block sent to every out-neighbour). */
static int tide_ncall_go(tide_ncall_t *k, tide_nside_t *snd, tide_nside_t *rcv)
{
    size_t *v = tide_cop_vec(&k->o, 2 * ((size_t)k->nin + (size_t)k->nout) + 2);
    char *rb = NULL, *sb = NULL;
    size_t one = 0;
    int rc = v ? 0 : tide_coll_fail(k->o.fn, k->o.comm, -ENOMEM);
    size_t *rv = v, *sv = v ? v + 2 * (size_t)k->nin : NULL;
    if (!rc)
        rc = tide_ncall_side(k, rcv, TIDE_STAGE_OUT, &rb, rv);
    if (!rc && snd->n < 0)
        rc = tide_cop_one(&k->o, snd->buf, snd->counts[0], snd->dt, TIDE_STAGE_IN, snd->bname,
                          snd->cname, snd->tname, &sb, &one);
    else if (!rc)
        rc = tide_ncall_side(k, snd, TIDE_STAGE_IN, &sb, sv);
    if (rc)
        return tide_ncall_end(k, rc);
    return tide_ncall_run(k, rb, rv, sb, snd->n < 0 ? NULL : sv, one);
}

/* ---- the calls ---- */

static int tide_nallgather(const char *fn, const void *sendbuf, int sendcount,
                           MPI_Datatype sendtype, void *recvbuf, int recvcount,
                           const int *recvcounts, const int *displs, MPI_Datatype recvtype,
                           MPI_Comm comm, MPI_Request *req)
{
    tide_ncall_t k;
    int rc = tide_ncall_begin(&k, fn, comm, req);
    if (rc)
        return rc;
    tide_nside_t snd = {sendbuf,  -1,        &sendcount,  NULL,      NULL,
                        sendtype, "sendbuf", "sendcount", "sendtype"};
    tide_nside_t rcv = {recvbuf,  k.nin,     recvcounts,  NULL,      NULL,
                        recvtype, "recvbuf", "recvcount", "recvtype"};
    if (recvcount != TIDE_NCALL_V) {
        if (recvcount < 0)
            return tide_ncall_end(&k,
                                  tide_mpi_error(comm, fn, MPI_ERR_COUNT,
                                                 "argument recvcount (%d) is negative", recvcount));
        tide_ncall_regular(&k, &rcv, recvcount, 0);
        return tide_ncall_go(&k, &snd, &rcv);
    }
    rcv.cname = "recvcounts";
    if (k.nin > 0 && (!recvcounts || !displs))
        return tide_ncall_end(&k,
                              tide_mpi_error(comm, fn, MPI_ERR_ARG, "argument %s is a NULL pointer",
                                             recvcounts ? "displs" : "recvcounts"));
    MPI_Aint extent = 0;
    if (k.nin > 0 && tide_dt_query(recvtype, NULL, NULL, &extent, NULL, NULL))
        extent = 0;
    for (int i = 0; i < k.nin; i++)
        k.offs[i] = (ptrdiff_t)displs[i] * extent;
    rcv.offs = k.offs;
    return tide_ncall_go(&k, &snd, &rcv);
}

int PMPI_Neighbor_allgather(const void *sendbuf, int sendcount, MPI_Datatype sendtype,
                            void *recvbuf, int recvcount, MPI_Datatype recvtype, MPI_Comm comm)
{
    return tide_nallgather("MPI_Neighbor_allgather", sendbuf, sendcount, sendtype, recvbuf,
                           recvcount, NULL, NULL, recvtype, comm, NULL);
}
TIDE_MPI_WEAK(MPI_Neighbor_allgather);

int PMPI_Ineighbor_allgather(const void *sendbuf, int sendcount, MPI_Datatype sendtype,
                             void *recvbuf, int recvcount, MPI_Datatype recvtype, MPI_Comm comm,
                             MPI_Request *request)
{
    return tide_nallgather("MPI_Ineighbor_allgather", sendbuf, sendcount, sendtype, recvbuf,
                           recvcount, NULL, NULL, recvtype, comm, request);
}
TIDE_MPI_WEAK(MPI_Ineighbor_allgather);

int PMPI_Neighbor_allgatherv(const void *sendbuf, int sendcount, MPI_Datatype sendtype,
                             void *recvbuf, const int recvcounts[], const int displs[],
                             MPI_Datatype recvtype, MPI_Comm comm)
{
    return tide_nallgather("MPI_Neighbor_allgatherv", sendbuf, sendcount, sendtype, recvbuf,
                           TIDE_NCALL_V, recvcounts, displs, recvtype, comm, NULL);
}
TIDE_MPI_WEAK(MPI_Neighbor_allgatherv);

int PMPI_Ineighbor_allgatherv(const void *sendbuf, int sendcount, MPI_Datatype sendtype,
                              void *recvbuf, const int recvcounts[], const int displs[],
                              MPI_Datatype recvtype, MPI_Comm comm, MPI_Request *request)
{
    return tide_nallgather("MPI_Ineighbor_allgatherv", sendbuf, sendcount, sendtype, recvbuf,
                           TIDE_NCALL_V, recvcounts, displs, recvtype, comm, request);
}
TIDE_MPI_WEAK(MPI_Ineighbor_allgatherv);

/* Offsets of v-style blocks: displs (extents of dt; bdispls: bytes). */
static int tide_ncall_offsets(tide_ncall_t *k, tide_nside_t *s, const int *displs,
                              const MPI_Aint *bdispls, int at, const char *dname)
{
    if (s->n > 0 && !s->counts)
        return tide_mpi_error(k->o.comm, k->o.fn, MPI_ERR_ARG, "argument %s is a NULL pointer",
                              s->cname);
    if (s->n > 0 && !displs && !bdispls)
        return tide_mpi_error(k->o.comm, k->o.fn, MPI_ERR_ARG, "argument %s is a NULL pointer",
                              dname);
    if (s->n > 0 && s->types == NULL && bdispls)
        return tide_mpi_error(k->o.comm, k->o.fn, MPI_ERR_ARG, "argument %s is a NULL pointer",
                              at ? "sendtypes" : "recvtypes");
    MPI_Aint extent = 0;
    if (displs && s->n > 0 && tide_dt_query(s->dt, NULL, NULL, &extent, NULL, NULL))
        extent = 0;
    for (int i = 0; i < s->n; i++)
        k->offs[at + i] = bdispls ? (ptrdiff_t)bdispls[i] : (ptrdiff_t)displs[i] * extent;
    s->offs = k->offs + at;
    return MPI_SUCCESS;
}

/* Alltoall (counts, not TIDE_NCALL_V), alltoallv (int displacements in extents) and
 * alltoallw (byte displacements, a type per block). */
static int tide_nalltoall(const char *fn, const void *sendbuf, int sendcount, const int *sendcounts,
                          const int *sdispls, const MPI_Aint *sbdispls,
                          const MPI_Datatype *sendtypes, MPI_Datatype sendtype, void *recvbuf,
                          int recvcount, const int *recvcounts, const int *rdispls,
                          const MPI_Aint *rbdispls, const MPI_Datatype *recvtypes,
                          MPI_Datatype recvtype, MPI_Comm comm, MPI_Request *req)
{
    tide_ncall_t k;
    int rc = tide_ncall_begin(&k, fn, comm, req), v = sendcount == TIDE_NCALL_V;
    if (rc)
        return rc;
    tide_nside_t snd = {sendbuf,   k.nout,   sendcounts, NULL,
                        sendtypes, sendtype, "sendbuf",  v ? "sendcounts" : "sendcount",
                        "sendtype"};
    tide_nside_t rcv = {recvbuf,   k.nin,    recvcounts, NULL,
                        recvtypes, recvtype, "recvbuf",  v ? "recvcounts" : "recvcount",
                        "recvtype"};
    if (!v) {
        if (sendcount < 0 || recvcount < 0)
            return tide_ncall_end(&k, tide_mpi_error(comm, fn, MPI_ERR_COUNT,
                                                     "argument %s (%d) is negative",
                                                     sendcount < 0 ? "sendcount" : "recvcount",
                                                     sendcount < 0 ? sendcount : recvcount));
        tide_ncall_regular(&k, &rcv, recvcount, 0);
        tide_ncall_regular(&k, &snd, sendcount, k.most);
        return tide_ncall_go(&k, &snd, &rcv);
    }
    rc = tide_ncall_offsets(&k, &rcv, rdispls, rbdispls, 0, "rdispls");
    if (!rc)
        rc = tide_ncall_offsets(&k, &snd, sdispls, sbdispls, k.most, "sdispls");
    return rc ? tide_ncall_end(&k, rc) : tide_ncall_go(&k, &snd, &rcv);
}

int PMPI_Neighbor_alltoall(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf,
                           int recvcount, MPI_Datatype recvtype, MPI_Comm comm)
{
    return tide_nalltoall("MPI_Neighbor_alltoall", sendbuf, sendcount, NULL, NULL, NULL, NULL,
                          sendtype, recvbuf, recvcount, NULL, NULL, NULL, NULL, recvtype, comm,
                          NULL);
}
TIDE_MPI_WEAK(MPI_Neighbor_alltoall);

int PMPI_Ineighbor_alltoall(const void *sendbuf, int sendcount, MPI_Datatype sendtype,
                            void *recvbuf, int recvcount, MPI_Datatype recvtype, MPI_Comm comm,
                            MPI_Request *request)
{
    return tide_nalltoall("MPI_Ineighbor_alltoall", sendbuf, sendcount, NULL, NULL, NULL, NULL,
                          sendtype, recvbuf, recvcount, NULL, NULL, NULL, NULL, recvtype, comm,
                          request);
}
TIDE_MPI_WEAK(MPI_Ineighbor_alltoall);

int PMPI_Neighbor_alltoallv(const void *sendbuf, const int sendcounts[], const int sdispls[],
                            MPI_Datatype sendtype, void *recvbuf, const int recvcounts[],
                            const int rdispls[], MPI_Datatype recvtype, MPI_Comm comm)
{
    return tide_nalltoall("MPI_Neighbor_alltoallv", sendbuf, TIDE_NCALL_V, sendcounts, sdispls,
                          NULL, NULL, sendtype, recvbuf, TIDE_NCALL_V, recvcounts, rdispls, NULL,
                          NULL, recvtype, comm, NULL);
}
TIDE_MPI_WEAK(MPI_Neighbor_alltoallv);

int PMPI_Ineighbor_alltoallv(const void *sendbuf, const int sendcounts[], const int sdispls[],
                             MPI_Datatype sendtype, void *recvbuf, const int recvcounts[],
                             const int rdispls[], MPI_Datatype recvtype, MPI_Comm comm,
                             MPI_Request *request)
{
    return tide_nalltoall("MPI_Ineighbor_alltoallv", sendbuf, TIDE_NCALL_V, sendcounts, sdispls,
                          NULL, NULL, sendtype, recvbuf, TIDE_NCALL_V, recvcounts, rdispls, NULL,
                          NULL, recvtype, comm, request);
}
TIDE_MPI_WEAK(MPI_Ineighbor_alltoallv);

int PMPI_Neighbor_alltoallw(const void *sendbuf, const int sendcounts[], const MPI_Aint sdispls[],
                            const MPI_Datatype sendtypes[], void *recvbuf, const int recvcounts[],
                            const MPI_Aint rdispls[], const MPI_Datatype recvtypes[], MPI_Comm comm)
{
    return tide_nalltoall("MPI_Neighbor_alltoallw", sendbuf, TIDE_NCALL_V, sendcounts, NULL,
                          sdispls, sendtypes, MPI_DATATYPE_NULL, recvbuf, TIDE_NCALL_V, recvcounts,
                          NULL, rdispls, recvtypes, MPI_DATATYPE_NULL, comm, NULL);
}
TIDE_MPI_WEAK(MPI_Neighbor_alltoallw);

int PMPI_Ineighbor_alltoallw(const void *sendbuf, const int sendcounts[], const MPI_Aint sdispls[],
                             const MPI_Datatype sendtypes[], void *recvbuf, const int recvcounts[],
                             const MPI_Aint rdispls[], const MPI_Datatype recvtypes[],
                             MPI_Comm comm, MPI_Request *request)
{
    return tide_nalltoall("MPI_Ineighbor_alltoallw", sendbuf, TIDE_NCALL_V, sendcounts, NULL,
                          sdispls, sendtypes, MPI_DATATYPE_NULL, recvbuf, TIDE_NCALL_V, recvcounts,
                          NULL, rdispls, recvtypes, MPI_DATATYPE_NULL, comm, request);
}
TIDE_MPI_WEAK(MPI_Ineighbor_alltoallw);
