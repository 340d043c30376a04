/* SPDX-License-Identifier: ISC */
/*
 * IKE_SA_INIT (RFC 7296 section 1.2): SA, KE and nonces, with the COOKIE
 * (2.6) and INVALID_KE_PAYLOAD (1.2) retries and NAT detection (2.23).
 *
 *   Initiator                         Responder
 *   HDR, [N(COOKIE),] SAi1, KEi, Ni,
 *        N(NAT_D_SRC), N(NAT_D_DST) -->
 *                                 <-- HDR, SAr1, KEr, Nr, N(NAT_D_SRC), N(NAT_D_DST)
 *
 * The responder keeps no state until it has chosen a proposal, the KE group
 * matches, and (when under load) the cookie is valid.
 */
#include "ike/task.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/secret.h"
#include "ike/auth.h"
#include "ike/engine.h"
#include "ike/work.h"

/* How many COOKIE / INVALID_KE_PAYLOAD round trips an initiator accepts. */
#define INIT_MAX_RETRIES 4

struct task_init {
	struct ike_task t;
};

static uint16_t first_dh(const struct ike_conn *c)
{
	for (size_t i = 0; i < c->n_ike; i++)
		for (size_t j = 0; j < c->ike[i].n_xforms; j++)
			if (c->ike[i].xf[j].type == IKEV2_XF_DH)
				return c->ike[i].xf[j].id;
	return 0;
}

static bool offers_dh(const struct ike_conn *c, uint16_t group)
{
	for (size_t i = 0; i < c->n_ike; i++)
		for (size_t j = 0; j < c->ike[i].n_xforms; j++)
			if (c->ike[i].xf[j].type == IKEV2_XF_DH && c->ike[i].xf[j].id == group)
				return true;
	return false;
}

static void add_nat_notifies(struct ike_mb *mb, uint64_t spi_i, uint64_t spi_r,
			     const struct xk_addr *src, const struct xk_addr *dst, bool force_encap)
{
	uint8_t h[20];

	ike_nat_hash(spi_i, spi_r, src, h);
	/*
	 * encap = yes: a source hash that matches nothing makes the peer
	 * believe we are behind a NAT, so both ends use UDP encapsulation.
	 */
	if (force_encap)
		ike_random(h, sizeof(h));
	ike_mb_notify(mb, 0, NULL, 0, IKEV2_N_NAT_DETECTION_SOURCE_IP, h, sizeof(h));
	ike_nat_hash(spi_i, spi_r, dst, h);
	ike_mb_notify(mb, 0, NULL, 0, IKEV2_N_NAT_DETECTION_DESTINATION_IP, h, sizeof(h));
}

/*
 * Compare the peer's NAT_DETECTION notifies with what we see (2.23), hashed
 * with the SPIs as they stand in that message's header (SPIr is 0 in the
 * request):
 * their SOURCE hash is of the address they sent from, which we see as
 * `remote`; their DESTINATION hash is of the address they sent to, `local`.
 */
static void check_nat(struct ike_sa *sa, const struct ike_msg *msg)
{
	bool saw_src = false, src_match = false, dst_match = true;
	uint8_t h[20];

	for (size_t i = 0; i < msg->n_pl; i++) {
		struct ike_notify n;

		if (msg->pl[i].type != IKEV2_PL_NOTIFY || ike_pl_notify(&msg->pl[i], &n) < 0)
			continue;
		if (n.type == IKEV2_N_NAT_DETECTION_SOURCE_IP && n.len == 20) {
			saw_src = true;
			ike_nat_hash(msg->hdr.spi_i, msg->hdr.spi_r, &sa->remote, h);
			src_match |= memcmp(h, n.data, 20) == 0;
		} else if (n.type == IKEV2_N_NAT_DETECTION_DESTINATION_IP && n.len == 20) {
			ike_nat_hash(msg->hdr.spi_i, msg->hdr.spi_r, &sa->local, h);
			dst_match = memcmp(h, n.data, 20) == 0;
		}
	}
	/* A peer that does not do NAT detection gets no NAT-T from us either. */
	if (!saw_src)
		return;
	sa->nat_remote = !src_match;
	sa->nat_local = !dst_match || sa->conn->force_encap;
	/*
	 * A forced encapsulation (encap = yes, or userspace ESP without a raw
	 * ESP socket) is no NAT: say which it was.
	 */
	if (sa->nat_local || sa->nat_remote)
		xk_info("NAT detected conn=%s local=%s remote=%s", sa->conn->name,
			!dst_match ? "behind-nat" : sa->nat_local ? "encap-forced" : "direct",
			sa->nat_remote ? "behind-nat" : "direct");
}

/* ---- initiator ---- */

static int init_build(struct ike_task *t, struct ike_sa *sa, struct ike_mb *mb)
{
	uint8_t pub[1024];
	size_t publen = sizeof(pub);

	(void)t;
	if (!sa->hs->dh_group)
		sa->hs->dh_group = first_dh(sa->conn);
	if (!sa->hs->dh || ike_dh_group(sa->hs->dh) != sa->hs->dh_group) {
		ike_dh_free(sa->hs->dh);
		sa->hs->dh = ike_dh_new(sa->hs->dh_group);
		if (!sa->hs->dh)
			return -ENOTSUP;
	}
	if (!sa->hs->ni_len) {
		sa->hs->ni_len = IKEV2_NONCE_LEN;
		if (ike_nonce(sa->eng, sa->hs->ni, sa->hs->ni_len) < 0)
			return -EIO;
	}
	if (ike_dh_public(sa->hs->dh, pub, &publen) < 0)
		return -EIO;
	/* Section 2.6: the cookie goes first. */
	if (sa->hs->cookie_len)
		ike_mb_notify(mb, 0, NULL, 0, IKEV2_N_COOKIE, sa->hs->cookie, sa->hs->cookie_len);
	ike_mb_sa(mb, sa->conn->ike, sa->conn->n_ike);
	ike_mb_ke(mb, sa->hs->dh_group, pub, publen);
	ike_mb_nonce(mb, sa->hs->ni, sa->hs->ni_len);
	add_nat_notifies(mb, sa->spi_i, 0, &sa->local, &sa->remote, sa->conn->force_encap);
	auth_hashes_add(mb);
	/* RFC 7383 section 2.3: offered in IKE_SA_INIT, empty. */
	if (sa->conn->fragmentation)
		ike_mb_notify(mb, 0, NULL, 0, IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0);
	ike_sa_set_state(sa, IKE_S_INIT_SENT);
	return 0;
}

/*
 * Section 2.21.1: an answer to IKE_SA_INIT is unauthenticated, so one that
 * cannot be acted on (malformed, not what we offered, a bogus COOKIE or
 * INVALID_KE_PAYLOAD) may be anyone's: it is counted and ignored, and the
 * request stays out for the real answer.
 */
static enum ike_task_result init_ignore(struct ike_sa *sa, const char *why)
{
	ike_stats_mut(sa->eng)->rx_malformed++;
	xk_notice("IKE_SA_INIT answer ignored conn=%s: %s", sa->conn->name, why);
	return IKE_TASK_IGNORE;
}

/*
 * An error notify: acted on only once the responder says it again to a
 * retransmission of our request (any one of the notifies would do for a
 * spoofer, but not a second time unless it sees our requests); until then,
 * and should the retransmissions give up first, it is remembered.
 */
static enum ike_task_result init_error(struct ike_sa *sa, uint16_t notify)
{
	if (sa->hs->init_error && sa->req_tries > sa->hs->init_error_tries) {
		xk_notice("IKE_SA_INIT failed conn=%s notify=%s: error notify from responder",
			  sa->conn->name, ikev2_notify_name(notify));
		sa->fail_notify = notify;
		return IKE_TASK_FAILED;
	}
	if (!sa->hs->init_error) {
		sa->hs->init_error = notify;
		sa->hs->init_error_tries = sa->req_tries;
		xk_info("IKE_SA_INIT answered with %s conn=%s: waiting for it again",
			ikev2_notify_name(notify), sa->conn->name);
	}
	return IKE_TASK_IGNORE;
}

static enum ike_task_result init_fail(struct ike_sa *sa, uint16_t notify, const char *why)
{
	xk_notice("IKE_SA_INIT failed conn=%s notify=%s: %s", sa->conn->name,
		  notify ? ikev2_notify_name(notify) : "none", why);
	sa->fail_notify = notify;
	return IKE_TASK_FAILED;
}

/*
 * The response checked up to the key exchange: what it chose, its KE and
 * its nonce.  IKE_TASK_DONE when the key exchange may go on; else what to
 * do with the response.  Run again on the same bytes when a pending key
 * exchange comes back (and so it must decide the same way).
 */
static enum ike_task_result init_check(struct ike_sa *sa, const struct ike_msg *msg,
				       struct ike_suite *suite, struct ike_ke *ke,
				       const uint8_t **nr, size_t *nrlen)
{
	struct ike_proposal prop;
	const struct ike_pl *pl_sa, *pl_ke, *pl_nr;
	struct ike_notify n;

	if (ike_msg_notify(msg, IKEV2_N_COOKIE, &n)) {
		/* Section 2.6: retry with the cookie, everything else the same. */
		if (n.len < 1 || n.len > IKEV2_COOKIE_MAX)
			return init_ignore(sa, "COOKIE of a wrong size");
		if (++sa->hs->init_retries > INIT_MAX_RETRIES)
			return init_fail(sa, 0, "repeated COOKIE");
		memcpy(sa->hs->cookie, n.data, n.len);
		sa->hs->cookie_len = (uint8_t)n.len;
		return IKE_TASK_RETRY;
	}
	if (ike_msg_notify(msg, IKEV2_N_INVALID_KE_PAYLOAD, &n)) {
		uint16_t group = n.len == 2 ? get_be16(n.data) : 0;

		/* Section 1.2: retry with the group the responder asked for. */
		if (!group || group == sa->hs->dh_group || !offers_dh(sa->conn, group))
			return init_ignore(sa, "INVALID_KE_PAYLOAD for a group we did not offer");
		if (++sa->hs->init_retries > INIT_MAX_RETRIES)
			return init_fail(sa, IKEV2_N_INVALID_KE_PAYLOAD, "repeated INVALID_KE_PAYLOAD");
		xk_info("peer asks for DH group %s conn=%s", ikev2_xform_name(IKEV2_XF_DH, group),
			sa->conn->name);
		sa->hs->dh_group = group;
		return IKE_TASK_RETRY;
	}
	for (size_t i = 0; i < msg->n_pl; i++) {
		if (msg->pl[i].type == IKEV2_PL_NOTIFY && ike_pl_notify(&msg->pl[i], &n) == 0 &&
		    n.type <= IKEV2_N_ERROR_MAX)
			return init_error(sa, n.type);
	}

	pl_sa = ike_msg_find(msg, IKEV2_PL_SA);
	pl_ke = ike_msg_find(msg, IKEV2_PL_KE);
	pl_nr = ike_msg_find(msg, IKEV2_PL_NONCE);
	/* A response must carry exactly one proposal, a KE and a nonce. */
	if (!pl_sa || !pl_ke || !pl_nr || ike_pl_sa_one(pl_sa, &prop) < 0 ||
	    ike_pl_ke(pl_ke, ke) < 0 || ike_pl_nonce(pl_nr, nr, nrlen) < 0 ||
	    msg->hdr.spi_r == 0)
		return init_ignore(sa, "malformed");
	if (ike_msg_count(msg, IKEV2_PL_SA) != 1 || ike_msg_count(msg, IKEV2_PL_KE) != 1)
		return init_ignore(sa, "duplicate payloads");
	if (ike_proposal_check_reply(sa->conn->ike, sa->conn->n_ike, &prop, false, suite) < 0)
		return init_ignore(sa, "a proposal we did not offer");
	/* The chosen group is the one our KE used, and theirs uses it too. */
	if (suite->dh != sa->hs->dh_group || ke->group != sa->hs->dh_group)
		return init_ignore(sa, "KE group mismatch");
	return IKE_TASK_DONE;
}

/* The key exchange is done (w): take the responder's choices and the keys. */
static enum ike_task_result init_reply(struct ike_sa *sa, const struct ike_msg *msg,
				       struct ike_work *w, const struct ike_suite *suite,
				       const uint8_t *nr, size_t nrlen)
{
	struct ike_notify n;

	if (w->err < 0) {
		/* Anyone's answer (2.21.1): our private value waits for the next. */
		sa->hs->dh = w->dh;
		w->dh = NULL;
		return init_ignore(sa, "invalid KE public value");
	}
	sa->suite = *suite;
	sa->spi_r = msg->hdr.spi_r;
	memcpy(sa->hs->nr, nr, nrlen);
	sa->hs->nr_len = (uint16_t)nrlen;
	check_nat(sa, msg);
	/* RFC 7383 section 2.3: used only if the responder answered the offer. */
	sa->frag = sa->conn->fragmentation &&
		   ike_msg_notify(msg, IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED, &n);
	/* RFC 6023 section 3: a childless IKE_AUTH only to a responder that announced it. */
	sa->childless = !ike_cfg(sa->eng)->no_childless &&
			ike_msg_notify(msg, IKEV2_N_CHILDLESS_IKEV2_SUPPORTED, &n);
	auth_init_keep(sa, msg);
	sa->keys = w->keys;
	sa->keys_ready = true;
	/* The private value has done its work: it goes with w. */
	ike_dh_free(sa->hs->dh);
	sa->hs->dh = NULL;
	ike_pkt_set(&sa->hs->init_req, sa->req.buf, sa->req.len);
	ike_pkt_set(&sa->hs->init_resp, msg->raw, msg->raw_len);
	if (!sa->hs->init_req.buf || !sa->hs->init_resp.buf)
		return IKE_TASK_FAILED;
	/* Section 2.23: once a NAT is seen, the rest goes over the NAT-T port. */
	if (sa->nat_local || sa->nat_remote) {
		sa->local.port = ike_cfg(sa->eng)->nat_port;
		sa->remote.port = ike_cfg(sa->eng)->nat_port;
	}
	return IKE_TASK_DONE;
}

/* What SKEYSEED and the keys are made of (section 2.14), for the work. */
static void work_keys_in(struct ike_work *w, const struct ike_suite *suite, uint64_t spi_i,
			 uint64_t spi_r, const struct ike_hs *hs, const uint8_t *nr, size_t nrlen)
{
	w->want_keys = true;
	w->prf = suite->prf;
	w->a_len = suite->integ ? ike_integ_key_len(suite->integ) : 0;
	w->e_len = ike_encr_key_len(suite->encr, suite->encr_keybits);
	w->spi_i = spi_i;
	w->spi_r = spi_r;
	memcpy(w->ni, hs->ni, hs->ni_len);
	w->ni_len = hs->ni_len;
	memcpy(w->nr, nr, nrlen);
	w->nr_len = (uint16_t)nrlen;
}

static enum ike_task_result init_process(struct ike_task *t, struct ike_sa *sa,
					 const struct ike_msg *msg)
{
	struct ike_suite suite;
	struct ike_ke ke;
	const uint8_t *nr;
	size_t nrlen;
	struct ike_work *w;
	enum ike_task_result res;

	(void)t;
	res = init_check(sa, msg, &suite, &ke, &nr, &nrlen);
	if (res != IKE_TASK_DONE)
		return res;
	/* Our private value is here, unless a work computes with it. */
	if (!sa->hs->dh || ke.len > IKE_WORK_PUB_MAX)
		return init_ignore(sa, "invalid KE public value");
	w = ike_work_new(sa, IKE_WORK_DH, IKE_RESUME_INIT_REPLY);
	if (w && ike_work_async(sa->eng, IKE_WORK_DH)) {
		/* The response is read again when the work is back. */
		w->msg = malloc(msg->raw_len);
		if (w->msg) {
			memcpy(w->msg, msg->raw, msg->raw_len);
			w->msg_len = msg->raw_len;
		}
	}
	if (!w || (ike_work_async(sa->eng, IKE_WORK_DH) && !w->msg)) {
		ike_work_free(w);
		return init_ignore(sa, "out of memory");
	}
	w->group = sa->hs->dh_group;
	w->dh = sa->hs->dh;
	sa->hs->dh = NULL;
	memcpy(w->peer_pub, ke.data, ke.len);
	w->peer_len = ke.len;
	work_keys_in(w, &suite, sa->spi_i, msg->hdr.spi_r, sa->hs, nr, nrlen);
	if (ike_work_start(w))
		return IKE_TASK_PENDING;
	res = init_reply(sa, msg, w, &suite, nr, nrlen);
	ike_work_free(w);
	return res;
}

static void init_destroy(struct ike_task *t)
{
	free(t);
}

static const struct ike_task_ops init_ops = {
	.name = "ike_init",
	.exch = IKEV2_EXCH_IKE_SA_INIT,
	.build_i = init_build,
	.process_i = init_process,
	.destroy = init_destroy,
};

struct ike_task *task_init_new(void)
{
	struct task_init *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->t.ops = &init_ops;
	return &t->t;
}

void task_init_reply_resume(struct ike_sa *sa, struct ike_work *w)
{
	struct ike_suite suite;
	struct ike_msg msg;
	struct ike_ke ke;
	const uint8_t *nr;
	size_t nrlen;
	enum ike_task_result res;

	/* Only where it stopped: our IKE_SA_INIT out, its task at the head. */
	if (sa->state != IKE_S_INIT_SENT || !sa->hs || !sa->req_out || !sa->tasks ||
	    sa->tasks->ops != &init_ops || ike_msg_parse(&msg, w->msg, w->msg_len) < 0) {
		if (sa->hs && !sa->hs->dh) {
			sa->hs->dh = w->dh;
			w->dh = NULL;
		}
		return;
	}
	/* The same bytes as before the work went out: the same decision. */
	res = init_check(sa, &msg, &suite, &ke, &nr, &nrlen);
	if (res == IKE_TASK_DONE) {
		res = init_reply(sa, &msg, w, &suite, nr, nrlen);
	} else if (!sa->hs->dh) {
		sa->hs->dh = w->dh;
		w->dh = NULL;
	}
	ike_sa_task_result(sa, res);
}

/* ---- responder ---- */

/* An unencrypted response carrying one notify, for a stateless answer. */
static void respond_plain(struct ike_engine *e, const struct ike_msg *req, uint64_t spi_r,
			  const struct xk_addr *local, const struct xk_addr *remote,
			  uint16_t type, const uint8_t *data, size_t len)
{
	uint8_t buf[256];
	struct ike_mb mb;
	struct ike_hdr hdr = {
		.spi_i = req->hdr.spi_i,
		.spi_r = spi_r,
		.exch = IKEV2_EXCH_IKE_SA_INIT,
		.flags = IKEV2_FLAG_RESPONSE,
		.mid = 0,
	};
	int n;

	ike_mb_init(&mb, buf, sizeof(buf), &hdr);
	ike_mb_notify(&mb, 0, NULL, 0, type, data, len);
	n = ike_mb_finish(&mb);
	if (n > 0)
		ike_send_raw(e, local, remote, buf, (size_t)n);
}

static bool addr_matches(const struct xk_addr *cfg, const struct xk_addr *a)
{
	return !cfg->family || xk_addr_ip_eq(cfg, a);
}

void task_init_respond(struct ike_engine *e, const struct ike_msg *msg,
		       const struct xk_addr *local, const struct xk_addr *remote)
{
	struct ike_proposal *props = NULL;
	const struct ike_pl *pl_sa, *pl_ke, *pl_ni;
	struct ike_conn *conn = NULL;
	struct ike_suite suite;
	struct ike_notify n;
	struct ike_ke ke;
	struct ike_sa *sa;
	const uint8_t *ni;
	size_t nilen, chosen = 0;
	int nprops;
	struct ike_work *w;

	/* No more than init_max_len is kept per half-open SA. */
	if (ike_cfg(e)->init_max_len && msg->raw_len > ike_cfg(e)->init_max_len) {
		ike_stats_mut(e)->init_too_large++;
		return;
	}
	sa = ike_sa_find_peer(e, msg->hdr.spi_i, remote);
	if (sa) {
		/*
		 * Established: what IKE_SA_INIT needed is gone (a late duplicate,
		 * or a replay by anyone on the path), and so is the answer.
		 */
		if (!sa->hs) {
			ike_stats_mut(e)->rx_unexpected++;
			return;
		}
		/* A retransmission: the same response again, no new state (2.1). */
		if (sa->hs->init_req.buf && sa->hs->init_req.len == msg->raw_len &&
		    memcmp(sa->hs->init_req.buf, msg->raw, msg->raw_len) == 0 &&
		    sa->hs->init_resp.buf) {
			ike_stats_mut(e)->responses_resent++;
			ike_sa_send_raw(sa, sa->hs->init_resp.buf, sa->hs->init_resp.len);
		} else {
			ike_stats_mut(e)->rx_unexpected++;
		}
		return;
	}
	if (msg->unsupported_critical) {
		uint8_t t = msg->unsupported_critical;

		respond_plain(e, msg, 0, local, remote, IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD, &t, 1);
		ike_stats_mut(e)->rx_malformed++;
		return;
	}
	pl_sa = ike_msg_find(msg, IKEV2_PL_SA);
	pl_ke = ike_msg_find(msg, IKEV2_PL_KE);
	pl_ni = ike_msg_find(msg, IKEV2_PL_NONCE);
	/* Without SA, KE and Ni there is nothing to answer (and no SK yet). */
	if (!pl_sa || !pl_ke || !pl_ni || ike_pl_ke(pl_ke, &ke) < 0 ||
	    ike_pl_nonce(pl_ni, &ni, &nilen) < 0 || ike_msg_count(msg, IKEV2_PL_SA) != 1 ||
	    ike_msg_count(msg, IKEV2_PL_KE) != 1 || ike_msg_count(msg, IKEV2_PL_NONCE) != 1) {
		ike_stats_mut(e)->rx_malformed++;
		return;
	}

	/* Section 2.6: under load, no state before a valid cookie. */
	if (ike_cookie_required(e, remote)) {
		/* The cookie, if any, must be the first payload. */
		bool ok = msg->n_pl > 0 && msg->pl[0].type == IKEV2_PL_NOTIFY &&
			  ike_pl_notify(&msg->pl[0], &n) == 0 && n.type == IKEV2_N_COOKIE &&
			  ike_cookie_verify(e, n.data, n.len, ni, nilen, remote, msg->hdr.spi_i);

		if (!ok) {
			uint8_t cookie[IKEV2_COOKIE_MAX];
			size_t clen;

			ike_cookie_make(e, ike_cookie_version(e), ni, nilen, remote,
					msg->hdr.spi_i, cookie, &clen);
			respond_plain(e, msg, 0, local, remote, IKEV2_N_COOKIE, cookie, clen);
			ike_stats_mut(e)->cookies_sent++;
			return;
		}
	}
	/*
	 * Bounded state: beyond the limits nothing is made, and nothing said
	 * (the initiator's retransmission may find room).  A cookie proved
	 * only that the address answers, so the per-address limit holds for
	 * requests with a valid cookie too.
	 */
	if (ike_cfg(e)->half_open_max && ike_stats_mut(e)->half_open >= ike_cfg(e)->half_open_max) {
		ike_stats_mut(e)->half_open_refused++;
		return;
	}
	if (ike_cfg(e)->half_open_max_ip &&
	    ike_half_open_from(e, remote) >= ike_cfg(e)->half_open_max_ip) {
		ike_stats_mut(e)->half_open_blocked++;
		return;
	}

	props = calloc(IKE_MAX_PROPOSALS, sizeof(*props));
	if (!props)
		return;
	nprops = ike_pl_sa(pl_sa, props, IKE_MAX_PROPOSALS);
	if (nprops < 0) {
		ike_stats_mut(e)->rx_malformed++;
		goto out;
	}
	for (conn = ike_conn_first(e); conn; conn = conn->next) {
		if (!addr_matches(&conn->local, local) || !addr_matches(&conn->remote, remote))
			continue;
		if (ike_proposal_select(conn->ike, conn->n_ike, props, (size_t)nprops, ke.group,
					false, &suite, &chosen) == 0)
			break;
	}
	if (!conn) {
		xk_notice("IKE_SA_INIT from %s: no acceptable proposal",
			  xk_addr_str(remote, (char[64]){ 0 }, 64));
		respond_plain(e, msg, 0, local, remote, IKEV2_N_NO_PROPOSAL_CHOSEN, NULL, 0);
		ike_stats_mut(e)->handshakes_failed++;
		ike_emit_peer(e, IKE_EV_FAILED, NULL, remote, IKEV2_N_NO_PROPOSAL_CHOSEN,
			      "no acceptable IKE proposal");
		goto out;
	}
	if (suite.dh != ke.group) {
		uint8_t g[2];

		/* Section 1.2: tell the initiator which group to use; keep no state. */
		put_be16(g, suite.dh);
		respond_plain(e, msg, 0, local, remote, IKEV2_N_INVALID_KE_PAYLOAD, g, 2);
		ike_stats_mut(e)->invalid_ke_sent++;
		goto out;
	}

	sa = ike_sa_new(e, conn, false);
	if (!sa)
		goto out;
	sa->spi_i = msg->hdr.spi_i;
	sa->local = *local;
	sa->remote = *remote;
	sa->suite = suite;
	sa->hs->dh_group = suite.dh;
	sa->hs->prop_num = props[chosen].num;
	memcpy(sa->hs->ni, ni, nilen);
	sa->hs->ni_len = (uint16_t)nilen;
	sa->hs->nr_len = IKEV2_NONCE_LEN;
	if (ike_nonce(e, sa->hs->nr, sa->hs->nr_len) < 0) {
		ike_sa_kill(sa, 0, "no nonce");
		goto out;
	}
	check_nat(sa, msg);
	auth_init_keep(sa, msg);
	/* RFC 7383 section 2.3: answered only to an initiator that offered it. */
	sa->frag = conn->fragmentation &&
		   ike_msg_notify(msg, IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED, &(struct ike_notify){ 0 });
	/*
	 * RFC 6023 section 3: the responder announces that it takes an
	 * IKE_AUTH without a CHILD_SA; the initiator says nothing, it just
	 * sends one (or not).
	 */
	sa->childless = !ike_cfg(e)->no_childless;
	ike_pkt_set(&sa->hs->init_req, msg->raw, msg->raw_len);
	w = ike_work_new(sa, IKE_WORK_DH, IKE_RESUME_INIT_RESPOND);
	if (!sa->hs->init_req.buf || !w) {
		ike_work_free(w);
		ike_sa_kill(sa, 0, "out of memory");
		goto out;
	}
	/*
	 * Half-open, timed and found by its initiator's SPI from here on, also
	 * while its key exchange is pending: the limits and cookies count it,
	 * and a retransmission of the request finds it (and no answer yet).
	 */
	ike_sa_rehash_peer(sa);
	ike_sa_set_half_open(sa, true);
	sa->mid_expect = 1;
	sa->expire_ms = ike_now(e) + ike_cfg(e)->half_open_timeout_ms;
	ike_sa_schedule(sa);
	w->group = suite.dh;
	if (ke.len > sizeof(w->peer_pub)) {
		/* No group has a public value that long: not a valid one. */
		w->err = -EINVAL;
		task_init_respond_resume(sa, w);
		ike_work_free(w);
		goto out;
	}
	memcpy(w->peer_pub, ke.data, ke.len);
	w->peer_len = ke.len;
	work_keys_in(w, &suite, sa->spi_i, sa->spi_r, sa->hs, sa->hs->nr, sa->hs->nr_len);
	if (ike_work_start(w) == 0) {
		task_init_respond_resume(sa, w);
		ike_work_free(w);
	}
out:
	free(props);
}

void task_init_respond_resume(struct ike_sa *sa, struct ike_work *w)
{
	struct ike_engine *e = sa->eng;
	uint8_t buf[IKE_MSG_MAX];
	struct ike_proposal reply;
	struct ike_mb mb;
	struct ike_hdr hdr;
	int len;

	if (w->err < 0 || !sa->hs) {
		/* A bad public value: nothing worth keeping (2.21.1 allows silence). */
		if (w->err == -EINVAL)
			ike_stats_mut(e)->rx_malformed++;
		ike_sa_kill(sa, 0, w->err == -EINVAL ? "invalid KE payload" : "key derivation failed");
		return;
	}
	sa->keys = w->keys;
	sa->keys_ready = true;
	hdr = (struct ike_hdr){ .spi_i = sa->spi_i, .spi_r = sa->spi_r,
				.exch = IKEV2_EXCH_IKE_SA_INIT, .flags = IKEV2_FLAG_RESPONSE };
	ike_mb_init(&mb, buf, sizeof(buf), &hdr);
	ike_proposal_from_suite(&sa->suite, sa->hs->prop_num, &reply);
	ike_mb_sa(&mb, &reply, 1);
	ike_mb_ke(&mb, sa->suite.dh, w->pub, w->pub_len);
	ike_mb_nonce(&mb, sa->hs->nr, sa->hs->nr_len);
	add_nat_notifies(&mb, sa->spi_i, sa->spi_r, &sa->local, &sa->remote,
			 sa->conn->force_encap);
	auth_hashes_add(&mb);
	auth_certreq_init(e, &sa->local, &sa->remote, &mb);
	if (sa->frag)
		ike_mb_notify(&mb, 0, NULL, 0, IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0);
	if (sa->childless)
		ike_mb_notify(&mb, 0, NULL, 0, IKEV2_N_CHILDLESS_IKEV2_SUPPORTED, NULL, 0);
	len = ike_mb_finish(&mb);
	if (len < 0) {
		ike_sa_kill(sa, 0, "response too large");
		return;
	}
	ike_pkt_set(&sa->hs->init_resp, buf, (size_t)len);
	if (!sa->hs->init_resp.buf) {
		ike_sa_kill(sa, 0, "out of memory");
		return;
	}
	ike_sa_set_state(sa, IKE_S_INIT_DONE);
	ike_sa_send_raw(sa, buf, (size_t)len);
}
