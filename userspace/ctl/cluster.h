/* SPDX-License-Identifier: GPL-2.0 */
/* qbdctl: loading the cluster config and the catalog (cluster.c) */
#ifndef QBDCTL_CLUSTER_H
#define QBDCTL_CLUSTER_H

#include <stdint.h>
#include "catalog.h"
#include "qbd_cluster.h"
#include "qbdctl.h"

/* load the cluster config the options point at; prints errors, 0 or -1 */
int ctl_load_cluster(const struct ctl_opts *o, struct qbd_cluster *c);
/* a volume's cluster has exactly six nodes; prints why not; 0 or -1 */
int ctl_check_six(const struct qbd_cluster *c);
/* open the catalog next to the config (or $QBD_CATALOG); 0 or -1 */
int ctl_open_catalog(const struct ctl_opts *o, struct qbd_catalog **cat);
/* the catalog if it exists (never creates one), else NULL; no messages */
struct qbd_catalog *ctl_open_catalog_quiet(const struct ctl_opts *o);
/* look a volume up by name or id; prints "unknown volume"; 0 or -1 */
int ctl_find_volume(struct qbd_catalog *cat, const char *name,
		    struct qbd_volume_info *v);
/* node with this id and its slot (line order), or NULL */
const struct qbd_node_addr *ctl_node_by_id(const struct qbd_cluster *c,
					   uint32_t id, uint32_t *slot);
/* "1 (127.0.0.1:7001), 4 (...)" for the slots set in mask */
void ctl_node_list(uint32_t mask, char *buf, size_t len,
		   const struct qbd_cluster *c);

/* ADMIN STATUS every node (cmd_create.c); mask of slots that failed */
uint32_t ctl_probe_nodes(const struct qbd_cluster *c, bool quiet);

#endif /* QBDCTL_CLUSTER_H */
