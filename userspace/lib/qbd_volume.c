// SPDX-License-Identifier: GPL-2.0
/*
 * Volume geometry, creation and attach-time crash recovery.
 *
 * Recovery follows DESIGN.md section 1 (Aurora's volume recovery):
 *   1. learn every node's recorded epoch (HELLO READER) and pick
 *      epoch = max(node epochs, catalog epoch) + 1;
 *   2. HELLO RECOVERY with it on every reachable node (this fences the old
 *      writer there); every PG needs >= 3 reachable segments, because any
 *      record that reached 4 copies is then on at least one of them;
 *   3. SCL_QUERY from 0 to learn the highest durable vcl_hint H (a VCL the
 *      old writer really had, so every LSN <= H is complete) and the
 *      truncation ranges of earlier recoveries;
 *   4. SCL_QUERY from H: the (lsn, prev) of every record held above H;
 *      VCL = the end of the gap-free run above H in their union, where a
 *      known truncation range counts as present;
 *   5. TRUNCATE (VCL, VCL + 2^32] on every reachable segment with the new
 *      epoch; it must be acknowledged by >= min_truncate (default 4)
 *      segments of every PG so that any later 3-segment recovery sees the
 *      range and never resurrects a record in it;
 *   6. re-replicate every kept record above H held by fewer than 4
 *      responders (PEER_FETCH from a holder, LOG_WRITE to the others);
 *   7. per PG the newest kept LSN <= VCL becomes the back-link of the PG's
 *      next record.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "qbd_conn.h"
#include "qbd_volume.h"
#include "qbd_quorum.h"


int qbd_geom_init(struct qbd_geom *g, u64 volume, u64 size, u64 pg_size,
		  char *err, size_t errlen)
{
	memset(g, 0, sizeof(*g));
	if (!volume) {
		qbd_set_err(err, errlen, "volume id 0 is reserved");
		return -EINVAL;
	}
	if (!size || size % QBD_BLOCK_SIZE) {
		qbd_set_err(err, errlen, "volume size %llu is not a positive multiple of 4 KiB",
			(unsigned long long)size);
		return -EINVAL;
	}
	if (!pg_size || pg_size % QBD_BLOCK_SIZE) {
		qbd_set_err(err, errlen, "PG size %llu is not a positive multiple of 4 KiB",
			(unsigned long long)pg_size);
		return -EINVAL;
	}
	if ((size + pg_size - 1) / pg_size > 65536) {
		qbd_set_err(err, errlen, "too many protection groups (> 65536)");
		return -EINVAL;
	}
	g->volume = volume;
	g->size = size;
	g->pg_size = pg_size;
	g->pg_blocks = pg_size / QBD_BLOCK_SIZE;
	g->nblocks = size / QBD_BLOCK_SIZE;
	g->npgs = (u32)((size + pg_size - 1) / pg_size);
	return 0;
}

int qbd_admin(const struct qbd_node_addr *n, u32 op, const char *text,
	      char **json, int timeout_ms, char *err, size_t errlen)
{
	struct qbd_hello_args ha = { .role = QBD_ROLE_ADMIN };
	struct qbd_admin adm;
	struct qbd_wire_hdr h;
	struct iovec iov[2];
	struct qbd_msg m;
	u32 tlen = (u32)strlen(text) + 1;
	int fd, r;

	r = qbd_connect_node(n->host, n->port, &ha, NULL, timeout_ms, &fd,
			     err, errlen);
	if (r)
		return r;
	adm.op = qbd_cpu32(op);
	adm.len = qbd_cpu32(tlen);
	iov[0].iov_base = &adm;
	iov[0].iov_len = sizeof(adm);
	iov[1].iov_base = (void *)text;
	iov[1].iov_len = tlen;
	qbd_hdr_init(&h, QBD_MSG_ADMIN, 2, 0, 0, 0);
	qbd_msg_init(&m);
	r = qbd_rpc(fd, &h, iov, 2, QBD_MSG_ADMIN_OK, &m, timeout_ms, err,
		    errlen);
	close(fd);
	if (!r && json) {
		*json = strndup((const char *)m.payload, m.hi.payload_len);
		if (!*json)
			r = -ENOMEM;
	}
	qbd_msg_free(&m);
	return r;
}

int qbd_volume_create(const struct qbd_cluster *c, const struct qbd_geom *g,
		      char *err, size_t errlen)
{
	char peers[QBD_MAX_NODES * 96], text[sizeof(peers) + 256];
	char e[QBD_ERRLEN];
	size_t off = 0;
	u32 i, pg;
	int r;

	if (c->nnodes != QBD_PG_NODES) {
		qbd_set_err(err, errlen, "the cluster has %u nodes, a volume needs %d",
			c->nnodes, QBD_PG_NODES);
		return -EINVAL;
	}
	peers[0] = 0;
	for (i = 0; i < c->nnodes; i++)
		off += (size_t)snprintf(peers + off, sizeof(peers) - off,
					"%s%u@%s:%u", i ? "," : "",
					c->node[i].id, c->node[i].host,
					c->node[i].port);
	for (pg = 0; pg < g->npgs; pg++) {
		u64 lba_start = (u64)pg * g->pg_blocks;
		u64 blocks = g->nblocks - lba_start < g->pg_blocks ?
			g->nblocks - lba_start : g->pg_blocks;

		snprintf(text, sizeof(text),
			 "volume=%llu pg=%u epoch=0 pg_blocks=%llu lba_start=%llu peers=%s",
			 (unsigned long long)g->volume, pg,
			 (unsigned long long)blocks,
			 (unsigned long long)lba_start, peers);
		for (i = 0; i < c->nnodes; i++) {
			r = qbd_admin(&c->node[i], QBD_ADMIN_SEGMENT_CREATE,
				      text, NULL, 5000, e, sizeof(e));
			if (r) {
				qbd_set_err(err, errlen,
					"SEGMENT_CREATE volume %llu pg %u on node %u (%s:%u): %s",
					(unsigned long long)g->volume, pg,
					c->node[i].id, c->node[i].host,
					c->node[i].port, e);
				return r > 0 ? -EIO : r;
			}
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* recovery                                                            */

struct rec_node {
	int fd;			/* RECOVERY connection, -1 if unreachable */
	struct qbd_hello_info info;
};

/* what one segment told us */
struct rec_seg {
	int ok;			/* answered both SCL_QUERYs */
	u64 scl, last_le_from;
	u64 *lsns;		/* held LSNs above H, ascending */
	u32 n, cap;
};

struct rec_state {
	const struct qbd_cluster *c;
	const struct qbd_geom *g;
	const struct qbd_recover_opts *o;
	u64 epoch, hint;
	struct rec_node node[QBD_PG_NODES];
	struct rec_seg *seg;	/* npgs * 6, [pg * 6 + slot] */
	u64 (*trunc)[2];	/* known truncation ranges */
	u32 ntrunc;
	u64 handle;
	char *err;
	size_t errlen;
};

static struct rec_seg *seg_of(struct rec_state *s, u32 pg, u32 slot)
{
	return &s->seg[(size_t)pg * QBD_PG_NODES + slot];
}

static int in_trunc(const struct rec_state *s, u64 lsn)
{
	u32 i;

	for (i = 0; i < s->ntrunc; i++)
		if (lsn > s->trunc[i][0] && lsn <= s->trunc[i][1])
			return 1;
	return 0;
}

static int add_trunc(struct rec_state *s, u64 start, u64 end)
{
	u64 (*t)[2];
	u32 i;

	if (start >= end)
		return 0;
	for (i = 0; i < s->ntrunc; i++)
		if (s->trunc[i][0] == start && s->trunc[i][1] == end)
			return 0;
	t = realloc(s->trunc, sizeof(*t) * (s->ntrunc + 1));
	if (!t)
		return -ENOMEM;
	s->trunc = t;
	s->trunc[s->ntrunc][0] = start;
	s->trunc[s->ntrunc][1] = end;
	s->ntrunc++;
	return 0;
}

/* the highest "epoch": N in a node's ADMIN STATUS JSON for the volume */
static int admin_epoch(struct rec_state *s, const struct qbd_node_addr *n,
		       u64 *epoch)
{
	char text[64], msg[QBD_ERRLEN], *json = NULL;
	const char *p;
	int r;

	snprintf(text, sizeof(text), "volume=%llu",
		 (unsigned long long)s->g->volume);
	r = qbd_admin(n, QBD_ADMIN_STATUS, text, &json, s->o->timeout_ms, msg,
		      sizeof(msg));
	if (r) {
		qbd_warn("recovery: node %u status: %s", n->id, msg);
		return r;
	}
	*epoch = 0;
	for (p = json; (p = strstr(p, "\"epoch\":")); ) {
		u64 e;

		p += strlen("\"epoch\":");
		e = strtoull(p, NULL, 10);
		if (e > *epoch)
			*epoch = e;
	}
	free(json);
	return 0;
}

/*
 * step 1: the epochs the nodes recorded, from HELLO READER's HELLO_OK, or
 * from ADMIN STATUS if the node refuses a READER with an old epoch
 */
static u64 probe_epochs(struct rec_state *s)
{
	u64 e = s->o->catalog_epoch;
	char msg[QBD_ERRLEN];
	u32 i;

	for (i = 0; i < QBD_PG_NODES; i++) {
		const struct qbd_node_addr *n = &s->c->node[i];
		struct qbd_hello_args ha = {
			.role = QBD_ROLE_READER, .volume = s->g->volume,
			.secret = s->o->secret,
		};
		struct qbd_hello_info info;
		int fd;

		int r;

		r = qbd_connect_node(n->host, n->port, &ha, &info,
				     s->o->timeout_ms, &fd, msg, sizeof(msg));
		if (r == QBD_E_STALE_EPOCH)
			r = admin_epoch(s, n, &info.epoch);
		else if (!r)
			close(fd);
		if (r) {
			qbd_warn("recovery: node %u (%s:%u): %s", n->id,
				 n->host, n->port, msg);
			continue;
		}
		if (info.epoch > e)
			e = info.epoch;
	}
	return e;
}

/* step 2 */
static int connect_recovery(struct rec_state *s)
{
	char msg[QBD_ERRLEN];
	u32 i, up = 0;

	for (i = 0; i < QBD_PG_NODES; i++) {
		const struct qbd_node_addr *n = &s->c->node[i];
		struct qbd_hello_args ha = {
			.role = QBD_ROLE_RECOVERY, .volume = s->g->volume,
			.epoch = s->epoch, .secret = s->o->secret,
		};
		int r;

		s->node[i].fd = -1;
		r = qbd_connect_node(n->host, n->port, &ha, &s->node[i].info,
				     s->o->timeout_ms, &s->node[i].fd, msg,
				     sizeof(msg));
		if (r == QBD_E_STALE_EPOCH) {
			qbd_set_err(s->err, s->errlen,
				"node %u: %s (another writer recovered concurrently?)",
				n->id, msg);
			return -ESTALE;
		}
		if (r) {
			qbd_warn("recovery: node %u (%s:%u) not used: %s",
				 n->id, n->host, n->port, msg);
			continue;
		}
		up++;
	}
	qbd_info("recovery: volume %llu epoch %llu: %u of %d nodes reachable",
		 (unsigned long long)s->g->volume,
		 (unsigned long long)s->epoch, up, QBD_PG_NODES);
	return 0;
}

static int scl_query(struct rec_state *s, u32 slot, u32 pg, u64 from,
		     u32 max, struct qbd_msg *m, struct qbd_scl_info *si)
{
	struct qbd_scl_query q = {
		.from_lsn = qbd_cpu64(from), .max_entries = qbd_cpu32(max),
	};
	struct iovec iov = { .iov_base = &q, .iov_len = sizeof(q) };
	struct qbd_wire_hdr h;
	char msg[QBD_ERRLEN];
	int r;

	qbd_hdr_init(&h, QBD_MSG_SCL_QUERY, ++s->handle, s->g->volume,
		     s->epoch, pg);
	r = qbd_rpc(s->node[slot].fd, &h, &iov, 1, QBD_MSG_SCL_REPLY, m,
		    s->o->timeout_ms, msg, sizeof(msg));
	if (!r)
		r = qbd_scl_reply_decode(m->payload, m->hi.payload_len, si);
	if (r) {
		qbd_warn("recovery: SCL_QUERY pg %u node %u: %s", pg,
			 s->c->node[slot].id, r > 0 && !m->hdr_ok ? msg :
			 r > 0 ? qbd_status_str((u32)r) : msg);
		if (r < 0) {
			close(s->node[slot].fd);
			s->node[slot].fd = -1;
		}
	}
	return r;
}

static int seg_push(struct rec_seg *g, u64 lsn)
{
	if (g->n == g->cap) {
		u32 cap = g->cap ? g->cap * 2 : 64;
		u64 *t = realloc(g->lsns, sizeof(u64) * cap);

		if (!t)
			return -ENOMEM;
		g->lsns = t;
		g->cap = cap;
	}
	g->lsns[g->n++] = lsn;
	return 0;
}

/* steps 3 and 4 */
static int query_segments(struct rec_state *s)
{
	struct qbd_scl_info si;
	struct qbd_msg m;
	u32 pg, slot, i, cnt;
	int r = 0;

	qbd_msg_init(&m);
	s->hint = 0;
	for (pg = 0; pg < s->g->npgs; pg++) {
		for (slot = 0, cnt = 0; slot < QBD_PG_NODES; slot++) {
			if (s->node[slot].fd < 0)
				continue;
			if (scl_query(s, slot, pg, 0, 1, &m, &si))
				continue;
			seg_of(s, pg, slot)->ok = 1;
			seg_of(s, pg, slot)->scl = si.scl;
			if (si.vcl_hint > s->hint)
				s->hint = si.vcl_hint;
			if (add_trunc(s, si.trunc_start, si.trunc_end))
				goto nomem;
			cnt++;
		}
		if (cnt < QBD_READ_QUORUM) {
			qbd_set_err(s->err, s->errlen,
				"recovery of volume %llu: only %u of %d segments of PG %u answered (need %d)",
				(unsigned long long)s->g->volume, cnt,
				QBD_PG_NODES, pg, QBD_READ_QUORUM);
			r = -EIO;
			goto out;
		}
	}
	for (pg = 0; pg < s->g->npgs; pg++) {
		for (slot = 0, cnt = 0; slot < QBD_PG_NODES; slot++) {
			struct rec_seg *g = seg_of(s, pg, slot);
			u64 from = s->hint;
			int first = 1;

			if (!g->ok || s->node[slot].fd < 0) {
				g->ok = 0;
				continue;
			}
			for (;;) {
				if (scl_query(s, slot, pg, from,
					      QBD_MAX_SCL_LSNS, &m, &si)) {
					g->ok = 0;
					break;
				}
				if (first)
					g->last_le_from = si.last_le_from;
				first = 0;
				for (i = 0; i < si.nentries; i++)
					if (seg_push(g, qbd_le64(si.entries[i].lsn)))
						goto nomem;
				if (!(si.flags & QBD_SCL_F_MORE) || !si.nentries)
					break;
				from = qbd_le64(si.entries[si.nentries - 1].lsn);
			}
			cnt += g->ok;
		}
		if (cnt < QBD_READ_QUORUM) {
			qbd_set_err(s->err, s->errlen,
				"recovery of volume %llu: only %u segments of PG %u listed their records (need %d)",
				(unsigned long long)s->g->volume, cnt, pg,
				QBD_READ_QUORUM);
			r = -EIO;
			goto out;
		}
	}
	goto out;
nomem:
	qbd_set_err(s->err, s->errlen, "recovery: out of memory");
	r = -ENOMEM;
out:
	qbd_msg_free(&m);
	return r;
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* step 4: VCL from the union of held LSNs above H */
static int compute_vcl(struct rec_state *s, u64 *vcl)
{
	u64 *all = NULL, v, prev;
	size_t n = 0, cap = 0, i, k;
	u32 pg, slot;

	for (pg = 0; pg < s->g->npgs; pg++) {
		for (slot = 0; slot < QBD_PG_NODES; slot++) {
			struct rec_seg *g = seg_of(s, pg, slot);

			if (!g->ok)
				continue;
			for (i = 0; i < g->n; i++) {
				if (in_trunc(s, g->lsns[i]))
					continue;
				if (n == cap) {
					u64 *t;

					cap = cap ? cap * 2 : 1024;
					t = realloc(all, cap * sizeof(u64));
					if (!t) {
						free(all);
						return -ENOMEM;
					}
					all = t;
				}
				all[n++] = g->lsns[i];
			}
		}
	}
	if (n)
		qsort(all, n, sizeof(u64), cmp_u64);
	for (i = 0, k = 0; i < n; i++)
		if (!k || all[k - 1] != all[i])
			all[k++] = all[i];
	if (k > 0xffffffffUL)
		k = 0xffffffffUL;
	/* a truncation range holds no record: jump over it */
	v = s->hint;
	do {
		prev = v;
		v = qbd_q_recover_vcl(v, all, (u32)k);
		for (i = 0; i < s->ntrunc; i++)
			if (v >= s->trunc[i][0] && v < s->trunc[i][1])
				v = s->trunc[i][1];
	} while (v != prev);
	free(all);
	*vcl = v;
	return 0;
}

/* step 5 */
static int truncate_all(struct rec_state *s, u64 vcl)
{
	struct qbd_truncate t = {
		.start = qbd_cpu64(vcl), .end = qbd_cpu64(vcl + QBD_TRUNC_GAP),
	};
	struct iovec iov = { .iov_base = &t, .iov_len = sizeof(t) };
	u32 need = s->o->min_truncate, pg, slot, cnt;
	char msg[QBD_ERRLEN];
	struct qbd_msg m;
	int r = 0;

	qbd_msg_init(&m);
	for (pg = 0; pg < s->g->npgs; pg++) {
		for (slot = 0, cnt = 0; slot < QBD_PG_NODES; slot++) {
			struct qbd_wire_hdr h;

			if (s->node[slot].fd < 0)
				continue;
			qbd_hdr_init(&h, QBD_MSG_TRUNCATE, ++s->handle,
				     s->g->volume, s->epoch, pg);
			r = qbd_rpc(s->node[slot].fd, &h, &iov, 1,
				    QBD_MSG_TRUNCATE_OK, &m, s->o->timeout_ms,
				    msg, sizeof(msg));
			if (r) {
				qbd_warn("recovery: TRUNCATE pg %u node %u: %s",
					 pg, s->c->node[slot].id, msg);
				if (r == QBD_E_STALE_EPOCH) {
					qbd_set_err(s->err, s->errlen,
						"recovery fenced: %s", msg);
					r = -ESTALE;
					goto out;
				}
				continue;
			}
			cnt++;
		}
		r = 0;
		if (cnt < need) {
			qbd_set_err(s->err, s->errlen,
				"recovery of volume %llu: TRUNCATE above VCL %llu reached only %u segments of PG %u (need %u)",
				(unsigned long long)s->g->volume,
				(unsigned long long)vcl, cnt, pg, need);
			r = -EIO;
			goto out;
		}
	}
out:
	qbd_msg_free(&m);
	return r;
}

static int seg_has(const struct rec_seg *g, u64 lsn)
{
	u32 lo = 0, hi = g->n;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (g->lsns[mid] == lsn)
			return 1;
		if (g->lsns[mid] < lsn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* fetch one record from a holder; on success m holds FETCH_DATA */
static int fetch_record(struct rec_state *s, u32 pg, u32 slot, u64 lsn,
			struct qbd_msg *m, const struct qbd_record **rec,
			struct qbd_rec_info *ri)
{
	struct qbd_peer_fetch f = {
		.from_lsn = qbd_cpu64(lsn - 1), .to_lsn = qbd_cpu64(lsn),
		.max_bytes = qbd_cpu32(QBD_MAX_PAYLOAD),
	};
	struct iovec iov = { .iov_base = &f, .iov_len = sizeof(f) };
	struct qbd_wire_hdr h;
	char msg[QBD_ERRLEN];
	u32 off = 0;
	int r;

	qbd_hdr_init(&h, QBD_MSG_PEER_FETCH, ++s->handle, s->g->volume,
		     s->epoch, pg);
	r = qbd_rpc(s->node[slot].fd, &h, &iov, 1, QBD_MSG_FETCH_DATA, m,
		    s->o->timeout_ms, msg, sizeof(msg));
	if (r) {
		qbd_warn("recovery: PEER_FETCH pg %u lsn %llu node %u: %s", pg,
			 (unsigned long long)lsn, s->c->node[slot].id, msg);
		return r;
	}
	while (!qbd_fetch_next(m->payload, m->hi.payload_len, &off, rec, ri))
		if (ri->lsn == lsn && ri->pg == pg)
			return 0;
	return -ENOENT;
}

static int write_record(struct rec_state *s, u32 pg, u32 slot,
			const struct qbd_record *rec, u32 len)
{
	struct iovec iov = { .iov_base = (void *)rec, .iov_len = len };
	struct qbd_wire_hdr h;
	char msg[QBD_ERRLEN];
	struct qbd_msg m;
	int r;

	qbd_msg_init(&m);
	qbd_hdr_init(&h, QBD_MSG_LOG_WRITE, ++s->handle, s->g->volume,
		     s->epoch, pg);
	r = qbd_rpc(s->node[slot].fd, &h, &iov, 1, QBD_MSG_LOG_ACK, &m,
		    s->o->timeout_ms, msg, sizeof(msg));
	if (r)
		qbd_warn("recovery: re-replicate to node %u pg %u: %s",
			 s->c->node[slot].id, pg, msg);
	qbd_msg_free(&m);
	return r;
}

/* step 6: kept records above H held by fewer than 4 responders */
static int rereplicate(struct rec_state *s, u64 vcl, u64 *count)
{
	struct qbd_msg m;
	u32 pg, slot, i;

	qbd_msg_init(&m);
	for (pg = 0; pg < s->g->npgs; pg++) {
		for (slot = 0; slot < QBD_PG_NODES; slot++) {
			struct rec_seg *g = seg_of(s, pg, slot);

			for (i = 0; g->ok && i < g->n; i++) {
				u64 lsn = g->lsns[i];
				u32 holders = 0, mask = 0, k, first = 1;
				const struct qbd_record *rec;
				struct qbd_rec_info ri;

				if (lsn > vcl || in_trunc(s, lsn))
					continue;
				for (k = 0; k < QBD_PG_NODES; k++) {
					struct rec_seg *o = seg_of(s, pg, k);

					if (o->ok && seg_has(o, lsn)) {
						holders++;
						mask |= 1U << k;
						/* only the lowest holder acts */
						if (k < slot)
							first = 0;
					}
				}
				if (!first || holders >= QBD_WRITE_QUORUM)
					continue;
				if (fetch_record(s, pg, slot, lsn, &m, &rec, &ri))
					continue;
				for (k = 0; k < QBD_PG_NODES; k++) {
					if ((mask & (1U << k)) ||
					    !seg_of(s, pg, k)->ok ||
					    s->node[k].fd < 0)
						continue;
					if (!write_record(s, pg, k, rec,
							  QBD_RECORD_SIZE + ri.data_len))
						(*count)++;
				}
			}
		}
	}
	qbd_msg_free(&m);
	return 0;
}

/* step 7: newest kept LSN <= VCL per PG */
static void pg_last(struct rec_state *s, u64 vcl, u64 *out)
{
	u32 pg, slot, i;

	for (pg = 0; pg < s->g->npgs; pg++) {
		u64 best = 0, le = 0;

		for (slot = 0; slot < QBD_PG_NODES; slot++) {
			struct rec_seg *g = seg_of(s, pg, slot);

			if (!g->ok)
				continue;
			if (g->last_le_from > le && !in_trunc(s, g->last_le_from))
				le = g->last_le_from;
			for (i = 0; i < g->n; i++)
				if (g->lsns[i] <= vcl && g->lsns[i] > best &&
				    !in_trunc(s, g->lsns[i]))
					best = g->lsns[i];
		}
		out[pg] = best ? best : le;
	}
}

void qbd_recovery_free(struct qbd_recovery *r)
{
	free(r->pg_last);
	r->pg_last = NULL;
}

int qbd_recover(const struct qbd_cluster *c, const struct qbd_geom *g,
		const struct qbd_recover_opts *o, struct qbd_recovery *out,
		char *err, size_t errlen)
{
	struct qbd_recover_opts opts = o ? *o : (struct qbd_recover_opts){ 0 };
	struct rec_state s;
	u64 vcl = 0;
	u32 i;
	int r;

	memset(out, 0, sizeof(*out));
	if (c->nnodes != QBD_PG_NODES) {
		qbd_set_err(err, errlen, "the cluster has %u nodes, a volume needs %d",
			c->nnodes, QBD_PG_NODES);
		return -EINVAL;
	}
	if (opts.timeout_ms <= 0)
		opts.timeout_ms = 3000;
	if (!opts.min_truncate)
		opts.min_truncate = QBD_WRITE_QUORUM;
	memset(&s, 0, sizeof(s));
	s.c = c;
	s.g = g;
	s.o = &opts;
	s.err = err;
	s.errlen = errlen;
	for (i = 0; i < QBD_PG_NODES; i++)
		s.node[i].fd = -1;
	s.seg = calloc((size_t)g->npgs * QBD_PG_NODES, sizeof(*s.seg));
	out->pg_last = calloc(g->npgs, sizeof(u64));
	if (!s.seg || !out->pg_last) {
		qbd_set_err(err, errlen, "recovery: out of memory");
		r = -ENOMEM;
		goto out;
	}
	s.epoch = probe_epochs(&s) + 1;
	r = connect_recovery(&s);
	if (r)
		goto out;
	r = query_segments(&s);
	if (r)
		goto out;
	r = compute_vcl(&s, &vcl);
	if (r)
		goto out;
	r = truncate_all(&s, vcl);
	if (r)
		goto out;
	rereplicate(&s, vcl, &out->replicated);
	pg_last(&s, vcl, out->pg_last);
	out->epoch = s.epoch;
	out->vcl = vcl;
	out->next_lsn = vcl + QBD_TRUNC_GAP + 1;
	out->npgs = g->npgs;
	for (i = 0; i < QBD_PG_NODES; i++)
		if (s.node[i].fd >= 0)
			out->reachable |= 1U << i;
	qbd_info("recovery: volume %llu epoch %llu: H %llu VCL %llu next LSN %llu, %llu records re-replicated",
		 (unsigned long long)g->volume, (unsigned long long)s.epoch,
		 (unsigned long long)s.hint, (unsigned long long)vcl,
		 (unsigned long long)out->next_lsn,
		 (unsigned long long)out->replicated);
out:
	for (i = 0; i < QBD_PG_NODES; i++)
		if (s.node[i].fd >= 0)
			close(s.node[i].fd);
	if (s.seg)
		for (i = 0; i < g->npgs * QBD_PG_NODES; i++)
			free(s.seg[i].lsns);
	free(s.seg);
	free(s.trunc);
	if (r)
		qbd_recovery_free(out);
	return r;
}
