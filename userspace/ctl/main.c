// SPDX-License-Identifier: GPL-2.0
/*
 * qbdctl entry point: global options, the command table and dispatch.
 *
 *   qbdctl [--cluster DIR | --config FILE] [--json] COMMAND [ARGS...]
 *
 * Global options may also follow the command name. Bad arguments print the
 * command's usage and exit with status 2 before anything is touched.
 */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "qbdctl.h"

const struct ctl_cmd ctl_cmds[] = {
	{ "create", "VOLUME --size SIZE [--pg-size SIZE]",
	  "record a volume in the catalog and create its segments", cmd_create },
	{ "attach", "VOLUME [--timeout-ms N] [--dead-timeout-ms N] [--window N]",
	  "recover a volume and attach it as /dev/qbdN", cmd_attach },
	{ "detach", "DEVICE|VOLUME [--abort]",
	  "detach a device (flush first unless --abort)", cmd_detach },
	{ "status", "[DEVICE] [--json]",
	  "VCL, VDL, epoch, state and per-node state of attached devices",
	  cmd_status },
	{ "list", "[--json]", "one line per attached device", cmd_list },
	{ "reconnect", "DEVICE NODE_ID",
	  "give a device a fresh socket to one node", cmd_reconnect },
	{ "node-status", "[NODE_ID] [--json]",
	  "ask storage nodes for their status (no kernel needed)",
	  cmd_node_status },
	{ "fault", "NODE_ID key=value...",
	  "set fault injection knobs on a storage node", cmd_fault },
	{ "volumes", "[--json]", "list the volumes in the catalog", cmd_volumes },
	{ "monitor", "[--json]", "print LINK_DEAD / NODE_LAGGING / FENCED events",
	  cmd_monitor },
	{ NULL, NULL, NULL, NULL },
};

static const struct ctl_cmd *find_cmd(const char *name)
{
	const struct ctl_cmd *c;

	for (c = ctl_cmds; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cluster", required_argument, NULL, 'C' },
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_opts o = { 0 };
	const struct ctl_cmd *cmd;
	int c;

	/* a node closing its socket must not kill us mid-recovery */
	signal(SIGPIPE, SIG_IGN);
	qbd_log_set_name("qbdctl");

	/* global options stop at the command name */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			o.cluster_dir = optarg;
			break;
		case 'c':
			o.config = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 'h':
			ctl_print_usage(stdout, NULL);
			return 0;
		default:
			return ctl_usage_err(NULL, "unknown option '%s'",
					     argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return ctl_usage_err(NULL, "missing command");
	if (!strcmp(argv[optind], "help")) {
		ctl_print_usage(stdout, optind + 1 < argc ? argv[optind + 1] :
				NULL);
		return 0;
	}
	cmd = find_cmd(argv[optind]);
	if (!cmd)
		return ctl_usage_err(NULL, "unknown command '%s'",
				     argv[optind]);
	if (o.cluster_dir && o.config)
		return ctl_usage_err(NULL,
				     "--cluster and --config are exclusive");
	return cmd->run(&o, argc - optind, argv + optind);
}
