/* Segment authentication (mac.h): keyed BLAKE2b from libsodium, used by
 * tide_seg_write_hdr_auth on the way out and tide_seg_parse_auth on the
 * way in (seg.c).  Nothing cryptographic is written here; without
 * libsodium the mode is refused at stack creation. */
#include "config.h"
#include "stream/mac.h"
#include "util/log.h"
#include "util/param.h"

#include <errno.h>
#include <string.h>
#ifdef TIDE_HAVE_SODIUM
#include <sodium.h>
#endif

TIDE_PARAM_DEFINE(stream_mac, TIDE_PARAM_BOOL, "STREAM_MAC", "0",
                  "Authenticate every stream segment with a keyed BLAKE2b tag (128 bits, "
                  "libsodium); the key is a per-job secret handed out through PMIx. For wires "
                  "on shared Ethernet segments; every rank of a job must agree");
TIDE_PARAM_DEFINE(stream_mac_key, TIDE_PARAM_STRING, "STREAM_MAC_KEY", "",
                  "Key of the authenticated mode for programs that use the stream API "
                  "directly (tide-perf): 64 hex digits, the same on both sides. MPI jobs "
                  "ignore it and draw a fresh secret per job");

int tide_mac_available(void)
{
#ifdef TIDE_HAVE_SODIUM
    return 1;
#else
    return 0;
#endif
}

int tide_mac_wanted(void)
{
    return tide_param_int(&tide_param_stream_mac) != 0;
}

static int tide_mac_hex(const char *s, uint8_t *out)
{
    if (strlen(s) != 2 * TIDE_MAC_KEY_LEN)
        return -EINVAL;
    for (int i = 0; i < TIDE_MAC_KEY_LEN; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = s[2 * i + k];
            unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                         : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                         : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                                : 16u;
            if (d > 15)
                return -EINVAL;
            v = v * 16 + d;
        }
        out[i] = (uint8_t)v;
    }
    return 0;
}

int tide_mac_init(tide_mac_t *m, const uint8_t *key)
{
    memset(m, 0, sizeof(*m));
    if (!key && !tide_mac_wanted())
        return 0;
    if (!tide_mac_available()) {
        tide_error("stream: TIDE_STREAM_MAC=1 but this Tide was built without libsodium "
                   "(apt-get install libsodium-dev, then configure again)");
        return -ENOTSUP;
    }
#ifdef TIDE_HAVE_SODIUM
    if (sodium_init() < 0) {
        tide_error("stream: libsodium could not start (sodium_init)");
        return -ENOTSUP;
    }
#endif
    if (key) {
        memcpy(m->key, key, TIDE_MAC_KEY_LEN);
    } else if (tide_mac_hex(tide_param_str(&tide_param_stream_mac_key), m->key) < 0) {
        tide_error("stream: TIDE_STREAM_MAC=1 needs a key: TIDE_STREAM_MAC_KEY must be 64 hex "
                   "digits (MPI jobs get theirs from mpirun)");
        return -EINVAL;
    }
    m->on = 1;
    return 0;
}

void tide_mac_wipe(tide_mac_t *m)
{
#ifdef TIDE_HAVE_SODIUM
    if (m->on)
        sodium_memzero(m->key, sizeof(m->key));
#endif
    m->on = 0;
}

#ifdef TIDE_HAVE_SODIUM
static void tide_mac_start(const tide_mac_t *m, crypto_generichash_state *h, const uint8_t *hdr,
                           size_t hlen)
{
    crypto_generichash_init(h, m->key, TIDE_MAC_KEY_LEN, TIDE_SEG_MAC_LEN);
    crypto_generichash_update(h, hdr, hlen);
}
#endif

void tide_mac_tag(const tide_mac_t *m, const uint8_t *hdr, size_t hlen, const struct iovec *iov,
                  int iovcnt, uint8_t tag[TIDE_SEG_MAC_LEN])
{
#ifdef TIDE_HAVE_SODIUM
    crypto_generichash_state h;
    tide_mac_start(m, &h, hdr, hlen);
    for (int i = 0; i < iovcnt; i++)
        crypto_generichash_update(&h, iov[i].iov_base, iov[i].iov_len);
    crypto_generichash_final(&h, tag, TIDE_SEG_MAC_LEN);
#else
    memset(tag, 0, TIDE_SEG_MAC_LEN); /* unreachable: tide_mac_init refuses the mode */
#endif
}

int tide_mac_verify(const tide_mac_t *m, const uint8_t *hdr, size_t hlen, const uint8_t *payload,
                    size_t plen, const uint8_t tag[TIDE_SEG_MAC_LEN])
{
#ifdef TIDE_HAVE_SODIUM
    crypto_generichash_state h;
    uint8_t want[TIDE_SEG_MAC_LEN];
    tide_mac_start(m, &h, hdr, hlen);
    crypto_generichash_update(&h, payload, plen);
    crypto_generichash_final(&h, want, TIDE_SEG_MAC_LEN);
    return crypto_verify_16(want, tag) == 0 ? 0 : -1;
#else
    return -1;
#endif
}
