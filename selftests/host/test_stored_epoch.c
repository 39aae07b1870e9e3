// SPDX-License-Identifier: GPL-2.0
/*
 * Epoch fencing: a node records the newest epoch of a volume durably and
 * rejects every message carrying an older one with QBD_E_STALE_EPOCH, on
 * connections opened before and after the newer writer arrived and across
 * a restart. Other volumes are not affected.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "stored_util.h"

#define PORT	21130

TEST(stale_epoch_rejected)
{
	const char *tmp = sd_tmpdir("epoch");
	uint8_t buf[QBD_BLOCK_SIZE];
	struct sd_node n;
	uint64_t scl;
	int old, fresh, other, fd;

	sd_node_init(&n, tmp, 1, PORT);
	ASSERT_EQ(0, sd_start(&n));
	ASSERT_EQ(0, sd_create_seg(PORT, 1, 0, 5, 64, 0, ""));
	ASSERT_EQ(0, sd_create_seg(PORT, 2, 0, 1, 64, 0, ""));
	/* below the epoch recorded at creation */
	fd = sd_connect(PORT);
	ASSERT_LE(0, fd);
	EXPECT_EQ(QBD_E_STALE_EPOCH, sd_hello(fd, QBD_ROLE_WRITER, 1, 4));
	close(fd);

	old = sd_open(PORT, QBD_ROLE_WRITER, 1, 5);
	ASSERT_LE(0, old);
	other = sd_open(PORT, QBD_ROLE_WRITER, 2, 1);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, sd_write(old, 1, 5, 0, 1, 0, 0, 1, 0, &scl));
	/* a new writer takes over with epoch 6 */
	fresh = sd_open(PORT, QBD_ROLE_RECOVERY, 1, 6);
	ASSERT_LE(0, fresh);
	EXPECT_EQ(QBD_E_STALE_EPOCH,
		  sd_write(old, 1, 5, 0, 2, 1, 1, 1, 0, &scl));
	EXPECT_EQ(QBD_E_STALE_EPOCH,
		  sd_read(old, 1, 5, 0, 0, 1, 1, buf, &scl));
	EXPECT_EQ(QBD_E_STALE_EPOCH, sd_heartbeat(old, 1, 5, 0, &scl));
	/* nothing of the stale write was applied */
	ASSERT_EQ(0, sd_heartbeat(fresh, 1, 6, 0, &scl));
	EXPECT_EQ(1ULL, scl);
	ASSERT_EQ(0, sd_write(fresh, 1, 6, 0, 2, 1, 1, 1, 0, &scl));
	EXPECT_EQ(2ULL, scl);
	/* volume 2 goes on with its own epoch */
	EXPECT_EQ(0, sd_write(other, 2, 1, 0, 1, 0, 0, 1, 0, &scl));
	close(old);
	close(fresh);
	close(other);

	/* the epoch survives a crash */
	sd_stop(&n, SIGKILL);
	ASSERT_EQ(0, sd_start(&n));
	fd = sd_connect(PORT);
	ASSERT_LE(0, fd);
	EXPECT_EQ(QBD_E_STALE_EPOCH, sd_hello(fd, QBD_ROLE_WRITER, 1, 5));
	close(fd);
	fd = sd_open(PORT, QBD_ROLE_WRITER, 1, 6);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sd_heartbeat(fd, 1, 6, 0, &scl));
	EXPECT_EQ(2ULL, scl);
	close(fd);
	EXPECT_NE(0ULL, sd_counter(PORT, "stale_epoch"));
	sd_stop(&n, SIGKILL);
	sd_rmtree(tmp);
}

TEST_HARNESS_MAIN
