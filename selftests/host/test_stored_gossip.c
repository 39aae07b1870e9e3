// SPDX-License-Identifier: GPL-2.0
/*
 * Gossip fills a gap: a node that missed some records of a PG (its SCL
 * stops below them, records above are held) fetches them from its peers
 * with PEER_FETCH without the writer's help, and then serves reads that
 * need them.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "stored_util.h"

#define PORT	21140
#define VOL	3ULL
#define NREC	40ULL

static bool missed(uint64_t lsn)
{
	return (lsn >= 10 && lsn <= 12) || lsn == 25;
}

FIXTURE(trio) {
	const char *tmp;
	struct sd_node n[3];
};

FIXTURE_SETUP(trio)
{
	char peers[256];
	int i;

	self->tmp = sd_tmpdir("gossip");
	snprintf(peers, sizeof(peers),
		 "1@127.0.0.1:%d,2@127.0.0.1:%d,3@127.0.0.1:%d",
		 PORT, PORT + 1, PORT + 2);
	for (i = 0; i < 3; i++) {
		sd_node_init(&self->n[i], self->tmp, i + 1, PORT + i);
		ASSERT_EQ(0, sd_start(&self->n[i]));
		ASSERT_EQ(0, sd_create_seg(PORT + i, VOL, 1, 1, 512, 512,
					   peers));
	}
}

FIXTURE_TEARDOWN(trio)
{
	int i;

	for (i = 0; i < 3; i++)
		sd_stop(&self->n[i], SIGKILL);
	if (_metadata->passed)
		sd_rmtree(self->tmp);
}

TEST_F(trio, gossip_fills_gap)
{
	uint8_t a[8 * QBD_BLOCK_SIZE], b[8 * QBD_BLOCK_SIZE];
	uint64_t l, scl, lba;
	int fd[3], i;

	for (i = 0; i < 3; i++) {
		fd[i] = sd_open(PORT + i, QBD_ROLE_WRITER, VOL, 1);
		ASSERT_LE(0, fd[i]);
	}
	for (l = 1; l <= NREC; l++)
		for (i = 0; i < 3; i++) {
			if (i == 2 && missed(l))
				continue;
			ASSERT_EQ(0, sd_write(fd[i], VOL, 1, 1, l, l - 1,
					      512 + (l * 5) % 64, 2, 0, &scl));
			if (i == 2 && l < 10)
				EXPECT_EQ(l, scl);
		}
	/* node 3 acknowledged everything it got, with its SCL below */
	ASSERT_EQ(0, sd_heartbeat(fd[0], VOL, 1, 1, &scl));
	EXPECT_EQ(NREC, scl);
	/* gossip catches node 3 up */
	ASSERT_EQ(0, sd_wait_scl(PORT + 2, VOL, 1, 1, NREC));
	for (lba = 512; lba < 512 + 72; lba += 8) {
		ASSERT_EQ(0, sd_read(fd[0], VOL, 1, 1, lba, 8, NREC, a, &scl));
		ASSERT_EQ(0, sd_read(fd[2], VOL, 1, 1, lba, 8, NREC, b, &scl));
		EXPECT_EQ(0, memcmp(a, b, sizeof(a)));
		/* and as of a read point inside the gap */
		ASSERT_EQ(0, sd_read(fd[0], VOL, 1, 1, lba, 8, 11, a, &scl));
		ASSERT_EQ(0, sd_read(fd[2], VOL, 1, 1, lba, 8, 11, b, &scl));
		EXPECT_EQ(0, memcmp(a, b, sizeof(a)));
	}
	EXPECT_LT(0ULL, sd_counter(PORT + 2, "gossip_records"));
	for (i = 0; i < 3; i++)
		close(fd[i]);
	/* what gossip brought is durable on node 3 */
	sd_stop(&self->n[2], SIGKILL);
	ASSERT_EQ(0, sd_start(&self->n[2]));
	EXPECT_EQ(NREC, sd_seg_stat(PORT + 2, VOL, 1, "scl"));
}

TEST_F(trio, read_not_yet_below_read_point)
{
	uint8_t a[QBD_BLOCK_SIZE];
	uint64_t scl;
	int fd;

	/* stop the peers so gossip cannot help: the gap stays */
	sd_stop(&self->n[0], SIGKILL);
	sd_stop(&self->n[1], SIGKILL);
	fd = sd_open(PORT + 2, QBD_ROLE_WRITER, VOL, 1);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sd_write(fd, VOL, 1, 1, 1, 0, 512, 1, 0, &scl));
	ASSERT_EQ(0, sd_write(fd, VOL, 1, 1, 3, 2, 513, 1, 0, &scl));
	EXPECT_EQ(1ULL, scl);
	EXPECT_EQ(QBD_E_NOT_YET, sd_read(fd, VOL, 1, 1, 512, 1, 3, a, &scl));
	EXPECT_EQ(0, sd_read(fd, VOL, 1, 1, 512, 1, 1, a, &scl));
	close(fd);
}

TEST_HARNESS_MAIN
