/* The stream stack: one per wire endpoint.  Owns the connection table, the
 * timer wheel and the transmit batch, and runs the progress loop that pulls
 * frames from the wire into tide_stream_input, fires due timers and pushes
 * queued segments out in bursts.  Also the TCB life cycle and the
 * ownership (lock_sock/release_sock) helpers; see tcb.h for the locking. */
#include "config.h"
#include "stream/tcb.h"
#include "stream/stats.h"
#include "util/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

TIDE_PARAM_DEFINE(stream_key, TIDE_PARAM_INT, "STREAM_KEY", "0x7469",
                  "Job key carried by every stream segment when the caller gives none");
TIDE_PARAM_DEFINE(stream_cc, TIDE_PARAM_STRING, "STREAM_CC", "newreno",
                  "Congestion control of new streams: newreno or cubic");
TIDE_PARAM_DEFINE(stream_timer_tick, TIDE_PARAM_TIME, "STREAM_TIMER_TICK", "50us",
                  "Granularity of the stream timer wheel");
TIDE_PARAM_DEFINE(stream_stats, TIDE_PARAM_BOOL, "STATS", "0",
                  "Print stream counters to stderr when a stack is destroyed or at exit");
TIDE_PARAM_DEFINE(stream_stat_shm, TIDE_PARAM_BOOL, "STREAM_STAT_SHM", "1",
                  "Keep stream counters in /dev/shm/tide-stat.PID.N for tide-stat");
TIDE_PARAM_DEFINE(stream_backlog, TIDE_PARAM_INT, "STREAM_BACKLOG", "64",
                  "Frames a busy (user-owned) stream may hold in its backlog; more are "
                  "dropped and counted (max 128)");

static pthread_mutex_t tide_stacks_lock = PTHREAD_MUTEX_INITIALIZER;
static tide_list_t tide_stacks = TIDE_LIST_INIT(tide_stacks);
static int tide_stacks_atexit;

/* ---- connection table and ports ---- */

uint64_t tide_stack_conn_key(uint32_t peer, uint16_t lport, uint16_t rport)
{
    return ((uint64_t)peer << 32) | ((uint64_t)lport << 16) | rport;
}

int tide_stack_conn_insert(tide_stream_stack_t *st, tide_stream_t *s)
{
    s->hkey = tide_stack_conn_key(s->peer, s->lport, s->rport);
    if (tide_hash_get(&st->conns_by_key, s->hkey))
        return -EADDRINUSE;
    int rc = tide_hash_put(&st->conns_by_key, s->hkey, s);
    if (rc == 0)
        s->in_table = 1;
    return rc;
}

void tide_stack_conn_remove(tide_stream_stack_t *st, tide_stream_t *s)
{
    if (s->in_table && tide_hash_get(&st->conns_by_key, s->hkey) == s)
        tide_hash_del(&st->conns_by_key, s->hkey);
    s->in_table = 0;
}

tide_stream_t *tide_stack_conn_lookup(tide_stream_stack_t *st, uint32_t peer, uint16_t lport,
                                      uint16_t rport)
{
    return tide_hash_get(&st->conns_by_key, tide_stack_conn_key(peer, lport, rport));
}

static uintptr_t tide_stack_port_count(tide_stream_stack_t *st, uint16_t port)
{
    return (uintptr_t)tide_hash_get(&st->ports, port);
}

int tide_stack_port_take(tide_stream_stack_t *st, uint16_t port)
{
    return tide_hash_put(&st->ports, port, (void *)(tide_stack_port_count(st, port) + 1));
}

void tide_stack_port_put(tide_stream_stack_t *st, uint16_t port)
{
    uintptr_t n = tide_stack_port_count(st, port);
    if (n <= 1)
        tide_hash_del(&st->ports, port);
    else
        tide_hash_put(&st->ports, port, (void *)(n - 1));
}

/* An unused ephemeral port (32768..60999), taken. */
int tide_stack_port_get(tide_stream_stack_t *st, uint16_t *port)
{
    for (int i = 0; i < 28232; i++) {
        uint16_t p = st->next_port;
        st->next_port = (uint16_t)(p >= 60999 ? 32768 : p + 1);
        if (tide_stack_port_count(st, p) == 0) {
            int rc = tide_stack_port_take(st, p);
            if (rc == 0)
                *port = p;
            return rc;
        }
    }
    tide_error("stream: no free ephemeral port");
    return -EADDRINUSE;
}

uint32_t tide_stack_random(tide_stream_stack_t *st)
{
    /* xorshift64* */
    st->rng ^= st->rng >> 12;
    st->rng ^= st->rng << 25;
    st->rng ^= st->rng >> 27;
    return (uint32_t)((st->rng * 0x2545F4914F6CDD1Dull) >> 32);
}

/* ---- transmit batch ---- */

void tide_stack_tx_flush(tide_stream_stack_t *st)
{
    int n = st->ntx;
    if (n == 0)
        return;
    st->ntx = 0;
    int sent = tide_wire_send_burst(st->wire, st->tx, n);
    if (sent < 0)
        sent = 0;
    if (sent < n)
        TIDE_STAT_ADD(st, tx_wire_drops, (uint64_t)(n - sent));
}

void tide_stack_tx(tide_stream_stack_t *st, uint32_t peer, const tide_seg_t *seg,
                   const struct iovec *iov, int iovcnt)
{
    int i = st->ntx;
    tide_wire_tx_t *tx = &st->tx[i];
    size_t hlen = tide_seg_write_hdr_auth(seg, st->txhdr[i], iov, iovcnt, &st->mac);
    tx->peer = peer;
    tx->iov[0].iov_base = st->txhdr[i];
    tx->iov[0].iov_len = hlen;
    for (int k = 0; k < iovcnt; k++)
        tx->iov[1 + k] = iov[k];
    tx->iovcnt = (uint32_t)(1 + iovcnt);
    TIDE_STAT(st, seg_out);
    if (seg->len) {
        TIDE_STAT(st, data_seg_out);
        TIDE_STAT_ADD(st, bytes_out, seg->len);
    }
    if (++st->ntx == TIDE_TX_BATCH)
        tide_stack_tx_flush(st);
}

/* ---- progress ---- */

/* Refresh the connection table tide-stat reads (at most every 100 ms). */
static void tide_stack_snapshot(tide_stream_stack_t *st, uint64_t now)
{
    tide_stat_shm_t *h = st->shm;
    if (!h || now - st->snap_ns < TIDE_STAT_SNAP_NS)
        return;
    st->snap_ns = now;
    __atomic_store_n(&h->conn_seq, h->conn_seq + 1, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint32_t n = 0;
    tide_list_t *pos;
    tide_list_for_each(pos, &st->conns)
    {
        tide_stream_t *s = tide_container_of(pos, tide_stream_t, all_link);
        if (n < TIDE_STAT_CONNS) {
            tide_stat_conn_t *c = &h->conns[n];
            tide_tcb_info(s, &c->info);
            snprintf(c->cc, sizeof(c->cc), "%s", c->info.cc);
            c->info.cc = NULL;
        }
        n++;
    }
    h->nconns = n;
    h->snap_ns = now;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    __atomic_store_n(&h->conn_seq, h->conn_seq + 1, __ATOMIC_RELEASE);
}

int tide_stack_progress_locked(tide_stream_stack_t *st)
{
    tide_wire_frame_t frames[TIDE_RX_BURST], rel[TIDE_RX_BURST];
    int n = tide_wire_recv_burst(st->wire, frames, TIDE_RX_BURST);
    if (n < 0)
        return n;
    int nrel = 0;
    for (int i = 0; i < n; i++)
        if (!tide_stream_input(st, &frames[i]))
            rel[nrel++] = frames[i];
    if (nrel)
        tide_wire_recv_release(st->wire, rel, nrel);
    uint64_t now = tide_clock_now(st->clock); /* one reading per idle pass */
    int fired = tide_timer_wheel_run_at(&st->wheel, now);
    tide_stack_tx_flush(st);
    tide_stack_snapshot(st, now);
    return n + fired;
}

int tide_stream_stack_progress(tide_stream_stack_t *st)
{
    pthread_mutex_lock(&st->lock);
    int rc = tide_stack_progress_locked(st);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

uint64_t tide_stream_stack_next_timer(tide_stream_stack_t *st)
{
    pthread_mutex_lock(&st->lock);
    uint64_t t = tide_timer_wheel_next(&st->wheel);
    pthread_mutex_unlock(&st->lock);
    return t;
}

/* ---- TCB life cycle ---- */

tide_stream_t *tide_tcb_new(tide_stream_stack_t *st, const tide_stream_sopts_t *o)
{
    tide_stream_t *s = calloc(1, sizeof(*s));
    if (!s) {
        tide_error("stream: out of memory for a connection");
        return NULL;
    }
    s->st = st;
    s->o = *o;
    s->cc = st->cc;
    s->state = TIDE_STREAM_CLOSED;
    s->peer = TIDE_WIRE_PEER_UNKNOWN;
    tide_list_init(&s->synq);
    tide_list_init(&s->acceptq);
    tide_list_init(&s->q_link);
    tide_tcb_timers_init(s);
    tide_list_push_back(&st->conns, &s->all_link);
    st->nconns++;
    return s;
}

int tide_tcb_alloc_buffers(tide_stream_t *s)
{
    s->sb_cap = (uint32_t)s->o.sndbuf;
    s->rb_cap = (uint32_t)s->o.rcvbuf;
    s->sd_cap = 512;
    s->bl_max = (uint32_t)tide_param_int(&tide_param_stream_backlog);
    if (s->bl_max > TIDE_BACKLOG_MAX)
        s->bl_max = TIDE_BACKLOG_MAX;
    s->sb_mem = malloc(s->sb_cap);
    s->rb_mem = malloc(s->rb_cap);
    s->sd = malloc(sizeof(*s->sd) * s->sd_cap);
    s->bl = malloc(sizeof(*s->bl) * (s->bl_max ? s->bl_max : 1));
    if (!s->sb_mem || !s->rb_mem || !s->sd || !s->bl) {
        tide_error("stream: out of memory for %u+%u bytes of stream buffers", s->sb_cap, s->rb_cap);
        return -ENOMEM;
    }
    /* Our window scale: the smallest that fits the buffer in 16 bits. */
    s->rcv_wscale = 0;
    while ((s->rb_cap >> s->rcv_wscale) > 65535 && s->rcv_wscale < 14)
        s->rcv_wscale++;
    return 0;
}

/* ISN and initial send/congestion state for a new connection. */
void tide_tcb_init_seq(tide_stream_t *s)
{
    s->iss = s->st->isn_next ? s->st->isn_next : tide_stack_random(s->st);
    s->snd_una = s->snd_nxt = s->snd_max = s->iss;
    s->snd_end = s->iss + 1; /* SYN occupies iss */
    s->mss = s->st->mss;
    s->rto_ns = (uint64_t)tide_param_int(&tide_param_stream_rto_init);
    s->cwnd = (uint32_t)tide_param_int(&tide_param_stream_init_cwnd) * s->mss;
    s->ssthresh = UINT32_MAX;
    s->cc->init(s);
}

void tide_tcb_set_state(tide_stream_t *s, tide_stream_state_t state)
{
    tide_trace("stream %u->%u: %s -> %s", s->lport, s->rport, tide_stream_state_name(s->state),
               tide_stream_state_name(state));
    if (state == TIDE_STREAM_ESTABLISHED && s->state < TIDE_STREAM_ESTABLISHED)
        TIDE_STAT(s->st, established);
    s->state = state;
}

static void tide_tcb_backlog_release_all(tide_stream_t *s)
{
    while (s->bl_cnt) {
        tide_backlog_ent_t *e = &s->bl[s->bl_head];
        tide_wire_recv_release(s->st->wire, &e->frame, 1);
        s->bl_head = (s->bl_head + 1) % s->bl_max;
        s->bl_cnt--;
        s->st->bl_total--;
    }
}

static void tide_tcb_unlink_parent(tide_stream_t *s)
{
    tide_stream_t *p = s->parent;
    if (!p)
        return;
    tide_list_del(&s->q_link);
    if (s->in_acceptq)
        p->acceptq_len--;
    else
        p->synq_len--;
    s->parent = NULL;
    s->in_acceptq = 0;
}

void tide_tcb_free(tide_stream_t *s)
{
    tide_stream_stack_t *st = s->st;
    tide_tcb_timers_stop(s);
    tide_stack_conn_remove(st, s);
    if (s->listening) {
        tide_hash_del(&st->listeners, s->lport);
        s->listening = 0;
    }
    if (s->bound)
        tide_stack_port_put(st, s->lport);
    tide_tcb_unlink_parent(s);
    if (s->bl)
        tide_tcb_backlog_release_all(s);
    tide_sbuf_fail_zc(s, s->err ? s->err : -EPIPE);
    tide_tcb_complete_posted(s, s->err);
    tide_list_del(&s->all_link);
    st->nconns--;
    TIDE_STAT(st, conns_freed);
    free(s->sb_mem);
    free(s->rb_mem);
    free(s->sd);
    free(s->bl);
    free(s);
}

void tide_tcb_maybe_free(tide_stream_t *s)
{
    if (s->state == TIDE_STREAM_CLOSED && s->user_closed && !s->owned && !s->releasing)
        tide_tcb_free(s);
}

void tide_tcb_fail(tide_stream_t *s, int err)
{
    tide_debug("stream %u->%u: %s in %s", s->lport, s->rport, strerror(-err),
               tide_stream_state_name(s->state));
    if (!s->err)
        s->err = err;
    s->pending_err = err;
    tide_tcb_timers_stop(s);
    tide_stack_conn_remove(s->st, s);
    tide_stack_tx_flush(s->st);
    tide_sbuf_fail_zc(s, err);
    tide_tcb_complete_posted(s, err);
    tide_tcb_set_state(s, TIDE_STREAM_CLOSED);
    if (s->parent) { /* never accepted: nobody will close it */
        tide_tcb_unlink_parent(s);
        s->user_closed = 1;
    }
    tide_tcb_maybe_free(s);
}

void tide_tcb_lock(tide_stream_t *s)
{
    tide_stream_stack_t *st = s->st;
    while (s->owned) {
        pthread_mutex_unlock(&st->lock);
        sched_yield();
        pthread_mutex_lock(&st->lock);
    }
    s->owned = 1;
}

void tide_tcb_release(tide_stream_t *s)
{
    tide_tcb_backlog_drain(s);
    tide_tcb_run_deferred(s);
    if (s->state != TIDE_STREAM_CLOSED && s->state != TIDE_STREAM_LISTEN)
        tide_tcb_output(s);
    s->owned = 0;
    tide_stack_tx_flush(s->st);
    tide_tcb_maybe_free(s);
}

/* ---- stack life cycle ---- */

/* Remove counter files of our dead processes (killed ones cannot unlink
 * their own). */
static void tide_stack_stats_gc(void)
{
    DIR *d = opendir("/dev/shm");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long pid;
        int n;
        if (sscanf(e->d_name, "tide-stat.%ld.%d", &pid, &n) != 2 || pid <= 0)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char path[300];
        struct stat sb;
        snprintf(path, sizeof(path), "/dev/shm/%s", e->d_name);
        if (stat(path, &sb) == 0 && sb.st_uid == geteuid())
            unlink(path);
    }
    closedir(d);
}

static void tide_stack_stats_map(tide_stream_stack_t *st, const tide_stream_stack_opts_t *o)
{
    static int seq;
    st->stats = &st->stats_priv;
    if ((o && o->no_shm_stats) || !tide_param_int(&tide_param_stream_stat_shm))
        return;
    if (seq == 0)
        tide_stack_stats_gc();
    snprintf(st->shm_path, sizeof(st->shm_path), "/dev/shm/tide-stat.%d.%d", (int)getpid(),
             __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
    int fd = open(st->shm_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        tide_debug("stream: no counter file %s: %s", st->shm_path, strerror(errno));
        st->shm_path[0] = '\0';
        return;
    }
    st->shm_len = sizeof(tide_stat_shm_t);
    void *p = MAP_FAILED;
    if (ftruncate(fd, (off_t)st->shm_len) == 0)
        p = mmap(NULL, st->shm_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        unlink(st->shm_path);
        st->shm_path[0] = '\0';
        return;
    }
    tide_stat_shm_t *h = p;
    h->magic = TIDE_STAT_MAGIC;
    h->version = TIDE_STAT_VERSION;
    h->pid = (uint32_t)getpid();
    h->nfields = tide_stats_nfields();
    st->shm = p;
    st->stats = &h->stats;
}

static void tide_stacks_at_exit(void)
{
    pthread_mutex_lock(&tide_stacks_lock);
    tide_list_t *pos;
    tide_list_for_each(pos, &tide_stacks)
    {
        tide_stream_stack_t *st = tide_container_of(pos, tide_stream_stack_t, stacks_link);
        tide_stream_stack_print_stats(st);
        if (st->shm_path[0])
            unlink(st->shm_path);
    }
    pthread_mutex_unlock(&tide_stacks_lock);
}

static uint64_t tide_stack_seed(const tide_stream_stack_opts_t *o)
{
    uint64_t seed = o ? o->seed : 0;
    if (seed == 0) {
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            if (read(fd, &seed, sizeof(seed)) != (ssize_t)sizeof(seed))
                seed = 0;
            close(fd);
        }
        seed ^= tide_time_ns() ^ ((uint64_t)getpid() << 32);
    }
    return seed ? seed : 0x9e3779b97f4a7c15ull;
}

int tide_stream_stack_create(struct tide_wire *wire, const tide_stream_stack_opts_t *opts,
                             tide_stream_stack_t **out)
{
    if (!wire || wire->max_payload < TIDE_SEG_HDR_MAX + 64) {
        tide_error("stream: wire frames too small for stream segments");
        return -EINVAL;
    }
    const char *ccname = opts && opts->cc ? opts->cc : tide_param_str(&tide_param_stream_cc);
    const tide_cc_ops_t *cc = tide_cc_find(ccname);
    if (!cc) {
        tide_error("stream: unknown congestion control \"%s\" (newreno, cubic)", ccname);
        return -EINVAL;
    }
    tide_stream_stack_t *st = calloc(1, sizeof(*st));
    if (!st) {
        tide_error("stream: out of memory for a stack");
        return -ENOMEM;
    }
    st->wire = wire;
    st->clock = opts && opts->clock ? opts->clock : (wire->clock ? wire->clock : &tide_clock_mono);
    int rc = tide_timer_wheel_init(&st->wheel, st->clock,
                                   (uint64_t)tide_param_int(&tide_param_stream_timer_tick), 4096);
    if (rc) {
        tide_error("stream: timer wheel: %s", strerror(-rc));
        free(st);
        return rc;
    }
    pthread_mutex_init(&st->lock, NULL);
    st->key = opts && opts->key ? opts->key : (uint32_t)tide_param_int(&tide_param_stream_key);
    st->cc = cc;
    st->rng = tide_stack_seed(opts);
    st->idle_fn = opts ? opts->idle_fn : NULL;
    st->idle_arg = opts ? opts->idle_arg : NULL;
    if ((rc = tide_mac_init(&st->mac, opts ? opts->mac_key : NULL)) < 0) {
        tide_timer_wheel_fini(&st->wheel);
        pthread_mutex_destroy(&st->lock);
        free(st);
        return rc;
    }
    st->mss = wire->max_payload - TIDE_SEG_HDR_MAX - (st->mac.on ? TIDE_SEG_MAC_LEN : 0);
    if (st->mss > 65535)
        st->mss = 65535;
    st->next_port = (uint16_t)(32768 + tide_stack_random(st) % 28232);
    tide_hash_init(&st->conns_by_key);
    tide_hash_init(&st->listeners);
    tide_hash_init(&st->ports);
    tide_list_init(&st->conns);
    tide_stack_stats_map(st, opts);
    pthread_mutex_lock(&tide_stacks_lock);
    tide_list_push_back(&tide_stacks, &st->stacks_link);
    if (!tide_stacks_atexit) {
        tide_stacks_atexit = 1;
        atexit(tide_stacks_at_exit);
    }
    pthread_mutex_unlock(&tide_stacks_lock);
    *out = st;
    return 0;
}

void tide_stream_stack_destroy(tide_stream_stack_t *st)
{
    if (!st)
        return;
    pthread_mutex_lock(&tide_stacks_lock);
    tide_list_del(&st->stacks_link);
    pthread_mutex_unlock(&tide_stacks_lock);
    tide_stream_stack_print_stats(st); /* with the connections still there */
    pthread_mutex_lock(&st->lock);
    tide_list_t *pos, *tmp;
    tide_list_for_each_safe(pos, tmp, &st->conns)
    {
        tide_stream_t *s = tide_container_of(pos, tide_stream_t, all_link);
        if (s->state >= TIDE_STREAM_SYN_RCVD && s->state != TIDE_STREAM_TIME_WAIT)
            tide_tcb_send_rst(s);
    }
    tide_stack_tx_flush(st);
    while (!tide_list_empty(&st->conns)) {
        tide_stream_t *s = tide_container_of(st->conns.next, tide_stream_t, all_link);
        s->parent = NULL;
        tide_list_init(&s->q_link);
        tide_tcb_free(s);
    }
    pthread_mutex_unlock(&st->lock);
    if (st->shm) {
        munmap(st->shm, st->shm_len);
        unlink(st->shm_path);
    }
    tide_hash_fini(&st->conns_by_key);
    tide_hash_fini(&st->listeners);
    tide_hash_fini(&st->ports);
    tide_timer_wheel_fini(&st->wheel);
    tide_mac_wipe(&st->mac);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

const tide_stream_stats_t *tide_stream_stack_stats(tide_stream_stack_t *st)
{
    return st->stats;
}

void tide_stream_stack_print_stats(tide_stream_stack_t *st)
{
    if (!tide_param_int(&tide_param_stream_stats))
        return;
    char buf[8192];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "tide stream stats (pid %d, key %#x):\n",
                                (int)getpid(), st->key);
    n += tide_stats_format(st->stats, buf + n, sizeof(buf) - n, 0);
    fputs(buf, stderr);
    if (pthread_mutex_trylock(&st->lock) != 0) /* at exit another thread may hold it */
        return;
    tide_list_t *pos;
    tide_list_for_each(pos, &st->conns)
    {
        tide_stream_info_t in;
        tide_tcb_info(tide_container_of(pos, tide_stream_t, all_link), &in);
        fprintf(stderr,
                "  conn %u->%u %s srtt %u us rto %u us cwnd %u ssthresh %u acked %llu "
                "received %llu retrans %llu rto_fires %llu\n",
                in.lport, in.rport, tide_stream_state_name(in.state), in.srtt_us, in.rto_us,
                in.cwnd, in.ssthresh, (unsigned long long)in.bytes_acked,
                (unsigned long long)in.bytes_received, (unsigned long long)in.retrans_segs,
                (unsigned long long)in.rto_fires);
    }
    pthread_mutex_unlock(&st->lock);
}

int tide_stream_stack_nconns(tide_stream_stack_t *st)
{
    pthread_mutex_lock(&st->lock);
    int n = st->nconns;
    pthread_mutex_unlock(&st->lock);
    return n;
}
