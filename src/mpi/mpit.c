/* The MPI tool information interface (MPI 4.1 chapter 15).
 *
 * Control variables are Tide's tunables: every TIDE_* environment variable
 * declared with TIDE_PARAM_DEFINE is a cvar of the same name, read-only
 * (tunables are read once, at first use; set them in the environment).
 * Performance variables are the transport's counters (the stream engine's
 * netstat-like counters of this process's MPI stack, plus the point-to-point
 * layer's own), all continuous, read-only counters, and the largest smoothed
 * round-trip time among this process's MPI streams.  Two categories group
 * them: "tide_tunables" and "tide_transport". */
#include "config.h"
#include "mpi/mpi_impl.h"
#include "p2p/p2p.h"
#include "tide/stream.h"
#include "util/param.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tide_mpit_refs;

struct tide_mpit_cvar {
    int index;
};

typedef struct tide_mpit_pvar_desc {
    const char *name;
    size_t offset; /* in tide_stream_stats_t; SIZE_MAX: computed */
    int var_class;
    const char *desc;
} tide_mpit_pvar_desc_t;

#define TIDE_PV(field, d)                                                                        \
    {                                                                                            \
        "tide_stream_" #field, offsetof(tide_stream_stats_t, field), MPI_T_PVAR_CLASS_COUNTER, d \
    }

static const tide_mpit_pvar_desc_t tide_mpit_pvars[] = {
    TIDE_PV(seg_in, "Segments received"),
    TIDE_PV(seg_out, "Segments sent"),
    TIDE_PV(bytes_in, "Payload bytes received"),
    TIDE_PV(bytes_out, "Payload bytes sent"),
    TIDE_PV(retrans_segs, "Segments retransmitted (all causes)"),
    TIDE_PV(retrans_rto, "Segments retransmitted after a retransmission timeout"),
    TIDE_PV(retrans_fast, "Segments retransmitted by fast retransmit / SACK recovery"),
    TIDE_PV(rto_fires, "Retransmission timeouts"),
    TIDE_PV(dup_acks_in, "Duplicate ACKs received"),
    TIDE_PV(ooo_segs, "Segments queued out of order"),
    TIDE_PV(ooo_pruned_segs, "Out-of-order segments dropped for lack of memory"),
    TIDE_PV(backlog_drops, "Segments dropped because the backlog was full"),
    TIDE_PV(crc_errors, "Segments dropped for a bad CRC32C"),
    TIDE_PV(key_drops, "Segments dropped for a wrong job key"),
    TIDE_PV(malformed, "Malformed segments dropped"),
    TIDE_PV(mac_drops, "Segments dropped for a missing or wrong MAC tag (TIDE_STREAM_MAC)"),
    TIDE_PV(no_conn_drops,
            "Segments for no connection (wrong port or endpoint), answered with RST"),
    TIDE_PV(out_of_window, "Segments outside the receive window, dropped"),
    TIDE_PV(challenge_acks, "Challenge ACKs sent for in-window RST/SYN (RFC 5961)"),
    TIDE_PV(window_probes, "Zero-window probes sent"),
    {"tide_p2p_frames_dropped", SIZE_MAX - 1, MPI_T_PVAR_CLASS_COUNTER,
     "Point-to-point frames dropped as malformed (their stream is closed)"},
    {"tide_stream_srtt_max_us", SIZE_MAX, MPI_T_PVAR_CLASS_HIGHWATERMARK,
     "Largest smoothed round-trip time among this process's MPI streams (us)"},
};
#define TIDE_MPIT_NPVARS ((int)(sizeof(tide_mpit_pvars) / sizeof(tide_mpit_pvars[0])))

struct tide_mpit_session {
    int live;
};

struct tide_mpit_pvar {
    int index;
    unsigned long long base; /* value at the last reset */
};

static unsigned long long tide_mpit_pvar_now(int i)
{
    const tide_mpit_pvar_desc_t *d = &tide_mpit_pvars[i];
    if (d->offset == SIZE_MAX)
        return tide_p2p_srtt_max_us();
    if (d->offset == SIZE_MAX - 1)
        return tide_p2p_frames_dropped();
    const tide_stream_stats_t *st = tide_p2p_stream_stats();
    if (!st)
        return 0;
    unsigned long long v;
    memcpy(&v, (const char *)st + d->offset, sizeof(v));
    return v;
}

#define TIDE_MPIT_CHECK()                                            \
    do {                                                             \
        if (__atomic_load_n(&tide_mpit_refs, __ATOMIC_ACQUIRE) <= 0) \
            return MPI_T_ERR_NOT_INITIALIZED;                        \
    } while (0)

static void tide_mpit_copy(char *dst, int *len, const char *src)
{
    if (!len)
        return;
    int n = (int)strlen(src) + 1;
    if (dst && *len > 0) {
        snprintf(dst, (size_t)*len, "%s", src);
        *len = n < *len ? n : *len;
    } else {
        *len = n;
    }
}

int PMPI_T_init_thread(int required, int *provided)
{
    if (!provided || required < MPI_THREAD_SINGLE || required > MPI_THREAD_MULTIPLE)
        return MPI_T_ERR_INVALID;
    __atomic_add_fetch(&tide_mpit_refs, 1, __ATOMIC_ACQ_REL);
    *provided = required;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_T_init_thread);

int PMPI_T_finalize(void)
{
    TIDE_MPIT_CHECK();
    __atomic_sub_fetch(&tide_mpit_refs, 1, __ATOMIC_ACQ_REL);
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_T_finalize);

/* ---- control variables ------------------------------------------------ */

int PMPI_T_cvar_get_num(int *num_cvar)
{
    TIDE_MPIT_CHECK();
    if (!num_cvar)
        return MPI_T_ERR_INVALID;
    *num_cvar = tide_param_count();
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_T_cvar_get_num);

static MPI_Datatype tide_mpit_cvar_type(const tide_param_t *p)
{
    switch (p->type) {
    case TIDE_PARAM_STRING: return MPI_CHAR;
    case TIDE_PARAM_DOUBLE: return MPI_DOUBLE;
    default: return MPI_LONG_LONG;
    }
}

int PMPI_T_cvar_get_info(int cvar_index, char *name, int *name_len, int *verbosity,
                         MPI_Datatype *datatype, MPI_T_enum *enumtype, char *desc, int *desc_len,
                         int *bind, int *scope)
{
    TIDE_MPIT_CHECK();
    tide_param_t *p = tide_param_at(cvar_index);
    if (!p)
        return MPI_T_ERR_INVALID_INDEX;
    char full[160];
    snprintf(full, sizeof(full), "TIDE_%s", p->name);
    tide_mpit_copy(name, name_len, full);
    char d[1024];
    snprintf(d, sizeof(d), "%s (default %s)", p->desc, p->defval);
    tide_mpit_copy(desc, desc_len, d);
    if (verbosity)
        *verbosity = MPI_T_VERBOSITY_TUNER_BASIC;
    if (datatype)
        *datatype = tide_mpit_cvar_type(p);
    if (enumtype)
        *enumtype = MPI_T_ENUM_NULL;
    if (bind)
        *bind = MPI_T_BIND_NO_OBJECT;
    if (scope)
        *scope = MPI_T_SCOPE_READONLY;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_T_cvar_get_info);

int PMPI_T_cvar_get_index(const char *name, int *cvar_index)
{
    TIDE_MPIT_CHECK();
    if (!name || !cvar_index)
        return MPI_T_ERR_INVALID;
    const char *want = strncmp(name, "TIDE_", 5) ? name : name + 5;
    for (int i = 0; i < tide_param_count(); i++) {
        if (!strcmp(tide_param_at(i)->name, want)) {
            *cvar_index = i;
            return MPI_SUCCESS;
        }
    }
    return MPI_T_ERR_INVALID_NAME;
}
TIDE_MPI_WEAK(MPI_T_cvar_get_index);

int PMPI_T_cvar_handle_alloc(int cvar_index, void *obj_handle, MPI_T_cvar_handle *handle,
                             int *count)
{
    (void)obj_handle;
    TIDE_MPIT_CHECK();
    tide_param_t *p = tide_param_at(cvar_index);
    if (!p)
        return MPI_T_ERR_INVALID_INDEX;
    if (!handle || !count)
        return MPI_T_ERR_INVALID;
    struct tide_mpit_cvar *h = malloc(sizeof(*h));
    if (!h)
        return MPI_T_ERR_MEMORY;
    h->index = cvar_index;
    *count = p->type == TIDE_PARAM_STRING ? 1024 : 1;
    *handle = h;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_T_cvar_handle_alloc);

int PMPI_T_cvar_handle_free(MPI_T_cvar_handle *handle)
{
    TIDE_MPIT_CHECK();
    if (!handle || !*handle)
        return MPI_T_ERR_INVALID_HANDLE;
    free(*handle);
    *handle = MPI_T_CVAR_HANDLE_NULL;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_T_cvar_handle_free);

int PMPI_T_cvar_read(MPI_T_cvar_handle handle, void *buf)
{
    TIDE_MPIT_CHECK();
    if (!handle || !buf)
        return MPI_T_ERR_INVALID_HANDLE;
    tide_param_t *p = tide_param_at(handle->index);
    switch (p->type) {
    case TIDE_PARAM_STRING: snprintf(buf, 1024, "%s", tide_param_str(p)); break;
    case TIDE_PARAM_DOUBLE: *(double *)buf = tide_param_double(p); break;
    default: *(long long *)buf = (long long)tide_param_int(p); break;
    }
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_T_cvar_read);

int PMPI_T_cvar_write(MPI_T_cvar_handle handle, const void *buf)
{
    TIDE_MPIT_CHECK();
    (void)buf;
    if (!handle)
        return MPI_T_ERR_INVALID_HANDLE;
    return MPI_T_ERR_CVAR_SET_NEVER; /* set TIDE_* in the environment instead */
}
TIDE_MPI_WEAK(MPI_T_cvar_write);

/* ---- performance variables -------------------------------------------- */

int PMPI_T_pvar_get_num(int *num_pvar)
{
    TIDE_MPIT_CHECK();
    if (!num_pvar)
        return MPI_T_ERR_INVALID;
    *num_pvar = TIDE_MPIT_NPVARS;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_T_pvar_get_num);

int PMPI_T_pvar_get_info(int pvar_index, char *name, int *name_len, int *verbosity, int *var_class,
                         MPI_Datatype *datatype, MPI_T_enum *enumtype, char *desc, int *desc_len,
                         int *bind, int *readonly, int *continuous, int *atomic)
{
    TIDE_MPIT_CHECK();
    if (pvar_index < 0 || pvar_index >= TIDE_MPIT_NPVARS)
        return MPI_T_ERR_INVALID_INDEX;
    const tide_mpit_pvar_desc_t *d = &tide_mpit_pvars[pvar_index];
    tide_mpit_copy(name, name_len, d->name);
    tide_mpit_copy(desc, desc_len, d->desc);
    if (verbosity)
        *verbosity = MPI_T_VERBOSITY_TUNER_BASIC;
    if (var_class)
        *var_class = d->var_class;
    if (datatype)
        *datatype = MPI_UNSIGNED_LONG_LONG;
    if (enumtype)
        *enumtype = MPI_T_ENUM_NULL;
    if (bind)
        *bind = MPI_T_BIND_NO_OBJECT;
    if (readonly)
        *readonly = 1;
    if (continuous)
        *continuous = 1;
    if (atomic)
        *atomic = 0;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_T_pvar_get_info);

int PMPI_T_pvar_get_index(const char *name, int var_class, int *pvar_index)
{
    TIDE_MPIT_CHECK();
    if (!name || !pvar_index)
        return MPI_T_ERR_INVALID;
    for (int i = 0; i < TIDE_MPIT_NPVARS; i++) {
        if (!strcmp(tide_mpit_pvars[i].name, name) && tide_mpit_pvars[i].var_class == var_class) {
            *pvar_index = i;
            return MPI_SUCCESS;
        }
    }
    return MPI_T_ERR_INVALID_NAME;
}
TIDE_MPI_WEAK(MPI_T_pvar_get_index);

int PMPI_T_pvar_session_create(MPI_T_pvar_session *session)
{
    TIDE_MPIT_CHECK();
    if (!session)
        return MPI_T_ERR_INVALID;
    struct tide_mpit_session *s = calloc(1, sizeof(*s));
    if (!s)
        return MPI_T_ERR_MEMORY;
    s->live = 1;
    *session = s;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_T_pvar_session_create);

int PMPI_T_pvar_session_free(MPI_T_pvar_session *session)
{
    TIDE_MPIT_CHECK();
    if (!session || !*session)
        return MPI_T_ERR_INVALID_SESSION;
    free(*session);
    *session = MPI_T_PVAR_SESSION_NULL;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_T_pvar_session_free);

int PMPI_T_pvar_handle_alloc(MPI_T_pvar_session session, int pvar_index, void *obj_handle,
                             MPI_T_pvar_handle *handle, int *count)
{
    (void)obj_handle;
    TIDE_MPIT_CHECK();
    if (!session)
        return MPI_T_ERR_INVALID_SESSION;
    if (pvar_index < 0 || pvar_index >= TIDE_MPIT_NPVARS)
        return MPI_T_ERR_INVALID_INDEX;
    if (!handle || !count)
        return MPI_T_ERR_INVALID;
    struct tide_mpit_pvar *h = malloc(sizeof(*h));
    if (!h)
        return MPI_T_ERR_MEMORY;
    h->index = pvar_index;
    h->base = tide_mpit_pvars[pvar_index].var_class == MPI_T_PVAR_CLASS_COUNTER
                  ? tide_mpit_pvar_now(pvar_index)
                  : 0;
    *count = 1;
    *handle = h;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_T_pvar_handle_alloc);

int PMPI_T_pvar_handle_free(MPI_T_pvar_session session, MPI_T_pvar_handle *handle)
{
    TIDE_MPIT_CHECK();
    if (!session)
        return MPI_T_ERR_INVALID_SESSION;
    if (!handle || !*handle || *handle == MPI_T_PVAR_ALL_HANDLES)
        return MPI_T_ERR_INVALID_HANDLE;
    free(*handle);
    *handle = MPI_T_PVAR_HANDLE_NULL;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_T_pvar_handle_free);

int PMPI_T_pvar_start(MPI_T_pvar_session session, MPI_T_pvar_handle handle)
{
    TIDE_MPIT_CHECK();
    if (!session)
        return MPI_T_ERR_INVALID_SESSION;
    if (!handle)
        return MPI_T_ERR_INVALID_HANDLE;
    return MPI_T_ERR_PVAR_NO_STARTSTOP; /* every Tide pvar is continuous */
}
TIDE_MPI_WEAK(MPI_T_pvar_start);

int PMPI_T_pvar_stop(MPI_T_pvar_session session, MPI_T_pvar_handle handle)
{
    return PMPI_T_pvar_start(session, handle);
}
TIDE_MPI_WEAK(MPI_T_pvar_stop);

int PMPI_T_pvar_read(MPI_T_pvar_session session, MPI_T_pvar_handle handle, void *buf)
{
    TIDE_MPIT_CHECK();
    if (!session)
        return MPI_T_ERR_INVALID_SESSION;
    if (!handle || handle == MPI_T_PVAR_ALL_HANDLES || !buf)
        return MPI_T_ERR_INVALID_HANDLE;
    *(unsigned long long *)buf = tide_mpit_pvar_now(handle->index) - handle->base;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_T_pvar_read);

int PMPI_T_pvar_reset(MPI_T_pvar_session session, MPI_T_pvar_handle handle)
{
    TIDE_MPIT_CHECK();
    if (!session)
        return MPI_T_ERR_INVALID_SESSION;
    if (!handle || handle == MPI_T_PVAR_ALL_HANDLES)
        return MPI_T_ERR_INVALID_HANDLE;
    if (tide_mpit_pvars[handle->index].var_class != MPI_T_PVAR_CLASS_COUNTER)
        return MPI_T_ERR_PVAR_NO_WRITE;
    handle->base = tide_mpit_pvar_now(handle->index);
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_T_pvar_reset);

/* ---- categories and enumerations -------------------------------------- */

int PMPI_T_category_get_num(int *num_cat)
{
    TIDE_MPIT_CHECK();
    if (!num_cat)
        return MPI_T_ERR_INVALID;
    *num_cat = 2;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_T_category_get_num);

int PMPI_T_category_get_info(int cat_index, char *name, int *name_len, char *desc, int *desc_len,
                             int *num_cvars, int *num_pvars, int *num_categories)
{
    TIDE_MPIT_CHECK();
    if (cat_index < 0 || cat_index > 1)
        return MPI_T_ERR_INVALID_INDEX;
    tide_mpit_copy(name, name_len, cat_index ? "tide_transport" : "tide_tunables");
    tide_mpit_copy(desc, desc_len,
                   cat_index ? "Counters of Tide's stream engine and point-to-point layer"
                             : "Tide's TIDE_* tunables (read-only: set them in the environment)");
    if (num_cvars)
        *num_cvars = cat_index ? 0 : tide_param_count();
    if (num_pvars)
        *num_pvars = cat_index ? TIDE_MPIT_NPVARS : 0;
    if (num_categories)
        *num_categories = 0;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_T_category_get_info);

static int tide_mpit_indices(int n, int len, int indices[])
{
    if (len < 0 || (len > 0 && !indices))
        return MPI_T_ERR_INVALID;
    for (int i = 0; i < len && i < n; i++)
        indices[i] = i;
    return MPI_SUCCESS;
}

int PMPI_T_category_get_cvars(int cat_index, int len, int indices[])
{
    TIDE_MPIT_CHECK();
    if (cat_index < 0 || cat_index > 1)
        return MPI_T_ERR_INVALID_INDEX;
    return tide_mpit_indices(cat_index ? 0 : tide_param_count(), len, indices);
}
TIDE_MPI_WEAK(MPI_T_category_get_cvars);

int PMPI_T_category_get_pvars(int cat_index, int len, int indices[])
{
    TIDE_MPIT_CHECK();
    if (cat_index < 0 || cat_index > 1)
        return MPI_T_ERR_INVALID_INDEX;
    return tide_mpit_indices(cat_index ? TIDE_MPIT_NPVARS : 0, len, indices);
}
TIDE_MPI_WEAK(MPI_T_category_get_pvars);

int PMPI_T_category_get_categories(int cat_index, int len, int indices[])
{
    TIDE_MPIT_CHECK();
    if (cat_index < 0 || cat_index > 1)
        return MPI_T_ERR_INVALID_INDEX;
    return tide_mpit_indices(0, len, indices);
}
TIDE_MPI_WEAK(MPI_T_category_get_categories);

int PMPI_T_category_changed(int *update_number)
{
    TIDE_MPIT_CHECK();
    if (!update_number)
        return MPI_T_ERR_INVALID;
    *update_number = 0; /* the set of variables never changes */
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_T_category_changed);

int PMPI_T_enum_get_info(MPI_T_enum enumtype, int *num, char *name, int *name_len)
{
    TIDE_MPIT_CHECK();
    (void)enumtype;
    (void)num;
    (void)name;
    (void)name_len;
    return MPI_T_ERR_INVALID_HANDLE; /* Tide's variables use no enumerations */
}
TIDE_MPI_WEAK(MPI_T_enum_get_info);

int PMPI_T_enum_get_item(MPI_T_enum enumtype, int index, int *value, char *name, int *name_len)
{
    TIDE_MPIT_CHECK();
    (void)enumtype;
    (void)index;
    (void)value;
    (void)name;
    (void)name_len;
    return MPI_T_ERR_INVALID_HANDLE;
}
TIDE_MPI_WEAK(MPI_T_enum_get_item);
