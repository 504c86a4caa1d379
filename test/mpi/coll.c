/* Collectives and reductions, checked exactly against references computed
 * locally: every collective at several sizes (0, 1, small, > 64 KiB) and
 * every root, MPI_IN_PLACE variants, every predefined MPI_Op on every basic
 * type it applies to (Allreduce and Reduce), user operations commutative
 * and not (2x2 matrix products, which must come out in rank order), the
 * collective context kept apart from user point-to-point, Op_commutative,
 * Reduce_local and argument errors.  Runs at any number of processes. */
#include <complex.h>
#include <mpi.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rank, size, failures;
#define CHECK_PREFIX       "coll"
#define CHECK_RANK         rank
#define CHECK_MAX_FAILURES 20
#include "check.h"

static const int counts[] = {0, 1, 7, 1000, 20000}; /* ints: 20000 = 80 KB */
enum { NCOUNTS = sizeof(counts) / sizeof(counts[0]) };

/* The byte at offset i of rank r's block for peer/slot s. */
static unsigned char pat(int r, int s, size_t i)
{
    return (unsigned char)(r * 31 + s * 7 + i * 13 + 1);
}

static void fill(void *b, size_t n, int r, int s)
{
    for (size_t i = 0; i < n; i++)
        ((unsigned char *)b)[i] = pat(r, s, i);
}

static int same(const void *b, size_t n, int r, int s)
{
    for (size_t i = 0; i < n; i++)
        if (((const unsigned char *)b)[i] != pat(r, s, i))
            return 0;
    return 1;
}

static void test_bcast(MPI_Comm comm)
{
    size_t sizes[] = {0, 1, 100, 4096, 70000, 300001};
    for (int k = 0; k < 6; k++) {
        size_t n = sizes[k];
        char *b = malloc(n + 1);
        for (int root = 0; root < size; root++) {
            if (rank == root)
                fill(b, n, root, k);
            else
                memset(b, 0xee, n);
            OK(MPI_Bcast(b, (int)n, MPI_BYTE, root, comm));
            CHECK(same(b, n, root, k), "bcast %zu bytes from %d", n, root);
        }
        free(b);
    }
}

static void test_gather_scatter(MPI_Comm comm)
{
    for (int k = 0; k < NCOUNTS; k++) {
        int n = counts[k];
        size_t blk = (size_t)n * sizeof(int);
        int *s = malloc(blk + 4), *r = malloc(blk * size + 4);
        int *cnt = malloc(size * sizeof(int)), *dsp = malloc(size * sizeof(int));
        for (int root = 0; root < size; root++) {
            for (int inplace = 0; inplace < 2; inplace++) {
                /* Gather */
                fill(s, blk, rank, 1);
                memset(r, 0, blk * size);
                if (inplace && rank == root)
                    fill((char *)r + blk * rank, blk, rank, 1);
                OK(MPI_Gather(inplace && rank == root ? MPI_IN_PLACE : s, n, MPI_INT, r, n, MPI_INT,
                              root, comm));
                for (int i = 0; rank == root && i < size; i++)
                    CHECK(same((char *)r + blk * i, blk, i, 1), "gather n=%d root=%d from %d", n,
                          root, i);
                /* Scatter */
                if (rank == root)
                    for (int i = 0; i < size; i++)
                        fill((char *)r + blk * i, blk, root, i);
                memset(s, 0, blk);
                OK(MPI_Scatter(r, n, MPI_INT, inplace && rank == root ? MPI_IN_PLACE : s, n,
                               MPI_INT, root, comm));
                CHECK(inplace && rank == root ? same((char *)r + blk * rank, blk, root, rank)
                                              : same(s, blk, root, rank),
                      "scatter n=%d root=%d", n, root);
                /* Gatherv: rank i sends (n + i) % (n + 1) ints, reversed layout */
                size_t off = 0;
                for (int i = size - 1; i >= 0; i--) {
                    cnt[i] = n ? (n + i) % (n + 1) : 0;
                    dsp[i] = (int)off;
                    off += (size_t)cnt[i] + 1;
                }
                int *rv = malloc(off * sizeof(int) + 4);
                size_t mine = (size_t)cnt[rank] * sizeof(int);
                fill(s, mine, rank, 2);
                if (inplace && rank == root)
                    fill(rv + dsp[rank], mine, rank, 2);
                OK(MPI_Gatherv(inplace && rank == root ? MPI_IN_PLACE : s, cnt[rank], MPI_INT, rv,
                               cnt, dsp, MPI_INT, root, comm));
                for (int i = 0; rank == root && i < size; i++)
                    CHECK(same(rv + dsp[i], (size_t)cnt[i] * sizeof(int), i, 2),
                          "gatherv n=%d root=%d from %d", n, root, i);
                /* Scatterv */
                if (rank == root)
                    for (int i = 0; i < size; i++)
                        fill(rv + dsp[i], (size_t)cnt[i] * sizeof(int), root, i + 3);
                memset(s, 0, blk);
                OK(MPI_Scatterv(rv, cnt, dsp, MPI_INT, inplace && rank == root ? MPI_IN_PLACE : s,
                                cnt[rank], MPI_INT, root, comm));
                if (!(inplace && rank == root))
                    CHECK(same(s, mine, root, rank + 3), "scatterv n=%d root=%d", n, root);
                free(rv);
            }
        }
        free(s), free(r), free(cnt), free(dsp);
    }
}

static void test_allgather_alltoall(MPI_Comm comm)
{
    for (int k = 0; k < NCOUNTS; k++) {
        int n = counts[k];
        size_t blk = (size_t)n * sizeof(int);
        int *s = malloc(blk * size + 4), *r = malloc(blk * size + 4);
        int *cnt = malloc(size * sizeof(int)), *dsp = malloc(size * sizeof(int));
        for (int inplace = 0; inplace < 2; inplace++) {
            fill(s, blk, rank, 5);
            memset(r, 0, blk * size);
            if (inplace)
                fill((char *)r + blk * rank, blk, rank, 5);
            OK(MPI_Allgather(inplace ? MPI_IN_PLACE : s, n, MPI_INT, r, n, MPI_INT, comm));
            for (int i = 0; i < size; i++)
                CHECK(same((char *)r + blk * i, blk, i, 5), "allgather n=%d block %d", n, i);
            /* Allgatherv, irregular */
            size_t off = 0;
            for (int i = 0; i < size; i++) {
                cnt[i] = n ? (n * (i + 1)) / size : 0;
                dsp[i] = (int)off;
                off += (size_t)cnt[i] + 2;
            }
            int *rv = malloc(off * sizeof(int) + 4);
            fill(s, (size_t)cnt[rank] * sizeof(int), rank, 6);
            if (inplace)
                fill(rv + dsp[rank], (size_t)cnt[rank] * sizeof(int), rank, 6);
            OK(MPI_Allgatherv(inplace ? MPI_IN_PLACE : s, cnt[rank], MPI_INT, rv, cnt, dsp, MPI_INT,
                              comm));
            for (int i = 0; i < size; i++)
                CHECK(same(rv + dsp[i], (size_t)cnt[i] * sizeof(int), i, 6),
                      "allgatherv n=%d block %d", n, i);
            free(rv);
            /* Alltoall: block for peer j carries (rank, j) */
            int *src = inplace ? r : s;
            for (int j = 0; j < size; j++)
                fill((char *)src + blk * j, blk, rank, j);
            if (!inplace)
                memset(r, 0, blk * size);
            OK(MPI_Alltoall(inplace ? MPI_IN_PLACE : s, n, MPI_INT, r, n, MPI_INT, comm));
            for (int i = 0; i < size; i++)
                CHECK(same((char *)r + blk * i, blk, i, rank), "alltoall n=%d from %d", n, i);
        }
        free(s), free(r), free(cnt), free(dsp);
    }
    /* small blocks for Bruck's algorithm, 1..64 bytes */
    for (int n = 1; n <= 64; n *= 4) {
        char *s = malloc((size_t)n * size), *r = malloc((size_t)n * size);
        for (int j = 0; j < size; j++)
            fill(s + n * j, n, rank, j);
        OK(MPI_Alltoall(s, n, MPI_CHAR, r, n, MPI_CHAR, comm));
        for (int i = 0; i < size; i++)
            CHECK(same(r + n * i, n, i, rank), "alltoall %d bytes from %d", n, i);
        free(s), free(r);
    }
}

/* Alltoallv/w: rank r sends (r + j) % 5 * m ints to j. */
static void test_alltoallv(MPI_Comm comm)
{
    for (int m = 0; m <= 4000; m = m ? m * 20 : 1) {
        int *sc = malloc(size * sizeof(int)), *sd = malloc(size * sizeof(int));
        int *rc = malloc(size * sizeof(int)), *rd = malloc(size * sizeof(int));
        int *sw = malloc(size * sizeof(int)), *rw = malloc(size * sizeof(int));
        MPI_Datatype *st = malloc(size * sizeof(MPI_Datatype));
        size_t so = 0, ro = 0;
        for (int j = 0; j < size; j++) {
            sc[j] = (rank + j) % 5 * m, sd[j] = (int)so, so += (size_t)sc[j] + 1;
            rc[j] = (j + rank) % 5 * m, rd[j] = (int)ro, ro += (size_t)rc[j] + 3;
            sw[j] = sd[j] * (int)sizeof(int), rw[j] = rd[j] * (int)sizeof(int);
            st[j] = MPI_INT;
        }
        int *s = malloc(so * sizeof(int) + 4), *r = malloc(ro * sizeof(int) + 4);
        for (int w = 0; w < 3; w++) {
            for (int j = 0; j < size; j++)
                fill(s + sd[j], (size_t)sc[j] * sizeof(int), rank, j + w);
            memset(r, 0, ro * sizeof(int));
            if (w == 0)
                OK(MPI_Alltoallv(s, sc, sd, MPI_INT, r, rc, rd, MPI_INT, comm));
            else if (w == 1)
                OK(MPI_Alltoallw(s, sc, sw, st, r, rc, rw, st, comm));
            else { /* in place: symmetric counts, so the receive layout also sends */
                for (int j = 0; j < size; j++)
                    fill(r + rd[j], (size_t)rc[j] * sizeof(int), rank, j + w);
                OK(MPI_Alltoallv(MPI_IN_PLACE, NULL, NULL, MPI_INT, r, rc, rd, MPI_INT, comm));
            }
            for (int i = 0; i < size; i++)
                CHECK(same(r + rd[i], (size_t)rc[i] * sizeof(int), i, rank + w),
                      "alltoallv/w variant %d m=%d from %d", w, m, i);
        }
        free(s), free(r), free(sc), free(sd), free(rc), free(rd), free(sw), free(rw), free(st);
    }
}

/* ---- reductions: reference arithmetic in the test ---- */
typedef enum { K_SINT, K_UINT, K_FLT, K_CPX, K_BOOL, K_BYTE, K_PAIR } kind_t;
typedef struct {
    MPI_Datatype dt;
    const char *name;
    kind_t kind;
    int size;
} tinfo_t;

static const tinfo_t types[] = {
    {MPI_CHAR, "CHAR", K_SINT, 1},
    {MPI_SIGNED_CHAR, "SIGNED_CHAR", K_SINT, 1},
    {MPI_UNSIGNED_CHAR, "UNSIGNED_CHAR", K_UINT, 1},
    {MPI_SHORT, "SHORT", K_SINT, 2},
    {MPI_UNSIGNED_SHORT, "UNSIGNED_SHORT", K_UINT, 2},
    {MPI_INT, "INT", K_SINT, 4},
    {MPI_UNSIGNED, "UNSIGNED", K_UINT, 4},
    {MPI_LONG, "LONG", K_SINT, 8},
    {MPI_UNSIGNED_LONG, "UNSIGNED_LONG", K_UINT, 8},
    {MPI_LONG_LONG, "LONG_LONG", K_SINT, 8},
    {MPI_UNSIGNED_LONG_LONG, "UNSIGNED_LONG_LONG", K_UINT, 8},
    {MPI_INT8_T, "INT8_T", K_SINT, 1},
    {MPI_INT16_T, "INT16_T", K_SINT, 2},
    {MPI_INT32_T, "INT32_T", K_SINT, 4},
    {MPI_INT64_T, "INT64_T", K_SINT, 8},
    {MPI_UINT8_T, "UINT8_T", K_UINT, 1},
    {MPI_UINT16_T, "UINT16_T", K_UINT, 2},
    {MPI_UINT32_T, "UINT32_T", K_UINT, 4},
    {MPI_UINT64_T, "UINT64_T", K_UINT, 8},
    {MPI_AINT, "AINT", K_SINT, 8},
    {MPI_OFFSET, "OFFSET", K_SINT, 8},
    {MPI_COUNT, "COUNT", K_SINT, 8},
    {MPI_FLOAT, "FLOAT", K_FLT, 4},
    {MPI_DOUBLE, "DOUBLE", K_FLT, 8},
    {MPI_LONG_DOUBLE, "LONG_DOUBLE", K_FLT, 16},
    {MPI_C_FLOAT_COMPLEX, "C_FLOAT_COMPLEX", K_CPX, 8},
    {MPI_C_DOUBLE_COMPLEX, "C_DOUBLE_COMPLEX", K_CPX, 16},
    {MPI_C_LONG_DOUBLE_COMPLEX, "C_LONG_DOUBLE_COMPLEX", K_CPX, 32},
    {MPI_C_BOOL, "C_BOOL", K_BOOL, 1},
    {MPI_BYTE, "BYTE", K_BYTE, 1},
    {MPI_FLOAT_INT, "FLOAT_INT", K_PAIR, 8},
    {MPI_DOUBLE_INT, "DOUBLE_INT", K_PAIR, 16},
    {MPI_LONG_INT, "LONG_INT", K_PAIR, 16},
    {MPI_2INT, "2INT", K_PAIR, 8},
    {MPI_SHORT_INT, "SHORT_INT", K_PAIR, 8},
    {MPI_LONG_DOUBLE_INT, "LONG_DOUBLE_INT", K_PAIR, 32},
};
enum { NTYPES = sizeof(types) / sizeof(types[0]) };

static const struct {
    MPI_Op op;
    const char *name;
} ops[] = {{MPI_MAX, "MAX"},   {MPI_MIN, "MIN"},   {MPI_SUM, "SUM"},       {MPI_PROD, "PROD"},
           {MPI_LAND, "LAND"}, {MPI_BAND, "BAND"}, {MPI_LOR, "LOR"},       {MPI_BOR, "BOR"},
           {MPI_LXOR, "LXOR"}, {MPI_BXOR, "BXOR"}, {MPI_MAXLOC, "MAXLOC"}, {MPI_MINLOC, "MINLOC"}};
enum { NOPS = sizeof(ops) / sizeof(ops[0]) };

/* Does the standard define op on this kind of type? */
static int applies(MPI_Op op, kind_t k)
{
    int arith = op == MPI_MAX || op == MPI_MIN || op == MPI_SUM || op == MPI_PROD;
    int logic = op == MPI_LAND || op == MPI_LOR || op == MPI_LXOR;
    int bit = op == MPI_BAND || op == MPI_BOR || op == MPI_BXOR;
    switch (k) {
    case K_SINT:
    case K_UINT: return arith || logic || bit;
    case K_FLT: return arith;
    case K_CPX: return op == MPI_SUM || op == MPI_PROD;
    case K_BOOL: return logic;
    case K_BYTE: return bit;
    case K_PAIR: return op == MPI_MAXLOC || op == MPI_MINLOC;
    }
    return 0;
}

/* Small values that keep every op exact: rank r, element i. */
static long long val(MPI_Op op, int r, size_t i)
{
    if (op == MPI_PROD)
        return 1 + (long long)((r + i) % 2);
    if (op == MPI_LAND || op == MPI_LOR || op == MPI_LXOR)
        return (long long)((r * 3 + i) % 4 == 0 ? 0 : (r + i) % 3);
    if (op == MPI_MAXLOC || op == MPI_MINLOC)
        return (long long)((i + (size_t)r * 5) % 3);
    return (long long)((r * 7 + i * 3) % 19);
}

/* Store a value v (and for pairs the index idx) as element of type t. */
static void put(const tinfo_t *t, void *p, long long v, int idx, long long im)
{
    switch (t->dt) {
    case MPI_FLOAT: *(float *)p = (float)v; return;
    case MPI_DOUBLE: *(double *)p = (double)v; return;
    case MPI_LONG_DOUBLE: memset(p, 0, 16), *(long double *)p = (long double)v; return;
    case MPI_C_FLOAT_COMPLEX: *(float _Complex *)p = (float)v + (float)im * I; return;
    case MPI_C_DOUBLE_COMPLEX: *(double _Complex *)p = (double)v + (double)im * I; return;
    case MPI_C_LONG_DOUBLE_COMPLEX:
        memset(p, 0, 32), *(long double _Complex *)p = (long double)v + (long double)im * I;
        return;
    case MPI_C_BOOL: *(bool *)p = v != 0; return;
    default: break;
    }
    if (t->kind == K_PAIR) {
        memset(p, 0, (size_t)t->size);
        if (t->dt == MPI_FLOAT_INT) {
            struct {
                float v;
                int i;
            } x;
            memset(&x, 0, sizeof x); /* the padding too */
            x.v = (float)v, x.i = idx;
            memcpy(p, &x, sizeof x);
        } else if (t->dt == MPI_DOUBLE_INT) {
            struct {
                double v;
                int i;
            } x;
            memset(&x, 0, sizeof x); /* the padding too */
            x.v = (double)v, x.i = idx;
            memcpy(p, &x, sizeof x);
        } else if (t->dt == MPI_LONG_INT) {
            struct {
                long v;
                int i;
            } x;
            memset(&x, 0, sizeof x); /* the padding too */
            x.v = (long)v, x.i = idx;
            memcpy(p, &x, sizeof x);
        } else if (t->dt == MPI_2INT) {
            struct {
                int v;
                int i;
            } x;
            memset(&x, 0, sizeof x); /* the padding too */
            x.v = (int)v, x.i = idx;
            memcpy(p, &x, sizeof x);
        } else if (t->dt == MPI_SHORT_INT) {
            struct {
                short v;
                int i;
            } x;
            memset(&x, 0, sizeof x); /* the padding too */
            x.v = (short)v, x.i = idx;
            memcpy(p, &x, sizeof x);
        } else {
            struct {
                long double v;
                int i;
            } x;
            memset(&x, 0, sizeof x);
            x.v = (long double)v, x.i = idx;
            memcpy(p, &x, sizeof x);
        }
        return;
    }
    uint64_t u = (uint64_t)v; /* integers: little-endian truncation */
    memcpy(p, &u, (size_t)t->size);
}

/* Expected element i of the reduction of ranks 0..n-1. */
static void expect(const tinfo_t *t, MPI_Op op, int n, size_t i, void *out)
{
    if (t->kind == K_PAIR) {
        long long best = val(op, 0, i);
        int at = 0;
        for (int r = 1; r < n; r++) {
            long long v = val(op, r, i);
            if (op == MPI_MAXLOC ? v > best : v < best)
                best = v, at = r;
        }
        put(t, out, best, at, 0);
        return;
    }
    long long acc = val(op, 0, i), im = t->kind == K_CPX ? 1 : 0;
    for (int r = 1; r < n; r++) {
        long long v = val(op, r, i);
        if (op == MPI_MAX)
            acc = v > acc ? v : acc;
        else if (op == MPI_MIN)
            acc = v < acc ? v : acc;
        else if (op == MPI_SUM)
            acc += v, im += t->kind == K_CPX;
        else if (op == MPI_PROD) {
            if (t->kind == K_CPX) { /* (acc + im i)(v + 1 i) */
                long long re = acc * v - im, ii = acc + im * v;
                acc = re, im = ii;
            } else
                acc *= v;
        } else if (op == MPI_LAND)
            acc = acc && v;
        else if (op == MPI_LOR)
            acc = acc || v;
        else if (op == MPI_LXOR)
            acc = !acc != !v;
        else if (op == MPI_BAND)
            acc &= v;
        else if (op == MPI_BOR)
            acc |= v;
        else if (op == MPI_BXOR)
            acc ^= v;
    }
    put(t, out, acc, 0, im);
}

static void input(const tinfo_t *t, MPI_Op op, int r, void *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put(t, (char *)b + i * t->size, val(op, r, i), r, t->kind == K_CPX ? 1 : 0);
}

/* Compare element-wise on the meaningful bytes only (not the padding of
 * long double and of the pair structs). */
static int equal(const tinfo_t *t, const void *a, const void *b, size_t n)
{
    size_t vlen = (size_t)t->size, ioff = 0; /* value bytes; offset of a pair's int */
    switch (t->dt) {
    case MPI_LONG_DOUBLE: vlen = 10; break;
    case MPI_FLOAT_INT: vlen = 4, ioff = 4; break;
    case MPI_2INT: vlen = 4, ioff = 4; break;
    case MPI_SHORT_INT: vlen = 2, ioff = 4; break;
    case MPI_DOUBLE_INT: vlen = 8, ioff = 8; break;
    case MPI_LONG_INT: vlen = 8, ioff = 8; break;
    case MPI_LONG_DOUBLE_INT: vlen = 10, ioff = 16; break;
    default: break;
    }
    for (size_t i = 0; i < n; i++) {
        const char *x = (const char *)a + i * t->size, *y = (const char *)b + i * t->size;
        if (t->dt == MPI_C_LONG_DOUBLE_COMPLEX) {
            if (memcmp(x, y, 10) || memcmp(x + 16, y + 16, 10))
                return 0;
        } else if (memcmp(x, y, vlen)) {
            return 0;
        }
        if (ioff && memcmp(x + ioff, y + ioff, 4))
            return 0;
    }
    return 1;
}

static void test_ops(MPI_Comm comm)
{
    static const int rcounts[] = {0, 1, 7, 3000};
    int combos = 0;
    for (int ti = 0; ti < NTYPES; ti++) {
        const tinfo_t *t = &types[ti];
        for (int oi = 0; oi < NOPS; oi++) {
            MPI_Op op = ops[oi].op;
            if (!applies(op, t->kind))
                continue;
            combos++;
            for (int ci = 0; ci < 4; ci++) {
                size_t n = (size_t)rcounts[ci], bytes = n * (size_t)t->size;
                char *s = calloc(1, bytes + 32), *r = calloc(1, bytes + 32),
                     *e = calloc(1, bytes + 32);
                input(t, op, rank, s, n);
                for (size_t i = 0; i < n; i++)
                    expect(t, op, size, i, e + i * t->size);
                OK(MPI_Allreduce(s, r, (int)n, t->dt, op, comm));
                CHECK(equal(t, r, e, n), "allreduce %s %s n=%zu", ops[oi].name, t->name, n);
                memcpy(r, s, bytes);
                OK(MPI_Allreduce(MPI_IN_PLACE, r, (int)n, t->dt, op, comm));
                CHECK(equal(t, r, e, n), "allreduce in place %s %s n=%zu", ops[oi].name, t->name,
                      n);
                int root = (ti + oi + ci) % size;
                memcpy(r, s, bytes);
                OK(MPI_Reduce(rank == root ? MPI_IN_PLACE : s, rank == root ? r : NULL, (int)n,
                              t->dt, op, root, comm));
                if (rank == root)
                    CHECK(equal(t, r, e, n), "reduce %s %s n=%zu root %d", ops[oi].name, t->name, n,
                          root);
                /* Reduce_local: fold ranks 0..size-1 by hand */
                if (n > 0) {
                    char *acc = calloc(1, bytes + 32), *in = calloc(1, bytes + 32);
                    input(t, op, size - 1, acc, n);
                    for (int q = size - 2; q >= 0; q--) {
                        input(t, op, q, in, n);
                        OK(MPI_Reduce_local(in, acc, (int)n, t->dt, op));
                    }
                    CHECK(equal(t, acc, e, n), "reduce_local %s %s", ops[oi].name, t->name);
                    free(acc), free(in);
                }
                free(s), free(r), free(e);
            }
        }
    }
    CHECK(combos > 200, "only %d op/type combinations", combos);
}

/* 2x2 unsigned matrices (4 MPI_UNSIGNED per element): a non-commutative,
 * associative product; inout = in * inout. */
static void matmul(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    unsigned *a = in, *b = inout;
    (void)dt;
    for (int k = 0; k + 3 < *len; k += 4) {
        unsigned r0 = a[k] * b[k] + a[k + 1] * b[k + 2], r1 = a[k] * b[k + 1] + a[k + 1] * b[k + 3];
        unsigned r2 = a[k + 2] * b[k] + a[k + 3] * b[k + 2];
        unsigned r3 = a[k + 2] * b[k + 1] + a[k + 3] * b[k + 3];
        b[k] = r0, b[k + 1] = r1, b[k + 2] = r2, b[k + 3] = r3;
    }
}

static void mat_of(int r, size_t m, unsigned *x)
{
    x[0] = 1 + (unsigned)((r + m) % 3), x[1] = (unsigned)(r + 2 * m) % 4;
    x[2] = (unsigned)(r * m) % 5, x[3] = 1 + (unsigned)r % 2;
}

/* Product of ranks lo..hi-1 of matrix m (identity if empty). */
static void mat_ref(int lo, int hi, size_t m, unsigned *out)
{
    unsigned acc[4] = {1, 0, 0, 1}, x[4];
    int len = 4;
    for (int r = hi - 1; r >= lo; r--) { /* acc = x_r * acc */
        mat_of(r, m, x);
        matmul(x, acc, &len, NULL);
    }
    memcpy(out, acc, sizeof acc);
}

static void user_add(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    CHECK(*dt == MPI_INT, "user op got datatype 0x%x", (unsigned)*dt);
    for (int i = 0; i < *len; i++)
        ((int *)inout)[i] += ((int *)in)[i];
}

static void test_user_ops(MPI_Comm comm)
{
    MPI_Op mm, add;
    int commute;
    OK(MPI_Op_create(matmul, 0, &mm));
    OK(MPI_Op_create(user_add, 1, &add));
    OK(MPI_Op_commutative(mm, &commute));
    CHECK(commute == 0, "matmul commutative");
    OK(MPI_Op_commutative(add, &commute));
    CHECK(commute == 1, "add not commutative");
    OK(MPI_Op_commutative(MPI_SUM, &commute));
    CHECK(commute == 1, "MPI_SUM not commutative");
    static const size_t nmat[] = {0, 1, 5, 6000}; /* 6000 matrices = 96 KB */
    for (int k = 0; k < 4; k++) {
        size_t nm = nmat[k], n = nm * 4, bytes = n * sizeof(unsigned);
        unsigned *s = malloc(bytes + 16), *r = malloc(bytes * size + 16), *e = malloc(bytes + 16);
        for (size_t m = 0; m < nm; m++)
            mat_of(rank, m, s + 4 * m);
        /* Allreduce, Reduce at every root, Scan, Exscan */
        for (size_t m = 0; m < nm; m++)
            mat_ref(0, size, m, e + 4 * m);
        OK(MPI_Allreduce(s, r, (int)n, MPI_UNSIGNED, mm, comm));
        CHECK(!memcmp(r, e, bytes), "allreduce matmul %zu", nm);
        for (int root = 0; root < size; root++) {
            memset(r, 0, bytes);
            OK(MPI_Reduce(s, r, (int)n, MPI_UNSIGNED, mm, root, comm));
            CHECK(rank != root || !memcmp(r, e, bytes), "reduce matmul %zu root %d", nm, root);
        }
        for (size_t m = 0; m < nm; m++)
            mat_ref(0, rank + 1, m, e + 4 * m);
        memcpy(r, s, bytes);
        OK(MPI_Scan(MPI_IN_PLACE, r, (int)n, MPI_UNSIGNED, mm, comm));
        CHECK(!memcmp(r, e, bytes), "scan matmul %zu", nm);
        for (size_t m = 0; m < nm; m++)
            mat_ref(0, rank, m, e + 4 * m);
        OK(MPI_Exscan(s, r, (int)n, MPI_UNSIGNED, mm, comm));
        CHECK(rank == 0 || !memcmp(r, e, bytes), "exscan matmul %zu", nm);
        /* Reduce_scatter_block: everyone contributes size blocks of nm matrices */
        unsigned *sv = malloc(bytes * size + 16);
        for (int b = 0; b < size; b++)
            for (size_t m = 0; m < nm; m++)
                mat_of(rank, m + (size_t)b * nm, sv + 4 * (m + (size_t)b * nm));
        for (size_t m = 0; m < nm; m++)
            mat_ref(0, size, m + (size_t)rank * nm, e + 4 * m);
        OK(MPI_Reduce_scatter_block(sv, r, (int)n, MPI_UNSIGNED, mm, comm));
        CHECK(!memcmp(r, e, bytes), "reduce_scatter_block matmul %zu", nm);
        free(sv);
        free(s), free(r), free(e);
    }
    /* commutative user op against MPI_SUM, Scan/Exscan/Reduce_scatter with SUM */
    for (int k = 0; k < NCOUNTS; k++) {
        int n = counts[k];
        int *s = malloc(n * sizeof(int) * size + 4), *r = malloc(n * sizeof(int) * size + 4),
            *q = malloc(n * sizeof(int) * size + 4);
        for (int i = 0; i < n * size; i++)
            s[i] = rank * 1000 + i;
        OK(MPI_Allreduce(s, r, n, MPI_INT, add, comm));
        OK(MPI_Allreduce(s, q, n, MPI_INT, MPI_SUM, comm));
        CHECK(!memcmp(r, q, n * sizeof(int)), "user add vs MPI_SUM n=%d", n);
        for (int i = 0; i < n; i++)
            CHECK(q[i] == 1000 * size * (size - 1) / 2 + size * i, "allreduce sum n=%d i=%d", n, i);
        OK(MPI_Scan(s, r, n, MPI_INT, MPI_SUM, comm));
        for (int i = 0; i < n; i++)
            CHECK(r[i] == 1000 * rank * (rank + 1) / 2 + (rank + 1) * i, "scan sum n=%d", n);
        OK(MPI_Exscan(s, r, n, MPI_INT, add, comm));
        for (int i = 0; rank > 0 && i < n; i++)
            CHECK(r[i] == 1000 * rank * (rank - 1) / 2 + rank * i, "exscan add n=%d", n);
        /* Reduce_scatter with counts (i % 3) * n / 2 + 1 ... irregular, in place too */
        int *rc = malloc(size * sizeof(int)), tot = 0, off = 0;
        for (int i = 0; i < size; i++)
            rc[i] = n ? (i % 3) * n / 2 : 0, tot += rc[i];
        for (int i = 0; i < rank; i++)
            off += rc[i];
        for (int inplace = 0; inplace < 2; inplace++) {
            int *buf = inplace ? r : q;
            if (inplace)
                memcpy(r, s, tot * sizeof(int));
            OK(MPI_Reduce_scatter(inplace ? MPI_IN_PLACE : s, buf, rc, MPI_INT,
                                  inplace ? add : MPI_SUM, comm));
            for (int i = 0; i < rc[rank]; i++)
                CHECK(buf[i] == 1000 * size * (size - 1) / 2 + size * (off + i),
                      "reduce_scatter n=%d in place %d", n, inplace);
        }
        memcpy(r, s, (size_t)n * size * sizeof(int));
        OK(MPI_Reduce_scatter_block(MPI_IN_PLACE, r, n, MPI_INT, MPI_SUM, comm));
        for (int i = 0; i < n; i++)
            CHECK(r[i] == 1000 * size * (size - 1) / 2 + size * (rank * n + i),
                  "reduce_scatter_block in place n=%d", n);
        free(rc), free(s), free(r), free(q);
    }
    OK(MPI_Op_free(&mm));
    OK(MPI_Op_free(&add));
    CHECK(mm == MPI_OP_NULL, "Op_free did not reset the handle");
}

/* A user receive posted with wildcards must not see collective traffic. */
static void test_isolation(MPI_Comm comm)
{
    int got = -1, v = 0;
    MPI_Request req;
    OK(MPI_Irecv(&got, 1, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, comm, &req));
    int x = rank + 1, sum = 0;
    OK(MPI_Allreduce(&x, &sum, 1, MPI_INT, MPI_SUM, comm));
    OK(MPI_Bcast(&x, 1, MPI_INT, 0, comm));
    int flag = 0;
    OK(MPI_Test(&req, &flag, MPI_STATUS_IGNORE));
    CHECK(!flag, "a collective's message matched a user receive");
    v = 4242;
    OK(MPI_Send(&v, 1, MPI_INT, rank, 9, comm));
    OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
    CHECK(got == 4242, "user message lost (%d)", got);
    CHECK(sum == size * (size + 1) / 2, "allreduce sum %d", sum);
}

static void test_errors(void)
{
    int x = 1, y;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN); /* calls without a comm */
    int cls, rc = MPI_Allreduce(&x, &y, 1, MPI_BYTE, MPI_SUM, MPI_COMM_WORLD);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_OP, "SUM on MPI_BYTE gave %d", cls);
    rc = MPI_Allreduce(&x, &y, 1, MPI_INT, (MPI_Op)999, MPI_COMM_WORLD);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_OP, "bad op gave %d", cls);
    rc = MPI_Bcast(&x, -1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_COUNT, "negative count gave %d", cls);
    rc = MPI_Bcast(&x, 1, MPI_INT, size, MPI_COMM_WORLD);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_ROOT, "bad root gave %d", cls);
    rc = MPI_Reduce(&x, &y, 1, (MPI_Datatype)12345, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_TYPE, "bad type gave %d", cls);
    rc = MPI_Allgather(&x, 1, MPI_INT, NULL, 1, MPI_INT, MPI_COMM_WORLD);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_BUFFER, "NULL recvbuf gave %d", cls);
    MPI_Op op = MPI_SUM;
    rc = MPI_Op_free(&op);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_OP, "freeing MPI_SUM gave %d", cls);
    rc = MPI_Allreduce(&x, &y, 1, MPI_INT, MPI_SUM, (MPI_Comm)777);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_COMM, "bad comm gave %d", cls);
    rc = MPI_Reduce_local(&x, &y, 1, MPI_C_BOOL, MPI_SUM);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_OP, "SUM on C_BOOL gave %d", cls);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_ARE_FATAL);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm comms[2] = {MPI_COMM_WORLD, MPI_COMM_SELF};
    for (int c = 0; c < 2; c++) {
        MPI_Comm comm = comms[c];
        int wr = rank, ws = size;
        MPI_Comm_rank(comm, &rank);
        MPI_Comm_size(comm, &size);
        test_bcast(comm);
        test_gather_scatter(comm);
        test_allgather_alltoall(comm);
        test_alltoallv(comm);
        test_ops(comm);
        test_user_ops(comm);
        test_isolation(comm);
        rank = wr, size = ws;
    }
    test_errors();
    int all = 0;
    MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0)
        printf("coll %d processes: %s\n", size, all ? "FAILED" : "ok");
    MPI_Finalize();
    return all ? 1 : 0;
}
