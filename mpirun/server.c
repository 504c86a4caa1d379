/* mpirun's PMIx server: the ranks' PMIx clients (src/rte) connect here.
 *
 * We register one namespace with the standard job and per-process keys plus
 * Tide's "tide.jobkey", register every rank as a client, and give each child
 * the environment it needs (PMIx_server_setup_fork).  The PMIx library runs
 * its own progress thread and calls the host functions below from it; they
 * return at once and only record facts (connected, finalized, abort) in the
 * rank table or in srv_abort, waking the main loop through an eventfd.
 * With a single server, a fence is complete as soon as the library calls
 * fence_nb (all participants are local): we hand the collected blob back.
 * Direct modex is only asked for remote processes, of which we have none.
 * In a host's daemon (daemon.c) the same server serves the ranks of that
 * host: the namespace describes every host and rank, fences and direct
 * modex requests go up to mpirun through the relays daemon.c sets, and the
 * answers come back through tide_mpirun_server_fence_done/dmodex_done. */
#include "config.h"
#include "mpirun/mpirun.h"
#include "rte/rte.h"
#include "util/log.h"

#include <errno.h>
#include <pmix.h>
#include <pmix_server.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

static int srv_wake_fd = -1;
static int srv_up;
static tide_mpirun_fence_up_t srv_fence_up;
static tide_mpirun_dmodex_up_t srv_dmodex_up;
static tide_mpirun_abort_up_t srv_abort_up;

void tide_mpirun_server_set_relays(tide_mpirun_fence_up_t f, tide_mpirun_dmodex_up_t d,
                                   tide_mpirun_abort_up_t a)
{
    srv_fence_up = f;
    srv_dmodex_up = d;
    srv_abort_up = a;
}
static pthread_mutex_t srv_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int pending;
    int rank;
    int code;
    char msg[512];
} srv_abort;

static void srv_wake(void)
{
    uint64_t one = 1;
    ssize_t w = write(srv_wake_fd, &one, sizeof(one));
    (void)w;
}

static pmix_status_t srv_client_connected(const pmix_proc_t *proc, void *obj,
                                          pmix_op_cbfunc_t cbfunc, void *cbdata)
{
    tide_mpirun_rank_t *r = obj;
    if (r != NULL)
        __atomic_store_n(&r->connected, 1, __ATOMIC_SEQ_CST);
    tide_debug("rank %u connected", proc->rank);
    return PMIX_OPERATION_SUCCEEDED;
}

/* 1 if pid is gone, a zombie, or inside exit (PF_EXITING, set by the
 * kernel before it closes the process's files, hence its PMIx socket). */
static int srv_pid_exiting(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return 1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    char state;
    unsigned long flags;
    /* after "pid (comm)": state ppid pgrp session tty_nr tpgid flags */
    if (p == NULL || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %lu", &state, &flags) != 2)
        return 0;
    return state == 'Z' || state == 'X' || (flags & 0x4 /* PF_EXITING */) != 0;
}

/* PMIx_Finalize of a client, which waits for our answer.  Some PMIx
 * versions also call this when a client's connection drops without
 * PMIx_Finalize; that client is already exiting, and we do not count it as
 * finalized (job.c then reports a rank that skipped MPI_Finalize). */
static pmix_status_t srv_client_finalized(const pmix_proc_t *proc, void *obj,
                                          pmix_op_cbfunc_t cbfunc, void *cbdata)
{
    tide_mpirun_rank_t *r = obj;
    pid_t pid = r ? __atomic_load_n(&r->pid, __ATOMIC_SEQ_CST) : 0;
    if (r != NULL && (pid <= 0 || !srv_pid_exiting(pid)))
        __atomic_store_n(&r->finalized, 1, __ATOMIC_SEQ_CST);
    tide_debug("rank %u finalized", proc->rank);
    return PMIX_OPERATION_SUCCEEDED;
}

/* The client stays blocked in PMIx_Abort until cbfunc runs; we record the
 * request first so that whatever the rank does next (it usually exits with
 * the same code) is already known to be an abort. */
static pmix_status_t srv_abort_fn(const pmix_proc_t *proc, void *obj, int status, const char msg[],
                                  pmix_proc_t procs[], size_t nprocs, pmix_op_cbfunc_t cbfunc,
                                  void *cbdata)
{
    if (srv_abort_up != NULL) /* mpirun learns it before the rank can exit */
        srv_abort_up((int)proc->rank, status, msg ? msg : "");
    tide_mpirun_server_abort_record((int)proc->rank, status, msg ? msg : "");
    if (cbfunc != NULL)
        cbfunc(PMIX_SUCCESS, cbdata);
    return PMIX_SUCCESS;
}

void tide_mpirun_server_abort_record(int rank, int code, const char *msg)
{
    pthread_mutex_lock(&srv_lock);
    if (!srv_abort.pending) {
        srv_abort.pending = 1;
        srv_abort.rank = rank;
        srv_abort.code = code;
        snprintf(srv_abort.msg, sizeof(srv_abort.msg), "%s", msg);
    }
    pthread_mutex_unlock(&srv_lock);
    if (srv_wake_fd >= 0)
        srv_wake();
}

static void srv_fence_release(void *cbdata)
{
    free(cbdata);
}

static pmix_status_t srv_fence_nb(const pmix_proc_t procs[], size_t nprocs,
                                  const pmix_info_t info[], size_t ninfo, char *data, size_t ndata,
                                  pmix_modex_cbfunc_t cbfunc, void *cbdata)
{
    if (srv_fence_up != NULL) {
        srv_fence_up(data, ndata, (void *)cbfunc, cbdata);
        return PMIX_SUCCESS;
    }
    char *copy = NULL;
    if (ndata > 0) {
        copy = malloc(ndata);
        if (copy == NULL) {
            tide_error("out of memory for a %zu-byte fence", ndata);
            return PMIX_ERR_NOMEM;
        }
        memcpy(copy, data, ndata);
    }
    cbfunc(PMIX_SUCCESS, copy, ndata, cbdata, srv_fence_release, copy);
    return PMIX_SUCCESS;
}

static pmix_status_t srv_direct_modex(const pmix_proc_t *proc, const pmix_info_t info[],
                                      size_t ninfo, pmix_modex_cbfunc_t cbfunc, void *cbdata)
{
    if (srv_dmodex_up != NULL && srv_dmodex_up((int)proc->rank, (void *)cbfunc, cbdata) == 0)
        return PMIX_SUCCESS;
    tide_debug("direct modex for %s:%u: not local, not known", proc->nspace, proc->rank);
    return PMIX_ERR_NOT_FOUND;
}

/* Answers that came back through mpirun, handed to the library (which
 * references the data until our release callback). */
static void srv_deliver(void *cbfunc, void *cbdata, pmix_status_t st, const char *data, size_t len)
{
    pmix_modex_cbfunc_t cb = (pmix_modex_cbfunc_t)cbfunc;
    char *copy = len ? malloc(len) : NULL;
    if (len > 0 && copy == NULL) {
        tide_error("out of memory for %zu bytes of PMIx data", len);
        cb(PMIX_ERR_NOMEM, NULL, 0, cbdata, NULL, NULL);
        return;
    }
    if (len > 0)
        memcpy(copy, data, len);
    cb(st, copy, len, cbdata, srv_fence_release, copy);
}

void tide_mpirun_server_fence_done(void *cbfunc, void *cbdata, const char *data, size_t len)
{
    srv_deliver(cbfunc, cbdata, PMIX_SUCCESS, data, len);
}

void tide_mpirun_server_dmodex_done(void *cbfunc, void *cbdata, int status, const char *data,
                                    size_t len)
{
    srv_deliver(cbfunc, cbdata, status, data, len);
}

typedef struct srv_dmx {
    void (*done)(int status, char *data, size_t len, void *ctx);
    void *ctx;
} srv_dmx_t;

static void srv_dmodex_answer(pmix_status_t status, char *data, size_t sz, void *cbdata)
{
    srv_dmx_t *d = cbdata;
    d->done(status, data, sz, d->ctx);
    free(d);
}

/* A request from another host for a local rank's data: the library answers
 * once the rank has committed it. */
int tide_mpirun_server_dmodex_local(const char *nspace, int rank,
                                    void (*done)(int status, char *data, size_t len, void *ctx),
                                    void *ctx)
{
    pmix_proc_t proc;
    srv_dmx_t *d = malloc(sizeof(*d));
    if (d == NULL)
        return -ENOMEM;
    *d = (srv_dmx_t){done, ctx};
    PMIX_LOAD_PROCID(&proc, nspace, (pmix_rank_t)rank);
    pmix_status_t rc = PMIx_server_dmodex_request(&proc, srv_dmodex_answer, d);
    if (rc != PMIX_SUCCESS) {
        free(d);
        tide_error("PMIx_server_dmodex_request(rank %d): %s", rank, PMIx_Error_string(rc));
        return -EIO;
    }
    return 0;
}

static pmix_server_module_t srv_module = {
    .client_connected = srv_client_connected,
    .client_finalized = srv_client_finalized,
    .abort = srv_abort_fn,
    .fence_nb = srv_fence_nb,
    .direct_modex = srv_direct_modex,
};

int tide_mpirun_server_init(const char *tmpdir)
{
    return tide_mpirun_server_init_host(tmpdir, NULL);
}

int tide_mpirun_server_init_host(const char *tmpdir, const char *hostname)
{
    pmix_info_t info[3];
    size_t ninfo = 2;
    srv_wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (srv_wake_fd < 0) {
        int err = errno;
        tide_error("eventfd: %s", strerror(err));
        return -err;
    }
    PMIX_INFO_LOAD(&info[0], PMIX_SERVER_TMPDIR, tmpdir, PMIX_STRING);
    PMIX_INFO_LOAD(&info[1], PMIX_SYSTEM_TMPDIR, tmpdir, PMIX_STRING);
    if (hostname != NULL) /* the name the job's node map knows us by */
        PMIX_INFO_LOAD(&info[ninfo++], PMIX_HOSTNAME, hostname, PMIX_STRING);
    pmix_status_t rc = PMIx_server_init(&srv_module, info, ninfo);
    for (size_t i = 0; i < ninfo; i++)
        PMIX_INFO_DESTRUCT(&info[i]);
    if (rc != PMIX_SUCCESS) {
        tide_error("PMIx_server_init failed: %s", PMIx_Error_string(rc));
        return -EIO;
    }
    srv_up = 1;
    return 0;
}

/* A blocking wrapper for the asynchronous register calls. */
typedef struct srv_wait {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
    pmix_status_t status;
} srv_wait_t;

static void srv_wait_cb(pmix_status_t status, void *cbdata)
{
    srv_wait_t *w = cbdata;
    pthread_mutex_lock(&w->lock);
    w->status = status;
    w->done = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static pmix_status_t srv_wait_for(srv_wait_t *w, pmix_status_t rc)
{
    if (rc == PMIX_OPERATION_SUCCEEDED)
        return PMIX_SUCCESS;
    if (rc != PMIX_SUCCESS)
        return rc;
    pthread_mutex_lock(&w->lock);
    while (!w->done)
        pthread_cond_wait(&w->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
    return w->status;
}

#define SRV_WAIT_INIT                                                        \
    {                                                                        \
        PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, PMIX_SUCCESS \
    }

static void srv_add_proc(void *list, const tide_mpirun_job_t *job, int rank)
{
    void *pl = PMIx_Info_list_start();
    const tide_mpirun_rank_t *rk = &job->ranks[rank];
    pmix_rank_t r = (pmix_rank_t)rank;
    uint16_t lr = (uint16_t)rk->local_rank;
    uint32_t zero = 0, node = (uint32_t)rk->host;
    pmix_data_array_t darray;

    PMIx_Info_list_add(pl, PMIX_RANK, &r, PMIX_PROC_RANK);
    PMIx_Info_list_add(pl, PMIX_GLOBAL_RANK, &r, PMIX_PROC_RANK);
    PMIx_Info_list_add(pl, PMIX_APP_RANK, &r, PMIX_PROC_RANK);
    PMIx_Info_list_add(pl, PMIX_APPNUM, &zero, PMIX_UINT32);
    PMIx_Info_list_add(pl, PMIX_LOCAL_RANK, &lr, PMIX_UINT16);
    PMIx_Info_list_add(pl, PMIX_NODE_RANK, &lr, PMIX_UINT16);
    PMIx_Info_list_add(pl, PMIX_NODEID, &node, PMIX_UINT32);
    PMIx_Info_list_add(pl, PMIX_HOSTNAME, job->hostnames[rk->host], PMIX_STRING);
    PMIx_Info_list_convert(pl, &darray);
    PMIx_Info_list_add(list, PMIX_PROC_INFO_ARRAY, &darray, PMIX_DATA_ARRAY);
    PMIX_DATA_ARRAY_DESTRUCT(&darray);
    PMIx_Info_list_release(pl);
}

/* The ranks of host h, "0,1,2" (sep ","), or of all hosts, "0,1;2,3"
 * (hosts separated by ';', for the process map); NULL when out of memory. */
static char *srv_rank_list(const tide_mpirun_job_t *job, int h)
{
    size_t cap = (size_t)job->np * 12 + (size_t)job->nhosts + 1, len = 0;
    char *s = malloc(cap);
    if (s == NULL)
        return NULL;
    s[0] = '\0';
    for (int host = 0; host < job->nhosts; host++) {
        if (h >= 0 && host != h)
            continue;
        if (h < 0 && host > 0)
            len += (size_t)snprintf(s + len, cap - len, ";");
        for (int i = 0, k = 0; i < job->np; i++)
            if (job->ranks[i].host == host)
                len += (size_t)snprintf(s + len, cap - len, k++ ? ",%d" : "%d", i);
    }
    return s;
}

static uint32_t srv_nlocal(const tide_mpirun_job_t *job, pmix_rank_t *leader)
{
    uint32_t n = 0;
    for (int i = job->np - 1; i >= 0; i--) {
        if (job->ranks[i].host == job->myhost) {
            *leader = (pmix_rank_t)i;
            n++;
        }
    }
    return n;
}

static void srv_add_job(void *list, const tide_mpirun_job_t *job, const char *peers,
                        const char *nodelist, const char *nodemap, const char *procmap)
{
    uint32_t np = (uint32_t)job->np, one = 1, zero = 0, nn = (uint32_t)job->nhosts;
    uint32_t me = (uint32_t)job->myhost;
    pmix_rank_t leader = 0, lleader = 0;
    uint32_t nlocal = srv_nlocal(job, &lleader);

    PMIx_Info_list_add(list, PMIX_JOBID, job->nspace, PMIX_STRING);
    PMIx_Info_list_add(list, PMIX_JOB_SIZE, &np, PMIX_UINT32);
    PMIx_Info_list_add(list, PMIX_UNIV_SIZE, &np, PMIX_UINT32);
    PMIx_Info_list_add(list, PMIX_MAX_PROCS, &np, PMIX_UINT32);
    PMIx_Info_list_add(list, PMIX_JOB_NUM_APPS, &one, PMIX_UINT32);
    PMIx_Info_list_add(list, PMIX_APP_SIZE, &np, PMIX_UINT32);
    PMIx_Info_list_add(list, PMIX_APPLDR, &leader, PMIX_PROC_RANK);
    PMIx_Info_list_add(list, PMIX_APPNUM, &zero, PMIX_UINT32);
    PMIx_Info_list_add(list, PMIX_NUM_NODES, &nn, PMIX_UINT32);
    PMIx_Info_list_add(list, PMIX_NODEID, &me, PMIX_UINT32);
    PMIx_Info_list_add(list, PMIX_HOSTNAME, job->hostname, PMIX_STRING);
    PMIx_Info_list_add(list, PMIX_NODE_LIST, nodelist, PMIX_STRING);
    PMIx_Info_list_add(list, PMIX_LOCAL_SIZE, &nlocal, PMIX_UINT32);
    PMIx_Info_list_add(list, PMIX_NODE_SIZE, &nlocal, PMIX_UINT32);
    PMIx_Info_list_add(list, PMIX_LOCALLDR, &lleader, PMIX_PROC_RANK);
    PMIx_Info_list_add(list, PMIX_LOCAL_PEERS, peers, PMIX_STRING);
    PMIx_Info_list_add(list, PMIX_TMPDIR, job->tmpdir, PMIX_STRING);
    PMIx_Info_list_add(list, PMIX_NODE_MAP, nodemap, PMIX_REGEX);
    PMIx_Info_list_add(list, PMIX_PROC_MAP, procmap, PMIX_REGEX);
    PMIx_Info_list_add(list, TIDE_RTE_KEY_JOBKEY, &job->jobkey, PMIX_UINT64);
}

/* "h1,h2,h3" */
static char *srv_node_list(const tide_mpirun_job_t *job)
{
    size_t cap = (size_t)job->nhosts * 257 + 1, len = 0;
    char *s = malloc(cap);
    if (s == NULL)
        return NULL;
    s[0] = '\0';
    for (int h = 0; h < job->nhosts; h++)
        len += (size_t)snprintf(s + len, cap - len, h ? ",%s" : "%s", job->hostnames[h]);
    return s;
}

/* The node and process maps, in the library's own regex encoding; the
 * process map wants the rank lists spelled out ("0,1,2"), not ranges. */
static int srv_maps(const char *nodelist, const char *ranks, char **nodemap, char **procmap)
{
    pmix_status_t rc = PMIx_generate_regex(nodelist, nodemap);
    if (rc == PMIX_SUCCESS)
        rc = PMIx_generate_ppn(ranks, procmap);
    if (rc != PMIX_SUCCESS) {
        tide_error("cannot encode the PMIx node/process map: %s", PMIx_Error_string(rc));
        return -EIO;
    }
    return 0;
}

static int srv_register_nspace(tide_mpirun_job_t *job)
{
    char *nodemap = NULL, *procmap = NULL;
    char *peers = srv_rank_list(job, job->myhost), *all = srv_rank_list(job, -1);
    char *nodelist = srv_node_list(job);
    pmix_data_array_t darray = {0};
    srv_wait_t w = SRV_WAIT_INIT;
    pmix_rank_t lleader;
    int ret = -ENOMEM;

    if (peers == NULL || all == NULL || nodelist == NULL ||
        (ret = srv_maps(nodelist, all, &nodemap, &procmap)) < 0)
        goto out;
    void *list = PMIx_Info_list_start();
    srv_add_job(list, job, peers, nodelist, nodemap, procmap);
    for (int i = 0; i < job->np; i++)
        srv_add_proc(list, job, i);
    PMIx_Info_list_convert(list, &darray);
    PMIx_Info_list_release(list);

    pmix_status_t rc = PMIx_server_register_nspace(job->nspace, (int)srv_nlocal(job, &lleader),
                                                   darray.array, darray.size, srv_wait_cb, &w);
    rc = srv_wait_for(&w, rc);
    ret = 0;
    if (rc != PMIX_SUCCESS) {
        tide_error("PMIx_server_register_nspace(%s): %s", job->nspace, PMIx_Error_string(rc));
        ret = -EIO;
    }
    PMIX_DATA_ARRAY_DESTRUCT(&darray);
out:
    free(nodemap);
    free(procmap);
    free(peers);
    free(all);
    free(nodelist);
    return ret;
}

int tide_mpirun_server_register(tide_mpirun_job_t *job)
{
    int ret = srv_register_nspace(job);
    for (int i = 0; ret == 0 && i < job->np; i++) {
        pmix_proc_t proc;
        srv_wait_t w = SRV_WAIT_INIT;
        if (job->ranks[i].host != job->myhost)
            continue;
        PMIX_LOAD_PROCID(&proc, job->nspace, (pmix_rank_t)i);
        pmix_status_t rc =
            PMIx_server_register_client(&proc, getuid(), getgid(), &job->ranks[i], srv_wait_cb, &w);
        rc = srv_wait_for(&w, rc);
        if (rc != PMIX_SUCCESS) {
            tide_error("PMIx_server_register_client(rank %d): %s", i, PMIx_Error_string(rc));
            ret = -EIO;
        }
    }
    return ret;
}

int tide_mpirun_server_setup_fork(const tide_mpirun_job_t *job, int rank, char ***env)
{
    pmix_proc_t proc;
    PMIX_LOAD_PROCID(&proc, job->nspace, (pmix_rank_t)rank);
    pmix_status_t rc = PMIx_server_setup_fork(&proc, env);
    if (rc != PMIX_SUCCESS) {
        tide_error("PMIx_server_setup_fork(rank %d): %s", rank, PMIx_Error_string(rc));
        return -EIO;
    }
    return 0;
}

int tide_mpirun_server_wake_fd(void)
{
    return srv_wake_fd;
}

void tide_mpirun_server_drain_wake(void)
{
    uint64_t v;
    ssize_t r = read(srv_wake_fd, &v, sizeof(v));
    (void)r;
}

int tide_mpirun_server_abort_get(int *rank, int *code, char *msg, size_t msglen)
{
    pthread_mutex_lock(&srv_lock);
    int pending = srv_abort.pending;
    if (pending) {
        *rank = srv_abort.rank;
        *code = srv_abort.code;
        snprintf(msg, msglen, "%s", srv_abort.msg);
    }
    pthread_mutex_unlock(&srv_lock);
    return pending;
}

static void srv_notify_done(pmix_status_t status, void *cbdata)
{
    pmix_info_t *info = cbdata;
    PMIX_INFO_FREE(info, 1);
}

/* The info must live until the library is done with it: freed in the
 * completion callback. */
int tide_mpirun_server_notify_failed(const char *nspace, int rank)
{
    pmix_proc_t src;
    pmix_info_t *info;
    PMIX_LOAD_PROCID(&src, nspace, (pmix_rank_t)rank);
    PMIX_INFO_CREATE(info, 1);
    if (info == NULL)
        return -ENOMEM;
    PMIX_INFO_LOAD(&info[0], PMIX_EVENT_AFFECTED_PROC, &src, PMIX_PROC);
    pmix_status_t rc = PMIx_Notify_event(PMIX_ERR_PROC_ABORTED, &src, PMIX_RANGE_NAMESPACE, info, 1,
                                         srv_notify_done, info);
    if (rc == PMIX_SUCCESS)
        return 0;
    PMIX_INFO_FREE(info, 1);
    if (rc == PMIX_OPERATION_SUCCEEDED)
        return 0;
    tide_error("cannot tell the ranks that rank %d failed: PMIx_Notify_event: %s", rank,
               PMIx_Error_string(rc));
    return -EIO;
}

/* We do not call PMIx_server_finalize: in PMIx 4.2.2 it crashes or
 * deadlocks now and then (about one run in 25) when clients went away
 * without PMIx_Finalize, i.e. exactly after a failed job.  mpirun exits
 * right after this; the kernel closes the server's sockets and main.c
 * removes the temporary directory the server used. */
void tide_mpirun_server_finalize(tide_mpirun_job_t *job)
{
    if (!srv_up)
        return;
    srv_up = 0;
    close(srv_wake_fd);
    srv_wake_fd = -1;
}
