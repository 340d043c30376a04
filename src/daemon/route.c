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
#define XK_LOG_SUB XK_SUB_KERNEL /* common/log.h */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fib_rules.h>
#include <linux/if.h>
#include <linux/ip.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/inet.h>
#include <netlink/route/link/ip6vti.h>
#include <netlink/route/link/ipvti.h>
#include <netlink/route/link/xfrmi.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/hash.h"
#include "common/log.h"
#include "daemon/loop.h"
#include "daemon/route.h"

/*
 * A route we installed.  Its owner is the CHILD_SA (inbound SPI) or the
 * trap (XD_ROUTE_TRAP(reqid), above every SPI: an SPI may have any top bit)
 * it was installed for; a rekeyed CHILD_SA takes its predecessor's routes
 * over, a trap's routes stay until the trap goes.
 */
struct xd_route {
	struct xd_route *next_dst;   /* hash chain by destination */
	struct xd_route *next_owner; /* hash chain by owner */
	uint64_t owner;
	uint32_t seq; /* of the request that added it */
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t plen;
	uint8_t dst[16];
};

#define TRAP_OWNER XD_ROUTE_TRAP(0)

struct xd_route_ctx;
static void route_delete(struct xd_route_ctx *r, const struct xd_route *x);
static int on_async_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg);

struct xd_route_ctx {
	struct nl_sock *sk;
	/*
	 * Routes are added and deleted without waiting: a request for every
	 * CHILD_SA, then reading its ACK, was 3-4 % of a responder's CPU per
	 * handshake.  This socket asks for no ACKs; the kernel answers only
	 * a failure, which xd_routes_input() reads from the event loop.
	 */
	struct nl_sock *sk_async;
	struct nl_cb *cb;
	uint32_t table;
	bool rule[2];
	/* Routes, found by destination and by owner (a gateway has many). */
	struct xd_route **by_dst, **by_owner;
	size_t n_buckets, n_routes;
	uint64_t hash_key;
	struct nl_cache *addrs; /* our addresses, see local_in */
	uint64_t addrs_ms;
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

/* Keyed, so that selectors a peer chooses cannot aim at one bucket. */
static uint64_t hash(const struct xd_route_ctx *r, int family, const void *key, int plen)
{
	size_t n = family ? 16 : sizeof(uint64_t);
	uint64_t h = xk_hash_bytes(r->hash_key ^ (uint64_t)(family << 8 | plen), key, n);

	return h ^ h >> 29;
}

static size_t dst_bucket(const struct xd_route_ctx *r, int family, const uint8_t *dst, int plen)
{
	return (size_t)(hash(r, family, dst, plen) & (r->n_buckets - 1));
}

static size_t owner_bucket(const struct xd_route_ctx *r, uint64_t owner)
{
	return (size_t)(hash(r, 0, &owner, 0) & (r->n_buckets - 1));
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
	if (getrandom(&r->hash_key, sizeof(r->hash_key), 0) != sizeof(r->hash_key))
		r->hash_key = (uint64_t)(uintptr_t)r;
	r->sk = nl_socket_alloc();
	r->sk_async = nl_socket_alloc();
	r->cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!r->sk || !r->sk_async || !r->cb || nl_connect(r->sk, NETLINK_ROUTE) < 0 ||
	    nl_connect(r->sk_async, NETLINK_ROUTE) < 0 ||
	    nl_socket_set_nonblocking(r->sk_async) < 0) {
		xd_routes_close(r);
		return NULL;
	}
	nl_socket_disable_auto_ack(r->sk_async);
	nl_cb_err(r->cb, NL_CB_CUSTOM, on_async_error, r);
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
	for (size_t b = 0; b < r->n_buckets; b++) {
		while (r->by_dst[b]) {
			struct xd_route *x = r->by_dst[b];

			r->by_dst[b] = x->next_dst;
			route_delete(r, x);
			free(x);
		}
	}
	free(r->by_dst);
	free(r->by_owner);
	if (r->addrs)
		nl_cache_free(r->addrs);
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
	if (r->sk_async)
		nl_socket_free(r->sk_async);
	if (r->cb)
		nl_cb_put(r->cb);
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

/* Our addresses, read again when older than ADDR_CACHE_MS. */
#define ADDR_CACHE_MS 2000

static struct nl_cache *addresses(struct xd_route_ctx *r, bool fresh)
{
	uint64_t now = xd_now_ms();

	if (r->addrs && !fresh && now - r->addrs_ms < ADDR_CACHE_MS)
		return r->addrs;
	if (r->addrs) {
		nl_cache_free(r->addrs);
		r->addrs = NULL;
	}
	if (rtnl_addr_alloc_cache(r->sk, &r->addrs) < 0) {
		r->addrs = NULL;
		return NULL;
	}
	r->addrs_ms = now;
	return r->addrs;
}

/* An address of `cache` inside `ts`, as a host prefix; NULL if none. */
static struct nl_addr *local_of(struct nl_cache *cache, const struct xk_ts *ts)
{
	struct nl_addr *src = NULL;

	for (struct nl_object *o = nl_cache_get_first(cache); o && !src;
	     o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;
		struct nl_addr *local = rtnl_addr_get_local(a);
		int fam = rtnl_addr_get_family(a);

		if (local && (fam == AF_INET || fam == AF_INET6) &&
		    ts_has(ts, fam, nl_addr_get_binary_addr(local)))
			src = nl_addr_clone(local);
	}
	if (src)
		nl_addr_set_prefixlen(src, nl_addr_get_family(src) == AF_INET ? 32 : 128);
	return src;
}

/* A local address inside `ts`, as a host prefix; NULL if none. */
static struct nl_addr *local_in(struct xd_route_ctx *r, const struct xk_ts *ts)
{
	struct nl_cache *cache;
	struct nl_addr *src = NULL;

	/*
	 * Reading every address for every route would cost a gateway setting
	 * up thousands of tunnels most of its time: a recent copy serves,
	 * and a miss reads them again (an address added just now).
	 */
	for (int fresh = 0; fresh < 2 && !src; fresh++) {
		cache = addresses(r, fresh);
		if (!cache)
			return NULL;
		src = local_of(cache, ts);
	}
	return src;
}

/* The same, read afresh through `sk`. */
static struct nl_addr *local_in_sock(struct nl_sock *sk, const struct xk_ts *ts)
{
	struct nl_cache *cache;
	struct nl_addr *src;

	if (rtnl_addr_alloc_cache(sk, &cache) < 0)
		return NULL;
	src = local_of(cache, ts);
	nl_cache_free(cache);
	return src;
}

static struct xd_route *find(struct xd_route_ctx *r, int family, const uint8_t *dst, int plen)
{
	if (!r->n_buckets)
		return NULL;
	for (struct xd_route *x = r->by_dst[dst_bucket(r, family, dst, plen)]; x; x = x->next_dst)
		if (x->family == family && x->plen == plen && !memcmp(x->dst, dst, 16))
			return x;
	return NULL;
}

static void link_owner(struct xd_route_ctx *r, struct xd_route *x)
{
	size_t b = owner_bucket(r, x->owner);

	x->next_owner = r->by_owner[b];
	r->by_owner[b] = x;
}

static void unlink_owner(struct xd_route_ctx *r, struct xd_route *x)
{
	struct xd_route **pp = &r->by_owner[owner_bucket(r, x->owner)];

	for (; *pp; pp = &(*pp)->next_owner) {
		if (*pp == x) {
			*pp = x->next_owner;
			return;
		}
	}
}

static void unlink_dst(struct xd_route_ctx *r, struct xd_route *x)
{
	struct xd_route **pp = &r->by_dst[dst_bucket(r, x->family, x->dst, x->plen)];

	for (; *pp; pp = &(*pp)->next_dst) {
		if (*pp == x) {
			*pp = x->next_dst;
			return;
		}
	}
}

/* Room for one more route: the tables double when they are full. */
static int reserve(struct xd_route_ctx *r)
{
	size_t n = r->n_buckets ? r->n_buckets * 2 : 64;
	struct xd_route **d, **o;

	if (r->n_routes < r->n_buckets)
		return 0;
	d = calloc(n, sizeof(*d));
	o = calloc(n, sizeof(*o));
	if (!d || !o) {
		free(d);
		free(o);
		return -ENOMEM;
	}
	for (size_t b = 0; b < r->n_buckets; b++) {
		for (struct xd_route *x = r->by_dst[b], *next; x; x = next) {
			size_t h;

			next = x->next_dst;
			h = (size_t)(hash(r, x->family, x->dst, x->plen) & (n - 1));
			x->next_dst = d[h];
			d[h] = x;
			h = (size_t)(hash(r, 0, &x->owner, 0) & (n - 1));
			x->next_owner = o[h];
			o[h] = x;
		}
	}
	free(r->by_dst);
	free(r->by_owner);
	r->by_dst = d;
	r->by_owner = o;
	r->n_buckets = n;
	return 0;
}

/* One request on the socket without ACKs; *seq (if given) is its number. */
static int send_async(struct xd_route_ctx *r, struct rtnl_route *rt, int cmd, int flags,
		      uint32_t *seq)
{
	struct nl_msg *msg = NULL;
	int err;

	err = cmd == RTM_NEWROUTE ? rtnl_route_build_add_request(rt, flags, &msg)
				  : rtnl_route_build_del_request(rt, flags, &msg);
	if (err < 0)
		return err;
	err = nl_send_auto(r->sk_async, msg);
	if (err >= 0 && seq)
		*seq = nlmsg_hdr(msg)->nlmsg_seq;
	nlmsg_free(msg);
	return err < 0 ? err : 0;
}

/*
 * A request failed.  A delete of a route that is gone already is fine; a
 * failed add is named and forgotten (a walk over all routes, but only
 * for a failure).
 */
static int on_async_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct xd_route_ctx *r = arg;
	char b[INET6_ADDRSTRLEN];

	(void)who;
	if (e->msg.nlmsg_type == RTM_DELROUTE) {
		if (e->error != -ESRCH)
			xk_warn("cannot delete a route from table %u: %s", r->table,
				strerror(-e->error));
		return NL_SKIP;
	}
	for (size_t i = 0; i < r->n_buckets; i++) {
		for (struct xd_route *x = r->by_dst[i]; x; x = x->next_dst) {
			if (x->seq != e->msg.nlmsg_seq)
				continue;
			xk_warn("cannot add route to %s/%u: %s",
				inet_ntop(x->family, x->dst, b, sizeof(b)) ? b : "?", x->plen,
				strerror(-e->error));
			unlink_dst(r, x);
			unlink_owner(r, x);
			r->n_routes--;
			free(x);
			return NL_SKIP;
		}
	}
	xk_warn("a route request to table %u failed: %s", r->table, strerror(-e->error));
	return NL_SKIP;
}

int xd_routes_fd(const struct xd_route_ctx *r)
{
	return r ? nl_socket_get_fd(r->sk_async) : -1;
}

void xd_routes_input(struct xd_route_ctx *r)
{
	/* Non-blocking: until there is nothing left (-NLE_AGAIN). */
	while (r && nl_recvmsgs(r->sk_async, r->cb) >= 0)
		;
}

/*
 * Delete a route of ours from the kernel: the table and the destination
 * name it (we put one route per destination there).
 */
static void route_delete(struct xd_route_ctx *r, const struct xd_route *x)
{
	struct rtnl_route *rt = rtnl_route_alloc();
	struct nl_addr *dst = nl_addr_build(x->family, x->dst, x->family == AF_INET ? 4 : 16);
	int err;

	if (rt && dst) {
		nl_addr_set_prefixlen(dst, x->plen);
		rtnl_route_set_family(rt, x->family);
		rtnl_route_set_table(rt, r->table);
		rtnl_route_set_dst(rt, dst);
		err = send_async(r, rt, RTM_DELROUTE, 0, NULL);
		if (err < 0)
			xk_warn("cannot delete a route from table %u: %s", r->table,
				nl_geterror(err));
	}
	nl_addr_put(dst);
	rtnl_route_put(rt);
}

void xd_routes_add(struct xd_route_ctx *r, uint64_t owner, const struct xk_addr *peer,
		   const struct xk_ts *local_ts, const struct xk_ts *remote_ts)
{
	int plen = xk_ts_prefix_len(remote_ts), ifindex, err;
	struct nl_addr *src, *gw = NULL, *dst;
	struct rtnl_route *rt;
	struct rtnl_nexthop *nh;
	struct xd_route *x;
	char b[XK_TS_STRLEN];

	if (!r || plen < 0)
		return;
	x = find(r, af(remote_ts->family), remote_ts->lo, plen);
	if (x) {
		/* A rekey's new CHILD_SA takes the route over; a trap keeps its own. */
		if (!(x->owner & TRAP_OWNER) && x->owner != owner) {
			unlink_owner(r, x);
			x->owner = owner;
			link_owner(r, x);
		}
		return;
	}
	/* No address of ours inside the local selectors: nothing to steer. */
	src = local_in(r, local_ts);
	if (!src && !r->tun_ifindex)
		return;
	/*
	 * Userspace ESP: into its device, whatever the outer family.  The
	 * kernel: the peer's way; a gateway of the other family (4-in-6 or
	 * 6-in-4) cannot be one of this route, and needs none: the policy
	 * takes the packet before a neighbour is looked up, and the SA's
	 * outer addresses are routed on their own.
	 */
	if (r->tun_ifindex) {
		ifindex = r->tun_ifindex;
	} else {
		ifindex = peer_path(r, peer, &gw);
		if (gw && remote_ts->family != peer->family) {
			nl_addr_put(gw);
			gw = NULL;
		}
	}
	dst = nl_addr_build(af(remote_ts->family), remote_ts->lo,
			    remote_ts->family == XK_AF_INET ? 4 : 16);
	rt = rtnl_route_alloc();
	nh = rtnl_route_nh_alloc();
	x = calloc(1, sizeof(*x));
	if (!ifindex || !dst || !rt || !nh || !x || reserve(r) < 0) {
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
	err = send_async(r, rt, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, &x->seq);
	if (err < 0) {
		xk_warn("cannot add route to %s: %s", xk_ts_str(remote_ts, b, sizeof(b)),
			nl_geterror(err));
		rtnl_route_put(rt);
		free(x);
		goto out;
	}
	rtnl_route_put(rt);
	x->owner = owner;
	x->family = (uint8_t)af(remote_ts->family);
	memcpy(x->dst, remote_ts->lo, 16);
	x->plen = (uint8_t)plen;
	{
		size_t h = dst_bucket(r, x->family, x->dst, x->plen);

		x->next_dst = r->by_dst[h];
		r->by_dst[h] = x;
	}
	link_owner(r, x);
	r->n_routes++;
out:
	if (gw)
		nl_addr_put(gw);
	if (src)
		nl_addr_put(src);
}

void xd_routes_remove(struct xd_route_ctx *r, uint64_t owner)
{
	struct xd_route **pp;

	if (!r || !r->n_buckets)
		return;
	for (pp = &r->by_owner[owner_bucket(r, owner)]; *pp;) {
		struct xd_route *x = *pp;

		if (x->owner != owner) {
			pp = &x->next_owner;
			continue;
		}
		*pp = x->next_owner;
		unlink_dst(r, x);
		route_delete(r, x);
		free(x);
		r->n_routes--;
	}
}

void xd_routes_child_up(struct xd_route_ctx *r, const struct xk_addr *peer,
			const struct ike_child_info *c)
{
	/*
	 * Transport mode needs a route only into a userspace ESP device; a
	 * route-based tunnel (marks, an XFRM interface) is routed by whoever
	 * routes into its interface.
	 */
	if (!r || !c->n_local_ts || (c->mode != XK_MODE_TUNNEL && !r->tun_ifindex) ||
	    xk_tag_set(&c->tag_in) || xk_tag_set(&c->tag_out))
		return;
	for (size_t i = 0; i < c->n_remote_ts; i++) {
		/* The source comes from a local selector of the route's family. */
		const struct xk_ts *local = &c->local_ts[0];

		for (size_t j = 0; j < c->n_local_ts; j++)
			if (c->local_ts[j].family == c->remote_ts[i].family) {
				local = &c->local_ts[j];
				break;
			}
		xd_routes_add(r, c->spi_in, peer, local, &c->remote_ts[i]);
	}
}

void xd_routes_child_down(struct xd_route_ctx *r, const struct ike_child_info *c)
{
	xd_routes_remove(r, c->spi_in);
}

/*
 * Route-based connections: the XFRM interface or VTI device a connection
 * names (interface = NAME), made here, or used as found.
 */
#define IFACE_MAX_ROUTES IKE_MAX_TS
/* The alias (ip link's "alias") of the devices xiked makes. */
#define IFACE_ALIAS "made by xiked"

struct xd_iface {
	unsigned refs; /* connections naming it */
	struct nl_sock *sk;
	char name[IFNAMSIZ];
	int ifindex;
	bool ours; /* made by us: removed with the connection */
	size_t n_routes;
	struct {
		uint8_t family, plen;
		uint8_t dst[16];
	} routes[IFACE_MAX_ROUTES];
};

/*
 * The ESP overhead an inner packet may meet, over every suite xike
 * negotiates: outer IP header, UDP encapsulation (NAT may appear later),
 * ESP header (SPI, sequence number), the longest IV (16, CBC), the
 * longest padding to a 16-byte block with its two trailer bytes (17), and
 * the longest ICV (32, HMAC-SHA-512-256).
 */
#define ESP_OVERHEAD(outer_ip) ((outer_ip) + 8 + 8 + 16 + 17 + 32)

/* The MTU of the device that holds `local`; 1500 if unknown. */
static uint32_t outer_mtu(struct nl_sock *sk, const struct xk_addr *local)
{
	struct nl_cache *addrs = NULL, *links = NULL;
	uint32_t mtu = 1500;
	int ifindex = 0;

	if (!local->family || rtnl_addr_alloc_cache(sk, &addrs) < 0)
		return mtu;
	for (struct nl_object *o = nl_cache_get_first(addrs); o && !ifindex;
	     o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;
		struct nl_addr *l = rtnl_addr_get_local(a);

		if (l && rtnl_addr_get_family(a) == af(local->family) &&
		    nl_addr_get_len(l) == xk_addr_len(local) &&
		    !memcmp(nl_addr_get_binary_addr(l), local->ip, xk_addr_len(local)))
			ifindex = rtnl_addr_get_ifindex(a);
	}
	nl_cache_free(addrs);
	if (ifindex && rtnl_link_alloc_cache(sk, AF_UNSPEC, &links) >= 0) {
		struct rtnl_link *l = rtnl_link_get(links, ifindex);

		if (l && rtnl_link_get_mtu(l))
			mtu = rtnl_link_get_mtu(l);
		rtnl_link_put(l);
		nl_cache_free(links);
	}
	return mtu;
}

/* What a kernel without the device's module answers, named. */
static const char *kind_missing(const char *kind)
{
	if (!strcmp(kind, "xfrm"))
		return "this kernel has no XFRM interfaces (CONFIG_XFRM_INTERFACE, module "
		       "xfrm_interface)";
	if (!strcmp(kind, "vti"))
		return "this kernel has no VTI devices (CONFIG_NET_IPVTI, module ip_vti)";
	return "this kernel has no IPv6 VTI devices (CONFIG_IPV6_VTI, module ip6_vti)";
}

static struct rtnl_link *make_link(const struct xd_iface_req *q, const char **kind)
{
	const struct xk_addr *l = q->local, *r = q->remote;
	int family = l->family ? l->family : r->family;
	struct rtnl_link *link;

	/* The keys travel in network order, as GRE's do. */
	if (q->tag_in->if_id) {
		*kind = "xfrm";
		link = rtnl_link_xfrmi_alloc();
		if (link)
			rtnl_link_xfrmi_set_if_id(link, q->tag_in->if_id);
	} else if (family == XK_AF_INET6) {
		*kind = "vti6";
		link = rtnl_link_ip6vti_alloc();
		if (link) {
			struct in6_addr a;

			rtnl_link_ip6vti_set_ikey(link, htonl(q->tag_in->mark));
			rtnl_link_ip6vti_set_okey(link, htonl(q->tag_out->mark));
			if (l->family) {
				memcpy(&a, l->ip, sizeof(a));
				rtnl_link_ip6vti_set_local(link, &a);
			}
			if (r->family) {
				memcpy(&a, r->ip, sizeof(a));
				rtnl_link_ip6vti_set_remote(link, &a);
			}
		}
	} else {
		*kind = "vti";
		link = rtnl_link_ipvti_alloc();
		if (link) {
			uint32_t a;

			rtnl_link_ipvti_set_ikey(link, htonl(q->tag_in->mark));
			rtnl_link_ipvti_set_okey(link, htonl(q->tag_out->mark));
			if (l->family) {
				memcpy(&a, l->ip, 4);
				rtnl_link_ipvti_set_local(link, a);
			}
			if (r->family) {
				memcpy(&a, r->ip, 4);
				rtnl_link_ipvti_set_remote(link, a);
			}
		}
	}
	return link;
}

static int ipv6_disable_policy(const char *name)
{
	char path[96];
	int fd, e = 0;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_policy", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, "1\n", 2) != 2)
		e = errno ? -errno : -EIO;
	close(fd);
	return e;
}

/* Make the device: named, with its MTU, up. */
static int iface_create(struct xd_iface *f, const struct xd_iface_req *q, char *err,
			size_t errlen)
{
	int family = q->local->family ? q->local->family : q->remote->family;
	uint32_t mtu = q->mtu;
	const char *kind = NULL;
	struct rtnl_link *link = make_link(q, &kind), *found = NULL, *change = NULL;
	int e;

	if (!mtu) {
		uint32_t outer = outer_mtu(f->sk, q->local);
		uint32_t over = ESP_OVERHEAD(family == XK_AF_INET6 ? 40 : 20);

		mtu = outer > over + 576 ? outer - over : 576;
	}
	if (!link) {
		snprintf(err, errlen, "%s: out of memory", q->name);
		return -ENOMEM;
	}
	rtnl_link_set_name(link, q->name);
	rtnl_link_set_mtu(link, mtu);
	/* Multicast: OSPF's hellos go to 224.0.0.5 through it. */
	rtnl_link_set_flags(link, IFF_UP | IFF_MULTICAST);
	e = rtnl_link_add(f->sk, link, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(link);
	if (e == -NLE_OPNOTSUPP) {
		snprintf(err, errlen, "%s: %s", q->name, kind_missing(kind));
		return -EOPNOTSUPP;
	}
	if (e < 0) {
		snprintf(err, errlen, "cannot create %s device %s: %s", kind, q->name,
			 nl_geterror(e));
		return -EIO;
	}
	f->ours = true;
	if (rtnl_link_get_kernel(f->sk, 0, q->name, &found) < 0) {
		snprintf(err, errlen, "%s vanished after it was made", q->name);
		return -ENODEV;
	}
	f->ifindex = rtnl_link_get_ifindex(found);
	/*
	 * A VTI device hands on decrypted packets without the mark: the
	 * device checked them against the marked policy already, and the
	 * unmarked input check would drop them.
	 */
	/*
	 * The alias marks it as ours for a start after kill -9.  Neither the
	 * alias nor the setting is taken when a device is made: a change.
	 */
	change = rtnl_link_alloc();
	e = change ? 0 : -NLE_NOMEM;
	if (change) {
		rtnl_link_set_ifalias(change, IFACE_ALIAS);
		if (!strcmp(kind, "vti"))
			e = rtnl_link_inet_set_conf(change, IPV4_DEVCONF_NOPOLICY /* disable_policy */, 1);
	}
	if (e >= 0)
		e = rtnl_link_change(f->sk, found, change, 0);
	if (e < 0)
		xk_warn("%s: cannot set its alias%s: %s", q->name,
			strcmp(kind, "vti") ? "" : " and disable_policy", nl_geterror(e));
	rtnl_link_put(change);
	if (!strcmp(kind, "vti6")) {
		/* IPv6 takes no device settings through rtnetlink: the sysctl. */
		e = ipv6_disable_policy(q->name);
		if (e < 0)
			xk_warn("%s: cannot set disable_policy: %s", q->name, strerror(-e));
	}
	rtnl_link_put(found);
	xk_notice("made %s device %s (index %d, mtu %u)", kind, q->name, f->ifindex, mtu);
	return 0;
}

/* Routes to the remote selectors through the device (not the wildcards). */
static void iface_routes(struct xd_iface *f, const struct xd_iface_req *q)
{
	char b[XK_TS_STRLEN];

	for (size_t i = 0; i < q->n_remote_ts && f->n_routes < IFACE_MAX_ROUTES; i++) {
		const struct xk_ts *ts = &q->remote_ts[i];
		int plen = xk_ts_prefix_len(ts), family = af(ts->family), e;
		struct rtnl_route *rt;
		struct rtnl_nexthop *nh;
		struct nl_addr *dst, *src = NULL;

		if (plen <= 0) {
			if (plen < 0)
				xk_warn("%s: no route to %s, which is no prefix", q->name,
					xk_ts_str(ts, b, sizeof(b)));
			continue;
		}
		/* A source only from selectors that name some: 0.0.0.0/0 holds 127.0.0.1. */
		for (size_t j = 0; j < q->n_local_ts && !src; j++)
			if (q->local_ts[j].family == ts->family &&
			    xk_ts_prefix_len(&q->local_ts[j]) != 0)
				src = local_in_sock(f->sk, &q->local_ts[j]);
		rt = rtnl_route_alloc();
		nh = rtnl_route_nh_alloc();
		dst = nl_addr_build(family, ts->lo, family == AF_INET ? 4 : 16);
		if (!rt || !nh || !dst) {
			rtnl_route_put(rt);
			rtnl_route_nh_free(nh);
			nl_addr_put(dst);
			nl_addr_put(src);
			continue;
		}
		nl_addr_set_prefixlen(dst, plen);
		rtnl_route_set_family(rt, (uint8_t)family);
		rtnl_route_set_table(rt, RT_TABLE_MAIN);
		rtnl_route_set_dst(rt, dst);
		rtnl_route_set_scope(rt, RT_SCOPE_LINK);
		if (src)
			rtnl_route_set_pref_src(rt, src);
		rtnl_route_nh_set_ifindex(nh, f->ifindex);
		rtnl_route_add_nexthop(rt, nh);
		e = rtnl_route_add(f->sk, rt, NLM_F_CREATE | NLM_F_REPLACE);
		if (e < 0) {
			xk_warn("%s: cannot add route to %s: %s", q->name, xk_ts_str(ts, b, sizeof(b)),
				nl_geterror(e));
		} else {
			f->routes[f->n_routes].family = (uint8_t)family;
			f->routes[f->n_routes].plen = (uint8_t)plen;
			memcpy(f->routes[f->n_routes].dst, ts->lo, 16);
			f->n_routes++;
		}
		nl_addr_put(dst);
		nl_addr_put(src);
		rtnl_route_put(rt);
	}
}

int xd_iface_up(const struct xd_iface_req *q, struct xd_iface **out, char *err, size_t errlen)
{
	struct xd_iface *f = calloc(1, sizeof(*f));
	struct rtnl_link *found = NULL;
	int e;

	*out = NULL;
	if (!f || !(f->sk = nl_socket_alloc()) || nl_connect(f->sk, NETLINK_ROUTE) < 0) {
		snprintf(err, errlen, "%s: cannot open a route netlink socket", q->name);
		e = -ENOMEM;
		goto fail;
	}
	snprintf(f->name, sizeof(f->name), "%s", q->name);
	/*
	 * One that is there already is the administrator's: used as it is;
	 * unless it carries our alias, left by a daemon killed with -9, which
	 * goes, to be made anew as the connection now says.
	 */
	if (rtnl_link_get_kernel(f->sk, 0, q->name, &found) == 0 && rtnl_link_get_ifalias(found) &&
	    !strcmp(rtnl_link_get_ifalias(found), IFACE_ALIAS)) {
		e = rtnl_link_delete(f->sk, found);
		rtnl_link_put(found);
		found = NULL;
		if (e < 0) {
			snprintf(err, errlen, "cannot remove the device %s left by an earlier run: %s",
				 q->name, nl_geterror(e));
			e = -EIO;
			goto fail;
		}
		xk_notice("removed the device %s an earlier run left", q->name);
		rtnl_link_get_kernel(f->sk, 0, q->name, &found);
	}
	if (found) {
		f->ifindex = rtnl_link_get_ifindex(found);
		rtnl_link_put(found);
		xk_notice("using the existing device %s (index %d), which stays when xiked goes",
			  q->name, f->ifindex);
	} else {
		e = iface_create(f, q, err, errlen);
		if (e < 0)
			goto fail;
	}
	if (q->routes)
		iface_routes(f, q);
	f->refs = 1;
	*out = f;
	return 0;
fail:
	xd_iface_down(f);
	return e;
}

struct xd_iface *xd_iface_hold(struct xd_iface *f)
{
	f->refs++;
	return f;
}

void xd_iface_down(struct xd_iface *f)
{
	if (!f || (f->refs > 1 && f->refs--))
		return;
	if (f->sk && f->ifindex && f->ours) {
		/* Its routes go with it. */
		struct rtnl_link *link = rtnl_link_alloc();
		int e = link ? 0 : -NLE_NOMEM;

		if (link) {
			rtnl_link_set_ifindex(link, f->ifindex);
			e = rtnl_link_delete(f->sk, link);
			rtnl_link_put(link);
		}
		if (e < 0 && e != -NLE_NODEV && e != -NLE_OBJ_NOTFOUND)
			xk_warn("cannot remove device %s: %s", f->name, nl_geterror(e));
		else
			xk_notice("removed device %s", f->name);
	} else if (f->sk && f->ifindex) {
		for (size_t i = 0; i < f->n_routes; i++) {
			struct rtnl_route *rt = rtnl_route_alloc();
			struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
			int family = f->routes[i].family;
			struct nl_addr *dst = nl_addr_build(family, f->routes[i].dst,
							    family == AF_INET ? 4 : 16);

			if (rt && nh && dst) {
				nl_addr_set_prefixlen(dst, f->routes[i].plen);
				rtnl_route_set_family(rt, (uint8_t)family);
				rtnl_route_set_table(rt, RT_TABLE_MAIN);
				rtnl_route_set_dst(rt, dst);
				/* Ours only: the one through this device. */
				rtnl_route_nh_set_ifindex(nh, f->ifindex);
				rtnl_route_add_nexthop(rt, nh);
				nh = NULL;
				rtnl_route_delete(f->sk, rt, 0);
			}
			rtnl_route_nh_free(nh);
			nl_addr_put(dst);
			rtnl_route_put(rt);
		}
	}
	if (f->sk)
		nl_socket_free(f->sk);
	free(f);
}

int xd_iface_index(const struct xd_iface *f)
{
	return f ? f->ifindex : 0;
}
