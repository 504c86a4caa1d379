/* Resource bounds (test/fault/t-resource.sh; doc/reliability.md).
 *
 *   flood N SIZE BUSY   rank 0 sends N eager messages of SIZE bytes to rank 1
 *                       (MPI_Send, sequence number in each) while rank 1 is
 *                       busy outside MPI: until rank 0 has sent them all or
 *                       made no progress for BUSY seconds (blocked by flow
 *                       control; rank 0 tells its count through the file
 *                       $FLOOD_PROGRESS, both ranks share a host); then rank 1
 *                       receives them all and checks their order and
 *                       contents.  Rank 1 prints its resident memory before
 *                       the flood and its peak (VmHWM) after the busy time
 *                       and at the end: "flood: rss_base_kb=.. peak_busy_kb=..
 *                       peak_end_kb=..".  Flow control must keep the peak
 *                       near the base; the script checks the bound.  With a
 *                       third rank, rank 2 sends rank 1 one message a second
 *                       into the flood, for a receive rank 1 posted before
 *                       it went busy: it must have arrived when the busy
 *                       time ends (other streams keep flowing while one
 *                       sender is held back), "other_peer=ok".
 *   conn                every rank exchanges one message with every other
 *                       (two streams per pair), then reports how much its
 *                       resident memory grew per peer: "conn: rank r peers p
 *                       rss_before_kb=.. rss_after_kb=.. per_peer_kb=..". */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, key, n) && line[n] == ':')
            v = atol(line + n + 1);
    if (f)
        fclose(f);
    return v;
}

/* The sender's count, through a file both ranks see (not through MPI:
 * the receiver must stay outside MPI while it is busy). */
static void progress_put(long i)
{
    const char *path = getenv("FLOOD_PROGRESS");
    FILE *f = path ? fopen(path, "w") : NULL;
    if (f) {
        fprintf(f, "%ld\n", i);
        fclose(f);
    }
}

static long progress_get(void)
{
    const char *path = getenv("FLOOD_PROGRESS");
    FILE *f = path ? fopen(path, "r") : NULL;
    long v = -1;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

/* Busy outside MPI until the sender is done or stuck for `stuck` seconds
 * (at most 120 s); returns the sender's count then. */
static long wait_sender(long n, int stuck)
{
    long last = -2, seen;
    int still = 0;
    for (int t = 0; t < 600; t++) {
        usleep(200000);
        seen = progress_get();
        if (seen >= n)
            return seen;
        still = seen == last ? still + 1 : 0;
        last = seen;
        if (still >= stuck * 5)
            return seen;
    }
    return last;
}

static int flood(long n, int len, int busy)
{
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    char *buf = calloc(1, (size_t)len < 8 ? 8 : (size_t)len);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) {
        for (long i = 0; i < n; i++) {
            memcpy(buf, &i, sizeof(i));
            MPI_Send(buf, len, MPI_BYTE, 1, (int)(i % 1000), MPI_COMM_WORLD);
            if (i % 4096 == 0)
                progress_put(i);
        }
        progress_put(n);
    } else if (rank == 2) {
        sleep(1);
        MPI_Send(buf, len, MPI_BYTE, 1, 4242, MPI_COMM_WORLD);
    } else if (rank == 1) {
        int size, other_done = 1;
        MPI_Request other = MPI_REQUEST_NULL;
        char obuf[64];
        MPI_Comm_size(MPI_COMM_WORLD, &size);
        if (size > 2)
            MPI_Irecv(obuf, (int)sizeof(obuf), MPI_BYTE, 2, 4242, MPI_COMM_WORLD, &other);
        long base = status_kb("VmRSS");
        long sent = wait_sender(n, busy); /* no MPI call; the progress thread runs */
        long peak_busy = status_kb("VmHWM");
        if (size > 2)
            MPI_Test(&other, &other_done, MPI_STATUS_IGNORE);
        for (long i = 0; i < n; i++) {
            MPI_Status st;
            long got;
            MPI_Recv(buf, len, MPI_BYTE, 0, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
            memcpy(&got, buf, sizeof(got));
            if (got != i || st.MPI_TAG != (int)(i % 1000)) {
                fprintf(stderr, "flood: message %ld arrived as %ld (tag %d)\n", i, got, st.MPI_TAG);
                return 1;
            }
        }
        if (!other_done)
            MPI_Wait(&other, MPI_STATUS_IGNORE);
        printf("flood: messages=%ld size=%d sent_while_busy=%ld rss_base_kb=%ld "
               "peak_busy_kb=%ld peak_end_kb=%ld other_peer=%s\n",
               n, len, sent, base, peak_busy, status_kb("VmHWM"),
               size < 3     ? "none"
               : other_done ? "ok"
                            : "held");
    }
    free(buf);
    return 0;
}

static int conn(void)
{
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    char sb[64] = {0}, rb[64];
    MPI_Barrier(MPI_COMM_WORLD);
    long before = status_kb("VmRSS");
    for (int k = 1; k < size; k++) {
        int to = (rank + k) % size, from = (rank - k + size) % size;
        MPI_Sendrecv(sb, 64, MPI_BYTE, to, 5, rb, 64, MPI_BYTE, from, 5, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    long after = status_kb("VmRSS");
    printf("conn: rank %d peers %d rss_before_kb=%ld rss_after_kb=%ld per_peer_kb=%ld\n", rank,
           size - 1, before, after, (after - before) / (size - 1));
    return 0;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rc = 2;
    if (argc == 5 && !strcmp(argv[1], "flood"))
        rc = flood(atol(argv[2]), atoi(argv[3]), atoi(argv[4]));
    else if (argc == 2 && !strcmp(argv[1], "conn"))
        rc = conn();
    else
        fprintf(stderr, "usage: flood flood N SIZE BUSY | flood conn\n");
    fflush(stdout);
    if (rc)
        MPI_Abort(MPI_COMM_WORLD, rc);
    MPI_Finalize();
    return 0;
}
