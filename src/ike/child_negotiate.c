/* SPDX-License-Identifier: ISC */
/*
 * What a CHILD_SA is made of, as the exchanges negotiate it: proposals
 * with our SPI, traffic selectors and their narrowing (RFC 7296 section
 * 2.9), the mode, and the payloads that carry them.
 */
#include "ike/child.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ike/engine.h"

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
		c->cfg = like->cfg;
		c->mode = like->mode;
		return child_set_ts(c, like->local_ts, like->n_local_ts, like->remote_ts,
				    like->n_remote_ts);
	}
	nl = child_local_ts(sa, child_cfg(c), l);
	nr = child_remote_ts(sa, child_cfg(c), r);
	c->mode = child_cfg(c)->mode;
	return child_set_ts(c, l, nl, r, nr);
}

int conn_child_find(const struct ike_conn *conn, const char *name)
{
	for (size_t i = 0; i < conn->n_child; i++)
		if (!strcmp(conn->child[i].name, name))
			return (int)i;
	return -1;
}

size_t child_proposals(const struct ike_cconf *cc, uint32_t spi_in, bool keep_dh,
		       struct ike_proposal *out, size_t max)
{
	size_t n = cc->n_esp < max ? cc->n_esp : max;

	for (size_t i = 0; i < n; i++) {
		struct ike_proposal *p = &out[i];
		size_t k = 0;

		*p = cc->esp[i];
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

size_t child_local_ts(const struct ike_sa *sa, const struct ike_cconf *cc, struct xk_ts *out)
{
	if (cc->n_local_ts) {
		memcpy(out, cc->local_ts, cc->n_local_ts * sizeof(*out));
		return cc->n_local_ts;
	}
	xk_ts_from_addr(&sa->local, out);
	return 1;
}

size_t child_remote_ts(const struct ike_sa *sa, const struct ike_cconf *cc, struct xk_ts *out)
{
	if (cc->n_remote_ts) {
		memcpy(out, cc->remote_ts, cc->n_remote_ts * sizeof(*out));
		return cc->n_remote_ts;
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
	n_ours = child_proposals(child_cfg(c), c->spi_in, !no_dh, ours, IKE_MAX_PROPOSALS);
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
	n_mine = child_local_ts(sa, child_cfg(c), mine);
	if (!ts_within(tsi, (size_t)cnt, mine, n_mine))
		goto bad_ts;
	cnt_r = ike_pl_ts(pl_tsr, tsr, IKE_MAX_TS);
	if (cnt_r <= 0 || cnt_r > IKE_MAX_TS)
		goto bad_ts;
	n_mine = child_remote_ts(sa, child_cfg(c), mine);
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

/*
 * Section 2.9: narrow the request's TSi to what cc accepts as remote, its
 * TSr to what it accepts as local.  False if either comes out empty.
 */
static bool narrow_for(const struct ike_sa *sa, const struct ike_cconf *cc,
		       const struct xk_ts *tsi, size_t n_tsi, const struct xk_ts *tsr,
		       size_t n_tsr, struct xk_ts *local, uint8_t *n_local, struct xk_ts *remote,
		       uint8_t *n_remote)
{
	struct xk_ts ours[IKE_MAX_TS];
	size_t n_ours;

	n_ours = child_remote_ts(sa, cc, ours);
	if (!child_narrow(ours, n_ours, tsi, n_tsi, remote, n_remote))
		return false;
	n_ours = child_local_ts(sa, cc, ours);
	return child_narrow(ours, n_ours, tsr, n_tsr, local, n_local);
}

int child_cfg_for_ts(const struct ike_sa *sa, const struct ike_conn *conn,
		     const struct ike_msg *req)
{
	const struct ike_pl *pl_tsi = ike_msg_find(req, IKEV2_PL_TSI);
	const struct ike_pl *pl_tsr = ike_msg_find(req, IKEV2_PL_TSR);
	struct xk_ts tsi[IKE_MAX_TS], tsr[IKE_MAX_TS], local[IKE_MAX_TS], remote[IKE_MAX_TS];
	uint8_t n_local, n_remote;
	int ni, nr;

	if (!pl_tsi || !pl_tsr)
		return -1;
	ni = ike_pl_ts(pl_tsi, tsi, IKE_MAX_TS);
	nr = ike_pl_ts(pl_tsr, tsr, IKE_MAX_TS);
	if (ni <= 0 || nr <= 0)
		return -1;
	for (size_t i = 0; i < conn->n_child; i++)
		if (narrow_for(sa, &conn->child[i], tsi, ni > IKE_MAX_TS ? IKE_MAX_TS : (size_t)ni,
			       tsr, nr > IKE_MAX_TS ? IKE_MAX_TS : (size_t)nr, local, &n_local,
			       remote, &n_remote))
			return (int)i;
	return -1;
}

uint16_t child_negotiate(struct ike_sa *sa, struct ike_child *c, const struct ike_msg *req,
			 bool no_dh, uint16_t ke_group, uint8_t *prop_num, bool any_cfg)
{
	const struct ike_pl *pl_sa = ike_msg_find(req, IKEV2_PL_SA);
	const struct ike_pl *pl_tsi = ike_msg_find(req, IKEV2_PL_TSI);
	const struct ike_pl *pl_tsr = ike_msg_find(req, IKEV2_PL_TSR);
	const struct ike_cconf *cc;
	struct ike_proposal *props;
	struct xk_ts tsi[IKE_MAX_TS], tsr[IKE_MAX_TS], local[IKE_MAX_TS], remote[IKE_MAX_TS];
	struct ike_notify n;
	uint8_t n_local = 0, n_remote = 0;
	size_t chosen, n_tsi, n_tsr;
	int nprops, cnt;
	bool fit = false;
	uint16_t notify = 0;

	/* Section 1.3: SA, TSi and TSr are required. */
	if (!pl_sa || !pl_tsi || !pl_tsr)
		return IKEV2_N_INVALID_SYNTAX;
	cnt = ike_pl_ts(pl_tsi, tsi, IKE_MAX_TS);
	if (cnt <= 0)
		return IKEV2_N_TS_UNACCEPTABLE;
	n_tsi = cnt > IKE_MAX_TS ? IKE_MAX_TS : (size_t)cnt;
	cnt = ike_pl_ts(pl_tsr, tsr, IKE_MAX_TS);
	if (cnt <= 0)
		return IKEV2_N_TS_UNACCEPTABLE;
	n_tsr = cnt > IKE_MAX_TS ? IKE_MAX_TS : (size_t)cnt;
	/*
	 * Several CHILD_SA configurations: the selectors the initiator asks
	 * for say which one it means (the first that they narrow to).
	 */
	if (any_cfg) {
		for (size_t i = 0; i < sa->conn->n_child && !fit; i++) {
			fit = narrow_for(sa, &sa->conn->child[i], tsi, n_tsi, tsr, n_tsr, local,
					 &n_local, remote, &n_remote);
			if (fit)
				c->cfg = (uint8_t)i;
		}
	} else {
		fit = narrow_for(sa, child_cfg(c), tsi, n_tsi, tsr, n_tsr, local, &n_local, remote,
				 &n_remote);
	}
	if (!fit)
		return IKEV2_N_TS_UNACCEPTABLE;
	cc = child_cfg(c);
	props = calloc(IKE_MAX_PROPOSALS, sizeof(*props));
	if (!props)
		return IKEV2_N_TEMPORARY_FAILURE;
	nprops = ike_pl_sa(pl_sa, props, IKE_MAX_PROPOSALS);
	if (nprops <= 0 || ike_proposal_select(cc->esp, cc->n_esp, props, (size_t)nprops,
					       ke_group, no_dh, &c->suite, &chosen) < 0) {
		notify = IKEV2_N_NO_PROPOSAL_CHOSEN;
		goto out;
	}
	if (!child_peer_spi_ok(sa, &props[chosen])) {
		notify = IKEV2_N_INVALID_SYNTAX;
		goto out;
	}
	*prop_num = props[chosen].num;
	c->spi_out = get_be32(props[chosen].spi);
	if (child_set_ts(c, local, n_local, remote, n_remote) < 0) {
		notify = IKEV2_N_TEMPORARY_FAILURE;
		goto out;
	}
	c->mode = cc->mode == XK_MODE_TRANSPORT &&
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

