// SPDX-License-Identifier: GPL-2.0
/*
 * Small helpers shared by the qbdctl commands: error and usage messages,
 * strict number/size/device parsing (a bad argument is reported, never
 * silently truncated), a getopt_long wrapper that adds the global options to
 * every command, and JSON string escaping.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "qbdctl.h"

void ctl_err(const char *fmt, ...)
{
	va_list ap;

	fputs("qbdctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void ctl_print_usage(FILE *f, const char *name)
{
	const struct ctl_cmd *c;

	for (c = ctl_cmds; c->name; c++) {
		if (name && strcmp(name, c->name))
			continue;
		if (name) {
			fprintf(f, "usage: qbdctl [--cluster DIR | --config FILE] %s %s\n  %s\n",
				c->name, c->args, c->help);
			return;
		}
	}
	fprintf(f,
		"usage: qbdctl [--cluster DIR | --config FILE] [--json] COMMAND [ARGS]\n"
		"\n"
		"  --cluster DIR   use DIR/cluster.conf (default: $QBD_CLUSTER, else\n"
		"                  $QBD_CLUSTER_DIR/cluster.conf, else ./qbd-data/cluster.conf)\n"
		"  --config FILE   use this cluster config file\n"
		"\ncommands:\n");
	for (c = ctl_cmds; c->name; c++)
		fprintf(f, "  %-12s %s\n  %-12s   %s\n", c->name, c->args, "",
			c->help);
	fprintf(f, "\nsizes take K, M, G, T suffixes (powers of 1024).\n"
		   "'qbdctl help COMMAND' shows one command.\n");
}

int ctl_usage_err(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("qbdctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ctl_print_usage(stderr, cmd);
	return EXIT_USAGE;
}

int ctl_parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int ctl_parse_u32(const char *s, uint32_t *out)
{
	uint64_t v;

	if (ctl_parse_u64(s, &v) || v > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* "4096", "64K", "10M", "1G", "2T", also "10MiB"/"10MB"; powers of 1024 */
int ctl_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (toupper((unsigned char)*end)) {
	case 0:
		break;
	case 'K':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	case 'T':
		shift = 40;
		break;
	default:
		return -EINVAL;
	}
	if (*end) {
		end++;
		if (!strcasecmp(end, "iB"))
			end += 2;
		else if (!strcasecmp(end, "B"))
			end++;
		if (*end)
			return -EINVAL;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

void ctl_fmt_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned int i = 0;

	while (i < 4 && bytes >= (1024ULL << (10 * i)) &&
	       !(bytes & ((1ULL << (10 * (i + 1))) - 1)))
		i++;
	snprintf(buf, len, "%" PRIu64 " %s", bytes >> (10 * i), unit[i]);
}

/* "/dev/qbd3", "qbd3" or "3" -> 3 */
int ctl_parse_device(const char *s, uint32_t *index)
{
	if (!strncmp(s, "/dev/", 5))
		s += 5;
	if (!strncmp(s, "qbd", 3))
		s += 3;
	return ctl_parse_u32(s, index);
}

void ctl_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

int ctl_getopt(struct ctl_opts *o, const char *cmd, int argc, char **argv,
	       const struct option *extra, ctl_opt_fn fn, void *ctx)
{
	struct option opts[24];
	int n = 0, c;

	opts[n++] = (struct option){ "cluster", required_argument, NULL, 'C' };
	opts[n++] = (struct option){ "config", required_argument, NULL, 'c' };
	opts[n++] = (struct option){ "json", no_argument, NULL, 'j' };
	opts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	for (; extra && extra->name && n < 23; extra++)
		opts[n++] = *extra;
	opts[n] = (struct option){ NULL, 0, NULL, 0 };

	opterr = 0;
	optind = 0;	/* full re-init: main() parsed in "+" mode */
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			o->cluster_dir = optarg;
			break;
		case 'c':
			o->config = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			ctl_print_usage(stdout, cmd);
			exit(0);
		case ':':
			ctl_usage_err(cmd, "option '%s' needs a value",
				      argv[optind - 1]);
			return -1;
		case '?':
			ctl_usage_err(cmd, "unknown option '%s'",
				      argv[optind - 1]);
			return -1;
		default:
			if (!fn || fn(c, optarg, ctx))
				return -1;
		}
	}
	if (o->cluster_dir && o->config) {
		ctl_usage_err(cmd, "--cluster and --config are exclusive");
		return -1;
	}
	return optind;
}
