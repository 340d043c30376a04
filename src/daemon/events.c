/* SPDX-License-Identifier: ISC */
/*
 * The engine's and the backend's events, fanned out.  Engine events:
 * child-up and child-down add and remove routes, failures and dead peers
 * go to the connection (retry, dpd-action), and every event goes to the
 * control socket's subscribers.  Backend events: ACQUIRE on a trap
 * initiates its connection, EXPIRE and MAPPING go to the engine.
 */
#include <errno.h>

#include "common/log.h"
#include "daemon/backend.h"
#include "daemon/conn.h"
#include "daemon/ctl.h"
#include "daemon/daemon.h"
#include "daemon/events.h"
#include "daemon/loop.h"
#include "daemon/metrics.h"
#include "daemon/route.h"
#include "daemon/trap.h"

void xd_on_engine_event(void *ctx, const struct ike_event *ev)
{
	struct xiked *d = ctx;

	if (ev->child && ev->type == IKE_EV_CHILD_UP && d->routes)
		xd_routes_child_up(d->routes, ev->remote, ev->child);
	xd_conn_event(d, ev);
	xd_metrics_event(d, ev);
	if (ev->child && ev->type == IKE_EV_CHILD_DOWN && d->routes)
		xd_routes_child_down(d->routes, ev->child);
	xd_ctl_event(d, ev);
}

static void on_backend_event(void *ctx, const struct xk_event *ev)
{
	struct xiked *d = ctx;
	char a[XK_TS_STRLEN], b[XK_TS_STRLEN], err[128];
	const char *conn;
	int r;

	switch (ev->type) {
	case XK_EV_ACQUIRE:
		d->stats.acquires++;
		conn = xd_traps_conn(d, ev->reqid);
		if (!conn)
			break;
		xk_info("acquire conn=%s src=%s dst=%s", conn,
			xk_ts_str(&ev->pkt_src, a, sizeof(a)),
			xk_ts_str(&ev->pkt_dst, b, sizeof(b)));
		/* One negotiation per connection at a time. */
		r = xd_initiate(d, conn, err, sizeof(err));
		if (r < 0 && r != -EALREADY)
			xk_warn("acquire conn=%s: %s", conn, err);
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

static void on_backend(struct ev_loop *loop, ev_io *w, int revents)
{
	struct xiked *d = container_of(w, struct xiked, backend_ev);

	(void)loop;
	(void)revents;
	if (xd_backend_events_read(d, on_backend_event, d) == -ENOBUFS) {
		/* Lost EXPIREs leave CHILD_SAs without SAs, or unrekeyed. */
		d->stats.event_overruns++;
		xk_warn("kernel events lost (event socket overran): resyncing with the kernel");
		xd_backend_resync(d);
	}
	xd_engine_kick(d);
}

void xd_events_start(struct xiked *d)
{
	ev_io_init(&d->backend_ev, on_backend, xd_backend_events_fd(d), EV_READ);
	ev_io_start(d->loop, &d->backend_ev);
}

void xd_events_stop(struct xiked *d)
{
	ev_io_stop(d->loop, &d->backend_ev);
}
