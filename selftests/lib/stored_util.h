/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the qbd-stored host tests: start real qbd-stored processes
 * (the binary next to the test's build directory) on loopback ports with a
 * data directory under /tmp, wait until they listen, and talk to them with
 * raw wire messages. Every helper is blocking with a receive timeout, so a
 * hung daemon fails a test instead of hanging it.
 */
#ifndef STORED_UTIL_H
#define STORED_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "qbd_codec.h"

struct sd_node {
	pid_t pid;
	uint32_t id;
	uint16_t port;
	char dir[256];
	char extra[128];	/* extra command line arguments */
};

/* make a fresh /tmp/qbd-<tag>-<pid> directory; node dirs go below it */
const char *sd_tmpdir(const char *tag);
void sd_rmtree(const char *dir);

/* fill n: id, port, dir = <tmpdir>/node<id> */
void sd_node_init(struct sd_node *n, const char *tmpdir, uint32_t id,
		  uint16_t port);
/* spawn and wait until it accepts connections; 0 or -1 */
int sd_start(struct sd_node *n);
/* send sig (SIGTERM or SIGKILL), reap; returns the wait status */
int sd_stop(struct sd_node *n, int sig);

int sd_connect(uint16_t port);
int sd_send_raw(int fd, const void *buf, size_t len);
int sd_send(int fd, uint16_t type, uint64_t handle, uint64_t volume,
	    uint64_t epoch, uint32_t pg, const void *p, uint32_t len);
/*
 * Receive one message. 0 with *hi and *payload (malloc'd, NUL-terminated,
 * free it) filled; -1 when the connection closed, timed out or the reply
 * failed its checks.
 */
int sd_recv(int fd, struct qbd_hdr_info *hi, uint8_t **payload);
/* 1 if the peer has closed the connection (EOF/reset), 0 if it is open */
int sd_closed(int fd);

/* HELLO; returns the reply status (0 = HELLO_OK), -1 on transport error */
int sd_hello(int fd, uint32_t role, uint64_t volume, uint64_t epoch);
int sd_open(uint16_t port, uint32_t role, uint64_t volume, uint64_t epoch);

/* ADMIN over a fresh connection; *json (if given) gets the reply text */
int sd_admin(uint16_t port, uint32_t op, const char *text, char **json);
int sd_create_seg(uint16_t port, uint64_t volume, uint32_t pg, uint64_t epoch,
		  uint64_t pg_blocks, uint64_t lba_start, const char *peers);
/* a numeric field of segment (volume, pg) from ADMIN STATUS; ~0 if absent */
uint64_t sd_seg_stat(uint16_t port, uint64_t volume, uint32_t pg,
		     const char *key);
/* a numeric counter from ADMIN STATUS */
uint64_t sd_counter(uint16_t port, const char *key);

/* deterministic block contents for (lsn, block) */
void sd_fill(uint8_t *blk, uint64_t lsn, uint64_t lba);

/* build a LOG_WRITE payload; returns its length (malloc'd in *out) */
uint32_t sd_record(uint8_t **out, uint64_t lsn, uint64_t prev, uint64_t lba,
		   uint32_t nblocks, uint16_t kind, uint32_t pg,
		   uint64_t vcl_hint, uint64_t low_water);
/* LOG_WRITE of a WRITE record filled with sd_fill(); status, *scl */
int sd_write(int fd, uint64_t volume, uint64_t epoch, uint32_t pg,
	     uint64_t lsn, uint64_t prev, uint64_t lba, uint32_t nblocks,
	     uint64_t low_water, uint64_t *scl);
/* READ; status; data (nblocks * 4 KiB) into buf */
int sd_read(int fd, uint64_t volume, uint64_t epoch, uint32_t pg,
	    uint64_t lba, uint32_t nblocks, uint64_t read_lsn, uint8_t *buf,
	    uint64_t *scl);
/* HEARTBEAT: status, *scl */
int sd_heartbeat(int fd, uint64_t volume, uint64_t epoch, uint32_t pg,
		 uint64_t *scl);

/* poll HEARTBEAT until scl >= want (bounded: up to ~20 s); 0 or -1 */
int sd_wait_scl(uint16_t port, uint64_t volume, uint64_t epoch, uint32_t pg,
		uint64_t want);

#endif
