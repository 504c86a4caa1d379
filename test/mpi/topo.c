/* Process topologies and neighbourhood collectives, checked against values
 * the test computes itself: MPI_Dims_create against a brute-force search
 * for the most balanced factorisation; Cartesian grids (ranks, coordinates,
 * shifts with and without wrap-around, sub-grids, fewer processes than the
 * communicator, zero dimensions); graphs with parallel edges and self
 * loops; distributed graphs built adjacently and from edges named by other
 * processes (weights, MPI_UNWEIGHTED, MPI_WEIGHTS_EMPTY); MPI_Comm_dup
 * keeping the topology; every neighbourhood collective, blocking and not,
 * several in flight at once, with derived datatypes, where each block says
 * who sent it to whom and which parallel edge it took; and argument errors
 * with their classes.  Runs at any number of processes. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rank, size, failures;
#define CHECK(c, ...)                                                          \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "topo rank %d line %d: %s: ", rank, __LINE__, #c); \
            fprintf(stderr, __VA_ARGS__);                                      \
            fprintf(stderr, "\n");                                             \
            if (++failures > 20)                                               \
                MPI_Abort(MPI_COMM_WORLD, 1);                                  \
        }                                                                      \
    } while (0)
#define OK(call) CHECK((call) == MPI_SUCCESS, "call failed")

static int errclass(int rc)
{
    int c = rc;
    MPI_Error_class(rc, &c);
    return c;
}
#define EXPECT_ERR(call, cls)                                           \
    do {                                                                \
        int got_ = errclass(call);                                      \
        CHECK(got_ == (cls), "expected class %d, got %d", (cls), got_); \
    } while (0)

/* ---- MPI_Dims_create ---- */

/* Brute force: the smallest spread (max - min) of a non-increasing
 * factorisation of n into k factors, each <= maxf. */
static int best_spread(int n, int k, int maxf, int top)
{
    if (k == 1)
        return n <= maxf ? top - n : 1 << 30;
    int best = 1 << 30;
    for (int f = maxf < n ? maxf : n; f >= 1; f--) {
        if (n % f)
            continue;
        int s = best_spread(n / f, k - 1, f, top ? top : f);
        if (s < best)
            best = s;
    }
    return best;
}

static void test_dims(void)
{
    for (int n = 1; n <= 120; n++)
        for (int k = 1; k <= 4; k++) {
            int d[4] = {0, 0, 0, 0}, prod = 1;
            OK(MPI_Dims_create(n, k, d));
            for (int i = 0; i < k; i++) {
                prod *= d[i];
                CHECK(i == 0 || d[i] <= d[i - 1], "n %d k %d: not non-increasing", n, k);
            }
            CHECK(prod == n, "n %d k %d: product %d", n, k, prod);
            int want = k == 1 ? 0 : best_spread(n, k, n, 0);
            CHECK(d[0] - d[k - 1] == want, "n %d k %d: spread %d, best %d", n, k, d[0] - d[k - 1],
                  want);
        }
    int d[3] = {0, 3, 0};
    OK(MPI_Dims_create(24, 3, d));
    CHECK(d[0] == 4 && d[1] == 3 && d[2] == 2, "24 with dims[1] = 3: %d %d %d", d[0], d[1], d[2]);
    int e[3] = {1000, 1000, 0};
    OK(MPI_Dims_create(1000 * 1000 * 1000, 3, e));
    CHECK(e[2] == 1000, "1e9: %d", e[2]);
    int f[3] = {0, 0, 0};
    OK(MPI_Dims_create(1000 * 1000 * 1000, 3, f));
    CHECK(f[0] == 1000 && f[1] == 1000 && f[2] == 1000, "1e9 free: %d %d %d", f[0], f[1], f[2]);
    int g[2] = {0, 7};
    EXPECT_ERR(MPI_Dims_create(20, 2, g), MPI_ERR_DIMS);
    int h[2] = {-1, 0};
    EXPECT_ERR(MPI_Dims_create(20, 2, h), MPI_ERR_DIMS);
    EXPECT_ERR(MPI_Dims_create(20, -1, h), MPI_ERR_DIMS);
    OK(MPI_Dims_create(1, 0, NULL));
}

/* ---- Cartesian ---- */

static void coords_of(int r, int nd, const int *dims, int *c)
{
    for (int i = nd - 1; i >= 0; i--) {
        c[i] = r % dims[i];
        r /= dims[i];
    }
}

static int rank_of(int nd, const int *dims, const int *periods, const int *c)
{
    int r = 0;
    for (int i = 0; i < nd; i++) {
        int x = c[i];
        if (periods[i])
            x = ((x % dims[i]) + dims[i]) % dims[i];
        else if (x < 0 || x >= dims[i])
            return MPI_PROC_NULL;
        r = r * dims[i] + x;
    }
    return r;
}

static void test_cart_grid(int nd, const int *dims, const int *periods)
{
    MPI_Comm cart;
    int n = 1, t, ndims;
    for (int i = 0; i < nd; i++)
        n *= dims[i];
    OK(MPI_Cart_create(MPI_COMM_WORLD, nd, dims, periods, 1, &cart));
    if (rank >= n) {
        CHECK(cart == MPI_COMM_NULL, "rank %d of %d in the grid", rank, n);
        return;
    }
    CHECK(cart != MPI_COMM_NULL, "no communicator");
    int csize, crank;
    MPI_Comm_size(cart, &csize);
    MPI_Comm_rank(cart, &crank);
    CHECK(csize == n && crank == rank, "size %d rank %d", csize, crank);
    OK(MPI_Topo_test(cart, &t));
    CHECK(t == MPI_CART, "topo %d", t);
    OK(MPI_Cartdim_get(cart, &ndims));
    CHECK(ndims == nd, "ndims %d", ndims);
    int gd[8], gp[8], gc[8], mine[8];
    OK(MPI_Cart_get(cart, nd, gd, gp, gc));
    coords_of(rank, nd, dims, mine);
    for (int i = 0; i < nd; i++)
        CHECK(gd[i] == dims[i] && gp[i] == !!periods[i] && gc[i] == mine[i], "Cart_get dim %d", i);
    for (int r = 0; r < n; r++) {
        int c[8], back;
        OK(MPI_Cart_coords(cart, r, nd, c));
        coords_of(r, nd, dims, mine);
        CHECK(!memcmp(c, mine, sizeof(int) * (size_t)nd), "coords of %d", r);
        OK(MPI_Cart_rank(cart, c, &back));
        CHECK(back == r, "rank of coords of %d: %d", r, back);
    }
    coords_of(rank, nd, dims, mine);
    for (int d = 0; d < nd; d++)
        for (int disp = -3; disp <= 3; disp++) {
            int src, dst, c[8];
            OK(MPI_Cart_shift(cart, d, disp, &src, &dst));
            memcpy(c, mine, sizeof(c));
            c[d] += disp;
            int wd = rank_of(nd, dims, periods, c);
            c[d] -= 2 * disp;
            int ws = rank_of(nd, dims, periods, c);
            CHECK(src == ws && dst == wd, "shift dim %d disp %d: %d %d, want %d %d", d, disp, src,
                  dst, ws, wd);
        }
    if (nd >= 2) { /* keep dimension 1 only, then all but dimension 1 */
        for (int keep1 = 0; keep1 <= 1; keep1++) {
            int remain[8], sub, ssize, srank, sd;
            for (int i = 0; i < nd; i++)
                remain[i] = keep1 ? i == 1 : i != 1;
            MPI_Comm subc;
            OK(MPI_Cart_sub(cart, remain, &subc));
            MPI_Comm_size(subc, &ssize);
            MPI_Comm_rank(subc, &srank);
            int want = 1, wrank = 0;
            for (int i = 0; i < nd; i++)
                if (remain[i]) {
                    want *= dims[i];
                    wrank = wrank * dims[i] + mine[i];
                }
            CHECK(ssize == want && srank == wrank, "Cart_sub size %d rank %d", ssize, srank);
            OK(MPI_Cartdim_get(subc, &sd));
            CHECK(sd == (keep1 ? 1 : nd - 1), "Cart_sub ndims %d", sd);
            /* the processes of the sub-grid share the dropped coordinates */
            int *all = malloc(sizeof(int) * (size_t)ssize);
            sub = mine[1];
            OK(MPI_Allgather(&sub, 1, MPI_INT, all, 1, MPI_INT, subc));
            for (int i = 0; i < ssize; i++)
                CHECK(keep1 ? all[i] == i : all[i] == mine[1], "Cart_sub member %d", i);
            free(all);
            OK(MPI_Comm_free(&subc));
        }
    }
    int none[8] = {0}, res;
    MPI_Comm zero;
    OK(MPI_Cart_sub(cart, none, &zero)); /* no dimension kept: rank 0 alone */
    CHECK((rank == 0) == (zero != MPI_COMM_NULL), "Cart_sub to 0 dimensions at rank %d", rank);
    if (zero != MPI_COMM_NULL) {
        OK(MPI_Comm_compare(zero, MPI_COMM_SELF, &res));
        OK(MPI_Cartdim_get(zero, &ndims));
        CHECK(res == MPI_CONGRUENT && ndims == 0, "0-d sub: %d %d", res, ndims);
        OK(MPI_Comm_free(&zero));
    }
    MPI_Comm split;
    OK(MPI_Comm_split(cart, 0, rank, &split)); /* other constructors make no topology */
    OK(MPI_Topo_test(split, &t));
    CHECK(t == MPI_UNDEFINED, "Comm_split kept a topology (%d)", t);
    OK(MPI_Comm_free(&split));
    MPI_Comm dup;
    OK(MPI_Comm_dup(cart, &dup));
    OK(MPI_Topo_test(dup, &t));
    CHECK(t == MPI_CART, "dup lost the topology (%d)", t);
    OK(MPI_Comm_free(&cart));
    OK(MPI_Cartdim_get(dup, &ndims)); /* the duplicate outlives the original */
    CHECK(ndims == nd, "dup ndims %d", ndims);
    OK(MPI_Comm_free(&dup));
}

static void test_cart(void)
{
    int dims[3] = {0, 0, 0}, periods[3] = {1, 0, 1};
    OK(MPI_Dims_create(size, 2, dims));
    test_cart_grid(2, dims, periods);
    int d1[1] = {size}, p1[1] = {0};
    test_cart_grid(1, d1, p1);
    if (size > 1) { /* fewer processes than the communicator */
        int d2[2] = {size - 1, 1}, p2[2] = {1, 1};
        test_cart_grid(2, d2, p2);
    }
    int d3[3] = {0, 0, 0};
    OK(MPI_Dims_create(size, 3, d3));
    test_cart_grid(3, d3, periods);
    /* zero dimensions: rank 0 alone */
    MPI_Comm z;
    OK(MPI_Cart_create(MPI_COMM_WORLD, 0, NULL, NULL, 0, &z));
    CHECK((rank == 0) == (z != MPI_COMM_NULL), "0-d communicator at rank %d", rank);
    if (z != MPI_COMM_NULL) {
        int nd = -1, r = -1;
        OK(MPI_Cartdim_get(z, &nd));
        OK(MPI_Cart_rank(z, NULL, &r));
        CHECK(nd == 0 && r == 0, "0-d: ndims %d rank %d", nd, r);
        OK(MPI_Comm_free(&z));
    }
    int nr;
    OK(MPI_Cart_map(MPI_COMM_WORLD, 1, d1, p1, &nr));
    CHECK(nr == rank, "Cart_map %d", nr);
    int half[1] = {(size + 1) / 2};
    OK(MPI_Cart_map(MPI_COMM_WORLD, 1, half, p1, &nr));
    CHECK(nr == (rank < half[0] ? rank : MPI_UNDEFINED), "Cart_map half %d", nr);
}

static void test_cart_errors(void)
{
    int dims[2] = {size + 1, 1}, periods[2] = {0, 0}, x, y;
    MPI_Comm c = MPI_COMM_WORLD;
    EXPECT_ERR(MPI_Cart_create(MPI_COMM_WORLD, 2, dims, periods, 0, &c), MPI_ERR_TOPOLOGY);
    CHECK(c == MPI_COMM_NULL, "a failed Cart_create left comm_cart %d", (int)c);
    dims[0] = -1;
    EXPECT_ERR(MPI_Cart_create(MPI_COMM_WORLD, 2, dims, periods, 0, &c), MPI_ERR_DIMS);
    EXPECT_ERR(MPI_Cart_create(MPI_COMM_WORLD, -1, dims, periods, 0, &c), MPI_ERR_DIMS);
    EXPECT_ERR(MPI_Cart_create(MPI_COMM_WORLD, 2, NULL, periods, 0, &c), MPI_ERR_ARG);
    EXPECT_ERR(MPI_Cart_create(MPI_COMM_NULL, 1, dims, periods, 0, &c), MPI_ERR_COMM);
    EXPECT_ERR(MPI_Cartdim_get(MPI_COMM_WORLD, &x), MPI_ERR_TOPOLOGY);
    EXPECT_ERR(MPI_Cart_shift(MPI_COMM_WORLD, 0, 1, &x, &y), MPI_ERR_TOPOLOGY);
    EXPECT_ERR(MPI_Graphdims_get(MPI_COMM_WORLD, &x, &y), MPI_ERR_TOPOLOGY);
    int d1[1] = {size}, p1[1] = {0};
    OK(MPI_Cart_create(MPI_COMM_WORLD, 1, d1, p1, 0, &c));
    EXPECT_ERR(MPI_Cart_shift(c, 1, 1, &x, &y), MPI_ERR_DIMS);
    EXPECT_ERR(MPI_Cart_shift(c, -1, 1, &x, &y), MPI_ERR_DIMS);
    int bad[1] = {size};
    EXPECT_ERR(MPI_Cart_rank(c, bad, &x), MPI_ERR_ARG);
    EXPECT_ERR(MPI_Cart_coords(c, size, 1, bad), MPI_ERR_RANK);
    EXPECT_ERR(MPI_Cart_coords(c, 0, 0, bad), MPI_ERR_ARG);
    EXPECT_ERR(MPI_Graph_neighbors_count(c, 0, &x), MPI_ERR_TOPOLOGY);
    EXPECT_ERR(MPI_Dist_graph_neighbors_count(c, &x, &y, &x), MPI_ERR_TOPOLOGY);
    EXPECT_ERR(MPI_Topo_test(c, NULL), MPI_ERR_ARG);
    OK(MPI_Topo_test(MPI_COMM_WORLD, &x));
    CHECK(x == MPI_UNDEFINED, "world topology %d", x);
    if (size >= 2) { /* topologies are for intracommunicators */
        MPI_Comm half, inter, ic = MPI_COMM_WORLD;
        OK(MPI_Comm_split(MPI_COMM_WORLD, rank % 2, rank, &half));
        OK(MPI_Intercomm_create(half, 0, MPI_COMM_WORLD, 1 - rank % 2, 7, &inter));
        EXPECT_ERR(MPI_Cart_create(inter, 1, d1, p1, 0, &ic), MPI_ERR_COMM);
        CHECK(ic == MPI_COMM_NULL, "failed Cart_create on an intercommunicator");
        EXPECT_ERR(MPI_Neighbor_alltoall(&x, 1, MPI_INT, &y, 1, MPI_INT, inter), MPI_ERR_TOPOLOGY);
        OK(MPI_Comm_free(&inter));
        OK(MPI_Comm_free(&half));
    }
    OK(MPI_Comm_free(&c));
}

/* ---- graphs ---- */

/* A graph over all ranks: a ring (both directions), a self loop at rank 0
 * and a doubled edge 0-1 (p >= 2): index/edges in MPI_Graph_create form. */
static int make_graph(int *index, int *edges)
{
    int ne = 0;
    for (int r = 0; r < size; r++) {
        if (size > 1) {
            edges[ne++] = (r + 1) % size;
            edges[ne++] = (r + size - 1) % size;
        }
        if (r == 0)
            edges[ne++] = 0;
        if (size >= 2 && r <= 1)
            edges[ne++] = 1 - r; /* a second 0-1 edge */
        index[r] = ne;
    }
    return ne;
}

static void test_graph(MPI_Comm *gout)
{
    int index[64], edges[256], ne = make_graph(index, edges), t, nn, nedges;
    MPI_Comm g;
    OK(MPI_Graph_create(MPI_COMM_WORLD, size, index, edges, 0, &g));
    OK(MPI_Topo_test(g, &t));
    CHECK(t == MPI_GRAPH, "topo %d", t);
    OK(MPI_Graphdims_get(g, &nn, &nedges));
    CHECK(nn == size && nedges == ne, "Graphdims %d %d", nn, nedges);
    int gi[64], ge[256];
    OK(MPI_Graph_get(g, size, ne, gi, ge));
    CHECK(!memcmp(gi, index, sizeof(int) * (size_t)size) &&
              !memcmp(ge, edges, sizeof(int) * (size_t)ne),
          "Graph_get");
    for (int r = 0; r < size; r++) {
        int cnt, nb[64], lo = r ? index[r - 1] : 0;
        OK(MPI_Graph_neighbors_count(g, r, &cnt));
        CHECK(cnt == index[r] - lo, "neighbors_count of %d: %d", r, cnt);
        OK(MPI_Graph_neighbors(g, r, cnt, nb));
        CHECK(!memcmp(nb, edges + lo, sizeof(int) * (size_t)cnt), "neighbors of %d", r);
    }
    int nr;
    OK(MPI_Graph_map(MPI_COMM_WORLD, size, index, edges, &nr));
    CHECK(nr == rank, "Graph_map %d", nr);
    EXPECT_ERR(MPI_Graph_neighbors(g, size, 4, gi), MPI_ERR_RANK);
    int bad[2] = {1, 1}, bade[1] = {size};
    MPI_Comm bg = MPI_COMM_WORLD;
    EXPECT_ERR(MPI_Graph_create(MPI_COMM_WORLD, 1, bad, bade, 0, &bg), MPI_ERR_ARG);
    EXPECT_ERR(MPI_Graph_create(MPI_COMM_WORLD, size + 1, index, edges, 0, &bg), MPI_ERR_ARG);
    CHECK(bg == MPI_COMM_NULL, "a failed Graph_create left comm_graph %d", (int)bg);
    MPI_Comm none;
    OK(MPI_Graph_create(MPI_COMM_WORLD, 0, index, edges, 0, &none));
    CHECK(none == MPI_COMM_NULL, "empty graph gave a communicator");
    if (size > 1) { /* a ring of the first size-1 processes: the last is left out */
        int si[32], se[64], m = size - 1;
        for (int r = 0; r < m; r++)
            si[r] = r + 1, se[r] = (r + 1) % m;
        MPI_Comm part;
        OK(MPI_Graph_create(MPI_COMM_WORLD, m, si, se, 0, &part));
        CHECK((rank < m) == (part != MPI_COMM_NULL), "partial graph at rank %d", rank);
        if (part != MPI_COMM_NULL) {
            int psize, nb[2], cnt;
            MPI_Comm_size(part, &psize);
            OK(MPI_Graph_neighbors_count(part, rank, &cnt));
            OK(MPI_Graph_neighbors(part, rank, 1, nb));
            CHECK(psize == m && cnt == 1 && nb[0] == (rank + 1) % m, "partial graph: %d %d %d",
                  psize, cnt, nb[0]);
            OK(MPI_Comm_free(&part));
        }
    }
    *gout = g;
}

/* ---- distributed graphs ---- */

/* The edges of the test's distributed graph, the same at every rank:
 * edge e goes from esrc(e) to edst(e) with weight 100 + e and is named
 * by rank eowner(e).  Parallel edges and self loops included. */
static int nedges_dist(void)
{
    return 3 * size + 2;
}
static int esrc(int e)
{
    return e < 3 * size ? e / 3 : 0;
}
static int edst(int e)
{
    if (e >= 3 * size)
        return size - 1; /* two more 0 -> size-1 edges */
    int s = e / 3, k = e % 3;
    return k == 0 ? (s + 1) % size : k == 1 ? (s * 7 + 3) % size : s;
}
static int eowner(int e)
{
    return (e * 5 + 1) % size;
}

static int count_in(const int *list, int n, int x)
{
    int c = 0;
    for (int i = 0; i < n; i++)
        c += list[i] == x;
    return c;
}

static void check_dist(MPI_Comm dg, int weighted)
{
    int in, out, w, t;
    OK(MPI_Topo_test(dg, &t));
    CHECK(t == MPI_DIST_GRAPH, "topo %d", t);
    OK(MPI_Dist_graph_neighbors_count(dg, &in, &out, &w));
    int win = 0, wout = 0, ne = nedges_dist();
    for (int e = 0; e < ne; e++) {
        win += edst(e) == rank;
        wout += esrc(e) == rank;
    }
    CHECK(in == win && out == wout && w == weighted, "degrees %d %d %d, want %d %d %d", in, out, w,
          win, wout, weighted);
    int src[256], sw[256], dst[256], dw[256];
    OK(MPI_Dist_graph_neighbors(dg, in, src, sw, out, dst, dw));
    /* every edge at both ends, weights with them */
    for (int e = 0; e < ne; e++) {
        int found = 0;
        if (edst(e) == rank)
            for (int i = 0; i < in; i++)
                found |= src[i] == esrc(e) && (!weighted || sw[i] == 100 + e);
        if (esrc(e) == rank)
            for (int i = 0; i < out; i++)
                found |= dst[i] == edst(e) && (!weighted || dw[i] == 100 + e);
        CHECK(found || (edst(e) != rank && esrc(e) != rank), "edge %d missing", e);
    }
    for (int i = 0; i < in; i++) {
        int n = 0;
        for (int e = 0; e < ne; e++)
            n += esrc(e) == src[i] && edst(e) == rank;
        CHECK(count_in(src, in, src[i]) == n, "in-edges from %d", src[i]);
    }
}

static void test_dist(MPI_Comm *adj, MPI_Comm *gen)
{
    int ne = nedges_dist(), src[256], sw[256], dst[256], dw[256], nin = 0, nout = 0;
    for (int e = 0; e < ne; e++) {
        if (edst(e) == rank)
            src[nin] = esrc(e), sw[nin++] = 100 + e;
        if (esrc(e) == rank)
            dst[nout] = edst(e), dw[nout++] = 100 + e;
    }
    OK(MPI_Dist_graph_create_adjacent(MPI_COMM_WORLD, nin, src, sw, nout, dst, dw, MPI_INFO_NULL, 0,
                                      adj));
    check_dist(*adj, 1);
    /* edges named by other ranks than their ends, one (source, degree) each */
    int srcs[256], deg[256], dsts[256], wts[256], n = 0;
    for (int e = 0; e < ne; e++)
        if (eowner(e) == rank) {
            srcs[n] = esrc(e), deg[n] = 1, dsts[n] = edst(e), wts[n++] = 100 + e;
        }
    OK(MPI_Dist_graph_create(MPI_COMM_WORLD, n, srcs, deg, dsts, wts, MPI_INFO_NULL, 1, gen));
    check_dist(*gen, 1);
    MPI_Comm u, dup;
    OK(MPI_Dist_graph_create(MPI_COMM_WORLD, n, srcs, deg, dsts, MPI_UNWEIGHTED, MPI_INFO_NULL, 0,
                             &u));
    OK(MPI_Comm_dup(u, &dup));
    check_dist(dup, 0);
    OK(MPI_Comm_free(&u));
    OK(MPI_Comm_free(&dup));
    OK(MPI_Dist_graph_create(MPI_COMM_WORLD, 0, NULL, NULL, NULL, MPI_WEIGHTS_EMPTY, MPI_INFO_NULL,
                             0, &u));
    int a, b, w;
    OK(MPI_Dist_graph_neighbors_count(u, &a, &b, &w));
    CHECK(a == 0 && b == 0 && w == 1, "empty weighted graph: %d %d %d", a, b, w);
    OK(MPI_Comm_free(&u));
    int badr[1] = {size};
    EXPECT_ERR(MPI_Dist_graph_create_adjacent(MPI_COMM_WORLD, 1, badr, sw, 0, dst, dw,
                                              MPI_INFO_NULL, 0, &u),
               MPI_ERR_RANK);
    int negw[1] = {-1}, one[1] = {0};
    EXPECT_ERR(MPI_Dist_graph_create_adjacent(MPI_COMM_WORLD, 1, one, negw, 0, dst, dw,
                                              MPI_INFO_NULL, 0, &u),
               MPI_ERR_ARG);
    EXPECT_ERR(
        MPI_Dist_graph_create(MPI_COMM_WORLD, -1, srcs, deg, dsts, wts, MPI_INFO_NULL, 0, &u),
        MPI_ERR_ARG);
}

/* ---- neighbourhood collectives ---- */

/* Neighbour lists in the order the collectives use. */
static void neighbours(MPI_Comm c, int *in, int *nin, int *out, int *nout, int *cart)
{
    int t;
    MPI_Topo_test(c, &t);
    *cart = t == MPI_CART;
    if (t == MPI_CART) {
        int nd;
        MPI_Cartdim_get(c, &nd);
        for (int d = 0; d < nd; d++)
            MPI_Cart_shift(c, d, 1, &in[2 * d], &in[2 * d + 1]);
        *nin = *nout = 2 * nd;
        memcpy(out, in, sizeof(int) * (size_t)*nin);
    } else if (t == MPI_GRAPH) {
        MPI_Graph_neighbors_count(c, rank, nin);
        MPI_Graph_neighbors(c, rank, *nin, in);
        *nout = *nin;
        memcpy(out, in, sizeof(int) * (size_t)*nin);
    } else {
        int w;
        MPI_Dist_graph_neighbors_count(c, nin, nout, &w);
        MPI_Dist_graph_neighbors(c, *nin, in, MPI_UNWEIGHTED, *nout, out, MPI_UNWEIGHTED);
    }
}

/* What a block says: sent by s to d over its k-th parallel edge (or, on a
 * Cartesian grid, out of slot k), element i. */
static int tag_of(int s, int d, int k, int i)
{
    return ((s * 64 + d) * 64 + k) * 4096 + (i % 4096);
}

/* The key a receiver expects in in-slot i: the sender's view of the edge. */
static int expect_key(const int *in, int i, int cart)
{
    if (cart)
        return i ^ 1; /* what my - neighbour sent up arrives in my - slot */
    int k = 0;
    for (int j = 0; j < i; j++)
        k += in[j] == in[i];
    return k;
}

static int send_key(const int *out, int j, int cart)
{
    if (cart)
        return j;
    int k = 0;
    for (int i = 0; i < j; i++)
        k += out[i] == out[j];
    return k;
}

/* Alltoall(v,w) and allgather(v) on comm c with n ints per block; the
 * receive side strided (a vector type, every other int) when strided. */
static void test_nbr_alltoall(MPI_Comm c, int n, int nonblocking, int strided)
{
    int in[64], out[64], nin, nout, cart;
    neighbours(c, in, &nin, out, &nout, &cart);
    int stride = strided ? 2 : 1;
    int *sb = malloc(sizeof(int) * (size_t)(nout * n + 1));
    int *rb = malloc(sizeof(int) * (size_t)(nin * n * stride + 1));
    for (int j = 0; j < nout; j++)
        for (int i = 0; i < n; i++)
            sb[j * n + i] = tag_of(rank, out[j], send_key(out, j, cart), i);
    for (int i = 0; i < nin * n * stride; i++)
        rb[i] = -7;
    MPI_Datatype vt = MPI_INT;
    if (strided) {
        MPI_Datatype v;
        MPI_Type_vector(n, 1, 2, MPI_INT, &v);
        MPI_Type_create_resized(v, 0, (MPI_Aint)(sizeof(int) * 2 * (size_t)n), &vt);
        MPI_Type_free(&v);
        MPI_Type_commit(&vt);
    }
    MPI_Request rq;
    int rc;
    if (nonblocking) {
        rc = MPI_Ineighbor_alltoall(sb, n, MPI_INT, rb, strided ? 1 : n, vt, c, &rq);
        if (vt != MPI_INT)
            MPI_Type_free(&vt); /* freed while in flight */
        OK(rc);
        OK(MPI_Wait(&rq, MPI_STATUS_IGNORE));
    } else {
        OK(MPI_Neighbor_alltoall(sb, n, MPI_INT, rb, strided ? 1 : n, vt, c));
        if (vt != MPI_INT)
            MPI_Type_free(&vt);
    }
    for (int s = 0; s < nin; s++)
        for (int i = 0; i < n; i++) {
            int got = rb[(s * n + i) * stride];
            int want =
                in[s] == MPI_PROC_NULL ? -7 : tag_of(in[s], rank, expect_key(in, s, cart), i);
            CHECK(got == want, "alltoall n %d slot %d (from %d) elem %d: %d want %d", n, s, in[s],
                  i, got, want);
            if (strided)
                CHECK(rb[(s * n + i) * 2 + 1] == -7, "gap overwritten");
        }
    free(sb);
    free(rb);
}

static void test_nbr_allgather(MPI_Comm c, int n, int nonblocking)
{
    int in[64], out[64], nin, nout, cart;
    neighbours(c, in, &nin, out, &nout, &cart);
    int *sb = malloc(sizeof(int) * (size_t)(n + 1));
    int *rb = malloc(sizeof(int) * (size_t)(nin * (n + 3) + 1));
    int counts[64], displs[64];
    for (int i = 0; i < n; i++)
        sb[i] = tag_of(rank, 0, 0, i);
    for (int i = 0; i < nin * (n + 3); i++)
        rb[i] = -7;
    for (int s = 0; s < nin; s++) /* v: blocks in reverse order, 3 ints apart */
        counts[s] = n, displs[s] = (nin - 1 - s) * (n + 3);
    MPI_Request rq[2];
    if (nonblocking) {
        OK(MPI_Ineighbor_allgatherv(sb, n, MPI_INT, rb, counts, displs, MPI_INT, c, &rq[0]));
        OK(MPI_Waitall(1, rq, MPI_STATUSES_IGNORE));
    } else
        OK(MPI_Neighbor_allgatherv(sb, n, MPI_INT, rb, counts, displs, MPI_INT, c));
    for (int s = 0; s < nin; s++)
        for (int i = 0; i < n; i++) {
            int got = rb[displs[s] + i];
            int want = in[s] == MPI_PROC_NULL ? -7 : tag_of(in[s], 0, 0, i);
            CHECK(got == want, "allgatherv slot %d elem %d: %d want %d", s, i, got, want);
        }
    int *rb2 = malloc(sizeof(int) * (size_t)(nin * n + 1));
    for (int i = 0; i < nin * n; i++)
        rb2[i] = -7;
    MPI_Datatype ct;
    MPI_Type_contiguous(n, MPI_INT, &ct);
    MPI_Type_commit(&ct);
    if (nonblocking) {
        OK(MPI_Ineighbor_allgather(sb, n, MPI_INT, rb2, 1, ct, c, &rq[1]));
        OK(MPI_Wait(&rq[1], MPI_STATUS_IGNORE));
    } else
        OK(MPI_Neighbor_allgather(sb, n, MPI_INT, rb2, 1, ct, c));
    MPI_Type_free(&ct);
    for (int s = 0; s < nin; s++)
        for (int i = 0; i < n; i++) {
            int want = in[s] == MPI_PROC_NULL ? -7 : tag_of(in[s], 0, 0, i);
            CHECK(rb2[s * n + i] == want, "allgather slot %d elem %d", s, i);
        }
    free(sb);
    free(rb);
    free(rb2);
}

/* Alltoallv and alltoallw: block j to out-neighbour j has j % 3 + n ints;
 * the receiver knows the sizes from the sender's view of the edge. */
static void test_nbr_alltoallvw(MPI_Comm c, int n, int nonblocking)
{
    int in[64], out[64], nin, nout, cart;
    neighbours(c, in, &nin, out, &nout, &cart);
    int sc[64], sd[64], rc_[64], rd[64], ts = 0, tr = 0;
    MPI_Aint sdb[64], rdb[64];
    MPI_Datatype st[64], rt[64];
    for (int j = 0; j < nout; j++)
        sc[j] = n + send_key(out, j, cart) % 3, sd[j] = ts, ts += sc[j];
    for (int s = 0; s < nin; s++) {
        rc_[s] = in[s] == MPI_PROC_NULL ? 0 : n + expect_key(in, s, cart) % 3;
        rd[s] = tr, tr += rc_[s] + 1;
    }
    int *sb = malloc(sizeof(int) * (size_t)(ts + 1)), *rb = malloc(sizeof(int) * (size_t)(tr + 1));
    for (int j = 0; j < nout; j++)
        for (int i = 0; i < sc[j]; i++)
            sb[sd[j] + i] = tag_of(rank, out[j], send_key(out, j, cart), i);
    for (int w = 0; w <= 1; w++) {
        for (int i = 0; i < tr; i++)
            rb[i] = -7;
        for (int j = 0; j < nout; j++)
            st[j] = MPI_INT, sdb[j] = (MPI_Aint)sizeof(int) * sd[j];
        for (int s = 0; s < nin; s++)
            rt[s] = MPI_INT, rdb[s] = (MPI_Aint)sizeof(int) * rd[s];
        MPI_Request rq;
        if (w && nonblocking)
            OK(MPI_Ineighbor_alltoallw(sb, sc, sdb, st, rb, rc_, rdb, rt, c, &rq));
        else if (w)
            OK(MPI_Neighbor_alltoallw(sb, sc, sdb, st, rb, rc_, rdb, rt, c));
        else if (nonblocking)
            OK(MPI_Ineighbor_alltoallv(sb, sc, sd, MPI_INT, rb, rc_, rd, MPI_INT, c, &rq));
        else
            OK(MPI_Neighbor_alltoallv(sb, sc, sd, MPI_INT, rb, rc_, rd, MPI_INT, c));
        if (nonblocking)
            OK(MPI_Wait(&rq, MPI_STATUS_IGNORE));
        for (int s = 0; s < nin; s++) {
            for (int i = 0; i < rc_[s]; i++) {
                int want = tag_of(in[s], rank, expect_key(in, s, cart), i);
                CHECK(rb[rd[s] + i] == want, "alltoall%c slot %d elem %d: %d want %d",
                      w ? 'w' : 'v', s, i, rb[rd[s] + i], want);
            }
            CHECK(rb[rd[s] + rc_[s]] == -7, "alltoall%c: past block %d", w ? 'w' : 'v', s);
        }
    }
    free(sb);
    free(rb);
}

/* Several nonblocking neighbourhood collectives in flight on different
 * communicators, completed in reverse order. */
static void test_nbr_overlap(MPI_Comm *cs, int nc)
{
    enum { N = 5 };
    MPI_Request rq[16];
    int *bufs[16][2], ins[16][64], outs[16][64], nins[16], nouts[16], carts[16];
    for (int k = 0; k < nc; k++) {
        neighbours(cs[k], ins[k], &nins[k], outs[k], &nouts[k], &carts[k]);
        bufs[k][0] = malloc(sizeof(int) * (size_t)(nouts[k] * N + 1));
        bufs[k][1] = malloc(sizeof(int) * (size_t)(nins[k] * N + 1));
        for (int j = 0; j < nouts[k]; j++)
            for (int i = 0; i < N; i++)
                bufs[k][0][j * N + i] = tag_of(rank, outs[k][j], send_key(outs[k], j, carts[k]), i);
        for (int i = 0; i < nins[k] * N; i++)
            bufs[k][1][i] = -7;
        OK(MPI_Ineighbor_alltoall(bufs[k][0], N, MPI_INT, bufs[k][1], N, MPI_INT, cs[k], &rq[k]));
    }
    for (int k = nc - 1; k >= 0; k--) {
        OK(MPI_Wait(&rq[k], MPI_STATUS_IGNORE));
        for (int s = 0; s < nins[k]; s++)
            for (int i = 0; i < N; i++) {
                int want = ins[k][s] == MPI_PROC_NULL
                               ? -7
                               : tag_of(ins[k][s], rank, expect_key(ins[k], s, carts[k]), i);
                CHECK(bufs[k][1][s * N + i] == want, "overlap comm %d slot %d", k, s);
            }
        free(bufs[k][0]);
        free(bufs[k][1]);
    }
}

static void test_neighbours(MPI_Comm g, MPI_Comm adj, MPI_Comm gen)
{
    MPI_Comm cs[6];
    int nc = 0, dims[2] = {0, 0}, periods[2] = {1, 0};
    MPI_Dims_create(size, 2, dims);
    OK(MPI_Cart_create(MPI_COMM_WORLD, 2, dims, periods, 0, &cs[nc++]));
    int d1[1] = {size}, p1[1] = {1};
    OK(MPI_Cart_create(MPI_COMM_WORLD, 1, d1, p1, 0, &cs[nc++])); /* a ring: p = 1, 2 wrap */
    cs[nc++] = g;
    cs[nc++] = adj;
    cs[nc++] = gen;
    static const int sizes[] = {0, 1, 7, 3000};
    for (int k = 0; k < nc; k++)
        for (int z = 0; z < 4; z++)
            for (int nb = 0; nb <= 1; nb++) {
                test_nbr_alltoall(cs[k], sizes[z], nb, 0);
                if (sizes[z] > 0)
                    test_nbr_alltoall(cs[k], sizes[z], nb, 1);
                test_nbr_allgather(cs[k], sizes[z], nb);
                test_nbr_alltoallvw(cs[k], sizes[z], nb);
            }
    test_nbr_overlap(cs, nc);
    int x;
    EXPECT_ERR(MPI_Neighbor_alltoall(&x, 1, MPI_INT, &x, 1, MPI_INT, MPI_COMM_WORLD),
               MPI_ERR_TOPOLOGY);
    EXPECT_ERR(MPI_Neighbor_allgather(&x, -1, MPI_INT, &x, 1, MPI_INT, cs[0]), MPI_ERR_COUNT);
    EXPECT_ERR(MPI_Neighbor_alltoall(&x, 1, MPI_INT, &x, -1, MPI_INT, cs[0]), MPI_ERR_COUNT);
    EXPECT_ERR(MPI_Neighbor_allgather(&x, 1, MPI_INT, &x, -1, MPI_INT, cs[0]), MPI_ERR_COUNT);
    EXPECT_ERR(MPI_Ineighbor_allgather(&x, 1, MPI_INT, &x, 1, MPI_INT, cs[0], NULL), MPI_ERR_ARG);
    EXPECT_ERR(MPI_Neighbor_alltoall(&x, 1, MPI_DATATYPE_NULL, &x, 1, MPI_INT, cs[0]),
               MPI_ERR_TYPE);
    MPI_Comm_free(&cs[0]);
    MPI_Comm_free(&cs[1]);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
    if (size > 32) {
        if (rank == 0)
            fprintf(stderr, "topo: at most 32 processes\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    test_dims();
    test_cart();
    test_cart_errors();
    MPI_Comm g, adj, gen;
    test_graph(&g);
    test_dist(&adj, &gen);
    test_neighbours(g, adj, gen);
    MPI_Comm_free(&g);
    MPI_Comm_free(&adj);
    MPI_Comm_free(&gen);
    int all;
    MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0)
        printf(all ? "topo: %d failures\n" : "topo: ok (%d processes)\n", all ? all : size);
    MPI_Finalize();
    return all != 0;
}
