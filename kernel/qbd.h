/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qbd.ko shared definitions: one struct qbd_device per /dev/qbdN, one struct
 * qbd_node per storage node (the node id is its slot 0..5 in every PG), one
 * struct qbd_conn per TCP socket handed in by userspace, and one struct
 * qbd_cmd per blk-mq request (the request PDU).
 *
 * Data path: queue_rq (main.c) -> records / reads (io.c) -> sockets
 * (transport.c) -> LOG_ACK / READ_DATA (transport.c rx worker) -> quorum
 * bookkeeping (qbd_quorum.c) -> completion (io.c). Control: netlink.c,
 * sysfs.c.
 *
 * Locking: qd->lock (spinlock) protects the quorum state, the record ring,
 * the nodes, the pending-write list and the device state. cmd->lock protects
 * the read pieces of one request. The two are never nested. conn->tx_lock
 * (mutex) serialises senders on one socket.
 */
#ifndef QBD_H
#define QBD_H

#include <linux/blk-mq.h>
#include <linux/crc32.h>
#include <linux/kref.h>
#include <linux/sizes.h>
#include <linux/mutex.h>
#include <linux/net.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <net/genetlink.h>

#include "qbd_quorum.h"
#include "qbd_codec.h"
#include "uapi/qbd_netlink.h"
#include "uapi/qbd_wire.h"

#define QBD_NODES		QBD_PG_NODES
#define QBD_MAX_PGS		8191	/* PG_LAST_LSN must fit one attribute */
#define QBD_MAX_PIECES		2	/* 1 MiB request, PG >= 1 MiB */
#define QBD_MIN_PG_SIZE		SZ_1M
#define QBD_DEF_PG_SIZE		(10ULL * SZ_1G)
#define QBD_DEF_WINDOW		1024
#define QBD_MIN_WINDOW		16
#define QBD_MAX_WINDOW		65536
#define QBD_DEF_IO_TIMEOUT	30000	/* ms: emulated guests stall for seconds */
#define QBD_DEF_DEAD_TIMEOUT	30000	/* ms */
#define QBD_QUEUE_DEPTH		128
#define QBD_TICK		(HZ / 4)
#define QBD_HB_IDLE		HZ	/* heartbeat an idle node every second */
#define QBD_HB_PER_TICK		64	/* bound on heartbeats per node per tick */
#define QBD_PART_SHIFT		4

/* request handle: kind | connection generation | kind specific cookie */
#define QBD_H_KIND_SHIFT	60
#define QBD_H_GEN_SHIFT		52
#define QBD_H_LSN_MASK		GENMASK_ULL(QBD_H_GEN_SHIFT - 1, 0)
#define QBD_H_WRITE		1ULL
#define QBD_H_READ		2ULL
#define QBD_H_HB		3ULL

/*
 * One connected socket to a node. Refcounted: the node slot and every
 * sender in progress hold a reference. Whoever detaches it from the node
 * calls qbd_conn_shutdown(), which also stops the receive thread.
 */
struct qbd_conn {
	struct kref ref;
	struct qbd_device *qd;
	struct socket *sock;
	struct mutex tx_lock;		/* one message at a time */
	struct task_struct *rx_task;	/* receive thread, stopped by the
					 * one who detaches the connection
					 */
	void *scratch;			/* PAGE_SIZE drain buffer for rx */
	u32 node;			/* slot 0..5 */
	u8 gen;
	bool broken;			/* send/receive failed: node is dead */
	bool memalloc;			/* we set SOCK_MEMALLOC */
	bool local;			/* the node is on this machine */
	/* under qd->lock */
	bool silent;			/* no reply for io_timeout: node is dead,
					 * but the socket is kept and probed;
					 * any reply brings the node back
					 */
	u32 inflight;			/* requests without a reply yet */
	unsigned long busy_since;	/* jiffies when inflight became > 0 */
	unsigned long last_rx;
	unsigned long last_tx;
};

struct qbd_node {
	struct qbd_conn *conn;		/* NULL while dead */
	u32 az;
	u8 state;			/* enum qbd_node_state */
	u8 gen;				/* bumped for every new connection */
	unsigned long behind_since;	/* lagging detection, 0 = in step */
	u32 hb_cursor;
	u64 sent_bytes;
	u64 acks;
	u64 reads;
	u64 errors;
};

/* which nodes got and acknowledged each in-flight record */
struct qbd_rec_track {
	u64 lsn;
	u32 pg;
	u8 sent;			/* node bit mask */
	u8 acked;
};

enum qbd_ctr {
	QBD_C_WRITES,
	QBD_C_READS,
	QBD_C_RECORDS,
	QBD_C_READ_RETRIES,
	QBD_C_NOT_YET,
	QBD_C_TIMEOUTS,
	QBD_C_STALE_REPLIES,
	QBD_C_IO_ERRORS,
	QBD_C_NR,
};

struct qbd_device {
	int index;
	struct gendisk *disk;
	struct blk_mq_tag_set tag_set;
	struct workqueue_struct *wq;	/* read retries, tick */
	struct delayed_work tick;
	struct mutex cfg_mutex;		/* netlink ops vs teardown */
	wait_queue_head_t drain_wq;
	atomic_t inflight_cmds;

	/* geometry and identity, fixed at CONNECT */
	u64 size;
	u64 pg_size;
	u64 pg_blocks;
	u32 npgs;
	u64 volume;
	u64 epoch;
	u32 window;
	u32 flags;			/* QBD_CFLAG_* */
	unsigned long io_timeout;	/* jiffies */
	unsigned long dead_timeout;	/* jiffies */
	u32 io_timeout_ms;
	u32 dead_timeout_ms;

	spinlock_t lock;		/* see the top of this file */
	struct qbd_quorum q;
	struct qbd_q_pg *pgs;
	struct qbd_q_entry *ring;
	struct qbd_rec_track *recs;	/* window entries, by lsn */
	struct qbd_node node[QBD_NODES];
	struct list_head pending;	/* writes/flushes waiting for VCL */
	u64 low_water;
	u8 state;			/* enum qbd_dev_state */
	bool fenced;
	bool fenced_sent;
	bool closing;			/* no new I/O */
	bool aborting;			/* fail everything */
	bool removed;			/* torn down */
	unsigned long blocked_since;
	atomic_t read_seq;
	u64 ctr[QBD_C_NR];
};

enum {
	QBD_CMD_F_DECIDED = 0,		/* result chosen, result ref dropped */
};

struct qbd_piece {
	u64 lba;
	u64 lsn;			/* write: record LSN; read: read point */
	u32 nblocks;
	u32 pg;
	u32 off;			/* byte offset in the request */
	/* reads, under cmd->lock */
	int node;			/* QBD_Q_NO_NODE = not sent */
	u16 seq;
	u8 tried;			/* node bit mask */
	bool busy;			/* rx worker is filling the pages */
	bool done;
	bool retry;
	unsigned long sent_at;
	u64 sent_ns;			/* latency measurement */
};

struct qbd_cmd {
	struct qbd_device *qd;
	struct list_head pending;
	spinlock_t lock;		/* read pieces */
	atomic_t refs;			/* issuer + result + retry workers */
	unsigned long flags;
	blk_status_t status;
	enum req_op op;			/* REQ_OP_* */
	u8 npieces;
	bool is_read;
	bool abort;			/* fail once pieces are idle */
	u64 lsn;			/* highest LSN: complete when <= VCL */
	u64 issue_vcl;			/* reads: VCL at issue (low water) */
	unsigned long start;
	struct qbd_piece piece[QBD_MAX_PIECES];
	struct work_struct retry_work;
};

static inline u64 qbd_handle(u64 kind, u8 gen, u64 cookie)
{
	return (kind << QBD_H_KIND_SHIFT) | ((u64)gen << QBD_H_GEN_SHIFT) |
	       (cookie & QBD_H_LSN_MASK);
}

static inline u32 qbd_handle_kind(u64 h)
{
	return h >> QBD_H_KIND_SHIFT;
}

static inline u8 qbd_handle_gen(u64 h)
{
	return (h >> QBD_H_GEN_SHIFT) & 0xff;
}

/* the node takes requests: connected, not broken, not silent */
static inline bool qbd_conn_usable(const struct qbd_conn *conn)
{
	return conn && !READ_ONCE(conn->broken) && !conn->silent;
}

static inline u64 qbd_read_cookie(u32 tag, u32 piece, u16 seq)
{
	return ((u64)piece << 48) | ((u64)seq << 32) | tag;
}

/* a validated CONNECT request */
struct qbd_conf {
	u64 size;
	u64 pg_size;
	u64 volume;
	u64 epoch;
	u64 vcl;
	u64 next_lsn;
	u64 *pg_last;			/* npgs entries or NULL (all zero) */
	u32 npgs;
	u32 window;
	u32 flags;
	u32 io_timeout_ms;
	u32 dead_timeout_ms;
	u32 az[QBD_NODES];
	struct socket *socks[QBD_NODES];	/* by node id */
};

/*
 * CRC32C of (head || data) from the raw register of the data alone: the
 * register is linear, so crc(h || d) = ~(shift(reg(h), |d|) ^ reg0(d)).
 * One pass over the data serves both rec_crc and payload_crc.
 */
static inline u32 qbd_crc_combine(const void *head, size_t hlen,
				  u32 data_raw, size_t dlen)
{
	return ~(__crc32c_le_shift(__crc32c_le(~0U, head, hlen), dlen) ^
		 data_raw);
}

/* main.c */
extern struct mutex qbd_index_mutex;
extern struct idr qbd_index_idr;
struct qbd_device *qbd_dev_create(struct qbd_conf *conf, int index,
				  struct netlink_ext_ack *extack);
void qbd_dev_remove(struct qbd_device *qd, bool abort);
struct qbd_device *qbd_dev_get(int index);
void qbd_dev_put(struct qbd_device *qd);
void qbd_kick(struct qbd_device *qd);

/* transport.c */
struct qbd_conn *qbd_conn_create(struct qbd_device *qd, struct socket *sock,
				 u32 node, u8 gen);
void qbd_conn_start(struct qbd_conn *conn);
void qbd_conn_discard(struct qbd_conn *conn);
void qbd_conn_shutdown(struct qbd_conn *conn);
void qbd_conn_put(struct qbd_conn *conn);
struct qbd_conn *qbd_conn_get_node(struct qbd_device *qd, u32 node);
struct qbd_conn *qbd_conn_get_probe(struct qbd_device *qd, u32 node,
				    bool *silent);
int qbd_send_probe(struct qbd_conn *conn, u64 handle, u32 pg);
void qbd_conn_failed(struct qbd_conn *conn);
int qbd_send_msg(struct qbd_conn *conn, u16 type, u64 handle, u32 pg,
		 const void *payload, u32 len);
int qbd_send_record(struct qbd_conn *conn, struct request *rq,
		    struct qbd_record *rec, u32 off, u32 data_len,
		    u32 payload_crc);
void qbd_heartbeat(struct qbd_device *qd, u32 node, u32 pg);

/* io.c */
blk_status_t qbd_queue_write(struct qbd_device *qd, struct request *rq);
blk_status_t qbd_queue_flush(struct qbd_device *qd, struct request *rq);
blk_status_t qbd_queue_read(struct qbd_device *qd, struct request *rq);
void qbd_read_retry_work(struct work_struct *work);
void qbd_cmd_decide(struct qbd_cmd *cmd, blk_status_t status);
void qbd_cmd_put(struct qbd_cmd *cmd);
void qbd_complete_pending(struct qbd_device *qd, bool fail);
void qbd_on_ack(struct qbd_conn *conn, u64 handle, u32 pg, u64 lsn, u64 scl,
		bool heartbeat);
void qbd_on_write_error(struct qbd_conn *conn, u64 handle, u32 status);
struct qbd_cmd *qbd_read_claim(struct qbd_conn *conn, u64 handle,
			       u64 lba, u32 nblocks, u32 *piece);
void qbd_read_finish(struct qbd_conn *conn, struct qbd_cmd *cmd, u32 piece,
		     u64 scl, bool ok, u32 status);
void qbd_on_read_error(struct qbd_conn *conn, u64 handle, u32 status);
int qbd_rq_xfer(struct request *rq, u32 off, u32 len,
		int (*fn)(void *arg, struct page *page, u32 poff, u32 len),
		void *arg);
void qbd_scan_reads(struct qbd_device *qd);
void qbd_fail_all(struct qbd_device *qd);
u64 qbd_node_scl(struct qbd_device *qd, u32 node);

/* netlink.c */
int qbd_nl_init(void);
void qbd_nl_exit(void);
void qbd_nl_event(struct qbd_device *qd, u8 cmd, int node);

/* sysfs.c */
extern const struct attribute_group *qbd_attr_groups[];

static inline const char *qbd_state_name(u8 state)
{
	static const char * const names[] = {
		"running", "degraded", "blocked", "failed", "fenced",
	};

	return state < ARRAY_SIZE(names) ? names[state] : "unknown";
}

static inline const char *qbd_node_state_name(u8 state)
{
	static const char * const names[] = {
		"live", "dead", "lagging", "fenced",
	};

	return state < ARRAY_SIZE(names) ? names[state] : "unknown";
}

#endif /* QBD_H */
