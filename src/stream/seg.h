/* The stream segment: header format, parsing and sequence arithmetic.
 *
 * Every wire frame the stream engine sends is one segment: a 40-byte fixed
 * header, 0-4 SACK blocks (8 bytes each) and the payload.  Multi-byte fields
 * are big-endian (network order).
 *
 *   off size field
 *    0   1   version (TIDE_SEG_VERSION)
 *    1   1   flags: FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10
 *    2   1   header length in 32-bit words (10 + 2 * nsack)
 *    3   1   nsack: number of SACK blocks (0..4)
 *    4   2   source port
 *    6   2   destination port
 *    8   4   job key (frames of another job are dropped)
 *   12   4   sequence number
 *   16   4   acknowledgement number (valid with ACK)
 *   20   2   window, in units of 2^wscale of the sender (unscaled on SYN)
 *   22   1   window scale the sender applies to its windows (SYN only)
 *   23   1   reserved, zero
 *   24   4   TSval: sender's timestamp clock (microseconds)
 *   28   4   TSecr: the TSval echoed back
 *   32   2   MSS the sender can receive (SYN only, else 0)
 *   34   2   payload length (frames may be padded by the wire)
 *   36   4   CRC32C of header (this field zero) and payload
 *   40   8n  SACK blocks: left edge, right edge (RFC 2018 section 3)
 *   40+8n 16 MAC tag, authenticated mode only (version TIDE_SEG_VERSION_MAC):
 *            keyed BLAKE2b over bytes 0..40+8n-1 (CRC field zero) and the
 *            payload (mac.h); the header length then counts these 4 words
 *            and the CRC covers the tag too (damage is a CRC error, only a
 *            forgery a MAC failure)
 *
 * Parsing (tide_seg_parse) checks every length and field before anything
 * else reads the segment; a malformed segment is reported with a reason so
 * the caller can count it and drop it.  Sequence numbers live in a 32-bit
 * space that wraps; compare them only with the TIDE_SEQ_* helpers
 * (RFC 9293 section 3.4). */
#ifndef TIDE_STREAM_SEG_H
#define TIDE_STREAM_SEG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "stream/mac.h"

#define TIDE_SEG_VERSION     0x71
#define TIDE_SEG_VERSION_MAC 0x72 /* authenticated: a MAC tag follows the SACK blocks */
#define TIDE_SEG_HDR_LEN     40
#define TIDE_SEG_MAX_SACK    4
#define TIDE_SEG_HDR_MAX     (TIDE_SEG_HDR_LEN + 8 * TIDE_SEG_MAX_SACK)
/* Room for the longest header, authenticated or not (transmit buffers). */
#define TIDE_SEG_HDR_BUF (TIDE_SEG_HDR_MAX + TIDE_SEG_MAC_LEN)

enum {
    TIDE_SEG_FIN = 0x01,
    TIDE_SEG_SYN = 0x02,
    TIDE_SEG_RST = 0x04,
    TIDE_SEG_PSH = 0x08,
    TIDE_SEG_ACK = 0x10,
    TIDE_SEG_FLAGS_ALL = 0x1f,
};

/* Sequence arithmetic modulo 2^32. */
#define TIDE_SEQ_LT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define TIDE_SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define TIDE_SEQ_GT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) > 0)
#define TIDE_SEQ_GEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) >= 0)
/* a <= x < b */
#define TIDE_SEQ_IN(x, a, b) (TIDE_SEQ_GEQ((x), (a)) && TIDE_SEQ_LT((x), (b)))

static inline uint32_t tide_seq_max(uint32_t a, uint32_t b)
{
    return TIDE_SEQ_GT(a, b) ? a : b;
}
static inline uint32_t tide_seq_min(uint32_t a, uint32_t b)
{
    return TIDE_SEQ_LT(a, b) ? a : b;
}

typedef struct tide_seg_sack {
    uint32_t left, right;
} tide_seg_sack_t;

/* A segment in host order, as built by output or produced by parsing. */
typedef struct tide_seg {
    uint8_t flags;
    uint8_t nsack;
    uint8_t wscale;
    uint16_t sport, dport;
    uint32_t key;
    uint32_t seq, ack;
    uint16_t wnd;
    uint16_t mss;
    uint32_t tsval, tsecr;
    uint16_t len; /* payload bytes */
    tide_seg_sack_t sack[TIDE_SEG_MAX_SACK];
    const uint8_t *payload; /* parse: points into the frame */
} tide_seg_t;

/* Why a segment was refused by tide_seg_parse. */
typedef enum {
    TIDE_SEG_OK = 0,
    TIDE_SEG_ERR_SHORT,   /* shorter than its header or declared payload */
    TIDE_SEG_ERR_VERSION, /* unknown version */
    TIDE_SEG_ERR_HDR,     /* inconsistent header length / SACK count */
    TIDE_SEG_ERR_FLAGS,   /* unknown or impossible flag combination */
    TIDE_SEG_ERR_CRC,     /* checksum mismatch */
    TIDE_SEG_ERR_SACK,    /* SACK block with right edge not after left */
    TIDE_SEG_ERR_MAC,     /* authenticated mode: no tag, or a wrong one */
} tide_seg_err_t;

/* Length of the header that tide_seg_write_hdr produces for s. */
static inline size_t tide_seg_hdr_len(const tide_seg_t *s)
{
    return TIDE_SEG_HDR_LEN + 8u * s->nsack;
}

/* Write the header of s into hdr (TIDE_SEG_HDR_MAX bytes) and fill in the
 * CRC over the header and the payload pieces iov[0..iovcnt-1], whose total
 * must equal s->len.  Returns the header length. */
size_t tide_seg_write_hdr(const tide_seg_t *s, uint8_t *hdr, const struct iovec *iov, int iovcnt);
/* The same with mac on (mac != NULL && mac->on): an authenticated header
 * with its tag (TIDE_SEG_HDR_BUF bytes of room). */
size_t tide_seg_write_hdr_auth(const tide_seg_t *s, uint8_t *hdr, const struct iovec *iov,
                               int iovcnt, const tide_mac_t *mac);

/* Parse and validate frame[0..len-1] into *s (payload points into frame).
 * Checks version, lengths, flags, SACK blocks and CRC. */
tide_seg_err_t tide_seg_parse(const uint8_t *frame, size_t len, tide_seg_t *s);
/* The same for a stack whose authenticated mode is mac (NULL or off: the
 * plain format only).  With it on, only authenticated segments with the
 * right tag pass (checked after the CRC, so damage and forgery are told
 * apart): anything else is TIDE_SEG_ERR_MAC. */
tide_seg_err_t tide_seg_parse_auth(const uint8_t *frame, size_t len, tide_seg_t *s,
                                   const tide_mac_t *mac);

const char *tide_seg_err_str(tide_seg_err_t e);
/* "SYN|ACK" style text for traces; buf of at least 24 bytes. */
const char *tide_seg_flags_str(uint8_t flags, char *buf, size_t len);

#endif
