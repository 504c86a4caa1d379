/* A PMPI profiling library for test/suites/t-netpipe.sh that proves the
 * test can fail: preloaded (LD_PRELOAD) into NetPIPE's NPmpi, it lets every
 * receive go through Tide untouched and then flips one byte in the middle of
 * the first received MPI_BYTE message of at least SHIM_CORRUPT_MIN bytes
 * (environment, default 65536: past the eager limit, so a rendezvous
 * message), as a transport that delivered damaged data would.  NetPIPE's
 * integrity check (-i) must then report "Integrity check failed" and the
 * job must exit non-zero.  Covers MPI_Recv and MPI_Irecv + MPI_Wait, the
 * two ways NPmpi receives (without and with -a). */
#include <mpi.h>
#include <stdlib.h>

static void *pending_buf;
static int pending_count;
static MPI_Request pending_req = MPI_REQUEST_NULL;
static int done;

static void shim_maybe_corrupt(void *buf, int count)
{
    const char *env = getenv("SHIM_CORRUPT_MIN");
    long min = env ? atol(env) : 65536;
    if (done || count < min)
        return;
    ((unsigned char *)buf)[count / 2] ^= 0x5a;
    done = 1;
}

int MPI_Recv(void *buf, int count, MPI_Datatype type, int src, int tag, MPI_Comm comm,
             MPI_Status *status)
{
    int rc = PMPI_Recv(buf, count, type, src, tag, comm, status);
    if (rc == MPI_SUCCESS && type == MPI_BYTE)
        shim_maybe_corrupt(buf, count);
    return rc;
}

int MPI_Irecv(void *buf, int count, MPI_Datatype type, int src, int tag, MPI_Comm comm,
              MPI_Request *req)
{
    int rc = PMPI_Irecv(buf, count, type, src, tag, comm, req);
    if (rc == MPI_SUCCESS && type == MPI_BYTE) {
        pending_buf = buf;
        pending_count = count;
        pending_req = *req;
    }
    return rc;
}

int MPI_Wait(MPI_Request *req, MPI_Status *status)
{
    int mine = pending_req != MPI_REQUEST_NULL && *req == pending_req;
    int rc = PMPI_Wait(req, status);
    if (mine) {
        pending_req = MPI_REQUEST_NULL;
        if (rc == MPI_SUCCESS)
            shim_maybe_corrupt(pending_buf, pending_count);
    }
    return rc;
}
