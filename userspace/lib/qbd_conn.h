/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Blocking TCP connections to qbd-stored: connect with a timeout, send one
 * sealed message (header + payload iovecs), receive one fully validated
 * message (header decode, payload read, payload CRC), the HELLO exchange and
 * a request/reply helper. Used by the writer's recovery, the node's peer
 * connections, qbdctl and the tests.
 *
 * Return convention of the receive/hello/rpc functions:
 *   0            success
 *   -errno       transport failure (-ETIMEDOUT, -ECONNRESET on EOF, ...)
 *   > 0          an enum qbd_status: the message was invalid, or the peer
 *                answered ERROR with that status; err holds a one-line text
 */
#ifndef QBD_CONN_H
#define QBD_CONN_H

#include <stddef.h>
#include <sys/uio.h>
#include "qbd_pure.h"
#include "qbd_codec.h"

#define QBD_ERRLEN	256

/* one received message; payload is owned by the struct (reused) */
struct qbd_msg {
	struct qbd_hdr_info hi;
	u8 *payload;		/* hi.payload_len bytes (NUL-terminated) */
	u32 cap;
	int hdr_ok;		/* hi valid and payload consumed: stream usable */
};

void qbd_msg_init(struct qbd_msg *m);
void qbd_msg_free(struct qbd_msg *m);

/* "host:port" -> host, port. 0 or -EINVAL. */
int qbd_parse_hostport(const char *s, char *host, size_t hostlen, u16 *port);

/*
 * Connect to host:port (numeric IPv4/IPv6 or a name) within timeout_ms.
 * Returns a blocking socket (TCP_NODELAY, CLOEXEC) or -errno with err set.
 */
int qbd_tcp_connect(const char *host, u16 port, int timeout_ms, char *err,
		    size_t errlen);

/*
 * Seal and send: h was filled by qbd_hdr_init() (and h->status set for a
 * reply); the payload is the concatenation of iov[]. Waits at most
 * timeout_ms (< 0: forever) for socket space. 0 or -errno.
 */
int qbd_send_msg(int fd, struct qbd_wire_hdr *h, const struct iovec *iov,
		 int iovcnt, int timeout_ms);

/* send a message with a single payload buffer (len may be 0) */
int qbd_send_buf(int fd, u16 type, u64 handle, u64 volume, u64 epoch, u32 pg,
		 const void *payload, u32 len, int timeout_ms);

/* reply ERROR with status and text to the request described by req */
int qbd_send_error(int fd, const struct qbd_hdr_info *req, u64 epoch,
		   u32 status, const char *text, int timeout_ms);

/*
 * Receive one message: header validated by qbd_hdr_decode(), payload read
 * and checked against its CRC. timeout_ms < 0 waits forever; the timeout
 * covers the whole message.
 */
int qbd_recv_msg(int fd, struct qbd_msg *m, int timeout_ms, char *err,
		 size_t errlen);

/*
 * Send a request and wait for the reply with the same handle (other
 * replies are dropped). An ERROR reply returns its status with its text in
 * err; a reply of another type than expect_type returns QBD_E_PROTO.
 * expect_type 0 accepts any non-ERROR reply.
 */
int qbd_rpc(int fd, struct qbd_wire_hdr *h, const struct iovec *iov,
	    int iovcnt, u16 expect_type, struct qbd_msg *reply,
	    int timeout_ms, char *err, size_t errlen);

/*
 * Authenticator from a secret string: its bytes, zero padded/truncated to
 * QBD_AUTH_LEN. NULL uses $QBD_SECRET; no secret gives all zeroes.
 */
void qbd_auth_from_secret(const char *secret, u8 auth[QBD_AUTH_LEN]);

struct qbd_hello_args {
	u32 role;		/* enum qbd_role */
	u64 volume;
	u64 epoch;
	u32 node_id;		/* PEER: sender's node id */
	const char *secret;	/* NULL: $QBD_SECRET or none */
};

struct qbd_hello_info {
	u32 node_id;
	u32 az;
	u64 epoch;		/* newest epoch the node recorded for the volume */
	u32 npgs;		/* segments of the volume it holds */
};

/*
 * HELLO on a connected socket. A rejection returns the status
 * (QBD_E_VERSION, QBD_E_STALE_EPOCH, QBD_E_AUTH, ...) with a clear text.
 */
int qbd_hello(int fd, const struct qbd_hello_args *a,
	      struct qbd_hello_info *out, int timeout_ms, char *err,
	      size_t errlen);

/* qbd_tcp_connect + qbd_hello; *fd_out set on success only */
int qbd_connect_node(const char *host, u16 port,
		     const struct qbd_hello_args *a, struct qbd_hello_info *out,
		     int timeout_ms, int *fd_out, char *err, size_t errlen);

/* monotonic clock in microseconds / milliseconds */
u64 qbd_now_us(void);
static inline u64 qbd_now_ms(void) { return qbd_now_us() / 1000; }

#endif /* QBD_CONN_H */
