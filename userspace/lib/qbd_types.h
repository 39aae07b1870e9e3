/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's short integer names for userspace builds of the pure units
 * (kernel/qbd_quorum.c, kernel/qbd_codec.c). They are the C library's
 * fixed-width types, so PRIu64 and friends print them.
 */
#ifndef QBD_TYPES_H
#define QBD_TYPES_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <endian.h>
#include <linux/types.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;

#endif /* QBD_TYPES_H */
