/* MPI_Isendrecv and MPI_Isendrecv_replace (MPI 4.0; Tide offers them, and
 * their PMPI_ names, while claiming MPI 3.1): a ring exchange with the
 * status of the receive; MPI_ANY_SOURCE/MPI_ANY_TAG; MPI_PROC_NULL on either
 * side; derived types (vector sent, contiguous received; replace on a strided
 * vector whose gaps must survive); messages past the eager limit; several
 * requests completed by Waitall, Testany and a Request_free'd one; an
 * invalid destination that must post nothing.  Any number of ranks (a
 * singleton talks to itself).  Failures print "isendrecv FAIL"; the rank
 * exits 1. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rank, size, failures;

#define CHECK_PREFIX "isendrecv FAIL"
#define CHECK_RANK   rank
#include "check.h"

static int next_rank(void)
{
    return (rank + 1) % size;
}

static int prev_rank(void)
{
    return (rank + size - 1) % size;
}

static void check_status(const MPI_Status *s, int src, int tag, MPI_Datatype dt, int count,
                         const char *what)
{
    int n = -1;
    MPI_Get_count(s, dt, &n);
    CHECK(s->MPI_SOURCE == src && s->MPI_TAG == tag && n == count,
          "%s: status source %d tag %d count %d, want %d %d %d", what, s->MPI_SOURCE, s->MPI_TAG, n,
          src, tag, count);
}

/* n ints around the ring: to the next rank, from the previous one. */
static void ring(int n, int any)
{
    int *out = malloc((size_t)n * sizeof(int)), *in = malloc((size_t)n * sizeof(int));
    for (int i = 0; i < n; i++)
        out[i] = rank * 1000003 + i, in[i] = -1;
    MPI_Request req;
    MPI_Status s;
    OK(MPI_Isendrecv(out, n, MPI_INT, next_rank(), 10 + rank, in, n, MPI_INT,
                     any ? MPI_ANY_SOURCE : prev_rank(), any ? MPI_ANY_TAG : 10 + prev_rank(),
                     MPI_COMM_WORLD, &req));
    OK(MPI_Wait(&req, &s));
    CHECK(req == MPI_REQUEST_NULL, "request not freed by MPI_Wait");
    check_status(&s, prev_rank(), 10 + prev_rank(), MPI_INT, n, any ? "ring any" : "ring");
    int bad = 0;
    for (int i = 0; i < n; i++)
        bad += in[i] != prev_rank() * 1000003 + i;
    CHECK(bad == 0, "ring of %d ints: %d wrong", n, bad);
    free(out);
    free(in);
}

/* The same ring with MPI_Isendrecv_replace. */
static void ring_replace(int n)
{
    int *buf = malloc((size_t)n * sizeof(int));
    for (int i = 0; i < n; i++)
        buf[i] = rank * 7 + i;
    MPI_Request req;
    MPI_Status s;
    OK(MPI_Isendrecv_replace(buf, n, MPI_INT, next_rank(), 3, prev_rank(), 3, MPI_COMM_WORLD,
                             &req));
    int flag = 0;
    while (!flag)
        OK(MPI_Test(&req, &flag, &s));
    check_status(&s, prev_rank(), 3, MPI_INT, n, "replace ring");
    int bad = 0;
    for (int i = 0; i < n; i++)
        bad += buf[i] != prev_rank() * 7 + i;
    CHECK(bad == 0, "replace ring of %d ints: %d wrong", n, bad);
    free(buf);
}

static void proc_null(void)
{
    int out = 5, in = -7;
    MPI_Request req;
    MPI_Status s;
    /* Receive from nobody: empty status, buffer untouched; the send still goes. */
    OK(MPI_Isendrecv(&out, 1, MPI_INT, MPI_PROC_NULL, 1, &in, 1, MPI_INT, MPI_PROC_NULL, 1,
                     MPI_COMM_WORLD, &req));
    OK(MPI_Wait(&req, &s));
    check_status(&s, MPI_PROC_NULL, MPI_ANY_TAG, MPI_INT, 0, "PROC_NULL both");
    CHECK(in == -7, "PROC_NULL receive wrote %d", in);
    /* Send to nobody, receive from the previous rank which also sends to nobody
     * ... and to us through a second request. */
    MPI_Request two[2];
    int got = -1, mine = rank + 100;
    OK(MPI_Isendrecv(&out, 1, MPI_INT, MPI_PROC_NULL, 2, &got, 1, MPI_INT, prev_rank(), 4,
                     MPI_COMM_WORLD, &two[0]));
    OK(MPI_Isendrecv(&mine, 1, MPI_INT, next_rank(), 4, NULL, 0, MPI_INT, MPI_PROC_NULL, 4,
                     MPI_COMM_WORLD, &two[1]));
    MPI_Status st[2];
    OK(MPI_Waitall(2, two, st));
    check_status(&st[0], prev_rank(), 4, MPI_INT, 1, "send to PROC_NULL");
    CHECK(got == prev_rank() + 100, "send to PROC_NULL: got %d", got);
    check_status(&st[1], MPI_PROC_NULL, MPI_ANY_TAG, MPI_INT, 0, "receive from PROC_NULL");
    int v = rank;
    OK(MPI_Isendrecv_replace(&v, 1, MPI_INT, MPI_PROC_NULL, 0, MPI_PROC_NULL, 0, MPI_COMM_WORLD,
                             &req));
    OK(MPI_Wait(&req, &s));
    CHECK(v == rank, "replace with PROC_NULL changed the buffer to %d", v);
}

/* A strided vector sent, received as contiguous doubles; replace on the
 * vector itself leaves the gaps alone. */
static void derived(int blocks)
{
    MPI_Datatype vec;
    OK(MPI_Type_vector(blocks, 2, 3, MPI_DOUBLE, &vec));
    OK(MPI_Type_commit(&vec));
    size_t span = (size_t)blocks * 3;
    double *src = malloc(span * sizeof(double)), *dst = malloc(2 * (size_t)blocks * sizeof(double));
    for (size_t i = 0; i < span; i++)
        src[i] = rank * 1e6 + (double)i;
    MPI_Request req;
    MPI_Status s;
    OK(MPI_Isendrecv(src, 1, vec, next_rank(), 8, dst, 2 * blocks, MPI_DOUBLE, prev_rank(), 8,
                     MPI_COMM_WORLD, &req));
    OK(MPI_Wait(&req, &s));
    check_status(&s, prev_rank(), 8, MPI_DOUBLE, 2 * blocks, "vector -> doubles");
    int bad = 0;
    for (int b = 0; b < blocks; b++)
        for (int k = 0; k < 2; k++)
            bad += dst[2 * b + k] != prev_rank() * 1e6 + (double)(3 * b + k);
    CHECK(bad == 0, "vector of %d blocks -> doubles: %d wrong", blocks, bad);
    OK(MPI_Isendrecv_replace(src, 1, vec, next_rank(), 9, prev_rank(), 9, MPI_COMM_WORLD, &req));
    OK(MPI_Wait(&req, &s));
    check_status(&s, prev_rank(), 9, vec, 1, "replace vector");
    bad = 0;
    for (size_t i = 0; i < span; i++) {
        int owner = i % 3 == 2 ? rank : prev_rank(); /* the gaps stay ours */
        bad += src[i] != owner * 1e6 + (double)i;
    }
    CHECK(bad == 0, "replace of a vector of %d blocks: %d wrong", blocks, bad);
    free(src);
    free(dst);
    OK(MPI_Type_free(&vec));
}

/* Several at once, completed in any order; one freed while in flight. */
static void many(void)
{
    enum { K = 4 };
    int out[K], in[K], orphan_out = rank, orphan_in = -1;
    MPI_Request req[K], orphan;
    for (int k = 0; k < K; k++) {
        out[k] = rank * 10 + k, in[k] = -1;
        OK(MPI_Isendrecv(&out[k], 1, MPI_INT, next_rank(), 20 + k, &in[k], 1, MPI_INT, prev_rank(),
                         20 + K - 1 - k, MPI_COMM_WORLD, &req[k]));
    }
    OK(MPI_Isendrecv(&orphan_out, 1, MPI_INT, next_rank(), 30, &orphan_in, 1, MPI_INT, prev_rank(),
                     30, MPI_COMM_WORLD, &orphan));
    OK(MPI_Request_free(&orphan));
    CHECK(orphan == MPI_REQUEST_NULL, "MPI_Request_free left the handle");
    int left = K;
    while (left > 0) {
        int idx, flag;
        MPI_Status s;
        OK(MPI_Testany(K, req, &idx, &flag, &s));
        if (!flag)
            continue;
        CHECK(idx >= 0 && idx < K, "Testany index %d", idx);
        if (idx < 0 || idx >= K)
            break;
        check_status(&s, prev_rank(), 20 + K - 1 - idx, MPI_INT, 1, "many");
        CHECK(in[idx] == prev_rank() * 10 + K - 1 - idx, "many[%d] = %d", idx, in[idx]);
        left--;
    }
    MPI_Barrier(MPI_COMM_WORLD); /* the freed one has arrived everywhere */
    CHECK(orphan_in == prev_rank(), "freed request's data: %d", orphan_in);
}

/* An invalid destination is reported and posts no receive: the next message
 * from the previous rank goes to the receive that follows. */
static void bad_dest(void)
{
    int x = 1, stale = -1, fresh = -1;
    MPI_Request req = MPI_REQUEST_NULL;
    int rc = MPI_Isendrecv(&x, 1, MPI_INT, size + 5, 0, &stale, 1, MPI_INT, prev_rank(), 40,
                           MPI_COMM_WORLD, &req);
    int cls = -1;
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_RANK, "invalid dest: error class %d", cls);
    CHECK(req == MPI_REQUEST_NULL, "invalid dest: a request was returned");
    rc = MPI_Isendrecv_replace(&x, 1, MPI_INT, 0, -3, prev_rank(), 40, MPI_COMM_WORLD, &req);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_TAG, "negative tag: error class %d", cls);
    int v = rank + 50;
    OK(MPI_Sendrecv(&v, 1, MPI_INT, next_rank(), 40, &fresh, 1, MPI_INT, prev_rank(), 40,
                    MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    CHECK(fresh == prev_rank() + 50 && stale == -1, "after the error: fresh %d stale %d", fresh,
          stale);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    static const int ns[] = {0, 1, 100, 300000}; /* 300000 ints: rendezvous */
    for (unsigned i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
        ring(ns[i], 0);
        ring(ns[i], 1);
        ring_replace(ns[i]);
    }
    proc_null();
    derived(3);
    derived(100000);
    many();
    bad_dest();
    /* The profiling names exist too. */
    MPI_Request req;
    int a = rank, b = -1;
    OK(PMPI_Isendrecv(&a, 1, MPI_INT, rank, 60, &b, 1, MPI_INT, rank, 60, MPI_COMM_WORLD, &req));
    OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
    CHECK(b == rank, "PMPI_Isendrecv to self: %d", b);
    int all;
    MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0 && all == 0)
        printf("isendrecv: %d ranks OK\n", size);
    MPI_Finalize();
    return failures ? 1 : 0;
}
