/* MPI_Comm_idup, MPI_Comm_idup_with_info and MPI_Comm_get_info
 * (src/mpi/comm.c, comm_ctx.c).  The idups are truly nonblocking: ranks
 * reach them with point-to-point work in between that depends on a rank
 * which already started its idup (a blocking duplicate deadlocks here),
 * several are outstanding at once beside Iallreduce/Ibarrier/Isend on the
 * parent, on two parents started in opposite orders, beside blocking
 * MPI_Comm_dup/split, on MPI_COMM_SELF and on intercommunicators; they
 * complete through Wait, Test, Waitall and Testany in different orders on
 * different ranks; with the argument "threads" also from three threads
 * at once, beside blocking duplicates.  Every new communicator is checked: congruent to its
 * parent, attributes copied, its own context (messages with the same tag
 * on two duplicates do not mix), collectives work.  Comm_get_info returns
 * the MPI assertion hints (default "false") and no key Tide ignores. */
#include <mpi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures, rank, size;
#define CHECK_PREFIX "idup FAIL"
#define CHECK_RANK   rank
#include "check.h"

static int copies; /* attribute copy callbacks run */

static int copy_fn(MPI_Comm c, int key, void *extra, void *in, void *out, int *flag)
{
    (void)c, (void)key, (void)extra;
    copies++;
    *(void **)out = in;
    *flag = 1;
    return MPI_SUCCESS;
}

/* A finished duplicate of parent: same group, usable, attribute copied. */
static void check_dup(MPI_Comm parent, MPI_Comm n, int keyval, void *attr)
{
    int res, flag = 0, sum = 0, inter;
    void *val = NULL;
    OK(MPI_Comm_compare(parent, n, &res));
    CHECK(res == MPI_CONGRUENT, "compare gives %d", res);
    OK(MPI_Comm_test_inter(n, &inter));
    if (keyval != MPI_KEYVAL_INVALID) {
        OK(MPI_Comm_get_attr(n, keyval, &val, &flag));
        CHECK(flag && val == attr, "attribute not copied (flag %d)", flag);
    }
    if (!inter) {
        int me, np;
        MPI_Comm_rank(n, &me);
        MPI_Comm_size(n, &np);
        OK(MPI_Allreduce(&me, &sum, 1, MPI_INT, MPI_SUM, n));
        CHECK(sum == np * (np - 1) / 2, "allreduce on the duplicate gives %d", sum);
    }
}

/* Two duplicates keep their traffic apart: same tag, sent on b first. */
static void check_apart(MPI_Comm a, MPI_Comm b)
{
    int me, np, va = 100 + rank, vb = 200 + rank, ra = -1, rb = -1;
    MPI_Comm_rank(a, &me);
    MPI_Comm_size(a, &np);
    MPI_Request rq[4];
    int to = (me + 1) % np, from = (me + np - 1) % np;
    OK(MPI_Isend(&vb, 1, MPI_INT, to, 7, b, &rq[0]));
    OK(MPI_Isend(&va, 1, MPI_INT, to, 7, a, &rq[1]));
    OK(MPI_Irecv(&ra, 1, MPI_INT, MPI_ANY_SOURCE, 7, a, &rq[2]));
    OK(MPI_Irecv(&rb, 1, MPI_INT, MPI_ANY_SOURCE, 7, b, &rq[3]));
    OK(MPI_Waitall(4, rq, MPI_STATUSES_IGNORE));
    int pf = 0;
    MPI_Group ga, gw;
    MPI_Comm_group(a, &ga);
    MPI_Comm_group(MPI_COMM_WORLD, &gw);
    MPI_Group_translate_ranks(ga, 1, &from, gw, &pf);
    MPI_Group_free(&ga);
    MPI_Group_free(&gw);
    CHECK(ra == 100 + pf && rb == 200 + pf, "got %d on a, %d on b (from %d)", ra, rb, pf);
}

/* Rank 0 starts its idup, then waits for a synchronous send every other
 * rank makes before its own idup: a blocking idup deadlocks. */
static void test_order(void)
{
    MPI_Comm n;
    MPI_Request r;
    int v = rank;
    if (rank == 0) {
        OK(MPI_Comm_idup(MPI_COMM_WORLD, &n, &r));
        for (int i = 1; i < size; i++) {
            int got = -1;
            OK(MPI_Recv(&got, 1, MPI_INT, i, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
            CHECK(got == i);
        }
    } else {
        OK(MPI_Ssend(&v, 1, MPI_INT, 0, 1, MPI_COMM_WORLD));
        OK(MPI_Comm_idup(MPI_COMM_WORLD, &n, &r));
    }
    OK(MPI_Wait(&r, MPI_STATUS_IGNORE));
    CHECK(r == MPI_REQUEST_NULL);
    check_dup(MPI_COMM_WORLD, n, MPI_KEYVAL_INVALID, NULL);
    OK(MPI_Comm_free(&n));
}

/* Three idups outstanding beside two Iallreduces, an Ibarrier and a ring
 * of Isend/Irecv on the parent; completed in rank-dependent orders. */
static void test_many(MPI_Comm base, int keyval, void *attr)
{
    enum { N = 3 };
    MPI_Comm n[N];
    MPI_Request r[N + 5];
    int in = rank + 1, out1 = 0, out2 = 0, sv = rank, rv = -1, done = 0;
    int to = (rank + 1) % size, from = (rank + size - 1) % size;
    copies = 0;
    OK(MPI_Irecv(&rv, 1, MPI_INT, from, 3, base, &r[N + 3]));
    OK(MPI_Iallreduce(&in, &out1, 1, MPI_INT, MPI_SUM, base, &r[N]));
    OK(MPI_Comm_idup(base, &n[0], &r[0]));
    if (rank % 2)
        OK(MPI_Isend(&sv, 1, MPI_INT, to, 3, base, &r[N + 4]));
    OK(MPI_Comm_idup(base, &n[1], &r[1]));
    OK(MPI_Ibarrier(base, &r[N + 1]));
    OK(MPI_Comm_idup(base, &n[2], &r[2]));
    OK(MPI_Iallreduce(&in, &out2, 1, MPI_INT, MPI_MAX, base, &r[N + 2]));
    if (rank % 2 == 0)
        OK(MPI_Isend(&sv, 1, MPI_INT, to, 3, base, &r[N + 4]));
    CHECK(copies == N, "%d attribute copies at the calls", copies);
    switch (rank % 3) {
    case 0: /* last first, one by one */
        for (int i = N + 4; i >= 0; i--)
            OK(MPI_Wait(&r[i], MPI_STATUS_IGNORE));
        break;
    case 1: /* Testany until all are done */
        while (done < N + 5) {
            int idx, flag;
            OK(MPI_Testany(N + 5, r, &idx, &flag, MPI_STATUS_IGNORE));
            if (flag && idx != MPI_UNDEFINED)
                done++;
            else if (flag)
                break;
        }
        break;
    default: /* Test on the idups, then Waitall */
        for (int i = 0; i < N; i++) {
            int flag = 0;
            while (!flag)
                OK(MPI_Test(&r[i], &flag, MPI_STATUS_IGNORE));
        }
        OK(MPI_Waitall(N + 5, r, MPI_STATUSES_IGNORE));
    }
    for (int i = 0; i < N + 5; i++)
        CHECK(r[i] == MPI_REQUEST_NULL, "request %d not freed", i);
    CHECK(out1 == size * (size + 1) / 2 && out2 == size, "iallreduce: %d %d", out1, out2);
    CHECK(rv == from, "ring message %d", rv);
    for (int i = 0; i < N; i++)
        check_dup(base, n[i], keyval, attr);
    check_apart(n[0], n[2]);
    check_apart(n[1], base);
    for (int i = 0; i < N; i++)
        OK(MPI_Comm_free(&n[i]));
}

/* Two parents in opposite orders on even and odd ranks, and a blocking
 * MPI_Comm_dup (or split) of a third one while they are outstanding. */
static void test_crossed(MPI_Comm a, MPI_Comm b, MPI_Comm c)
{
    MPI_Comm na, nb, nc, ns;
    MPI_Request r[2];
    if (rank % 2) {
        OK(MPI_Comm_idup(b, &nb, &r[1]));
        OK(MPI_Comm_idup(a, &na, &r[0]));
    } else {
        OK(MPI_Comm_idup(a, &na, &r[0]));
        OK(MPI_Comm_idup(b, &nb, &r[1]));
    }
    OK(MPI_Comm_dup(c, &nc));
    OK(MPI_Comm_split(c, rank % 2, -rank, &ns));
    OK(MPI_Waitall(2, r, MPI_STATUSES_IGNORE));
    check_dup(a, na, MPI_KEYVAL_INVALID, NULL);
    check_dup(b, nb, MPI_KEYVAL_INVALID, NULL);
    check_dup(c, nc, MPI_KEYVAL_INVALID, NULL);
    check_apart(na, nb);
    check_apart(nb, nc);
    OK(MPI_Comm_free(&na));
    OK(MPI_Comm_free(&nb));
    OK(MPI_Comm_free(&nc));
    OK(MPI_Comm_free(&ns));
    /* even ranks: idup(a), dup(c), wait; odd: dup(c), idup(a), wait */
    if (rank % 2 == 0) {
        OK(MPI_Comm_idup(a, &na, &r[0]));
        OK(MPI_Comm_dup(c, &nc));
    } else {
        OK(MPI_Comm_dup(c, &nc));
        OK(MPI_Comm_idup(a, &na, &r[0]));
    }
    OK(MPI_Wait(&r[0], MPI_STATUS_IGNORE));
    check_apart(na, nc);
    OK(MPI_Comm_free(&na));
    OK(MPI_Comm_free(&nc));
    /* even: idup(a), dup(c), wait; odd: idup(a), wait, dup(c): the even
     * ranks' dup must let the idup go on while it waits */
    OK(MPI_Comm_idup(a, &na, &r[0]));
    if (rank % 2 == 0) {
        OK(MPI_Comm_dup(c, &nc));
        OK(MPI_Wait(&r[0], MPI_STATUS_IGNORE));
    } else {
        OK(MPI_Wait(&r[0], MPI_STATUS_IGNORE));
        OK(MPI_Comm_dup(c, &nc));
    }
    check_apart(na, nc);
    OK(MPI_Comm_free(&na));
    OK(MPI_Comm_free(&nc));
}

/* MPI_COMM_SELF (nobody to wait for) while a WORLD idup is outstanding. */
static void test_self(void)
{
    MPI_Comm nw, ns;
    MPI_Request r[2];
    OK(MPI_Comm_idup(MPI_COMM_WORLD, &nw, &r[0]));
    OK(MPI_Comm_idup(MPI_COMM_SELF, &ns, &r[1]));
    OK(MPI_Wait(&r[1], MPI_STATUS_IGNORE));
    check_dup(MPI_COMM_SELF, ns, MPI_KEYVAL_INVALID, NULL);
    OK(MPI_Wait(&r[0], MPI_STATUS_IGNORE));
    check_apart(nw, MPI_COMM_WORLD);
    OK(MPI_Comm_free(&ns));
    OK(MPI_Comm_free(&nw));
}

/* An intercommunicator of the two halves: idup with a message across
 * posted before and matched after it (rank i of each half talks to rank
 * i of the other, as far as the smaller half goes). */
static void test_inter(void)
{
    MPI_Comm half, ic, nic;
    MPI_Request r, sr = MPI_REQUEST_NULL, rr = MPI_REQUEST_NULL;
    int low = rank < size / 2, rsize, lsize, me, v = rank, got = -1;
    OK(MPI_Comm_split(MPI_COMM_WORLD, low, rank, &half));
    OK(MPI_Intercomm_create(half, 0, MPI_COMM_WORLD, low ? size / 2 : 0, 5, &ic));
    MPI_Comm_rank(half, &me);
    MPI_Comm_size(half, &lsize);
    OK(MPI_Comm_remote_size(ic, &rsize));
    int talk = me < rsize && me < lsize;
    if (talk)
        OK(MPI_Irecv(&got, 1, MPI_INT, MPI_ANY_SOURCE, 9, ic, &rr));
    if (low) { /* the low half sends first, then dups */
        if (talk)
            OK(MPI_Issend(&v, 1, MPI_INT, me, 9, ic, &sr));
        OK(MPI_Comm_idup(ic, &nic, &r));
    } else {
        OK(MPI_Comm_idup(ic, &nic, &r));
        if (talk)
            OK(MPI_Issend(&v, 1, MPI_INT, me, 9, ic, &sr));
    }
    OK(MPI_Wait(&rr, MPI_STATUS_IGNORE));
    OK(MPI_Wait(&r, MPI_STATUS_IGNORE));
    OK(MPI_Wait(&sr, MPI_STATUS_IGNORE));
    CHECK(!talk || got >= 0, "no message across");
    int inter = 0, ns = 0;
    OK(MPI_Comm_test_inter(nic, &inter));
    OK(MPI_Comm_remote_size(nic, &ns));
    CHECK(inter && ns == rsize, "inter %d remote size %d", inter, ns);
    check_dup(ic, nic, MPI_KEYVAL_INVALID, NULL);
    if (talk) { /* the new one has its own context: same tag, sent on it first */
        int a = 1000 + rank, b = -1, c = -1;
        OK(MPI_Isend(&a, 1, MPI_INT, me, 9, nic, &sr));
        OK(MPI_Isend(&v, 1, MPI_INT, me, 9, ic, &r));
        OK(MPI_Recv(&c, 1, MPI_INT, MPI_ANY_SOURCE, 9, ic, MPI_STATUS_IGNORE));
        OK(MPI_Recv(&b, 1, MPI_INT, MPI_ANY_SOURCE, 9, nic, MPI_STATUS_IGNORE));
        OK(MPI_Wait(&sr, MPI_STATUS_IGNORE));
        OK(MPI_Wait(&r, MPI_STATUS_IGNORE));
        CHECK(b == got + 1000 && c == got, "across the duplicate %d, the parent %d", b, c);
    }
    MPI_Comm merged;
    OK(MPI_Intercomm_merge(nic, !low, &merged));
    int msize;
    MPI_Comm_size(merged, &msize);
    CHECK(msize == size);
    OK(MPI_Barrier(nic));
    OK(MPI_Comm_free(&merged));
    OK(MPI_Comm_free(&nic));
    OK(MPI_Comm_free(&ic));
    OK(MPI_Comm_free(&half));
}

/* Two intercommunicators of the halves whose local communicators' ids are
 * in opposite orders in the two halves (the high half creates the second
 * in the hole a freed communicator left), idups on both pending, started
 * in opposite orders by the halves, while an idup of a third communicator
 * that rank 0 joins only afterwards holds the first-round segment: both
 * groups must still rank the two agreements alike. */
static void test_inter_pair(void)
{
    MPI_Comm half, hole = MPI_COMM_NULL, ic, ic1, ic2, n1, n2, x, nx;
    MPI_Request r[2], rx;
    OK(MPI_Comm_dup(MPI_COMM_WORLD, &x));
    int low = rank < size / 2;
    OK(MPI_Comm_split(MPI_COMM_WORLD, low, rank, &half));
    OK(MPI_Intercomm_create(half, 0, MPI_COMM_WORLD, low ? size / 2 : 0, 11, &ic));
    /* a duplicate's local communicator gets its id from its group alone */
    if (!low)
        OK(MPI_Comm_dup(half, &hole));
    OK(MPI_Comm_dup(ic, &ic1));
    if (!low)
        OK(MPI_Comm_free(&hole));
    OK(MPI_Comm_dup(ic, &ic2));
    if (rank != 0)
        OK(MPI_Comm_idup(x, &nx, &rx));
    if (low) {
        OK(MPI_Comm_idup(ic1, &n1, &r[0]));
        OK(MPI_Comm_idup(ic2, &n2, &r[1]));
    } else {
        OK(MPI_Comm_idup(ic2, &n2, &r[1]));
        OK(MPI_Comm_idup(ic1, &n1, &r[0]));
    }
    OK(MPI_Waitall(2, r, MPI_STATUSES_IGNORE));
    if (rank == 0)
        OK(MPI_Comm_idup(x, &nx, &rx));
    OK(MPI_Wait(&rx, MPI_STATUS_IGNORE));
    check_apart(nx, x);
    OK(MPI_Comm_free(&nx));
    OK(MPI_Comm_free(&x));
    check_dup(ic1, n1, MPI_KEYVAL_INVALID, NULL);
    check_dup(ic2, n2, MPI_KEYVAL_INVALID, NULL);
    OK(MPI_Barrier(n1));
    OK(MPI_Barrier(n2));
    OK(MPI_Comm_free(&n1));
    OK(MPI_Comm_free(&n2));
    OK(MPI_Comm_free(&ic1));
    OK(MPI_Comm_free(&ic2));
    OK(MPI_Comm_free(&ic));
    OK(MPI_Comm_free(&half));
}

/* Threads (MPI_THREAD_MULTIPLE): each idups and dups its own
 * communicator in a loop, blocking and nonblocking agreements of several
 * threads competing; the last duplicates of all threads are kept and
 * checked against each other afterwards. */
enum { NTHREADS = 3, THREAD_ITERS = 10 };
static MPI_Comm thread_comm[NTHREADS], thread_keep[NTHREADS][2];

static void *thread_main(void *arg)
{
    int t = (int)(long)arg;
    for (int i = 0; i < THREAD_ITERS; i++) {
        MPI_Comm n, d;
        MPI_Request r;
        OK(MPI_Comm_idup(thread_comm[t], &n, &r));
        if ((i + t + rank) % 2) /* waited before or after the blocking dup */
            OK(MPI_Wait(&r, MPI_STATUS_IGNORE));
        OK(MPI_Comm_dup(thread_comm[t], &d));
        OK(MPI_Wait(&r, MPI_STATUS_IGNORE));
        if (i < THREAD_ITERS - 1) {
            OK(MPI_Comm_free(&n));
            OK(MPI_Comm_free(&d));
        } else {
            thread_keep[t][0] = n;
            thread_keep[t][1] = d;
        }
    }
    return NULL;
}

static void test_threads(void)
{
    pthread_t th[NTHREADS];
    for (int t = 0; t < NTHREADS; t++)
        OK(MPI_Comm_dup(MPI_COMM_WORLD, &thread_comm[t]));
    for (int t = 0; t < NTHREADS; t++)
        CHECK(pthread_create(&th[t], NULL, thread_main, (void *)(long)t) == 0);
    for (int t = 0; t < NTHREADS; t++)
        pthread_join(th[t], NULL);
    for (int t = 0; t < NTHREADS; t++) {
        check_apart(thread_keep[t][0], thread_keep[t][1]);
        check_apart(thread_keep[t][1], thread_keep[(t + 1) % NTHREADS][0]);
    }
    for (int t = 0; t < NTHREADS; t++) {
        OK(MPI_Comm_free(&thread_keep[t][0]));
        OK(MPI_Comm_free(&thread_keep[t][1]));
        OK(MPI_Comm_free(&thread_comm[t]));
    }
}

/* The value of key in info, or "" (flag 0). */
static int info_has(MPI_Info info, const char *key, const char *want)
{
    char v[MPI_MAX_INFO_VAL + 1];
    int flag = 0;
    OK(MPI_Info_get(info, key, MPI_MAX_INFO_VAL, v, &flag));
    return flag && (!want || strcmp(v, want) == 0);
}

/* Comm_get_info: the assertion hints, set or "false"; nothing else. */
static void test_info(void)
{
    MPI_Info in, out;
    MPI_Comm d, n;
    MPI_Request r;
    int nkeys;
    OK(MPI_Info_create(&in));
    OK(MPI_Info_set(in, "invalid_test_key", "true"));
    OK(MPI_Info_set(in, "mpi_assert_no_any_tag", "true"));
    OK(MPI_Info_set(in, "mpi_assert_exact_length", "maybe")); /* not a boolean: ignored */
    OK(MPI_Comm_dup(MPI_COMM_WORLD, &d));
    OK(MPI_Comm_get_info(d, &out));
    CHECK(info_has(out, "mpi_assert_no_any_tag", "false") &&
          info_has(out, "mpi_assert_allow_overtaking", "false"));
    OK(MPI_Info_free(&out));
    OK(MPI_Comm_set_info(d, in));
    OK(MPI_Comm_get_info(d, &out));
    OK(MPI_Info_get_nkeys(out, &nkeys));
    CHECK(!info_has(out, "invalid_test_key", NULL), "an ignored key is returned");
    CHECK(info_has(out, "mpi_assert_no_any_tag", "true"));
    CHECK(info_has(out, "mpi_assert_exact_length", "false"));
    CHECK(info_has(out, "mpi_assert_no_any_source", "false"));
    CHECK(nkeys == 4, "%d keys", nkeys);
    OK(MPI_Info_free(&out));
    /* idup_with_info: the info is read at the call (freed before the wait) */
    OK(MPI_Info_set(in, "mpi_assert_allow_overtaking", "true"));
    OK(MPI_Info_set(in, "mpi_assert_no_any_tag", "false"));
    OK(MPI_Comm_idup_with_info(d, in, &n, &r));
    OK(MPI_Info_free(&in));
    OK(MPI_Wait(&r, MPI_STATUS_IGNORE));
    OK(MPI_Comm_get_info(n, &out));
    CHECK(info_has(out, "mpi_assert_allow_overtaking", "true") &&
          info_has(out, "mpi_assert_no_any_tag", "false") &&
          !info_has(out, "invalid_test_key", NULL));
    OK(MPI_Info_free(&out));
    /* plain idup keeps the parent's hints */
    MPI_Comm n2;
    OK(MPI_Comm_idup(n, &n2, &r));
    OK(MPI_Wait(&r, MPI_STATUS_IGNORE));
    OK(MPI_Comm_get_info(n2, &out));
    CHECK(info_has(out, "mpi_assert_allow_overtaking", "true"));
    OK(MPI_Info_free(&out));
    OK(MPI_Comm_free(&n2));
    OK(MPI_Comm_free(&n));
    OK(MPI_Comm_free(&d));
}

int main(int argc, char **argv)
{
    MPI_Comm a, b, c;
    int keyval;
    static int attr_val;
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    test_order();
    OK(MPI_Comm_dup(MPI_COMM_WORLD, &a));
    OK(MPI_Comm_dup(MPI_COMM_WORLD, &b));
    OK(MPI_Comm_dup(MPI_COMM_WORLD, &c));
    OK(MPI_Comm_create_keyval(copy_fn, MPI_COMM_NULL_DELETE_FN, &keyval, NULL));
    OK(MPI_Comm_set_attr(a, keyval, &attr_val));
    for (int i = 0; i < 3; i++)
        test_many(a, keyval, &attr_val);
    test_crossed(a, b, c);
    test_crossed(c, a, b);
    test_self();
    if (size > 1) {
        test_inter();
        test_inter_pair();
    }
    test_info();
    if (argc > 1 && strcmp(argv[1], "threads") == 0) { /* slow with many ranks on few cores */
        CHECK(provided == MPI_THREAD_MULTIPLE, "thread level %d", provided);
        test_threads();
    }
    OK(MPI_Comm_free(&a));
    OK(MPI_Comm_free(&b));
    OK(MPI_Comm_free(&c));
    OK(MPI_Comm_free_keyval(&keyval));
    int all = 0;
    MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0)
        printf(all ? "idup: %d failures\n" : "idup: all passed (%d ranks)\n", all ? all : size);
    MPI_Finalize();
    return all != 0;
}
