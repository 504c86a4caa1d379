/* Matching (MPI 4.1 section 3.5): per-context posted-receive and
 * unexpected-message queues, searched in order so that messages from one
 * source on one communicator are received in the order they were sent.
 * Every function here runs with tide_p2p_lock held. */
#include "config.h"
#include "p2p/p2p_impl.h"

#include <stdlib.h>

static tide_hash_t tide_p2p_ctx_table;

void tide_p2p_match_init(void)
{
    tide_hash_init(&tide_p2p_ctx_table);
}

void tide_p2p_match_fini(void)
{
    size_t it = 0;
    void *v;
    while (tide_hash_next(&tide_p2p_ctx_table, &it, NULL, &v))
        free(v);
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
    tide_list_init(&q->posted);
    tide_list_init(&q->unexpected);
    return q;
}

static inline int tide_p2p_envelope_matches(int want_src, int want_tag, int src, int tag)
{
    return (want_src == TIDE_P2P_ANY_SOURCE || want_src == src) &&
           (want_tag == TIDE_P2P_ANY_TAG || want_tag == tag);
}

tide_p2p_req_t *tide_p2p_match_posted(tide_p2p_queues_t *q, int src, int tag)
{
    tide_list_t *pos;
    tide_list_for_each(pos, &q->posted)
    {
        tide_p2p_req_t *r = tide_container_of(pos, tide_p2p_req_t, link);
        if (tide_p2p_envelope_matches(r->peer, r->tag, src, tag)) {
            tide_list_del(&r->link);
            return r;
        }
    }
    return NULL;
}

tide_p2p_msg_t *tide_p2p_match_unexpected(tide_p2p_queues_t *q, int src, int tag, int remove)
{
    tide_list_t *pos;
    tide_list_for_each(pos, &q->unexpected)
    {
        tide_p2p_msg_t *m = tide_container_of(pos, tide_p2p_msg_t, link);
        if (tide_p2p_envelope_matches(src, tag, m->src, m->tag)) {
            if (remove)
                tide_list_del(&m->link);
            return m;
        }
    }
    return NULL;
}
