/* Multi-pair bandwidth and message rate (osu_mbw_mr's method and columns):
 * rank i of the first half streams windows of -W nonblocking sends to rank
 * i + size/2, which acknowledges each window; the table shows the sum over
 * all pairs in MB/s and messages per second.  With 2 ranks it is one pair. */
#include "bench_common.h"

static void mbw_window(const bench_opts_t *o, char *buf, size_t n, int peer, int sender,
                       MPI_Request *req)
{
    for (int w = 0; w < o->window; w++) {
        char *b = buf + (size_t)w * n;
        if (sender)
            MPI_Isend(b, (int)n, MPI_CHAR, peer, 100, MPI_COMM_WORLD, &req[w]);
        else
            MPI_Irecv(b, (int)n, MPI_CHAR, peer, 100, MPI_COMM_WORLD, &req[w]);
    }
    MPI_Waitall(o->window, req, MPI_STATUSES_IGNORE);
    if (sender)
        MPI_Recv(NULL, 0, MPI_CHAR, peer, 101, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    else
        MPI_Send(NULL, 0, MPI_CHAR, peer, 101, MPI_COMM_WORLD);
}

int main(int argc, char **argv)
{
    int rank, size, sender;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    bench_opts_t o;
    if (bench_parse(argc, argv, &o, 4 << 20) != 0 || size < 2) {
        if (rank == 0 && size < 2)
            fprintf(stderr, "mbw_mr needs at least 2 ranks\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    bench_defaults(&o, 100, 20, 10); /* osu_mbw_mr's */
    if (o.min == 0)
        o.min = 1;
    int peer = bench_pair_peer(rank, size, &sender);
    MPI_Request *req = bench_alloc(sizeof(MPI_Request) * (size_t)o.window);
    char *buf = bench_alloc(o.max * (size_t)o.window);
    if (rank == 0) {
        printf("# Tide MPI multiple bandwidth / message rate test (osu_mbw_mr method)\n");
        printf("# [ pairs: %d ] [ window size: %d ]\n", size / 2, o.window);
        printf("%-10s%20s%20s\n", "# Size", "MB/s", "Messages/s");
    }
    int bad = 0;
    for (size_t n = o.min; n <= o.max; n = bench_next(n)) {
        int iters = n > 8192 ? o.iters_large : o.iters;
        for (int w = 0; w < o.window; w++)
            bench_fill(buf + (size_t)w * n, n, sender ? rank + w : 99);
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = 0, mb = 0, sum;
        for (int i = 0; i < iters + o.warmup && peer >= 0; i++) {
            if (i == o.warmup)
                t0 = MPI_Wtime();
            mbw_window(&o, buf, n, peer, sender, req);
        }
        if (peer >= 0 && sender)
            mb = (double)n * iters * o.window / (MPI_Wtime() - t0) / 1e6;
        if (o.validate && peer >= 0 && !sender)
            for (int w = 0; w < o.window; w++)
                bad += !bench_check(buf + (size_t)w * n, n, peer + w);
        sum = bench_sum(mb);
        if (rank == 0)
            printf("%-10zu%20.2f%20.2f\n", n, sum, sum * 1e6 / (double)n);
        fflush(stdout);
    }
    int rc = bench_validation(&o, bad);
    free(buf);
    free(req);
    MPI_Finalize();
    return rc;
}
