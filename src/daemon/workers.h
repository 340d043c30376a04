/* SPDX-License-Identifier: ISC */
/*
 * The IKE worker threads: the engine's pending operations (ike.h,
 * ops.submit) run on them, and come back to the loop's thread, which
 * alone calls the engine (ike_engine_complete).
 */
#ifndef XD_WORKERS_H
#define XD_WORKERS_H

#include <stddef.h>
#include <stdint.h>

struct xiked;
struct ike_work;

/* How many IKE threads `threads` (0: the CPUs online) asks for, the loop's included. */
unsigned xd_threads_wanted(uint32_t threads);
/*
 * Ready the queue for threads - 1 workers (nothing for 1: the engine then
 * does its computations inline, as ops.submit_takes says; ocsp_work.h).  Before the engine is
 * made; works submitted before xd_workers_start() wait in the queue.
 * 0 or a negative errno (err says why).
 */
int xd_workers_init(struct xiked *d, unsigned threads, char *err, size_t errlen);
/* Start the workers, once the privileges are dropped: they inherit what is left. */
int xd_workers_start(struct xiked *d, char *err, size_t errlen);
/* Where xd_submit sends the computations when workers run; ctx is the daemon. */
void xd_workers_submit(void *ctx, struct ike_work *w);
/* Stop and join the workers (a work running is finished first). */
void xd_workers_stop(struct xiked *d);
/* After ike_engine_free: release every work not completed. */
void xd_workers_free(struct xiked *d);

struct xd_workers_stats {
	unsigned threads;     /* workers running */
	uint64_t queued;      /* works waiting for a worker now */
	uint64_t done;	      /* works run by workers */
	uint64_t inline_runs; /* run on the loop's thread: the queue was full */
};
void xd_workers_stats(const struct xiked *d, struct xd_workers_stats *out);

#endif
