// SPDX-License-Identifier: GPL-2.0
/*
 * Message dispatch. st_handle_msg() gets one whole message whose header and
 * payload CRC are already verified; it checks the connection's role, the
 * volume and epoch, finds the segment and hands the payload to the fixed
 * size decoder of its type. Every rejection is an ERROR reply with a status
 * and a one-line text; nothing here trusts a field it has not checked.
 *
 * It writes replies into the connection's output buffer only, so it can be
 * driven without sockets (selftests/fuzz/fuzz_stored_msg.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>
#include "stored.h"

static bool auth_ok(const u8 *auth)
{
	if (!st->have_secret)
		return true;
	return !memcmp(auth, st->secret, QBD_AUTH_LEN);
}

static void do_hello(struct st_conn *c, const struct qbd_hdr_info *hi,
		     const uint8_t *p)
{
	struct qbd_hello_ok ok;
	struct st_volume *v = NULL;
	const u8 *auth;
	u32 role, node_id;
	int r = qbd_hello_decode(p, hi->payload_len, &role, &node_id, &auth);

	if (r) {
		st_reply_err(c, hi, r, "bad HELLO: %s", qbd_status_str(r));
		c->closing = true;
		return;
	}
	if (!auth_ok(auth)) {
		st_reply_err(c, hi, QBD_E_AUTH, "authenticator rejected");
		c->closing = true;
		return;
	}
	if (role == QBD_ROLE_WRITER || role == QBD_ROLE_RECOVERY ||
	    role == QBD_ROLE_READER) {
		if (!hi->volume) {
			st_reply_err(c, hi, QBD_E_INVAL,
				     "HELLO: volume 0 is only for ADMIN/PEER");
			c->closing = true;
			return;
		}
		v = st_volume_get(hi->volume, role != QBD_ROLE_READER);
		if (!v && role != QBD_ROLE_READER) {
			st_reply_err(c, hi, QBD_E_NOMEM, "out of memory");
			c->closing = true;
			return;
		}
		/* a READER learns the epoch here: never refused for it */
		if (v && hi->epoch < v->epoch && role != QBD_ROLE_READER) {
			st->cnt.stale_epoch++;
			st_reply_err(c, hi, QBD_E_STALE_EPOCH,
				     "stale epoch %" PRIu64 ": node recorded %"
				     PRIu64 " for volume %" PRIu64,
				     hi->epoch, v->epoch, hi->volume);
			c->closing = true;
			return;
		}
		if (role != QBD_ROLE_READER) {
			r = st_volume_set_epoch(v, hi->epoch);
			if (r) {
				st_reply_err(c, hi, QBD_E_IO,
					     "cannot record epoch: %s",
					     strerror(-r));
				c->closing = true;
				return;
			}
		}
	} else {
		v = st_volume_get(hi->volume, false);
	}
	c->role = role;
	c->volume = hi->volume;
	memset(&ok, 0, sizeof(ok));
	ok.node_id = qbd_cpu32(st->node_id);
	ok.az = qbd_cpu32(st->az_num);
	ok.epoch = qbd_cpu64(v ? v->epoch : 0);
	ok.npgs = qbd_cpu32(hi->volume ? st_seg_count(hi->volume) : 0);
	st_dbg("conn %u: HELLO role %u volume %" PRIu64 " epoch %" PRIu64,
	       c->id, role, hi->volume, hi->epoch);
	st_reply(c, hi, QBD_MSG_HELLO_OK, 0, &ok, sizeof(ok), NULL, 0);
}

static bool role_allows(u32 role, u16 type)
{
	switch (type) {
	case QBD_MSG_HEARTBEAT:
		return true;
	case QBD_MSG_ADMIN:
		return role == QBD_ROLE_ADMIN;
	case QBD_MSG_LOG_WRITE:
	case QBD_MSG_TRUNCATE:
		return role == QBD_ROLE_WRITER || role == QBD_ROLE_RECOVERY;
	case QBD_MSG_READ:
		return role == QBD_ROLE_WRITER || role == QBD_ROLE_RECOVERY ||
		       role == QBD_ROLE_READER;
	case QBD_MSG_SCL_QUERY:
		return role != QBD_ROLE_ADMIN;
	case QBD_MSG_PEER_FETCH:
		return role == QBD_ROLE_PEER || role == QBD_ROLE_WRITER ||
		       role == QBD_ROLE_RECOVERY;
	}
	return false;
}

static void ack_now(struct st_conn *c, const struct qbd_hdr_info *hi,
		    struct st_segment *s, u64 lsn, u64 epoch)
{
	struct qbd_log_ack a = { .lsn = qbd_cpu64(lsn),
				 .scl = qbd_cpu64(s->scl) };

	st_reply(c, hi, QBD_MSG_LOG_ACK, 0, &a, sizeof(a), NULL, 0);
	(void)epoch;
}

static void do_log_write(struct st_conn *c, const struct qbd_hdr_info *hi,
			 struct st_segment *s, const uint8_t *p)
{
	struct qbd_rec_info ri;
	ssize_t k;
	int r;

	if (st->fault.refuse_writes) {
		st_reply_err(c, hi, QBD_E_REFUSED, "writes refused (fault)");
		return;
	}
	r = qbd_record_decode(p, hi->payload_len, &ri);
	if (r) {
		if (r == QBD_E_CRC)
			st->cnt.crc_errors++;
		st_reply_err(c, hi, r, "bad record: %s", qbd_status_str(r));
		return;
	}
	if (ri.pg != s->pg) {
		st_reply_err(c, hi, QBD_E_PROTO, "record pg %u in message for pg %u",
			     ri.pg, s->pg);
		return;
	}
	if (ri.kind != QBD_REC_NOOP &&
	    (ri.lba < s->lba_start ||
	     ri.lba + ri.nblocks > s->lba_start + s->pg_blocks)) {
		st_reply_err(c, hi, QBD_E_RANGE,
			     "lba %" PRIu64 "+%u outside pg %u [%" PRIu64
			     ", %" PRIu64 ")", ri.lba, ri.nblocks, s->pg,
			     s->lba_start, s->lba_start + s->pg_blocks);
		return;
	}
	if (st_seg_truncated(s, ri.lsn)) {
		st_reply_err(c, hi, QBD_E_TRUNCATED,
			     "lsn %" PRIu64 " lies in a truncated range", ri.lsn);
		return;
	}
	k = st_seg_find_rec(s, ri.lsn);
	if (ri.lsn <= s->coalesced || (k >= 0 && !s->recs[k].bad)) {
		ack_now(c, hi, s, ri.lsn, hi->epoch);	/* idempotent */
		return;
	}
	r = st_log_queue(s, c, hi->handle, hi->epoch, p, hi->payload_len,
			 ri.lsn);
	if (r)
		st_reply_err(c, hi, QBD_E_NOMEM, "out of memory");
}

static void do_heartbeat(struct st_conn *c, const struct qbd_hdr_info *hi,
			 struct st_segment *s)
{
	struct qbd_log_ack a = { 0 };

	if (s)
		a.scl = qbd_cpu64(s->scl);
	st_reply(c, hi, QBD_MSG_HEARTBEAT_OK, 0, &a, sizeof(a), NULL, 0);
}

static void do_truncate(struct st_conn *c, const struct qbd_hdr_info *hi,
			struct st_segment *s, struct st_volume *v,
			const uint8_t *p)
{
	u64 start, end;
	int r = qbd_truncate_decode(p, hi->payload_len, &start, &end);

	if (r) {
		st_reply_err(c, hi, r, "bad TRUNCATE: %s", qbd_status_str(r));
		return;
	}
	r = st_seg_truncate(s, start, end);
	if (r == -ERANGE) {
		st_reply_err(c, hi, QBD_E_RANGE,
			     "truncation (%" PRIu64 ", %" PRIu64
			     "] reaches below the coalesced lsn %" PRIu64,
			     start, end, s->coalesced);
		return;
	}
	if (r) {
		st_reply_err(c, hi, QBD_E_IO, "cannot persist truncation: %s",
			     strerror(-r));
		return;
	}
	(void)v;
	st_reply(c, hi, QBD_MSG_TRUNCATE_OK, 0, NULL, 0, NULL, 0);
}

void st_handle_msg(struct st_conn *c, const struct qbd_hdr_info *hi,
		   const uint8_t *p)
{
	struct st_segment *s = NULL;
	struct st_volume *v = NULL;
	int r;

	if (st->fault.delay_us)
		usleep(st->fault.delay_us);
	if (hi->type & QBD_MSG_REPLY) {
		st->cnt.bad_msgs++;
		st_reply_err(c, hi, QBD_E_PROTO, "unexpected %s from a client",
			     qbd_msg_str(hi->type));
		return;
	}
	if (!c->role) {
		if (hi->type != QBD_MSG_HELLO) {
			st->cnt.bad_msgs++;
			st_reply_err(c, hi, QBD_E_PROTO,
				     "%s before HELLO", qbd_msg_str(hi->type));
			c->closing = true;
			return;
		}
		do_hello(c, hi, p);
		return;
	}
	if (!role_allows(c->role, hi->type)) {
		st->cnt.bad_msgs++;
		st_reply_err(c, hi, hi->type == QBD_MSG_HELLO ? QBD_E_PROTO :
			     QBD_E_ROLE, "%s not allowed on this connection",
			     qbd_msg_str(hi->type));
		return;
	}
	if (hi->type == QBD_MSG_ADMIN) {
		st_do_admin(c, hi, p);
		return;
	}
	if (c->role == QBD_ROLE_ADMIN && hi->type == QBD_MSG_HEARTBEAT &&
	    !hi->volume) {
		do_heartbeat(c, hi, NULL);
		return;
	}
	if (c->role != QBD_ROLE_PEER && c->role != QBD_ROLE_ADMIN) {
		if (hi->volume != c->volume) {
			st_reply_err(c, hi, QBD_E_PROTO,
				     "volume %" PRIu64 " on a connection for %"
				     PRIu64, hi->volume, c->volume);
			return;
		}
		v = st_volume_get(hi->volume, false);
		if (v && hi->epoch < v->epoch) {
			st->cnt.stale_epoch++;
			st_reply_err(c, hi, QBD_E_STALE_EPOCH,
				     "stale epoch %" PRIu64 ": node recorded %"
				     PRIu64, hi->epoch, v->epoch);
			return;
		}
		if (v && hi->epoch > v->epoch && c->role != QBD_ROLE_READER) {
			r = st_volume_set_epoch(v, hi->epoch);
			if (r) {
				st_reply_err(c, hi, QBD_E_IO,
					     "cannot record epoch: %s",
					     strerror(-r));
				return;
			}
		}
	}
	s = st_seg_find(hi->volume, hi->pg);
	if (!s) {
		st_reply_err(c, hi, QBD_E_NO_SEGMENT,
			     "volume %" PRIu64 " pg %u not held by node %u",
			     hi->volume, hi->pg, st->node_id);
		return;
	}
	switch (hi->type) {
	case QBD_MSG_LOG_WRITE:
		do_log_write(c, hi, s, p);
		break;
	case QBD_MSG_READ:
		st_do_read(c, hi, s, p);
		break;
	case QBD_MSG_SCL_QUERY:
		st_do_scl_query(c, hi, s, p);
		break;
	case QBD_MSG_TRUNCATE:
		do_truncate(c, hi, s, v, p);
		break;
	case QBD_MSG_PEER_FETCH:
		st_do_peer_fetch(c, hi, s, p);
		break;
	case QBD_MSG_HEARTBEAT:
		if (hi->payload_len) {
			st_reply_err(c, hi, QBD_E_PROTO,
				     "HEARTBEAT carries no payload");
			break;
		}
		do_heartbeat(c, hi, s);
		break;
	}
}
