/* Bidirectional bandwidth between ranks 0 and 1 (osu_bibw's method and
 * columns): both ranks post a window of -W receives and -W sends at once,
 * wait for all of them, and count the bytes moved in both directions. */
#include "bench_common.h"

/* One window: -W receives from the peer, -W sends to it, all completed. */
static void bibw_window(const bench_opts_t *o, char *sbuf, char *rbuf, size_t n, int peer,
                        MPI_Request *req)
{
    int w = o->window;
    for (int i = 0; i < w; i++)
        MPI_Irecv(rbuf + (size_t)i * n, (int)n, MPI_CHAR, peer, 100, MPI_COMM_WORLD, &req[i]);
    for (int i = 0; i < w; i++)
        MPI_Isend(sbuf + (size_t)i * n, (int)n, MPI_CHAR, peer, 100, MPI_COMM_WORLD, &req[w + i]);
    MPI_Waitall(2 * w, req, MPI_STATUSES_IGNORE);
}

int main(int argc, char **argv)
{
    int rank, size;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    bench_opts_t o;
    if (bench_parse(argc, argv, &o, 4 << 20) != 0 || size < 2) {
        if (rank == 0 && size < 2)
            fprintf(stderr, "bibw needs at least 2 ranks\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    bench_defaults(&o, 100, 20, 10); /* osu_bibw's */
    if (o.min == 0)
        o.min = 1;
    MPI_Request *req = bench_alloc(sizeof(MPI_Request) * 2 * (size_t)o.window);
    char *sbuf = bench_alloc(o.max * (size_t)o.window);
    char *rbuf = bench_alloc(o.max * (size_t)o.window);
    if (rank == 0) {
        printf("# Tide MPI bidirectional bandwidth test (osu_bibw method)\n");
        printf("%-10s%20s\n", "# Size", "Bandwidth (MB/s)");
    }
    int bad = 0, peer = 1 - rank;
    for (size_t n = o.min; n <= o.max; n = bench_next(n)) {
        int iters = n > 8192 ? o.iters_large : o.iters;
        for (int w = 0; w < o.window; w++)
            bench_fill(sbuf + (size_t)w * n, n, rank * 64 + w);
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = 0;
        for (int i = 0; i < iters + o.warmup && rank < 2; i++) {
            if (i == o.warmup)
                t0 = MPI_Wtime();
            bibw_window(&o, sbuf, rbuf, n, peer, req);
        }
        double t = MPI_Wtime() - t0;
        if (o.validate && rank < 2)
            for (int w = 0; w < o.window; w++)
                bad += !bench_check(rbuf + (size_t)w * n, n, peer * 64 + w);
        if (rank == 0)
            printf("%-10zu%20.2f\n", n, 2.0 * (double)n * iters * o.window / t / 1e6);
        fflush(stdout);
    }
    int rc = bench_validation(&o, bad);
    free(sbuf);
    free(rbuf);
    free(req);
    MPI_Finalize();
    return rc;
}
