/* SPDX-License-Identifier: ISC */
/*
 * Control requests (src/daemon/request.c): who may run what, and each
 * request answered with the error docs/control.md gives it, in the order
 * the checks are made.
 */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "daemon/request.h"

#define ALL XD_ACCESS_ALL
#define READ XD_ACCESS_READ
#define NONE XD_ACCESS_NONE

/* Credentials: the daemon runs as uid 100, the socket's group is 50. */
static void test_access(void)
{
	static const gid_t some[] = { 7, 50, 9 }, other[] = { 7, 9 };
	static const struct {
		struct xd_peer peer;
		bool has_group;
		enum xd_access want;
	} cases[] = {
		{ { .uid = 0, .gid = 0 }, true, XD_ACCESS_ALL },	     /* root */
		{ { .uid = 100, .gid = 100 }, false, XD_ACCESS_ALL },	     /* the daemon's user */
		{ { .uid = 1000, .gid = 50 }, true, XD_ACCESS_READ },	     /* primary group */
		{ { .uid = 1000, .gid = 1000, .groups = some, .n_groups = 3 }, true,
		  XD_ACCESS_READ },					     /* supplementary */
		{ { .uid = 1000, .gid = 1000, .groups = other, .n_groups = 2 }, true,
		  XD_ACCESS_NONE },					     /* not a member */
		{ { .uid = 1000, .gid = 50 }, false, XD_ACCESS_NONE },	     /* no group set */
		{ { .uid = 65534, .gid = 0 }, false, XD_ACCESS_NONE },	     /* group root is no root */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_MSG(xd_access_of(&cases[i].peer, 100, cases[i].has_group, 50) == cases[i].want,
			  "case %zu", i);
}

static const struct {
	const char *line;
	int access;
	int want; /* 0, -EINVAL or -EACCES */
	const char *err; /* the start of the error */
} reqs[] = {
	{ "{\"cmd\": \"status\"}", READ, 0, NULL },
	{ "{\"cmd\": \"list-conns\"}", READ, 0, NULL },
	{ "{\"cmd\": \"list-sas\", \"conn\": \"a\"}", READ, 0, NULL },
	{ "{\"cmd\": \"stats\"}", READ, 0, NULL },
	{ "{\"cmd\": \"subscribe\"}", READ, 0, NULL },
	{ "{\"cmd\": \"initiate\", \"conn\": \"a\"}", ALL, 0, NULL },
	{ "{\"cmd\": \"rekey\", \"conn\": \"a\", \"reauth\": true}", ALL, 0, NULL },
	{ "{\"cmd\": \"reload\"}", ALL, 0, NULL },
	{ "{\"cmd\": \"initiate\", \"conn\": \"a\"}", READ, -EACCES,
	  "permission denied: 'initiate' needs root or the daemon's user; members of group "
	  "xike-mon may run status, list-conns, list-sas, stats, list-certs, subscribe" },
	{ "{\"cmd\": \"terminate\", \"conn\": \"a\"}", READ, -EACCES, "permission denied: 'terminate'" },
	{ "{\"cmd\": \"rekey\", \"conn\": \"a\"}", READ, -EACCES, "permission denied: 'rekey'" },
	{ "{\"cmd\": \"reload\"}", READ, -EACCES, "permission denied: 'reload'" },
	{ "{\"cmd\": \"status\"}", NONE, -EACCES, "permission denied: 'status'" },
	/* Permission is decided before what the command needs. */
	{ "{\"cmd\": \"initiate\"}", READ, -EACCES, "permission denied: 'initiate'" },
	/* A bad request is one, whoever sends it. */
	{ "", ALL, -EINVAL, "request is not valid JSON" },
	{ "{\"cmd\": ", READ, -EINVAL, "request is not valid JSON" },
	/* One object to a line, nothing after it but blanks. */
	{ "{\"cmd\": \"status\"} x", READ, -EINVAL, "request is not valid JSON" },
	{ "{\"cmd\": \"status\"}{\"cmd\": \"reload\"}", ALL, -EINVAL, "request is not valid JSON" },
	{ "5 6", ALL, -EINVAL, "request is not valid JSON" },
	{ "{\"cmd\": \"status\"}  \r", READ, 0, NULL },
	{ "5", ALL, -EINVAL, "request must be an object" },
	{ "null", ALL, -EINVAL, "request must be an object" },
	{ "[1, 2]", ALL, -EINVAL, "request must be an object" },
	{ "{}", ALL, -EINVAL, "request must be an object" },
	{ "{\"cmd\": null}", ALL, -EINVAL, "request must be an object" },
	{ "{\"cmd\": 5}", ALL, -EINVAL, "request must be an object" },
	{ "{\"cmd\": \"initiate\", \"conn\": null}", ALL, -EINVAL, "\"conn\" must be a string" },
	{ "{\"cmd\": \"list-sas\", \"conn\": {}}", READ, -EINVAL, "\"conn\" must be a string" },
	{ "{\"cmd\": \"rekey\", \"conn\": \"a\", \"ike\": \"yes\"}", ALL, -EINVAL,
	  "\"ike\", \"reauth\" and \"connections\" must be true or false" },
	{ "{\"cmd\": \"launch\"}", READ, -EINVAL, "unknown command: launch" },
	{ "{\"cmd\": \"initiate\"}", ALL, -EINVAL, "\"conn\" is required" },
	{ "{\"cmd\": \"rekey\", \"conn\": \"a\", \"ike\": true, \"reauth\": true}", ALL, -EINVAL,
	  "\"ike\" and \"reauth\" exclude each other" },
	/* Fields a command does not use are ignored. */
	{ "{\"cmd\": \"status\", \"ike\": true, \"reauth\": true, \"x\": [null]}", READ, 0, NULL },
};

static void test_requests(void)
{
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		struct xd_request req;
		char err[512] = "";
		int r = xd_request_parse(reqs[i].line, strlen(reqs[i].line),
					 (enum xd_access)reqs[i].access, "xike-mon", &req, err,
					 sizeof(err));

		CHECK_MSG(r == reqs[i].want, "case %zu (%s): %d, want %d (%s)", i, reqs[i].line, r,
			  reqs[i].want, err);
		if (r == 0) {
			CHECK(req.json != NULL);
			xd_request_free(&req);
		} else {
			CHECK_MSG(!strncmp(err, reqs[i].err, strlen(reqs[i].err)),
				  "case %zu: \"%s\", want \"%s...\"", i, err, reqs[i].err);
		}
	}
}

/* What a parsed request carries. */
static void test_fields(void)
{
	static const char line[] = "{\"cmd\":\"rekey\",\"conn\":\"site\",\"ike\":true}";
	static const char nul[] = "{\"cmd\":\"status\"}\0x";
	struct xd_request req;
	char err[512];

	/* A NUL in the line: no request, whatever is before it. */
	CHECK_INT(xd_request_parse(nul, sizeof(nul) - 1, ALL, NULL, &req, err, sizeof(err)),
		  -EINVAL);
	CHECK_INT(xd_request_parse(line, sizeof(line) - 1, ALL, NULL, &req, err, sizeof(err)), 0);
	CHECK_INT(req.cmd, XD_CMD_REKEY);
	CHECK(req.conn && !strcmp(req.conn, "site"));
	CHECK(req.ike && !req.reauth);
	xd_request_free(&req);
	CHECK(!strcmp(xd_cmd_name(XD_CMD_SUBSCRIBE), "subscribe"));
	CHECK(xd_cmd_read_only(XD_CMD_LIST_SAS));
	CHECK(!xd_cmd_read_only(XD_CMD_RELOAD));
}

int main(void)
{
	test_access();
	test_requests();
	test_fields();
	return check_done("request");
}
