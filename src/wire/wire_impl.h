/* Private to src/wire: what the dispatcher (wire.c) needs from each wire
 * implementation (their ops tables and address formatters). */
#ifndef TIDE_WIRE_WIRE_IMPL_H
#define TIDE_WIRE_WIRE_IMPL_H

#include <stddef.h>

#include "wire/wire.h"

extern const tide_wire_ops_t tide_wire_sim_ops;

/* Print an address of the given kind into buf; "?" when malformed. */
void tide_wire_sim_addr_fmt(const tide_wire_addr_t *a, char *buf, size_t len);

#endif
