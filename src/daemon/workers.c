/* SPDX-License-Identifier: ISC */
/*
 * IKE worker threads.  The engine hands out its expensive steps (a key
 * exchange, a signature) through ops.submit; they wait in a bounded queue
 * for a worker, which calls ike_work_run() and nothing else, then in the
 * done list until an ev_async wakes the loop, whose thread calls
 * ike_engine_complete() for each.  So the engine, the backend, the sockets
 * and the log stay single-threaded, as before; the workers touch only the
 * works and the two lists, under one mutex.
 *
 * A full queue is backpressure, not loss: the loop's thread runs the work
 * itself and completes it on the next turn of the loop.
 */
#define _GNU_SOURCE
#include "daemon/workers.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "daemon/daemon.h"
#include "daemon/loop.h"

/* Works waiting for a worker: enough for a burst of half-open SAs. */
#define XD_WORK_QUEUE 4096
/* Completed per lock on the loop's thread. */
#define XD_WORK_BATCH 64

struct xd_workers {
	struct xiked *d;
	pthread_t *tids;
	unsigned n, want; /* running, and to start */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	/* Waiting for a worker: a ring of XD_WORK_QUEUE. */
	struct ike_work *ring[XD_WORK_QUEUE];
	size_t head, len;
	/*
	 * Run, waiting for the loop.  Its room is reserved on the loop's
	 * thread for every work handed out (`out`: queued or running), so a
	 * worker never allocates nor drops a work it ran.
	 */
	struct ike_work **done;
	size_t done_len, done_cap, out;
	ev_async wake;
	uint64_t n_done, n_inline;
};

unsigned xd_threads_wanted(uint32_t threads)
{
	long n = threads ? (long)threads : sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	return n > XD_THREADS_MAX ? XD_THREADS_MAX : (unsigned)n;
}

/* With mu held, on the loop's thread: room in done for one more work. */
static bool done_reserve(struct xd_workers *ws)
{
	size_t need = ws->done_len + ws->out + 1;

	if (need > ws->done_cap) {
		size_t cap = ws->done_cap ? ws->done_cap : 256;
		struct ike_work **n;

		while (cap < need)
			cap *= 2;
		n = realloc(ws->done, cap * sizeof(*n));
		if (!n)
			return false;
		ws->done = n;
		ws->done_cap = cap;
	}
	return true;
}

static void *worker(void *arg)
{
	struct xd_workers *ws = arg;

	/* Named, so that top -H and /proc/PID/task/TID/comm tell the workers apart. */
	pthread_setname_np(pthread_self(), "xiked-work");
	pthread_mutex_lock(&ws->mu);
	for (;;) {
		struct ike_work *w;

		while (!ws->stop && !ws->len)
			pthread_cond_wait(&ws->cv, &ws->mu);
		if (ws->stop)
			break;
		w = ws->ring[ws->head];
		ws->head = (ws->head + 1) % XD_WORK_QUEUE;
		ws->len--;
		pthread_mutex_unlock(&ws->mu);
		ike_work_run(w);
		pthread_mutex_lock(&ws->mu);
		/* Room reserved at submit: see done_reserve. */
		ws->done[ws->done_len++] = w;
		ws->out--;
		ws->n_done++;
		/*
		 * Safe from any thread; several sends before the loop wakes are
		 * one.  Outside the mutex: the loop may be taking the list.
		 */
		pthread_mutex_unlock(&ws->mu);
		ev_async_send(ws->d->loop, &ws->wake);
		pthread_mutex_lock(&ws->mu);
	}
	pthread_mutex_unlock(&ws->mu);
	return NULL;
}

/* On the loop's thread: the engine takes back what the workers did. */
static void on_done(struct ev_loop *loop, ev_async *a, int revents)
{
	struct xd_workers *ws = container_of(a, struct xd_workers, wake);
	struct ike_work *batch[XD_WORK_BATCH];
	size_t n;

	(void)loop;
	(void)revents;
	do {
		pthread_mutex_lock(&ws->mu);
		n = ws->done_len < XD_WORK_BATCH ? ws->done_len : XD_WORK_BATCH;
		ws->done_len -= n;
		memcpy(batch, ws->done + ws->done_len, n * sizeof(batch[0]));
		pthread_mutex_unlock(&ws->mu);
		for (size_t i = 0; i < n; i++)
			ike_engine_complete(ws->d->eng, batch[i]);
	} while (n == XD_WORK_BATCH);
	xd_engine_kick(ws->d);
}

void xd_workers_submit(void *ctx, struct ike_work *w)
{
	struct xiked *d = ctx;
	struct xd_workers *ws = d->workers;
	bool full;

	pthread_mutex_lock(&ws->mu);
	if (!done_reserve(ws)) {
		pthread_mutex_unlock(&ws->mu);
		/* No memory: its SA waits on and times out, as for a lost datagram. */
		ike_work_free(w);
		return;
	}
	full = ws->len == XD_WORK_QUEUE;
	if (!full) {
		ws->ring[(ws->head + ws->len) % XD_WORK_QUEUE] = w;
		ws->len++;
		ws->out++;
		pthread_cond_signal(&ws->cv);
	}
	pthread_mutex_unlock(&ws->mu);
	if (!full)
		return;
	/*
	 * Full: done here, completed when the loop comes round (the engine
	 * may not be called back from inside ops.submit).
	 */
	ike_work_run(w);
	pthread_mutex_lock(&ws->mu);
	ws->n_inline++;
	ws->done[ws->done_len++] = w;
	pthread_mutex_unlock(&ws->mu);
	ev_async_send(d->loop, &ws->wake);
}

int xd_workers_init(struct xiked *d, unsigned threads, char *err, size_t errlen)
{
	struct xd_workers *ws;

	if (threads <= 1)
		return 0;
	ws = calloc(1, sizeof(*ws));
	if (ws)
		ws->tids = calloc(threads - 1, sizeof(*ws->tids));
	if (!ws || !ws->tids) {
		free(ws);
		snprintf(err, errlen, "threads: out of memory");
		return -ENOMEM;
	}
	ws->d = d;
	ws->want = threads - 1;
	pthread_mutex_init(&ws->mu, NULL);
	pthread_cond_init(&ws->cv, NULL);
	ev_async_init(&ws->wake, on_done);
	ev_async_start(d->loop, &ws->wake);
	d->workers = ws;
	return 0;
}

int xd_workers_start(struct xiked *d, char *err, size_t errlen)
{
	struct xd_workers *ws = d->workers;
	sigset_t all, old;
	int r = 0;

	if (!ws)
		return 0;
	/* Signals stay with the loop's thread (libev's signal watchers). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	while (ws->n < ws->want) {
		r = pthread_create(&ws->tids[ws->n], NULL, worker, ws);
		if (r) {
			snprintf(err, errlen, "threads: cannot start worker %u: %s", ws->n + 1,
				 strerror(r));
			break;
		}
		ws->n++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		xd_workers_stop(d);
		return -r;
	}
	xk_info("%u IKE worker thread(s) started", ws->n);
	return 0;
}

void xd_workers_stop(struct xiked *d)
{
	struct xd_workers *ws = d->workers;

	if (!ws)
		return;
	pthread_mutex_lock(&ws->mu);
	ws->stop = true;
	pthread_cond_broadcast(&ws->cv);
	pthread_mutex_unlock(&ws->mu);
	for (unsigned i = 0; i < ws->n; i++)
		pthread_join(ws->tids[i], NULL);
	ws->n = 0;
	ev_async_stop(d->loop, &ws->wake);
}

void xd_workers_free(struct xiked *d)
{
	struct xd_workers *ws = d->workers;

	if (!ws)
		return;
	/* The engine is gone: what it handed out is released, not completed. */
	for (; ws->len; ws->len--, ws->head = (ws->head + 1) % XD_WORK_QUEUE)
		ike_work_free(ws->ring[ws->head]);
	while (ws->done_len)
		ike_work_free(ws->done[--ws->done_len]);
	free(ws->done);
	free(ws->tids);
	pthread_mutex_destroy(&ws->mu);
	pthread_cond_destroy(&ws->cv);
	free(ws);
	d->workers = NULL;
}

void xd_workers_stats(const struct xiked *d, struct xd_workers_stats *out)
{
	struct xd_workers *ws = d->workers;

	memset(out, 0, sizeof(*out));
	if (!ws)
		return;
	pthread_mutex_lock(&ws->mu);
	out->threads = ws->n;
	out->queued = ws->len;
	out->done = ws->n_done;
	out->inline_runs = ws->n_inline;
	pthread_mutex_unlock(&ws->mu);
}
