/* tide-stat: print the stream counters of a running Tide process.  Every
 * stream stack keeps its counters in /dev/shm/tide-stat.PID.N (see
 * src/stream/stats.h); this tool maps those files read-only and prints each
 * counter with its description, like `netstat -s`, then one line per
 * connection (state, ports, RTT, RTO, windows, retransmits), like `ss -i`.
 *
 *   tide-stat PID        counters of every stack of process PID
 *   tide-stat -a PID     include the counters that are zero
 *   tide-stat -l         list processes that publish counters */
#include "config.h"
#include "stream/stats.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void stat_print_conns(const tide_stat_shm_t *h)
{
    static tide_stat_conn_t c[TIDE_STAT_CONNS];
    uint32_t n = 0, seq;
    for (int tries = 0; tries < 100; tries++) {
        seq = __atomic_load_n(&h->conn_seq, __ATOMIC_ACQUIRE);
        if (seq & 1)
            continue;
        n = h->nconns;
        memcpy(c, h->conns, sizeof(c));
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (__atomic_load_n(&h->conn_seq, __ATOMIC_ACQUIRE) == seq)
            break;
    }
    printf("  connections: %u%s\n", n, n > TIDE_STAT_CONNS ? " (first 64 shown)" : "");
    if (n == 0)
        return;
    printf("  %-11s %5s %5s %8s %8s %8s %9s %9s %9s %9s %8s %12s %12s %7s %5s\n", "state", "lport",
           "rport", "srtt_us", "rttvar", "rto_us", "cwnd", "ssthresh", "snd_wnd", "rcv_wnd",
           "flight", "bytes_acked", "bytes_rcvd", "retrans", "rtos");
    for (uint32_t i = 0; i < n && i < TIDE_STAT_CONNS; i++) {
        const tide_stream_info_t *in = &c[i].info;
        printf("  %-11s %5u %5u %8u %8u %8u %9u %9u %9u %9u %8u %12llu %12llu %7llu %5llu %s\n",
               tide_stream_state_name(in->state), in->lport, in->rport, in->srtt_us, in->rttvar_us,
               in->rto_us, in->cwnd, in->ssthresh, in->snd_wnd, in->rcv_wnd, in->flight,
               (unsigned long long)in->bytes_acked, (unsigned long long)in->bytes_received,
               (unsigned long long)in->retrans_segs, (unsigned long long)in->rto_fires, c[i].cc);
    }
}

static int stat_print_file(const char *path, int all)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "tide-stat: %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0 || (size_t)sb.st_size < sizeof(tide_stat_shm_t)) {
        fprintf(stderr, "tide-stat: %s: too short for Tide counters\n", path);
        close(fd);
        return -1;
    }
    const tide_stat_shm_t *h = mmap(NULL, sizeof(*h), PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (h == MAP_FAILED) {
        fprintf(stderr, "tide-stat: %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    if (h->magic != TIDE_STAT_MAGIC || h->version != TIDE_STAT_VERSION ||
        h->nfields != tide_stats_nfields()) {
        fprintf(stderr, "tide-stat: %s: not counters of this Tide version\n", path);
        rc = -1;
    } else {
        tide_stream_stats_t snap = h->stats;
        static char buf[16384];
        tide_stats_format(&snap, buf, sizeof(buf), !all);
        printf("%s (pid %u):\n%s", path, h->pid, buf);
        stat_print_conns(h);
    }
    munmap((void *)h, sizeof(*h));
    return rc;
}

/* Visit /dev/shm/tide-stat.PID.* (pid 0: every pid). */
static int stat_scan(long pid, int all, int list)
{
    DIR *d = opendir("/dev/shm");
    if (!d) {
        perror("tide-stat: /dev/shm");
        return 1;
    }
    struct dirent *e;
    int found = 0, bad = 0;
    while ((e = readdir(d)) != NULL) {
        long p;
        int n;
        if (sscanf(e->d_name, "tide-stat.%ld.%d", &p, &n) != 2 || (pid && p != pid))
            continue;
        char path[300];
        snprintf(path, sizeof(path), "/dev/shm/%s", e->d_name);
        int alive = kill((pid_t)p, 0) == 0 || errno == EPERM;
        if (list) {
            printf("%ld %s%s\n", p, path, alive ? "" : " (process gone)");
            found++;
            continue;
        }
        found++;
        if (stat_print_file(path, all) < 0)
            bad++;
    }
    closedir(d);
    if (!found && !list) {
        fprintf(stderr, "tide-stat: no stream counters of pid %ld (is TIDE_STREAM_STAT_SHM=0?)\n",
                pid);
        return 1;
    }
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    int all = 0, list = 0, opt;
    while ((opt = getopt(argc, argv, "alh")) != -1) {
        switch (opt) {
        case 'a': all = 1; break;
        case 'l': list = 1; break;
        default:
            fprintf(stderr, "usage: tide-stat [-a] PID | tide-stat -l\n");
            return opt == 'h' ? 0 : 2;
        }
    }
    if (list)
        return stat_scan(0, all, 1);
    if (optind != argc - 1) {
        fprintf(stderr, "usage: tide-stat [-a] PID | tide-stat -l\n");
        return 2;
    }
    char *end;
    long pid = strtol(argv[optind], &end, 10);
    if (*end || pid <= 0) {
        fprintf(stderr, "tide-stat: \"%s\" is not a process id\n", argv[optind]);
        return 2;
    }
    return stat_scan(pid, all, 0);
}
