// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: bytes from the network into qbd-stored's message
 * handler, without sockets. The first input byte picks the connection's
 * role (or none: the HELLO must come from the input); the rest is fed to
 * the framing code (st_conn_feed) exactly as a socket read would, then the
 * group commit runs. The node works on a real data directory under
 * /dev/shm with one segment that every input finds in place. Any crash,
 * sanitizer report or leak is a bug in the daemon.
 *
 * The daemon's sources are compiled into this file (the fuzz rule of the
 * Makefile builds one source plus the codec); disk I/O goes through plain
 * pread/pwrite instead of io_uring, and peers are never contacted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../userspace/lib/log.c"
#include "../../userspace/stored/node.c"
#include "../../userspace/stored/net.c"
#include "../../userspace/stored/handler.c"
#include "../../userspace/stored/segment.c"
#include "../../userspace/stored/log.c"
#include "../../userspace/stored/read.c"
#include "../../userspace/stored/gossip.c"
#include "../../userspace/stored/coalesce.c"
#include "../../userspace/stored/admin.c"

/* ---- synchronous stand-ins for uring.c ---- */

int st_uring_init(unsigned int entries)
{
	return 0;
}

void st_uring_exit(void)
{
}

int st_uring_run(struct st_io *ios, unsigned int n)
{
	unsigned int i;
	bool broken = false;

	for (i = 0; i < n; i++) {
		struct st_io *io = &ios[i];
		ssize_t r = 0;

		if (broken) {
			io->res = -ECANCELED;
			broken = io->link;
			continue;
		}
		switch (io->op) {
		case ST_OP_READ:
			r = pread(io->fd, io->buf, io->len, io->off);
			break;
		case ST_OP_WRITE:
			r = pwrite(io->fd, io->buf, io->len, io->off);
			break;
		default:
			r = fdatasync(io->fd);
			break;
		}
		io->res = r < 0 ? -errno : (int)r;
		broken = io->link && (r < 0 || (io->op != ST_OP_FSYNC &&
				      io->op != ST_OP_FDATASYNC &&
				      (uint32_t)r != io->len));
	}
	return 0;
}

static int rw_sync(int write_, int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t r = write_ ? pwrite(fd, p, len, off) :
				     pread(fd, p, len, off);

		if (r < 0)
			return -errno;
		if (!r)
			return write_ ? -EIO : -ENODATA;
		p += r;
		off += r;
		len -= r;
	}
	return 0;
}

int st_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	return rw_sync(0, fd, buf, len, off);
}

int st_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	return rw_sync(1, fd, (void *)buf, len, off);
}

int st_fsync(int fd, bool datasync)
{
	return (datasync ? fdatasync(fd) : fsync(fd)) ? -errno : 0;
}

/* ---- the harness ---- */

#define FZ_VOL	1

static void ensure_segment(void)
{
	struct st_segment *s;
	struct st_volume *v;

	if (!st_seg_find(FZ_VOL, 0) &&
	    st_seg_create(FZ_VOL, 0, 64, 0, "2@127.0.0.1:9", &s))
		abort();
	v = st_volume_get(FZ_VOL, true);
	if (!v)
		abort();
}

static void cleanup(void)
{
	char cmd[PATH_MAX];

	if (!strncmp(st->data_dir, "/dev/shm/qbd-fuzz-", 18) ||
	    !strncmp(st->data_dir, "/tmp/qbd-fuzz-", 14)) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", st->data_dir);
		if (system(cmd))
			return;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char tmpl[] = "/dev/shm/qbd-fuzz-XXXXXX";

	if (!mkdtemp(tmpl)) {
		strcpy(tmpl, "/tmp/qbd-fuzz-XXXXXX");
		if (!mkdtemp(tmpl))
			abort();
	}
	qbd_log_set_level(QBD_LOG_ERR);
	snprintf(st->data_dir, sizeof(st->data_dir), "%s", tmpl);
	st->node_id = 1;
	st->log_file_max = 1 << 20;
	st->lfd = st->epfd = st->sfd = -1;
	st->offline = true;
	atexit(cleanup);
	ensure_segment();
	return 0;
}

static void feed(struct st_conn *c, const uint8_t *p, size_t len)
{
	free(c->rbuf);
	c->rbuf = malloc(len ? len : 1);
	if (!c->rbuf)
		abort();
	if (len)
		memcpy(c->rbuf, p, len);
	c->rlen = c->rcap = len;
	st_conn_feed(c);
}

/*
 * Structured mode: repeated { type, flags, pg, len_lo, len_hi, payload }.
 * flags bit 0: break the header CRC, bit 1: break the payload CRC, bit 2:
 * leave rec_crc of a LOG_WRITE as given, bit 3: epoch - 1.
 */
static void feed_structured(struct st_conn *c, const uint8_t *p, size_t len)
{
	struct st_buf out = { 0 };
	struct st_volume *v = st_volume_get(FZ_VOL, false);
	uint64_t epoch = v ? v->epoch : 0;

	while (len >= 5) {
		uint8_t type = p[0], flags = p[1], pg = p[2];
		uint32_t plen = p[3] | (uint32_t)p[4] << 8;
		struct qbd_wire_hdr h;
		uint8_t *pl;

		p += 5;
		len -= 5;
		if (plen > len)
			plen = len;
		pl = malloc(plen ? plen : 1);
		if (!pl)
			abort();
		memcpy(pl, p, plen);
		if (type == QBD_MSG_LOG_WRITE && !(flags & 4) &&
		    plen >= QBD_RECORD_SIZE) {
			struct qbd_record *r = (struct qbd_record *)pl;
			u32 crc;

			r->rec_crc = 0;
			crc = qbd_crc32c(r, QBD_RECORD_SIZE);
			crc = qbd_crc32c_update(crc, pl + QBD_RECORD_SIZE,
						plen - QBD_RECORD_SIZE);
			r->rec_crc = qbd_cpu32(crc);
		}
		qbd_hdr_init(&h, type, 1, type == QBD_MSG_ADMIN ? 0 : FZ_VOL,
			     (flags & 8) && epoch ? epoch - 1 : epoch, pg % 3);
		qbd_hdr_seal_buf(&h, pl, plen);
		if (flags & 2)
			h.payload_crc ^= qbd_cpu32(1);
		if (flags & 1)
			h.hdr_crc ^= qbd_cpu32(1);
		if (st_buf_put(&out, &h, sizeof(h)) ||
		    st_buf_put(&out, pl, plen))
			abort();
		free(pl);
		p += plen;
		len -= plen;
	}
	feed(c, out.p, out.len);
	st_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t roles[] = { 0, QBD_ROLE_WRITER, QBD_ROLE_READER,
		QBD_ROLE_PEER, QBD_ROLE_ADMIN, QBD_ROLE_RECOVERY };
	struct st_conn *c;
	uint32_t role;

	if (!size)
		return 0;
	memset(&st->fault, 0, sizeof(st->fault));
	ensure_segment();
	role = roles[data[0] % 6];
	c = st_conn_new(-1);
	if (!c)
		abort();
	if (role) {
		struct {
			struct qbd_wire_hdr h;
			struct qbd_hello m;
		} hello;
		struct st_volume *v = st_volume_get(FZ_VOL, false);

		memset(&hello, 0, sizeof(hello));
		hello.m.role = qbd_cpu32(role);
		qbd_hdr_init(&hello.h, QBD_MSG_HELLO, 1,
			     role == QBD_ROLE_ADMIN ? 0 : FZ_VOL,
			     v ? v->epoch : 0, 0);
		qbd_hdr_seal_buf(&hello.h, &hello.m, sizeof(hello.m));
		feed(c, (const uint8_t *)&hello, sizeof(hello));
	}
	if (data[0] & 0x40)
		feed_structured(c, data + 1, size - 1);
	else
		feed(c, data + 1, size - 1);
	st_log_commit_all();
	if (data[0] & 0x80)
		st_coalesce_tick();
	st_conn_close(c);
	st_net_reap();
	return 0;
}
