/* Synchronous-send latency between ranks 0 and 1: osu_latency's ping-pong
 * with MPI_Ssend in place of MPI_Send, so every message waits for the
 * receiver to match it (an eager Ssend costs the match acknowledgement). */
#include "bench_common.h"

int main(int argc, char **argv)
{
    int rank, size;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    bench_opts_t o;
    if (bench_parse(argc, argv, &o, 4 << 20) != 0 || size < 2) {
        if (rank == 0 && size < 2)
            fprintf(stderr, "ssend_lat needs at least 2 ranks\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    char *s = bench_alloc(o.max), *r = bench_alloc(o.max);
    if (rank == 0) {
        printf("# Tide MPI Ssend latency test (osu_latency method, MPI_Ssend)\n");
        printf("%-10s%20s\n", "# Size", "Latency (us)");
    }
    int bad = 0;
    for (size_t n = o.min; n <= o.max; n = bench_next(n)) {
        int iters = n > 8192 ? o.iters_large : o.iters;
        int warm = n > 8192 ? o.warmup / 10 : o.warmup;
        bench_fill(s, n, rank);
        memset(r, 0, n);
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = 0;
        for (int i = 0; i < iters + warm; i++) {
            if (i == warm)
                t0 = MPI_Wtime();
            if (rank == 0) {
                MPI_Ssend(s, (int)n, MPI_CHAR, 1, 1, MPI_COMM_WORLD);
                MPI_Recv(r, (int)n, MPI_CHAR, 1, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            } else if (rank == 1) {
                MPI_Recv(r, (int)n, MPI_CHAR, 0, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                MPI_Ssend(s, (int)n, MPI_CHAR, 0, 1, MPI_COMM_WORLD);
            }
        }
        double t = MPI_Wtime() - t0;
        if (o.validate && rank < 2 && !bench_check(r, n, 1 - rank))
            bad++;
        if (rank == 0)
            printf("%-10zu%20.2f\n", n, t * 1e6 / (2.0 * iters));
        fflush(stdout);
        if (n == 0 && o.max == 0)
            break;
    }
    int rc = bench_validation(&o, bad);
    free(s);
    free(r);
    MPI_Finalize();
    return rc;
}
