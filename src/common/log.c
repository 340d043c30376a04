/* SPDX-License-Identifier: ISC */
#include "log.h"

#include <stdio.h>
#include <string.h>

static enum xk_log_level log_level = XK_LOG_INFO;
static xk_log_sink log_sink;
static void *log_ctx;

static const char *const level_names[] = {
	[XK_LOG_DEBUG] = "debug",
	[XK_LOG_INFO] = "info",
	[XK_LOG_NOTICE] = "notice",
	[XK_LOG_WARNING] = "warning",
	[XK_LOG_ERROR] = "error",
};

void xk_log_set_level(enum xk_log_level level)
{
	log_level = level;
}

enum xk_log_level xk_log_get_level(void)
{
	return log_level;
}

void xk_log_set_sink(xk_log_sink sink, void *ctx)
{
	log_sink = sink;
	log_ctx = ctx;
}

int xk_log_level_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(s, level_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *xk_log_level_name(enum xk_log_level level)
{
	if ((unsigned)level >= sizeof(level_names) / sizeof(level_names[0]))
		return "?";
	return level_names[level];
}

void xk_log(enum xk_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (level < log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_sink)
		log_sink(level, line, log_ctx);
	else
		fprintf(stderr, "%s: %s\n", level_names[level], line);
}
