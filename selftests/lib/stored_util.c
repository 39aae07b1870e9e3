// SPDX-License-Identifier: GPL-2.0
/*
 * Test helpers for qbd-stored host tests; see stored_util.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <libgen.h>
#include "stored_util.h"

static char tmpdir_buf[256];

const char *sd_tmpdir(const char *tag)
{
	snprintf(tmpdir_buf, sizeof(tmpdir_buf), "/tmp/qbd-%s-%d", tag,
		 (int)getpid());
	sd_rmtree(tmpdir_buf);
	mkdir(tmpdir_buf, 0755);
	return tmpdir_buf;
}

void sd_rmtree(const char *dir)
{
	char cmd[512];

	if (strncmp(dir, "/tmp/qbd-", 9))
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		return;
}

void sd_node_init(struct sd_node *n, const char *tmpdir, uint32_t id,
		  uint16_t port)
{
	memset(n, 0, sizeof(*n));
	n->id = id;
	n->port = port;
	snprintf(n->dir, sizeof(n->dir), "%s/node%u", tmpdir, id);
}

static void stored_path(char *buf, size_t cap)
{
	char exe[512];
	ssize_t l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (l < 0)
		l = 0;
	exe[l] = 0;
	/* <B>/tests/test_x -> <B>/qbd-stored */
	snprintf(buf, cap, "%s/../qbd-stored", dirname(exe));
}

static void msleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int sd_start(struct sd_node *n)
{
	char bin[600], id[16], listen[64], logf[300];
	int i, fd;

	stored_path(bin, sizeof(bin));
	snprintf(id, sizeof(id), "%u", n->id);
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", n->port);
	snprintf(logf, sizeof(logf), "%s.log", n->dir);
	n->pid = fork();
	if (n->pid < 0)
		return -1;
	if (!n->pid) {
		char *argv[16];
		int a = 0;
		char az[16], *tok, *save = NULL;

		/* never outlive the test, even one that failed half way */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		snprintf(az, sizeof(az), "az%u", (n->id + 1) / 2);
		argv[a++] = bin;
		argv[a++] = "--node-id";
		argv[a++] = id;
		argv[a++] = "--az";
		argv[a++] = az;
		argv[a++] = "--listen";
		argv[a++] = listen;
		argv[a++] = "--data";
		argv[a++] = n->dir;
		for (tok = strtok_r(n->extra, " ", &save); tok && a < 14;
		     tok = strtok_r(NULL, " ", &save))
			argv[a++] = tok;
		argv[a] = NULL;
		fd = open(logf, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 2);
			close(fd);
		}
		execv(bin, argv);
		_exit(127);
	}
	for (i = 0; i < 400; i++) {
		int st;

		if (waitpid(n->pid, &st, WNOHANG) == n->pid) {
			fprintf(stderr, "qbd-stored %u exited early (see %s)\n",
				n->id, logf);
			n->pid = 0;
			return -1;
		}
		fd = sd_connect(n->port);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		msleep(25);
	}
	sd_stop(n, SIGKILL);
	return -1;
}

int sd_stop(struct sd_node *n, int sig)
{
	int st = 0;

	if (n->pid <= 0)
		return -1;
	kill(n->pid, sig);
	waitpid(n->pid, &st, 0);
	n->pid = 0;
	return st;
}

int sd_connect(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 10 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int sd_send_raw(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

int sd_send(int fd, uint16_t type, uint64_t handle, uint64_t volume,
	    uint64_t epoch, uint32_t pg, const void *p, uint32_t len)
{
	struct qbd_wire_hdr h;

	qbd_hdr_init(&h, type, handle, volume, epoch, pg);
	qbd_hdr_seal_buf(&h, p, len);
	if (sd_send_raw(fd, &h, sizeof(h)))
		return -1;
	return len ? sd_send_raw(fd, p, len) : 0;
}

static int recv_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = recv(fd, p, len, 0);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

int sd_recv(int fd, struct qbd_hdr_info *hi, uint8_t **payload)
{
	struct qbd_wire_hdr h;
	uint8_t *p;

	*payload = NULL;
	if (recv_full(fd, &h, sizeof(h)) || qbd_hdr_decode(&h, hi))
		return -1;
	p = malloc(hi->payload_len + 1);
	if (!p)
		return -1;
	if (recv_full(fd, p, hi->payload_len) || qbd_payload_check(hi, p)) {
		free(p);
		return -1;
	}
	p[hi->payload_len] = 0;
	*payload = p;
	return 0;
}

int sd_closed(int fd)
{
	uint8_t b[4096];

	for (;;) {
		ssize_t n = recv(fd, b, sizeof(b), 0);

		if (n == 0)
			return 1;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : 1;
	}
}

int sd_hello(int fd, uint32_t role, uint64_t volume, uint64_t epoch)
{
	struct qbd_hello h;
	struct qbd_hdr_info hi;
	uint8_t *p;
	int st;

	memset(&h, 0, sizeof(h));
	h.role = qbd_cpu32(role);
	if (sd_send(fd, QBD_MSG_HELLO, 1, volume, epoch, 0, &h, sizeof(h)) ||
	    sd_recv(fd, &hi, &p))
		return -1;
	st = hi.type == QBD_MSG_HELLO_OK ? 0 : (int)hi.status;
	if (hi.type == QBD_MSG_ERROR && !st)
		st = QBD_E_PROTO;
	free(p);
	return st;
}

int sd_open(uint16_t port, uint32_t role, uint64_t volume, uint64_t epoch)
{
	int fd = sd_connect(port);

	if (fd < 0)
		return -1;
	if (sd_hello(fd, role, volume, epoch)) {
		close(fd);
		return -1;
	}
	return fd;
}

int sd_admin(uint16_t port, uint32_t op, const char *text, char **json)
{
	size_t tl = strlen(text) + 1;
	uint8_t *buf = malloc(sizeof(struct qbd_admin) + tl), *p;
	struct qbd_admin *a = (void *)buf;
	struct qbd_hdr_info hi;
	int fd, st = -1;

	if (json)
		*json = NULL;
	fd = sd_open(port, QBD_ROLE_ADMIN, 0, 0);
	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	a->op = qbd_cpu32(op);
	a->len = qbd_cpu32(tl);
	memcpy(a + 1, text, tl);
	if (!sd_send(fd, QBD_MSG_ADMIN, 7, 0, 0, 0, buf,
		     sizeof(*a) + tl) && !sd_recv(fd, &hi, &p)) {
		st = hi.type == QBD_MSG_ADMIN_OK ? 0 : (int)hi.status;
		if (json)
			*json = (char *)p;
		else
			free(p);
	}
	free(buf);
	close(fd);
	return st;
}

int sd_create_seg(uint16_t port, uint64_t volume, uint32_t pg, uint64_t epoch,
		  uint64_t pg_blocks, uint64_t lba_start, const char *peers)
{
	char text[1200];

	snprintf(text, sizeof(text),
		 "volume=%" PRIu64 " pg=%u epoch=%" PRIu64 " pg_blocks=%" PRIu64
		 " lba_start=%" PRIu64 " peers=%s", volume, pg, epoch,
		 pg_blocks, lba_start, peers ? peers : "");
	return sd_admin(port, QBD_ADMIN_SEGMENT_CREATE, text, NULL);
}

static uint64_t json_num(const char *from, const char *key)
{
	char pat[64];
	const char *k;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	k = strstr(from, pat);
	if (!k)
		return ~0ull;
	return strtoull(k + strlen(pat), NULL, 10);
}

uint64_t sd_seg_stat(uint16_t port, uint64_t volume, uint32_t pg,
		     const char *key)
{
	char *json, pat[96], *seg;
	uint64_t v = ~0ull;

	if (sd_admin(port, QBD_ADMIN_STATUS, "", &json) || !json)
		return ~0ull;
	snprintf(pat, sizeof(pat), "{\"volume\":%" PRIu64 ",\"pg\":%u,",
		 volume, pg);
	seg = strstr(json, pat);
	if (seg) {
		char *end = strchr(seg, '}');

		if (end)
			*end = 0;
		v = json_num(seg, key);
	}
	free(json);
	return v;
}

uint64_t sd_counter(uint16_t port, const char *key)
{
	char *json;
	uint64_t v;

	if (sd_admin(port, QBD_ADMIN_STATUS, "", &json) || !json)
		return ~0ull;
	v = json_num(json, key);
	free(json);
	return v;
}

void sd_fill(uint8_t *blk, uint64_t lsn, uint64_t lba)
{
	uint64_t x = lsn * 0x9E3779B97F4A7C15ull ^ (lba + 1) * 0xC2B2AE3D27D4EB4Full;
	size_t i;

	for (i = 0; i < QBD_BLOCK_SIZE; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(blk + i, &x, 8);
	}
}

uint32_t sd_record(uint8_t **out, uint64_t lsn, uint64_t prev, uint64_t lba,
		   uint32_t nblocks, uint16_t kind, uint32_t pg,
		   uint64_t vcl_hint, uint64_t low_water)
{
	struct qbd_rec_info ri = {
		.lsn = lsn, .prev_lsn = prev, .lba = lba, .nblocks = nblocks,
		.kind = kind, .pg = pg, .vcl_hint = vcl_hint,
		.low_water = low_water,
	};
	uint32_t dlen = qbd_record_data_len(kind, nblocks), i;
	uint8_t *b = malloc(QBD_RECORD_SIZE + dlen);

	for (i = 0; i < dlen / QBD_BLOCK_SIZE; i++)
		sd_fill(b + QBD_RECORD_SIZE + (size_t)i * QBD_BLOCK_SIZE, lsn,
			lba + i);
	qbd_record_encode((struct qbd_record *)b, &ri, b + QBD_RECORD_SIZE);
	*out = b;
	return QBD_RECORD_SIZE + dlen;
}

static int reply_status(int fd, uint16_t want, uint8_t **p,
			struct qbd_hdr_info *hi)
{
	if (sd_recv(fd, hi, p))
		return -1;
	if (hi->type == want)
		return 0;
	return hi->status ? (int)hi->status : QBD_E_PROTO;
}

int sd_write(int fd, uint64_t volume, uint64_t epoch, uint32_t pg,
	     uint64_t lsn, uint64_t prev, uint64_t lba, uint32_t nblocks,
	     uint64_t low_water, uint64_t *scl)
{
	struct qbd_hdr_info hi;
	uint8_t *rec, *p = NULL;
	uint32_t len = sd_record(&rec, lsn, prev, lba, nblocks, QBD_REC_WRITE,
				 pg, 0, low_water);
	int st;

	if (sd_send(fd, QBD_MSG_LOG_WRITE, lsn, volume, epoch, pg, rec, len)) {
		free(rec);
		return -1;
	}
	free(rec);
	st = reply_status(fd, QBD_MSG_LOG_ACK, &p, &hi);
	if (!st && scl) {
		uint64_t l;

		if (qbd_log_ack_decode(p, hi.payload_len, &l, scl) || l != lsn)
			st = -1;
	}
	free(p);
	return st;
}

int sd_read(int fd, uint64_t volume, uint64_t epoch, uint32_t pg,
	    uint64_t lba, uint32_t nblocks, uint64_t read_lsn, uint8_t *buf,
	    uint64_t *scl)
{
	struct qbd_read_req rq = { .lba = qbd_cpu64(lba),
				   .nblocks = qbd_cpu32(nblocks),
				   .read_lsn = qbd_cpu64(read_lsn) };
	struct qbd_hdr_info hi;
	uint8_t *p = NULL;
	int st;

	if (sd_send(fd, QBD_MSG_READ, 99, volume, epoch, pg, &rq, sizeof(rq)))
		return -1;
	st = reply_status(fd, QBD_MSG_READ_DATA, &p, &hi);
	if (!st) {
		uint64_t s, l;
		uint32_t n;
		const void *d;

		st = qbd_read_reply_decode(p, hi.payload_len, &s, &l, &n, &d);
		if (!st && (l != lba || n != nblocks))
			st = QBD_E_PROTO;
		if (!st) {
			memcpy(buf, d, (size_t)n * QBD_BLOCK_SIZE);
			if (scl)
				*scl = s;
		}
	}
	free(p);
	return st;
}

int sd_heartbeat(int fd, uint64_t volume, uint64_t epoch, uint32_t pg,
		 uint64_t *scl)
{
	struct qbd_hdr_info hi;
	uint8_t *p = NULL;
	uint64_t l;
	int st;

	if (sd_send(fd, QBD_MSG_HEARTBEAT, 5, volume, epoch, pg, NULL, 0))
		return -1;
	st = reply_status(fd, QBD_MSG_HEARTBEAT_OK, &p, &hi);
	if (!st && qbd_log_ack_decode(p, hi.payload_len, &l, scl))
		st = -1;
	free(p);
	return st;
}

int sd_wait_scl(uint16_t port, uint64_t volume, uint64_t epoch, uint32_t pg,
		uint64_t want)
{
	int fd = sd_open(port, QBD_ROLE_READER, volume, epoch), i;
	uint64_t scl = 0;

	if (fd < 0)
		return -1;
	for (i = 0; i < 800; i++) {
		if (sd_heartbeat(fd, volume, epoch, pg, &scl)) {
			close(fd);
			return -1;
		}
		if (scl >= want) {
			close(fd);
			return 0;
		}
		msleep(25);
	}
	close(fd);
	return -1;
}
