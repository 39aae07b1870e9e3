/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Environment shim for the pure units (qbd_quorum.c, qbd_codec.c) that are
 * compiled both into qbd.ko and into userspace (libqbd, tests, simulator).
 * The units use only the names defined here: fixed-width types, little
 * endian conversion and CRC32C. No allocation, no locking, no I/O.
 */
#ifndef QBD_PURE_H
#define QBD_PURE_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/crc32.h>
#include <asm/byteorder.h>
#define qbd_le16(x)	le16_to_cpu(x)
#define qbd_le32(x)	le32_to_cpu(x)
#define qbd_le64(x)	le64_to_cpu(x)
#define qbd_cpu16(x)	cpu_to_le16(x)
#define qbd_cpu32(x)	cpu_to_le32(x)
#define qbd_cpu64(x)	cpu_to_le64(x)
/*
 * standard CRC32C (Castagnoli): init ~0, final xor ~0. __crc32c_le is built
 * into vmlinux (lib/crc32.c) on every Debian kernel, so qbd.ko loads with a
 * plain insmod; crc32c() would pull in the libcrc32c module.
 */
static inline u32 qbd_crc32c(const void *buf, size_t len)
{
	return ~__crc32c_le(~0U, buf, len);
}

static inline u32 qbd_crc32c_update(u32 crc, const void *buf, size_t len)
{
	return ~__crc32c_le(~crc, buf, len);
}
#else
/* u8..u64 as the C library's fixed-width types: userspace/lib/qbd_types.h */
#include "qbd_types.h"
#define qbd_le16(x)	le16toh(x)
#define qbd_le32(x)	le32toh(x)
#define qbd_le64(x)	le64toh(x)
#define qbd_cpu16(x)	htole16(x)
#define qbd_cpu32(x)	htole32(x)
#define qbd_cpu64(x)	htole64(x)
/* userspace/lib/crc32c.c: ISA-L crc32_iscsi */
u32 qbd_crc32c(const void *buf, size_t len);
/* continue a finished crc over more bytes: crc32c(a||b) */
u32 qbd_crc32c_update(u32 crc, const void *buf, size_t len);
#endif

#endif /* QBD_PURE_H */
