// SPDX-License-Identifier: GPL-2.0
/*
 * TRUNCATE removes a range of LSNs for good: the records are never served,
 * never counted in the SCL, refused when sent again, and all of that holds
 * after a SIGKILL and restart (the range is in the segment metadata).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "stored_util.h"

#define PORT	21120
#define VOL	11ULL

static int truncate_rpc(int fd, uint64_t epoch, uint64_t start, uint64_t end)
{
	struct qbd_truncate t = { .start = qbd_cpu64(start),
				  .end = qbd_cpu64(end) };
	struct qbd_hdr_info hi;
	uint8_t *p;
	int st;

	if (sd_send(fd, QBD_MSG_TRUNCATE, 3, VOL, epoch, 0, &t, sizeof(t)) ||
	    sd_recv(fd, &hi, &p))
		return -1;
	st = hi.type == QBD_MSG_TRUNCATE_OK ? 0 : (int)hi.status;
	free(p);
	return st;
}

/* block b (0..9) is written by lsn b+1 and lsn b+11; lsn 101 rewrites 3 */
static void expect_blocks(struct __test_metadata *_metadata, int fd,
			  uint64_t epoch)
{
	uint8_t buf[10 * QBD_BLOCK_SIZE], want[QBD_BLOCK_SIZE];
	uint64_t scl;
	int b;

	ASSERT_EQ(0, sd_read(fd, VOL, epoch, 0, 0, 10, 101, buf, &scl));
	for (b = 0; b < 10; b++) {
		sd_fill(want, b == 3 ? 101 : b + 1, b);
		EXPECT_EQ(0, memcmp(want, buf + b * QBD_BLOCK_SIZE,
				    QBD_BLOCK_SIZE));
	}
}

static void check_scl_reply(struct __test_metadata *_metadata, int fd,
			    uint64_t epoch)
{
	struct qbd_scl_query q = { .from_lsn = 0,
				   .max_entries = qbd_cpu32(100) };
	struct qbd_scl_info si;
	struct qbd_hdr_info hi;
	uint8_t *p;
	uint32_t i;

	ASSERT_EQ(0, sd_send(fd, QBD_MSG_SCL_QUERY, 4, VOL, epoch, 0, &q,
			     sizeof(q)));
	ASSERT_EQ(0, sd_recv(fd, &hi, &p));
	ASSERT_EQ((uint16_t)QBD_MSG_SCL_REPLY, hi.type);
	ASSERT_EQ(0, qbd_scl_reply_decode(p, hi.payload_len, &si));
	EXPECT_EQ(101ULL, si.scl);
	EXPECT_EQ(101ULL, si.max_lsn);
	EXPECT_EQ(10ULL, si.trunc_start);
	EXPECT_EQ(100ULL, si.trunc_end);
	EXPECT_EQ(2ULL, si.epoch);
	EXPECT_EQ(11U, si.nentries);
	for (i = 0; i < si.nentries; i++) {
		uint64_t lsn = qbd_le64(si.entries[i].lsn);

		EXPECT_TRUE(lsn <= 10 || lsn == 101);
	}
	free(p);
}

TEST(truncate_is_durable)
{
	const char *tmp = sd_tmpdir("truncate");
	struct sd_node n;
	uint64_t l, scl;
	int w1, rec;

	sd_node_init(&n, tmp, 1, PORT);
	ASSERT_EQ(0, sd_start(&n));
	ASSERT_EQ(0, sd_create_seg(PORT, VOL, 0, 1, 256, 0, ""));
	w1 = sd_open(PORT, QBD_ROLE_WRITER, VOL, 1);
	ASSERT_LE(0, w1);
	for (l = 1; l <= 20; l++)
		ASSERT_EQ(0, sd_write(w1, VOL, 1, 0, l, l - 1, (l - 1) % 10, 1,
				      0, &scl));
	EXPECT_EQ(20ULL, scl);

	/* a recovering writer (epoch 2) cuts (10, 100] */
	rec = sd_open(PORT, QBD_ROLE_RECOVERY, VOL, 2);
	ASSERT_LE(0, rec);
	ASSERT_EQ(0, truncate_rpc(rec, 2, 10, 100));
	ASSERT_EQ(0, sd_heartbeat(rec, VOL, 2, 0, &scl));
	EXPECT_EQ(10ULL, scl);
	/* the old writer is fenced */
	EXPECT_EQ(QBD_E_STALE_EPOCH,
		  sd_write(w1, VOL, 1, 0, 21, 20, 0, 1, 0, &scl));
	close(w1);
	/* records in the range are refused, new ones chain to lsn 10 */
	EXPECT_EQ(QBD_E_TRUNCATED,
		  sd_write(rec, VOL, 2, 0, 15, 14, 4, 1, 0, &scl));
	ASSERT_EQ(0, sd_write(rec, VOL, 2, 0, 101, 10, 3, 1, 0, &scl));
	EXPECT_EQ(101ULL, scl);
	expect_blocks(_metadata, rec, 2);
	check_scl_reply(_metadata, rec, 2);
	close(rec);

	sd_stop(&n, SIGKILL);
	ASSERT_EQ(0, sd_start(&n));
	rec = sd_open(PORT, QBD_ROLE_WRITER, VOL, 2);
	ASSERT_LE(0, rec);
	ASSERT_EQ(0, sd_heartbeat(rec, VOL, 2, 0, &scl));
	EXPECT_EQ(101ULL, scl);
	expect_blocks(_metadata, rec, 2);
	check_scl_reply(_metadata, rec, 2);
	EXPECT_EQ(QBD_E_TRUNCATED,
		  sd_write(rec, VOL, 2, 0, 12, 11, 1, 1, 0, &scl));
	close(rec);
	EXPECT_EQ(-1, sd_open(PORT, QBD_ROLE_WRITER, VOL, 1));
	sd_stop(&n, SIGKILL);
	sd_rmtree(tmp);
}

TEST_HARNESS_MAIN
