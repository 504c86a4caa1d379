/* The derived datatype engine: handle table, objects and their lifetime,
 * bounds computed at construction, and commit, which flattens a typemap
 * into (offset, length) blocks for the point-to-point layer (dtype.h and
 * doc/datatypes.md explain the representation).  The MPI calls that build
 * and query types are in dtype_api.c; messages meet this file through
 * tide_dtype_msg (pt2pt.c) and the layout's cursors (src/p2p). */
#include "config.h"
#include "mpi/dtype.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Attribute caching on datatypes lives in attr.c (communicators' owner);
 * weak, so this file links while that one is not built. */
#pragma weak tide_attr_type_copy
#pragma weak tide_attr_type_delete_all

/* ---- handle table -------------------------------------------------------
 * Two levels, never moved: lookups read without the lock. */
#define TIDE_DT_CHUNK   1024
#define TIDE_DT_NCHUNKS 16384

static tide_dtype_t **tide_dt_chunks[TIDE_DT_NCHUNKS];
static pthread_mutex_t tide_dt_lock = PTHREAD_MUTEX_INITIALIZER;
static int *tide_dt_freeslots;
static int tide_dt_nfree, tide_dt_capfree;
static int tide_dt_next; /* slots below this have been handed out */

static tide_dtype_t *tide_dt_pair_get(MPI_Datatype h);

tide_dtype_t *tide_dtype_get(MPI_Datatype h)
{
    if (((unsigned)h & TIDE_DTYPE_HANDLE_MASK) != TIDE_DTYPE_HANDLE_BASE)
        return tide_dt_pair_size(h) ? tide_dt_pair_get(h) : NULL;
    unsigned slot = (unsigned)h & ~TIDE_DTYPE_HANDLE_MASK;
    tide_dtype_t **chunk = __atomic_load_n(&tide_dt_chunks[slot / TIDE_DT_CHUNK], __ATOMIC_ACQUIRE);
    return chunk ? __atomic_load_n(&chunk[slot % TIDE_DT_CHUNK], __ATOMIC_ACQUIRE) : NULL;
}

/* A slot for t; MPI_DATATYPE_NULL when the table is full or memory is out. */
static MPI_Datatype tide_dt_slot_new(tide_dtype_t *t)
{
    pthread_mutex_lock(&tide_dt_lock);
    int slot = -1;
    if (tide_dt_nfree)
        slot = tide_dt_freeslots[--tide_dt_nfree];
    else if (tide_dt_next < TIDE_DT_CHUNK * TIDE_DT_NCHUNKS) {
        int c = tide_dt_next / TIDE_DT_CHUNK;
        if (!tide_dt_chunks[c]) {
            tide_dtype_t **chunk = calloc(TIDE_DT_CHUNK, sizeof(*chunk));
            if (chunk)
                __atomic_store_n(&tide_dt_chunks[c], chunk, __ATOMIC_RELEASE);
        }
        if (tide_dt_chunks[c])
            slot = tide_dt_next++;
    }
    if (slot >= 0)
        __atomic_store_n(&tide_dt_chunks[slot / TIDE_DT_CHUNK][slot % TIDE_DT_CHUNK], t,
                         __ATOMIC_RELEASE);
    pthread_mutex_unlock(&tide_dt_lock);
    return slot < 0 ? MPI_DATATYPE_NULL : (MPI_Datatype)(TIDE_DTYPE_HANDLE_BASE | slot);
}

static void tide_dt_slot_free(MPI_Datatype h)
{
    int slot = (int)((unsigned)h & ~TIDE_DTYPE_HANDLE_MASK);
    pthread_mutex_lock(&tide_dt_lock);
    __atomic_store_n(&tide_dt_chunks[slot / TIDE_DT_CHUNK][slot % TIDE_DT_CHUNK], NULL,
                     __ATOMIC_RELEASE);
    if (tide_dt_nfree == tide_dt_capfree) {
        int ncap = tide_dt_capfree ? 2 * tide_dt_capfree : 64;
        int *n = realloc(tide_dt_freeslots, (size_t)ncap * sizeof(*n));
        if (!n) { /* the slot is lost, nothing else */
            pthread_mutex_unlock(&tide_dt_lock);
            return;
        }
        tide_dt_freeslots = n;
        tide_dt_capfree = ncap;
    }
    tide_dt_freeslots[tide_dt_nfree++] = slot;
    pthread_mutex_unlock(&tide_dt_lock);
}

/* ---- object lifetime ---------------------------------------------------- */

static void tide_dtype_unref(tide_dtype_t *t);

static void tide_dtype_destroy(tide_dtype_t *t)
{
    for (int i = 0; i < t->nd; i++)
        if (t->kids[i])
            tide_dtype_unref(t->kids[i]);
    if (t->inner)
        tide_dtype_unref(t->inner);
    if (t->lay)
        tide_p2p_layout_unref(t->lay);
    free(t->eruns);
    free(t->ints);
    free(t->aints);
    free(t->types);
    free(t->kids);
    free(t);
}

static void tide_dtype_unref(tide_dtype_t *t)
{
    if (__atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) == 0)
        tide_dtype_destroy(t);
}

MPI_Datatype tide_dtype_new_handle(tide_dtype_t *t)
{
    __atomic_add_fetch(&t->refs, 1, __ATOMIC_RELAXED);
    MPI_Datatype h = tide_dt_slot_new(t);
    if (h == MPI_DATATYPE_NULL)
        tide_dtype_unref(t);
    return h;
}

void tide_dtype_free_handle(MPI_Datatype h)
{
    tide_dtype_t *t = tide_dtype_get(h);
    if (!t)
        return;
    if (tide_attr_type_delete_all)
        tide_attr_type_delete_all(h);
    tide_dt_slot_free(h);
    tide_dtype_unref(t);
}

/* ---- bounds ------------------------------------------------------------- */

/* What construction needs to know of a component type, basic or derived. */
typedef struct tide_dt_info {
    MPI_Count size, nelem;
    MPI_Aint lb, ub, true_lb, true_ub;
    int align;
} tide_dt_info_t;

/* Alignment of a basic type: its size, but half of it for the complex
 * types (a pair of reals; also the C++ ones, index 40-42), never above 16.
 * (The MINLOC/MAXLOC pair types are objects with their own alignment.) */
static int tide_dt_basic_align(MPI_Datatype dt, int size)
{
    if (dt == MPI_C_FLOAT_COMPLEX || dt == MPI_C_DOUBLE_COMPLEX ||
        dt == MPI_C_LONG_DOUBLE_COMPLEX || (dt & 0xff) >= 40)
        size /= 2;
    int a = 1;
    while (a * 2 <= size && a < 16)
        a *= 2;
    return a;
}

static int tide_dt_info(MPI_Datatype dt, tide_dt_info_t *ci)
{
    tide_dtype_t *t = tide_dtype_get(dt);
    if (t) {
        ci->size = t->size;
        ci->nelem = t->nelem;
        ci->lb = t->lb;
        ci->ub = t->ub;
        ci->true_lb = t->true_lb;
        ci->true_ub = t->true_ub;
        ci->align = t->align;
        return 0;
    }
    int sz = tide_dt_size(dt);
    if (sz < 0)
        return -EINVAL;
    ci->size = sz;
    ci->nelem = 1;
    ci->lb = ci->true_lb = 0;
    ci->ub = ci->true_ub = sz;
    ci->align = tide_dt_basic_align(dt, sz);
    return 0;
}

int tide_dt_query(MPI_Datatype dt, MPI_Count *size, MPI_Aint *lb, MPI_Aint *extent,
                  MPI_Aint *true_lb, MPI_Aint *true_extent)
{
    tide_dt_info_t ci;
    if (tide_dt_info(dt, &ci))
        return -EINVAL;
    if (size)
        *size = ci.size;
    if (lb)
        *lb = ci.lb;
    if (extent)
        *extent = ci.ub - ci.lb;
    if (true_lb)
        *true_lb = ci.true_lb;
    if (true_extent)
        *true_extent = ci.true_ub - ci.true_lb;
    return 0;
}

/* Bounds of a type being built, block by block. */
typedef struct tide_dt_acc {
    tide_dt_info_t r;
    int any;
} tide_dt_acc_t;

/* Add the bounds of `bl` consecutive items of c starting at disp. */
static void tide_dt_acc_bounds(tide_dt_acc_t *a, const tide_dt_info_t *c, MPI_Aint disp,
                               MPI_Count bl)
{
    if (bl <= 0)
        return;
    MPI_Aint ext = c->ub - c->lb, span = (MPI_Aint)(bl - 1) * ext;
    MPI_Aint lo = span < 0 ? span : 0, hi = span > 0 ? span : 0;
    MPI_Aint lb = disp + c->lb + lo, ub = disp + c->ub + hi;
    MPI_Aint tlb = disp + c->true_lb + lo, tub = disp + c->true_ub + hi;
    if (!a->any) {
        a->r.lb = lb;
        a->r.ub = ub;
        a->r.true_lb = tlb;
        a->r.true_ub = tub;
        a->any = 1;
    } else {
        a->r.lb = lb < a->r.lb ? lb : a->r.lb;
        a->r.ub = ub > a->r.ub ? ub : a->r.ub;
        a->r.true_lb = tlb < a->r.true_lb ? tlb : a->r.true_lb;
        a->r.true_ub = tub > a->r.true_ub ? tub : a->r.true_ub;
    }
    if (c->align > a->r.align)
        a->r.align = c->align;
}

/* `reps` times a block of bl items of c: data counts. */
static void tide_dt_acc_data(tide_dt_acc_t *a, const tide_dt_info_t *c, MPI_Count bl,
                             MPI_Count reps)
{
    a->r.size += bl * reps * c->size;
    a->r.nelem += bl * reps * c->nelem;
}

/* ---- construction ------------------------------------------------------ */

static MPI_Aint tide_dt_extent_of(MPI_Datatype dt)
{
    tide_dt_info_t ci;
    return tide_dt_info(dt, &ci) ? 0 : ci.ub - ci.lb;
}

/* Bounds and sizes of t from its constructor arguments. */
static void tide_dtype_layout_bounds(tide_dtype_t *t, const tide_dt_info_t *ci)
{
    tide_dt_acc_t a = {0};
    const int *I = t->ints;
    const MPI_Aint *A = t->aints;
    MPI_Aint ext0 = ci[0].ub - ci[0].lb;
    switch (t->combiner) {
    case MPI_COMBINER_DUP: a.r = ci[0]; break;
    case MPI_COMBINER_CONTIGUOUS:
        tide_dt_acc_bounds(&a, &ci[0], 0, I[0]);
        tide_dt_acc_data(&a, &ci[0], I[0], 1);
        break;
    case MPI_COMBINER_VECTOR:
    case MPI_COMBINER_HVECTOR: {
        MPI_Aint stride = t->combiner == MPI_COMBINER_VECTOR ? (MPI_Aint)I[2] * ext0 : A[0];
        if (I[0] > 0) { /* bounds are linear in i: the first and last block decide */
            tide_dt_acc_bounds(&a, &ci[0], 0, I[1]);
            tide_dt_acc_bounds(&a, &ci[0], (MPI_Aint)(I[0] - 1) * stride, I[1]);
        }
        tide_dt_acc_data(&a, &ci[0], I[1], I[0]);
        break;
    }
    case MPI_COMBINER_INDEXED:
        for (int i = 0; i < I[0]; i++) {
            tide_dt_acc_bounds(&a, &ci[0], (MPI_Aint)I[1 + I[0] + i] * ext0, I[1 + i]);
            tide_dt_acc_data(&a, &ci[0], I[1 + i], 1);
        }
        break;
    case MPI_COMBINER_HINDEXED:
        for (int i = 0; i < I[0]; i++) {
            tide_dt_acc_bounds(&a, &ci[0], A[i], I[1 + i]);
            tide_dt_acc_data(&a, &ci[0], I[1 + i], 1);
        }
        break;
    case MPI_COMBINER_INDEXED_BLOCK:
        for (int i = 0; i < I[0]; i++)
            tide_dt_acc_bounds(&a, &ci[0], (MPI_Aint)I[2 + i] * ext0, I[1]);
        tide_dt_acc_data(&a, &ci[0], I[1], I[0]);
        break;
    case MPI_COMBINER_HINDEXED_BLOCK:
        for (int i = 0; i < I[0]; i++)
            tide_dt_acc_bounds(&a, &ci[0], A[i], I[1]);
        tide_dt_acc_data(&a, &ci[0], I[1], I[0]);
        break;
    case MPI_COMBINER_STRUCT:
        for (int i = 0; i < I[0]; i++) {
            tide_dt_acc_bounds(&a, &ci[i], A[i], I[1 + i]);
            tide_dt_acc_data(&a, &ci[i], I[1 + i], 1);
        }
        /* Pad the extent to the alignment of the most aligned element, as
         * C pads a struct (MPI 4.1 section 5.1.6, "epsilon"). */
        if (a.any && a.r.align > 1) {
            MPI_Aint ext = a.r.ub - a.r.lb, rem = ext % a.r.align;
            if (ext > 0 && rem)
                a.r.ub += a.r.align - rem;
        }
        break;
    case MPI_COMBINER_RESIZED:
        a.r = ci[0];
        a.r.lb = A[0];
        a.r.ub = A[0] + A[1];
        break;
    }
    if (!a.any && t->combiner != MPI_COMBINER_DUP && t->combiner != MPI_COMBINER_RESIZED)
        a.r.lb = a.r.ub = a.r.true_lb = a.r.true_ub = 0;
    if (a.r.align < 1)
        a.r.align = 1;
    t->size = a.r.size;
    t->nelem = a.r.nelem;
    t->lb = a.r.lb;
    t->ub = a.r.ub;
    t->true_lb = a.r.true_lb;
    t->true_ub = a.r.true_ub;
    t->align = a.r.align;
}

static int tide_dt_copy_args(tide_dtype_t *t, int ni, const int *ints, int na,
                             const MPI_Aint *aints, int nd, const MPI_Datatype *types)
{
    t->ni = ni;
    t->na = na;
    t->nd = nd;
    t->ints = malloc((size_t)(ni ? ni : 1) * sizeof(int));
    t->aints = malloc((size_t)(na ? na : 1) * sizeof(MPI_Aint));
    t->types = malloc((size_t)(nd ? nd : 1) * sizeof(MPI_Datatype));
    t->kids = calloc((size_t)(nd ? nd : 1), sizeof(*t->kids));
    if (!t->ints || !t->aints || !t->types || !t->kids)
        return -ENOMEM;
    if (ni)
        memcpy(t->ints, ints, (size_t)ni * sizeof(int));
    if (na)
        memcpy(t->aints, aints, (size_t)na * sizeof(MPI_Aint));
    for (int i = 0; i < nd; i++) {
        t->types[i] = types[i];
        t->kids[i] = tide_dtype_get(types[i]);
        if (t->kids[i])
            __atomic_add_fetch(&t->kids[i]->refs, 1, __ATOMIC_RELAXED);
    }
    return 0;
}

int tide_dtype_create(const char *fn, int combiner, int ni, const int *ints, int na,
                      const MPI_Aint *aints, int nd, const MPI_Datatype *types, MPI_Datatype *out)
{
    tide_dt_info_t one, *ci = nd > 1 ? malloc((size_t)nd * sizeof(*ci)) : &one;
    tide_dtype_t *t = calloc(1, sizeof(*t));
    if (!t || !ci) {
        free(t);
        if (ci != &one)
            free(ci);
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_NO_MEM, "out of memory for a datatype");
    }
    t->refs = 1;
    t->combiner = combiner;
    int rc = tide_dt_copy_args(t, ni, ints, na, aints, nd, types);
    for (int i = 0; rc == 0 && i < nd; i++)
        rc = tide_dt_info(types[i], &ci[i]);
    if (rc == 0)
        tide_dtype_layout_bounds(t, ci);
    if (ci != &one)
        free(ci);
    if (rc == 0 && (*out = tide_dt_slot_new(t)) == MPI_DATATYPE_NULL)
        rc = -ENOMEM;
    if (rc) {
        tide_dtype_destroy(t);
        return rc == -EINVAL ? tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_TYPE,
                                              "a component datatype is not a valid datatype")
                             : tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_NO_MEM,
                                              "out of memory for a datatype");
    }
    /* MPI_Type_dup copies the attributes (their copy callbacks decide). */
    if (combiner == MPI_COMBINER_DUP && tide_attr_type_copy &&
        (rc = tide_attr_type_copy(types[0], *out)) != MPI_SUCCESS) {
        tide_dtype_free_handle(*out);
        *out = MPI_DATATYPE_NULL;
        return tide_mpi_error(MPI_COMM_NULL, fn, rc, "an attribute copy callback failed (error %d)",
                              rc);
    }
    return MPI_SUCCESS;
}

void tide_dtype_set_inner(MPI_Datatype h, MPI_Datatype inner)
{
    tide_dtype_t *t = tide_dtype_get(h), *in = tide_dtype_get(inner);
    __atomic_add_fetch(&in->refs, 1, __ATOMIC_RELAXED);
    t->inner = in;
    t->size = in->size;
    t->nelem = in->nelem;
    t->lb = in->lb;
    t->ub = in->ub;
    t->true_lb = in->true_lb;
    t->true_ub = in->true_ub;
    t->align = in->align;
    tide_dtype_free_handle(inner);
}

/* ---- flattening (commit) -------------------------------------------------- */

typedef struct tide_dt_flat {
    tide_p2p_blk_t *b;
    uint64_t n, cap;
    tide_dt_erun_t *e;
    MPI_Count ne, ecap;
    int oom;
} tide_dt_flat_t;

static void tide_dt_flat_block(tide_dt_flat_t *f, int64_t off, int64_t len)
{
    if (len <= 0 || f->oom)
        return;
    if (f->n && f->b[f->n - 1].off + f->b[f->n - 1].len == off) {
        f->b[f->n - 1].len += len; /* adjacent: one block */
        return;
    }
    if (f->n == f->cap) {
        uint64_t ncap = f->cap ? 2 * f->cap : 16;
        tide_p2p_blk_t *nb = realloc(f->b, ncap * sizeof(*nb));
        if (!nb) {
            f->oom = 1;
            return;
        }
        f->b = nb;
        f->cap = ncap;
    }
    f->b[f->n].off = off;
    f->b[f->n++].len = len;
}

static void tide_dt_flat_elems(tide_dt_flat_t *f, int size, MPI_Count n)
{
    if (n <= 0 || size <= 0 || f->oom)
        return;
    if (f->ne && f->e[f->ne - 1].size == size) {
        f->e[f->ne - 1].n += n;
        return;
    }
    if (f->ne == f->ecap) {
        MPI_Count ncap = f->ecap ? 2 * f->ecap : 4;
        tide_dt_erun_t *ne = realloc(f->e, (size_t)ncap * sizeof(*ne));
        if (!ne) {
            f->oom = 1;
            return;
        }
        f->e = ne;
        f->ecap = ncap;
    }
    f->e[f->ne].size = size;
    f->e[f->ne++].n = n;
}

static void tide_dt_walk(tide_dt_flat_t *f, MPI_Datatype basic, const tide_dtype_t *t, MPI_Aint off,
                         MPI_Count count);

/* A committed type is replayed from its flattened form. */
static void tide_dt_replay(tide_dt_flat_t *f, const tide_dtype_t *t, MPI_Aint off, MPI_Count count)
{
    const tide_p2p_layout_t *l = t->lay;
    if (l->nblks == 1 && l->blks[0].len == l->extent) {
        tide_dt_flat_block(f, off + l->blks[0].off, count * l->blks[0].len);
    } else {
        for (MPI_Count i = 0; i < count && !f->oom; i++)
            for (uint64_t j = 0; j < l->nblks; j++)
                tide_dt_flat_block(f, off + i * l->extent + l->blks[j].off, l->blks[j].len);
    }
    if (t->neruns == 1)
        tide_dt_flat_elems(f, t->eruns[0].size, t->eruns[0].n * count);
    else
        for (MPI_Count i = 0; i < count && !f->oom; i++)
            for (MPI_Count j = 0; j < t->neruns; j++)
                tide_dt_flat_elems(f, t->eruns[j].size, t->eruns[j].n);
}

/* Child i of t: its object or basic handle. */
#define TIDE_DT_KID(t, i) (t)->kids[i] ? 0 : (t)->types[i], (t)->kids[i]

/* Blocks of t's combiner for one item at off (everything but DUP,
 * CONTIGUOUS, RESIZED, SUBARRAY and DARRAY, which walk() handles directly). */
static void tide_dt_walk_one(tide_dt_flat_t *f, const tide_dtype_t *t, MPI_Aint off)
{
    const int *I = t->ints;
    const MPI_Aint *A = t->aints;
    MPI_Aint ext0 = tide_dt_extent_of(t->types[0]);
    if (t->kids[0])
        ext0 = t->kids[0]->ub - t->kids[0]->lb;
    switch (t->combiner) {
    case MPI_COMBINER_VECTOR:
    case MPI_COMBINER_HVECTOR: {
        MPI_Aint stride = t->combiner == MPI_COMBINER_VECTOR ? (MPI_Aint)I[2] * ext0 : A[0];
        for (int i = 0; i < I[0] && !f->oom; i++)
            tide_dt_walk(f, TIDE_DT_KID(t, 0), off + i * stride, I[1]);
        break;
    }
    case MPI_COMBINER_INDEXED:
        for (int i = 0; i < I[0] && !f->oom; i++)
            tide_dt_walk(f, TIDE_DT_KID(t, 0), off + (MPI_Aint)I[1 + I[0] + i] * ext0, I[1 + i]);
        break;
    case MPI_COMBINER_HINDEXED:
        for (int i = 0; i < I[0] && !f->oom; i++)
            tide_dt_walk(f, TIDE_DT_KID(t, 0), off + A[i], I[1 + i]);
        break;
    case MPI_COMBINER_INDEXED_BLOCK:
        for (int i = 0; i < I[0] && !f->oom; i++)
            tide_dt_walk(f, TIDE_DT_KID(t, 0), off + (MPI_Aint)I[2 + i] * ext0, I[1]);
        break;
    case MPI_COMBINER_HINDEXED_BLOCK:
        for (int i = 0; i < I[0] && !f->oom; i++)
            tide_dt_walk(f, TIDE_DT_KID(t, 0), off + A[i], I[1]);
        break;
    case MPI_COMBINER_STRUCT:
        for (int i = 0; i < I[0] && !f->oom; i++)
            tide_dt_walk(f, TIDE_DT_KID(t, i), off + A[i], I[1 + i]);
        break;
    }
}

/* Emit the blocks and elements of `count` items (basic, or t) at off. */
static void tide_dt_walk(tide_dt_flat_t *f, MPI_Datatype basic, const tide_dtype_t *t, MPI_Aint off,
                         MPI_Count count)
{
    if (!t) {
        int sz = tide_dt_size(basic);
        tide_dt_flat_block(f, off, count * sz);
        tide_dt_flat_elems(f, sz, count);
        return;
    }
    if (t->lay) {
        tide_dt_replay(f, t, off, count);
        return;
    }
    MPI_Aint ext = t->ub - t->lb;
    switch (t->combiner) {
    case MPI_COMBINER_DUP: tide_dt_walk(f, TIDE_DT_KID(t, 0), off, count); return;
    case MPI_COMBINER_SUBARRAY:
    case MPI_COMBINER_DARRAY: tide_dt_walk(f, 0, t->inner, off, count); return;
    case MPI_COMBINER_CONTIGUOUS: {
        tide_dt_info_t ci;
        tide_dt_info(t->types[0], &ci);
        if (t->kids[0])
            ci.lb = t->kids[0]->lb, ci.ub = t->kids[0]->ub;
        if (ext == (MPI_Aint)t->ints[0] * (ci.ub - ci.lb)) {
            tide_dt_walk(f, TIDE_DT_KID(t, 0), off, count * t->ints[0]);
            return;
        }
        for (MPI_Count i = 0; i < count && !f->oom; i++)
            tide_dt_walk(f, TIDE_DT_KID(t, 0), off + i * ext, t->ints[0]);
        return;
    }
    case MPI_COMBINER_RESIZED:
        for (MPI_Count i = 0; i < count && !f->oom; i++)
            tide_dt_walk(f, TIDE_DT_KID(t, 0), off + i * ext, 1);
        return;
    default:
        for (MPI_Count i = 0; i < count && !f->oom; i++)
            tide_dt_walk_one(f, t, off + i * ext);
    }
}

static void tide_dt_layout_release(tide_p2p_layout_t *lay)
{
    free(lay);
}

/* One allocation: the layout, its blocks, their packed offsets. */
static tide_p2p_layout_t *tide_dt_layout_make(const tide_dt_flat_t *f, const tide_dtype_t *t)
{
    tide_p2p_layout_t *l = malloc(sizeof(*l) + f->n * (sizeof(tide_p2p_blk_t) + sizeof(uint64_t)));
    if (!l)
        return NULL;
    tide_p2p_blk_t *b = (tide_p2p_blk_t *)(l + 1);
    uint64_t *pre = (uint64_t *)(b + f->n), sum = 0;
    for (uint64_t i = 0; i < f->n; i++) {
        b[i] = f->b[i];
        pre[i] = sum;
        sum += (uint64_t)f->b[i].len;
    }
    l->refs = 1;
    l->nblks = f->n;
    l->blks = b;
    l->pre = pre;
    l->size = sum;
    l->extent = t->ub - t->lb;
    l->release = tide_dt_layout_release;
    return l;
}

int tide_dtype_commit(MPI_Datatype h)
{
    tide_dtype_t *t = tide_dtype_get(h);
    if (!t)
        return -EINVAL;
    pthread_mutex_lock(&tide_dt_lock);
    int rc = 0;
    if (!t->lay) {
        tide_dt_flat_t f = {0};
        /* Walk the constructor tree, not a replay of t itself. */
        tide_dt_walk(&f, 0, t, 0, 1);
        tide_p2p_layout_t *l = f.oom ? NULL : tide_dt_layout_make(&f, t);
        if (l) {
            t->eruns = f.e;
            t->neruns = f.ne;
            f.e = NULL;
            __atomic_store_n(&t->lay, l, __ATOMIC_RELEASE);
        } else {
            rc = -ENOMEM;
        }
        free(f.b);
        free(f.e);
    }
    pthread_mutex_unlock(&tide_dt_lock);
    return rc;
}

/* ---- the MINLOC/MAXLOC pair types ----------------------------------------
 * Predefined, but {value; int} as C lays it out: MPI_DOUBLE_INT has 12
 * bytes of data in a 16-byte extent, like a struct type (MPI 4.1 section
 * 6.9.4).  Each is a static object of this engine, built once at load:
 * combiner MPI_COMBINER_NAMED, committed, two elements, a layout of one
 * block (value and int adjacent) or two (MPI_SHORT_INT).  Their reference
 * counts start far from zero, so they are never destroyed.  Handles are
 * 0x4c01SSII (mpi.h TIDE_DT_PAIR), outside the basic types' fast path. */

typedef struct {
    float v;
    int i;
} tide_pair_fi_t;
typedef struct {
    double v;
    int i;
} tide_pair_di_t;
typedef struct {
    long v;
    int i;
} tide_pair_li_t;
typedef struct {
    int v;
    int i;
} tide_pair_ii_t;
typedef struct {
    short v;
    int i;
} tide_pair_si_t;
typedef struct {
    long double v;
    int i;
} tide_pair_ldi_t;

typedef struct tide_dt_pair_def {
    MPI_Datatype handle, value;
    MPI_Aint ioff, extent; /* offset of the int; sizeof the struct */
    int align;
    const char *name;
} tide_dt_pair_def_t;

#define TIDE_DT_PAIR_DEF(h, v, T)                             \
    {                                                         \
        h, v, offsetof(T, i), sizeof(T), (int)_Alignof(T), #h \
    }

static const tide_dt_pair_def_t tide_dt_pair_defs[] = {
    TIDE_DT_PAIR_DEF(MPI_FLOAT_INT, MPI_FLOAT, tide_pair_fi_t),
    TIDE_DT_PAIR_DEF(MPI_DOUBLE_INT, MPI_DOUBLE, tide_pair_di_t),
    TIDE_DT_PAIR_DEF(MPI_LONG_INT, MPI_LONG, tide_pair_li_t),
    TIDE_DT_PAIR_DEF(MPI_2INT, MPI_INT, tide_pair_ii_t),
    TIDE_DT_PAIR_DEF(MPI_SHORT_INT, MPI_SHORT, tide_pair_si_t),
    TIDE_DT_PAIR_DEF(MPI_LONG_DOUBLE_INT, MPI_LONG_DOUBLE, tide_pair_ldi_t),
};
#define TIDE_DT_NPAIRS  (int)(sizeof(tide_dt_pair_defs) / sizeof(tide_dt_pair_defs[0]))
#define TIDE_DT_PAIR_I0 33 /* handle index of MPI_FLOAT_INT */

/* The object first: a pointer to it is a pointer to the whole. */
typedef struct tide_dt_pair {
    tide_dtype_t t;
    tide_p2p_layout_t lay;
    tide_p2p_blk_t blks[2];
    uint64_t pre[2];
    tide_dt_erun_t eruns[2];
} tide_dt_pair_t;

static tide_dt_pair_t tide_dt_pairs[TIDE_DT_NPAIRS];

static const tide_dt_pair_def_t *tide_dt_pair_def(const tide_dtype_t *t)
{
    const tide_dt_pair_t *p = (const tide_dt_pair_t *)t;
    if (p < tide_dt_pairs || p >= tide_dt_pairs + TIDE_DT_NPAIRS)
        return NULL;
    return &tide_dt_pair_defs[p - tide_dt_pairs];
}

MPI_Datatype tide_dt_pair_handle(const tide_dtype_t *t)
{
    const tide_dt_pair_def_t *d = tide_dt_pair_def(t);
    return d ? d->handle : MPI_DATATYPE_NULL;
}

static tide_dtype_t *tide_dt_pair_get(MPI_Datatype h)
{
    int i = (h & 0xff) - TIDE_DT_PAIR_I0;
    if (i < 0 || i >= TIDE_DT_NPAIRS || tide_dt_pair_defs[i].handle != h)
        return NULL;
    return &tide_dt_pairs[i].t;
}

static void tide_dt_pair_init(tide_dt_pair_t *p, const tide_dt_pair_def_t *d)
{
    int vs = tide_dt_size(d->value);
    tide_dtype_t *t = &p->t;
    t->refs = 1 << 30;
    t->combiner = MPI_COMBINER_NAMED;
    t->size = vs + (int)sizeof(int);
    t->ub = d->extent;
    t->true_ub = d->ioff + (MPI_Aint)sizeof(int);
    t->align = d->align;
    t->nelem = 2;
    t->committed = 1;
    snprintf(t->name, sizeof(t->name), "%s", d->name);
    /* Two entries each: the flattening below never reallocates. */
    tide_dt_flat_t f = {.b = p->blks, .cap = 2, .e = p->eruns, .ecap = 2};
    tide_dt_flat_block(&f, 0, vs);
    tide_dt_flat_block(&f, d->ioff, (int64_t)sizeof(int));
    tide_dt_flat_elems(&f, vs, 1);
    tide_dt_flat_elems(&f, (int)sizeof(int), 1);
    for (uint64_t j = 0, sum = 0; j < f.n; sum += (uint64_t)p->blks[j++].len)
        p->pre[j] = sum;
    p->lay = (tide_p2p_layout_t){.refs = 1 << 30,
                                 .nblks = f.n,
                                 .blks = p->blks,
                                 .pre = p->pre,
                                 .size = (uint64_t)t->size,
                                 .extent = d->extent};
    t->lay = &p->lay;
    t->eruns = p->eruns;
    t->neruns = f.ne;
}

__attribute__((constructor)) static void tide_dt_pairs_init(void)
{
    for (int i = 0; i < TIDE_DT_NPAIRS; i++)
        tide_dt_pair_init(&tide_dt_pairs[i], &tide_dt_pair_defs[i]);
}

/* ---- messages ------------------------------------------------------------- */

int tide_dtype_msg(MPI_Datatype dt, int count, tide_dt_msg_t *m)
{
    tide_dtype_t *t = tide_dtype_get(dt);
    if (!t)
        return -EINVAL;
    tide_p2p_layout_t *l = __atomic_load_n(&t->lay, __ATOMIC_ACQUIRE);
    if (!l)
        return -EPERM;
    m->bytes = (uint64_t)count * l->size;
    m->shift = 0;
    m->lay = NULL;
    if (l->nblks == 0 || count == 0)
        return 0;
    if (l->nblks == 1 && (count == 1 || l->blks[0].len == l->extent)) {
        m->shift = l->blks[0].off; /* contiguous: the basic types' path */
        return 0;
    }
    m->lay = l;
    return 0;
}

int tide_dt_msg_error(const char *fn, MPI_Comm comm, MPI_Datatype dt, int rc)
{
    if (rc == -EPERM)
        return tide_mpi_error(comm, fn, MPI_ERR_TYPE,
                              "argument datatype (handle 0x%x) is not committed; call "
                              "MPI_Type_commit before using it in communication",
                              (unsigned)dt);
    return tide_mpi_error(comm, fn, MPI_ERR_TYPE,
                          "argument datatype (handle 0x%x) is not a valid datatype", (unsigned)dt);
}

int tide_dtype_count(MPI_Datatype dt, MPI_Count bytes, MPI_Count *items, MPI_Count *elements)
{
    tide_dtype_t *t = tide_dtype_get(dt);
    if (!t)
        return -EINVAL;
    if (t->size == 0) {
        *items = 0;
        *elements = 0;
        return 0;
    }
    MPI_Count full = bytes / t->size, rest = bytes % t->size;
    *items = rest ? MPI_UNDEFINED : full;
    MPI_Count el = full * t->nelem;
    for (MPI_Count j = 0; rest && j < t->neruns; j++) {
        MPI_Count run = t->eruns[j].size * t->eruns[j].n;
        MPI_Count take = rest < run ? rest : run;
        el += take / t->eruns[j].size;
        rest -= take;
        if (take < run && take % t->eruns[j].size)
            return *elements = MPI_UNDEFINED, 0; /* ends inside an element */
    }
    *elements = el;
    return 0;
}

/* ---- typemap walk by basic element (external32) -------------------------- */

typedef struct tide_dt_each {
    tide_dt_elem_fn_t fn;
    void *arg;
} tide_dt_each_t;

static int tide_dt_each(const tide_dt_each_t *e, MPI_Datatype basic, const tide_dtype_t *t,
                        MPI_Aint off, MPI_Count count);

/* One item of t at off, by its constructor. */
static int tide_dt_each_one(const tide_dt_each_t *e, const tide_dtype_t *t, MPI_Aint off)
{
    const int *I = t->ints;
    const MPI_Aint *A = t->aints;
    const tide_dt_pair_def_t *d = tide_dt_pair_def(t);
    int rc = 0;
    if (d) { /* a pair type: the value, then the int */
        rc = e->fn(e->arg, off, d->value, 1);
        return rc ? rc : e->fn(e->arg, off + d->ioff, MPI_INT, 1);
    }
    MPI_Aint ext0 = t->kids[0] ? t->kids[0]->ub - t->kids[0]->lb : tide_dt_extent_of(t->types[0]);
    switch (t->combiner) {
    case MPI_COMBINER_DUP: return tide_dt_each(e, TIDE_DT_KID(t, 0), off, 1);
    case MPI_COMBINER_SUBARRAY:
    case MPI_COMBINER_DARRAY: return tide_dt_each(e, 0, t->inner, off, 1);
    case MPI_COMBINER_CONTIGUOUS: return tide_dt_each(e, TIDE_DT_KID(t, 0), off, I[0]);
    case MPI_COMBINER_RESIZED: return tide_dt_each(e, TIDE_DT_KID(t, 0), off, 1);
    case MPI_COMBINER_VECTOR:
    case MPI_COMBINER_HVECTOR: {
        MPI_Aint stride = t->combiner == MPI_COMBINER_VECTOR ? (MPI_Aint)I[2] * ext0 : A[0];
        for (int i = 0; i < I[0] && !rc; i++)
            rc = tide_dt_each(e, TIDE_DT_KID(t, 0), off + i * stride, I[1]);
        return rc;
    }
    case MPI_COMBINER_INDEXED:
        for (int i = 0; i < I[0] && !rc; i++)
            rc = tide_dt_each(e, TIDE_DT_KID(t, 0), off + (MPI_Aint)I[1 + I[0] + i] * ext0,
                              I[1 + i]);
        return rc;
    case MPI_COMBINER_HINDEXED:
        for (int i = 0; i < I[0] && !rc; i++)
            rc = tide_dt_each(e, TIDE_DT_KID(t, 0), off + A[i], I[1 + i]);
        return rc;
    case MPI_COMBINER_INDEXED_BLOCK:
        for (int i = 0; i < I[0] && !rc; i++)
            rc = tide_dt_each(e, TIDE_DT_KID(t, 0), off + (MPI_Aint)I[2 + i] * ext0, I[1]);
        return rc;
    case MPI_COMBINER_HINDEXED_BLOCK:
        for (int i = 0; i < I[0] && !rc; i++)
            rc = tide_dt_each(e, TIDE_DT_KID(t, 0), off + A[i], I[1]);
        return rc;
    case MPI_COMBINER_STRUCT:
        for (int i = 0; i < I[0] && !rc; i++)
            rc = tide_dt_each(e, TIDE_DT_KID(t, i), off + A[i], I[1 + i]);
        return rc;
    }
    return -EINVAL;
}

static int tide_dt_each(const tide_dt_each_t *e, MPI_Datatype basic, const tide_dtype_t *t,
                        MPI_Aint off, MPI_Count count)
{
    if (!t)
        return count ? e->fn(e->arg, off, basic, count) : 0;
    MPI_Aint ext = t->ub - t->lb;
    int rc = 0;
    for (MPI_Count i = 0; i < count && !rc; i++)
        rc = tide_dt_each_one(e, t, off + i * ext);
    return rc;
}

int tide_dtype_each_elem(MPI_Datatype dt, MPI_Count count, tide_dt_elem_fn_t fn, void *arg)
{
    tide_dt_each_t e = {fn, arg};
    tide_dtype_t *t = tide_dtype_get(dt);
    if (!t && tide_dt_size(dt) < 0)
        return -EINVAL;
    return tide_dt_each(&e, t ? 0 : dt, t, 0, count);
}
