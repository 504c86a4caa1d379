/* mpirun's side of a multi-host job: one daemon per host ("mpirun
 * --tide-daemon", daemon.c), started through a launch agent and spoken to
 * over the agent's own stdin/stdout with the frames of frame.c.
 *
 * The agent is ssh by default, "srun ... --nodelist=HOST" inside a Slurm
 * allocation, or any --launch-agent "CMD", run as "CMD host daemon
 * --tide-daemon".  A host named localhost (or this machine's name) is
 * started directly when no agent was chosen.  Agents get their own process
 * group, so a Ctrl-C at the terminal reaches mpirun only, which then ends
 * the job in order.  mpirun itself is no PMIx server here: it relays.
 * Fences: every daemon sends its host's blob once all its local ranks are
 * in; when every daemon has, the blobs go back to all, concatenated (the
 * PMIx server library unpacks one blob per server).  Direct modex: a
 * request is forwarded to the daemon of the rank asked for, the answer back
 * to the asker, matched by ids.  Output arrives raw and is cut into lines
 * here (iof.c), stdin goes to rank 0's daemon, exit statuses feed the same
 * judgement as local ranks (job.c), signals go out as frames.  A daemon
 * whose connection closes while it still has running ranks is lost: the
 * job ends, naming the host and its ranks.
 * mpirun never blocks writing to a daemon: frames wait in a queue per
 * daemon, written as its pipe takes them, and stdin is read only while
 * rank 0's daemon's queue is short.  (A daemon blocked writing its ranks'
 * output to mpirun while mpirun blocked writing stdin to it would
 * otherwise deadlock both.) */
#include "config.h"
#include "mpirun/mpirun.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pmix_common.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REMOTE_STDIN_QUEUE_MAX (1u << 20) /* stop reading stdin above this */

extern char **environ;

typedef struct remote_daemon {
    int host;
    pid_t pid;    /* the agent (the daemon itself when started directly) */
    int to, from; /* its stdin (ours to write), its stdout (ours to read) */
    tide_frame_buf_t in;
    tide_frame_buf_t out; /* frames not yet written; off: written part */
    int eof, reaped, wstatus;
    int in_fence; /* has contributed to the current fence */
} remote_daemon_t;

typedef struct remote_dmx {
    int origin; /* daemon that asked, -1 when the slot is free */
    uint32_t id;
} remote_dmx_t;

struct tide_mpirun_remote {
    remote_daemon_t *d;
    int n;
    tide_frame_buf_t fence; /* blobs of the current fence */
    remote_dmx_t *dmx;
    int ndmx;
    int stdin_open;
};

/* --- starting the daemons ------------------------------------------------ */

/* The daemon program: --prefix DIR/bin/mpirun, else this very mpirun's
 * path (the same install prefix is expected on every host). */
static void remote_daemon_path(const tide_mpirun_opts_t *o, char *out, size_t len)
{
    if (o->prefix != NULL) {
        snprintf(out, len, "%s/bin/mpirun", o->prefix);
        return;
    }
    ssize_t n = readlink("/proc/self/exe", out, len - 1);
    if (n <= 0)
        snprintf(out, len, "mpirun");
    else
        out[n] = '\0';
}

static int remote_is_local(const char *host)
{
    char me[256] = "";
    gethostname(me, sizeof(me) - 1);
    return strcmp(host, "localhost") == 0 || strcmp(host, me) == 0;
}

static int remote_add_word(char ***argv, int *n, const char *w)
{
    char **na = realloc(*argv, (size_t)(*n + 2) * sizeof(char *));
    if (na == NULL)
        return -ENOMEM;
    *argv = na;
    na[*n] = strdup(w);
    na[++*n] = NULL;
    return na[*n - 1] ? 0 : -ENOMEM;
}

static void remote_argv_free(char **argv)
{
    for (int i = 0; argv != NULL && argv[i] != NULL; i++)
        free(argv[i]);
    free(argv);
}

/* The agent's command line for host; NULL when out of memory. */
static char **remote_argv(const tide_mpirun_opts_t *o, const char *host, const char *daemon)
{
    char **argv = NULL, buf[400];
    int n = 0, bad = 0;
    int slurm = o->agent == NULL && getenv("SLURM_JOB_ID") != NULL && o->hosts == NULL &&
                o->hostfile == NULL;
    if (o->agent != NULL) {
        char *dup = strdup(o->agent), *save = NULL;
        for (char *w = dup ? strtok_r(dup, " \t", &save) : NULL; w;
             w = strtok_r(NULL, " \t", &save))
            bad |= remote_add_word(&argv, &n, w);
        free(dup);
        bad |= remote_add_word(&argv, &n, host);
    } else if (slurm) {
        const char *srun[] = {
            "srun", "--nodes=1", "--ntasks=1", "--overlap", "--kill-on-bad-exit=1", "--mpi=none"};
        for (size_t i = 0; i < sizeof(srun) / sizeof(srun[0]); i++)
            bad |= remote_add_word(&argv, &n, srun[i]);
        snprintf(buf, sizeof(buf), "--nodelist=%s", host);
        bad |= remote_add_word(&argv, &n, buf);
    } else if (!remote_is_local(host)) {
        bad |= remote_add_word(&argv, &n, "ssh");
        bad |= remote_add_word(&argv, &n, host);
    }
    bad |= remote_add_word(&argv, &n, daemon);
    bad |= remote_add_word(&argv, &n, "--tide-daemon");
    if (bad) {
        remote_argv_free(argv);
        return NULL;
    }
    return argv;
}

static int remote_spawn(remote_daemon_t *d, char **argv, const char *host)
{
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) < 0)
        goto fail;
    if (pipe2(out, O_CLOEXEC) < 0) {
        int err = errno;
        close(in[0]);
        close(in[1]);
        errno = err;
        goto fail;
    }
    pid_t pid = fork();
    if (pid == 0) {
        sigset_t none;
        setpgid(0, 0);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        if (dup2(in[0], 0) >= 0 && dup2(out[1], 1) >= 0)
            execvp(argv[0], argv);
        fprintf(stderr, "mpirun: cannot run the launch agent '%s' for host %s: %s\n", argv[0], host,
                strerror(errno));
        _exit(TIDE_MPIRUN_EXIT_NOEXEC);
    }
    int fork_err = errno;
    close(in[0]);
    close(out[1]);
    if (pid < 0) {
        close(in[1]);
        close(out[0]);
        errno = fork_err; /* for the message, not close()'s */
        goto fail;
    }
    setpgid(pid, pid);
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    d->pid = pid;
    d->to = in[1];
    d->from = out[0];
    return 0;
fail:;
    int err = errno;
    tide_error("cannot start the daemon for host %s: %s", host, strerror(err));
    return -err;
}

/* The job as the daemon of host h needs it. */
static void remote_job_frame(const tide_mpirun_job_t *job, int h, tide_frame_buf_t *b)
{
    const tide_mpirun_opts_t *o = job->opts;
    char cwd[PATH_MAX] = "";
    tide_frame_put_str(b, job->nspace);
    tide_frame_put_u64(b, job->jobkey);
    tide_frame_put_u32(b, (uint32_t)job->np);
    tide_frame_put_u32(b, (uint32_t)job->nhosts);
    for (int i = 0; i < job->nhosts; i++)
        tide_frame_put_str(b, job->hostnames[i]);
    tide_frame_put_u32(b, (uint32_t)h);
    for (int i = 0; i < job->np; i++)
        tide_frame_put_u32(b, (uint32_t)job->ranks[i].host);
    tide_frame_put_u32(b, (uint32_t)o->bind);
    tide_frame_put_u32(b, (uint32_t)o->map);
    tide_frame_put_u32(b, (uint32_t)o->report_bindings);
    if (getcwd(cwd, sizeof(cwd)) == NULL)
        cwd[0] = '\0';
    tide_frame_put_str(b, cwd);
    /* -x VAR=value, -x VAR with mpirun's value, and every TIDE_* and
     * PMIX_MCA_* of mpirun's environment */
    int ne = 0;
    for (int i = 0; environ[i] != NULL; i++)
        ne += strncmp(environ[i], "TIDE_", 5) == 0 || strncmp(environ[i], "PMIX_MCA_", 9) == 0;
    tide_frame_put_u32(b, (uint32_t)(ne + o->nenvs));
    for (int i = 0; environ[i] != NULL; i++)
        if (strncmp(environ[i], "TIDE_", 5) == 0 || strncmp(environ[i], "PMIX_MCA_", 9) == 0)
            tide_frame_put_str(b, environ[i]);
    for (int i = 0; i < o->nenvs; i++) {
        char kv[8192];
        const char *v = getenv(o->envs[i]);
        if (strchr(o->envs[i], '=') != NULL || v == NULL)
            snprintf(kv, sizeof(kv), "%s%s", o->envs[i], strchr(o->envs[i], '=') ? "" : "=");
        else
            snprintf(kv, sizeof(kv), "%s=%s", o->envs[i], v);
        tide_frame_put_str(b, kv);
    }
    int na = 0;
    while (o->argv[na] != NULL)
        na++;
    tide_frame_put_u32(b, (uint32_t)na);
    for (int i = 0; i < na; i++)
        tide_frame_put_str(b, o->argv[i]);
}

static void remote_close_to(remote_daemon_t *d)
{
    if (d->to >= 0)
        close(d->to);
    d->to = -1;
    tide_frame_buf_free(&d->out);
}

/* Write what the daemon's pipe takes now. */
static void remote_flush(remote_daemon_t *d)
{
    while (d->to >= 0 && d->out.off < d->out.len) {
        ssize_t w = write(d->to, d->out.p + d->out.off, d->out.len - d->out.off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN)
            return;
        if (w < 0) { /* the daemon is gone: its reader side reports it */
            remote_close_to(d);
            return;
        }
        d->out.off += (size_t)w;
    }
    d->out.len = d->out.off = 0;
}

static int remote_send(remote_daemon_t *d, uint32_t type, const tide_frame_buf_t *b)
{
    if (d->to < 0)
        return -EPIPE;
    tide_frame_encode(&d->out, type, b ? b->p : NULL, b ? b->len : 0);
    if (d->out.bad) {
        tide_error("out of memory queueing a frame for a daemon");
        remote_close_to(d);
        return -ENOMEM;
    }
    remote_flush(d);
    return 0;
}

static int remote_start_one(tide_mpirun_job_t *job, int h, const char *daemon)
{
    remote_daemon_t *d = &job->remote->d[h];
    tide_frame_buf_t b = {0};
    *d = (remote_daemon_t){.host = h, .to = -1, .from = -1};
    char **argv = remote_argv(job->opts, job->hostnames[h], daemon);
    if (argv == NULL)
        return -ENOMEM;
    int ret = remote_spawn(d, argv, job->hostnames[h]);
    remote_argv_free(argv);
    if (ret < 0)
        return ret;
    remote_job_frame(job, h, &b);
    ret = b.bad ? -ENOMEM : remote_send(d, TIDE_FRAME_JOB, &b);
    tide_frame_buf_free(&b);
    return ret; /* a daemon that died already shows up as lost */
}

int tide_mpirun_remote_start(tide_mpirun_job_t *job, tide_mpirun_hostlist_t *l)
{
    char daemon[PATH_MAX];
    struct tide_mpirun_remote *r = calloc(1, sizeof(*r));
    job->hostnames = calloc((size_t)l->n, sizeof(*job->hostnames));
    if (r == NULL || job->hostnames == NULL ||
        (r->d = calloc((size_t)l->n, sizeof(*r->d))) == NULL) {
        tide_error("out of memory for %d hosts", l->n);
        return -ENOMEM;
    }
    job->remote = r;
    job->nhosts = r->n = l->n;
    for (int h = 0; h < l->n; h++)
        snprintf(job->hostnames[h], sizeof(job->hostnames[h]), "%s", l->h[h].name);
    r->stdin_open = 1;
    remote_daemon_path(job->opts, daemon, sizeof(daemon));
    for (int i = 0; i < job->np; i++)
        job->ranks[i].running = 1;
    job->nrunning = job->np;
    for (int h = 0; h < l->n; h++) {
        int ret = remote_start_one(job, h, daemon);
        if (ret < 0) {
            snprintf(job->end_msg, sizeof(job->end_msg), "cannot start the daemon for host %s",
                     job->hostnames[h]);
            for (int k = h; k < l->n; k++)
                for (int i = 0; i < job->np; i++)
                    if (job->ranks[i].host == k && job->ranks[i].running) {
                        job->ranks[i].running = 0;
                        job->nrunning--;
                    }
            tide_mpirun_job_end(job, TIDE_MPIRUN_END_DAEMON, -1, TIDE_MPIRUN_EXIT_ERROR);
            return ret;
        }
    }
    return 0;
}

/* --- losing a daemon -------------------------------------------------------- */

static void remote_how(const remote_daemon_t *d, char *buf, size_t len)
{
    char sig[32];
    if (!d->reaped)
        snprintf(buf, len, "closed its connection");
    else if (WIFSIGNALED(d->wstatus))
        snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(d->wstatus),
                 tide_mpirun_signame(WTERMSIG(d->wstatus), sig, sizeof(sig)));
    else
        snprintf(buf, len, "exited with code %d", WEXITSTATUS(d->wstatus));
}

static void remote_fence_check(tide_mpirun_job_t *job);

/* --enable-recovery: the host's ranks count as failed (exit code 1 for
 * mpirun if they are the first), the others are told about each, and a
 * fence waiting for the lost host completes without it. */
static void remote_lost_recover(tide_mpirun_job_t *job, remote_daemon_t *d)
{
    fprintf(stderr, "mpirun: %s; the job goes on (--enable-recovery)\n", job->end_msg);
    job->end_msg[0] = '\0';
    d->eof = 1;
    for (int i = 0; i < job->np; i++) {
        tide_mpirun_rank_t *r = &job->ranks[i];
        if (r->host != d->host || r->finalized || r->wstatus != 0)
            continue;
        if (job->fail_rank < 0) {
            job->fail_rank = i;
            job->fail_code = TIDE_MPIRUN_EXIT_ERROR;
        }
        tide_mpirun_remote_notify(job, i);
    }
    remote_fence_check(job);
}

/* The connection is closed: ranks it did not report are gone with it. */
static void remote_lost(tide_mpirun_job_t *job, remote_daemon_t *d)
{
    char ranks[256] = "", how[64];
    size_t len = 0;
    int k = 0;
    for (int i = 0; i < job->np; i++) {
        tide_mpirun_rank_t *r = &job->ranks[i];
        if (r->host != d->host || !r->running)
            continue;
        r->running = 0;
        job->nrunning--;
        tide_mpirun_iof_flush_rank(job, i);
        if (len < sizeof(ranks) - 16)
            len += (size_t)snprintf(ranks + len, sizeof(ranks) - len, k ? ",%d" : "%d", i);
        k++;
    }
    if (k == 0 || job->end != TIDE_MPIRUN_END_NONE)
        return;
    remote_how(d, how, sizeof(how));
    snprintf(job->end_msg, sizeof(job->end_msg),
             "lost the daemon on host %s (pid %d), which %s; its rank%s %s %s gone",
             job->hostnames[d->host], (int)d->pid, how, k == 1 ? "" : "s", ranks,
             k == 1 ? "is" : "are");
    if (job->opts->recovery)
        remote_lost_recover(job, d);
    else
        tide_mpirun_job_end(job, TIDE_MPIRUN_END_DAEMON, -1, TIDE_MPIRUN_EXIT_ERROR);
}

/* End of a daemon's stream: wait a moment for its agent's status (it
 * usually exits at the same time), for the message. */
static void remote_eof(tide_mpirun_job_t *job, remote_daemon_t *d)
{
    close(d->from);
    d->from = -1;
    d->eof = 1;
    for (int i = 0; i < 50 && !d->reaped; i++) {
        if (waitpid(d->pid, &d->wstatus, WNOHANG) == d->pid) {
            d->reaped = 1;
            break;
        }
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    remote_lost(job, d);
    remote_close_to(d);
}

void tide_mpirun_remote_reap(tide_mpirun_job_t *job)
{
    struct tide_mpirun_remote *r = job->remote;
    for (int h = 0; h < r->n; h++) {
        remote_daemon_t *d = &r->d[h];
        if (!d->reaped && d->pid > 0 && waitpid(d->pid, &d->wstatus, WNOHANG) == d->pid)
            d->reaped = 1;
    }
    while (waitpid(-1, NULL, WNOHANG) > 0) /* nothing else of ours, but be safe */
        ;
}

/* --- frames from daemons ------------------------------------------------------ */

/* A fence is complete once every daemon still connected has joined (a lost
 * daemon no longer counts, so survivors under --enable-recovery can go on). */
static void remote_fence_check(tide_mpirun_job_t *job)
{
    struct tide_mpirun_remote *r = job->remote;
    int live = 0, joined = 0;
    for (int h = 0; h < r->n; h++) {
        live += !r->d[h].eof;
        joined += !r->d[h].eof && r->d[h].in_fence;
    }
    if (joined == 0 || joined < live)
        return;
    for (int h = 0; h < r->n; h++) {
        if (!r->d[h].eof)
            remote_send(&r->d[h], TIDE_FRAME_FENCE_REL, &r->fence);
        r->d[h].in_fence = 0;
    }
    r->fence.len = 0;
}

static void remote_fence_in(tide_mpirun_job_t *job, remote_daemon_t *d, tide_frame_buf_t *f)
{
    struct tide_mpirun_remote *r = job->remote;
    if (d->in_fence) {
        tide_error("host %s joined a fence twice", job->hostnames[d->host]);
        return;
    }
    d->in_fence = 1;
    tide_frame_put_raw(&r->fence, f->p, f->len);
    remote_fence_check(job);
}

static void remote_dmx_reply(remote_daemon_t *to, uint32_t id, int32_t st, const char *data,
                             size_t len)
{
    tide_frame_buf_t b = {0};
    tide_frame_put_u32(&b, id);
    tide_frame_put_u32(&b, (uint32_t)st);
    tide_frame_put_bytes(&b, data, len);
    remote_send(to, TIDE_FRAME_DMODEX_REP, &b);
    tide_frame_buf_free(&b);
}

static void remote_dmx_request(tide_mpirun_job_t *job, remote_daemon_t *d, tide_frame_buf_t *f)
{
    struct tide_mpirun_remote *r = job->remote;
    uint32_t id = tide_frame_get_u32(f), rank = tide_frame_get_u32(f);
    if (f->bad || rank >= (uint32_t)job->np)
        return remote_dmx_reply(d, id, PMIX_ERR_BAD_PARAM, NULL, 0);
    remote_daemon_t *t = &r->d[job->ranks[rank].host];
    int slot = 0;
    while (slot < r->ndmx && r->dmx[slot].origin >= 0)
        slot++;
    if (slot == r->ndmx) {
        remote_dmx_t *nd = realloc(r->dmx, (size_t)(r->ndmx * 2 + 8) * sizeof(*nd));
        if (nd == NULL)
            return remote_dmx_reply(d, id, PMIX_ERR_NOMEM, NULL, 0);
        r->dmx = nd;
        for (int i = r->ndmx; i < r->ndmx * 2 + 8; i++)
            nd[i].origin = -1;
        r->ndmx = r->ndmx * 2 + 8;
    }
    r->dmx[slot] = (remote_dmx_t){.origin = d->host, .id = id};
    tide_frame_buf_t b = {0};
    tide_frame_put_u32(&b, (uint32_t)slot);
    tide_frame_put_u32(&b, rank);
    if (remote_send(t, TIDE_FRAME_DMODEX_REQ, &b) < 0) { /* that host is gone */
        r->dmx[slot].origin = -1;
        remote_dmx_reply(d, id, PMIX_ERR_NOT_FOUND, NULL, 0);
    }
    tide_frame_buf_free(&b);
}

static void remote_dmx_answer(tide_mpirun_job_t *job, tide_frame_buf_t *f)
{
    struct tide_mpirun_remote *r = job->remote;
    uint32_t slot = tide_frame_get_u32(f);
    int32_t st = (int32_t)tide_frame_get_u32(f);
    size_t len;
    const char *data = tide_frame_get_bytes(f, &len);
    if (f->bad || slot >= (uint32_t)r->ndmx || r->dmx[slot].origin < 0)
        return;
    remote_dmx_reply(&r->d[r->dmx[slot].origin], r->dmx[slot].id, st, data, len);
    r->dmx[slot].origin = -1;
}

static int remote_rank_of(tide_mpirun_job_t *job, remote_daemon_t *d, tide_frame_buf_t *f)
{
    uint32_t rank = tide_frame_get_u32(f);
    if (f->bad || rank >= (uint32_t)job->np || job->ranks[rank].host != d->host) {
        tide_error("bad frame from the daemon on %s", job->hostnames[d->host]);
        return -1;
    }
    return (int)rank;
}

/* The last u32 of a frame: a frame cut short is reported, not acted on. */
static int remote_u32(tide_mpirun_job_t *job, remote_daemon_t *d, tide_frame_buf_t *f, uint32_t *v)
{
    uint32_t x = tide_frame_get_u32(f);
    if (f->bad) {
        tide_error("short frame from the daemon on %s", job->hostnames[d->host]);
        return -EPROTO;
    }
    *v = x;
    return 0;
}

static void remote_frame(tide_mpirun_job_t *job, remote_daemon_t *d, uint32_t type,
                         tide_frame_buf_t *f)
{
    int rank;
    uint32_t u = 0;
    size_t len;
    switch (type) {
    case TIDE_FRAME_STARTED:
        if ((rank = remote_rank_of(job, d, f)) >= 0 && remote_u32(job, d, f, &u) == 0)
            job->ranks[rank].pid = (pid_t)u;
        break;
    case TIDE_FRAME_OUT:
        if ((rank = remote_rank_of(job, d, f)) >= 0) {
            uint32_t which = tide_frame_get_u32(f);
            const char *p = tide_frame_get_bytes(f, &len);
            if (f->bad)
                tide_error("bad output frame from the daemon on %s", job->hostnames[d->host]);
            else
                tide_mpirun_iof_feed(job, rank, (int)which, p, len);
        }
        break;
    case TIDE_FRAME_EXIT:
        if ((rank = remote_rank_of(job, d, f)) >= 0) {
            int st = (int)tide_frame_get_u32(f);
            uint32_t conn = tide_frame_get_u32(f);
            if (remote_u32(job, d, f, &u) < 0)
                break;
            job->ranks[rank].connected = (int)conn;
            job->ranks[rank].finalized = (int)u;
            tide_mpirun_job_exited(job, rank, st);
        }
        break;
    case TIDE_FRAME_ABORT:
        if ((rank = remote_rank_of(job, d, f)) >= 0) {
            int code = (int)tide_frame_get_u32(f);
            tide_mpirun_server_abort_record(rank, code, tide_frame_get_str(f));
            int c = code & 0xff;
            tide_mpirun_job_end(job, TIDE_MPIRUN_END_ABORT, rank, c == 0 && code != 0 ? 1 : c);
        }
        break;
    case TIDE_FRAME_LAUNCH_FAIL:
        if ((rank = remote_rank_of(job, d, f)) >= 0 && remote_u32(job, d, f, &u) == 0)
            tide_mpirun_job_end(job, TIDE_MPIRUN_END_LAUNCH, rank, (int)u);
        break;
    case TIDE_FRAME_FENCE: remote_fence_in(job, d, f); break;
    case TIDE_FRAME_DMODEX_REQ: remote_dmx_request(job, d, f); break;
    case TIDE_FRAME_DMODEX_REP: remote_dmx_answer(job, f); break;
    default: tide_error("unknown frame %u from the daemon on %s", type, job->hostnames[d->host]);
    }
}

static void remote_read(tide_mpirun_job_t *job, remote_daemon_t *d)
{
    int ret = tide_frame_read(d->from, &d->in);
    uint32_t type;
    tide_frame_buf_t f;
    int k;
    while ((k = tide_frame_next(&d->in, &type, &f)) > 0)
        remote_frame(job, d, type, &f);
    if (ret <= 0 || k < 0)
        remote_eof(job, d);
}

/* --- stdin, polling, signals -------------------------------------------------- */

static void remote_stdin(tide_mpirun_job_t *job)
{
    struct tide_mpirun_remote *r = job->remote;
    char buf[65536];
    remote_daemon_t *d = &r->d[job->ranks[0].host];
    ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    tide_frame_buf_t b = {.p = buf, .len = n > 0 ? (size_t)n : 0};
    remote_send(d, TIDE_FRAME_STDIN, &b);
    if (n <= 0)
        r->stdin_open = 0;
}

int tide_mpirun_remote_pollfds(tide_mpirun_job_t *job, struct pollfd *pfd, int max)
{
    struct tide_mpirun_remote *r = job->remote;
    int n = 0;
    for (int h = 0; h < r->n && n + 2 < max; h++) {
        if (r->d[h].from >= 0)
            pfd[n++] = (struct pollfd){.fd = r->d[h].from, .events = POLLIN};
        if (r->d[h].to >= 0 && r->d[h].out.len > r->d[h].out.off)
            pfd[n++] = (struct pollfd){.fd = r->d[h].to, .events = POLLOUT};
    }
    remote_daemon_t *d0 = &r->d[job->ranks[0].host];
    if (r->stdin_open && job->ranks[0].running && d0->to >= 0 &&
        d0->out.len - d0->out.off < REMOTE_STDIN_QUEUE_MAX && n < max)
        pfd[n++] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
    return n;
}

void tide_mpirun_remote_handle(tide_mpirun_job_t *job, struct pollfd *pfd, int n)
{
    struct tide_mpirun_remote *r = job->remote;
    for (int k = 0; k < n; k++) {
        if (pfd[k].revents == 0)
            continue;
        if (pfd[k].fd == STDIN_FILENO) {
            remote_stdin(job);
            continue;
        }
        for (int h = 0; h < r->n; h++) {
            if (r->d[h].from == pfd[k].fd)
                remote_read(job, &r->d[h]);
            else if (r->d[h].to == pfd[k].fd)
                remote_flush(&r->d[h]);
        }
    }
}

void tide_mpirun_remote_signal(tide_mpirun_job_t *job, int sig)
{
    struct tide_mpirun_remote *r = job->remote;
    tide_frame_buf_t b = {0};
    tide_frame_put_u32(&b, (uint32_t)sig);
    for (int h = 0; h < r->n; h++)
        remote_send(&r->d[h], TIDE_FRAME_SIGNAL, &b);
    tide_frame_buf_free(&b);
}

void tide_mpirun_remote_notify(tide_mpirun_job_t *job, int rank)
{
    struct tide_mpirun_remote *r = job->remote;
    tide_frame_buf_t b = {0};
    tide_frame_put_u32(&b, (uint32_t)rank);
    for (int h = 0; h < r->n; h++)
        remote_send(&r->d[h], TIDE_FRAME_NOTIFY, &b);
    tide_frame_buf_free(&b);
}

/* Every rank is gone: close the daemons' stdin (they exit on it), give
 * them a few seconds, then kill what is left of the agents. */
void tide_mpirun_remote_finish(tide_mpirun_job_t *job)
{
    struct tide_mpirun_remote *r = job->remote;
    for (int h = 0; h < r->n; h++)
        remote_close_to(&r->d[h]); /* what is still queued is moot now */
    for (int h = 0; h < r->n; h++) {
        remote_daemon_t *d = &r->d[h];
        for (int i = 0; i < 300 && !d->reaped && d->pid > 0; i++) {
            if (d->from >= 0) { /* drain: a full pipe must not block its exit */
                char buf[4096];
                struct pollfd p = {.fd = d->from, .events = POLLIN};
                if (poll(&p, 1, 10) > 0 && read(d->from, buf, sizeof(buf)) <= 0) {
                    close(d->from);
                    d->from = -1;
                }
            } else {
                struct timespec ts = {0, 10000000};
                nanosleep(&ts, NULL);
            }
            if (waitpid(d->pid, &d->wstatus, WNOHANG) == d->pid)
                d->reaped = 1;
        }
        if (!d->reaped && d->pid > 0) {
            tide_warn("the daemon on %s did not exit; killing it", job->hostnames[h]);
            kill(-d->pid, SIGKILL);
            waitpid(d->pid, &d->wstatus, 0);
            d->reaped = 1;
        }
        if (d->from >= 0)
            close(d->from);
        d->from = -1;
        tide_frame_buf_free(&d->in);
    }
}
