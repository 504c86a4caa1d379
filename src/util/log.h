/* Logging for every layer: one line per event, prefixed with the process
 * identity ("tide[rank 3 host:pid]") so interleaved output from many ranks
 * stays readable.  The first function that detects an error logs it; callers
 * only propagate the negative errno. */
#ifndef TIDE_UTIL_LOG_H
#define TIDE_UTIL_LOG_H

#include <stdarg.h>

typedef enum {
    TIDE_LOG_ERROR = 0,
    TIDE_LOG_WARN = 1,
    TIDE_LOG_INFO = 2,
    TIDE_LOG_DEBUG = 3,
    TIDE_LOG_TRACE = 4,
} tide_log_level_t;

extern int tide_log_level_cur;

/* Set the identity printed in front of every line (rank -1: not yet known). */
void tide_log_set_identity(int rank);
void tide_log_msg(tide_log_level_t lvl, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define tide_log(lvl, ...)                                        \
    do {                                                          \
        if ((int)(lvl) <= tide_log_level_cur)                     \
            tide_log_msg((lvl), __FILE__, __LINE__, __VA_ARGS__); \
    } while (0)
#define tide_error(...) tide_log(TIDE_LOG_ERROR, __VA_ARGS__)
#define tide_warn(...)  tide_log(TIDE_LOG_WARN, __VA_ARGS__)
#define tide_info(...)  tide_log(TIDE_LOG_INFO, __VA_ARGS__)
#define tide_debug(...) tide_log(TIDE_LOG_DEBUG, __VA_ARGS__)
#define tide_trace(...) tide_log(TIDE_LOG_TRACE, __VA_ARGS__)

#endif
