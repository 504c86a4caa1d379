/* mpirun: command line, and the order in which a job is set up and torn
 * down.  Options follow Open MPI's spelling (one or two dashes, "--opt v"
 * or "--opt=v"); the first word that is not an option (or the word after
 * "--") is the program, the rest its arguments.  Set-up: plan the binding
 * (a refusal starts nothing), block signals (before the PMIx thread
 * exists), clean temporary directories of dead mpiruns, make ours, start
 * the PMIx server, register the job, fork the ranks; then the loop; then
 * PMIx finalize and removal of the directory. */
#include "config.h"
#include "mpirun/mpirun.h"
#include "util/log.h"
#include "util/param.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pmix.h>
#include <pmix_server.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mpirun [options] [--] program [arguments...]\n"
            "Start an MPI job of N ranks on this node or on several hosts (Tide %s).\n"
            "  -n, -np N              number of ranks (default 1; with hosts: all slots)\n"
            "  -H, --host a,b:2       hosts (slots after ':', default 1); one daemon each\n"
            "  --hostfile FILE        hosts from FILE: 'name [slots=N]' lines, # comments\n"
            "  --launch-agent \"CMD\"   start daemons as 'CMD host mpirun --tide-daemon'\n"
            "                         (default ssh; srun inside a Slurm allocation)\n"
            "  --prefix DIR           the daemon is DIR/bin/mpirun on every host\n"
            "  --map-by POLICY        slot (default), node, ppr:N:node|socket|core: which\n"
            "                         host; core or socket: which core on a host\n"
            "  -npernode N            N ranks per host (--map-by ppr:N:node)\n"
            "  --display-map          print which ranks go to which host\n"
            "  -x VAR[=value]         pass VAR (from mpirun's environment, or set to value)\n"
            "  --tag-output           prefix each output line with [1,rank]<stdout>: or "
            "<stderr>:\n"
            "  --timeout SECONDS      kill the job after SECONDS, exit code 124\n"
            "  --bind-to core|socket|none  bind each rank to one core (default while "
            "ranks <= cores), to its socket, or not\n"
            "  --report-bindings      print each rank's binding on stderr\n"
            "  --oversubscribe        allow more ranks than cores (then ranks are not bound)\n"
            "  --enable-recovery      a failed rank does not end the job: the others get a\n"
            "                         PMIx event (PMIX_ERR_PROC_ABORTED) and go on\n"
            "  -h, --help             this help\n"
            "  -V, --version          version\n"
            "  --tunables             list mpirun's own TIDE_* tunables (tide_info lists all)\n"
            "See mpirun(1) for exit codes and environment.\n",
            PACKAGE_VERSION);
}

/* "--name" or "-name", with the value inline ("--name=v") or next. */
typedef struct opt_cursor {
    int argc, i;
    char **argv;
    const char *inline_val;
} opt_cursor_t;

static int opt_is(opt_cursor_t *c, const char *name)
{
    const char *a = c->argv[c->i];
    a += (a[1] == '-') ? 2 : 1;
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0 || (a[n] != '\0' && a[n] != '='))
        return 0;
    c->inline_val = a[n] == '=' ? a + n + 1 : NULL;
    return 1;
}

static const char *opt_value(opt_cursor_t *c)
{
    if (c->inline_val != NULL)
        return c->inline_val;
    if (c->i + 1 >= c->argc) {
        fprintf(stderr, "mpirun: option %s needs a value\n", c->argv[c->i]);
        return NULL;
    }
    return c->argv[++c->i];
}

static int opt_int(opt_cursor_t *c, int min, int *out)
{
    const char *name = c->argv[c->i];
    const char *v = opt_value(c);
    char *end;
    if (v == NULL)
        return -EINVAL;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || x < min || x > INT_MAX) {
        fprintf(stderr, "mpirun: %.*s: '%s' is not a whole number >= %d\n", (int)strcspn(name, "="),
                name, v, min);
        return -EINVAL;
    }
    *out = (int)x;
    return 0;
}

static int opt_bind(opt_cursor_t *c, tide_mpirun_opts_t *o)
{
    const char *v = opt_value(c);
    if (v != NULL && strcmp(v, "core") == 0)
        o->bind = TIDE_MPIRUN_BIND_CORE;
    else if (v != NULL && strcmp(v, "none") == 0)
        o->bind = TIDE_MPIRUN_BIND_NONE;
    else if (v != NULL && (strcmp(v, "socket") == 0 || strcmp(v, "package") == 0))
        o->bind = TIDE_MPIRUN_BIND_SOCKET;
    else
        return v       ? fprintf(stderr, "mpirun: --bind-to: use core, socket or none\n"),
               -EINVAL : -EINVAL;
    return 0;
}

/* "ppr:N:node|socket|package|core" */
static int opt_ppr(const char *v, tide_mpirun_opts_t *o)
{
    char unit[16];
    int n, len = 0;
    if (sscanf(v, "ppr:%d:%15[a-z]%n", &n, unit, &len) != 2 || v[len] != '\0' || n < 1)
        return -EINVAL;
    if (strcmp(unit, "package") == 0)
        snprintf(unit, sizeof(unit), "socket");
    if (strcmp(unit, "node") != 0 && strcmp(unit, "socket") != 0 && strcmp(unit, "core") != 0)
        return -EINVAL;
    o->hmap = TIDE_MPIRUN_HMAP_PPR;
    o->ppr = n;
    snprintf(o->ppr_unit, sizeof(o->ppr_unit), "%s", unit);
    return 0;
}

static int opt_map(opt_cursor_t *c, tide_mpirun_opts_t *o)
{
    const char *v = opt_value(c);
    if (v == NULL)
        return -EINVAL;
    if (strcmp(v, "core") == 0)
        o->map = TIDE_MPIRUN_MAP_CORE;
    else if (strcmp(v, "socket") == 0 || strcmp(v, "package") == 0)
        o->map = TIDE_MPIRUN_MAP_SOCKET;
    else if (strcmp(v, "slot") == 0)
        o->hmap = TIDE_MPIRUN_HMAP_SLOT;
    else if (strcmp(v, "node") == 0)
        o->hmap = TIDE_MPIRUN_HMAP_NODE;
    else if (opt_ppr(v, o) < 0) {
        fprintf(stderr, "mpirun: --map-by: use slot, node, ppr:N:node|socket|core, core or "
                        "socket\n");
        return -EINVAL;
    }
    return 0;
}

static int opt_npernode(opt_cursor_t *c, tide_mpirun_opts_t *o)
{
    if (opt_int(c, 1, &o->ppr) < 0)
        return -EINVAL;
    o->hmap = TIDE_MPIRUN_HMAP_PPR;
    snprintf(o->ppr_unit, sizeof(o->ppr_unit), "node");
    return 0;
}

static int opt_str(opt_cursor_t *c, const char **out)
{
    const char *v = opt_value(c);
    if (v == NULL || v[0] == '\0') {
        if (v != NULL)
            fprintf(stderr, "mpirun: %s needs a value\n", c->argv[c->i]);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

static int opt_env(opt_cursor_t *c, tide_mpirun_opts_t *o)
{
    const char *v = opt_value(c);
    if (v == NULL || v[0] == '\0' || v[0] == '=') {
        if (v != NULL)
            fprintf(stderr, "mpirun: -x needs VAR or VAR=value\n");
        return -EINVAL;
    }
    if (strchr(v, '=') == NULL && getenv(v) == NULL)
        fprintf(stderr, "mpirun: warning: -x %s: %s is not set in mpirun's environment\n", v, v);
    o->envs[o->nenvs++] = (char *)v;
    return 0;
}

/* One option at c->i; 1 when handled, 0 unknown, -1 error, 2 exit 0. */
static int opt_one(opt_cursor_t *c, tide_mpirun_opts_t *o)
{
    if (opt_is(c, "np") || opt_is(c, "n"))
        return opt_int(c, 1, &o->np) < 0 ? -1 : (o->np_set = 1);
    if (opt_is(c, "host") || opt_is(c, "H"))
        return opt_str(c, &o->hosts) < 0 ? -1 : 1;
    if (opt_is(c, "hostfile") || opt_is(c, "machinefile"))
        return opt_str(c, &o->hostfile) < 0 ? -1 : 1;
    if (opt_is(c, "launch-agent"))
        return opt_str(c, &o->agent) < 0 ? -1 : 1;
    if (opt_is(c, "prefix"))
        return opt_str(c, &o->prefix) < 0 ? -1 : 1;
    if (opt_is(c, "npernode"))
        return opt_npernode(c, o) < 0 ? -1 : 1;
    if (opt_is(c, "display-map"))
        return o->display_map = 1;
    if (opt_is(c, "x"))
        return opt_env(c, o) < 0 ? -1 : 1;
    if (opt_is(c, "timeout"))
        return opt_int(c, 1, &o->timeout_s) < 0 ? -1 : 1;
    if (opt_is(c, "bind-to"))
        return opt_bind(c, o) < 0 ? -1 : 1;
    if (opt_is(c, "map-by"))
        return opt_map(c, o) < 0 ? -1 : 1;
    if (opt_is(c, "tag-output"))
        return o->tag_output = 1;
    if (opt_is(c, "report-bindings"))
        return o->report_bindings = 1;
    if (opt_is(c, "oversubscribe"))
        return o->oversubscribe = 1;
    if (opt_is(c, "enable-recovery"))
        return o->recovery = 1;
    if (opt_is(c, "h") || opt_is(c, "help"))
        return usage(stdout), 2;
    if (opt_is(c, "tunables") || opt_is(c, "tunables-brief")) {
        /* mpirun's own TIDE_* tunables (tide_info lists them with libmpi's). */
        int verbose = opt_is(c, "tunables");
        for (int i = 0; i < tide_param_count(); i++)
            tide_param_print(tide_param_at(i), verbose, stdout);
        return 2;
    }
    if (opt_is(c, "V") || opt_is(c, "version")) {
        printf("mpirun (Tide) %s\nPMIx %s\n", PACKAGE_VERSION, PMIx_Get_version());
        return 2;
    }
    return 0;
}

/* 0 to run, 1 done (help/version), -EINVAL on a usage error. */
int tide_mpirun_opts_parse(int argc, char **argv, tide_mpirun_opts_t *o)
{
    opt_cursor_t c = {argc, 1, argv, NULL};
    *o = (tide_mpirun_opts_t){.np = 1, .bind = TIDE_MPIRUN_BIND_DEFAULT};
    o->envs = calloc((size_t)argc, sizeof(char *));
    if (o->envs == NULL)
        return -ENOMEM;
    for (; c.i < argc; c.i++) {
        const char *a = argv[c.i];
        if (strcmp(a, "--") == 0) {
            c.i++;
            break;
        }
        if (a[0] != '-' || a[1] == '\0')
            break;
        int r = opt_one(&c, o);
        if (r < 0 || r == 2)
            return r < 0 ? -EINVAL : 1;
        if (r == 0) {
            fprintf(stderr, "mpirun: unknown option %s (see mpirun --help)\n", a);
            return -EINVAL;
        }
    }
    if (c.i >= argc) {
        fprintf(stderr, "mpirun: no program given (see mpirun --help)\n");
        return -EINVAL;
    }
    o->argv = argv + c.i;
    return 0;
}

/* Make sure fds 0-2 exist, so no pipe of ours ever lands on them. */
static void main_std_fds(void)
{
    for (int fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) < 0) {
            int n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
            if (n >= 0 && n != fd)
                close(n);
        }
    }
}

static int main_job_init(tide_mpirun_job_t *job, tide_mpirun_opts_t *o)
{
    uint32_t tag = 0;
    *job = (tide_mpirun_job_t){.opts = o, .np = o->np, .end_rank = -1, .fail_rank = -1};
    job->ranks = calloc((size_t)o->np, sizeof(*job->ranks));
    if (job->ranks == NULL) {
        fprintf(stderr, "mpirun: out of memory for %d ranks\n", o->np);
        return -ENOMEM;
    }
    for (int i = 0; i < o->np; i++)
        job->ranks[i].rank = i;
    if (getrandom(&job->jobkey, sizeof(job->jobkey), 0) != sizeof(job->jobkey) ||
        getrandom(&tag, sizeof(tag), 0) != sizeof(tag)) {
        tide_error("getrandom: %s", strerror(errno));
        return -EIO;
    }
    gethostname(job->hostname, sizeof(job->hostname) - 1);
    snprintf(job->nspace, sizeof(job->nspace), "tide-%d-%08x", (int)getpid(), tag);
    /* a single node until remote.c says otherwise */
    job->nhosts = 1;
    job->hostnames = calloc(1, sizeof(*job->hostnames));
    if (job->hostnames == NULL)
        return -ENOMEM;
    memcpy(job->hostnames[0], job->hostname, sizeof(job->hostname));
    for (int i = 0; i < o->np; i++)
        job->ranks[i].local_rank = i;
    tide_mpirun_iof_init(job);
    return 0;
}

/* Hosts from --host, --hostfile or the Slurm allocation; 0 when none
 * (a single-node job), 1 when some, -errno on an error. */
static int main_hosts(const tide_mpirun_opts_t *o, tide_mpirun_hostlist_t *l)
{
    int ret = 0;
    if (o->hosts != NULL)
        ret = tide_mpirun_hosts_parse_list(l, o->hosts);
    if (ret == 0 && o->hostfile != NULL)
        ret = tide_mpirun_hosts_parse_file(l, o->hostfile);
    if (ret == 0 && o->hosts == NULL && o->hostfile == NULL && getenv("SLURM_JOB_ID") != NULL &&
        (getenv("SLURM_JOB_NODELIST") != NULL || getenv("SLURM_NODELIST") != NULL))
        ret = tide_mpirun_hosts_from_slurm(l);
    return ret < 0 ? ret : l->n > 0;
}

/* -np by default: every slot, or what the ppr policy places. */
static void main_default_np(tide_mpirun_opts_t *o, const tide_mpirun_hostlist_t *l)
{
    if (o->np_set)
        return;
    o->np = 0;
    for (int h = 0; h < l->n; h++)
        o->np +=
            o->hmap == TIDE_MPIRUN_HMAP_PPR ? tide_mpirun_hosts_ppr_per_host(o) : l->h[h].slots;
}

/* A job over daemons on the hosts of l. */
static int main_multi(tide_mpirun_opts_t *o, tide_mpirun_hostlist_t *l)
{
    tide_mpirun_job_t job;
    main_default_np(o, l);
    if (main_job_init(&job, o) < 0)
        return TIDE_MPIRUN_EXIT_ERROR;
    if (tide_mpirun_hosts_map(&job, l) < 0)
        return TIDE_MPIRUN_EXIT_ERROR;
    if (o->display_map)
        tide_mpirun_hosts_display(&job, l);
    if (tide_mpirun_loop_signals_block() < 0)
        return TIDE_MPIRUN_EXIT_ERROR;
    tide_mpirun_remote_start(&job, l);
    int rc = tide_mpirun_loop_run(&job);
    fflush(NULL);
    return rc;
}

/* Everything up to and including the start of every rank. */
static int main_setup(tide_mpirun_job_t *job)
{
    int ret = tide_mpirun_bind_plan(job);
    if (ret < 0)
        return ret;
    if ((ret = tide_mpirun_loop_signals_block()) < 0)
        return ret;
    tide_mpirun_tmpdir_clean_stale();
    if ((ret = tide_mpirun_tmpdir_create(job->tmpdir, sizeof(job->tmpdir))) < 0)
        return ret;
    /* PMIx 4.2's shared-memory datastore (gds/shmem) is fragile; the hash
     * datastore is what we test.  A user's own choice is kept. */
    setenv("PMIX_MCA_gds", "hash", 0);
    if ((ret = tide_mpirun_server_init(job->tmpdir)) < 0)
        return ret;
    return tide_mpirun_server_register(job);
}

static int main_start_ranks(tide_mpirun_job_t *job)
{
    for (int i = 0; i < job->np; i++) {
        int ret = tide_mpirun_job_spawn(job, i);
        if (ret < 0) {
            tide_mpirun_job_end(job, TIDE_MPIRUN_END_LAUNCH, i,
                                ret == -ENOENT || ret == -EACCES ? TIDE_MPIRUN_EXIT_NOEXEC
                                                                 : TIDE_MPIRUN_EXIT_ERROR);
            return ret;
        }
        if (job->opts->report_bindings)
            tide_mpirun_bind_report(job, i);
    }
    return 0;
}

int main(int argc, char **argv)
{
    tide_mpirun_opts_t opts;
    tide_mpirun_job_t job;
    tide_mpirun_hostlist_t hosts = {0};
    if (argc == 2 && strcmp(argv[1], "--tide-daemon") == 0) {
        main_std_fds();
        tide_log_set_identity(-1);
        int drc = tide_mpirun_daemon_main();
        fflush(NULL);
        _exit(drc);
    }
    int rc = tide_mpirun_opts_parse(argc, argv, &opts);
    if (rc != 0) {
        free(opts.envs);
        return rc > 0 ? 0 : TIDE_MPIRUN_EXIT_ERROR;
    }
    main_std_fds();
    tide_log_set_identity(-1);
    rc = main_hosts(&opts, &hosts);
    if (rc < 0)
        return TIDE_MPIRUN_EXIT_ERROR;
    if (rc > 0)
        _exit(main_multi(&opts, &hosts));
    if (main_job_init(&job, &opts) < 0)
        return TIDE_MPIRUN_EXIT_ERROR;
    if (opts.display_map) { /* one host: this one, every rank on it */
        tide_mpirun_host_t self = {.slots = opts.np, .nranks = opts.np};
        memcpy(self.name, job.hostname, sizeof(self.name));
        tide_mpirun_hostlist_t one = {.h = &self, .n = 1, .cap = 1};
        tide_mpirun_hosts_display(&job, &one);
    }
    rc = TIDE_MPIRUN_EXIT_ERROR;
    if (main_setup(&job) == 0) {
        main_start_ranks(&job);
        rc = tide_mpirun_loop_run(&job);
    } else if (job.nrunning > 0) {
        rc = tide_mpirun_loop_run(&job);
    }
    tide_mpirun_server_finalize(&job);
    tide_mpirun_tmpdir_remove(job.tmpdir);
    free(job.ranks);
    free(opts.envs);
    /* _exit: the PMIx progress thread is still running (see server.c), so
     * no library destructors may run under it. */
    fflush(NULL);
    _exit(rc);
}
