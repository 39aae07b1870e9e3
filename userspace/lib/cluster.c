// SPDX-License-Identifier: GPL-2.0
/*
 * Cluster config parsing (format in qbd_cluster.h). Strict: every line is
 * either blank, a comment or "<id> <az> <host>:<port>"; anything else is
 * an error naming the line, so a typo never silently drops a node.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qbd_cluster.h"
#include "qbd_conn.h"

static int line_err(char *err, size_t errlen, const char *name, int line,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int line_err(char *err, size_t errlen, const char *name, int line,
		    const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err && errlen)
		snprintf(err, errlen, "%s:%d: %s", name, line, msg);
	return -EINVAL;
}

static int parse_u32(const char *s, u32 *out)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 0xffffffffUL)
		return -EINVAL;
	*out = (u32)v;
	return 0;
}

static int parse_az(const char *s, u32 *az)
{
	if (!strncmp(s, "az-", 3) && s[3] >= 'a' && s[3] <= 'z' && !s[4]) {
		*az = (u32)(s[3] - 'a');
		return 0;
	}
	return parse_u32(s, az);
}

static int parse_line(char *p, const char *name, int line,
		      struct qbd_cluster *c, char *err, size_t errlen)
{
	char *tok[4], *save = NULL;
	struct qbd_node_addr *n;
	int nt = 0;
	u32 i;

	for (char *t = strtok_r(p, " \t", &save); t;
	     t = strtok_r(NULL, " \t", &save)) {
		if (nt == 3)
			return line_err(err, errlen, name, line,
					"too many fields (want: id az host:port)");
		tok[nt++] = t;
	}
	if (nt != 3)
		return line_err(err, errlen, name, line,
				"expected 3 fields 'id az host:port', got %d",
				nt);
	if (c->nnodes >= QBD_MAX_NODES)
		return line_err(err, errlen, name, line,
				"more than %d nodes", QBD_MAX_NODES);
	n = &c->node[c->nnodes];
	memset(n, 0, sizeof(*n));
	if (parse_u32(tok[0], &n->id))
		return line_err(err, errlen, name, line,
				"bad node id '%s'", tok[0]);
	if (parse_az(tok[1], &n->az))
		return line_err(err, errlen, name, line,
				"bad az '%s' (want az-a, az-b, ... or a number)",
				tok[1]);
	if (qbd_parse_hostport(tok[2], n->host, sizeof(n->host), &n->port))
		return line_err(err, errlen, name, line,
				"bad address '%s' (want host:port)", tok[2]);
	for (i = 0; i < c->nnodes; i++)
		if (c->node[i].id == n->id)
			return line_err(err, errlen, name, line,
					"duplicate node id %u", n->id);
	c->nnodes++;
	return 0;
}

int qbd_cluster_parse(const char *text, const char *name,
		      struct qbd_cluster *c, char *err, size_t errlen)
{
	char *copy = strdup(text), *p, *nl;
	int line = 0, r = 0;

	if (!copy)
		return -ENOMEM;
	memset(c, 0, sizeof(*c));
	for (p = copy; p && *p && !r; p = nl) {
		char *e;

		nl = strchr(p, '\n');
		if (nl)
			*nl++ = 0;
		line++;
		e = strchr(p, '#');
		if (e)
			*e = 0;
		e = p + strlen(p);
		while (e > p && isspace((unsigned char)e[-1]))
			*--e = 0;
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			continue;
		r = parse_line(p, name, line, c, err, errlen);
	}
	free(copy);
	if (!r && !c->nnodes)
		r = line_err(err, errlen, name, line, "no nodes");
	return r;
}

const char *qbd_cluster_default_dir(char *buf, size_t len)
{
	const char *d = getenv("QBD_CLUSTER_DIR");

	snprintf(buf, len, "%s", d && *d ? d : "./qbd-data");
	return buf;
}

const char *qbd_cluster_default_path(char *buf, size_t len)
{
	const char *p = getenv("QBD_CLUSTER_CONF");
	char dir[400];

	if (p && *p)
		snprintf(buf, len, "%s", p);
	else
		snprintf(buf, len, "%s/cluster.conf",
			 qbd_cluster_default_dir(dir, sizeof(dir)));
	return buf;
}

int qbd_cluster_load(const char *path, struct qbd_cluster *c, char *err,
		     size_t errlen)
{
	char def[512], *text = NULL;
	size_t cap = 0, n = 0;
	FILE *f;
	int r;

	if (!path)
		path = qbd_cluster_default_path(def, sizeof(def));
	f = fopen(path, "r");
	if (!f) {
		r = -errno;
		snprintf(err, errlen, "cannot open cluster config %s: %s",
			 path, strerror(errno));
		return r;
	}
	for (;;) {
		if (n + 4096 + 1 > cap) {
			char *t = realloc(text, cap + 8192);

			if (!t) {
				free(text);
				fclose(f);
				return -ENOMEM;
			}
			text = t;
			cap += 8192;
		}
		size_t got = fread(text + n, 1, 4096, f);

		n += got;
		if (got < 4096)
			break;
	}
	fclose(f);
	text[n] = 0;
	r = qbd_cluster_parse(text, path, c, err, errlen);
	free(text);
	if (!r)
		snprintf(c->path, sizeof(c->path), "%s", path);
	return r;
}

const char *qbd_az_name(u32 az, char *buf, size_t len)
{
	if (az < 26)
		snprintf(buf, len, "az-%c", 'a' + az);
	else
		snprintf(buf, len, "%u", az);
	return buf;
}
