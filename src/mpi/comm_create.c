/* Communicator constructors beyond duplication (MPI 4.1 sections 7.4 and
 * 7.6): MPI_Comm_split and split_type, MPI_Comm_create and create_group,
 * MPI_Intercomm_create and merge.  Each collects what it needs from the
 * parent's members over the parent's collective context (comm_ctx.c),
 * agrees on a context id and fills a new tide_comm_t.  Split gives every
 * colour the same id: their groups are disjoint, so their traffic cannot
 * mix. */
#include "config.h"
#include "mpi/comm_impl.h"
#include "rte/rte.h"
#include "util/hash.h"

#include <stdlib.h>
#include <string.h>

#define TIDE_TAG_UB 0x7fffffff

static int tide_new_intra(const char *fn, tide_comm_t *parent, uint32_t ctx, int n,
                          const int *procs, int rank, MPI_Comm *out)
{
    tide_comm_t *nc = tide_comm_alloc();
    int rc = nc ? tide_comm_set_procs(nc, n, procs, rank) : MPI_ERR_NO_MEM;
    if (!rc) {
        nc->ctx = ctx;
        rc = tide_comm_register(nc);
    }
    if (rc) {
        if (nc)
            nc->ctx = 0;
        tide_comm_destroy(nc);
        tide_ctx_release(ctx);
        return tide_mpi_error(parent->handle, fn, rc, "could not create the communicator");
    }
    tide_comm_inherit(nc, parent);
    *out = nc->handle;
    return MPI_SUCCESS;
}

#define TIDE_CHECK_INTRA(fn, c)                                                       \
    do {                                                                              \
        if ((c)->is_inter)                                                            \
            return tide_mpi_error((c)->handle, (fn), MPI_ERR_COMM,                    \
                                  "argument comm (%s) is an intercommunicator; Tide " \
                                  "supports this call on intracommunicators only",    \
                                  (c)->name);                                         \
    } while (0)

/* ---- split ---- */
typedef struct tide_split_ent {
    int color, key, rank;
} tide_split_ent_t;

static int tide_split_cmp(const void *a, const void *b)
{
    const tide_split_ent_t *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->rank < y->rank ? -1 : x->rank > y->rank;
}

static int tide_split_common(const char *fn, tide_comm_t *c, int color, int key, MPI_Comm *out)
{
    tide_geom_t g;
    tide_geom_of_comm(c, &g);
    tide_split_ent_t *all = malloc((size_t)c->size * sizeof(*all));
    int *procs = malloc((size_t)c->size * sizeof(int));
    tide_split_ent_t mine = {color, key, c->rank};
    int rc = all && procs ? tide_geom_allgather(&g, &mine, sizeof(mine), all, TIDE_TAG_SPLIT)
                          : MPI_ERR_NO_MEM;
    uint32_t ctx = 0;
    if (!rc)
        rc = tide_ctx_agree(&g, color != MPI_UNDEFINED, 0, NULL, NULL, TIDE_TAG_CTX_REDUCE,
                            TIDE_TAG_CTX_BCAST, &ctx);
    if (rc) {
        free(all);
        free(procs);
        return tide_mpi_error(c->handle, fn, rc, "the members of %s could not agree", c->name);
    }
    *out = MPI_COMM_NULL;
    if (color != MPI_UNDEFINED) {
        int n = 0, me = 0;
        for (int r = 0; r < c->size; r++)
            if (all[r].color == color)
                all[n++] = all[r];
        qsort(all, (size_t)n, sizeof(*all), tide_split_cmp);
        for (int i = 0; i < n; i++) {
            procs[i] = tide_comm_local_proc(c, all[i].rank);
            if (all[i].rank == c->rank)
                me = i;
        }
        rc = tide_new_intra(fn, c, ctx, n, procs, me, out);
    }
    free(all);
    free(procs);
    return rc;
}

/* The processes of colour `color` among n entries of group procs gp,
 * ordered by (key, rank); their count, and in *me the position of rank
 * `myrank` (if there). */
static int tide_split_select(tide_split_ent_t *e, int n, int color, const int *gp, int *procs,
                             int myrank, int *me)
{
    int m = 0;
    for (int r = 0; r < n; r++)
        if (e[r].color == color)
            e[m++] = e[r];
    qsort(e, (size_t)m, sizeof(*e), tide_split_cmp);
    for (int i = 0; i < m; i++) {
        procs[i] = gp[e[i].rank];
        if (e[i].rank == myrank)
            *me = i;
    }
    return m;
}

/* The colours and keys of both groups of intercommunicator c. */
static int tide_split_inter_gather(tide_comm_t *c, tide_split_ent_t *mine, tide_split_ent_t *loc,
                                   tide_split_ent_t *rem)
{
    tide_geom_t g;
    tide_geom_of_comm(c->local, &g);
    size_t sz = sizeof(*loc);
    int rc = tide_geom_allgather(&g, mine, sz, loc, TIDE_TAG_SPLIT);
    if (!rc && c->rank == 0)
        rc = tide_xchg_proc(c->ctx + 1, 0, c->procs[0], 0, loc, sz * (size_t)c->local_size, rem,
                            sz * (size_t)c->size, TIDE_TAG_SPLIT);
    return rc ? rc : tide_geom_bcast(&g, rem, sz * (size_t)c->size, 0, TIDE_TAG_SPLIT);
}

/* Fill n as the intercommunicator between nl local and nr remote
 * processes (lp, rp), with its local intracommunicator on lctx. */
static int tide_inter_fill(tide_comm_t *n, int nl, const int *lp, int me, int nr, const int *rp,
                           uint32_t lctx)
{
    n->local = tide_comm_alloc();
    if (!n->local || tide_comm_set_procs(n->local, nl, lp, me))
        return MPI_ERR_NO_MEM;
    n->local->ctx = lctx;
    n->owned = malloc((size_t)(nl + nr) * sizeof(int));
    if (!n->owned)
        return MPI_ERR_NO_MEM;
    memcpy(n->owned, lp, (size_t)nl * sizeof(int));
    memcpy(n->owned + nl, rp, (size_t)nr * sizeof(int));
    n->is_inter = 1;
    n->local_procs = n->owned;
    n->procs = n->owned + nl;
    n->rank = me;
    n->local_size = nl;
    n->size = nr;
    return 0;
}

/* MPI_Comm_split of an intercommunicator: each colour's local members and
 * remote members form a new intercommunicator (none if either side has
 * nobody of that colour). */
static int tide_split_inter(const char *fn, tide_comm_t *c, int color, int key, MPI_Comm *out)
{
    int ls = c->local_size, rs = c->size, me = 0, rc;
    tide_split_ent_t mine = {color, key, c->rank};
    tide_split_ent_t *loc = malloc((size_t)ls * sizeof(*loc)),
                     *rem = malloc((size_t)rs * sizeof(*rem));
    int *lp = malloc((size_t)ls * sizeof(int)), *rp = malloc((size_t)rs * sizeof(int));
    int *lg = malloc((size_t)ls * sizeof(int));
    uint32_t ctx = 0, lctx = 0;
    rc =
        loc && rem && lp && rp && lg ? tide_split_inter_gather(c, &mine, loc, rem) : MPI_ERR_NO_MEM;
    if (!rc)
        rc = tide_comm_agree_inter(c, &ctx);
    tide_geom_t g;
    tide_geom_of_comm(c->local, &g);
    if (!rc)
        rc = tide_ctx_agree(&g, color != MPI_UNDEFINED, 0, NULL, NULL, TIDE_TAG_CTX_REDUCE,
                            TIDE_TAG_CTX_BCAST, &lctx);
    *out = MPI_COMM_NULL;
    int nl = 0, nr = 0, dummy;
    if (!rc && color != MPI_UNDEFINED) {
        for (int i = 0; i < ls; i++)
            lg[i] = tide_comm_local_proc(c, i);
        nl = tide_split_select(loc, ls, color, lg, lp, c->rank, &me);
        nr = tide_split_select(rem, rs, color, c->procs, rp, -1, &dummy);
    }
    if (!rc && nr > 0) {
        tide_comm_t *n = tide_comm_alloc();
        rc = n ? tide_inter_fill(n, nl, lp, me, nr, rp, lctx) : MPI_ERR_NO_MEM;
        if (!rc) {
            n->ctx = ctx;
            rc = tide_comm_register(n);
        }
        if (rc)
            tide_comm_destroy(n); /* gives both ids back */
        else {
            tide_comm_inherit(n, c);
            *out = n->handle;
        }
    } else {
        tide_ctx_release(ctx);
        if (color != MPI_UNDEFINED)
            tide_ctx_release(lctx);
    }
    free(loc);
    free(rem);
    free(lp);
    free(rp);
    free(lg);
    return rc ? tide_mpi_error(c->handle, fn, rc, "could not split %s", c->name) : MPI_SUCCESS;
}

int PMPI_Comm_split(MPI_Comm comm, int color, int key, MPI_Comm *newcomm)
{
    static const char fn[] = "MPI_Comm_split";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    if (color < 0 && color != MPI_UNDEFINED)
        return tide_mpi_error(comm, fn, MPI_ERR_ARG,
                              "argument color (%d) is negative and not MPI_UNDEFINED", color);
    TIDE_MPI_CHECK_PTR(fn, comm, newcomm, "newcomm");
    return c->is_inter ? tide_split_inter(fn, c, color, key, newcomm)
                       : tide_split_common(fn, c, color, key, newcomm);
}
TIDE_MPI_WEAK(MPI_Comm_split);

/* The colour of our node: the runtime's node id, else a hash of the host
 * name (processes that share memory share a host). */
static int tide_node_color(void)
{
    if (tide_rte.node_id >= 0)
        return tide_rte.node_id;
    uint64_t h = 0;
    for (const char *s = tide_rte.hostname; *s; s++)
        h = tide_hash_mix(h ^ (unsigned char)*s);
    return (int)(h & 0x7fffffff);
}

int PMPI_Comm_split_type(MPI_Comm comm, int split_type, int key, MPI_Info info, MPI_Comm *newcomm)
{
    static const char fn[] = "MPI_Comm_split_type";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    TIDE_CHECK_INTRA(fn, c);
    if (split_type != MPI_COMM_TYPE_SHARED && split_type != MPI_UNDEFINED)
        return tide_mpi_error(comm, fn, MPI_ERR_ARG,
                              "argument split_type (%d) is neither MPI_COMM_TYPE_SHARED nor "
                              "MPI_UNDEFINED",
                              split_type);
    if (info != MPI_INFO_NULL && !tide_info_valid(info))
        return tide_mpi_error(comm, fn, MPI_ERR_INFO, "argument info (handle %d) is not valid",
                              (int)info);
    TIDE_MPI_CHECK_PTR(fn, comm, newcomm, "newcomm");
    int color = split_type == MPI_UNDEFINED ? MPI_UNDEFINED : tide_node_color();
    return tide_split_common(fn, c, color, key, newcomm);
}
TIDE_MPI_WEAK(MPI_Comm_split_type);

/* ---- create, create_group ---- */

/* MPI_ERR_GROUP unless every process of g is in c. */
static int tide_check_subgroup(const char *fn, const tide_comm_t *c, const tide_group_t *g)
{
    for (int i = 0; i < g->size; i++) {
        int found = 0;
        for (int r = 0; r < c->size && !found; r++)
            found = tide_comm_local_proc(c, r) == g->procs[i];
        if (!found)
            return tide_mpi_error(c->handle, fn, MPI_ERR_GROUP,
                                  "argument group holds process %d, which is not in %s",
                                  g->procs[i], c->name);
    }
    return MPI_SUCCESS;
}

int PMPI_Comm_create(MPI_Comm comm, MPI_Group group, MPI_Comm *newcomm)
{
    static const char fn[] = "MPI_Comm_create";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    tide_group_t *g = tide_group_get(group);
    if (!g)
        return tide_mpi_error(comm, fn, MPI_ERR_GROUP, "argument group (handle %d) is not valid",
                              (int)group);
    TIDE_MPI_CHECK_PTR(fn, comm, newcomm, "newcomm");
    if (c->is_inter) {
        /* MPI 4.1 section 7.4.2: group's members become the local group of
         * a new intercommunicator whose remote group is what the other side
         * chose (MPI_COMM_NULL if either is empty): a split by membership,
         * ordered as in group. */
        int me = tide_group_rank_of(g, c->self_proc);
        return tide_split_inter(fn, c, me == MPI_UNDEFINED ? MPI_UNDEFINED : 0, me, newcomm);
    }
    int rc = tide_check_subgroup(fn, c, g);
    if (rc)
        return rc;
    int me = tide_group_rank_of(g, c->self_proc);
    tide_geom_t geo;
    tide_geom_of_comm(c, &geo);
    uint32_t ctx;
    rc = tide_ctx_agree(&geo, me != MPI_UNDEFINED, 0, NULL, NULL, TIDE_TAG_CTX_REDUCE,
                        TIDE_TAG_CTX_BCAST, &ctx);
    if (rc)
        return tide_mpi_error(comm, fn, rc, "the members of %s could not agree", c->name);
    *newcomm = MPI_COMM_NULL;
    return me == MPI_UNDEFINED ? MPI_SUCCESS
                               : tide_new_intra(fn, c, ctx, g->size, g->procs, me, newcomm);
}
TIDE_MPI_WEAK(MPI_Comm_create);

/* Only the group's members take part: they talk on comm's collective
 * context, addressed by their ranks in comm, with a tag made from the
 * user's (so concurrent calls with different tags stay apart). */
static int tide_create_group_agree(tide_comm_t *c, tide_group_t *g, int me, int tag, uint32_t *ctx)
{
    int *pranks = malloc((size_t)g->size * sizeof(int));
    if (!pranks)
        return MPI_ERR_NO_MEM;
    for (int i = 0; i < g->size; i++)
        for (int r = 0; r < c->size; r++)
            if (tide_comm_local_proc(c, r) == g->procs[i])
                pranks[i] = r;
    tide_geom_t geo = {.rank = me,
                       .size = g->size,
                       .self_proc = c->self_proc,
                       .procs = g->procs,
                       .pranks = pranks,
                       .my_prank = c->rank,
                       .ctx = c->ctx + 1};
    int t = TIDE_COMM_TAG_CGROUP | (tag & 0x1fffffff);
    int rc = tide_ctx_agree(&geo, 1, 0, NULL, NULL, t, t, ctx);
    free(pranks);
    return rc;
}

int PMPI_Comm_create_group(MPI_Comm comm, MPI_Group group, int tag, MPI_Comm *newcomm)
{
    static const char fn[] = "MPI_Comm_create_group";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    TIDE_CHECK_INTRA(fn, c);
    tide_group_t *g = tide_group_get(group);
    if (!g)
        return tide_mpi_error(comm, fn, MPI_ERR_GROUP, "argument group (handle %d) is not valid",
                              (int)group);
    if (tag < 0 || tag > TIDE_TAG_UB)
        return tide_mpi_error(comm, fn, MPI_ERR_TAG, "argument tag (%d) is outside 0..MPI_TAG_UB",
                              tag);
    TIDE_MPI_CHECK_PTR(fn, comm, newcomm, "newcomm");
    int rc = tide_check_subgroup(fn, c, g);
    if (rc)
        return rc;
    int me = tide_group_rank_of(g, c->self_proc);
    *newcomm = MPI_COMM_NULL;
    if (me == MPI_UNDEFINED)
        return MPI_SUCCESS; /* not a member: nothing to take part in */
    uint32_t ctx;
    rc = tide_create_group_agree(c, g, me, tag, &ctx);
    if (rc)
        return tide_mpi_error(comm, fn, rc, "the members of the group could not agree");
    return tide_new_intra(fn, c, ctx, g->size, g->procs, me, newcomm);
}
TIDE_MPI_WEAK(MPI_Comm_create_group);

/* ---- intercommunicators ---- */
typedef struct tide_leader_link {
    tide_comm_t *peer;
    int remote_leader, tag;
} tide_leader_link_t;

static int tide_leader_xchg(const tide_leader_link_t *k, const void *s, size_t sb, void *r,
                            size_t rb)
{
    return tide_xchg_proc(k->peer->ctx + 1, k->peer->rank,
                          tide_comm_proc(k->peer, k->remote_leader), k->remote_leader, s, sb, r, rb,
                          k->tag);
}

static int tide_leader_and(void *arg, uint64_t *w, int n)
{
    uint64_t in[n];
    int rc = tide_leader_xchg(arg, w, (size_t)n * 8, in, (size_t)n * 8);
    for (int i = 0; !rc && i < n; i++)
        w[i] &= in[i];
    return rc;
}

/* The remote group's processes, learnt by the leader and broadcast. */
static int tide_remote_procs(tide_comm_t *l, int leader, const tide_leader_link_t *k, int *nremote,
                             int **remote)
{
    tide_geom_t g;
    tide_geom_of_comm(l, &g);
    int ls = l->size, rs = 0, rc = 0;
    int *mine = malloc((size_t)ls * sizeof(int));
    if (!mine)
        return MPI_ERR_NO_MEM;
    for (int i = 0; i < ls; i++)
        mine[i] = tide_comm_local_proc(l, i);
    if (l->rank == leader)
        rc = tide_leader_xchg(k, &ls, sizeof(int), &rs, sizeof(int));
    if (!rc)
        rc = tide_geom_bcast(&g, &rs, sizeof(int), leader, TIDE_TAG_GROUPINFO);
    *remote = rc ? NULL : malloc((size_t)(rs ? rs : 1) * sizeof(int));
    if (!rc && !*remote)
        rc = MPI_ERR_NO_MEM;
    if (!rc && l->rank == leader)
        rc = tide_leader_xchg(k, mine, (size_t)ls * sizeof(int), *remote, (size_t)rs * sizeof(int));
    if (!rc)
        rc = tide_geom_bcast(&g, *remote, (size_t)rs * sizeof(int), leader, TIDE_TAG_GROUPINFO);
    free(mine);
    *nremote = rs;
    return rc;
}

static int tide_intercomm_build(tide_comm_t *l, int leader, const tide_leader_link_t *k,
                                tide_comm_t *n)
{
    int rs, *remote = NULL;
    int rc = tide_remote_procs(l, leader, k, &rs, &remote);
    if (!rc && !(n->local = tide_comm_alloc()))
        rc = MPI_ERR_NO_MEM;
    if (!rc)
        rc = tide_comm_dup_intra(l, n->local);
    tide_geom_t g;
    tide_geom_of_comm(l, &g);
    if (!rc)
        rc = tide_ctx_agree(&g, 1, leader, tide_leader_and, (void *)k, TIDE_TAG_CTX_REDUCE,
                            TIDE_TAG_CTX_BCAST, &n->ctx);
    int ls = l->size;
    if (!rc && !(n->owned = malloc((size_t)(ls + rs) * sizeof(int))))
        rc = MPI_ERR_NO_MEM;
    if (!rc) {
        for (int i = 0; i < ls; i++)
            n->owned[i] = tide_comm_local_proc(l, i);
        memcpy(n->owned + ls, remote, (size_t)rs * sizeof(int));
        n->is_inter = 1;
        n->local_procs = n->owned;
        n->procs = n->owned + ls;
        n->rank = l->rank;
        n->local_size = ls;
        n->size = rs;
    }
    free(remote);
    return rc;
}

int PMPI_Intercomm_create(MPI_Comm local_comm, int local_leader, MPI_Comm peer_comm,
                          int remote_leader, int tag, MPI_Comm *newintercomm)
{
    static const char fn[] = "MPI_Intercomm_create";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *l, *peer = NULL;
    TIDE_MPI_GET_COMM(fn, local_comm, l);
    TIDE_CHECK_INTRA(fn, l);
    if (local_leader < 0 || local_leader >= l->size)
        return tide_mpi_error(local_comm, fn, MPI_ERR_RANK,
                              "argument local_leader (%d) is not a rank of %s (size %d)",
                              local_leader, l->name, l->size);
    if (tag < 0 || tag > TIDE_TAG_UB)
        return tide_mpi_error(local_comm, fn, MPI_ERR_TAG,
                              "argument tag (%d) is outside 0..MPI_TAG_UB", tag);
    TIDE_MPI_CHECK_PTR(fn, local_comm, newintercomm, "newintercomm");
    if (l->rank == local_leader) { /* peer_comm matters only at the leader */
        TIDE_MPI_GET_COMM(fn, peer_comm, peer);
        TIDE_CHECK_INTRA(fn, peer);
        if (remote_leader < 0 || remote_leader >= peer->size || remote_leader == peer->rank)
            return tide_mpi_error(local_comm, fn, MPI_ERR_RANK,
                                  "argument remote_leader (%d) is not another rank of %s "
                                  "(size %d)",
                                  remote_leader, peer->name, peer->size);
    }
    tide_leader_link_t k = {peer, remote_leader, TIDE_COMM_TAG_ICREATE | (tag & 0x0fffffff)};
    tide_comm_t *n = tide_comm_alloc();
    int rc = n ? tide_intercomm_build(l, local_leader, &k, n) : MPI_ERR_NO_MEM;
    if (!rc)
        rc = tide_comm_register(n);
    if (rc) {
        tide_comm_destroy(n);
        return tide_mpi_error(local_comm, fn, rc, "could not create the intercommunicator");
    }
    tide_comm_inherit(n, l);
    *newintercomm = n->handle;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Intercomm_create);

/* Whether our group comes first in the merged order: the group that said
 * high = false; on a tie the one whose leader has the lower world rank. */
static int tide_merge_first(tide_comm_t *c, int high, int *first)
{
    int remote_high = 0, rc = 0;
    if (c->rank == 0)
        rc = tide_xchg_proc(c->ctx + 1, 0, c->procs[0], 0, &high, sizeof(int), &remote_high,
                            sizeof(int), TIDE_TAG_MERGE);
    tide_geom_t g;
    tide_geom_of_comm(c->local, &g);
    if (!rc)
        rc = tide_geom_bcast(&g, &remote_high, sizeof(int), 0, TIDE_TAG_MERGE);
    high = !!high;
    remote_high = !!remote_high;
    *first = high != remote_high ? !high : tide_comm_local_proc(c, 0) < c->procs[0];
    return rc;
}

int PMPI_Intercomm_merge(MPI_Comm intercomm, int high, MPI_Comm *newintracomm)
{
    static const char fn[] = "MPI_Intercomm_merge";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, intercomm, c);
    if (!c->is_inter)
        return tide_mpi_error(intercomm, fn, MPI_ERR_COMM,
                              "argument intercomm (%s) is not an intercommunicator", c->name);
    TIDE_MPI_CHECK_PTR(fn, intercomm, newintracomm, "newintracomm");
    int first;
    uint32_t ctx;
    int rc = tide_merge_first(c, high, &first);
    if (!rc)
        rc = tide_comm_agree_inter(c, &ctx);
    if (rc)
        return tide_mpi_error(intercomm, fn, rc, "the two groups could not agree");
    int ls = c->local_size, rs = c->size;
    int *procs = malloc((size_t)(ls + rs) * sizeof(int));
    if (!procs) {
        tide_ctx_release(ctx);
        return tide_mpi_error(intercomm, fn, MPI_ERR_NO_MEM, "out of memory");
    }
    int *lp = first ? procs : procs + rs, *rp = first ? procs + ls : procs;
    for (int i = 0; i < ls; i++)
        lp[i] = tide_comm_local_proc(c, i);
    memcpy(rp, c->procs, (size_t)rs * sizeof(int));
    rc = tide_new_intra(fn, c, ctx, ls + rs, procs, (first ? 0 : rs) + c->rank, newintracomm);
    free(procs);
    return rc;
}
TIDE_MPI_WEAK(MPI_Intercomm_merge);
