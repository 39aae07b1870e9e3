// SPDX-License-Identifier: GPL-2.0
/*
 * qbd transport: the kernel side of the six TCP sockets a device owns.
 *
 * Userspace connects each socket and performs the HELLO handshake as the
 * volume's WRITER before handing it over with CONNECT or RECONFIGURE, so the
 * kernel only ever sends LOG_WRITE, READ and HEARTBEAT and receives their
 * replies. As in nbd, the sockets may carry writeback: they allocate with
 * GFP_NOIO, and are marked SOCK_MEMALLOC with the receive worker and every
 * sender under memalloc_noreclaim_save() -- except for a node on this
 * machine, see qbd_peer_is_local(). Senders serialise on the per-socket
 * tx_lock; one receive worker per socket parses replies and hands them to
 * io.c. Any socket error or undecodable header marks the connection broken;
 * the device tick then declares the node dead. A node that only stops
 * answering is declared dead but keeps its socket: a late reply revives it.
 */
#include <linux/file.h>
#include <linux/net.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/delay.h>
#include <linux/highmem.h>
#include <linux/kthread.h>
#include <net/route.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/ipv6.h>

#include "qbd.h"

static void qbd_conn_release(struct kref *ref)
{
	struct qbd_conn *conn = container_of(ref, struct qbd_conn, ref);

	if (conn->memalloc)
		sk_clear_memalloc(conn->sock->sk);
	sockfd_put(conn->sock);
	kfree(conn->scratch);
	kfree(conn);
}

void qbd_conn_put(struct qbd_conn *conn)
{
	kref_put(&conn->ref, qbd_conn_release);
}

static int qbd_rx_thread(void *data);

/*
 * Is the node on this machine (loopback, or one of our own addresses)? Then
 * the socket must not use the memory reserves: an skb built from them is
 * marked pfmemalloc, and on a local path that very skb reaches the node's
 * socket, which is not SOCK_MEMALLOC and drops it (sk_filter_trim_cap) --
 * and every retransmission of it, since it keeps the same pages. The
 * stream then stalls for good while TCP still looks established: the node
 * "never answers" again. A local node needs memory to answer anyway.
 */
static bool qbd_peer_is_local(struct sock *sk)
{
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6 &&
	    !ipv6_addr_v4mapped(&sk->sk_v6_daddr))
		return ipv6_addr_loopback(&sk->sk_v6_daddr);
#endif
	return ipv4_is_loopback(sk->sk_daddr) ||
	       inet_addr_type(sock_net(sk), sk->sk_daddr) == RTN_LOCAL;
}

/* what senders and the receive thread may not do while allocating */
static unsigned int qbd_mem_save(struct qbd_conn *conn)
{
	return conn->local ? memalloc_noio_save() : memalloc_noreclaim_save();
}

static void qbd_mem_restore(struct qbd_conn *conn, unsigned int flags)
{
	if (conn->local)
		memalloc_noio_restore(flags);
	else
		memalloc_noreclaim_restore(flags);
}

/* takes over the reference on sock (from sockfd_lookup) on success */
struct qbd_conn *qbd_conn_create(struct qbd_device *qd, struct socket *sock,
				 u32 node, u8 gen)
{
	struct qbd_conn *conn;
	struct sock *sk = sock->sk;

	conn = kzalloc(sizeof(*conn), GFP_KERNEL);
	if (!conn)
		return NULL;
	conn->scratch = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!conn->scratch) {
		kfree(conn);
		return NULL;
	}
	conn->rx_task = kthread_create(qbd_rx_thread, conn, "qbd%d-rx%u",
				       qd->index, node);
	if (IS_ERR(conn->rx_task)) {
		kfree(conn->scratch);
		kfree(conn);
		return NULL;
	}
	kref_init(&conn->ref);
	mutex_init(&conn->tx_lock);
	conn->qd = qd;
	conn->sock = sock;
	conn->node = node;
	conn->gen = gen;
	conn->last_rx = jiffies;
	conn->last_tx = jiffies;

	sk->sk_sndtimeo = qd->io_timeout;
	sk->sk_allocation = GFP_NOIO;
	conn->local = qbd_peer_is_local(sk);
	if (!conn->local && !sock_flag(sk, SOCK_MEMALLOC)) {
		sk_set_memalloc(sk);
		conn->memalloc = true;
	}
	if (sk->sk_protocol == IPPROTO_TCP)
		tcp_sock_set_nodelay(sk);
	return conn;
}

/* drop a connection that was never started (error paths) */
void qbd_conn_discard(struct qbd_conn *conn)
{
	kthread_stop(conn->rx_task);
	qbd_conn_put(conn);
}

void qbd_conn_start(struct qbd_conn *conn)
{
	wake_up_process(conn->rx_task);
}

/*
 * Make every blocked send return and stop the receive thread. Called by
 * whoever detached the connection from its node, in process context, never
 * by the receive thread itself.
 */
void qbd_conn_shutdown(struct qbd_conn *conn)
{
	WRITE_ONCE(conn->broken, true);
	kernel_sock_shutdown(conn->sock, SHUT_RDWR);
	kthread_stop(conn->rx_task);
}

/* a reference on the node's connection if it takes requests, or NULL */
struct qbd_conn *qbd_conn_get_node(struct qbd_device *qd, u32 node)
{
	struct qbd_conn *conn;

	spin_lock(&qd->lock);
	conn = qd->node[node].conn;
	if (qbd_conn_usable(conn))
		kref_get(&conn->ref);
	else
		conn = NULL;
	spin_unlock(&qd->lock);
	return conn;
}

/* as qbd_conn_get_node(), but also a silent node's (for heartbeats) */
struct qbd_conn *qbd_conn_get_probe(struct qbd_device *qd, u32 node,
				    bool *silent)
{
	struct qbd_conn *conn;

	spin_lock(&qd->lock);
	conn = qd->node[node].conn;
	if (conn && !READ_ONCE(conn->broken)) {
		kref_get(&conn->ref);
		*silent = conn->silent;
	} else {
		conn = NULL;
	}
	spin_unlock(&qd->lock);
	return conn;
}

void qbd_conn_failed(struct qbd_conn *conn)
{
	struct qbd_device *qd = conn->qd;

	if (!READ_ONCE(conn->broken)) {
		WRITE_ONCE(conn->broken, true);
		spin_lock(&qd->lock);
		qd->node[conn->node].errors++;
		spin_unlock(&qd->lock);
	}
	qbd_kick(qd);
}

/*
 * A request is about to go out: one reply is now expected. Called under
 * tx_lock, so the io_timeout of the node does not run while the request
 * still waits behind other senders.
 */
static void qbd_conn_account(struct qbd_conn *conn, u32 bytes)
{
	struct qbd_device *qd = conn->qd;

	spin_lock(&qd->lock);
	if (!conn->inflight++)
		conn->busy_since = jiffies;
	conn->last_tx = jiffies;
	qd->node[conn->node].sent_bytes += bytes;
	spin_unlock(&qd->lock);
}

/*
 * Send all of msg. A pending signal (queue_rq may run in the submitter's
 * context) makes sendmsg return early without progress; retry until the
 * socket drains or io_timeout passes, so a signal never tears a message.
 */
static int qbd_xmit(struct qbd_conn *conn, struct msghdr *msg)
{
	unsigned long deadline = jiffies + conn->qd->io_timeout;
	unsigned int noreclaim = qbd_mem_save(conn);
	int ret = 0;

	msg->msg_flags |= MSG_NOSIGNAL;
	while (msg_data_left(msg)) {
		ret = sock_sendmsg(conn->sock, msg);
		if (ret > 0) {
			ret = 0;
			continue;
		}
		if ((ret == -ERESTARTSYS || ret == -EINTR) &&
		    !READ_ONCE(conn->broken) && time_before(jiffies, deadline)) {
			usleep_range(1000, 2000);
			continue;
		}
		if (!ret)
			ret = -EPIPE;
		break;
	}
	qbd_mem_restore(conn, noreclaim);
	return ret;
}

static int qbd_xmit_kvec(struct qbd_conn *conn, struct kvec *vec, int nvec,
			 size_t len, bool more)
{
	struct msghdr msg = { .msg_flags = more ? MSG_MORE : 0 };

	iov_iter_kvec(&msg.msg_iter, ITER_SOURCE, vec, nvec, len);
	return qbd_xmit(conn, &msg);
}

int qbd_send_msg(struct qbd_conn *conn, u16 type, u64 handle, u32 pg,
		 const void *payload, u32 len)
{
	struct qbd_device *qd = conn->qd;
	struct qbd_wire_hdr hdr;
	struct kvec vec[2] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)payload, .iov_len = len },
	};
	int ret;

	qbd_hdr_init(&hdr, type, handle, qd->volume, qd->epoch, pg);
	qbd_hdr_seal_buf(&hdr, payload, len);
	mutex_lock(&conn->tx_lock);
	qbd_conn_account(conn, sizeof(hdr) + len);
	ret = qbd_xmit_kvec(conn, vec, len ? 2 : 1, sizeof(hdr) + len, false);
	mutex_unlock(&conn->tx_lock);
	if (ret)
		qbd_conn_failed(conn);
	return ret;
}

/*
 * HEARTBEAT to a silent node: never wait behind a stuck sender or for room
 * in a full socket (the tick must not stall on one node); -EAGAIN if the
 * probe was not sent.
 */
int qbd_send_probe(struct qbd_conn *conn, u64 handle, u32 pg)
{
	struct sock *sk = conn->sock->sk;

	if (!mutex_trylock(&conn->tx_lock))
		return -EAGAIN;
	if (READ_ONCE(sk->sk_wmem_queued) > READ_ONCE(sk->sk_sndbuf) / 2) {
		mutex_unlock(&conn->tx_lock);
		return -EAGAIN;
	}
	mutex_unlock(&conn->tx_lock);
	return qbd_send_msg(conn, QBD_MSG_HEARTBEAT, handle, pg, NULL, 0);
}

struct qbd_tx_ctx {
	struct qbd_conn *conn;
	u32 left;
};

static int qbd_tx_page(void *arg, struct page *page, u32 poff, u32 len)
{
	struct qbd_tx_ctx *ctx = arg;
	struct bio_vec bv = { .bv_page = page, .bv_offset = poff,
			      .bv_len = len };
	struct msghdr msg = { };

	ctx->left -= len;
	if (ctx->left)
		msg.msg_flags = MSG_MORE;
	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, &bv, 1, len);
	return qbd_xmit(ctx->conn, &msg);
}

/*
 * LOG_WRITE: header + record, then data_len bytes of the request's pages
 * from byte off. payload_crc covers the record struct and the data.
 */
int qbd_send_record(struct qbd_conn *conn, struct request *rq,
		    struct qbd_record *rec, u32 off, u32 data_len,
		    u32 payload_crc)
{
	struct qbd_device *qd = conn->qd;
	struct qbd_wire_hdr hdr;
	struct kvec vec[2] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = rec, .iov_len = sizeof(*rec) },
	};
	struct qbd_tx_ctx ctx = { .conn = conn, .left = data_len };
	int ret;

	qbd_hdr_init(&hdr, QBD_MSG_LOG_WRITE,
		     qbd_handle(QBD_H_WRITE, conn->gen, le64_to_cpu(rec->lsn)),
		     qd->volume, qd->epoch, le32_to_cpu(rec->pg));
	qbd_hdr_seal(&hdr, sizeof(*rec) + data_len, payload_crc);
	mutex_lock(&conn->tx_lock);
	qbd_conn_account(conn, sizeof(hdr) + sizeof(*rec) + data_len);
	ret = qbd_xmit_kvec(conn, vec, 2, sizeof(hdr) + sizeof(*rec),
			    data_len);
	if (!ret && data_len)
		ret = qbd_rq_xfer(rq, off, data_len, qbd_tx_page, &ctx);
	mutex_unlock(&conn->tx_lock);
	if (ret)
		qbd_conn_failed(conn);
	return ret;
}

/* ---- receive side ---- */

static int qbd_recv_iter(struct qbd_conn *conn, struct msghdr *msg)
{
	int ret;

	while (msg_data_left(msg)) {
		ret = sock_recvmsg(conn->sock, msg, MSG_WAITALL | MSG_NOSIGNAL);
		if (ret <= 0)
			return ret ? ret : -ECONNRESET;
	}
	return 0;
}

static int qbd_recv(struct qbd_conn *conn, void *buf, size_t len)
{
	struct kvec vec = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { };

	iov_iter_kvec(&msg.msg_iter, ITER_DEST, &vec, 1, len);
	return qbd_recv_iter(conn, &msg);
}

static int qbd_drain(struct qbd_conn *conn, u32 len)
{
	int ret;

	while (len) {
		u32 n = min_t(u32, len, PAGE_SIZE);

		ret = qbd_recv(conn, conn->scratch, n);
		if (ret)
			return ret;
		len -= n;
	}
	return 0;
}

struct qbd_rx_ctx {
	struct qbd_conn *conn;
	u32 raw;			/* raw CRC32C register of the data */
};

static int qbd_rx_page(void *arg, struct page *page, u32 poff, u32 len)
{
	struct qbd_rx_ctx *ctx = arg;
	struct bio_vec bv = { .bv_page = page, .bv_offset = poff,
			      .bv_len = len };
	struct msghdr msg = { };
	void *p;
	int ret;

	iov_iter_bvec(&msg.msg_iter, ITER_DEST, &bv, 1, len);
	ret = qbd_recv_iter(ctx->conn, &msg);
	if (ret)
		return ret;
	p = kmap_local_page(page);
	ctx->raw = __crc32c_le(ctx->raw, p + poff, len);
	kunmap_local(p);
	return 0;
}

/* READ_DATA: qbd_read_reply then the blocks, straight into the request */
static int qbd_rx_read_data(struct qbd_conn *conn, struct qbd_hdr_info *hi)
{
	struct qbd_device *qd = conn->qd;
	struct qbd_read_reply rr;
	struct qbd_rx_ctx ctx = { .conn = conn };
	struct qbd_cmd *cmd;
	u32 nblocks, data_len, piece;
	int ret;
	bool ok;

	if (hi->payload_len < sizeof(rr))
		goto bad;
	ret = qbd_recv(conn, &rr, sizeof(rr));
	if (ret)
		return ret;
	nblocks = le32_to_cpu(rr.nblocks);
	data_len = hi->payload_len - sizeof(rr);
	if (!nblocks || nblocks > QBD_MAX_IO_BLOCKS ||
	    data_len != nblocks * QBD_BLOCK_SIZE)
		goto bad_drain;
	cmd = qbd_read_claim(conn, hi->handle, le64_to_cpu(rr.lba), nblocks,
			     &piece);
	if (!cmd) {
		spin_lock(&qd->lock);
		qd->ctr[QBD_C_STALE_REPLIES]++;
		spin_unlock(&qd->lock);
		return qbd_drain(conn, data_len);
	}
	ret = qbd_rq_xfer(blk_mq_rq_from_pdu(cmd), cmd->piece[piece].off,
			  data_len, qbd_rx_page, &ctx);
	ok = !ret &&
	     qbd_crc_combine(NULL, 0, ctx.raw, data_len) ==
		le32_to_cpu(rr.data_crc) &&
	     qbd_crc_combine(&rr, sizeof(rr), ctx.raw, data_len) ==
		hi->payload_crc;
	if (!ret && !ok)
		pr_warn_ratelimited("qbd%d: node %u: READ_DATA checksum mismatch\n",
				    qd->index, conn->node);
	qbd_read_finish(conn, cmd, piece, le64_to_cpu(rr.scl), ok,
			ok ? QBD_OK : QBD_E_CRC);
	return ret;

bad:
	ret = qbd_drain(conn, hi->payload_len);
	goto err;
bad_drain:
	ret = qbd_drain(conn, data_len);
err:
	pr_warn_ratelimited("qbd%d: node %u: malformed READ_DATA\n",
			    qd->index, conn->node);
	qbd_on_read_error(conn, hi->handle, QBD_E_PROTO);
	return ret;
}

static int qbd_rx_error(struct qbd_conn *conn, struct qbd_hdr_info *hi)
{
	struct qbd_device *qd = conn->qd;
	u32 keep = min_t(u32, hi->payload_len, 95);
	char text[96];
	int ret;

	ret = qbd_recv(conn, text, keep);
	if (!ret)
		ret = qbd_drain(conn, hi->payload_len - keep);
	if (ret)
		return ret;
	text[keep] = 0;
	if (hi->status == QBD_E_STALE_EPOCH) {
		bool first;

		spin_lock(&qd->lock);
		first = !qd->fenced;
		qd->fenced = true;
		qd->node[conn->node].state = QBD_NODE_S_FENCED;
		spin_unlock(&qd->lock);
		if (first)
			pr_err("qbd%d: node %u: epoch %llu is stale: %s\n",
			       qd->index, conn->node, qd->epoch, text);
		qbd_kick(qd);
		return 0;
	}
	if (hi->status != QBD_E_NOT_YET)
		pr_warn_ratelimited("qbd%d: node %u: %s: %s\n", qd->index,
				    conn->node, qbd_status_str(hi->status),
				    text);
	switch (qbd_handle_kind(hi->handle)) {
	case QBD_H_WRITE:
		qbd_on_write_error(conn, hi->handle, hi->status);
		break;
	case QBD_H_READ:
		qbd_on_read_error(conn, hi->handle, hi->status);
		break;
	default:
		spin_lock(&qd->lock);
		qd->node[conn->node].errors++;
		spin_unlock(&qd->lock);
		break;
	}
	return 0;
}

static int qbd_rx_ack(struct qbd_conn *conn, struct qbd_hdr_info *hi)
{
	struct qbd_log_ack ack;
	u64 lsn, scl;
	int ret;

	if (hi->payload_len != sizeof(ack)) {
		ret = qbd_drain(conn, hi->payload_len);
		return ret ? ret : -EPROTO;
	}
	ret = qbd_recv(conn, &ack, sizeof(ack));
	if (ret)
		return ret;
	if (qbd_payload_check(hi, &ack) != QBD_OK ||
	    qbd_log_ack_decode(&ack, sizeof(ack), &lsn, &scl) != QBD_OK)
		return -EPROTO;
	qbd_on_ack(conn, hi->handle, hi->pg, lsn, scl,
		   hi->type == QBD_MSG_HEARTBEAT_OK);
	return 0;
}

/*
 * A node declared dead for silence answered on its socket: it is alive
 * after all. Its segments count again for reads and for new records (their
 * SCLs always counted); what it missed meanwhile it fetches from its peers,
 * and the heartbeats learn its SCLs. Caller holds qd->lock.
 */
static void qbd_conn_revive(struct qbd_conn *conn)
{
	struct qbd_device *qd = conn->qd;
	struct qbd_node *node = &qd->node[conn->node];
	u32 pg;

	conn->silent = false;
	conn->busy_since = jiffies;
	if (node->state == QBD_NODE_S_FENCED)
		return;
	node->state = QBD_NODE_S_LIVE;
	node->behind_since = 0;
	for (pg = 0; pg < qd->npgs; pg++)
		qbd_q_set_state(&qd->q, pg, conn->node, QBD_Q_SLOT_LIVE);
}

static int qbd_rx_one(struct qbd_conn *conn)
{
	struct qbd_device *qd = conn->qd;
	struct qbd_wire_hdr hdr;
	struct qbd_hdr_info hi;
	unsigned long quiet;
	bool back;
	int ret, st;

	ret = qbd_recv(conn, &hdr, sizeof(hdr));
	if (ret)
		return ret;
	st = qbd_hdr_decode(&hdr, &hi);
	if (st != QBD_OK) {
		pr_warn_ratelimited("qbd%d: node %u: bad header: %s\n",
				    qd->index, conn->node, qbd_status_str(st));
		return -EPROTO;
	}
	spin_lock(&qd->lock);
	quiet = jiffies - conn->last_rx;
	conn->last_rx = jiffies;
	if (qbd_handle_gen(hi.handle) == conn->gen && conn->inflight)
		conn->inflight--;
	back = conn->silent && qd->node[conn->node].conn == conn;
	if (back)
		qbd_conn_revive(conn);
	spin_unlock(&qd->lock);
	if (back) {
		pr_info("qbd%d: node %u is back: it answered after %u ms of silence\n",
			qd->index, conn->node, jiffies_to_msecs(quiet));
		qbd_kick(qd);
	}
	pr_debug("qbd%d: node %u: rx %s handle %llx len %u status %u\n",
		 qd->index, conn->node, qbd_msg_str(hi.type), hi.handle,
		 hi.payload_len, hi.status);

	switch (hi.type) {
	case QBD_MSG_LOG_ACK:
	case QBD_MSG_HEARTBEAT_OK:
		return qbd_rx_ack(conn, &hi);
	case QBD_MSG_READ_DATA:
		return qbd_rx_read_data(conn, &hi);
	case QBD_MSG_ERROR:
		return qbd_rx_error(conn, &hi);
	default:
		spin_lock(&qd->lock);
		qd->ctr[QBD_C_STALE_REPLIES]++;
		spin_unlock(&qd->lock);
		return qbd_drain(conn, hi.payload_len);
	}
}

/*
 * One receive thread per connection (a dedicated thread rather than a
 * work item: it blocks in recvmsg for the life of the socket, and a
 * long-running item on a WQ_MEM_RECLAIM queue can starve the rescuer).
 */
static int qbd_rx_thread(void *data)
{
	struct qbd_conn *conn = data;
	unsigned int noreclaim = qbd_mem_save(conn);
	int ret;

	do {
		ret = qbd_rx_one(conn);
	} while (!ret && !kthread_should_stop());
	qbd_mem_restore(conn, noreclaim);
	if (!READ_ONCE(conn->broken))
		pr_warn("qbd%d: node %u: connection lost (%d)\n",
			conn->qd->index, conn->node, ret);
	qbd_conn_failed(conn);

	/* the connection stays ours until qbd_conn_shutdown() stops us */
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}
