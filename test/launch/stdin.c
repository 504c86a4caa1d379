/* Launcher test: rank 0 copies its stdin to stdout, prefixing each line
 * with "echo: "; the other ranks must see end-of-file on stdin at once. */
#include <mpi.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    int rank;
    char line[4096];
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 0) {
        while (fgets(line, sizeof(line), stdin) != NULL)
            printf("echo: %s", line);
    } else {
        printf("rank %d stdin %s\n", rank, fgets(line, sizeof(line), stdin) ? "data" : "eof");
    }
    fflush(stdout);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Finalize();
    return 0;
}
