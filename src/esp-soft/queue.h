/* SPDX-License-Identifier: ISC */
/*
 * esp-soft's two queues towards the control thread: events (EXPIRE,
 * ACQUIRE, MAPPING) and IKE datagrams a worker read.  Both are bounded
 * FIFOs under a mutex, signalled through an eventfd; any thread pushes,
 * the control thread pops.  Overflow is counted, never grown.  Not
 * installed.
 */
#ifndef ESP_SOFT_QUEUE_H
#define ESP_SOFT_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sa.h"
#include "esp-soft/esp_soft.h"

/* A bounded FIFO guarded by a mutex, signalled through an eventfd. */
struct esp_queue {
	pthread_mutex_t lock;
	void *ring; /* cap items of `size` bytes */
	size_t size;
	unsigned cap, head, n;
	int fd;
	_Atomic uint64_t lost;
	bool ready; /* queue_init got as far as the lock (what queue_free undoes) */
};

struct esp_ike_msg {
	struct xk_addr local, remote;
	size_t len;
	uint8_t *buf;
};

struct esp_soft;

/* Both queues, sized by es->cfg; 0 or a negative errno. */
int esp_queues_init(struct esp_soft *es);
/* Both queues, with the IKE datagrams still in them. */
void esp_queues_free(struct esp_soft *es);

/* From any thread; an event that does not fit is counted as lost. */
void esp_event_push(struct esp_soft *es, const struct xk_event *ev);
/* Every queued event to cb; returns how many. */
int esp_event_read(struct esp_soft *es, xk_event_cb cb, void *ctx);

/* A copy of an IKE datagram; -ENOBUFS if the queue is full, or -ENOMEM. */
int esp_ike_push(struct esp_soft *es, const struct xk_addr *local, const struct xk_addr *remote,
		 const uint8_t *buf, size_t len);
/* Every queued IKE datagram to cb, in order; returns how many. */
int esp_ike_queue_read(struct esp_soft *es, esp_soft_ike_cb cb, void *ctx);

#endif
