// SPDX-License-Identifier: GPL-2.0
/*
 * qbd wire codec: sealing and validating decoders for the messages of
 * uapi/qbd_wire.h. Every decoder checks the payload size first, then ranges,
 * and only then hands values back in host byte order. Nothing here trusts
 * the network: this file is what the libFuzzer targets exercise.
 *
 * Pure C, no I/O: built into qbd.ko and into userspace.
 */
#include "qbd_codec.h"

void qbd_hdr_init(struct qbd_wire_hdr *h, u16 type, u64 handle, u64 volume,
		  u64 epoch, u32 pg)
{
	memset(h, 0, sizeof(*h));
	h->magic = qbd_cpu32(QBD_WIRE_MAGIC);
	h->version = qbd_cpu16(QBD_WIRE_VERSION);
	h->type = qbd_cpu16(type);
	h->handle = qbd_cpu64(handle);
	h->volume = qbd_cpu64(volume);
	h->epoch = qbd_cpu64(epoch);
	h->pg = qbd_cpu32(pg);
}

void qbd_hdr_seal(struct qbd_wire_hdr *h, u32 payload_len, u32 payload_crc)
{
	h->payload_len = qbd_cpu32(payload_len);
	h->payload_crc = qbd_cpu32(payload_len ? payload_crc : 0);
	h->hdr_crc = 0;
	h->hdr_crc = qbd_cpu32(qbd_crc32c(h, QBD_WIRE_HDR_SIZE));
}

void qbd_hdr_seal_buf(struct qbd_wire_hdr *h, const void *payload, u32 len)
{
	qbd_hdr_seal(h, len, len ? qbd_crc32c(payload, len) : 0);
}

static int qbd_type_known(u32 t)
{
	switch (t) {
	case QBD_MSG_HELLO: case QBD_MSG_LOG_WRITE: case QBD_MSG_READ:
	case QBD_MSG_SCL_QUERY: case QBD_MSG_TRUNCATE: case QBD_MSG_PEER_FETCH:
	case QBD_MSG_HEARTBEAT: case QBD_MSG_ADMIN: case QBD_MSG_PAGE_WRITE:
	case QBD_MSG_HELLO_OK: case QBD_MSG_LOG_ACK: case QBD_MSG_READ_DATA:
	case QBD_MSG_SCL_REPLY: case QBD_MSG_TRUNCATE_OK:
	case QBD_MSG_FETCH_DATA: case QBD_MSG_HEARTBEAT_OK:
	case QBD_MSG_ADMIN_OK: case QBD_MSG_PAGE_ACK: case QBD_MSG_ERROR:
		return 1;
	}
	return 0;
}

int qbd_hdr_decode(const struct qbd_wire_hdr *hp, struct qbd_hdr_info *hi)
{
	struct qbd_wire_hdr tmp, hh, *h = &hh;

	/* the header may sit unaligned in a stream buffer: work on a copy */
	memcpy(&hh, hp, sizeof(hh));
	if (qbd_le32(h->magic) != QBD_WIRE_MAGIC)
		return QBD_E_PROTO;
	memcpy(&tmp, h, sizeof(tmp));
	tmp.hdr_crc = 0;
	if (qbd_crc32c(&tmp, QBD_WIRE_HDR_SIZE) != qbd_le32(h->hdr_crc))
		return QBD_E_CRC;
	/* version is checked after the CRC so a mismatch is reported reliably */
	if (qbd_le16(h->version) != QBD_WIRE_VERSION)
		return QBD_E_VERSION;
	hi->type = qbd_le16(h->type);
	hi->payload_len = qbd_le32(h->payload_len);
	hi->status = qbd_le32(h->status);
	hi->handle = qbd_le64(h->handle);
	hi->volume = qbd_le64(h->volume);
	hi->epoch = qbd_le64(h->epoch);
	hi->pg = qbd_le32(h->pg);
	hi->flags = qbd_le32(h->flags);
	hi->payload_crc = qbd_le32(h->payload_crc);
	if (!qbd_type_known(hi->type))
		return QBD_E_PROTO;
	if (hi->payload_len > QBD_MAX_PAYLOAD)
		return QBD_E_RANGE;
	if (hi->status >= QBD_STATUS_MAX)
		return QBD_E_PROTO;
	if (!hi->payload_len && hi->payload_crc)
		return QBD_E_CRC;
	return QBD_OK;
}

int qbd_payload_check(const struct qbd_hdr_info *hi, const void *payload)
{
	if (!hi->payload_len)
		return QBD_OK;
	if (qbd_crc32c(payload, hi->payload_len) != hi->payload_crc)
		return QBD_E_CRC;
	return QBD_OK;
}

u32 qbd_record_data_len(u16 kind, u32 nblocks)
{
	return kind == QBD_REC_WRITE ? nblocks << QBD_BLOCK_SHIFT : 0;
}

void qbd_record_fill(struct qbd_record *r, const struct qbd_rec_info *ri)
{
	memset(r, 0, sizeof(*r));
	r->lsn = qbd_cpu64(ri->lsn);
	r->prev_lsn = qbd_cpu64(ri->prev_lsn);
	r->lba = qbd_cpu64(ri->lba);
	r->nblocks = qbd_cpu32(ri->nblocks);
	r->kind = qbd_cpu16(ri->kind);
	r->flags = qbd_cpu16(ri->flags);
	r->vcl_hint = qbd_cpu64(ri->vcl_hint);
	r->low_water = qbd_cpu64(ri->low_water);
	r->pg = qbd_cpu32(ri->pg);
}

void qbd_record_encode(struct qbd_record *r, const struct qbd_rec_info *ri,
		       const void *data)
{
	u32 dlen = qbd_record_data_len(ri->kind, ri->nblocks);
	u32 crc;

	qbd_record_fill(r, ri);
	crc = qbd_crc32c(r, QBD_RECORD_SIZE);
	if (dlen)
		crc = qbd_crc32c_update(crc, data, dlen);
	r->rec_crc = qbd_cpu32(crc);
}

int qbd_record_decode(const void *buf, u32 len, struct qbd_rec_info *ri)
{
	struct qbd_record rr, *r = &rr;

	if (len < QBD_RECORD_SIZE)
		return QBD_E_PROTO;
	memcpy(&rr, buf, sizeof(rr));
	ri->lsn = qbd_le64(r->lsn);
	ri->prev_lsn = qbd_le64(r->prev_lsn);
	ri->lba = qbd_le64(r->lba);
	ri->nblocks = qbd_le32(r->nblocks);
	ri->kind = qbd_le16(r->kind);
	ri->flags = qbd_le16(r->flags);
	ri->vcl_hint = qbd_le64(r->vcl_hint);
	ri->low_water = qbd_le64(r->low_water);
	ri->pg = qbd_le32(r->pg);
	ri->rec_crc = qbd_le32(r->rec_crc);
	if (!ri->lsn || ri->prev_lsn >= ri->lsn)
		return QBD_E_PROTO;
	if (ri->flags & ~QBD_REC_F_FLUSH)
		return QBD_E_PROTO;
	switch (ri->kind) {
	case QBD_REC_WRITE:
	case QBD_REC_DISCARD:
	case QBD_REC_WRITE_ZEROES:
		if (!ri->nblocks || ri->nblocks > QBD_MAX_IO_BLOCKS)
			return QBD_E_RANGE;
		break;
	case QBD_REC_NOOP:
		if (ri->nblocks || ri->lba)
			return QBD_E_RANGE;
		break;
	default:
		return QBD_E_PROTO;
	}
	if (ri->lba > (~0ULL >> QBD_BLOCK_SHIFT) - ri->nblocks)
		return QBD_E_RANGE;
	ri->data_len = qbd_record_data_len(ri->kind, ri->nblocks);
	if (len == QBD_RECORD_SIZE)
		return QBD_OK;	/* header only: data follows later */
	if (len != QBD_RECORD_SIZE + ri->data_len)
		return QBD_E_PROTO;
	return qbd_record_verify(buf, (const u8 *)buf + QBD_RECORD_SIZE,
				 ri->data_len);
}

int qbd_record_verify(const struct qbd_record *r, const void *data,
		      u32 data_len)
{
	struct qbd_record tmp;
	u32 crc, want;

	memcpy(&tmp, r, sizeof(tmp));
	want = qbd_le32(tmp.rec_crc);
	tmp.rec_crc = 0;
	crc = qbd_crc32c(&tmp, QBD_RECORD_SIZE);
	if (data_len)
		crc = qbd_crc32c_update(crc, data, data_len);
	return crc == want ? QBD_OK : QBD_E_CRC;
}

int qbd_hello_decode(const void *p, u32 len, u32 *role, u32 *node_id,
		     const u8 **auth)
{
	struct qbd_hello mm, *m = &mm;

	if (len != sizeof(*m))
		return QBD_E_PROTO;
	memcpy(&mm, p, sizeof(mm));
	*role = qbd_le32(m->role);
	*node_id = qbd_le32(m->node_id);
	*auth = m->auth;
	if (*role < QBD_ROLE_WRITER || *role > QBD_ROLE_RECOVERY)
		return QBD_E_ROLE;
	return QBD_OK;
}

int qbd_hello_ok_decode(const void *p, u32 len, u32 *node_id, u32 *az,
			u64 *epoch, u32 *npgs)
{
	struct qbd_hello_ok mm, *m = &mm;

	if (len != sizeof(*m))
		return QBD_E_PROTO;
	memcpy(&mm, p, sizeof(mm));
	*node_id = qbd_le32(m->node_id);
	*az = qbd_le32(m->az);
	*epoch = qbd_le64(m->epoch);
	*npgs = qbd_le32(m->npgs);
	return QBD_OK;
}

int qbd_log_ack_decode(const void *p, u32 len, u64 *lsn, u64 *scl)
{
	struct qbd_log_ack mm, *m = &mm;

	if (len != sizeof(*m))
		return QBD_E_PROTO;
	memcpy(&mm, p, sizeof(mm));
	*lsn = qbd_le64(m->lsn);
	*scl = qbd_le64(m->scl);
	return QBD_OK;
}

int qbd_read_req_decode(const void *p, u32 len, u64 *lba, u32 *nblocks,
			u64 *read_lsn)
{
	struct qbd_read_req mm, *m = &mm;

	if (len != sizeof(*m))
		return QBD_E_PROTO;
	memcpy(&mm, p, sizeof(mm));
	*lba = qbd_le64(m->lba);
	*nblocks = qbd_le32(m->nblocks);
	*read_lsn = qbd_le64(m->read_lsn);
	if (m->reserved)
		return QBD_E_PROTO;
	if (!*nblocks || *nblocks > QBD_MAX_IO_BLOCKS ||
	    *lba > (~0ULL >> QBD_BLOCK_SHIFT) - *nblocks)
		return QBD_E_RANGE;
	return QBD_OK;
}

int qbd_read_reply_decode(const void *p, u32 len, u64 *scl, u64 *lba,
			  u32 *nblocks, const void **data)
{
	struct qbd_read_reply mm, *m = &mm;
	u32 dlen;

	if (len < sizeof(*m))
		return QBD_E_PROTO;
	memcpy(&mm, p, sizeof(mm));
	*scl = qbd_le64(m->scl);
	*lba = qbd_le64(m->lba);
	*nblocks = qbd_le32(m->nblocks);
	if (!*nblocks || *nblocks > QBD_MAX_IO_BLOCKS)
		return QBD_E_RANGE;
	dlen = *nblocks << QBD_BLOCK_SHIFT;
	if (len != sizeof(*m) + dlen)
		return QBD_E_PROTO;
	*data = (const u8 *)p + sizeof(*m);
	if (qbd_crc32c(*data, dlen) != qbd_le32(m->data_crc))
		return QBD_E_CRC;
	return QBD_OK;
}

int qbd_scl_query_decode(const void *p, u32 len, u64 *from_lsn,
			 u32 *max_entries)
{
	struct qbd_scl_query mm, *m = &mm;

	if (len != sizeof(*m))
		return QBD_E_PROTO;
	memcpy(&mm, p, sizeof(mm));
	*from_lsn = qbd_le64(m->from_lsn);
	*max_entries = qbd_le32(m->max_entries);
	if (*max_entries > QBD_MAX_SCL_LSNS)
		return QBD_E_RANGE;
	return QBD_OK;
}

int qbd_scl_reply_decode(const void *p, u32 len, struct qbd_scl_info *si)
{
	struct qbd_scl_reply mm, *m = &mm;
	const struct qbd_scl_entry *e;
	u64 last = 0;
	u32 i;

	if (len < sizeof(*m))
		return QBD_E_PROTO;
	memcpy(&mm, p, sizeof(mm));
	si->scl = qbd_le64(m->scl);
	si->max_lsn = qbd_le64(m->max_lsn);
	si->vcl_hint = qbd_le64(m->vcl_hint);
	si->last_le_from = qbd_le64(m->last_le_from);
	si->trunc_start = qbd_le64(m->trunc_start);
	si->trunc_end = qbd_le64(m->trunc_end);
	si->epoch = qbd_le64(m->epoch);
	si->nentries = qbd_le32(m->nentries);
	si->flags = qbd_le32(m->flags);
	if (si->nentries > QBD_MAX_SCL_LSNS || (si->flags & ~QBD_SCL_F_MORE))
		return QBD_E_RANGE;
	if (len != sizeof(*m) + si->nentries * sizeof(*e))
		return QBD_E_PROTO;
	if (si->trunc_start > si->trunc_end || si->scl > si->max_lsn)
		return QBD_E_RANGE;
	e = (const struct qbd_scl_entry *)((const u8 *)p + sizeof(*m));
	for (i = 0; i < si->nentries; i++) {
		struct qbd_scl_entry ent;
		u64 lsn;

		memcpy(&ent, &e[i], sizeof(ent));
		lsn = qbd_le64(ent.lsn);
		if (lsn <= last || qbd_le64(ent.prev_lsn) >= lsn)
			return QBD_E_RANGE;
		last = lsn;
	}
	si->entries = e;
	return QBD_OK;
}

int qbd_truncate_decode(const void *p, u32 len, u64 *start, u64 *end)
{
	struct qbd_truncate mm, *m = &mm;

	if (len != sizeof(*m))
		return QBD_E_PROTO;
	memcpy(&mm, p, sizeof(mm));
	*start = qbd_le64(m->start);
	*end = qbd_le64(m->end);
	if (*start >= *end)
		return QBD_E_RANGE;
	return QBD_OK;
}

int qbd_peer_fetch_decode(const void *p, u32 len, u64 *from_lsn,
			  u64 *to_lsn, u32 *max_bytes)
{
	struct qbd_peer_fetch mm, *m = &mm;

	if (len != sizeof(*m))
		return QBD_E_PROTO;
	memcpy(&mm, p, sizeof(mm));
	*from_lsn = qbd_le64(m->from_lsn);
	*to_lsn = qbd_le64(m->to_lsn);
	*max_bytes = qbd_le32(m->max_bytes);
	if (m->reserved || (*to_lsn && *to_lsn <= *from_lsn))
		return QBD_E_RANGE;
	if (*max_bytes < QBD_RECORD_SIZE || *max_bytes > QBD_MAX_PAYLOAD)
		return QBD_E_RANGE;
	return QBD_OK;
}

int qbd_fetch_next(const void *p, u32 len, u32 *off,
		   const struct qbd_record **rec, struct qbd_rec_info *ri)
{
	const u8 *b = p;
	u32 left;
	int st;

	if (*off > len)
		return QBD_E_PROTO;
	left = len - *off;
	if (!left)
		return QBD_E_RANGE;
	if (left < QBD_RECORD_SIZE)
		return QBD_E_PROTO;
	st = qbd_record_decode(b + *off, QBD_RECORD_SIZE, ri);
	if (st)
		return st;
	if (ri->data_len > left - QBD_RECORD_SIZE)
		return QBD_E_PROTO;
	*rec = (const struct qbd_record *)(b + *off);
	st = qbd_record_verify(*rec, b + *off + QBD_RECORD_SIZE, ri->data_len);
	if (st)
		return st;
	*off += QBD_RECORD_SIZE + ri->data_len;
	return QBD_OK;
}

int qbd_admin_decode(const void *p, u32 len, u32 *op, const char **text)
{
	struct qbd_admin mm, *m = &mm;
	const char *t;
	u32 tlen;

	if (len < sizeof(*m))
		return QBD_E_PROTO;
	memcpy(&mm, p, sizeof(mm));
	*op = qbd_le32(m->op);
	tlen = qbd_le32(m->len);
	if (tlen != len - sizeof(*m) || !tlen)
		return QBD_E_PROTO;
	t = (const char *)p + sizeof(*m);
	if (t[tlen - 1] != '\0' || memchr(t, '\0', tlen) != t + tlen - 1)
		return QBD_E_PROTO;
	if (*op < QBD_ADMIN_STATUS || *op > QBD_ADMIN_SCRUB)
		return QBD_E_INVAL;
	*text = t;
	return QBD_OK;
}

const char *qbd_status_str(u32 status)
{
	static const char * const names[QBD_STATUS_MAX] = {
		[QBD_OK] = "ok",
		[QBD_E_PROTO] = "malformed message",
		[QBD_E_VERSION] = "protocol version mismatch",
		[QBD_E_STALE_EPOCH] = "stale epoch (fenced by a newer writer)",
		[QBD_E_NO_SEGMENT] = "no such segment on this node",
		[QBD_E_NOT_YET] = "segment not caught up to the read point",
		[QBD_E_RANGE] = "value out of range",
		[QBD_E_CRC] = "checksum mismatch",
		[QBD_E_IO] = "I/O error on the node",
		[QBD_E_AUTH] = "authentication failed",
		[QBD_E_REFUSED] = "write refused (fault injection)",
		[QBD_E_TRUNCATED] = "LSN lies in a truncated range",
		[QBD_E_EXISTS] = "segment exists with other parameters",
		[QBD_E_INVAL] = "invalid argument",
		[QBD_E_NOMEM] = "out of memory on the node",
		[QBD_E_ROLE] = "not allowed for this connection role",
	};

	if (status >= QBD_STATUS_MAX || !names[status])
		return "unknown status";
	return names[status];
}

const char *qbd_msg_str(u32 type)
{
	switch (type) {
	case QBD_MSG_HELLO: return "HELLO";
	case QBD_MSG_LOG_WRITE: return "LOG_WRITE";
	case QBD_MSG_READ: return "READ";
	case QBD_MSG_SCL_QUERY: return "SCL_QUERY";
	case QBD_MSG_TRUNCATE: return "TRUNCATE";
	case QBD_MSG_PEER_FETCH: return "PEER_FETCH";
	case QBD_MSG_HEARTBEAT: return "HEARTBEAT";
	case QBD_MSG_ADMIN: return "ADMIN";
	case QBD_MSG_PAGE_WRITE: return "PAGE_WRITE";
	case QBD_MSG_HELLO_OK: return "HELLO_OK";
	case QBD_MSG_LOG_ACK: return "LOG_ACK";
	case QBD_MSG_READ_DATA: return "READ_DATA";
	case QBD_MSG_SCL_REPLY: return "SCL_REPLY";
	case QBD_MSG_TRUNCATE_OK: return "TRUNCATE_OK";
	case QBD_MSG_FETCH_DATA: return "FETCH_DATA";
	case QBD_MSG_HEARTBEAT_OK: return "HEARTBEAT_OK";
	case QBD_MSG_ADMIN_OK: return "ADMIN_OK";
	case QBD_MSG_PAGE_ACK: return "PAGE_ACK";
	case QBD_MSG_ERROR: return "ERROR";
	}
	return "unknown";
}
