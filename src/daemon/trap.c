/* SPDX-License-Identifier: ISC */
/*
 * Trap policies (start = trap).  The engine installs a CHILD_SA's policies
 * itself; for a trapped connection the outbound policy already exists (it
 * is the trap, with the same selectors and reqid), so backend.c treats it
 * as shared: adding it succeeds without touching it, deleting it leaves the
 * trap in place for the next packet.  A trapped connection's CHILD_SAs use
 * the trap's reqid (conn.c gives it).
 */
#define XK_LOG_SUB XK_SUB_KERNEL /* common/log.h */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "daemon/daemon.h"
#include "daemon/route.h"
#include "daemon/trap.h"

const struct xd_trap *xd_traps_find(const struct xiked *d, const struct xk_policy *p)
{
	for (size_t i = 0; i < d->n_traps; i++) {
		const struct xk_policy *t = &d->traps[i].pol;

		if (t->dir == p->dir && !memcmp(&t->src, &p->src, sizeof(t->src)) &&
		    !memcmp(&t->dst, &p->dst, sizeof(t->dst)))
			return &d->traps[i];
	}
	return NULL;
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
				.mark = c->tag_out.mark, .mark_mask = c->tag_out.mark_mask,
				.if_id = c->tag_out.if_id,
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
			/*
			 * The first packet needs a route into the policy, too;
			 * a route-based tunnel's come from its interface.
			 */
			if (d->routes && c->mode == XK_MODE_TUNNEL &&
			    !xk_tag_set(&c->tag_in) && !xk_tag_set(&c->tag_out))
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

void xd_traps_clear(struct xiked *d)
{
	for (size_t i = 0; i < d->n_traps; i++)
		d->backend->del_policy(d->backend_ctx, &d->traps[i].pol);
	free(d->traps);
	d->traps = NULL;
	d->n_traps = 0;
}

bool xd_traps_has(const struct xiked *d, const char *conn)
{
	for (size_t i = 0; i < d->n_traps; i++)
		if (!strcmp(d->traps[i].conn, conn))
			return true;
	return false;
}

const char *xd_traps_conn(const struct xiked *d, uint32_t reqid)
{
	for (size_t i = 0; i < d->n_traps; i++)
		if (d->traps[i].reqid == reqid)
			return d->traps[i].conn;
	return NULL;
}
