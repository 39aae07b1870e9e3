// SPDX-License-Identifier: GPL-2.0
/*
 * qbd generic netlink family "qbd" (uapi/qbd_netlink.h), modeled on nbd's.
 *
 * CONNECT creates a device from six connected, HELLO'd sockets and the
 * recovered log position; DISCONNECT destroys it; RECONFIGURE replaces node
 * sockets; STATUS reports one or all devices. LINK_DEAD, NODE_LAGGING and
 * FENCED are multicast on QBD_GENL_MCAST_GROUP_NAME. Every command needs
 * CAP_SYS_ADMIN; every attribute is checked by a strict policy first and by
 * the handlers for the relations between attributes, each rejection with an
 * extack message.
 */
#include <linux/file.h>
#include <linux/idr.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <net/genetlink.h>
#include <net/sock.h>

#include "qbd.h"

static struct genl_family qbd_genl_family;

static struct netlink_range_validation qbd_io_timeout_range = {
	.min = 100,
	.max = 600000,
};

static struct netlink_range_validation qbd_dead_timeout_range = {
	.min = 100,
	.max = 3600000,
};

static struct netlink_range_validation qbd_window_range = {
	.min = QBD_MIN_WINDOW,
	.max = QBD_MAX_WINDOW,
};

static const struct nla_policy qbd_node_policy[QBD_NODE_MAX + 1] = {
	[QBD_NODE_FD]		= { .type = NLA_U32 },
	[QBD_NODE_ID]		= NLA_POLICY_MAX(NLA_U32, QBD_NODES - 1),
	[QBD_NODE_AZ]		= { .type = NLA_U32 },
	[QBD_NODE_SCL]		= { .type = NLA_REJECT },
	[QBD_NODE_STATE]	= { .type = NLA_REJECT },
	[QBD_NODE_INFLIGHT]	= { .type = NLA_REJECT },
	[QBD_NODE_SENT_BYTES]	= { .type = NLA_REJECT },
	[QBD_NODE_ACKS]		= { .type = NLA_REJECT },
	[QBD_NODE_READS]	= { .type = NLA_REJECT },
	[QBD_NODE_ERRORS]	= { .type = NLA_REJECT },
	[QBD_NODE_LAT_US]	= { .type = NLA_REJECT },
	[QBD_NODE_PG_SCL]	= { .type = NLA_REJECT },
};

static const struct nla_policy qbd_attr_policy[QBD_ATTR_MAX + 1] = {
	[QBD_ATTR_INDEX]	= { .type = NLA_U32 },
	[QBD_ATTR_SIZE_BYTES]	= { .type = NLA_U64 },
	[QBD_ATTR_PG_SIZE]	= { .type = NLA_U64 },
	[QBD_ATTR_VOLUME_ID]	= { .type = NLA_U64 },
	[QBD_ATTR_EPOCH]	= { .type = NLA_U64 },
	[QBD_ATTR_VCL]		= { .type = NLA_U64 },
	[QBD_ATTR_NEXT_LSN]	= { .type = NLA_U64 },
	[QBD_ATTR_PG_LAST_LSN]	= { .type = NLA_BINARY,
				    .len = QBD_MAX_PGS * sizeof(u64) },
	[QBD_ATTR_IO_TIMEOUT]	= NLA_POLICY_FULL_RANGE(NLA_U32,
							&qbd_io_timeout_range),
	[QBD_ATTR_DEAD_TIMEOUT]	= NLA_POLICY_FULL_RANGE(NLA_U32,
							&qbd_dead_timeout_range),
	[QBD_ATTR_NODES]	= NLA_POLICY_NESTED_ARRAY(qbd_node_policy),
	[QBD_ATTR_VDL]		= { .type = NLA_REJECT },
	[QBD_ATTR_STATE]	= { .type = NLA_REJECT },
	[QBD_ATTR_DEVICE_LIST]	= { .type = NLA_REJECT },
	[QBD_ATTR_FLAGS]	= NLA_POLICY_MASK(NLA_U32, QBD_CFLAG_READ_ONLY |
						  QBD_CFLAG_ABORT),
	[QBD_ATTR_WINDOW]	= NLA_POLICY_FULL_RANGE(NLA_U32,
							&qbd_window_range),
	[QBD_ATTR_COUNTERS]	= { .type = NLA_REJECT },
};

static u64 qbd_attr_u64(struct genl_info *info, int attr, u64 def)
{
	return info->attrs[attr] ? nla_get_u64(info->attrs[attr]) : def;
}

static u32 qbd_attr_u32(struct genl_info *info, int attr, u32 def)
{
	return info->attrs[attr] ? nla_get_u32(info->attrs[attr]) : def;
}

/* a connected TCP socket from userspace, or NULL with the reason set */
static struct socket *qbd_get_socket(u32 fd, struct netlink_ext_ack *extack,
				     const struct nlattr *attr)
{
	struct socket *sock;
	int err;

	sock = sockfd_lookup(fd, &err);
	if (!sock) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "node fd is not a socket");
		return NULL;
	}
	if (sock->sk->sk_type != SOCK_STREAM ||
	    sock->sk->sk_protocol != IPPROTO_TCP ||
	    (sock->sk->sk_family != AF_INET &&
	     sock->sk->sk_family != AF_INET6)) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "node fd is not a TCP socket");
		sockfd_put(sock);
		return NULL;
	}
	/*
	 * TCP is what matters, not the socket layer's view: a non-blocking
	 * connect() completed with poll() leaves sock->state at SS_CONNECTING
	 * although the connection is established.
	 */
	if (READ_ONCE(sock->sk->sk_state) != TCP_ESTABLISHED ||
	    (sock->state != SS_CONNECTED && sock->state != SS_CONNECTING)) {
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "node socket is not connected");
		sockfd_put(sock);
		return NULL;
	}
	return sock;
}

/*
 * Parse QBD_ATTR_NODES into socks[]/az[] indexed by node id. With exact,
 * all six ids must be present (CONNECT); otherwise 1..6 (RECONFIGURE).
 * Returns a mask of the node ids given, or a negative error.
 */
static int qbd_parse_nodes(struct genl_info *info, struct socket **socks,
			   u32 *az, bool exact)
{
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr *tb[QBD_NODE_MAX + 1];
	struct nlattr *item;
	int rem, ret, n, mask = 0, count = 0;

	if (!info->attrs[QBD_ATTR_NODES]) {
		NL_SET_ERR_MSG(extack, "QBD_ATTR_NODES is required");
		return -EINVAL;
	}
	nla_for_each_nested(item, info->attrs[QBD_ATTR_NODES], rem) {
		u32 id;

		if (nla_type(item) != QBD_NODE_ITEM) {
			NL_SET_ERR_MSG_ATTR(extack, item,
					    "QBD_ATTR_NODES holds only QBD_NODE_ITEM");
			ret = -EINVAL;
			goto err;
		}
		ret = nla_parse_nested(tb, QBD_NODE_MAX, item, qbd_node_policy,
				       extack);
		if (ret)
			goto err;
		if (!tb[QBD_NODE_FD] || !tb[QBD_NODE_ID]) {
			NL_SET_ERR_MSG_ATTR(extack, item,
					    "every node needs QBD_NODE_FD and QBD_NODE_ID");
			ret = -EINVAL;
			goto err;
		}
		id = nla_get_u32(tb[QBD_NODE_ID]);
		if (mask & (1 << id)) {
			NL_SET_ERR_MSG_ATTR(extack, tb[QBD_NODE_ID],
					    "duplicate node id");
			ret = -EINVAL;
			goto err;
		}
		if (++count > QBD_NODES) {
			NL_SET_ERR_MSG(extack, "more than 6 nodes");
			ret = -EINVAL;
			goto err;
		}
		socks[id] = qbd_get_socket(nla_get_u32(tb[QBD_NODE_FD]),
					   extack, tb[QBD_NODE_FD]);
		if (!socks[id]) {
			ret = -EINVAL;
			goto err;
		}
		mask |= 1 << id;
		az[id] = tb[QBD_NODE_AZ] ? nla_get_u32(tb[QBD_NODE_AZ]) :
			 id / 2;
	}
	if (exact && count != QBD_NODES) {
		NL_SET_ERR_MSG(extack, "exactly 6 nodes (ids 0..5) are required");
		ret = -EINVAL;
		goto err;
	}
	if (!count) {
		NL_SET_ERR_MSG(extack, "at least one node is required");
		ret = -EINVAL;
		goto err;
	}
	/* one socket per node */
	for (n = 0; n < QBD_NODES; n++) {
		int m;

		for (m = n + 1; m < QBD_NODES; m++) {
			if (socks[n] && socks[n] == socks[m]) {
				NL_SET_ERR_MSG(extack,
					       "the same socket is given for two nodes");
				ret = -EINVAL;
				goto err;
			}
		}
	}
	return mask;

err:
	for (n = 0; n < QBD_NODES; n++) {
		if (socks[n])
			sockfd_put(socks[n]);
		socks[n] = NULL;
	}
	return ret;
}

static int qbd_parse_geometry(struct genl_info *info, struct qbd_conf *c)
{
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr **a = info->attrs;

	if (!a[QBD_ATTR_SIZE_BYTES] || !a[QBD_ATTR_VOLUME_ID] ||
	    !a[QBD_ATTR_EPOCH]) {
		NL_SET_ERR_MSG(extack,
			       "SIZE_BYTES, VOLUME_ID and EPOCH are required");
		return -EINVAL;
	}
	c->size = nla_get_u64(a[QBD_ATTR_SIZE_BYTES]);
	if (!c->size || c->size % QBD_BLOCK_SIZE) {
		NL_SET_ERR_MSG_ATTR(extack, a[QBD_ATTR_SIZE_BYTES],
				    "size must be a non-zero multiple of 4 KiB");
		return -EINVAL;
	}
	c->pg_size = qbd_attr_u64(info, QBD_ATTR_PG_SIZE, QBD_DEF_PG_SIZE);
	if (c->pg_size < QBD_MIN_PG_SIZE || c->pg_size % QBD_BLOCK_SIZE) {
		NL_SET_ERR_MSG_ATTR(extack, a[QBD_ATTR_PG_SIZE],
				    "PG size must be a multiple of 4 KiB and at least 1 MiB");
		return -EINVAL;
	}
	if (div64_u64(c->size + c->pg_size - 1, c->pg_size) > QBD_MAX_PGS) {
		NL_SET_ERR_MSG(extack, "too many PGs (at most 8191)");
		return -EINVAL;
	}
	c->npgs = div64_u64(c->size + c->pg_size - 1, c->pg_size);
	c->volume = nla_get_u64(a[QBD_ATTR_VOLUME_ID]);
	c->epoch = nla_get_u64(a[QBD_ATTR_EPOCH]);
	if (!c->volume || !c->epoch) {
		NL_SET_ERR_MSG(extack, "volume id and epoch must be non-zero");
		return -EINVAL;
	}
	c->window = qbd_attr_u32(info, QBD_ATTR_WINDOW, QBD_DEF_WINDOW);
	if (!is_power_of_2(c->window)) {
		NL_SET_ERR_MSG_ATTR(extack, a[QBD_ATTR_WINDOW],
				    "window must be a power of 2");
		return -EINVAL;
	}
	c->flags = qbd_attr_u32(info, QBD_ATTR_FLAGS, 0);
	if (c->flags & ~QBD_CFLAG_READ_ONLY) {
		NL_SET_ERR_MSG_ATTR(extack, a[QBD_ATTR_FLAGS],
				    "only QBD_CFLAG_READ_ONLY is valid for CONNECT");
		return -EINVAL;
	}
	c->io_timeout_ms = qbd_attr_u32(info, QBD_ATTR_IO_TIMEOUT,
					QBD_DEF_IO_TIMEOUT);
	c->dead_timeout_ms = qbd_attr_u32(info, QBD_ATTR_DEAD_TIMEOUT,
					  QBD_DEF_DEAD_TIMEOUT);
	return 0;
}

/* VCL, NEXT_LSN and PG_LAST_LSN: where the recovered log stands */
static int qbd_parse_log(struct genl_info *info, struct qbd_conf *c)
{
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr *last = info->attrs[QBD_ATTR_PG_LAST_LSN];
	u32 i;

	c->vcl = qbd_attr_u64(info, QBD_ATTR_VCL, 0);
	c->next_lsn = qbd_attr_u64(info, QBD_ATTR_NEXT_LSN, c->vcl + 1);
	if (c->next_lsn <= c->vcl || c->next_lsn >= QBD_H_LSN_MASK) {
		NL_SET_ERR_MSG_ATTR(extack, info->attrs[QBD_ATTR_NEXT_LSN],
				    "NEXT_LSN must be greater than VCL");
		return -EINVAL;
	}
	if (!last) {
		if (c->vcl) {
			NL_SET_ERR_MSG(extack,
				       "PG_LAST_LSN is required when VCL > 0");
			return -EINVAL;
		}
		return 0;
	}
	if (nla_len(last) != c->npgs * sizeof(u64)) {
		NL_SET_ERR_MSG_ATTR(extack, last,
				    "PG_LAST_LSN must hold one u64 per PG");
		return -EINVAL;
	}
	c->pg_last = kvmalloc_array(c->npgs, sizeof(u64), GFP_KERNEL);
	if (!c->pg_last)
		return -ENOMEM;
	memcpy(c->pg_last, nla_data(last), c->npgs * sizeof(u64));
	for (i = 0; i < c->npgs; i++) {
		if (c->pg_last[i] > c->vcl) {
			NL_SET_ERR_MSG_ATTR(extack, last,
					    "a PG_LAST_LSN entry is above VCL");
			kvfree(c->pg_last);
			c->pg_last = NULL;
			return -EINVAL;
		}
	}
	return 0;
}

static int qbd_genl_connect(struct sk_buff *skb, struct genl_info *info)
{
	struct qbd_conf *c;
	struct qbd_device *qd;
	struct sk_buff *reply;
	void *hdr;
	int ret, index = -1;

	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	ret = qbd_parse_geometry(info, c);
	if (!ret)
		ret = qbd_parse_log(info, c);
	if (ret)
		goto out;
	if (info->attrs[QBD_ATTR_INDEX]) {
		u32 want = nla_get_u32(info->attrs[QBD_ATTR_INDEX]);

		if (want > (MINORMASK >> QBD_PART_SHIFT) - 1) {
			NL_SET_ERR_MSG_ATTR(info->extack,
					    info->attrs[QBD_ATTR_INDEX],
					    "device index out of range");
			ret = -EINVAL;
			goto out;
		}
		index = want;
	}
	reply = genlmsg_new(nla_total_size(sizeof(u32)), GFP_KERNEL);
	if (!reply) {
		ret = -ENOMEM;
		goto out;
	}
	ret = qbd_parse_nodes(info, c->socks, c->az, true);
	if (ret < 0)
		goto out_reply;

	qd = qbd_dev_create(c, index, info->extack);
	if (IS_ERR(qd)) {
		ret = PTR_ERR(qd);
		goto out_reply;
	}
	hdr = genlmsg_put_reply(reply, info, &qbd_genl_family, 0,
				QBD_CMD_CONNECT);
	if (!hdr || nla_put_u32(reply, QBD_ATTR_INDEX, qd->index)) {
		ret = -EMSGSIZE;
		goto out_reply;
	}
	genlmsg_end(reply, hdr);
	ret = genlmsg_reply(reply, info);
	goto out;

out_reply:
	nlmsg_free(reply);
out:
	kvfree(c->pg_last);
	kfree(c);
	return ret;
}

static int qbd_genl_disconnect(struct sk_buff *skb, struct genl_info *info)
{
	struct qbd_device *qd;
	bool abort;

	if (!info->attrs[QBD_ATTR_INDEX]) {
		NL_SET_ERR_MSG(info->extack, "QBD_ATTR_INDEX is required");
		return -EINVAL;
	}
	abort = qbd_attr_u32(info, QBD_ATTR_FLAGS, 0) & QBD_CFLAG_ABORT;

	mutex_lock(&qbd_index_mutex);
	qd = idr_find(&qbd_index_idr, nla_get_u32(info->attrs[QBD_ATTR_INDEX]));
	if (qd) {
		idr_remove(&qbd_index_idr, qd->index);
		get_device(disk_to_dev(qd->disk));
	}
	mutex_unlock(&qbd_index_mutex);
	if (!qd) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[QBD_ATTR_INDEX],
				    "no such qbd device");
		return -ENODEV;
	}
	mutex_lock(&qd->cfg_mutex);
	qbd_dev_remove(qd, abort);
	mutex_unlock(&qd->cfg_mutex);
	qbd_dev_put(qd);
	return 0;
}

/* install a new socket for node id: its segment SCLs are relearned */
static void qbd_replace_node(struct qbd_device *qd, u32 id,
			     struct qbd_conn *conn, u32 az)
{
	struct qbd_node *node = &qd->node[id];
	struct qbd_conn *old;
	u32 pg;

	spin_lock(&qd->lock);
	old = node->conn;
	node->conn = conn;
	node->az = az;
	node->state = QBD_NODE_S_LIVE;
	node->behind_since = 0;
	for (pg = 0; pg < qd->npgs; pg++)
		qbd_q_reset_slot(&qd->q, pg, id, 0);
	spin_unlock(&qd->lock);
	if (old) {
		qbd_conn_shutdown(old);
		qbd_conn_put(old);
	}
	qbd_conn_start(conn);
	pr_info("qbd%d: node %u reconfigured\n", qd->index, id);
}

static int qbd_genl_reconfigure(struct sk_buff *skb, struct genl_info *info)
{
	struct socket *socks[QBD_NODES] = { NULL };
	struct qbd_conn *conns[QBD_NODES] = { NULL };
	u32 az[QBD_NODES];
	struct qbd_device *qd;
	int mask, ret = 0, n;

	if (!info->attrs[QBD_ATTR_INDEX]) {
		NL_SET_ERR_MSG(info->extack, "QBD_ATTR_INDEX is required");
		return -EINVAL;
	}
	qd = qbd_dev_get(nla_get_u32(info->attrs[QBD_ATTR_INDEX]));
	if (!qd) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[QBD_ATTR_INDEX],
				    "no such qbd device");
		return -ENODEV;
	}
	mask = qbd_parse_nodes(info, socks, az, false);
	if (mask < 0) {
		qbd_dev_put(qd);
		return mask;
	}
	mutex_lock(&qd->cfg_mutex);
	if (qd->removed) {
		NL_SET_ERR_MSG(info->extack, "device is being removed");
		ret = -ENODEV;
		goto out;
	}
	if (qd->fenced) {
		NL_SET_ERR_MSG(info->extack, "device is fenced by a newer epoch");
		ret = -ESTALE;
		goto out;
	}
	for (n = 0; n < QBD_NODES; n++) {
		u8 gen;

		if (!(mask & (1 << n)))
			continue;
		spin_lock(&qd->lock);
		gen = ++qd->node[n].gen;
		spin_unlock(&qd->lock);
		conns[n] = qbd_conn_create(qd, socks[n], n, gen);
		if (!conns[n]) {
			ret = -ENOMEM;
			goto out;
		}
		socks[n] = NULL;
	}
	if (info->attrs[QBD_ATTR_IO_TIMEOUT]) {
		qd->io_timeout_ms = nla_get_u32(info->attrs[QBD_ATTR_IO_TIMEOUT]);
		qd->io_timeout = msecs_to_jiffies(qd->io_timeout_ms);
	}
	if (info->attrs[QBD_ATTR_DEAD_TIMEOUT]) {
		qd->dead_timeout_ms =
			nla_get_u32(info->attrs[QBD_ATTR_DEAD_TIMEOUT]);
		qd->dead_timeout = msecs_to_jiffies(qd->dead_timeout_ms);
	}
	for (n = 0; n < QBD_NODES; n++) {
		if (conns[n])
			qbd_replace_node(qd, n, conns[n], az[n]);
		conns[n] = NULL;
	}
	qbd_kick(qd);
out:
	mutex_unlock(&qd->cfg_mutex);
	for (n = 0; n < QBD_NODES; n++) {
		if (conns[n])
			qbd_conn_discard(conns[n]);
		if (socks[n])
			sockfd_put(socks[n]);
	}
	qbd_dev_put(qd);
	return ret;
}

/* ---- STATUS ---- */

static bool qbd_status_pg_scl(struct qbd_device *qd)
{
	return qd->npgs <= 512;
}

static size_t qbd_status_size(struct qbd_device *qd)
{
	size_t node = 12 * nla_total_size_64bit(sizeof(u64));

	if (qbd_status_pg_scl(qd))
		node += nla_total_size(qd->npgs * sizeof(u64));
	return 32 * nla_total_size_64bit(sizeof(u64)) +
	       QBD_NODES * (node + nla_total_size(0)) + 256;
}

static int qbd_put_node(struct sk_buff *msg, struct qbd_device *qd, u32 n)
{
	struct qbd_node *node = &qd->node[n];
	struct nlattr *item = nla_nest_start(msg, QBD_NODE_ITEM);
	struct nlattr *pg_scl;
	u32 lat = 0, pg;
	u64 *scl;

	if (!item)
		return -EMSGSIZE;
	for (pg = 0; pg < qd->npgs; pg++)
		lat = max(lat, qd->pgs[pg].slot[n].lat_us);
	if (nla_put_u32(msg, QBD_NODE_ID, n) ||
	    nla_put_u32(msg, QBD_NODE_AZ, node->az) ||
	    nla_put_u32(msg, QBD_NODE_STATE, node->state) ||
	    nla_put_u64_64bit(msg, QBD_NODE_SCL, qbd_node_scl(qd, n),
			      QBD_NODE_UNSPEC) ||
	    nla_put_u32(msg, QBD_NODE_INFLIGHT,
			node->conn ? node->conn->inflight : 0) ||
	    nla_put_u64_64bit(msg, QBD_NODE_SENT_BYTES, node->sent_bytes,
			      QBD_NODE_UNSPEC) ||
	    nla_put_u64_64bit(msg, QBD_NODE_ACKS, node->acks,
			      QBD_NODE_UNSPEC) ||
	    nla_put_u64_64bit(msg, QBD_NODE_READS, node->reads,
			      QBD_NODE_UNSPEC) ||
	    nla_put_u64_64bit(msg, QBD_NODE_ERRORS, node->errors,
			      QBD_NODE_UNSPEC) ||
	    nla_put_u32(msg, QBD_NODE_LAT_US, lat))
		return -EMSGSIZE;
	if (qbd_status_pg_scl(qd)) {
		pg_scl = nla_reserve(msg, QBD_NODE_PG_SCL,
				     qd->npgs * sizeof(u64));
		if (!pg_scl)
			return -EMSGSIZE;
		scl = nla_data(pg_scl);
		for (pg = 0; pg < qd->npgs; pg++)
			memcpy(&scl[pg], &qd->pgs[pg].slot[n].scl, sizeof(u64));
	}
	nla_nest_end(msg, item);
	return 0;
}

static int qbd_put_counters(struct sk_buff *msg, struct qbd_device *qd)
{
	struct nlattr *ctrs = nla_nest_start(msg, QBD_ATTR_COUNTERS);
	int i;

	if (!ctrs)
		return -EMSGSIZE;
	/* enum qbd_ctr is QBD_CTR_* - 1 */
	for (i = 0; i < QBD_C_NR; i++)
		if (nla_put_u64_64bit(msg, i + 1, qd->ctr[i], QBD_CTR_UNSPEC))
			return -EMSGSIZE;
	nla_nest_end(msg, ctrs);
	return 0;
}

static int qbd_put_device(struct sk_buff *msg, struct qbd_device *qd)
{
	struct nlattr *item = nla_nest_start(msg, QBD_DEVICE_ITEM);
	struct nlattr *nodes;
	int ret = -EMSGSIZE;
	u32 n;

	if (!item)
		return -EMSGSIZE;
	spin_lock(&qd->lock);
	if (nla_put_u32(msg, QBD_ATTR_INDEX, qd->index) ||
	    nla_put_u64_64bit(msg, QBD_ATTR_SIZE_BYTES, qd->size,
			      QBD_ATTR_UNSPEC) ||
	    nla_put_u64_64bit(msg, QBD_ATTR_PG_SIZE, qd->pg_size,
			      QBD_ATTR_UNSPEC) ||
	    nla_put_u64_64bit(msg, QBD_ATTR_VOLUME_ID, qd->volume,
			      QBD_ATTR_UNSPEC) ||
	    nla_put_u64_64bit(msg, QBD_ATTR_EPOCH, qd->epoch,
			      QBD_ATTR_UNSPEC) ||
	    nla_put_u64_64bit(msg, QBD_ATTR_VCL, qbd_q_vcl(&qd->q),
			      QBD_ATTR_UNSPEC) ||
	    nla_put_u64_64bit(msg, QBD_ATTR_VDL, qbd_q_vdl(&qd->q),
			      QBD_ATTR_UNSPEC) ||
	    nla_put_u64_64bit(msg, QBD_ATTR_NEXT_LSN, qd->q.next_lsn,
			      QBD_ATTR_UNSPEC) ||
	    nla_put_u32(msg, QBD_ATTR_STATE, qd->state) ||
	    nla_put_u32(msg, QBD_ATTR_WINDOW, qd->window) ||
	    nla_put_u32(msg, QBD_ATTR_FLAGS, qd->flags) ||
	    nla_put_u32(msg, QBD_ATTR_IO_TIMEOUT, qd->io_timeout_ms) ||
	    nla_put_u32(msg, QBD_ATTR_DEAD_TIMEOUT, qd->dead_timeout_ms))
		goto out;
	if (qbd_put_counters(msg, qd))
		goto out;
	nodes = nla_nest_start(msg, QBD_ATTR_NODES);
	if (!nodes)
		goto out;
	for (n = 0; n < QBD_NODES; n++)
		if (qbd_put_node(msg, qd, n))
			goto out;
	nla_nest_end(msg, nodes);
	ret = 0;
out:
	spin_unlock(&qd->lock);
	if (!ret)
		nla_nest_end(msg, item);
	return ret;
}

static int qbd_genl_status(struct sk_buff *skb, struct genl_info *info)
{
	struct qbd_device *qd;
	struct sk_buff *reply;
	struct nlattr *list;
	size_t size = NLMSG_GOODSIZE;
	int ret = -EMSGSIZE, id;
	bool one = info->attrs[QBD_ATTR_INDEX];
	u32 want = one ? nla_get_u32(info->attrs[QBD_ATTR_INDEX]) : 0;
	void *hdr;

	/* the index mutex keeps every listed device alive while we look */
	mutex_lock(&qbd_index_mutex);
	if (one) {
		qd = idr_find(&qbd_index_idr, want);
		if (!qd) {
			mutex_unlock(&qbd_index_mutex);
			NL_SET_ERR_MSG_ATTR(info->extack,
					    info->attrs[QBD_ATTR_INDEX],
					    "no such qbd device");
			return -ENODEV;
		}
		size += qbd_status_size(qd);
	} else {
		idr_for_each_entry(&qbd_index_idr, qd, id)
			size += qbd_status_size(qd);
	}
	reply = genlmsg_new(size, GFP_KERNEL);
	if (!reply) {
		mutex_unlock(&qbd_index_mutex);
		return -ENOMEM;
	}
	hdr = genlmsg_put_reply(reply, info, &qbd_genl_family, 0,
				QBD_CMD_STATUS);
	if (!hdr)
		goto err;
	list = nla_nest_start(reply, QBD_ATTR_DEVICE_LIST);
	if (!list)
		goto err;
	if (one) {
		if (qbd_put_device(reply, idr_find(&qbd_index_idr, want)))
			goto err;
	} else {
		idr_for_each_entry(&qbd_index_idr, qd, id)
			if (qbd_put_device(reply, qd))
				goto err;
	}
	mutex_unlock(&qbd_index_mutex);
	nla_nest_end(reply, list);
	genlmsg_end(reply, hdr);
	return genlmsg_reply(reply, info);

err:
	mutex_unlock(&qbd_index_mutex);
	nlmsg_free(reply);
	return ret;
}

static const struct genl_small_ops qbd_genl_ops[] = {
	{
		.cmd	= QBD_CMD_CONNECT,
		.flags	= GENL_ADMIN_PERM,
		.doit	= qbd_genl_connect,
	},
	{
		.cmd	= QBD_CMD_DISCONNECT,
		.flags	= GENL_ADMIN_PERM,
		.doit	= qbd_genl_disconnect,
	},
	{
		.cmd	= QBD_CMD_RECONFIGURE,
		.flags	= GENL_ADMIN_PERM,
		.doit	= qbd_genl_reconfigure,
	},
	{
		.cmd	= QBD_CMD_STATUS,
		.flags	= GENL_ADMIN_PERM,
		.doit	= qbd_genl_status,
	},
};

static const struct genl_multicast_group qbd_mcast_grps[] = {
	{ .name = QBD_GENL_MCAST_GROUP_NAME, },
};

static struct genl_family qbd_genl_family __ro_after_init = {
	.hdrsize	= 0,
	.name		= QBD_GENL_FAMILY_NAME,
	.version	= QBD_GENL_VERSION,
	.module		= THIS_MODULE,
	.small_ops	= qbd_genl_ops,
	.n_small_ops	= ARRAY_SIZE(qbd_genl_ops),
	.maxattr	= QBD_ATTR_MAX,
	.policy		= qbd_attr_policy,
	.mcgrps		= qbd_mcast_grps,
	.n_mcgrps	= ARRAY_SIZE(qbd_mcast_grps),
	.parallel_ops	= true,
};

/* LINK_DEAD / NODE_LAGGING (node >= 0) and FENCED events */
void qbd_nl_event(struct qbd_device *qd, u8 cmd, int node)
{
	struct nlattr *nodes, *item;
	struct sk_buff *skb;
	void *hdr;

	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_NOIO);
	if (!skb)
		return;
	hdr = genlmsg_put(skb, 0, 0, &qbd_genl_family, 0, cmd);
	if (!hdr || nla_put_u32(skb, QBD_ATTR_INDEX, qd->index) ||
	    nla_put_u64_64bit(skb, QBD_ATTR_EPOCH, qd->epoch,
			      QBD_ATTR_UNSPEC))
		goto err;
	if (node >= 0) {
		nodes = nla_nest_start(skb, QBD_ATTR_NODES);
		if (!nodes)
			goto err;
		item = nla_nest_start(skb, QBD_NODE_ITEM);
		if (!item || nla_put_u32(skb, QBD_NODE_ID, node) ||
		    nla_put_u32(skb, QBD_NODE_AZ, qd->node[node].az))
			goto err;
		nla_nest_end(skb, item);
		nla_nest_end(skb, nodes);
	}
	genlmsg_end(skb, hdr);
	genlmsg_multicast(&qbd_genl_family, skb, 0, 0, GFP_NOIO);
	return;
err:
	nlmsg_free(skb);
}

int qbd_nl_init(void)
{
	return genl_register_family(&qbd_genl_family);
}

void qbd_nl_exit(void)
{
	genl_unregister_family(&qbd_genl_family);
}
