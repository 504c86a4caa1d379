/* Logging: see log.h.  Lines are built in one buffer and written with a
 * single write(2) so lines from threads and ranks never interleave. */
#include "config.h"
#include "util/log.h"
#include "util/param.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

TIDE_PARAM_DEFINE(
    log_level, TIDE_PARAM_INT, "LOG_LEVEL", "1",
    "Verbosity of diagnostics on stderr: 0 errors, 1 warnings, 2 info, 3 debug, 4 trace");

int tide_log_level_cur = 1;
static char tide_log_ident[96] = "tide";

static void __attribute__((constructor)) tide_log_init(void)
{
    tide_log_level_cur = (int)tide_param_int(&tide_param_log_level);
}

void tide_log_set_identity(int rank)
{
    char host[64] = "?";
    gethostname(host, sizeof(host) - 1);
    if (rank >= 0)
        snprintf(tide_log_ident, sizeof(tide_log_ident), "tide[rank %d %s:%d]", rank, host,
                 (int)getpid());
    else
        snprintf(tide_log_ident, sizeof(tide_log_ident), "tide[%s:%d]", host, (int)getpid());
}

void tide_log_msg(tide_log_level_t lvl, const char *file, int line, const char *fmt, ...)
{
    static const char *names[] = {"error", "warning", "info", "debug", "trace"};
    char buf[1024];
    int n = snprintf(buf, sizeof(buf), "%s %s: ", tide_log_ident, names[lvl]);
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof(buf) - 48)
        n = (int)sizeof(buf) - 48;
    if (tide_log_level_cur >= TIDE_LOG_DEBUG)
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, " (%s:%d)", file, line);
    buf[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, buf, (size_t)n);
    (void)w;
}
