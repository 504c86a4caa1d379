/* The MINLOC/MAXLOC pair types (MPI_FLOAT_INT, MPI_DOUBLE_INT, MPI_LONG_INT,
 * MPI_2INT, MPI_SHORT_INT, MPI_LONG_DOUBLE_INT): size the data's (12 for
 * MPI_DOUBLE_INT), extent the C struct's (16), true extent, envelope
 * MPI_COMBINER_NAMED, no contents, not freeable, names, the same numbers as a
 * hand-built struct; Get_count/Get_elements (two elements per pair, partial
 * pairs); Pack/Pack_size; arrays of pairs through point-to-point (eager and
 * rendezvous) with the receiver's padding left alone; pairs inside derived
 * types (contiguous, struct, dup, resized); MINLOC/MAXLOC in Reduce_local,
 * Allreduce, Reduce and Scan, also on a derived type of pairs; a user
 * operation on MPI_DOUBLE_INT.  Any number of ranks (a singleton talks to
 * itself).  Failures print "dtype_pair FAIL" and the rank exits 1. */
#include <mpi.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rank, size, failures;

#define CHECK_PREFIX "dtype_pair FAIL"
#define CHECK_RANK   rank
#include "check.h"

typedef struct {
    float v;
    int i;
} fi_t;
typedef struct {
    double v;
    int i;
} di_t;
typedef struct {
    long v;
    int i;
} li_t;
typedef struct {
    int v;
    int i;
} ii_t;
typedef struct {
    short v;
    int i;
} si_t;
typedef struct {
    long double v;
    int i;
} ldi_t;

typedef struct pinfo {
    MPI_Datatype pair, value;
    const char *name;
    int vsize;          /* bytes of the value as MPI counts them */
    MPI_Aint ioff, ext; /* offset of the int; sizeof the C struct */
    MPI_Aint sext;      /* sizeof a struct {pair; char} */
} pinfo_t;

#define P(h, v, T, V)                                                        \
    {                                                                        \
        h, v, #h, (int)sizeof(V), offsetof(T, i), sizeof(T), sizeof(struct { \
            T a_;                                                            \
            char c_;                                                         \
        })                                                                   \
    }
static const pinfo_t pairs[] = {
    P(MPI_FLOAT_INT, MPI_FLOAT, fi_t, float),
    P(MPI_DOUBLE_INT, MPI_DOUBLE, di_t, double),
    P(MPI_LONG_INT, MPI_LONG, li_t, long),
    P(MPI_2INT, MPI_INT, ii_t, int),
    P(MPI_SHORT_INT, MPI_SHORT, si_t, short),
    P(MPI_LONG_DOUBLE_INT, MPI_LONG_DOUBLE, ldi_t, long double),
};
enum { NPAIRS = sizeof(pairs) / sizeof(pairs[0]) };

/* ---- value access, by the pair's C layout --------------------------------- */

static void put(const pinfo_t *p, void *at, long v, int idx)
{
    char *c = at;
    if (p->value == MPI_FLOAT)
        *(float *)c = (float)v;
    else if (p->value == MPI_DOUBLE)
        *(double *)c = (double)v;
    else if (p->value == MPI_LONG)
        *(long *)c = v;
    else if (p->value == MPI_INT)
        *(int *)c = (int)v;
    else if (p->value == MPI_SHORT)
        *(short *)c = (short)v;
    else
        *(long double *)c = (long double)v;
    memcpy(c + p->ioff, &idx, sizeof idx);
}

static long get_v(const pinfo_t *p, const void *at)
{
    const char *c = at;
    if (p->value == MPI_FLOAT)
        return (long)*(const float *)c;
    if (p->value == MPI_DOUBLE)
        return (long)*(const double *)c;
    if (p->value == MPI_LONG)
        return *(const long *)c;
    if (p->value == MPI_INT)
        return *(const int *)c;
    if (p->value == MPI_SHORT)
        return *(const short *)c;
    return (long)*(const long double *)c;
}

static int get_i(const pinfo_t *p, const void *at)
{
    int i;
    memcpy(&i, (const char *)at + p->ioff, sizeof i);
    return i;
}

/* The padding bytes of one pair: after the value, after the int. */
static int padding_is(const pinfo_t *p, const unsigned char *at, unsigned char fill)
{
    int vbytes = p->value == MPI_LONG_DOUBLE ? 16 : p->vsize; /* long double: 16 as MPI sends */
    for (MPI_Aint b = vbytes; b < p->ioff; b++)
        if (at[b] != fill)
            return 0;
    for (MPI_Aint b = p->ioff + 4; b < p->ext; b++)
        if (at[b] != fill)
            return 0;
    return 1;
}

/* ---- sizes, bounds, envelope, names ------------------------------------------- */

static void check_shape(const pinfo_t *p)
{
    int sz = -1, ni, na, nd, comb;
    MPI_Aint lb = -1, ext = -1, tlb = -1, text = -1;
    MPI_Count szx = -1;
    OK(MPI_Type_size(p->pair, &sz));
    OK(MPI_Type_size_x(p->pair, &szx));
    OK(MPI_Type_get_extent(p->pair, &lb, &ext));
    OK(MPI_Type_get_true_extent(p->pair, &tlb, &text));
    CHECK(sz == p->vsize + 4 && szx == sz, "%s: size %d, want %d", p->name, sz, p->vsize + 4);
    CHECK(lb == 0 && ext == p->ext, "%s: lb %ld extent %ld, want 0 %ld", p->name, (long)lb,
          (long)ext, (long)p->ext);
    CHECK(tlb == 0 && text == p->ioff + 4, "%s: true lb %ld extent %ld, want 0 %ld", p->name,
          (long)tlb, (long)text, (long)(p->ioff + 4));
    OK(MPI_Type_get_envelope(p->pair, &ni, &na, &nd, &comb));
    CHECK(comb == MPI_COMBINER_NAMED && ni == 0 && na == 0 && nd == 0,
          "%s: envelope %d %d %d combiner %d", p->name, ni, na, nd, comb);
    int ints[4];
    MPI_Aint aints[4];
    MPI_Datatype types[4];
    CHECK(MPI_Type_get_contents(p->pair, 4, 4, 4, ints, aints, types) != MPI_SUCCESS,
          "%s: MPI_Type_get_contents of a named type succeeded", p->name);
    MPI_Datatype d = p->pair;
    CHECK(MPI_Type_free(&d) != MPI_SUCCESS && d == p->pair, "%s: MPI_Type_free succeeded", p->name);
    OK(MPI_Type_commit(&d)); /* predefined types are committed: a no-op */
    char name[MPI_MAX_OBJECT_NAME];
    int len;
    OK(MPI_Type_get_name(p->pair, name, &len));
    CHECK(strcmp(name, p->name) == 0 && len == (int)strlen(p->name), "%s: name \"%s\"", p->name,
          name);
    /* The same as the struct a user would build. */
    int bl[2] = {1, 1};
    MPI_Aint disp[2] = {0, p->ioff};
    MPI_Datatype ty[2] = {p->value, MPI_INT}, st;
    OK(MPI_Type_create_struct(2, bl, disp, ty, &st));
    int ssz;
    MPI_Aint slb, sext;
    OK(MPI_Type_size(st, &ssz));
    OK(MPI_Type_get_extent(st, &slb, &sext));
    CHECK(ssz == sz && slb == lb && sext == ext, "%s: hand-built struct size %d extent %ld",
          p->name, ssz, (long)sext);
    OK(MPI_Type_free(&st));
    int psz;
    OK(MPI_Pack_size(3, p->pair, MPI_COMM_WORLD, &psz));
    CHECK(psz == 3 * sz, "%s: MPI_Pack_size of 3: %d", p->name, psz);
    MPI_Aint xsz;
    OK(MPI_Pack_external_size("external32", 2, p->pair, &xsz));
    int xv = p->value == MPI_LONG ? 4 : p->vsize; /* external32: long is 4 bytes */
    CHECK(xsz == 2 * (xv + 4), "%s: external32 size of 2: %ld", p->name, (long)xsz);
}

/* Derived types built on pairs: their bounds follow the pair's. */
static void check_derived(const pinfo_t *p)
{
    MPI_Datatype c, dup, s;
    int sz, ni, na, nd, comb;
    MPI_Aint lb, ext;
    OK(MPI_Type_contiguous(3, p->pair, &c));
    OK(MPI_Type_size(c, &sz));
    OK(MPI_Type_get_extent(c, &lb, &ext));
    CHECK(sz == 3 * (p->vsize + 4) && ext == 3 * p->ext, "%s x3: size %d extent %ld", p->name, sz,
          (long)ext);
    /* A struct {pair; char}: padded to the pair's alignment as C pads. */
    int bl[2] = {1, 1};
    MPI_Aint disp[2] = {0, p->ext};
    MPI_Datatype ty[2] = {p->pair, MPI_CHAR};
    OK(MPI_Type_create_struct(2, bl, disp, ty, &s));
    OK(MPI_Type_get_extent(s, &lb, &ext));
    CHECK(ext == p->sext, "%s: struct {pair; char} extent %ld, want %ld", p->name, (long)ext,
          (long)p->sext);
    OK(MPI_Type_get_envelope(s, &ni, &na, &nd, &comb));
    int ints[3];
    MPI_Aint aints[2];
    MPI_Datatype types[2];
    OK(MPI_Type_get_contents(s, 3, 2, 2, ints, aints, types));
    CHECK(types[0] == p->pair && types[1] == MPI_CHAR,
          "%s: get_contents gives the pair type back (0x%x)", p->name, (unsigned)types[0]);
    OK(MPI_Type_dup(p->pair, &dup));
    OK(MPI_Type_get_envelope(dup, &ni, &na, &nd, &comb));
    CHECK(comb == MPI_COMBINER_DUP && nd == 1, "%s: dup envelope", p->name);
    OK(MPI_Type_get_contents(dup, 0, 0, 1, NULL, NULL, types));
    CHECK(types[0] == p->pair, "%s: dup's contents", p->name);
    OK(MPI_Type_free(&dup));
    OK(MPI_Type_free(&s));
    OK(MPI_Type_free(&c));
}

/* ---- counts ---------------------------------------------------------------------- */

static void check_counts(void)
{
    /* MPICH's get_elements_pairtype: a struct of double,int,double,int sent,
     * two MPI_DOUBLE_INT received: four elements, two items. */
    di_t src[2] = {{1.5, 7}, {2.5, 8}}, dst[2];
    int bl[4] = {1, 1, 1, 1}, n;
    MPI_Aint disp[4] = {0, offsetof(di_t, i), sizeof(di_t), sizeof(di_t) + offsetof(di_t, i)};
    MPI_Datatype ty[4] = {MPI_DOUBLE, MPI_INT, MPI_DOUBLE, MPI_INT}, st, part;
    MPI_Status s;
    OK(MPI_Type_create_struct(4, bl, disp, ty, &st));
    OK(MPI_Type_commit(&st));
    OK(MPI_Sendrecv(src, 1, st, 0, 5, dst, 2, MPI_DOUBLE_INT, 0, 5, MPI_COMM_SELF, &s));
    OK(MPI_Get_elements(&s, MPI_DOUBLE_INT, &n));
    CHECK(n == 4, "elements of 2 MPI_DOUBLE_INT: %d", n);
    OK(MPI_Get_count(&s, MPI_DOUBLE_INT, &n));
    CHECK(n == 2, "count of 2 MPI_DOUBLE_INT: %d", n);
    CHECK(dst[0].v == 1.5 && dst[0].i == 7 && dst[1].v == 2.5 && dst[1].i == 8, "values");
    /* Three elements: one pair and a half. */
    OK(MPI_Type_create_struct(3, bl, disp, ty, &part));
    OK(MPI_Type_commit(&part));
    OK(MPI_Sendrecv(src, 1, part, 0, 6, dst, 2, MPI_DOUBLE_INT, 0, 6, MPI_COMM_SELF, &s));
    OK(MPI_Get_elements(&s, MPI_DOUBLE_INT, &n));
    CHECK(n == 3, "elements of 1.5 MPI_DOUBLE_INT: %d", n);
    OK(MPI_Get_count(&s, MPI_DOUBLE_INT, &n));
    CHECK(n == MPI_UNDEFINED, "count of 1.5 MPI_DOUBLE_INT: %d", n);
    MPI_Count nx;
    OK(MPI_Get_elements_x(&s, MPI_DOUBLE_INT, &nx));
    CHECK(nx == 3, "elements_x: %lld", (long long)nx);
    OK(MPI_Type_free(&part));
    OK(MPI_Type_free(&st));
}

/* Pack and unpack an array: the packed image is the data only. */
static void check_pack(const pinfo_t *p)
{
    enum { N = 5 };
    unsigned char in[N * 32], out[N * 32], packed[N * 32];
    memset(in, 0xab, sizeof in);
    memset(out, 0xcd, sizeof out);
    for (int k = 0; k < N; k++)
        put(p, in + k * p->ext, 10 + k, 100 + k);
    int pos = 0, sz = p->vsize + 4;
    OK(MPI_Pack(in, N, p->pair, packed, sizeof packed, &pos, MPI_COMM_WORLD));
    CHECK(pos == N * sz, "%s: packed %d bytes", p->name, pos);
    int i1;
    memcpy(&i1, packed + sz + p->vsize, 4);
    CHECK(i1 == 101, "%s: second packed index %d", p->name, i1);
    pos = 0;
    OK(MPI_Unpack(packed, N * sz, &pos, out, N, p->pair, MPI_COMM_WORLD));
    for (int k = 0; k < N; k++) {
        CHECK(get_v(p, out + k * p->ext) == 10 + k && get_i(p, out + k * p->ext) == 100 + k,
              "%s: unpacked item %d", p->name, k);
        CHECK(padding_is(p, out + k * p->ext, 0xcd), "%s: unpack wrote padding of item %d", p->name,
              k);
    }
}

/* ---- point-to-point --------------------------------------------------------------- */

/* n pairs from rank `from` to rank `to` (self when they are equal). */
static void check_p2p(const pinfo_t *p, int n, int from, int to)
{
    size_t bytes = (size_t)n * (size_t)p->ext;
    unsigned char *b = malloc(bytes);
    MPI_Status s;
    if (rank == from) {
        memset(b, 0x5a, bytes);
        for (int k = 0; k < n; k++)
            put(p, b + (size_t)k * p->ext, k % 1000, k);
    }
    if (from == to) {
        unsigned char *r = malloc(bytes);
        memset(r, 0xee, bytes);
        OK(MPI_Sendrecv(b, n, p->pair, rank, 1, r, n, p->pair, rank, 1, MPI_COMM_WORLD, &s));
        free(b);
        b = r;
    } else if (rank == from) {
        OK(MPI_Send(b, n, p->pair, to, 1, MPI_COMM_WORLD));
    } else if (rank == to) {
        memset(b, 0xee, bytes);
        OK(MPI_Recv(b, n, p->pair, from, 1, MPI_COMM_WORLD, &s));
    }
    if (rank == to) {
        int c, bad = 0;
        OK(MPI_Get_count(&s, p->pair, &c));
        CHECK(c == n, "%s: received count %d, want %d", p->name, c, n);
        for (int k = 0; k < n && bad < 3; k++) {
            unsigned char *at = b + (size_t)k * p->ext;
            if (get_v(p, at) != k % 1000 || get_i(p, at) != k || !padding_is(p, at, 0xee)) {
                CHECK(0, "%s: item %d of %d: %ld %d (or its padding was written)", p->name, k, n,
                      get_v(p, at), get_i(p, at));
                bad++;
            }
        }
    }
    free(b);
}

/* ---- MINLOC / MAXLOC ---------------------------------------------------------------- */

/* Rank r's value for item k: ties between ranks on purpose. */
static long val(int r, int k)
{
    return (long)((r * 7 + k * 3) % 5);
}

static void expect_loc(MPI_Op op, int nranks, int k, long *v, int *at)
{
    *v = val(0, k), *at = 0;
    for (int r = 1; r < nranks; r++) {
        long x = val(r, k);
        if (op == MPI_MAXLOC ? x > *v : x < *v)
            *v = x, *at = r;
    }
}

static void check_loc_result(const pinfo_t *p, MPI_Op op, const unsigned char *b, int n, int nranks,
                             const char *what)
{
    for (int k = 0; k < n; k++) {
        long v;
        int at;
        expect_loc(op, nranks, k, &v, &at);
        const unsigned char *x = b + (size_t)k * p->ext;
        CHECK(get_v(p, x) == v && get_i(p, x) == at && padding_is(p, x, 0x77),
              "%s %s %s item %d: %ld@%d, want %ld@%d", what, p->name,
              op == MPI_MAXLOC ? "MAXLOC" : "MINLOC", k, get_v(p, x), get_i(p, x), v, at);
    }
}

static void check_loc(const pinfo_t *p, MPI_Op op)
{
    enum { N = 7 };
    unsigned char in[N * 32], out[N * 32];
    memset(in, 0x11, sizeof in);
    for (int k = 0; k < N; k++)
        put(p, in + k * p->ext, val(rank, k), rank);
    memset(out, 0x77, sizeof out);
    for (int k = 0; k < N; k++)
        put(p, out + k * p->ext, 0, 0);
    OK(MPI_Allreduce(in, out, N, p->pair, op, MPI_COMM_WORLD));
    check_loc_result(p, op, out, N, size, "Allreduce");
    memset(out, 0x77, sizeof out);
    OK(MPI_Reduce(in, out, N, p->pair, op, size - 1, MPI_COMM_WORLD));
    if (rank == size - 1)
        check_loc_result(p, op, out, N, size, "Reduce");
    memset(out, 0x77, sizeof out);
    OK(MPI_Scan(in, out, N, p->pair, op, MPI_COMM_WORLD));
    check_loc_result(p, op, out, N, rank + 1, "Scan");
    /* Reduce_local: in holds rank 1's contribution, inout rank 0's. */
    unsigned char a[N * 32], b[N * 32];
    memset(a, 0x11, sizeof a);
    memset(b, 0x77, sizeof b);
    for (int k = 0; k < N; k++) {
        put(p, a + k * p->ext, val(1, k), 1);
        put(p, b + k * p->ext, val(0, k), 0);
    }
    OK(MPI_Reduce_local(a, b, N, p->pair, op));
    check_loc_result(p, op, b, N, 2, "Reduce_local");
}

/* MINLOC on a contiguous type of 2 MPI_2INT: the predefined operation
 * combines the pairs inside. */
static void check_loc_derived(void)
{
    ii_t in[4], out[4];
    MPI_Datatype two;
    OK(MPI_Type_contiguous(2, MPI_2INT, &two));
    OK(MPI_Type_commit(&two));
    for (int k = 0; k < 4; k++)
        in[k].v = (int)val(rank, k), in[k].i = rank;
    OK(MPI_Allreduce(in, out, 2, two, MPI_MINLOC, MPI_COMM_WORLD));
    for (int k = 0; k < 4; k++) {
        long v;
        int at;
        expect_loc(MPI_MINLOC, size, k, &v, &at);
        CHECK(out[k].v == v && out[k].i == at, "2 x MPI_2INT MINLOC item %d: %d@%d, want %ld@%d", k,
              out[k].v, out[k].i, v, at);
    }
    OK(MPI_Type_free(&two));
}

/* A user operation sees the pairs as the C struct (16-byte stride). */
static void sum_di(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    const di_t *a = in;
    di_t *b = inout;
    if (*dt != MPI_DOUBLE_INT)
        failures++;
    for (int k = 0; k < *len; k++)
        b[k].v += a[k].v, b[k].i += a[k].i;
}

static void check_user_op(void)
{
    MPI_Op op;
    di_t in[3], out[3];
    OK(MPI_Op_create(sum_di, 1, &op));
    for (int k = 0; k < 3; k++)
        in[k].v = rank + k, in[k].i = 1;
    OK(MPI_Allreduce(in, out, 3, MPI_DOUBLE_INT, op, MPI_COMM_WORLD));
    for (int k = 0; k < 3; k++)
        CHECK(out[k].v == size * (size - 1) / 2.0 + size * k && out[k].i == size,
              "user op item %d: %g %d", k, out[k].v, out[k].i);
    di_t a[2] = {{1, 1}, {2, 2}}, b[2] = {{10, 10}, {20, 20}};
    OK(MPI_Reduce_local(a, b, 2, MPI_DOUBLE_INT, op));
    CHECK(b[0].v == 11 && b[0].i == 11 && b[1].v == 22 && b[1].i == 22, "user Reduce_local");
    OK(MPI_Op_free(&op));
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
    for (int i = 0; i < NPAIRS; i++) {
        check_shape(&pairs[i]);
        check_derived(&pairs[i]);
        check_pack(&pairs[i]);
    }
    check_counts();
    int peer = size > 1 ? 1 : 0;
    for (int i = 0; i < NPAIRS; i++) {
        check_p2p(&pairs[i], 10, 0, peer);     /* eager */
        check_p2p(&pairs[i], 100000, peer, 0); /* rendezvous: 0.8-3.2 MB */
        check_loc(&pairs[i], MPI_MAXLOC);
        check_loc(&pairs[i], MPI_MINLOC);
    }
    check_loc_derived();
    check_user_op();
    int all;
    MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0 && all == 0)
        printf("dtype_pair: %d ranks OK\n", size);
    MPI_Finalize();
    return failures ? 1 : 0;
}
