/* Point-to-point semantics between processes, as MPI 4.1 chapter 3 states
 * them.  Each subtest is chosen by name on the command line (default: all
 * that fit the job size):
 *   ssend     Ssend does not complete before the receiver posts its receive
 *   eager     an eager Send completes before the receive is posted
 *   order     non-overtaking across mixed eager/rendezvous sizes
 *   anysrc    ANY_SOURCE from every other rank, no sender starves
 *   trunc     truncation gives MPI_ERR_TRUNCATE and consumes the message
 *   cancel    a pending receive can be cancelled
 *   modes     every send mode, probes and persistent requests to a peer
 *   pingpong  data integrity over many sizes, both directions
 *   threads   4 threads per rank exchange on distinct tags (THREAD_MULTIPLE)
 *   overlap   a large Isend progresses while its sender computes (3 s)
 * Failures print "p2p FAIL" with the reason and the rank exits 1. */
#include <mpi.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int rank, size, failures;

#define CHECK_PREFIX "p2p FAIL"
#define CHECK_RANK   rank
#include "check.h"

static void fill(unsigned char *b, size_t n, unsigned seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = (unsigned char)(x >> 16);
    }
}

static int check_fill(const unsigned char *b, size_t n, unsigned seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        if (b[i] != (unsigned char)(x >> 16))
            return 0;
    }
    return 1;
}

/* Ssend completes only after the receive was posted: rank 1 posts late and
 * tells rank 0 when (same host clock); rank 0's Ssend must return after. */
static void test_ssend(void)
{
    int v = 42;
    if (rank == 0) {
        MPI_Ssend(&v, 1, MPI_INT, 1, 1, MPI_COMM_WORLD);
        double done = MPI_Wtime(), posted;
        MPI_Recv(&posted, 1, MPI_DOUBLE, 1, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        CHECK(done >= posted, "Ssend returned %.6f s before the receive was posted", posted - done);
        /* A large synchronous send too (rendezvous). */
        int n = 1 << 20;
        char *b = calloc((size_t)n, 1);
        MPI_Ssend(b, n, MPI_CHAR, 1, 3, MPI_COMM_WORLD);
        done = MPI_Wtime();
        MPI_Recv(&posted, 1, MPI_DOUBLE, 1, 4, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        CHECK(done >= posted, "large Ssend returned before the receive was posted");
        free(b);
    } else if (rank == 1) {
        usleep(300000);
        double posted = MPI_Wtime();
        MPI_Recv(&v, 1, MPI_INT, 0, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Send(&posted, 1, MPI_DOUBLE, 0, 2, MPI_COMM_WORLD);
        int n = 1 << 20;
        char *b = malloc((size_t)n);
        usleep(300000);
        posted = MPI_Wtime();
        MPI_Recv(b, n, MPI_CHAR, 0, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Send(&posted, 1, MPI_DOUBLE, 0, 4, MPI_COMM_WORLD);
        free(b);
    }
}

/* An eager send completes while the receiver is not receiving: rank 1
 * posts the receive only after rank 0 has told it (another tag) that its
 * Send returned.  Load cannot make this fail; a Send that waited for the
 * receive would leave rank 1 without the news for 20 s. */
static void test_eager(void)
{
    char b[64] = "eager";
    int news = 0;
    if (rank == 0) {
        MPI_Send(b, sizeof(b), MPI_CHAR, 1, 5, MPI_COMM_WORLD);
        news = 1;
        MPI_Send(&news, 1, MPI_INT, 1, 6, MPI_COMM_WORLD);
    } else if (rank == 1) {
        MPI_Request r;
        int got = 0;
        MPI_Irecv(&news, 1, MPI_INT, 0, 6, MPI_COMM_WORLD, &r);
        double t0 = MPI_Wtime();
        while (!got && MPI_Wtime() - t0 < 20.0) {
            MPI_Test(&r, &got, MPI_STATUS_IGNORE);
            if (!got)
                usleep(1000);
        }
        CHECK(got && news == 1, "eager Send waited for the receive (no news after %.1f s)",
              MPI_Wtime() - t0);
        MPI_Recv(b, sizeof(b), MPI_CHAR, 0, 5, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        CHECK(strcmp(b, "eager") == 0, "payload");
        if (!got)
            MPI_Wait(&r, MPI_STATUS_IGNORE);
    }
}

/* Non-overtaking across protocols: sizes cycle through eager and
 * rendezvous; the receiver checks the sequence and the contents. */
static void test_order(void)
{
    static const int sizes[] = {0, 1, 100, 70000, 8, 300000, 65536, 65537, 5, 1 << 21};
    enum { NS = sizeof(sizes) / sizeof(sizes[0]), ROUNDS = 3 };
    size_t max = 1 << 21;
    unsigned char *b = malloc(max + 8);
    if (rank == 0) {
        MPI_Request req[NS];
        unsigned char *bufs[NS];
        for (int r = 0; r < ROUNDS; r++) {
            for (int i = 0; i < NS; i++) {
                bufs[i] = malloc((size_t)sizes[i] + 1);
                fill(bufs[i], (size_t)sizes[i], (unsigned)(r * NS + i));
                MPI_Isend(bufs[i], sizes[i], MPI_BYTE, 1, 7, MPI_COMM_WORLD, &req[i]);
            }
            MPI_Waitall(NS, req, MPI_STATUSES_IGNORE);
            for (int i = 0; i < NS; i++)
                free(bufs[i]);
        }
    } else if (rank == 1) {
        for (int r = 0; r < ROUNDS; r++) {
            for (int i = 0; i < NS; i++) {
                MPI_Status st;
                int n;
                MPI_Recv(b, (int)max, MPI_BYTE, 0, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
                MPI_Get_count(&st, MPI_BYTE, &n);
                CHECK(n == sizes[i], "round %d message %d: got %d bytes, want %d", r, i, n,
                      sizes[i]);
                CHECK(check_fill(b, (size_t)n, (unsigned)(r * NS + i)),
                      "round %d message %d: contents", r, i);
            }
        }
    }
    free(b);
}

/* Every other rank sends N messages; rank 0 receives with ANY_SOURCE and
 * checks each sender's sequence and that all are served. */
static void test_anysrc(void)
{
    enum { N = 200 };
    if (rank == 0) {
        int *next = calloc((size_t)size, sizeof(int));
        for (int k = 0; k < N * (size - 1); k++) {
            int v[2];
            MPI_Status st;
            MPI_Recv(v, 2, MPI_INT, MPI_ANY_SOURCE, 8, MPI_COMM_WORLD, &st);
            CHECK(v[0] == st.MPI_SOURCE && v[1] == next[st.MPI_SOURCE],
                  "from %d got seq %d want %d", st.MPI_SOURCE, v[1], next[st.MPI_SOURCE]);
            next[st.MPI_SOURCE]++;
        }
        for (int s = 1; s < size; s++)
            CHECK(next[s] == N, "rank %d delivered %d of %d", s, next[s], N);
        free(next);
    } else {
        for (int i = 0; i < N; i++) {
            int v[2] = {rank, i};
            MPI_Send(v, 2, MPI_INT, 0, 8, MPI_COMM_WORLD);
        }
    }
}

static void test_trunc(void)
{
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    for (int big = 0; big < 2; big++) {
        int n = big ? 200000 : 100;
        unsigned char *b = malloc((size_t)n);
        if (rank == 0) {
            fill(b, (size_t)n, 9);
            MPI_Send(b, n, MPI_BYTE, 1, 9, MPI_COMM_WORLD);
            int after = 77;
            MPI_Send(&after, 1, MPI_INT, 1, 9, MPI_COMM_WORLD);
        } else if (rank == 1) {
            MPI_Status st;
            int got, err = MPI_Recv(b, n / 2, MPI_BYTE, 0, 9, MPI_COMM_WORLD, &st);
            MPI_Get_count(&st, MPI_BYTE, &got);
            CHECK(err == MPI_ERR_TRUNCATE, "want MPI_ERR_TRUNCATE, got %d (size %d)", err, n);
            CHECK(got == n / 2 && check_fill(b, (size_t)(n / 2), 9), "truncated contents");
            int after = 0;
            MPI_Recv(&after, 1, MPI_INT, 0, 9, MPI_COMM_WORLD, &st);
            CHECK(after == 77, "the truncated message was not consumed");
        }
        free(b);
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
}

static void test_cancel(void)
{
    if (rank == 1) {
        int v = 0, flag;
        MPI_Request r;
        MPI_Status st;
        MPI_Irecv(&v, 1, MPI_INT, 0, 10, MPI_COMM_WORLD, &r);
        MPI_Cancel(&r);
        MPI_Wait(&r, &st);
        MPI_Test_cancelled(&st, &flag);
        CHECK(flag, "the pending receive was not cancelled");
    }
    MPI_Barrier(MPI_COMM_WORLD);
    int v = 5;
    if (rank == 0)
        MPI_Send(&v, 1, MPI_INT, 1, 10, MPI_COMM_WORLD);
    else if (rank == 1) {
        v = 0;
        MPI_Recv(&v, 1, MPI_INT, 0, 10, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        CHECK(v == 5, "message after the cancelled receive went astray");
    }
}

static void test_modes(void)
{
    enum { BIG = 300000 };
    unsigned char *b = malloc(BIG), *bb = malloc(BIG + MPI_BSEND_OVERHEAD);
    int peer = 1 - rank;
    if (rank > 1)
        goto out;
    for (int big = 0; big < 2; big++) {
        int n = big ? BIG : 512;
        if (rank == 0) {
            fill(b, (size_t)n, 20);
            MPI_Ssend(b, n, MPI_BYTE, peer, 20, MPI_COMM_WORLD);
            MPI_Buffer_attach(bb, BIG + MPI_BSEND_OVERHEAD);
            MPI_Bsend(b, n, MPI_BYTE, peer, 21, MPI_COMM_WORLD);
            void *x;
            int xs;
            MPI_Buffer_detach(&x, &xs);
            MPI_Recv(NULL, 0, MPI_BYTE, peer, 22, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Rsend(b, n, MPI_BYTE, peer, 23, MPI_COMM_WORLD);
            MPI_Request r;
            MPI_Send_init(b, n, MPI_BYTE, peer, 24, MPI_COMM_WORLD, &r);
            for (int i = 0; i < 3; i++) {
                MPI_Start(&r);
                MPI_Wait(&r, MPI_STATUS_IGNORE);
            }
            MPI_Request_free(&r);
        } else {
            MPI_Status st;
            int cnt;
            for (int t = 20; t <= 21; t++) {
                MPI_Probe(peer, t, MPI_COMM_WORLD, &st);
                MPI_Get_count(&st, MPI_BYTE, &cnt);
                CHECK(cnt == n, "probe count %d want %d", cnt, n);
                MPI_Message m;
                MPI_Mprobe(peer, t, MPI_COMM_WORLD, &m, &st);
                memset(b, 0, (size_t)n);
                MPI_Mrecv(b, n, MPI_BYTE, &m, &st);
                CHECK(check_fill(b, (size_t)n, 20), "mode tag %d contents", t);
            }
            MPI_Request r;
            MPI_Irecv(b, n, MPI_BYTE, peer, 23, MPI_COMM_WORLD, &r);
            MPI_Send(NULL, 0, MPI_BYTE, peer, 22, MPI_COMM_WORLD); /* receive is posted */
            MPI_Wait(&r, MPI_STATUS_IGNORE);
            CHECK(check_fill(b, (size_t)n, 20), "Rsend contents");
            MPI_Recv_init(b, n, MPI_BYTE, peer, 24, MPI_COMM_WORLD, &r);
            for (int i = 0; i < 3; i++) {
                memset(b, 0, (size_t)n);
                MPI_Start(&r);
                MPI_Wait(&r, MPI_STATUS_IGNORE);
                CHECK(check_fill(b, (size_t)n, 20), "persistent receive %d", i);
            }
            MPI_Request_free(&r);
        }
    }
out:
    free(b);
    free(bb);
}

static void test_pingpong(void)
{
    if (rank > 1)
        return;
    int peer = 1 - rank;
    size_t max = 4 << 20;
    unsigned char *b = malloc(max);
    for (size_t n = 0; n <= max; n = n ? n * 3 + 1 : 1) {
        for (int dir = 0; dir < 2; dir++) {
            if (rank == dir) {
                fill(b, n, (unsigned)n);
                MPI_Send(b, (int)n, MPI_BYTE, peer, 30, MPI_COMM_WORLD);
            } else {
                MPI_Status st;
                int cnt;
                memset(b, 0, n);
                MPI_Recv(b, (int)max, MPI_BYTE, peer, 30, MPI_COMM_WORLD, &st);
                MPI_Get_count(&st, MPI_BYTE, &cnt);
                CHECK((size_t)cnt == n && check_fill(b, n, (unsigned)n), "size %zu direction %d", n,
                      dir);
            }
        }
    }
    free(b);
}

typedef struct {
    int tid;
} thr_arg_t;

static void *thr_main(void *argp)
{
    thr_arg_t *a = argp;
    int peer = rank ^ 1;
    if (peer >= size)
        return NULL;
    for (int i = 0; i < 200; i++) {
        int n = (i % 7 == 0) ? 100000 : 64;
        unsigned char *s = malloc((size_t)n), *r = malloc((size_t)n);
        fill(s, (size_t)n, (unsigned)(rank * 1000 + a->tid * 10 + i));
        MPI_Request q[2];
        MPI_Irecv(r, n, MPI_BYTE, peer, 100 + a->tid, MPI_COMM_WORLD, &q[0]);
        MPI_Isend(s, n, MPI_BYTE, peer, 100 + a->tid, MPI_COMM_WORLD, &q[1]);
        MPI_Waitall(2, q, MPI_STATUSES_IGNORE);
        CHECK(check_fill(r, (size_t)n, (unsigned)(peer * 1000 + a->tid * 10 + i)),
              "thread %d iteration %d", a->tid, i);
        free(s);
        free(r);
    }
    return NULL;
}

static void test_threads(void)
{
    int prov;
    MPI_Query_thread(&prov);
    if (prov != MPI_THREAD_MULTIPLE) {
        CHECK(0, "MPI_THREAD_MULTIPLE not provided (%d)", prov);
        return;
    }
    pthread_t t[4];
    thr_arg_t a[4];
    for (int i = 0; i < 4; i++) {
        a[i].tid = i;
        pthread_create(&t[i], NULL, thr_main, &a[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
}

/* Rank 0 starts a large Isend and computes for 3 s without calling MPI;
 * rank 1's receive must complete well before rank 0 waits (at least 1 s
 * before: the 8 MiB need ~10 ms on an idle machine, so this leaves room
 * for a loaded one, while without progress the receive would end after). */
static void test_overlap(void)
{
    int n = 8 << 20; /* rendezvous, several windows of the stream */
    unsigned char *b = malloc((size_t)n);
    if (rank == 0) {
        fill(b, (size_t)n, 40);
        MPI_Request r;
        MPI_Isend(b, n, MPI_BYTE, 1, 40, MPI_COMM_WORLD, &r);
        double t0 = MPI_Wtime();
        volatile double x = 0;
        while (MPI_Wtime() - t0 < 3.0)
            x += 1.0; /* compute, no MPI */
        double waited = MPI_Wtime(), recvd;
        MPI_Wait(&r, MPI_STATUS_IGNORE);
        MPI_Recv(&recvd, 1, MPI_DOUBLE, 1, 41, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        CHECK(recvd < waited - 1.0,
              "the receive completed only %.3f s before the sender "
              "waited: no progress while computing",
              waited - recvd);
    } else if (rank == 1) {
        MPI_Recv(b, n, MPI_BYTE, 0, 40, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        double t = MPI_Wtime();
        CHECK(check_fill(b, (size_t)n, 40), "overlap contents");
        MPI_Send(&t, 1, MPI_DOUBLE, 0, 41, MPI_COMM_WORLD);
    }
    free(b);
}

static const struct {
    const char *name;
    void (*fn)(void);
    int min_size;
} tests[] = {
    {"ssend", test_ssend, 2},     {"eager", test_eager, 2},       {"order", test_order, 2},
    {"anysrc", test_anysrc, 2},   {"trunc", test_trunc, 2},       {"cancel", test_cancel, 2},
    {"modes", test_modes, 2},     {"pingpong", test_pingpong, 2}, {"threads", test_threads, 2},
    {"overlap", test_overlap, 2},
};

int main(int argc, char **argv)
{
    int prov;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &prov);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        int want = argc == 1 && strcmp(tests[i].name, "overlap") != 0;
        for (int a = 1; a < argc; a++)
            want |= strcmp(argv[a], tests[i].name) == 0;
        if (!want || size < tests[i].min_size)
            continue;
        int before = failures;
        tests[i].fn();
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == 0)
            printf("p2p %-9s %s\n", tests[i].name, failures == before ? "ok" : "FAILED");
        fflush(stdout);
    }
    MPI_Finalize();
    return failures ? 1 : 0;
}
