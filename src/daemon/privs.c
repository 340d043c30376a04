/* SPDX-License-Identifier: ISC */
/*
 * Least privilege.  xiked starts as root, opens what needs root (the IKE
 * ports, netlink, the TUN device, the control socket) and reads its
 * secrets; then this file makes it the configured user (xike) with
 * CAP_NET_ADMIN alone — for the XFRM and route messages it still sends —
 * an empty bounding set, no new privileges on exec and no core dumps.
 *
 * Capabilities belong to threads: this runs before any thread starts
 * (esp-soft's workers start after it), so every thread has the same.
 */
#define _GNU_SOURCE
#include "daemon/privs.h"

#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

/* The socket's owner is the daemon's user: that user may connect too. */
static void own_socket(const struct xd_config *cfg)
{
	if (chown(cfg->socket, cfg->uid, (gid_t)-1) < 0)
		xk_warn("cannot give %s to user %s: %s", cfg->socket, cfg->user,
			strerror(errno));
}

int xd_privs_socket_dir(const struct xd_config *cfg)
{
	char path[sizeof(cfg->socket)];
	const char *dir;
	struct stat st;

	snprintf(path, sizeof(path), "%s", cfg->socket);
	dir = dirname(path);
	if (stat(dir, &st) == 0)
		return 0;
	if (errno != ENOENT || mkdir(dir, 0755) < 0)
		return -errno;
	/* The daemon's user may then remove its socket when it stops. */
	if (cfg->user_found && chown(dir, cfg->uid, cfg->gid) < 0)
		return -errno;
	return 0;
}

static int keep_only_net_admin(const struct xd_config *cfg)
{
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_NET_ADMIN) < 0)
		return -EINVAL;
	if (!cfg->user_found || cfg->uid == 0) {
		if (setgroups(0, NULL) < 0)
			return -errno;
		return capng_apply(CAPNG_SELECT_BOTH) < 0 ? -EPERM : 0;
	}
	/* Keeps the capabilities across the change of user, drops the
	 * supplementary groups and the bounding set. */
	return capng_change_id((int)cfg->uid, (int)cfg->gid,
			       CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING) < 0
		       ? -EPERM
		       : 0;
}

int xd_privs_drop(const struct xd_config *cfg, char *err, size_t errlen)
{
	if (getuid() != 0 && geteuid() != 0)
		return 0; /* started unprivileged: nothing to give up */
	if (cfg->user_found && cfg->uid != 0)
		own_socket(cfg);
	if (keep_only_net_admin(cfg) < 0) {
		snprintf(err, errlen, "cannot become user %s with CAP_NET_ADMIN only: %s",
			 cfg->user, strerror(errno ? errno : EPERM));
		return -EPERM;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		snprintf(err, errlen, "cannot forbid new privileges and core dumps: %s",
			 strerror(errno));
		return -errno;
	}
	if (!cfg->user_found)
		xk_warn("user %s does not exist: running as root with CAP_NET_ADMIN only "
			"(create it, or set user = root to silence this)",
			cfg->user);
	else
		xk_info("running as %s (uid %u, gid %u) with CAP_NET_ADMIN only", cfg->user,
			cfg->uid, cfg->gid);
	return 0;
}
