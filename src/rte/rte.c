/* The runtime environment: a PMIx client.  MPI_Init calls tide_rte_init,
 * which learns rank, size, local rank, node and the job key from the PMIx
 * server (mpirun, or slurmstepd under srun).  Without a server the process
 * is a singleton of size 1.  Later layers publish their wire addresses with
 * tide_rte_put and fetch a peer's with tide_rte_get when they first need it
 * (direct modex: no all-to-all exchange at start-up). */
#include "config.h"
#include "rte/rte.h"
#include "util/log.h"
#include "util/clock.h"
#include "util/param.h"

#include <errno.h>
#include <pmix.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

TIDE_PARAM_DEFINE(rte_get_timeout, TIDE_PARAM_TIME, "RTE_GET_TIMEOUT", "60s",
                  "How long a rank waits for a peer to publish its address through PMIx before "
                  "reporting it unreachable");

tide_rte_t tide_rte;
static pmix_proc_t tide_rte_me;
static int tide_rte_have_pmix;
static void (*tide_rte_failed_cb)(int rank); /* tide_rte_on_proc_failed */

static int tide_rte_pmix_errno(pmix_status_t st)
{
    switch (st) {
    case PMIX_SUCCESS: return 0;
    case PMIX_ERR_NOT_FOUND: return -ENOENT;
    case PMIX_ERR_TIMEOUT: return -ETIMEDOUT;
    case PMIX_ERR_NOMEM: return -ENOMEM;
    case PMIX_ERR_BAD_PARAM: return -EINVAL;
    case PMIX_ERR_UNREACH: return -ECONNREFUSED;
    default: return -EIO;
    }
}

/* Fetch a job-level (or, with rank >= 0, a process-level) integer. */
static int tide_rte_get_u32(const char *key, pmix_rank_t rank, int *out)
{
    pmix_proc_t p;
    PMIX_LOAD_PROCID(&p, tide_rte_me.nspace, rank);
    pmix_value_t *val = NULL;
    pmix_status_t st = PMIx_Get(&p, key, NULL, 0, &val);
    if (st != PMIX_SUCCESS)
        return tide_rte_pmix_errno(st);
    switch (val->type) {
    case PMIX_UINT32: *out = (int)val->data.uint32; break;
    case PMIX_UINT16: *out = (int)val->data.uint16; break;
    case PMIX_INT: *out = val->data.integer; break;
    case PMIX_UINT: *out = (int)val->data.uint; break;
    case PMIX_PROC_RANK: *out = (int)val->data.rank; break;
    default: PMIX_VALUE_RELEASE(val); return -EPROTO;
    }
    PMIX_VALUE_RELEASE(val);
    return 0;
}

static void tide_rte_init_singleton(void)
{
    tide_rte.singleton = 1;
    tide_rte.rank = 0;
    tide_rte.size = 1;
    tide_rte.local_rank = 0;
    tide_rte.local_size = 1;
    tide_rte.universe_size = 1;
    snprintf(tide_rte.nspace, sizeof(tide_rte.nspace), "singleton.%d", (int)getpid());
    uint64_t key = 0;
    if (getrandom(&key, sizeof(key), 0) != sizeof(key))
        key = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull;
    tide_rte.jobkey = key;
}

/* A random 64-bit key, never 0. */
static uint64_t tide_rte_random_key(void)
{
    uint64_t key = 0;
    if (getrandom(&key, sizeof(key), 0) != sizeof(key))
        key = ((uint64_t)getpid() << 32) ^ tide_time_ns();
    return key ? key : 1;
}

/* Without a key from the launcher (srun, another PMIx server): rank 0 draws
 * a random one and publishes it; the others fetch it from rank 0 (direct
 * modex, retried until TIDE_RTE_GET_TIMEOUT).  The key never derives from
 * anything an outsider could compute, such as the namespace name. */
static int tide_rte_share_jobkey(void)
{
    if (tide_rte.rank == 0) {
        tide_rte.jobkey = tide_rte_random_key();
        int rc = tide_rte_put(TIDE_RTE_KEY_JOBKEY_R0, &tide_rte.jobkey, sizeof(tide_rte.jobkey));
        return rc ? rc : tide_rte_commit();
    }
    uint64_t key = 0;
    size_t len = sizeof(key);
    int rc = tide_rte_get(0, TIDE_RTE_KEY_JOBKEY_R0, &key, &len);
    if (rc == 0 && len != sizeof(key))
        rc = -EPROTO;
    if (rc) {
        tide_error("MPI_Init: cannot get the job key from rank 0 through PMIx (%s)", strerror(-rc));
        return rc;
    }
    tide_rte.jobkey = key;
    return 0;
}

/* The job key: Tide's own key from mpirun, else a random one shared by
 * rank 0 through PMIx. */
static int tide_rte_load_jobkey(void)
{
    pmix_proc_t p;
    PMIX_LOAD_PROCID(&p, tide_rte_me.nspace, PMIX_RANK_WILDCARD);
    pmix_value_t *val = NULL;
    pmix_info_t info;
    bool immediate = true;
    PMIX_INFO_LOAD(&info, PMIX_IMMEDIATE, &immediate, PMIX_BOOL);
    pmix_status_t st = PMIx_Get(&p, TIDE_RTE_KEY_JOBKEY, &info, 1, &val);
    PMIX_INFO_DESTRUCT(&info);
    if (st == PMIX_SUCCESS && val->type == PMIX_UINT64) {
        tide_rte.jobkey = val->data.uint64;
        PMIX_VALUE_RELEASE(val);
        return 0;
    }
    if (val)
        PMIX_VALUE_RELEASE(val);
    return tide_rte_share_jobkey();
}

/* Added for Slurm (issue 7, test/slurm): a task that srun started as one of
 * several but without a PMIx server (no --mpi=pmix, MpiDefault=none) would
 * silently run as a singleton; say so, naming the fix. */
static void tide_rte_warn_srun(void)
{
    const char *n = getenv("SLURM_STEP_NUM_TASKS");
    if (n && atoi(n) > 1 && getenv("SLURM_PROCID"))
        tide_warn("MPI_Init: started by srun as one of %s tasks but without a PMIx server: this "
                  "process is a singleton (MPI_COMM_WORLD of size 1); run srun --mpi=pmix or set "
                  "MpiDefault=pmix in slurm.conf",
                  n);
}

int tide_rte_init(void)
{
    memset(&tide_rte, 0, sizeof(tide_rte));
    gethostname(tide_rte.hostname, sizeof(tide_rte.hostname) - 1);
    pmix_status_t st = PMIx_Init(&tide_rte_me, NULL, 0);
    if (st != PMIX_SUCCESS) {
        /* A PMIx server advertised in the environment that cannot be
         * reached is an error; no server at all means a singleton. */
        if (getenv("PMIX_SERVER_URI41") || getenv("PMIX_SERVER_URI4") ||
            getenv("PMIX_SERVER_URI3") || getenv("PMIX_SERVER_URI2") || getenv("PMIX_NAMESPACE")) {
            tide_error("MPI_Init: cannot connect to the PMIx server of this job (%s); was the "
                       "program started by a launcher that is still running?",
                       PMIx_Error_string(st));
            return tide_rte_pmix_errno(st) ? tide_rte_pmix_errno(st) : -EIO;
        }
        tide_rte_init_singleton();
        tide_log_set_identity(0);
        tide_rte_warn_srun();
        return 0;
    }
    tide_rte_have_pmix = 1;
    snprintf(tide_rte.nspace, sizeof(tide_rte.nspace), "%s", tide_rte_me.nspace);
    tide_rte.rank = (int)tide_rte_me.rank;
    int rc = tide_rte_get_u32(PMIX_JOB_SIZE, PMIX_RANK_WILDCARD, &tide_rte.size);
    if (rc) {
        tide_error("MPI_Init: the PMIx server did not provide the job size (PMIX_JOB_SIZE)");
        PMIx_Finalize(NULL, 0);
        tide_rte_have_pmix = 0;
        return rc;
    }
    if (tide_rte_get_u32(PMIX_LOCAL_RANK, tide_rte_me.rank, &tide_rte.local_rank))
        tide_rte.local_rank = 0;
    if (tide_rte_get_u32(PMIX_LOCAL_SIZE, PMIX_RANK_WILDCARD, &tide_rte.local_size))
        tide_rte.local_size = 1;
    if (tide_rte_get_u32(PMIX_NODEID, tide_rte_me.rank, &tide_rte.node_id))
        tide_rte.node_id = 0;
    if (tide_rte_get_u32(PMIX_APPNUM, tide_rte_me.rank, &tide_rte.appnum))
        tide_rte.appnum = 0;
    if (tide_rte_get_u32(PMIX_UNIV_SIZE, PMIX_RANK_WILDCARD, &tide_rte.universe_size))
        tide_rte.universe_size = tide_rte.size;
    tide_log_set_identity(tide_rte.rank);
    rc = tide_rte_load_jobkey();
    if (rc) {
        PMIx_Finalize(NULL, 0);
        tide_rte_have_pmix = 0;
        return rc;
    }
    return 0;
}

int tide_rte_finalize(void)
{
    __atomic_store_n(&tide_rte_failed_cb, NULL, __ATOMIC_RELEASE);
    if (!tide_rte_have_pmix)
        return 0;
    tide_rte_have_pmix = 0;
    pmix_status_t st = PMIx_Finalize(NULL, 0);
    return tide_rte_pmix_errno(st);
}

int tide_rte_put(const char *key, const void *data, size_t len)
{
    if (!tide_rte_have_pmix)
        return 0; /* a singleton has nobody to tell */
    pmix_value_t v;
    PMIX_VALUE_CONSTRUCT(&v);
    v.type = PMIX_BYTE_OBJECT;
    v.data.bo.bytes = (char *)data;
    v.data.bo.size = len;
    pmix_status_t st = PMIx_Put(PMIX_GLOBAL, key, &v);
    if (st != PMIX_SUCCESS)
        tide_error("PMIx_Put(%s) failed: %s", key, PMIx_Error_string(st));
    return tide_rte_pmix_errno(st);
}

int tide_rte_commit(void)
{
    if (!tide_rte_have_pmix)
        return 0;
    pmix_status_t st = PMIx_Commit();
    if (st != PMIX_SUCCESS)
        tide_error("PMIx_Commit failed: %s", PMIx_Error_string(st));
    return tide_rte_pmix_errno(st);
}

int tide_rte_get(int rank, const char *key, void *data, size_t *len)
{
    if (!tide_rte_have_pmix)
        return -ENOENT;
    pmix_proc_t p;
    PMIX_LOAD_PROCID(&p, tide_rte_me.nspace, (pmix_rank_t)rank);
    pmix_value_t *val = NULL;
    /* A peer still starting (a loaded machine, a slow node) has not
     * published yet: ask again until the deadline, never forever. */
    uint64_t limit = (uint64_t)tide_param_int(&tide_param_rte_get_timeout);
    uint64_t deadline = tide_time_ns() + limit;
    pmix_status_t st;
    for (;;) {
        pmix_info_t info;
        int secs = (int)(limit / 1000000000u) + 1;
        PMIX_INFO_LOAD(&info, PMIX_TIMEOUT, &secs, PMIX_INT);
        st = PMIx_Get(&p, key, &info, 1, &val);
        PMIX_INFO_DESTRUCT(&info);
        if (st == PMIX_SUCCESS || (st != PMIX_ERR_TIMEOUT && st != PMIX_ERR_NOT_FOUND) ||
            tide_time_ns() > deadline)
            break;
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    if (st != PMIX_SUCCESS) {
        tide_error("PMIx_Get(rank %d, %s) failed: %s (waited up to TIDE_RTE_GET_TIMEOUT)", rank,
                   key, PMIx_Error_string(st));
        return tide_rte_pmix_errno(st);
    }
    int rc = 0;
    if (val->type != PMIX_BYTE_OBJECT) {
        tide_error("PMIx_Get(rank %d, %s): unexpected value type %d", rank, key, val->type);
        rc = -EPROTO;
    } else if (val->data.bo.size > *len) {
        rc = -EOVERFLOW;
    } else {
        memcpy(data, val->data.bo.bytes, val->data.bo.size);
        *len = val->data.bo.size;
    }
    PMIX_VALUE_RELEASE(val);
    return rc;
}

int tide_rte_fence(int collect)
{
    if (!tide_rte_have_pmix)
        return 0;
    pmix_info_t info;
    bool flag = collect ? true : false;
    PMIX_INFO_LOAD(&info, PMIX_COLLECT_DATA, &flag, PMIX_BOOL);
    pmix_status_t st = PMIx_Fence(NULL, 0, &info, 1);
    PMIX_INFO_DESTRUCT(&info);
    if (st != PMIX_SUCCESS)
        tide_error("PMIx_Fence failed: %s", PMIx_Error_string(st));
    return tide_rte_pmix_errno(st);
}

static void tide_rte_fence_cb(pmix_status_t status, void *cbdata)
{
    volatile int *done = cbdata;
    __atomic_store_n(done, status == PMIX_SUCCESS ? 1 : -1, __ATOMIC_RELEASE); /* polled */
}

int tide_rte_fence_poll(void (*wait)(void *arg), void *arg, int collect)
{
    if (!tide_rte_have_pmix)
        return 0;
    volatile int done = 0;
    pmix_info_t info;
    bool flag = collect ? true : false;
    PMIX_INFO_LOAD(&info, PMIX_COLLECT_DATA, &flag, PMIX_BOOL);
    /* info stays alive until the fence completes (a non-blocking call) */
    pmix_status_t st = PMIx_Fence_nb(NULL, 0, &info, 1, tide_rte_fence_cb, (void *)&done);
    if (st != PMIX_SUCCESS) {
        PMIX_INFO_DESTRUCT(&info);
        tide_error("PMIx_Fence_nb failed: %s", PMIx_Error_string(st));
        return tide_rte_pmix_errno(st);
    }
    while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE))
        wait(arg);
    PMIX_INFO_DESTRUCT(&info);
    if (done < 0) {
        tide_error("the runtime fence failed (a process of the job is gone?)");
        return -EIO;
    }
    return 0;
}

/* ---- process failures --------------------------------------------------- */

/* The dead process of an event: PMIX_EVENT_AFFECTED_PROC when given, else
 * the event's source; -1 when it is not a process of our job. */
static int tide_rte_event_rank(const pmix_proc_t *source, const pmix_info_t *info, size_t ninfo)
{
    const pmix_proc_t *p = source;
    for (size_t i = 0; i < ninfo; i++)
        if (PMIX_CHECK_KEY(&info[i], PMIX_EVENT_AFFECTED_PROC) && info[i].value.type == PMIX_PROC &&
            info[i].value.data.proc)
            p = info[i].value.data.proc;
    if (!p || !PMIX_CHECK_NSPACE(p->nspace, tide_rte_me.nspace) || p->rank >= PMIX_RANK_VALID ||
        (int)p->rank >= tide_rte.size || (int)p->rank == tide_rte.rank)
        return -1;
    return (int)p->rank;
}

/* Runs in PMIx's thread: only hands the rank on (the callback must not
 * block). */
static void tide_rte_event(size_t id, pmix_status_t status, const pmix_proc_t *source,
                           pmix_info_t info[], size_t ninfo, pmix_info_t *results, size_t nresults,
                           pmix_event_notification_cbfunc_fn_t cbfunc, void *cbdata)
{
    (void)id;
    (void)results;
    (void)nresults;
    int rank = tide_rte_event_rank(source, info, ninfo);
    if (rank >= 0) {
        tide_warn("the runtime reports process %d gone (%s)", rank, PMIx_Error_string(status));
        void (*cb)(int) = __atomic_load_n(&tide_rte_failed_cb, __ATOMIC_ACQUIRE);
        if (cb)
            cb(rank);
    }
    if (cbfunc)
        cbfunc(PMIX_EVENT_ACTION_COMPLETE, NULL, 0, NULL, NULL, cbdata);
}

int tide_rte_on_proc_failed(void (*cb)(int rank))
{
    __atomic_store_n(&tide_rte_failed_cb, cb, __ATOMIC_RELEASE);
    if (!tide_rte_have_pmix || !cb)
        return 0;
    /* Not PMIX_EVENT_PROC_TERMINATED: a normal exit is no failure. */
    pmix_status_t codes[] = {PMIX_ERR_PROC_ABORTED, PMIX_ERR_PROC_ABORTED_BY_SIG,
                             PMIX_ERR_PROC_TERM_WO_SYNC, PMIX_ERR_PROC_KILLED_BY_CMD};
    pmix_status_t st = PMIx_Register_event_handler(codes, sizeof(codes) / sizeof(codes[0]), NULL, 0,
                                                   tide_rte_event, NULL, NULL);
    if (st < 0) {
        tide_warn("cannot register for process-failure events with PMIx (%s); failures are "
                  "detected by the transport only",
                  PMIx_Error_string(st));
        return tide_rte_pmix_errno(st);
    }
    return 0;
}

void tide_rte_abort(int code, const char *msg)
{
    if (tide_rte_have_pmix) {
        /* Added for Slurm (issue 7): slurmstepd does not show the abort
         * message to the user (mpirun does), so say it here. */
        if (strncmp(tide_rte.nspace, "slurm.pmix.", 11) == 0)
            tide_error("%s: ending the Slurm job step (exit code %d)", msg ? msg : "abort", code);
        PMIx_Abort(code, msg, NULL, 0);
        /* The server kills us; if it does not within a moment, leave. */
        sleep(5);
    }
    _exit(code);
}
