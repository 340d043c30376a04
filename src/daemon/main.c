/* SPDX-License-Identifier: ISC */
/*
 * xiked: the IKEv2 daemon.  One process, one libev loop: the IKE sockets,
 * the XFRM event socket, the control socket and the engine's timer feed
 * the sans-I/O engine; signals are handled here and nowhere else.
 */
#define _GNU_SOURCE
#include <cap-ng.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "daemon/daemon.h"
#include "esp-soft/esp_soft.h"
#include "ike/ikev2.h"

#define TRAP_REQID_BASE 0x7cf00000u

uint64_t xd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t engine_now(void *ctx)
{
	(void)ctx;
	return xd_now_ms();
}

/* Re-arm the engine's timer after anything that may have changed it. */
void xd_engine_kick(struct xiked *d)
{
	uint64_t next = ike_engine_next_timeout(d->eng), now = xd_now_ms();

	ev_timer_stop(d->loop, &d->timer);
	if (next == UINT64_MAX)
		return;
	ev_timer_set(&d->timer, next > now ? (double)(next - now) / 1000.0 : 0.0, 0.0);
	ev_timer_start(d->loop, &d->timer);
}

static const struct xd_conn *conn_find(const struct xd_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_conns; i++)
		if (!strcmp(cfg->conns[i].name, name))
			return &cfg->conns[i];
	return NULL;
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct xiked *d = container_of(w, struct xiked, retry);
	uint64_t now = xd_now_ms();
	bool pending = false;

	(void)revents;
	for (size_t i = 0; i < d->cfg.n_conns; i++) {
		struct xd_conn *c = &d->cfg.conns[i];
		char err[256];

		if (!c->retry_ms)
			continue;
		if (now < c->retry_ms) {
			pending = true;
			continue;
		}
		c->retry_ms = 0;
		xk_info("retrying conn=%s", c->name);
		if (xd_initiate(d, c->name, err, sizeof(err)) < 0 && strcmp(err, "already up or in progress"))
			xk_warn("retry conn=%s: %s", c->name, err);
	}
	if (!pending)
		ev_timer_stop(loop, w);
}

static bool has_trap(const struct xiked *d, const char *conn)
{
	for (size_t i = 0; i < d->n_traps; i++)
		if (!strcmp(d->traps[i].conn, conn))
			return true;
	return false;
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct xiked *d = container_of(w, struct xiked, timer);

	(void)loop;
	(void)revents;
	ike_engine_tick(d->eng);
	if (d->pending_action == XD_DPD_RESTART) {
		char err[256];

		if (xd_initiate(d, d->pending_conn, err, sizeof(err)) < 0)
			xk_warn("dpd restart conn=%s: %s", d->pending_conn, err);
	} else if (d->pending_action == XD_DPD_TRAP) {
		struct xd_conn *c = (struct xd_conn *)conn_find(&d->cfg, d->pending_conn);

		/* A trapped conn's trap never left; others get one now. */
		if (c && !has_trap(d, c->name))
			xd_traps_install(d, c, c->reqid);
	}
	d->pending_action = XD_DPD_CLEAR;
	xd_engine_kick(d);
}


/* The dpd-action of a connection whose peer stopped answering. */
static void on_peer_dead(struct xiked *d, const char *name)
{
	const struct xd_conn *c = conn_find(&d->cfg, name);

	d->stats.dpd_timeouts++;
	if (!c)
		return;
	switch (c->dpd_action) {
	case XD_DPD_CLEAR:
		xk_notice("dpd conn=%s: peer dead, SAs cleared", name);
		break;
	case XD_DPD_RESTART:
	case XD_DPD_TRAP:
		xk_notice("dpd conn=%s: peer dead, %s", name,
			  c->dpd_action == XD_DPD_RESTART ? "negotiating again" : "waiting for traffic");
		/*
		 * The engine removes the dead SA (and its policies) right after
		 * this event; act once the loop comes round.
		 */
		d->pending_action = c->dpd_action;
		snprintf(d->pending_conn, sizeof(d->pending_conn), "%s", name);
		ev_feed_event(d->loop, &d->timer, EV_TIMER);
		break;
	}
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

static void on_engine_event(void *ctx, const struct ike_event *ev)
{
	struct xiked *d = ctx;
	json_object *o;
	char spi[20];

	if (ev->child && ev->type == IKE_EV_CHILD_UP && d->routes)
		xd_routes_child_up(d->routes, ev->remote, ev->child);
	/*
	 * A start = start connection whose peer never answered tries again,
	 * 5 s later and then backing off to a minute: a gateway's tunnel
	 * should come up once the peer does.  Refusals (a notify) are config
	 * errors and are not retried.
	 */
	if (ev->type == IKE_EV_FAILED && !ev->notify && !ev->child && ev->conn[0]) {
		struct xd_conn *c = (struct xd_conn *)conn_find(&d->cfg, ev->conn);

		if (c && c->start == XD_START_START && !d->stopping) {
			c->retry_delay_s = c->retry_delay_s ? c->retry_delay_s * 2 : 5;
			if (c->retry_delay_s > 60)
				c->retry_delay_s = 60;
			c->retry_ms = xd_now_ms() + (uint64_t)c->retry_delay_s * 1000;
			if (!ev_is_active(&d->retry))
				ev_timer_again(d->loop, &d->retry);
		}
	}
	if (ev->type == IKE_EV_IKE_UP || ev->type == IKE_EV_IKE_REAUTHENTICATED) {
		struct xd_conn *c = (struct xd_conn *)conn_find(&d->cfg, ev->conn);

		if (c)
			c->retry_delay_s = 0;
	}
	if (ev->type == IKE_EV_PEER_DEAD)
		on_peer_dead(d, ev->conn);
	else if (ev->child && ev->type == IKE_EV_CHILD_DOWN && d->routes)
		xd_routes_child_down(d->routes, ev->child);

	/* Two events per handshake: no JSON unless somebody listens. */
	if (!xd_ctl_monitored(d))
		return;
	o = json_object_new_object();
	json_object_object_add(o, "event", json_object_new_string(event_name(ev->type)));
	json_object_object_add(o, "conn", json_object_new_string(ev->conn));
	snprintf(spi, sizeof(spi), "%016" PRIx64, ev->spi_i);
	json_object_object_add(o, "spi-i", json_object_new_string(spi));
	snprintf(spi, sizeof(spi), "%016" PRIx64, ev->spi_r);
	json_object_object_add(o, "spi-r", json_object_new_string(spi));
	if (ev->remote)
		json_object_object_add(o, "remote", xd_json_addr(ev->remote));
	if (ev->child) {
		snprintf(spi, sizeof(spi), "%08" PRIx32, ev->child->spi_in);
		json_object_object_add(o, "spi-in", json_object_new_string(spi));
		snprintf(spi, sizeof(spi), "%08" PRIx32, ev->child->spi_out);
		json_object_object_add(o, "spi-out", json_object_new_string(spi));
	}
	if (ev->notify)
		json_object_object_add(o, "notify",
				       json_object_new_string(ikev2_notify_name(ev->notify)));
	if (ev->reason)
		json_object_object_add(o, "reason", json_object_new_string(ev->reason));
	xd_ctl_broadcast(d, o);
}

/* ---- connections ---- */

struct sa_walk {
	const char *conn;
	uint64_t spis[64];
	size_t n;
	bool busy;
};

static void walk_conn(void *ctx, const struct ike_sa_info *info)
{
	struct sa_walk *w = ctx;

	if (strcmp(info->conn, w->conn))
		return;
	if (info->state != IKE_S_DELETING && info->state != IKE_S_DEAD)
		w->busy = true;
	if (w->n < sizeof(w->spis) / sizeof(w->spis[0]))
		w->spis[w->n++] = info->initiator ? info->spi_i : info->spi_r;
}

/* An established IKE SA of the connection that lost its CHILD_SAs, or 0. */
static uint64_t childless_sa(struct xiked *d, const struct sa_walk *w)
{
	for (size_t i = 0; i < w->n; i++) {
		struct ike_sa_info info;
		struct ike_child_info ci;
		bool any = false;

		if (ike_engine_sa_info(d->eng, w->spis[i], &info) < 0 ||
		    info.state != IKE_S_ESTABLISHED)
			continue;
		for (size_t j = 0; ike_engine_child_info(d->eng, w->spis[i], j, &ci) == 0; j++)
			any |= strcmp(ci.state, "DELETED") != 0;
		if (!any)
			return w->spis[i];
	}
	return 0;
}

int xd_initiate(struct xiked *d, const char *name, char *err, size_t errlen)
{
	const struct xd_conn *c = conn_find(&d->cfg, name);
	struct sa_walk w = { .conn = name };
	int r;

	if (!c) {
		snprintf(err, errlen, "no such connection: %s", name);
		return -ENOENT;
	}
	if (!c->remote.family) {
		snprintf(err, errlen, "connection %s has no remote address (responder only)", name);
		return -EINVAL;
	}
	ike_engine_foreach_sa(d->eng, walk_conn, &w);
	if (w.busy) {
		uint64_t spi = childless_sa(d, &w);

		/* The IKE SA lives on but its CHILD_SA went: just make a new one. */
		if (spi) {
			r = ike_engine_create_child(d->eng, spi);
			xd_engine_kick(d);
			if (r == 0)
				return 0;
		}
		snprintf(err, errlen, "already up or in progress");
		return -EALREADY;
	}
	r = ike_engine_initiate(d->eng, name, NULL);
	if (r < 0)
		snprintf(err, errlen, "cannot initiate %s: %s", name, strerror(-r));
	xd_engine_kick(d);
	return r;
}

int xd_terminate(struct xiked *d, const char *name, char *err, size_t errlen)
{
	struct sa_walk w = { .conn = name };

	if (!conn_find(&d->cfg, name)) {
		snprintf(err, errlen, "no such connection: %s", name);
		return -ENOENT;
	}
	ike_engine_foreach_sa(d->eng, walk_conn, &w);
	if (!w.n) {
		snprintf(err, errlen, "no IKE SA for connection %s", name);
		return -ENOENT;
	}
	for (size_t i = 0; i < w.n; i++)
		ike_engine_terminate(d->eng, w.spis[i]);
	xd_engine_kick(d);
	return 0;
}

int xd_rekey(struct xiked *d, const char *name, enum xd_rekey what, char *err, size_t errlen)
{
	struct sa_walk w = { .conn = name };
	size_t n = 0;

	if (!conn_find(&d->cfg, name)) {
		snprintf(err, errlen, "no such connection: %s", name);
		return -ENOENT;
	}
	ike_engine_foreach_sa(d->eng, walk_conn, &w);
	for (size_t i = 0; i < w.n; i++) {
		struct ike_child_info ci;

		if (what == XD_REKEY_IKE) {
			n += ike_engine_rekey_ike(d->eng, w.spis[i]) == 0;
			continue;
		}
		if (what == XD_REKEY_REAUTH) {
			n += ike_engine_reauth(d->eng, w.spis[i]) == 0;
			continue;
		}
		for (size_t j = 0; ike_engine_child_info(d->eng, w.spis[i], j, &ci) == 0; j++)
			if (!strcmp(ci.state, "INSTALLED"))
				n += ike_engine_rekey_child(d->eng, w.spis[i], ci.spi_in) == 0;
	}
	if (!n) {
		snprintf(err, errlen, "nothing to rekey for connection %s", name);
		return -ENOENT;
	}
	xd_engine_kick(d);
	return 0;
}

/* A connection's reqid for its trap policies, stable across reloads. */
static uint32_t trap_reqid(struct xiked *d, struct xd_conn *c)
{
	if (!c->reqid)
		c->reqid = TRAP_REQID_BASE + d->next_trap_reqid++;
	return c->reqid;
}

/* Hand one config conn to the engine and act on its start action. */
static int conn_add(struct xiked *d, struct xd_conn *c, char *err, size_t errlen)
{
	struct ike_conn_cfg ec;
	int r;

	r = xd_kernel_check_conn(d, c, err, errlen);
	if (r < 0)
		return r;
	xd_conn_to_engine(c, &ec);
	/* Trapped (or trap-on-dpd) conns: CHILD_SAs share the trap's reqid. */
	if (c->start == XD_START_TRAP || c->dpd_action == XD_DPD_TRAP)
		ec.reqid = trap_reqid(d, c);
	/* Userspace ESP rides in UDP, unless it has a raw ESP socket. */
	if (d->soft && !esp_soft_raw_esp(d->soft))
		ec.force_encap = true;
	r = ike_engine_add_conn(d->eng, &ec);
	if (r < 0) {
		snprintf(err, errlen, "%s:%u: [conn %s] cannot load: %s", d->cfg.path, c->line,
			 c->name, strerror(-r));
		return r;
	}
	if (c->start == XD_START_TRAP) {
		r = xd_traps_install(d, c, ec.reqid);
		if (r < 0) {
			snprintf(err, errlen, "[conn %s] cannot install trap policies: %s", c->name,
				 strerror(-r));
			return r;
		}
	}
	return 0;
}

static void conn_start(struct xiked *d, const struct xd_conn *c)
{
	char err[256];

	if (c->start == XD_START_START && xd_initiate(d, c->name, err, sizeof(err)) < 0)
		xk_warn("conn=%s: %s", c->name, err);
}

static void conn_remove(struct xiked *d, const struct xd_conn *c)
{
	struct sa_walk w = { .conn = c->name };

	ike_engine_foreach_sa(d->eng, walk_conn, &w);
	for (size_t i = 0; i < w.n; i++)
		ike_engine_terminate(d->eng, w.spis[i]);
	xd_traps_remove(d, c->name);
	ike_engine_del_conn(d->eng, c->name);
}

int xd_reload(struct xiked *d, char *err, size_t errlen)
{
	struct xd_config next, old;
	size_t kept = 0, added = 0, removed = 0;

	if (xd_config_load(d->cfg_path, &next, err, errlen) < 0) {
		xk_err("reload refused, keeping the running config: %s", err);
		return -EINVAL;
	}
	for (size_t i = 0; i < next.n_conns; i++) {
		if (xd_kernel_check_conn(d, &next.conns[i], err, errlen) < 0) {
			xk_err("reload refused, keeping the running config: %s", err);
			xd_config_free(&next);
			return -EINVAL;
		}
	}
	if (next.port != d->cfg.port || next.nat_port != d->cfg.nat_port ||
	    strcmp(next.socket, d->cfg.socket) || next.n_listen != d->cfg.n_listen ||
	    memcmp(next.listen, d->cfg.listen, sizeof(next.listen)) ||
	    next.backend != d->cfg.backend || next.install_routes != d->cfg.install_routes ||
	    next.route_table != d->cfg.route_table || next.keepalive_s != d->cfg.keepalive_s)
		xk_warn("reload: changes to listen, port, nat-port, socket, backend, "
			"install-routes, route-table and keepalive take effect at restart");
	/* Conns that are gone or changed go first, with their SAs. */
	for (size_t i = 0; i < d->cfg.n_conns; i++) {
		const struct xd_conn *o = &d->cfg.conns[i];
		const struct xd_conn *n = conn_find(&next, o->name);

		if (!n || !xd_conn_same(o, n)) {
			conn_remove(d, o);
			removed++;
		}
	}
	old = d->cfg;
	d->cfg = next;
	/* Keep what the running daemon was started with. */
	d->cfg.port = old.port;
	d->cfg.nat_port = old.nat_port;
	memcpy(d->cfg.socket, old.socket, sizeof(d->cfg.socket));
	memcpy(d->cfg.listen, old.listen, sizeof(d->cfg.listen));
	d->cfg.n_listen = old.n_listen;
	d->cfg.backend = old.backend;
	d->cfg.install_routes = old.install_routes;
	d->cfg.route_table = old.route_table;
	d->cfg.keepalive_s = old.keepalive_s;
	for (size_t i = 0; i < d->cfg.n_conns; i++) {
		struct xd_conn *n = &d->cfg.conns[i];
		const struct xd_conn *o = conn_find(&old, n->name);

		if (o && xd_conn_same(o, n)) {
			kept++;
			n->reqid = o->reqid; /* its traps and SAs keep theirs */
			continue;
		}
		if (conn_add(d, n, err, errlen) < 0)
			xk_err("reload: %s", err);
		else
			conn_start(d, n);
		added++;
	}
	xd_config_free(&old);
	xk_log_set_level(d->debug ? XK_LOG_DEBUG : d->cfg.log_level);
	xk_notice("reloaded %s: %zu kept, %zu added or changed, %zu removed", d->cfg_path, kept,
		  added, removed);
	xd_engine_kick(d);
	return 0;
}

/* ---- signals, start-up, shutdown ---- */

static void stop(struct xiked *d)
{
	struct sa_walk w;

	if (d->stopping)
		return;
	d->stopping = true;
	xk_notice("shutting down");
	/* Tell every peer; their DELETE answers are not waited for. */
	for (size_t i = 0; i < d->cfg.n_conns; i++) {
		memset(&w, 0, sizeof(w));
		w.conn = d->cfg.conns[i].name;
		ike_engine_foreach_sa(d->eng, walk_conn, &w);
		for (size_t j = 0; j < w.n; j++)
			ike_engine_terminate(d->eng, w.spis[j]);
	}
	ev_break(d->loop, EVBREAK_ALL);
}

/* The kernel refused a route request (they are sent without waiting). */
static void on_routes(struct ev_loop *loop, ev_io *w, int revents)
{
	struct xiked *d = w->data;

	(void)loop;
	(void)revents;
	xd_routes_input(d->routes);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct xiked *d = w->data;
	char err[512];

	(void)loop;
	(void)revents;
	if (w->signum == SIGHUP)
		xd_reload(d, err, sizeof(err));
	else
		stop(d);
}

static void syslog_sink(enum xk_log_level level, const char *line, void *ctx)
{
	static const int prio[] = { LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARNING, LOG_ERR };

	(void)ctx;
	syslog(prio[level], "%s", line);
}

static void drop_capabilities(void)
{
	/* Root stays root, but keeps only what an IKE daemon needs. */
	capng_clear(CAPNG_SELECT_BOTH);
	capng_updatev(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_NET_ADMIN,
		      CAP_NET_BIND_SERVICE, CAP_NET_RAW, CAP_DAC_READ_SEARCH, -1);
	if (capng_apply(CAPNG_SELECT_BOTH) < 0)
		xk_warn("cannot drop capabilities");
}

bool xd_faults_parse(const char *spec, struct xd_faults *f)
{
	char buf[256], *save = NULL;

	memset(f, 0, sizeof(*f));
	if (strlen(spec) >= sizeof(buf))
		return false;
	strcpy(buf, spec);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		unsigned long n;

		if (!eq)
			return false;
		*eq = '\0';
		n = strtoul(eq + 1, NULL, 10);
		if (!n)
			return false;
		if (!strcmp(tok, "drop-in"))
			f->drop_in = (unsigned)n;
		else if (!strcmp(tok, "dup-in"))
			f->dup_in = (unsigned)n;
		else if (!strcmp(tok, "drop-out"))
			f->drop_out = (unsigned)n;
		else if (!strcmp(tok, "dup-out"))
			f->dup_out = (unsigned)n;
		else if (!strcmp(tok, "fail-install"))
			f->fail_install = (unsigned)n;
		else
			return false;
	}
	return true;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: xiked [-c FILE] [-d] [--syslog] [--check] [-V]\n"
		   "  -c, --config FILE  configuration (default /etc/xike/xiked.conf)\n"
		   "  -d, --debug        log at debug level (overrides log-level)\n"
		   "      --syslog       log to syslog instead of stderr\n"
		   "      --check        check the configuration and exit\n"
		   "  -V, --version      print the version and exit\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "debug", no_argument, NULL, 'd' },
		{ "syslog", no_argument, NULL, 's' },
		{ "check", no_argument, NULL, 'k' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct xiked xd;
	struct xiked *d = &xd;
	struct ike_engine_cfg ecfg;
	struct ike_ops ops;
	const char *path = "/etc/xike/xiked.conf";
	bool debug = false, check = false, use_syslog = false;
	char err[512];
	int o, r;

	while ((o = getopt_long(argc, argv, "c:dVh", opts, NULL)) != -1) {
		switch (o) {
		case 'c': path = optarg; break;
		case 'd': debug = true; break;
		case 's': use_syslog = true; break;
		case 'k': check = true; break;
		case 'V': printf("xiked %s\n", XIKE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (getenv("XIKE_FAULTS")) {
		if (!xd_faults_parse(getenv("XIKE_FAULTS"), &d->faults)) {
			fprintf(stderr, "xiked: XIKE_FAULTS: expected drop-in=N,dup-in=N,drop-out=N,"
					"dup-out=N,fail-install=N\n");
			return 2;
		}
		fprintf(stderr, "xiked: fault injection on: %s\n", getenv("XIKE_FAULTS"));
	}
	if (use_syslog) {
		openlog("xiked", LOG_PID, LOG_DAEMON);
		xk_log_set_sink(syslog_sink, NULL);
	}
	snprintf(d->cfg_path, sizeof(d->cfg_path), "%s", path);
	if (xd_config_load(path, &d->cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "xiked: %s\n", err);
		return 1;
	}
	if (check) {
		printf("%s: %zu connection(s), OK\n", path, d->cfg.n_conns);
		xd_config_free(&d->cfg);
		return 0;
	}
	d->debug = debug;
	xk_log_set_level(debug ? XK_LOG_DEBUG : d->cfg.log_level);
	d->loop = ev_default_loop(EVFLAG_AUTO);
	d->started_ms = xd_now_ms();
	d->ctl_fd = -1;

	r = xd_kernel_open(d, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "xiked: %s\n", err);
		return 1;
	}
	ike_engine_cfg_defaults(&ecfg);
	ecfg.nat_port = d->cfg.nat_port;
	ecfg.keepalive_ms = d->cfg.keepalive_s * 1000;
	ecfg.reqid_base = 0x7c000001;
	ops = (struct ike_ops){
		.ctx = d,
		.send = xd_net_send,
		.now_ms = engine_now,
		.event = on_engine_event,
		.source = xd_net_source,
		.keepalive = xd_net_keepalive,
		.kernel = &d->kops,
		.kernel_ctx = d,
	};
	d->eng = ike_engine_new(&ecfg, &ops);
	if (!d->eng) {
		fprintf(stderr, "xiked: cannot create the IKE engine\n");
		return 1;
	}
	/* Userspace ESP needs its routes whatever install-routes says. */
	if (d->cfg.install_routes || d->soft)
		d->routes = xd_routes_open(d->cfg.route_table);
	if (d->soft)
		xd_routes_use_tun(d->routes, esp_soft_ifindex(d->soft), esp_soft_mark(d->soft));
	if (d->routes) {
		ev_io_init(&d->routes_w, on_routes, xd_routes_fd(d->routes), EV_READ);
		d->routes_w.data = d;
		ev_io_start(d->loop, &d->routes_w);
	}
	for (size_t i = 0; i < d->cfg.n_conns; i++) {
		if (conn_add(d, &d->cfg.conns[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "xiked: %s\n", err);
			xd_kernel_close(d);
			return 1;
		}
	}
	r = xd_net_open(d);
	if (r < 0) {
		fprintf(stderr, "xiked: cannot open the IKE sockets: %s\n", strerror(-r));
		xd_kernel_close(d);
		return 1;
	}
	r = xd_ctl_open(d);
	if (r < 0) {
		fprintf(stderr, "xiked: cannot open control socket %s: %s\n", d->cfg.socket,
			strerror(-r));
		xd_kernel_close(d);
		return 1;
	}
	ev_init(&d->timer, on_timer);
	ev_init(&d->retry, on_retry);
	d->retry.repeat = 1.0;
	ev_signal_init(&d->sig_term, on_signal, SIGTERM);
	ev_signal_init(&d->sig_int, on_signal, SIGINT);
	ev_signal_init(&d->sig_hup, on_signal, SIGHUP);
	d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
	ev_signal_start(d->loop, &d->sig_term);
	ev_signal_start(d->loop, &d->sig_int);
	ev_signal_start(d->loop, &d->sig_hup);
	drop_capabilities();

	xk_notice("xiked %s started: %zu connection(s), control socket %s", XIKE_VERSION,
		  d->cfg.n_conns, d->cfg.socket);
	sd_notify(0, "READY=1");
	for (size_t i = 0; i < d->cfg.n_conns; i++)
		conn_start(d, &d->cfg.conns[i]);
	xd_engine_kick(d);
	ev_run(d->loop, 0);

	sd_notify(0, "STOPPING=1");
	ike_engine_free(d->eng);
	if (d->routes)
		ev_io_stop(d->loop, &d->routes_w);
	xd_routes_close(d->routes);
	xd_kernel_close(d);
	xd_ctl_close(d);
	xd_net_close(d);
	xd_config_free(&d->cfg);
	xk_notice("stopped");
	return 0;
}
