/* hello_pmix: the first README command's job until the transport exists.
 * Every rank publishes its rank through PMIx, fences, reads its right
 * neighbour's value and checks it, then says hello. */
#include <mpi.h>
#include <pmix.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    int rank, size;
    pmix_proc_t me, peer;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (PMIx_Init(&me, NULL, 0) != PMIX_SUCCESS) {
        fprintf(stderr, "rank %d: no PMIx server (run me with mpirun)\n", rank);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    pmix_value_t v;
    PMIX_VALUE_LOAD(&v, &rank, PMIX_INT);
    PMIx_Put(PMIX_GLOBAL, "hello.rank", &v);
    PMIX_VALUE_DESTRUCT(&v);
    PMIx_Commit();
    pmix_info_t info;
    bool collect = true;
    PMIX_INFO_LOAD(&info, PMIX_COLLECT_DATA, &collect, PMIX_BOOL);
    PMIx_Fence(NULL, 0, &info, 1);
    PMIX_INFO_DESTRUCT(&info);
    int right = (rank + 1) % size;
    PMIX_LOAD_PROCID(&peer, me.nspace, (pmix_rank_t)right);
    pmix_value_t *got = NULL;
    if (PMIx_Get(&peer, "hello.rank", NULL, 0, &got) != PMIX_SUCCESS || got->type != PMIX_INT ||
        got->data.integer != right) {
        fprintf(stderr, "rank %d: wrong or missing hello.rank from rank %d\n", rank, right);
        MPI_Abort(MPI_COMM_WORLD, 3);
    }
    printf("hello from rank %d of %d: rank %d told me through PMIx that it is rank %d\n", rank,
           size, right, got->data.integer);
    PMIX_VALUE_RELEASE(got);
    PMIx_Finalize(NULL, 0);
    MPI_Finalize();
    return 0;
}
