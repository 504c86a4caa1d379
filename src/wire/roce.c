/* The roce wire: one libibverbs UD (unreliable datagram) queue pair per
 * endpoint on a RoCE (or InfiniBand) port.  A frame is one UD SEND WITH
 * IMMEDIATE; the immediate carries a magic and the sender's MTU, so a frame
 * from an unknown source still yields its full address blob.
 *
 * Address blob (32 bytes, big-endian):
 *   0 kind | 1 flags (bit 0: needs a GRH, i.e. RoCE) | 2 LID | 4 QPN |
 *   8 Q_Key | 12 MTU in bytes | 14 zero | 16 GID
 * Max payload: a UD message is at most the path MTU, read from the port
 * (active_mtu: 1024 on a 1500-byte Ethernet, 4096 on a 9000-byte one), and
 * optionally capped by TIDE_ROCE_MTU.  base.max_payload is this endpoint's
 * own MTU; each peer's limit is min(own, the MTU in its blob) and a frame
 * over the peer's limit is refused with -EMSGSIZE.  The stream engine never
 * sends one: its MSS comes from base.max_payload and is lowered to the
 * peer's MSS option in the handshake, which the peer derived from its own.
 *
 * Memory: one registered region holds a ring of receive buffers (40-byte
 * GRH + MTU each), all pre-posted; received frames are handed up in place
 * and reposted, in one chained post per release call.  The same region
 * holds one send buffer per send-queue slot for frames too long to send
 * inline; inline frames go straight from the caller's iovecs.  Only every
 * TIDE_ROCE_SIGNAL-th send asks for a completion (selective signalling): a
 * completion of send k frees the slots of every send up to k.
 *
 * Source of a received frame: UD receives start with 40 bytes of GRH.  RoCE
 * v2 over IPv4 leaves an IPv4 header in its last 20 bytes (source GID =
 * ::ffff:saddr); RoCE v1, v2 over IPv6 and InfiniBand leave an IPv6-shaped
 * GRH (source GID at byte 8).  Peers are found by (GID, QPN), or by
 * (LID, QPN) on InfiniBand without a GRH.  Address handles are created once
 * per peer in peer_add (RoCE needs the kernel to resolve the MAC).
 *
 * Blocking waits: the receive CQ is attached to a completion channel whose
 * fd is returned by get_fd.  The CQ is re-armed lazily: when a poll finds
 * the CQ empty after completions arrived since the last arming, the pending
 * event is consumed, the CQ re-armed and polled once more, so a caller that
 * sleeps after an empty recv_burst is woken by the next frame. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <infiniband/verbs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/hash.h"
#include "util/log.h"
#include "util/param.h"
#include "wire/wire_impl.h"

TIDE_PARAM_DEFINE(roce_dev, TIDE_PARAM_STRING, "ROCE_DEV", "",
                  "RDMA device of the roce wire, optionally with its port (rxe0, mlx5_0:1); a "
                  "comma list is indexed by the local rank; empty: the first active port, "
                  "RoCE before InfiniBand");
TIDE_PARAM_DEFINE(roce_gid, TIDE_PARAM_INT, "ROCE_GID", "-1",
                  "GID index of the roce wire; -1: automatic (RoCE v2 IPv4-mapped, then other "
                  "RoCE v2, then RoCE v1 or InfiniBand)");
TIDE_PARAM_DEFINE(roce_mtu, TIDE_PARAM_SIZE, "ROCE_MTU", "0",
                  "Cap on the roce wire's MTU (256..4096); 0: the port's active MTU");
TIDE_PARAM_DEFINE(roce_rx_frames, TIDE_PARAM_INT, "ROCE_RX_FRAMES", "2048",
                  "Receive buffers pre-posted per roce endpoint (frames held by the caller "
                  "count)");
TIDE_PARAM_DEFINE(roce_tx_depth, TIDE_PARAM_INT, "ROCE_TX_DEPTH", "256",
                  "Send queue depth of a roce endpoint (frames in flight)");
TIDE_PARAM_DEFINE(roce_inline, TIDE_PARAM_SIZE, "ROCE_INLINE", "256",
                  "roce frames up to this size are sent inline (capped by the device)");
TIDE_PARAM_DEFINE(roce_signal, TIDE_PARAM_INT, "ROCE_SIGNAL", "16",
                  "Ask for a send completion every N roce frames (selective signalling)");
TIDE_PARAM_DEFINE(roce_qkey, TIDE_PARAM_INT, "ROCE_QKEY", "0x11de0001",
                  "Q_Key of roce endpoints (the same for every rank of a job; below 2^31)");

#define ROCE_BATCH     64
#define ROCE_GRH       40
#define ROCE_ADDR_LEN  32
#define ROCE_F_GLOBAL  0x01
#define ROCE_IMM_MAGIC 0x71deu
#define ROCE_HOP_LIMIT 64

typedef struct roce_peer {
    struct ibv_ah *ah;
    uint32_t qpn, qkey;
    uint32_t max_payload; /* min(ours, the peer's MTU) */
    tide_wire_addr_t addr;
} roce_peer_t;

typedef struct roce_wire {
    tide_wire_t base;
    struct ibv_context *ctx;
    struct ibv_pd *pd;
    struct ibv_comp_channel *chan;
    struct ibv_cq *rcq, *scq;
    struct ibv_qp *qp;
    struct ibv_mr *mr;
    uint8_t *mem;
    uint8_t port, global;
    uint16_t lid;
    int gid_index;
    union ibv_gid gid;
    uint32_t qkey, mtu, imm; /* imm: network order */
    uint32_t nrx, rx_size, ntx, tx_size, max_inline, signal;
    uint64_t tx_posted, tx_done;
    uint32_t rx_since_arm;
    int sq_error;
    roce_peer_t *peers;
    uint32_t npeers, peers_cap;
    tide_hash_t peer_of; /* roce_key -> handle + 1 */
    char name[IBV_SYSFS_NAME_MAX + 8];
} roce_wire_t;

static roce_wire_t *roce(tide_wire_t *w)
{
    return (roce_wire_t *)w;
}

/* ---- addresses ---- */

static uint64_t roce_key(int global, const uint8_t *gid, uint16_t lid, uint32_t qpn)
{
    if (!global)
        return (uint64_t)lid << 32 | qpn;
    uint64_t h = qpn;
    for (int i = 0; i < 16; i += 8) {
        uint64_t x;
        memcpy(&x, gid + i, 8);
        h = tide_hash_mix(h ^ x);
    }
    return h | 1ull << 63;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static void roce_addr_make(tide_wire_addr_t *a, int global, uint16_t lid, uint32_t qpn,
                           uint32_t qkey, uint32_t mtu, const uint8_t *gid)
{
    memset(a, 0, sizeof(*a));
    a->len = ROCE_ADDR_LEN;
    a->bytes[0] = TIDE_WIRE_ROCE;
    a->bytes[1] = global ? ROCE_F_GLOBAL : 0;
    put16(&a->bytes[2], lid);
    put32(&a->bytes[4], qpn);
    put32(&a->bytes[8], qkey);
    put16(&a->bytes[12], (uint16_t)mtu);
    memcpy(&a->bytes[16], gid, 16);
}

static int roce_addr_ok(const tide_wire_addr_t *a)
{
    uint32_t mtu = a->len == ROCE_ADDR_LEN ? get16(&a->bytes[12]) : 0;
    return a->bytes[0] == TIDE_WIRE_ROCE && mtu >= 256 && (get32(&a->bytes[4]) >> 24) == 0 &&
           (a->bytes[1] & ~ROCE_F_GLOBAL) == 0;
}

void tide_wire_roce_addr_fmt(const tide_wire_addr_t *a, char *buf, size_t len)
{
    char gid[INET6_ADDRSTRLEN];
    if (!roce_addr_ok(a)) {
        snprintf(buf, len, "roce:?");
        return;
    }
    inet_ntop(AF_INET6, &a->bytes[16], gid, sizeof(gid));
    if (a->bytes[1] & ROCE_F_GLOBAL)
        snprintf(buf, len, "roce:%s/qp%u/mtu%u", gid, get32(&a->bytes[4]), get16(&a->bytes[12]));
    else
        snprintf(buf, len, "roce:lid%u/qp%u/mtu%u", get16(&a->bytes[2]), get32(&a->bytes[4]),
                 get16(&a->bytes[12]));
}

/* ---- choosing device, port and GID ---- */

static uint32_t roce_mtu_bytes(enum ibv_mtu m)
{
    return m >= IBV_MTU_256 && m <= IBV_MTU_4096 ? 128u << m : 0;
}

/* Preference of a GID entry: higher is better, 0 unusable. */
static int roce_gid_score(const struct ibv_gid_entry *e)
{
    static const uint8_t v4map[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    const uint8_t *g = e->gid.raw;
    switch (e->gid_type) {
    case IBV_GID_TYPE_ROCE_V2:
        if (!memcmp(g, v4map, 12))
            return 4;
        return g[0] == 0xfe && (g[1] & 0xc0) == 0x80 ? 2 : 3;
    case IBV_GID_TYPE_ROCE_V1: return 1;
    case IBV_GID_TYPE_IB: return 1;
    default: return 0;
    }
}

/* The GID index of port: TIDE_ROCE_GID, else the best entry.  -errno. */
static int roce_pick_gid(struct ibv_context *ctx, uint8_t port, int quiet)
{
    int64_t want = tide_param_int(&tide_param_roce_gid);
    struct ibv_gid_entry e, tab[256];
    const char *dev = ibv_get_device_name(ctx->device);
    if (want >= 0) {
        if (ibv_query_gid_ex(ctx, port, (uint32_t)want, &e, 0) == 0)
            return (int)want;
        if (!quiet)
            tide_error("roce wire: GID index %lld of %s port %u is not valid (TIDE_ROCE_GID; "
                       "see `rdma link` and /sys/class/infiniband/%s/ports/%u/gids)",
                       (long long)want, dev, port, dev, port);
        return -ENOENT;
    }
    ssize_t n = ibv_query_gid_table(ctx, tab, 256, 0);
    int best = -ENOENT, best_score = 0;
    for (ssize_t i = 0; i < n; i++) {
        int s = tab[i].port_num == port ? roce_gid_score(&tab[i]) : 0;
        if (s > best_score) {
            best_score = s;
            best = (int)tab[i].gid_index;
        }
    }
    if (best < 0 && !quiet)
        tide_error("roce wire: %s port %u has no usable GID (for RoCE give its netdev an IP "
                   "address; or set TIDE_ROCE_GID)",
                   dev, port);
    return best;
}

/* First active port of ctx (on the link layer wanted, 0: any); 0 if none. */
static uint8_t roce_active_port(struct ibv_context *ctx, int want_ll, int port_only)
{
    struct ibv_device_attr da;
    if (ibv_query_device(ctx, &da))
        return 0;
    for (int p = 1; p <= da.phys_port_cnt; p++) {
        struct ibv_port_attr pa;
        if (port_only && p != port_only)
            continue;
        if (ibv_query_port(ctx, (uint8_t)p, &pa) || pa.state != IBV_PORT_ACTIVE)
            continue;
        if (!want_ll || pa.link_layer == want_ll)
            return (uint8_t)p;
    }
    return 0;
}

static void roce_no_device(const char *why)
{
    tide_error("roce wire: %s; this host has no usable RDMA (RoCE/InfiniBand) device. Load a "
               "driver (e.g. `modprobe rdma_rxe; rdma link add rxe0 type rxe netdev eth0`) or "
               "use TIDE_WIRE=eth or TIDE_WIRE=udp",
               why);
}

/* Open the device and port named by spec ("dev[:port]" or empty: auto). */
static int roce_open_device(const char *spec, int quiet, struct ibv_context **ctx_out,
                            uint8_t *port_out)
{
    char name[IBV_SYSFS_NAME_MAX + 8] = "";
    int num = 0, port = 0, rc = -ENODEV;
    sscanf(spec, "%63[^:]:%d", name, &port);
    struct ibv_device **list = ibv_get_device_list(&num);
    if (!list || num == 0) {
        if (!quiet)
            roce_no_device(list ? "no RDMA device found" : "libibverbs cannot list devices");
        if (list)
            ibv_free_device_list(list);
        return -ENODEV;
    }
    for (int pass = 0; pass < 2 && rc; pass++) {
        for (int i = 0; i < num && rc; i++) {
            if (*name && strcmp(name, ibv_get_device_name(list[i])))
                continue;
            struct ibv_context *ctx = ibv_open_device(list[i]);
            if (!ctx)
                continue;
            int ll = *name ? 0 : pass == 0 ? IBV_LINK_LAYER_ETHERNET : IBV_LINK_LAYER_INFINIBAND;
            uint8_t p = roce_active_port(ctx, ll, port);
            if (p) {
                *ctx_out = ctx;
                *port_out = p;
                rc = 0;
            } else {
                ibv_close_device(ctx);
            }
        }
    }
    if (rc && !quiet) {
        char have[256] = "";
        for (int i = 0; i < num; i++)
            snprintf(have + strlen(have), sizeof(have) - strlen(have), "%s%s", i ? " " : "",
                     ibv_get_device_name(list[i]));
        if (*name)
            tide_error("roce wire: no active port on RDMA device '%s' (TIDE_ROCE_DEV; devices "
                       "here: %s; `rdma link` shows their state)",
                       spec, have);
        else
            tide_error("roce wire: no RDMA port is active (devices here: %s; `rdma link` shows "
                       "their state); set TIDE_ROCE_DEV, or use TIDE_WIRE=eth or TIDE_WIRE=udp",
                       have);
    }
    ibv_free_device_list(list);
    return rc;
}

static void roce_device_spec(const tide_wire_config_t *cfg, char *out, size_t len)
{
    const char *spec = cfg->device ? cfg->device : tide_param_str(&tide_param_roce_dev);
    tide_wire_list_item(spec ? spec : "", cfg->local_rank > 0 ? cfg->local_rank : 0, out, len);
}

int tide_wire_roce_usable(const tide_wire_config_t *cfg)
{
    char spec[128];
    struct ibv_context *ctx;
    uint8_t port;
    roce_device_spec(cfg, spec, sizeof(spec));
    if (roce_open_device(spec, 1, &ctx, &port))
        return 0;
    int ok = roce_pick_gid(ctx, port, 1) >= 0;
    ibv_close_device(ctx);
    return ok;
}

/* ---- open and close ---- */

/* Device, port, GID, LID and MTU of r from the config; logs on error. */
static int roce_port_setup(roce_wire_t *r, const tide_wire_config_t *cfg)
{
    char spec[128];
    struct ibv_port_attr pa;
    roce_device_spec(cfg, spec, sizeof(spec));
    int rc = roce_open_device(spec, 0, &r->ctx, &r->port);
    if (rc)
        return rc;
    snprintf(r->name, sizeof(r->name), "%s:%u", ibv_get_device_name(r->ctx->device), r->port);
    if (ibv_query_port(r->ctx, r->port, &pa)) {
        tide_error("roce wire: cannot query %s: %s", r->name, strerror(errno));
        return -EIO;
    }
    r->global = pa.link_layer != IBV_LINK_LAYER_INFINIBAND;
    r->lid = pa.lid;
    r->mtu = roce_mtu_bytes(pa.active_mtu);
    uint32_t cap = (uint32_t)tide_param_int(&tide_param_roce_mtu);
    while (cap >= 256 && r->mtu > cap)
        r->mtu /= 2;
    if (r->mtu < 256) {
        tide_error("roce wire: %s reports no valid active MTU (%d)", r->name, pa.active_mtu);
        return -EIO;
    }
    if ((r->gid_index = roce_pick_gid(r->ctx, r->port, 0)) < 0)
        return r->gid_index;
    if (ibv_query_gid(r->ctx, r->port, r->gid_index, &r->gid)) {
        tide_error("roce wire: cannot read GID %d of %s: %s", r->gid_index, r->name,
                   strerror(errno));
        return -EIO;
    }
    return 0;
}

static int roce_qp_create(roce_wire_t *r)
{
    struct ibv_qp_init_attr a;
    for (int attempt = 0; attempt < 2 && !r->qp; attempt++) {
        memset(&a, 0, sizeof(a));
        a.send_cq = r->scq;
        a.recv_cq = r->rcq;
        a.qp_type = IBV_QPT_UD;
        a.sq_sig_all = 0;
        a.cap.max_send_wr = r->ntx;
        a.cap.max_recv_wr = r->nrx;
        a.cap.max_send_sge = TIDE_WIRE_MAX_IOV;
        a.cap.max_recv_sge = 1;
        a.cap.max_inline_data = attempt ? 0 : r->max_inline; /* retry without inline */
        r->qp = ibv_create_qp(r->pd, &a);
    }
    if (!r->qp) {
        tide_error("roce wire: cannot create a UD queue pair on %s (%u send, %u receive "
                   "entries): %s",
                   r->name, r->ntx, r->nrx, strerror(errno));
        return -errno ? -errno : -EIO;
    }
    r->max_inline = a.cap.max_inline_data < r->max_inline ? a.cap.max_inline_data : r->max_inline;
    return 0;
}

/* RESET -> INIT -> RTR -> RTS for a UD queue pair. */
static int roce_qp_ready(roce_wire_t *r)
{
    struct ibv_qp_attr a;
    memset(&a, 0, sizeof(a));
    a.qp_state = IBV_QPS_INIT;
    a.port_num = r->port;
    a.qkey = r->qkey;
    int rc = ibv_modify_qp(r->qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_QKEY);
    if (!rc) {
        a.qp_state = IBV_QPS_RTR;
        rc = ibv_modify_qp(r->qp, &a, IBV_QP_STATE);
    }
    if (!rc) {
        a.qp_state = IBV_QPS_RTS;
        a.sq_psn = 0;
        rc = ibv_modify_qp(r->qp, &a, IBV_QP_STATE | IBV_QP_SQ_PSN);
    }
    if (rc) {
        tide_error("roce wire: cannot bring the queue pair on %s to RTS: %s", r->name,
                   strerror(rc));
        return -rc;
    }
    return 0;
}

static uint8_t *roce_rx_buf(roce_wire_t *r, uint32_t i)
{
    return r->mem + (size_t)i * r->rx_size;
}

static uint8_t *roce_tx_buf(roce_wire_t *r, uint32_t i)
{
    return r->mem + (size_t)r->nrx * r->rx_size + (size_t)i * r->tx_size;
}

/* Post receive buffers idx[0..n) in one chained call. */
static int roce_post_rx(roce_wire_t *r, const uint32_t *idx, int n)
{
    struct ibv_recv_wr wr[ROCE_BATCH], *bad;
    struct ibv_sge sge[ROCE_BATCH];
    for (int i = 0; i < n; i++) {
        sge[i] = (struct ibv_sge){(uintptr_t)roce_rx_buf(r, idx[i]), r->rx_size, r->mr->lkey};
        wr[i] = (struct ibv_recv_wr){idx[i], i + 1 < n ? &wr[i + 1] : NULL, &sge[i], 1};
    }
    int rc = n ? ibv_post_recv(r->qp, wr, &bad) : 0;
    if (rc)
        tide_error("roce wire: posting %d receive buffers on %s: %s", n, r->name, strerror(rc));
    return -rc;
}

static int roce_mem_setup(roce_wire_t *r)
{
    r->rx_size = (ROCE_GRH + r->mtu + 63) & ~63u;
    r->tx_size = (r->mtu + 63) & ~63u;
    size_t len = (size_t)r->nrx * r->rx_size + (size_t)r->ntx * r->tx_size;
    if (posix_memalign((void **)&r->mem, 4096, len)) {
        tide_error("roce wire: out of memory for %zu bytes of buffers", len);
        return -ENOMEM;
    }
    r->mr = ibv_reg_mr(r->pd, r->mem, len, IBV_ACCESS_LOCAL_WRITE);
    if (!r->mr) {
        int e = errno ? errno : EIO;
        tide_error("roce wire: cannot register %zu bytes on %s: %s (locked memory limit? "
                   "`ulimit -l`)",
                   len, r->name, strerror(e));
        return -e;
    }
    uint32_t idx[ROCE_BATCH];
    for (uint32_t i = 0; i < r->nrx; i += ROCE_BATCH) {
        int n = 0;
        for (uint32_t k = i; k < r->nrx && n < ROCE_BATCH; k++)
            idx[n++] = k;
        int rc = roce_post_rx(r, idx, n);
        if (rc)
            return rc;
    }
    return 0;
}

/* Keep the queue sizes within what the device allows. */
static void roce_sizes_clamp(roce_wire_t *r)
{
    struct ibv_device_attr da;
    if (ibv_query_device(r->ctx, &da))
        return;
    uint32_t wr = da.max_qp_wr > 0 ? (uint32_t)da.max_qp_wr : r->nrx;
    uint32_t cqe = da.max_cqe > 0 ? (uint32_t)da.max_cqe : r->nrx;
    uint32_t lim = wr < cqe ? wr : cqe;
    if (r->nrx > lim)
        r->nrx = lim;
    if (r->ntx > lim)
        r->ntx = lim - lim % r->signal;
}

static int roce_verbs_setup(roce_wire_t *r)
{
    roce_sizes_clamp(r);
    r->pd = ibv_alloc_pd(r->ctx);
    r->chan = r->pd ? ibv_create_comp_channel(r->ctx) : NULL;
    r->rcq = r->chan ? ibv_create_cq(r->ctx, (int)r->nrx, r, r->chan, 0) : NULL;
    r->scq = r->rcq ? ibv_create_cq(r->ctx, (int)r->ntx, r, NULL, 0) : NULL;
    if (!r->scq) {
        int e = errno ? errno : EIO;
        tide_error("roce wire: cannot allocate %s on %s: %s",
                   !r->pd     ? "a protection domain"
                   : !r->chan ? "a completion channel"
                              : "completion queues",
                   r->name, strerror(e));
        return -e;
    }
    int fl = fcntl(r->chan->fd, F_GETFL);
    if (fl < 0 || fcntl(r->chan->fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        tide_error("roce wire: completion channel fd: %s", strerror(errno));
        return -errno;
    }
    int rc = roce_qp_create(r);
    if (!rc)
        rc = roce_qp_ready(r);
    if (!rc)
        rc = roce_mem_setup(r);
    if (!rc && (rc = ibv_req_notify_cq(r->rcq, 0))) {
        tide_error("roce wire: arming the receive CQ on %s: %s", r->name, strerror(rc));
        rc = -rc;
    }
    return rc;
}

static void roce_free(roce_wire_t *r)
{
    for (uint32_t i = 0; i < r->npeers; i++)
        ibv_destroy_ah(r->peers[i].ah);
    if (r->qp)
        ibv_destroy_qp(r->qp);
    if (r->mr)
        ibv_dereg_mr(r->mr);
    if (r->scq)
        ibv_destroy_cq(r->scq);
    if (r->rcq)
        ibv_destroy_cq(r->rcq);
    if (r->chan)
        ibv_destroy_comp_channel(r->chan);
    if (r->pd)
        ibv_dealloc_pd(r->pd);
    if (r->ctx)
        ibv_close_device(r->ctx);
    free(r->mem);
    free(r->peers);
    tide_hash_fini(&r->peer_of);
    free(r);
}

static void roce_sizes(roce_wire_t *r)
{
    int64_t rx = tide_param_int(&tide_param_roce_rx_frames);
    int64_t tx = tide_param_int(&tide_param_roce_tx_depth);
    int64_t sig = tide_param_int(&tide_param_roce_signal);
    int64_t inl = tide_param_int(&tide_param_roce_inline);
    r->nrx = rx < ROCE_BATCH ? ROCE_BATCH : rx > 16384 ? 16384 : (uint32_t)rx;
    r->ntx = tx < 16 ? 16 : tx > 16384 ? 16384 : (uint32_t)tx;
    r->signal = sig < 1 ? 1 : sig > r->ntx / 2 ? r->ntx / 2 : (uint32_t)sig;
    r->ntx -= r->ntx % r->signal; /* a full queue always holds a signalled send */
    r->max_inline = inl < 0 ? 0 : inl > 1024 ? 1024 : (uint32_t)inl;
    r->qkey = (uint32_t)tide_param_int(&tide_param_roce_qkey) & 0x7fffffffu;
}

static int roce_open(const tide_wire_config_t *cfg, tide_wire_t **out)
{
    roce_wire_t *r = calloc(1, sizeof(*r));
    if (!r) {
        tide_error("roce wire: out of memory");
        return -ENOMEM;
    }
    tide_hash_init(&r->peer_of);
    roce_sizes(r);
    int rc = roce_port_setup(r, cfg);
    if (!rc)
        rc = roce_verbs_setup(r);
    if (rc) {
        roce_free(r);
        return rc;
    }
    r->imm = htonl(ROCE_IMM_MAGIC << 16 | r->mtu);
    r->base.ops = &tide_wire_roce_ops;
    r->base.kind = TIDE_WIRE_ROCE;
    r->base.max_payload = r->mtu;
    r->base.clock = cfg->clock ? cfg->clock : &tide_clock_mono;
    roce_addr_make(&r->base.addr, r->global, r->lid, r->qp->qp_num, r->qkey, r->mtu, r->gid.raw);
    char s[128];
    tide_debug("roce wire: opened %s on %s, GID index %d, %u receive buffers, inline up to %u",
               tide_wire_addr_str(&r->base.addr, s, sizeof(s)), r->name, r->gid_index, r->nrx,
               r->max_inline);
    *out = &r->base;
    return 0;
}

static void roce_close(tide_wire_t *w)
{
    roce_free(roce(w));
}

/* ---- peers ---- */

static int roce_ah_create(roce_wire_t *r, const tide_wire_addr_t *a, struct ibv_ah **ah)
{
    struct ibv_ah_attr at;
    memset(&at, 0, sizeof(at));
    at.dlid = get16(&a->bytes[2]);
    at.port_num = r->port;
    if (a->bytes[1] & ROCE_F_GLOBAL) {
        at.is_global = 1;
        memcpy(at.grh.dgid.raw, &a->bytes[16], 16);
        at.grh.sgid_index = (uint8_t)r->gid_index;
        at.grh.hop_limit = ROCE_HOP_LIMIT;
    }
    *ah = ibv_create_ah(r->pd, &at);
    if (!*ah) {
        char s[128];
        int e = errno ? errno : EHOSTUNREACH;
        tide_error("roce wire: no address handle for %s from %s (GID %d): %s (is the peer's "
                   "address reachable from this port's netdev?)",
                   tide_wire_addr_str(a, s, sizeof(s)), r->name, r->gid_index, strerror(e));
        return -e;
    }
    return 0;
}

static int roce_peers_grow(roce_wire_t *r)
{
    if (r->npeers < r->peers_cap)
        return 0;
    uint32_t cap = r->peers_cap ? 2 * r->peers_cap : 16;
    roce_peer_t *p = realloc(r->peers, cap * sizeof(*p));
    if (!p) {
        tide_error("roce wire: out of memory adding a peer");
        return -ENOMEM;
    }
    r->peers = p;
    r->peers_cap = cap;
    return 0;
}

static int roce_peer_add(tide_wire_t *w, const tide_wire_addr_t *a, uint32_t *peer_out)
{
    roce_wire_t *r = roce(w);
    char s[128];
    if (!roce_addr_ok(a) || (a->bytes[1] & ROCE_F_GLOBAL) != (r->global ? ROCE_F_GLOBAL : 0)) {
        tide_error("roce wire: cannot reach %s from %s", tide_wire_addr_str(a, s, sizeof(s)),
                   r->name);
        return -EINVAL;
    }
    uint64_t key = roce_key(r->global, &a->bytes[16], get16(&a->bytes[2]), get32(&a->bytes[4]));
    uintptr_t have = (uintptr_t)tide_hash_get(&r->peer_of, key);
    if (have && !memcmp(r->peers[have - 1].addr.bytes, a->bytes, ROCE_ADDR_LEN)) {
        *peer_out = (uint32_t)(have - 1);
        return 0;
    }
    int rc = roce_peers_grow(r);
    struct ibv_ah *ah = NULL;
    if (!rc)
        rc = roce_ah_create(r, a, &ah);
    if (!rc && !have && tide_hash_put(&r->peer_of, key, (void *)(uintptr_t)(r->npeers + 1))) {
        tide_error("roce wire: out of memory adding a peer");
        rc = -ENOMEM;
    }
    if (rc) {
        if (ah)
            ibv_destroy_ah(ah);
        return rc;
    }
    roce_peer_t *p = &r->peers[r->npeers];
    uint32_t mtu = get16(&a->bytes[12]);
    p->ah = ah;
    p->qpn = get32(&a->bytes[4]);
    p->qkey = get32(&a->bytes[8]);
    p->max_payload = mtu < r->mtu ? mtu : r->mtu;
    p->addr = *a;
    *peer_out = r->npeers++;
    return 0;
}

/* ---- send ---- */

/* Reap send completions: each signalled one frees the slots up to it. */
static int roce_tx_reap(roce_wire_t *r)
{
    struct ibv_wc wc[16];
    int n = ibv_poll_cq(r->scq, 16, wc);
    for (int i = 0; i < n; i++) {
        r->tx_done = wc[i].wr_id + 1;
        if (wc[i].status != IBV_WC_SUCCESS && wc[i].status != IBV_WC_WR_FLUSH_ERR) {
            r->base.stats.tx_errors++;
            tide_error("roce wire: send on %s failed: %s", r->name,
                       ibv_wc_status_str(wc[i].status));
            r->sq_error = 1;
        }
    }
    return n < 0 ? -EIO : 0;
}

/* After a failed send the UD queue pair sits in SQE; move it back to RTS. */
static int roce_tx_recover(roce_wire_t *r)
{
    struct ibv_qp_attr a = {.qp_state = IBV_QPS_RTS, .cur_qp_state = IBV_QPS_SQE};
    int rc = ibv_modify_qp(r->qp, &a, IBV_QP_STATE | IBV_QP_CUR_STATE);
    if (rc) {
        tide_error("roce wire: cannot recover the queue pair on %s: %s", r->name, strerror(rc));
        return -EIO;
    }
    r->sq_error = 0;
    return 0;
}

static int roce_tx_check(roce_wire_t *r, const tide_wire_tx_t *tx, size_t *len_out)
{
    size_t len = 0;
    if (tx->peer >= r->npeers || tx->iovcnt > TIDE_WIRE_MAX_IOV) {
        tide_error("roce wire: bad send (peer handle %u of %u, %u iovecs)", tx->peer, r->npeers,
                   tx->iovcnt);
        return -EINVAL;
    }
    for (uint32_t k = 0; k < tx->iovcnt; k++)
        len += tx->iov[k].iov_len;
    if (len > r->peers[tx->peer].max_payload) {
        tide_error("roce wire: frame of %zu bytes exceeds the max payload (%u here, %u to this "
                   "peer; path MTU of %s)",
                   len, r->base.max_payload, r->peers[tx->peer].max_payload, r->name);
        return -EMSGSIZE;
    }
    *len_out = len;
    return 0;
}

/* Build the work request for tx in send slot `seq`. */
static void roce_tx_fill(roce_wire_t *r, const tide_wire_tx_t *tx, size_t len, uint64_t seq,
                         struct ibv_send_wr *wr, struct ibv_sge *sge)
{
    const roce_peer_t *p = &r->peers[tx->peer];
    memset(wr, 0, sizeof(*wr));
    wr->wr_id = seq;
    wr->sg_list = sge;
    wr->opcode = IBV_WR_SEND_WITH_IMM;
    wr->imm_data = r->imm;
    wr->wr.ud.ah = p->ah;
    wr->wr.ud.remote_qpn = p->qpn;
    wr->wr.ud.remote_qkey = p->qkey;
    if (seq % r->signal == r->signal - 1)
        wr->send_flags = IBV_SEND_SIGNALED;
    if (len <= r->max_inline) {
        wr->send_flags |= IBV_SEND_INLINE;
        for (uint32_t k = 0; k < tx->iovcnt; k++)
            sge[k] =
                (struct ibv_sge){(uintptr_t)tx->iov[k].iov_base, (uint32_t)tx->iov[k].iov_len, 0};
        wr->num_sge = (int)tx->iovcnt;
        return;
    }
    uint8_t *buf = roce_tx_buf(r, (uint32_t)(seq % r->ntx)), *q = buf;
    for (uint32_t k = 0; k < tx->iovcnt; k++) {
        memcpy(q, tx->iov[k].iov_base, tx->iov[k].iov_len);
        q += tx->iov[k].iov_len;
    }
    sge[0] = (struct ibv_sge){(uintptr_t)buf, (uint32_t)len, r->mr->lkey};
    wr->num_sge = 1;
}

/* Post up to ROCE_BATCH frames; returns how many were posted or -errno. */
static int roce_tx_post(roce_wire_t *r, const tide_wire_tx_t *tx, int n, int *bad_out)
{
    struct ibv_send_wr wr[ROCE_BATCH], *bad = NULL;
    struct ibv_sge sge[ROCE_BATCH][TIDE_WIRE_MAX_IOV];
    size_t bytes[ROCE_BATCH];
    int k = 0;
    if (r->tx_posted - r->tx_done + (uint64_t)n > r->ntx)
        roce_tx_reap(r);
    uint64_t room = r->ntx - (r->tx_posted - r->tx_done);
    while (k < n && k < ROCE_BATCH && (uint64_t)k < room &&
           !(*bad_out = roce_tx_check(r, &tx[k], &bytes[k]))) {
        roce_tx_fill(r, &tx[k], bytes[k], r->tx_posted + (uint64_t)k, &wr[k], sge[k]);
        wr[k].next = NULL;
        if (k)
            wr[k - 1].next = &wr[k];
        k++;
    }
    int rc = k ? ibv_post_send(r->qp, wr, &bad) : 0;
    int posted = rc ? (int)(bad - wr) : k;
    for (int i = 0; i < posted; i++) {
        r->base.stats.tx_frames++;
        r->base.stats.tx_bytes += bytes[i];
    }
    r->tx_posted += (uint64_t)posted;
    if (rc && rc != ENOMEM && rc != EAGAIN) {
        r->base.stats.tx_errors++;
        tide_error("roce wire: posting sends on %s: %s", r->name, strerror(rc));
        return posted ? posted : -rc;
    }
    return posted;
}

static int roce_send_burst(tide_wire_t *w, const tide_wire_tx_t *tx, int n)
{
    roce_wire_t *r = roce(w);
    int done = 0, bad = 0;
    if (r->sq_error && roce_tx_recover(r))
        return -EIO;
    while (done < n && !bad) {
        int k = roce_tx_post(r, tx + done, n - done, &bad);
        if (k < 0)
            return done ? done : k;
        done += k;
        if (k == 0 && !bad)
            break; /* send queue full: the caller retries */
    }
    if (bad) {
        r->base.stats.tx_errors++;
        return done ? done : bad;
    }
    return done;
}

/* ---- receive ---- */

static uint16_t roce_csum(const uint8_t *p, int len)
{
    uint32_t s = 0;
    for (int i = 0; i < len; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* The source GID from the 40 bytes in front of a received frame (the test
 * for an IPv4 header is the one rdma-core's ibv_init_ah_from_wc uses). */
static void roce_grh_sgid(const uint8_t *grh, uint8_t gid[16])
{
    const uint8_t *ip4 = grh + 20;
    int v4 = (grh[0] >> 4) != 6 || (ip4[0] == 0x45 && roce_csum(ip4, 20) == 0);
    if (v4) {
        memset(gid, 0, 10);
        gid[10] = gid[11] = 0xff;
        memcpy(gid + 12, ip4 + 12, 4);
    } else {
        memcpy(gid, grh + 8, 16);
    }
}

/* Turn completion wc into frame f; 0, or -1 to drop and repost. */
static int roce_rx_frame(roce_wire_t *r, const struct ibv_wc *wc, tide_wire_frame_t *f)
{
    uint32_t imm = ntohl(wc->imm_data);
    int grh = (wc->wc_flags & IBV_WC_GRH) != 0;
    if (wc->status != IBV_WC_SUCCESS || !(wc->wc_flags & IBV_WC_WITH_IMM) ||
        imm >> 16 != ROCE_IMM_MAGIC || wc->byte_len < ROCE_GRH || grh != r->global)
        return -1;
    const uint8_t *buf = roce_rx_buf(r, (uint32_t)wc->wr_id);
    uint8_t gid[16];
    if (grh)
        roce_grh_sgid(buf, gid);
    uint64_t key = roce_key(grh, gid, wc->slid, wc->src_qp);
    uintptr_t h = (uintptr_t)tide_hash_get(&r->peer_of, key);
    const roce_peer_t *p = h ? &r->peers[h - 1] : NULL;
    int known = p && p->qpn == wc->src_qp &&
                (grh ? !memcmp(&p->addr.bytes[16], gid, 16) : get16(&p->addr.bytes[2]) == wc->slid);
    f->data = buf + ROCE_GRH;
    f->len = wc->byte_len - ROCE_GRH;
    f->peer = known ? (uint32_t)(h - 1) : TIDE_WIRE_PEER_UNKNOWN;
    f->priv[0] = (uintptr_t)wc->wr_id | (uintptr_t)wc->src_qp << 32;
    f->priv[1] = (uintptr_t)wc->slid | (uintptr_t)(imm & 0xffff) << 16 | (uintptr_t)grh << 32;
    r->base.stats.rx_frames++;
    r->base.stats.rx_bytes += f->len;
    return 0;
}

static int roce_rx_poll(roce_wire_t *r, tide_wire_frame_t *f, int max)
{
    struct ibv_wc wc[ROCE_BATCH];
    uint32_t drop[ROCE_BATCH];
    int ndrop = 0, n = 0;
    int got = ibv_poll_cq(r->rcq, max < ROCE_BATCH ? max : ROCE_BATCH, wc);
    if (got < 0) {
        tide_error("roce wire: polling the receive CQ of %s failed", r->name);
        return -EIO;
    }
    for (int i = 0; i < got; i++) {
        if (roce_rx_frame(r, &wc[i], &f[n]) == 0) {
            n++;
            continue;
        }
        if (wc[i].status == IBV_WC_WR_FLUSH_ERR)
            continue; /* queue pair going down: nothing to repost */
        r->base.stats.rx_dropped_bad++;
        drop[ndrop++] = (uint32_t)wc[i].wr_id;
    }
    r->rx_since_arm += (uint32_t)got;
    roce_post_rx(r, drop, ndrop);
    return n;
}

/* Consume the channel's event if one fired, and arm the CQ again. */
static int roce_rearm(roce_wire_t *r)
{
    struct ibv_cq *cq;
    void *cq_ctx;
    if (ibv_get_cq_event(r->chan, &cq, &cq_ctx) == 0)
        ibv_ack_cq_events(cq, 1);
    int rc = ibv_req_notify_cq(r->rcq, 0);
    if (rc) {
        tide_error("roce wire: arming the receive CQ on %s: %s", r->name, strerror(rc));
        return -rc;
    }
    r->rx_since_arm = 0;
    return 0;
}

static int roce_recv_burst(tide_wire_t *w, tide_wire_frame_t *f, int max)
{
    roce_wire_t *r = roce(w);
    int n = roce_rx_poll(r, f, max);
    if (n == 0 && r->rx_since_arm) {
        int rc = roce_rearm(r);
        n = rc ? rc : roce_rx_poll(r, f, max); /* frames that beat the arming */
    }
    return n;
}

static void roce_recv_release(tide_wire_t *w, tide_wire_frame_t *f, int n)
{
    roce_wire_t *r = roce(w);
    uint32_t idx[ROCE_BATCH];
    for (int i = 0; i < n; i += ROCE_BATCH) {
        int k = 0;
        for (; k < ROCE_BATCH && i + k < n; k++)
            idx[k] = (uint32_t)(f[i + k].priv[0] & 0xffffffffu);
        roce_post_rx(r, idx, k);
    }
}

static int roce_frame_src(tide_wire_t *w, const tide_wire_frame_t *f, tide_wire_addr_t *out)
{
    roce_wire_t *r = roce(w);
    if (f->peer != TIDE_WIRE_PEER_UNKNOWN && f->peer < r->npeers) {
        *out = r->peers[f->peer].addr;
        return 0;
    }
    uint8_t gid[16] = {0};
    int grh = (int)(f->priv[1] >> 32) & 1;
    if (grh)
        roce_grh_sgid(f->data - ROCE_GRH, gid);
    roce_addr_make(out, grh, (uint16_t)f->priv[1], (uint32_t)(f->priv[0] >> 32), r->qkey,
                   (uint32_t)(f->priv[1] >> 16) & 0xffff, gid);
    return 0;
}

static int roce_get_fd(tide_wire_t *w)
{
    return roce(w)->chan->fd;
}

static void roce_update_stats(tide_wire_t *w)
{
    /* A UD queue pair has no per-queue-pair count of frames dropped for
     * want of a posted buffer (only some NICs count it per port), so
     * rx_dropped_kernel stays 0 here; see doc/roce.md. */
    roce_tx_reap(roce(w));
}

const tide_wire_ops_t tide_wire_roce_ops = {
    .name = "roce",
    .open = roce_open,
    .close = roce_close,
    .peer_add = roce_peer_add,
    .send_burst = roce_send_burst,
    .recv_burst = roce_recv_burst,
    .recv_release = roce_recv_release,
    .frame_src = roce_frame_src,
    .get_fd = roce_get_fd,
    .update_stats = roce_update_stats,
};
