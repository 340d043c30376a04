/* SPDX-License-Identifier: ISC */
/*
 * CHILD_SAs: proposals with our SPI, traffic selector narrowing (RFC 7296
 * section 2.9), KEYMAT (2.17) and installation through the kernel ops as a
 * pair of ESP states plus policies.
 */
#include "ike/child.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/secret.h"
#include "ike/engine.h"

static const char *const child_state_names[] = {
	[CHILD_S_CREATING] = "CREATING",
	[CHILD_S_INSTALLED] = "INSTALLED",
	[CHILD_S_DELETING] = "DELETING",
	[CHILD_S_DELETED] = "DELETED",
};

bool child_set_state(struct ike_child *c, enum child_state to)
{
	static const unsigned allowed[] = {
		[CHILD_S_CREATING] = 1u << CHILD_S_INSTALLED | 1u << CHILD_S_DELETED,
		[CHILD_S_INSTALLED] = 1u << CHILD_S_DELETING | 1u << CHILD_S_DELETED,
		[CHILD_S_DELETING] = 1u << CHILD_S_DELETED,
		[CHILD_S_DELETED] = 0,
	};

	if (!(allowed[c->state] & (1u << to))) {
		xk_err("illegal CHILD_SA transition %s -> %s spi_in=%08x",
		       child_state_names[c->state], child_state_names[to], c->spi_in);
		return false;
	}
	xk_debug("CHILD_SA %08x_i %08x_o %s -> %s", c->spi_in, c->spi_out,
		 child_state_names[c->state], child_state_names[to]);
	c->state = to;
	return true;
}

static const char *const child_succ_names[] = {
	[CHILD_SUCC_NONE] = "NONE",
	[CHILD_SUCC_REKEYING] = "REKEYING",
	[CHILD_SUCC_COLLIDED] = "COLLIDED",
	[CHILD_SUCC_REPLACED] = "REPLACED",
};

/*
 * REPLACED is reachable from all, and left only when what replaced it goes
 * before the peer could have had it (unreplace()).
 */
bool child_set_succ(struct ike_child *c, enum child_succ to)
{
	static const unsigned allowed[] = {
		[CHILD_SUCC_NONE] = 1u << CHILD_SUCC_REKEYING,
		/* The answer came (or the same exchange again: INVALID_KE_PAYLOAD). */
		[CHILD_SUCC_REKEYING] = 1u << CHILD_SUCC_NONE | 1u << CHILD_SUCC_COLLIDED,
		/* ... or the peer's CHILD_SA of the collision went first. */
		[CHILD_SUCC_COLLIDED] = 1u << CHILD_SUCC_NONE | 1u << CHILD_SUCC_REKEYING,
		[CHILD_SUCC_REPLACED] = 1u << CHILD_SUCC_NONE,
	};

	if (c->succ == to)
		return true;
	if (to != CHILD_SUCC_REPLACED && !(allowed[c->succ] & (1u << to))) {
		xk_err("illegal CHILD_SA succession %s -> %s spi_in=%08x",
		       child_succ_names[c->succ], child_succ_names[to], c->spi_in);
		return false;
	}
	xk_debug("CHILD_SA %08x_i %08x_o %s -> %s", c->spi_in, c->spi_out,
		 child_succ_names[c->succ], child_succ_names[to]);
	c->succ = to;
	return true;
}

static void child_link(struct ike_sa *sa, struct ike_child *c)
{
	c->sa = sa;
	c->next = sa->children;
	sa->children = c;
}

struct ike_child *child_new(struct ike_sa *sa)
{
	struct ike_child *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->state = CHILD_S_CREATING;
	child_link(sa, c);
	return c;
}

void child_hand_over(struct ike_sa *from, struct ike_sa *to)
{
	struct ike_child *c = from->children, *next;

	from->children = NULL;
	from->moved_to_spi = ike_sa_local_spi(to);
	/* Handed back (a collision settled the other way): no circle of moves. */
	if (to->moved_to_spi == ike_sa_local_spi(from))
		to->moved_to_spi = 0;
	for (; c; c = next) {
		next = c->next;
		/* One still CREATING stays with the exchange that makes it. */
		child_link(c->state == CHILD_S_CREATING ? from : to, c);
	}
}

struct ike_sa *child_home(struct ike_sa *sa)
{
	/* Each IKE SA rekey moves them once; a few in a row is already rare. */
	for (int hops = 0; sa->moved_to_spi && hops < 4; hops++) {
		struct ike_sa *to = ike_engine_find_sa(sa->eng, sa->moved_to_spi);

		if (!to || to->state == IKE_S_DEAD)
			break;
		sa = to;
	}
	return sa;
}

void child_follow_moves(struct ike_child *c)
{
	struct ike_sa *to = child_home(c->sa);
	struct ike_child **pp;

	if (to == c->sa)
		return;
	for (pp = &c->sa->children; *pp != c; pp = &(*pp)->next)
		;
	*pp = c->next;
	child_link(to, c);
}

void child_fill_info(const struct ike_child *c, struct ike_child_info *info)
{
	*info = (struct ike_child_info){
		.state = child_state_names[c->state],
		.spi_in = c->spi_in,
		.spi_out = c->spi_out,
		.reqid = c->reqid,
		.mode = c->mode,
		.suite = c->suite,
		.n_local_ts = c->n_local_ts,
		.n_remote_ts = c->n_remote_ts,
		.encap = c->encap,
	};
	if (c->n_local_ts)
		memcpy(info->local_ts, c->local_ts, c->n_local_ts * sizeof(*c->local_ts));
	if (c->n_remote_ts)
		memcpy(info->remote_ts, c->remote_ts, c->n_remote_ts * sizeof(*c->remote_ts));
}

/*
 * Nearly every CHILD_SA has one selector each way; a gateway holds many, so
 * they take the room they need, not IKE_MAX_TS each.
 */
int child_set_ts(struct ike_child *c, const struct xk_ts *local, size_t n_local,
		 const struct xk_ts *remote, size_t n_remote)
{
	struct xk_ts *ts;

	if (!n_local || !n_remote || n_local > IKE_MAX_TS || n_remote > IKE_MAX_TS)
		return -EINVAL;
	ts = malloc((n_local + n_remote) * sizeof(*ts));
	if (!ts)
		return -ENOMEM;
	memcpy(ts, local, n_local * sizeof(*ts));
	memcpy(ts + n_local, remote, n_remote * sizeof(*ts));
	free(c->local_ts);
	c->local_ts = ts;
	c->remote_ts = ts + n_local;
	c->n_local_ts = (uint8_t)n_local;
	c->n_remote_ts = (uint8_t)n_remote;
	return 0;
}

int child_init_like(struct ike_sa *sa, struct ike_child *c, const struct ike_child *like)
{
	struct xk_ts l[IKE_MAX_TS], r[IKE_MAX_TS];
	size_t nl, nr;

	if (like) {
		c->mode = like->mode;
		return child_set_ts(c, like->local_ts, like->n_local_ts, like->remote_ts,
				    like->n_remote_ts);
	}
	nl = child_local_ts(sa, l);
	nr = child_remote_ts(sa, r);
	c->mode = sa->conn->mode;
	return child_set_ts(c, l, nl, r, nr);
}

size_t child_proposals(const struct ike_sa *sa, uint32_t spi_in, bool keep_dh,
		       struct ike_proposal *out, size_t max)
{
	size_t n = sa->conn->n_esp < max ? sa->conn->n_esp : max;

	for (size_t i = 0; i < n; i++) {
		struct ike_proposal *p = &out[i];
		size_t k = 0;

		*p = sa->conn->esp[i];
		p->num = (uint8_t)(i + 1);
		p->spi_size = 4;
		put_be32(p->spi, spi_in);
		/* Section 1.2: no DH transform in IKE_AUTH's SA payload. */
		for (size_t j = 0; j < p->n_xforms; j++)
			if (keep_dh || p->xf[j].type != IKEV2_XF_DH)
				p->xf[k++] = p->xf[j];
		p->n_xforms = (uint8_t)k;
	}
	return n;
}

size_t child_local_ts(const struct ike_sa *sa, struct xk_ts *out)
{
	if (sa->conn->n_local_ts) {
		memcpy(out, sa->conn->local_ts, sa->conn->n_local_ts * sizeof(*out));
		return sa->conn->n_local_ts;
	}
	xk_ts_from_addr(&sa->local, out);
	return 1;
}

size_t child_remote_ts(const struct ike_sa *sa, struct xk_ts *out)
{
	if (sa->conn->n_remote_ts) {
		memcpy(out, sa->conn->remote_ts, sa->conn->n_remote_ts * sizeof(*out));
		return sa->conn->n_remote_ts;
	}
	xk_ts_from_addr(&sa->remote, out);
	return 1;
}

bool child_narrow(const struct xk_ts *ours, size_t n_ours,
		  const struct xk_ts *theirs, size_t n_theirs,
		  struct xk_ts *out, uint8_t *n_out)
{
	size_t n = 0;

	for (size_t i = 0; i < n_theirs; i++) {
		for (size_t j = 0; j < n_ours && n < IKE_MAX_TS; j++) {
			struct xk_ts r;
			bool dup = false;

			if (!xk_ts_intersect(&theirs[i], &ours[j], &r))
				continue;
			for (size_t k = 0; k < n && !dup; k++)
				dup = memcmp(&out[k], &r, sizeof(r)) == 0;
			if (!dup)
				out[n++] = r;
		}
	}
	*n_out = (uint8_t)n;
	return n > 0;
}

/* Every selector in got lies inside one of ours (2.9: narrow, never widen). */
static bool ts_within(const struct xk_ts *got, size_t n_got, const struct xk_ts *ours,
		      size_t n_ours)
{
	for (size_t i = 0; i < n_got; i++) {
		bool inside = false;

		for (size_t j = 0; j < n_ours && !inside; j++)
			inside = xk_ts_contains(&ours[j], &got[i]);
		if (!inside)
			return false;
	}
	return true;
}

int child_accept_reply(struct ike_sa *sa, struct ike_child *c, const struct ike_msg *msg,
		       bool no_dh, const char **why)
{
	const struct ike_pl *pl_sa = ike_msg_find(msg, IKEV2_PL_SA);
	const struct ike_pl *pl_tsi = ike_msg_find(msg, IKEV2_PL_TSI);
	const struct ike_pl *pl_tsr = ike_msg_find(msg, IKEV2_PL_TSR);
	struct ike_proposal *ours, prop;
	struct xk_ts mine[IKE_MAX_TS], tsi[IKE_MAX_TS], tsr[IKE_MAX_TS];
	struct ike_notify n;
	size_t n_ours, n_mine;
	int cnt, cnt_r, err = 0;

	if (!pl_sa || !pl_tsi || !pl_tsr || ike_pl_sa_one(pl_sa, &prop) < 0) {
		*why = "response lacks SA/TS payloads";
		return -EINVAL;
	}
	ours = calloc(IKE_MAX_PROPOSALS, sizeof(*ours));
	if (!ours) {
		*why = "out of memory";
		return -ENOMEM;
	}
	n_ours = child_proposals(sa, c->spi_in, !no_dh, ours, IKE_MAX_PROPOSALS);
	err = ike_proposal_check_reply(ours, n_ours, &prop, no_dh, &c->suite);
	free(ours);
	if (err < 0) {
		*why = "responder chose an ESP proposal we did not offer";
		return -EINVAL;
	}
	if (!child_peer_spi_ok(sa, &prop)) {
		*why = "responder's ESP SPI is reserved or already in use";
		return -EINVAL;
	}
	c->spi_out = get_be32(prop.spi);
	cnt = ike_pl_ts(pl_tsi, tsi, IKE_MAX_TS);
	if (cnt <= 0 || cnt > IKE_MAX_TS)
		goto bad_ts;
	n_mine = child_local_ts(sa, mine);
	if (!ts_within(tsi, (size_t)cnt, mine, n_mine))
		goto bad_ts;
	cnt_r = ike_pl_ts(pl_tsr, tsr, IKE_MAX_TS);
	if (cnt_r <= 0 || cnt_r > IKE_MAX_TS)
		goto bad_ts;
	n_mine = child_remote_ts(sa, mine);
	if (!ts_within(tsr, (size_t)cnt_r, mine, n_mine))
		goto bad_ts;
	if (child_set_ts(c, tsi, (size_t)cnt, tsr, (size_t)cnt_r) < 0) {
		*why = "out of memory";
		return -ENOMEM;
	}
	/* Section 1.3.1: transport mode only if the responder echoes the notify. */
	c->mode = c->mode == XK_MODE_TRANSPORT &&
			  ike_msg_notify(msg, IKEV2_N_USE_TRANSPORT_MODE, &n)
		  ? XK_MODE_TRANSPORT
		  : XK_MODE_TUNNEL;
	return 0;
bad_ts:
	*why = "responder's traffic selectors are not ours";
	return -ERANGE;
}

uint16_t child_negotiate(struct ike_sa *sa, struct ike_child *c, const struct ike_msg *req,
			 bool no_dh, uint16_t ke_group, uint8_t *prop_num)
{
	const struct ike_pl *pl_sa = ike_msg_find(req, IKEV2_PL_SA);
	const struct ike_pl *pl_tsi = ike_msg_find(req, IKEV2_PL_TSI);
	const struct ike_pl *pl_tsr = ike_msg_find(req, IKEV2_PL_TSR);
	struct ike_proposal *props;
	struct xk_ts theirs[IKE_MAX_TS], ours[IKE_MAX_TS], local[IKE_MAX_TS], remote[IKE_MAX_TS];
	struct ike_notify n;
	uint8_t n_local = 0, n_remote = 0;
	size_t chosen, n_ours;
	int nprops, cnt;
	uint16_t notify = 0;

	/* Section 1.3: SA, TSi and TSr are required. */
	if (!pl_sa || !pl_tsi || !pl_tsr)
		return IKEV2_N_INVALID_SYNTAX;
	props = calloc(IKE_MAX_PROPOSALS, sizeof(*props));
	if (!props)
		return IKEV2_N_TEMPORARY_FAILURE;
	nprops = ike_pl_sa(pl_sa, props, IKE_MAX_PROPOSALS);
	if (nprops <= 0 || ike_proposal_select(sa->conn->esp, sa->conn->n_esp, props,
					       (size_t)nprops, ke_group, no_dh, &c->suite,
					       &chosen) < 0) {
		notify = IKEV2_N_NO_PROPOSAL_CHOSEN;
		goto out;
	}
	if (!child_peer_spi_ok(sa, &props[chosen])) {
		notify = IKEV2_N_INVALID_SYNTAX;
		goto out;
	}
	*prop_num = props[chosen].num;
	c->spi_out = get_be32(props[chosen].spi);
	/* Section 2.9: narrow TSi to what we accept as remote, TSr as local. */
	cnt = ike_pl_ts(pl_tsi, theirs, IKE_MAX_TS);
	n_ours = child_remote_ts(sa, ours);
	if (cnt <= 0 ||
	    !child_narrow(ours, n_ours, theirs, cnt > IKE_MAX_TS ? IKE_MAX_TS : (size_t)cnt, remote,
			  &n_remote)) {
		notify = IKEV2_N_TS_UNACCEPTABLE;
		goto out;
	}
	cnt = ike_pl_ts(pl_tsr, theirs, IKE_MAX_TS);
	n_ours = child_local_ts(sa, ours);
	if (cnt <= 0 ||
	    !child_narrow(ours, n_ours, theirs, cnt > IKE_MAX_TS ? IKE_MAX_TS : (size_t)cnt, local,
			  &n_local)) {
		notify = IKEV2_N_TS_UNACCEPTABLE;
		goto out;
	}
	if (child_set_ts(c, local, n_local, remote, n_remote) < 0) {
		notify = IKEV2_N_TEMPORARY_FAILURE;
		goto out;
	}
	c->mode = sa->conn->mode == XK_MODE_TRANSPORT &&
			  ike_msg_notify(req, IKEV2_N_USE_TRANSPORT_MODE, &n)
		  ? XK_MODE_TRANSPORT
		  : XK_MODE_TUNNEL;
out:
	free(props);
	return notify;
}

void child_reply_payloads(struct ike_mb *mb, const struct ike_child *c, uint8_t prop_num)
{
	struct ike_proposal reply;

	if (c->mode == XK_MODE_TRANSPORT)
		ike_mb_notify(mb, 0, NULL, 0, IKEV2_N_USE_TRANSPORT_MODE, NULL, 0);
	ike_proposal_from_suite(&c->suite, prop_num, &reply);
	reply.spi_size = 4;
	put_be32(reply.spi, c->spi_in);
	ike_mb_sa(mb, &reply, 1);
}

void child_ts_payloads(struct ike_mb *mb, const struct ike_child *c, bool initiator)
{
	/* TSi is the initiator's side, whoever we are. */
	ike_mb_ts(mb, IKEV2_PL_TSI, initiator ? c->local_ts : c->remote_ts,
		  initiator ? c->n_local_ts : c->n_remote_ts);
	ike_mb_ts(mb, IKEV2_PL_TSR, initiator ? c->remote_ts : c->local_ts,
		  initiator ? c->n_remote_ts : c->n_local_ts);
}

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

static void make_policy(const struct ike_sa *sa, const struct ike_child *c,
			const struct xk_ts *l, const struct xk_ts *r, enum xk_dir dir,
			struct xk_policy *p)
{
	bool out = dir == XK_DIR_OUT;

	*p = (struct xk_policy){
		.src = out ? *l : *r,
		.dst = out ? *r : *l,
		.dir = dir,
		.priority = policy_priority(l, r),
		.mode = c->mode,
		.tmpl_src = out ? sa->local : sa->remote,
		.tmpl_dst = out ? sa->remote : sa->local,
		.reqid = c->reqid,
	};
}

/* Call fn for every (local, remote) selector pair and direction, in order. */
static int for_each_policy(struct ike_sa *sa, struct ike_child *c, bool add, unsigned limit)
{
	void *kctx;
	const struct xk_kernel_ops *k = ike_kernel(sa->eng, &kctx);
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
				err = add ? k->add_policy(kctx, &p) : k->del_policy(kctx, &p);
				if (err < 0 && add)
					return err;
				done++;
			}
		}
	}
	return (int)done;
}

static bool same_ts(const struct ike_child *a, const struct ike_child *b)
{
	if (!a->n_local_ts || !b->n_local_ts)
		return false;
	return a->n_local_ts == b->n_local_ts && a->n_remote_ts == b->n_remote_ts &&
	       !memcmp(a->local_ts, b->local_ts, a->n_local_ts * sizeof(a->local_ts[0])) &&
	       !memcmp(a->remote_ts, b->remote_ts, a->n_remote_ts * sizeof(a->remote_ts[0]));
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
		c->reqid = sa->conn->reqid ? sa->conn->reqid : ike_alloc_reqid(sa->eng);
	c->encap = sa->nat_local || sa->nat_remote;

	in = (struct xk_sa){
		.src = sa->remote, .dst = sa->local, .spi = c->spi_in,
		.reqid = c->reqid, .mode = c->mode, .inbound = true,
		.enc = ike_xk_enc(s->encr), .enc_key_len = (uint16_t)ekey,
		.integ = ike_xk_integ(s->integ), .integ_key_len = (uint16_t)akey,
		.icv_len = (uint8_t)(s->integ ? ike_integ_icv_len(s->integ) : 16),
		.esn = s->esn == IKEV2_ESN_YES,
		.replay_window = sa->conn->replay_window,
		.encap = c->encap,
		.life = { .soft_secs = soft_secs(sa->conn->rekey_time_s),
			  .hard_secs = sa->conn->life_time_s },
	};
	out = in;
	out.src = sa->local;
	out.dst = sa->remote;
	out.spi = c->spi_out;
	out.inbound = false;
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
		n = for_each_policy(sa, c, true, UINT32_MAX);
		if (n < 0) {
			err = n;
			goto out;
		}
		c->n_policies = (uint8_t)n;
	}
	child_set_state(c, CHILD_S_INSTALLED);
	ike_child_index(sa->eng, c);
	ike_stats_mut(sa->eng)->child_sa_active++;
	{
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
		struct xk_sa_id id = { .dst = sa->remote, .spi = c->spi_out, .proto = 50 };

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
			for_each_policy(sa, c, false, c->n_policies);
	}
	c->n_policies = 0;
	if (c->state == CHILD_S_INSTALLED || c->state == CHILD_S_DELETING)
		send_successors(sa, c);
	if (c->spi_out && c->sa_out) {
		id = (struct xk_sa_id){ .dst = sa->remote, .spi = c->spi_out, .proto = 50 };
		k->del_sa(kctx, &id);
	}
	/* The inbound SPI was allocated even if no SA was added with it. */
	if (c->spi_in) {
		id = (struct xk_sa_id){ .dst = sa->local, .spi = c->spi_in, .proto = 50 };
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
	struct xk_sa_id id = { .dst = sa->remote, .spi = c->spi_out, .proto = 50 };

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
		struct xk_sa_id in = { .dst = sa->local, .spi = c->spi_in, .proto = 50 };
		struct xk_sa_id out = { .dst = *old_remote, .spi = c->spi_out, .proto = 50 };

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

void child_rekey_later(struct ike_child *c)
{
	uint32_t r = 0;

	ike_random(&r, sizeof(r));
	c->retry_ms = ike_now(c->sa->eng) + 1000 + r % 4000;
	ike_sa_schedule(c->sa);
}

/*
 * The CHILD_SA that replaced `o` (we answered the peer's rekey) goes
 * before the peer deleted `o`: the peer may never have had it (the answer
 * lost, or deleted here first), so `o` is the live pair again; had the
 * peer had it, its DELETE of `o` is on its way and ends `o` too.
 */
static void unreplace(struct ike_child *o)
{
	if (o->succ == CHILD_SUCC_REPLACED && o->state == CHILD_S_INSTALLED && !o->retire_ms)
		child_set_succ(o, CHILD_SUCC_NONE);
}

void child_remove(struct ike_child *c)
{
	/* The list that holds it, whichever IKE SA it moved to meanwhile. */
	struct ike_sa *sa = c->sa;
	struct ike_child **pp;

	for (pp = &sa->children; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	/* What pointed to it lives in the same list (child_hand_over moves all). */
	for (struct ike_child *o = sa->children; o; o = o->next) {
		if (o->peer_rekey == c) {
			o->peer_rekey = NULL;
			if (o->succ == CHILD_SUCC_COLLIDED)
				child_set_succ(o, CHILD_SUCC_REKEYING);
		}
		if (o->replaced_by == c) {
			o->replaced_by = NULL;
			unreplace(o);
		}
	}
	child_uninstall(sa, c);
	free(c->coll_nonce);
	free(c->local_ts);
	free(c);
}

void child_free_all(struct ike_sa *sa)
{
	while (sa->children)
		child_remove(sa->children);
}

static struct ike_child *find(struct ike_sa *sa, uint32_t spi, bool out, unsigned states)
{
	for (struct ike_child *c = sa->children; c; c = c->next)
		if ((out ? c->spi_out : c->spi_in) == spi && (states & CHILD_IN(c->state)))
			return c;
	return NULL;
}

/* On sa, else on the IKE SAs its CHILD_SAs moved to (rekeys in a row are rare). */
static struct ike_child *find_moved(struct ike_sa *sa, uint32_t spi, bool out, unsigned states)
{
	struct ike_child *c = find(sa, spi, out, states);

	for (int hops = 0; !c && sa && sa->moved_to_spi && hops < 4; hops++) {
		sa = ike_engine_find_sa(sa->eng, sa->moved_to_spi);
		if (sa && sa->state != IKE_S_DEAD)
			c = find(sa, spi, out, states);
	}
	return c;
}

struct ike_child *child_find_in(struct ike_sa *sa, uint32_t spi_in, unsigned states)
{
	return find(sa, spi_in, false, states);
}

struct ike_child *child_find_out(struct ike_sa *sa, uint32_t spi_out, unsigned states)
{
	return find(sa, spi_out, true, states);
}

struct ike_child *child_find_moved(struct ike_sa *sa, uint32_t spi_in, unsigned states)
{
	return find_moved(sa, spi_in, false, states);
}

struct ike_child *child_find_out_moved(struct ike_sa *sa, uint32_t spi_out, unsigned states)
{
	struct ike_child *c = find_moved(sa, spi_out, true, states);

	/*
	 * Or on another IKE SA of the same connection and peer: while a rekey
	 * collision is being settled, the two ends may disagree for a moment
	 * on which IKE SA holds it.  (An SPI a peer sends on names only that
	 * peer's CHILD_SAs: it chose the SPI.)
	 */
	for (struct ike_sa *o = c ? NULL : ike_sa_same_id(sa); o && !c; o = o->id_next)
		if (o != sa && o->state != IKE_S_DEAD && o->conn == sa->conn &&
		    ike_id_eq(ike_sa_remote_id(o), ike_sa_remote_id(sa)))
			c = find(o, spi_out, true, states);
	return c;
}

bool child_peer_spi_ok(struct ike_sa *sa, const struct ike_proposal *p)
{
	uint32_t spi = get_be32(p->spi);

	/* Section 3.3.1: an ESP proposal carries the sender's 4-octet SPI. */
	if (p->spi_size != 4)
		return false;
	/* RFC 4303 section 2.1: 0 is never sent, 1 to 255 are reserved. */
	if (spi < 256)
		return false;
	/* One the peer already receives on would make its lookups ambiguous. */
	return !child_find_out(sa, spi, CHILD_ANY);
}
