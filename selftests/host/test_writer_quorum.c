// SPDX-License-Identifier: GPL-2.0
/*
 * Quorum writes through node crashes (DESIGN.md invariants 2 and 6): a
 * stream of writes at queue depth 16 keeps completing while 0, 1 or 2
 * nodes are SIGKILLed in the middle of it, and every completed write reads
 * back. The killed nodes are then restarted and must catch up through
 * gossip: their SCL reaches the SCL of the nodes that never died, for
 * records the writer never resent to them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kselftest_harness.h"
#include "qbd_conn.h"
#include "writer_util.h"

#define VOL		11
#define PG_SIZE		(1ULL << 20)		/* 256 blocks per PG */
#define SIZE		(4 * PG_SIZE)		/* 4 PGs */
#define SPAN		(SIZE / QBD_BLOCK_SIZE)
#define NWRITES		600

FIXTURE(quorum) {
	struct wt_cluster w;
	struct qbd_vol *v;
	struct wt_stream s;
};

FIXTURE_VARIANT(quorum) {
	int nkill;
	int kill[2];
};

/* victims in different AZs: node 1 is az-a, node 4 az-c */
FIXTURE_VARIANT_ADD(quorum, kill0) { .nkill = 0 };
FIXTURE_VARIANT_ADD(quorum, kill1) { .nkill = 1, .kill = { 2 } };
FIXTURE_VARIANT_ADD(quorum, kill2) { .nkill = 2, .kill = { 1, 4 } };

FIXTURE_SETUP(quorum)
{
	struct qbd_writer_opts o = { .io_timeout_ms = 2000,
				     .dead_timeout_ms = 60000 };
	struct qbd_geom g;

	ASSERT_EQ(0, wt_cluster_up(&self->w, "wquorum", 23000));
	ASSERT_EQ(0, wt_open(&self->w, &g, VOL, SIZE, PG_SIZE, &o, &self->v, 1));
	ASSERT_EQ(0, wt_stream_init(&self->s, self->v, SPAN, 16, 42));
}

FIXTURE_TEARDOWN(quorum)
{
	if (self->v)
		qbd_writer_close(self->v, 1);
	wt_stream_free(&self->s);
	wt_cluster_down(&self->w);
}

struct killer {
	struct wt_cluster *w;
	const FIXTURE_VARIANT(quorum) *var;
	int done;
};

static void kill_midstream(void *arg, u64 completed)
{
	struct killer *k = arg;
	int i;

	if (k->done || completed < NWRITES / 3)
		return;
	k->done = 1;
	for (i = 0; i < k->var->nkill; i++)
		wt_node_kill(k->w, k->var->kill[i]);
}

TEST_F_TIMEOUT(quorum, stream, 300)
{
	struct killer k = { &self->w, variant, 0 };
	struct qbd_vol_stats st;
	u64 failed, scl, want;
	int i, pg, tries;

	failed = wt_stream_run(&self->s, NWRITES, kill_midstream, &k);
	ASSERT_EQ(0ULL, failed);
	ASSERT_EQ(1, k.done);
	qbd_vol_stats(self->v, &st);
	EXPECT_EQ((u32)(QBD_PG_NODES - variant->nkill), st.live_nodes);
	EXPECT_EQ((u64)NWRITES, st.writes);
	/* every completed write reads back, from the surviving nodes */
	ASSERT_EQ(0, wt_verify(self->v, self->s.model, SPAN));
	if (!variant->nkill)
		return;

	/* restart the victims; a second stream runs while they catch up */
	for (i = 0; i < variant->nkill; i++)
		ASSERT_EQ(0, wt_node_start(&self->w, variant->kill[i]));
	/* the writer reconnects in the background; new records then expose
	 * the victims' gaps to them
	 */
	for (tries = 0; tries < 600; tries++) {
		qbd_vol_stats(self->v, &st);
		if (st.live_nodes == QBD_PG_NODES)
			break;
		wt_msleep(50);
	}
	ASSERT_EQ((u32)QBD_PG_NODES, st.live_nodes);
	ASSERT_EQ(0ULL, wt_stream_run(&self->s, NWRITES / 3, NULL, NULL));
	ASSERT_EQ(0, qbd_flush(self->v));
	/* no I/O in flight now: SCLs only move by gossip */
	for (pg = 0; pg < 4; pg++) {
		want = wt_seg_stat(&self->w, 0, VOL, (u32)pg, "scl");
		ASSERT_NE(~0ULL, want);
		for (i = 0; i < variant->nkill; i++) {
			int n = variant->kill[i];

			for (tries = 0; tries < 600; tries++) {
				scl = wt_seg_stat(&self->w, n, VOL, (u32)pg, "scl");
				if (scl != ~0ULL && scl >= want)
					break;
				wt_msleep(100);
			}
			TH_LOG("pg %d node %d scl %llu, node 0 scl %llu", pg, n,
			       (unsigned long long)scl,
			       (unsigned long long)want);
			EXPECT_GE(scl, want);
		}
	}
	/* and the writer sees every node live again */
	qbd_vol_stats(self->v, &st);
	EXPECT_EQ((u32)QBD_PG_NODES, st.live_nodes);
	ASSERT_EQ(0, wt_verify(self->v, self->s.model, SPAN));
}

TEST_HARNESS_MAIN
