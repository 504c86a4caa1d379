/* Nonblocking collectives and collectives on derived datatypes, every
 * result checked against a reference computed locally: each MPI_I* call
 * at several sizes and roots (in place too); many nonblocking collectives
 * outstanding at once on one communicator, completed in different orders
 * on different ranks (Waitall, Waitany, Testall, Test loops), interleaved
 * with blocking collectives and with user point-to-point that posts
 * MPI_ANY_SOURCE/MPI_ANY_TAG receives first; MPI_Request_free refused;
 * argument errors; derived datatypes (vector, resized, indexed,
 * contiguous) in blocking and nonblocking data movement and reductions,
 * predefined operations on types of one basic type and a user operation
 * on a strided type; MPI_Type_free while a collective using the type is in
 * flight.  Runs at any number of processes. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rank, size, failures;
#define CHECK_PREFIX       "nbc"
#define CHECK_RANK         rank
#define CHECK_MAX_FAILURES 20
#include "check.h"

static const int counts[] = {0, 1, 7, 1000, 20000}; /* ints: 20000 = 80 KB */
enum { NCOUNTS = sizeof(counts) / sizeof(counts[0]) };

/* Value i of rank r's contribution for slot s. */
static int val(int r, int s, int i)
{
    return r * 1000003 + s * 7919 + i * 13 + 1;
}

static int *ints(size_t n)
{
    int *p = malloc((n ? n : 1) * sizeof(int));
    if (!p)
        MPI_Abort(MPI_COMM_WORLD, 2);
    return p;
}

static void test_bcast_reduce(MPI_Comm comm)
{
    for (int k = 0; k < NCOUNTS; k++) {
        int n = counts[k];
        for (int root = 0; root < size; root++) {
            int *b = ints((size_t)n), *s = ints((size_t)n), *r = ints((size_t)n);
            MPI_Request q[2];
            for (int i = 0; i < n; i++)
                b[i] = rank == root ? val(root, 1, i) : -1, s[i] = val(rank, 2, i), r[i] = -1;
            OK(MPI_Ibcast(b, n, MPI_INT, root, comm, &q[0]));
            OK(MPI_Ireduce(s, r, n, MPI_INT, MPI_SUM, root, comm, &q[1]));
            OK(MPI_Waitall(2, q, MPI_STATUSES_IGNORE));
            CHECK(q[0] == MPI_REQUEST_NULL && q[1] == MPI_REQUEST_NULL, "requests not freed");
            for (int i = 0; i < n; i++) {
                CHECK(b[i] == val(root, 1, i), "ibcast n=%d root=%d [%d]=%d", n, root, i, b[i]);
                if (rank != root)
                    continue;
                int want = 0;
                for (int j = 0; j < size; j++)
                    want += val(j, 2, i);
                CHECK(r[i] == want, "ireduce n=%d root=%d [%d]=%d want %d", n, root, i, r[i], want);
            }
            free(b), free(s), free(r);
        }
    }
}

/* Allreduce, Scan, Exscan (in place and not), Reduce_scatter(_block). */
static void test_allreduce_scan(MPI_Comm comm)
{
    for (int k = 0; k < NCOUNTS; k++) {
        int n = counts[k];
        int *s = ints((size_t)n), *a = ints((size_t)n), *sc = ints((size_t)n),
            *ex = ints((size_t)n), *ip = ints((size_t)n);
        for (int i = 0; i < n; i++)
            s[i] = val(rank, 3, i), ip[i] = s[i], ex[i] = -7;
        MPI_Request q[4];
        OK(MPI_Iallreduce(s, a, n, MPI_INT, MPI_SUM, comm, &q[0]));
        OK(MPI_Iscan(s, sc, n, MPI_INT, MPI_SUM, comm, &q[1]));
        OK(MPI_Iexscan(s, ex, n, MPI_INT, MPI_SUM, comm, &q[2]));
        OK(MPI_Iallreduce(MPI_IN_PLACE, ip, n, MPI_INT, MPI_MAX, comm, &q[3]));
        int idx, done = 0;
        while (done < 4) { /* Waitany: completion in any order */
            OK(MPI_Waitany(4, q, &idx, MPI_STATUS_IGNORE));
            CHECK(idx >= 0 && idx < 4, "waitany index %d", idx);
            done++;
        }
        for (int i = 0; i < n; i++) {
            int all = 0, pre = 0, mx = val(size - 1, 3, i);
            for (int j = 0; j < size; j++)
                all += val(j, 3, i), pre += j < rank ? val(j, 3, i) : 0;
            CHECK(a[i] == all, "iallreduce n=%d [%d]=%d want %d", n, i, a[i], all);
            CHECK(sc[i] == pre + val(rank, 3, i), "iscan n=%d [%d]=%d", n, i, sc[i]);
            if (rank > 0)
                CHECK(ex[i] == pre, "iexscan n=%d [%d]=%d want %d", n, i, ex[i], pre);
            CHECK(ip[i] == mx, "in-place iallreduce max n=%d [%d]=%d", n, i, ip[i]);
        }
        free(s), free(a), free(sc), free(ex), free(ip);
    }
    /* Reduce_scatter: rank i gets i + 1 elements; block: n each. */
    int total = size * (size + 1) / 2, blk = 3;
    int *rc = ints((size_t)size), *s = ints((size_t)total), *r = ints((size_t)size + 1);
    int *sb = ints((size_t)(blk * size)), *rb = ints((size_t)blk);
    for (int i = 0; i < size; i++)
        rc[i] = i + 1;
    for (int i = 0; i < total; i++)
        s[i] = val(rank, 4, i);
    for (int i = 0; i < blk * size; i++)
        sb[i] = val(rank, 5, i);
    MPI_Request q[2];
    OK(MPI_Ireduce_scatter(s, r, rc, MPI_INT, MPI_SUM, comm, &q[0]));
    OK(MPI_Ireduce_scatter_block(sb, rb, blk, MPI_INT, MPI_SUM, comm, &q[1]));
    int flag = 0;
    while (!flag)
        OK(MPI_Testall(2, q, &flag, MPI_STATUSES_IGNORE));
    int off = rank * (rank + 1) / 2;
    for (int i = 0; i <= rank; i++) {
        int want = 0;
        for (int j = 0; j < size; j++)
            want += val(j, 4, off + i);
        CHECK(r[i] == want, "ireduce_scatter [%d]=%d want %d", i, r[i], want);
    }
    for (int i = 0; i < blk; i++) {
        int want = 0;
        for (int j = 0; j < size; j++)
            want += val(j, 5, rank * blk + i);
        CHECK(rb[i] == want, "ireduce_scatter_block [%d]=%d want %d", i, rb[i], want);
    }
    free(rc), free(s), free(r), free(sb), free(rb);
}

static void test_gather_family(MPI_Comm comm)
{
    for (int k = 0; k < NCOUNTS; k++) {
        int n = counts[k], p = size;
        int *s = ints((size_t)n), *g = ints((size_t)n * p), *sc = ints((size_t)n * p);
        int *r = ints((size_t)n), *ag = ints((size_t)n * p), *a2a = ints((size_t)n * p),
            *a2s = ints((size_t)n * p);
        for (int i = 0; i < n; i++)
            s[i] = val(rank, 6, i);
        for (int i = 0; i < n * p; i++)
            sc[i] = val(rank, 7, i), a2s[i] = val(rank, 8, i), g[i] = ag[i] = a2a[i] = -1;
        for (int root = 0; root < p; root++) {
            MPI_Request q[5];
            OK(MPI_Igather(s, n, MPI_INT, g, n, MPI_INT, root, comm, &q[0]));
            OK(MPI_Iscatter(sc, n, MPI_INT, r, n, MPI_INT, root, comm, &q[1]));
            OK(MPI_Iallgather(s, n, MPI_INT, ag, n, MPI_INT, comm, &q[2]));
            OK(MPI_Ialltoall(a2s, n, MPI_INT, a2a, n, MPI_INT, comm, &q[3]));
            OK(MPI_Ibarrier(comm, &q[4]));
            for (int i = 4; i >= 0; i--) /* reverse order on purpose */
                OK(MPI_Wait(&q[rank % 2 ? i : 4 - i], MPI_STATUS_IGNORE));
            for (int j = 0; j < p; j++)
                for (int i = 0; i < n; i++) {
                    if (rank == root)
                        CHECK(g[j * n + i] == val(j, 6, i), "igather n=%d root=%d", n, root);
                    CHECK(ag[j * n + i] == val(j, 6, i), "iallgather n=%d", n);
                    CHECK(a2a[j * n + i] == val(j, 8, rank * n + i), "ialltoall n=%d", n);
                }
            for (int i = 0; i < n; i++)
                CHECK(r[i] == val(root, 7, rank * n + i), "iscatter n=%d root=%d", n, root);
        }
        /* in place: allgather and alltoall */
        for (int i = 0; i < n; i++)
            ag[rank * n + i] = val(rank, 9, i);
        for (int i = 0; i < n * p; i++)
            a2a[i] = val(rank, 10, i);
        MPI_Request q[2];
        OK(MPI_Iallgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, ag, n, MPI_INT, comm, &q[0]));
        OK(MPI_Ialltoall(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, a2a, n, MPI_INT, comm, &q[1]));
        OK(MPI_Waitall(2, q, MPI_STATUSES_IGNORE));
        for (int j = 0; j < p; j++)
            for (int i = 0; i < n; i++) {
                CHECK(ag[j * n + i] == val(j, 9, i), "in-place iallgather n=%d", n);
                CHECK(a2a[j * n + i] == val(j, 10, rank * n + i), "in-place ialltoall n=%d", n);
            }
        free(s), free(g), free(sc), free(r), free(ag), free(a2a), free(a2s);
    }
}

/* The v and w variants: rank j sends j + 1 + i ints to rank i. */
static void test_vectors(MPI_Comm comm)
{
    int p = size, *sc = ints((size_t)p), *sd = ints((size_t)p), *rcn = ints((size_t)p),
        *rd = ints((size_t)p), st = 0, rt = 0;
    for (int i = 0; i < p; i++) {
        sc[i] = rank + 1 + i, sd[i] = st, st += sc[i] + 1; /* gaps of one */
        rcn[i] = i + 1 + rank, rd[i] = rt, rt += rcn[i] + 2;
    }
    int *s = ints((size_t)st), *r = ints((size_t)rt), *rw = ints((size_t)rt);
    for (int i = 0; i < p; i++)
        for (int k = 0; k < sc[i]; k++)
            s[sd[i] + k] = val(rank, 11, i * 100 + k);
    for (int i = 0; i < rt; i++)
        r[i] = rw[i] = -3;
    MPI_Datatype *ty = malloc((size_t)p * sizeof(*ty));
    int *sdb = ints((size_t)p), *rdb = ints((size_t)p);
    for (int i = 0; i < p; i++)
        ty[i] = MPI_INT, sdb[i] = sd[i] * 4, rdb[i] = rd[i] * 4;
    MPI_Request q[2];
    OK(MPI_Ialltoallv(s, sc, sd, MPI_INT, r, rcn, rd, MPI_INT, comm, &q[0]));
    OK(MPI_Ialltoallw(s, sc, sdb, ty, rw, rcn, rdb, ty, comm, &q[1]));
    OK(MPI_Waitall(2, q, MPI_STATUSES_IGNORE));
    for (int j = 0; j < p; j++) {
        for (int k = 0; k < rcn[j]; k++) {
            CHECK(r[rd[j] + k] == val(j, 11, rank * 100 + k), "ialltoallv from %d [%d]", j, k);
            CHECK(rw[rd[j] + k] == val(j, 11, rank * 100 + k), "ialltoallw from %d [%d]", j, k);
        }
        CHECK(r[rd[j] + rcn[j]] == -3, "ialltoallv wrote into a gap");
    }
    /* Gatherv/Scatterv/Allgatherv: rank j contributes j + 1 ints. */
    int mine = rank + 1, *gc = ints((size_t)p), *gd = ints((size_t)p), gt = 0;
    for (int i = 0; i < p; i++)
        gc[i] = i + 1, gd[i] = gt, gt += i + 2;
    int *mv = ints((size_t)mine), *g = ints((size_t)gt), *ag = ints((size_t)gt),
        *sv = ints((size_t)gt), *rv = ints((size_t)mine);
    for (int i = 0; i < mine; i++)
        mv[i] = val(rank, 12, i);
    for (int root = 0; root < p; root++) {
        for (int i = 0; i < gt; i++)
            g[i] = ag[i] = -5, sv[i] = val(root, 13, i);
        MPI_Request v[3];
        OK(MPI_Igatherv(mv, mine, MPI_INT, g, gc, gd, MPI_INT, root, comm, &v[0]));
        OK(MPI_Iscatterv(sv, gc, gd, MPI_INT, rv, mine, MPI_INT, root, comm, &v[1]));
        OK(MPI_Iallgatherv(mv, mine, MPI_INT, ag, gc, gd, MPI_INT, comm, &v[2]));
        OK(MPI_Waitall(3, v, MPI_STATUSES_IGNORE));
        for (int j = 0; j < p; j++)
            for (int k = 0; k < gc[j]; k++) {
                if (rank == root)
                    CHECK(g[gd[j] + k] == val(j, 12, k), "igatherv root %d from %d", root, j);
                CHECK(ag[gd[j] + k] == val(j, 12, k), "iallgatherv from %d", j);
            }
        for (int k = 0; k < mine; k++)
            CHECK(rv[k] == val(root, 13, gd[rank] + k), "iscatterv root %d [%d]", root, k);
    }
    free(sc), free(sd), free(rcn), free(rd), free(s), free(r), free(rw), free(ty), free(sdb),
        free(rdb), free(gc), free(gd), free(mv), free(g), free(ag), free(sv), free(rv);
}

/* Many outstanding at once, mixed with blocking collectives and user
 * point-to-point (wildcard receives posted first must get user messages). */
static void test_outstanding(MPI_Comm comm)
{
    enum { K = 12 };
    MPI_Request q[K];
    int in[K], out[K], bc[K];
    int user = -1, sent = 4242 + rank;
    MPI_Request ur, us;
    OK(MPI_Irecv(&user, 1, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, comm, &ur));
    for (int k = 0; k < K; k++) {
        in[k] = rank + k, bc[k] = rank == k % size ? 100 + k : -1;
        if (k % 2)
            OK(MPI_Iallreduce(&in[k], &out[k], 1, MPI_INT, MPI_SUM, comm, &q[k]));
        else
            OK(MPI_Ibcast(&bc[k], 1, MPI_INT, k % size, comm, &q[k]));
    }
    int x = rank, sum = 0;
    OK(MPI_Allreduce(&x, &sum, 1, MPI_INT, MPI_SUM, comm)); /* blocking, in between */
    CHECK(sum == size * (size - 1) / 2, "blocking allreduce amid nonblocking ones: %d", sum);
    OK(MPI_Barrier(comm));
    OK(MPI_Isend(&sent, 1, MPI_INT, (rank + 1) % size, 77, comm, &us));
    if (rank % 2) { /* odd ranks complete back to front, one by one with Test */
        for (int k = K - 1; k >= 0; k--) {
            int flag = 0;
            while (!flag)
                OK(MPI_Test(&q[k], &flag, MPI_STATUS_IGNORE));
        }
    } else {
        OK(MPI_Waitall(K, q, MPI_STATUSES_IGNORE));
    }
    MPI_Status st;
    OK(MPI_Wait(&ur, &st));
    OK(MPI_Wait(&us, MPI_STATUS_IGNORE));
    int from = (rank - 1 + size) % size;
    CHECK(user == 4242 + from && st.MPI_TAG == 77 && st.MPI_SOURCE == from,
          "wildcard receive got %d tag %d from %d", user, st.MPI_TAG, st.MPI_SOURCE);
    for (int k = 0; k < K; k++) {
        if (k % 2) {
            int want = size * (size - 1) / 2 + size * k;
            CHECK(out[k] == want, "outstanding iallreduce %d: %d want %d", k, out[k], want);
        } else {
            CHECK(bc[k] == 100 + k, "outstanding ibcast %d: %d", k, bc[k]);
        }
    }
    /* a nonblocking barrier overlapped with computation, polled */
    MPI_Request b;
    int flag = 0, polls = 0;
    OK(MPI_Ibarrier(comm, &b));
    while (!flag) {
        OK(MPI_Test(&b, &flag, MPI_STATUS_IGNORE));
        polls++;
    }
    CHECK(b == MPI_REQUEST_NULL && polls > 0, "ibarrier");
}

static int mat_mul_calls;
/* 2x2 integer matrices mod 1000003, row-major: inout = in * inout. */
static void mat_mul(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    (void)dt;
    long *a = in, *b = inout;
    for (int k = 0; k < *len; k++, a += 4, b += 4) {
        long c[4] = {(a[0] * b[0] + a[1] * b[2]) % 1000003, (a[0] * b[1] + a[1] * b[3]) % 1000003,
                     (a[2] * b[0] + a[3] * b[2]) % 1000003, (a[2] * b[1] + a[3] * b[3]) % 1000003};
        memcpy(b, c, sizeof(c));
    }
    mat_mul_calls++;
}

static void mat_of(int r, int i, long m[4])
{
    m[0] = r + 2, m[1] = i % 5 + 1, m[2] = r * 3 + i % 7, m[3] = 1;
}

static void test_noncommutative(MPI_Comm comm)
{
    MPI_Op op;
    OK(MPI_Op_create(mat_mul, 0, &op));
    enum { N = 3 };
    long s[N * 4], r[N * 4], sc[N * 4];
    for (int i = 0; i < N; i++)
        mat_of(rank, i, &s[i * 4]);
    for (int root = 0; root < size; root++) {
        MPI_Request q[3];
        long ar[N * 4];
        MPI_Datatype m4;
        OK(MPI_Type_contiguous(4, MPI_LONG, &m4));
        OK(MPI_Type_commit(&m4));
        OK(MPI_Ireduce(s, r, N, m4, op, root, comm, &q[0]));
        OK(MPI_Iallreduce(s, ar, N, m4, op, comm, &q[1]));
        OK(MPI_Iscan(s, sc, N, m4, op, comm, &q[2]));
        OK(MPI_Type_free(&m4)); /* in flight: must still work */
        OK(MPI_Waitall(3, q, MPI_STATUSES_IGNORE));
        for (int i = 0; i < N; i++) {
            long acc[4], m[4];
            mat_of(0, i, acc);
            if (rank == 0)
                for (int e = 0; e < 4; e++)
                    CHECK(sc[i * 4 + e] == acc[e], "iscan matrix %d elem %d at rank 0", i, e);
            for (int j = 1; j < size; j++) { /* acc = acc * m_j (rank order) */
                mat_of(j, i, m);
                long c[4] = {(acc[0] * m[0] + acc[1] * m[2]) % 1000003,
                             (acc[0] * m[1] + acc[1] * m[3]) % 1000003,
                             (acc[2] * m[0] + acc[3] * m[2]) % 1000003,
                             (acc[2] * m[1] + acc[3] * m[3]) % 1000003};
                memcpy(acc, c, sizeof(c));
                if (j == rank)
                    for (int e = 0; e < 4; e++)
                        CHECK(sc[i * 4 + e] == acc[e], "iscan matrix %d elem %d", i, e);
            }
            for (int e = 0; e < 4; e++) {
                if (rank == root)
                    CHECK(r[i * 4 + e] == acc[e], "ireduce matrix root %d [%d][%d]", root, i, e);
                CHECK(ar[i * 4 + e] == acc[e], "iallreduce matrix [%d][%d]", i, e);
            }
        }
    }
    OK(MPI_Op_free(&op));
}

/* User op on a strided type: sums the used ints, never touches the gaps. */
static void strided_sum(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    (void)dt;
    int *a = in, *b = inout;
    for (int k = 0; k < *len; k++) /* type: 3 blocks of 1 int, stride 2, extent 6 ints */
        for (int e = 0; e < 3; e++)
            b[k * 6 + e * 2] += a[k * 6 + e * 2];
}

static void test_derived(MPI_Comm comm)
{
    enum { N = 50 };
    MPI_Datatype vec, vec6, pair, idx;
    OK(MPI_Type_vector(3, 1, 2, MPI_INT, &vec)); /* ints 0, 2, 4 of each 5 */
    OK(MPI_Type_create_resized(vec, 0, 6 * sizeof(int), &vec6));
    OK(MPI_Type_contiguous(2, MPI_INT, &pair));
    int bl[2] = {2, 1}, dp[2] = {0, 4};
    OK(MPI_Type_indexed(2, bl, dp, MPI_INT, &idx)); /* ints 0, 1, 4 */
    OK(MPI_Type_commit(&vec6));
    OK(MPI_Type_commit(&pair));
    OK(MPI_Type_commit(&idx));
    OK(MPI_Type_free(&vec));
    int *b = ints(6 * N), *all = ints((size_t)6 * N * size), *s = ints(6 * N);
    for (int nb = 0; nb < 2; nb++) {
        int root = size - 1;
        /* Bcast of a strided type: gaps untouched */
        for (int i = 0; i < 6 * N; i++)
            b[i] = rank == root ? val(root, 20, i) : -9;
        MPI_Request q;
        if (nb) {
            OK(MPI_Ibcast(b, N, vec6, root, comm, &q));
            OK(MPI_Wait(&q, MPI_STATUS_IGNORE));
        } else {
            OK(MPI_Bcast(b, N, vec6, root, comm));
        }
        for (int i = 0; i < 6 * N; i++) {
            int used = i % 6 == 0 || i % 6 == 2 || i % 6 == 4;
            CHECK(b[i] == (used || rank == root ? val(root, 20, i) : -9), "bcast vec6 [%d]", i);
        }
        /* Allgather: send N ints as MPI_INT, receive as N/... pairs */
        for (int i = 0; i < 2 * N; i++)
            s[i] = val(rank, 21, i);
        for (int i = 0; i < 6 * N * size; i++)
            all[i] = -9;
        if (nb) {
            OK(MPI_Iallgather(s, 2 * N, MPI_INT, all, N, pair, comm, &q));
            OK(MPI_Wait(&q, MPI_STATUS_IGNORE));
        } else {
            OK(MPI_Allgather(s, 2 * N, MPI_INT, all, N, pair, comm));
        }
        for (int j = 0; j < size; j++)
            for (int i = 0; i < 2 * N; i++)
                CHECK(all[j * 2 * N + i] == val(j, 21, i), "allgather pair [%d][%d]", j, i);
        /* Gather into a strided receive type, one block of N per rank */
        for (int i = 0; i < 3 * N; i++)
            s[i] = val(rank, 22, i);
        for (int i = 0; i < 6 * N * size; i++)
            all[i] = -9;
        if (nb) {
            OK(MPI_Igather(s, 3 * N, MPI_INT, all, N, vec6, root, comm, &q));
            OK(MPI_Wait(&q, MPI_STATUS_IGNORE));
        } else {
            OK(MPI_Gather(s, 3 * N, MPI_INT, all, N, vec6, root, comm));
        }
        if (rank == root)
            for (int j = 0; j < size; j++)
                for (int i = 0; i < 6 * N; i++) {
                    int e = i % 6, used = e % 2 == 0 && e < 6;
                    int want = used ? val(j, 22, (i / 6) * 3 + e / 2) : -9;
                    CHECK(all[j * 6 * N + i] == want, "gather vec6 from %d [%d]=%d want %d", j, i,
                          all[j * 6 * N + i], want);
                }
        /* Scatter from a strided send type into a strided receive type */
        for (int i = 0; i < 6 * N * size; i++)
            all[i] = val(root, 27, i);
        for (int i = 0; i < 6 * N; i++)
            b[i] = -9;
        if (nb) {
            OK(MPI_Iscatter(all, N, vec6, b, N, vec6, root, comm, &q));
            OK(MPI_Wait(&q, MPI_STATUS_IGNORE));
        } else {
            OK(MPI_Scatter(all, N, vec6, b, N, vec6, root, comm));
        }
        for (int i = 0; i < 6 * N; i++) {
            int e = i % 6, used = e == 0 || e == 2 || e == 4;
            CHECK(b[i] == (used ? val(root, 27, rank * 6 * N + i) : -9), "scatter vec6 [%d]=%d", i,
                  b[i]);
        }
        /* Allreduce SUM on pairs (one basic type) and on an indexed type */
        for (int i = 0; i < 2 * N; i++)
            s[i] = val(rank, 23, i);
        int *r = ints(6 * N);
        for (int i = 0; i < 6 * N; i++)
            r[i] = -9;
        if (nb) {
            OK(MPI_Iallreduce(s, r, N, pair, MPI_SUM, comm, &q));
            OK(MPI_Wait(&q, MPI_STATUS_IGNORE));
        } else {
            OK(MPI_Allreduce(s, r, N, pair, MPI_SUM, comm));
        }
        for (int i = 0; i < 2 * N; i++) {
            int want = 0;
            for (int j = 0; j < size; j++)
                want += val(j, 23, i);
            CHECK(r[i] == want, "allreduce pair [%d]=%d want %d", i, r[i], want);
        }
        /* indexed type has extent 5 ints: 3 used */
        for (int i = 0; i < 5 * N; i++)
            s[i] = val(rank, 24, i), r[i] = -9;
        if (nb) {
            OK(MPI_Ireduce(s, r, N, idx, MPI_MAX, 0, comm, &q));
            OK(MPI_Wait(&q, MPI_STATUS_IGNORE));
        } else {
            OK(MPI_Reduce(s, r, N, idx, MPI_MAX, 0, comm));
        }
        if (rank == 0)
            for (int i = 0; i < 5 * N; i++) {
                int e = i % 5, used = e == 0 || e == 1 || e == 4;
                CHECK(r[i] == (used ? val(size - 1, 24, i) : -9), "reduce idx max [%d]", i);
            }
        /* user op on the strided type */
        for (int i = 0; i < 6 * N; i++)
            s[i] = val(rank, 25, i), r[i] = -9;
        MPI_Op op;
        OK(MPI_Op_create(strided_sum, 1, &op));
        if (nb) {
            OK(MPI_Iallreduce(s, r, N, vec6, op, comm, &q));
            OK(MPI_Wait(&q, MPI_STATUS_IGNORE));
        } else {
            OK(MPI_Allreduce(s, r, N, vec6, op, comm));
        }
        for (int i = 0; i < 6 * N; i++) {
            int e = i % 6, used = e == 0 || e == 2 || e == 4, want = 0;
            for (int j = 0; j < size; j++)
                want += val(j, 25, i);
            CHECK(r[i] == (used ? want : -9), "allreduce user vec6 [%d]=%d", i, r[i]);
        }
        OK(MPI_Op_free(&op));
        free(r);
        /* Alltoallw with a strided send type and plain receives */
        MPI_Datatype *st = malloc((size_t)size * sizeof(*st)),
                     *rt = malloc((size_t)size * sizeof(*rt));
        int *c1 = ints((size_t)size), *c3 = ints((size_t)size), *sd = ints((size_t)size),
            *rd = ints((size_t)size);
        int *big = ints((size_t)6 * size), *got = ints((size_t)3 * size);
        for (int j = 0; j < size; j++) {
            st[j] = vec6, rt[j] = MPI_INT, c1[j] = 1, c3[j] = 3;
            sd[j] = j * 6 * (int)sizeof(int), rd[j] = j * 3 * (int)sizeof(int);
        }
        for (int i = 0; i < 6 * size; i++)
            big[i] = val(rank, 26, i);
        if (nb) {
            OK(MPI_Ialltoallw(big, c1, sd, st, got, c3, rd, rt, comm, &q));
            OK(MPI_Wait(&q, MPI_STATUS_IGNORE));
        } else {
            OK(MPI_Alltoallw(big, c1, sd, st, got, c3, rd, rt, comm));
        }
        for (int j = 0; j < size; j++)
            for (int e = 0; e < 3; e++)
                CHECK(got[j * 3 + e] == val(j, 26, rank * 6 + e * 2), "alltoallw vec6 %d %d", j, e);
        free(st), free(rt), free(c1), free(c3), free(sd), free(rd), free(big), free(got);
    }
    OK(MPI_Type_free(&vec6));
    OK(MPI_Type_free(&pair));
    OK(MPI_Type_free(&idx));
    free(b), free(all), free(s);
}

/* Generalized requests: the callbacks' effects, checked. */
typedef struct greq_state {
    int queried, freed, tag;
} greq_state_t;

static int greq_query(void *extra, MPI_Status *st)
{
    greq_state_t *g = extra;
    g->queried++;
    st->MPI_SOURCE = 3;
    st->MPI_TAG = g->tag;
    MPI_Status_set_elements(st, MPI_BYTE, 42);
    MPI_Status_set_cancelled(st, 0);
    return MPI_SUCCESS;
}

static int greq_free(void *extra)
{
    ((greq_state_t *)extra)->freed++;
    return MPI_SUCCESS;
}

static int greq_cancel(void *extra, int complete)
{
    (void)extra, (void)complete;
    return MPI_SUCCESS;
}

static int greq_query_fails(void *extra, MPI_Status *st)
{
    (void)st;
    ((greq_state_t *)extra)->queried++;
    return MPI_ERR_OTHER;
}

static void test_grequest(MPI_Comm comm)
{
    greq_state_t g = {0, 0, 55}, h = {0, 0, 66};
    MPI_Request q[3];
    int flag = 1, x = rank, y = -1, count;
    MPI_Status st;
    OK(MPI_Grequest_start(greq_query, greq_free, greq_cancel, &g, &q[0]));
    OK(MPI_Test(&q[0], &flag, MPI_STATUS_IGNORE));
    CHECK(!flag && g.queried == 0 && g.freed == 0, "incomplete grequest tested done");
    OK(MPI_Request_get_status(q[0], &flag, &st));
    CHECK(!flag, "incomplete grequest reported done by Request_get_status");
    OK(MPI_Grequest_complete(q[0]));
    OK(MPI_Request_get_status(q[0], &flag, &st));
    CHECK(flag && g.queried == 1 && g.freed == 0 && st.MPI_TAG == 55,
          "Request_get_status: flag %d queried %d freed %d tag %d", flag, g.queried, g.freed,
          st.MPI_TAG);
    OK(MPI_Wait(&q[0], &st));
    MPI_Get_count(&st, MPI_BYTE, &count);
    CHECK(q[0] == MPI_REQUEST_NULL && g.queried == 2 && g.freed == 1, "wait: %d %d", g.queried,
          g.freed);
    CHECK(st.MPI_SOURCE == 3 && st.MPI_TAG == 55 && count == 42, "status %d %d %d", st.MPI_SOURCE,
          st.MPI_TAG, count);
    /* in a Waitall with point-to-point; completed while the others run */
    OK(MPI_Grequest_start(greq_query, greq_free, NULL, &h, &q[0]));
    OK(MPI_Irecv(&y, 1, MPI_INT, (rank - 1 + size) % size, 5, comm, &q[1]));
    OK(MPI_Isend(&x, 1, MPI_INT, (rank + 1) % size, 5, comm, &q[2]));
    OK(MPI_Grequest_complete(q[0]));
    MPI_Status sts[3];
    OK(MPI_Waitall(3, q, sts));
    CHECK(h.queried == 1 && h.freed == 1 && sts[0].MPI_TAG == 66, "waitall grequest %d %d %d",
          h.queried, h.freed, sts[0].MPI_TAG);
    CHECK(y == (rank - 1 + size) % size, "p2p next to a grequest got %d", y);
    /* freed before completion: free_fn waits for the completion */
    static greq_state_t f; /* outlives the request, freed later */
    f.freed = f.queried = 0;
    OK(MPI_Grequest_start(greq_query, greq_free, NULL, &f, &q[0]));
    MPI_Request keep = q[0], none = MPI_REQUEST_NULL;
    OK(MPI_Request_free(&q[0]));
    CHECK(q[0] == MPI_REQUEST_NULL && f.freed == 0, "free_fn ran before completion");
    OK(MPI_Grequest_complete(keep));
    OK(MPI_Test(&none, &flag, MPI_STATUS_IGNORE)); /* completion calls release it */
    CHECK(f.freed == 1 && f.queried == 0, "freed grequest: free_fn %d query_fn %d", f.freed,
          f.queried);
    /* a failing query_fn is the error of the completion call */
    greq_state_t e = {0, 0, 0};
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    OK(MPI_Grequest_start(greq_query_fails, greq_free, NULL, &e, &q[0]));
    OK(MPI_Grequest_complete(q[0]));
    int rc = MPI_Wait(&q[0], MPI_STATUS_IGNORE), cls;
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_OTHER && e.queried == 1 && e.freed == 1, "failing query_fn: %d", cls);
    rc = MPI_Grequest_complete(q[0]);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_REQUEST, "completing a freed grequest gave %d", cls);
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_ARE_FATAL);
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_ARE_FATAL);
}

/* MPI_Cancel: a generalized request's cancel_fn runs (told whether it had
 * completed); a nonblocking collective cannot be cancelled (MPI_ERR_REQUEST).
 * A persistent request keeps its datatype: MPI_Start after MPI_Type_free. */
static int cancelled_calls, cancelled_complete = -1;
static int greq_cancel_count(void *extra, int complete)
{
    (void)extra;
    cancelled_calls++;
    cancelled_complete = complete;
    return MPI_SUCCESS;
}

static void test_cancel_persistent(MPI_Comm comm)
{
    greq_state_t g = {0, 0, 7};
    MPI_Request q;
    cancelled_calls = 0, cancelled_complete = -1;
    OK(MPI_Grequest_start(greq_query, greq_free, greq_cancel_count, &g, &q));
    OK(MPI_Cancel(&q));
    CHECK(cancelled_calls == 1 && cancelled_complete == 0, "cancel_fn calls %d complete %d",
          cancelled_calls, cancelled_complete);
    OK(MPI_Grequest_complete(q));
    OK(MPI_Wait(&q, MPI_STATUS_IGNORE));
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    OK(MPI_Ibarrier(comm, &q));
    int rc = MPI_Cancel(&q), cls = MPI_SUCCESS;
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_REQUEST, "cancelling an ibarrier gave class %d", cls);
    OK(MPI_Wait(&q, MPI_STATUS_IGNORE));
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_ARE_FATAL);
    /* persistent send/receive of every other int; the type is freed first */
    MPI_Datatype vec;
    OK(MPI_Type_vector(4, 1, 2, MPI_INT, &vec));
    OK(MPI_Type_commit(&vec));
    int out[8], in[8], to = (rank + 1) % size, from = (rank - 1 + size) % size;
    MPI_Request pr[2];
    OK(MPI_Send_init(out, 1, vec, to, 31, comm, &pr[0]));
    OK(MPI_Recv_init(in, 1, vec, from, 31, comm, &pr[1]));
    OK(MPI_Type_free(&vec));
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 8; i++)
            out[i] = rank * 100 + round * 10 + i, in[i] = -1;
        OK(MPI_Startall(2, pr));
        OK(MPI_Waitall(2, pr, MPI_STATUSES_IGNORE));
        for (int i = 0; i < 8; i++)
            CHECK(in[i] == (i % 2 ? -1 : from * 100 + round * 10 + i),
                  "persistent after Type_free round %d [%d]=%d", round, i, in[i]);
    }
    OK(MPI_Request_free(&pr[0]));
    OK(MPI_Request_free(&pr[1]));
}

/* Intercommunicator collectives between the even (group 0) and odd
 * (group 1) ranks of MPI_COMM_WORLD: every value received comes from the
 * other group. */
static int wsz;
static int world_of(int color, int r) /* world rank of rank r of group color */
{
    return 2 * r + color;
}

static int dsp_of(int j) /* displacement of block j when block i has i + 1 items and a gap */
{
    return j * (j + 3) / 2;
}

static void test_inter_rooted(MPI_Comm ic, int color, int lrank, int rsize)
{
    int me = world_of(color, lrank);
    for (int rg = 0; rg < 2; rg++) { /* the root's group */
        int rgsize = rg == color ? wsz / 2 + (wsz % 2 && color == 0) : rsize;
        for (int root = 0; root < rgsize; root++) {
            int in_root_group = rg == color, am_root = in_root_group && lrank == root;
            int arg = in_root_group ? (am_root ? MPI_ROOT : MPI_PROC_NULL) : root;
            int rw = world_of(rg, root), n = 5, b[5], s[5], r[5], *g = ints((size_t)n * rsize),
                *sc = ints((size_t)n * rsize);
            for (int i = 0; i < n; i++)
                b[i] = am_root ? val(rw, 30, i) : -1, s[i] = val(me, 31, i), r[i] = -1;
            for (int i = 0; i < n * rsize; i++)
                g[i] = -1, sc[i] = val(me, 32, i);
            OK(MPI_Bcast(b, n, MPI_INT, arg, ic));
            OK(MPI_Reduce(s, r, n, MPI_INT, MPI_SUM, arg, ic));
            OK(MPI_Gather(s, n, MPI_INT, g, n, MPI_INT, arg, ic));
            OK(MPI_Scatter(sc, n, MPI_INT, r + 0, in_root_group ? 0 : n, MPI_INT, arg, ic));
            for (int i = 0; i < n && !in_root_group; i++) {
                CHECK(b[i] == val(rw, 30, i), "inter bcast from %d [%d]=%d", rw, i, b[i]);
                CHECK(r[i] == val(rw, 32, lrank * n + i), "inter scatter [%d]=%d", i, r[i]);
            }
            for (int i = 0; i < n && am_root; i++) {
                int want = 0;
                for (int j = 0; j < rsize; j++)
                    want += val(world_of(1 - color, j), 31, i);
                CHECK(r[i] == want, "inter reduce [%d]=%d want %d", i, r[i], want);
                for (int j = 0; j < rsize; j++)
                    CHECK(g[j * n + i] == val(world_of(1 - color, j), 31, i), "inter gather");
            }
            /* Gatherv/Scatterv: remote rank j has j + 1 ints */
            int *cnt = ints((size_t)rsize), *dsp = ints((size_t)rsize), tot = 0;
            for (int j = 0; j < rsize; j++)
                cnt[j] = j + 1, dsp[j] = tot, tot += j + 2;
            int *gv = ints((size_t)tot), mine = lrank + 1, mv[64], rv[64];
            for (int i = 0; i < tot; i++)
                gv[i] = -1;
            for (int i = 0; i < mine; i++)
                mv[i] = val(me, 33, i), rv[i] = -1;
            OK(MPI_Gatherv(mv, mine, MPI_INT, gv, cnt, dsp, MPI_INT, arg, ic));
            int *sv = ints((size_t)tot);
            for (int i = 0; i < tot; i++)
                sv[i] = val(me, 34, i);
            OK(MPI_Scatterv(sv, cnt, dsp, MPI_INT, rv, mine, MPI_INT, arg, ic));
            for (int j = 0; am_root && j < rsize; j++)
                for (int k = 0; k < cnt[j]; k++)
                    CHECK(gv[dsp[j] + k] == val(world_of(1 - color, j), 33, k), "inter gatherv");
            for (int k = 0; !in_root_group && k < mine; k++)
                CHECK(rv[k] == val(rw, 34, dsp_of(lrank) + k), "inter scatterv [%d]=%d", k, rv[k]);
            free(g), free(sc), free(cnt), free(dsp), free(gv), free(sv);
        }
    }
}

static void test_inter(void)
{
    if (wsz < 2)
        return;
    int color = rank % 2, lrank, lsize, rsize;
    MPI_Comm local, ic;
    OK(MPI_Comm_split(MPI_COMM_WORLD, color, rank, &local));
    OK(MPI_Intercomm_create(local, 0, MPI_COMM_WORLD, 1 - color, 99, &ic));
    MPI_Comm_rank(local, &lrank);
    MPI_Comm_size(local, &lsize);
    MPI_Comm_remote_size(ic, &rsize);
    int me = rank, saved = rank;
    rank = lrank;
    test_inter_rooted(ic, color, lrank, rsize);
    /* Allreduce, Allgather(v), Alltoall(v) */
    enum { N = 4 };
    int s[N], r[N], *ag = ints((size_t)N * rsize), *a2s = ints((size_t)N * rsize),
                    *a2r = ints((size_t)N * rsize);
    for (int i = 0; i < N; i++)
        s[i] = val(me, 40, i);
    for (int i = 0; i < N * rsize; i++)
        a2s[i] = val(me, 41, i);
    OK(MPI_Allreduce(s, r, N, MPI_INT, MPI_SUM, ic));
    OK(MPI_Allgather(s, N, MPI_INT, ag, N, MPI_INT, ic));
    OK(MPI_Alltoall(a2s, N, MPI_INT, a2r, N, MPI_INT, ic));
    for (int i = 0; i < N; i++) {
        int want = 0;
        for (int j = 0; j < rsize; j++)
            want += val(world_of(1 - color, j), 40, i);
        CHECK(r[i] == want, "inter allreduce [%d]=%d want %d", i, r[i], want);
        for (int j = 0; j < rsize; j++) {
            CHECK(ag[j * N + i] == val(world_of(1 - color, j), 40, i), "inter allgather");
            CHECK(a2r[j * N + i] == val(world_of(1 - color, j), 41, lrank * N + i),
                  "inter alltoall from %d [%d]", j, i);
        }
    }
    int *c = ints((size_t)rsize), *d = ints((size_t)rsize), *sc = ints((size_t)rsize),
        *sd = ints((size_t)rsize), tot = 0, stot = 0;
    for (int j = 0; j < rsize; j++) {
        c[j] = j + 1, d[j] = tot, tot += j + 1;             /* from remote j: j + 1 ints */
        sc[j] = lrank + 1, sd[j] = stot, stot += lrank + 1; /* to remote j: lrank + 1 */
    }
    int *agv = ints((size_t)tot), *sv = ints((size_t)stot), *rv = ints((size_t)tot);
    for (int i = 0; i < stot; i++)
        sv[i] = val(me, 42, i);
    OK(MPI_Allgatherv(s, lrank + 1, MPI_INT, agv, c, d, MPI_INT, ic));
    OK(MPI_Alltoallv(sv, sc, sd, MPI_INT, rv, c, d, MPI_INT, ic));
    for (int j = 0; j < rsize; j++)
        for (int k = 0; k < c[j]; k++) {
            CHECK(agv[d[j] + k] == val(world_of(1 - color, j), 40, k), "inter allgatherv");
            CHECK(rv[d[j] + k] == val(world_of(1 - color, j), 42, lrank * (j + 1) + k),
                  "inter alltoallv from %d [%d]=%d", j, k, rv[d[j] + k]);
        }
    /* Reduce_scatter: 12 items in both groups, spread over the local ranks */
    int rc12[64], tot12 = 12, in12[12], out12[12];
    for (int i = 0; i < lsize; i++)
        rc12[i] = tot12 / lsize + (i < tot12 % lsize);
    for (int i = 0; i < tot12; i++)
        in12[i] = val(me, 43, i);
    OK(MPI_Reduce_scatter(in12, out12, rc12, MPI_INT, MPI_SUM, ic));
    int off = 0;
    for (int i = 0; i < lrank; i++)
        off += rc12[i];
    for (int k = 0; k < rc12[lrank]; k++) {
        int want = 0;
        for (int j = 0; j < rsize; j++)
            want += val(world_of(1 - color, j), 43, off + k);
        CHECK(out12[k] == want, "inter reduce_scatter [%d]=%d want %d", k, out12[k], want);
    }
    /* Scan is not defined on intercommunicators */
    MPI_Comm_set_errhandler(ic, MPI_ERRORS_RETURN);
    int cls, rc = MPI_Scan(s, r, N, MPI_INT, MPI_SUM, ic);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_COMM, "inter scan gave %d", cls);
    OK(MPI_Barrier(ic));
    /* the nonblocking forms, all outstanding at once; group 0's rank 0 roots */
    int rooted = color == 0 ? (lrank == 0 ? MPI_ROOT : MPI_PROC_NULL) : 0;
    int bb[N], rr[N], ar[N], *gg = ints((size_t)N * rsize), sc1[N], *aa = ints((size_t)N * rsize),
                             *a2 = ints((size_t)N * rsize), o12[12], *sv1 = ints((size_t)N * rsize);
    for (int i = 0; i < N; i++)
        bb[i] = color == 0 && lrank == 0 ? val(0, 50, i) : -1, rr[i] = ar[i] = sc1[i] = -1;
    for (int i = 0; i < N * rsize; i++)
        gg[i] = aa[i] = a2[i] = -1, sv1[i] = val(me, 51, i);
    MPI_Request q[9];
    OK(MPI_Ibcast(bb, N, MPI_INT, rooted, ic, &q[0]));
    OK(MPI_Ireduce(s, rr, N, MPI_INT, MPI_SUM, rooted, ic, &q[1]));
    OK(MPI_Iallreduce(s, ar, N, MPI_INT, MPI_SUM, ic, &q[2]));
    OK(MPI_Igather(s, N, MPI_INT, gg, N, MPI_INT, rooted, ic, &q[3]));
    OK(MPI_Iscatter(sv1, N, MPI_INT, sc1, color == 1 ? N : 0, MPI_INT, rooted, ic, &q[4]));
    OK(MPI_Iallgather(s, N, MPI_INT, aa, N, MPI_INT, ic, &q[5]));
    OK(MPI_Ialltoall(a2s, N, MPI_INT, a2, N, MPI_INT, ic, &q[6]));
    OK(MPI_Ireduce_scatter(in12, o12, rc12, MPI_INT, MPI_SUM, ic, &q[7]));
    OK(MPI_Ibarrier(ic, &q[8]));
    if (lrank % 2) /* some complete back to front */
        for (int k = 8; k >= 0; k--)
            OK(MPI_Wait(&q[k], MPI_STATUS_IGNORE));
    else
        OK(MPI_Waitall(9, q, MPI_STATUSES_IGNORE));
    for (int i = 0; i < N; i++) {
        int want = 0;
        for (int j = 0; j < rsize; j++)
            want += val(world_of(1 - color, j), 40, i);
        CHECK(ar[i] == want, "inter iallreduce [%d]=%d want %d", i, ar[i], want);
        if (color == 1) {
            CHECK(bb[i] == val(0, 50, i), "inter ibcast [%d]=%d", i, bb[i]);
            CHECK(sc1[i] == val(0, 51, lrank * N + i), "inter iscatter [%d]=%d", i, sc1[i]);
        } else if (lrank == 0) {
            CHECK(rr[i] == want, "inter ireduce [%d]=%d want %d", i, rr[i], want);
        }
        for (int j = 0; j < rsize; j++) {
            int w = world_of(1 - color, j);
            if (color == 0 && lrank == 0)
                CHECK(gg[j * N + i] == val(w, 40, i), "inter igather from %d", j);
            CHECK(aa[j * N + i] == val(w, 40, i), "inter iallgather from %d", j);
            CHECK(a2[j * N + i] == val(w, 41, lrank * N + i), "inter ialltoall from %d", j);
        }
    }
    for (int k = 0; k < rc12[lrank]; k++) {
        int want = 0;
        for (int j = 0; j < rsize; j++)
            want += val(world_of(1 - color, j), 43, off + k);
        CHECK(o12[k] == want, "inter ireduce_scatter [%d]=%d want %d", k, o12[k], want);
    }
    OK(MPI_Ireduce(s, rr, 0, MPI_INT, MPI_SUM, rooted, ic, &q[0])); /* nothing to move */
    OK(MPI_Ibcast(bb, 0, MPI_INT, rooted, ic, &q[1]));
    OK(MPI_Waitall(2, q, MPI_STATUSES_IGNORE));
    free(gg), free(aa), free(a2), free(sv1);
    free(ag), free(a2s), free(a2r), free(c), free(d), free(sc), free(sd), free(agv), free(sv),
        free(rv);
    OK(MPI_Comm_free(&ic));
    OK(MPI_Comm_free(&local));
    rank = saved;
}

static void test_errors(MPI_Comm comm)
{
    int x = 1, y, cls;
    MPI_Request q;
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
    int rc = MPI_Ibcast(&x, 1, MPI_INT, size, comm, &q);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_ROOT, "ibcast bad root gave %d", cls);
    rc = MPI_Iallreduce(&x, &y, 1, MPI_INT, MPI_SUM, comm, NULL);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_ARG, "NULL request gave %d", cls);
    rc = MPI_Iallreduce(&x, &y, -1, MPI_INT, MPI_SUM, comm, &q);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_COUNT, "negative count gave %d", cls);
    rc = MPI_Iallreduce(&x, &y, 1, MPI_BYTE, MPI_SUM, comm, &q);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_OP, "SUM on BYTE gave %d", cls);
    MPI_Datatype unc;
    OK(MPI_Type_contiguous(2, MPI_INT, &unc));
    rc = MPI_Ibcast(&x, 1, unc, 0, comm, &q);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_TYPE, "uncommitted type gave %d", cls);
    OK(MPI_Type_free(&unc));
    OK(MPI_Ibarrier(comm, &q));
    MPI_Request keep = q;
    rc = MPI_Request_free(&q);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_REQUEST && q == keep, "Request_free on ibarrier gave %d", cls);
    OK(MPI_Wait(&q, MPI_STATUS_IGNORE));
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_ARE_FATAL);
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_ARE_FATAL);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int wr = rank, ws = size;
    MPI_Comm dup, comms[3] = {MPI_COMM_WORLD, MPI_COMM_SELF, MPI_COMM_NULL};
    OK(MPI_Comm_dup(MPI_COMM_WORLD, &dup));
    comms[2] = dup;
    for (int c = 0; c < 3; c++) {
        MPI_Comm comm = comms[c];
        MPI_Comm_rank(comm, &rank);
        MPI_Comm_size(comm, &size);
        test_bcast_reduce(comm);
        test_allreduce_scan(comm);
        test_gather_family(comm);
        test_vectors(comm);
        test_outstanding(comm);
        test_noncommutative(comm);
        test_derived(comm);
        test_errors(comm);
        test_grequest(comm);
        test_cancel_persistent(comm);
    }
    rank = wr, size = ws, wsz = ws;
    test_inter();
    OK(MPI_Comm_free(&dup));
    int all = 0;
    MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0)
        printf("nbc %d processes: %s\n", size, all ? "FAILED" : "ok");
    MPI_Finalize();
    return all ? 1 : 0;
}
