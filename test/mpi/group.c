/* Group algebra with exact expected ranks (MPI 4.1 section 7.3): incl,
 * excl, range_incl/excl with negative strides, union, intersection,
 * difference, translate_ranks (with MPI_PROC_NULL), compare, MPI_GROUP_EMPTY,
 * and argument errors under MPI_ERRORS_RETURN.  Groups are local objects,
 * so every process checks the same results for the world's size. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int wrank, n;

#define CHECK_PREFIX "group:"
#define CHECK_RANK   wrank
#define CHECK_FATAL
#include "check.h"

/* The world ranks of g, in order, must be want[0..len-1]. */
static void expect(MPI_Group g, MPI_Group world, int len, const int *want, const char *what)
{
    int size, rank, me = MPI_UNDEFINED;
    OK(MPI_Group_size(g, &size));
    CHECK(size == len, "%s: size %d, want %d", what, size, len);
    for (int i = 0; i < len; i++) {
        int w;
        OK(MPI_Group_translate_ranks(g, 1, &i, world, &w));
        CHECK(w == want[i], "%s: rank %d is world %d, want %d", what, i, w, want[i]);
        if (want[i] == wrank)
            me = i;
    }
    OK(MPI_Group_rank(g, &rank));
    CHECK(rank == me, "%s: our rank %d, want %d", what, rank, me);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    MPI_Group world, g, evens, odds, rev;
    int *want = malloc(sizeof(int) * (size_t)(2 * n + 1)), m, res;
    OK(MPI_Comm_group(MPI_COMM_WORLD, &world));
    for (int i = 0; i < n; i++)
        want[i] = i;
    expect(world, world, n, want, "world");

    /* incl: odd world ranks from the top down, then 0 */
    int inc[64];
    m = 0;
    for (int r = n - 1; r >= 0; r--)
        if (r % 2)
            inc[m++] = r;
    inc[m++] = 0;
    OK(MPI_Group_incl(world, m, inc, &g));
    expect(g, world, m, inc, "incl");
    OK(MPI_Group_free(&g));
    CHECK(g == MPI_GROUP_NULL, "Group_free did not reset the handle");

    /* excl of rank 0 */
    int zero = 0;
    OK(MPI_Group_excl(world, 1, &zero, &g));
    for (int i = 1; i < n; i++)
        want[i - 1] = i;
    expect(g, world, n - 1, want, "excl");
    OK(MPI_Group_free(&g));

    /* ranges: evens ascending, reversed world, odds via range_excl */
    int re[1][3] = {{0, n - 1, 2}}, rr[1][3] = {{n - 1, 0, -1}};
    OK(MPI_Group_range_incl(world, 1, re, &evens));
    m = 0;
    for (int r = 0; r < n; r += 2)
        want[m++] = r;
    expect(evens, world, m, want, "range_incl evens");
    OK(MPI_Group_range_incl(world, 1, rr, &rev));
    for (int i = 0; i < n; i++)
        want[i] = n - 1 - i;
    expect(rev, world, n, want, "range_incl reversed");
    OK(MPI_Group_range_excl(world, 1, re, &odds));
    m = 0;
    for (int r = 1; r < n; r += 2)
        want[m++] = r;
    expect(odds, world, m, want, "range_excl odds");

    /* union keeps group1's order, then group2's newcomers */
    OK(MPI_Group_union(odds, rev, &g));
    m = 0;
    for (int r = 1; r < n; r += 2)
        want[m++] = r;
    for (int r = n - 1; r >= 0; r--)
        if (r % 2 == 0)
            want[m++] = r;
    expect(g, world, n, want, "union");
    OK(MPI_Group_compare(g, world, &res));
    CHECK(res == (n == 1 ? MPI_IDENT : MPI_SIMILAR), "compare(union, world) = %d", res);
    OK(MPI_Group_free(&g));

    /* intersection in group1's order; difference */
    OK(MPI_Group_intersection(rev, evens, &g));
    m = 0;
    for (int r = n - 1; r >= 0; r--)
        if (r % 2 == 0)
            want[m++] = r;
    expect(g, world, m, want, "intersection");
    OK(MPI_Group_free(&g));
    OK(MPI_Group_difference(world, evens, &g));
    OK(MPI_Group_compare(g, odds, &res));
    CHECK(res == MPI_IDENT, "difference(world, evens) vs odds = %d", res);
    OK(MPI_Group_free(&g));
    OK(MPI_Group_difference(evens, world, &g));
    OK(MPI_Group_size(g, &m));
    CHECK(m == 0, "difference(evens, world) has %d processes", m);
    OK(MPI_Group_compare(g, MPI_GROUP_EMPTY, &res));
    CHECK(res == MPI_IDENT, "empty difference vs MPI_GROUP_EMPTY = %d", res);
    OK(MPI_Group_free(&g));

    /* compare */
    OK(MPI_Group_compare(world, rev, &res));
    CHECK(res == (n == 1 ? MPI_IDENT : MPI_SIMILAR), "compare(world, reversed) = %d", res);
    OK(MPI_Group_compare(world, evens, &res));
    CHECK(res == (n == 1 ? MPI_IDENT : MPI_UNEQUAL), "compare(world, evens) = %d", res);

    /* translate: reversed -> world, with MPI_PROC_NULL; evens -> odds */
    int in[3] = {0, MPI_PROC_NULL, n - 1}, out[3];
    OK(MPI_Group_translate_ranks(rev, 3, in, world, out));
    CHECK(out[0] == n - 1 && out[1] == MPI_PROC_NULL && out[2] == 0, "translate: %d %d %d", out[0],
          out[1], out[2]);
    OK(MPI_Group_translate_ranks(evens, 1, in, odds, out));
    CHECK(out[0] == MPI_UNDEFINED, "translate evens -> odds: %d", out[0]);

    /* MPI_GROUP_EMPTY */
    OK(MPI_Group_size(MPI_GROUP_EMPTY, &m));
    OK(MPI_Group_rank(MPI_GROUP_EMPTY, &res));
    CHECK(m == 0 && res == MPI_UNDEFINED, "MPI_GROUP_EMPTY size %d rank %d", m, res);
    OK(MPI_Group_incl(world, 0, NULL, &g));
    CHECK(g == MPI_GROUP_EMPTY, "incl of nothing is not MPI_GROUP_EMPTY");

    /* argument errors come back with their class */
    OK(MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN));
    int dup2[2] = {0, 0}, cls;
    int rc = MPI_Group_incl(world, 2, dup2, &g);
    MPI_Error_class(rc, &cls);
    CHECK(n < 2 || cls == MPI_ERR_RANK, "incl with a repeated rank: class %d", cls);
    int bad = n;
    rc = MPI_Group_excl(world, 1, &bad, &g);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_RANK, "excl of rank n: class %d", cls);
    rc = MPI_Group_size(12345, &m);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_GROUP, "size of a bad group: class %d", cls);
    int badr[1][3] = {{0, n - 1, 0}};
    rc = MPI_Group_range_incl(world, 1, badr, &g);
    CHECK(rc != MPI_SUCCESS, "range with stride 0 accepted");

    OK(MPI_Group_free(&evens));
    OK(MPI_Group_free(&odds));
    OK(MPI_Group_free(&rev));
    OK(MPI_Group_free(&world));
    free(want);
    if (wrank == 0)
        printf("group ok (%d processes)\n", n);
    MPI_Finalize();
    return 0;
}
