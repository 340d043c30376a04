/* SPDX-License-Identifier: ISC */
/*
 * Time.  What is due on an IKE SA and its CHILD_SAs is computed by pure
 * functions (the next deadline, and the set of what is due now); one
 * function, sa_timer(), turns what is due into actions and tasks.  Every
 * deadline is a moment of the engine's clock in milliseconds.
 */
#include <errno.h>
#include <math.h>

#include "common/log.h"
#include "ike/child.h"
#include "ike/engine_int.h"
#include "ike/reauth.h"
#include "ike/task.h"

/* What can be due on an IKE SA, in the order sa_timer() acts on it. */
enum sa_due {
	DUE_HALF_OPEN = 1 << 0,	 /* never established in time */
	DUE_PEER_DEAD = 1 << 1,	 /* a liveness check unanswered for dpd-timeout */
	DUE_RESEND = 1 << 2,	 /* the request we have out, once more */
	DUE_CHILDREN = 1 << 3,	 /* something of a CHILD_SA (child_due) */
	DUE_REAUTH = 1 << 4,	 /* reauthentication (section 2.8.3) */
	DUE_IKE_REKEY = 1 << 5,	 /* IKE SA rekey (section 2.8) */
	DUE_DPD = 1 << 6,	 /* a quiet peer may be asked whether it lives */
	DUE_KEEPALIVE = 1 << 7,	 /* a NAT keepalive (RFC 3948 section 4) */
	DUE_RECREATE = 1 << 8,	 /* a lost CHILD_SA is made again (child_recreate.c) */
};

/* What can be due on a CHILD_SA. */
enum child_due {
	DUE_RETIRE = 1 << 0,	 /* a retired CHILD_SA goes */
	DUE_SEND_PENDING = 1 << 1, /* a rekey responder's held outbound SA goes in */
	DUE_REKEY_AGAIN = 1 << 2, /* a rekey refused as busy is tried again */
};

static void earliest(uint64_t *next, uint64_t t)
{
	if (t && t < *next)
		*next = t;
}

static uint64_t child_deadline(const struct ike_child *c)
{
	uint64_t next = UINT64_MAX;

	earliest(&next, c->retire_ms);
	if (c->pending_out)
		earliest(&next, c->pending_ms);
	earliest(&next, c->retry_ms);
	return next;
}

static unsigned child_due(const struct ike_child *c, uint64_t now)
{
	unsigned due = 0;

	if (c->retire_ms && now >= c->retire_ms)
		due |= DUE_RETIRE;
	if (c->pending_out && now >= c->pending_ms)
		due |= DUE_SEND_PENDING;
	if (c->retry_ms && now >= c->retry_ms)
		due |= DUE_REKEY_AGAIN;
	return due;
}

uint64_t ike_sa_deadline(const struct ike_sa *sa)
{
	uint64_t next = UINT64_MAX;

	if (sa->state == IKE_S_DEAD)
		return next;
	if (sa->req_out)
		earliest(&next, sa->req_next_ms);
	earliest(&next, sa->expire_ms);
	for (const struct ike_child *c = sa->children; c; c = c->next)
		earliest(&next, child_deadline(c));
	if (sa->state == IKE_S_ESTABLISHED) {
		earliest(&next, sa->ike_rekey_ms);
		earliest(&next, sa->reauth_ms);
		earliest(&next, sa->dpd_ms);
		earliest(&next, sa->keepalive_ms);
		earliest(&next, sa->recreate_ms);
	}
	return next;
}

static unsigned sa_due(const struct ike_sa *sa, uint64_t now)
{
	unsigned due = 0;

	if (sa->expire_ms && now >= sa->expire_ms)
		due |= DUE_HALF_OPEN;
	if (sa->req_out && sa->dpd_sent_ms && sa->conn->dpd_timeout_s &&
	    now - sa->dpd_sent_ms >= (uint64_t)sa->conn->dpd_timeout_s * 1000)
		due |= DUE_PEER_DEAD;
	if (sa->req_out && now >= sa->req_next_ms)
		due |= DUE_RESEND;
	for (const struct ike_child *c = sa->children; c; c = c->next)
		if (child_due(c, now))
			due |= DUE_CHILDREN;
	if (sa->state != IKE_S_ESTABLISHED)
		return due;
	if (sa->reauth_ms && now >= sa->reauth_ms)
		due |= DUE_REAUTH;
	if (sa->ike_rekey_ms && now >= sa->ike_rekey_ms)
		due |= DUE_IKE_REKEY;
	if (sa->dpd_ms && now >= sa->dpd_ms)
		due |= DUE_DPD;
	if (sa->keepalive_ms && now >= sa->keepalive_ms)
		due |= DUE_KEEPALIVE;
	if (sa->recreate_ms && now >= sa->recreate_ms)
		due |= DUE_RECREATE;
	return due;
}

uint64_t ike_engine_next_timeout(struct ike_engine *e)
{
	return e->heap_len ? e->heap[0]->timer_ms : UINT64_MAX;
}

/*
 * Section 2.4: no authenticated answer to our requests, so the peer is gone.
 * Its SAs go without a word to it (it would not hear one).
 */
static void peer_dead(struct ike_sa *sa)
{
	sa->eng->stats.dpd_dead++;
	xk_notice("peer dead conn=%s spi=%016llx_%016llx", sa->conn ? sa->conn->name : "",
		  (unsigned long long)sa->spi_i, (unsigned long long)sa->spi_r);
	ike_emit(sa, IKE_EV_PEER_DEAD, NULL, 0, "no answer to liveness checks");
	ike_sa_kill(sa, 0, "peer dead");
}

/* Section 2.1: resend the same bytes, backing off exponentially; or give up. */
static void resend(struct ike_sa *sa, uint64_t now)
{
	struct ike_engine *e = sa->eng;

	if (sa->req_tries >= e->cfg.retransmit_tries) {
		e->stats.timeouts++;
		if (sa->state == IKE_S_ESTABLISHED)
			peer_dead(sa);
		else if (sa->hs && sa->hs->init_error)
			/* Only an unauthenticated refusal came, the same after resending. */
			ike_sa_kill(sa, sa->hs->init_error, "error notify from responder");
		else
			ike_sa_kill(sa, 0, "peer not responding");
		return;
	}
	sa->req_tries++;
	sa->req_next_ms = now + (uint64_t)(e->cfg.retransmit_timeout_ms *
					   pow(e->cfg.retransmit_base, sa->req_tries));
	e->stats.retransmits++;
	xk_debug("retransmit %u spi=%016llx mid=%u", sa->req_tries,
		 (unsigned long long)ike_sa_local_spi(sa), sa->mid_next);
	/* All fragments again, as they were sealed (RFC 7383 section 2.6.1). */
	ike_pkt_send(sa, &sa->req, &sa->local, &sa->remote);
}

static void child_timer(struct ike_sa *sa, uint64_t now)
{
	struct ike_child *c, *nx;

	for (c = sa->children; c; c = nx) {
		unsigned due = child_due(c, now);

		nx = c->next;
		if (due & DUE_RETIRE) {
			child_remove(c);
			continue;
		}
		if (due & DUE_SEND_PENDING)
			child_send_pending(sa, c);
		if (due & DUE_REKEY_AGAIN) {
			struct ike_task *t = task_child_new(c->spi_in);

			c->retry_ms = 0;
			if (t)
				ike_sa_queue(sa, t);
		}
	}
}

static void reauth(struct ike_sa *sa, uint64_t now)
{
	int err;

	sa->reauth_ms = 0;
	err = ike_reauth_start(sa);
	/* An IKE SA rekey is under way (its new SA takes the time along). */
	if ((err == -EALREADY && ike_sa_rekeying(sa)) || err == -ENOMEM)
		sa->reauth_ms = now + 5000;
}

static void ike_rekey(struct ike_sa *sa, uint64_t now)
{
	struct ike_task *t;

	/* Being reauthenticated (or the new SA of one): that brings new keys, or this waits. */
	if (sa->succ == IKE_SUCC_REAUTHING || sa->succ == IKE_SUCC_REAUTH_NEW) {
		sa->ike_rekey_ms = now + 10000;
		return;
	}
	sa->ike_rekey_ms = 0;
	t = task_ike_rekey_new();
	if (t)
		ike_sa_queue(sa, t);
}

/* Section 2.4: silence for dpd seconds, so ask whether the peer lives. */
static void dpd(struct ike_sa *sa, uint64_t now)
{
	uint64_t every = (uint64_t)sa->conn->dpd_s * 1000;
	struct ike_task *t;

	if (now - sa->last_rx_ms < every || sa->req_out || sa->tasks) {
		/* Heard from lately, or busy: the next check counts from then. */
		sa->dpd_ms = sa->last_rx_ms + every;
		if (sa->dpd_ms <= now)
			sa->dpd_ms = now + every;
		return;
	}
	sa->dpd_ms = now + every;
	t = task_liveness_new();
	if (t) {
		sa->dpd_sent_ms = now;
		ike_sa_queue(sa, t);
	}
}

/* Everything due on sa, in order; each step may end the SA. */
static void sa_timer(struct ike_sa *sa, uint64_t now)
{
	unsigned due = sa_due(sa, now);

	if (due & DUE_HALF_OPEN) {
		sa->eng->stats.timeouts++;
		ike_sa_kill(sa, 0, "half-open timeout");
		return;
	}
	if (due & DUE_PEER_DEAD) {
		peer_dead(sa);
		return;
	}
	if (due & DUE_RESEND) {
		resend(sa, now);
		if (sa->state == IKE_S_DEAD)
			return;
	}
	if (due & DUE_CHILDREN)
		child_timer(sa, now);
	if (sa->state == IKE_S_ESTABLISHED && (due & DUE_REAUTH))
		reauth(sa, now);
	if (sa->state == IKE_S_ESTABLISHED && (due & DUE_IKE_REKEY))
		ike_rekey(sa, now);
	if (sa->state == IKE_S_ESTABLISHED && (due & DUE_DPD))
		dpd(sa, now);
	if (sa->state == IKE_S_ESTABLISHED && (due & DUE_RECREATE))
		child_recreate_run(sa);
	if (sa->state == IKE_S_ESTABLISHED && (due & DUE_KEEPALIVE)) {
		ike_sa_keepalive(sa);
		sa->keepalive_ms = now + sa->eng->cfg.keepalive_ms;
	}
	if (sa->state != IKE_S_DEAD)
		ike_sa_schedule(sa);
}

void ike_engine_tick(struct ike_engine *e)
{
	uint64_t now = ike_now(e);

	while (e->heap_len && e->heap[0]->timer_ms <= now)
		sa_timer(e->heap[0], now);
	ike_engine_reap(e);
}
