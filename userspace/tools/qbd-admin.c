// SPDX-License-Identifier: GPL-2.0
/*
 * qbd-admin: send one ADMIN request to one qbd-stored and print the JSON
 * answer. A tiny tool for tools/cluster status and for tests.
 *
 *   qbd-admin [--op status|fault|scrub|drop|create] [--args "k=v ..."] HOST:PORT
 *   qbd-admin --segments HOST:PORT     (= --op status)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qbd_conn.h"
#include "qbd_volume.h"

static int op_of(const char *s)
{
	static const struct { const char *name; int op; } ops[] = {
		{ "status", QBD_ADMIN_STATUS },
		{ "create", QBD_ADMIN_SEGMENT_CREATE },
		{ "fault", QBD_ADMIN_FAULT },
		{ "drop", QBD_ADMIN_SEGMENT_DROP },
		{ "scrub", QBD_ADMIN_SCRUB },
	};
	size_t i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(s, ops[i].name))
			return ops[i].op;
	return -1;
}

int main(int argc, char **argv)
{
	const char *args = "", *addr = NULL;
	struct qbd_node_addr n = { 0 };
	char err[QBD_ERRLEN], *json = NULL;
	int op = QBD_ADMIN_STATUS, i, r;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--op") && i + 1 < argc) {
			op = op_of(argv[++i]);
			if (op < 0) {
				fprintf(stderr, "qbd-admin: unknown op %s\n", argv[i]);
				return 2;
			}
		} else if (!strcmp(argv[i], "--args") && i + 1 < argc) {
			args = argv[++i];
		} else if (!strcmp(argv[i], "--segments")) {
			op = QBD_ADMIN_STATUS;
		} else if (argv[i][0] != '-' && !addr) {
			addr = argv[i];
		} else {
			fprintf(stderr, "usage: qbd-admin [--op status|fault|scrub|drop|create] [--args \"k=v ...\"] HOST:PORT\n");
			return 2;
		}
	}
	if (!addr || qbd_parse_hostport(addr, n.host, sizeof(n.host), &n.port)) {
		fprintf(stderr, "qbd-admin: need HOST:PORT\n");
		return 2;
	}
	r = qbd_admin(&n, (u32)op, args, &json, 5000, err, sizeof(err));
	if (r) {
		fprintf(stderr, "qbd-admin: %s: %s\n", addr, err);
		return 1;
	}
	printf("%s\n", json);
	free(json);
	return 0;
}
