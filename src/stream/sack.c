/* SACK on both sides.
 *
 * Sender: a scoreboard of SACKed intervals above snd_una (RFC 6675
 * section 3), from which loss recovery derives IsLost (more than
 * (DupThresh - 1) * SMSS bytes SACKed above a hole), the pipe estimate
 * (section 4, SetPipe) and NextSeg rule 1 (the lowest lost, unSACKed,
 * not yet retransmitted range).  After an RTO every unSACKed byte below
 * `recover` counts as lost (loss_all).
 *
 * Receiver: the out-of-order queue - intervals of bytes already placed in
 * the receive ring beyond rcv_nxt, merged as they touch, advanced into the
 * in-order queue when the hole at rcv_nxt fills, reported as SACK blocks
 * with the most recently changed block first (RFC 2018 section 4), and
 * pruned from the top when it exceeds its byte limit (counted; the sender
 * recovers pruned data by RTO, where it forgets its scoreboard). */
#include "config.h"
#include "stream/tcb.h"

#include <string.h>

TIDE_PARAM_DEFINE(stream_ooo_max, TIDE_PARAM_SIZE, "STREAM_OOO_MAX", "0",
                  "Byte limit of a stream's out-of-order queue; beyond it the highest "
                  "intervals are pruned and counted (0: the receive buffer size)");

#define TIDE_DUPTHRESH 3

/* ---- generic sorted interval sets ---- */

static void tide_iv_remove(tide_interval_t *iv, int *n, int i)
{
    memmove(&iv[i], &iv[i + 1], sizeof(*iv) * (size_t)(*n - i - 1));
    (*n)--;
}

/* Insert [l, r) into the sorted disjoint set, merging.  Returns the index
 * of the resulting interval, or -1 if the set is full and [l, r) touches
 * nothing (caller decides). */
static int tide_iv_insert(tide_interval_t *iv, int *n, int max, uint32_t l, uint32_t r)
{
    int i = 0;
    while (i < *n && TIDE_SEQ_LT(iv[i].r, l))
        i++;
    if (i < *n && TIDE_SEQ_LEQ(iv[i].l, r)) { /* overlaps or touches iv[i] */
        iv[i].l = tide_seq_min(iv[i].l, l);
        iv[i].r = tide_seq_max(iv[i].r, r);
        while (i + 1 < *n && TIDE_SEQ_LEQ(iv[i + 1].l, iv[i].r)) {
            iv[i].r = tide_seq_max(iv[i].r, iv[i + 1].r);
            tide_iv_remove(iv, n, i + 1);
        }
        return i;
    }
    if (*n == max)
        return -1;
    memmove(&iv[i + 1], &iv[i], sizeof(*iv) * (size_t)(*n - i));
    iv[i].l = l;
    iv[i].r = r;
    (*n)++;
    return i;
}

static uint32_t tide_iv_bytes(const tide_interval_t *iv, int n)
{
    uint32_t b = 0;
    for (int i = 0; i < n; i++)
        b += iv[i].r - iv[i].l;
    return b;
}

/* ---- sender scoreboard ---- */

void tide_sb_clear(tide_stream_t *s)
{
    s->nsb = 0;
    s->sacked_bytes = 0;
}

void tide_sb_update(tide_stream_t *s, const tide_seg_t *seg)
{
    for (int k = 0; k < seg->nsack; k++) {
        uint32_t l = seg->sack[k].left, r = seg->sack[k].right;
        TIDE_STAT(s->st, sack_blocks_in);
        if (TIDE_SEQ_LEQ(r, s->snd_una) || TIDE_SEQ_GT(r, s->snd_max))
            continue; /* D-SACK or bogus */
        if (TIDE_SEQ_LT(l, s->snd_una))
            l = s->snd_una;
        if (tide_iv_insert(s->sb, &s->nsb, TIDE_SB_MAX, l, r) < 0) {
            /* Full: forget the highest interval, keep the lower news. */
            if (TIDE_SEQ_LT(l, s->sb[s->nsb - 1].l)) {
                s->nsb--;
                tide_iv_insert(s->sb, &s->nsb, TIDE_SB_MAX, l, r);
            }
        }
    }
    s->sacked_bytes = tide_iv_bytes(s->sb, s->nsb);
}

void tide_sb_ack(tide_stream_t *s)
{
    while (s->nsb && TIDE_SEQ_LEQ(s->sb[0].r, s->snd_una))
        tide_iv_remove(s->sb, &s->nsb, 0);
    if (s->nsb && TIDE_SEQ_LT(s->sb[0].l, s->snd_una))
        s->sb[0].l = s->snd_una;
    s->sacked_bytes = tide_iv_bytes(s->sb, s->nsb);
}

int tide_sb_is_sacked(const tide_stream_t *s, uint32_t seq, uint32_t *end)
{
    for (int i = 0; i < s->nsb; i++)
        if (TIDE_SEQ_IN(seq, s->sb[i].l, s->sb[i].r)) {
            *end = s->sb[i].r;
            return 1;
        }
    return 0;
}

static uint32_t tide_sb_lost_mark_now(const tide_stream_t *s);

/* Every unSACKed byte below the returned sequence is lost (IsLost). */
uint32_t tide_sb_lost_mark(const tide_stream_t *s)
{
    uint32_t m = tide_sb_lost_mark_now(s);
    if (s->in_recovery && !s->loss_all && TIDE_SEQ_GT(s->lost_hint, m) &&
        TIDE_SEQ_GT(s->lost_hint, s->snd_una))
        m = s->lost_hint;
    return m;
}

static uint32_t tide_sb_lost_mark_now(const tide_stream_t *s)
{
    if (s->loss_all)
        return s->recover;
    /* After a tail loss probe, bytes SACKed above a hole were sent at least
     * 2 SRTT after it: the hole is lost (the RACK reasoning of RFC 8985). */
    if (s->tlp_in_flight && s->nsb)
        return s->sb[s->nsb - 1].l;
    uint32_t acc = 0;
    for (int i = s->nsb - 1; i >= 0; i--) {
        acc += s->sb[i].r - s->sb[i].l;
        if (acc > (TIDE_DUPTHRESH - 1) * s->mss)
            return s->sb[i].l;
    }
    /* In fast recovery the first segment is lost by definition (entry
     * after DupThresh duplicate ACKs, RFC 6675 section 5 step 4.2). */
    if (s->in_recovery && TIDE_SEQ_LT(s->snd_una, s->recover))
        return s->snd_una + 1;
    return s->snd_una;
}

uint32_t tide_sb_pipe(const tide_stream_t *s)
{
    uint32_t unsacked = (s->snd_max - s->snd_una) - s->sacked_bytes;
    uint32_t mark = tide_sb_lost_mark(s);
    uint32_t from = tide_seq_max(s->high_rxt, s->snd_una);
    if (!TIDE_SEQ_LT(from, mark))
        return unsacked;
    /* lost and not retransmitted: unSACKed bytes of [from, mark) */
    uint32_t lost = mark - from;
    for (int i = 0; i < s->nsb; i++) {
        uint32_t l = tide_seq_max(s->sb[i].l, from), r = tide_seq_min(s->sb[i].r, mark);
        if (TIDE_SEQ_LT(l, r))
            lost -= r - l;
    }
    return unsacked > lost ? unsacked - lost : 0;
}

int tide_sb_next_lost(const tide_stream_t *s, uint32_t *seq, uint32_t *len)
{
    uint32_t mark = tide_sb_lost_mark(s);
    uint32_t x = tide_seq_max(s->high_rxt, s->snd_una);
    uint32_t end;
    while (TIDE_SEQ_LT(x, mark)) {
        if (tide_sb_is_sacked(s, x, &end)) {
            x = end;
            continue;
        }
        uint32_t stop = s->snd_max;
        for (int i = 0; i < s->nsb; i++)
            if (TIDE_SEQ_GT(s->sb[i].l, x)) {
                stop = s->sb[i].l;
                break;
            }
        *seq = x;
        *len = stop - x;
        return 1;
    }
    return 0;
}

/* ---- receiver out-of-order queue ---- */

static void tide_ooo_drop_top(tide_stream_t *s)
{
    tide_interval_t *t = &s->ooo[s->nooo - 1];
    TIDE_STAT(s->st, ooo_pruned_segs);
    TIDE_STAT_ADD(s->st, ooo_pruned_bytes, t->r - t->l);
    s->nooo--;
}

void tide_ooo_prune(tide_stream_t *s, uint32_t limit)
{
    while (s->nooo && s->ooo_bytes > limit) {
        tide_ooo_drop_top(s);
        s->ooo_bytes = tide_iv_bytes(s->ooo, s->nooo);
    }
}

int tide_ooo_add(tide_stream_t *s, uint32_t l, uint32_t r)
{
    int i = tide_iv_insert(s->ooo, &s->nooo, TIDE_OOO_MAX, l, r);
    if (i < 0) {
        if (TIDE_SEQ_GT(l, s->ooo[s->nooo - 1].l)) {
            TIDE_STAT(s->st, ooo_pruned_segs);
            TIDE_STAT_ADD(s->st, ooo_pruned_bytes, r - l);
            return -1;
        }
        tide_ooo_drop_top(s);
        i = tide_iv_insert(s->ooo, &s->nooo, TIDE_OOO_MAX, l, r);
    }
    s->ooo_last = s->ooo[i];
    s->ooo_bytes = tide_iv_bytes(s->ooo, s->nooo);
    uint32_t limit = (uint32_t)tide_param_int(&tide_param_stream_ooo_max);
    if (limit == 0 || limit > s->rb_cap)
        limit = s->rb_cap;
    tide_ooo_prune(s, limit);
    return 0;
}

void tide_ooo_advance(tide_stream_t *s)
{
    while (s->nooo && TIDE_SEQ_LEQ(s->ooo[0].l, s->rcv_nxt)) {
        if (TIDE_SEQ_GT(s->ooo[0].r, s->rcv_nxt))
            s->rcv_nxt = s->ooo[0].r;
        tide_iv_remove(s->ooo, &s->nooo, 0);
    }
    s->ooo_bytes = tide_iv_bytes(s->ooo, s->nooo);
}

int tide_ooo_sack_blocks(const tide_stream_t *s, tide_seg_sack_t *blk, int max)
{
    int n = 0, first = -1;
    for (int i = 0; i < s->nooo; i++)
        if (TIDE_SEQ_LEQ(s->ooo[i].l, s->ooo_last.l) && TIDE_SEQ_LT(s->ooo_last.l, s->ooo[i].r))
            first = i;
    if (first >= 0 && n < max) {
        blk[n].left = s->ooo[first].l;
        blk[n++].right = s->ooo[first].r;
    }
    for (int i = 0; i < s->nooo && n < max; i++) {
        if (i == first)
            continue;
        blk[n].left = s->ooo[i].l;
        blk[n++].right = s->ooo[i].r;
    }
    return n;
}
