/* The per-job secret of the authenticated stream mode (TIDE_STREAM_MAC=1,
 * src/stream/mac.h), handed to every rank through the runtime (PMIx). */
#ifndef TIDE_P2P_AUTH_H
#define TIDE_P2P_AUTH_H

#include "p2p/p2p.h"

#include <stdint.h>

#define TIDE_P2P_AUTH_KEY_LEN 32

/* With the mode on: process 0 draws a fresh 256-bit secret from the kernel
 * (getrandom) and publishes it under "tide.mac.secret"; every other process
 * reads it from process 0.  Returns 1 with key filled, 0 when the mode is
 * off, or -errno (logged). */
int tide_p2p_auth_setup(const tide_p2p_rte_ops_t *rte, int my_proc,
                        uint8_t key[TIDE_P2P_AUTH_KEY_LEN]);

#endif
