// SPDX-License-Identifier: GPL-2.0
/*
 * Losing quorum (DESIGN.md invariant 6): with three of six nodes down,
 * writes cannot become durable; they wait and fail with -EIO and a clear
 * message after the dead timeout, no acknowledged write is lost and reads
 * keep working from the three survivors. When one node returns, the writer
 * reconnects by itself and writes complete again.
 */
#include <errno.h>
#include <string.h>
#include "kselftest_harness.h"
#include "writer_util.h"

#define VOL		12
#define PG_SIZE		(1ULL << 20)
#define SIZE		(2 * PG_SIZE)
#define SPAN		(SIZE / QBD_BLOCK_SIZE)

FIXTURE(blocked) {
	struct wt_cluster w;
	struct qbd_vol *v;
	struct wt_stream s;
};

FIXTURE_SETUP(blocked)
{
	struct qbd_writer_opts o = { .io_timeout_ms = 2000,
				     .dead_timeout_ms = 3000 };
	struct qbd_geom g;

	ASSERT_EQ(0, wt_cluster_up(&self->w, "wblocked", 23500));
	ASSERT_EQ(0, wt_open(&self->w, &g, VOL, SIZE, PG_SIZE, &o, &self->v, 1));
	ASSERT_EQ(0, wt_stream_init(&self->s, self->v, SPAN, 8, 7));
}

FIXTURE_TEARDOWN(blocked)
{
	if (self->v)
		qbd_writer_close(self->v, 1);
	wt_stream_free(&self->s);
	wt_cluster_down(&self->w);
}

TEST_F_TIMEOUT(blocked, three_down, 240)
{
	u8 blk[QBD_BLOCK_SIZE];
	struct qbd_vol_stats st;
	char msg[256];
	int i, r, tries;

	ASSERT_EQ(0ULL, wt_stream_run(&self->s, 200, NULL, NULL));
	/* an AZ (nodes 0, 1) plus one more */
	ASSERT_EQ(0, wt_node_kill(&self->w, 0));
	ASSERT_EQ(0, wt_node_kill(&self->w, 1));
	ASSERT_EQ(0, wt_node_kill(&self->w, 3));

	wt_fill(blk, 5, 1000000);
	r = qbd_write(self->v, 5, 1, blk);
	EXPECT_EQ(-EIO, r);
	qbd_vol_error(self->v, msg, sizeof(msg));
	TH_LOG("write with 3 nodes down: %d: %s", r, msg);
	EXPECT_NE(NULL, strstr(msg, "live segments"));
	/* acknowledged writes are intact and readable from 3 survivors */
	EXPECT_EQ(0, wt_verify(self->v, self->s.model, SPAN));

	/* one node returns: the writer reconnects and writes resume */
	ASSERT_EQ(0, wt_node_start(&self->w, 3));
	for (tries = 0; tries < 600; tries++) {
		qbd_vol_stats(self->v, &st);
		if (st.live_nodes == 4)
			break;
		wt_msleep(50);
	}
	ASSERT_EQ(4u, st.live_nodes);
	ASSERT_EQ(0ULL, wt_stream_run(&self->s, 100, NULL, NULL));
	EXPECT_EQ(0, wt_verify(self->v, self->s.model, SPAN));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, wt_node_start(&self->w, i));
}

TEST_HARNESS_MAIN
