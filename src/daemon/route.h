/* SPDX-License-Identifier: ISC */
/*
 * Tunnel-mode routes through libnl-route-3 (route.c, the one file that
 * speaks rtnetlink).
 */
#ifndef XD_ROUTE_H
#define XD_ROUTE_H

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

#endif
