/* The ranks as processes: start, reap, kill, and the job's exit code.
 *
 * Each rank is forked with its stdout/stderr on pipes to mpirun (iof.c),
 * stdin on a pipe (rank 0) or /dev/null, its own process group (so a kill
 * reaches whatever it started too), PR_SET_PDEATHSIG=SIGKILL (so it dies
 * with mpirun even when mpirun is SIGKILLed), the signal mask and SIGPIPE
 * disposition reset, its cpu binding applied, then exec.  Between fork and
 * exec the child only makes system calls: mpirun has threads (PMIx), so
 * anything that may lock (malloc, stdio) is prepared in the parent.  An
 * exec failure comes back through a close-on-exec pipe.
 * The first reason the job ends is recorded and announced once; then every
 * running rank gets SIGTERM (or the signal mpirun received), and SIGKILL
 * TIDE_MPIRUN_KILL_GRACE later. */
#include "config.h"
#include "mpirun/mpirun.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/param.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

TIDE_PARAM_DEFINE(mpirun_kill_grace, TIDE_PARAM_TIME, "MPIRUN_KILL_GRACE", "2s",
                  "When mpirun ends a job, time between SIGTERM (or the forwarded signal) and "
                  "SIGKILL to the ranks still running");

extern char **environ;

const char *tide_mpirun_signame(int sig, char *buf, size_t len)
{
    const char *abbrev = sigabbrev_np(sig);
    if (abbrev != NULL)
        snprintf(buf, len, "SIG%s", abbrev);
    else
        snprintf(buf, len, "signal %d", sig);
    return buf;
}

/* --- environment of the ranks ------------------------------------------ */

static int env_count(char **env)
{
    int n = 0;
    while (env[n] != NULL)
        n++;
    return n;
}

static void env_free(char **env)
{
    if (env == NULL)
        return;
    for (int i = 0; env[i] != NULL; i++)
        free(env[i]);
    free(env);
}

/* Set "NAME=value" in a malloc'd env array (replacing NAME). */
static int env_put(char ***envp, const char *kv)
{
    char **env = *envp;
    size_t nl = strcspn(kv, "=");
    char *dup = strdup(kv);
    if (dup == NULL)
        return -ENOMEM;
    int n = env_count(env);
    for (int i = 0; i < n; i++) {
        if (strncmp(env[i], kv, nl) == 0 && env[i][nl] == '=') {
            free(env[i]);
            env[i] = dup;
            return 0;
        }
    }
    char **ne = realloc(env, (size_t)(n + 2) * sizeof(char *));
    if (ne == NULL) {
        free(dup);
        return -ENOMEM;
    }
    ne[n] = dup;
    ne[n + 1] = NULL;
    *envp = ne;
    return 0;
}

/* mpirun's environment, without PMIx variables of an outer job (PMIX_MCA_*
 * settings are kept), plus the -x VAR=value settings. */
char **tide_mpirun_job_env(const tide_mpirun_opts_t *o)
{
    char **env = calloc(1, sizeof(char *));
    for (int i = 0; env != NULL && environ[i] != NULL; i++) {
        if (strncmp(environ[i], "PMIX_", 5) == 0 && strncmp(environ[i], "PMIX_MCA_", 9) != 0)
            continue;
        if (env_put(&env, environ[i]) < 0)
            goto fail;
    }
    for (int i = 0; env != NULL && i < o->nenvs; i++) {
        if (strchr(o->envs[i], '=') != NULL && env_put(&env, o->envs[i]) < 0)
            goto fail;
    }
    return env;
fail:
    env_free(env);
    return NULL;
}

/* --- start ------------------------------------------------------------- */

typedef struct spawn_fds {
    int in[2], out[2], err[2], st[2];
} spawn_fds_t;

static void spawn_fds_close(spawn_fds_t *f)
{
    int *all = &f->in[0];
    for (int i = 0; i < 8; i++)
        if (all[i] >= 0)
            close(all[i]);
}

static int spawn_fds_open(spawn_fds_t *f, int rank)
{
    *f = (spawn_fds_t){{-1, -1}, {-1, -1}, {-1, -1}, {-1, -1}};
    if (rank == 0) {
        if (pipe2(f->in, O_CLOEXEC) < 0)
            goto fail;
    } else if ((f->in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        goto fail;
    }
    if (pipe2(f->out, O_CLOEXEC) < 0 || pipe2(f->err, O_CLOEXEC) < 0 || pipe2(f->st, O_CLOEXEC) < 0)
        goto fail;
    return 0;
fail:;
    int err = errno;
    tide_error("cannot make pipes for rank %d: %s", rank, strerror(err));
    spawn_fds_close(f);
    return -err;
}

/* In the child, between fork and exec: system calls only. */
static void __attribute__((noreturn))
spawn_child(const tide_mpirun_job_t *job, const tide_mpirun_rank_t *r, spawn_fds_t *f,
            const char *path, char **env, pid_t parent)
{
    sigset_t none;
    int err;
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) /* mpirun died before the line above */
        _exit(TIDE_MPIRUN_EXIT_NOEXEC);
    if (dup2(f->in[0], 0) < 0 || dup2(f->out[1], 1) < 0 || dup2(f->err[1], 2) < 0)
        goto fail;
    signal(SIGPIPE, SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (r->bound && sched_setaffinity(0, sizeof(r->cpus), &r->cpus) < 0)
        goto fail;
    execve(path, job->opts->argv, env);
fail:
    err = errno;
    ssize_t w = write(f->st[1], &err, sizeof(err));
    (void)w;
    _exit(TIDE_MPIRUN_EXIT_NOEXEC);
}

/* After fork, in mpirun: keep our ends, learn whether exec worked. */
static int spawn_parent(tide_mpirun_job_t *job, tide_mpirun_rank_t *r, spawn_fds_t *f, pid_t pid)
{
    int child_err = 0;
    __atomic_store_n(&r->pid, pid, __ATOMIC_SEQ_CST); /* the PMIx thread reads it */
    setpgid(pid, pid); /* also here: no window where a kill misses it */
    close(f->in[0]);
    close(f->out[1]);
    close(f->err[1]);
    close(f->st[1]);
    ssize_t n;
    do {
        n = read(f->st[0], &child_err, sizeof(child_err));
    } while (n < 0 && errno == EINTR);
    close(f->st[0]);
    r->running = 1;
    job->nrunning++;
    r->out.fd = f->out[0];
    r->err.fd = f->err[0];
    if (r->rank == 0) {
        job->stdin_dst = f->in[1];
        fcntl(job->stdin_dst, F_SETFL, O_NONBLOCK);
    }
    if (n > 0) {
        fprintf(stderr, "mpirun: cannot start %s as rank %d: %s\n", job->opts->argv[0], r->rank,
                strerror(child_err));
        return -child_err;
    }
    return 0;
}

/* The program to exec: argv[0] as given when it has a '/', else the first
 * executable match in PATH (resolved here: execvp is not fork-safe). */
static int spawn_resolve(const char *prog, char *out, size_t len)
{
    if (strchr(prog, '/') != NULL) {
        snprintf(out, len, "%s", prog);
        return 0;
    }
    const char *path = getenv("PATH");
    if (path == NULL)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path != '\0') {
        size_t dl = strcspn(path, ":");
        snprintf(out, len, "%.*s%s%s", (int)dl, path, dl ? "/" : "", prog);
        if (access(out, X_OK) == 0)
            return 0;
        path += dl + (path[dl] == ':');
    }
    return -ENOENT;
}

int tide_mpirun_job_spawn(tide_mpirun_job_t *job, int rank)
{
    tide_mpirun_rank_t *r = &job->ranks[rank];
    char path[4096];
    spawn_fds_t f;
    if (spawn_resolve(job->opts->argv[0], path, sizeof(path)) < 0) {
        fprintf(stderr, "mpirun: cannot find the program '%s' in PATH\n", job->opts->argv[0]);
        return -ENOENT;
    }
    char **env = tide_mpirun_job_env(job->opts);
    if (env == NULL) {
        tide_error("out of memory building the environment of rank %d", rank);
        return -ENOMEM;
    }
    int ret = tide_mpirun_server_setup_fork(job, rank, &env);
    if (ret == 0)
        ret = spawn_fds_open(&f, rank);
    if (ret < 0) {
        env_free(env);
        return ret;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0)
        spawn_child(job, r, &f, path, env, parent);
    env_free(env);
    if (pid < 0) {
        ret = -errno;
        tide_error("fork for rank %d: %s", rank, strerror(-ret));
        spawn_fds_close(&f);
        return ret;
    }
    return spawn_parent(job, r, &f, pid);
}

/* --- end of the job ------------------------------------------------------ */

/* "what; terminating the N other running ranks": "other" only when the
 * reason is about one rank (which may itself still be running). */
static void job_announce(const tide_mpirun_job_t *job, const char *what)
{
    int left = job->nrunning;
    int about = job->end_rank >= 0;
    if (about && job->ranks[job->end_rank].running)
        left--;
    if (left > 0)
        fprintf(stderr, "mpirun: %s; terminating the %d %srunning rank%s\n", what, left,
                about ? "other " : "", left == 1 ? "" : "s");
    else
        fprintf(stderr, "mpirun: %s\n", what);
}

/* "rank 1 (pid 4243)", with " on HOST" after the pid in a multi-host job */
static const char *job_who(const tide_mpirun_job_t *job, int rank, char *buf, size_t len)
{
    const tide_mpirun_rank_t *r = &job->ranks[rank];
    if (job->remote != NULL)
        snprintf(buf, len, "rank %d (pid %d on %s)", rank, (int)r->pid, job->hostnames[r->host]);
    else
        snprintf(buf, len, "rank %d (pid %d)", rank, (int)r->pid);
    return buf;
}

static void job_describe(const tide_mpirun_job_t *job, tide_mpirun_end_t why, int rank, int code,
                         char *buf, size_t len)
{
    char sig[32], who[300];
    switch (why) {
    case TIDE_MPIRUN_END_EXIT:
        snprintf(buf, len, "%s exited with code %d", job_who(job, rank, who, sizeof(who)), code);
        break;
    case TIDE_MPIRUN_END_SIGNAL:
        snprintf(buf, len, "%s was killed by signal %d (%s)", job_who(job, rank, who, sizeof(who)),
                 code - 128, tide_mpirun_signame(code - 128, sig, sizeof(sig)));
        break;
    case TIDE_MPIRUN_END_NOFINALIZE:
        snprintf(buf, len,
                 "%s exited with code 0 without calling MPI_Finalize "
                 "(PMIx_Finalize) after MPI_Init",
                 job_who(job, rank, who, sizeof(who)));
        break;
    case TIDE_MPIRUN_END_DAEMON: snprintf(buf, len, "%s", job->end_msg); break;
    case TIDE_MPIRUN_END_TIMEOUT:
        snprintf(buf, len, "the job ran longer than --timeout %d seconds", job->opts->timeout_s);
        break;
    case TIDE_MPIRUN_END_KILLED:
        snprintf(buf, len, "received %s", tide_mpirun_signame(code - 128, sig, sizeof(sig)));
        break;
    default: buf[0] = '\0';
    }
}

void tide_mpirun_job_end(tide_mpirun_job_t *job, tide_mpirun_end_t why, int rank, int code)
{
    if (job->end != TIDE_MPIRUN_END_NONE)
        return;
    job->end = why;
    job->end_rank = rank;
    job->end_code = code;
    if (why == TIDE_MPIRUN_END_ABORT) {
        char msg[512] = "", who[300];
        int ar, ac;
        tide_mpirun_server_abort_get(&ar, &ac, msg, sizeof(msg));
        char what[900];
        snprintf(what, sizeof(what), "%s called MPI_Abort(..., %d)%s%s",
                 job_who(job, rank, who, sizeof(who)), ac, msg[0] ? ": " : "", msg);
        job_announce(job, what);
    } else if (why != TIDE_MPIRUN_END_LAUNCH) {
        char what[512];
        job_describe(job, why, rank, code, what, sizeof(what));
        job_announce(job, what);
    }
    int sig = why == TIDE_MPIRUN_END_KILLED ? code - 128 : SIGTERM;
    tide_mpirun_job_signal_all(job, SIGCONT);
    tide_mpirun_job_signal_all(job, sig);
    job->kill_sent = 1;
    job->kill_deadline_ns =
        tide_time_ns() + (uint64_t)tide_param_int(&tide_param_mpirun_kill_grace);
}

uint64_t tide_mpirun_job_kill_grace_ns(void)
{
    return (uint64_t)tide_param_int(&tide_param_mpirun_kill_grace);
}

void tide_mpirun_job_signal_all(tide_mpirun_job_t *job, int sig)
{
    if (job->remote != NULL) {
        tide_mpirun_remote_signal(job, sig);
        return;
    }
    for (int i = 0; i < job->np; i++) {
        tide_mpirun_rank_t *r = &job->ranks[i];
        if (!r->running)
            continue;
        if (kill(-r->pid, sig) < 0)
            kill(r->pid, sig); /* not (yet) a group leader */
    }
}

void tide_mpirun_job_kill_tick(tide_mpirun_job_t *job, uint64_t now_ns)
{
    if (job->kill_sent != 1 || now_ns < job->kill_deadline_ns)
        return;
    tide_debug("grace period over: SIGKILL to %d rank(s)", job->nrunning);
    tide_mpirun_job_signal_all(job, SIGKILL);
    job->kill_sent = 2;
}

/* Whatever the ranks left behind in their process groups goes too. */
void tide_mpirun_job_kill_groups(tide_mpirun_job_t *job)
{
    if (job->remote != NULL)
        return; /* each daemon does it on its host */
    for (int i = 0; i < job->np; i++)
        if (job->ranks[i].pid > 0)
            kill(-job->ranks[i].pid, SIGKILL);
}

/* --- reaping ------------------------------------------------------------- */

/* A rank that called PMIx_Finalize is blocked until we answer, so it is
 * alive at that moment; some PMIx versions also report a client whose
 * connection dropped as "finalized", but then it is already exiting.  We
 * record the finalize only while the process is not exiting (server.c), so a
 * rank seen as connected but not finalized really skipped MPI_Finalize. */
/* With --enable-recovery a rank that died, failed or skipped MPI_Finalize
 * does not end the job: it is announced, the first such rank's status
 * becomes mpirun's exit code, and unless the rank had finalized the others
 * are told through a PMIx event (PMIX_ERR_PROC_ABORTED).  MPI_Abort,
 * --timeout and signals to mpirun still end the job. */
static void job_failed(tide_mpirun_job_t *job, tide_mpirun_end_t why, tide_mpirun_rank_t *r,
                       int code)
{
    char what[512];
    if (!job->opts->recovery || job->end != TIDE_MPIRUN_END_NONE) {
        tide_mpirun_job_end(job, why, r->rank, code);
        return;
    }
    if (job->fail_rank < 0) {
        job->fail_rank = r->rank;
        job->fail_code = code;
    }
    job_describe(job, why, r->rank, code, what, sizeof(what));
    fprintf(stderr, "mpirun: %s; the job goes on (--enable-recovery)\n", what);
    if (why != TIDE_MPIRUN_END_SIGNAL && __atomic_load_n(&r->finalized, __ATOMIC_SEQ_CST))
        return;
    if (job->remote != NULL)
        tide_mpirun_remote_notify(job, r->rank);
    else
        tide_mpirun_server_notify_failed(job->nspace, r->rank);
}

/* A rank's own PMIx_Abort is recorded before the rank is released from
 * it, so an exit that follows an abort is always seen as the abort. */
static void job_classify(tide_mpirun_job_t *job, tide_mpirun_rank_t *r)
{
    int st = r->wstatus, ar, ac;
    char msg[8];
    if (tide_mpirun_server_abort_get(&ar, &ac, msg, sizeof(msg)) && ar == r->rank) {
        int code = ac & 0xff;
        tide_mpirun_job_end(job, TIDE_MPIRUN_END_ABORT, ar, code == 0 && ac != 0 ? 1 : code);
    } else if (WIFSIGNALED(st)) {
        job_failed(job, TIDE_MPIRUN_END_SIGNAL, r, 128 + WTERMSIG(st));
    } else if (WEXITSTATUS(st) != 0) {
        job_failed(job, TIDE_MPIRUN_END_EXIT, r, WEXITSTATUS(st));
    } else if (__atomic_load_n(&r->connected, __ATOMIC_SEQ_CST) &&
               !__atomic_load_n(&r->finalized, __ATOMIC_SEQ_CST)) {
        job_failed(job, TIDE_MPIRUN_END_NOFINALIZE, r, TIDE_MPIRUN_EXIT_ERROR);
    }
}

static void job_reaped(tide_mpirun_job_t *job, pid_t pid, int st)
{
    for (int i = 0; i < job->np; i++) {
        tide_mpirun_rank_t *r = &job->ranks[i];
        if (r->pid != pid || !r->running)
            continue;
        r->running = 0;
        r->wstatus = st;
        job->nrunning--;
        if (job->daemon) { /* the daemon reports; mpirun judges */
            tide_mpirun_daemon_reaped(job, i);
            return;
        }
        tide_mpirun_iof_drain_rank(job, i);
        job_classify(job, r);
        return;
    }
}

/* When one rank dies, others often fail right after it (their PMIx
 * connection or peer is gone), and waitpid(-1) returns dead children in no
 * particular order.  first is the pid of the SIGCHLD we were woken by,
 * i.e. the first child that died since the last reap: it goes first, so
 * the root cause is the one reported. */
void tide_mpirun_job_reap(tide_mpirun_job_t *job, pid_t first)
{
    int st;
    pid_t pid;
    if (first > 0 && waitpid(first, &st, WNOHANG) == first)
        job_reaped(job, first, st);
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
        job_reaped(job, pid, st);
}

/* A remote rank's end, as its daemon saw it. */
void tide_mpirun_job_exited(tide_mpirun_job_t *job, int rank, int wstatus)
{
    tide_mpirun_rank_t *r = &job->ranks[rank];
    if (!r->running)
        return;
    r->running = 0;
    r->wstatus = wstatus;
    job->nrunning--;
    tide_mpirun_iof_flush_rank(job, rank);
    job_classify(job, r);
}

int tide_mpirun_job_exit_code(const tide_mpirun_job_t *job)
{
    if (job->end != TIDE_MPIRUN_END_NONE)
        return job->end_code;
    return job->fail_rank >= 0 ? job->fail_code : 0;
}
