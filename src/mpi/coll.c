/* The MPI collective operations (MPI 4.1 chapter 6) on intracommunicators:
 * argument checks (naming the call and the argument), MPI_IN_PLACE, the
 * translation of counts and basic datatypes to bytes, then the algorithms
 * of src/coll over point-to-point on the communicator's collective context
 * (ctx + 1).  Only basic datatypes for now: others get MPI_ERR_TYPE. */
#include "config.h"
#include "mpi/op.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Look up an intracommunicator and fill the algorithms' view of it. */
#define TIDE_COLL_GET(fn, comm, c, g)                                                             \
    do {                                                                                          \
        TIDE_MPI_CHECK_INIT(fn);                                                                  \
        TIDE_MPI_GET_COMM(fn, comm, c);                                                           \
        if ((c)->is_inter)                                                                        \
            return tide_mpi_error(comm, fn, MPI_ERR_COMM,                                         \
                                  "collectives on intercommunicators are not supported yet");     \
        (g) = (tide_coll_comm_t){(c)->rank, (c)->size, (c)->procs, (c)->self_proc, (c)->ctx + 1}; \
    } while (0)

/* Bytes of `count` elements of basic type dt, or an error reported. */
static int tide_coll_bytes(const char *fn, MPI_Comm comm, int count, MPI_Datatype dt,
                           const char *cname, const char *tname, size_t *out)
{
    if (count < 0)
        return tide_mpi_error(comm, fn, MPI_ERR_COUNT, "argument %s (%d) is negative", cname,
                              count);
    int sz = tide_dt_size(dt);
    if (sz < 0)
        return tide_mpi_error(comm, fn, MPI_ERR_TYPE,
                              "argument %s (handle 0x%x) is not a valid basic datatype (derived "
                              "datatypes are not supported in collectives yet)",
                              tname, (unsigned)dt);
    *out = (size_t)count * (size_t)sz;
    return MPI_SUCCESS;
}

static int tide_coll_check_buf(const char *fn, MPI_Comm comm, const void *buf, size_t bytes,
                               const char *name)
{
    if (bytes > 0 && (buf == NULL || buf == MPI_IN_PLACE))
        return tide_mpi_error(comm, fn, MPI_ERR_BUFFER, "argument %s is %s but data is to move",
                              name, buf ? "MPI_IN_PLACE" : "NULL");
    return MPI_SUCCESS;
}

static int tide_coll_check_root(const char *fn, MPI_Comm comm, const tide_comm_t *c, int root)
{
    if (root < 0 || root >= c->size)
        return tide_mpi_error(comm, fn, MPI_ERR_ROOT,
                              "argument root (%d) is not a rank of the communicator (size %d)",
                              root, c->size);
    return MPI_SUCCESS;
}

/* Map an algorithm's failure to an MPI error. */
static int tide_coll_fail(const char *fn, MPI_Comm comm, int rc)
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

/* Per-rank int counts/displacements times an element size, as bytes. */
static int tide_coll_vec(const char *fn, MPI_Comm comm, int n, const int *counts, const int *displs,
                         size_t esize, const char *cname, size_t *bytes, size_t *offs)
{
    TIDE_MPI_CHECK_PTR(fn, comm, counts, cname);
    for (int i = 0; i < n; i++) {
        if (counts[i] < 0)
            return tide_mpi_error(comm, fn, MPI_ERR_COUNT, "argument %s[%d] (%d) is negative",
                                  cname, i, counts[i]);
        bytes[i] = (size_t)counts[i] * esize;
        if (offs)
            offs[i] = (size_t)((ptrdiff_t)displs[i] * (ptrdiff_t)esize);
    }
    return MPI_SUCCESS;
}

int PMPI_Bcast(void *buffer, int count, MPI_Datatype datatype, int root, MPI_Comm comm)
{
    static const char fn[] = "MPI_Bcast";
    tide_comm_t *c;
    tide_coll_comm_t g;
    size_t bytes;
    TIDE_COLL_GET(fn, comm, c, g);
    int rc = tide_coll_bytes(fn, comm, count, datatype, "count", "datatype", &bytes);
    if (!rc)
        rc = tide_coll_check_root(fn, comm, c, root);
    if (!rc)
        rc = tide_coll_check_buf(fn, comm, buffer, bytes, "buffer");
    return rc ? rc : tide_coll_fail(fn, comm, tide_coll_bcast(&g, buffer, bytes, root));
}
TIDE_MPI_WEAK(MPI_Bcast);

int PMPI_Gather(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf,
                int recvcount, MPI_Datatype recvtype, int root, MPI_Comm comm)
{
    static const char fn[] = "MPI_Gather";
    tide_comm_t *c;
    tide_coll_comm_t g;
    size_t sb = 0, rb = 0;
    TIDE_COLL_GET(fn, comm, c, g);
    int rc = tide_coll_check_root(fn, comm, c, root);
    int inplace = c->rank == root && sendbuf == MPI_IN_PLACE;
    if (!rc && !inplace)
        rc = tide_coll_bytes(fn, comm, sendcount, sendtype, "sendcount", "sendtype", &sb);
    if (!rc && !inplace)
        rc = tide_coll_check_buf(fn, comm, sendbuf, sb, "sendbuf");
    if (!rc && c->rank == root)
        rc = tide_coll_bytes(fn, comm, recvcount, recvtype, "recvcount", "recvtype", &rb);
    if (!rc && c->rank == root)
        rc = tide_coll_check_buf(fn, comm, recvbuf, rb, "recvbuf");
    if (!rc && c->rank == root && !inplace && sb != rb)
        rc = tide_mpi_error(comm, fn, MPI_ERR_TRUNCATE,
                            "the root's sendcount/sendtype (%zu bytes) and recvcount/recvtype "
                            "(%zu bytes) differ",
                            sb, rb);
    if (rc)
        return rc;
    size_t blk = c->rank == root ? rb : sb;
    return tide_coll_fail(fn, comm,
                          tide_coll_gather(&g, inplace ? NULL : sendbuf, recvbuf, blk, root));
}
TIDE_MPI_WEAK(MPI_Gather);

/* The root's side of Gatherv/Scatterv: check the datatype, counts,
 * displacements and buffer, and turn them into byte sizes and offsets
 * (*out: 2 * size entries, sizes then offsets; the caller frees it).
 * own_what names the root's own contribution ("send"/"receive"), whose
 * own_bytes must equal counts[root]; NULL with MPI_IN_PLACE. */
static int tide_coll_root_vector(const char *fn, MPI_Comm comm, tide_comm_t *c, int root,
                                 const int counts[], const int displs[], MPI_Datatype dt,
                                 const void *buf, const char *counts_name, const char *dt_name,
                                 const char *buf_name, const char *own_what, size_t own_bytes,
                                 size_t **out)
{
    size_t esz = 0, *v = NULL;
    int rc = tide_coll_bytes(fn, comm, 0, dt, counts_name, dt_name, &esz);
    esz = (size_t)tide_dt_size(dt);
    if (!rc && !displs)
        rc = tide_mpi_error(comm, fn, MPI_ERR_ARG, "argument displs is a NULL pointer");
    if (!rc && !(v = malloc(2 * (size_t)c->size * sizeof(*v))))
        rc = tide_coll_fail(fn, comm, -ENOMEM);
    if (!rc)
        rc = tide_coll_vec(fn, comm, c->size, counts, displs, esz, counts_name, v, v + c->size);
    for (int i = 0; !rc && i < c->size; i++)
        rc = tide_coll_check_buf(fn, comm, buf, v[i], buf_name);
    if (!rc && own_what && own_bytes != v[root])
        rc = tide_mpi_error(comm, fn, MPI_ERR_TRUNCATE,
                            "the root's %s (%zu bytes) and %s[root] (%zu bytes) differ", own_what,
                            own_bytes, counts_name, v[root]);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    return MPI_SUCCESS;
}

int PMPI_Gatherv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf,
                 const int recvcounts[], const int displs[], MPI_Datatype recvtype, int root,
                 MPI_Comm comm)
{
    static const char fn[] = "MPI_Gatherv";
    tide_comm_t *c;
    tide_coll_comm_t g;
    size_t sb = 0, *v = NULL;
    TIDE_COLL_GET(fn, comm, c, g);
    int rc = tide_coll_check_root(fn, comm, c, root);
    int isroot = c->rank == root, inplace = isroot && sendbuf == MPI_IN_PLACE;
    if (!rc && !inplace)
        rc = tide_coll_bytes(fn, comm, sendcount, sendtype, "sendcount", "sendtype", &sb);
    if (!rc && !inplace)
        rc = tide_coll_check_buf(fn, comm, sendbuf, sb, "sendbuf");
    if (!rc && isroot)
        rc = tide_coll_root_vector(fn, comm, c, root, recvcounts, displs, recvtype, recvbuf,
                                   "recvcounts", "recvtype", "recvbuf", inplace ? NULL : "send", sb,
                                   &v);
    if (!rc)
        rc = tide_coll_fail(fn, comm,
                            tide_coll_gatherv(&g, inplace ? NULL : sendbuf, sb, recvbuf, v,
                                              v ? v + c->size : NULL, root));
    free(v);
    return rc;
}
TIDE_MPI_WEAK(MPI_Gatherv);

int PMPI_Scatter(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf,
                 int recvcount, MPI_Datatype recvtype, int root, MPI_Comm comm)
{
    static const char fn[] = "MPI_Scatter";
    tide_comm_t *c;
    tide_coll_comm_t g;
    size_t sb = 0, rb = 0;
    TIDE_COLL_GET(fn, comm, c, g);
    int rc = tide_coll_check_root(fn, comm, c, root);
    int isroot = c->rank == root, inplace = isroot && recvbuf == MPI_IN_PLACE;
    if (!rc && !inplace)
        rc = tide_coll_bytes(fn, comm, recvcount, recvtype, "recvcount", "recvtype", &rb);
    if (!rc && !inplace)
        rc = tide_coll_check_buf(fn, comm, recvbuf, rb, "recvbuf");
    if (!rc && isroot)
        rc = tide_coll_bytes(fn, comm, sendcount, sendtype, "sendcount", "sendtype", &sb);
    if (!rc && isroot)
        rc = tide_coll_check_buf(fn, comm, sendbuf, sb, "sendbuf");
    if (!rc && isroot && !inplace && sb != rb)
        rc = tide_mpi_error(comm, fn, MPI_ERR_TRUNCATE,
                            "the root's sendcount/sendtype (%zu bytes) and recvcount/recvtype "
                            "(%zu bytes) differ",
                            sb, rb);
    if (rc)
        return rc;
    return tide_coll_fail(
        fn, comm, tide_coll_scatter(&g, sendbuf, inplace ? NULL : recvbuf, isroot ? sb : rb, root));
}
TIDE_MPI_WEAK(MPI_Scatter);

int PMPI_Scatterv(const void *sendbuf, const int sendcounts[], const int displs[],
                  MPI_Datatype sendtype, void *recvbuf, int recvcount, MPI_Datatype recvtype,
                  int root, MPI_Comm comm)
{
    static const char fn[] = "MPI_Scatterv";
    tide_comm_t *c;
    tide_coll_comm_t g;
    size_t rb = 0, *v = NULL;
    TIDE_COLL_GET(fn, comm, c, g);
    int rc = tide_coll_check_root(fn, comm, c, root);
    int isroot = c->rank == root, inplace = isroot && recvbuf == MPI_IN_PLACE;
    if (!rc && !inplace)
        rc = tide_coll_bytes(fn, comm, recvcount, recvtype, "recvcount", "recvtype", &rb);
    if (!rc && !inplace)
        rc = tide_coll_check_buf(fn, comm, recvbuf, rb, "recvbuf");
    if (!rc && isroot)
        rc = tide_coll_root_vector(fn, comm, c, root, sendcounts, displs, sendtype, sendbuf,
                                   "sendcounts", "sendtype", "sendbuf", inplace ? NULL : "receive",
                                   rb, &v);
    if (!rc)
        rc = tide_coll_fail(fn, comm,
                            tide_coll_scatterv(&g, sendbuf, v, v ? v + c->size : NULL,
                                               inplace ? NULL : recvbuf, rb, root));
    free(v);
    return rc;
}
TIDE_MPI_WEAK(MPI_Scatterv);

int PMPI_Allgather(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf,
                   int recvcount, MPI_Datatype recvtype, MPI_Comm comm)
{
    static const char fn[] = "MPI_Allgather";
    tide_comm_t *c;
    tide_coll_comm_t g;
    size_t sb = 0, rb = 0;
    TIDE_COLL_GET(fn, comm, c, g);
    int inplace = sendbuf == MPI_IN_PLACE;
    int rc = tide_coll_bytes(fn, comm, recvcount, recvtype, "recvcount", "recvtype", &rb);
    if (!rc)
        rc = tide_coll_check_buf(fn, comm, recvbuf, rb, "recvbuf");
    if (!rc && !inplace)
        rc = tide_coll_bytes(fn, comm, sendcount, sendtype, "sendcount", "sendtype", &sb);
    if (!rc && !inplace)
        rc = tide_coll_check_buf(fn, comm, sendbuf, sb, "sendbuf");
    if (!rc && !inplace && sb != rb)
        rc = tide_mpi_error(comm, fn, MPI_ERR_TRUNCATE,
                            "sendcount/sendtype (%zu bytes) and recvcount/recvtype (%zu bytes) "
                            "differ",
                            sb, rb);
    if (rc)
        return rc;
    if (!inplace && rb)
        memcpy((char *)recvbuf + rb * (size_t)c->rank, sendbuf, rb);
    return tide_coll_fail(fn, comm, tide_coll_allgather(&g, recvbuf, rb));
}
TIDE_MPI_WEAK(MPI_Allgather);

int PMPI_Allgatherv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf,
                    const int recvcounts[], const int displs[], MPI_Datatype recvtype,
                    MPI_Comm comm)
{
    static const char fn[] = "MPI_Allgatherv";
    tide_comm_t *c;
    tide_coll_comm_t g;
    size_t sb = 0, rsz = 0, *v = NULL;
    TIDE_COLL_GET(fn, comm, c, g);
    int inplace = sendbuf == MPI_IN_PLACE;
    int rc = tide_coll_bytes(fn, comm, 0, recvtype, "recvcounts", "recvtype", &rsz);
    rsz = (size_t)tide_dt_size(recvtype);
    if (!rc && !inplace)
        rc = tide_coll_bytes(fn, comm, sendcount, sendtype, "sendcount", "sendtype", &sb);
    if (!rc && !inplace)
        rc = tide_coll_check_buf(fn, comm, sendbuf, sb, "sendbuf");
    if (!rc && !displs)
        rc = tide_mpi_error(comm, fn, MPI_ERR_ARG, "argument displs is a NULL pointer");
    if (!rc && !(v = malloc(2 * (size_t)c->size * sizeof(*v))))
        rc = tide_coll_fail(fn, comm, -ENOMEM);
    if (!rc)
        rc =
            tide_coll_vec(fn, comm, c->size, recvcounts, displs, rsz, "recvcounts", v, v + c->size);
    for (int i = 0; !rc && i < c->size; i++)
        rc = tide_coll_check_buf(fn, comm, recvbuf, v[i], "recvbuf");
    if (!rc && !inplace && sb != v[c->rank])
        rc = tide_mpi_error(comm, fn, MPI_ERR_TRUNCATE,
                            "sendcount/sendtype (%zu bytes) and recvcounts[rank] (%zu bytes) "
                            "differ",
                            sb, v[c->rank]);
    if (!rc && !inplace && sb)
        memcpy((char *)recvbuf + v[c->size + c->rank], sendbuf, sb);
    if (!rc)
        rc = tide_coll_fail(fn, comm, tide_coll_allgatherv(&g, recvbuf, v, v + c->size));
    free(v);
    return rc;
}
TIDE_MPI_WEAK(MPI_Allgatherv);

int PMPI_Alltoall(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf,
                  int recvcount, MPI_Datatype recvtype, MPI_Comm comm)
{
    static const char fn[] = "MPI_Alltoall";
    tide_comm_t *c;
    tide_coll_comm_t g;
    size_t sb = 0, rb = 0;
    TIDE_COLL_GET(fn, comm, c, g);
    int inplace = sendbuf == MPI_IN_PLACE;
    int rc = tide_coll_bytes(fn, comm, recvcount, recvtype, "recvcount", "recvtype", &rb);
    if (!rc)
        rc = tide_coll_check_buf(fn, comm, recvbuf, rb, "recvbuf");
    if (!rc && !inplace)
        rc = tide_coll_bytes(fn, comm, sendcount, sendtype, "sendcount", "sendtype", &sb);
    if (!rc && !inplace)
        rc = tide_coll_check_buf(fn, comm, sendbuf, sb, "sendbuf");
    if (!rc && !inplace && sb != rb)
        rc = tide_mpi_error(comm, fn, MPI_ERR_TRUNCATE,
                            "sendcount/sendtype (%zu bytes) and recvcount/recvtype (%zu bytes) "
                            "differ",
                            sb, rb);
    if (rc)
        return rc;
    return tide_coll_fail(fn, comm, tide_coll_alltoall(&g, inplace ? NULL : sendbuf, recvbuf, rb));
}
TIDE_MPI_WEAK(MPI_Alltoall);

/* Alltoallv and Alltoallw share this: byte counts and offsets per peer. */
static int tide_coll_alltoall_bytes(const char *fn, MPI_Comm comm, tide_comm_t *c,
                                    tide_coll_comm_t *g, const void *sendbuf, size_t *v,
                                    void *recvbuf)
{
    int p = c->size, inplace = sendbuf == MPI_IN_PLACE;
    for (int i = 0; i < p; i++) {
        int rc = tide_coll_check_buf(fn, comm, recvbuf, v[2 * p + i], "recvbuf");
        if (!rc && !inplace)
            rc = tide_coll_check_buf(fn, comm, sendbuf, v[i], "sendbuf");
        if (rc)
            return rc;
    }
    if (!inplace && v[c->rank] != v[2 * p + c->rank])
        return tide_mpi_error(comm, fn, MPI_ERR_TRUNCATE,
                              "what we send to ourselves (%zu bytes) and receive from ourselves "
                              "(%zu bytes) differ",
                              v[c->rank], v[2 * p + c->rank]);
    return tide_coll_fail(
        fn, comm,
        tide_coll_alltoallv(g, inplace ? NULL : sendbuf, v, v + p, recvbuf, v + 2 * p, v + 3 * p));
}

int PMPI_Alltoallv(const void *sendbuf, const int sendcounts[], const int sdispls[],
                   MPI_Datatype sendtype, void *recvbuf, const int recvcounts[],
                   const int rdispls[], MPI_Datatype recvtype, MPI_Comm comm)
{
    static const char fn[] = "MPI_Alltoallv";
    tide_comm_t *c;
    tide_coll_comm_t g;
    size_t ssz = 0, rsz = 0, *v;
    TIDE_COLL_GET(fn, comm, c, g);
    int p = c->size, inplace = sendbuf == MPI_IN_PLACE;
    int rc = tide_coll_bytes(fn, comm, 0, recvtype, "recvcounts", "recvtype", &rsz);
    if (!rc && !inplace)
        rc = tide_coll_bytes(fn, comm, 0, sendtype, "sendcounts", "sendtype", &ssz);
    if (rc)
        return rc;
    TIDE_MPI_CHECK_PTR(fn, comm, rdispls, "rdispls");
    if (!inplace)
        TIDE_MPI_CHECK_PTR(fn, comm, sdispls, "sdispls");
    if (!(v = malloc(4 * (size_t)p * sizeof(*v))))
        return tide_coll_fail(fn, comm, -ENOMEM);
    rc = tide_coll_vec(fn, comm, p, recvcounts, rdispls, (size_t)tide_dt_size(recvtype),
                       "recvcounts", v + 2 * p, v + 3 * p);
    if (!rc && !inplace)
        rc = tide_coll_vec(fn, comm, p, sendcounts, sdispls, (size_t)tide_dt_size(sendtype),
                           "sendcounts", v, v + p);
    if (!rc)
        rc = tide_coll_alltoall_bytes(fn, comm, c, &g, sendbuf, v, recvbuf);
    free(v);
    return rc;
}
TIDE_MPI_WEAK(MPI_Alltoallv);

/* Alltoallw: types per peer, displacements in bytes. */
static int tide_coll_wvec(const char *fn, MPI_Comm comm, int p, const int *counts,
                          const int *displs, const MPI_Datatype *types, const char *cname,
                          const char *tname, size_t *bytes, size_t *offs)
{
    TIDE_MPI_CHECK_PTR(fn, comm, counts, cname);
    TIDE_MPI_CHECK_PTR(fn, comm, displs, "displs");
    TIDE_MPI_CHECK_PTR(fn, comm, types, tname);
    for (int i = 0; i < p; i++) {
        int rc = tide_coll_bytes(fn, comm, counts[i], types[i], cname, tname, &bytes[i]);
        if (rc)
            return rc;
        offs[i] = (size_t)(ptrdiff_t)displs[i];
    }
    return MPI_SUCCESS;
}

int PMPI_Alltoallw(const void *sendbuf, const int sendcounts[], const int sdispls[],
                   const MPI_Datatype sendtypes[], void *recvbuf, const int recvcounts[],
                   const int rdispls[], const MPI_Datatype recvtypes[], MPI_Comm comm)
{
    static const char fn[] = "MPI_Alltoallw";
    tide_comm_t *c;
    tide_coll_comm_t g;
    size_t *v;
    TIDE_COLL_GET(fn, comm, c, g);
    int p = c->size, inplace = sendbuf == MPI_IN_PLACE;
    if (!(v = malloc(4 * (size_t)p * sizeof(*v))))
        return tide_coll_fail(fn, comm, -ENOMEM);
    int rc = tide_coll_wvec(fn, comm, p, recvcounts, rdispls, recvtypes, "recvcounts", "recvtypes",
                            v + 2 * p, v + 3 * p);
    if (!rc && !inplace)
        rc = tide_coll_wvec(fn, comm, p, sendcounts, sdispls, sendtypes, "sendcounts", "sendtypes",
                            v, v + p);
    if (!rc)
        rc = tide_coll_alltoall_bytes(fn, comm, c, &g, sendbuf, v, recvbuf);
    free(v);
    return rc;
}
TIDE_MPI_WEAK(MPI_Alltoallw);

/* Checks shared by the reductions: count, op on datatype, buffers. */
static int tide_coll_red_args(const char *fn, MPI_Comm comm, const void *sendbuf, void *recvbuf,
                              int count, MPI_Datatype dt, MPI_Op op, int need_recv,
                              tide_coll_red_t *r)
{
    if (count < 0)
        return tide_mpi_error(comm, fn, MPI_ERR_COUNT, "argument count (%d) is negative", count);
    int rc = tide_op_red(fn, comm, op, dt, r);
    if (rc)
        return rc;
    size_t bytes = (size_t)count * r->esize;
    if (sendbuf != MPI_IN_PLACE)
        rc = tide_coll_check_buf(fn, comm, sendbuf, bytes, "sendbuf");
    if (!rc && need_recv)
        rc = tide_coll_check_buf(fn, comm, recvbuf, bytes, "recvbuf");
    return rc;
}

int PMPI_Reduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype, MPI_Op op,
                int root, MPI_Comm comm)
{
    static const char fn[] = "MPI_Reduce";
    tide_comm_t *c;
    tide_coll_comm_t g;
    tide_coll_red_t r;
    TIDE_COLL_GET(fn, comm, c, g);
    int rc = tide_coll_check_root(fn, comm, c, root);
    int isroot = c->rank == root;
    if (!rc && !isroot && sendbuf == MPI_IN_PLACE)
        rc = tide_mpi_error(comm, fn, MPI_ERR_BUFFER,
                            "argument sendbuf is MPI_IN_PLACE on a rank other than the root");
    if (!rc)
        rc = tide_coll_red_args(fn, comm, sendbuf, recvbuf, count, datatype, op, isroot, &r);
    if (rc)
        return rc;
    const void *sb = sendbuf == MPI_IN_PLACE ? recvbuf : sendbuf;
    return tide_coll_fail(fn, comm, tide_coll_reduce(&g, sb, recvbuf, (size_t)count, &r, root));
}
TIDE_MPI_WEAK(MPI_Reduce);

int PMPI_Allreduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype, MPI_Op op,
                   MPI_Comm comm)
{
    static const char fn[] = "MPI_Allreduce";
    tide_comm_t *c;
    tide_coll_comm_t g;
    tide_coll_red_t r;
    TIDE_COLL_GET(fn, comm, c, g);
    int rc = tide_coll_red_args(fn, comm, sendbuf, recvbuf, count, datatype, op, 1, &r);
    if (rc)
        return rc;
    const void *sb = sendbuf == MPI_IN_PLACE ? recvbuf : sendbuf;
    return tide_coll_fail(fn, comm, tide_coll_allreduce(&g, sb, recvbuf, (size_t)count, &r));
}
TIDE_MPI_WEAK(MPI_Allreduce);

static int tide_coll_scan_common(const char *fn, const void *sendbuf, void *recvbuf, int count,
                                 MPI_Datatype datatype, MPI_Op op, MPI_Comm comm, int exclusive)
{
    tide_comm_t *c;
    tide_coll_comm_t g;
    tide_coll_red_t r;
    TIDE_COLL_GET(fn, comm, c, g);
    int rc = tide_coll_red_args(fn, comm, sendbuf, recvbuf, count, datatype, op, 1, &r);
    if (rc)
        return rc;
    const void *sb = sendbuf == MPI_IN_PLACE ? recvbuf : sendbuf;
    return tide_coll_fail(fn, comm, tide_coll_scan(&g, sb, recvbuf, (size_t)count, &r, exclusive));
}

int PMPI_Scan(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype, MPI_Op op,
              MPI_Comm comm)
{
    return tide_coll_scan_common("MPI_Scan", sendbuf, recvbuf, count, datatype, op, comm, 0);
}
TIDE_MPI_WEAK(MPI_Scan);

int PMPI_Exscan(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype, MPI_Op op,
                MPI_Comm comm)
{
    return tide_coll_scan_common("MPI_Exscan", sendbuf, recvbuf, count, datatype, op, comm, 1);
}
TIDE_MPI_WEAK(MPI_Exscan);

/* Reduce_scatter and Reduce_scatter_block: counts per rank in elements. */
static int tide_coll_rscatter(const char *fn, const void *sendbuf, void *recvbuf,
                              const size_t *counts, MPI_Datatype datatype, MPI_Op op, MPI_Comm comm,
                              tide_comm_t *c, tide_coll_comm_t *g)
{
    tide_coll_red_t r;
    size_t total = 0;
    for (int i = 0; i < c->size; i++)
        total += counts[i];
    int rc = tide_op_red(fn, comm, op, datatype, &r);
    int inplace = sendbuf == MPI_IN_PLACE;
    if (!rc)
        rc = tide_coll_check_buf(fn, comm, recvbuf, (inplace ? total : counts[c->rank]) * r.esize,
                                 "recvbuf");
    if (!rc && !inplace)
        rc = tide_coll_check_buf(fn, comm, sendbuf, total * r.esize, "sendbuf");
    if (rc || total == 0)
        return rc;
    return tide_coll_fail(
        fn, comm, tide_coll_reduce_scatter(g, inplace ? NULL : sendbuf, recvbuf, counts, &r));
}

int PMPI_Reduce_scatter(const void *sendbuf, void *recvbuf, const int recvcounts[],
                        MPI_Datatype datatype, MPI_Op op, MPI_Comm comm)
{
    static const char fn[] = "MPI_Reduce_scatter";
    tide_comm_t *c;
    tide_coll_comm_t g;
    TIDE_COLL_GET(fn, comm, c, g);
    size_t *counts = malloc((size_t)c->size * sizeof(*counts));
    if (!counts)
        return tide_coll_fail(fn, comm, -ENOMEM);
    int rc = tide_coll_vec(fn, comm, c->size, recvcounts, NULL, 1, "recvcounts", counts, NULL);
    if (!rc)
        rc = tide_coll_rscatter(fn, sendbuf, recvbuf, counts, datatype, op, comm, c, &g);
    free(counts);
    return rc;
}
TIDE_MPI_WEAK(MPI_Reduce_scatter);

int PMPI_Reduce_scatter_block(const void *sendbuf, void *recvbuf, int recvcount,
                              MPI_Datatype datatype, MPI_Op op, MPI_Comm comm)
{
    static const char fn[] = "MPI_Reduce_scatter_block";
    tide_comm_t *c;
    tide_coll_comm_t g;
    TIDE_COLL_GET(fn, comm, c, g);
    if (recvcount < 0)
        return tide_mpi_error(comm, fn, MPI_ERR_COUNT, "argument recvcount (%d) is negative",
                              recvcount);
    size_t *counts = malloc((size_t)c->size * sizeof(*counts));
    if (!counts)
        return tide_coll_fail(fn, comm, -ENOMEM);
    for (int i = 0; i < c->size; i++)
        counts[i] = (size_t)recvcount;
    int rc = tide_coll_rscatter(fn, sendbuf, recvbuf, counts, datatype, op, comm, c, &g);
    free(counts);
    return rc;
}
TIDE_MPI_WEAK(MPI_Reduce_scatter_block);
