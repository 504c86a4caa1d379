/* Derived datatypes (MPI 4.1 chapter 5): every constructor's size, bounds,
 * true bounds, envelope and contents; names; addresses; Pack/Unpack round
 * trips; Get_count/Get_elements with partial items; and messages between
 * different layouts of the same type signature (vector -> contiguous,
 * struct -> other struct, subarray -> subarray, indexed -> hvector, packed ->
 * derived), small (eager) and large (> 1 MiB, rendezvous), expected and
 * unexpected, standard/synchronous/buffered, truncation, and a type freed
 * while its send is in flight.  A singleton sends to itself; with 2 or more
 * ranks ranks 0 and 1 exchange both ways.  Failures print "dtype FAIL" and
 * the rank exits 1.  Argument "big" adds a 64 MiB strided message. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rank, size, failures;

#define CHECK_PREFIX "dtype FAIL"
#define CHECK_RANK   rank
#include "check.h"

/* ---- constructors: size, bounds, envelope, contents --------------------- */

static void check_type(MPI_Datatype t, const char *what, int size_, MPI_Aint lb, MPI_Aint ext,
                       MPI_Aint tlb, MPI_Aint text)
{
    int sz = -1;
    MPI_Count szx = -1, lbx = -1, extx = -1;
    MPI_Aint l = -1, e = -1, tl = -1, te = -1;
    OK(MPI_Type_size(t, &sz));
    OK(MPI_Type_size_x(t, &szx));
    OK(MPI_Type_get_extent(t, &l, &e));
    OK(MPI_Type_get_extent_x(t, &lbx, &extx));
    OK(MPI_Type_get_true_extent(t, &tl, &te));
    CHECK(sz == size_ && szx == size_, "%s: size %d (x %lld), want %d", what, sz, (long long)szx,
          size_);
    CHECK(l == lb && e == ext && lbx == lb && extx == ext, "%s: lb %ld extent %ld, want %ld %ld",
          what, (long)l, (long)e, (long)lb, (long)ext);
    CHECK(tl == tlb && te == text, "%s: true lb %ld extent %ld, want %ld %ld", what, (long)tl,
          (long)te, (long)tlb, (long)text);
}

/* Envelope, then contents against the expected arrays; frees returned
 * derived handles. */
static void check_contents(MPI_Datatype t, const char *what, int comb, int ni, const int *ints,
                           int na, const MPI_Aint *aints, int nd, const MPI_Datatype *types)
{
    int gi, ga, gd, gc;
    OK(MPI_Type_get_envelope(t, &gi, &ga, &gd, &gc));
    CHECK(gi == ni && ga == na && gd == nd && gc == comb, "%s: envelope %d %d %d comb %d", what, gi,
          ga, gd, gc);
    if (gi != ni || ga != na || gd != nd)
        return;
    int I[64];
    MPI_Aint A[64];
    MPI_Datatype D[64];
    OK(MPI_Type_get_contents(t, 64, 64, 64, I, A, D));
    for (int i = 0; i < ni; i++)
        CHECK(I[i] == ints[i], "%s: ints[%d] = %d, want %d", what, i, I[i], ints[i]);
    for (int i = 0; i < na; i++)
        CHECK(A[i] == aints[i], "%s: aints[%d] = %ld, want %ld", what, i, (long)A[i],
              (long)aints[i]);
    for (int i = 0; i < nd; i++) {
        int ci, ca, cd, cc;
        MPI_Type_get_envelope(D[i], &ci, &ca, &cd, &cc);
        if (cc == MPI_COMBINER_NAMED) {
            CHECK(D[i] == types[i], "%s: types[%d] differs", what, i);
        } else { /* a new handle to an equivalent type */
            MPI_Count s1, s2;
            MPI_Type_size_x(D[i], &s1);
            MPI_Type_size_x(types[i], &s2);
            CHECK(s1 == s2, "%s: types[%d] size %lld, want %lld", what, i, (long long)s1,
                  (long long)s2);
            OK(MPI_Type_free(&D[i]));
        }
    }
}

static void test_constructors(void)
{
    MPI_Datatype t, v;
    /* contiguous */
    OK(MPI_Type_contiguous(3, MPI_INT, &t));
    check_type(t, "contiguous", 12, 0, 12, 0, 12);
    check_contents(t, "contiguous", MPI_COMBINER_CONTIGUOUS, 1, (int[]){3}, 0, NULL, 1,
                   (MPI_Datatype[]){MPI_INT});
    MPI_Type_free(&t);
    CHECK(t == MPI_DATATYPE_NULL, "Type_free leaves the handle");
    /* vector(3, 2, 4) of int: blocks at 0, 16, 32, each 8 bytes */
    OK(MPI_Type_vector(3, 2, 4, MPI_INT, &v));
    check_type(v, "vector", 24, 0, 40, 0, 40);
    check_contents(v, "vector", MPI_COMBINER_VECTOR, 3, (int[]){3, 2, 4}, 0, NULL, 1,
                   (MPI_Datatype[]){MPI_INT});
    /* negative stride */
    OK(MPI_Type_vector(2, 1, -3, MPI_INT, &t));
    check_type(t, "vector -stride", 8, -12, 16, -12, 16);
    MPI_Type_free(&t);
    /* hvector(3, 2, 20 bytes) */
    OK(MPI_Type_create_hvector(3, 2, 20, MPI_INT, &t));
    check_type(t, "hvector", 24, 0, 48, 0, 48);
    check_contents(t, "hvector", MPI_COMBINER_HVECTOR, 2, (int[]){3, 2}, 1, (MPI_Aint[]){20}, 1,
                   (MPI_Datatype[]){MPI_INT});
    MPI_Type_free(&t);
    /* indexed of doubles: [32,40) [0,16) [80,104) */
    OK(MPI_Type_indexed(3, (int[]){1, 2, 3}, (int[]){4, 0, 10}, MPI_DOUBLE, &t));
    check_type(t, "indexed", 48, 0, 104, 0, 104);
    check_contents(t, "indexed", MPI_COMBINER_INDEXED, 7, (int[]){3, 1, 2, 3, 4, 0, 10}, 0, NULL, 1,
                   (MPI_Datatype[]){MPI_DOUBLE});
    MPI_Type_free(&t);
    /* hindexed with a negative displacement: [8,16) [-16,-12) */
    OK(MPI_Type_create_hindexed(2, (int[]){2, 1}, (MPI_Aint[]){8, -16}, MPI_INT, &t));
    check_type(t, "hindexed", 12, -16, 32, -16, 32);
    check_contents(t, "hindexed", MPI_COMBINER_HINDEXED, 3, (int[]){2, 2, 1}, 2,
                   (MPI_Aint[]){8, -16}, 1, (MPI_Datatype[]){MPI_INT});
    MPI_Type_free(&t);
    /* indexed_block of shorts: [10,14) [0,4) [4,8) */
    OK(MPI_Type_create_indexed_block(3, 2, (int[]){5, 0, 2}, MPI_SHORT, &t));
    check_type(t, "indexed_block", 12, 0, 14, 0, 14);
    check_contents(t, "indexed_block", MPI_COMBINER_INDEXED_BLOCK, 5, (int[]){3, 2, 5, 0, 2}, 0,
                   NULL, 1, (MPI_Datatype[]){MPI_SHORT});
    MPI_Type_free(&t);
    /* hindexed_block of chars */
    OK(MPI_Type_create_hindexed_block(2, 3, (MPI_Aint[]){0, 100}, MPI_CHAR, &t));
    check_type(t, "hindexed_block", 6, 0, 103, 0, 103);
    check_contents(t, "hindexed_block", MPI_COMBINER_HINDEXED_BLOCK, 2, (int[]){2, 3}, 2,
                   (MPI_Aint[]){0, 100}, 1, (MPI_Datatype[]){MPI_CHAR});
    MPI_Type_free(&t);
    /* struct {int; double; char}: padded like C to 24 */
    struct s1 {
        int a;
        double d;
        char c;
    };
    MPI_Aint d3[3] = {offsetof(struct s1, a), offsetof(struct s1, d), offsetof(struct s1, c)};
    MPI_Datatype ty3[3] = {MPI_INT, MPI_DOUBLE, MPI_CHAR};
    OK(MPI_Type_create_struct(3, (int[]){1, 1, 1}, d3, ty3, &t));
    check_type(t, "struct", 13, 0, (MPI_Aint)sizeof(struct s1), 0, 17);
    check_contents(t, "struct", MPI_COMBINER_STRUCT, 4, (int[]){3, 1, 1, 1}, 3, d3, 3, ty3);
    MPI_Type_free(&t);
    /* struct containing the vector (a derived component) */
    OK(MPI_Type_create_struct(2, (int[]){1, 2}, (MPI_Aint[]){0, 64}, (MPI_Datatype[]){MPI_CHAR, v},
                              &t));
    check_type(t, "struct of vector", 49, 0, 144, 0, 144);
    check_contents(t, "struct of vector", MPI_COMBINER_STRUCT, 3, (int[]){2, 1, 2}, 2,
                   (MPI_Aint[]){0, 64}, 2, (MPI_Datatype[]){MPI_CHAR, v});
    MPI_Type_free(&t);
    /* resized */
    OK(MPI_Type_create_resized(MPI_INT, -4, 16, &t));
    check_type(t, "resized", 4, -4, 16, 0, 4);
    check_contents(t, "resized", MPI_COMBINER_RESIZED, 0, NULL, 2, (MPI_Aint[]){-4, 16}, 1,
                   (MPI_Datatype[]){MPI_INT});
    MPI_Type_free(&t);
    /* dup of a committed type is committed */
    OK(MPI_Type_commit(&v));
    OK(MPI_Type_dup(v, &t));
    check_type(t, "dup", 24, 0, 40, 0, 40);
    check_contents(t, "dup", MPI_COMBINER_DUP, 0, NULL, 0, NULL, 1, (MPI_Datatype[]){v});
    int buf[10] = {0}, pos = 0;
    char packed[64];
    CHECK(MPI_Pack(buf, 1, t, packed, sizeof(packed), &pos, MPI_COMM_WORLD) == MPI_SUCCESS,
          "a dup of a committed type cannot be used");
    MPI_Type_free(&t);
    /* subarray, C order: 4x6 ints, 2x3 at (1,2) */
    int sizes[2] = {4, 6}, subs[2] = {2, 3}, starts[2] = {1, 2};
    OK(MPI_Type_create_subarray(2, sizes, subs, starts, MPI_ORDER_C, MPI_INT, &t));
    check_type(t, "subarray C", 24, 0, 96, 32, 36);
    check_contents(t, "subarray C", MPI_COMBINER_SUBARRAY, 8,
                   (int[]){2, 4, 6, 2, 3, 1, 2, MPI_ORDER_C}, 0, NULL, 1,
                   (MPI_Datatype[]){MPI_INT});
    MPI_Type_free(&t);
    /* Fortran order: element (i,j) at i + 4j; first (1,2) = 9, last (2,4) = 18 */
    OK(MPI_Type_create_subarray(2, sizes, subs, starts, MPI_ORDER_FORTRAN, MPI_INT, &t));
    check_type(t, "subarray Fortran", 24, 0, 96, 36, 40);
    MPI_Type_free(&t);
    /* a component freed before its parent is used */
    MPI_Datatype c, p;
    OK(MPI_Type_contiguous(2, MPI_DOUBLE, &c));
    OK(MPI_Type_vector(2, 1, 2, c, &p));
    OK(MPI_Type_free(&c));
    OK(MPI_Type_commit(&p));
    check_type(p, "vector of freed", 32, 0, 48, 0, 48);
    MPI_Type_free(&p);
    MPI_Type_free(&v);
    /* errors */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
    int cls;
    MPI_Error_class(MPI_Type_contiguous(-1, MPI_INT, &t), &cls);
    CHECK(cls == MPI_ERR_COUNT, "negative count gives class %d", cls);
    MPI_Error_class(MPI_Type_contiguous(1, MPI_DATATYPE_NULL, &t), &cls);
    CHECK(cls == MPI_ERR_TYPE, "MPI_DATATYPE_NULL gives class %d", cls);
    MPI_Datatype basic = MPI_INT;
    MPI_Error_class(MPI_Type_free(&basic), &cls);
    CHECK(cls == MPI_ERR_TYPE, "freeing MPI_INT gives class %d", cls);
    OK(MPI_Type_contiguous(2, MPI_INT, &t)); /* not committed */
    MPI_Error_class(MPI_Send(buf, 1, t, 0, 0, MPI_COMM_SELF), &cls);
    CHECK(cls == MPI_ERR_TYPE, "sending an uncommitted type gives class %d", cls);
    MPI_Type_free(&t);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
}

static void test_names_addresses(void)
{
    char name[MPI_MAX_OBJECT_NAME];
    int len;
    OK(MPI_Type_get_name(MPI_CHAR, name, &len));
    CHECK(strcmp(name, "MPI_CHAR") == 0 && len == 8, "MPI_CHAR is named '%s'", name);
    OK(MPI_Type_get_name(MPI_DOUBLE, name, &len));
    CHECK(strcmp(name, "MPI_DOUBLE") == 0, "MPI_DOUBLE is named '%s'", name);
    MPI_Datatype t;
    MPI_Type_contiguous(2, MPI_INT, &t);
    OK(MPI_Type_get_name(t, name, &len));
    CHECK(len == 0 && name[0] == 0, "a new type is named '%s'", name);
    OK(MPI_Type_set_name(t, "pair of ints"));
    OK(MPI_Type_get_name(t, name, &len));
    CHECK(strcmp(name, "pair of ints") == 0 && len == 12, "set name reads back as '%s'", name);
    MPI_Type_free(&t);
    double a[4];
    MPI_Aint a0, a3;
    OK(MPI_Get_address(&a[0], &a0));
    OK(MPI_Get_address(&a[3], &a3));
    CHECK(MPI_Aint_diff(a3, a0) == 24, "Aint_diff %ld", (long)MPI_Aint_diff(a3, a0));
    CHECK(MPI_Aint_add(a0, 24) == a3, "Aint_add");
    int ni, na, nd, comb;
    OK(MPI_Type_get_envelope(MPI_INT, &ni, &na, &nd, &comb));
    CHECK(comb == MPI_COMBINER_NAMED && ni + na + nd == 0, "MPI_INT envelope");
}

/* Attributes on datatypes: MPI_Type_dup copies them through the keyval's
 * copy callback, MPI_Type_free deletes them. */
static int deleted;

static int count_delete(MPI_Datatype t, int kv, void *val, void *extra)
{
    (void)t, (void)kv, (void)val, (void)extra;
    deleted++;
    return MPI_SUCCESS;
}

static void test_attrs(void)
{
    int kv, flag = 0;
    static int value = 42;
    void *got = NULL;
    MPI_Datatype t, d;
    OK(MPI_Type_create_keyval(MPI_TYPE_DUP_FN, count_delete, &kv, NULL));
    MPI_Type_vector(2, 1, 2, MPI_INT, &t);
    OK(MPI_Type_set_attr(t, kv, &value));
    OK(MPI_Type_dup(t, &d));
    OK(MPI_Type_get_attr(d, kv, &got, &flag));
    CHECK(flag && got == &value, "Type_dup did not copy the attribute");
    deleted = 0;
    MPI_Type_free(&d);
    MPI_Type_free(&t);
    CHECK(deleted == 2, "Type_free deleted %d attributes, want 2", deleted);
    MPI_Type_free_keyval(&kv);
}

/* ---- pack/unpack and counts --------------------------------------------- */

static void test_pack(void)
{
    double src[12], dst[12], packed[16];
    for (int i = 0; i < 12; i++)
        src[i] = i + 0.5;
    MPI_Datatype v; /* 3 blocks of 2 with stride 4: 0,1, 4,5, 8,9 */
    MPI_Type_vector(3, 2, 4, MPI_DOUBLE, &v);
    MPI_Type_commit(&v);
    int psize;
    OK(MPI_Pack_size(1, v, MPI_COMM_WORLD, &psize));
    CHECK(psize == 48, "Pack_size %d", psize);
    int pos = 8; /* after a leading double */
    OK(MPI_Pack(src, 1, v, packed, sizeof(packed), &pos, MPI_COMM_WORLD));
    CHECK(pos == 56, "position after pack %d", pos);
    const double want[6] = {0.5, 1.5, 4.5, 5.5, 8.5, 9.5};
    CHECK(memcmp(packed + 1, want, sizeof(want)) == 0, "packed order");
    memset(dst, 0, sizeof(dst));
    pos = 8;
    OK(MPI_Unpack(packed, sizeof(packed), &pos, dst, 1, v, MPI_COMM_WORLD));
    CHECK(pos == 56, "position after unpack %d", pos);
    for (int i = 0; i < 12; i++)
        CHECK(dst[i] == ((i % 4) < 2 && i < 10 ? src[i] : 0), "unpacked [%d] = %g", i, dst[i]);
    /* indexed_block packs in displacement order, not address order */
    MPI_Datatype ib;
    MPI_Type_create_indexed_block(3, 1, (int[]){7, 2, 4}, MPI_DOUBLE, &ib);
    MPI_Type_commit(&ib);
    pos = 0;
    OK(MPI_Pack(src, 1, ib, packed, sizeof(packed), &pos, MPI_COMM_WORLD));
    CHECK(packed[0] == 7.5 && packed[1] == 2.5 && packed[2] == 4.5 && pos == 24,
          "indexed_block order %g %g %g", packed[0], packed[1], packed[2]);
    /* two items of a type with a hole and a lower bound shift */
    MPI_Datatype r;
    MPI_Type_create_resized(ib, 8, 96, &r);
    MPI_Type_commit(&r);
    double big[24];
    for (int i = 0; i < 24; i++)
        big[i] = i;
    pos = 0;
    OK(MPI_Pack(big, 2, r, packed, sizeof(packed), &pos, MPI_COMM_WORLD));
    CHECK(pos == 48 && packed[3] == 19 && packed[4] == 14 && packed[5] == 16,
          "resized items at extent 96: %g %g %g", packed[3], packed[4], packed[5]);
    /* overflow */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    pos = 100;
    int cls, rc = MPI_Pack(src, 1, v, packed, sizeof(packed), &pos, MPI_COMM_WORLD);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_TRUNCATE, "pack past outsize gives class %d", cls);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    MPI_Type_free(&r);
    MPI_Type_free(&ib);
    MPI_Type_free(&v);
}

/* Get_count / Get_elements with partial items, through a self message. */
static void test_counts(void)
{
    MPI_Datatype s; /* {2 ints, 1 double}: size 16, 3 elements */
    MPI_Type_create_struct(2, (int[]){2, 1}, (MPI_Aint[]){0, 8},
                           (MPI_Datatype[]){MPI_INT, MPI_DOUBLE}, &s);
    MPI_Type_commit(&s);
    char in[64] = {0}, out[64];
    MPI_Status st;
    int count, elems;
    MPI_Count ex;
    MPI_Sendrecv(in, 2, s, 0, 1, out, 3, s, 0, 1, MPI_COMM_SELF, &st);
    MPI_Get_count(&st, s, &count);
    MPI_Get_elements(&st, s, &elems);
    MPI_Get_elements_x(&st, s, &ex);
    CHECK(count == 2 && elems == 6 && ex == 6, "2 whole items: count %d elements %d", count, elems);
    MPI_Sendrecv(in, 8, MPI_BYTE, 0, 1, out, 3, s, 0, 1, MPI_COMM_SELF, &st);
    MPI_Get_count(&st, s, &count);
    MPI_Get_elements(&st, s, &elems);
    CHECK(count == MPI_UNDEFINED && elems == 2, "2 ints: count %d elements %d", count, elems);
    MPI_Sendrecv(in, 40, MPI_BYTE, 0, 1, out, 3, s, 0, 1, MPI_COMM_SELF, &st);
    MPI_Get_count(&st, s, &count);
    MPI_Get_elements(&st, s, &elems);
    CHECK(count == MPI_UNDEFINED && elems == 8, "2.5 items: count %d elements %d", count, elems);
    MPI_Type_free(&s);
}

/* ---- messages between layouts --------------------------------------------- */

/* One transfer: the sender's (buf, count, type) arrives in the receiver's
 * (buf, count, type).  Singleton: to itself.  Else rank 0 -> 1, then 1 -> 0.
 * `unexpected`: the receive is posted only after the message arrived
 * (the sender follows it with a token the receiver takes first). */
typedef struct xfer {
    const void *sbuf;
    int scount;
    MPI_Datatype stype;
    void *rbuf;
    int rcount;
    MPI_Datatype rtype;
} xfer_t;

/* A singleton's transfer to itself. */
static void xfer_self(const xfer_t *x, int sync, int unexpected, MPI_Status *st)
{
    MPI_Request rq, sq;
    if (!unexpected)
        MPI_Irecv(x->rbuf, x->rcount, x->rtype, 0, 7, MPI_COMM_WORLD, &rq);
    if (sync)
        MPI_Issend(x->sbuf, x->scount, x->stype, 0, 7, MPI_COMM_WORLD, &sq);
    else
        MPI_Isend(x->sbuf, x->scount, x->stype, 0, 7, MPI_COMM_WORLD, &sq);
    if (unexpected)
        MPI_Irecv(x->rbuf, x->rcount, x->rtype, 0, 7, MPI_COMM_WORLD, &rq);
    if (!sync) /* a synchronous send completes only once the receive is posted */
        MPI_Wait(&sq, MPI_STATUS_IGNORE);
    MPI_Wait(&rq, st);
    if (sync)
        MPI_Wait(&sq, MPI_STATUS_IGNORE);
}

/* Run x in both directions, calling check() on the receiving side each time. */
static void xfer_both(const xfer_t *x, int sync, int unexpected, void (*check)(void *arg),
                      void *arg, void (*reset)(void *arg))
{
    MPI_Status st;
    if (size == 1) {
        reset(arg);
        xfer_self(x, sync, unexpected, &st);
        check(arg);
        return;
    }
    if (rank > 1)
        return;
    for (int dir = 0; dir < 2; dir++) {
        int me_send = rank == dir, peer = 1 - rank, tok = 0;
        reset(arg);
        MPI_Request rq;
        if (me_send) {
            if (sync)
                MPI_Issend(x->sbuf, x->scount, x->stype, peer, 7, MPI_COMM_WORLD, &rq);
            else
                MPI_Isend(x->sbuf, x->scount, x->stype, peer, 7, MPI_COMM_WORLD, &rq);
            if (unexpected && !sync)
                MPI_Send(&tok, 1, MPI_INT, peer, 8, MPI_COMM_WORLD);
            MPI_Wait(&rq, MPI_STATUS_IGNORE);
        } else {
            if (unexpected && !sync)
                MPI_Recv(&tok, 1, MPI_INT, peer, 8, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Recv(x->rbuf, x->rcount, x->rtype, peer, 7, MPI_COMM_WORLD, &st);
            check(arg);
        }
        MPI_Sendrecv(&tok, 1, MPI_INT, peer, 9, &tok, 1, MPI_INT, peer, 9, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
    }
}

/* Vector of n doubles (stride 2) <-> n contiguous doubles. */
typedef struct vec_case {
    int n;
    double *strided, *contig;
    int to_contig; /* direction of the layouts */
    const char *what;
} vec_case_t;

static void vec_reset(void *arg)
{
    vec_case_t *c = arg;
    for (int i = 0; i < 2 * c->n; i++)
        c->strided[i] = c->to_contig ? i : -1;
    for (int i = 0; i < c->n; i++)
        c->contig[i] = c->to_contig ? -1 : 2 * i;
}

static void vec_check(void *arg)
{
    vec_case_t *c = arg;
    int bad = 0;
    for (int i = 0; i < c->n && !bad; i++) {
        if (c->to_contig)
            bad = c->contig[i] != 2 * i;
        else
            bad = c->strided[2 * i] != 2 * i || c->strided[2 * i + 1] != -1;
        CHECK(!bad, "%s n=%d: wrong value at item %d", c->what, c->n, i);
    }
}

static void test_vector_msgs(int n)
{
    vec_case_t c = {n, malloc(2 * n * sizeof(double)), malloc(n * sizeof(double)), 1, ""};
    MPI_Datatype v;
    MPI_Type_vector(n, 1, 2, MPI_DOUBLE, &v);
    MPI_Type_commit(&v);
    for (int mode = 0; mode < 3; mode++) {
        int sync = mode == 1, unexp = mode == 2;
        c.to_contig = 1;
        c.what = "vector -> contiguous";
        xfer_t x = {c.strided, 1, v, c.contig, n, MPI_DOUBLE};
        xfer_both(&x, sync, unexp, vec_check, &c, vec_reset);
        c.to_contig = 0;
        c.what = "contiguous -> vector";
        xfer_t y = {c.contig, n, MPI_DOUBLE, c.strided, 1, v};
        xfer_both(&y, sync, unexp, vec_check, &c, vec_reset);
    }
    MPI_Type_free(&v);
    free(c.strided);
    free(c.contig);
}

/* Big blocks: 4 blocks of 64 Ki doubles with gaps (2 MiB) -> the same data
 * as a vector of 2-double blocks: direct receives and bounce-buffered ones. */
typedef struct blk_case {
    double *a, *b;
    size_t na, nb;
} blk_case_t;

static void blk_reset(void *arg)
{
    blk_case_t *c = arg;
    for (size_t i = 0; i < c->na; i++)
        c->a[i] = (double)i;
    for (size_t i = 0; i < c->nb; i++)
        c->b[i] = -1;
}

/* Item k of the message: a[(k / B) * (B + G) + k % B], B = 65536, G = 1000;
 * received into b at (k / 2) * 3 + k % 2. */
static void blk_check(void *arg)
{
    blk_case_t *c = arg;
    const size_t B = 65536, G = 1000, n = 4 * B;
    for (size_t k = 0; k < n; k++) {
        double want = (double)((k / B) * (B + G) + k % B);
        if (c->b[(k / 2) * 3 + k % 2] != want) {
            CHECK(0, "big blocks: item %zu is %g, want %g", k, c->b[(k / 2) * 3 + k % 2], want);
            return;
        }
    }
    for (size_t k = 2; k < c->nb; k += 3)
        if (c->b[k] != -1) {
            CHECK(0, "big blocks: gap %zu written", k);
            return;
        }
}

static void test_big_blocks(void)
{
    const int B = 65536, G = 1000;
    blk_case_t c;
    c.na = 4 * (size_t)(B + G);
    c.nb = 4 * (size_t)B / 2 * 3;
    c.a = malloc(c.na * sizeof(double));
    c.b = malloc(c.nb * sizeof(double));
    MPI_Datatype sv, rv;
    MPI_Type_vector(4, B, B + G, MPI_DOUBLE, &sv);
    MPI_Type_vector(4 * B / 2, 2, 3, MPI_DOUBLE, &rv);
    MPI_Type_commit(&sv);
    MPI_Type_commit(&rv);
    xfer_t x = {c.a, 1, sv, c.b, 1, rv};
    xfer_both(&x, 0, 0, blk_check, &c, blk_reset);
    xfer_both(&x, 1, 0, blk_check, &c, blk_reset);
    MPI_Type_free(&sv);
    MPI_Type_free(&rv);
    free(c.a);
    free(c.b);
}

/* Array of struct {int; double} -> array of struct {double d; char pad; int i}
 * holding the same signature (int, double) at other places. */
struct sa {
    int i;
    double d;
};
struct sb {
    double d;
    char pad[4];
    int i;
};
typedef struct st_case {
    int n;
    struct sa *a;
    struct sb *b;
} st_case_t;

static void st_reset(void *arg)
{
    st_case_t *c = arg;
    for (int k = 0; k < c->n; k++) {
        c->a[k].i = k;
        c->a[k].d = k * 0.25;
        c->b[k].i = -1;
        c->b[k].d = -1;
        memset(c->b[k].pad, 0x5a, 4);
    }
}

static void st_check(void *arg)
{
    st_case_t *c = arg;
    for (int k = 0; k < c->n; k++)
        if (c->b[k].i != k || c->b[k].d != k * 0.25 || c->b[k].pad[0] != 0x5a) {
            CHECK(0, "struct n=%d: item %d is {%d, %g}", c->n, k, c->b[k].i, c->b[k].d);
            return;
        }
}

static void test_struct_msgs(int n)
{
    st_case_t c = {n, malloc(n * sizeof(struct sa)), malloc(n * sizeof(struct sb))};
    MPI_Datatype ta, tb, tb2;
    MPI_Type_create_struct(2, (int[]){1, 1},
                           (MPI_Aint[]){offsetof(struct sa, i), offsetof(struct sa, d)},
                           (MPI_Datatype[]){MPI_INT, MPI_DOUBLE}, &ta);
    MPI_Type_create_struct(2, (int[]){1, 1},
                           (MPI_Aint[]){offsetof(struct sb, i), offsetof(struct sb, d)},
                           (MPI_Datatype[]){MPI_INT, MPI_DOUBLE}, &tb2);
    MPI_Type_create_resized(tb2, 0, sizeof(struct sb), &tb);
    MPI_Type_free(&tb2);
    MPI_Type_commit(&ta);
    MPI_Type_commit(&tb);
    MPI_Aint lb, ext;
    MPI_Type_get_extent(ta, &lb, &ext);
    CHECK(ext == sizeof(struct sa), "struct extent %ld", (long)ext);
    xfer_t x = {c.a, n, ta, c.b, n, tb};
    xfer_both(&x, 0, 0, st_check, &c, st_reset);
    xfer_both(&x, 0, 1, st_check, &c, st_reset);
    xfer_both(&x, 1, 0, st_check, &c, st_reset);
    MPI_Type_free(&ta);
    MPI_Type_free(&tb);
    free(c.a);
    free(c.b);
}

/* A subarray of one array into a differently placed subarray of another. */
typedef struct sub_case {
    int n; /* side of the source array */
    int *src, *dst;
} sub_case_t;

static void sub_reset(void *arg)
{
    sub_case_t *c = arg;
    for (int i = 0; i < c->n * c->n; i++)
        c->src[i] = i;
    for (int i = 0; i < (c->n + 2) * (c->n + 3); i++)
        c->dst[i] = -1;
}

/* src: (n x n), block (n/2 x n/3) at (1, 2); dst: (n+2 x n+3) Fortran order
 * holding the transposed-in-memory placement at (0, 3). */
static void sub_check(void *arg)
{
    sub_case_t *c = arg;
    int n = c->n, r = n / 2, q = n / 3, rows = n + 2;
    int bad = 0;
    for (int i = 0; i < r && !bad; i++)
        for (int j = 0; j < q && !bad; j++) {
            int want = (1 + i) * n + (2 + j);
            /* Fortran order over dims (r-dim, q-dim): the packing order of
             * the C subarray is row-major (i, j); in Fortran order dim 0 is
             * fastest, so dims are given as (q, r) -> element (j, i). */
            int got = c->dst[(0 + j) + rows * (3 + i)];
            bad = got != want;
            CHECK(!bad, "subarray n=%d: (%d,%d) = %d, want %d", n, i, j, got, want);
        }
    int count = 0;
    for (int i = 0; i < (n + 2) * (n + 3); i++)
        count += c->dst[i] != -1;
    CHECK(count == r * q, "subarray n=%d: %d elements written, want %d", n, count, r * q);
}

static void test_subarray_msgs(int n)
{
    sub_case_t c = {n, malloc(n * n * sizeof(int)), malloc((n + 2) * (n + 3) * sizeof(int))};
    MPI_Datatype s, d;
    MPI_Type_create_subarray(2, (int[]){n, n}, (int[]){n / 2, n / 3}, (int[]){1, 2}, MPI_ORDER_C,
                             MPI_INT, &s);
    MPI_Type_create_subarray(2, (int[]){n + 2, n + 3}, (int[]){n / 3, n / 2}, (int[]){0, 3},
                             MPI_ORDER_FORTRAN, MPI_INT, &d);
    MPI_Type_commit(&s);
    MPI_Type_commit(&d);
    xfer_t x = {c.src, 1, s, c.dst, 1, d};
    xfer_both(&x, 0, 0, sub_check, &c, sub_reset);
    xfer_both(&x, 0, 1, sub_check, &c, sub_reset);
    MPI_Type_free(&s);
    MPI_Type_free(&d);
    free(c.src);
    free(c.dst);
}

/* Indexed (blocks of 3 ints at 10k) -> hvector of 3-int blocks. */
typedef struct ix_case {
    int nb;
    int *src, *dst;
} ix_case_t;

static void ix_reset(void *arg)
{
    ix_case_t *c = arg;
    for (int i = 0; i < 10 * c->nb; i++) {
        c->src[i] = i;
        c->dst[i] = -1;
    }
}

static void ix_check(void *arg)
{
    ix_case_t *c = arg;
    for (int k = 0; k < c->nb; k++) /* block k came from (nb-1-k)*10, now at k*5 */
        for (int j = 0; j < 3; j++)
            if (c->dst[k * 5 + j] != (c->nb - 1 - k) * 10 + j) {
                CHECK(0, "indexed nb=%d: block %d word %d is %d", c->nb, k, j, c->dst[k * 5 + j]);
                return;
            }
}

static void test_indexed_msgs(int nb)
{
    ix_case_t c = {nb, malloc(10 * nb * sizeof(int)), malloc(10 * nb * sizeof(int))};
    int *bl = malloc(nb * sizeof(int)), *dp = malloc(nb * sizeof(int));
    for (int k = 0; k < nb; k++) {
        bl[k] = 3;
        dp[k] = (nb - 1 - k) * 10; /* descending addresses */
    }
    MPI_Datatype s, d;
    MPI_Type_indexed(nb, bl, dp, MPI_INT, &s);
    MPI_Type_create_hvector(nb, 3, 5 * sizeof(int), MPI_INT, &d);
    MPI_Type_commit(&s);
    MPI_Type_commit(&d);
    xfer_t x = {c.src, 1, s, c.dst, 1, d};
    xfer_both(&x, 0, 0, ix_check, &c, ix_reset);
    MPI_Type_free(&s);
    MPI_Type_free(&d);
    free(bl);
    free(dp);
    free(c.src);
    free(c.dst);
}

/* Packed on one side, derived on the other; and Bsend of a derived type. */
typedef struct pk_case {
    int n;
    double *strided;
    char *packed;
    int psize;
} pk_case_t;

static void pk_reset(void *arg)
{
    pk_case_t *c = arg;
    for (int i = 0; i < 2 * c->n; i++)
        c->strided[i] = -1;
}

static void pk_check(void *arg)
{
    pk_case_t *c = arg;
    for (int i = 0; i < c->n; i++)
        if (c->strided[2 * i] != i * 3.0 || c->strided[2 * i + 1] != -1) {
            CHECK(0, "packed -> vector n=%d: item %d is %g", c->n, i, c->strided[2 * i]);
            return;
        }
}

static void test_packed_msgs(int n)
{
    pk_case_t c = {n, malloc(2 * n * sizeof(double)), NULL, 0};
    double *vals = malloc(n * sizeof(double));
    for (int i = 0; i < n; i++)
        vals[i] = i * 3.0;
    MPI_Pack_size(n, MPI_DOUBLE, MPI_COMM_WORLD, &c.psize);
    c.packed = malloc(c.psize);
    int pos = 0;
    MPI_Pack(vals, n, MPI_DOUBLE, c.packed, c.psize, &pos, MPI_COMM_WORLD);
    MPI_Datatype v;
    MPI_Type_vector(n, 1, 2, MPI_DOUBLE, &v);
    MPI_Type_commit(&v);
    xfer_t x = {c.packed, pos, MPI_PACKED, c.strided, 1, v};
    xfer_both(&x, 0, 0, pk_check, &c, pk_reset);
    /* Bsend of a derived type: packed into the attached buffer */
    if (n <= 4096) {
        int bsize = n * 8 + MPI_BSEND_OVERHEAD + 64;
        void *bb = malloc(bsize), *old;
        MPI_Buffer_attach(bb, bsize);
        double *s2 = malloc(2 * n * sizeof(double));
        for (int i = 0; i < n; i++)
            s2[2 * i] = i * 3.0, s2[2 * i + 1] = 99;
        if (size == 1) {
            pk_reset(&c);
            MPI_Bsend(s2, 1, v, 0, 11, MPI_COMM_WORLD);
            memset(s2, 0, 2 * n * sizeof(double)); /* buffered: ours again */
            MPI_Recv(c.strided, 1, v, 0, 11, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            pk_check(&c);
        } else if (rank == 0) {
            MPI_Bsend(s2, 1, v, 1, 11, MPI_COMM_WORLD);
        } else if (rank == 1) {
            pk_reset(&c);
            MPI_Recv(c.strided, 1, v, 0, 11, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            pk_check(&c);
        }
        MPI_Buffer_detach(&old, &bsize);
        free(bb);
        free(s2);
    }
    MPI_Type_free(&v);
    free(vals);
    free(c.packed);
    free(c.strided);
}

/* Truncation: 2n strided doubles into room for n: MPI_ERR_TRUNCATE, the
 * message is consumed (the next one arrives intact). */
static void test_truncate(int n)
{
    if (size > 1 && rank > 1)
        return;
    double *s = malloc(4 * n * sizeof(double)), *r = malloc(2 * n * sizeof(double));
    for (int i = 0; i < 4 * n; i++)
        s[i] = i;
    MPI_Datatype v2, v1;
    MPI_Type_vector(2 * n, 1, 2, MPI_DOUBLE, &v2);
    MPI_Type_vector(n, 1, 2, MPI_DOUBLE, &v1);
    MPI_Type_commit(&v2);
    MPI_Type_commit(&v1);
    int peer = size == 1 ? 0 : 1 - rank;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Request sq[2];
    if (size == 1 || rank == 0) {
        MPI_Isend(s, 1, v2, peer, 21, MPI_COMM_WORLD, &sq[0]);
        MPI_Isend(s + 1, 1, v1, peer, 22, MPI_COMM_WORLD, &sq[1]);
    }
    if (size == 1 || rank == 1) {
        MPI_Status st;
        for (int i = 0; i < 2 * n; i++)
            r[i] = -1;
        int rc = MPI_Recv(r, 1, v1, peer, 21, MPI_COMM_WORLD, &st), cls;
        MPI_Error_class(rc, &cls);
        CHECK(cls == MPI_ERR_TRUNCATE, "n=%d: truncation gives class %d", n, cls);
        int ok = 1;
        for (int i = 0; i < n; i++)
            ok &= r[2 * i] == 2 * i && r[2 * i + 1] == -1;
        CHECK(ok, "n=%d: the part that fits is wrong", n);
        rc = MPI_Recv(r, 1, v1, peer, 22, MPI_COMM_WORLD, &st);
        CHECK(rc == MPI_SUCCESS, "n=%d: the message after the truncated one failed", n);
        ok = 1;
        for (int i = 0; i < n; i++)
            ok &= r[2 * i] == 2 * i + 1;
        CHECK(ok, "n=%d: the message after the truncated one is wrong", n);
    }
    if (size == 1 || rank == 0)
        MPI_Waitall(2, sq, MPI_STATUSES_IGNORE);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    MPI_Type_free(&v2);
    MPI_Type_free(&v1);
    free(s);
    free(r);
}

/* Freed while in flight: the pending operations keep the type alive. */
static void test_free_in_flight(int n)
{
    if (size > 1 && rank > 1)
        return;
    double *s = malloc(2 * n * sizeof(double)), *r = malloc(2 * n * sizeof(double));
    for (int i = 0; i < 2 * n; i++) {
        s[i] = i;
        r[i] = -1;
    }
    MPI_Datatype v;
    MPI_Type_vector(n, 1, 2, MPI_DOUBLE, &v);
    MPI_Type_commit(&v);
    int peer = size == 1 ? 0 : 1 - rank;
    MPI_Request q[2];
    int nq = 0;
    if (size == 1 || rank == 1)
        MPI_Irecv(r, 1, v, peer, 31, MPI_COMM_WORLD, &q[nq++]);
    if (size == 1 || rank == 0)
        MPI_Isend(s, 1, v, peer, 31, MPI_COMM_WORLD, &q[nq++]);
    MPI_Type_free(&v);
    /* new types may reuse the handle slot meanwhile */
    MPI_Datatype junk;
    MPI_Type_contiguous(7, MPI_CHAR, &junk);
    MPI_Waitall(nq, q, MPI_STATUSES_IGNORE);
    MPI_Type_free(&junk);
    if (size == 1 || rank == 1) {
        int ok = 1;
        for (int i = 0; i < n; i++)
            ok &= r[2 * i] == 2 * i && r[2 * i + 1] == -1;
        CHECK(ok, "n=%d: a type freed in flight delivered wrong data", n);
    }
    free(s);
    free(r);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int big = argc > 1 && strcmp(argv[1], "big") == 0;
    test_constructors();
    test_names_addresses();
    test_attrs();
    test_pack();
    test_counts();
    const int sizes[] = {1, 100, 3000, 200000}; /* 200000 doubles: 1.6 MB, rendezvous */
    for (int i = 0; i < 4; i++) {
        test_vector_msgs(sizes[i]);
        test_struct_msgs(sizes[i]);
        test_packed_msgs(sizes[i]);
        test_truncate(sizes[i]);
        test_free_in_flight(sizes[i]);
    }
    test_subarray_msgs(12);
    test_subarray_msgs(600); /* 300x200 ints: 240 KB */
    test_indexed_msgs(10);
    test_indexed_msgs(100000); /* 1.2 MB */
    test_big_blocks();
    if (big)
        test_vector_msgs(4 << 20);
    if (failures)
        fprintf(stderr, "dtype: %d failures on rank %d\n", failures, rank);
    else if (rank == 0)
        printf("dtype ok (%d ranks)\n", size);
    MPI_Finalize();
    return failures ? 1 : 0;
}
