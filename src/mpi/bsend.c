/* Buffered sends (MPI 4.1 section 3.6): MPI_Buffer_attach/detach and the
 * copy of each buffered message into the attached buffer.  Each message
 * takes a block of the user's buffer: a header (at most MPI_BSEND_OVERHEAD
 * bytes) followed by the packed data; the block is free again once the
 * underlying send has completed.  Blocks are kept in address order and
 * allocated first-fit, so no memory besides the user's buffer is used. */
#include "config.h"
#include "mpi/dtype.h"
#include "mpi/mpi_impl.h"
#include "p2p/p2p.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

typedef struct tide_bsend_block {
    tide_list_t link;
    size_t size; /* header + data, rounded */
    tide_p2p_req_t *req;
} tide_bsend_block_t;

_Static_assert(sizeof(tide_bsend_block_t) <= MPI_BSEND_OVERHEAD, "BSEND_OVERHEAD too small");

static pthread_mutex_t tide_bsend_lock = PTHREAD_MUTEX_INITIALIZER;
static char *tide_bsend_buf;
static size_t tide_bsend_size;
static tide_list_t tide_bsend_blocks = TIDE_LIST_INIT(tide_bsend_blocks);

/* Free the blocks whose sends are done.  Lock held. */
static void tide_bsend_reap(void)
{
    tide_list_t *pos, *tmp;
    tide_list_for_each_safe(pos, tmp, &tide_bsend_blocks)
    {
        tide_bsend_block_t *b = tide_container_of(pos, tide_bsend_block_t, link);
        if (!b->req || tide_p2p_req_done(b->req)) {
            if (b->req)
                tide_p2p_req_free(b->req);
            tide_list_del(&b->link);
        }
    }
}

/* First-fit allocation of `need` bytes in the attached buffer; the new block
 * is linked in address order.  Lock held. */
static tide_bsend_block_t *tide_bsend_alloc(size_t need)
{
    char *base = (char *)(((uintptr_t)tide_bsend_buf + 15) & ~(uintptr_t)15);
    char *end = tide_bsend_buf + tide_bsend_size;
    char *cur = base;
    tide_list_t *pos;
    tide_list_for_each(pos, &tide_bsend_blocks)
    {
        tide_bsend_block_t *b = tide_container_of(pos, tide_bsend_block_t, link);
        if ((char *)b - cur >= (ptrdiff_t)need)
            break;
        cur = (char *)b + b->size;
    }
    if (end - cur < (ptrdiff_t)need)
        return NULL;
    tide_bsend_block_t *nb = (tide_bsend_block_t *)cur;
    nb->size = need;
    nb->req = NULL;
    /* insert before pos (pos is the block after the gap, or the head) */
    tide_list_insert_between(&nb->link, pos->prev, pos);
    return nb;
}

int tide_mpi_bsend_start(const char *fn, tide_comm_t *c, const void *buf, int count,
                         MPI_Datatype dt, int dest, int tag)
{
    tide_dt_msg_t m; /* checked by the caller */
    tide_dt_msg(dt, count, &m);
    size_t bytes = m.bytes;
    size_t need = (MPI_BSEND_OVERHEAD + bytes + 15) & ~(size_t)15;
    pthread_mutex_lock(&tide_bsend_lock);
    if (!tide_bsend_buf) {
        pthread_mutex_unlock(&tide_bsend_lock);
        return tide_mpi_error(c->handle, fn, MPI_ERR_BUFFER,
                              "no buffer is attached; call MPI_Buffer_attach with room for "
                              "the message plus MPI_BSEND_OVERHEAD");
    }
    tide_bsend_reap();
    tide_bsend_block_t *b = tide_bsend_alloc(need);
    if (!b) {
        size_t size = tide_bsend_size;
        pthread_mutex_unlock(&tide_bsend_lock);
        return tide_mpi_error(c->handle, fn, MPI_ERR_BUFFER,
                              "the attached buffer (%zu bytes) has no room for a %zu-byte "
                              "message plus MPI_BSEND_OVERHEAD",
                              size, bytes);
    }
    char *data = (char *)b + MPI_BSEND_OVERHEAD;
    if (bytes && !m.lay) {
        memcpy(data, (const char *)buf + m.shift, bytes);
    } else if (bytes) { /* a derived type is packed into the block */
        tide_p2p_cur_t cur;
        tide_p2p_cur_init(&cur, buf, m.lay, (uint64_t)count, 0);
        tide_p2p_cur_pack(&cur, data, bytes);
    }
    int rc = tide_p2p_isend(data, bytes, tide_comm_proc(c, dest), dest, c->rank, c->ctx, tag,
                            TIDE_P2P_MODE_STANDARD, &b->req);
    if (rc)
        tide_list_del(&b->link);
    pthread_mutex_unlock(&tide_bsend_lock);
    if (rc)
        return tide_mpi_error(c->handle, fn, rc == -ENOMEM ? MPI_ERR_NO_MEM : MPI_ERR_OTHER,
                              "cannot send to rank %d (%s)", dest, strerror(-rc));
    return MPI_SUCCESS;
}

int PMPI_Buffer_attach(void *buffer, int size)
{
    static const char fn[] = "MPI_Buffer_attach";
    TIDE_MPI_CHECK_INIT(fn);
    if (size < 0)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ARG, "argument size (%d) is negative",
                              size);
    if (!buffer && size > 0)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_BUFFER, "argument buffer is NULL");
    pthread_mutex_lock(&tide_bsend_lock);
    int busy = tide_bsend_buf != NULL;
    if (!busy) {
        tide_bsend_buf = buffer;
        tide_bsend_size = (size_t)size;
        tide_list_init(&tide_bsend_blocks);
    }
    pthread_mutex_unlock(&tide_bsend_lock);
    if (busy)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_BUFFER,
                              "a buffer is already attached; detach it first");
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Buffer_attach);

int PMPI_Buffer_detach(void *buffer_addr, int *size)
{
    static const char fn[] = "MPI_Buffer_detach";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, buffer_addr, "buffer_addr");
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, size, "size");
    /* Blocks until every buffered message has been sent. */
    for (tide_p2p_idle_t idle = TIDE_P2P_IDLE_INIT;;) {
        pthread_mutex_lock(&tide_bsend_lock);
        tide_bsend_reap();
        if (tide_list_empty(&tide_bsend_blocks))
            break;
        pthread_mutex_unlock(&tide_bsend_lock);
        tide_p2p_idle(&idle, tide_p2p_progress());
    }
    *(void **)buffer_addr = tide_bsend_buf;
    *size = (int)tide_bsend_size;
    tide_bsend_buf = NULL;
    tide_bsend_size = 0;
    pthread_mutex_unlock(&tide_bsend_lock);
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Buffer_detach);
