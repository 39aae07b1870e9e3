// SPDX-License-Identifier: GPL-2.0
/*
 * qbd-stored restart: every acknowledged record survives SIGKILL, and a torn
 * tail (a partial record or garbage appended to the last log file) is cut
 * at restart without losing anything before it. After the cut the node
 * appends new records where the good data ends.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "stored_util.h"

#define PORT	21110
#define VOL	7
#define NREC	60ULL

/* lba written by record lsn (1-based); records overlap on purpose */
static uint64_t rec_lba(uint64_t lsn)
{
	return (lsn * 37) % 200;
}

static uint32_t rec_n(uint64_t lsn)
{
	return 1 + lsn % 3;
}

/* expected content of block lba as of read_lsn: newest record covering it */
static uint64_t owner(uint64_t lba, uint64_t read_lsn)
{
	uint64_t l;

	for (l = read_lsn; l >= 1; l--)
		if (lba >= rec_lba(l) && lba < rec_lba(l) + rec_n(l))
			return l;
	return 0;
}

static int check_all(struct __test_metadata *_metadata, int fd,
		     uint64_t read_lsn)
{
	uint8_t buf[4 * QBD_BLOCK_SIZE], want[QBD_BLOCK_SIZE];
	uint64_t lba, scl;

	for (lba = 0; lba < 204; lba += 4) {
		uint32_t i;

		if (sd_read(fd, VOL, 1, 0, lba, 4, read_lsn, buf, &scl))
			return -1;
		for (i = 0; i < 4; i++) {
			uint64_t o = owner(lba + i, read_lsn);

			if (o)
				sd_fill(want, o, lba + i);
			else
				memset(want, 0, sizeof(want));
			if (memcmp(want, buf + i * QBD_BLOCK_SIZE,
				   QBD_BLOCK_SIZE)) {
				TH_LOG("block %lu as of %lu: wrong data",
				       (unsigned long)(lba + i),
				       (unsigned long)read_lsn);
				return -1;
			}
		}
	}
	return 0;
}

static off_t file_size(const char *p)
{
	struct stat sb;

	return stat(p, &sb) ? -1 : sb.st_size;
}

static void append(const char *path, const void *b, size_t n)
{
	int fd = open(path, O_WRONLY | O_APPEND);

	if (fd >= 0) {
		if (write(fd, b, n) != (ssize_t)n)
			perror("append");
		close(fd);
	}
}

FIXTURE(node) {
	const char *tmp;
	struct sd_node n;
	char log[512];
};

FIXTURE_SETUP(node)
{
	self->tmp = sd_tmpdir("restart");
	sd_node_init(&self->n, self->tmp, 1, PORT);
	ASSERT_EQ(0, sd_start(&self->n));
	ASSERT_EQ(0, sd_create_seg(PORT, VOL, 0, 1, 1024, 0, ""));
	snprintf(self->log, sizeof(self->log),
		 "%s/vol-%016x/pg-0/log-00000001.log", self->n.dir, VOL);
}

FIXTURE_TEARDOWN(node)
{
	sd_stop(&self->n, SIGKILL);
	if (_metadata->passed)
		sd_rmtree(self->tmp);
}

static void write_all(struct __test_metadata *_metadata, uint64_t from,
		      uint64_t to)
{
	int fd = sd_open(PORT, QBD_ROLE_WRITER, VOL, 1);
	uint64_t l, scl;

	ASSERT_LE(0, fd);
	for (l = from; l <= to; l++) {
		ASSERT_EQ(0, sd_write(fd, VOL, 1, 0, l, l - 1, rec_lba(l),
				      rec_n(l), 0, &scl));
		ASSERT_EQ(l, scl);
	}
	close(fd);
}

TEST_F(node, sigkill_keeps_acked_and_cuts_partial_record)
{
	uint8_t head[24 + 56 + 300];
	off_t good;
	uint64_t scl;
	int fd, lf;

	write_all(_metadata, 1, NREC);
	sd_stop(&self->n, SIGKILL);
	good = file_size(self->log);
	ASSERT_LT(0, good);
	/* a torn append: the first frame + record header and part of data */
	lf = open(self->log, O_RDONLY);
	ASSERT_LE(0, lf);
	ASSERT_EQ((ssize_t)sizeof(head), pread(lf, head, sizeof(head), 0));
	close(lf);
	append(self->log, head, sizeof(head));
	ASSERT_EQ(0, sd_start(&self->n));
	EXPECT_EQ(good, file_size(self->log));
	fd = sd_open(PORT, QBD_ROLE_WRITER, VOL, 1);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sd_heartbeat(fd, VOL, 1, 0, &scl));
	EXPECT_EQ(NREC, scl);
	EXPECT_EQ(0, check_all(_metadata, fd, NREC));
	EXPECT_EQ(0, check_all(_metadata, fd, NREC / 2));
	close(fd);
	/* appends continue at the cut; they survive another crash */
	write_all(_metadata, NREC + 1, NREC + 5);
	sd_stop(&self->n, SIGKILL);
	ASSERT_EQ(0, sd_start(&self->n));
	fd = sd_open(PORT, QBD_ROLE_WRITER, VOL, 1);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sd_heartbeat(fd, VOL, 1, 0, &scl));
	EXPECT_EQ(NREC + 5, scl);
	EXPECT_EQ(0, check_all(_metadata, fd, NREC + 5));
	close(fd);
}

TEST_F(node, sigkill_cuts_garbage_tail)
{
	uint8_t junk[5000];
	off_t good;
	uint64_t scl;
	int fd;

	write_all(_metadata, 1, NREC);
	sd_stop(&self->n, SIGKILL);
	good = file_size(self->log);
	memset(junk, 0xA5, sizeof(junk));
	junk[0] = 'Q';
	append(self->log, junk, sizeof(junk));
	ASSERT_EQ(0, sd_start(&self->n));
	EXPECT_EQ(good, file_size(self->log));
	fd = sd_open(PORT, QBD_ROLE_WRITER, VOL, 1);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sd_heartbeat(fd, VOL, 1, 0, &scl));
	EXPECT_EQ(NREC, scl);
	EXPECT_EQ(0, check_all(_metadata, fd, NREC));
	close(fd);
}

TEST_F(node, sigterm_is_clean_and_restart_keeps_everything)
{
	uint64_t scl;
	int fd, st;

	write_all(_metadata, 1, NREC);
	st = sd_stop(&self->n, SIGTERM);
	EXPECT_TRUE(WIFEXITED(st));
	EXPECT_EQ(0, WEXITSTATUS(st));
	ASSERT_EQ(0, sd_start(&self->n));
	fd = sd_open(PORT, QBD_ROLE_WRITER, VOL, 1);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sd_heartbeat(fd, VOL, 1, 0, &scl));
	EXPECT_EQ(NREC, scl);
	EXPECT_EQ(0, check_all(_metadata, fd, NREC));
	/* an acknowledged LSN written again is acknowledged again */
	ASSERT_EQ(0, sd_write(fd, VOL, 1, 0, 5, 4, rec_lba(5), rec_n(5), 0,
			      &scl));
	EXPECT_EQ(NREC, scl);
	close(fd);
}

TEST_HARNESS_MAIN
