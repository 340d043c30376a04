/* SPDX-License-Identifier: ISC */
/*
 * The control socket: newline-delimited JSON requests and responses on a
 * UNIX stream socket, plus an event stream for subscribers.  The shapes
 * are a public API, documented in docs/control.md.
 *
 *   -> {"cmd": "list-sas"}
 *   <- {"ok": true, "sas": [ ... ]}
 *   <- {"ok": false, "error": "no such connection: foo"}
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "daemon/daemon.h"
#include "ike/ikev2.h"

#define PROTOCOL_VERSION 1

json_object *xd_json_addr(const struct xk_addr *a)
{
	char buf[64];

	return json_object_new_string(xk_addr_str(a, buf, sizeof(buf)));
}

json_object *xd_json_ts(const struct xk_ts *ts, size_t n)
{
	json_object *arr = json_object_new_array();
	char buf[XK_TS_STRLEN];

	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_string(xk_ts_str(&ts[i], buf, sizeof(buf))));
	return arr;
}

static json_object *hex64(uint64_t v)
{
	char buf[20];

	snprintf(buf, sizeof(buf), "%016" PRIx64, v);
	return json_object_new_string(buf);
}

static json_object *hex32(uint32_t v)
{
	char buf[12];

	snprintf(buf, sizeof(buf), "%08" PRIx32, v);
	return json_object_new_string(buf);
}

static void add(json_object *o, const char *k, json_object *v)
{
	json_object_object_add(o, k, v);
}

static json_object *endpoint(const struct xk_addr *a, const struct ike_id *id)
{
	json_object *o = json_object_new_object();
	char buf[300];

	add(o, "addr", xd_json_addr(a));
	add(o, "port", json_object_new_int(a->port));
	add(o, "id", json_object_new_string(ike_id_str(id, buf, sizeof(buf))));
	return o;
}

/*
 * list-sas is written to the client as it is made, one SA at a time: the
 * answer for 100,000 SAs is about 100 MB of JSON, which as one json-c tree
 * took over a gigabyte and kept it.
 */
struct list_ctx {
	struct xiked *d;
	int fd;
	const char *conn; /* filter, or NULL */
	size_t n;	  /* SAs written */
	int err;	  /* the first send error */
	size_t len;
	char buf[64 * 1024];
};

/* All of buf to a client (blocking); 0 or -errno. */
static int send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		}
	}
	return 0;
}

static void list_flush(struct list_ctx *l)
{
	if (!l->err)
		l->err = send_all(l->fd, l->buf, l->len);
	l->len = 0;
}

static void list_put(struct list_ctx *l, const char *s)
{
	size_t n = strlen(s);

	while (n && !l->err) {
		size_t room = sizeof(l->buf) - l->len, k = n < room ? n : room;

		memcpy(l->buf + l->len, s, k);
		l->len += k;
		s += k;
		n -= k;
		if (l->len == sizeof(l->buf))
			list_flush(l);
	}
}

static json_object *child_json(struct xiked *d, const struct ike_sa_info *sa,
			       const struct ike_child_info *c)
{
	json_object *o = json_object_new_object();
	char suite[96];
	struct xk_sa_stats in = { 0 }, out = { 0 };
	struct xk_sa_id id_in = { .dst = sa->local, .spi = c->spi_in, .proto = 50 };
	struct xk_sa_id id_out = { .dst = sa->remote, .spi = c->spi_out, .proto = 50 };

	if (d->kops.query_sa) {
		d->kops.query_sa(d, &id_in, &in);
		d->kops.query_sa(d, &id_out, &out);
	}
	add(o, "name", json_object_new_string(sa->conn));
	add(o, "state", json_object_new_string(c->state));
	add(o, "mode", json_object_new_string(c->mode == XK_MODE_TUNNEL ? "tunnel" : "transport"));
	add(o, "reqid", json_object_new_int64(c->reqid));
	add(o, "spi-in", hex32(c->spi_in));
	add(o, "spi-out", hex32(c->spi_out));
	add(o, "esp-proposal", json_object_new_string(ike_suite_str(&c->suite, suite, sizeof(suite))));
	add(o, "encap", json_object_new_boolean(c->encap));
	add(o, "local-ts", xd_json_ts(c->local_ts, c->n_local_ts));
	add(o, "remote-ts", xd_json_ts(c->remote_ts, c->n_remote_ts));
	add(o, "bytes-in", json_object_new_int64((int64_t)in.bytes));
	add(o, "packets-in", json_object_new_int64((int64_t)in.packets));
	add(o, "bytes-out", json_object_new_int64((int64_t)out.bytes));
	add(o, "packets-out", json_object_new_int64((int64_t)out.packets));
	return o;
}

static void list_one(void *ctx, const struct ike_sa_info *info)
{
	struct list_ctx *l = ctx;
	json_object *o, *children;
	struct ike_child_info ci;
	char suite[96];
	uint64_t spi = info->initiator ? info->spi_i : info->spi_r;

	if (l->conn && strcmp(l->conn, info->conn))
		return;
	o = json_object_new_object();
	add(o, "name", json_object_new_string(info->conn));
	add(o, "state", json_object_new_string(ike_sa_state_name(info->state)));
	add(o, "role", json_object_new_string(info->initiator ? "initiator" : "responder"));
	add(o, "local", endpoint(&info->local, &info->local_id));
	add(o, "remote", endpoint(&info->remote, &info->remote_id));
	add(o, "ike-proposal", json_object_new_string(info->suite.encr ?
		ike_suite_str(&info->suite, suite, sizeof(suite)) : ""));
	add(o, "spi-i", hex64(info->spi_i));
	add(o, "spi-r", hex64(info->spi_r));
	add(o, "nat-local", json_object_new_boolean(info->nat_local));
	add(o, "nat-remote", json_object_new_boolean(info->nat_remote));
	add(o, "established-seconds", json_object_new_int64(info->established_ms ?
		(int64_t)((xd_now_ms() - info->established_ms) / 1000) : 0));
	/* How long the negotiation took (IKE SAs made by a rekey: 0). */
	add(o, "setup-ms", json_object_new_int64(info->established_ms > info->created_ms ?
		(int64_t)(info->established_ms - info->created_ms) : 0));
	children = json_object_new_array();
	for (size_t i = 0; ike_engine_child_info(l->d->eng, spi, i, &ci) == 0; i++)
		json_object_array_add(children, child_json(l->d, info, &ci));
	add(o, "children", children);
	if (l->n++)
		list_put(l, ",");
	list_put(l, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

/* Answers on fd itself: {"ok":true,"sas":[...]} and a newline. */
static int cmd_list_sas(struct xiked *d, int fd, json_object *req)
{
	struct list_ctx *l = calloc(1, sizeof(*l));
	json_object *c;
	int err;

	if (!l)
		return -ENOMEM;
	l->d = d;
	l->fd = fd;
	if (json_object_object_get_ex(req, "conn", &c))
		l->conn = json_object_get_string(c);
	list_put(l, "{\"ok\":true,\"sas\":[");
	ike_engine_foreach_sa(d->eng, list_one, l);
	list_put(l, "]}\n");
	list_flush(l);
	err = l->err;
	free(l);
	return err;
}

static const char *start_name(enum xd_start s)
{
	return s == XD_START_START ? "start" : s == XD_START_TRAP ? "trap" : "none";
}

static json_object *cmd_list_conns(struct xiked *d)
{
	json_object *resp = json_object_new_object(), *arr = json_object_new_array();
	char buf[300];

	for (size_t i = 0; i < d->cfg.n_conns; i++) {
		const struct xd_conn *c = &d->cfg.conns[i];
		json_object *o = json_object_new_object();

		add(o, "name", json_object_new_string(c->name));
		add(o, "local", xd_json_addr(&c->local));
		add(o, "remote", xd_json_addr(&c->remote));
		add(o, "local-id", json_object_new_string(ike_id_str(&c->local_id, buf, sizeof(buf))));
		add(o, "remote-id", json_object_new_string(ike_id_str(&c->remote_id, buf, sizeof(buf))));
		add(o, "ike", json_object_new_string(c->ike_str[0] ? c->ike_str : "default"));
		add(o, "esp", json_object_new_string(c->esp_str[0] ? c->esp_str : "default"));
		add(o, "local-ts", xd_json_ts(c->local_ts, c->n_local_ts));
		add(o, "remote-ts", xd_json_ts(c->remote_ts, c->n_remote_ts));
		add(o, "mode", json_object_new_string(c->mode == XK_MODE_TUNNEL ? "tunnel" : "transport"));
		add(o, "start", json_object_new_string(start_name(c->start)));
		add(o, "dpd", json_object_new_int64(c->dpd_s));
		json_object_array_add(arr, o);
	}
	add(resp, "ok", json_object_new_boolean(true));
	add(resp, "conns", arr);
	return resp;
}

static json_object *cmd_stats(struct xiked *d)
{
	json_object *resp = json_object_new_object(), *o = json_object_new_object();
	struct ike_stats s;

	ike_engine_stats(d->eng, &s);
#define S(k, v) add(o, k, json_object_new_int64((int64_t)(v)))
	S("rx-packets", s.rx_packets);
	S("tx-packets", s.tx_packets);
	S("rx-malformed", s.rx_malformed);
	S("rx-bad-icv", s.rx_bad_icv);
	S("rx-unknown-spi", s.rx_unknown_spi);
	S("rx-unexpected", s.rx_unexpected);
	S("rx-dropped", d->stats.rx_dropped);
	S("retransmits", s.retransmits);
	S("responses-resent", s.responses_resent);
	S("cookies-sent", s.cookies_sent);
	S("invalid-ke-sent", s.invalid_ke_sent);
	S("handshakes-ok", s.handshakes_ok);
	S("handshakes-failed", s.handshakes_failed);
	S("auth-failures", s.auth_failures);
	S("timeouts", s.timeouts);
	S("dpd-timeouts", d->stats.dpd_timeouts);
	S("rekeys", s.rekeys);
	S("ike-sas", s.ike_sa_active);
	S("child-sas", s.child_sa_active);
	S("half-open", s.half_open);
	S("acquires", d->stats.acquires);
	S("expires", d->stats.expires);
	S("mappings", d->stats.mappings);
#undef S
	add(resp, "ok", json_object_new_boolean(true));
	add(resp, "stats", o);
	return resp;
}

static json_object *cmd_status(struct xiked *d)
{
	json_object *resp = json_object_new_object();
	struct ike_stats s;

	ike_engine_stats(d->eng, &s);
	add(resp, "ok", json_object_new_boolean(true));
	add(resp, "version", json_object_new_string(XIKE_VERSION));
	add(resp, "protocol", json_object_new_int(PROTOCOL_VERSION));
	add(resp, "pid", json_object_new_int(getpid()));
	add(resp, "uptime-seconds", json_object_new_int64((int64_t)((xd_now_ms() - d->started_ms) / 1000)));
	add(resp, "config", json_object_new_string(d->cfg_path));
	add(resp, "backend", json_object_new_string(d->soft ? "soft" : "xfrm"));
	add(resp, "conns", json_object_new_int64((int64_t)d->cfg.n_conns));
	add(resp, "ike-sas", json_object_new_int64((int64_t)s.ike_sa_active));
	add(resp, "child-sas", json_object_new_int64((int64_t)s.child_sa_active));
	return resp;
}

static json_object *error(const char *msg)
{
	json_object *resp = json_object_new_object();

	add(resp, "ok", json_object_new_boolean(false));
	add(resp, "error", json_object_new_string(msg));
	return resp;
}

static json_object *ok(void)
{
	json_object *resp = json_object_new_object();

	add(resp, "ok", json_object_new_boolean(true));
	return resp;
}

/* The answer to send, or NULL when the command wrote it itself (-errno in *sent). */
static json_object *handle(struct xiked *d, struct xd_client *c, json_object *req, int *sent)
{
	json_object *jcmd, *jconn;
	const char *cmd, *conn = NULL;
	char err[512];

	if (!json_object_is_type(req, json_type_object) ||
	    !json_object_object_get_ex(req, "cmd", &jcmd))
		return error("request must be an object with \"cmd\"");
	cmd = json_object_get_string(jcmd);
	if (json_object_object_get_ex(req, "conn", &jconn))
		conn = json_object_get_string(jconn);
	if (!strcmp(cmd, "status"))
		return cmd_status(d);
	if (!strcmp(cmd, "list-conns"))
		return cmd_list_conns(d);
	if (!strcmp(cmd, "list-sas")) {
		*sent = cmd_list_sas(d, c->fd, req);
		return NULL;
	}
	if (!strcmp(cmd, "stats"))
		return cmd_stats(d);
	if (!strcmp(cmd, "initiate") || !strcmp(cmd, "terminate")) {
		int r;

		if (!conn)
			return error("\"conn\" is required");
		r = cmd[0] == 'i' ? xd_initiate(d, conn, err, sizeof(err))
				  : xd_terminate(d, conn, err, sizeof(err));
		return r < 0 ? error(err) : ok();
	}
	if (!strcmp(cmd, "rekey")) {
		json_object *jike, *jreauth;
		bool ike = json_object_object_get_ex(req, "ike", &jike) &&
			   json_object_get_boolean(jike);
		bool reauth = json_object_object_get_ex(req, "reauth", &jreauth) &&
			      json_object_get_boolean(jreauth);

		if (!conn)
			return error("\"conn\" is required");
		if (ike && reauth)
			return error("\"ike\" and \"reauth\" exclude each other");
		return xd_rekey(d, conn, reauth ? XD_REKEY_REAUTH : ike ? XD_REKEY_IKE : XD_REKEY_CHILD,
				err, sizeof(err)) < 0
			       ? error(err)
			       : ok();
	}
	if (!strcmp(cmd, "reload"))
		return xd_reload(d, err, sizeof(err)) < 0 ? error(err) : ok();
	if (!strcmp(cmd, "subscribe")) {
		c->subscribed = true;
		return ok();
	}
	snprintf(err, sizeof(err), "unknown command: %s", cmd);
	return error(err);
}

static void client_close(struct xiked *d, struct xd_client *c)
{
	struct xd_client **pp;

	ev_io_stop(d->loop, &c->w);
	close(c->fd);
	for (pp = &d->clients; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	free(c);
}

/* Write a whole line; a client that cannot keep up is dropped. */
static int client_send(struct xd_client *c, json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	int err = send_all(c->fd, s, strlen(s));

	return err < 0 ? err : send_all(c->fd, "\n", 1);
}

static void on_client(struct ev_loop *loop, ev_io *w, int revents)
{
	struct xd_client *c = container_of(w, struct xd_client, w);
	struct xiked *d = w->data;
	ssize_t n;
	char *nl;

	(void)loop;
	(void)revents;
	n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, MSG_DONTWAIT);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			client_close(d, c);
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	while ((nl = strchr(c->buf, '\n'))) {
		json_object *req, *resp;
		int sent = 0;

		*nl = '\0';
		req = json_tokener_parse(c->buf);
		resp = req ? handle(d, c, req, &sent) : error("request is not valid JSON");
		json_object_put(req);
		if (sent < 0 || (resp && client_send(c, resp) < 0)) {
			json_object_put(resp);
			client_close(d, c);
			return;
		}
		json_object_put(resp);
		memmove(c->buf, nl + 1, c->len - (size_t)(nl + 1 - c->buf) + 1);
		c->len -= (size_t)(nl + 1 - c->buf);
	}
	/* A line longer than the buffer is no request of ours. */
	if (c->len == sizeof(c->buf) - 1)
		client_close(d, c);
	xd_engine_kick(d);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct xiked *d = container_of(w, struct xiked, ctl_w);
	struct xd_client *c;
	int fd;

	(void)revents;
	fd = accept4(d->ctl_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	/*
	 * Blocking, so that a large answer is written whole, but bounded: a
	 * client that stops reading is dropped after a second.
	 */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &(struct timeval){ .tv_sec = 1 },
		   sizeof(struct timeval));
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	ev_io_init(&c->w, on_client, fd, EV_READ);
	c->w.data = d;
	ev_io_start(loop, &c->w);
	c->next = d->clients;
	d->clients = c;
}

bool xd_ctl_monitored(const struct xiked *d)
{
	for (const struct xd_client *c = d->clients; c; c = c->next)
		if (c->subscribed)
			return true;
	return false;
}

void xd_ctl_broadcast(struct xiked *d, json_object *ev)
{
	struct xd_client *c = d->clients, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->subscribed && client_send(c, ev) < 0)
			client_close(d, c);
	}
	json_object_put(ev);
}

int xd_ctl_open(struct xiked *d)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", d->cfg.socket);
	unlink(sun.sun_path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 16) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	/* Root only: the socket steers every tunnel on the host. */
	chmod(sun.sun_path, 0600);
	d->ctl_fd = fd;
	ev_io_init(&d->ctl_w, on_accept, fd, EV_READ);
	ev_io_start(d->loop, &d->ctl_w);
	return 0;
}

void xd_ctl_close(struct xiked *d)
{
	while (d->clients)
		client_close(d, d->clients);
	if (d->ctl_fd > 0) {
		ev_io_stop(d->loop, &d->ctl_w);
		close(d->ctl_fd);
		unlink(d->cfg.socket);
		d->ctl_fd = -1;
	}
}
