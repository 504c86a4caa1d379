/* Checks of received point-to-point frame headers (frame.h): the part of
 * the input path's parsing that needs no receiver state.  net.c calls these
 * on every header it reads from a peer's stream before it trusts a field;
 * the fuzz target fuzz/p2p_frame.c drives them with arbitrary bytes. */
#include "config.h"
#include "p2p/frame.h"

#include <errno.h>
#include <stddef.h>

int tide_p2p_frame_check(const tide_p2p_frame_t *h, uint64_t eager_limit, const char **why)
{
    if (h->magic != TIDE_P2P_MAGIC) {
        *why = "bad magic";
        return -EPROTO;
    }
    switch (h->kind) {
    case TIDE_P2P_F_EAGER:
        if (h->len > eager_limit && h->len > TIDE_P2P_EAGER_MAX) {
            *why = "impossible length";
            return -EPROTO;
        }
        return 0;
    case TIDE_P2P_F_RTS:
    case TIDE_P2P_F_CTS:
    case TIDE_P2P_F_DATA:
    case TIDE_P2P_F_ACK:
    case TIDE_P2P_F_FAILED: return 0;
    default: *why = "unknown frame kind"; return -EPROTO;
    }
}

int tide_p2p_frame_data_fits(const tide_p2p_frame_t *h, uint64_t bytes, uint64_t left)
{
    /* h->id + h->len may wrap: compare against what is left of the buffer */
    if (h->id > bytes || h->len > bytes - h->id || h->len > left)
        return -EPROTO;
    return 0;
}
