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
    case 'k': case 'K': v *= 1024; break;
    case 'm': case 'M': v *= 1024 * 1024; break;
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

#endif
