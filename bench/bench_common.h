/* Shared option parsing and buffers of Tide's MPI benchmarks.  The options
 * and output columns follow the OSU micro-benchmarks, so results compare
 * line by line; the programs are plain MPI and build against any MPI. */
#ifndef TIDE_BENCH_COMMON_H
#define TIDE_BENCH_COMMON_H

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct bench_opts {
    size_t min, max; /* -m min:max */
    int iters;       /* -i */
    int warmup;      /* -x */
    int window;      /* -W */
    int iters_large; /* iterations above 8 KiB */
    int validate;    /* -c: check the data */
} bench_opts_t;

static void bench_usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [-m [min:]max] [-i iterations] [-x warmup] [-W window] [-c]\n"
            "  -m  message sizes in bytes, powers of two from min to max (default 0:4194304)\n"
            "  -i  timed iterations per size (default 10000; 1000 above 8 KiB)\n"
            "  -x  untimed warm-up iterations (default 200; 20 above 8 KiB)\n"
            "  -W  messages in flight per iteration for bandwidth tests (default 64)\n"
            "  -c  validate the received data\n",
            prog);
}

static size_t bench_size(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    switch (*end) {
    case 'k':
    case 'K': v *= 1024; break;
    case 'm':
    case 'M': v *= 1024 * 1024; break;
    }
    return (size_t)v;
}

static int bench_parse(int argc, char **argv, bench_opts_t *o, size_t default_max)
{
    o->min = 0;
    o->max = default_max;
    o->iters = 10000;
    o->iters_large = 1000;
    o->warmup = 200;
    o->window = 64;
    o->validate = 0;
    int c;
    while ((c = getopt(argc, argv, "m:i:x:W:ch")) != -1) {
        switch (c) {
        case 'm': {
            char *colon = strchr(optarg, ':');
            if (colon) {
                o->min = bench_size(optarg);
                o->max = bench_size(colon + 1);
            } else {
                o->max = bench_size(optarg);
            }
            break;
        }
        case 'i': o->iters = o->iters_large = atoi(optarg); break;
        case 'x': o->warmup = atoi(optarg); break;
        case 'W': o->window = atoi(optarg); break;
        case 'c': o->validate = 1; break;
        default: bench_usage(argv[0]); return -1;
        }
    }
    if (o->iters < 1 || o->window < 1 || o->min > o->max) {
        bench_usage(argv[0]);
        return -1;
    }
    return 0;
}

static size_t bench_next(size_t n)
{
    return n ? n * 2 : 1;
}

static void bench_fill(char *b, size_t n, int seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (char)(seed + (int)(i % 251));
}

static int bench_check(const char *b, size_t n, int seed)
{
    for (size_t i = 0; i < n; i++)
        if (b[i] != (char)(seed + (int)(i % 251)))
            return 0;
    return 1;
}

/* ---- shared by the multi-pair, Ssend and overlap benchmarks (static
 * inline: a program that does not use one gets no warning) ---- */

#include <time.h>

/* Default iteration counts a program wants when the user gave no -i/-x
 * (bench_parse's defaults are osu_latency's). */
static inline void bench_defaults(bench_opts_t *o, int iters, int iters_large, int warmup)
{
    if (o->iters == 10000 && o->iters_large == 1000 && o->warmup == 200) {
        o->iters = iters;
        o->iters_large = iters_large;
        o->warmup = warmup;
    }
}

static inline void *bench_alloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "out of memory (%zu bytes)\n", n);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    memset(p, 0, n ? n : 1);
    return p;
}

/* Pairs of the multi-pair tests (osu_mbw_mr, osu_multi_lat): rank i of the
 * first half talks to rank i + size/2.  Returns the peer, -1 for an odd
 * last rank that sits out; *sender is 1 in the first half. */
static inline int bench_pair_peer(int rank, int size, int *sender)
{
    int half = size / 2;
    *sender = rank < half;
    if (rank >= 2 * half)
        return -1;
    return rank < half ? rank + half : rank - half;
}

/* Wall clock without MPI: the overlap test's "computation" must not call
 * the library (MPI_Wtime could progress it). */
static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Busy computation for about `seconds', touching a little memory so it is
 * not optimised away; no MPI call inside. */
static inline double bench_compute(double seconds)
{
    volatile double x = 1.0;
    double end = bench_now() + seconds;
    while (bench_now() < end)
        for (int i = 0; i < 100; i++)
            x = x * 1.0000001 + 1e-9;
    return x;
}

/* Sum of one value over all ranks, on every rank.  Point-to-point only, so
 * the programs need no collective but MPI_Barrier from the library. */
static inline double bench_sum(double v)
{
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (rank != 0) {
        MPI_Send(&v, 1, MPI_DOUBLE, 0, 32000, MPI_COMM_WORLD);
        MPI_Recv(&v, 1, MPI_DOUBLE, 0, 32001, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        return v;
    }
    for (int r = 1; r < size; r++) {
        double x;
        MPI_Recv(&x, 1, MPI_DOUBLE, r, 32000, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        v += x;
    }
    for (int r = 1; r < size; r++)
        MPI_Send(&v, 1, MPI_DOUBLE, r, 32001, MPI_COMM_WORLD);
    return v;
}

/* Every rank passes its count of bad buffers; rank 0 prints one line.
 * Returns the exit code for main (0 when all passed). */
static inline int bench_validation(const bench_opts_t *o, int bad)
{
    int rank, total;
    if (!o->validate)
        return 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    total = (int)bench_sum((double)bad);
    if (rank == 0)
        printf("# validation: %s\n", total ? "FAILED" : "passed");
    return total ? 1 : 0;
}

#endif
