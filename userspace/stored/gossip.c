// SPDX-License-Identifier: GPL-2.0
/*
 * Gossip and repair. Every segment knows its PG's peers (ID@HOST:PORT from
 * SEGMENT_CREATE). A segment has a gap when it holds a record above its SCL
 * (a back-link points at a record it does not have) or a record failed its
 * CRC; then it asks one peer, round robin, for its chain above the SCL with
 * PEER_FETCH. The FETCH_DATA records are verified again and go through the
 * same group commit as the writer's records, without an ack; a non-empty
 * reply is followed at once by the next PEER_FETCH from its last LSN, so a
 * segment far behind streams batches back to back. Besides the gap check
 * on every commit, a timer looks every ST_GOSSIP_MS, and a segment whose
 * newest vcl_hint is above its SCL probes a peer once a second (it may be
 * missing the tail of the chain, which no back-link can show).
 *
 * Every ST_PEER_SCL_MS each segment asks each peer for its SCL (HEARTBEAT
 * on the PEER link). A segment behind a peer fetches; and coalesced
 * records are retained (index entry + log bytes) until every peer's SCL
 * covers them (st_seg_trim), so a peer that was down can still catch up.
 *
 * Links to peers are ordinary non-blocking connections of role PEER owned
 * by this node, one per peer node, shared by all segments.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "stored.h"

static int peer_add(uint32_t id, const char *host, uint16_t port)
{
	uint32_t i;

	for (i = 0; i < st->npeers; i++)
		if (st->peers[i].node_id == id && st->peers[i].port == port &&
		    !strcmp(st->peers[i].host, host))
			return (int)i;
	if (st->npeers == st->pcap) {
		uint32_t cap = st->pcap ? st->pcap * 2 : 16;
		struct st_peer *np = realloc(st->peers, cap * sizeof(*np));
		struct st_conn *c;

		if (!np)
			return -ENOMEM;
		/* links point at their peer: fix them up after the move */
		for (c = st->conns; c; c = c->next)
			if (c->peer)
				c->peer = np + (c->peer - st->peers);
		st->peers = np;
		st->pcap = cap;
	}
	memset(&st->peers[st->npeers], 0, sizeof(st->peers[0]));
	st->peers[st->npeers].node_id = id;
	snprintf(st->peers[st->npeers].host, sizeof(st->peers[0].host), "%s",
		 host);
	st->peers[st->npeers].port = port;
	return (int)st->npeers++;
}

/* "ID@HOST:PORT,ID@HOST:PORT,..."; our own node id is skipped */
int st_peers_parse(struct st_segment *s, const char *peers)
{
	char buf[sizeof(s->peers_str)], *tok, *save = NULL;
	uint32_t idx[QBD_MAX_PEERS], n = 0, i;

	if (strlen(peers) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", peers);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char host[64], *at = strchr(tok, '@'), *colon, *end;
		unsigned long id, port;
		int k;

		if (!at)
			return -EINVAL;
		id = strtoul(tok, &end, 10);
		if (end != at || id > UINT32_MAX)
			return -EINVAL;
		colon = strrchr(at, ':');
		if (!colon || colon - at - 1 <= 0 ||
		    colon - at - 1 >= (long)sizeof(host))
			return -EINVAL;
		memcpy(host, at + 1, colon - at - 1);
		host[colon - at - 1] = 0;
		port = strtoul(colon + 1, &end, 10);
		if (*end || !port || port > 65535)
			return -EINVAL;
		if (id == st->node_id)
			continue;
		if (n == QBD_MAX_PEERS)
			return -E2BIG;
		k = peer_add((uint32_t)id, host, (uint16_t)port);
		if (k < 0)
			return k;
		idx[n++] = (uint32_t)k;
	}
	for (i = 0; i < n; i++) {
		if (i >= s->npeers || s->peer_idx[i] != idx[i]) {
			s->peer_state[i] = ST_PEER_UNKNOWN;
			s->peer_scl[i] = 0;
		}
		s->peer_idx[i] = idx[i];
	}
	s->npeers = n;
	return 0;
}

void st_gossip_send_hello(struct st_conn *c)
{
	struct qbd_hello h;

	memset(&h, 0, sizeof(h));
	h.role = qbd_cpu32(QBD_ROLE_PEER);
	h.node_id = qbd_cpu32(st->node_id);
	if (st->have_secret)
		memcpy(h.auth, st->secret, QBD_AUTH_LEN);
	st_send(c, QBD_MSG_HELLO, 0, 0, 0, 0, &h, sizeof(h));
}

/* our link to a peer, connecting if it is down (not too often) */
static struct st_conn *peer_link(struct st_peer *p, uint64_t now)
{
	if (!p->c) {
		if (st->offline || now < p->next_try_ms)
			return NULL;
		p->next_try_ms = now + 500;
		if (st_net_connect(p))
			return NULL;
	}
	return p->c;
}

/*
 * Round robin over the peers; first pass: only those not known to be at
 * or below `from` (they would have nothing for us).
 */
static int fetch_from(struct st_segment *s, u64 from, u64 to)
{
	uint64_t now = st_now_ms();
	uint32_t tries;

	for (tries = 0; tries < 2 * s->npeers; tries++) {
		uint32_t k = s->gossip_rr++ % s->npeers;
		struct st_peer *p = &st->peers[s->peer_idx[k]];
		struct st_volume *v = st_volume_get(s->volume, false);
		struct qbd_peer_fetch f;

		if (tries < s->npeers &&
		    (s->peer_state[k] == ST_PEER_ABSENT ||
		     (s->peer_state[k] == ST_PEER_KNOWN &&
		      s->peer_scl[k] <= from)))
			continue;
		if (!peer_link(p, now))
			continue;
		memset(&f, 0, sizeof(f));
		f.from_lsn = qbd_cpu64(from);
		f.to_lsn = qbd_cpu64(to);
		f.max_bytes = qbd_cpu32(ST_FETCH_BYTES);
		st_send(p->c, QBD_MSG_PEER_FETCH, ++st->fetch_handle, s->volume,
			v ? v->epoch : 0, s->pg, &f, sizeof(f));
		s->fetch_deadline_ms = now + ST_FETCH_TIMEOUT_MS;
		st_dbg("volume %" PRIu64 " pg %u: fetch (%" PRIu64 ", %" PRIu64
		       "] from node %u", s->volume, s->pg, from, to,
		       p->node_id);
		return 0;
	}
	return -EAGAIN;
}

/* some peer is known to hold more of the chain than we do */
static bool behind_peers(const struct st_segment *s)
{
	uint32_t i;

	for (i = 0; i < s->npeers; i++)
		if (s->peer_state[i] == ST_PEER_KNOWN && s->peer_scl[i] > s->scl)
			return true;
	return false;
}

static void gossip_segment(struct st_segment *s, bool probe)
{
	if (!s->npeers || s->fetch_deadline_ms > st_now_ms())
		return;
	if (st_seg_has_gap(s) || probe || behind_peers(s))
		fetch_from(s, s->scl, 0);
}

/*
 * Ask every peer for its SCL of the segment (HEARTBEAT over the PEER link,
 * handle tagged ST_HB_HANDLE): retention (st_seg_trim) keeps coalesced
 * records until every peer holds them, and a segment behind a peer keeps
 * fetching.
 */
static void query_peer_scls(struct st_segment *s, uint64_t now)
{
	struct st_volume *v = st_volume_get(s->volume, false);
	uint32_t i;

	for (i = 0; i < s->npeers; i++) {
		struct st_conn *c = peer_link(&st->peers[s->peer_idx[i]], now);

		if (c)
			st_send(c, QBD_MSG_HEARTBEAT, ST_HB_HANDLE | i,
				s->volume, v ? v->epoch : 0, s->pg, NULL, 0);
	}
}

static void on_peer_scl(struct st_conn *c, const struct qbd_hdr_info *hi,
			struct st_segment *s, const uint8_t *p)
{
	uint64_t lsn, scl;
	uint32_t i;

	if (!s || !c->peer)
		return;
	for (i = 0; i < s->npeers; i++)
		if (&st->peers[s->peer_idx[i]] == c->peer)
			break;
	if (i == s->npeers)
		return;
	if (hi->type == QBD_MSG_ERROR) {
		if (hi->status == QBD_E_NO_SEGMENT)
			s->peer_state[i] = ST_PEER_ABSENT;
		return;
	}
	if (hi->type != QBD_MSG_HEARTBEAT_OK ||
	    qbd_log_ack_decode(p, hi->payload_len, &lsn, &scl))
		return;
	s->peer_state[i] = ST_PEER_KNOWN;
	s->peer_scl[i] = scl;
	if (scl > s->scl)
		gossip_segment(s, false);
}

void st_gossip_kick(struct st_segment *s)
{
	gossip_segment(s, false);
}

void st_gossip_tick(void)
{
	uint64_t now = st_now_ms();
	uint32_t i;

	for (i = 0; i < st->nsegs; i++) {
		struct st_segment *s = st->segs[i];
		bool probe = false;

		if (s->npeers && now >= s->next_peer_query_ms) {
			query_peer_scls(s, now);
			s->next_peer_query_ms = now + ST_PEER_SCL_MS;
		}
		if (s->vcl_hint > s->scl && now >= s->next_probe_ms) {
			probe = true;
			s->next_probe_ms = now + 1000;
		}
		gossip_segment(s, probe);
	}
}

/* queue the FETCH_DATA records we lack; returns the last LSN in it */
static u64 take_records(struct st_segment *s, const uint8_t *p, u32 len)
{
	u32 off = 0, got = 0;
	u64 last = 0;

	for (;;) {
		const struct qbd_record *rec;
		struct qbd_rec_info ri;
		u32 at = off;
		ssize_t k;
		int r = qbd_fetch_next(p, len, &off, &rec, &ri);

		if (r == QBD_E_RANGE && off == len)
			break;
		if (r) {
			st_warn("volume %" PRIu64 " pg %u: bad FETCH_DATA "
				"entry at %u: %s", s->volume, s->pg, at,
				qbd_status_str(r));
			if (r == QBD_E_CRC)
				st->cnt.crc_errors++;
			last = 0;	/* refetch from the SCL */
			break;
		}
		last = ri.lsn;
		if (ri.pg != s->pg || ri.lsn <= s->coalesced ||
		    st_seg_truncated(s, ri.lsn))
			continue;
		if (ri.kind != QBD_REC_NOOP &&
		    (ri.lba < s->lba_start ||
		     ri.lba + ri.nblocks > s->lba_start + s->pg_blocks))
			continue;
		k = st_seg_find_rec(s, ri.lsn);
		if (k >= 0 && !s->recs[k].bad)
			continue;
		if (k >= 0)
			st->cnt.repairs++;
		if (!st_log_queue(s, NULL, 0, 0, rec, QBD_RECORD_SIZE +
				  ri.data_len, ri.lsn))
			got++;
	}
	if (got)
		st_dbg("volume %" PRIu64 " pg %u: %u records from a peer",
		       s->volume, s->pg, got);
	return last;
}

void st_gossip_on_reply(struct st_conn *c, const struct qbd_hdr_info *hi,
			const uint8_t *p)
{
	struct st_segment *s;

	u64 last;

	if (hi->type == QBD_MSG_HELLO_OK)
		return;
	s = st_seg_find(hi->volume, hi->pg);
	if (hi->handle & ST_HB_HANDLE) {
		on_peer_scl(c, hi, s, p);
		return;
	}
	if (hi->type == QBD_MSG_ERROR && hi->status == QBD_E_RANGE && s) {
		uint64_t now = st_now_ms();

		/* the peer no longer holds what we lack */
		if (now >= s->range_warn_ms) {
			st_warn("volume %" PRIu64 " pg %u: peer %u no longer "
				"holds the records above our scl %" PRIu64
				" (a segment rebuild is needed if no peer "
				"does)", s->volume, s->pg,
				c->peer ? c->peer->node_id : 0, s->scl);
			s->range_warn_ms = now + 10000;
		}
	}
	if (hi->type == QBD_MSG_ERROR) {
		st_dbg("peer %u: ERROR %u on fetch for volume %" PRIu64
		       " pg %u", c->peer ? c->peer->node_id : 0, hi->status,
		       hi->volume, hi->pg);
		if (!hi->volume)	/* HELLO refused */
			c->closing = true;
		if (s)	/* try another peer at the next tick */
			s->fetch_deadline_ms = st_now_ms() + ST_GOSSIP_MS;
		return;
	}
	if (hi->type != QBD_MSG_FETCH_DATA || !s)
		return;
	s->fetch_deadline_ms = 0;
	st->cnt.gossip_fetches++;
	last = take_records(s, p, hi->payload_len);
	/*
	 * Keep the pipe full while there is more: ask for the next batch now,
	 * while this one is being committed. An empty reply ends the run.
	 */
	if (last && last > s->scl)
		fetch_from(s, last, 0);
}

void st_gossip_conn_closed(struct st_conn *c)
{
	uint32_t i;

	if (c->peer && c->peer->c == c)
		c->peer->c = NULL;
	for (i = 0; i < st->nsegs; i++)
		st->segs[i]->fetch_deadline_ms = 0;
}
