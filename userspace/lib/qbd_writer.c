// SPDX-License-Identifier: GPL-2.0
/*
 * The userspace writer (see qbd_writer.h): the same data path as qbd.ko.
 *
 *   submit -> submit queue (mutex) -> event loop:
 *     writes:  records (one per PG piece, <= 256 blocks) get LSNs from the
 *              quorum unit, go out as LOG_WRITE to every live segment of
 *              their PG, and stay in the in-flight ring until VCL passes
 *              them; LOG_ACK SCLs feed qbd_q_ack(); a request completes
 *              when its highest LSN <= VCL
 *     reads:   one READ per PG piece, as of the PG's read point, to the
 *              segment qbd_q_pick_read() chooses; NOT_YET, a checksum error,
 *              an error reply, a timeout or a dead node retry elsewhere
 *     ticks:   heartbeats for lagging PG SCLs and liveness, node timeouts,
 *              reconnects, request timeouts when quorum is lost
 *
 * Everything below the submit queue is owned by the loop thread; the mutex
 * protects only the submit queue, the stop flags, the error text and the
 * published stats snapshot.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include "log.h"
#include "qbd_conn.h"
#include "qbd_quorum.h"
#include "qbd_writer.h"

enum { OP_WRITE, OP_READ, OP_DISCARD, OP_ZEROES, OP_FLUSH };

/* handle = kind << 60 | value */
#define H_WRITE		1ULL
#define H_READ		2ULL
#define H_HB		3ULL
#define H_KIND(h)	((h) >> 60)
#define H_VAL(h)	((h) & ((1ULL << 60) - 1))
#define H_MAKE(k, v)	(((k) << 60) | ((v) & ((1ULL << 60) - 1)))

#define TICK_MS		10
#define READ_RETRY_US	20000

struct wreq {
	struct wreq *next;
	int op;
	u32 flags;
	u64 lba;
	u32 nblocks;
	u8 *data;		/* write: private copy; read: caller buffer */
	qbd_io_cb cb;
	void *arg;
	u64 submit_us;
	u64 max_lsn;		/* writes, flushes: done when <= VCL */
	u32 pieces_left;	/* reads */
	int result;
};

/* one record in flight (LSN > VCL) */
struct wrec {
	u64 lsn;
	struct wreq *req;	/* NULL once the request failed */
	u32 pg;
	u32 len;		/* qbd_record + data */
	u64 payload[];		/* qbd_record + data, 8-byte aligned */
};

/* one READ message's worth of a read request */
struct wread {
	struct wread *next;
	struct wreq *req;
	u32 pg;
	u32 nblocks;
	u64 lba;
	u8 *dst;
	u64 read_lsn;
	int slot;		/* -1: waiting to be (re)sent */
	u32 exclude;
	u64 handle;
	u64 sent_us;
	u64 retry_at_us;
};

struct wnode {
	struct qbd_node_addr addr;
	int fd;
	int live;
	/* receive state */
	u8 hbuf[QBD_WIRE_HDR_SIZE];
	u32 hgot;
	struct qbd_hdr_info hi;
	u8 *pbuf;
	u32 pcap, pgot;
	int in_payload;
	/* liveness */
	u32 outstanding;
	u64 progress_us;	/* last reply, or when outstanding became > 0 */
	u64 last_rx_us;
	u64 next_reconnect_us;
	u8 *hb_pending;		/* per PG */
	struct qbd_vol_node_stats st;
};

struct qbd_vol {
	struct qbd_geom g;
	struct qbd_cluster c;
	struct qbd_writer_opts o;
	u64 epoch;
	u64 trunc_start, trunc_end;	/* this writer's recovery range */

	struct qbd_quorum q;
	struct qbd_q_pg *qpg;
	struct qbd_q_entry *qring;
	struct wrec **ring;		/* window entries, by lsn */
	u64 ring_lo;			/* lowest LSN that may be in ring */
	struct wnode node[QBD_PG_NODES];

	pthread_t thread;
	int efd;
	pthread_mutex_t lock;
	struct wreq *sub_head, *sub_tail;	/* under lock */
	int stop, abort;			/* under lock */
	char errmsg[256];			/* under lock */
	struct qbd_vol_stats snap;		/* under lock */

	/* loop thread only */
	struct wreq *wait_head, *wait_tail;
	struct wreq *infl_head, *infl_tail;
	struct wreq *done_head, *done_tail;
	struct wread *reads;
	u64 read_seq;
	u64 last_hb_us;
	int fenced;
	struct qbd_vol_stats st;
};

static void vol_error(struct qbd_vol *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void vol_error(struct qbd_vol *v, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&v->lock);
	memcpy(v->errmsg, buf, sizeof(buf));
	pthread_mutex_unlock(&v->lock);
	qbd_err("volume %llu: %s", (unsigned long long)v->g.volume, buf);
}

void qbd_vol_error(struct qbd_vol *v, char *buf, size_t len)
{
	pthread_mutex_lock(&v->lock);
	snprintf(buf, len, "%s", v->errmsg);
	pthread_mutex_unlock(&v->lock);
}

const struct qbd_geom *qbd_vol_geom(struct qbd_vol *v)
{
	return &v->g;
}

/* ------------------------------------------------------------------ */
/* request lists                                                       */

static void push(struct wreq **head, struct wreq **tail, struct wreq *r)
{
	r->next = NULL;
	if (*tail)
		(*tail)->next = r;
	else
		*head = r;
	*tail = r;
}

static void complete(struct qbd_vol *v, struct wreq *r, int result)
{
	r->result = result;
	push(&v->done_head, &v->done_tail, r);
}

/* forget a failed write's records: they stay in flight without an owner */
static void orphan_records(struct qbd_vol *v, struct wreq *r)
{
	u64 lsn;

	for (lsn = v->q.vcl + 1; lsn < v->q.next_lsn; lsn++) {
		struct wrec *w = v->ring[lsn & (v->q.window - 1)];

		if (w && w->req == r)
			w->req = NULL;
	}
}

/* ------------------------------------------------------------------ */
/* nodes                                                               */

static void node_reset_rx(struct wnode *n)
{
	n->hgot = 0;
	n->pgot = 0;
	n->in_payload = 0;
}

static void read_requeue(struct qbd_vol *v, struct wread *rd, int exclude)
{
	if (exclude && rd->slot >= 0)
		rd->exclude |= 1U << rd->slot;
	rd->slot = -1;
	rd->retry_at_us = 0;
}

static void node_dead(struct qbd_vol *v, int slot, const char *why)
{
	struct wnode *n = &v->node[slot];
	struct wread *rd;
	u32 pg;

	if (!n->live)
		return;
	qbd_warn("volume %llu: node %u (%s:%u) dead: %s",
		 (unsigned long long)v->g.volume, n->addr.id, n->addr.host,
		 n->addr.port, why);
	close(n->fd);
	n->fd = -1;
	n->live = 0;
	n->outstanding = 0;
	n->st.deaths++;
	n->next_reconnect_us = qbd_now_us() + (u64)v->o.reconnect_ms * 1000;
	node_reset_rx(n);
	for (pg = 0; pg < v->g.npgs; pg++) {
		qbd_q_set_state(&v->q, pg, (u32)slot, QBD_Q_SLOT_DEAD);
		n->hb_pending[pg] = 0;
	}
	for (rd = v->reads; rd; rd = rd->next)
		if (rd->slot == slot) {
			v->st.read_retries++;
			read_requeue(v, rd, 1);
		}
}

static void set_fenced(struct qbd_vol *v, int slot)
{
	if (v->fenced)
		return;
	v->fenced = 1;
	vol_error(v, "fenced: node %u reports a newer epoch than ours (%llu); another writer took over",
		  v->node[slot].addr.id, (unsigned long long)v->epoch);
}

static int node_send(struct qbd_vol *v, int slot, u16 type, u64 handle,
		     u32 pg, const void *payload, u32 len)
{
	struct wnode *n = &v->node[slot];
	struct qbd_wire_hdr h;
	struct iovec iov = { .iov_base = (void *)payload, .iov_len = len };
	int r;

	if (!n->live)
		return -ENOTCONN;
	qbd_hdr_init(&h, type, handle, v->g.volume, v->epoch, pg);
	r = qbd_send_msg(n->fd, &h, &iov, len ? 1 : 0, v->o.io_timeout_ms);
	if (r) {
		char why[64];

		snprintf(why, sizeof(why), "send: %s", strerror(-r));
		node_dead(v, slot, why);
		return r;
	}
	n->st.sent_bytes += QBD_WIRE_HDR_SIZE + len;
	if (!n->outstanding++)
		n->progress_us = qbd_now_us();
	return 0;
}

static void send_record(struct qbd_vol *v, int slot, struct wrec *w)
{
	if (!node_send(v, slot, QBD_MSG_LOG_WRITE, H_MAKE(H_WRITE, w->lsn),
		       w->pg, w->payload, w->len))
		v->st.write_wire_bytes += QBD_WIRE_HDR_SIZE + w->len;
}

static void send_heartbeat(struct qbd_vol *v, int slot, u32 pg)
{
	if (v->node[slot].hb_pending[pg])
		return;
	if (!node_send(v, slot, QBD_MSG_HEARTBEAT, H_MAKE(H_HB, pg), pg,
		       NULL, 0))
		v->node[slot].hb_pending[pg] = 1;
}

/*
 * A node that missed this writer's recovery TRUNCATE (it was down) may
 * still hold records in the range: send it unless the node reports the
 * range as its newest truncation already.
 */
static int ensure_truncated(struct qbd_vol *v, int fd, u32 pg,
			    struct qbd_msg *m, char *msg, size_t msglen)
{
	struct qbd_scl_query q = { .from_lsn = 0, .max_entries = qbd_cpu32(1) };
	struct qbd_truncate t = {
		.start = qbd_cpu64(v->trunc_start),
		.end = qbd_cpu64(v->trunc_end),
	};
	struct iovec iov = { .iov_base = &q, .iov_len = sizeof(q) };
	struct qbd_scl_info si;
	struct qbd_wire_hdr h;
	int r;

	qbd_hdr_init(&h, QBD_MSG_SCL_QUERY, pg + 1, v->g.volume, v->epoch, pg);
	r = qbd_rpc(fd, &h, &iov, 1, QBD_MSG_SCL_REPLY, m, v->o.io_timeout_ms,
		    msg, msglen);
	if (r)
		return r;
	if (!qbd_scl_reply_decode(m->payload, m->hi.payload_len, &si) &&
	    si.trunc_start == v->trunc_start && si.trunc_end == v->trunc_end)
		return 0;
	iov.iov_base = &t;
	iov.iov_len = sizeof(t);
	qbd_hdr_init(&h, QBD_MSG_TRUNCATE, pg + 1, v->g.volume, v->epoch, pg);
	return qbd_rpc(fd, &h, &iov, 1, QBD_MSG_TRUNCATE_OK, m,
		       v->o.io_timeout_ms, msg, msglen);
}

/* HELLO WRITER, make sure of this writer's TRUNCATE, resend the ring */
static void node_reconnect(struct qbd_vol *v, int slot)
{
	struct wnode *n = &v->node[slot];
	struct qbd_hello_args ha = {
		.role = QBD_ROLE_WRITER, .volume = v->g.volume,
		.epoch = v->epoch, .secret = v->o.secret,
	};
	int tmo = v->o.io_timeout_ms < 1000 ? v->o.io_timeout_ms : 1000;
	char msg[QBD_ERRLEN];
	struct qbd_msg m;
	u64 lsn;
	u32 pg;
	int fd, r;

	n->next_reconnect_us = qbd_now_us() + (u64)v->o.reconnect_ms * 1000;
	r = qbd_connect_node(n->addr.host, n->addr.port, &ha, NULL, tmo, &fd,
			     msg, sizeof(msg));
	if (r == QBD_E_STALE_EPOCH) {
		set_fenced(v, slot);
		return;
	}
	if (r) {
		qbd_dbg("reconnect node %u: %s", n->addr.id, msg);
		return;
	}
	qbd_msg_init(&m);
	for (pg = 0; pg < v->g.npgs && !r; pg++)
		r = ensure_truncated(v, fd, pg, &m, msg, sizeof(msg));
	qbd_msg_free(&m);
	if (r) {
		qbd_warn("reconnect node %u: TRUNCATE: %s", n->addr.id, msg);
		close(fd);
		if (r == QBD_E_STALE_EPOCH)
			set_fenced(v, slot);
		return;
	}
	qbd_info("volume %llu: node %u (%s:%u) reconnected",
		 (unsigned long long)v->g.volume, n->addr.id, n->addr.host,
		 n->addr.port);
	n->fd = fd;
	n->live = 1;
	n->outstanding = 0;
	n->last_rx_us = qbd_now_us();
	n->st.reconnects++;
	node_reset_rx(n);
	for (pg = 0; pg < v->g.npgs; pg++) {
		qbd_q_set_state(&v->q, pg, (u32)slot, QBD_Q_SLOT_LIVE);
		n->hb_pending[pg] = 0;
	}
	for (lsn = v->q.vcl + 1; lsn < v->q.next_lsn && n->live; lsn++) {
		struct wrec *w = v->ring[lsn & (v->q.window - 1)];

		if (w)
			send_record(v, slot, w);
	}
	for (pg = 0; pg < v->g.npgs && n->live; pg++)
		send_heartbeat(v, slot, pg);
}

/* ------------------------------------------------------------------ */
/* completion                                                          */

static void release_records(struct qbd_vol *v)
{
	for (; v->ring_lo <= v->q.vcl && v->ring_lo < v->q.next_lsn;
	     v->ring_lo++) {
		struct wrec **w = &v->ring[v->ring_lo & (v->q.window - 1)];

		free(*w);
		*w = NULL;
	}
}

static void complete_writes(struct qbd_vol *v)
{
	struct wreq *r;

	release_records(v);
	while ((r = v->infl_head) && r->max_lsn <= v->q.vcl) {
		v->infl_head = r->next;
		if (!v->infl_head)
			v->infl_tail = NULL;
		complete(v, r, 0);
	}
}

/* ------------------------------------------------------------------ */
/* writes                                                              */

static u64 low_water(struct qbd_vol *v)
{
	u64 lw = v->q.vcl;
	struct wread *rd;

	for (rd = v->reads; rd; rd = rd->next)
		if (rd->read_lsn < lw)
			lw = rd->read_lsn;
	return lw;
}

static u32 piece_len(const struct qbd_vol *v, u64 lba, u64 end)
{
	u64 pg_end = (lba / v->g.pg_blocks + 1) * v->g.pg_blocks;
	u64 n = (end < pg_end ? end : pg_end) - lba;

	return n > QBD_MAX_IO_BLOCKS ? QBD_MAX_IO_BLOCKS : (u32)n;
}

/* can r get its LSNs now? 0, or -EAGAIN with *why set */
static int write_can_start(struct qbd_vol *v, struct wreq *r, u32 *bad_pg,
			   u32 *live)
{
	u64 lba = r->lba, end = r->lba + r->nblocks;
	u64 k = 0;

	for (; lba < end; lba += piece_len(v, lba, end)) {
		u32 pg = (u32)(lba / v->g.pg_blocks);
		u32 l = qbd_q_live(&v->q, pg);

		if (l < QBD_WRITE_QUORUM) {
			*bad_pg = pg;
			*live = l;
			return -EAGAIN;
		}
		k++;
	}
	if (v->q.next_lsn - v->q.vcl - 1 + k > v->q.window) {
		*bad_pg = ~0U;
		return -EAGAIN;
	}
	return 0;
}

static void start_write(struct qbd_vol *v, struct wreq *r)
{
	u64 lba = r->lba, end = r->lba + r->nblocks, lw = low_water(v);
	u16 kind = r->op == OP_WRITE ? QBD_REC_WRITE :
		r->op == OP_DISCARD ? QBD_REC_DISCARD : QBD_REC_WRITE_ZEROES;
	u32 n;
	int slot;

	for (; lba < end; lba += n) {
		u32 pg = (u32)(lba / v->g.pg_blocks);
		int last = lba + piece_len(v, lba, end) >= end;
		struct qbd_rec_info ri = { 0 };
		struct wrec *w;
		u64 prev;

		n = piece_len(v, lba, end);
		ri.data_len = qbd_record_data_len(kind, n);
		w = malloc(sizeof(*w) + QBD_RECORD_SIZE + ri.data_len);
		if (!w)
			abort();	/* tiny allocation; no sane recovery */
		ri.lsn = qbd_q_alloc(&v->q, pg, last && (r->flags & QBD_IO_FUA),
				     &prev);
		ri.prev_lsn = prev;
		ri.lba = lba;
		ri.nblocks = n;
		ri.kind = kind;
		ri.flags = last && (r->flags & QBD_IO_FUA) ? QBD_REC_F_FLUSH : 0;
		ri.vcl_hint = v->q.vcl;
		ri.low_water = lw;
		ri.pg = pg;
		w->lsn = ri.lsn;
		w->pg = pg;
		w->req = r;
		w->len = QBD_RECORD_SIZE + ri.data_len;
		if (ri.data_len)
			memcpy((u8 *)w->payload + QBD_RECORD_SIZE,
			       r->data + ((lba - r->lba) << QBD_BLOCK_SHIFT),
			       ri.data_len);
		qbd_record_encode((struct qbd_record *)w->payload, &ri,
				  (u8 *)w->payload + QBD_RECORD_SIZE);
		v->ring[w->lsn & (v->q.window - 1)] = w;
		r->max_lsn = w->lsn;
		v->st.records++;
		for (slot = 0; slot < QBD_PG_NODES; slot++)
			if (v->node[slot].live)
				send_record(v, slot, w);
	}
	free(r->data);
	r->data = NULL;
}

static void dispatch_writes(struct qbd_vol *v)
{
	struct wreq *r;
	u64 now = qbd_now_us();

	while ((r = v->wait_head)) {
		u32 bad_pg = 0, live = 0;

		if (v->fenced) {
			v->wait_head = r->next;
			complete(v, r, -EIO);
			continue;
		}
		if (r->op != OP_FLUSH && write_can_start(v, r, &bad_pg, &live)) {
			if (now - r->submit_us < (u64)v->o.dead_timeout_ms * 1000)
				break;
			v->wait_head = r->next;
			v->st.io_errors++;
			if (bad_pg == ~0U)
				vol_error(v, "write at lba %llu failed: in-flight window full for %d ms",
					  (unsigned long long)r->lba,
					  v->o.dead_timeout_ms);
			else
				vol_error(v, "write at lba %llu failed: PG %u has %u live segments (need %d) for %d ms",
					  (unsigned long long)r->lba, bad_pg,
					  live, QBD_WRITE_QUORUM,
					  v->o.dead_timeout_ms);
			complete(v, r, -EIO);
			continue;
		}
		v->wait_head = r->next;
		if (r->op == OP_FLUSH) {
			r->max_lsn = v->q.next_lsn - 1;
			v->st.flushes++;
		} else {
			start_write(v, r);
			v->st.writes++;
		}
		push(&v->infl_head, &v->infl_tail, r);
	}
	if (!v->wait_head)
		v->wait_tail = NULL;
	complete_writes(v);
}

/* in-flight writes that cannot reach quorum fail after dead_timeout */
static void expire_writes(struct qbd_vol *v, u64 now)
{
	struct wreq **pp = &v->infl_head, *r;

	v->infl_tail = NULL;
	while ((r = *pp)) {
		if (v->fenced || now - r->submit_us >
		    (u64)v->o.dead_timeout_ms * 1000) {
			*pp = r->next;
			orphan_records(v, r);
			v->st.io_errors++;
			if (!v->fenced)
				vol_error(v, "write at lba %llu failed: not durable on %d segments after %d ms (VCL %llu, record %llu)",
					  (unsigned long long)r->lba,
					  QBD_WRITE_QUORUM, v->o.dead_timeout_ms,
					  (unsigned long long)v->q.vcl,
					  (unsigned long long)r->max_lsn);
			complete(v, r, -EIO);
			continue;
		}
		v->infl_tail = r;
		pp = &r->next;
	}
}

/* ------------------------------------------------------------------ */
/* reads                                                               */

static void read_piece_done(struct qbd_vol *v, struct wread *rd, int result)
{
	struct wread **pp;
	struct wreq *r = rd->req;

	for (pp = &v->reads; *pp; pp = &(*pp)->next)
		if (*pp == rd) {
			*pp = rd->next;
			break;
		}
	if (result && !r->result)
		r->result = result;
	free(rd);
	if (!--r->pieces_left)
		complete(v, r, r->result);
}

static int best_fallback(struct qbd_vol *v, u32 pg, u32 exclude)
{
	int s, best = -1;

	for (s = 0; s < QBD_PG_NODES; s++) {
		if (!v->node[s].live || (exclude & (1U << s)))
			continue;
		if (best < 0 || v->qpg[pg].slot[s].scl > v->qpg[pg].slot[best].scl)
			best = s;
	}
	return best;
}

static void send_read(struct qbd_vol *v, struct wread *rd, u64 now)
{
	struct qbd_read_req req;
	int slot;

	for (;;) {
		slot = qbd_q_pick_read(&v->q, rd->pg, rd->read_lsn, rd->exclude);
		if (slot == QBD_Q_NO_NODE)
			slot = best_fallback(v, rd->pg, rd->exclude);
		if (slot < 0) {
			if (now - rd->req->submit_us >
			    (u64)v->o.dead_timeout_ms * 1000) {
				v->st.io_errors++;
				vol_error(v, "read of PG %u at lba %llu failed: no segment could serve read point %llu for %d ms",
					  rd->pg, (unsigned long long)rd->lba,
					  (unsigned long long)rd->read_lsn,
					  v->o.dead_timeout_ms);
				read_piece_done(v, rd, -EIO);
				return;
			}
			/* everyone tried: wait a little, then all again */
			rd->exclude = 0;
			rd->retry_at_us = now + READ_RETRY_US;
			return;
		}
		memset(&req, 0, sizeof(req));
		req.lba = qbd_cpu64(rd->lba);
		req.nblocks = qbd_cpu32(rd->nblocks);
		req.read_lsn = qbd_cpu64(rd->read_lsn);
		rd->handle = H_MAKE(H_READ, ++v->read_seq);
		if (node_send(v, slot, QBD_MSG_READ, rd->handle, rd->pg, &req,
			      sizeof(req))) {
			rd->exclude |= 1U << slot;
			continue;
		}
		rd->slot = slot;
		rd->sent_us = now;
		v->node[slot].st.reads++;
		return;
	}
}

static void start_read(struct qbd_vol *v, struct wreq *r)
{
	u64 lba = r->lba, end = r->lba + r->nblocks, now = qbd_now_us();
	struct wread *rd, *list = NULL, **tail = &list;
	u32 n;

	v->st.reads++;
	r->pieces_left = 0;
	for (; lba < end; lba += n) {
		n = piece_len(v, lba, end);
		rd = calloc(1, sizeof(*rd));
		if (!rd)
			abort();
		rd->req = r;
		rd->pg = (u32)(lba / v->g.pg_blocks);
		rd->lba = lba;
		rd->nblocks = n;
		rd->dst = r->data + ((lba - r->lba) << QBD_BLOCK_SHIFT);
		/* invariant 3: the newest record of the PG that is <= VCL */
		rd->read_lsn = qbd_q_read_point(&v->q, rd->pg);
		rd->slot = -1;
		*tail = rd;
		tail = &rd->next;
		r->pieces_left++;
	}
	/* count every piece first: a failing piece must not complete r early */
	while ((rd = list)) {
		list = rd->next;
		rd->next = v->reads;
		v->reads = rd;
		send_read(v, rd, now);
	}
}

static struct wread *find_read(struct qbd_vol *v, int slot, u64 handle)
{
	struct wread *rd;

	for (rd = v->reads; rd; rd = rd->next)
		if (rd->slot == slot && rd->handle == handle)
			return rd;
	return NULL;
}

static void handle_read_data(struct qbd_vol *v, int slot, struct wread *rd)
{
	struct wnode *n = &v->node[slot];
	const void *data;
	u64 scl, lba;
	u32 nb;
	int st;

	st = qbd_read_reply_decode(n->pbuf, n->hi.payload_len, &scl, &lba,
				   &nb, &data);
	if (!st && (lba != rd->lba || nb != rd->nblocks))
		st = QBD_E_PROTO;
	if (st) {
		qbd_warn("volume %llu: bad READ_DATA from node %u: %s; retrying elsewhere",
			 (unsigned long long)v->g.volume, n->addr.id,
			 qbd_status_str((u32)st));
		n->st.errors++;
		v->st.read_retries++;
		read_requeue(v, rd, 1);
		return;
	}
	qbd_q_ack(&v->q, rd->pg, (u32)slot, scl);
	qbd_q_note_latency(&v->q, rd->pg, (u32)slot,
			   (u32)(qbd_now_us() - rd->sent_us));
	memcpy(rd->dst, data, (size_t)nb << QBD_BLOCK_SHIFT);
	read_piece_done(v, rd, 0);
}

static void retry_reads(struct qbd_vol *v, u64 now)
{
	struct wread *rd, *next;

	for (rd = v->reads; rd; rd = next) {
		next = rd->next;
		if (rd->slot >= 0 && now - rd->sent_us >
		    (u64)v->o.io_timeout_ms * 1000) {
			v->st.timeouts++;
			v->st.read_retries++;
			read_requeue(v, rd, 1);
		}
		if (rd->slot < 0 && rd->retry_at_us <= now)
			send_read(v, rd, now);	/* may free rd */
	}
}

/* ------------------------------------------------------------------ */
/* receive                                                             */

static void handle_error(struct qbd_vol *v, int slot)
{
	struct wnode *n = &v->node[slot];
	u64 h = n->hi.handle;
	struct wread *rd;

	n->st.errors++;
	if (n->hi.status == QBD_E_STALE_EPOCH) {
		set_fenced(v, slot);
		return;
	}
	switch (H_KIND(h)) {
	case H_READ:
		rd = find_read(v, slot, h);
		if (!rd)
			return;
		if (n->hi.status == QBD_E_NOT_YET)
			v->st.not_yet++;
		v->st.read_retries++;
		qbd_dbg("read PG %u from node %u: %s; retrying elsewhere",
			rd->pg, n->addr.id, qbd_status_str(n->hi.status));
		read_requeue(v, rd, 1);
		break;
	case H_HB:
		if (H_VAL(h) < v->g.npgs)
			n->hb_pending[H_VAL(h)] = 0;
		break;
	default:
		qbd_log(n->hi.status == QBD_E_REFUSED ? QBD_LOG_DEBUG : QBD_LOG_WARN,
			"volume %llu: node %u refused record %llu: %s %.*s",
			 (unsigned long long)v->g.volume, n->addr.id,
			 (unsigned long long)H_VAL(h),
			 qbd_status_str(n->hi.status),
			 (int)(n->hi.payload_len > 200 ? 200 : n->hi.payload_len),
			 (const char *)n->pbuf);
	}
}

static void handle_msg(struct qbd_vol *v, int slot)
{
	struct wnode *n = &v->node[slot];
	struct wread *rd;
	u64 lsn, scl;
	u32 pg = n->hi.pg;

	n->last_rx_us = n->progress_us = qbd_now_us();
	if (n->outstanding)
		n->outstanding--;
	switch (n->hi.type) {
	case QBD_MSG_LOG_ACK:
	case QBD_MSG_HEARTBEAT_OK:
		if (pg >= v->g.npgs ||
		    qbd_log_ack_decode(n->pbuf, n->hi.payload_len, &lsn, &scl)) {
			n->st.errors++;
			return;
		}
		if (n->hi.type == QBD_MSG_HEARTBEAT_OK)
			n->hb_pending[pg] = 0;
		else
			n->st.acks++;
		qbd_q_ack(&v->q, pg, (u32)slot, scl);
		break;
	case QBD_MSG_READ_DATA:
		rd = find_read(v, slot, n->hi.handle);
		if (!rd) {
			v->st.stale_replies++;
			return;
		}
		handle_read_data(v, slot, rd);
		break;
	case QBD_MSG_ERROR:
		handle_error(v, slot);
		break;
	default:
		v->st.stale_replies++;
	}
}

/* read what is there; dispatch complete messages */
static void node_rx(struct qbd_vol *v, int slot)
{
	struct wnode *n = &v->node[slot];
	ssize_t got;
	int st;

	while (n->live) {
		if (!n->in_payload) {
			got = recv(n->fd, n->hbuf + n->hgot,
				   QBD_WIRE_HDR_SIZE - n->hgot, MSG_DONTWAIT);
		} else {
			got = n->hi.payload_len - n->pgot;
			if (got)
				got = recv(n->fd, n->pbuf + n->pgot,
					   (size_t)got, MSG_DONTWAIT);
			else
				got = 0;
		}
		if (got < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR)
				continue;
			node_dead(v, slot, strerror(errno));
			return;
		}
		if (got == 0 && !(n->in_payload && n->hi.payload_len == n->pgot)) {
			node_dead(v, slot, "connection closed");
			return;
		}
		if (!n->in_payload) {
			n->hgot += (u32)got;
			if (n->hgot < QBD_WIRE_HDR_SIZE)
				continue;
			st = qbd_hdr_decode((struct qbd_wire_hdr *)n->hbuf,
					    &n->hi);
			if (st) {
				node_dead(v, slot, qbd_status_str((u32)st));
				return;
			}
			if (n->hi.payload_len + 1 > n->pcap) {
				u8 *p = realloc(n->pbuf, n->hi.payload_len + 1);

				if (!p) {
					node_dead(v, slot, "out of memory");
					return;
				}
				n->pbuf = p;
				n->pcap = n->hi.payload_len + 1;
			}
			n->in_payload = 1;
			n->pgot = 0;
			continue;
		}
		n->pgot += (u32)got;
		if (n->pgot < n->hi.payload_len)
			continue;
		n->pbuf[n->pgot] = 0;
		n->hgot = 0;
		n->in_payload = 0;
		if (qbd_payload_check(&n->hi, n->pbuf)) {
			node_dead(v, slot, "payload checksum mismatch");
			return;
		}
		handle_msg(v, slot);
	}
}

/* ------------------------------------------------------------------ */
/* loop                                                                */

static void tick(struct qbd_vol *v, u64 now)
{
	int s;
	u32 pg;

	for (s = 0; s < QBD_PG_NODES; s++) {
		struct wnode *n = &v->node[s];

		if (!n->live) {
			if (!v->fenced && now >= n->next_reconnect_us)
				node_reconnect(v, s);
			continue;
		}
		if (n->outstanding && now - n->progress_us >
		    (u64)v->o.io_timeout_ms * 1000) {
			char why[64];

			snprintf(why, sizeof(why), "no reply for %d ms",
				 v->o.io_timeout_ms);
			v->st.timeouts++;
			node_dead(v, s, why);
		}
	}
	if (now - v->last_hb_us >= (u64)v->o.heartbeat_ms * 1000) {
		v->last_hb_us = now;
		for (s = 0; s < QBD_PG_NODES; s++) {
			struct wnode *n = &v->node[s];

			if (!n->live)
				continue;
			for (pg = 0; pg < v->g.npgs && n->live; pg++)
				if (v->qpg[pg].slot[s].scl < v->qpg[pg].last_lsn)
					send_heartbeat(v, s, pg);
			/* liveness probe for an idle connection */
			if (n->live && !n->outstanding)
				send_heartbeat(v, s, 0);
		}
	}
	retry_reads(v, now);
	expire_writes(v, now);
	dispatch_writes(v);
}

static void publish(struct qbd_vol *v)
{
	struct qbd_vol_stats *s = &v->st;
	int i;
	u32 pg;

	s->epoch = v->epoch;
	s->vcl = v->q.vcl;
	s->vdl = v->q.vdl;
	s->next_lsn = v->q.next_lsn;
	s->fenced = v->fenced;
	s->live_nodes = 0;
	for (i = 0; i < QBD_PG_NODES; i++) {
		struct wnode *n = &v->node[i];
		u64 min = ~0ULL;

		for (pg = 0; pg < v->g.npgs; pg++)
			if (v->qpg[pg].slot[i].scl < min)
				min = v->qpg[pg].slot[i].scl;
		n->st.min_scl = min;
		n->st.state = n->live ? QBD_WNODE_LIVE : QBD_WNODE_DEAD;
		n->st.lat_us = v->qpg[0].slot[i].lat_us;
		s->node[i] = n->st;
		s->live_nodes += n->live;
	}
	pthread_mutex_lock(&v->lock);
	v->snap = *s;
	pthread_mutex_unlock(&v->lock);
}

static void run_callbacks(struct qbd_vol *v)
{
	struct wreq *r;

	while ((r = v->done_head)) {
		v->done_head = r->next;
		if (!v->done_head)
			v->done_tail = NULL;
		if (r->op != OP_READ)
			free(r->data);
		if (r->cb)
			r->cb(r->arg, r->result);
		free(r);
	}
}

static void take_submissions(struct qbd_vol *v)
{
	struct wreq *r, *next;
	u64 val;

	if (read(v->efd, &val, sizeof(val)) < 0 && errno != EAGAIN)
		qbd_dbg("eventfd read: %s", strerror(errno));
	pthread_mutex_lock(&v->lock);
	r = v->sub_head;
	v->sub_head = v->sub_tail = NULL;
	pthread_mutex_unlock(&v->lock);
	for (; r; r = next) {
		next = r->next;
		if (v->fenced) {
			complete(v, r, -EIO);
		} else if (r->op == OP_READ) {
			start_read(v, r);
		} else {
			push(&v->wait_head, &v->wait_tail, r);
		}
	}
	dispatch_writes(v);
}

static int idle(struct qbd_vol *v)
{
	return !v->wait_head && !v->infl_head && !v->reads && !v->sub_head;
}

static void fail_all(struct qbd_vol *v, int result)
{
	struct wread *rd;
	struct wreq *r;

	while ((rd = v->reads))
		read_piece_done(v, rd, result);
	while ((r = v->wait_head)) {
		v->wait_head = r->next;
		complete(v, r, result);
	}
	v->wait_tail = NULL;
	while ((r = v->infl_head)) {
		v->infl_head = r->next;
		orphan_records(v, r);
		complete(v, r, result);
	}
	v->infl_tail = NULL;
	pthread_mutex_lock(&v->lock);
	r = v->sub_head;
	v->sub_head = v->sub_tail = NULL;
	pthread_mutex_unlock(&v->lock);
	while (r) {
		struct wreq *next = r->next;

		complete(v, r, result);
		r = next;
	}
}

static void *loop_main(void *arg)
{
	struct qbd_vol *v = arg;
	struct pollfd pfd[QBD_PG_NODES + 1];
	int slot_of[QBD_PG_NODES + 1];
	u64 stop_at = 0;

	for (;;) {
		int i, np = 1, stop, ab;
		u64 now;

		pthread_mutex_lock(&v->lock);
		stop = v->stop;
		ab = v->abort;
		pthread_mutex_unlock(&v->lock);
		if (stop && !stop_at)
			stop_at = qbd_now_us() + (u64)v->o.dead_timeout_ms * 1000;
		if (ab || (stop && (idle(v) || qbd_now_us() > stop_at))) {
			fail_all(v, -ESHUTDOWN);
			publish(v);
			run_callbacks(v);
			return NULL;
		}
		pfd[0].fd = v->efd;
		pfd[0].events = POLLIN;
		for (i = 0; i < QBD_PG_NODES; i++) {
			if (!v->node[i].live)
				continue;
			pfd[np].fd = v->node[i].fd;
			pfd[np].events = POLLIN;
			slot_of[np++] = i;
		}
		if (poll(pfd, (nfds_t)np, TICK_MS) < 0 && errno != EINTR) {
			qbd_err("poll: %s", strerror(errno));
			usleep(1000);
		}
		for (i = 1; i < np; i++)
			if (pfd[i].revents)
				node_rx(v, slot_of[i]);
		complete_writes(v);
		if (pfd[0].revents)
			take_submissions(v);
		now = qbd_now_us();
		tick(v, now);
		publish(v);
		run_callbacks(v);
	}
}

/* ------------------------------------------------------------------ */
/* API                                                                 */

static int submit(struct qbd_vol *v, struct wreq *r)
{
	u64 one = 1;

	r->submit_us = qbd_now_us();
	pthread_mutex_lock(&v->lock);
	if (v->stop) {
		pthread_mutex_unlock(&v->lock);
		if (r->op != OP_READ)
			free(r->data);
		free(r);
		return -ESHUTDOWN;
	}
	r->next = NULL;
	if (v->sub_tail)
		v->sub_tail->next = r;
	else
		v->sub_head = r;
	v->sub_tail = r;
	pthread_mutex_unlock(&v->lock);
	if (write(v->efd, &one, sizeof(one)) < 0)
		qbd_dbg("eventfd write: %s", strerror(errno));
	return 0;
}

static struct wreq *new_req(struct qbd_vol *v, int op, u64 lba, u32 nblocks,
			    qbd_io_cb cb, void *arg, int *err)
{
	struct wreq *r;

	*err = 0;
	if (op != OP_FLUSH && (!nblocks || lba >= v->g.nblocks ||
			       nblocks > v->g.nblocks - lba)) {
		*err = -EINVAL;
		return NULL;
	}
	/* one request may not need more LSNs than the window holds */
	if (op != OP_FLUSH && op != OP_READ &&
	    (u64)nblocks > (u64)(v->o.window / 2) * QBD_MAX_IO_BLOCKS) {
		*err = -E2BIG;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		*err = -ENOMEM;
		return NULL;
	}
	r->op = op;
	r->lba = lba;
	r->nblocks = nblocks;
	r->cb = cb;
	r->arg = arg;
	return r;
}

int qbd_submit_write(struct qbd_vol *v, u64 lba, u32 nblocks, const void *buf,
		     u32 flags, qbd_io_cb cb, void *arg)
{
	int err;
	struct wreq *r = new_req(v, OP_WRITE, lba, nblocks, cb, arg, &err);

	if (!r)
		return err;
	r->flags = flags;
	r->data = malloc((size_t)nblocks << QBD_BLOCK_SHIFT);
	if (!r->data) {
		free(r);
		return -ENOMEM;
	}
	memcpy(r->data, buf, (size_t)nblocks << QBD_BLOCK_SHIFT);
	return submit(v, r);
}

int qbd_submit_read(struct qbd_vol *v, u64 lba, u32 nblocks, void *buf,
		    qbd_io_cb cb, void *arg)
{
	int err;
	struct wreq *r = new_req(v, OP_READ, lba, nblocks, cb, arg, &err);

	if (!r)
		return err;
	r->data = buf;
	return submit(v, r);
}

int qbd_submit_discard(struct qbd_vol *v, u64 lba, u32 nblocks,
		       qbd_io_cb cb, void *arg)
{
	int err;
	struct wreq *r = new_req(v, OP_DISCARD, lba, nblocks, cb, arg, &err);

	return r ? submit(v, r) : err;
}

int qbd_submit_write_zeroes(struct qbd_vol *v, u64 lba, u32 nblocks,
			    qbd_io_cb cb, void *arg)
{
	int err;
	struct wreq *r = new_req(v, OP_ZEROES, lba, nblocks, cb, arg, &err);

	return r ? submit(v, r) : err;
}

int qbd_submit_flush(struct qbd_vol *v, qbd_io_cb cb, void *arg)
{
	int err;
	struct wreq *r = new_req(v, OP_FLUSH, 0, 0, cb, arg, &err);

	return r ? submit(v, r) : err;
}

struct sync_wait {
	pthread_mutex_t m;
	pthread_cond_t c;
	int done, result;
};

static void sync_cb(void *arg, int result)
{
	struct sync_wait *w = arg;

	pthread_mutex_lock(&w->m);
	w->result = result;
	w->done = 1;
	pthread_cond_signal(&w->c);
	pthread_mutex_unlock(&w->m);
}

static int sync_wait(struct sync_wait *w, int r)
{
	if (r)
		goto out;
	pthread_mutex_lock(&w->m);
	while (!w->done)
		pthread_cond_wait(&w->c, &w->m);
	pthread_mutex_unlock(&w->m);
	r = w->result;
out:
	pthread_mutex_destroy(&w->m);
	pthread_cond_destroy(&w->c);
	return r;
}

#define SYNC_INIT { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 }

int qbd_write(struct qbd_vol *v, u64 lba, u32 nblocks, const void *buf)
{
	struct sync_wait w = SYNC_INIT;

	return sync_wait(&w, qbd_submit_write(v, lba, nblocks, buf, 0,
					      sync_cb, &w));
}

int qbd_read(struct qbd_vol *v, u64 lba, u32 nblocks, void *buf)
{
	struct sync_wait w = SYNC_INIT;

	return sync_wait(&w, qbd_submit_read(v, lba, nblocks, buf, sync_cb,
					     &w));
}

int qbd_discard(struct qbd_vol *v, u64 lba, u32 nblocks)
{
	struct sync_wait w = SYNC_INIT;

	return sync_wait(&w, qbd_submit_discard(v, lba, nblocks, sync_cb, &w));
}

int qbd_write_zeroes(struct qbd_vol *v, u64 lba, u32 nblocks)
{
	struct sync_wait w = SYNC_INIT;

	return sync_wait(&w, qbd_submit_write_zeroes(v, lba, nblocks, sync_cb,
						     &w));
}

int qbd_flush(struct qbd_vol *v)
{
	struct sync_wait w = SYNC_INIT;

	return sync_wait(&w, qbd_submit_flush(v, sync_cb, &w));
}

void qbd_vol_stats(struct qbd_vol *v, struct qbd_vol_stats *s)
{
	pthread_mutex_lock(&v->lock);
	*s = v->snap;
	pthread_mutex_unlock(&v->lock);
}

static void vol_free(struct qbd_vol *v)
{
	u32 i;
	int s;

	if (v->ring)
		for (i = 0; i < v->o.window; i++)
			free(v->ring[i]);
	for (s = 0; s < QBD_PG_NODES; s++) {
		if (v->node[s].fd >= 0)
			close(v->node[s].fd);
		free(v->node[s].pbuf);
		free(v->node[s].hb_pending);
	}
	if (v->efd >= 0)
		close(v->efd);
	free(v->ring);
	free(v->qpg);
	free(v->qring);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

static void opts_defaults(struct qbd_writer_opts *o)
{
	if (o->io_timeout_ms <= 0)
		o->io_timeout_ms = 3000;
	if (o->dead_timeout_ms <= 0)
		o->dead_timeout_ms = 10000;
	if (o->reconnect_ms <= 0)
		o->reconnect_ms = 200;
	if (o->heartbeat_ms <= 0)
		o->heartbeat_ms = 100;
	if (!o->window || (o->window & (o->window - 1)))
		o->window = 1024;
}

int qbd_writer_open(const struct qbd_cluster *c, const struct qbd_geom *g,
		    const struct qbd_recover_opts *ro,
		    const struct qbd_writer_opts *o, struct qbd_vol **out,
		    char *err, size_t errlen)
{
	struct qbd_recovery rec;
	struct qbd_vol *v;
	int s, r;
	u32 pg;

	r = qbd_recover(c, g, ro, &rec, err, errlen);
	if (r)
		return r;
	v = calloc(1, sizeof(*v));
	if (!v) {
		qbd_recovery_free(&rec);
		return -ENOMEM;
	}
	pthread_mutex_init(&v->lock, NULL);
	v->efd = -1;
	for (s = 0; s < QBD_PG_NODES; s++)
		v->node[s].fd = -1;
	v->g = *g;
	v->c = *c;
	if (o)
		v->o = *o;
	opts_defaults(&v->o);
	v->epoch = rec.epoch;
	v->trunc_start = rec.vcl;
	v->trunc_end = rec.next_lsn - 1;
	v->qpg = calloc(g->npgs, sizeof(*v->qpg));
	v->qring = calloc(v->o.window, sizeof(*v->qring));
	v->ring = calloc(v->o.window, sizeof(*v->ring));
	v->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r = -ENOMEM;
	if (!v->qpg || !v->qring || !v->ring || v->efd < 0)
		goto fail;
	/* the truncated range (vcl, next_lsn) counts as complete */
	if (qbd_q_init(&v->q, g->npgs, v->qpg, v->qring, v->o.window,
		       rec.next_lsn - 1, rec.next_lsn, rec.pg_last)) {
		snprintf(err, errlen, "quorum init failed");
		r = -EINVAL;
		goto fail;
	}
	v->ring_lo = rec.next_lsn;
	for (s = 0; s < QBD_PG_NODES; s++) {
		struct wnode *n = &v->node[s];

		n->addr = c->node[s];
		n->st.id = n->addr.id;
		n->st.az = n->addr.az;
		n->hb_pending = calloc(g->npgs, 1);
		if (!n->hb_pending)
			goto fail;
		for (pg = 0; pg < g->npgs; pg++)
			qbd_q_set_state(&v->q, pg, (u32)s, QBD_Q_SLOT_DEAD);
		node_reconnect(v, s);
		if (v->fenced) {
			snprintf(err, errlen, "volume %llu: fenced by a newer writer while attaching",
				 (unsigned long long)g->volume);
			r = -ESTALE;
			goto fail;
		}
	}
	qbd_recovery_free(&rec);
	publish(v);
	r = pthread_create(&v->thread, NULL, loop_main, v);
	if (r) {
		snprintf(err, errlen, "pthread_create: %s", strerror(r));
		r = -r;
		vol_free(v);
		return r;
	}
	*out = v;
	return 0;
fail:
	qbd_recovery_free(&rec);
	vol_free(v);
	return r;
}

void qbd_writer_close(struct qbd_vol *v, int abort_io)
{
	u64 one = 1;

	if (!v)
		return;
	pthread_mutex_lock(&v->lock);
	v->stop = 1;
	v->abort = abort_io;
	pthread_mutex_unlock(&v->lock);
	if (write(v->efd, &one, sizeof(one)) < 0)
		qbd_dbg("eventfd write: %s", strerror(errno));
	pthread_join(v->thread, NULL);
	vol_free(v);
}
