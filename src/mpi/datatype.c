/* Datatypes: the predefined (basic) types.  A basic type's handle carries
 * its size (mpi.h: 0x4c00SSII), so the hot path needs no table lookup.
 * Element counts from statuses (MPI_Get_count, MPI_Get_elements), and the
 * portable "external32" representation (MPI_Pack_external and friends).
 * Derived types live in dtype.c; the calls here answer for both. */
#include "config.h"
#include "mpi/dtype.h"
#include "mpi/mpi_impl.h"

#include <float.h>
#include <stdio.h>
#include <string.h>

#define TIDE_DT_NBASIC 43

/* Standard names by handle index; MPI_C_FLOAT_COMPLEX is MPI_C_COMPLEX's
 * handle and reports that name, as MPICH does (datatype/typename). */
static const char *const tide_dt_names[TIDE_DT_NBASIC] = {NULL,
                                                          "MPI_CHAR",
                                                          "MPI_SIGNED_CHAR",
                                                          "MPI_UNSIGNED_CHAR",
                                                          "MPI_BYTE",
                                                          "MPI_SHORT",
                                                          "MPI_UNSIGNED_SHORT",
                                                          "MPI_INT",
                                                          "MPI_UNSIGNED",
                                                          "MPI_LONG",
                                                          "MPI_UNSIGNED_LONG",
                                                          "MPI_LONG_LONG_INT",
                                                          "MPI_UNSIGNED_LONG_LONG",
                                                          "MPI_FLOAT",
                                                          "MPI_DOUBLE",
                                                          "MPI_LONG_DOUBLE",
                                                          "MPI_WCHAR",
                                                          "MPI_C_BOOL",
                                                          "MPI_INT8_T",
                                                          "MPI_INT16_T",
                                                          "MPI_INT32_T",
                                                          "MPI_INT64_T",
                                                          "MPI_UINT8_T",
                                                          "MPI_UINT16_T",
                                                          "MPI_UINT32_T",
                                                          "MPI_UINT64_T",
                                                          "MPI_AINT",
                                                          "MPI_OFFSET",
                                                          "MPI_COUNT",
                                                          "MPI_PACKED",
                                                          "MPI_C_COMPLEX",
                                                          "MPI_C_DOUBLE_COMPLEX",
                                                          "MPI_C_LONG_DOUBLE_COMPLEX",
                                                          "MPI_FLOAT_INT",
                                                          "MPI_DOUBLE_INT",
                                                          "MPI_LONG_INT",
                                                          "MPI_2INT",
                                                          "MPI_SHORT_INT",
                                                          "MPI_LONG_DOUBLE_INT",
                                                          "MPI_CXX_BOOL",
                                                          "MPI_CXX_FLOAT_COMPLEX",
                                                          "MPI_CXX_DOUBLE_COMPLEX",
                                                          "MPI_CXX_LONG_DOUBLE_COMPLEX"};

int tide_dt_size(MPI_Datatype dt)
{
    if ((dt & 0xffff0000) != 0x4c000000)
        return -1;
    int idx = dt & 0xff;
    if (idx < 1 || idx >= TIDE_DT_NBASIC)
        return -1;
    return (dt >> 8) & 0xff;
}

const char *tide_dt_basic_name(MPI_Datatype dt)
{
    return tide_dt_size(dt) < 0 ? NULL : tide_dt_names[dt & 0xff];
}

int PMPI_Type_size(MPI_Datatype datatype, int *size)
{
    static const char fn[] = "MPI_Type_size";
    TIDE_MPI_CHECK_INIT(fn);
    tide_dtype_t *t = tide_dtype_get(datatype);
    if (t) { /* derived */
        TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, size, "size");
        *size = t->size > 0x7fffffff ? MPI_UNDEFINED : (int)t->size;
        return MPI_SUCCESS;
    }
    int sz = tide_dt_size(datatype);
    if (sz < 0)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_TYPE,
                              "argument datatype (handle 0x%x) is not a valid datatype",
                              (unsigned)datatype);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, size, "size");
    *size = sz;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Type_size);

int PMPI_Type_get_name(MPI_Datatype datatype, char *type_name, int *resultlen)
{
    static const char fn[] = "MPI_Type_get_name";
    TIDE_MPI_CHECK_INIT(fn);
    const char *name = tide_dt_name(datatype); /* basic or derived (dtype_api.c) */
    if (!name)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_TYPE,
                              "argument datatype (handle 0x%x) is not a valid datatype",
                              (unsigned)datatype);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, type_name, "type_name");
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, resultlen, "resultlen");
    *resultlen = snprintf(type_name, MPI_MAX_OBJECT_NAME, "%s", name);
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Type_get_name);

static int tide_dt_count_from_status(const char *fn, const MPI_Status *status,
                                     MPI_Datatype datatype, int *count, int elems)
{
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, status, "status");
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, count, "count");
    MPI_Count items, elements;
    if (tide_dtype_count(datatype, status->tide_count, &items, &elements) == 0) { /* derived */
        MPI_Count v = elems ? elements : items;
        *count = v > 0x7fffffff ? MPI_UNDEFINED : (int)v;
        return MPI_SUCCESS;
    }
    int sz = tide_dt_size(datatype);
    if (sz < 0)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_TYPE,
                              "argument datatype (handle 0x%x) is not a valid datatype",
                              (unsigned)datatype);
    MPI_Count bytes = status->tide_count;
    if (sz == 0)
        *count = bytes == 0 ? 0 : MPI_UNDEFINED;
    else if (bytes % sz != 0 || bytes / sz > 0x7fffffff)
        *count = MPI_UNDEFINED;
    else
        *count = (int)(bytes / sz);
    return MPI_SUCCESS;
}

int PMPI_Get_count(const MPI_Status *status, MPI_Datatype datatype, int *count)
{
    return tide_dt_count_from_status("MPI_Get_count", status, datatype, count, 0);
}
TIDE_MPI_WEAK(MPI_Get_count);

int PMPI_Get_elements(const MPI_Status *status, MPI_Datatype datatype, int *count)
{
    /* For basic types an element is the type itself. */
    return tide_dt_count_from_status("MPI_Get_elements", status, datatype, count, 1);
}
TIDE_MPI_WEAK(MPI_Get_elements);

int PMPI_Get_elements_x(const MPI_Status *status, MPI_Datatype datatype, MPI_Count *count)
{
    static const char fn[] = "MPI_Get_elements_x";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, status, "status");
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, count, "count");
    MPI_Count items;
    if (tide_dtype_count(datatype, status->tide_count, &items, count) == 0)
        return MPI_SUCCESS; /* derived */
    int sz = tide_dt_size(datatype);
    if (sz <= 0)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_TYPE,
                              "argument datatype (handle 0x%x) is not a valid datatype",
                              (unsigned)datatype);
    *count = status->tide_count % sz ? MPI_UNDEFINED : status->tide_count / sz;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Get_elements_x);

/* ---- external32 (MPI 4.1 section 13.5.2): MPI_Pack_external ------------- */

/* How a basic element travels in external32: big-endian, the sizes of
 * MPI 4.1 table 13.2 (long is 4 bytes, wchar 2, long double IEEE binary128).
 * Complex types are two reals.  (The MINLOC/MAXLOC pairs are walked as their
 * value and their int, dtype.c.) */
enum { TIDE_X32_RAW, TIDE_X32_SINT, TIDE_X32_UINT, TIDE_X32_REAL, TIDE_X32_LDBL };

typedef struct tide_x32 {
    unsigned char kind, xsize; /* external size of one scalar */
    unsigned char nsize;       /* native size of one scalar */
    unsigned char n;           /* scalars in the element (complex: 2) */
} tide_x32_t;

static const tide_x32_t tide_x32_table[TIDE_DT_NBASIC] = {
    [1] = {TIDE_X32_RAW, 1, 1, 1},     [2] = {TIDE_X32_RAW, 1, 1, 1},
    [3] = {TIDE_X32_RAW, 1, 1, 1},     [4] = {TIDE_X32_RAW, 1, 1, 1},
    [5] = {TIDE_X32_SINT, 2, 2, 1},    [6] = {TIDE_X32_UINT, 2, 2, 1},
    [7] = {TIDE_X32_SINT, 4, 4, 1},    [8] = {TIDE_X32_UINT, 4, 4, 1},
    [9] = {TIDE_X32_SINT, 4, 8, 1},    [10] = {TIDE_X32_UINT, 4, 8, 1},
    [11] = {TIDE_X32_SINT, 8, 8, 1},   [12] = {TIDE_X32_UINT, 8, 8, 1},
    [13] = {TIDE_X32_REAL, 4, 4, 1},   [14] = {TIDE_X32_REAL, 8, 8, 1},
    [15] = {TIDE_X32_LDBL, 16, 16, 1}, [16] = {TIDE_X32_UINT, 2, 4, 1},
    [17] = {TIDE_X32_RAW, 1, 1, 1},    [18] = {TIDE_X32_SINT, 1, 1, 1},
    [19] = {TIDE_X32_SINT, 2, 2, 1},   [20] = {TIDE_X32_SINT, 4, 4, 1},
    [21] = {TIDE_X32_SINT, 8, 8, 1},   [22] = {TIDE_X32_UINT, 1, 1, 1},
    [23] = {TIDE_X32_UINT, 2, 2, 1},   [24] = {TIDE_X32_UINT, 4, 4, 1},
    [25] = {TIDE_X32_UINT, 8, 8, 1},   [26] = {TIDE_X32_SINT, 8, 8, 1},
    [27] = {TIDE_X32_SINT, 8, 8, 1},   [28] = {TIDE_X32_SINT, 8, 8, 1},
    [29] = {TIDE_X32_RAW, 1, 1, 1},    [30] = {TIDE_X32_REAL, 4, 4, 2},
    [31] = {TIDE_X32_REAL, 8, 8, 2},   [32] = {TIDE_X32_LDBL, 16, 16, 2},
    [39] = {TIDE_X32_RAW, 1, 1, 1},    [40] = {TIDE_X32_REAL, 4, 4, 2},
    [41] = {TIDE_X32_REAL, 8, 8, 2},   [42] = {TIDE_X32_LDBL, 16, 16, 2},
};

/* External bytes of one element of basic type dt. */
static int tide_x32_size(MPI_Datatype dt)
{
    const tide_x32_t *x = &tide_x32_table[dt & 0xff];
    return x->n * x->xsize;
}

/* A native little- or big-endian integer of n bytes, as raw bits. */
static uint64_t tide_x32_load(const unsigned char *p, int n)
{
    uint64_t v = 0;
    memcpy(&v, p, (size_t)n); /* n <= 8 */
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v >>= 8 * (8 - n);
#endif
    return v;
}

static void tide_x32_store(unsigned char *p, uint64_t v, int n)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v <<= 8 * (8 - n);
#endif
    memcpy(p, &v, (size_t)n);
}

static void tide_x32_put_be(unsigned char *out, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        out[i] = (unsigned char)v;
}

static uint64_t tide_x32_get_be(const unsigned char *in, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | in[i];
    return v;
}

/* x86 80-bit extended (in 16 bytes) <-> IEEE binary128, big-endian: same
 * sign, exponent and bias; the explicit integer bit is dropped. */
static void tide_x32_ldbl_out(unsigned char *out, const unsigned char *in)
{
#if LDBL_MANT_DIG == 64
    uint64_t mant = tide_x32_load(in, 8), se = tide_x32_load(in + 8, 2);
    uint64_t frac = mant & ~(1ULL << 63); /* 63 bits -> the top of 112 */
    tide_x32_put_be(out, se << 48 | frac >> 15, 8);
    tide_x32_put_be(out + 8, frac << 49, 8);
#else /* binary128 (or double) already: byte order only */
    for (int i = 0; i < 16; i++)
        out[i] = in[LDBL_MANT_DIG == 113 ? 15 - i : i];
#endif
}

static void tide_x32_ldbl_in(unsigned char *out, const unsigned char *in)
{
#if LDBL_MANT_DIG == 64
    uint64_t hi = tide_x32_get_be(in, 8), lo = tide_x32_get_be(in + 8, 8);
    uint64_t se = hi >> 48, frac = (hi & 0xffffffffffffULL) << 15 | lo >> 49;
    uint64_t mant = frac | ((se & 0x7fff) ? 1ULL << 63 : 0);
    memset(out, 0, 16);
    tide_x32_store(out, mant, 8);
    tide_x32_store(out + 8, se, 2);
#else
    for (int i = 0; i < 16; i++)
        out[i] = in[LDBL_MANT_DIG == 113 ? 15 - i : i];
#endif
}

/* One scalar out: -ERANGE if an integer does not fit its external size. */
static int tide_x32_scalar_out(const tide_x32_t *x, unsigned char *out, const unsigned char *in)
{
    if (x->kind == TIDE_X32_LDBL) {
        tide_x32_ldbl_out(out, in);
        return 0;
    }
    uint64_t v = tide_x32_load(in, x->nsize);
    if (x->xsize < x->nsize) {
        int sh = 64 - 8 * x->nsize, xb = 8 * x->xsize;
        int64_t s = (int64_t)(v << sh) >> sh;
        if (x->kind == TIDE_X32_SINT ? s < -(1LL << (xb - 1)) || s >= (1LL << (xb - 1))
                                     : v >> xb != 0)
            return -ERANGE;
    }
    tide_x32_put_be(out, v, x->xsize);
    return 0;
}

static void tide_x32_scalar_in(const tide_x32_t *x, unsigned char *out, const unsigned char *in)
{
    if (x->kind == TIDE_X32_LDBL) {
        tide_x32_ldbl_in(out, in);
        return;
    }
    uint64_t v = tide_x32_get_be(in, x->xsize);
    if (x->xsize < x->nsize && x->kind == TIDE_X32_SINT) {
        int sh = 64 - 8 * x->xsize;
        v = (uint64_t)((int64_t)(v << sh) >> sh); /* sign-extend */
    }
    tide_x32_store(out, v, x->nsize);
}

typedef struct tide_x32_walk {
    unsigned char *user; /* the user's buffer (origin of the offsets) */
    unsigned char *ext;  /* the external32 buffer, advancing */
    int out;             /* pack (1) or unpack (0) */
    MPI_Aint bytes;      /* external bytes so far (size only when ext is NULL) */
} tide_x32_walk_t;

static int tide_x32_elem(void *arg, MPI_Aint off, MPI_Datatype dt, MPI_Count n)
{
    tide_x32_walk_t *w = arg;
    const tide_x32_t *x = &tide_x32_table[dt & 0xff];
    int nsz = tide_dt_size(dt);
    w->bytes += n * tide_x32_size(dt);
    for (MPI_Count i = 0; w->ext && i < n; i++) {
        unsigned char *u = w->user + off + i * nsz;
        for (int k = 0; k < x->n; k++) {
            unsigned char *us = u + k * x->nsize;
            if (!w->out)
                tide_x32_scalar_in(x, us, w->ext);
            else if (tide_x32_scalar_out(x, w->ext, us))
                return -ERANGE;
            w->ext += x->xsize;
        }
    }
    return 0;
}

static int tide_x32_check(const char *fn, const char *datarep, int count, MPI_Datatype dt)
{
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, datarep, "datarep");
    if (strcmp(datarep, "external32") != 0)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ARG,
                              "argument datarep (\"%s\") is not \"external32\", the only data "
                              "representation Tide knows",
                              datarep);
    if (count < 0)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_COUNT, "count (%d) is negative", count);
    tide_dt_msg_t m;
    int rc = tide_dt_msg(dt, count, &m);
    return rc ? tide_dt_msg_error(fn, MPI_COMM_NULL, dt, rc) : MPI_SUCCESS;
}

static int tide_x32_run(const char *fn, void *user, int count, MPI_Datatype dt, void *ext,
                        MPI_Aint size, MPI_Aint *position, int out)
{
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, position, "position");
    tide_x32_walk_t w = {user, NULL, out, 0};
    tide_dtype_each_elem(dt, count, tide_x32_elem, &w); /* size */
    if (*position < 0 || *position + w.bytes > size)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_TRUNCATE,
                              "%lld external32 bytes at position %lld do not fit in %s %lld",
                              (long long)w.bytes, (long long)*position, out ? "outsize" : "insize",
                              (long long)size);
    w.ext = (unsigned char *)ext + *position;
    w.bytes = 0;
    if (tide_dtype_each_elem(dt, count, tide_x32_elem, &w))
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_CONVERSION,
                              "a value of the data does not fit its external32 size (MPI_LONG, "
                              "MPI_UNSIGNED_LONG: 4 bytes; MPI_WCHAR: 2 bytes)");
    *position += w.bytes;
    return MPI_SUCCESS;
}

int PMPI_Pack_external(const char datarep[], const void *inbuf, int incount, MPI_Datatype datatype,
                       void *outbuf, MPI_Aint outsize, MPI_Aint *position)
{
    static const char fn[] = "MPI_Pack_external";
    int rc = tide_x32_check(fn, datarep, incount, datatype);
    if (rc)
        return rc;
    return tide_x32_run(fn, (void *)(uintptr_t)inbuf, incount, datatype, outbuf, outsize, position,
                        1);
}
TIDE_MPI_WEAK(MPI_Pack_external);

int PMPI_Unpack_external(const char datarep[], const void *inbuf, MPI_Aint insize,
                         MPI_Aint *position, void *outbuf, int outcount, MPI_Datatype datatype)
{
    static const char fn[] = "MPI_Unpack_external";
    int rc = tide_x32_check(fn, datarep, outcount, datatype);
    if (rc)
        return rc;
    return tide_x32_run(fn, outbuf, outcount, datatype, (void *)(uintptr_t)inbuf, insize, position,
                        0);
}
TIDE_MPI_WEAK(MPI_Unpack_external);

int PMPI_Pack_external_size(const char datarep[], int incount, MPI_Datatype datatype,
                            MPI_Aint *size)
{
    static const char fn[] = "MPI_Pack_external_size";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, datarep, "datarep");
    if (strcmp(datarep, "external32") != 0)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ARG,
                              "argument datarep (\"%s\") is not \"external32\"", datarep);
    if (incount < 0)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_COUNT, "argument incount (%d) is negative",
                              incount);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, size, "size");
    tide_x32_walk_t w = {NULL, NULL, 1, 0};
    if (tide_dtype_each_elem(datatype, incount, tide_x32_elem, &w))
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_TYPE,
                              "argument datatype (handle 0x%x) is not a valid datatype",
                              (unsigned)datatype);
    *size = w.bytes;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Pack_external_size);
