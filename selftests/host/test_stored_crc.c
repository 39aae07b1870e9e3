// SPDX-License-Identifier: GPL-2.0
/*
 * A bit flipped in a log file is detected (by the read that needs it, at
 * restart, and by scrub), never served, and repaired from a peer: reads
 * answer either the right data or QBD_E_CRC, and once gossip repaired the
 * record the node serves the right data again.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "stored_util.h"

#define PORT	21150
#define VOL	5ULL
#define NREC	30ULL

/* record lsn writes 2 blocks at 2*(lsn-1): every record has its own blocks */
static uint64_t rec_lba(uint64_t lsn)
{
	return 2 * (lsn - 1);
}

/* flip one data bit of record lsn in node's first log file */
static int flip_bit(const char *nodedir, uint64_t lsn)
{
	char path[512];
	uint8_t fr[24], b;
	off_t off = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/vol-%016llx/pg-0/log-00000001.log",
		 nodedir, (unsigned long long)VOL);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return -1;
	while (pread(fd, fr, sizeof(fr), off) == sizeof(fr)) {
		uint32_t len;
		uint64_t l;

		memcpy(&len, fr + 4, 4);
		memcpy(&l, fr + 8, 8);
		if (l == lsn) {
			off_t at = off + 24 + QBD_RECORD_SIZE + 1000;

			if (pread(fd, &b, 1, at) != 1)
				break;
			b ^= 0x10;
			if (pwrite(fd, &b, 1, at) != 1)
				break;
			close(fd);
			return 0;
		}
		off += 24 + len;
	}
	close(fd);
	return -1;
}

static void msleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* read record lsn's blocks: right data or QBD_E_CRC, never wrong data */
static int read_rec(struct __test_metadata *_metadata, int fd, uint64_t lsn)
{
	uint8_t buf[2 * QBD_BLOCK_SIZE], want[QBD_BLOCK_SIZE];
	uint64_t scl;
	int st, i;

	st = sd_read(fd, VOL, 1, 0, rec_lba(lsn), 2, NREC, buf, &scl);
	if (st == QBD_E_NOT_YET)
		return st;	/* the bad record took the SCL down */
	if (st)
		return st;
	for (i = 0; i < 2; i++) {
		sd_fill(want, lsn, rec_lba(lsn) + i);
		EXPECT_EQ(0, memcmp(want, buf + i * QBD_BLOCK_SIZE,
				    QBD_BLOCK_SIZE));
	}
	return 0;
}

/* poll until the node serves record lsn correctly again (bounded) */
static int wait_repaired(struct __test_metadata *_metadata, int fd,
			 uint64_t lsn)
{
	int i;

	for (i = 0; i < 400; i++) {
		int st = read_rec(_metadata, fd, lsn);

		if (!st)
			return 0;
		if (st != QBD_E_CRC && st != QBD_E_NOT_YET)
			return st;
		msleep(25);
	}
	return -1;
}

FIXTURE(trio) {
	const char *tmp;
	struct sd_node n[3];
	int fd;
};

FIXTURE_SETUP(trio)
{
	char peers[256];
	uint64_t l, scl;
	int i, fd;

	self->tmp = sd_tmpdir("crc");
	snprintf(peers, sizeof(peers),
		 "1@127.0.0.1:%d,2@127.0.0.1:%d,3@127.0.0.1:%d",
		 PORT, PORT + 1, PORT + 2);
	for (i = 0; i < 3; i++) {
		sd_node_init(&self->n[i], self->tmp, i + 1, PORT + i);
		ASSERT_EQ(0, sd_start(&self->n[i]));
		ASSERT_EQ(0, sd_create_seg(PORT + i, VOL, 0, 1, 256, 0, peers));
		fd = sd_open(PORT + i, QBD_ROLE_WRITER, VOL, 1);
		ASSERT_LE(0, fd);
		for (l = 1; l <= NREC; l++)
			ASSERT_EQ(0, sd_write(fd, VOL, 1, 0, l, l - 1,
					      rec_lba(l), 2, 0, &scl));
		close(fd);
	}
	self->fd = sd_open(PORT, QBD_ROLE_WRITER, VOL, 1);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(trio)
{
	int i;

	close(self->fd);
	for (i = 0; i < 3; i++)
		sd_stop(&self->n[i], SIGKILL);
	if (_metadata->passed)
		sd_rmtree(self->tmp);
}

TEST_F(trio, detected_on_read_and_repaired)
{
	int st;

	ASSERT_EQ(0, read_rec(_metadata, self->fd, 7));
	ASSERT_EQ(0, flip_bit(self->n[0].dir, 7));
	st = read_rec(_metadata, self->fd, 7);
	EXPECT_TRUE(st == QBD_E_CRC || st == 0);
	ASSERT_EQ(0, wait_repaired(_metadata, self->fd, 7));
	EXPECT_LE(1ULL, sd_counter(PORT, "crc_errors"));
	EXPECT_LE(1ULL, sd_counter(PORT, "repairs"));
	EXPECT_EQ(NREC, sd_seg_stat(PORT, VOL, 0, "scl"));
	/* the repaired copy is durable */
	close(self->fd);
	sd_stop(&self->n[0], SIGKILL);
	ASSERT_EQ(0, sd_start(&self->n[0]));
	self->fd = sd_open(PORT, QBD_ROLE_WRITER, VOL, 1);
	ASSERT_LE(0, self->fd);
	EXPECT_EQ(0, read_rec(_metadata, self->fd, 7));
	EXPECT_EQ(NREC, sd_seg_stat(PORT, VOL, 0, "scl"));
}

TEST_F(trio, detected_at_restart_and_repaired)
{
	close(self->fd);
	sd_stop(&self->n[0], SIGKILL);
	ASSERT_EQ(0, flip_bit(self->n[0].dir, 12));
	ASSERT_EQ(0, sd_start(&self->n[0]));
	self->fd = sd_open(PORT, QBD_ROLE_WRITER, VOL, 1);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, wait_repaired(_metadata, self->fd, 12));
	EXPECT_LE(1ULL, sd_counter(PORT, "crc_errors"));
	EXPECT_EQ(0, read_rec(_metadata, self->fd, 13));
}

TEST_F(trio, detected_by_scrub_and_repaired)
{
	char *json = NULL;
	int i;

	ASSERT_EQ(0, flip_bit(self->n[1].dir, 20));
	ASSERT_EQ(0, sd_admin(PORT + 1, QBD_ADMIN_SCRUB, "", &json));
	ASSERT_NE(NULL, json);
	EXPECT_NE(NULL, strstr(json, "\"bad\":1"));
	free(json);
	/* repaired without any read: scrub again until clean */
	for (i = 0; i < 400; i++) {
		ASSERT_EQ(0, sd_admin(PORT + 1, QBD_ADMIN_SCRUB, "", &json));
		if (strstr(json, "\"bad\":0") &&
		    sd_seg_stat(PORT + 1, VOL, 0, "scl") == NREC) {
			free(json);
			break;
		}
		free(json);
		msleep(25);
	}
	EXPECT_GT(400, i);
	close(self->fd);
	self->fd = sd_open(PORT + 1, QBD_ROLE_WRITER, VOL, 1);
	ASSERT_LE(0, self->fd);
	EXPECT_EQ(0, read_rec(_metadata, self->fd, 20));
}

TEST_HARNESS_MAIN
