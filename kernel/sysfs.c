// SPDX-License-Identifier: GPL-2.0
/*
 * qbd sysfs: read-only state under /sys/block/qbdN/qbd/.
 *   vcl, vdl, epoch, volume, next_lsn  decimal u64
 *   state                              running|degraded|blocked|failed|fenced
 *   nodes                              one line per node:
 *                                      "id az state scl inflight acks errors"
 * The attributes are removed by del_gendisk before the device is freed.
 */
#include <linux/blkdev.h>
#include <linux/device.h>
#include <linux/sysfs.h>

#include "qbd.h"

static struct qbd_device *qbd_from_dev(struct device *dev)
{
	return dev_to_disk(dev)->private_data;
}

static ssize_t qbd_show_u64(struct device *dev, char *buf, int which)
{
	struct qbd_device *qd = qbd_from_dev(dev);
	u64 v;

	spin_lock(&qd->lock);
	switch (which) {
	case 0:
		v = qbd_q_vcl(&qd->q);
		break;
	case 1:
		v = qbd_q_vdl(&qd->q);
		break;
	case 2:
		v = qd->epoch;
		break;
	case 3:
		v = qd->volume;
		break;
	default:
		v = qd->q.next_lsn;
		break;
	}
	spin_unlock(&qd->lock);
	return sysfs_emit(buf, "%llu\n", v);
}

static ssize_t vcl_show(struct device *dev, struct device_attribute *attr,
			char *buf)
{
	return qbd_show_u64(dev, buf, 0);
}

static ssize_t vdl_show(struct device *dev, struct device_attribute *attr,
			char *buf)
{
	return qbd_show_u64(dev, buf, 1);
}

static ssize_t epoch_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	return qbd_show_u64(dev, buf, 2);
}

static ssize_t volume_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	return qbd_show_u64(dev, buf, 3);
}

static ssize_t next_lsn_show(struct device *dev,
			     struct device_attribute *attr, char *buf)
{
	return qbd_show_u64(dev, buf, 4);
}

static ssize_t state_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct qbd_device *qd = qbd_from_dev(dev);
	u8 state;

	spin_lock(&qd->lock);
	state = qd->state;
	spin_unlock(&qd->lock);
	return sysfs_emit(buf, "%s\n", qbd_state_name(state));
}

static ssize_t nodes_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct qbd_device *qd = qbd_from_dev(dev);
	ssize_t len = 0;
	u32 n;

	spin_lock(&qd->lock);
	for (n = 0; n < QBD_NODES; n++) {
		struct qbd_node *node = &qd->node[n];

		len += sysfs_emit_at(buf, len, "%u %u %s %llu %u %llu %llu\n",
				     n, node->az,
				     qbd_node_state_name(node->state),
				     qbd_node_scl(qd, n),
				     node->conn ? node->conn->inflight : 0,
				     node->acks, node->errors);
	}
	spin_unlock(&qd->lock);
	return len;
}

static DEVICE_ATTR_RO(vcl);
static DEVICE_ATTR_RO(vdl);
static DEVICE_ATTR_RO(epoch);
static DEVICE_ATTR_RO(volume);
static DEVICE_ATTR_RO(next_lsn);
static DEVICE_ATTR_RO(state);
static DEVICE_ATTR_RO(nodes);

static struct attribute *qbd_attrs[] = {
	&dev_attr_vcl.attr,
	&dev_attr_vdl.attr,
	&dev_attr_epoch.attr,
	&dev_attr_volume.attr,
	&dev_attr_next_lsn.attr,
	&dev_attr_state.attr,
	&dev_attr_nodes.attr,
	NULL,
};

static const struct attribute_group qbd_attr_group = {
	.name = "qbd",
	.attrs = qbd_attrs,
};

const struct attribute_group *qbd_attr_groups[] = {
	&qbd_attr_group,
	NULL,
};
