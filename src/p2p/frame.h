/* The point-to-point frame header: its layout on the stream and the checks
 * a received header must pass before the input path (net.c) acts on it.
 * The checks here need no state of the receiver, so they are shared by the
 * input path and the frame-parser fuzz target (fuzz/p2p_frame.c); checks
 * that need the receiver's requests (an unknown CTS or ACK) stay in net.c. */
#ifndef TIDE_P2P_FRAME_H
#define TIDE_P2P_FRAME_H

#include <stdint.h>

enum {
    TIDE_P2P_F_HELLO = 1,  /* id: sender's process number */
    TIDE_P2P_F_EAGER = 2,  /* envelope, len; id: sender request for SYNC, else 0 */
    TIDE_P2P_F_RTS = 3,    /* envelope, len: message length; id: sender request */
    TIDE_P2P_F_CTS = 4,    /* id: sender request; id2: receiver request; len: bytes wanted */
    TIDE_P2P_F_DATA = 5,   /* id2: receiver request; off; len: chunk length */
    TIDE_P2P_F_ACK = 6,    /* id: sender request of a matched synchronous eager send */
    TIDE_P2P_F_FAILED = 7, /* id: a process the sender found failed (fail.c) */
};
#define TIDE_P2P_FLAG_SYNC 0x1
#define TIDE_P2P_MAGIC     0x7d
/* No EAGER payload is ever larger than this (ready sends may go eager at
 * any size; beyond this it is not a real message). */
#define TIDE_P2P_EAGER_MAX ((uint64_t)1 << 40)

typedef struct tide_p2p_frame {
    uint8_t magic;
    uint8_t kind;
    uint8_t flags;
    uint8_t pad;
    uint32_t ctx;
    int32_t src; /* the sender's rank in the communicator */
    int32_t tag;
    uint64_t len;
    uint64_t id;
    uint64_t id2;
} tide_p2p_frame_t;
_Static_assert(sizeof(tide_p2p_frame_t) == 40, "frame header size");

/* Checks a received header on its own: magic, a known kind other than
 * HELLO, an EAGER length no real message has (above both eager_limit and
 * TIDE_P2P_EAGER_MAX).  Returns 0, or -EPROTO with *why saying what is
 * wrong (the caller logs it with the peer's name). */
int tide_p2p_frame_check(const tide_p2p_frame_t *h, uint64_t eager_limit, const char **why);

/* Whether a DATA chunk (offset h->id, h->len bytes) lies inside a receive
 * of `bytes` bytes of which `left` are still expected; overflow-safe.
 * Returns 0 or -EPROTO. */
int tide_p2p_frame_data_fits(const tide_p2p_frame_t *h, uint64_t bytes, uint64_t left);

#endif
