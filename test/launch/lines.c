/* Launcher test: every rank writes LINES lines of LEN copies of its own
 * letter ('a' + rank) to stdout, each line in many small write(2) calls
 * so that the pieces of different ranks' lines arrive at mpirun mixed. */
#include <mpi.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int rank;
    int lines = argc > 1 ? atoi(argv[1]) : 50, len = argc > 2 ? atoi(argv[2]) : 100000;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    char *buf = malloc((size_t)len + 1);
    if (buf == NULL)
        return 2;
    memset(buf, 'a' + rank % 26, (size_t)len);
    buf[len] = '\n';
    for (int l = 0; l < lines; l++) {
        for (int off = 0; off <= len; off += 997) {
            int n = len + 1 - off < 997 ? len + 1 - off : 997;
            if (write(1, buf + off, (size_t)n) != n)
                return 3;
            if (off % (997 * 16) == 0)
                sched_yield();
        }
    }
    free(buf);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Finalize();
    return 0;
}
