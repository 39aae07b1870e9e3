/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libnl-genl-3 helpers for the "qbd" generic netlink family
 * (kernel/uapi/qbd_netlink.h): open and resolve the family, send one request
 * and collect its reply and ack, decode errors (errno + extended ack text),
 * parse replies with policies, and subscribe to the event group.
 */
#ifndef QBDCTL_NL_H
#define QBDCTL_NL_H

#include <stdint.h>
#include <netlink/netlink.h>
#include <netlink/attr.h>

#include "uapi/qbd_netlink.h"

struct qbd_nl {
	struct nl_sock *sk;
	int family;
	int err;		/* last kernel errno (positive), 0 = none */
	char errmsg[256];	/* extended ack text from the kernel, or "" */
};

/* Attribute policies for parsing replies and events. */
extern struct nla_policy qbd_attr_policy[QBD_ATTR_MAX + 1];
extern struct nla_policy qbd_node_policy[QBD_NODE_MAX + 1];
extern struct nla_policy qbd_ctr_policy[QBD_CTR_MAX + 1];

/*
 * Connect to generic netlink and resolve the family. On failure prints the
 * reason (module not loaded, no netlink) and returns -1.
 */
int qbd_nl_open(struct qbd_nl *nl);
void qbd_nl_close(struct qbd_nl *nl);

/* a new request message for cmd (NULL on ENOMEM, after printing) */
struct nl_msg *qbd_nl_msg(struct qbd_nl *nl, uint8_t cmd);

/* called for each reply message with its parsed top-level attributes */
typedef int (*qbd_nl_reply_fn)(struct nlattr **tb, void *arg);

/*
 * Send msg (consumed) with NLM_F_ACK, call fn for each reply, wait for the
 * ack. Returns 0 or a negative errno; nl->err/errmsg hold the kernel's
 * answer for qbd_nl_perror().
 */
int qbd_nl_exec(struct qbd_nl *nl, struct nl_msg *msg, qbd_nl_reply_fn fn,
		void *arg);

/*
 * Print a failed request: "qbdctl: WHAT: reason" where the reason knows
 * EPERM (need CAP_SYS_ADMIN) and appends the kernel's extended ack text.
 */
void qbd_nl_perror(struct qbd_nl *nl, const char *what, int err);

/*
 * Join the multicast group and call fn for every event (with the command in
 * *cmd), until fn returns non-zero or the socket fails. Returns 0 or -1.
 */
typedef int (*qbd_nl_event_fn)(uint8_t cmd, struct nlattr **tb, void *arg);
int qbd_nl_monitor(struct qbd_nl *nl, qbd_nl_event_fn fn, void *arg);

/* names for enum qbd_dev_state / qbd_node_state / counters */
const char *qbd_dev_state_str(uint32_t s);
const char *qbd_node_state_str(uint32_t s);
const char *qbd_ctr_str(int ctr);


/* --- STATUS decoding (cmd_status.c), shared by detach and reconnect --- */

#define QBD_STATUS_MAX_NODES	16

struct qbd_node_status {
	uint32_t id, az, state, inflight, lat_us;
	uint64_t scl, sent_bytes, acks, reads, errors;
	uint32_t npgs;		/* entries in pg_scl */
	uint64_t *pg_scl;	/* malloc'd, may be NULL */
	uint32_t present;	/* bit per QBD_NODE_* attribute present */
};

struct qbd_dev_status {
	uint32_t index, state, window, io_timeout, dead_timeout, flags;
	uint64_t size, pg_size, volume_id, epoch, vcl, vdl, next_lsn;
	uint64_t ctr[QBD_CTR_MAX + 1];
	uint32_t ctr_present;	/* bit per QBD_CTR_* */
	uint32_t present;	/* bit per QBD_ATTR_* present */
	int nnodes;
	struct qbd_node_status nodes[QBD_STATUS_MAX_NODES];
};

struct qbd_dev_list {
	int n;
	struct qbd_dev_status *dev;	/* malloc'd array */
};

/*
 * QBD_CMD_STATUS for one device (index >= 0) or all (index < 0). Returns 0
 * or a negative errno (nl->err/errmsg set; -ENODEV style errors for an
 * unknown index come from the kernel).
 */
int qbd_status_get(struct qbd_nl *nl, int index, struct qbd_dev_list *out);
void qbd_dev_list_free(struct qbd_dev_list *l);

#endif /* QBDCTL_NL_H */
