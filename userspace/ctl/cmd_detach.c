// SPDX-License-Identifier: GPL-2.0
/*
 * qbdctl detach DEVICE|VOLUME [--abort]: QBD_CMD_DISCONNECT.
 *
 * A device is named /dev/qbdN or qbdN; anything else is a volume name (or
 * id) looked up in the catalog and matched against the VOLUME_ID of the
 * attached devices. Without --abort the kernel completes in-flight I/O
 * first; with --abort (QBD_CFLAG_ABORT) it fails it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <string.h>
#include <netlink/genl/genl.h>

#include "cluster.h"
#include "nl.h"
#include "qbdctl.h"

static int detach_opt(int opt, const char *arg, void *ctx)
{
	*(bool *)ctx = true;
	return 0;
}

/* the device index holding the volume named by key; -1 after an error */
static int volume_to_index(struct ctl_opts *o, struct qbd_nl *nl,
			   const char *key)
{
	struct qbd_catalog *cat;
	struct qbd_volume_info v;
	struct qbd_dev_list l;
	int i, r, index = -1;

	if (ctl_open_catalog(o, &cat))
		return -1;
	r = ctl_find_volume(cat, key, &v);
	qbd_catalog_close(cat);
	if (r)
		return -1;
	r = qbd_status_get(nl, -1, &l);
	if (r) {
		qbd_nl_perror(nl, "status", r);
		return -1;
	}
	for (i = 0; i < l.n; i++)
		if (l.dev[i].volume_id == v.id)
			index = (int)l.dev[i].index;
	qbd_dev_list_free(&l);
	if (index < 0)
		ctl_err("volume '%s' is not attached", v.name);
	return index;
}

int cmd_detach(struct ctl_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "abort", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct qbd_nl nl;
	struct nl_msg *msg;
	bool abort_io = false;
	uint32_t index;
	int first, idx, r, ret = EXIT_FAILURE;
	const char *what;

	first = ctl_getopt(o, "detach", argc, argv, opts, detach_opt,
			   &abort_io);
	if (first < 0)
		return EXIT_USAGE;
	if (argc - first != 1)
		return ctl_usage_err("detach", argc == first ?
				     "missing DEVICE or VOLUME" :
				     "too many arguments");
	what = argv[first];
	idx = -1;
	if (!strncmp(what, "/dev/", 5) || !strncmp(what, "qbd", 3)) {
		if (ctl_parse_device(what, &index))
			return ctl_usage_err("detach", "bad device '%s'", what);
		idx = (int)index;
	}
	if (qbd_nl_open(&nl))
		return EXIT_FAILURE;
	if (idx < 0) {
		idx = volume_to_index(o, &nl, what);
		if (idx < 0)
			goto out;
	}
	msg = qbd_nl_msg(&nl, QBD_CMD_DISCONNECT);
	if (!msg)
		goto out;
	if (nla_put_u32(msg, QBD_ATTR_INDEX, (uint32_t)idx) ||
	    (abort_io && nla_put_u32(msg, QBD_ATTR_FLAGS, QBD_CFLAG_ABORT))) {
		nlmsg_free(msg);
		goto out;
	}
	r = qbd_nl_exec(&nl, msg, NULL, NULL);
	if (r == -ENODEV || r == -ENOENT) {
		ctl_err("no such device /dev/qbd%d", idx);
		goto out;
	}
	if (r) {
		qbd_nl_perror(&nl, "detach", r);
		goto out;
	}
	printf("/dev/qbd%d detached%s\n", idx, abort_io ? " (aborted)" : "");
	ret = 0;
out:
	qbd_nl_close(&nl);
	return ret;
}
