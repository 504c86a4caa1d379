/* Stream counters: the table of counter names (for TIDE_STATS=1 and
 * tide-stat) and the layout of the shared-memory file each stack keeps at
 * /dev/shm/tide-stat.PID.N, which tide-stat maps read-only. */
#ifndef TIDE_STREAM_STATS_H
#define TIDE_STREAM_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "tide/stream.h"

#define TIDE_STAT_MAGIC   0x54494445534d5354ull /* "TIDESMST" */
#define TIDE_STAT_VERSION 2
#define TIDE_STAT_CONNS   64 /* connections shown by tide-stat */

typedef struct tide_stat_conn {
    tide_stream_info_t info; /* info.cc is NULL here: see cc */
    char cc[16];
} tide_stat_conn_t;

/* The counters live here (updated in place); the connection table is a
 * snapshot refreshed by the progress loop every TIDE_STAT_SNAP_NS under a
 * sequence count (odd while it is being written). */
typedef struct tide_stat_shm {
    uint64_t magic;
    uint32_t version, pid;
    uint32_t nfields, pad;
    tide_stream_stats_t stats;
    uint32_t conn_seq, nconns; /* nconns may exceed TIDE_STAT_CONNS */
    uint64_t snap_ns;
    tide_stat_conn_t conns[TIDE_STAT_CONNS];
} tide_stat_shm_t;

#define TIDE_STAT_SNAP_NS 100000000ull

typedef struct tide_stat_field {
    const char *name;
    size_t off;
    const char *desc;
} tide_stat_field_t;

uint32_t tide_stats_nfields(void);
const tide_stat_field_t *tide_stats_field(uint32_t i);
/* name value lines; skip_zero: leave out zero counters.  Returns length. */
size_t tide_stats_format(const tide_stream_stats_t *s, char *buf, size_t len, int skip_zero);

#endif
