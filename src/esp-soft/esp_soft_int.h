/* SPDX-License-Identifier: ISC */
/*
 * esp-soft internals shared by esp_soft.c (tables, ops, queues), datapath.c
 * (one packet in or out) and io.c (workers, sockets).  Not installed.
 */
#ifndef ESP_SOFT_INT_H
#define ESP_SOFT_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "esp-soft/esp.h"
#include "esp-soft/esp_soft.h"
#include "esp-soft/spd.h"
#include "esp-soft/tun.h"

/* SAD hash buckets at the start; they double as SAs come (a power of two). */
#define SAD_BITS_MIN 10
/* Room around an inner packet for encapsulation in place. */
#define ESP_HEADROOM (ESP_HDR_LEN + ESP_MAX_IV)
#define ESP_TAILROOM (15 + 2 + ESP_MAX_ICV) /* padding to 16, trailer, ICV */
/* Soft EXPIRE this many sequence numbers before they run out. */
#define ESP_SEQ_SOFT_MARGIN (1ull << 28)
/* An SPI handed out by alloc_spi stays reserved this long unused. */
#define ESP_SPI_RESERVE_SECS 120

struct esp_resv {
	uint32_t spi;
	uint64_t until; /* monotonic seconds */
};

/* A bounded FIFO guarded by a mutex, signalled through an eventfd. */
struct esp_queue {
	pthread_mutex_t lock;
	void *ring; /* cap items of `size` bytes */
	size_t size;
	unsigned cap, head, n;
	int fd;
	_Atomic uint64_t lost;
};

struct esp_ike_msg {
	struct xk_addr local, remote;
	size_t len;
	uint8_t *buf;
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

	/* SAD and SPD: readers are the workers, one batch at a time. */
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

	struct esp_queue events, ike;
	_Atomic uint64_t now; /* CLOCK_REALTIME seconds, kept by housekeeping */
	struct esp_ctr *ctr; /* n_slots */

	/* I/O, after start. */
	bool started;
	struct esp_tun tun;
	int stop_fd;
	pthread_t timer;
	bool timer_running;
	struct esp_worker *workers;
	bool raw_open, gso, gro;

	/*
	 * IKE on the NAT-T port, read by the control thread itself: per
	 * family a socket first in the port's SO_REUSEPORT group, where a BPF
	 * program sends every datagram with the non-ESP marker (io.c); -1
	 * where that could not be set up, and the workers queue IKE instead
	 * (as they do for IKE coalesced behind ESP).  ike_epoll watches these
	 * and the queue: esp_soft_ike_fd().
	 */
	int ike_udp[2];
	int ike_epoll;
	uint8_t *ike_rx;
	size_t ike_rx_sz;
};

/* datapath.c */
int esp_dp_input(struct esp_soft *es, unsigned slot, const struct xk_addr *local,
		 const struct xk_addr *remote, bool udp, uint8_t *buf, size_t len,
		 struct esp_soft_rx *rx);
/*
 * Encapsulate the IP packet at ip in place: `head` writable bytes precede
 * it (at least ESP_HEADROOM) and `tail` follow it (ESP_TAILROOM is always
 * enough).  The ESP packet's length, with *pkt at its first byte.
 */
int esp_dp_output(struct esp_soft *es, unsigned slot, uint8_t *ip, size_t len, size_t head,
		  size_t tail, uint8_t **pkt, struct esp_soft_tx *tx);

/* esp_soft.c, for the datapath (table lock held for reading) */
struct esp_sa *esp_sad_in(struct esp_soft *es, uint32_t spi);
struct esp_sa *esp_sad_out(struct esp_soft *es, uint32_t reqid);
void esp_expire(struct esp_soft *es, struct esp_sa *sa, bool hard);
void esp_event_push(struct esp_soft *es, const struct xk_event *ev);
int esp_ike_push(struct esp_soft *es, const struct xk_addr *local, const struct xk_addr *remote,
		 const uint8_t *buf, size_t len);
uint64_t esp_now_mono(void);

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

/* io.c */
int esp_io_start(struct esp_soft *es);
void esp_io_stop(struct esp_soft *es);
struct iovec;
int esp_io_send(struct esp_soft *es, const struct xk_addr *local, const struct xk_addr *remote,
		struct iovec *iov, size_t n);
/* Everything waiting on IKE socket fd, to cb; returns the IKE datagrams. */
int esp_io_ike_read(struct esp_soft *es, int fd, esp_soft_ike_cb cb, void *ctx);

#endif
