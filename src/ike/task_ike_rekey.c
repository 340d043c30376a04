/* SPDX-License-Identifier: ISC */
/*
 * Rekeying the IKE SA with CREATE_CHILD_SA (RFC 7296 sections 1.3.2, 2.18):
 *
 *   Initiator                         Responder
 *   HDR, SK {SA, Ni, KEi} -->
 *                                 <-- HDR, SK {SA, Nr, KEr}
 *
 * The SA payloads carry the new IKE SA's SPIs.  SKEYSEED = prf(SK_d (old),
 * g^ir (new) | Ni | Nr); the CHILD_SAs move to the new IKE SA, whose
 * original initiator is whoever started the rekey, and the rekey's
 * initiator then deletes the old IKE SA.  Collisions (2.8.2): the exchange
 * with the lowest of the four nonces loses, and its initiator deletes the
 * IKE SA it made.
 */
#include "ike/task.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/secret.h"
#include "ike/child.h"
#include "ike/engine.h"

struct task_ike_rekey {
	struct ike_task t;
	/* The IKE SA it makes, by its local SPI (never a pointer: it may die first). */
	struct ike_engine *eng;
	uint64_t new_spi;
	struct ike_dh *dh;
	uint16_t dh_group;
	uint8_t again;
	/*
	 * Section 2.8.2: while our request is out, the peer rekeyed the same
	 * SA and we answered (COLLIDED).  The peer's new SA (its local SPI,
	 * 0 once it died) and that exchange's lower nonce, until our answer
	 * settles it.
	 */
	uint64_t peer_new_spi;
	uint8_t *coll_nonce;
	size_t coll_nonce_len;
};

static const struct ike_task_ops rekey_ops;

static int nonce_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* The new IKE SA takes over the peer, its addresses and identity. */
static void adopt_peer(struct ike_sa *new_sa, struct ike_sa *old)
{
	old->successor_spi = ike_sa_local_spi(new_sa);
	new_sa->local = old->local;
	new_sa->remote = old->remote;
	/* Only for listings and INITIAL_CONTACT: an SA without it still works. */
	ike_sa_set_remote_id(new_sa, ike_sa_remote_id(old));
	new_sa->nat_local = old->nat_local;
	new_sa->nat_remote = old->nat_remote;
	/* A rekey is no reauthentication: that stays due when it was. */
	new_sa->reauth_ms = old->reauth_ms;
}

/* ... and everything the old one carried. */
static void adopt(struct ike_sa *new_sa, struct ike_sa *old)
{
	adopt_peer(new_sa, old);
	child_hand_over(old, new_sa);
}

/* A live IKE SA of ours by local SPI, in one of the states in `states` (bits). */
static struct ike_sa *find_sa(struct ike_engine *e, uint64_t spi, unsigned states)
{
	struct ike_sa *sa = spi ? ike_engine_find_sa(e, spi) : NULL;

	return sa && (states & (1u << sa->state)) ? sa : NULL;
}

/* Our new SA, still being made (NEW, handshake state kept). */
static struct ike_sa *new_of(struct ike_sa *sa, const struct task_ike_rekey *t)
{
	struct ike_sa *n = find_sa(sa->eng, t->new_spi, 1u << IKE_S_NEW);

	return n && n->hs ? n : NULL;
}

/* Our rekey of sa, its request out: the task at the head of sa's queue. */
static struct task_ike_rekey *rekey_task_of(const struct ike_sa *sa)
{
	if (!ike_sa_rekeying(sa) || !sa->req_out || !sa->tasks || sa->tasks->ops != &rekey_ops)
		return NULL;
	return (struct task_ike_rekey *)sa->tasks;
}

/*
 * The peer's new SA of a collision (section 2.8.2), while it lives; also
 * while our DELETE of it is out (a terminate): it holds the CHILD_SAs until
 * the collision is settled, and the settling decides where they go.
 */
static struct ike_sa *peer_new_of(struct ike_sa *sa, const struct task_ike_rekey *t)
{
	return find_sa(sa->eng, t->peer_new_spi, 1u << IKE_S_ESTABLISHED | 1u << IKE_S_DELETING);
}

static void forget_collision(struct task_ike_rekey *t)
{
	t->peer_new_spi = 0;
	free(t->coll_nonce);
	t->coll_nonce = NULL;
	t->coll_nonce_len = 0;
}

uint64_t ike_rekey_collision(const struct ike_sa *sa)
{
	struct task_ike_rekey *t = sa->succ == IKE_SUCC_COLLIDED ? rekey_task_of(sa) : NULL;

	return t ? t->peer_new_spi : 0;
}

void ike_rekey_sa_gone(struct ike_sa *gone)
{
	uint64_t spi = ike_sa_local_spi(gone);

	/*
	 * The peer's SA of a collision we have not settled: the peer deleted
	 * it (as the loser of 2.8.2 does, or because it was told to), or it
	 * died here (a terminate, the peer found dead), before our answer
	 * came.  The CHILD_SAs it took go back, to move on with our rekey;
	 * the collision's nonce stays, for only the answer tells which
	 * exchange won, and if the peer's did, these CHILD_SAs died with its
	 * SA (rekey_process).
	 */
	for (struct ike_sa *o = ike_sa_same_id(gone); o; o = o->id_next) {
		struct task_ike_rekey *t;

		if (o == gone || ike_rekey_collision(o) != spi)
			continue;
		t = rekey_task_of(o);
		child_hand_over(gone, o);
		t->peer_new_spi = 0;
		ike_sa_set_succ(o, IKE_SUCC_REKEYING);
		return;
	}
}

/* Derive the new SA's keys from the old SA's SK_d (section 2.18). */
static int derive(struct ike_sa *new_sa, const struct ike_sa *old, const uint8_t *gir,
		  size_t girlen)
{
	size_t a_len = new_sa->suite.integ ? ike_integ_key_len(new_sa->suite.integ) : 0;
	size_t e_len = ike_encr_key_len(new_sa->suite.encr, new_sa->suite.encr_keybits);
	int err;

	err = ike_derive_rekey_keys(old->suite.prf, old->keys.sk_d, old->keys.prf_len,
				    new_sa->suite.prf, new_sa->hs->ni, new_sa->hs->ni_len,
				    new_sa->hs->nr, new_sa->hs->nr_len, gir, girlen, new_sa->spi_i,
				    new_sa->spi_r, a_len, e_len, &new_sa->keys);
	if (err == 0)
		new_sa->keys_ready = true;
	return err;
}

/* ---- initiator ---- */

static int rekey_build(struct ike_task *tt, struct ike_sa *sa, struct ike_mb *mb)
{
	struct task_ike_rekey *t = (struct task_ike_rekey *)tt;
	struct ike_proposal *props;
	struct ike_sa *n;
	uint8_t pub[1024];
	size_t publen = sizeof(pub);

	if (sa->state != IKE_S_ESTABLISHED || sa->succ == IKE_SUCC_REPLACED)
		return -ECANCELED;
	if (sa->succ == IKE_SUCC_REAUTHING || sa->succ == IKE_SUCC_REAUTH_NEW) {
		/* A reauthentication brings new keys; should it fail, rekey later. */
		if (sa->conn->ike_rekey_time_s)
			sa->ike_rekey_ms = ike_now(sa->eng) + 10000;
		return -ECANCELED;
	}
	n = new_of(sa, t);
	if (!n) {
		n = ike_sa_new(sa->eng, sa->conn, true);
		if (!n)
			return -ENOMEM;
		t->eng = sa->eng;
		t->new_spi = n->spi_i;
		/* IKE fragmentation (RFC 7383) stays what IKE_SA_INIT made it. */
		n->frag = sa->frag;
		n->hs->ni_len = IKEV2_NONCE_LEN;
		if (ike_nonce(sa->eng, n->hs->ni, n->hs->ni_len) < 0)
			return -EIO;
		if (!t->dh_group)
			t->dh_group = sa->suite.dh;
	}
	if (!t->dh || ike_dh_group(t->dh) != t->dh_group) {
		ike_dh_free(t->dh);
		t->dh = ike_dh_new(t->dh_group);
		if (!t->dh)
			return -ENOTSUP;
	}
	if (ike_dh_public(t->dh, pub, &publen) < 0)
		return -EIO;
	props = calloc(sa->conn->n_ike, sizeof(*props));
	if (!props)
		return -ENOMEM;
	/* Section 3.3.1: rekey proposals carry the sender's new SPI. */
	for (size_t i = 0; i < sa->conn->n_ike; i++) {
		props[i] = sa->conn->ike[i];
		props[i].num = (uint8_t)(i + 1);
		props[i].spi_size = 8;
		put_be64(props[i].spi, n->spi_i);
	}
	ike_mb_sa(mb, props, sa->conn->n_ike);
	free(props);
	ike_mb_nonce(mb, n->hs->ni, n->hs->ni_len);
	ike_mb_ke(mb, t->dh_group, pub, publen);
	ike_sa_set_succ(sa, t->peer_new_spi ? IKE_SUCC_COLLIDED : IKE_SUCC_REKEYING);
	return 0;
}

/* The CHILD_SAs of sa but those still CREATING (their exchanges own them). */
static void drop_children(struct ike_sa *sa)
{
	struct ike_child *c = sa->children, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->state != CHILD_S_CREATING)
			child_remove(c);
	}
}

/* A new IKE SA that never came to be: gone without an outage event. */
static void drop_sa(struct ike_sa *n, const char *why)
{
	ike_sa_set_succ(n, IKE_SUCC_REPLACED);
	ike_sa_kill(n, 0, why);
}

/*
 * Ours came to nothing.  Had the peer rekeyed the SA too (2.8.2), its new
 * SA stands and has the CHILD_SAs: this one is replaced, and the peer
 * deletes it.
 */
static void drop_new(struct ike_sa *sa, struct task_ike_rekey *t, const char *why)
{
	struct ike_sa *n = new_of(sa, t), *theirs = peer_new_of(sa, t);

	t->new_spi = 0;
	if (n)
		drop_sa(n, why);
	if (theirs) {
		sa->successor_spi = ike_sa_local_spi(theirs);
		ike_sa_set_succ(sa, IKE_SUCC_REPLACED);
	}
	forget_collision(t);
}

static enum ike_task_result rekey_process(struct ike_task *tt, struct ike_sa *sa,
					  const struct ike_msg *msg)
{
	struct task_ike_rekey *t = (struct task_ike_rekey *)tt;
	struct ike_sa *n = new_of(sa, t), *theirs;
	const struct ike_pl *pl_sa = ike_msg_find(msg, IKEV2_PL_SA);
	const struct ike_pl *pl_nr = ike_msg_find(msg, IKEV2_PL_NONCE);
	const struct ike_pl *pl_ke = ike_msg_find(msg, IKEV2_PL_KE);
	struct ike_proposal prop;
	struct ike_notify nt;
	struct ike_ke ke;
	const uint8_t *nr;
	size_t nrlen, girlen = 0;
	uint8_t gir[1024];
	uint16_t err_n = 0;
	const char *why = "malformed response";

	if (ike_sa_rekeying(sa))
		ike_sa_set_succ(sa, IKE_SUCC_NONE);
	for (size_t i = 0; i < msg->n_pl && !err_n; i++)
		if (msg->pl[i].type == IKEV2_PL_NOTIFY && ike_pl_notify(&msg->pl[i], &nt) == 0 &&
		    nt.type <= IKEV2_N_ERROR_MAX)
			err_n = nt.type;
	if (err_n == IKEV2_N_INVALID_KE_PAYLOAD && ike_msg_notify(msg, err_n, &nt) && nt.len == 2 &&
	    get_be16(nt.data) != t->dh_group && ++t->again <= 3) {
		t->dh_group = get_be16(nt.data);
		return IKE_TASK_AGAIN;
	}
	if (err_n) {
		xk_notice("IKE SA rekey refused conn=%s notify=%s", sa->conn->name,
			  ikev2_notify_name(err_n));
		drop_new(sa, t, "rekey refused");
		/* Section 2.25: busy; try again a little later. */
		if (err_n == IKEV2_N_TEMPORARY_FAILURE && sa->conn->ike_rekey_time_s)
			sa->ike_rekey_ms = ike_now(sa->eng) + 2000 + (uint64_t)(msg->hdr.mid % 3000);
		return IKE_TASK_DONE;
	}
	if (!n || !pl_sa || !pl_nr || !pl_ke || ike_pl_sa_one(pl_sa, &prop) < 0 ||
	    ike_pl_nonce(pl_nr, &nr, &nrlen) < 0 || ike_pl_ke(pl_ke, &ke) < 0)
		goto fail;
	if (ike_proposal_check_reply(sa->conn->ike, sa->conn->n_ike, &prop, false, &n->suite) < 0 ||
	    prop.protocol != IKEV2_PROTO_IKE || prop.spi_size != 8 ||
	    n->suite.dh != t->dh_group || ke.group != t->dh_group) {
		why = "responder chose a proposal we did not offer";
		goto fail;
	}
	n->spi_r = get_be64(prop.spi);
	girlen = sizeof(gir);
	if (!n->spi_r || ike_dh_derive(t->dh, ke.data, ke.len, gir, &girlen) < 0) {
		why = "invalid KE or SPI";
		goto fail;
	}
	memcpy(n->hs->nr, nr, nrlen);
	n->hs->nr_len = (uint16_t)nrlen;
	if (derive(n, sa, gir, girlen) < 0)
		goto fail;
	xk_wipe(gir, sizeof(gir));
	/* The peer's SA of a collision, unless it died meanwhile (its nonce stays). */
	theirs = peer_new_of(sa, t);
	if (theirs || t->coll_nonce) {
		/* Section 2.8.2: both rekeyed; the lowest nonce's exchange loses. */
		const uint8_t *lo = n->hs->ni;
		size_t lolen = n->hs->ni_len;

		if (nonce_cmp(n->hs->nr, n->hs->nr_len, lo, lolen) < 0) {
			lo = n->hs->nr;
			lolen = n->hs->nr_len;
		}
		if (nonce_cmp(lo, lolen, t->coll_nonce, t->coll_nonce_len) < 0) {
			/* Ours lost: the peer's new SA has the children already. */
			struct ike_task *del;

			xk_info("IKE rekey collision conn=%s: ours lost", sa->conn->name);
			adopt_peer(n, sa);
			if (theirs) {
				/* Any made on the old SA since go where the others went. */
				child_hand_over(sa, theirs);
				sa->successor_spi = ike_sa_local_spi(theirs);
			} else {
				/*
				 * The winner's SA died before this answer: so did
				 * the CHILD_SAs it held, here and at the peer
				 * (which deleted them with it, or finds this end
				 * gone).  Those it handed back go the same way.
				 */
				drop_children(sa);
				sa->successor_spi = 0;
			}
			/* Replaced all the same: the peer deletes it, and that is no outage. */
			ike_sa_set_succ(sa, IKE_SUCC_REPLACED);
			ike_sa_set_state(n, IKE_S_ESTABLISHED);
			n->established_ms = ike_now(sa->eng);
			ike_sa_set_succ(n, IKE_SUCC_REPLACED);
			ike_sa_drop_init(n);
			del = task_delete_ike_new();
			if (del)
				ike_sa_queue(n, del);
			t->new_spi = 0;
			forget_collision(t);
			return IKE_TASK_DONE;
		}
		/* Ours won: take the children back from the peer's new SA. */
		xk_info("IKE rekey collision conn=%s: ours won", sa->conn->name);
		if (theirs) {
			child_hand_over(theirs, sa);
			ike_sa_set_succ(theirs, IKE_SUCC_REPLACED);
		}
	}
	forget_collision(t);
	adopt(n, sa);
	ike_sa_established(n, true);
	ike_sa_drop_init(n);
	ike_stats_mut(sa->eng)->rekeys++;
	t->new_spi = 0;
	/* The old IKE SA is done: its rekey's initiator deletes it (2.18). */
	ike_sa_set_succ(sa, IKE_SUCC_REPLACED);
	tt = task_delete_ike_new();
	if (tt)
		ike_sa_queue(sa, tt);
	return IKE_TASK_DONE;
fail:
	xk_wipe(gir, sizeof(gir));
	xk_notice("IKE SA rekey failed conn=%s: %s", sa->conn->name, why);
	drop_new(sa, t, why);
	return IKE_TASK_DONE;
}

static void rekey_destroy(struct ike_task *tt)
{
	struct task_ike_rekey *t = (struct task_ike_rekey *)tt;
	/* Whichever IKE SA the task ran on, the new one is found by its SPI. */
	struct ike_sa *n = t->eng ? find_sa(t->eng, t->new_spi, 1u << IKE_S_NEW) : NULL;

	if (n)
		drop_sa(n, "rekey abandoned");
	forget_collision(t);
	ike_dh_free(t->dh);
	free(t);
}

static const struct ike_task_ops rekey_ops = {
	.name = "ike_rekey",
	.exch = IKEV2_EXCH_CREATE_CHILD_SA,
	.build_i = rekey_build,
	.process_i = rekey_process,
	.destroy = rekey_destroy,
};

struct ike_task *task_ike_rekey_new(void)
{
	struct task_ike_rekey *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->t.ops = &rekey_ops;
	return &t->t;
}

/* ---- responder ---- */

int task_ike_rekey_respond(struct ike_sa *sa, const struct ike_msg *req, struct ike_mb *mb,
			   uint16_t *notify)
{
	const struct ike_pl *pl_sa = ike_msg_find(req, IKEV2_PL_SA);
	const struct ike_pl *pl_ni = ike_msg_find(req, IKEV2_PL_NONCE);
	const struct ike_pl *pl_ke = ike_msg_find(req, IKEV2_PL_KE);
	struct ike_proposal *props = NULL, reply;
	struct ike_suite suite;
	struct task_ike_rekey *ours;
	struct ike_sa *n = NULL;
	struct ike_dh *dh = NULL;
	struct ike_ke ke;
	const uint8_t *ni;
	size_t nilen, chosen, girlen = sizeof(uint8_t[1024]), publen;
	uint8_t gir[1024], pub[1024];
	int nprops, err = -EINVAL;

	/*
	 * Section 2.25.2: not while it is going away, nor twice; nor while we
	 * replace it by reauthenticating (the peer tries again and finds it
	 * gone, or back to normal if that failed), nor while it is the new SA
	 * of our reauthentication, until the old one is told to go.
	 */
	if ((sa->succ != IKE_SUCC_NONE && sa->succ != IKE_SUCC_REKEYING) ||
	    sa->state != IKE_S_ESTABLISHED) {
		*notify = IKEV2_N_TEMPORARY_FAILURE;
		return -EBUSY;
	}
	if (!pl_sa || !pl_ni || !pl_ke || ike_pl_nonce(pl_ni, &ni, &nilen) < 0 ||
	    ike_pl_ke(pl_ke, &ke) < 0) {
		*notify = IKEV2_N_INVALID_SYNTAX;
		return -EINVAL;
	}
	props = calloc(IKE_MAX_PROPOSALS, sizeof(*props));
	if (!props) {
		*notify = IKEV2_N_TEMPORARY_FAILURE;
		return -ENOMEM;
	}
	nprops = ike_pl_sa(pl_sa, props, IKE_MAX_PROPOSALS);
	if (nprops <= 0 || ike_proposal_select(sa->conn->ike, sa->conn->n_ike, props,
					       (size_t)nprops, ke.group, false, &suite,
					       &chosen) < 0 ||
	    props[chosen].spi_size != 8 || !get_be64(props[chosen].spi)) {
		*notify = IKEV2_N_NO_PROPOSAL_CHOSEN;
		goto out;
	}
	if (suite.dh != ke.group) {
		uint8_t g[2];

		put_be16(g, suite.dh);
		ike_mb_notify(mb, 0, NULL, 0, IKEV2_N_INVALID_KE_PAYLOAD, g, 2);
		err = 0;
		goto out;
	}
	n = ike_sa_new(sa->eng, sa->conn, false);
	dh = ike_dh_new(suite.dh);
	publen = sizeof(pub);
	if (!n || !dh || ike_dh_derive(dh, ke.data, ke.len, gir, &girlen) < 0 ||
	    ike_dh_public(dh, pub, &publen) < 0) {
		*notify = IKEV2_N_INVALID_SYNTAX;
		goto out;
	}
	n->spi_i = get_be64(props[chosen].spi);
	n->suite = suite;
	n->frag = sa->frag;
	memcpy(n->hs->ni, ni, nilen);
	n->hs->ni_len = (uint16_t)nilen;
	n->hs->nr_len = IKEV2_NONCE_LEN;
	if (ike_nonce(sa->eng, n->hs->nr, n->hs->nr_len) < 0 || derive(n, sa, gir, girlen) < 0) {
		*notify = IKEV2_N_TEMPORARY_FAILURE;
		goto out;
	}
	ours = rekey_task_of(sa);
	if (ours) {
		/* Section 2.8.2: we rekey it too; settle it when our answer comes. */
		const uint8_t *lo = ni;
		size_t lolen = nilen;

		if (nonce_cmp(n->hs->nr, n->hs->nr_len, lo, lolen) < 0) {
			lo = n->hs->nr;
			lolen = n->hs->nr_len;
		}
		forget_collision(ours);
		ours->coll_nonce = malloc(lolen);
		if (ours->coll_nonce) {
			memcpy(ours->coll_nonce, lo, lolen);
			ours->coll_nonce_len = lolen;
			ours->peer_new_spi = n->spi_r;
			ike_sa_set_succ(sa, IKE_SUCC_COLLIDED);
		}
	}
	adopt(n, sa);
	ike_sa_established(n, true);
	ike_stats_mut(sa->eng)->rekeys++;
	if (!ours)
		ike_sa_set_succ(sa, IKE_SUCC_REPLACED); /* the peer will delete it */
	ike_proposal_from_suite(&suite, props[chosen].num, &reply);
	reply.spi_size = 8;
	put_be64(reply.spi, n->spi_r);
	ike_mb_sa(mb, &reply, 1);
	ike_mb_nonce(mb, n->hs->nr, n->hs->nr_len);
	ike_mb_ke(mb, suite.dh, pub, publen);
	ike_sa_drop_init(n);
	n = NULL;
	err = 0;
out:
	if (n)
		drop_sa(n, "rekey refused");
	ike_dh_free(dh);
	xk_wipe(gir, sizeof(gir));
	free(props);
	return err;
}
