// SPDX-License-Identifier: GPL-2.0
/*
 * qbd_nl_bad: send malformed QBD_CMD_CONNECT requests (and a DISCONNECT of
 * a device that does not exist) to the "qbd" generic netlink family and
 * check that the kernel rejects every one with an errno and an extended-ack
 * text, and that no /dev/qbdN appears. Used by test_qbd_bad_netlink.sh.
 *
 * Every case starts from one well-formed template - six connected loopback
 * TCP sockets (to a listener of our own), ids 0..5, two per AZ, a 64 MiB
 * volume of 16 MiB PGs - and breaks exactly one thing, so a rejection can
 * only come from that one defect. Our end of the sockets never answers, and
 * the template itself is never sent: the real attach path is tested by the
 * other VM tests.
 *
 * Output is TAP, one line per case with the kernel's errno and message.
 * Exit status: 0 all rejected, 1 some case was accepted or had no message,
 * 4 (skip) if the family is not registered.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "uapi/qbd_netlink.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define NSOCK		6
#define VOL_SIZE	(64ULL << 20)
#define PG_SIZE		(16ULL << 20)
#define NPGS		(VOL_SIZE / PG_SIZE)

/* one CONNECT request: the template plus the defect of a case */
struct req {
	uint64_t size, pg_size, volume, epoch, vcl, next_lsn;
	uint32_t npgs_sent;		/* entries in PG_LAST_LSN */
	uint32_t window;
	int nnodes;
	int fd[8];
	uint32_t id[8], az[8];
	bool no_size, no_epoch, no_nodes, no_node_fd;
	bool size_as_u32;		/* SIZE_BYTES with 4 bytes */
	bool id_as_u8;			/* NODE_ID with 1 byte */
	bool flat_nodes;		/* node attributes not nested in an item */
};

static int sock_fd[NSOCK];
static int pipe_fd[2];
static int unconnected_fd;

static void template(struct req *r)
{
	int i;

	memset(r, 0, sizeof(*r));
	r->size = VOL_SIZE;
	r->pg_size = PG_SIZE;
	r->volume = 0x7a7a;
	r->epoch = 1;
	r->vcl = 0;
	r->next_lsn = 1;
	r->npgs_sent = NPGS;
	r->window = 64;
	r->nnodes = NSOCK;
	for (i = 0; i < NSOCK; i++) {
		r->fd[i] = sock_fd[i];
		r->id[i] = i;
		r->az[i] = i / 2;
	}
}

/* the cases: each breaks one thing of the template */
static void c_missing_size(struct req *r) { r->no_size = true; }
static void c_missing_epoch(struct req *r) { r->no_epoch = true; }
static void c_missing_nodes(struct req *r) { r->no_nodes = true; }
static void c_missing_node_fd(struct req *r) { r->no_node_fd = true; }
static void c_size_u32(struct req *r) { r->size_as_u32 = true; }
static void c_node_id_u8(struct req *r) { r->id_as_u8 = true; }
static void c_flat_nodes(struct req *r) { r->flat_nodes = true; }
static void c_five_nodes(struct req *r) { r->nnodes = 5; }
static void c_seven_nodes(struct req *r)
{
	r->nnodes = 7;
	r->fd[6] = sock_fd[0];
	r->id[6] = 6;
	r->az[6] = 0;
}
static void c_dup_ids(struct req *r) { r->id[5] = 4; }
static void c_id_range(struct req *r) { r->id[5] = 9; }
static void c_dup_fd(struct req *r) { r->fd[5] = r->fd[4]; }
static void c_fd_closed(struct req *r) { r->fd[3] = 1000; }
static void c_fd_pipe(struct req *r) { r->fd[3] = pipe_fd[0]; }
static void c_fd_unconnected(struct req *r) { r->fd[3] = unconnected_fd; }
static void c_size_unaligned(struct req *r) { r->size = VOL_SIZE + 512; }
static void c_size_zero(struct req *r) { r->size = 0; }
static void c_pg_unaligned(struct req *r)
{
	r->pg_size = PG_SIZE + 512;
}
static void c_pg_zero(struct req *r) { r->pg_size = 0; }
static void c_window_npot(struct req *r) { r->window = 100; }
static void c_window_huge(struct req *r) { r->window = 1U << 30; }
static void c_pg_last_short(struct req *r) { r->npgs_sent = NPGS - 1; }
static void c_next_lsn_low(struct req *r)
{
	r->vcl = 100;
	r->next_lsn = 50;
}

static const struct {
	const char *name;
	void (*apply)(struct req *r);
} cases[] = {
	{ "missing SIZE_BYTES", c_missing_size },
	{ "missing EPOCH", c_missing_epoch },
	{ "missing NODES", c_missing_nodes },
	{ "node without FD", c_missing_node_fd },
	{ "SIZE_BYTES of 4 bytes", c_size_u32 },
	{ "NODE_ID of 1 byte", c_node_id_u8 },
	{ "node attributes not nested in NODE_ITEM", c_flat_nodes },
	{ "5 nodes", c_five_nodes },
	{ "7 nodes", c_seven_nodes },
	{ "duplicate node ids", c_dup_ids },
	{ "node id out of range", c_id_range },
	{ "same socket for two nodes", c_dup_fd },
	{ "fd not open", c_fd_closed },
	{ "fd not a socket", c_fd_pipe },
	{ "socket not connected", c_fd_unconnected },
	{ "size not a multiple of 4 KiB", c_size_unaligned },
	{ "size 0", c_size_zero },
	{ "PG size not a multiple of 4 KiB", c_pg_unaligned },
	{ "PG size 0", c_pg_zero },
	{ "window not a power of two", c_window_npot },
	{ "window 2^30", c_window_huge },
	{ "PG_LAST_LSN shorter than the PG count", c_pg_last_short },
	{ "NEXT_LSN not above VCL", c_next_lsn_low },
};

/* --- netlink ------------------------------------------------------------ */

struct answer {
	int err;		/* kernel errno, negative; 0 = acked */
	bool done;
	char msg[256];		/* NLMSGERR_ATTR_MSG */
	uint32_t index;		/* QBD_ATTR_INDEX of a reply, if any */
	bool have_index;
};

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct answer *a = arg;
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	int off, len;

	(void)nla;
	a->err = e->error;
	a->done = true;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NL_STOP;
	/* with NETLINK_CAP_ACK the echoed request is only its header */
	off = sizeof(*e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	len = (int)nlh->nlmsg_len - NLMSG_HDRLEN - off;
	if (len <= 0)
		return NL_STOP;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX,
		      (struct nlattr *)((char *)e + off), len, NULL) == 0 &&
	    tb[NLMSGERR_ATTR_MSG])
		snprintf(a->msg, sizeof(a->msg), "%s",
			 (char *)nla_data(tb[NLMSGERR_ATTR_MSG]));
	return NL_STOP;
}

static int on_ack(struct nl_msg *m, void *arg)
{
	struct answer *a = arg;

	(void)m;
	a->err = 0;
	a->done = true;
	return NL_STOP;
}

static int on_valid(struct nl_msg *m, void *arg)
{
	struct answer *a = arg;
	struct nlattr *tb[QBD_ATTR_MAX + 1];

	if (genlmsg_parse(nlmsg_hdr(m), 0, tb, QBD_ATTR_MAX, NULL) == 0 &&
	    tb[QBD_ATTR_INDEX]) {
		a->index = nla_get_u32(tb[QBD_ATTR_INDEX]);
		a->have_index = true;
	}
	return NL_OK;
}

static int exec(struct nl_sock *sk, struct nl_msg *msg, struct answer *a)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int r;

	memset(a, 0, sizeof(*a));
	if (!cb)
		return -ENOMEM;
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, a);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, a);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, a);
	r = nl_send_auto(sk, msg);
	while (r >= 0 && !a->done)
		r = nl_recvmsgs(sk, cb);
	nl_cb_put(cb);
	/* after an error message nl_recvmsgs() returns it too: not a failure */
	return a->done ? 0 : r;
}

static int put_node(struct nl_msg *msg, const struct req *r, int i)
{
	struct nlattr *item = NULL;

	if (!r->flat_nodes) {
		item = nla_nest_start(msg, NLA_F_NESTED | QBD_NODE_ITEM);
		if (!item)
			return -1;
	}
	if (!(r->no_node_fd && i == 2) &&
	    nla_put_u32(msg, QBD_NODE_FD, (uint32_t)r->fd[i]))
		return -1;
	if (r->id_as_u8 ? nla_put_u8(msg, QBD_NODE_ID, (uint8_t)r->id[i]) :
			  nla_put_u32(msg, QBD_NODE_ID, r->id[i]))
		return -1;
	if (nla_put_u32(msg, QBD_NODE_AZ, r->az[i]))
		return -1;
	if (item)
		nla_nest_end(msg, item);
	return 0;
}

static struct nl_msg *build_connect(int family, const struct req *r)
{
	uint64_t last[NPGS + 1] = { 0 };
	struct nl_msg *msg = nlmsg_alloc();
	struct nlattr *nodes;
	int i;

	if (!msg || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0,
				 QBD_CMD_CONNECT, QBD_GENL_VERSION))
		goto fail;
	if (!r->no_size &&
	    (r->size_as_u32 ? nla_put_u32(msg, QBD_ATTR_SIZE_BYTES, (uint32_t)r->size) :
			      nla_put_u64(msg, QBD_ATTR_SIZE_BYTES, r->size)))
		goto fail;
	if (nla_put_u64(msg, QBD_ATTR_PG_SIZE, r->pg_size))
		goto fail;
	if (nla_put_u64(msg, QBD_ATTR_VOLUME_ID, r->volume) ||
	    (!r->no_epoch && nla_put_u64(msg, QBD_ATTR_EPOCH, r->epoch)) ||
	    nla_put_u64(msg, QBD_ATTR_VCL, r->vcl) ||
	    nla_put_u64(msg, QBD_ATTR_NEXT_LSN, r->next_lsn) ||
	    nla_put(msg, QBD_ATTR_PG_LAST_LSN, r->npgs_sent * sizeof(uint64_t),
		    last) ||
	    nla_put_u32(msg, QBD_ATTR_IO_TIMEOUT, 1000) ||
	    nla_put_u32(msg, QBD_ATTR_DEAD_TIMEOUT, 1000) ||
	    nla_put_u32(msg, QBD_ATTR_WINDOW, r->window))
		goto fail;
	if (r->no_nodes)
		return msg;
	nodes = nla_nest_start(msg, NLA_F_NESTED | QBD_ATTR_NODES);
	if (!nodes)
		goto fail;
	for (i = 0; i < r->nnodes; i++)
		if (put_node(msg, r, i))
			goto fail;
	nla_nest_end(msg, nodes);
	return msg;
fail:
	nlmsg_free(msg);
	return NULL;
}

/* --- helpers -------------------------------------------------------------- */

static int count_devices(void)
{
	DIR *d = opendir("/sys/block");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "qbd", 3))
			n++;
	closedir(d);
	return n;
}

/* NSOCK connected loopback sockets to a listener of ours */
static int make_sockets(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int l, i;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(l, NSOCK) || getsockname(l, (struct sockaddr *)&a, &alen))
		return -1;
	for (i = 0; i < NSOCK; i++) {
		sock_fd[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (sock_fd[i] < 0 ||
		    connect(sock_fd[i], (struct sockaddr *)&a, sizeof(a)))
			return -1;
	}
	/* the accepted ends stay open (and silent) until we exit */
	for (i = 0; i < NSOCK; i++)
		if (accept(l, NULL, NULL) < 0)
			return -1;
	unconnected_fd = socket(AF_INET, SOCK_STREAM, 0);
	return unconnected_fd < 0 ? -1 : pipe(pipe_fd);
}

int main(void)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct answer a;
	struct nl_msg *msg;
	int family, one = 1, before, i, bad = 0, n = 0;
	size_t c;

	if (!sk || genl_connect(sk)) {
		fprintf(stderr, "qbd_nl_bad: cannot open generic netlink\n");
		return 1;
	}
	family = genl_ctrl_resolve(sk, QBD_GENL_FAMILY_NAME);
	if (family < 0) {
		printf("1..0 # SKIP family %s not registered (module not loaded)\n",
		       QBD_GENL_FAMILY_NAME);
		return 4;
	}
	setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_EXT_ACK, &one,
		   sizeof(one));
	setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_CAP_ACK, &one,
		   sizeof(one));
	nl_socket_disable_auto_ack(sk);
	if (make_sockets()) {
		perror("qbd_nl_bad: loopback sockets");
		return 1;
	}
	before = count_devices();
	printf("1..%zu\n", sizeof(cases) / sizeof(cases[0]) + 1);

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct req r;

		template(&r);
		cases[c].apply(&r);
		msg = build_connect(family, &r);
		if (!msg) {
			printf("not ok %d CONNECT %s # cannot build\n", ++n,
			       cases[c].name);
			bad++;
			continue;
		}
		nlmsg_hdr(msg)->nlmsg_flags |= NLM_F_ACK;
		i = exec(sk, msg, &a);
		nlmsg_free(msg);
		if (i < 0) {
			printf("not ok %d CONNECT %s # netlink: %s\n", ++n,
			       cases[c].name, nl_geterror(i));
			bad++;
		} else if (a.err == 0) {
			printf("not ok %d CONNECT %s # ACCEPTED%s%u\n", ++n,
			       cases[c].name, a.have_index ? " as /dev/qbd" : "",
			       a.have_index ? a.index : 0);
			bad++;
			if (a.have_index) {	/* take it down again */
				struct answer d;

				msg = nlmsg_alloc();
				genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0,
					    NLM_F_ACK, QBD_CMD_DISCONNECT,
					    QBD_GENL_VERSION);
				nla_put_u32(msg, QBD_ATTR_INDEX, a.index);
				nla_put_u32(msg, QBD_ATTR_FLAGS, QBD_CFLAG_ABORT);
				exec(sk, msg, &d);
				nlmsg_free(msg);
			}
		} else if (!a.msg[0]) {
			printf("not ok %d CONNECT %s # %s, but no extended ack message\n",
			       ++n, cases[c].name, strerror(-a.err));
			bad++;
		} else {
			printf("ok %d CONNECT %s # %s: %s\n", ++n, cases[c].name,
			       strerror(-a.err), a.msg);
		}
	}

	/* DISCONNECT of a device that does not exist */
	msg = nlmsg_alloc();
	if (!msg || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0,
				 NLM_F_ACK, QBD_CMD_DISCONNECT, QBD_GENL_VERSION) ||
	    nla_put_u32(msg, QBD_ATTR_INDEX, 4000)) {
		fprintf(stderr, "qbd_nl_bad: cannot build DISCONNECT\n");
		return 1;
	}
	i = exec(sk, msg, &a);
	nlmsg_free(msg);
	if (i < 0 || a.err == 0) {
		printf("not ok %d DISCONNECT of /dev/qbd4000 # %s\n", ++n,
		       i < 0 ? nl_geterror(i) : "ACCEPTED");
		bad++;
	} else {
		printf("ok %d DISCONNECT of /dev/qbd4000 # %s%s%s\n", ++n,
		       strerror(-a.err), a.msg[0] ? ": " : "", a.msg);
	}

	if (count_devices() != before) {
		printf("# device count changed: %d -> %d\n", before,
		       count_devices());
		bad++;
	}
	nl_socket_free(sk);
	return bad ? 1 : 0;
}
