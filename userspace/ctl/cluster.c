// SPDX-License-Identifier: GPL-2.0
/*
 * Where a command finds the cluster: --cluster DIR means DIR/cluster.conf,
 * --config FILE that file, otherwise libqbd's default (qbd_cluster.h:
 * $QBD_CLUSTER, $QBD_CLUSTER_DIR/cluster.conf, ./qbd-data/cluster.conf).
 * The catalog is $QBD_CATALOG, else catalog.db next to the config file
 * given by an option, else libqbd's default ($QBD_CLUSTER_DIR/catalog.db,
 * ./qbd-data/catalog.db).
 */
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "cluster.h"
#include "qbd_conn.h"
#include "qbdctl.h"

static const char *config_path(const struct ctl_opts *o, char *buf,
			       size_t len)
{
	if (o->config)
		snprintf(buf, len, "%s", o->config);
	else if (o->cluster_dir)
		snprintf(buf, len, "%s/cluster.conf", o->cluster_dir);
	else
		qbd_cluster_default_path(buf, len);
	return buf;
}

int ctl_load_cluster(const struct ctl_opts *o, struct qbd_cluster *c)
{
	char path[512], err[QBD_ERRLEN];
	int r;

	config_path(o, path, sizeof(path));
	r = qbd_cluster_load(path, c, err, sizeof(err));
	if (r) {
		if (r == -ENOENT)
			ctl_err("no cluster config at %s (use --cluster DIR or --config FILE)",
				path);
		else
			ctl_err("cluster config: %s", err);
		return -1;
	}
	return 0;
}

int ctl_check_six(const struct qbd_cluster *c)
{
	if (c->nnodes == QBD_PG_NODES)
		return 0;
	ctl_err("%s: %u nodes configured, a volume needs exactly %d", c->path,
		c->nnodes, QBD_PG_NODES);
	return -1;
}

static const char *catalog_path(const struct ctl_opts *o, char *path,
				size_t len)
{
	const char *env = getenv("QBD_CATALOG");
	char cfg[512];

	if ((env && *env) || (!o->config && !o->cluster_dir)) {
		qbd_catalog_default_path(path, len);
	} else {
		config_path(o, cfg, sizeof(cfg));
		snprintf(path, len, "%s/catalog.db", dirname(cfg));
	}
	return path;
}

struct qbd_catalog *ctl_open_catalog_quiet(const struct ctl_opts *o)
{
	char path[600], err[QBD_ERRLEN];
	struct qbd_catalog *cat;

	catalog_path(o, path, sizeof(path));
	if (access(path, R_OK) ||
	    qbd_catalog_open(path, &cat, err, sizeof(err)))
		return NULL;
	return cat;
}

int ctl_open_catalog(const struct ctl_opts *o, struct qbd_catalog **cat)
{
	char path[600], err[QBD_ERRLEN];
	int r;

	catalog_path(o, path, sizeof(path));
	r = qbd_catalog_open(path, cat, err, sizeof(err));
	if (r) {
		ctl_err("cannot open catalog %s: %s", path, err);
		return -1;
	}
	return 0;
}

int ctl_find_volume(struct qbd_catalog *cat, const char *name,
		    struct qbd_volume_info *v)
{
	int r = qbd_catalog_get_volume(cat, name, v);

	if (r == -ENOENT) {
		ctl_err("unknown volume '%s' (see 'qbdctl volumes')", name);
		return -1;
	}
	if (r) {
		ctl_err("catalog lookup of '%s' failed: %s", name, strerror(-r));
		return -1;
	}
	return 0;
}

const struct qbd_node_addr *ctl_node_by_id(const struct qbd_cluster *c,
					   uint32_t id, uint32_t *slot)
{
	uint32_t i;

	for (i = 0; i < c->nnodes; i++)
		if (c->node[i].id == id) {
			if (slot)
				*slot = i;
			return &c->node[i];
		}
	return NULL;
}

void ctl_node_list(uint32_t mask, char *buf, size_t len,
		   const struct qbd_cluster *c)
{
	size_t off = 0;
	uint32_t i;

	buf[0] = 0;
	for (i = 0; i < c->nnodes && off < len; i++)
		if (mask & (1U << i))
			off += snprintf(buf + off, len - off, "%s%u (%s:%u)",
					off ? ", " : "", c->node[i].id,
					c->node[i].host, c->node[i].port);
}
