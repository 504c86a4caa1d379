/* CRC32C (Castagnoli, as in iSCSI/SCTP, RFC 3720 appendix B.4), used over
 * every stream segment.  Uses the SSE4.2 crc32 instruction when the CPU has
 * it, a slicing-by-8 table otherwise. */
#ifndef TIDE_UTIL_CRC32C_H
#define TIDE_UTIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC: start with crc = 0, feed pieces in order. */
uint32_t tide_crc32c(uint32_t crc, const void *buf, size_t len);
/* The portable implementation, exposed so tests can compare both. */
uint32_t tide_crc32c_sw(uint32_t crc, const void *buf, size_t len);

#endif
