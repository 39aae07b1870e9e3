// SPDX-License-Identifier: GPL-2.0
/*
 * Disk I/O. Batches that gain from running in parallel in the kernel (the
 * fdatasyncs of several log files, the base-image reads of one READ) go
 * through one io_uring: prepare an array of ops (optionally linked),
 * submit them at once, reap every completion. Single reads, writes and
 * syncs are plain syscalls (see rw_full()).
 */
#define _FILE_OFFSET_BITS 64
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

/*
 * Single reads, writes and syncs are plain syscalls: on a page-cache or
 * tmpfs file they complete inline, while io_uring would punt each one to
 * an io-wq worker thread (two context switches per op). io_uring is kept
 * for batches that gain from running in parallel (several segments'
 * fdatasyncs, the base-image reads of one READ).
 */
static int rw_full(int op, int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		size_t n = len > (1u << 30) ? (1u << 30) : len;
		ssize_t r = op == ST_OP_READ ? pread(fd, p, n, (off_t)off) :
			    pwrite(fd, p, n, (off_t)off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return op == ST_OP_READ ? -ENODATA : -EIO;
		p += r;
		off += r;
		len -= r;
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
	int r;

	do
		r = datasync ? fdatasync(fd) : fsync(fd);
	while (r && errno == EINTR);
	return r ? -errno : 0;
}
