/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qbdctl: the qbd admin CLI. One file per concern:
 *   main.c         global options, command table, usage, dispatch
 *   util.c         errors, size parsing, device names, JSON output helpers
 *   nl.c           libnl-genl-3 helpers for the "qbd" family (request/reply,
 *                  errors, attribute policies, the event group)
 *   cluster.c      loading the cluster config and catalog for a command
 *   cmd_create.c   create, volumes
 *   cmd_attach.c   attach, reconnect (sockets + recovery + CONNECT/RECONF)
 *   cmd_detach.c   detach
 *   cmd_status.c   status, list
 *   cmd_node.c     node-status, fault (ADMIN messages to qbd-stored)
 *   cmd_monitor.c  monitor (multicast events)
 *
 * Every command returns a process exit status: 0 on success, EXIT_USAGE for
 * bad arguments (nothing was changed), EXIT_FAILURE for anything else. Each
 * failure prints one clear line to stderr prefixed with "qbdctl: ".
 */
#ifndef QBDCTL_H
#define QBDCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define EXIT_USAGE	2

struct ctl_opts {
	const char *cluster_dir;	/* --cluster DIR: DIR/cluster.conf */
	const char *config;		/* --config FILE */
	bool json;			/* --json */
};

struct ctl_cmd {
	const char *name;
	const char *args;	/* usage synopsis after the name */
	const char *help;	/* one line */
	int (*run)(struct ctl_opts *o, int argc, char **argv);
};

/* util.c */
void ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int ctl_usage_err(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ctl_print_usage(FILE *f, const char *cmd);
int ctl_parse_size(const char *s, uint64_t *out);
int ctl_parse_u64(const char *s, uint64_t *out);
int ctl_parse_u32(const char *s, uint32_t *out);
void ctl_fmt_size(uint64_t bytes, char *buf, size_t len);
int ctl_parse_device(const char *s, uint32_t *index);
void ctl_json_str(FILE *f, const char *s);
/*
 * Parse the options of a command with getopt_long: the command's own long
 * options plus the global --cluster, --config, --json, --help. Returns the
 * index of the first positional argument, or -1 after printing the error
 * (usage) for an unknown or malformed option.
 */
struct option;
typedef int (*ctl_opt_fn)(int opt, const char *arg, void *ctx);
int ctl_getopt(struct ctl_opts *o, const char *cmd, int argc, char **argv,
	       const struct option *extra, ctl_opt_fn fn, void *ctx);

/* commands */
int cmd_create(struct ctl_opts *o, int argc, char **argv);
int cmd_volumes(struct ctl_opts *o, int argc, char **argv);
int cmd_attach(struct ctl_opts *o, int argc, char **argv);
int cmd_reconnect(struct ctl_opts *o, int argc, char **argv);
int cmd_detach(struct ctl_opts *o, int argc, char **argv);
int cmd_status(struct ctl_opts *o, int argc, char **argv);
int cmd_list(struct ctl_opts *o, int argc, char **argv);
int cmd_node_status(struct ctl_opts *o, int argc, char **argv);
int cmd_fault(struct ctl_opts *o, int argc, char **argv);
int cmd_monitor(struct ctl_opts *o, int argc, char **argv);

extern const struct ctl_cmd ctl_cmds[];

#endif /* QBDCTL_H */
