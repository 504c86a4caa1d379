/* Attributes, error handlers, info and the small calls: keyvals whose
 * copy/delete callbacks are counted through Comm_dup/set/delete/free and
 * MPI_Finalize, MPI_COMM_DUP_FN and NULL_COPY_FN, predefined attributes,
 * datatype keyvals; a user error handler called with the right class (on
 * its communicator and inherited by a dup), Comm_call_errhandler, added
 * error classes/codes/strings, Error_string for every class; communicator
 * names; info round trips and MPI_INFO_ENV; Alloc_mem, Status_set_*. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int wrank, wsize;
static int copies, deletes, last_deleted, type_deletes;
static int handler_calls, handler_class;
static MPI_Comm handler_comm;

#define CHECK_PREFIX "comm_attr:"
#define CHECK_RANK   wrank
#define CHECK_FATAL
#include "check.h"

static int copy_fn(MPI_Comm c, int k, void *extra, void *in, void *out, int *flag)
{
    (void)c, (void)k;
    CHECK(extra == &copies, "copy callback: wrong extra_state");
    copies++;
    *(void **)out = (char *)in + 1;
    *flag = 1;
    return MPI_SUCCESS;
}

static int delete_fn(MPI_Comm c, int k, void *val, void *extra)
{
    (void)c, (void)k, (void)extra;
    deletes++;
    last_deleted = (int)(long)val;
    return MPI_SUCCESS;
}

static int type_delete_fn(MPI_Datatype t, int k, void *val, void *extra)
{
    (void)k, (void)extra;
    CHECK(t == MPI_INT && val == (void *)7L, "type delete callback arguments");
    type_deletes++;
    return MPI_SUCCESS;
}

/* Set on MPI_COMM_SELF: its delete callback runs first in MPI_Finalize. */
static int finalize_fn(MPI_Comm c, int k, void *val, void *extra)
{
    (void)c, (void)k, (void)val, (void)extra;
    int fin;
    MPI_Finalized(&fin);
    if (!fin && wrank == 0)
        printf("finalize callback ran\n");
    return MPI_SUCCESS;
}

static void handler(MPI_Comm *comm, int *code, ...)
{
    handler_calls++;
    handler_comm = *comm;
    MPI_Error_class(*code, &handler_class);
}

static void test_attrs(void)
{
    int key, dkey, nkey, flag;
    void *v;
    OK(MPI_Comm_create_keyval(copy_fn, delete_fn, &key, &copies));
    OK(MPI_Comm_create_keyval(MPI_COMM_DUP_FN, MPI_COMM_NULL_DELETE_FN, &dkey, NULL));
    OK(MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, delete_fn, &nkey, NULL));
    MPI_Comm a, b;
    OK(MPI_Comm_dup(MPI_COMM_WORLD, &a));
    OK(MPI_Comm_get_attr(a, key, &v, &flag));
    CHECK(!flag, "attribute present before it was set");
    OK(MPI_Comm_set_attr(a, key, (void *)100L));
    OK(MPI_Comm_set_attr(a, dkey, (void *)200L));
    OK(MPI_Comm_set_attr(a, nkey, (void *)300L));
    OK(MPI_Comm_dup(a, &b));
    CHECK(copies == 1, "copy callback ran %d times", copies);
    OK(MPI_Comm_get_attr(b, key, &v, &flag));
    CHECK(flag && v == (void *)101L, "copied attribute %p", v);
    OK(MPI_Comm_get_attr(b, dkey, &v, &flag));
    CHECK(flag && v == (void *)200L, "MPI_COMM_DUP_FN attribute %p", v);
    OK(MPI_Comm_get_attr(b, nkey, &v, &flag));
    CHECK(!flag, "MPI_COMM_NULL_COPY_FN attribute was copied");
    /* replacing a value deletes the old one */
    OK(MPI_Comm_set_attr(a, key, (void *)150L));
    CHECK(deletes == 1 && last_deleted == 100, "replace: %d deletes, last %d", deletes,
          last_deleted);
    OK(MPI_Comm_delete_attr(a, key));
    CHECK(deletes == 2 && last_deleted == 150, "delete: %d deletes, last %d", deletes,
          last_deleted);
    OK(MPI_Comm_get_attr(a, key, &v, &flag));
    CHECK(!flag, "attribute still there after delete");
    /* a freed keyval stays usable by the attributes that hold it */
    OK(MPI_Comm_free_keyval(&key));
    CHECK(key == MPI_KEYVAL_INVALID, "free_keyval did not reset the key");
    OK(MPI_Comm_free(&b)); /* deletes 101 */
    CHECK(deletes == 3 && last_deleted == 101, "free: %d deletes, last %d", deletes, last_deleted);
    OK(MPI_Comm_free(&a)); /* deletes 300 (nkey) */
    CHECK(deletes == 4 && last_deleted == 300, "free: %d deletes, last %d", deletes, last_deleted);
    OK(MPI_Comm_free_keyval(&dkey));
    OK(MPI_Comm_free_keyval(&nkey));

    /* MPI-1 names */
    int k1;
    OK(MPI_Keyval_create(MPI_NULL_COPY_FN, MPI_NULL_DELETE_FN, &k1, NULL));
    OK(MPI_Attr_put(MPI_COMM_WORLD, k1, (void *)5L));
    OK(MPI_Attr_get(MPI_COMM_WORLD, k1, &v, &flag));
    CHECK(flag && v == (void *)5L, "Attr_get");
    OK(MPI_Attr_delete(MPI_COMM_WORLD, k1));
    OK(MPI_Keyval_free(&k1));

    /* predefined attributes */
    int *ip;
    OK(MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &ip, &flag));
    CHECK(flag && *ip == 0x7fffffff, "MPI_TAG_UB");
    OK(MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_HOST, &ip, &flag));
    CHECK(flag && *ip == MPI_PROC_NULL, "MPI_HOST");
    OK(MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_IO, &ip, &flag));
    CHECK(flag && *ip == MPI_ANY_SOURCE, "MPI_IO");
    OK(MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_WTIME_IS_GLOBAL, &ip, &flag));
    CHECK(flag && *ip == 0, "MPI_WTIME_IS_GLOBAL");
    OK(MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_UNIVERSE_SIZE, &ip, &flag));
    CHECK(flag && *ip >= wsize, "MPI_UNIVERSE_SIZE");
    OK(MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_APPNUM, &ip, &flag));
    CHECK(!flag || *ip == 0, "MPI_APPNUM %d", *ip);
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    int cls, rc = MPI_Comm_set_attr(MPI_COMM_WORLD, MPI_TAG_UB, NULL);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_KEYVAL, "setting MPI_TAG_UB: class %d", cls);
    rc = MPI_Comm_get_attr(MPI_COMM_WORLD, 9999, &v, &flag);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_KEYVAL, "bad keyval: class %d", cls);
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL));

    /* datatype keyvals on a basic type */
    int tk;
    OK(MPI_Type_create_keyval(MPI_TYPE_NULL_COPY_FN, type_delete_fn, &tk, NULL));
    OK(MPI_Type_set_attr(MPI_INT, tk, (void *)7L));
    OK(MPI_Type_get_attr(MPI_INT, tk, &v, &flag));
    CHECK(flag && v == (void *)7L, "Type_get_attr");
    OK(MPI_Type_get_attr(MPI_DOUBLE, tk, &v, &flag));
    CHECK(!flag, "MPI_DOUBLE has MPI_INT's attribute");
    OK(MPI_Type_delete_attr(MPI_INT, tk));
    CHECK(type_deletes == 1, "type delete callback ran %d times", type_deletes);
    OK(MPI_Type_free_keyval(&tk));

    int fk;
    OK(MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, finalize_fn, &fk, NULL));
    OK(MPI_Comm_set_attr(MPI_COMM_SELF, fk, NULL));
}

static void test_errhandlers(void)
{
    MPI_Errhandler eh, got;
    MPI_Comm d, dd;
    OK(MPI_Comm_create_errhandler(handler, &eh));
    OK(MPI_Comm_dup(MPI_COMM_WORLD, &d));
    OK(MPI_Comm_set_errhandler(d, eh));
    OK(MPI_Errhandler_free(&eh)); /* d keeps it alive */
    CHECK(eh == MPI_ERRHANDLER_NULL, "Errhandler_free did not reset the handle");
    int x = 0, rc = MPI_Send(&x, 1, MPI_INT, wsize + 3, 0, d);
    CHECK(handler_calls == 1 && handler_class == MPI_ERR_RANK && handler_comm == d,
          "handler: %d calls, class %d", handler_calls, handler_class);
    CHECK(rc == MPI_ERR_RANK, "MPI_Send with a bad rank returned %d", rc);
    rc = MPI_Recv(&x, 1, MPI_INT, 0, -5, d, MPI_STATUS_IGNORE);
    CHECK(handler_calls == 2 && handler_class == MPI_ERR_TAG, "bad tag: class %d", handler_class);
    /* inherited by Comm_dup */
    OK(MPI_Comm_dup(d, &dd));
    OK(MPI_Comm_get_errhandler(dd, &got));
    rc = MPI_Comm_call_errhandler(dd, MPI_ERR_OTHER);
    CHECK(rc == MPI_SUCCESS && handler_calls == 3 && handler_class == MPI_ERR_OTHER &&
              handler_comm == dd,
          "Comm_call_errhandler: %d calls, class %d", handler_calls, handler_class);
    OK(MPI_Errhandler_free(&got));
    /* added classes, codes and strings */
    int c1, code, cls, len;
    char s[MPI_MAX_ERROR_STRING];
    OK(MPI_Add_error_class(&c1));
    OK(MPI_Add_error_code(c1, &code));
    OK(MPI_Add_error_string(code, "tide test: my own error"));
    OK(MPI_Error_class(code, &cls));
    CHECK(cls == c1 && code != c1, "added code %d has class %d, want %d", code, cls, c1);
    OK(MPI_Error_string(code, s, &len));
    CHECK(strcmp(s, "tide test: my own error") == 0 && len == (int)strlen(s), "string '%s'", s);
    int *last, flag;
    OK(MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_LASTUSEDCODE, &last, &flag));
    CHECK(flag && *last >= code, "MPI_LASTUSEDCODE %d < %d", *last, code);
    rc = MPI_Comm_call_errhandler(d, code);
    CHECK(handler_calls == 4 && handler_class == c1, "user class through the handler: %d",
          handler_class);
    for (int k = 0; k < MPI_ERR_LASTCODE; k++) {
        OK(MPI_Error_class(k, &cls));
        OK(MPI_Error_string(k, s, &len));
        CHECK(cls == k && len > 0 && strncmp(s, "MPI_", 4) == 0, "class %d: '%s'", k, s);
    }
    OK(MPI_Comm_free(&dd));
    OK(MPI_Comm_free(&d));
}

static void test_names(void)
{
    char name[MPI_MAX_OBJECT_NAME];
    int len;
    MPI_Comm d;
    OK(MPI_Comm_get_name(MPI_COMM_WORLD, name, &len));
    CHECK(strcmp(name, "MPI_COMM_WORLD") == 0 && len == 14, "world's name '%s'", name);
    OK(MPI_Comm_get_name(MPI_COMM_SELF, name, &len));
    CHECK(strcmp(name, "MPI_COMM_SELF") == 0, "self's name '%s'", name);
    OK(MPI_Comm_dup(MPI_COMM_WORLD, &d));
    OK(MPI_Comm_get_name(d, name, &len));
    CHECK(len == 0 && name[0] == 0, "unnamed dup has name '%s'", name);
    OK(MPI_Comm_set_name(d, "tide-dup"));
    OK(MPI_Comm_get_name(d, name, &len));
    CHECK(strcmp(name, "tide-dup") == 0 && len == 8, "dup's name '%s'", name);
    int flag;
    OK(MPI_Comm_test_inter(d, &flag));
    CHECK(!flag, "dup of the world is an intercommunicator");
    OK(MPI_Comm_free(&d));
}

static void test_info(void)
{
    MPI_Info in, dup;
    char val[MPI_MAX_INFO_VAL], key[MPI_MAX_INFO_KEY];
    int flag, n, len;
    OK(MPI_Info_create(&in));
    OK(MPI_Info_set(in, "alpha", "1"));
    OK(MPI_Info_set(in, "beta", "twenty-two"));
    OK(MPI_Info_set(in, "gamma", "x"));
    OK(MPI_Info_set(in, "alpha", "one")); /* replaces, keeps the position */
    OK(MPI_Info_get_nkeys(in, &n));
    CHECK(n == 3, "nkeys %d", n);
    const char *order[3] = {"alpha", "beta", "gamma"};
    for (int i = 0; i < 3; i++) {
        OK(MPI_Info_get_nthkey(in, i, key));
        CHECK(strcmp(key, order[i]) == 0, "key %d is '%s'", i, key);
    }
    OK(MPI_Info_get(in, "alpha", MPI_MAX_INFO_VAL - 1, val, &flag));
    CHECK(flag && strcmp(val, "one") == 0, "alpha = '%s'", val);
    OK(MPI_Info_get_valuelen(in, "beta", &len, &flag));
    CHECK(flag && len == 10, "valuelen of beta %d", len);
    OK(MPI_Info_get(in, "beta", 6, val, &flag));
    CHECK(flag && strcmp(val, "twenty") == 0, "truncated beta '%s'", val);
    OK(MPI_Info_get(in, "delta", MPI_MAX_INFO_VAL - 1, val, &flag));
    CHECK(!flag, "delta found");
    OK(MPI_Info_dup(in, &dup));
    OK(MPI_Info_delete(in, "beta"));
    OK(MPI_Info_get_nkeys(in, &n));
    CHECK(n == 2, "nkeys after delete %d", n);
    OK(MPI_Info_get(dup, "beta", MPI_MAX_INFO_VAL - 1, val, &flag));
    CHECK(flag && strcmp(val, "twenty-two") == 0, "dup lost beta");
    OK(MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN));
    int cls, rc = MPI_Info_delete(in, "beta");
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_INFO_NOKEY, "deleting a missing key: class %d", cls);
    rc = MPI_Info_set(in, "", "v");
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_INFO_KEY, "empty key: class %d", cls);
    OK(MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_ARE_FATAL));
    /* Comm_get_info returns the hints in use: the MPI assertions Tide
     * recognises, not keys it ignores (test/mpi/idup.c tests more) */
    MPI_Comm d;
    MPI_Info used;
    OK(MPI_Comm_dup_with_info(MPI_COMM_WORLD, dup, &d));
    OK(MPI_Comm_get_info(d, &used));
    OK(MPI_Info_get(used, "gamma", MPI_MAX_INFO_VAL - 1, val, &flag));
    CHECK(!flag, "Comm_get_info returned the ignored key gamma");
    OK(MPI_Info_get(used, "mpi_assert_no_any_tag", MPI_MAX_INFO_VAL - 1, val, &flag));
    CHECK(flag && strcmp(val, "false") == 0, "Comm_get_info lacks mpi_assert_no_any_tag");
    OK(MPI_Info_free(&used));
    OK(MPI_Comm_free(&d));
    OK(MPI_Info_free(&in));
    OK(MPI_Info_free(&dup));
    CHECK(in == MPI_INFO_NULL, "Info_free did not reset the handle");
    OK(MPI_Info_get(MPI_INFO_ENV, "maxprocs", MPI_MAX_INFO_VAL - 1, val, &flag));
    CHECK(flag && atoi(val) == wsize, "MPI_INFO_ENV maxprocs '%s'", val);
}

static void test_misc(void)
{
    double *p;
    OK(MPI_Alloc_mem(1 << 20, MPI_INFO_NULL, &p));
    p[0] = 1.0;
    p[(1 << 17) - 1] = 2.0;
    OK(MPI_Free_mem(p));
    OK(MPI_Pcontrol(1));
    MPI_Status st;
    int count, flag;
    memset(&st, 0, sizeof(st));
    OK(MPI_Status_set_elements(&st, MPI_DOUBLE, 5));
    OK(MPI_Get_count(&st, MPI_DOUBLE, &count));
    CHECK(count == 5, "Get_count after Status_set_elements: %d", count);
    OK(MPI_Get_count(&st, MPI_INT, &count));
    CHECK(count == 10, "the same status in ints: %d", count);
    /* a derived type: 3 doubles per item, 7 elements = 2 items and 1 */
    MPI_Datatype t3;
    OK(MPI_Type_contiguous(3, MPI_DOUBLE, &t3));
    OK(MPI_Type_commit(&t3));
    OK(MPI_Status_set_elements(&st, t3, 7));
    OK(MPI_Get_elements(&st, t3, &count));
    CHECK(count == 7, "Get_elements of the derived type: %d", count);
    OK(MPI_Get_count(&st, t3, &count));
    CHECK(count == MPI_UNDEFINED, "Get_count of a partial item: %d", count);
    OK(MPI_Get_count(&st, MPI_DOUBLE, &count));
    CHECK(count == 7, "the same status in doubles: %d", count);
    /* attributes on a derived type */
    int tk, flag2;
    void *v;
    OK(MPI_Type_create_keyval(MPI_TYPE_DUP_FN, MPI_TYPE_NULL_DELETE_FN, &tk, NULL));
    OK(MPI_Type_set_attr(t3, tk, (void *)33L));
    OK(MPI_Type_get_attr(t3, tk, &v, &flag2));
    CHECK(flag2 && v == (void *)33L, "attribute on a derived type");
    OK(MPI_Type_delete_attr(t3, tk));
    OK(MPI_Type_free_keyval(&tk));
    OK(MPI_Type_free(&t3));
    OK(MPI_Status_set_cancelled(&st, 1));
    OK(MPI_Test_cancelled(&st, &flag));
    CHECK(flag, "Status_set_cancelled");
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    MPI_Comm_size(MPI_COMM_WORLD, &wsize);
    if (argc > 1 && strcmp(argv[1], "abort") == 0) {
        /* MPI_ERRORS_ABORT inherited by a dup: the error ends the job with
         * the error class as exit code (Tide ends the whole job). */
        MPI_Comm d;
        OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ABORT));
        OK(MPI_Comm_dup(MPI_COMM_WORLD, &d));
        OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL));
        int x = 0;
        if (wrank == wsize - 1)
            MPI_Send(&x, 1, MPI_INT, -7, 0, d);
        else
            MPI_Recv(&x, 1, MPI_INT, wsize - 1, 0, d, MPI_STATUS_IGNORE);
        printf("MPI_ERRORS_ABORT returned\n");
        return 0;
    }
    test_attrs();
    test_errhandlers();
    test_names();
    test_info();
    test_misc();
    if (wrank == 0)
        printf("comm_attr ok (%d processes)\n", wsize);
    MPI_Finalize();
    return 0;
}
