/* Multi-pair latency (osu_multi_lat's method and columns): every pair
 * (rank i, rank i + size/2) runs its own ping-pong at the same time; the
 * table shows half the round trip averaged over all pairs. */
#include "bench_common.h"

static void lat_iter(char *s, char *r, size_t n, int peer, int sender)
{
    if (sender) {
        MPI_Send(s, (int)n, MPI_CHAR, peer, 1, MPI_COMM_WORLD);
        MPI_Recv(r, (int)n, MPI_CHAR, peer, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    } else {
        MPI_Recv(r, (int)n, MPI_CHAR, peer, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Send(s, (int)n, MPI_CHAR, peer, 1, MPI_COMM_WORLD);
    }
}

int main(int argc, char **argv)
{
    int rank, size, sender;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    bench_opts_t o;
    if (bench_parse(argc, argv, &o, 1 << 20) != 0 || size < 2) {
        if (rank == 0 && size < 2)
            fprintf(stderr, "multi_lat needs at least 2 ranks\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    int peer = bench_pair_peer(rank, size, &sender), pairs = size / 2;
    char *s = bench_alloc(o.max), *r = bench_alloc(o.max);
    if (rank == 0) {
        printf("# Tide MPI multi-pair latency test (osu_multi_lat method)\n");
        printf("# [ pairs: %d ]\n", pairs);
        printf("%-10s%20s\n", "# Size", "Latency (us)");
    }
    int bad = 0;
    for (size_t n = o.min; n <= o.max; n = bench_next(n)) {
        int iters = n > 8192 ? o.iters_large : o.iters;
        int warm = n > 8192 ? o.warmup / 10 : o.warmup;
        bench_fill(s, n, rank);
        memset(r, 0, n);
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = 0, lat = 0, sum;
        for (int i = 0; i < iters + warm && peer >= 0; i++) {
            if (i == warm)
                t0 = MPI_Wtime();
            lat_iter(s, r, n, peer, sender);
        }
        if (peer >= 0) {
            lat = (MPI_Wtime() - t0) * 1e6 / (2.0 * iters);
            if (o.validate && !bench_check(r, n, peer))
                bad++;
        }
        sum = bench_sum(lat);
        if (rank == 0)
            printf("%-10zu%20.2f\n", n, sum / (2.0 * pairs));
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
