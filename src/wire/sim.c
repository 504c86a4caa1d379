/* The sim wire: an in-process, deterministic network for unit tests.  A send
 * copies each frame into a buffer from the net's free list, lets the hook and
 * the built-in faults act on it, stamps its due time and pushes it on the
 * destination endpoint's queue (a binary heap ordered by due time, then send
 * order).  A receive pops the frames whose due time has come and hands them
 * up in place; a release puts the buffers back on the free list.  Time only
 * moves when the clock does, so with a fake clock a test is reproducible.
 * See sim.h for the API and a usage sketch. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hash.h"
#include "util/log.h"
#include "wire/faults.h"
#include "wire/sim.h"
#include "wire/wire_impl.h"

typedef struct sim_buf {
    struct sim_buf *next; /* free list */
    uint64_t due, seq;
    uint16_t src, dst;
    uint32_t len, cap;
    uint8_t data[];
} sim_buf_t;

typedef struct sim_ep {
    tide_wire_t base;
    tide_sim_net_t *net;
    uint16_t num;
    sim_buf_t **heap; /* frames for this endpoint, min-heap on (due, seq) */
    uint32_t heap_len, heap_cap;
    uint64_t tx_free_at; /* when the sender's link is free again (rate) */
    uint16_t *peers;     /* peer handle -> endpoint number */
    uint32_t npeers, peers_cap;
    tide_hash_t peer_of; /* endpoint number -> handle + 1 */
} sim_ep_t;

struct tide_sim_net {
    pthread_mutex_t lock;
    tide_clock_t *clock;
    uint32_t id;
    uint64_t latency_ns, rate;
    uint32_t max_payload, queue_len;
    tide_wire_fault_spec_t faults;
    tide_wire_rng_t rng;
    tide_sim_hook_fn hook;
    void *hook_arg;
    uint64_t seq;
    uint32_t pending;
    tide_hash_t eps; /* endpoint number -> sim_ep_t */
    sim_buf_t *free;
};

#define SIM_ADDR_LEN 7

static uint32_t sim_net_next_id = 1;

/* ---- buffers and heaps ---- */

static sim_buf_t *sim_buf_get(tide_sim_net_t *net, uint32_t need)
{
    sim_buf_t *b = net->free;
    if (b && b->cap >= need) {
        net->free = b->next;
        return b;
    }
    uint32_t cap = need > net->max_payload ? need : net->max_payload;
    b = malloc(sizeof(*b) + cap);
    if (!b) {
        tide_error("sim wire: out of memory for a %u-byte frame", cap);
        return NULL;
    }
    b->cap = cap;
    return b;
}

static void sim_buf_put(tide_sim_net_t *net, sim_buf_t *b)
{
    b->next = net->free;
    net->free = b;
}

static int sim_buf_before(const sim_buf_t *a, const sim_buf_t *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static int sim_heap_push(sim_ep_t *ep, sim_buf_t *b)
{
    if (ep->heap_len == ep->heap_cap) {
        uint32_t cap = ep->heap_cap ? 2 * ep->heap_cap : 64;
        sim_buf_t **h = realloc(ep->heap, cap * sizeof(*h));
        if (!h)
            return -ENOMEM;
        ep->heap = h;
        ep->heap_cap = cap;
    }
    uint32_t i = ep->heap_len++;
    while (i > 0 && sim_buf_before(b, ep->heap[(i - 1) / 2])) {
        ep->heap[i] = ep->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    ep->heap[i] = b;
    return 0;
}

static sim_buf_t *sim_heap_pop(sim_ep_t *ep)
{
    sim_buf_t *top = ep->heap[0], *last = ep->heap[--ep->heap_len];
    uint32_t i = 0, n = ep->heap_len;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && sim_buf_before(ep->heap[c + 1], ep->heap[c]))
            c++;
        if (!sim_buf_before(ep->heap[c], last))
            break;
        ep->heap[i] = ep->heap[c];
        i = c;
    }
    if (n > 0)
        ep->heap[i] = last;
    return top;
}

/* ---- the net ---- */

int tide_sim_net_create(tide_clock_t *clock, uint64_t seed, tide_sim_net_t **out)
{
    tide_sim_net_t *net = calloc(1, sizeof(*net));
    if (!net) {
        tide_error("sim wire: out of memory creating a network");
        return -ENOMEM;
    }
    pthread_mutex_init(&net->lock, NULL);
    net->clock = clock ? clock : &tide_clock_mono;
    net->id = __atomic_fetch_add(&sim_net_next_id, 1, __ATOMIC_RELAXED);
    net->max_payload = TIDE_SIM_DEFAULT_MAX_PAYLOAD;
    net->queue_len = TIDE_SIM_DEFAULT_QUEUE_LEN;
    tide_wire_rng_seed(&net->rng, seed);
    tide_hash_init(&net->eps);
    *out = net;
    return 0;
}

void tide_sim_net_destroy(tide_sim_net_t *net)
{
    if (!net)
        return;
    if (net->eps.count)
        tide_warn("sim wire: network destroyed with %zu endpoints still open", net->eps.count);
    while (net->free) {
        sim_buf_t *b = net->free;
        net->free = b->next;
        free(b);
    }
    tide_hash_fini(&net->eps);
    pthread_mutex_destroy(&net->lock);
    free(net);
}

void tide_sim_net_set_latency(tide_sim_net_t *net, uint64_t ns)
{
    net->latency_ns = ns;
}

void tide_sim_net_set_rate(tide_sim_net_t *net, uint64_t bytes_per_s)
{
    net->rate = bytes_per_s;
}

void tide_sim_net_set_max_payload(tide_sim_net_t *net, uint32_t bytes)
{
    net->max_payload = bytes;
}

void tide_sim_net_set_queue_len(tide_sim_net_t *net, uint32_t frames)
{
    net->queue_len = frames;
}

int tide_sim_net_set_faults(tide_sim_net_t *net, const char *spec)
{
    tide_wire_fault_spec_t f;
    int rc = tide_wire_faults_parse(spec, &f);
    if (rc)
        return rc;
    pthread_mutex_lock(&net->lock);
    net->faults = f;
    if (spec && strstr(spec, "seed="))
        tide_wire_rng_seed(&net->rng, f.seed);
    pthread_mutex_unlock(&net->lock);
    return 0;
}

void tide_sim_net_set_hook(tide_sim_net_t *net, tide_sim_hook_fn fn, void *arg)
{
    pthread_mutex_lock(&net->lock);
    net->hook = fn;
    net->hook_arg = arg;
    pthread_mutex_unlock(&net->lock);
}

uint64_t tide_sim_net_next_due(tide_sim_net_t *net)
{
    uint64_t best = UINT64_MAX, key;
    void *val;
    pthread_mutex_lock(&net->lock);
    for (size_t it = 0; tide_hash_next(&net->eps, &it, &key, &val);) {
        sim_ep_t *ep = val;
        if (ep->heap_len && ep->heap[0]->due < best)
            best = ep->heap[0]->due;
    }
    pthread_mutex_unlock(&net->lock);
    return best;
}

uint32_t tide_sim_net_pending(tide_sim_net_t *net)
{
    pthread_mutex_lock(&net->lock);
    uint32_t n = net->pending;
    pthread_mutex_unlock(&net->lock);
    return n;
}

int tide_sim_net_advance(tide_sim_net_t *net, tide_fake_clock_t *fc)
{
    uint64_t due = tide_sim_net_next_due(net);
    if (due == UINT64_MAX)
        return 0;
    if (due > fc->now)
        fc->now = due;
    return 1;
}

/* ---- sending: one frame through hook, faults and queue ---- */

/* Push b on its destination's queue, or drop it (no such endpoint: the
 * frame vanishes; queue full: counted as a receiver drop).  Consumes b. */
static int sim_enqueue(tide_sim_net_t *net, sim_buf_t *b)
{
    sim_ep_t *dst = tide_hash_get(&net->eps, b->dst);
    if (!dst) {
        sim_buf_put(net, b); /* nobody there: the frame vanishes */
        return 0;
    }
    if (dst->heap_len >= net->queue_len || sim_heap_push(dst, b)) {
        dst->base.stats.rx_dropped_kernel++;
        sim_buf_put(net, b);
        return 0;
    }
    net->pending++;
    return 1;
}

/* Queue b (already filled) for its destination, applying the hook and the
 * built-in faults; `sender` (may be NULL) gets the fault counts.  Consumes b.
 * Called locked. */
static void sim_deliver(tide_sim_net_t *net, sim_ep_t *sender, sim_buf_t *b, uint64_t now)
{
    static tide_wire_stats_t scratch; /* fault counts of frames injected by tests */
    tide_wire_stats_t *st = sender ? &sender->base.stats : &scratch;
    tide_wire_fault_spec_t *f = &net->faults;
    if (net->hook) {
        tide_sim_pkt_t p = {b->src, b->dst, b->len, b->data, now, b->due};
        int verdict = net->hook(net->hook_arg, &p);
        b->len = p.len <= b->cap ? p.len : b->cap;
        b->due = p.due_ns;
        if (verdict == TIDE_SIM_DROP) {
            st->fault_drop++;
            sim_buf_put(net, b);
            return;
        }
    }
    if (tide_wire_rng_chance(&net->rng, f->drop)) {
        st->fault_drop++;
        sim_buf_put(net, b);
        return;
    }
    if (tide_wire_rng_chance(&net->rng, f->corrupt) && b->len) {
        st->fault_corrupt++;
        b->data[tide_wire_rng_below(&net->rng, b->len)] ^=
            (uint8_t)(1u << tide_wire_rng_below(&net->rng, 8));
    }
    if (f->delay_ns) {
        st->fault_delay++;
        b->due += f->delay_ns;
    }
    if (tide_wire_rng_chance(&net->rng, f->reorder)) {
        st->fault_reorder++;
        b->due += 1 + tide_wire_rng_below(&net->rng, f->jitter_ns ? f->jitter_ns : 1);
    }
    if (tide_wire_rng_chance(&net->rng, f->dup)) {
        sim_buf_t *d = sim_buf_get(net, b->len);
        if (d) {
            st->fault_dup++;
            d->src = b->src, d->dst = b->dst, d->len = b->len;
            d->due = b->due, d->seq = net->seq++;
            memcpy(d->data, b->data, b->len);
            sim_enqueue(net, d);
        }
    }
    sim_enqueue(net, b);
}

int tide_sim_net_inject(tide_sim_net_t *net, uint16_t src, uint16_t dst, const void *data,
                        uint32_t len)
{
    if (len > net->max_payload) {
        tide_error("sim wire: injected frame of %u bytes exceeds max payload %u", len,
                   net->max_payload);
        return -EMSGSIZE;
    }
    pthread_mutex_lock(&net->lock);
    sim_buf_t *b = sim_buf_get(net, len);
    if (!b) {
        pthread_mutex_unlock(&net->lock);
        return -ENOMEM;
    }
    uint64_t now = tide_clock_now(net->clock);
    b->src = src, b->dst = dst, b->len = len;
    b->due = now + net->latency_ns, b->seq = net->seq++;
    memcpy(b->data, data, len);
    sim_deliver(net, tide_hash_get(&net->eps, src), b, now);
    pthread_mutex_unlock(&net->lock);
    return 0;
}

/* ---- the wire operations ---- */

static sim_ep_t *sim_ep(tide_wire_t *w)
{
    return (sim_ep_t *)w;
}

static void sim_addr_make(tide_wire_addr_t *a, uint32_t net_id, uint16_t num)
{
    memset(a, 0, sizeof(*a));
    a->len = SIM_ADDR_LEN;
    a->bytes[0] = TIDE_WIRE_SIM;
    for (int i = 0; i < 4; i++)
        a->bytes[1 + i] = (uint8_t)(net_id >> (8 * i));
    a->bytes[5] = (uint8_t)num;
    a->bytes[6] = (uint8_t)(num >> 8);
}

static int sim_addr_parse(const tide_wire_addr_t *a, uint32_t *net_id, uint16_t *num)
{
    if (a->len != SIM_ADDR_LEN || a->bytes[0] != TIDE_WIRE_SIM)
        return -EINVAL;
    uint32_t id = 0;
    for (int i = 0; i < 4; i++)
        id |= (uint32_t)a->bytes[1 + i] << (8 * i);
    *net_id = id;
    *num = (uint16_t)(a->bytes[5] | a->bytes[6] << 8);
    return 0;
}

static int sim_pick_number(tide_sim_net_t *net, uint16_t want, uint16_t *out)
{
    if (want) {
        if (tide_hash_get(&net->eps, want)) {
            tide_error("sim wire: endpoint %u is already in use", want);
            return -EADDRINUSE;
        }
        *out = want;
        return 0;
    }
    for (uint32_t n = 1; n <= UINT16_MAX; n++) {
        if (!tide_hash_get(&net->eps, n)) {
            *out = (uint16_t)n;
            return 0;
        }
    }
    tide_error("sim wire: all 65535 endpoint numbers are in use");
    return -EADDRINUSE;
}

int tide_wire_sim_open(const tide_wire_config_t *cfg, tide_wire_t **out)
{
    tide_sim_net_t *net = cfg->sim_net;
    if (!net) {
        tide_error("sim wire: no network given (tide_wire_config_t.sim_net); "
                   "create one with tide_sim_net_create");
        return -EINVAL;
    }
    sim_ep_t *ep = calloc(1, sizeof(*ep));
    if (!ep) {
        tide_error("sim wire: out of memory opening an endpoint");
        return -ENOMEM;
    }
    pthread_mutex_lock(&net->lock);
    int rc = sim_pick_number(net, cfg->endpoint, &ep->num);
    if (!rc)
        rc = tide_hash_put(&net->eps, ep->num, ep);
    pthread_mutex_unlock(&net->lock);
    if (rc) {
        free(ep);
        return rc;
    }
    ep->net = net;
    tide_hash_init(&ep->peer_of);
    ep->base.ops = &tide_wire_sim_ops;
    ep->base.kind = TIDE_WIRE_SIM;
    ep->base.max_payload = net->max_payload;
    ep->base.clock = net->clock;
    sim_addr_make(&ep->base.addr, net->id, ep->num);
    *out = &ep->base;
    return 0;
}

uint16_t tide_wire_sim_endpoint(const tide_wire_t *w)
{
    return ((const sim_ep_t *)w)->num;
}

static void sim_close(tide_wire_t *w)
{
    sim_ep_t *ep = sim_ep(w);
    tide_sim_net_t *net = ep->net;
    pthread_mutex_lock(&net->lock);
    tide_hash_del(&net->eps, ep->num);
    while (ep->heap_len) {
        sim_buf_put(net, sim_heap_pop(ep));
        net->pending--;
    }
    pthread_mutex_unlock(&net->lock);
    free(ep->heap);
    free(ep->peers);
    tide_hash_fini(&ep->peer_of);
    free(ep);
}

static int sim_peer_add(tide_wire_t *w, const tide_wire_addr_t *a, uint32_t *peer_out)
{
    sim_ep_t *ep = sim_ep(w);
    uint32_t net_id;
    uint16_t num;
    if (sim_addr_parse(a, &net_id, &num) || net_id != ep->net->id || !num) {
        tide_error("sim wire: address is not a sim endpoint of this network");
        return -EINVAL;
    }
    uintptr_t have = (uintptr_t)tide_hash_get(&ep->peer_of, num);
    if (have) {
        *peer_out = (uint32_t)(have - 1);
        return 0;
    }
    if (ep->npeers == ep->peers_cap) {
        uint32_t cap = ep->peers_cap ? 2 * ep->peers_cap : 16;
        uint16_t *p = realloc(ep->peers, cap * sizeof(*p));
        if (!p) {
            tide_error("sim wire: out of memory adding a peer");
            return -ENOMEM;
        }
        ep->peers = p;
        ep->peers_cap = cap;
    }
    int rc = tide_hash_put(&ep->peer_of, num, (void *)(uintptr_t)(ep->npeers + 1));
    if (rc) {
        tide_error("sim wire: out of memory adding a peer");
        return rc;
    }
    ep->peers[ep->npeers] = num;
    *peer_out = ep->npeers++;
    return 0;
}

/* Check one frame: its peer handle and its length.  0 or -errno (logged). */
static int sim_tx_check(sim_ep_t *ep, const tide_wire_tx_t *tx, uint32_t *len_out)
{
    uint32_t len = 0;
    if (tx->peer >= ep->npeers || tx->iovcnt > TIDE_WIRE_MAX_IOV) {
        tide_error("sim wire: bad send (peer handle %u of %u, %u iovecs)", tx->peer, ep->npeers,
                   tx->iovcnt);
        return -EINVAL;
    }
    for (uint32_t i = 0; i < tx->iovcnt; i++)
        len += (uint32_t)tx->iov[i].iov_len;
    if (len > ep->base.max_payload) {
        tide_error("sim wire: frame of %u bytes exceeds max payload %u", len, ep->base.max_payload);
        return -EMSGSIZE;
    }
    *len_out = len;
    return 0;
}

static int sim_send_one(sim_ep_t *ep, const tide_wire_tx_t *tx, uint32_t len, uint64_t now)
{
    tide_sim_net_t *net = ep->net;
    sim_buf_t *b = sim_buf_get(net, len);
    if (!b)
        return -ENOMEM;
    uint32_t off = 0;
    for (uint32_t i = 0; i < tx->iovcnt; i++) {
        memcpy(b->data + off, tx->iov[i].iov_base, tx->iov[i].iov_len);
        off += (uint32_t)tx->iov[i].iov_len;
    }
    uint64_t start = ep->tx_free_at > now ? ep->tx_free_at : now;
    if (net->rate)
        start += (uint64_t)len * 1000000000ull / net->rate;
    ep->tx_free_at = start;
    b->src = ep->num, b->dst = ep->peers[tx->peer], b->len = len;
    b->due = start + net->latency_ns, b->seq = net->seq++;
    ep->base.stats.tx_frames++;
    ep->base.stats.tx_bytes += len;
    sim_deliver(net, ep, b, now);
    return 0;
}

static int sim_send_burst(tide_wire_t *w, const tide_wire_tx_t *tx, int n)
{
    sim_ep_t *ep = sim_ep(w);
    int i, rc = 0;
    pthread_mutex_lock(&ep->net->lock);
    uint64_t now = tide_clock_now(ep->net->clock);
    for (i = 0; i < n; i++) {
        uint32_t len;
        rc = sim_tx_check(ep, &tx[i], &len);
        if (!rc)
            rc = sim_send_one(ep, &tx[i], len, now);
        if (rc) {
            ep->base.stats.tx_errors++;
            break;
        }
    }
    pthread_mutex_unlock(&ep->net->lock);
    return i > 0 ? i : rc;
}

static int sim_recv_burst(tide_wire_t *w, tide_wire_frame_t *f, int max)
{
    sim_ep_t *ep = sim_ep(w);
    tide_sim_net_t *net = ep->net;
    int n = 0;
    pthread_mutex_lock(&net->lock);
    uint64_t now = tide_clock_now(net->clock);
    while (n < max && ep->heap_len && ep->heap[0]->due <= now) {
        sim_buf_t *b = sim_heap_pop(ep);
        uintptr_t h = (uintptr_t)tide_hash_get(&ep->peer_of, b->src);
        net->pending--;
        f[n].data = b->data;
        f[n].len = b->len;
        f[n].peer = h ? (uint32_t)(h - 1) : TIDE_WIRE_PEER_UNKNOWN;
        f[n].priv[0] = (uintptr_t)b;
        f[n].priv[1] = b->src;
        ep->base.stats.rx_frames++;
        ep->base.stats.rx_bytes += b->len;
        n++;
    }
    pthread_mutex_unlock(&net->lock);
    return n;
}

static void sim_recv_release(tide_wire_t *w, tide_wire_frame_t *f, int n)
{
    tide_sim_net_t *net = sim_ep(w)->net;
    pthread_mutex_lock(&net->lock);
    for (int i = 0; i < n; i++)
        sim_buf_put(net, (sim_buf_t *)f[i].priv[0]);
    pthread_mutex_unlock(&net->lock);
}

static int sim_frame_src(tide_wire_t *w, const tide_wire_frame_t *f, tide_wire_addr_t *out)
{
    sim_addr_make(out, sim_ep(w)->net->id, (uint16_t)f->priv[1]);
    return 0;
}

static int sim_get_fd(tide_wire_t *w)
{
    (void)w;
    return -1;
}

static void sim_update_stats(tide_wire_t *w)
{
    (void)w; /* counters are kept as frames move */
}

const tide_wire_ops_t tide_wire_sim_ops = {
    .name = "sim",
    .open = tide_wire_sim_open,
    .close = sim_close,
    .peer_add = sim_peer_add,
    .send_burst = sim_send_burst,
    .recv_burst = sim_recv_burst,
    .recv_release = sim_recv_release,
    .frame_src = sim_frame_src,
    .get_fd = sim_get_fd,
    .update_stats = sim_update_stats,
};

void tide_wire_sim_addr_fmt(const tide_wire_addr_t *a, char *buf, size_t len)
{
    uint32_t id;
    uint16_t num;
    if (sim_addr_parse(a, &id, &num))
        snprintf(buf, len, "sim:?");
    else
        snprintf(buf, len, "sim:net%u#%u", id, num);
}
