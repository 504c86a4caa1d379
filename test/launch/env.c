/* Launcher test: each rank prints "rank R NAME=value" for every variable
 * named on the command line ("(unset)" when it is not set). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int rank;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    for (int i = 1; i < argc; i++) {
        const char *v = getenv(argv[i]);
        printf("rank %d %s=%s\n", rank, argv[i], v ? v : "(unset)");
    }
    fflush(stdout);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Finalize();
    return 0;
}
