/* The fault-injection wrapper: a wire that stacks on any other wire and
 * drops, duplicates, reorders, corrupts and delays frames with seeded
 * probabilities (TIDE_WIRE_FAULTS, syntax in faults.h), counting every fault
 * it injects.  Receive side (the default): frames the inner wire received
 * are judged one by one, then wait in a small heap ordered by due time until
 * the caller's recv_burst finds them due; they stay in the inner wire's
 * memory (a record from a fixed pool points at them) and go back to it when
 * the caller releases them, so zero-copy is kept.  Send side: dropped frames
 * are reported as sent, corrupted or held frames are copied into the
 * wrapper's own buffers and sent when due (on the next send or receive call).
 * Held frames do not make the inner descriptor readable: callers that wait
 * on tide_wire_get_fd must wake up by timeout too (the stream engine does). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/param.h"
#include "wire/faults.h"

#define FLT_POOL    1024 /* receive records: frames held or handed up at once */
#define FLT_TX_POOL 1024 /* send-side copies held at once */
#define FLT_BATCH   64

/* ---- parsing ---- */

static int flt_parse_prob(const char *key, const char *val, double *out)
{
    char *end;
    double p = strtod(val, &end);
    if (end == val || *end || !(p >= 0 && p <= 1)) {
        tide_error("wire faults: %s=%s is not a probability in [0,1]", key, val);
        return -EINVAL;
    }
    *out = p;
    return 0;
}

static int flt_parse_item(const char *key, const char *val, tide_wire_fault_spec_t *f)
{
    int64_t t;
    char *end;
    if (!strcmp(key, "drop"))
        return flt_parse_prob(key, val, &f->drop);
    if (!strcmp(key, "dup"))
        return flt_parse_prob(key, val, &f->dup);
    if (!strcmp(key, "reorder"))
        return flt_parse_prob(key, val, &f->reorder);
    if (!strcmp(key, "corrupt"))
        return flt_parse_prob(key, val, &f->corrupt);
    if (!strcmp(key, "delay") || !strcmp(key, "jitter")) {
        if (tide_parse_time_ns(val, &t) || t < 0) {
            tide_error("wire faults: %s=%s is not a duration (e.g. 50us)", key, val);
            return -EINVAL;
        }
        *(key[0] == 'd' ? &f->delay_ns : &f->jitter_ns) = (uint64_t)t;
        return 0;
    }
    if (!strcmp(key, "seed")) {
        f->seed = strtoull(val, &end, 0);
        if (end != val && !*end)
            return 0;
    } else if (!strcmp(key, "side")) {
        f->side = !strcmp(val, "rx")     ? TIDE_WIRE_FAULT_RX
                  : !strcmp(val, "tx")   ? TIDE_WIRE_FAULT_TX
                  : !strcmp(val, "both") ? TIDE_WIRE_FAULT_RX | TIDE_WIRE_FAULT_TX
                                         : 0;
        if (f->side)
            return 0;
    }
    tide_error("wire faults: bad item '%s=%s' (keys: drop dup reorder corrupt delay jitter "
               "seed side)",
               key, val);
    return -EINVAL;
}

int tide_wire_faults_parse(const char *s, tide_wire_fault_spec_t *out)
{
    tide_wire_fault_spec_t f = {.jitter_ns = 100000, .seed = 1, .side = TIDE_WIRE_FAULT_RX};
    char buf[256];
    if (s && strlen(s) >= sizeof(buf)) {
        tide_error("wire faults: specification too long: %s", s);
        return -EINVAL;
    }
    snprintf(buf, sizeof(buf), "%s", s ? s : "");
    char *save = NULL;
    for (char *item = strtok_r(buf, ", ", &save); item; item = strtok_r(NULL, ", ", &save)) {
        char *eq = strchr(item, '=');
        if (!eq) {
            tide_error("wire faults: item '%s' is not key=value", item);
            return -EINVAL;
        }
        *eq = 0;
        int rc = flt_parse_item(item, eq + 1, &f);
        if (rc)
            return rc;
    }
    *out = f;
    return 0;
}

int tide_wire_faults_active(const tide_wire_fault_spec_t *f)
{
    return f->drop > 0 || f->dup > 0 || f->reorder > 0 || f->corrupt > 0 || f->delay_ns > 0;
}

/* ---- the wrapper ---- */

typedef struct flt_rec {
    struct flt_rec *next; /* free list */
    tide_wire_frame_t inner;
    int ref; /* 2 while a duplicate is out */
} flt_rec_t;

typedef struct flt_held {
    uint64_t due, seq;
    void *p; /* flt_rec_t (receive) or flt_txbuf_t (send) */
} flt_held_t;

typedef struct flt_txbuf {
    struct flt_txbuf *next;
    uint32_t peer, len;
    uint8_t data[];
} flt_txbuf_t;

typedef struct flt_heap {
    flt_held_t *v;
    uint32_t len, cap;
} flt_heap_t;

typedef struct flt_wire {
    tide_wire_t base;
    tide_wire_t *inner;
    tide_wire_fault_spec_t spec;
    tide_wire_rng_t rng;
    uint64_t seq;
    tide_wire_stats_t own; /* faults injected here */
    flt_rec_t recs[FLT_POOL];
    flt_rec_t *free_recs;
    uint32_t nfree_recs;
    flt_heap_t rxq, txq;
    flt_txbuf_t *free_tx;
    uint32_t ntx_alloc;
} flt_wire_t;

static int flt_before(const flt_held_t *a, const flt_held_t *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void flt_heap_push(flt_heap_t *h, flt_held_t e)
{
    uint32_t i = h->len++;
    while (i > 0 && flt_before(&e, &h->v[(i - 1) / 2])) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = e;
}

static flt_held_t flt_heap_pop(flt_heap_t *h)
{
    flt_held_t top = h->v[0], last = h->v[--h->len];
    uint32_t i = 0, n = h->len;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && flt_before(&h->v[c + 1], &h->v[c]))
            c++;
        if (!flt_before(&h->v[c], &last))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (n > 0)
        h->v[i] = last;
    return top;
}

static flt_wire_t *flt(tide_wire_t *w)
{
    return (flt_wire_t *)w;
}

/* Extra hold time of one frame from delay and reorder; *reordered says
 * whether the reorder fault hit (the caller counts once it is applied). */
static uint64_t flt_hold_ns(flt_wire_t *fw, int *reordered)
{
    uint64_t hold = fw->spec.delay_ns;
    *reordered = tide_wire_rng_chance(&fw->rng, fw->spec.reorder);
    if (*reordered)
        hold += 1 + tide_wire_rng_below(&fw->rng, fw->spec.jitter_ns ? fw->spec.jitter_ns : 1);
    return hold;
}

static void flt_count_hold(flt_wire_t *fw, int reordered)
{
    fw->own.fault_delay += fw->spec.delay_ns > 0;
    fw->own.fault_reorder += reordered != 0;
}

static void flt_corrupt(flt_wire_t *fw, uint8_t *data, uint32_t len)
{
    if (!len)
        return;
    fw->own.fault_corrupt++;
    data[tide_wire_rng_below(&fw->rng, len)] ^= (uint8_t)(1u << tide_wire_rng_below(&fw->rng, 8));
}

/* ---- receive side ---- */

/* Judge one frame the inner wire received: drop it, or queue it (and maybe
 * a duplicate) to be handed up when due. */
static void flt_rx_judge(flt_wire_t *fw, tide_wire_frame_t *f, uint64_t now)
{
    int faults = fw->spec.side & TIDE_WIRE_FAULT_RX;
    if (faults && tide_wire_rng_chance(&fw->rng, fw->spec.drop)) {
        fw->own.fault_drop++;
        tide_wire_recv_release(fw->inner, f, 1);
        return;
    }
    flt_rec_t *r = fw->free_recs;
    fw->free_recs = r->next;
    fw->nfree_recs--;
    r->inner = *f;
    r->ref = 1;
    if (faults && tide_wire_rng_chance(&fw->rng, fw->spec.corrupt))
        flt_corrupt(fw, (uint8_t *)f->data, f->len); /* our own memory below */
    int reordered = 0;
    uint64_t due = now;
    if (faults) {
        due += flt_hold_ns(fw, &reordered);
        flt_count_hold(fw, reordered);
    }
    flt_heap_push(&fw->rxq, (flt_held_t){due, fw->seq++, r});
    if (faults && tide_wire_rng_chance(&fw->rng, fw->spec.dup)) {
        fw->own.fault_dup++;
        r->ref = 2;
        flt_heap_push(&fw->rxq, (flt_held_t){due, fw->seq++, r});
    }
}

static int flt_rx_pull(flt_wire_t *fw, uint64_t now)
{
    tide_wire_frame_t tmp[FLT_BATCH];
    int room = fw->nfree_recs < FLT_BATCH ? (int)fw->nfree_recs : FLT_BATCH;
    if (room == 0)
        return 0;
    int n = tide_wire_recv_burst(fw->inner, tmp, room);
    for (int i = 0; i < n; i++)
        flt_rx_judge(fw, &tmp[i], now);
    return n < 0 ? n : 0;
}

static int flt_tx_flush(flt_wire_t *fw, uint64_t now);

static int flt_recv_burst(tide_wire_t *w, tide_wire_frame_t *f, int max)
{
    flt_wire_t *fw = flt(w);
    uint64_t now = tide_clock_now(w->clock);
    flt_tx_flush(fw, now);
    int rc = flt_rx_pull(fw, now), n = 0;
    while (n < max && fw->rxq.len && fw->rxq.v[0].due <= now) {
        flt_rec_t *r = flt_heap_pop(&fw->rxq).p;
        f[n] = r->inner;
        f[n].priv[0] = (uintptr_t)r;
        w->stats.rx_frames++;
        w->stats.rx_bytes += f[n].len;
        n++;
    }
    return n ? n : rc;
}

static void flt_recv_release(tide_wire_t *w, tide_wire_frame_t *f, int n)
{
    flt_wire_t *fw = flt(w);
    for (int i = 0; i < n; i++) {
        flt_rec_t *r = (flt_rec_t *)f[i].priv[0];
        if (--r->ref > 0)
            continue;
        tide_wire_recv_release(fw->inner, &r->inner, 1);
        r->next = fw->free_recs;
        fw->free_recs = r;
        fw->nfree_recs++;
    }
}

static int flt_frame_src(tide_wire_t *w, const tide_wire_frame_t *f, tide_wire_addr_t *out)
{
    const flt_rec_t *r = (const flt_rec_t *)f->priv[0];
    return tide_wire_frame_src(flt(w)->inner, &r->inner, out);
}

/* ---- send side ---- */

static int flt_tx_send_buf(flt_wire_t *fw, flt_txbuf_t *b)
{
    tide_wire_tx_t tx = {.peer = b->peer, .iovcnt = 1};
    tx.iov[0].iov_base = b->data;
    tx.iov[0].iov_len = b->len;
    return tide_wire_send_burst(fw->inner, &tx, 1);
}

static void flt_tx_buf_free(flt_wire_t *fw, flt_txbuf_t *b)
{
    b->next = fw->free_tx;
    fw->free_tx = b;
}

/* Send the held frames that are due; a frame the inner wire cannot take now
 * stays held.  Returns 0. */
static int flt_tx_flush(flt_wire_t *fw, uint64_t now)
{
    while (fw->txq.len && fw->txq.v[0].due <= now) {
        flt_txbuf_t *b = fw->txq.v[0].p;
        int rc = flt_tx_send_buf(fw, b);
        if (rc == 0 || rc == -EAGAIN)
            break;
        flt_heap_pop(&fw->txq);
        flt_tx_buf_free(fw, b);
    }
    return 0;
}

static flt_txbuf_t *flt_tx_copy(flt_wire_t *fw, const tide_wire_tx_t *tx, uint32_t len)
{
    flt_txbuf_t *b = fw->free_tx;
    if (b) {
        fw->free_tx = b->next;
    } else {
        if (fw->ntx_alloc >= FLT_TX_POOL)
            return NULL;
        b = malloc(sizeof(*b) + fw->inner->max_payload);
        if (!b)
            return NULL;
        fw->ntx_alloc++;
    }
    uint32_t off = 0;
    for (uint32_t i = 0; i < tx->iovcnt; i++) {
        memcpy(b->data + off, tx->iov[i].iov_base, tx->iov[i].iov_len);
        off += (uint32_t)tx->iov[i].iov_len;
    }
    b->peer = tx->peer;
    b->len = len;
    return b;
}

/* Send one frame with send-side faults.  1 if the frame is taken care of
 * (sent, dropped or held), 0 if the inner wire is full, or -errno. */
static int flt_tx_one(flt_wire_t *fw, const tide_wire_tx_t *tx, uint64_t now)
{
    uint32_t len = 0;
    for (uint32_t i = 0; i < tx->iovcnt && i < TIDE_WIRE_MAX_IOV; i++)
        len += (uint32_t)tx->iov[i].iov_len;
    if (len > fw->inner->max_payload)
        return tide_wire_send_burst(fw->inner, tx, 1); /* it logs -EMSGSIZE */
    if (tide_wire_rng_chance(&fw->rng, fw->spec.drop)) {
        fw->own.fault_drop++;
        return 1;
    }
    int corrupt = tide_wire_rng_chance(&fw->rng, fw->spec.corrupt);
    int dup = tide_wire_rng_chance(&fw->rng, fw->spec.dup);
    int reordered;
    uint64_t hold = flt_hold_ns(fw, &reordered);
    flt_txbuf_t *b = (corrupt || hold) ? flt_tx_copy(fw, tx, len) : NULL;
    if (!b) { /* nothing to hold, or no buffer left: send as is */
        int rc = tide_wire_send_burst(fw->inner, tx, 1);
        if (rc == 1 && dup && tide_wire_send_burst(fw->inner, tx, 1) == 1)
            fw->own.fault_dup++;
        return rc;
    }
    if (corrupt)
        flt_corrupt(fw, b->data, len);
    flt_count_hold(fw, reordered);
    if (dup) {
        fw->own.fault_dup++;
        flt_tx_send_buf(fw, b);
    }
    flt_heap_push(&fw->txq, (flt_held_t){now + hold, fw->seq++, b});
    flt_tx_flush(fw, now);
    return 1;
}

static int flt_send_burst(tide_wire_t *w, const tide_wire_tx_t *tx, int n)
{
    flt_wire_t *fw = flt(w);
    if (!(fw->spec.side & TIDE_WIRE_FAULT_TX)) {
        int rc = tide_wire_send_burst(fw->inner, tx, n);
        for (int i = 0; i < rc; i++) {
            w->stats.tx_frames++;
            for (uint32_t j = 0; j < tx[i].iovcnt; j++)
                w->stats.tx_bytes += tx[i].iov[j].iov_len;
        }
        return rc;
    }
    uint64_t now = tide_clock_now(w->clock);
    flt_tx_flush(fw, now);
    int i;
    for (i = 0; i < n; i++) {
        int rc = flt_tx_one(fw, &tx[i], now);
        if (rc <= 0)
            return i > 0 ? i : rc;
        w->stats.tx_frames++;
        for (uint32_t j = 0; j < tx[i].iovcnt; j++)
            w->stats.tx_bytes += tx[i].iov[j].iov_len;
    }
    return i;
}

/* ---- the rest ---- */

static int flt_peer_add(tide_wire_t *w, const tide_wire_addr_t *a, uint32_t *peer)
{
    return tide_wire_peer_add(flt(w)->inner, a, peer);
}

static int flt_get_fd(tide_wire_t *w)
{
    return tide_wire_get_fd(flt(w)->inner);
}

static void flt_update_stats(tide_wire_t *w)
{
    flt_wire_t *fw = flt(w);
    tide_wire_stats_t *in = &fw->inner->stats, *s = &w->stats;
    if (fw->inner->ops->update_stats)
        fw->inner->ops->update_stats(fw->inner);
    s->tx_errors = in->tx_errors;
    s->rx_dropped_kernel = in->rx_dropped_kernel;
    s->rx_dropped_bad = in->rx_dropped_bad;
    s->fault_drop = fw->own.fault_drop + in->fault_drop;
    s->fault_dup = fw->own.fault_dup + in->fault_dup;
    s->fault_reorder = fw->own.fault_reorder + in->fault_reorder;
    s->fault_corrupt = fw->own.fault_corrupt + in->fault_corrupt;
    s->fault_delay = fw->own.fault_delay + in->fault_delay;
}

static void flt_close(tide_wire_t *w)
{
    flt_wire_t *fw = flt(w);
    while (fw->rxq.len) {
        flt_rec_t *r = flt_heap_pop(&fw->rxq).p;
        if (--r->ref == 0)
            tide_wire_recv_release(fw->inner, &r->inner, 1);
    }
    while (fw->txq.len)
        flt_tx_buf_free(fw, flt_heap_pop(&fw->txq).p);
    while (fw->free_tx) {
        flt_txbuf_t *b = fw->free_tx;
        fw->free_tx = b->next;
        free(b);
    }
    tide_wire_close(fw->inner);
    free(fw->rxq.v);
    free(fw->txq.v);
    free(fw);
}

static const tide_wire_ops_t flt_ops;

static int flt_open(const tide_wire_config_t *cfg, tide_wire_t **out)
{
    (void)cfg;
    (void)out;
    tide_error("wire faults: the fault wrapper is stacked by tide_wire_open, not opened");
    return -EINVAL;
}

static const tide_wire_ops_t flt_ops = {
    .name = "faults",
    .open = flt_open,
    .close = flt_close,
    .peer_add = flt_peer_add,
    .send_burst = flt_send_burst,
    .recv_burst = flt_recv_burst,
    .recv_release = flt_recv_release,
    .frame_src = flt_frame_src,
    .get_fd = flt_get_fd,
    .update_stats = flt_update_stats,
};

int tide_wire_faults_wrap(tide_wire_t *inner, const tide_wire_fault_spec_t *spec, tide_wire_t **out)
{
    flt_wire_t *fw = calloc(1, sizeof(*fw));
    if (fw) {
        fw->rxq.v = malloc(2 * FLT_POOL * sizeof(flt_held_t));
        fw->txq.v = malloc(FLT_TX_POOL * sizeof(flt_held_t));
    }
    if (!fw || !fw->rxq.v || !fw->txq.v) {
        if (fw) {
            free(fw->rxq.v);
            free(fw->txq.v);
        }
        free(fw);
        tide_error("wire faults: out of memory stacking the fault wrapper");
        return -ENOMEM;
    }
    for (int i = 0; i < FLT_POOL; i++) {
        fw->recs[i].next = fw->free_recs;
        fw->free_recs = &fw->recs[i];
    }
    fw->nfree_recs = FLT_POOL;
    fw->inner = inner;
    fw->spec = *spec;
    tide_wire_rng_seed(&fw->rng, spec->seed);
    fw->base = *inner; /* kind, address, max payload and clock of the inner wire */
    fw->base.ops = &flt_ops;
    memset(&fw->base.stats, 0, sizeof(fw->base.stats));
    *out = &fw->base;
    return 0;
}

tide_wire_t *tide_wire_faults_inner(tide_wire_t *w)
{
    return w->ops == &flt_ops ? flt(w)->inner : w;
}
