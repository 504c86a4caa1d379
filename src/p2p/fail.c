/* Process failure beyond the named peer (doc/reliability.md, "Process
 * failure beyond the named peer"): which processes make up each
 * communicator, and what a member's failure does to the communicator's
 * collective context.
 *
 * The MPI layer registers every communicator's processes on its
 * point-to-point context id (tide_p2p_group_set); collective traffic runs
 * on ctx + 1.  When net.c marks a process failed (its stream died, the
 * runtime's event, a peer's notice), every group holding it counts one more
 * failed member and its collective context is revoked, as ULFM's
 * MPIX_Comm_revoke does for the whole communicator: the posted receives on
 * it fail, later receives and sends on it fail at once, and what arrives on
 * it -- now or later -- is consumed and thrown away, a rendezvous RTS
 * answered with a CTS for 0 bytes and a synchronous eager message
 * acknowledged, so a live sender that is still inside the collective
 * completes instead of waiting for a receive that will never be posted.
 * So every collective on the communicator, pending or later, blocking or
 * not, ends with MPI_ERR_PROC_FAILED at every process that knows of the
 * failure.  The point-to-point context is left alone: live ranks go on
 * talking; the MPI layer consults the failed count for MPI_ANY_SOURCE
 * receives (src/mpi/ft.c).  Every function here runs with tide_p2p_lock
 * held unless it says otherwise. */
#include "config.h"
#include "p2p/p2p_impl.h"
#include "util/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct tide_p2p_group {
    uint32_t ctx;
    int n;
    int *procs; /* member i's process; NULL: the identity 0..n-1 */
    int nfailed;
} tide_p2p_group_t;

/* ctx -> group.  Zero is a valid empty table: MPI_COMM_WORLD registers
 * before tide_p2p_init. */
static tide_hash_t tide_p2p_groups;
uint64_t tide_p2p_nrevoked;

static int tide_p2p_group_has(const tide_p2p_group_t *g, int proc)
{
    if (!g->procs)
        return proc >= 0 && proc < g->n;
    for (int i = 0; i < g->n; i++)
        if (g->procs[i] == proc)
            return 1;
    return 0;
}

/* Revoke collective context ctx with err (see above). */
static void tide_p2p_revoke(uint32_t ctx, int err)
{
    tide_p2p_queues_t *q = tide_p2p_queues(ctx);
    if (!q) {
        tide_error("out of memory revoking context %u: its collectives may wait", ctx);
        return;
    }
    if (q->revoked)
        return;
    q->revoked = err;
    tide_p2p_nrevoked++;
    tide_p2p_match_fail_all(q, err);
    tide_p2p_msg_t *m;
    while ((m = tide_p2p_match_unexpected(q, TIDE_P2P_ANY_SOURCE, TIDE_P2P_ANY_TAG, 1)))
        tide_p2p_msg_discard(m, err);
}

void tide_p2p_groups_proc_failed(int proc, int err)
{
    size_t it = 0;
    void *v;
    while (tide_hash_next(&tide_p2p_groups, &it, NULL, &v)) {
        tide_p2p_group_t *g = v;
        if (!tide_p2p_group_has(g, proc))
            continue;
        g->nfailed++;
        tide_p2p_revoke(g->ctx + 1, err);
    }
}

static void tide_p2p_group_free(tide_p2p_group_t *g)
{
    if (!g)
        return;
    free(g->procs);
    free(g);
}

/* Called unlocked. */
int tide_p2p_group_set(uint32_t ctx, const int *procs, int n)
{
    tide_p2p_group_t *g = calloc(1, sizeof(*g));
    if (!g || (procs && !(g->procs = malloc((size_t)n * sizeof(int))))) {
        free(g);
        return -ENOMEM;
    }
    g->ctx = ctx;
    g->n = n;
    if (procs)
        memcpy(g->procs, procs, (size_t)n * sizeof(int));
    pthread_mutex_lock(&tide_p2p_lock);
    tide_p2p_group_free(tide_hash_del(&tide_p2p_groups, ctx));
    int rc = tide_hash_put(&tide_p2p_groups, ctx, g);
    if (rc == 0) {
        for (int i = 0; i < n; i++)
            g->nfailed += tide_p2p_proc_dead(procs ? procs[i] : i);
        if (g->nfailed) /* a communicator made with a member already gone */
            tide_p2p_revoke(ctx + 1, -ECONNRESET);
    }
    pthread_mutex_unlock(&tide_p2p_lock);
    if (rc) {
        tide_p2p_group_free(g);
        return -ENOMEM;
    }
    return 0;
}

/* Called unlocked. */
void tide_p2p_group_clear(uint32_t ctx)
{
    pthread_mutex_lock(&tide_p2p_lock);
    tide_p2p_group_free(tide_hash_del(&tide_p2p_groups, ctx));
    tide_p2p_queues_t *q = tide_p2p_queues_find(ctx + 1);
    if (q && q->revoked) { /* the context id may be agreed again for a new communicator */
        q->revoked = 0;
        tide_p2p_nrevoked--;
    }
    pthread_mutex_unlock(&tide_p2p_lock);
}

/* Called unlocked. */
int tide_p2p_group_failed(uint32_t ctx, int *procs, int max)
{
    pthread_mutex_lock(&tide_p2p_lock);
    const tide_p2p_group_t *g = tide_hash_get(&tide_p2p_groups, ctx);
    int nfailed = g ? g->nfailed : 0;
    for (int i = 0, k = 0; procs && nfailed && i < g->n && k < max; i++) {
        int proc = g->procs ? g->procs[i] : i;
        if (tide_p2p_proc_dead(proc))
            procs[k++] = proc;
    }
    pthread_mutex_unlock(&tide_p2p_lock);
    return nfailed;
}

void tide_p2p_groups_fini(void)
{
    size_t it = 0;
    void *v;
    while (tide_hash_next(&tide_p2p_groups, &it, NULL, &v))
        tide_p2p_group_free(v);
    tide_hash_fini(&tide_p2p_groups);
    tide_p2p_nrevoked = 0;
}
