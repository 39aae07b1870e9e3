// SPDX-License-Identifier: GPL-2.0
/*
 * qbd I/O: turning block requests into redo log records and reads, and
 * completing them from the replies.
 *
 * Writes. A request is split at protection group boundaries (at most two
 * pieces: requests are <= 1 MiB and PGs >= 1 MiB). Each piece takes the
 * next LSN of the volume (qbd_q_alloc, which also yields the PG back-link)
 * and becomes one record, CRC'd once and sent to every live node. The
 * request then waits on qd->pending, which is in LSN order, until VCL
 * covers its highest LSN: acks move segment SCLs, SCLs move PGCL and VCL
 * (qbd_quorum.c), and every pending request at or below VCL completes.
 * DISCARD and WRITE_ZEROES are records without data; FLUSH allocates
 * nothing and waits for the highest LSN allocated so far. The last record of
 * every request is a consistency point for VDL.
 *
 * Reads. Each piece is read as of its PG's read point (the newest record of
 * the PG <= VCL at issue) from one node whose SCL covers it, chosen by
 * measured latency. An error reply, a bad checksum, a timeout or the death
 * of the node re-issues the piece to another node.
 *
 * A request completes when its reference count drops to zero: one reference
 * belongs to the issuer while it still touches the pages, one to the result
 * (dropped by qbd_cmd_decide), and one to each queued read retry.
 */
#include <linux/blk-mq.h>
#include <linux/crc32.h>
#include <linux/highmem.h>
#include <linux/timekeeping.h>

#include "qbd.h"

int qbd_rq_xfer(struct request *rq, u32 off, u32 len,
		int (*fn)(void *arg, struct page *page, u32 poff, u32 len),
		void *arg)
{
	struct req_iterator iter;
	struct bio_vec bv;
	u32 pos = 0, end = off + len, done = 0;
	int ret;

	if (!len)
		return 0;
	rq_for_each_segment(bv, rq, iter) {
		u32 s = pos, e = pos + bv.bv_len, skip, n;

		pos = e;
		if (e <= off)
			continue;
		if (s >= end)
			break;
		skip = off > s ? off - s : 0;
		n = min(e, end) - (s + skip);
		ret = fn(arg, bv.bv_page, bv.bv_offset + skip, n);
		if (ret)
			return ret;
		done += n;
	}
	return done == len ? 0 : -EIO;
}

/* raw CRC32C register (no inversions) over the data: combined below */
static int qbd_crc_page(void *arg, struct page *page, u32 poff, u32 len)
{
	u32 *crc = arg;
	void *p = kmap_local_page(page);

	*crc = __crc32c_le(*crc, p + poff, len);
	kunmap_local(p);
	return 0;
}

/* split [pos, pos + bytes) at PG boundaries into cmd->piece[] */
static int qbd_split(struct qbd_device *qd, struct request *rq,
		     struct qbd_cmd *cmd)
{
	u64 lba = blk_rq_pos(rq) >> (QBD_BLOCK_SHIFT - SECTOR_SHIFT);
	u32 bytes = blk_rq_bytes(rq), off = 0;
	u32 nblocks = bytes >> QBD_BLOCK_SHIFT;

	if ((blk_rq_pos(rq) & ((QBD_BLOCK_SIZE >> SECTOR_SHIFT) - 1)) ||
	    (bytes & (QBD_BLOCK_SIZE - 1)) || !nblocks ||
	    nblocks > QBD_MAX_IO_BLOCKS)
		return -EINVAL;
	cmd->npieces = 0;
	while (nblocks) {
		struct qbd_piece *p = &cmd->piece[cmd->npieces];
		u64 pg = div64_u64(lba, qd->pg_blocks);
		u64 room = (pg + 1) * qd->pg_blocks - lba;
		u32 n = min_t(u64, nblocks, room);

		if (cmd->npieces == QBD_MAX_PIECES || pg >= qd->npgs)
			return -EINVAL;
		p->pg = pg;
		p->lba = lba;
		p->nblocks = n;
		p->off = off;
		cmd->npieces++;
		lba += n;
		off += n << QBD_BLOCK_SHIFT;
		nblocks -= n;
	}
	return 0;
}

static void qbd_cmd_start(struct qbd_device *qd, struct request *rq)
{
	atomic_inc(&qd->inflight_cmds);
	blk_mq_start_request(rq);
}

void qbd_cmd_put(struct qbd_cmd *cmd)
{
	if (atomic_dec_and_test(&cmd->refs))
		blk_mq_complete_request(blk_mq_rq_from_pdu(cmd));
}

/* choose the result once; the request completes when the issuer is done */
void qbd_cmd_decide(struct qbd_cmd *cmd, blk_status_t status)
{
	struct qbd_device *qd = cmd->qd;

	spin_lock(&qd->lock);
	if (test_and_set_bit(QBD_CMD_F_DECIDED, &cmd->flags)) {
		spin_unlock(&qd->lock);
		return;
	}
	list_del_init(&cmd->pending);
	cmd->status = status;
	if (status)
		qd->ctr[QBD_C_IO_ERRORS]++;
	spin_unlock(&qd->lock);
	qbd_cmd_put(cmd);
}

/* complete every pending write covered by VCL, or all of them with fail */
void qbd_complete_pending(struct qbd_device *qd, bool fail)
{
	struct qbd_cmd *cmd, *tmp;
	LIST_HEAD(done);

	spin_lock(&qd->lock);
	list_for_each_entry_safe(cmd, tmp, &qd->pending, pending) {
		if (!fail && cmd->lsn > qd->q.vcl)
			break;
		list_move_tail(&cmd->pending, &done);
		set_bit(QBD_CMD_F_DECIDED, &cmd->flags);
		cmd->status = fail ? BLK_STS_IOERR : BLK_STS_OK;
		if (fail)
			qd->ctr[QBD_C_IO_ERRORS]++;
	}
	spin_unlock(&qd->lock);
	list_for_each_entry_safe(cmd, tmp, &done, pending) {
		list_del_init(&cmd->pending);
		qbd_cmd_put(cmd);
	}
}

static bool qbd_writes_blocked(struct qbd_device *qd)
{
	return qd->closing || qd->fenced || qd->state == QBD_DEV_S_FAILED;
}

static u16 qbd_rec_kind(enum req_op op)
{
	switch (op) {
	case REQ_OP_DISCARD:
		return QBD_REC_DISCARD;
	case REQ_OP_WRITE_ZEROES:
		return QBD_REC_WRITE_ZEROES;
	default:
		return QBD_REC_WRITE;
	}
}

/* seal one record and send it to every live node */
static void qbd_send_piece(struct qbd_device *qd, struct request *rq,
			   struct qbd_rec_info *ri, u32 off)
{
	struct qbd_rec_track *tr = &qd->recs[ri->lsn & (qd->window - 1)];
	struct qbd_record rec;
	u32 raw = 0, pcrc, n;

	qbd_record_fill(&rec, ri);
	qbd_rq_xfer(rq, off, ri->data_len, qbd_crc_page, &raw);
	rec.rec_crc = cpu_to_le32(qbd_crc_combine(&rec, sizeof(rec), raw,
						  ri->data_len));
	pcrc = qbd_crc_combine(&rec, sizeof(rec), raw, ri->data_len);

	for (n = 0; n < QBD_NODES; n++) {
		struct qbd_conn *conn = qbd_conn_get_node(qd, n);

		if (!conn)
			continue;
		spin_lock(&qd->lock);
		if (tr->lsn == ri->lsn)
			tr->sent |= 1U << n;
		spin_unlock(&qd->lock);
		qbd_send_record(conn, rq, &rec, off, ri->data_len, pcrc);
		qbd_conn_put(conn);
	}
}

blk_status_t qbd_queue_write(struct qbd_device *qd, struct request *rq)
{
	struct qbd_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct qbd_rec_info ri[QBD_MAX_PIECES] = { };
	u16 kind = qbd_rec_kind(cmd->op);
	u16 wflags = 0;
	int i;

	if (qbd_split(qd, rq, cmd))
		return BLK_STS_IOERR;
	if (rq->cmd_flags & (REQ_FUA | REQ_PREFLUSH))
		wflags = QBD_REC_F_FLUSH;

	spin_lock(&qd->lock);
	if (qbd_writes_blocked(qd) || (qd->flags & QBD_CFLAG_READ_ONLY)) {
		spin_unlock(&qd->lock);
		return BLK_STS_IOERR;
	}
	/* room for every piece in the in-flight window, or try again later */
	if (qd->q.next_lsn + cmd->npieces - 2 - qd->q.vcl >= qd->window) {
		spin_unlock(&qd->lock);
		return BLK_STS_RESOURCE;
	}
	for (i = 0; i < cmd->npieces; i++) {
		struct qbd_piece *p = &cmd->piece[i];
		struct qbd_rec_track *tr;

		ri[i].lsn = qbd_q_alloc(&qd->q, p->pg, i == cmd->npieces - 1,
					&ri[i].prev_lsn);
		ri[i].lba = p->lba;
		ri[i].nblocks = p->nblocks;
		ri[i].pg = p->pg;
		ri[i].kind = kind;
		ri[i].flags = wflags;
		ri[i].vcl_hint = qd->q.vcl;
		ri[i].low_water = qd->low_water;
		ri[i].data_len = qbd_record_data_len(kind, p->nblocks);
		p->lsn = ri[i].lsn;
		tr = &qd->recs[ri[i].lsn & (qd->window - 1)];
		tr->lsn = ri[i].lsn;
		tr->pg = p->pg;
		tr->sent = 0;
		tr->acked = 0;
	}
	cmd->lsn = ri[cmd->npieces - 1].lsn;
	list_add_tail(&cmd->pending, &qd->pending);
	qd->ctr[QBD_C_WRITES]++;
	qd->ctr[QBD_C_RECORDS] += cmd->npieces;
	spin_unlock(&qd->lock);

	qbd_cmd_start(qd, rq);
	for (i = 0; i < cmd->npieces; i++)
		qbd_send_piece(qd, rq, &ri[i], cmd->piece[i].off);
	qbd_cmd_put(cmd);
	return BLK_STS_OK;
}

blk_status_t qbd_queue_flush(struct qbd_device *qd, struct request *rq)
{
	struct qbd_cmd *cmd = blk_mq_rq_to_pdu(rq);
	bool done;

	spin_lock(&qd->lock);
	if (qbd_writes_blocked(qd)) {
		spin_unlock(&qd->lock);
		return BLK_STS_IOERR;
	}
	/* every LSN allocated so far; the pending list stays in LSN order */
	cmd->lsn = qd->q.next_lsn - 1;
	done = cmd->lsn <= qd->q.vcl;
	if (!done)
		list_add_tail(&cmd->pending, &qd->pending);
	spin_unlock(&qd->lock);

	qbd_cmd_start(qd, rq);
	if (done)
		qbd_cmd_decide(cmd, BLK_STS_OK);
	qbd_cmd_put(cmd);
	return BLK_STS_OK;
}

void qbd_on_ack(struct qbd_conn *conn, u64 handle, u32 pg, u64 lsn, u64 scl,
		bool heartbeat)
{
	struct qbd_device *qd = conn->qd;
	u32 node = conn->node;
	struct qbd_rec_track *tr;
	bool moved = false;

	spin_lock(&qd->lock);
	if (qbd_handle_gen(handle) != conn->gen || pg >= qd->npgs)
		goto stale;
	if (heartbeat) {
		if (qbd_handle_kind(handle) != QBD_H_HB ||
		    (handle & QBD_H_LSN_MASK) != pg)
			goto stale;
	} else {
		tr = &qd->recs[lsn & (qd->window - 1)];
		if (qbd_handle_kind(handle) != QBD_H_WRITE ||
		    (handle & QBD_H_LSN_MASK) != (lsn & QBD_H_LSN_MASK) ||
		    tr->lsn != lsn || tr->pg != pg || !(tr->sent & (1U << node)))
			goto stale;
		tr->acked |= 1U << node;
		qd->node[node].acks++;
	}
	moved = qbd_q_ack(&qd->q, pg, node, scl);
	spin_unlock(&qd->lock);
	if (moved)
		qbd_complete_pending(qd, false);
	return;

stale:
	qd->ctr[QBD_C_STALE_REPLIES]++;
	spin_unlock(&qd->lock);
}

void qbd_on_write_error(struct qbd_conn *conn, u64 handle, u32 status)
{
	struct qbd_device *qd = conn->qd;

	/* the node did not store the record; its peers will fill the gap */
	spin_lock(&qd->lock);
	qd->node[conn->node].errors++;
	spin_unlock(&qd->lock);
}

/* ---- reads ---- */

static void qbd_read_send(struct qbd_device *qd, struct qbd_cmd *cmd, u32 i)
{
	struct request *rq = blk_mq_rq_from_pdu(cmd);
	struct qbd_piece *p = &cmd->piece[i];
	struct qbd_conn *conn = NULL;
	struct qbd_read_req req = { };
	int node;
	u32 tried;
	u16 seq;

	spin_lock(&cmd->lock);
	if (p->done || p->busy || cmd->abort) {
		spin_unlock(&cmd->lock);
		return;
	}
	tried = p->tried;
	spin_unlock(&cmd->lock);

	spin_lock(&qd->lock);
	node = qbd_q_pick_read(&qd->q, p->pg, p->lsn, tried);
	if (node != QBD_Q_NO_NODE) {
		conn = qd->node[node].conn;
		if (qbd_conn_usable(conn)) {
			kref_get(&conn->ref);
			qd->node[node].reads++;
		} else {
			conn = NULL;
		}
	}
	spin_unlock(&qd->lock);

	spin_lock(&cmd->lock);
	seq = atomic_inc_return(&qd->read_seq);
	p->seq = seq;
	p->retry = false;
	p->sent_at = jiffies;
	p->sent_ns = ktime_get_ns();
	if (conn) {
		p->node = node;
		p->tried |= 1U << node;
	} else {
		/* nobody qualifies now: the tick tries again, all nodes */
		p->node = QBD_Q_NO_NODE;
		p->tried = 0;
	}
	spin_unlock(&cmd->lock);
	if (!conn)
		return;

	req.lba = cpu_to_le64(p->lba);
	req.nblocks = cpu_to_le32(p->nblocks);
	req.read_lsn = cpu_to_le64(p->lsn);
	qbd_send_msg(conn, QBD_MSG_READ,
		     qbd_handle(QBD_H_READ, conn->gen,
				qbd_read_cookie(blk_mq_unique_tag(rq), i, seq)),
		     p->pg, &req, sizeof(req));
	qbd_conn_put(conn);
}

blk_status_t qbd_queue_read(struct qbd_device *qd, struct request *rq)
{
	struct qbd_cmd *cmd = blk_mq_rq_to_pdu(rq);
	u64 points[QBD_MAX_PIECES];
	int i;

	if (qbd_split(qd, rq, cmd))
		return BLK_STS_IOERR;
	spin_lock(&qd->lock);
	if (qd->closing || qd->fenced) {
		spin_unlock(&qd->lock);
		return BLK_STS_IOERR;
	}
	cmd->issue_vcl = qd->q.vcl;
	for (i = 0; i < cmd->npieces; i++)
		points[i] = qbd_q_read_point(&qd->q, cmd->piece[i].pg);
	qd->ctr[QBD_C_READS]++;
	spin_unlock(&qd->lock);

	spin_lock(&cmd->lock);
	cmd->is_read = true;
	for (i = 0; i < cmd->npieces; i++) {
		struct qbd_piece *p = &cmd->piece[i];

		p->lsn = points[i];
		p->node = QBD_Q_NO_NODE;
		p->seq = atomic_inc_return(&qd->read_seq);
		p->tried = 0;
		p->busy = false;
		p->done = false;
		p->retry = false;
	}
	spin_unlock(&cmd->lock);

	qbd_cmd_start(qd, rq);
	for (i = 0; i < cmd->npieces; i++)
		qbd_read_send(qd, cmd, i);
	qbd_cmd_put(cmd);
	return BLK_STS_OK;
}

void qbd_read_retry_work(struct work_struct *work)
{
	struct qbd_cmd *cmd = container_of(work, struct qbd_cmd, retry_work);
	struct qbd_device *qd = cmd->qd;
	bool again[QBD_MAX_PIECES];
	bool fail;
	int i;

	spin_lock(&cmd->lock);
	if (READ_ONCE(qd->aborting))
		cmd->abort = true;
	fail = cmd->abort;
	for (i = 0; i < cmd->npieces; i++) {
		struct qbd_piece *p = &cmd->piece[i];

		again[i] = !p->done && !p->busy &&
			   (p->retry || p->node == QBD_Q_NO_NODE);
		if (p->busy)
			fail = false;
	}
	spin_unlock(&cmd->lock);
	if (fail) {
		qbd_cmd_decide(cmd, BLK_STS_IOERR);
	} else if (!cmd->abort) {
		for (i = 0; i < cmd->npieces; i++)
			if (again[i])
				qbd_read_send(qd, cmd, i);
	}
	qbd_cmd_put(cmd);
}

/* re-issue failed pieces from the device workqueue */
static void qbd_read_retry(struct qbd_cmd *cmd)
{
	struct qbd_device *qd = cmd->qd;

	if (!atomic_inc_not_zero(&cmd->refs))
		return;
	spin_lock(&qd->lock);
	qd->ctr[QBD_C_READ_RETRIES]++;
	spin_unlock(&qd->lock);
	if (!queue_work(qd->wq, &cmd->retry_work))
		qbd_cmd_put(cmd);
}

static struct qbd_cmd *qbd_read_lookup(struct qbd_conn *conn, u64 handle,
				       u32 *piece, u16 *seq)
{
	struct qbd_device *qd = conn->qd;
	u32 utag = handle & 0xffffffff;
	u32 hwq = blk_mq_unique_tag_to_hwq(utag);
	u32 tag = blk_mq_unique_tag_to_tag(utag);
	struct request *rq;

	if (qbd_handle_kind(handle) != QBD_H_READ ||
	    qbd_handle_gen(handle) != conn->gen ||
	    hwq >= qd->tag_set.nr_hw_queues ||
	    tag >= qd->tag_set.queue_depth)
		return NULL;
	*piece = (handle >> 48) & 0xf;
	*seq = (handle >> 32) & 0xffff;
	if (*piece >= QBD_MAX_PIECES)
		return NULL;
	rq = blk_mq_tag_to_rq(qd->tag_set.tags[hwq], tag);
	return rq ? blk_mq_rq_to_pdu(rq) : NULL;
}

/* the piece this reply answers, if it is still wanted; mark it busy */
struct qbd_cmd *qbd_read_claim(struct qbd_conn *conn, u64 handle,
			       u64 lba, u32 nblocks, u32 *piece)
{
	struct qbd_cmd *cmd;
	struct qbd_piece *p;
	bool ok;
	u16 seq;

	cmd = qbd_read_lookup(conn, handle, piece, &seq);
	if (!cmd)
		return NULL;
	spin_lock(&cmd->lock);
	p = &cmd->piece[*piece];
	ok = cmd->is_read && *piece < cmd->npieces && p->seq == seq &&
	     p->node == conn->node && !p->busy && !p->done && !cmd->abort &&
	     !test_bit(QBD_CMD_F_DECIDED, &cmd->flags) &&
	     p->lba == lba && p->nblocks == nblocks;
	if (ok)
		p->busy = true;
	spin_unlock(&cmd->lock);
	return ok ? cmd : NULL;
}

void qbd_read_finish(struct qbd_conn *conn, struct qbd_cmd *cmd, u32 piece,
		     u64 scl, bool ok, u32 status)
{
	struct qbd_device *qd = conn->qd;
	struct qbd_piece *p = &cmd->piece[piece];
	bool moved = false, all = true, abort;
	u64 us = div_u64(ktime_get_ns() - p->sent_ns, NSEC_PER_USEC);
	int i;

	spin_lock(&qd->lock);
	if (ok) {
		qbd_q_note_latency(&qd->q, p->pg, conn->node,
				   min_t(u64, us, U32_MAX));
		moved = qbd_q_ack(&qd->q, p->pg, conn->node, scl);
	} else {
		qd->node[conn->node].errors++;
	}
	spin_unlock(&qd->lock);
	if (moved)
		qbd_complete_pending(qd, false);

	spin_lock(&cmd->lock);
	p->busy = false;
	if (ok)
		p->done = true;
	else
		p->retry = true;
	for (i = 0; i < cmd->npieces; i++)
		all &= cmd->piece[i].done;
	abort = cmd->abort;
	spin_unlock(&cmd->lock);

	if (abort)
		qbd_cmd_decide(cmd, BLK_STS_IOERR);
	else if (all)
		qbd_cmd_decide(cmd, BLK_STS_OK);
	else if (!ok)
		qbd_read_retry(cmd);
}

void qbd_on_read_error(struct qbd_conn *conn, u64 handle, u32 status)
{
	struct qbd_device *qd = conn->qd;
	struct qbd_cmd *cmd;
	struct qbd_piece *p;
	u32 piece;
	bool ok;
	u16 seq;

	spin_lock(&qd->lock);
	qd->node[conn->node].errors++;
	if (status == QBD_E_NOT_YET)
		qd->ctr[QBD_C_NOT_YET]++;
	spin_unlock(&qd->lock);

	cmd = qbd_read_lookup(conn, handle, &piece, &seq);
	if (!cmd)
		return;
	spin_lock(&cmd->lock);
	p = &cmd->piece[piece];
	ok = cmd->is_read && piece < cmd->npieces && p->seq == seq &&
	     p->node == conn->node && !p->busy && !p->done;
	if (ok)
		p->retry = true;
	spin_unlock(&cmd->lock);
	if (ok)
		qbd_read_retry(cmd);
}

/* ---- tick: read deadlines, node deaths, low water ---- */

struct qbd_scan {
	struct qbd_device *qd;
	unsigned long now;
	u32 alive;
	bool fail;
	u64 low;
	u32 timeouts;
};

static bool qbd_scan_one(struct request *rq, void *data)
{
	struct qbd_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct qbd_scan *sc = data;
	struct qbd_device *qd = sc->qd;
	bool need = false, fail = false, busy = false;
	int i;

	spin_lock(&cmd->lock);
	if (!cmd->is_read || test_bit(QBD_CMD_F_DECIDED, &cmd->flags)) {
		spin_unlock(&cmd->lock);
		return true;
	}
	sc->low = min(sc->low, cmd->issue_vcl);
	if (sc->fail || time_after(sc->now, cmd->start + qd->dead_timeout +
				   qd->io_timeout))
		cmd->abort = true;
	for (i = 0; i < cmd->npieces; i++) {
		struct qbd_piece *p = &cmd->piece[i];
		bool late;

		busy |= p->busy;
		if (p->done || p->busy)
			continue;
		late = time_after(sc->now, p->sent_at + qd->io_timeout);
		if (p->node == QBD_Q_NO_NODE || late ||
		    !(sc->alive & (1U << p->node))) {
			sc->timeouts += late && p->node != QBD_Q_NO_NODE;
			p->retry = true;
			need = true;
		}
	}
	fail = cmd->abort && !busy;
	spin_unlock(&cmd->lock);
	if (fail)
		qbd_cmd_decide(cmd, BLK_STS_IOERR);
	else if (need && !cmd->abort)
		qbd_read_retry(cmd);
	return true;
}

static void qbd_scan(struct qbd_device *qd, bool fail)
{
	struct qbd_scan sc = { .qd = qd, .now = jiffies, .fail = fail };
	u32 n;

	spin_lock(&qd->lock);
	for (n = 0; n < QBD_NODES; n++)
		if (qbd_conn_usable(qd->node[n].conn))
			sc.alive |= 1U << n;
	sc.low = qd->q.vcl;
	spin_unlock(&qd->lock);

	blk_mq_tagset_busy_iter(&qd->tag_set, qbd_scan_one, &sc);

	spin_lock(&qd->lock);
	qd->low_water = sc.low;
	qd->ctr[QBD_C_TIMEOUTS] += sc.timeouts;
	spin_unlock(&qd->lock);
}

void qbd_scan_reads(struct qbd_device *qd)
{
	qbd_scan(qd, READ_ONCE(qd->aborting) || READ_ONCE(qd->fenced));
}

/* fail every request in flight: abort, fencing */
void qbd_fail_all(struct qbd_device *qd)
{
	qbd_complete_pending(qd, true);
	qbd_scan(qd, true);
}

/* the node's lowest SCL over all PGs; caller holds qd->lock */
u64 qbd_node_scl(struct qbd_device *qd, u32 node)
{
	u64 scl = U64_MAX;
	u32 pg;

	for (pg = 0; pg < qd->npgs; pg++)
		scl = min(scl, qd->pgs[pg].slot[node].scl);
	return qd->npgs ? scl : 0;
}
