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
#include "util/crc32c.h"
#include "util/param.h"

#include <errno.h>
#include <pmix.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <sched.h>
#include <unistd.h>

TIDE_PARAM_DEFINE(rte_get_timeout, TIDE_PARAM_TIME, "RTE_GET_TIMEOUT", "60s",
                  "How long a rank waits for a peer to publish its address through PMIx before "
                  "reporting it unreachable");

tide_rte_t tide_rte;
static pmix_proc_t tide_rte_me;
static int tide_rte_have_pmix;

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

/* The job key: Tide's own key from mpirun, else derived from the namespace
 * name so every rank of a job computes the same value on its own. */
static void tide_rte_load_jobkey(void)
{
    pmix_proc_t p;
    PMIX_LOAD_PROCID(&p, tide_rte_me.nspace, PMIX_RANK_WILDCARD);
    pmix_value_t *val = NULL;
    if (PMIx_Get(&p, TIDE_RTE_KEY_JOBKEY, NULL, 0, &val) == PMIX_SUCCESS &&
        val->type == PMIX_UINT64) {
        tide_rte.jobkey = val->data.uint64;
        PMIX_VALUE_RELEASE(val);
        return;
    }
    if (val)
        PMIX_VALUE_RELEASE(val);
    size_t n = strlen(tide_rte.nspace);
    tide_rte.jobkey = ((uint64_t)tide_crc32c(0, tide_rte.nspace, n) << 32) |
                      tide_crc32c(0x5a5a5a5a, tide_rte.nspace, n);
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
    tide_rte_load_jobkey();
    tide_log_set_identity(tide_rte.rank);
    return 0;
}

int tide_rte_finalize(void)
{
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
    *done = status == PMIX_SUCCESS ? 1 : -1;
}

int tide_rte_fence_poll(int (*poll)(void))
{
    if (!tide_rte_have_pmix)
        return 0;
    volatile int done = 0;
    pmix_status_t st = PMIx_Fence_nb(NULL, 0, NULL, 0, tide_rte_fence_cb, (void *)&done);
    if (st != PMIX_SUCCESS) {
        tide_error("PMIx_Fence_nb failed: %s", PMIx_Error_string(st));
        return tide_rte_pmix_errno(st);
    }
    int spins = 0;
    while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
        if (poll() == 0 && ++spins > 100) {
            sched_yield();
            spins = 0;
        }
    }
    if (done < 0) {
        tide_error("the runtime fence failed (a process of the job is gone?)");
        return -EIO;
    }
    return 0;
}

void tide_rte_abort(int code, const char *msg)
{
    if (tide_rte_have_pmix) {
        PMIx_Abort(code, msg, NULL, 0);
        /* The server kills us; if it does not within a moment, leave. */
        sleep(5);
    }
    _exit(code);
}
