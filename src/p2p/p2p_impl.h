/* Internals of the point-to-point layer shared by its files. */
#ifndef TIDE_P2P_IMPL_H
#define TIDE_P2P_IMPL_H

#include "p2p/p2p.h"
#include "util/hash.h"

#include <pthread.h>

/* The matching queues of one context (match.c explains the layout). */
typedef struct tide_p2p_queues {
    tide_hash_t bysrc;      /* source rank -> its posted and unexpected queues */
    tide_list_t posted_any; /* MPI_ANY_SOURCE receives, posting order */
    tide_list_t unexpected; /* every unexpected message, arrival order */
    uint64_t post_seq;
    int revoked; /* -errno: a collective context whose communicator lost a member (fail.c) */
} tide_p2p_queues_t;

extern pthread_mutex_t tide_p2p_lock;
extern uint64_t tide_p2p_app_progress_ns;

void tide_p2p_match_init(void);
void tide_p2p_match_fini(void);
/* The queues of a context, created on first use; NULL when out of memory. */
tide_p2p_queues_t *tide_p2p_queues(uint32_t ctx);
/* The queues of a context if they exist (nothing created). */
tide_p2p_queues_t *tide_p2p_queues_find(uint32_t ctx);
/* First posted receive that matches (src, tag), removed from the queue. */
tide_p2p_req_t *tide_p2p_match_posted(tide_p2p_queues_t *q, int src, int tag);
/* Whether a posted receive would match (src, tag); nothing removed. */
int tide_p2p_posted_matches(tide_p2p_queues_t *q, int src, int tag);
/* Queue a receive that found no message / a message that found no receive;
 * 0 or -1 when out of memory. */
int tide_p2p_queue_posted(tide_p2p_queues_t *q, tide_p2p_req_t *r);
int tide_p2p_queue_unexpected(tide_p2p_queues_t *q, tide_p2p_msg_t *m);
void tide_p2p_unexpected_del(tide_p2p_msg_t *m);
/* Posted receives whose source is process proc complete with err. */
void tide_p2p_match_fail_proc(int proc, int err);
/* Every posted receive of q completes with err. */
void tide_p2p_match_fail_all(tide_p2p_queues_t *q, int err);

/* Process failure beyond the named peer (fail.c).  A process is marked
 * failed: its groups count it and their collective contexts are revoked. */
void tide_p2p_groups_proc_failed(int proc, int err);
void tide_p2p_groups_fini(void);
/* Contexts revoked now (a send or receive looks only when this is not 0). */
extern uint64_t tide_p2p_nrevoked;
/* Consume an unexpected message nobody will receive (revoked context): a
 * rendezvous sender gets a CTS for 0 bytes, a synchronous one its ack, a
 * local sender completes with err; m is freed. */
void tide_p2p_msg_discard(tide_p2p_msg_t *m, int err);

/* Memory held by unexpected messages (payload + bookkeeping), their
 * number and the peak (flow control, tide_p2p_get_res). */
extern uint64_t tide_p2p_unexpected_bytes, tide_p2p_unexpected_msgs, tide_p2p_unexpected_peak;
/* First unexpected message that matches the pattern (src, tag may be ANY). */
tide_p2p_msg_t *tide_p2p_match_unexpected(tide_p2p_queues_t *q, int src, int tag, int remove);

/* The network path (net.c). */
int tide_p2p_net_init(int my_proc, int nprocs, const tide_p2p_rte_ops_t *rte);
void tide_p2p_net_finalize(void);
void tide_p2p_net_report(void);
void tide_p2p_net_stop_thread(void);
void tide_p2p_net_flush(void);
int tide_p2p_net_busy(void);
int tide_p2p_net_progress(void);
/* Block on the wire until a frame, a protocol timer or max_ns (idle waits). */
void tide_p2p_net_wait(uint64_t max_ns);
int tide_p2p_net_send(tide_p2p_req_t *s);
void tide_p2p_net_rts_matched(tide_p2p_msg_t *m, tide_p2p_req_t *r);
void tide_p2p_net_ack_matched(tide_p2p_msg_t *m);
/* A remote message nobody will receive (revoked context): answer an RTS
 * with a CTS for 0 bytes, a synchronous eager message with its ACK. */
void tide_p2p_net_msg_refuse(const tide_p2p_msg_t *m);
/* A message from a peer is complete (eager) or announced (RTS). */
int tide_p2p_arrive_remote(tide_p2p_msg_t *m);

tide_p2p_req_t *tide_p2p_req_alloc(tide_p2p_req_kind_t kind);
void tide_p2p_req_complete(tide_p2p_req_t *r);

#endif
