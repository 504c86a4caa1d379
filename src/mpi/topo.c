/* Process topologies (MPI 3.1 chapter 7), the common part and Cartesian
 * topologies: the topology object a communicator carries (topo.h), the
 * communicator a topology constructor returns, MPI_Topo_test and the
 * MPI_Cart_* calls (MPI_Dims_create: topo_dims.c).  A topology constructor makes
 * its communicator with MPI_Comm_split of the old one (same ranks: Tide
 * ignores `reorder`, which MPI allows) and attaches the topology.  Graph
 * and distributed-graph topologies are in topo_graph.c, neighbourhood
 * collectives in topo_coll.c (doc/topo.md). */
#include "config.h"
#include "mpi/topo.h"

#include <stdlib.h>
#include <string.h>

tide_topo_t *tide_topo_new(int kind, size_t n)
{
    tide_topo_t *t = calloc(1, sizeof(*t) + n * sizeof(int));
    if (t) {
        t->refs = 1;
        t->kind = kind;
    }
    return t;
}

struct tide_topo *tide_topo_ref(struct tide_topo *t)
{
    if (t)
        __atomic_add_fetch(&t->refs, 1, __ATOMIC_RELAXED);
    return t;
}

void tide_topo_unref(struct tide_topo *t)
{
    if (t && __atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(t);
}

tide_topo_t *tide_topo_of(MPI_Comm comm)
{
    tide_comm_t *c = tide_comm_get(comm);
    return c ? c->topo : NULL;
}

void tide_topo_attach(MPI_Comm comm, tide_topo_t *t)
{
    tide_comm_t *c = tide_comm_get(comm);
    tide_topo_unref(c->topo);
    c->topo = t;
}

int tide_topo_check_intra(const char *fn, const tide_comm_t *c)
{
    if (c->is_inter)
        return tide_mpi_error(c->handle, fn, MPI_ERR_COMM,
                              "argument comm (%s) is an intercommunicator; topologies are "
                              "defined on intracommunicators only",
                              c->name);
    return MPI_SUCCESS;
}

int tide_topo_comm(const char *fn, tide_comm_t *c, int n, MPI_Comm *out)
{
    (void)fn; /* MPI_Comm_split reports its own failure */
    return PMPI_Comm_split(c->handle, c->rank < n ? 0 : MPI_UNDEFINED, c->rank, out);
}

/* The rank of Cartesian coordinates (row-major), periodic ones wrapped;
 * -1 if a non-periodic coordinate is out of range. */
static int tide_cart_rank_of(const tide_topo_t *t, const int *coords)
{
    int r = 0;
    for (int i = 0; i < t->ndims; i++) {
        int x = coords[i], d = t->dims[i];
        if (t->periods[i])
            x = ((x % d) + d) % d;
        else if (x < 0 || x >= d)
            return -1;
        r = r * d + x;
    }
    return r;
}

static void tide_cart_coords_of(const tide_topo_t *t, int rank, int *coords)
{
    for (int i = t->ndims - 1; i >= 0; i--) {
        coords[i] = rank % t->dims[i];
        rank /= t->dims[i];
    }
}

/* The rank `disp` steps along dimension dir from us, or MPI_PROC_NULL. */
static int tide_cart_step(const tide_topo_t *t, int dir, int disp)
{
    int c[t->ndims ? t->ndims : 1];
    memcpy(c, t->coords, (size_t)t->ndims * sizeof(int));
    c[dir] += disp;
    int r = tide_cart_rank_of(t, c);
    return r < 0 ? MPI_PROC_NULL : r;
}

void tide_topo_neighbors(const tide_topo_t *t, const tide_comm_t *c, int *scratch, const int **in,
                         int *nin, const int **out, int *nout)
{
    switch (t->kind) {
    case MPI_CART:
        for (int d = 0; d < t->ndims; d++) {
            scratch[2 * d] = tide_cart_step(t, d, -1);
            scratch[2 * d + 1] = tide_cart_step(t, d, 1);
        }
        *in = *out = scratch;
        *nin = *nout = 2 * t->ndims;
        break;
    case MPI_GRAPH: {
        int lo = c->rank ? t->index[c->rank - 1] : 0;
        *in = *out = t->edges + lo;
        *nin = *nout = t->index[c->rank] - lo;
        break;
    }
    default:
        *in = t->src;
        *nin = t->indeg;
        *out = t->dst;
        *nout = t->outdeg;
    }
}

/* ---- MPI_Topo_test ---- */

int PMPI_Topo_test(MPI_Comm comm, int *status)
{
    static const char fn[] = "MPI_Topo_test";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    TIDE_MPI_CHECK_PTR(fn, comm, status, "status");
    *status = c->topo ? c->topo->kind : MPI_UNDEFINED;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Topo_test);

/* MPI_Dims_create: topo_dims.c. */

/* ---- Cartesian topologies ---- */

static tide_topo_t *tide_cart_new(int ndims, const int *dims, const int *periods, int rank)
{
    tide_topo_t *t = tide_topo_new(MPI_CART, 3 * (size_t)ndims);
    if (!t)
        return NULL;
    t->ndims = ndims;
    t->dims = t->mem;
    t->periods = t->mem + ndims;
    t->coords = t->mem + 2 * ndims;
    for (int i = 0; i < ndims; i++) {
        t->dims[i] = dims[i];
        t->periods[i] = periods[i] != 0;
    }
    tide_cart_coords_of(t, rank, t->coords);
    return t;
}

/* Check (ndims, dims, periods) of Cart_create/Cart_map; the number of
 * processes in *n. */
static int tide_cart_check(const char *fn, MPI_Comm comm, int ndims, const int *dims,
                           const int *periods, int size, int *n)
{
    if (ndims < 0)
        return tide_mpi_error(comm, fn, MPI_ERR_DIMS, "argument ndims (%d) is negative", ndims);
    if (ndims > 0) {
        TIDE_MPI_CHECK_PTR(fn, comm, dims, "dims");
        TIDE_MPI_CHECK_PTR(fn, comm, periods, "periods");
    }
    long long p = 1;
    for (int i = 0; i < ndims; i++) {
        if (dims[i] <= 0)
            return tide_mpi_error(comm, fn, MPI_ERR_DIMS, "argument dims[%d] (%d) must be positive",
                                  i, dims[i]);
        if ((p *= dims[i]) > size)
            return tide_mpi_error(comm, fn, MPI_ERR_TOPOLOGY,
                                  "the grid (%lld processes and more) is larger than the "
                                  "communicator (%d processes)",
                                  p, size);
    }
    *n = (int)p;
    return MPI_SUCCESS;
}

int PMPI_Cart_create(MPI_Comm comm_old, int ndims, const int dims[], const int periods[],
                     int reorder, MPI_Comm *comm_cart)
{
    static const char fn[] = "MPI_Cart_create";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm_old, c);
    TIDE_MPI_CHECK_PTR(fn, comm_old, comm_cart, "comm_cart");
    *comm_cart = MPI_COMM_NULL; /* also when the call fails (MPICH does so) */
    (void)reorder;              /* ranks are kept (MPI allows it) */
    int n, rc = tide_topo_check_intra(fn, c);
    if (!rc)
        rc = tide_cart_check(fn, comm_old, ndims, dims, periods, c->size, &n);
    if (rc)
        return rc;
    if ((rc = tide_topo_comm(fn, c, n, comm_cart)) || *comm_cart == MPI_COMM_NULL)
        return rc;
    tide_topo_t *t = tide_cart_new(ndims, dims, periods, c->rank);
    if (!t) {
        PMPI_Comm_free(comm_cart);
        return tide_mpi_error(comm_old, fn, MPI_ERR_NO_MEM, "out of memory for the topology");
    }
    tide_topo_attach(*comm_cart, t);
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Cart_create);

int PMPI_Cart_map(MPI_Comm comm, int ndims, const int dims[], const int periods[], int *newrank)
{
    static const char fn[] = "MPI_Cart_map";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    int n, rc = tide_topo_check_intra(fn, c);
    if (!rc)
        rc = tide_cart_check(fn, comm, ndims, dims, periods, c->size, &n);
    if (rc)
        return rc;
    TIDE_MPI_CHECK_PTR(fn, comm, newrank, "newrank");
    *newrank = c->rank < n ? c->rank : MPI_UNDEFINED;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Cart_map);

/* The Cartesian topology of comm, or an error reported for fn. */
#define TIDE_GET_CART(fn, comm, c, t)                                                             \
    do {                                                                                          \
        TIDE_MPI_GET_COMM(fn, comm, c);                                                           \
        (t) = (c)->topo;                                                                          \
        if (!(t) || (t)->kind != MPI_CART)                                                        \
            return tide_mpi_error(comm, fn, MPI_ERR_TOPOLOGY,                                     \
                                  "argument comm (%s) has no Cartesian topology (%s)", (c)->name, \
                                  (t) ? "it has a graph topology" : "it has no topology");        \
    } while (0)

int PMPI_Cartdim_get(MPI_Comm comm, int *ndims)
{
    static const char fn[] = "MPI_Cartdim_get";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    tide_topo_t *t;
    TIDE_GET_CART(fn, comm, c, t);
    TIDE_MPI_CHECK_PTR(fn, comm, ndims, "ndims");
    *ndims = t->ndims;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Cartdim_get);

int PMPI_Cart_get(MPI_Comm comm, int maxdims, int dims[], int periods[], int coords[])
{
    static const char fn[] = "MPI_Cart_get";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    tide_topo_t *t;
    TIDE_GET_CART(fn, comm, c, t);
    if (maxdims < 0)
        return tide_mpi_error(comm, fn, MPI_ERR_ARG, "argument maxdims (%d) is negative", maxdims);
    int n = maxdims < t->ndims ? maxdims : t->ndims;
    if (n > 0) {
        TIDE_MPI_CHECK_PTR(fn, comm, dims, "dims");
        TIDE_MPI_CHECK_PTR(fn, comm, periods, "periods");
        TIDE_MPI_CHECK_PTR(fn, comm, coords, "coords");
    }
    for (int i = 0; i < n; i++) {
        dims[i] = t->dims[i];
        periods[i] = t->periods[i];
        coords[i] = t->coords[i];
    }
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Cart_get);

int PMPI_Cart_rank(MPI_Comm comm, const int coords[], int *rank)
{
    static const char fn[] = "MPI_Cart_rank";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    tide_topo_t *t;
    TIDE_GET_CART(fn, comm, c, t);
    if (t->ndims > 0)
        TIDE_MPI_CHECK_PTR(fn, comm, coords, "coords");
    TIDE_MPI_CHECK_PTR(fn, comm, rank, "rank");
    for (int i = 0; i < t->ndims; i++)
        if (!t->periods[i] && (coords[i] < 0 || coords[i] >= t->dims[i]))
            return tide_mpi_error(comm, fn, MPI_ERR_ARG,
                                  "argument coords[%d] (%d) is outside the non-periodic dimension "
                                  "%d (0..%d)",
                                  i, coords[i], i, t->dims[i] - 1);
    *rank = tide_cart_rank_of(t, coords);
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Cart_rank);

int PMPI_Cart_coords(MPI_Comm comm, int rank, int maxdims, int coords[])
{
    static const char fn[] = "MPI_Cart_coords";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    tide_topo_t *t;
    TIDE_GET_CART(fn, comm, c, t);
    if (rank < 0 || rank >= c->size)
        return tide_mpi_error(comm, fn, MPI_ERR_RANK,
                              "argument rank (%d) is not a rank of the communicator (size %d)",
                              rank, c->size);
    if (maxdims < t->ndims)
        return tide_mpi_error(comm, fn, MPI_ERR_ARG,
                              "argument maxdims (%d) is less than the %d dimensions", maxdims,
                              t->ndims);
    if (t->ndims > 0)
        TIDE_MPI_CHECK_PTR(fn, comm, coords, "coords");
    tide_cart_coords_of(t, rank, coords);
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Cart_coords);

int PMPI_Cart_shift(MPI_Comm comm, int direction, int disp, int *rank_source, int *rank_dest)
{
    static const char fn[] = "MPI_Cart_shift";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    tide_topo_t *t;
    TIDE_GET_CART(fn, comm, c, t);
    if (direction < 0 || direction >= t->ndims)
        return tide_mpi_error(comm, fn, MPI_ERR_DIMS,
                              "argument direction (%d) is not a dimension of the grid (0..%d)",
                              direction, t->ndims - 1);
    TIDE_MPI_CHECK_PTR(fn, comm, rank_source, "rank_source");
    TIDE_MPI_CHECK_PTR(fn, comm, rank_dest, "rank_dest");
    *rank_source = tide_cart_step(t, direction, -disp);
    *rank_dest = tide_cart_step(t, direction, disp);
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Cart_shift);

/* Cart_sub: processes that agree on the dropped coordinates share a new
 * communicator, ranked by the kept coordinates (row-major).  With no
 * dimension kept only rank 0 gets a (zero-dimensional) communicator, as
 * from MPI_Cart_create with ndims 0; MPICH behaves so and its test suite
 * (topo/cartsuball) expects it. */
int PMPI_Cart_sub(MPI_Comm comm, const int remain_dims[], MPI_Comm *newcomm)
{
    static const char fn[] = "MPI_Cart_sub";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    tide_topo_t *t;
    TIDE_GET_CART(fn, comm, c, t);
    if (t->ndims > 0)
        TIDE_MPI_CHECK_PTR(fn, comm, remain_dims, "remain_dims");
    TIDE_MPI_CHECK_PTR(fn, comm, newcomm, "newcomm");
    int color = 0, key = 0, nd = 0, dims[t->ndims + 1], periods[t->ndims + 1];
    for (int i = 0; i < t->ndims; i++) {
        if (remain_dims[i]) {
            key = key * t->dims[i] + t->coords[i];
            dims[nd] = t->dims[i];
            periods[nd++] = t->periods[i];
        } else
            color = color * t->dims[i] + t->coords[i];
    }
    int rc;
    if (nd == 0) /* zero dimensions left: as MPI_Cart_create with ndims 0 (MPICH does so) */
        rc = tide_topo_comm(fn, c, 1, newcomm);
    else /* reports its own failure */
        rc = PMPI_Comm_split(comm, color, key, newcomm);
    if (rc || *newcomm == MPI_COMM_NULL)
        return rc;
    tide_topo_t *n = tide_cart_new(nd, dims, periods, key);
    if (!n) {
        PMPI_Comm_free(newcomm);
        return tide_mpi_error(comm, fn, MPI_ERR_NO_MEM, "out of memory for the topology");
    }
    tide_topo_attach(*newcomm, n);
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Cart_sub);
