/* The udp wire: the unprivileged fallback, one kernel UDP socket per
 * endpoint.  Sends gather each frame's pieces straight from the caller's
 * iovecs into one sendmmsg call per burst; receives fill a fixed ring of
 * pre-allocated buffers with one recvmmsg call and hand the frames up in
 * place until released.  Kernel receive-queue drops come from SO_RXQ_OVFL.
 * The socket is bound to TIDE_UDP_ADDR (an IPv4/IPv6 address or an
 * interface name, whose IPv4 address is used; a comma list is indexed by the
 * local rank), else the config's device, else 127.0.0.1; the port is the
 * config's endpoint number, or one the kernel picks.  The address blob is
 * kind, family, port and IP address. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/hash.h"
#include "util/log.h"
#include "util/param.h"
#include "wire/wire_impl.h"

TIDE_PARAM_DEFINE(udp_addr, TIDE_PARAM_STRING, "UDP_ADDR", "",
                  "Address (IPv4/IPv6) or interface name the udp wire binds to; a comma list "
                  "is indexed by the local rank; empty: 127.0.0.1");
TIDE_PARAM_DEFINE(udp_mtu, TIDE_PARAM_SIZE, "UDP_MTU", "9000",
                  "Largest IP packet the udp wire sends (capped by the interface MTU); the "
                  "max payload is this minus the IP and UDP headers");
TIDE_PARAM_DEFINE(udp_rx_frames, TIDE_PARAM_INT, "UDP_RX_FRAMES", "256",
                  "Receive buffers per udp endpoint (frames held by the caller count)");
TIDE_PARAM_DEFINE(udp_sockbuf, TIDE_PARAM_SIZE, "UDP_SOCKBUF", "4m",
                  "SO_RCVBUF/SO_SNDBUF asked for on udp sockets");

#define UDP_BATCH    64
#define UDP_ADDR_V4  8
#define UDP_ADDR_V6  20
#define UDP_CMSG_LEN 64

typedef union udp_sa {
    struct sockaddr sa;
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
    struct sockaddr_storage ss;
} udp_sa_t;

typedef struct udp_peer {
    udp_sa_t sa;
    socklen_t salen;
} udp_peer_t;

typedef struct udp_wire {
    tide_wire_t base;
    int fd, family;
    uint32_t nbufs, buf_size;
    uint8_t *bufs;       /* nbufs * buf_size */
    udp_sa_t *srcs;      /* source address per buffer */
    uint32_t *free_bufs; /* stack of free buffer indices */
    uint32_t nfree;
    udp_peer_t *peers;
    uint32_t npeers, peers_cap;
    tide_hash_t peer_of; /* udp_sa_key -> handle + 1 */
    uint32_t last_ovfl;  /* SO_RXQ_OVFL counter last seen */
} udp_wire_t;

static udp_wire_t *udp(tide_wire_t *w)
{
    return (udp_wire_t *)w;
}

/* ---- addresses ---- */

static uint64_t udp_sa_key(const udp_sa_t *s)
{
    if (s->sa.sa_family == AF_INET)
        return (uint64_t)s->in4.sin_addr.s_addr << 16 | s->in4.sin_port;
    uint64_t h = s->in6.sin6_port;
    const uint8_t *b = s->in6.sin6_addr.s6_addr;
    for (int i = 0; i < 16; i++)
        h = tide_hash_mix(h ^ b[i]);
    return h | 1ull << 63;
}

static int udp_sa_equal(const udp_sa_t *x, const udp_sa_t *y)
{
    if (x->sa.sa_family != y->sa.sa_family)
        return 0;
    if (x->sa.sa_family == AF_INET)
        return x->in4.sin_port == y->in4.sin_port &&
               x->in4.sin_addr.s_addr == y->in4.sin_addr.s_addr;
    return x->in6.sin6_port == y->in6.sin6_port &&
           !memcmp(&x->in6.sin6_addr, &y->in6.sin6_addr, 16);
}

static void udp_addr_make(tide_wire_addr_t *a, const udp_sa_t *s)
{
    memset(a, 0, sizeof(*a));
    a->bytes[0] = TIDE_WIRE_UDP;
    if (s->sa.sa_family == AF_INET) {
        a->len = UDP_ADDR_V4;
        a->bytes[1] = 4;
        memcpy(&a->bytes[2], &s->in4.sin_port, 2);
        memcpy(&a->bytes[4], &s->in4.sin_addr, 4);
    } else {
        a->len = UDP_ADDR_V6;
        a->bytes[1] = 6;
        memcpy(&a->bytes[2], &s->in6.sin6_port, 2);
        memcpy(&a->bytes[4], &s->in6.sin6_addr, 16);
    }
}

static int udp_addr_parse(const tide_wire_addr_t *a, udp_sa_t *s, socklen_t *len)
{
    memset(s, 0, sizeof(*s));
    if (a->bytes[0] != TIDE_WIRE_UDP)
        return -EINVAL;
    if (a->len == UDP_ADDR_V4 && a->bytes[1] == 4) {
        s->in4.sin_family = AF_INET;
        memcpy(&s->in4.sin_port, &a->bytes[2], 2);
        memcpy(&s->in4.sin_addr, &a->bytes[4], 4);
        *len = sizeof(s->in4);
        return 0;
    }
    if (a->len == UDP_ADDR_V6 && a->bytes[1] == 6) {
        s->in6.sin6_family = AF_INET6;
        memcpy(&s->in6.sin6_port, &a->bytes[2], 2);
        memcpy(&s->in6.sin6_addr, &a->bytes[4], 16);
        *len = sizeof(s->in6);
        return 0;
    }
    return -EINVAL;
}

void tide_wire_udp_addr_fmt(const tide_wire_addr_t *a, char *buf, size_t len)
{
    udp_sa_t s;
    socklen_t sl;
    char ip[INET6_ADDRSTRLEN];
    if (udp_addr_parse(a, &s, &sl)) {
        snprintf(buf, len, "udp:?");
    } else if (s.sa.sa_family == AF_INET) {
        inet_ntop(AF_INET, &s.in4.sin_addr, ip, sizeof(ip));
        snprintf(buf, len, "udp:%s:%u", ip, ntohs(s.in4.sin_port));
    } else {
        inet_ntop(AF_INET6, &s.in6.sin6_addr, ip, sizeof(ip));
        snprintf(buf, len, "udp:[%s]:%u", ip, ntohs(s.in6.sin6_port));
    }
}

/* ---- choosing the local address ---- */

void tide_wire_list_item(const char *list, int idx, char *out, size_t len)
{
    const char *p = list;
    for (int i = 0; i < idx && strchr(p, ','); i++)
        p = strchr(p, ',') + 1;
    size_t n = strcspn(p, ",");
    if (n >= len)
        n = len - 1;
    memcpy(out, p, n);
    out[n] = 0;
}

/* The IPv4 address of interface `name` into s; 0 or -ENODEV. */
static int udp_if_addr(const char *name, udp_sa_t *s)
{
    struct ifaddrs *ifs, *i;
    int rc = -ENODEV;
    if (getifaddrs(&ifs))
        return -errno;
    for (i = ifs; i; i = i->ifa_next) {
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && !strcmp(i->ifa_name, name)) {
            memcpy(&s->in4, i->ifa_addr, sizeof(s->in4));
            rc = 0;
            break;
        }
    }
    freeifaddrs(ifs);
    return rc;
}

/* The MTU of the interface that holds address s, or 0 if none does. */
static uint32_t udp_addr_mtu(const udp_sa_t *s)
{
    struct ifaddrs *ifs, *i;
    uint32_t mtu = 0;
    if (getifaddrs(&ifs))
        return 0;
    for (i = ifs; i && !mtu; i = i->ifa_next) {
        const udp_sa_t *a = (const udp_sa_t *)i->ifa_addr;
        if (!a || a->sa.sa_family != s->sa.sa_family)
            continue;
        int same = a->sa.sa_family == AF_INET ? a->in4.sin_addr.s_addr == s->in4.sin_addr.s_addr
                                              : !memcmp(&a->in6.sin6_addr, &s->in6.sin6_addr, 16);
        if (!same)
            continue;
        struct ifreq ifr;
        memset(&ifr, 0, sizeof(ifr));
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", i->ifa_name);
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        if (fd >= 0 && ioctl(fd, SIOCGIFMTU, &ifr) == 0)
            mtu = (uint32_t)ifr.ifr_mtu;
        if (fd >= 0)
            close(fd);
    }
    freeifaddrs(ifs);
    return mtu;
}

/* Resolve the bind address from the config and TIDE_UDP_ADDR. */
static int udp_local_addr(const tide_wire_config_t *cfg, udp_sa_t *s, socklen_t *len)
{
    const char *spec = cfg->device ? cfg->device : tide_param_str(&tide_param_udp_addr);
    char item[128];
    tide_wire_list_item(spec && *spec ? spec : "127.0.0.1",
                        cfg->local_rank > 0 ? cfg->local_rank : 0, item, sizeof(item));
    memset(s, 0, sizeof(*s));
    if (inet_pton(AF_INET, item, &s->in4.sin_addr) == 1) {
        s->in4.sin_family = AF_INET;
    } else if (inet_pton(AF_INET6, item, &s->in6.sin6_addr) == 1) {
        s->in6.sin6_family = AF_INET6;
    } else if (udp_if_addr(item, s)) {
        tide_error("udp wire: '%s' is neither an IP address nor an interface with an IPv4 "
                   "address (TIDE_UDP_ADDR)",
                   item);
        return -ENODEV;
    }
    if (s->sa.sa_family == AF_INET6 ? IN6_IS_ADDR_UNSPECIFIED(&s->in6.sin6_addr)
                                    : s->in4.sin_addr.s_addr == INADDR_ANY) {
        tide_error("udp wire: cannot bind to the wildcard address '%s': peers need a real "
                   "address (TIDE_UDP_ADDR)",
                   item);
        return -EINVAL;
    }
    *len = s->sa.sa_family == AF_INET ? sizeof(s->in4) : sizeof(s->in6);
    if (s->sa.sa_family == AF_INET)
        s->in4.sin_port = htons(cfg->endpoint);
    else
        s->in6.sin6_port = htons(cfg->endpoint);
    return 0;
}

/* ---- open and close ---- */

static int udp_socket_setup(udp_wire_t *u, udp_sa_t *s, socklen_t len)
{
    char str[80];
    int one = 1, buf = (int)tide_param_int(&tide_param_udp_sockbuf);
    u->fd = socket(s->sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (u->fd < 0) {
        int e = errno;
        tide_error("udp wire: socket: %s", strerror(e));
        return -e;
    }
    setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
    setsockopt(u->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
    setsockopt(u->fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
    if (bind(u->fd, &s->sa, len)) {
        int e = errno;
        udp_addr_make(&u->base.addr, s);
        tide_error("udp wire: bind to %s: %s", tide_wire_addr_str(&u->base.addr, str, sizeof(str)),
                   strerror(e));
        return -e;
    }
    if (getsockname(u->fd, &s->sa, &len)) {
        int e = errno;
        tide_error("udp wire: getsockname: %s", strerror(e));
        return -e;
    }
    udp_addr_make(&u->base.addr, s);
    return 0;
}

static int udp_bufs_alloc(udp_wire_t *u)
{
    int64_t n = tide_param_int(&tide_param_udp_rx_frames);
    u->nbufs = n < UDP_BATCH ? UDP_BATCH : (uint32_t)n;
    u->buf_size = u->base.max_payload;
    u->bufs = malloc((size_t)u->nbufs * u->buf_size);
    u->srcs = calloc(u->nbufs, sizeof(*u->srcs));
    u->free_bufs = malloc(u->nbufs * sizeof(*u->free_bufs));
    if (!u->bufs || !u->srcs || !u->free_bufs) {
        tide_error("udp wire: out of memory for %u receive buffers", u->nbufs);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < u->nbufs; i++)
        u->free_bufs[i] = u->nbufs - 1 - i;
    u->nfree = u->nbufs;
    return 0;
}

static void udp_free(udp_wire_t *u)
{
    if (u->fd >= 0)
        close(u->fd);
    free(u->bufs);
    free(u->srcs);
    free(u->free_bufs);
    free(u->peers);
    tide_hash_fini(&u->peer_of);
    free(u);
}

static int udp_open(const tide_wire_config_t *cfg, tide_wire_t **out)
{
    udp_sa_t s;
    socklen_t len;
    int rc = udp_local_addr(cfg, &s, &len);
    if (rc)
        return rc;
    udp_wire_t *u = calloc(1, sizeof(*u));
    if (!u) {
        tide_error("udp wire: out of memory");
        return -ENOMEM;
    }
    u->fd = -1;
    tide_hash_init(&u->peer_of);
    u->family = s.sa.sa_family;
    uint32_t hdr = u->family == AF_INET ? 28 : 48;
    uint32_t mtu = (uint32_t)tide_param_int(&tide_param_udp_mtu), ifmtu = udp_addr_mtu(&s);
    if (ifmtu && ifmtu < mtu)
        mtu = ifmtu;
    if (mtu > 65535)
        mtu = 65535;
    u->base.ops = &tide_wire_udp_ops;
    u->base.kind = TIDE_WIRE_UDP;
    u->base.max_payload = mtu > hdr ? mtu - hdr : 0;
    u->base.clock = cfg->clock ? cfg->clock : &tide_clock_mono;
    rc = udp_socket_setup(u, &s, len);
    if (!rc)
        rc = udp_bufs_alloc(u);
    if (rc) {
        udp_free(u);
        return rc;
    }
    *out = &u->base;
    return 0;
}

static void udp_close(tide_wire_t *w)
{
    udp_free(udp(w));
}

static int udp_peer_add(tide_wire_t *w, const tide_wire_addr_t *a, uint32_t *peer_out)
{
    udp_wire_t *u = udp(w);
    udp_sa_t s;
    socklen_t len;
    if (udp_addr_parse(a, &s, &len) || s.sa.sa_family != u->family) {
        char str[80];
        tide_error("udp wire: cannot reach %s from an %s endpoint",
                   tide_wire_addr_str(a, str, sizeof(str)), u->family == AF_INET ? "IPv4" : "IPv6");
        return -EINVAL;
    }
    uint64_t key = udp_sa_key(&s);
    uintptr_t have = (uintptr_t)tide_hash_get(&u->peer_of, key);
    if (have && udp_sa_equal(&u->peers[have - 1].sa, &s)) {
        *peer_out = (uint32_t)(have - 1);
        return 0;
    }
    if (u->npeers == u->peers_cap) {
        uint32_t cap = u->peers_cap ? 2 * u->peers_cap : 16;
        udp_peer_t *p = realloc(u->peers, cap * sizeof(*p));
        if (!p) {
            tide_error("udp wire: out of memory adding a peer");
            return -ENOMEM;
        }
        u->peers = p;
        u->peers_cap = cap;
    }
    if (!have && tide_hash_put(&u->peer_of, key, (void *)(uintptr_t)(u->npeers + 1))) {
        tide_error("udp wire: out of memory adding a peer");
        return -ENOMEM;
    }
    u->peers[u->npeers].sa = s;
    u->peers[u->npeers].salen = len;
    *peer_out = u->npeers++;
    return 0;
}

/* ---- send ---- */

/* Fill one mmsghdr for tx; 0 or -EINVAL/-EMSGSIZE (logged). */
static int udp_tx_prepare(udp_wire_t *u, const tide_wire_tx_t *tx, struct mmsghdr *m)
{
    size_t len = 0;
    if (tx->peer >= u->npeers || tx->iovcnt > TIDE_WIRE_MAX_IOV) {
        tide_error("udp wire: bad send (peer handle %u of %u, %u iovecs)", tx->peer, u->npeers,
                   tx->iovcnt);
        return -EINVAL;
    }
    for (uint32_t i = 0; i < tx->iovcnt; i++)
        len += tx->iov[i].iov_len;
    if (len > u->base.max_payload) {
        tide_error("udp wire: frame of %zu bytes exceeds max payload %u", len, u->base.max_payload);
        return -EMSGSIZE;
    }
    memset(m, 0, sizeof(*m));
    m->msg_hdr.msg_name = &u->peers[tx->peer].sa;
    m->msg_hdr.msg_namelen = u->peers[tx->peer].salen;
    m->msg_hdr.msg_iov = (struct iovec *)tx->iov;
    m->msg_hdr.msg_iovlen = tx->iovcnt;
    return 0;
}

static int udp_send_burst(tide_wire_t *w, const tide_wire_tx_t *tx, int n)
{
    udp_wire_t *u = udp(w);
    struct mmsghdr m[UDP_BATCH];
    int done = 0, bad = 0;
    while (done < n && !bad) {
        int k = 0;
        while (k < UDP_BATCH && done + k < n && !(bad = udp_tx_prepare(u, &tx[done + k], &m[k])))
            k++;
        if (k == 0)
            break;
        int sent = sendmmsg(u->fd, m, (unsigned)k, MSG_DONTWAIT);
        if (sent < 0) {
            int e = errno;
            if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS || e == EINTR)
                return done;
            u->base.stats.tx_errors++;
            tide_error("udp wire: sendmmsg: %s", strerror(e));
            return done ? done : -e;
        }
        for (int i = 0; i < sent; i++) {
            u->base.stats.tx_frames++;
            u->base.stats.tx_bytes += m[i].msg_len;
        }
        done += sent;
        if (sent < k)
            return done;
    }
    if (bad) {
        u->base.stats.tx_errors++;
        return done ? done : bad;
    }
    return done;
}

/* ---- receive ---- */

static void udp_rx_ovfl(udp_wire_t *u, struct msghdr *h)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
            uint32_t v;
            memcpy(&v, CMSG_DATA(c), sizeof(v));
            u->base.stats.rx_dropped_kernel += (uint32_t)(v - u->last_ovfl);
            u->last_ovfl = v;
        }
    }
}

/* Hand up buffer b holding a datagram of len bytes as frame f. */
static void udp_rx_frame(udp_wire_t *u, uint32_t b, uint32_t len, tide_wire_frame_t *f)
{
    const udp_sa_t *src = &u->srcs[b];
    uintptr_t h = (uintptr_t)tide_hash_get(&u->peer_of, udp_sa_key(src));
    f->data = u->bufs + (size_t)b * u->buf_size;
    f->len = len;
    f->peer =
        h && udp_sa_equal(&u->peers[h - 1].sa, src) ? (uint32_t)(h - 1) : TIDE_WIRE_PEER_UNKNOWN;
    f->priv[0] = b;
    f->priv[1] = 0;
    u->base.stats.rx_frames++;
    u->base.stats.rx_bytes += len;
}

static int udp_recv_burst(tide_wire_t *w, tide_wire_frame_t *f, int max)
{
    udp_wire_t *u = udp(w);
    struct mmsghdr m[UDP_BATCH];
    struct iovec iov[UDP_BATCH];
    uint32_t idx[UDP_BATCH];
    uint8_t cbuf[UDP_BATCH][UDP_CMSG_LEN] __attribute__((aligned(8)));
    int k = max < UDP_BATCH ? max : UDP_BATCH;
    if ((uint32_t)k > u->nfree)
        k = (int)u->nfree;
    if (k <= 0)
        return 0;
    for (int i = 0; i < k; i++) {
        uint32_t b = idx[i] = u->free_bufs[--u->nfree];
        iov[i] = (struct iovec){u->bufs + (size_t)b * u->buf_size, u->buf_size};
        memset(&m[i].msg_hdr, 0, sizeof(m[i].msg_hdr));
        m[i].msg_hdr.msg_name = &u->srcs[b];
        m[i].msg_hdr.msg_namelen = sizeof(u->srcs[b]);
        m[i].msg_hdr.msg_iov = &iov[i];
        m[i].msg_hdr.msg_iovlen = 1;
        m[i].msg_hdr.msg_control = cbuf[i];
        m[i].msg_hdr.msg_controllen = UDP_CMSG_LEN;
    }
    int got = recvmmsg(u->fd, m, (unsigned)k, MSG_DONTWAIT, NULL), e = errno, n = 0;
    for (int i = 0; i < k; i++) {
        if (i < got)
            udp_rx_ovfl(u, &m[i].msg_hdr);
        if (i < got && !(m[i].msg_hdr.msg_flags & MSG_TRUNC))
            udp_rx_frame(u, idx[i], m[i].msg_len, &f[n++]);
        else
            u->base.stats.rx_dropped_bad += i < got; /* longer than any peer may send */
    }
    for (int i = k - 1; i >= 0; i--) /* give back the unused buffers */
        if (i >= got || (m[i].msg_hdr.msg_flags & MSG_TRUNC))
            u->free_bufs[u->nfree++] = idx[i];
    if (got < 0 && e != EAGAIN && e != EWOULDBLOCK && e != EINTR) {
        tide_error("udp wire: recvmmsg: %s", strerror(e));
        return -e;
    }
    return n;
}

static void udp_recv_release(tide_wire_t *w, tide_wire_frame_t *f, int n)
{
    udp_wire_t *u = udp(w);
    for (int i = 0; i < n; i++)
        u->free_bufs[u->nfree++] = (uint32_t)f[i].priv[0];
}

static int udp_frame_src(tide_wire_t *w, const tide_wire_frame_t *f, tide_wire_addr_t *out)
{
    udp_addr_make(out, &udp(w)->srcs[f->priv[0]]);
    return 0;
}

static int udp_get_fd(tide_wire_t *w)
{
    return udp(w)->fd;
}

static void udp_update_stats(tide_wire_t *w)
{
    (void)w; /* SO_RXQ_OVFL arrives with every received datagram */
}

const tide_wire_ops_t tide_wire_udp_ops = {
    .name = "udp",
    .open = udp_open,
    .close = udp_close,
    .peer_add = udp_peer_add,
    .send_burst = udp_send_burst,
    .recv_burst = udp_recv_burst,
    .recv_release = udp_recv_release,
    .frame_src = udp_frame_src,
    .get_fd = udp_get_fd,
    .update_stats = udp_update_stats,
};
