// SPDX-License-Identifier: GPL-2.0
/*
 * Segments and volumes. A segment is one PG of one volume: a directory
 * data/vol-<id>/pg-<n>/ holding
 *   meta       geometry, peers, coalesced LSN, truncation ranges (text,
 *              replaced atomically: write tmp, fsync, rename, fsync dir)
 *   base.img   sparse block image, state as of the coalesced LSN
 *   log-N.log  append-only log files (log.c)
 * and in memory the index of durable records above the coalesced LSN,
 * sorted by LSN, from which the SCL is computed: starting at the coalesced
 * point, follow records in LSN order while each one's prev_lsn is the
 * chain's current end. A record held above the SCL means a gap.
 *
 * A volume's newest epoch lives in data/vol-<id>/epoch, replaced atomically
 * and fsync'd before any reply that depends on it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "stored.h"

int st_write_file_atomic(int unused, const char *dir, const char *name,
			 const char *text)
{
	char tmp[PATH_MAX], dst[PATH_MAX];
	size_t len = strlen(text);
	int fd, dfd, r;

	st_fmt(tmp, sizeof(tmp), "%s/%s.tmp", dir, name);
	st_fmt(dst, sizeof(dst), "%s/%s", dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	r = st_pwrite_full(fd, text, len, 0);
	if (!r)
		r = st_fsync(fd, false);
	close(fd);
	if (r)
		return r;
	if (rename(tmp, dst))
		return -errno;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	r = st_fsync(dfd, false);
	close(dfd);
	return r;
}

static int read_small_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

static void vol_dir(uint64_t id, char *buf, size_t cap)
{
	st_fmt(buf, cap, "%s/vol-%016" PRIx64, st->data_dir, id);
}

static int mkdir_p(const char *dir)
{
	char parent[PATH_MAX], *slash;
	int dfd, r;

	if (!mkdir(dir, 0755)) {
		st_fmt(parent, sizeof(parent), "%s", dir);
		slash = strrchr(parent, '/');
		if (slash && slash != parent)
			*slash = 0;
		else
			return 0;
		dfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			return -errno;
		r = st_fsync(dfd, false);
		close(dfd);
		return r;
	}
	return errno == EEXIST ? 0 : -errno;
}

/* ---- volumes and epochs ---- */

struct st_volume *st_volume_get(uint64_t id, bool create)
{
	struct st_volume *v;
	uint32_t i;

	for (i = 0; i < st->nvols; i++)
		if (st->vols[i].id == id)
			return &st->vols[i];
	if (!create)
		return NULL;
	v = st_grow(st->vols, sizeof(*v), st->nvols, &st->vcap, 8);
	if (!v)
		return NULL;
	st->vols = v;
	v = &st->vols[st->nvols++];
	v->id = id;
	v->epoch = 0;
	return v;
}

/* record a newer epoch durably; older or equal is a no-op */
int st_volume_set_epoch(struct st_volume *v, uint64_t epoch)
{
	char dir[PATH_MAX], text[64];
	int r;

	if (epoch <= v->epoch)
		return 0;
	vol_dir(v->id, dir, sizeof(dir));
	r = mkdir_p(dir);
	if (r)
		return r;
	snprintf(text, sizeof(text), "epoch=%" PRIu64 "\n", epoch);
	r = st_write_file_atomic(-1, dir, "epoch", text);
	if (r)
		return r;
	st_info("volume %" PRIu64 ": epoch %" PRIu64 " -> %" PRIu64, v->id,
		v->epoch, epoch);
	v->epoch = epoch;
	return 0;
}

/* ---- segment lookup ---- */

struct st_segment *st_seg_find(uint64_t volume, uint32_t pg)
{
	uint32_t i;

	for (i = 0; i < st->nsegs; i++)
		if (st->segs[i]->volume == volume && st->segs[i]->pg == pg)
			return st->segs[i];
	return NULL;
}

uint32_t st_seg_count(uint64_t volume)
{
	uint32_t i, n = 0;

	for (i = 0; i < st->nsegs; i++)
		n += st->segs[i]->volume == volume;
	return n;
}

/* ---- metadata ---- */

int st_seg_write_meta(struct st_segment *s)
{
	size_t cap = 2048 + (size_t)s->ntruncs * 48, n;
	char *t = malloc(cap);
	uint32_t i;
	int r;

	if (!t)
		return -ENOMEM;
	n = snprintf(t, cap,
		     "volume=%" PRIu64 "\npg=%u\npg_blocks=%" PRIu64
		     "\nlba_start=%" PRIu64 "\ncoalesced=%" PRIu64
		     "\nvcl_hint=%" PRIu64 "\nlow_water=%" PRIu64
		     "\npeers=%s\n",
		     s->volume, s->pg, s->pg_blocks, s->lba_start,
		     s->coalesced, s->vcl_hint, s->low_water, s->peers_str);
	for (i = 0; i < s->ntruncs && n < cap; i++)
		n += snprintf(t + n, cap - n, "trunc=%" PRIu64 ":%" PRIu64 "\n",
			      s->truncs[i].start, s->truncs[i].end);
	r = st_write_file_atomic(-1, s->dir, "meta", t);
	free(t);
	return r;
}

static int trunc_add(struct st_segment *s, uint64_t start, uint64_t end)
{
	struct st_trunc *nt;
	uint32_t i;

	for (i = 0; i < s->ntruncs; i++)
		if (s->truncs[i].start == start && s->truncs[i].end == end)
			return 0;
	if (s->ntruncs >= 4096)
		return -ERANGE;
	nt = realloc(s->truncs, (s->ntruncs + 1) * sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	s->truncs = nt;
	s->truncs[s->ntruncs].start = start;
	s->truncs[s->ntruncs].end = end;
	s->ntruncs++;
	return 0;
}

static int parse_meta(struct st_segment *s, char *text)
{
	char *line, *save = NULL;
	int have = 0;

	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		char *val;

		if (!eq)
			continue;
		*eq = 0;
		val = eq + 1;
		if (!strcmp(line, "volume")) {
			s->volume = strtoull(val, NULL, 0);
			have |= 1;
		} else if (!strcmp(line, "pg")) {
			s->pg = strtoul(val, NULL, 0);
			have |= 2;
		} else if (!strcmp(line, "pg_blocks")) {
			s->pg_blocks = strtoull(val, NULL, 0);
			have |= 4;
		} else if (!strcmp(line, "lba_start")) {
			s->lba_start = strtoull(val, NULL, 0);
		} else if (!strcmp(line, "coalesced")) {
			s->coalesced = strtoull(val, NULL, 0);
		} else if (!strcmp(line, "vcl_hint")) {
			s->vcl_hint = strtoull(val, NULL, 0);
		} else if (!strcmp(line, "low_water")) {
			s->low_water = strtoull(val, NULL, 0);
		} else if (!strcmp(line, "peers")) {
			snprintf(s->peers_str, sizeof(s->peers_str), "%s", val);
		} else if (!strcmp(line, "trunc")) {
			char *colon = strchr(val, ':');

			if (colon && trunc_add(s, strtoull(val, NULL, 0),
					       strtoull(colon + 1, NULL, 0)))
				return -ENOMEM;
		}
	}
	return have == 7 ? 0 : -EINVAL;
}

/* ---- creation, loading, dropping ---- */

static struct st_segment *seg_alloc(void)
{
	struct st_segment *s = calloc(1, sizeof(*s));

	if (s)
		s->base_fd = -1;
	return s;
}

static int seg_register(struct st_segment *s)
{
	struct st_segment **ns = st_grow(st->segs, sizeof(*ns), st->nsegs,
					 &st->scap, 16);

	if (!ns)
		return -ENOMEM;
	st->segs = ns;
	st->segs[st->nsegs++] = s;
	return 0;
}

void st_seg_free(struct st_segment *s)
{
	uint32_t i;

	if (!s)
		return;
	for (i = 0; i < s->nfiles; i++)
		if (s->files[i].fd >= 0)
			close(s->files[i].fd);
	for (i = 0; i < s->npend; i++)
		free(s->pend[i].data);
	st_cache_drop_upto(s, UINT64_MAX);
	free(s->cache);
	if (s->base_fd >= 0)
		close(s->base_fd);
	free(s->files);
	free(s->pend);
	free(s->recs);
	free(s->truncs);
	free(s);
}

static int seg_open_base(struct st_segment *s)
{
	char path[PATH_MAX];
	struct stat sb;

	st_fmt(path, sizeof(path), "%s/base.img", s->dir);
	s->base_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (s->base_fd < 0)
		return -errno;
	if (fstat(s->base_fd, &sb))
		return -errno;
	if ((uint64_t)sb.st_size != s->pg_blocks << QBD_BLOCK_SHIFT &&
	    ftruncate(s->base_fd, s->pg_blocks << QBD_BLOCK_SHIFT))
		return -errno;
	return 0;
}

int st_seg_create(uint64_t volume, uint32_t pg, uint64_t pg_blocks,
		  uint64_t lba_start, const char *peers, struct st_segment **out)
{
	char vdir[PATH_MAX];
	struct st_segment *s;
	int r;

	s = seg_alloc();
	if (!s)
		return -ENOMEM;
	s->volume = volume;
	s->pg = pg;
	s->pg_blocks = pg_blocks;
	s->lba_start = lba_start;
	snprintf(s->peers_str, sizeof(s->peers_str), "%s", peers);
	vol_dir(volume, vdir, sizeof(vdir));
	st_fmt(s->dir, sizeof(s->dir), "%s/pg-%u", vdir, pg);
	r = st_peers_parse(s, peers);
	if (!r)
		r = mkdir_p(vdir);
	if (!r)
		r = mkdir_p(s->dir);
	if (!r)
		r = seg_open_base(s);
	if (!r)
		r = st_fsync(s->base_fd, false);
	if (!r)
		r = st_log_open_active(s);
	if (!r)
		r = st_seg_write_meta(s);
	if (!r)
		r = seg_register(s);
	if (r) {
		st_seg_free(s);
		return r;
	}
	*out = s;
	return 0;
}

int st_seg_set_peers(struct st_segment *s, const char *peers)
{
	char old[sizeof(s->peers_str)];
	int r;

	if (!strcmp(peers, s->peers_str))
		return 0;
	memcpy(old, s->peers_str, sizeof(old));
	r = st_peers_parse(s, peers);
	if (r)
		return r;
	snprintf(s->peers_str, sizeof(s->peers_str), "%s", peers);
	r = st_seg_write_meta(s);
	if (r) {
		memcpy(s->peers_str, old, sizeof(old));
		st_peers_parse(s, old);
	}
	return r;
}

static int seg_load(const char *dir)
{
	char path[PATH_MAX], *text;
	struct st_segment *s;
	int r;

	s = seg_alloc();
	text = malloc(1 << 20);
	if (!s || !text) {
		free(text);
		st_seg_free(s);
		return -ENOMEM;
	}
	st_fmt(s->dir, sizeof(s->dir), "%s", dir);
	st_fmt(path, sizeof(path), "%s/meta", dir);
	r = read_small_file(path, text, 1 << 20);
	if (!r)
		r = parse_meta(s, text);
	free(text);
	if (r) {
		st_warn("%s: unreadable segment metadata (%s), skipped", dir,
			strerror(-r));
		st_seg_free(s);
		return 0;
	}
	s->scl = s->coalesced;
	s->max_lsn = s->coalesced;
	r = st_peers_parse(s, s->peers_str);
	if (!r)
		r = seg_open_base(s);
	if (!r)
		r = st_log_scan(s);
	if (!r)
		st_seg_retain_load(s);
	if (!r)
		r = seg_register(s);
	if (r) {
		st_err("%s: cannot load segment: %s", dir, strerror(-r));
		st_seg_free(s);
		return r;
	}
	st_seg_recompute_scl(s, true);
	st_info("loaded volume %" PRIu64 " pg %u: %zu records, scl %" PRIu64
		" max %" PRIu64 " coalesced %" PRIu64 " retained from %" PRIu64,
		s->volume, s->pg, s->nrecs, s->scl, s->max_lsn, s->coalesced,
		s->trim);
	return 0;
}

static int rm_rf_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX];

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		st_fmt(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	return rmdir(dir) ? -errno : 0;
}

/* scan data/vol-* for epochs and segments */
int st_volumes_load(void)
{
	DIR *d = opendir(st->data_dir), *vd;
	struct dirent *e, *pe;
	int r = 0;

	if (!d)
		return -errno;
	while (!r && (e = readdir(d))) {
		char vpath[PATH_MAX], path[PATH_MAX], text[128];
		struct st_volume *v;
		uint64_t id;
		char *end;

		if (strncmp(e->d_name, "vol-", 4))
			continue;
		id = strtoull(e->d_name + 4, &end, 16);
		if (*end)
			continue;
		v = st_volume_get(id, true);
		if (!v) {
			r = -ENOMEM;
			break;
		}
		st_fmt(vpath, sizeof(vpath), "%s/%s", st->data_dir,
			 e->d_name);
		st_fmt(path, sizeof(path), "%s/epoch", vpath);
		if (!read_small_file(path, text, sizeof(text)) &&
		    !strncmp(text, "epoch=", 6))
			v->epoch = strtoull(text + 6, NULL, 10);
		vd = opendir(vpath);
		if (!vd)
			continue;
		while (!r && (pe = readdir(vd))) {
			if (strncmp(pe->d_name, "pg-", 3))
				continue;
			st_fmt(path, sizeof(path), "%s/%s", vpath,
				 pe->d_name);
			if (strchr(pe->d_name, '.')) {
				/* a drop that a crash interrupted */
				rm_rf_dir(path);
				continue;
			}
			r = seg_load(path);
		}
		closedir(vd);
	}
	closedir(d);
	return r;
}

int st_seg_drop(struct st_segment *s)
{
	uint32_t i;
	char tomb[PATH_MAX];

	for (i = 0; i < s->npend; i++)
		if (s->pend[i].c)
			st_send(s->pend[i].c, QBD_MSG_ERROR, s->pend[i].handle,
				s->volume, 0, s->pg, "segment dropped", 16);
	for (i = 0; i < st->nsegs; i++)
		if (st->segs[i] == s) {
			st->segs[i] = st->segs[--st->nsegs];
			break;
		}
	/* rename first so a crash mid-delete never reloads half a segment */
	st_fmt(tomb, sizeof(tomb), "%s.dropped", s->dir);
	if (!rename(s->dir, tomb))
		rm_rf_dir(tomb);
	st_info("dropped volume %" PRIu64 " pg %u", s->volume, s->pg);
	st_seg_free(s);
	return 0;
}

/* ---- the index ---- */

size_t st_seg_first_above(const struct st_segment *s, uint64_t lsn)
{
	size_t lo = 0, hi = s->nrecs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->recs[mid].lsn <= lsn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

ssize_t st_seg_find_rec(const struct st_segment *s, uint64_t lsn)
{
	size_t i = st_seg_first_above(s, lsn);

	if (i > 0 && s->recs[i - 1].lsn == lsn)
		return (ssize_t)(i - 1);
	return -1;
}

bool st_seg_truncated(const struct st_segment *s, uint64_t lsn)
{
	uint32_t i;

	for (i = 0; i < s->ntruncs; i++)
		if (lsn > s->truncs[i].start && lsn <= s->truncs[i].end)
			return true;
	return false;
}

struct st_logfile *st_log_file(struct st_segment *s, uint32_t seq)
{
	uint32_t i;

	for (i = 0; i < s->nfiles; i++)
		if (s->files[i].seq == seq)
			return &s->files[i];
	return NULL;
}

/* insert or replace (a repaired copy replaces a bad one) */
int st_seg_insert(struct st_segment *s, const struct st_rec *r)
{
	size_t i = st_seg_first_above(s, r->lsn);
	struct st_logfile *f;

	if (i > 0 && s->recs[i - 1].lsn == r->lsn) {
		struct st_rec *old = &s->recs[i - 1];

		if (old->bad)
			s->nbad--;
		st_seg_file_unref(s, old->file);
		*old = *r;
	} else {
		if (s->nrecs == s->rcap) {
			size_t cap = s->rcap ? s->rcap * 2 : 256;
			struct st_rec *nr = realloc(s->recs, cap * sizeof(*nr));

			if (!nr)
				return -ENOMEM;
			s->recs = nr;
			s->rcap = cap;
		}
		memmove(&s->recs[i + 1], &s->recs[i],
			(s->nrecs - i) * sizeof(*r));
		s->recs[i] = *r;
		s->nrecs++;
	}
	f = st_log_file(s, r->file);
	if (f)
		f->refs++;
	if (r->lsn > s->max_lsn)
		s->max_lsn = r->lsn;
	return 0;
}

/*
 * The SCL: from the coalesced point (full) or the current SCL, follow the
 * records in LSN order while each one links to the chain's end. A bad
 * (corrupt) record counts as missing.
 */
void st_seg_recompute_scl(struct st_segment *s, bool full)
{
	uint64_t scl = full ? s->coalesced : s->scl;
	size_t i;

	if (scl < s->coalesced)
		scl = s->coalesced;
	for (i = st_seg_first_above(s, scl); i < s->nrecs; i++) {
		struct st_rec *r = &s->recs[i];

		/*
		 * Exact links only: a record whose back-link skips over the
		 * chain's end (e.g. the node still holds records a
		 * truncation it missed should have removed) must not extend
		 * the SCL over them.
		 */
		if (r->bad || r->prev_lsn != scl)
			break;
		scl = r->lsn;
	}
	s->scl = scl;
	s->max_lsn = s->nrecs ? s->recs[s->nrecs - 1].lsn : s->coalesced;
	if (s->max_lsn < s->coalesced)
		s->max_lsn = s->coalesced;
}

void st_seg_mark_bad(struct st_segment *s, struct st_rec *r)
{
	if (r->bad)
		return;
	r->bad = 1;
	if (r->lsn <= s->coalesced) {
		/*
		 * Already in the base image, held for peers only: nothing to
		 * repair, but it (and so everything below it) can no longer
		 * be served; st_seg_trim() drops them.
		 */
		st->cnt.crc_errors++;
		if (r->lsn > s->retained_bad)
			s->retained_bad = r->lsn;
		st_warn("volume %" PRIu64 " pg %u: retained record %" PRIu64
			" failed its CRC in log-%u; no longer served to peers",
			s->volume, s->pg, r->lsn, r->file);
		return;
	}
	s->nbad++;
	st->cnt.crc_errors++;
	st_warn("volume %" PRIu64 " pg %u: record %" PRIu64
		" failed its CRC in log-%u at %" PRIu64 "; repairing from peers",
		s->volume, s->pg, r->lsn, r->file, r->off);
	st_seg_recompute_scl(s, true);
	st_gossip_kick(s);
}

bool st_seg_has_gap(const struct st_segment *s)
{
	return s->max_lsn > s->scl || s->nbad;
}

/*
 * The LSN every peer is known to hold (its SCL): records up to it need not
 * be retained. A peer whose SCL is not known yet (after our restart)
 * retains everything; a peer that does not hold the segment is ignored.
 */
uint64_t st_seg_retain_lsn(const struct st_segment *s)
{
	uint64_t m = UINT64_MAX;
	uint32_t i;

	for (i = 0; i < s->npeers; i++) {
		if (s->peer_state[i] == ST_PEER_ABSENT)
			continue;
		if (s->peer_state[i] == ST_PEER_UNKNOWN)
			return 0;
		if (s->peer_scl[i] < m)
			m = s->peer_scl[i];
	}
	return m;
}

/* drop index entries [0, n): retained (coalesced) records only */
static void drop_head(struct st_segment *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		s->retained_bytes -= s->recs[i].len;
		st_seg_file_unref(s, s->recs[i].file);
	}
	memmove(s->recs, s->recs + n, (s->nrecs - n) * sizeof(*s->recs));
	s->nrecs -= n;
}

/*
 * Drop the coalesced records no peer needs any more: those at or below
 * min(coalesced, every peer's SCL), those below a retained record that
 * went bad, and the oldest beyond the --retain-max-mb cap. Then delete the
 * log files nothing points into.
 */
void st_seg_trim(struct st_segment *s)
{
	size_t ncoal = st_seg_first_above(s, s->coalesced), n, capped = 0;
	uint64_t limit = st_seg_retain_lsn(s), bytes = s->retained_bytes;
	size_t i;

	if (limit > s->coalesced)
		limit = s->coalesced;
	if (s->retained_bad > limit)
		limit = s->retained_bad;
	n = st_seg_first_above(s, limit);
	for (i = 0; i < n; i++)
		bytes -= s->recs[i].len;
	while (n < ncoal && bytes > st->retain_max) {
		bytes -= s->recs[n++].len;
		capped++;
	}
	if (!n)
		return;
	if (capped) {
		st->cnt.retain_capped += capped;
		st_warn("volume %" PRIu64 " pg %u: retention cap reached, "
			"dropped %zu records up to %" PRIu64 "; a peer below "
			"that needs a segment rebuild", s->volume, s->pg,
			capped, s->recs[n - 1].lsn);
	}
	s->trim = n < ncoal ? s->recs[n - 1].lsn : s->coalesced;
	if (s->retained_bad <= s->trim)
		s->retained_bad = 0;
	drop_head(s, n);
	st_log_gc(s);
}

/*
 * After the restart scan loaded every record in the log files (also those
 * at or below the coalesced LSN): keep, of those, the chain that ends at
 * the coalesced LSN (exact back-links down from it), which peers may still
 * fetch; drop the rest.
 */
void st_seg_retain_load(struct st_segment *s)
{
	size_t ncoal = st_seg_first_above(s, s->coalesced), k, i;
	uint64_t trim = s->coalesced;

	for (i = 0; i < ncoal; i++)
		if (s->recs[i].bad)
			s->nbad--;	/* counted by the scan */
	if (ncoal && s->recs[ncoal - 1].lsn == s->coalesced &&
	    !s->recs[ncoal - 1].bad) {
		k = ncoal - 1;
		while (k > 0 && !s->recs[k - 1].bad &&
		       s->recs[k].prev_lsn == s->recs[k - 1].lsn)
			k--;
		trim = s->recs[k].prev_lsn;
		if (k > 0 && s->recs[k - 1].lsn > trim)
			trim = s->recs[k - 1].lsn;
	}
	s->retained_bytes = 0;
	for (i = 0; i < ncoal; i++)
		s->retained_bytes += s->recs[i].len;
	s->retained_bad = 0;
	s->trim = trim;
	drop_head(s, st_seg_first_above(s, trim));
	st_seg_trim(s);		/* the cap */
	st_log_gc(s);
}

void st_seg_file_unref(struct st_segment *s, uint32_t seq)
{
	struct st_logfile *f = st_log_file(s, seq);

	if (f && f->refs)
		f->refs--;
}

int st_seg_truncate(struct st_segment *s, uint64_t start, uint64_t end)
{
	size_t i, j;
	int r;

	if (start < s->coalesced)
		return -ERANGE;
	r = trunc_add(s, start, end);
	if (r)
		return r;
	r = st_seg_write_meta(s);
	if (r) {
		s->ntruncs--;
		return r;
	}
	for (i = j = 0; i < s->nrecs; i++) {
		struct st_rec *rec = &s->recs[i];

		if (rec->lsn > start && rec->lsn <= end) {
			if (rec->bad)
				s->nbad--;
			st_seg_file_unref(s, rec->file);
			continue;
		}
		s->recs[j++] = *rec;
	}
	s->nrecs = j;
	st_seg_recompute_scl(s, true);
	st_log_gc(s);
	st_info("volume %" PRIu64 " pg %u: truncated (%" PRIu64 ", %" PRIu64
		"], scl now %" PRIu64, s->volume, s->pg, start, end, s->scl);
	return 0;
}
