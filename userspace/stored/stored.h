/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qbd-stored: the storage node. One process, one single-threaded event loop
 * (epoll for sockets, io_uring for disk), serving segments of many volumes.
 * A segment is one protection group (PG) of one volume: an append-only log of
 * redo records plus a sparse base image the log is coalesced into.
 *
 * Files, one concern each:
 *   main.c     command line, signals, the event loop and its timers
 *   node.c     the global node state, clock and path helpers
 *   net.c      listening socket, connections, framing, buffered output
 *   handler.c  per-message dispatch (callable without sockets: fuzzing)
 *   segment.c  segments, the LSN index, SCL, truncation, metadata, epochs
 *   log.c      log files: group commit, record reads, restart scan
 *   uring.c    disk I/O helpers: plain syscalls, io_uring for parallel batches
 *   read.c     READ as of an LSN (materialise blocks), PEER_FETCH, SCL_QUERY
 *   gossip.c   peer links, gap detection, fetch and repair
 *   coalesce.c background coalescing into the base image, log GC, scrub
 *   admin.c    ADMIN ops: STATUS (JSON), SEGMENT_CREATE/DROP, FAULT, SCRUB
 *
 * Data path: receive LOG_WRITE (net.c) -> validate, queue on the segment
 * (handler.c) -> at the end of the loop iteration append every queued record
 * and fdatasync once per segment (log.c) -> insert into the index, advance
 * the SCL (segment.c) -> LOG_ACK.
 */
#ifndef QBD_STORED_H
#define QBD_STORED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <sys/types.h>
#include "qbd_codec.h"
#include "log.h"

#define ST_READ_CHUNK		(256 * 1024)
#define ST_WBUF_PAUSE		(8u << 20)	/* stop reading a conn above */
#define ST_GOSSIP_MS		200
#define ST_COALESCE_MS		100
#define ST_SCRUB_MS		2000
#define ST_FETCH_TIMEOUT_MS	2000
#define ST_FETCH_BYTES		QBD_MAX_PAYLOAD
#define ST_DEFAULT_LOG_FILE	(64ull << 20)
#define ST_PEER_SCL_MS		500	/* ask every peer for its SCL */
#define ST_DEFAULT_RETAIN	(1024ull << 20)	/* --retain-max-mb */
#define ST_CACHE_MAX		(8ull << 20)	/* record cache per node */
#define ST_HB_HANDLE		(1ull << 63)	/* our peer-SCL HEARTBEATs */

/* what a segment knows of one peer's copy (peer_state[]) */
enum { ST_PEER_UNKNOWN = 0, ST_PEER_KNOWN, ST_PEER_ABSENT };

/* one log frame: a small self-checking header in front of the wire record */
#define ST_FRAME_MAGIC		0x474c4251U	/* "QBLG" */
struct st_frame {
	uint32_t magic;
	uint32_t len;		/* record struct + data */
	uint64_t lsn;
	uint32_t rsvd;
	uint32_t fcrc;		/* crc32c of the 20 bytes above */
};
#define ST_FRAME_SIZE		24

struct st_buf {
	uint8_t *p;
	size_t len, cap;
};

int st_buf_reserve(struct st_buf *b, size_t extra);
/*
 * Room for one more element in a growable array of *cap elements that holds
 * n: doubles the capacity (the first allocation holds first). Returns the
 * array, moved or not, or NULL (the old array untouched) when out of memory.
 */
void *st_grow(void *arr, size_t elem, uint32_t n, uint32_t *cap,
	      uint32_t first);
int st_buf_put(struct st_buf *b, const void *p, size_t n);
void st_buf_free(struct st_buf *b);

struct st_peer;

struct st_conn {
	int fd;				/* -1 for a socketless (fuzz) conn */
	uint32_t id;
	uint32_t role;			/* 0 until HELLO */
	uint64_t volume;
	bool outgoing;			/* our link to a peer */
	bool connecting;
	bool closing;			/* close once output is flushed */
	bool dead;			/* closed; freed at end of iteration */
	bool paused;			/* input paused: output backlog */
	bool want_out;
	uint8_t *rbuf;
	size_t rlen, rcap;
	struct st_buf w;
	size_t woff;
	struct st_peer *peer;
	uint64_t last_rx_ms;
	struct st_conn *next;
};

/* one durable record in the index */
struct st_rec {
	uint64_t lsn, prev_lsn, lba, vcl_hint, off;
	uint32_t nblocks, len;		/* len: record struct + data */
	uint32_t file;			/* log file sequence number */
	uint16_t kind, flags;
	uint8_t bad;			/* failed its CRC: treated as missing */
};

struct st_logfile {
	uint32_t seq;
	int fd;
	uint64_t size;
	uint32_t refs;			/* index entries pointing here */
};

/* a record waiting for the group commit at the end of the iteration */
struct st_pending {
	struct st_conn *c;		/* NULL: from a peer, no ack */
	uint64_t handle, epoch;
	uint64_t lsn;
	uint8_t *data;			/* frame + record + data */
	uint32_t len;
};

struct st_trunc {
	uint64_t start, end;		/* (start, end] */
};

/*
 * A committed record's bytes kept in memory until it is coalesced, so the
 * coalescer need not read back what was just written. Valid only for the
 * index entry with the same lsn, file and off (a record replaced since,
 * e.g. repaired from a peer, gets its own entry).
 */
struct st_cent {
	uint64_t lsn, off;
	uint32_t file, len;		/* len: frame + record + data */
	uint8_t *data;			/* frame + record + data */
};

struct st_segment {
	uint64_t volume;
	uint32_t pg;
	uint64_t pg_blocks, lba_start;
	char peers_str[1024];
	uint32_t peer_idx[QBD_MAX_PEERS];	/* into node->peers */
	uint32_t npeers;
	char dir[PATH_MAX / 2];
	int base_fd;

	/*
	 * recs: ascending LSN, all > trim. Those <= coalesced are already in
	 * the base image and are kept only so peers can still fetch them
	 * (retained until every peer's SCL covers them, or the cap); every
	 * record of the PG with trim < lsn <= coalesced is held.
	 */
	struct st_rec *recs;
	size_t nrecs, rcap;
	uint64_t scl, max_lsn, vcl_hint, low_water, coalesced;
	uint64_t trim;
	uint64_t retained_bytes;	/* len of the records <= coalesced */
	uint64_t retained_bad;		/* newest retained record gone bad */
	uint32_t nbad;			/* bad records above coalesced */

	struct st_trunc *truncs;
	uint32_t ntruncs;

	struct st_logfile *files;	/* ascending seq; last = active */
	uint32_t nfiles, fcap;

	struct st_pending *pend;
	uint32_t npend, pcap;

	struct st_cent *cache;		/* ascending lsn, all > coalesced */
	size_t ncache, ccap;

	/* gossip */
	uint64_t fetch_deadline_ms;	/* fetch in flight until then */
	uint32_t gossip_rr;
	uint64_t next_probe_ms;
	uint64_t next_peer_query_ms;
	uint64_t peer_scl[QBD_MAX_PEERS];	/* last known, per peer_idx */
	uint8_t peer_state[QBD_MAX_PEERS];	/* ST_PEER_* */
	uint64_t range_warn_ms;
	/* coalescing / scrub */
	uint64_t next_coalesce_ms;
	uint64_t scrub_lsn;
	bool dropped;
};

struct st_volume {
	uint64_t id;
	uint64_t epoch;
};

struct st_peer {
	uint32_t node_id;
	char host[64];
	uint16_t port;
	struct st_conn *c;
	uint64_t next_try_ms;
};

struct st_counters {
	uint64_t records, bytes, fsyncs, reads, read_bytes;
	uint64_t gossip_fetches, gossip_records, crc_errors, repairs;
	uint64_t coalesced_records, scrubbed, bad_msgs, stale_epoch;
	uint64_t log_files_deleted, conns;
	uint64_t retain_capped;		/* records dropped by the cap */
	uint64_t cache_hits;		/* records coalesced from memory */
};

struct st_fault {
	uint32_t delay_us;
	bool refuse_writes;
	bool corrupt_reads;
};

struct st_node {
	uint32_t node_id;
	char az[64];
	uint32_t az_num;
	char data_dir[PATH_MAX / 2];
	uint8_t secret[QBD_AUTH_LEN];
	bool have_secret;
	uint64_t log_file_max;
	uint64_t retain_max;		/* retained bytes per segment */
	uint64_t cache_bytes, cache_max;	/* st_cent data, whole node */

	int lfd, epfd, sfd;
	uint16_t port;
	struct st_conn *conns;
	uint32_t next_conn_id;

	struct st_segment **segs;
	uint32_t nsegs, scap;
	struct st_volume *vols;
	uint32_t nvols, vcap;
	struct st_peer *peers;
	uint32_t npeers, pcap;

	struct st_counters cnt;
	struct st_fault fault;
	uint64_t fetch_handle;
	bool stop;
	bool commit_needed;
	uint64_t last_write_ms;		/* last group commit that wrote */
	uint64_t last_scrub_ms;
	bool offline;			/* never connect to peers (fuzzing) */
};

extern struct st_node *st;

/* main.c */
uint64_t st_now_ms(void);
/* snprintf for paths: -ENAMETOOLONG instead of a silent cut */
int st_fmt(char *buf, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* uring.c */
int st_uring_init(unsigned int entries);
void st_uring_exit(void);
enum { ST_OP_READ = 1, ST_OP_WRITE, ST_OP_FSYNC, ST_OP_FDATASYNC };
struct st_io {
	int op, fd;
	void *buf;
	uint32_t len;
	uint64_t off;
	bool link;			/* next op runs only if this one succeeds */
	int res;
};
int st_uring_run(struct st_io *ios, unsigned int n);
int st_pread_full(int fd, void *buf, size_t len, uint64_t off);
int st_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);
int st_fsync(int fd, bool datasync);

/* net.c */
int st_net_listen(const char *host, uint16_t port);
struct st_conn *st_conn_new(int fd);
void st_conn_close(struct st_conn *c);
void st_conn_feed(struct st_conn *c);	/* parse rbuf, dispatch messages */
void st_net_event(struct st_conn *c, uint32_t events);
void st_net_accept(void);
void st_net_flush_all(void);
void st_net_reap(void);
void st_net_drop_all(struct st_conn *except);
int st_net_connect(struct st_peer *p);
void st_reply(struct st_conn *c, const struct qbd_hdr_info *req, u16 type,
	      u32 status, const void *p1, u32 l1, const void *p2, u32 l2);
void st_reply_err(struct st_conn *c, const struct qbd_hdr_info *req,
		  u32 status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void st_send(struct st_conn *c, u16 type, u64 handle, u64 volume, u64 epoch,
	     u32 pg, const void *p, u32 len);

/* handler.c */
void st_handle_msg(struct st_conn *c, const struct qbd_hdr_info *hi,
		   const uint8_t *payload);

/* segment.c */
struct st_volume *st_volume_get(uint64_t id, bool create);
int st_volume_set_epoch(struct st_volume *v, uint64_t epoch);
int st_volumes_load(void);
struct st_segment *st_seg_find(uint64_t volume, uint32_t pg);
uint32_t st_seg_count(uint64_t volume);
int st_seg_create(uint64_t volume, uint32_t pg, uint64_t pg_blocks,
		  uint64_t lba_start, const char *peers, struct st_segment **out);
int st_seg_drop(struct st_segment *s);
int st_segs_load(void);
int st_seg_write_meta(struct st_segment *s);
int st_seg_set_peers(struct st_segment *s, const char *peers);
bool st_seg_truncated(const struct st_segment *s, uint64_t lsn);
ssize_t st_seg_find_rec(const struct st_segment *s, uint64_t lsn);
size_t st_seg_first_above(const struct st_segment *s, uint64_t lsn);
int st_seg_insert(struct st_segment *s, const struct st_rec *r);
void st_seg_recompute_scl(struct st_segment *s, bool full);
void st_seg_mark_bad(struct st_segment *s, struct st_rec *r);
int st_seg_truncate(struct st_segment *s, uint64_t start, uint64_t end);
void st_seg_file_unref(struct st_segment *s, uint32_t seq);
bool st_seg_has_gap(const struct st_segment *s);
uint64_t st_seg_retain_lsn(const struct st_segment *s);
void st_seg_trim(struct st_segment *s);
void st_seg_retain_load(struct st_segment *s);
int st_write_file_atomic(int dirfd_unused, const char *dir, const char *name,
			 const char *text);
void st_seg_free(struct st_segment *s);

/* log.c */
int st_log_queue(struct st_segment *s, struct st_conn *c, u64 handle,
		 u64 epoch, const void *rec, u32 len, u64 lsn);
void st_log_commit_all(void);
int st_log_open_active(struct st_segment *s);
int st_log_scan(struct st_segment *s);
int st_log_read_rec(struct st_segment *s, struct st_rec *r, uint8_t *buf);
void st_log_gc(struct st_segment *s);
struct st_logfile *st_log_file(struct st_segment *s, uint32_t seq);
const uint8_t *st_cache_get(const struct st_segment *s,
			    const struct st_rec *r);
void st_cache_drop_upto(struct st_segment *s, uint64_t lsn);

/* read.c */
void st_do_read(struct st_conn *c, const struct qbd_hdr_info *hi,
		struct st_segment *s, const uint8_t *p);
void st_do_peer_fetch(struct st_conn *c, const struct qbd_hdr_info *hi,
		      struct st_segment *s, const uint8_t *p);
void st_do_scl_query(struct st_conn *c, const struct qbd_hdr_info *hi,
		     struct st_segment *s, const uint8_t *p);

/* gossip.c */
int st_peers_parse(struct st_segment *s, const char *peers);
void st_gossip_tick(void);
void st_gossip_kick(struct st_segment *s);
void st_gossip_on_reply(struct st_conn *c, const struct qbd_hdr_info *hi,
			const uint8_t *payload);
void st_gossip_conn_closed(struct st_conn *c);
void st_gossip_send_hello(struct st_conn *c);

/* coalesce.c */
void st_coalesce_tick(void);
int st_coalesce_segment(struct st_segment *s, uint32_t max_recs);
int st_scrub_segment(struct st_segment *s, uint32_t max_recs,
		     uint64_t max_bytes, uint64_t *checked, uint64_t *bad);
void st_scrub_tick(void);

/* admin.c */
void st_do_admin(struct st_conn *c, const struct qbd_hdr_info *hi,
		 const uint8_t *p);

#define st_err(...)	qbd_log(QBD_LOG_ERR, __VA_ARGS__)
#define st_warn(...)	qbd_log(QBD_LOG_WARN, __VA_ARGS__)
#define st_info(...)	qbd_log(QBD_LOG_INFO, __VA_ARGS__)
#define st_dbg(...)	qbd_log(QBD_LOG_DEBUG, __VA_ARGS__)

#endif /* QBD_STORED_H */
