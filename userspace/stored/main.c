// SPDX-License-Identifier: GPL-2.0
/*
 * qbd-stored: command line, start-up and the event loop.
 *
 *   qbd-stored --node-id N --az NAME --listen 127.0.0.1:PORT --data DIR
 *              [--secret FILE] [--log-level L] [--pid-file FILE]
 *              [--log-file-size BYTES]
 *
 * One iteration of the loop: wait for socket events (or the next timer),
 * read and dispatch every complete message, group-commit the records that
 * arrived (one append + fdatasync per segment), run due timers (gossip,
 * coalescing, scrub), commit what gossip brought, flush all output.
 * SIGTERM/SIGINT end the loop cleanly.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "stored.h"

static int sig_tag;	/* epoll tag of the signalfd */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: qbd-stored --node-id N --az NAME --listen HOST:PORT --data DIR\n"
		"                  [--secret FILE] [--log-level err|warn|info|debug]\n"
		"                  [--pid-file FILE] [--log-file-size BYTES]\n"
		"                  [--retain-max-mb N]\n"
		"Serves segments of qbd volumes; see Documentation/stored.md.\n");
}

static int die_usage(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static int die_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "qbd-stored: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	usage(stderr);
	return 2;
}

static int parse_level(const char *s)
{
	static const char *const names[] = { "err", "warn", "info", "debug" };
	int i;

	if (isdigit((unsigned char)s[0]) && !s[1] && s[0] <= '3')
		return s[0] - '0';
	for (i = 0; i < 4; i++)
		if (!strncmp(s, names[i], strlen(names[i])) ||
		    (i == 0 && !strcmp(s, "error")))
			return i;
	return -1;
}

/*
 * The cluster secret: the file's text without trailing whitespace, zero
 * padded or cut to QBD_AUTH_LEN bytes (as qbd_auth_from_secret() does).
 */
static int read_secret(const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		n--;
	if (!n)
		return -EINVAL;
	buf[n] = 0;
	memset(st->secret, 0, sizeof(st->secret));
	memcpy(st->secret, buf, strnlen(buf, QBD_AUTH_LEN));
	st->have_secret = true;
	return 0;
}

/*
 * AZ number for HELLO_OK: "az-a", "az-b", ... are 0, 1, ... (the names
 * tools/cluster and cluster.conf use); otherwise the trailing digits of the
 * name ("az2" is 2); otherwise a hash of the name.
 */
static uint32_t az_number(const char *az)
{
	size_t len = strlen(az), i = len;

	if (len == 4 && !strncmp(az, "az-", 3) && islower((unsigned char)az[3]))
		return (uint32_t)(az[3] - 'a');
	while (i > 0 && isdigit((unsigned char)az[i - 1]))
		i--;
	if (i < len && len - i < 9)
		return (uint32_t)strtoul(az + i, NULL, 10);
	return qbd_crc32c(az, len) & 0xffff;
}

static int setup_signals(void)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &sig_tag };
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	st->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (st->sfd < 0)
		return -errno;
	return epoll_ctl(st->epfd, EPOLL_CTL_ADD, st->sfd, &ev) ? -errno : 0;
}

static void on_signal(void)
{
	struct signalfd_siginfo si;

	while (read(st->sfd, &si, sizeof(si)) == sizeof(si)) {
		st_info("signal %u: shutting down", si.ssi_signo);
		st->stop = true;
	}
}

static void run_loop(void)
{
	struct epoll_event evs[256];
	uint64_t next_gossip = 0, next_coalesce = 0, next_scrub = 0;

	while (!st->stop) {
		uint64_t now = st_now_ms(), due = next_gossip;
		int n, i, timeout;

		if (next_coalesce < due)
			due = next_coalesce;
		if (next_scrub < due)
			due = next_scrub;
		timeout = due > now ? (int)(due - now) : 0;
		n = epoll_wait(st->epfd, evs, 256, timeout);
		if (n < 0 && errno != EINTR) {
			st_err("epoll_wait: %s", strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			void *tag = evs[i].data.ptr;

			if (!tag)
				st_net_accept();
			else if (tag == &sig_tag)
				on_signal();
			else
				st_net_event(tag, evs[i].events);
		}
		st_log_commit_all();
		now = st_now_ms();
		if (now >= next_gossip) {
			st_gossip_tick();
			next_gossip = now + ST_GOSSIP_MS;
		}
		if (now >= next_coalesce) {
			st_coalesce_tick();
			next_coalesce = now + ST_COALESCE_MS;
		}
		if (now >= next_scrub) {
			st_scrub_tick();
			next_scrub = now + ST_SCRUB_MS;
		}
		st_log_commit_all();
		st_net_flush_all();
		st_net_reap();
	}
}

static int lock_data_dir(void)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/.lock", st->data_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		close(fd);
		return -EBUSY;
	}
	return 0;	/* held until exit */
}

static void shutdown_node(void)
{
	uint32_t i;

	st_net_drop_all(NULL);
	st_net_reap();
	for (i = 0; i < st->nsegs; i++)
		st_seg_free(st->segs[i]);
	free(st->segs);
	free(st->vols);
	free(st->peers);
	st_uring_exit();
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "node-id", required_argument, NULL, 'n' },
		{ "az", required_argument, NULL, 'a' },
		{ "listen", required_argument, NULL, 'l' },
		{ "data", required_argument, NULL, 'd' },
		{ "secret", required_argument, NULL, 's' },
		{ "log-level", required_argument, NULL, 'v' },
		{ "pid-file", required_argument, NULL, 'p' },
		{ "log-file-size", required_argument, NULL, 'f' },
		{ "retain-max-mb", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *listen_arg = NULL, *pid_file = NULL;
	char host[64], *colon, *end;
	bool have_id = false;
	unsigned long port;
	struct stat sb;
	int c, r;

	qbd_log_set_name("qbd-stored");
	st->log_file_max = ST_DEFAULT_LOG_FILE;
	st->retain_max = ST_DEFAULT_RETAIN;
	st->cache_max = ST_CACHE_MAX;
	st->lfd = st->epfd = st->sfd = -1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			errno = 0;
			port = strtoul(optarg, &end, 10);
			if (*end || !*optarg || errno || port > UINT32_MAX)
				return die_usage("bad --node-id '%s'", optarg);
			st->node_id = (uint32_t)port;
			have_id = true;
			break;
		case 'a':
			if (!*optarg || strlen(optarg) >= sizeof(st->az))
				return die_usage("bad --az '%s'", optarg);
			snprintf(st->az, sizeof(st->az), "%s", optarg);
			break;
		case 'l':
			listen_arg = optarg;
			break;
		case 'd':
			if (strlen(optarg) >= sizeof(st->data_dir) - 64)
				return die_usage("--data path too long: %s",
						 optarg);
			snprintf(st->data_dir, sizeof(st->data_dir), "%s",
				 optarg);
			break;
		case 's':
			r = read_secret(optarg);
			if (r) {
				fprintf(stderr, "qbd-stored: cannot read secret %s: %s\n",
					optarg, strerror(-r));
				return 2;
			}
			break;
		case 'v':
			r = parse_level(optarg);
			if (r < 0)
				return die_usage("bad --log-level '%s'", optarg);
			qbd_log_set_level(r);
			break;
		case 'p':
			pid_file = optarg;
			break;
		case 'f':
			st->log_file_max = strtoull(optarg, &end, 0);
			if (*end || st->log_file_max < 4096)
				return die_usage("bad --log-file-size '%s' (>= 4096)",
						 optarg);
			break;
		case 'r': {
			unsigned long long mb = strtoull(optarg, &end, 0);

			if (*end || !*optarg || mb > (1ull << 30))
				return die_usage("bad --retain-max-mb '%s'",
						 optarg);
			st->retain_max = mb << 20;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		return die_usage("unexpected argument '%s'", argv[optind]);
	if (!have_id)
		return die_usage("%s", "--node-id is required");
	if (!st->az[0])
		return die_usage("%s", "--az is required");
	if (!listen_arg)
		return die_usage("%s", "--listen HOST:PORT is required");
	if (!st->data_dir[0])
		return die_usage("%s", "--data DIR is required");
	colon = strrchr(listen_arg, ':');
	if (!colon || colon == listen_arg ||
	    (size_t)(colon - listen_arg) >= sizeof(host))
		return die_usage("bad --listen '%s' (want HOST:PORT)",
				 listen_arg);
	memcpy(host, listen_arg, colon - listen_arg);
	host[colon - listen_arg] = 0;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (*end || !colon[1] || errno || port > 65535)
		return die_usage("bad port in --listen '%s'", listen_arg);
	st->az_num = az_number(st->az);

	if (stat(st->data_dir, &sb)) {
		if (errno != ENOENT || mkdir(st->data_dir, 0755)) {
			fprintf(stderr, "qbd-stored: data dir %s: %s\n",
				st->data_dir, strerror(errno));
			return 1;
		}
	} else if (!S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "qbd-stored: data dir %s is not a directory\n",
			st->data_dir);
		return 1;
	}
	r = lock_data_dir();
	if (r) {
		fprintf(stderr, "qbd-stored: data dir %s: %s\n", st->data_dir,
			r == -EBUSY ? "in use by another qbd-stored" :
			strerror(-r));
		return 1;
	}
	r = st_uring_init(256);
	if (r) {
		fprintf(stderr, "qbd-stored: io_uring: %s\n", strerror(-r));
		return 1;
	}
	st->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (st->epfd < 0 || setup_signals()) {
		fprintf(stderr, "qbd-stored: epoll/signalfd: %s\n",
			strerror(errno));
		return 1;
	}
	r = st_volumes_load();
	if (r) {
		fprintf(stderr, "qbd-stored: loading %s: %s\n", st->data_dir,
			strerror(-r));
		return 1;
	}
	r = st_net_listen(host, (uint16_t)port);
	if (r) {
		fprintf(stderr, "qbd-stored: listen on %s: %s\n", listen_arg,
			strerror(-r));
		return 1;
	}
	if (pid_file) {
		FILE *f = fopen(pid_file, "w");

		if (!f) {
			fprintf(stderr, "qbd-stored: pid file %s: %s\n",
				pid_file, strerror(errno));
			return 1;
		}
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}
	st_info("node %u (az %s) ready on %s:%u, %u segments", st->node_id,
		st->az, host, st->port, st->nsegs);
	/* the line tools and tests wait for, whatever the log level */
	fprintf(stderr, "qbd-stored: node %u ready on %s:%u\n", st->node_id,
		host, st->port);
	run_loop();
	st_log_commit_all();
	st_net_flush_all();
	shutdown_node();
	if (pid_file)
		unlink(pid_file);
	st_info("node %u stopped", st->node_id);
	return 0;
}
