/* Segment encoding and validation (format in seg.h).  The output path calls
 * tide_seg_write_hdr_auth for every segment it sends; the input path calls
 * tide_seg_parse_auth on every frame before the connection lookup, so
 * nothing downstream ever reads an unchecked field.  In the authenticated
 * mode the tag (mac.h) is made and checked here too. */
#include "config.h"
#include "stream/seg.h"
#include "util/crc32c.h"

#include <stdio.h>
#include <string.h>

static inline void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Header fields and SACK blocks of s into hdr[0..hlen-1] (CRC field zero),
 * where hlen is the header without a tag and tag the tag bytes after it. */
static void tide_seg_fill(const tide_seg_t *s, uint8_t *hdr, size_t hlen, size_t tag)
{
    hdr[0] = tag ? TIDE_SEG_VERSION_MAC : TIDE_SEG_VERSION;
    hdr[1] = s->flags;
    hdr[2] = (uint8_t)((hlen + tag) / 4);
    hdr[3] = s->nsack;
    put16(hdr + 4, s->sport);
    put16(hdr + 6, s->dport);
    put32(hdr + 8, s->key);
    put32(hdr + 12, s->seq);
    put32(hdr + 16, s->ack);
    put16(hdr + 20, s->wnd);
    hdr[22] = s->wscale;
    hdr[23] = 0;
    put32(hdr + 24, s->tsval);
    put32(hdr + 28, s->tsecr);
    put16(hdr + 32, s->mss);
    put16(hdr + 34, s->len);
    put32(hdr + 36, 0);
    for (unsigned i = 0; i < s->nsack; i++) {
        put32(hdr + 40 + 8 * i, s->sack[i].left);
        put32(hdr + 44 + 8 * i, s->sack[i].right);
    }
}

static void tide_seg_put_crc(uint8_t *hdr, size_t hlen, const struct iovec *iov, int iovcnt)
{
    uint32_t crc = tide_crc32c(0, hdr, hlen);
    for (int i = 0; i < iovcnt; i++)
        crc = tide_crc32c(crc, iov[i].iov_base, iov[i].iov_len);
    put32(hdr + 36, crc);
}

size_t tide_seg_write_hdr_auth(const tide_seg_t *s, uint8_t *hdr, const struct iovec *iov,
                               int iovcnt, const tide_mac_t *mac)
{
    size_t hlen = tide_seg_hdr_len(s);
    size_t tag = mac && mac->on ? TIDE_SEG_MAC_LEN : 0;
    tide_seg_fill(s, hdr, hlen, tag);
    if (tag) /* the tag covers the header with the CRC field zero; the CRC the tag */
        tide_mac_tag(mac, hdr, hlen, iov, iovcnt, hdr + hlen);
    tide_seg_put_crc(hdr, hlen + tag, iov, iovcnt);
    return hlen + tag;
}

size_t tide_seg_write_hdr(const tide_seg_t *s, uint8_t *hdr, const struct iovec *iov, int iovcnt)
{
    return tide_seg_write_hdr_auth(s, hdr, iov, iovcnt, NULL);
}

static tide_seg_err_t tide_seg_check_flags(uint8_t f)
{
    if (f & ~TIDE_SEG_FLAGS_ALL)
        return TIDE_SEG_ERR_FLAGS;
    if ((f & TIDE_SEG_SYN) && (f & (TIDE_SEG_FIN | TIDE_SEG_RST)))
        return TIDE_SEG_ERR_FLAGS;
    return TIDE_SEG_OK;
}

/* Version, header length and SACK count; *tag: the tag bytes the header
 * carries.  In the authenticated mode a plain segment is parsed as such
 * (*tag 0, its CRC still tells damage from forgery) and refused after. */
static tide_seg_err_t tide_seg_check_hdr(const uint8_t *frame, int auth, size_t *tag)
{
    if (frame[0] == TIDE_SEG_VERSION_MAC && auth)
        *tag = TIDE_SEG_MAC_LEN;
    else if (frame[0] == TIDE_SEG_VERSION)
        *tag = 0;
    else
        return TIDE_SEG_ERR_VERSION;
    unsigned nsack = frame[3];
    size_t hlen = (size_t)frame[2] * 4;
    if (nsack > TIDE_SEG_MAX_SACK || hlen != TIDE_SEG_HDR_LEN + 8u * nsack + *tag || frame[23] != 0)
        return TIDE_SEG_ERR_HDR;
    return TIDE_SEG_OK;
}

static void tide_seg_fields(const uint8_t *frame, tide_seg_t *s)
{
    s->flags = frame[1];
    s->nsack = frame[3];
    s->sport = get16(frame + 4);
    s->dport = get16(frame + 6);
    s->key = get32(frame + 8);
    s->seq = get32(frame + 12);
    s->ack = get32(frame + 16);
    s->wnd = get16(frame + 20);
    s->wscale = frame[22];
    s->tsval = get32(frame + 24);
    s->tsecr = get32(frame + 28);
    s->mss = get16(frame + 32);
    s->len = get16(frame + 34);
}

/* The tag after the bare header (bare bytes): over that header with the
 * CRC field zero, and the payload. */
static int tide_seg_check_tag(const uint8_t *frame, size_t bare, uint16_t plen,
                              const tide_mac_t *mac)
{
    uint8_t h[TIDE_SEG_HDR_MAX];
    memcpy(h, frame, bare);
    memset(h + 36, 0, 4);
    return tide_mac_verify(mac, h, bare, frame + bare + TIDE_SEG_MAC_LEN, plen, frame + bare);
}

tide_seg_err_t tide_seg_parse_auth(const uint8_t *frame, size_t len, tide_seg_t *s,
                                   const tide_mac_t *mac)
{
    size_t tag = 0;
    if (len < TIDE_SEG_HDR_LEN)
        return TIDE_SEG_ERR_SHORT;
    tide_seg_err_t e = tide_seg_check_hdr(frame, mac && mac->on, &tag);
    if (e != TIDE_SEG_OK)
        return e;
    size_t hlen = (size_t)frame[2] * 4, bare = hlen - tag;
    uint16_t plen = get16(frame + 34);
    if (len < hlen + plen)
        return TIDE_SEG_ERR_SHORT;
    if (tide_seg_check_flags(frame[1]) != TIDE_SEG_OK)
        return TIDE_SEG_ERR_FLAGS;
    /* CRC with its own field taken as zero. */
    static const uint8_t zero[4];
    uint32_t crc = tide_crc32c(0, frame, 36);
    crc = tide_crc32c(crc, zero, 4);
    crc = tide_crc32c(crc, frame + 40, hlen - 40 + plen);
    if (crc != get32(frame + 36))
        return TIDE_SEG_ERR_CRC;
    if (mac && mac->on && (!tag || tide_seg_check_tag(frame, bare, plen, mac) < 0))
        return TIDE_SEG_ERR_MAC;
    tide_seg_fields(frame, s);
    s->payload = frame + hlen;
    for (unsigned i = 0; i < s->nsack; i++) {
        s->sack[i].left = get32(frame + 40 + 8 * i);
        s->sack[i].right = get32(frame + 44 + 8 * i);
        if (!TIDE_SEQ_LT(s->sack[i].left, s->sack[i].right))
            return TIDE_SEG_ERR_SACK;
    }
    return TIDE_SEG_OK;
}

tide_seg_err_t tide_seg_parse(const uint8_t *frame, size_t len, tide_seg_t *s)
{
    return tide_seg_parse_auth(frame, len, s, NULL);
}

const char *tide_seg_err_str(tide_seg_err_t e)
{
    switch (e) {
    case TIDE_SEG_OK: return "ok";
    case TIDE_SEG_ERR_SHORT: return "truncated";
    case TIDE_SEG_ERR_VERSION: return "unknown version";
    case TIDE_SEG_ERR_HDR: return "bad header length";
    case TIDE_SEG_ERR_FLAGS: return "bad flags";
    case TIDE_SEG_ERR_CRC: return "bad CRC32C";
    case TIDE_SEG_ERR_SACK: return "bad SACK block";
    case TIDE_SEG_ERR_MAC: return "not authenticated (TIDE_STREAM_MAC)";
    }
    return "?";
}

const char *tide_seg_flags_str(uint8_t flags, char *buf, size_t len)
{
    static const char *names[] = {"FIN", "SYN", "RST", "PSH", "ACK"};
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < 5; i++)
        if (flags & (1u << i))
            n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? "|" : "", names[i]);
    return buf;
}
