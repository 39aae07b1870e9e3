// SPDX-License-Identifier: GPL-2.0
/*
 * qbd - quorum block device: module init/exit, device lifecycle, blk-mq
 * operations and the per-device tick.
 *
 * A device is created by the netlink CONNECT command (netlink.c) with six
 * connected sockets, one per storage node, and destroyed by DISCONNECT or
 * module unload. Its struct qbd_device lives until the gendisk is released
 * (free_disk), so sysfs readers and netlink STATUS only need a reference on
 * the disk. The tick (every QBD_TICK) detects dead and lagging nodes, moves
 * the device state, sends heartbeats and retries stuck reads.
 */
#include <linux/module.h>
#include <linux/blkdev.h>
#include <linux/idr.h>
#include <linux/slab.h>
#include <linux/mm.h>

#include "qbd.h"
#include "qbd_compat.h"

static int qbd_major;
/* protects qbd_index_idr: index -> struct qbd_device */
DEFINE_MUTEX(qbd_index_mutex);
DEFINE_IDR(qbd_index_idr);

static blk_status_t qbd_queue_rq(struct blk_mq_hw_ctx *hctx,
				 const struct blk_mq_queue_data *bd)
{
	struct qbd_device *qd = hctx->queue->queuedata;
	struct request *rq = bd->rq;
	struct qbd_cmd *cmd = blk_mq_rq_to_pdu(rq);
	int i;

	cmd->flags = 0;
	cmd->status = BLK_STS_OK;
	cmd->abort = false;
	cmd->npieces = 0;
	cmd->lsn = 0;
	cmd->op = req_op(rq);
	cmd->is_read = false;
	cmd->start = jiffies;
	for (i = 0; i < QBD_MAX_PIECES; i++)
		cmd->piece[i].node = QBD_Q_NO_NODE;
	atomic_set(&cmd->refs, 2);

	switch (req_op(rq)) {
	case REQ_OP_READ:
		return qbd_queue_read(qd, rq);
	case REQ_OP_WRITE:
	case REQ_OP_DISCARD:
	case REQ_OP_WRITE_ZEROES:
		return qbd_queue_write(qd, rq);
	case REQ_OP_FLUSH:
		return qbd_queue_flush(qd, rq);
	default:
		return BLK_STS_NOTSUPP;
	}
}

static void qbd_complete_rq(struct request *rq)
{
	struct qbd_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct qbd_device *qd = cmd->qd;

	blk_mq_end_request(rq, cmd->status);
	if (atomic_dec_and_test(&qd->inflight_cmds))
		wake_up_all(&qd->drain_wq);
}

static enum blk_eh_timer_return qbd_timeout(struct request *rq)
{
	struct qbd_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct qbd_device *qd = cmd->qd;
	bool fail;

	/* the tick owns retries and deadlines; only make dead devices fail */
	spin_lock(&qd->lock);
	fail = qd->aborting || qd->fenced || qd->state == QBD_DEV_S_FAILED;
	spin_unlock(&qd->lock);
	if (fail) {
		spin_lock(&cmd->lock);
		cmd->abort = true;
		fail = !cmd->piece[0].busy && !cmd->piece[1].busy;
		spin_unlock(&cmd->lock);
		if (fail)
			qbd_cmd_decide(cmd, BLK_STS_IOERR);
	}
	return BLK_EH_RESET_TIMER;
}

static int qbd_init_request(struct blk_mq_tag_set *set, struct request *rq,
			    unsigned int hctx_idx, unsigned int numa_node)
{
	struct qbd_cmd *cmd = blk_mq_rq_to_pdu(rq);

	cmd->qd = set->driver_data;
	spin_lock_init(&cmd->lock);
	INIT_LIST_HEAD(&cmd->pending);
	INIT_WORK(&cmd->retry_work, qbd_read_retry_work);
	return 0;
}

static const struct blk_mq_ops qbd_mq_ops = {
	.queue_rq	= qbd_queue_rq,
	.complete	= qbd_complete_rq,
	.init_request	= qbd_init_request,
	.timeout	= qbd_timeout,
};

static void qbd_free_state(struct qbd_device *qd)
{
	kvfree(qd->recs);
	kvfree(qd->ring);
	kvfree(qd->pgs);
	kfree(qd);
}

/* the last reference on the disk is gone: nobody can reach qd any more */
static void qbd_free_disk(struct gendisk *disk)
{
	qbd_free_state(disk->private_data);
}

static const struct block_device_operations qbd_fops = {
	.owner		= THIS_MODULE,
	.free_disk	= qbd_free_disk,
};

void qbd_kick(struct qbd_device *qd)
{
	spin_lock(&qd->lock);
	if (!qd->removed)
		mod_delayed_work(qd->wq, &qd->tick, 0);
	spin_unlock(&qd->lock);
}

static bool qbd_node_behind(struct qbd_device *qd, u32 n)
{
	u32 pg;

	for (pg = 0; pg < qd->npgs; pg++)
		if (qd->pgs[pg].slot[n].scl < qd->pgs[pg].last_durable)
			return true;
	return false;
}

/*
 * Node liveness. A broken socket makes the node dead for good (until
 * userspace hands in a new one with RECONFIGURE). A node that leaves a
 * request unanswered for io_timeout is dead too, but only "silent": the
 * socket is healthy as far as we know, so it is kept and probed with
 * heartbeats, and any reply on it brings the node back (transport.c).
 */
static void qbd_check_nodes(struct qbd_device *qd)
{
	struct qbd_conn *dead[QBD_NODES] = { NULL };
	u32 quiet_ms[QBD_NODES] = { 0 };
	bool lagging[QBD_NODES] = { false };
	bool silent[QBD_NODES] = { false };
	unsigned long now = jiffies;
	u32 n, pg;

	spin_lock(&qd->lock);
	for (n = 0; n < QBD_NODES; n++) {
		struct qbd_node *node = &qd->node[n];
		struct qbd_conn *conn = node->conn;
		unsigned long since;

		if (!conn)
			continue;
		if (READ_ONCE(conn->broken)) {
			node->conn = NULL;
			if (node->state != QBD_NODE_S_FENCED)
				node->state = QBD_NODE_S_DEAD;
			node->behind_since = 0;
			for (pg = 0; pg < qd->npgs; pg++)
				qbd_q_set_state(&qd->q, pg, n, QBD_Q_SLOT_DEAD);
			dead[n] = conn;
			continue;
		}
		if (conn->silent)
			continue;
		since = max(conn->last_rx, conn->busy_since);
		if (conn->inflight && time_after(now, since + qd->io_timeout)) {
			qd->ctr[QBD_C_TIMEOUTS]++;
			quiet_ms[n] = jiffies_to_msecs(now - since);
			conn->silent = true;
			if (node->state != QBD_NODE_S_FENCED)
				node->state = QBD_NODE_S_DEAD;
			node->behind_since = 0;
			for (pg = 0; pg < qd->npgs; pg++)
				qbd_q_set_state(&qd->q, pg, n, QBD_Q_SLOT_DEAD);
			silent[n] = true;
			continue;
		}
		if (!qbd_node_behind(qd, n)) {
			node->behind_since = 0;
			if (node->state == QBD_NODE_S_LAGGING)
				node->state = QBD_NODE_S_LIVE;
			continue;
		}
		if (!node->behind_since) {
			node->behind_since = now ? now : 1;
		} else if (node->state == QBD_NODE_S_LIVE &&
			   time_after(now, node->behind_since + qd->io_timeout)) {
			node->state = QBD_NODE_S_LAGGING;
			lagging[n] = true;
		}
	}
	spin_unlock(&qd->lock);

	for (n = 0; n < QBD_NODES; n++) {
		if (dead[n]) {
			pr_warn("qbd%d: node %u is dead: connection lost\n",
				qd->index, n);
			qbd_conn_shutdown(dead[n]);
			qbd_conn_put(dead[n]);
			qbd_nl_event(qd, QBD_CMD_LINK_DEAD, n);
		}
		if (silent[n]) {
			pr_warn("qbd%d: node %u is dead: no reply for %u ms (probing it)\n",
				qd->index, n, quiet_ms[n]);
			qbd_nl_event(qd, QBD_CMD_LINK_DEAD, n);
		}
		if (lagging[n]) {
			pr_info("qbd%d: node %u is lagging\n", qd->index, n);
			qbd_nl_event(qd, QBD_CMD_NODE_LAGGING, n);
		}
	}
}

/* device state from the number of live nodes (every node holds every PG) */
static void qbd_update_state(struct qbd_device *qd)
{
	bool fail = false, fence = false;
	u32 n, live = 0;

	spin_lock(&qd->lock);
	for (n = 0; n < QBD_NODES; n++)
		live += qbd_conn_usable(qd->node[n].conn);
	if (qd->fenced) {
		qd->state = QBD_DEV_S_FENCED;
		if (!qd->fenced_sent) {
			qd->fenced_sent = true;
			fence = true;
		}
	} else if (live == QBD_NODES) {
		qd->state = QBD_DEV_S_RUNNING;
	} else if (live >= QBD_WRITE_QUORUM) {
		qd->state = QBD_DEV_S_DEGRADED;
	} else if (qd->state != QBD_DEV_S_BLOCKED &&
		   qd->state != QBD_DEV_S_FAILED) {
		qd->state = QBD_DEV_S_BLOCKED;
		qd->blocked_since = jiffies;
	} else if (qd->state == QBD_DEV_S_BLOCKED &&
		   time_after(jiffies, qd->blocked_since + qd->dead_timeout)) {
		qd->state = QBD_DEV_S_FAILED;
		fail = true;
	}
	spin_unlock(&qd->lock);

	if (fail) {
		pr_err("qbd%d: below write quorum for %u ms, failing writes\n",
		       qd->index, qd->dead_timeout_ms);
		qbd_complete_pending(qd, true);
	}
	if (fence) {
		pr_err("qbd%d: fenced by a newer epoch\n", qd->index);
		qbd_fail_all(qd);
		qbd_nl_event(qd, QBD_CMD_FENCED, -1);
	}
}

/*
 * Heartbeat every PG whose SCL on the node is behind what was sent to it
 * (learns SCLs advanced by gossip or by out-of-order arrival), and any node
 * that has been quiet for a second (detects death on an idle device).
 */
static void qbd_send_heartbeats(struct qbd_device *qd)
{
	u32 pgs[QBD_HB_PER_TICK];
	u32 n, i, cnt, pg;

	/* a fenced writer has nothing left to learn from the nodes */
	if (READ_ONCE(qd->fenced))
		return;
	for (n = 0; n < QBD_NODES; n++) {
		struct qbd_node *node = &qd->node[n];
		struct qbd_conn *conn;
		bool idle, silent;

		conn = qbd_conn_get_probe(qd, n, &silent);
		if (!conn)
			continue;
		if (silent) {
			/*
			 * Its requests are still outstanding and any reply
			 * revives it; a probe now and then covers a lost one
			 * without piling up work on a stalled node. Never
			 * wait for the socket.
			 */
			spin_lock(&qd->lock);
			idle = time_after(jiffies, conn->last_tx + qd->io_timeout);
			spin_unlock(&qd->lock);
			if (idle)
				qbd_send_probe(conn, qbd_handle(QBD_H_HB, conn->gen,
								0), 0);
			qbd_conn_put(conn);
			continue;
		}
		cnt = 0;
		spin_lock(&qd->lock);
		for (i = 0; i < qd->npgs && cnt < QBD_HB_PER_TICK; i++) {
			pg = (node->hb_cursor + i) % qd->npgs;
			if (qd->pgs[pg].slot[n].scl < qd->pgs[pg].last_lsn)
				pgs[cnt++] = pg;
		}
		node->hb_cursor = (node->hb_cursor + i) % qd->npgs;
		idle = time_after(jiffies, conn->last_rx + QBD_HB_IDLE) &&
		       time_after(jiffies, conn->last_tx + QBD_HB_IDLE);
		spin_unlock(&qd->lock);
		if (!cnt && idle)
			pgs[cnt++] = 0;
		for (i = 0; i < cnt; i++)
			if (qbd_send_msg(conn, QBD_MSG_HEARTBEAT,
					 qbd_handle(QBD_H_HB, conn->gen, pgs[i]),
					 pgs[i], NULL, 0))
				break;
		qbd_conn_put(conn);
	}
}

static void qbd_tick(struct work_struct *work)
{
	struct qbd_device *qd = container_of(to_delayed_work(work),
					     struct qbd_device, tick);

	qbd_check_nodes(qd);
	qbd_update_state(qd);
	qbd_send_heartbeats(qd);
	qbd_scan_reads(qd);
	spin_lock(&qd->lock);
	if (!qd->removed)
		queue_delayed_work(qd->wq, &qd->tick, QBD_TICK);
	spin_unlock(&qd->lock);
}

static int qbd_dev_alloc_state(struct qbd_device *qd, struct qbd_conf *conf)
{
	qd->pgs = kvcalloc(qd->npgs, sizeof(*qd->pgs), GFP_KERNEL);
	qd->ring = kvcalloc(qd->window, sizeof(*qd->ring), GFP_KERNEL);
	qd->recs = kvcalloc(qd->window, sizeof(*qd->recs), GFP_KERNEL);
	if (!qd->pgs || !qd->ring || !qd->recs)
		return -ENOMEM;
	/*
	 * Recovery truncated every LSN in (VCL, NEXT_LSN) on all segments: no
	 * such record exists, so they are vacuously durable and must not count
	 * against the in-flight window. Start VCL just below NEXT_LSN.
	 */
	if (qbd_q_init(&qd->q, qd->npgs, qd->pgs, qd->ring, qd->window,
		       conf->next_lsn - 1, conf->next_lsn, conf->pg_last))
		return -EINVAL;
	qd->low_water = qd->q.vcl;
	return 0;
}

static int qbd_dev_alloc_disk(struct qbd_device *qd)
{
	struct qbd_limits lim = {
		.block_size = QBD_BLOCK_SIZE,
		.max_sectors = (QBD_MAX_IO_BLOCKS * QBD_BLOCK_SIZE) >> SECTOR_SHIFT,
		.max_discard_sectors =
			(QBD_MAX_IO_BLOCKS * QBD_BLOCK_SIZE) >> SECTOR_SHIFT,
	};
	struct gendisk *disk;
	int ret;

	qd->tag_set.ops = &qbd_mq_ops;
	qd->tag_set.nr_hw_queues = 1;
	qd->tag_set.queue_depth = QBD_QUEUE_DEPTH;
	qd->tag_set.numa_node = NUMA_NO_NODE;
	qd->tag_set.cmd_size = sizeof(struct qbd_cmd);
	qd->tag_set.flags = BLK_MQ_F_SHOULD_MERGE | BLK_MQ_F_BLOCKING;
	qd->tag_set.driver_data = qd;
	qd->tag_set.timeout = 30 * HZ;
	ret = blk_mq_alloc_tag_set(&qd->tag_set);
	if (ret)
		return ret;

	disk = qbd_alloc_disk(&qd->tag_set, &lim, qd);
	if (IS_ERR(disk)) {
		blk_mq_free_tag_set(&qd->tag_set);
		return PTR_ERR(disk);
	}
	disk->major = qbd_major;
	disk->first_minor = qd->index << QBD_PART_SHIFT;
	disk->minors = 1 << QBD_PART_SHIFT;
	disk->fops = &qbd_fops;
	disk->private_data = qd;
	snprintf(disk->disk_name, DISK_NAME_LEN, "qbd%d", qd->index);
	set_capacity(disk, qd->size >> SECTOR_SHIFT);
	if (qd->flags & QBD_CFLAG_READ_ONLY)
		set_disk_ro(disk, true);
	qd->disk = disk;
	return 0;
}

static void qbd_dev_stop_conns(struct qbd_device *qd)
{
	struct qbd_conn *conns[QBD_NODES];
	u32 n;

	spin_lock(&qd->lock);
	for (n = 0; n < QBD_NODES; n++) {
		conns[n] = qd->node[n].conn;
		qd->node[n].conn = NULL;
	}
	spin_unlock(&qd->lock);
	for (n = 0; n < QBD_NODES; n++) {
		if (!conns[n])
			continue;
		qbd_conn_shutdown(conns[n]);
		qbd_conn_put(conns[n]);
	}
}

/*
 * Create and register a device from a validated CONNECT request. Takes
 * ownership of the six sockets in every case.
 */
struct qbd_device *qbd_dev_create(struct qbd_conf *conf, int index,
				  struct netlink_ext_ack *extack)
{
	struct socket **socks = conf->socks;
	struct qbd_device *qd;
	int ret, n;

	qd = kzalloc(sizeof(*qd), GFP_KERNEL);
	if (!qd) {
		ret = -ENOMEM;
		goto err_socks;
	}
	qd->size = conf->size;
	qd->pg_size = conf->pg_size;
	qd->pg_blocks = conf->pg_size >> QBD_BLOCK_SHIFT;
	qd->npgs = conf->npgs;
	qd->volume = conf->volume;
	qd->epoch = conf->epoch;
	qd->window = conf->window;
	qd->flags = conf->flags;
	qd->io_timeout_ms = conf->io_timeout_ms;
	qd->dead_timeout_ms = conf->dead_timeout_ms;
	qd->io_timeout = msecs_to_jiffies(conf->io_timeout_ms);
	qd->dead_timeout = msecs_to_jiffies(conf->dead_timeout_ms);
	spin_lock_init(&qd->lock);
	mutex_init(&qd->cfg_mutex);
	init_waitqueue_head(&qd->drain_wq);
	INIT_LIST_HEAD(&qd->pending);
	INIT_DELAYED_WORK(&qd->tick, qbd_tick);
	atomic_set(&qd->inflight_cmds, 0);
	qd->state = QBD_DEV_S_RUNNING;

	ret = qbd_dev_alloc_state(qd, conf);
	if (ret) {
		NL_SET_ERR_MSG(extack, "cannot set up the quorum state");
		goto err_free;
	}

	mutex_lock(&qbd_index_mutex);
	if (index >= 0)
		ret = idr_alloc(&qbd_index_idr, NULL, index, index + 1,
				GFP_KERNEL);
	else
		ret = idr_alloc(&qbd_index_idr, NULL, 0,
				MINORMASK >> QBD_PART_SHIFT, GFP_KERNEL);
	mutex_unlock(&qbd_index_mutex);
	if (ret < 0) {
		if (ret == -ENOSPC) {
			NL_SET_ERR_MSG(extack, "device index already in use");
			ret = -EEXIST;
		} else {
			NL_SET_ERR_MSG(extack, "cannot allocate a device index");
		}
		goto err_free;
	}
	qd->index = ret;

	ret = qbd_dev_alloc_disk(qd);
	if (ret) {
		NL_SET_ERR_MSG(extack, "cannot allocate the block device");
		goto err_idr;
	}

	qd->wq = alloc_workqueue("qbd%d", WQ_MEM_RECLAIM | WQ_HIGHPRI |
				 WQ_UNBOUND, 0, qd->index);
	if (!qd->wq) {
		ret = -ENOMEM;
		goto err_disk;
	}

	for (n = 0; n < QBD_NODES; n++) {
		struct qbd_conn *conn;

		qd->node[n].az = conf->az[n];
		qd->node[n].gen = 1;
		conn = qbd_conn_create(qd, socks[n], n, 1);
		if (!conn) {
			ret = -ENOMEM;
			goto err_conns;
		}
		socks[n] = NULL;
		qd->node[n].conn = conn;
	}
	for (n = 0; n < QBD_NODES; n++)
		qbd_conn_start(qd->node[n].conn);
	/* the first tick learns the SCLs of recovered PGs right away */
	queue_delayed_work(qd->wq, &qd->tick, 0);

	ret = device_add_disk(NULL, qd->disk, qbd_attr_groups);
	if (ret) {
		NL_SET_ERR_MSG(extack, "cannot register the block device");
		goto err_conns;
	}

	mutex_lock(&qbd_index_mutex);
	idr_replace(&qbd_index_idr, qd, qd->index);
	mutex_unlock(&qbd_index_mutex);
	pr_info("qbd%d: volume %llu epoch %llu, %llu bytes, %u PGs, VCL %llu\n",
		qd->index, qd->volume, qd->epoch, qd->size, qd->npgs,
		qd->q.vcl);
	return qd;

err_conns:
	spin_lock(&qd->lock);
	qd->removed = true;
	spin_unlock(&qd->lock);
	cancel_delayed_work_sync(&qd->tick);
	qbd_dev_stop_conns(qd);
	destroy_workqueue(qd->wq);
err_disk:
	put_disk(qd->disk);
	blk_mq_free_tag_set(&qd->tag_set);
err_idr:
	mutex_lock(&qbd_index_mutex);
	idr_remove(&qbd_index_idr, qd->index);
	mutex_unlock(&qbd_index_mutex);
err_free:
	qbd_free_state(qd);
err_socks:
	for (n = 0; n < QBD_NODES; n++)
		if (socks[n])
			sockfd_put(socks[n]);
	return ERR_PTR(ret);
}

struct qbd_device *qbd_dev_get(int index)
{
	struct qbd_device *qd;

	mutex_lock(&qbd_index_mutex);
	qd = idr_find(&qbd_index_idr, index);
	if (qd)
		get_device(disk_to_dev(qd->disk));
	mutex_unlock(&qbd_index_mutex);
	return qd;
}

void qbd_dev_put(struct qbd_device *qd)
{
	put_device(disk_to_dev(qd->disk));
}

/*
 * Tear a device down. The caller removed it from the index, holds
 * qd->cfg_mutex and a reference (qbd_dev_get), so qd outlives this call.
 * Without abort, dirty data is written and in-flight I/O gets up to
 * dead_timeout + io_timeout to finish; whatever is left then fails.
 */
void qbd_dev_remove(struct qbd_device *qd, bool abort)
{
	if (!abort) {
		sync_blockdev(qd->disk->part0);
		spin_lock(&qd->lock);
		qd->closing = true;
		spin_unlock(&qd->lock);
		wait_event_timeout(qd->drain_wq,
				   !atomic_read(&qd->inflight_cmds),
				   qd->dead_timeout + qd->io_timeout);
	}
	spin_lock(&qd->lock);
	qd->closing = true;
	qd->aborting = true;
	qd->removed = true;
	spin_unlock(&qd->lock);
	cancel_delayed_work_sync(&qd->tick);
	qbd_dev_stop_conns(qd);
	qbd_fail_all(qd);
	del_gendisk(qd->disk);
	destroy_workqueue(qd->wq);
	blk_mq_free_tag_set(&qd->tag_set);
	pr_info("qbd%d: disconnected, VCL %llu\n", qd->index, qd->q.vcl);
	put_disk(qd->disk);
}

static int __init qbd_init(void)
{
	int ret;

	qbd_major = register_blkdev(0, "qbd");
	if (qbd_major < 0)
		return qbd_major;
	ret = qbd_nl_init();
	if (ret) {
		unregister_blkdev(qbd_major, "qbd");
		return ret;
	}
	pr_info("qbd: loaded, major %d\n", qbd_major);
	return 0;
}

static void __exit qbd_exit(void)
{
	struct qbd_device *qd;
	int id;

	/* no netlink command runs after this returns */
	qbd_nl_exit();
	for (;;) {
		id = 0;
		mutex_lock(&qbd_index_mutex);
		qd = idr_get_next(&qbd_index_idr, &id);
		if (qd) {
			idr_remove(&qbd_index_idr, id);
			get_device(disk_to_dev(qd->disk));
		}
		mutex_unlock(&qbd_index_mutex);
		if (!qd)
			break;
		mutex_lock(&qd->cfg_mutex);
		qbd_dev_remove(qd, true);
		mutex_unlock(&qd->cfg_mutex);
		qbd_dev_put(qd);
	}
	idr_destroy(&qbd_index_idr);
	unregister_blkdev(qbd_major, "qbd");
}

module_init(qbd_init);
module_exit(qbd_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("qbd: quorum-replicated block device (Aurora-style redo log)");
MODULE_AUTHOR("qbd developers");
