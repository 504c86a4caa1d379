/* User error handlers and user error codes (MPI 4.1 sections 9.3, 9.5).
 * Handles 1..3 are the predefined handlers (MPI_ERRORS_ARE_FATAL,
 * MPI_ERRORS_RETURN, MPI_ERRORS_ABORT); created handlers follow, reference
 * counted: each communicator that uses one holds a reference, so
 * MPI_Errhandler_free only drops the user's.  Error classes and codes
 * added by the program are numbered after MPI_T's codes (80 up). */
#include "config.h"
#include "mpi/comm_impl.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct tide_errh {
    MPI_Comm_errhandler_function *fn;
    int refs;
} tide_errh_t;

enum { TIDE_ERRH_FIRST_USER = MPI_ERRORS_ABORT + 1, TIDE_ERR_FIRST_USER = 80 };

static pthread_mutex_t tide_errh_lock = PTHREAD_MUTEX_INITIALIZER;
static tide_errh_t **tide_errhs;
static int tide_errhs_cap;

typedef struct tide_err_code {
    int cls;
    char *string;
} tide_err_code_t;
static tide_err_code_t *tide_err_codes; /* index: code - TIDE_ERR_FIRST_USER */
static int tide_err_ncodes, tide_err_codes_cap;

static tide_errh_t *tide_errh_lookup_locked(MPI_Errhandler eh)
{
    return eh >= TIDE_ERRH_FIRST_USER && eh < tide_errhs_cap ? tide_errhs[eh] : NULL;
}

int tide_errh_valid(MPI_Errhandler eh)
{
    if (eh >= MPI_ERRORS_ARE_FATAL && eh <= MPI_ERRORS_ABORT)
        return 1;
    pthread_mutex_lock(&tide_errh_lock);
    int ok = tide_errh_lookup_locked(eh) != NULL;
    pthread_mutex_unlock(&tide_errh_lock);
    return ok;
}

void tide_errh_ref(MPI_Errhandler eh)
{
    pthread_mutex_lock(&tide_errh_lock);
    tide_errh_t *h = tide_errh_lookup_locked(eh);
    if (h)
        h->refs++;
    pthread_mutex_unlock(&tide_errh_lock);
}

void tide_errh_unref(MPI_Errhandler eh)
{
    pthread_mutex_lock(&tide_errh_lock);
    tide_errh_t *h = tide_errh_lookup_locked(eh);
    if (h && --h->refs == 0) {
        tide_errhs[eh] = NULL;
        free(h);
    }
    pthread_mutex_unlock(&tide_errh_lock);
}

int tide_errh_call_user(MPI_Errhandler eh, MPI_Comm comm, int code)
{
    pthread_mutex_lock(&tide_errh_lock);
    tide_errh_t *h = tide_errh_lookup_locked(eh);
    MPI_Comm_errhandler_function *fn = h ? h->fn : NULL;
    pthread_mutex_unlock(&tide_errh_lock);
    if (!fn)
        return 0;
    fn(&comm, &code);
    return 1;
}

int PMPI_Comm_create_errhandler(MPI_Comm_errhandler_function *comm_errhandler_fn,
                                MPI_Errhandler *errhandler)
{
    static const char fn[] = "MPI_Comm_create_errhandler";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, comm_errhandler_fn, "comm_errhandler_fn");
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, errhandler, "errhandler");
    tide_errh_t *h = malloc(sizeof(*h));
    if (!h)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_NO_MEM, "out of memory");
    h->fn = comm_errhandler_fn;
    h->refs = 1;
    MPI_Errhandler eh = 0;
    pthread_mutex_lock(&tide_errh_lock);
    for (int i = TIDE_ERRH_FIRST_USER; i < tide_errhs_cap && !eh; i++)
        if (!tide_errhs[i])
            eh = i;
    if (!eh) {
        int cap = tide_errhs_cap ? 2 * tide_errhs_cap : 32;
        tide_errh_t **t = realloc(tide_errhs, (size_t)cap * sizeof(*t));
        if (t) {
            memset(t + tide_errhs_cap, 0, (size_t)(cap - tide_errhs_cap) * sizeof(*t));
            eh = tide_errhs_cap ? tide_errhs_cap : TIDE_ERRH_FIRST_USER;
            tide_errhs = t;
            tide_errhs_cap = cap;
        }
    }
    if (eh)
        tide_errhs[eh] = h;
    pthread_mutex_unlock(&tide_errh_lock);
    if (!eh) {
        free(h);
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_NO_MEM, "out of memory");
    }
    *errhandler = eh;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Comm_create_errhandler);

int PMPI_Errhandler_free(MPI_Errhandler *errhandler)
{
    static const char fn[] = "MPI_Errhandler_free";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, errhandler, "errhandler");
    if (!tide_errh_valid(*errhandler))
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ERRHANDLER,
                              "argument errhandler (handle %d) is not a valid error handler",
                              (int)*errhandler);
    /* Freeing a predefined handler only resets the handle (MPI 4.1 9.3.4). */
    tide_errh_unref(*errhandler);
    *errhandler = MPI_ERRHANDLER_NULL;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Errhandler_free);

int PMPI_Comm_call_errhandler(MPI_Comm comm, int errorcode)
{
    static const char fn[] = "MPI_Comm_call_errhandler";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    int cls;
    if (PMPI_Error_class(errorcode, &cls) != MPI_SUCCESS)
        return MPI_ERR_ARG;
    tide_mpi_error(comm, fn, errorcode, "the program raised error code %d", errorcode);
    return MPI_SUCCESS; /* the handler was called and returned */
}
TIDE_MPI_WEAK(MPI_Comm_call_errhandler);

/* ---- error classes and codes added by the program ---- */
int tide_err_lastused(void)
{
    pthread_mutex_lock(&tide_errh_lock);
    int last = TIDE_ERR_FIRST_USER - 1 + tide_err_ncodes;
    pthread_mutex_unlock(&tide_errh_lock);
    return last;
}

const char *tide_err_user(int code, int *cls)
{
    const char *s = NULL;
    pthread_mutex_lock(&tide_errh_lock);
    int i = code - TIDE_ERR_FIRST_USER;
    if (i >= 0 && i < tide_err_ncodes) {
        *cls = tide_err_codes[i].cls;
        s = tide_err_codes[i].string ? tide_err_codes[i].string : "";
    }
    pthread_mutex_unlock(&tide_errh_lock);
    return s;
}

/* A new code of class cls (-1: the code is a new class). */
static int tide_err_add(int cls)
{
    int code = -1;
    pthread_mutex_lock(&tide_errh_lock);
    if (tide_err_ncodes == tide_err_codes_cap) {
        int cap = tide_err_codes_cap ? 2 * tide_err_codes_cap : 16;
        tide_err_code_t *t = realloc(tide_err_codes, (size_t)cap * sizeof(*t));
        if (t) {
            tide_err_codes = t;
            tide_err_codes_cap = cap;
        }
    }
    if (tide_err_ncodes < tide_err_codes_cap) {
        code = TIDE_ERR_FIRST_USER + tide_err_ncodes;
        tide_err_codes[tide_err_ncodes++] = (tide_err_code_t){cls < 0 ? code : cls, NULL};
    }
    pthread_mutex_unlock(&tide_errh_lock);
    return code;
}

int PMPI_Add_error_class(int *errorclass)
{
    static const char fn[] = "MPI_Add_error_class";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, errorclass, "errorclass");
    int c = tide_err_add(-1);
    if (c < 0)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_NO_MEM, "out of memory");
    *errorclass = c;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Add_error_class);

int PMPI_Add_error_code(int errorclass, int *errorcode)
{
    static const char fn[] = "MPI_Add_error_code";
    TIDE_MPI_CHECK_INIT(fn);
    int cls;
    const char *user = tide_err_user(errorclass, &cls);
    if (!(errorclass >= 0 && errorclass < MPI_ERR_LASTCODE) && !(user && cls == errorclass))
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ARG,
                              "argument errorclass (%d) is not an error class", errorclass);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, errorcode, "errorcode");
    int c = tide_err_add(errorclass);
    if (c < 0)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_NO_MEM, "out of memory");
    *errorcode = c;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Add_error_code);

int PMPI_Add_error_string(int errorcode, const char *string)
{
    static const char fn[] = "MPI_Add_error_string";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, string, "string");
    if (strlen(string) >= MPI_MAX_ERROR_STRING)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ARG,
                              "argument string is longer than MPI_MAX_ERROR_STRING - 1");
    char *copy = strdup(string);
    if (!copy)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_NO_MEM, "out of memory");
    pthread_mutex_lock(&tide_errh_lock);
    int i = errorcode - TIDE_ERR_FIRST_USER, ok = i >= 0 && i < tide_err_ncodes;
    if (ok) {
        free(tide_err_codes[i].string);
        tide_err_codes[i].string = copy;
    }
    pthread_mutex_unlock(&tide_errh_lock);
    if (!ok) {
        free(copy);
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ARG,
                              "argument errorcode (%d) was not added by MPI_Add_error_code or "
                              "MPI_Add_error_class",
                              errorcode);
    }
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Add_error_string);
