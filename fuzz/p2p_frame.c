/* libFuzzer target: the point-to-point frame-header parser (src/p2p/frame.c)
 * as the input path uses it (src/p2p/net.c, tide_p2p_in_frame): the input
 * is a peer's stream of bytes, cut into 40-byte headers, each checked;
 * payloads of accepted EAGER and DATA frames are skipped.  DATA chunks are
 * checked against a receive whose size and remaining bytes come from the
 * input too, and what the checks accept is verified against the promises
 * frame.h makes (a chunk accepted lies inside its buffer, no wrap-around;
 * an EAGER length accepted is one a real message can have). */
#include "config.h"
#include "p2p/frame.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A receive the DATA frames of this input are checked against. */
typedef struct fz_rreq {
    uint64_t bytes, left;
} fz_rreq_t;

static void fz_check_data(const tide_p2p_frame_t *h, fz_rreq_t *r)
{
    if (tide_p2p_frame_data_fits(h, r->bytes, r->left) != 0)
        return;
    /* accepted: [id, id + len) inside [0, bytes) without wrapping */
    if (h->id > r->bytes || h->len > r->bytes || h->id + h->len > r->bytes ||
        h->id + h->len < h->id || h->len > r->left)
        abort();
    r->left -= h->len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 17)
        return 0;
    uint64_t eager_limit;
    fz_rreq_t r;
    memcpy(&eager_limit, data, 8);
    memcpy(&r.bytes, data + 8, 8);
    r.left = r.bytes >> (data[16] & 63);
    data += 17;
    size -= 17;
    while (size >= sizeof(tide_p2p_frame_t)) {
        tide_p2p_frame_t h;
        memcpy(&h, data, sizeof(h)); /* the stream gives bytes, unaligned */
        data += sizeof(h);
        size -= sizeof(h);
        const char *why = NULL;
        if (tide_p2p_frame_check(&h, eager_limit, &why) != 0) {
            if (!why || !*why)
                abort(); /* every refusal says why */
            return 0;    /* net.c closes the stream here */
        }
        if (h.magic != TIDE_P2P_MAGIC || h.kind < TIDE_P2P_F_EAGER || h.kind > TIDE_P2P_F_FAILED)
            abort();
        uint64_t skip = 0;
        if (h.kind == TIDE_P2P_F_EAGER) {
            if (h.len > eager_limit && h.len > TIDE_P2P_EAGER_MAX)
                abort();
            skip = h.len;
        } else if (h.kind == TIDE_P2P_F_DATA) {
            fz_check_data(&h, &r);
            skip = h.len;
        }
        if (skip >= size)
            return 0;
        data += skip;
        size -= (size_t)skip;
    }
    return 0;
}
