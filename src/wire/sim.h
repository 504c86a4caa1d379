/* The sim wire: an in-process network (tide_sim_net_t) joining any number of
 * endpoints in memory, deterministic from a seed and timed by a tide_clock_t
 * (a tide_fake_clock_t in unit tests).  A frame sent at time t is visible to
 * the receiver's tide_wire_recv_burst once the clock reads
 *   t' = max(t, sender's link free) + len/rate + latency (+ fault delay)
 * and frames become visible in (due time, send order), so with a fake clock
 * nothing depends on the host's speed.  Nothing happens "in the background":
 * advancing the clock is what delivers frames.
 *
 * Typical unit test:
 *   tide_fake_clock_t fc;  tide_fake_clock_init(&fc, 0);
 *   tide_sim_net_t *net;   tide_sim_net_create(&fc.base, 42, &net);
 *   tide_sim_net_set_latency(net, 10000);               // 10 us
 *   tide_wire_config_t c = {.kind = "sim", .sim_net = net, .faults = ""};
 *   tide_wire_t *a, *b;    tide_wire_open(&c, &a);  tide_wire_open(&c, &b);
 *   uint32_t pb;           tide_wire_peer_add(a, &b->addr, &pb);
 *   ... tide_wire_send_burst(a, tx, n) ...
 *   tide_sim_net_advance(net, &fc);    // clock to the next delivery
 *   n = tide_wire_recv_burst(b, frames, 32); ... tide_wire_recv_release(...)
 *   tide_wire_close(a); tide_wire_close(b); tide_sim_net_destroy(net);
 *
 * Network faults can be built in (tide_sim_net_set_faults, same syntax as
 * TIDE_WIRE_FAULTS, counted in the *sender's* fault_* stats), or stacked per
 * endpoint with the fault wrapper (config .faults).  A hook sees every frame
 * in flight and may drop or edit it; tide_sim_net_inject puts hand-made
 * frames on the network.  A thread-safe mutex guards the net.
 */
#ifndef TIDE_WIRE_SIM_H
#define TIDE_WIRE_SIM_H

#include <stdint.h>

#include "util/clock.h"
#include "wire/wire.h"

typedef struct tide_sim_net tide_sim_net_t;

#define TIDE_SIM_DEFAULT_MAX_PAYLOAD 1500
#define TIDE_SIM_DEFAULT_QUEUE_LEN   4096

/* Create a network timed by `clock` (NULL: tide_clock_mono); 0 or -ENOMEM. */
int tide_sim_net_create(tide_clock_t *clock, uint64_t seed, tide_sim_net_t **out);
/* Destroy; every endpoint must be closed first (else warns and leaks them). */
void tide_sim_net_destroy(tide_sim_net_t *net);

/* Settings; they apply to frames sent (and endpoints opened) afterwards. */
void tide_sim_net_set_latency(tide_sim_net_t *net, uint64_t ns);
/* Per-sender link rate in bytes per second; 0 (default) = infinite. */
void tide_sim_net_set_rate(tide_sim_net_t *net, uint64_t bytes_per_s);
void tide_sim_net_set_max_payload(tide_sim_net_t *net, uint32_t bytes);
/* Frames queued for one endpoint (in flight + arrived) beyond this are
 * dropped and counted in the receiver's rx_dropped_kernel. */
void tide_sim_net_set_queue_len(tide_sim_net_t *net, uint32_t frames);
/* Built-in faults ("drop=0.1,dup=...", see faults.h; `side` is ignored, the
 * generator is the net's, re-seeded with seed= when given).  0 or -EINVAL. */
int tide_sim_net_set_faults(tide_sim_net_t *net, const char *spec);

/* A frame in flight as the hook sees it; data/len may be changed in place
 * (len up to the buffer's max_payload). */
typedef struct tide_sim_pkt {
    uint16_t src, dst; /* endpoint numbers */
    uint32_t len;
    uint8_t *data;
    uint64_t sent_ns, due_ns;
} tide_sim_pkt_t;

#define TIDE_SIM_PASS 0
#define TIDE_SIM_DROP 1
/* Called with the net locked, for every frame sent, before built-in faults;
 * return TIDE_SIM_PASS or TIDE_SIM_DROP (counted in fault_drop).  It must
 * not call back into the net.  NULL removes it. */
typedef int (*tide_sim_hook_fn)(void *arg, tide_sim_pkt_t *pkt);
void tide_sim_net_set_hook(tide_sim_net_t *net, tide_sim_hook_fn fn, void *arg);

/* Put a hand-made frame on the network from endpoint number `src` (need not
 * exist) to `dst`, due after the latency.  0, -EMSGSIZE, -ENOMEM. */
int tide_sim_net_inject(tide_sim_net_t *net, uint16_t src, uint16_t dst, const void *data,
                        uint32_t len);

/* Due time of the earliest frame not yet received, UINT64_MAX if none. */
uint64_t tide_sim_net_next_due(tide_sim_net_t *net);
/* Frames sent but not yet received (in flight or waiting in a queue). */
uint32_t tide_sim_net_pending(tide_sim_net_t *net);
/* Move a fake clock forward to the next due frame (never backwards);
 * returns 1 if there was one, 0 if nothing is pending. */
int tide_sim_net_advance(tide_sim_net_t *net, tide_fake_clock_t *fc);

/* The sim wire's open (tide_wire_open calls it for kind "sim");
 * cfg->sim_net is required, cfg->endpoint 0 picks a free number. */
int tide_wire_sim_open(const tide_wire_config_t *cfg, tide_wire_t **out);
/* Endpoint number of a sim endpoint. */
uint16_t tide_wire_sim_endpoint(const tide_wire_t *w);

extern const tide_wire_ops_t tide_wire_sim_ops;

#endif
