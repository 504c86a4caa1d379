/* A bare PMIx client to test mpirun's PMIx server without the MPI library.
 *   pmix_client hello          every rank checks the job data, puts a value,
 *                              fences with data collection, reads its right
 *                              neighbour's value, prints "rank R of N ok".
 *   pmix_client exit R C       rank R exits with code C after init; the
 *                              others wait in a fence that never completes.
 *   pmix_client abort R C      rank R calls PMIx_Abort(C, ...); others fence.
 *   pmix_client nofinalize R   rank R exits 0 without PMIx_Finalize; the
 *                              others sleep.
 *   pmix_client dmodex         every rank puts a value and commits, then,
 *                              without a fence, gets its right neighbour's
 *                              (the server asks the neighbour's server:
 *                              direct modex), prints "rank R dmodex ok".
 *   pmix_client recover R C    (mpirun --enable-recovery) all ranks register
 *                              for PMIX_ERR_PROC_ABORTED and fence; then rank
 *                              R exits with C (C 0: SIGKILLs itself; C -1:
 *                              prints "rank R parent P" and waits to be
 *                              killed, e.g. with its daemon P); the
 *                              others wait up to 20 s for the event, print
 *                              "rank X told rank R failed", finalize, exit 0. */
#include <pmix.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pmix_proc_t me;

static void die(const char *what, pmix_status_t rc)
{
    fprintf(stderr, "pmix_client rank %u: %s: %s\n", me.rank, what, PMIx_Error_string(rc));
    exit(99);
}

/* Job-level (rank WILDCARD) or own value as uint32-ish integer. */
static uint64_t get_num(const char *key, pmix_rank_t rank)
{
    pmix_proc_t p;
    pmix_value_t *v = NULL;
    uint64_t out = 0;
    PMIX_LOAD_PROCID(&p, me.nspace, rank);
    pmix_status_t rc = PMIx_Get(&p, key, NULL, 0, &v);
    if (rc != PMIX_SUCCESS)
        die(key, rc);
    switch (v->type) {
    case PMIX_UINT16: out = v->data.uint16; break;
    case PMIX_UINT32: out = v->data.uint32; break;
    case PMIX_UINT64: out = v->data.uint64; break;
    case PMIX_PROC_RANK: out = v->data.rank; break;
    default: fprintf(stderr, "%s: unexpected type %d\n", key, v->type); exit(99);
    }
    PMIX_VALUE_RELEASE(v);
    return out;
}

static void fence(void)
{
    pmix_info_t info;
    int yes = 1;
    PMIX_INFO_LOAD(&info, PMIX_COLLECT_DATA, &yes, PMIX_BOOL);
    pmix_status_t rc = PMIx_Fence(NULL, 0, &info, 1);
    if (rc != PMIX_SUCCESS)
        die("fence", rc);
}

static int hello(void)
{
    uint32_t n = (uint32_t)get_num(PMIX_JOB_SIZE, PMIX_RANK_WILDCARD);
    uint64_t key = get_num("tide.jobkey", PMIX_RANK_WILDCARD);
    uint32_t lsize = (uint32_t)get_num(PMIX_LOCAL_SIZE, PMIX_RANK_WILDCARD);
    uint32_t lrank = (uint32_t)get_num(PMIX_LOCAL_RANK, me.rank);
    uint32_t nodes = (uint32_t)get_num(PMIX_NUM_NODES, PMIX_RANK_WILDCARD);
    /* one node: every rank is local; several (multi-host mpirun): a part */
    if ((nodes == 1 && (lsize != n || lrank != me.rank)) || lrank >= lsize || lsize > n ||
        key == 0) {
        fprintf(stderr, "bad job data: n %u lsize %u lrank %u key %llx\n", n, lsize, lrank,
                (unsigned long long)key);
        return 1;
    }
    pmix_value_t val;
    char buf[64];
    snprintf(buf, sizeof(buf), "value-of-%u", me.rank);
    PMIX_VALUE_LOAD(&val, buf, PMIX_STRING);
    if (PMIx_Put(PMIX_GLOBAL, "test.val", &val) != PMIX_SUCCESS || PMIx_Commit() != PMIX_SUCCESS)
        die("put", PMIX_ERROR);
    PMIX_VALUE_DESTRUCT(&val);
    fence();
    pmix_proc_t peer;
    pmix_value_t *v = NULL;
    PMIX_LOAD_PROCID(&peer, me.nspace, (me.rank + 1) % n);
    pmix_status_t rc = PMIx_Get(&peer, "test.val", NULL, 0, &v);
    if (rc != PMIX_SUCCESS)
        die("get", rc);
    snprintf(buf, sizeof(buf), "value-of-%u", peer.rank);
    if (v->type != PMIX_STRING || strcmp(v->data.string, buf) != 0) {
        fprintf(stderr, "rank %u: wrong value from rank %u\n", me.rank, peer.rank);
        return 1;
    }
    PMIX_VALUE_RELEASE(v);
    printf("rank %u of %u ok key %016llx\n", me.rank, n, (unsigned long long)key);
    return 0;
}

static int dmodex(void)
{
    uint32_t n = (uint32_t)get_num(PMIX_JOB_SIZE, PMIX_RANK_WILDCARD);
    pmix_value_t val, *v = NULL;
    pmix_info_t info;
    pmix_proc_t peer;
    char buf[64];
    int secs = 20;
    snprintf(buf, sizeof(buf), "dmodex-of-%u", me.rank);
    PMIX_VALUE_LOAD(&val, buf, PMIX_STRING);
    if (PMIx_Put(PMIX_GLOBAL, "test.dmx", &val) != PMIX_SUCCESS || PMIx_Commit() != PMIX_SUCCESS)
        die("put", PMIX_ERROR);
    PMIX_VALUE_DESTRUCT(&val);
    PMIX_LOAD_PROCID(&peer, me.nspace, (me.rank + 1) % n);
    PMIX_INFO_LOAD(&info, PMIX_TIMEOUT, &secs, PMIX_INT);
    pmix_status_t rc = PMIx_Get(&peer, "test.dmx", &info, 1, &v);
    if (rc != PMIX_SUCCESS)
        die("get without fence", rc);
    snprintf(buf, sizeof(buf), "dmodex-of-%u", peer.rank);
    if (v->type != PMIX_STRING || strcmp(v->data.string, buf) != 0) {
        fprintf(stderr, "rank %u: wrong value from rank %u\n", me.rank, peer.rank);
        return 1;
    }
    PMIX_VALUE_RELEASE(v);
    printf("rank %u dmodex ok\n", me.rank);
    if (PMIx_Fence(NULL, 0, NULL, 0) != PMIX_SUCCESS) /* nobody leaves early */
        die("fence", PMIX_ERROR);
    return 0;
}

static volatile int told_rank = -1, told_affected = -1;

static void on_aborted(size_t id, pmix_status_t status, const pmix_proc_t *source,
                       pmix_info_t info[], size_t ninfo, pmix_info_t *results, size_t nresults,
                       pmix_event_notification_cbfunc_fn_t cbfunc, void *cbdata)
{
    (void)id;
    (void)results;
    (void)nresults;
    for (size_t i = 0; i < ninfo; i++)
        if (PMIX_CHECK_KEY(&info[i], PMIX_EVENT_AFFECTED_PROC) && info[i].value.type == PMIX_PROC)
            told_affected = (int)info[i].value.data.proc->rank;
    if (status == PMIX_ERR_PROC_ABORTED && source != NULL)
        __atomic_store_n(&told_rank, (int)source->rank, __ATOMIC_SEQ_CST);
    if (cbfunc != NULL)
        cbfunc(PMIX_EVENT_ACTION_COMPLETE, NULL, 0, NULL, NULL, cbdata);
}

static int recover(int who, int code)
{
    pmix_status_t codes[] = {PMIX_ERR_PROC_ABORTED};
    pmix_status_t rc = PMIx_Register_event_handler(codes, 1, NULL, 0, on_aborted, NULL, NULL);
    if (rc < 0)
        die("register event handler", rc);
    fence();
    if ((int)me.rank == who) {
        if (code == 0)
            raise(SIGKILL);
        if (code < 0) {
            printf("rank %d parent %d\n", who, (int)getppid());
            fflush(stdout);
            for (;;)
                pause();
        }
        exit(code);
    }
    for (int i = 0; i < 2000 && __atomic_load_n(&told_rank, __ATOMIC_SEQ_CST) < 0; i++)
        usleep(10000);
    if (told_rank != who || told_affected != who) {
        fprintf(stderr, "rank %u: no event about rank %d (source %d, affected %d)\n", me.rank, who,
                told_rank, told_affected);
        return 1;
    }
    printf("rank %u told rank %d failed\n", me.rank, told_rank);
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "hello";
    int who = argc > 2 ? atoi(argv[2]) : 0, code = argc > 3 ? atoi(argv[3]) : 0;
    pmix_status_t rc = PMIx_Init(&me, NULL, 0);
    if (rc != PMIX_SUCCESS)
        die("init", rc);
    int ret = 0;
    if (strcmp(mode, "hello") == 0) {
        ret = hello();
    } else if (strcmp(mode, "dmodex") == 0) {
        ret = dmodex();
    } else if (strcmp(mode, "recover") == 0) {
        ret = recover(who, code);
    } else if ((int)me.rank == who) {
        if (strcmp(mode, "exit") == 0)
            exit(code);
        if (strcmp(mode, "abort") == 0)
            PMIx_Abort(code, "test abort", NULL, 0);
        if (strcmp(mode, "nofinalize") == 0)
            exit(0);
        sleep(100); /* an abort that did not kill us */
        return 98;
    } else if (strcmp(mode, "nofinalize") == 0) {
        sleep(100);
    } else {
        /* Never completes: a rank is gone.  PMIx may fail the fence when it
         * sees the rank's connection drop; we then wait to be killed like a
         * hung rank, rather than exit non-zero ourselves, which mpirun could
         * see before the failure that caused it (the exiting rank closes
         * its socket before the kernel reports its death). */
        pmix_info_t info;
        int yes = 1;
        PMIX_INFO_LOAD(&info, PMIX_COLLECT_DATA, &yes, PMIX_BOOL);
        if (PMIx_Fence(NULL, 0, &info, 1) != PMIX_SUCCESS)
            pause();
        return 97;
    }
    fflush(stdout);
    PMIx_Finalize(NULL, 0);
    return ret;
}
