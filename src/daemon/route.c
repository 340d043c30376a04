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

struct xd_route {
	struct xd_route *next;
	uint32_t spi_in;
	struct rtnl_route *r;
};

struct xd_route_ctx {
	struct nl_sock *sk;
	uint32_t table;
	bool rule[2];
	struct xd_route *routes;
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
 * A local address inside `ts`, and the interface holding `outer`.
 * Returns the ifindex (0 if not found); *src is set if an address fits.
 */
static int find_addrs(struct xd_route_ctx *r, const struct xk_ts *ts, const struct xk_addr *outer,
		      struct nl_addr **src)
{
	struct nl_cache *cache;
	struct nl_object *o;
	int ifindex = 0;

	*src = NULL;
	if (rtnl_addr_alloc_cache(r->sk, &cache) < 0)
		return 0;
	for (o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;
		struct nl_addr *local = rtnl_addr_get_local(a);
		int fam = rtnl_addr_get_family(a);

		if (!local || (fam != AF_INET && fam != AF_INET6))
			continue;
		if (!*src && ts_has(ts, fam, nl_addr_get_binary_addr(local)))
			*src = nl_addr_clone(local);
		if (!ifindex && fam == af(outer->family) &&
		    !memcmp(nl_addr_get_binary_addr(local), outer->ip, xk_addr_len(outer)))
			ifindex = rtnl_addr_get_ifindex(a);
	}
	nl_cache_free(cache);
	if (*src)
		nl_addr_set_prefixlen(*src, nl_addr_get_family(*src) == AF_INET ? 32 : 128);
	return ifindex;
}

void xd_routes_child_up(struct xd_route_ctx *r, const struct xk_addr *local,
			const struct ike_child_info *c)
{
	struct nl_addr *src = NULL;
	int ifindex;

	if (!r || c->mode != XK_MODE_TUNNEL || !c->n_local_ts)
		return;
	ifindex = find_addrs(r, &c->local_ts[0], local, &src);
	/* No address of ours inside the local selectors: nothing to steer. */
	if (!src || !ifindex) {
		if (src)
			nl_addr_put(src);
		return;
	}
	for (size_t i = 0; i < c->n_remote_ts; i++) {
		const struct xk_ts *ts = &c->remote_ts[i];
		int plen = xk_ts_prefix_len(ts);
		struct rtnl_route *rt;
		struct rtnl_nexthop *nh;
		struct nl_addr *dst;
		struct xd_route *x;
		int err;

		if (plen < 0 || af(ts->family) != nl_addr_get_family(src))
			continue;
		dst = nl_addr_build(af(ts->family), ts->lo, ts->family == XK_AF_INET ? 4 : 16);
		rt = rtnl_route_alloc();
		nh = rtnl_route_nh_alloc();
		x = calloc(1, sizeof(*x));
		if (!dst || !rt || !nh || !x) {
			nl_addr_put(dst);
			rtnl_route_put(rt);
			rtnl_route_nh_free(nh);
			free(x);
			break;
		}
		nl_addr_set_prefixlen(dst, plen);
		rtnl_route_set_family(rt, (uint8_t)af(ts->family));
		rtnl_route_set_table(rt, r->table);
		rtnl_route_set_dst(rt, dst);
		rtnl_route_set_pref_src(rt, src);
		rtnl_route_nh_set_ifindex(nh, ifindex);
		rtnl_route_add_nexthop(rt, nh);
		nl_addr_put(dst);
		err = rtnl_route_add(r->sk, rt, NLM_F_CREATE | NLM_F_REPLACE);
		if (err < 0) {
			char b[XK_TS_STRLEN];

			xk_warn("cannot add route to %s: %s", xk_ts_str(ts, b, sizeof(b)),
				nl_geterror(err));
			rtnl_route_put(rt);
			free(x);
			continue;
		}
		x->spi_in = c->spi_in;
		x->r = rt;
		x->next = r->routes;
		r->routes = x;
	}
	nl_addr_put(src);
}

void xd_routes_child_down(struct xd_route_ctx *r, const struct ike_child_info *c)
{
	struct xd_route **pp;

	if (!r)
		return;
	for (pp = &r->routes; *pp;) {
		struct xd_route *x = *pp;

		if (x->spi_in != c->spi_in) {
			pp = &x->next;
			continue;
		}
		*pp = x->next;
		rtnl_route_delete(r->sk, x->r, 0);
		rtnl_route_put(x->r);
		free(x);
	}
}
