/* SPDX-License-Identifier: ISC */
/*
 * Logging: one line per event, key=value fields after a short message.
 * Each line belongs to a subsystem, the layer that logs it: a library
 * sets XK_LOG_SUB for all its files (meson c_args), a daemon file that
 * belongs elsewhere defines it before its first include.  Each subsystem
 * has its own level.  The sink is replaceable (the daemon routes to
 * stderr, the journal or syslog; tests silence it).  Never pass key
 * material to these functions.
 */
#ifndef XK_LOG_H
#define XK_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum xk_log_level {
	XK_LOG_DEBUG,
	XK_LOG_INFO,
	XK_LOG_NOTICE,
	XK_LOG_WARNING,
	XK_LOG_ERROR,
};

enum xk_log_sub {
	XK_SUB_DAEMON,	/* start-up, connections, routes: the daemon itself */
	XK_SUB_ENGINE,	/* src/ike: IKE SAs, CHILD_SAs, exchanges */
	XK_SUB_CONFIG,	/* the configuration */
	XK_SUB_KERNEL,	/* src/xfrm and the daemon's backend: SAs, policies */
	XK_SUB_NETWORK, /* IKE sockets, datagrams, NAT keepalives */
	XK_SUB_ESP,	/* src/esp-soft: userspace ESP */
	XK_SUB_CONTROL, /* the control socket */
	XK_SUB_COUNT,
};

#ifndef XK_LOG_SUB
#define XK_LOG_SUB XK_SUB_DAEMON
#endif

typedef void (*xk_log_sink)(enum xk_log_level level, enum xk_log_sub sub, const char *line,
			    void *ctx);

/* Every subsystem's level at once. */
void xk_log_set_level(enum xk_log_level level);
void xk_log_set_sub_level(enum xk_log_sub sub, enum xk_log_level level);
/* NULL restores the default sink (stderr). */
void xk_log_set_sink(xk_log_sink sink, void *ctx);
/* Parse "debug", "info", ...; returns -1 if unknown. */
int xk_log_level_parse(const char *s);
const char *xk_log_level_name(enum xk_log_level level);
/* Parse "engine", "kernel", ...; returns -1 if unknown. */
int xk_log_sub_parse(const char *s);
const char *xk_log_sub_name(enum xk_log_sub sub);

void xk_log_sub(enum xk_log_sub sub, enum xk_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * Whether a line of that level would be written.  The arguments of a log
 * call are made before the call looks at the level: a line whose arguments
 * cost (a suite or traffic selectors printed into buffers) asks first.
 */
bool xk_log_on(enum xk_log_sub sub, enum xk_log_level level);

#define xk_log(level, ...) xk_log_sub(XK_LOG_SUB, level, __VA_ARGS__)
#define xk_log_enabled(level) xk_log_on(XK_LOG_SUB, level)
#define xk_debug(...) xk_log_sub(XK_LOG_SUB, XK_LOG_DEBUG, __VA_ARGS__)
#define xk_info(...) xk_log_sub(XK_LOG_SUB, XK_LOG_INFO, __VA_ARGS__)
#define xk_notice(...) xk_log_sub(XK_LOG_SUB, XK_LOG_NOTICE, __VA_ARGS__)
#define xk_warn(...) xk_log_sub(XK_LOG_SUB, XK_LOG_WARNING, __VA_ARGS__)
#define xk_err(...) xk_log_sub(XK_LOG_SUB, XK_LOG_ERROR, __VA_ARGS__)

#endif
