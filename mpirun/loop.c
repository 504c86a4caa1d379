/* The main loop of mpirun: one poll over a signalfd (SIGCHLD, the signals
 * we forward or end on), the PMIx server's wake-up eventfd (MPI_Abort) and
 * the ranks' I/O pipes, with the --timeout and kill-grace deadlines as the
 * poll timeout.  The signals are blocked in every thread (the mask is set
 * before the PMIx library starts its thread) and read here synchronously,
 * so no work happens in signal handlers.
 * SIGINT, SIGTERM and SIGHUP end the job: forwarded to the ranks, SIGKILL
 * after the grace period, then the normal cleanup (temporary directory
 * included); a second one kills the ranks at once.  SIGUSR1/SIGUSR2 are
 * forwarded.  The loop ends when every rank has been reaped. */
#include "config.h"
#include "mpirun/mpirun.h"
#include "util/clock.h"
#include "util/log.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

static int loop_sigfd = -1;

int tide_mpirun_loop_signals_block(void)
{
    sigset_t set;
    sigemptyset(&set);
    int sigs[] = {SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaddset(&set, sigs[i]);
    signal(SIGPIPE, SIG_IGN); /* a closed stdout must not kill us */
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 ||
        (loop_sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
        int err = errno;
        tide_error("cannot set up signal handling: %s", strerror(err));
        return -err;
    }
    return 0;
}

int tide_mpirun_loop_sigfd(void)
{
    return loop_sigfd;
}

static void loop_on_signal(tide_mpirun_job_t *job, int sig, pid_t pid)
{
    switch (sig) {
    case SIGCHLD:
        if (job->remote != NULL)
            tide_mpirun_remote_reap(job);
        else
            tide_mpirun_job_reap(job, pid);
        break;
    case SIGUSR1:
    case SIGUSR2: tide_mpirun_job_signal_all(job, sig); break;
    default: /* SIGINT, SIGTERM, SIGHUP */
        if (job->end == TIDE_MPIRUN_END_NONE) {
            tide_mpirun_job_end(job, TIDE_MPIRUN_END_KILLED, -1, 128 + sig);
        } else if (job->kill_sent < 2) {
            tide_mpirun_job_signal_all(job, SIGKILL);
            job->kill_sent = 2;
        }
    }
}

static void loop_read_signals(tide_mpirun_job_t *job)
{
    struct signalfd_siginfo si;
    while (read(loop_sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        loop_on_signal(job, (int)si.ssi_signo, (pid_t)si.ssi_pid);
}

static void loop_check_abort(tide_mpirun_job_t *job)
{
    int rank, code;
    char msg[8];
    tide_mpirun_server_drain_wake();
    if (tide_mpirun_server_abort_get(&rank, &code, msg, sizeof(msg))) {
        int c = code & 0xff;
        tide_mpirun_job_end(job, TIDE_MPIRUN_END_ABORT, rank, c == 0 && code != 0 ? 1 : c);
    }
}

/* Milliseconds until the nearest deadline, -1 for none. */
static int loop_timeout_ms(const tide_mpirun_job_t *job, uint64_t deadline, uint64_t now)
{
    uint64_t next = UINT64_MAX;
    if (deadline != 0 && job->end == TIDE_MPIRUN_END_NONE)
        next = deadline;
    if (job->kill_sent == 1 && job->kill_deadline_ns < next)
        next = job->kill_deadline_ns;
    if (next == UINT64_MAX)
        return -1;
    return next <= now ? 0 : (int)((next - now) / 1000000 + 1);
}

static void loop_tick(tide_mpirun_job_t *job, uint64_t deadline)
{
    uint64_t now = tide_time_ns();
    if (deadline != 0 && now >= deadline)
        tide_mpirun_job_end(job, TIDE_MPIRUN_END_TIMEOUT, -1, TIDE_MPIRUN_EXIT_TIMEOUT);
    tide_mpirun_job_kill_tick(job, now);
}

int tide_mpirun_loop_run(tide_mpirun_job_t *job)
{
    int max = 2 * job->np + 2 * job->nhosts + 6;
    struct pollfd *pfd = calloc((size_t)max, sizeof(*pfd));
    uint64_t deadline = 0;
    if (pfd == NULL) {
        tide_error("out of memory");
        tide_mpirun_job_end(job, TIDE_MPIRUN_END_LAUNCH, -1, TIDE_MPIRUN_EXIT_ERROR);
    }
    if (job->opts->timeout_s > 0)
        deadline = tide_time_ns() + (uint64_t)job->opts->timeout_s * 1000000000ull;
    if (job->remote == NULL)
        tide_mpirun_job_reap(job, 0); /* a rank may be gone already */
    while (job->nrunning > 0) {
        int n = 0;
        if (pfd != NULL) {
            pfd[0] = (struct pollfd){.fd = loop_sigfd, .events = POLLIN};
            pfd[1] = (struct pollfd){.fd = tide_mpirun_server_wake_fd(), .events = POLLIN};
            if (job->remote != NULL)
                n = 2 + tide_mpirun_remote_pollfds(job, pfd + 2, max - 2);
            else
                n = 2 + tide_mpirun_iof_pollfds(job, pfd + 2, max - 2);
        }
        int to = loop_timeout_ms(job, deadline, tide_time_ns());
        if (pfd == NULL || poll(pfd, (nfds_t)n, to) < 0) {
            struct pollfd one = {.fd = loop_sigfd, .events = POLLIN};
            poll(&one, 1, to < 0 || to > 100 ? 100 : to); /* degraded: signals only */
        } else if (job->remote != NULL) {
            tide_mpirun_remote_handle(job, pfd + 2, n - 2);
        } else {
            tide_mpirun_iof_handle(job, pfd + 2, n - 2);
        }
        /* deaths before aborts: an abort that other ranks' deaths provoked
         * must not hide them; a rank's own abort is known either way */
        loop_read_signals(job);
        if (pfd != NULL && pfd[1].revents)
            loop_check_abort(job);
        loop_tick(job, deadline);
    }
    free(pfd);
    if (job->remote != NULL)
        tide_mpirun_remote_finish(job);
    tide_mpirun_iof_finish(job);
    tide_mpirun_job_kill_groups(job);
    return tide_mpirun_job_exit_code(job);
}
