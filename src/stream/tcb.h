/* Internals of the stream engine: the stack, the connection (TCB), its
 * queues, and the functions the per-direction files share.
 *
 * Files, in the order a segment meets them:
 *   stack.c  - stack life cycle, progress loop, connection table, tx batch
 *   input.c  - tide_stream_input -> tide_tcb_process (per state) -> receive
 *   sack.c   - sender scoreboard (RFC 6675) and receiver out-of-order queue
 *   output.c - segment building, transmission, ACKs, RST
 *   timers.c - RTO, persist, keepalive, delayed ACK, TIME_WAIT
 *   cc_*.c   - congestion control modules behind tide_cc_ops_t
 *   api.c    - the public socket-like calls
 *
 * Locking (modelled on Linux's bh_lock_sock / lock_sock):
 *   st->lock protects everything: connection table, timer wheel, wire, and
 *   every TCB field.  A user call that copies user data takes ownership of
 *   the TCB (owned = 1) and then drops st->lock while copying.  While a TCB
 *   is owned, progress in another thread does not touch it: its frames go to
 *   the TCB's backlog (bounded, overflow dropped and counted) and its timers
 *   are deferred (bits in `deferred`).  The owner retakes st->lock, drains
 *   the backlog and the deferred timers, pushes output and clears owned
 *   (tide_tcb_release).
 *
 * Buffers, allocated once per connection:
 *   send: a byte ring (copied sends) plus a ring of descriptors, each a
 *   contiguous piece of the sequence space pointing either into the byte
 *   ring or at a caller's zero-copy buffer.  Bytes stay until acknowledged.
 *   receive: a byte ring covering [rcv_read, rcv_read + rcv_cap).  In-order
 *   bytes are [rcv_read, rcv_nxt); out-of-order bytes are written straight
 *   to their place beyond rcv_nxt and remembered as intervals (the
 *   out-of-order queue), so coalescing is interval merging and nothing is
 *   copied twice. */
#ifndef TIDE_STREAM_TCB_H
#define TIDE_STREAM_TCB_H

#include <pthread.h>
#include <stdint.h>

#include "tide/stream.h"
#include "stream/seg.h"
#include "util/hash.h"
#include "util/list.h"
#include "util/param.h"
#include "util/timer.h"
#include "wire/wire.h"

#define TIDE_OOO_MAX       32  /* out-of-order intervals per connection */
#define TIDE_SB_MAX        32  /* SACK scoreboard intervals per connection */
#define TIDE_BACKLOG_MAX   128 /* frames per connection backlog (hard cap) */
#define TIDE_BACKLOG_STACK 192 /* all backlogs of a stack: the wire lends few buffers */
#define TIDE_POSTED_MAX    16  /* posted receive buffers per connection */
#define TIDE_TX_BATCH      32  /* frames per wire send burst */
#define TIDE_RX_BURST      32  /* frames per wire receive burst */

typedef struct tide_cc_ops tide_cc_ops_t;

typedef struct tide_interval {
    uint32_t l, r; /* [l, r) */
} tide_interval_t;

/* Deferred work bits (timers that fired while the TCB was owned). */
enum {
    TIDE_DEFER_RTX = 1,
    TIDE_DEFER_PERSIST = 2,
    TIDE_DEFER_KEEP = 4,
    TIDE_DEFER_DELACK = 8,
};

typedef struct tide_sdesc {
    uint32_t seq, len;
    const uint8_t *base;
    tide_stream_zc_t *zc; /* NULL: base points into the byte ring */
} tide_sdesc_t;

typedef struct tide_backlog_ent {
    tide_wire_frame_t frame;
    tide_seg_t seg;
} tide_backlog_ent_t;

/* Per-connection options, inherited by accepted children. */
typedef struct tide_stream_sopts {
    int64_t rcvlowat, rcvtimeo, sndtimeo, sndbuf, rcvbuf;
    int nodelay, keepalive, lowlat;
    int64_t keepidle, keepintvl, keepcnt;
} tide_stream_sopts_t;

struct tide_stream {
    tide_stream_stack_t *st;
    tide_stream_state_t state;
    tide_list_t all_link; /* st->conns */
    uint16_t lport, rport;
    uint32_t peer; /* wire peer handle */
    uint64_t hkey;
    int in_table, bound, user_closed, listening;
    tide_stream_sopts_t o;

    /* send sequence space (RFC 9293 3.3.1) */
    uint32_t iss, snd_una, snd_nxt, snd_max, snd_end;
    uint32_t snd_wnd, max_snd_wnd, snd_wl1, snd_wl2;
    uint8_t snd_wscale, rcv_wscale;
    uint32_t mss;
    /* receive sequence space */
    uint32_t irs, rcv_nxt, rcv_read, rcv_adv, last_ack_sent;
    uint32_t fin_seq;
    int fin_rcvd;   /* peer's FIN seen (maybe out of order) */
    int fin_queued; /* our FIN is part of the sequence space at snd_end */
    int rd_shut, wr_shut, corked;
    int err;         /* sticky error reported to the user */
    int err_sent;    /* send reported err once; now -EPIPE */
    int pending_err; /* SO_ERROR */
    int eof;         /* peer's FIN consumed in order */

    /* timestamps (RFC 7323) */
    uint32_t ts_recent;
    uint64_t ts_recent_ns; /* clock time TS.Recent was last set */
    /* RTT estimation (RFC 6298), microseconds */
    uint64_t srtt_ns, rttvar_ns; /* srtt_ns == 0: no sample yet */
    uint64_t rto_ns;
    uint32_t backoff, retries, probes, keep_probes;
    uint32_t persist_backoff; /* grows per window probe until the window opens */
    uint64_t rtx_ts_us;       /* TSval of the last retransmission of snd_una */
    int rtx_una;              /* snd_una was retransmitted */
    int pto_armed;            /* t_rtx is a tail loss probe timeout, not an RTO */
    int tlp_in_flight;        /* a probe is out; tlp_high: snd_max after it */
    uint32_t tlp_high;
    uint32_t lost_hint; /* lost mark fixed at the start of this recovery */

    /* congestion control and loss recovery (RFC 5681, 6582, 6675) */
    const tide_cc_ops_t *cc;
    unsigned char cc_priv[64] __attribute__((aligned(8)));
    uint32_t cwnd, ssthresh, prior_cwnd, prior_ssthresh;
    int in_recovery, loss_all; /* loss_all: after RTO, every unsacked byte is lost */
    uint32_t recover, high_rxt;
    uint32_t dupacks;
    tide_interval_t sb[TIDE_SB_MAX];
    int nsb;
    uint32_t sacked_bytes;

    /* ACK generation */
    int ack_now, ack_pending;
    uint32_t rcv_unacked_bytes; /* received since our last ACK */
    uint32_t quickacks;
    int wnd_update_needed;

    /* receive out-of-order queue (sack.c) */
    tide_interval_t ooo[TIDE_OOO_MAX];
    int nooo;
    uint32_t ooo_bytes;
    tide_interval_t ooo_last; /* block holding the latest OOO segment */

    /* send buffer */
    uint8_t *sb_mem;
    uint32_t sb_cap, sb_head, sb_tail, sb_used;
    tide_sdesc_t *sd;
    uint32_t sd_cap, sd_head, sd_cnt;
    /* receive buffer */
    uint8_t *rb_mem;
    uint32_t rb_cap, rb_head; /* rb_head: ring index of rcv_read */
    tide_stream_rxbuf_t *posted[TIDE_POSTED_MAX];
    uint32_t posted_head, posted_cnt;

    /* timers */
    tide_timer_t t_rtx, t_persist, t_keep, t_delack, t_tw;
    uint64_t last_rcv_ns;

    /* ownership and backlog */
    int owned, releasing;
    uint32_t deferred;
    tide_backlog_ent_t *bl;
    uint32_t bl_head, bl_cnt, bl_max;

    /* listener side */
    tide_stream_t *parent; /* listener of a passive child */
    tide_list_t q_link;    /* parent's synq or acceptq */
    int in_acceptq;
    tide_list_t synq, acceptq;
    int synq_len, acceptq_len, backlog;

    /* counters of this connection */
    uint64_t c_bytes_acked, c_bytes_received, c_segs_in, c_segs_out, c_retrans;
    uint64_t c_rto_fires, c_fast_recoveries, c_dup_acks, c_ooo_segs, c_backlog_drops;
    uint64_t c_window_probes;
};

struct tide_stream_stack {
    pthread_mutex_t lock;
    tide_wire_t *wire;
    tide_clock_t *clock;
    tide_timer_wheel_t wheel;
    uint32_t key;
    tide_mac_t mac; /* authenticated mode (mac.h) */
    const tide_cc_ops_t *cc;
    uint64_t rng;
    void (*idle_fn)(void *arg);
    void *idle_arg;
    tide_hash_t conns_by_key; /* (peer, lport, rport) -> TCB */
    tide_hash_t listeners;    /* lport -> listening TCB */
    tide_hash_t ports;        /* lport -> use count (as pointer) */
    tide_list_t conns;        /* every TCB */
    int nconns;
    uint16_t next_port;
    uint32_t mss; /* from the wire's max payload */
    tide_stream_stats_t *stats;
    tide_stream_stats_t stats_priv;
    void *shm;
    size_t shm_len;
    char shm_path[64];
    tide_list_t stacks_link;
    /* challenge ACK rate limit (RFC 5961 section 7) */
    uint64_t chack_epoch;
    uint32_t chack_count;
    /* transmit batch */
    tide_wire_tx_t tx[TIDE_TX_BATCH];
    uint8_t txhdr[TIDE_TX_BATCH][TIDE_SEG_HDR_BUF];
    int ntx;
    uint32_t bl_total; /* frames held in all backlogs */
    uint32_t isn_next; /* tests: next ISN (0: random) */
    uint64_t snap_ns;  /* last connection snapshot for tide-stat */
};

/* Congestion control module (RFC 5681 framework). */
struct tide_cc_ops {
    const char *name;
    void (*init)(tide_stream_t *s);
    /* acked: bytes newly acknowledged outside recovery */
    void (*on_ack)(tide_stream_t *s, uint32_t acked, uint64_t now_ns);
    /* ssthresh to use on entering recovery or after an RTO */
    uint32_t (*ssthresh)(tide_stream_t *s);
    void (*on_recovery_exit)(tide_stream_t *s);
};
extern const tide_cc_ops_t tide_cc_newreno;
extern const tide_cc_ops_t tide_cc_cubic;
const tide_cc_ops_t *tide_cc_find(const char *name);

/* Tunables (declared in the file that uses them, see doc/stream.md). */
TIDE_PARAM_EXTERN(stream_rto_min);
TIDE_PARAM_EXTERN(stream_rto_max);
TIDE_PARAM_EXTERN(stream_rto_init);
TIDE_PARAM_EXTERN(stream_retries);
TIDE_PARAM_EXTERN(stream_syn_retries);
TIDE_PARAM_EXTERN(stream_delack);
TIDE_PARAM_EXTERN(stream_time_wait);
TIDE_PARAM_EXTERN(stream_init_cwnd);
TIDE_PARAM_EXTERN(stream_ooo_max);
TIDE_PARAM_EXTERN(stream_backlog);
TIDE_PARAM_EXTERN(stream_paws_slack);

static inline uint64_t tide_tcb_now(const tide_stream_t *s)
{
    return tide_clock_now(s->st->clock);
}
static inline uint32_t tide_tcb_ts(const tide_stream_t *s)
{
    return (uint32_t)(tide_tcb_now(s) / 1000);
}
static inline uint32_t tide_tcb_flight(const tide_stream_t *s)
{
    return s->snd_nxt - s->snd_una;
}
static inline int tide_tcb_synced(const tide_stream_t *s)
{
    return s->state >= TIDE_STREAM_ESTABLISHED;
}
#define TIDE_STAT(st, f)        ((st)->stats->f++)
#define TIDE_STAT_ADD(st, f, n) ((st)->stats->f += (n))

/* stack.c */
uint64_t tide_stack_conn_key(uint32_t peer, uint16_t lport, uint16_t rport);
int tide_stack_conn_insert(tide_stream_stack_t *st, tide_stream_t *s);
void tide_stack_conn_remove(tide_stream_stack_t *st, tide_stream_t *s);
tide_stream_t *tide_stack_conn_lookup(tide_stream_stack_t *st, uint32_t peer, uint16_t lport,
                                      uint16_t rport);
int tide_stack_port_get(tide_stream_stack_t *st, uint16_t *port);
int tide_stack_port_take(tide_stream_stack_t *st, uint16_t port);
void tide_stack_port_put(tide_stream_stack_t *st, uint16_t port);
uint32_t tide_stack_random(tide_stream_stack_t *st);
void tide_stack_tx_flush(tide_stream_stack_t *st);
/* Queue one frame: header hdr (copied) + payload iov (referenced until the
 * next flush). */
void tide_stack_tx(tide_stream_stack_t *st, uint32_t peer, const tide_seg_t *seg,
                   const struct iovec *iov, int iovcnt);
int tide_stack_progress_locked(tide_stream_stack_t *st);

/* TCB life cycle (stack.c) */
tide_stream_t *tide_tcb_new(tide_stream_stack_t *st, const tide_stream_sopts_t *o);
int tide_tcb_alloc_buffers(tide_stream_t *s);
void tide_tcb_free(tide_stream_t *s);
void tide_tcb_set_state(tide_stream_t *s, tide_stream_state_t state);
/* Connection is dead: record err, complete pending zc/rxbufs, go CLOSED. */
void tide_tcb_fail(tide_stream_t *s, int err);
/* Free the TCB if nothing needs it any more (closed and released by user). */
void tide_tcb_maybe_free(tide_stream_t *s);
void tide_tcb_lock(tide_stream_t *s);
void tide_tcb_release(tide_stream_t *s);
void tide_tcb_init_seq(tide_stream_t *s);
void tide_tcb_enter_time_wait(tide_stream_t *s);

/* api.c: snapshot of one connection (st->lock held) */
void tide_tcb_info(tide_stream_t *s, tide_stream_info_t *in);

/* input.c */
/* Returns 1 when the frame was kept (in a backlog) and must not be released. */
int tide_stream_input(tide_stream_stack_t *st, tide_wire_frame_t *f);
void tide_tcb_process(tide_stream_t *s, const tide_seg_t *seg);
void tide_tcb_backlog_drain(tide_stream_t *s);

/* receive side helpers (input.c) */
uint32_t tide_tcb_rcv_space(const tide_stream_t *s);
void tide_tcb_deliver_posted(tide_stream_t *s);
void tide_tcb_complete_posted(tide_stream_t *s, int status);

/* sack.c */
void tide_sb_update(tide_stream_t *s, const tide_seg_t *seg);
void tide_sb_ack(tide_stream_t *s);
void tide_sb_clear(tide_stream_t *s);
int tide_sb_is_sacked(const tide_stream_t *s, uint32_t seq, uint32_t *end);
uint32_t tide_sb_lost_mark(const tide_stream_t *s);
uint32_t tide_sb_pipe(const tide_stream_t *s);
/* RFC 6675 NextSeg rule 1: an unsacked lost range to retransmit. */
int tide_sb_next_lost(const tide_stream_t *s, uint32_t *seq, uint32_t *len);
int tide_ooo_add(tide_stream_t *s, uint32_t l, uint32_t r);
void tide_ooo_advance(tide_stream_t *s);
int tide_ooo_sack_blocks(const tide_stream_t *s, tide_seg_sack_t *blk, int max);
void tide_ooo_prune(tide_stream_t *s, uint32_t limit);

/* output.c */
void tide_tcb_output(tide_stream_t *s);
void tide_tcb_send_ack(tide_stream_t *s);
void tide_tcb_send_syn(tide_stream_t *s);
void tide_tcb_send_rst(tide_stream_t *s);
void tide_tcb_send_probe(tide_stream_t *s);
void tide_stack_send_rst_for(tide_stream_stack_t *st, uint32_t peer, const tide_seg_t *seg);
int tide_tcb_send_range(tide_stream_t *s, uint32_t seq, uint32_t maxlen, int rtx);
uint16_t tide_tcb_wnd_field(tide_stream_t *s);
void tide_tcb_ack_event(tide_stream_t *s, int immediate);
void tide_tcb_challenge_ack(tide_stream_t *s);
void tide_sbuf_free_acked(tide_stream_t *s);
void tide_sbuf_fail_zc(tide_stream_t *s, int err);
uint32_t tide_sbuf_space(const tide_stream_t *s);
uint32_t tide_sbuf_append(tide_stream_t *s, const uint8_t *p, uint32_t len);
int tide_sbuf_append_zc(tide_stream_t *s, tide_stream_zc_t *zc);

/* timers.c */
void tide_tcb_timers_init(tide_stream_t *s);
void tide_tcb_timers_stop(tide_stream_t *s);
void tide_tcb_rtt_sample(tide_stream_t *s, uint32_t rtt_us);
void tide_tcb_rearm_rtx(tide_stream_t *s);
void tide_tcb_arm_rtx_if_needed(tide_stream_t *s);
void tide_tcb_arm_persist(tide_stream_t *s);
void tide_tcb_arm_keepalive(tide_stream_t *s);
void tide_tcb_arm_delack(tide_stream_t *s);
void tide_tcb_run_deferred(tide_stream_t *s);
void tide_tcb_arm_fin_timeout(tide_stream_t *s);

#endif
