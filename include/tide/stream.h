/* Tide stream engine: a TCP-style reliable byte stream in user space over
 * any Tide wire (raw Ethernet, RoCE UD, UDP, or the in-process sim wire).
 *
 * A stack (tide_stream_stack_t) sits on one wire endpoint and multiplexes
 * streams over it by port number, like TCP ports over an IP address.  The
 * calls mirror BSD sockets: open, bind, listen, accept, connect, send,
 * recv, shutdown, close, poll.  Nothing here raises signals; errors are
 * negative errno values:
 *   -EAGAIN       would block (DONTWAIT, or a timeout expired)
 *   -EPIPE        sending after shutdown(WR)/close, or on a dead stream
 *   -ECONNRESET   the peer reset the stream
 *   -ETIMEDOUT    retransmissions, window probes or keepalives gave up
 *   -ECONNREFUSED no listener at the peer's port
 *   -ENOTCONN, -EINVAL, -EADDRINUSE, -ENOMEM, -EINPROGRESS, -EALREADY
 *
 * Progress: all protocol work (input, timers, output) happens inside
 * tide_stream_stack_progress() and inside blocking calls, which call it in
 * a loop.  With a fake clock and an idle hook (tide_stream_stack_opts_t)
 * a test drives two stacks deterministically in one thread.
 *
 * Threads: every call is thread-safe.  A stream is "owned" by the thread in
 * a send/recv call while it copies user data; frames for that stream that
 * arrive meanwhile (through progress in another thread) wait in a bounded
 * backlog that the owner drains when it is done (Linux lock_sock /
 * release_sock).
 *
 * Zero-copy and posted buffers: tide_stream_send_zc references the caller's
 * buffer and completes when the peer has acknowledged every byte;
 * tide_stream_post_recv lends a buffer that in-order data is copied into
 * directly from the wire frame.  Both use caller-owned descriptors, so the
 * engine allocates nothing per message.  Completion callbacks run inside
 * progress with the stack locked: they must not call into this API. */
#ifndef TIDE_STREAM_H
#define TIDE_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct tide_wire;
struct tide_wire_addr;
struct tide_clock;

typedef struct tide_stream_stack tide_stream_stack_t;
typedef struct tide_stream tide_stream_t;

typedef struct tide_stream_stack_opts {
    uint32_t key;             /* job key carried by every segment; 0: TIDE_STREAM_KEY */
    struct tide_clock *clock; /* NULL: the wire's clock */
    const char *cc;           /* "newreno", "cubic"; NULL: TIDE_STREAM_CC */
    uint64_t seed;            /* ISN and port randomness; 0: from the system */
    /* Called by blocking calls after a progress pass that did nothing
     * (tests: drive the peer stack, advance the fake clock).  NULL: spin. */
    void (*idle_fn)(void *arg);
    void *idle_arg;
    int no_shm_stats; /* 1: keep counters private (no tide-stat file) */
    /* Authenticated mode (doc/stream.md): a keyed MAC on every segment with
     * this 32-byte key; NULL: on only if TIDE_STREAM_MAC=1 (key from
     * TIDE_STREAM_MAC_KEY). */
    const uint8_t *mac_key;
} tide_stream_stack_opts_t;

/* Flags of send/recv/accept/connect. */
enum {
    TIDE_STREAM_DONTWAIT = 0x1, /* never block: -EAGAIN / -EINPROGRESS */
    TIDE_STREAM_PEEK = 0x2,     /* recv: copy without consuming */
    TIDE_STREAM_WAITALL = 0x4,  /* recv: wait for len bytes (or EOF/error) */
    TIDE_STREAM_MORE = 0x8,     /* send: more data follows, hold a partial segment */
};

enum { TIDE_STREAM_SHUT_RD = 1, TIDE_STREAM_SHUT_WR = 2, TIDE_STREAM_SHUT_RDWR = 3 };

/* Options (tide_stream_setopt/getopt); times in nanoseconds. */
typedef enum {
    TIDE_SO_RCVLOWAT = 1, /* recv returns once this many bytes are there (default 1) */
    TIDE_SO_RCVTIMEO,     /* blocking recv/accept give -EAGAIN after this; 0 forever */
    TIDE_SO_SNDTIMEO,     /* blocking send/connect give -EAGAIN after this; 0 forever */
    TIDE_SO_SNDBUF,       /* send buffer bytes; before connect/listen */
    TIDE_SO_RCVBUF,       /* receive buffer (= largest window) bytes; before connect/listen */
    TIDE_SO_NODELAY,      /* 1: no Nagle */
    TIDE_SO_KEEPALIVE,    /* 1: probe an idle peer */
    TIDE_SO_KEEPIDLE,     /* idle time before the first probe */
    TIDE_SO_KEEPINTVL,    /* time between probes */
    TIDE_SO_KEEPCNT,      /* unanswered probes before -ETIMEDOUT */
    TIDE_SO_LOWLAT,       /* 1: ACK every segment at once, no Nagle */
    TIDE_SO_ERROR,        /* get only: pending error, cleared by reading */
    TIDE_SO_STATE,        /* get only: tide_stream_state_t */
} tide_stream_opt_t;

typedef enum {
    TIDE_STREAM_CLOSED = 0,
    TIDE_STREAM_LISTEN,
    TIDE_STREAM_SYN_SENT,
    TIDE_STREAM_SYN_RCVD,
    TIDE_STREAM_ESTABLISHED,
    TIDE_STREAM_FIN_WAIT_1,
    TIDE_STREAM_FIN_WAIT_2,
    TIDE_STREAM_CLOSE_WAIT,
    TIDE_STREAM_CLOSING,
    TIDE_STREAM_LAST_ACK,
    TIDE_STREAM_TIME_WAIT,
} tide_stream_state_t;

/* A zero-copy send: the engine reads buf until the peer acknowledged it. */
typedef struct tide_stream_zc {
    const void *buf;
    size_t len;
    void (*cb)(struct tide_stream_zc *zc, void *arg); /* optional */
    void *arg;
    volatile int done; /* set last, after status */
    int status;        /* 0, or -errno if the stream died first */
} tide_stream_zc_t;

/* A posted receive buffer, filled in stream order. */
typedef struct tide_stream_rxbuf {
    void *buf;
    size_t len;
    size_t min; /* complete once this many bytes are in (0: len) */
    void (*cb)(struct tide_stream_rxbuf *rb, void *arg); /* optional */
    void *arg;
    size_t filled;
    volatile int done;
    int status; /* 0; -errno on error; 0 with filled < min at end of stream */
} tide_stream_rxbuf_t;

/* Readiness polling. */
enum {
    TIDE_POLLIN = 0x1,  /* data, EOF, or a connection to accept */
    TIDE_POLLOUT = 0x4, /* send buffer space (or connect completed) */
    TIDE_POLLERR = 0x8,
    TIDE_POLLHUP = 0x10,
};
typedef struct tide_stream_pollfd {
    tide_stream_t *s;
    short events, revents;
} tide_stream_pollfd_t;

/* Counters of a stack, in the spirit of `netstat -s` (see doc/stream.md).
 * Only ever incremented; the struct may live in a shared-memory file that
 * tide-stat reads. */
typedef struct tide_stream_stats {
    uint64_t seg_in, seg_out, data_seg_in, data_seg_out, bytes_in, bytes_out;
    uint64_t pure_acks_out, delayed_acks, quick_acks;
    uint64_t retrans_segs, retrans_bytes, retrans_rto, retrans_fast, retrans_tlp, retrans_spurious;
    uint64_t rto_fires, fast_recoveries, dup_acks_in, sack_blocks_in, sack_blocks_out;
    uint64_t ooo_segs, ooo_bytes, ooo_pruned_segs, ooo_pruned_bytes, dup_segs_in, rcv_direct_bytes;
    uint64_t backlog_queued, backlog_drops;
    uint64_t crc_errors, malformed, key_drops, no_conn_drops;
    uint64_t rst_in, rst_out, challenge_acks, rst_out_of_window, syn_in_window;
    uint64_t ack_unsent, ack_too_old, paws_drops, out_of_window, beyond_window_bytes;
    uint64_t window_probes, zero_window_adv, window_updates;
    uint64_t keepalive_probes, keepalive_timeouts, rto_timeouts, probe_timeouts;
    uint64_t active_opens, passive_opens, established, conn_resets, attempt_fails;
    uint64_t synq_overflows, accept_overflows, syn_retrans;
    uint64_t rcv_after_shutdown_bytes, rst_on_close, tx_wire_drops, zc_completed;
    uint64_t time_wait_recycled, conns_freed;
    uint64_t mac_drops; /* authenticated mode: segments without a valid tag */
} tide_stream_stats_t;

/* Snapshot of one connection, in the spirit of `ss -i` / struct tcp_info. */
typedef struct tide_stream_info {
    int state;
    uint16_t lport, rport;
    uint32_t mss, cwnd, ssthresh, snd_wnd, rcv_wnd, flight, sacked;
    uint32_t srtt_us, rttvar_us, rto_us, backoff;
    uint64_t bytes_acked, bytes_received, segs_out, segs_in, retrans_segs, rto_fires;
    uint64_t fast_recoveries, dup_acks_in, ooo_segs, backlog_drops, window_probes;
    const char *cc;
} tide_stream_info_t;

int tide_stream_stack_create(struct tide_wire *wire, const tide_stream_stack_opts_t *opts,
                             tide_stream_stack_t **out);
/* Frees every stream (sending RSTs to open ones).  The wire stays open. */
void tide_stream_stack_destroy(tide_stream_stack_t *st);
/* One pass: pull a burst of frames, run due timers, send what is ready.
 * Returns how many frames and timers were handled (0: idle) or -errno. */
int tide_stream_stack_progress(tide_stream_stack_t *st);
/* Absolute clock time of the next timer (UINT64_MAX: none). */
uint64_t tide_stream_stack_next_timer(tide_stream_stack_t *st);
const tide_stream_stats_t *tide_stream_stack_stats(tide_stream_stack_t *st);
/* Print the counters to stderr (done at destroy when TIDE_STATS=1). */
void tide_stream_stack_print_stats(tide_stream_stack_t *st);
/* Number of streams this stack still holds (TIME_WAIT and orphans included). */
int tide_stream_stack_nconns(tide_stream_stack_t *st);

int tide_stream_open(tide_stream_stack_t *st, tide_stream_t **out);
int tide_stream_bind(tide_stream_t *s, uint16_t port);
int tide_stream_listen(tide_stream_t *s, uint16_t port, int backlog);
int tide_stream_accept(tide_stream_t *ls, tide_stream_t **out, int flags);
/* Active open to port at addr.  Blocks until established unless DONTWAIT
 * (-EINPROGRESS; poll for TIDE_POLLOUT, then read TIDE_SO_ERROR). */
int tide_stream_connect(tide_stream_t *s, const struct tide_wire_addr *addr, uint16_t port,
                        int flags);
ssize_t tide_stream_send(tide_stream_t *s, const void *buf, size_t len, int flags);
ssize_t tide_stream_sendv(tide_stream_t *s, const struct iovec *iov, int iovcnt, int flags);
/* Queue a zero-copy send; returns 0 (queued), -EAGAIN (descriptor table
 * full), or an error.  Completion through zc->done / zc->cb. */
int tide_stream_send_zc(tide_stream_t *s, tide_stream_zc_t *zc);
/* Returns bytes copied, 0 at end of stream (peer FIN or SHUT_RD), or -errno. */
ssize_t tide_stream_recv(tide_stream_t *s, void *buf, size_t len, int flags);
/* Lend a buffer for the next bytes of the stream; 0 or -errno (-EAGAIN when
 * too many are posted).  Do not mix with concurrent tide_stream_recv. */
int tide_stream_post_recv(tide_stream_t *s, tide_stream_rxbuf_t *rb);
/* Wait (spinning progress) until rb->done or the receive timeout. */
int tide_stream_wait_rxbuf(tide_stream_t *s, tide_stream_rxbuf_t *rb);
int tide_stream_wait_zc(tide_stream_t *s, tide_stream_zc_t *zc);
/* SHUT_WR: FIN after queued data.  SHUT_RD: recv returns 0 from now on;
 * queued and later arriving data are acknowledged and discarded (counted in
 * rcv_after_shutdown_bytes) so the peer never stalls. */
int tide_stream_shutdown(tide_stream_t *s, int how);
/* Graceful close (FIN after queued data) unless unread data is pending, in
 * which case the stream is reset (RFC 2525 2.17).  The handle is invalid
 * afterwards; the stack finishes the teardown in the background. */
int tide_stream_close(tide_stream_t *s);
/* Abortive close (SO_LINGER 0): RST to the peer when connected, pending
 * zero-copy sends and posted buffers complete with -ECONNABORTED, the
 * handle is invalid afterwards.  For a peer known to be dead. */
int tide_stream_abort(tide_stream_t *s);
/* Like poll(2) over streams of one stack; timeout_ns < 0: forever, 0: check
 * once.  Returns the number of ready entries (0 on timeout) or -errno. */
int tide_stream_poll(tide_stream_stack_t *st, tide_stream_pollfd_t *fds, int n, int64_t timeout_ns);
int tide_stream_setopt(tide_stream_t *s, tide_stream_opt_t opt, int64_t val);
int tide_stream_getopt(tide_stream_t *s, tide_stream_opt_t opt, int64_t *val);
int tide_stream_get_info(tide_stream_t *s, tide_stream_info_t *info);
uint16_t tide_stream_local_port(tide_stream_t *s);
const char *tide_stream_state_name(int state);

#ifdef __cplusplus
}
#endif
#endif
