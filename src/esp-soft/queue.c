/* SPDX-License-Identifier: ISC */
/*
 * The event and IKE queues (queue.h): a bounded ring under a mutex, and
 * an eventfd that is readable while the ring holds anything.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "esp-soft/queue.h"
#include "esp-soft/state.h"

static int queue_init(struct esp_queue *q, unsigned cap, size_t size)
{
	memset(q, 0, sizeof(*q));
	q->fd = -1;
	pthread_mutex_init(&q->lock, NULL);
	q->ready = true;
	q->ring = calloc(cap, size);
	if (!q->ring)
		return -ENOMEM;
	q->cap = cap;
	q->size = size;
	q->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return q->fd < 0 ? -errno : 0;
}

static void *queue_slot(struct esp_queue *q, unsigned i)
{
	return (uint8_t *)q->ring + (size_t)((q->head + i) % q->cap) * q->size;
}

/* Copy an item in; false (and counted as lost) if the queue is full. */
static bool queue_push(struct esp_queue *q, const void *item)
{
	bool was_empty;
	uint64_t one = 1;

	pthread_mutex_lock(&q->lock);
	if (q->n == q->cap) {
		pthread_mutex_unlock(&q->lock);
		atomic_fetch_add_explicit(&q->lost, 1, memory_order_relaxed);
		return false;
	}
	memcpy(queue_slot(q, q->n), item, q->size);
	was_empty = q->n++ == 0;
	pthread_mutex_unlock(&q->lock);
	/* Only the first item wakes the reader; it drains all. */
	if (was_empty && write(q->fd, &one, sizeof(one)) < 0) {
		/* eventfd full cannot happen at one write per empty->busy */
	}
	return true;
}

/* Move up to max items out; returns how many. */
static unsigned queue_pop(struct esp_queue *q, void *out, unsigned max)
{
	unsigned n;
	uint64_t v;

	if (read(q->fd, &v, sizeof(v)) < 0) {
		/* nothing signalled: still look, an item may race the signal */
	}
	pthread_mutex_lock(&q->lock);
	n = q->n < max ? q->n : max;
	for (unsigned i = 0; i < n; i++)
		memcpy((uint8_t *)out + (size_t)i * q->size, queue_slot(q, i), q->size);
	q->head = (q->head + n) % q->cap;
	q->n -= n;
	if (q->n) {
		uint64_t one = 1;

		/* Left some behind: stay readable. */
		if (write(q->fd, &one, sizeof(one)) < 0) {
		}
	}
	pthread_mutex_unlock(&q->lock);
	return n;
}

static void queue_free(struct esp_queue *q)
{
	/* Never set up: esp_soft_new failed before it. */
	if (!q->ready)
		return;
	free(q->ring);
	if (q->fd >= 0)
		close(q->fd);
	pthread_mutex_destroy(&q->lock);
}

int esp_queues_init(struct esp_soft *es)
{
	int e = queue_init(&es->events, es->cfg.event_queue, sizeof(struct xk_event));

	if (!e)
		e = queue_init(&es->ike, es->cfg.ike_queue, sizeof(struct esp_ike_msg));
	return e;
}

void esp_queues_free(struct esp_soft *es)
{
	struct esp_ike_msg m;

	if (es->ike.ring) {
		while (queue_pop(&es->ike, &m, 1) == 1)
			free(m.buf);
	}
	queue_free(&es->ike);
	queue_free(&es->events);
}

void esp_event_push(struct esp_soft *es, const struct xk_event *ev)
{
	queue_push(&es->events, ev);
}

int esp_event_read(struct esp_soft *es, xk_event_cb cb, void *ctx)
{
	struct xk_event ev[16];
	int total = 0;
	unsigned n;

	while ((n = queue_pop(&es->events, ev, 16)) > 0) {
		for (unsigned i = 0; i < n; i++)
			cb(ctx, &ev[i]);
		total += (int)n;
	}
	return total;
}

int esp_ike_push(struct esp_soft *es, const struct xk_addr *local, const struct xk_addr *remote,
		 const uint8_t *buf, size_t len)
{
	struct esp_ike_msg m = { .local = *local, .remote = *remote, .len = len };

	/* IKE is control traffic: one allocation per message is fine. */
	m.buf = malloc(len ? len : 1);
	if (!m.buf)
		return -ENOMEM;
	memcpy(m.buf, buf, len);
	if (!queue_push(&es->ike, &m)) {
		free(m.buf);
		return -ENOBUFS;
	}
	return 0;
}

int esp_ike_queue_read(struct esp_soft *es, esp_soft_ike_cb cb, void *ctx)
{
	struct esp_ike_msg m[16];
	int total = 0;
	unsigned n;

	while ((n = queue_pop(&es->ike, m, 16)) > 0) {
		for (unsigned i = 0; i < n; i++) {
			cb(ctx, &m[i].local, &m[i].remote, m[i].buf, m[i].len);
			free(m[i].buf);
		}
		total += (int)n;
	}
	return total;
}
