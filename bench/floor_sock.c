/* Kernel socket floor for bench/compare: the same ping-pong and streaming
 * the MPI benchmarks do, on a bare TCP or UDP socket, so the table can say
 * how far each MPI is from what the kernel alone costs on the same veth.
 *
 *   floor_sock [-p tcp|udp] [-m [min:]max] [-i iters] [-x warmup] [-W window]
 *              [-P port] lat|bw server|client [ADDRESS]
 * lat: ping-pong with busy polling (MSG_DONTWAIT), TCP_NODELAY; prints
 *      osu_latency's columns (half the average round trip).
 * bw:  TCP only: the client writes -W messages per iteration, the server
 *      reads them and answers one byte per size; osu_bw's columns (MB/s).
 * Both sides must get the same -m/-i/-x/-W.  The server serves one client
 * and exits.  Not an MPI program: it builds with plain cc. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct fopts {
    int udp, bw, server, port, iters, warmup, window;
    size_t min, max;
    const char *addr;
} fopts_t;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static size_t parse_size(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (*end == 'k' || *end == 'K')
        v *= 1024;
    else if (*end == 'm' || *end == 'M')
        v *= 1024 * 1024;
    return (size_t)v;
}

/* Busy-polled receive of exactly n bytes (one datagram for UDP). */
static int spin_recv(int fd, char *b, size_t n, int udp, double timeout)
{
    size_t got = 0;
    double end = now() + timeout;
    while (got < n || (udp && got == 0)) {
        ssize_t r = recv(fd, b + got, udp ? n : n - got, MSG_DONTWAIT);
        if (r > 0) {
            got += (size_t)r;
            if (udp)
                return 0;
        } else if (r == 0 && !udp) {
            return -1;
        } else if (r < 0 && errno != EAGAIN && errno != EINTR) {
            return -1;
        } else if (now() > end) {
            return -2;
        }
    }
    return 0;
}

static void send_all(int fd, const char *b, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ssize_t r = send(fd, b + off, n - off, MSG_NOSIGNAL);
        if (r > 0)
            off += (size_t)r;
        else if (r < 0 && errno != EAGAIN && errno != EINTR && errno != ENOBUFS)
            die("send");
    }
}

static int open_socket(const fopts_t *o)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
    int one = 1, fd = socket(AF_INET, o->udp ? SOCK_DGRAM : SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (o->server) {
        sa.sin_addr.s_addr = htonl(INADDR_ANY);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
            die("bind");
        if (o->udp)
            return fd;
        if (listen(fd, 1))
            die("listen");
        int c = accept(fd, NULL, NULL);
        if (c < 0)
            die("accept");
        close(fd);
        fd = c;
    } else {
        if (inet_pton(AF_INET, o->addr, &sa.sin_addr) != 1)
            die("address");
        for (int i = 0; connect(fd, (struct sockaddr *)&sa, sizeof(sa)); i++) {
            if (o->udp || i > 300)
                die("connect");
            usleep(20000); /* the server may not listen yet */
            close(fd);
            fd = socket(AF_INET, SOCK_STREAM, 0);
        }
    }
    if (!o->udp)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* UDP server: learn the client from its first datagram, then connect. */
static void udp_accept(int fd, char *b, size_t max)
{
    struct sockaddr_in from;
    socklen_t len = sizeof(from);
    if (recvfrom(fd, b, max, 0, (struct sockaddr *)&from, &len) < 0)
        die("recvfrom");
    if (connect(fd, (struct sockaddr *)&from, len))
        die("connect");
    send_all(fd, b, 1);
}

/* UDP client: say hello until the server answers. */
static void udp_hello(int fd, char *b)
{
    b[0] = 'h';
    do
        send_all(fd, b, 1);
    while (spin_recv(fd, b, 1, 1, 0.2) != 0);
}

static int iters_for(const fopts_t *o, size_t n, int *warm)
{
    *warm = n > 8192 ? o->warmup / 10 + 1 : o->warmup;
    if (n <= 8192)
        return o->iters;
    return o->iters / 10 > 10 ? o->iters / 10 : 10;
}

static void run_lat(const fopts_t *o, int fd, char *b)
{
    if (!o->server)
        printf("# kernel %s socket ping-pong (busy poll)\n%-10s%20s\n", o->udp ? "UDP" : "TCP",
               "# Size", "Latency (us)");
    for (size_t n = o->min; n <= o->max; n *= 2) {
        int warm, iters = iters_for(o, n, &warm);
        double t0 = 0;
        for (int i = 0; i < iters + warm; i++) {
            if (i == warm)
                t0 = now();
            if (o->server) {
                if (spin_recv(fd, b, n, o->udp, 30) != 0)
                    exit(1);
                send_all(fd, b, n);
                continue;
            }
            send_all(fd, b, n);
            int rc = spin_recv(fd, b, n, o->udp, o->udp ? 0.5 : 30);
            if (rc == -2 && o->udp) { /* a lost datagram: try again */
                i--;
                continue;
            }
            if (rc)
                exit(1);
        }
        if (!o->server)
            printf("%-10zu%20.2f\n", n, (now() - t0) * 1e6 / (2.0 * iters));
        fflush(stdout);
    }
}

static void run_bw(const fopts_t *o, int fd, char *b)
{
    if (!o->server)
        printf("# kernel TCP socket streaming\n%-10s%20s\n", "# Size", "Bandwidth (MB/s)");
    for (size_t n = o->min; n <= o->max; n *= 2) {
        int warm, iters = iters_for(o, n, &warm);
        size_t total = n * (size_t)o->window * (size_t)(iters + warm);
        double t0 = now();
        if (o->server) {
            for (size_t got = 0; got < total;) {
                ssize_t r = recv(fd, b, total - got < o->max ? total - got : o->max, 0);
                if (r <= 0)
                    die("recv");
                got += (size_t)r;
            }
            send_all(fd, b, 1);
            continue;
        }
        for (int i = 0; i < (iters + warm) * o->window; i++)
            send_all(fd, b, n);
        if (spin_recv(fd, b, 1, 0, 60))
            exit(1);
        printf("%-10zu%20.2f\n", n, (double)total / (now() - t0) / 1e6);
        fflush(stdout);
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: floor_sock [-p tcp|udp] [-m [min:]max] [-i iters] [-x warmup] "
                    "[-W window] [-P port] lat|bw server|client [ADDRESS]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    fopts_t o = {
        .port = 17000, .iters = 10000, .warmup = 200, .window = 64, .min = 1, .max = 1 << 20};
    int c;
    while ((c = getopt(argc, argv, "p:m:i:x:W:P:")) != -1) {
        switch (c) {
        case 'p': o.udp = !strcmp(optarg, "udp"); break;
        case 'm': {
            char *colon = strchr(optarg, ':');
            o.max = parse_size(colon ? colon + 1 : optarg);
            o.min = colon ? parse_size(optarg) : 1;
            break;
        }
        case 'i': o.iters = atoi(optarg); break;
        case 'x': o.warmup = atoi(optarg); break;
        case 'W': o.window = atoi(optarg); break;
        case 'P': o.port = atoi(optarg); break;
        default: usage();
        }
    }
    if (argc - optind < 2)
        usage();
    o.bw = !strcmp(argv[optind], "bw");
    o.server = !strcmp(argv[optind + 1], "server");
    o.addr = argc - optind > 2 ? argv[optind + 2] : "127.0.0.1";
    o.min = o.min ? o.min : 1;
    if (o.udp && o.max > 65507)
        o.max = 32768; /* the largest power of two a datagram holds */
    if ((o.bw && o.udp) || o.iters < 1 || o.window < 1 || o.min > o.max)
        usage();
    char *b = calloc(1, o.max);
    int fd = open_socket(&o);
    if (o.udp)
        o.server ? udp_accept(fd, b, o.max) : udp_hello(fd, b);
    o.bw ? run_bw(&o, fd, b) : run_lat(&o, fd, b);
    close(fd);
    free(b);
    return 0;
}
