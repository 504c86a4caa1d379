/* Nonblocking collectives on intercommunicators: schedules that mix
 * transfers across the groups (on the intercommunicator) with the
 * intracommunicator schedules of nbc.c run on the local group
 * (tide_sched_select).  Broadcast and reductions go through the leaders
 * (local rank 0), as the blocking ones in src/mpi/nbc_inter.c. */
#include "config.h"
#include "coll/coll_impl.h"
#include "coll/sched.h"

#include <errno.h>

#define TRY(x)          \
    do {                \
        int rc_ = (x);  \
        if (rc_)        \
            return rc_; \
    } while (0)

int tide_nbc_inter_bcast(tide_sched_t *s, void *buf, size_t bytes, int role, int root)
{
    if (role > 0)
        return tide_sched_send(s, buf, bytes, 0);
    if (role == 0)
        return 0;
    tide_sched_select(s, 1);
    int leader = tide_sched_comm(s)->rank == 0;
    tide_sched_select(s, 0);
    if (leader) {
        TRY(tide_sched_recv(s, buf, bytes, root));
        TRY(tide_sched_fence(s));
    }
    tide_sched_select(s, 1);
    return tide_nbc_bcast(s, buf, bytes, 0);
}

/* Our group's vectors reduced into *acc at the leader (a temporary). */
static int tide_nbc_inter_local_reduce(tide_sched_t *s, const void *sbuf, size_t count, char **acc)
{
    tide_sched_select(s, 1);
    int leader = tide_sched_comm(s)->rank == 0;
    *acc = leader ? tide_sched_alloc(s, count * tide_sched_red(s)->esize) : NULL;
    if (leader && !*acc)
        return -ENOMEM;
    TRY(tide_nbc_reduce(s, sbuf, *acc, count, 0));
    TRY(tide_sched_fence(s));
    tide_sched_select(s, 0);
    return 0;
}

int tide_nbc_inter_reduce(tide_sched_t *s, const void *sbuf, void *rbuf, size_t count, int role,
                          int root)
{
    size_t bytes = count * tide_sched_red(s)->esize;
    char *acc;
    if (role == 0 || count == 0)
        return 0;
    if (role > 0)
        return tide_sched_recv(s, rbuf, bytes, 0);
    TRY(tide_nbc_inter_local_reduce(s, sbuf, count, &acc));
    return acc ? tide_sched_send(s, acc, bytes, root) : 0;
}

int tide_nbc_inter_allreduce(tide_sched_t *s, const void *sbuf, void *rbuf, size_t count,
                             const size_t *counts)
{
    size_t es = tide_sched_red(s)->esize, bytes = count * es;
    char *acc, *res = NULL;
    if (count == 0)
        return 0;
    TRY(tide_nbc_inter_local_reduce(s, sbuf, count, &acc));
    if (acc) { /* leaders swap their groups' results */
        if (!(res = tide_sched_alloc(s, bytes)))
            return -ENOMEM;
        TRY(tide_sched_recv(s, res, bytes, 0));
        TRY(tide_sched_send(s, acc, bytes, 0));
        TRY(tide_sched_fence(s));
    }
    tide_sched_select(s, 1);
    const tide_coll_comm_t *l = tide_sched_comm(s);
    if (!counts) {
        if (res)
            TRY(tide_sched_copy(s, res, rbuf, bytes));
        return tide_nbc_bcast(s, rbuf, bytes, 0);
    }
    size_t *v = tide_sched_alloc(s, 2 * (size_t)l->size * sizeof(*v)), off = 0;
    if (!v)
        return -ENOMEM;
    for (int i = 0; i < l->size; i++)
        v[i] = counts[i] * es, v[l->size + i] = off, off += v[i];
    return tide_nbc_scatterv(s, res, v, v + l->size, rbuf, v[l->rank], 0);
}

int tide_nbc_inter_barrier(tide_sched_t *s)
{
    tide_sched_select(s, 1);
    int leader = tide_sched_comm(s)->rank == 0;
    TRY(tide_nbc_barrier(s));
    TRY(tide_sched_fence(s));
    tide_sched_select(s, 0);
    if (leader) { /* leaders swap a token */
        TRY(tide_sched_recv(s, NULL, 0, 0));
        TRY(tide_sched_send(s, NULL, 0, 0));
        TRY(tide_sched_fence(s));
    }
    tide_sched_select(s, 1);
    return tide_nbc_barrier(s);
}

int tide_nbc_inter_gatherv(tide_sched_t *s, const void *sbuf, size_t own, void *rbuf,
                           const size_t *bytes, const size_t *displs, int role, int root)
{
    if (role < 0)
        return own ? tide_sched_send(s, sbuf, own, root) : 0;
    for (int i = 0; role > 0 && i < tide_sched_comm(s)->size; i++)
        if (bytes[i])
            TRY(tide_sched_recv(s, (char *)rbuf + displs[i], bytes[i], i));
    return tide_sched_fence(s);
}

int tide_nbc_inter_scatterv(tide_sched_t *s, const void *sbuf, const size_t *bytes,
                            const size_t *displs, void *rbuf, size_t own, int role, int root)
{
    if (role < 0)
        return own ? tide_sched_recv(s, rbuf, own, root) : 0;
    for (int i = 0; role > 0 && i < tide_sched_comm(s)->size; i++)
        if (bytes[i])
            TRY(tide_sched_send(s, (const char *)sbuf + displs[i], bytes[i], i));
    return tide_sched_fence(s);
}

int tide_nbc_inter_exchange(tide_sched_t *s, const void *sbuf, const size_t *sbytes,
                            const size_t *sdispls, void *rbuf, const size_t *rbytes,
                            const size_t *rdispls)
{
    const tide_coll_comm_t *c = tide_sched_comm(s);
    for (int k = 0; k < c->size; k++) { /* staggered partners */
        int i = (c->rank + k) % c->size;
        if (rbytes[i])
            TRY(tide_sched_recv(s, (char *)rbuf + rdispls[i], rbytes[i], i));
        if (sbytes[i])
            TRY(tide_sched_send(s, (const char *)sbuf + sdispls[i], sbytes[i], i));
    }
    return tide_sched_fence(s);
}
