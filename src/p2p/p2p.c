/* Point-to-point messaging: requests, sends, receives, probes and cancel.
 * A send to our own process is matched here directly (MPI's "self" path);
 * a send to another process goes to the network path (net.c) which writes
 * frames into the stream to that peer.  Both deliver arriving messages
 * through tide_p2p_arrive -> match posted receive or queue as unexpected. */
#include "config.h"
#include "p2p/p2p_impl.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/param.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

TIDE_PARAM_DEFINE(eager_limit, TIDE_PARAM_SIZE, "EAGER_LIMIT", "64k",
                  "Largest message sent eagerly (copied, the send completes at once); larger "
                  "messages use rendezvous and are never copied");

pthread_mutex_t tide_p2p_lock = PTHREAD_MUTEX_INITIALIZER;
static int tide_p2p_my_proc;
static uint64_t tide_p2p_eager;
static tide_p2p_req_t *tide_p2p_req_freelist;

uint64_t tide_p2p_eager_limit(void)
{
    return tide_p2p_eager;
}

int tide_p2p_init(int my_proc, int nprocs, const tide_p2p_rte_ops_t *rte)
{
    tide_p2p_my_proc = my_proc;
    tide_p2p_eager = (uint64_t)tide_param_int(&tide_param_eager_limit);
    tide_p2p_match_init();
    pthread_mutex_lock(&tide_p2p_lock);
    int rc = tide_p2p_net_init(my_proc, nprocs, rte);
    pthread_mutex_unlock(&tide_p2p_lock);
    if (rc)
        tide_p2p_match_fini();
    return rc;
}

void tide_p2p_flush(void)
{
    tide_p2p_idle_t idle = TIDE_P2P_IDLE_INIT;
    pthread_mutex_lock(&tide_p2p_lock);
    while (tide_p2p_net_busy()) /* the lock held: nobody else progresses */
        tide_p2p_idle(&idle, tide_p2p_net_progress());
    tide_p2p_net_flush();
    pthread_mutex_unlock(&tide_p2p_lock);
}

void tide_p2p_finalize(void)
{
    tide_p2p_net_report();
    tide_p2p_net_stop_thread();
    pthread_mutex_lock(&tide_p2p_lock);
    tide_p2p_net_finalize();
    tide_p2p_match_fini();
    tide_p2p_groups_fini();
    while (tide_p2p_req_freelist) {
        tide_p2p_req_t *r = tide_p2p_req_freelist;
        tide_p2p_req_freelist = (tide_p2p_req_t *)r->link.next;
        free(r);
    }
    pthread_mutex_unlock(&tide_p2p_lock);
}

/* Requests come from a free list: no allocation per message once warm.
 * Called with the lock held. */
tide_p2p_req_t *tide_p2p_req_alloc(tide_p2p_req_kind_t kind)
{
    tide_p2p_req_t *r = tide_p2p_req_freelist;
    if (r)
        tide_p2p_req_freelist = (tide_p2p_req_t *)r->link.next;
    else if (!(r = malloc(sizeof(*r))))
        return NULL;
    memset(r, 0, sizeof(*r));
    r->kind = kind;
    tide_list_init(&r->link);
    return r;
}

void tide_p2p_req_free(tide_p2p_req_t *r)
{
    if (r->lay) {
        tide_p2p_layout_unref(r->lay);
        r->lay = NULL;
    }
    pthread_mutex_lock(&tide_p2p_lock);
    r->link.next = (tide_list_t *)tide_p2p_req_freelist;
    tide_p2p_req_freelist = r;
    pthread_mutex_unlock(&tide_p2p_lock);
}

void tide_p2p_req_complete(tide_p2p_req_t *r)
{
    __atomic_store_n(&r->complete, 1, __ATOMIC_RELEASE);
    if (r->on_complete)
        r->on_complete(r, r->on_complete_arg);
}

/* Copy n bytes of message m into receive r when either side is not
 * contiguous: piece by piece, no temporary. */
static void tide_p2p_deliver_nc(tide_p2p_msg_t *m, tide_p2p_req_t *r, uint64_t n)
{
    tide_p2p_cur_t dst, src;
    tide_p2p_cur_init(&dst, r->buf, r->lay, r->lay ? r->lay_count : r->bytes, 0);
    tide_p2p_cur_init(&src, m->data, m->lay, m->lay ? m->lay_count : m->bytes, 0);
    tide_p2p_cur_copy(&dst, &src, n);
}

/* Copy message m into receive r, complete both sides, free m.  A remote
 * rendezvous message has no data yet: the network path asks for it. */
static void tide_p2p_deliver(tide_p2p_msg_t *m, tide_p2p_req_t *r)
{
    if (m->rts) {
        tide_p2p_net_rts_matched(m, r);
        return;
    }
    if (m->ack_on_match)
        tide_p2p_net_ack_matched(m);
    uint64_t n = m->bytes;
    r->status.error = 0;
    if (n > r->bytes) {
        n = r->bytes;
        r->status.error = -EMSGSIZE; /* MPI_ERR_TRUNCATE; the message is consumed */
    }
    if (n && !m->lay && !r->lay)
        memcpy(r->buf, m->data, n);
    else if (n)
        tide_p2p_deliver_nc(m, r, n);
    r->status.source = m->src;
    r->status.tag = m->tag;
    r->status.bytes = n;
    if (m->sreq) {
        m->sreq->msg = NULL;
        tide_p2p_req_complete(m->sreq);
    }
    if (m->owns_data)
        free(m->data);
    free(m);
    tide_p2p_req_complete(r);
}

void tide_p2p_msg_discard(tide_p2p_msg_t *m, int err)
{
    if (m->rts || m->ack_on_match)
        tide_p2p_net_msg_refuse(m);
    if (m->sreq) { /* our own send on the context */
        m->sreq->msg = NULL;
        m->sreq->status.error = err;
        tide_p2p_req_complete(m->sreq);
    }
    if (m->owns_data)
        free(m->data);
    free(m);
}

/* A message for context ctx from rank src arrives (self path; the network
 * path calls this too once the payload is local).  Lock held.  On a
 * revoked context (fail.c) it is consumed and dropped. */
static int tide_p2p_arrive(tide_p2p_msg_t *m)
{
    tide_p2p_queues_t *q = tide_p2p_queues(m->ctx);
    if (!q)
        return -ENOMEM;
    if (__builtin_expect(q->revoked != 0, 0)) {
        tide_p2p_msg_discard(m, q->revoked);
        return 0;
    }
    tide_p2p_req_t *r = tide_p2p_match_posted(q, m->src, m->tag);
    if (r)
        tide_p2p_deliver(m, r);
    else if (tide_p2p_queue_unexpected(q, m) != 0)
        return -ENOMEM;
    return 0;
}

int tide_p2p_arrive_remote(tide_p2p_msg_t *m)
{
    return tide_p2p_arrive(m);
}

/* Send to our own process.  Small standard/ready sends are copied and
 * complete at once; synchronous and large ones are referenced and complete
 * when matched, like rendezvous. */
static int tide_p2p_self_send(tide_p2p_req_t *s, const void *buf)
{
    tide_p2p_msg_t *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->ctx = s->ctx;
    m->src = s->my_rank;
    m->tag = s->tag;
    m->bytes = s->bytes;
    tide_list_init(&m->link);
    int copy = s->mode != TIDE_P2P_MODE_SYNC && s->bytes <= tide_p2p_eager;
    if (copy && s->bytes) {
        m->data = malloc(s->bytes);
        if (!m->data) {
            free(m);
            return -ENOMEM;
        }
        if (s->lay) {
            tide_p2p_cur_t c;
            tide_p2p_cur_init(&c, buf, s->lay, s->lay_count, 0);
            tide_p2p_cur_pack(&c, m->data, s->bytes);
        } else {
            memcpy(m->data, buf, s->bytes);
        }
        m->owns_data = 1;
    } else {
        m->data = (void *)buf;
        m->lay = s->lay; /* referenced: the send completes at the match */
        m->lay_count = s->lay_count;
    }
    if (!copy) {
        m->sreq = s;
        s->msg = m;
    }
    int rc = tide_p2p_arrive(m);
    if (rc) {
        if (m->owns_data)
            free(m->data);
        free(m);
        return rc;
    }
    if (copy)
        tide_p2p_req_complete(s);
    return 0;
}

/* Start a send; lay NULL: `bytes` contiguous bytes at buf. */
static inline int tide_p2p_isend_lay(const void *buf, uint64_t bytes, tide_p2p_layout_t *lay,
                                     uint64_t count, int dest_proc, int dest, int my_rank,
                                     uint32_t ctx, int tag, tide_p2p_mode_t mode,
                                     tide_p2p_req_t **out)
{
    pthread_mutex_lock(&tide_p2p_lock);
    tide_p2p_req_t *s = tide_p2p_req_alloc(TIDE_P2P_REQ_SEND);
    int rc = -ENOMEM;
    if (!s)
        goto out;
    s->mode = mode;
    s->ctx = ctx;
    s->peer = dest;
    s->peer_proc = dest_proc;
    s->my_rank = my_rank;
    s->tag = tag;
    s->buf = (void *)buf;
    s->bytes = bytes;
    if (lay) {
        tide_p2p_layout_ref(lay);
        s->lay = lay;
        s->lay_count = count;
    }
    tide_p2p_queues_t *q = tide_p2p_nrevoked ? tide_p2p_queues_find(ctx) : NULL;
    if (__builtin_expect(q && q->revoked, 0)) { /* fails at once (fail.c) */
        s->status.error = q->revoked;
        tide_p2p_req_complete(s);
        rc = 0;
    } else if (dest_proc == tide_p2p_my_proc) {
        rc = tide_p2p_self_send(s, buf);
    } else {
        rc = tide_p2p_net_send(s);
    }
    if (rc) {
        s->link.next = (tide_list_t *)tide_p2p_req_freelist;
        tide_p2p_req_freelist = s;
        s = NULL;
    }
out:
    pthread_mutex_unlock(&tide_p2p_lock);
    if (!rc)
        *out = s;
    else if (lay)
        tide_p2p_layout_unref(lay);
    return rc;
}

int tide_p2p_isend(const void *buf, uint64_t bytes, int dest_proc, int dest, int my_rank,
                   uint32_t ctx, int tag, tide_p2p_mode_t mode, tide_p2p_req_t **out)
{
    return tide_p2p_isend_lay(buf, bytes, NULL, 0, dest_proc, dest, my_rank, ctx, tag, mode, out);
}

int tide_p2p_isend_nc(const void *buf, tide_p2p_layout_t *lay, uint64_t count, int dest_proc,
                      int dest, int my_rank, uint32_t ctx, int tag, tide_p2p_mode_t mode,
                      tide_p2p_req_t **out)
{
    return tide_p2p_isend_lay(buf, count * lay->size, lay, count, dest_proc, dest, my_rank, ctx,
                              tag, mode, out);
}

/* Post a receive; lay NULL: `capacity` contiguous bytes at buf. */
static inline int tide_p2p_irecv_lay(void *buf, uint64_t capacity, tide_p2p_layout_t *lay,
                                     uint64_t count, int src, uint32_t ctx, int tag,
                                     tide_p2p_req_t **out)
{
    pthread_mutex_lock(&tide_p2p_lock);
    int rc = -ENOMEM;
    tide_p2p_queues_t *q = tide_p2p_queues(ctx);
    tide_p2p_req_t *r = q ? tide_p2p_req_alloc(TIDE_P2P_REQ_RECV) : NULL;
    if (r) {
        r->ctx = ctx;
        r->peer = src;
        r->peer_proc = -1;
        r->tag = tag;
        r->buf = buf;
        r->bytes = capacity;
        if (lay) {
            tide_p2p_layout_ref(lay);
            r->lay = lay;
            r->lay_count = count;
        }
        tide_p2p_msg_t *m = q->revoked ? NULL : tide_p2p_match_unexpected(q, src, tag, 1);
        rc = 0;
        if (__builtin_expect(q->revoked != 0, 0)) { /* fails at once (fail.c) */
            r->status.error = q->revoked;
            tide_p2p_req_complete(r);
        } else if (m)
            tide_p2p_deliver(m, r);
        else if (tide_p2p_queue_posted(q, r) != 0) {
            r->link.next = (tide_list_t *)tide_p2p_req_freelist;
            tide_p2p_req_freelist = r;
            rc = -ENOMEM;
            if (lay)
                tide_p2p_layout_unref(lay);
        }
    }
    pthread_mutex_unlock(&tide_p2p_lock);
    if (!rc)
        *out = r;
    return rc;
}

int tide_p2p_irecv(void *buf, uint64_t capacity, int src, uint32_t ctx, int tag,
                   tide_p2p_req_t **out)
{
    return tide_p2p_irecv_lay(buf, capacity, NULL, 0, src, ctx, tag, out);
}

int tide_p2p_irecv_nc(void *buf, tide_p2p_layout_t *lay, uint64_t count, int src, uint32_t ctx,
                      int tag, tide_p2p_req_t **out)
{
    return tide_p2p_irecv_lay(buf, count * lay->size, lay, count, src, ctx, tag, out);
}

int tide_p2p_iprobe(int src, uint32_t ctx, int tag, int claim, tide_p2p_status_t *st,
                    tide_p2p_msg_t **msg_out)
{
    pthread_mutex_lock(&tide_p2p_lock);
    tide_p2p_queues_t *q = tide_p2p_queues(ctx);
    tide_p2p_msg_t *m = q ? tide_p2p_match_unexpected(q, src, tag, claim) : NULL;
    if (m) {
        st->source = m->src;
        st->tag = m->tag;
        st->bytes = m->bytes;
        st->error = 0;
        st->cancelled = 0;
        m->claimed = claim;
        if (msg_out)
            *msg_out = m;
    }
    pthread_mutex_unlock(&tide_p2p_lock);
    return m != NULL;
}

static int tide_p2p_mrecv_lay(tide_p2p_msg_t *m, void *buf, uint64_t capacity,
                              tide_p2p_layout_t *lay, uint64_t count, tide_p2p_req_t **out)
{
    pthread_mutex_lock(&tide_p2p_lock);
    tide_p2p_req_t *r = tide_p2p_req_alloc(TIDE_P2P_REQ_RECV);
    if (r) {
        r->ctx = m->ctx;
        r->peer = m->src;
        r->peer_proc = -1;
        r->tag = m->tag;
        r->buf = buf;
        r->bytes = capacity;
        if (lay) {
            tide_p2p_layout_ref(lay);
            r->lay = lay;
            r->lay_count = count;
        }
        tide_p2p_deliver(m, r);
    }
    pthread_mutex_unlock(&tide_p2p_lock);
    if (!r)
        return -ENOMEM;
    *out = r;
    return 0;
}

int tide_p2p_mrecv(tide_p2p_msg_t *m, void *buf, uint64_t capacity, tide_p2p_req_t **out)
{
    return tide_p2p_mrecv_lay(m, buf, capacity, NULL, 0, out);
}

int tide_p2p_mrecv_nc(tide_p2p_msg_t *m, void *buf, tide_p2p_layout_t *lay, uint64_t count,
                      tide_p2p_req_t **out)
{
    return tide_p2p_mrecv_lay(m, buf, count * lay->size, lay, count, out);
}

int tide_p2p_recv_posted(const tide_p2p_req_t *r)
{
    pthread_mutex_lock(&tide_p2p_lock);
    int posted = !tide_p2p_req_done(r) && !tide_list_empty(&r->link);
    pthread_mutex_unlock(&tide_p2p_lock);
    return posted;
}

int tide_p2p_cancel(tide_p2p_req_t *r)
{
    int cancelled = 0;
    pthread_mutex_lock(&tide_p2p_lock);
    if (tide_p2p_req_done(r)) {
        /* too late: it completed normally */
    } else if (r->kind == TIDE_P2P_REQ_RECV && !tide_list_empty(&r->link)) {
        /* still posted; a matched one is being filled and must finish */
        tide_list_del(&r->link);
        cancelled = 1;
    } else if (r->msg && !r->msg->claimed) {
        /* A send still waiting in the receiver's unexpected queue (self). */
        tide_p2p_unexpected_del(r->msg);
        if (r->msg->owns_data)
            free(r->msg->data);
        free(r->msg);
        r->msg = NULL;
        cancelled = 1;
    }
    if (cancelled) {
        r->status.cancelled = 1;
        r->status.bytes = 0;
        tide_p2p_req_complete(r);
    }
    pthread_mutex_unlock(&tide_p2p_lock);
    return cancelled;
}

int tide_p2p_progress(void)
{
    /* The self path completes inline; only the network needs polling. */
    __atomic_store_n(&tide_p2p_app_progress_ns, tide_time_ns(), __ATOMIC_RELAXED);
    if (pthread_mutex_trylock(&tide_p2p_lock) != 0)
        return 0; /* another thread is progressing right now */
    int events = tide_p2p_net_progress();
    pthread_mutex_unlock(&tide_p2p_lock);
    return events;
}

TIDE_PARAM_DEFINE(idle_spin, TIDE_PARAM_TIME, "IDLE_SPIN", "100us",
                  "How long a process waiting in MPI spins on progress after the last event "
                  "before it sleeps in the kernel until a frame arrives (0: sleep at once)");
TIDE_PARAM_DEFINE(idle_block, TIDE_PARAM_TIME, "IDLE_BLOCK", "1ms",
                  "Longest sleep of a waiting process between two looks at progress "
                  "(it wakes earlier for a frame or a protocol timer)");

void tide_p2p_idle(tide_p2p_idle_t *st, int events)
{
    if (events > 0) {
        st->since = 0;
        return;
    }
    uint64_t now = tide_time_ns();
    if (!st->since) {
        st->since = now;
        return;
    }
    if (now - st->since < (uint64_t)tide_param_int(&tide_param_idle_spin))
        return;
    tide_p2p_net_wait((uint64_t)tide_param_int(&tide_param_idle_block));
    st->since = tide_time_ns(); /* what woke us may be another thread's work */
}

/* ---- non-contiguous buffers: cursors over layouts ------------------------ */

void tide_p2p_cur_init(tide_p2p_cur_t *c, const void *base, const tide_p2p_layout_t *lay,
                       uint64_t count, uint64_t offset)
{
    c->base = (char *)base;
    c->lay = lay;
    c->count = count;
    c->inst = c->blk = 0;
    c->boff = offset;
    if (!lay || !lay->size)
        return;
    /* The block holding packed byte `offset`: last j with pre[j] <= r. */
    c->inst = offset / lay->size;
    uint64_t r = offset % lay->size, lo = 0, hi = lay->nblks;
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (lay->pre[mid] <= r)
            lo = mid;
        else
            hi = mid;
    }
    c->blk = lo;
    c->boff = r - lay->pre[lo];
}

uint64_t tide_p2p_cur_peek(const tide_p2p_cur_t *c, uint64_t max, char **ptr)
{
    uint64_t len;
    if (!c->lay) {
        *ptr = c->base + c->boff;
        len = c->count - c->boff;
    } else {
        if (c->inst >= c->count || !c->lay->nblks)
            return 0;
        const tide_p2p_blk_t *b = &c->lay->blks[c->blk];
        *ptr = c->base + (int64_t)c->inst * c->lay->extent + b->off + (int64_t)c->boff;
        len = (uint64_t)b->len - c->boff;
    }
    return len < max ? len : max;
}

void tide_p2p_cur_skip(tide_p2p_cur_t *c, uint64_t n)
{
    if (!c->lay) {
        c->boff += n;
        return;
    }
    while (n) {
        uint64_t left = (uint64_t)c->lay->blks[c->blk].len - c->boff;
        if (n < left) {
            c->boff += n;
            return;
        }
        n -= left;
        c->boff = 0;
        if (++c->blk == c->lay->nblks) {
            c->blk = 0;
            c->inst++;
        }
    }
}

int tide_p2p_cur_iov(const tide_p2p_cur_t *c, struct iovec *iov, int max, uint64_t maxbytes,
                     uint64_t *bytes)
{
    tide_p2p_cur_t t = *c;
    uint64_t total = 0;
    int n = 0;
    while (n < max && total < maxbytes) {
        char *p;
        uint64_t len = tide_p2p_cur_peek(&t, maxbytes - total, &p);
        if (!len)
            break;
        iov[n].iov_base = p;
        iov[n++].iov_len = len;
        total += len;
        tide_p2p_cur_skip(&t, len);
    }
    *bytes = total;
    return n;
}

/* Copy between n packed bytes at buf and the buffer under c (pack: to buf),
 * block by block in one loop; the small fixed sizes that dominate vectors
 * of basic types are inlined moves, not calls. */
static inline void tide_p2p_cur_move(tide_p2p_cur_t *c, char *buf, uint64_t n, int pack)
{
    if (!c->lay) {
        char *p = c->base + c->boff;
        memcpy(pack ? buf : p, pack ? p : buf, n);
        c->boff += n;
        return;
    }
    const tide_p2p_layout_t *l = c->lay;
    while (n && c->inst < c->count) {
        const tide_p2p_blk_t *b = &l->blks[c->blk];
        char *p = c->base + (int64_t)c->inst * l->extent + b->off + (int64_t)c->boff;
        uint64_t len = (uint64_t)b->len - c->boff;
        if (len > n)
            len = n;
        char *d = pack ? buf : p;
        const char *s = pack ? p : buf;
        switch (len) {
        case 4: memcpy(d, s, 4); break;
        case 8: memcpy(d, s, 8); break;
        case 16: memcpy(d, s, 16); break;
        default: memcpy(d, s, len);
        }
        buf += len;
        n -= len;
        if (c->boff + len < (uint64_t)b->len) {
            c->boff += len;
        } else {
            c->boff = 0;
            if (++c->blk == l->nblks) {
                c->blk = 0;
                c->inst++;
            }
        }
    }
}

void tide_p2p_cur_pack(tide_p2p_cur_t *c, void *dst, uint64_t n)
{
    tide_p2p_cur_move(c, dst, n, 1);
}

void tide_p2p_cur_unpack(tide_p2p_cur_t *c, const void *src, uint64_t n)
{
    tide_p2p_cur_move(c, (char *)src, n, 0);
}

void tide_p2p_cur_copy(tide_p2p_cur_t *dst, tide_p2p_cur_t *src, uint64_t n)
{
    if (!dst->lay) { /* one side contiguous: a plain gather or scatter */
        tide_p2p_cur_pack(src, dst->base + dst->boff, n);
        dst->boff += n;
        return;
    }
    if (!src->lay) {
        tide_p2p_cur_unpack(dst, src->base + src->boff, n);
        src->boff += n;
        return;
    }
    /* Both scattered: through a small bounce buffer, which keeps both loops
     * tight (cheaper than matching piece against piece). */
    char tmp[4096];
    while (n) {
        uint64_t k = n < sizeof(tmp) ? n : sizeof(tmp);
        tide_p2p_cur_pack(src, tmp, k);
        tide_p2p_cur_unpack(dst, tmp, k);
        n -= k;
    }
}
