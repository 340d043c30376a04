/* SPDX-License-Identifier: ISC */
/*
 * Connection actions: initiate, terminate, rekey and reload, the start
 * actions of the configured connections, retries of start = start
 * connections whose peer did not answer, and the dpd-action of those
 * whose peer died.  Called from the control socket (ctl.c), events
 * (events.c) and start-up, shutdown and signals (main.c).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "ike/cert.h"
#include "daemon/backend.h"
#include "daemon/certs_watch.h"
#include "daemon/conn.h"
#include "daemon/route.h"
#include "daemon/daemon.h"
#include "daemon/logging.h"
#include "daemon/loop.h"
#include "daemon/trap.h"
#include "esp-soft/esp_soft.h"

/* Trapped connections' own reqids; the engine hands out those below. */
#define TRAP_REQID_BASE 0x7cf00000u

static const struct xd_conn *conn_find(const struct xd_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_conns; i++)
		if (!strcmp(cfg->conns[i].name, name))
			return &cfg->conns[i];
	return NULL;
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

/*
 * What a control request names: a connection ("CONN"), one CHILD_SA
 * configuration of it ("CONN/CHILD"), or a [child] by its name alone
 * (child names are unique in the file).  *child: NULL for the whole
 * connection.  0, or -ENOENT with err set.
 */
static int target(struct xiked *d, const char *name, const struct xd_conn **conn,
		  const char **child, char *cbuf, size_t cbuflen, char *err, size_t errlen)
{
	const char *slash = strchr(name, '/');

	*child = NULL;
	if (slash) {
		size_t n = (size_t)(slash - name);

		if (n >= cbuflen) {
			snprintf(err, errlen, "no such connection: %.*s", (int)n, name);
			return -ENOENT;
		}
		memcpy(cbuf, name, n);
		cbuf[n] = '\0';
		*conn = conn_find(&d->cfg, cbuf);
		if (!*conn) {
			snprintf(err, errlen, "no such connection: %s", cbuf);
			return -ENOENT;
		}
		*child = slash + 1;
		for (size_t i = 0; i < (*conn)->n_child; i++)
			if (!strcmp((*conn)->child[i].name, *child))
				return 0;
		snprintf(err, errlen, "connection %s has no child %s", cbuf, *child);
		return -ENOENT;
	}
	*conn = conn_find(&d->cfg, name);
	if (*conn)
		return 0;
	for (size_t i = 0; i < d->cfg.n_conns; i++)
		for (size_t j = 0; j < d->cfg.conns[i].n_child; j++)
			if (!strcmp(d->cfg.conns[i].child[j].name, name)) {
				*conn = &d->cfg.conns[i];
				*child = name;
				return 0;
			}
	snprintf(err, errlen, "no such connection or child: %s", name);
	return -ENOENT;
}

/* An established IKE SA of the connection, or 0. */
static uint64_t established_sa(struct xiked *d, const struct sa_walk *w)
{
	struct ike_sa_info info;

	for (size_t i = 0; i < w->n; i++)
		if (ike_engine_sa_info(d->eng, w->spis[i], &info) == 0 &&
		    info.state == IKE_S_ESTABLISHED)
			return w->spis[i];
	return 0;
}

/* Does the SA hold a live CHILD_SA of that configuration? */
static bool child_live(struct xiked *d, uint64_t spi, const char *child)
{
	struct ike_child_info ci;

	for (size_t j = 0; ike_engine_child_info(d->eng, spi, j, &ci) == 0; j++)
		if (!strcmp(ci.name, child) && strcmp(ci.state, "DELETED") &&
		    strcmp(ci.state, "DELETING"))
			return true;
	return false;
}

/*
 * One CHILD_SA configuration up: on the connection's IKE SA with
 * CREATE_CHILD_SA, or a new IKE SA whose IKE_AUTH carries it.
 */
static int initiate_child(struct xiked *d, const struct xd_conn *c, const char *child,
			  char *err, size_t errlen)
{
	struct sa_walk w = { .conn = c->name };
	uint64_t spi;
	int r;

	ike_engine_foreach_sa(d->eng, walk_conn, &w);
	spi = established_sa(d, &w);
	if (spi && child_live(d, spi, child)) {
		snprintf(err, errlen, "already up or in progress");
		return -EALREADY;
	}
	if (w.busy && !spi) {
		snprintf(err, errlen, "the IKE SA of %s is being set up; try again", c->name);
		return -EAGAIN;
	}
	r = spi ? ike_engine_create_child_cfg(d->eng, spi, child)
		: ike_engine_initiate_child(d->eng, c->name, child, NULL);
	if (r < 0)
		snprintf(err, errlen, "cannot initiate %s/%s: %s", c->name, child, strerror(-r));
	xd_engine_kick(d);
	return r;
}

int xd_initiate(struct xiked *d, const char *target_name, char *err, size_t errlen)
{
	const struct xd_conn *c;
	const char *child, *name;
	char cbuf[IKE_NAME_MAX];
	struct sa_walk w = { 0 };
	int r;

	r = target(d, target_name, &c, &child, cbuf, sizeof(cbuf), err, errlen);
	if (r < 0)
		return r;
	name = w.conn = c->name;
	if (!c->remote.family) {
		snprintf(err, errlen, "connection %s has no remote address (responder only)", name);
		return -EINVAL;
	}
	if (child)
		return initiate_child(d, c, child, err, errlen);
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

/* Delete the IKE SAs of a connection; how many there were. */
static size_t terminate_sas(struct xiked *d, const char *name)
{
	struct sa_walk w = { .conn = name };

	ike_engine_foreach_sa(d->eng, walk_conn, &w);
	for (size_t i = 0; i < w.n; i++)
		ike_engine_terminate(d->eng, w.spis[i]);
	return w.n;
}

/* Delete the CHILD_SAs of one configuration of the connection; how many. */
static size_t terminate_children(struct xiked *d, const char *conn, const char *child)
{
	struct sa_walk w = { .conn = conn };
	size_t n = 0;

	ike_engine_foreach_sa(d->eng, walk_conn, &w);
	for (size_t i = 0; i < w.n; i++) {
		struct ike_child_info ci;
		uint32_t spis[64];
		size_t k = 0;

		/* Collected first: a deletion may reorder the list. */
		for (size_t j = 0; ike_engine_child_info(d->eng, w.spis[i], j, &ci) == 0 &&
				   k < sizeof(spis) / sizeof(spis[0]); j++)
			if (!strcmp(ci.name, child) && !strcmp(ci.state, "INSTALLED"))
				spis[k++] = ci.spi_in;
		for (size_t j = 0; j < k; j++)
			n += ike_engine_delete_child(d->eng, w.spis[i], spis[j]) == 0;
	}
	return n;
}

int xd_terminate(struct xiked *d, const char *target_name, char *err, size_t errlen)
{
	const struct xd_conn *c;
	const char *child, *name;
	char cbuf[IKE_NAME_MAX];
	int r = target(d, target_name, &c, &child, cbuf, sizeof(cbuf), err, errlen);

	if (r < 0)
		return r;
	name = c->name;
	if (child) {
		if (!terminate_children(d, name, child)) {
			snprintf(err, errlen, "no CHILD_SA %s/%s", name, child);
			return -ENOENT;
		}
		xd_engine_kick(d);
		return 0;
	}
	if (!terminate_sas(d, name)) {
		snprintf(err, errlen, "no IKE SA for connection %s", name);
		return -ENOENT;
	}
	xd_engine_kick(d);
	return 0;
}

int xd_rekey(struct xiked *d, const char *target_name, enum xd_rekey what, char *err,
	     size_t errlen)
{
	struct sa_walk w = { 0 };
	const struct xd_conn *c;
	const char *child, *name;
	char cbuf[IKE_NAME_MAX];
	size_t n = 0;
	int r = target(d, target_name, &c, &child, cbuf, sizeof(cbuf), err, errlen);

	if (r < 0)
		return r;
	name = w.conn = c->name;
	if (child && what != XD_REKEY_CHILD) {
		snprintf(err, errlen, "%s/%s is a CHILD_SA: --ike and --reauth name a connection",
			 name, child);
		return -EINVAL;
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
			if (!strcmp(ci.state, "INSTALLED") && (!child || !strcmp(ci.name, child)))
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

/* interface = NAME: the device (and its routes) before any SA needs it. */
static int conn_iface_up(struct xiked *d, struct xd_conn *c, char *err, size_t errlen)
{
	struct xd_iface_req q = {
		.name = c->iface, .tag_in = &c->tag_in, .tag_out = &c->tag_out,
		.local = &c->local, .remote = &c->remote, .mtu = c->mtu,
		.local_ts = c->local_ts, .remote_ts = c->remote_ts,
		.n_local_ts = c->n_local_ts, .n_remote_ts = c->n_remote_ts,
		.routes = d->cfg.install_routes,
	};
	char e[200];
	int r;

	if (!c->iface[0] || c->iface_live)
		return 0;
	/* Several connections may share one device (the config checks their tags). */
	for (size_t i = 0; i < d->cfg.n_conns; i++) {
		struct xd_conn *o = &d->cfg.conns[i];

		if (o != c && o->iface_live && !strcmp(o->iface, c->iface)) {
			c->iface_live = xd_iface_hold(o->iface_live);
			return 0;
		}
	}
	r = xd_iface_up(&q, &c->iface_live, e, sizeof(e));
	if (r < 0)
		snprintf(err, errlen, "%s:%u: [conn %s] interface: %s", d->cfg.path, c->line,
			 c->name, e);
	return r;
}

static void conn_iface_down(struct xd_conn *c)
{
	xd_iface_down(c->iface_live);
	c->iface_live = NULL;
}

/* Hand one config conn to the engine and act on its start action. */
static int conn_add(struct xiked *d, struct xd_conn *c, char *err, size_t errlen)
{
	struct ike_conn_cfg ec;
	int r;

	r = xd_backend_check_conn(d, c, err, errlen);
	if (r < 0)
		return r;
	r = conn_iface_up(d, c, err, errlen);
	if (r < 0)
		return r;
	xd_conn_to_engine(c, &ec);
	/* Trapped (or trap-on-dpd) conns: CHILD_SAs share the trap's reqid. */
	if (c->start == XD_START_TRAP || c->dpd_action == XD_DPD_TRAP ||
	    c->close_action == XD_START_TRAP)
		ec.reqid = trap_reqid(d, c);
	/* Userspace ESP rides in UDP, unless it has a raw ESP socket. */
	if (d->soft && !esp_soft_raw_esp(d->soft))
		ec.force_encap = true;
	r = ike_engine_add_conn(d->eng, &ec);
	if (r < 0) {
		snprintf(err, errlen, "%s:%u: [conn %s] cannot load: %s", d->cfg.path, c->line,
			 c->name, strerror(-r));
		conn_iface_down(c);
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

static void conn_remove(struct xiked *d, struct xd_conn *c)
{
	terminate_sas(d, c->name);
	xd_traps_remove(d, c->name);
	ike_engine_del_conn(d->eng, c->name);
	conn_iface_down(c);
}

/*
 * The engine holds a reference to a conn's credentials (ike_cred_hold)
 * until the last SA of its conn is gone.  A kept conn keeps the objects
 * the engine has (the reload's equal copies go with the old config); a
 * removed or changed one's references go with the old config, and the
 * objects with the engine's conn, when its last SA is gone.
 */
static void creds_hand_over(struct xd_config *old, struct xd_config *next)
{
	for (size_t i = 0; i < old->n_conns; i++) {
		struct xd_conn *o = &old->conns[i];
		const struct xd_conn *found = conn_find(next, o->name);
		struct xd_conn *n = found ? &next->conns[found - next->conns] : NULL;

		if (n && xd_conn_same(o, n)) {
			struct ike_cred *cred = n->cred;
			struct ike_trust *trust = n->trust;

			n->cred = o->cred;
			n->trust = o->trust;
			o->cred = cred;
			o->trust = trust;
		}
	}
}

/*
 * The settings a running daemon keeps until it restarts: sockets, the
 * backend, who it runs as, its threads.  A reload compares and keeps them
 * through this table; `key` names the setting in the warning (NULL: a
 * field that follows the one before it, such as a looked-up id).
 */
#define STARTUP(field, key) \
	{ offsetof(struct xd_config, field), sizeof(((struct xd_config *)0)->field), key }
static const struct {
	size_t off, size;
	const char *key;
} startup_only[] = {
	STARTUP(listen, "listen"),
	STARTUP(n_listen, "listen"),
	STARTUP(port, "port"),
	STARTUP(nat_port, "nat-port"),
	STARTUP(socket, "socket"),
	STARTUP(socket_group, "socket-group"),
	STARTUP(socket_gid, NULL),
	STARTUP(backend, "backend"),
	STARTUP(install_routes, "install-routes"),
	STARTUP(route_table, "route-table"),
	STARTUP(keepalive_s, "keepalive"),
	STARTUP(user, "user"),
	STARTUP(user_found, NULL),
	STARTUP(uid, NULL),
	STARTUP(gid, NULL),
	STARTUP(log_json, "log-format"),
	STARTUP(event_buffer, "kernel-event-buffer"),
	STARTUP(threads, "threads"),
};
#undef STARTUP

/* Warn, naming each, of the start-up settings a reload would change. */
static void startup_kept(const struct xd_config *run, const struct xd_config *next)
{
	char changed[256] = "";
	size_t len = 0;
	const char *last = NULL;

	for (size_t i = 0; i < sizeof(startup_only) / sizeof(startup_only[0]); i++) {
		const char *key = startup_only[i].key;

		if (!key || !memcmp((const char *)run + startup_only[i].off,
				    (const char *)next + startup_only[i].off, startup_only[i].size))
			continue;
		if (last && !strcmp(last, key))
			continue;
		len += (size_t)snprintf(changed + len, sizeof(changed) - len, "%s%s",
					len ? ", " : "", key);
		if (len >= sizeof(changed))
			break;
		last = key;
	}
	if (changed[0])
		xk_warn("reload: %s changed, which take%s effect at restart", changed,
			strchr(changed, ',') ? "" : "s");
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
		if (xd_backend_check_conn(d, &next.conns[i], err, errlen) < 0) {
			xk_err("reload refused, keeping the running config: %s", err);
			xd_config_free(&next);
			return -EINVAL;
		}
	}
	startup_kept(&d->cfg, &next);
	/* Conns that are gone or changed go first, with their SAs. */
	for (size_t i = 0; i < d->cfg.n_conns; i++) {
		struct xd_conn *o = &d->cfg.conns[i];
		const struct xd_conn *n = conn_find(&next, o->name);

		if (!n || !xd_conn_same(o, n)) {
			conn_remove(d, o);
			removed++;
		}
	}
	old = d->cfg;
	creds_hand_over(&old, &next);
	d->cfg = next;
	/* Keep what the running daemon was started with. */
	for (size_t i = 0; i < sizeof(startup_only) / sizeof(startup_only[0]); i++)
		memcpy((char *)&d->cfg + startup_only[i].off,
		       (const char *)&old + startup_only[i].off, startup_only[i].size);
	/* The kept ones first: an added conn may share a kept one's device. */
	for (size_t i = 0; i < d->cfg.n_conns; i++) {
		struct xd_conn *n = &d->cfg.conns[i];
		struct xd_conn *o = (struct xd_conn *)conn_find(&old, n->name);

		if (o && xd_conn_same(o, n)) {
			kept++;
			n->reqid = o->reqid; /* its traps and SAs keep theirs */
			n->iface_live = o->iface_live; /* and its device */
			o->iface_live = NULL;
		}
	}
	for (size_t i = 0; i < d->cfg.n_conns; i++) {
		struct xd_conn *n = &d->cfg.conns[i];
		const struct xd_conn *o = conn_find(&old, n->name);

		if (o && xd_conn_same(o, n))
			continue;
		if (conn_add(d, n, err, errlen) < 0)
			xk_err("reload: %s", err);
		else
			conn_start(d, n);
		added++;
	}
	xd_config_free(&old);
	/* Files a reload read anew may be closer to their end. */
	xd_certs_check(d);
	xd_logging_levels(&d->cfg, d->debug);
	xk_notice("reloaded %s: %zu kept, %zu added or changed, %zu removed", d->cfg_path, kept,
		  added, removed);
	xd_engine_kick(d);
	return 0;
}

int xd_conns_load(struct xiked *d, char *err, size_t errlen)
{
	for (size_t i = 0; i < d->cfg.n_conns; i++) {
		int r = conn_add(d, &d->cfg.conns[i], err, errlen);

		if (r < 0)
			return r;
	}
	return 0;
}

void xd_conns_start(struct xiked *d)
{
	for (size_t i = 0; i < d->cfg.n_conns; i++)
		conn_start(d, &d->cfg.conns[i]);
}

void xd_conns_stop(struct xiked *d)
{
	for (size_t i = 0; i < d->cfg.n_conns; i++)
		terminate_sas(d, d->cfg.conns[i].name);
}

void xd_conns_ifaces_down(struct xiked *d)
{
	for (size_t i = 0; i < d->cfg.n_conns; i++)
		conn_iface_down(&d->cfg.conns[i]);
}

/* ---- retries and dpd-actions ---- */

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct xiked *d = container_of(w, struct xiked, retry);
	uint64_t now = xd_now_ms();
	bool pending = false;

	(void)revents;
	for (size_t i = 0; i < d->cfg.n_conns; i++) {
		struct xd_conn *c = &d->cfg.conns[i];
		char err[256];
		int r;

		if (!c->retry_ms)
			continue;
		if (now < c->retry_ms) {
			pending = true;
			continue;
		}
		c->retry_ms = 0;
		xk_info("retrying conn=%s", c->name);
		r = xd_initiate(d, c->name, err, sizeof(err));
		if (r < 0 && r != -EALREADY)
			xk_warn("retry conn=%s: %s", c->name, err);
	}
	if (!pending)
		ev_timer_stop(loop, w);
}

/* A dead peer's connection, once the engine has removed its SAs. */
static void on_dpd(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct xiked *d = container_of(w, struct xiked, dpd_w);

	(void)loop;
	(void)revents;
	if (d->pending_action == XD_DPD_RESTART) {
		char err[256];

		if (xd_initiate(d, d->pending_conn, err, sizeof(err)) < 0)
			xk_warn("dpd restart conn=%s: %s", d->pending_conn, err);
	} else if (d->pending_action == XD_DPD_TRAP) {
		struct xd_conn *c = (struct xd_conn *)conn_find(&d->cfg, d->pending_conn);

		/* A trapped conn's trap never left; others get one now. */
		if (c && !xd_traps_has(d, c->name))
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
		ev_feed_event(d->loop, &d->dpd_w, EV_TIMER);
		break;
	}
}

/*
 * The peer deleted a CHILD_SA of the connection, its IKE SA living on.
 * close-action = start: the engine makes it again (recreate_closed);
 * trap: the next packet does, through the connection's trap policies
 * (a trapped connection's never left; another's go in now, as for
 * dpd-action = trap).  Its own policies are gone already (CHILD_DOWN
 * follows their removal).
 */
static void on_child_closed(struct xiked *d, const char *name)
{
	const struct xd_conn *c = conn_find(&d->cfg, name);
	int r;

	if (!c || c->close_action != XD_START_TRAP || d->stopping || xd_traps_has(d, c->name))
		return;
	xk_notice("conn=%s: CHILD_SA closed by the peer, waiting for traffic", name);
	r = xd_traps_install(d, c, c->reqid);
	if (r < 0)
		xk_warn("conn=%s: cannot install trap policies: %s", name, strerror(-r));
}

void xd_conn_event(struct xiked *d, const struct ike_event *ev)
{
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
	if (ev->type == IKE_EV_CHILD_DOWN && ev->child && ev->child->end == IKE_CHILD_END_CLOSED)
		on_child_closed(d, ev->conn);
}

void xd_conns_init(struct xiked *d)
{
	ev_init(&d->retry, on_retry);
	d->retry.repeat = 1.0;
	ev_init(&d->dpd_w, on_dpd);
}
