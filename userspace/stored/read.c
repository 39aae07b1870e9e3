// SPDX-License-Identifier: GPL-2.0
/*
 * Serving records and blocks out of a segment:
 *   READ        blocks as of read_lsn: for each block the newest record with
 *               lsn <= read_lsn that covers it, else the base image (the
 *               state as of the coalesced LSN). Every record is re-read from
 *               the log and its CRC verified before a byte of it is served;
 *               a record that fails is marked bad (repaired by gossip) and
 *               the read is answered QBD_E_CRC so the writer reads elsewhere.
 *   PEER_FETCH  the verified records above from_lsn, for gossip and repair,
 *               also coalesced ones still retained for peers; QBD_E_RANGE
 *               when from_lsn is below what is retained.
 *   SCL_QUERY   what the recovering writer needs to compute the VCL.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "stored.h"

#define REC_BUF_MAX	(QBD_RECORD_SIZE + (QBD_MAX_IO_BLOCKS << QBD_BLOCK_SHIFT))

static int read_base_runs(struct st_segment *s, const int32_t *src,
			  uint8_t *data, u64 lba, u32 n)
{
	struct st_io ios[QBD_MAX_IO_BLOCKS];
	u32 b = 0, nio = 0, i;

	while (b < n) {
		u32 e = b;

		if (src[b] != -1) {
			b++;
			continue;
		}
		while (e < n && src[e] == -1)
			e++;
		ios[nio++] = (struct st_io){
			.op = ST_OP_READ, .fd = s->base_fd,
			.buf = data + ((size_t)b << QBD_BLOCK_SHIFT),
			.len = (e - b) << QBD_BLOCK_SHIFT,
			.off = (lba + b - s->lba_start) << QBD_BLOCK_SHIFT };
		b = e;
	}
	/*
	 * Plain preads: the base image is a page-cache (or tmpfs) file, where
	 * io_uring would punt every read to a worker thread.
	 */
	for (i = 0; i < nio; i++)
		if (st_pread_full(s->base_fd, ios[i].buf, ios[i].len,
				  ios[i].off))
			return -EIO;
	return 0;
}

void st_do_read(struct st_conn *c, const struct qbd_hdr_info *hi,
		struct st_segment *s, const uint8_t *p)
{
	int32_t src[QBD_MAX_IO_BLOCKS];
	struct qbd_read_reply rep;
	uint8_t *data = NULL, *rbuf = NULL;
	u64 lba, read_lsn;
	u32 n, filled = 0, b;
	size_t i, first;
	int r = qbd_read_req_decode(p, hi->payload_len, &lba, &n, &read_lsn);

	if (r) {
		st_reply_err(c, hi, r, "bad READ: %s", qbd_status_str(r));
		return;
	}
	if (lba < s->lba_start || lba + n > s->lba_start + s->pg_blocks) {
		st_reply_err(c, hi, QBD_E_RANGE,
			     "read %" PRIu64 "+%u outside pg %u", lba, n, s->pg);
		return;
	}
	if (read_lsn > s->scl) {
		st_reply_err(c, hi, QBD_E_NOT_YET,
			     "scl %" PRIu64 " below read point %" PRIu64,
			     s->scl, read_lsn);
		return;
	}
	if (read_lsn < s->coalesced) {
		st_reply_err(c, hi, QBD_E_RANGE,
			     "read point %" PRIu64 " below coalesced lsn %"
			     PRIu64, read_lsn, s->coalesced);
		return;
	}
	for (b = 0; b < n; b++)
		src[b] = -1;
	/*
	 * Newest first: the first record to cover a block wins. Only the
	 * records above the coalesced LSN: those below (retained for peers)
	 * are in the base image already.
	 */
	first = st_seg_first_above(s, s->coalesced);
	for (i = st_seg_first_above(s, read_lsn); i-- > first && filled < n;) {
		struct st_rec *rec = &s->recs[i];
		u64 lo, hi_;

		if (rec->kind == QBD_REC_NOOP || rec->bad)
			continue;	/* a bad one is above the SCL anyway */
		lo = rec->lba > lba ? rec->lba : lba;
		hi_ = rec->lba + rec->nblocks < lba + n ?
		      rec->lba + rec->nblocks : lba + n;
		for (; lo < hi_; lo++)
			if (src[lo - lba] == -1) {
				src[lo - lba] = (int32_t)i;
				filled++;
			}
	}
	data = malloc((size_t)n << QBD_BLOCK_SHIFT);
	if (!data) {
		st_reply_err(c, hi, QBD_E_NOMEM, "out of memory");
		return;
	}
	for (b = 0; b < n; b++) {
		struct st_rec *rec;
		u32 b2;

		if (src[b] < 0)
			continue;
		rec = &s->recs[src[b]];
		if (rec->kind == QBD_REC_WRITE) {
			if (!rbuf)
				rbuf = malloc(REC_BUF_MAX);
			if (!rbuf) {
				st_reply_err(c, hi, QBD_E_NOMEM, "out of memory");
				goto out;
			}
			r = st_log_read_rec(s, rec, rbuf);
			if (r) {
				u64 lsn = rec->lsn;

				st_seg_mark_bad(s, rec);
				st_reply_err(c, hi, QBD_E_CRC,
					     "record %" PRIu64 " failed its CRC"
					     " on node %u; repairing", lsn,
					     st->node_id);
				goto out;
			}
		}
		for (b2 = b; b2 < n; b2++) {
			uint8_t *dst = data + ((size_t)b2 << QBD_BLOCK_SHIFT);
			int32_t k = src[b];

			if (src[b2] != k)
				continue;
			if (rec->kind == QBD_REC_WRITE)
				memcpy(dst, rbuf + QBD_RECORD_SIZE +
				       ((lba + b2 - rec->lba) << QBD_BLOCK_SHIFT),
				       QBD_BLOCK_SIZE);
			else
				memset(dst, 0, QBD_BLOCK_SIZE);
			if (b2 != b)
				src[b2] = -2;	/* done */
		}
		src[b] = -2;
	}
	if (read_base_runs(s, src, data, lba, n)) {
		st_reply_err(c, hi, QBD_E_IO, "cannot read base image");
		goto out;
	}
	memset(&rep, 0, sizeof(rep));
	rep.scl = qbd_cpu64(s->scl);
	rep.lba = qbd_cpu64(lba);
	rep.nblocks = qbd_cpu32(n);
	rep.data_crc = qbd_cpu32(qbd_crc32c(data, (size_t)n << QBD_BLOCK_SHIFT));
	if (st->fault.corrupt_reads)
		data[0] ^= 0x01;	/* the writer must catch this by CRC */
	st->cnt.reads++;
	st->cnt.read_bytes += (u64)n << QBD_BLOCK_SHIFT;
	st_reply(c, hi, QBD_MSG_READ_DATA, 0, &rep, sizeof(rep), data,
		 n << QBD_BLOCK_SHIFT);
out:
	free(rbuf);
	free(data);
}

void st_do_peer_fetch(struct st_conn *c, const struct qbd_hdr_info *hi,
		      struct st_segment *s, const uint8_t *p)
{
	struct st_buf out = { 0 };
	u64 from, to;
	u32 max;
	size_t i;
	int r = qbd_peer_fetch_decode(p, hi->payload_len, &from, &to, &max);

	if (r) {
		st_reply_err(c, hi, r, "bad PEER_FETCH: %s", qbd_status_str(r));
		return;
	}
	if (from < s->trim) {
		/* no longer held: the asker needs a segment rebuild */
		st_reply_err(c, hi, QBD_E_RANGE,
			     "records from %" PRIu64 " no longer held on node %u"
			     " (retained from %" PRIu64 ")", from, st->node_id,
			     s->trim);
		return;
	}
	if (!to)
		to = s->scl;
	for (i = st_seg_first_above(s, from);
	     i < s->nrecs && s->recs[i].lsn <= to; i++) {
		struct st_rec *rec = &s->recs[i];

		/* a chain with a hole is no use: stop before a bad record */
		if (rec->bad)
			break;
		if (out.len && out.len + rec->len > max)
			break;
		if (out.len + rec->len > QBD_MAX_PAYLOAD)
			break;
		if (st_buf_reserve(&out, rec->len)) {
			if (!out.len) {
				st_reply_err(c, hi, QBD_E_NOMEM, "out of memory");
				return;
			}
			break;
		}
		if (st_log_read_rec(s, rec, out.p + out.len)) {
			st_seg_mark_bad(s, rec);
			break;
		}
		out.len += rec->len;
	}
	st_reply(c, hi, QBD_MSG_FETCH_DATA, 0, out.p, out.len, NULL, 0);
	st_buf_free(&out);
}

void st_do_scl_query(struct st_conn *c, const struct qbd_hdr_info *hi,
		     struct st_segment *s, const uint8_t *p)
{
	struct qbd_scl_reply rep;
	struct qbd_scl_entry *e = NULL;
	struct st_volume *v = st_volume_get(s->volume, false);
	u64 from;
	u32 max, n = 0;
	size_t i;
	int r = qbd_scl_query_decode(p, hi->payload_len, &from, &max);

	if (r) {
		st_reply_err(c, hi, r, "bad SCL_QUERY: %s", qbd_status_str(r));
		return;
	}
	if (max) {
		e = malloc((size_t)max * sizeof(*e));
		if (!e) {
			st_reply_err(c, hi, QBD_E_NOMEM, "out of memory");
			return;
		}
	}
	memset(&rep, 0, sizeof(rep));
	i = st_seg_first_above(s, from);
	{
		uint64_t last = 0;

		if (i > 0)
			last = s->recs[i - 1].lsn;
		if (s->coalesced <= from && s->coalesced > last)
			last = s->coalesced;
		rep.last_le_from = qbd_cpu64(last);
	}
	for (; i < s->nrecs; i++) {
		if (s->recs[i].bad)
			continue;
		if (n == max) {
			rep.flags = qbd_cpu32(QBD_SCL_F_MORE);
			break;
		}
		e[n].lsn = qbd_cpu64(s->recs[i].lsn);
		e[n].prev_lsn = qbd_cpu64(s->recs[i].prev_lsn);
		n++;
	}
	rep.scl = qbd_cpu64(s->scl);
	rep.max_lsn = qbd_cpu64(s->max_lsn);
	rep.vcl_hint = qbd_cpu64(s->vcl_hint);
	if (s->ntruncs) {
		rep.trunc_start = qbd_cpu64(s->truncs[s->ntruncs - 1].start);
		rep.trunc_end = qbd_cpu64(s->truncs[s->ntruncs - 1].end);
	}
	rep.epoch = qbd_cpu64(v ? v->epoch : 0);
	rep.nentries = qbd_cpu32(n);
	st_reply(c, hi, QBD_MSG_SCL_REPLY, 0, &rep, sizeof(rep), e,
		 n * sizeof(*e));
	free(e);
}
