/* Tool interfaces: MPI_T control variables are Tide's tunables (their
 * values follow the environment), performance variables are the transport's
 * counters (they grow with traffic; reset works); and with the profiling
 * library test/mpi/prof.c linked in front of libmpi, every MPI call made
 * here is counted by the interposed MPI_X which forwards to PMPI_X. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The profiling library's counter (prof.c), looked up at run time. */
static int tide_prof_count(const char *name)
{
    int (*fn)(const char *) = (int (*)(const char *))dlsym(RTLD_DEFAULT, "tide_prof_count");
    return fn ? fn(name) : -1;
}

static int failures;
#define CHECK_PREFIX "tools: check failed"
#include "check.h"

int main(int argc, char **argv)
{
    int prov, rank, size, n, idx;
    CHECK(MPI_T_cvar_get_num(&n) == MPI_T_ERR_NOT_INITIALIZED);
    CHECK(MPI_T_init_thread(MPI_THREAD_SINGLE, &prov) == MPI_SUCCESS);
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    CHECK(MPI_T_cvar_get_num(&n) == MPI_SUCCESS && n > 3);
    CHECK(MPI_T_cvar_get_index("TIDE_EAGER_LIMIT", &idx) == MPI_SUCCESS);
    char name[128], desc[1024];
    int nl = sizeof(name), dl = sizeof(desc), verb, bind, scope, count;
    MPI_Datatype dt;
    MPI_T_enum en;
    CHECK(MPI_T_cvar_get_info(idx, name, &nl, &verb, &dt, &en, desc, &dl, &bind, &scope) ==
          MPI_SUCCESS);
    CHECK(strcmp(name, "TIDE_EAGER_LIMIT") == 0 && dt == MPI_LONG_LONG && strlen(desc) > 10);
    MPI_T_cvar_handle ch;
    long long v = 0;
    CHECK(MPI_T_cvar_handle_alloc(idx, NULL, &ch, &count) == MPI_SUCCESS && count == 1);
    CHECK(MPI_T_cvar_read(ch, &v) == MPI_SUCCESS);
    const char *env = getenv("TIDE_EAGER_LIMIT");
    CHECK(v == (env ? atoll(env) : 65536)); /* the test sets it in bytes */
    CHECK(MPI_T_cvar_write(ch, &v) == MPI_T_ERR_CVAR_SET_NEVER);
    MPI_T_cvar_handle_free(&ch);

    /* Traffic makes the byte counters grow; a reset starts them again. */
    MPI_T_pvar_session ses;
    MPI_T_pvar_handle ph;
    CHECK(MPI_T_pvar_get_index("tide_stream_bytes_out", MPI_T_PVAR_CLASS_COUNTER, &idx) ==
          MPI_SUCCESS);
    CHECK(MPI_T_pvar_session_create(&ses) == MPI_SUCCESS);
    CHECK(MPI_T_pvar_handle_alloc(ses, idx, NULL, &ph, &count) == MPI_SUCCESS);
    unsigned long long before = 1, after = 0;
    MPI_T_pvar_read(ses, ph, &before);
    static char buf[100000];
    int peer = rank ^ 1;
    if (peer < size) {
        for (int i = 0; i < 10; i++)
            MPI_Sendrecv_replace(buf, sizeof(buf), MPI_CHAR, peer, 0, peer, 0, MPI_COMM_WORLD,
                                 MPI_STATUS_IGNORE);
        MPI_T_pvar_read(ses, ph, &after);
        CHECK(after >= before + 10 * sizeof(buf));
        CHECK(MPI_T_pvar_reset(ses, ph) == MPI_SUCCESS);
        MPI_T_pvar_read(ses, ph, &after);
        CHECK(after < 10 * sizeof(buf));
    }
    CHECK(MPI_T_pvar_start(ses, ph) == MPI_T_ERR_PVAR_NO_STARTSTOP);
    MPI_T_pvar_handle_free(ses, &ph);
    MPI_T_pvar_session_free(&ses);
    int ncat;
    CHECK(MPI_T_category_get_num(&ncat) == MPI_SUCCESS && ncat == 2);
    MPI_T_finalize();

    if (argc > 1 && strcmp(argv[1], "prof") == 0) {
        /* Calls above went through the profiling library. */
        CHECK(tide_prof_count("MPI_Init") == 1);
        CHECK(tide_prof_count("MPI_Comm_rank") == 1);
        CHECK(tide_prof_count("MPI_Sendrecv_replace") == (peer < size ? 10 : 0));
    }
    MPI_Finalize();
    if (argc > 1 && strcmp(argv[1], "prof") == 0)
        CHECK(tide_prof_count("MPI_Finalize") == 1);
    if (!failures && rank == 0)
        printf("tools: all checks passed\n");
    return failures ? 1 : 0;
}
