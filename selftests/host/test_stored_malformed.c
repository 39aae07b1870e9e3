// SPDX-License-Identifier: GPL-2.0
/*
 * Malformed input: truncated, oversized, wrong magic, wrong version, bad
 * header or payload CRC, out-of-range lba/nblocks, unknown type, bad
 * records, messages before HELLO and random garbage each get an ERROR reply
 * or a closed connection, and never disturb another connection: a bystander
 * writer keeps writing and reading after every case.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "stored_util.h"

#define PORT	21160
#define VOL	9ULL

FIXTURE(node) {
	const char *tmp;
	struct sd_node n;
	int by;			/* the bystander */
	uint64_t lsn;
};

FIXTURE_SETUP(node)
{
	self->tmp = sd_tmpdir("malformed");
	sd_node_init(&self->n, self->tmp, 1, PORT);
	ASSERT_EQ(0, sd_start(&self->n));
	ASSERT_EQ(0, sd_create_seg(PORT, VOL, 0, 1, 128, 0, ""));
	self->by = sd_open(PORT, QBD_ROLE_WRITER, VOL, 1);
	ASSERT_LE(0, self->by);
}

FIXTURE_TEARDOWN(node)
{
	close(self->by);
	sd_stop(&self->n, SIGKILL);
	if (_metadata->passed)
		sd_rmtree(self->tmp);
}

/* the bystander writes one more record and reads it back */
static void bystander_ok(struct __test_metadata *_metadata,
			 FIXTURE_DATA(node) *self)
{
	uint8_t buf[QBD_BLOCK_SIZE], want[QBD_BLOCK_SIZE];
	uint64_t scl, l = ++self->lsn;

	ASSERT_EQ(0, sd_write(self->by, VOL, 1, 0, l, l - 1, l % 100, 1, 0,
			      &scl));
	ASSERT_EQ(l, scl);
	ASSERT_EQ(0, sd_read(self->by, VOL, 1, 0, l % 100, 1, l, buf, &scl));
	sd_fill(want, l, l % 100);
	ASSERT_EQ(0, memcmp(buf, want, sizeof(buf)));
}

/* expect an ERROR reply (any status, or the given one) or a close */
static int error_or_closed(int fd, int want_status)
{
	struct qbd_hdr_info hi;
	uint8_t *p;

	if (sd_recv(fd, &hi, &p))
		return 1;	/* closed */
	free(p);
	if (hi.type != QBD_MSG_ERROR)
		return 0;
	return want_status < 0 || (int)hi.status == want_status;
}

static int writer(void)
{
	return sd_open(PORT, QBD_ROLE_WRITER, VOL, 1);
}

static void hdr(struct qbd_wire_hdr *h, uint16_t type, uint32_t plen)
{
	qbd_hdr_init(h, type, 77, VOL, 1, 0);
	qbd_hdr_seal(h, plen, 0);
}

TEST_F(node, truncated_message)
{
	struct qbd_wire_hdr h;
	int fd = writer();

	ASSERT_LE(0, fd);
	hdr(&h, QBD_MSG_HEARTBEAT, 0);
	ASSERT_EQ(0, sd_send_raw(fd, &h, 20));	/* a header cut short */
	shutdown(fd, SHUT_WR);
	EXPECT_EQ(1, error_or_closed(fd, -1));
	close(fd);
	bystander_ok(_metadata, self);
	/* a payload cut short */
	fd = writer();
	ASSERT_LE(0, fd);
	hdr(&h, QBD_MSG_READ, 1000);
	ASSERT_EQ(0, sd_send_raw(fd, &h, sizeof(h)));
	ASSERT_EQ(0, sd_send_raw(fd, "abc", 3));
	shutdown(fd, SHUT_WR);
	EXPECT_EQ(1, error_or_closed(fd, -1));
	close(fd);
	bystander_ok(_metadata, self);
}

TEST_F(node, oversized_wrong_magic_bad_hdr_crc_unknown_type)
{
	struct qbd_wire_hdr h;
	int fd;

	fd = writer();
	hdr(&h, QBD_MSG_LOG_WRITE, QBD_MAX_PAYLOAD + 1);
	ASSERT_EQ(0, sd_send_raw(fd, &h, sizeof(h)));
	EXPECT_EQ(1, error_or_closed(fd, -1));
	EXPECT_EQ(1, sd_closed(fd));
	close(fd);
	bystander_ok(_metadata, self);

	fd = writer();
	hdr(&h, QBD_MSG_HEARTBEAT, 0);
	h.magic = qbd_cpu32(0x12345678);
	ASSERT_EQ(0, sd_send_raw(fd, &h, sizeof(h)));
	EXPECT_EQ(1, error_or_closed(fd, -1));
	EXPECT_EQ(1, sd_closed(fd));
	close(fd);
	bystander_ok(_metadata, self);

	fd = writer();
	hdr(&h, QBD_MSG_HEARTBEAT, 0);
	h.handle ^= 1;	/* header CRC no longer matches */
	ASSERT_EQ(0, sd_send_raw(fd, &h, sizeof(h)));
	EXPECT_EQ(1, error_or_closed(fd, -1));
	EXPECT_EQ(1, sd_closed(fd));
	close(fd);
	bystander_ok(_metadata, self);

	fd = writer();
	hdr(&h, 0x42, 0);
	ASSERT_EQ(0, sd_send_raw(fd, &h, sizeof(h)));
	EXPECT_EQ(1, error_or_closed(fd, -1));
	close(fd);
	bystander_ok(_metadata, self);
}

TEST_F(node, wrong_version_is_named)
{
	struct qbd_hello hello = { .role = qbd_cpu32(QBD_ROLE_WRITER) };
	struct qbd_wire_hdr h;
	struct qbd_hdr_info hi;
	uint8_t *p;
	int fd = sd_connect(PORT);

	ASSERT_LE(0, fd);
	qbd_hdr_init(&h, QBD_MSG_HELLO, 1, VOL, 1, 0);
	h.version = qbd_cpu16(7);
	qbd_hdr_seal_buf(&h, &hello, sizeof(hello));
	ASSERT_EQ(0, sd_send_raw(fd, &h, sizeof(h)));
	ASSERT_EQ(0, sd_send_raw(fd, &hello, sizeof(hello)));
	ASSERT_EQ(0, sd_recv(fd, &hi, &p));
	EXPECT_EQ((uint16_t)QBD_MSG_ERROR, hi.type);
	EXPECT_EQ((uint32_t)QBD_E_VERSION, hi.status);
	EXPECT_NE(NULL, strstr((char *)p, "version mismatch"));
	free(p);
	EXPECT_EQ(1, sd_closed(fd));
	close(fd);
	bystander_ok(_metadata, self);
}

TEST_F(node, bad_payload_crc_keeps_connection)
{
	struct qbd_read_req rq = { .nblocks = qbd_cpu32(1) };
	struct qbd_wire_hdr h;
	uint64_t scl;
	int fd = writer();

	ASSERT_LE(0, fd);
	qbd_hdr_init(&h, QBD_MSG_READ, 5, VOL, 1, 0);
	qbd_hdr_seal(&h, sizeof(rq), 0xdeadbeef);
	ASSERT_EQ(0, sd_send_raw(fd, &h, sizeof(h)));
	ASSERT_EQ(0, sd_send_raw(fd, &rq, sizeof(rq)));
	EXPECT_EQ(1, error_or_closed(fd, QBD_E_CRC));
	/* framing is intact: the connection goes on */
	EXPECT_EQ(0, sd_heartbeat(fd, VOL, 1, 0, &scl));
	close(fd);
	bystander_ok(_metadata, self);
}

TEST_F(node, out_of_range_and_bad_records)
{
	uint8_t buf[QBD_BLOCK_SIZE], *rec;
	uint64_t scl;
	uint32_t len;
	int fd = writer();

	ASSERT_LE(0, fd);
	bystander_ok(_metadata, self);
	/* lba past the PG (128 blocks) */
	EXPECT_EQ(QBD_E_RANGE, sd_write(fd, VOL, 1, 0, 1000, 999, 127, 2, 0,
					&scl));
	EXPECT_EQ(QBD_E_RANGE, sd_read(fd, VOL, 1, 0, 128, 1, 1, buf, &scl));
	EXPECT_EQ(QBD_E_RANGE, sd_read(fd, VOL, 1, 0, ~0ULL - 2, 8, 1, buf,
				       &scl));
	EXPECT_EQ(QBD_E_RANGE, sd_read(fd, VOL, 1, 0, 0, 0, 1, buf, &scl));
	EXPECT_EQ(QBD_E_RANGE, sd_read(fd, VOL, 1, 0, 0, 300, 1, buf, &scl));
	/* pg not held */
	EXPECT_EQ(QBD_E_NO_SEGMENT, sd_read(fd, VOL, 1, 5, 0, 1, 1, buf, &scl));
	/* a record whose CRC does not match its data */
	len = sd_record(&rec, 1000, 999, 3, 1, QBD_REC_WRITE, 0, 0, 0);
	rec[QBD_RECORD_SIZE + 5] ^= 1;
	ASSERT_EQ(0, sd_send(fd, QBD_MSG_LOG_WRITE, 1, VOL, 1, 0, rec, len));
	EXPECT_EQ(1, error_or_closed(fd, QBD_E_CRC));
	/* data length that does not match nblocks */
	ASSERT_EQ(0, sd_send(fd, QBD_MSG_LOG_WRITE, 1, VOL, 1, 0, rec,
			     len - 100));
	EXPECT_EQ(1, error_or_closed(fd, -1));
	/* record for another pg than the header says */
	free(rec);
	len = sd_record(&rec, 1000, 999, 3, 1, QBD_REC_WRITE, 4, 0, 0);
	ASSERT_EQ(0, sd_send(fd, QBD_MSG_LOG_WRITE, 1, VOL, 1, 0, rec, len));
	EXPECT_EQ(1, error_or_closed(fd, -1));
	free(rec);
	/* wrong payload sizes for fixed-size messages */
	ASSERT_EQ(0, sd_send(fd, QBD_MSG_READ, 1, VOL, 1, 0, "xy", 2));
	EXPECT_EQ(1, error_or_closed(fd, -1));
	ASSERT_EQ(0, sd_send(fd, QBD_MSG_TRUNCATE, 1, VOL, 1, 0, "xy", 2));
	EXPECT_EQ(1, error_or_closed(fd, -1));
	/* ADMIN is not for writers */
	ASSERT_EQ(0, sd_send(fd, QBD_MSG_ADMIN, 1, VOL, 1, 0, "xy", 2));
	EXPECT_EQ(1, error_or_closed(fd, QBD_E_ROLE));
	/* still alive, and nothing of the above was stored */
	ASSERT_EQ(0, sd_heartbeat(fd, VOL, 1, 0, &scl));
	EXPECT_EQ(self->lsn, scl);
	EXPECT_EQ(self->lsn, sd_seg_stat(PORT, VOL, 0, "max_lsn"));
	close(fd);
	bystander_ok(_metadata, self);
}

TEST_F(node, before_hello_and_bad_admin)
{
	char *json = NULL;
	uint64_t scl;
	int fd = sd_connect(PORT);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sd_send(fd, QBD_MSG_HEARTBEAT, 1, VOL, 1, 0, NULL, 0));
	EXPECT_EQ(1, error_or_closed(fd, -1));
	close(fd);
	EXPECT_EQ(QBD_E_INVAL, sd_admin(PORT, QBD_ADMIN_SEGMENT_CREATE,
					"volume=1 pg=x", &json));
	free(json);
	EXPECT_EQ(QBD_E_INVAL, sd_admin(PORT, QBD_ADMIN_SEGMENT_CREATE,
					"volume=1 pg=0 pg_blocks=0", &json));
	free(json);
	EXPECT_EQ(QBD_E_EXISTS, sd_admin(PORT, QBD_ADMIN_SEGMENT_CREATE,
		  "volume=9 pg=0 pg_blocks=64", &json));
	free(json);
	EXPECT_EQ(QBD_E_INVAL, sd_admin(PORT, QBD_ADMIN_FAULT,
					"bogus=1", &json));
	free(json);
	EXPECT_EQ(QBD_E_INVAL, sd_admin(PORT, QBD_ADMIN_SEGMENT_CREATE,
		  "volume=4 pg=0 pg_blocks=64 peers=garbage", &json));
	free(json);
	/* a writer for a volume with no segments here gets NO_SEGMENT */
	fd = sd_open(PORT, QBD_ROLE_WRITER, 12345, 1);
	ASSERT_LE(0, fd);
	EXPECT_EQ(QBD_E_NO_SEGMENT, sd_heartbeat(fd, 12345, 1, 0, &scl));
	close(fd);
	bystander_ok(_metadata, self);
}

TEST_F(node, pipelined_odd_sizes)
{
	static const char text[] = "volume=9";	/* 17-byte ADMIN payload */
	uint8_t msg[sizeof(struct qbd_wire_hdr) + 8 + sizeof(text)];
	uint8_t all[3 * sizeof(msg)];
	struct qbd_admin *a = (void *)(msg + sizeof(struct qbd_wire_hdr));
	struct qbd_wire_hdr *h = (void *)msg;
	struct qbd_hdr_info hi;
	uint8_t *p;
	int fd = sd_open(PORT, QBD_ROLE_ADMIN, 0, 0), i;

	ASSERT_LE(0, fd);
	a->op = qbd_cpu32(QBD_ADMIN_STATUS);
	a->len = qbd_cpu32(sizeof(text));
	memcpy(a + 1, text, sizeof(text));
	qbd_hdr_init(h, QBD_MSG_ADMIN, 1, 0, 0, 0);
	qbd_hdr_seal_buf(h, a, 8 + sizeof(text));
	for (i = 0; i < 3; i++)
		memcpy(all + i * sizeof(msg), msg, sizeof(msg));
	/* one send: the 2nd and 3rd messages start at unaligned offsets */
	ASSERT_EQ(0, sd_send_raw(fd, all, sizeof(all)));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, sd_recv(fd, &hi, &p));
		EXPECT_EQ((uint16_t)QBD_MSG_ADMIN_OK, hi.type);
		free(p);
	}
	close(fd);
	bystander_ok(_metadata, self);
}

TEST_F(node, random_garbage)
{
	uint8_t buf[600];
	unsigned int seed = 12345;
	int i, j;

	for (i = 0; i < 200; i++) {
		int fd = i % 2 ? writer() : sd_connect(PORT);
		struct qbd_wire_hdr h;
		uint32_t len = rand_r(&seed) % sizeof(buf);
		uint16_t type = 1 + rand_r(&seed) % 9;

		ASSERT_LE(0, fd);
		for (j = 0; j < (int)len; j++)
			buf[j] = rand_r(&seed);
		if (i % 3) {	/* a sound header around random payload */
			qbd_hdr_init(&h, type, i, VOL, 1, rand_r(&seed) % 2);
			qbd_hdr_seal_buf(&h, buf, len);
			ASSERT_EQ(0, sd_send_raw(fd, &h, sizeof(h)));
		}
		ASSERT_EQ(0, sd_send_raw(fd, buf, len));
		shutdown(fd, SHUT_WR);
		sd_closed(fd);	/* drain until the node closes */
		close(fd);
		if (i % 20 == 0)
			bystander_ok(_metadata, self);
	}
	bystander_ok(_metadata, self);
}

TEST_HARNESS_MAIN
