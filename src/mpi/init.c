/* MPI environment management (MPI 4.1 chapter 11): initialisation and
 * finalisation, thread levels, abort, timers and identification.  MPI_Init
 * brings up the runtime (src/rte, PMIx); MPI_Finalize synchronises with the
 * other ranks and tears it down. */
#include "config.h"
#include "mpi/mpi_impl.h"
#include "p2p/p2p.h"
#include "rte/rte.h"
#include "util/clock.h"
#include "util/log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

tide_mpi_global_t tide_mpi;

static int tide_mpi_publish(const char *key, const void *data, size_t len)
{
    int rc = tide_rte_put(key, data, len);
    return rc ? rc : tide_rte_commit();
}

/* The runtime fences' wait: serve the peers, sleep on the wire when idle. */
static void tide_mpi_fence_wait(void *arg)
{
    tide_p2p_idle(arg, tide_p2p_progress());
}

static int tide_mpi_init_common(const char *fn, int required, int *provided)
{
    int st = __atomic_load_n(&tide_mpi.state, __ATOMIC_ACQUIRE);
    if (st != TIDE_MPI_STATE_NONE) {
        tide_error("%s: MPI is already %s; it can be initialised only once per process", fn,
                   st == TIDE_MPI_STATE_INIT ? "initialised" : "finalised");
        return MPI_ERR_OTHER;
    }
    if (required < MPI_THREAD_SINGLE || required > MPI_THREAD_MULTIPLE) {
        tide_error("%s: argument required (%d) is not a thread level (MPI_THREAD_SINGLE.."
                   "MPI_THREAD_MULTIPLE)",
                   fn, required);
        return MPI_ERR_ARG;
    }
    int rc = tide_rte_init();
    if (rc) {
        tide_error("%s: the runtime could not start (%s)", fn, strerror(-rc));
        return MPI_ERR_OTHER;
    }
    tide_comm_init_predefined();
    tide_p2p_rte_ops_t ops = {tide_mpi_publish, tide_rte_get, tide_rte.local_rank, tide_rte.jobkey,
                              tide_rte.local_size};
    rc = tide_p2p_init(tide_rte.rank, tide_rte.size, &ops);
    if (rc) {
        tide_error("%s: the point-to-point layer could not start (%s)", fn, strerror(-rc));
        tide_rte_finalize();
        return MPI_ERR_OTHER;
    }
    tide_rte_on_proc_failed(tide_p2p_proc_failed); /* PMIx failure events */
    /* The modex: wait until every rank has published its address and bring
     * them all here.  Without it the first message to a peer that has not
     * started yet (a host whose daemon starts late) would wait in the
     * runtime for its address with the point-to-point lock held -- deaf to
     * every other peer, which would time this process out. */
    tide_p2p_idle_t idle = TIDE_P2P_IDLE_INIT;
    rc = tide_rte_fence_poll(tide_mpi_fence_wait, &idle, 1);
    if (rc) {
        tide_error("%s: the ranks of the job could not exchange their addresses (%s)", fn,
                   strerror(-rc));
        tide_p2p_finalize();
        tide_rte_finalize();
        return MPI_ERR_OTHER;
    }
    /* Every layer below is thread-safe, so the level asked for is given. */
    tide_mpi.thread_level = required;
    tide_mpi.main_thread = pthread_self();
    if (provided)
        *provided = tide_mpi.thread_level;
    __atomic_store_n(&tide_mpi.state, TIDE_MPI_STATE_INIT, __ATOMIC_RELEASE);
    return MPI_SUCCESS;
}

int PMPI_Init(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return tide_mpi_init_common("MPI_Init", MPI_THREAD_SINGLE, NULL);
}
TIDE_MPI_WEAK(MPI_Init);

int PMPI_Init_thread(int *argc, char ***argv, int required, int *provided)
{
    (void)argc;
    (void)argv;
    if (!provided) {
        tide_error("MPI_Init_thread: argument provided is a NULL pointer");
        return MPI_ERR_ARG;
    }
    return tide_mpi_init_common("MPI_Init_thread", required, provided);
}
TIDE_MPI_WEAK(MPI_Init_thread);

int PMPI_Initialized(int *flag)
{
    if (!flag)
        return tide_mpi_error(MPI_COMM_NULL, "MPI_Initialized", MPI_ERR_ARG,
                              "argument flag is a NULL pointer");
    *flag = __atomic_load_n(&tide_mpi.state, __ATOMIC_ACQUIRE) != TIDE_MPI_STATE_NONE;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Initialized);

int PMPI_Finalized(int *flag)
{
    if (!flag)
        return tide_mpi_error(MPI_COMM_NULL, "MPI_Finalized", MPI_ERR_ARG,
                              "argument flag is a NULL pointer");
    *flag = __atomic_load_n(&tide_mpi.state, __ATOMIC_ACQUIRE) == TIDE_MPI_STATE_FINALIZED;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Finalized);

int PMPI_Finalize(void)
{
    TIDE_MPI_CHECK_INIT("MPI_Finalize");
    tide_comm_finalize(); /* attribute delete callbacks of SELF, then WORLD */
    /* MPI_Finalize is collective over MPI_COMM_WORLD: nobody leaves while
     * a peer may still need it. */
    tide_mpi_req_drain_orphans();
    tide_p2p_flush();
    tide_p2p_idle_t idle = TIDE_P2P_IDLE_INIT;
    int rc = tide_rte_fence_poll(tide_mpi_fence_wait, &idle, 0);
    tide_p2p_finalize();
    __atomic_store_n(&tide_mpi.state, TIDE_MPI_STATE_FINALIZED, __ATOMIC_RELEASE);
    rc = rc ? rc : tide_rte_finalize();
    if (rc)
        tide_error("MPI_Finalize: the runtime did not shut down cleanly");
    return rc ? MPI_ERR_OTHER : MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Finalize);

int PMPI_Query_thread(int *provided)
{
    TIDE_MPI_CHECK_INIT("MPI_Query_thread");
    TIDE_MPI_CHECK_PTR("MPI_Query_thread", MPI_COMM_NULL, provided, "provided");
    *provided = tide_mpi.thread_level;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Query_thread);

int PMPI_Is_thread_main(int *flag)
{
    TIDE_MPI_CHECK_INIT("MPI_Is_thread_main");
    TIDE_MPI_CHECK_PTR("MPI_Is_thread_main", MPI_COMM_NULL, flag, "flag");
    *flag = pthread_equal(pthread_self(), tide_mpi.main_thread) != 0;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Is_thread_main);

int PMPI_Abort(MPI_Comm comm, int errorcode)
{
    char msg[128];
    snprintf(msg, sizeof(msg), "MPI_Abort(comm %d, errorcode %d) called by rank %d", (int)comm,
             errorcode, tide_rte.rank);
    /* Tide aborts the whole job whatever the communicator, as Open MPI and
     * MPICH do. */
    tide_rte_abort(errorcode, msg);
}
TIDE_MPI_WEAK(MPI_Abort);

double PMPI_Wtime(void)
{
    return (double)tide_time_ns() * 1e-9;
}
TIDE_MPI_WEAK(MPI_Wtime);

double PMPI_Wtick(void)
{
    struct timespec res;
    if (clock_getres(CLOCK_MONOTONIC, &res) != 0)
        return 1e-9;
    return (double)res.tv_sec + (double)res.tv_nsec * 1e-9;
}
TIDE_MPI_WEAK(MPI_Wtick);

int PMPI_Get_processor_name(char *name, int *resultlen)
{
    TIDE_MPI_CHECK_PTR("MPI_Get_processor_name", MPI_COMM_NULL, name, "name");
    TIDE_MPI_CHECK_PTR("MPI_Get_processor_name", MPI_COMM_NULL, resultlen, "resultlen");
    char host[MPI_MAX_PROCESSOR_NAME];
    if (tide_rte.hostname[0])
        snprintf(host, sizeof(host), "%s", tide_rte.hostname);
    else if (gethostname(host, sizeof(host) - 1) != 0)
        snprintf(host, sizeof(host), "unknown");
    host[sizeof(host) - 1] = '\0';
    int n = (int)strlen(host);
    memcpy(name, host, (size_t)n + 1);
    *resultlen = n;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Get_processor_name);

int PMPI_Get_version(int *version, int *subversion)
{
    TIDE_MPI_CHECK_PTR("MPI_Get_version", MPI_COMM_NULL, version, "version");
    TIDE_MPI_CHECK_PTR("MPI_Get_version", MPI_COMM_NULL, subversion, "subversion");
    *version = MPI_VERSION;
    *subversion = MPI_SUBVERSION;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Get_version);

int PMPI_Get_library_version(char *version, int *resultlen)
{
    TIDE_MPI_CHECK_PTR("MPI_Get_library_version", MPI_COMM_NULL, version, "version");
    TIDE_MPI_CHECK_PTR("MPI_Get_library_version", MPI_COMM_NULL, resultlen, "resultlen");
    /* MPI_VERSION says 3.1; the string says what of it is absent
     * (doc/guide.md, "What is implemented"). */
    int n = snprintf(version, MPI_MAX_LIBRARY_VERSION_STRING,
                     "Tide MPI %s (MPI 3.1 without one-sided communication, I/O and "
                     "dynamic processes; wires: %s)",
                     PACKAGE_VERSION, TIDE_WIRES);
    *resultlen = n < MPI_MAX_LIBRARY_VERSION_STRING ? n : MPI_MAX_LIBRARY_VERSION_STRING - 1;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Get_library_version);
