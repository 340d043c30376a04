/* SPDX-License-Identifier: ISC */
/*
 * A control request: one line of JSON (docs/control.md) made into a checked
 * struct, and who may ask for it.  No sockets and no event loop here, so
 * that the unit tests and the fuzz target (tests/fuzz/fuzz_ctl.c) run it as
 * the daemon does; ctl.c does the I/O and the commands.
 */
#ifndef XD_REQUEST_H
#define XD_REQUEST_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum xd_cmd {
	/* Read-only: the socket's group may run these. */
	XD_CMD_STATUS,
	XD_CMD_LIST_CONNS,
	XD_CMD_LIST_SAS,
	XD_CMD_STATS,
	XD_CMD_LIST_CERTS,
	XD_CMD_SUBSCRIBE,
	/* They change the daemon's state: root and the daemon's user only. */
	XD_CMD_INITIATE,
	XD_CMD_TERMINATE,
	XD_CMD_REKEY,
	XD_CMD_RELOAD,
	XD_CMD_N,
};

/* What a client may do, decided once from its credentials when it connects. */
enum xd_access {
	XD_ACCESS_NONE, /* neither privileged nor in the socket's group */
	XD_ACCESS_READ, /* in the socket's group: the read-only commands */
	XD_ACCESS_ALL,  /* root or the daemon's own user */
};

/* A client's credentials (SO_PEERCRED, SO_PEERGROUPS). */
struct xd_peer {
	uid_t uid;
	gid_t gid;
	const gid_t *groups; /* supplementary groups */
	size_t n_groups;
};

struct xd_request {
	enum xd_cmd cmd;
	const char *conn; /* NULL when absent; owned by json */
	bool ike, reauth;
	bool connections; /* stats: with the per-connection metrics */
	json_object *json;
};

/*
 * The access of a client: `self` is the daemon's effective uid, `group` the
 * socket's group (has_group false: there is none, 0600).
 */
enum xd_access xd_access_of(const struct xd_peer *peer, uid_t self, bool has_group, gid_t group);

/*
 * Parse and check one request line of len bytes (without its newline, a
 * NUL after it) from a client of `access`; `group` names the socket's
 * group for the refusal.  0, or
 * -EINVAL (a bad request) or -EACCES (not for this client), with the error
 * answer for the client in err.  On success free the request with
 * xd_request_free.
 */
int xd_request_parse(const char *line, size_t len, enum xd_access access, const char *group,
		     struct xd_request *req, char *err, size_t errlen);
void xd_request_free(struct xd_request *req);

const char *xd_cmd_name(enum xd_cmd cmd);
bool xd_cmd_read_only(enum xd_cmd cmd);

#endif
