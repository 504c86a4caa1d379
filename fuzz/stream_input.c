/* libFuzzer target: the stream engine's segment input path
 * (tide_stream_input -> tide_tcb_process -> ack/data/state handlers).
 *
 * One stack runs on a capture wire, as in test/stream/capwire.c: what it
 * sends is recorded (and must always parse), what it receives comes from
 * the fuzzer.  The first input byte picks the state the stream under test
 * is driven into with well-formed segments first (LISTEN, SYN-SENT,
 * SYN-RCVD, ESTABLISHED active or passive, FIN-WAIT-1/2, CLOSE-WAIT,
 * CLOSING, LAST-ACK, TIME-WAIT); the rest is a list of operations: raw
 * frames exactly as given, crafted segments whose sequence and
 * acknowledgement numbers are taken relative to what the stack last sent
 * (so they land in, around and outside the window) with a valid CRC, job
 * key and ports unless the input asks to spoil one of them, clock steps
 * that fire timers, and application calls (send, recv, shutdown, close,
 * accept).  Bit 2 of the second byte turns the authenticated mode
 * (TIDE_STREAM_MAC) on for the stack and the crafted segments.  Sanitizers and the checks below
 * catch what goes wrong. */
#include "config.h"
#include "stream/seg.h"
#include "stream/tcb.h"
#include "tide/stream.h"
#include "util/clock.h"
#include "util/log.h"
#include "wire/wire.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_KEY   0x5eed
#define FZ_PORT  80   /* the stack's listening / remote port */
#define FZ_PPORT 7000 /* the fuzzer peer's port when it connects to us */
#define FZ_LEN   2048

typedef struct fz_wire {
    tide_wire_t w;
    uint8_t q[FZ_LEN];
    uint32_t qlen;
    int queued;
    tide_seg_t last; /* the last segment the stack sent (payload cleared) */
    int nsent;
} fz_wire_t;

static fz_wire_t fw;
static tide_fake_clock_t fc;
/* The authenticated mode (mac.h), on when the options byte asks for it:
 * the stack and the fuzzer's peer share this key. */
static tide_mac_t fz_mac;
static const uint8_t fz_key[TIDE_MAC_KEY_LEN] = {0x5e, 0xed};

static int fz_peer_add(tide_wire_t *w, const tide_wire_addr_t *a, uint32_t *peer)
{
    *peer = 0;
    return 0;
}

/* Everything the stack sends must parse; the peer side of the fuzzer
 * numbers its segments from the last one. */
static int fz_send(tide_wire_t *w, const tide_wire_tx_t *tx, int n)
{
    static uint8_t buf[FZ_LEN];
    for (int i = 0; i < n; i++) {
        uint32_t len = 0;
        for (uint32_t k = 0; k < tx[i].iovcnt; k++) {
            if (len + tx[i].iov[k].iov_len > sizeof(buf))
                abort();
            memcpy(buf + len, tx[i].iov[k].iov_base, tx[i].iov[k].iov_len);
            len += (uint32_t)tx[i].iov[k].iov_len;
        }
        if (len > w->max_payload)
            return i ? i : -EMSGSIZE;
        tide_seg_t seg;
        if (tide_seg_parse_auth(buf, len, &seg, &fz_mac) != TIDE_SEG_OK)
            abort(); /* the stack sent a malformed segment */
        seg.payload = NULL;
        fw.last = seg;
        fw.nsent++;
    }
    return n;
}

static int fz_recv(tide_wire_t *w, tide_wire_frame_t *f, int max)
{
    if (!fw.queued || max < 1)
        return 0;
    memset(f, 0, sizeof(*f));
    f->data = fw.q;
    f->len = fw.qlen;
    f->peer = 0;
    fw.queued = 0;
    return 1;
}

static void fz_release(tide_wire_t *w, tide_wire_frame_t *f, int n)
{
}

static int fz_src(tide_wire_t *w, const tide_wire_frame_t *f, tide_wire_addr_t *out)
{
    *out = w->addr;
    return 0;
}

static int fz_fd(tide_wire_t *w)
{
    return -1;
}

static const tide_wire_ops_t fz_ops = {
    .name = "fuzz",
    .peer_add = fz_peer_add,
    .send_burst = fz_send,
    .recv_burst = fz_recv,
    .recv_release = fz_release,
    .frame_src = fz_src,
    .get_fd = fz_fd,
};

/* ---- the input as a byte reader ---- */

typedef struct fz_in {
    const uint8_t *p;
    size_t left;
} fz_in_t;

static uint32_t fz_take(fz_in_t *in, int bytes)
{
    uint32_t v = 0;
    for (int i = 0; i < bytes; i++) {
        v = v << 8;
        if (in->left) {
            v |= *in->p++;
            in->left--;
        }
    }
    return v;
}

/* ---- the harness ---- */

typedef struct fz {
    tide_stream_stack_t *st;
    tide_stream_t *s;  /* the stream under test (NULL once closed) */
    tide_stream_t *ls; /* our listener, if any */
    uint32_t peer_seq; /* next sequence number the peer sends */
    uint16_t pport;    /* the peer's port */
    uint16_t lport;    /* our port */
} fz_t;

static uint8_t fz_data[65536];

static void fz_pump(fz_t *z)
{
    tide_stream_stack_progress(z->st);
}

/* Our next sequence number as the peer sees it (what it acknowledges). */
static uint32_t fz_our_end(void)
{
    const tide_seg_t *l = &fw.last;
    return l->seq + l->len + !!(l->flags & TIDE_SEG_SYN) + !!(l->flags & TIDE_SEG_FIN);
}

static void fz_put(fz_t *z, const tide_seg_t *g, const uint8_t *payload)
{
    struct iovec iov = {(void *)payload, g->len};
    size_t hl = tide_seg_write_hdr_auth(g, fw.q, &iov, g->len ? 1 : 0, &fz_mac);
    if (g->len)
        memcpy(fw.q + hl, payload, g->len);
    fw.qlen = (uint32_t)(hl + g->len);
    fw.queued = 1;
    fz_pump(z);
}

/* A well-formed segment from the peer at its current sequence number. */
static void fz_peer(fz_t *z, uint8_t flags, const char *data)
{
    tide_seg_t g;
    memset(&g, 0, sizeof(g));
    g.flags = flags;
    g.sport = z->pport;
    g.dport = z->lport;
    g.key = FZ_KEY;
    g.seq = z->peer_seq;
    g.ack = (flags & TIDE_SEG_ACK) ? fz_our_end() : 0;
    g.wnd = 65535;
    g.tsval = (uint32_t)(fc.now / 1000);
    g.tsecr = fw.last.tsval;
    g.len = data ? (uint16_t)strlen(data) : 0;
    if (flags & TIDE_SEG_SYN)
        g.mss = 1000;
    fz_put(z, &g, (const uint8_t *)data);
    z->peer_seq += g.len + !!(flags & TIDE_SEG_SYN) + !!(flags & TIDE_SEG_FIN);
}

static void fz_active_open(fz_t *z)
{
    if (tide_stream_open(z->st, &z->s) < 0)
        abort();
    tide_stream_connect(z->s, &fw.w.addr, FZ_PORT, TIDE_STREAM_DONTWAIT);
    z->pport = FZ_PORT;
    z->lport = tide_stream_local_port(z->s);
    z->peer_seq = 1000;
}

static void fz_passive_open(fz_t *z)
{
    if (tide_stream_open(z->st, &z->ls) < 0 || tide_stream_listen(z->ls, FZ_PORT, 4) < 0)
        abort();
    z->pport = FZ_PPORT;
    z->lport = FZ_PORT;
    z->peer_seq = 1000;
}

static void fz_establish(fz_t *z, int passive)
{
    if (passive) {
        fz_passive_open(z);
        fz_peer(z, TIDE_SEG_SYN, NULL);
        fz_peer(z, TIDE_SEG_ACK, NULL);
        tide_stream_accept(z->ls, &z->s, TIDE_STREAM_DONTWAIT);
    } else {
        fz_active_open(z);
        fz_peer(z, TIDE_SEG_SYN | TIDE_SEG_ACK, NULL);
    }
}

/* Drive the stream under test into the state chosen by sel. */
static void fz_setup(fz_t *z, unsigned sel)
{
    switch (sel % 11) {
    case 0: fz_passive_open(z); break; /* LISTEN */
    case 1: fz_active_open(z); break;  /* SYN-SENT */
    case 2:                            /* SYN-RCVD */
        fz_passive_open(z);
        fz_peer(z, TIDE_SEG_SYN, NULL);
        break;
    case 3: fz_establish(z, 0); break;
    case 4: fz_establish(z, 1); break;
    case 5: /* FIN-WAIT-1 */
        fz_establish(z, 0);
        tide_stream_shutdown(z->s, TIDE_STREAM_SHUT_WR);
        break;
    case 6: /* FIN-WAIT-2 */
        fz_establish(z, 0);
        tide_stream_shutdown(z->s, TIDE_STREAM_SHUT_WR);
        fz_peer(z, TIDE_SEG_ACK, NULL);
        break;
    case 7: /* CLOSE-WAIT */
        fz_establish(z, 1);
        fz_peer(z, TIDE_SEG_ACK | TIDE_SEG_FIN, "bye");
        break;
    case 8: /* CLOSING: both FINs cross */
        fz_establish(z, 0);
        tide_stream_shutdown(z->s, TIDE_STREAM_SHUT_WR);
        z->peer_seq += 0;
        {
            tide_seg_t g;
            memset(&g, 0, sizeof(g));
            g.flags = TIDE_SEG_ACK | TIDE_SEG_FIN;
            g.sport = z->pport;
            g.dport = z->lport;
            g.key = FZ_KEY;
            g.seq = z->peer_seq++;
            g.ack = fw.last.seq; /* not acknowledging our FIN */
            g.wnd = 65535;
            g.tsval = (uint32_t)(fc.now / 1000);
            fz_put(z, &g, NULL);
        }
        break;
    case 9: /* LAST-ACK */
        fz_establish(z, 1);
        fz_peer(z, TIDE_SEG_ACK | TIDE_SEG_FIN, NULL);
        tide_stream_shutdown(z->s, TIDE_STREAM_SHUT_WR);
        break;
    case 10: /* TIME-WAIT */
        fz_establish(z, 0);
        tide_stream_shutdown(z->s, TIDE_STREAM_SHUT_WR);
        fz_peer(z, TIDE_SEG_ACK, NULL);
        fz_peer(z, TIDE_SEG_ACK | TIDE_SEG_FIN, NULL);
        break;
    }
}

/* A segment built from the input: fields relative to the conversation so
 * far, CRC, key and ports right unless the control bits spoil them. */
static void fz_crafted(fz_t *z, fz_in_t *in)
{
    tide_seg_t g;
    memset(&g, 0, sizeof(g));
    uint8_t ctl = (uint8_t)fz_take(in, 1);
    g.flags = (uint8_t)fz_take(in, 1) & TIDE_SEG_FLAGS_ALL;
    if ((g.flags & TIDE_SEG_SYN) && (g.flags & (TIDE_SEG_FIN | TIDE_SEG_RST)))
        g.flags &= (uint8_t)~TIDE_SEG_SYN; /* tide_seg_parse refuses these */
    int32_t dseq = (int16_t)fz_take(in, 2), dack = (int16_t)fz_take(in, 2);
    g.seq = (ctl & 0x01) ? fz_take(in, 4) : z->peer_seq + (uint32_t)dseq;
    g.ack = (ctl & 0x02) ? fz_take(in, 4) : fz_our_end() + (uint32_t)dack;
    g.wnd = (uint16_t)fz_take(in, 2);
    g.wscale = (uint8_t)fz_take(in, 1);
    g.mss = (g.flags & TIDE_SEG_SYN) ? (uint16_t)fz_take(in, 2) : 0;
    g.tsval = (uint32_t)(fc.now / 1000) + (uint32_t)(int16_t)fz_take(in, 2);
    g.tsecr = fw.last.tsval;
    g.nsack = (uint8_t)(fz_take(in, 1) % (TIDE_SEG_MAX_SACK + 1));
    for (int i = 0; i < g.nsack; i++) {
        g.sack[i].left = fw.last.seq + (uint32_t)(int16_t)fz_take(in, 2);
        g.sack[i].right = g.sack[i].left + 1 + fz_take(in, 1) * 64u;
    }
    uint32_t len = fz_take(in, 2) % (fw.w.max_payload - TIDE_SEG_HDR_MAX + 1);
    g.len = (uint16_t)len;
    g.sport = (ctl & 0x04) ? (uint16_t)fz_take(in, 2) : z->pport;
    g.dport = (ctl & 0x08) ? (uint16_t)fz_take(in, 2) : z->lport;
    g.key = (ctl & 0x10) ? fz_take(in, 4) : FZ_KEY;
    memset(fz_data, 'a' + (ctl & 7), len);
    fz_put(z, &g, fz_data);
    if (ctl & 0x20) /* corrupt the queued frame after the CRC */
        fw.q[fz_take(in, 2) % fw.qlen] ^= (uint8_t)(1u << (ctl >> 6));
    if (!(ctl & 0x01) && dseq == 0) /* in order: the peer moves on */
        z->peer_seq += len + !!(g.flags & TIDE_SEG_SYN) + !!(g.flags & TIDE_SEG_FIN);
}

/* A frame exactly as the input gives it. */
static void fz_raw(fz_t *z, fz_in_t *in)
{
    uint32_t len = fz_take(in, 2) % (fw.w.max_payload + 1);
    if (len > in->left)
        len = (uint32_t)in->left;
    memcpy(fw.q, in->p, len);
    in->p += len;
    in->left -= len;
    fw.qlen = len;
    fw.queued = 1;
    fz_pump(z);
}

static void fz_app(fz_t *z, uint8_t op, fz_in_t *in)
{
    static char buf[8192];
    if (op == 6) {
        tide_stream_t *c;
        if (z->ls && tide_stream_accept(z->ls, &c, TIDE_STREAM_DONTWAIT) == 0) {
            if (z->s)
                tide_stream_close(c);
            else
                z->s = c;
        }
        return;
    }
    if (!z->s)
        return;
    uint32_t arg = fz_take(in, 1);
    switch (op) {
    case 3: tide_stream_send(z->s, fz_data, arg * 64u, TIDE_STREAM_DONTWAIT); break;
    case 4: {
        ssize_t n = tide_stream_recv(z->s, buf, arg * 32u + 1,
                                     TIDE_STREAM_DONTWAIT | ((arg & 1) ? TIDE_STREAM_PEEK : 0));
        if (n > (ssize_t)(arg * 32u + 1))
            abort();
        break;
    }
    case 5:
        if (arg & 0x80) {
            tide_stream_close(z->s);
            z->s = NULL;
        } else if (arg & 0x40) {
            tide_stream_abort(z->s); /* the handle is gone, as after close */
            z->s = NULL;
        } else {
            tide_stream_shutdown(z->s, (int)(arg % 3) + 1);
        }
        break;
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    tide_log_level_cur = getenv("FUZZ_LOG") ? TIDE_LOG_TRACE : -1;
    /* small buffers: windows fill and wrap within a few segments */
    setenv("TIDE_STREAM_SNDBUF", "16k", 0);
    setenv("TIDE_STREAM_RCVBUF", "8k", 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    fz_in_t in = {data, size};
    unsigned sel = fz_take(&in, 1);
    unsigned opts = fz_take(&in, 1);
    memset(&fw, 0, sizeof(fw));
    fw.w.ops = &fz_ops;
    fw.w.kind = TIDE_WIRE_SIM;
    fw.w.max_payload = (opts & 1) ? 1500 : 600;
    fw.w.addr.len = 2;
    fw.w.addr.bytes[0] = TIDE_WIRE_SIM;
    fw.w.clock = &fc.base;
    tide_fake_clock_init(&fc, 5000000000ull);
    fw.w.clock = &fc.base;
    fz_t z;
    memset(&z, 0, sizeof(z));
    tide_stream_stack_opts_t o = {.key = FZ_KEY, .clock = &fc.base, .seed = 7, .no_shm_stats = 1};
    memset(&fz_mac, 0, sizeof(fz_mac));
    if ((opts & 4) && tide_mac_available()) {
        o.mac_key = fz_key;
        if (tide_mac_init(&fz_mac, fz_key) < 0)
            abort();
    }
    if (tide_stream_stack_create(&fw.w, &o, &z.st) < 0)
        abort();
    fz_setup(&z, sel);
    if (z.s && (opts & 2))
        tide_stream_setopt(z.s, TIDE_SO_LOWLAT, 1);
    int steps = 0;
    while (in.left && steps++ < 256) {
        uint8_t op = (uint8_t)(fz_take(&in, 1) % 8);
        switch (op) {
        case 0: fz_raw(&z, &in); break;
        case 1:
        case 7: fz_crafted(&z, &in); break;
        case 2:
            tide_fake_clock_advance(&fc, (uint64_t)fz_take(&in, 2) * 20000ull);
            fz_pump(&z);
            break;
        default: fz_app(&z, op, &in); break;
        }
    }
    if (z.s)
        tide_stream_close(z.s);
    if (z.ls)
        tide_stream_close(z.ls);
    tide_stream_stack_destroy(z.st);
    return 0;
}
