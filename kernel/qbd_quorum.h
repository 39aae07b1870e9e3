/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Quorum bookkeeping: a pure unit with no I/O, no allocation and no locking,
 * compiled into qbd.ko and into userspace (libqbd, unit tests, simulator).
 *
 * The caller owns the memory (struct qbd_quorum plus a ring of window
 * entries) and serialises calls. Vocabulary as in DESIGN.md:
 *   SCL  - per segment: highest gap-free durable LSN (reported in acks)
 *   PGCL - per PG: highest LSN with >= 4 segment SCLs at or above it
 *   VCL  - volume: highest LSN such that every record <= it is durable on
 *          4 of its PG's 6 segments
 *   VDL  - highest consistency point (flush record) <= VCL
 */
#ifndef QBD_QUORUM_H
#define QBD_QUORUM_H

#include "qbd_pure.h"

#define QBD_Q_NODES		6	/* segments per PG */
#define QBD_Q_WRITE_QUORUM	4
#define QBD_Q_NO_NODE		(-1)

enum qbd_q_slot_state {
	QBD_Q_SLOT_LIVE = 0,
	QBD_Q_SLOT_DEAD = 1,	/* not used for reads, acks still counted */
};

struct qbd_q_slot {
	u64 scl;		/* highest SCL acknowledged by this segment */
	u32 lat_us;		/* smoothed read latency, 0 = unknown */
	u8 state;		/* enum qbd_q_slot_state */
};

struct qbd_q_pg {
	u64 pgcl;		/* cached PGCL */
	u64 last_lsn;		/* last LSN allocated in this PG (prev link) */
	u64 last_durable;	/* highest LSN of this PG that is <= VCL */
	struct qbd_q_slot slot[QBD_Q_NODES];
};

/* one entry per in-flight LSN: which PG it belongs to */
struct qbd_q_entry {
	u32 pg;
	u32 flags;		/* QBD_Q_E_* */
};

#define QBD_Q_E_USED	0x1
#define QBD_Q_E_FLUSH	0x2	/* consistency point */

struct qbd_quorum {
	u32 npgs;
	u32 window;		/* ring size: max in-flight LSNs (power of 2) */
	u64 next_lsn;		/* next LSN to allocate */
	u64 vcl;
	u64 vdl;
	struct qbd_q_pg *pg;		/* npgs entries, caller memory */
	struct qbd_q_entry *ring;	/* window entries, caller memory */
};

/*
 * Start bookkeeping after recovery: every LSN <= vcl is durable; LSNs up to
 * next_lsn - 1 are truncated; pg_last[i] is the newest kept LSN of PG i
 * (0 = none). window must be a power of two.
 */
int qbd_q_init(struct qbd_quorum *q, u32 npgs, struct qbd_q_pg *pgs,
	       struct qbd_q_entry *ring, u32 window, u64 vcl, u64 next_lsn,
	       const u64 *pg_last);

/* room for one more record (the LSN allocation limit) */
int qbd_q_can_alloc(const struct qbd_quorum *q);

/*
 * Allocate the next LSN for a record of PG pg. *prev_lsn receives the
 * previous LSN of the same PG (the back-link). Returns 0 when the window is
 * full. flush marks a consistency point.
 */
u64 qbd_q_alloc(struct qbd_quorum *q, u32 pg, int flush, u64 *prev_lsn);

/*
 * A segment acknowledged with its SCL. Returns 1 if VCL advanced. An SCL
 * never moves backwards here (a lower value is ignored).
 */
int qbd_q_ack(struct qbd_quorum *q, u32 pg, u32 slot, u64 scl);

/* PGCL of one PG: the 4th highest SCL among its 6 segments */
u64 qbd_q_pgcl(const struct qbd_quorum *q, u32 pg);

static inline u64 qbd_q_vcl(const struct qbd_quorum *q) { return q->vcl; }
static inline u64 qbd_q_vdl(const struct qbd_quorum *q) { return q->vdl; }

/* is every record with LSN <= lsn durable at quorum? */
static inline int qbd_q_complete(const struct qbd_quorum *q, u64 lsn)
{
	return lsn <= q->vcl;
}

/* number of live segments of a PG */
u32 qbd_q_live(const struct qbd_quorum *q, u32 pg);

void qbd_q_set_state(struct qbd_quorum *q, u32 pg, u32 slot, u8 state);

/* a node was replaced by a fresh segment: its SCL starts from scl */
void qbd_q_reset_slot(struct qbd_quorum *q, u32 pg, u32 slot, u64 scl);

/* fold a measured read latency into the slot's moving average */
void qbd_q_note_latency(struct qbd_quorum *q, u32 pg, u32 slot, u32 us);

/*
 * The read point for PG pg as of now: the newest record of the PG that is
 * <= VCL. A segment whose SCL reaches it holds every write to the PG that
 * completed before the read is issued (DESIGN.md invariant 3). Send it as
 * read_lsn and pass it to qbd_q_pick_read().
 */
static inline u64 qbd_q_read_point(const struct qbd_quorum *q, u32 pg)
{
	return q->pg[pg].last_durable;
}

/*
 * Choose the segment to serve a read of PG pg as of read_lsn: a live slot
 * whose SCL covers the read point, not in exclude_mask (bit per slot), with
 * the lowest measured latency (unknown latency counts as best, so every
 * node gets measured). Returns QBD_Q_NO_NODE if none qualifies.
 */
int qbd_q_pick_read(const struct qbd_quorum *q, u32 pg, u64 read_lsn,
		    u32 exclude_mask);

/*
 * Recovery: given LSNs known to be held (from SCL_QUERY of >= 3 segments of
 * every PG), compute the volume's VCL: the highest L > base such that every
 * LSN in (base, L] is present in the sorted, de-duplicated array lsns[].
 */
u64 qbd_q_recover_vcl(u64 base, const u64 *lsns, u32 n);

#endif /* QBD_QUORUM_H */
