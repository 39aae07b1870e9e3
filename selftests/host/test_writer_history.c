// SPDX-License-Identifier: GPL-2.0
/*
 * Read semantics (DESIGN.md invariants 3 and 7).
 *
 * history:  concurrent random writes and reads of a few hot blocks, with a
 *           node killed and restarted in the middle. Every operation gets
 *           an issue and a completion tick of one logical clock; afterwards
 *           each block of each read must be the newest write completed
 *           before the read was issued, or a newer write issued before the
 *           read completed (concurrent with it) - nothing older, nothing
 *           never written. Writes complete in issue order (prefix rule).
 * failover: a read whose chosen node dies while serving it is retried on
 *           another node and returns the right data; reads from nodes that
 *           corrupt their replies are detected by CRC and served elsewhere.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "kselftest_harness.h"
#include "writer_util.h"

#define VOL		14
#define PG_SIZE		(128ULL << 10)		/* 32 blocks per PG */
#define SIZE		(2 * PG_SIZE)
#define SPAN		(SIZE / QBD_BLOCK_SIZE)	/* 64 hot blocks */
#define NOPS		3000
#define QD		16
#define MAXB		4

struct op {
	int is_write;
	u64 lba;
	u32 n;
	u64 issue, done;
	u64 version;			/* writes */
	int result;
	u8 buf[MAXB * QBD_BLOCK_SIZE];
};

struct hist {
	pthread_mutex_t m;
	pthread_cond_t c;
	u64 clock;
	int inflight;
	struct op *ops;
};

FIXTURE(hist) {
	struct wt_cluster w;
	struct qbd_vol *v;
};

FIXTURE_SETUP(hist)
{
	struct qbd_writer_opts o = { .io_timeout_ms = 5000,
				     .dead_timeout_ms = 60000 };
	struct qbd_geom g;

	ASSERT_EQ(0, wt_cluster_up(&self->w, "whist", 24500));
	ASSERT_EQ(0, wt_open(&self->w, &g, VOL, SIZE, PG_SIZE, &o, &self->v, 1));
}

FIXTURE_TEARDOWN(hist)
{
	if (self->v)
		qbd_writer_close(self->v, 1);
	wt_cluster_down(&self->w);
}

static struct hist H;

static void op_done(void *arg, int result)
{
	struct op *o = arg;

	pthread_mutex_lock(&H.m);
	o->done = ++H.clock;
	o->result = result;
	H.inflight--;
	pthread_cond_signal(&H.c);
	pthread_mutex_unlock(&H.m);
}

/* versions a read of block lba may return */
static int read_ok(const struct op *ops, int nops, const struct op *rd,
		   u64 lba, u64 got)
{
	u64 w0_issue = 0, w0_ver = 0;
	int i;

	for (i = 0; i < nops; i++) {
		const struct op *w = &ops[i];

		if (!w->is_write || lba < w->lba || lba >= w->lba + w->n)
			continue;
		if (w->done < rd->issue && w->issue > w0_issue) {
			w0_issue = w->issue;
			w0_ver = w->version;
		}
	}
	if (got == w0_ver)
		return 1;
	for (i = 0; i < nops; i++) {
		const struct op *w = &ops[i];

		if (!w->is_write || lba < w->lba || lba >= w->lba + w->n)
			continue;
		if (w->version == got && w->issue > w0_issue &&
		    w->issue < rd->done)
			return 1;
	}
	return 0;
}

TEST_F_TIMEOUT(hist, history, 300)
{
	u64 seed = 12345, bad = 0, nreads = 0;
	int i, k;

	memset(&H, 0, sizeof(H));
	pthread_mutex_init(&H.m, NULL);
	pthread_cond_init(&H.c, NULL);
	H.ops = calloc(NOPS, sizeof(struct op));
	ASSERT_NE(NULL, H.ops);
	for (i = 0; i < NOPS; i++) {
		struct op *o = &H.ops[i];
		int r;

		if (i == NOPS / 3)
			ASSERT_EQ(0, wt_node_kill(&self->w, 2));
		if (i == 2 * NOPS / 3)
			ASSERT_EQ(0, wt_node_start(&self->w, 2));
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		o->is_write = (seed >> 33) % 2;
		o->n = 1 + (u32)((seed >> 40) % MAXB);
		o->lba = (seed >> 20) % (SPAN - o->n + 1);
		pthread_mutex_lock(&H.m);
		while (H.inflight >= QD)
			pthread_cond_wait(&H.c, &H.m);
		H.inflight++;
		o->issue = ++H.clock;
		if (o->is_write) {
			o->version = (u64)i + 1;
			for (k = 0; k < (int)o->n; k++)
				wt_fill(o->buf + k * QBD_BLOCK_SIZE,
					o->lba + (u64)k, o->version);
		}
		pthread_mutex_unlock(&H.m);
		r = o->is_write ?
			qbd_submit_write(self->v, o->lba, o->n, o->buf, 0, op_done, o) :
			qbd_submit_read(self->v, o->lba, o->n, o->buf, op_done, o);
		ASSERT_EQ(0, r);
	}
	pthread_mutex_lock(&H.m);
	while (H.inflight)
		pthread_cond_wait(&H.c, &H.m);
	pthread_mutex_unlock(&H.m);

	for (i = 0; i < NOPS; i++) {
		struct op *o = &H.ops[i];

		ASSERT_EQ(0, o->result);
		if (o->is_write)
			continue;
		nreads++;
		for (k = 0; k < (int)o->n; k++) {
			u64 lba = o->lba + (u64)k;
			u64 got = wt_version(o->buf + k * QBD_BLOCK_SIZE, lba);

			if (!read_ok(H.ops, NOPS, o, lba, got)) {
				if (bad++ < 5)
					TH_LOG("read op %d (issue %llu done %llu) block %llu: version %lld not allowed",
					       i, (unsigned long long)o->issue,
					       (unsigned long long)o->done,
					       (unsigned long long)lba, (long long)got);
			}
		}
	}
	TH_LOG("%llu reads checked", (unsigned long long)nreads);
	EXPECT_EQ(0ULL, bad);
	free(H.ops);
}

TEST_F_TIMEOUT(hist, failover, 240)
{
	u8 buf[SPAN * QBD_BLOCK_SIZE], want[QBD_BLOCK_SIZE];
	struct qbd_vol_stats st, st0;
	struct op rd;
	int i, victim = -1, tries;
	u64 lba;

	for (lba = 0; lba < SPAN; lba++) {
		wt_fill(buf + lba * QBD_BLOCK_SIZE, lba, lba + 1);
	}
	ASSERT_EQ(0, qbd_write(self->v, 0, SPAN, buf));

	/* 1: slow down the node reads go to, kill it while it serves one */
	memset(&H, 0, sizeof(H));
	pthread_mutex_init(&H.m, NULL);
	pthread_cond_init(&H.c, NULL);
	for (i = 0; i < 24; i++)	/* measure every node's latency */
		ASSERT_EQ(0, qbd_read(self->v, (u64)i, 1, want));
	for (tries = 0; tries < 10 && victim < 0; tries++) {
		int probe = -1, got = -1;

		qbd_vol_stats(self->v, &st0);
		ASSERT_EQ(0, qbd_read(self->v, 0, 1, want));
		qbd_vol_stats(self->v, &st);
		for (i = 0; i < 6; i++)
			if (st.node[i].reads > st0.node[i].reads)
				probe = i;
		ASSERT_LE(0, probe);
		ASSERT_EQ(0, wt_node_fault(&self->w, probe, "delay_us=500000"));
		qbd_vol_stats(self->v, &st0);
		memset(&rd, 0, sizeof(rd));
		H.inflight = 1;
		ASSERT_EQ(0, qbd_submit_read(self->v, 8, 4, rd.buf, op_done, &rd));
		for (i = 0; i < 1000 && got < 0; i++) {
			int k;

			qbd_vol_stats(self->v, &st);
			for (k = 0; k < 6; k++)
				if (st.node[k].reads > st0.node[k].reads)
					got = k;
			if (got < 0)
				wt_msleep(2);
		}
		if (got == probe) {
			victim = probe;
			ASSERT_EQ(0, wt_node_kill(&self->w, victim));
		}
		pthread_mutex_lock(&H.m);
		while (H.inflight)
			pthread_cond_wait(&H.c, &H.m);
		pthread_mutex_unlock(&H.m);
		if (victim < 0)
			ASSERT_EQ(0, wt_node_fault(&self->w, probe, "delay_us=0"));
	}
	ASSERT_LE(0, victim);
	ASSERT_EQ(0, rd.result);
	for (i = 0; i < 4; i++)
		EXPECT_EQ((u64)(8 + i + 1),
			  wt_version(rd.buf + i * QBD_BLOCK_SIZE, 8 + (u64)i));
	qbd_vol_stats(self->v, &st);
	TH_LOG("read went to node %d first; retries %llu", victim,
	       (unsigned long long)st.read_retries);
	EXPECT_GT(st.read_retries, st0.read_retries);
	ASSERT_EQ(0, wt_node_start(&self->w, victim));

	/* 2: five nodes corrupt what they read; the CRC catches it */
	for (tries = 0; tries < 600; tries++) {
		qbd_vol_stats(self->v, &st);
		if (st.live_nodes == 6)
			break;
		wt_msleep(50);
	}
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, wt_node_fault(&self->w, i, "corrupt_reads=1"));
	for (lba = 0; lba < SPAN; lba += 4) {
		ASSERT_EQ(0, qbd_read(self->v, lba, 4, buf));
		for (i = 0; i < 4; i++) {
			wt_fill(want, lba + (u64)i, lba + (u64)i + 1);
			EXPECT_EQ(0, memcmp(buf + i * QBD_BLOCK_SIZE, want,
					    QBD_BLOCK_SIZE));
		}
	}
}

TEST_HARNESS_MAIN
