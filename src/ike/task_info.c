/* SPDX-License-Identifier: ISC */
/*
 * INFORMATIONAL exchanges (RFC 7296 section 1.4): DELETE of the IKE SA or
 * of CHILD_SAs (1.4.1), and the empty request that checks liveness.
 */
#include "ike/task.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "ike/child.h"
#include "ike/engine.h"

struct task_info {
	struct ike_task t;
	uint32_t spi_in; /* delete_child: the CHILD_SA, by our inbound SPI */
	bool retire;     /* ... replaced by a rekey: its inbound SA lingers */
	bool follow;     /* delete_ike for a terminate: the rekeyed SA's successor too */
	bool gone;       /* delete_child of one we no longer keep: only the peer's half */
};

static void info_destroy(struct ike_task *t)
{
	free(t);
}

static struct ike_task *info_new(const struct ike_task_ops *ops, uint32_t spi_in)
{
	struct task_info *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->t.ops = ops;
	t->spi_in = spi_in;
	return &t->t;
}

/* ---- DELETE of the IKE SA ---- */

static int delete_ike_build(struct ike_task *tt, struct ike_sa *sa, struct ike_mb *mb)
{
	struct task_info *t = (struct task_info *)tt;
	struct ike_sa *succ = sa->succ == IKE_SUCC_REPLACED && sa->successor_spi
				      ? ike_engine_find_sa(sa->eng, sa->successor_spi)
				      : NULL;

	/*
	 * A terminate that waited behind an IKE SA rekey: what it meant to
	 * end lives on in the new SA, which goes too.
	 */
	if (t->follow && succ && succ->state == IKE_S_ESTABLISHED) {
		struct ike_task *next = task_terminate_new();

		if (next)
			ike_sa_queue(succ, next);
	}
	/*
	 * Replaced by a reauthentication: nothing more goes out on the
	 * CHILD_SAs the new IKE SA made anew (even one a rekey finished
	 * meanwhile), for the peer deletes them on this request, before we
	 * read its answer.
	 */
	if (succ)
		child_retire_replaced(sa, succ);
	ike_mb_delete(mb, IKEV2_PROTO_IKE, 0, NULL, 0);
	ike_sa_set_state(sa, IKE_S_DELETING);
	return 0;
}

static enum ike_task_result delete_ike_process(struct ike_task *t, struct ike_sa *sa,
					       const struct ike_msg *msg)
{
	(void)t;
	(void)msg;
	/* Section 1.4.1: the (empty) response closes the IKE SA. */
	ike_sa_kill(sa, 0, "deleted");
	return IKE_TASK_DONE;
}

static const struct ike_task_ops delete_ike_ops = {
	.name = "ike_delete",
	.exch = IKEV2_EXCH_INFORMATIONAL,
	.build_i = delete_ike_build,
	.process_i = delete_ike_process,
	.destroy = info_destroy,
};

struct ike_task *task_delete_ike_new(void)
{
	return info_new(&delete_ike_ops, 0);
}

struct ike_task *task_terminate_new(void)
{
	struct ike_task *t = info_new(&delete_ike_ops, 0);

	if (t)
		((struct task_info *)t)->follow = true;
	return t;
}

/* ---- DELETE of one CHILD_SA ---- */

static int delete_child_build(struct ike_task *tt, struct ike_sa *sa, struct ike_mb *mb)
{
	struct task_info *t = (struct task_info *)tt;
	/* One gone is not looked for: its SPI may name a newer CHILD_SA by now. */
	struct ike_child *c = t->gone ? NULL : child_find_in(sa, t->spi_in, CHILD_LIVE);
	uint8_t spi[4];

	/* Moved with an IKE SA rekey (the peer's half too): delete it there. */
	if (!c && sa->moved_to_spi)
		return -ENOENT;
	/* Gone meanwhile (the peer deleted it first): nothing to do. */
	if (!c && !t->gone)
		return -ECANCELED;
	put_be32(spi, t->spi_in);
	ike_mb_delete(mb, IKEV2_PROTO_ESP, 4, spi, 1);
	if (!c)
		return 0;
	if (c->state == CHILD_S_INSTALLED)
		child_set_state(c, CHILD_S_DELETING);
	return 0;
}

static enum ike_task_result delete_child_process(struct ike_task *tt, struct ike_sa *sa,
						 const struct ike_msg *msg)
{
	struct task_info *t = (struct task_info *)tt;
	/* An IKE SA rekey may have moved it while the request was out. */
	struct ike_child *c = t->gone ? NULL : child_find_moved(sa, t->spi_in, CHILD_LIVE);

	(void)msg;
	if (c && t->retire)
		child_retire(c, 5000);
	else if (c)
		child_remove(c);
	return IKE_TASK_DONE;
}

/*
 * Its IKE SA dies first: a CHILD_SA that an IKE SA rekey moved on is
 * deleted there instead (the peer has it there too), one we no longer
 * keep is announced there.
 */
static void delete_child_orphan(struct ike_task *tt, struct ike_sa *sa)
{
	struct task_info *t = (struct task_info *)tt;
	struct ike_sa *home = child_home(sa);
	struct ike_child *c;
	struct ike_task *again;

	if (home == sa)
		return;
	c = t->gone ? NULL : child_find_in(home, t->spi_in, CHILD_LIVE);
	if (!t->gone && !c)
		return;
	again = t->gone ? task_delete_gone_new(t->spi_in)
			: task_delete_child_new(t->spi_in, t->retire);
	if (again)
		ike_sa_queue(home, again);
}

static const struct ike_task_ops delete_child_ops = {
	.name = "child_delete",
	.exch = IKEV2_EXCH_INFORMATIONAL,
	.build_i = delete_child_build,
	.process_i = delete_child_process,
	.destroy = info_destroy,
	.orphan = delete_child_orphan,
};

struct ike_task *task_delete_child_new(uint32_t spi_in, bool retire)
{
	struct ike_task *t = info_new(&delete_child_ops, spi_in);

	if (t)
		((struct task_info *)t)->retire = retire;
	return t;
}

struct ike_task *task_delete_gone_new(uint32_t spi_in)
{
	struct ike_task *t = info_new(&delete_child_ops, spi_in);

	if (t)
		((struct task_info *)t)->gone = true;
	return t;
}

/* ---- liveness ---- */

static int liveness_build(struct ike_task *t, struct ike_sa *sa, struct ike_mb *mb)
{
	(void)t;
	(void)sa;
	(void)mb;
	return 0;
}

static enum ike_task_result liveness_process(struct ike_task *t, struct ike_sa *sa,
					     const struct ike_msg *msg)
{
	(void)t;
	(void)msg;
	xk_debug("liveness check answered conn=%s", sa->conn->name);
	return IKE_TASK_DONE;
}

static const struct ike_task_ops liveness_ops = {
	.name = "liveness",
	.exch = IKEV2_EXCH_INFORMATIONAL,
	.build_i = liveness_build,
	.process_i = liveness_process,
	.destroy = info_destroy,
};

struct ike_task *task_liveness_new(void)
{
	return info_new(&liveness_ops, 0);
}

/* ---- responder ---- */

/*
 * The peer deletes an SPI we do not know: perhaps that of a CHILD_SA our
 * request is making, whose answer the DELETE overtook.  Noted on those,
 * so that the answer does not install what the peer has already deleted.
 */
static void deleted_before_answer(struct ike_sa *sa, uint32_t spi)
{
	for (struct ike_child *c = sa->children; c; c = c->next)
		if (c->state == CHILD_S_CREATING)
			c->peer_deleted = spi;
}

int task_info_respond(struct ike_sa *sa, const struct ike_msg *req, struct ike_mb *mb,
		      uint16_t *notify)
{
	uint8_t spis[4 * 64];
	uint16_t n_spis = 0;

	/* INFORMATIONAL is for established SAs (or one being deleted). */
	if (sa->state != IKE_S_ESTABLISHED && sa->state != IKE_S_DELETING) {
		*notify = 0;
		return -EINVAL;
	}
	for (size_t i = 0; i < req->n_pl; i++) {
		const struct ike_pl *pl = &req->pl[i];
		struct ike_delete d;
		struct ike_notify n;

		if (pl->type == IKEV2_PL_NOTIFY) {
			if (ike_pl_notify(pl, &n) < 0) {
				*notify = IKEV2_N_INVALID_SYNTAX;
				return -EINVAL;
			}
			/* Section 2.21.2: an AUTHENTICATION_FAILED here ends the SA. */
			if (n.type == IKEV2_N_AUTHENTICATION_FAILED && !sa->kill_after_response) {
				xk_notice("authentication failed conn=%s: peer rejected our authentication",
					  sa->conn ? sa->conn->name : "");
				ike_emit(sa, IKE_EV_AUTH_FAILED, NULL, n.type,
					 "peer rejected our authentication");
				sa->kill_after_response = true;
			}
			continue;
		}
		if (pl->type != IKEV2_PL_DELETE)
			continue;
		if (ike_pl_delete(pl, &d) < 0) {
			*notify = IKEV2_N_INVALID_SYNTAX;
			return -EINVAL;
		}
		if (d.proto == IKEV2_PROTO_IKE) {
			/*
			 * Section 1.4.1: answer with an empty message, then
			 * forget.  A reauthentication's successors take the
			 * traffic over first: once the peer has the answer,
			 * it drops the old inbound SAs.  Unless they go back
			 * to the IKE SA they came from: the peer's SA of a
			 * rekey collision, deleted by the loser (2.8.2).
			 */
			ike_rekey_sa_gone(sa);
			child_switch_to_successors(sa);
			sa->kill_after_response = true;
			continue;
		}
		if (d.proto != IKEV2_PROTO_ESP)
			continue;
		for (uint16_t j = 0; j < d.n_spi; j++) {
			/*
			 * Never one still CREATING: its exchange owns it.  One an
			 * IKE SA rekey moved on (the peer may not know yet) is found
			 * where it went.
			 */
			struct ike_child *c = child_find_out_moved(sa, get_be32(d.spis + 4 * j),
								   CHILD_LIVE);

			if (!c) {
				/* Gone (nothing to say, 1.4.1), or not yet ours. */
				deleted_before_answer(sa, get_be32(d.spis + 4 * j));
				continue;
			}
			/* Our half of the pair goes back, unless we are deleting it too. */
			if ((c->state == CHILD_S_INSTALLED || c->succ == CHILD_SUCC_REPLACED) &&
			    n_spis < 64)
				put_be32(spis + 4 * n_spis++, c->spi_in);
			/*
			 * The initiator of a rekey deletes the old CHILD_SA once it
			 * receives on the new one: now the new one may send.
			 */
			if (c->replaced_by)
				child_send_pending(sa, c->replaced_by);
			if (c->succ == CHILD_SUCC_REPLACED) {
				child_retire(c, 5000);
				continue;
			}
			/* Closed by the peer, not one we were deleting ourselves. */
			if (c->state == CHILD_S_INSTALLED)
				child_lost(c, IKE_CHILD_END_CLOSED);
			child_remove(c);
		}
	}
	if (n_spis && !sa->kill_after_response)
		ike_mb_delete(mb, IKEV2_PROTO_ESP, 4, spis, n_spis);
	return 0;
}
