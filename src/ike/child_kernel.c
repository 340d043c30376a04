/* SPDX-License-Identifier: ISC */
/*
 * The kernel's half of a CHILD_SA, through the kernel ops: KEYMAT (RFC 7296
 * section 2.17), the pair of ESP states and the policies, shared with a
 * predecessor or a reauthentication's twin so that no packet passes them
 * meanwhile; retirement, the outbound SA a rekey responder holds back,
 * and moves to a peer's new address.
 */
#include "ike/child.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/secret.h"
#include "ike/engine.h"

/* Lower values win in the kernel: more specific selectors get lower ones. */
static uint32_t policy_priority(const struct xk_ts *l, const struct xk_ts *r)
{
	int pl = xk_ts_prefix_len(l), pr = xk_ts_prefix_len(r);
	uint32_t prio = 0x2000;

	prio += (uint32_t)((pl < 0 ? 0 : 128 - pl) + (pr < 0 ? 0 : 128 - pr)) * 4;
	if (!l->proto)
		prio += 2;
	if (l->port_lo == 0 && l->port_hi == 0xffff && r->port_lo == 0 && r->port_hi == 0xffff)
		prio += 1;
	return prio;
}

static const struct xk_tag no_tag;

/* c's configured tag for its inbound or outbound side. */
static const struct xk_tag *child_tag(const struct ike_sa *sa, const struct ike_child *c,
				      bool in)
{
	if (!sa->conn)
		return &no_tag;
	return in ? &conn_child(sa->conn, c->cfg)->tag_in : &conn_child(sa->conn, c->cfg)->tag_out;
}

struct xk_sa_id child_sa_id(const struct ike_sa *sa, const struct ike_child *c, bool in)
{
	const struct xk_tag *t = child_tag(sa, c, in);

	return (struct xk_sa_id){
		.dst = in ? sa->local : sa->remote,
		.spi = in ? c->spi_in : c->spi_out,
		.proto = 50,
		.mark = t->mark,
		.mark_mask = t->mark_mask,
	};
}

static void make_policy(const struct ike_sa *sa, const struct ike_child *c,
			const struct xk_ts *l, const struct xk_ts *r, enum xk_dir dir,
			struct xk_policy *p)
{
	bool out = dir == XK_DIR_OUT;
	const struct xk_tag *t = child_tag(sa, c, !out);

	*p = (struct xk_policy){
		.src = out ? *l : *r,
		.dst = out ? *r : *l,
		.dir = dir,
		.priority = policy_priority(l, r),
		.mode = c->mode,
		.tmpl_src = out ? sa->local : sa->remote,
		.tmpl_dst = out ? sa->remote : sa->local,
		.reqid = c->reqid,
		.mark = t->mark,
		.mark_mask = t->mark_mask,
		.if_id = t->if_id,
	};
}

typedef int (*policy_fn)(void *ctx, const struct xk_policy *p);

/*
 * Call fn for every (local, remote) selector pair and direction, in order,
 * the first `limit` of them; stop at fn's first error.  Returns how many
 * were done, or that error.
 */
static int for_each_policy(struct ike_sa *sa, struct ike_child *c, unsigned limit,
			   policy_fn fn, void *ctx)
{
	enum xk_dir dirs[3] = { XK_DIR_OUT, XK_DIR_IN, XK_DIR_FWD };
	unsigned n_dirs = c->mode == XK_MODE_TUNNEL ? 3 : 2;
	unsigned done = 0;

	for (unsigned i = 0; i < c->n_local_ts; i++) {
		for (unsigned j = 0; j < c->n_remote_ts; j++) {
			for (unsigned d = 0; d < n_dirs; d++) {
				struct xk_policy p;
				int err;

				if (done == limit)
					return (int)done;
				make_policy(sa, c, &c->local_ts[i], &c->remote_ts[j], dirs[d], &p);
				err = fn(ctx, &p);
				if (err < 0)
					return err;
				done++;
			}
		}
	}
	return (int)done;
}

struct policy_op {
	const struct xk_kernel_ops *k;
	void *kctx;
	/* Resync: the kernel's policies with this CHILD_SA's reqid. */
	struct ike_kernel_pol *have;
	size_t n_have;
	unsigned restored;
};

static int policy_add(void *ctx, const struct xk_policy *p)
{
	struct policy_op *op = ctx;

	return op->k->add_policy(op->kctx, p);
}

static int policy_del(void *ctx, const struct xk_policy *p)
{
	struct policy_op *op = ctx;

	op->k->del_policy(op->kctx, p); /* one that is gone already is no error */
	return 0;
}

static int policies(struct ike_sa *sa, struct ike_child *c, bool add, unsigned limit)
{
	struct policy_op op;

	op.k = ike_kernel(sa->eng, &op.kctx);
	return for_each_policy(sa, c, limit, add ? policy_add : policy_del, &op);
}

/* The kernel's selector has one protocol for both sides (xfrm_sel_put). */
static uint8_t policy_proto(const struct xk_policy *p)
{
	return p->src.proto ? p->src.proto : p->dst.proto;
}

static bool ts_same(struct xk_ts a, struct xk_ts b)
{
	a.proto = b.proto = 0; /* compared once, by policy_proto */
	return xk_ts_contains(&a, &b) && xk_ts_contains(&b, &a);
}

static bool policy_same(const struct xk_policy *a, const struct xk_policy *b)
{
	return a->dir == b->dir && a->reqid == b->reqid && policy_proto(a) == policy_proto(b) &&
	       ts_same(a->src, b->src) && ts_same(a->dst, b->dst);
}

/* Resync: mark the kernel's copy of p as ours, or install p again. */
static int policy_sync(void *ctx, const struct xk_policy *p)
{
	struct policy_op *op = ctx;
	bool found = false;

	for (size_t i = 0; i < op->n_have; i++) {
		if (policy_same(&op->have[i].pol, p)) {
			op->have[i].ours = true;
			found = true;
		}
	}
	if (!found && op->k->add_policy(op->kctx, p) == 0)
		op->restored++;
	return 0;
}

unsigned child_sync_policies(struct ike_sa *sa, struct ike_child *c, struct ike_kernel_pol *have,
			     size_t n_have)
{
	struct policy_op op = { .have = have, .n_have = n_have };

	op.k = ike_kernel(sa->eng, &op.kctx);
	for_each_policy(sa, c, c->n_policies, policy_sync, &op);
	if (op.restored)
		xk_notice("CHILD_SA spi_in=%08x: %u missing policies installed again", c->spi_in,
			  op.restored);
	return op.restored;
}

static bool same_ts(const struct ike_child *a, const struct ike_child *b)
{
	if (!a->n_local_ts || !b->n_local_ts)
		return false;
	return a->n_local_ts == b->n_local_ts && a->n_remote_ts == b->n_remote_ts &&
	       !memcmp(a->local_ts, b->local_ts, a->n_local_ts * sizeof(a->local_ts[0])) &&
	       !memcmp(a->remote_ts, b->remote_ts, a->n_remote_ts * sizeof(a->remote_ts[0]));
}

bool child_same_shape(const struct ike_child *a, const struct ike_child *b)
{
	return a->mode == b->mode && same_ts(a, b);
}

bool child_duplicate(struct ike_sa *sa, const struct ike_child *c)
{
	for (const struct ike_child *o = sa->children; o; o = o->next)
		if (o != c && o->state == CHILD_S_INSTALLED && !o->retire_ms &&
		    o->succ != CHILD_SUCC_REPLACED && o->mode == c->mode && same_ts(o, c))
			return true;
	return false;
}

/*
 * CHILD_SAs of these two IKE SAs may share policies: same connection (by
 * name: a reload may have made it anew) and the same addresses.
 */
static bool same_peer(const struct ike_sa *a, const struct ike_sa *b)
{
	return a->conn && b->conn && !strcmp(a->conn->name, b->conn->name) &&
	       xk_addr_ip_eq(&a->local, &b->local) && xk_addr_ip_eq(&a->remote, &b->remote) &&
	       ike_id_eq(ike_sa_remote_id(a), ike_sa_remote_id(b));
}

/*
 * The CHILD_SA of another IKE SA with this peer that holds the policies
 * for c's selectors: the one a reauthentication replaces (section 2.8.3),
 * or one of a second IKE SA to the same peer.  c takes its reqid and its
 * policies over, as a rekey does, so they never leave the kernel.
 */
static struct ike_child *policy_owner(struct ike_sa *sa, const struct ike_child *c)
{
	/* Another IKE SA with this peer has its identity: look only there. */
	for (struct ike_sa *s = ike_sa_same_id(sa); s; s = s->id_next) {
		if (s == sa || s->state == IKE_S_DEAD || !same_peer(s, sa))
			continue;
		for (struct ike_child *o = s->children; o; o = o->next)
			if (o->n_policies && o->mode == c->mode && same_ts(o, c))
				return o;
	}
	return NULL;
}

/* How long a responder holds back the outbound SA of a CHILD_SA that took
 * policies over from another IKE SA's, unless that one goes first. */
#define CHILD_ADOPT_PENDING_MS 5000

/* A soft lifetime a little before the configured one, so both ends do not
 * rekey at the same moment (section 2.8.1 asks for such jitter). */
static uint64_t soft_secs(uint32_t rekey)
{
	uint32_t r = 0;

	if (!rekey)
		return 0;
	ike_random(&r, sizeof(r));
	return rekey - (rekey / 10 ? r % (rekey / 10) : 0);
}

int child_install(struct ike_sa *sa, struct ike_child *c, const struct child_nonces *nonces,
		  const uint8_t *gir, size_t girlen, struct ike_child *inherit)
{
	const struct ike_suite *s = &c->suite;
	size_t ekey = ike_encr_key_len(s->encr, s->encr_keybits);
	size_t akey = s->integ ? ike_integ_key_len(s->integ) : 0;
	size_t total = 2 * (ekey + akey);
	uint8_t keymat[4 * IKE_KEY_MAX];
	struct xk_sa in = { 0 }, out = { 0 };
	const struct xk_tag *tag_in = child_tag(sa, c, true), *tag_out = child_tag(sa, c, false);
	const struct ike_cconf *cc = conn_child(sa->conn, c->cfg);
	const uint8_t *k_i, *k_r;
	void *kctx;
	const struct xk_kernel_ops *k = ike_kernel(sa->eng, &kctx);
	int err, n;

	if (!ekey || ekey > XK_MAX_KEY || akey > XK_MAX_KEY || total > sizeof(keymat))
		return -ENOTSUP;
	/* Section 2.17: KEYMAT = prf+(SK_d, [g^ir |] Ni | Nr). */
	err = ike_child_keymat(sa->suite.prf, sa->keys.sk_d, sa->keys.prf_len, gir, girlen,
			       nonces->ni, nonces->ni_len, nonces->nr, nonces->nr_len, keymat,
			       total);
	if (err < 0)
		goto out;
	/* Initiator-to-responder keys come first, encryption before integrity. */
	k_i = keymat;
	k_r = keymat + ekey + akey;
	/*
	 * A rekeyed CHILD_SA takes over its predecessor's reqid and, when the
	 * selectors are the same, its policies: they never leave the kernel,
	 * so no packet slips past them during a rekey.  So does a CHILD_SA
	 * that replaces one of another IKE SA (a reauthentication).  Its
	 * responder holds the new outbound SA back like a rekey's, until the
	 * initiator can receive on it: once the old CHILD_SA is gone.
	 */
	if (!inherit) {
		inherit = policy_owner(sa, c);
		if (inherit && !nonces->we_initiated) {
			c->defer_out = true;
			c->pending_ms = ike_now(sa->eng) + CHILD_ADOPT_PENDING_MS;
		}
	}
	if (inherit)
		c->reqid = inherit->reqid;
	else
		c->reqid = cc->reqid ? cc->reqid : ike_alloc_reqid(sa->eng);
	c->encap = sa->nat_local || sa->nat_remote;

	in = (struct xk_sa){
		.src = sa->remote, .dst = sa->local, .spi = c->spi_in,
		.reqid = c->reqid, .mode = c->mode, .inbound = true,
		.enc = ike_xk_enc(s->encr), .enc_key_len = (uint16_t)ekey,
		.integ = ike_xk_integ(s->integ), .integ_key_len = (uint16_t)akey,
		.icv_len = (uint8_t)(s->integ ? ike_integ_icv_len(s->integ) : 16),
		.esn = s->esn == IKEV2_ESN_YES,
		.replay_window = cc->replay_window,
		.encap = c->encap,
		.life = { .soft_secs = soft_secs(cc->rekey_time_s),
			  .hard_secs = cc->life_time_s },
	};
	in.mark = tag_in->mark;
	in.mark_mask = tag_in->mark_mask;
	in.if_id = tag_in->if_id;
	out = in;
	out.src = sa->local;
	out.dst = sa->remote;
	out.spi = c->spi_out;
	out.inbound = false;
	out.mark = tag_out->mark;
	out.mark_mask = tag_out->mark_mask;
	out.if_id = tag_out->if_id;
	memcpy(in.enc_key, nonces->we_initiated ? k_r : k_i, ekey);
	memcpy(in.integ_key, (nonces->we_initiated ? k_r : k_i) + ekey, akey);
	memcpy(out.enc_key, nonces->we_initiated ? k_i : k_r, ekey);
	memcpy(out.integ_key, (nonces->we_initiated ? k_i : k_r) + ekey, akey);

	err = k->add_sa(kctx, &in);
	if (err < 0)
		goto out;
	c->sa_in = true;
	if (c->defer_out) {
		/* Held until the peer can receive on it (task_child.c). */
		c->pending_out = malloc(sizeof(out));
		if (!c->pending_out) {
			err = -ENOMEM;
			goto out;
		}
		memcpy(c->pending_out, &out, sizeof(out));
	} else {
		err = k->add_sa(kctx, &out);
		if (err < 0)
			goto out;
		c->sa_out = true;
	}
	if (inherit && same_ts(inherit, c)) {
		/*
		 * The policies stay where they are.  Ownership moves along with
		 * the rekey; in a collision the first rekeyed CHILD_SA took them
		 * already, and this one leaves them to it (child_uninstall hands
		 * them on should that one go first).
		 */
		c->n_policies = inherit->n_policies;
		inherit->n_policies = 0;
	} else {
		n = policies(sa, c, true, UINT32_MAX);
		if (n < 0) {
			err = n;
			goto out;
		}
		c->n_policies = (uint8_t)n;
	}
	child_set_state(c, CHILD_S_INSTALLED);
	ike_child_index(sa->eng, c);
	ike_stats_mut(sa->eng)->child_sa_active++;
	/* Printing the suite and selectors is a fair part of an install's own work. */
	if (xk_log_enabled(XK_LOG_INFO)) {
		char l[XK_TS_STRLEN], r[XK_TS_STRLEN], suite[96];

		xk_info("CHILD_SA up conn=%s spi_in=%08x spi_out=%08x reqid=%u mode=%s "
			"suite=%s local_ts=%s remote_ts=%s%s",
			sa->conn->name, c->spi_in, c->spi_out, c->reqid,
			c->mode == XK_MODE_TUNNEL ? "tunnel" : "transport",
			ike_suite_str(s, suite, sizeof(suite)),
			xk_ts_str(c->local_ts, l, sizeof(l)), xk_ts_str(c->remote_ts, r, sizeof(r)),
			c->encap ? " encap=yes" : "");
	}
	ike_emit(sa, IKE_EV_CHILD_UP, c, 0, NULL);
out:
	/* Every copy of the keys ends here. */
	xk_wipe(keymat, sizeof(keymat));
	xk_wipe(&in, sizeof(in));
	xk_wipe(&out, sizeof(out));
	if (err < 0) {
		xk_err("CHILD_SA install failed conn=%s spi_in=%08x err=%d", sa->conn->name,
		       c->spi_in, err);
		child_uninstall(c->sa, c);
	}
	return err;
}

static bool is_heir(const struct ike_child *o, const struct ike_child *c)
{
	return o != c && o->reqid == c->reqid && o->state != CHILD_S_DELETED && !o->retire_ms &&
	       o->mode == c->mode && same_ts(o, c);
}

/*
 * A CHILD_SA of the same lineage (same reqid and selectors) keeps c's
 * policies: one of the same IKE SA (a rekey), else one of another IKE SA
 * with this peer (a reauthentication, either way round).
 */
static struct ike_child *policy_heir(struct ike_sa *sa, const struct ike_child *c)
{
	for (struct ike_child *o = sa->children; o; o = o->next)
		if (is_heir(o, c))
			return o;
	for (struct ike_sa *s = ike_sa_same_id(sa); s; s = s->id_next) {
		if (s == sa || s->state == IKE_S_DEAD || !same_peer(s, sa))
			continue;
		for (struct ike_child *o = s->children; o; o = o->next)
			if (is_heir(o, c))
				return o;
	}
	return NULL;
}

/*
 * c goes: a CHILD_SA of another IKE SA with this peer that replaces it (a
 * reauthentication's, whose responder holds its outbound SA back) may
 * send now; the peer, which deletes c, can receive on it.  True if such a
 * successor has its outbound SA in the kernel now.
 */
static bool send_successors(struct ike_sa *sa, const struct ike_child *c)
{
	bool sending = false;

	for (struct ike_sa *s = ike_sa_same_id(sa); s; s = s->id_next) {
		if (s == sa || s->state == IKE_S_DEAD || !same_peer(s, sa))
			continue;
		for (struct ike_child *o = s->children; o; o = o->next) {
			if (o->reqid != c->reqid || !same_ts(o, c))
				continue;
			if (o->pending_out)
				child_send_pending(s, o);
			sending = sending || o->sa_out;
		}
	}
	return sending;
}

/*
 * The peer deletes this IKE SA, and its CHILD_SAs with it.  Where a
 * CHILD_SA of another IKE SA replaces one of them (reauthentication), the
 * successor takes the traffic over and the old outbound SA goes now,
 * before the response: the peer drops the old inbound SA as soon as it
 * reads that, so nothing may leave on the old SA after the response (as
 * the responder of a CHILD_SA rekey does on the DELETE of the old one).
 */
void child_switch_to_successors(struct ike_sa *sa)
{
	void *kctx;
	const struct xk_kernel_ops *k = ike_kernel(sa->eng, &kctx);

	for (struct ike_child *c = sa->children; c; c = c->next) {
		struct xk_sa_id id = child_sa_id(sa, c, false);

		if (c->state != CHILD_S_INSTALLED && c->state != CHILD_S_DELETING)
			continue;
		/* The successor's outbound SA first: the policies always find one. */
		if (!send_successors(sa, c) || !c->sa_out)
			continue;
		k->del_sa(kctx, &id);
		c->sa_out = false;
	}
}

/* Remove whatever of the CHILD_SA reached the kernel, including its SPI. */
void child_uninstall(struct ike_sa *sa, struct ike_child *c)
{
	void *kctx;
	const struct xk_kernel_ops *k = ike_kernel(sa->eng, &kctx);
	struct xk_sa_id id;

	ike_child_unindex(sa->eng, c);
	if (c->n_policies) {
		struct ike_child *heir = policy_heir(sa, c);

		if (heir)
			heir->n_policies = c->n_policies;
		else
			policies(sa, c, false, c->n_policies);
	}
	c->n_policies = 0;
	if (c->state == CHILD_S_INSTALLED || c->state == CHILD_S_DELETING)
		send_successors(sa, c);
	if (c->spi_out && c->sa_out) {
		id = child_sa_id(sa, c, false);
		k->del_sa(kctx, &id);
	}
	/* The inbound SPI was allocated even if no SA was added with it. */
	if (c->spi_in) {
		id = child_sa_id(sa, c, true);
		k->del_sa(kctx, &id);
	}
	if (c->state == CHILD_S_INSTALLED || c->state == CHILD_S_DELETING) {
		ike_stats_mut(sa->eng)->child_sa_active--;
		xk_info("CHILD_SA down conn=%s spi_in=%08x spi_out=%08x",
			sa->conn ? sa->conn->name : "", c->spi_in, c->spi_out);
		ike_emit(sa, IKE_EV_CHILD_DOWN, c, 0, NULL);
	}
	c->sa_in = c->sa_out = false;
	c->spi_in = 0;
	if (c->pending_out) {
		xk_free_secret(c->pending_out, sizeof(*c->pending_out));
		c->pending_out = NULL;
	}
	if (c->state != CHILD_S_DELETED)
		child_set_state(c, CHILD_S_DELETED);
}

/*
 * Make-before-break: a CHILD_SA replaced by a rekey stops sending at once
 * (its outbound SA goes), but keeps receiving for a few seconds, for the
 * packets the peer sent before it switched.
 */
void child_retire(struct ike_child *c, uint32_t linger_ms)
{
	struct ike_sa *sa = c->sa;
	void *kctx;
	const struct xk_kernel_ops *k = ike_kernel(sa->eng, &kctx);
	struct xk_sa_id id = child_sa_id(sa, c, false);

	if (c->retire_ms)
		return;
	if (c->sa_out)
		k->del_sa(kctx, &id);
	c->sa_out = false;
	c->retire_ms = ike_now(sa->eng) + linger_ms;
	if (c->state == CHILD_S_INSTALLED)
		child_set_state(c, CHILD_S_DELETING);
	ike_sa_schedule(sa);
}

void child_retire_replaced(struct ike_sa *old, struct ike_sa *by)
{
	for (struct ike_child *c = old->children; c; c = c->next) {
		if (c->state == CHILD_S_DELETED)
			continue;
		for (const struct ike_child *o = by->children; o; o = o->next) {
			if (o->state == CHILD_S_INSTALLED && o->reqid == c->reqid &&
			    o->mode == c->mode && same_ts(o, c)) {
				child_retire(c, CHILD_ADOPT_PENDING_MS);
				break;
			}
		}
	}
}

void child_move_all(struct ike_sa *sa, const struct xk_addr *old_remote)
{
	void *kctx;
	const struct xk_kernel_ops *k = ike_kernel(sa->eng, &kctx);

	if (!k->move_sa)
		return;
	for (struct ike_child *c = sa->children; c; c = c->next) {
		struct xk_sa_id in = child_sa_id(sa, c, true);
		struct xk_sa_id out = child_sa_id(sa, c, false);

		out.dst = *old_remote;
		if (c->sa_in && k->move_sa(kctx, &in, &sa->remote, &sa->local) < 0)
			xk_warn("cannot move SA %08x to the peer's new address", c->spi_in);
		if (c->sa_out && k->move_sa(kctx, &out, &sa->local, &sa->remote) < 0)
			xk_warn("cannot move SA %08x to the peer's new address", c->spi_out);
		if (c->pending_out) {
			c->pending_out->src = sa->local;
			c->pending_out->dst = sa->remote;
		}
	}
}

void child_send_pending(struct ike_sa *sa, struct ike_child *c)
{
	void *kctx;
	const struct xk_kernel_ops *k = ike_kernel(sa->eng, &kctx);

	if (!c->pending_out)
		return;
	if (k->add_sa(kctx, c->pending_out) == 0)
		c->sa_out = true;
	else
		xk_err("cannot install outbound SA %08x conn=%s", c->spi_out, sa->conn->name);
	xk_free_secret(c->pending_out, sizeof(*c->pending_out));
	c->pending_out = NULL;
	c->pending_ms = 0;
}

