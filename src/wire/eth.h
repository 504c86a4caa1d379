/* The eth wire's frame header and the helpers shared by eth.c, eth_if.c and
 * the benchmarks.  Layout (big-endian, no padding):
 *   Ethernet: dst MAC[6] src MAC[6] EtherType 0x88B5[2]
 *   Tide:     dst endpoint[2] src endpoint[2] payload length[2] version[1]
 *             flags[1]
 * The payload length is needed because short frames are padded to 60 bytes
 * on real Ethernet. */
#ifndef TIDE_WIRE_ETH_H
#define TIDE_WIRE_ETH_H

#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

#define TIDE_ETH_TYPE     0x88B5
#define TIDE_ETH_VERSION  1
#define TIDE_ETH_HDR_LEN  22 /* Ethernet + Tide headers */
#define TIDE_ETH_HDR_TIDE 8  /* the Tide part: MTU - 8 = max payload */

typedef struct __attribute__((packed)) tide_eth_hdr {
    uint8_t dst[6], src[6];
    uint16_t type;
    uint16_t dst_ep, src_ep, len;
    uint8_t ver, flags;
} tide_eth_hdr_t;

/* Interface name for cfg (TIDE_ETH_IF, device, or the automatic rule);
 * quiet: do not log when none is found.  0 or -ENODEV. */
int tide_wire_eth_if_pick(const tide_wire_config_t *cfg, char *name, size_t len, int quiet);
/* The interface an eth endpoint uses. */
const char *tide_wire_eth_ifname(const tide_wire_t *w);

#endif
