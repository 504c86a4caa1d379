/* CHECK and OK for the MPI test programs of test/mpi: one definition instead
 * of a copy per program.  A program defines, before including this file:
 *
 *   CHECK_PREFIX        a string printed first on a failure ("dtype FAIL")
 *   CHECK_RANK          an int expression naming the rank in the message
 *                       (leave it out for single-process programs)
 *   CHECK_FATAL         optional: a failed check calls MPI_Abort(MPI_COMM_WORLD,
 *                       1); otherwise it counts in `failures`, an int the
 *                       program declares and turns into its exit status
 *   CHECK_MAX_FAILURES  optional, counting mode: abort after that many
 *
 * CHECK(cond, fmt, ...) prints the prefix, rank, line, the condition and the
 * message when cond is false; OK(call) checks that an MPI call returns
 * MPI_SUCCESS and names the call. */
#ifndef TIDE_TEST_MPI_CHECK_H
#define TIDE_TEST_MPI_CHECK_H

#include <mpi.h>
#include <stdio.h>

#ifndef CHECK_PREFIX
#error "define CHECK_PREFIX before including check.h"
#endif

#ifdef CHECK_RANK
#define CHECK_WHERE_() \
    fprintf(stderr, "%s rank %d line %d: ", CHECK_PREFIX, (int)(CHECK_RANK), __LINE__)
#else
#define CHECK_WHERE_() fprintf(stderr, "%s line %d: ", CHECK_PREFIX, __LINE__)
#endif

#if defined(CHECK_FATAL)
#define CHECK_FAILED_() MPI_Abort(MPI_COMM_WORLD, 1)
#elif defined(CHECK_MAX_FAILURES)
#define CHECK_FAILED_()                      \
    do {                                     \
        if (++failures > CHECK_MAX_FAILURES) \
            MPI_Abort(MPI_COMM_WORLD, 1);    \
    } while (0)
#else
#define CHECK_FAILED_() (void)failures++
#endif

#define CHECK(c, ...)                     \
    do {                                  \
        if (!(c)) {                       \
            CHECK_WHERE_();               \
            fprintf(stderr, "%s: ", #c);  \
            fprintf(stderr, __VA_ARGS__); \
            fprintf(stderr, "\n");        \
            CHECK_FAILED_();              \
        }                                 \
    } while (0)

#define OK(call) CHECK((call) == MPI_SUCCESS, "%s failed", #call)

#endif
