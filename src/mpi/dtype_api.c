/* The MPI calls of derived datatypes (MPI 4.1 chapter 5): constructors,
 * commit and free, size/extent/envelope/contents queries, names, addresses
 * and MPI_Pack/Unpack.  Each checks its arguments and hands over to the
 * engine in dtype.c; Pack/Unpack copy through the same cursors the
 * point-to-point layer uses for non-contiguous messages. */
#include "config.h"
#include "mpi/dtype.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- argument checks ---------------------------------------------------- */

static int tide_dt_bad_type(const char *fn, const char *arg, MPI_Datatype dt)
{
    return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_TYPE,
                          "argument %s (handle 0x%x) is not a valid datatype", arg, (unsigned)dt);
}

static int tide_dt_check_type(const char *fn, const char *arg, MPI_Datatype dt)
{
    if (tide_dt_query(dt, NULL, NULL, NULL, NULL, NULL) != 0)
        return tide_dt_bad_type(fn, arg, dt);
    return MPI_SUCCESS;
}

static int tide_dt_check_count(const char *fn, const char *arg, int count)
{
    if (count < 0)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_COUNT, "argument %s (%d) is negative", arg,
                              count);
    return MPI_SUCCESS;
}

/* Common head of the constructors: count, old type, output pointer. */
#define TIDE_DT_CTOR_CHECK(fn, count, oldtype, newtype)                \
    do {                                                               \
        TIDE_MPI_CHECK_INIT(fn);                                       \
        int rc_ = tide_dt_check_count(fn, "count", count);             \
        if (rc_ || (rc_ = tide_dt_check_type(fn, "oldtype", oldtype))) \
            return rc_;                                                \
        TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, newtype, "newtype");     \
    } while (0)

static int tide_dt_check_blocklens(const char *fn, int count, const int *bl)
{
    if (count > 0)
        TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, bl, "array_of_blocklengths");
    for (int i = 0; i < count; i++)
        if (bl[i] < 0)
            return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ARG,
                                  "argument array_of_blocklengths[%d] (%d) is negative", i, bl[i]);
    return MPI_SUCCESS;
}

/* ---- constructors --------------------------------------------------------- */

int PMPI_Type_contiguous(int count, MPI_Datatype oldtype, MPI_Datatype *newtype)
{
    static const char fn[] = "MPI_Type_contiguous";
    TIDE_DT_CTOR_CHECK(fn, count, oldtype, newtype);
    return tide_dtype_create(fn, MPI_COMBINER_CONTIGUOUS, 1, &count, 0, NULL, 1, &oldtype, newtype);
}
TIDE_MPI_WEAK(MPI_Type_contiguous);

int PMPI_Type_vector(int count, int blocklength, int stride, MPI_Datatype oldtype,
                     MPI_Datatype *newtype)
{
    static const char fn[] = "MPI_Type_vector";
    TIDE_DT_CTOR_CHECK(fn, count, oldtype, newtype);
    int rc = tide_dt_check_count(fn, "blocklength", blocklength);
    if (rc)
        return rc;
    int ints[3] = {count, blocklength, stride};
    return tide_dtype_create(fn, MPI_COMBINER_VECTOR, 3, ints, 0, NULL, 1, &oldtype, newtype);
}
TIDE_MPI_WEAK(MPI_Type_vector);

int PMPI_Type_create_hvector(int count, int blocklength, MPI_Aint stride, MPI_Datatype oldtype,
                             MPI_Datatype *newtype)
{
    static const char fn[] = "MPI_Type_create_hvector";
    TIDE_DT_CTOR_CHECK(fn, count, oldtype, newtype);
    int rc = tide_dt_check_count(fn, "blocklength", blocklength);
    if (rc)
        return rc;
    int ints[2] = {count, blocklength};
    return tide_dtype_create(fn, MPI_COMBINER_HVECTOR, 2, ints, 1, &stride, 1, &oldtype, newtype);
}
TIDE_MPI_WEAK(MPI_Type_create_hvector);

/* ints = {count, a[0..count), b[0..count)} (b may be NULL) */
static int *tide_dt_ints(int count, int head2, const int *a, const int *b)
{
    int n = 1 + (head2 >= 0) + count * (1 + (b != NULL));
    int *v = malloc((size_t)n * sizeof(int)), k = 0;
    if (!v)
        return NULL;
    v[k++] = count;
    if (head2 >= 0)
        v[k++] = head2;
    for (int i = 0; a && i < count; i++)
        v[k++] = a[i];
    for (int i = 0; b && i < count; i++)
        v[k++] = b[i];
    return v;
}

static int tide_dt_create_ints(const char *fn, int combiner, int count, int head2, const int *a,
                               const int *b, int na, const MPI_Aint *aints, int nd,
                               const MPI_Datatype *types, MPI_Datatype *newtype)
{
    int *ints = tide_dt_ints(count, head2, a, b);
    if (!ints)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_NO_MEM, "out of memory");
    int ni = 1 + (head2 >= 0) + count * (1 + (b != NULL));
    int rc = tide_dtype_create(fn, combiner, ni, ints, na, aints, nd, types, newtype);
    free(ints);
    return rc;
}

int PMPI_Type_indexed(int count, const int array_of_blocklengths[],
                      const int array_of_displacements[], MPI_Datatype oldtype,
                      MPI_Datatype *newtype)
{
    static const char fn[] = "MPI_Type_indexed";
    TIDE_DT_CTOR_CHECK(fn, count, oldtype, newtype);
    int rc = tide_dt_check_blocklens(fn, count, array_of_blocklengths);
    if (rc)
        return rc;
    if (count > 0)
        TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, array_of_displacements, "array_of_displacements");
    return tide_dt_create_ints(fn, MPI_COMBINER_INDEXED, count, -1, array_of_blocklengths,
                               array_of_displacements, 0, NULL, 1, &oldtype, newtype);
}
TIDE_MPI_WEAK(MPI_Type_indexed);

int PMPI_Type_create_hindexed(int count, const int array_of_blocklengths[],
                              const MPI_Aint array_of_displacements[], MPI_Datatype oldtype,
                              MPI_Datatype *newtype)
{
    static const char fn[] = "MPI_Type_create_hindexed";
    TIDE_DT_CTOR_CHECK(fn, count, oldtype, newtype);
    int rc = tide_dt_check_blocklens(fn, count, array_of_blocklengths);
    if (rc)
        return rc;
    if (count > 0)
        TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, array_of_displacements, "array_of_displacements");
    return tide_dt_create_ints(fn, MPI_COMBINER_HINDEXED, count, -1, array_of_blocklengths, NULL,
                               count, array_of_displacements, 1, &oldtype, newtype);
}
TIDE_MPI_WEAK(MPI_Type_create_hindexed);

int PMPI_Type_create_indexed_block(int count, int blocklength, const int array_of_displacements[],
                                   MPI_Datatype oldtype, MPI_Datatype *newtype)
{
    static const char fn[] = "MPI_Type_create_indexed_block";
    TIDE_DT_CTOR_CHECK(fn, count, oldtype, newtype);
    int rc = tide_dt_check_count(fn, "blocklength", blocklength);
    if (rc)
        return rc;
    if (count > 0)
        TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, array_of_displacements, "array_of_displacements");
    return tide_dt_create_ints(fn, MPI_COMBINER_INDEXED_BLOCK, count, blocklength,
                               array_of_displacements, NULL, 0, NULL, 1, &oldtype, newtype);
}
TIDE_MPI_WEAK(MPI_Type_create_indexed_block);

int PMPI_Type_create_hindexed_block(int count, int blocklength,
                                    const MPI_Aint array_of_displacements[], MPI_Datatype oldtype,
                                    MPI_Datatype *newtype)
{
    static const char fn[] = "MPI_Type_create_hindexed_block";
    TIDE_DT_CTOR_CHECK(fn, count, oldtype, newtype);
    int rc = tide_dt_check_count(fn, "blocklength", blocklength);
    if (rc)
        return rc;
    if (count > 0)
        TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, array_of_displacements, "array_of_displacements");
    int ints[2] = {count, blocklength};
    return tide_dtype_create(fn, MPI_COMBINER_HINDEXED_BLOCK, 2, ints, count,
                             array_of_displacements, 1, &oldtype, newtype);
}
TIDE_MPI_WEAK(MPI_Type_create_hindexed_block);

int PMPI_Type_create_struct(int count, const int array_of_blocklengths[],
                            const MPI_Aint array_of_displacements[],
                            const MPI_Datatype array_of_types[], MPI_Datatype *newtype)
{
    static const char fn[] = "MPI_Type_create_struct";
    TIDE_MPI_CHECK_INIT(fn);
    int rc = tide_dt_check_count(fn, "count", count);
    if (rc || (rc = tide_dt_check_blocklens(fn, count, array_of_blocklengths)))
        return rc;
    if (count > 0) {
        TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, array_of_displacements, "array_of_displacements");
        TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, array_of_types, "array_of_types");
    }
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, newtype, "newtype");
    for (int i = 0; i < count; i++)
        if (tide_dt_query(array_of_types[i], NULL, NULL, NULL, NULL, NULL) != 0)
            return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_TYPE,
                                  "argument array_of_types[%d] (handle 0x%x) is not a valid "
                                  "datatype",
                                  i, (unsigned)array_of_types[i]);
    return tide_dt_create_ints(fn, MPI_COMBINER_STRUCT, count, -1, array_of_blocklengths, NULL,
                               count, array_of_displacements, count, array_of_types, newtype);
}
TIDE_MPI_WEAK(MPI_Type_create_struct);

int PMPI_Type_create_resized(MPI_Datatype oldtype, MPI_Aint lb, MPI_Aint extent,
                             MPI_Datatype *newtype)
{
    static const char fn[] = "MPI_Type_create_resized";
    TIDE_DT_CTOR_CHECK(fn, 0, oldtype, newtype);
    MPI_Aint a[2] = {lb, extent};
    return tide_dtype_create(fn, MPI_COMBINER_RESIZED, 0, NULL, 2, a, 1, &oldtype, newtype);
}
TIDE_MPI_WEAK(MPI_Type_create_resized);

int PMPI_Type_dup(MPI_Datatype oldtype, MPI_Datatype *newtype)
{
    static const char fn[] = "MPI_Type_dup";
    TIDE_DT_CTOR_CHECK(fn, 0, oldtype, newtype);
    int rc = tide_dtype_create(fn, MPI_COMBINER_DUP, 0, NULL, 0, NULL, 1, &oldtype, newtype);
    tide_dtype_t *old = tide_dtype_get(oldtype);
    /* The duplicate of a committed type is committed (MPI 4.1 5.1.10). */
    if (rc == MPI_SUCCESS && (!old || old->lay) && tide_dtype_commit(*newtype) != 0) {
        tide_dtype_free_handle(*newtype);
        *newtype = MPI_DATATYPE_NULL;
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_NO_MEM, "out of memory");
    }
    return rc;
}
TIDE_MPI_WEAK(MPI_Type_dup);

/* Subarray (MPI 4.1 section 5.1.3) as MPICH builds it: the innermost
 * dimension a contiguous run, each outer one an hvector of the inner, the
 * start as a displacement, resized to the whole array. */
static int tide_dt_subarray_inner(int ndims, const int *sizes, const int *subsizes,
                                  const int *starts, int order, MPI_Datatype old, MPI_Datatype *out)
{
    MPI_Aint ext;
    tide_dt_query(old, NULL, NULL, &ext, NULL, NULL);
    int d0 = order == MPI_ORDER_C ? ndims - 1 : 0, step = order == MPI_ORDER_C ? -1 : 1;
    MPI_Datatype cur, next;
    int rc = PMPI_Type_contiguous(subsizes[d0], old, &cur);
    MPI_Aint stride = ext, disp = (MPI_Aint)starts[d0] * ext;
    for (int k = 1, d = d0 + step; rc == 0 && k < ndims; k++, d += step) {
        stride *= sizes[d - step];
        disp += (MPI_Aint)starts[d] * stride;
        rc = PMPI_Type_create_hvector(subsizes[d], 1, stride, cur, &next);
        PMPI_Type_free(&cur);
        cur = next;
    }
    if (rc)
        return rc;
    int one = 1;
    rc = PMPI_Type_create_hindexed(1, &one, &disp, cur, &next);
    PMPI_Type_free(&cur);
    if (rc)
        return rc;
    rc = PMPI_Type_create_resized(next, 0, stride * sizes[order == MPI_ORDER_C ? 0 : ndims - 1],
                                  out);
    PMPI_Type_free(&next);
    return rc;
}

static int tide_dt_check_subarray(const char *fn, int ndims, const int *sizes, const int *subsizes,
                                  const int *starts, int order)
{
    if (ndims <= 0)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ARG, "argument ndims (%d) must be > 0",
                              ndims);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, sizes, "array_of_sizes");
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, subsizes, "array_of_subsizes");
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, starts, "array_of_starts");
    if (order != MPI_ORDER_C && order != MPI_ORDER_FORTRAN)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ARG,
                              "argument order (%d) is neither MPI_ORDER_C nor MPI_ORDER_FORTRAN",
                              order);
    for (int i = 0; i < ndims; i++)
        if (sizes[i] <= 0 || subsizes[i] <= 0 || subsizes[i] > sizes[i] || starts[i] < 0 ||
            starts[i] > sizes[i] - subsizes[i])
            return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ARG,
                                  "dimension %d: size %d, subsize %d, start %d do not describe a "
                                  "subarray (need 0 < subsize <= size, 0 <= start <= "
                                  "size - subsize)",
                                  i, sizes[i], subsizes[i], starts[i]);
    return MPI_SUCCESS;
}

int PMPI_Type_create_subarray(int ndims, const int array_of_sizes[], const int array_of_subsizes[],
                              const int array_of_starts[], int order, MPI_Datatype oldtype,
                              MPI_Datatype *newtype)
{
    static const char fn[] = "MPI_Type_create_subarray";
    TIDE_DT_CTOR_CHECK(fn, 0, oldtype, newtype);
    int rc = tide_dt_check_subarray(fn, ndims, array_of_sizes, array_of_subsizes, array_of_starts,
                                    order);
    if (rc)
        return rc;
    int *ints = malloc((size_t)(3 * ndims + 2) * sizeof(int));
    if (!ints)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_NO_MEM, "out of memory");
    ints[0] = ndims;
    memcpy(ints + 1, array_of_sizes, (size_t)ndims * sizeof(int));
    memcpy(ints + 1 + ndims, array_of_subsizes, (size_t)ndims * sizeof(int));
    memcpy(ints + 1 + 2 * ndims, array_of_starts, (size_t)ndims * sizeof(int));
    ints[1 + 3 * ndims] = order;
    MPI_Datatype inner;
    rc = tide_dt_subarray_inner(ndims, array_of_sizes, array_of_subsizes, array_of_starts, order,
                                oldtype, &inner);
    if (rc == 0) {
        rc = tide_dtype_create(fn, MPI_COMBINER_SUBARRAY, 3 * ndims + 2, ints, 0, NULL, 1, &oldtype,
                               newtype);
        if (rc == 0)
            tide_dtype_set_inner(*newtype, inner);
        else
            PMPI_Type_free(&inner);
    }
    free(ints);
    return rc;
}
TIDE_MPI_WEAK(MPI_Type_create_subarray);

/* ---- distributed arrays (MPI 4.1 section 5.1.4) --------------------------- */

/* One dimension of a darray, as MPICH and ROMIO build it: `*cur` (a type
 * covering the dimensions done so far) becomes the process's blocks along
 * dimension d; *start is where they begin, in elements of that dimension. */
typedef struct tide_dt_darray {
    int ndims, order;
    const int *gsizes;
    MPI_Aint ext; /* extent of oldtype */
} tide_dt_darray_t;

/* Bytes between consecutive elements of dimension d. */
static MPI_Aint tide_dt_darray_stride(const tide_dt_darray_t *a, int d)
{
    MPI_Aint stride = a->ext;
    if (a->order == MPI_ORDER_FORTRAN)
        for (int i = 0; i < d; i++)
            stride *= a->gsizes[i];
    else
        for (int i = a->ndims - 1; i > d; i--)
            stride *= a->gsizes[i];
    return stride;
}

static int tide_dt_darray_first(const tide_dt_darray_t *a, int d)
{
    return a->order == MPI_ORDER_FORTRAN ? d == 0 : d == a->ndims - 1;
}

static int tide_dt_darray_block(const tide_dt_darray_t *a, int d, int nprocs, int coord, int darg,
                                MPI_Datatype old, MPI_Datatype *out, MPI_Aint *start)
{
    int g = a->gsizes[d];
    int blk = darg == MPI_DISTRIBUTE_DFLT_DARG ? (g + nprocs - 1) / nprocs : darg;
    int64_t mine = (int64_t)g - (int64_t)blk * coord;
    mine = mine < 0 ? 0 : mine > blk ? blk : mine;
    *start = mine ? (MPI_Aint)blk * coord : 0;
    if (tide_dt_darray_first(a, d))
        return PMPI_Type_contiguous((int)mine, old, out);
    return PMPI_Type_create_hvector((int)mine, 1, tide_dt_darray_stride(a, d), old, out);
}

/* Cyclic(darg): blocks of `blk` every nprocs * blk elements, a short last
 * block as a struct; along the first dimension the start is built in and
 * the extent is the whole dimension. */
static int tide_dt_darray_cyclic(const tide_dt_darray_t *a, int d, int nprocs, int coord, int darg,
                                 MPI_Datatype old, MPI_Datatype *out, MPI_Aint *start)
{
    int64_t blk = darg == MPI_DISTRIBUTE_DFLT_DARG ? 1 : darg, first = coord * blk;
    int64_t g = a->gsizes[d], local = 0;
    if (first < g) {
        local = (g - first) / (nprocs * blk) * blk;
        int64_t rem = (g - first) % (nprocs * blk);
        local += rem < blk ? rem : blk;
    }
    int count = (int)(local / blk), rem = (int)(local % blk);
    MPI_Aint stride = (MPI_Aint)nprocs * blk * tide_dt_darray_stride(a, d);
    MPI_Datatype t, t2;
    int rc = PMPI_Type_create_hvector(count, (int)blk, stride, old, &t);
    if (rc == 0 && rem) {
        int bl[2] = {1, rem};
        MPI_Aint disp[2] = {0, count * stride};
        MPI_Datatype ty[2] = {t, old};
        rc = PMPI_Type_create_struct(2, bl, disp, ty, &t2);
        PMPI_Type_free(&t);
        t = t2;
    }
    if (rc)
        return rc;
    *start = local ? first : 0;
    if (!tide_dt_darray_first(a, d)) {
        *out = t;
        return MPI_SUCCESS;
    }
    int one = 1;
    MPI_Aint disp = local ? first * a->ext : 0;
    rc = PMPI_Type_create_hindexed(1, &one, &disp, t, &t2);
    PMPI_Type_free(&t);
    if (rc)
        return rc;
    rc = PMPI_Type_create_resized(t2, 0, a->ext * g, out);
    PMPI_Type_free(&t2);
    *start = 0;
    return rc;
}

/* The type actually walked: every dimension from the fastest to the
 * slowest, then the start as a displacement, resized to the whole array. */
static int tide_dt_darray_inner(int size, int rank, int ndims, const int *gsizes,
                                const int *distribs, const int *dargs, const int *psizes, int order,
                                MPI_Datatype old, MPI_Datatype *out)
{
    tide_dt_darray_t a = {ndims, order, gsizes, 0};
    tide_dt_query(old, NULL, NULL, &a.ext, NULL, NULL);
    int coords[ndims];
    for (int i = 0, r = rank, s = size; i < ndims; i++) { /* process grid in C order */
        s /= psizes[i];
        coords[i] = r / s;
        r %= s;
    }
    MPI_Datatype cur = old, next;
    MPI_Aint disp = 0, span = 1;
    int rc = 0;
    for (int k = 0; k < ndims && rc == 0; k++) {
        int d = order == MPI_ORDER_FORTRAN ? k : ndims - 1 - k;
        MPI_Aint start;
        if (distribs[d] == MPI_DISTRIBUTE_CYCLIC)
            rc = tide_dt_darray_cyclic(&a, d, psizes[d], coords[d], dargs[d], cur, &next, &start);
        else if (distribs[d] == MPI_DISTRIBUTE_BLOCK)
            rc = tide_dt_darray_block(&a, d, psizes[d], coords[d], dargs[d], cur, &next, &start);
        else
            rc = tide_dt_darray_block(&a, d, 1, 0, MPI_DISTRIBUTE_DFLT_DARG, cur, &next, &start);
        if (k)
            PMPI_Type_free(&cur);
        if (rc)
            return rc;
        cur = next;
        disp += start * span;
        span *= gsizes[d];
    }
    int one = 1;
    disp *= a.ext;
    rc = PMPI_Type_create_hindexed(1, &one, &disp, cur, &next);
    if (ndims)
        PMPI_Type_free(&cur);
    if (rc)
        return rc;
    rc = PMPI_Type_create_resized(next, 0, span * a.ext, out);
    PMPI_Type_free(&next);
    return rc;
}

static int tide_dt_check_darray_dim(const char *fn, int i, int g, int dist, int darg, int p)
{
    if (g <= 0 || p <= 0)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ARG,
                              "dimension %d: gsize %d and psize %d must be positive", i, g, p);
    if (dist != MPI_DISTRIBUTE_BLOCK && dist != MPI_DISTRIBUTE_CYCLIC &&
        dist != MPI_DISTRIBUTE_NONE)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ARG,
                              "argument array_of_distribs[%d] (%d) is not MPI_DISTRIBUTE_BLOCK, "
                              "CYCLIC or NONE",
                              i, dist);
    if (darg != MPI_DISTRIBUTE_DFLT_DARG && darg <= 0)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ARG,
                              "argument array_of_dargs[%d] (%d) must be positive or "
                              "MPI_DISTRIBUTE_DFLT_DARG",
                              i, darg);
    if (dist == MPI_DISTRIBUTE_NONE && p != 1)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ARG,
                              "dimension %d is MPI_DISTRIBUTE_NONE but psize is %d (must be 1)", i,
                              p);
    if (dist == MPI_DISTRIBUTE_BLOCK && darg != MPI_DISTRIBUTE_DFLT_DARG && (int64_t)darg * p < g)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ARG,
                              "dimension %d: %d blocks of %d do not cover gsize %d", i, p, darg, g);
    return MPI_SUCCESS;
}

static int tide_dt_check_darray(const char *fn, int size, int rank, int ndims, const int *gsizes,
                                const int *distribs, const int *dargs, const int *psizes, int order)
{
    if (size <= 0 || rank < 0 || rank >= size)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ARG,
                              "arguments size (%d) and rank (%d) need 0 <= rank < size", size,
                              rank);
    if (ndims < 0)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ARG, "argument ndims (%d) is negative",
                              ndims);
    if (ndims) {
        TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, gsizes, "array_of_gsizes");
        TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, distribs, "array_of_distribs");
        TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, dargs, "array_of_dargs");
        TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, psizes, "array_of_psizes");
    }
    if (order != MPI_ORDER_C && order != MPI_ORDER_FORTRAN)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ARG,
                              "argument order (%d) is neither MPI_ORDER_C nor MPI_ORDER_FORTRAN",
                              order);
    int64_t procs = 1;
    for (int i = 0; i < ndims; i++) {
        int rc = tide_dt_check_darray_dim(fn, i, gsizes[i], distribs[i], dargs[i], psizes[i]);
        if (rc)
            return rc;
        procs *= psizes[i];
    }
    if (procs != size)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ARG,
                              "the process grid (product of array_of_psizes: %lld) is not size "
                              "(%d)",
                              (long long)procs, size);
    return MPI_SUCCESS;
}

int PMPI_Type_create_darray(int size, int rank, int ndims, const int array_of_gsizes[],
                            const int array_of_distribs[], const int array_of_dargs[],
                            const int array_of_psizes[], int order, MPI_Datatype oldtype,
                            MPI_Datatype *newtype)
{
    static const char fn[] = "MPI_Type_create_darray";
    TIDE_DT_CTOR_CHECK(fn, 0, oldtype, newtype);
    int rc = tide_dt_check_darray(fn, size, rank, ndims, array_of_gsizes, array_of_distribs,
                                  array_of_dargs, array_of_psizes, order);
    if (rc)
        return rc;
    int ni = 4 * ndims + 4, *ints = malloc((size_t)ni * sizeof(int));
    if (!ints)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_NO_MEM, "out of memory");
    ints[0] = size;
    ints[1] = rank;
    ints[2] = ndims;
    memcpy(ints + 3, array_of_gsizes, (size_t)ndims * sizeof(int));
    memcpy(ints + 3 + ndims, array_of_distribs, (size_t)ndims * sizeof(int));
    memcpy(ints + 3 + 2 * ndims, array_of_dargs, (size_t)ndims * sizeof(int));
    memcpy(ints + 3 + 3 * ndims, array_of_psizes, (size_t)ndims * sizeof(int));
    ints[3 + 4 * ndims] = order;
    MPI_Datatype inner;
    rc = tide_dt_darray_inner(size, rank, ndims, array_of_gsizes, array_of_distribs, array_of_dargs,
                              array_of_psizes, order, oldtype, &inner);
    if (rc == 0) {
        rc = tide_dtype_create(fn, MPI_COMBINER_DARRAY, ni, ints, 0, NULL, 1, &oldtype, newtype);
        if (rc == 0)
            tide_dtype_set_inner(*newtype, inner);
        else
            PMPI_Type_free(&inner);
    }
    free(ints);
    return rc;
}
TIDE_MPI_WEAK(MPI_Type_create_darray);

/* MPI_Type_match_size (MPI 4.1 section 19.1.9): the predefined C type of a
 * class and size (Tide has no Fortran types). */
int PMPI_Type_match_size(int typeclass, int size, MPI_Datatype *datatype)
{
    static const char fn[] = "MPI_Type_match_size";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, datatype, "datatype");
    static const MPI_Datatype real[] = {MPI_FLOAT, MPI_DOUBLE, MPI_LONG_DOUBLE};
    static const MPI_Datatype integer[] = {MPI_INT8_T, MPI_INT16_T, MPI_INT32_T, MPI_INT64_T};
    static const MPI_Datatype complex[] = {MPI_C_FLOAT_COMPLEX, MPI_C_DOUBLE_COMPLEX,
                                           MPI_C_LONG_DOUBLE_COMPLEX};
    const MPI_Datatype *set = typeclass == MPI_TYPECLASS_REAL      ? real
                              : typeclass == MPI_TYPECLASS_INTEGER ? integer
                              : typeclass == MPI_TYPECLASS_COMPLEX ? complex
                                                                   : NULL;
    int n = typeclass == MPI_TYPECLASS_INTEGER ? 4 : 3;
    if (!set)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ARG,
                              "argument typeclass (%d) is not MPI_TYPECLASS_REAL, INTEGER or "
                              "COMPLEX",
                              typeclass);
    for (int i = 0; i < n; i++)
        if (tide_dt_size(set[i]) == size) {
            *datatype = set[i];
            return MPI_SUCCESS;
        }
    return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ARG,
                          "no predefined type of class %d has %d bytes", typeclass, size);
}
TIDE_MPI_WEAK(MPI_Type_match_size);

/* ---- MPI-1 names removed in MPI 3.0 ------------------------------------------- */

/* Still called by older programs and by MPICH's own test library (dtpools),
 * so Tide keeps them as MPICH does: each is its MPI-2 replacement (MPI_LB
 * and MPI_UB markers are not provided). */
int PMPI_Type_hvector(int count, int blocklength, MPI_Aint stride, MPI_Datatype oldtype,
                      MPI_Datatype *newtype)
{
    return PMPI_Type_create_hvector(count, blocklength, stride, oldtype, newtype);
}
TIDE_MPI_WEAK(MPI_Type_hvector);

int PMPI_Type_hindexed(int count, int array_of_blocklengths[], MPI_Aint array_of_displacements[],
                       MPI_Datatype oldtype, MPI_Datatype *newtype)
{
    return PMPI_Type_create_hindexed(count, array_of_blocklengths, array_of_displacements, oldtype,
                                     newtype);
}
TIDE_MPI_WEAK(MPI_Type_hindexed);

int PMPI_Type_struct(int count, int array_of_blocklengths[], MPI_Aint array_of_displacements[],
                     MPI_Datatype array_of_types[], MPI_Datatype *newtype)
{
    return PMPI_Type_create_struct(count, array_of_blocklengths, array_of_displacements,
                                   array_of_types, newtype);
}
TIDE_MPI_WEAK(MPI_Type_struct);

int PMPI_Address(void *location, MPI_Aint *address)
{
    return PMPI_Get_address(location, address);
}
TIDE_MPI_WEAK(MPI_Address);

int PMPI_Type_extent(MPI_Datatype datatype, MPI_Aint *extent)
{
    MPI_Aint lb;
    return PMPI_Type_get_extent(datatype, &lb, extent);
}
TIDE_MPI_WEAK(MPI_Type_extent);

int PMPI_Type_lb(MPI_Datatype datatype, MPI_Aint *displacement)
{
    MPI_Aint extent;
    return PMPI_Type_get_extent(datatype, displacement, &extent);
}
TIDE_MPI_WEAK(MPI_Type_lb);

int PMPI_Type_ub(MPI_Datatype datatype, MPI_Aint *displacement)
{
    static const char fn[] = "MPI_Type_ub";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, displacement, "displacement");
    MPI_Aint lb, extent;
    if (tide_dt_query(datatype, NULL, &lb, &extent, NULL, NULL))
        return tide_dt_bad_type(fn, "datatype", datatype);
    *displacement = lb + extent;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Type_ub);

/* ---- commit and free ------------------------------------------------------ */

int PMPI_Type_commit(MPI_Datatype *datatype)
{
    static const char fn[] = "MPI_Type_commit";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, datatype, "datatype");
    if (tide_dt_size(*datatype) >= 0 && ((unsigned)*datatype & 0xffff0000) == 0x4c000000)
        return MPI_SUCCESS; /* basic types are always committed */
    int rc = tide_dtype_commit(*datatype);
    if (rc == -EINVAL)
        return tide_dt_bad_type(fn, "datatype", *datatype);
    if (rc)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_NO_MEM,
                              "out of memory flattening the datatype");
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Type_commit);

int PMPI_Type_free(MPI_Datatype *datatype)
{
    static const char fn[] = "MPI_Type_free";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, datatype, "datatype");
    if (!tide_dtype_get(*datatype) || tide_dt_pair_size(*datatype)) {
        if (tide_dt_size(*datatype) >= 0 || tide_dt_pair_size(*datatype))
            return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_TYPE,
                                  "argument datatype (handle 0x%x) is a predefined datatype; "
                                  "only derived datatypes can be freed",
                                  (unsigned)*datatype);
        return tide_dt_bad_type(fn, "datatype", *datatype);
    }
    tide_dtype_free_handle(*datatype);
    *datatype = MPI_DATATYPE_NULL;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Type_free);

/* ---- size and extent ------------------------------------------------------- */

int PMPI_Type_size_x(MPI_Datatype datatype, MPI_Count *size)
{
    static const char fn[] = "MPI_Type_size_x";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, size, "size");
    if (tide_dt_query(datatype, size, NULL, NULL, NULL, NULL))
        return tide_dt_bad_type(fn, "datatype", datatype);
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Type_size_x);

int PMPI_Type_get_extent(MPI_Datatype datatype, MPI_Aint *lb, MPI_Aint *extent)
{
    static const char fn[] = "MPI_Type_get_extent";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, lb, "lb");
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, extent, "extent");
    if (tide_dt_query(datatype, NULL, lb, extent, NULL, NULL))
        return tide_dt_bad_type(fn, "datatype", datatype);
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Type_get_extent);

int PMPI_Type_get_extent_x(MPI_Datatype datatype, MPI_Count *lb, MPI_Count *extent)
{
    static const char fn[] = "MPI_Type_get_extent_x";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, lb, "lb");
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, extent, "extent");
    MPI_Aint l, e;
    if (tide_dt_query(datatype, NULL, &l, &e, NULL, NULL))
        return tide_dt_bad_type(fn, "datatype", datatype);
    *lb = l;
    *extent = e;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Type_get_extent_x);

int PMPI_Type_get_true_extent(MPI_Datatype datatype, MPI_Aint *true_lb, MPI_Aint *true_extent)
{
    static const char fn[] = "MPI_Type_get_true_extent";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, true_lb, "true_lb");
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, true_extent, "true_extent");
    if (tide_dt_query(datatype, NULL, NULL, NULL, true_lb, true_extent))
        return tide_dt_bad_type(fn, "datatype", datatype);
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Type_get_true_extent);

int PMPI_Type_get_true_extent_x(MPI_Datatype datatype, MPI_Count *true_lb, MPI_Count *true_extent)
{
    static const char fn[] = "MPI_Type_get_true_extent_x";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, true_lb, "true_lb");
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, true_extent, "true_extent");
    MPI_Aint l, e;
    if (tide_dt_query(datatype, NULL, NULL, NULL, &l, &e))
        return tide_dt_bad_type(fn, "datatype", datatype);
    *true_lb = l;
    *true_extent = e;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Type_get_true_extent_x);

/* ---- envelope and contents ----------------------------------------------------- */

int PMPI_Type_get_envelope(MPI_Datatype datatype, int *num_integers, int *num_addresses,
                           int *num_datatypes, int *combiner)
{
    static const char fn[] = "MPI_Type_get_envelope";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, num_integers, "num_integers");
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, num_addresses, "num_addresses");
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, num_datatypes, "num_datatypes");
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, combiner, "combiner");
    tide_dtype_t *t = tide_dtype_get(datatype);
    if (!t) {
        if (tide_dt_size(datatype) < 0)
            return tide_dt_bad_type(fn, "datatype", datatype);
        *num_integers = *num_addresses = *num_datatypes = 0;
        *combiner = MPI_COMBINER_NAMED;
        return MPI_SUCCESS;
    }
    *num_integers = t->ni;
    *num_addresses = t->na;
    *num_datatypes = t->nd;
    *combiner = t->combiner;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Type_get_envelope);

int PMPI_Type_get_contents(MPI_Datatype datatype, int max_integers, int max_addresses,
                           int max_datatypes, int array_of_integers[],
                           MPI_Aint array_of_addresses[], MPI_Datatype array_of_datatypes[])
{
    static const char fn[] = "MPI_Type_get_contents";
    TIDE_MPI_CHECK_INIT(fn);
    tide_dtype_t *t = tide_dtype_get(datatype);
    if (!t || t->combiner == MPI_COMBINER_NAMED) {
        if (!t && tide_dt_size(datatype) < 0)
            return tide_dt_bad_type(fn, "datatype", datatype);
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_TYPE,
                              "argument datatype (handle 0x%x) is predefined "
                              "(MPI_COMBINER_NAMED): it has no contents",
                              (unsigned)datatype);
    }
    if (max_integers < t->ni || max_addresses < t->na || max_datatypes < t->nd)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ARG,
                              "the arrays are too small: the type needs %d integers, %d "
                              "addresses and %d datatypes (MPI_Type_get_envelope)",
                              t->ni, t->na, t->nd);
    if (t->ni)
        TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, array_of_integers, "array_of_integers");
    if (t->na)
        TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, array_of_addresses, "array_of_addresses");
    if (t->nd)
        TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, array_of_datatypes, "array_of_datatypes");
    if (t->ni)
        memcpy(array_of_integers, t->ints, (size_t)t->ni * sizeof(int));
    if (t->na)
        memcpy(array_of_addresses, t->aints, (size_t)t->na * sizeof(MPI_Aint));
    /* Derived components come back as new handles the caller frees;
     * predefined ones (the pair types included) as themselves. */
    for (int i = 0; i < t->nd; i++) {
        int named = !t->kids[i] || t->kids[i]->combiner == MPI_COMBINER_NAMED;
        array_of_datatypes[i] = named ? t->types[i] : tide_dtype_new_handle(t->kids[i]);
        if (array_of_datatypes[i] == MPI_DATATYPE_NULL)
            return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_NO_MEM, "out of datatype handles");
    }
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Type_get_contents);

/* ---- names ---------------------------------------------------------------------- */

static char tide_dt_basic_names[256][MPI_MAX_OBJECT_NAME]; /* set by MPI_Type_set_name */

const char *tide_dt_name(MPI_Datatype dt)
{
    tide_dtype_t *t = tide_dtype_get(dt);
    if (t)
        return t->name;
    if (tide_dt_size(dt) < 0)
        return NULL;
    if (tide_dt_basic_names[dt & 0xff][0])
        return tide_dt_basic_names[dt & 0xff];
    const char *n = tide_dt_basic_name(dt);
    return n ? n : "";
}

int PMPI_Type_set_name(MPI_Datatype datatype, const char *type_name)
{
    static const char fn[] = "MPI_Type_set_name";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, type_name, "type_name");
    tide_dtype_t *t = tide_dtype_get(datatype);
    char *dst = t ? t->name : NULL;
    if (!t && tide_dt_size(datatype) >= 0)
        dst = tide_dt_basic_names[datatype & 0xff];
    if (!dst)
        return tide_dt_bad_type(fn, "datatype", datatype);
    snprintf(dst, MPI_MAX_OBJECT_NAME, "%s", type_name);
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Type_set_name);

/* ---- addresses ------------------------------------------------------------------ */

int PMPI_Get_address(const void *location, MPI_Aint *address)
{
    static const char fn[] = "MPI_Get_address";
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, address, "address");
    *address = (MPI_Aint)(uintptr_t)location;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Get_address);

MPI_Aint PMPI_Aint_add(MPI_Aint base, MPI_Aint disp)
{
    return (MPI_Aint)((uintptr_t)base + (uintptr_t)disp);
}
TIDE_MPI_WEAK(MPI_Aint_add);

MPI_Aint PMPI_Aint_diff(MPI_Aint addr1, MPI_Aint addr2)
{
    return (MPI_Aint)((uintptr_t)addr1 - (uintptr_t)addr2);
}
TIDE_MPI_WEAK(MPI_Aint_diff);

/* ---- pack and unpack --------------------------------------------------------------- */

static int tide_dt_pack_check(const char *fn, MPI_Comm comm, int count, MPI_Datatype dt,
                              const int *position, tide_dt_msg_t *m)
{
    TIDE_MPI_CHECK_INIT(fn);
    if (comm != MPI_COMM_NULL && !tide_comm_get(comm))
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_COMM,
                              "argument comm (handle %d) is not a valid communicator", comm);
    if (count < 0)
        return tide_mpi_error(comm, fn, MPI_ERR_COUNT, "argument count (%d) is negative", count);
    int rc = tide_dt_msg(dt, count, m);
    if (rc)
        return tide_dt_msg_error(fn, comm, dt, rc);
    if (position)
        TIDE_MPI_CHECK_PTR(fn, comm, position, "position");
    return MPI_SUCCESS;
}

int PMPI_Pack(const void *inbuf, int incount, MPI_Datatype datatype, void *outbuf, int outsize,
              int *position, MPI_Comm comm)
{
    static const char fn[] = "MPI_Pack";
    tide_dt_msg_t m;
    int rc = tide_dt_pack_check(fn, comm, incount, datatype, position, &m);
    if (rc)
        return rc;
    TIDE_MPI_CHECK_PTR(fn, comm, position, "position");
    if (*position < 0 || (uint64_t)*position + m.bytes > (uint64_t)(outsize < 0 ? 0 : outsize))
        return tide_mpi_error(comm, fn, MPI_ERR_TRUNCATE,
                              "%llu bytes at position %d do not fit in outsize %d",
                              (unsigned long long)m.bytes, *position, outsize);
    char *out = (char *)outbuf + *position;
    if (!m.lay && m.bytes) {
        memcpy(out, (const char *)inbuf + m.shift, m.bytes);
    } else if (m.bytes) {
        tide_p2p_cur_t c;
        tide_p2p_cur_init(&c, inbuf, m.lay, (uint64_t)incount, 0);
        tide_p2p_cur_pack(&c, out, m.bytes);
    }
    *position += (int)m.bytes;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Pack);

int PMPI_Unpack(const void *inbuf, int insize, int *position, void *outbuf, int outcount,
                MPI_Datatype datatype, MPI_Comm comm)
{
    static const char fn[] = "MPI_Unpack";
    tide_dt_msg_t m;
    int rc = tide_dt_pack_check(fn, comm, outcount, datatype, position, &m);
    if (rc)
        return rc;
    TIDE_MPI_CHECK_PTR(fn, comm, position, "position");
    if (*position < 0 || (uint64_t)*position + m.bytes > (uint64_t)(insize < 0 ? 0 : insize))
        return tide_mpi_error(comm, fn, MPI_ERR_TRUNCATE,
                              "%llu bytes at position %d are beyond insize %d",
                              (unsigned long long)m.bytes, *position, insize);
    const char *in = (const char *)inbuf + *position;
    if (!m.lay && m.bytes) {
        memcpy((char *)outbuf + m.shift, in, m.bytes);
    } else if (m.bytes) {
        tide_p2p_cur_t c;
        tide_p2p_cur_init(&c, outbuf, m.lay, (uint64_t)outcount, 0);
        tide_p2p_cur_unpack(&c, in, m.bytes);
    }
    *position += (int)m.bytes;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Unpack);

int PMPI_Pack_size(int incount, MPI_Datatype datatype, MPI_Comm comm, int *size)
{
    static const char fn[] = "MPI_Pack_size";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, comm, size, "size");
    if (incount < 0)
        return tide_mpi_error(comm, fn, MPI_ERR_COUNT, "argument incount (%d) is negative",
                              incount);
    MPI_Count sz;
    if (tide_dt_query(datatype, &sz, NULL, NULL, NULL, NULL))
        return tide_dt_bad_type(fn, "datatype", datatype);
    if (sz * incount > INT_MAX)
        return tide_mpi_error(comm, fn, MPI_ERR_COUNT,
                              "%d items of %lld bytes do not fit in an int", incount,
                              (long long)sz);
    *size = (int)(sz * incount);
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Pack_size);
