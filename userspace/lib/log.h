/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tiny logging for the userspace programs: one line per message on stderr,
 * "2025-01-01T12:00:00.123 name[pid] LEVEL: text". The level comes from
 * qbd_log_set_level() or the environment variable QBD_LOG (err, warn, info,
 * debug or 0..3); default info. Thread-safe (one write(2) per line).
 */
#ifndef QBD_LOG_H
#define QBD_LOG_H

enum qbd_log_level {
	QBD_LOG_ERR = 0,
	QBD_LOG_WARN = 1,
	QBD_LOG_INFO = 2,
	QBD_LOG_DEBUG = 3,
};

void qbd_log_set_level(int level);
int qbd_log_get_level(void);
/* program name shown in every line (default: "qbd") */
void qbd_log_set_name(const char *name);

void qbd_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Format an error message into a caller's buffer (err may be NULL or
 * errlen 0: nothing is written). The libqbd calls report failures this way.
 */
#include <stddef.h>
void qbd_set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define qbd_err(...)	qbd_log(QBD_LOG_ERR, __VA_ARGS__)
#define qbd_warn(...)	qbd_log(QBD_LOG_WARN, __VA_ARGS__)
#define qbd_info(...)	qbd_log(QBD_LOG_INFO, __VA_ARGS__)
#define qbd_dbg(...)	qbd_log(QBD_LOG_DEBUG, __VA_ARGS__)

#endif /* QBD_LOG_H */
