// SPDX-License-Identifier: GPL-2.0
/*
 * qbdctl node-status / fault: ADMIN messages straight to qbd-stored over
 * TCP (role ADMIN, no kernel involved).
 *
 * node-status asks every node of the cluster (or one) for its STATUS JSON
 * and prints it indented (human) or wrapped in one JSON document (--json):
 *   {"nodes":[{"id":0,"az":0,"addr":"127.0.0.1:7000","reachable":true,
 *              "status":{...node's JSON...}}, ...]}
 * Unreachable nodes are listed and make the exit status non-zero.
 *
 * fault NODE_ID key=value... sends the pairs as the FAULT text; the node
 * validates the knobs (delay_us, drop_conns, refuse_writes, corrupt_reads).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "qbd_conn.h"
#include "qbd_volume.h"
#include "qbdctl.h"

#define ADMIN_TIMEOUT_MS	3000
#define MAX_FAULT_TEXT		1024

/* indent a JSON text for humans; strings are copied verbatim */
static void json_pretty(FILE *f, const char *s, int base)
{
	int depth = base, in_str = 0, esc = 0;

	fprintf(f, "%*s", 2 * depth, "");
	for (; *s; s++) {
		char ch = *s;

		if (in_str) {
			fputc(ch, f);
			if (esc)
				esc = 0;
			else if (ch == '\\')
				esc = 1;
			else if (ch == '"')
				in_str = 0;
			continue;
		}
		switch (ch) {
		case '"':
			in_str = 1;
			fputc(ch, f);
			break;
		case '{':
		case '[':
			fputc(ch, f);
			if (s[1] == '}' || s[1] == ']') {
				fputc(*++s, f);
				break;
			}
			depth++;
			fprintf(f, "\n%*s", 2 * depth, "");
			break;
		case '}':
		case ']':
			depth--;
			fprintf(f, "\n%*s%c", 2 * depth, "", ch);
			break;
		case ',':
			fprintf(f, ",\n%*s", 2 * depth, "");
			break;
		case ':':
			fputs(": ", f);
			break;
		case ' ':
		case '\n':
		case '\t':
		case '\r':
			break;
		default:
			fputc(ch, f);
		}
	}
	fputc('\n', f);
}

struct node_status_args {
	bool one;
	uint32_t id;
};

int cmd_node_status(struct ctl_opts *o, int argc, char **argv)
{
	struct node_status_args a = { 0 };
	struct qbd_cluster c;
	char err[QBD_ERRLEN], az[16];
	uint32_t i, bad = 0;
	int first, r, shown = 0;

	first = ctl_getopt(o, "node-status", argc, argv, NULL, NULL, NULL);
	if (first < 0)
		return EXIT_USAGE;
	if (argc - first > 1)
		return ctl_usage_err("node-status", "too many arguments");
	if (argc - first == 1) {
		if (ctl_parse_u32(argv[first], &a.id))
			return ctl_usage_err("node-status", "bad node id '%s'",
					     argv[first]);
		a.one = true;
	}
	if (ctl_load_cluster(o, &c))
		return EXIT_FAILURE;
	if (a.one && !ctl_node_by_id(&c, a.id, NULL)) {
		ctl_err("no node %u in the cluster config", a.id);
		return EXIT_FAILURE;
	}
	if (o->json)
		fputs("{\"nodes\":[", stdout);
	for (i = 0; i < c.nnodes; i++) {
		const struct qbd_node_addr *n = &c.node[i];
		char *json = NULL;

		if (a.one && n->id != a.id)
			continue;
		r = qbd_admin(n, QBD_ADMIN_STATUS, "", &json, ADMIN_TIMEOUT_MS,
			      err, sizeof(err));
		if (r)
			bad |= 1U << i;
		qbd_az_name(n->az, az, sizeof(az));
		if (o->json) {
			printf("%s{\"id\":%u,\"az\":%u,\"addr\":\"%s:%u\",\"reachable\":%s,",
			       shown ? "," : "", n->id, n->az, n->host, n->port,
			       r ? "false" : "true");
			if (r) {
				fputs("\"error\":", stdout);
				ctl_json_str(stdout, err);
			} else {
				printf("\"status\":%s", json && *json ? json : "null");
			}
			fputc('}', stdout);
		} else {
			printf("node %u (%s, %s:%u): %s\n", n->id, az, n->host,
			       n->port, r ? "UNREACHABLE" : "up");
			if (r)
				printf("  %s\n", err);
			else if (json)
				json_pretty(stdout, json, 1);
		}
		shown++;
		free(json);
	}
	if (o->json)
		fputs("]}\n", stdout);
	if (bad) {
		char list[512];

		ctl_node_list(bad, list, sizeof(list), &c);
		ctl_err("nodes unreachable: %s", list);
		return EXIT_FAILURE;
	}
	return 0;
}

int cmd_fault(struct ctl_opts *o, int argc, char **argv)
{
	const struct qbd_node_addr *n;
	struct qbd_cluster c;
	char text[MAX_FAULT_TEXT], err[QBD_ERRLEN];
	char *json = NULL;
	size_t off = 0;
	uint32_t id;
	int first, i, r;

	first = ctl_getopt(o, "fault", argc, argv, NULL, NULL, NULL);
	if (first < 0)
		return EXIT_USAGE;
	if (argc - first < 2)
		return ctl_usage_err("fault", "want NODE_ID key=value...");
	if (ctl_parse_u32(argv[first], &id))
		return ctl_usage_err("fault", "bad node id '%s'", argv[first]);
	text[0] = 0;
	for (i = first + 1; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');

		if (!eq || eq == argv[i] || !eq[1] || strpbrk(argv[i], " \t\n"))
			return ctl_usage_err("fault", "bad knob '%s': want key=value",
					     argv[i]);
		r = snprintf(text + off, sizeof(text) - off, "%s%s",
			     off ? " " : "", argv[i]);
		if (r < 0 || (size_t)r >= sizeof(text) - off)
			return ctl_usage_err("fault", "too many knobs");
		off += (size_t)r;
	}
	if (ctl_load_cluster(o, &c))
		return EXIT_FAILURE;
	n = ctl_node_by_id(&c, id, NULL);
	if (!n) {
		ctl_err("no node %u in the cluster config", id);
		return EXIT_FAILURE;
	}
	r = qbd_admin(n, QBD_ADMIN_FAULT, text, &json, ADMIN_TIMEOUT_MS, err,
		      sizeof(err));
	if (r) {
		ctl_err("fault on node %u (%s:%u): %s", id, n->host, n->port,
			err);
		free(json);
		return EXIT_FAILURE;
	}
	if (o->json)
		printf("%s\n", json && *json ? json : "{}");
	else
		printf("node %u: %s\n", id, text);
	free(json);
	return 0;
}
