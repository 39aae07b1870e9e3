// SPDX-License-Identifier: GPL-2.0
/*
 * Blocking connections to qbd-stored (see qbd_conn.h). Every message that
 * leaves goes through qbd_send_msg(), which seals it with the codec; every
 * message that arrives goes through qbd_recv_msg(), which validates the
 * header before it trusts payload_len, bounds the payload and checks its
 * CRC, so callers only ever see well-formed frames.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "qbd_conn.h"

u64 qbd_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000 + (u64)ts.tv_nsec / 1000;
}


void qbd_msg_init(struct qbd_msg *m)
{
	memset(m, 0, sizeof(*m));
}

void qbd_msg_free(struct qbd_msg *m)
{
	free(m->payload);
	memset(m, 0, sizeof(*m));
}

int qbd_parse_hostport(const char *s, char *host, size_t hostlen, u16 *port)
{
	const char *colon = strrchr(s, ':');
	size_t hl;
	char *end;
	long p;

	if (!colon || colon == s)
		return -EINVAL;
	hl = (size_t)(colon - s);
	/* [v6]:port */
	if (s[0] == '[' && colon[-1] == ']') {
		s++;
		hl -= 2;
	}
	if (hl + 1 > hostlen)
		return -EINVAL;
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || p <= 0 || p > 65535)
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = 0;
	*port = (u16)p;
	return 0;
}

/* remaining ms until deadline_us (0 = forever -> -1) */
static int remaining_ms(u64 deadline_us)
{
	u64 now;

	if (!deadline_us)
		return -1;
	now = qbd_now_us();
	if (now >= deadline_us)
		return 0;
	return (int)((deadline_us - now + 999) / 1000);
}

static u64 deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? 0 : qbd_now_us() + (u64)timeout_ms * 1000 + 1;
}

static int wait_fd(int fd, short events, u64 deadline_us)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int r;

	for (;;) {
		r = poll(&pfd, 1, remaining_ms(deadline_us));
		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int connect_one(const struct addrinfo *ai, int timeout_ms)
{
	int fd, r, one = 1, soerr = 0;
	socklen_t sl = sizeof(soerr);

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
	if (fd < 0)
		return -errno;
	r = connect(fd, ai->ai_addr, ai->ai_addrlen);
	if (r < 0 && errno != EINPROGRESS) {
		r = -errno;
		goto fail;
	}
	if (r < 0) {
		r = wait_fd(fd, POLLOUT, deadline_of(timeout_ms));
		if (r)
			goto fail;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) {
			r = -errno;
			goto fail;
		}
		if (soerr) {
			r = -soerr;
			goto fail;
		}
	}
	/* back to blocking; send/recv use poll for their timeouts */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		r = -errno;
		goto fail;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
fail:
	close(fd);
	return r;
}

int qbd_tcp_connect(const char *host, u16 port, int timeout_ms, char *err,
		    size_t errlen)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
	};
	struct addrinfo *res, *ai;
	char portstr[8];
	int r, fd = -EHOSTUNREACH;

	snprintf(portstr, sizeof(portstr), "%u", port);
	r = getaddrinfo(host, portstr, &hints, &res);
	if (r) {
		qbd_set_err(err, errlen, "cannot resolve %s: %s", host,
			gai_strerror(r));
		return -EHOSTUNREACH;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = connect_one(ai, timeout_ms);
		if (fd >= 0)
			break;
	}
	freeaddrinfo(res);
	if (fd < 0)
		qbd_set_err(err, errlen, "connect to %s:%u: %s", host, port,
			strerror(-fd));
	return fd;
}

static int send_all(int fd, struct iovec *iov, int iovcnt, u64 deadline_us)
{
	struct msghdr mh = { 0 };
	ssize_t n;
	int r;

	while (iovcnt) {
		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t)iovcnt;
		n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			r = wait_fd(fd, POLLOUT, deadline_us);
			if (r)
				return r;
			continue;
		}
		while (iovcnt && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt && n) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

#define QBD_MAX_IOV	16

int qbd_send_msg(int fd, struct qbd_wire_hdr *h, const struct iovec *iov,
		 int iovcnt, int timeout_ms)
{
	struct iovec v[QBD_MAX_IOV + 1];
	size_t len = 0;
	u32 crc = 0;
	int i, n = 1;

	if (iovcnt < 0 || iovcnt > QBD_MAX_IOV)
		return -EINVAL;
	for (i = 0; i < iovcnt; i++) {
		if (!iov[i].iov_len)
			continue;
		crc = qbd_crc32c_update(crc, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
		v[n++] = iov[i];
	}
	if (len > QBD_MAX_PAYLOAD)
		return -EMSGSIZE;
	qbd_hdr_seal(h, (u32)len, len ? crc : 0);
	v[0].iov_base = h;
	v[0].iov_len = QBD_WIRE_HDR_SIZE;
	return send_all(fd, v, n, deadline_of(timeout_ms));
}

int qbd_send_buf(int fd, u16 type, u64 handle, u64 volume, u64 epoch, u32 pg,
		 const void *payload, u32 len, int timeout_ms)
{
	struct qbd_wire_hdr h;
	struct iovec iov = { .iov_base = (void *)payload, .iov_len = len };

	qbd_hdr_init(&h, type, handle, volume, epoch, pg);
	return qbd_send_msg(fd, &h, &iov, len ? 1 : 0, timeout_ms);
}

int qbd_send_error(int fd, const struct qbd_hdr_info *req, u64 epoch,
		   u32 status, const char *text, int timeout_ms)
{
	struct qbd_wire_hdr h;
	struct iovec iov = {
		.iov_base = (void *)text,
		.iov_len = text ? strlen(text) : 0,
	};

	qbd_hdr_init(&h, QBD_MSG_ERROR, req->handle, req->volume, epoch,
		     req->pg);
	h.status = qbd_cpu32(status);
	return qbd_send_msg(fd, &h, &iov, iov.iov_len ? 1 : 0, timeout_ms);
}

static int recv_all(int fd, void *buf, size_t len, u64 deadline_us)
{
	char *p = buf;
	ssize_t n;
	int r;

	while (len) {
		n = recv(fd, p, len, MSG_DONTWAIT);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		r = wait_fd(fd, POLLIN, deadline_us);
		if (r)
			return r;
	}
	return 0;
}

int qbd_recv_msg(int fd, struct qbd_msg *m, int timeout_ms, char *err,
		 size_t errlen)
{
	u64 deadline = deadline_of(timeout_ms);
	struct qbd_wire_hdr h;
	u32 len;
	int r;

	m->hdr_ok = 0;
	r = recv_all(fd, &h, sizeof(h), deadline);
	if (r) {
		qbd_set_err(err, errlen, "receive: %s", r == -ECONNRESET ?
			"connection closed by peer" : strerror(-r));
		return r;
	}
	r = qbd_hdr_decode(&h, &m->hi);
	if (r == QBD_E_VERSION) {
		qbd_set_err(err, errlen,
			"protocol version mismatch: we speak %d, peer sent %u",
			QBD_WIRE_VERSION, qbd_le16(h.version));
		return r;
	}
	if (r) {
		qbd_set_err(err, errlen, "invalid header: %s", qbd_status_str(r));
		return r;
	}
	len = m->hi.payload_len;
	if (len + 1 > m->cap) {
		u8 *p = realloc(m->payload, len + 1);

		if (!p) {
			qbd_set_err(err, errlen, "out of memory for %u bytes", len);
			return -ENOMEM;
		}
		m->payload = p;
		m->cap = len + 1;
	}
	r = recv_all(fd, m->payload, len, deadline);
	if (r) {
		qbd_set_err(err, errlen, "receive payload: %s",
			r == -ECONNRESET ? "connection closed by peer" :
			strerror(-r));
		return r;
	}
	m->payload[len] = 0;
	m->hdr_ok = 1;
	r = qbd_payload_check(&m->hi, m->payload);
	if (r) {
		qbd_set_err(err, errlen, "%s: payload checksum mismatch",
			qbd_msg_str(m->hi.type));
		return r;
	}
	return 0;
}

/* copy an ERROR reply's text into err */
static void error_text(const struct qbd_msg *m, char *err, size_t errlen)
{
	if (m->hi.payload_len)
		qbd_set_err(err, errlen, "%s: %.*s", qbd_status_str(m->hi.status),
			(int)m->hi.payload_len, (const char *)m->payload);
	else
		qbd_set_err(err, errlen, "%s", qbd_status_str(m->hi.status));
}

int qbd_rpc(int fd, struct qbd_wire_hdr *h, const struct iovec *iov,
	    int iovcnt, u16 expect_type, struct qbd_msg *reply,
	    int timeout_ms, char *err, size_t errlen)
{
	u64 deadline = deadline_of(timeout_ms);
	u64 handle = qbd_le64(h->handle);
	u16 req_type = qbd_le16(h->type);
	int r;

	r = qbd_send_msg(fd, h, iov, iovcnt, timeout_ms);
	if (r) {
		qbd_set_err(err, errlen, "send %s: %s", qbd_msg_str(req_type),
			strerror(-r));
		return r;
	}
	for (;;) {
		int left = remaining_ms(deadline);

		if (deadline && left == 0) {
			qbd_set_err(err, errlen, "%s: no reply (timeout)",
				qbd_msg_str(req_type));
			return -ETIMEDOUT;
		}
		r = qbd_recv_msg(fd, reply, left, err, errlen);
		if (r)
			return r;
		if (reply->hi.handle != handle)
			continue;	/* late reply to something else */
		if (reply->hi.type == QBD_MSG_ERROR) {
			error_text(reply, err, errlen);
			return reply->hi.status ? (int)reply->hi.status :
				QBD_E_PROTO;
		}
		if (expect_type && reply->hi.type != expect_type) {
			qbd_set_err(err, errlen, "%s: unexpected reply %s",
				qbd_msg_str(req_type),
				qbd_msg_str(reply->hi.type));
			return QBD_E_PROTO;
		}
		return 0;
	}
}

void qbd_auth_from_secret(const char *secret, u8 auth[QBD_AUTH_LEN])
{
	size_t n;

	memset(auth, 0, QBD_AUTH_LEN);
	if (!secret)
		secret = getenv("QBD_SECRET");
	if (!secret)
		return;
	n = strlen(secret);
	memcpy(auth, secret, n > QBD_AUTH_LEN ? QBD_AUTH_LEN : n);
}

int qbd_hello(int fd, const struct qbd_hello_args *a,
	      struct qbd_hello_info *out, int timeout_ms, char *err,
	      size_t errlen)
{
	struct qbd_hello hello;
	struct qbd_wire_hdr h;
	struct iovec iov = { .iov_base = &hello, .iov_len = sizeof(hello) };
	struct qbd_hello_info info;
	struct qbd_msg m;
	int r;

	memset(&hello, 0, sizeof(hello));
	hello.role = qbd_cpu32(a->role);
	hello.node_id = qbd_cpu32(a->node_id);
	qbd_auth_from_secret(a->secret, hello.auth);
	qbd_hdr_init(&h, QBD_MSG_HELLO, 1, a->volume, a->epoch, 0);
	qbd_msg_init(&m);
	r = qbd_rpc(fd, &h, &iov, 1, QBD_MSG_HELLO_OK, &m, timeout_ms, err,
		    errlen);
	if (r == QBD_E_STALE_EPOCH) {
		char text[QBD_ERRLEN];

		snprintf(text, sizeof(text), "%s", err ? err : "");
		qbd_set_err(err, errlen,
			"HELLO rejected: epoch %llu of volume %llu is stale (%s)",
			(unsigned long long)a->epoch,
			(unsigned long long)a->volume, text);
	} else if (r == QBD_E_VERSION && m.hdr_ok) {
		char text[QBD_ERRLEN];

		snprintf(text, sizeof(text), "%s", err ? err : "");
		qbd_set_err(err, errlen, "HELLO rejected: %s", text);
	}
	if (r)
		goto out;
	r = qbd_hello_ok_decode(m.payload, m.hi.payload_len, &info.node_id,
				&info.az, &info.epoch, &info.npgs);
	if (r) {
		qbd_set_err(err, errlen, "malformed HELLO_OK: %s",
			qbd_status_str(r));
		goto out;
	}
	if (out)
		*out = info;
out:
	qbd_msg_free(&m);
	return r;
}

int qbd_connect_node(const char *host, u16 port,
		     const struct qbd_hello_args *a, struct qbd_hello_info *out,
		     int timeout_ms, int *fd_out, char *err, size_t errlen)
{
	int fd, r;

	fd = qbd_tcp_connect(host, port, timeout_ms, err, errlen);
	if (fd < 0)
		return fd;
	r = qbd_hello(fd, a, out, timeout_ms, err, errlen);
	if (r) {
		close(fd);
		return r;
	}
	*fd_out = fd;
	return 0;
}
