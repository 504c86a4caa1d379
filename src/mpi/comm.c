/* Communicators (MPI 4.1 chapter 7): the handle table, the predefined
 * MPI_COMM_WORLD and MPI_COMM_SELF, queries (rank, size, compare, names,
 * groups), MPI_Comm_dup/idup/free and MPI_Barrier (src/coll over
 * point-to-point).  Handles are small integers indexing a two-level table
 * whose chunks never move, so tide_comm_get() on the point-to-point path
 * reads it without a lock.  Splitting and intercommunicators are in
 * comm_create.c, context-id agreement in comm_ctx.c (doc/comm.md). */
#include "config.h"
#include "coll/coll.h"
#include "coll/sched.h"
#include "mpi/comm_impl.h"
#include "mpi/ft.h"
#include "rte/rte.h"
#include "util/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TIDE_COMM_CHUNK = 256, TIDE_COMM_NCHUNKS = 1024 };

static tide_comm_t *tide_comm_chunk0[TIDE_COMM_CHUNK];
static tide_comm_t **tide_comm_chunks[TIDE_COMM_NCHUNKS] = {tide_comm_chunk0};
static pthread_mutex_t tide_comm_lock = PTHREAD_MUTEX_INITIALIZER;
static tide_comm_t tide_comm_world, tide_comm_self;

static void tide_comm_init_one(tide_comm_t *c, MPI_Comm h, int rank, int size, uint32_t ctx,
                               const char *name)
{
    memset(c, 0, sizeof(*c));
    c->handle = h;
    c->rank = rank;
    c->size = c->local_size = size;
    c->ctx = ctx;
    c->self_proc = tide_rte.rank;
    c->errhandler = MPI_ERRORS_ARE_FATAL;
    c->info = MPI_INFO_NULL;
    snprintf(c->name, sizeof(c->name), "%s", name);
    c->named = 1;
    __atomic_store_n(&tide_comm_chunk0[h], c, __ATOMIC_RELEASE);
}

void tide_comm_init_predefined(void)
{
    tide_comm_init_one(&tide_comm_world, MPI_COMM_WORLD, tide_rte.rank, tide_rte.size, 0,
                       "MPI_COMM_WORLD");
    tide_comm_init_one(&tide_comm_self, MPI_COMM_SELF, 0, 1, 2, "MPI_COMM_SELF");
    tide_ft_comm_register(&tide_comm_world);
}

tide_comm_t *tide_comm_get(MPI_Comm comm)
{
    if (comm <= MPI_COMM_NULL || comm >= TIDE_COMM_CHUNK * TIDE_COMM_NCHUNKS)
        return NULL;
    tide_comm_t **chunk =
        __atomic_load_n(&tide_comm_chunks[comm / TIDE_COMM_CHUNK], __ATOMIC_ACQUIRE);
    return chunk ? __atomic_load_n(&chunk[comm % TIDE_COMM_CHUNK], __ATOMIC_ACQUIRE) : NULL;
}

tide_comm_t *tide_comm_alloc(void)
{
    tide_comm_t *c = calloc(1, sizeof(*c));
    if (c) {
        c->self_proc = tide_rte.rank;
        c->errhandler = MPI_ERRORS_ARE_FATAL;
        c->info = MPI_INFO_NULL;
    }
    return c;
}

/* Enter c in the handle table (no failure bookkeeping yet). */
static int tide_comm_register_handle(tide_comm_t *c)
{
    pthread_mutex_lock(&tide_comm_lock);
    for (int k = 0; k < TIDE_COMM_NCHUNKS; k++) {
        tide_comm_t **chunk = tide_comm_chunks[k];
        if (!chunk) {
            chunk = calloc(TIDE_COMM_CHUNK, sizeof(*chunk));
            if (!chunk)
                break;
            __atomic_store_n(&tide_comm_chunks[k], chunk, __ATOMIC_RELEASE);
        }
        for (int i = k ? 0 : MPI_COMM_SELF + 1; i < TIDE_COMM_CHUNK; i++) {
            if (!chunk[i]) {
                c->handle = k * TIDE_COMM_CHUNK + i;
                if (!c->name[0])
                    snprintf(c->name, sizeof(c->name), "communicator %d", c->handle);
                __atomic_store_n(&chunk[i], c, __ATOMIC_RELEASE);
                pthread_mutex_unlock(&tide_comm_lock);
                return MPI_SUCCESS;
            }
        }
    }
    pthread_mutex_unlock(&tide_comm_lock);
    tide_error("no room for another communicator (%d in use)", TIDE_COMM_CHUNK * TIDE_COMM_NCHUNKS);
    return MPI_ERR_NO_MEM;
}

int tide_comm_register(tide_comm_t *c)
{
    int rc = tide_comm_register_handle(c);
    if (!rc)
        tide_ft_comm_register(c); /* failure bookkeeping (ft.c) */
    return rc;
}

static void tide_comm_unregister(tide_comm_t *c)
{
    pthread_mutex_lock(&tide_comm_lock);
    tide_comm_t **chunk = tide_comm_chunks[c->handle / TIDE_COMM_CHUNK];
    __atomic_store_n(&chunk[c->handle % TIDE_COMM_CHUNK], NULL, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&tide_comm_lock);
}

void tide_comm_destroy(tide_comm_t *c)
{
    if (!c)
        return;
    if (c->handle)
        tide_comm_unregister(c);
    tide_ft_comm_forget(c);
    if (c->ctx >= 4)
        tide_ctx_release(c->ctx);
    tide_errh_unref(c->errhandler);
    if (c->info != MPI_INFO_NULL)
        tide_info_free_internal(c->info);
    tide_comm_destroy(c->local);
    tide_topo_unref(c->topo);
    free(c->owned);
    free(c);
}

int tide_procs_find(const int *procs, int n, int proc)
{
    for (int i = 0; i < n; i++)
        if (procs[i] == proc)
            return i;
    return -1;
}

int tide_comm_set_procs(tide_comm_t *c, int n, const int *procs, int rank)
{
    c->owned = malloc((size_t)(n ? n : 1) * sizeof(int));
    if (!c->owned)
        return MPI_ERR_NO_MEM;
    memcpy(c->owned, procs, (size_t)n * sizeof(int));
    c->procs = c->owned;
    c->size = c->local_size = n;
    c->rank = rank;
    return MPI_SUCCESS;
}

void tide_comm_inherit(tide_comm_t *n, const tide_comm_t *parent)
{
    tide_errh_ref(parent->errhandler);
    tide_errh_unref(n->errhandler);
    n->errhandler = parent->errhandler;
}

void tide_comm_finalize(void)
{
    tide_attr_comm_delete_all(&tide_comm_self);
    tide_attr_comm_delete_all(&tide_comm_world);
}

int PMPI_Comm_rank(MPI_Comm comm, int *rank)
{
    static const char fn[] = "MPI_Comm_rank";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    TIDE_MPI_CHECK_PTR(fn, comm, rank, "rank");
    *rank = c->rank;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Comm_rank);

int PMPI_Comm_size(MPI_Comm comm, int *size)
{
    static const char fn[] = "MPI_Comm_size";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    TIDE_MPI_CHECK_PTR(fn, comm, size, "size");
    *size = c->local_size;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Comm_size);

int PMPI_Comm_remote_size(MPI_Comm comm, int *size)
{
    static const char fn[] = "MPI_Comm_remote_size";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    if (!c->is_inter)
        return tide_mpi_error(comm, fn, MPI_ERR_COMM,
                              "argument comm (%s) is not an intercommunicator", c->name);
    TIDE_MPI_CHECK_PTR(fn, comm, size, "size");
    *size = c->size;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Comm_remote_size);

int PMPI_Comm_test_inter(MPI_Comm comm, int *flag)
{
    static const char fn[] = "MPI_Comm_test_inter";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    TIDE_MPI_CHECK_PTR(fn, comm, flag, "flag");
    *flag = c->is_inter;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Comm_test_inter);

/* Barrier of an intercommunicator: each group synchronises, the leaders
 * swap a token, each group synchronises again. */
static int tide_inter_barrier(tide_comm_t *c)
{
    tide_comm_t *l = c->local;
    int rc =
        l->size > 1 ? tide_coll_barrier(l->rank, l->size, l->procs, l->self_proc, l->ctx + 1) : 0;
    if (rc)
        return rc;
    if (c->rank == 0) {
        char a = 0, b;
        int e = tide_xchg_proc(c->ctx + 1, 0, c->procs[0], 0, &a, 1, &b, 1, TIDE_TAG_IBARRIER);
        if (e)
            return -EPIPE;
    }
    return l->size > 1 ? tide_coll_barrier(l->rank, l->size, l->procs, l->self_proc, l->ctx + 1)
                       : 0;
}

int PMPI_Barrier(MPI_Comm comm)
{
    static const char fn[] = "MPI_Barrier";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    if (c->size == 1 && !c->is_inter)
        return MPI_SUCCESS;
    int rc = c->is_inter ? tide_inter_barrier(c)
                         : tide_coll_barrier(c->rank, c->size, c->procs, c->self_proc, c->ctx + 1);
    if (rc)
        return tide_mpi_error(comm, fn, rc == -ENOMEM ? MPI_ERR_NO_MEM : MPI_ERR_PROC_FAILED,
                              "a peer could not be reached (%s)", strerror(-rc));
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Barrier);

/* ---- duplication ---- */

/* Leaders of the two groups of an intercommunicator AND their masks. */
static int tide_inter_xchg(void *arg, uint64_t *w, int n)
{
    const tide_comm_t *c = arg;
    uint64_t in[n];
    int rc = tide_xchg_proc(c->ctx + 1, 0, c->procs[0], 0, w, (size_t)n * 8, in, (size_t)n * 8,
                            TIDE_TAG_CTX_XCHG);
    for (int i = 0; !rc && i < n; i++)
        w[i] &= in[i];
    return rc;
}

int tide_comm_agree_inter(tide_comm_t *c, uint32_t *ctx)
{
    tide_geom_t g;
    tide_geom_of_comm(c->local, &g);
    return tide_ctx_agree_key(&g, c->ctx + 1, 1, 0, tide_inter_xchg, c, TIDE_TAG_CTX_REDUCE,
                              TIDE_TAG_CTX_BCAST, ctx);
}

/* n takes c's group (an intercommunicator's: both, and a new local
 * communicator of its own); context ids are agreed apart. */
static int tide_comm_dup_shape(const tide_comm_t *c, tide_comm_t *n)
{
    if (!c->is_inter) {
        if (c->procs)
            return tide_comm_set_procs(n, c->size, c->procs, c->rank);
        n->rank = c->rank;
        n->size = n->local_size = c->size;
        return 0;
    }
    n->local = tide_comm_alloc();
    if (!n->local)
        return MPI_ERR_NO_MEM;
    int rc = tide_comm_dup_shape(c->local, n->local);
    if (rc)
        return rc;
    int ls = c->local_size, rs = c->size;
    n->owned = malloc((size_t)(ls + rs) * sizeof(int));
    if (!n->owned)
        return MPI_ERR_NO_MEM;
    for (int i = 0; i < ls; i++)
        n->owned[i] = tide_comm_local_proc(c, i);
    memcpy(n->owned + ls, c->procs, (size_t)rs * sizeof(int));
    n->is_inter = 1;
    n->local_procs = n->owned;
    n->procs = n->owned + ls;
    n->rank = c->rank;
    n->local_size = ls;
    n->size = rs;
    return 0;
}

int tide_comm_dup_intra(const tide_comm_t *c, tide_comm_t *n)
{
    tide_geom_t g;
    tide_geom_of_comm(c, &g);
    int rc = tide_ctx_agree(&g, 1, 0, NULL, NULL, TIDE_TAG_CTX_REDUCE, TIDE_TAG_CTX_BCAST, &n->ctx);
    return rc ? rc : tide_comm_dup_shape(c, n);
}

/* A duplicate of an intercommunicator: a new local intracommunicator and a
 * context id agreed by both groups. */
static int tide_comm_dup_inter(tide_comm_t *c, tide_comm_t *n)
{
    int rc = tide_comm_dup_shape(c, n);
    tide_geom_t g;
    tide_geom_of_comm(c->local, &g);
    if (!rc)
        rc = tide_ctx_agree(&g, 1, 0, NULL, NULL, TIDE_TAG_CTX_REDUCE, TIDE_TAG_CTX_BCAST,
                            &n->local->ctx);
    return rc ? rc : tide_comm_agree_inter(c, &n->ctx);
}

/* Comm_dup's work: a new communicator with c's group, error handler,
 * copied attributes and info (info_in: MPI_Comm_dup_with_info). */
static int tide_comm_dup_common(const char *fn, tide_comm_t *c, MPI_Info info_in, MPI_Comm *out)
{
    tide_comm_t *n = tide_comm_alloc();
    if (!n)
        return tide_mpi_error(c->handle, fn, MPI_ERR_NO_MEM, "out of memory");
    int rc = c->is_inter ? tide_comm_dup_inter(c, n) : tide_comm_dup_intra(c, n);
    if (!rc && info_in != MPI_INFO_NULL)
        rc = tide_info_dup_internal(info_in, &n->info);
    if (!rc)
        rc = tide_attr_comm_copy(c, n);
    if (!rc)
        rc = tide_comm_register(n);
    if (rc) {
        tide_attr_comm_delete_all(n);
        tide_comm_destroy(n);
        *out = MPI_COMM_NULL; /* MPI 4.1 section 7.4.2 */
        return tide_mpi_error(c->handle, fn, rc, "could not duplicate %s", c->name);
    }
    tide_comm_inherit(n, c);
    n->topo = tide_topo_ref(c->topo); /* MPI 4.1 section 7.4.2: the topology too */
    *out = n->handle;
    return MPI_SUCCESS;
}

int PMPI_Comm_dup(MPI_Comm comm, MPI_Comm *newcomm)
{
    static const char fn[] = "MPI_Comm_dup";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    TIDE_MPI_CHECK_PTR(fn, comm, newcomm, "newcomm");
    return tide_comm_dup_common(fn, c, c->info, newcomm);
}
TIDE_MPI_WEAK(MPI_Comm_dup);

int PMPI_Comm_dup_with_info(MPI_Comm comm, MPI_Info info, MPI_Comm *newcomm)
{
    static const char fn[] = "MPI_Comm_dup_with_info";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    if (info != MPI_INFO_NULL && !tide_info_valid(info))
        return tide_mpi_error(comm, fn, MPI_ERR_INFO, "argument info (handle %d) is not valid",
                              (int)info);
    TIDE_MPI_CHECK_PTR(fn, comm, newcomm, "newcomm");
    return tide_comm_dup_common(fn, c, info, newcomm);
}
TIDE_MPI_WEAK(MPI_Comm_dup_with_info);

/* The agreement of an idup is done: n may be used (failure bookkeeping
 * needs its context ids). */
static void tide_comm_idup_done(void *arg)
{
    tide_ft_comm_register(arg);
}

/* The schedule of an idup: the context ids of n (an intercommunicator's
 * local one first), agreed on c with the tag of a nonblocking collective,
 * so it is ordered with c's other nonblocking collectives. */
static int tide_comm_idup_sched(tide_comm_t *c, tide_comm_t *n, tide_sched_t **out)
{
    uint32_t seq = __atomic_fetch_add(&c->nbc_seq, 1, __ATOMIC_RELAXED);
    int tag = (int)(TIDE_COLL_TAG_NBC | (seq & TIDE_COLL_NBC_MASK));
    tide_sched_t *s = tide_ctx_sched_new(c, tag);
    if (!s)
        return MPI_ERR_NO_MEM;
    int rc;
    if (c->is_inter) { /* keys: the local group's context, then one both groups know */
        rc = tide_ctx_iagree(s, c->local->ctx + 1, tag, TIDE_CTX_IA_LOCAL, &n->local->ctx, NULL,
                             NULL);
        if (!rc)
            rc = tide_ctx_iagree(s, c->ctx + 1, tag, TIDE_CTX_IA_INTER, &n->ctx,
                                 tide_comm_idup_done, n);
    } else {
        rc =
            tide_ctx_iagree(s, c->ctx + 1, tag, TIDE_CTX_IA_INTRA, &n->ctx, tide_comm_idup_done, n);
    }
    if (rc) {
        tide_sched_free(s);
        return MPI_ERR_NO_MEM;
    }
    *out = s;
    return 0;
}

/* Everything of a duplicate at the call (group, info, attributes, error
 * handler, topology: MPI 4.1 section 7.4.2), registered with context id 0
 * (no traffic) until the schedule agrees on its ids. */
static int tide_comm_idup_new(tide_comm_t *c, MPI_Info info, tide_comm_t **out)
{
    tide_comm_t *n = tide_comm_alloc();
    if (!n)
        return MPI_ERR_NO_MEM;
    int rc = tide_comm_dup_shape(c, n);
    if (!rc && info != MPI_INFO_NULL)
        rc = tide_info_dup_internal(info, &n->info);
    if (!rc)
        rc = tide_attr_comm_copy(c, n);
    if (!rc)
        rc = tide_comm_register_handle(n);
    if (rc) {
        tide_attr_comm_delete_all(n);
        tide_comm_destroy(n);
        return rc;
    }
    tide_comm_inherit(n, c);
    n->topo = tide_topo_ref(c->topo);
    *out = n;
    return 0;
}

/* MPI_Comm_idup(_with_info): the new communicator's handle is returned at
 * once, usable when the request completes; the context-id agreement runs
 * as a schedule (tide_ctx_iagree), so the call never waits for the other
 * members. */
static int tide_comm_idup_common(const char *fn, MPI_Comm comm, MPI_Info info, int use_info,
                                 MPI_Comm *newcomm, MPI_Request *request)
{
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c, *n = NULL;
    TIDE_MPI_GET_COMM(fn, comm, c);
    if (use_info && info != MPI_INFO_NULL && !tide_info_valid(info))
        return tide_mpi_error(comm, fn, MPI_ERR_INFO, "argument info (handle %d) is not valid",
                              (int)info);
    TIDE_MPI_CHECK_PTR(fn, comm, newcomm, "newcomm");
    TIDE_MPI_CHECK_PTR(fn, comm, request, "request");
    *newcomm = MPI_COMM_NULL;
    tide_mpi_req_t *r = tide_mpi_req_new(TIDE_MPI_REQ_COLL, comm);
    tide_sched_t *s = NULL;
    int rc = r ? tide_comm_idup_new(c, use_info ? info : c->info, &n) : MPI_ERR_NO_MEM;
    if (!rc && (rc = tide_comm_idup_sched(c, n, &s)) != 0) {
        tide_attr_comm_delete_all(n);
        tide_comm_destroy(n);
    }
    if (rc) {
        if (r)
            tide_mpi_req_release(r);
        return tide_mpi_error(comm, fn, rc, "could not duplicate %s", c->name);
    }
    r->sched = s;
    *newcomm = n->handle;
    *request = r->handle;
    tide_sched_start(s);
    return MPI_SUCCESS;
}

int PMPI_Comm_idup(MPI_Comm comm, MPI_Comm *newcomm, MPI_Request *request)
{
    return tide_comm_idup_common("MPI_Comm_idup", comm, MPI_INFO_NULL, 0, newcomm, request);
}
TIDE_MPI_WEAK(MPI_Comm_idup);

/* MPI 4.0's variant, common in test suites. */
int PMPI_Comm_idup_with_info(MPI_Comm comm, MPI_Info info, MPI_Comm *newcomm, MPI_Request *request)
{
    return tide_comm_idup_common("MPI_Comm_idup_with_info", comm, info, 1, newcomm, request);
}
TIDE_MPI_WEAK(MPI_Comm_idup_with_info);

int PMPI_Comm_free(MPI_Comm *comm)
{
    static const char fn[] = "MPI_Comm_free";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, comm, "comm");
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, *comm, c);
    if (c == &tide_comm_world || c == &tide_comm_self)
        return tide_mpi_error(*comm, fn, MPI_ERR_COMM, "argument comm is %s, which cannot be freed",
                              c->name);
    int rc = tide_attr_comm_delete_all(c);
    if (rc)
        return tide_mpi_error(*comm, fn, rc,
                              "an attribute delete callback failed; the communicator stays");
    tide_comm_destroy(c);
    *comm = MPI_COMM_NULL;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Comm_free);

/* ---- comparison, groups, names ---- */

static int tide_procs_compare(int n1, const int *p1, int n2, const int *p2)
{
    if (n1 != n2)
        return MPI_UNEQUAL;
    int same_order = 1;
    for (int i = 0; i < n1; i++) {
        if (p1[i] != p2[i])
            same_order = 0;
        if (tide_procs_find(p2, n2, p1[i]) < 0)
            return MPI_UNEQUAL;
    }
    return same_order ? MPI_IDENT : MPI_SIMILAR;
}

/* The processes of c's local group (or remote group): a new array. */
static int *tide_comm_group_procs(const tide_comm_t *c, int remote, int *n)
{
    *n = remote ? c->size : c->local_size;
    int *p = malloc((size_t)(*n ? *n : 1) * sizeof(int));
    for (int i = 0; p && i < *n; i++)
        p[i] = remote ? tide_comm_proc(c, i) : tide_comm_local_proc(c, i);
    return p;
}

static int tide_comm_compare_groups(const tide_comm_t *a, const tide_comm_t *b, int remote)
{
    int n1, n2;
    int *p1 = tide_comm_group_procs(a, remote, &n1), *p2 = tide_comm_group_procs(b, remote, &n2);
    int r = p1 && p2 ? tide_procs_compare(n1, p1, n2, p2) : -1;
    free(p1);
    free(p2);
    return r;
}

int PMPI_Comm_compare(MPI_Comm comm1, MPI_Comm comm2, int *result)
{
    static const char fn[] = "MPI_Comm_compare";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *a, *b;
    TIDE_MPI_GET_COMM(fn, comm1, a);
    TIDE_MPI_GET_COMM(fn, comm2, b);
    TIDE_MPI_CHECK_PTR(fn, comm1, result, "result");
    if (a == b) {
        *result = MPI_IDENT;
        return MPI_SUCCESS;
    }
    if (a->is_inter != b->is_inter) {
        *result = MPI_UNEQUAL;
        return MPI_SUCCESS;
    }
    int r = tide_comm_compare_groups(a, b, 0);
    if (r >= 0 && a->is_inter) {
        int r2 = tide_comm_compare_groups(a, b, 1);
        r = r2 < 0 ? r2 : (r2 > r ? r2 : r);
    }
    if (r < 0)
        return tide_mpi_error(comm1, fn, MPI_ERR_NO_MEM, "out of memory");
    *result = r == MPI_IDENT ? MPI_CONGRUENT : r;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Comm_compare);

static int tide_comm_group_common(const char *fn, MPI_Comm comm, int remote, MPI_Group *group)
{
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    if (remote && !c->is_inter)
        return tide_mpi_error(comm, fn, MPI_ERR_COMM,
                              "argument comm (%s) is not an intercommunicator", c->name);
    TIDE_MPI_CHECK_PTR(fn, comm, group, "group");
    int n;
    int *p = tide_comm_group_procs(c, remote, &n);
    MPI_Group g = p ? tide_group_make(n, p) : MPI_GROUP_NULL;
    free(p);
    if (g == MPI_GROUP_NULL)
        return tide_mpi_error(comm, fn, MPI_ERR_NO_MEM, "out of memory for a group");
    *group = g;
    return MPI_SUCCESS;
}

int PMPI_Comm_group(MPI_Comm comm, MPI_Group *group)
{
    return tide_comm_group_common("MPI_Comm_group", comm, 0, group);
}
TIDE_MPI_WEAK(MPI_Comm_group);

int PMPI_Comm_remote_group(MPI_Comm comm, MPI_Group *group)
{
    return tide_comm_group_common("MPI_Comm_remote_group", comm, 1, group);
}
TIDE_MPI_WEAK(MPI_Comm_remote_group);

int PMPI_Comm_set_name(MPI_Comm comm, const char *comm_name)
{
    static const char fn[] = "MPI_Comm_set_name";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    TIDE_MPI_CHECK_PTR(fn, comm, comm_name, "comm_name");
    /* Longer names are truncated (MPI 4.1 section 7.8). */
    snprintf(c->name, sizeof(c->name), "%s", comm_name);
    c->named = 1;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Comm_set_name);

int PMPI_Comm_get_name(MPI_Comm comm, char *comm_name, int *resultlen)
{
    static const char fn[] = "MPI_Comm_get_name";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    TIDE_MPI_CHECK_PTR(fn, comm, comm_name, "comm_name");
    TIDE_MPI_CHECK_PTR(fn, comm, resultlen, "resultlen");
    /* A communicator never named reports the empty string. */
    *resultlen = snprintf(comm_name, MPI_MAX_OBJECT_NAME, "%s", c->named ? c->name : "");
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Comm_get_name);

int PMPI_Comm_set_info(MPI_Comm comm, MPI_Info info)
{
    static const char fn[] = "MPI_Comm_set_info";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    if (info != MPI_INFO_NULL && !tide_info_valid(info))
        return tide_mpi_error(comm, fn, MPI_ERR_INFO, "argument info (handle %d) is not valid",
                              (int)info);
    MPI_Info copy = MPI_INFO_NULL;
    if (info != MPI_INFO_NULL && tide_info_dup_internal(info, &copy))
        return tide_mpi_error(comm, fn, MPI_ERR_NO_MEM, "out of memory");
    if (c->info != MPI_INFO_NULL)
        tide_info_free_internal(c->info);
    c->info = copy;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Comm_set_info);

/* The communicator hints Tide recognises: MPI 4.1's assertions (section
 * 7.4.4), booleans that default to "false".  Tide takes no advantage of
 * them (which an assertion allows) but reports them, as MPI requires of
 * supported hints with a default; every other key is ignored. */
static const char *const tide_comm_hints[] = {"mpi_assert_no_any_tag", "mpi_assert_no_any_source",
                                              "mpi_assert_exact_length",
                                              "mpi_assert_allow_overtaking"};

/* The hints of `given` in use (MPI_Comm_get_info): a new info object. */
static int tide_comm_hints_used(MPI_Info given, MPI_Info *out)
{
    if (PMPI_Info_create(out) != MPI_SUCCESS)
        return MPI_ERR_NO_MEM;
    for (size_t i = 0; i < sizeof(tide_comm_hints) / sizeof(tide_comm_hints[0]); i++) {
        char v[MPI_MAX_INFO_VAL + 1];
        int flag = 0;
        if (given != MPI_INFO_NULL)
            PMPI_Info_get(given, tide_comm_hints[i], MPI_MAX_INFO_VAL, v, &flag);
        const char *val = flag && strcmp(v, "true") == 0 ? "true" : "false";
        if (PMPI_Info_set(*out, tide_comm_hints[i], val) != MPI_SUCCESS) {
            tide_info_free_internal(*out);
            *out = MPI_INFO_NULL;
            return MPI_ERR_NO_MEM;
        }
    }
    return 0;
}

int PMPI_Comm_get_info(MPI_Comm comm, MPI_Info *info_used)
{
    static const char fn[] = "MPI_Comm_get_info";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    TIDE_MPI_CHECK_PTR(fn, comm, info_used, "info_used");
    int rc = tide_comm_hints_used(c->info, info_used);
    return rc ? tide_mpi_error(comm, fn, MPI_ERR_NO_MEM, "out of memory") : MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Comm_get_info);
