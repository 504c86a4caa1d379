/* Info objects (MPI 4.1 section 10), MPI_INFO_ENV, and the small calls
 * programs touch: MPI_Alloc_mem/Free_mem, MPI_Pcontrol and the
 * MPI_Status_set_* calls of generalized requests.  An info object is an
 * ordered list of (key, value) strings; handles are small integers,
 * MPI_INFO_ENV (1) is built on first use from this process's start. */
#include "config.h"
#include "mpi/comm_impl.h"
#include "mpi/dtype.h"
#include "rte/rte.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct tide_info_ent {
    struct tide_info_ent *next;
    char *key, *val;
} tide_info_ent_t;

typedef struct tide_info {
    tide_info_ent_t *head;
    int n;
} tide_info_t;

static pthread_mutex_t tide_info_lock = PTHREAD_MUTEX_INITIALIZER;
static tide_info_t **tide_infos;
static int tide_infos_cap;
static tide_info_t tide_info_env;
static int tide_info_env_built;

static int tide_info_put(tide_info_t *in, const char *key, const char *val);

/* MPI_INFO_ENV's keys (MPI 4.1 section 11.2.3): what Tide knows. */
static void tide_info_env_build(void)
{
    char buf[4096];
    FILE *f = fopen("/proc/self/cmdline", "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    if (n)
        tide_info_put(&tide_info_env, "command", buf);
    char argv[4096] = "";
    for (size_t off = strlen(buf) + 1; off < n; off += strlen(buf + off) + 1)
        snprintf(argv + strlen(argv), sizeof(argv) - strlen(argv), "%s%s", argv[0] ? " " : "",
                 buf + off);
    if (argv[0])
        tide_info_put(&tide_info_env, "argv", argv);
    snprintf(buf, sizeof(buf), "%d", tide_rte.size);
    tide_info_put(&tide_info_env, "maxprocs", buf);
    if (getcwd(buf, sizeof(buf)))
        tide_info_put(&tide_info_env, "wdir", buf);
    if (tide_rte.hostname[0])
        tide_info_put(&tide_info_env, "host", tide_rte.hostname);
    static const char *const levels[] = {"MPI_THREAD_SINGLE", "MPI_THREAD_FUNNELED",
                                         "MPI_THREAD_SERIALIZED", "MPI_THREAD_MULTIPLE"};
    tide_info_put(&tide_info_env, "thread_level", levels[tide_mpi.thread_level & 3]);
#if defined(__x86_64__)
    tide_info_put(&tide_info_env, "arch", "x86_64");
#elif defined(__aarch64__)
    tide_info_put(&tide_info_env, "arch", "aarch64");
#endif
}

static tide_info_t *tide_info_get(MPI_Info h)
{
    tide_info_t *in = NULL;
    pthread_mutex_lock(&tide_info_lock);
    if (h == MPI_INFO_ENV) {
        if (!tide_info_env_built) {
            tide_info_env_built = 1;
            tide_info_env_build();
        }
        in = &tide_info_env;
    } else if (h > MPI_INFO_ENV && h < tide_infos_cap) {
        in = tide_infos[h];
    }
    pthread_mutex_unlock(&tide_info_lock);
    return in;
}

int tide_info_valid(MPI_Info info)
{
    return tide_info_get(info) != NULL;
}

static tide_info_ent_t *tide_info_find(tide_info_t *in, const char *key)
{
    for (tide_info_ent_t *e = in->head; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

/* 0 or MPI_ERR_NO_MEM. */
static int tide_info_put(tide_info_t *in, const char *key, const char *val)
{
    char *v = strdup(val);
    if (!v)
        return MPI_ERR_NO_MEM;
    tide_info_ent_t *e = tide_info_find(in, key);
    if (e) {
        free(e->val);
        e->val = v;
        return 0;
    }
    e = malloc(sizeof(*e));
    char *k = strdup(key);
    if (!e || !k) {
        free(e);
        free(k);
        free(v);
        return MPI_ERR_NO_MEM;
    }
    *e = (tide_info_ent_t){NULL, k, v};
    tide_info_ent_t **p = &in->head;
    while (*p)
        p = &(*p)->next;
    *p = e;
    in->n++;
    return 0;
}

static void tide_info_clear(tide_info_t *in)
{
    while (in->head) {
        tide_info_ent_t *e = in->head;
        in->head = e->next;
        free(e->key);
        free(e->val);
        free(e);
    }
    in->n = 0;
}

static MPI_Info tide_info_new(void)
{
    tide_info_t *in = calloc(1, sizeof(*in));
    if (!in)
        return MPI_INFO_NULL;
    MPI_Info h = MPI_INFO_NULL;
    pthread_mutex_lock(&tide_info_lock);
    for (int i = MPI_INFO_ENV + 1; i < tide_infos_cap && !h; i++)
        if (!tide_infos[i])
            h = i;
    if (!h) {
        int cap = tide_infos_cap ? 2 * tide_infos_cap : 32;
        tide_info_t **t = realloc(tide_infos, (size_t)cap * sizeof(*t));
        if (t) {
            memset(t + tide_infos_cap, 0, (size_t)(cap - tide_infos_cap) * sizeof(*t));
            h = tide_infos_cap ? tide_infos_cap : MPI_INFO_ENV + 1;
            tide_infos = t;
            tide_infos_cap = cap;
        }
    }
    if (h)
        tide_infos[h] = in;
    pthread_mutex_unlock(&tide_info_lock);
    if (!h)
        free(in);
    return h;
}

void tide_info_free_internal(MPI_Info h)
{
    tide_info_t *in = NULL;
    pthread_mutex_lock(&tide_info_lock);
    if (h > MPI_INFO_ENV && h < tide_infos_cap) {
        in = tide_infos[h];
        tide_infos[h] = NULL;
    }
    pthread_mutex_unlock(&tide_info_lock);
    if (in) {
        tide_info_clear(in);
        free(in);
    }
}

int tide_info_dup_internal(MPI_Info src, MPI_Info *out)
{
    tide_info_t *s = tide_info_get(src);
    MPI_Info h = s ? tide_info_new() : MPI_INFO_NULL;
    if (h == MPI_INFO_NULL)
        return MPI_ERR_NO_MEM;
    tide_info_t *d = tide_info_get(h);
    for (tide_info_ent_t *e = s->head; e; e = e->next) {
        if (tide_info_put(d, e->key, e->val)) {
            tide_info_free_internal(h);
            return MPI_ERR_NO_MEM;
        }
    }
    *out = h;
    return 0;
}

#define TIDE_GET_INFO(fn, h, out)                                                         \
    do {                                                                                  \
        (out) = tide_info_get(h);                                                         \
        if (!(out))                                                                       \
            return tide_mpi_error(MPI_COMM_NULL, (fn), MPI_ERR_INFO,                      \
                                  "argument info (handle %d) is not a valid info object", \
                                  (int)(h));                                              \
    } while (0)

static int tide_info_check_key(const char *fn, const char *key)
{
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, key, "key");
    size_t n = strlen(key);
    if (n == 0 || n >= MPI_MAX_INFO_KEY)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_INFO_KEY,
                              "argument key has %zu characters; 1..%d are allowed", n,
                              MPI_MAX_INFO_KEY - 1);
    return MPI_SUCCESS;
}

int PMPI_Info_create(MPI_Info *info)
{
    static const char fn[] = "MPI_Info_create";
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, info, "info");
    MPI_Info h = tide_info_new();
    if (h == MPI_INFO_NULL)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_NO_MEM, "out of memory");
    *info = h;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Info_create);

int PMPI_Info_set(MPI_Info info, const char *key, const char *value)
{
    static const char fn[] = "MPI_Info_set";
    tide_info_t *in;
    TIDE_GET_INFO(fn, info, in);
    int rc = tide_info_check_key(fn, key);
    if (rc)
        return rc;
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, value, "value");
    if (strlen(value) >= MPI_MAX_INFO_VAL)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_INFO_VALUE,
                              "argument value is longer than MPI_MAX_INFO_VAL - 1 (%d)",
                              MPI_MAX_INFO_VAL - 1);
    if (info == MPI_INFO_ENV)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_INFO, "MPI_INFO_ENV is read-only");
    rc = tide_info_put(in, key, value);
    return rc ? tide_mpi_error(MPI_COMM_NULL, fn, rc, "out of memory") : MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Info_set);

int PMPI_Info_get(MPI_Info info, const char *key, int valuelen, char *value, int *flag)
{
    static const char fn[] = "MPI_Info_get";
    tide_info_t *in;
    TIDE_GET_INFO(fn, info, in);
    int rc = tide_info_check_key(fn, key);
    if (rc)
        return rc;
    if (valuelen < 0)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ARG, "argument valuelen (%d) is negative",
                              valuelen);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, value, "value");
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, flag, "flag");
    tide_info_ent_t *e = tide_info_find(in, key);
    *flag = e != NULL;
    if (e) { /* at most valuelen characters and the terminating NUL */
        size_t n = strlen(e->val) < (size_t)valuelen ? strlen(e->val) : (size_t)valuelen;
        memcpy(value, e->val, n);
        value[n] = '\0';
    }
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Info_get);

int PMPI_Info_get_string(MPI_Info info, const char *key, int *buflen, char *value, int *flag)
{
    static const char fn[] = "MPI_Info_get_string";
    tide_info_t *in;
    TIDE_GET_INFO(fn, info, in);
    int rc = tide_info_check_key(fn, key);
    if (rc)
        return rc;
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, buflen, "buflen");
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, flag, "flag");
    if (*buflen > 0)
        TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, value, "value");
    tide_info_ent_t *e = tide_info_find(in, key);
    *flag = e != NULL;
    if (e) {
        int need = (int)strlen(e->val) + 1;
        if (*buflen > 0)
            snprintf(value, (size_t)*buflen, "%s", e->val);
        *buflen = need;
    }
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Info_get_string);

int PMPI_Info_get_nkeys(MPI_Info info, int *nkeys)
{
    static const char fn[] = "MPI_Info_get_nkeys";
    tide_info_t *in;
    TIDE_GET_INFO(fn, info, in);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, nkeys, "nkeys");
    *nkeys = in->n;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Info_get_nkeys);

int PMPI_Info_get_nthkey(MPI_Info info, int n, char *key)
{
    static const char fn[] = "MPI_Info_get_nthkey";
    tide_info_t *in;
    TIDE_GET_INFO(fn, info, in);
    if (n < 0 || n >= in->n)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_ARG,
                              "argument n (%d) is outside 0..nkeys-1 (%d keys)", n, in->n);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, key, "key");
    tide_info_ent_t *e = in->head;
    for (int i = 0; i < n; i++)
        e = e->next;
    snprintf(key, MPI_MAX_INFO_KEY, "%s", e->key);
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Info_get_nthkey);

int PMPI_Info_get_valuelen(MPI_Info info, const char *key, int *valuelen, int *flag)
{
    static const char fn[] = "MPI_Info_get_valuelen";
    tide_info_t *in;
    TIDE_GET_INFO(fn, info, in);
    int rc = tide_info_check_key(fn, key);
    if (rc)
        return rc;
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, valuelen, "valuelen");
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, flag, "flag");
    tide_info_ent_t *e = tide_info_find(in, key);
    *flag = e != NULL;
    if (e)
        *valuelen = (int)strlen(e->val);
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Info_get_valuelen);

int PMPI_Info_delete(MPI_Info info, const char *key)
{
    static const char fn[] = "MPI_Info_delete";
    tide_info_t *in;
    TIDE_GET_INFO(fn, info, in);
    int rc = tide_info_check_key(fn, key);
    if (rc)
        return rc;
    if (info == MPI_INFO_ENV)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_INFO, "MPI_INFO_ENV is read-only");
    for (tide_info_ent_t **p = &in->head; *p; p = &(*p)->next) {
        if (strcmp((*p)->key, key) == 0) {
            tide_info_ent_t *e = *p;
            *p = e->next;
            free(e->key);
            free(e->val);
            free(e);
            in->n--;
            return MPI_SUCCESS;
        }
    }
    return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_INFO_NOKEY,
                          "argument key (\"%s\") is not in the info object", key);
}
TIDE_MPI_WEAK(MPI_Info_delete);

int PMPI_Info_dup(MPI_Info info, MPI_Info *newinfo)
{
    static const char fn[] = "MPI_Info_dup";
    tide_info_t *in;
    TIDE_GET_INFO(fn, info, in);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, newinfo, "newinfo");
    return tide_info_dup_internal(info, newinfo)
               ? tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_NO_MEM, "out of memory")
               : MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Info_dup);

int PMPI_Info_free(MPI_Info *info)
{
    static const char fn[] = "MPI_Info_free";
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, info, "info");
    tide_info_t *in;
    TIDE_GET_INFO(fn, *info, in);
    if (*info == MPI_INFO_ENV)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_INFO, "MPI_INFO_ENV cannot be freed");
    tide_info_free_internal(*info);
    *info = MPI_INFO_NULL;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Info_free);

/* ---- memory, profiling control, statuses ---- */
int PMPI_Alloc_mem(MPI_Aint size, MPI_Info info, void *baseptr)
{
    static const char fn[] = "MPI_Alloc_mem";
    TIDE_MPI_CHECK_INIT(fn);
    if (size < 0)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_SIZE, "argument size (%ld) is negative",
                              (long)size);
    if (info != MPI_INFO_NULL && !tide_info_valid(info))
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_INFO,
                              "argument info (handle %d) is not valid", (int)info);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, baseptr, "baseptr");
    /* Page-aligned memory: the stream engine copies from it like any other. */
    void *p = NULL;
    if (posix_memalign(&p, 4096, size ? (size_t)size : 1) != 0)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_NO_MEM, "cannot allocate %ld bytes",
                              (long)size);
    *(void **)baseptr = p;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Alloc_mem);

int PMPI_Free_mem(void *base)
{
    TIDE_MPI_CHECK_INIT("MPI_Free_mem");
    free(base);
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Free_mem);

/* Tide has no profiling levels of its own; profilers interpose MPI_Pcontrol. */
int PMPI_Pcontrol(const int level, ...)
{
    (void)level;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Pcontrol);

/* Bytes that hold `count` basic elements of dt: whole items plus, for a
 * partial item, its share of elements (exact for types of one basic type). */
static int tide_status_elem_bytes(MPI_Datatype dt, MPI_Count count, MPI_Count *bytes)
{
    int sz = tide_dt_size(dt);
    if (sz >= 0) {
        *bytes = count * sz;
        return 0;
    }
    MPI_Count items, elems, tsize;
    int isz;
    if (!tide_dt_name(dt) || PMPI_Type_size(dt, &isz) != MPI_SUCCESS)
        return -1;
    tsize = isz;
    if (tide_dtype_count(dt, tsize, &items, &elems) != 0 || elems <= 0) {
        *bytes = 0;
        return count == 0 ? 0 : -1;
    }
    *bytes = (count / elems) * tsize + (count % elems) * (tsize / elems);
    return 0;
}

int PMPI_Status_set_elements_x(MPI_Status *status, MPI_Datatype datatype, MPI_Count count)
{
    static const char fn[] = "MPI_Status_set_elements_x";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, status, "status");
    if (count < 0)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_COUNT, "argument count (%lld) is negative",
                              (long long)count);
    MPI_Count bytes;
    if (tide_status_elem_bytes(datatype, count, &bytes))
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_TYPE,
                              "argument datatype (handle 0x%x) is not a valid datatype",
                              (unsigned)datatype);
    status->tide_count = bytes;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Status_set_elements_x);

int PMPI_Status_set_elements(MPI_Status *status, MPI_Datatype datatype, int count)
{
    return PMPI_Status_set_elements_x(status, datatype, count);
}
TIDE_MPI_WEAK(MPI_Status_set_elements);

int PMPI_Status_set_cancelled(MPI_Status *status, int flag)
{
    static const char fn[] = "MPI_Status_set_cancelled";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, status, "status");
    status->tide_cancelled = flag != 0;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Status_set_cancelled);
