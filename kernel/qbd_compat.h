/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few block layer differences between the two Debian kernels qbd.ko
 * builds for: 6.1 (blk_queue_* limit setters, blk_mq_alloc_disk(set, data))
 * and 6.12 (struct queue_limits given at allocation, BLK_FEAT_* features,
 * blk_mq_alloc_disk(set, lim, data)). Since 6.11 a queue is non-rotational
 * and has no volatile write cache unless the driver sets BLK_FEAT_ROTATIONAL
 * or BLK_FEAT_WRITE_CACHE; on 6.1 we clear/set the equivalent flags.
 */
#ifndef QBD_COMPAT_H
#define QBD_COMPAT_H

#include <linux/version.h>
#include <linux/blkdev.h>
#include <linux/blk-mq.h>

/*
 * The kernel version, from <linux/version.h>. LINUX_VERSION_MAJOR and
 * _PATCHLEVEL (5.16+) carry the same information as the version code.
 */
#define QBD_KERNEL_AT_LEAST(maj, min)					\
	(KERNEL_VERSION(LINUX_VERSION_MAJOR, LINUX_VERSION_PATCHLEVEL, 0) >= \
	 KERNEL_VERSION(maj, min, 0))

struct qbd_limits {
	unsigned int block_size;	/* logical = physical */
	unsigned int max_sectors;	/* per request */
	unsigned int max_discard_sectors;
};

#if QBD_KERNEL_AT_LEAST(6, 11)
static inline struct gendisk *qbd_alloc_disk(struct blk_mq_tag_set *set,
					     const struct qbd_limits *l,
					     void *data)
{
	struct queue_limits lim = {
		.logical_block_size = l->block_size,
		.physical_block_size = l->block_size,
		.io_min = l->block_size,
		.max_hw_sectors = l->max_sectors,
		.max_hw_discard_sectors = l->max_discard_sectors,
		.max_write_zeroes_sectors = l->max_discard_sectors,
		.discard_granularity = l->block_size,
		/* no BLK_FEAT_WRITE_CACHE: every completed write is durable */
		.features = 0,
	};

	return blk_mq_alloc_disk(set, &lim, data);
}
#else /* 6.1 */
static inline struct gendisk *qbd_alloc_disk(struct blk_mq_tag_set *set,
					     const struct qbd_limits *l,
					     void *data)
{
	struct gendisk *disk = blk_mq_alloc_disk(set, data);
	struct request_queue *q;

	if (IS_ERR(disk))
		return disk;
	q = disk->queue;
	blk_queue_logical_block_size(q, l->block_size);
	blk_queue_physical_block_size(q, l->block_size);
	blk_queue_io_min(q, l->block_size);
	blk_queue_max_hw_sectors(q, l->max_sectors);
	blk_queue_max_discard_sectors(q, l->max_discard_sectors);
	blk_queue_max_write_zeroes_sectors(q, l->max_discard_sectors);
	q->limits.discard_granularity = l->block_size;
	blk_queue_write_cache(q, false, false);
	blk_queue_flag_set(QUEUE_FLAG_NONROT, q);
	blk_queue_flag_clear(QUEUE_FLAG_ADD_RANDOM, q);
	return disk;
}
#endif

#endif /* QBD_COMPAT_H */
