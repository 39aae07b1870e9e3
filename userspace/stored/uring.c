// SPDX-License-Identifier: GPL-2.0
/*
 * The node's disk I/O goes through one io_uring. The event loop is single
 * threaded, so the interface is a batch: prepare an array of reads, writes
 * and syncs (optionally linked, e.g. "append then fdatasync"), submit them
 * all at once and reap every completion. Group commit uses one batch per
 * loop iteration for all segments, so the syncs of different segments run
 * in parallel in the kernel.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <liburing.h>
#include "stored.h"

static struct io_uring ring;
static unsigned int ring_entries;
static bool ring_ok;

int st_uring_init(unsigned int entries)
{
	int r = io_uring_queue_init(entries, &ring, 0);

	if (r < 0)
		return r;
	ring_entries = entries;
	ring_ok = true;
	return 0;
}

void st_uring_exit(void)
{
	if (ring_ok)
		io_uring_queue_exit(&ring);
	ring_ok = false;
}

static void prep(struct io_uring_sqe *sqe, struct st_io *io)
{
	switch (io->op) {
	case ST_OP_READ:
		io_uring_prep_read(sqe, io->fd, io->buf, io->len, io->off);
		break;
	case ST_OP_WRITE:
		io_uring_prep_write(sqe, io->fd, io->buf, io->len, io->off);
		break;
	case ST_OP_FSYNC:
		io_uring_prep_fsync(sqe, io->fd, 0);
		break;
	default:
		io_uring_prep_fsync(sqe, io->fd, IORING_FSYNC_DATASYNC);
		break;
	}
	if (io->link)
		sqe->flags |= IOSQE_IO_LINK;
	io_uring_sqe_set_data(sqe, io);
}

/*
 * Submit ios[0..n) and wait for all of them. A link chain never crosses a
 * chunk boundary: chunks end after an unlinked op. Each io->res receives the
 * completion result (bytes or -errno; -ECANCELED for a broken link).
 */
int st_uring_run(struct st_io *ios, unsigned int n)
{
	unsigned int i = 0;

	while (i < n) {
		unsigned int start = i, cnt = 0, done = 0;

		while (i < n && cnt < ring_entries) {
			unsigned int j = i;

			/* take a whole chain or nothing */
			while (j < n && ios[j].link)
				j++;
			if (j >= n)
				j = n - 1;
			if (cnt + (j - i + 1) > ring_entries && cnt)
				break;
			for (; i <= j; i++) {
				struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

				if (!sqe)
					return -EBUSY;
				ios[i].res = -ECANCELED;
				prep(sqe, &ios[i]);
				cnt++;
			}
			ios[j].link = false;
		}
		if (io_uring_submit(&ring) < 0)
			return -EIO;
		while (done < cnt) {
			struct io_uring_cqe *cqe;
			int r = io_uring_wait_cqe(&ring, &cqe);

			if (r == -EINTR)
				continue;
			if (r < 0)
				return r;
			((struct st_io *)io_uring_cqe_get_data(cqe))->res =
				cqe->res;
			io_uring_cqe_seen(&ring, cqe);
			done++;
		}
		(void)start;
	}
	return 0;
}

static int rw_full(int op, int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		struct st_io io = {
			.op = op, .fd = fd, .buf = p,
			.len = len > (1u << 30) ? (1u << 30) : (uint32_t)len,
			.off = off,
		};
		int r = st_uring_run(&io, 1);

		if (r < 0)
			return r;
		if (io.res < 0)
			return io.res;
		if (io.res == 0)
			return op == ST_OP_READ ? -ENODATA : -EIO;
		p += io.res;
		off += io.res;
		len -= io.res;
	}
	return 0;
}

int st_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	return rw_full(ST_OP_READ, fd, buf, len, off);
}

int st_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	return rw_full(ST_OP_WRITE, fd, (void *)buf, len, off);
}

int st_fsync(int fd, bool datasync)
{
	struct st_io io = { .op = datasync ? ST_OP_FDATASYNC : ST_OP_FSYNC,
			    .fd = fd };
	int r = st_uring_run(&io, 1);

	return r < 0 ? r : io.res;
}
