// SPDX-License-Identifier: GPL-2.0
/*
 * Crash recovery and fencing (DESIGN.md invariants 4 and 5).
 *
 * fencing:  a second writer recovers the volume with a newer epoch; the
 *           first writer's next write fails with -EIO ("fenced"), a HELLO
 *           with the old epoch is refused, and the new writer sees every
 *           write the old one completed.
 * truncate: the writer "crashes" (abort close) with writes in flight that
 *           reached only 3 nodes, and a record above a gap sits on two
 *           nodes. The new writer's VCL is >= every VCL the old writer
 *           reported, the record above the gap is truncated on every node
 *           and never served, completed writes are intact, and each
 *           in-flight block reads either its old or its new content.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "qbd_conn.h"
#include "writer_util.h"

#define VOL		13
#define PG_SIZE		(1ULL << 20)
#define SIZE		(2 * PG_SIZE)
#define SPAN		(SIZE / QBD_BLOCK_SIZE)
#define NFLIGHT		16

FIXTURE(rec) {
	struct wt_cluster w;
	struct qbd_geom g;
	struct qbd_vol *a, *b;
	struct wt_stream s;
};

static const struct qbd_writer_opts wopts = {
	.io_timeout_ms = 2000, .dead_timeout_ms = 60000,
};

FIXTURE_SETUP(rec)
{
	ASSERT_EQ(0, wt_cluster_up(&self->w, "wrecover", 24000));
	ASSERT_EQ(0, wt_open(&self->w, &self->g, VOL, SIZE, PG_SIZE, &wopts,
			     &self->a, 1));
	ASSERT_EQ(0, wt_stream_init(&self->s, self->a, SPAN, 8, 3));
}

FIXTURE_TEARDOWN(rec)
{
	if (self->a)
		qbd_writer_close(self->a, 1);
	if (self->b)
		qbd_writer_close(self->b, 1);
	wt_stream_free(&self->s);
	wt_cluster_down(&self->w);
}

TEST_F_TIMEOUT(rec, fencing, 180)
{
	struct qbd_hello_args ha = { .role = QBD_ROLE_WRITER, .volume = VOL };
	struct qbd_vol_stats sa, sb;
	u8 blk[QBD_BLOCK_SIZE];
	char msg[256];
	int fd = -1, r;

	ASSERT_EQ(0ULL, wt_stream_run(&self->s, 100, NULL, NULL));
	qbd_vol_stats(self->a, &sa);
	ASSERT_EQ(0, wt_open(&self->w, &self->g, VOL, SIZE, PG_SIZE, &wopts,
			     &self->b, 0));
	qbd_vol_stats(self->b, &sb);
	EXPECT_GT(sb.epoch, sa.epoch);
	EXPECT_GE(sb.vcl, sa.vcl);

	wt_fill(blk, 1, 999999);
	r = qbd_write(self->a, 1, 1, blk);
	EXPECT_EQ(-EIO, r);
	qbd_vol_error(self->a, msg, sizeof(msg));
	TH_LOG("old writer: %d %s", r, msg);
	EXPECT_NE(NULL, strstr(msg, "fenced"));
	qbd_vol_stats(self->a, &sa);
	EXPECT_EQ(1, sa.fenced);

	/* the old epoch is refused at HELLO too */
	ha.epoch = sa.epoch;
	r = qbd_connect_node(self->w.c.node[0].host, self->w.c.node[0].port,
			     &ha, NULL, 2000, &fd, msg, sizeof(msg));
	EXPECT_EQ(QBD_E_STALE_EPOCH, r);
	TH_LOG("stale HELLO: %s", msg);
	if (!r)
		close(fd);

	/* the new writer has every completed write and can write */
	EXPECT_EQ(0, wt_verify(self->b, self->s.model, SPAN));
	self->s.v = self->b;
	ASSERT_EQ(0ULL, wt_stream_run(&self->s, 50, NULL, NULL));
	EXPECT_EQ(0, wt_verify(self->b, self->s.model, SPAN));
}

struct flight {
	u64 lba, version;
	u8 buf[QBD_BLOCK_SIZE];
};

static void flight_done(void *arg, int result)
{
	(void)arg;
	(void)result;
}

/* a record far above the writer's LSNs (a gap below it) on node i */
static int inject_gap_record(struct wt_cluster *w, int i, u64 epoch,
			     u64 lsn, u64 lba, u64 version)
{
	struct qbd_hello_args ha = {
		.role = QBD_ROLE_WRITER, .volume = VOL, .epoch = epoch,
	};
	struct {
		struct qbd_record r;
		u8 data[QBD_BLOCK_SIZE];
	} m;
	struct qbd_rec_info ri = {
		.lsn = lsn, .prev_lsn = lsn - 1, .lba = lba, .nblocks = 1,
		.kind = QBD_REC_WRITE, .pg = 0, .vcl_hint = 0,
		.data_len = QBD_BLOCK_SIZE,
	};
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
	struct qbd_wire_hdr h;
	struct qbd_msg reply;
	char msg[QBD_ERRLEN];
	int fd, r;

	wt_fill(m.data, lba, version);
	qbd_record_encode(&m.r, &ri, m.data);
	r = qbd_connect_node(w->c.node[i].host, w->c.node[i].port, &ha, NULL,
			     2000, &fd, msg, sizeof(msg));
	if (r)
		return r;
	qbd_msg_init(&reply);
	qbd_hdr_init(&h, QBD_MSG_LOG_WRITE, 1, VOL, epoch, 0);
	r = qbd_rpc(fd, &h, &iov, 1, QBD_MSG_LOG_ACK, &reply, 5000, msg,
		    sizeof(msg));
	qbd_msg_free(&reply);
	close(fd);
	return r;
}

/* LSNs a node holds in (from, to] of PG pg (SCL_QUERY) */
static int held_in(struct wt_cluster *w, int i, u64 epoch, u32 pg, u64 from,
		   u64 to)
{
	struct qbd_hello_args ha = {
		.role = QBD_ROLE_WRITER, .volume = VOL, .epoch = epoch,
	};
	struct qbd_scl_query q = {
		.from_lsn = qbd_cpu64(from), .max_entries = qbd_cpu32(1000),
	};
	struct iovec iov = { .iov_base = &q, .iov_len = sizeof(q) };
	struct qbd_scl_info si;
	struct qbd_wire_hdr h;
	struct qbd_msg m;
	char msg[QBD_ERRLEN];
	int fd, r, n = 0;
	u32 k;

	r = qbd_connect_node(w->c.node[i].host, w->c.node[i].port, &ha, NULL,
			     2000, &fd, msg, sizeof(msg));
	if (r)
		return -1;
	qbd_msg_init(&m);
	qbd_hdr_init(&h, QBD_MSG_SCL_QUERY, 1, VOL, epoch, pg);
	r = qbd_rpc(fd, &h, &iov, 1, QBD_MSG_SCL_REPLY, &m, 5000, msg,
		    sizeof(msg));
	if (!r)
		r = qbd_scl_reply_decode(m.payload, m.hi.payload_len, &si);
	if (r)
		n = -1;
	for (k = 0; !r && k < si.nentries; k++)
		n += qbd_le64(si.entries[k].lsn) <= to;
	qbd_msg_free(&m);
	close(fd);
	return n;
}

TEST_F_TIMEOUT(rec, truncate, 240)
{
	static struct flight fl[NFLIGHT];
	struct qbd_vol_stats sa, sb;
	struct qbd_recovery rec;
	char err[QBD_ERRLEN];
	u64 gap_lsn, lba, old_vcl, model_before[NFLIGHT];
	u8 blk[QBD_BLOCK_SIZE];
	int i, n;

	ASSERT_EQ(0ULL, wt_stream_run(&self->s, 300, NULL, NULL));
	qbd_vol_stats(self->a, &sa);
	old_vcl = sa.vcl;

	/* writes in flight that only nodes 0..2 store */
	for (i = 3; i < 6; i++)
		ASSERT_EQ(0, wt_node_fault(&self->w, i, "refuse_writes=1"));
	for (i = 0; i < NFLIGHT; i++) {
		fl[i].lba = 20 + (u64)i * 7;	/* PG 0, distinct blocks */
		fl[i].version = 500000 + (u64)i;
		model_before[i] = self->s.model[fl[i].lba];
		wt_fill(fl[i].buf, fl[i].lba, fl[i].version);
		ASSERT_EQ(0, qbd_submit_write(self->a, fl[i].lba, 1, fl[i].buf,
					      0, flight_done, NULL));
	}
	for (i = 0; i < 100; i++) {	/* let the records reach nodes 0..2 */
		qbd_vol_stats(self->a, &sa);
		if (sa.records >= 300 + NFLIGHT)
			break;
		wt_msleep(20);
	}
	wt_msleep(200);
	qbd_vol_stats(self->a, &sa);
	if (sa.vcl > old_vcl)
		old_vcl = sa.vcl;
	/* a record above a gap on two nodes: must never be kept */
	gap_lsn = sa.next_lsn + 100;
	lba = 3;
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, inject_gap_record(&self->w, i, sa.epoch, gap_lsn,
					       lba, 777777));
	qbd_writer_close(self->a, 1);	/* the crash */
	self->a = NULL;
	for (i = 3; i < 6; i++)
		ASSERT_EQ(0, wt_node_fault(&self->w, i, "refuse_writes=0"));

	ASSERT_EQ(0, qbd_recover(&self->w.c, &self->g, NULL, &rec, err,
				 sizeof(err)));
	TH_LOG("old VCL %llu, recovered VCL %llu, gap record %llu",
	       (unsigned long long)old_vcl, (unsigned long long)rec.vcl,
	       (unsigned long long)gap_lsn);
	EXPECT_GE(rec.vcl, old_vcl);
	EXPECT_LT(rec.vcl, gap_lsn);
	EXPECT_GT(rec.epoch, sa.epoch);
	for (i = 0; i < 6; i++) {
		n = held_in(&self->w, i, rec.epoch, 0, rec.vcl,
			    rec.next_lsn - 1);
		EXPECT_EQ(0, n) {
			TH_LOG("node %d holds %d records above VCL", i, n);
		}
	}
	qbd_recovery_free(&rec);

	ASSERT_EQ(0, wt_open(&self->w, &self->g, VOL, SIZE, PG_SIZE, &wopts,
			     &self->b, 0));
	qbd_vol_stats(self->b, &sb);
	EXPECT_GE(sb.vcl, old_vcl);
	/* the gap record's data is never served */
	ASSERT_EQ(0, qbd_read(self->b, lba, 1, blk));
	EXPECT_EQ(self->s.model[lba], wt_version(blk, lba));
	/* in-flight blocks: old or new content, nothing else */
	for (i = 0; i < NFLIGHT; i++) {
		u64 ver;

		ASSERT_EQ(0, qbd_read(self->b, fl[i].lba, 1, blk));
		ver = wt_version(blk, fl[i].lba);
		EXPECT_TRUE(ver == model_before[i] || ver == fl[i].version) {
			TH_LOG("block %llu: version %llu", (unsigned long long)fl[i].lba,
			       (unsigned long long)ver);
		}
		self->s.model[fl[i].lba] = ver;
	}
	/* every completed write is intact */
	EXPECT_EQ(0, wt_verify(self->b, self->s.model, SPAN));
}

TEST_HARNESS_MAIN
