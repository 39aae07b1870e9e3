// SPDX-License-Identifier: GPL-2.0
/*
 * The node: the one global struct st_node every part of qbd-stored works on
 * (the event loop is single threaded), plus two tiny helpers. Kept apart
 * from main.c so the message handler can be linked without main() (the
 * libFuzzer target selftests/fuzz/fuzz_stored_msg.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include "stored.h"

static struct st_node node;
struct st_node *st = &node;

uint64_t st_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int st_fmt(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}
