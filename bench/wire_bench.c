/* Wire benchmark: what our wires cost, next to a minimal raw AF_PACKET
 * program doing the same thing.
 *
 *   wire_bench [-w WIRE] [-d DEV] -a FILE [-s SIZE] [-n ITERS] [-T SECS] MODE ROLE
 * MODE: ping    ping-pong, prints the half round trip (median and mean)
 *       stream  one-way streaming of SIZE-byte frames in bursts of 32 for
 *               SECS seconds; the receiver reports frames/s and Gbit/s
 *       rawping, rawstream, rawstream-ring  the same on a bare AF_PACKET
 *               socket (TPACKET_V2 RX ring, busy poll; send() per frame for
 *               ping, sendmmsg batches or a TPACKET_V2 TX ring for stream)
 * ROLE: server (writes its address to FILE, answers) or client (reads it).
 * Both sides busy-poll.  Output: one line "RESULT mode wire size value unit". */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/clock.h"
#include "wire/eth.h"
#include "wire/wire.h"

static const char *opt_wire, *opt_dev = "eth0", *opt_addr;
static uint32_t opt_size = 64;
static int opt_iters = 20000, opt_secs = 3;
static uint8_t buf[70000];

/* ---- shared ---- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void write_hex(const char *path, const uint8_t *p, int n)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        exit(2);
    for (int i = 0; i < n; i++)
        fprintf(f, "%02x", p[i]);
    fprintf(f, "\n");
    fclose(f);
    rename(tmp, path);
}

static int read_hex(const char *path, uint8_t *p, int max)
{
    char line[256];
    int n = 0;
    unsigned v;
    for (int i = 0; i < 300 && access(path, F_OK); i++)
        usleep(100000);
    FILE *f = fopen(path, "r");
    if (!f || !fgets(line, sizeof(line), f))
        exit(2);
    fclose(f);
    while (n < max && sscanf(line + 2 * n, "%2x", &v) == 1)
        p[n++] = (uint8_t)v;
    return n;
}

static void print_ping(const char *what, uint64_t *rtt, int n)
{
    uint64_t sum = 0;
    qsort(rtt, (size_t)n, sizeof(*rtt), cmp_u64);
    for (int i = 0; i < n; i++)
        sum += rtt[i];
    printf("RESULT ping %s %u %.2f us (half round trip, median; mean %.2f, p99 %.2f)\n", what,
           opt_size, rtt[n / 2] / 2000.0, sum / (2000.0 * n), rtt[n * 99 / 100] / 2000.0);
}

static void print_stream(const char *what, uint64_t frames, uint64_t ns, uint64_t sent)
{
    double s = ns / 1e9;
    printf("RESULT stream %s %u %.3f Gbit/s (%.0f frames/s received, %llu of %llu sent "
           "frames)\n",
           what, opt_size, frames * (double)opt_size * 8 / s / 1e9, frames / s,
           (unsigned long long)frames, (unsigned long long)sent);
}

/* ---- on a Tide wire ---- */

static tide_wire_t *w_open(void)
{
    tide_wire_t *w;
    tide_wire_config_t c = {.kind = opt_wire, .device = opt_dev, .local_rank = -1};
    if (!strcmp(opt_wire ? opt_wire : "", "udp"))
        c.device = NULL;
    if (tide_wire_open(&c, &w))
        exit(1);
    if (opt_size > w->max_payload)
        opt_size = w->max_payload;
    return w;
}

static uint32_t w_peer(tide_wire_t *w)
{
    tide_wire_addr_t a;
    uint32_t peer;
    a.len = (uint8_t)read_hex(opt_addr, a.bytes, TIDE_WIRE_ADDR_MAX);
    if (tide_wire_peer_add(w, &a, &peer))
        exit(1);
    return peer;
}

static void w_send(tide_wire_t *w, uint32_t peer, const void *p, uint32_t len)
{
    tide_wire_tx_t tx = {.peer = peer, .iovcnt = 1};
    tx.iov[0] = (struct iovec){(void *)p, len};
    while (tide_wire_send_burst(w, &tx, 1) == 0)
        ;
}

/* Wait for one frame; returns its length and first byte. */
static uint32_t w_recv(tide_wire_t *w, uint8_t *first, uint64_t timeout_ns)
{
    tide_wire_frame_t f;
    uint64_t end = tide_time_ns() + timeout_ns;
    while (tide_wire_recv_burst(w, &f, 1) != 1)
        if (tide_time_ns() > end)
            return 0;
    uint32_t len = f.len;
    *first = f.data[0];
    tide_wire_recv_release(w, &f, 1);
    return len;
}

static int w_server(int stream)
{
    tide_wire_t *w = w_open();
    tide_wire_frame_t f[64];
    uint32_t peer = TIDE_WIRE_PEER_UNKNOWN;
    uint64_t frames = 0, t0 = 0, t1 = 0, idle = tide_time_ns() + 30000000000ull;
    write_hex(opt_addr, w->addr.bytes, w->addr.len);
    for (;;) {
        int n = tide_wire_recv_burst(w, f, 64);
        if (n == 0 && tide_time_ns() > idle)
            return 1;
        for (int i = 0; i < n; i++) {
            if (peer == TIDE_WIRE_PEER_UNKNOWN) {
                tide_wire_addr_t src;
                tide_wire_frame_src(w, &f[i], &src);
                tide_wire_peer_add(w, &src, &peer);
            }
            uint8_t kind = f[i].data[0];
            if (kind == 'E') { /* end of a stream: report, then quit */
                uint64_t r[2] = {frames, t1 - t0};
                tide_wire_recv_release(w, f, n);
                for (int k = 0; k < 20; k++)
                    w_send(w, peer, r, sizeof(r));
                tide_wire_close(w);
                return 0;
            }
            if (stream) {
                t1 = tide_time_ns();
                t0 = frames++ ? t0 : t1;
            } else {
                w_send(w, peer, f[i].data, f[i].len);
            }
        }
        if (n)
            tide_wire_recv_release(w, f, n);
    }
}

static void w_finish(tide_wire_t *w, uint32_t peer, uint64_t r[2])
{
    uint8_t end[16] = {'E'}, first;
    for (int tries = 0; tries < 1000; tries++) {
        w_send(w, peer, end, sizeof(end));
        tide_wire_frame_t f;
        uint64_t until = tide_time_ns() + 10000000;
        while (tide_time_ns() < until) {
            if (tide_wire_recv_burst(w, &f, 1) != 1)
                continue;
            first = f.data[0];
            if (f.len == 16 && first != 'E' && r)
                memcpy(r, f.data, 16);
            tide_wire_recv_release(w, &f, 1);
            if (!r || f.len == 16)
                return;
        }
    }
}

static int w_client_ping(void)
{
    tide_wire_t *w = w_open();
    uint32_t peer = w_peer(w);
    uint64_t *rtt = calloc((size_t)opt_iters, sizeof(*rtt));
    uint8_t first;
    memset(buf, 'p', opt_size);
    for (int i = -1000; i < opt_iters; i++) {
        uint64_t t = tide_time_ns();
        w_send(w, peer, buf, opt_size);
        if (!w_recv(w, &first, 1000000000ull)) {
            i--; /* lost: again */
            continue;
        }
        if (i >= 0)
            rtt[i] = tide_time_ns() - t;
    }
    print_ping(w->ops->name, rtt, opt_iters);
    w_finish(w, peer, NULL);
    tide_wire_close(w);
    return 0;
}

static int w_client_stream(void)
{
    tide_wire_t *w = w_open();
    uint32_t peer = w_peer(w);
    tide_wire_tx_t tx[32];
    uint64_t sent = 0, r[2] = {0, 1}, end = tide_time_ns() + (uint64_t)opt_secs * 1000000000ull;
    memset(buf, 's', opt_size);
    for (int i = 0; i < 32; i++) {
        tx[i] = (tide_wire_tx_t){.peer = peer, .iovcnt = 1};
        tx[i].iov[0] = (struct iovec){buf, opt_size};
    }
    while (tide_time_ns() < end) {
        int n = tide_wire_send_burst(w, tx, 32);
        sent += n > 0 ? (uint64_t)n : 0;
    }
    w_finish(w, peer, r);
    print_stream(w->ops->name, r[0], r[1], sent);
    tide_wire_close(w);
    return 0;
}

/* ---- the raw AF_PACKET floor ---- */

typedef struct raw {
    int fd;
    uint8_t mac[6], peer[6];
    uint8_t *ring, *txring;
    uint32_t frame, nframes, head, txhead, txframes;
} raw_t;

#define RAW_TYPE 0x88B6 /* not our EtherType: never mixes with the wires */

static void raw_open(raw_t *r, int txring)
{
    struct ifreq ifr;
    int v = TPACKET_V2, one = 1;
    memset(r, 0, sizeof(*r));
    r->fd = socket(AF_PACKET, SOCK_RAW, htons(RAW_TYPE));
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", opt_dev);
    if (r->fd < 0 || ioctl(r->fd, SIOCGIFINDEX, &ifr)) {
        perror("raw socket");
        exit(1);
    }
    struct sockaddr_ll sll = {
        .sll_family = AF_PACKET, .sll_protocol = htons(RAW_TYPE), .sll_ifindex = ifr.ifr_ifindex};
    ioctl(r->fd, SIOCGIFHWADDR, &ifr);
    memcpy(r->mac, ifr.ifr_hwaddr.sa_data, 6);
    r->frame = 16384;
    r->nframes = 256;
    r->txframes = txring ? 256 : 0;
    struct tpacket_req req = {r->frame, r->nframes, r->frame, r->nframes};
    struct tpacket_req treq = {r->frame, r->txframes, r->frame, r->txframes};
    setsockopt(r->fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v));
    setsockopt(r->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req));
    if (txring)
        setsockopt(r->fd, SOL_PACKET, PACKET_TX_RING, &treq, sizeof(treq));
    setsockopt(r->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
    size_t len = (size_t)r->frame * (r->nframes + r->txframes);
    r->ring = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
    if (r->ring == MAP_FAILED || bind(r->fd, (struct sockaddr *)&sll, sizeof(sll))) {
        perror("raw ring/bind");
        exit(1);
    }
    r->txring = r->ring + (size_t)r->frame * r->nframes;
}

static void raw_send(raw_t *r, const uint8_t *p, uint32_t len)
{
    uint8_t f[70000];
    memcpy(f, r->peer, 6);
    memcpy(f + 6, r->mac, 6);
    f[12] = RAW_TYPE >> 8;
    f[13] = RAW_TYPE & 0xff;
    memcpy(f + 14, p, len);
    while (send(r->fd, f, 14 + len, 0) < 0)
        ;
}

/* Busy-poll the RX ring for one frame: length of its payload, 0 on timeout. */
static uint32_t raw_recv(raw_t *r, uint8_t *copy, uint64_t timeout_ns)
{
    struct tpacket2_hdr *h = (struct tpacket2_hdr *)(r->ring + (size_t)r->head * r->frame);
    uint64_t end = tide_time_ns() + timeout_ns;
    while (!(__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
        if (tide_time_ns() > end)
            return 0;
    uint32_t len = h->tp_snaplen - 14;
    if (copy)
        memcpy(copy, (uint8_t *)h + h->tp_mac + 14, len < 16 ? len : 16);
    __atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    r->head = (r->head + 1) % r->nframes;
    return len;
}

static int raw_server(int stream)
{
    raw_t r;
    uint8_t first[16];
    uint64_t frames = 0, t0 = 0, t1 = 0;
    raw_open(&r, 0);
    write_hex(opt_addr, r.mac, 6);
    int have_peer = 0;
    for (;;) {
        struct tpacket2_hdr *h = (struct tpacket2_hdr *)(r.ring + (size_t)r.head * r.frame);
        uint64_t idle = tide_time_ns() + 30000000000ull;
        while (!(__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
            if (tide_time_ns() > idle)
                return 1;
        uint8_t *pkt = (uint8_t *)h + h->tp_mac;
        uint32_t len = h->tp_snaplen - 14;
        if (!have_peer++)
            memcpy(r.peer, pkt + 6, 6);
        memcpy(first, pkt + 14, 16);
        if (first[0] == 'E') {
            uint64_t res[2] = {frames, t1 - t0};
            for (int k = 0; k < 20; k++)
                raw_send(&r, (uint8_t *)res, 16);
            return 0;
        }
        if (stream) {
            t1 = tide_time_ns();
            t0 = frames++ ? t0 : t1;
        } else {
            raw_send(&r, pkt + 14, len);
        }
        __atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
        r.head = (r.head + 1) % r.nframes;
    }
}

static void raw_finish(raw_t *r, uint64_t res[2])
{
    uint8_t end[16] = {'E'}, got[16];
    for (int tries = 0; tries < 1000; tries++) {
        raw_send(r, end, 16);
        uint32_t len;
        while ((len = raw_recv(r, got, 10000000)))
            if (len == 16 && got[0] != 'E') {
                if (res)
                    memcpy(res, got, 16);
                return;
            }
    }
}

static int raw_client_ping(void)
{
    raw_t r;
    raw_open(&r, 0);
    read_hex(opt_addr, r.peer, 6);
    uint64_t *rtt = calloc((size_t)opt_iters, sizeof(*rtt));
    memset(buf, 'p', opt_size);
    for (int i = -1000; i < opt_iters; i++) {
        uint64_t t = tide_time_ns();
        raw_send(&r, buf, opt_size);
        if (!raw_recv(&r, NULL, 1000000000ull)) {
            i--;
            continue;
        }
        if (i >= 0)
            rtt[i] = tide_time_ns() - t;
    }
    print_ping("raw", rtt, opt_iters);
    raw_finish(&r, NULL);
    return 0;
}

/* Batches of 32 frames: one sendmmsg, or 32 TX ring slots and one send(). */
static uint64_t raw_burst(raw_t *r, int txring, uint8_t *frame, uint32_t len)
{
    if (!txring) {
        struct mmsghdr m[32];
        struct iovec iov = {frame, len};
        memset(m, 0, sizeof(m));
        for (int i = 0; i < 32; i++) {
            m[i].msg_hdr.msg_iov = &iov;
            m[i].msg_hdr.msg_iovlen = 1;
        }
        int n = sendmmsg(r->fd, m, 32, 0);
        return n > 0 ? (uint64_t)n : 0;
    }
    uint64_t n = 0;
    for (int i = 0; i < 32; i++) {
        struct tpacket2_hdr *h = (struct tpacket2_hdr *)(r->txring + (size_t)r->txhead * r->frame);
        if (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) != TP_STATUS_AVAILABLE)
            break;
        uint8_t *d = (uint8_t *)h + TPACKET2_HDRLEN - sizeof(struct sockaddr_ll);
        memcpy(d, frame, len);
        h->tp_len = len;
        __atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
        r->txhead = (r->txhead + 1) % r->txframes;
        n++;
    }
    send(r->fd, NULL, 0, MSG_DONTWAIT);
    return n;
}

static int raw_client_stream(int txring)
{
    raw_t r;
    raw_open(&r, txring);
    read_hex(opt_addr, r.peer, 6);
    uint8_t frame[70000];
    memcpy(frame, r.peer, 6);
    memcpy(frame + 6, r.mac, 6);
    frame[12] = RAW_TYPE >> 8;
    frame[13] = RAW_TYPE & 0xff;
    memset(frame + 14, 's', opt_size);
    uint64_t sent = 0, res[2] = {0, 1}, end = tide_time_ns() + (uint64_t)opt_secs * 1000000000ull;
    while (tide_time_ns() < end)
        sent += raw_burst(&r, txring, frame, 14 + opt_size);
    if (txring) { /* send() on a TX ring socket sends the ring: a plain one */
        usleep(10000);
        close(r.fd);
        raw_open(&r, 0);
        read_hex(opt_addr, r.peer, 6);
    }
    raw_finish(&r, res);
    print_stream(txring ? "raw-txring" : "raw-sendmmsg", res[0], res[1], sent);
    return 0;
}

int main(int argc, char **argv)
{
    int c;
    while ((c = getopt(argc, argv, "w:d:a:s:n:T:")) != -1) {
        switch (c) {
        case 'w': opt_wire = optarg; break;
        case 'd': opt_dev = optarg; break;
        case 'a': opt_addr = optarg; break;
        case 's': opt_size = (uint32_t)atoi(optarg); break;
        case 'n': opt_iters = atoi(optarg); break;
        case 'T': opt_secs = atoi(optarg); break;
        default: return 2;
        }
    }
    if (argc - optind != 2 || !opt_addr || opt_size < 16 || opt_size > 65000 || opt_iters < 1) {
        fprintf(stderr, "usage: wire_bench [-w wire] [-d dev] -a file [-s size>=16] [-n iters] "
                        "[-T secs] ping|stream|rawping|rawstream|rawstream-ring server|client\n");
        return 2;
    }
    const char *mode = argv[optind];
    int server = !strcmp(argv[optind + 1], "server");
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(mode, "ping"))
        return server ? w_server(0) : w_client_ping();
    if (!strcmp(mode, "stream"))
        return server ? w_server(1) : w_client_stream();
    if (!strcmp(mode, "rawping"))
        return server ? raw_server(0) : raw_client_ping();
    if (!strcmp(mode, "rawstream"))
        return server ? raw_server(1) : raw_client_stream(0);
    if (!strcmp(mode, "rawstream-ring"))
        return server ? raw_server(1) : raw_client_stream(1);
    fprintf(stderr, "wire_bench: unknown mode %s\n", mode);
    return 2;
}
