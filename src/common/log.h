/* SPDX-License-Identifier: ISC */
/*
 * Logging: one line per event, key=value fields after a short message.
 * The sink is replaceable (the daemon routes to stderr or syslog; tests
 * silence it).  Never pass key material to these functions.
 */
#ifndef XK_LOG_H
#define XK_LOG_H

#include <stdarg.h>

enum xk_log_level {
	XK_LOG_DEBUG,
	XK_LOG_INFO,
	XK_LOG_NOTICE,
	XK_LOG_WARNING,
	XK_LOG_ERROR,
};

typedef void (*xk_log_sink)(enum xk_log_level level, const char *line, void *ctx);

void xk_log_set_level(enum xk_log_level level);
enum xk_log_level xk_log_get_level(void);
/* NULL restores the default sink (stderr). */
void xk_log_set_sink(xk_log_sink sink, void *ctx);
/* Parse "debug", "info", ...; returns -1 if unknown. */
int xk_log_level_parse(const char *s);
const char *xk_log_level_name(enum xk_log_level level);

void xk_log(enum xk_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define xk_debug(...) xk_log(XK_LOG_DEBUG, __VA_ARGS__)
#define xk_info(...) xk_log(XK_LOG_INFO, __VA_ARGS__)
#define xk_notice(...) xk_log(XK_LOG_NOTICE, __VA_ARGS__)
#define xk_warn(...) xk_log(XK_LOG_WARNING, __VA_ARGS__)
#define xk_err(...) xk_log(XK_LOG_ERROR, __VA_ARGS__)

#endif
