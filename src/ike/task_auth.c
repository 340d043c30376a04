/* SPDX-License-Identifier: ISC */
/*
 * IKE_AUTH (RFC 7296 sections 1.2, 2.15), with a pre-shared key or a
 * signature (auth.c) on either side, and the first CHILD_SA it carries
 * (1.2, 2.9, 2.17).
 *
 *   Initiator                         Responder
 *   HDR, SK {IDi, [CERT+,] [CERTREQ,] [IDr,] AUTH, [N(USE_TRANSPORT_MODE),]
 *            SAi2, TSi, TSr} -->
 *             <-- HDR, SK {IDr, [CERT+,] AUTH, [N(USE_TRANSPORT_MODE),] SAr2, TSi, TSr}
 *
 * A failed CHILD_SA does not fail the IKE SA (section 1.2): the responder
 * answers with IDr, AUTH and the error notify instead of SAr2, TSi, TSr.
 */
#include "ike/task.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/secret.h"
#include "ike/auth.h"
#include "ike/child.h"
#include "ike/engine.h"
#include "ike/reauth.h"
#include "ike/work.h"

struct task_auth {
	struct ike_task t;
	/* The first CHILD_SA, by its inbound SPI while CREATING (never a pointer). */
	uint32_t child_spi;
	uint32_t carried; /* reauthentication: the old CHILD_SA made again */
};

static struct ike_child *own_child(struct ike_sa *sa, const struct task_auth *t)
{
	return t->child_spi ? child_find_in(sa, t->child_spi, CHILD_OWN) : NULL;
}

static bool id_matches(const struct ike_id *want, const struct ike_idp *got)
{
	return !want->type ||
	       (want->type == got->type && want->len == got->len &&
		memcmp(want->data, got->data, got->len) == 0);
}

/* The peer's ID payload becomes the SA's remote identity. */
static int set_peer_id(struct ike_sa *sa, const struct ike_idp *p)
{
	struct ike_id id = {.type = p->type};

	id.len = (uint8_t)(p->len > sizeof(id.data) ? sizeof(id.data) : p->len);
	memcpy(id.data, p->data, id.len);
	return ike_sa_set_remote_id(sa, &id);
}

static void auth_failed(struct ike_sa *sa, const char *why)
{
	char rid[300];

	ike_stats_mut(sa->eng)->auth_failures++;
	xk_notice("authentication failed conn=%s spi=%016llx_%016llx peer_id=%s: %s",
		  sa->conn ? sa->conn->name : "", (unsigned long long)sa->spi_i,
		  (unsigned long long)sa->spi_r, ike_id_str(ike_sa_remote_id(sa), rid, sizeof(rid)),
		  why);
	ike_emit(sa, IKE_EV_AUTH_FAILED, NULL, IKEV2_N_AUTHENTICATION_FAILED, why);
}

/* The first error notify in a message, 0 if none. */
static uint16_t error_notify(const struct ike_msg *msg)
{
	struct ike_notify n;

	for (size_t i = 0; i < msg->n_pl; i++)
		if (msg->pl[i].type == IKEV2_PL_NOTIFY && ike_pl_notify(&msg->pl[i], &n) == 0 &&
		    n.type <= IKEV2_N_ERROR_MAX)
			return n.type;
	return 0;
}

/* ---- initiator ---- */

static enum ike_task_result refused_tell(struct ike_sa *sa, struct task_auth *t);

/* IDr names the peer we want, unless remote-id is a pattern ("*.", "*@"). */
static bool idr_to_send(const struct ike_conn *c)
{
	return c->remote_id.type &&
	       !(c->remote_auth == IKE_AUTH_PUBKEY && c->remote_id.len > 1 &&
		 c->remote_id.data[0] == '*');
}

/*
 * Initiator: IKE_AUTH carries no CHILD_SA when no configuration of the
 * connection starts, the responder announced childless IKE SAs (RFC 6023)
 * and this is no reauthentication that carries a CHILD_SA over.
 */
static bool childless_auth(struct ike_sa *sa)
{
	struct ike_sa *old = ike_reauth_old(sa);

	return sa->auth_none && sa->childless && !(old && ike_reauth_first_child(old));
}

static int auth_build(struct ike_task *tt, struct ike_sa *sa, struct ike_mb *mb)
{
	struct task_auth *t = (struct task_auth *)tt;
	struct ike_proposal *props;
	uint8_t body[4 + 255], auth[AUTH_DATA_MAX], method;
	struct ike_id lid;
	size_t blen, alen, n;
	void *kctx;
	const struct xk_kernel_ops *k = ike_kernel(sa->eng, &kctx);
	struct ike_child *c;
	const char *why;
	int err;

	ike_sa_local_id(sa, &lid);
	blen = auth_id_body(&lid, body);
	err = auth_ours(sa, body, blen, &method, auth, &alen, &why);
	if (err == AUTH_PENDING) {
		/*
		 * Our signature is out (IKE_WORK_SIGN): the request goes when
		 * it is back.  Nothing else waits for us meanwhile, so the
		 * half-open timeout ends an SA whose work never comes.
		 */
		if (!sa->expire_ms)
			sa->expire_ms = ike_now(sa->eng) + ike_cfg(sa->eng)->half_open_timeout_ms;
		return AUTH_PENDING;
	}
	if (err < 0) {
		xk_notice("IKE_AUTH conn=%s: %s", sa->conn->name, why);
		return err;
	}
	c = own_child(sa, t);
	if (!c && !childless_auth(sa)) {
		struct ike_sa *old = ike_reauth_old(sa);
		const struct ike_child *like = old ? ike_reauth_first_child(old) : NULL;

		c = child_new(sa);
		if (!c) {
			err = -ENOMEM;
			goto out;
		}
		/* Section 2.8.3: the same CHILD_SA again, selectors and all. */
		if (like)
			t->carried = like->spi_in;
		c->cfg = sa->auth_cfg;
		err = child_init_like(sa, c, like);
		if (err == 0)
			err = k->alloc_spi(kctx, &sa->remote, &sa->local, &c->spi_in);
		if (err < 0) {
			child_remove(c);
			goto out;
		}
		t->child_spi = c->spi_in;
	}
	props = calloc(IKE_MAX_PROPOSALS, sizeof(*props));
	if (!props) {
		err = -ENOMEM;
		goto out;
	}
	/* Section 1.2: IDi, [CERT,] [CERTREQ,] [IDr,] AUTH. */
	ike_mb_id(mb, IKEV2_PL_IDI, lid.type, lid.data, lid.len);
	auth_certs_add(sa, mb, sa->hs->certreq_seen);
	auth_certreq_add(sa->conn, mb);
	if (idr_to_send(sa->conn))
		ike_mb_id(mb, IKEV2_PL_IDR, sa->conn->remote_id.type, sa->conn->remote_id.data,
			  sa->conn->remote_id.len);
	ike_mb_auth(mb, method, auth, alen);
	/*
	 * Section 2.4: a first contact lets the peer drop what it kept of us;
	 * a reauthentication is none (2.8.3: the old SA lives on a while).
	 */
	if (sa->succ != IKE_SUCC_REAUTH_NEW && !ike_sa_has_sibling(sa))
		ike_mb_notify(mb, 0, NULL, 0, IKEV2_N_INITIAL_CONTACT, NULL, 0);
	/* RFC 6023 section 3: a childless IKE_AUTH has no SA, TSi or TSr. */
	if (c) {
		if (c->mode == XK_MODE_TRANSPORT)
			ike_mb_notify(mb, 0, NULL, 0, IKEV2_N_USE_TRANSPORT_MODE, NULL, 0);
		n = child_proposals(child_cfg(c), c->spi_in, false, props, IKE_MAX_PROPOSALS);
		ike_mb_sa(mb, props, n);
		child_ts_payloads(mb, c, true);
	}
	free(props);
	ike_sa_set_state(sa, IKE_S_AUTH_SENT);
out:
	xk_wipe(auth, sizeof(auth));
	return err;
}

/* Section 1.2: a CHILD_SA that fails leaves the IKE SA standing. */
static void child_failed(struct ike_sa *sa, struct ike_child *c, uint16_t notify,
			 const char *why)
{
	xk_notice("CHILD_SA failed conn=%s notify=%s: %s", sa->conn->name,
		  notify ? ikev2_notify_name(notify) : "none", why);
	ike_emit(sa, IKE_EV_FAILED, c, notify, why);
	child_remove(c);
}

static void auth_child_process(struct ike_sa *sa, struct task_auth *t,
			       const struct ike_msg *msg)
{
	struct ike_child *c = own_child(sa, t);
	uint16_t err_n = error_notify(msg);
	const char *why = NULL;
	int err;

	t->child_spi = 0;
	if (!c)
		return;
	if (err_n) {
		child_failed(sa, c, err_n, "responder refused the CHILD_SA");
		return;
	}
	err = child_accept_reply(sa, c, msg, true, &why);
	if (err < 0) {
		child_failed(sa, c, err == -ERANGE ? IKEV2_N_TS_UNACCEPTABLE : 0, why);
		return;
	}
	if (child_install(sa, c,
			  &(struct child_nonces){sa->hs->ni, sa->hs->nr, sa->hs->ni_len,
						 sa->hs->nr_len, true},
			  NULL, 0, NULL) < 0)
		child_failed(sa, c, 0, "kernel refused the CHILD_SA");
}

static enum ike_task_result auth_process(struct ike_task *tt, struct ike_sa *sa,
					 const struct ike_msg *msg)
{
	struct task_auth *t = (struct task_auth *)tt;
	const struct ike_pl *pl_id = ike_msg_find(msg, IKEV2_PL_IDR);
	const struct ike_pl *pl_auth = ike_msg_find(msg, IKEV2_PL_AUTH);
	struct ike_idp id;
	struct ike_auth auth;
	uint16_t err_n = error_notify(msg);
	const char *why = NULL;
	int err;

	if (!pl_id || !pl_auth) {
		if (err_n == IKEV2_N_AUTHENTICATION_FAILED)
			auth_failed(sa, "peer rejected our authentication");
		sa->fail_notify = err_n;
		return IKE_TASK_FAILED;
	}
	if (ike_pl_id(pl_id, &id) < 0 || ike_pl_auth(pl_auth, &auth) < 0) {
		sa->fail_notify = IKEV2_N_INVALID_SYNTAX;
		return IKE_TASK_FAILED;
	}
	if (set_peer_id(sa, &id) < 0)
		return IKE_TASK_FAILED;
	err = auth_verify(sa, msg, &id, &auth, &why);
	/* An OCSP answer is asked for: the request stays out meanwhile. */
	if (err == AUTH_PENDING)
		return IKE_TASK_PENDING;
	if (err < 0) {
		auth_failed(sa, why);
		sa->fail_notify = IKEV2_N_AUTHENTICATION_FAILED;
		return refused_tell(sa, t);
	}
	ike_sa_established(sa, false);
	auth_child_process(sa, t, msg);
	ike_sa_drop_init(sa);
	if (sa->succ == IKE_SUCC_REAUTH_NEW)
		ike_reauth_established(sa, t->carried);
	return IKE_TASK_DONE;
}

static void auth_destroy(struct ike_task *t)
{
	free(t);
}

static const struct ike_task_ops auth_ops;

/* The OCSP answer is in: IKE_AUTH is processed again with it. */
static bool ocsp_keep(struct ike_sa *sa, const struct ike_work *w)
{
	static const char *const names[] = {
		[IKE_REVOCATION_GOOD] = "good",
		[IKE_REVOCATION_REVOKED] = "revoked",
		[IKE_REVOCATION_NONE] = "unknown",
	};
	enum ike_revocation_outcome o = ike_work_ocsp_outcome(w);
	char rid[300];

	if (!sa->hs)
		return false;
	sa->hs->ocsp_known = true;
	sa->hs->ocsp_outcome = o;
	xk_info("OCSP conn=%s peer_id=%s: %s%s%s", sa->conn ? sa->conn->name : "",
		ike_id_str(ike_sa_remote_id(sa), rid, sizeof(rid)), names[o],
		w->answered && w->ocsp_err < 0 ? ": no answer, " : "",
		w->answered && w->ocsp_err < 0 ? strerror(-w->ocsp_err) : "");
	return true;
}

/* What a work of IKE_AUTH brought, kept for the message processed again. */
static bool work_keep(struct ike_sa *sa, struct ike_work *w)
{
	return w->kind == IKE_WORK_OCSP ? ocsp_keep(sa, w) : auth_work_keep(sa, w);
}

void task_auth_reply_resume(struct ike_sa *sa, struct ike_work *w)
{
	struct ike_msg msg;

	/*
	 * Only where it stopped: our IKE_AUTH out, its task at the head.
	 * Else the answer is dropped; our request is resent, and the
	 * response that comes to it asks again.
	 */
	if (sa->state != IKE_S_AUTH_SENT || !sa->req_out || !sa->tasks ||
	    sa->tasks->ops != &auth_ops || w->hdr.mid != sa->mid_next ||
	    ike_work_msg(w, &msg) < 0 || !work_keep(sa, w))
		return;
	ike_sa_task_result(sa, auth_process(sa->tasks, sa, &msg));
}

/*
 * Our signature is back: IKE_AUTH goes out with it, if it is still the
 * request to send (else it is dropped; a request built later signs anew).
 */
void task_auth_sign_resume(struct ike_sa *sa, struct ike_work *w)
{
	if (sa->state != IKE_S_INIT_SENT || sa->req_out || !sa->tasks ||
	    sa->tasks->ops != &auth_ops || !auth_work_keep(sa, w))
		return;
	ike_sa_request_next(sa);
}

/*
 * Section 2.21.2: the responder thinks the SA is up, with the CHILD_SA
 * installed; an INFORMATIONAL with AUTHENTICATION_FAILED tells it to drop
 * them.  Its answer (or its silence) ends the SA here.
 */
static int refused_build(struct ike_task *t, struct ike_sa *sa, struct ike_mb *mb)
{
	(void)t;
	(void)sa;
	ike_mb_notify(mb, 0, NULL, 0, IKEV2_N_AUTHENTICATION_FAILED, NULL, 0);
	return 0;
}

static enum ike_task_result refused_process(struct ike_task *t, struct ike_sa *sa,
					    const struct ike_msg *msg)
{
	(void)t;
	(void)msg;
	sa->fail_notify = IKEV2_N_AUTHENTICATION_FAILED;
	return IKE_TASK_FAILED;
}

static const struct ike_task_ops refused_ops = {
	.name = "auth_refused",
	.exch = IKEV2_EXCH_INFORMATIONAL,
	.build_i = refused_build,
	.process_i = refused_process,
	.destroy = auth_destroy,
};

/* Our IKE_AUTH is done with; the refusal goes out next, before any other task. */
static enum ike_task_result refused_tell(struct ike_sa *sa, struct task_auth *t)
{
	struct ike_task *r = calloc(1, sizeof(*r));
	struct ike_child *c = own_child(sa, t);

	if (c)
		child_remove(c);
	t->child_spi = 0;
	if (!r)
		return IKE_TASK_FAILED;
	r->ops = &refused_ops;
	r->next = t->t.next;
	t->t.next = r;
	return IKE_TASK_DONE;
}

static const struct ike_task_ops auth_ops = {
	.name = "ike_auth",
	.exch = IKEV2_EXCH_IKE_AUTH,
	.build_i = auth_build,
	.process_i = auth_process,
	.destroy = auth_destroy,
};

struct ike_task *task_auth_new(void)
{
	struct task_auth *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->t.ops = &auth_ops;
	return &t->t;
}

/* ---- responder ---- */

void task_auth_respond_resume(struct ike_sa *sa, struct ike_work *w)
{
	struct ike_msg msg;

	/* Still unanswered: IKE_AUTH is the next request we take. */
	if (sa->state != IKE_S_INIT_DONE || w->hdr.mid != sa->mid_expect ||
	    ike_work_msg(w, &msg) < 0 || !work_keep(sa, w))
		return;
	ike_sa_request_resume(sa, &msg);
}

static bool addr_matches(const struct xk_addr *cfg, const struct xk_addr *a)
{
	return !cfg->family || xk_addr_ip_eq(cfg, a);
}

/* Would one of conn c's CHILD_SA configurations accept the selectors asked for? */
static bool ts_fit(struct ike_sa *sa, struct ike_conn *c, const struct ike_msg *req)
{
	return child_cfg_for_ts(sa, c, req) >= 0;
}

/*
 * The connection that fits this peer: same addresses, accepts the IKE suite
 * already negotiated, expects this identity and the AUTH method it used.  Among those, one that
 * names the IDr the initiator asked for wins, then one whose traffic
 * selectors fit the CHILD_SA asked for (several tunnels to one peer).
 */
static struct ike_conn *pick_conn(struct ike_sa *sa, const struct ike_idp *idi,
				  const struct ike_idp *idr, uint8_t method,
				  const struct ike_msg *req)
{
	struct ike_proposal chosen;
	struct ike_conn *best = NULL;
	int best_score = -1;

	ike_proposal_from_suite(&sa->suite, 1, &chosen);
	for (struct ike_conn *c = ike_conn_first(sa->eng); c; c = c->next) {
		int score;

		if (!addr_matches(&c->local, &sa->local) || !addr_matches(&c->remote, &sa->remote) ||
		    !auth_method_ok(c, method) || !auth_remote_id_ok(c, idi) ||
		    ike_proposal_select(c->ike, c->n_ike, &chosen, 1, sa->suite.dh, false, NULL,
					NULL) < 0)
			continue;
		score = (idr && c->local_id.type && id_matches(&c->local_id, idr) ? 2 : 0) +
			(ts_fit(sa, c, req) ? 1 : 0);
		if (score > best_score) {
			best = c;
			best_score = score;
		}
		if (score == 3)
			break;
	}
	return best;
}

static int child_respond(struct ike_sa *sa, const struct ike_msg *req, struct ike_mb *mb)
{
	struct ike_child *c = child_new(sa);
	void *kctx;
	const struct xk_kernel_ops *k = ike_kernel(sa->eng, &kctx);
	uint8_t num = 1;
	uint16_t notify;

	if (!c)
		return IKEV2_N_TEMPORARY_FAILURE;
	notify = child_negotiate(sa, c, req, true, 0, &num, true);
	if (!notify && (k->alloc_spi(kctx, &sa->remote, &sa->local, &c->spi_in) < 0 ||
			child_install(sa, c,
				      &(struct child_nonces){sa->hs->ni, sa->hs->nr, sa->hs->ni_len,
							     sa->hs->nr_len, false},
				      NULL, 0, NULL) < 0))
		notify = IKEV2_N_TEMPORARY_FAILURE;
	if (notify) {
		xk_notice("CHILD_SA refused conn=%s notify=%s", sa->conn->name,
			  ikev2_notify_name(notify));
		ike_emit(sa, IKE_EV_FAILED, c, notify, "CHILD_SA refused");
		child_remove(c);
		return notify;
	}
	child_reply_payloads(mb, c, num);
	child_ts_payloads(mb, c, false);
	return 0;
}

int task_auth_respond(struct ike_sa *sa, const struct ike_msg *req, struct ike_mb *mb,
		      uint16_t *notify)
{
	const struct ike_pl *pl_idi = ike_msg_find(req, IKEV2_PL_IDI);
	const struct ike_pl *pl_idr = ike_msg_find(req, IKEV2_PL_IDR);
	const struct ike_pl *pl_auth = ike_msg_find(req, IKEV2_PL_AUTH);
	struct ike_idp idi, idr;
	struct ike_auth auth;
	struct ike_conn *conn;
	uint8_t body[4 + 255], mac[AUTH_DATA_MAX], method;
	struct ike_id lid;
	size_t blen, mlen;
	uint16_t child_err;
	bool childless;
	const char *why = "no connection for this identity and AUTH method";
	int err;

	/* IKE_AUTH comes once, right after IKE_SA_INIT. */
	if (sa->state != IKE_S_INIT_DONE) {
		*notify = IKEV2_N_INVALID_SYNTAX;
		return -EINVAL;
	}
	/*
	 * Section 1.2: IDi, AUTH, SAi2, TSi and TSr are required; RFC 6023
	 * section 3: SAi2, TSi and TSr all absent once we announced childless
	 * IKE SAs.  Without our announcement such a request is malformed:
	 * INVALID_SYNTAX, as RFC 7296 has it.
	 */
	childless = sa->childless && !ike_msg_find(req, IKEV2_PL_SA) &&
		    !ike_msg_find(req, IKEV2_PL_TSI) && !ike_msg_find(req, IKEV2_PL_TSR);
	if (!pl_idi || !pl_auth || ike_pl_id(pl_idi, &idi) < 0 || ike_pl_auth(pl_auth, &auth) < 0 ||
	    (pl_idr && ike_pl_id(pl_idr, &idr) < 0) ||
	    (!childless && (!ike_msg_find(req, IKEV2_PL_SA) || !ike_msg_find(req, IKEV2_PL_TSI) ||
			    !ike_msg_find(req, IKEV2_PL_TSR)))) {
		*notify = IKEV2_N_INVALID_SYNTAX;
		sa->kill_after_response = true;
		return -EINVAL;
	}
	if (set_peer_id(sa, &idi) < 0) {
		*notify = IKEV2_N_TEMPORARY_FAILURE;
		sa->kill_after_response = true;
		return -ENOMEM;
	}
	conn = pick_conn(sa, &idi, pl_idr ? &idr : NULL, auth.method, req);
	if (conn && conn != sa->conn) {
		ike_conn_get(conn);
		ike_conn_put(sa->eng, sa->conn);
		sa->conn = conn;
	}
	err = conn ? auth_verify(sa, req, &idi, &auth, &why) : -ENOENT;
	/* Nothing is answered until the OCSP answer is in (window.c waits). */
	if (err == AUTH_PENDING)
		return AUTH_PENDING;
	if (err < 0) {
		auth_failed(sa, why);
		*notify = IKEV2_N_AUTHENTICATION_FAILED;
		sa->kill_after_response = true;
		return -EACCES;
	}
	ike_sa_local_id(sa, &lid);
	blen = auth_id_body(&lid, body);
	err = auth_ours(sa, body, blen, &method, mac, &mlen, &why);
	if (err < 0) {
		xk_notice("IKE_AUTH conn=%s: %s", sa->conn->name, why);
		*notify = IKEV2_N_TEMPORARY_FAILURE;
		sa->kill_after_response = true;
		return err;
	}
	ike_sa_established(sa, false);
	{
		struct ike_notify ic;

		/*
		 * Section 2.4: the peer restarted; what we kept of it is stale.
		 * Only on a connection that pins the peer's identity: on one that
		 * takes any (a PSK shared by a group), any member could name
		 * another's identity and have its SAs dropped.
		 */
		if (ike_msg_notify(req, IKEV2_N_INITIAL_CONTACT, &ic)) {
			if (sa->conn->remote_id.type)
				ike_sa_drop_siblings(sa);
			else
				xk_info("INITIAL_CONTACT ignored conn=%s: no remote-id pinned",
					sa->conn->name);
		}
	}
	ike_mb_id(mb, IKEV2_PL_IDR, lid.type, lid.data, lid.len);
	auth_certs_add(sa, mb, auth_certreq_in(req));
	ike_mb_auth(mb, method, mac, mlen);
	xk_wipe(mac, sizeof(mac));
	child_err = childless ? 0 : (uint16_t)child_respond(sa, req, mb);
	if (child_err)
		ike_mb_notify(mb, 0, NULL, 0, child_err, NULL, 0);
	ike_sa_drop_init(sa);
	return 0;
}
