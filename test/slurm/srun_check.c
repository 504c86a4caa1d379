/* srun_check: a Tide MPI program for runs under Slurm's srun --mpi=pmix.
 * Each rank checks that MPI agrees with Slurm about who it is (SLURM_PROCID
 * and SLURM_NTASKS against MPI rank and size, a PMIx namespace made by
 * slurmstepd), passes a token around the ring both ways with a payload
 * larger than the eager limit, checks a sum over all ranks and says hello
 * with its host.  "die R" makes rank R kill itself with SIGKILL after the
 * first barrier while the others wait in MPI_Recv for a message from it:
 * the step must end (srun's job, not Tide's) and no rank may be left;
 * "abort R" makes rank R call MPI_Abort(MPI_COMM_WORLD, 7) instead.
 * With SRUN_CHECK_LAUNCHER=mpirun (mpirun inside salloc) the Slurm checks
 * are skipped: the ranks are then mpirun's PMIx clients. */
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BIG (256 * 1024) /* above the default eager limit: rendezvous */

static int check_env(int rank, int size)
{
    const char *procid = getenv("SLURM_PROCID"), *ntasks = getenv("SLURM_NTASKS");
    const char *ns = getenv("PMIX_NAMESPACE");
    if (!procid || !ntasks || atoi(procid) != rank || atoi(ntasks) != size) {
        fprintf(stderr, "rank %d: SLURM_PROCID=%s SLURM_NTASKS=%s disagree with MPI (%d of %d)\n",
                rank, procid ? procid : "-", ntasks ? ntasks : "-", rank, size);
        return 1;
    }
    if (!ns || strncmp(ns, "slurm.pmix.", 11) != 0) {
        fprintf(stderr, "rank %d: PMIX_NAMESPACE=%s is not slurmstepd's\n", rank, ns ? ns : "-");
        return 1;
    }
    return 0;
}

/* Send a BIG buffer stamped with our rank to the right (dir 1) or left
 * neighbour and check what comes from the other side. */
static int ring(int rank, int size, int dir, char *out, char *in)
{
    int to = (rank + dir + size) % size, from = (rank - dir + size) % size;
    memset(out, 'a' + rank % 26, BIG);
    MPI_Sendrecv(out, BIG, MPI_CHAR, to, dir + 1, in, BIG, MPI_CHAR, from, dir + 1, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
    for (int i = 0; i < BIG; i++)
        if (in[i] != 'a' + from % 26) {
            fprintf(stderr, "rank %d: byte %d from %d is wrong\n", rank, i, from);
            return 1;
        }
    return 0;
}

int main(int argc, char **argv)
{
    int rank, size, len, err = 0;
    char host[MPI_MAX_PROCESSOR_NAME];
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Get_processor_name(host, &len);
    int die = argc > 2 && strcmp(argv[1], "die") == 0 ? atoi(argv[2]) : -1;
    int abrt = argc > 2 && strcmp(argv[1], "abort") == 0 ? atoi(argv[2]) : -1;
    /* under mpirun inside an allocation the ranks are mpirun's, not srun's */
    const char *launcher = getenv("SRUN_CHECK_LAUNCHER");
    if (!launcher || strcmp(launcher, "mpirun") != 0)
        err |= check_env(rank, size);
    MPI_Barrier(MPI_COMM_WORLD);
    if (die >= 0 || abrt >= 0) {
        if (rank == die) {
            printf("rank %d on %s: killing myself\n", rank, host);
            fflush(stdout);
            raise(SIGKILL);
        }
        if (rank == abrt) {
            printf("rank %d on %s: MPI_Abort with 7\n", rank, host);
            fflush(stdout);
            MPI_Abort(MPI_COMM_WORLD, 7);
        }
        die = die >= 0 ? die : abrt;
        int x;
        MPI_Recv(&x, 1, MPI_INT, die, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        fprintf(stderr, "rank %d: received from the dead rank %d\n", rank, die);
        MPI_Finalize();
        return 1;
    }
    char *out = malloc(BIG), *in = malloc(BIG);
    if (!out || !in)
        MPI_Abort(MPI_COMM_WORLD, 2);
    err |= ring(rank, size, 1, out, in);
    err |= ring(rank, size, -1, out, in);
    int sum = 0;
    MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (sum != size * (size - 1) / 2) {
        fprintf(stderr, "rank %d: sum of ranks %d, expected %d\n", rank, sum,
                size * (size - 1) / 2);
        err = 1;
    }
    int errs = 0;
    MPI_Allreduce(&err, &errs, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    printf("hello from rank %d of %d on %s%s\n", rank, size, host, errs ? " (errors)" : "");
    free(out);
    free(in);
    MPI_Finalize();
    return errs ? 1 : 0;
}
