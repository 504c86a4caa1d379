/* Names and descriptions of the stream counters (stats.h), generated from
 * the field list of tide_stream_stats_t; also the text formatter used by
 * TIDE_STATS=1 and tide-stat. */
#include "config.h"
#include "stream/stats.h"

#include <stdio.h>

#define F(n, d)                                 \
    {                                           \
#n, offsetof(tide_stream_stats_t, n), d \
    }
static const tide_stat_field_t tide_stat_fields[] = {
    F(seg_in, "segments received (valid)"),
    F(seg_out, "segments sent"),
    F(data_seg_in, "segments received with payload"),
    F(data_seg_out, "segments sent with payload"),
    F(bytes_in, "payload bytes received"),
    F(bytes_out, "payload bytes sent (retransmits included)"),
    F(pure_acks_out, "ACKs sent without data"),
    F(delayed_acks, "ACKs sent by the delayed-ACK timer"),
    F(quick_acks, "ACKs sent at once (out of order, hole filled, quick-ack mode)"),
    F(retrans_segs, "segments retransmitted"),
    F(retrans_bytes, "bytes retransmitted"),
    F(retrans_rto, "retransmissions after an RTO"),
    F(retrans_fast, "retransmissions by SACK/fast recovery"),
    F(retrans_tlp, "tail loss probes that resent the last segment (RFC 8985 7)"),
    F(retrans_spurious, "retransmissions found spurious (timestamps, RFC 3522)"),
    F(rto_fires, "retransmission timeouts"),
    F(fast_recoveries, "entries into fast recovery"),
    F(dup_acks_in, "duplicate ACKs received"),
    F(sack_blocks_in, "SACK blocks received"),
    F(sack_blocks_out, "SACK blocks sent"),
    F(ooo_segs, "segments queued out of order"),
    F(ooo_bytes, "bytes queued out of order"),
    F(ooo_pruned_segs, "out-of-order intervals pruned"),
    F(ooo_pruned_bytes, "out-of-order bytes pruned"),
    F(dup_segs_in, "segments with only already received data"),
    F(rcv_direct_bytes, "bytes copied from frames straight into a waiting reader's buffer"),
    F(backlog_queued, "frames queued to a busy stream's backlog"),
    F(backlog_drops, "frames dropped: backlog full (TCPBacklogDrop)"),
    F(crc_errors, "frames dropped: bad CRC32C"),
    F(malformed, "frames dropped: malformed header"),
    F(key_drops, "frames dropped: foreign job key"),
    F(mac_drops, "frames dropped: no valid MAC tag (TIDE_STREAM_MAC)"),
    F(no_conn_drops, "segments for no connection (answered with RST)"),
    F(rst_in, "resets accepted"),
    F(rst_out, "resets sent"),
    F(challenge_acks, "challenge ACKs sent (RFC 5961)"),
    F(rst_out_of_window, "RSTs dropped: out of window or not exact (RFC 5961 3)"),
    F(syn_in_window, "SYNs on a synchronized stream (RFC 5961 4)"),
    F(ack_unsent, "ACKs of data not yet sent (dropped, RFC 5961 5)"),
    F(ack_too_old, "ACKs too old to be acceptable (RFC 5961 5)"),
    F(paws_drops, "segments dropped by PAWS (RFC 7323 5)"),
    F(out_of_window, "segments outside the receive window"),
    F(beyond_window_bytes, "payload bytes beyond the receive window dropped"),
    F(window_probes, "zero-window probes sent"),
    F(zero_window_adv, "ACKs advertising a zero window"),
    F(window_updates, "window updates sent"),
    F(keepalive_probes, "keepalive probes sent"),
    F(keepalive_timeouts, "streams killed by keepalive"),
    F(rto_timeouts, "streams killed: retransmissions gave up"),
    F(probe_timeouts, "streams killed: window probes unanswered"),
    F(active_opens, "connects started"),
    F(passive_opens, "SYNs accepted by a listener"),
    F(established, "streams that reached ESTABLISHED"),
    F(conn_resets, "streams reset by the peer"),
    F(attempt_fails, "connects refused or timed out"),
    F(synq_overflows, "SYNs dropped: SYN queue full"),
    F(accept_overflows, "handshakes dropped: accept queue full"),
    F(syn_retrans, "SYN and SYN-ACK retransmissions"),
    F(rcv_after_shutdown_bytes, "bytes received after SHUT_RD and discarded"),
    F(rst_on_close, "resets sent by close with unread data"),
    F(tx_wire_drops, "frames the wire refused"),
    F(zc_completed, "zero-copy sends completed"),
    F(time_wait_recycled, "TIME_WAIT streams replaced by a new SYN"),
    F(conns_freed, "connection blocks freed"),
};
#undef F

uint32_t tide_stats_nfields(void)
{
    return (uint32_t)(sizeof(tide_stat_fields) / sizeof(tide_stat_fields[0]));
}

const tide_stat_field_t *tide_stats_field(uint32_t i)
{
    return i < tide_stats_nfields() ? &tide_stat_fields[i] : NULL;
}

size_t tide_stats_format(const tide_stream_stats_t *s, char *buf, size_t len, int skip_zero)
{
    size_t n = 0;
    for (uint32_t i = 0; i < tide_stats_nfields() && n < len; i++) {
        const tide_stat_field_t *f = &tide_stat_fields[i];
        uint64_t v = *(const uint64_t *)((const char *)s + f->off);
        if (skip_zero && v == 0)
            continue;
        int w = snprintf(buf + n, len - n, "  %-26s %12llu  %s\n", f->name, (unsigned long long)v,
                         f->desc);
        if (w < 0)
            break;
        n += (size_t)w;
    }
    return n < len ? n : len - 1;
}
