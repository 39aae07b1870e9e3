/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The volume catalog, an SQLite database:
 *   volumes(name TEXT UNIQUE, id INTEGER PRIMARY KEY, size, pg_size, epoch,
 *           created)
 *   nodes(id INTEGER PRIMARY KEY, az, host, port)
 * Path: $QBD_CATALOG, else <cluster dir>/catalog.db (see qbd_cluster.h).
 * The epoch column is the newest epoch a writer recovered the volume with;
 * recovery also reads the epochs the nodes recorded, so a stale catalog is
 * harmless.
 */
#ifndef QBD_CATALOG_H
#define QBD_CATALOG_H

#include <stddef.h>
#include "qbd_pure.h"
#include "qbd_cluster.h"

struct qbd_catalog;

struct qbd_volume_info {
	char name[64];
	u64 id;
	u64 size;		/* bytes */
	u64 pg_size;		/* bytes */
	u64 epoch;
	s64 created;		/* unix time */
};

const char *qbd_catalog_default_path(char *buf, size_t len);
/* path NULL: default path; creates the file and tables if missing */
int qbd_catalog_open(const char *path, struct qbd_catalog **out, char *err,
		     size_t errlen);
void qbd_catalog_close(struct qbd_catalog *cat);

/* -EEXIST if the name or id is taken; v->id 0 picks the next free id */
int qbd_catalog_add_volume(struct qbd_catalog *cat, struct qbd_volume_info *v);
/* by name, or by id if key is all digits; -ENOENT if missing */
int qbd_catalog_get_volume(struct qbd_catalog *cat, const char *key,
			   struct qbd_volume_info *v);
int qbd_catalog_set_epoch(struct qbd_catalog *cat, u64 id, u64 epoch);
int qbd_catalog_del_volume(struct qbd_catalog *cat, u64 id);
/* *out is malloc'd (free()) */
int qbd_catalog_list(struct qbd_catalog *cat, struct qbd_volume_info **out,
		     u32 *n);
/* replace the nodes table with the cluster's nodes */
int qbd_catalog_set_nodes(struct qbd_catalog *cat, const struct qbd_cluster *c);

#endif /* QBD_CATALOG_H */
