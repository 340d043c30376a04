/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer: control requests (src/daemon/request.c), as the daemon reads
 * them: the input is what a client sends, cut into lines at '\n' (and, as
 * the daemon's buffer is a C string, ended at a NUL), each line at most
 * the daemon's 8190 bytes.
 *
 * Each line is parsed for a client of every access.  Oracles besides the
 * sanitizers: the result is 0, -EINVAL or -EACCES; a client without access
 * runs nothing; the group runs only read-only commands, and what it may
 * run root may too; a bad request is the same error whoever sends it;
 * a request accepted carries what its command needs; every error makes a
 * JSON answer that reads back to the same text.
 *
 * Then the whole input goes, as root's, to an xiked running in this
 * process (ctl_daemon.h), whose commands act on its connections and
 * engine: every line it sends back must be a JSON response or event, and
 * each request line must get its one response.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_daemon.h"
#include "daemon/request.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The daemon's request buffer (struct xd_client's buf) less its NUL and '\n'. */
#define LINE_MAX_BYTES 8190

struct answer {
	int r;
	char err[512];
};

/* The error answer ctl.c sends must carry the error unchanged. */
static void check_error_answer(const char *err)
{
	json_object *o = json_object_new_object(), *back, *e;
	const char *s;

	json_object_object_add(o, "ok", json_object_new_boolean(false));
	json_object_object_add(o, "error", json_object_new_string(err));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	back = json_tokener_parse(s);
	if (!back || !json_object_object_get_ex(back, "error", &e) ||
	    strcmp(json_object_get_string(e), err))
		CTL_FAIL("an error answer does not read back");
	json_object_put(back);
	json_object_put(o);
}

/* What an accepted request must carry. */
static void check_request(const struct xd_request *req, enum xd_access access)
{
	json_object *jcmd;

	if (req->cmd >= XD_CMD_N)
		CTL_FAIL("a command out of range");
	if (access == XD_ACCESS_NONE)
		CTL_FAIL("a client without access ran a command");
	if (access == XD_ACCESS_READ && !xd_cmd_read_only(req->cmd))
		CTL_FAIL("the socket's group ran a command that changes state");
	if ((req->cmd == XD_CMD_INITIATE || req->cmd == XD_CMD_TERMINATE ||
	     req->cmd == XD_CMD_REKEY) && !req->conn)
		CTL_FAIL("a command about a connection without one");
	if (req->cmd == XD_CMD_REKEY && req->ike && req->reauth)
		CTL_FAIL("a rekey of both kinds");
	if (!json_object_object_get_ex(req->json, "cmd", &jcmd) ||
	    strcmp(json_object_get_string(jcmd), xd_cmd_name(req->cmd)))
		CTL_FAIL("the command is not the one asked for");
}

static void parse(const char *line, enum xd_access access, struct answer *a)
{
	struct xd_request req;

	memset(a->err, 0, sizeof(a->err));
	a->r = xd_request_parse(line, access, "xike", &req, a->err, sizeof(a->err));
	if (a->r == 0) {
		check_request(&req, access);
		xd_request_free(&req);
		return;
	}
	if (a->r != -EINVAL && a->r != -EACCES)
		CTL_FAIL("an error other than -EINVAL or -EACCES");
	if (a->r == -EACCES && access == XD_ACCESS_ALL)
		CTL_FAIL("root refused for permission");
	if (!a->err[0] || a->err[sizeof(a->err) - 1])
		CTL_FAIL("an error without text, or not ended");
	check_error_answer(a->err);
}

static void one_line(const char *line)
{
	struct answer all, read, none;

	parse(line, XD_ACCESS_ALL, &all);
	parse(line, XD_ACCESS_READ, &read);
	parse(line, XD_ACCESS_NONE, &none);
	if (read.r == 0 && all.r != 0)
		CTL_FAIL("the group may run what root may not");
	/* The request itself is checked before the client's access. */
	if (read.r == -EINVAL && (all.r != -EINVAL || strcmp(read.err, all.err)))
		CTL_FAIL("a bad request answered differently for the group");
	if (none.r == -EINVAL && (all.r != -EINVAL || strcmp(none.err, all.err)))
		CTL_FAIL("a bad request answered differently without access");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	ctl_daemon_start();
	return 0;
}

/*
 * The lines the daemon answers: those ended by '\n' up to the first NUL
 * (its buffer is a C string: no line ends past it) and up to the first
 * line longer than it takes (the connection is closed there).
 */
static size_t requests(char *buf)
{
	size_t n = 0;
	char *line, *nl;

	for (line = buf; (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = '\0';
		if (strlen(line) > LINE_MAX_BYTES)
			break;
		one_line(line);
		n++;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	size_t n;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	n = requests(buf);
	free(buf);
	ctl_daemon_talk((const char *)data, size, n);
	return 0;
}
