/* Matching (MPI 4.1 section 3.5): per-context posted-receive and
 * unexpected-message queues, searched in order so that messages from one
 * source on one communicator are received in the order they were sent.
 *
 * Fast path for the common case of receives naming their source: each
 * context keeps, per source rank, its posted receives and its unexpected
 * messages, so an exact (source, tag) match looks only at that source's
 * short queues.  Receives from MPI_ANY_SOURCE wait in one wildcard queue;
 * every posted receive carries a posting sequence number so an arriving
 * message takes the earliest posted of the two candidates (the source's
 * queue and the wildcard queue).  Unexpected messages are also kept on one
 * list in arrival order, which an MPI_ANY_SOURCE receive or probe walks.
 * Every function here runs with tide_p2p_lock held. */
#include "config.h"
#include "p2p/p2p_impl.h"

#include <stdlib.h>

static tide_hash_t tide_p2p_ctx_table;
uint64_t tide_p2p_unexpected_bytes, tide_p2p_unexpected_msgs, tide_p2p_unexpected_peak;

/* What an unexpected message costs: its record and the payload it owns. */
static uint64_t tide_p2p_msg_cost(const tide_p2p_msg_t *m)
{
    return sizeof(*m) + (m->owns_data ? m->bytes : 0);
}

typedef struct tide_p2p_srcq {
    tide_list_t posted;     /* tide_p2p_req_t.link, posting order */
    tide_list_t unexpected; /* tide_p2p_msg_t.slink, arrival order */
} tide_p2p_srcq_t;

void tide_p2p_match_init(void)
{
    tide_hash_init(&tide_p2p_ctx_table);
}

static void tide_p2p_queues_free(tide_p2p_queues_t *q)
{
    size_t it = 0;
    void *v;
    while (tide_hash_next(&q->bysrc, &it, NULL, &v))
        free(v);
    tide_hash_fini(&q->bysrc);
    free(q);
}

void tide_p2p_match_fini(void)
{
    size_t it = 0;
    void *v;
    while (tide_hash_next(&tide_p2p_ctx_table, &it, NULL, &v))
        tide_p2p_queues_free(v);
    tide_hash_fini(&tide_p2p_ctx_table);
}

tide_p2p_queues_t *tide_p2p_queues(uint32_t ctx)
{
    tide_p2p_queues_t *q = tide_hash_get(&tide_p2p_ctx_table, ctx);
    if (q)
        return q;
    q = calloc(1, sizeof(*q));
    if (!q || tide_hash_put(&tide_p2p_ctx_table, ctx, q) != 0) {
        free(q);
        return NULL;
    }
    tide_hash_init(&q->bysrc);
    tide_list_init(&q->posted_any);
    tide_list_init(&q->unexpected);
    return q;
}

tide_p2p_queues_t *tide_p2p_queues_find(uint32_t ctx)
{
    return tide_hash_get(&tide_p2p_ctx_table, ctx);
}

/* The queues of one source, made on first use (NULL: out of memory). */
static tide_p2p_srcq_t *tide_p2p_srcq(tide_p2p_queues_t *q, int src, int create)
{
    tide_p2p_srcq_t *sq = tide_hash_get(&q->bysrc, (uint64_t)(uint32_t)src);
    if (sq || !create)
        return sq;
    sq = malloc(sizeof(*sq));
    if (!sq || tide_hash_put(&q->bysrc, (uint64_t)(uint32_t)src, sq) != 0) {
        free(sq);
        return NULL;
    }
    tide_list_init(&sq->posted);
    tide_list_init(&sq->unexpected);
    return sq;
}

static inline int tide_p2p_tag_matches(int want_tag, int tag)
{
    return want_tag == TIDE_P2P_ANY_TAG || want_tag == tag;
}

static tide_p2p_req_t *tide_p2p_first_posted(tide_list_t *list, int tag)
{
    tide_list_t *pos;
    tide_list_for_each(pos, list)
    {
        tide_p2p_req_t *r = tide_container_of(pos, tide_p2p_req_t, link);
        if (tide_p2p_tag_matches(r->tag, tag))
            return r;
    }
    return NULL;
}

tide_p2p_req_t *tide_p2p_match_posted(tide_p2p_queues_t *q, int src, int tag)
{
    tide_p2p_srcq_t *sq = tide_p2p_srcq(q, src, 0);
    tide_p2p_req_t *a = sq ? tide_p2p_first_posted(&sq->posted, tag) : NULL;
    tide_p2p_req_t *b = tide_p2p_first_posted(&q->posted_any, tag);
    tide_p2p_req_t *r = (a && b) ? (a->seq < b->seq ? a : b) : (a ? a : b);
    if (r)
        tide_list_del(&r->link);
    return r;
}

int tide_p2p_posted_matches(tide_p2p_queues_t *q, int src, int tag)
{
    tide_p2p_srcq_t *sq = tide_p2p_srcq(q, src, 0);
    return (sq && tide_p2p_first_posted(&sq->posted, tag)) ||
           tide_p2p_first_posted(&q->posted_any, tag);
}

int tide_p2p_queue_posted(tide_p2p_queues_t *q, tide_p2p_req_t *r)
{
    r->seq = ++q->post_seq;
    if (r->peer == TIDE_P2P_ANY_SOURCE) {
        tide_list_push_back(&q->posted_any, &r->link);
        return 0;
    }
    tide_p2p_srcq_t *sq = tide_p2p_srcq(q, r->peer, 1);
    if (!sq)
        return -1;
    tide_list_push_back(&sq->posted, &r->link);
    return 0;
}

int tide_p2p_queue_unexpected(tide_p2p_queues_t *q, tide_p2p_msg_t *m)
{
    tide_p2p_srcq_t *sq = tide_p2p_srcq(q, m->src, 1);
    if (!sq)
        return -1;
    tide_list_push_back(&q->unexpected, &m->link);
    tide_list_push_back(&sq->unexpected, &m->slink);
    tide_p2p_unexpected_bytes += tide_p2p_msg_cost(m);
    tide_p2p_unexpected_msgs++;
    if (tide_p2p_unexpected_bytes > tide_p2p_unexpected_peak)
        tide_p2p_unexpected_peak = tide_p2p_unexpected_bytes;
    return 0;
}

void tide_p2p_unexpected_del(tide_p2p_msg_t *m)
{
    tide_list_del(&m->link);
    tide_list_del(&m->slink);
    tide_p2p_unexpected_bytes -= tide_p2p_msg_cost(m);
    tide_p2p_unexpected_msgs--;
}

/* Fail the posted receives of one source queue whose process is proc. */
static void tide_p2p_fail_posted(tide_list_t *list, int proc, int err)
{
    tide_list_t *pos, *tmp;
    tide_list_for_each_safe(pos, tmp, list)
    {
        tide_p2p_req_t *r = tide_container_of(pos, tide_p2p_req_t, link);
        if (r->peer_proc != proc)
            continue;
        tide_list_del(&r->link);
        r->status.error = err;
        tide_p2p_req_complete(r);
    }
}

void tide_p2p_match_fail_proc(int proc, int err)
{
    size_t it = 0;
    void *v;
    while (tide_hash_next(&tide_p2p_ctx_table, &it, NULL, &v)) {
        tide_p2p_queues_t *q = v;
        size_t it2 = 0;
        void *sv;
        while (tide_hash_next(&q->bysrc, &it2, NULL, &sv))
            tide_p2p_fail_posted(&((tide_p2p_srcq_t *)sv)->posted, proc, err);
    }
}

/* Complete every receive of a posted queue with err. */
static void tide_p2p_fail_list(tide_list_t *list, int err)
{
    tide_list_t *n;
    while ((n = tide_list_pop_front(list))) {
        tide_p2p_req_t *r = tide_container_of(n, tide_p2p_req_t, link);
        r->status.error = err;
        tide_p2p_req_complete(r);
    }
}

void tide_p2p_match_fail_all(tide_p2p_queues_t *q, int err)
{
    size_t it = 0;
    void *sv;
    tide_p2p_fail_list(&q->posted_any, err);
    while (tide_hash_next(&q->bysrc, &it, NULL, &sv))
        tide_p2p_fail_list(&((tide_p2p_srcq_t *)sv)->posted, err);
}

tide_p2p_msg_t *tide_p2p_match_unexpected(tide_p2p_queues_t *q, int src, int tag, int remove)
{
    tide_p2p_msg_t *found = NULL;
    tide_list_t *pos;
    if (src == TIDE_P2P_ANY_SOURCE) {
        tide_list_for_each(pos, &q->unexpected)
        {
            tide_p2p_msg_t *m = tide_container_of(pos, tide_p2p_msg_t, link);
            if (tide_p2p_tag_matches(tag, m->tag)) {
                found = m;
                break;
            }
        }
    } else {
        tide_p2p_srcq_t *sq = tide_p2p_srcq(q, src, 0);
        if (sq) {
            tide_list_for_each(pos, &sq->unexpected)
            {
                tide_p2p_msg_t *m = tide_container_of(pos, tide_p2p_msg_t, slink);
                if (tide_p2p_tag_matches(tag, m->tag)) {
                    found = m;
                    break;
                }
            }
        }
    }
    if (found && remove)
        tide_p2p_unexpected_del(found);
    return found;
}
