/* Derived datatypes (src/mpi/dtype.c, dtype_api.c): the objects behind
 * MPI_Type_contiguous and friends, and how a message of `count` items of a
 * datatype is described to the point-to-point layer.
 *
 * A derived type is an object in a handle table; its handle is
 * TIDE_DTYPE_HANDLE_BASE | slot, outside the basic types' 0x4c00SSII range
 * (MPI_DATATYPE_NULL is 0).  The object keeps what the constructor was
 * given (combiner, ints, aints, types: MPI_Type_get_contents), the sizes
 * and bounds computed at construction, and, once committed, its typemap
 * flattened into a tide_p2p_layout_t: (offset, length) blocks in packing
 * order with adjacent blocks merged, plus the run-length list of its basic
 * elements (MPI_Get_elements).  A type whose flattened form is one block
 * as long as its extent is "contiguous": messages of it take exactly the
 * path of a basic type.
 *
 * Lifetime: an object is reference counted.  The handle holds one
 * reference (dropped by MPI_Type_free), every type built on it one, and the
 * layout is reference counted on its own, so a send or receive in flight
 * keeps the flattened type alive after the user freed the handle
 * (doc/datatypes.md). */
#ifndef TIDE_MPI_DTYPE_H
#define TIDE_MPI_DTYPE_H

#include "mpi/mpi_impl.h"
#include "p2p/p2p.h"

#include <errno.h>

#define TIDE_DTYPE_HANDLE_BASE 0x5d000000
#define TIDE_DTYPE_HANDLE_MASK 0xff000000

/* A run of `n` basic elements of `size` bytes each, in typemap order. */
typedef struct tide_dt_erun {
    int size;
    MPI_Count n;
} tide_dt_erun_t;

typedef struct tide_dtype {
    int refs; /* atomic: the handle(s), parent types */
    int combiner;
    int ni, na, nd;
    int *ints;
    MPI_Aint *aints;
    MPI_Datatype *types;      /* as given (basic handles stay valid) */
    struct tide_dtype **kids; /* types[i]'s object (a reference), NULL if basic */
    struct tide_dtype *inner; /* subarray: the equivalent type actually walked */
    MPI_Count size;           /* bytes of data in one item */
    MPI_Aint lb, ub;          /* extent = ub - lb */
    MPI_Aint true_lb, true_ub;
    int align; /* largest alignment of its basic elements (struct padding) */
    MPI_Count nelem;
    int committed;          /* atomic */
    tide_p2p_layout_t *lay; /* committed: the flattened typemap */
    tide_dt_erun_t *eruns;
    MPI_Count neruns;
    char name[MPI_MAX_OBJECT_NAME];
} tide_dtype_t;

/* The derived type behind a handle, or NULL.  Also the object of a
 * MINLOC/MAXLOC pair type (predefined, combiner MPI_COMBINER_NAMED). */
tide_dtype_t *tide_dtype_get(MPI_Datatype h);

/* Pair types (mpi.h TIDE_DT_PAIR, 0x4c01SSII): their data size (MPI_DOUBLE_INT
 * 12), 0 for any other handle. */
static inline int tide_dt_pair_size(MPI_Datatype dt)
{
    return ((unsigned)dt & 0xffff0000) == 0x4c010000 ? (int)((dt >> 8) & 0xff) : 0;
}
/* The pair type whose object t is, or MPI_DATATYPE_NULL. */
MPI_Datatype tide_dt_pair_handle(const tide_dtype_t *t);

/* A message of count items of a datatype: `bytes` long, contiguous at
 * buf + shift when lay is NULL, else `count` instances of lay at buf. */
typedef struct tide_dt_msg {
    uint64_t bytes;
    ptrdiff_t shift;
    tide_p2p_layout_t *lay;
} tide_dt_msg_t;

/* Derived types: 0, -EINVAL (no datatype), -EPERM (not committed). */
int tide_dtype_msg(MPI_Datatype dt, int count, tide_dt_msg_t *m);

/* Basic types take the same few instructions as before derived types. */
static inline int tide_dt_msg(MPI_Datatype dt, int count, tide_dt_msg_t *m)
{
    if (__builtin_expect((dt & 0xffff0000) == 0x4c000000, 1)) {
        int sz = tide_dt_size(dt);
        if (sz < 0)
            return -EINVAL;
        m->bytes = (uint64_t)count * (uint64_t)sz;
        m->shift = 0;
        m->lay = NULL;
        return 0;
    }
    return tide_dtype_msg(dt, count, m);
}

/* Report a tide_dt_msg failure for argument `datatype` of call fn. */
int tide_dt_msg_error(const char *fn, MPI_Comm comm, MPI_Datatype dt, int rc);

/* Basic type queries (datatype.c): the standard name, NULL if not basic. */
const char *tide_dt_basic_name(MPI_Datatype dt);
/* The name of any valid type, set or standard; NULL if dt is none. */
const char *tide_dt_name(MPI_Datatype dt);

/* Bytes received -> items (MPI_UNDEFINED unless whole) and basic elements
 * (MPI_Get_elements: a partial last item counts its whole elements). */
int tide_dtype_count(MPI_Datatype dt, MPI_Count bytes, MPI_Count *items, MPI_Count *elements);

/* Constructors' core (dtype.c): a new type from what the MPI call was
 * given; the arrays are copied.  Returns an MPI error class. */
int tide_dtype_create(const char *fn, int combiner, int ni, const int *ints, int na,
                      const MPI_Aint *aints, int nd, const MPI_Datatype *types, MPI_Datatype *out);
int tide_dtype_commit(MPI_Datatype h);
/* Make `inner` (a handle, taken over) the type that subarray type h is
 * flattened as; h takes inner's bounds. */
void tide_dtype_set_inner(MPI_Datatype h, MPI_Datatype inner);
/* Drop one handle; the object lives on while others hold references. */
void tide_dtype_free_handle(MPI_Datatype h);
/* A second handle to the same object (MPI_Type_get_contents). */
MPI_Datatype tide_dtype_new_handle(tide_dtype_t *t);

/* Size/extent/true extent of any valid type, basic or derived; -EINVAL if
 * the handle names none. */
int tide_dt_query(MPI_Datatype dt, MPI_Count *size, MPI_Aint *lb, MPI_Aint *extent,
                  MPI_Aint *true_lb, MPI_Aint *true_extent);

/* Walk count items of dt (basic or derived) element by element in typemap
 * order: fn(arg, off, basic, n) for each run of n basic elements of type
 * `basic` stored contiguously at byte offset off.  Returns the first
 * non-zero fn result, -EINVAL for an invalid type. */
typedef int (*tide_dt_elem_fn_t)(void *arg, MPI_Aint off, MPI_Datatype basic, MPI_Count n);
int tide_dtype_each_elem(MPI_Datatype dt, MPI_Count count, tide_dt_elem_fn_t fn, void *arg);

#endif
