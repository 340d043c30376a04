/* SPDX-License-Identifier: ISC */
/*
 * The parsers of single values of xiked.conf (config_value.c): counts,
 * numbers, marks, ports, booleans, start actions, device names.  Each
 * takes the whole value: no sign where none is meant, no trailing junk;
 * false (or -1) if malformed.  config.c names the file, line and key.
 */
#ifndef XD_CONFIG_VALUE_H
#define XD_CONFIG_VALUE_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/config.h"

bool xd_cfg_count(const char *v, unsigned long max, uint32_t *out);
bool xd_cfg_iface_name(const char *v);
bool xd_cfg_u32(const char *v, uint32_t *out);
/* VALUE[/MASK]; v is cut at the '/'. */
bool xd_cfg_mark(char *v, struct xk_tag *t);
bool xd_cfg_start(const char *v, enum xd_start *out);
bool xd_cfg_bool(const char *v, bool *out);
bool xd_cfg_port(const char *v, uint16_t *out);

#endif
