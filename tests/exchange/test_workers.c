/* SPDX-License-Identifier: ISC */
/*
 * xiked's worker threads (src/daemon/workers.c) with a real engine: the
 * responder of a world hands its key exchanges to three workers, and the
 * loop (libev, as in xiked) completes them as they come back, in whatever
 * order the threads finish.  Many handshakes must all come up; then a
 * stop with works still queued must release them without a leak or a
 * race.  Built with ThreadSanitizer (build-tsan), this is the cheap race
 * check of the pool; tools/tsan-workers is the one under real load.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "daemon/daemon.h"
#include "daemon/loop.h"
#include "daemon/workers.h"
#include "world.h"

#define N 200

static struct xiked xd;

static void to_pool(struct world *w, int idx, struct ike_work *wk)
{
	(void)w;
	(void)idx;
	xd_workers_submit(&xd, wk);
}

/* Deliver everything, and let the loop take back what the workers did. */
static void pump(struct world *w, bool block)
{
	while (w->q_len)
		world_deliver(w, 0);
	ev_run(xd.loop, block ? EVRUN_ONCE : EVRUN_NOWAIT);
}

int main(void)
{
	static struct world w;
	struct ike_engine_cfg cfg;
	struct xd_workers_stats ws;
	struct ike_stats s0, s1;
	char err[128];

	ike_engine_cfg_defaults(&cfg);
	cfg.cookie_threshold = 10000;
	cfg.cookie_threshold_ip = 10000;
	cfg.half_open_max_ip = 10000;
	world_init(&w, NULL, &cfg, false);
	world_async(&w, 1, &cfg);
	w.submit_hook = to_pool;
	CHECK_INT(world_conn(&w, 0, "c", "aes128gcm16-prfsha256-x25519", "aes128gcm16", "s"), 0);
	CHECK_INT(world_conn(&w, 1, "c", "aes128gcm16-prfsha256-x25519", "aes128gcm16", "s"), 0);

	xd.loop = ev_loop_new(EVFLAG_AUTO);
	xd.eng = w.p[1].e;
	xd_loop_init(&xd);
	CHECK_INT(xd_workers_init(&xd, 4, err, sizeof(err)), 0);
	CHECK_INT(xd_workers_start(&xd, err, sizeof(err)), 0);

	/* In waves of 40: the world's wire holds 64 datagrams. */
	for (unsigned guard = 0, started = 0; guard < 100000; guard++) {
		ike_engine_stats(w.p[0].e, &s0);
		ike_engine_stats(w.p[1].e, &s1);
		if (s0.handshakes_ok + s0.handshakes_failed >= N && !w.q_len)
			break;
		if (started < N && s0.handshakes_ok + s0.handshakes_failed >= started) {
			for (int i = 0; i < 40 && started < N; i++, started++)
				CHECK_INT(ike_engine_initiate(w.p[0].e, "c", NULL), 0);
		}
		/* Block on the loop only when a work is out and nothing else moves. */
		pump(&w, !w.q_len && s1.work_pending);
	}
	ike_engine_stats(w.p[0].e, &s0);
	ike_engine_stats(w.p[1].e, &s1);
	CHECK_INT(s0.handshakes_ok, N);
	CHECK_INT(s1.handshakes_ok, N);
	CHECK_INT(s1.work_submitted, N);
	CHECK_INT(s1.work_pending, 0);
	CHECK_INT(s0.retransmits, 0);
	xd_workers_stats(&xd, &ws);
	CHECK_INT(ws.threads, 3);
	CHECK_INT(ws.done + ws.inline_runs, N);
	CHECK_INT(ws.queued, 0);

	/* Stopped with works out: joined, then released after the engine. */
	for (int i = 0; i < 40; i++)
		ike_engine_initiate(w.p[0].e, "c", NULL);
	while (w.q_len)
		world_deliver(&w, 0);
	ike_engine_stats(w.p[1].e, &s1);
	CHECK_INT(s1.work_submitted, N + 40);
	xd_workers_stop(&xd);
	world_free(&w);
	xd_workers_free(&xd);
	CHECK(xd.workers == NULL);
	ev_loop_destroy(xd.loop);
	return check_done("workers");
}
