/* Staging of derived-datatype buffers for the collectives (nbc.h): the
 * algorithms of src/coll see contiguous bytes; blocks of non-contiguous
 * types are packed into one temporary before and unpacked after, through
 * the layout cursors of src/p2p.  Also the reduction descriptor for
 * derived types: predefined operations on a type built from one basic type
 * combine its basic elements, user operations whole items. */
#include "config.h"
#include "mpi/dtype.h"
#include "mpi/nbc.h"
#include "mpi/op.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct tide_stage_blk {
    char *user; /* the block in the user's buffer (contiguous: already shifted) */
    tide_p2p_layout_t *lay;
    uint64_t count;
    char *tmp;
    uint64_t bytes;
} tide_stage_blk_t;

struct tide_stage {
    tide_stage_blk_t *out; /* blocks to unpack */
    size_t nout, cap;
    void **mem; /* temporaries */
    size_t nmem, memcap;
};

static int tide_stage_get(tide_stage_t **stp)
{
    if (!*stp && !(*stp = calloc(1, sizeof(**stp))))
        return -ENOMEM;
    return 0;
}

static char *tide_stage_alloc(tide_stage_t *st, size_t bytes)
{
    if (st->nmem == st->memcap) {
        size_t ncap = st->memcap ? st->memcap * 2 : 4;
        void **t = realloc(st->mem, ncap * sizeof(*t));
        if (!t)
            return NULL;
        st->mem = t;
        st->memcap = ncap;
    }
    char *p = malloc(bytes ? bytes : 1);
    if (p)
        st->mem[st->nmem++] = p;
    return p;
}

static int tide_stage_keep(tide_stage_t *st, const tide_stage_blk_t *b)
{
    if (st->nout == st->cap) {
        size_t ncap = st->cap ? st->cap * 2 : 4;
        tide_stage_blk_t *t = realloc(st->out, ncap * sizeof(*t));
        if (!t)
            return -ENOMEM;
        st->out = t;
        st->cap = ncap;
    }
    st->out[st->nout++] = *b;
    if (b->lay)
        tide_p2p_layout_ref(b->lay);
    return 0;
}

/* Pack (or copy) block b into its temporary. */
static void tide_stage_pack(const tide_stage_blk_t *b)
{
    if (!b->lay) {
        memcpy(b->tmp, b->user, b->bytes);
        return;
    }
    tide_p2p_cur_t cur;
    tide_p2p_cur_init(&cur, b->user, b->lay, b->count, 0);
    tide_p2p_cur_pack(&cur, b->tmp, b->bytes);
}

/* Stage every block into one temporary, back to back. */
static int tide_stage_all(tide_stage_t **stp, char *buf, int n, const int *counts,
                          const ptrdiff_t *offs, const tide_dt_msg_t *m, int dir, char **base,
                          size_t *bytes, size_t *disp)
{
    size_t total = 0;
    int rc = tide_stage_get(stp);
    for (int i = 0; i < n; i++)
        disp[i] = total, bytes[i] = m[i].bytes, total += m[i].bytes;
    char *tmp = rc ? NULL : tide_stage_alloc(*stp, total);
    if (!tmp)
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        if (!bytes[i])
            continue;
        tide_stage_blk_t b = {.user = buf + offs[i] + m[i].shift,
                              .lay = m[i].lay,
                              .count = (uint64_t)counts[i],
                              .tmp = tmp + disp[i],
                              .bytes = bytes[i]};
        if (dir & TIDE_STAGE_IN)
            tide_stage_pack(&b);
        if ((dir & TIDE_STAGE_OUT) && (rc = tide_stage_keep(*stp, &b)))
            return rc;
    }
    *base = tmp;
    return 0;
}

int tide_stage_vec(tide_stage_t **stp, void *buf, int n, const int *counts, const ptrdiff_t *offs,
                   const MPI_Datatype *types, MPI_Datatype dt, int dir, int regular, char **base,
                   size_t *bytes, size_t *disp)
{
    tide_dt_msg_t *m = calloc((size_t)(n ? n : 1), sizeof(*m));
    if (!m)
        return -ENOMEM;
    int rc = 0, direct = 1;
    for (int i = 0; i < n && !rc; i++) {
        rc = tide_dt_msg(types ? types[i] : dt, counts[i], &m[i]);
        direct &= m[i].lay == NULL;
    }
    ptrdiff_t first = n && !rc ? offs[0] + m[0].shift : 0, run = 0;
    for (int i = 0; !rc && direct && regular && i < n; run += (ptrdiff_t)m[i].bytes, i++)
        direct = offs[i] + m[i].shift == first + run;
    if (!rc && direct) { /* the user's memory as it is */
        *base = (char *)buf + (regular ? first : 0);
        for (int i = 0; i < n; i++)
            bytes[i] = m[i].bytes, disp[i] = (size_t)(offs[i] + m[i].shift - (regular ? first : 0));
    } else if (!rc) {
        rc = tide_stage_all(stp, buf, n, counts, offs, m, dir, base, bytes, disp);
    }
    free(m);
    return rc;
}

int tide_stage_one(tide_stage_t **stp, void *buf, int count, MPI_Datatype dt, int dir, char **ptr,
                   size_t *bytes)
{
    ptrdiff_t off = 0;
    size_t disp;
    return tide_stage_vec(stp, buf, 1, &count, &off, NULL, dt, dir, 1, ptr, bytes, &disp);
}

void tide_stage_out(tide_stage_t *st)
{
    for (size_t i = 0; st && i < st->nout; i++) {
        tide_stage_blk_t *b = &st->out[i];
        if (!b->lay) {
            memcpy(b->user, b->tmp, b->bytes);
            continue;
        }
        tide_p2p_cur_t cur;
        tide_p2p_cur_init(&cur, b->user, b->lay, b->count, 0);
        tide_p2p_cur_unpack(&cur, b->tmp, b->bytes);
    }
}

void tide_stage_free(tide_stage_t *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->nout; i++)
        if (st->out[i].lay)
            tide_p2p_layout_unref(st->out[i].lay);
    for (size_t i = 0; i < st->nmem; i++)
        free(st->mem[i]);
    free(st->mem);
    free(st->out);
    free(st);
}

/* The one basic type every element of t is made of (0: none yet), or -1
 * if it mixes several. */
static int tide_stage_basic_of(const tide_dtype_t *t, MPI_Datatype *b)
{
    MPI_Datatype pair = tide_dt_pair_handle(t); /* MINLOC/MAXLOC pair: basic here */
    if (pair) {
        *b = *b ? *b : pair;
        return *b == pair ? 0 : -1;
    }
    if (t->inner)
        return tide_stage_basic_of(t->inner, b);
    for (int i = 0; i < t->nd; i++) {
        if (t->kids && t->kids[i]) {
            if (tide_stage_basic_of(t->kids[i], b))
                return -1;
        } else if (*b == 0) {
            *b = t->types[i];
        } else if (*b != t->types[i]) {
            return -1;
        }
    }
    return 0;
}

static int tide_stage_red_derived(const char *fn, MPI_Comm comm, MPI_Op op, MPI_Datatype dt,
                                  int count, tide_dtype_t *t, tide_coll_red_t *r, size_t *nelem)
{
    int rc;
    if (op >= MPI_MAX && op <= MPI_NO_OP) { /* predefined: on the basic elements */
        MPI_Datatype b = 0;
        int bs;
        if (tide_stage_basic_of(t, &b) || b == 0 ||
            (bs = tide_dt_size(b) > 0 ? tide_dt_size(b) : tide_dt_pair_size(b)) <= 0)
            return tide_mpi_error(comm, fn, MPI_ERR_OP,
                                  "argument op (%d) is predefined but datatype 0x%x is not built "
                                  "from a single basic type (use a user operation)",
                                  (int)op, (unsigned)dt);
        if ((rc = tide_op_red(fn, comm, op, b, r)))
            return rc;
        *nelem = (size_t)count * (size_t)(t->size / bs);
        return MPI_SUCCESS;
    }
    if ((rc = tide_op_red(fn, comm, op, MPI_BYTE, r))) /* checks the user op */
        return rc;
    MPI_Aint lb, extent, tlb, text;
    tide_dt_query(dt, NULL, &lb, &extent, &tlb, &text);
    if (extent <= 0)
        return tide_mpi_error(comm, fn, MPI_ERR_TYPE,
                              "argument datatype 0x%x has extent %ld; user reductions need a "
                              "positive extent",
                              (unsigned)dt, (long)extent);
    r->dt = dt;
    r->esize = (size_t)t->size;
    r->extent = extent, r->true_lb = tlb, r->true_ext = text;
    r->lay = t->lay;
    tide_p2p_layout_ref(r->lay);
    *nelem = (size_t)count;
    return MPI_SUCCESS;
}

int tide_stage_red(const char *fn, MPI_Comm comm, MPI_Op op, MPI_Datatype dt, int count,
                   tide_coll_red_t *r, size_t *nelem)
{
    tide_dtype_t *t = tide_dtype_get(dt);
    if (!t) {
        *nelem = (size_t)count;
        return tide_op_red(fn, comm, op, dt, r);
    }
    tide_dt_msg_t m;
    int rc = tide_dt_msg(dt, 1, &m);
    if (rc)
        return tide_dt_msg_error(fn, comm, dt, rc);
    if (t->size == 0)
        return tide_mpi_error(comm, fn, MPI_ERR_TYPE,
                              "argument datatype 0x%x holds no data; it cannot be reduced",
                              (unsigned)dt);
    memset(r, 0, sizeof(*r));
    return tide_stage_red_derived(fn, comm, op, dt, count, t, r, nelem);
}

void tide_stage_red_done(tide_coll_red_t *r)
{
    if (r->lay) {
        tide_p2p_layout_unref(r->lay);
        r->lay = NULL;
    }
}
