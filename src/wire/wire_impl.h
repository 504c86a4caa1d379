/* Private to src/wire: what the dispatcher (wire.c) needs from each wire
 * implementation (their ops tables and address formatters). */
#ifndef TIDE_WIRE_WIRE_IMPL_H
#define TIDE_WIRE_WIRE_IMPL_H

#include <stddef.h>

#include "wire/wire.h"

#define TIDE_WIRE_HAVE_UDP 1
#define TIDE_WIRE_HAVE_ETH 1
#ifdef TIDE_HAVE_VERBS /* roce.c is built with libibverbs (src/wire/local.mk) */
#define TIDE_WIRE_HAVE_ROCE 1
#endif

extern const tide_wire_ops_t tide_wire_sim_ops;
extern const tide_wire_ops_t tide_wire_udp_ops;
extern const tide_wire_ops_t tide_wire_eth_ops;
extern const tide_wire_ops_t tide_wire_roce_ops;

/* Whether the automatic rule may pick eth / roce: quiet probes. */
int tide_wire_eth_usable(const tide_wire_config_t *cfg);
int tide_wire_roce_usable(const tide_wire_config_t *cfg);

/* Item idx of a comma list ("a,b,c"); the last item when the list is
 * shorter (so one name serves every local rank). */
void tide_wire_list_item(const char *list, int idx, char *out, size_t len);

/* Print an address of the given kind into buf; "?" when malformed. */
void tide_wire_sim_addr_fmt(const tide_wire_addr_t *a, char *buf, size_t len);
void tide_wire_udp_addr_fmt(const tide_wire_addr_t *a, char *buf, size_t len);
void tide_wire_eth_addr_fmt(const tide_wire_addr_t *a, char *buf, size_t len);
void tide_wire_roce_addr_fmt(const tide_wire_addr_t *a, char *buf, size_t len);

#endif
