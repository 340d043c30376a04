/* SPDX-License-Identifier: ISC */
/* The parsers of single values of xiked.conf (config_value.h). */
#include "daemon/config_value.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* A count of at most max: 0 included, no sign, no trailing junk. */
bool xd_cfg_count(const char *v, unsigned long max, uint32_t *out)
{
	char *end;
	unsigned long n;

	if (!*v || *v == '-')
		return false;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (*end || errno || n > max)
		return false;
	*out = (uint32_t)n;
	return true;
}

long xd_parse_duration(const char *s)
{
	char *end;
	long v, unit;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || v < 0)
		return -1;
	switch (*end) {
	case '\0':
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	default: return -1;
	}
	if (*end && end[1])
		return -1;
	/* 106751991167301d would not fit a long in seconds: refused, not wrapped. */
	if (v > LONG_MAX / unit)
		return -1;
	return v * unit;
}

/* What the kernel takes as a device name (dev_valid_name()). */
bool xd_cfg_iface_name(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > 15 || !strcmp(v, ".") || !strcmp(v, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (v[i] == '/' || v[i] == ':' || isspace((unsigned char)v[i]))
			return false;
	return true;
}

/* A 32-bit number, decimal or 0x-hex: no sign, no trailing junk. */
bool xd_cfg_u32(const char *v, uint32_t *out)
{
	char *end;
	unsigned long long n;

	if (!isdigit((unsigned char)*v))
		return false;
	errno = 0;
	n = strtoull(v, &end, 0);
	if (*end || errno || n > UINT32_MAX)
		return false;
	*out = (uint32_t)n;
	return true;
}

/* VALUE[/MASK] of a mark; the mask defaults to every bit. */
bool xd_cfg_mark(char *v, struct xk_tag *t)
{
	char *slash = strchr(v, '/');

	t->mark_mask = UINT32_MAX;
	if (slash) {
		*slash = '\0';
		if (!xd_cfg_u32(slash + 1, &t->mark_mask) || !t->mark_mask)
			return false;
	}
	return xd_cfg_u32(v, &t->mark) && (t->mark & ~t->mark_mask) == 0;
}

/* none | start | trap: start, and close-action, which takes the same words. */
bool xd_cfg_start(const char *v, enum xd_start *out)
{
	if (!strcmp(v, "none"))
		*out = XD_START_NONE;
	else if (!strcmp(v, "start"))
		*out = XD_START_START;
	else if (!strcmp(v, "trap"))
		*out = XD_START_TRAP;
	else
		return false;
	return true;
}

bool xd_cfg_bool(const char *v, bool *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1")) {
		*out = true;
		return true;
	}
	if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0")) {
		*out = false;
		return true;
	}
	return false;
}

bool xd_cfg_port(const char *v, uint16_t *out)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (*v == '\0' || *end || n < 1 || n > 65535)
		return false;
	*out = (uint16_t)n;
	return true;
}

/* Split a comma-separated list in place; calls fn on each trimmed item. */
