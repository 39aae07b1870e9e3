// SPDX-License-Identifier: GPL-2.0
/*
 * Logging to stderr with timestamps. Kept deliberately small: a level, a
 * program name, one formatted line per call written with a single write(2)
 * so lines from several threads or processes never interleave.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "log.h"

static int log_level = -1;
static char log_name[32] = "qbd";

static const char *const level_names[] = { "ERROR", "WARN", "INFO", "DEBUG" };

static int level_from_env(void)
{
	const char *s = getenv("QBD_LOG");
	int i;

	if (!s || !*s)
		return QBD_LOG_INFO;
	if (s[0] >= '0' && s[0] <= '3' && !s[1])
		return s[0] - '0';
	for (i = 0; i <= QBD_LOG_DEBUG; i++)
		if (!strncasecmp(s, level_names[i], strlen(s)))
			return i;
	return QBD_LOG_INFO;
}

void qbd_log_set_level(int level)
{
	if (level < QBD_LOG_ERR)
		level = QBD_LOG_ERR;
	if (level > QBD_LOG_DEBUG)
		level = QBD_LOG_DEBUG;
	log_level = level;
}

int qbd_log_get_level(void)
{
	if (log_level < 0)
		log_level = level_from_env();
	return log_level;
}

void qbd_log_set_name(const char *name)
{
	snprintf(log_name, sizeof(log_name), "%s", name);
}

void qbd_log(int level, const char *fmt, ...)
{
	char line[1024];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	size_t n;
	int r;

	if (level > qbd_log_get_level())
		return;
	if (level < QBD_LOG_ERR)
		level = QBD_LOG_ERR;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(line + n, sizeof(line) - n, ".%03ld %s[%d] %s: ",
		     ts.tv_nsec / 1000000, log_name, (int)getpid(),
		     level_names[level > QBD_LOG_DEBUG ? QBD_LOG_DEBUG : level]);
	if (r > 0)
		n += (size_t)r;
	if (n < sizeof(line)) {
		va_start(ap, fmt);
		r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
		if (r > 0)
			n += (size_t)r;
	}
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	while (n && line[n - 1] == '\n')
		n--;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

void qbd_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
