/* The progress thread together with MPI_THREAD_MULTIPLE, for ThreadSanitizer
 * (test/hardening/t-sanitize.sh).  Each rank runs NTHR application threads
 * that exchange checksummed messages with the same thread of the partner
 * rank (rank ^ 1) at once: eager (64 B) and rendezvous (300 KB, more than
 * one DATA chunk) sizes, Isend/Irecv then compute outside MPI for a few
 * milliseconds, longer than the 1 ms after which the asynchronous progress
 * thread takes over (src/p2p/net.c), so that thread moves handshakes, CTS
 * and DATA while the application threads are out, and the application
 * threads come back into MPI_Test/MPI_Wait while it may still be running.
 * Every other iteration uses a blocking MPI_Sendrecv instead, and thread 0
 * receives with MPI_ANY_SOURCE.  Prints how many requests were found
 * complete at the first MPI_Test after computing (work done by the
 * progress thread); exits non-zero on any wrong byte or MPI error.
 *   mt_progress [iterations]   (default 40) */
#include <mpi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NTHR 4
#define BIG  (300 * 1000)

static int rank, size, errors, mt_iters = 40;
static int done_early; /* requests complete at the first test after computing */
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;

static void fill(unsigned char *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)(seed * 31u + i * 7u + (i >> 8));
}

static int check(const unsigned char *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (b[i] != (unsigned char)(seed * 31u + i * 7u + (i >> 8)))
            return 0;
    return 1;
}

/* Work outside MPI for about ms milliseconds (no memory MPI owns). */
static unsigned compute(int ms)
{
    struct timespec t0, t;
    unsigned x = 1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        for (int i = 0; i < 1000; i++)
            x = x * 1103515245u + 12345u;
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
    return x;
}

static void fail(int tid, int it, const char *what)
{
    fprintf(stderr, "mt_progress: rank %d thread %d iteration %d: %s\n", rank, tid, it, what);
    __atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
}

static void exchange_nb(int tid, unsigned char *s, unsigned char *r, int n, int peer)
{
    MPI_Request q[2];
    int src = tid == 0 ? MPI_ANY_SOURCE : peer, flag = 0;
    MPI_Irecv(r, n, MPI_BYTE, src, 100 + tid, MPI_COMM_WORLD, &q[0]);
    MPI_Isend(s, n, MPI_BYTE, peer, 100 + tid, MPI_COMM_WORLD, &q[1]);
    volatile unsigned sink = compute(3 + tid % 2);
    (void)sink;
    MPI_Testall(2, q, &flag, MPI_STATUSES_IGNORE);
    if (flag) {
        pthread_mutex_lock(&count_lock);
        done_early++;
        pthread_mutex_unlock(&count_lock);
    } else {
        MPI_Waitall(2, q, MPI_STATUSES_IGNORE);
    }
}

static void *thr_main(void *argp)
{
    int tid = (int)(long)argp, peer = rank ^ 1;
    unsigned char *s = malloc(BIG), *r = malloc(BIG);
    if (!s || !r) {
        fail(tid, -1, "out of memory");
        return NULL;
    }
    for (int it = 0; it < mt_iters; it++) {
        int n = (it % 3 == 0) ? BIG : 64;
        fill(s, (size_t)n, (unsigned)(rank * 10000 + tid * 1000 + it));
        memset(r, 0, (size_t)n);
        if (it % 2)
            MPI_Sendrecv(s, n, MPI_BYTE, peer, 200 + tid, r, n, MPI_BYTE, peer, 200 + tid,
                         MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        else
            exchange_nb(tid, s, r, n, peer);
        if (!check(r, (size_t)n, (unsigned)(peer * 10000 + tid * 1000 + it)))
            fail(tid, it, n == BIG ? "wrong bytes (300 KB)" : "wrong bytes (64 B)");
    }
    free(s);
    free(r);
    return NULL;
}

int main(int argc, char **argv)
{
    int prov;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &prov);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc > 1)
        mt_iters = atoi(argv[1]);
    if (prov != MPI_THREAD_MULTIPLE || size % 2) {
        fprintf(stderr, "mt_progress: needs MPI_THREAD_MULTIPLE (got %d) and an even size\n", prov);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    pthread_t t[NTHR];
    for (long i = 0; i < NTHR; i++)
        pthread_create(&t[i], NULL, thr_main, (void *)i);
    for (int i = 0; i < NTHR; i++)
        pthread_join(t[i], NULL);
    int all = 0, early = done_early, err = errors;
    MPI_Allreduce(&err, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    printf("mt_progress: rank %d: %d threads x %d iterations, %d nonblocking exchanges "
           "complete at the first test after computing, %d errors in the job\n",
           rank, NTHR, mt_iters, early, all);
    MPI_Finalize();
    return all ? 1 : 0;
}
