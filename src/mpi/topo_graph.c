/* Graph and distributed-graph topologies (MPI 3.1 sections 7.5.3, 7.5.4
 * and 7.5.5).  MPI_Graph_create keeps the whole graph every process
 * passed; MPI_Dist_graph_create_adjacent keeps what the process passed;
 * MPI_Dist_graph_create, where any process may name any edge, sends every
 * edge to both of its ends (MPI_Alltoall of counts, MPI_Alltoallv of the
 * edges over the old communicator) and each process sorts what it
 * receives, so that several edges between one pair come out in the same
 * order at both ends (the neighbourhood collectives match them in that
 * order).  `reorder` is ignored: ranks are kept. */
#include "config.h"
#include "mpi/topo.h"

#include <stdlib.h>
#include <string.h>

/* The graph topology of comm, or an error reported for fn. */
#define TIDE_GET_TOPO(fn, comm, c, t, want, what)                                            \
    do {                                                                                     \
        TIDE_MPI_GET_COMM(fn, comm, c);                                                      \
        (t) = (c)->topo;                                                                     \
        if (!(t) || (t)->kind != (want))                                                     \
            return tide_mpi_error(comm, fn, MPI_ERR_TOPOLOGY,                                \
                                  "argument comm (%s) has no %s topology", (c)->name, what); \
    } while (0)

/* ---- graph topologies ---- */

static int tide_graph_check(const char *fn, MPI_Comm comm, int nnodes, const int *index,
                            const int *edges, int size)
{
    if (nnodes < 0 || nnodes > size)
        return tide_mpi_error(comm, fn, MPI_ERR_ARG,
                              "argument nnodes (%d) is not between 0 and the communicator's "
                              "size (%d)",
                              nnodes, size);
    if (nnodes == 0)
        return MPI_SUCCESS;
    TIDE_MPI_CHECK_PTR(fn, comm, index, "index");
    for (int i = 0; i < nnodes; i++)
        if (index[i] < (i ? index[i - 1] : 0))
            return tide_mpi_error(comm, fn, MPI_ERR_ARG,
                                  "argument index[%d] (%d) is less than the entry before it "
                                  "(index holds cumulative degrees)",
                                  i, index[i]);
    if (index[nnodes - 1] > 0)
        TIDE_MPI_CHECK_PTR(fn, comm, edges, "edges");
    for (int i = 0; i < index[nnodes - 1]; i++)
        if (edges[i] < 0 || edges[i] >= nnodes)
            return tide_mpi_error(comm, fn, MPI_ERR_ARG,
                                  "argument edges[%d] (%d) is not a node of the graph (0..%d)", i,
                                  edges[i], nnodes - 1);
    return MPI_SUCCESS;
}

int PMPI_Graph_create(MPI_Comm comm_old, int nnodes, const int index[], const int edges[],
                      int reorder, MPI_Comm *comm_graph)
{
    static const char fn[] = "MPI_Graph_create";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm_old, c);
    TIDE_MPI_CHECK_PTR(fn, comm_old, comm_graph, "comm_graph");
    *comm_graph = MPI_COMM_NULL; /* also when the call fails (MPICH does so) */
    (void)reorder;
    int rc = tide_topo_check_intra(fn, c);
    if (!rc)
        rc = tide_graph_check(fn, comm_old, nnodes, index, edges, c->size);
    if (rc)
        return rc;
    if (nnodes == 0) { /* MPI 3.1 section 7.5.3: MPI_COMM_NULL everywhere */
        *comm_graph = MPI_COMM_NULL;
        return MPI_SUCCESS;
    }
    if ((rc = tide_topo_comm(fn, c, nnodes, comm_graph)) || *comm_graph == MPI_COMM_NULL)
        return rc;
    int ne = index[nnodes - 1];
    tide_topo_t *t = tide_topo_new(MPI_GRAPH, (size_t)nnodes + (size_t)ne);
    if (!t) {
        PMPI_Comm_free(comm_graph);
        return tide_mpi_error(comm_old, fn, MPI_ERR_NO_MEM, "out of memory for the topology");
    }
    t->nnodes = nnodes;
    t->nedges = ne;
    t->index = t->mem;
    t->edges = t->mem + nnodes;
    memcpy(t->index, index, (size_t)nnodes * sizeof(int));
    memcpy(t->edges, edges, (size_t)ne * sizeof(int));
    tide_topo_attach(*comm_graph, t);
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Graph_create);

int PMPI_Graph_map(MPI_Comm comm, int nnodes, const int index[], const int edges[], int *newrank)
{
    static const char fn[] = "MPI_Graph_map";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm, c);
    int rc = tide_topo_check_intra(fn, c);
    if (!rc && nnodes <= 0)
        rc = tide_mpi_error(comm, fn, MPI_ERR_ARG, "argument nnodes (%d) must be positive", nnodes);
    if (!rc)
        rc = tide_graph_check(fn, comm, nnodes, index, edges, c->size);
    if (rc)
        return rc;
    TIDE_MPI_CHECK_PTR(fn, comm, newrank, "newrank");
    *newrank = c->rank < nnodes ? c->rank : MPI_UNDEFINED;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Graph_map);

int PMPI_Graphdims_get(MPI_Comm comm, int *nnodes, int *nedges)
{
    static const char fn[] = "MPI_Graphdims_get";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    tide_topo_t *t;
    TIDE_GET_TOPO(fn, comm, c, t, MPI_GRAPH, "graph");
    TIDE_MPI_CHECK_PTR(fn, comm, nnodes, "nnodes");
    TIDE_MPI_CHECK_PTR(fn, comm, nedges, "nedges");
    *nnodes = t->nnodes;
    *nedges = t->nedges;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Graphdims_get);

int PMPI_Graph_get(MPI_Comm comm, int maxindex, int maxedges, int index[], int edges[])
{
    static const char fn[] = "MPI_Graph_get";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    tide_topo_t *t;
    TIDE_GET_TOPO(fn, comm, c, t, MPI_GRAPH, "graph");
    if (maxindex < 0 || maxedges < 0)
        return tide_mpi_error(comm, fn, MPI_ERR_ARG, "argument %s (%d) is negative",
                              maxindex < 0 ? "maxindex" : "maxedges",
                              maxindex < 0 ? maxindex : maxedges);
    int ni = maxindex < t->nnodes ? maxindex : t->nnodes;
    int ne = maxedges < t->nedges ? maxedges : t->nedges;
    if (ni > 0)
        TIDE_MPI_CHECK_PTR(fn, comm, index, "index");
    if (ne > 0)
        TIDE_MPI_CHECK_PTR(fn, comm, edges, "edges");
    memcpy(index, t->index, (size_t)ni * sizeof(int));
    memcpy(edges, t->edges, (size_t)ne * sizeof(int));
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Graph_get);

static int tide_graph_node(const char *fn, MPI_Comm comm, const tide_topo_t *t, int rank)
{
    if (rank < 0 || rank >= t->nnodes)
        return tide_mpi_error(comm, fn, MPI_ERR_RANK,
                              "argument rank (%d) is not a node of the graph (0..%d)", rank,
                              t->nnodes - 1);
    return MPI_SUCCESS;
}

int PMPI_Graph_neighbors_count(MPI_Comm comm, int rank, int *nneighbors)
{
    static const char fn[] = "MPI_Graph_neighbors_count";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    tide_topo_t *t;
    TIDE_GET_TOPO(fn, comm, c, t, MPI_GRAPH, "graph");
    int rc = tide_graph_node(fn, comm, t, rank);
    if (rc)
        return rc;
    TIDE_MPI_CHECK_PTR(fn, comm, nneighbors, "nneighbors");
    *nneighbors = t->index[rank] - (rank ? t->index[rank - 1] : 0);
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Graph_neighbors_count);

int PMPI_Graph_neighbors(MPI_Comm comm, int rank, int maxneighbors, int neighbors[])
{
    static const char fn[] = "MPI_Graph_neighbors";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    tide_topo_t *t;
    TIDE_GET_TOPO(fn, comm, c, t, MPI_GRAPH, "graph");
    int rc = tide_graph_node(fn, comm, t, rank);
    if (rc)
        return rc;
    if (maxneighbors < 0)
        return tide_mpi_error(comm, fn, MPI_ERR_ARG, "argument maxneighbors (%d) is negative",
                              maxneighbors);
    int lo = rank ? t->index[rank - 1] : 0, n = t->index[rank] - lo;
    if (n > maxneighbors)
        n = maxneighbors;
    if (n > 0)
        TIDE_MPI_CHECK_PTR(fn, comm, neighbors, "neighbors");
    memcpy(neighbors, t->edges + lo, (size_t)n * sizeof(int));
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Graph_neighbors);

/* ---- distributed graph topologies ---- */

/* A weights argument: 1 weighted, 0 MPI_UNWEIGHTED. */
static int tide_weighted(const int *w)
{
    return w != MPI_UNWEIGHTED;
}

static tide_topo_t *tide_dist_new(int indeg, int outdeg, int weighted)
{
    tide_topo_t *t = tide_topo_new(MPI_DIST_GRAPH, 2 * ((size_t)indeg + (size_t)outdeg));
    if (!t)
        return NULL;
    t->indeg = indeg;
    t->outdeg = outdeg;
    t->weighted = weighted;
    t->src = t->mem;
    t->srcw = t->src + indeg;
    t->dst = t->srcw + indeg;
    t->dstw = t->dst + outdeg;
    return t;
}

/* n ranks of a list (name) and their weights (wname; unweighted: w is
 * MPI_UNWEIGHTED), all checked. */
static int tide_dist_check_list(const char *fn, MPI_Comm comm, int n, const int *r, const int *w,
                                const char *name, const char *wname, int size)
{
    if (n < 0)
        return tide_mpi_error(comm, fn, MPI_ERR_ARG, "the degree for argument %s (%d) is negative",
                              name, n);
    if (n == 0)
        return MPI_SUCCESS;
    TIDE_MPI_CHECK_PTR(fn, comm, r, name);
    if (w == MPI_WEIGHTS_EMPTY || w == NULL)
        return tide_mpi_error(comm, fn, MPI_ERR_ARG, "argument %s is %s but the degree is %d",
                              wname, w ? "MPI_WEIGHTS_EMPTY" : "a NULL pointer", n);
    for (int i = 0; i < n; i++) {
        if (r[i] < 0 || r[i] >= size)
            return tide_mpi_error(comm, fn, MPI_ERR_RANK,
                                  "argument %s[%d] (%d) is not a rank of the communicator (size "
                                  "%d)",
                                  name, i, r[i], size);
        if (tide_weighted(w) && w[i] < 0)
            return tide_mpi_error(comm, fn, MPI_ERR_ARG, "argument %s[%d] (%d) is negative", wname,
                                  i, w[i]);
    }
    return MPI_SUCCESS;
}

static int tide_dist_finish(const char *fn, tide_comm_t *c, tide_topo_t *t, MPI_Comm *out)
{
    int rc = tide_topo_comm(fn, c, c->size, out); /* collective: also without t */
    if (rc) {
        tide_topo_unref(t);
        return rc;
    }
    if (!t) {
        PMPI_Comm_free(out);
        return tide_mpi_error(c->handle, fn, MPI_ERR_NO_MEM, "out of memory for the topology");
    }
    tide_topo_attach(*out, t);
    return MPI_SUCCESS;
}

int PMPI_Dist_graph_create_adjacent(MPI_Comm comm_old, int indegree, const int sources[],
                                    const int *sourceweights, int outdegree,
                                    const int destinations[], const int *destweights, MPI_Info info,
                                    int reorder, MPI_Comm *comm_dist_graph)
{
    static const char fn[] = "MPI_Dist_graph_create_adjacent";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm_old, c);
    TIDE_MPI_CHECK_PTR(fn, comm_old, comm_dist_graph, "comm_dist_graph");
    *comm_dist_graph = MPI_COMM_NULL; /* also when the call fails (MPICH does so) */
    (void)reorder;                    /* no hint of info is acted on */
    int rc = tide_topo_check_intra(fn, c);
    if (!rc && info != MPI_INFO_NULL && !tide_info_valid(info))
        rc = tide_mpi_error(comm_old, fn, MPI_ERR_INFO, "argument info (handle %d) is not valid",
                            (int)info);
    if (!rc)
        rc = tide_dist_check_list(fn, comm_old, indegree, sources, sourceweights, "sources",
                                  "sourceweights", c->size);
    if (!rc)
        rc = tide_dist_check_list(fn, comm_old, outdegree, destinations, destweights,
                                  "destinations", "destweights", c->size);
    if (!rc && tide_weighted(sourceweights) != tide_weighted(destweights))
        rc = tide_mpi_error(comm_old, fn, MPI_ERR_ARG,
                            "only one of sourceweights and destweights is MPI_UNWEIGHTED");
    if (rc)
        return rc;
    int w = tide_weighted(sourceweights);
    tide_topo_t *t = tide_dist_new(indegree, outdegree, w);
    if (t) {
        memcpy(t->src, sources, (size_t)indegree * sizeof(int));
        memcpy(t->dst, destinations, (size_t)outdegree * sizeof(int));
        if (w && indegree)
            memcpy(t->srcw, sourceweights, (size_t)indegree * sizeof(int));
        if (w && outdegree)
            memcpy(t->dstw, destweights, (size_t)outdegree * sizeof(int));
    }
    return tide_dist_finish(fn, c, t, comm_dist_graph);
}
TIDE_MPI_WEAK(MPI_Dist_graph_create_adjacent);

/* One edge of MPI_Dist_graph_create on its way to one of its ends. */
typedef struct tide_edge {
    int src, dst, weight;
    int owner, idx; /* who named it, its position there: the order of parallel edges */
    int out;        /* 1: for src's out-list, 0: for dst's in-list */
} tide_edge_t;

static int tide_edge_cmp(const void *a, const void *b)
{
    const tide_edge_t *x = a, *y = b;
    int kx[4] = {!x->out, x->out ? x->dst : x->src, x->owner, x->idx};
    int ky[4] = {!y->out, y->out ? y->dst : y->src, y->owner, y->idx};
    for (int i = 0; i < 4; i++)
        if (kx[i] != ky[i])
            return kx[i] < ky[i] ? -1 : 1;
    return 0;
}

/* Our edges, each twice (for both ends), grouped by destination process:
 * e and per-process counts in bytes (scounts). */
static tide_edge_t *tide_edges_pack(int me, int n, const int *sources, const int *degrees,
                                    const int *dsts, const int *weights, int size, int *scounts,
                                    int *sdispls)
{
    int total = 0;
    for (int i = 0; i < n; i++)
        total += degrees[i];
    tide_edge_t *e = malloc((size_t)(2 * total + 1) * sizeof(*e));
    if (!e)
        return NULL;
    memset(scounts, 0, (size_t)size * sizeof(int));
    for (int i = 0, k = 0; i < n; i++)
        for (int j = 0; j < degrees[i]; j++, k++) {
            scounts[sources[i]]++;
            scounts[dsts[k]]++;
        }
    for (int p = 0, off = 0; p < size; p++) {
        sdispls[p] = off;
        off += scounts[p];
        scounts[p] = 0;
    }
    for (int i = 0, k = 0; i < n; i++)
        for (int j = 0; j < degrees[i]; j++, k++) {
            int w = tide_weighted(weights) ? weights[k] : 1;
            tide_edge_t a = {sources[i], dsts[k], w, me, k, 1}, b = a;
            b.out = 0;
            e[sdispls[a.src] + scounts[a.src]++] = a;
            e[sdispls[a.dst] + scounts[a.dst]++] = b;
        }
    return e;
}

/* Check the arguments of MPI_Dist_graph_create. */
static int tide_dist_check(const char *fn, MPI_Comm comm, int n, const int *sources,
                           const int *degrees, const int *dsts, const int *weights, int size)
{
    if (n < 0)
        return tide_mpi_error(comm, fn, MPI_ERR_ARG, "argument n (%d) is negative", n);
    if (n == 0)
        return MPI_SUCCESS;
    TIDE_MPI_CHECK_PTR(fn, comm, sources, "sources");
    TIDE_MPI_CHECK_PTR(fn, comm, degrees, "degrees");
    int k = 0, rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        if (sources[i] < 0 || sources[i] >= size)
            return tide_mpi_error(comm, fn, MPI_ERR_RANK,
                                  "argument sources[%d] (%d) is not a rank of the communicator "
                                  "(size %d)",
                                  i, sources[i], size);
        if (degrees[i] < 0)
            return tide_mpi_error(comm, fn, MPI_ERR_ARG, "argument degrees[%d] (%d) is negative", i,
                                  degrees[i]);
        k += degrees[i];
    }
    return tide_dist_check_list(fn, comm, k, dsts, weights, "destinations", "weights", size);
}

/* Send every edge to both ends; build our lists from what arrives. */
static int tide_dist_exchange(tide_comm_t *c, tide_edge_t *e, int *sc, int *sd, int weighted,
                              tide_topo_t **out)
{
    int p = c->size, *rc_ = sc + 2 * p, *rd = sc + 3 * p, rc, nin = 0, nout = 0;
    for (int i = 0; i < p; i++)
        sc[i] *= (int)sizeof(tide_edge_t), sd[i] *= (int)sizeof(tide_edge_t);
    if ((rc = PMPI_Alltoall(sc, 1, MPI_INT, rc_, 1, MPI_INT, c->handle)))
        return rc;
    int total = 0;
    for (int i = 0; i < p; i++)
        rd[i] = total, total += rc_[i];
    tide_edge_t *r = malloc((size_t)total + 1);
    if (!r)
        return MPI_ERR_NO_MEM;
    rc = PMPI_Alltoallv(e, sc, sd, MPI_BYTE, r, rc_, rd, MPI_BYTE, c->handle);
    int n = total / (int)sizeof(tide_edge_t);
    if (!rc) {
        qsort(r, (size_t)n, sizeof(*r), tide_edge_cmp);
        for (int i = 0; i < n; i++)
            r[i].out ? nout++ : nin++;
        *out = tide_dist_new(nin, nout, weighted);
        rc = *out ? 0 : MPI_ERR_NO_MEM;
    }
    for (int i = 0; !rc && i < n; i++) { /* out-edges sort first */
        tide_topo_t *t = *out;
        if (r[i].out)
            t->dst[i] = r[i].dst, t->dstw[i] = r[i].weight;
        else
            t->src[i - nout] = r[i].src, t->srcw[i - nout] = r[i].weight;
    }
    free(r);
    return rc;
}

int PMPI_Dist_graph_create(MPI_Comm comm_old, int n, const int sources[], const int degrees[],
                           const int destinations[], const int *weights, MPI_Info info, int reorder,
                           MPI_Comm *comm_dist_graph)
{
    static const char fn[] = "MPI_Dist_graph_create";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    TIDE_MPI_GET_COMM(fn, comm_old, c);
    TIDE_MPI_CHECK_PTR(fn, comm_old, comm_dist_graph, "comm_dist_graph");
    *comm_dist_graph = MPI_COMM_NULL; /* also when the call fails (MPICH does so) */
    (void)reorder;
    int rc = tide_topo_check_intra(fn, c);
    if (!rc && info != MPI_INFO_NULL && !tide_info_valid(info))
        rc = tide_mpi_error(comm_old, fn, MPI_ERR_INFO, "argument info (handle %d) is not valid",
                            (int)info);
    if (!rc)
        rc = tide_dist_check(fn, comm_old, n, sources, degrees, destinations, weights, c->size);
    if (rc)
        return rc;
    int *v = malloc(4 * (size_t)c->size * sizeof(int));
    tide_edge_t *e = v ? tide_edges_pack(c->rank, n, sources, degrees, destinations, weights,
                                         c->size, v, v + c->size)
                       : NULL;
    tide_topo_t *t = NULL;
    rc = e ? tide_dist_exchange(c, e, v, v + c->size, tide_weighted(weights), &t) : MPI_ERR_NO_MEM;
    free(e);
    free(v);
    if (rc)
        return tide_mpi_error(comm_old, fn, rc, "could not distribute the edges of the graph");
    return tide_dist_finish(fn, c, t, comm_dist_graph);
}
TIDE_MPI_WEAK(MPI_Dist_graph_create);

int PMPI_Dist_graph_neighbors_count(MPI_Comm comm, int *indegree, int *outdegree, int *weighted)
{
    static const char fn[] = "MPI_Dist_graph_neighbors_count";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    tide_topo_t *t;
    TIDE_GET_TOPO(fn, comm, c, t, MPI_DIST_GRAPH, "distributed graph");
    TIDE_MPI_CHECK_PTR(fn, comm, indegree, "indegree");
    TIDE_MPI_CHECK_PTR(fn, comm, outdegree, "outdegree");
    TIDE_MPI_CHECK_PTR(fn, comm, weighted, "weighted");
    *indegree = t->indeg;
    *outdegree = t->outdeg;
    *weighted = t->weighted;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Dist_graph_neighbors_count);

int PMPI_Dist_graph_neighbors(MPI_Comm comm, int maxindegree, int sources[], int *sourceweights,
                              int maxoutdegree, int destinations[], int *destweights)
{
    static const char fn[] = "MPI_Dist_graph_neighbors";
    TIDE_MPI_CHECK_INIT(fn);
    tide_comm_t *c;
    tide_topo_t *t;
    TIDE_GET_TOPO(fn, comm, c, t, MPI_DIST_GRAPH, "distributed graph");
    if (maxindegree < 0 || maxoutdegree < 0)
        return tide_mpi_error(comm, fn, MPI_ERR_ARG, "argument %s (%d) is negative",
                              maxindegree < 0 ? "maxindegree" : "maxoutdegree",
                              maxindegree < 0 ? maxindegree : maxoutdegree);
    int ni = maxindegree < t->indeg ? maxindegree : t->indeg;
    int no = maxoutdegree < t->outdeg ? maxoutdegree : t->outdeg;
    if (ni > 0)
        TIDE_MPI_CHECK_PTR(fn, comm, sources, "sources");
    if (no > 0)
        TIDE_MPI_CHECK_PTR(fn, comm, destinations, "destinations");
    memcpy(sources, t->src, (size_t)ni * sizeof(int));
    memcpy(destinations, t->dst, (size_t)no * sizeof(int));
    /* weights only where the graph has them and the caller asked */
    if (t->weighted && ni > 0 && sourceweights && sourceweights != MPI_UNWEIGHTED)
        memcpy(sourceweights, t->srcw, (size_t)ni * sizeof(int));
    if (t->weighted && no > 0 && destweights && destweights != MPI_UNWEIGHTED)
        memcpy(destweights, t->dstw, (size_t)no * sizeof(int));
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Dist_graph_neighbors);
