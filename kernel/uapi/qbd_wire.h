/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * qbd wire protocol: writer <-> qbd-stored and qbd-stored <-> qbd-stored.
 *
 * TCP, little endian. Every message is a fixed 64-byte header followed by
 * payload_len bytes of payload. hdr_crc is the CRC32C of the header with
 * hdr_crc itself set to zero; payload_crc is the CRC32C of the payload (0 for
 * an empty payload). A receiver checks magic, version, type, length bounds and
 * both CRCs before it looks at anything else; Documentation/wire-protocol.rst
 * is the normative description.
 *
 * Shared by qbd.ko and userspace (libqbd, qbd-stored, qbdctl).
 */
#ifndef _UAPI_QBD_WIRE_H
#define _UAPI_QBD_WIRE_H

#include <linux/types.h>

#define QBD_WIRE_MAGIC		0x31444251U	/* "QBD1" on the wire */
#define QBD_WIRE_VERSION	1
#define QBD_BLOCK_SHIFT		12
#define QBD_BLOCK_SIZE		4096U	/* 1 << QBD_BLOCK_SHIFT */
#define QBD_MAX_IO_BLOCKS	256	/* 1 MiB per record / read */
#define QBD_MAX_PAYLOAD		(QBD_MAX_IO_BLOCKS * QBD_BLOCK_SIZE + 4096)
#define QBD_PG_NODES		6	/* segments per protection group */
#define QBD_WRITE_QUORUM	4
#define QBD_READ_QUORUM		3
#define QBD_AUTH_LEN		32
#define QBD_MAX_SCL_LSNS	8192	/* LSN entries in one SCL_REPLY */
#define QBD_MAX_PEERS		16

/* Message types. Requests are odd-free small numbers; replies have bit 7. */
enum qbd_msg_type {
	QBD_MSG_HELLO		= 1,	/* qbd_hello */
	QBD_MSG_LOG_WRITE	= 2,	/* qbd_record + data */
	QBD_MSG_READ		= 3,	/* qbd_read_req */
	QBD_MSG_SCL_QUERY	= 4,	/* qbd_scl_query */
	QBD_MSG_TRUNCATE	= 5,	/* qbd_truncate */
	QBD_MSG_PEER_FETCH	= 6,	/* qbd_peer_fetch */
	QBD_MSG_HEARTBEAT	= 7,	/* empty */
	QBD_MSG_ADMIN		= 8,	/* qbd_admin + text arguments */
	QBD_MSG_PAGE_WRITE	= 9,	/* chain mode (reserved) */

	QBD_MSG_REPLY		= 0x80,
	QBD_MSG_HELLO_OK	= 0x81,	/* qbd_hello_ok */
	QBD_MSG_LOG_ACK		= 0x82,	/* qbd_log_ack */
	QBD_MSG_READ_DATA	= 0x83,	/* qbd_read_reply + data */
	QBD_MSG_SCL_REPLY	= 0x84,	/* qbd_scl_reply + qbd_scl_entry[] */
	QBD_MSG_TRUNCATE_OK	= 0x85,	/* empty */
	QBD_MSG_FETCH_DATA	= 0x86,	/* sequence of (qbd_record + data) */
	QBD_MSG_HEARTBEAT_OK	= 0x87,	/* qbd_log_ack (scl of header pg) */
	QBD_MSG_ADMIN_OK	= 0x88,	/* text (JSON) */
	QBD_MSG_PAGE_ACK	= 0x89,
	QBD_MSG_ERROR		= 0xff,	/* status set, payload: text message */
};

/*
 * Status codes carried in hdr.status of replies (0 = success). Positive
 * numbers, stable on the wire; never kernel errno values.
 */
enum qbd_status {
	QBD_OK			= 0,
	QBD_E_PROTO		= 1,	/* malformed message */
	QBD_E_VERSION		= 2,	/* protocol version mismatch */
	QBD_E_STALE_EPOCH	= 3,	/* epoch older than the node recorded */
	QBD_E_NO_SEGMENT	= 4,	/* volume/pg not held by this node */
	QBD_E_NOT_YET		= 5,	/* SCL below the read point */
	QBD_E_RANGE		= 6,	/* lba/nblocks/lsn out of range */
	QBD_E_CRC		= 7,	/* checksum mismatch */
	QBD_E_IO		= 8,	/* local disk error */
	QBD_E_AUTH		= 9,	/* authenticator rejected */
	QBD_E_REFUSED		= 10,	/* fault injection: write refused */
	QBD_E_TRUNCATED		= 11,	/* lsn lies in a truncated range */
	QBD_E_EXISTS		= 12,	/* admin: segment exists */
	QBD_E_INVAL		= 13,	/* admin: bad argument */
	QBD_E_NOMEM		= 14,
	QBD_E_ROLE		= 15,	/* message not allowed for this role */
	QBD_STATUS_MAX
};

struct qbd_wire_hdr {
	__le32 magic;
	__le16 version;
	__le16 type;		/* enum qbd_msg_type */
	__le32 payload_len;
	__le32 status;		/* enum qbd_status, replies only */
	__le64 handle;		/* request cookie, echoed in the reply */
	__le64 volume;		/* volume id */
	__le64 epoch;		/* sender's epoch for the volume */
	__le32 pg;		/* protection group index */
	__le32 flags;
	__le32 payload_crc;
	__le32 hdr_crc;
};				/* 56 bytes */

#define QBD_WIRE_HDR_SIZE	56

/* HELLO roles */
enum qbd_role {
	QBD_ROLE_WRITER		= 1,	/* the volume's writer (kernel or libqbd) */
	QBD_ROLE_READER		= 2,	/* read-only client */
	QBD_ROLE_PEER		= 3,	/* another qbd-stored (gossip, repair) */
	QBD_ROLE_ADMIN		= 4,	/* qbdctl / tools; volume may be 0 */
	QBD_ROLE_RECOVERY	= 5,	/* a new writer recovering: bumps epoch */
};

struct qbd_hello {
	__le32 role;
	__le32 node_id;		/* sender's node id for PEER, else 0 */
	__u8 auth[QBD_AUTH_LEN];	/* cluster secret, zero if none */
};

struct qbd_hello_ok {
	__le32 node_id;
	__le32 az;
	__le64 epoch;		/* newest epoch the node recorded for the volume */
	__le32 npgs;		/* segments of this volume held by the node */
	__le32 reserved;
};

/* Record kinds */
enum qbd_record_kind {
	QBD_REC_WRITE		= 1,	/* nblocks * 4 KiB payload */
	QBD_REC_DISCARD		= 2,	/* no payload: blocks read as zeroes */
	QBD_REC_WRITE_ZEROES	= 3,	/* no payload */
	QBD_REC_NOOP		= 4,	/* no payload, no blocks: keeps chains */
};

#define QBD_REC_F_FLUSH		0x1	/* consistency point (FLUSH/FUA) */

/*
 * A redo log record. On the wire it is the LOG_WRITE payload followed by
 * nblocks * 4 KiB of data for QBD_REC_WRITE; qbd-stored persists the same
 * bytes in its log. rec_crc covers this struct (with rec_crc = 0) and the
 * data, so a record carries its own checksum end to end.
 */
struct qbd_record {
	__le64 lsn;
	__le64 prev_lsn;	/* previous LSN of the same PG, 0 = none */
	__le64 lba;		/* volume block (4 KiB) address */
	__le32 nblocks;
	__le16 kind;		/* enum qbd_record_kind */
	__le16 flags;		/* QBD_REC_F_* */
	__le64 vcl_hint;	/* writer's VCL when the record was sent */
	__le64 low_water;	/* oldest read point the writer may still use */
	__le32 pg;
	__le32 rec_crc;
};				/* 56 bytes */

#define QBD_RECORD_SIZE		56

struct qbd_log_ack {
	__le64 lsn;		/* acknowledged record (0 for heartbeat) */
	__le64 scl;		/* segment's durable gap-free LSN */
};

struct qbd_read_req {
	__le64 lba;
	__le32 nblocks;
	__le32 reserved;
	__le64 read_lsn;	/* read point */
};

struct qbd_read_reply {
	__le64 scl;
	__le64 lba;
	__le32 nblocks;
	__le32 data_crc;	/* crc32c of the data that follows */
};

struct qbd_scl_query {
	__le64 from_lsn;	/* list held LSNs above this */
	__le32 max_entries;
	__le32 reserved;
};

struct qbd_scl_reply {
	__le64 scl;
	__le64 max_lsn;		/* highest LSN held (durable) */
	__le64 vcl_hint;	/* highest vcl_hint seen in a durable record */
	__le64 last_le_from;	/* highest held LSN <= from_lsn, 0 = none */
	__le64 trunc_start;	/* newest truncation (start, end], 0/0 = none */
	__le64 trunc_end;
	__le64 epoch;
	__le32 nentries;	/* qbd_scl_entry that follow */
	__le32 flags;		/* QBD_SCL_F_MORE: list was cut */
};

#define QBD_SCL_F_MORE		0x1

struct qbd_scl_entry {
	__le64 lsn;
	__le64 prev_lsn;
};

/*
 * TRUNCATE: remove every record with start < lsn <= end for good, durably.
 * The header epoch is the new epoch; the node records it.
 */
struct qbd_truncate {
	__le64 start;
	__le64 end;
};

/*
 * PEER_FETCH: "send me your records of this PG with lsn > from_lsn and
 * lsn <= to_lsn, at most max_bytes". Used by gossip, repair and the
 * recovering writer. The reply is FETCH_DATA: concatenated records.
 */
struct qbd_peer_fetch {
	__le64 from_lsn;
	__le64 to_lsn;		/* 0 = up to the SCL */
	__le32 max_bytes;
	__le32 reserved;
};

/* ADMIN: op + NUL-terminated "key=value ..." text; reply ADMIN_OK JSON. */
enum qbd_admin_op {
	QBD_ADMIN_STATUS		= 1,
	QBD_ADMIN_SEGMENT_CREATE	= 2,
	QBD_ADMIN_FAULT			= 3,
	QBD_ADMIN_SEGMENT_DROP		= 4,
	QBD_ADMIN_SCRUB			= 5,
};

struct qbd_admin {
	__le32 op;		/* enum qbd_admin_op */
	__le32 len;		/* text bytes that follow */
};

#endif /* _UAPI_QBD_WIRE_H */
