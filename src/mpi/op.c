/* MPI reduction operations (MPI 4.1 section 6.9): the predefined MPI_Op
 * handles 1..14 (kernels in src/coll/op.c), user operations created by
 * MPI_Op_create in a table of fixed slots (handles from TIDE_OP_USER0),
 * MPI_Op_commutative and MPI_Reduce_local. */
#include "config.h"
#include "mpi/dtype.h"
#include "mpi/op.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { TIDE_OP_USER0 = 32, TIDE_OP_NUSER = 4096 };

typedef struct tide_op_user {
    MPI_User_function *fn; /* NULL: slot free */
    int commute;
} tide_op_user_t;

static tide_op_user_t tide_op_users[TIDE_OP_NUSER];
static pthread_mutex_t tide_op_lock = PTHREAD_MUTEX_INITIALIZER;

static tide_op_user_t *tide_op_user_get(MPI_Op op)
{
    if (op < TIDE_OP_USER0 || op >= TIDE_OP_USER0 + TIDE_OP_NUSER)
        return NULL;
    tide_op_user_t *u = &tide_op_users[op - TIDE_OP_USER0];
    return __atomic_load_n(&u->fn, __ATOMIC_ACQUIRE) ? u : NULL;
}

static int tide_op_is_predefined(MPI_Op op)
{
    return op >= MPI_MAX && op <= MPI_NO_OP;
}

/* Element size of a reduction on dt: a basic type's size; for a pair type
 * (MPI_DOUBLE_INT...) the packed pair the collectives carry (12), or, for
 * a user operation called on the user's buffers (MPI_Reduce_local), the
 * C struct (16).  -1 for any other type. */
static int tide_op_elem_size(MPI_Datatype dt, int user)
{
    int size = tide_dt_size(dt);
    if (size >= 0 || !tide_dt_pair_size(dt))
        return size;
    MPI_Aint lb, extent;
    tide_dt_query(dt, NULL, &lb, &extent, NULL, NULL);
    return user ? (int)extent : tide_dt_pair_size(dt);
}

int tide_op_red(const char *fn, MPI_Comm comm, MPI_Op op, MPI_Datatype dt, tide_coll_red_t *out)
{
    int size = tide_op_elem_size(dt, tide_op_user_get(op) != NULL);
    if (size < 0)
        return tide_mpi_error(comm, fn, MPI_ERR_TYPE,
                              "argument datatype (handle 0x%x) is not a valid basic datatype "
                              "(derived datatypes are not supported in reductions yet)",
                              (unsigned)dt);
    tide_coll_red_t r = {.esize = (size_t)size, .dt = dt, .commute = 1};
    tide_op_user_t *u = tide_op_user_get(op);
    if (u) {
        r.user = (tide_coll_user_fn_t *)u->fn;
        r.commute = u->commute;
    } else if (tide_op_is_predefined(op)) {
        r.kernel = tide_coll_kernel(op, dt);
        if (!r.kernel)
            return tide_mpi_error(comm, fn, MPI_ERR_OP,
                                  "argument op (%d) is not defined on datatype 0x%x (MPI 4.1 "
                                  "section 6.9.2 lists the types each operation applies to)",
                                  (int)op, (unsigned)dt);
    } else {
        return tide_mpi_error(comm, fn, MPI_ERR_OP,
                              "argument op (handle %d) is not a valid operation", (int)op);
    }
    *out = r;
    return MPI_SUCCESS;
}

int PMPI_Op_create(MPI_User_function *user_fn, int commute, MPI_Op *op)
{
    static const char fn[] = "MPI_Op_create";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, user_fn, "user_fn");
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, op, "op");
    pthread_mutex_lock(&tide_op_lock);
    for (int i = 0; i < TIDE_OP_NUSER; i++) {
        tide_op_user_t *u = &tide_op_users[i];
        if (u->fn)
            continue;
        u->commute = commute ? 1 : 0;
        __atomic_store_n(&u->fn, user_fn, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&tide_op_lock);
        *op = TIDE_OP_USER0 + i;
        return MPI_SUCCESS;
    }
    pthread_mutex_unlock(&tide_op_lock);
    return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_INTERN,
                          "all %d user operation slots are in use: free some with MPI_Op_free",
                          TIDE_OP_NUSER);
}
TIDE_MPI_WEAK(MPI_Op_create);

int PMPI_Op_free(MPI_Op *op)
{
    static const char fn[] = "MPI_Op_free";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, op, "op");
    tide_op_user_t *u = tide_op_user_get(*op);
    if (!u)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_OP,
                              "argument op (handle %d) is not a user-defined operation%s", (int)*op,
                              tide_op_is_predefined(*op) ? " (predefined ones cannot be freed)"
                                                         : "");
    pthread_mutex_lock(&tide_op_lock);
    __atomic_store_n(&u->fn, NULL, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&tide_op_lock);
    *op = MPI_OP_NULL;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Op_free);

int PMPI_Op_commutative(MPI_Op op, int *commute)
{
    static const char fn[] = "MPI_Op_commutative";
    TIDE_MPI_CHECK_INIT(fn);
    TIDE_MPI_CHECK_PTR(fn, MPI_COMM_NULL, commute, "commute");
    tide_op_user_t *u = tide_op_user_get(op);
    if (!u && !tide_op_is_predefined(op))
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_OP,
                              "argument op (handle %d) is not a valid operation", (int)op);
    *commute = u ? u->commute : 1;
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Op_commutative);

/* A predefined operation on a pair type works on packed pairs (as the
 * collectives carry them): pack both operands, combine, unpack. */
static int tide_op_local_packed(const char *fn, const tide_coll_red_t *r, const void *in,
                                void *inout, int count, MPI_Datatype dt)
{
    tide_dt_msg_t m;
    tide_dt_msg(dt, count, &m);
    char *a = malloc(2 * (size_t)m.bytes);
    if (!a)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_NO_MEM,
                              "out of memory packing %d items for the reduction", count);
    char *b = a + m.bytes;
    if (!m.lay) {
        memcpy(a, (const char *)in + m.shift, m.bytes);
        memcpy(b, (char *)inout + m.shift, m.bytes);
    } else {
        tide_p2p_cur_t c;
        tide_p2p_cur_init(&c, in, m.lay, (uint64_t)count, 0);
        tide_p2p_cur_pack(&c, a, m.bytes);
        tide_p2p_cur_init(&c, inout, m.lay, (uint64_t)count, 0);
        tide_p2p_cur_pack(&c, b, m.bytes);
    }
    tide_coll_apply(r, a, b, (size_t)count);
    if (!m.lay) {
        memcpy((char *)inout + m.shift, b, m.bytes);
    } else {
        tide_p2p_cur_t c;
        tide_p2p_cur_init(&c, inout, m.lay, (uint64_t)count, 0);
        tide_p2p_cur_unpack(&c, b, m.bytes);
    }
    free(a);
    return MPI_SUCCESS;
}

int PMPI_Reduce_local(const void *inbuf, void *inoutbuf, int count, MPI_Datatype datatype,
                      MPI_Op op)
{
    static const char fn[] = "MPI_Reduce_local";
    TIDE_MPI_CHECK_INIT(fn);
    if (count < 0)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_COUNT, "argument count (%d) is negative",
                              count);
    tide_coll_red_t r;
    int rc = tide_op_red(fn, MPI_COMM_NULL, op, datatype, &r);
    if (rc)
        return rc;
    if (count == 0)
        return MPI_SUCCESS;
    if (!inbuf || inbuf == MPI_IN_PLACE || !inoutbuf || inoutbuf == MPI_IN_PLACE)
        return tide_mpi_error(MPI_COMM_NULL, fn, MPI_ERR_BUFFER,
                              "arguments inbuf and inoutbuf must be real buffers (not NULL or "
                              "MPI_IN_PLACE)");
    if (r.kernel && tide_dt_pair_size(datatype))
        return tide_op_local_packed(fn, &r, inbuf, inoutbuf, count, datatype);
    tide_coll_apply(&r, inbuf, inoutbuf, (size_t)count);
    return MPI_SUCCESS;
}
TIDE_MPI_WEAK(MPI_Reduce_local);
