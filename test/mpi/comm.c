/* Communicators across processes: split by colour and key (ranks, and
 * traffic on the new communicator never matching the parent's), dup
 * isolation, idup, create, create_group, compare, split_type, context-id
 * recycling, intercommunicators (create, point-to-point across, remote
 * group, barrier, dup, merge both ways).  Runs as a singleton and under
 * mpirun at any size; parts that need 2 processes are skipped below. */
#include <mpi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static int wrank, wsize;

#define CHECK_PREFIX "comm:"
#define CHECK_RANK   wrank
#define CHECK_FATAL
#include "check.h"

/* World rank of comm's rank r. */
static int world_of(MPI_Comm comm, int r)
{
    MPI_Group g, wg;
    int out;
    OK(MPI_Comm_group(comm, &g));
    OK(MPI_Comm_group(MPI_COMM_WORLD, &wg));
    OK(MPI_Group_translate_ranks(g, 1, &r, wg, &out));
    OK(MPI_Group_free(&g));
    OK(MPI_Group_free(&wg));
    return out;
}

/* Each rank sends its world rank to the next rank of comm on tag 7 and,
 * before that, 1000 + world rank to the next rank of the parent with the
 * same tag; the receives must not cross.  parent MPI_COMM_NULL: only the
 * ring on comm (when not every process of a parent takes part). */
static void ring_isolated(MPI_Comm comm, MPI_Comm parent)
{
    int r, n, pr = 0, pn = 1;
    OK(MPI_Comm_rank(comm, &r));
    OK(MPI_Comm_size(comm, &n));
    if (parent != MPI_COMM_NULL) {
        OK(MPI_Comm_rank(parent, &pr));
        OK(MPI_Comm_size(parent, &pn));
    }
    int out_p = 1000 + wrank, out_c = wrank, in_p = -1, in_c = -1;
    MPI_Request rq[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
    if (parent != MPI_COMM_NULL)
        OK(MPI_Isend(&out_p, 1, MPI_INT, (pr + 1) % pn, 7, parent, &rq[0]));
    OK(MPI_Isend(&out_c, 1, MPI_INT, (r + 1) % n, 7, comm, &rq[1]));
    MPI_Status st;
    OK(MPI_Recv(&in_c, 1, MPI_INT, MPI_ANY_SOURCE, 7, comm, &st));
    if (parent != MPI_COMM_NULL)
        OK(MPI_Recv(&in_p, 1, MPI_INT, (pr - 1 + pn) % pn, 7, parent, MPI_STATUS_IGNORE));
    OK(MPI_Waitall(2, rq, MPI_STATUSES_IGNORE));
    int from = (r - 1 + n) % n;
    CHECK(st.MPI_SOURCE == from, "ring source %d, want %d", st.MPI_SOURCE, from);
    CHECK(in_c == world_of(comm, from), "ring got %d on the new communicator, want %d", in_c,
          world_of(comm, from));
    if (parent != MPI_COMM_NULL)
        CHECK(in_p == 1000 + world_of(parent, (pr - 1 + pn) % pn), "parent ring got %d", in_p);
}

static void test_split(void)
{
    MPI_Comm s;
    int color = wrank % 2, n = 0, want = 0;
    OK(MPI_Comm_split(MPI_COMM_WORLD, color, -wrank, &s));
    for (int r = 0; r < wsize; r++)
        if (r % 2 == color) {
            n++;
            want += r > wrank;
        }
    int r, sz;
    OK(MPI_Comm_rank(s, &r));
    OK(MPI_Comm_size(s, &sz));
    CHECK(sz == n && r == want, "split: rank %d size %d, want %d of %d", r, sz, want, n);
    ring_isolated(s, MPI_COMM_WORLD);
    int res;
    OK(MPI_Comm_compare(s, MPI_COMM_WORLD, &res));
    CHECK(res == (wsize == 1 ? MPI_CONGRUENT : MPI_UNEQUAL), "compare(split, world) = %d", res);
    /* MPI_UNDEFINED: no communicator for the odd ranks */
    MPI_Comm u;
    OK(MPI_Comm_split(MPI_COMM_WORLD, color ? MPI_UNDEFINED : 5, 0, &u));
    CHECK((u == MPI_COMM_NULL) == (color == 1), "split with MPI_UNDEFINED");
    if (u != MPI_COMM_NULL)
        OK(MPI_Comm_free(&u));
    /* split of a split */
    MPI_Comm s2;
    OK(MPI_Comm_split(s, 0, r, &s2));
    OK(MPI_Comm_compare(s, s2, &res));
    CHECK(res == MPI_CONGRUENT, "compare(split, its split) = %d", res);
    ring_isolated(s2, s);
    OK(MPI_Comm_free(&s2));
    OK(MPI_Comm_free(&s));
    CHECK(s == MPI_COMM_NULL, "Comm_free did not reset the handle");
}

static void test_dup(void)
{
    MPI_Comm d, i;
    MPI_Request req;
    OK(MPI_Comm_dup(MPI_COMM_WORLD, &d));
    OK(MPI_Comm_idup(d, &i, &req));
    OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
    int res;
    OK(MPI_Comm_compare(MPI_COMM_WORLD, d, &res));
    CHECK(res == MPI_CONGRUENT, "compare(world, dup) = %d", res);
    OK(MPI_Comm_compare(d, d, &res));
    CHECK(res == MPI_IDENT, "compare(dup, dup) = %d", res);
    OK(MPI_Comm_compare(i, d, &res));
    CHECK(res == MPI_CONGRUENT, "compare(idup, dup) = %d", res);
    /* Same peer, same tag, three communicators: receives in the opposite
     * order of the sends still match by communicator. */
    int to = (wrank + 1) % wsize, from = (wrank - 1 + wsize) % wsize;
    int v[3] = {100 + wrank, 200 + wrank, 300 + wrank}, got[3];
    MPI_Request rq[3];
    OK(MPI_Isend(&v[0], 1, MPI_INT, to, 3, MPI_COMM_WORLD, &rq[0]));
    OK(MPI_Isend(&v[1], 1, MPI_INT, to, 3, d, &rq[1]));
    OK(MPI_Isend(&v[2], 1, MPI_INT, to, 3, i, &rq[2]));
    OK(MPI_Recv(&got[2], 1, MPI_INT, from, 3, i, MPI_STATUS_IGNORE));
    OK(MPI_Recv(&got[1], 1, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, d, MPI_STATUS_IGNORE));
    OK(MPI_Recv(&got[0], 1, MPI_INT, from, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    OK(MPI_Waitall(3, rq, MPI_STATUSES_IGNORE));
    for (int k = 0; k < 3; k++)
        CHECK(got[k] == 100 * (k + 1) + from, "dup isolation: got %d, want %d", got[k],
              100 * (k + 1) + from);
    OK(MPI_Barrier(d));
    OK(MPI_Comm_free(&i));
    OK(MPI_Comm_free(&d));
}

static void test_create(void)
{
    MPI_Group wg, evens, rev;
    OK(MPI_Comm_group(MPI_COMM_WORLD, &wg));
    int range[1][3] = {{0, wsize - 1, 2}};
    OK(MPI_Group_range_incl(wg, 1, range, &evens));
    MPI_Comm c;
    OK(MPI_Comm_create(MPI_COMM_WORLD, evens, &c));
    CHECK((c == MPI_COMM_NULL) == (wrank % 2 == 1), "Comm_create membership");
    if (c != MPI_COMM_NULL) {
        int r, n;
        OK(MPI_Comm_rank(c, &r));
        OK(MPI_Comm_size(c, &n));
        CHECK(r == wrank / 2 && n == (wsize + 1) / 2, "Comm_create: rank %d size %d", r, n);
        ring_isolated(c, MPI_COMM_NULL);
        OK(MPI_Barrier(c));
        OK(MPI_Comm_free(&c));
    }
    /* create_group with the world reversed: everybody is a member */
    int *ranks = malloc(sizeof(int) * (size_t)wsize);
    for (int i = 0; i < wsize; i++)
        ranks[i] = wsize - 1 - i;
    OK(MPI_Group_incl(wg, wsize, ranks, &rev));
    OK(MPI_Comm_create_group(MPI_COMM_WORLD, rev, 11, &c));
    int r, res;
    OK(MPI_Comm_rank(c, &r));
    CHECK(r == wsize - 1 - wrank, "create_group reversed: rank %d", r);
    OK(MPI_Comm_compare(c, MPI_COMM_WORLD, &res));
    CHECK(res == (wsize == 1 ? MPI_CONGRUENT : MPI_SIMILAR), "compare(reversed, world) = %d", res);
    ring_isolated(c, MPI_COMM_WORLD);
    OK(MPI_Comm_free(&c));
    /* create_group called by the odd ranks only */
    if (wrank % 2 == 1) {
        MPI_Group odds;
        int ex[1][3] = {{0, wsize - 1, 2}};
        OK(MPI_Group_range_excl(wg, 1, ex, &odds));
        OK(MPI_Comm_create_group(MPI_COMM_WORLD, odds, 12, &c));
        OK(MPI_Comm_rank(c, &r));
        CHECK(r == wrank / 2, "create_group odds: rank %d", r);
        ring_isolated(c, MPI_COMM_NULL);
        OK(MPI_Barrier(c));
        OK(MPI_Comm_free(&c));
        OK(MPI_Group_free(&odds));
    }
    free(ranks);
    OK(MPI_Group_free(&rev));
    OK(MPI_Group_free(&evens));
    OK(MPI_Group_free(&wg));
}

static void test_split_type(void)
{
    MPI_Comm node;
    OK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, wrank, MPI_INFO_NULL, &node));
    int r, n;
    OK(MPI_Comm_rank(node, &r));
    OK(MPI_Comm_size(node, &n));
    /* every rank of these tests runs on this one host */
    CHECK(r == wrank && n == wsize, "split_type shared: rank %d size %d", r, n);
    OK(MPI_Comm_free(&node));
    OK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_UNDEFINED, 0, MPI_INFO_NULL, &node));
    CHECK(node == MPI_COMM_NULL, "split_type MPI_UNDEFINED gave a communicator");
}

/* More communicators than there are context ids (4094), one at a time:
 * ids must come back on MPI_Comm_free; then a few hundred agreed with the
 * other processes. */
static void test_recycle(void)
{
    for (int i = 0; i < 5000; i++) {
        MPI_Comm d;
        OK(MPI_Comm_dup(MPI_COMM_SELF, &d));
        OK(MPI_Comm_free(&d));
    }
    if (wsize <= 2) {
        for (int i = 0; i < 300; i++) {
            MPI_Comm d;
            OK(MPI_Comm_dup(MPI_COMM_WORLD, &d));
            OK(MPI_Comm_free(&d));
        }
    }
}

/* Split an intercommunicator by local rank parity, keys reversed. */
static void test_intercomm_split(MPI_Comm inter, int low, int half, int lr, int ls, int rs)
{
    int col = lr % 2, nl = 0, nr = 0, want_rank = 0, top = -1;
    for (int i = 0; i < ls; i++)
        if (i % 2 == col) {
            nl++;
            want_rank += i > lr;
        }
    for (int i = 0; i < rs; i++)
        if (i % 2 == col) {
            nr++;
            top = i;
        }
    MPI_Comm s;
    OK(MPI_Comm_split(inter, col, -lr, &s));
    if (nr == 0) {
        CHECK(s == MPI_COMM_NULL, "intercomm split: a communicator without remote members");
        return;
    }
    int flag, r, n, rn;
    OK(MPI_Comm_test_inter(s, &flag));
    OK(MPI_Comm_rank(s, &r));
    OK(MPI_Comm_size(s, &n));
    OK(MPI_Comm_remote_size(s, &rn));
    CHECK(flag && r == want_rank && n == nl && rn == nr,
          "intercomm split: inter %d rank %d/%d size %d/%d remote %d/%d", flag, r, want_rank, n, nl,
          rn, nr);
    if (r == 0) { /* the two first ranks swap world ranks */
        int back = -1;
        OK(MPI_Sendrecv(&wrank, 1, MPI_INT, 0, 23, &back, 1, MPI_INT, 0, 23, s, MPI_STATUS_IGNORE));
        CHECK(back == (low ? half : 0) + top, "intercomm split: remote first is %d, want %d", back,
              (low ? half : 0) + top);
    }
    OK(MPI_Barrier(s));
    OK(MPI_Comm_free(&s));
}

static void test_intercomm(void)
{
    int half = wsize / 2, low = wrank < half;
    MPI_Comm local, inter, merged;
    OK(MPI_Comm_split(MPI_COMM_WORLD, low, wrank, &local));
    OK(MPI_Intercomm_create(local, 0, MPI_COMM_WORLD, low ? half : 0, 99, &inter));
    int flag, lr, ls, rs;
    OK(MPI_Comm_test_inter(inter, &flag));
    OK(MPI_Comm_rank(inter, &lr));
    OK(MPI_Comm_size(inter, &ls));
    OK(MPI_Comm_remote_size(inter, &rs));
    int want_ls = low ? half : wsize - half;
    CHECK(flag && ls == want_ls && rs == wsize - want_ls && lr == (low ? wrank : wrank - half),
          "intercomm: inter %d rank %d size %d remote %d", flag, lr, ls, rs);
    /* remote group = the other half of the world */
    MPI_Group rg, wg;
    OK(MPI_Comm_remote_group(inter, &rg));
    OK(MPI_Comm_group(MPI_COMM_WORLD, &wg));
    for (int i = 0; i < rs; i++) {
        int w;
        OK(MPI_Group_translate_ranks(rg, 1, &i, wg, &w));
        CHECK(w == (low ? half : 0) + i, "remote group rank %d is world %d", i, w);
    }
    OK(MPI_Group_free(&rg));
    OK(MPI_Group_free(&wg));
    /* point-to-point across: local rank i sends to remote rank i % rs */
    int out = 500 + wrank;
    MPI_Request sreq;
    OK(MPI_Isend(&out, 1, MPI_INT, lr % rs, 21, inter, &sreq));
    for (int j = 0; j < rs; j++) {
        if (j % ls != lr)
            continue;
        int in;
        MPI_Status st;
        OK(MPI_Recv(&in, 1, MPI_INT, j, 21, inter, &st));
        int src_world = (low ? half : 0) + j;
        CHECK(in == 500 + src_world && st.MPI_SOURCE == j, "intercomm recv %d from %d", in,
              st.MPI_SOURCE);
    }
    OK(MPI_Wait(&sreq, MPI_STATUS_IGNORE));
    OK(MPI_Barrier(inter));
    test_intercomm_split(inter, low, half, lr, ls, rs);
    MPI_Comm idup;
    int res;
    OK(MPI_Comm_dup(inter, &idup));
    OK(MPI_Comm_compare(inter, idup, &res));
    CHECK(res == MPI_CONGRUENT, "compare(inter, dup) = %d", res);
    OK(MPI_Comm_test_inter(idup, &flag));
    CHECK(flag, "dup of an intercommunicator is not one");
    /* merge: the low half first, so merged ranks are world ranks */
    OK(MPI_Intercomm_merge(idup, !low, &merged));
    int mr, ms;
    OK(MPI_Comm_rank(merged, &mr));
    OK(MPI_Comm_size(merged, &ms));
    CHECK(mr == wrank && ms == wsize, "merge: rank %d size %d", mr, ms);
    OK(MPI_Comm_compare(merged, MPI_COMM_WORLD, &res));
    CHECK(res == MPI_CONGRUENT, "compare(merged, world) = %d", res);
    ring_isolated(merged, MPI_COMM_WORLD);
    OK(MPI_Comm_free(&merged));
    /* and the other way round */
    OK(MPI_Intercomm_merge(inter, low, &merged));
    OK(MPI_Comm_rank(merged, &mr));
    CHECK(mr == (low ? (wsize - half) + wrank : wrank - half), "merge high: rank %d", mr);
    ring_isolated(merged, MPI_COMM_WORLD);
    OK(MPI_Comm_free(&merged));
    OK(MPI_Comm_free(&idup));
    OK(MPI_Comm_free(&inter));
    /* leaders that are the last ranks of their groups (non-zero roots) */
    int remote_last = low ? wsize - 1 : half - 1;
    OK(MPI_Intercomm_create(local, ls - 1, MPI_COMM_WORLD, remote_last, 98, &inter));
    OK(MPI_Comm_remote_size(inter, &rs));
    CHECK(rs == wsize - want_ls, "intercomm with last leaders: remote size %d", rs);
    int tok = wrank, back = -1;
    if (lr < rs && lr < ls) {
        OK(MPI_Sendrecv(&tok, 1, MPI_INT, lr, 22, &back, 1, MPI_INT, lr, 22, inter,
                        MPI_STATUS_IGNORE));
        CHECK(back == (low ? half : 0) + lr, "sendrecv across: %d", back);
    }
    OK(MPI_Barrier(inter));
    OK(MPI_Comm_free(&inter));
    OK(MPI_Comm_free(&local));
}

/* Two threads create communicators at the same time on different parents:
 * context-id agreements compete for each process's bitmap and must retry,
 * never hand out one id twice. */
static void *dup_loop(void *arg)
{
    MPI_Comm parent = *(MPI_Comm *)arg, d[4];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 4; i++)
            OK(MPI_Comm_dup(parent, &d[i]));
        for (int i = 0; i < 4; i++)
            ring_isolated(d[i], parent);
        for (int i = 0; i < 4; i++)
            OK(MPI_Comm_free(&d[i]));
    }
    return NULL;
}

static void test_threads(void)
{
    MPI_Comm a, b;
    OK(MPI_Comm_dup(MPI_COMM_WORLD, &a));
    OK(MPI_Comm_dup(MPI_COMM_WORLD, &b));
    pthread_t t;
    CHECK(pthread_create(&t, NULL, dup_loop, &a) == 0, "pthread_create");
    dup_loop(&b);
    pthread_join(t, NULL);
    OK(MPI_Comm_free(&a));
    OK(MPI_Comm_free(&b));
}

int main(int argc, char **argv)
{
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    MPI_Comm_size(MPI_COMM_WORLD, &wsize);
    test_split();
    test_dup();
    test_create();
    test_split_type();
    test_recycle();
    if (wsize >= 2)
        test_intercomm();
    if (provided == MPI_THREAD_MULTIPLE)
        test_threads();
    OK(MPI_Barrier(MPI_COMM_WORLD));
    if (wrank == 0)
        printf("comm ok (%d processes)\n", wsize);
    MPI_Finalize();
    return 0;
}
