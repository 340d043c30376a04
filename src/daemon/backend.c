/* SPDX-License-Identifier: ISC */
/*
 * The daemon's side of the ESP backend: choosing it, checking that it can
 * carry what the config asks for, and the one ops table the engine uses:
 * the backend's own ops behind the fault layer (SA installs) and the
 * sharing of trap policies (trap.c).  Its events are read for events.c.
 */
#define XK_LOG_SUB XK_SUB_KERNEL /* common/log.h */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "daemon/backend.h"
#include "daemon/daemon.h"
#include "daemon/trap.h"
#include "esp-soft/esp_soft.h"
#include "ike/ikev2.h"
#include "xfrm/xfrm.h"

static int k_alloc_spi(void *ctx, const struct xk_addr *src, const struct xk_addr *dst,
		       uint32_t *spi)
{
	struct xiked *d = ctx;

	return d->backend->alloc_spi(d->backend_ctx, src, dst, spi);
}

static int k_add_sa(void *ctx, const struct xk_sa *sa)
{
	struct xiked *d = ctx;

	if (xd_faults_install(&d->faults))
		return -ENOMEM;
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
	const struct xd_trap *t = xd_traps_find(d, pol);

	if (t && t->reqid == pol->reqid)
		return 0; /* the trap is this very policy */
	return d->backend->add_policy(d->backend_ctx, pol);
}

static int k_del_policy(void *ctx, const struct xk_policy *pol)
{
	struct xiked *d = ctx;

	if (xd_traps_find(d, pol))
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

const struct xk_kernel_ops xd_backend_ops = {
	.alloc_spi = k_alloc_spi,
	.add_sa = k_add_sa,
	.del_sa = k_del_sa,
	.add_policy = k_add_policy,
	.del_policy = k_del_policy,
	.query_sa = k_query_sa,
	.move_sa = k_move_sa,
};

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

void xd_backend_child_stats(struct xiked *d, const struct ike_child_info *c,
			    struct xk_sa_stats *in, struct xk_sa_stats *out)
{
	*in = *out = (struct xk_sa_stats){ 0 };
	k_query_sa(d, &c->id_in, in);
	k_query_sa(d, &c->id_out, out);
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
	e = esp_soft_open(d->soft);
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
	xk_notice("userspace ESP on %s (UDP port %u)", esp_soft_ifname(d->soft), d->cfg.nat_port);
	return 0;
}

int xd_backend_open(struct xiked *d, char *err, size_t errlen)
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
		return open_soft(d, err, errlen);
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
	/* Whatever an earlier xiked left behind (kill -9) goes first. */
	e = xfrm_flush_owned(d->xfrm);
	if (e > 0)
		xk_notice("removed %d stale kernel entries of an earlier run", e);
	install_nd_bypass(d);
	fd = xfrm_events_open(d->xfrm, (int)d->cfg.event_buffer);
	if (fd < 0) {
		snprintf(err, errlen, "cannot subscribe to XFRM events: %s", strerror(-fd));
		return fd;
	}
	return 0;
}

int xd_backend_start(struct xiked *d, char *err, size_t errlen)
{
	int e = d->soft ? esp_soft_start(d->soft) : 0;

	if (e < 0)
		snprintf(err, errlen, "cannot start userspace ESP's threads: %s", strerror(-e));
	return e;
}

void xd_backend_close(struct xiked *d)
{
	if (d->soft) {
		xd_traps_clear(d);
		esp_soft_free(d->soft);
		d->soft = NULL;
		return;
	}
	if (!d->xfrm)
		return;
	xd_traps_clear(d);
	xfrm_flush_owned(d->xfrm);
	xfrm_close(d->xfrm);
	d->xfrm = NULL;
}

int xd_backend_events_fd(const struct xiked *d)
{
	return d->soft ? esp_soft_events_fd(d->soft) : xfrm_events_fd(d->xfrm);
}

int xd_backend_events_read(struct xiked *d, xk_event_cb cb, void *ctx)
{
	if (d->soft)
		return esp_soft_events_read(d->soft, cb, ctx);
	return xfrm_events_read(d->xfrm, cb, ctx);
}

/*
 * The engine's view of what the kernel holds: keyed SAs (larval ones
 * belong to exchanges still going on) with whether each is past its soft
 * lifetime, and policies with a template (our bypasses are no CHILD_SA's).
 */
static int resync_view(const struct xfrm_owned *o, struct ike_kernel_view *kv)
{
	uint64_t now = (uint64_t)time(NULL);

	kv->sas = calloc(o->n_sas + 1, sizeof(*kv->sas));
	kv->pols = calloc(o->n_pols + 1, sizeof(*kv->pols));
	if (!kv->sas || !kv->pols)
		return -ENOMEM;
	for (size_t i = 0; i < o->n_sas; i++) {
		if (o->sas[i].larval)
			continue;
		kv->sas[kv->n_sas++] = (struct ike_kernel_sa){
			.id = o->sas[i].id,
			.soft_due = xfrm_sa_soft_due(&o->sas[i], now),
		};
	}
	for (size_t i = 0; i < o->n_pols; i++)
		if (!o->pols[i].bypass)
			kv->pols[kv->n_pols++].pol = o->pols[i];
	return 0;
}

/* What no CHILD_SA holds and no trap is: left behind.  Returns how many went. */
static unsigned remove_stale(struct xiked *d, const struct ike_kernel_view *kv)
{
	unsigned n = 0;

	for (size_t i = 0; i < kv->n_sas; i++)
		if (!kv->sas[i].ours)
			n += xfrm_del_sa(d->xfrm, &kv->sas[i].id) == 0;
	for (size_t i = 0; i < kv->n_pols; i++)
		if (!kv->pols[i].ours && !xd_traps_find(d, &kv->pols[i].pol))
			n += xfrm_del_policy(d->xfrm, &kv->pols[i].pol) == 0;
	return n;
}

void xd_backend_resync(struct xiked *d)
{
	struct xfrm_owned o;
	struct ike_kernel_view kv = { 0 };
	struct ike_sync_result r;
	int err;

	if (!d->xfrm)
		return;
	err = xfrm_dump_owned(d->xfrm, &o);
	if (err == 0)
		err = resync_view(&o, &kv);
	if (err == 0)
		err = ike_engine_kernel_sync(d->eng, &kv, &r);
	if (err == 0) {
		/* Only now that the engine has claimed what is its own. */
		unsigned stale = remove_stale(d, &kv);

		xk_notice("resync with the kernel: %u CHILD_SAs lost an SA (deleted), %u due a rekey, "
			  "%u policies restored, %u stale entries removed (of %zu SAs, %zu policies)",
			  r.gone, r.due, r.restored, stale, kv.n_sas, kv.n_pols);
	} else {
		xk_err("resync: cannot read the kernel's SAs and policies back: %s", strerror(-err));
	}
	free(kv.sas);
	free(kv.pols);
	xfrm_owned_free(&o);
}

int xd_backend_check_conn(struct xiked *d, const struct xd_conn *c, char *err, size_t errlen)
{
	const struct xfrm_probe *p = &d->probe;
	char msg[160];

	if (!d->xfrm) {
		/* Userspace ESP has no VTI device or XFRM interface to route into. */
		if (xk_tag_set(&c->tag_in) || xk_tag_set(&c->tag_out)) {
			snprintf(err, errlen,
				 "%s:%u: [conn %s] %s: route-based tunnels need kernel ESP "
				 "(backend = soft has no VTI devices or XFRM interfaces)",
				 d->cfg.path, c->line, c->name,
				 c->tag_in.if_id ? "if-id" : c->tag_in.mark_mask ? "mark-in" : "mark-out");
			return -ENOTSUP;
		}
		/* It carries every algorithm xike negotiates. */
		return 0;
	}
	for (size_t i = 0; i < c->n_esp; i++) {
		for (size_t j = 0; j < c->esp[i].n_xforms; j++) {
			const struct ike_xform *x = &c->esp[i].xf[j];
			const char *m = NULL;

			if (x->type == IKEV2_XF_ENCR)
				m = xfrm_probe_check(p, ike_xk_enc(x->id), XK_INTEG_NONE, msg, sizeof(msg));
			else if (x->type == IKEV2_XF_INTEG)
				m = xfrm_probe_check(p, XK_ENC_NONE, ike_xk_integ(x->id), msg, sizeof(msg));
			if (m) {
				snprintf(err, errlen, "%s:%u: [conn %s] esp: %s", d->cfg.path, c->line,
					 c->name, m);
				return -ENOTSUP;
			}
		}
	}
	return 0;
}
