/* Launcher test: one rank fails, the others wait in MPI_Barrier, which can
 * never complete; mpirun must end the job.
 *   failer exit R C      rank R calls exit(C)
 *   failer segv R        rank R raises SIGSEGV
 *   failer abort R C     rank R calls MPI_Abort(MPI_COMM_WORLD, C)
 *   failer sleep R S     rank R sleeps S seconds, then joins the barrier
 *   failer nofinalize R  rank R returns 0 from main without MPI_Finalize
 * Every rank prints "ready R" once it is inside MPI.  With FAILER_SYNC set
 * to a directory, each rank also creates a file there, and rank R fails
 * only once all ranks have (at most 20 s), so the others are surely in (or
 * entering) the barrier when it does. */
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void sync_all(int rank)
{
    const char *dir = getenv("FAILER_SYNC");
    char path[4096];
    if (dir == NULL)
        return;
    snprintf(path, sizeof(path), "%s/ready.%d", dir, rank);
    FILE *f = fopen(path, "w");
    if (f != NULL)
        fclose(f);
}

static void sync_wait(int size)
{
    const char *dir = getenv("FAILER_SYNC");
    char path[4096];
    if (dir == NULL)
        return;
    for (int r = 0, tries = 0; r < size && tries < 2000; tries++) {
        snprintf(path, sizeof(path), "%s/ready.%d", dir, r);
        if (access(path, F_OK) == 0)
            r++;
        else
            usleep(10000);
    }
}

int main(int argc, char **argv)
{
    int rank, size;
    if (argc < 3)
        return 64;
    const char *mode = argv[1];
    int who = atoi(argv[2]), code = argc > 3 ? atoi(argv[3]) : 0;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    printf("ready %d\n", rank);
    fflush(stdout);
    sync_all(rank);
    if (rank == who) {
        sync_wait(size);
        if (strcmp(mode, "exit") == 0)
            exit(code);
        if (strcmp(mode, "segv") == 0)
            raise(SIGSEGV);
        if (strcmp(mode, "abort") == 0)
            MPI_Abort(MPI_COMM_WORLD, code);
        if (strcmp(mode, "nofinalize") == 0)
            return 0;
        if (strcmp(mode, "sleep") != 0)
            return 65; /* unknown mode, or the failure did not happen */
        sleep((unsigned)code);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Finalize();
    return 0;
}
