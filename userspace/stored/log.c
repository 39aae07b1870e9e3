// SPDX-License-Identifier: GPL-2.0
/*
 * The segment log: append-only files log-<seq>.log, each a sequence of
 * frames { struct st_frame, wire record (struct qbd_record + data) }. The
 * record bytes are exactly what the writer sent, rec_crc included, so a
 * record stays checksummed from the writer to the disk and back. The frame
 * has its own CRC so a corrupt record can be skipped without losing the
 * framing of the records after it.
 *
 * Group commit: LOG_WRITEs received in one loop iteration are queued on
 * their segment; st_log_commit_all() appends each segment's batch with one
 * pwrite and one fdatasync, then inserts the records into the index,
 * advances the SCL and only then sends the LOG_ACKs. The committed bytes
 * stay in the record cache until coalesced (coalesce.c reads them there).
 *
 * Restart: st_log_scan() reads every file, verifies every frame and record,
 * cuts a torn tail off the last file and rebuilds the index.
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

static void log_path(const struct st_segment *s, uint32_t seq, char *buf,
		     size_t cap)
{
	st_fmt(buf, cap, "%s/log-%08u.log", s->dir, seq);
}

static void frame_fill(struct st_frame *f, uint32_t len, uint64_t lsn)
{
	f->magic = qbd_cpu32(ST_FRAME_MAGIC);
	f->len = qbd_cpu32(len);
	f->lsn = qbd_cpu64(lsn);
	f->rsvd = 0;
	f->fcrc = qbd_cpu32(qbd_crc32c(f, 20));
}

static bool frame_ok(const struct st_frame *f, uint64_t off, uint64_t size)
{
	uint32_t len = qbd_le32(f->len);

	if (qbd_le32(f->magic) != ST_FRAME_MAGIC ||
	    qbd_crc32c(f, 20) != qbd_le32(f->fcrc))
		return false;
	if (len < QBD_RECORD_SIZE ||
	    len > QBD_RECORD_SIZE + (QBD_MAX_IO_BLOCKS << QBD_BLOCK_SHIFT))
		return false;
	return off + ST_FRAME_SIZE + len <= size;
}

static int dir_fsync(const char *dir)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (dfd < 0)
		return -errno;
	r = st_fsync(dfd, false);
	close(dfd);
	return r;
}

/* start a new log file (the next sequence number) and make it active */
int st_log_open_active(struct st_segment *s)
{
	uint32_t seq = s->nfiles ? s->files[s->nfiles - 1].seq + 1 : 1;
	struct st_logfile *nf;
	char path[PATH_MAX];
	int fd, r;

	nf = st_grow(s->files, sizeof(*nf), s->nfiles, &s->fcap, 8);
	if (!nf)
		return -ENOMEM;
	s->files = nf;
	log_path(s, seq, path, sizeof(path));
	/* never reuse a name: an old file there would be data, not ours */
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	r = dir_fsync(s->dir);
	if (r) {
		close(fd);
		unlink(path);
		return r;
	}
	s->files[s->nfiles].seq = seq;
	s->files[s->nfiles].fd = fd;
	s->files[s->nfiles].size = 0;
	s->files[s->nfiles].refs = 0;
	s->nfiles++;
	/* a rotation may leave the previous active file unreferenced */
	st_log_gc(s);
	return 0;
}

/* delete every non-active log file no index entry points into */
void st_log_gc(struct st_segment *s)
{
	uint32_t i = 0;
	bool removed = false;

	while (s->nfiles > 1 && i < s->nfiles - 1) {
		struct st_logfile *f = &s->files[i];
		char path[PATH_MAX];

		if (f->refs) {
			i++;
			continue;
		}
		log_path(s, f->seq, path, sizeof(path));
		close(f->fd);
		unlink(path);
		st_dbg("%s: deleted log-%08u", s->dir, f->seq);
		st->cnt.log_files_deleted++;
		memmove(f, f + 1, (s->nfiles - i - 1) * sizeof(*f));
		s->nfiles--;
		removed = true;
	}
	if (removed)
		dir_fsync(s->dir);
}

int st_log_queue(struct st_segment *s, struct st_conn *c, u64 handle,
		 u64 epoch, const void *rec, u32 len, u64 lsn)
{
	struct st_pending *p;
	uint8_t *d;

	p = st_grow(s->pend, sizeof(*p), s->npend, &s->pcap, 64);
	if (!p)
		return -ENOMEM;
	s->pend = p;
	d = malloc(ST_FRAME_SIZE + len);
	if (!d)
		return -ENOMEM;
	frame_fill((struct st_frame *)d, len, lsn);
	memcpy(d + ST_FRAME_SIZE, rec, len);
	p = &s->pend[s->npend++];
	p->c = c;
	p->handle = handle;
	p->epoch = epoch;
	p->lsn = lsn;
	p->data = d;
	p->len = ST_FRAME_SIZE + len;
	st->commit_needed = true;
	return 0;
}

static void ack(struct st_segment *s, struct st_pending *p, u32 status)
{
	struct qbd_log_ack a;
	struct st_volume *v;

	if (!p->c || p->c->dead)
		return;
	if (status) {
		struct qbd_hdr_info req = { .handle = p->handle,
					    .volume = s->volume,
					    .epoch = p->epoch, .pg = s->pg };

		st_reply_err(p->c, &req, status, "%s (lsn %" PRIu64 ")",
			     qbd_status_str(status), p->lsn);
		return;
	}
	v = st_volume_get(s->volume, false);
	a.lsn = qbd_cpu64(p->lsn);
	a.scl = qbd_cpu64(s->scl);
	st_send(p->c, QBD_MSG_LOG_ACK, p->handle, s->volume,
		v ? v->epoch : p->epoch, s->pg, &a, sizeof(a));
}

/* ---- record cache (see struct st_cent) ---- */

static size_t cache_first_above(const struct st_segment *s, uint64_t lsn)
{
	size_t lo = 0, hi = s->ncache;

	if (hi && s->cache[hi - 1].lsn <= lsn)
		return hi;	/* the common case: appending */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->cache[mid].lsn <= lsn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* take ownership of data (frame + record) if the budget allows */
static bool cache_put(struct st_segment *s, const struct st_rec *r,
		      uint8_t *data, uint32_t len)
{
	size_t i;
	struct st_cent *e;

	if (r->lsn <= s->coalesced || st->cache_bytes + len > st->cache_max)
		return false;
	i = cache_first_above(s, r->lsn);
	if (i > 0 && s->cache[i - 1].lsn == r->lsn) {
		e = &s->cache[i - 1];
		st->cache_bytes -= e->len;
		free(e->data);
	} else {
		if (s->ncache == s->ccap) {
			size_t cap = s->ccap ? s->ccap * 2 : 256;
			struct st_cent *nc = realloc(s->cache,
						     cap * sizeof(*nc));

			if (!nc)
				return false;
			s->cache = nc;
			s->ccap = cap;
		}
		memmove(&s->cache[i + 1], &s->cache[i],
			(s->ncache - i) * sizeof(*e));
		s->ncache++;
		e = &s->cache[i];
	}
	e->lsn = r->lsn;
	e->off = r->off;
	e->file = r->file;
	e->len = len;
	e->data = data;
	st->cache_bytes += len;
	return true;
}

/* the record bytes (struct qbd_record + data) of r if cached, else NULL */
const uint8_t *st_cache_get(const struct st_segment *s, const struct st_rec *r)
{
	size_t i = cache_first_above(s, r->lsn);
	const struct st_cent *e;

	if (!i)
		return NULL;
	e = &s->cache[i - 1];
	if (e->lsn != r->lsn || e->file != r->file || e->off != r->off ||
	    e->len != r->len + ST_FRAME_SIZE)
		return NULL;
	return e->data + ST_FRAME_SIZE;
}

/* forget the cached records with lsn <= lsn (coalesced, or all) */
void st_cache_drop_upto(struct st_segment *s, uint64_t lsn)
{
	size_t n = lsn == UINT64_MAX ? s->ncache : cache_first_above(s, lsn);
	size_t i;

	for (i = 0; i < n; i++) {
		st->cache_bytes -= s->cache[i].len;
		free(s->cache[i].data);
	}
	if (n && n < s->ncache)
		memmove(s->cache, s->cache + n,
			(s->ncache - n) * sizeof(*s->cache));
	s->ncache -= n;
}

struct seg_batch {
	struct st_segment *s;
	uint8_t *buf;
	uint64_t len, off;
	uint8_t *status;	/* per pending: 0xff = write, else status */
	struct st_io *io;	/* 2 ios: write, fdatasync */
};

/* decide per pending record: write it, ack it as a duplicate, or refuse */
static int batch_build(struct seg_batch *b)
{
	struct st_segment *s = b->s;
	struct st_volume *v = st_volume_get(s->volume, false);
	uint64_t total = 0, pos = 0;
	uint32_t i;

	b->status = malloc(s->npend);
	if (!b->status)
		return -ENOMEM;
	for (i = 0; i < s->npend; i++) {
		struct st_pending *p = &s->pend[i];
		ssize_t k;

		b->status[i] = 0xff;
		if (st_seg_truncated(s, p->lsn)) {
			b->status[i] = QBD_E_TRUNCATED;
		} else if (p->c && v && p->epoch < v->epoch) {
			b->status[i] = QBD_E_STALE_EPOCH;
		} else if (p->lsn <= s->coalesced) {
			b->status[i] = QBD_OK;
		} else {
			k = st_seg_find_rec(s, p->lsn);
			if (k >= 0 && !s->recs[k].bad)
				b->status[i] = QBD_OK;
		}
		if (b->status[i] == 0xff)
			total += p->len;
	}
	b->len = total;
	if (!total)
		return 0;
	b->buf = malloc(total);
	if (!b->buf)
		return -ENOMEM;
	for (i = 0; i < s->npend; i++)
		if (b->status[i] == 0xff) {
			memcpy(b->buf + pos, s->pend[i].data, s->pend[i].len);
			pos += s->pend[i].len;
		}
	return 0;
}

static void batch_done(struct seg_batch *b, bool ok)
{
	struct st_segment *s = b->s;
	struct st_logfile *f = &s->files[s->nfiles - 1];
	uint64_t pos = b->off;
	uint32_t i;

	if (b->len && !ok) {
		st_err("%s: log append failed: %s", s->dir,
		       strerror(-(b->io[0].res < 0 ? b->io[0].res :
				  b->io[1].res)));
		if (ftruncate(f->fd, f->size))
			st_err("%s: cannot cut failed append", s->dir);
	}
	for (i = 0; ok && b->len && i < s->npend; i++) {
		struct st_pending *p = &s->pend[i];
		struct qbd_rec_info ri;
		struct st_rec r;

		if (b->status[i] != 0xff)
			continue;
		qbd_record_decode(p->data + ST_FRAME_SIZE, QBD_RECORD_SIZE, &ri);
		memset(&r, 0, sizeof(r));
		r.lsn = ri.lsn;
		r.prev_lsn = ri.prev_lsn;
		r.lba = ri.lba;
		r.vcl_hint = ri.vcl_hint;
		r.nblocks = ri.nblocks;
		r.kind = ri.kind;
		r.flags = ri.flags;
		r.len = p->len - ST_FRAME_SIZE;
		r.off = pos + ST_FRAME_SIZE;
		r.file = f->seq;
		pos += p->len;
		if (st_seg_insert(s, &r)) {
			b->status[i] = QBD_E_NOMEM;
			continue;
		}
		if (ri.vcl_hint > s->vcl_hint)
			s->vcl_hint = ri.vcl_hint;
		if (ri.low_water > s->low_water)
			s->low_water = ri.low_water;
		if (p->c)
			st->cnt.records++;
		else
			st->cnt.gossip_records++;
		st->cnt.bytes += r.len;
		b->status[i] = QBD_OK;
		if (cache_put(s, &r, p->data, p->len))
			p->data = NULL;	/* owned by the cache now */
	}
	if (b->len && ok) {
		st->last_write_ms = st_now_ms();
		f->size += b->len;
		st->cnt.fsyncs++;
		st_seg_recompute_scl(s, s->nbad != 0);
	}
	for (i = 0; i < s->npend; i++) {
		struct st_pending *p = &s->pend[i];
		u32 status = b->status[i] == 0xff ? QBD_E_IO : b->status[i];

		ack(s, p, status);
		free(p->data);
	}
	s->npend = 0;
	if (st_seg_has_gap(s))
		st_gossip_kick(s);
}

/*
 * Append every segment's batch with a plain pwrite (page cache: no wait),
 * then make them durable: one fdatasync syscall when one file is
 * involved (the usual case; io_uring would punt it to a worker thread),
 * the fdatasyncs of several files in parallel through io_uring otherwise.
 */
void st_log_commit_all(void)
{
	struct seg_batch *b;
	struct st_io *ios;
	uint32_t i, nb = 0, nio = 0;

	if (!st->commit_needed)
		return;
	st->commit_needed = false;
	b = calloc(st->nsegs ? st->nsegs : 1, sizeof(*b));
	ios = calloc(st->nsegs ? 2 * st->nsegs : 1, sizeof(*ios));
	if (!b || !ios) {
		free(b);
		free(ios);
		st->commit_needed = true;	/* try again next iteration */
		return;
	}
	for (i = 0; i < st->nsegs; i++) {
		struct st_segment *s = st->segs[i];
		struct seg_batch *sb;
		struct st_logfile *f;
		int r;

		if (!s->npend)
			continue;
		sb = &b[nb++];
		sb->s = s;
		if (batch_build(sb)) {
			sb->len = 0;
			if (sb->status)
				memset(sb->status, QBD_E_NOMEM, s->npend);
			continue;
		}
		if (!sb->len)
			continue;
		f = &s->files[s->nfiles - 1];
		if (f->size && f->size + sb->len > st->log_file_max &&
		    !st_log_open_active(s))
			f = &s->files[s->nfiles - 1];
		sb->off = f->size;
		sb->io = &ios[nio];
		r = st_pwrite_full(f->fd, sb->buf, sb->len, f->size);
		ios[nio++] = (struct st_io){ .op = ST_OP_WRITE, .fd = f->fd,
			.res = r ? r : (int)sb->len };
		ios[nio++] = (struct st_io){ .op = ST_OP_FDATASYNC,
			.fd = f->fd, .res = r ? -ECANCELED : 1 };
	}
	if (nio == 2) {
		if (ios[1].res == 1)
			ios[1].res = st_fsync(ios[1].fd, true);
	} else if (nio) {
		struct st_io *sy = calloc(nio / 2, sizeof(*sy));
		uint32_t k = 0;

		for (i = 1; sy && i < nio; i += 2)
			if (ios[i].res == 1)
				sy[k++] = ios[i];
		if (!sy || (k && st_uring_run(sy, k) < 0)) {
			for (i = 1; i < nio; i += 2)
				if (ios[i].res == 1)
					ios[i].res = -EIO;
		} else {
			for (i = 1, k = 0; i < nio; i += 2)
				if (ios[i].res == 1)
					ios[i].res = sy[k++].res;
		}
		free(sy);
	}
	for (i = 0; i < nb; i++) {
		struct seg_batch *sb = &b[i];
		bool ok = true;

		if (sb->len)
			ok = sb->io[0].res == (int)sb->len && sb->io[1].res == 0;
		if (sb->status)
			batch_done(sb, ok);
		free(sb->buf);
		free(sb->status);
	}
	free(b);
	free(ios);
}

/* read one record from its log file and verify it: QBD_OK or QBD_E_CRC */
int st_log_read_rec(struct st_segment *s, struct st_rec *r, uint8_t *buf)
{
	struct st_logfile *f = st_log_file(s, r->file);
	struct qbd_rec_info ri;
	int st_;

	if (!f)
		return QBD_E_IO;
	if (st_pread_full(f->fd, buf, r->len, r->off))
		return QBD_E_CRC;	/* short file: the record is gone */
	st_ = qbd_record_decode(buf, r->len, &ri);
	if (st_ || ri.lsn != r->lsn || ri.pg != s->pg)
		return QBD_E_CRC;
	return QBD_OK;
}

/* ---- restart scan ---- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool rec_fits(const struct st_segment *s, const struct qbd_rec_info *ri)
{
	if (ri->pg != s->pg)
		return false;
	if (ri->kind == QBD_REC_NOOP)
		return true;
	return ri->lba >= s->lba_start &&
	       ri->lba + ri->nblocks <= s->lba_start + s->pg_blocks;
}

/* one frame whose framing is sound: index it (good or bad) or skip it */
static void scan_record(struct st_segment *s, struct st_logfile *f,
			const uint8_t *d, uint64_t off, uint32_t len,
			uint64_t frame_lsn, bool *bad_out)
{
	struct qbd_rec_info ri;
	struct st_rec r;
	ssize_t k;
	int rc = qbd_record_decode(d, len, &ri);

	*bad_out = rc || ri.lsn != frame_lsn || !rec_fits(s, &ri);
	/* coalesced ones too: st_seg_retain_load() keeps what peers need */
	if (st_seg_truncated(s, frame_lsn))
		return;
	k = st_seg_find_rec(s, frame_lsn);
	if (k >= 0 && (!s->recs[k].bad || *bad_out))
		return;	/* a good copy is already held */
	memset(&r, 0, sizeof(r));
	r.lsn = frame_lsn;
	r.file = f->seq;
	r.off = off;
	r.len = len;
	if (*bad_out) {
		r.bad = 1;
		s->nbad++;
		st->cnt.crc_errors++;
		st_warn("%s: log-%08u offset %" PRIu64 ": record %" PRIu64
			" fails its CRC; will repair from peers", s->dir,
			f->seq, off, frame_lsn);
	} else {
		r.prev_lsn = ri.prev_lsn;
		r.lba = ri.lba;
		r.vcl_hint = ri.vcl_hint;
		r.nblocks = ri.nblocks;
		r.kind = ri.kind;
		r.flags = ri.flags;
		if (ri.vcl_hint > s->vcl_hint)
			s->vcl_hint = ri.vcl_hint;
		if (ri.low_water > s->low_water)
			s->low_water = ri.low_water;
	}
	st_seg_insert(s, &r);
}

static int scan_file(struct st_segment *s, struct st_logfile *f, bool last)
{
	struct stat sb;
	uint8_t *d;
	uint64_t off = 0, size;
	int r;

	if (fstat(f->fd, &sb))
		return -errno;
	size = sb.st_size;
	d = malloc(size ? size : 1);
	if (!d)
		return -ENOMEM;
	r = size ? st_pread_full(f->fd, d, size, 0) : 0;
	if (r) {
		free(d);
		return r;
	}
	while (off + ST_FRAME_SIZE <= size) {
		const struct st_frame *fr = (const void *)(d + off);
		uint64_t next;
		bool bad;

		if (frame_ok(fr, off, size)) {
			uint32_t len = qbd_le32(fr->len);

			next = off + ST_FRAME_SIZE + len;
			scan_record(s, f, d + off + ST_FRAME_SIZE,
				    off + ST_FRAME_SIZE, len,
				    qbd_le64(fr->lsn), &bad);
			if (bad && last && next == size) {
				/* torn final record: cut it */
				ssize_t k = st_seg_find_rec(s, qbd_le64(fr->lsn));

				if (k >= 0 && s->recs[k].bad &&
				    s->recs[k].file == f->seq &&
				    s->recs[k].off == off + ST_FRAME_SIZE) {
					st_seg_file_unref(s, f->seq);
					memmove(&s->recs[k], &s->recs[k + 1],
						(s->nrecs - k - 1) *
						sizeof(s->recs[0]));
					s->nrecs--;
					s->nbad--;
				}
				break;
			}
			off = next;
			continue;
		}
		/* framing lost: look for the next sound frame */
		for (next = off + 8; next + ST_FRAME_SIZE <= size; next += 8)
			if (frame_ok((const void *)(d + next), next, size))
				break;
		if (next + ST_FRAME_SIZE > size)
			break;	/* nothing sound follows: a torn tail */
		st_warn("%s: log-%08u: damaged frame at %" PRIu64
			", skipped to %" PRIu64, s->dir, f->seq, off, next);
		st->cnt.crc_errors++;
		off = next;
	}
	free(d);
	f->size = size;
	if (off < size) {
		if (last) {
			st_warn("%s: log-%08u: cutting torn tail at %" PRIu64
				" (%" PRIu64 " bytes)", s->dir, f->seq, off,
				size - off);
			if (ftruncate(f->fd, off))
				return -errno;
			r = st_fsync(f->fd, false);
			if (r)
				return r;
			f->size = off;
		} else {
			st_warn("%s: log-%08u: unreadable tail at %" PRIu64,
				s->dir, f->seq, off);
		}
	}
	return 0;
}

int st_log_scan(struct st_segment *s)
{
	DIR *d = opendir(s->dir);
	struct dirent *e;
	uint32_t *seqs = NULL, n = 0, cap = 0, i;
	int r = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		unsigned int seq;
		char tail;

		if (sscanf(e->d_name, "log-%u.lo%c", &seq, &tail) != 2 ||
		    tail != 'g' || strlen(e->d_name) != 16)
			continue;
		if (n == cap) {
			uint32_t *ns;

			cap = cap ? cap * 2 : 16;
			ns = realloc(seqs, cap * sizeof(*ns));
			if (!ns) {
				r = -ENOMEM;
				break;
			}
			seqs = ns;
		}
		seqs[n++] = seq;
	}
	closedir(d);
	if (r)
		goto out;
	qsort(seqs, n, sizeof(*seqs), cmp_u32);
	s->files = calloc(n + 8, sizeof(*s->files));
	if (!s->files) {
		r = -ENOMEM;
		goto out;
	}
	s->fcap = n + 8;
	for (i = 0; i < n && !r; i++) {
		char path[PATH_MAX];
		struct st_logfile *f = &s->files[s->nfiles];

		log_path(s, seqs[i], path, sizeof(path));
		f->fd = open(path, O_RDWR | O_CLOEXEC);
		if (f->fd < 0) {
			r = -errno;
			break;
		}
		f->seq = seqs[i];
		f->refs = 0;
		s->nfiles++;
		r = scan_file(s, f, i == n - 1);
	}
	if (!r && !s->nfiles)
		r = st_log_open_active(s);
	if (!r)
		st_log_gc(s);
out:
	free(seqs);
	return r;
}
