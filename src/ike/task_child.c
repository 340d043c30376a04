/* SPDX-License-Identifier: ISC */
/*
 * CREATE_CHILD_SA for CHILD_SAs (RFC 7296 sections 1.3.1, 1.3.3): a new
 * CHILD_SA, or the rekey of one (N(REKEY_SA)), with an optional key exchange
 * for perfect forward secrecy.
 *
 *   Initiator                         Responder
 *   HDR, SK {[N(REKEY_SA)], SA, Ni, [KEi], TSi, TSr} -->
 *                                 <-- HDR, SK {SA, Nr, [KEr], TSi, TSr}
 *
 * Rekeying is make-before-break.  The initiator installs both new SAs when
 * the response arrives, then deletes the old CHILD_SA, which lingers a few
 * seconds for packets still in flight.  The responder installs the new
 * inbound SA at once but holds its new outbound SA back until the initiator
 * deletes the old CHILD_SA (or a few seconds pass): until then the
 * initiator cannot decrypt it.  Collisions follow section 2.8.1: when both
 * ends rekey the same CHILD_SA, the one whose exchange holds the lowest of
 * the four nonces deletes the CHILD_SA it created.
 */
#include "ike/task.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/secret.h"
#include "ike/child.h"
#include "ike/engine.h"
#include "ike/reauth.h"
#include "ike/work.h"

/* How long a replaced CHILD_SA keeps receiving, and the pending outbound
 * SA of a rekey responder waits at most for the initiator's DELETE. */
#define CHILD_LINGER_MS 5000
#define CHILD_PENDING_MS 5000
#define CHILD_MAX_AGAIN 3

struct task_child {
	struct ike_task t;
	uint32_t old_spi_in; /* rekey of this CHILD_SA; 0: a new one */
	bool copy;           /* ... or a new one like it on the reauthenticated SA */
	bool recreate;       /* ... or a new one in place of one lost (child_recreate.c) */
	uint8_t cfg;         /* a new one: of this CHILD_SA configuration of the conn */
	/*
	 * The CHILD_SA it makes, by its inbound SPI while CREATING: a handle,
	 * never a pointer kept between calls (docs/architecture.md).
	 */
	uint32_t child_spi;
	struct ike_dh *dh;
	uint16_t dh_group;
	uint8_t ni[IKEV2_NONCE_LEN];
	uint8_t again;
};

/* The first DH group of our ESP proposals: with one, rekeys use PFS. */
static uint16_t pfs_group(const struct ike_cconf *c)
{
	for (size_t i = 0; i < c->n_esp; i++)
		for (size_t j = 0; j < c->esp[i].n_xforms; j++)
			if (c->esp[i].xf[j].type == IKEV2_XF_DH && c->esp[i].xf[j].id)
				return c->esp[i].xf[j].id;
	return 0;
}

/* Section 2.8.1: octet by octet, and a nonce that ends first is lower. */
static int nonce_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static void lower_nonce(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
			const uint8_t **lo, size_t *lolen)
{
	if (nonce_cmp(a, alen, b, blen) <= 0) {
		*lo = a;
		*lolen = alen;
	} else {
		*lo = b;
		*lolen = blen;
	}
}

/*
 * Our CHILD_SA, CREATING on sa (an IKE SA rekey leaves it there); NULL if
 * it went with the IKE SA.
 */
static struct ike_child *own_child(struct ike_sa *sa, const struct task_child *t)
{
	return t->child_spi ? child_find_in(sa, t->child_spi, CHILD_OWN) : NULL;
}

/* ---- initiator ---- */

static void abort_child(struct ike_sa *sa, struct task_child *t)
{
	struct ike_child *c = own_child(sa, t);

	t->child_spi = 0;
	if (c)
		child_remove(c);
}

static int child_build(struct ike_task *tt, struct ike_sa *sa, struct ike_mb *mb)
{
	struct task_child *t = (struct task_child *)tt;
	struct ike_child *old = t->old_spi_in && !t->copy
					? child_find_in(sa, t->old_spi_in, CHILD_LIVE)
					: NULL;
	const struct ike_child *like = old;
	struct ike_proposal *props;
	void *kctx;
	const struct xk_kernel_ops *k = ike_kernel(sa->eng, &kctx);
	struct ike_child *c;
	uint8_t pub[1024];
	size_t n, publen = sizeof(pub);
	int err;

	c = own_child(sa, t);
	/* Made meanwhile (the peer's own request, one of ours): nothing to do. */
	if (t->recreate && !c && !(sa->succ == IKE_SUCC_REPLACED && sa->moved_to_spi) &&
	    child_recreate_satisfied(sa, t->cfg)) {
		child_recreate_result(sa, t->cfg, true);
		return -ECANCELED;
	}
	if (t->copy && !c) {
		struct ike_sa *from = ike_reauth_old(sa);

		/* The old SA, or that CHILD_SA of it, went meanwhile. */
		like = from ? child_find_in(from, t->old_spi_in, CHILD_LIVE) : NULL;
		if (!like)
			return -ECANCELED;
	}
	/* Moved along with an IKE SA rekey: rekey it there. */
	if (t->old_spi_in && !t->copy && !old && sa->moved_to_spi)
		return -ENOENT;
	/* A new one on an IKE SA a rekey replaced: made on the new IKE SA. */
	if (!t->old_spi_in && !c && sa->succ == IKE_SUCC_REPLACED && sa->moved_to_spi)
		return -ENOENT;
	/* Gone, already replaced or being deleted meanwhile: nothing to do. */
	if (t->old_spi_in && !t->copy &&
	    (!old || old->state != CHILD_S_INSTALLED || old->succ == CHILD_SUCC_REPLACED))
		return -ECANCELED;
	/*
	 * The IKE SA is being reauthenticated, which makes this CHILD_SA anew;
	 * a rekey now would only put a newer SA on the IKE SA about to go.
	 * Should the reauthentication fail, the rekey comes a little later.
	 */
	if (old && sa->succ == IKE_SUCC_REAUTHING && !c) {
		child_rekey_later(old);
		return -ECANCELED;
	}
	if (!c) {
		c = child_new(sa);
		if (!c)
			return -ENOMEM;
		c->cfg = t->cfg;
		err = child_init_like(sa, c, like);
		if (err == 0)
			err = k->alloc_spi(kctx, &sa->remote, &sa->local, &c->spi_in);
		if (err == 0 && ike_nonce(sa->eng, t->ni, sizeof(t->ni)) < 0)
			err = -EIO;
		if (err < 0) {
			child_remove(c);
			return err;
		}
		t->child_spi = c->spi_in;
		if (!t->dh_group)
			t->dh_group = pfs_group(child_cfg(c));
	}
	err = 0;
	if (t->dh_group && (!t->dh || ike_dh_group(t->dh) != t->dh_group)) {
		ike_dh_free(t->dh);
		t->dh = ike_dh_new(t->dh_group);
		if (!t->dh || ike_dh_public(t->dh, pub, &publen) < 0)
			err = -ENOTSUP;
	} else if (t->dh && ike_dh_public(t->dh, pub, &publen) < 0) {
		err = -EIO;
	}
	props = err ? NULL : calloc(IKE_MAX_PROPOSALS, sizeof(*props));
	if (!props) {
		/* No request goes out: the CHILD_SA is not left behind CREATING. */
		abort_child(sa, t);
		return err ? err : -ENOMEM;
	}
	if (old) {
		uint8_t spi[4];

		/* Section 1.3.3: the old SA by the SPI we receive on. */
		put_be32(spi, old->spi_in);
		ike_mb_notify(mb, IKEV2_PROTO_ESP, spi, 4, IKEV2_N_REKEY_SA, NULL, 0);
		child_set_succ(old, old->peer_rekey ? CHILD_SUCC_COLLIDED : CHILD_SUCC_REKEYING);
	}
	if (c->mode == XK_MODE_TRANSPORT)
		ike_mb_notify(mb, 0, NULL, 0, IKEV2_N_USE_TRANSPORT_MODE, NULL, 0);
	n = child_proposals(child_cfg(c), c->spi_in, t->dh_group != 0, props, IKE_MAX_PROPOSALS);
	ike_mb_sa(mb, props, n);
	free(props);
	ike_mb_nonce(mb, t->ni, sizeof(t->ni));
	if (t->dh)
		ike_mb_ke(mb, t->dh_group, pub, publen);
	child_ts_payloads(mb, c, true);
	return 0;
}

/*
 * Both ends rekeyed `old`: we made `ours` (nonces ni, nr), the peer made
 * old->peer_rekey.  The exchange with the lowest nonce loses; its creator
 * deletes what it made.
 */
static void resolve_collision(struct ike_sa *sa, struct ike_child *old, struct ike_child *ours,
			      const uint8_t *ni, size_t nilen, const uint8_t *nr, size_t nrlen)
{
	struct ike_child *theirs = old->peer_rekey;
	const uint8_t *lo;
	size_t lolen;
	struct ike_task *del;

	lower_nonce(ni, nilen, nr, nrlen, &lo, &lolen);
	if (nonce_cmp(lo, lolen, old->coll_nonce, old->coll_nonce_len) < 0) {
		xk_info("rekey collision conn=%s: ours %08x lost to %08x", sa->conn->name,
			ours->spi_in, theirs->spi_in);
		/* The peer's CHILD_SA stays: it may send on it now. */
		child_send_pending(theirs->sa, theirs);
		del = task_delete_child_new(ours->spi_in, false);
		if (del)
			ike_sa_queue(ours->sa, del);
	} else {
		xk_info("rekey collision conn=%s: ours %08x won over %08x", sa->conn->name,
			ours->spi_in, theirs->spi_in);
	}
	old->peer_rekey = NULL;
}

/*
 * Ours came to nothing, but we answered the peer's rekey of `old` (2.8.1):
 * the peer's new CHILD_SA stands, may send now, and the peer deletes old.
 */
static bool peer_rekey_stands(struct ike_child *old)
{
	struct ike_child *theirs = old ? old->peer_rekey : NULL;

	if (!theirs)
		return false;
	old->peer_rekey = NULL;
	child_set_succ(old, CHILD_SUCC_REPLACED);
	child_send_pending(theirs->sa, theirs);
	return true;
}

/*
 * Section 2.25.1: the peer answered our rekey of `old` with
 * CHILD_SA_NOT_FOUND.  It has no such CHILD_SA (lost, or its DELETE went
 * astray), or not yet: one we made answering its rekey is still CREATING
 * there until our answer arrives.  So it is not dropped here but deleted
 * with the peer: a DELETE that overtakes our answer ends the peer's half
 * too (peer_deleted), and both ends agree it is gone.
 */
static void rekey_found_none(struct ike_sa *sa, struct ike_child *old)
{
	struct ike_task *del;

	if (old->state != CHILD_S_INSTALLED || old->succ != CHILD_SUCC_NONE)
		return;
	xk_notice("CHILD_SA %08x conn=%s: the peer has it no more", old->spi_in,
		  sa->conn->name);
	del = task_delete_child_new(old->spi_in, false);
	if (!del)
		return;
	child_lost(old, IKE_CHILD_END_LOST);
	ike_sa_queue(old->sa, del);
}

static enum ike_task_result child_process(struct ike_task *tt, struct ike_sa *sa,
					  const struct ike_msg *msg)
{
	struct task_child *t = (struct task_child *)tt;
	struct ike_child *old = t->old_spi_in && !t->copy
					? child_find_moved(sa, t->old_spi_in, CHILD_LIVE)
					: NULL;
	struct ike_child *c = own_child(sa, t);
	const struct ike_pl *pl_nr = ike_msg_find(msg, IKEV2_PL_NONCE);
	const struct ike_pl *pl_ke = ike_msg_find(msg, IKEV2_PL_KE);
	const uint8_t *nr;
	size_t nrlen;
	struct ike_notify n;
	const char *why = "malformed response";
	uint8_t gir[1024];
	size_t girlen = 0;
	uint16_t err_n = 0;
	struct ike_ke ke;
	int err;

	if (old && child_rekeying(old))
		child_set_succ(old, CHILD_SUCC_NONE);
	for (size_t i = 0; i < msg->n_pl && !err_n; i++)
		if (msg->pl[i].type == IKEV2_PL_NOTIFY && ike_pl_notify(&msg->pl[i], &n) == 0 &&
		    n.type <= IKEV2_N_ERROR_MAX)
			err_n = n.type;
	if (err_n == IKEV2_N_INVALID_KE_PAYLOAD && ike_msg_notify(msg, err_n, &n) && n.len == 2 &&
	    get_be16(n.data) != t->dh_group && ++t->again <= CHILD_MAX_AGAIN) {
		/* Section 1.3: a new exchange with the group the responder wants. */
		t->dh_group = get_be16(n.data);
		return IKE_TASK_AGAIN;
	}
	if (err_n) {
		xk_notice("CREATE_CHILD_SA failed conn=%s notify=%s", sa->conn->name,
			  ikev2_notify_name(err_n));
		/* Section 2.25: the peer is busy with this CHILD_SA; try again soon. */
		if (!peer_rekey_stands(old) && err_n == IKEV2_N_TEMPORARY_FAILURE && old)
			child_rekey_later(old);
		else if (old && err_n == IKEV2_N_CHILD_SA_NOT_FOUND)
			rekey_found_none(sa, old);
		ike_emit(sa, IKE_EV_FAILED, c, err_n, "CREATE_CHILD_SA refused");
		abort_child(sa, t);
		if (t->recreate)
			child_recreate_result(sa, t->cfg, false);
		return IKE_TASK_DONE;
	}
	/* Ours went with the IKE SA that held it: nothing to install. */
	if (!c) {
		why = "its IKE SA is gone";
		goto fail;
	}
	if (!pl_nr || ike_pl_nonce(pl_nr, &nr, &nrlen) < 0)
		goto fail;
	err = child_accept_reply(sa, c, msg, t->dh_group == 0, &why);
	if (err < 0)
		goto fail;
	/* The peer's DELETE of it overtook its answer: there is nothing to keep. */
	if (c->peer_deleted && c->peer_deleted == c->spi_out) {
		xk_notice("CREATE_CHILD_SA conn=%s: the peer deleted %08x before its answer came",
			  sa->conn->name, c->spi_out);
		t->child_spi = 0;
		ike_emit(sa, IKE_EV_FAILED, c, 0, "deleted by the peer");
		child_remove(c);
		if (old && old->state == CHILD_S_INSTALLED && old->succ == CHILD_SUCC_NONE)
			child_rekey_later(old);
		if (t->recreate)
			child_recreate_result(sa, t->cfg, false);
		return IKE_TASK_DONE;
	}
	if (c->suite.dh) {
		/* PFS: the responder's share, in the group it chose. */
		if (!t->dh || c->suite.dh != t->dh_group || !pl_ke || ike_pl_ke(pl_ke, &ke) < 0 ||
		    ke.group != t->dh_group) {
			why = "KE missing or in the wrong group";
			goto fail;
		}
		girlen = sizeof(gir);
		if (ike_dh_derive(t->dh, ke.data, ke.len, gir, &girlen) < 0) {
			why = "invalid KE public value";
			goto fail;
		}
	}
	err = child_install(sa, c, &(struct child_nonces){ t->ni, nr, sizeof(t->ni), nrlen, true },
			    girlen ? gir : NULL, girlen, old);
	xk_wipe(gir, sizeof(gir));
	if (err < 0) {
		why = "kernel refused the CHILD_SA";
		goto fail;
	}
	t->child_spi = 0;
	/* Made on an IKE SA that a rekey replaced meanwhile: it goes where the others went. */
	child_follow_moves(c);
	if (t->recreate)
		child_recreate_result(c->sa, t->cfg, true);
	if (old) {
		child_set_succ(old, CHILD_SUCC_REPLACED);
		ike_stats_mut(sa->eng)->rekeys++;
		xk_info("CHILD_SA rekeyed conn=%s %08x -> %08x", sa->conn->name, old->spi_in,
			c->spi_in);
		ike_emit(sa, IKE_EV_CHILD_REKEYED, c, 0, NULL);
		if (old->peer_rekey)
			resolve_collision(sa, old, c, t->ni, sizeof(t->ni), nr, nrlen);
		/* The old pair goes now; its inbound SA lingers (make-before-break). */
		tt = task_delete_child_new(old->spi_in, true);
		if (tt)
			ike_sa_queue(old->sa, tt);
	}
	return IKE_TASK_DONE;
fail:
	xk_wipe(gir, sizeof(gir));
	xk_notice("CREATE_CHILD_SA failed conn=%s: %s", sa->conn->name, why);
	ike_emit(sa, IKE_EV_FAILED, c, 0, why);
	/*
	 * The peer said yes and installed its half: it is told that ours is
	 * not there (sections 1.3, 2.9), or it would send into nothing.
	 */
	if (t->child_spi) {
		tt = task_delete_gone_new(t->child_spi);
		if (tt)
			ike_sa_queue(child_home(sa), tt);
	}
	/* By pointer, found above: a failed install left it DELETED, without its SPI. */
	t->child_spi = 0;
	if (c)
		child_remove(c);
	peer_rekey_stands(old);
	if (t->recreate)
		child_recreate_result(sa, t->cfg, false);
	return IKE_TASK_DONE;
}

static void child_destroy(struct ike_task *tt)
{
	struct task_child *t = (struct task_child *)tt;

	/* An unfinished new CHILD_SA dies with the IKE SA (child_free_all). */
	ike_dh_free(t->dh);
	xk_wipe(t->ni, sizeof(t->ni));
	free(t);
}

/*
 * Its IKE SA dies first.  Our request went out and its answer never came:
 * the peer may have made the CHILD_SA, which we will never have, so a
 * DELETE on the IKE SA that follows tells it so (sections 1.3, 2.9) — the
 * peer must not take a later DELETE of the old CHILD_SA for word that we
 * have the new one.  A rekey of a CHILD_SA that an IKE SA rekey moved on
 * is then tried again there, a little later (else it would stay marked as
 * being rekeyed, and never be).
 */
static void child_orphan(struct ike_task *tt, struct ike_sa *sa)
{
	struct task_child *t = (struct task_child *)tt;
	struct ike_sa *home = child_home(sa);
	struct ike_child *old = NULL;
	struct ike_task *del;

	if (t->child_spi && sa->tasks == tt && sa->req_out && home != sa &&
	    home->state == IKE_S_ESTABLISHED) {
		del = task_delete_gone_new(t->child_spi);
		if (del)
			ike_sa_queue(home, del);
	}
	if (t->old_spi_in && !t->copy)
		old = child_find_moved(sa, t->old_spi_in, CHILD_LIVE);
	/* What was to be made again is made on the IKE SA that follows. */
	if (t->recreate && home != sa && home->state == IKE_S_ESTABLISHED)
		child_recreate_result(home, t->cfg, false);
	if (!old || old->sa == sa)
		return;
	if (child_rekeying(old))
		child_set_succ(old, CHILD_SUCC_NONE);
	if (old->state == CHILD_S_INSTALLED && old->succ == CHILD_SUCC_NONE)
		child_rekey_later(old);
}

static const struct ike_task_ops child_ops = {
	.name = "child_create",
	.exch = IKEV2_EXCH_CREATE_CHILD_SA,
	.build_i = child_build,
	.process_i = child_process,
	.destroy = child_destroy,
	.orphan = child_orphan,
};

struct ike_task *task_child_new(uint32_t old_spi_in)
{
	struct task_child *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->t.ops = &child_ops;
	t->old_spi_in = old_spi_in;
	return &t->t;
}

struct ike_task *task_child_cfg_new(uint8_t cfg)
{
	struct ike_task *t = task_child_new(0);

	if (t)
		((struct task_child *)t)->cfg = cfg;
	return t;
}

struct ike_task *task_child_recreate_new(uint8_t cfg)
{
	struct ike_task *t = task_child_cfg_new(cfg);

	if (t)
		((struct task_child *)t)->recreate = true;
	return t;
}

struct ike_task *task_child_copy_new(uint32_t src_spi_in)
{
	struct ike_task *t = task_child_new(src_spi_in);

	if (t)
		((struct task_child *)t)->copy = true;
	return t;
}

/* ---- responder ---- */

/*
 * The peer asks to rekey `old` again after we answered its first rekey of
 * it: that answer never reached it (its IKE SA went first, and the peer
 * asks again on the one that followed, section 2.25).  What we made for the
 * lost answer the peer does not have, nor ever will; the new exchange
 * replaces it.  Refusing instead would be refusing for ever.
 */
static struct ike_child *answer_lost(const struct ike_child *old)
{
	struct ike_child *r = old->replaced_by;

	if (old->succ != CHILD_SUCC_REPLACED || !r || r->state != CHILD_S_INSTALLED ||
	    r->succ != CHILD_SUCC_NONE)
		return NULL;
	return r;
}

/*
 * Both ends ask for the same new CHILD_SA at once (each lost it, or each
 * was told to make it): two pairs with one mode and set of selectors would
 * fight over the policies.  As for rekeys (section 2.8.1) nonces settle it,
 * and both ends compare the same two: the request whose Ni is the lower is
 * refused with TEMPORARY_FAILURE by the end that sent the other, which the
 * other end answers.  The refused end then finds the CHILD_SA it answered
 * standing, and does not ask again.
 */
static bool new_child_collides(struct ike_sa *sa, const struct ike_child *c, const uint8_t *ni,
			       size_t nilen)
{
	const struct task_child *t;
	const struct ike_child *own;

	if (!sa->req_out || !sa->tasks || sa->tasks->ops != &child_ops)
		return false;
	t = (const struct task_child *)sa->tasks;
	/* A rekey, or a copy for a reauthentication: not a new one here. */
	if (t->old_spi_in)
		return false;
	own = own_child(sa, t);
	if (!own || !child_same_shape(own, c))
		return false;
	if (nonce_cmp(ni, nilen, t->ni, sizeof(t->ni)) >= 0)
		return false;
	xk_info("CHILD_SA collision conn=%s: the peer's request loses to ours", sa->conn->name);
	return true;
}

/* A CREATE_CHILD_SA's key exchange is back (ike_work_ke): the request again. */
void task_child_respond_resume(struct ike_sa *sa, struct ike_work *w)
{
	struct ike_msg msg;

	/* Still unanswered: the CREATE_CHILD_SA is the next request we take. */
	if (sa->state != IKE_S_ESTABLISHED || w->hdr.mid != sa->mid_expect ||
	    ike_work_msg(w, &msg) < 0)
		return;
	sa->resumed = w;
	ike_sa_request_resume(sa, &msg);
	sa->resumed = NULL;
}

int task_child_respond(struct ike_sa *sa, const struct ike_msg *req, struct ike_mb *mb,
		       uint16_t *notify)
{
	const struct ike_pl *pl_ni = ike_msg_find(req, IKEV2_PL_NONCE);
	const struct ike_pl *pl_ke = ike_msg_find(req, IKEV2_PL_KE);
	void *kctx;
	const struct xk_kernel_ops *k = ike_kernel(sa->eng, &kctx);
	struct ike_child *old = NULL, *c = NULL, *lost = NULL;
	struct ike_notify n;
	struct ike_ke ke = { 0 };
	const uint8_t *ni;
	uint8_t nr[IKEV2_NONCE_LEN], gir[1024], pub[1024];
	size_t nilen, girlen = 0, publen = sizeof(pub);
	uint8_t num = 1;
	uint16_t nt = 0;
	int err = -EINVAL;

	if (!pl_ni || ike_pl_nonce(pl_ni, &ni, &nilen) < 0 || (pl_ke && ike_pl_ke(pl_ke, &ke) < 0)) {
		*notify = IKEV2_N_INVALID_SYNTAX;
		return -EINVAL;
	}
	/*
	 * Section 2.25.2: while we rekey the IKE SA, or once it is replaced,
	 * no CHILD_SA is made or rekeyed on it; the peer asks again on the
	 * IKE SA that follows.
	 */
	if (ike_sa_rekeying(sa) || sa->succ == IKE_SUCC_REPLACED) {
		*notify = IKEV2_N_TEMPORARY_FAILURE;
		return -EBUSY;
	}
	if (ike_msg_notify(req, IKEV2_N_REKEY_SA, &n)) {
		/* Section 1.3.3: the old CHILD_SA, named by the SPI the peer receives on. */
		if (n.proto != IKEV2_PROTO_ESP || n.spi_size != 4) {
			*notify = IKEV2_N_INVALID_SYNTAX;
			return -EINVAL;
		}
		old = child_find_out(sa, get_be32(n.spi), CHILD_LIVE);
		/*
		 * Section 2.25: it moved to the IKE SA that replaces this one (the
		 * peer has not seen that yet): busy, ask again shortly.
		 */
		if (!old && (sa->succ == IKE_SUCC_REPLACED || sa->successor_spi)) {
			*notify = IKEV2_N_TEMPORARY_FAILURE;
			return -EBUSY;
		}
		/* Section 2.25.1: unknown. */
		if (!old) {
			*notify = IKEV2_N_CHILD_SA_NOT_FOUND;
			return -ENOENT;
		}
		/* Deleted by both ends already, its inbound SA only lingering: gone too. */
		if (old->retire_ms) {
			*notify = IKEV2_N_CHILD_SA_NOT_FOUND;
			return -ENOENT;
		}
		lost = answer_lost(old);
		/*
		 * Busy (2.25.1): one we are deleting; one we are making anew on the
		 * IKE SA that reauthenticates this one; one whose rekey by the peer
		 * we answered already (2.8.1 has one).
		 */
		if (old->state != CHILD_S_INSTALLED || old->succ == CHILD_SUCC_COLLIDED ||
		    (old->succ == CHILD_SUCC_REPLACED && !lost) || sa->succ == IKE_SUCC_REAUTHING) {
			*notify = IKEV2_N_TEMPORARY_FAILURE;
			return -EBUSY;
		}
	}
	c = child_new(sa);
	if (!c) {
		*notify = IKEV2_N_TEMPORARY_FAILURE;
		return -ENOMEM;
	}
	/* A rekey keeps the configuration; a new one is chosen by its selectors. */
	if (old)
		c->cfg = old->cfg;
	nt = child_negotiate(sa, c, req, false, pl_ke ? ke.group : 0, &num, !old);
	/*
	 * A new CHILD_SA (no rekey) with the mode and selectors of one we
	 * have: its policies would be the same.  Section 3.10.1's
	 * NO_ADDITIONAL_SAS tells the peer not to ask again, where
	 * TEMPORARY_FAILURE would have it retry for ever.
	 */
	if (!nt && !old && child_duplicate(sa, c))
		nt = IKEV2_N_NO_ADDITIONAL_SAS;
	if (!nt && !old && new_child_collides(sa, c, ni, nilen))
		nt = IKEV2_N_TEMPORARY_FAILURE;
	if (nt)
		goto refuse;
	if (c->suite.dh && c->suite.dh != ke.group) {
		uint8_t g[2];

		/* Section 1.3: the initiator guessed another group; say which. */
		put_be16(g, c->suite.dh);
		child_remove(c);
		*notify = 0;
		ike_mb_notify(mb, 0, NULL, 0, IKEV2_N_INVALID_KE_PAYLOAD, g, 2);
		return 0;
	}
	if (c->suite.dh) {
		girlen = sizeof(gir);
		err = ike_work_ke(sa, req, c->suite.dh, &ke, gir, &girlen, pub, &publen);
		if (err == 1) {
			/* Handed out: answered when the work is back (nothing kept till then). */
			child_remove(c);
			return 1;
		}
		if (err < 0) {
			nt = err == -ENOMEM ? IKEV2_N_TEMPORARY_FAILURE : IKEV2_N_INVALID_SYNTAX;
			goto refuse;
		}
	}
	if (ike_nonce(sa->eng, nr, sizeof(nr)) < 0 ||
	    k->alloc_spi(kctx, &sa->remote, &sa->local, &c->spi_in) < 0) {
		nt = IKEV2_N_TEMPORARY_FAILURE;
		goto refuse;
	}
	/* Hold the outbound SA back until the initiator can receive on it. */
	c->defer_out = old != NULL;
	err = child_install(sa, c, &(struct child_nonces){ ni, nr, nilen, sizeof(nr), false },
			    girlen ? gir : NULL, girlen, old);
	if (err < 0) {
		nt = IKEV2_N_TEMPORARY_FAILURE;
		goto refuse;
	}
	if (old) {
		const uint8_t *lo;
		size_t lolen;

		old->replaced_by = c;
		c->pending_ms = ike_now(sa->eng) + CHILD_PENDING_MS;
		if (child_rekeying(old)) {
			/* Section 2.8.1: we are rekeying it too; settle it on our response. */
			lower_nonce(ni, nilen, nr, sizeof(nr), &lo, &lolen);
			free(old->coll_nonce);
			old->coll_nonce = malloc(lolen);
			if (old->coll_nonce) {
				memcpy(old->coll_nonce, lo, lolen);
				old->coll_nonce_len = lolen;
				old->peer_rekey = c;
				child_set_succ(old, CHILD_SUCC_COLLIDED);
			}
		} else if (lost) {
			/* Up now, c took the routes over: the one the peer never saw goes. */
			xk_info("CHILD_SA rekey answer lost conn=%s: %08x replaces %08x",
				sa->conn->name, c->spi_in, lost->spi_in);
			child_remove(lost);
		} else {
			child_set_succ(old, CHILD_SUCC_REPLACED);
			ike_stats_mut(sa->eng)->rekeys++;
		}
		ike_sa_schedule(sa);
	}
	child_reply_payloads(mb, c, num);
	ike_mb_nonce(mb, nr, sizeof(nr));
	if (c->suite.dh)
		ike_mb_ke(mb, c->suite.dh, pub, publen);
	child_ts_payloads(mb, c, false);
	xk_wipe(gir, sizeof(gir));
	xk_wipe(nr, sizeof(nr));
	return 0;
refuse:
	xk_wipe(gir, sizeof(gir));
	xk_notice("CREATE_CHILD_SA refused conn=%s notify=%s", sa->conn->name,
		  ikev2_notify_name(nt));
	ike_emit(sa, IKE_EV_FAILED, c, nt, "CHILD_SA refused");
	child_remove(c);
	*notify = nt;
	return -EINVAL;
}
