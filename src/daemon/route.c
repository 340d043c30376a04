/* SPDX-License-Identifier: ISC */
/*
 * Tunnel-mode routes, the one place that speaks rtnetlink (libnl-route-3).
 *
 * For a CHILD_SA in tunnel mode, traffic to the remote selectors must
 * leave with a source address inside the local selectors, or the policy
 * will not match it.  So, for each remote selector, a route goes into a
 * table of our own (a rule sends lookups there), with that source address,
 * out of the interface that holds the SA's local address.  Routes go when
 * the CHILD_SA goes.
 */
#include <errno.h>
#include <linux/fib_rules.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "daemon/daemon.h"

/*
 * A route we installed.  Its owner is the CHILD_SA (inbound SPI) or the
 * trap (0x80000000 | reqid) it was installed for; a rekeyed CHILD_SA takes
 * its predecessor's routes over, a trap's routes stay until the trap goes.
 */
struct xd_route {
	struct xd_route *next;
	uint32_t owner;
	int family;
	uint8_t dst[16];
	int plen;
	struct rtnl_route *r;
};

#define TRAP_OWNER 0x80000000u

struct xd_route_ctx {
	struct nl_sock *sk;
	uint32_t table;
	bool rule[2];
	struct xd_route *routes;
	/*
	 * Userspace ESP: routes go into its TUN device, and traffic carrying
	 * its mark (its own UDP, our IKE) bypasses the table.
	 */
	int tun_ifindex;
	uint32_t mark;
	bool mark_rule[2];
};

static int af(uint8_t family)
{
	return family == XK_AF_INET ? AF_INET : AF_INET6;
}

static struct rtnl_rule *make_rule(uint32_t table, int family)
{
	struct rtnl_rule *rule = rtnl_rule_alloc();

	if (!rule)
		return NULL;
	rtnl_rule_set_family(rule, family);
	rtnl_rule_set_table(rule, table);
	rtnl_rule_set_prio(rule, table);
	rtnl_rule_set_action(rule, FR_ACT_TO_TBL);
	return rule;
}

/* Marked packets (the tunnel's own) look up the main table, just before ours. */
static struct rtnl_rule *make_mark_rule(uint32_t table, uint32_t mark, int family)
{
	struct rtnl_rule *rule = rtnl_rule_alloc();

	if (!rule)
		return NULL;
	rtnl_rule_set_family(rule, family);
	rtnl_rule_set_table(rule, RT_TABLE_MAIN);
	rtnl_rule_set_prio(rule, table - 1);
	rtnl_rule_set_mark(rule, mark);
	rtnl_rule_set_mask(rule, mark);
	rtnl_rule_set_action(rule, FR_ACT_TO_TBL);
	return rule;
}

void xd_routes_use_tun(struct xd_route_ctx *r, int ifindex, uint32_t mark)
{
	if (!r)
		return;
	r->tun_ifindex = ifindex;
	r->mark = mark;
	for (int i = 0; i < 2 && mark; i++) {
		struct rtnl_rule *rule = make_mark_rule(r->table, mark, i ? AF_INET6 : AF_INET);
		int err = rule ? rtnl_rule_add(r->sk, rule, NLM_F_CREATE) : -NLE_NOMEM;

		r->mark_rule[i] = err == 0;
		if (err < 0 && err != -NLE_EXIST)
			xk_warn("cannot add the bypass rule for mark %#x: %s", mark, nl_geterror(err));
		rtnl_rule_put(rule);
	}
}

struct xd_route_ctx *xd_routes_open(uint32_t table)
{
	struct xd_route_ctx *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->table = table;
	r->sk = nl_socket_alloc();
	if (!r->sk || nl_connect(r->sk, NETLINK_ROUTE) < 0) {
		xd_routes_close(r);
		return NULL;
	}
	for (int i = 0; i < 2; i++) {
		struct rtnl_rule *rule = make_rule(table, i ? AF_INET6 : AF_INET);
		int err = rule ? rtnl_rule_add(r->sk, rule, NLM_F_CREATE) : -NLE_NOMEM;

		/* An existing rule (from an earlier run) serves as well. */
		r->rule[i] = err == 0;
		if (err < 0 && err != -NLE_EXIST)
			xk_warn("cannot add routing rule for table %u: %s", table, nl_geterror(err));
		rtnl_rule_put(rule);
	}
	return r;
}

void xd_routes_close(struct xd_route_ctx *r)
{
	if (!r)
		return;
	while (r->routes) {
		struct xd_route *x = r->routes;

		r->routes = x->next;
		rtnl_route_delete(r->sk, x->r, 0);
		rtnl_route_put(x->r);
		free(x);
	}
	for (int i = 0; i < 2 && r->sk; i++) {
		if (r->mark_rule[i]) {
			struct rtnl_rule *rule = make_mark_rule(r->table, r->mark, i ? AF_INET6 : AF_INET);

			if (rule) {
				rtnl_rule_delete(r->sk, rule, 0);
				rtnl_rule_put(rule);
			}
		}
		if (r->rule[i]) {
			struct rtnl_rule *rule = make_rule(r->table, i ? AF_INET6 : AF_INET);

			if (rule) {
				rtnl_rule_delete(r->sk, rule, 0);
				rtnl_rule_put(rule);
			}
		}
	}
	if (r->sk)
		nl_socket_free(r->sk);
	free(r);
}

static bool ts_has(const struct xk_ts *ts, int family, const void *ip)
{
	size_t n = family == AF_INET ? 4 : 16;
	uint8_t fam = family == AF_INET ? XK_AF_INET : XK_AF_INET6;

	return ts->family == fam && memcmp(ts->lo, ip, n) <= 0 && memcmp(ts->hi, ip, n) >= 0;
}

/*
 * The gateway and interface the main table uses towards the peer: our
 * routes into the tunnel go the same way, so that only the policy, not the
 * route, decides what is protected.
 */
static int peer_path(struct xd_route_ctx *r, const struct xk_addr *peer, struct nl_addr **gw)
{
	struct nl_cache *cache;
	struct nl_object *o;
	int ifindex = 0, best = -1;

	*gw = NULL;
	if (rtnl_route_alloc_cache(r->sk, af(peer->family), 0, &cache) < 0)
		return 0;
	for (o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_route *rt = (struct rtnl_route *)o;
		struct nl_addr *dst = rtnl_route_get_dst(rt);
		struct rtnl_nexthop *nh;
		int plen = dst ? (int)nl_addr_get_prefixlen(dst) : 0;

		if (rtnl_route_get_table(rt) != RT_TABLE_MAIN || rtnl_route_get_nnexthops(rt) < 1 ||
		    plen <= best)
			continue;
		if (dst && plen > 0) {
			struct xk_ts net;
			struct xk_addr a = { .family = peer->family };
			char buf[64];

			memcpy(a.ip, nl_addr_get_binary_addr(dst), xk_addr_len(peer));
			snprintf(buf, sizeof(buf), "%s/%d", xk_addr_str(&a, (char[64]){ 0 }, 64), plen);
			if (xk_ts_parse(buf, &net) < 0 ||
			    memcmp(net.lo, peer->ip, xk_addr_len(peer)) > 0 ||
			    memcmp(net.hi, peer->ip, xk_addr_len(peer)) < 0)
				continue;
		}
		nh = rtnl_route_nexthop_n(rt, 0);
		best = plen;
		ifindex = rtnl_route_nh_get_ifindex(nh);
		if (*gw)
			nl_addr_put(*gw);
		*gw = rtnl_route_nh_get_gateway(nh) ? nl_addr_clone(rtnl_route_nh_get_gateway(nh))
						    : NULL;
	}
	nl_cache_free(cache);
	return ifindex;
}

/* A local address inside `ts`, as a host prefix; NULL if none. */
static struct nl_addr *local_in(struct xd_route_ctx *r, const struct xk_ts *ts)
{
	struct nl_cache *cache;
	struct nl_object *o;
	struct nl_addr *src = NULL;

	if (rtnl_addr_alloc_cache(r->sk, &cache) < 0)
		return NULL;
	for (o = nl_cache_get_first(cache); o && !src; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;
		struct nl_addr *local = rtnl_addr_get_local(a);
		int fam = rtnl_addr_get_family(a);

		if (local && (fam == AF_INET || fam == AF_INET6) &&
		    ts_has(ts, fam, nl_addr_get_binary_addr(local)))
			src = nl_addr_clone(local);
	}
	nl_cache_free(cache);
	if (src)
		nl_addr_set_prefixlen(src, nl_addr_get_family(src) == AF_INET ? 32 : 128);
	return src;
}

static struct xd_route *find(struct xd_route_ctx *r, int family, const uint8_t *dst, int plen)
{
	for (struct xd_route *x = r->routes; x; x = x->next)
		if (x->family == family && x->plen == plen && !memcmp(x->dst, dst, 16))
			return x;
	return NULL;
}

void xd_routes_add(struct xd_route_ctx *r, uint32_t owner, const struct xk_addr *peer,
		   const struct xk_ts *local_ts, const struct xk_ts *remote_ts)
{
	int plen = xk_ts_prefix_len(remote_ts), ifindex, err;
	struct nl_addr *src, *gw = NULL, *dst;
	struct rtnl_route *rt;
	struct rtnl_nexthop *nh;
	struct xd_route *x;
	char b[XK_TS_STRLEN];

	if (!r || plen < 0 || remote_ts->family != peer->family)
		return;
	x = find(r, af(remote_ts->family), remote_ts->lo, plen);
	if (x) {
		/* A rekey's new CHILD_SA takes the route over; a trap keeps its own. */
		if (!(x->owner & TRAP_OWNER))
			x->owner = owner;
		return;
	}
	/* No address of ours inside the local selectors: nothing to steer. */
	src = local_in(r, local_ts);
	if (!src && !r->tun_ifindex)
		return;
	/* Userspace ESP: into its device; the kernel: the peer's way. */
	ifindex = r->tun_ifindex ? r->tun_ifindex : peer_path(r, peer, &gw);
	dst = nl_addr_build(af(remote_ts->family), remote_ts->lo,
			    remote_ts->family == XK_AF_INET ? 4 : 16);
	rt = rtnl_route_alloc();
	nh = rtnl_route_nh_alloc();
	x = calloc(1, sizeof(*x));
	if (!ifindex || !dst || !rt || !nh || !x) {
		nl_addr_put(dst);
		rtnl_route_put(rt);
		rtnl_route_nh_free(nh);
		free(x);
		goto out;
	}
	nl_addr_set_prefixlen(dst, plen);
	rtnl_route_set_family(rt, (uint8_t)af(remote_ts->family));
	rtnl_route_set_table(rt, r->table);
	rtnl_route_set_dst(rt, dst);
	if (src)
		rtnl_route_set_pref_src(rt, src);
	rtnl_route_nh_set_ifindex(nh, ifindex);
	if (gw)
		rtnl_route_nh_set_gateway(nh, gw);
	rtnl_route_add_nexthop(rt, nh);
	nl_addr_put(dst);
	err = rtnl_route_add(r->sk, rt, NLM_F_CREATE | NLM_F_REPLACE);
	if (err < 0) {
		xk_warn("cannot add route to %s: %s", xk_ts_str(remote_ts, b, sizeof(b)),
			nl_geterror(err));
		rtnl_route_put(rt);
		free(x);
		goto out;
	}
	x->owner = owner;
	x->family = af(remote_ts->family);
	memcpy(x->dst, remote_ts->lo, 16);
	x->plen = plen;
	x->r = rt;
	x->next = r->routes;
	r->routes = x;
out:
	if (gw)
		nl_addr_put(gw);
	if (src)
		nl_addr_put(src);
}

void xd_routes_remove(struct xd_route_ctx *r, uint32_t owner)
{
	struct xd_route **pp;

	if (!r)
		return;
	for (pp = &r->routes; *pp;) {
		struct xd_route *x = *pp;

		if (x->owner != owner) {
			pp = &x->next;
			continue;
		}
		*pp = x->next;
		rtnl_route_delete(r->sk, x->r, 0);
		rtnl_route_put(x->r);
		free(x);
	}
}

void xd_routes_child_up(struct xd_route_ctx *r, const struct xk_addr *peer,
			const struct ike_child_info *c)
{
	/* Transport mode needs a route only into a userspace ESP device. */
	if (!r || !c->n_local_ts || (c->mode != XK_MODE_TUNNEL && !r->tun_ifindex))
		return;
	for (size_t i = 0; i < c->n_remote_ts; i++)
		xd_routes_add(r, c->spi_in, peer, &c->local_ts[0], &c->remote_ts[i]);
}

void xd_routes_child_down(struct xd_route_ctx *r, const struct ike_child_info *c)
{
	xd_routes_remove(r, c->spi_in);
}
