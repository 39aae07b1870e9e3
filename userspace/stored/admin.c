// SPDX-License-Identifier: GPL-2.0
/*
 * ADMIN requests from qbdctl and tools: a qbd_admin op plus a text of
 * space-separated key=value pairs; the answer is ADMIN_OK with JSON text or
 * an ERROR. See Documentation/stored.md for the ops and their arguments.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "stored.h"

#define MAX_KV 16

struct kv {
	char key[32];
	char val[1024];
};

static int parse_kv(const char *text, struct kv *kv, int max)
{
	int n = 0;

	while (*text) {
		const char *eq, *end;
		size_t kl, vl;

		while (*text == ' ')
			text++;
		if (!*text)
			break;
		end = strchr(text, ' ');
		if (!end)
			end = text + strlen(text);
		eq = memchr(text, '=', end - text);
		if (!eq || n == max)
			return -EINVAL;
		kl = eq - text;
		vl = end - eq - 1;
		if (!kl || kl >= sizeof(kv->key) || vl >= sizeof(kv->val))
			return -EINVAL;
		memcpy(kv[n].key, text, kl);
		kv[n].key[kl] = 0;
		memcpy(kv[n].val, eq + 1, vl);
		kv[n].val[vl] = 0;
		n++;
		text = end;
	}
	return n;
}

static const char *kv_get(const struct kv *kv, int n, const char *key)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(kv[i].key, key))
			return kv[i].val;
	return NULL;
}

/* an unsigned number (decimal or 0x hex); -1 if missing, -2 if bad */
static int kv_u64(const struct kv *kv, int n, const char *key, uint64_t *out)
{
	const char *v = kv_get(kv, n, key);
	char *end;

	if (!v)
		return -1;
	if (!*v || *v == '-')
		return -2;
	errno = 0;
	*out = strtoull(v, &end, 0);
	return (*end || errno) ? -2 : 0;
}

static void jprintf(struct st_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void jprintf(struct st_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || st_buf_reserve(b, n + 1))
		return;
	va_start(ap, fmt);
	vsnprintf((char *)b->p + b->len, n + 1, fmt, ap);
	va_end(ap);
	b->len += n;
}

static void reply_json(struct st_conn *c, const struct qbd_hdr_info *hi,
		       struct st_buf *b)
{
	if (st_buf_put(b, "", 1)) {
		st_reply_err(c, hi, QBD_E_NOMEM, "out of memory");
		return;
	}
	st_reply(c, hi, QBD_MSG_ADMIN_OK, 0, b->p, b->len, NULL, 0);
}

static void json_str(struct st_buf *b, const char *s)
{
	jprintf(b, "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			jprintf(b, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			jprintf(b, "\\u%04x", *s);
		else
			jprintf(b, "%c", *s);
	}
	jprintf(b, "\"");
}

static void do_status(struct st_conn *c, const struct qbd_hdr_info *hi,
		      const struct kv *kv, int n)
{
	const struct st_counters *k = &st->cnt;
	struct st_buf b = { 0 };
	uint64_t vol = 0;
	bool filter = !kv_u64(kv, n, "volume", &vol);
	uint32_t i, shown = 0;

	jprintf(&b, "{\"node_id\":%u,\"az\":", st->node_id);
	json_str(&b, st->az);
	jprintf(&b, ",\"port\":%u,\"counters\":{\"records\":%" PRIu64
		",\"bytes\":%" PRIu64 ",\"fsyncs\":%" PRIu64 ",\"reads\":%"
		PRIu64 ",\"read_bytes\":%" PRIu64 ",\"gossip_fetches\":%"
		PRIu64 ",\"gossip_records\":%" PRIu64 ",\"crc_errors\":%"
		PRIu64 ",\"repairs\":%" PRIu64 ",\"coalesced_records\":%"
		PRIu64 ",\"scrubbed\":%" PRIu64 ",\"bad_msgs\":%" PRIu64
		",\"stale_epoch\":%" PRIu64 ",\"log_files_deleted\":%" PRIu64
		",\"conns\":%" PRIu64 ",\"retain_capped\":%" PRIu64
		",\"cache_hits\":%" PRIu64 ",\"cache_bytes\":%" PRIu64 "},",
		st->port, k->records, k->bytes,
		k->fsyncs, k->reads, k->read_bytes, k->gossip_fetches,
		k->gossip_records, k->crc_errors, k->repairs,
		k->coalesced_records, k->scrubbed, k->bad_msgs,
		k->stale_epoch, k->log_files_deleted, k->conns,
		k->retain_capped, k->cache_hits, st->cache_bytes);
	jprintf(&b, "\"fault\":{\"delay_us\":%u,\"refuse_writes\":%d,"
		"\"corrupt_reads\":%d},\"segments\":[", st->fault.delay_us,
		st->fault.refuse_writes, st->fault.corrupt_reads);
	for (i = 0; i < st->nsegs; i++) {
		struct st_segment *s = st->segs[i];
		struct st_volume *v = st_volume_get(s->volume, false);
		uint64_t log_bytes = 0;
		uint32_t f;

		if (filter && s->volume != vol)
			continue;
		size_t ncoal = st_seg_first_above(s, s->coalesced);

		for (f = 0; f < s->nfiles; f++)
			log_bytes += s->files[f].size;
		jprintf(&b, "%s{\"volume\":%" PRIu64 ",\"pg\":%u,\"epoch\":%"
			PRIu64 ",\"scl\":%" PRIu64 ",\"max_lsn\":%" PRIu64
			",\"records\":%zu,\"bad_records\":%u,\"log_bytes\":%"
			PRIu64 ",\"log_files\":%u,\"coalesced_lsn\":%" PRIu64
			",\"low_water\":%" PRIu64 ",\"vcl_hint\":%" PRIu64
			",\"pg_blocks\":%" PRIu64 ",\"lba_start\":%" PRIu64
			",\"truncations\":%u,\"retained_records\":%zu"
			",\"retained_bytes\":%" PRIu64 ",\"retained_from\":%"
			PRIu64 ",\"peer_scl\":[",
			shown++ ? "," : "", s->volume, s->pg,
			v ? v->epoch : 0, s->scl, s->max_lsn, s->nrecs - ncoal,
			s->nbad, log_bytes, s->nfiles, s->coalesced,
			s->low_water, s->vcl_hint, s->pg_blocks, s->lba_start,
			s->ntruncs, ncoal, s->retained_bytes, s->trim);
		for (f = 0; f < s->npeers; f++) {
			/* -1: not known yet, -2: the peer lacks the segment */
			if (s->peer_state[f] == ST_PEER_KNOWN)
				jprintf(&b, "%s{\"node\":%u,\"scl\":%" PRIu64
					"}", f ? "," : "",
					st->peers[s->peer_idx[f]].node_id,
					s->peer_scl[f]);
			else
				jprintf(&b, "%s{\"node\":%u,\"scl\":%d}",
					f ? "," : "",
					st->peers[s->peer_idx[f]].node_id,
					s->peer_state[f] == ST_PEER_ABSENT ?
					-2 : -1);
		}
		jprintf(&b, "]}");
	}
	jprintf(&b, "]}");
	reply_json(c, hi, &b);
	st_buf_free(&b);
}

static void do_create(struct st_conn *c, const struct qbd_hdr_info *hi,
		      const struct kv *kv, int n)
{
	uint64_t vol, pg, epoch = 0, blocks, start = 0;
	const char *peers = kv_get(kv, n, "peers");
	struct st_segment *s;
	struct st_volume *v;
	struct st_buf b = { 0 };
	int r;

	if (kv_u64(kv, n, "volume", &vol) || !vol ||
	    kv_u64(kv, n, "pg", &pg) || pg > UINT32_MAX ||
	    kv_u64(kv, n, "pg_blocks", &blocks) || !blocks ||
	    blocks > (1ull << 40) || kv_u64(kv, n, "epoch", &epoch) == -2 ||
	    kv_u64(kv, n, "lba_start", &start) == -2 ||
	    start > (1ull << 52) - blocks) {
		st_reply_err(c, hi, QBD_E_INVAL,
			     "SEGMENT_CREATE needs volume=ID(>0) pg=N "
			     "pg_blocks=N(>0) [epoch=E lba_start=N peers=...]");
		return;
	}
	if (!peers)
		peers = "";
	s = st_seg_find(vol, (uint32_t)pg);
	if (s) {
		if (s->pg_blocks != blocks || s->lba_start != start) {
			st_reply_err(c, hi, QBD_E_EXISTS,
				     "volume %" PRIu64 " pg %" PRIu64
				     " exists with other geometry", vol, pg);
			return;
		}
		r = st_seg_set_peers(s, peers);
		if (r) {
			st_reply_err(c, hi, QBD_E_INVAL, "bad peers: %s",
				     strerror(-r));
			return;
		}
		jprintf(&b, "{\"created\":false}");
	} else {
		r = st_seg_create(vol, (uint32_t)pg, blocks, start, peers, &s);
		if (r) {
			st_reply_err(c, hi, r == -EINVAL ? QBD_E_INVAL : QBD_E_IO,
				     "cannot create segment: %s", strerror(-r));
			return;
		}
		st_info("created volume %" PRIu64 " pg %" PRIu64
			" (%" PRIu64 " blocks at %" PRIu64 ")", vol, pg,
			blocks, start);
		jprintf(&b, "{\"created\":true}");
	}
	v = st_volume_get(vol, true);
	if (!v || st_volume_set_epoch(v, epoch)) {
		st_buf_free(&b);
		st_reply_err(c, hi, QBD_E_IO, "cannot record epoch");
		return;
	}
	reply_json(c, hi, &b);
	st_buf_free(&b);
}

static void do_drop(struct st_conn *c, const struct qbd_hdr_info *hi,
		    const struct kv *kv, int n)
{
	uint64_t vol, pg;
	struct st_segment *s;
	struct st_buf b = { 0 };

	if (kv_u64(kv, n, "volume", &vol) || kv_u64(kv, n, "pg", &pg) ||
	    pg > UINT32_MAX) {
		st_reply_err(c, hi, QBD_E_INVAL,
			     "SEGMENT_DROP needs volume=ID pg=N");
		return;
	}
	s = st_seg_find(vol, (uint32_t)pg);
	if (!s) {
		st_reply_err(c, hi, QBD_E_NO_SEGMENT, "no such segment");
		return;
	}
	st_seg_drop(s);
	jprintf(&b, "{\"dropped\":true}");
	reply_json(c, hi, &b);
	st_buf_free(&b);
}

static void do_fault(struct st_conn *c, const struct qbd_hdr_info *hi,
		     const struct kv *kv, int n)
{
	uint64_t v;
	struct st_buf b = { 0 };
	bool drop = false;
	int i;

	for (i = 0; i < n; i++) {
		if (kv_u64(kv, n, kv[i].key, &v)) {
			st_reply_err(c, hi, QBD_E_INVAL, "bad value for %s",
				     kv[i].key);
			return;
		}
		if (!strcmp(kv[i].key, "delay_us") && v <= 10000000) {
			continue;
		} else if (!strcmp(kv[i].key, "drop_conns") ||
			   !strcmp(kv[i].key, "refuse_writes") ||
			   !strcmp(kv[i].key, "corrupt_reads")) {
			if (v > 1)
				goto bad;
			continue;
		}
bad:
		st_reply_err(c, hi, QBD_E_INVAL, "unknown or bad fault %s",
			     kv[i].key);
		return;
	}
	if (!kv_u64(kv, n, "delay_us", &v))
		st->fault.delay_us = (uint32_t)v;
	if (!kv_u64(kv, n, "refuse_writes", &v))
		st->fault.refuse_writes = v;
	if (!kv_u64(kv, n, "corrupt_reads", &v))
		st->fault.corrupt_reads = v;
	if (!kv_u64(kv, n, "drop_conns", &v))
		drop = v;
	st_info("fault: delay_us=%u refuse_writes=%d corrupt_reads=%d%s",
		st->fault.delay_us, st->fault.refuse_writes,
		st->fault.corrupt_reads, drop ? " drop_conns" : "");
	jprintf(&b, "{\"delay_us\":%u,\"refuse_writes\":%d,"
		"\"corrupt_reads\":%d}", st->fault.delay_us,
		st->fault.refuse_writes, st->fault.corrupt_reads);
	reply_json(c, hi, &b);
	st_buf_free(&b);
	if (drop)
		st_net_drop_all(c);
}

static void do_scrub(struct st_conn *c, const struct qbd_hdr_info *hi,
		     const struct kv *kv, int n)
{
	uint64_t vol = 0, checked = 0, bad = 0;
	bool filter = !kv_u64(kv, n, "volume", &vol);
	struct st_buf b = { 0 };
	uint32_t i;

	for (i = 0; i < st->nsegs; i++) {
		struct st_segment *s = st->segs[i];

		if (filter && s->volume != vol)
			continue;
		s->scrub_lsn = 0;
		st_scrub_segment(s, UINT32_MAX, UINT64_MAX, &checked, &bad);
	}
	jprintf(&b, "{\"checked\":%" PRIu64 ",\"bad\":%" PRIu64 "}", checked,
		bad);
	reply_json(c, hi, &b);
	st_buf_free(&b);
}

void st_do_admin(struct st_conn *c, const struct qbd_hdr_info *hi,
		 const uint8_t *p)
{
	struct kv *kv;
	const char *text;
	u32 op;
	int n, r = qbd_admin_decode(p, hi->payload_len, &op, &text);

	if (r) {
		st_reply_err(c, hi, r, "bad ADMIN: %s", qbd_status_str(r));
		return;
	}
	kv = calloc(MAX_KV, sizeof(*kv));
	if (!kv) {
		st_reply_err(c, hi, QBD_E_NOMEM, "out of memory");
		return;
	}
	n = parse_kv(text, kv, MAX_KV);
	if (n < 0) {
		st_reply_err(c, hi, QBD_E_INVAL,
			     "arguments must be key=value pairs");
		free(kv);
		return;
	}
	switch (op) {
	case QBD_ADMIN_STATUS:
		do_status(c, hi, kv, n);
		break;
	case QBD_ADMIN_SEGMENT_CREATE:
		do_create(c, hi, kv, n);
		break;
	case QBD_ADMIN_SEGMENT_DROP:
		do_drop(c, hi, kv, n);
		break;
	case QBD_ADMIN_FAULT:
		do_fault(c, hi, kv, n);
		break;
	case QBD_ADMIN_SCRUB:
		do_scrub(c, hi, kv, n);
		break;
	}
	free(kv);
}
