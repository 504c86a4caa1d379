/* MPI_Dims_create (MPI 3.1 section 7.5.2): the free dimensions get the
 * factorisation of nnodes / (product of the given ones) into
 * non-increasing factors that is most balanced: the smallest spread
 * (largest minus smallest factor), ties broken by the smallest sum of
 * squares.  For a largest factor f the rest must have the largest possible
 * smallest factor (then the smallest sum of squares); that sub-problem
 * depends only on (what is left to factor, how many factors, their bound
 * f), so it is solved once per such state (a memo table) over the
 * divisors of the number.  A thousand divisors and 32 dimensions stay
 * within milliseconds.  doc/topo.md compares the result with MPICH's. */
#include "config.h"
#include "mpi/topo.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The best factorisation of divs[mi] into `left` factors <= divs[fi]. */
typedef struct tide_dims_best {
    int min;      /* its smallest factor (0: there is none) */
    int first;    /* its largest factor */
    long long sq; /* its sum of squares */
} tide_dims_best_t;

typedef struct tide_dims_ent {
    uint64_t key; /* 0: empty */
    tide_dims_best_t b;
} tide_dims_ent_t;

typedef struct tide_dims {
    long long *divs; /* divisors, ascending */
    int ndivs;
    tide_dims_ent_t *tab;
    size_t cap, used;
    int nomem;
} tide_dims_t;

/* x^k, or lim + 1 if that is larger than lim. */
static long long tide_pow_sat(long long x, int k, long long lim)
{
    long long p = 1;
    for (int i = 0; i < k; i++) {
        if (p > lim / x)
            return lim + 1;
        p *= x;
    }
    return p;
}

static int tide_dims_divisors(tide_dims_t *d, long long n)
{
    size_t cap = 64;
    int lo = 0;
    long long *small = malloc(cap * sizeof(*small));
    if (!small)
        return -1;
    for (long long x = 1; x * x <= n; x++)
        if (n % x == 0) {
            if ((size_t)lo == cap) {
                long long *t = realloc(small, (cap *= 2) * sizeof(*t));
                if (!t) {
                    free(small);
                    return -1;
                }
                small = t;
            }
            small[lo++] = x;
        }
    d->divs = malloc(2 * (size_t)lo * sizeof(long long));
    if (!d->divs) {
        free(small);
        return -1;
    }
    for (int i = 0; i < lo; i++) /* the small ones ascending, their partners after */
        d->divs[d->ndivs++] = small[i];
    for (int i = lo - 1; i >= 0; i--)
        if (n / small[i] != small[i])
            d->divs[d->ndivs++] = n / small[i];
    free(small);
    return 0;
}

static int tide_dims_index(const tide_dims_t *d, long long v)
{
    int lo = 0, hi = d->ndivs - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (d->divs[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static tide_dims_ent_t *tide_dims_slot(tide_dims_t *d, uint64_t key)
{
    size_t i = (size_t)(key * 0x9e3779b97f4a7c15ull >> 20) & (d->cap - 1);
    while (d->tab[i].key && d->tab[i].key != key)
        i = (i + 1) & (d->cap - 1);
    return &d->tab[i];
}

static void tide_dims_store(tide_dims_t *d, uint64_t key, const tide_dims_best_t *b)
{
    if (2 * (d->used + 1) > d->cap) {
        size_t ncap = d->cap ? d->cap * 2 : 1024;
        tide_dims_ent_t *old = d->tab;
        size_t ocap = d->cap;
        d->tab = calloc(ncap, sizeof(*d->tab));
        if (!d->tab) {
            d->tab = old;
            d->nomem = 1;
            return;
        }
        d->cap = ncap;
        for (size_t i = 0; i < ocap; i++)
            if (old[i].key)
                *tide_dims_slot(d, old[i].key) = old[i];
        free(old);
    }
    tide_dims_ent_t *e = tide_dims_slot(d, key);
    if (!e->key)
        d->used++;
    e->key = key;
    e->b = *b;
}

/* Largest smallest factor, then smallest sum of squares. */
static tide_dims_best_t tide_dims_solve(tide_dims_t *d, int mi, int left, int fi)
{
    long long m = d->divs[mi];
    if (fi > mi)
        fi = mi;
    tide_dims_best_t best = {0, 0, 0};
    if (left == 1) {
        if (fi == mi)
            best = (tide_dims_best_t){(int)m, (int)m, m * m};
        return best;
    }
    uint64_t key = ((uint64_t)mi << 32 | (uint64_t)left << 16 | (uint64_t)fi) + 1;
    tide_dims_ent_t *e = d->cap ? tide_dims_slot(d, key) : NULL;
    if (e && e->key == key)
        return e->b;
    for (int j = fi; j >= 0; j--) {
        long long f = d->divs[j];
        if (tide_pow_sat(f, left, m) < m)
            break; /* the largest factor is at least the left-th root */
        if (m % f)
            continue;
        tide_dims_best_t sub = tide_dims_solve(d, tide_dims_index(d, m / f), left - 1, j);
        if (!sub.min)
            continue;
        long long sq = f * f + sub.sq;
        if (sub.min > best.min || (sub.min == best.min && sq < best.sq))
            best = (tide_dims_best_t){sub.min, (int)f, sq};
    }
    tide_dims_store(d, key, &best);
    return best;
}

/* The k factors of n in out, most balanced first; -1 if out of memory. */
static int tide_dims_balance(long long n, int k, int *out)
{
    tide_dims_t d = {0};
    if (k == 0)
        return 0;
    if (tide_dims_divisors(&d, n))
        return -1;
    int top = d.ndivs - 1, bestf = -1;
    long long bspread = 0, bsq = 0;
    for (int j = top; j >= 0 && tide_pow_sat(d.divs[j], k, n) >= n; j--) {
        long long f = d.divs[j];
        if (n % f || (k == 1 && f != n))
            continue;
        tide_dims_best_t sub = k == 1 ? (tide_dims_best_t){(int)f, (int)f, 0}
                                      : tide_dims_solve(&d, tide_dims_index(&d, n / f), k - 1, j);
        if (!sub.min)
            continue;
        long long spread = f - sub.min, sq = f * f + (k > 1 ? sub.sq : 0);
        if (bestf < 0 || spread < bspread || (spread == bspread && sq < bsq))
            bestf = j, bspread = spread, bsq = sq;
    }
    long long m = n, f = d.divs[bestf];
    for (int i = 0; i < k; i++) { /* walk the remembered choices */
        out[i] = (int)f;
        m /= f;
        if (i + 1 < k)
            f = i + 2 == k
                    ? m
                    : tide_dims_solve(&d, tide_dims_index(&d, m), k - i - 1, tide_dims_index(&d, f))
                          .first;
    }
    int nomem = d.nomem;
    free(d.tab);
    free(d.divs);
    return nomem ? -1 : 0;
}

int PMPI_Dims_create(int nnodes, int ndims, int dims[])
{
    static const char fn[] = "MPI_Dims_create";
    TIDE_MPI_CHECK_INIT(fn);
    if (nnodes <= 0)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ARG,
                              "argument nnodes (%d) must be positive", nnodes);
    if (ndims < 0)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_DIMS, "argument ndims (%d) is negative",
                              ndims);
    if (ndims > 0)
        TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, dims, "dims");
    long long given = 1;
    int k = 0;
    for (int i = 0; i < ndims; i++) {
        if (dims[i] < 0)
            return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_DIMS,
                                  "argument dims[%d] (%d) is negative", i, dims[i]);
        if (dims[i] == 0)
            k++;
        else if ((given *= dims[i]) > nnodes)
            given = (long long)nnodes + 1;
    }
    if (nnodes % given)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_DIMS,
                              "nnodes (%d) is not a multiple of the product of the non-zero "
                              "entries of dims (%lld)",
                              nnodes, given);
    if (k > 32)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_DIMS,
                              "argument dims has %d free entries; Tide fills at most 32", k);
    int f[32];
    if (tide_dims_balance(nnodes / given, k, f))
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_NO_MEM, "out of memory");
    for (int i = 0, j = 0; i < ndims; i++)
        if (dims[i] == 0)
            dims[i] = f[j++];
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Dims_create);
