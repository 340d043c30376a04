/* SPDX-License-Identifier: ISC */
/*
 * Control requests: parsed, type-checked and checked against the client's
 * access before ctl.c runs them.  The order of the checks is the order of
 * the errors in docs/control.md: the line, the types of the fields, the
 * command, the client's access, then what the command needs.
 */
#include "daemon/request.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	bool read_only;
	bool needs_conn;
} cmds[XD_CMD_N] = {
	[XD_CMD_STATUS] = { "status", true, false },
	[XD_CMD_LIST_CONNS] = { "list-conns", true, false },
	[XD_CMD_LIST_SAS] = { "list-sas", true, false },
	[XD_CMD_STATS] = { "stats", true, false },
	[XD_CMD_LIST_CERTS] = { "list-certs", true, false },
	[XD_CMD_SUBSCRIBE] = { "subscribe", true, false },
	[XD_CMD_INITIATE] = { "initiate", false, true },
	[XD_CMD_TERMINATE] = { "terminate", false, true },
	[XD_CMD_REKEY] = { "rekey", false, true },
	[XD_CMD_RELOAD] = { "reload", false, false },
};

const char *xd_cmd_name(enum xd_cmd cmd)
{
	return cmd < XD_CMD_N ? cmds[cmd].name : "?";
}

bool xd_cmd_read_only(enum xd_cmd cmd)
{
	return cmd < XD_CMD_N && cmds[cmd].read_only;
}

static bool in_group(const struct xd_peer *peer, gid_t group)
{
	if (peer->gid == group)
		return true;
	for (size_t i = 0; i < peer->n_groups; i++)
		if (peer->groups[i] == group)
			return true;
	return false;
}

enum xd_access xd_access_of(const struct xd_peer *peer, uid_t self, bool has_group, gid_t group)
{
	if (peer->uid == 0 || peer->uid == self)
		return XD_ACCESS_ALL;
	if (has_group && in_group(peer, group))
		return XD_ACCESS_READ;
	return XD_ACCESS_NONE;
}

/*
 * A field of a request: absent (NULL, *ok true), or of the JSON type
 * expected (the value, *ok true), or anything else, null included (*ok
 * false): a request is checked, never trusted.
 */
static json_object *field(json_object *req, const char *key, json_type type, bool *ok)
{
	json_object *v = NULL;

	*ok = true;
	if (!json_object_object_get_ex(req, key, &v))
		return NULL;
	if (!v || !json_object_is_type(v, type))
		*ok = false;
	return *ok ? v : NULL;
}

static int refuse(char *err, size_t errlen, int code, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return code;
}

/* "permission denied: 'reload' needs ...", listing what the group may run. */
static int denied(enum xd_cmd cmd, const char *group, char *err, size_t errlen)
{
	size_t n = (size_t)snprintf(err, errlen,
				    "permission denied: '%s' needs root or the daemon's user; "
				    "members of group %s may run",
				    cmds[cmd].name, group ? group : "(none)");

	for (int i = 0, k = 0; i < XD_CMD_N && n < errlen; i++)
		if (cmds[i].read_only)
			n += (size_t)snprintf(err + n, errlen - n, "%s %s", k++ ? "," : "",
					      cmds[i].name);
	return -EACCES;
}

static int lookup(const char *name, enum xd_cmd *cmd)
{
	for (int i = 0; i < XD_CMD_N; i++) {
		if (!strcmp(name, cmds[i].name)) {
			*cmd = (enum xd_cmd)i;
			return 0;
		}
	}
	return -ENOENT;
}

/* The fields of an object request, each of its type. */
static int fields(struct xd_request *req, const char **cmd, char *err, size_t errlen)
{
	static const char shape[] = "request must be an object with \"cmd\", a string";
	json_object *jcmd, *jconn, *jike, *jreauth, *jconns;
	bool ok_cmd, ok_conn, ok_ike, ok_reauth, ok_conns;

	if (!req->json || !json_object_is_type(req->json, json_type_object))
		return refuse(err, errlen, -EINVAL, shape);
	jcmd = field(req->json, "cmd", json_type_string, &ok_cmd);
	if (!jcmd)
		return refuse(err, errlen, -EINVAL, shape);
	jconn = field(req->json, "conn", json_type_string, &ok_conn);
	jike = field(req->json, "ike", json_type_boolean, &ok_ike);
	jreauth = field(req->json, "reauth", json_type_boolean, &ok_reauth);
	jconns = field(req->json, "connections", json_type_boolean, &ok_conns);
	if (!ok_conn)
		return refuse(err, errlen, -EINVAL, "\"conn\" must be a string");
	if (!ok_ike || !ok_reauth || !ok_conns)
		return refuse(err, errlen, -EINVAL,
			      "\"ike\", \"reauth\" and \"connections\" must be true or false");
	*cmd = json_object_get_string(jcmd);
	req->conn = jconn ? json_object_get_string(jconn) : NULL;
	req->ike = jike && json_object_get_boolean(jike);
	req->reauth = jreauth && json_object_get_boolean(jreauth);
	req->connections = jconns && json_object_get_boolean(jconns);
	return 0;
}

static int check(struct xd_request *req, enum xd_access access, const char *group, char *err,
		 size_t errlen)
{
	const char *cmd;
	int r = fields(req, &cmd, err, errlen);

	if (r < 0)
		return r;
	if (lookup(cmd, &req->cmd) < 0) {
		snprintf(err, errlen, "unknown command: %s", cmd);
		return -EINVAL;
	}
	if (access != XD_ACCESS_ALL && !(access == XD_ACCESS_READ && cmds[req->cmd].read_only))
		return denied(req->cmd, group, err, errlen);
	if (cmds[req->cmd].needs_conn && !req->conn)
		return refuse(err, errlen, -EINVAL, "\"conn\" is required");
	if (req->cmd == XD_CMD_REKEY && req->ike && req->reauth)
		return refuse(err, errlen, -EINVAL, "\"ike\" and \"reauth\" exclude each other");
	return 0;
}

/*
 * The line is one JSON value and nothing after it but blanks: a NUL, a
 * second value or anything else behind the first is no request of ours.
 * The value may be NULL (the line `null`) with *ok true.
 */
static json_object *parse_line(const char *line, size_t len, bool *ok)
{
	struct json_tokener *tok;
	json_object *o;

	*ok = false;
	if (len > INT_MAX - 1 || memchr(line, '\0', len))
		return NULL;
	tok = json_tokener_new();
	if (!tok)
		return NULL;
	/* With its NUL, so that a number at the end of the line ends. */
	o = json_tokener_parse_ex(tok, line, (int)len + 1);
	*ok = json_tokener_get_error(tok) == json_tokener_success &&
	      json_tokener_get_parse_end(tok) == len;
	json_tokener_free(tok);
	if (!*ok) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

int xd_request_parse(const char *line, size_t len, enum xd_access access, const char *group,
		     struct xd_request *req, char *err, size_t errlen)
{
	bool ok;
	int r;

	*req = (struct xd_request){ .json = parse_line(line, len, &ok) };
	if (!ok)
		return refuse(err, errlen, -EINVAL, "request is not valid JSON");
	r = check(req, access, group, err, errlen);
	if (r < 0)
		xd_request_free(req);
	return r;
}

void xd_request_free(struct xd_request *req)
{
	json_object_put(req->json);
	req->json = NULL;
	req->conn = NULL;
}
