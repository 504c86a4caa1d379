/* Hosts of a multi-host job and the mapping of ranks onto them.
 *
 * Hosts come from --host ("a,b:2,a": a repeated name adds slots, a name
 * without ":N" has 1 slot), from --hostfile (one host per line,
 * "name [slots=N] [max_slots=M]", '#' starts a comment, slots default 1),
 * or, inside a Slurm allocation, from SLURM_JOB_NODELIST ("n[1-3,7],m5",
 * zero padding kept: "n[01-02]") and SLURM_TASKS_PER_NODE ("2(x3),1").
 * Ranks go to hosts by slot (fill each host's slots in order; the default),
 * by node (round robin over hosts with free slots), or by ppr:N:unit (N
 * ranks per node, per socket or per core of each host).  Sockets and cores
 * of the remote hosts are taken to be those of this one (a homogeneous
 * cluster); slots are never exceeded unless --oversubscribe, as in Open
 * MPI, and the refusal names the shortfall. */
#include "config.h"
#include "mpirun/mpirun.h"
#include "util/log.h"

#include <ctype.h>
#include <errno.h>
#include <hwloc.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tide_mpirun_hosts_add(tide_mpirun_hostlist_t *l, const char *name, int slots)
{
    if (name[0] == '\0' || strlen(name) >= sizeof(l->h[0].name) || slots < 1) {
        fprintf(stderr, "mpirun: bad host '%s' (or slots %d)\n", name, slots);
        return -EINVAL;
    }
    for (int i = 0; i < l->n; i++) {
        if (strcmp(l->h[i].name, name) == 0) {
            l->h[i].slots += slots;
            return 0;
        }
    }
    if (l->n == l->cap) {
        int ncap = l->cap ? 2 * l->cap : 8;
        tide_mpirun_host_t *nh = realloc(l->h, (size_t)ncap * sizeof(*nh));
        if (nh == NULL)
            return -ENOMEM;
        l->h = nh;
        l->cap = ncap;
    }
    tide_mpirun_host_t *h = &l->h[l->n++];
    *h = (tide_mpirun_host_t){.slots = slots};
    snprintf(h->name, sizeof(h->name), "%s", name);
    return 0;
}

void tide_mpirun_hosts_free(tide_mpirun_hostlist_t *l)
{
    free(l->h);
    *l = (tide_mpirun_hostlist_t){0};
}

static int hosts_slots(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < 1 || v > INT_MAX)
        return -EINVAL;
    *out = (int)v;
    return 0;
}

/* --host a,b:2 */
int tide_mpirun_hosts_parse_list(tide_mpirun_hostlist_t *l, const char *spec)
{
    char *dup = strdup(spec), *save = NULL;
    int ret = dup ? 0 : -ENOMEM;
    for (char *t = dup ? strtok_r(dup, ",", &save) : NULL; t && ret == 0;
         t = strtok_r(NULL, ",", &save)) {
        int slots = 1;
        char *colon = strrchr(t, ':');
        if (colon != NULL) {
            *colon = '\0';
            if (hosts_slots(colon + 1, &slots) < 0) {
                fprintf(stderr, "mpirun: --host: '%s': slots must be a number >= 1\n", colon + 1);
                ret = -EINVAL;
                break;
            }
        }
        ret = tide_mpirun_hosts_add(l, t, slots);
    }
    free(dup);
    return ret;
}

/* One hostfile line (comment already cut): "name [slots=N] [max_slots=M]". */
static int hosts_file_line(tide_mpirun_hostlist_t *l, char *line, const char *path, int lineno)
{
    char *save = NULL, *name = strtok_r(line, " \t\r\n", &save);
    int slots = 1;
    if (name == NULL)
        return 0;
    for (char *w = strtok_r(NULL, " \t\r\n", &save); w; w = strtok_r(NULL, " \t\r\n", &save)) {
        if (strncmp(w, "slots=", 6) == 0 && hosts_slots(w + 6, &slots) == 0)
            continue;
        if (strncmp(w, "max_slots=", 10) == 0 || strncmp(w, "max-slots=", 10) == 0)
            continue; /* slots decide; oversubscription is --oversubscribe's */
        fprintf(stderr, "mpirun: %s:%d: cannot read '%s' (use: host [slots=N])\n", path, lineno, w);
        return -EINVAL;
    }
    return tide_mpirun_hosts_add(l, name, slots);
}

int tide_mpirun_hosts_parse_file(tide_mpirun_hostlist_t *l, const char *path)
{
    FILE *f = fopen(path, "re");
    char line[1024];
    int ret = 0, lineno = 0;
    if (f == NULL) {
        fprintf(stderr, "mpirun: cannot open the hostfile %s: %s\n", path, strerror(errno));
        return -errno;
    }
    while (ret == 0 && fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        line[strcspn(line, "#")] = '\0';
        ret = hosts_file_line(l, line, path, lineno);
    }
    fclose(f);
    if (ret == 0 && l->n == 0) {
        fprintf(stderr, "mpirun: the hostfile %s names no host\n", path);
        ret = -EINVAL;
    }
    return ret;
}

/* --- Slurm's notations ---------------------------------------------------- */

static int hosts_push_name(char ***names, int *n, const char *s)
{
    char **nn = realloc(*names, (size_t)(*n + 1) * sizeof(char *));
    if (nn == NULL)
        return -ENOMEM;
    *names = nn;
    if ((nn[*n] = strdup(s)) == NULL)
        return -ENOMEM;
    (*n)++;
    return 0;
}

static int hosts_expand(const char *item, char ***names, int *n);

/* "lo-hi" or "v" inside brackets, zero padding as wide as lo is written. */
static int hosts_expand_range(const char *pre, const char *r, size_t rl, const char *rest,
                              char ***names, int *n)
{
    char buf[512], *end;
    unsigned long lo = strtoul(r, &end, 10), hi = lo;
    int width = (int)(end - r);
    if (end == r)
        return -EINVAL;
    if ((size_t)(end - r) < rl && *end == '-') {
        const char *h = end + 1;
        hi = strtoul(h, &end, 10);
        if (end == h)
            return -EINVAL;
    }
    if ((size_t)(end - r) != rl || hi < lo || hi - lo > 100000)
        return -EINVAL;
    for (unsigned long v = lo; v <= hi; v++) {
        snprintf(buf, sizeof(buf), "%s%0*lu%s", pre, width, v, rest);
        int ret = hosts_expand(buf, names, n);
        if (ret < 0)
            return ret;
    }
    return 0;
}

static int hosts_expand(const char *item, char ***names, int *n)
{
    const char *lb = strchr(item, '['), *rb = lb ? strchr(lb, ']') : NULL;
    if (lb == NULL)
        return strchr(item, ']') ? -EINVAL : hosts_push_name(names, n, item);
    if (rb == NULL)
        return -EINVAL;
    char pre[256];
    if ((size_t)(lb - item) >= sizeof(pre))
        return -EINVAL;
    snprintf(pre, sizeof(pre), "%.*s", (int)(lb - item), item);
    for (const char *r = lb + 1; r < rb;) {
        size_t rl = strcspn(r, ",]");
        int ret = hosts_expand_range(pre, r, rl, rb + 1, names, n);
        if (ret < 0)
            return ret;
        r += rl + (r[rl] == ',');
    }
    return 0;
}

/* "n[1-3],m5" -> n1 n2 n3 m5 (a comma inside brackets does not split). */
int tide_mpirun_hosts_slurm_nodelist(const char *spec, char ***names, int *n)
{
    char item[512];
    *names = NULL;
    *n = 0;
    for (const char *p = spec; *p != '\0';) {
        size_t len = 0;
        int depth = 0;
        while (p[len] != '\0' && (p[len] != ',' || depth > 0)) {
            depth += p[len] == '[' ? 1 : p[len] == ']' ? -1 : 0;
            len++;
        }
        int ret = len == 0 || len >= sizeof(item) ? -EINVAL : 0;
        if (ret == 0) {
            snprintf(item, sizeof(item), "%.*s", (int)len, p);
            ret = hosts_expand(item, names, n);
        }
        if (ret < 0) {
            fprintf(stderr, "mpirun: cannot read the Slurm node list '%s'\n", spec);
            return ret;
        }
        p += len + (p[len] == ',');
    }
    return *n > 0 ? 0 : -EINVAL;
}

/* "2(x3),1" -> slots[0..3] = 2,2,2,1; exactly n entries wanted. */
int tide_mpirun_hosts_slurm_tasks(const char *spec, int *slots, int n)
{
    int k = 0;
    for (const char *p = spec; *p != '\0';) {
        char *end;
        long v = strtol(p, &end, 10), rep = 1;
        if (end == p || v < 0)
            goto bad;
        if (strncmp(end, "(x", 2) == 0) {
            const char *r = end + 2;
            rep = strtol(r, &end, 10);
            if (end == r || *end != ')' || rep < 1)
                goto bad;
            end++;
        }
        for (long i = 0; i < rep; i++) {
            if (k >= n)
                goto bad;
            slots[k++] = (int)v;
        }
        if (*end != ',' && *end != '\0')
            goto bad;
        p = end + (*end == ',');
    }
    if (k == n)
        return 0;
bad:
    fprintf(stderr, "mpirun: cannot read SLURM_TASKS_PER_NODE '%s' for %d nodes\n", spec, n);
    return -EINVAL;
}

int tide_mpirun_hosts_from_slurm(tide_mpirun_hostlist_t *l)
{
    const char *nl = getenv("SLURM_JOB_NODELIST"), *tpn = getenv("SLURM_TASKS_PER_NODE");
    char **names = NULL;
    int n = 0, ret;
    if (nl == NULL)
        nl = getenv("SLURM_NODELIST");
    if (nl == NULL)
        return -ENOENT;
    if ((ret = tide_mpirun_hosts_slurm_nodelist(nl, &names, &n)) < 0)
        return ret;
    int *slots = calloc((size_t)n, sizeof(int));
    ret = slots ? 0 : -ENOMEM;
    for (int i = 0; ret == 0 && i < n; i++)
        slots[i] = 1;
    if (ret == 0 && tpn != NULL)
        ret = tide_mpirun_hosts_slurm_tasks(tpn, slots, n);
    for (int i = 0; ret == 0 && i < n; i++)
        if (slots[i] > 0)
            ret = tide_mpirun_hosts_add(l, names[i], slots[i]);
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(slots);
    return ret;
}

/* --- mapping ---------------------------------------------------------------- */

/* Ranks per host that ppr:N:unit allows, with this machine's topology. */
int tide_mpirun_hosts_ppr_per_host(const tide_mpirun_opts_t *o)
{
    hwloc_topology_t t;
    int units = 1;
    if (strcmp(o->ppr_unit, "node") == 0)
        return o->ppr;
    if (hwloc_topology_init(&t) == 0 && hwloc_topology_load(t) == 0) {
        hwloc_obj_type_t type =
            strcmp(o->ppr_unit, "core") == 0 ? HWLOC_OBJ_CORE : HWLOC_OBJ_PACKAGE;
        units = hwloc_get_nbobjs_by_type(t, type);
        if (units <= 0)
            units = 1;
        hwloc_topology_destroy(t);
    }
    return o->ppr * units;
}

static int hosts_total_slots(const tide_mpirun_hostlist_t *l)
{
    int s = 0;
    for (int i = 0; i < l->n; i++)
        s += l->h[i].slots;
    return s;
}

static void hosts_shortfall(const tide_mpirun_hostlist_t *l, int np, int have, const char *what)
{
    fprintf(stderr, "mpirun: not enough slots: %d ranks requested but %s %d (", np, what, have);
    for (int i = 0; i < l->n; i++)
        fprintf(stderr, "%s%s: %d", i ? ", " : "", l->h[i].name, l->h[i].slots);
    fprintf(stderr,
            "), %d short.\n"
            "mpirun: add hosts or slots (--host a:4, 'a slots=4' in a hostfile), run fewer "
            "ranks, or add --oversubscribe.\n",
            np - have);
}

/* Host of every rank, by the chosen policy: each host takes up to its
 * cap (slots, or the ppr count); when every host is full (only with
 * --oversubscribe) the rest go round robin. */
static void hosts_assign(tide_mpirun_job_t *job, tide_mpirun_hostlist_t *l, int per)
{
    const tide_mpirun_opts_t *o = job->opts;
    int h = 0;
    for (int i = 0; i < job->np; i++) {
        int tries = 0;
        while (tries < l->n &&
               l->h[h].nranks >= (o->hmap == TIDE_MPIRUN_HMAP_PPR ? per : l->h[h].slots)) {
            h = (h + 1) % l->n;
            tries++;
        }
        if (tries == l->n)
            h = i % l->n;
        job->ranks[i].host = h;
        job->ranks[i].local_rank = l->h[h].nranks++;
        if (o->hmap == TIDE_MPIRUN_HMAP_NODE)
            h = (h + 1) % l->n;
    }
}

/* Hosts that got no rank get no daemon: drop them, renumber the rest. */
static void hosts_compact(tide_mpirun_job_t *job, tide_mpirun_hostlist_t *l)
{
    int *to = calloc((size_t)l->n, sizeof(int)), k = 0;
    if (to == NULL)
        return;
    for (int h = 0; h < l->n; h++) {
        to[h] = k;
        if (l->h[h].nranks > 0)
            l->h[k++] = l->h[h];
    }
    for (int i = 0; i < job->np; i++)
        job->ranks[i].host = to[job->ranks[i].host];
    l->n = k;
    free(to);
}

int tide_mpirun_hosts_map(tide_mpirun_job_t *job, tide_mpirun_hostlist_t *l)
{
    const tide_mpirun_opts_t *o = job->opts;
    int total = hosts_total_slots(l);
    int per = o->hmap == TIDE_MPIRUN_HMAP_PPR ? tide_mpirun_hosts_ppr_per_host(o) : INT_MAX;
    if (o->hmap == TIDE_MPIRUN_HMAP_PPR) {
        if (job->np > per * l->n) {
            fprintf(stderr,
                    "mpirun: --map-by ppr:%d:%s places at most %d ranks on %d host%s; %d "
                    "requested\n",
                    o->ppr, o->ppr_unit, per * l->n, l->n, l->n == 1 ? "" : "s", job->np);
            return -EINVAL;
        }
        for (int i = 0; i < l->n && !o->oversubscribe; i++) {
            if (l->h[i].slots < per && job->np > i * per) {
                fprintf(stderr,
                        "mpirun: not enough slots: --map-by ppr:%d:%s puts %d ranks on %s, "
                        "which has %d slot%s; give it more slots or add --oversubscribe.\n",
                        o->ppr, o->ppr_unit, per, l->h[i].name, l->h[i].slots,
                        l->h[i].slots == 1 ? "" : "s");
                return -EINVAL;
            }
        }
    } else if (job->np > total && !o->oversubscribe) {
        hosts_shortfall(l, job->np, total, "the hosts have only");
        return -EINVAL;
    }
    hosts_assign(job, l, per);
    hosts_compact(job, l);
    return 0;
}

void tide_mpirun_hosts_display(const tide_mpirun_job_t *job, const tide_mpirun_hostlist_t *l)
{
    fprintf(stderr, "mpirun: map of job %s: %d rank%s on %d host%s\n", job->nspace, job->np,
            job->np == 1 ? "" : "s", l->n, l->n == 1 ? "" : "s");
    for (int h = 0; h < l->n; h++) {
        if (l->h[h].nranks == 0)
            continue;
        fprintf(stderr, "mpirun:   %s (slots %d): rank%s", l->h[h].name, l->h[h].slots,
                l->h[h].nranks == 1 ? "" : "s");
        for (int i = 0, k = 0; i < job->np; i++)
            if (job->ranks[i].host == h)
                fprintf(stderr, "%s%d", k++ ? "," : " ", i);
        fputc('\n', stderr);
    }
}
