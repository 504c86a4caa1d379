/* The stream test harness (see harness.h). */
#include "config.h"
#include "harness.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void harness_idle(void *arg);

static int harness_hook(void *arg, tide_sim_pkt_t *pkt)
{
    harness_t *h = arg;
    h_cap_t c;
    memset(&c, 0, sizeof(c));
    c.src = pkt->src;
    c.dst = pkt->dst;
    c.t = h->fc.now;
    c.ok = tide_seg_parse(pkt->data, pkt->len, &c.seg) == TIDE_SEG_OK;
    c.seg.payload = NULL;
    if (c.ok && c.src == h->ea && c.seg.len)
        h->ndata_a++;
    if (h->ncap < H_CAP_MAX)
        h->cap[h->ncap++] = c;
    if (h->drop_all)
        return TIDE_SIM_DROP;
    if (h->drop && h->drop(h, &c))
        return TIDE_SIM_DROP;
    return TIDE_SIM_PASS;
}

void harness_init(harness_t *h, uint64_t seed, const char *faults, const char *cc)
{
    memset(h, 0, sizeof(*h));
    tide_fake_clock_init(&h->fc, 1000000000ull);
    ck_assert_int_eq(tide_sim_net_create(&h->fc.base, seed, &h->net), 0);
    tide_sim_net_set_latency(h->net, 10000);
    if (faults)
        ck_assert_int_eq(tide_sim_net_set_faults(h->net, faults), 0);
    tide_sim_net_set_hook(h->net, harness_hook, h);
    tide_wire_config_t c = {.kind = "sim", .sim_net = h->net, .faults = "", .clock = &h->fc.base};
    ck_assert_int_eq(tide_wire_open(&c, &h->wa), 0);
    ck_assert_int_eq(tide_wire_open(&c, &h->wb), 0);
    h->ea = tide_wire_sim_endpoint(h->wa);
    h->eb = tide_wire_sim_endpoint(h->wb);
    tide_stream_stack_opts_t o = {.clock = &h->fc.base,
                                  .seed = seed * 2 + 1,
                                  .cc = cc,
                                  .idle_fn = harness_idle,
                                  .idle_arg = h,
                                  .no_shm_stats = 1};
    ck_assert_int_eq(tide_stream_stack_create(h->wa, &o, &h->a), 0);
    o.seed = seed * 2 + 2;
    ck_assert_int_eq(tide_stream_stack_create(h->wb, &o, &h->b), 0);
}

void harness_fini(harness_t *h)
{
    tide_stream_stack_destroy(h->a);
    tide_stream_stack_destroy(h->b);
    tide_wire_close(h->wa);
    tide_wire_close(h->wb);
    tide_sim_net_destroy(h->net);
}

const tide_stream_stats_t *hs(tide_stream_stack_t *st)
{
    return tide_stream_stack_stats(st);
}

static void harness_advance(harness_t *h)
{
    uint64_t t = tide_sim_net_next_due(h->net);
    uint64_t ta = tide_stream_stack_next_timer(h->a);
    uint64_t tb = tide_stream_stack_next_timer(h->b);
    if (ta < t)
        t = ta;
    if (tb < t)
        t = tb;
    if (t == UINT64_MAX)
        t = h->fc.now + 1000000;
    if (t <= h->fc.now)
        t = h->fc.now + 1000;
    h->fc.now = t;
}

int harness_pump(harness_t *h)
{
    int n = tide_stream_stack_progress(h->a);
    n += tide_stream_stack_progress(h->b);
    if (n == 0)
        harness_advance(h);
    return n;
}

/* Blocking calls on one stack call this: drive the other and the clock. */
static void harness_idle(void *arg)
{
    harness_pump(arg);
}

int harness_run(harness_t *h, int (*cond)(void *), void *arg, uint64_t max_ns)
{
    uint64_t end = h->fc.now + max_ns;
    while (!cond(arg)) {
        if (h->fc.now >= end)
            return -1;
        harness_pump(h);
    }
    return 0;
}

void harness_run_for(harness_t *h, uint64_t ns)
{
    uint64_t end = h->fc.now + ns;
    while (h->fc.now < end)
        harness_pump(h);
}

typedef struct {
    tide_stream_t *ls;
    tide_stream_t *c;
    tide_stream_t *ca;
} h_conn_t;

static int harness_conn_done(void *arg)
{
    h_conn_t *x = arg;
    if (!x->c)
        tide_stream_accept(x->ls, &x->c, TIDE_STREAM_DONTWAIT);
    int64_t st;
    tide_stream_getopt(x->ca, TIDE_SO_STATE, &st);
    return x->c && st == TIDE_STREAM_ESTABLISHED;
}

void harness_connect(harness_t *h, uint16_t port, tide_stream_t **ca, tide_stream_t **cb)
{
    h_conn_t x = {0};
    ck_assert_int_eq(tide_stream_open(h->b, &x.ls), 0);
    ck_assert_int_eq(tide_stream_listen(x.ls, port, 16), 0);
    ck_assert_int_eq(tide_stream_open(h->a, &x.ca), 0);
    ck_assert_int_eq(tide_stream_connect(x.ca, &h->wb->addr, port, TIDE_STREAM_DONTWAIT),
                     -EINPROGRESS);
    ck_assert_int_eq(harness_run(h, harness_conn_done, &x, 5000000000ull), 0);
    tide_stream_close(x.ls);
    *ca = x.ca;
    *cb = x.c;
}

void harness_inject(harness_t *h, int from_a, const tide_seg_t *seg, const void *payload)
{
    uint8_t buf[2048];
    struct iovec iov = {(void *)payload, seg->len};
    size_t hl = tide_seg_write_hdr(seg, buf, &iov, seg->len ? 1 : 0);
    if (seg->len)
        memcpy(buf + hl, payload, seg->len);
    ck_assert_int_eq(tide_sim_net_inject(h->net, from_a ? h->ea : h->eb, from_a ? h->eb : h->ea,
                                         buf, (uint32_t)(hl + seg->len)),
                     0);
}

int harness_count(harness_t *h, int from_a, uint8_t mask, uint8_t val, int first)
{
    int n = 0;
    for (int i = first; i < h->ncap; i++) {
        const h_cap_t *c = &h->cap[i];
        if (c->ok && c->src == (from_a ? h->ea : h->eb) && (c->seg.flags & mask) == val)
            n++;
    }
    return n;
}
