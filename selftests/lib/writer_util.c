// SPDX-License-Identifier: GPL-2.0
/*
 * Writer test helpers: see writer_util.h. The cluster is driven through
 * tools/cluster exactly as a user would, with QBD_STORED pointing at the
 * qbd-stored of the test's own build (build/ or build-san/).
 */
#include <errno.h>
#include <libgen.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "qbd_conn.h"
#include "writer_util.h"

void wt_msleep(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int port_free(u16 port)
{
	struct sockaddr_in a = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	if (fd < 0)
		return 0;
	ok = !bind(fd, (struct sockaddr *)&a, sizeof(a));
	close(fd);
	return ok;
}

static int find_paths(struct wt_cluster *w)
{
	char exe[512], tmp[512];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	const char *env = getenv("QBD_ROOT");

	if (n <= 0)
		return -1;
	exe[n] = 0;
	/* <root>/<build>/tests/test_x */
	snprintf(tmp, sizeof(tmp), "%s", exe);
	snprintf(w->stored, sizeof(w->stored), "%s/qbd-stored",
		 dirname(dirname(tmp)));
	snprintf(tmp, sizeof(tmp), "%s", exe);
	snprintf(w->root, sizeof(w->root), "%s",
		 env && *env ? env : dirname(dirname(dirname(tmp))));
	return 0;
}

static int run_cluster(struct wt_cluster *w, const char *args)
{
	char cmd[2048];
	int r;

	snprintf(cmd, sizeof(cmd),
		 "QBD_STORED='%s' QBD_ADMIN=/nonexistent '%s/tools/cluster' %s --dir '%s' >>'%s.log' 2>&1",
		 w->stored, w->root, args, w->dir, w->dir);
	r = system(cmd);
	if (r)
		fprintf(stderr, "# tools/cluster %s failed (%d); see %s.log\n",
			args, r, w->dir);
	return r ? -1 : 0;
}

/*
 * A watchdog process that wipes the cluster when the test process dies in
 * any way (the harness SIGKILLs a test that times out, so its teardown
 * never runs): no qbd-stored outlives its test.
 */
static void start_reaper(struct wt_cluster *w)
{
	pid_t parent = getpid(), pid = fork();
	sigset_t set;
	int sig;

	if (pid != 0)
		return;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	prctl(PR_SET_PDEATHSIG, SIGUSR1);
	if (getppid() == parent)
		sigwait(&set, &sig);
	if (!getenv("QBD_TEST_KEEP")) {
		char log[300];

		run_cluster(w, "wipe");
		snprintf(log, sizeof(log), "%s.log", w->dir);
		unlink(log);
	}
	_exit(0);
}

int wt_cluster_up(struct wt_cluster *w, const char *tag, u16 port_hint)
{
	char args[64], err[QBD_ERRLEN], path[300];
	u16 base = (u16)(port_hint + (getpid() % 40) * 10);
	int tries, i;

	memset(w, 0, sizeof(*w));
	if (find_paths(w))
		return -1;
	for (tries = 0; tries < 100; tries++, base += 10) {
		for (i = 0; i < QBD_PG_NODES && port_free((u16)(base + i)); i++)
			;
		if (i == QBD_PG_NODES)
			break;
	}
	w->port_base = base;
	snprintf(w->dir, sizeof(w->dir), "/tmp/qbd-%s-%d", tag, (int)getpid());
	snprintf(args, sizeof(args), "wipe");
	run_cluster(w, args);
	start_reaper(w);
	snprintf(args, sizeof(args), "up --port-base %u", base);
	if (run_cluster(w, args))
		return -1;
	snprintf(path, sizeof(path), "%s/cluster.conf", w->dir);
	if (qbd_cluster_load(path, &w->c, err, sizeof(err))) {
		fprintf(stderr, "# %s\n", err);
		return -1;
	}
	return 0;
}

void wt_cluster_down(struct wt_cluster *w)
{
	char cmd[600];

	if (!w->dir[0])
		return;
	if (getenv("QBD_TEST_KEEP")) {	/* debugging: keep data and logs */
		run_cluster(w, "down");
		fprintf(stderr, "# kept %s\n", w->dir);
		return;
	}
	run_cluster(w, "wipe");
	snprintf(cmd, sizeof(cmd), "rm -f '%s.log'", w->dir);
	if (system(cmd))
		fprintf(stderr, "# cannot remove %s.log\n", w->dir);
	w->dir[0] = 0;
}

int wt_node_kill(struct wt_cluster *w, int i)
{
	char args[32];

	snprintf(args, sizeof(args), "kill %d", i);
	return run_cluster(w, args);
}

int wt_node_start(struct wt_cluster *w, int i)
{
	char args[32];

	snprintf(args, sizeof(args), "start %d", i);
	return run_cluster(w, args);
}

int wt_node_fault(struct wt_cluster *w, int i, const char *args)
{
	char err[QBD_ERRLEN];
	int r = qbd_admin(&w->c.node[i], QBD_ADMIN_FAULT, args, NULL, 10000,
			  err, sizeof(err));

	if (r)
		fprintf(stderr, "# FAULT %s on node %d: %s\n", args, i, err);
	return r;
}

u64 wt_seg_stat(struct wt_cluster *w, int i, u64 volume, u32 pg,
		const char *key)
{
	char err[QBD_ERRLEN], text[64], pat[64], *json = NULL, *p;
	u64 v = ~0ULL;

	snprintf(text, sizeof(text), "volume=%llu", (unsigned long long)volume);
	if (qbd_admin(&w->c.node[i], QBD_ADMIN_STATUS, text, &json, 5000, err,
		      sizeof(err)))
		return ~0ULL;
	/* segments are objects starting with "volume":V,"pg":P */
	snprintf(pat, sizeof(pat), "\"volume\":%llu,\"pg\":%u,",
		 (unsigned long long)volume, pg);
	p = strstr(json, pat);
	if (p) {
		char *end = strchr(p, '}'), k[64];

		snprintf(k, sizeof(k), "\"%s\":", key);
		p = strstr(p, k);
		if (p && (!end || p < end))
			v = strtoull(p + strlen(k), NULL, 10);
	}
	free(json);
	return v;
}

int wt_open(struct wt_cluster *w, struct qbd_geom *g, u64 volume, u64 size,
	    u64 pg_size, const struct qbd_writer_opts *o, struct qbd_vol **v,
	    int create)
{
	char err[QBD_ERRLEN];
	int r;

	r = qbd_geom_init(g, volume, size, pg_size, err, sizeof(err));
	if (!r && create)
		r = qbd_volume_create(&w->c, g, err, sizeof(err));
	if (!r)
		r = qbd_writer_open(&w->c, g, NULL, o, v, err, sizeof(err));
	if (r)
		fprintf(stderr, "# open volume %llu: %s\n",
			(unsigned long long)volume, err);
	return r;
}

static u64 mix(u64 x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

void wt_fill(u8 *blk, u64 lba, u64 version)
{
	u64 x = mix(lba * 0x9E3779B97F4A7C15ULL + version), i;

	if (!version) {
		memset(blk, 0, QBD_BLOCK_SIZE);
		return;
	}
	memcpy(blk, &lba, 8);
	memcpy(blk + 8, &version, 8);
	for (i = 16; i < QBD_BLOCK_SIZE; i += 8) {
		x = mix(x + i);
		memcpy(blk + i, &x, 8);
	}
}

u64 wt_version(const u8 *blk, u64 lba)
{
	u8 want[QBD_BLOCK_SIZE];
	u64 l, ver;

	memcpy(&l, blk, 8);
	memcpy(&ver, blk + 8, 8);
	if (!l && !ver) {
		wt_fill(want, lba, 0);
		return memcmp(blk, want, QBD_BLOCK_SIZE) ? ~0ULL : 0;
	}
	if (l != lba)
		return ~0ULL;
	wt_fill(want, lba, ver);
	return memcmp(blk, want, QBD_BLOCK_SIZE) ? ~0ULL : ver;
}

struct wt_io {
	struct wt_stream *s;
	u64 lba, version;
	u8 buf[QBD_BLOCK_SIZE];
};

static u64 wt_rand(u64 *state)
{
	*state = mix(*state + 0x9E3779B97F4A7C15ULL);
	return *state;
}

int wt_stream_init(struct wt_stream *s, struct qbd_vol *v, u64 span, u32 qd,
		   u64 seed)
{
	memset(s, 0, sizeof(*s));
	s->v = v;
	s->span = span;
	s->qd = qd;
	s->seed = seed;
	s->model = calloc(span, sizeof(u64));
	s->busy = calloc(span, 1);
	pthread_mutex_init(&s->m, NULL);
	pthread_cond_init(&s->c, NULL);
	return s->model && s->busy ? 0 : -1;
}

void wt_stream_free(struct wt_stream *s)
{
	free(s->model);
	free(s->busy);
	pthread_mutex_destroy(&s->m);
	pthread_cond_destroy(&s->c);
}

static void stream_done(void *arg, int result)
{
	struct wt_io *io = arg;
	struct wt_stream *s = io->s;

	pthread_mutex_lock(&s->m);
	if (result) {
		s->failed++;
		if (!s->first_error)
			s->first_error = result;
	} else {
		s->model[io->lba] = io->version;
	}
	s->busy[io->lba] = 0;
	s->completed++;
	s->inflight--;
	pthread_cond_broadcast(&s->c);
	pthread_mutex_unlock(&s->m);
	free(io);
}

u64 wt_stream_run(struct wt_stream *s, u64 nwrites,
		  void (*hook)(void *arg, u64 completed), void *arg)
{
	u64 i, done_seen = ~0ULL, failed0;

	pthread_mutex_lock(&s->m);
	failed0 = s->failed;
	for (i = 0; i < nwrites || s->inflight; ) {
		struct wt_io *io;
		u64 lba, completed = s->completed;

		if (hook && completed != done_seen) {
			done_seen = completed;
			pthread_mutex_unlock(&s->m);
			hook(arg, completed);
			pthread_mutex_lock(&s->m);
			continue;
		}
		if (i == nwrites || s->inflight >= s->qd) {
			pthread_cond_wait(&s->c, &s->m);
			continue;
		}
		do
			lba = wt_rand(&s->seed) % s->span;
		while (s->busy[lba]);
		io = malloc(sizeof(*io));
		if (!io)
			break;
		io->s = s;
		io->lba = lba;
		io->version = ++s->next_version;
		wt_fill(io->buf, lba, io->version);
		s->busy[lba] = 1;
		s->inflight++;
		s->submitted++;
		i++;
		pthread_mutex_unlock(&s->m);
		if (qbd_submit_write(s->v, lba, 1, io->buf, 0, stream_done, io)) {
			pthread_mutex_lock(&s->m);
			s->busy[lba] = 0;
			s->inflight--;
			s->failed++;
			free(io);
			continue;
		}
		pthread_mutex_lock(&s->m);
	}
	pthread_mutex_unlock(&s->m);
	return s->failed - failed0;
}

long wt_verify(struct qbd_vol *v, const u64 *model, u64 span)
{
	u8 *buf = malloc(64 * QBD_BLOCK_SIZE);
	long bad = 0;
	u64 lba, i;

	if (!buf)
		return -1;
	for (lba = 0; lba < span; lba += 64) {
		u32 n = span - lba < 64 ? (u32)(span - lba) : 64;
		int r = qbd_read(v, lba, n, buf);

		if (r) {
			fprintf(stderr, "# read lba %llu: %s\n",
				(unsigned long long)lba, strerror(-r));
			free(buf);
			return -1;
		}
		for (i = 0; i < n; i++) {
			u64 ver = wt_version(buf + i * QBD_BLOCK_SIZE, lba + i);

			if (ver != model[lba + i]) {
				if (bad < 5)
					fprintf(stderr, "# block %llu: version %lld, expected %llu\n",
						(unsigned long long)(lba + i),
						(long long)ver,
						(unsigned long long)model[lba + i]);
				bad++;
			}
		}
	}
	free(buf);
	return bad;
}
