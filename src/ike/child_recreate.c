/* SPDX-License-Identifier: ISC */
/*
 * CHILD_SAs that come back.  A CHILD_SA that goes while its IKE SA lives
 * (the peer deleted it, its hard lifetime passed, a rekey found the peer
 * without it) is made again with CREATE_CHILD_SA when its connection says
 * so (recreate_closed, recreate_lost).  The first attempt goes at once, a
 * refused one is tried again after 1 s, doubling to 32 s, and after
 * IKE_RECREATE_TRIES refusals in a row the IKE SA stays without it: a
 * peer that keeps refusing sees a handful of requests, not a storm.
 *
 * The state is the IKE SA's (recreate_ms, recreate_wait_ms,
 * recreate_tries, and recreate_want: which CHILD_SA configurations of the
 * connection to make again), never a pointer to the CHILD_SA that went: it
 * moves with the CHILD_SAs to the IKE SA that rekeys this one, and dies
 * with it.  One configuration is made at a time, the lowest first; the
 * back-off counts for the one under way.
 */
#include "ike/child.h"

#include "common/log.h"
#include "ike/engine.h"
#include "ike/task.h"

#define RECREATE_FIRST_MS 1000
#define RECREATE_MAX_MS 32000

/*
 * A CHILD_SA of that configuration that stands (installed, not replaced,
 * not retired): nothing to make again.
 */
bool child_recreate_satisfied(const struct ike_sa *sa, uint8_t cfg)
{
	for (const struct ike_child *c = sa->children; c; c = c->next)
		if (c->cfg == cfg && c->state == CHILD_S_INSTALLED &&
		    c->succ != CHILD_SUCC_REPLACED && !c->retire_ms)
			return true;
	return false;
}

/* Drop the configurations that stand again from the wanted ones. */
static void drop_satisfied(struct ike_sa *sa)
{
	for (uint8_t i = 0; i < IKE_MAX_CHILD_CFG; i++)
		if ((sa->recreate_want & (1u << i)) &&
		    (!sa->conn || i >= sa->conn->n_child || child_recreate_satisfied(sa, i)))
			sa->recreate_want &= ~(1u << i);
}

/* The lowest configuration wanted. */
static uint8_t next_wanted(const struct ike_sa *sa)
{
	uint8_t i = 0;

	while (i < IKE_MAX_CHILD_CFG - 1 && !(sa->recreate_want & (1u << i)))
		i++;
	return i;
}

static void due_at(struct ike_sa *sa, uint64_t when)
{
	sa->recreate_ms = when ? when : 1;
	ike_sa_schedule(sa);
}

void child_lost(struct ike_child *c, enum ike_child_end why)
{
	struct ike_sa *sa = c->sa;
	const struct ike_conn *conn = sa->conn;
	const struct ike_cconf *cc = child_cfg(c);
	bool again = false, busy;

	c->end = why;
	if (why == IKE_CHILD_END_CLOSED)
		again = cc->recreate_closed;
	else if (why == IKE_CHILD_END_LOST)
		again = cc->recreate_lost;
	if (!again || sa->state != IKE_S_ESTABLISHED || c->cfg >= IKE_MAX_CHILD_CFG ||
	    (sa->recreate_want & (1u << c->cfg)))
		return;
	/* One due or under way goes first; this one follows it. */
	busy = sa->recreate_ms || sa->recreate_tries;
	sa->recreate_want |= 1u << c->cfg;
	xk_info("CHILD_SA %08x of conn=%s child=%s %s: making it again", c->spi_in, conn->name,
		cc->name, why == IKE_CHILD_END_CLOSED ? "closed by the peer" : "lost");
	if (!busy)
		due_at(sa, ike_now(sa->eng));
}

void child_recreate_run(struct ike_sa *sa)
{
	struct ike_task *t;

	sa->recreate_ms = 0;
	drop_satisfied(sa);
	if (!sa->recreate_want) {
		sa->recreate_tries = 0;
		sa->recreate_wait_ms = 0;
		return;
	}
	t = task_child_recreate_new(next_wanted(sa));
	if (!t) {
		due_at(sa, ike_now(sa->eng) + RECREATE_FIRST_MS);
		return;
	}
	sa->recreate_tries++;
	ike_sa_queue(sa, t);
}

void child_recreate_result(struct ike_sa *sa, uint8_t cfg, bool ok)
{
	uint32_t w;

	if (ok || child_recreate_satisfied(sa, cfg)) {
		if (cfg < IKE_MAX_CHILD_CFG)
			sa->recreate_want &= ~(1u << cfg);
		sa->recreate_tries = 0;
		sa->recreate_wait_ms = 0;
		drop_satisfied(sa);
		/* The next configuration wanted, at once. */
		if (sa->recreate_want && sa->state == IKE_S_ESTABLISHED)
			due_at(sa, ike_now(sa->eng));
		return;
	}
	if (sa->state != IKE_S_ESTABLISHED)
		return;
	if (sa->recreate_tries >= IKE_RECREATE_TRIES) {
		xk_warn("conn=%s child=%s: CHILD_SA refused %u times, not asking again on this IKE SA",
			sa->conn->name, conn_child(sa->conn, cfg)->name, sa->recreate_tries);
		if (cfg < IKE_MAX_CHILD_CFG)
			sa->recreate_want &= ~(1u << cfg);
		sa->recreate_tries = 0;
		sa->recreate_wait_ms = 0;
		if (sa->recreate_want)
			due_at(sa, ike_now(sa->eng));
		return;
	}
	w = sa->recreate_wait_ms ? sa->recreate_wait_ms * 2 : RECREATE_FIRST_MS;
	if (w > RECREATE_MAX_MS)
		w = RECREATE_MAX_MS;
	sa->recreate_wait_ms = w;
	xk_info("conn=%s: making the CHILD_SA again in %u ms (attempt %u)", sa->conn->name, w,
		sa->recreate_tries + 1);
	due_at(sa, ike_now(sa->eng) + w);
}

void child_recreate_hand_over(struct ike_sa *from, struct ike_sa *to)
{
	if (!from->recreate_ms && !from->recreate_tries && !from->recreate_want)
		return;
	to->recreate_ms = from->recreate_ms;
	to->recreate_wait_ms = from->recreate_wait_ms;
	to->recreate_tries = from->recreate_tries;
	to->recreate_want |= from->recreate_want;
	from->recreate_ms = 0;
	from->recreate_tries = 0;
	from->recreate_wait_ms = 0;
	from->recreate_want = 0;
	if (to->recreate_ms)
		ike_sa_schedule(to);
}
