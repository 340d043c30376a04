/* SPDX-License-Identifier: ISC */
/*
 * Where log lines go and at which levels (logging.c): the journal with
 * structured fields, syslog, or stderr as text or JSON.
 */
#ifndef XD_LOGGING_H
#define XD_LOGGING_H

#include <stdbool.h>

#include "daemon/config.h"

/* Choose the sink: syslog if asked, the journal if stderr is its stream,
 * else stderr in cfg's log-format. */
void xd_logging_start(const struct xd_config *cfg, bool use_syslog);
/* Every subsystem's level from cfg (debug: all at debug); at start and reload. */
void xd_logging_levels(const struct xd_config *cfg, bool debug);

#endif
