/* SPDX-License-Identifier: ISC */
/*
 * CHILD_SAs: proposals with our SPI, traffic selector narrowing (RFC 7296
 * section 2.9), KEYMAT (2.17) and installation through the kernel ops as a
 * pair of ESP states plus policies.
 */
#include "engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/secret.h"

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

struct ike_child *child_new(struct ike_sa *sa)
{
	struct ike_child *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->state = CHILD_S_CREATING;
	c->next = sa->children;
	sa->children = c;
	return c;
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
	memcpy(info->local_ts, c->local_ts, sizeof(info->local_ts));
	memcpy(info->remote_ts, c->remote_ts, sizeof(info->remote_ts));
}

size_t child_proposals(const struct ike_sa *sa, uint32_t spi_in,
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
			if (p->xf[j].type != IKEV2_XF_DH)
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

static enum xk_enc map_enc(uint16_t encr)
{
	switch (encr) {
	case IKEV2_ENCR_AES_GCM_16: return XK_ENC_AES_GCM_16;
	case IKEV2_ENCR_CHACHA20_POLY1305: return XK_ENC_CHACHA20_POLY1305;
	case IKEV2_ENCR_AES_CBC: return XK_ENC_AES_CBC;
	}
	return XK_ENC_NONE;
}

static enum xk_integ map_integ(uint16_t integ)
{
	switch (integ) {
	case IKEV2_AUTH_HMAC_SHA2_256_128: return XK_INTEG_HMAC_SHA256_128;
	case IKEV2_AUTH_HMAC_SHA2_384_192: return XK_INTEG_HMAC_SHA384_192;
	case IKEV2_AUTH_HMAC_SHA2_512_256: return XK_INTEG_HMAC_SHA512_256;
	}
	return XK_INTEG_NONE;
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

int child_install(struct ike_sa *sa, struct ike_child *c,
		  const uint8_t *gir, size_t girlen)
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
			       sa->ni, sa->ni_len, sa->nr, sa->nr_len, keymat, total);
	if (err < 0)
		goto out;
	/* Initiator-to-responder keys come first, encryption before integrity. */
	k_i = keymat;
	k_r = keymat + ekey + akey;
	c->reqid = sa->conn->reqid ? sa->conn->reqid : ike_alloc_reqid(sa->eng);
	c->encap = sa->nat_local || sa->nat_remote;

	in = (struct xk_sa){
		.src = sa->remote, .dst = sa->local, .spi = c->spi_in,
		.reqid = c->reqid, .mode = c->mode, .inbound = true,
		.enc = map_enc(s->encr), .enc_key_len = (uint16_t)ekey,
		.integ = map_integ(s->integ), .integ_key_len = (uint16_t)akey,
		.icv_len = (uint8_t)(s->integ ? ike_integ_icv_len(s->integ) : 16),
		.esn = s->esn == IKEV2_ESN_YES,
		.replay_window = sa->conn->replay_window,
		.encap = c->encap,
		.life = { .hard_secs = sa->conn->life_time_s },
	};
	out = in;
	out.src = sa->local;
	out.dst = sa->remote;
	out.spi = c->spi_out;
	out.inbound = false;
	memcpy(in.enc_key, sa->initiator ? k_r : k_i, ekey);
	memcpy(in.integ_key, (sa->initiator ? k_r : k_i) + ekey, akey);
	memcpy(out.enc_key, sa->initiator ? k_i : k_r, ekey);
	memcpy(out.integ_key, (sa->initiator ? k_i : k_r) + ekey, akey);

	err = k->add_sa(kctx, &in);
	if (err < 0)
		goto out;
	c->sa_in = true;
	err = k->add_sa(kctx, &out);
	if (err < 0)
		goto out;
	c->sa_out = true;
	n = for_each_policy(sa, c, true, UINT32_MAX);
	if (n < 0) {
		err = n;
		goto out;
	}
	c->n_policies = (uint8_t)n;
	child_set_state(c, CHILD_S_INSTALLED);
	ike_stats_mut(sa->eng)->child_sa_active++;
	{
		char l[XK_TS_STRLEN], r[XK_TS_STRLEN], suite[96];

		xk_info("CHILD_SA up conn=%s spi_in=%08x spi_out=%08x reqid=%u mode=%s "
			"suite=%s local_ts=%s remote_ts=%s%s",
			sa->conn->name, c->spi_in, c->spi_out, c->reqid,
			c->mode == XK_MODE_TUNNEL ? "tunnel" : "transport",
			ike_suite_str(s, suite, sizeof(suite)),
			xk_ts_str(&c->local_ts[0], l, sizeof(l)),
			xk_ts_str(&c->remote_ts[0], r, sizeof(r)), c->encap ? " encap=yes" : "");
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
		child_uninstall(sa, c);
	}
	return err;
}

/* Remove whatever of the CHILD_SA reached the kernel, including its SPI. */
void child_uninstall(struct ike_sa *sa, struct ike_child *c)
{
	void *kctx;
	const struct xk_kernel_ops *k = ike_kernel(sa->eng, &kctx);
	struct xk_sa_id id;

	if (c->n_policies)
		for_each_policy(sa, c, false, c->n_policies);
	c->n_policies = 0;
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
	if (c->state != CHILD_S_DELETED)
		child_set_state(c, CHILD_S_DELETED);
}

void child_remove(struct ike_sa *sa, struct ike_child *c)
{
	struct ike_child **pp;

	for (pp = &sa->children; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	child_uninstall(sa, c);
	free(c);
}

void child_free_all(struct ike_sa *sa)
{
	while (sa->children)
		child_remove(sa, sa->children);
}

struct ike_child *child_find_in(struct ike_sa *sa, uint32_t spi_in)
{
	for (struct ike_child *c = sa->children; c; c = c->next)
		if (c->spi_in == spi_in && c->state != CHILD_S_DELETED)
			return c;
	return NULL;
}

struct ike_child *child_find_out(struct ike_sa *sa, uint32_t spi_out)
{
	for (struct ike_child *c = sa->children; c; c = c->next)
		if (c->spi_out == spi_out && c->state != CHILD_S_DELETED)
			return c;
	return NULL;
}
