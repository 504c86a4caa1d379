/* Unidirectional bandwidth from rank 0 to rank 1 (osu_bw's method and
 * columns): windows of -W nonblocking sends, one acknowledgement each. */
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
            fprintf(stderr, "bw needs at least 2 ranks\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (o.iters == 10000) { /* osu_bw's defaults */
        o.iters = 100;
        o.iters_large = 20;
        o.warmup = 10;
    }
    if (o.min == 0)
        o.min = 1;
    MPI_Request *req = malloc(sizeof(MPI_Request) * (size_t)o.window);
    char *buf = malloc(o.max * (size_t)o.window);
    if (rank == 0) {
        printf("# Tide MPI bandwidth test (osu_bw method)\n");
        printf("%-10s%20s\n", "# Size", "Bandwidth (MB/s)");
    }
    int bad = 0;
    for (size_t n = o.min; n <= o.max; n = bench_next(n)) {
        int iters = n > 8192 ? o.iters_large : o.iters;
        int warm = o.warmup;
        for (int w = 0; w < o.window; w++)
            bench_fill(buf + (size_t)w * n, n, rank == 0 ? w : 99);
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = 0;
        for (int i = 0; i < iters + warm; i++) {
            if (i == warm)
                t0 = MPI_Wtime();
            if (rank == 0) {
                for (int w = 0; w < o.window; w++)
                    MPI_Isend(buf + (size_t)w * n, (int)n, MPI_CHAR, 1, 100, MPI_COMM_WORLD,
                              &req[w]);
                MPI_Waitall(o.window, req, MPI_STATUSES_IGNORE);
                MPI_Recv(NULL, 0, MPI_CHAR, 1, 101, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            } else if (rank == 1) {
                for (int w = 0; w < o.window; w++)
                    MPI_Irecv(buf + (size_t)w * n, (int)n, MPI_CHAR, 0, 100, MPI_COMM_WORLD,
                              &req[w]);
                MPI_Waitall(o.window, req, MPI_STATUSES_IGNORE);
                MPI_Send(NULL, 0, MPI_CHAR, 0, 101, MPI_COMM_WORLD);
            }
        }
        double t = MPI_Wtime() - t0;
        if (o.validate && rank == 1)
            for (int w = 0; w < o.window; w++)
                bad += !bench_check(buf + (size_t)w * n, n, w);
        if (rank == 0)
            printf("%-10zu%20.2f\n", n, (double)n * iters * o.window / t / 1e6);
        fflush(stdout);
    }
    if (o.validate && rank == 1)
        printf("# validation: %s\n", bad ? "FAILED" : "passed");
    free(buf);
    free(req);
    MPI_Finalize();
    return bad ? 1 : 0;
}
