/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the writer host tests (test_writer_*.c): a private local
 * cluster started with tools/cluster (six qbd-stored from the same build
 * directory as the test, data under /tmp, free loopback ports), node
 * kill/start/fault injection, and block patterns for data checks.
 */
#ifndef WRITER_UTIL_H
#define WRITER_UTIL_H

#include "qbd_cluster.h"
#include "qbd_volume.h"
#include "qbd_writer.h"

struct wt_cluster {
	char dir[256];
	char root[512];		/* repository root */
	char stored[600];	/* qbd-stored of this build */
	u16 port_base;
	struct qbd_cluster c;
};

/* start six nodes; 0 or -1 (messages on stderr) */
int wt_cluster_up(struct wt_cluster *w, const char *tag, u16 port_hint);
/* stop every node and remove the directory */
void wt_cluster_down(struct wt_cluster *w);
int wt_node_kill(struct wt_cluster *w, int i);		/* SIGKILL */
int wt_node_start(struct wt_cluster *w, int i);		/* waits for listen */
/* ADMIN FAULT "key=value ..." on node i */
int wt_node_fault(struct wt_cluster *w, int i, const char *args);
/* a numeric field of segment (volume, pg) on node i (~0 if absent) */
u64 wt_seg_stat(struct wt_cluster *w, int i, u64 volume, u32 pg,
		const char *key);

/* create the volume's segments and open a writer (recovery first) */
int wt_open(struct wt_cluster *w, struct qbd_geom *g, u64 volume, u64 size,
	    u64 pg_size, const struct qbd_writer_opts *o, struct qbd_vol **v,
	    int create);

/* block content carrying (lba, version); version 0 = zeroes */
void wt_fill(u8 *blk, u64 lba, u64 version);
/* the version a block carries, or ~0 if it is not a valid pattern */
u64 wt_version(const u8 *blk, u64 lba);

/* sleep ms milliseconds */
void wt_msleep(int ms);

#endif /* WRITER_UTIL_H */

#include <pthread.h>

/*
 * A write stream: nwrites single-block writes of random blocks in
 * [0, span) at queue depth qd; two writes in flight never share a block, so
 * model[lba] (the version of the newest completed write) is exact.
 */
struct wt_stream {
	struct qbd_vol *v;
	u64 span;
	u32 qd;
	u64 seed;
	u64 *model;		/* span entries, caller may pre-fill */
	/* internal */
	pthread_mutex_t m;
	pthread_cond_t c;
	u8 *busy;
	u64 next_version;
	u64 submitted, completed, failed, inflight;
	int first_error;
};

int wt_stream_init(struct wt_stream *s, struct qbd_vol *v, u64 span, u32 qd,
		   u64 seed);
void wt_stream_free(struct wt_stream *s);
/*
 * Run nwrites writes; hook(arg, completed) is called from this thread
 * after every completion batch (may kill nodes etc.). Waits for all.
 * Returns the number of failed writes.
 */
u64 wt_stream_run(struct wt_stream *s, u64 nwrites,
		  void (*hook)(void *arg, u64 completed), void *arg);
/* read [0, span) back; returns the number of blocks != model (-1: error) */
long wt_verify(struct qbd_vol *v, const u64 *model, u64 span);
