/* The C side of MPI's handle conversions (MPI 3.1 section 17.2.4): MPI_Fint
 * and MPI_<handle>_c2f/_f2c, MPI_Status_c2f/_f2c.  Tide has no Fortran
 * binding, but C programs use these to keep handles in Fortran integers
 * (MPICH's pt2pt/mprobe checks they exist).  Every Tide handle is an int,
 * so a conversion keeps the value (an invalid one stays invalid); a status
 * is copied as MPI_F_STATUS_SIZE integers.  Nothing here is on a message's
 * path. */
#include "config.h"
#include "mpi/mpi_impl.h"

#include <string.h>

#define TIDE_F2C(kind, type)           \
    MPI_Fint PMPI_##kind##_c2f(type h) \
    {                                  \
        return (MPI_Fint)h;            \
    }                                  \
    TIDE_MPI_WEAK(MPI_##kind##_c2f);   \
    type PMPI_##kind##_f2c(MPI_Fint h) \
    {                                  \
        return (type)h;                \
    }                                  \
    TIDE_MPI_WEAK(MPI_##kind##_f2c);

TIDE_F2C(Comm, MPI_Comm)
TIDE_F2C(Type, MPI_Datatype)
TIDE_F2C(Group, MPI_Group)
TIDE_F2C(Request, MPI_Request)
TIDE_F2C(Op, MPI_Op)
TIDE_F2C(Info, MPI_Info)
TIDE_F2C(Errhandler, MPI_Errhandler)
TIDE_F2C(Message, MPI_Message)

int PMPI_Status_c2f(const MPI_Status *c_status, MPI_Fint *f_status)
{
    static const char fn[] = "MPI_Status_c2f";
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, c_status, "c_status");
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, f_status, "f_status");
    memcpy(f_status, c_status, sizeof(*c_status));
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Status_c2f);

int PMPI_Status_f2c(const MPI_Fint *f_status, MPI_Status *c_status)
{
    static const char fn[] = "MPI_Status_f2c";
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, f_status, "f_status");
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, c_status, "c_status");
    memcpy(c_status, f_status, sizeof(*c_status));
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Status_f2c);
