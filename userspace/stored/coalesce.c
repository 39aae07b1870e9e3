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
#include <linux/falloc.h>
#include "stored.h"

#define COALESCE_BYTES	(8u << 20)

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
	uint8_t *buf;
	int r = 0;

	if (lim <= start || s->npend)
		return 0;
	buf = malloc(QBD_RECORD_SIZE + (QBD_MAX_IO_BLOCKS << QBD_BLOCK_SHIFT));
	if (!buf)
		return -ENOMEM;
	while (n < lim && n - start < max_recs && bytes < COALESCE_BYTES) {
		struct st_rec *rec = &s->recs[n];

		if (rec->bad)
			break;
		if (rec->kind == QBD_REC_WRITE &&
		    st_log_read_rec(s, rec, buf)) {
			st_seg_mark_bad(s, rec);
			break;
		}
		r = apply(s, rec, buf);
		if (r)
			break;
		bytes += rec->len;
		n++;
	}
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
	st_seg_trim(s);
	st_dbg("%s: coalesced %zu records up to %" PRIu64, s->dir, n - start,
	       s->coalesced);
	return 0;
}

/*
 * Each step costs two fsyncs and a metadata rename, so a segment is
 * coalesced when a good batch is waiting (COALESCE_BATCH records) or its
 * last step is COALESCE_IDLE_MS old; small trickles wait.
 */
#define COALESCE_BATCH		512
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
		if (!ready || (ready < COALESCE_BATCH &&
			       now < s->next_coalesce_ms))
			continue;
		st_coalesce_segment(s, 1024);
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

/* a slow background pass: at most 1 MiB of records per segment per tick */
void st_scrub_tick(void)
{
	uint64_t checked = 0, bad = 0;
	uint32_t i;

	for (i = 0; i < st->nsegs; i++)
		st_scrub_segment(st->segs[i], 256, 1u << 20, &checked, &bad);
}
