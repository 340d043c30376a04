/* SPDX-License-Identifier: ISC */
/*
 * Time: what is due on an SA, and doing it (retransmission, half-open
 * timeouts, liveness, rekeys, reauthentication, keepalives, the CHILD_SAs'
 * own deadlines).
 */
#include <math.h>

#include "common/log.h"
#include "ike/engine_int.h"

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

static void sa_timer(struct ike_sa *sa, uint64_t now)
{
	struct ike_engine *e = sa->eng;

	if (sa->expire_ms && now >= sa->expire_ms) {
		e->stats.timeouts++;
		ike_sa_kill(sa, 0, "half-open timeout");
		return;
	}
	/* A liveness check unanswered for dpd-timeout: the peer is dead. */
	if (sa->req_out && sa->dpd_sent_ms && sa->conn->dpd_timeout_s &&
	    now - sa->dpd_sent_ms >= (uint64_t)sa->conn->dpd_timeout_s * 1000) {
		peer_dead(sa);
		return;
	}
	if (sa->req_out && now >= sa->req_next_ms) {
		if (sa->req_tries >= e->cfg.retransmit_tries) {
			e->stats.timeouts++;
			if (sa->state == IKE_S_ESTABLISHED)
				peer_dead(sa);
			else
				ike_sa_kill(sa, 0, "peer not responding");
			return;
		}
		sa->req_tries++;
		/* Section 2.1: resend the same bytes, backing off exponentially. */
		sa->req_next_ms = now + (uint64_t)(e->cfg.retransmit_timeout_ms *
						   pow(e->cfg.retransmit_base, sa->req_tries));
		e->stats.retransmits++;
		xk_debug("retransmit %u spi=%016llx mid=%u", sa->req_tries,
			 (unsigned long long)ike_sa_local_spi(sa), sa->mid_next);
		ike_sa_send_raw(sa, sa->req.buf, sa->req.len);
	}
	child_timers(sa, now, true);
	if (sa->state != IKE_S_DEAD)
		ike_sa_timers(sa, now, true);
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
