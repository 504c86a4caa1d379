/* Datatypes: the predefined (basic) types.  A basic type's handle carries
 * its size (mpi.h: 0x4c00SSII), so the hot path needs no table lookup.
 * Element counts from statuses (MPI_Get_count, MPI_Get_elements).
 * Derived types live in dtype.c; the calls here answer for both. */
#include "config.h"
#include "mpi/dtype.h"
#include "mpi/mpi_impl.h"

#include <stdio.h>
#include <string.h>

#define TIDE_DT_NBASIC 39

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
                                                          "MPI_C_FLOAT_COMPLEX",
                                                          "MPI_C_DOUBLE_COMPLEX",
                                                          "MPI_C_LONG_DOUBLE_COMPLEX",
                                                          "MPI_FLOAT_INT",
                                                          "MPI_DOUBLE_INT",
                                                          "MPI_LONG_INT",
                                                          "MPI_2INT",
                                                          "MPI_SHORT_INT",
                                                          "MPI_LONG_DOUBLE_INT"};

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
