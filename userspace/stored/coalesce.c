// SPDX-License-Identifier: GPL-2.0
/*
 * Background work, done in small steps from the event loop so the
 * foreground path never waits long:
 *
 * Coalescing applies the records with lsn <= min(low_water, SCL) to the
 * base image in LSN order, fsyncs the base image, then records the new
 * coalesced LSN in the segment metadata (atomically), and only then drops
 * those records from the index and deletes log files nothing points into.
 * A crash in between re-applies the same records (idempotent). Reads with
 * read_lsn >= low_water never need a version below the coalesced point:
 * the base image is the state as of that point, and every newer record is
 * still in the log and the index.
 *
 * Scrubbing re-reads records and verifies their CRCs; a bad one is marked
 * and repaired from a peer by gossip.
 */
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/uio.h>
#include <linux/falloc.h>
#include "stored.h"

#define COALESCE_BYTES	(16u << 20)

/*
 * The blocks written by the cached WRITE records of one step, in LSN
 * order (seq). Flushing sorts them by block, keeps the newest version of
 * each block and writes runs of adjacent blocks with one pwritev: a block
 * overwritten within the step is written once, and a step of N random 4 KiB
 * records costs far fewer than N syscalls.
 */
struct cblk {
	uint64_t blk;
	uint32_t seq;
	const uint8_t *p;
};

struct cmap {
	struct cblk *e;
	size_t n, cap;
	uint32_t seq;
};

static int cmap_add(struct cmap *m, const struct st_segment *s,
		    const struct st_rec *r, const uint8_t *rec)
{
	uint32_t b;

	if (m->n + r->nblocks > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 1024;
		struct cblk *ne;

		while (cap < m->n + r->nblocks)
			cap *= 2;
		ne = realloc(m->e, cap * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		m->e = ne;
		m->cap = cap;
	}
	for (b = 0; b < r->nblocks; b++)
		m->e[m->n++] = (struct cblk){
			.blk = r->lba - s->lba_start + b, .seq = m->seq++,
			.p = rec + QBD_RECORD_SIZE +
			     ((size_t)b << QBD_BLOCK_SHIFT) };
	return 0;
}

static int cmp_cblk(const void *a, const void *b)
{
	const struct cblk *x = a, *y = b;

	if (x->blk != y->blk)
		return x->blk < y->blk ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int pwritev_full(int fd, struct iovec *iov, int cnt, uint64_t off)
{
	while (cnt) {
		ssize_t w = pwritev(fd, iov, cnt, (off_t)off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!w)
			return -EIO;
		off += w;
		while (cnt && (size_t)w >= iov->iov_len) {
			w -= iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt) {
			iov->iov_base = (uint8_t *)iov->iov_base + w;
			iov->iov_len -= w;
		}
	}
	return 0;
}

static int cmap_flush(struct cmap *m, int fd)
{
	struct iovec iov[IOV_MAX < 1024 ? IOV_MAX : 1024];
	uint64_t run_start = 0;
	int cnt = 0, r = 0;
	size_t i;

	if (!m->n)
		return 0;
	qsort(m->e, m->n, sizeof(*m->e), cmp_cblk);
	for (i = 0; i < m->n && !r; i++) {
		const struct cblk *e = &m->e[i];

		if (i + 1 < m->n && m->e[i + 1].blk == e->blk)
			continue;	/* a newer version follows */
		if (cnt && (run_start + cnt != e->blk ||
			    cnt == (int)(sizeof(iov) / sizeof(iov[0])))) {
			r = pwritev_full(fd, iov, cnt,
					 run_start << QBD_BLOCK_SHIFT);
			cnt = 0;
		}
		if (!cnt)
			run_start = e->blk;
		iov[cnt].iov_base = (void *)e->p;
		iov[cnt].iov_len = QBD_BLOCK_SIZE;
		cnt++;
	}
	if (cnt && !r)
		r = pwritev_full(fd, iov, cnt, run_start << QBD_BLOCK_SHIFT);
	m->n = 0;
	m->seq = 0;
	return r;
}

static int apply(struct st_segment *s, struct st_rec *r, const uint8_t *buf)
{
	uint64_t off = (r->lba - s->lba_start) << QBD_BLOCK_SHIFT;
	uint64_t len = (uint64_t)r->nblocks << QBD_BLOCK_SHIFT;

	switch (r->kind) {
	case QBD_REC_WRITE:
		return st_pwrite_full(s->base_fd, buf + QBD_RECORD_SIZE, len,
				      off);
	case QBD_REC_DISCARD:
	case QBD_REC_WRITE_ZEROES:
		if (!fallocate(s->base_fd, FALLOC_FL_PUNCH_HOLE |
			       FALLOC_FL_KEEP_SIZE, off, len))
			return 0;
		{
			/* no hole punching here: write zeroes */
			uint8_t *z = calloc(1, len);
			int rc;

			if (!z)
				return -ENOMEM;
			rc = st_pwrite_full(s->base_fd, z, len, off);
			free(z);
			return rc;
		}
	default:
		return 0;
	}
}

/* one step: at most max_recs records / COALESCE_BYTES */
int st_coalesce_segment(struct st_segment *s, uint32_t max_recs)
{
	uint64_t target = s->low_water < s->scl ? s->low_water : s->scl;
	uint64_t bytes = 0, old;
	size_t start = st_seg_first_above(s, s->coalesced), n = start;
	size_t lim = st_seg_first_above(s, target);
	struct cmap m = { 0 };
	uint8_t *buf;
	int r = 0;

	if (lim <= start || s->npend)
		return 0;
	buf = malloc(QBD_RECORD_SIZE + (QBD_MAX_IO_BLOCKS << QBD_BLOCK_SHIFT));
	if (!buf)
		return -ENOMEM;
	while (n < lim && n - start < max_recs && bytes < COALESCE_BYTES) {
		struct st_rec *rec = &s->recs[n];
		const uint8_t *d;

		if (rec->bad)
			break;
		/* just committed: still in memory, checked on receipt */
		d = rec->kind == QBD_REC_WRITE ? st_cache_get(s, rec) : NULL;
		if (d) {
			st->cnt.cache_hits++;
			r = cmap_add(&m, s, rec, d);
		} else if (rec->kind == QBD_REC_WRITE ||
			   rec->kind == QBD_REC_DISCARD ||
			   rec->kind == QBD_REC_WRITE_ZEROES) {
			/* keep the order: what the map holds goes first */
			r = cmap_flush(&m, s->base_fd);
			if (!r && rec->kind == QBD_REC_WRITE &&
			    st_log_read_rec(s, rec, buf)) {
				st_seg_mark_bad(s, rec);
				break;
			}
			if (!r)
				r = apply(s, rec, buf);
		}
		if (r)
			break;
		bytes += rec->len;
		n++;
	}
	if (!r)
		r = cmap_flush(&m, s->base_fd);
	free(m.e);
	free(buf);
	if (r || n == start) {
		if (r)
			st_err("%s: coalescing failed: %s", s->dir,
			       strerror(-r));
		return r;
	}
	r = st_fsync(s->base_fd, false);
	if (r)
		return r;
	old = s->coalesced;
	s->coalesced = s->recs[n - 1].lsn;
	r = st_seg_write_meta(s);
	if (r) {
		s->coalesced = old;
		return r;
	}
	/* still fetchable by peers until st_seg_trim() lets them go */
	s->retained_bytes += bytes;
	st->cnt.coalesced_records += n - start;
	st_cache_drop_upto(s, s->coalesced);
	st_seg_trim(s);
	st_dbg("%s: coalesced %zu records up to %" PRIu64, s->dir, n - start,
	       s->coalesced);
	return 0;
}

/*
 * Each step costs two fsyncs and a metadata rename, so a segment is
 * coalesced when a good batch is waiting (COALESCE_BATCH records, or half
 * the node's record cache) or its last step is COALESCE_IDLE_MS old; small
 * trickles wait.
 */
#define COALESCE_BATCH		2048
#define COALESCE_IDLE_MS	1000

void st_coalesce_tick(void)
{
	uint64_t now = st_now_ms();
	uint32_t i;

	for (i = 0; i < st->nsegs; i++) {
		struct st_segment *s = st->segs[i];
		uint64_t target = s->low_water < s->scl ? s->low_water : s->scl;
		size_t done = st_seg_first_above(s, s->coalesced);
		size_t ready = st_seg_first_above(s, target);

		st_seg_trim(s);		/* peers' SCLs moved on */
		ready = ready > done ? ready - done : 0;
		/* half the record cache in use: coalesce while it is there */
		if (!ready || (ready < COALESCE_BATCH &&
			       st->cache_bytes < st->cache_max / 2 &&
			       now < s->next_coalesce_ms))
			continue;
		st_coalesce_segment(s, 4096);
		s->next_coalesce_ms = now + COALESCE_IDLE_MS;
	}
}

int st_scrub_segment(struct st_segment *s, uint32_t max_recs,
		     uint64_t max_bytes, uint64_t *checked, uint64_t *bad)
{
	uint64_t bytes = 0;
	uint8_t *buf;
	size_t i = st_seg_first_above(s, s->scrub_lsn);
	uint32_t done = 0;

	buf = malloc(QBD_RECORD_SIZE + (QBD_MAX_IO_BLOCKS << QBD_BLOCK_SHIFT));
	if (!buf)
		return -ENOMEM;
	for (; i < s->nrecs && done < max_recs && bytes < max_bytes;
	     i++, done++) {
		struct st_rec *rec = &s->recs[i];

		bytes += rec->len;
		s->scrub_lsn = rec->lsn;
		if (rec->bad) {
			(*bad)++;
			continue;
		}
		(*checked)++;
		st->cnt.scrubbed++;
		if (st_log_read_rec(s, rec, buf)) {
			(*bad)++;
			st_seg_mark_bad(s, rec);
		}
	}
	if (i >= s->nrecs)
		s->scrub_lsn = 0;	/* wrap around */
	free(buf);
	return 0;
}

/*
 * A slow background pass: at most 1 MiB of records per segment per tick.
 * While records are being written it waits (re-reading and checksumming
 * what was just written would add a read and a CRC to every record), but
 * at most SCRUB_DEFER_MS.
 */
#define SCRUB_QUIET_MS		1000
#define SCRUB_DEFER_MS		30000

void st_scrub_tick(void)
{
	uint64_t checked = 0, bad = 0, now = st_now_ms();
	uint32_t i;

	if (now < st->last_write_ms + SCRUB_QUIET_MS &&
	    now < st->last_scrub_ms + SCRUB_DEFER_MS)
		return;
	st->last_scrub_ms = now;

	for (i = 0; i < st->nsegs; i++)
		st_scrub_segment(st->segs[i], 256, 1u << 20, &checked, &bad);
}
