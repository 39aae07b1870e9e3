/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The cluster config: which storage nodes exist and where. A text file,
 * written by tools/cluster, one node per line:
 *
 *	# comment
 *	<id> <az> <host>:<port>
 *
 * id is the node id (0..5 for the six nodes of a cluster; the line order
 * is the slot order), az is "az-a", "az-b", ... or a number (az-a = 0).
 * Errors name the file and line. The path is $QBD_CLUSTER_CONF, else
 * $QBD_CLUSTER_DIR/cluster.conf, else ./qbd-data/cluster.conf.
 */
#ifndef QBD_CLUSTER_H
#define QBD_CLUSTER_H

#include <stddef.h>
#include "qbd_pure.h"

#define QBD_MAX_NODES	16
#define QBD_HOSTLEN	64

struct qbd_node_addr {
	u32 id;
	u32 az;
	char host[QBD_HOSTLEN];
	u16 port;
};

struct qbd_cluster {
	u32 nnodes;
	struct qbd_node_addr node[QBD_MAX_NODES];
	char path[512];		/* file it was loaded from, "" if parsed */
};

/* parse text; name is used in error messages ("file:line: ...") */
int qbd_cluster_parse(const char *text, const char *name,
		      struct qbd_cluster *c, char *err, size_t errlen);
/* load path (NULL: the default path); 0 or -errno with err set */
int qbd_cluster_load(const char *path, struct qbd_cluster *c, char *err,
		     size_t errlen);
/* the default path, see above */
const char *qbd_cluster_default_path(char *buf, size_t len);
/* directory holding the config ("./qbd-data" by default) */
const char *qbd_cluster_default_dir(char *buf, size_t len);
/* "az-a" for 0, ... */
const char *qbd_az_name(u32 az, char *buf, size_t len);

#endif /* QBD_CLUSTER_H */
