/* Communication/computation overlap of a nonblocking exchange between
 * ranks 0 and 1, measured the way the OSU nonblocking benchmarks do: each
 * rank posts MPI_Irecv + MPI_Isend, computes without calling MPI for as
 * long as the bare exchange takes ("pure"), then waits.  If the library
 * moves the data while the application computes, the wait is short:
 *   overlap % = 100 * (1 - (overall - compute) / pure), clamped to 0..100.
 * Columns follow osu_iallgather's; values are averages over both ranks. */
#include "bench_common.h"

typedef struct ovl_bufs {
    char *s, *r;
    int peer;
    MPI_Request req[2];
} ovl_bufs_t;

/* One exchange: post, optionally compute, wait.  Returns its duration. */
static double ovl_once(ovl_bufs_t *b, size_t n, double compute)
{
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = bench_now();
    MPI_Irecv(b->r, (int)n, MPI_CHAR, b->peer, 7, MPI_COMM_WORLD, &b->req[0]);
    MPI_Isend(b->s, (int)n, MPI_CHAR, b->peer, 7, MPI_COMM_WORLD, &b->req[1]);
    if (compute > 0)
        bench_compute(compute);
    MPI_Waitall(2, b->req, MPI_STATUSES_IGNORE);
    return bench_now() - t0;
}

/* Average over `iters' timed exchanges after `warm' untimed ones. */
static double ovl_avg(ovl_bufs_t *b, size_t n, double compute, int iters, int warm)
{
    double sum = 0;
    for (int i = 0; i < iters + warm; i++) {
        double t = ovl_once(b, n, compute);
        if (i >= warm)
            sum += t;
    }
    return sum / iters;
}

static double ovl_mean2(double v)
{
    return bench_sum(v) / 2;
}

int main(int argc, char **argv)
{
    int rank, size;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    bench_opts_t o;
    if (bench_parse(argc, argv, &o, 4 << 20) != 0 || size != 2) {
        if (rank == 0 && size != 2)
            fprintf(stderr, "overlap needs exactly 2 ranks\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    bench_defaults(&o, 200, 50, 10);
    if (o.min == 0)
        o.min = 1024;
    ovl_bufs_t b = {.s = bench_alloc(o.max), .r = bench_alloc(o.max), .peer = 1 - rank};
    if (rank == 0) {
        printf("# Tide MPI overlap test: Isend/Irecv exchange while computing without MPI\n");
        printf("%-10s%18s%18s%18s%18s\n", "# Size", "Overall(us)", "Compute(us)", "Pure Comm.(us)",
               "Overlap(%)");
    }
    int bad = 0;
    for (size_t n = o.min; n <= o.max; n = bench_next(n)) {
        int iters = n > 8192 ? o.iters_large : o.iters;
        bench_fill(b.s, n, rank);
        memset(b.r, 0, n);
        double pure = ovl_mean2(ovl_avg(&b, n, 0, iters, o.warmup));
        double overall = ovl_mean2(ovl_avg(&b, n, pure, iters, o.warmup));
        double ovl = 100.0 * (1.0 - (overall - pure) / pure);
        ovl = ovl < 0 ? 0 : ovl > 100 ? 100 : ovl;
        if (o.validate && !bench_check(b.r, n, b.peer))
            bad++;
        if (rank == 0)
            printf("%-10zu%18.2f%18.2f%18.2f%18.2f\n", n, overall * 1e6, pure * 1e6, pure * 1e6,
                   ovl);
        fflush(stdout);
    }
    int rc = bench_validation(&o, bad);
    free(b.s);
    free(b.r);
    MPI_Finalize();
    return rc;
}
