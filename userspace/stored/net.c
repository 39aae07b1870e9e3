// SPDX-License-Identifier: GPL-2.0
/*
 * Sockets: the listening socket, accepted connections and our outgoing
 * links to peers, all non-blocking in one epoll set. Input is framed here:
 * the 56-byte header is validated first (magic, header CRC, version, type,
 * length); a header that fails means the stream can no longer be trusted,
 * so the connection gets an ERROR and is closed. A payload that fails its
 * CRC gets an ERROR and the connection goes on. Whole messages go to
 * st_handle_msg() (or, on our outgoing links, to gossip).
 *
 * Output is buffered per connection and flushed once per loop iteration
 * (acks of one group commit leave in one send). A connection whose output
 * backs up stops being read until it drains.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "stored.h"

void *st_grow(void *arr, size_t elem, uint32_t n, uint32_t *cap,
	      uint32_t first)
{
	uint32_t ncap;
	void *p;

	if (n < *cap)
		return arr;
	ncap = *cap ? *cap * 2 : first;
	p = realloc(arr, (size_t)ncap * elem);
	if (p)
		*cap = ncap;
	return p;
}

int st_buf_reserve(struct st_buf *b, size_t extra)
{
	size_t need = b->len + extra, cap;
	uint8_t *np;

	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 4096;
	while (cap < need)
		cap *= 2;
	np = realloc(b->p, cap);
	if (!np)
		return -ENOMEM;
	b->p = np;
	b->cap = cap;
	return 0;
}

int st_buf_put(struct st_buf *b, const void *p, size_t n)
{
	if (st_buf_reserve(b, n))
		return -ENOMEM;
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

void st_buf_free(struct st_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void ep_mod(struct st_conn *c)
{
	struct epoll_event ev = { .data.ptr = c };

	if (c->fd < 0 || c->dead)
		return;
	if (!c->paused && !c->closing && !c->connecting)
		ev.events |= EPOLLIN;
	if (c->want_out || c->connecting)
		ev.events |= EPOLLOUT;
	epoll_ctl(st->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

int st_net_listen(const char *host, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port) };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	socklen_t sl = sizeof(sa);
	int fd, one = 1;

	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(fd, 128)) {
		int e = -errno;

		close(fd);
		return e;
	}
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	st->port = ntohs(sa.sin_port);
	set_nonblock(fd);
	st->lfd = fd;
	epoll_ctl(st->epfd, EPOLL_CTL_ADD, fd, &ev);
	return 0;
}

struct st_conn *st_conn_new(int fd)
{
	struct st_conn *c = calloc(1, sizeof(*c));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!c)
		return NULL;
	c->fd = fd;
	c->id = ++st->next_conn_id;
	c->last_rx_ms = st_now_ms();
	c->next = st->conns;
	st->conns = c;
	if (fd >= 0) {
		int one = 1;

		set_nonblock(fd);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		ev.data.ptr = c;
		epoll_ctl(st->epfd, EPOLL_CTL_ADD, fd, &ev);
	}
	st->cnt.conns++;
	return c;
}

void st_conn_close(struct st_conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	if (c->fd >= 0) {
		epoll_ctl(st->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	if (c->outgoing)
		st_gossip_conn_closed(c);
}

void st_net_reap(void)
{
	struct st_conn **pp = &st->conns;

	while (*pp) {
		struct st_conn *c = *pp;

		if (!c->dead) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		free(c->rbuf);
		st_buf_free(&c->w);
		free(c);
	}
}

void st_net_drop_all(struct st_conn *except)
{
	struct st_conn *c;

	for (c = st->conns; c; c = c->next)
		if (c != except && !c->dead)
			st_conn_close(c);
}

void st_net_accept(void)
{
	for (;;) {
		int fd = accept4(st->lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				st_warn("accept: %s", strerror(errno));
			return;
		}
		if (!st_conn_new(fd))
			close(fd);
	}
}

int st_net_connect(struct st_peer *p)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(p->port) };
	struct st_conn *c;
	int fd;

	if (inet_pton(AF_INET, p->host, &sa.sin_addr) != 1)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) &&
	    errno != EINPROGRESS) {
		int e = -errno;

		close(fd);
		return e;
	}
	c = st_conn_new(fd);
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->outgoing = true;
	c->connecting = true;
	c->peer = p;
	c->role = QBD_ROLE_PEER;
	p->c = c;
	ep_mod(c);
	st_gossip_send_hello(c);
	return 0;
}

/* ---- output ---- */

static void put_msg(struct st_conn *c, struct qbd_wire_hdr *h,
		    const void *p1, u32 l1, const void *p2, u32 l2)
{
	u32 crc = 0;

	if (c->dead)
		return;
	if (l1)
		crc = qbd_crc32c(p1, l1);
	if (l2)
		crc = l1 ? qbd_crc32c_update(crc, p2, l2) :
			   qbd_crc32c(p2, l2);
	qbd_hdr_seal(h, l1 + l2, crc);
	if (st_buf_reserve(&c->w, QBD_WIRE_HDR_SIZE + l1 + l2)) {
		st_warn("conn %u: out of memory for output, closing", c->id);
		st_conn_close(c);
		return;
	}
	st_buf_put(&c->w, h, QBD_WIRE_HDR_SIZE);
	st_buf_put(&c->w, p1, l1);
	st_buf_put(&c->w, p2, l2);
}

void st_reply(struct st_conn *c, const struct qbd_hdr_info *req, u16 type,
	      u32 status, const void *p1, u32 l1, const void *p2, u32 l2)
{
	struct qbd_wire_hdr h;

	qbd_hdr_init(&h, type, req->handle, req->volume, req->epoch, req->pg);
	h.status = qbd_cpu32(status);
	put_msg(c, &h, p1, l1, p2, l2);
}

void st_reply_err(struct st_conn *c, const struct qbd_hdr_info *req,
		  u32 status, const char *fmt, ...)
{
	char text[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (n >= (int)sizeof(text))
		n = sizeof(text) - 1;
	st_dbg("conn %u: ERROR %u (%s): %s", c->id, status,
	       qbd_status_str(status), text);
	st_reply(c, req, QBD_MSG_ERROR, status, text, n + 1, NULL, 0);
}

void st_send(struct st_conn *c, u16 type, u64 handle, u64 volume, u64 epoch,
	     u32 pg, const void *p, u32 len)
{
	struct qbd_wire_hdr h;

	qbd_hdr_init(&h, type, handle, volume, epoch, pg);
	if (type == QBD_MSG_ERROR)
		h.status = qbd_cpu32(QBD_E_NO_SEGMENT);
	put_msg(c, &h, p, len, NULL, 0);
}

static void conn_flush(struct st_conn *c)
{
	while (c->woff < c->w.len && !c->dead && !c->connecting) {
		ssize_t n = send(c->fd, c->w.p + c->woff, c->w.len - c->woff,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				st_conn_close(c);
				return;
			}
			break;
		}
		c->woff += n;
	}
	if (c->dead)
		return;
	if (c->woff == c->w.len) {
		c->woff = c->w.len = 0;
		if (c->w.cap > (4u << 20)) {
			st_buf_free(&c->w);
		}
		if (c->closing) {
			st_conn_close(c);
			return;
		}
	}
	{
		bool want = c->woff < c->w.len;
		bool pause = c->w.len - c->woff > ST_WBUF_PAUSE;

		if (want != c->want_out || pause != c->paused) {
			c->want_out = want;
			c->paused = pause;
			ep_mod(c);
		}
	}
}

void st_net_flush_all(void)
{
	struct st_conn *c;

	for (c = st->conns; c; c = c->next)
		if (!c->dead && c->fd >= 0 && (c->w.len > c->woff || c->closing))
			conn_flush(c);
}

/* ---- input ---- */

static void bad_stream(struct st_conn *c, const struct qbd_wire_hdr *h,
		       int status)
{
	struct qbd_hdr_info req = { 0 };

	st->cnt.bad_msgs++;
	/* echo what we can: the handle is only trusted for a sound header */
	if (status == QBD_E_VERSION || status == QBD_E_RANGE ||
	    status == QBD_E_PROTO)
		req.handle = qbd_le64(h->handle);
	if (status == QBD_E_VERSION)
		st_reply_err(c, &req, QBD_E_VERSION,
			     "protocol version mismatch: node speaks %d, peer sent %u",
			     QBD_WIRE_VERSION, qbd_le16(h->version));
	else
		st_reply_err(c, &req, status, "bad message header: %s",
			     qbd_status_str(status));
	st_info("conn %u: %s in message header, closing", c->id,
		qbd_status_str(status));
	c->closing = true;
}

void st_conn_feed(struct st_conn *c)
{
	size_t pos = 0;

	while (!c->dead && !c->closing && c->rlen - pos >= QBD_WIRE_HDR_SIZE) {
		const struct qbd_wire_hdr *h;
		struct qbd_hdr_info hi;
		const uint8_t *payload;
		int r;

		/* the decoders read structs in place: keep them aligned */
		if ((uintptr_t)(c->rbuf + pos) & 7) {
			memmove(c->rbuf, c->rbuf + pos, c->rlen - pos);
			c->rlen -= pos;
			pos = 0;
		}
		h = (const void *)(c->rbuf + pos);
		r = qbd_hdr_decode(h, &hi);

		if (r) {
			bad_stream(c, h, r);
			break;
		}
		if (c->rlen - pos < QBD_WIRE_HDR_SIZE + (size_t)hi.payload_len)
			break;
		payload = c->rbuf + pos + QBD_WIRE_HDR_SIZE;
		pos += QBD_WIRE_HDR_SIZE + hi.payload_len;
		c->last_rx_ms = st_now_ms();
		if (qbd_payload_check(&hi, payload)) {
			st->cnt.bad_msgs++;
			st_reply_err(c, &hi, QBD_E_CRC, "payload CRC mismatch");
			continue;
		}
		if (c->outgoing)
			st_gossip_on_reply(c, &hi, payload);
		else
			st_handle_msg(c, &hi, payload);
	}
	if (pos) {
		memmove(c->rbuf, c->rbuf + pos, c->rlen - pos);
		c->rlen -= pos;
	}
}

static int conn_read(struct st_conn *c)
{
	size_t budget = 16u << 20;

	while (budget && !c->dead && !c->closing && !c->paused) {
		size_t need = ST_READ_CHUNK;
		ssize_t n;

		/* room for the whole current message, if its header is in */
		if (c->rlen >= QBD_WIRE_HDR_SIZE) {
			const struct qbd_wire_hdr *h = (const void *)c->rbuf;
			size_t plen = qbd_le32(h->payload_len);

			if (plen <= QBD_MAX_PAYLOAD &&
			    QBD_WIRE_HDR_SIZE + plen > c->rlen + need)
				need = QBD_WIRE_HDR_SIZE + plen - c->rlen;
		}
		if (c->rcap - c->rlen < need) {
			size_t cap = c->rlen + need;
			uint8_t *nb = realloc(c->rbuf, cap);

			if (!nb)
				return -ENOMEM;
			c->rbuf = nb;
			c->rcap = cap;
		}
		need = c->rcap - c->rlen;	/* what this recv asks for */
		n = recv(c->fd, c->rbuf + c->rlen, need, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -errno;
		}
		if (n == 0) {
			/* peer closed its side: answer what it sent, then close */
			st_conn_feed(c);
			c->closing = true;
			ep_mod(c);
			return 0;
		}
		c->rlen += n;
		budget -= (size_t)n > budget ? budget : (size_t)n;
		st_conn_feed(c);
		if (c->closing)
			ep_mod(c);
		/*
		 * A short read drained the socket: skip the recv that would
		 * only say EAGAIN (epoll is level-triggered: more data that
		 * arrives meanwhile is reported again).
		 */
		if ((size_t)n < need)
			break;
	}
	return 0;
}

void st_net_event(struct st_conn *c, uint32_t events)
{
	if (c->dead)
		return;
	if (c->connecting && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		int err = 0;
		socklen_t l = sizeof(err);

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err) {
			st_dbg("peer %s:%u: connect: %s", c->peer->host,
			       c->peer->port, strerror(err));
			st_conn_close(c);
			return;
		}
		c->connecting = false;
		ep_mod(c);
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		if (conn_read(c)) {
			/* deliver what arrived before the close */
			st_conn_feed(c);
			st_conn_close(c);
			return;
		}
	}
	if (events & EPOLLOUT)
		conn_flush(c);
}
