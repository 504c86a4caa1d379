/* Distributed arrays and external32 (MPI 4.1 sections 5.1.4 and 13.5.2).
 * MPI_Type_create_darray: for block, cyclic, cyclic(k) and undistributed
 * dimensions, C and Fortran order, sizes that do not divide evenly, every
 * rank of the process grid (size and rank are arguments, so one process
 * checks them all): the type selects exactly the elements the standard's
 * distribution gives that rank, in array order, every element belongs to
 * exactly one rank, and the extent is the whole array; envelope and
 * contents.  MPI_Pack_external/Unpack_external/Pack_external_size: the
 * bytes are big-endian with the standard's sizes (MPI_LONG 4 bytes,
 * MPI_LONG_DOUBLE IEEE binary128), derived types and pair types pack their
 * elements without padding, round trips restore the data, a long that does
 * not fit 4 bytes is MPI_ERR_CONVERSION, a short buffer MPI_ERR_TRUNCATE and
 * another datarep MPI_ERR_ARG.  MPI_Type_match_size; C++'s types from C.
 * Failures print "dtype_ext FAIL", exit 1. */
#include <float.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define CHECK_PREFIX "dtype_ext FAIL"
#include "check.h"

/* ---- darray -------------------------------------------------------------- */

typedef struct darray_case {
    const char *what;
    int ndims, order;
    int gsizes[3], distribs[3], dargs[3], psizes[3];
} darray_case_t;

/* The standard's owner of global index i along one dimension. */
static int owner(int g, int dist, int darg, int p, int i)
{
    if (dist == MPI_DISTRIBUTE_NONE)
        return 0;
    if (dist == MPI_DISTRIBUTE_BLOCK) {
        int blk = darg == MPI_DISTRIBUTE_DFLT_DARG ? (g + p - 1) / p : darg;
        return i / blk;
    }
    int k = darg == MPI_DISTRIBUTE_DFLT_DARG ? 1 : darg;
    return (i / k) % p;
}

/* Does rank (grid coordinates in C order) own element `lin` (linear index
 * in the array's order)? */
static int owns(const darray_case_t *c, const int *coords, long lin)
{
    int idx[3];
    for (int k = 0; k < c->ndims; k++) { /* fastest dimension first */
        int d = c->order == MPI_ORDER_C ? c->ndims - 1 - k : k;
        idx[d] = (int)(lin % c->gsizes[d]);
        lin /= c->gsizes[d];
    }
    for (int d = 0; d < c->ndims; d++)
        if (owner(c->gsizes[d], c->distribs[d], c->dargs[d], c->psizes[d], idx[d]) != coords[d])
            return 0;
    return 1;
}

static void darray_rank(const darray_case_t *c, int nprocs, int r, const int *all, int *seen)
{
    long n = 1;
    for (int d = 0; d < c->ndims; d++)
        n *= c->gsizes[d];
    int coords[3], rem = r, s = nprocs;
    for (int d = 0; d < c->ndims; d++) {
        s /= c->psizes[d];
        coords[d] = rem / s;
        rem %= s;
    }
    MPI_Datatype t;
    OK(MPI_Type_create_darray(nprocs, r, c->ndims, c->gsizes, c->distribs, c->dargs, c->psizes,
                              c->order, MPI_INT, &t));
    OK(MPI_Type_commit(&t));
    MPI_Aint lb, ext;
    int sz;
    MPI_Type_get_extent(t, &lb, &ext);
    MPI_Type_size(t, &sz);
    CHECK(lb == 0 && ext == (MPI_Aint)(n * sizeof(int)), "%s rank %d: lb %ld extent %ld", c->what,
          r, (long)lb, (long)ext);
    int *packed = malloc(n * sizeof(int)), pos = 0;
    OK(MPI_Pack(all, 1, t, packed, (int)(n * sizeof(int)), &pos, MPI_COMM_SELF));
    CHECK(pos == sz, "%s rank %d: packed %d bytes, size %d", c->what, r, pos, sz);
    long k = 0;
    for (long lin = 0; lin < n; lin++) {
        if (!owns(c, coords, lin))
            continue;
        CHECK(k < sz / 4 && packed[k] == all[lin], "%s rank %d: element %ld is %d, want %d",
              c->what, r, k, k < sz / 4 ? packed[k] : -1, all[lin]);
        k++;
    }
    CHECK(k == sz / 4, "%s rank %d: owns %ld elements, type has %d", c->what, r, k, sz / 4);
    for (int i = 0; i < sz / 4; i++)
        seen[packed[i]]++;
    int ni, na, nd, comb;
    MPI_Type_get_envelope(t, &ni, &na, &nd, &comb);
    CHECK(comb == MPI_COMBINER_DARRAY && ni == 4 * c->ndims + 4 && na == 0 && nd == 1,
          "%s: envelope %d %d %d combiner %d", c->what, ni, na, nd, comb);
    int ints[16];
    MPI_Aint aints[1];
    MPI_Datatype types[1];
    MPI_Type_get_contents(t, 16, 0, 1, ints, aints, types);
    CHECK(ints[0] == nprocs && ints[1] == r && ints[2] == c->ndims &&
              ints[3 + 3 * c->ndims] == c->psizes[0] && ints[3 + 4 * c->ndims] == c->order &&
              types[0] == MPI_INT,
          "%s: contents", c->what);
    free(packed);
    MPI_Type_free(&t);
}

static void test_darray(void)
{
    const int B = MPI_DISTRIBUTE_BLOCK, C = MPI_DISTRIBUTE_CYCLIC, N = MPI_DISTRIBUTE_NONE,
              D = MPI_DISTRIBUTE_DFLT_DARG;
    const darray_case_t cases[] = {
        {"1d block", 1, MPI_ORDER_C, {10}, {B}, {D}, {3}},
        {"1d cyclic(3)", 1, MPI_ORDER_C, {17}, {C}, {3}, {4}},
        {"2d block x block C", 2, MPI_ORDER_C, {7, 9}, {B, B}, {D, D}, {2, 3}},
        {"2d block x block F", 2, MPI_ORDER_FORTRAN, {7, 9}, {B, B}, {D, D}, {2, 3}},
        {"2d cyclic x block(4) C", 2, MPI_ORDER_C, {6, 10}, {C, B}, {D, 4}, {4, 3}},
        {"2d cyclic(2) x cyclic F", 2, MPI_ORDER_FORTRAN, {11, 5}, {C, C}, {2, D}, {3, 2}},
        {"2d none x cyclic(2) C", 2, MPI_ORDER_C, {4, 13}, {N, C}, {D, 2}, {1, 3}},
        {"3d C", 3, MPI_ORDER_C, {5, 4, 7}, {B, C, C}, {D, D, 3}, {2, 1, 2}},
        {"3d F", 3, MPI_ORDER_FORTRAN, {5, 4, 7}, {C, N, B}, {2, D, D}, {2, 1, 3}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const darray_case_t *c = &cases[i];
        int nprocs = 1;
        long n = 1;
        for (int d = 0; d < c->ndims; d++)
            nprocs *= c->psizes[d], n *= c->gsizes[d];
        int *all = malloc(n * sizeof(int)), *seen = calloc(n, sizeof(int));
        for (long k = 0; k < n; k++)
            all[k] = (int)k;
        for (int r = 0; r < nprocs; r++)
            darray_rank(c, nprocs, r, all, seen);
        for (long k = 0; k < n; k++)
            CHECK(seen[k] == 1, "%s: element %ld owned %d times", c->what, k, seen[k]);
        free(all);
        free(seen);
    }
    /* Bad arguments return MPI_ERR_ARG. */
    int g[2] = {10, 10}, dist[2] = {MPI_DISTRIBUTE_BLOCK, MPI_DISTRIBUTE_NONE}, da[2] = {D, D};
    int ps[2] = {2, 2};
    MPI_Datatype t;
    int rc = MPI_Type_create_darray(4, 0, 2, g, dist, da, ps, MPI_ORDER_C, MPI_INT, &t), cls;
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_ARG, "NONE with psize 2 gives class %d", cls);
    ps[1] = 1;
    rc = MPI_Type_create_darray(4, 0, 2, g, dist, da, ps, MPI_ORDER_C, MPI_INT, &t);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_ARG, "a grid of 2 for size 4 gives class %d", cls);
    da[0] = 3;
    rc = MPI_Type_create_darray(2, 0, 2, g, dist, da, ps, MPI_ORDER_C, MPI_INT, &t);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_ARG, "block(3) x 2 procs over 10 gives class %d", cls);
}

/* ---- external32 ---------------------------------------------------------- */

static void test_x32_basic(void)
{
    struct {
        int i;
        double d;
        long l;
        short s;
        unsigned long ul;
    } v = {-2, 1.5, -3, 0x0102, 0xfedcba98UL};
    MPI_Aint sz;
    OK(MPI_Pack_external_size("external32", 1, MPI_LONG, &sz));
    CHECK(sz == 4, "MPI_LONG external size %ld", (long)sz);
    OK(MPI_Pack_external_size("external32", 3, MPI_LONG_DOUBLE, &sz));
    CHECK(sz == 48, "3 MPI_LONG_DOUBLE external size %ld", (long)sz);
    OK(MPI_Pack_external_size("external32", 2, MPI_DOUBLE_INT, &sz));
    CHECK(sz == 24, "2 MPI_DOUBLE_INT external size %ld", (long)sz);
    OK(MPI_Pack_external_size("external32", 1, MPI_C_DOUBLE_COMPLEX, &sz));
    CHECK(sz == 16, "MPI_C_DOUBLE_COMPLEX external size %ld", (long)sz);

    unsigned char buf[64];
    MPI_Aint pos = 0;
    OK(MPI_Pack_external("external32", &v.i, 1, MPI_INT, buf, sizeof(buf), &pos));
    OK(MPI_Pack_external("external32", &v.d, 1, MPI_DOUBLE, buf, sizeof(buf), &pos));
    OK(MPI_Pack_external("external32", &v.l, 1, MPI_LONG, buf, sizeof(buf), &pos));
    OK(MPI_Pack_external("external32", &v.s, 1, MPI_SHORT, buf, sizeof(buf), &pos));
    OK(MPI_Pack_external("external32", &v.ul, 1, MPI_UNSIGNED_LONG, buf, sizeof(buf), &pos));
    const unsigned char want[] = {0xff, 0xff, 0xff, 0xfe,             /* -2 */
                                  0x3f, 0xf8, 0,    0,    0, 0, 0, 0, /* 1.5 */
                                  0xff, 0xff, 0xff, 0xfd,             /* -3 */
                                  0x01, 0x02,                         /* short */
                                  0xfe, 0xdc, 0xba, 0x98};            /* ulong */
    CHECK(pos == (MPI_Aint)sizeof(want), "packed %ld bytes, want %zu", (long)pos, sizeof(want));
    CHECK(memcmp(buf, want, sizeof(want)) == 0, "external32 bytes are not big-endian as expected");

    typeof(v) w;
    memset(&w, 0, sizeof(w));
    pos = 0;
    OK(MPI_Unpack_external("external32", buf, sizeof(want), &pos, &w.i, 1, MPI_INT));
    OK(MPI_Unpack_external("external32", buf, sizeof(want), &pos, &w.d, 1, MPI_DOUBLE));
    OK(MPI_Unpack_external("external32", buf, sizeof(want), &pos, &w.l, 1, MPI_LONG));
    OK(MPI_Unpack_external("external32", buf, sizeof(want), &pos, &w.s, 1, MPI_SHORT));
    OK(MPI_Unpack_external("external32", buf, sizeof(want), &pos, &w.ul, 1, MPI_UNSIGNED_LONG));
    CHECK(w.i == v.i && w.d == v.d && w.l == v.l && w.s == v.s && w.ul == v.ul,
          "round trip: %d %g %ld %d %lx", w.i, w.d, w.l, w.s, w.ul);

    /* long double: 1.5 in binary128 is 3fff 8000 0000 ... */
    long double ld[2] = {1.5L, -0.375L}, ld2[2] = {0, 0};
    pos = 0;
    OK(MPI_Pack_external("external32", ld, 2, MPI_LONG_DOUBLE, buf, sizeof(buf), &pos));
    const unsigned char q15[16] = {0x3f, 0xff, 0x80};
    const unsigned char qm375[16] = {0xbf, 0xfd, 0x80};
    CHECK(pos == 32 && memcmp(buf, q15, 16) == 0 && memcmp(buf + 16, qm375, 16) == 0,
          "long double external32 bytes %02x %02x %02x", buf[0], buf[1], buf[2]);
    pos = 0;
    OK(MPI_Unpack_external("external32", buf, 32, &pos, ld2, 2, MPI_LONG_DOUBLE));
    CHECK(ld2[0] == 1.5L && ld2[1] == -0.375L, "long double round trip %Lg %Lg", ld2[0], ld2[1]);
}

static void test_x32_derived(void)
{
    /* struct {char c; double d; int i;} x 2: external 13 bytes each, no padding */
    struct s {
        char c;
        double d;
        int i;
    } in[2] = {{'a', 2.0, 7}, {'b', -1.0, 0x01020304}}, out[2];
    int bl[3] = {1, 1, 1};
    MPI_Aint disp[3] = {offsetof(struct s, c), offsetof(struct s, d), offsetof(struct s, i)};
    MPI_Datatype ty[3] = {MPI_CHAR, MPI_DOUBLE, MPI_INT}, st, vec;
    OK(MPI_Type_create_struct(3, bl, disp, ty, &st));
    OK(MPI_Type_commit(&st));
    MPI_Aint sz, pos = 0;
    OK(MPI_Pack_external_size("external32", 2, st, &sz));
    CHECK(sz == 26, "struct external size %ld", (long)sz);
    unsigned char buf[128];
    OK(MPI_Pack_external("external32", in, 2, st, buf, sizeof(buf), &pos));
    CHECK(pos == 26 && buf[0] == 'a' && buf[1] == 0x40 && buf[9] == 0 && buf[12] == 7 &&
              buf[13] == 'b' && buf[14] == 0xbf && buf[22] == 1 && buf[25] == 4,
          "struct external32 bytes");
    memset(out, 0, sizeof(out));
    pos = 0;
    OK(MPI_Unpack_external("external32", buf, sizeof(buf), &pos, out, 2, st));
    CHECK(pos == 26 && out[0].c == 'a' && out[0].d == 2.0 && out[0].i == 7 && out[1].c == 'b' &&
              out[1].d == -1.0 && out[1].i == 0x01020304,
          "struct round trip");
    /* vector of every other long: 3 longs of 4 external bytes */
    long l[6] = {1, -1, 2, -2, 3, -3}, l2[6] = {0};
    OK(MPI_Type_vector(3, 1, 2, MPI_LONG, &vec));
    OK(MPI_Type_commit(&vec));
    pos = 0;
    OK(MPI_Pack_external("external32", l, 1, vec, buf, sizeof(buf), &pos));
    CHECK(pos == 12 && buf[3] == 1 && buf[7] == 2 && buf[11] == 3, "vector of longs");
    pos = 0;
    OK(MPI_Unpack_external("external32", buf, 12, &pos, l2, 1, vec));
    CHECK(l2[0] == 1 && l2[1] == 0 && l2[2] == 2 && l2[4] == 3 && l2[5] == 0, "vector round trip");
    /* pair type: {double; int} is 16 bytes natively, 12 in external32 */
    struct {
        double v;
        int k;
    } p = {3.0, 9}, p2 = {0, 0};
    pos = 0;
    OK(MPI_Pack_external("external32", &p, 1, MPI_DOUBLE_INT, buf, sizeof(buf), &pos));
    CHECK(pos == 12 && buf[0] == 0x40 && buf[1] == 0x08 && buf[11] == 9, "MPI_DOUBLE_INT bytes");
    pos = 0;
    OK(MPI_Unpack_external("external32", buf, 12, &pos, &p2, 1, MPI_DOUBLE_INT));
    CHECK(p2.v == 3.0 && p2.k == 9, "MPI_DOUBLE_INT round trip");
    MPI_Type_free(&st);
    MPI_Type_free(&vec);
}

static void test_x32_errors(void)
{
    unsigned char buf[16];
    MPI_Aint pos = 0;
    long big = 1L << 40;
    int cls, rc = MPI_Pack_external("external32", &big, 1, MPI_LONG, buf, sizeof(buf), &pos);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_CONVERSION, "2^40 as external32 MPI_LONG gives class %d", cls);
    int ints[8] = {0};
    pos = 0;
    rc = MPI_Pack_external("external32", ints, 8, MPI_INT, buf, sizeof(buf), &pos);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_TRUNCATE && pos == 0, "32 bytes into 16 gives class %d", cls);
    rc = MPI_Pack_external("native", ints, 1, MPI_INT, buf, sizeof(buf), &pos);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_ARG, "datarep \"native\" gives class %d", cls);
}

/* MPI_Type_match_size: the predefined C type of a class and size. */
static void test_match_size(void)
{
    MPI_Datatype t;
    OK(MPI_Type_match_size(MPI_TYPECLASS_REAL, 8, &t));
    CHECK(t == MPI_DOUBLE, "REAL 8 is 0x%x", (unsigned)t);
    OK(MPI_Type_match_size(MPI_TYPECLASS_INTEGER, 2, &t));
    CHECK(t == MPI_INT16_T, "INTEGER 2 is 0x%x", (unsigned)t);
    OK(MPI_Type_match_size(MPI_TYPECLASS_COMPLEX, 16, &t));
    CHECK(t == MPI_C_DOUBLE_COMPLEX, "COMPLEX 16 is 0x%x", (unsigned)t);
    int cls, rc = MPI_Type_match_size(MPI_TYPECLASS_REAL, 3, &t);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_ARG, "REAL 3 gives class %d", cls);
}

/* C++'s types from C: names, sizes, external32 sizes. */
static void test_cxx_types(void)
{
    const MPI_Datatype t[4] = {MPI_CXX_BOOL, MPI_CXX_FLOAT_COMPLEX, MPI_CXX_DOUBLE_COMPLEX,
                               MPI_CXX_LONG_DOUBLE_COMPLEX};
    const char *names[4] = {"MPI_CXX_BOOL", "MPI_CXX_FLOAT_COMPLEX", "MPI_CXX_DOUBLE_COMPLEX",
                            "MPI_CXX_LONG_DOUBLE_COMPLEX"};
    const int sizes[4] = {1, 8, 16, 32};
    for (int i = 0; i < 4; i++) {
        char name[MPI_MAX_OBJECT_NAME];
        int len, sz;
        MPI_Aint xs;
        OK(MPI_Type_get_name(t[i], name, &len));
        OK(MPI_Type_size(t[i], &sz));
        OK(MPI_Pack_external_size("external32", 1, t[i], &xs));
        CHECK(strcmp(name, names[i]) == 0 && sz == sizes[i] && xs == sizes[i],
              "%s: name '%s' size %d external %ld", names[i], name, sz, (long)xs);
    }
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    test_darray();
    test_x32_basic();
    test_x32_derived();
    test_x32_errors();
    test_match_size();
    test_cxx_types();
    if (failures)
        fprintf(stderr, "dtype_ext: %d failures\n", failures);
    else
        printf("dtype_ext ok\n");
    MPI_Finalize();
    return failures ? 1 : 0;
}
