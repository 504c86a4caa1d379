/* Attribute caching (MPI 4.1 section 7.7) on communicators and datatypes.
 * A keyval carries the user's copy and delete callbacks; an object keeps
 * its attributes in a list in the order they were set.  Comm_dup calls
 * every copy callback (MPI_COMM_DUP_FN copies the value, NULL_COPY_FN
 * drops it); Comm_free, Attr_delete and replacing a value call the delete
 * callback; freeing an object deletes its attributes last set first.  A
 * freed keyval lives on until the last attribute using it is deleted.  Predefined keys
 * (MPI_TAG_UB...) are read-only and can be read on every communicator. */
#include "config.h"
#include "mpi/comm_impl.h"
#include "mpi/dtype.h"
#include "rte/rte.h"
#include "util/hash.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef enum { TIDE_KV_COMM = 1, TIDE_KV_TYPE = 2 } tide_kv_kind_t;

typedef struct tide_keyval {
    tide_kv_kind_t kind;
    void (*copy_fn)(void); /* the kind's copy function type */
    void (*delete_fn)(void);
    void *extra;
    int refs;  /* the handle (until freed) + one per attribute */
    int freed; /* the handle was freed: later frees are no-ops */
} tide_keyval_t;

struct tide_attr {
    struct tide_attr *next;
    int keyval;
    void *val;
};

enum { TIDE_KV_FIRST_USER = MPI_LASTUSEDCODE + 1 };

static pthread_mutex_t tide_kv_lock = PTHREAD_MUTEX_INITIALIZER;
static tide_keyval_t **tide_kvs;
static int tide_kvs_cap;
static tide_hash_t tide_type_attrs; /* datatype -> struct tide_attr * head holder */

/* ---- predefined callbacks ---- */
int Tide_comm_null_copy_fn(MPI_Comm c, int k, void *e, void *in, void *out, int *flag)
{
    (void)c, (void)k, (void)e, (void)in, (void)out;
    *flag = 0;
    return MPI_SUCCESS;
}

int Tide_comm_dup_fn(MPI_Comm c, int k, void *e, void *in, void *out, int *flag)
{
    (void)c, (void)k, (void)e;
    *(void **)out = in;
    *flag = 1;
    return MPI_SUCCESS;
}

int Tide_comm_null_delete_fn(MPI_Comm c, int k, void *v, void *e)
{
    (void)c, (void)k, (void)v, (void)e;
    return MPI_SUCCESS;
}

int Tide_type_null_copy_fn(MPI_Datatype t, int k, void *e, void *in, void *out, int *flag)
{
    return Tide_comm_null_copy_fn(t, k, e, in, out, flag);
}

int Tide_type_dup_fn(MPI_Datatype t, int k, void *e, void *in, void *out, int *flag)
{
    return Tide_comm_dup_fn(t, k, e, in, out, flag);
}

int Tide_type_null_delete_fn(MPI_Datatype t, int k, void *v, void *e)
{
    return Tide_comm_null_delete_fn(t, k, v, e);
}

/* ---- keyvals ---- */
static tide_keyval_t *tide_kv_get(int k, tide_kv_kind_t kind)
{
    tide_keyval_t *kv = NULL;
    pthread_mutex_lock(&tide_kv_lock);
    if (k >= TIDE_KV_FIRST_USER && k < tide_kvs_cap && tide_kvs[k] && tide_kvs[k]->kind == kind)
        kv = tide_kvs[k];
    pthread_mutex_unlock(&tide_kv_lock);
    return kv;
}

static void tide_kv_unref(int k)
{
    pthread_mutex_lock(&tide_kv_lock);
    tide_keyval_t *kv = tide_kvs[k];
    if (--kv->refs == 0) {
        tide_kvs[k] = NULL;
        free(kv);
    }
    pthread_mutex_unlock(&tide_kv_lock);
}

static int tide_kv_create(const char *fn, tide_kv_kind_t kind, void (*copy)(void),
                          void (*del)(void), void *extra, int *out)
{
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, out, "keyval");
    tide_keyval_t *kv = malloc(sizeof(*kv));
    if (!kv)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_NO_MEM, "out of memory");
    *kv = (tide_keyval_t){kind, copy, del, extra, 1, 0};
    int h = 0;
    pthread_mutex_lock(&tide_kv_lock);
    for (int i = TIDE_KV_FIRST_USER; i < tide_kvs_cap && !h; i++)
        if (!tide_kvs[i])
            h = i;
    if (!h) {
        int cap = tide_kvs_cap ? 2 * tide_kvs_cap : 64;
        tide_keyval_t **t = realloc(tide_kvs, (size_t)cap * sizeof(*t));
        if (t) {
            memset(t + tide_kvs_cap, 0, (size_t)(cap - tide_kvs_cap) * sizeof(*t));
            h = tide_kvs_cap ? tide_kvs_cap : TIDE_KV_FIRST_USER;
            tide_kvs = t;
            tide_kvs_cap = cap;
        }
    }
    if (h)
        tide_kvs[h] = kv;
    pthread_mutex_unlock(&tide_kv_lock);
    if (!h) {
        free(kv);
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_NO_MEM, "out of memory");
    }
    *out = h;
    return MPI_SUCCESS;
}

static int tide_kv_free(const char *fn, tide_kv_kind_t kind, int *keyval)
{
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, keyval, "keyval");
    tide_keyval_t *kv = tide_kv_get(*keyval, kind);
    if (!kv)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_KEYVAL,
                              "argument keyval (%d) is not a keyval created for this kind of "
                              "object (or a predefined one, which cannot be freed)",
                              *keyval);
    /* A copy of a freed handle may be freed again while attributes still
     * use the keyval (a delete callback freeing its keyval, as MPICH
     * allows): only the first free drops the handle's reference. */
    if (!__atomic_exchange_n(&kv->freed, 1, __ATOMIC_ACQ_REL))
        tide_kv_unref(*keyval);
    *keyval = MPI_KEYVAL_INVALID;
    return MPI_SUCCESS;
}

/* ---- attribute lists (one per object) ---- */
static struct tide_attr *tide_attr_find(struct tide_attr *head, int k)
{
    for (; head; head = head->next)
        if (head->keyval == k)
            return head;
    return NULL;
}

/* Call the delete callback of attribute a of object obj. */
static int tide_attr_call_delete(tide_kv_kind_t kind, int obj, const struct tide_attr *a)
{
    tide_keyval_t *kv = tide_kv_get(a->keyval, kind);
    if (!kv || !kv->delete_fn)
        return MPI_SUCCESS;
    if (kind == TIDE_KV_COMM)
        return ((MPI_Comm_delete_attr_function *)(void *)kv->delete_fn)(obj, a->keyval, a->val,
                                                                        kv->extra);
    return ((MPI_Type_delete_attr_function *)(void *)kv->delete_fn)(obj, a->keyval, a->val,
                                                                    kv->extra);
}

static int tide_attr_remove(tide_kv_kind_t kind, int obj, struct tide_attr **head, int k)
{
    for (struct tide_attr **p = head; *p; p = &(*p)->next) {
        if ((*p)->keyval != k)
            continue;
        int rc = tide_attr_call_delete(kind, obj, *p);
        if (rc)
            return rc;
        struct tide_attr *a = *p;
        *p = a->next;
        free(a);
        tide_kv_unref(k);
        return MPI_SUCCESS;
    }
    return MPI_SUCCESS;
}

static int tide_attr_set(tide_kv_kind_t kind, int obj, struct tide_attr **head, int k, void *val)
{
    struct tide_attr *a = tide_attr_find(*head, k);
    if (a) {
        int rc = tide_attr_call_delete(kind, obj, a);
        if (rc)
            return rc;
        a->val = val;
        return MPI_SUCCESS;
    }
    a = malloc(sizeof(*a));
    if (!a)
        return MPI_ERR_NO_MEM;
    a->keyval = k;
    a->val = val;
    a->next = NULL;
    while (*head)
        head = &(*head)->next;
    *head = a;
    pthread_mutex_lock(&tide_kv_lock);
    tide_kvs[k]->refs++;
    pthread_mutex_unlock(&tide_kv_lock);
    return MPI_SUCCESS;
}

/* Last set, first deleted (MPI 4.1 section 11.2.2 requires it of
 * MPI_COMM_SELF at MPI_Finalize; every object does it). */
static int tide_attr_delete_all(tide_kv_kind_t kind, int obj, struct tide_attr **head)
{
    while (*head) {
        struct tide_attr *last = *head;
        while (last->next)
            last = last->next;
        int rc = tide_attr_remove(kind, obj, head, last->keyval);
        if (rc)
            return rc;
    }
    return MPI_SUCCESS;
}

/* Copy every attribute of old to *nhead through the copy callbacks. */
static int tide_attr_copy_all(tide_kv_kind_t kind, int old, struct tide_attr *src, int newobj,
                              struct tide_attr **nhead)
{
    for (; src; src = src->next) {
        tide_keyval_t *kv = tide_kv_get(src->keyval, kind);
        if (!kv || !kv->copy_fn)
            continue;
        void *out = NULL;
        int flag = 0, rc;
        if (kind == TIDE_KV_COMM)
            rc = ((MPI_Comm_copy_attr_function *)(void *)kv->copy_fn)(old, src->keyval, kv->extra,
                                                                      src->val, &out, &flag);
        else
            rc = ((MPI_Type_copy_attr_function *)(void *)kv->copy_fn)(old, src->keyval, kv->extra,
                                                                      src->val, &out, &flag);
        if (!rc && flag)
            rc = tide_attr_set(kind, newobj, nhead, src->keyval, out);
        if (rc)
            return rc;
    }
    return MPI_SUCCESS;
}

int tide_attr_comm_copy(tide_comm_t *c, tide_comm_t *n)
{
    return tide_attr_copy_all(TIDE_KV_COMM, c->handle, c->attrs, n->handle, &n->attrs);
}

int tide_attr_comm_delete_all(tide_comm_t *c)
{
    return tide_attr_delete_all(TIDE_KV_COMM, c->handle, &c->attrs);
}

/* ---- predefined attributes ---- */
static int tide_attr_predefined(int k, int **val)
{
    static int tag_ub = 0x7fffffff, host = MPI_PROC_NULL, io = MPI_ANY_SOURCE, wtime_global = 0;
    static int appnum, universe, lastused;
    switch (k) {
    case MPI_TAG_UB: *val = &tag_ub; return 1;
    case MPI_HOST: *val = &host; return 1;
    case MPI_IO: *val = &io; return 1;
    case MPI_WTIME_IS_GLOBAL: *val = &wtime_global; return 1;
    case MPI_APPNUM:
        appnum = tide_rte.appnum;
        *val = &appnum;
        return appnum >= 0;
    case MPI_UNIVERSE_SIZE:
        universe = tide_rte.universe_size > 0 ? tide_rte.universe_size : tide_rte.size;
        *val = &universe;
        return 1;
    case MPI_LASTUSEDCODE:
        lastused = tide_err_lastused();
        *val = &lastused;
        return 1;
    default: return 0;
    }
}

/* ---- communicator attribute calls ---- */
static int tide_comm_attr_check(const char *fn, MPI_Comm comm, int k, int writing, tide_comm_t **c)
{
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_GET_COMM(fn, comm, *c);
    if (k >= MPI_TAG_UB && k <= MPI_LASTUSEDCODE) {
        if (writing)
            return tide_mpi_error(comm, fn, MPI_ERR_KEYVAL,
                                  "argument keyval (%d) is a predefined, read-only key", k);
        return MPI_SUCCESS;
    }
    if (!tide_kv_get(k, TIDE_KV_COMM))
        return tide_mpi_error(comm, fn, MPI_ERR_KEYVAL,
                              "argument keyval (%d) is not a communicator keyval", k);
    return MPI_SUCCESS;
}

int PMPI_Comm_create_keyval(MPI_Comm_copy_attr_function *copy_fn,
                            MPI_Comm_delete_attr_function *delete_fn, int *comm_keyval,
                            void *extra_state)
{
    return tide_kv_create("MPI_Comm_create_keyval", TIDE_KV_COMM, (void (*)(void))copy_fn,
                          (void (*)(void))delete_fn, extra_state, comm_keyval);
}
TIDE_MPI_WEAK(MPI_Comm_create_keyval);

int PMPI_Comm_free_keyval(int *comm_keyval)
{
    return tide_kv_free("MPI_Comm_free_keyval", TIDE_KV_COMM, comm_keyval);
}
TIDE_MPI_WEAK(MPI_Comm_free_keyval);

static int tide_comm_set_attr(const char *fn, MPI_Comm comm, int k, void *val)
{
    tide_comm_t *c;
    int rc = tide_comm_attr_check(fn, comm, k, 1, &c);
    if (rc)
        return rc;
    rc = tide_attr_set(TIDE_KV_COMM, comm, &c->attrs, k, val);
    return rc ? tide_mpi_error(comm, fn, rc, "could not set attribute %d", k) : MPI_SUCCESS;
}

int PMPI_Comm_set_attr(MPI_Comm comm, int comm_keyval, void *attribute_val)
{
    return tide_comm_set_attr("MPI_Comm_set_attr", comm, comm_keyval, attribute_val);
}
TIDE_MPI_WEAK(MPI_Comm_set_attr);

static int tide_comm_get_attr(const char *fn, MPI_Comm comm, int k, void *out, int *flag)
{
    tide_comm_t *c;
    int rc = tide_comm_attr_check(fn, comm, k, 0, &c);
    if (rc)
        return rc;
    TIDE_MPI_CHECK_PTR(fn, comm, out, "attribute_val");
    TIDE_MPI_CHECK_PTR(fn, comm, flag, "flag");
    int *pre;
    if (k >= MPI_TAG_UB && k <= MPI_LASTUSEDCODE) {
        *flag = tide_attr_predefined(k, &pre);
        if (*flag)
            *(int **)out = pre;
        return MPI_SUCCESS;
    }
    struct tide_attr *a = tide_attr_find(c->attrs, k);
    *flag = a != NULL;
    if (a)
        *(void **)out = a->val;
    return MPI_SUCCESS;
}

int PMPI_Comm_get_attr(MPI_Comm comm, int comm_keyval, void *attribute_val, int *flag)
{
    return tide_comm_get_attr("MPI_Comm_get_attr", comm, comm_keyval, attribute_val, flag);
}
TIDE_MPI_WEAK(MPI_Comm_get_attr);

static int tide_comm_delete_attr(const char *fn, MPI_Comm comm, int k)
{
    tide_comm_t *c;
    int rc = tide_comm_attr_check(fn, comm, k, 1, &c);
    if (rc)
        return rc;
    if (!tide_attr_find(c->attrs, k))
        return tide_mpi_error(comm, fn, MPI_ERR_KEYVAL, "keyval %d has no attribute on %s", k,
                              c->name);
    rc = tide_attr_remove(TIDE_KV_COMM, comm, &c->attrs, k);
    return rc ? tide_mpi_error(comm, fn, rc, "the delete callback of keyval %d failed", k)
              : MPI_SUCCESS;
}

int PMPI_Comm_delete_attr(MPI_Comm comm, int comm_keyval)
{
    return tide_comm_delete_attr("MPI_Comm_delete_attr", comm, comm_keyval);
}
TIDE_MPI_WEAK(MPI_Comm_delete_attr);

/* MPI-1 names of the same calls (deprecated, still used by programs). */
int PMPI_Keyval_create(MPI_Copy_function *copy_fn, MPI_Delete_function *delete_fn, int *keyval,
                       void *extra_state)
{
    return tide_kv_create("MPI_Keyval_create", TIDE_KV_COMM, (void (*)(void))copy_fn,
                          (void (*)(void))delete_fn, extra_state, keyval);
}
TIDE_MPI_WEAK(MPI_Keyval_create);

int PMPI_Keyval_free(int *keyval)
{
    return tide_kv_free("MPI_Keyval_free", TIDE_KV_COMM, keyval);
}
TIDE_MPI_WEAK(MPI_Keyval_free);

int PMPI_Attr_put(MPI_Comm comm, int keyval, void *attribute_val)
{
    return tide_comm_set_attr("MPI_Attr_put", comm, keyval, attribute_val);
}
TIDE_MPI_WEAK(MPI_Attr_put);

int PMPI_Attr_get(MPI_Comm comm, int keyval, void *attribute_val, int *flag)
{
    return tide_comm_get_attr("MPI_Attr_get", comm, keyval, attribute_val, flag);
}
TIDE_MPI_WEAK(MPI_Attr_get);

int PMPI_Attr_delete(MPI_Comm comm, int keyval)
{
    return tide_comm_delete_attr("MPI_Attr_delete", comm, keyval);
}
TIDE_MPI_WEAK(MPI_Attr_delete);

/* ---- datatype attributes: lists kept in a map by handle ---- */
typedef struct tide_type_attrs {
    struct tide_attr *head;
} tide_type_attrs_t;

/* The list holder of dt (created if create). */
static tide_type_attrs_t *tide_type_list(MPI_Datatype dt, int create)
{
    pthread_mutex_lock(&tide_kv_lock);
    tide_type_attrs_t *t = tide_hash_get(&tide_type_attrs, (uint32_t)dt);
    if (!t && create && (t = calloc(1, sizeof(*t))) &&
        tide_hash_put(&tide_type_attrs, (uint32_t)dt, t)) {
        free(t);
        t = NULL;
    }
    pthread_mutex_unlock(&tide_kv_lock);
    return t;
}

static int tide_type_attr_check(const char *fn, MPI_Datatype dt, int k)
{
    TIDE_MPI_CHECK_INIT(fn);
    if (!tide_dt_name(dt)) /* any valid type, basic or derived */
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_TYPE,
                              "argument datatype (handle 0x%x) is not a valid datatype",
                              (unsigned)dt);
    if (!tide_kv_get(k, TIDE_KV_TYPE))
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_KEYVAL,
                              "argument type_keyval (%d) is not a datatype keyval", k);
    return MPI_SUCCESS;
}

int PMPI_Type_create_keyval(MPI_Type_copy_attr_function *copy_fn,
                            MPI_Type_delete_attr_function *delete_fn, int *type_keyval,
                            void *extra_state)
{
    return tide_kv_create("MPI_Type_create_keyval", TIDE_KV_TYPE, (void (*)(void))copy_fn,
                          (void (*)(void))delete_fn, extra_state, type_keyval);
}
TIDE_MPI_WEAK(MPI_Type_create_keyval);

int PMPI_Type_free_keyval(int *type_keyval)
{
    return tide_kv_free("MPI_Type_free_keyval", TIDE_KV_TYPE, type_keyval);
}
TIDE_MPI_WEAK(MPI_Type_free_keyval);

int PMPI_Type_set_attr(MPI_Datatype datatype, int type_keyval, void *attribute_val)
{
    static const char fn[] = "MPI_Type_set_attr";
    int rc = tide_type_attr_check(fn, datatype, type_keyval);
    if (rc)
        return rc;
    tide_type_attrs_t *t = tide_type_list(datatype, 1);
    rc = t ? tide_attr_set(TIDE_KV_TYPE, datatype, &t->head, type_keyval, attribute_val)
           : MPI_ERR_NO_MEM;
    return rc ? tide_mpi_error(MPI_COMM_NULL, fn, rc, "could not set attribute %d", type_keyval)
              : MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Type_set_attr);

int PMPI_Type_get_attr(MPI_Datatype datatype, int type_keyval, void *attribute_val, int *flag)
{
    static const char fn[] = "MPI_Type_get_attr";
    int rc = tide_type_attr_check(fn, datatype, type_keyval);
    if (rc)
        return rc;
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, attribute_val, "attribute_val");
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, flag, "flag");
    tide_type_attrs_t *t = tide_type_list(datatype, 0);
    struct tide_attr *a = t ? tide_attr_find(t->head, type_keyval) : NULL;
    *flag = a != NULL;
    if (a)
        *(void **)attribute_val = a->val;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Type_get_attr);

int PMPI_Type_delete_attr(MPI_Datatype datatype, int type_keyval)
{
    static const char fn[] = "MPI_Type_delete_attr";
    int rc = tide_type_attr_check(fn, datatype, type_keyval);
    if (rc)
        return rc;
    tide_type_attrs_t *t = tide_type_list(datatype, 0);
    if (!t || !tide_attr_find(t->head, type_keyval))
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_KEYVAL,
                              "type_keyval %d has no attribute on datatype 0x%x", type_keyval,
                              (unsigned)datatype);
    rc = tide_attr_remove(TIDE_KV_TYPE, datatype, &t->head, type_keyval);
    return rc ? tide_mpi_error(MPI_COMM_NULL, fn, rc, "the delete callback of keyval %d failed",
                               type_keyval)
              : MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Type_delete_attr);

int tide_attr_type_copy(MPI_Datatype oldtype, MPI_Datatype newtype)
{
    tide_type_attrs_t *t = tide_type_list(oldtype, 0);
    if (!t || !t->head)
        return MPI_SUCCESS;
    tide_type_attrs_t *n = tide_type_list(newtype, 1);
    return n ? tide_attr_copy_all(TIDE_KV_TYPE, oldtype, t->head, newtype, &n->head)
             : MPI_ERR_NO_MEM;
}

int tide_attr_type_delete_all(MPI_Datatype type)
{
    tide_type_attrs_t *t = tide_type_list(type, 0);
    if (!t)
        return MPI_SUCCESS;
    int rc = tide_attr_delete_all(TIDE_KV_TYPE, type, &t->head);
    if (rc)
        return rc;
    pthread_mutex_lock(&tide_kv_lock);
    tide_hash_del(&tide_type_attrs, (uint32_t)type);
    pthread_mutex_unlock(&tide_kv_lock);
    free(t);
    return MPI_SUCCESS;
}
