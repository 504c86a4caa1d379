/* Process failure beyond the named peer (test/fault/t-ulfm.sh;
 * doc/reliability.md): the last rank kills itself with SIGKILL while the
 * others sit in one operation, under MPI_ERRORS_RETURN.
 *
 *   ulfm OP LIMIT     OP is what the survivors sit in when the victim dies:
 *                     anysource (MPI_Recv from MPI_ANY_SOURCE), barrier,
 *                     allreduce, bcast (1 MiB rooted at rank 0, a survivor),
 *                     ibarrier (MPI_Ibarrier + MPI_Wait).
 *
 * Every survivor must get MPI_ERR_PROC_FAILED from it no earlier than the
 * kill and at most LIMIT seconds after it.  Then every survivor checks the
 * later calls: each of those collectives fails at once with
 * MPI_ERR_PROC_FAILED, a blocking ANY_SOURCE receive and probe too, a
 * nonblocking one gives MPI_ERR_PROC_FAILED_PENDING from MPI_Test, MPI_Wait
 * and MPI_Waitany and stays pending; the survivors exchange checksummed messages among themselves
 * (named sources) on MPI_COMM_WORLD; after MPIX_Comm_failure_ack (whose
 * group is exactly the victim) the pending ANY_SOURCE request matches a
 * survivor's message; a communicator of the survivors made before the
 * kill still runs collectives.  Only rank 0 talks to the victim before it
 * dies (so without the runtime's failure event the others learn it from
 * rank 0's notice).  With ULFM_ISOLATE set, the victim runs that command at
 * the kill time instead of dying (t-ulfm.sh takes its link down for good),
 * stays alive and cut off for LIMIT + 3 s, then kills itself.  Each
 * survivor prints "rank R: OK ..." on success; exit 1 on any failed
 * check.  No wait is unbounded: a hang is caught by mpirun --timeout
 * of the script. */
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BIG (1 << 20)

static int rank, size, victim;
static double limit;
static MPI_Comm surv = MPI_COMM_NULL; /* the survivors-to-be, split off before the kill */

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts); /* one host: the ranks share it */
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cls_of(int rc)
{
    int c = rc;
    if (rc != MPI_SUCCESS)
        MPI_Error_class(rc, &c);
    return c;
}

#define CHECK(cond, ...)                             \
    do {                                             \
        if (!(cond)) {                               \
            fprintf(stderr, "rank %d: FAIL ", rank); \
            fprintf(stderr, __VA_ARGS__);            \
            fprintf(stderr, "\n");                   \
            fflush(stderr);                          \
            return 1;                                \
        }                                            \
    } while (0)

/* One collective (or ANY_SOURCE receive) by name; returns its error code. */
static int run_op(const char *op, char *big)
{
    int x = rank, y = 0;
    if (!strcmp(op, "anysource"))
        return MPI_Recv(&y, 1, MPI_INT, MPI_ANY_SOURCE, 5, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (!strcmp(op, "barrier"))
        return MPI_Barrier(MPI_COMM_WORLD);
    if (!strcmp(op, "allreduce"))
        return MPI_Allreduce(&x, &y, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (!strcmp(op, "bcast"))
        return MPI_Bcast(big, BIG, MPI_BYTE, 0, MPI_COMM_WORLD);
    if (!strcmp(op, "ibarrier")) {
        MPI_Request r;
        int rc = MPI_Ibarrier(MPI_COMM_WORLD, &r);
        return rc ? rc : MPI_Wait(&r, MPI_STATUS_IGNORE);
    }
    fprintf(stderr, "unknown op %s\n", op);
    exit(2);
}

/* Rank 0 gives every rank the moment the victim dies (a wall-clock time),
 * talking point-to-point with each; nobody else talks to the victim. */
static double agree_kill_time(void)
{
    double t = 0;
    int ready = 1;
    if (rank == 0) {
        for (int i = 1; i < size; i++)
            MPI_Recv(&ready, 1, MPI_INT, i, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        t = wall() + 1.0;
        for (int i = 1; i < size; i++)
            MPI_Send(&t, 1, MPI_DOUBLE, i, 2, MPI_COMM_WORLD);
        printf("started\n");
        fflush(stdout);
    } else {
        MPI_Send(&ready, 1, MPI_INT, 0, 1, MPI_COMM_WORLD);
        MPI_Recv(&t, 1, MPI_DOUBLE, 0, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
    return t;
}

/* After the failure is known: every collective and ANY_SOURCE receive
 * fails at once. */
static int later_calls(char *big, MPI_Request *pending)
{
    static const char *ops[] = {"anysource", "barrier", "allreduce", "bcast", "ibarrier"};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        double t = wall();
        int c = cls_of(run_op(ops[i], big));
        CHECK(c == MPI_ERR_PROC_FAILED && wall() - t < 1.0,
              "later %s gave class %d in %.2f s (want MPI_ERR_PROC_FAILED at once)", ops[i], c,
              wall() - t);
    }
    MPI_Comm dup = MPI_COMM_NULL, split = MPI_COMM_NULL;
    double t = wall();
    int cd = cls_of(MPI_Comm_dup(MPI_COMM_WORLD, &dup));
    int cs = cls_of(MPI_Comm_split(MPI_COMM_WORLD, 0, rank, &split));
    CHECK(cd == MPI_ERR_PROC_FAILED && cs == MPI_ERR_PROC_FAILED && dup == MPI_COMM_NULL &&
              split == MPI_COMM_NULL && wall() - t < 2.0,
          "later MPI_Comm_dup/split gave classes %d/%d in %.2f s", cd, cs, wall() - t);
    static int y; /* the request outlives this call */
    int flag = 1;
    MPI_Irecv(&y, 1, MPI_INT, MPI_ANY_SOURCE, 6, MPI_COMM_WORLD, pending);
    int c = cls_of(MPI_Test(pending, &flag, MPI_STATUS_IGNORE));
    CHECK(c == MPI_ERR_PROC_FAILED_PENDING && !flag && *pending != MPI_REQUEST_NULL,
          "MPI_Test on an ANY_SOURCE receive gave class %d flag %d", c, flag);
    c = cls_of(MPI_Wait(pending, MPI_STATUS_IGNORE));
    CHECK(c == MPI_ERR_PROC_FAILED_PENDING && *pending != MPI_REQUEST_NULL,
          "MPI_Wait on an ANY_SOURCE receive gave class %d (want MPI_ERR_PROC_FAILED_PENDING, "
          "request kept)",
          c);
    MPI_Request two[2] = {MPI_REQUEST_NULL, *pending};
    int idx = -1;
    c = cls_of(MPI_Waitany(2, two, &idx, MPI_STATUS_IGNORE));
    CHECK(c == MPI_ERR_PROC_FAILED_PENDING && idx == 1 && two[1] == *pending,
          "MPI_Waitany on an ANY_SOURCE receive gave class %d index %d", c, idx);
    c = cls_of(MPI_Iprobe(MPI_ANY_SOURCE, 6, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE));
    CHECK(c == MPI_ERR_PROC_FAILED, "MPI_Iprobe from MPI_ANY_SOURCE gave class %d", c);
    return 0;
}

/* The survivors 0..victim-1 pass checksummed messages around a ring. */
static int survivors_p2p(void)
{
    int n = victim, next = (rank + 1) % n, prev = (rank + n - 1) % n;
    enum { LEN = 100000 }; /* above the eager limit: rendezvous too */
    unsigned char *out = malloc(LEN), *in = malloc(LEN);
    for (int round = 0; round < 3; round++) {
        for (int k = 0; k < LEN; k++)
            out[k] = (unsigned char)(rank * 31 + round * 7 + k);
        int rc = MPI_Sendrecv(out, LEN, MPI_BYTE, next, 7, in, LEN, MPI_BYTE, prev, 7,
                              MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        CHECK(rc == MPI_SUCCESS, "survivor ring round %d: class %d", round, cls_of(rc));
        for (int k = 0; k < LEN; k++)
            CHECK(in[k] == (unsigned char)(prev * 31 + round * 7 + k),
                  "survivor ring round %d: byte %d corrupted", round, k);
    }
    free(out);
    free(in);
    return 0;
}

/* Acknowledge: the failed group is the victim; the pending ANY_SOURCE
 * receive then matches the message of the previous survivor. */
static int after_ack(MPI_Request *pending)
{
    MPI_Group failed, world;
    int n = -1, r = -1;
    CHECK(MPIX_Comm_failure_ack(MPI_COMM_WORLD) == MPI_SUCCESS, "MPIX_Comm_failure_ack");
    CHECK(MPIX_Comm_failure_get_acked(MPI_COMM_WORLD, &failed) == MPI_SUCCESS, "get_acked");
    MPI_Group_size(failed, &n);
    MPI_Comm_group(MPI_COMM_WORLD, &world);
    int zero = 0;
    if (n == 1)
        MPI_Group_translate_ranks(failed, 1, &zero, world, &r);
    CHECK(n == 1 && r == victim, "acknowledged group: size %d, rank %d (want 1, %d)", n, r, victim);
    int flag = 1;
    CHECK(MPI_Iprobe(MPI_ANY_SOURCE, 9, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE) == MPI_SUCCESS &&
              !flag,
          "MPI_Iprobe from MPI_ANY_SOURCE after the ack");
    MPI_Group_free(&failed);
    MPI_Group_free(&world);
    int v = 1000 + rank, prev = (rank + victim - 1) % victim;
    MPI_Request s;
    MPI_Isend(&v, 1, MPI_INT, (rank + 1) % victim, 6, MPI_COMM_WORLD, &s);
    MPI_Status st;
    int rc = MPI_Wait(pending, &st);
    CHECK(rc == MPI_SUCCESS && st.MPI_SOURCE == prev,
          "pending ANY_SOURCE receive after the ack: class %d, source %d (want %d)", cls_of(rc),
          st.MPI_SOURCE, prev);
    CHECK(MPI_Wait(&s, MPI_STATUS_IGNORE) == MPI_SUCCESS, "send to the next survivor");
    /* and a new ANY_SOURCE receive works again */
    MPI_Isend(&v, 1, MPI_INT, (rank + 1) % victim, 8, MPI_COMM_WORLD, &s);
    int y = 0;
    rc = MPI_Recv(&y, 1, MPI_INT, MPI_ANY_SOURCE, 8, MPI_COMM_WORLD, &st);
    CHECK(rc == MPI_SUCCESS && y == 1000 + prev, "ANY_SOURCE receive after the ack: class %d",
          cls_of(rc));
    MPI_Wait(&s, MPI_STATUS_IGNORE);
    return 0;
}

/* A communicator without the failed process is not affected: its
 * collectives work, and it can be duplicated and freed. */
static int other_comm(void)
{
    int x = rank + 1, sum = 0, want = victim * (victim + 1) / 2;
    MPI_Comm d = MPI_COMM_NULL;
    int rc = MPI_Allreduce(&x, &sum, 1, MPI_INT, MPI_SUM, surv);
    CHECK(rc == MPI_SUCCESS && sum == want,
          "Allreduce on the survivors' communicator: class %d, "
          "sum %d (want %d)",
          cls_of(rc), sum, want);
    rc = MPI_Comm_dup(surv, &d);
    CHECK(rc == MPI_SUCCESS, "MPI_Comm_dup of the survivors' communicator: class %d", cls_of(rc));
    rc = MPI_Barrier(d);
    CHECK(rc == MPI_SUCCESS, "MPI_Barrier on its duplicate: class %d", cls_of(rc));
    MPI_Comm_free(&d);
    MPI_Comm_free(&surv);
    return 0;
}

static int survivor(const char *op, double tkill)
{
    char *big = calloc(1, BIG);
    int c = cls_of(run_op(op, big));
    double after = wall() - tkill;
    printf("rank %d: %s failed with class %d %.2f s after the kill\n", rank, op, c, after);
    fflush(stdout);
    CHECK(c == MPI_ERR_PROC_FAILED, "%s gave class %d, want MPI_ERR_PROC_FAILED (%d)", op, c,
          MPI_ERR_PROC_FAILED);
    CHECK(after > -0.05 && after <= limit, "%s returned %.2f s after the kill (bound %.1f s)", op,
          after, limit);
    MPI_Request pending;
    if (later_calls(big, &pending) || survivors_p2p() || after_ack(&pending) || other_comm())
        return 1;
    free(big);
    printf("rank %d: OK %s\n", rank, op);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: ulfm anysource|barrier|allreduce|bcast|ibarrier LIMIT\n");
        return 2;
    }
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    victim = size - 1;
    limit = atof(argv[2]);
    if (size < 3) {
        fprintf(stderr, "needs 3+ ranks\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    if (rank != victim) { /* among the survivors-to-be only: the victim talks to rank 0 alone */
        MPI_Group world, g;
        MPI_Comm_group(MPI_COMM_WORLD, &world);
        MPI_Group_excl(world, 1, &victim, &g);
        MPI_Comm_create_group(MPI_COMM_WORLD, g, 11, &surv);
        MPI_Group_free(&g);
        MPI_Group_free(&world);
    }
    double tkill = agree_kill_time();
    if (rank == victim) {
        double d = tkill - wall();
        const char *cut = getenv("ULFM_ISOLATE");
        if (d > 0)
            usleep((useconds_t)(d * 1e6));
        if (cut && *cut) { /* alive but cut off: the others must time it out */
            if (system(cut) != 0)
                fprintf(stderr, "rank %d: '%s' failed\n", rank, cut);
            usleep((useconds_t)((limit + 3) * 1e6)); /* then leave (the job ends) */
        }
        raise(SIGKILL);
    }
    int rc = survivor(argv[1], tkill);
    if (rc)
        _exit(rc); /* the verdict, without waiting for anyone */
    MPI_Finalize();
    return 0;
}
