/* SPDX-License-Identifier: ISC */
/*
 * struct esp_soft: the state esp-soft's files share, with the per-slot
 * counters every part of it bumps.  Each group of fields says which file
 * keeps it; the others only read it.  Not installed.
 */
#ifndef ESP_SOFT_STATE_H
#define ESP_SOFT_STATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "esp-soft/esp_soft.h"
#include "esp-soft/queue.h"
#include "esp-soft/spd.h"
#include "esp-soft/tun.h"

struct esp_resv {
	uint32_t spi;
	uint64_t until; /* monotonic seconds */
};

enum {
	CTR_RX_PKTS,
	CTR_RX_BYTES,
	CTR_TX_PKTS,
	CTR_TX_BYTES,
	CTR_IKE_IN,
	CTR_IKE_RELAYED, /* of CTR_IKE_IN: reached a worker, went through the queue */
	CTR_IKE_OUT,
	CTR_KEEPALIVE,
	CTR_KEEPALIVE_OUT,
	CTR_DROP0,
	CTR_N = CTR_DROP0 + ESP_SOFT_DROP_N,
};

/* Per-slot counters: one writer (the slot's thread), any reader. */
struct esp_ctr {
	_Atomic uint64_t v[CTR_N];
} __attribute__((aligned(64)));

struct esp_worker;

struct esp_soft {
	struct esp_soft_cfg cfg;
	unsigned n_workers, n_slots;

	/* SAD and SPD (sad.c): readers are the workers, one batch at a time. */
	pthread_rwlock_t lock;
	struct esp_sa **by_spi;	  /* every SA; 1 << sad_bits buckets */
	struct esp_sa **by_reqid; /* outbound SAs, newest first */
	unsigned sad_bits;
	size_t n_sa;
	struct esp_spd spd[3];                /* by enum xk_dir */
	uint64_t pol_order;
	uint32_t pol_index;
	struct esp_resv *resv;
	size_t n_resv, cap_resv;
	/* Candidate SPIs from one getrandom, used up in order (sad.c). */
	uint32_t spi_pool[64];
	unsigned spi_pool_left;

	struct esp_queue events, ike; /* queue.c */
	_Atomic uint64_t now; /* CLOCK_REALTIME seconds, kept by housekeeping */
	struct esp_ctr *ctr; /* n_slots */

	/* I/O, after start (worker.c). */
	bool started; /* the TUN device and the sockets are open */
	bool running; /* and the threads run */
	struct esp_tun tun;
	int stop_fd;
	pthread_t timer;
	bool timer_running;
	struct esp_worker *workers;
	bool raw_open, gso, gro;

	/*
	 * IKE on the NAT-T port, read by the control thread itself (ike_port.c):
	 * per family a socket first in the port's SO_REUSEPORT group, where a
	 * BPF program sends every datagram with the non-ESP marker; -1 where
	 * that could not be set up, and the workers queue IKE instead (as they
	 * do for IKE coalesced behind ESP).  ike_epoll watches these and the
	 * queue: esp_soft_ike_fd().
	 */
	int ike_udp[2];
	int ike_epoll;
	uint8_t *ike_rx;
	size_t ike_rx_sz;
};

static inline void esp_ctr_add(struct esp_soft *es, unsigned slot, unsigned c, uint64_t v)
{
	_Atomic uint64_t *p = &es->ctr[slot].v[c];

	/* Single writer per slot: a plain load and store, no locked add. */
	atomic_store_explicit(p, atomic_load_explicit(p, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

static inline void esp_drop(struct esp_soft *es, unsigned slot, enum esp_soft_drop d)
{
	esp_ctr_add(es, slot, CTR_DROP0 + d, 1);
}

/* Wall-clock seconds: add and use times, as the kernel reports them. */
static inline uint64_t esp_now_real(void)
{
	return (uint64_t)time(NULL);
}

/* Monotonic seconds: lifetimes, reservations, ACQUIRE pacing. */
static inline uint64_t esp_now_mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec;
}

#endif
