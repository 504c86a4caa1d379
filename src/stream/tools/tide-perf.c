/* tide-perf: an iperf-like tool over the Tide stream engine, on any wire
 * (TIDE_WIRE or -w: udp, eth, roce).  The server prints its wire address as
 * a hex blob (and writes it to -A FILE); the client names it with -c HEX or
 * -c @FILE.
 *
 *   tide-perf -s [-p PORT] [-A FILE] [-1]
 *   tide-perf -c ADDR [-p PORT] [-t SEC] [-P N] [-R] [-V] [-l LEN]
 *   tide-perf -c ADDR -L [-n COUNT] [-l LEN]
 *
 * Bandwidth (default): the client sends for -t seconds on -P streams, the
 * server counts (and with -V checks every byte against the pattern) and
 * reports back.  -R reverses the direction.  -L measures round trips of
 * LEN-byte messages.  Each stream starts with a 32-byte request. */
#include "config.h"
#include "tide/stream.h"
#include "util/clock.h"
#include "wire/wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PERF_MAGIC 0x54505246u
#define PERF_MAXP  64
#define PAT_MOD    251

enum { MODE_SEND = 0, MODE_REVERSE = 1, MODE_LATENCY = 2 };

typedef struct perf_req {
    uint32_t magic, mode, verify, len;
    uint32_t nstreams, index;
    uint64_t duration_ns;
} perf_req_t;

typedef struct perf_res {
    uint64_t bytes, errors;
} perf_res_t;

typedef struct perf_conn {
    tide_stream_t *s;
    uint64_t off, errors;
    int done;
} perf_conn_t;

static uint8_t *pat; /* pat[i] = i % PAT_MOD, PAT_MOD + bufsize long */
static size_t bufsize = 65536;

static void die(const char *what, int rc)
{
    fprintf(stderr, "tide-perf: %s: %s\n", what, strerror(rc < 0 ? -rc : rc));
    exit(1);
}

static void pat_init(void)
{
    pat = malloc(PAT_MOD + bufsize);
    for (size_t i = 0; i < PAT_MOD + bufsize; i++)
        pat[i] = (uint8_t)(i % PAT_MOD);
}

static uint64_t verify_chunk(const uint8_t *p, size_t n, uint64_t off)
{
    return memcmp(p, pat + off % PAT_MOD, n) != 0;
}

static void recv_exact(tide_stream_t *s, void *buf, size_t len)
{
    ssize_t n = tide_stream_recv(s, buf, len, TIDE_STREAM_WAITALL);
    if (n != (ssize_t)len)
        die("short read from peer", n < 0 ? (int)n : EPROTO);
}

static void send_all(tide_stream_t *s, const void *buf, size_t len)
{
    ssize_t n = tide_stream_send(s, buf, len, 0);
    if (n != (ssize_t)len)
        die("send", n < 0 ? (int)n : EIO);
}

/* Send pattern bytes on every stream until the deadline, then SHUT_WR. */
static uint64_t pump_send(tide_stream_stack_t *st, perf_conn_t *c, int n, uint64_t dur, size_t len)
{
    uint64_t end = tide_time_ns() + dur, total = 0;
    while (tide_time_ns() < end) {
        for (int i = 0; i < n; i++) {
            ssize_t k =
                tide_stream_send(c[i].s, pat + c[i].off % PAT_MOD, len, TIDE_STREAM_DONTWAIT);
            if (k > 0) {
                c[i].off += (uint64_t)k;
                total += (uint64_t)k;
            } else if (k != -EAGAIN) {
                die("send", (int)k);
            }
        }
        tide_stream_stack_progress(st);
    }
    for (int i = 0; i < n; i++)
        tide_stream_shutdown(c[i].s, TIDE_STREAM_SHUT_WR);
    return total;
}

/* Receive on every stream until each reaches end of stream. */
static uint64_t pump_recv(tide_stream_stack_t *st, perf_conn_t *c, int n, int verify)
{
    static uint8_t *buf;
    if (!buf)
        buf = malloc(bufsize);
    int left = n;
    uint64_t total = 0;
    while (left) {
        for (int i = 0; i < n; i++) {
            if (c[i].done)
                continue;
            ssize_t k = tide_stream_recv(c[i].s, buf, bufsize, TIDE_STREAM_DONTWAIT);
            if (k > 0) {
                if (verify)
                    c[i].errors += verify_chunk(buf, (size_t)k, c[i].off);
                c[i].off += (uint64_t)k;
                total += (uint64_t)k;
            } else if (k == 0) {
                c[i].done = 1;
                left--;
            } else if (k != -EAGAIN) {
                die("recv", (int)k);
            }
        }
        tide_stream_stack_progress(st);
    }
    return total;
}

static void addr_hex(const tide_wire_addr_t *a, char *out)
{
    for (int i = 0; i < a->len; i++)
        sprintf(out + 2 * i, "%02x", a->bytes[i]);
}

static int addr_parse(const char *arg, tide_wire_addr_t *a)
{
    char text[2 * TIDE_WIRE_ADDR_MAX + 8] = "";
    if (arg[0] == '@') {
        FILE *f = fopen(arg + 1, "r");
        if (!f || !fgets(text, sizeof(text), f)) {
            if (f)
                fclose(f);
            return -1;
        }
        fclose(f);
    } else {
        snprintf(text, sizeof(text), "%s", arg);
    }
    text[strcspn(text, "\r\n ")] = '\0';
    size_t n = strlen(text);
    if (n == 0 || n % 2 || n / 2 > TIDE_WIRE_ADDR_MAX)
        return -1;
    a->len = (uint8_t)(n / 2);
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(text + 2 * i, "%2x", &v) != 1)
            return -1;
        a->bytes[i] = (uint8_t)v;
    }
    return 0;
}

static void serve_latency(perf_conn_t *c, uint32_t len)
{
    uint8_t *buf = malloc(len ? len : 1);
    for (;;) {
        ssize_t k = tide_stream_recv(c->s, buf, len, TIDE_STREAM_WAITALL);
        if (k <= 0)
            break;
        send_all(c->s, buf, (size_t)k);
    }
    free(buf);
}

static void serve_session(tide_stream_stack_t *st, tide_stream_t *ls, tide_stream_t *first)
{
    perf_conn_t c[PERF_MAXP];
    perf_req_t rq;
    memset(c, 0, sizeof(c));
    c[0].s = first;
    recv_exact(first, &rq, sizeof(rq));
    if (rq.magic != PERF_MAGIC || rq.nstreams == 0 || rq.nstreams > PERF_MAXP) {
        fprintf(stderr, "tide-perf: bad request\n");
        tide_stream_close(first);
        return;
    }
    int n = (int)rq.nstreams;
    for (int i = 1; i < n; i++) {
        int rc = tide_stream_accept(ls, &c[i].s, 0);
        if (rc)
            die("accept", rc);
        perf_req_t r2;
        recv_exact(c[i].s, &r2, sizeof(r2));
    }
    uint64_t t0 = tide_time_ns(), total = 0;
    if (rq.mode == MODE_LATENCY) {
        serve_latency(&c[0], rq.len);
    } else if (rq.mode == MODE_SEND) {
        total = pump_recv(st, c, n, (int)rq.verify);
        for (int i = 0; i < n; i++) {
            perf_res_t r = {c[i].off, c[i].errors};
            send_all(c[i].s, &r, sizeof(r));
        }
    } else {
        total = pump_send(st, c, n, rq.duration_ns, rq.len);
        pump_recv(st, c, n, 0); /* wait for the client's end of stream */
    }
    double s = (tide_time_ns() - t0) / 1e9;
    if (rq.mode != MODE_LATENCY)
        printf("server: %d stream(s), %llu bytes in %.3f s = %.3f Gbit/s\n", n,
               (unsigned long long)total, s, total * 8 / s / 1e9);
    for (int i = 0; i < n; i++)
        tide_stream_close(c[i].s);
    fflush(stdout);
}

static int run_server(tide_stream_stack_t *st, tide_wire_t *w, uint16_t port, const char *afile,
                      int once)
{
    char hex[2 * TIDE_WIRE_ADDR_MAX + 1];
    addr_hex(&w->addr, hex);
    tide_stream_t *ls;
    int rc = tide_stream_open(st, &ls);
    if (rc == 0)
        rc = tide_stream_listen(ls, port, 64);
    if (rc)
        die("listen", rc);
    printf("server: listening on port %u, address %s\n", port, hex);
    fflush(stdout);
    if (afile) {
        FILE *f = fopen(afile, "w");
        if (!f)
            die(afile, errno);
        fprintf(f, "%s\n", hex);
        fclose(f);
    }
    do {
        tide_stream_t *c;
        rc = tide_stream_accept(ls, &c, 0);
        if (rc)
            die("accept", rc);
        serve_session(st, ls, c);
    } while (!once);
    /* let the last FINs and ACKs go out */
    uint64_t end = tide_time_ns() + 200000000ull;
    while (tide_time_ns() < end)
        tide_stream_stack_progress(st);
    tide_stream_close(ls);
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int client_latency(perf_conn_t *c, uint32_t len, int count)
{
    uint8_t *buf = malloc(len), *back = malloc(len);
    uint64_t *rtt = malloc(sizeof(*rtt) * (size_t)count);
    memcpy(buf, pat, len);
    for (int i = 0; i < count; i++) {
        uint64_t t = tide_time_ns();
        send_all(c->s, buf, len);
        recv_exact(c->s, back, len);
        rtt[i] = tide_time_ns() - t;
        if (memcmp(buf, back, len) != 0)
            die("echo differs", EIO);
    }
    qsort(rtt, (size_t)count, sizeof(*rtt), cmp_u64);
    double sum = 0;
    for (int i = 0; i < count; i++)
        sum += (double)rtt[i];
    printf("latency: %d round trips of %u bytes: avg %.2f us, min %.2f, p50 %.2f, p99 %.2f\n",
           count, len, sum / count / 1e3, rtt[0] / 1e3, rtt[count / 2] / 1e3,
           rtt[(size_t)count * 99 / 100] / 1e3);
    free(buf);
    free(back);
    free(rtt);
    return 0;
}

static int run_client(tide_stream_stack_t *st, const tide_wire_addr_t *a, uint16_t port,
                      perf_req_t *rq, int count)
{
    perf_conn_t c[PERF_MAXP];
    memset(c, 0, sizeof(c));
    int n = (int)rq->nstreams;
    for (int i = 0; i < n; i++) {
        int rc = tide_stream_open(st, &c[i].s);
        if (rc == 0)
            tide_stream_setopt(c[i].s, TIDE_SO_NODELAY, 1);
        if (rc == 0)
            rc = tide_stream_connect(c[i].s, a, port, 0);
        if (rc)
            die("connect", rc);
        rq->index = (uint32_t)i;
        send_all(c[i].s, rq, sizeof(*rq));
    }
    int bad = 0;
    uint64_t t0 = tide_time_ns();
    if (rq->mode == MODE_LATENCY) {
        client_latency(&c[0], rq->len, count);
    } else if (rq->mode == MODE_SEND) {
        uint64_t total = pump_send(st, c, n, rq->duration_ns, rq->len);
        uint64_t errors = 0, acked = 0;
        for (int i = 0; i < n; i++) {
            perf_res_t r;
            recv_exact(c[i].s, &r, sizeof(r));
            acked += r.bytes;
            errors += r.errors;
            if (r.bytes != c[i].off)
                bad = 1;
        }
        double s = (tide_time_ns() - t0) / 1e9;
        printf("client: sent %llu bytes on %d stream(s) in %.3f s = %.3f Gbit/s; server got "
               "%llu, verify errors %llu%s\n",
               (unsigned long long)total, n, s, total * 8 / s / 1e9, (unsigned long long)acked,
               (unsigned long long)errors, rq->verify ? "" : " (not checked)");
        bad |= errors != 0;
    } else {
        uint64_t total = pump_recv(st, c, n, (int)rq->verify);
        uint64_t errors = 0;
        for (int i = 0; i < n; i++)
            errors += c[i].errors;
        double s = (tide_time_ns() - t0) / 1e9;
        printf("client: received %llu bytes on %d stream(s) in %.3f s = %.3f Gbit/s, verify "
               "errors %llu%s\n",
               (unsigned long long)total, n, s, total * 8 / s / 1e9, (unsigned long long)errors,
               rq->verify ? "" : " (not checked)");
        bad |= errors != 0;
    }
    for (int i = 0; i < n; i++)
        tide_stream_close(c[i].s);
    uint64_t end = tide_time_ns() + 100000000ull;
    while (tide_time_ns() < end)
        tide_stream_stack_progress(st);
    if (bad)
        printf("client: BYTE MISMATCH\n");
    return bad;
}

static void usage(void)
{
    fprintf(stderr, "usage: tide-perf -s [-p PORT] [-A FILE] [-1] [-w WIRE]\n"
                    "       tide-perf -c HEX|@FILE [-p PORT] [-t SEC] [-P N] [-R] [-V] [-l LEN]"
                    " [-w WIRE]\n"
                    "       tide-perf -c HEX|@FILE -L [-n COUNT] [-l LEN]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int server = 0, once = 0, opt, count = 10000;
    const char *caddr = NULL, *afile = NULL, *kind = NULL;
    uint16_t port = 5201;
    perf_req_t rq = {PERF_MAGIC, MODE_SEND, 0, 0, 1, 0, 5000000000ull};
    while ((opt = getopt(argc, argv, "sc:p:A:1t:P:RVl:Ln:w:h")) != -1) {
        switch (opt) {
        case 's': server = 1; break;
        case 'c': caddr = optarg; break;
        case 'p': port = (uint16_t)atoi(optarg); break;
        case 'A': afile = optarg; break;
        case '1': once = 1; break;
        case 't': rq.duration_ns = (uint64_t)(atof(optarg) * 1e9); break;
        case 'P': rq.nstreams = (uint32_t)atoi(optarg); break;
        case 'R': rq.mode = MODE_REVERSE; break;
        case 'V': rq.verify = 1; break;
        case 'l': rq.len = (uint32_t)atoi(optarg); break;
        case 'L': rq.mode = MODE_LATENCY; break;
        case 'n': count = atoi(optarg); break;
        case 'w': kind = optarg; break;
        default: usage();
        }
    }
    if (server == !!caddr || rq.nstreams == 0 || rq.nstreams > PERF_MAXP || count <= 0)
        usage();
    if (rq.len == 0)
        rq.len = rq.mode == MODE_LATENCY ? 8 : 65536;
    if (rq.len > bufsize)
        bufsize = rq.len;
    pat_init();
    tide_wire_config_t wc = {.kind = kind, .local_rank = -1};
    tide_wire_t *w;
    int rc = tide_wire_open(&wc, &w);
    if (rc)
        die("opening the wire", rc);
    tide_stream_stack_t *st;
    rc = tide_stream_stack_create(w, NULL, &st);
    if (rc)
        die("creating the stream stack", rc);
    if (server) {
        rc = run_server(st, w, port, afile, once);
    } else {
        tide_wire_addr_t a;
        if (addr_parse(caddr, &a) < 0) {
            fprintf(stderr, "tide-perf: bad address \"%s\"\n", caddr);
            return 2;
        }
        rc = run_client(st, &a, port, &rq, count);
    }
    tide_stream_stack_destroy(st);
    tide_wire_close(w);
    return rc ? 1 : 0;
}
