/* The MPI collective operations (MPI 4.1 chapter 6) on intracommunicators,
 * blocking and nonblocking: argument checks (naming the call and the
 * argument), MPI_IN_PLACE, the translation of counts and datatypes to
 * bytes (derived types staged through nbc_buf.c), then either the blocking
 * algorithms of src/coll or a schedule of src/coll/nbc.c started as a
 * request (the MPI_I* forms; nbc_cop.c does that last step).  Both run over point-to-point on the
 * communicator's collective context (ctx + 1).  Intercommunicators:
 * nbc_inter.c. */
#include "config.h"
#include "coll/sched.h"
#include "mpi/dtype.h"
#include "mpi/nbc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
