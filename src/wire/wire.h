/* The wire layer: unreliable datagram carriers under the stream engine.
 *
 * A wire endpoint (tide_wire_t) sends and receives frames of up to
 * `max_payload` bytes to and from peer endpoints.  Delivery is best effort:
 * frames may be lost, duplicated, reordered (sim/faults) or corrupted; the
 * stream engine above makes the byte stream reliable.  Implementations:
 *   eth  - AF_PACKET raw Ethernet (EtherType 0x88B5), mmap rings
 *   udp  - kernel UDP sockets (unprivileged fallback)
 *   roce - libibverbs UD queue pair (built when libibverbs is present)
 *   sim  - in-process, deterministic, driven by a tide_clock_t (tests)
 * and a fault-injection wrapper (TIDE_WIRE_FAULTS) that stacks on any wire.
 *
 * Addresses: every endpoint has an address blob (tide_wire_addr_t) small
 * enough to publish through PMIx.  To send to a peer the caller first turns
 * its blob into a peer handle with tide_wire_peer_add (the wire caches what
 * it needs: MAC and endpoint number, sockaddr, address handle).
 *
 * Receive is zero-copy: tide_wire_recv_burst returns frames that point into
 * the wire's own memory (ring slots, registered buffers); the caller hands
 * them back with tide_wire_recv_release, in any order, once done.
 *
 * Errors are negative errno values; the function that detects them logs.
 * One endpoint is used by one thread at a time (the stream layer serialises).
 */
#ifndef TIDE_WIRE_WIRE_H
#define TIDE_WIRE_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "util/clock.h"

#define TIDE_WIRE_ADDR_MAX 48
#define TIDE_WIRE_MAX_IOV  4

typedef struct tide_wire tide_wire_t;
typedef struct tide_wire_ops tide_wire_ops_t;

/* Serialisable address of an endpoint; the first byte of `bytes` is the wire
 * kind (tide_wire_kind_t) so a blob from another kind of wire is refused. */
typedef struct tide_wire_addr {
    uint8_t len;
    uint8_t bytes[TIDE_WIRE_ADDR_MAX];
} tide_wire_addr_t;

typedef enum {
    TIDE_WIRE_SIM = 1,
    TIDE_WIRE_UDP = 2,
    TIDE_WIRE_ETH = 3,
    TIDE_WIRE_ROCE = 4,
} tide_wire_kind_t;

/* A received frame, valid until released. */
typedef struct tide_wire_frame {
    const uint8_t *data; /* first byte of the payload the sender gave */
    uint32_t len;        /* payload length */
    uint32_t peer;       /* peer handle if the source is already known to
                            this endpoint, else TIDE_WIRE_PEER_UNKNOWN */
    uintptr_t priv[2];   /* the wire's own bookkeeping (slot, buffer...) */
} tide_wire_frame_t;

#define TIDE_WIRE_PEER_UNKNOWN UINT32_MAX

/* One frame to send: gathered from up to TIDE_WIRE_MAX_IOV pieces. */
typedef struct tide_wire_tx {
    uint32_t peer;
    uint32_t iovcnt;
    struct iovec iov[TIDE_WIRE_MAX_IOV];
} tide_wire_tx_t;

typedef struct tide_wire_stats {
    uint64_t tx_frames, tx_bytes, tx_errors;
    uint64_t rx_frames, rx_bytes;
    uint64_t rx_dropped_kernel; /* PACKET_STATISTICS tp_drops, RNR, ... */
    uint64_t rx_dropped_bad;    /* malformed/foreign frames dropped here */
    /* fault injection */
    uint64_t fault_drop, fault_dup, fault_reorder, fault_corrupt, fault_delay;
} tide_wire_stats_t;

/* Options for opening an endpoint; zero-initialise and fill what you need. */
typedef struct tide_wire_config {
    const char *kind;             /* "eth", "udp", "roce", "sim"; NULL: TIDE_WIRE or
                                     the automatic rule (tide_wire_open) */
    const char *device;           /* interface / RDMA device; NULL: TIDE_ETH_IF etc. */
    int local_rank;               /* index into comma lists of devices; -1 none */
    uint16_t endpoint;            /* requested endpoint number, 0: any free one */
    struct tide_sim_net *sim_net; /* sim only: the in-process network */
    tide_clock_t *clock;          /* NULL: tide_clock_mono */
    const char *faults;           /* NULL: TIDE_WIRE_FAULTS; "" none */
    int single_host;              /* every peer is on this host: the automatic
                                     rule takes udp over loopback */
} tide_wire_config_t;

struct tide_wire_ops {
    const char *name;
    int (*open)(const tide_wire_config_t *cfg, tide_wire_t **out);
    void (*close)(tide_wire_t *w);
    int (*peer_add)(tide_wire_t *w, const tide_wire_addr_t *addr, uint32_t *peer_out);
    int (*send_burst)(tide_wire_t *w, const tide_wire_tx_t *tx, int n);
    int (*recv_burst)(tide_wire_t *w, tide_wire_frame_t *frames, int max);
    void (*recv_release)(tide_wire_t *w, tide_wire_frame_t *frames, int n);
    int (*frame_src)(tide_wire_t *w, const tide_wire_frame_t *f, tide_wire_addr_t *out);
    int (*get_fd)(tide_wire_t *w);
    void (*update_stats)(tide_wire_t *w); /* pull kernel counters into stats */
};

/* Common head of every endpoint; implementations embed it first. */
struct tide_wire {
    const tide_wire_ops_t *ops;
    tide_wire_kind_t kind;
    uint32_t max_payload; /* largest payload a frame carries (MTU - headers) */
    tide_wire_addr_t addr;
    tide_wire_stats_t stats;
    tide_clock_t *clock;
};

/* Open an endpoint.  cfg->kind NULL: TIDE_WIRE if set, else the automatic
 * rule (documented in doc/wire.md).  The fault wrapper is stacked on top
 * when faults are configured.  0 or -errno (message logged). */
int tide_wire_open(const tide_wire_config_t *cfg, tide_wire_t **out);

static inline void tide_wire_close(tide_wire_t *w)
{
    w->ops->close(w);
}
static inline int tide_wire_peer_add(tide_wire_t *w, const tide_wire_addr_t *a, uint32_t *peer)
{
    return w->ops->peer_add(w, a, peer);
}
/* Send n frames; returns how many were accepted (0..n) or -errno.  A frame
 * longer than max_payload is refused with -EMSGSIZE. */
static inline int tide_wire_send_burst(tide_wire_t *w, const tide_wire_tx_t *tx, int n)
{
    return w->ops->send_burst(w, tx, n);
}
/* Receive up to max frames without blocking; returns the count (0 if none)
 * or -errno. */
static inline int tide_wire_recv_burst(tide_wire_t *w, tide_wire_frame_t *f, int max)
{
    return w->ops->recv_burst(w, f, max);
}
static inline void tide_wire_recv_release(tide_wire_t *w, tide_wire_frame_t *f, int n)
{
    w->ops->recv_release(w, f, n);
}
/* The source address of a received frame (for replying to an unknown peer). */
static inline int tide_wire_frame_src(tide_wire_t *w, const tide_wire_frame_t *f,
                                      tide_wire_addr_t *out)
{
    return w->ops->frame_src(w, f, out);
}
/* A descriptor that polls readable when frames may be waiting (-1 for sim). */
static inline int tide_wire_get_fd(tide_wire_t *w)
{
    return w->ops->get_fd(w);
}

/* Printable form of an address ("eth:veth0/02:..:01#5"), for messages. */
const char *tide_wire_addr_str(const tide_wire_addr_t *a, char *buf, size_t len);

#endif
