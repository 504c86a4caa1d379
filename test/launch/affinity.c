/* Launcher test: each rank prints the cpus it may run on, as
 * "rank R cpus A,B,C" (from sched_getaffinity). */
#define _GNU_SOURCE
#include <mpi.h>
#include <sched.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    int rank, n = 0;
    cpu_set_t set;
    char buf[8192];
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return 2;
    for (int c = 0; c < CPU_SETSIZE && n < (int)sizeof(buf) - 16; c++)
        if (CPU_ISSET(c, &set))
            n += snprintf(buf + n, sizeof(buf) - (size_t)n, n ? ",%d" : "%d", c);
    printf("rank %d cpus %s\n", rank, buf);
    fflush(stdout);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Finalize();
    return 0;
}
