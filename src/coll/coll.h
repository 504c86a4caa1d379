/* Collective operations built on the point-to-point layer (src/p2p).
 * Each takes the communicator's geometry (our rank, size, the map from its
 * ranks to processes: NULL for the identity) and its collective context. */
#ifndef TIDE_COLL_COLL_H
#define TIDE_COLL_COLL_H

#include <stdint.h>

/* 0 or -errno. */
int tide_coll_barrier(int rank, int size, const int *procs, int self_proc, uint32_t ctx);

#endif
