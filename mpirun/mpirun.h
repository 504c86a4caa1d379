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
    TIDE_MPIRUN_BIND_SOCKET, /* all cpus of the package of the rank's core */
    TIDE_MPIRUN_BIND_NONE,
} tide_mpirun_bind_t;

/* Which core a rank gets on its host (bind.c). */
typedef enum {
    TIDE_MPIRUN_MAP_CORE,   /* local rank i on core i */
    TIDE_MPIRUN_MAP_SOCKET, /* round robin over packages */
} tide_mpirun_map_t;

/* Which host a rank goes to (hosts.c). */
typedef enum {
    TIDE_MPIRUN_HMAP_SLOT, /* fill each host's slots in order (default) */
    TIDE_MPIRUN_HMAP_NODE, /* round robin over the hosts */
    TIDE_MPIRUN_HMAP_PPR,  /* ppr:N:node|socket|core: N per node/socket/core */
} tide_mpirun_hmap_t;

/* One host of a multi-host job: from --host, --hostfile or Slurm. */
typedef struct tide_mpirun_host {
    char name[256];
    int slots;
    int nranks; /* mapped onto it */
} tide_mpirun_host_t;

typedef struct tide_mpirun_hostlist {
    tide_mpirun_host_t *h;
    int n, cap;
} tide_mpirun_hostlist_t;

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
    int np_set;   /* -np given */
    /* several hosts (none of these given: the single-node launcher) */
    const char *hosts;    /* --host a,b:2 */
    const char *hostfile; /* --hostfile FILE */
    const char *agent;    /* --launch-agent "CMD" (NULL: ssh, or srun in Slurm) */
    const char *prefix;   /* --prefix DIR: the daemon is DIR/bin/mpirun */
    tide_mpirun_hmap_t hmap;
    int ppr;           /* N of ppr:N:... */
    char ppr_unit[16]; /* node, socket, core */
    int display_map;
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
    int host;        /* index in the job's host list (0 on a single node) */
    int local_rank;  /* index among the ranks of its host */
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
    TIDE_MPIRUN_END_DAEMON,     /* a host's daemon died or was lost */
} tide_mpirun_end_t;

struct tide_mpirun_remote;

typedef struct tide_mpirun_job {
    tide_mpirun_opts_t *opts;
    int np;
    tide_mpirun_rank_t *ranks;
    int nrunning;
    char nspace[256];   /* PMIX_MAX_NSLEN + 1 */
    char hostname[256]; /* this host's name as the job knows it */
    /* hosts of the job; a single-node job has one, this one */
    int nhosts;
    char (*hostnames)[256];
    int myhost;                        /* this process's host: 0 for mpirun alone, the daemon's */
    struct tide_mpirun_remote *remote; /* mpirun over daemons, else NULL */
    int daemon;                        /* this process is a host's daemon */
    char end_msg[512];                 /* the reason, for END_DAEMON */
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

/* hosts.c: host lists, Slurm's notations, mapping ranks to hosts. */
int tide_mpirun_hosts_add(tide_mpirun_hostlist_t *l, const char *name, int slots);
int tide_mpirun_hosts_parse_list(tide_mpirun_hostlist_t *l, const char *spec);
int tide_mpirun_hosts_parse_file(tide_mpirun_hostlist_t *l, const char *path);
int tide_mpirun_hosts_slurm_nodelist(const char *spec, char ***names, int *n);
int tide_mpirun_hosts_slurm_tasks(const char *spec, int *slots, int n);
int tide_mpirun_hosts_from_slurm(tide_mpirun_hostlist_t *l);
int tide_mpirun_hosts_ppr_per_host(const tide_mpirun_opts_t *o);
int tide_mpirun_hosts_map(tide_mpirun_job_t *job, tide_mpirun_hostlist_t *l);
void tide_mpirun_hosts_display(const tide_mpirun_job_t *job, const tide_mpirun_hostlist_t *l);
void tide_mpirun_hosts_free(tide_mpirun_hostlist_t *l);

/* remote.c: mpirun's side of a multi-host job (daemons through an agent). */
int tide_mpirun_remote_start(tide_mpirun_job_t *job, tide_mpirun_hostlist_t *l);
int tide_mpirun_remote_pollfds(tide_mpirun_job_t *job, struct pollfd *pfd, int max);
void tide_mpirun_remote_handle(tide_mpirun_job_t *job, struct pollfd *pfd, int n);
void tide_mpirun_remote_reap(tide_mpirun_job_t *job);
void tide_mpirun_remote_signal(tide_mpirun_job_t *job, int sig);
void tide_mpirun_remote_notify(tide_mpirun_job_t *job, int rank);
void tide_mpirun_remote_finish(tide_mpirun_job_t *job);

/* daemon.c: "mpirun --tide-daemon", the per-host daemon. */
int tide_mpirun_daemon_main(void);
void tide_mpirun_daemon_reaped(tide_mpirun_job_t *job, int rank);

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
void tide_mpirun_server_abort_record(int rank, int code, const char *msg);
/* Multi-host relays (daemon.c sets them): fence and direct modex go up. */
typedef void (*tide_mpirun_fence_up_t)(const char *data, size_t len, void *cbfunc, void *cbdata);
typedef int (*tide_mpirun_dmodex_up_t)(int rank, void *cbfunc, void *cbdata);
typedef void (*tide_mpirun_abort_up_t)(int rank, int code, const char *msg);
void tide_mpirun_server_set_relays(tide_mpirun_fence_up_t f, tide_mpirun_dmodex_up_t d,
                                   tide_mpirun_abort_up_t a);
int tide_mpirun_server_init_host(const char *tmpdir, const char *hostname);
void tide_mpirun_server_fence_done(void *cbfunc, void *cbdata, const char *data, size_t len);
void tide_mpirun_server_dmodex_done(void *cbfunc, void *cbdata, int status, const char *data,
                                    size_t len);
int tide_mpirun_server_dmodex_local(const char *nspace, int rank,
                                    void (*done)(int status, char *data, size_t len, void *ctx),
                                    void *ctx);
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
uint64_t tide_mpirun_job_kill_grace_ns(void);
void tide_mpirun_job_exited(tide_mpirun_job_t *job, int rank, int wstatus);
char **tide_mpirun_job_env(const tide_mpirun_opts_t *o);
int tide_mpirun_job_exit_code(const tide_mpirun_job_t *job);
const char *tide_mpirun_signame(int sig, char *buf, size_t len);

/* iof.c */
void tide_mpirun_iof_init(tide_mpirun_job_t *job);
int tide_mpirun_iof_pollfds(tide_mpirun_job_t *job, struct pollfd *pfd, int max);
void tide_mpirun_iof_handle(tide_mpirun_job_t *job, struct pollfd *pfd, int n);
void tide_mpirun_iof_drain_rank(tide_mpirun_job_t *job, int rank);
void tide_mpirun_iof_finish(tide_mpirun_job_t *job);
/* Output of a remote rank, as its daemon read it (which: 1 stdout, 2 stderr). */
void tide_mpirun_iof_feed(tide_mpirun_job_t *job, int rank, int which, const char *p, size_t len);
void tide_mpirun_iof_flush_rank(tide_mpirun_job_t *job, int rank);

/* frame.c: the framed protocol between mpirun and its daemons. */
enum {
    /* mpirun -> daemon */
    TIDE_FRAME_JOB = 1,    /* the job description */
    TIDE_FRAME_STDIN,      /* bytes for rank 0; empty: end of input */
    TIDE_FRAME_FENCE_REL,  /* every host's fence data, concatenated */
    TIDE_FRAME_DMODEX_REQ, /* u32 id, u32 rank: that rank's data, please */
    TIDE_FRAME_DMODEX_REP, /* u32 id, i32 status, data */
    TIDE_FRAME_SIGNAL,     /* u32 signal for every local rank */
    TIDE_FRAME_NOTIFY,     /* u32 rank failed (--enable-recovery) */
    /* daemon -> mpirun */
    TIDE_FRAME_STARTED = 16, /* u32 rank, u32 pid */
    TIDE_FRAME_OUT,          /* u32 rank, u32 which (1, 2), bytes */
    TIDE_FRAME_EXIT,         /* u32 rank, i32 wait status, u32 connected, u32 finalized */
    TIDE_FRAME_ABORT,        /* u32 rank, i32 code, string message */
    TIDE_FRAME_FENCE,        /* this host's fence data */
    TIDE_FRAME_LAUNCH_FAIL,  /* u32 rank, i32 exit code mpirun should use */
};

typedef struct tide_frame_buf {
    char *p;
    size_t len, cap, off;
    int bad; /* a get ran past the end, or out of memory */
} tide_frame_buf_t;

void tide_frame_put_u32(tide_frame_buf_t *b, uint32_t v);
void tide_frame_put_u64(tide_frame_buf_t *b, uint64_t v);
void tide_frame_put_bytes(tide_frame_buf_t *b, const void *p, size_t len);
void tide_frame_put_str(tide_frame_buf_t *b, const char *s);
void tide_frame_put_raw(tide_frame_buf_t *b, const void *p, size_t len); /* no length */
uint32_t tide_frame_get_u32(tide_frame_buf_t *b);
uint64_t tide_frame_get_u64(tide_frame_buf_t *b);
const char *tide_frame_get_bytes(tide_frame_buf_t *b, size_t *len);
const char *tide_frame_get_str(tide_frame_buf_t *b);
void tide_frame_buf_free(tide_frame_buf_t *b);
int tide_frame_send(int fd, uint32_t type, const void *p, size_t len);
void tide_frame_encode(tide_frame_buf_t *b, uint32_t type, const void *p, size_t len);
/* Reads what fd has; 1 on data, 0 on end of file, -errno. */
int tide_frame_read(int fd, tide_frame_buf_t *in);
/* Next whole frame in `in`: 1 (type, payload view in *out), 0 none yet. */
int tide_frame_next(tide_frame_buf_t *in, uint32_t *type, tide_frame_buf_t *out);

/* loop.c: run the job to its end; returns mpirun's exit code. */
int tide_mpirun_loop_run(tide_mpirun_job_t *job);
int tide_mpirun_loop_signals_block(void);
int tide_mpirun_loop_sigfd(void);

#endif
