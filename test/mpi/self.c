/* Sends to self in every mode and the rest of the point-to-point API on
 * MPI_COMM_SELF and (for a singleton) MPI_COMM_WORLD: eager and rendezvous
 * sizes, synchronous completion order, buffered and ready sends, ordering,
 * wildcards, truncation, cancel, probes, matched probes, persistent
 * requests, Sendrecv(_replace), counts, MPI_PROC_NULL, 0-byte and > 2 GiB
 * messages, the completion calls and argument errors. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
#define CHECK_PREFIX "self: check failed"
#include "check.h"

static void fill(char *b, size_t n, int seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (char)(seed + i * 7);
}

static int same(const char *b, size_t n, int seed)
{
    for (size_t i = 0; i < n; i++)
        if (b[i] != (char)(seed + i * 7))
            return 0;
    return 1;
}

static void test_modes(MPI_Comm comm)
{
    enum { BIG = 1 << 20 };
    char *s = malloc(BIG), *r = malloc(BIG);
    MPI_Status st;
    MPI_Request sr, rr;
    int flag, n;

    /* Eager standard send completes before the receive is posted. */
    fill(s, 100, 1);
    CHECK(MPI_Send(s, 100, MPI_CHAR, 0, 5, comm) == MPI_SUCCESS);
    memset(s, 0, 100); /* the buffer is reusable: the message was copied */
    CHECK(MPI_Recv(r, 100, MPI_CHAR, 0, 5, comm, &st) == MPI_SUCCESS);
    CHECK(same(r, 100, 1) && st.MPI_SOURCE == 0 && st.MPI_TAG == 5);
    MPI_Get_count(&st, MPI_CHAR, &n);
    CHECK(n == 100);

    /* A large send is not complete until the receive takes it. */
    fill(s, BIG, 2);
    CHECK(MPI_Isend(s, BIG, MPI_BYTE, 0, 6, comm, &sr) == MPI_SUCCESS);
    MPI_Test(&sr, &flag, MPI_STATUS_IGNORE);
    CHECK(!flag);
    CHECK(MPI_Recv(r, BIG, MPI_BYTE, 0, 6, comm, &st) == MPI_SUCCESS && same(r, BIG, 2));
    CHECK(MPI_Wait(&sr, MPI_STATUS_IGNORE) == MPI_SUCCESS && sr == MPI_REQUEST_NULL);

    /* Synchronous: not complete before the receive has matched. */
    CHECK(MPI_Issend(s, 8, MPI_CHAR, 0, 7, comm, &sr) == MPI_SUCCESS);
    for (int i = 0; i < 100; i++)
        MPI_Test(&sr, &flag, MPI_STATUS_IGNORE);
    CHECK(!flag);
    CHECK(MPI_Irecv(r, 8, MPI_CHAR, 0, 7, comm, &rr) == MPI_SUCCESS);
    CHECK(MPI_Wait(&rr, &st) == MPI_SUCCESS);
    MPI_Test(&sr, &flag, MPI_STATUS_IGNORE);
    CHECK(flag);

    /* Ready send to a posted receive. */
    CHECK(MPI_Irecv(r, 16, MPI_CHAR, 0, 8, comm, &rr) == MPI_SUCCESS);
    fill(s, 16, 3);
    CHECK(MPI_Rsend(s, 16, MPI_CHAR, 0, 8, comm) == MPI_SUCCESS);
    CHECK(MPI_Wait(&rr, &st) == MPI_SUCCESS && same(r, 16, 3));

    /* Buffered: copied into the attached buffer; detach waits. */
    int bsize = 3 * (BIG + MPI_BSEND_OVERHEAD);
    char *bbuf = malloc((size_t)bsize);
    CHECK(MPI_Buffer_attach(bbuf, bsize) == MPI_SUCCESS);
    fill(s, BIG, 4);
    CHECK(MPI_Bsend(s, BIG, MPI_BYTE, 0, 9, comm) == MPI_SUCCESS);
    memset(s, 0, BIG);
    CHECK(MPI_Ibsend(s, 10, MPI_BYTE, 0, 10, comm, &sr) == MPI_SUCCESS);
    CHECK(MPI_Wait(&sr, MPI_STATUS_IGNORE) == MPI_SUCCESS);
    CHECK(MPI_Recv(r, BIG, MPI_BYTE, 0, 9, comm, &st) == MPI_SUCCESS && same(r, BIG, 4));
    CHECK(MPI_Recv(r, 10, MPI_BYTE, 0, 10, comm, &st) == MPI_SUCCESS);
    void *back;
    int bs;
    CHECK(MPI_Buffer_detach(&back, &bs) == MPI_SUCCESS && back == bbuf && bs == bsize);
    free(bbuf);
    free(s);
    free(r);
}

static void test_order_and_wildcards(MPI_Comm comm)
{
    /* Mixed sizes, same envelope: received in the order sent. */
    enum { N = 6 };
    static char bufs[N][200000];
    int sizes[N] = {10, 150000, 0, 70000, 3, 199999};
    MPI_Request req[N];
    for (int i = 0; i < N; i++) {
        fill(bufs[i], (size_t)sizes[i], 10 + i);
        MPI_Isend(bufs[i], sizes[i], MPI_CHAR, 0, 11, comm, &req[i]);
    }
    static char r[200000];
    for (int i = 0; i < N; i++) {
        MPI_Status st;
        int n;
        CHECK(MPI_Recv(r, sizeof(r), MPI_CHAR, MPI_ANY_SOURCE, MPI_ANY_TAG, comm, &st) ==
              MPI_SUCCESS);
        MPI_Get_count(&st, MPI_CHAR, &n);
        CHECK(n == sizes[i] && st.MPI_TAG == 11 && st.MPI_SOURCE == 0);
        CHECK(same(r, (size_t)n, 10 + i));
    }
    CHECK(MPI_Waitall(N, req, MPI_STATUSES_IGNORE) == MPI_SUCCESS);
    for (int i = 0; i < N; i++)
        CHECK(req[i] == MPI_REQUEST_NULL);

    /* An arriving message goes to the earliest posted matching receive,
     * whether it names its source or not (per-source fast path vs the
     * wildcard queue). */
    int w1 = -1, w2 = -1, w3 = -1, one = 1, two = 2, three = 3;
    MPI_Request q[3];
    MPI_Irecv(&w1, 1, MPI_INT, 0, 12, comm, &q[0]);
    MPI_Irecv(&w2, 1, MPI_INT, MPI_ANY_SOURCE, 12, comm, &q[1]);
    MPI_Irecv(&w3, 1, MPI_INT, 0, MPI_ANY_TAG, comm, &q[2]);
    MPI_Send(&one, 1, MPI_INT, 0, 12, comm);
    MPI_Send(&two, 1, MPI_INT, 0, 12, comm);
    MPI_Send(&three, 1, MPI_INT, 0, 13, comm);
    MPI_Waitall(3, q, MPI_STATUSES_IGNORE);
    CHECK(w1 == 1 && w2 == 2 && w3 == 3);
    MPI_Irecv(&w2, 1, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, comm, &q[1]);
    MPI_Irecv(&w1, 1, MPI_INT, 0, 14, comm, &q[0]);
    MPI_Send(&one, 1, MPI_INT, 0, 14, comm);
    MPI_Send(&two, 1, MPI_INT, 0, 14, comm);
    MPI_Waitall(2, q, MPI_STATUSES_IGNORE);
    CHECK(w2 == 1 && w1 == 2);

    /* Specific tags pick their message out of order. */
    int a = 1, b = 2, x;
    MPI_Send(&a, 1, MPI_INT, 0, 21, comm);
    MPI_Send(&b, 1, MPI_INT, 0, 22, comm);
    MPI_Recv(&x, 1, MPI_INT, 0, 22, comm, MPI_STATUS_IGNORE);
    CHECK(x == 2);
    MPI_Recv(&x, 1, MPI_INT, 0, 21, comm, MPI_STATUS_IGNORE);
    CHECK(x == 1);
}

static void test_truncate_cancel_probe(MPI_Comm comm)
{
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
    char s[64], r[64];
    MPI_Status st;
    int flag, n;
    fill(s, 64, 5);
    MPI_Send(s, 64, MPI_CHAR, 0, 30, comm);
    CHECK(MPI_Recv(r, 10, MPI_CHAR, 0, 30, comm, &st) == MPI_ERR_TRUNCATE);
    MPI_Get_count(&st, MPI_CHAR, &n);
    CHECK(n == 10 && same(r, 10, 5));
    MPI_Iprobe(0, 30, comm, &flag, MPI_STATUS_IGNORE);
    CHECK(!flag); /* the truncated message was consumed */

    MPI_Request rr;
    MPI_Irecv(r, 64, MPI_CHAR, 0, 31, comm, &rr);
    CHECK(MPI_Cancel(&rr) == MPI_SUCCESS);
    CHECK(MPI_Wait(&rr, &st) == MPI_SUCCESS);
    MPI_Test_cancelled(&st, &flag);
    CHECK(flag);
    MPI_Send(s, 4, MPI_CHAR, 0, 31, comm); /* not taken by the cancelled receive */
    MPI_Probe(0, 31, comm, &st);
    MPI_Get_count(&st, MPI_CHAR, &n);
    CHECK(n == 4 && st.MPI_TAG == 31);
    MPI_Recv(r, 64, MPI_CHAR, 0, 31, comm, &st);
    MPI_Test_cancelled(&st, &flag);
    CHECK(!flag);

    /* Matched probe: the message is ours alone. */
    MPI_Message m;
    MPI_Improbe(0, 32, comm, &flag, &m, &st);
    CHECK(!flag && m == MPI_MESSAGE_NULL);
    MPI_Send(s, 20, MPI_CHAR, 0, 32, comm);
    MPI_Send(s + 20, 20, MPI_CHAR, 0, 32, comm);
    CHECK(MPI_Mprobe(0, 32, comm, &m, &st) == MPI_SUCCESS);
    MPI_Iprobe(0, 32, comm, &flag, &st); /* sees the second one */
    CHECK(flag);
    CHECK(MPI_Mrecv(r, 64, MPI_CHAR, &m, &st) == MPI_SUCCESS && m == MPI_MESSAGE_NULL);
    CHECK(same(r, 20, 5));
    MPI_Request q;
    MPI_Improbe(0, 32, comm, &flag, &m, &st);
    CHECK(flag);
    CHECK(MPI_Imrecv(r, 64, MPI_CHAR, &m, &q) == MPI_SUCCESS);
    MPI_Wait(&q, &st);
    CHECK(memcmp(r, s + 20, 20) == 0);

    /* Argument errors return the right class under MPI_ERRORS_RETURN. */
    CHECK(MPI_Send(s, 1, MPI_CHAR, 0, -4, comm) == MPI_ERR_TAG);
    CHECK(MPI_Send(s, 1, MPI_CHAR, 5, 0, comm) == MPI_ERR_RANK);
    CHECK(MPI_Send(s, -1, MPI_CHAR, 0, 0, comm) == MPI_ERR_COUNT);
    CHECK(MPI_Send(s, 1, (MPI_Datatype)12345, 0, 0, comm) == MPI_ERR_TYPE);
    CHECK(MPI_Send(NULL, 3, MPI_CHAR, 0, 0, comm) == MPI_ERR_BUFFER);
    CHECK(MPI_Recv(r, 1, MPI_CHAR, 0, -7, comm, &st) == MPI_ERR_TAG);
    CHECK(MPI_Wait(&(MPI_Request){4242}, &st) == MPI_ERR_REQUEST);
    CHECK(MPI_Bsend(s, 1, MPI_CHAR, 0, 0, comm) == MPI_ERR_BUFFER); /* nothing attached */
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_ARE_FATAL);
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_ARE_FATAL);
}

static void test_persistent_and_misc(MPI_Comm comm)
{
    int v = 0, got = -1;
    MPI_Request req[2];
    MPI_Status st[2];
    MPI_Send_init(&v, 1, MPI_INT, 0, 40, comm, &req[0]);
    MPI_Recv_init(&got, 1, MPI_INT, 0, 40, comm, &req[1]);
    for (v = 0; v < 3; v++) {
        CHECK(MPI_Startall(2, req) == MPI_SUCCESS);
        CHECK(MPI_Waitall(2, req, st) == MPI_SUCCESS);
        CHECK(got == v && req[0] != MPI_REQUEST_NULL && req[1] != MPI_REQUEST_NULL);
    }
    MPI_Request_free(&req[0]);
    MPI_Request_free(&req[1]);
    CHECK(req[0] == MPI_REQUEST_NULL);

    /* Sendrecv and Sendrecv_replace with ourselves. */
    int a[4] = {1, 2, 3, 4}, b[4];
    MPI_Status s1;
    CHECK(MPI_Sendrecv(a, 4, MPI_INT, 0, 41, b, 4, MPI_INT, 0, 41, comm, &s1) == MPI_SUCCESS);
    CHECK(b[3] == 4);
    CHECK(MPI_Sendrecv_replace(a, 4, MPI_INT, 0, 42, 0, 42, comm, &s1) == MPI_SUCCESS);
    CHECK(a[0] == 1 && a[3] == 4);

    /* Counts: 6 bytes are 3 shorts, not a whole number of ints. */
    char six[6];
    MPI_Send(six, 6, MPI_BYTE, 0, 43, comm);
    MPI_Recv(six, 6, MPI_BYTE, 0, 43, comm, &s1);
    int n;
    MPI_Get_count(&s1, MPI_SHORT, &n);
    CHECK(n == 3);
    MPI_Get_count(&s1, MPI_INT, &n);
    CHECK(n == MPI_UNDEFINED);
    MPI_Get_elements(&s1, MPI_BYTE, &n);
    CHECK(n == 6);

    /* MPI_PROC_NULL and 0-byte messages. */
    CHECK(MPI_Send(a, 4, MPI_INT, MPI_PROC_NULL, 0, comm) == MPI_SUCCESS);
    CHECK(MPI_Recv(a, 4, MPI_INT, MPI_PROC_NULL, 0, comm, &s1) == MPI_SUCCESS);
    MPI_Get_count(&s1, MPI_INT, &n);
    CHECK(s1.MPI_SOURCE == MPI_PROC_NULL && s1.MPI_TAG == MPI_ANY_TAG && n == 0);
    CHECK(MPI_Send(NULL, 0, MPI_INT, 0, 44, comm) == MPI_SUCCESS);
    CHECK(MPI_Recv(NULL, 0, MPI_INT, 0, 44, comm, &s1) == MPI_SUCCESS);

    /* Waitany / Waitsome / Testany / Testsome / Request_get_status. */
    int x[3], y[3] = {7, 8, 9}, idx, out, ind[3], flag;
    MPI_Request r3[3];
    for (int i = 0; i < 3; i++)
        MPI_Irecv(&x[i], 1, MPI_INT, 0, 50 + i, comm, &r3[i]);
    MPI_Testany(3, r3, &idx, &flag, MPI_STATUS_IGNORE);
    CHECK(!flag && idx == MPI_UNDEFINED);
    MPI_Send(&y[1], 1, MPI_INT, 0, 51, comm);
    MPI_Request_get_status(r3[1], &flag, MPI_STATUS_IGNORE);
    CHECK(flag && r3[1] != MPI_REQUEST_NULL);
    MPI_Waitany(3, r3, &idx, &s1);
    CHECK(idx == 1 && x[1] == 8 && s1.MPI_TAG == 51 && r3[1] == MPI_REQUEST_NULL);
    MPI_Testsome(3, r3, &out, ind, MPI_STATUSES_IGNORE);
    CHECK(out == 0);
    MPI_Send(&y[0], 1, MPI_INT, 0, 50, comm);
    MPI_Send(&y[2], 1, MPI_INT, 0, 52, comm);
    MPI_Waitsome(3, r3, &out, ind, MPI_STATUSES_IGNORE);
    CHECK(out == 2 && x[0] == 7 && x[2] == 9);
    MPI_Waitsome(3, r3, &out, ind, MPI_STATUSES_IGNORE);
    CHECK(out == MPI_UNDEFINED);

    /* A send freed while in flight still completes and is delivered. */
    MPI_Request fr;
    int big = 1 << 20;
    char *bb = malloc((size_t)big), *rb = malloc((size_t)big);
    fill(bb, (size_t)big, 9);
    MPI_Isend(bb, big, MPI_CHAR, 0, 60, comm, &fr);
    MPI_Request_free(&fr);
    CHECK(fr == MPI_REQUEST_NULL);
    MPI_Recv(rb, big, MPI_CHAR, 0, 60, comm, MPI_STATUS_IGNORE);
    CHECK(same(rb, (size_t)big, 9));
    free(bb);
    free(rb);
}

static void test_huge(MPI_Comm comm)
{
    /* A message over 2 GiB: 300 M doubles = 2.4 GB. */
    const int count = 300 * 1000 * 1000;
    size_t bytes = (size_t)count * sizeof(double);
    double *s = malloc(bytes), *r = malloc(bytes);
    if (!s || !r) {
        fprintf(stderr, "self: skipping the > 2 GiB message (no memory)\n");
        free(s);
        free(r);
        return;
    }
    for (size_t i = 0; i < (size_t)count; i += 4096)
        s[i] = (double)i;
    s[count - 1] = -1.5;
    MPI_Request q;
    MPI_Status st;
    MPI_Isend(s, count, MPI_DOUBLE, 0, 70, comm, &q);
    CHECK(MPI_Recv(r, count, MPI_DOUBLE, 0, 70, comm, &st) == MPI_SUCCESS);
    MPI_Wait(&q, MPI_STATUS_IGNORE);
    MPI_Count n;
    MPI_Get_elements_x(&st, MPI_DOUBLE, &n);
    CHECK(n == count && r[count - 1] == -1.5 && r[4096 * 1000] == 4096.0 * 1000);
    free(s);
    free(r);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int size;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    test_modes(MPI_COMM_SELF);
    test_order_and_wildcards(MPI_COMM_SELF);
    test_truncate_cancel_probe(MPI_COMM_SELF);
    test_persistent_and_misc(MPI_COMM_SELF);
    if (size == 1) {
        test_modes(MPI_COMM_WORLD);
        test_order_and_wildcards(MPI_COMM_WORLD);
    }
    if (argc > 1 && strcmp(argv[1], "huge") == 0)
        test_huge(MPI_COMM_SELF);
    MPI_Finalize();
    if (failures)
        fprintf(stderr, "self: %d checks failed\n", failures);
    else
        printf("self: all checks passed\n");
    return failures ? 1 : 0;
}
