/* Internal state and helpers of the MPI layer (src/mpi): library state,
 * communicator objects, argument checking and error reporting.  Every
 * public MPI_X is defined as PMPI_X and aliased weakly (TIDE_MPI_WEAK). */
#ifndef TIDE_MPI_IMPL_H
#define TIDE_MPI_IMPL_H

/* The whole MPI API is exported; everything else in libmpi is hidden. */
#pragma GCC visibility push(default)
#include "mpi.h"
#pragma GCC visibility pop

#include <pthread.h>

#define TIDE_MPI_WEAK(name) extern __typeof__(P##name) name __attribute__((weak, alias("P" #name)))

typedef enum {
    TIDE_MPI_STATE_NONE = 0,
    TIDE_MPI_STATE_INIT = 1,
    TIDE_MPI_STATE_FINALIZED = 2,
} tide_mpi_state_t;

typedef struct tide_mpi_global {
    int state; /* tide_mpi_state_t, read atomically */
    int thread_level;
    pthread_t main_thread;
} tide_mpi_global_t;

extern tide_mpi_global_t tide_mpi;

typedef struct tide_comm {
    MPI_Comm handle;
    int rank, size;
    MPI_Errhandler errhandler;
    char name[MPI_MAX_OBJECT_NAME];
} tide_comm_t;

/* NULL if the handle names no live communicator. */
tide_comm_t *tide_comm_get(MPI_Comm comm);
void tide_comm_init_predefined(void);

/* Report an error detected by MPI call `fn` on `comm` (MPI_COMM_NULL: no
 * communicator is involved, the MPI_COMM_WORLD handler applies, as MPI 4.1
 * section 9.3 says).  Formats "fn: message", applies the error handler and
 * returns errclass if the handler returns. */
int tide_mpi_error(MPI_Comm comm, const char *fn, int errclass, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Argument checks shared by every call. */
int tide_mpi_check_init(const char *fn);
#define TIDE_MPI_CHECK_INIT(fn)                                                                \
    do {                                                                                       \
        if (__builtin_expect(                                                                  \
                __atomic_load_n(&tide_mpi.state, __ATOMIC_ACQUIRE) != TIDE_MPI_STATE_INIT, 0)) \
            return tide_mpi_check_init(fn);                                                    \
    } while (0)

#define TIDE_MPI_CHECK_PTR(fn, comm, ptr, argname)                                            \
    do {                                                                                      \
        if (__builtin_expect((ptr) == NULL, 0))                                               \
            return tide_mpi_error((comm), (fn), MPI_ERR_ARG, "argument %s is a NULL pointer", \
                                  (argname));                                                 \
    } while (0)

/* Look up comm or return MPI_ERR_COMM through the world's handler. */
#define TIDE_MPI_GET_COMM(fn, comm, out)                                                   \
    do {                                                                                   \
        (out) = tide_comm_get(comm);                                                       \
        if (__builtin_expect((out) == NULL, 0))                                            \
            return tide_mpi_error(MPI_COMM_NULL, (fn), MPI_ERR_COMM,                       \
                                  "argument comm (handle %d) is not a valid communicator", \
                                  (int)(comm));                                            \
    } while (0)

#endif
