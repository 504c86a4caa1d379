/* The capture wire (see capwire.h). */
#include "config.h"
#include "capwire.h"

#include <check.h>
#include <errno.h>
#include <string.h>

static int cap_peer_add(tide_wire_t *w, const tide_wire_addr_t *a, uint32_t *peer)
{
    (void)w;
    (void)a;
    *peer = 0;
    return 0;
}

static int cap_send(tide_wire_t *w, const tide_wire_tx_t *tx, int n)
{
    capwire_t *c = (capwire_t *)w;
    for (int i = 0; i < n; i++) {
        ck_assert_int_lt(c->nsent, CAP_FRAMES);
        uint32_t len = 0;
        for (uint32_t k = 0; k < tx[i].iovcnt; k++) {
            ck_assert_uint_le(len + tx[i].iov[k].iov_len, CAP_LEN);
            memcpy(c->sent[c->nsent] + len, tx[i].iov[k].iov_base, tx[i].iov[k].iov_len);
            len += (uint32_t)tx[i].iov[k].iov_len;
        }
        if (len > w->max_payload)
            return i ? i : -EMSGSIZE;
        c->sent_len[c->nsent] = len;
        ck_assert_int_eq(tide_seg_parse(c->sent[c->nsent], len, &c->seg[c->nsent]), TIDE_SEG_OK);
        c->nsent++;
    }
    return n;
}

static int cap_recv(tide_wire_t *w, tide_wire_frame_t *f, int max)
{
    capwire_t *c = (capwire_t *)w;
    int n = 0;
    while (n < max && c->qhead < c->nq) {
        memset(&f[n], 0, sizeof(f[n]));
        f[n].data = c->q[c->qhead];
        f[n].len = c->q_len[c->qhead];
        f[n].peer = 0;
        c->qhead++;
        n++;
    }
    if (c->qhead == c->nq)
        c->qhead = c->nq = 0;
    return n;
}

static void cap_release(tide_wire_t *w, tide_wire_frame_t *f, int n)
{
    (void)w;
    (void)f;
    (void)n;
}

static int cap_src(tide_wire_t *w, const tide_wire_frame_t *f, tide_wire_addr_t *out)
{
    (void)f;
    *out = w->addr;
    return 0;
}

static int cap_fd(tide_wire_t *w)
{
    (void)w;
    return -1;
}

static const tide_wire_ops_t cap_ops = {
    .name = "capture",
    .peer_add = cap_peer_add,
    .send_burst = cap_send,
    .recv_burst = cap_recv,
    .recv_release = cap_release,
    .frame_src = cap_src,
    .get_fd = cap_fd,
};

void capwire_init(capwire_t *c, tide_clock_t *clock, uint32_t max_payload)
{
    memset(c, 0, sizeof(*c));
    c->w.ops = &cap_ops;
    c->w.kind = TIDE_WIRE_SIM;
    c->w.max_payload = max_payload;
    c->w.addr.len = 2;
    c->w.addr.bytes[0] = TIDE_WIRE_SIM;
    c->w.clock = clock;
}

void capwire_put(capwire_t *c, const tide_seg_t *seg, const void *payload)
{
    ck_assert_int_lt(c->nq, CAP_FRAMES);
    struct iovec iov = {(void *)payload, seg->len};
    size_t hl = tide_seg_write_hdr(seg, c->q[c->nq], &iov, seg->len ? 1 : 0);
    if (seg->len)
        memcpy(c->q[c->nq] + hl, payload, seg->len);
    c->q_len[c->nq] = (uint32_t)(hl + seg->len);
    c->nq++;
}

void capwire_clear(capwire_t *c)
{
    c->nsent = 0;
}
