/* CPU cost of the authenticated stream mode per segment: tide_seg_write_hdr
 * (send) plus tide_seg_parse (receive), plain and with TIDE_STREAM_MAC's
 * tag, for a few payload sizes.  Prints nanoseconds per segment, the best
 * of 300 short rounds (the least disturbed by other load), and the implied ceiling
 * in Gbit/s for one core doing both ends.  Run: test/hardening/mac_cost */
#include "config.h"
#include "stream/mac.h"
#include "stream/seg.h"
#include "util/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t frame[TIDE_SEG_HDR_BUF + 9000];

static double tide_mac_cost_round(const tide_mac_t *m, uint16_t len, int iters)
{
    tide_seg_t g, out;
    memset(&g, 0, sizeof(g));
    g.flags = 0x10;
    g.len = len;
    static uint8_t payload[9000];
    struct iovec iov = {payload, len};
    uint64_t t0 = tide_time_ns();
    for (int i = 0; i < iters; i++) {
        g.seq = (uint32_t)i;
        payload[i % len] = (uint8_t)i;
        size_t hl = tide_seg_write_hdr_auth(&g, frame, &iov, 1, m);
        memcpy(frame + hl, payload, len);
        if (tide_seg_parse_auth(frame, hl + len, &out, m) != TIDE_SEG_OK)
            abort();
    }
    return (double)(tide_time_ns() - t0) / iters;
}

int main(void)
{
    static const uint8_t key[TIDE_MAC_KEY_LEN] = {1, 2, 3};
    tide_mac_t plain = {0}, mac;
    if (tide_mac_init(&mac, key) < 0)
        return 77;
    static const uint16_t sizes[] = {64, 1428, 8972};
    printf("%-8s %14s %14s %10s %14s\n", "payload", "plain ns/seg", "MAC ns/seg", "MAC-plain",
           "MAC Gbit/s/core");
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        double best[2] = {1e30, 1e30};
        int iters = sizes[k] > 2000 ? 50 : 200;
        for (int r = 0; r < 300; r++)
            for (int w = 0; w < 2; w++) {
                double t = tide_mac_cost_round(w ? &mac : &plain, sizes[k], iters);
                if (t < best[w])
                    best[w] = t;
            }
        printf("%-8u %14.0f %14.0f %10.0f %14.1f\n", sizes[k], best[0], best[1], best[1] - best[0],
               sizes[k] * 8.0 / best[1]);
    }
    return 0;
}
