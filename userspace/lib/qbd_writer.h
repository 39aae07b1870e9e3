/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The userspace writer client: the same protocol the kernel speaks, for
 * tests, benchmarks and tools. A volume handle owns one event-loop thread
 * and one TCP connection per node (HELLO WRITER). Writes become records
 * (one per PG touched, at most 256 blocks each) with LSNs from the quorum
 * unit, are sent to the PG's six segments and complete when their LSN is
 * <= VCL. Reads go to one segment whose SCL covers the read point and fail
 * over on error, timeout, NOT_YET or a checksum error.
 *
 * A node whose connection fails, or that stays silent for io_timeout_ms
 * with requests outstanding, is marked dead; the loop reconnects in the
 * background (HELLO WRITER, the recovery TRUNCATE again, resend of the
 * in-flight records). Writes continue while every PG has 4 live segments;
 * otherwise they wait and fail with -EIO after dead_timeout_ms.
 *
 * Completion callbacks run on the event-loop thread; they must not block
 * (they may submit more I/O). The sync calls wait on a condition variable.
 */
#ifndef QBD_WRITER_H
#define QBD_WRITER_H

#include <stddef.h>
#include "qbd_pure.h"
#include "uapi/qbd_wire.h"
#include "qbd_cluster.h"
#include "qbd_volume.h"

struct qbd_vol;

struct qbd_writer_opts {
	int io_timeout_ms;	/* silent node with requests out -> dead (3000) */
	int dead_timeout_ms;	/* I/O waiting for quorum -> -EIO (10000) */
	int reconnect_ms;	/* between reconnect attempts (200) */
	int heartbeat_ms;	/* SCL refresh / liveness probe period (100) */
	u32 window;		/* max in-flight LSNs, power of 2 (1024) */
	const char *secret;	/* NULL: $QBD_SECRET */
};

/* result: 0 or -errno (-EIO: see qbd_vol_error()) */
typedef void (*qbd_io_cb)(void *arg, int result);

#define QBD_IO_FUA	0x1	/* consistency point (VDL) */

/*
 * Recover the volume (qbd_recover with ro) and start the writer. The
 * recovered epoch is in qbd_vol_stats().epoch (store it in the catalog).
 */
int qbd_writer_open(const struct qbd_cluster *c, const struct qbd_geom *g,
		    const struct qbd_recover_opts *ro,
		    const struct qbd_writer_opts *o, struct qbd_vol **out,
		    char *err, size_t errlen);

/*
 * Stop the writer. Without abort, waits (at most dead_timeout_ms) for the
 * I/O in flight to complete; with abort, drops the connections at once like
 * a crashed writer (in-flight I/O completes with -ESHUTDOWN).
 */
void qbd_writer_close(struct qbd_vol *v, int abort);

/* asynchronous: the data of a write is copied before the call returns */
int qbd_submit_write(struct qbd_vol *v, u64 lba, u32 nblocks, const void *buf,
		     u32 flags, qbd_io_cb cb, void *arg);
int qbd_submit_read(struct qbd_vol *v, u64 lba, u32 nblocks, void *buf,
		    qbd_io_cb cb, void *arg);
int qbd_submit_discard(struct qbd_vol *v, u64 lba, u32 nblocks,
		       qbd_io_cb cb, void *arg);
int qbd_submit_write_zeroes(struct qbd_vol *v, u64 lba, u32 nblocks,
			    qbd_io_cb cb, void *arg);
/* completes when every write submitted before it has completed */
int qbd_submit_flush(struct qbd_vol *v, qbd_io_cb cb, void *arg);

/* synchronous wrappers: 0 or -errno */
int qbd_write(struct qbd_vol *v, u64 lba, u32 nblocks, const void *buf);
int qbd_read(struct qbd_vol *v, u64 lba, u32 nblocks, void *buf);
int qbd_discard(struct qbd_vol *v, u64 lba, u32 nblocks);
int qbd_write_zeroes(struct qbd_vol *v, u64 lba, u32 nblocks);
int qbd_flush(struct qbd_vol *v);

/* text of the last I/O error (thread-safe copy) */
void qbd_vol_error(struct qbd_vol *v, char *buf, size_t len);

enum qbd_wnode_state {
	QBD_WNODE_LIVE = 0,
	QBD_WNODE_DEAD = 1,
};

struct qbd_vol_node_stats {
	u32 id, az;
	u32 state;		/* enum qbd_wnode_state */
	u64 sent_bytes;		/* every byte sent to the node */
	u64 acks, reads, errors, deaths, reconnects;
	u32 lat_us;
	u64 min_scl;		/* lowest known SCL over the PGs */
};

struct qbd_vol_stats {
	u64 epoch;
	u64 vcl, vdl, next_lsn;
	u64 writes, reads, flushes, records;
	u64 write_wire_bytes;	/* bytes sent for writes (all copies) */
	u64 read_retries, not_yet, timeouts, io_errors, stale_replies;
	u32 live_nodes;
	int fenced;
	struct qbd_vol_node_stats node[QBD_PG_NODES];
};

void qbd_vol_stats(struct qbd_vol *v, struct qbd_vol_stats *s);
const struct qbd_geom *qbd_vol_geom(struct qbd_vol *v);

#endif /* QBD_WRITER_H */
