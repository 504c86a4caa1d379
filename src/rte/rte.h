/* The runtime environment: this process's place in the job, from PMIx.
 *
 * mpirun (or slurmstepd, or any PMIx server) tells each rank who it is
 * through PMIx.  Besides the standard keys (PMIX_JOB_SIZE, PMIX_LOCAL_RANK,
 * PMIX_LOCAL_SIZE, PMIX_APPNUM, PMIX_UNIV_SIZE, PMIX_HOSTNAME, PMIX_NODEID)
 * Tide reads one job-level key of its own:
 *   TIDE_RTE_KEY_JOBKEY "tide.jobkey"  PMIX_UINT64, random per job; every
 *                                     frame carries it.
 * Under a server that does not provide it (e.g. Slurm's srun --mpi=pmix),
 * rank 0 draws a random key and publishes it as TIDE_RTE_KEY_JOBKEY_R0
 * (PMIx_Put + Commit); the other ranks fetch it from rank 0.
 * A process started without a PMIx server is a singleton: rank 0 of 1. */
#ifndef TIDE_RTE_RTE_H
#define TIDE_RTE_RTE_H

#include <stddef.h>
#include <stdint.h>

#define TIDE_RTE_KEY_JOBKEY    "tide.jobkey"
#define TIDE_RTE_KEY_JOBKEY_R0 "tide.jobkey.r0"

typedef struct tide_rte {
    int rank, size;
    int local_rank, local_size;
    int node_id;
    int appnum;
    int universe_size;
    int singleton; /* no PMIx server */
    uint64_t jobkey;
    char nspace[256];
    char hostname[256];
} tide_rte_t;

extern tide_rte_t tide_rte;

/* 0 or -errno (logged). */
int tide_rte_init(void);
int tide_rte_finalize(void);
/* Publish a blob under key for this rank (visible after commit). */
int tide_rte_put(const char *key, const void *data, size_t len);
int tide_rte_commit(void);
/* Fetch rank's blob; *len in: capacity, out: size.  Blocks until the peer
 * has published it (direct modex) or fails with -ENOENT. */
int tide_rte_get(int rank, const char *key, void *data, size_t *len);
/* Global fence over all ranks; collect: also exchange put data. */
int tide_rte_fence(int collect);
/* A fence that keeps calling wait(arg) while it waits, so this process
 * keeps serving its peers (acknowledgements, retransmissions) meanwhile:
 * one pass of progress that may sleep briefly when idle (the fence's
 * completion is looked at between calls); collect: also bring every rank's
 * put data here, so later gets are local. */
int tide_rte_fence_poll(void (*wait)(void *arg), void *arg, int collect);
/* Call cb(rank) when the runtime reports a process of the job gone
 * (PMIx events PMIX_ERR_PROC_ABORTED and kin, e.g. from `mpirun
 * --enable-recovery`; the dead process is PMIX_EVENT_AFFECTED_PROC or the
 * event's source).  cb runs in PMIx's thread and must not block.  0, or
 * -errno when the server refuses (logged; the transport's own timeout still
 * detects failures). */
int tide_rte_on_proc_failed(void (*cb)(int rank));
/* End the whole job with this exit code; does not return. */
void tide_rte_abort(int code, const char *msg) __attribute__((noreturn));

#endif
