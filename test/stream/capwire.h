/* A capture wire for crafted-segment tests (lwIP's test/unit/tcp style): a
 * test-local tide_wire_ops whose send_burst records every frame (gathered
 * and parsed) and whose recv_burst hands out frames the test queued.  One
 * stack runs on it; the test plays the peer, byte by byte. */
#ifndef TIDE_TEST_STREAM_CAPWIRE_H
#define TIDE_TEST_STREAM_CAPWIRE_H

#include "stream/seg.h"
#include "util/clock.h"
#include "wire/wire.h"

#define CAP_FRAMES 512
#define CAP_LEN    2048

typedef struct capwire {
    tide_wire_t w; /* first */
    int nsent;     /* frames sent since the last capwire_clear */
    uint8_t sent[CAP_FRAMES][CAP_LEN];
    uint32_t sent_len[CAP_FRAMES];
    tide_seg_t seg[CAP_FRAMES]; /* parsed; payload points into sent[] */
    int nq, qhead;
    uint8_t q[CAP_FRAMES][CAP_LEN];
    uint32_t q_len[CAP_FRAMES];
} capwire_t;

void capwire_init(capwire_t *c, tide_clock_t *clock, uint32_t max_payload);
/* Queue a segment as if the peer had sent it. */
void capwire_put(capwire_t *c, const tide_seg_t *seg, const void *payload);
void capwire_clear(capwire_t *c);

#endif
