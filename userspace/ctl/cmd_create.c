// SPDX-License-Identifier: GPL-2.0
/*
 * qbdctl create / volumes: the catalog side of volumes.
 *
 * create checks everything it can before changing anything: the arguments
 * and geometry, the name, and that all six nodes answer an ADMIN STATUS.
 * Only then does it add the catalog row and create the segments (ADMIN
 * SEGMENT_CREATE, idempotent); if that fails the row is removed again, so a
 * failed create can simply be repeated.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster.h"
#include "qbd_conn.h"
#include "qbd_volume.h"
#include "qbdctl.h"

#define DEFAULT_PG_SIZE		(10ULL << 30)
#define PROBE_TIMEOUT_MS	3000

/* [A-Za-z][A-Za-z0-9._-]*, < 64 chars, and not a device name (qbdN) */
static int check_name(const char *s)
{
	uint32_t idx;
	size_t i;

	if (!isalpha((unsigned char)s[0]) || strlen(s) >= 64)
		return -1;
	for (i = 0; s[i]; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return -1;
	if (!ctl_parse_device(s, &idx))
		return -1;
	return 0;
}

/* ADMIN STATUS every node; returns the mask of slots that did not answer */
uint32_t ctl_probe_nodes(const struct qbd_cluster *c, bool quiet)
{
	char err[QBD_ERRLEN];
	uint32_t i, bad = 0;
	char *json;

	for (i = 0; i < c->nnodes; i++) {
		json = NULL;
		if (qbd_admin(&c->node[i], QBD_ADMIN_STATUS, "", &json,
			      PROBE_TIMEOUT_MS, err, sizeof(err))) {
			bad |= 1U << i;
			if (!quiet)
				ctl_err("node %u (%s:%u): %s", c->node[i].id,
					c->node[i].host, c->node[i].port, err);
		}
		free(json);
	}
	return bad;
}

struct create_args {
	uint64_t size, pg_size;
	bool have_size;
};

static int create_opt(int opt, const char *arg, void *ctx)
{
	struct create_args *a = ctx;

	switch (opt) {
	case 's':
		if (ctl_parse_size(arg, &a->size))
			return ctl_usage_err("create", "bad --size '%s'", arg);
		a->have_size = true;
		return 0;
	case 'p':
		if (ctl_parse_size(arg, &a->pg_size))
			return ctl_usage_err("create", "bad --pg-size '%s'", arg);
		return 0;
	}
	return -1;
}

int cmd_create(struct ctl_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "pg-size", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct create_args a = { .pg_size = DEFAULT_PG_SIZE };
	struct qbd_catalog *cat = NULL;
	struct qbd_volume_info v, old;
	struct qbd_cluster c;
	struct qbd_geom g;
	char err[QBD_ERRLEN], list[512];
	uint32_t bad;
	int first, r, ret = EXIT_FAILURE;
	char sz[32], pgsz[32];

	first = ctl_getopt(o, "create", argc, argv, opts, create_opt, &a);
	if (first < 0)
		return EXIT_USAGE;
	if (argc - first != 1)
		return ctl_usage_err("create", argc == first ?
				     "missing VOLUME" : "too many arguments");
	if (!a.have_size)
		return ctl_usage_err("create", "missing --size");
	if (check_name(argv[first]))
		return ctl_usage_err("create",
				     "bad volume name '%s': want a letter then letters, digits, '.', '_', '-' (< 64 chars), not qbdN",
				     argv[first]);
	if (qbd_geom_init(&g, 1, a.size, a.pg_size, err, sizeof(err)))
		return ctl_usage_err("create", "%s", err);

	if (ctl_load_cluster(o, &c) || ctl_check_six(&c) ||
	    ctl_open_catalog(o, &cat))
		goto out;
	if (qbd_catalog_get_volume(cat, argv[first], &old) == 0) {
		ctl_err("volume '%s' already exists (id %" PRIu64 ")",
			argv[first], old.id);
		goto out;
	}
	bad = ctl_probe_nodes(&c, false);
	if (bad) {
		ctl_node_list(bad, list, sizeof(list), &c);
		ctl_err("nodes unreachable: %s; nothing was created", list);
		goto out;
	}

	memset(&v, 0, sizeof(v));
	snprintf(v.name, sizeof(v.name), "%s", argv[first]);
	v.size = a.size;
	v.pg_size = a.pg_size;
	v.created = time(NULL);
	r = qbd_catalog_add_volume(cat, &v);
	if (r) {
		ctl_err("cannot add '%s' to the catalog: %s", v.name,
			r == -EEXIST ? "name or id taken" : strerror(-r));
		goto out;
	}
	if (qbd_geom_init(&g, v.id, a.size, a.pg_size, err, sizeof(err)) ||
	    qbd_volume_create(&c, &g, err, sizeof(err))) {
		ctl_err("creating the segments of '%s' failed: %s", v.name, err);
		qbd_catalog_del_volume(cat, v.id);
		goto out;
	}
	qbd_catalog_set_nodes(cat, &c);
	ctl_fmt_size(v.size, sz, sizeof(sz));
	ctl_fmt_size(v.pg_size, pgsz, sizeof(pgsz));
	printf("created volume %s: id %" PRIu64 ", %s, %u PGs of %s, 6 segments each\n",
	       v.name, v.id, sz, g.npgs, pgsz);
	ret = 0;
out:
	if (cat)
		qbd_catalog_close(cat);
	return ret;
}

int cmd_volumes(struct ctl_opts *o, int argc, char **argv)
{
	struct qbd_catalog *cat = NULL;
	struct qbd_volume_info *v = NULL;
	uint32_t n = 0, i;
	int first, r;
	char sz[32], pg[32];

	first = ctl_getopt(o, "volumes", argc, argv, NULL, NULL, NULL);
	if (first < 0)
		return EXIT_USAGE;
	if (argc > first)
		return ctl_usage_err("volumes", "unexpected argument '%s'",
				     argv[first]);
	if (ctl_open_catalog(o, &cat))
		return EXIT_FAILURE;
	r = qbd_catalog_list(cat, &v, &n);
	qbd_catalog_close(cat);
	if (r) {
		ctl_err("cannot list the catalog: %s", strerror(-r));
		return EXIT_FAILURE;
	}
	if (o->json) {
		fputs("{\"volumes\":[", stdout);
		for (i = 0; i < n; i++) {
			printf("%s{\"name\":", i ? "," : "");
			ctl_json_str(stdout, v[i].name);
			printf(",\"id\":%" PRIu64 ",\"size_bytes\":%" PRIu64
			       ",\"pg_size\":%" PRIu64 ",\"epoch\":%" PRIu64
			       ",\"created\":%" PRId64 "}", v[i].id, v[i].size,
			       v[i].pg_size, v[i].epoch, (int64_t)v[i].created);
		}
		fputs("]}\n", stdout);
	} else if (!n) {
		printf("no volumes\n");
	} else {
		printf("%-20s %6s %12s %12s %8s\n", "NAME", "ID", "SIZE",
		       "PG SIZE", "EPOCH");
		for (i = 0; i < n; i++) {
			ctl_fmt_size(v[i].size, sz, sizeof(sz));
			ctl_fmt_size(v[i].pg_size, pg, sizeof(pg));
			printf("%-20s %6" PRIu64 " %12s %12s %8" PRIu64 "\n",
			       v[i].name, v[i].id, sz, pg, v[i].epoch);
		}
	}
	free(v);
	return 0;
}
