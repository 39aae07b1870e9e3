// SPDX-License-Identifier: GPL-2.0
/*
 * qbdctl attach / reconnect: userspace owns connecting, handshakes and
 * recovery; the kernel owns the data path (DESIGN.md section 3).
 *
 * attach VOLUME:
 *   1. open the "qbd" family and ask STATUS: fails early (and changes
 *      nothing) without the module or without CAP_SYS_ADMIN; warns when
 *      a device here already serves the volume (it will be fenced);
 *   2. look the volume up in the catalog, load the cluster config;
 *   3. qbd_recover(): new epoch = max(node epochs, catalog epoch) + 1,
 *      SCL_QUERY of every segment, VCL, TRUNCATE (VCL, VCL + 2^32] with the
 *      new epoch, re-replication of kept records short of 4 copies;
 *   4. record the epoch in the catalog (the nodes already hold it);
 *   5. one fresh TCP socket per node, HELLO WRITER with the new epoch (all
 *      six are needed: the kernel takes a volume with six nodes or not at
 *      all);
 *   6. QBD_CMD_CONNECT hands the sockets to the kernel with the geometry and
 *      the recovered VCL / next LSN / per-PG last LSN; the reply names the
 *      device. Our copies of the fds are closed: the kernel holds its own
 *      references.
 *
 * reconnect DEVICE NODE_ID: a new socket and HELLO WRITER to one node with
 * the device's epoch, passed with QBD_CMD_RECONFIGURE.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netlink/genl/genl.h>

#include "cluster.h"
#include "nl.h"
#include "qbd_conn.h"
#include "qbd_volume.h"
#include "qbdctl.h"

#define CONNECT_TIMEOUT_MS	3000
#define MIN_WINDOW		16	/* qbd.ko: QBD_MIN_WINDOW */
#define MAX_WINDOW		65536

struct attach_args {
	uint32_t io_timeout, dead_timeout, window;
	bool have_io, have_dead, have_window;
};

static int attach_opt(int opt, const char *arg, void *ctx)
{
	struct attach_args *a = ctx;

	switch (opt) {
	case 't':
		if (ctl_parse_u32(arg, &a->io_timeout) || !a->io_timeout)
			return ctl_usage_err("attach", "bad --timeout-ms '%s'",
					     arg);
		a->have_io = true;
		return 0;
	case 'd':
		if (ctl_parse_u32(arg, &a->dead_timeout) || !a->dead_timeout)
			return ctl_usage_err("attach",
					     "bad --dead-timeout-ms '%s'", arg);
		a->have_dead = true;
		return 0;
	case 'w':
		if (ctl_parse_u32(arg, &a->window) || !a->window ||
		    (a->window & (a->window - 1)) || a->window < MIN_WINDOW ||
		    a->window > MAX_WINDOW)
			return ctl_usage_err("attach",
					     "bad --window '%s': want a power of 2 from %d to %d",
					     arg, MIN_WINDOW, MAX_WINDOW);
		a->have_window = true;
		return 0;
	}
	return -1;
}

/*
 * libqbd connects without blocking (connect + poll), which leaves the
 * socket's sock->state at SS_CONNECTING in the kernel even though TCP is
 * established; qbd.ko only takes SS_CONNECTED sockets. A second connect()
 * to the same peer returns 0 (or EISCONN) and moves the state on.
 */
static int finish_connect(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len))
		return -errno;
	if (connect(fd, (struct sockaddr *)&ss, len) && errno != EISCONN)
		return -errno;
	return 0;
}

/* a WRITER connection to one node; prints why not; fd or -1 */
static int writer_socket(const struct qbd_node_addr *n, uint64_t volume,
			 uint64_t epoch, struct qbd_hello_info *hi)
{
	struct qbd_hello_args ha = {
		.role = QBD_ROLE_WRITER,
		.volume = volume,
		.epoch = epoch,
	};
	char err[QBD_ERRLEN];
	int fd = -1, r;

	r = qbd_connect_node(n->host, n->port, &ha, hi, CONNECT_TIMEOUT_MS,
			     &fd, err, sizeof(err));
	if (r) {
		ctl_err("node %u (%s:%u): %s", n->id, n->host, n->port, err);
		return -1;
	}
	r = finish_connect(fd);
	if (r) {
		ctl_err("node %u (%s:%u): connection lost after HELLO: %s",
			n->id, n->host, n->port, strerror(-r));
		close(fd);
		return -1;
	}
	return fd;
}

static int put_node(struct nl_msg *msg, int fd, uint32_t slot, uint32_t az)
{
	struct nlattr *item = nla_nest_start(msg, NLA_F_NESTED | QBD_NODE_ITEM);

	if (!item || nla_put_u32(msg, QBD_NODE_FD, (uint32_t)fd) ||
	    nla_put_u32(msg, QBD_NODE_ID, slot) ||
	    nla_put_u32(msg, QBD_NODE_AZ, az))
		return -EMSGSIZE;
	nla_nest_end(msg, item);
	return 0;
}

struct connect_reply {
	bool have_index;
	uint32_t index;
};

static int connect_reply_fn(struct nlattr **tb, void *arg)
{
	struct connect_reply *cr = arg;

	if (tb[QBD_ATTR_INDEX]) {
		cr->index = nla_get_u32(tb[QBD_ATTR_INDEX]);
		cr->have_index = true;
	}
	return 0;
}

/*
 * The writer starts with VCL = next_lsn - 1, not the recovered VCL: the
 * LSNs in between are the truncated range, which no record will ever fill,
 * so they count as complete (qbd_volume.h, qbd_q_init()).
 */
static struct nl_msg *connect_msg(struct qbd_nl *nl, const struct qbd_geom *g,
				  const struct qbd_recovery *rec,
				  const struct attach_args *a, const int *fds,
				  const uint32_t *az, uint32_t nslots)
{
	struct nl_msg *msg = qbd_nl_msg(nl, QBD_CMD_CONNECT);
	struct nlattr *nodes;
	uint32_t i;

	if (!msg)
		return NULL;
	if (nla_put_u64(msg, QBD_ATTR_SIZE_BYTES, g->size) ||
	    nla_put_u64(msg, QBD_ATTR_PG_SIZE, g->pg_size) ||
	    nla_put_u64(msg, QBD_ATTR_VOLUME_ID, g->volume) ||
	    nla_put_u64(msg, QBD_ATTR_EPOCH, rec->epoch) ||
	    nla_put_u64(msg, QBD_ATTR_VCL, rec->next_lsn - 1) ||
	    nla_put_u64(msg, QBD_ATTR_NEXT_LSN, rec->next_lsn) ||
	    nla_put(msg, QBD_ATTR_PG_LAST_LSN, rec->npgs * sizeof(uint64_t),
		    rec->pg_last))
		goto fail;
	if ((a->have_io && nla_put_u32(msg, QBD_ATTR_IO_TIMEOUT, a->io_timeout)) ||
	    (a->have_dead &&
	     nla_put_u32(msg, QBD_ATTR_DEAD_TIMEOUT, a->dead_timeout)) ||
	    (a->have_window && nla_put_u32(msg, QBD_ATTR_WINDOW, a->window)))
		goto fail;
	nodes = nla_nest_start(msg, NLA_F_NESTED | QBD_ATTR_NODES);
	if (!nodes)
		goto fail;
	for (i = 0; i < nslots; i++)
		if (fds[i] >= 0 && put_node(msg, fds[i], i, az[i]))
			goto fail;
	nla_nest_end(msg, nodes);
	return msg;
fail:
	nlmsg_free(msg);
	ctl_err("CONNECT message too large");
	return NULL;
}

/*
 * STATUS of all devices: fails early on EPERM and the like. A device that
 * already serves the volume is not an error: the new attach takes a newer
 * epoch and fences it (a writer takeover, as a standby promotion does), but
 * say so.
 */
static int check_devices(struct qbd_nl *nl, uint64_t volume, const char *name)
{
	struct qbd_dev_list l;
	int i, r;

	r = qbd_status_get(nl, -1, &l);
	if (r) {
		qbd_nl_perror(nl, "status", r);
		return -1;
	}
	for (i = 0; i < l.n; i++)
		if (l.dev[i].volume_id == volume &&
		    l.dev[i].state != QBD_DEV_S_FENCED)
			ctl_err("warning: volume '%s' is attached as /dev/qbd%u (epoch %"
				PRIu64 "); this attach fences it", name,
				l.dev[i].index, l.dev[i].epoch);
	qbd_dev_list_free(&l);
	return 0;
}

int cmd_attach(struct ctl_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "dead-timeout-ms", required_argument, NULL, 'd' },
		{ "window", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	struct qbd_recover_opts ro = { .timeout_ms = CONNECT_TIMEOUT_MS };
	struct qbd_recovery rec = { 0 };
	struct attach_args a = { 0 };
	struct qbd_catalog *cat = NULL;
	struct connect_reply cr = { 0 };
	struct qbd_volume_info v;
	struct qbd_cluster c;
	struct qbd_geom g;
	struct qbd_nl nl = { 0 };
	struct nl_msg *msg;
	int fds[QBD_MAX_NODES], first, r, ret = EXIT_FAILURE;
	uint32_t az[QBD_MAX_NODES], i, bad = 0;
	char err[QBD_ERRLEN], list[512];

	for (i = 0; i < QBD_MAX_NODES; i++)
		fds[i] = -1;
	first = ctl_getopt(o, "attach", argc, argv, opts, attach_opt, &a);
	if (first < 0)
		return EXIT_USAGE;
	if (argc - first != 1)
		return ctl_usage_err("attach", argc == first ?
				     "missing VOLUME" : "too many arguments");

	if (qbd_nl_open(&nl))
		return EXIT_FAILURE;
	if (ctl_load_cluster(o, &c) || ctl_check_six(&c) ||
	    ctl_open_catalog(o, &cat) || ctl_find_volume(cat, argv[first], &v))
		goto out;
	if (qbd_geom_init(&g, v.id, v.size, v.pg_size, err, sizeof(err))) {
		ctl_err("catalog entry of '%s' is bad: %s", v.name, err);
		goto out;
	}
	if (check_devices(&nl, v.id, v.name))
		goto out;

	ro.catalog_epoch = v.epoch;
	r = qbd_recover(&c, &g, &ro, &rec, err, sizeof(err));
	if (r) {
		ctl_err("recovery of '%s' failed: %s", v.name, err);
		goto out;
	}
	if (qbd_catalog_set_epoch(cat, v.id, rec.epoch))
		ctl_err("warning: could not record epoch %" PRIu64
			" in the catalog", rec.epoch);
	fprintf(stderr, "qbdctl: recovered '%s': epoch %" PRIu64 ", VCL %"
		PRIu64 ", next LSN %" PRIu64 ", %" PRIu64 " records re-replicated\n",
		v.name, rec.epoch, rec.vcl, rec.next_lsn, rec.replicated);

	/* the AZ comes from the config: it is what placement was based on */
	for (i = 0; i < c.nnodes; i++) {
		struct qbd_hello_info hi;

		az[i] = c.node[i].az;
		fds[i] = writer_socket(&c.node[i], v.id, rec.epoch, &hi);
		if (fds[i] < 0)
			bad |= 1U << i;
	}
	if (bad) {
		/* the kernel takes a volume with all six nodes or not at all */
		ctl_node_list(bad, list, sizeof(list), &c);
		ctl_err("nodes unreachable: %s; not attached (the volume stays recovered, attach again when they are back)",
			list);
		goto out;
	}

	msg = connect_msg(&nl, &g, &rec, &a, fds, az, c.nnodes);
	if (!msg)
		goto out;
	r = qbd_nl_exec(&nl, msg, connect_reply_fn, &cr);
	if (r) {
		qbd_nl_perror(&nl, "connect", r);
		goto out;
	}
	if (!cr.have_index) {
		ctl_err("connect: the kernel did not return a device index");
		goto out;
	}
	printf("/dev/qbd%u\n", cr.index);
	ret = 0;
out:
	for (i = 0; i < QBD_MAX_NODES; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	qbd_recovery_free(&rec);
	if (cat)
		qbd_catalog_close(cat);
	qbd_nl_close(&nl);
	return ret;
}

int cmd_reconnect(struct ctl_opts *o, int argc, char **argv)
{
	const struct qbd_node_addr *n;
	struct qbd_hello_info hi;
	struct qbd_dev_list l = { 0 };
	struct qbd_cluster c;
	struct qbd_nl nl = { 0 };
	struct nl_msg *msg;
	struct nlattr *nodes;
	uint32_t index, id, slot;
	int first, fd = -1, r, ret = EXIT_FAILURE;

	first = ctl_getopt(o, "reconnect", argc, argv, NULL, NULL, NULL);
	if (first < 0)
		return EXIT_USAGE;
	if (argc - first != 2)
		return ctl_usage_err("reconnect", "want DEVICE NODE_ID");
	if (ctl_parse_device(argv[first], &index))
		return ctl_usage_err("reconnect", "bad device '%s'",
				     argv[first]);
	if (ctl_parse_u32(argv[first + 1], &id))
		return ctl_usage_err("reconnect", "bad node id '%s'",
				     argv[first + 1]);

	if (qbd_nl_open(&nl))
		return EXIT_FAILURE;
	if (ctl_load_cluster(o, &c))
		goto out;
	n = ctl_node_by_id(&c, id, &slot);
	if (!n) {
		ctl_err("no node %u in the cluster config", id);
		goto out;
	}
	r = qbd_status_get(&nl, (int)index, &l);
	if (r || l.n != 1) {
		if (r && r != -ENODEV && r != -ENOENT && r != -EINVAL)
			qbd_nl_perror(&nl, "status", r);
		else
			ctl_err("no such device /dev/qbd%u", index);
		goto out;
	}
	fd = writer_socket(n, l.dev[0].volume_id, l.dev[0].epoch, &hi);
	if (fd < 0)
		goto out;
	msg = qbd_nl_msg(&nl, QBD_CMD_RECONFIGURE);
	if (!msg)
		goto out;
	if (nla_put_u32(msg, QBD_ATTR_INDEX, index) ||
	    !(nodes = nla_nest_start(msg, NLA_F_NESTED | QBD_ATTR_NODES)) ||
	    put_node(msg, fd, slot, n->az)) {
		nlmsg_free(msg);
		goto out;
	}
	nla_nest_end(msg, nodes);
	r = qbd_nl_exec(&nl, msg, NULL, NULL);
	if (r) {
		qbd_nl_perror(&nl, "reconfigure", r);
		goto out;
	}
	printf("/dev/qbd%u: node %u reconnected (%s:%u, epoch %" PRIu64 ")\n",
	       index, id, n->host, n->port, l.dev[0].epoch);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	qbd_dev_list_free(&l);
	qbd_nl_close(&nl);
	return ret;
}
