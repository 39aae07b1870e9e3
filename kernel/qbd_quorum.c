// SPDX-License-Identifier: GPL-2.0
/*
 * Quorum bookkeeping for qbd: per-record ack counting through segment SCLs,
 * PGCL and VCL, VDL, and the choice of a segment for a read.
 *
 * A record of PG p with LSN l is durable on a segment once that segment
 * reports SCL >= l (SCL is gap-free and counts only fdatasync'd records), so
 * instead of counting acks per record we keep the highest SCL of each of the
 * six segments: PGCL(p) is the 4th highest and a record is at quorum iff
 * l <= PGCL(p). VCL then walks the ring of in-flight LSNs in order and stops
 * at the first record whose PG has not reached it (prefix durability).
 *
 * Pure C, no I/O: the same file is built into qbd.ko and into userspace.
 */
#include "qbd_quorum.h"

int qbd_q_init(struct qbd_quorum *q, u32 npgs, struct qbd_q_pg *pgs,
	       struct qbd_q_entry *ring, u32 window, u64 vcl, u64 next_lsn,
	       const u64 *pg_last)
{
	u32 i;

	if (!npgs || !window || (window & (window - 1)) || next_lsn <= vcl)
		return -1;
	memset(q, 0, sizeof(*q));
	memset(pgs, 0, sizeof(*pgs) * npgs);
	memset(ring, 0, sizeof(*ring) * window);
	q->npgs = npgs;
	q->window = window;
	q->pg = pgs;
	q->ring = ring;
	/*
	 * LSNs in (vcl, next_lsn) were truncated by recovery: nothing will
	 * ever be written there, so they count as complete.
	 */
	q->vcl = next_lsn - 1;
	q->vdl = next_lsn - 1;
	q->next_lsn = next_lsn;
	for (i = 0; i < npgs; i++) {
		u64 last = pg_last ? pg_last[i] : 0;

		if (last > vcl)
			return -1;
		pgs[i].last_lsn = last;
		pgs[i].last_durable = last;
		pgs[i].pgcl = last;
	}
	return 0;
}

int qbd_q_can_alloc(const struct qbd_quorum *q)
{
	return q->next_lsn - q->vcl - 1 < q->window;
}

u64 qbd_q_alloc(struct qbd_quorum *q, u32 pg, int flush, u64 *prev_lsn)
{
	struct qbd_q_entry *e;
	u64 lsn;

	if (pg >= q->npgs || !qbd_q_can_alloc(q))
		return 0;
	lsn = q->next_lsn++;
	e = &q->ring[lsn & (q->window - 1)];
	e->pg = pg;
	e->flags = QBD_Q_E_USED | (flush ? QBD_Q_E_FLUSH : 0);
	*prev_lsn = q->pg[pg].last_lsn;
	q->pg[pg].last_lsn = lsn;
	return lsn;
}

u64 qbd_q_pgcl(const struct qbd_quorum *q, u32 pg)
{
	u64 top[QBD_Q_WRITE_QUORUM] = { 0 };
	const struct qbd_q_slot *s = q->pg[pg].slot;
	int i, j;

	/* keep the 4 highest SCLs in descending order */
	for (i = 0; i < QBD_Q_NODES; i++) {
		u64 v = s[i].scl;

		for (j = 0; j < QBD_Q_WRITE_QUORUM; j++) {
			if (v > top[j]) {
				u64 t = top[j];

				top[j] = v;
				v = t;
			}
		}
	}
	return top[QBD_Q_WRITE_QUORUM - 1];
}

static int qbd_q_advance(struct qbd_quorum *q)
{
	int moved = 0;

	while (q->vcl + 1 < q->next_lsn) {
		u64 lsn = q->vcl + 1;
		struct qbd_q_entry *e = &q->ring[lsn & (q->window - 1)];

		if (!(e->flags & QBD_Q_E_USED) || q->pg[e->pg].pgcl < lsn)
			break;
		q->vcl = lsn;
		q->pg[e->pg].last_durable = lsn;
		if (e->flags & QBD_Q_E_FLUSH)
			q->vdl = lsn;
		e->flags = 0;
		moved = 1;
	}
	return moved;
}

int qbd_q_ack(struct qbd_quorum *q, u32 pg, u32 slot, u64 scl)
{
	struct qbd_q_pg *p;

	if (pg >= q->npgs || slot >= QBD_Q_NODES)
		return 0;
	p = &q->pg[pg];
	if (scl <= p->slot[slot].scl)
		return 0;
	/* an SCL can never be ahead of what was allocated in the PG */
	if (scl > p->last_lsn)
		scl = p->last_lsn;
	p->slot[slot].scl = scl;
	p->pgcl = qbd_q_pgcl(q, pg);
	return qbd_q_advance(q);
}

u32 qbd_q_live(const struct qbd_quorum *q, u32 pg)
{
	u32 i, n = 0;

	for (i = 0; i < QBD_Q_NODES; i++)
		n += q->pg[pg].slot[i].state == QBD_Q_SLOT_LIVE;
	return n;
}

void qbd_q_set_state(struct qbd_quorum *q, u32 pg, u32 slot, u8 state)
{
	if (pg < q->npgs && slot < QBD_Q_NODES)
		q->pg[pg].slot[slot].state = state;
}

void qbd_q_reset_slot(struct qbd_quorum *q, u32 pg, u32 slot, u64 scl)
{
	struct qbd_q_pg *p;

	if (pg >= q->npgs || slot >= QBD_Q_NODES)
		return;
	p = &q->pg[pg];
	p->slot[slot].scl = scl > p->last_lsn ? p->last_lsn : scl;
	p->slot[slot].lat_us = 0;
	p->slot[slot].state = QBD_Q_SLOT_LIVE;
	/* PGCL may drop for a replaced segment, VCL never does */
	p->pgcl = qbd_q_pgcl(q, pg);
	if (p->pgcl < p->last_durable)
		p->pgcl = p->last_durable;
	qbd_q_advance(q);
}

void qbd_q_note_latency(struct qbd_quorum *q, u32 pg, u32 slot, u32 us)
{
	struct qbd_q_slot *s;

	if (pg >= q->npgs || slot >= QBD_Q_NODES)
		return;
	s = &q->pg[pg].slot[slot];
	if (!us)
		us = 1;
	/* EWMA with weight 1/8, like TCP's srtt */
	s->lat_us = s->lat_us ? s->lat_us - (s->lat_us >> 3) + (us >> 3) : us;
	if (!s->lat_us)
		s->lat_us = 1;
}

int qbd_q_pick_read(const struct qbd_quorum *q, u32 pg, u64 read_lsn,
		    u32 exclude_mask)
{
	int i, best = QBD_Q_NO_NODE;
	u32 best_lat = 0;

	if (pg >= q->npgs)
		return QBD_Q_NO_NODE;
	for (i = 0; i < QBD_Q_NODES; i++) {
		const struct qbd_q_slot *s = &q->pg[pg].slot[i];

		if (s->state != QBD_Q_SLOT_LIVE || (exclude_mask & (1U << i)))
			continue;
		if (s->scl < read_lsn)
			continue;
		if (best == QBD_Q_NO_NODE || s->lat_us < best_lat) {
			best = i;
			best_lat = s->lat_us;
		}
	}
	return best;
}

u64 qbd_q_recover_vcl(u64 base, const u64 *lsns, u32 n)
{
	u64 vcl = base;
	u32 i;

	for (i = 0; i < n; i++) {
		if (lsns[i] <= vcl)
			continue;
		if (lsns[i] != vcl + 1)
			break;
		vcl = lsns[i];
	}
	return vcl;
}
