// SPDX-License-Identifier: GPL-2.0
/*
 * qbdctl monitor [--json]: subscribe to the family's multicast group and
 * print one line per event, flushed at once so a supervisor can read them
 * from a pipe:
 *
 *   LINK_DEAD dev=0 epoch=4 node=3
 *   NODE_LAGGING dev=0 epoch=4 node=5
 *   FENCED dev=0 epoch=4
 *
 * (epoch= only when the kernel sends QBD_ATTR_EPOCH). With --json:
 * {"event":"link_dead","index":0,"epoch":4,"nodes":[3]}. Runs until
 * killed or the socket fails.
 */
#include <getopt.h>
#include <stdlib.h>
#include <netlink/genl/genl.h>

#include "nl.h"
#include "qbdctl.h"

static const char *event_name(uint8_t cmd, bool json)
{
	switch (cmd) {
	case QBD_CMD_LINK_DEAD:
		return json ? "link_dead" : "LINK_DEAD";
	case QBD_CMD_NODE_LAGGING:
		return json ? "node_lagging" : "NODE_LAGGING";
	case QBD_CMD_FENCED:
		return json ? "fenced" : "FENCED";
	}
	return NULL;
}

static int print_event(uint8_t cmd, struct nlattr **tb, void *arg)
{
	bool json = *(bool *)arg;
	const char *name = event_name(cmd, json);
	struct nlattr *pos;
	int rem, n = 0;

	if (!name)
		return 0;
	if (json)
		printf("{\"event\":\"%s\"", name);
	else
		printf("%s", name);
	if (tb[QBD_ATTR_INDEX])
		printf(json ? ",\"index\":%u" : " dev=%u",
		       nla_get_u32(tb[QBD_ATTR_INDEX]));
	if (tb[QBD_ATTR_EPOCH])
		printf(json ? ",\"epoch\":%llu" : " epoch=%llu",
		       (unsigned long long)nla_get_u64(tb[QBD_ATTR_EPOCH]));
	if (json)
		fputs(",\"nodes\":[", stdout);
	if (tb[QBD_ATTR_NODES])
		nla_for_each_nested(pos, tb[QBD_ATTR_NODES], rem) {
			struct nlattr *nt[QBD_NODE_MAX + 1];

			if (nla_parse_nested(nt, QBD_NODE_MAX, pos,
					     qbd_node_policy) < 0 ||
			    !nt[QBD_NODE_ID])
				continue;
			printf(json ? "%s%u" : "%snode=%u",
			       json ? (n ? "," : "") : " ",
			       nla_get_u32(nt[QBD_NODE_ID]));
			n++;
		}
	fputs(json ? "]}\n" : "\n", stdout);
	fflush(stdout);
	return 0;
}

int cmd_monitor(struct ctl_opts *o, int argc, char **argv)
{
	struct qbd_nl nl;
	int first, r;

	first = ctl_getopt(o, "monitor", argc, argv, NULL, NULL, NULL);
	if (first < 0)
		return EXIT_USAGE;
	if (argc > first)
		return ctl_usage_err("monitor", "unexpected argument '%s'",
				     argv[first]);
	if (qbd_nl_open(&nl))
		return EXIT_FAILURE;
	r = qbd_nl_monitor(&nl, print_event, &o->json);
	qbd_nl_close(&nl);
	return r ? EXIT_FAILURE : 0;
}
