/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Wire codec: sealing (CRCs) and validating decoders for every message of
 * uapi/qbd_wire.h. A pure unit (no I/O, no allocation) built into qbd.ko and
 * userspace. Every decoder checks sizes and ranges before it reads a field
 * and returns an enum qbd_status: QBD_OK or the reason for rejection. Decoded
 * values come back in host byte order in small *_info structs.
 */
#ifndef QBD_CODEC_H
#define QBD_CODEC_H

#include "qbd_pure.h"
#include "uapi/qbd_wire.h"

/* fill a header; payload_len and CRCs are set by qbd_hdr_seal() */
void qbd_hdr_init(struct qbd_wire_hdr *h, u16 type, u64 handle, u64 volume,
		  u64 epoch, u32 pg);

/* set payload_len, payload_crc (already computed over the payload) and
 * hdr_crc; use qbd_crc32c()/qbd_crc32c_update() for payload_crc (0 if empty)
 */
void qbd_hdr_seal(struct qbd_wire_hdr *h, u32 payload_len, u32 payload_crc);

/* convenience: payload in one buffer */
void qbd_hdr_seal_buf(struct qbd_wire_hdr *h, const void *payload, u32 len);

struct qbd_hdr_info {
	u16 type;
	u32 payload_len;
	u32 status;
	u64 handle;
	u64 volume;
	u64 epoch;
	u32 pg;
	u32 flags;
	u32 payload_crc;
};

/*
 * Validate a received header (magic, version, known type, payload_len <=
 * QBD_MAX_PAYLOAD, status < QBD_STATUS_MAX, hdr_crc). QBD_E_VERSION for a
 * version mismatch so the peer can say so clearly.
 */
int qbd_hdr_decode(const struct qbd_wire_hdr *h, struct qbd_hdr_info *hi);

/* check the payload against hi->payload_crc */
int qbd_payload_check(const struct qbd_hdr_info *hi, const void *payload);

/* bytes of data that follow a record of this kind and size */
u32 qbd_record_data_len(u16 kind, u32 nblocks);

struct qbd_rec_info {
	u64 lsn;
	u64 prev_lsn;
	u64 lba;
	u64 vcl_hint;
	u64 low_water;
	u32 nblocks;
	u32 pg;
	u16 kind;
	u16 flags;
	u32 data_len;		/* derived: bytes of data after the struct */
	u32 rec_crc;
};

/* fill *r from *ri and compute rec_crc over r and data (data_len bytes) */
void qbd_record_encode(struct qbd_record *r, const struct qbd_rec_info *ri,
		       const void *data);

/*
 * The same when the data is not contiguous (bio pages): qbd_record_fill()
 * sets the fields with rec_crc = 0; the caller computes
 * crc = qbd_crc32c(r, QBD_RECORD_SIZE), folds each data piece in with
 * qbd_crc32c_update() and stores cpu_to_le32(crc) in r->rec_crc.
 */
void qbd_record_fill(struct qbd_record *r, const struct qbd_rec_info *ri);

/*
 * Decode a record at buf of len bytes (record struct + data). With
 * len == QBD_RECORD_SIZE only the struct is checked (data not yet read) and
 * rec_crc is not verified; call qbd_record_verify() once data is there.
 * Checks: lsn != 0, prev_lsn < lsn, known kind and flags, 1 <= nblocks <=
 * QBD_MAX_IO_BLOCKS (0 only for NOOP), lba + nblocks does not overflow.
 */
int qbd_record_decode(const void *buf, u32 len, struct qbd_rec_info *ri);

/* verify rec_crc over the struct and data_len bytes of data */
int qbd_record_verify(const struct qbd_record *r, const void *data,
		      u32 data_len);

/* Fixed-size payload decoders: size must match exactly. */
int qbd_hello_decode(const void *p, u32 len, u32 *role, u32 *node_id,
		     const u8 **auth);
int qbd_hello_ok_decode(const void *p, u32 len, u32 *node_id, u32 *az,
			u64 *epoch, u32 *npgs);
int qbd_log_ack_decode(const void *p, u32 len, u64 *lsn, u64 *scl);
int qbd_read_req_decode(const void *p, u32 len, u64 *lba, u32 *nblocks,
			u64 *read_lsn);
/* READ_DATA: struct + nblocks blocks; checks data_crc */
int qbd_read_reply_decode(const void *p, u32 len, u64 *scl, u64 *lba,
			  u32 *nblocks, const void **data);
int qbd_scl_query_decode(const void *p, u32 len, u64 *from_lsn,
			 u32 *max_entries);

struct qbd_scl_info {
	u64 scl;
	u64 max_lsn;
	u64 vcl_hint;
	u64 last_le_from;
	u64 trunc_start;
	u64 trunc_end;
	u64 epoch;
	u32 nentries;
	u32 flags;
	const struct qbd_scl_entry *entries;	/* points into p, LE */
};

/* checks nentries <= QBD_MAX_SCL_LSNS, size, entries ascending by lsn */
int qbd_scl_reply_decode(const void *p, u32 len, struct qbd_scl_info *si);
int qbd_truncate_decode(const void *p, u32 len, u64 *start, u64 *end);
int qbd_peer_fetch_decode(const void *p, u32 len, u64 *from_lsn,
			  u64 *to_lsn, u32 *max_bytes);

/*
 * FETCH_DATA: walk concatenated records. *off is the cursor (start at 0);
 * returns QBD_OK with *rec and *ri set, QBD_E_RANGE at the clean end (*off ==
 * len), or an error for a malformed entry. Each record's CRC is verified.
 */
int qbd_fetch_next(const void *p, u32 len, u32 *off,
		   const struct qbd_record **rec, struct qbd_rec_info *ri);

/* ADMIN: op + text; text must be NUL-terminated within len */
int qbd_admin_decode(const void *p, u32 len, u32 *op, const char **text);

/* a short English name for a status, for error messages */
const char *qbd_status_str(u32 status);
/* a name for a message type, for logs; "unknown" if not known */
const char *qbd_msg_str(u32 type);

#endif /* QBD_CODEC_H */
