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
#define XK_LOG_SUB XK_SUB_CONTROL /* common/log.h */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "daemon/backend.h"
#include "daemon/conn.h"
#include "daemon/certs.h"
#include "daemon/ctl.h"
#include "daemon/daemon.h"
#include "daemon/loop.h"
#include "daemon/metrics.h"
#include "daemon/request.h"
#include "daemon/workers.h"
#include "esp-soft/esp_soft.h"
#include "ike/ikev2.h"

#define PROTOCOL_VERSION 1

static json_object *json_addr(const struct xk_addr *a)
{
	char buf[64];

	return json_object_new_string(xk_addr_str(a, buf, sizeof(buf)));
}

static json_object *json_ts(const struct xk_ts *ts, size_t n)
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

	add(o, "addr", json_addr(a));
	add(o, "port", json_object_new_int(a->port));
	add(o, "id", json_object_new_string(ike_id_str(id, buf, sizeof(buf))));
	return o;
}

/*
 * Clients' sockets are non-blocking: what cannot be written at once waits
 * in the client's output and goes when the socket is writable, so that no
 * client, however slow, holds up the daemon.  A client whose unwritten
 * output grows past this (a monitor that stopped reading) is dropped.
 */
#define CLIENT_OUT_MAX (4u << 20)
/*
 * A client whose socket has taken nothing for this long while output waits
 * is dropped when the next client connects (the output may be small: a
 * listing's slice, with the listing's SPIs held behind it).
 */
#define CLIENT_STALL_MS 60000

/*
 * list-sas is written as it is made, a slice of SAs at a time while the
 * socket takes it: the answer for 100,000 SAs is about 100 MB of JSON,
 * and making it at once held the event loop for seconds.  The SAs are
 * those that existed when it was asked for, by SPI; those gone meanwhile
 * are left out.
 */
#define LIST_SLICE_SAS 256
#define LIST_SLICE_BYTES (64u << 10)

struct xd_list_job {
	uint64_t *spis;
	size_t n, cap, next;
	size_t written; /* SAs written so far */
	char *conn;	/* filter, or NULL */
	bool failed;	/* out of memory collecting the SPIs */
	/* Events for a subscribed client, held back until the answer ends. */
	char *after;
	size_t after_len;
};

static int out_put(struct xd_client *c, const char *s, size_t n)
{
	if (c->out_off && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len - c->out_off + n > CLIENT_OUT_MAX)
		return -ENOBUFS;
	if (c->out_len + n > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *b;

		/* Reclaim what was sent before growing. */
		if (c->out_off) {
			memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
			c->out_len -= c->out_off;
			c->out_off = 0;
		}
		while (cap < c->out_len + n)
			cap *= 2;
		if (cap != c->out_cap) {
			b = realloc(c->out, cap);
			if (!b)
				return -ENOMEM;
			c->out = b;
			c->out_cap = cap;
		}
	}
	memcpy(c->out + c->out_len, s, n);
	c->out_len += n;
	return 0;
}

static void list_job_free(struct xd_list_job *job)
{
	if (!job)
		return;
	free(job->spis);
	free(job->conn);
	free(job->after);
	free(job);
}

static json_object *child_json(struct xiked *d, const struct ike_sa_info *sa,
			       const struct ike_child_info *c)
{
	json_object *o = json_object_new_object();
	char suite[96];
	struct xk_sa_stats in, out;

	xd_backend_child_stats(d, c, &in, &out);
	add(o, "name", json_object_new_string(sa->conn));
	/* Its CHILD_SA configuration: the [child] section's, else the conn's name. */
	add(o, "child", json_object_new_string(c->name));
	add(o, "state", json_object_new_string(c->state));
	add(o, "mode", json_object_new_string(c->mode == XK_MODE_TUNNEL ? "tunnel" : "transport"));
	add(o, "reqid", json_object_new_int64(c->reqid));
	add(o, "spi-in", hex32(c->spi_in));
	add(o, "spi-out", hex32(c->spi_out));
	add(o, "esp-proposal", json_object_new_string(ike_suite_str(&c->suite, suite, sizeof(suite))));
	add(o, "encap", json_object_new_boolean(c->encap));
	add(o, "local-ts", json_ts(c->local_ts, c->n_local_ts));
	add(o, "remote-ts", json_ts(c->remote_ts, c->n_remote_ts));
	/* A route-based tunnel's marks ("VALUE/MASK") and XFRM interface ID. */
	for (int i = 0; i < 2; i++) {
		const struct xk_tag *t = i ? &c->tag_out : &c->tag_in;
		char m[32];

		if (t->mark_mask) {
			snprintf(m, sizeof(m), "0x%x/0x%x", t->mark, t->mark_mask);
			add(o, i ? "mark-out" : "mark-in", json_object_new_string(m));
		}
		if (t->if_id)
			add(o, i ? "if-id-out" : "if-id-in", json_object_new_int64(t->if_id));
	}
	add(o, "bytes-in", json_object_new_int64((int64_t)in.bytes));
	add(o, "packets-in", json_object_new_int64((int64_t)in.packets));
	add(o, "bytes-out", json_object_new_int64((int64_t)out.bytes));
	add(o, "packets-out", json_object_new_int64((int64_t)out.packets));
	return o;
}

/* One SA of a listing, appended to the client's output. */
static int list_sa(struct xiked *d, struct xd_client *c, const struct ike_sa_info *info)
{
	struct xd_list_job *job = c->job;
	json_object *o, *children;
	struct ike_child_info ci;
	char suite[96];
	uint64_t spi = info->initiator ? info->spi_i : info->spi_r;
	const char *text;
	int err = 0;

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
	for (size_t i = 0; ike_engine_child_info(d->eng, spi, i, &ci) == 0; i++)
		json_object_array_add(children, child_json(d, info, &ci));
	add(o, "children", children);
	if (job->written++)
		err = out_put(c, ",", 1);
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (!err)
		err = out_put(c, text, strlen(text));
	json_object_put(o);
	return err;
}

static void list_collect(void *ctx, const struct ike_sa_info *info)
{
	struct xd_list_job *job = ctx;

	if (job->conn && strcmp(job->conn, info->conn))
		return;
	if (job->n == job->cap) {
		size_t cap = job->cap ? 2 * job->cap : 256;
		uint64_t *v = realloc(job->spis, cap * sizeof(*v));

		if (!v) {
			job->failed = true;
			return;
		}
		job->spis = v;
		job->cap = cap;
	}
	job->spis[job->n++] = info->initiator ? info->spi_i : info->spi_r;
}

/* Start {"ok":true,"sas":[...]} for the client; the slices follow. */
static int cmd_list_sas(struct xiked *d, struct xd_client *c, const char *conn)
{
	struct xd_list_job *job = calloc(1, sizeof(*job));

	if (!job)
		return -ENOMEM;
	if (conn) {
		job->conn = strdup(conn);
		if (!job->conn) {
			list_job_free(job);
			return -ENOMEM;
		}
	}
	ike_engine_foreach_sa(d->eng, list_collect, job);
	if (job->failed) {
		list_job_free(job);
		return -ENOMEM;
	}
	c->job = job;
	return out_put(c, "{\"ok\":true,\"sas\":[", 18);
}

/* The next slice of the listing; the end of it when all are written. */
static int list_slice(struct xiked *d, struct xd_client *c)
{
	struct xd_list_job *job = c->job;
	struct ike_sa_info info;
	int err = 0;

	for (unsigned k = 0; k < LIST_SLICE_SAS && job->next < job->n && !err &&
			     c->out_len - c->out_off < LIST_SLICE_BYTES;
	     k++) {
		/* Gone since it was asked for: left out. */
		if (ike_engine_sa_info(d->eng, job->spis[job->next++], &info) == 0)
			err = list_sa(d, c, &info);
	}
	if (!err && job->next == job->n) {
		err = out_put(c, "]}\n", 3);
		if (!err && job->after_len)
			err = out_put(c, job->after, job->after_len);
		list_job_free(job);
		c->job = NULL;
	}
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
		add(o, "local", json_addr(&c->local));
		add(o, "remote", json_addr(&c->remote));
		add(o, "local-id", json_object_new_string(ike_id_str(&c->local_id, buf, sizeof(buf))));
		add(o, "remote-id", json_object_new_string(ike_id_str(&c->remote_id, buf, sizeof(buf))));
		add(o, "ike", json_object_new_string(c->ike_str[0] ? c->ike_str : "default"));
		add(o, "esp", json_object_new_string(c->esp_str[0] ? c->esp_str : "default"));
		add(o, "local-ts", json_ts(c->local_ts, c->n_local_ts));
		add(o, "remote-ts", json_ts(c->remote_ts, c->n_remote_ts));
		add(o, "mode", json_object_new_string(c->mode == XK_MODE_TUNNEL ? "tunnel" : "transport"));
		add(o, "start", json_object_new_string(start_name(c->start)));
		add(o, "dpd", json_object_new_int64(c->dpd_s));
		json_object_array_add(arr, o);
	}
	add(resp, "ok", json_object_new_boolean(true));
	add(resp, "conns", arr);
	return resp;
}

static json_object *cmd_stats(struct xiked *d, bool connections)
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
	S("tx-fragments", s.tx_fragments);
	S("rx-fragments", s.rx_fragments);
	S("rx-reassembled", s.rx_reassembled);
	S("rx-frag-dropped", s.rx_frag_dropped);
	S("cookies-sent", s.cookies_sent);
	S("invalid-ke-sent", s.invalid_ke_sent);
	S("handshakes-ok", s.handshakes_ok);
	S("handshakes-failed", s.handshakes_failed);
	S("auth-failures", s.auth_failures);
	S("timeouts", s.timeouts);
	S("dpd-timeouts", d->stats.dpd_timeouts);
	S("rekeys", s.rekeys);
	S("reauths", s.reauths);
	S("reauths-failed", s.reauths_failed);
	S("ike-sas", s.ike_sa_active);
	S("child-sas", s.child_sa_active);
	S("half-open", s.half_open);
	S("half-open-refused", s.half_open_refused);
	S("half-open-blocked", s.half_open_blocked);
	S("init-too-large", s.init_too_large);
	{
		struct xd_workers_stats ws;

		xd_workers_stats(d, &ws);
		S("threads", ws.threads + 1);
		S("work-submitted", s.work_submitted);
		S("work-pending", s.work_pending);
		S("work-dropped", s.work_dropped);
		S("work-queued", ws.queued);
		S("work-inline", ws.inline_runs);
	}
	S("acquires", d->stats.acquires);
	S("expires", d->stats.expires);
	S("mappings", d->stats.mappings);
	S("kernel-event-overruns", d->stats.event_overruns);
	S("control-refused", d->stats.ctl_refused);
	S("control-denied", d->stats.ctl_denied);
	S("ocsp-requests", d->ocsp.stats.requests);
	S("ocsp-cache-hits", d->ocsp.stats.cache_hits);
	S("ocsp-good", d->ocsp.stats.good);
	S("ocsp-revoked", d->ocsp.stats.revoked);
	S("ocsp-unknown", d->ocsp.stats.unknown);
	S("ocsp-failed", d->ocsp.stats.failed);
	S("ocsp-timeouts", d->ocsp.stats.timeouts);
	if (d->soft) {
		/* The userspace data path's own counters. */
		struct esp_soft_stats es;
		char k[48];

		esp_soft_get_stats(d->soft, &es);
		S("esp-rx-packets", es.rx_packets);
		S("esp-rx-bytes", es.rx_bytes);
		S("esp-tx-packets", es.tx_packets);
		S("esp-tx-bytes", es.tx_bytes);
		S("esp-ike-in", es.ike_in);
		S("esp-ike-relayed", es.ike_relayed);
		S("esp-ike-out", es.ike_out);
		S("esp-keepalives-in", es.keepalives);
		S("esp-keepalives-out", es.keepalives_out);
		S("esp-events-lost", es.events_lost);
		for (int i = 0; i < ESP_SOFT_DROP_N; i++) {
			snprintf(k, sizeof(k), "esp-drop-%s",
				 esp_soft_drop_name((enum esp_soft_drop)i));
			/* Keys with dashes, as the others. */
			for (char *p = k; *p; p++)
				if (*p == '_')
					*p = '-';
			S(k, es.drops[i]);
		}
	}
#undef S
	add(resp, "ok", json_object_new_boolean(true));
	add(resp, "stats", o);
	/* Per connection and per CHILD_SA: asks the kernel for each CHILD_SA. */
	if (connections)
		xd_metrics_add(d, resp);
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

static json_object *done(int r, const char *err)
{
	return r < 0 ? error(err) : ok();
}

/* The answer to send, or NULL when the command wrote it itself (-errno in *sent). */
static json_object *run(struct xiked *d, struct xd_client *c, const struct xd_request *req,
			int *sent)
{
	enum xd_rekey what = req->reauth ? XD_REKEY_REAUTH : req->ike ? XD_REKEY_IKE : XD_REKEY_CHILD;
	char err[512];

	switch (req->cmd) {
	case XD_CMD_STATUS: return cmd_status(d);
	case XD_CMD_LIST_CONNS: return cmd_list_conns(d);
	case XD_CMD_STATS: return cmd_stats(d, req->connections);
	case XD_CMD_LIST_CERTS: {
		json_object *r = xd_certs_json(&d->cfg, &d->ocsp, time(NULL));

		return r ? r : error("out of memory");
	}
	case XD_CMD_LIST_SAS:
		*sent = cmd_list_sas(d, c, req->conn);
		return NULL;
	case XD_CMD_SUBSCRIBE:
		c->subscribed = true;
		return ok();
	case XD_CMD_INITIATE: return done(xd_initiate(d, req->conn, err, sizeof(err)), err);
	case XD_CMD_TERMINATE: return done(xd_terminate(d, req->conn, err, sizeof(err)), err);
	case XD_CMD_REKEY: return done(xd_rekey(d, req->conn, what, err, sizeof(err)), err);
	case XD_CMD_RELOAD: return done(xd_reload(d, err, sizeof(err)), err);
	case XD_CMD_N: break;
	}
	return error("unknown command");
}

/* A refused request: counted, and logged without its fields. */
static void denied(struct xiked *d, const struct xd_client *c, const char *err)
{
	d->stats.ctl_denied++;
	xk_notice("control client uid %u pid %d refused: %s", (unsigned)c->uid, (int)c->pid, err);
}

static json_object *handle(struct xiked *d, struct xd_client *c, const char *line, size_t len,
			   int *sent)
{
	struct xd_request req;
	json_object *resp;
	char err[512];
	int r;

	r = xd_request_parse(line, len, c->access, d->cfg.socket_group, &req, err, sizeof(err));
	if (r == -EACCES)
		denied(d, c, err);
	if (r < 0)
		return error(err);
	resp = run(d, c, &req, sent);
	xd_request_free(&req);
	return resp;
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
	list_job_free(c->job);
	free(c->out);
	free(c);
}

/*
 * Write what the socket takes now, making the listing's next slice when
 * the output runs dry; then watch for what the client needs next: more
 * room to write, or its next request.  0, or -errno: drop the client.
 */
static int client_flush(struct xiked *d, struct xd_client *c)
{
	int events = 0;

	for (;;) {
		ssize_t n;

		if (c->out_off == c->out_len && c->job) {
			int err = list_slice(d, c);

			if (err < 0)
				return err;
		}
		if (c->out_off == c->out_len)
			break;
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0)
			return -errno;
		c->stalled_ms = 0;
		c->out_off += (size_t)n;
		/* One slice per turn of the loop: the IKE traffic goes between. */
		if (c->out_off == c->out_len && c->job) {
			events |= EV_WRITE;
			break;
		}
	}
	if (c->out_off < c->out_len)
		events |= EV_WRITE;
	/* Waiting to write: since the socket last took something. */
	if (!(events & EV_WRITE))
		c->stalled_ms = 0;
	else if (!c->stalled_ms)
		c->stalled_ms = xd_now_ms();
	/* Requests wait while an answer is being written: answers keep their order. */
	if (!c->job && c->len < sizeof(c->buf) - 1)
		events |= EV_READ;
	if ((c->w.events & (EV_READ | EV_WRITE)) != events) {
		ev_io_stop(d->loop, &c->w);
		ev_io_set(&c->w, c->fd, events);
		ev_io_start(d->loop, &c->w);
	}
	return 0;
}

/* Hold an event line back until the listing under way has ended. */
static int hold_event(struct xd_list_job *job, const char *s, size_t n)
{
	char *b;

	if (job->after_len + n + 1 > CLIENT_OUT_MAX)
		return -ENOBUFS;
	b = realloc(job->after, job->after_len + n + 1);
	if (!b)
		return -ENOMEM;
	memcpy(b + job->after_len, s, n);
	b[job->after_len + n] = '\n';
	job->after = b;
	job->after_len += n + 1;
	return 0;
}

/* Queue a whole line; a client that cannot keep up is dropped. */
static int client_send(struct xiked *d, struct xd_client *c, json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	size_t n = strlen(s);
	int err;

	if (c->job)
		return hold_event(c->job, s, n);
	err = out_put(c, s, n);
	if (!err)
		err = out_put(c, "\n", 1);
	return err < 0 ? err : client_flush(d, c);
}

/* Answer the complete requests read so far, in order; < 0: drop the client. */
static int client_requests(struct xiked *d, struct xd_client *c)
{
	char *nl;

	/* memchr, not strchr: a NUL in a line makes it a bad request, not a stall. */
	while (!c->job && (nl = memchr(c->buf, '\n', c->len))) {
		json_object *resp;
		int err = 0;

		*nl = '\0';
		d->ctl_busy = c;
		resp = handle(d, c, c->buf, (size_t)(nl - c->buf), &err);
		d->ctl_busy = NULL;
		if (!err && resp)
			err = client_send(d, c, resp);
		json_object_put(resp);
		if (!err && c->broken)
			err = -ENOBUFS;
		if (err < 0)
			return err;
		memmove(c->buf, nl + 1, c->len - (size_t)(nl + 1 - c->buf) + 1);
		c->len -= (size_t)(nl + 1 - c->buf);
	}
	/* A line longer than the buffer is no request of ours. */
	if (!c->job && c->len == sizeof(c->buf) - 1)
		return -EMSGSIZE;
	return client_flush(d, c);
}

static void on_client(struct ev_loop *loop, ev_io *w, int revents)
{
	struct xd_client *c = container_of(w, struct xd_client, w);
	struct xiked *d = w->data;
	bool was_listing = c->job != NULL;
	ssize_t n;

	(void)loop;
	if (revents & EV_WRITE) {
		if (client_flush(d, c) < 0) {
			client_close(d, c);
			return;
		}
		/* A listing just ended: the requests behind it are next. */
		if (was_listing && !c->job) {
			if (client_requests(d, c) < 0) {
				client_close(d, c);
				return;
			}
			xd_engine_kick(d);
		}
	}
	if (!(revents & EV_READ) || c->job)
		return;
	n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, MSG_DONTWAIT);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			client_close(d, c);
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	if (client_requests(d, c) < 0) {
		client_close(d, c);
		return;
	}
	xd_engine_kick(d);
}

/*
 * The client's credentials, taken by the kernel when it connected.  Its
 * supplementary groups need SO_PEERGROUPS (Linux 4.13); without them its
 * primary group alone decides.
 */
static int peer_creds(int fd, struct ucred *cr, gid_t **groups, size_t *n)
{
	socklen_t len = sizeof(*cr);
	gid_t *g = NULL;

	*groups = NULL;
	*n = 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cr, &len) < 0)
		return -errno;
	len = 64 * sizeof(gid_t);
	for (int tries = 0; tries < 2; tries++) {
		gid_t *b = realloc(g, len ? len : sizeof(gid_t));

		if (!b)
			break;
		g = b;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == 0) {
			*groups = g;
			*n = len / sizeof(gid_t);
			return 0;
		}
		/* ERANGE: len now says how much it takes. */
		if (errno != ERANGE)
			break;
	}
	free(g);
	return 0;
}

static enum xd_access client_access(struct xiked *d, int fd, struct ucred *cr)
{
	struct xd_peer peer;
	gid_t *groups;
	size_t n;
	enum xd_access a;

	if (peer_creds(fd, cr, &groups, &n) < 0)
		return XD_ACCESS_NONE;
	peer = (struct xd_peer){ .uid = cr->uid, .gid = cr->gid, .groups = groups, .n_groups = n };
	a = xd_access_of(&peer, geteuid(), d->cfg.socket_group[0] != '\0', d->cfg.socket_gid);
	free(groups);
	return a;
}

static size_t client_count(const struct xiked *d)
{
	size_t n = 0;

	for (const struct xd_client *c = d->clients; c; c = c->next)
		n++;
	return n;
}

/* Turn a new client away with one error line: it may not or cannot be served. */
static void turn_away(struct xiked *d, int fd, const char *why)
{
	json_object *resp = error(why);
	const char *s = json_object_to_json_string_ext(resp, JSON_C_TO_STRING_PLAIN);
	char line[512];
	int n = snprintf(line, sizeof(line), "%s\n", s);

	/* Best effort: a fresh socket has room for one line. */
	if (send(fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1,
		 MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		xk_debug("control client turned away before it could be told: %s", strerror(errno));
	json_object_put(resp);
	close(fd);
	d->stats.ctl_refused++;
}

/* Whether a new client may stay; if not it is answered, closed and counted. */
static bool admit(struct xiked *d, int fd, struct ucred *cr, enum xd_access *access)
{
	char why[256];

	*access = client_access(d, fd, cr);
	if (*access == XD_ACCESS_NONE) {
		snprintf(why, sizeof(why), "permission denied: the control socket is for root, "
			 "the daemon's user and members of group %s",
			 d->cfg.socket_group[0] ? d->cfg.socket_group : "(none)");
		xk_notice("control client uid %u pid %d refused: not root, the daemon's user or "
			  "in the socket's group", (unsigned)cr->uid, (int)cr->pid);
		turn_away(d, fd, why);
		return false;
	}
	if (client_count(d) >= d->cfg.socket_clients) {
		snprintf(why, sizeof(why), "too many control clients (%u): try again later",
			 (unsigned)d->cfg.socket_clients);
		xk_notice("control client uid %u pid %d refused: %u clients already",
			  (unsigned)cr->uid, (int)cr->pid, (unsigned)d->cfg.socket_clients);
		turn_away(d, fd, why);
		return false;
	}
	return true;
}

/* Before another comes in: those that stopped reading long ago go. */
static void drop_stalled(struct xiked *d)
{
	for (struct xd_client *o = d->clients, *next; o; o = next) {
		next = o->next;
		if (o->stalled_ms && xd_now_ms() - o->stalled_ms > CLIENT_STALL_MS) {
			xk_notice("control client dropped: it read nothing for %u s",
				  CLIENT_STALL_MS / 1000);
			client_close(d, o);
		}
	}
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct xiked *d = container_of(w, struct xiked, ctl_w);
	struct xd_client *c;
	struct ucred cr = { .pid = 0 };
	enum xd_access access;
	int fd;

	(void)revents;
	drop_stalled(d);
	fd = accept4(d->ctl_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0 || !admit(d, fd, &cr, &access))
		return;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->access = access;
	c->uid = cr.uid;
	c->pid = cr.pid;
	ev_io_init(&c->w, on_client, fd, EV_READ);
	c->w.data = d;
	ev_io_start(loop, &c->w);
	c->next = d->clients;
	d->clients = c;
}

static bool monitored(const struct xiked *d)
{
	for (const struct xd_client *c = d->clients; c; c = c->next)
		if (c->subscribed)
			return true;
	return false;
}

/* Send an event object to every subscriber (takes ownership). */
static void broadcast(struct xiked *d, json_object *ev)
{
	struct xd_client *c = d->clients, *next;

	for (; c; c = next) {
		next = c->next;
		if (!c->subscribed || client_send(d, c, ev) == 0)
			continue;
		/* The client whose request made the event is dropped after it. */
		if (c == d->ctl_busy)
			c->broken = true;
		else
			client_close(d, c);
	}
	json_object_put(ev);
}

static const char *event_name(enum ike_event_type t)
{
	switch (t) {
	case IKE_EV_IKE_UP: return "ike-up";
	case IKE_EV_IKE_DOWN: return "ike-down";
	case IKE_EV_CHILD_UP: return "child-up";
	case IKE_EV_CHILD_DOWN: return "child-down";
	case IKE_EV_AUTH_FAILED: return "auth-failed";
	case IKE_EV_FAILED: return "failed";
	case IKE_EV_IKE_REKEYED: return "ike-rekeyed";
	case IKE_EV_CHILD_REKEYED: return "child-rekeyed";
	case IKE_EV_PEER_DEAD: return "peer-dead";
	case IKE_EV_IKE_REAUTHENTICATED: return "ike-reauthenticated";
	}
	return "?";
}

void xd_ctl_publish(struct xiked *d, json_object *ev)
{
	if (monitored(d))
		broadcast(d, ev);
	else
		json_object_put(ev);
}

void xd_ctl_event(struct xiked *d, const struct ike_event *ev)
{
	json_object *o;

	/* Two events per handshake: no JSON unless somebody listens. */
	if (!monitored(d))
		return;
	o = json_object_new_object();
	add(o, "event", json_object_new_string(event_name(ev->type)));
	add(o, "conn", json_object_new_string(ev->conn));
	add(o, "spi-i", hex64(ev->spi_i));
	add(o, "spi-r", hex64(ev->spi_r));
	if (ev->remote)
		add(o, "remote", json_addr(ev->remote));
	if (ev->child) {
		add(o, "child", json_object_new_string(ev->child->name));
		add(o, "spi-in", hex32(ev->child->spi_in));
		add(o, "spi-out", hex32(ev->child->spi_out));
	}
	if (ev->child && ev->type == IKE_EV_CHILD_DOWN)
		add(o, "end", json_object_new_string(ev->child->end == IKE_CHILD_END_CLOSED ? "closed"
						     : ev->child->end == IKE_CHILD_END_LOST ? "lost"
											     : "local"));
	if (ev->notify)
		add(o, "notify", json_object_new_string(ikev2_notify_name(ev->notify)));
	if (ev->reason)
		add(o, "reason", json_object_new_string(ev->reason));
	broadcast(d, o);
}

/*
 * Bind with a umask that leaves the socket 0600 from its first moment; with
 * a socket-group, its group is set before the group gets its rights (0660),
 * so that no other group can connect meanwhile.
 */
static int ctl_bind(struct xiked *d, int fd, const struct sockaddr_un *sun)
{
	mode_t old = umask(0177);
	int r = bind(fd, (const struct sockaddr *)sun, sizeof(*sun));

	umask(old);
	if (r < 0)
		return -errno;
	if (!d->cfg.socket_group[0])
		return 0;
	if (fchownat(AT_FDCWD, sun->sun_path, (uid_t)-1, d->cfg.socket_gid,
		     AT_SYMLINK_NOFOLLOW) < 0 ||
	    chmod(sun->sun_path, 0660) < 0)
		return -errno;
	return 0;
}

int xd_ctl_open(struct xiked *d)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, err;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", d->cfg.socket);
	unlink(sun.sun_path);
	err = ctl_bind(d, fd, &sun);
	if (!err && listen(fd, 16) < 0)
		err = -errno;
	if (err) {
		close(fd);
		unlink(sun.sun_path);
		return err;
	}
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
