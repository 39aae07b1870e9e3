/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Volume creation and attach-time crash recovery (DESIGN.md section 1,
 * Documentation/wire-protocol.md "Recovery"). Geometry: a volume of
 * size bytes is cut into npgs = ceil(size / pg_size) protection groups; PG
 * i covers blocks [i * pg_blocks, (i + 1) * pg_blocks); every PG has one
 * segment on each of the cluster's six nodes, slot = line order in the
 * cluster config.
 */
#ifndef QBD_VOLUME_H
#define QBD_VOLUME_H

#include <stddef.h>
#include "qbd_pure.h"
#include "qbd_cluster.h"

/* LSNs skipped by the truncation range each recovery writes above VCL */
#define QBD_TRUNC_GAP		(1ULL << 32)

struct qbd_geom {
	u64 volume;		/* volume id, != 0 */
	u64 size;		/* bytes, multiple of 4 KiB */
	u64 pg_size;		/* bytes, multiple of 4 KiB */
	u64 pg_blocks;		/* derived */
	u64 nblocks;		/* derived */
	u32 npgs;		/* derived */
};

/* fill the derived fields; -EINVAL with err set if the geometry is bad */
int qbd_geom_init(struct qbd_geom *g, u64 volume, u64 size, u64 pg_size,
		  char *err, size_t errlen);

/*
 * ADMIN SEGMENT_CREATE of every PG on every node of the cluster (epoch 0).
 * Idempotent; fails if any node is unreachable or refuses.
 */
int qbd_volume_create(const struct qbd_cluster *c, const struct qbd_geom *g,
		      char *err, size_t errlen);

struct qbd_recover_opts {
	u64 catalog_epoch;	/* epoch from the catalog (0 if unknown) */
	int timeout_ms;		/* per node request; default 3000 */
	u32 min_truncate;	/* TRUNCATE acks needed per PG; default 4 */
	const char *secret;	/* NULL: $QBD_SECRET */
};

/* what recovery found: exactly what the kernel CONNECT needs */
struct qbd_recovery {
	u64 epoch;		/* QBD_ATTR_EPOCH: the new writer's epoch */
	u64 vcl;		/* QBD_ATTR_VCL: recovered VCL */
	u64 next_lsn;		/* QBD_ATTR_NEXT_LSN = vcl + QBD_TRUNC_GAP + 1 */
	u32 npgs;
	u64 *pg_last;		/* QBD_ATTR_PG_LAST_LSN: npgs entries */
	u32 reachable;		/* bitmask of node slots that took part */
	u64 replicated;		/* records re-replicated */
};

/*
 * Recover the volume for a new writer: new epoch = max(node epochs, catalog
 * epoch) + 1, HELLO RECOVERY, SCL_QUERY, VCL, TRUNCATE (vcl, vcl + 2^32],
 * re-replication of kept records short of 4 copies. Needs >= 3 reachable
 * segments of every PG and >= min_truncate TRUNCATE acks per PG. The quorum
 * unit of the writer that follows is started with
 * qbd_q_init(vcl = next_lsn - 1, next_lsn, pg_last): the truncated range
 * counts as complete. 0, or -errno with a clear err.
 */
int qbd_recover(const struct qbd_cluster *c, const struct qbd_geom *g,
		const struct qbd_recover_opts *o, struct qbd_recovery *out,
		char *err, size_t errlen);
void qbd_recovery_free(struct qbd_recovery *r);

/* ADMIN request to one node: op + text; *json malloc'd (free()) */
int qbd_admin(const struct qbd_node_addr *n, u32 op, const char *text,
	      char **json, int timeout_ms, char *err, size_t errlen);

#endif /* QBD_VOLUME_H */
