/* Groups (MPI 4.1 section 7.3): ordered sets of processes, each a list of
 * world ranks.  Handles are small integers into a table guarded by a lock;
 * MPI_GROUP_EMPTY is the predefined handle 1.  A group is reference
 * counted: MPI_Group_free drops the user's reference. */
#include "config.h"
#include "mpi/comm_impl.h"
#include "rte/rte.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t tide_group_lock = PTHREAD_MUTEX_INITIALIZER;
static tide_group_t **tide_groups;
static int tide_groups_cap;
static tide_group_t tide_group_empty = {.refs = 1, .size = 0, .rank = MPI_UNDEFINED};

tide_group_t *tide_group_get(MPI_Group h)
{
    if (h == MPI_GROUP_EMPTY)
        return &tide_group_empty;
    tide_group_t *g = NULL;
    pthread_mutex_lock(&tide_group_lock);
    if (h > MPI_GROUP_EMPTY && h < tide_groups_cap)
        g = tide_groups[h];
    pthread_mutex_unlock(&tide_group_lock);
    return g;
}

int tide_group_rank_of(const tide_group_t *g, int proc)
{
    for (int i = 0; i < g->size; i++)
        if (g->procs[i] == proc)
            return i;
    return MPI_UNDEFINED;
}

static MPI_Group tide_group_insert(tide_group_t *g)
{
    MPI_Group h = MPI_GROUP_NULL;
    pthread_mutex_lock(&tide_group_lock);
    for (int i = MPI_GROUP_EMPTY + 1; i < tide_groups_cap && !h; i++)
        if (!tide_groups[i])
            h = i;
    if (!h) {
        int cap = tide_groups_cap ? 2 * tide_groups_cap : 64;
        tide_group_t **t = realloc(tide_groups, (size_t)cap * sizeof(*t));
        if (t) {
            memset(t + tide_groups_cap, 0, (size_t)(cap - tide_groups_cap) * sizeof(*t));
            h = tide_groups_cap ? tide_groups_cap : MPI_GROUP_EMPTY + 1;
            tide_groups = t;
            tide_groups_cap = cap;
        }
    }
    if (h)
        tide_groups[h] = g;
    pthread_mutex_unlock(&tide_group_lock);
    return h;
}

MPI_Group tide_group_make(int size, const int *procs)
{
    if (size == 0)
        return MPI_GROUP_EMPTY;
    tide_group_t *g = malloc(sizeof(*g) + (size_t)size * sizeof(int));
    if (!g)
        return MPI_GROUP_NULL;
    g->refs = 1;
    g->size = size;
    memcpy(g->procs, procs, (size_t)size * sizeof(int));
    g->rank = tide_group_rank_of(g, tide_rte.rank);
    MPI_Group h = tide_group_insert(g);
    if (h == MPI_GROUP_NULL)
        free(g);
    return h;
}

#define TIDE_GET_GROUP(fn, h, out, argname)                                                  \
    do {                                                                                     \
        (out) = tide_group_get(h);                                                           \
        if (!(out))                                                                          \
            return tide_mpi_error(MPI_COMM_NULL, (fn), MPI_ERR_GROUP,                        \
                                  "argument %s (handle %d) is not a valid group", (argname), \
                                  (int)(h));                                                 \
    } while (0)

int PMPI_Group_size(MPI_Group group, int *size)
{
    static const char fn[] = "MPI_Group_size";
    TIDE_MPI_CHECK_INIT(fn);
    tide_group_t *g;
    TIDE_GET_GROUP(fn, group, g, "group");
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, size, "size");
    *size = g->size;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Group_size);

int PMPI_Group_rank(MPI_Group group, int *rank)
{
    static const char fn[] = "MPI_Group_rank";
    TIDE_MPI_CHECK_INIT(fn);
    tide_group_t *g;
    TIDE_GET_GROUP(fn, group, g, "group");
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, rank, "rank");
    *rank = g->rank;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Group_rank);

int PMPI_Group_free(MPI_Group *group)
{
    static const char fn[] = "MPI_Group_free";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, group, "group");
    tide_group_t *g;
    TIDE_GET_GROUP(fn, *group, g, "group");
    if (g != &tide_group_empty) {
        pthread_mutex_lock(&tide_group_lock);
        tide_groups[*group] = NULL;
        pthread_mutex_unlock(&tide_group_lock);
        free(g);
    }
    *group = MPI_GROUP_NULL;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Group_free);

/* Finish a constructor: the new handle, or MPI_ERR_NO_MEM. */
static int tide_group_out(const char *fn, int n, const int *procs, MPI_Group *newgroup)
{
    MPI_Group h = tide_group_make(n, procs);
    if (h == MPI_GROUP_NULL)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_NO_MEM, "out of memory for a group");
    *newgroup = h;
    return MPI_SUCCESS;
}

/* Check a list of n distinct ranks of g; sets seen[] (g->size entries). */
static int tide_group_check_ranks(const char *fn, const tide_group_t *g, int n, const int ranks[],
                                  char *seen)
{
    for (int i = 0; i < n; i++) {
        if (ranks[i] < 0 || ranks[i] >= g->size)
            return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_RANK,
                                  "argument ranks[%d] (%d) is not a rank of the group (size %d)", i,
                                  ranks[i], g->size);
        if (seen[ranks[i]])
            return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_RANK,
                                  "argument ranks[%d] (%d) appears twice", i, ranks[i]);
        seen[ranks[i]] = 1;
    }
    return MPI_SUCCESS;
}

static int tide_group_incl_excl(const char *fn, MPI_Group group, int n, const int ranks[], int excl,
                                MPI_Group *newgroup)
{
    TIDE_MPI_CHECK_INIT(fn);
    tide_group_t *g;
    TIDE_GET_GROUP(fn, group, g, "group");
    if (n < 0 || n > g->size)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ARG,
                              "argument n (%d) is outside 0..group size (%d)", n, g->size);
    if (n > 0)
        TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, ranks, "ranks");
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, newgroup, "newgroup");
    char *seen = calloc((size_t)g->size + 1, 1);
    int *procs = malloc((size_t)g->size * sizeof(int) + 1);
    if (!seen || !procs) {
        free(seen);
        free(procs);
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_NO_MEM, "out of memory");
    }
    int rc = tide_group_check_ranks(fn, g, n, ranks, seen), m = 0;
    if (!rc && !excl)
        for (int i = 0; i < n; i++)
            procs[m++] = g->procs[ranks[i]];
    if (!rc && excl)
        for (int r = 0; r < g->size; r++)
            if (!seen[r])
                procs[m++] = g->procs[r];
    if (!rc)
        rc = tide_group_out(fn, m, procs, newgroup);
    free(seen);
    free(procs);
    return rc;
}

int PMPI_Group_incl(MPI_Group group, int n, const int ranks[], MPI_Group *newgroup)
{
    return tide_group_incl_excl("MPI_Group_incl", group, n, ranks, 0, newgroup);
}
TIDE_MPI_WEAK(MPI_Group_incl);

int PMPI_Group_excl(MPI_Group group, int n, const int ranks[], MPI_Group *newgroup)
{
    return tide_group_incl_excl("MPI_Group_excl", group, n, ranks, 1, newgroup);
}
TIDE_MPI_WEAK(MPI_Group_excl);

/* Expand ranges (first, last, stride) into a list of ranks (MPI 4.1
 * section 7.3.2); *out is allocated. */
static int tide_group_ranges(const char *fn, const tide_group_t *g, int n, int ranges[][3],
                             int **out, int *count)
{
    int total = 0;
    for (int i = 0; i < n; i++) {
        int f = ranges[i][0], l = ranges[i][1], s = ranges[i][2];
        if (s == 0 || f < 0 || f >= g->size || l < 0 || l >= g->size)
            return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ARG,
                                  "argument ranges[%d] (%d, %d, %d) is not a valid range of a "
                                  "group of size %d",
                                  i, f, l, s, g->size);
        int k = (l - f) / s;
        if (k < 0)
            continue;
        total += k + 1;
        if (total > g->size)
            return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_RANK,
                                  "argument ranges names more ranks than the group has (%d)",
                                  g->size);
    }
    int *r = malloc((size_t)(total ? total : 1) * sizeof(int)), m = 0;
    if (!r)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_NO_MEM, "out of memory");
    for (int i = 0; i < n; i++) {
        int f = ranges[i][0], l = ranges[i][1], s = ranges[i][2];
        for (int x = f; s > 0 ? x <= l : x >= l; x += s)
            r[m++] = x;
    }
    *out = r;
    *count = m;
    return MPI_SUCCESS;
}

static int tide_group_range_common(const char *fn, MPI_Group group, int n, int ranges[][3],
                                   int excl, MPI_Group *newgroup)
{
    TIDE_MPI_CHECK_INIT(fn);
    tide_group_t *g;
    TIDE_GET_GROUP(fn, group, g, "group");
    if (n < 0)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ARG, "argument n (%d) is negative", n);
    if (n > 0)
        TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, ranges, "ranges");
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, newgroup, "newgroup");
    int *ranks = NULL, m = 0;
    int rc = tide_group_ranges(fn, g, n, ranges, &ranks, &m);
    if (rc)
        return rc;
    rc = tide_group_incl_excl(fn, group, m, ranks, excl, newgroup);
    free(ranks);
    return rc;
}

int PMPI_Group_range_incl(MPI_Group group, int n, int ranges[][3], MPI_Group *newgroup)
{
    return tide_group_range_common("MPI_Group_range_incl", group, n, ranges, 0, newgroup);
}
TIDE_MPI_WEAK(MPI_Group_range_incl);

int PMPI_Group_range_excl(MPI_Group group, int n, int ranges[][3], MPI_Group *newgroup)
{
    return tide_group_range_common("MPI_Group_range_excl", group, n, ranges, 1, newgroup);
}
TIDE_MPI_WEAK(MPI_Group_range_excl);

typedef enum { TIDE_SET_UNION, TIDE_SET_INTER, TIDE_SET_DIFF } tide_set_op_t;

/* Union: group1's processes then group2's not in group1; intersection and
 * difference: group1's order (MPI 4.1 section 7.3.2). */
static int tide_group_setop(const char *fn, MPI_Group group1, MPI_Group group2, tide_set_op_t op,
                            MPI_Group *newgroup)
{
    TIDE_MPI_CHECK_INIT(fn);
    tide_group_t *a, *b;
    TIDE_GET_GROUP(fn, group1, a, "group1");
    TIDE_GET_GROUP(fn, group2, b, "group2");
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, newgroup, "newgroup");
    int *procs = malloc((size_t)(a->size + b->size + 1) * sizeof(int)), m = 0;
    if (!procs)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_NO_MEM, "out of memory");
    for (int i = 0; i < a->size; i++) {
        int in_b = tide_group_rank_of(b, a->procs[i]) != MPI_UNDEFINED;
        if (op == TIDE_SET_UNION || (op == TIDE_SET_INTER) == in_b)
            procs[m++] = a->procs[i];
    }
    for (int i = 0; op == TIDE_SET_UNION && i < b->size; i++)
        if (tide_group_rank_of(a, b->procs[i]) == MPI_UNDEFINED)
            procs[m++] = b->procs[i];
    int rc = tide_group_out(fn, m, procs, newgroup);
    free(procs);
    return rc;
}

int PMPI_Group_union(MPI_Group group1, MPI_Group group2, MPI_Group *newgroup)
{
    return tide_group_setop("MPI_Group_union", group1, group2, TIDE_SET_UNION, newgroup);
}
TIDE_MPI_WEAK(MPI_Group_union);

int PMPI_Group_intersection(MPI_Group group1, MPI_Group group2, MPI_Group *newgroup)
{
    return tide_group_setop("MPI_Group_intersection", group1, group2, TIDE_SET_INTER, newgroup);
}
TIDE_MPI_WEAK(MPI_Group_intersection);

int PMPI_Group_difference(MPI_Group group1, MPI_Group group2, MPI_Group *newgroup)
{
    return tide_group_setop("MPI_Group_difference", group1, group2, TIDE_SET_DIFF, newgroup);
}
TIDE_MPI_WEAK(MPI_Group_difference);

int PMPI_Group_translate_ranks(MPI_Group group1, int n, const int ranks1[], MPI_Group group2,
                               int ranks2[])
{
    static const char fn[] = "MPI_Group_translate_ranks";
    TIDE_MPI_CHECK_INIT(fn);
    tide_group_t *a, *b;
    TIDE_GET_GROUP(fn, group1, a, "group1");
    TIDE_GET_GROUP(fn, group2, b, "group2");
    if (n < 0)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ARG, "argument n (%d) is negative", n);
    if (n > 0) {
        TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, ranks1, "ranks1");
        TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, ranks2, "ranks2");
    }
    for (int i = 0; i < n; i++)
        if (ranks1[i] != MPI_PROC_NULL && (ranks1[i] < 0 || ranks1[i] >= a->size))
            return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_RANK,
                                  "argument ranks1[%d] (%d) is not a rank of group1 (size %d)", i,
                                  ranks1[i], a->size);
    for (int i = 0; i < n; i++)
        ranks2[i] =
            ranks1[i] == MPI_PROC_NULL ? MPI_PROC_NULL : tide_group_rank_of(b, a->procs[ranks1[i]]);
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Group_translate_ranks);

int PMPI_Group_compare(MPI_Group group1, MPI_Group group2, int *result)
{
    static const char fn[] = "MPI_Group_compare";
    TIDE_MPI_CHECK_INIT(fn);
    tide_group_t *a, *b;
    TIDE_GET_GROUP(fn, group1, a, "group1");
    TIDE_GET_GROUP(fn, group2, b, "group2");
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, result, "result");
    int r = a->size == b->size ? MPI_IDENT : MPI_UNEQUAL;
    for (int i = 0; r != MPI_UNEQUAL && i < a->size; i++) {
        if (a->procs[i] != b->procs[i])
            r = MPI_SIMILAR;
        if (tide_group_rank_of(b, a->procs[i]) == MPI_UNDEFINED)
            r = MPI_UNEQUAL;
    }
    *result = r;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Group_compare);
