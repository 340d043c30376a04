/* SPDX-License-Identifier: ISC */
/*
 * The daemon's side of the ESP backend: choosing it, checking that it can
 * carry what the config asks for, trap policies (start = trap) and the
 * backend's events (ACQUIRE starts a negotiation).
 *
 * The engine installs a CHILD_SA's policies itself.  For a trapped
 * connection the outbound policy already exists (it is the trap, with the
 * same selectors and reqid), so the wrapper below treats that policy as
 * shared: adding it succeeds without touching it, deleting it leaves the
 * trap in place for the next packet.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "daemon/daemon.h"
#include "ike/ikev2.h"
#include "esp-soft/esp_soft.h"
#include "xfrm/xfrm.h"

static const struct xd_trap *trap_of(const struct xiked *d, const struct xk_policy *p)
{
	for (size_t i = 0; i < d->n_traps; i++) {
		const struct xk_policy *t = &d->traps[i].pol;

		if (t->dir == p->dir && !memcmp(&t->src, &p->src, sizeof(t->src)) &&
		    !memcmp(&t->dst, &p->dst, sizeof(t->dst)))
			return &d->traps[i];
	}
	return NULL;
}

static int k_alloc_spi(void *ctx, const struct xk_addr *src, const struct xk_addr *dst,
		       uint32_t *spi)
{
	struct xiked *d = ctx;

	return d->backend->alloc_spi(d->backend_ctx, src, dst, spi);
}

static int k_add_sa(void *ctx, const struct xk_sa *sa)
{
	struct xiked *d = ctx;

	d->faults.n_install++;
	if (d->faults.fail_install && d->faults.n_install == d->faults.fail_install) {
		xk_notice("fault injection: failing SA install %u", d->faults.n_install);
		return -ENOMEM;
	}
	return d->backend->add_sa(d->backend_ctx, sa);
}

static int k_del_sa(void *ctx, const struct xk_sa_id *id)
{
	struct xiked *d = ctx;

	return d->backend->del_sa(d->backend_ctx, id);
}

static int k_add_policy(void *ctx, const struct xk_policy *pol)
{
	struct xiked *d = ctx;
	const struct xd_trap *t = trap_of(d, pol);

	if (t && t->reqid == pol->reqid)
		return 0; /* the trap is this very policy */
	return d->backend->add_policy(d->backend_ctx, pol);
}

static int k_del_policy(void *ctx, const struct xk_policy *pol)
{
	struct xiked *d = ctx;

	if (trap_of(d, pol))
		return 0; /* stays, to catch the next packet */
	return d->backend->del_policy(d->backend_ctx, pol);
}

static int k_query_sa(void *ctx, const struct xk_sa_id *id, struct xk_sa_stats *st)
{
	struct xiked *d = ctx;

	return d->backend->query_sa ? d->backend->query_sa(d->backend_ctx, id, st) : -ENOTSUP;
}

static int k_move_sa(void *ctx, const struct xk_sa_id *id, const struct xk_addr *src,
		     const struct xk_addr *dst)
{
	struct xiked *d = ctx;

	return d->backend->move_sa ? d->backend->move_sa(d->backend_ctx, id, src, dst) : -ENOTSUP;
}

static void on_backend_event(void *ctx, const struct xk_event *ev)
{
	struct xiked *d = ctx;
	char a[XK_TS_STRLEN], b[XK_TS_STRLEN];

	switch (ev->type) {
	case XK_EV_ACQUIRE:
		d->stats.acquires++;
		for (size_t i = 0; i < d->n_traps; i++) {
			char err[128];

			if (d->traps[i].reqid != ev->reqid)
				continue;
			xk_info("acquire conn=%s src=%s dst=%s", d->traps[i].conn,
				xk_ts_str(&ev->pkt_src, a, sizeof(a)),
				xk_ts_str(&ev->pkt_dst, b, sizeof(b)));
			/* One negotiation per connection at a time. */
			if (xd_initiate(d, d->traps[i].conn, err, sizeof(err)) < 0 &&
			    strcmp(err, "already up or in progress"))
				xk_warn("acquire conn=%s: %s", d->traps[i].conn, err);
			return;
		}
		break;
	case XK_EV_EXPIRE:
		/* Soft: rekey the CHILD_SA; hard: it is gone, tell the peer. */
		d->stats.expires++;
		if (ike_engine_expire(d->eng, &ev->sa, ev->hard) < 0)
			xk_debug("expire %s spi=%08x: no installed CHILD_SA of ours",
				 ev->hard ? "hard" : "soft", ev->sa.spi);
		break;
	case XK_EV_MAPPING:
		/* The kernel saw authenticated ESP from a new port: follow it. */
		d->stats.mappings++;
		if (ike_engine_peer_moved(d->eng, &ev->sa, &ev->new_src) < 0)
			xk_debug("mapping spi=%08x: no installed CHILD_SA of ours", ev->sa.spi);
		break;
	}
}

/*
 * IPv6 neighbour discovery must never wait for an SA: a policy covering two
 * hosts would otherwise hold back the very solicitations that let IKE reach
 * the peer.  Neighbor solicitations and advertisements (ICMPv6 types 135,
 * 136) pass in the clear, ahead of every other policy.
 */
static void install_nd_bypass(struct xiked *d)
{
	static const uint8_t types[] = { 135, 136 };
	static const enum xk_dir dirs[] = { XK_DIR_IN, XK_DIR_OUT, XK_DIR_FWD };

	for (size_t t = 0; t < sizeof(types); t++) {
		for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
			struct xk_policy p = { .dir = dirs[i], .bypass = true,
					       .priority = XFRM_BYPASS_PRIORITY };

			xk_ts_parse("::/0", &p.src);
			xk_ts_parse("::/0", &p.dst);
			/* For ICMP the kernel's "source port" is the type. */
			p.src.proto = p.dst.proto = 58;
			p.src.port_lo = p.src.port_hi = types[t];
			d->backend->add_policy(d->backend_ctx, &p);
		}
	}
}

static void on_xfrm_event(struct ev_loop *loop, ev_io *w, int revents)
{
	struct xiked *d = container_of(w, struct xiked, xfrm_ev);

	(void)loop;
	(void)revents;
	xfrm_events_read(d->xfrm, on_backend_event, d);
	xd_engine_kick(d);
}

static void on_soft_ike_datagram(void *ctx, const struct xk_addr *local,
				 const struct xk_addr *remote, const uint8_t *buf, size_t len)
{
	struct xiked *d = ctx;

	ike_engine_input(d->eng, local, remote, buf, len);
}

static void on_soft_ike(struct ev_loop *loop, ev_io *w, int revents)
{
	struct xiked *d = container_of(w, struct xiked, soft_ike);

	(void)loop;
	(void)revents;
	esp_soft_ike_read(d->soft, on_soft_ike_datagram, d);
	xd_engine_kick(d);
}

static void on_soft_event(struct ev_loop *loop, ev_io *w, int revents)
{
	struct xiked *d = container_of(w, struct xiked, soft_ev);

	(void)loop;
	(void)revents;
	esp_soft_events_read(d->soft, on_backend_event, d);
	xd_engine_kick(d);
}

/* Loose reverse-path filtering: decrypted packets enter through the device. */
static void loose_rp_filter(const char *ifname)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/rp_filter", ifname);
	f = fopen(path, "we");
	if (f) {
		fputs("2", f);
		fclose(f);
	}
}

/* Userspace ESP over a TUN device, for a kernel without ESP. */
static int open_soft(struct xiked *d, char *err, size_t errlen)
{
	struct esp_soft_cfg cfg = {
		.ifname = "xike%d",
		.nat_port = d->cfg.nat_port,
		.mark = XD_SOFT_MARK,
	};
	int e = 0;

	d->soft = esp_soft_new(&cfg, &e);
	if (!d->soft) {
		snprintf(err, errlen, "cannot set up userspace ESP: %s", strerror(-e));
		return e;
	}
	e = esp_soft_start(d->soft);
	if (e < 0) {
		snprintf(err, errlen, "cannot start userspace ESP (TUN device, UDP port %u): %s",
			 d->cfg.nat_port, strerror(-e));
		esp_soft_free(d->soft);
		d->soft = NULL;
		return e;
	}
	loose_rp_filter(esp_soft_ifname(d->soft));
	d->backend = &esp_soft_ops;
	d->backend_ctx = d->soft;
	ev_io_init(&d->soft_ike, on_soft_ike, esp_soft_ike_fd(d->soft), EV_READ);
	ev_io_init(&d->soft_ev, on_soft_event, esp_soft_events_fd(d->soft), EV_READ);
	ev_io_start(d->loop, &d->soft_ike);
	ev_io_start(d->loop, &d->soft_ev);
	xk_notice("userspace ESP on %s (UDP port %u)", esp_soft_ifname(d->soft), d->cfg.nat_port);
	return 0;
}

int xd_kernel_open(struct xiked *d, char *err, size_t errlen)
{
	int e = 0, fd;

	if (d->cfg.backend != XD_BACKEND_SOFT) {
		d->xfrm = xfrm_open(NULL, &e);
		if (d->xfrm)
			xfrm_probe(d->xfrm, &d->probe);
	}
	/* auto: the kernel when it carries ESP, userspace ESP otherwise. */
	if (d->cfg.backend == XD_BACKEND_SOFT ||
	    (d->cfg.backend == XD_BACKEND_AUTO && (!d->xfrm || !d->probe.esp))) {
		if (d->xfrm) {
			xfrm_close(d->xfrm);
			d->xfrm = NULL;
		}
		e = open_soft(d, err, errlen);
		if (e == 0)
			d->kops = (struct xk_kernel_ops){
				.alloc_spi = k_alloc_spi,
				.add_sa = k_add_sa,
				.del_sa = k_del_sa,
				.add_policy = k_add_policy,
				.del_policy = k_del_policy,
				.query_sa = k_query_sa,
				.move_sa = k_move_sa,
			};
		return e;
	}
	if (!d->xfrm) {
		snprintf(err, errlen, "cannot open netlink XFRM: %s", strerror(-e));
		return e;
	}
	if (!d->probe.esp) {
		snprintf(err, errlen,
			 "kernel lacks ESP (module esp4/esp6 missing?); use backend = soft or auto");
		return -EPROTONOSUPPORT;
	}
	d->backend = &xfrm_kernel_ops;
	d->backend_ctx = d->xfrm;
	d->kops = (struct xk_kernel_ops){
		.alloc_spi = k_alloc_spi,
		.add_sa = k_add_sa,
		.del_sa = k_del_sa,
		.add_policy = k_add_policy,
		.del_policy = k_del_policy,
		.query_sa = k_query_sa,
		.move_sa = k_move_sa,
	};
	/* Whatever an earlier xiked left behind (kill -9) goes first. */
	e = xfrm_flush_owned(d->xfrm);
	if (e > 0)
		xk_notice("removed %d stale kernel entries of an earlier run", e);
	install_nd_bypass(d);
	fd = xfrm_events_open(d->xfrm);
	if (fd < 0) {
		snprintf(err, errlen, "cannot subscribe to XFRM events: %s", strerror(-fd));
		return fd;
	}
	ev_io_init(&d->xfrm_ev, on_xfrm_event, fd, EV_READ);
	ev_io_start(d->loop, &d->xfrm_ev);
	return 0;
}

void xd_kernel_close(struct xiked *d)
{
	if (d->soft) {
		ev_io_stop(d->loop, &d->soft_ike);
		ev_io_stop(d->loop, &d->soft_ev);
		for (size_t i = 0; i < d->n_traps; i++)
			d->backend->del_policy(d->backend_ctx, &d->traps[i].pol);
		free(d->traps);
		d->traps = NULL;
		d->n_traps = 0;
		esp_soft_free(d->soft);
		d->soft = NULL;
		return;
	}
	if (!d->xfrm)
		return;
	ev_io_stop(d->loop, &d->xfrm_ev);
	for (size_t i = 0; i < d->n_traps; i++)
		d->backend->del_policy(d->backend_ctx, &d->traps[i].pol);
	free(d->traps);
	d->traps = NULL;
	d->n_traps = 0;
	xfrm_flush_owned(d->xfrm);
	xfrm_close(d->xfrm);
	d->xfrm = NULL;
}

static enum xk_enc enc_of(uint16_t id)
{
	switch (id) {
	case IKEV2_ENCR_AES_GCM_16: return XK_ENC_AES_GCM_16;
	case IKEV2_ENCR_CHACHA20_POLY1305: return XK_ENC_CHACHA20_POLY1305;
	case IKEV2_ENCR_AES_CBC: return XK_ENC_AES_CBC;
	}
	return XK_ENC_NONE;
}

static enum xk_integ integ_of(uint16_t id)
{
	switch (id) {
	case IKEV2_AUTH_HMAC_SHA2_256_128: return XK_INTEG_HMAC_SHA256_128;
	case IKEV2_AUTH_HMAC_SHA2_384_192: return XK_INTEG_HMAC_SHA384_192;
	case IKEV2_AUTH_HMAC_SHA2_512_256: return XK_INTEG_HMAC_SHA512_256;
	}
	return XK_INTEG_NONE;
}

int xd_kernel_check_conn(struct xiked *d, const struct xd_conn *c, char *err, size_t errlen)
{
	const struct xfrm_probe *p = &d->probe;
	char msg[160];

	/* Userspace ESP carries every algorithm xike negotiates. */
	if (!d->xfrm)
		return 0;
	for (size_t i = 0; i < c->n_esp; i++) {
		for (size_t j = 0; j < c->esp[i].n_xforms; j++) {
			const struct ike_xform *x = &c->esp[i].xf[j];
			const char *m = NULL;

			if (x->type == IKEV2_XF_ENCR)
				m = xfrm_probe_check(p, enc_of(x->id), XK_INTEG_NONE, msg, sizeof(msg));
			else if (x->type == IKEV2_XF_INTEG)
				m = xfrm_probe_check(p, XK_ENC_NONE, integ_of(x->id), msg, sizeof(msg));
			if (m) {
				snprintf(err, errlen, "%s:%u: [conn %s] esp: %s", d->cfg.path, c->line,
					 c->name, m);
				return -ENOTSUP;
			}
		}
	}
	return 0;
}

int xd_traps_install(struct xiked *d, const struct xd_conn *c, uint32_t reqid)
{
	struct xk_ts l[IKE_MAX_TS], r[IKE_MAX_TS];
	size_t nl = c->n_local_ts, nr = c->n_remote_ts;

	if (nl)
		memcpy(l, c->local_ts, nl * sizeof(l[0]));
	else
		xk_ts_from_addr(&c->local, &l[nl++]);
	if (nr)
		memcpy(r, c->remote_ts, nr * sizeof(r[0]));
	else
		xk_ts_from_addr(&c->remote, &r[nr++]);
	for (size_t i = 0; i < nl; i++) {
		for (size_t j = 0; j < nr; j++) {
			struct xd_trap *t, *n;
			int err;

			n = realloc(d->traps, (d->n_traps + 1) * sizeof(*n));
			if (!n)
				return -ENOMEM;
			d->traps = n;
			t = &d->traps[d->n_traps];
			memset(t, 0, sizeof(*t));
			snprintf(t->conn, sizeof(t->conn), "%s", c->name);
			t->reqid = reqid;
			t->pol = (struct xk_policy){
				.src = l[i], .dst = r[j], .dir = XK_DIR_OUT,
				/* Below the CHILD_SA's own priorities: those are 0x2000+. */
				.priority = 0x1000, .mode = c->mode,
				.tmpl_src = c->local, .tmpl_dst = c->remote, .reqid = reqid,
			};
			err = d->backend->add_policy(d->backend_ctx, &t->pol);
			if (err < 0) {
				char a[XK_TS_STRLEN], b[XK_TS_STRLEN];

				xk_err("conn=%s: cannot install trap policy %s -> %s: %s", c->name,
				       xk_ts_str(&l[i], a, sizeof(a)), xk_ts_str(&r[j], b, sizeof(b)),
				       strerror(-err));
				return err;
			}
			d->n_traps++;
			/* The first packet needs a route into the policy, too. */
			if (d->routes && c->mode == XK_MODE_TUNNEL)
				xd_routes_add(d->routes, XD_ROUTE_TRAP(reqid), &c->remote, &l[i], &r[j]);
		}
	}
	return 0;
}

void xd_traps_remove(struct xiked *d, const char *conn)
{
	size_t k = 0;

	for (size_t i = 0; i < d->n_traps; i++) {
		if (!strcmp(d->traps[i].conn, conn)) {
			d->backend->del_policy(d->backend_ctx, &d->traps[i].pol);
			if (d->routes)
				xd_routes_remove(d->routes, XD_ROUTE_TRAP(d->traps[i].reqid));
		} else
			d->traps[k++] = d->traps[i];
	}
	d->n_traps = k;
}
