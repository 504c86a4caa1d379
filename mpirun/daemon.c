/* "mpirun --tide-daemon": the daemon mpirun starts on each host of a
 * multi-host job (remote.c), through the launch agent, with the framed
 * protocol of frame.c on its stdin (from mpirun) and stdout (to mpirun);
 * its stderr is the agent's, i.e. reaches the user.
 *
 * It reads the job, places and binds its host's ranks (bind.c), runs the
 * PMIx server for them (server.c, with the relays below for fences,
 * direct modex and aborts), forks them (job.c), forwards their output raw
 * (mpirun cuts lines), feeds rank 0's stdin, forwards signals and failure
 * events, and reports each rank's start and end.  It never judges the job:
 * mpirun does.  When its stdin closes (mpirun is done, or gone) or it gets
 * SIGTERM/SIGINT/SIGHUP, it ends its ranks (SIGTERM, SIGKILL after
 * TIDE_MPIRUN_KILL_GRACE) and exits once all are reaped; no rank outlives
 * it (they also carry PR_SET_PDEATHSIG). */
#include "config.h"
#include "mpirun/mpirun.h"
#include "util/clock.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define DMN_UP   STDOUT_FILENO /* frames to mpirun */
#define DMN_DOWN STDIN_FILENO  /* frames from mpirun */

typedef struct dmn_pending {
    void *cbfunc, *cbdata;
    int used;
} dmn_pending_t;

static struct {
    pthread_mutex_t lock;
    dmn_pending_t *fence; /* FIFO: fences are released in order */
    int nfence, capfence;
    dmn_pending_t *dmx; /* by id */
    int ndmx;
} dmn = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* --- relays, called on the PMIx thread ------------------------------------ */

static void dmn_fence_up(const char *data, size_t len, void *cbfunc, void *cbdata)
{
    pthread_mutex_lock(&dmn.lock);
    if (dmn.nfence == dmn.capfence) {
        int ncap = dmn.capfence ? 2 * dmn.capfence : 4;
        dmn_pending_t *nf = realloc(dmn.fence, (size_t)ncap * sizeof(*nf));
        if (nf == NULL) {
            pthread_mutex_unlock(&dmn.lock);
            tide_error("out of memory for a fence");
            return;
        }
        dmn.fence = nf;
        dmn.capfence = ncap;
    }
    dmn.fence[dmn.nfence++] = (dmn_pending_t){cbfunc, cbdata, 1};
    tide_frame_send(DMN_UP, TIDE_FRAME_FENCE, data, len); /* in FIFO order */
    pthread_mutex_unlock(&dmn.lock);
}

static int dmn_dmodex_up(int rank, void *cbfunc, void *cbdata)
{
    int id = 0;
    pthread_mutex_lock(&dmn.lock);
    while (id < dmn.ndmx && dmn.dmx[id].used)
        id++;
    if (id == dmn.ndmx) {
        dmn_pending_t *nd = realloc(dmn.dmx, (size_t)(dmn.ndmx * 2 + 8) * sizeof(*nd));
        if (nd == NULL) {
            pthread_mutex_unlock(&dmn.lock);
            return -ENOMEM;
        }
        memset(nd + dmn.ndmx, 0, (size_t)(dmn.ndmx + 8) * sizeof(*nd));
        dmn.dmx = nd;
        dmn.ndmx = dmn.ndmx * 2 + 8;
    }
    dmn.dmx[id] = (dmn_pending_t){cbfunc, cbdata, 1};
    pthread_mutex_unlock(&dmn.lock);
    tide_frame_buf_t b = {0};
    tide_frame_put_u32(&b, (uint32_t)id);
    tide_frame_put_u32(&b, (uint32_t)rank);
    int ret = b.bad ? -ENOMEM : tide_frame_send(DMN_UP, TIDE_FRAME_DMODEX_REQ, b.p, b.len);
    tide_frame_buf_free(&b);
    if (ret < 0) {
        pthread_mutex_lock(&dmn.lock);
        dmn.dmx[id].used = 0;
        pthread_mutex_unlock(&dmn.lock);
    }
    return ret;
}

static void dmn_abort_up(int rank, int code, const char *msg)
{
    tide_frame_buf_t b = {0};
    tide_frame_put_u32(&b, (uint32_t)rank);
    tide_frame_put_u32(&b, (uint32_t)code);
    tide_frame_put_str(&b, msg);
    if (!b.bad)
        tide_frame_send(DMN_UP, TIDE_FRAME_ABORT, b.p, b.len);
    tide_frame_buf_free(&b);
}

/* A local rank's data for another host (PMIx thread, once committed). */
static void dmn_dmodex_answer(int status, char *data, size_t len, void *ctx)
{
    tide_frame_buf_t b = {0};
    tide_frame_put_u32(&b, (uint32_t)(uintptr_t)ctx);
    tide_frame_put_u32(&b, (uint32_t)status);
    tide_frame_put_bytes(&b, data, len);
    if (!b.bad)
        tide_frame_send(DMN_UP, TIDE_FRAME_DMODEX_REP, b.p, b.len);
    tide_frame_buf_free(&b);
}

/* --- the job from mpirun ------------------------------------------------------ */

/* Blocking: the first frame, which must be the job. */
static int dmn_read_job(tide_frame_buf_t *in, tide_frame_buf_t *f)
{
    uint32_t type;
    int k;
    while ((k = tide_frame_next(in, &type, f)) == 0) {
        int r = tide_frame_read(DMN_DOWN, in);
        if (r <= 0) {
            tide_error("mpirun daemon: no job received (connection closed)");
            return -EPIPE;
        }
    }
    if (k < 0) /* tide_frame_next said why */
        return -EPROTO;
    if (type != TIDE_FRAME_JOB) {
        tide_error("mpirun daemon: expected a job, got frame type %u", type);
        return -EPROTO;
    }
    return 0;
}

static char **dmn_get_strs(tide_frame_buf_t *f, int *count)
{
    uint32_t n = tide_frame_get_u32(f);
    if (f->bad || n > 1u << 20)
        return NULL;
    char **v = calloc((size_t)n + 1, sizeof(char *));
    for (uint32_t i = 0; v != NULL && i < n; i++)
        v[i] = strdup(tide_frame_get_str(f));
    if (count != NULL)
        *count = (int)n;
    return v;
}

static int dmn_job_ranks(tide_mpirun_job_t *job, tide_frame_buf_t *f)
{
    int *count = calloc((size_t)job->nhosts, sizeof(int));
    job->ranks = calloc((size_t)job->np, sizeof(*job->ranks));
    if (count == NULL || job->ranks == NULL) {
        free(count);
        return -ENOMEM;
    }
    for (int i = 0; i < job->np; i++) {
        uint32_t h = tide_frame_get_u32(f);
        if (h >= (uint32_t)job->nhosts)
            f->bad = 1;
        job->ranks[i].rank = i;
        job->ranks[i].host = f->bad ? 0 : (int)h;
        job->ranks[i].local_rank = f->bad ? 0 : count[h]++;
    }
    free(count);
    return f->bad ? -EPROTO : 0;
}

static int dmn_parse_job(tide_mpirun_job_t *job, tide_mpirun_opts_t *o, tide_frame_buf_t *f)
{
    *o = (tide_mpirun_opts_t){.oversubscribe = 1};
    *job = (tide_mpirun_job_t){.opts = o, .end_rank = -1, .fail_rank = -1, .daemon = 1};
    snprintf(job->nspace, sizeof(job->nspace), "%s", tide_frame_get_str(f));
    job->jobkey = tide_frame_get_u64(f);
    job->np = o->np = (int)tide_frame_get_u32(f);
    job->nhosts = (int)tide_frame_get_u32(f);
    if (f->bad || job->np < 1 || job->nhosts < 1 || job->nhosts > 1 << 20 || job->np > 1 << 24)
        return -EPROTO;
    job->hostnames = calloc((size_t)job->nhosts, sizeof(*job->hostnames));
    if (job->hostnames == NULL)
        return -ENOMEM;
    for (int h = 0; h < job->nhosts; h++)
        snprintf(job->hostnames[h], sizeof(job->hostnames[h]), "%s", tide_frame_get_str(f));
    job->myhost = (int)tide_frame_get_u32(f);
    if (job->myhost >= job->nhosts || dmn_job_ranks(job, f) < 0)
        return -EPROTO;
    snprintf(job->hostname, sizeof(job->hostname), "%s", job->hostnames[job->myhost]);
    o->bind = (tide_mpirun_bind_t)tide_frame_get_u32(f);
    o->map = (tide_mpirun_map_t)tide_frame_get_u32(f);
    o->report_bindings = (int)tide_frame_get_u32(f);
    const char *cwd = tide_frame_get_str(f);
    if (cwd[0] != '\0' && chdir(cwd) < 0)
        tide_warn("[%s] cannot change to %s (%s); ranks start in %s", job->hostname, cwd,
                  strerror(errno), getenv("HOME") ? getenv("HOME") : "/");
    o->envs = dmn_get_strs(f, &o->nenvs);
    o->argv = dmn_get_strs(f, NULL);
    if (f->bad || o->envs == NULL || o->argv == NULL || o->argv[0] == NULL)
        return -EPROTO;
    return 0;
}

/* --- the daemon's loop ---------------------------------------------------------- */

static struct {
    char *buf; /* for rank 0's stdin */
    size_t len, cap;
    int eof;
} dmn_in;

static int dmn_orphan; /* stdin closed or told to stop: end the ranks */

static void dmn_send_out(int rank, int which, const char *p, size_t len)
{
    tide_frame_buf_t b = {0};
    tide_frame_put_u32(&b, (uint32_t)rank);
    tide_frame_put_u32(&b, (uint32_t)which);
    tide_frame_put_bytes(&b, p, len);
    if (!b.bad)
        tide_frame_send(DMN_UP, TIDE_FRAME_OUT, b.p, b.len);
    tide_frame_buf_free(&b);
}

/* Read once from a rank's pipe; 0 when it closed. */
static int dmn_read_rank(int rank, tide_mpirun_ostream_t *s, int which)
{
    char buf[65536];
    ssize_t n = read(s->fd, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 1;
    if (n <= 0) {
        close(s->fd);
        s->fd = -1;
        return 0;
    }
    dmn_send_out(rank, which, buf, (size_t)n);
    return 1;
}

static void dmn_drain(tide_mpirun_rank_t *r)
{
    tide_mpirun_ostream_t *ss[2] = {&r->out, &r->err};
    for (int k = 0; k < 2; k++) {
        if (ss[k]->fd < 0)
            continue;
        fcntl(ss[k]->fd, F_SETFL, O_NONBLOCK);
        while (ss[k]->fd >= 0) {
            char buf[65536];
            ssize_t n = read(ss[k]->fd, buf, sizeof(buf));
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && errno == EAGAIN)
                break; /* a descendant holds it open: the loop goes on reading */
            if (n <= 0) {
                close(ss[k]->fd);
                ss[k]->fd = -1;
                break;
            }
            dmn_send_out(r->rank, k + 1, buf, (size_t)n);
        }
    }
}

void tide_mpirun_daemon_reaped(tide_mpirun_job_t *job, int rank)
{
    tide_mpirun_rank_t *r = &job->ranks[rank];
    dmn_drain(r);
    if (rank == 0 && job->stdin_dst >= 0) {
        close(job->stdin_dst);
        job->stdin_dst = -1;
    }
    tide_frame_buf_t b = {0};
    tide_frame_put_u32(&b, (uint32_t)rank);
    tide_frame_put_u32(&b, (uint32_t)r->wstatus);
    tide_frame_put_u32(&b, (uint32_t)__atomic_load_n(&r->connected, __ATOMIC_SEQ_CST));
    tide_frame_put_u32(&b, (uint32_t)__atomic_load_n(&r->finalized, __ATOMIC_SEQ_CST));
    if (!b.bad)
        tide_frame_send(DMN_UP, TIDE_FRAME_EXIT, b.p, b.len);
    tide_frame_buf_free(&b);
}

static void dmn_stop(tide_mpirun_job_t *job)
{
    if (dmn_orphan)
        return;
    dmn_orphan = 1;
    tide_mpirun_job_signal_all(job, SIGCONT);
    tide_mpirun_job_signal_all(job, SIGTERM);
    job->kill_sent = 1;
    job->kill_deadline_ns = tide_time_ns() + tide_mpirun_job_kill_grace_ns();
}

static void dmn_stdin_frame(tide_mpirun_job_t *job, tide_frame_buf_t *f)
{
    if (f->len == 0) {
        dmn_in.eof = 1;
    } else if (job->stdin_dst >= 0) {
        if (dmn_in.len + f->len > dmn_in.cap) {
            size_t ncap = (dmn_in.len + f->len) * 2;
            char *nb = realloc(dmn_in.buf, ncap);
            if (nb == NULL) {
                tide_error("[%s] out of memory for rank 0's stdin: %zu bytes dropped",
                           job->hostname, f->len);
                return;
            }
            dmn_in.buf = nb;
            dmn_in.cap = ncap;
        }
        memcpy(dmn_in.buf + dmn_in.len, f->p, f->len);
        dmn_in.len += f->len;
    }
    if (dmn_in.eof && dmn_in.len == 0 && job->stdin_dst >= 0) {
        close(job->stdin_dst);
        job->stdin_dst = -1;
    }
}

static void dmn_stdin_write(tide_mpirun_job_t *job)
{
    ssize_t w = write(job->stdin_dst, dmn_in.buf, dmn_in.len);
    if (w < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (w < 0) { /* rank 0 closed its stdin */
        close(job->stdin_dst);
        job->stdin_dst = -1;
        dmn_in.len = 0;
        return;
    }
    memmove(dmn_in.buf, dmn_in.buf + w, dmn_in.len - (size_t)w);
    dmn_in.len -= (size_t)w;
    if (dmn_in.len == 0 && dmn_in.eof) {
        close(job->stdin_dst);
        job->stdin_dst = -1;
    }
}

static void dmn_take(dmn_pending_t *tab, int n, uint32_t id, dmn_pending_t *out)
{
    pthread_mutex_lock(&dmn.lock);
    *out = (dmn_pending_t){0};
    if (id < (uint32_t)n && tab[id].used) {
        *out = tab[id];
        tab[id].used = 0;
    }
    pthread_mutex_unlock(&dmn.lock);
}

static void dmn_fence_release(tide_frame_buf_t *f)
{
    dmn_pending_t p = {0};
    pthread_mutex_lock(&dmn.lock);
    if (dmn.nfence > 0) {
        p = dmn.fence[0];
        memmove(dmn.fence, dmn.fence + 1, (size_t)(--dmn.nfence) * sizeof(*dmn.fence));
    }
    pthread_mutex_unlock(&dmn.lock);
    if (p.used)
        tide_mpirun_server_fence_done(p.cbfunc, p.cbdata, f->p, f->len);
}

static void dmn_frame(tide_mpirun_job_t *job, uint32_t type, tide_frame_buf_t *f)
{
    dmn_pending_t p;
    uint32_t a = 0, b = 0;
    size_t len;
    const char *data;
    switch (type) {
    case TIDE_FRAME_STDIN: dmn_stdin_frame(job, f); break;
    case TIDE_FRAME_FENCE_REL: dmn_fence_release(f); break;
    case TIDE_FRAME_DMODEX_REQ:
        a = tide_frame_get_u32(f);
        b = tide_frame_get_u32(f);
        if (f->bad || b >= (uint32_t)job->np ||
            tide_mpirun_server_dmodex_local(job->nspace, (int)b, dmn_dmodex_answer,
                                            (void *)(uintptr_t)a) < 0)
            dmn_dmodex_answer(-46 /* PMIX_ERR_NOT_FOUND */, NULL, 0, (void *)(uintptr_t)a);
        break;
    case TIDE_FRAME_DMODEX_REP:
        a = tide_frame_get_u32(f);
        b = tide_frame_get_u32(f);
        data = tide_frame_get_bytes(f, &len);
        dmn_take(dmn.dmx, dmn.ndmx, a, &p);
        if (p.used && !f->bad)
            tide_mpirun_server_dmodex_done(p.cbfunc, p.cbdata, (int)b, data, len);
        break;
    case TIDE_FRAME_SIGNAL:
        a = tide_frame_get_u32(f);
        if (!f->bad && a > 0 && a < 65)
            tide_mpirun_job_signal_all(job, (int)a);
        break;
    case TIDE_FRAME_NOTIFY:
        a = tide_frame_get_u32(f);
        if (!f->bad && a < (uint32_t)job->np)
            tide_mpirun_server_notify_failed(job->nspace, (int)a);
        break;
    default: tide_error("[%s] unknown frame %u from mpirun", job->hostname, type);
    }
}

static void dmn_read_down(tide_mpirun_job_t *job, tide_frame_buf_t *in, int *open)
{
    int ret = tide_frame_read(DMN_DOWN, in), k;
    uint32_t type;
    tide_frame_buf_t f;
    while ((k = tide_frame_next(in, &type, &f)) > 0)
        dmn_frame(job, type, &f);
    if (ret <= 0 || k < 0) { /* mpirun is done or gone */
        *open = 0;
        dmn_stop(job);
    }
}

static void dmn_signals(tide_mpirun_job_t *job)
{
    struct signalfd_siginfo si;
    while (read(tide_mpirun_loop_sigfd(), &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGCHLD)
            tide_mpirun_job_reap(job, (pid_t)si.ssi_pid);
        else if (si.ssi_signo == SIGUSR1 || si.ssi_signo == SIGUSR2)
            tide_mpirun_job_signal_all(job, (int)si.ssi_signo);
        else
            dmn_stop(job);
    }
}

static int dmn_pollfds(tide_mpirun_job_t *job, struct pollfd *pfd, int down_open)
{
    int n = 0;
    pfd[n++] = (struct pollfd){.fd = tide_mpirun_loop_sigfd(), .events = POLLIN};
    pfd[n++] = (struct pollfd){.fd = tide_mpirun_server_wake_fd(), .events = POLLIN};
    pfd[n++] = (struct pollfd){.fd = down_open ? DMN_DOWN : -1, .events = POLLIN};
    pfd[n++] = (struct pollfd){.fd = dmn_in.len ? job->stdin_dst : -1, .events = POLLOUT};
    for (int i = 0; i < job->np; i++) {
        pfd[n++] = (struct pollfd){.fd = job->ranks[i].out.fd, .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = job->ranks[i].err.fd, .events = POLLIN};
    }
    return n;
}

/* in: what mpirun sent after the job, already read (frames may follow the
 * job in the same read). */
static void dmn_loop(tide_mpirun_job_t *job, tide_frame_buf_t *in)
{
    struct pollfd *pfd = calloc((size_t)(2 * job->np + 4), sizeof(*pfd));
    int down_open = 1;
    uint32_t type;
    tide_frame_buf_t f;
    while (tide_frame_next(in, &type, &f) > 0)
        dmn_frame(job, type, &f);
    if (pfd == NULL) {
        tide_error("out of memory");
        dmn_stop(job);
    }
    while (job->nrunning > 0 && pfd != NULL) {
        int n = dmn_pollfds(job, pfd, down_open);
        uint64_t now = tide_time_ns();
        int to =
            job->kill_sent == 1
                ? (int)((job->kill_deadline_ns > now ? job->kill_deadline_ns - now : 0) / 1000000 +
                        1)
                : -1;
        if (poll(pfd, (nfds_t)n, to) < 0 && errno != EINTR)
            break;
        if (pfd[1].revents)
            tide_mpirun_server_drain_wake();
        if (pfd[2].revents)
            dmn_read_down(job, in, &down_open);
        if (pfd[3].revents && job->stdin_dst >= 0)
            dmn_stdin_write(job);
        for (int k = 4; k < n; k++)
            if (pfd[k].revents && pfd[k].fd >= 0) {
                tide_mpirun_rank_t *r = &job->ranks[(k - 4) / 2];
                dmn_read_rank(r->rank, (k - 4) % 2 ? &r->err : &r->out, (k - 4) % 2 + 1);
            }
        dmn_signals(job);
        tide_mpirun_job_kill_tick(job, tide_time_ns());
    }
    free(pfd);
    tide_mpirun_job_kill_groups(job);
}

/* --- start ------------------------------------------------------------------------ */

static int dmn_setup(tide_mpirun_job_t *job)
{
    int ret = tide_mpirun_bind_plan(job);
    if (ret < 0)
        return ret;
    tide_mpirun_tmpdir_clean_stale();
    if ((ret = tide_mpirun_tmpdir_create(job->tmpdir, sizeof(job->tmpdir))) < 0)
        return ret;
    setenv("PMIX_MCA_gds", "hash", 0);
    tide_mpirun_server_set_relays(dmn_fence_up, dmn_dmodex_up, dmn_abort_up);
    if ((ret = tide_mpirun_server_init_host(job->tmpdir, job->hostname)) < 0)
        return ret;
    return tide_mpirun_server_register(job);
}

static void dmn_started(tide_mpirun_job_t *job, int rank, uint32_t type, int code)
{
    tide_frame_buf_t b = {0};
    tide_frame_put_u32(&b, (uint32_t)rank);
    tide_frame_put_u32(&b, type == TIDE_FRAME_STARTED ? (uint32_t)job->ranks[rank].pid
                                                      : (uint32_t)code);
    if (!b.bad)
        tide_frame_send(DMN_UP, type, b.p, b.len);
    tide_frame_buf_free(&b);
}

static void dmn_start_ranks(tide_mpirun_job_t *job)
{
    for (int i = 0; i < job->np; i++) {
        if (job->ranks[i].host != job->myhost)
            continue;
        int ret = tide_mpirun_job_spawn(job, i);
        if (job->ranks[i].pid > 0)
            dmn_started(job, i, TIDE_FRAME_STARTED, 0);
        if (ret < 0) {
            dmn_started(job, i, TIDE_FRAME_LAUNCH_FAIL,
                        ret == -ENOENT || ret == -EACCES ? TIDE_MPIRUN_EXIT_NOEXEC
                                                         : TIDE_MPIRUN_EXIT_ERROR);
            return;
        }
        if (job->opts->report_bindings)
            tide_mpirun_bind_report(job, i);
    }
}

/* The ranks of a job that cannot be set up here count as failed to launch. */
static void dmn_refuse(tide_mpirun_job_t *job)
{
    for (int i = 0; i < job->np; i++) {
        if (job->ranks[i].host != job->myhost)
            continue;
        dmn_started(job, i, TIDE_FRAME_LAUNCH_FAIL, TIDE_MPIRUN_EXIT_ERROR);
        tide_frame_buf_t b = {0};
        tide_frame_put_u32(&b, (uint32_t)i);
        tide_frame_put_u32(&b, (uint32_t)(TIDE_MPIRUN_EXIT_ERROR << 8));
        tide_frame_put_u32(&b, 0);
        tide_frame_put_u32(&b, 0);
        if (!b.bad)
            tide_frame_send(DMN_UP, TIDE_FRAME_EXIT, b.p, b.len);
        tide_frame_buf_free(&b);
    }
}

int tide_mpirun_daemon_main(void)
{
    static tide_mpirun_job_t job;
    static tide_mpirun_opts_t opts;
    tide_frame_buf_t in = {0}, f;
    signal(SIGPIPE, SIG_IGN);
    if (tide_mpirun_loop_signals_block() < 0 || dmn_read_job(&in, &f) < 0)
        return TIDE_MPIRUN_EXIT_ERROR;
    int ret = dmn_parse_job(&job, &opts, &f);
    if (ret < 0) {
        tide_error("mpirun daemon: cannot read the job from mpirun (version mismatch?)");
        return TIDE_MPIRUN_EXIT_ERROR;
    }
    tide_mpirun_iof_init(&job);
    job.stdin_src = -1;
    if (dmn_setup(&job) == 0)
        dmn_start_ranks(&job);
    else
        dmn_refuse(&job);
    dmn_loop(&job, &in);
    tide_frame_buf_free(&in);
    tide_mpirun_server_finalize(&job);
    tide_mpirun_tmpdir_remove(job.tmpdir);
    return 0;
}
