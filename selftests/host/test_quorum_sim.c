// SPDX-License-Identifier: GPL-2.0
/*
 * Deterministic simulation of the quorum unit: a seeded PRNG drives record
 * allocation, delivery of records to the six segments of their PG in random
 * order (with two segments per PG that may lose records for good), and
 * acknowledgements that arrive late, duplicated and out of order. After
 * every step the unit is checked against a brute-force model:
 *   invariant 1: LSNs strictly increase and back-links name the previous
 *                record of the same PG;
 *   invariant 2: VCL equals the highest L such that every record <= L is
 *                covered by >= 4 acknowledged SCLs of its PG, and every
 *                record <= VCL really is held gap-free by >= 4 segments;
 *   reads:       the picked segment's true SCL covers the read point.
 * A failing seed is printed and replays exactly.
 */
#include <stdlib.h>
#include "kselftest_harness.h"
#include "qbd_quorum.h"

#define NPG	3
#define WIN	64
#define MAXREC	400
#define NODES	QBD_Q_NODES

struct sim {
	u64 rng;
	struct qbd_quorum q;
	struct qbd_q_pg pg[NPG];
	struct qbd_q_entry ring[WIN];
	u64 nrec;			/* records allocated: LSN 1..nrec */
	u32 rec_pg[MAXREC + 1];
	u8 held[MAXREC + 1][NODES];	/* record delivered to segment */
	u8 lost[NPG][NODES];		/* segment drops what it is sent */
	u64 acked[NPG][NODES];		/* highest SCL delivered in an ack */
	u64 last_pg[NPG];
};

static u64 rnd(struct sim *s)
{
	u64 x = s->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	s->rng = x;
	return x;
}

/* true SCL of a segment: highest LSN of the PG with all PG records <= it held */
static u64 true_scl(const struct sim *s, u32 pg, u32 slot)
{
	u64 l, scl = 0;

	for (l = 1; l <= s->nrec; l++) {
		if (s->rec_pg[l] != pg)
			continue;
		if (!s->held[l][slot])
			break;
		scl = l;
	}
	return scl;
}

/* brute-force VCL from what the unit was told */
static u64 model_vcl(const struct sim *s)
{
	u64 l;

	for (l = 1; l <= s->nrec; l++) {
		u32 pg = s->rec_pg[l], n = 0, i;

		for (i = 0; i < NODES; i++)
			n += s->acked[pg][i] >= l;
		if (n < QBD_Q_WRITE_QUORUM)
			return l - 1;
	}
	return s->nrec;
}

static int check(struct __test_metadata *_metadata, struct sim *s, u64 seed)
{
	u64 vcl = qbd_q_vcl(&s->q), l, tscl[NPG][NODES];
	u32 pg, i;

	for (pg = 0; pg < NPG; pg++)
		for (i = 0; i < NODES; i++)
			tscl[pg][i] = true_scl(s, pg, i);

	if (vcl != model_vcl(s)) {
		TH_LOG("seed %llu: VCL %llu, model %llu", (unsigned long long)seed,
		       (unsigned long long)vcl, (unsigned long long)model_vcl(s));
		return -1;
	}
	for (l = 1; l <= vcl; l++) {
		u32 n = 0;

		for (i = 0; i < NODES; i++)
			n += tscl[s->rec_pg[l]][i] >= l;
		if (n < QBD_Q_WRITE_QUORUM) {
			TH_LOG("seed %llu: LSN %llu <= VCL on %u segments only",
			       (unsigned long long)seed, (unsigned long long)l, n);
			return -1;
		}
	}
	for (pg = 0; pg < NPG; pg++) {
		u64 rp = qbd_q_read_point(&s->q, pg);
		int slot = qbd_q_pick_read(&s->q, pg, rp, 0);

		if (rp > vcl || (rp && s->rec_pg[rp] != pg)) {
			TH_LOG("seed %llu: pg %u read point %llu", (unsigned long long)seed,
			       pg, (unsigned long long)rp);
			return -1;
		}
		/* newest record of the PG <= VCL */
		for (l = vcl; l > rp; l--)
			if (s->rec_pg[l] == pg) {
				TH_LOG("seed %llu: pg %u read point %llu misses %llu",
				       (unsigned long long)seed, pg,
				       (unsigned long long)rp, (unsigned long long)l);
				return -1;
			}
		if (slot == QBD_Q_NO_NODE) {
			if (rp) {
				TH_LOG("seed %llu: no segment for read point %llu",
				       (unsigned long long)seed, (unsigned long long)rp);
				return -1;
			}
			continue;
		}
		if (tscl[pg][slot] < rp) {
			TH_LOG("seed %llu: picked slot %d does not hold %llu",
			       (unsigned long long)seed, slot, (unsigned long long)rp);
			return -1;
		}
	}
	return 0;
}

static int run_seed(struct __test_metadata *_metadata, u64 seed)
{
	struct sim *s = calloc(1, sizeof(*s));
	u32 pg, i, steps;
	int r = 0;

	s->rng = seed * 0x9E3779B97F4A7C15ULL + 7;
	qbd_q_init(&s->q, NPG, s->pg, s->ring, WIN, 0, 1, NULL);
	for (pg = 0; pg < NPG; pg++) {
		/* up to two segments per PG lose records (invariant 6) */
		u32 nlost = (u32)(rnd(s) % 3);

		for (i = 0; i < nlost; i++)
			s->lost[pg][rnd(s) % NODES] = 1;
	}
	for (steps = 0; steps < 4000 && !r; steps++) {
		u32 what = (u32)(rnd(s) % 10);

		if (what < 3 && s->nrec < MAXREC && qbd_q_can_alloc(&s->q)) {
			u64 prev, lsn;

			pg = (u32)(rnd(s) % NPG);
			lsn = qbd_q_alloc(&s->q, pg, (int)(rnd(s) % 2), &prev);
			if (lsn != s->nrec + 1 || prev != s->last_pg[pg]) {
				TH_LOG("seed %llu: alloc %llu prev %llu, want %llu prev %llu",
				       (unsigned long long)seed,
				       (unsigned long long)lsn,
				       (unsigned long long)prev,
				       (unsigned long long)(s->nrec + 1),
				       (unsigned long long)s->last_pg[pg]);
				r = -1;
				break;
			}
			s->nrec = lsn;
			s->rec_pg[lsn] = pg;
			s->last_pg[pg] = lsn;
		} else if (what < 7 && s->nrec) {
			/* deliver a random pending record to a random segment */
			u64 l = s->q.vcl + 1 + rnd(s) % (s->nrec - s->q.vcl + 1);
			u32 slot = (u32)(rnd(s) % NODES);

			if (l > s->nrec)
				l = s->nrec;
			if (!s->lost[s->rec_pg[l]][slot])
				s->held[l][slot] = 1;
		} else if (s->nrec) {
			/* an ack: the segment's SCL now, or a stale one */
			u64 scl;

			pg = (u32)(rnd(s) % NPG);
			i = (u32)(rnd(s) % NODES);
			scl = true_scl(s, pg, i);
			if (rnd(s) % 4 == 0 && scl)
				scl -= rnd(s) % scl;	/* late ack */
			if (scl > s->acked[pg][i])
				s->acked[pg][i] = scl;
			qbd_q_ack(&s->q, pg, i, scl);
		}
		r = check(_metadata, s, seed);
	}
	/* liveness: deliver everything, ack everything, VCL reaches the end */
	if (!r) {
		u64 l;

		for (l = 1; l <= s->nrec; l++)
			for (i = 0; i < NODES; i++)
				if (!s->lost[s->rec_pg[l]][i])
					s->held[l][i] = 1;
		for (pg = 0; pg < NPG; pg++)
			for (i = 0; i < NODES; i++) {
				u64 scl = true_scl(s, pg, i);

				if (scl > s->acked[pg][i])
					s->acked[pg][i] = scl;
				qbd_q_ack(&s->q, pg, i, scl);
			}
		r = check(_metadata, s, seed);
		if (!r && qbd_q_vcl(&s->q) != s->nrec) {
			TH_LOG("seed %llu: VCL %llu stuck below %llu",
			       (unsigned long long)seed,
			       (unsigned long long)qbd_q_vcl(&s->q),
			       (unsigned long long)s->nrec);
			r = -1;
		}
	}
	free(s);
	return r;
}

TEST(random_ack_orders)
{
	const char *env = getenv("QBD_SIM_SEED");
	u64 seed, first = env ? strtoull(env, NULL, 0) : 1;
	u64 n = env ? 1 : 30;

	for (seed = first; seed < first + n; seed++)
		ASSERT_EQ(0, run_seed(_metadata, seed));
}

TEST_HARNESS_MAIN
