// SPDX-License-Identifier: GPL-2.0
/*
 * qbd-bench: a writer-driven workload and benchmark. Opens a volume with
 * the libqbd writer (recovery first), runs 4 KiB (or --bs blocks) random or
 * sequential writes and/or reads at queue depth N for T seconds or N ops,
 * verifies every read against an in-memory model, and reports IOPS, p50/p99
 * latency and wire bytes per write (text or --json).
 *
 * Verification: every written block carries (lba, version) and a pattern
 * derived from them; two I/Os in flight never touch the same block, so a
 * read must return exactly the newest completed write (or zeroes).
 *
 *   qbd-bench [--cluster FILE] --volume ID --size BYTES [--pg-size BYTES]
 *             [--create] [--rw randwrite|randread|randrw|write|read]
 *             [--bs BLOCKS] [--qd N] [--time S | --ops N] [--mix PCT]
 *             [--span BLOCKS] [--seed N] [--no-verify] [--json]
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "qbd_conn.h"
#include "qbd_writer.h"

struct slot {
	int busy;
	int is_write;
	u64 lba;
	u32 nblocks;
	u64 version;
	u64 start_us;
	u8 *buf;
	struct bench *b;
};

struct bench {
	struct qbd_vol *v;
	pthread_mutex_t m;
	pthread_cond_t c;
	u64 *model;		/* per block: version of the newest completed write */
	u8 *busy;		/* per block: an I/O in flight */
	u64 span;
	u32 bs;
	u64 next_version;
	u64 writes, reads, errors, verify_fail;
	u32 *lat;		/* completion latencies (us) */
	u64 nlat, caplat;
	int verify;
	int inflight;
};

static u64 rng_state;

static u64 rnd(void)
{
	u64 x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return x;
}

static void fill_block(u8 *p, u64 lba, u64 version)
{
	u64 x = (lba * 0x9E3779B97F4A7C15ULL) ^ (version + 1) * 0xBF58476D1CE4E5B9ULL;
	u32 i;

	memcpy(p, &lba, 8);
	memcpy(p + 8, &version, 8);
	for (i = 16; i < QBD_BLOCK_SIZE; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(p + i, &x, 8);
	}
}

static int check_block(const u8 *p, u64 lba, u64 version)
{
	static const u8 zero[QBD_BLOCK_SIZE];
	u8 want[QBD_BLOCK_SIZE];

	if (!version)
		return !memcmp(p, zero, QBD_BLOCK_SIZE);
	fill_block(want, lba, version);
	return !memcmp(p, want, QBD_BLOCK_SIZE);
}

static void note_latency(struct bench *b, u32 us)
{
	if (b->nlat == b->caplat) {
		u64 cap = b->caplat ? b->caplat * 2 : 65536;
		u32 *t = realloc(b->lat, cap * sizeof(u32));

		if (!t)
			return;
		b->lat = t;
		b->caplat = cap;
	}
	b->lat[b->nlat++] = us;
}

static void io_done(void *arg, int result)
{
	struct slot *s = arg;
	struct bench *b = s->b;
	u64 i;

	pthread_mutex_lock(&b->m);
	note_latency(b, (u32)(qbd_now_us() - s->start_us));
	if (result) {
		b->errors++;
	} else if (s->is_write) {
		b->writes++;
		for (i = 0; i < s->nblocks; i++)
			b->model[s->lba + i] = s->version;
	} else {
		b->reads++;
		for (i = 0; b->verify && i < s->nblocks; i++) {
			u64 ver = b->model[s->lba + i];

			if (!check_block(s->buf + (i << QBD_BLOCK_SHIFT),
					 s->lba + i, ver)) {
				if (b->verify_fail++ < 5)
					qbd_err("verify: block %llu: expected version %llu",
						(unsigned long long)(s->lba + i),
						(unsigned long long)ver);
			}
		}
	}
	for (i = 0; i < s->nblocks; i++)
		b->busy[s->lba + i] = 0;
	s->busy = 0;
	b->inflight--;
	pthread_cond_signal(&b->c);
	pthread_mutex_unlock(&b->m);
}

static int cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: qbd-bench [--cluster FILE] --volume ID --size BYTES [--pg-size BYTES]\n"
		"                 [--create] [--rw randwrite|randread|randrw|write|read]\n"
		"                 [--bs BLOCKS] [--qd N] [--time S | --ops N] [--mix READ_PCT]\n"
		"                 [--span BLOCKS] [--seed N] [--no-verify] [--json]\n"
		"                 [--io-timeout MS] [--dead-timeout MS]\n");
	exit(2);
}

static u64 parse_size(const char *s)
{
	char *end;
	u64 v = strtoull(s, &end, 0);

	switch (*end) {
	case 'k': case 'K': v <<= 10; break;
	case 'm': case 'M': v <<= 20; break;
	case 'g': case 'G': v <<= 30; break;
	case 0: break;
	default: fprintf(stderr, "bad size %s\n", s); exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "cluster", 1, NULL, 'c' }, { "volume", 1, NULL, 'V' },
		{ "size", 1, NULL, 's' }, { "pg-size", 1, NULL, 'p' },
		{ "create", 0, NULL, 'C' }, { "rw", 1, NULL, 'r' },
		{ "bs", 1, NULL, 'b' }, { "qd", 1, NULL, 'q' },
		{ "time", 1, NULL, 't' }, { "ops", 1, NULL, 'o' },
		{ "mix", 1, NULL, 'm' }, { "span", 1, NULL, 'S' },
		{ "seed", 1, NULL, 'x' }, { "no-verify", 0, NULL, 'N' },
		{ "json", 0, NULL, 'j' }, { "io-timeout", 1, NULL, 'I' },
		{ "dead-timeout", 1, NULL, 'D' }, { "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cluster = NULL, *rw = "randwrite";
	u64 volume = 0, size = 0, pg_size = 10ULL << 30, ops = 0, span = 0;
	u64 seed = 1, t0, t1, wire0, deadline, issued = 0, seq = 0;
	double secs = 0;
	int create = 0, qd = 16, json = 0, mix = -1, c, i, r;
	struct qbd_writer_opts wo = { 0 };
	struct qbd_vol_stats st;
	struct qbd_cluster cl;
	struct qbd_geom g;
	struct bench b;
	struct slot *slots;
	char err[QBD_ERRLEN];

	memset(&b, 0, sizeof(b));
	b.bs = 1;
	b.verify = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'c': cluster = optarg; break;
		case 'V': volume = strtoull(optarg, NULL, 0); break;
		case 's': size = parse_size(optarg); break;
		case 'p': pg_size = parse_size(optarg); break;
		case 'C': create = 1; break;
		case 'r': rw = optarg; break;
		case 'b': b.bs = (u32)atoi(optarg); break;
		case 'q': qd = atoi(optarg); break;
		case 't': secs = atof(optarg); break;
		case 'o': ops = strtoull(optarg, NULL, 0); break;
		case 'm': mix = atoi(optarg); break;
		case 'S': span = strtoull(optarg, NULL, 0); break;
		case 'x': seed = strtoull(optarg, NULL, 0); break;
		case 'N': b.verify = 0; break;
		case 'j': json = 1; break;
		case 'I': wo.io_timeout_ms = atoi(optarg); break;
		case 'D': wo.dead_timeout_ms = atoi(optarg); break;
		default: usage();
		}
	}
	if (!volume || !size || qd < 1 || b.bs < 1 || b.bs > QBD_MAX_IO_BLOCKS)
		usage();
	if (mix < 0)
		mix = !strcmp(rw, "randread") || !strcmp(rw, "read") ? 100 :
			!strcmp(rw, "randrw") ? 50 : 0;
	if (!ops && secs <= 0)
		secs = 5;
	rng_state = seed * 0x2545F4914F6CDD1DULL + 1;
	qbd_log_set_name("qbd-bench");
	if (qbd_cluster_load(cluster, &cl, err, sizeof(err)) ||
	    qbd_geom_init(&g, volume, size, pg_size, err, sizeof(err))) {
		fprintf(stderr, "qbd-bench: %s\n", err);
		return 1;
	}
	if (create && qbd_volume_create(&cl, &g, err, sizeof(err))) {
		fprintf(stderr, "qbd-bench: create: %s\n", err);
		return 1;
	}
	r = qbd_writer_open(&cl, &g, NULL, &wo, &b.v, err, sizeof(err));
	if (r) {
		fprintf(stderr, "qbd-bench: open: %s\n", err);
		return 1;
	}
	b.span = span && span <= g.nblocks ? span : g.nblocks;
	b.model = calloc(b.span, sizeof(u64));
	b.busy = calloc(b.span, 1);
	slots = calloc((size_t)qd, sizeof(*slots));
	if (!b.model || !b.busy || !slots)
		return 1;
	pthread_mutex_init(&b.m, NULL);
	pthread_cond_init(&b.c, NULL);
	for (i = 0; i < qd; i++) {
		slots[i].b = &b;
		slots[i].buf = aligned_alloc(QBD_BLOCK_SIZE,
					     (size_t)b.bs << QBD_BLOCK_SHIFT);
	}
	/* a read-only run reads what a first pass wrote */
	qbd_vol_stats(b.v, &st);
	wire0 = st.write_wire_bytes;
	t0 = qbd_now_us();
	deadline = secs > 0 ? t0 + (u64)(secs * 1e6) : ~0ULL;
	pthread_mutex_lock(&b.m);
	while ((!ops || issued < ops) && qbd_now_us() < deadline) {
		struct slot *s = NULL;
		u64 lba, k;
		int tries;

		for (i = 0; i < qd; i++)
			if (!slots[i].busy) {
				s = &slots[i];
				break;
			}
		if (!s) {
			pthread_cond_wait(&b.c, &b.m);
			continue;
		}
		for (tries = 0; tries < 64; tries++) {
			if (rw[0] == 'r' && rw[1] == 'a')
				lba = rnd() % (b.span - b.bs + 1);
			else
				lba = (seq * b.bs) % (b.span - b.bs + 1);
			for (k = 0; k < b.bs && !b.busy[lba + k]; k++)
				;
			if (k == b.bs)
				break;
			seq++;
		}
		if (tries == 64) {
			pthread_cond_wait(&b.c, &b.m);
			continue;
		}
		seq++;
		s->busy = 1;
		s->lba = lba;
		s->nblocks = b.bs;
		s->is_write = (int)(rnd() % 100) >= mix;
		for (k = 0; k < b.bs; k++)
			b.busy[lba + k] = 1;
		if (s->is_write) {
			s->version = ++b.next_version;
			for (k = 0; k < b.bs; k++)
				fill_block(s->buf + (k << QBD_BLOCK_SHIFT),
					   lba + k, s->version);
		}
		b.inflight++;
		issued++;
		s->start_us = qbd_now_us();
		pthread_mutex_unlock(&b.m);
		r = s->is_write ?
			qbd_submit_write(b.v, lba, b.bs, s->buf, 0, io_done, s) :
			qbd_submit_read(b.v, lba, b.bs, s->buf, io_done, s);
		pthread_mutex_lock(&b.m);
		if (r) {
			fprintf(stderr, "qbd-bench: submit: %s\n", strerror(-r));
			break;
		}
	}
	while (b.inflight)
		pthread_cond_wait(&b.c, &b.m);
	pthread_mutex_unlock(&b.m);
	t1 = qbd_now_us();
	qbd_vol_stats(b.v, &st);
	qbd_writer_close(b.v, 0);

	qsort(b.lat, b.nlat, sizeof(u32), cmp_u32);
	{
		double el = (double)(t1 - t0) / 1e6;
		u64 done = b.writes + b.reads;
		u32 p50 = b.nlat ? b.lat[b.nlat / 2] : 0;
		u32 p99 = b.nlat ? b.lat[(b.nlat * 99) / 100] : 0;
		double wpw = b.writes ? (double)(st.write_wire_bytes - wire0) /
			(double)b.writes : 0;

		if (json)
			printf("{\"rw\": \"%s\", \"qd\": %d, \"bs_blocks\": %u, \"seconds\": %.3f, "
			       "\"ops\": %llu, \"writes\": %llu, \"reads\": %llu, \"errors\": %llu, "
			       "\"verify_failures\": %llu, \"iops\": %.0f, \"p50_us\": %u, \"p99_us\": %u, "
			       "\"wire_bytes_per_write\": %.0f, \"vcl\": %llu, \"epoch\": %llu}\n",
			       rw, qd, b.bs, el, (unsigned long long)done,
			       (unsigned long long)b.writes,
			       (unsigned long long)b.reads,
			       (unsigned long long)b.errors,
			       (unsigned long long)b.verify_fail,
			       el > 0 ? (double)done / el : 0, p50, p99, wpw,
			       (unsigned long long)st.vcl,
			       (unsigned long long)st.epoch);
		else
			printf("%s qd=%d bs=%u: %llu ops in %.2fs = %.0f IOPS (%llu writes, %llu reads), "
			       "p50 %u us, p99 %u us, %.0f wire bytes/write, %llu errors, %llu verify failures\n",
			       rw, qd, b.bs, (unsigned long long)done, el,
			       el > 0 ? (double)done / el : 0,
			       (unsigned long long)b.writes,
			       (unsigned long long)b.reads, p50, p99, wpw,
			       (unsigned long long)b.errors,
			       (unsigned long long)b.verify_fail);
	}
	return b.errors || b.verify_fail ? 1 : 0;
}
