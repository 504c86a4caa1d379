/* Schedules of nonblocking collectives (MPI 4.1 section 6.12).  A
 * nonblocking collective is compiled, when it is called, into a schedule:
 * a list of steps (send, receive, local copy, local reduction, callback)
 * cut into rounds by fences.  The engine posts every point-to-point step of
 * a round at once and runs its local steps in order; the next round starts
 * when all the round's transfers are complete.  Schedules in flight sit on
 * one list, and tide_coll_progress() (called by every waiting loop of the
 * MPI layer and of the blocking collectives) advances all of them, so
 * several nonblocking collectives, in any order of completion calls, never
 * wait on each other.  Each schedule sends on the communicator's collective
 * context with a tag of its own (TIDE_COLL_TAG_NBC | sequence number), so it
 * matches neither user point-to-point, blocking collectives nor other
 * nonblocking collectives.  doc/coll.md describes the engine. */
#ifndef TIDE_COLL_SCHED_H
#define TIDE_COLL_SCHED_H

#include "coll/coll.h"

#include <stddef.h>

/* Tags of nonblocking collectives: this bit | (sequence & 0x0fffffff),
 * below TIDE_COMM_TAG_BASE and above the blocking collectives' tags. */
#define TIDE_COLL_TAG_NBC  0x10000000
#define TIDE_COLL_NBC_MASK 0x0fffffff

typedef struct tide_sched tide_sched_t;
typedef void tide_sched_fn_t(void *arg, int err);

/* A new, empty schedule on communicator c (its process map is copied) with
 * tag `tag`; r (may be NULL) is the reduction its reduce steps apply.
 * NULL if out of memory. */
tide_sched_t *tide_sched_new(const tide_coll_comm_t *c, int tag, const tide_coll_red_t *r);
/* Intercommunicators: the local group's communicator (its process map is
 * copied); 0 or -ENOMEM.  tide_sched_select(s, 1) makes the steps added
 * next (and tide_sched_comm) use it, (s, 0) the intercommunicator again. */
int tide_sched_set_local(tide_sched_t *s, const tide_coll_comm_t *l);
void tide_sched_select(tide_sched_t *s, int local);
/* Steps; each returns 0 or -ENOMEM (the schedule is then unusable). */
int tide_sched_send(tide_sched_t *s, const void *buf, size_t bytes, int peer);
int tide_sched_recv(tide_sched_t *s, void *buf, size_t bytes, int peer);
int tide_sched_copy(tide_sched_t *s, const void *src, void *dst, size_t bytes);
/* inout = in op inout over count elements of the schedule's reduction. */
int tide_sched_reduce(tide_sched_t *s, const void *in, void *inout, size_t count);
/* Wait for every transfer posted so far before going on. */
int tide_sched_fence(tide_sched_t *s);
/* Call fn(arg, 0) when the schedule reaches this step (a schedule that
 * stopped on an error skips the rest of its steps). */
int tide_sched_call(tide_sched_t *s, tide_sched_fn_t *fn, void *arg);
/* Loops (schedules whose length is known only as they run, e.g. the
 * context-id agreement of MPI_Comm_idup): the number of steps added so
 * far, the index of the next step added. */
size_t tide_sched_nsteps(const tide_sched_t *s);
/* From a step's callback: go on at step `pos` (< tide_sched_nsteps) at the
 * next progress call (never at once, so a loop without transfers cannot
 * spin inside one call).  Only after a fence: no transfer is pending. */
void tide_sched_goto(tide_sched_t *s, size_t pos);
/* From a step's callback: stop the schedule with error `err` (an MPI
 * error class or -errno; the rest of its steps are skipped). */
void tide_sched_fail(tide_sched_t *s, int err);
/* Scratch memory freed with the schedule (NULL if out of memory). */
void *tide_sched_alloc(tide_sched_t *s, size_t bytes);
/* Run fn(arg) when the schedule is freed (e.g. drop a reference). */
int tide_sched_on_free(tide_sched_t *s, void (*fn)(void *), void *arg);

/* Start it: it joins the list of schedules in flight and takes its first
 * steps (errors of transfers show in tide_sched_error). */
void tide_sched_start(tide_sched_t *s);
/* 1 once every step is done (or the schedule stopped on an error). */
int tide_sched_done(const tide_sched_t *s);
/* 0, -errno or an MPI error class of a failed transfer. */
int tide_sched_error(const tide_sched_t *s);
/* Free a finished (or never started) schedule. */
void tide_sched_free(tide_sched_t *s);

/* Point-to-point progress plus a step of every schedule in flight; returns
 * the number of events handled.  Every waiting loop calls this. */
int tide_coll_progress(void);

/* ---- nonblocking algorithms (nbc.c): append the steps of a collective
 * to a new schedule; same arguments as the blocking ones (coll.h). ---- */
int tide_nbc_barrier(tide_sched_t *s);
int tide_nbc_bcast(tide_sched_t *s, void *buf, size_t bytes, int root);
int tide_nbc_gatherv(tide_sched_t *s, const void *sbuf, size_t own, void *rbuf, const size_t *bytes,
                     const size_t *displs, int root);
int tide_nbc_scatterv(tide_sched_t *s, const void *sbuf, const size_t *bytes, const size_t *displs,
                      void *rbuf, size_t own, int root);
int tide_nbc_allgatherv(tide_sched_t *s, void *rbuf, const size_t *bytes, const size_t *displs);
int tide_nbc_alltoallv(tide_sched_t *s, const void *sbuf, const size_t *sbytes,
                       const size_t *sdispls, void *rbuf, const size_t *rbytes,
                       const size_t *rdispls);
int tide_nbc_reduce(tide_sched_t *s, const void *sbuf, void *rbuf, size_t count, int root);
int tide_nbc_allreduce(tide_sched_t *s, const void *sbuf, void *rbuf, size_t count);
int tide_nbc_reduce_scatter(tide_sched_t *s, const void *sbuf, void *rbuf, const size_t *counts);
int tide_nbc_scan(tide_sched_t *s, const void *sbuf, void *rbuf, size_t count, int exclusive);

/* Intercommunicator collectives: role 1 root, 0 idle member of the root's
 * group, -1 the other group (root: a remote rank).  Gather/scatter(v) and
 * the all-to-alls are direct transfers built with the steps above. */
int tide_nbc_inter_bcast(tide_sched_t *s, void *buf, size_t bytes, int role, int root);
int tide_nbc_inter_reduce(tide_sched_t *s, const void *sbuf, void *rbuf, size_t count, int role,
                          int root);
/* counts NULL: Allreduce of count elements; else Reduce_scatter, counts[i]
 * elements to local rank i (count their sum). */
int tide_nbc_inter_allreduce(tide_sched_t *s, const void *sbuf, void *rbuf, size_t count,
                             const size_t *counts);
int tide_nbc_inter_barrier(tide_sched_t *s);
int tide_nbc_inter_gatherv(tide_sched_t *s, const void *sbuf, size_t own, void *rbuf,
                           const size_t *bytes, const size_t *displs, int role, int root);
int tide_nbc_inter_scatterv(tide_sched_t *s, const void *sbuf, const size_t *bytes,
                            const size_t *displs, void *rbuf, size_t own, int role, int root);
/* Everyone sends sbytes[i] to and receives rbytes[i] from remote rank i. */
int tide_nbc_inter_exchange(tide_sched_t *s, const void *sbuf, const size_t *sbytes,
                            const size_t *sdispls, void *rbuf, const size_t *rbytes,
                            const size_t *rdispls);

/* The schedule's view of the communicator and reduction (the current one
 * of an intercommunicator's two). */
const tide_coll_comm_t *tide_sched_comm(const tide_sched_t *s);
const tide_coll_red_t *tide_sched_red(const tide_sched_t *s);

#endif
