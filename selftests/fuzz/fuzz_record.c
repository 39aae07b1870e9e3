// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: a redo log record as read back from a log file or a
 * FETCH_DATA payload. Every record the decoder accepts must survive an
 * encode/decode round trip bit for bit, and a single flipped bit in an
 * accepted record must be rejected (CRC32C catches every 1-bit error).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "qbd_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct qbd_record *rec;
	struct qbd_rec_info ri, ri2;
	struct qbd_record enc;
	u8 *buf;
	u32 off = 0;

	if (size > QBD_MAX_PAYLOAD)
		return 0;
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	/*
	 * Odd first byte: reseal the CRC of the first record so the range and
	 * kind checks behind it are reached, not only the checksum.
	 */
	if (size >= QBD_RECORD_SIZE && (data[0] & 1)) {
		struct qbd_record *r = (struct qbd_record *)buf;
		u32 crc;

		r->rec_crc = 0;
		crc = qbd_crc32c(r, QBD_RECORD_SIZE);
		crc = qbd_crc32c_update(crc, buf + QBD_RECORD_SIZE,
					size - QBD_RECORD_SIZE);
		r->rec_crc = qbd_cpu32(crc);
	}
	while (qbd_fetch_next(buf, size, &off, &rec, &ri) == QBD_OK) {
		const u8 *d = (const u8 *)rec + QBD_RECORD_SIZE;
		u32 bit;

		qbd_record_encode(&enc, &ri, d);
		if (memcmp(&enc, rec, QBD_RECORD_SIZE))
			abort();
		if (qbd_record_decode(rec, QBD_RECORD_SIZE + ri.data_len,
				      &ri2) != QBD_OK || ri2.lsn != ri.lsn)
			abort();
		/* flip one bit of the struct: must fail decode or CRC */
		bit = (u32)(ri.lsn % (QBD_RECORD_SIZE * 8));
		((u8 *)&enc)[bit / 8] ^= 1U << (bit % 8);
		if (qbd_record_verify(&enc, d, ri.data_len) == QBD_OK)
			abort();
	}
	free(buf);
	return 0;
}
