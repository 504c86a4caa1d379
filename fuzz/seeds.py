#!/usr/bin/env python3
"""Write the seed corpora of Tide's fuzz targets (fuzz/corpus/<target>/).

stream_input: for each state the harness sets up (fuzz/stream_input.c), a
few conversations: in-order data, ACKs, FIN, an RST and a SYN inside the
window (RFC 5961), out-of-window data, a wrong job key / port / CRC, timer
steps and application calls; plus raw frames encoded here byte for byte
(seg.h format, CRC32C) -- a SYN to the listener as a real peer sends it.
p2p_frame: real frame headers (frame.h) with their payloads.
Run: python3 fuzz/seeds.py [OUTDIR]   (default: fuzz/corpus next to this file)
"""
import os
import struct
import sys


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def segment(flags, sport, dport, key, seq, ack, wnd=65535, wscale=0, tsval=5000000,
            tsecr=0, mss=0, payload=b""):
    hdr = struct.pack(">BBBBHHIIIHBBIIHHI", 0x71, flags, 10, 0, sport, dport, key, seq, ack,
                      wnd, wscale, 0, tsval, tsecr, mss, len(payload), 0)
    crc = crc32c(hdr + payload)
    return hdr[:36] + struct.pack(">I", crc) + payload


FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16
KEY = 0x5EED


def crafted(flags, dseq=0, dack=0, wnd=65535, ln=0, ctl=0, extra=b"", nsack=0, sacks=()):
    """Harness op 1: a segment relative to the conversation (ctl bits: see
    fz_crafted; extra: the fields the ctl bits ask for, in order)."""
    out = struct.pack(">BBBhh", 1, ctl, flags, dseq, dack)
    pre, post = b"", b""
    if ctl & 1:
        pre += extra[:4]
        extra = extra[4:]
    if ctl & 2:
        pre += extra[:4]
        extra = extra[4:]
    out += pre + struct.pack(">HB", wnd, 0)
    if flags & SYN and not flags & (FIN | RST):
        out += struct.pack(">H", 1000)
    out += struct.pack(">hB", 0, nsack)
    for left, n in sacks:
        out += struct.pack(">hB", left, n)
    out += struct.pack(">H", ln) + extra
    return out


def raw(frame):
    return struct.pack(">BH", 0, len(frame)) + frame


def clock(ticks):
    return struct.pack(">BH", 2, ticks)


def app(op, arg=0):
    return bytes([op]) if op == 6 else bytes([op, arg])


def stream_seeds():
    seeds = {}
    for sel in range(11):
        base = bytes([sel, 0])
        seeds["s%02d-data-ack" % sel] = base + crafted(ACK | PSH, ln=100) + app(4, 8) + \
            crafted(ACK) + clock(50)
        seeds["s%02d-fin" % sel] = base + crafted(ACK | FIN, ln=10) + app(4, 1) + app(5, 0x80)
        seeds["s%02d-rst-in-window" % sel] = base + crafted(RST | ACK, dseq=5) + \
            crafted(RST | ACK)
        seeds["s%02d-syn-in-window" % sel] = base + crafted(SYN, dseq=3)
        seeds["s%02d-out-of-window" % sel] = base + crafted(ACK, dseq=-30000, ln=50) + \
            crafted(ACK, dseq=30000, ln=50) + crafted(ACK, dack=20000)
        seeds["s%02d-spoiled" % sel] = base + crafted(ACK, ln=20, ctl=0x10, extra=b"\0\0\0\1") + \
            crafted(ACK, ln=20, ctl=0x08, extra=b"\x12\x34") + \
            crafted(ACK, ln=20, ctl=0x20 | 0x40, extra=b"\0\x05")
        seeds["s%02d-send-timers" % sel] = base + app(3, 40) + clock(5) + crafted(ACK) + \
            clock(500) + clock(5000) + app(4, 3)
        seeds["s%02d-ooo-sack" % sel] = bytes([sel, 1]) + crafted(ACK, dseq=200, ln=100) + \
            crafted(ACK, ln=200) + app(3, 2) + \
            crafted(ACK, nsack=1, sacks=[(1, 2)]) + app(4, 20)
    for sel in (3, 4, 7):  # the authenticated mode (options bit 2)
        base = bytes([sel, 4])
        seeds["mac-s%02d-data-fin" % sel] = base + crafted(ACK | PSH, ln=100) + app(4, 8) + \
            crafted(ACK | FIN, ln=10) + clock(50)
        seeds["mac-s%02d-rst-syn" % sel] = base + crafted(RST | ACK, dseq=5) + crafted(SYN, dseq=3)
        seeds["mac-s%02d-raw-plain" % sel] = base + \
            raw(segment(ACK, 80, 80, KEY, 1001, 0, payload=b"plain"))
    syn = segment(SYN, 7000, 80, KEY, 999, 0, tsval=5000000, mss=1000)
    seeds["raw-listen-syn"] = bytes([0, 0]) + raw(syn) + app(6)
    seeds["raw-listen-syn-badkey"] = bytes([0, 0]) + raw(segment(SYN, 7000, 80, 1, 999, 0, mss=1000))
    seeds["raw-listen-ack-noconn"] = bytes([0, 0]) + raw(segment(ACK, 7001, 80, KEY, 5, 77))
    seeds["raw-truncated"] = bytes([3, 0]) + raw(syn[:30]) + raw(syn[:41])
    return seeds


def p2p_seeds():
    def fr(kind, ctx=0, src=0, tag=0, ln=0, id=0, id2=0, flags=0, magic=0x7D):
        return struct.pack("<BBBBIiiQQQ", magic, kind, flags, 0, ctx, src, tag, ln, id, id2)

    def pre(eager=65536, rbytes=1 << 20, shift=0):
        return struct.pack("<QQB", eager, rbytes, shift)

    return {
        "eager-small": pre() + fr(2, ctx=1, tag=7, ln=8) + b"payload!",
        "eager-sync": pre() + fr(2, ctx=1, src=1, tag=9, ln=4, id=0x1234, flags=1) + b"abcd" +
        fr(6, id=0x99),
        "eager-zero": pre() + fr(2, ctx=2) + fr(2, ctx=2),
        "rts-cts-data": pre() + fr(3, ctx=1, tag=3, ln=1 << 20, id=0x10) +
        fr(4, id=0x10, id2=0x20, ln=1 << 20) + fr(5, id2=0x20, id=0, ln=16) + b"0123456789abcdef" +
        fr(5, id2=0x20, id=16, ln=16) + b"0123456789abcdef",
        "data-tail": pre(rbytes=4096) + fr(5, id2=1, id=4064, ln=32) + b"x" * 32,
        "data-wrap": pre(rbytes=4096) + fr(5, id2=1, id=(1 << 64) - 16, ln=32),
        "ack": pre() + fr(6, id=5),
        "bad-magic": pre() + fr(2, magic=0x7C, ln=1),
        "hello-midstream": pre() + fr(1, id=3),
    }


def main():
    top = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    for target, seeds in (("stream_input", stream_seeds()), ("p2p_frame", p2p_seeds())):
        d = os.path.join(top, target)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
