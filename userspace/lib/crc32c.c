// SPDX-License-Identifier: GPL-2.0
/*
 * CRC32C (Castagnoli) for userspace, backed by ISA-L's crc32_iscsi, which
 * uses the CPU's CRC32 instruction (or PCLMULQDQ folding) when present.
 * ISA-L's function neither inverts the seed nor the result, so the standard
 * CRC32C is ~crc32_iscsi(buf, len, ~0). The kernel side uses crc32c() with
 * the same convention (kernel/qbd_pure.h), so both compute identical values.
 */
#include <isa-l/crc.h>
#include "qbd_pure.h"

u32 qbd_crc32c(const void *buf, size_t len)
{
	return qbd_crc32c_update(0, buf, len);
}

u32 qbd_crc32c_update(u32 crc, const void *buf, size_t len)
{
	/* ISA-L takes an int length; feed large buffers in pieces */
	const unsigned char *p = buf;

	crc = ~crc;
	while (len) {
		size_t n = len > (1U << 30) ? (1U << 30) : len;

		crc = crc32_iscsi((unsigned char *)p, (int)n, crc);
		p += n;
		len -= n;
	}
	return ~crc;
}
