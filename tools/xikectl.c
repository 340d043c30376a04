/* SPDX-License-Identifier: ISC */
/*
 * xikectl: control xiked over its UNIX socket (newline-delimited JSON,
 * docs/control.md).  Tables for people by default, --json for scripts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "swanctl_import.h"

static const char *sock_path = "/run/xike/xiked.sock";
static bool opt_json, opt_prom, opt_conns;

static int connect_daemon(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "xikectl: cannot reach xiked at %s: %s\n", sock_path,
			strerror(errno));
		exit(1);
	}
	return fd;
}

/*
 * A daemon that turns a client away (too many clients, no access) answers
 * at once and closes: the request may then meet a closed socket (EPIPE),
 * and the answer waiting to be read says why.
 */
static void send_line(int fd, json_object *req)
{
	const char *s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);

	if (send(fd, s, strlen(s), MSG_NOSIGNAL) < 0 || send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
		if (errno == EPIPE || errno == ECONNRESET)
			return;
		fprintf(stderr, "xikectl: write: %s\n", strerror(errno));
		exit(1);
	}
}

/*
 * Read one line and parse it; NULL at end of stream.  The buffer grows: a
 * list-sas of 100,000 SAs is a line of about 100 MB.
 */
#define LINE_MAX_BYTES (1ul << 30)

static json_object *read_line(int fd)
{
	static char *buf;
	static size_t len, cap, scanned;
	char *nl;

	for (;;) {
		nl = len > scanned ? memchr(buf + scanned, '\n', len - scanned) : NULL;
		if (nl) {
			json_object *o;

			*nl = '\0';
			o = json_tokener_parse(buf);
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len);
			scanned = 0;
			return o;
		}
		scanned = len;
		if (len == cap) {
			size_t ncap = cap ? 2 * cap : 1 << 16;
			char *n;

			if (ncap > LINE_MAX_BYTES)
				return NULL;
			n = realloc(buf, ncap);
			if (!n)
				return NULL;
			buf = n;
			cap = ncap;
		}
		ssize_t n = read(fd, buf + len, cap - len);

		if (n <= 0)
			return NULL;
		len += (size_t)n;
	}
}

static json_object *call(json_object *req)
{
	int fd = connect_daemon();
	json_object *resp, *ok, *err;

	send_line(fd, req);
	resp = read_line(fd);
	close(fd);
	json_object_put(req);
	if (!resp) {
		fprintf(stderr, "xikectl: no answer from xiked\n");
		exit(1);
	}
	if (!json_object_object_get_ex(resp, "ok", &ok) || !json_object_get_boolean(ok)) {
		fprintf(stderr, "xikectl: %s\n", json_object_object_get_ex(resp, "error", &err) ?
			json_object_get_string(err) : "request failed");
		exit(1);
	}
	return resp;
}

static json_object *request(const char *cmd, const char *conn)
{
	json_object *req = json_object_new_object();

	json_object_object_add(req, "cmd", json_object_new_string(cmd));
	if (conn)
		json_object_object_add(req, "conn", json_object_new_string(conn));
	return req;
}

static const char *str(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "";
}

static json_object *get(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static void print_json(json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							    JSON_C_TO_STRING_NOSLASHESCAPE));
}

static void join(json_object *arr, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++)
		o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s%s", i ? "," : "",
				      json_object_get_string(json_object_array_get_idx(arr, i)));
}

static void list_sas(json_object *resp)
{
	json_object *sas = get(resp, "sas");
	size_t n = sas ? json_object_array_length(sas) : 0;

	if (!n)
		printf("no IKE SAs\n");
	for (size_t i = 0; i < n; i++) {
		json_object *sa = json_object_array_get_idx(sas, i);
		json_object *l = get(sa, "local"), *r = get(sa, "remote");
		json_object *ch = get(sa, "children");

		printf("%s: %s, %s[%s]:%s ... %s[%s]:%s\n", str(sa, "name"), str(sa, "state"),
		       str(l, "addr"), str(l, "id"), str(l, "port"), str(r, "addr"), str(r, "id"),
		       str(r, "port"));
		printf("  %s %s_i %s_r, %s, up %ss\n", str(sa, "role"), str(sa, "spi-i"),
		       str(sa, "spi-r"), str(sa, "ike-proposal"), str(sa, "established-seconds"));
		for (size_t j = 0; ch && j < json_object_array_length(ch); j++) {
			json_object *c = json_object_array_get_idx(ch, j);
			char lt[512], rt[512];

			join(get(c, "local-ts"), lt, sizeof(lt));
			join(get(c, "remote-ts"), rt, sizeof(rt));
			printf("  %s: %s, %s, %s_i %s_o, %s%s\n",
			       *str(c, "child") ? str(c, "child") : str(c, "name"), str(c, "state"),
			       str(c, "mode"), str(c, "spi-in"), str(c, "spi-out"),
			       str(c, "esp-proposal"), json_object_get_boolean(get(c, "encap")) ?
			       ", udp-encap" : "");
			printf("    in  %s bytes, %s packets\n", str(c, "bytes-in"), str(c, "packets-in"));
			printf("    out %s bytes, %s packets\n", str(c, "bytes-out"),
			       str(c, "packets-out"));
			printf("    %s === %s\n", lt, rt);
			if (get(c, "mark-in") || get(c, "mark-out") || get(c, "if-id-in"))
				printf("    mark in %s out %s, if_id %s\n",
				       get(c, "mark-in") ? str(c, "mark-in") : "-",
				       get(c, "mark-out") ? str(c, "mark-out") : "-",
				       get(c, "if-id-in") ? str(c, "if-id-in") : "-");
		}
	}
}

static void list_conns(json_object *resp)
{
	json_object *conns = get(resp, "conns");

	printf("%-16s %-8s %-9s %-8s %-20s %s\n", "NAME", "START", "MODE", "DPD", "REMOTE",
	       "IKE / ESP");
	for (size_t i = 0; conns && i < json_object_array_length(conns); i++) {
		json_object *c = json_object_array_get_idx(conns, i);

		printf("%-16s %-8s %-9s %-8s %-20s %s / %s\n", str(c, "name"), str(c, "start"),
		       str(c, "mode"), str(c, "dpd"), str(c, "remote"), str(c, "ike"), str(c, "esp"));
	}
}

/* A Prometheus label value: backslash, quote and newline escaped. */
static void label(const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			putchar('\\');
		if (*v == '\n')
			fputs("\\n", stdout);
		else
			putchar(*v);
	}
}

/* One sample: xike_NAME{conn="...",EXTRA} VALUE. */
static void sample(const char *name, const char *conn, const char *extra, json_object *v)
{
	printf("xike_%s{conn=\"", name);
	label(conn);
	printf("\"%s} %s\n", extra, json_object_get_string(v));
}

static const struct {
	const char *key, *name, *extra;
} conn_series[] = {
	{ "up", "conn_up", "" },
	{ "ike-sas", "conn_ike_sas", "" },
	{ "child-sas", "conn_child_sas", "" },
	{ "established-seconds", "conn_established_seconds", "" },
	{ "ike-ups", "conn_ike_ups_total", "" },
	{ "child-ups", "conn_child_ups_total", "" },
	{ "ike-rekeys", "conn_ike_rekeys_total", "" },
	{ "child-rekeys", "conn_child_rekeys_total", "" },
	{ "last-setup-ms", "conn_last_setup_milliseconds", "" },
	{ "bytes-in", "conn_bytes_total", ",dir=\"in\"" },
	{ "bytes-out", "conn_bytes_total", ",dir=\"out\"" },
	{ "packets-in", "conn_packets_total", ",dir=\"in\"" },
	{ "packets-out", "conn_packets_total", ",dir=\"out\"" },
};

/* Per connection and per CHILD_SA, as Prometheus series. */
static void conn_metrics(json_object *resp)
{
	json_object *conns = get(resp, "connections"), *children = get(resp, "children");

	json_object_object_foreach(conns, name, c) {
		json_object *f = get(c, "failures");

		for (size_t i = 0; i < sizeof(conn_series) / sizeof(conn_series[0]); i++) {
			json_object *v = get(c, conn_series[i].key);

			if (v && json_object_is_type(v, json_type_boolean))
				v = json_object_new_int(json_object_get_boolean(v));
			else if (v)
				json_object_get(v);
			if (v)
				sample(conn_series[i].name, name, conn_series[i].extra, v);
			json_object_put(v);
		}
		json_object_object_foreach(f, reason, n) {
			char extra[128];

			snprintf(extra, sizeof(extra), ",reason=\"%s\"", reason);
			sample("conn_failures_total", name, extra, n);
		}
	}
	for (size_t i = 0; children && i < json_object_array_length(children); i++) {
		json_object *ch = json_object_array_get_idx(children, i);
		char extra[64];
		static const char *const keys[][3] = {
			{ "bytes-in", "child_bytes_total", "in" },
			{ "bytes-out", "child_bytes_total", "out" },
			{ "packets-in", "child_packets_total", "in" },
			{ "packets-out", "child_packets_total", "out" },
		};

		for (size_t k = 0; k < 4; k++) {
			snprintf(extra, sizeof(extra), ",spi_in=\"%s\",dir=\"%s\"", str(ch, "spi-in"),
				 keys[k][2]);
			sample(keys[k][1], str(ch, "conn"), extra, get(ch, keys[k][0]));
		}
	}
}

/* Per connection, as a table. */
static void conn_table(json_object *resp)
{
	json_object *conns = get(resp, "connections");

	printf("\n%-16s %-4s %4s %6s %10s %7s %7s %14s %14s\n", "CONN", "UP", "IKE", "CHILD",
	       "UP-SECONDS", "REKEYS", "SETUP", "BYTES-IN", "BYTES-OUT");
	json_object_object_foreach(conns, name, c) {
		printf("%-16s %-4s %4s %6s %10s %7lld %5sms %14s %14s\n", name,
		       json_object_get_boolean(get(c, "up")) ? "yes" : "no", str(c, "ike-sas"),
		       str(c, "child-sas"), str(c, "established-seconds"),
		       (long long)(json_object_get_int64(get(c, "child-rekeys")) +
				   json_object_get_int64(get(c, "ike-rekeys"))),
		       str(c, "last-setup-ms"), str(c, "bytes-in"), str(c, "bytes-out"));
	}
}

static void stats(json_object *resp)
{
	json_object *s = get(resp, "stats");

	json_object_object_foreach(s, k, v) {
		if (opt_prom) {
			char name[128];
			size_t j = 0;

			/* Prometheus names: xike_ prefix, underscores. */
			for (const char *p = k; *p && j < sizeof(name) - 1; p++)
				name[j++] = *p == '-' ? '_' : *p;
			name[j] = '\0';
			printf("# TYPE xike_%s %s\n", name,
			       strstr(k, "sas") || !strcmp(k, "half-open") ? "gauge" : "counter");
			printf("xike_%s %s\n", name, json_object_get_string(v));
		} else {
			printf("%-20s %s\n", k, json_object_get_string(v));
		}
	}
	if (get(resp, "connections"))
		(opt_prom ? conn_metrics : conn_table)(resp);
}

/*
 * One event as a line: its name, then only the fields it has (events about
 * a certificate or a refused peer have no SPIs).
 */
static void monitor_line(json_object *ev)
{
	printf("%s", str(ev, "event"));
	if (get(ev, "conn"))
		printf(" conn=%s", str(ev, "conn"));
	if (get(ev, "spi-i"))
		printf(" spi=%s_%s", str(ev, "spi-i"), str(ev, "spi-r"));
	if (get(ev, "spi-in"))
		printf(" child=%s_%s", str(ev, "spi-in"), str(ev, "spi-out"));
	if (get(ev, "notify"))
		printf(" notify=%s", str(ev, "notify"));
	if (get(ev, "reason"))
		printf(" reason=%s", str(ev, "reason"));
	printf("\n");
}

static int monitor(void)
{
	int fd = connect_daemon();
	json_object *resp, *ev;

	send_line(fd, request("subscribe", NULL));
	resp = read_line(fd);
	if (!resp || !json_object_get_boolean(get(resp, "ok"))) {
		fprintf(stderr, "xikectl: subscribe refused: %s\n",
			resp ? str(resp, "error") : "no answer");
		return 1;
	}
	json_object_put(resp);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((ev = read_line(fd))) {
		if (opt_json)
			printf("%s\n", json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN));
		else
			monitor_line(ev);
		json_object_put(ev);
	}
	return 0;
}

/* list-certs: one block per certificate or CRL, with who uses it, then the OCSP answers kept. */
static int list_certs(void)
{
	json_object *resp = call(request("list-certs", NULL)), *certs = get(resp, "certs");
	json_object *ocsp = get(resp, "ocsp");

	if (opt_json) {
		print_json(resp);
		json_object_put(resp);
		return 0;
	}
	for (size_t i = 0; certs && i < json_object_array_length(certs); i++) {
		json_object *c = json_object_array_get_idx(certs, i), *uses = get(c, "used-by");
		bool crl = !strcmp(str(c, "kind"), "crl");

		if (crl)
			printf("crl      issuer %s\n", str(c, "issuer"));
		else
			printf("cert     %s\n"
			       "         issuer %s\n"
			       "         serial %s, key %s %s bits\n",
			       str(c, "subject"), str(c, "issuer"), str(c, "serial"),
			       str(c, "key-type"), str(c, "key-bits"));
		printf("         %s %s .. %s (%s days left)\n", crl ? "update" : "valid",
		       str(c, crl ? "this-update" : "not-before"),
		       str(c, crl ? "next-update" : "not-after"),
		       get(c, "days-left") ? str(c, "days-left") : "-");
		printf("         sha256 %s\n", str(c, "sha256"));
		if (get(c, "ocsp-uri"))
			printf("         ocsp %s\n", str(c, "ocsp-uri"));
		printf("         used by");
		for (size_t j = 0; uses && j < json_object_array_length(uses); j++) {
			json_object *u = json_object_array_get_idx(uses, j);

			printf("%s %s (%s)", j ? "," : "", str(u, "conn"), str(u, "as"));
		}
		printf("\n");
	}
	for (size_t i = 0; ocsp && i < json_object_array_length(ocsp); i++) {
		json_object *o = json_object_array_get_idx(ocsp, i);

		printf("ocsp     %s\n"
		       "         serial %s: %s",
		       str(o, "subject"), str(o, "serial"), str(o, "status"));
		if (get(o, "reason"))
			printf(" (%s, %s)", str(o, "reason"), str(o, "revoked-at"));
		printf("\n         update %s .. %s\n"
		       "         from %s\n",
		       str(o, "this-update"), str(o, "next-update"), str(o, "responder"));
	}
	json_object_put(resp);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: xikectl [-s SOCKET] [-j|--json] COMMAND\n"
		   "  status                 daemon status\n"
		   "  list-conns             configured connections\n"
		   "  list-sas [CONN]        IKE SAs and their CHILD SAs\n"
		   "  list-certs             loaded certificates, CAs, CRLs and OCSP answers\n"
		   "  initiate CONN          start a connection\n"
		   "  terminate CONN         delete its IKE SAs\n"
		   "  rekey CONN [ike|reauth] rekey its CHILD SAs (or its IKE SA, or\n"
		   "                         reauthenticate its IKE SA)\n"
		   "  (initiate, terminate and rekey take CONN/CHILD or a [child] name\n"
		   "   too: that CHILD SA alone, on the connection's IKE SA)\n"
		   "  reload                 re-read the configuration\n"
		   "  stats [--connections] [--prometheus]\n"
		   "                         counters; per connection and CHILD SA too\n"
		   "                         with --connections (implied by --prometheus)\n"
		   "  monitor                follow events\n"
		   "  import [--output FILE] [FILE|-]\n"
		   "                         swanctl.conf into xiked.conf (see xikectl(8))\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'p' },
		{ "connections", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd, *arg;
	json_object *resp, *q;
	int o;

	/* Works on files, not the daemon: its own options (swanctl_import.c). */
	if (argc > 1 && !strcmp(argv[1], "import"))
		return xikectl_import_main(argc - 1, argv + 1);
	while ((o = getopt_long(argc, argv, "s:jh", opts, NULL)) != -1) {
		switch (o) {
		case 's': sock_path = optarg; break;
		case 'j': opt_json = true; break;
		case 'p': opt_prom = opt_conns = true; break;
		case 'C': opt_conns = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	arg = optind + 1 < argc ? argv[optind + 1] : NULL;
	if (!strcmp(cmd, "monitor"))
		return monitor();
	if (!strcmp(cmd, "list-certs"))
		return list_certs();
	if (!strcmp(cmd, "initiate") || !strcmp(cmd, "terminate") || !strcmp(cmd, "rekey")) {
		if (!arg) {
			fprintf(stderr, "xikectl: %s needs a connection name\n", cmd);
			return 2;
		}
		json_object *req = request(cmd, arg);

		/*
		 * rekey CONN ike: the IKE SA instead of its CHILD SAs; rekey CONN
		 * reauth: the IKE SA by a new IKE_SA_INIT + IKE_AUTH.
		 */
		if (!strcmp(cmd, "rekey") && optind + 2 < argc) {
			const char *what = argv[optind + 2];

			if (strcmp(what, "ike") && strcmp(what, "reauth")) {
				fprintf(stderr, "xikectl: rekey CONN takes ike or reauth, not %s\n", what);
				json_object_put(req);
				return 2;
			}
			json_object_object_add(req, what, json_object_new_boolean(true));
		}
		resp = call(req);
		if (opt_json)
			print_json(resp);
		json_object_put(resp);
		return 0;
	}
	if (strcmp(cmd, "status") && strcmp(cmd, "list-conns") && strcmp(cmd, "list-sas") &&
	    strcmp(cmd, "stats") && strcmp(cmd, "reload")) {
		fprintf(stderr, "xikectl: unknown command: %s\n", cmd);
		usage(stderr);
		return 2;
	}
	q = request(cmd, !strcmp(cmd, "list-sas") ? arg : NULL);
	if (!strcmp(cmd, "stats") && opt_conns)
		json_object_object_add(q, "connections", json_object_new_boolean(true));
	resp = call(q);
	if (opt_json && !opt_prom)
		print_json(resp);
	else if (!strcmp(cmd, "list-sas"))
		list_sas(resp);
	else if (!strcmp(cmd, "list-conns"))
		list_conns(resp);
	else if (!strcmp(cmd, "stats"))
		stats(resp);
	else if (!strcmp(cmd, "status"))
		printf("xiked %s, pid %s, up %ss, backend %s, %s conns, %s IKE SAs, %s CHILD SAs\n",
		       str(resp, "version"), str(resp, "pid"), str(resp, "uptime-seconds"),
		       str(resp, "backend"), str(resp, "conns"), str(resp, "ike-sas"),
		       str(resp, "child-sas"));
	json_object_put(resp);
	return 0;
}
