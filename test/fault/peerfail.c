/* Link and peer faults seen from MPI (test/fault/t-link.sh, t-peer.sh).
 *
 *   peerfail transfer SECS   rank 0 streams checksummed messages (4 KiB to
 *                            4 MiB, every 7th synchronous) to rank 1 for SECS
 *                            seconds; rank 1 checks each; the script takes a
 *                            link down meanwhile.  Exit 0: all arrived intact.
 *   peerfail detect LIMIT    ranks 0 and 1 ping-pong (1 MiB and 8 B) under
 *                            MPI_ERRORS_RETURN until a call fails; the script
 *                            takes the link down for good.  Each rank checks
 *                            the error class is MPI_ERR_PROC_FAILED, that it
 *                            came within LIMIT seconds of the last completed
 *                            call, and that later sends to and receives from
 *                            the peer fail at once with the same class.
 *   peerfail kill LIMIT      the last rank kills itself with SIGKILL after a
 *                            second of ring traffic; the others (under
 *                            MPI_ERRORS_RETURN) must see MPI_ERR_PROC_FAILED
 *                            on calls with it within LIMIT seconds (needs
 *                            mpirun --enable-recovery to keep them alive).
 *   peerfail killfatal 0     the same without MPI_ERRORS_RETURN: mpirun must
 *                            end the whole job (the script checks it).
 *   peerfail first LIMIT     the last rank dies right after MPI_Init, before
 *                            anyone talked to it; a second later rank 0's
 *                            MPI_Ssend to it (its first contact: the
 *                            connection attempt) must fail with
 *                            MPI_ERR_PROC_FAILED within LIMIT seconds (run
 *                            with TIDE_P2P_FAILURE_EVENTS=0 so that only
 *                            the transport can tell).
 * No mode loops forever: 120 s without a verdict is a failure. */
#include <mpi.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int rank, size;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

/* Message i: 8-byte sequence number, then bytes derived from (i, offset). */
static void fill(unsigned char *b, size_t n, uint64_t i)
{
    memcpy(b, &i, sizeof(i));
    for (size_t k = sizeof(i); k < n; k++)
        b[k] = (unsigned char)(mix(i * 0x9e3779b97f4a7c15ull + k / 8) >> (8 * (k % 8)));
}

static int check(const unsigned char *b, size_t n, uint64_t i)
{
    uint64_t got;
    memcpy(&got, b, sizeof(got));
    if (got != i)
        return 0;
    for (size_t k = sizeof(i); k < n; k++)
        if (b[k] != (unsigned char)(mix(i * 0x9e3779b97f4a7c15ull + k / 8) >> (8 * (k % 8))))
            return 0;
    return 1;
}

static size_t msg_size(uint64_t i)
{
    return (size_t)4096 << (i % 11); /* 4 KiB .. 4 MiB */
}

static int do_transfer(double secs)
{
    unsigned char *buf = malloc((size_t)4 << 20);
    uint64_t i = 0, bytes = 0;
    double t0 = now();
    if (rank == 0) {
        int more = 1;
        while (more) {
            more = now() - t0 < secs;
            size_t n = msg_size(i);
            fill(buf, n, i);
            MPI_Send(&more, 1, MPI_INT, 1, 1, MPI_COMM_WORLD);
            if (i % 7 == 0)
                MPI_Ssend(buf, (int)n, MPI_BYTE, 1, 2, MPI_COMM_WORLD);
            else
                MPI_Send(buf, (int)n, MPI_BYTE, 1, 2, MPI_COMM_WORLD);
            bytes += n;
            i++;
        }
    } else if (rank == 1) {
        int more = 1;
        while (more) {
            MPI_Status st;
            int cnt;
            MPI_Recv(&more, 1, MPI_INT, 0, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Recv(buf, 4 << 20, MPI_BYTE, 0, 2, MPI_COMM_WORLD, &st);
            MPI_Get_count(&st, MPI_BYTE, &cnt);
            if ((size_t)cnt != msg_size(i) || !check(buf, (size_t)cnt, i)) {
                fprintf(stderr, "transfer: message %llu corrupted or out of order\n",
                        (unsigned long long)i);
                return 1;
            }
            bytes += (uint64_t)cnt;
            i++;
        }
        printf("transfer: %llu messages, %llu bytes intact in %.1f s\n", (unsigned long long)i,
               (unsigned long long)bytes, now() - t0);
    }
    free(buf);
    return 0;
}

/* After a failure: later calls with the peer fail at once, same class. */
static int later_calls_fail(int peer)
{
    char b[8] = {0};
    double t = now();
    int rc1 = MPI_Send(b, 8, MPI_BYTE, peer, 9, MPI_COMM_WORLD);
    int rc2 = MPI_Recv(b, 8, MPI_BYTE, peer, 9, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    int c1 = MPI_SUCCESS, c2 = MPI_SUCCESS;
    MPI_Error_class(rc1, &c1);
    MPI_Error_class(rc2, &c2);
    if (c1 != MPI_ERR_PROC_FAILED || c2 != MPI_ERR_PROC_FAILED || now() - t > 1.0) {
        fprintf(stderr, "rank %d: later send/recv with rank %d gave classes %d/%d in %.2f s\n",
                rank, peer, c1, c2, now() - t);
        return 1;
    }
    return 0;
}

/* Run one exchange step with peer; returns the error code of the first
 * failing call (MPI_SUCCESS if all completed). */
static int step(int peer, char *big, int first)
{
    int rc;
    char small[8] = {0};
    if (first) {
        if ((rc = MPI_Send(big, 1 << 20, MPI_BYTE, peer, 3, MPI_COMM_WORLD)))
            return rc;
        return MPI_Recv(small, 8, MPI_BYTE, peer, 4, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
    if ((rc = MPI_Recv(big, 1 << 20, MPI_BYTE, peer, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE)))
        return rc;
    return MPI_Send(small, 8, MPI_BYTE, peer, 4, MPI_COMM_WORLD);
}

static int verdict(int rc, double last_ok, double limit, int peer)
{
    int cls;
    MPI_Error_class(rc, &cls);
    double waited = now() - last_ok;
    printf("rank %d: call with rank %d failed after %.1f s of silence, class %d (%s)\n", rank, peer,
           waited, cls, cls == MPI_ERR_PROC_FAILED ? "MPI_ERR_PROC_FAILED" : "WRONG");
    fflush(stdout);
    if (cls != MPI_ERR_PROC_FAILED || waited > limit)
        return 1;
    return later_calls_fail(peer);
}

static int do_detect(double limit)
{
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if (rank > 1)
        return 0;
    char *big = calloc(1, 1 << 20);
    int peer = 1 - rank;
    double t0 = now(), last_ok = now();
    int rc;
    while ((rc = step(peer, big, rank == 0)) == MPI_SUCCESS) {
        last_ok = now();
        if (last_ok - t0 > 120) {
            fprintf(stderr, "rank %d: no failure seen in 120 s\n", rank);
            return 1;
        }
    }
    free(big);
    return verdict(rc, last_ok, limit, peer);
}

static int do_kill(double limit, int errors_return)
{
    if (errors_return)
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int victim = size - 1;
    char *big = calloc(1, 1 << 20);
    double t0 = now(), last_ok = now();
    if (rank == victim) {
        /* talk to rank 0 for a second, then die in the middle of it */
        while (now() - t0 < 1.0)
            step(0, big, 1);
        raise(SIGKILL);
    }
    if (rank != 0) {
        /* a receive from the victim that will never be matched */
        char b[8];
        int rc = MPI_Recv(b, 8, MPI_BYTE, victim, 77, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        return verdict(rc, t0, limit + 1.0, victim); /* its wait started at t0 */
    }
    int rc;
    while ((rc = step(victim, big, 0)) == MPI_SUCCESS) {
        last_ok = now();
        if (last_ok - t0 > 120) {
            fprintf(stderr, "rank %d: no failure seen in 120 s\n", rank);
            return 1;
        }
    }
    free(big);
    return verdict(rc, last_ok, limit, victim);
}

static int do_first(double limit)
{
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int victim = size - 1;
    if (rank == victim)
        raise(SIGKILL);
    if (rank != 0)
        return 0;
    struct timespec ts = {1, 0};
    nanosleep(&ts, NULL);
    char b[8] = {0};
    double t0 = now();
    int rc = MPI_Ssend(b, 8, MPI_BYTE, victim, 5, MPI_COMM_WORLD);
    if (rc == MPI_SUCCESS) {
        fprintf(stderr, "rank 0: MPI_Ssend to the dead rank %d succeeded\n", victim);
        return 1;
    }
    return verdict(rc, t0, limit, victim);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: peerfail transfer SECS | detect LIMIT | kill LIMIT | killfatal 0 | "
                        "first LIMIT\n");
        return 2;
    }
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    double arg = atof(argv[2]);
    if (!strcmp(argv[1], "first")) { /* no barrier: nobody may talk to the victim */
        int rc = do_first(arg);
        fflush(stdout);
        MPI_Finalize();
        return rc;
    }
    MPI_Barrier(MPI_COMM_WORLD); /* every rank is up and connected: the test may act */
    if (rank == 0) {
        printf("started\n");
        fflush(stdout);
    }
    int rc;
    if (!strcmp(argv[1], "transfer"))
        rc = do_transfer(arg);
    else if (!strcmp(argv[1], "detect"))
        rc = do_detect(arg);
    else if (!strcmp(argv[1], "kill"))
        rc = do_kill(arg, 1);
    else if (!strcmp(argv[1], "killfatal"))
        rc = do_kill(arg, 0);
    else
        rc = 2;
    fflush(stdout);
    if (rc)
        _exit(rc);  /* the verdict, without waiting for anyone */
    MPI_Finalize(); /* a failed peer is skipped by the final flush */
    return rc;
}
