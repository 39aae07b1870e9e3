// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink plumbing for qbdctl, all through libnl-genl-3.
 *
 * One request at a time: qbd_nl_exec() sends a message with NLM_F_ACK and
 * runs nl_recvmsgs() with a private callback set until the ack (or an error)
 * arrives. The kernel's errno is captured in the error callback together
 * with the NLMSGERR_ATTR_MSG text of the extended ack (NETLINK_EXT_ACK), so
 * a policy rejection or "volume already attached" reaches the user verbatim.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>
#include <netlink/msg.h>

#include "nl.h"
#include "qbdctl.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct nla_policy qbd_attr_policy[QBD_ATTR_MAX + 1] = {
	[QBD_ATTR_INDEX] = { .type = NLA_U32 },
	[QBD_ATTR_SIZE_BYTES] = { .type = NLA_U64 },
	[QBD_ATTR_PG_SIZE] = { .type = NLA_U64 },
	[QBD_ATTR_VOLUME_ID] = { .type = NLA_U64 },
	[QBD_ATTR_EPOCH] = { .type = NLA_U64 },
	[QBD_ATTR_VCL] = { .type = NLA_U64 },
	[QBD_ATTR_NEXT_LSN] = { .type = NLA_U64 },
	[QBD_ATTR_PG_LAST_LSN] = { .type = NLA_UNSPEC },
	[QBD_ATTR_IO_TIMEOUT] = { .type = NLA_U32 },
	[QBD_ATTR_DEAD_TIMEOUT] = { .type = NLA_U32 },
	[QBD_ATTR_NODES] = { .type = NLA_NESTED },
	[QBD_ATTR_VDL] = { .type = NLA_U64 },
	[QBD_ATTR_STATE] = { .type = NLA_U32 },
	[QBD_ATTR_DEVICE_LIST] = { .type = NLA_NESTED },
	[QBD_ATTR_FLAGS] = { .type = NLA_U32 },
	[QBD_ATTR_WINDOW] = { .type = NLA_U32 },
	[QBD_ATTR_COUNTERS] = { .type = NLA_NESTED },
};

struct nla_policy qbd_node_policy[QBD_NODE_MAX + 1] = {
	[QBD_NODE_FD] = { .type = NLA_U32 },
	[QBD_NODE_ID] = { .type = NLA_U32 },
	[QBD_NODE_AZ] = { .type = NLA_U32 },
	[QBD_NODE_SCL] = { .type = NLA_U64 },
	[QBD_NODE_STATE] = { .type = NLA_U32 },
	[QBD_NODE_INFLIGHT] = { .type = NLA_U32 },
	[QBD_NODE_SENT_BYTES] = { .type = NLA_U64 },
	[QBD_NODE_ACKS] = { .type = NLA_U64 },
	[QBD_NODE_READS] = { .type = NLA_U64 },
	[QBD_NODE_ERRORS] = { .type = NLA_U64 },
	[QBD_NODE_LAT_US] = { .type = NLA_U32 },
	[QBD_NODE_PG_SCL] = { .type = NLA_UNSPEC },
};

struct nla_policy qbd_ctr_policy[QBD_CTR_MAX + 1] = {
	[QBD_CTR_WRITES] = { .type = NLA_U64 },
	[QBD_CTR_READS] = { .type = NLA_U64 },
	[QBD_CTR_RECORDS] = { .type = NLA_U64 },
	[QBD_CTR_READ_RETRIES] = { .type = NLA_U64 },
	[QBD_CTR_NOT_YET] = { .type = NLA_U64 },
	[QBD_CTR_TIMEOUTS] = { .type = NLA_U64 },
	[QBD_CTR_STALE_REPLIES] = { .type = NLA_U64 },
	[QBD_CTR_IO_ERRORS] = { .type = NLA_U64 },
};

const char *qbd_dev_state_str(uint32_t s)
{
	static const char *const names[] = {
		[QBD_DEV_S_RUNNING] = "running",
		[QBD_DEV_S_DEGRADED] = "degraded",
		[QBD_DEV_S_BLOCKED] = "blocked",
		[QBD_DEV_S_FAILED] = "failed",
		[QBD_DEV_S_FENCED] = "fenced",
	};

	return s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

const char *qbd_node_state_str(uint32_t s)
{
	static const char *const names[] = {
		[QBD_NODE_S_LIVE] = "live",
		[QBD_NODE_S_DEAD] = "dead",
		[QBD_NODE_S_LAGGING] = "lagging",
		[QBD_NODE_S_FENCED] = "fenced",
	};

	return s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

const char *qbd_ctr_str(int ctr)
{
	static const char *const names[] = {
		[QBD_CTR_WRITES] = "writes",
		[QBD_CTR_READS] = "reads",
		[QBD_CTR_RECORDS] = "records",
		[QBD_CTR_READ_RETRIES] = "read_retries",
		[QBD_CTR_NOT_YET] = "not_yet",
		[QBD_CTR_TIMEOUTS] = "timeouts",
		[QBD_CTR_STALE_REPLIES] = "stale_replies",
		[QBD_CTR_IO_ERRORS] = "io_errors",
	};

	if (ctr <= 0 || ctr > QBD_CTR_MAX)
		return NULL;
	return names[ctr];
}

int qbd_nl_open(struct qbd_nl *nl)
{
	int one = 1, r;

	memset(nl, 0, sizeof(*nl));
	nl->sk = nl_socket_alloc();
	if (!nl->sk) {
		ctl_err("out of memory");
		return -1;
	}
	r = genl_connect(nl->sk);
	if (r < 0) {
		ctl_err("cannot open generic netlink socket: %s",
			nl_geterror(r));
		goto fail;
	}
	/* best effort: older kernels just do not send the text */
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_CAP_ACK,
		   &one, sizeof(one));
	nl->family = genl_ctrl_resolve(nl->sk, QBD_GENL_FAMILY_NAME);
	if (nl->family < 0) {
		if (nl->family == -NLE_OBJ_NOTFOUND)
			ctl_err("qbd kernel module not loaded: modprobe qbd / insmod qbd.ko");
		else
			ctl_err("cannot resolve generic netlink family '%s': %s",
				QBD_GENL_FAMILY_NAME, nl_geterror(nl->family));
		goto fail;
	}
	return 0;
fail:
	nl_socket_free(nl->sk);
	nl->sk = NULL;
	return -1;
}

void qbd_nl_close(struct qbd_nl *nl)
{
	if (nl->sk)
		nl_socket_free(nl->sk);
	nl->sk = NULL;
}

struct nl_msg *qbd_nl_msg(struct qbd_nl *nl, uint8_t cmd)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0,
				 NLM_F_ACK, cmd, QBD_GENL_VERSION)) {
		nlmsg_free(msg);
		ctl_err("out of memory");
		return NULL;
	}
	return msg;
}

struct exec_ctx {
	struct qbd_nl *nl;
	qbd_nl_reply_fn fn;
	void *arg;
	int done;
	int cb_err;		/* a reply callback failed */
};

/* the text of an extended ack, if the kernel sent one */
static void parse_extack(struct qbd_nl *nl, struct nlmsgerr *e)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t off = sizeof(*e);
	char *attrs;
	int len;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	attrs = (char *)e + NLMSG_ALIGN(off);
	len = (int)nlh->nlmsg_len - (int)(attrs - (char *)nlh);
	if (len <= 0 || nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)attrs,
				  len, NULL) < 0)
		return;
	if (tb[NLMSGERR_ATTR_MSG])
		nla_strlcpy(nl->errmsg, tb[NLMSGERR_ATTR_MSG],
			    sizeof(nl->errmsg));
}

static int exec_err_cb(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct exec_ctx *x = arg;

	x->nl->err = -e->error;
	parse_extack(x->nl, e);
	x->done = 1;
	return NL_STOP;
}

static int exec_ack_cb(struct nl_msg *msg, void *arg)
{
	struct exec_ctx *x = arg;

	x->done = 1;
	return NL_STOP;
}

static int exec_valid_cb(struct nl_msg *msg, void *arg)
{
	struct exec_ctx *x = arg;
	struct nlattr *tb[QBD_ATTR_MAX + 1];
	int r;

	if (!x->fn || x->cb_err)
		return NL_SKIP;
	r = genlmsg_parse(nlmsg_hdr(msg), 0, tb, QBD_ATTR_MAX,
			  qbd_attr_policy);
	if (r < 0) {
		ctl_err("malformed reply from the kernel: %s", nl_geterror(r));
		x->cb_err = -EPROTO;
		return NL_SKIP;
	}
	r = x->fn(tb, x->arg);
	if (r)
		x->cb_err = r < 0 ? r : -EPROTO;
	return NL_SKIP;
}

int qbd_nl_exec(struct qbd_nl *nl, struct nl_msg *msg, qbd_nl_reply_fn fn,
		void *arg)
{
	struct exec_ctx x = { .nl = nl, .fn = fn, .arg = arg };
	struct nl_cb *cb;
	int r;

	nl->err = 0;
	nl->errmsg[0] = 0;
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, exec_valid_cb, &x);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, exec_ack_cb, &x);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, exec_ack_cb, &x);
	nl_cb_err(cb, NL_CB_CUSTOM, exec_err_cb, &x);

	r = nl_send_auto(nl->sk, msg);
	nlmsg_free(msg);
	if (r < 0) {
		nl->err = EIO;
		snprintf(nl->errmsg, sizeof(nl->errmsg), "send: %s",
			 nl_geterror(r));
		goto out;
	}
	while (!x.done) {
		r = nl_recvmsgs(nl->sk, cb);
		if (r < 0 && !nl->err) {
			nl->err = EIO;
			snprintf(nl->errmsg, sizeof(nl->errmsg), "receive: %s",
				 nl_geterror(r));
		}
		if (r < 0)
			break;
	}
out:
	nl_cb_put(cb);
	if (nl->err)
		return -nl->err;
	return x.cb_err;
}

void qbd_nl_perror(struct qbd_nl *nl, const char *what, int err)
{
	const char *sep = nl->errmsg[0] ? " (" : "";
	const char *end = nl->errmsg[0] ? ")" : "";

	if (err == -EPERM || err == -EACCES)
		ctl_err("%s: need CAP_SYS_ADMIN (run as root)", what);
	else if (err == -EIO && nl->errmsg[0])
		ctl_err("%s: netlink %s", what, nl->errmsg);
	else
		ctl_err("%s: %s%s%s%s", what, strerror(-err), sep, nl->errmsg,
			end);
}

struct mon_ctx {
	qbd_nl_event_fn fn;
	void *arg;
	int stop;
};

static int mon_valid_cb(struct nl_msg *msg, void *arg)
{
	struct mon_ctx *m = arg;
	struct nlattr *tb[QBD_ATTR_MAX + 1];
	struct genlmsghdr *g = nlmsg_data(nlmsg_hdr(msg));

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, QBD_ATTR_MAX,
			  qbd_attr_policy) < 0) {
		ctl_err("malformed event ignored");
		return NL_SKIP;
	}
	if (m->fn(g->cmd, tb, m->arg))
		m->stop = 1;
	return NL_SKIP;
}

static int mon_seq_ok(struct nl_msg *msg, void *arg)
{
	return NL_OK;
}

int qbd_nl_monitor(struct qbd_nl *nl, qbd_nl_event_fn fn, void *arg)
{
	struct mon_ctx m = { .fn = fn, .arg = arg };
	struct nl_cb *cb;
	int grp, r;

	grp = genl_ctrl_resolve_grp(nl->sk, QBD_GENL_FAMILY_NAME,
				    QBD_GENL_MCAST_GROUP_NAME);
	if (grp < 0) {
		ctl_err("cannot resolve multicast group '%s': %s",
			QBD_GENL_MCAST_GROUP_NAME, nl_geterror(grp));
		return -1;
	}
	r = nl_socket_add_membership(nl->sk, grp);
	if (r < 0) {
		ctl_err("cannot join multicast group '%s': %s",
			QBD_GENL_MCAST_GROUP_NAME, nl_geterror(r));
		return -1;
	}
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb)
		return -1;
	/* events are unsolicited: no sequence numbers to check */
	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, mon_seq_ok, NULL);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, mon_valid_cb, &m);
	fprintf(stderr, "qbdctl: listening for qbd events\n");
	while (!m.stop) {
		r = nl_recvmsgs(nl->sk, cb);
		if (r < 0 && r != -NLE_INTR && r != -NLE_AGAIN) {
			ctl_err("monitor: %s", nl_geterror(r));
			nl_cb_put(cb);
			return -1;
		}
	}
	nl_cb_put(cb);
	return 0;
}
