/* SPDX-License-Identifier: ISC */
/*
 * Tunnel-mode routes through libnl-route-3 (route.c, the one file that
 * speaks rtnetlink).
 */
#ifndef XD_ROUTE_H
#define XD_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sa.h"
#include "ike/ike.h"

struct xd_route_ctx;

struct xd_route_ctx *xd_routes_open(uint32_t table);
void xd_routes_close(struct xd_route_ctx *r);
/* Readable when the kernel refused a route request; then xd_routes_input(). */
int xd_routes_fd(const struct xd_route_ctx *r);
void xd_routes_input(struct xd_route_ctx *r);
/*
 * owner: a CHILD_SA's inbound SPI, or XD_ROUTE_TRAP(reqid) for a trap, which
 * no SPI (any 32-bit value, top bit included) can be.
 */
#define XD_ROUTE_TRAP(reqid) ((uint64_t)1 << 32 | (uint32_t)(reqid))
void xd_routes_add(struct xd_route_ctx *r, uint64_t owner, const struct xk_addr *peer,
		   const struct xk_ts *local_ts, const struct xk_ts *remote_ts);
void xd_routes_remove(struct xd_route_ctx *r, uint64_t owner);
/* Userspace ESP: routes into this device; packets with `mark` bypass them. */
void xd_routes_use_tun(struct xd_route_ctx *r, int ifindex, uint32_t mark);
void xd_routes_child_up(struct xd_route_ctx *r, const struct xk_addr *peer,
			const struct ike_child_info *c);
void xd_routes_child_down(struct xd_route_ctx *r, const struct ike_child_info *c);

/*
 * interface = NAME: an XFRM interface (tag_in->if_id set) or else a VTI
 * device (ikey and okey the marks) of the outer family, made with mtu (0:
 * the outer device's MTU less the largest ESP overhead), up; or the device
 * of that name that exists already, used as it is and left in place.
 * With routes, the remote selectors that are prefixes (not 0.0.0.0/0 or
 * ::/0) are routed through it in the main table.
 */
struct xd_iface;
struct xd_iface_req {
	const char *name;
	const struct xk_tag *tag_in, *tag_out;
	const struct xk_addr *local, *remote; /* family 0: any */
	uint32_t mtu;
	const struct xk_ts *local_ts, *remote_ts;
	size_t n_local_ts, n_remote_ts;
	bool routes;
};
int xd_iface_up(const struct xd_iface_req *q, struct xd_iface **out, char *err, size_t errlen);
/* Another connection that names the same device: one more reference. */
struct xd_iface *xd_iface_hold(struct xd_iface *f);
/*
 * Drops a reference; the last removes a device it made (its routes with
 * it), or the routes it added.
 */
void xd_iface_down(struct xd_iface *f);
int xd_iface_index(const struct xd_iface *f);

#endif
