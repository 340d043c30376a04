/* SPDX-License-Identifier: ISC */
/*
 * Least privilege (privs.c): after start-up xiked runs as [global] user
 * with CAP_NET_ADMIN alone, no new privileges, not dumpable.
 */
#ifndef XD_PRIVS_H
#define XD_PRIVS_H

#include <stddef.h>

#include "daemon/config.h"

/*
 * Make the control socket's directory if it is missing (one level, mode
 * 0755), owned by cfg's user.  0 or a negative errno.
 */
int xd_privs_socket_dir(const struct xd_config *cfg);

/*
 * Become cfg's user, keep only CAP_NET_ADMIN, set no-new-privs and
 * not-dumpable; before any thread starts.  0, or a negative errno with
 * err set.  Started without root, it changes nothing.
 */
int xd_privs_drop(const struct xd_config *cfg, char *err, size_t errlen);

#endif
