/* Authenticated segments (TIDE_STREAM_MAC=1): a keyed MAC on every segment
 * for wires on shared Ethernet segments, where the job key and CRC32C stop
 * accidents but not a forger.  The tag is keyed BLAKE2b (libsodium's
 * crypto_generichash) over the header and the payload, truncated to
 * TIDE_SEG_MAC_LEN (128) bits; it sits in the header after the SACK blocks
 * and such segments carry version TIDE_SEG_VERSION_MAC (seg.h), so a stack
 * with the mode on refuses every unauthenticated segment and one without it
 * refuses authenticated ones.  The 256-bit key is a per-job secret: the
 * point-to-point layer draws it on rank 0 and hands it to every rank
 * through PMIx (src/p2p/auth.c); standalone users of the stream API pass
 * it in tide_stream_stack_opts_t.mac_key or TIDE_STREAM_MAC_KEY. */
#ifndef TIDE_STREAM_MAC_H
#define TIDE_STREAM_MAC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define TIDE_MAC_KEY_LEN 32
#define TIDE_SEG_MAC_LEN 16

typedef struct tide_mac {
    int on;
    uint8_t key[TIDE_MAC_KEY_LEN];
} tide_mac_t;

/* Set m up for a stack: on with `key` (TIDE_MAC_KEY_LEN bytes) when given,
 * else on when TIDE_STREAM_MAC=1 with the key from TIDE_STREAM_MAC_KEY (64
 * hex digits).  0, or -EINVAL (mode asked for without a usable key) or
 * -ENOTSUP (built without libsodium); logged. */
int tide_mac_init(tide_mac_t *m, const uint8_t *key);
/* Whether TIDE_STREAM_MAC asks for the mode (the p2p layer then brings a
 * key), and whether this build has it. */
int tide_mac_wanted(void);
int tide_mac_available(void);

/* Tag over hdr[0..hlen-1] and the payload pieces. */
void tide_mac_tag(const tide_mac_t *m, const uint8_t *hdr, size_t hlen, const struct iovec *iov,
                  int iovcnt, uint8_t tag[TIDE_SEG_MAC_LEN]);
/* 0 when tag is right for hdr[0..hlen-1] + payload[0..plen-1] (constant
 * time), -1 otherwise. */
int tide_mac_verify(const tide_mac_t *m, const uint8_t *hdr, size_t hlen, const uint8_t *payload,
                    size_t plen, const uint8_t tag[TIDE_SEG_MAC_LEN]);
/* Forget the key. */
void tide_mac_wipe(tide_mac_t *m);

#endif
