/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * qbd generic netlink ABI (family "qbd"), modeled on nbd-netlink.h.
 * Userspace (qbdctl) connects the TCP sockets, performs the HELLO handshake
 * and the attach-time recovery, then hands the connected sockets to the
 * kernel with QBD_CMD_CONNECT. All commands need CAP_SYS_ADMIN.
 */
#ifndef _UAPI_QBD_NETLINK_H
#define _UAPI_QBD_NETLINK_H

#define QBD_GENL_FAMILY_NAME		"qbd"
#define QBD_GENL_VERSION		1
#define QBD_GENL_MCAST_GROUP_NAME	"qbd_mc_group"

/* top-level attributes */
enum {
	QBD_ATTR_UNSPEC,
	QBD_ATTR_INDEX,		/* u32: device index (/dev/qbdN) */
	QBD_ATTR_SIZE_BYTES,	/* u64: volume size, multiple of 4 KiB */
	QBD_ATTR_PG_SIZE,	/* u64: protection group size in bytes */
	QBD_ATTR_VOLUME_ID,	/* u64 */
	QBD_ATTR_EPOCH,		/* u64: this writer's epoch */
	QBD_ATTR_VCL,		/* u64: recovered VCL / current VCL (STATUS) */
	QBD_ATTR_NEXT_LSN,	/* u64: first LSN to allocate (> VCL) */
	QBD_ATTR_PG_LAST_LSN,	/* binary: u64[npgs], newest kept LSN per PG */
	QBD_ATTR_IO_TIMEOUT,	/* u32: ms before a node request times out */
	QBD_ATTR_DEAD_TIMEOUT,	/* u32: ms writes wait for RECONFIGURE */
	QBD_ATTR_NODES,		/* nested: QBD_NODE_ITEM... */
	QBD_ATTR_VDL,		/* u64 (STATUS) */
	QBD_ATTR_STATE,		/* u32: enum qbd_dev_state (STATUS) */
	QBD_ATTR_DEVICE_LIST,	/* nested: QBD_DEVICE_ITEM (STATUS all) */
	QBD_ATTR_FLAGS,		/* u32: QBD_CFLAG_* */
	QBD_ATTR_WINDOW,	/* u32: max in-flight LSNs (power of 2) */
	QBD_ATTR_COUNTERS,	/* nested: QBD_CTR_* u64 (STATUS) */
	__QBD_ATTR_MAX,
};

#define QBD_ATTR_MAX (__QBD_ATTR_MAX - 1)

#define QBD_CFLAG_READ_ONLY	0x1
#define QBD_CFLAG_ABORT		0x2	/* DISCONNECT: do not wait for I/O */

enum {
	QBD_DEVICE_ITEM_UNSPEC,
	QBD_DEVICE_ITEM,	/* nested: top-level attributes of one device */
	__QBD_DEVICE_ITEM_MAX,
};

enum {
	QBD_NODE_ITEM_UNSPEC,
	QBD_NODE_ITEM,		/* nested: QBD_NODE_* */
	__QBD_NODE_ITEM_MAX,
};

/* per node attributes */
enum {
	QBD_NODE_UNSPEC,
	QBD_NODE_FD,		/* u32: connected TCP socket (CONNECT/RECONF) */
	QBD_NODE_ID,		/* u32: node id, also the slot 0..5 */
	QBD_NODE_AZ,		/* u32: availability zone number */
	QBD_NODE_SCL,		/* u64: lowest SCL over the node's PGs */
	QBD_NODE_STATE,		/* u32: enum qbd_node_state */
	QBD_NODE_INFLIGHT,	/* u32 */
	QBD_NODE_SENT_BYTES,	/* u64 */
	QBD_NODE_ACKS,		/* u64 */
	QBD_NODE_READS,		/* u64 */
	QBD_NODE_ERRORS,	/* u64 */
	QBD_NODE_LAT_US,	/* u32: smoothed read latency */
	QBD_NODE_PG_SCL,	/* binary: u64[npgs] per-PG SCL (STATUS) */
	__QBD_NODE_MAX,
};

#define QBD_NODE_MAX (__QBD_NODE_MAX - 1)

/* counters (QBD_ATTR_COUNTERS), all u64 */
enum {
	QBD_CTR_UNSPEC,
	QBD_CTR_WRITES,
	QBD_CTR_READS,
	QBD_CTR_RECORDS,
	QBD_CTR_READ_RETRIES,
	QBD_CTR_NOT_YET,
	QBD_CTR_TIMEOUTS,
	QBD_CTR_STALE_REPLIES,
	QBD_CTR_IO_ERRORS,
	__QBD_CTR_MAX,
};

#define QBD_CTR_MAX (__QBD_CTR_MAX - 1)

enum qbd_node_state {
	QBD_NODE_S_LIVE = 0,
	QBD_NODE_S_DEAD = 1,	/* link dead, waiting for RECONFIGURE */
	QBD_NODE_S_LAGGING = 2,
	QBD_NODE_S_FENCED = 3,	/* node reported a newer epoch */
};

enum qbd_dev_state {
	QBD_DEV_S_RUNNING = 0,
	QBD_DEV_S_DEGRADED = 1,	/* some PG below 6 live segments */
	QBD_DEV_S_BLOCKED = 2,	/* some PG below 4: writes wait */
	QBD_DEV_S_FAILED = 3,	/* dead timeout passed: I/O errors */
	QBD_DEV_S_FENCED = 4,	/* a newer epoch took over */
};

enum {
	QBD_CMD_UNSPEC,
	QBD_CMD_CONNECT,	/* -> reply QBD_ATTR_INDEX */
	QBD_CMD_DISCONNECT,	/* QBD_ATTR_INDEX [QBD_ATTR_FLAGS] */
	QBD_CMD_RECONFIGURE,	/* QBD_ATTR_INDEX QBD_ATTR_NODES(fd,id) */
	QBD_CMD_STATUS,		/* [QBD_ATTR_INDEX] -> device(s) */
	QBD_CMD_LINK_DEAD,	/* event: QBD_ATTR_INDEX QBD_ATTR_NODES(id) */
	QBD_CMD_NODE_LAGGING,	/* event: QBD_ATTR_INDEX QBD_ATTR_NODES(id) */
	QBD_CMD_FENCED,		/* event: QBD_ATTR_INDEX */
	__QBD_CMD_MAX,
};

#define QBD_CMD_MAX (__QBD_CMD_MAX - 1)

#endif /* _UAPI_QBD_NETLINK_H */
