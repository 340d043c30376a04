/* SPDX-License-Identifier: ISC */
#include "log.h"

#include <stdio.h>
#include <string.h>

static enum xk_log_level sub_level[XK_SUB_COUNT] = {
	XK_LOG_INFO, XK_LOG_INFO, XK_LOG_INFO, XK_LOG_INFO, XK_LOG_INFO, XK_LOG_INFO, XK_LOG_INFO,
};
static xk_log_sink log_sink;
static void *log_ctx;

static const char *const level_names[] = {
	[XK_LOG_DEBUG] = "debug",
	[XK_LOG_INFO] = "info",
	[XK_LOG_NOTICE] = "notice",
	[XK_LOG_WARNING] = "warning",
	[XK_LOG_ERROR] = "error",
};

static const char *const sub_names[] = {
	[XK_SUB_DAEMON] = "daemon",   [XK_SUB_ENGINE] = "engine",   [XK_SUB_CONFIG] = "config",
	[XK_SUB_KERNEL] = "kernel",   [XK_SUB_NETWORK] = "network", [XK_SUB_ESP] = "esp-soft",
	[XK_SUB_CONTROL] = "control",
};

void xk_log_set_level(enum xk_log_level level)
{
	for (int s = 0; s < XK_SUB_COUNT; s++)
		sub_level[s] = level;
}

void xk_log_set_sub_level(enum xk_log_sub sub, enum xk_log_level level)
{
	if ((unsigned)sub < XK_SUB_COUNT)
		sub_level[sub] = level;
}

void xk_log_set_sink(xk_log_sink sink, void *ctx)
{
	log_sink = sink;
	log_ctx = ctx;
}

static int find_name(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

int xk_log_level_parse(const char *s)
{
	return find_name(level_names, sizeof(level_names) / sizeof(level_names[0]), s);
}

const char *xk_log_level_name(enum xk_log_level level)
{
	if ((unsigned)level >= sizeof(level_names) / sizeof(level_names[0]))
		return "?";
	return level_names[level];
}

int xk_log_sub_parse(const char *s)
{
	return find_name(sub_names, XK_SUB_COUNT, s);
}

const char *xk_log_sub_name(enum xk_log_sub sub)
{
	return (unsigned)sub < XK_SUB_COUNT ? sub_names[sub] : "?";
}

bool xk_log_on(enum xk_log_sub sub, enum xk_log_level level)
{
	return (unsigned)sub < XK_SUB_COUNT && level >= sub_level[sub];
}

void xk_log_sub(enum xk_log_sub sub, enum xk_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!xk_log_on(sub, level))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_sink)
		log_sink(level, sub, line, log_ctx);
	else
		fprintf(stderr, "%s: %s\n", level_names[level], line);
}
