/* MPI error classes, strings and error handlers (MPI 4.1 chapter 9).  The
 * call that detects misuse reports it through tide_mpi_error with a message
 * naming the call and the argument; the communicator's handler decides
 * whether the job ends (MPI_ERRORS_ARE_FATAL, MPI_ERRORS_ABORT) or the
 * error class is returned (MPI_ERRORS_RETURN), or calls the program's own
 * handler (errhandler.c) and returns the class. */
#include "config.h"
#include "mpi/mpi_impl.h"
#include "rte/rte.h"
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const tide_mpi_err_strings[MPI_ERR_LASTCODE] = {
    [MPI_SUCCESS] = "MPI_SUCCESS: no error",
    [MPI_ERR_BUFFER] = "MPI_ERR_BUFFER: invalid buffer pointer",
    [MPI_ERR_COUNT] = "MPI_ERR_COUNT: invalid count argument",
    [MPI_ERR_TYPE] = "MPI_ERR_TYPE: invalid datatype",
    [MPI_ERR_TAG] = "MPI_ERR_TAG: invalid tag",
    [MPI_ERR_COMM] = "MPI_ERR_COMM: invalid communicator",
    [MPI_ERR_RANK] = "MPI_ERR_RANK: invalid rank",
    [MPI_ERR_REQUEST] = "MPI_ERR_REQUEST: invalid request",
    [MPI_ERR_ROOT] = "MPI_ERR_ROOT: invalid root",
    [MPI_ERR_GROUP] = "MPI_ERR_GROUP: invalid group",
    [MPI_ERR_OP] = "MPI_ERR_OP: invalid reduction operation",
    [MPI_ERR_TOPOLOGY] = "MPI_ERR_TOPOLOGY: invalid topology",
    [MPI_ERR_DIMS] = "MPI_ERR_DIMS: invalid dimension argument",
    [MPI_ERR_ARG] = "MPI_ERR_ARG: invalid argument of some other kind",
    [MPI_ERR_UNKNOWN] = "MPI_ERR_UNKNOWN: unknown error",
    [MPI_ERR_TRUNCATE] = "MPI_ERR_TRUNCATE: message truncated on receive",
    [MPI_ERR_OTHER] = "MPI_ERR_OTHER: known error not in this list",
    [MPI_ERR_INTERN] = "MPI_ERR_INTERN: internal error",
    [MPI_ERR_IN_STATUS] = "MPI_ERR_IN_STATUS: error code is in status",
    [MPI_ERR_PENDING] = "MPI_ERR_PENDING: pending request",
    [MPI_ERR_KEYVAL] = "MPI_ERR_KEYVAL: invalid keyval",
    [MPI_ERR_NO_MEM] = "MPI_ERR_NO_MEM: out of memory",
    [MPI_ERR_BASE] = "MPI_ERR_BASE: invalid base passed to MPI_Free_mem",
    [MPI_ERR_INFO_KEY] = "MPI_ERR_INFO_KEY: key longer than MPI_MAX_INFO_KEY",
    [MPI_ERR_INFO_VALUE] = "MPI_ERR_INFO_VALUE: value longer than MPI_MAX_INFO_VAL",
    [MPI_ERR_INFO_NOKEY] = "MPI_ERR_INFO_NOKEY: invalid key passed to MPI_Info_delete",
    [MPI_ERR_SPAWN] = "MPI_ERR_SPAWN: error in spawning processes",
    [MPI_ERR_PORT] = "MPI_ERR_PORT: invalid port name",
    [MPI_ERR_SERVICE] = "MPI_ERR_SERVICE: invalid service name",
    [MPI_ERR_NAME] = "MPI_ERR_NAME: invalid service name in MPI_Lookup_name",
    [MPI_ERR_WIN] = "MPI_ERR_WIN: invalid window",
    [MPI_ERR_SIZE] = "MPI_ERR_SIZE: invalid size argument",
    [MPI_ERR_DISP] = "MPI_ERR_DISP: invalid displacement argument",
    [MPI_ERR_INFO] = "MPI_ERR_INFO: invalid info argument",
    [MPI_ERR_LOCKTYPE] = "MPI_ERR_LOCKTYPE: invalid locktype argument",
    [MPI_ERR_ASSERT] = "MPI_ERR_ASSERT: invalid assert argument",
    [MPI_ERR_RMA_CONFLICT] = "MPI_ERR_RMA_CONFLICT: conflicting accesses to window",
    [MPI_ERR_RMA_SYNC] = "MPI_ERR_RMA_SYNC: wrong synchronization of RMA calls",
    [MPI_ERR_FILE] = "MPI_ERR_FILE: invalid file handle",
    [MPI_ERR_NOT_SAME] = "MPI_ERR_NOT_SAME: collective argument not identical on all processes",
    [MPI_ERR_AMODE] = "MPI_ERR_AMODE: error related to the amode passed to MPI_File_open",
    [MPI_ERR_UNSUPPORTED_DATAREP] = "MPI_ERR_UNSUPPORTED_DATAREP: unsupported datarep",
    [MPI_ERR_UNSUPPORTED_OPERATION] = "MPI_ERR_UNSUPPORTED_OPERATION: unsupported operation",
    [MPI_ERR_NO_SUCH_FILE] = "MPI_ERR_NO_SUCH_FILE: file does not exist",
    [MPI_ERR_FILE_EXISTS] = "MPI_ERR_FILE_EXISTS: file exists",
    [MPI_ERR_BAD_FILE] = "MPI_ERR_BAD_FILE: invalid file name",
    [MPI_ERR_ACCESS] = "MPI_ERR_ACCESS: permission denied",
    [MPI_ERR_NO_SPACE] = "MPI_ERR_NO_SPACE: not enough space",
    [MPI_ERR_QUOTA] = "MPI_ERR_QUOTA: quota exceeded",
    [MPI_ERR_READ_ONLY] = "MPI_ERR_READ_ONLY: read-only file or file system",
    [MPI_ERR_FILE_IN_USE] = "MPI_ERR_FILE_IN_USE: file operation could not be completed",
    [MPI_ERR_DUP_DATAREP] = "MPI_ERR_DUP_DATAREP: data representation already defined",
    [MPI_ERR_CONVERSION] = "MPI_ERR_CONVERSION: error in user data conversion function",
    [MPI_ERR_IO] = "MPI_ERR_IO: other I/O error",
    [MPI_ERR_RMA_ATTACH] = "MPI_ERR_RMA_ATTACH: memory cannot be attached",
    [MPI_ERR_RMA_RANGE] = "MPI_ERR_RMA_RANGE: target memory is not part of the window",
    [MPI_ERR_RMA_SHARED] = "MPI_ERR_RMA_SHARED: memory cannot be shared",
    [MPI_ERR_RMA_FLAVOR] = "MPI_ERR_RMA_FLAVOR: passed window has the wrong flavor",
    [MPI_ERR_PROC_ABORTED] = "MPI_ERR_PROC_ABORTED: operation on an aborted process",
    [MPI_ERR_VALUE_TOO_LARGE] = "MPI_ERR_VALUE_TOO_LARGE: value too large to store",
    [MPI_ERR_SESSION] = "MPI_ERR_SESSION: invalid session handle",
    [MPI_ERR_ERRHANDLER] = "MPI_ERR_ERRHANDLER: invalid error handler",
    [MPI_ERR_PROC_FAILED] = "MPI_ERR_PROC_FAILED: a peer process has failed",
    [MPI_ERR_PROC_FAILED_PENDING] = "MPI_ERR_PROC_FAILED_PENDING: a process that could have "
                                    "matched this MPI_ANY_SOURCE receive has failed (the request "
                                    "is still pending)",
};

static const char *const tide_mpit_err_strings[] = {
    "MPI_T_ERR_MEMORY: out of memory",
    "MPI_T_ERR_NOT_INITIALIZED: MPI_T not initialised",
    "MPI_T_ERR_CANNOT_INIT: MPI_T cannot be initialised",
    "MPI_T_ERR_INVALID_INDEX: index invalid or no longer valid",
    "MPI_T_ERR_INVALID_ITEM: item index out of range",
    "MPI_T_ERR_INVALID_HANDLE: handle is invalid",
    "MPI_T_ERR_OUT_OF_HANDLES: no more handles available",
    "MPI_T_ERR_OUT_OF_SESSIONS: no more sessions available",
    "MPI_T_ERR_INVALID_SESSION: session argument is not valid",
    "MPI_T_ERR_CVAR_SET_NOT_NOW: variable cannot be set at this moment",
    "MPI_T_ERR_CVAR_SET_NEVER: variable cannot be set until end of execution",
    "MPI_T_ERR_PVAR_NO_STARTSTOP: variable cannot be started or stopped",
    "MPI_T_ERR_PVAR_NO_WRITE: variable cannot be written or reset",
    "MPI_T_ERR_PVAR_NO_ATOMIC: variable cannot be read and written atomically",
    "MPI_T_ERR_INVALID_NAME: name does not match a variable or category",
    "MPI_T_ERR_INVALID: invalid use of the interface or bad parameter",
};

/* The class and string of any error code; NULL if it is none. */
static const char *tide_err_describe(int code, int *cls)
{
    if (code >= 0 && code < MPI_ERR_LASTCODE) {
        *cls = code;
        return tide_mpi_err_strings[code];
    }
    if (code >= MPI_T_ERR_MEMORY && code <= MPI_T_ERR_INVALID) {
        *cls = code;
        return tide_mpit_err_strings[code - MPI_T_ERR_MEMORY];
    }
    return tide_err_user(code, cls);
}

int PMPI_Error_class(int errorcode, int *errorclass)
{
    if (!errorclass)
        return tide_mpi_error(MPI_COMM_NULL, "MPI_Error_class", MPI_ERR_ARG,
                              "argument errorclass is a NULL pointer");
    int cls;
    if (!tide_err_describe(errorcode, &cls))
        return tide_mpi_error(MPI_COMM_NULL, "MPI_Error_class", MPI_ERR_ARG,
                              "argument errorcode (%d) is not a valid error code", errorcode);
    *errorclass = cls;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Error_class);

int PMPI_Error_string(int errorcode, char *string, int *resultlen)
{
    if (!string || !resultlen)
        return tide_mpi_error(MPI_COMM_NULL, "MPI_Error_string", MPI_ERR_ARG,
                              "argument %s is a NULL pointer", string ? "resultlen" : "string");
    int cls;
    const char *s = tide_err_describe(errorcode, &cls);
    if (!s)
        return tide_mpi_error(MPI_COMM_NULL, "MPI_Error_string", MPI_ERR_ARG,
                              "argument errorcode (%d) is not a valid error code", errorcode);
    int n = snprintf(string, MPI_MAX_ERROR_STRING, "%s", s);
    *resultlen = n < MPI_MAX_ERROR_STRING ? n : MPI_MAX_ERROR_STRING - 1;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Error_string);

int tide_mpi_error(MPI_Comm comm, const char *fn, int errclass, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    if (comm == MPI_COMM_NULL) {
        /* Tied to no communicator: MPI 3.1 raises the error on
         * MPI_COMM_WORLD, MPI 4 on MPI_COMM_SELF.  MPI_COMM_SELF's handler
         * applies when the program set one there, else MPI_COMM_WORLD's:
         * programs written to either version get the handler they chose. */
        tide_comm_t *s = tide_comm_get(MPI_COMM_SELF);
        comm = s && s->errhandler != MPI_ERRORS_ARE_FATAL ? MPI_COMM_SELF : MPI_COMM_WORLD;
    }
    tide_comm_t *c = tide_comm_get(comm);
    MPI_Errhandler eh = c ? c->errhandler : MPI_ERRORS_ARE_FATAL;
    int dummy;
    const char *cls = tide_err_describe(errclass, &dummy);
    if (!cls)
        cls = "unknown error class";
    if (eh == MPI_ERRORS_RETURN) {
        tide_info("%s: %s (%s)", fn, msg, cls);
        return errclass;
    }
    if (eh != MPI_ERRORS_ARE_FATAL && eh != MPI_ERRORS_ABORT) {
        tide_info("%s: %s (%s); calling the user's error handler", fn, msg, cls);
        if (tide_errh_call_user(eh, comm, errclass))
            return errclass;
    }
    /* MPI_ERRORS_ABORT should end only the communicator's processes; Tide
     * ends the whole job (as MPI_Abort does), documented in doc/comm.md. */
    tide_error("%s: %s (%s); error handler %s ends the job", fn, msg, cls,
               eh == MPI_ERRORS_ABORT ? "MPI_ERRORS_ABORT" : "MPI_ERRORS_ARE_FATAL");
    tide_rte_abort(errclass ? errclass : 1, msg);
}

int tide_mpi_check_init(const char *fn)
{
    int st = __atomic_load_n(&tide_mpi.state, __ATOMIC_ACQUIRE);
    /* No communicator exists yet or any more: report and end this process,
     * as MPI_ERRORS_ARE_FATAL would. */
    tide_error("%s called %s; call MPI_Init first and no MPI call after MPI_Finalize", fn,
               st == TIDE_MPI_STATE_NONE ? "before MPI_Init" : "after MPI_Finalize");
    tide_rte_abort(MPI_ERR_OTHER, "MPI call outside MPI_Init/MPI_Finalize");
}

int PMPI_Comm_set_errhandler(MPI_Comm comm, MPI_Errhandler errhandler)
{
    static const char fn[] = "MPI_Comm_set_errhandler";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    if (!tide_errh_valid(errhandler))
        return tide_mpi_error(comm, fn, MPI_ERR_ERRHANDLER,
                              "argument errhandler (handle %d) is not a valid error handler",
                              (int)errhandler);
    tide_errh_ref(errhandler);
    tide_errh_unref(c->errhandler);
    c->errhandler = errhandler;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Comm_set_errhandler);

int PMPI_Comm_get_errhandler(MPI_Comm comm, MPI_Errhandler *errhandler)
{
    static const char fn[] = "MPI_Comm_get_errhandler";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    TIDE_MPI_CHECK_PTR(fn, comm, errhandler, "errhandler");
    /* The caller gets a new reference (freed with MPI_Errhandler_free). */
    tide_errh_ref(c->errhandler);
    *errhandler = c->errhandler;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Comm_get_errhandler);
