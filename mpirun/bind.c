/* Mapping and binding of ranks with hwloc, before anything is started.
 *
 * The topology is loaded once; only the cores mpirun itself may run on
 * count (hwloc drops disallowed ones).  --map-by core puts rank i on core i,
 * --map-by socket deals ranks round robin over the packages.  With
 * --bind-to core (the default while every rank has a core of its own) the
 * rank's cpu set is all hardware threads of its core; the child applies it
 * with sched_setaffinity before exec (nothing else is safe between fork and
 * exec in a threaded process); --bind-to socket widens it to the core's
 * package.  More ranks than cores is refused, like Open MPI, unless
 * --oversubscribe, and then ranks are not bound.  Only the ranks of this
 * host are placed (a daemon places its own), by their local rank. */
#include "config.h"
#include "mpirun/mpirun.h"
#include "util/log.h"

#include <errno.h>
#include <hwloc.h>
#include <hwloc/glibc-sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bind_topo {
    hwloc_topology_t topo;
    int ncores;
    hwloc_obj_type_t core_type; /* CORE, or PU where cores are not reported */
    int npkgs;
} bind_topo_t;

static int bind_topo_load(bind_topo_t *t)
{
    if (hwloc_topology_init(&t->topo) < 0 || hwloc_topology_load(t->topo) < 0) {
        tide_error("hwloc cannot load this machine's topology");
        return -EIO;
    }
    t->core_type = HWLOC_OBJ_CORE;
    t->ncores = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_CORE);
    if (t->ncores <= 0) {
        t->core_type = HWLOC_OBJ_PU;
        t->ncores = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_PU);
    }
    t->npkgs = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_PACKAGE);
    if (t->npkgs <= 0)
        t->npkgs = 1;
    return t->ncores > 0 ? 0 : -EIO;
}

static hwloc_obj_t bind_pkg(bind_topo_t *t, int p)
{
    return hwloc_get_obj_by_type(t->topo, HWLOC_OBJ_PACKAGE, (unsigned)p);
}

static int bind_cores_in(bind_topo_t *t, int p)
{
    hwloc_obj_t pkg = bind_pkg(t, p);
    if (pkg == NULL)
        return t->ncores;
    return hwloc_get_nbobjs_inside_cpuset_by_type(t->topo, pkg->cpuset, t->core_type);
}

/* --map-by socket: rank i goes to package i % npkgs, or the next one that
 * still has a free core; used[] counts cores taken per package. */
static hwloc_obj_t bind_pick_socket(bind_topo_t *t, int i, int *used)
{
    for (int k = 0; k < t->npkgs; k++) {
        int p = (i + k) % t->npkgs;
        hwloc_obj_t pkg = bind_pkg(t, p);
        if (used[p] >= bind_cores_in(t, p))
            continue;
        if (pkg == NULL)
            return hwloc_get_obj_by_type(t->topo, t->core_type, (unsigned)used[p]++);
        return hwloc_get_obj_inside_cpuset_by_type(t->topo, pkg->cpuset, t->core_type,
                                                   (unsigned)used[p]++);
    }
    return NULL;
}

static void bind_describe(bind_topo_t *t, hwloc_obj_t core, tide_mpirun_rank_t *r)
{
    hwloc_obj_t pkg = hwloc_get_ancestor_obj_by_type(t->topo, HWLOC_OBJ_PACKAGE, core);
    char cpus[64];
    hwloc_bitmap_list_snprintf(cpus, sizeof(cpus), core->cpuset);
    snprintf(r->where, sizeof(r->where), "bound to %s %u (package %u): cpus %s",
             core->type == HWLOC_OBJ_CORE ? "core" : "hwthread", core->logical_index,
             pkg ? pkg->logical_index : 0, cpus);
}

static void bind_describe_pkg(hwloc_obj_t pkg, tide_mpirun_rank_t *r)
{
    char cpus[64];
    hwloc_bitmap_list_snprintf(cpus, sizeof(cpus), pkg->cpuset);
    snprintf(r->where, sizeof(r->where), "bound to package %u: cpus %s", pkg->logical_index, cpus);
}

static int bind_place(bind_topo_t *t, tide_mpirun_job_t *job)
{
    int *used = calloc((size_t)t->npkgs, sizeof(int));
    if (used == NULL)
        return -ENOMEM;
    for (int i = 0; i < job->np; i++) {
        tide_mpirun_rank_t *r = &job->ranks[i];
        int li = r->local_rank;
        if (r->host != job->myhost)
            continue;
        if (job->opts->bind == TIDE_MPIRUN_BIND_SOCKET)
            li %= t->ncores; /* may share: only the package matters */
        hwloc_obj_t core = job->opts->map == TIDE_MPIRUN_MAP_SOCKET
                               ? bind_pick_socket(t, li, used)
                               : hwloc_get_obj_by_type(t->topo, t->core_type, (unsigned)li);
        if (core == NULL) {
            free(used);
            tide_error("no core left for rank %d", i);
            return -EINVAL;
        }
        hwloc_obj_t pkg = hwloc_get_ancestor_obj_by_type(t->topo, HWLOC_OBJ_PACKAGE, core);
        hwloc_obj_t where = job->opts->bind == TIDE_MPIRUN_BIND_SOCKET && pkg ? pkg : core;
        CPU_ZERO(&r->cpus);
        hwloc_cpuset_to_glibc_sched_affinity(t->topo, where->cpuset, &r->cpus, sizeof(r->cpus));
        r->bound = 1;
        if (where == core)
            bind_describe(t, core, r);
        else
            bind_describe_pkg(pkg, r);
    }
    free(used);
    return 0;
}

static void bind_none(bind_topo_t *t, tide_mpirun_job_t *job)
{
    cpu_set_t mine;
    char cpus[64] = "?";
    if (sched_getaffinity(0, sizeof(mine), &mine) == 0) {
        hwloc_bitmap_t b = hwloc_bitmap_alloc();
        hwloc_cpuset_from_glibc_sched_affinity(t->topo, b, &mine, sizeof(mine));
        hwloc_bitmap_list_snprintf(cpus, sizeof(cpus), b);
        hwloc_bitmap_free(b);
    }
    for (int i = 0; i < job->np; i++) {
        job->ranks[i].bound = 0;
        snprintf(job->ranks[i].where, sizeof(job->ranks[i].where), "not bound: cpus %s", cpus);
    }
}

static int bind_nlocal(const tide_mpirun_job_t *job)
{
    int n = 0;
    for (int i = 0; i < job->np; i++)
        n += job->ranks[i].host == job->myhost;
    return n;
}

/* Refusals, with what to do about them; -EINVAL or 0.  A daemon never
 * refuses for lack of cores: mpirun checked the slots already. */
static int bind_check(const bind_topo_t *t, const tide_mpirun_job_t *job)
{
    const tide_mpirun_opts_t *o = job->opts;
    int nlocal = bind_nlocal(job);
    if (nlocal <= t->ncores)
        return 0;
    if (!o->oversubscribe) {
        fprintf(stderr,
                "mpirun: not enough slots: %d ranks requested but this node has only %d "
                "cores available.\n"
                "mpirun: run fewer ranks, or add --oversubscribe to run them anyway "
                "(then ranks are not bound).\n",
                nlocal, t->ncores);
        return -EINVAL;
    }
    if (o->bind == TIDE_MPIRUN_BIND_CORE) {
        fprintf(stderr,
                "mpirun: [%s] cannot bind %d ranks one per core on %d cores; "
                "use --bind-to none (or socket) with --oversubscribe.\n",
                job->hostname, nlocal, t->ncores);
        return -EINVAL;
    }
    return 0;
}

int tide_mpirun_bind_plan(tide_mpirun_job_t *job)
{
    bind_topo_t t = {0};
    int ret = bind_topo_load(&t);
    if (ret == 0)
        ret = bind_check(&t, job);
    if (ret == 0) {
        if (job->opts->bind == TIDE_MPIRUN_BIND_NONE ||
            (bind_nlocal(job) > t.ncores && job->opts->bind != TIDE_MPIRUN_BIND_SOCKET))
            bind_none(&t, job);
        else
            ret = bind_place(&t, job);
    }
    if (t.topo != NULL)
        hwloc_topology_destroy(t.topo);
    return ret;
}

void tide_mpirun_bind_report(const tide_mpirun_job_t *job, int rank)
{
    const tide_mpirun_rank_t *r = &job->ranks[rank];
    fprintf(stderr, "mpirun: [%s] rank %d (pid %d) %s\n", job->hostname, rank, (int)r->pid,
            r->where);
}
