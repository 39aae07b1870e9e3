// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: a received message, header then payload, through every
 * decoder of kernel/qbd_codec.c. The decoders must never read out of bounds
 * and must reject what they do not accept with a status, not a crash. A
 * payload a decoder accepted is re-checked against the invariants it claims.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "qbd_codec.h"

static void check_payload(const struct qbd_hdr_info *hi, const u8 *p, u32 len)
{
	struct qbd_rec_info ri;
	struct qbd_scl_info si;
	const struct qbd_record *rec;
	const void *data;
	const u8 *auth;
	const char *text;
	u64 a, b;
	u32 x, y, z, off = 0;

	switch (hi->type) {
	case QBD_MSG_HELLO:
		qbd_hello_decode(p, len, &x, &y, &auth);
		break;
	case QBD_MSG_HELLO_OK:
		qbd_hello_ok_decode(p, len, &x, &y, &a, &z);
		break;
	case QBD_MSG_LOG_WRITE:
		if (qbd_record_decode(p, len, &ri) == QBD_OK &&
		    len > QBD_RECORD_SIZE &&
		    len != QBD_RECORD_SIZE + ri.data_len)
			abort();
		break;
	case QBD_MSG_LOG_ACK:
	case QBD_MSG_HEARTBEAT_OK:
		qbd_log_ack_decode(p, len, &a, &b);
		break;
	case QBD_MSG_READ:
		if (qbd_read_req_decode(p, len, &a, &x, &b) == QBD_OK &&
		    (!x || x > QBD_MAX_IO_BLOCKS))
			abort();
		break;
	case QBD_MSG_READ_DATA:
		if (qbd_read_reply_decode(p, len, &a, &b, &x, &data) == QBD_OK &&
		    len != sizeof(struct qbd_read_reply) + (x << QBD_BLOCK_SHIFT))
			abort();
		break;
	case QBD_MSG_SCL_QUERY:
		qbd_scl_query_decode(p, len, &a, &x);
		break;
	case QBD_MSG_SCL_REPLY:
		if (qbd_scl_reply_decode(p, len, &si) == QBD_OK &&
		    si.nentries > QBD_MAX_SCL_LSNS)
			abort();
		break;
	case QBD_MSG_TRUNCATE:
		if (qbd_truncate_decode(p, len, &a, &b) == QBD_OK && a >= b)
			abort();
		break;
	case QBD_MSG_PEER_FETCH:
		qbd_peer_fetch_decode(p, len, &a, &b, &x);
		break;
	case QBD_MSG_FETCH_DATA:
		while (qbd_fetch_next(p, len, &off, &rec, &ri) == QBD_OK)
			if (off > len)
				abort();
		break;
	case QBD_MSG_ADMIN:
		if (qbd_admin_decode(p, len, &x, &text) == QBD_OK &&
		    strlen(text) + 1 + sizeof(struct qbd_admin) != len)
			abort();
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qbd_wire_hdr h;
	struct qbd_hdr_info hi;
	u8 *payload;
	u32 len;

	if (size < QBD_WIRE_HDR_SIZE)
		return 0;
	memcpy(&h, data, sizeof(h));
	/*
	 * Most random headers fail the CRC; reseal half of the inputs so the
	 * payload decoders get exercised, and keep the other half raw.
	 */
	if (data[0] & 1) {
		h.magic = qbd_cpu32(QBD_WIRE_MAGIC);
		h.version = qbd_cpu16(QBD_WIRE_VERSION);
		h.status = qbd_cpu32(qbd_le32(h.status) % QBD_STATUS_MAX);
		len = size - QBD_WIRE_HDR_SIZE;
		qbd_hdr_seal_buf(&h, data + QBD_WIRE_HDR_SIZE, len);
	}
	if (qbd_hdr_decode(&h, &hi) != QBD_OK)
		return 0;
	if (hi.payload_len > QBD_MAX_PAYLOAD)
		abort();
	if (hi.payload_len != size - QBD_WIRE_HDR_SIZE)
		return 0;
	/* exact-size heap copy so ASan catches any over-read */
	payload = malloc(hi.payload_len ? hi.payload_len : 1);
	if (!payload)
		return 0;
	memcpy(payload, data + QBD_WIRE_HDR_SIZE, hi.payload_len);
	if (qbd_payload_check(&hi, payload) == QBD_OK)
		check_payload(&hi, payload, hi.payload_len);
	free(payload);
	return 0;
}
