// SPDX-License-Identifier: GPL-2.0
/*
 * Coalescing under load keeps every version a read point can need: while
 * records keep arriving with an advancing low_water, the node folds old
 * records into its base image and deletes log files, and reads at every
 * read point >= low_water (old ones included) still return exactly the
 * data a model computes. Also after a crash, and for DISCARD records.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "stored_util.h"

#define PORT	21170
#define VOL	21ULL
#define NREC	600
#define KEEP	25	/* read points kept behind the newest record */
#define NBLK	16

struct mrec {
	uint64_t lba;
	uint32_t n;
	uint16_t kind;
};
static struct mrec model[NREC + 1];

static void expected(uint8_t *blk, uint64_t lba, uint64_t rp)
{
	uint64_t l;

	for (l = rp; l >= 1; l--)
		if (lba >= model[l].lba && lba < model[l].lba + model[l].n) {
			if (model[l].kind == QBD_REC_WRITE)
				sd_fill(blk, l, lba);
			else
				memset(blk, 0, QBD_BLOCK_SIZE);
			return;
		}
	memset(blk, 0, QBD_BLOCK_SIZE);
}

static int put(int fd, uint64_t l, uint64_t low_water)
{
	struct qbd_hdr_info hi;
	uint8_t *rec, *p;
	uint32_t len;
	int st;

	/* every 7th record discards two blocks, the rest write one or two */
	model[l].kind = l % 7 ? QBD_REC_WRITE : QBD_REC_DISCARD;
	model[l].n = 1 + (l % 5 == 0);
	model[l].lba = (l * 3) % (NBLK - 1);
	len = sd_record(&rec, l, l - 1, model[l].lba, model[l].n,
			model[l].kind, 0, l - 1, low_water);
	st = sd_send(fd, QBD_MSG_LOG_WRITE, l, VOL, 1, 0, rec, len);
	free(rec);
	if (st || sd_recv(fd, &hi, &p))
		return -1;
	free(p);
	return hi.type == QBD_MSG_LOG_ACK ? 0 : (int)hi.status;
}

static int check(struct __test_metadata *_metadata, int fd, uint64_t rp)
{
	uint8_t buf[NBLK * QBD_BLOCK_SIZE], want[QBD_BLOCK_SIZE];
	uint64_t scl;
	int b, st = sd_read(fd, VOL, 1, 0, 0, NBLK, rp, buf, &scl);

	if (st) {
		TH_LOG("read as of %lu: status %d", (unsigned long)rp, st);
		return st;
	}
	for (b = 0; b < NBLK; b++) {
		expected(want, b, rp);
		if (memcmp(want, buf + b * QBD_BLOCK_SIZE, QBD_BLOCK_SIZE)) {
			TH_LOG("block %d as of %lu: wrong data", b,
			       (unsigned long)rp);
			return -1;
		}
	}
	return 0;
}

static uint64_t low_water_of(uint64_t l)
{
	return l > KEEP ? l - KEEP : 0;
}

static void msleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

TEST(coalescing_keeps_needed_versions)
{
	const char *tmp = sd_tmpdir("coalesce");
	uint64_t l, rp, co = 0;
	struct sd_node n;
	int fd, i;

	sd_node_init(&n, tmp, 1, PORT);
	snprintf(n.extra, sizeof(n.extra), "--log-file-size 32768");
	ASSERT_EQ(0, sd_start(&n));
	ASSERT_EQ(0, sd_create_seg(PORT, VOL, 0, 1, NBLK, 0, ""));
	fd = sd_open(PORT, QBD_ROLE_WRITER, VOL, 1);
	ASSERT_LE(0, fd);
	for (l = 1; l <= NREC; l++) {
		ASSERT_EQ(0, put(fd, l, low_water_of(l)));
		if (l % 40)
			continue;
		/* every read point the writer may still use */
		for (rp = low_water_of(l); rp <= l; rp += 4)
			ASSERT_EQ(0, check(_metadata, fd, rp ? rp : 1));
	}
	/* coalescing catches up to the low water mark (bounded wait) */
	for (i = 0; i < 400; i++) {
		co = sd_seg_stat(PORT, VOL, 0, "coalesced_lsn");
		if (co == low_water_of(NREC))
			break;
		msleep(25);
	}
	ASSERT_EQ(low_water_of(NREC), co);
	EXPECT_LT(0ULL, sd_counter(PORT, "log_files_deleted"));
	EXPECT_GT(40ULL, sd_seg_stat(PORT, VOL, 0, "records"));
	for (rp = low_water_of(NREC); rp <= NREC; rp++)
		ASSERT_EQ(0, check(_metadata, fd, rp));
	/* below the coalesced point: refused, never wrong data */
	{
		uint8_t buf[QBD_BLOCK_SIZE];
		uint64_t scl;

		EXPECT_EQ(QBD_E_RANGE, sd_read(fd, VOL, 1, 0, 0, 1, co - 1,
					       buf, &scl));
	}
	close(fd);
	/* after a crash the base image + log still give the same answers */
	sd_stop(&n, SIGKILL);
	ASSERT_EQ(0, sd_start(&n));
	fd = sd_open(PORT, QBD_ROLE_WRITER, VOL, 1);
	ASSERT_LE(0, fd);
	EXPECT_EQ((uint64_t)NREC, sd_seg_stat(PORT, VOL, 0, "scl"));
	EXPECT_EQ(co, sd_seg_stat(PORT, VOL, 0, "coalesced_lsn"));
	for (rp = low_water_of(NREC); rp <= NREC; rp++)
		ASSERT_EQ(0, check(_metadata, fd, rp));
	close(fd);
	sd_stop(&n, SIGKILL);
	if (_metadata->passed)
		sd_rmtree(tmp);
}

TEST_HARNESS_MAIN
