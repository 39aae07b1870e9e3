// SPDX-License-Identifier: GPL-2.0
/*
 * ADMIN: STATUS reports the node and its segments as JSON, FAULT injects
 * refused writes, corrupt reads and dropped connections (and turns them
 * off again), SEGMENT_DROP removes a segment, SEGMENT_CREATE is idempotent,
 * and HELLO READER is never refused for its epoch but reports the node's.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "stored_util.h"

#define PORT	21180
#define VOL	31ULL

FIXTURE(node) {
	const char *tmp;
	struct sd_node n;
	int fd;
};

FIXTURE_SETUP(node)
{
	self->tmp = sd_tmpdir("admin");
	sd_node_init(&self->n, self->tmp, 4, PORT);
	ASSERT_EQ(0, sd_start(&self->n));
	ASSERT_EQ(0, sd_create_seg(PORT, VOL, 2, 3, 64, 128, ""));
	self->fd = sd_open(PORT, QBD_ROLE_WRITER, VOL, 3);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(node)
{
	close(self->fd);
	sd_stop(&self->n, SIGKILL);
	if (_metadata->passed)
		sd_rmtree(self->tmp);
}

TEST_F(node, status_json)
{
	char *json = NULL;
	uint64_t scl;

	ASSERT_EQ(0, sd_write(self->fd, VOL, 3, 2, 1, 0, 130, 2, 0, &scl));
	ASSERT_EQ(0, sd_admin(PORT, QBD_ADMIN_STATUS, "", &json));
	ASSERT_NE(NULL, json);
	EXPECT_NE(NULL, strstr(json, "\"node_id\":4"));
	EXPECT_NE(NULL, strstr(json, "\"az\":\"az2\""));
	EXPECT_NE(NULL, strstr(json, "\"counters\":{\"records\":1,"));
	EXPECT_NE(NULL, strstr(json, "\"fsyncs\":"));
	EXPECT_NE(NULL, strstr(json, "\"crc_errors\":0"));
	free(json);
	EXPECT_EQ(1ULL, sd_seg_stat(PORT, VOL, 2, "scl"));
	EXPECT_EQ(1ULL, sd_seg_stat(PORT, VOL, 2, "records"));
	EXPECT_EQ(3ULL, sd_seg_stat(PORT, VOL, 2, "epoch"));
	EXPECT_EQ(0ULL, sd_seg_stat(PORT, VOL, 2, "coalesced_lsn"));
	EXPECT_LT(8000ULL, sd_seg_stat(PORT, VOL, 2, "log_bytes"));
	/* same arguments again: fine; other geometry: EXISTS */
	EXPECT_EQ(0, sd_create_seg(PORT, VOL, 2, 3, 64, 128, ""));
	EXPECT_EQ(QBD_E_EXISTS, sd_create_seg(PORT, VOL, 2, 3, 65, 128, ""));
}

TEST_F(node, faults)
{
	uint8_t buf[QBD_BLOCK_SIZE];
	uint64_t scl;
	char *json = NULL;

	ASSERT_EQ(0, sd_admin(PORT, QBD_ADMIN_FAULT, "refuse_writes=1", NULL));
	EXPECT_EQ(QBD_E_REFUSED,
		  sd_write(self->fd, VOL, 3, 2, 1, 0, 128, 1, 0, &scl));
	ASSERT_EQ(0, sd_admin(PORT, QBD_ADMIN_FAULT, "refuse_writes=0", NULL));
	ASSERT_EQ(0, sd_write(self->fd, VOL, 3, 2, 1, 0, 128, 1, 0, &scl));

	ASSERT_EQ(0, sd_admin(PORT, QBD_ADMIN_FAULT, "corrupt_reads=1", NULL));
	EXPECT_EQ(QBD_E_CRC, sd_read(self->fd, VOL, 3, 2, 128, 1, 1, buf,
				     &scl));
	ASSERT_EQ(0, sd_admin(PORT, QBD_ADMIN_FAULT, "corrupt_reads=0", NULL));
	EXPECT_EQ(0, sd_read(self->fd, VOL, 3, 2, 128, 1, 1, buf, &scl));

	ASSERT_EQ(0, sd_admin(PORT, QBD_ADMIN_FAULT, "delay_us=1000", &json));
	EXPECT_NE(NULL, strstr(json, "\"delay_us\":1000"));
	free(json);
	ASSERT_EQ(0, sd_admin(PORT, QBD_ADMIN_FAULT, "delay_us=0 drop_conns=1",
			      NULL));
	EXPECT_EQ(1, sd_closed(self->fd));
	close(self->fd);
	self->fd = sd_open(PORT, QBD_ROLE_WRITER, VOL, 3);
	ASSERT_LE(0, self->fd);
	EXPECT_EQ(0, sd_heartbeat(self->fd, VOL, 3, 2, &scl));
	EXPECT_EQ(1ULL, scl);
}

TEST_F(node, drop_segment_and_reader_epoch)
{
	char path[512];
	struct stat sb;
	uint64_t scl;
	int fd = sd_connect(PORT);

	/* a reader with an old epoch is let in (it learns the epoch) ... */
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, sd_hello(fd, QBD_ROLE_READER, VOL, 0));
	/* ... but its messages are stale */
	EXPECT_EQ(QBD_E_STALE_EPOCH, sd_heartbeat(fd, VOL, 0, 2, &scl));
	close(fd);

	ASSERT_EQ(0, sd_admin(PORT, QBD_ADMIN_SEGMENT_DROP,
			      "volume=31 pg=2", NULL));
	EXPECT_EQ(QBD_E_NO_SEGMENT, sd_heartbeat(self->fd, VOL, 3, 2, &scl));
	snprintf(path, sizeof(path), "%s/vol-%016llx/pg-2", self->n.dir,
		 (unsigned long long)VOL);
	EXPECT_NE(0, stat(path, &sb));
	EXPECT_EQ(QBD_E_NO_SEGMENT, sd_admin(PORT, QBD_ADMIN_SEGMENT_DROP,
					     "volume=31 pg=2", NULL));
	/* gone after a restart too */
	sd_stop(&self->n, SIGKILL);
	ASSERT_EQ(0, sd_start(&self->n));
	EXPECT_EQ(~0ULL, sd_seg_stat(PORT, VOL, 2, "scl"));
}

TEST_HARNESS_MAIN
