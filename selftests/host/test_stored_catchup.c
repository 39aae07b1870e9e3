// SPDX-License-Identifier: GPL-2.0
/*
 * Catch-up after a crash while the peers coalesce: six nodes hold one PG;
 * one is SIGKILLed, thousands more records are written to the other five
 * with a low_water that lets them fold those records into their base
 * images. The peers must keep the records the dead node lacks fetchable
 * (retention until every peer's SCL covers them), also across a restart of
 * a peer; the restarted node must reach the peers' SCL by gossip and serve
 * the same data as a peer (and as a model) at the latest read point. Once
 * every node has caught up the peers let the retained records go.
 *
 * And the cap: with --retain-max-mb 1 a peer keeps at most 1 MiB for the
 * absent node, drops the oldest beyond it and answers a PEER_FETCH from
 * below what it still holds with QBD_E_RANGE (that node needs a rebuild).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "stored_util.h"

#define PORT	21190
#define VOL	9ULL
#define NODES	6
#define NBLK	512ULL
#define RBLK	2		/* blocks per record */
#define LAG	8		/* low_water = lsn - LAG */
#define N1	300ULL		/* written to all six */
#define N2	4000ULL		/* written while node 6 is down */
#define N3	100ULL		/* written to all six after its restart */
#define BATCH	64

static uint64_t lba_of(uint64_t lsn)
{
	return (lsn * 7) % (NBLK - RBLK + 1);
}

/*
 * LOG_WRITE lsn from..to (each record linked to the one before) to every
 * fd >= 0, pipelined BATCH at a time; 0 if every ack came back OK.
 */
static int write_range(int *fd, int nfd, uint64_t from, uint64_t to)
{
	uint64_t l, b;
	int i;

	for (b = from; b <= to; b += BATCH) {
		uint64_t e = b + BATCH - 1 < to ? b + BATCH - 1 : to;

		for (l = b; l <= e; l++) {
			uint8_t *rec;
			uint32_t len = sd_record(&rec, l, l - 1, lba_of(l), RBLK,
						 QBD_REC_WRITE, 0, l - 1,
						 l > LAG ? l - LAG : 0);

			for (i = 0; i < nfd; i++)
				if (fd[i] >= 0 &&
				    sd_send(fd[i], QBD_MSG_LOG_WRITE, l, VOL, 1,
					    0, rec, len)) {
					free(rec);
					return -1;
				}
			free(rec);
		}
		for (i = 0; i < nfd; i++) {
			if (fd[i] < 0)
				continue;
			for (l = b; l <= e; l++) {
				struct qbd_hdr_info hi;
				uint8_t *p = NULL;
				int bad;

				if (sd_recv(fd[i], &hi, &p))
					return -1;
				bad = hi.type != QBD_MSG_LOG_ACK || hi.status;
				free(p);
				if (bad)
					return -1;
			}
		}
	}
	return 0;
}

/* poll until the node's coalesced LSN reaches want (bounded) */
static int wait_coalesced(uint16_t port, uint64_t want)
{
	int i;

	for (i = 0; i < 400; i++) {
		uint64_t c = sd_seg_stat(port, VOL, 0, "coalesced_lsn");

		if (c != ~0ULL && c >= want)
			return 0;
		usleep(50000);
	}
	return -1;
}

/* poll until the node retains no coalesced record any more (bounded) */
static int wait_retained(uint16_t port, uint64_t max)
{
	int i;

	for (i = 0; i < 400; i++) {
		if (sd_seg_stat(port, VOL, 0, "retained_records") <= max)
			return 0;
		usleep(50000);
	}
	return -1;
}

/* the expected contents of the PG after `last` records */
static void model(uint8_t *img, uint64_t last)
{
	uint64_t l, k;

	memset(img, 0, NBLK * QBD_BLOCK_SIZE);
	for (l = 1; l <= last; l++)
		for (k = 0; k < RBLK; k++)
			sd_fill(img + (lba_of(l) + k) * QBD_BLOCK_SIZE, l,
				lba_of(l) + k);
}

FIXTURE(six) {
	const char *tmp;
	struct sd_node n[NODES];
	int fd[NODES];
};

FIXTURE_VARIANT(six) {
	const char *extra;
};

/* small log files, so that dropping retained records deletes some */
FIXTURE_VARIANT_ADD(six, retain) {
	.extra = "--log-file-size 1048576",
};

FIXTURE_VARIANT_ADD(six, capped) {
	.extra = "--log-file-size 1048576 --retain-max-mb 1",
};

static bool capped(const FIXTURE_VARIANT(six) *v)
{
	return strstr(v->extra, "--retain-max-mb") != NULL;
}

FIXTURE_SETUP(six)
{
	char peers[512];
	size_t o = 0;
	int i;

	self->tmp = sd_tmpdir("catchup");
	for (i = 0; i < NODES; i++)
		o += snprintf(peers + o, sizeof(peers) - o, "%s%d@127.0.0.1:%d",
			      i ? "," : "", i + 1, PORT + i);
	for (i = 0; i < NODES; i++) {
		sd_node_init(&self->n[i], self->tmp, i + 1, PORT + i);
		snprintf(self->n[i].extra, sizeof(self->n[i].extra), "%s",
			 variant->extra);
		ASSERT_EQ(0, sd_start(&self->n[i]));
		ASSERT_EQ(0, sd_create_seg(PORT + i, VOL, 0, 1, NBLK, 0, peers));
	}
	for (i = 0; i < NODES; i++) {
		self->fd[i] = sd_open(PORT + i, QBD_ROLE_WRITER, VOL, 1);
		ASSERT_LE(0, self->fd[i]);
	}
}

FIXTURE_TEARDOWN(six)
{
	int i;

	for (i = 0; i < NODES; i++) {
		if (self->fd[i] >= 0)
			close(self->fd[i]);
		sd_stop(&self->n[i], SIGKILL);
	}
	if (_metadata->passed)
		sd_rmtree(self->tmp);
}

TEST_F(six, restarted_node_catches_up)
{
	uint8_t *img = malloc(NBLK * QBD_BLOCK_SIZE);
	uint8_t a[64 * QBD_BLOCK_SIZE], b[64 * QBD_BLOCK_SIZE];
	const uint64_t last = N1 + N2 + N3;
	uint64_t lba, scl;
	int i;

	if (capped(variant))
		SKIP(free(img); return, "runs without a cap");
	ASSERT_NE(NULL, img);
	ASSERT_EQ(0, write_range(self->fd, NODES, 1, N1));
	ASSERT_EQ(0, sd_wait_scl(PORT + 5, VOL, 1, 0, N1));

	/* node 6 crashes; the others go on and coalesce past its SCL */
	close(self->fd[5]);
	self->fd[5] = -1;
	sd_stop(&self->n[5], SIGKILL);
	ASSERT_EQ(0, write_range(self->fd, NODES, N1 + 1, N1 + N2));
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, wait_coalesced(PORT + i, N1 + N2 / 2));
	/* they retain what node 6 lacks */
	EXPECT_LE(N2 / 2, sd_seg_stat(PORT, VOL, 0, "retained_records"));
	EXPECT_GE(N1, sd_seg_stat(PORT, VOL, 0, "retained_from"));

	/* a peer restarting meanwhile still holds them for node 6 */
	close(self->fd[0]);
	sd_stop(&self->n[0], SIGKILL);
	ASSERT_EQ(0, sd_start(&self->n[0]));
	self->fd[0] = sd_open(PORT, QBD_ROLE_WRITER, VOL, 1);
	ASSERT_LE(0, self->fd[0]);
	EXPECT_GE(N1, sd_seg_stat(PORT, VOL, 0, "retained_from"));

	/* node 6 comes back and gets new records above its gap */
	ASSERT_EQ(0, sd_start(&self->n[5]));
	self->fd[5] = sd_open(PORT + 5, QBD_ROLE_WRITER, VOL, 1);
	ASSERT_LE(0, self->fd[5]);
	ASSERT_EQ(0, write_range(self->fd, NODES, N1 + N2 + 1, last));
	ASSERT_EQ(0, sd_heartbeat(self->fd[1], VOL, 1, 0, &scl));
	EXPECT_EQ(last, scl);

	/* it catches up by gossip alone */
	ASSERT_EQ(0, sd_wait_scl(PORT + 5, VOL, 1, 0, last));
	EXPECT_LE(N2, sd_counter(PORT + 5, "gossip_records"));
	model(img, last);
	for (lba = 0; lba < NBLK; lba += 64) {
		ASSERT_EQ(0, sd_read(self->fd[5], VOL, 1, 0, lba, 64, last, a,
				     &scl));
		ASSERT_EQ(0, sd_read(self->fd[1], VOL, 1, 0, lba, 64, last, b,
				     &scl));
		EXPECT_EQ(0, memcmp(a, b, sizeof(a)));
		EXPECT_EQ(0, memcmp(a, img + lba * QBD_BLOCK_SIZE, sizeof(a)));
	}
	/* every peer holds everything now: the retained records go */
	for (i = 0; i < 5; i++)
		EXPECT_EQ(0, wait_retained(PORT + i, 0));
	EXPECT_LT(0ULL, sd_counter(PORT + 1, "log_files_deleted"));
	EXPECT_EQ(0ULL, sd_counter(PORT + 1, "retain_capped"));

	/* and what node 6 fetched is durable */
	close(self->fd[5]);
	self->fd[5] = -1;
	sd_stop(&self->n[5], SIGKILL);
	ASSERT_EQ(0, sd_start(&self->n[5]));
	EXPECT_EQ(last, sd_seg_stat(PORT + 5, VOL, 0, "scl"));
	free(img);
}

TEST_F(six, retention_cap)
{
	struct qbd_peer_fetch f = { 0 };
	struct qbd_hdr_info hi;
	uint8_t *p = NULL;
	uint64_t held;
	int fd;

	if (!capped(variant))
		SKIP(return, "needs --retain-max-mb");
	ASSERT_EQ(0, write_range(self->fd, NODES, 1, N1));
	ASSERT_EQ(0, sd_wait_scl(PORT + 5, VOL, 1, 0, N1));
	close(self->fd[5]);
	self->fd[5] = -1;
	sd_stop(&self->n[5], SIGKILL);
	/* 2000 records of 8 KiB: far more than 1 MiB to retain */
	ASSERT_EQ(0, write_range(self->fd, NODES, N1 + 1, N1 + 2000));
	ASSERT_EQ(0, wait_coalesced(PORT, N1 + 1500));
	held = sd_seg_stat(PORT, VOL, 0, "retained_bytes");
	EXPECT_GE(1ULL << 20, held);
	EXPECT_LT(0ULL, sd_counter(PORT, "retain_capped"));
	EXPECT_LT(N1, sd_seg_stat(PORT, VOL, 0, "retained_from"));

	/* node 6's SCL is below what is still held: QBD_E_RANGE */
	fd = sd_open(PORT, QBD_ROLE_PEER, 0, 0);
	ASSERT_LE(0, fd);
	f.from_lsn = qbd_cpu64(N1);
	f.max_bytes = qbd_cpu32(1 << 20);
	ASSERT_EQ(0, sd_send(fd, QBD_MSG_PEER_FETCH, 5, VOL, 1, 0, &f,
			     sizeof(f)));
	ASSERT_EQ(0, sd_recv(fd, &hi, &p));
	EXPECT_EQ((unsigned int)QBD_MSG_ERROR, hi.type);
	EXPECT_EQ((unsigned int)QBD_E_RANGE, hi.status);
	free(p);
	close(fd);
}

TEST_HARNESS_MAIN
