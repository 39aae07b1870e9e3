// SPDX-License-Identifier: GPL-2.0
/*
 * qbdctl status / list: QBD_CMD_STATUS and its rendering.
 *
 * The kernel answers with QBD_ATTR_DEVICE_LIST (one QBD_DEVICE_ITEM per
 * device, each nesting the top-level attributes) or, for one device, may put
 * the attributes at the top level; both shapes are accepted. Attributes the
 * kernel does not send are shown as "-" (null in JSON), so qbdctl keeps
 * working when the kernel adds or omits a counter.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <netlink/genl/genl.h>

#include "cluster.h"
#include "nl.h"
#include "qbdctl.h"

#define HAS(d, a)	((d)->present & (1U << (a)))

static void parse_node(struct nlattr *item, struct qbd_node_status *n)
{
	struct nlattr *tb[QBD_NODE_MAX + 1];
	int a;

	memset(n, 0, sizeof(*n));
	if (nla_parse_nested(tb, QBD_NODE_MAX, item, qbd_node_policy) < 0)
		return;
	for (a = 1; a <= QBD_NODE_MAX; a++)
		if (tb[a])
			n->present |= 1U << a;
#define U32(attr, field) do { if (tb[attr]) n->field = nla_get_u32(tb[attr]); } while (0)
#define U64(attr, field) do { if (tb[attr]) n->field = nla_get_u64(tb[attr]); } while (0)
	U32(QBD_NODE_ID, id);
	U32(QBD_NODE_AZ, az);
	U32(QBD_NODE_STATE, state);
	U32(QBD_NODE_INFLIGHT, inflight);
	U32(QBD_NODE_LAT_US, lat_us);
	U64(QBD_NODE_SCL, scl);
	U64(QBD_NODE_SENT_BYTES, sent_bytes);
	U64(QBD_NODE_ACKS, acks);
	U64(QBD_NODE_READS, reads);
	U64(QBD_NODE_ERRORS, errors);
#undef U32
#undef U64
	if (tb[QBD_NODE_PG_SCL] && nla_len(tb[QBD_NODE_PG_SCL]) % 8 == 0 &&
	    nla_len(tb[QBD_NODE_PG_SCL]) > 0) {
		n->npgs = nla_len(tb[QBD_NODE_PG_SCL]) / 8;
		n->pg_scl = malloc(n->npgs * sizeof(uint64_t));
		if (n->pg_scl)
			memcpy(n->pg_scl, nla_data(tb[QBD_NODE_PG_SCL]),
			       n->npgs * sizeof(uint64_t));
		else
			n->npgs = 0;
	}
}

static void parse_dev(struct nlattr **tb, struct qbd_dev_status *d)
{
	struct nlattr *pos;
	int a, rem;

	memset(d, 0, sizeof(*d));
	for (a = 1; a <= QBD_ATTR_MAX; a++)
		if (tb[a])
			d->present |= 1U << a;
#define U32(attr, field) do { if (tb[attr]) d->field = nla_get_u32(tb[attr]); } while (0)
#define U64(attr, field) do { if (tb[attr]) d->field = nla_get_u64(tb[attr]); } while (0)
	U32(QBD_ATTR_INDEX, index);
	U32(QBD_ATTR_STATE, state);
	U32(QBD_ATTR_WINDOW, window);
	U32(QBD_ATTR_IO_TIMEOUT, io_timeout);
	U32(QBD_ATTR_DEAD_TIMEOUT, dead_timeout);
	U32(QBD_ATTR_FLAGS, flags);
	U64(QBD_ATTR_SIZE_BYTES, size);
	U64(QBD_ATTR_PG_SIZE, pg_size);
	U64(QBD_ATTR_VOLUME_ID, volume_id);
	U64(QBD_ATTR_EPOCH, epoch);
	U64(QBD_ATTR_VCL, vcl);
	U64(QBD_ATTR_VDL, vdl);
	U64(QBD_ATTR_NEXT_LSN, next_lsn);
#undef U32
#undef U64
	if (tb[QBD_ATTR_COUNTERS]) {
		struct nlattr *ct[QBD_CTR_MAX + 1];

		if (!nla_parse_nested(ct, QBD_CTR_MAX, tb[QBD_ATTR_COUNTERS],
				      qbd_ctr_policy))
			for (a = 1; a <= QBD_CTR_MAX; a++)
				if (ct[a]) {
					d->ctr[a] = nla_get_u64(ct[a]);
					d->ctr_present |= 1U << a;
				}
	}
	if (tb[QBD_ATTR_NODES])
		nla_for_each_nested(pos, tb[QBD_ATTR_NODES], rem) {
			if (nla_type(pos) != QBD_NODE_ITEM ||
			    d->nnodes >= QBD_STATUS_MAX_NODES)
				continue;
			parse_node(pos, &d->nodes[d->nnodes++]);
		}
}

static struct qbd_dev_status *list_add(struct qbd_dev_list *l)
{
	struct qbd_dev_status *n;

	n = realloc(l->dev, (l->n + 1) * sizeof(*n));
	if (!n)
		return NULL;
	l->dev = n;
	return &l->dev[l->n++];
}

static int status_reply(struct nlattr **tb, void *arg)
{
	struct qbd_dev_list *l = arg;
	struct qbd_dev_status *d;
	struct nlattr *pos;
	int rem;

	if (!tb[QBD_ATTR_DEVICE_LIST]) {
		if (!tb[QBD_ATTR_INDEX])
			return 0;	/* empty answer: no devices */
		d = list_add(l);
		if (!d)
			return -ENOMEM;
		parse_dev(tb, d);
		return 0;
	}
	nla_for_each_nested(pos, tb[QBD_ATTR_DEVICE_LIST], rem) {
		struct nlattr *dt[QBD_ATTR_MAX + 1];

		if (nla_type(pos) != QBD_DEVICE_ITEM)
			continue;
		if (nla_parse_nested(dt, QBD_ATTR_MAX, pos, qbd_attr_policy) < 0)
			return -EPROTO;
		d = list_add(l);
		if (!d)
			return -ENOMEM;
		parse_dev(dt, d);
	}
	return 0;
}

void qbd_dev_list_free(struct qbd_dev_list *l)
{
	int i, j;

	for (i = 0; i < l->n; i++)
		for (j = 0; j < l->dev[i].nnodes; j++)
			free(l->dev[i].nodes[j].pg_scl);
	free(l->dev);
	l->dev = NULL;
	l->n = 0;
}

int qbd_status_get(struct qbd_nl *nl, int index, struct qbd_dev_list *out)
{
	struct nl_msg *msg;
	int r;

	out->n = 0;
	out->dev = NULL;
	msg = qbd_nl_msg(nl, QBD_CMD_STATUS);
	if (!msg)
		return -ENOMEM;
	if (index >= 0 && nla_put_u32(msg, QBD_ATTR_INDEX, (uint32_t)index)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	r = qbd_nl_exec(nl, msg, status_reply, out);
	if (r)
		qbd_dev_list_free(out);
	return r;
}

/* ---- rendering ---- */

/* volume names from the catalog, when there is one: names[i] or "" */
static char (*volume_names(const struct ctl_opts *o,
			   const struct qbd_dev_list *l))[64]
{
	char (*names)[64] = calloc(l->n ? l->n : 1, 64);
	struct qbd_catalog *cat = ctl_open_catalog_quiet(o);
	struct qbd_volume_info v;
	char key[32];
	int i;

	if (!names || !cat)
		goto out;
	for (i = 0; i < l->n; i++) {
		snprintf(key, sizeof(key), "%" PRIu64, l->dev[i].volume_id);
		if (!qbd_catalog_get_volume(cat, key, &v))
			snprintf(names[i], 64, "%s", v.name);
	}
out:
	if (cat)
		qbd_catalog_close(cat);
	return names;
}

static void put_u64(FILE *f, const struct qbd_dev_status *d, int attr,
		    uint64_t v)
{
	if (HAS(d, attr))
		fprintf(f, "%" PRIu64, v);
	else
		fputc('-', f);
}

static void print_dev_human(FILE *f, const struct qbd_dev_status *d,
			    const char *name)
{
	char size[32], pg[32];
	int i, c;

	ctl_fmt_size(d->size, size, sizeof(size));
	ctl_fmt_size(d->pg_size, pg, sizeof(pg));
	fprintf(f, "/dev/qbd%u: volume %s%s%" PRIu64 "%s, %s, PG size %s, epoch %"
		PRIu64 ", state %s%s\n", d->index, name, *name ? " (id " : "",
		d->volume_id, *name ? ")" : "", size, pg, d->epoch,
		HAS(d, QBD_ATTR_STATE) ? qbd_dev_state_str(d->state) : "-",
		d->flags & QBD_CFLAG_READ_ONLY ? " (read-only)" : "");
	fputs("  VCL ", f);
	put_u64(f, d, QBD_ATTR_VCL, d->vcl);
	fputs("  VDL ", f);
	put_u64(f, d, QBD_ATTR_VDL, d->vdl);
	if (HAS(d, QBD_ATTR_WINDOW))
		fprintf(f, "  window %u", d->window);
	if (HAS(d, QBD_ATTR_IO_TIMEOUT))
		fprintf(f, "  io-timeout %u ms", d->io_timeout);
	if (HAS(d, QBD_ATTR_DEAD_TIMEOUT))
		fprintf(f, "  dead-timeout %u ms", d->dead_timeout);
	fputc('\n', f);
	if (d->ctr_present) {
		fputs("  counters:", f);
		for (c = 1; c <= QBD_CTR_MAX; c++)
			if (d->ctr_present & (1U << c))
				fprintf(f, " %s=%" PRIu64, qbd_ctr_str(c),
					d->ctr[c]);
		fputc('\n', f);
	}
	if (!d->nnodes)
		return;
	fprintf(f, "  %-4s %-3s %-8s %12s %8s %12s %10s %8s %8s\n", "node", "az",
		"state", "SCL", "inflight", "acks", "reads", "errors", "lat_us");
	for (i = 0; i < d->nnodes; i++) {
		const struct qbd_node_status *n = &d->nodes[i];

		fprintf(f, "  %-4u %-3u %-8s %12" PRIu64 " %8u %12" PRIu64
			" %10" PRIu64 " %8" PRIu64 " %8u\n", n->id, n->az,
			qbd_node_state_str(n->state), n->scl, n->inflight,
			n->acks, n->reads, n->errors, n->lat_us);
	}
}

static void json_kv(FILE *f, const char *k, bool present, uint64_t v,
		    bool *first)
{
	fprintf(f, "%s\"%s\":", *first ? "" : ",", k);
	*first = false;
	if (present)
		fprintf(f, "%" PRIu64, v);
	else
		fputs("null", f);
}

static void print_node_json(FILE *f, const struct qbd_node_status *n)
{
	bool first = true;
	uint32_t i;

#define NP(a) (!!(n->present & (1U << (a))))
	fputc('{', f);
	json_kv(f, "id", NP(QBD_NODE_ID), n->id, &first);
	json_kv(f, "az", NP(QBD_NODE_AZ), n->az, &first);
	fprintf(f, ",\"state\":\"%s\"", NP(QBD_NODE_STATE) ?
		qbd_node_state_str(n->state) : "unknown");
	json_kv(f, "scl", NP(QBD_NODE_SCL), n->scl, &first);
	json_kv(f, "inflight", NP(QBD_NODE_INFLIGHT), n->inflight, &first);
	json_kv(f, "sent_bytes", NP(QBD_NODE_SENT_BYTES), n->sent_bytes, &first);
	json_kv(f, "acks", NP(QBD_NODE_ACKS), n->acks, &first);
	json_kv(f, "reads", NP(QBD_NODE_READS), n->reads, &first);
	json_kv(f, "errors", NP(QBD_NODE_ERRORS), n->errors, &first);
	json_kv(f, "lat_us", NP(QBD_NODE_LAT_US), n->lat_us, &first);
#undef NP
	fputs(",\"pg_scl\":[", f);
	for (i = 0; i < n->npgs; i++)
		fprintf(f, "%s%" PRIu64, i ? "," : "", n->pg_scl[i]);
	fputs("]}", f);
}

static void print_dev_json(FILE *f, const struct qbd_dev_status *d,
			   const char *name, bool full)
{
	bool first = true;
	int i, c;

	fputc('{', f);
	json_kv(f, "index", true, d->index, &first);
	fprintf(f, ",\"device\":\"/dev/qbd%u\",\"volume\":", d->index);
	if (*name)
		ctl_json_str(f, name);
	else
		fputs("null", f);
	json_kv(f, "volume_id", HAS(d, QBD_ATTR_VOLUME_ID), d->volume_id, &first);
	json_kv(f, "size_bytes", HAS(d, QBD_ATTR_SIZE_BYTES), d->size, &first);
	json_kv(f, "pg_size", HAS(d, QBD_ATTR_PG_SIZE), d->pg_size, &first);
	json_kv(f, "epoch", HAS(d, QBD_ATTR_EPOCH), d->epoch, &first);
	fprintf(f, ",\"state\":\"%s\"", HAS(d, QBD_ATTR_STATE) ?
		qbd_dev_state_str(d->state) : "unknown");
	json_kv(f, "vcl", HAS(d, QBD_ATTR_VCL), d->vcl, &first);
	json_kv(f, "vdl", HAS(d, QBD_ATTR_VDL), d->vdl, &first);
	if (full) {
		json_kv(f, "window", HAS(d, QBD_ATTR_WINDOW), d->window, &first);
		json_kv(f, "io_timeout_ms", HAS(d, QBD_ATTR_IO_TIMEOUT),
			d->io_timeout, &first);
		json_kv(f, "dead_timeout_ms", HAS(d, QBD_ATTR_DEAD_TIMEOUT),
			d->dead_timeout, &first);
		fprintf(f, ",\"read_only\":%s",
			d->flags & QBD_CFLAG_READ_ONLY ? "true" : "false");
		fputs(",\"counters\":{", f);
		for (c = 1, first = true; c <= QBD_CTR_MAX; c++)
			if (d->ctr_present & (1U << c))
				json_kv(f, qbd_ctr_str(c), true, d->ctr[c],
					&first);
		fputs("},\"nodes\":[", f);
		for (i = 0; i < d->nnodes; i++) {
			if (i)
				fputc(',', f);
			print_node_json(f, &d->nodes[i]);
		}
		fputc(']', f);
	}
	fputc('}', f);
}

static void print_list_json(const struct qbd_dev_list *l, char (*names)[64],
			    bool full)
{
	int i;

	fputs("{\"devices\":[", stdout);
	for (i = 0; i < l->n; i++) {
		if (i)
			fputc(',', stdout);
		print_dev_json(stdout, &l->dev[i], names ? names[i] : "", full);
	}
	fputs("]}\n", stdout);
}

/* fetch status, turning the kernel's "no such device" into a clear line */
static int fetch(struct qbd_nl *nl, int index, struct qbd_dev_list *l,
		 const char *what)
{
	int r = qbd_status_get(nl, index, l);

	if (r == -ENODEV || r == -ENOENT || (r == -EINVAL && index >= 0)) {
		ctl_err("no such device /dev/qbd%d%s%s%s", index,
			nl->errmsg[0] ? " (" : "", nl->errmsg,
			nl->errmsg[0] ? ")" : "");
		return -1;
	}
	if (r) {
		qbd_nl_perror(nl, what, r);
		return -1;
	}
	if (index >= 0 && l->n == 0) {
		ctl_err("no such device /dev/qbd%d", index);
		return -1;
	}
	return 0;
}

int cmd_status(struct ctl_opts *o, int argc, char **argv)
{
	struct qbd_dev_list l;
	struct qbd_nl nl;
	char (*names)[64];
	uint32_t index;
	int first, i, ret = EXIT_FAILURE;

	first = ctl_getopt(o, "status", argc, argv, NULL, NULL, NULL);
	if (first < 0)
		return EXIT_USAGE;
	if (argc - first > 1)
		return ctl_usage_err("status", "too many arguments");
	if (argc - first == 1 && ctl_parse_device(argv[first], &index))
		return ctl_usage_err("status", "bad device '%s' (want /dev/qbdN)",
				     argv[first]);
	if (qbd_nl_open(&nl))
		return EXIT_FAILURE;
	if (fetch(&nl, argc - first == 1 ? (int)index : -1, &l, "status"))
		goto out;
	names = volume_names(o, &l);
	if (o->json) {
		print_list_json(&l, names, true);
	} else if (!l.n) {
		printf("no qbd devices attached\n");
	} else {
		for (i = 0; i < l.n; i++)
			print_dev_human(stdout, &l.dev[i],
					names ? names[i] : "");
	}
	free(names);
	qbd_dev_list_free(&l);
	ret = 0;
out:
	qbd_nl_close(&nl);
	return ret;
}

int cmd_list(struct ctl_opts *o, int argc, char **argv)
{
	struct qbd_dev_list l;
	struct qbd_nl nl;
	char (*names)[64];
	int first, i, ret = EXIT_FAILURE;

	first = ctl_getopt(o, "list", argc, argv, NULL, NULL, NULL);
	if (first < 0)
		return EXIT_USAGE;
	if (argc > first)
		return ctl_usage_err("list", "unexpected argument '%s'",
				     argv[first]);
	if (qbd_nl_open(&nl))
		return EXIT_FAILURE;
	if (fetch(&nl, -1, &l, "list"))
		goto out;
	names = volume_names(o, &l);
	if (o->json) {
		print_list_json(&l, names, false);
	} else {
		for (i = 0; i < l.n; i++) {
			const struct qbd_dev_status *d = &l.dev[i];
			char size[32];

			ctl_fmt_size(d->size, size, sizeof(size));
			printf("/dev/qbd%u volume=%s id=%" PRIu64 " size=%s epoch=%"
			       PRIu64 " state=%s vcl=%" PRIu64 " vdl=%" PRIu64
			       "\n", d->index, names && names[i][0] ? names[i] :
			       "-", d->volume_id, size, d->epoch,
			       qbd_dev_state_str(d->state), d->vcl, d->vdl);
		}
	}
	free(names);
	qbd_dev_list_free(&l);
	ret = 0;
out:
	qbd_nl_close(&nl);
	return ret;
}
