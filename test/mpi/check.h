/* CHECK and OK for the MPI test programs of test/mpi: one definition instead
 * of a copy per program.  A program declares its counters, then defines,
 * before including this file:
 *
 *   CHECK_PREFIX        a string printed first on a failure ("dtype FAIL")
 *   CHECK_RANK          optional: an int expression naming the rank in the
 *                       message (e.g. rank; leave it out before MPI_Init)
 *   CHECK_FATAL         optional: a failed check calls MPI_Abort(MPI_COMM_WORLD,
 *                       1); otherwise it counts in `failures`, an int the
 *                       program declares and turns into its exit status
 *   CHECK_MAX_FAILURES  optional, counting mode: abort after that many
 *
 * CHECK(cond) or CHECK(cond, fmt, ...) prints "PREFIX [rank R ]line L: cond:"
 * and the message when cond is false; OK(call) checks that an MPI call
 * returns MPI_SUCCESS and names the call. */
#ifndef TIDE_TEST_MPI_CHECK_H
#define TIDE_TEST_MPI_CHECK_H

#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>

#ifndef CHECK_PREFIX
#error "define CHECK_PREFIX before including check.h"
#endif

__attribute__((format(printf, 3, 4), unused)) static void check_report_(int line, const char *cond,
                                                                        const char *fmt, ...)
{
    va_list ap;
#ifdef CHECK_RANK
    fprintf(stderr, "%s rank %d line %d: %s:", CHECK_PREFIX, (int)(CHECK_RANK), line, cond);
#else
    fprintf(stderr, "%s line %d: %s:", CHECK_PREFIX, line, cond);
#endif
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
}

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

/* The message is optional: " " keeps the format string non-empty. */
#define CHECK(c, ...)                                     \
    do {                                                  \
        if (!(c)) {                                       \
            check_report_(__LINE__, #c, " " __VA_ARGS__); \
            CHECK_FAILED_();                              \
        }                                                 \
    } while (0)

#define OK(call) CHECK((call) == MPI_SUCCESS, "%s failed", #call)

#endif
