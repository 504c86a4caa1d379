/* Soak: random point-to-point traffic among all ranks, every payload
 * checked (test/fault/t-soak.sh; doc/reliability.md).
 *
 *   soak [-s SEED] [-t SECONDS] [-b BYTES] [-m MAXSIZE] [-n MSGS]
 *
 * Rounds until SECONDS have passed or BYTES have been sent job-wide
 * (whichever comes first; rank 0 decides, so all ranks stop together).  Each
 * round's plan is drawn from (SEED, round) by every rank alike: each rank
 * sends up to MSGS messages to random peers (itself included), of random
 * sizes 0 .. MAXSIZE (log-uniform, 5 % empty), random tags, in a random send
 * mode (standard, synchronous, ready, buffered; blocking or nonblocking).
 * The receiver knows the plan, so it checks every message: its size, its
 * tag, every byte (a pattern derived from seed, round, source, destination
 * and the message's sequence number on that pair), and its order:
 *   - "named" rounds post one receive per expected message, naming source
 *     and tag, in the order they are sent: receive j must get message j;
 *   - "any" rounds post MPI_ANY_SOURCE / MPI_ANY_TAG receives: in posting
 *     order each source's messages must appear in sequence (MPI's
 *     non-overtaking rule), none missing, none twice;
 *   - "blocking" rounds send everything nonblocking, then receive with
 *     blocking MPI_Recv per source in order.
 * Receives are posted before a barrier, so ready sends are legal.  A lost,
 * duplicated, reordered or corrupted message is an error; at the end rank 0
 * prints bytes and messages moved, errors, and the transport's counters
 * (MPI_T: retransmissions, CRC drops, ...) summed over ranks.  Exit 0 only
 * with zero errors. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SOAK_MAX_MSGS  64
#define SOAK_BSEND_MAX 65536
#define SOAK_ANY_POOL  ((uint64_t)96 << 20) /* receive memory of an "any" round */

typedef struct {
    int src, dst, tag, mode, blocking;
    uint64_t size, seq; /* seq: number of this message on the (src, dst) pair */
} soak_msg_t;

enum { M_STD, M_SYNC, M_READY, M_BUF, M_NMODES };
enum { R_NAMED, R_ANY, R_BLOCKING };

static int rank, size;
static uint64_t seed = 1, maxsize = 8u << 20;
static int nmsgs = 8;
static uint64_t *pairseq; /* size*size: messages so far per (src, dst) */
static uint64_t errors;

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

typedef struct {
    uint64_t s;
} rng_t;

static uint64_t rnd(rng_t *r)
{
    return mix(r->s++);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The payload of a message: 8-byte words of mix(identity, word index). */
static uint64_t word_of(const soak_msg_t *m, uint64_t round, uint64_t w)
{
    uint64_t id =
        mix(seed ^ mix(round ^ mix(((uint64_t)m->src << 32 | (uint32_t)m->dst) ^ mix(m->seq))));
    return mix(id + w);
}

static void fill(char *b, const soak_msg_t *m, uint64_t round)
{
    uint64_t k = 0;
    for (; k + 8 <= m->size; k += 8) {
        uint64_t v = word_of(m, round, k / 8);
        memcpy(b + k, &v, 8);
    }
    if (k < m->size) {
        uint64_t v = word_of(m, round, k / 8);
        memcpy(b + k, &v, m->size - k);
    }
}

static int intact(const char *b, const soak_msg_t *m, uint64_t round)
{
    uint64_t k = 0;
    for (; k + 8 <= m->size; k += 8) {
        uint64_t v = word_of(m, round, k / 8);
        if (memcmp(b + k, &v, 8))
            return 0;
    }
    if (k < m->size) {
        uint64_t v = word_of(m, round, k / 8);
        if (memcmp(b + k, &v, m->size - k))
            return 0;
    }
    return 1;
}

static uint64_t draw_size(rng_t *r)
{
    if (rnd(r) % 20 == 0)
        return 0;
    int bits = 0;
    while ((1ull << bits) < maxsize)
        bits++;
    uint64_t hi = 1ull << (rnd(r) % (uint64_t)(bits + 1));
    uint64_t s = hi / 2 + rnd(r) % (hi / 2 + 1);
    return s > maxsize ? maxsize : s;
}

/* The round's plan, identical on every rank; messages in send order per
 * source.  Returns the number of messages. */
static int plan(uint64_t round, soak_msg_t *msgs, int *rtype)
{
    rng_t r = {mix(seed) ^ mix(round * 7919)};
    *rtype = (int)(rnd(&r) % 3);
    int n = 0;
    for (int s = 0; s < size; s++) {
        int k = (int)(rnd(&r) % (uint64_t)(nmsgs + 1));
        for (int i = 0; i < k; i++) {
            soak_msg_t *m = &msgs[n++];
            m->src = s;
            m->dst = (int)(rnd(&r) % (uint64_t)size);
            m->tag = (int)(rnd(&r) % 32768);
            m->size = draw_size(&r);
            m->mode = (int)(rnd(&r) % M_NMODES);
            m->blocking = (int)(rnd(&r) % 2);
            if (m->mode == M_BUF && m->size > SOAK_BSEND_MAX)
                m->mode = M_STD;
            if (*rtype == R_BLOCKING) { /* sends must not block: receives come after */
                m->blocking = 0;
                if (m->mode == M_READY)
                    m->mode = M_STD;
            }
            if (m->src == m->dst && m->blocking && m->mode != M_BUF)
                m->blocking = 0; /* a blocking send to oneself before the receive */
            m->seq = pairseq[s * size + m->dst]++;
        }
    }
    return n;
}

static void bad(const char *what, const soak_msg_t *m, uint64_t round)
{
    errors++;
    if (errors <= 20)
        fprintf(stderr, "soak: rank %d round %llu: %s (message %llu from %d, %llu bytes, tag %d)\n",
                rank, (unsigned long long)round, what, (unsigned long long)m->seq, m->src,
                (unsigned long long)m->size, m->tag);
}

static void check_one(const soak_msg_t *m, const char *buf, const MPI_Status *st, uint64_t round,
                      uint64_t *rbytes)
{
    int cnt;
    MPI_Get_count(st, MPI_BYTE, &cnt);
    if (st->MPI_SOURCE != m->src)
        bad("wrong source", m, round);
    else if (st->MPI_TAG != m->tag)
        bad("wrong tag (message out of order?)", m, round);
    else if ((uint64_t)cnt != m->size)
        bad("wrong size (message lost or out of order?)", m, round);
    else if (!intact(buf, m, round))
        bad("payload corrupted", m, round);
    *rbytes += (uint64_t)cnt;
}

static void start_send(const soak_msg_t *m, char *buf, MPI_Request *req)
{
    int n = (int)m->size;
    *req = MPI_REQUEST_NULL;
    if (m->blocking) {
        switch (m->mode) {
        case M_STD: MPI_Send(buf, n, MPI_BYTE, m->dst, m->tag, MPI_COMM_WORLD); break;
        case M_SYNC: MPI_Ssend(buf, n, MPI_BYTE, m->dst, m->tag, MPI_COMM_WORLD); break;
        case M_READY: MPI_Rsend(buf, n, MPI_BYTE, m->dst, m->tag, MPI_COMM_WORLD); break;
        default: MPI_Bsend(buf, n, MPI_BYTE, m->dst, m->tag, MPI_COMM_WORLD); break;
        }
        return;
    }
    switch (m->mode) {
    case M_STD: MPI_Isend(buf, n, MPI_BYTE, m->dst, m->tag, MPI_COMM_WORLD, req); break;
    case M_SYNC: MPI_Issend(buf, n, MPI_BYTE, m->dst, m->tag, MPI_COMM_WORLD, req); break;
    case M_READY: MPI_Irsend(buf, n, MPI_BYTE, m->dst, m->tag, MPI_COMM_WORLD, req); break;
    default: MPI_Ibsend(buf, n, MPI_BYTE, m->dst, m->tag, MPI_COMM_WORLD, req); break;
    }
}

typedef struct {
    soak_msg_t *msgs;
    int n, rtype;
    int *mine_in; /* indices of the messages to us, in send order per source */
    int nin;
    char **rbuf;
    MPI_Request *rreq;
    MPI_Status *rst;
    char **sbuf;
    MPI_Request *sreq;
} soak_round_t;

/* Post the receives of a named or any round (before the barrier). */
static void post_recvs(soak_round_t *R)
{
    uint64_t max = 0;
    for (int i = 0; i < R->nin; i++)
        if (R->msgs[R->mine_in[i]].size > max)
            max = R->msgs[R->mine_in[i]].size;
    if (R->rtype == R_ANY && max * (uint64_t)R->nin > SOAK_ANY_POOL)
        R->rtype = R_NAMED; /* too much memory for same-sized buffers */
    for (int i = 0; i < R->nin; i++) {
        const soak_msg_t *m = &R->msgs[R->mine_in[i]];
        uint64_t cap = R->rtype == R_ANY ? max : m->size;
        R->rbuf[i] = malloc(cap ? cap : 1);
        if (R->rtype == R_ANY)
            MPI_Irecv(R->rbuf[i], (int)cap, MPI_BYTE, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD,
                      &R->rreq[i]);
        else
            MPI_Irecv(R->rbuf[i], (int)cap, MPI_BYTE, m->src, m->tag, MPI_COMM_WORLD, &R->rreq[i]);
    }
}

/* Check an "any" round: in posting order, each source's messages in
 * sequence. */
static void check_any(soak_round_t *R, uint64_t round, uint64_t *rbytes)
{
    int *next = calloc((size_t)size, sizeof(int)); /* next expected, per source */
    for (int i = 0; i < R->nin; i++) {
        int src = R->rst[i].MPI_SOURCE;
        const soak_msg_t *m = NULL;
        int seen = 0;
        for (int j = 0; j < R->nin && src >= 0 && src < size; j++) {
            const soak_msg_t *c = &R->msgs[R->mine_in[j]];
            if (c->src == src && seen++ == next[src]) {
                m = c;
                break;
            }
        }
        if (!m) {
            soak_msg_t fake = {.src = src, .seq = (uint64_t)-1};
            bad("a message nobody sent (duplicate?)", &fake, round);
            continue;
        }
        next[src]++;
        check_one(m, R->rbuf[i], &R->rst[i], round, rbytes);
    }
    free(next);
}

static void one_round(uint64_t round, soak_msg_t *msgs, uint64_t *sbytes, uint64_t *rbytes,
                      uint64_t *nmsg)
{
    soak_round_t R = {.msgs = msgs};
    R.n = plan(round, msgs, &R.rtype);
    int cap = R.n ? R.n : 1;
    R.mine_in = malloc(sizeof(int) * (size_t)cap);
    R.rbuf = calloc((size_t)cap, sizeof(char *));
    R.rreq = malloc(sizeof(MPI_Request) * (size_t)cap);
    R.rst = malloc(sizeof(MPI_Status) * (size_t)cap);
    R.sbuf = calloc((size_t)cap, sizeof(char *));
    R.sreq = malloc(sizeof(MPI_Request) * (size_t)cap);
    for (int i = 0; i < R.n; i++)
        if (msgs[i].dst == rank)
            R.mine_in[R.nin++] = i;
    if (R.rtype != R_BLOCKING)
        post_recvs(&R);
    MPI_Barrier(MPI_COMM_WORLD);
    int ns = 0;
    for (int i = 0; i < R.n; i++) {
        const soak_msg_t *m = &msgs[i];
        if (m->src != rank)
            continue;
        R.sbuf[ns] = malloc(m->size ? m->size : 1);
        fill(R.sbuf[ns], m, round);
        start_send(m, R.sbuf[ns], &R.sreq[ns]);
        *sbytes += m->size;
        (*nmsg)++;
        ns++;
    }
    if (R.rtype == R_BLOCKING) {
        for (int i = 0; i < R.nin; i++) {
            const soak_msg_t *m = &msgs[R.mine_in[i]];
            R.rbuf[i] = malloc(m->size ? m->size : 1);
            MPI_Recv(R.rbuf[i], (int)m->size, MPI_BYTE, m->src, m->tag, MPI_COMM_WORLD, &R.rst[i]);
            check_one(m, R.rbuf[i], &R.rst[i], round, rbytes);
        }
    } else {
        MPI_Waitall(R.nin, R.rreq, R.rst);
        if (R.rtype == R_ANY)
            check_any(&R, round, rbytes);
        else
            for (int i = 0; i < R.nin; i++)
                check_one(&msgs[R.mine_in[i]], R.rbuf[i], &R.rst[i], round, rbytes);
    }
    MPI_Waitall(ns, R.sreq, MPI_STATUSES_IGNORE);
    for (int i = 0; i < R.nin; i++)
        free(R.rbuf[i]);
    for (int i = 0; i < ns; i++)
        free(R.sbuf[i]);
    free(R.mine_in);
    free(R.rbuf);
    free(R.rreq);
    free(R.rst);
    free(R.sbuf);
    free(R.sreq);
}

/* Sum of a transport counter over the ranks (MPI_T); -1 if unknown. */
static const char *pvar_names[] = {
    "tide_stream_bytes_out",     "tide_stream_retrans_segs", "tide_stream_retrans_rto",
    "tide_stream_retrans_fast",  "tide_stream_crc_errors",   "tide_stream_ooo_segs",
    "tide_stream_backlog_drops", "tide_stream_malformed",    "tide_p2p_frames_dropped",
};
#define NPVARS ((int)(sizeof(pvar_names) / sizeof(pvar_names[0])))

static MPI_T_pvar_session pv_ses;
static MPI_T_pvar_handle pv_h[NPVARS];
static int pv_ok[NPVARS];

/* Counters count from their handle's allocation: take them at the start. */
static void pvars_start(void)
{
    int prov;
    if (MPI_T_init_thread(MPI_THREAD_SINGLE, &prov) != MPI_SUCCESS ||
        MPI_T_pvar_session_create(&pv_ses) != MPI_SUCCESS)
        return;
    for (int i = 0; i < NPVARS; i++) {
        int idx, count;
        pv_ok[i] =
            MPI_T_pvar_get_index(pvar_names[i], MPI_T_PVAR_CLASS_COUNTER, &idx) == MPI_SUCCESS &&
            MPI_T_pvar_handle_alloc(pv_ses, idx, NULL, &pv_h[i], &count) == MPI_SUCCESS;
    }
}

static void pvars_read(unsigned long long *vals)
{
    for (int i = 0; i < NPVARS; i++) {
        vals[i] = 0;
        if (pv_ok[i]) {
            MPI_T_pvar_read(pv_ses, pv_h[i], &vals[i]);
            MPI_T_pvar_handle_free(pv_ses, &pv_h[i]);
        }
    }
    MPI_T_pvar_session_free(&pv_ses);
    MPI_T_finalize();
}

int main(int argc, char **argv)
{
    double secs = 10;
    uint64_t bytes_goal = UINT64_MAX;
    int opt;
    while ((opt = getopt(argc, argv, "s:t:b:m:n:")) != -1) {
        switch (opt) {
        case 's': seed = strtoull(optarg, NULL, 0); break;
        case 't': secs = atof(optarg); break;
        case 'b': bytes_goal = strtoull(optarg, NULL, 0); break;
        case 'm': maxsize = strtoull(optarg, NULL, 0); break;
        case 'n': nmsgs = atoi(optarg); break;
        default:
            fprintf(stderr,
                    "usage: soak [-s SEED] [-t SECONDS] [-b BYTES] [-m MAXSIZE] [-n MSGS]\n");
            return 2;
        }
    }
    if (nmsgs < 1 || nmsgs > SOAK_MAX_MSGS || maxsize < 1 || maxsize > (1u << 30)) {
        fprintf(stderr, "soak: -n 1..%d, -m 1..1G\n", SOAK_MAX_MSGS);
        return 2;
    }
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    pairseq = calloc((size_t)size * (size_t)size, sizeof(uint64_t));
    soak_msg_t *msgs = malloc(sizeof(soak_msg_t) * (size_t)size * (SOAK_MAX_MSGS + 1));
    int bsize = SOAK_MAX_MSGS * (SOAK_BSEND_MAX + MPI_BSEND_OVERHEAD);
    char *battach = malloc((size_t)bsize);
    MPI_Buffer_attach(battach, bsize);
    uint64_t sbytes = 0, rbytes = 0, nmsg = 0, round = 0;
    pvars_start();
    double t0 = now();
    int go = 1;
    while (go) {
        one_round(round++, msgs, &sbytes, &rbytes, &nmsg);
        uint64_t total;
        MPI_Allreduce(&sbytes, &total, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
        go = now() - t0 < secs && total < bytes_goal;
        MPI_Bcast(&go, 1, MPI_INT, 0, MPI_COMM_WORLD);
        if (rank == 0 && round % 200 == 0)
            printf("soak: round %llu, %.2f GB, %.0f s\n", (unsigned long long)round,
                   (double)total / 1e9, now() - t0),
                fflush(stdout);
    }
    double el = now() - t0;
    MPI_Buffer_detach(&battach, &bsize);
    free(battach);
    uint64_t loc[4] = {sbytes, rbytes, nmsg, errors}, tot[4];
    MPI_Reduce(loc, tot, 4, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
    unsigned long long pv[NPVARS], pvt[NPVARS];
    pvars_read(pv);
    MPI_Reduce(pv, pvt, NPVARS, MPI_UNSIGNED_LONG_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    uint64_t errs_all = 0;
    MPI_Allreduce(&errors, &errs_all, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) {
        printf("soak: seed %llu, %d ranks, %llu rounds in %.1f s\n", (unsigned long long)seed, size,
               (unsigned long long)round, el);
        printf("soak: sent %llu bytes, received %llu bytes, %llu messages (%.1f MB/s)\n",
               (unsigned long long)tot[0], (unsigned long long)tot[1], (unsigned long long)tot[2],
               (double)tot[0] / el / 1e6);
        printf("soak: errors %llu\n", (unsigned long long)tot[3]);
        for (int i = 0; i < NPVARS; i++)
            printf("soak: %s %llu\n", pvar_names[i], pvt[i]);
    }
    free(msgs);
    free(pairseq);
    MPI_Finalize();
    return errs_all ? 1 : 0;
}
