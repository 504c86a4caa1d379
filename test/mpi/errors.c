/* Error classes/strings and error handlers on MPI_COMM_WORLD/MPI_COMM_SELF.
 * With the argument "fatal": misuse under MPI_ERRORS_ARE_FATAL ends the job. */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#define CHECK(c)                                                         \
    do {                                                                 \
        if (!(c)) {                                                      \
            fprintf(stderr, "check failed line %d: %s\n", __LINE__, #c); \
            return 1;                                                    \
        }                                                                \
    } while (0)

int main(int argc, char **argv)
{
    int cls, len, size;
    char s[MPI_MAX_ERROR_STRING];
    /* Error_class and Error_string work before MPI_Init. */
    CHECK(MPI_Error_class(MPI_ERR_TRUNCATE, &cls) == MPI_SUCCESS && cls == MPI_ERR_TRUNCATE);
    CHECK(MPI_Error_string(MPI_ERR_TAG, s, &len) == MPI_SUCCESS && strstr(s, "MPI_ERR_TAG"));
    CHECK((int)strlen(s) == len);
    for (int e = 0; e < MPI_ERR_LASTCODE; e++) {
        CHECK(MPI_Error_string(e, s, &len) == MPI_SUCCESS && len > 0);
        CHECK(MPI_Error_class(e, &cls) == MPI_SUCCESS && cls == e);
    }
    MPI_Init(&argc, &argv);
    if (argc > 1 && !strcmp(argv[1], "fatal")) {
        MPI_Comm_size((MPI_Comm)77, &size);
        return 0; /* not reached */
    }
    MPI_Errhandler eh;
    CHECK(MPI_Comm_get_errhandler(MPI_COMM_WORLD, &eh) == MPI_SUCCESS);
    CHECK(eh == MPI_ERRORS_ARE_FATAL);
    CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN) == MPI_SUCCESS);
    /* Errors tied to no communicator go to MPI_COMM_SELF's handler. */
    CHECK(MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN) == MPI_SUCCESS);
    CHECK(MPI_Comm_size((MPI_Comm)77, &size) == MPI_ERR_COMM);
    CHECK(MPI_Comm_rank(MPI_COMM_WORLD, NULL) == MPI_ERR_ARG);
    CHECK(MPI_Error_class(-3, &cls) == MPI_ERR_ARG);
    CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, 99) == MPI_ERR_ERRHANDLER);
    CHECK(MPI_Init(&argc, &argv) == MPI_ERR_OTHER); /* only once */
    int v, sv;
    CHECK(MPI_Get_version(&v, &sv) == MPI_SUCCESS && v == MPI_VERSION && sv == MPI_SUBVERSION);
    char lib[MPI_MAX_LIBRARY_VERSION_STRING];
    CHECK(MPI_Get_library_version(lib, &len) == MPI_SUCCESS && strstr(lib, "Tide MPI"));
    double t0 = MPI_Wtime(), tick = MPI_Wtick();
    CHECK(tick > 0 && tick < 1e-3 && MPI_Wtime() >= t0);
    int flag, prov;
    CHECK(MPI_Query_thread(&prov) == MPI_SUCCESS && prov == MPI_THREAD_SINGLE);
    CHECK(MPI_Is_thread_main(&flag) == MPI_SUCCESS && flag);
    MPI_Finalize();
    CHECK(MPI_Finalized(&flag) == MPI_SUCCESS && flag);
    puts("errors: all checks passed");
    return 0;
}
