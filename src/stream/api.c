/* The public socket-like API (include/tide/stream.h).  Each call takes the
 * stack lock, and calls that copy user data take ownership of the TCB
 * (tide_tcb_lock) and copy with the stack lock dropped, so progress in
 * other threads keeps running (frames for this stream go to its backlog).
 * Blocking calls spin on the progress loop, calling the idle hook when a
 * pass found nothing to do. */
#include "config.h"
#include "stream/tcb.h"
#include "util/log.h"

#include <errno.h>
#include <sched.h>
#include <string.h>

TIDE_PARAM_DEFINE(stream_sndbuf, TIDE_PARAM_SIZE, "STREAM_SNDBUF", "1m",
                  "Send buffer per stream (bytes)");
TIDE_PARAM_DEFINE(stream_rcvbuf, TIDE_PARAM_SIZE, "STREAM_RCVBUF", "1m",
                  "Receive buffer per stream; the largest window it advertises (bytes)");
TIDE_PARAM_DEFINE(stream_nodelay, TIDE_PARAM_BOOL, "STREAM_NODELAY", "0",
                  "Disable Nagle's algorithm on new streams");
TIDE_PARAM_DEFINE(stream_keepalive, TIDE_PARAM_BOOL, "STREAM_KEEPALIVE", "0",
                  "Probe idle peers on new streams");
TIDE_PARAM_DEFINE(stream_keepidle, TIDE_PARAM_TIME, "STREAM_KEEPIDLE", "10s",
                  "Idle time before the first keepalive probe");
TIDE_PARAM_DEFINE(stream_keepintvl, TIDE_PARAM_TIME, "STREAM_KEEPINTVL", "1s",
                  "Time between keepalive probes");
TIDE_PARAM_DEFINE(stream_keepcnt, TIDE_PARAM_INT, "STREAM_KEEPCNT", "5",
                  "Unanswered keepalive probes before the stream fails with ETIMEDOUT");

static void tide_api_default_opts(tide_stream_sopts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->rcvlowat = 1;
    o->sndbuf = tide_param_int(&tide_param_stream_sndbuf);
    o->rcvbuf = tide_param_int(&tide_param_stream_rcvbuf);
    o->nodelay = (int)tide_param_int(&tide_param_stream_nodelay);
    o->keepalive = (int)tide_param_int(&tide_param_stream_keepalive);
    o->keepidle = tide_param_int(&tide_param_stream_keepidle);
    o->keepintvl = tide_param_int(&tide_param_stream_keepintvl);
    o->keepcnt = tide_param_int(&tide_param_stream_keepcnt);
}

typedef int (*tide_api_cond_fn)(tide_stream_t *s, void *arg);

/* A progress pass found nothing: call the idle hook, else spin (a frame
 * shows up within microseconds; a yield costs one), yielding now and then
 * so an oversubscribed core still moves. */
static void tide_api_idle(tide_stream_stack_t *st, unsigned *spins)
{
    if (st->idle_fn) {
        st->idle_fn(st->idle_arg);
        return;
    }
    if (++*spins % 64 == 0) {
        sched_yield();
        return;
    }
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* With st->lock held and s not owned: run progress until cond holds or the
 * timeout (ns, <= 0: none) passes.  0 or -EAGAIN. */
static int tide_api_wait(tide_stream_t *s, tide_api_cond_fn cond, void *arg, int64_t timeout)
{
    tide_stream_stack_t *st = s->st;
    uint64_t deadline = timeout > 0 ? tide_clock_now(st->clock) + (uint64_t)timeout : 0;
    unsigned spins = 0;
    while (!cond(s, arg)) {
        if (deadline && tide_clock_now(st->clock) >= deadline)
            return -EAGAIN;
        int n = tide_stack_progress_locked(st);
        if (cond(s, arg))
            break;
        pthread_mutex_unlock(&st->lock);
        if (n <= 0)
            tide_api_idle(st, &spins);
        pthread_mutex_lock(&st->lock);
    }
    return 0;
}

/* Bytes of data the user can read (the FIN is not data). */
static uint32_t tide_api_unread(const tide_stream_t *s)
{
    return s->rcv_nxt - s->rcv_read - (uint32_t)s->eof;
}

/* After the user consumed data: announce a window that grew by at least
 * two segments or half the buffer (RFC 9293 3.8.6.2.2). */
static void tide_api_window_check(tide_stream_t *s)
{
    uint32_t right = s->rcv_read + s->rb_cap;
    uint32_t grow = TIDE_SEQ_GT(right, s->rcv_adv) ? right - s->rcv_adv : 0;
    uint32_t thresh = 2 * s->mss < s->rb_cap / 2 ? 2 * s->mss : s->rb_cap / 2;
    if (tide_tcb_synced(s) && !s->eof && grow >= thresh &&
        s->rcv_adv - s->rcv_nxt < s->rb_cap / 2) {
        s->wnd_update_needed = 1;
        TIDE_STAT(s->st, window_updates);
    }
}

/* ---- open, bind, listen, accept, connect ---- */

int tide_stream_open(tide_stream_stack_t *st, tide_stream_t **out)
{
    tide_stream_sopts_t o;
    tide_api_default_opts(&o);
    pthread_mutex_lock(&st->lock);
    tide_stream_t *s = tide_tcb_new(st, &o);
    pthread_mutex_unlock(&st->lock);
    if (!s)
        return -ENOMEM;
    *out = s;
    return 0;
}

static int tide_api_bind_locked(tide_stream_t *s, uint16_t port)
{
    tide_stream_stack_t *st = s->st;
    if (s->bound)
        return -EINVAL;
    int rc;
    if (port == 0) {
        rc = tide_stack_port_get(st, &port);
    } else if (tide_hash_get(&st->ports, port)) {
        tide_debug("stream: port %u in use", port);
        return -EADDRINUSE;
    } else {
        rc = tide_stack_port_take(st, port);
    }
    if (rc)
        return rc;
    s->lport = port;
    s->bound = 1;
    return 0;
}

int tide_stream_bind(tide_stream_t *s, uint16_t port)
{
    pthread_mutex_lock(&s->st->lock);
    int rc = tide_api_bind_locked(s, port);
    pthread_mutex_unlock(&s->st->lock);
    return rc;
}

int tide_stream_listen(tide_stream_t *s, uint16_t port, int backlog)
{
    tide_stream_stack_t *st = s->st;
    int rc = 0;
    pthread_mutex_lock(&st->lock);
    if (s->state != TIDE_STREAM_CLOSED || s->err)
        rc = -EINVAL;
    else if (!s->bound)
        rc = tide_api_bind_locked(s, port);
    if (rc == 0)
        rc = tide_hash_put(&st->listeners, s->lport, s);
    if (rc == 0) {
        s->listening = 1;
        s->backlog = backlog > 0 ? backlog : 1;
        tide_tcb_set_state(s, TIDE_STREAM_LISTEN);
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int tide_api_acceptable(tide_stream_t *s, void *arg)
{
    (void)arg;
    return s->acceptq_len > 0 || s->state != TIDE_STREAM_LISTEN;
}

int tide_stream_accept(tide_stream_t *ls, tide_stream_t **out, int flags)
{
    tide_stream_stack_t *st = ls->st;
    pthread_mutex_lock(&st->lock);
    int rc = 0;
    if (ls->state != TIDE_STREAM_LISTEN)
        rc = -EINVAL;
    else if (ls->acceptq_len == 0 && (flags & TIDE_STREAM_DONTWAIT))
        rc = -EAGAIN;
    else
        rc = tide_api_wait(ls, tide_api_acceptable, NULL, ls->o.rcvtimeo);
    if (rc == 0 && ls->acceptq_len == 0)
        rc = -EINVAL;
    if (rc == 0) {
        tide_stream_t *c = tide_container_of(ls->acceptq.next, tide_stream_t, q_link);
        tide_list_del(&c->q_link);
        ls->acceptq_len--;
        c->parent = NULL;
        c->in_acceptq = 0;
        c->user_closed = 0;
        *out = c;
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int tide_api_connected(tide_stream_t *s, void *arg)
{
    (void)arg;
    return s->state != TIDE_STREAM_SYN_SENT && s->state != TIDE_STREAM_SYN_RCVD;
}

static int tide_api_connect_start(tide_stream_t *s, const tide_wire_addr_t *addr, uint16_t port)
{
    tide_stream_stack_t *st = s->st;
    if (s->state != TIDE_STREAM_CLOSED || s->sb_mem)
        return s->state == TIDE_STREAM_SYN_SENT ? -EALREADY : -EISCONN;
    int rc = tide_wire_peer_add(st->wire, addr, &s->peer);
    if (rc == 0 && !s->bound)
        rc = tide_api_bind_locked(s, 0);
    if (rc == 0)
        rc = tide_tcb_alloc_buffers(s);
    if (rc)
        return rc;
    s->rport = port;
    rc = tide_stack_conn_insert(st, s);
    if (rc) {
        tide_debug("stream: connection %u->%u exists", s->lport, port);
        return rc;
    }
    tide_tcb_init_seq(s);
    tide_tcb_set_state(s, TIDE_STREAM_SYN_SENT);
    TIDE_STAT(st, active_opens);
    tide_tcb_send_syn(s);
    tide_stack_tx_flush(st);
    return 0;
}

int tide_stream_connect(tide_stream_t *s, const struct tide_wire_addr *addr, uint16_t port,
                        int flags)
{
    tide_stream_stack_t *st = s->st;
    pthread_mutex_lock(&st->lock);
    int rc = tide_api_connect_start(s, addr, port);
    if (rc == 0 && (flags & TIDE_STREAM_DONTWAIT))
        rc = -EINPROGRESS;
    if (rc == 0)
        rc = tide_api_wait(s, tide_api_connected, NULL, s->o.sndtimeo);
    if (rc == 0 && !tide_tcb_synced(s))
        rc = s->err ? s->err : -ECONNREFUSED;
    if (rc != 0 && rc != -EINPROGRESS && rc != -EALREADY && rc != -EISCONN)
        s->pending_err = 0; /* reported by this call */
    pthread_mutex_unlock(&st->lock);
    return rc;
}

/* ---- send ---- */

/* The stream's error if not yet reported, else `after`. */
static int tide_api_take_err(tide_stream_t *s, int after)
{
    if (s->err_sent)
        return after;
    s->err_sent = 1;
    return s->err;
}

/* 0 if s may queue data; else the error to return. */
static int tide_api_send_check(tide_stream_t *s)
{
    if (s->err) /* reported once (by any call), then EPIPE */
        return tide_api_take_err(s, -EPIPE);
    if (s->wr_shut || s->fin_queued)
        return -EPIPE;
    switch (s->state) {
    case TIDE_STREAM_ESTABLISHED:
    case TIDE_STREAM_CLOSE_WAIT:
    case TIDE_STREAM_SYN_SENT:
    case TIDE_STREAM_SYN_RCVD: return 0;
    case TIDE_STREAM_CLOSED:
    case TIDE_STREAM_LISTEN: return -ENOTCONN;
    default: return -EPIPE;
    }
}

static int tide_api_writable(tide_stream_t *s, void *arg)
{
    (void)arg;
    return tide_api_send_check(s) != 0 || (tide_tcb_synced(s) && tide_sbuf_space(s) > 0);
}

/* Append from the iovecs at (*i, *off) while the send buffer has room;
 * called with the TCB owned and the stack unlocked.  Returns bytes taken. */
static size_t tide_api_copy_in(tide_stream_t *s, const struct iovec *iov, int iovcnt, int *i,
                               size_t *off)
{
    size_t copied = 0;
    while (*i < iovcnt) {
        size_t left = iov[*i].iov_len - *off;
        uint32_t want = left > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)left;
        uint32_t n = tide_sbuf_append(s, (const uint8_t *)iov[*i].iov_base + *off, want);
        copied += n;
        *off += n;
        if (*off == iov[*i].iov_len) {
            (*i)++;
            *off = 0;
        }
        if (n < want)
            break;
    }
    return copied;
}

/* No room (or not yet connected): 0 to retry, else the error to return. */
static int tide_api_send_wait(tide_stream_t *s, int flags)
{
    if (flags & TIDE_STREAM_DONTWAIT)
        return -EAGAIN;
    tide_tcb_release(s);
    int rc = tide_api_wait(s, tide_api_writable, NULL, s->o.sndtimeo);
    tide_tcb_lock(s);
    return rc;
}

ssize_t tide_stream_sendv(tide_stream_t *s, const struct iovec *iov, int iovcnt, int flags)
{
    tide_stream_stack_t *st = s->st;
    size_t total = 0, copied = 0, off = 0;
    for (int k = 0; k < iovcnt; k++)
        total += iov[k].iov_len;
    pthread_mutex_lock(&st->lock);
    tide_tcb_lock(s);
    int i = 0;
    ssize_t rc = 0;
    while (copied < total) {
        rc = tide_api_send_check(s);
        if (rc == 0 && (!tide_tcb_synced(s) || tide_sbuf_space(s) == 0)) {
            rc = tide_api_send_wait(s, flags);
            if (rc == 0)
                continue;
        }
        if (rc)
            break;
        pthread_mutex_unlock(&st->lock); /* copy unlocked; the TCB stays ours */
        copied += tide_api_copy_in(s, iov, iovcnt, &i, &off);
        pthread_mutex_lock(&st->lock);
    }
    s->corked = (flags & TIDE_STREAM_MORE) != 0;
    tide_tcb_release(s);
    pthread_mutex_unlock(&st->lock);
    return copied > 0 ? (ssize_t)copied : rc;
}

ssize_t tide_stream_send(tide_stream_t *s, const void *buf, size_t len, int flags)
{
    struct iovec iov = {(void *)buf, len};
    return tide_stream_sendv(s, &iov, 1, flags);
}

int tide_stream_send_zc(tide_stream_t *s, tide_stream_zc_t *zc)
{
    if (zc->len == 0 || zc->len > UINT32_MAX / 4)
        return -EINVAL;
    tide_stream_stack_t *st = s->st;
    pthread_mutex_lock(&st->lock);
    tide_tcb_lock(s);
    zc->done = 0;
    zc->status = 0;
    int rc = tide_api_send_check(s);
    if (rc == 0 && !tide_tcb_synced(s))
        rc = -ENOTCONN;
    if (rc == 0)
        rc = tide_sbuf_append_zc(s, zc);
    tide_tcb_release(s);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int tide_api_zc_done(tide_stream_t *s, void *arg)
{
    (void)s;
    return __atomic_load_n(&((tide_stream_zc_t *)arg)->done, __ATOMIC_ACQUIRE);
}

int tide_stream_wait_zc(tide_stream_t *s, tide_stream_zc_t *zc)
{
    pthread_mutex_lock(&s->st->lock);
    int rc = tide_api_wait(s, tide_api_zc_done, zc, s->o.sndtimeo);
    pthread_mutex_unlock(&s->st->lock);
    return rc ? rc : zc->status;
}

/* ---- receive ---- */

/* Copy n bytes from offset `off` of the unread data. */
static void tide_api_copy_out(tide_stream_t *s, uint32_t off, uint8_t *dst, uint32_t n)
{
    uint32_t pos = (s->rb_head + off) % s->rb_cap;
    uint32_t first = s->rb_cap - pos < n ? s->rb_cap - pos : n;
    memcpy(dst, s->rb_mem + pos, first);
    if (n > first)
        memcpy(dst + first, s->rb_mem, n - first);
}

static void tide_api_consume(tide_stream_t *s, uint32_t n)
{
    s->rcv_read += n;
    s->rb_head = (s->rb_head + n) % s->rb_cap;
    tide_api_window_check(s);
}

static int tide_api_readable(tide_stream_t *s, void *arg)
{
    tide_stream_rxbuf_t *rb = arg;
    if (rb)
        return __atomic_load_n(&rb->done, __ATOMIC_ACQUIRE);
    return tide_api_unread(s) > 0 || s->eof || s->err || s->rd_shut ||
           s->state == TIDE_STREAM_CLOSED;
}

/* 1: no more data will come (EOF, shutdown, error); *rc set. */
static int tide_api_recv_end(tide_stream_t *s, size_t copied, ssize_t *rc)
{
    if (s->rd_shut || s->eof) {
        *rc = (ssize_t)copied;
        return 1;
    }
    if (s->err || s->state == TIDE_STREAM_CLOSED || s->state == TIDE_STREAM_LISTEN) {
        if (copied)
            *rc = (ssize_t)copied;
        else if (s->err)
            *rc = tide_api_take_err(s, 0); /* then end of stream, as Linux */
        else
            *rc = -ENOTCONN;
        return 1;
    }
    return 0;
}

/* Block for more data.  Without PEEK the remainder is posted as a receive
 * buffer so progress copies straight from the frames into it (ucopy). */
static int tide_api_recv_wait(tide_stream_t *s, uint8_t *buf, size_t len, size_t need, int peek,
                              size_t *copied)
{
    int rc;
    if (peek || s->posted_cnt) {
        tide_tcb_release(s);
        rc = tide_api_wait(s, tide_api_readable, NULL, s->o.rcvtimeo);
        tide_tcb_lock(s);
        return rc;
    }
    tide_stream_rxbuf_t rb = {.buf = buf, .len = len, .min = need};
    s->posted[(s->posted_head + s->posted_cnt) % TIDE_POSTED_MAX] = &rb;
    s->posted_cnt++;
    tide_tcb_release(s);
    rc = tide_api_wait(s, tide_api_readable, &rb, s->o.rcvtimeo);
    tide_tcb_lock(s);
    if (!rb.done) { /* timed out: take it back (it is the only one) */
        s->posted_cnt = 0;
    }
    *copied += rb.filled;
    if (rb.filled)
        tide_api_window_check(s);
    if (rb.filled)
        return 0;
    return rb.done ? 0 : rc; /* done empty: EOF or error, seen by the caller's loop */
}

/* Copy what is readable into buf[copied..len); with PEEK from offset
 * `copied` of the unread data, without consuming.  Returns bytes copied. */
static size_t tide_api_recv_copy(tide_stream_t *s, uint8_t *buf, size_t len, size_t copied,
                                 int peek)
{
    uint32_t unread = s->rd_shut ? 0 : tide_api_unread(s);
    size_t have = peek ? (unread > copied ? unread - copied : 0) : unread;
    if (!have || copied >= len)
        return 0;
    uint32_t n = (uint32_t)(have < len - copied ? have : len - copied);
    pthread_mutex_unlock(&s->st->lock); /* copy unlocked; the TCB stays ours */
    tide_api_copy_out(s, peek ? (uint32_t)copied : 0, buf + copied, n);
    pthread_mutex_lock(&s->st->lock);
    if (!peek)
        tide_api_consume(s, n);
    return n;
}

ssize_t tide_stream_recv(tide_stream_t *s, void *buf, size_t len, int flags)
{
    tide_stream_stack_t *st = s->st;
    int peek = (flags & TIDE_STREAM_PEEK) != 0;
    size_t target = len;
    if (!(flags & TIDE_STREAM_WAITALL))
        target = s->o.rcvlowat > 0 && (size_t)s->o.rcvlowat < len ? (size_t)s->o.rcvlowat : 1;
    if (len == 0)
        return 0;
    pthread_mutex_lock(&st->lock);
    tide_tcb_lock(s);
    size_t copied = 0;
    ssize_t rc;
    for (;;) {
        copied += tide_api_recv_copy(s, buf, len, copied, peek);
        if (copied >= target) {
            rc = (ssize_t)copied;
            break;
        }
        if (tide_api_recv_end(s, copied, &rc))
            break;
        if (flags & TIDE_STREAM_DONTWAIT) {
            rc = copied ? (ssize_t)copied : -EAGAIN;
            break;
        }
        int w = tide_api_recv_wait(s, (uint8_t *)buf + copied, len - copied, target - copied, peek,
                                   &copied);
        if (w < 0) {
            rc = copied ? (ssize_t)copied : w;
            break;
        }
    }
    tide_tcb_release(s);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

int tide_stream_post_recv(tide_stream_t *s, tide_stream_rxbuf_t *rb)
{
    tide_stream_stack_t *st = s->st;
    pthread_mutex_lock(&st->lock);
    tide_tcb_lock(s);
    int rc = 0;
    rb->filled = 0;
    rb->done = 0;
    rb->status = 0;
    if (s->posted_cnt == TIDE_POSTED_MAX) {
        rc = -EAGAIN;
    } else if (!tide_tcb_synced(s) && !s->err && s->state != TIDE_STREAM_SYN_SENT &&
               s->state != TIDE_STREAM_SYN_RCVD) {
        rc = -ENOTCONN;
    } else {
        s->posted[(s->posted_head + s->posted_cnt) % TIDE_POSTED_MAX] = rb;
        s->posted_cnt++;
        uint32_t before = s->rcv_read;
        tide_tcb_deliver_posted(s);
        if (s->rcv_read != before)
            tide_api_window_check(s);
        if (s->err || s->rd_shut || (s->eof && tide_api_unread(s) == 0))
            tide_tcb_complete_posted(s, s->err);
    }
    tide_tcb_release(s);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

int tide_stream_wait_rxbuf(tide_stream_t *s, tide_stream_rxbuf_t *rb)
{
    pthread_mutex_lock(&s->st->lock);
    int rc = tide_api_wait(s, tide_api_readable, rb, s->o.rcvtimeo);
    pthread_mutex_unlock(&s->st->lock);
    return rc ? rc : rb->status;
}

/* ---- shutdown and close ---- */

static void tide_api_queue_fin(tide_stream_t *s)
{
    if (s->fin_queued)
        return;
    switch (s->state) {
    case TIDE_STREAM_SYN_RCVD:
    case TIDE_STREAM_ESTABLISHED: tide_tcb_set_state(s, TIDE_STREAM_FIN_WAIT_1); break;
    case TIDE_STREAM_CLOSE_WAIT: tide_tcb_set_state(s, TIDE_STREAM_LAST_ACK); break;
    default: return;
    }
    s->fin_queued = 1;
}

static void tide_api_shut_rd(tide_stream_t *s)
{
    s->rd_shut = 1;
    uint32_t n = tide_api_unread(s);
    TIDE_STAT_ADD(s->st, rcv_after_shutdown_bytes, n);
    tide_api_consume(s, n);
    tide_tcb_complete_posted(s, 0);
}

int tide_stream_shutdown(tide_stream_t *s, int how)
{
    if (how < TIDE_STREAM_SHUT_RD || how > TIDE_STREAM_SHUT_RDWR)
        return -EINVAL;
    tide_stream_stack_t *st = s->st;
    pthread_mutex_lock(&st->lock);
    tide_tcb_lock(s);
    int rc = 0;
    if (!tide_tcb_synced(s) && s->state != TIDE_STREAM_SYN_RCVD) {
        rc = -ENOTCONN;
    } else {
        if (how & TIDE_STREAM_SHUT_RD)
            tide_api_shut_rd(s);
        if (how & TIDE_STREAM_SHUT_WR) {
            s->wr_shut = 1;
            tide_api_queue_fin(s);
        }
    }
    tide_tcb_release(s);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static void tide_api_close_listener(tide_stream_t *ls)
{
    tide_list_t *qs[2] = {&ls->synq, &ls->acceptq};
    for (int q = 0; q < 2; q++)
        while (!tide_list_empty(qs[q])) {
            tide_stream_t *c = tide_container_of(qs[q]->next, tide_stream_t, q_link);
            tide_tcb_send_rst(c);
            tide_tcb_fail(c, -ECONNRESET); /* unlinks and frees the orphan */
        }
    tide_hash_del(&ls->st->listeners, ls->lport);
    ls->listening = 0;
    tide_tcb_set_state(ls, TIDE_STREAM_CLOSED);
}

int tide_stream_close(tide_stream_t *s)
{
    tide_stream_stack_t *st = s->st;
    pthread_mutex_lock(&st->lock);
    tide_tcb_lock(s);
    s->user_closed = 1;
    switch (s->state) {
    case TIDE_STREAM_LISTEN: tide_api_close_listener(s); break;
    case TIDE_STREAM_CLOSED: break;
    case TIDE_STREAM_SYN_SENT:
        tide_tcb_timers_stop(s);
        tide_stack_conn_remove(st, s);
        tide_tcb_set_state(s, TIDE_STREAM_CLOSED);
        break;
    default:
        if (tide_api_unread(s) > 0 && !s->rd_shut) { /* RFC 2525 2.17 */
            TIDE_STAT(st, rst_on_close);
            tide_tcb_send_rst(s);
            s->releasing = 1;
            tide_tcb_fail(s, -ECONNRESET);
            s->releasing = 0;
            break;
        }
        tide_api_queue_fin(s);
        tide_tcb_arm_fin_timeout(s);
        break;
    }
    tide_tcb_complete_posted(s, -EPIPE);
    tide_tcb_release(s); /* frees it once CLOSED */
    pthread_mutex_unlock(&st->lock);
    return 0;
}

int tide_stream_abort(tide_stream_t *s)
{
    tide_stream_stack_t *st = s->st;
    pthread_mutex_lock(&st->lock);
    tide_tcb_lock(s);
    s->user_closed = 1;
    if (s->state == TIDE_STREAM_LISTEN) {
        tide_api_close_listener(s);
    } else if (s->state != TIDE_STREAM_CLOSED) {
        if (tide_tcb_synced(s))
            tide_tcb_send_rst(s);
        s->releasing = 1;
        tide_tcb_fail(s, -ECONNABORTED);
        s->releasing = 0;
    }
    tide_tcb_complete_posted(s, -ECONNABORTED);
    tide_tcb_release(s); /* frees it once CLOSED */
    pthread_mutex_unlock(&st->lock);
    return 0;
}

/* ---- poll ---- */

static short tide_api_revents(tide_stream_t *s, short events)
{
    short r = 0;
    if (s->state == TIDE_STREAM_LISTEN) {
        if (s->acceptq_len)
            r |= TIDE_POLLIN;
        return r & events;
    }
    uint32_t unread = tide_api_unread(s);
    if ((s->rd_shut || s->eof || s->err ||
         unread >= (uint32_t)(s->o.rcvlowat > 0 ? s->o.rcvlowat : 1)) &&
        s->state != TIDE_STREAM_SYN_SENT)
        r |= TIDE_POLLIN;
    if (tide_tcb_synced(s) && tide_api_send_check(s) == 0 && tide_sbuf_space(s) > 0)
        r |= TIDE_POLLOUT;
    r &= events;
    if (s->err)
        r |= TIDE_POLLERR | TIDE_POLLOUT;
    if (s->state == TIDE_STREAM_CLOSED && s->sb_mem)
        r |= TIDE_POLLHUP;
    else if (s->eof && s->fin_queued)
        r |= TIDE_POLLHUP;
    return r;
}

static int tide_api_poll_scan(tide_stream_pollfd_t *fds, int n)
{
    int ready = 0;
    for (int i = 0; i < n; i++) {
        fds[i].revents = fds[i].s ? tide_api_revents(fds[i].s, fds[i].events) : 0;
        if (fds[i].revents)
            ready++;
    }
    return ready;
}

int tide_stream_poll(tide_stream_stack_t *st, tide_stream_pollfd_t *fds, int n, int64_t timeout_ns)
{
    uint64_t deadline = timeout_ns > 0 ? tide_clock_now(st->clock) + (uint64_t)timeout_ns : 0;
    pthread_mutex_lock(&st->lock);
    int ready;
    unsigned spins = 0;
    for (;;) {
        ready = tide_api_poll_scan(fds, n);
        if (ready || timeout_ns == 0 || (deadline && tide_clock_now(st->clock) >= deadline))
            break;
        int k = tide_stack_progress_locked(st);
        if (k < 0) {
            ready = k;
            break;
        }
        pthread_mutex_unlock(&st->lock);
        if (k == 0)
            tide_api_idle(st, &spins);
        pthread_mutex_lock(&st->lock);
    }
    pthread_mutex_unlock(&st->lock);
    return ready;
}

/* ---- options and info ---- */

static int tide_api_setopt_locked(tide_stream_t *s, tide_stream_opt_t opt, int64_t v)
{
    switch (opt) {
    case TIDE_SO_RCVLOWAT: s->o.rcvlowat = v > 0 ? v : 1; return 0;
    case TIDE_SO_RCVTIMEO: s->o.rcvtimeo = v; return 0;
    case TIDE_SO_SNDTIMEO: s->o.sndtimeo = v; return 0;
    case TIDE_SO_SNDBUF:
    case TIDE_SO_RCVBUF:
        if (s->sb_mem)
            return -EISCONN;
        if (v < 4096 || v > (1 << 30))
            return -EINVAL;
        if (opt == TIDE_SO_SNDBUF)
            s->o.sndbuf = v;
        else
            s->o.rcvbuf = v;
        return 0;
    case TIDE_SO_NODELAY: s->o.nodelay = v != 0; return 0;
    case TIDE_SO_KEEPALIVE:
        s->o.keepalive = v != 0;
        if (s->o.keepalive && tide_tcb_synced(s))
            tide_tcb_arm_keepalive(s);
        return 0;
    case TIDE_SO_KEEPIDLE: s->o.keepidle = v; return v > 0 ? 0 : -EINVAL;
    case TIDE_SO_KEEPINTVL: s->o.keepintvl = v; return v > 0 ? 0 : -EINVAL;
    case TIDE_SO_KEEPCNT: s->o.keepcnt = v; return v > 0 ? 0 : -EINVAL;
    case TIDE_SO_LOWLAT: s->o.lowlat = v != 0; return 0;
    default: return -EINVAL;
    }
}

int tide_stream_setopt(tide_stream_t *s, tide_stream_opt_t opt, int64_t val)
{
    pthread_mutex_lock(&s->st->lock);
    int rc = tide_api_setopt_locked(s, opt, val);
    pthread_mutex_unlock(&s->st->lock);
    return rc;
}

int tide_stream_getopt(tide_stream_t *s, tide_stream_opt_t opt, int64_t *val)
{
    int rc = 0;
    pthread_mutex_lock(&s->st->lock);
    switch (opt) {
    case TIDE_SO_RCVLOWAT: *val = s->o.rcvlowat; break;
    case TIDE_SO_RCVTIMEO: *val = s->o.rcvtimeo; break;
    case TIDE_SO_SNDTIMEO: *val = s->o.sndtimeo; break;
    case TIDE_SO_SNDBUF: *val = s->o.sndbuf; break;
    case TIDE_SO_RCVBUF: *val = s->o.rcvbuf; break;
    case TIDE_SO_NODELAY: *val = s->o.nodelay; break;
    case TIDE_SO_KEEPALIVE: *val = s->o.keepalive; break;
    case TIDE_SO_KEEPIDLE: *val = s->o.keepidle; break;
    case TIDE_SO_KEEPINTVL: *val = s->o.keepintvl; break;
    case TIDE_SO_KEEPCNT: *val = s->o.keepcnt; break;
    case TIDE_SO_LOWLAT: *val = s->o.lowlat; break;
    case TIDE_SO_ERROR:
        *val = s->pending_err;
        s->pending_err = 0;
        break;
    case TIDE_SO_STATE: *val = s->state; break;
    default: rc = -EINVAL;
    }
    pthread_mutex_unlock(&s->st->lock);
    return rc;
}

int tide_stream_get_info(tide_stream_t *s, tide_stream_info_t *in)
{
    pthread_mutex_lock(&s->st->lock);
    tide_tcb_info(s, in);
    pthread_mutex_unlock(&s->st->lock);
    return 0;
}

void tide_tcb_info(tide_stream_t *s, tide_stream_info_t *in)
{
    memset(in, 0, sizeof(*in));
    in->state = s->state;
    in->lport = s->lport;
    in->rport = s->rport;
    in->mss = s->mss;
    in->cwnd = s->cwnd;
    in->ssthresh = s->ssthresh;
    in->snd_wnd = s->snd_wnd;
    in->rcv_wnd = s->rb_cap ? tide_tcb_rcv_space(s) : 0;
    in->flight = tide_tcb_flight(s);
    in->sacked = s->sacked_bytes;
    in->srtt_us = (uint32_t)(s->srtt_ns / 1000);
    in->rttvar_us = (uint32_t)(s->rttvar_ns / 1000);
    in->rto_us = (uint32_t)(s->rto_ns / 1000);
    in->backoff = s->backoff;
    in->bytes_acked = s->c_bytes_acked;
    in->bytes_received = s->c_bytes_received;
    in->segs_out = s->c_segs_out;
    in->segs_in = s->c_segs_in;
    in->retrans_segs = s->c_retrans;
    in->rto_fires = s->c_rto_fires;
    in->fast_recoveries = s->c_fast_recoveries;
    in->dup_acks_in = s->c_dup_acks;
    in->ooo_segs = s->c_ooo_segs;
    in->backlog_drops = s->c_backlog_drops;
    in->window_probes = s->c_window_probes;
    in->cc = s->cc->name;
}

uint16_t tide_stream_local_port(tide_stream_t *s)
{
    return s->lport;
}

const char *tide_stream_state_name(int state)
{
    static const char *names[] = {"CLOSED",      "LISTEN",     "SYN-SENT",   "SYN-RCVD",
                                  "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT",
                                  "CLOSING",     "LAST-ACK",   "TIME-WAIT"};
    if (state < 0 || state > TIDE_STREAM_TIME_WAIT)
        return "?";
    return names[state];
}
