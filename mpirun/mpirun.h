/* mpirun's shared types: the options, the job (one entry per rank) and the
 * interfaces between the launcher's pieces.  main.c parses the command line,
 * bind.c places ranks on cores with hwloc, server.c is the PMIx server the
 * ranks connect to, job.c forks/execs/reaps/kills the ranks, iof.c forwards
 * their stdin/stdout/stderr line by line, loop.c is the one poll loop that
 * ties them together, tmpdir.c owns the private temporary directory.
 * Everything runs on the main thread except the PMIx callbacks in server.c,
 * which only set flags and wake the loop through an eventfd. */
#ifndef TIDE_MPIRUN_MPIRUN_H
#define TIDE_MPIRUN_MPIRUN_H

#include <poll.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Exit codes of mpirun itself (a failing rank's code is passed through). */
#define TIDE_MPIRUN_EXIT_ERROR   1   /* bad options, cannot set up, refused */
#define TIDE_MPIRUN_EXIT_TIMEOUT 124 /* --timeout expired (as timeout(1)) */
#define TIDE_MPIRUN_EXIT_NOEXEC  127 /* the program could not be started */

typedef enum {
    TIDE_MPIRUN_BIND_DEFAULT, /* core, or none when oversubscribed */
    TIDE_MPIRUN_BIND_CORE,
    TIDE_MPIRUN_BIND_NONE,
} tide_mpirun_bind_t;

typedef enum {
    TIDE_MPIRUN_MAP_CORE,   /* rank i on core i */
    TIDE_MPIRUN_MAP_SOCKET, /* round robin over packages */
} tide_mpirun_map_t;

typedef struct tide_mpirun_opts {
    int np;
    char **envs; /* -x values: "VAR" or "VAR=value" */
    int nenvs;
    int tag_output;
    int timeout_s; /* 0: none */
    tide_mpirun_bind_t bind;
    tide_mpirun_map_t map;
    int report_bindings;
    int oversubscribe;
    int recovery; /* --enable-recovery: a failed rank does not end the job */
    char **argv; /* program and its arguments */
} tide_mpirun_opts_t;

/* Line buffer of one forwarded output stream (stdout or stderr of a rank). */
typedef struct tide_mpirun_ostream {
    int fd; /* read end of the rank's pipe, -1 once closed */
    int to; /* where lines go: STDOUT_FILENO or STDERR_FILENO */
    char *buf;
    size_t len, cap;
} tide_mpirun_ostream_t;

typedef struct tide_mpirun_rank {
    int rank;
    pid_t pid;       /* 0 before start */
    int running;     /* started and not yet reaped */
    int wstatus;     /* from waitpid once reaped */
    int connected;   /* PMIx client connected (set by the PMIx thread) */
    int finalized;   /* PMIx client finalized (set by the PMIx thread) */
    int bound;       /* cpus below is a binding */
    cpu_set_t cpus;  /* binding, applied in the child before exec */
    char where[160]; /* "bound to core 3 (package 0): cpus 3" */
    tide_mpirun_ostream_t out, err;
} tide_mpirun_rank_t;

/* Why the job ends early; the first reason recorded wins. */
typedef enum {
    TIDE_MPIRUN_END_NONE,
    TIDE_MPIRUN_END_EXIT,       /* a rank exited non-zero */
    TIDE_MPIRUN_END_SIGNAL,     /* a rank died by a signal */
    TIDE_MPIRUN_END_NOFINALIZE, /* exited 0 after PMIx init, no finalize */
    TIDE_MPIRUN_END_ABORT,      /* a rank called PMIx_Abort (MPI_Abort) */
    TIDE_MPIRUN_END_TIMEOUT,    /* --timeout expired */
    TIDE_MPIRUN_END_KILLED,     /* mpirun got SIGINT/SIGTERM/SIGHUP */
    TIDE_MPIRUN_END_LAUNCH,     /* a rank could not be started */
} tide_mpirun_end_t;

typedef struct tide_mpirun_job {
    tide_mpirun_opts_t *opts;
    int np;
    tide_mpirun_rank_t *ranks;
    int nrunning;
    char nspace[256]; /* PMIX_MAX_NSLEN + 1 */
    char hostname[256];
    char tmpdir[4096];
    uint64_t jobkey;
    /* end of the job */
    tide_mpirun_end_t end;
    int end_rank;  /* rank the reason is about, -1 if none */
    int end_code;  /* exit code mpirun will return */
    int kill_sent; /* 0 none, 1 SIGTERM (or forwarded signal), 2 SIGKILL */
    /* --enable-recovery: the first rank that failed while the job went on */
    int fail_rank; /* -1 if none */
    int fail_code;
    uint64_t kill_deadline_ns;
    /* stdin forwarding to rank 0 */
    int stdin_src; /* our stdin, -1 when done */
    int stdin_dst; /* write end of rank 0's stdin pipe, -1 when closed */
    char stdin_buf[65536];
    size_t stdin_len;
} tide_mpirun_job_t;

/* main.c */
int tide_mpirun_opts_parse(int argc, char **argv, tide_mpirun_opts_t *o);

/* tmpdir.c: private directory under $TMPDIR, locked while we live. */
int tide_mpirun_tmpdir_create(char *path, size_t len);
void tide_mpirun_tmpdir_remove(const char *path);
void tide_mpirun_tmpdir_clean_stale(void);

/* bind.c: fill ranks[i].bound/cpus/where; 0 or -errno (message printed). */
int tide_mpirun_bind_plan(tide_mpirun_job_t *job);
void tide_mpirun_bind_report(const tide_mpirun_job_t *job, int rank);

/* server.c: the PMIx server. */
int tide_mpirun_server_init(const char *tmpdir);
int tide_mpirun_server_register(tide_mpirun_job_t *job);
int tide_mpirun_server_setup_fork(const tide_mpirun_job_t *job, int rank, char ***env);
int tide_mpirun_server_wake_fd(void);
void tide_mpirun_server_drain_wake(void);
/* Abort request, if any: 1 and fills rank/code/msg, else 0. */
int tide_mpirun_server_abort_get(int *rank, int *code, char *msg, size_t msglen);
/* --enable-recovery: PMIX_ERR_PROC_ABORTED about rank to the namespace. */
int tide_mpirun_server_notify_failed(const char *nspace, int rank);
void tide_mpirun_server_finalize(tide_mpirun_job_t *job);

/* job.c */
int tide_mpirun_job_spawn(tide_mpirun_job_t *job, int rank);
void tide_mpirun_job_reap(tide_mpirun_job_t *job, pid_t first);
void tide_mpirun_job_end(tide_mpirun_job_t *job, tide_mpirun_end_t why, int rank, int code);
void tide_mpirun_job_signal_all(tide_mpirun_job_t *job, int sig);
void tide_mpirun_job_kill_tick(tide_mpirun_job_t *job, uint64_t now_ns);
void tide_mpirun_job_kill_groups(tide_mpirun_job_t *job);
int tide_mpirun_job_exit_code(const tide_mpirun_job_t *job);
const char *tide_mpirun_signame(int sig, char *buf, size_t len);

/* iof.c */
void tide_mpirun_iof_init(tide_mpirun_job_t *job);
int tide_mpirun_iof_pollfds(tide_mpirun_job_t *job, struct pollfd *pfd, int max);
void tide_mpirun_iof_handle(tide_mpirun_job_t *job, struct pollfd *pfd, int n);
void tide_mpirun_iof_drain_rank(tide_mpirun_job_t *job, int rank);
void tide_mpirun_iof_finish(tide_mpirun_job_t *job);

/* loop.c: run the job to its end; returns mpirun's exit code. */
int tide_mpirun_loop_run(tide_mpirun_job_t *job);
int tide_mpirun_loop_signals_block(void);

#endif
