/* SPDX-License-Identifier: ISC */
/*
 * The clock and the engine's timer: one ev_timer set to the engine's next
 * deadline.  Whoever fed the engine (a datagram, a request, an event)
 * calls xd_engine_kick() afterwards; the timer itself only ticks.
 */
#include <time.h>

#include "daemon/daemon.h"
#include "daemon/loop.h"

uint64_t xd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t xd_engine_now(void *ctx)
{
	(void)ctx;
	return xd_now_ms();
}

void xd_engine_kick(struct xiked *d)
{
	uint64_t next = ike_engine_next_timeout(d->eng), now = xd_now_ms();

	ev_timer_stop(d->loop, &d->timer);
	if (next == UINT64_MAX)
		return;
	ev_timer_set(&d->timer, next > now ? (double)(next - now) / 1000.0 : 0.0, 0.0);
	ev_timer_start(d->loop, &d->timer);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct xiked *d = container_of(w, struct xiked, timer);

	(void)loop;
	(void)revents;
	ike_engine_tick(d->eng);
	xd_engine_kick(d);
}

void xd_loop_init(struct xiked *d)
{
	ev_init(&d->timer, on_timer);
}
