// SPDX-License-Identifier: GPL-2.0
/*
 * qbd-append: the node append-path load generator of tools/bench/stored.
 *
 * Streams LOG_WRITE records (one 4 KiB block each) of one segment to ONE
 * qbd-stored as its writer, keeping --window records in flight, and counts
 * the LOG_ACKs for --seconds. It reads the node's ADMIN STATUS before and
 * after the run so the caller can derive the node's average group-commit
 * batch (records / fsyncs) and drive fio with the same fdatasync batching.
 *
 *   qbd-append --node HOST:PORT [--volume ID] [--seconds S] [--window N]
 *              [--pg-blocks N]
 *
 * Output (stdout): one JSON object
 *   {"acks":N,"seconds":S,"records_per_s":R,"window":W,
 *    "bytes_per_record":B,"lat_p50_us":..,"lat_p99_us":..,
 *    "status_before":{...node STATUS...},"status_after":{...}}
 * Exit status 0, or 1 with a message on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qbd_conn.h"
#include "qbd_codec.h"

#define TIMEOUT_MS	10000

struct opts {
	char host[64];
	u16 port;
	u64 volume;
	double seconds;
	u32 window;
	u64 pg_blocks;
};

static void __attribute__((format(printf, 1, 2), noreturn))
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "qbd-append: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static int admin_rpc(const struct opts *o, u32 op, const char *text,
		     char **json)
{
	struct qbd_hello_args ha = { .role = QBD_ROLE_ADMIN };
	struct qbd_hello_info hinfo;
	struct qbd_admin a;
	struct qbd_wire_hdr h;
	struct qbd_msg m;
	struct iovec iov[2];
	char err[QBD_ERRLEN];
	u32 len = strlen(text) + 1;
	int fd, r;

	r = qbd_connect_node(o->host, o->port, &ha, &hinfo, TIMEOUT_MS, &fd,
			     err, sizeof(err));
	if (r)
		die("admin connect: %s", err);
	a.op = qbd_cpu32(op);
	a.len = qbd_cpu32(len);
	iov[0] = (struct iovec){ &a, sizeof(a) };
	iov[1] = (struct iovec){ (void *)text, len };
	qbd_hdr_init(&h, QBD_MSG_ADMIN, 1, 0, 0, 0);
	qbd_msg_init(&m);
	r = qbd_rpc(fd, &h, iov, 2, QBD_MSG_ADMIN_OK, &m, TIMEOUT_MS, err,
		    sizeof(err));
	close(fd);
	if (r) {
		fprintf(stderr, "qbd-append: admin op %u '%s': %s\n", op,
			text, err);
		qbd_msg_free(&m);
		return r;
	}
	if (json)
		*json = strdup(m.hi.payload_len ? (char *)m.payload : "{}");
	qbd_msg_free(&m);
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "node", required_argument, NULL, 'n' },
		{ "volume", required_argument, NULL, 'v' },
		{ "seconds", required_argument, NULL, 's' },
		{ "window", required_argument, NULL, 'w' },
		{ "pg-blocks", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->volume = 4242;
	o->seconds = 5;
	o->window = 64;
	o->pg_blocks = 262144;	/* 1 GiB */
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (qbd_parse_hostport(optarg, o->host,
					       sizeof(o->host), &o->port))
				die("bad --node '%s'", optarg);
			break;
		case 'v':
			o->volume = strtoull(optarg, NULL, 0);
			break;
		case 's':
			o->seconds = atof(optarg);
			break;
		case 'w':
			o->window = strtoul(optarg, NULL, 0);
			break;
		case 'p':
			o->pg_blocks = strtoull(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: qbd-append --node HOST:PORT "
				"[--volume ID] [--seconds S] [--window N] "
				"[--pg-blocks N]\n");
			exit(2);
		}
	}
	if (!o->port || !o->volume || o->seconds <= 0 || !o->window ||
	    o->window > 4096 || !o->pg_blocks)
		die("need --node, and positive --volume/--seconds/--window/--pg-blocks");
}

int main(int argc, char **argv)
{
	struct qbd_hello_args ha = { .role = QBD_ROLE_WRITER };
	struct qbd_hello_info hinfo;
	struct opts o;
	char err[QBD_ERRLEN], text[256];
	char *st_before = NULL, *st_after = NULL;
	u8 *rec;
	u64 *sent_us, next_lsn = 1, acks = 0, t0, t_end, now;
	u32 *lat, nlat = 0, lat_cap = 1 << 20, inflight = 0;
	u64 seed = 88172645463325252ULL;
	struct qbd_msg m;
	int fd, r;

	parse_opts(argc, argv, &o);

	/* a fresh segment: pg 0 of the volume, no peers (single node) */
	snprintf(text, sizeof(text),
		 "volume=%" PRIu64 " pg=0 epoch=0 pg_blocks=%" PRIu64
		 " lba_start=0 peers=", o.volume, o.pg_blocks);
	if (admin_rpc(&o, QBD_ADMIN_SEGMENT_CREATE, text, NULL))
		return 1;
	snprintf(text, sizeof(text), "volume=%" PRIu64, o.volume);
	if (admin_rpc(&o, QBD_ADMIN_STATUS, text, &st_before))
		return 1;

	ha.volume = o.volume;
	ha.epoch = 1;
	r = qbd_connect_node(o.host, o.port, &ha, &hinfo, TIMEOUT_MS, &fd,
			     err, sizeof(err));
	if (r)
		die("writer connect: %s", err);

	rec = malloc(QBD_RECORD_SIZE + QBD_BLOCK_SIZE);
	sent_us = calloc(o.window, sizeof(*sent_us));
	lat = malloc(lat_cap * sizeof(*lat));
	if (!rec || !sent_us || !lat)
		die("out of memory");
	for (r = 0; r < (int)QBD_BLOCK_SIZE; r++)
		rec[QBD_RECORD_SIZE + r] = (u8)(r * 131 + 7);
	qbd_msg_init(&m);

	t0 = qbd_now_us();
	t_end = t0 + (u64)(o.seconds * 1e6);
	for (;;) {
		now = qbd_now_us();
		while (now < t_end && inflight < o.window) {
			struct qbd_rec_info ri = { 0 };
			struct qbd_wire_hdr h;
			struct iovec iov;
			u8 *data = rec + QBD_RECORD_SIZE;

			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			memcpy(data, &next_lsn, sizeof(next_lsn));
			ri.lsn = next_lsn;
			ri.prev_lsn = next_lsn - 1;
			ri.lba = seed % o.pg_blocks;
			ri.nblocks = 1;
			ri.kind = QBD_REC_WRITE;
			ri.vcl_hint = acks;
			ri.low_water = 0;
			ri.pg = 0;
			ri.data_len = QBD_BLOCK_SIZE;
			qbd_record_encode((struct qbd_record *)rec, &ri, data);
			qbd_hdr_init(&h, QBD_MSG_LOG_WRITE, next_lsn, o.volume,
				     1, 0);
			iov = (struct iovec){ rec,
					      QBD_RECORD_SIZE + QBD_BLOCK_SIZE };
			r = qbd_send_msg(fd, &h, &iov, 1, TIMEOUT_MS);
			if (r)
				die("send: %s", strerror(-r));
			sent_us[next_lsn % o.window] = now;
			next_lsn++;
			inflight++;
		}
		if (!inflight)
			break;
		r = qbd_recv_msg(fd, &m, TIMEOUT_MS, err, sizeof(err));
		if (r)
			die("receive: %s", err);
		if (m.hi.type != QBD_MSG_LOG_ACK) {
			die("unexpected reply %s status %u: %.100s",
			    qbd_msg_str(m.hi.type), m.hi.status,
			    m.hi.payload_len ? (char *)m.payload : "");
		}
		if (m.hi.handle == 0 || m.hi.handle >= next_lsn)
			die("ack with an unknown handle");
		inflight--;
		acks++;
		if (nlat < lat_cap)
			lat[nlat++] = (u32)(qbd_now_us() -
					    sent_us[m.hi.handle % o.window]);
	}
	now = qbd_now_us();
	close(fd);
	snprintf(text, sizeof(text), "volume=%" PRIu64, o.volume);
	if (admin_rpc(&o, QBD_ADMIN_STATUS, text, &st_after))
		return 1;
	qsort(lat, nlat, sizeof(*lat), cmp_u32);
	printf("{\"acks\":%" PRIu64 ",\"seconds\":%.6f,"
	       "\"records_per_s\":%.1f,\"window\":%u,"
	       "\"bytes_per_record\":%u,\"lat_p50_us\":%u,"
	       "\"lat_p99_us\":%u,\"status_before\":%s,"
	       "\"status_after\":%s}\n",
	       acks, (now - t0) / 1e6, acks / ((now - t0) / 1e6), o.window,
	       (unsigned)(QBD_WIRE_HDR_SIZE + QBD_RECORD_SIZE +
			  QBD_BLOCK_SIZE),
	       nlat ? lat[nlat / 2] : 0,
	       nlat ? lat[(u64)nlat * 99 / 100] : 0, st_before, st_after);
	qbd_msg_free(&m);
	free(st_before);
	free(st_after);
	free(rec);
	free(sent_us);
	free(lat);
	return 0;
}
